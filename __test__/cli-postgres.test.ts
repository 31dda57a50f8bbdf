// The CLI on PostgreSQL (run by `npm run test:pg`; skipped on SQLite): per-row results on a
// real server, and the database password never in any output, the URL shown as user:***@host.
import { test } from "node:test"
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { BACKEND, PG_URL } from "./helpers"
import { CLI_SECRET, cliEnv, ndjson, runCli } from "./cli-helpers"

/** The server's URL with a password (trust authentication ignores it; a real one is kept). */
function withPassword(url: string): { url: string; password: string } {
  const parsed = new URL(url)
  if (!parsed.password) parsed.password = "hunter2-cli-pg"
  return { url: parsed.toString().replace(/\/$/, ""), password: decodeURIComponent(parsed.password) }
}

test("PostgreSQL: per-row results, and the password in no output", { skip: BACKEND !== "postgres" && "PostgreSQL run only (npm run test:pg)" }, async () => {
  const database = `medusa_invites_cli_${process.pid}`
  const psql = (sql: string) => execFileSync("psql", [`${PG_URL}/postgres`, "-X", "-q", "-c", sql], { stdio: "pipe" })
  psql(`create database "${database}"`)
  try {
    const { url, password } = withPassword(PG_URL)
    const target = `${url}/${database}`
    const masked = target.replace(`:${encodeURIComponent(password)}@`, ":***@")
    const env = cliEnv({ JWT_SECRET: CLI_SECRET, MEDUSA_INVITES_DATABASE_URL: target })
    const run = await runCli(["invite", "a@example.com", "bad", "a@example.com", "b@example.com"], { env })
    assert.equal(run.code, 1, run.stderr)
    assert.deepEqual(ndjson(run.stdout).map((r) => [r.row, r.status, r.reason]), [
      [1, "created", null],
      [2, "failed", "Invalid email for invite: 'bad'"],
      [3, "failed", "Invite with email: a@example.com, already exists."],
      [4, "created", null],
    ])
    assert.ok(run.stderr.endsWith(` — ${masked}\n`), run.stderr)
    const missing = await runCli(["list"], { env: cliEnv({ MEDUSA_INVITES_DATABASE_URL: `${url}/${database}_missing` }) })
    assert.equal(missing.code, 3)
    const noSecret = await runCli(["invite", "c@example.com"], { env: cliEnv({ MEDUSA_INVITES_DATABASE_URL: target }) })
    assert.equal(noSecret.code, 2)
    assert.ok(noSecret.stderr.includes(masked), noSecret.stderr)
    for (const output of [run, missing, noSecret]) assert.ok(!(output.stdout + output.stderr).includes(password), output.stderr)
  } finally {
    psql(`drop database if exists "${database}" with (force)`)
  }
})
