// The embedded store (docs/storage.md): SQLite file in WAL mode, Medusa's columns and indexes plus
// roles, created on first use, durable across re-opening, `:memory:` for tests.
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { UserModuleService, MedusaError } from ".."
import { SECRET, count, newModule, rejection, rows, tempDir } from "./helpers"

test("the file and its folder are created on first use, not by the constructor", async () => {
  const file = join(tempDir(), "nested", "deeper", "invites.sqlite")
  const service = new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${file}` })
  assert.equal(existsSync(file), false)
  await service.createInvites({ email: "first@example.com" })
  assert.equal(existsSync(file), true)
  assert.equal(count(file), 1)
  await service.close()
})

test("the database is in WAL mode", async () => {
  const m = newModule()
  await m.service.createInvites({ email: "wal@example.com" })
  assert.deepEqual(rows(m.file, "pragma journal_mode"), [{ journal_mode: "wal" }])
  await m.close()
})

test("the invite and user tables mirror Medusa's columns, plus roles", async () => {
  const m = newModule()
  await m.service.createInvites([])
  await m.service.createInvites({ email: "schema@example.com" })
  const columns = (table: string) =>
    rows<{ name: string; type: string; notnull: number; pk: number }>(m.file, `pragma table_info("${table}")`).map(
      ({ name, type, notnull, pk }) => [name, type.toLowerCase(), notnull, pk],
    )
  assert.deepEqual(columns("invite"), [
    ["id", "text", 1, 1],
    ["email", "text", 1, 0],
    ["accepted", "boolean", 1, 0],
    ["token", "text", 1, 0],
    ["expires_at", "timestamptz", 1, 0],
    ["metadata", "jsonb", 0, 0],
    ["created_at", "timestamptz", 1, 0],
    ["updated_at", "timestamptz", 1, 0],
    ["deleted_at", "timestamptz", 0, 0],
    ["roles", "jsonb", 0, 0],
  ])
  // Our own table, named so it cannot collide with Medusa's: idempotency records.
  assert.deepEqual(columns("medusa_invites_idempotency"), [
    ["key", "text", 1, 1],
    ["input_hash", "text", 1, 2],
    ["response", "text", 1, 0],
    ["created_at", "integer", 1, 0],
  ])
  // The outbox: a call's event record until it is delivered (and its retention has passed).
  assert.deepEqual(columns("medusa_invites_outbox"), [
    ["id", "integer", 0, 1],
    ["created_at", "integer", 1, 0],
    ["events", "text", 1, 0],
    ["delivered_at", "integer", 0, 0],
  ])
  assert.deepEqual(columns("user"), [
    ["id", "text", 1, 1],
    ["first_name", "text", 0, 0],
    ["last_name", "text", 0, 0],
    ["email", "text", 1, 0],
    ["avatar_url", "text", 0, 0],
    ["metadata", "jsonb", 0, 0],
    ["created_at", "timestamptz", 1, 0],
    ["updated_at", "timestamptz", 1, 0],
    ["deleted_at", "timestamptz", 0, 0],
    ["roles", "jsonb", 0, 0],
  ])
  const indexes = rows<{ name: string; sql: string }>(
    m.file,
    "select name, sql from sqlite_master where type = 'index' and sql is not null order by name",
  ).map(({ name, sql }) => [name, sql.replace(/\s+/g, " ")])
  assert.deepEqual(indexes, [
    ["IDX_invite_deleted_at", 'CREATE INDEX "IDX_invite_deleted_at" on "invite" (deleted_at) where deleted_at is not null'],
    ["IDX_invite_email_unique", 'CREATE UNIQUE INDEX "IDX_invite_email_unique" on "invite" (email) where deleted_at is null'],
    ["IDX_invite_token", 'CREATE INDEX "IDX_invite_token" on "invite" (token) where deleted_at is null'],
    [
      "IDX_medusa_invites_idempotency_created_at",
      'CREATE INDEX "IDX_medusa_invites_idempotency_created_at" on "medusa_invites_idempotency" (created_at)',
    ],
    [
      "IDX_medusa_invites_outbox_delivered_at",
      'CREATE INDEX "IDX_medusa_invites_outbox_delivered_at" on "medusa_invites_outbox" (delivered_at) where delivered_at is not null',
    ],
    ["IDX_medusa_invites_outbox_pending", 'CREATE INDEX "IDX_medusa_invites_outbox_pending" on "medusa_invites_outbox" (id) where delivered_at is null'],
    ["IDX_user_deleted_at", 'CREATE INDEX "IDX_user_deleted_at" on "user" (deleted_at) where deleted_at is not null'],
    ["IDX_user_email_unique", 'CREATE UNIQUE INDEX "IDX_user_email_unique" on "user" (email) where deleted_at is null'],
  ])
  await m.close()
})

test("a row holds exactly what the DTO says", async () => {
  const m = newModule()
  const invite = await m.service.createInvites({
    email: "row@example.com",
    accepted: true,
    metadata: { b: 1, a: [1, "x"] },
    roles: ["admin", "viewer"],
  })
  assert.deepEqual(rows(m.file, 'select * from "invite"'), [
    {
      id: invite.id,
      email: "row@example.com",
      accepted: 1,
      token: invite.token,
      expires_at: invite.expires_at.getTime(),
      metadata: '{"b":1,"a":[1,"x"]}',
      created_at: invite.created_at.getTime(),
      updated_at: invite.updated_at.getTime(),
      deleted_at: null,
      roles: '["admin","viewer"]',
    },
  ])
  await m.close()
})

test("invites survive closing and re-opening the file", async () => {
  const m = newModule()
  const created = await m.service.createInvites({ email: "durable@example.com" })
  await m.close()
  const again = new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${m.file}` })
  const error = await rejection(again.createInvites({ email: "durable@example.com" }))
  assert.equal(error.message, "Invite with email: durable@example.com, already exists.")
  assert.deepEqual(rows(m.file, 'select id from "invite"'), [{ id: created.id }])
  await again.close()
})

test(":memory: keeps invites for the life of the module", async () => {
  const service = new UserModuleService({ jwt_secret: SECRET, database: ":memory:" })
  await service.createInvites({ email: "memory@example.com" })
  const error = await rejection(service.createInvites({ email: "memory@example.com" }))
  assert.equal(error.type, "invalid_data")
  assert.equal(error.message, "Invite with email: memory@example.com, already exists.")
  await service.close()
})

test("a closed module rejects calls with unexpected_state", async () => {
  const m = newModule()
  await m.service.createInvites({ email: "open@example.com" })
  await m.close()
  const error = await rejection(m.service.createInvites({ email: "closed@example.com" }))
  assert.ok(MedusaError.isMedusaError(error))
  assert.equal(error.type, "unexpected_state")
  assert.equal(error.message, "The invite module is closed; create a new UserModuleService")
  assert.equal(count(m.file), 1)
})

test("sqliteSynchronous accepts FULL, NORMAL and OFF and rejects anything else", async () => {
  for (const level of ["FULL", "NORMAL", "OFF", "normal"] as const) {
    const m = newModule({ sqliteSynchronous: level })
    await m.service.createInvites({ email: `sync-${level}@example.com` })
    assert.equal(count(m.file), 1)
    await m.close()
  }
  assert.throws(
    () => new UserModuleService({ jwt_secret: SECRET, database: ":memory:", sqliteSynchronous: "EXTRA" as any }),
    { type: "invalid_argument", message: 'sqliteSynchronous must be one of "FULL", "NORMAL", "OFF"' },
  )
})

test("database URLs: sqlite:, sqlite://, :memory:; others are refused without echoing secrets", async () => {
  const dir = tempDir()
  const service = new UserModuleService({ jwt_secret: SECRET, database: `sqlite://${join(dir, "slashes.sqlite")}` })
  await service.createInvites({ email: "slashes@example.com" })
  assert.equal(count(join(dir, "slashes.sqlite")), 1)
  await service.close()
  assert.throws(() => new UserModuleService({ jwt_secret: SECRET, database: "mysql://root:hunter2@db/x" }), (error: any) => {
    assert.equal(error.type, "invalid_argument")
    assert.equal(error.message, 'Unsupported database URL scheme "mysql": use sqlite:<path>, :memory:, postgres://… or { clientUrl, schema }')
    return true
  })
})

test("signing and database work run off the JS thread: timers fire while a batch is in flight", async () => {
  const m = newModule()
  const data = Array.from({ length: 30_000 }, (_, i) => ({ email: `thread${i}@example.com` }))
  let ticks = 0
  let inFlight = false
  const timer = setInterval(() => {
    if (inFlight) ticks++
  }, 1)
  const call = m.service.createInvites(data)
  // createInvites snapshots its input synchronously; from here on the work is native.
  inFlight = true
  const created = await call
  inFlight = false
  clearInterval(timer)
  assert.equal(created.length, 30_000)
  assert.ok(ticks > 0, "the event loop was blocked for the whole batch")
  await m.close()
})

test("modules opening the same new file at the same moment: every call succeeds", async () => {
  // The first modules on a new file switch it to WAL mode and create the tables, both of which
  // another module doing the same at that moment could make fail at once ("database is
  // locked") before the store waited for them.
  const dir = tempDir()
  const failures: string[] = []
  for (let round = 0; round < 40; round++) {
    const file = join(dir, `race-${round}.sqlite`)
    const modules = Array.from({ length: 4 }, () => new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${file}` }))
    const calls = modules.flatMap((service, i) => [
      service.createInvites({ email: `race-${i}@example.com` }, { idempotencyKey: `race-${i}` }),
      service.listInvites({}),
    ])
    for (const outcome of await Promise.allSettled(calls)) {
      if (outcome.status === "rejected") failures.push(String(outcome.reason?.message))
    }
    await Promise.all(modules.map((service) => service.close()))
    assert.equal(count(file), 4, `round ${round}: every invite written`)
  }
  assert.deepEqual(failures, [])
})
