"use strict";
// An invite's status for admins: accepted, expired, or pending.

function inviteStatus(invite, now = Date.now()) {
  if (invite.accepted) return "accepted";
  if (invite.expires_at.getTime() < now) return "expired";
  return "pending";
}

/** The listInvites filter for a set of statuses (none: every live invite). */
function statusFilter({ pending, accepted, expired }, now = new Date()) {
  const branches = [];
  if (pending) branches.push({ accepted: false, expires_at: { $gte: now }, deleted_at: null });
  if (expired) branches.push({ accepted: false, expires_at: { $lt: now }, deleted_at: null });
  // acceptInvite soft-deletes the invite it accepts, as Medusa's accept workflow does.
  if (accepted) branches.push({ accepted: true });
  if (branches.length === 0) return { filter: {}, withDeleted: false };
  return { filter: branches.length === 1 ? branches[0] : { $or: branches }, withDeleted: Boolean(accepted) };
}

module.exports = { inviteStatus, statusFilter };
