#!/usr/bin/env node
"use strict";
// The admin's CLI: `medusa-invites invite|list|resend|revoke|validate`; see --help.
const { main } = require("../lib/cli/main");

// Ctrl-C or a TERM: stop now (committed blocks stay; re-run with --skip-existing), but through
// process.exit, so the exit handlers (temporary files) run.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

// Exit as soon as the work is done and stdout and stderr are flushed (on macOS pipes are
// asynchronous): the store is closed by then, and nothing else is left to run.
const flushed = (stream) => new Promise((resolve) => stream.write("", resolve));
main(process.argv.slice(2)).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
