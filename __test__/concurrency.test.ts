// Concurrency: fifty concurrent createInvites calls on one module with
// overlapping emails. Each email is invited at most once, every losing call is rejected with
// Medusa's duplicate message (never SQLITE_BUSY or a driver error), nothing deadlocks, and the
// rows read back by an independent reader (sqlite3 or psql) match exactly what the winning
// calls returned.
// The long version is bench/concurrency.js (`npm run stress`).
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError, type Context, type InviteDTO, type UserDTO } from ".."
import { BACKEND, execute, newModule, rows, count, rejection, type TestModule } from "./helpers"

const POOL = 60
const CALLS = 50
const BATCH = 5

const poolEmail = (index: number) => `pool-${String(index).padStart(2, "0")}@example.com`

/** Call k invites pool[(7k + 13j) mod 60], j = 0..4: five distinct emails, batches overlap. */
function inviteBatches(): string[][] {
  return Array.from({ length: CALLS }, (_, k) => Array.from({ length: BATCH }, (_, j) => poolEmail((7 * k + 13 * j) % POOL)))
}

/** User call u creates pool[(11u + 17j + 3) mod 60], j = 0..2. */
function userBatches(): string[][] {
  return Array.from({ length: 10 }, (_, u) => Array.from({ length: 3 }, (_, j) => poolEmail((11 * u + 17 * j + 3) % POOL)))
}

async function withModule(body: (m: TestModule) => Promise<void>): Promise<void> {
  const m = newModule()
  try {
    await body(m)
  } finally {
    await m.close()
  }
}

/**
 * SQLite only: logs every committed insert into invite and user, in commit order (the triggers
 * run inside the call's transaction, so a rolled-back batch leaves no log rows, and SQLite's one
 * writer at a time makes insert order commit order). The database must be open first.
 */
function installInsertLog(file: string): void {
  execute(
    file,
    `create table test_insert_log (seq integer primary key autoincrement, kind text not null, email text not null);
     create trigger test_log_invite after insert on "invite" begin insert into test_insert_log (kind, email) values ('invite', new.email); end;
     create trigger test_log_user after insert on "user" begin insert into test_insert_log (kind, email) values ('user', new.email); end;`,
  )
}

function assertNoDuplicateEmails(file: string, table: string): void {
  assert.deepEqual(rows(file, `select email, count(*) as n from "${table}" group by email having count(*) > 1`), [])
}

/** A rejection that is a MedusaError invalid_data and never a driver/locking error. */
function assertCleanRejection(err: any): void {
  assert.ok(MedusaError.isMedusaError(err), `a MedusaError, got ${err?.stack ?? err}`)
  assert.equal(err.type, "invalid_data", `invalid_data, got ${err.type}: ${err.message}`)
  assert.doesNotMatch(err.message, /SQLITE|busy|locked|database_error|constraint/i)
}

/** `Invite with email: <e>, already exists.` where e is one of `batch`; returns e. */
function duplicateInviteEmail(message: string, batch: string[]): string | undefined {
  const match = /^Invite with email: (.+), already exists\.$/.exec(message)
  if (!match || !batch.includes(match[1])) return undefined
  return match[1]
}

/** Checks the fulfilled invite calls against the rows: same ids and tokens, one emit each. */
/** The emits of createInvites calls (createUsers calls emit `user.user.created` beside them). */
function inviteCalls(m: TestModule) {
  return m.bus.calls.filter((call) => call.messages.some((message) => message.name !== "user.user.created"))
}

function assertFulfilledInvites(m: TestModule, batches: string[][], results: PromiseSettledResult<InviteDTO[]>[]): number {
  const stored = new Map(
    rows<{ id: string; email: string; token: string }>(m.file, 'select id, email, token from "invite" where deleted_at is null').map(
      (row) => [row.email, row],
    ),
  )
  let fulfilledRows = 0
  const emittedIds: string[][] = inviteCalls(m).map((call) =>
    call.messages.filter((message) => message.name === "user.invite.created").map((message) => (message.data as { id: string }).id),
  )
  for (const [k, result] of results.entries()) {
    if (result.status !== "fulfilled") continue
    const invites = result.value
    assert.deepEqual(invites.map((invite) => invite.email), batches[k], `call ${k} returns its batch in input order`)
    for (const invite of invites) {
      assert.deepEqual(stored.get(invite.email), { id: invite.id, email: invite.email, token: invite.token }, `row of ${invite.email}`)
    }
    const ids = invites.map((invite) => invite.id)
    assert.equal(emittedIds.filter((emitted) => JSON.stringify(emitted) === JSON.stringify(ids)).length, 1, `one emit for call ${k}`)
    fulfilledRows += invites.length
  }
  return fulfilledRows
}

/**
 * Fifty createInvites and ten createUsers calls at once on overlapping emails (after an opener
 * of each); checks every outcome against the rows. With `logged` (SQLite), also checks the
 * commit order from the insert log. `context` is passed to every call of the storm.
 */
async function mixedStorm(m: TestModule, logged: boolean, context?: Context): Promise<void> {
  // Open the database, then (SQLite) log every committed insert in commit order.
  await m.service.createInvites({ email: "opener@example.com" })
  await m.service.createUsers({ email: "opener-user@example.com" })
  m.bus.calls.length = 0
  if (logged) installInsertLog(m.file)

  const inviteBatchList = inviteBatches()
  const userBatchList = userBatches()
  type Pending = { kind: "invite"; k: number; promise: Promise<InviteDTO[]> } | { kind: "user"; k: number; promise: Promise<UserDTO[]> }
  const pending: Pending[] = []
  for (let k = 0; k < CALLS; k++) {
    pending.push({ kind: "invite", k, promise: m.service.createInvites(inviteBatchList[k].map((email) => ({ email })), context) })
    if (k % 5 === 2) {
      const u = (k - 2) / 5
      pending.push({ kind: "user", k: u, promise: m.service.createUsers(userBatchList[u].map((email) => ({ email })), context) })
    }
  }
  const settled = await Promise.allSettled(pending.map((call) => call.promise as Promise<unknown>))

  const inviteResults: PromiseSettledResult<InviteDTO[]>[] = []
  const userResults: PromiseSettledResult<UserDTO[]>[] = []
  pending.forEach((call, i) => {
    if (call.kind === "invite") inviteResults[call.k] = settled[i] as PromiseSettledResult<InviteDTO[]>
    else userResults[call.k] = settled[i] as PromiseSettledResult<UserDTO[]>
  })

  assertNoDuplicateEmails(m.file, "invite")
  assertNoDuplicateEmails(m.file, "user")
  const users = new Map(rows<{ id: string; email: string }>(m.file, 'select id, email from "user"').map((row) => [row.email, row.id]))
  const invites = new Set(rows<{ email: string }>(m.file, 'select email from "invite"').map((row) => row.email))

  // Invites: rows, counts, emits.
  const inviteRows = assertFulfilledInvites(m, inviteBatchList, inviteResults)
  assert.equal(count(m.file), 1 + inviteRows, "invite rows = opener + sum of fulfilled batch sizes")
  assert.equal(inviteCalls(m).length, inviteResults.filter((result) => result.status === "fulfilled").length)

  // Users: rows and counts.
  let userRows = 0
  for (const [u, result] of userResults.entries()) {
    if (result.status === "fulfilled") {
      assert.deepEqual(result.value.map((user) => user.email), userBatchList[u])
      for (const user of result.value) assert.equal(users.get(user.email), user.id, `user row of ${user.email}`)
      userRows += result.value.length
    } else {
      const err = result.reason
      assertCleanRejection(err)
      const match = /^User with email: (.+), already exists\.$/.exec(err.message)
      assert.ok(match && userBatchList[u].includes(match[1]), `user call ${u}: unexpected "${err.message}"`)
      assert.ok(users.has(match[1]))
    }
  }
  assert.equal(count(m.file, "user"), 1 + userRows, "user rows = opener + sum of fulfilled batch sizes")

  // Losing invite calls: one of Medusa's duplicate messages (no caller ids here, so never the id message).
  for (const [k, result] of inviteResults.entries()) {
    if (result.status !== "rejected") continue
    const err = result.reason
    assertCleanRejection(err)
    const batch = inviteBatchList[k]
    const duplicate = duplicateInviteEmail(err.message, batch)
    if (duplicate) {
      assert.ok(invites.has(duplicate), `call ${k}: ${duplicate} is held by an invite`)
      continue
    }
    const prefix = "User account for following email(s) already exist: "
    assert.ok(err.message.startsWith(prefix), `call ${k}: "${err.message}" is not a Medusa duplicate message`)
    const listed = err.message.slice(prefix.length).split(", ")
    assert.ok(listed.length >= 1)
    assert.deepEqual(listed, batch.filter((email) => listed.includes(email)), `call ${k}: listed emails in input order, all from the batch`)
    for (const email of listed) assert.ok(users.has(email), `call ${k}: ${email} is a user`)
  }

  // No invite was created for an email a user already had (commit order from the log).
  if (!logged) return
  const log = rows<{ seq: number; kind: string; email: string }>(m.file, "select seq, kind, email from test_insert_log order by seq")
  assert.equal(log.filter((entry) => entry.kind === "invite").length, inviteRows)
  assert.equal(log.filter((entry) => entry.kind === "user").length, userRows)
  const userSince = new Map(log.filter((entry) => entry.kind === "user").map((entry) => [entry.email, entry.seq]))
  for (const entry of log) {
    if (entry.kind !== "invite") continue
    const since = userSince.get(entry.email)
    assert.ok(since === undefined || since > entry.seq, `invite for ${entry.email} created after the user existed`)
  }
}

describe("fifty concurrent createInvites calls on one module", () => {
  test("overlapping emails: each email once, losers get Medusa's duplicate message, rows match the winners", { timeout: 60_000 }, async () => {
    await withModule(async (m) => {
      const batches = inviteBatches()
      const results = await Promise.allSettled(batches.map((batch) => m.service.createInvites(batch.map((email) => ({ email })))))

      const fulfilled = results.filter((result) => result.status === "fulfilled").length
      const rejected = results.length - fulfilled
      assert.ok(fulfilled >= 1, "at least one call wins")
      assert.ok(rejected >= 1, "the batches overlap, so some calls lose")

      assertNoDuplicateEmails(m.file, "invite")
      const fulfilledRows = assertFulfilledInvites(m, batches, results)
      assert.equal(count(m.file), fulfilledRows, "rows = sum of the fulfilled batch sizes")
      assert.equal(inviteCalls(m).length, fulfilled, "one emit per fulfilled call")

      const stored = new Set(rows<{ email: string }>(m.file, 'select email from "invite"').map((row) => row.email))
      for (const [k, result] of results.entries()) {
        if (result.status !== "rejected") continue
        const err = result.reason
        assertCleanRejection(err)
        const email = duplicateInviteEmail(err.message, batches[k])
        assert.ok(email, `call ${k}: "${err.message}" is "Invite with email: <one of ${batches[k].join(", ")}>, already exists."`)
        assert.ok(stored.has(email), `call ${k}: ${email} is held by a winning invite`)
        if (err.index !== undefined) assert.equal(err.index, batches[k].indexOf(email), "index names the failing item")
        // All-or-nothing: an email only this losing call asked for is not stored.
      }
      const wanted = new Set(results.flatMap((result, k) => (result.status === "fulfilled" ? batches[k] : [])))
      assert.deepEqual([...stored].sort(), [...wanted].sort(), "exactly the winners' emails are stored")
    })
  })

  test("the same with 10 concurrent createUsers calls on overlapping emails", { timeout: 60_000 }, async () => {
    await withModule(async (m) => {
      await mixedStorm(m, false)
    })
  })

  // Each call opens its own transaction at that level; a conflict must still end as one of
  // Medusa's duplicate messages, never as the database's serialization failure.
  test("the same with every call at isolationLevel SERIALIZABLE", { timeout: 60_000 }, async () => {
    await withModule(async (m) => {
      await mixedStorm(m, false, { isolationLevel: "SERIALIZABLE" })
    })
  })

  test(
    "SQLite: in commit order (insert log), no invite was created for an email a user already had",
    {
      timeout: 60_000,
      skip:
        BACKEND !== "sqlite" &&
        "SQLite only: the log uses SQLite triggers, and SQLite's single writer makes insert order commit order; PostgreSQL commits calls concurrently (see the PostgreSQL counterpart)",
    },
    async () => {
      await withModule(async (m) => {
        await mixedStorm(m, true)
      })
    },
  )

  test(
    "PostgreSQL: an invite for the email of a user still uncommitted in an open transaction waits for it, then is refused (no race)",
    {
      skip:
        BACKEND !== "postgres" &&
        "PostgreSQL only: on SQLite the invite call waits for the open transaction through the write lock (transactions.test.ts)",
    },
    async () => {
      await withModule(async (m) => {
        // The module takes advisory locks on the emails of both calls, so the invite's user
        // check runs only after the transaction that creates the user has ended.
        const tx = await m.service.begin()
        const [user] = await m.service.createUsers([{ email: "pending-user@example.com" }], { transactionManager: tx })
        let settled = false
        const call = rejection(m.service.createInvites({ email: "pending-user@example.com" })).finally(() => {
          settled = true
        })
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.equal(settled, false, "the invite call waits for the open transaction")
        await tx.commit()
        const error = await call
        assert.ok(MedusaError.isMedusaError(error), `a MedusaError, got ${error?.stack ?? error}`)
        assert.equal(error.type, "invalid_data")
        assert.equal(error.message, "User account for following email(s) already exist: pending-user@example.com")
        assert.deepEqual(rows(m.file, `select id, email from "user"`), [{ id: user.id, email: "pending-user@example.com" }])
        assert.equal(count(m.file), 0)
        // A rolled-back user does not block: the waiting call then goes through.
        const tx2 = await m.service.begin()
        await m.service.createUsers([{ email: "rolled-back@example.com" }], { transactionManager: tx2 })
        const invited = m.service.createInvites({ email: "rolled-back@example.com" })
        await new Promise((resolve) => setTimeout(resolve, 100))
        await tx2.rollback()
        assert.equal((await invited).email, "rolled-back@example.com")
        assert.equal(count(m.file), 1)
      })
    },
  )

  test("the module keeps working after the storm: a fresh email invites, a taken one is refused", async () => {
    await withModule(async (m) => {
      await Promise.allSettled(inviteBatches().map((batch) => m.service.createInvites(batch.map((email) => ({ email })))))
      const taken = rows<{ email: string }>(m.file, 'select email from "invite" limit 1')[0].email
      const before = count(m.file)
      const invite = await m.service.createInvites({ email: "after@example.com" })
      assert.equal(invite.email, "after@example.com")
      await assert.rejects(m.service.createInvites({ email: taken }), { type: "invalid_data", message: `Invite with email: ${taken}, already exists.` })
      assert.equal(count(m.file), before + 1)
    })
  })
})
