// The outbox (docs/behaviour.md, "Events that survive a crash"): a call's events are stored
// in its own transaction; delivery right after the call is unchanged; what was not delivered
// (an emit that failed, a process that died) is delivered again by flushEvents(), by a module
// opening the store, and by retries. On both backends.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { UserModuleService } from ".."
import {
  SECRET, RecordingBus, newModule, rows, tableCounts, rejection, expectedMessages, assertEmits, assertMedusaError, normalize,
} from "./helpers"

const OUTBOX = "medusa_invites_outbox"

/** The outbox rows: id order, 1 when marked delivered. */
function outboxRows(target: string): { id: number; delivered: number }[] {
  return rows(target, `select id, case when delivered_at is null then 0 else 1 end as delivered from ${OUTBOX} order by id`)
}

/** The messages of one createInvites call, as `assertEmits` compares them. */
const created = (ids: string[], eventGroupId?: string) => expectedMessages(ids, eventGroupId).map(normalize)

/** A bus whose emit fails while `down` is set. */
class FlakyBus extends RecordingBus {
  down = true
  async emit(messages: any, options?: unknown): Promise<void> {
    if (this.down) throw new Error("event bus is down")
    return super.emit(messages, options)
  }
}

describe("outbox: delivery when nothing fails", () => {
  test("one row per call, written with the call; emits exactly as before; marked delivered by close()", async () => {
    const m = newModule()
    try {
      const batch = await m.service.createInvites([{ email: "o1@example.com" }, { email: "o2@example.com" }], { eventGroupId: "g" })
      const one = await m.service.createInvites({ email: "o3@example.com" })
      assertEmits(m.bus, [created(batch.map((invite) => invite.id), "g"), created([one.id])])
      assert.equal(tableCounts(m.file, [OUTBOX])[OUTBOX], 2, "one outbox row per call, not per invite")
    } finally {
      await m.close()
    }
    assert.deepEqual(outboxRows(m.file).map((row) => row.delivered), [1, 1])
  })

  test("marks are written within about a second, without a call", async () => {
    const m = newModule()
    try {
      await m.service.createInvites({ email: "mark@example.com" })
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      assert.deepEqual(outboxRows(m.file).map((row) => row.delivered), [1])
      assert.deepEqual(await m.service.listPendingEvents(), [])
    } finally {
      await m.close()
    }
  })

  test("a call that announces nothing writes no row (a read, a restore, a refused batch)", async () => {
    const m = newModule()
    try {
      const invite = await m.service.createInvites({ email: "quiet@example.com" })
      await m.service.listInvites()
      await m.service.restoreInvites([invite.id])
      await rejection(m.service.createInvites({ email: "quiet@example.com" }))
      assert.equal(tableCounts(m.file, [OUTBOX])[OUTBOX], 1)
    } finally {
      await m.close()
    }
  })

  test('eventDelivery: "direct" and a module without an event bus write no outbox rows', async () => {
    const direct = newModule({ eventDelivery: "direct" })
    const silent = new UserModuleService({ jwt_secret: SECRET, database: direct.database })
    try {
      const invite = await direct.service.createInvites({ email: "direct@example.com" })
      assertEmits(direct.bus, [created([invite.id])])
      await silent.createInvites({ email: "silent@example.com" })
      assert.equal(tableCounts(direct.file, [OUTBOX])[OUTBOX], 0)
      assert.equal(await direct.service.flushEvents(), 0)
      assert.deepEqual(await direct.service.listPendingEvents(), [])
    } finally {
      await silent.close()
      await direct.close()
    }
  })

  test("a bad eventDelivery option is refused", () => {
    assert.throws(
      () => new UserModuleService({ jwt_secret: SECRET, eventDelivery: "later" as any }),
      (error: any) => {
        assertMedusaError(error, "invalid_argument", 'The eventDelivery option must be "outbox" or "direct"')
        return true
      },
    )
  })
})

describe("outbox: redelivery", () => {
  test("a failed emit rejects the call as before; the events stay pending; flushEvents delivers them once", async () => {
    const bus = new FlakyBus()
    const m = newModule({ eventBus: bus })
    try {
      const error = await rejection(m.service.createInvites([{ email: "f1@example.com" }, { email: "f2@example.com" }], { eventGroupId: "g" }))
      assert.equal(error.message, "event bus is down")
      const ids = rows<{ id: string }>(m.file, `select id from invite order by created_at, id`).map((row) => row.id)
      assert.equal(ids.length, 2, "the invites stay committed")
      const pending = await m.service.listPendingEvents()
      assert.equal(pending.length, 1)
      assert.ok(pending[0].created_at instanceof Date)
      assert.deepEqual(pending[0].messages, expectedMessages(ids, "g"))
      bus.down = false
      assert.equal(await m.service.flushEvents(), 1)
      assertEmits(bus, [created(ids, "g")])
      assert.deepEqual(await m.service.listPendingEvents(), [])
      assert.equal(await m.service.flushEvents(), 0, "delivered once")
      assert.equal(bus.calls.length, 1)
    } finally {
      await m.close()
    }
  })

  test("after a failed emit the module retries by itself, with backoff", async () => {
    const bus = new FlakyBus()
    const m = newModule({ eventBus: bus })
    try {
      const invite = await rejection(m.service.createInvites({ email: "retry@example.com" }))
      assert.equal(invite.message, "event bus is down")
      bus.down = false
      // The first retry comes after 1 s.
      for (let waited = 0; bus.calls.length === 0 && waited < 5_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(bus.calls.length, 1)
      assert.deepEqual(bus.names, [ "user.invite.created", "user.user.invite.token_generated"])
    } finally {
      await m.close()
    }
  })

  test("another module on the same store delivers what a dead one left; two flushing modules deliver it once between them", async () => {
    const dead = newModule({ eventBus: new FlakyBus() })
    await rejection(dead.service.createInvites({ email: "left@example.com" }))
    await rejection(dead.service.createUsers({ email: "user-left@example.com" }))
    await dead.close()
    const a = new RecordingBus()
    const b = new RecordingBus()
    const first = new UserModuleService({ jwt_secret: SECRET, database: dead.database, eventBus: a })
    const second = new UserModuleService({ jwt_secret: SECRET, database: dead.database, eventBus: b })
    try {
      const [one, two] = await Promise.all([first.flushEvents(), second.flushEvents()])
      assert.equal(one + two, 2, "two calls pending, each delivered once")
      assert.deepEqual([...a.names, ...b.names].sort(), ["user.invite.created", "user.user.created", "user.user.invite.token_generated"])
      assert.deepEqual(await first.listPendingEvents(), [])
    } finally {
      await first.close()
      await second.close()
    }
  })

  test("a module opening the store delivers rows left pending for more than 5 seconds", { timeout: 20_000 }, async () => {
    const dead = newModule({ eventBus: new FlakyBus() })
    const left = await rejection(dead.service.createInvites({ email: "old@example.com" }))
    assert.equal(left.message, "event bus is down")
    await dead.close()
    await new Promise((resolve) => setTimeout(resolve, 5_500))
    const bus = new RecordingBus()
    const opener = new UserModuleService({ jwt_secret: SECRET, database: dead.database, eventBus: bus })
    try {
      await opener.createInvites({ email: "new@example.com" })
      for (let waited = 0; bus.calls.length < 2 && waited < 5_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
      const emails = rows<{ id: string; email: string }>(dead.file, "select id, email from invite")
      const old = emails.find((row) => row.email === "old@example.com")!
      assert.equal(bus.calls.length, 2)
      const redelivered = bus.calls.find((call) => call.messages.some((message: any) => message.data.id === old.id))
      assert.deepEqual(redelivered?.messages.map(normalize), created([old.id]))
    } finally {
      await opener.close()
    }
  })
})

describe("outbox: transactions and retention", () => {
  test("in a caller's transaction the row is written in it: a rollback drops it, a commit delivers after commit", async () => {
    const m = newModule()
    try {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "rolled@example.com" }, { transactionManager: tx })
      await tx.rollback()
      assert.equal(tableCounts(m.file, [OUTBOX])[OUTBOX], 0)
      const invite = await m.service.transaction(async (tx) => {
        const invite = await m.service.createInvites({ email: "kept@example.com" }, { transactionManager: tx })
        assert.equal(m.bus.calls.length, 0, "nothing before commit")
        return invite
      })
      assertEmits(m.bus, [created([invite.id])])
      assert.equal(tableCounts(m.file, [OUTBOX])[OUTBOX], 1)
    } finally {
      await m.close()
    }
  })

  test("delivered rows older than eventRetentionSeconds are deleted when marks are written", async () => {
    const m = newModule({ eventRetentionSeconds: 0 })
    await m.service.createInvites({ email: "r1@example.com" })
    await m.close()
    assert.deepEqual(outboxRows(m.file).map((row) => row.delivered), [1])
    const again = new UserModuleService({ jwt_secret: SECRET, database: m.database, eventBus: new RecordingBus(), eventRetentionSeconds: 0 })
    await again.createInvites({ email: "r2@example.com" })
    await again.close()
    assert.equal(outboxRows(m.file).length, 1, "the earlier delivered row is gone, the new one stays until the next marks")
  })
})
