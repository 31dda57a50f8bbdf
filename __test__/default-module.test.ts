// The top-level createInvites (docs/options.md): a default module from JWT_SECRET and
// MEDUSA_INVITES_DATABASE_URL, replaceable by configure(). Each case runs in a child process
// because the default module lives for the life of the process.
import { test } from "node:test"
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"
import { count, tempDir } from "./helpers"

const packageDir = resolve(__dirname, "..")

function runChild(script: string, env: Record<string, string | undefined>, cwd = packageDir): any {
  const childEnv: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) childEnv[key] = value
  const prelude = `const lib = require(${JSON.stringify(packageDir)});`
  const out = execFileSync(process.execPath, ["-e", prelude + script], { env: childEnv, cwd, encoding: "utf8" })
  return JSON.parse(out)
}

const createOne = `
  lib.createInvites({ email: "env@example.com" })
    .then((invite) => process.stdout.write(JSON.stringify({ ok: invite.email })))
    .catch((e) => process.stdout.write(JSON.stringify({ type: e.type, message: e.message })));`

test("JWT_SECRET and MEDUSA_INVITES_DATABASE_URL configure the default module", () => {
  const file = join(tempDir(), "env.sqlite")
  const result = runChild(createOne, { JWT_SECRET: "env-secret", MEDUSA_INVITES_DATABASE_URL: `sqlite:${file}` })
  assert.deepEqual(result, { ok: "env@example.com" })
  assert.equal(count(file), 1)
})

test("without MEDUSA_INVITES_DATABASE_URL the default store is .medusa-invites/invites.sqlite in the working directory", () => {
  const cwd = tempDir()
  const result = runChild(createOne, { JWT_SECRET: "env-secret", MEDUSA_INVITES_DATABASE_URL: undefined }, cwd)
  assert.deepEqual(result, { ok: "env@example.com" })
  assert.equal(count(join(cwd, ".medusa-invites", "invites.sqlite")), 1)
})

test("without JWT_SECRET the top-level createInvites rejects with Medusa's message", () => {
  const result = runChild(createOne, { JWT_SECRET: undefined, MEDUSA_INVITES_DATABASE_URL: ":memory:" })
  assert.deepEqual(result, {
    type: "invalid_data",
    message: "No jwt_secret was provided in the UserModule's options. Please add one.",
  })
})

test("configure() replaces the environment", () => {
  const file = join(tempDir(), "configured.sqlite")
  const script = `lib.configure({ jwt_secret: "configured", database: "sqlite:${file}" });` + createOne
  const result = runChild(script, { JWT_SECRET: undefined, MEDUSA_INVITES_DATABASE_URL: undefined })
  assert.deepEqual(result, { ok: "env@example.com" })
  assert.equal(count(file), 1)
})

test("the example command creates invites on the embedded default store and prints one result per row", () => {
  const cwd = tempDir()
  const out = execFileSync(process.execPath, [join(packageDir, "bin", "medusa-invites.js"), "a@example.com", "b@example.com"], {
    cwd,
    env: { ...process.env, JWT_SECRET: "example", MEDUSA_INVITES_DATABASE_URL: "" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  })
  const printed = out.trim().split("\n").map((line) => JSON.parse(line))
  assert.deepEqual(
    printed.map((result: any) => [result.row, result.email, result.status]),
    [
      [1, "a@example.com", "created"],
      [2, "b@example.com", "created"],
    ],
  )
  assert.equal(count(join(cwd, ".medusa-invites", "invites.sqlite")), 2)
})
