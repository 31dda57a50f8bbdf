#!/usr/bin/env node
"use strict";
// Creates invites on the embedded default store and prints them:
//   JWT_SECRET=... medusa-invites alice@example.com bob@example.com
const { createInvites, getDefaultModule, optionsFromEnvironment } = require("..");

async function main() {
  const emails = process.argv.slice(2);
  if (emails.length === 0) {
    console.error("usage: medusa-invites EMAIL [EMAIL...]   (JWT_SECRET and MEDUSA_INVITES_DATABASE_URL from the environment)");
    process.exit(2);
  }
  if (!process.env.JWT_SECRET) {
    process.env.JWT_SECRET = "medusa-invites-example-secret";
    console.error("JWT_SECRET is not set; using an example secret for this demo");
  }
  const invites = await createInvites(emails.map((email) => ({ email })));
  console.log(JSON.stringify(invites, null, 2));
  console.error(`stored in ${optionsFromEnvironment().database}`);
  await getDefaultModule().close();
}

main().catch((error) => {
  console.error(`${error.type ?? "error"}: ${error.message}`);
  process.exit(1);
});
