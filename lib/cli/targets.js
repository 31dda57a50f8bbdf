"use strict";
// resend and revoke name invites by id or by email: each argument becomes the live invite it
// names, or a "failed" result when there is none.

/**
 * `[{ target, invite }]` in argument order; `invite` undefined when no live invite matches. An
 * argument with an @ is an email, anything else an id.
 */
async function resolveTargets(service, args) {
  const emails = args.filter((arg) => arg.includes("@"));
  const ids = args.filter((arg) => !arg.includes("@"));
  const [byEmail, byId] = await Promise.all([
    emails.length > 0 ? service.listInvites({ email: emails }, { take: null }) : [],
    ids.length > 0 ? service.listInvites({ id: ids }, { take: null }) : [],
  ]);
  const emailMap = new Map(byEmail.map((invite) => [invite.email, invite]));
  const idMap = new Map(byId.map((invite) => [invite.id, invite]));
  return args.map((target) => ({ target, invite: (target.includes("@") ? emailMap : idMap).get(target) }));
}

function notFound(target) {
  return target.includes("@") ? `no live invite for ${target}` : `no live invite with id ${target}`;
}

module.exports = { resolveTargets, notFound };
