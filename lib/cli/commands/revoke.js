"use strict";
// `medusa-invites revoke ID|EMAIL...`: soft-deletes invites (softDeleteInvites).
const { EXIT, UsageError } = require("../errors");
const { createFormatter, defaultFormat } = require("../output");
const { resolveTargets, notFound } = require("../targets");
const { withSession } = require("../session");

async function runRevoke({ flags, positionals }) {
  if (positionals.length === 0) throw new UsageError("revoke needs invite ids or emails; see medusa-invites revoke --help");
  const output = createFormatter(flags.format ?? defaultFormat(), [{ key: "target" }, { key: "status" }, { key: "reason" }, { key: "id" }, { key: "email" }]);
  return withSession(flags, "none", async (service) => {
    let failed = 0;
    const targets = await resolveTargets(service, positionals);
    const ids = [...new Set(targets.filter((t) => t.invite).map((t) => t.invite.id))];
    const revoked = new Set(ids.length > 0 ? ((await service.softDeleteInvites(ids)).invite_id ?? []) : []);
    const results = targets.map(({ target, invite }) => {
      if (!invite || !revoked.has(invite.id)) {
        failed += 1;
        return { target, status: "failed", reason: notFound(target), id: invite?.id ?? null, email: invite?.email ?? null };
      }
      return { target, status: "revoked", reason: null, id: invite.id, email: invite.email };
    });
    await output.write(results);
    await output.end();
    return failed > 0 ? EXIT.ROWS_FAILED : EXIT.OK;
  });
}

module.exports = { runRevoke };
