"use strict";
// `medusa-invites resend ID|EMAIL...`: new tokens (refreshInviteTokens) and their links.
const { EXIT, UsageError } = require("../errors");
const { createFormatter, defaultFormat } = require("../output");
const { inviteUrlTemplate } = require("../invite-url");
const { resolveTargets, notFound } = require("../targets");
const { withSession } = require("../session");

async function runResend({ flags, positionals }) {
  if (positionals.length === 0) throw new UsageError("resend needs invite ids or emails; see medusa-invites resend --help");
  const linkOf = inviteUrlTemplate(flags["invite-url"]);
  const columns = [{ key: "target" }, { key: "status" }, { key: "reason" }, { key: "id" }, { key: "email" }, { key: "expires_at" }, { key: "token", table: false }];
  if (linkOf) columns.push({ key: "url" });
  const output = createFormatter(flags.format ?? defaultFormat(), columns);
  return withSession(flags, "sign", async (service) => {
    let failed = 0;
    const targets = await resolveTargets(service, positionals);
    const ids = [...new Set(targets.filter((t) => t.invite).map((t) => t.invite.id))];
    const refreshed = ids.length > 0 ? await service.refreshInviteTokens(ids) : [];
    const byId = new Map(refreshed.map((invite) => [invite.id, invite]));
    const results = targets.map(({ target, invite }) => {
      if (!invite) {
        failed += 1;
        return { target, status: "failed", reason: notFound(target) };
      }
      const fresh = byId.get(invite.id);
      return { target, status: "resent", reason: null, id: fresh.id, email: fresh.email, expires_at: fresh.expires_at, token: fresh.token, url: linkOf?.(fresh) ?? null };
    });
    await output.write(results);
    await output.end();
    return failed > 0 ? EXIT.ROWS_FAILED : EXIT.OK;
  });
}

module.exports = { runResend };
