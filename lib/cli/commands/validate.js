"use strict";
// `medusa-invites validate TOKEN`: validateInviteToken, as the Medusa app checks a link.
const { EXIT, UsageError, isRowError } = require("../errors");
const { createFormatter, defaultFormat } = require("../output");
const { withSession } = require("../session");

async function runValidate({ flags, positionals }) {
  if (positionals.length !== 1) throw new UsageError("validate takes one token; see medusa-invites validate --help");
  const output = createFormatter(flags.format ?? defaultFormat(), [{ key: "status" }, { key: "reason" }, { key: "id" }, { key: "email" }, { key: "expires_at" }]);
  return withSession(flags, "verify", async (service) => {
    let code = EXIT.OK;
    let result;
    try {
      const invite = await service.validateInviteToken(positionals[0]);
      result = { status: "valid", reason: null, id: invite.id, email: invite.email, expires_at: invite.expires_at };
    } catch (error) {
      // A bad token is the answer, not a failure of the run: invalid_data (jsonwebtoken's
      // message, an expired invite) or not_found (a revoked, accepted or unknown invite).
      if (!isRowError(error) && error?.type !== "not_found" && error?.type !== "unauthorized") throw error;
      result = { status: "invalid", reason: error.message };
      code = EXIT.ROWS_FAILED;
    }
    await output.write([result]);
    await output.end();
    return code;
  });
}

module.exports = { runValidate };
