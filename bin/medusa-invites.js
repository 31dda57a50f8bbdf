#!/usr/bin/env node
"use strict";
// The admin's CLI: `medusa-invites invite|list|resend|revoke|validate`; see --help.
const { main } = require("../lib/cli/main");

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
