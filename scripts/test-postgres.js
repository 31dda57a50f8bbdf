#!/usr/bin/env node
// `npm run test:pg`: the behaviour suite again, on PostgreSQL.
//   MEDUSA_INVITES_TEST_PG_URL=postgres://user@host:port   the server to use (no database part:
//   each test process creates and drops a database of its own).
// Without the variable the tests are skipped, except in CI (CI=true), where they run against
// postgres://postgres@127.0.0.1:5432 and an unreachable server fails the run.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const inCi = process.env.CI === "true";
let url = process.env.MEDUSA_INVITES_TEST_PG_URL;
if (!url) {
  if (!inCi) {
    console.log("PostgreSQL tests skipped: set MEDUSA_INVITES_TEST_PG_URL=postgres://user@host:5432 to run them.");
    process.exit(0);
  }
  url = "postgres://postgres@127.0.0.1:5432";
}
url = url.replace(/\/+$/, "");

try {
  execFileSync("psql", [`${url}/postgres`, "-X", "-q", "-A", "-t", "-c", "select 1"], { stdio: "pipe", timeout: 15_000 });
} catch (error) {
  const reason = String(error.stderr ?? error.message).trim().split("\n")[0];
  console.error(`PostgreSQL tests cannot run: the server at ${url.replace(/\/\/[^@]*@/, "//")} is unreachable (${reason}).`);
  process.exit(1);
}

const testDir = path.join(__dirname, "..", "__test__");
// Files about one backend only stay out: storage.test.ts and default-module.test.ts are the
// SQLite store's; postgres.test.ts and cli-postgres.test.ts are PostgreSQL's own. The CLI's
// own suites (cli-invite, cli-lifecycle) run on SQLite files: the CLI adds no storage code, and
// cli-postgres.test.ts covers it on PostgreSQL.
const sqliteOnly = new Set(["storage.test.ts", "default-module.test.ts", "cli-invite.test.ts", "cli-lifecycle.test.ts", "clean-exit.test.ts"]);
const files = fs
  .readdirSync(testDir)
  .filter((name) => name.endsWith(".test.ts") && !sqliteOnly.has(name))
  .sort()
  .map((name) => path.join("__test__", name));
const run = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", ...files],
  {
    stdio: "inherit",
    cwd: path.join(__dirname, ".."),
    env: { ...process.env, MEDUSA_INVITES_TEST_BACKEND: "postgres", MEDUSA_INVITES_TEST_PG_URL: url },
  },
);
process.exit(run.status ?? 1);
