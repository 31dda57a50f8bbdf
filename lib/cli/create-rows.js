"use strict";
// Creates one block of rows with per-row results: the good rows are created even when some
// fail. The block goes in as one createInvites batch; when the module refuses it, the row it
// names (the error's `index`) is settled and the rest is sent again. Rows that look bad go in
// alone, so a bad row costs one small call, never a retry of the whole block.
const { isRowError, isAlreadyExists } = require("./errors");

/** The module's email rule, as a hint only: the module still has the last word. */
function looksLikeEmail(email) {
  if (typeof email !== "string" || email.length === 0 || email.length > 254) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(email)) return false;
  const at = email.lastIndexOf("@");
  return at > 0 && at < email.length - 1;
}

function toInvite(record) {
  const invite = { email: record.email };
  if (record.roles !== null && record.roles !== undefined) invite.roles = record.roles;
  if (record.metadata !== null && record.metadata !== undefined) invite.metadata = record.metadata;
  return invite;
}

/**
 * Creates `records` (rows that were read; none carries a read error) and settles each one:
 * `status` (`created`, `skipped` or `failed`), `reason`, `id`, `token` are set on the record
 * itself (no second object per row: a million rows stay light). Returns `records`.
 * `context`: the sharedContext of every call (a transaction in --dry-run / --all-or-nothing).
 * Errors that are not about a row (the database) are thrown.
 */
async function createRows(service, records, { context, skipExisting }) {
  const settle = (record, status, reason, invite) => {
    record.status = status;
    record.reason = reason ?? null;
    record.id = invite?.id ?? null;
    record.token = invite?.token ?? null;
  };
  const refused = (record, error) => {
    if (skipExisting && isAlreadyExists(error)) settle(record, "skipped", error.message);
    else settle(record, "failed", error.message);
  };

  /**
   * One call for `batch`. On a refusal that names a row (the error's `index`), that row is
   * settled and the rest returned; a refusal that names none returns `{ unnamed: error }`.
   */
  const attempt = async (batch, { settleNamed = true } = {}) => {
    let created;
    try {
      created = await service.createInvites(batch.map(toInvite), context);
    } catch (error) {
      if (!isRowError(error)) throw error;
      if (!settleNamed) return { unnamed: error };
      if (batch.length === 1) {
        refused(batch[0], error);
        return [];
      }
      if (Number.isInteger(error.index) && error.index >= 0 && error.index < batch.length) {
        refused(batch[error.index], error);
        return batch.filter((_, i) => i !== error.index);
      }
      return { unnamed: error };
    }
    created.forEach((invite, i) => settle(batch[i], "created", null, invite));
    return [];
  };

  // Rows that look bad, and repeats of an email within the block, go in alone after the batch.
  const batch = [];
  const alone = [];
  const emails = new Set();
  for (const record of records) {
    if (!looksLikeEmail(record.email) || emails.has(record.email)) alone.push(record);
    else {
      emails.add(record.email);
      batch.push(record);
    }
  }

  let pending = batch;
  let checked = false;
  while (pending.length > 0) {
    const left = await attempt(pending, { settleNamed: checked });
    if (Array.isArray(left)) pending = left;
    else if (!checked) {
      // The first refusal: the rows whose email a live invite or a user already holds are
      // settled by one lookup, instead of one refused call each (a re-run of a large file).
      checked = true;
      pending = await settleExisting(service, pending, { context, skipExisting, settle, alone });
    } else {
      // A refusal that names no row (several users hold emails of the batch): halves, each on its own.
      const middle = Math.ceil(pending.length / 2);
      for (const half of [pending.slice(0, middle), pending.slice(middle)]) await createRows(service, half, { context, skipExisting });
      pending = [];
    }
  }
  for (const record of alone) {
    const left = await attempt([record]);
    if (!Array.isArray(left)) refused(record, left.unnamed);
  }
  return records;
}

/**
 * Looks up the live invites and the users holding the emails of `records`. With
 * --skip-existing those rows are settled as skipped (with the existing invite's id and token,
 * so a re-run still prints every link); without it they go in alone, for Medusa's own message.
 * Returns the rows left for the batch.
 */
async function settleExisting(service, records, { context, skipExisting, settle, alone }) {
  const emails = records.map((record) => record.email);
  const [invites, users] = await Promise.all([
    service.listInvites({ email: emails }, { select: ["id", "email", "token"], take: null }, context),
    service.listUsers({ email: emails }, { select: ["id", "email"], take: null }, context),
  ]);
  const inviteByEmail = new Map(invites.map((invite) => [invite.email, invite]));
  const userEmails = new Set(users.map((user) => user.email));
  const left = [];
  for (const record of records) {
    const invite = inviteByEmail.get(record.email);
    const user = userEmails.has(record.email);
    if (!invite && !user) left.push(record);
    else if (!skipExisting) alone.push(record);
    else if (user) settle(record, "skipped", `User account for following email(s) already exist: ${record.email}`);
    else settle(record, "skipped", `Invite with email: ${record.email}, already exists.`, invite);
  }
  return left;
}

module.exports = { createRows, looksLikeEmail };
