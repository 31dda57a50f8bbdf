"use strict";
// The CLI's entry: parses the command line, runs the command, maps failures to exit codes.
const { parseCommandLine } = require("./args");
const { EXIT } = require("./errors");
const { maskUrl } = require("./mask");

const COMMANDS = {
  invite: () => require("./commands/invite").runInvite,
  list: () => require("./commands/list").runList,
  resend: () => require("./commands/resend").runResend,
  revoke: () => require("./commands/revoke").runRevoke,
  validate: () => require("./commands/validate").runValidate,
};

/** Runs the CLI; resolves with the exit code. */
async function main(argv, { stdout = process.stdout, stderr = process.stderr } = {}) {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
    if (parsed.version) {
      stdout.write(`${require("../../package.json").version}\n`);
      return EXIT.OK;
    }
    if (parsed.help) {
      (parsed.usageError ? stderr : stdout).write(`${parsed.help}\n`);
      return parsed.usageError ? EXIT.USAGE : EXIT.OK;
    }
    return await COMMANDS[parsed.command]()(parsed);
  } catch (error) {
    const code = error?.exitCode ?? EXIT.DATABASE;
    const text = error?.exitCode ? error.message : `unexpected failure: ${error?.stack ?? error}`;
    stderr.write(`medusa-invites: ${maskUrl(text)}\n`);
    return code;
  }
}

module.exports = { main };
