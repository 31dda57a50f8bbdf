// Interoperability with the real Medusa User Module (@medusajs/user@2.21.2) on one PostgreSQL
// database (docs/storage.md). Run: `npm run test:medusa` from the package root.
//
// Fresh databases per run, created here and dropped `with (force)` at the end:
//   A: Medusa's migrations first, then medusa-invites on the same database (tests 1-4);
//   B: medusa-invites creates the schema on an empty database, then Medusa's migrations (test 5);
//   REF: Medusa's migrations only, the schema B must end up with.
// Server: MEDUSA_INVITES_TEST_PG_URL (no database part), default postgres://postgres@127.0.0.1:5432.
import { after, before, describe, test } from "node:test"
import assert from "node:assert/strict"
import { createRequire } from "node:module"
import { isDeepStrictEqual } from "node:util"
import pg from "pg"
import jwt from "jsonwebtoken"
import { bootMedusa, runMedusaMigrations } from "./medusa.mjs"

const require = createRequire(import.meta.url)
const { UserModuleService } = require("medusa-invites") // file:.. — the addon as built

const SECRET = "interop-secret-5b1e"
const MEDUSA_MIGRATIONS = ["Migration20240214033943", "Migration20240703095850", "Migration20241202103352"]
const SERVER = process.env.MEDUSA_INVITES_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432"

function databaseUrl(name) {
  const url = new URL(SERVER)
  url.pathname = `/${name}`
  return url.toString()
}

/** `work(sql)` with a plain pg connection to `url`; `sql(text, params)` resolves to the rows. */
async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    return await work(async (text, params) => (await client.query(text, params)).rows)
  } finally {
    await client.end()
  }
}

const admin = (text) => withClient(databaseUrl("postgres"), (sql) => sql(text))

const run = `${process.pid}_${Date.now()}`
const DB_A = `medusa_invites_interop_${run}_a`
const DB_B = `medusa_invites_interop_${run}_b`
const DB_REF = `medusa_invites_interop_${run}_ref` // Medusa's migrations only: the reference schema

const createdDatabases = []

before(async () => {
  try {
    await admin("select 1")
  } catch (error) {
    const where = new URL(SERVER)
    where.username = where.password = ""
    throw new Error(`PostgreSQL at ${where} is unreachable (${error.message}); set MEDUSA_INVITES_TEST_PG_URL`)
  }
  for (const name of [DB_A, DB_B, DB_REF]) {
    await admin(`drop database if exists "${name}" with (force)`)
    await admin(`create database "${name}"`)
    createdDatabases.push(name)
  }
})

after(async () => {
  for (const name of createdDatabases) await admin(`drop database if exists "${name}" with (force)`)
})

/** An InviteDTO of ours as Medusa serializes the same row: every field but `roles`. */
function asMedusaReads(ours) {
  const { roles, ...rest } = ours
  return rest
}

/** Medusa's tables as the catalogue sees them: columns and index definitions of invite and user. */
async function medusaSchema(sql) {
  const columns = await sql(
    `select table_name, column_name, data_type, is_nullable, column_default
     from information_schema.columns where table_schema = 'public' and table_name in ('invite', 'user')
     order by table_name, column_name`,
  )
  const indexes = await sql(
    `select tablename, indexname, indexdef from pg_indexes
     where schemaname = 'public' and tablename in ('invite', 'user') order by tablename, indexname`,
  )
  return { columns, indexes }
}

async function tables(sql) {
  const rows = await sql(`select table_name from information_schema.tables where table_schema = 'public'`)
  return rows.map((row) => row.table_name).sort()
}

/** Our MedusaError, checked field by field (type and exact message). */
function medusaError(type, message) {
  return (error) => {
    assert.equal(error.__isMedusaError, true, `not a MedusaError: ${error}`)
    assert.equal(error.type, type)
    assert.equal(error.message, message)
    return true
  }
}

const METADATA = {
  plan: "pro",
  seats: 12,
  ratio: 0.30000000000000004,
  max: Number.MAX_SAFE_INTEGER,
  negative: -7.5,
  flag: false,
  none: null,
  empty: {},
  list: [1, "two", { three: [3] }, [], null],
  nested: { z: { y: { x: "deep" } }, a: "first" },
  text: 'quote " backslash \\ tab \t newline \n',
  unicode: "Zoë — 日本語 — 🎉",
}

// ---------------------------------------------------------------------------------------------
describe("A: Medusa's migrations first, then medusa-invites on the same database", () => {
  const url = databaseUrl(DB_A)
  let medusa // the real module
  let ours // medusa-invites
  let medusaSchemaBefore
  let medusaTablesBefore
  let created // our invites from test 1
  let withRoles // one of them, with roles

  before(async () => {
    assert.deepEqual(await runMedusaMigrations(url), { ran: MEDUSA_MIGRATIONS, recorded: MEDUSA_MIGRATIONS })
    medusa = await bootMedusa(url, { jwt_secret: SECRET })
    medusaSchemaBefore = await medusaSchema(medusa.sql)
    medusaTablesBefore = await tables(medusa.sql)
    ours = new UserModuleService({ jwt_secret: SECRET, database: url })
  })

  after(async () => {
    await ours?.close()
    await medusa?.shutdown()
  })

  test("1. listInvites and retrieveInvite return our invites with the same field values", async () => {
    created = await ours.createInvites([
      { email: "alice@example.com", metadata: METADATA, roles: ["admin", "support"] },
      { email: "bob@example.com" },
      { email: "Carol.Mixed+Case@Example.COM", accepted: true, metadata: {} },
      {
        id: "invite_caller_given_1",
        email: "dan@example.com",
        metadata: { source: "import" },
        created_at: "2024-01-02T03:04:05.678Z",
        updated_at: new Date("2024-02-03T04:05:06.789Z"),
      },
      { email: "erin@example.com", roles: [] },
    ])
    assert.equal(created.length, 5)
    withRoles = created[0]
    assert.deepEqual(withRoles.roles, ["admin", "support"])

    // Our schema ran on Medusa's database: only our own tables were added, Medusa's untouched.
    const added = (await tables(medusa.sql)).filter((name) => !medusaTablesBefore.includes(name))
    assert.ok(added.includes("medusa_invites_roles") && added.includes("medusa_invites_idempotency"), String(added))
    for (const name of added) assert.match(name, /^medusa_invites_/)
    assert.deepEqual(await medusaSchema(medusa.sql), medusaSchemaBefore)

    const ids = created.map((invite) => invite.id)
    const listed = await medusa.service.listInvites({ id: ids }, { take: 100 })
    assert.equal(listed.length, created.length)
    const byId = new Map(listed.map((invite) => [invite.id, invite]))
    for (const invite of created) {
      const medusaSees = byId.get(invite.id)
      assert.deepStrictEqual(medusaSees, asMedusaReads(invite))
      assert.deepStrictEqual(await medusa.service.retrieveInvite(invite.id), asMedusaReads(invite))
    }

    // Field by field, for a readable failure (deepStrictEqual above already covers all of it).
    const alice = await medusa.service.retrieveInvite(withRoles.id)
    assert.equal(alice.id, withRoles.id)
    assert.equal(alice.email, "alice@example.com")
    assert.equal(alice.accepted, false)
    assert.equal(alice.token, withRoles.token)
    assert.ok(alice.expires_at instanceof Date && alice.created_at instanceof Date)
    assert.equal(alice.expires_at.getTime(), withRoles.expires_at.getTime())
    assert.equal(alice.created_at.getTime(), withRoles.created_at.getTime())
    assert.equal(alice.updated_at.getTime(), withRoles.updated_at.getTime())
    assert.deepStrictEqual(alice.metadata, METADATA)
    assert.equal(alice.deleted_at, null)

    const bob = byId.get(created[1].id)
    assert.equal(bob.metadata, null)
    const carol = byId.get(created[2].id)
    assert.equal(carol.accepted, true)
    assert.equal(carol.email, "Carol.Mixed+Case@Example.COM")
    assert.deepStrictEqual(carol.metadata, {})
    const dan = byId.get("invite_caller_given_1")
    assert.equal(dan.created_at.toISOString(), "2024-01-02T03:04:05.678Z")
    assert.equal(dan.updated_at.toISOString(), "2024-02-03T04:05:06.789Z")

    // Medusa's filters over our rows.
    const [byEmail, count] = await medusa.service.listAndCountInvites({ email: ["bob@example.com", "dan@example.com"] })
    assert.equal(count, 2)
    assert.deepEqual(byEmail.map((invite) => invite.id).sort(), [created[1].id, "invite_caller_given_1"].sort())
    const [mixed] = await medusa.service.listInvites({ email: "Carol.Mixed+Case@Example.COM" })
    assert.equal(mixed.id, created[2].id)

    // A larger batch goes through the set-based insert; Medusa reads every row of it.
    const batch = await ours.createInvites(
      Array.from({ length: 300 }, (_, n) => ({ email: `bulk-${n}@example.com`, metadata: { n } })),
    )
    const [bulk, bulkCount] = await medusa.service.listAndCountInvites({ id: batch.map((i) => i.id) }, { take: 1000 })
    assert.equal(bulkCount, 300)
    const bulkById = new Map(bulk.map((invite) => [invite.id, invite]))
    for (const invite of batch) assert.deepStrictEqual(bulkById.get(invite.id), asMedusaReads(invite))
  })

  test("2. validateInviteToken accepts our tokens and returns our invite", async () => {
    for (const invite of created) {
      // jsonwebtoken, the library Medusa verifies with, with the same secret.
      const payload = jwt.verify(invite.token, SECRET)
      assert.equal(payload.id, invite.id)
      assert.equal(payload.email, invite.email)
      assert.deepStrictEqual(await medusa.service.validateInviteToken(invite.token), asMedusaReads(invite))
    }
    // And Medusa still rejects what it must: a token signed with another secret.
    const forged = jwt.sign({ id: created[0].id }, "another-secret")
    await assert.rejects(medusa.service.validateInviteToken(forged), { message: "invalid signature" })
  })

  test("3. Medusa's invites and users block the same emails in medusa-invites", async (t) => {
    const medusaInvite = await medusa.service.createInvites({ email: "frank@example.com" })
    await assert.rejects(
      ours.createInvites({ email: "frank@example.com" }),
      medusaError("invalid_data", "Invite with email: frank@example.com, already exists."),
    )
    // In a batch: nothing of it is written.
    await assert.rejects(
      ours.createInvites([{ email: "new-in-batch@example.com" }, { email: "frank@example.com" }]),
      medusaError("invalid_data", "Invite with email: frank@example.com, already exists."),
    )
    assert.deepEqual(await medusa.service.listInvites({ email: "new-in-batch@example.com" }), [])
    assert.equal((await medusa.service.listInvites({ email: "frank@example.com" }))[0].id, medusaInvite.id)

    const [grace, heidi] = await medusa.service.createUsers([{ email: "grace@example.com" }, { email: "heidi@example.com" }])
    await assert.rejects(
      ours.createInvites({ email: "grace@example.com" }),
      medusaError("invalid_data", "User account for following email(s) already exist: grace@example.com"),
    )
    await assert.rejects(
      ours.createInvites([{ email: "heidi@example.com" }, { email: "ivan@example.com" }, { email: "grace@example.com" }]),
      medusaError("invalid_data", "User account for following email(s) already exist: heidi@example.com, grace@example.com"),
    )
    assert.deepEqual(await medusa.service.listInvites({ email: "ivan@example.com" }), [])

    // Emails match case-sensitively on both sides, as Medusa's unique indexes do.
    const [upperGrace] = await ours.createInvites([{ email: "GRACE@example.com" }])
    assert.equal((await medusa.service.retrieveInvite(upperGrace.id)).email, "GRACE@example.com")

    // An id Medusa gave its invite is taken for us too.
    await assert.rejects(
      ours.createInvites([{ id: medusaInvite.id, email: "id-reuse@example.com" }]),
      medusaError("invalid_data", `Invite with id: ${medusaInvite.id}, already exists.`),
    )

    // A user Medusa soft-deleted no longer blocks (only live users do, as in Medusa).
    await medusa.service.softDeleteUsers([heidi.id])
    const [heidiInvite] = await ours.createInvites([{ email: "heidi@example.com" }])
    assert.deepStrictEqual(await medusa.service.retrieveInvite(heidiInvite.id), asMedusaReads(heidiInvite))
    assert.ok(grace.id)

    // The other way round: our invites and users block Medusa.
    await assert.rejects(medusa.service.createInvites({ email: "alice@example.com" }), {
      message: "Invite with email: alice@example.com, already exists.",
    })
    const [judy] = await ours.createUsers([{ email: "judy@example.com", first_name: "Judy", metadata: { team: "ops" } }])
    // Medusa's UserDTO is ours without `roles` (the roles a user got from an accepted invite).
    const { roles: judyRoles, ...judyAsMedusa } = judy
    assert.equal(judyRoles, null)
    assert.deepStrictEqual(await medusa.service.retrieveUser(judy.id), judyAsMedusa)
    await assert.rejects(medusa.service.createInvites({ email: "judy@example.com" }), {
      message: "User account for following email(s) already exist: judy@example.com",
    })
    await assert.rejects(
      ours.createInvites({ email: "judy@example.com" }),
      medusaError("invalid_data", "User account for following email(s) already exist: judy@example.com"),
    )

    // Racing for one email: Medusa and medusa-invites at the same moment, 20 times. Medusa's
    // unique index decides; exactly one wins and the other gets Medusa's message.
    const wins = { medusa: 0, ours: 0 }
    for (let round = 0; round < 20; round++) {
      const email = `race-${round}@example.com`
      const [theirs, mine] = await Promise.allSettled([
        medusa.service.createInvites({ email }),
        ours.createInvites({ email }),
      ])
      assert.equal([theirs, mine].filter((r) => r.status === "fulfilled").length, 1, `round ${round}`)
      const loser = theirs.status === "rejected" ? theirs.reason : mine.reason
      assert.equal(loser.message, `Invite with email: ${email}, already exists.`)
      if (mine.status === "rejected") assert.equal(loser.type, "invalid_data")
      const winner = theirs.status === "fulfilled" ? theirs.value : mine.value[0] ?? mine.value
      const listed = await medusa.service.listInvites({ email })
      assert.deepEqual(listed.map((invite) => invite.id), [winner.id])
      wins[theirs.status === "fulfilled" ? "medusa" : "ours"]++
    }
    t.diagnostic(`races won: Medusa ${wins.medusa}, medusa-invites ${wins.ours}`)

    // The race the other way: Medusa's row is written but not committed when we check, so our
    // check cannot see it and the unique index decides. Our insert waits for Medusa's
    // transaction, then fails with Medusa's message; Medusa's invite stands.
    // (Medusa's own transaction API: baseRepository_.transaction, and a flush to write now.)
    let ourAttempt
    let medusaInTx
    await medusa.service.baseRepository_.transaction(async (manager) => {
      medusaInTx = await medusa.service.createInvites({ email: "in-tx@example.com" }, { transactionManager: manager })
      await manager.flush()
      ourAttempt = ours.createInvites({ email: "in-tx@example.com" }).then(
        () => assert.fail("medusa-invites created an invite over Medusa's uncommitted one"),
        (error) => error,
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
    })
    medusaError("invalid_data", "Invite with email: in-tx@example.com, already exists.")(await ourAttempt)
    assert.deepEqual((await medusa.service.listInvites({ email: "in-tx@example.com" })).map((i) => i.id), [medusaInTx.id])
  })

  test("4. Medusa's module still works after medusa-invites has run its migrations", async () => {
    // Our roles table is there and holds a row for the invite with roles.
    const rolesRows = await medusa.sql(`select roles from medusa_invites_roles where invite_id = ?`, [withRoles.id])
    assert.deepEqual(rolesRows, [{ roles: ["admin", "support"] }])

    // Medusa restarts on the database our module has migrated: its migrator runs cleanly and
    // finds nothing to do, its tables are as its migrations left them, and it boots.
    await medusa.shutdown()
    medusa = undefined
    assert.deepEqual(await runMedusaMigrations(url), { ran: [], recorded: MEDUSA_MIGRATIONS })
    medusa = await bootMedusa(url, { jwt_secret: SECRET })
    assert.deepEqual(await medusaSchema(medusa.sql), medusaSchemaBefore)

    // Medusa creates invites and lists its own next to ours.
    const own = await medusa.service.createInvites([{ email: "kim@example.com" }, { email: "leo@example.com", metadata: { k: 1 } }])
    assert.equal(own.length, 2)
    const [bob, carol, dan] = [created[1], created[2], created[3]]
    const wanted = [bob.id, carol.id, ...own.map((invite) => invite.id)]
    const listed = await medusa.service.listInvites({ id: wanted })
    assert.deepEqual(listed.map((invite) => invite.id).sort(), [...wanted].sort())
    assert.deepStrictEqual(listed.find((invite) => invite.id === bob.id), asMedusaReads(bob))
    const all = await medusa.service.listInvites({}, { take: 1000 })
    assert.ok(all.some((invite) => invite.id === carol.id) && all.some((invite) => invite.id === own[0].id))

    // Soft-delete one of ours.
    assert.deepEqual(await medusa.service.softDeleteInvites([bob.id]), { invite_id: [bob.id] })
    assert.deepEqual(await medusa.service.listInvites({ id: [bob.id] }), [])
    const [bobDeleted] = await medusa.service.listInvites({ id: [bob.id] }, { withDeleted: true })
    assert.ok(bobDeleted.deleted_at instanceof Date)
    await assert.rejects(medusa.service.validateInviteToken(bob.token), { message: `Invite with id: ${bob.id} was not found` })
    // Its email is free again for us, its id is not (soft-deleted ids still count, as in Medusa).
    const [bobAgain] = await ours.createInvites([{ email: "bob@example.com" }])
    assert.deepStrictEqual(await medusa.service.retrieveInvite(bobAgain.id), asMedusaReads(bobAgain))
    await assert.rejects(
      ours.createInvites([{ id: bob.id, email: "bob-reuse@example.com" }]),
      medusaError("invalid_data", `Invite with id: ${bob.id}, already exists.`),
    )
    // Restoring the old one now collides with our new live invite on Medusa's unique index.
    await assert.rejects(medusa.service.restoreInvites([bob.id]), {
      message: "Invite with email: bob@example.com, already exists.",
    })

    // Hard-delete one of ours that has roles: our roles table must not block it.
    await medusa.service.deleteInvites([withRoles.id])
    await assert.rejects(medusa.service.retrieveInvite(withRoles.id), {
      message: `Invite with id: ${withRoles.id} was not found`,
    })
    assert.deepEqual(await medusa.sql(`select * from invite where id = ?`, [withRoles.id]), [])
    assert.deepEqual(await medusa.sql(`select * from medusa_invites_roles where invite_id = ?`, [withRoles.id]), [])
    // ... and the email can be invited again by us, with new roles.
    const [aliceAgain] = await ours.createInvites([{ email: "alice@example.com", roles: ["viewer"] }])
    assert.deepEqual(aliceAgain.roles, ["viewer"])
    assert.deepStrictEqual(await medusa.service.retrieveInvite(aliceAgain.id), asMedusaReads(aliceAgain))

    // Medusa updates and refreshes our invites; the refreshed token replaces ours.
    const [updated] = await medusa.service.updateInvites([{ id: carol.id, metadata: { note: "updated by Medusa" } }])
    assert.deepStrictEqual(updated.metadata, { note: "updated by Medusa" })
    const [refreshed] = await medusa.service.refreshInviteTokens([dan.id])
    assert.notEqual(refreshed.token, dan.token)
    assert.equal((await medusa.service.validateInviteToken(refreshed.token)).id, dan.id)
    await assert.rejects(medusa.service.validateInviteToken(dan.token), { message: "The invite token is invalid" })

    // Hard-delete of one of Medusa's own invites also works with our tables present.
    await medusa.service.deleteInvites([own[0].id])
    assert.deepEqual(await medusa.service.listInvites({ id: [own[0].id] }, { withDeleted: true }), [])
  })

  test("4b. the lifecycle crosses modules: validate, refresh, update, list and accept on each other's rows", async () => {
    // An invite Medusa created: we validate its token and return what Medusa returns (plus roles).
    const medusaInvite = await medusa.service.createInvites({ email: "grace.lifecycle@example.com", metadata: { from: "medusa" } })
    const ourView = await ours.validateInviteToken(medusaInvite.token)
    assert.equal(ourView.roles, null)
    assert.deepStrictEqual(asMedusaReads(ourView), await medusa.service.retrieveInvite(medusaInvite.id))

    // We refresh it: Medusa refuses the old token and accepts the new one.
    const [refreshed] = await ours.refreshInviteTokens([medusaInvite.id])
    await assert.rejects(medusa.service.validateInviteToken(medusaInvite.token), { message: "The invite token is invalid" })
    assert.deepStrictEqual(await medusa.service.validateInviteToken(refreshed.token), asMedusaReads(refreshed))

    // Medusa updates it; we read the merged metadata, and both modules list the same rows.
    await medusa.service.updateInvites({ id: medusaInvite.id, metadata: { note: "by Medusa" } })
    assert.deepStrictEqual((await ours.retrieveInvite(medusaInvite.id)).metadata, { from: "medusa", note: "by Medusa" })
    const ids = [medusaInvite.id, created[0].id, created[1].id]
    const [oursListed, oursCount] = await ours.listAndCountInvites({ id: ids }, { order: { id: "ASC" } })
    const [medusaListed, medusaCount] = await medusa.service.listAndCountInvites({ id: ids }, { order: { id: "ASC" } })
    assert.equal(oursCount, medusaCount)
    assert.deepStrictEqual(oursListed.map(asMedusaReads), medusaListed)

    // We accept it: the user Medusa retrieves is ours, and the invite is gone for both modules.
    const user = await ours.acceptInvite(refreshed.token, { first_name: "Grace" })
    assert.equal(user.email, "grace.lifecycle@example.com")
    const { roles: userRoles, ...userAsMedusa } = user
    assert.equal(userRoles, null)
    assert.deepStrictEqual(await medusa.service.retrieveUser(user.id), userAsMedusa)
    assert.deepEqual(await medusa.service.listInvites({ id: [medusaInvite.id] }), [])
    const [gone] = await medusa.service.listInvites({ id: [medusaInvite.id] }, { withDeleted: true })
    assert.equal(gone.accepted, true)
    assert.ok(gone.deleted_at instanceof Date)
    await assert.rejects(medusa.service.validateInviteToken(refreshed.token), { message: `Invite with id: ${medusaInvite.id} was not found` })
    await assert.rejects(medusa.service.createInvites({ email: "grace.lifecycle@example.com" }), {
      message: "User account for following email(s) already exist: grace.lifecycle@example.com",
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("B: medusa-invites creates the schema first, then Medusa's migrations", () => {
  const url = databaseUrl(DB_B)
  let ours
  let medusa
  let medusaOnly // the schema of invite and user that Medusa's migrations alone produce

  before(async () => {
    assert.deepEqual(await runMedusaMigrations(databaseUrl(DB_REF)), { ran: MEDUSA_MIGRATIONS, recorded: MEDUSA_MIGRATIONS })
    medusaOnly = await withClient(databaseUrl(DB_REF), medusaSchema)
  })

  after(async () => {
    await ours?.close()
    await medusa?.shutdown()
  })

  test("5. our schema on an empty database, then Medusa's migrations succeed and Medusa reads our invites", async (t) => {
    // Medusa's form of the database option this time.
    ours = new UserModuleService({ jwt_secret: SECRET, database: { clientUrl: url, schema: "public" } })
    // A soft-deleted invite and a live one with the same email (allowed by the partial unique
    // index that Medusa's first migration creates again), roles, metadata, given times.
    const [oldMallory] = await ours.createInvites([
      { email: "mallory@example.com", deleted_at: "2024-05-06T07:08:09.010Z", created_at: "2024-05-01T00:00:00.000Z" },
    ])
    const invites = await ours.createInvites([
      { email: "mallory@example.com", roles: ["owner"], metadata: METADATA },
      { email: "niaj@example.com", accepted: true },
      { email: "olivia@example.com", metadata: { a: [1, 2] } },
    ])
    const [peggy] = await ours.createUsers([{ email: "peggy@example.com", last_name: "P", avatar_url: "https://x/p.png" }])

    await withClient(url, async (sql) => {
      const oursTables = await tables(sql)
      assert.deepEqual(oursTables.filter((name) => !name.startsWith("medusa_invites_")), ["invite", "user"])
      assert.ok(oursTables.includes("medusa_invites_roles"))
      // Before Medusa's migrations: Medusa's columns exactly, and each index we create is one
      // of Medusa's, with Medusa's definition. (Indexes of Medusa's that we do not create are
      // reported; the migrations below add them.)
      const oursOnly = await medusaSchema(sql)
      assert.deepEqual(oursOnly.columns, medusaOnly.columns)
      for (const index of oursOnly.indexes) assert.ok(
        medusaOnly.indexes.some((medusaIndex) => isDeepStrictEqual(medusaIndex, index)),
        `index not in Medusa's schema: ${index.indexdef}`,
      )
      const notCreatedByUs = medusaOnly.indexes
        .filter((index) => !oursOnly.indexes.some((our) => our.indexname === index.indexname))
        .map((index) => index.indexname)
      if (notCreatedByUs.length) t.diagnostic(`Medusa indexes not created by medusa-invites: ${notCreatedByUs.join(", ")}`)

      assert.deepEqual(await runMedusaMigrations(url), { ran: MEDUSA_MIGRATIONS, recorded: MEDUSA_MIGRATIONS })
      // Both orders end with the same tables, columns and indexes.
      assert.deepEqual(await medusaSchema(sql), medusaOnly)
      assert.deepEqual(await tables(sql), [...oursTables, "mikro_orm_migrations"].sort())
      // Our roles survived Medusa's migrations.
      assert.deepEqual(await sql(`select roles from medusa_invites_roles where invite_id = $1`, [invites[0].id]), [
        { roles: ["owner"] },
      ])
    })

    medusa = await bootMedusa(url, { jwt_secret: SECRET })
    const everything = [oldMallory, ...invites]
    const listed = await medusa.service.listInvites({}, { withDeleted: true, take: 100 })
    assert.equal(listed.length, everything.length)
    const byId = new Map(listed.map((invite) => [invite.id, invite]))
    for (const invite of everything) {
      assert.deepStrictEqual(byId.get(invite.id), asMedusaReads(invite))
    }
    assert.equal(byId.get(oldMallory.id).deleted_at.toISOString(), "2024-05-06T07:08:09.010Z")
    assert.deepEqual(
      (await medusa.service.listInvites({})).map((invite) => invite.id).sort(),
      invites.map((invite) => invite.id).sort(),
    )
    for (const invite of invites) {
      assert.deepStrictEqual(await medusa.service.retrieveInvite(invite.id), asMedusaReads(invite))
      assert.deepStrictEqual(await medusa.service.validateInviteToken(invite.token), asMedusaReads(invite))
    }
    const { roles: peggyRoles, ...peggyAsMedusa } = peggy
    assert.equal(peggyRoles, null)
    assert.deepStrictEqual(await medusa.service.retrieveUser(peggy.id), peggyAsMedusa)

    // Both modules keep working on the migrated database, and still see each other's rows.
    await assert.rejects(medusa.service.createInvites({ email: "niaj@example.com" }), {
      message: "Invite with email: niaj@example.com, already exists.",
    })
    await assert.rejects(medusa.service.createInvites({ email: "peggy@example.com" }), {
      message: "User account for following email(s) already exist: peggy@example.com",
    })
    const theirs = await medusa.service.createInvites({ email: "quentin@example.com" })
    await assert.rejects(
      ours.createInvites({ email: "quentin@example.com" }),
      medusaError("invalid_data", "Invite with email: quentin@example.com, already exists."),
    )
    const [rupert] = await ours.createInvites([{ email: "rupert@example.com", roles: ["editor"] }])
    assert.deepStrictEqual(await medusa.service.validateInviteToken(rupert.token), asMedusaReads(rupert))
    assert.equal((await medusa.service.retrieveInvite(theirs.id)).email, "quentin@example.com")
    await medusa.service.deleteInvites([invites[0].id, rupert.id])
    assert.deepEqual(await medusa.service.listInvites({ id: [invites[0].id, rupert.id] }, { withDeleted: true }), [])
  })
})
