#!/usr/bin/env node
"use strict";
// The admin's CLI: `medusa-invites invite|list|resend|revoke|validate`; see --help.
const { main } = require("../lib/cli/main");

// Ctrl-C or a TERM: stop now (committed blocks stay; re-run with --skip-existing), but through
// process.exit, so the exit handlers (temporary files) run.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
