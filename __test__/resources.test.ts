// What a module holds is released: a module dropped without close() gives back its files and
// connections once it is garbage-collected, and a SQLite store opened while its file was
// read-only recovers by itself once the file is writable.
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { chownSync } from "node:fs"
import { join } from "node:path"
import { BACKEND, freshDatabase, tempDir } from "./helpers"

const ROOT = join(__dirname, "..")
const NOBODY = 65534

/** Runs a CommonJS script in a fresh node (with `args`); returns its last stdout line as JSON. */
function runScript(source: string, { args = [] as string[], env = {} as NodeJS.ProcessEnv, uid = undefined as number | undefined } = {}) {
  const child = spawnSync(process.execPath, [...args, "-e", source], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
    ...(uid === undefined ? {} : { uid, gid: uid }),
  })
  assert.equal(child.status, 0, `the script failed: ${child.stderr}`)
  assert.equal(child.stderr, "", "nothing on stderr")
  return JSON.parse(child.stdout.trim().split("\n").pop()!)
}

const DROP_MODULES = `
const { readdirSync } = require("node:fs")
const { execFileSync } = require("node:child_process")
const { UserModuleService } = require(${JSON.stringify(ROOT)})
const databases = JSON.parse(process.env.DATABASES)
const fds = () => readdirSync("/proc/self/fd").length
// Our sessions on the test database (PostgreSQL), read with an independent client.
const sessions = () => process.env.PG_DB
  ? Number(execFileSync("psql", [process.env.PG_ADMIN, "-X", "-A", "-t", "-c",
      "select count(*) from pg_stat_activity where datname = '" + process.env.PG_DB + "' and pid <> pg_backend_pid()"], { encoding: "utf8" }).trim())
  : 0
const collect = async () => { for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)) } }
async function openAndDrop(database, i) {
  const service = new UserModuleService({ jwt_secret: "s", database })
  await service.createInvites({ email: "dropped-" + i + "@example.com" })
}
async function main() {
  // Warm up: the runtime's threads and the first module's lazily made parts exist before counting.
  const warm = new UserModuleService({ jwt_secret: "s", database: databases[0] })
  await warm.createInvites({ email: "warm@example.com" })
  await warm.close()
  await collect()
  const before = { fds: fds(), sessions: sessions() }
  for (let i = 1; i < databases.length; i++) await openAndDrop(databases[i], i)
  const held = { fds: fds(), sessions: sessions() }
  let after
  for (let round = 0; round < 50; round++) {
    await collect()
    after = { fds: fds(), sessions: sessions() }
    if (after.fds <= before.fds && after.sessions <= before.sessions) break
  }
  console.log(JSON.stringify({ before, held, after }))
}
main().catch((error) => { console.error(error); process.exit(1) })
`

test("60 modules dropped without close() give back their files and connections when collected", () => {
  const databases = Array.from({ length: 61 }, () => freshDatabase())
  const pg = BACKEND === "postgres" ? (databases[0].database as any).clientUrl as string : undefined
  const { before, held, after } = runScript(DROP_MODULES, {
    args: ["--expose-gc"],
    env: {
      DATABASES: JSON.stringify(databases.map((d) => d.database)),
      ...(pg ? { PG_DB: pg.slice(pg.lastIndexOf("/") + 1), PG_ADMIN: `${pg.slice(0, pg.lastIndexOf("/"))}/postgres` } : {}),
    },
  })
  // The modules did hold something while alive: otherwise this test could not fail.
  assert.ok(held.fds > before.fds || held.sessions > before.sessions, `nothing was held: ${JSON.stringify({ before, held })}`)
  assert.ok(after.fds <= before.fds, `file descriptors: ${before.fds} before, ${held.fds} held, ${after.fds} after collection`)
  assert.ok(after.sessions <= before.sessions, `PostgreSQL sessions: ${before.sessions} before, ${held.sessions} held, ${after.sessions} after`)
})

const READ_ONLY = `
const { chmodSync } = require("node:fs")
const { UserModuleService } = require(${JSON.stringify(ROOT)})
const file = process.env.FILE
async function main() {
  const first = new UserModuleService({ jwt_secret: "s", database: "sqlite:" + file })
  await first.createInvites({ email: "first@example.com" })
  await first.close()
  chmodSync(file, 0o444)
  const service = new UserModuleService({ jwt_secret: "s", database: "sqlite:" + file })
  const refused = await service.createInvites({ email: "while-read-only@example.com" }).then(() => null, (error) => ({ type: error.type, message: error.message }))
  chmodSync(file, 0o644)
  const created = await service.createInvites({ email: "after@example.com" })
  const emails = (await service.listInvites({}, { order: { email: "ASC" } })).map((invite) => invite.email)
  await service.close()
  console.log(JSON.stringify({ refused, created: created.email, emails }))
}
main().catch((error) => { console.error(error); process.exit(1) })
`

test("SQLite: a store first opened while its file is read-only recovers once the file is writable", { skip: BACKEND !== "sqlite" }, () => {
  const dir = tempDir()
  const file = join(dir, "invites.sqlite")
  // root writes whatever the permissions say: run as nobody then, in a folder it owns.
  const asRoot = process.getuid?.() === 0
  if (asRoot) chownSync(dir, NOBODY, NOBODY)
  const result = runScript(READ_ONLY, { env: { FILE: file }, uid: asRoot ? NOBODY : undefined })
  assert.deepEqual(result, {
    refused: {
      type: "database_error",
      message: `SQLite: the database file ${file} is read-only; make it writable for this process`,
    },
    created: "after@example.com",
    emails: ["after@example.com", "first@example.com"],
  })
})
