"use strict";
// Events (spec §5): Medusa's names and shapes, delivered once, after commit.

const INVITE_CREATED = "user.invite.created";
// The doubled "user." is Medusa's own (spec §5).
const INVITE_TOKEN_GENERATED = "user.user.invite.token_generated";

function metadata(action, eventGroupId) {
  return eventGroupId === undefined
    ? { source: "user", object: "invite", action }
    : { source: "user", object: "invite", action, eventGroupId };
}

/** One `user.invite.created` per invite, then one `token_generated` for the call. */
function inviteCreatedMessages(ids, eventGroupId) {
  const messages = new Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) {
    messages[i] = { name: INVITE_CREATED, metadata: metadata("created", eventGroupId), data: { id: ids[i] }, options: undefined };
  }
  messages[ids.length] = {
    name: INVITE_TOKEN_GENERATED,
    metadata: metadata("token_generated", eventGroupId),
    // Medusa sends a single id as a string and several as an array.
    data: { id: ids.length === 1 ? ids[0] : ids.slice() },
    options: undefined,
  };
  return messages;
}

/**
 * Delivery after commit (spec §5.1, §5.3). With an aggregator the messages are saved into it;
 * unless the caller keeps them (`preventReleaseEvents`, or no bus), everything it holds is
 * emitted in one call and then cleared, as Medusa does. A failing `emit` rejects the call;
 * the invites stay committed.
 */
async function deliver({ eventBus, messageAggregator, preventReleaseEvents }, makeMessages) {
  if (!eventBus && !messageAggregator) return;
  const messages = makeMessages();
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

module.exports = { inviteCreatedMessages, deliver, INVITE_CREATED, INVITE_TOKEN_GENERATED };
