"use strict";
// `medusa-invites list`: invites page by page (id order), with their status.
const { positiveInteger } = require("../args");
const { EXIT } = require("../errors");
const { createFormatter, defaultFormat } = require("../output");
const { inviteUrlTemplate } = require("../invite-url");
const { inviteStatus, statusFilter } = require("../invite-status");
const { withSession } = require("../session");

const PAGE = 1000;

async function runList({ flags, positionals }) {
  if (positionals.length > 0) throw new (require("../errors").UsageError)(`list takes no arguments; got ${JSON.stringify(positionals[0])}`);
  const limit = positiveInteger(flags, "limit", Infinity);
  const linkOf = inviteUrlTemplate(flags["invite-url"]);
  const columns = [
    { key: "id" },
    { key: "email" },
    { key: "status" },
    { key: "expires_at" },
    { key: "created_at" },
    { key: "roles" },
    { key: "metadata", table: false },
    { key: "token", table: false },
  ];
  if (linkOf) columns.push({ key: "url" });
  const output = createFormatter(flags.format ?? defaultFormat(), columns);
  return withSession(flags, "none", async (service) => {
    const now = new Date();
    const { filter, withDeleted } = statusFilter(flags, now);
    const filters = flags.email ? { $and: [filter, { email: flags.email }] } : filter;
    let skip = 0;
    while (skip < limit) {
      const take = Math.min(PAGE, limit - skip);
      const invites = await service.listInvites(filters, { skip, take, withDeleted });
      await output.write(
        invites.map((invite) => ({ ...invite, status: inviteStatus(invite, now.getTime()), url: linkOf?.(invite) ?? null })),
      );
      skip += invites.length;
      if (invites.length < take) break;
    }
    await output.end();
    return EXIT.OK;
  });
}

module.exports = { runList };
