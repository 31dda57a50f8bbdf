"use strict";
// Events (docs/behaviour.md): Medusa's names and shapes, delivered once, after commit.

const INVITE_CREATED = "user.invite.created";
const INVITE_UPDATED = "user.invite.updated";
const INVITE_DELETED = "user.invite.deleted";
const USER_CREATED = "user.user.created";
const USER_UPDATED = "user.user.updated";
const USER_DELETED = "user.user.deleted";
// The doubled "user." is Medusa's own (docs/behaviour.md).
const INVITE_TOKEN_GENERATED = "user.user.invite.token_generated";

function metadata(action, eventGroupId, object = "invite") {
  return eventGroupId === undefined
    ? { source: "user", object, action }
    : { source: "user", object, action, eventGroupId };
}

/** One message per id: `name` with `{ id }`. */
function perRow(name, object, action, ids, eventGroupId) {
  return ids.map((id) => ({ name, metadata: metadata(action, eventGroupId, object), data: { id }, options: undefined }));
}

/** Medusa's one `token_generated` message per call; a single id is a string, several an array. */
function tokenGenerated(action, ids, eventGroupId) {
  return {
    name: INVITE_TOKEN_GENERATED,
    metadata: metadata(action, eventGroupId),
    data: { id: ids.length === 1 ? ids[0] : ids.slice() },
    options: undefined,
  };
}

/**
 * updateInvites and refreshInviteTokens (docs/behaviour.md): `user.invite.updated` per changed row,
 * then one `token_generated` for every row of the call. Medusa's refresh labels that one
 * with action "created", its update with "token_generated".
 */
function inviteUpdatedMessages(updatedIds, allIds, action, eventGroupId) {
  return [
    ...perRow(INVITE_UPDATED, "invite", "updated", updatedIds, eventGroupId),
    tokenGenerated(action, allIds, eventGroupId),
  ];
}

const inviteDeletedMessages = (ids, eventGroupId) => perRow(INVITE_DELETED, "invite", "deleted", ids, eventGroupId);

/**
 * Medusa's accept workflow announces `invite.accepted` with its emitEventStep, whose messages
 * are shaped `name, data, options, metadata` (metadata: only the event group id).
 */
function inviteAcceptedMessage(id, eventGroupId) {
  return { name: "invite.accepted", data: { id }, options: undefined, metadata: eventGroupId === undefined ? {} : { eventGroupId } };
}
const userCreatedMessages = (ids, eventGroupId) => perRow(USER_CREATED, "user", "created", ids, eventGroupId);
const userUpdatedMessages = (ids, eventGroupId) => perRow(USER_UPDATED, "user", "updated", ids, eventGroupId);
const userDeletedMessages = (ids, eventGroupId) => perRow(USER_DELETED, "user", "deleted", ids, eventGroupId);

/** One `user.invite.created` per invite, then one `token_generated` for the call. */
function inviteCreatedMessages(ids, eventGroupId) {
  const messages = new Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) {
    messages[i] = { name: INVITE_CREATED, metadata: metadata("created", eventGroupId), data: { id: ids[i] }, options: undefined };
  }
  messages[ids.length] = tokenGenerated("token_generated", ids, eventGroupId);
  return messages;
}

/**
 * The messages of a call's event record (src/events.rs): the same for delivery right after
 * the call and for redelivery from the outbox.
 */
function messagesOf({ eventGroupId, events }) {
  const parts = events.map((event) => eventMessages(event, eventGroupId));
  // One part (most calls) as it is; several joined without spreading a huge list.
  return parts.length === 1 ? parts[0] : parts.flat();
}

/** The messages of one event of a record. */
function eventMessages(event, eventGroupId) {
  switch (event.type) {
    case "invitesCreated":
      return inviteCreatedMessages(event.ids, eventGroupId);
    case "invitesUpdated":
      return inviteUpdatedMessages(event.updated, event.all, event.action, eventGroupId);
    case "invitesDeleted":
      return inviteDeletedMessages(event.ids, eventGroupId);
    case "usersCreated":
      return userCreatedMessages(event.ids, eventGroupId);
    case "usersUpdated":
      return userUpdatedMessages(event.ids, eventGroupId);
    case "usersDeleted":
      return userDeletedMessages(event.ids, eventGroupId);
    case "inviteAccepted":
      return [inviteAcceptedMessage(event.id, eventGroupId)];
    default:
      return [];
  }
}

/**
 * Delivery after commit (docs/behaviour.md). With an aggregator the messages are saved into it;
 * unless the caller keeps them (`preventReleaseEvents`, or no bus), everything it holds is
 * emitted in one call and then cleared, as Medusa does. No messages (`makeMessages` gives
 * none or false): nothing is saved or emitted. A failing `emit` rejects the call; the
 * invites stay committed.
 */
async function deliver({ eventBus, messageAggregator, preventReleaseEvents }, makeMessages) {
  if (!eventBus && !messageAggregator) return;
  const messages = makeMessages();
  if (!messages || messages.length === 0) return;
  if (messageAggregator) {
    messageAggregator.save(messages);
    if (preventReleaseEvents || !eventBus) return;
    const held = Object.values(messageAggregator.getMessages()).flat();
    await eventBus.emit(held, { internal: true });
    messageAggregator.clearMessages();
    return;
  }
  await eventBus.emit(messages, { internal: true });
}

/**
 * Lets the events of `record` that list the same ids as `ids` (createInvites: its result's
 * ids) use that array, so the DTOs and the messages share one set of id strings instead of
 * two parsed copies (6 MB for 100,000 invites).
 */
function shareIds(record, ids) {
  for (const event of record.events) {
    if (event.ids !== ids && sameIds(event.ids, ids)) event.ids = ids;
  }
}

function sameIds(a, b) {
  if (!Array.isArray(a) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

module.exports = {
  messagesOf,
  shareIds,
  inviteCreatedMessages,
  inviteUpdatedMessages,
  inviteDeletedMessages,
  userCreatedMessages,
  userUpdatedMessages,
  userDeletedMessages,
  inviteAcceptedMessage,
  deliver,
  INVITE_CREATED,
  INVITE_TOKEN_GENERATED,
};
