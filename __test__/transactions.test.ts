// Module transactions and sharedContext (docs/behaviour.md): handles issued by
// begin()/transaction(), commit and rollback, ended and foreign handles, isolationLevel,
// enableNestedTransactions (savepoints, or a poisoned transaction without the flag), held
// events and aggregators, the type rules of every context field, a context that is never
// written, and plain calls beside an open transaction: on SQLite they wait for it (one writer);
// on PostgreSQL they run beside it and wait only where they collide with its uncommitted rows.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError, type Context, type EventMessage, type InviteDTO, type InviteTransaction } from ".."
import { expectedMessages, TOKEN_GENERATED, CREATED, BACKEND, withModule, newModule, rows, count, rejection, RecordingBus, MedusaLikeAggregator } from "./helpers"


const COMMITTED = "The transaction has already been committed"
const ROLLED_BACK = "The transaction has already been rolled back"
const FOREIGN =
  "sharedContext.transactionManager was not issued by this medusa-invites module; use service.transaction() or service.begin()"
const INVALID_ISOLATION =
  'Invalid isolationLevel, supported isolation levels are: ["read uncommitted","read committed","repeatable read","serializable"]'
// src/messages.rs TRANSACTION_FAILED
const TRANSACTION_FAILED =
  "The transaction was rolled back: a call inside it failed. Pass enableNestedTransactions: true to let a call fail without ending the transaction"
// src/messages.rs CLOSED
const CLOSED = "The invite module is closed; create a new UserModuleService"

const DTO_KEYS = ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at", "roles"]

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Emails of the stored invites, sorted, read by an independent reader (sqlite3 or psql). */
function storedEmails(file: string): string[] {
  return rows<{ email: string }>(file, `select email from "invite" order by email`).map((row) => row.email)
}

function storedIds(file: string): string[] {
  return rows<{ id: string }>(file, `select id from "invite" order by id`).map((row) => row.id)
}

/** A MedusaError of `type` with exactly `message`. */
function assertMedusaError(error: any, type: string, message: string): void {
  assert.equal(error instanceof Error, true, `expected an Error, got ${String(error)}`)
  assert.equal(MedusaError.isMedusaError(error), true, `expected a MedusaError, got ${String(error?.stack ?? error)}`)
  assert.equal(error.message, message)
  assert.equal(error.type, type)
}


/** One emit per call, in call order, each `(messages of that call, { internal: true })`. */
function assertEmits(bus: RecordingBus, perCall: InviteDTO[][], eventGroupIds: (string | undefined)[] = []): void {
  assert.equal(bus.calls.length, perCall.length, "one emit per successful call")
  perCall.forEach((dtos, i) => {
    const call = bus.calls[i]
    assert.equal(call.argCount, 2)
    assert.deepEqual(call.options, { internal: true })
    assert.deepEqual(
      call.messages,
      expectedMessages(
        dtos.map((dto) => dto.id),
        eventGroupIds[i],
      ),
    )
  })
}

function assertFullDto(dto: InviteDTO, email: string): void {
  assert.deepEqual(Object.keys(dto), DTO_KEYS)
  assert.equal(dto.email, email)
  assert.match(dto.id, /^invite_[0-9A-HJKMNP-TV-Z]{26}$/)
  assert.equal(typeof dto.token, "string")
  assert.equal(dto.token.split(".").length, 3)
  assert.ok(dto.expires_at instanceof Date)
  assert.ok(dto.created_at instanceof Date)
  assert.ok(dto.updated_at instanceof Date)
  assert.equal(dto.accepted, false)
  assert.equal(dto.deleted_at, null)
}

/** A bus that also records how many invites an independent reader sees at each emit. */
class CommitCheckingBus extends RecordingBus {
  file = ""
  visibleAtEmit: number[] = []
  override async emit(messages: EventMessage[], options?: unknown): Promise<void> {
    this.visibleAtEmit.push(count(this.file))
    // eslint-disable-next-line prefer-rest-params
    this.calls.push({ messages, options, argCount: arguments.length })
  }
}

/** A frozen aggregator wrapper whose methods delegate to a MedusaLikeAggregator (they never write the wrapper). */
function frozenWrapper(inner: MedusaLikeAggregator) {
  return Object.freeze({
    save: (messages: any) => inner.save(messages),
    getMessages: () => inner.getMessages(),
    clearMessages: () => inner.clearMessages(),
  })
}

function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value)) return value
  seen.add(value)
  for (const key of Reflect.ownKeys(value as object)) {
    const descriptor = Object.getOwnPropertyDescriptor(value as object, key)
    if (descriptor && "value" in descriptor) deepFreeze(descriptor.value, seen)
  }
  return Object.freeze(value)
}

/** A Proxy recording every write trap (and counting reads, so we know it was used). */
function recordingProxy<T extends object>(target: T, writes: string[], reads: { n: number }, label: string): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      reads.n++
      return Reflect.get(t, key, receiver)
    },
    set(t, key, value, receiver) {
      writes.push(`${label}: set ${String(key)}`)
      return Reflect.set(t, key, value, receiver)
    },
    defineProperty(t, key, descriptor) {
      writes.push(`${label}: defineProperty ${String(key)}`)
      return Reflect.defineProperty(t, key, descriptor)
    },
    deleteProperty(t, key) {
      writes.push(`${label}: deleteProperty ${String(key)}`)
      return Reflect.deleteProperty(t, key)
    },
    setPrototypeOf(t, proto) {
      writes.push(`${label}: setPrototypeOf`)
      return Reflect.setPrototypeOf(t, proto)
    },
    preventExtensions(t) {
      writes.push(`${label}: preventExtensions`)
      return Reflect.preventExtensions(t)
    },
  })
}

/** A promise's outcome without letting it reject unhandled. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: any }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  )
}

describe("commit", () => {
  test("begin/commit: invisible to an independent reader before commit, all rows at once after; events after commit in call order", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      assert.equal(tx.state, "open")
      const first = await m.service.createInvites({ email: "a@example.com" }, { transactionManager: tx })
      assertFullDto(first, "a@example.com")
      const second = await m.service.createInvites([{ email: "b@example.com" }, { email: "c@example.com" }], { transactionManager: tx })
      assertFullDto(second[0], "b@example.com")
      assertFullDto(second[1], "c@example.com")
      const third = await m.service.createInvites([{ email: "d@example.com" }], { transactionManager: tx })
      assert.equal(count(m.file), 0, "an independent reader sees nothing before commit")
      assert.equal(m.bus.calls.length, 0, "no event before commit")
      await tx.commit()
      assert.equal(tx.state, "committed")
      assert.deepEqual(storedEmails(m.file), ["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
      assert.deepEqual(storedIds(m.file), [first.id, second[0].id, second[1].id, third[0].id].sort())
      // The stored tokens are the returned ones.
      const tokens = rows<{ id: string; token: string }>(m.file, `select id, token from "invite"`)
      for (const dto of [first, ...second, ...third]) {
        assert.equal(tokens.find((row) => row.id === dto.id)?.token, dto.token)
      }
      assertEmits(m.bus, [[first], second, third])
    })
  })

  test("events are delivered only after the commit: at every emit an independent reader already sees all rows", async () => {
    const bus = new CommitCheckingBus()
    await withModule(
      async (m) => {
        bus.file = m.file
        const tx = await m.service.begin()
        await m.service.createInvites({ email: "e1@example.com" }, { transactionManager: tx })
        await m.service.createInvites([{ email: "e2@example.com" }, { email: "e3@example.com" }], { transactionManager: tx })
        assert.deepEqual(bus.visibleAtEmit, [])
        await tx.commit()
        assert.deepEqual(bus.visibleAtEmit, [3, 3])
        assert.deepEqual(bus.names, [CREATED, TOKEN_GENERATED, CREATED, CREATED, TOKEN_GENERATED])
      },
      { eventBus: bus },
    )
  })

  test("transaction(fn): commits when fn resolves and resolves with fn's value", async () => {
    await withModule(async (m) => {
      let handle: InviteTransaction | undefined
      const dtos: InviteDTO[][] = []
      const result = await m.service.transaction(async (tx) => {
        handle = tx
        assert.equal(tx.state, "open")
        dtos.push([await m.service.createInvites({ email: "t1@example.com" }, { transactionManager: tx })])
        dtos.push(await m.service.createInvites([{ email: "t2@example.com" }, { email: "t3@example.com" }], { transactionManager: tx }))
        assert.equal(count(m.file), 0)
        assert.equal(m.bus.calls.length, 0)
        return { answer: 42 }
      })
      assert.deepEqual(result, { answer: 42 })
      assert.equal(handle?.state, "committed")
      assert.deepEqual(storedEmails(m.file), ["t1@example.com", "t2@example.com", "t3@example.com"])
      assertEmits(m.bus, dtos)
    })
  })

  test("calls launched concurrently with one handle: one emit per call, in call order", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx }
      const results = await Promise.all([
        m.service.createInvites([{ email: "p1@example.com" }, { email: "p2@example.com" }], ctx),
        m.service.createInvites([{ email: "p3@example.com" }], ctx),
        m.service.createInvites([{ email: "p4@example.com" }, { email: "p5@example.com" }, { email: "p6@example.com" }], ctx),
      ])
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
      await tx.commit()
      assert.equal(count(m.file), 6)
      assertEmits(m.bus, results)
    })
  })

  test("an empty batch inside a transaction writes and emits nothing; the other calls are unaffected", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const first = await m.service.createInvites([{ email: "x@example.com" }], { transactionManager: tx })
      assert.deepEqual(await m.service.createInvites([], { transactionManager: tx }), [])
      const last = await m.service.createInvites([{ email: "y@example.com" }], { transactionManager: tx })
      await tx.commit()
      assert.deepEqual(storedEmails(m.file), ["x@example.com", "y@example.com"])
      assertEmits(m.bus, [first, last])
    })
  })

  test("an emit that rejects at commit: the rows stay committed, commit rejects with that error, later calls' events are still delivered", async () => {
    const failure = new Error("bus down")
    const bus = new RecordingBus()
    let emits = 0
    const failingOnce = {
      async emit(messages: EventMessage[], options?: unknown) {
        emits++
        if (emits === 1) throw failure
        await bus.emit(messages, options)
      },
    }
    await withModule(
      async (m) => {
        const tx = await m.service.begin()
        await m.service.createInvites({ email: "f1@example.com" }, { transactionManager: tx })
        const second = await m.service.createInvites([{ email: "f2@example.com" }], { transactionManager: tx })
        const error = await rejection(tx.commit())
        assert.equal(error, failure)
        assert.equal(tx.state, "committed")
        assert.deepEqual(storedEmails(m.file), ["f1@example.com", "f2@example.com"])
        assert.equal(emits, 2)
        assertEmits(bus, [second])
      },
      { eventBus: failingOnce },
    )
  })
})

describe("rollback", () => {
  test("rollback(): nothing written, nothing emitted; the write lock is released", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "r1@example.com" }, { transactionManager: tx })
      await m.service.createInvites([{ email: "r2@example.com" }, { email: "r3@example.com" }], { transactionManager: tx })
      await tx.rollback()
      assert.equal(tx.state, "rolled back")
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
      // A plain call now runs (no lock left behind) and the rolled-back email is free.
      const after = await m.service.createInvites({ email: "r1@example.com" })
      assert.deepEqual(storedEmails(m.file), ["r1@example.com"])
      assertEmits(m.bus, [[after]])
    })
  })

  test("transaction(fn) whose fn throws: rejects with that same error, nothing written, nothing emitted", async () => {
    await withModule(async (m) => {
      const thrown = new Error("the caller's own failure")
      let handle: InviteTransaction | undefined
      const error = await rejection(
        m.service.transaction(async (tx) => {
          handle = tx
          await m.service.createInvites({ email: "thrown1@example.com" }, { transactionManager: tx })
          await m.service.createInvites([{ email: "thrown2@example.com" }], { transactionManager: tx })
          throw thrown
        }),
      )
      assert.equal(error, thrown, "the very same error object")
      assert.equal(handle?.state, "rolled back")
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
      await m.service.createInvites({ email: "thrown1@example.com" })
      assert.equal(count(m.file), 1)
    })
  })

  test("transaction(fn) whose fn rejects with a non-Error value: rejects with that same value", async () => {
    await withModule(async (m) => {
      const reason = { why: "not an Error" }
      const error = await rejection(
        m.service.transaction(async (tx) => {
          await m.service.createInvites({ email: "v@example.com" }, { transactionManager: tx })
          throw reason
        }),
      )
      assert.equal(error, reason)
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

describe("ended handles", () => {
  test("after commit: createInvites, commit and rollback reject with unexpected_state 'already been committed'", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const dto = await m.service.createInvites({ email: "c1@example.com" }, { transactionManager: tx })
      await tx.commit()
      const late = await rejection(m.service.createInvites({ email: "late@example.com" }, { transactionManager: tx }))
      assertMedusaError(late, "unexpected_state", COMMITTED)
      assertMedusaError(await rejection(tx.commit()), "unexpected_state", COMMITTED)
      assertMedusaError(await rejection(tx.rollback()), "unexpected_state", COMMITTED)
      assert.equal(tx.state, "committed")
      assert.deepEqual(storedEmails(m.file), ["c1@example.com"])
      assertEmits(m.bus, [[dto]])
    })
  })

  test("after rollback: createInvites, commit and rollback reject with unexpected_state 'already been rolled back'", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "rb@example.com" }, { transactionManager: tx })
      await tx.rollback()
      const late = await rejection(m.service.createInvites({ email: "late@example.com" }, { transactionManager: tx }))
      assertMedusaError(late, "unexpected_state", ROLLED_BACK)
      assertMedusaError(await rejection(tx.commit()), "unexpected_state", ROLLED_BACK)
      assertMedusaError(await rejection(tx.rollback()), "unexpected_state", ROLLED_BACK)
      assert.equal(tx.state, "rolled back")
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a handle escaping transaction(): committed after fn resolved, rolled back after fn threw", async () => {
    await withModule(async (m) => {
      let committed: InviteTransaction | undefined
      await m.service.transaction(async (tx) => {
        committed = tx
        await m.service.createInvites({ email: "kept@example.com" }, { transactionManager: tx })
      })
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "esc1@example.com" }, { transactionManager: committed })),
        "unexpected_state",
        COMMITTED,
      )
      let rolledBack: InviteTransaction | undefined
      await rejection(
        m.service.transaction(async (tx) => {
          rolledBack = tx
          throw new Error("no")
        }),
      )
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "esc2@example.com" }, { transactionManager: rolledBack })),
        "unexpected_state",
        ROLLED_BACK,
      )
      assert.deepEqual(storedEmails(m.file), ["kept@example.com"])
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("while commit() or rollback() is in progress the handle no longer accepts calls", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const dto = await m.service.createInvites({ email: "during@example.com" }, { transactionManager: tx })
      const committing = tx.commit()
      assert.equal(tx.state, "committing")
      const late = await rejection(m.service.createInvites({ email: "late1@example.com" }, { transactionManager: tx }))
      assertMedusaError(late, "unexpected_state", COMMITTED)
      await committing
      assert.deepEqual(storedEmails(m.file), ["during@example.com"])
      assertEmits(m.bus, [[dto]])

      const tx2 = await m.service.begin()
      await m.service.createInvites({ email: "during2@example.com" }, { transactionManager: tx2 })
      const rollingBack = tx2.rollback()
      assert.equal(tx2.state, "rolling back")
      const late2 = await rejection(m.service.createInvites({ email: "late2@example.com" }, { transactionManager: tx2 }))
      assertMedusaError(late2, "unexpected_state", ROLLED_BACK)
      await rollingBack
      assert.equal(tx2.state, "rolled back")
      assert.deepEqual(storedEmails(m.file), ["during@example.com"])
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("commit() while a call with the handle is still running: the call is either fully in the commit (row and events) or rejected with nothing written", async () => {
    await withModule(async (m) => {
      for (let round = 0; round < 20; round++) {
        const email = `race${round}@example.com`
        const before = m.bus.calls.length
        const tx = await m.service.begin()
        const call = settle(m.service.createInvites({ email }, { transactionManager: tx }))
        await tx.commit()
        const outcome = await call
        const stored = storedEmails(m.file).includes(email)
        if (outcome.ok) {
          assert.equal(stored, true, `round ${round}: the call resolved, so its row must be committed`)
          assert.equal(m.bus.calls.length, before + 1, `round ${round}: the call resolved, so its events must be delivered`)
          assert.deepEqual(m.bus.calls[before].messages, expectedMessages([outcome.value.id]))
        } else {
          assert.equal(outcome.error.type, "unexpected_state", String(outcome.error?.message))
          assert.equal(stored, false, `round ${round}: the call was rejected, so nothing of it may be committed`)
          assert.equal(m.bus.calls.length, before)
        }
      }
    })
  })

  test("close() rolls back an open transaction: nothing written, no event; the handle then rejects with unexpected_state", async () => {
    const m = newModule()
    try {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "closing@example.com" }, { transactionManager: tx })
      await m.service.close()
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
      const late = await rejection(m.service.createInvites({ email: "after-close@example.com" }, { transactionManager: tx }))
      assert.equal(late.type, "unexpected_state")
      // The handle was ended by a rollback (or its module is closed): say which, not "committed or rolled back".
      assert.ok([ROLLED_BACK, CLOSED].includes(late.message), `unexpected message: ${late.message}`)
      const commit = await rejection(tx.commit())
      assert.equal(commit.type, "unexpected_state")
      assert.ok([ROLLED_BACK, CLOSED].includes(commit.message), `unexpected message: ${commit.message}`)
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    } finally {
      await m.close()
    }
  })
})

describe("a transactionManager this module did not issue", () => {
  const foreign: [string, () => unknown][] = [
    ["a plain object", () => ({})],
    ["a MikroORM-like manager", () => ({ getConnection() {}, transactional() {}, fork() {} })],
    ["a string", () => "tx"],
    ["a number", () => 1],
    ["a knex-like transaction", () => ({ commit() {}, rollback() {}, isCompleted: () => false })],
  ]
  for (const [name, make] of foreign) {
    test(`${name} → invalid_argument, nothing written, nothing emitted`, async () => {
      await withModule(async (m) => {
        const seed = await m.service.createInvites({ email: "seed@example.com" })
        const error = await rejection(m.service.createInvites({ email: "foreign@example.com" }, { transactionManager: make() }))
        assertMedusaError(error, "invalid_argument", FOREIGN)
        assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
        assertEmits(m.bus, [[seed]])
      })
    })
  }

  test("a handle issued by ANOTHER UserModuleService → invalid_argument; neither database is written; the other handle stays usable", async () => {
    await withModule(async (m) => {
      const other = newModule()
      try {
        const seed = await m.service.createInvites({ email: "seed@example.com" })
        const otherTx = await other.service.begin()
        const error = await rejection(m.service.createInvites({ email: "cross@example.com" }, { transactionManager: otherTx }))
        assertMedusaError(error, "invalid_argument", FOREIGN)
        assert.equal(otherTx.state, "open")
        assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
        assert.equal(count(other.file), 0)
        // The other module's own handle still works there.
        const mine = await other.service.createInvites({ email: "cross@example.com" }, { transactionManager: otherTx })
        await otherTx.commit()
        assert.deepEqual(storedEmails(other.file), ["cross@example.com"])
        assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
        assertEmits(m.bus, [[seed]])
        assertEmits(other.bus, [[mine]])
        // And this module's handle is foreign to the other module.
        const myTx = await m.service.begin()
        const reverse = await rejection(other.service.createInvites({ email: "rev@example.com" }, { transactionManager: myTx }))
        assertMedusaError(reverse, "invalid_argument", FOREIGN)
        await myTx.rollback()
        assert.deepEqual(storedEmails(other.file), ["cross@example.com"])
      } finally {
        await other.close()
      }
    })
  })

  test("a foreign manager used inside an open transaction does not join it or poison it", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const first = await m.service.createInvites({ email: "in@example.com" }, { transactionManager: tx })
      const error = await rejection(
        m.service.createInvites({ email: "out@example.com" }, { transactionManager: { getConnection() {}, transactional() {}, fork() {} } }),
      )
      assertMedusaError(error, "invalid_argument", FOREIGN)
      await tx.commit()
      assert.deepEqual(storedEmails(m.file), ["in@example.com"])
      assertEmits(m.bus, [[first]])
    })
  })
})

describe("isolationLevel", () => {
  const LEVELS = ["READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]
  const mixed = (level: string) =>
    level
      .split("")
      .map((ch, i) => (i % 2 === 0 ? ch.toLowerCase() : ch.toUpperCase()))
      .join("")
  const SPELLINGS = LEVELS.flatMap((level) => [level, level.toLowerCase(), mixed(level)])

  test("mixed-case helper really mixes case", () => {
    assert.equal(mixed("READ COMMITTED"), "rEaD CoMmItTeD")
    assert.equal(SPELLINGS.length, 12)
  })

  test("plain calls accept all four levels in upper, lower and mixed case", async () => {
    await withModule(async (m) => {
      const created: InviteDTO[][] = []
      for (const [i, isolationLevel] of SPELLINGS.entries()) {
        created.push(await m.service.createInvites([{ email: `iso${i}@example.com` }], { isolationLevel }))
      }
      assert.equal(count(m.file), SPELLINGS.length)
      assertEmits(m.bus, created)
    })
  })

  test("begin({ isolationLevel }) and transaction(fn, { isolationLevel }) accept all four levels in any case", async () => {
    await withModule(async (m) => {
      const created: InviteDTO[][] = []
      for (const [i, isolationLevel] of SPELLINGS.entries()) {
        const tx = await m.service.begin({ isolationLevel })
        created.push(await m.service.createInvites([{ email: `b${i}@example.com` }], { transactionManager: tx }))
        await tx.commit()
        created.push(
          await m.service.transaction(
            (tx2) => m.service.createInvites([{ email: `t${i}@example.com` }], { transactionManager: tx2 }),
            { isolationLevel },
          ),
        )
      }
      assert.equal(count(m.file), SPELLINGS.length * 2)
      assertEmits(m.bus, created)
    })
  })

  for (const level of ["snapshot", "SNAPSHOT", "read-committed", "READ_COMMITTED", "serializable ", "chaos"]) {
    test(`unknown level ${JSON.stringify(level)} on a plain call → invalid_argument with the exact message, nothing written`, async () => {
      await withModule(async (m) => {
        const seed = await m.service.createInvites({ email: "seed@example.com" })
        const error = await rejection(m.service.createInvites({ email: "x@example.com" }, { isolationLevel: level }))
        assertMedusaError(error, "invalid_argument", INVALID_ISOLATION)
        assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
        assertEmits(m.bus, [[seed]])
      })
    })
  }

  test("unknown level in begin() and transaction() → the same exact error; fn is not called; no lock is left held", async () => {
    await withModule(async (m) => {
      assertMedusaError(await rejection(m.service.begin({ isolationLevel: "snapshot" })), "invalid_argument", INVALID_ISOLATION)
      let called = false
      const error = await rejection(
        m.service.transaction(
          async () => {
            called = true
          },
          { isolationLevel: "Repeatable-Read" },
        ),
      )
      assertMedusaError(error, "invalid_argument", INVALID_ISOLATION)
      assert.equal(called, false)
      // Nothing holds the write lock: a plain call and a new transaction go through at once.
      const plain = await m.service.createInvites({ email: "free@example.com" })
      const tx = await m.service.begin()
      await tx.rollback()
      assert.deepEqual(storedEmails(m.file), ["free@example.com"])
      assertEmits(m.bus, [[plain]])
    })
  })

  test("a non-string level → invalid_argument naming the field (plain call and begin)", async () => {
    await withModule(async (m) => {
      const seed = await m.service.createInvites({ email: "seed@example.com" })
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "n@example.com" }, { isolationLevel: 3 as any })),
        "invalid_argument",
        "sharedContext.isolationLevel must be a string, 'number' found",
      )
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "n@example.com" }, { isolationLevel: { level: "serializable" } as any })),
        "invalid_argument",
        "sharedContext.isolationLevel must be a string, 'object' found",
      )
      const fromBegin = await rejection(m.service.begin({ isolationLevel: 3 as any }))
      assert.equal(fromBegin.type, "invalid_argument")
      assert.match(fromBegin.message, /isolationLevel/)
      assert.equal(MedusaError.isMedusaError(fromBegin), true)
      assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
      assertEmits(m.bus, [[seed]])
    })
  })

  test("with a transactionManager, a level in the call's context changes nothing: the call joins the caller's transaction", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const created: InviteDTO[][] = []
      for (const [i, isolationLevel] of ["READ UNCOMMITTED", "read committed", "Repeatable Read", "serializable"].entries()) {
        created.push(await m.service.createInvites([{ email: `j${i}@example.com` }], { transactionManager: tx, isolationLevel }))
        assert.equal(count(m.file), 0, `${isolationLevel}: still invisible before commit`)
      }
      assert.equal(m.bus.calls.length, 0)
      assert.equal(tx.state, "open")
      await tx.commit()
      assert.equal(count(m.file), 4)
      assertEmits(m.bus, created)
    })
  })

  test("with a transactionManager and a level, a rollback still undoes the call (it did not commit on its own)", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "lvl@example.com" }, { transactionManager: tx, isolationLevel: "SERIALIZABLE" })
      await tx.rollback()
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

describe("enableNestedTransactions", () => {
  test("with the flag: a failing call rejects normally, the transaction stays usable, commit writes the earlier and later valid calls only", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx, enableNestedTransactions: true }
      const first = await m.service.createInvites([{ email: "a@example.com" }], ctx)
      // A batch whose second item duplicates the first call: none of it may survive.
      const failed = await rejection(m.service.createInvites([{ email: "half@example.com" }, { email: "a@example.com" }], ctx))
      assertMedusaError(failed, "invalid_data", "Invite with email: a@example.com, already exists.")
      assert.equal(failed.index, 1)
      assert.equal(tx.state, "open")
      const later = await m.service.createInvites([{ email: "c@example.com" }], ctx)
      // A second failure is just as harmless.
      const failedAgain = await rejection(m.service.createInvites({ email: "c@example.com" }, ctx))
      assertMedusaError(failedAgain, "invalid_data", "Invite with email: c@example.com, already exists.")
      const last = await m.service.createInvites([{ email: "d@example.com" }], ctx)
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
      await tx.commit()
      assert.equal(tx.state, "committed")
      assert.deepEqual(storedEmails(m.file), ["a@example.com", "c@example.com", "d@example.com"])
      assertEmits(m.bus, [first, later, last])
    })
  })

  test("with the flag, a caller-id conflict also undoes only its own call", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx, enableNestedTransactions: true }
      const first = await m.service.createInvites([{ id: "invite_fixed", email: "fixed@example.com" }], ctx)
      const failed = await rejection(
        m.service.createInvites([{ email: "fresh@example.com" }, { id: "invite_fixed", email: "other@example.com" }], ctx),
      )
      assertMedusaError(failed, "invalid_data", "Invite with id: invite_fixed, already exists.")
      await tx.commit()
      assert.deepEqual(storedEmails(m.file), ["fixed@example.com"])
      assertEmits(m.bus, [first])
    })
  })

  test("with the flag inside transaction(fn): fn catches the failure and the rest commits", async () => {
    await withModule(async (m) => {
      const created: InviteDTO[][] = []
      await m.service.transaction(async (tx) => {
        const ctx = { transactionManager: tx, enableNestedTransactions: true }
        created.push(await m.service.createInvites([{ email: "k1@example.com" }], ctx))
        const error = await rejection(m.service.createInvites([{ email: "k1@example.com" }], ctx))
        assertMedusaError(error, "invalid_data", "Invite with email: k1@example.com, already exists.")
        created.push(await m.service.createInvites([{ email: "k2@example.com" }], ctx))
      })
      assert.deepEqual(storedEmails(m.file), ["k1@example.com", "k2@example.com"])
      assertEmits(m.bus, created)
    })
  })

  test("WITHOUT the flag: the failing call rejects normally, later calls and commit reject TRANSACTION_FAILED, nothing is written or emitted", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx }
      await m.service.createInvites([{ email: "a@example.com" }, { email: "b@example.com" }], ctx)
      const failed = await rejection(m.service.createInvites([{ email: "z@example.com" }, { email: "a@example.com" }], ctx))
      assertMedusaError(failed, "invalid_data", "Invite with email: a@example.com, already exists.")
      assert.equal(failed.index, 1)
      const later = await rejection(m.service.createInvites({ email: "c@example.com" }, ctx))
      assertMedusaError(later, "unexpected_state", TRANSACTION_FAILED)
      // Asking for a savepoint now is too late.
      const laterNested = await rejection(m.service.createInvites({ email: "c@example.com" }, { ...ctx, enableNestedTransactions: true }))
      assertMedusaError(laterNested, "unexpected_state", TRANSACTION_FAILED)
      const commit = await rejection(tx.commit())
      assertMedusaError(commit, "unexpected_state", TRANSACTION_FAILED)
      assert.equal(tx.state, "rolled back")
      assert.equal(count(m.file), 0, "not even the earlier valid call is written")
      assert.equal(m.bus.calls.length, 0)
      // The handle has ended.
      assertMedusaError(await rejection(m.service.createInvites({ email: "d@example.com" }, ctx)), "unexpected_state", ROLLED_BACK)
      assertMedusaError(await rejection(tx.commit()), "unexpected_state", ROLLED_BACK)
      // The write lock was released and the emails are free.
      const plain = await m.service.createInvites([{ email: "a@example.com" }])
      assert.deepEqual(storedEmails(m.file), ["a@example.com"])
      assertEmits(m.bus, [plain])
    })
  })

  test("WITHOUT the flag: a failing existing-user check poisons the transaction too", async () => {
    await withModule(async (m) => {
      await m.service.createUsers({ email: "user@example.com" })
      m.bus.calls.length = 0 // createUsers announced the user; only what follows counts
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "ok@example.com" }, { transactionManager: tx })
      const failed = await rejection(m.service.createInvites({ email: "user@example.com" }, { transactionManager: tx }))
      assertMedusaError(failed, "invalid_data", "User account for following email(s) already exist: user@example.com")
      assertMedusaError(await rejection(tx.commit()), "unexpected_state", TRANSACTION_FAILED)
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("WITHOUT the flag: rollback() of a poisoned transaction resolves and writes nothing", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "a@example.com" }, { transactionManager: tx })
      await rejection(m.service.createInvites({ email: "a@example.com" }, { transactionManager: tx }))
      await tx.rollback()
      assert.equal(tx.state, "rolled back")
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("WITHOUT the flag inside transaction(fn): fn swallowing the failure does not make it commit; transaction() rejects TRANSACTION_FAILED", async () => {
    await withModule(async (m) => {
      let handle: InviteTransaction | undefined
      const error = await rejection(
        m.service.transaction(async (tx) => {
          handle = tx
          await m.service.createInvites({ email: "s1@example.com" }, { transactionManager: tx })
          await rejection(m.service.createInvites({ email: "s1@example.com" }, { transactionManager: tx }))
          return "done"
        }),
      )
      assertMedusaError(error, "unexpected_state", TRANSACTION_FAILED)
      assert.equal(handle?.state, "rolled back")
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("errors found before any write (invalid input, bad context) do not poison the transaction", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx }
      const first = await m.service.createInvites([{ email: "first@example.com" }], ctx)
      assertMedusaError(await rejection(m.service.createInvites({ email: "" }, ctx)), "invalid_data", "Invalid email for invite: ''")
      assertMedusaError(
        await rejection(m.service.createInvites({} as any, ctx)),
        "invalid_data",
        "Value for Invite.email is required, 'undefined' found",
      )
      assertMedusaError(
        await rejection(m.service.createInvites(null as any, ctx)),
        "invalid_data",
        "createInvites expects an invite object or an array of invite objects",
      )
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "bad-ctx@example.com" }, { ...ctx, eventGroupId: 5 as any })),
        "invalid_argument",
        "sharedContext.eventGroupId must be a string, 'number' found",
      )
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "bad-ctx@example.com" }, { ...ctx, isolationLevel: "snapshot" })),
        "invalid_argument",
        INVALID_ISOLATION,
      )
      assertMedusaError(
        await rejection(m.service.createInvites({ email: "bad-ctx@example.com" }, { ...ctx, preventReleaseEvents: true })),
        "invalid_argument",
        "sharedContext.preventReleaseEvents needs a sharedContext.messageAggregator to hold the events",
      )
      assert.equal(tx.state, "open")
      const last = await m.service.createInvites([{ email: "last@example.com" }], ctx)
      await tx.commit()
      assert.equal(tx.state, "committed")
      assert.deepEqual(storedEmails(m.file), ["first@example.com", "last@example.com"])
      assertEmits(m.bus, [first, last])
    })
  })
})

describe("events and aggregators under transactions", () => {
  test("preventReleaseEvents: at commit the messages go into the aggregator; nothing emitted, nothing cleared", async () => {
    await withModule(async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const tx = await m.service.begin()
      const ctx = { transactionManager: tx, messageAggregator: aggregator, preventReleaseEvents: true }
      const first = await m.service.createInvites([{ email: "h1@example.com" }], ctx)
      const second = await m.service.createInvites([{ email: "h2@example.com" }, { email: "h3@example.com" }], ctx)
      assert.equal(aggregator.count(), 0, "nothing saved before commit")
      assert.deepEqual(aggregator.calls, [])
      await tx.commit()
      assert.deepEqual(aggregator.calls, ["save", "save"])
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(aggregator.getMessages().default, [
        ...expectedMessages(first.map((d) => d.id)),
        ...expectedMessages(second.map((d) => d.id)),
      ])
      assert.equal(count(m.file), 3)
    })
  })

  test("preventReleaseEvents then rollback: the aggregator receives nothing", async () => {
    await withModule(async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const tx = await m.service.begin()
      await m.service.createInvites([{ email: "h1@example.com" }], { transactionManager: tx, messageAggregator: aggregator, preventReleaseEvents: true })
      await tx.rollback()
      assert.deepEqual(aggregator.calls, [])
      assert.equal(aggregator.count(), 0)
      assert.equal(m.bus.calls.length, 0)
      assert.equal(count(m.file), 0)
    })
  })

  test("a plain aggregator in a transaction call: after commit everything it holds is emitted in one emit and cleared", async () => {
    await withModule(async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const earlier: EventMessage = { name: "product.created", metadata: { source: "product", object: "product", action: "created" }, data: { id: "prod_1" }, options: undefined }
      aggregator.save(earlier)
      aggregator.calls.length = 0
      const tx = await m.service.begin()
      const dtos = await m.service.createInvites([{ email: "g1@example.com" }, { email: "g2@example.com" }], { transactionManager: tx, messageAggregator: aggregator })
      assert.equal(aggregator.count(), 1, "only the earlier message before commit")
      assert.deepEqual(aggregator.calls, [])
      assert.equal(m.bus.calls.length, 0)
      await tx.commit()
      assert.equal(m.bus.calls.length, 1)
      assert.deepEqual(m.bus.calls[0].options, { internal: true })
      assert.deepEqual(m.bus.calls[0].messages, [earlier, ...expectedMessages(dtos.map((d) => d.id))])
      assert.equal(aggregator.count(), 0)
      assert.deepEqual(aggregator.calls, ["save", "getMessages", "clearMessages"])
    })
  })

  test("a plain aggregator then rollback: the aggregator keeps only what it held, nothing is emitted", async () => {
    await withModule(async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const earlier: EventMessage = { name: "x.y", metadata: { source: "s", object: "o", action: "a" }, data: { id: "1" }, options: undefined }
      aggregator.save(earlier)
      aggregator.calls.length = 0
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "g@example.com" }, { transactionManager: tx, messageAggregator: aggregator })
      await tx.rollback()
      assert.deepEqual(aggregator.calls, [])
      assert.deepEqual(aggregator.getMessages().default, [earlier])
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("eventGroupId keeps working under transactions, per call", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const first = await m.service.createInvites([{ email: "g1@example.com" }], { transactionManager: tx, eventGroupId: "group-1" })
      const second = await m.service.createInvites([{ email: "g2@example.com" }, { email: "g3@example.com" }], { transactionManager: tx })
      const third = await m.service.createInvites([{ email: "g4@example.com" }], { transactionManager: tx, eventGroupId: "group-3" })
      await tx.commit()
      assertEmits(m.bus, [first, second, third], ["group-1", undefined, "group-3"])
      for (const message of m.bus.calls[0].messages) assert.deepEqual(Object.keys(message.metadata), ["source", "object", "action", "eventGroupId"])
    })
  })

  test("eventGroupId with preventReleaseEvents under a transaction: the held messages carry it", async () => {
    await withModule(async (m) => {
      const aggregator = new MedusaLikeAggregator()
      await m.service.transaction(async (tx) => {
        const dtos = await m.service.createInvites([{ email: "gp@example.com" }], {
          transactionManager: tx,
          eventGroupId: "grp",
          messageAggregator: aggregator,
          preventReleaseEvents: true,
        })
        assert.equal(aggregator.count(), 0)
        return dtos
      }).then((dtos) => {
        assert.deepEqual(aggregator.getMessages().default, expectedMessages([dtos[0].id], "grp"))
      })
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

describe("sharedContext type rules", () => {
  const AGGREGATOR_MESSAGE = (found: string) =>
    `sharedContext.messageAggregator must be an object with save, getMessages and clearMessages methods, '${found}' found`
  const wrong: [string, Record<string, unknown>, string][] = [
    ["eventGroupId: 5", { eventGroupId: 5 }, "sharedContext.eventGroupId must be a string, 'number' found"],
    ["eventGroupId: a function", { eventGroupId: () => "g" }, "sharedContext.eventGroupId must be a string, 'function' found"],
    ["transactionId: {}", { transactionId: {} }, "sharedContext.transactionId must be a string, 'object' found"],
    ["runId: true", { runId: true }, "sharedContext.runId must be a string, 'boolean' found"],
    ["requestId: []", { requestId: [] }, "sharedContext.requestId must be a string, 'array' found"],
    ["idempotencyKey: 7", { idempotencyKey: 7 }, "sharedContext.idempotencyKey must be a string, 'number' found"],
    ["parentStepIdempotencyKey: false", { parentStepIdempotencyKey: false }, "sharedContext.parentStepIdempotencyKey must be a string, 'boolean' found"],
    ["enableNestedTransactions: 'true'", { enableNestedTransactions: "true" }, "sharedContext.enableNestedTransactions must be a boolean, 'string' found"],
    ["preventReleaseEvents: 1", { preventReleaseEvents: 1 }, "sharedContext.preventReleaseEvents must be a boolean, 'number' found"],
    ["isCancelling: 'no'", { isCancelling: "no" }, "sharedContext.isCancelling must be a boolean, 'string' found"],
    ["cancelingFromParentStep: {}", { cancelingFromParentStep: {} }, "sharedContext.cancelingFromParentStep must be a boolean, 'object' found"],
    ["messageAggregator without the methods", { messageAggregator: { save() {} } }, AGGREGATOR_MESSAGE("object")],
    ["messageAggregator: 'agg'", { messageAggregator: "agg" }, AGGREGATOR_MESSAGE("string")],
    ["isolationLevel: 3", { isolationLevel: 3 }, "sharedContext.isolationLevel must be a string, 'number' found"],
    ["isolationLevel: true", { isolationLevel: true }, "sharedContext.isolationLevel must be a string, 'boolean' found"],
  ]

  for (const [name, context, message] of wrong) {
    test(`${name} → invalid_argument naming the field; nothing written, nothing emitted`, async () => {
      await withModule(async (m) => {
        const seed = await m.service.createInvites({ email: "seed@example.com" })
        const error = await rejection(m.service.createInvites({ email: "w@example.com" }, context as Context))
        assertMedusaError(error, "invalid_argument", message)
        assert.deepEqual(storedEmails(m.file), ["seed@example.com"])
        assertEmits(m.bus, [[seed]])
      })
    })
  }

  test("every wrong-typed field is also rejected inside a transaction, without poisoning it", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      for (const [name, context, message] of wrong) {
        const error = await rejection(m.service.createInvites({ email: "w@example.com" }, { ...context, transactionManager: tx } as Context))
        assertMedusaError(error, "invalid_argument", message)
        assert.equal(tx.state, "open", name)
      }
      const ok = await m.service.createInvites([{ email: "w@example.com" }], { transactionManager: tx })
      await tx.commit()
      assert.deepEqual(storedEmails(m.file), ["w@example.com"])
      assertEmits(m.bus, [ok])
    })
  })

  test("manager accepts anything and has no effect", async () => {
    await withModule(async (m) => {
      const managers: unknown[] = [
        "a string",
        42,
        true,
        null,
        {},
        [],
        () => {},
        Symbol("manager"),
        10n,
        { getConnection() {}, transactional() {}, fork() {} },
        new Date(),
      ]
      const created: InviteDTO[][] = []
      for (const [i, manager] of managers.entries()) {
        created.push(await m.service.createInvites([{ email: `mgr${i}@example.com` }], { manager }))
      }
      assert.equal(count(m.file), managers.length)
      assertEmits(m.bus, created)
    })
  })

  test("manager next to a transactionManager does not change which transaction the call joins", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const dto = await m.service.createInvites([{ email: "mt@example.com" }], { transactionManager: tx, manager: { fork() {} } })
      assert.equal(count(m.file), 0)
      await tx.commit()
      assert.equal(count(m.file), 1)
      assertEmits(m.bus, [dto])
    })
  })
})

describe("the caller's context is never written", () => {
  function fullContext(aggregator: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      __type: "MedusaContext",
      manager: { name: "manager", nested: { deep: [1, 2, 3] } },
      isolationLevel: "SERIALIZABLE",
      enableNestedTransactions: false,
      eventGroupId: "frozen-group",
      transactionId: "tx-1",
      runId: "run-1",
      messageAggregator: aggregator,
      requestId: "req-1",
      parentStepIdempotencyKey: "parent-1",
      isCancelling: false,
      cancelingFromParentStep: false,
      ...extra,
    }
  }

  test("a deep-frozen context on plain calls (bus delivery, and preventReleaseEvents)", async () => {
    await withModule(async (m) => {
      const inner = new MedusaLikeAggregator()
      const context = deepFreeze(fullContext(frozenWrapper(inner), { idempotencyKey: "frozen-key" }))
      assert.ok(Object.isFrozen(context) && Object.isFrozen(context.manager) && Object.isFrozen(context.messageAggregator))
      const dtos = await m.service.createInvites([{ email: "fz1@example.com" }], context as Context)
      assert.equal(m.bus.calls.length, 1)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages([dtos[0].id], "frozen-group"))
      assert.equal(inner.count(), 0, "released and cleared")

      const inner2 = new MedusaLikeAggregator()
      const held = deepFreeze(fullContext(frozenWrapper(inner2), { preventReleaseEvents: true }))
      const dtos2 = await m.service.createInvites([{ email: "fz2@example.com" }], held as Context)
      assert.equal(m.bus.calls.length, 1)
      assert.deepEqual(inner2.getMessages().default, expectedMessages([dtos2[0].id], "frozen-group"))
      assert.equal(count(m.file), 2)
    })
  })

  test("a deep-frozen context inside a transaction, through commit", async () => {
    await withModule(async (m) => {
      const inner = new MedusaLikeAggregator()
      const tx = await m.service.begin({ isolationLevel: "READ COMMITTED" })
      const context = deepFreeze(fullContext(frozenWrapper(inner), { transactionManager: tx, enableNestedTransactions: true }))
      assert.ok(Object.isFrozen(context))
      const first = await m.service.createInvites([{ email: "ft1@example.com" }], context as Context)
      // A failing call with the frozen context too (savepoint path).
      const failed = await rejection(m.service.createInvites([{ email: "ft1@example.com" }], context as Context))
      assertMedusaError(failed, "invalid_data", "Invite with email: ft1@example.com, already exists.")
      const second = await m.service.createInvites([{ email: "ft2@example.com" }], context as Context)
      await tx.commit()
      assert.deepEqual(storedEmails(m.file), ["ft1@example.com", "ft2@example.com"])
      assertEmits(m.bus, [first, second], ["frozen-group", "frozen-group"])
      assert.equal(inner.count(), 0)
    })
  })

  test("a Proxy recording every write: zero writes on plain calls (success and failure)", async () => {
    await withModule(async (m) => {
      const writes: string[] = []
      const reads = { n: 0 }
      const inner = new MedusaLikeAggregator()
      const aggregator = recordingProxy(
        { save: (x: any) => inner.save(x), getMessages: () => inner.getMessages(), clearMessages: () => inner.clearMessages() },
        writes,
        reads,
        "aggregator",
      )
      const manager = recordingProxy({ name: "manager" }, writes, reads, "manager")
      const context = recordingProxy(fullContext(aggregator, { manager, idempotencyKey: "proxy-key" }), writes, reads, "context")
      const dtos = await m.service.createInvites([{ email: "px1@example.com" }], context as Context)
      // Another input under the same idempotency key is a new call: a duplicate, rejected.
      const failed = await rejection(m.service.createInvites([{ email: "px1@example.com", metadata: { again: true } }], context as Context))
      assertMedusaError(failed, "invalid_data", "Invite with email: px1@example.com, already exists.")
      // The same input under the same key replays.
      const replay = await m.service.createInvites([{ email: "px1@example.com" }], context as Context)
      assert.equal(replay[0].token, dtos[0].token)
      const heldContext = recordingProxy(fullContext(aggregator, { preventReleaseEvents: true }), writes, reads, "held context")
      await m.service.createInvites([{ email: "px2@example.com" }], heldContext as Context)
      assert.ok(reads.n > 0, "the proxies were read")
      assert.deepEqual(writes, [])
      assert.equal(count(m.file), 2)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages([dtos[0].id], "frozen-group"))
    })
  })

  test("a Proxy recording every write: zero writes inside a transaction, through commit", async () => {
    await withModule(async (m) => {
      const writes: string[] = []
      const reads = { n: 0 }
      const inner = new MedusaLikeAggregator()
      const aggregator = recordingProxy(
        { save: (x: any) => inner.save(x), getMessages: () => inner.getMessages(), clearMessages: () => inner.clearMessages() },
        writes,
        reads,
        "aggregator",
      )
      const tx = await m.service.begin()
      const context = recordingProxy(
        fullContext(aggregator, { transactionManager: tx, enableNestedTransactions: true }),
        writes,
        reads,
        "context",
      )
      const first = await m.service.createInvites([{ email: "pt1@example.com" }], context as Context)
      await rejection(m.service.createInvites([{ email: "pt1@example.com" }], context as Context))
      const second = await m.service.createInvites([{ email: "pt2@example.com" }], context as Context)
      const readsBeforeCommit = reads.n
      await tx.commit()
      assert.ok(readsBeforeCommit > 0)
      assert.ok(reads.n > readsBeforeCommit, "the aggregator proxy was used at commit")
      assert.deepEqual(writes, [])
      assert.deepEqual(storedEmails(m.file), ["pt1@example.com", "pt2@example.com"])
      assertEmits(m.bus, [first, second], ["frozen-group", "frozen-group"])
    })
  })

  test("a Proxy context on a rolled-back transaction: zero writes", async () => {
    await withModule(async (m) => {
      const writes: string[] = []
      const reads = { n: 0 }
      const tx = await m.service.begin()
      const context = recordingProxy({ transactionManager: tx, eventGroupId: "g" }, writes, reads, "context")
      await m.service.createInvites([{ email: "prb@example.com" }], context as Context)
      await rejection(m.service.createInvites([{ email: "prb@example.com" }], context as Context))
      await rejection(tx.commit())
      assert.ok(reads.n > 0)
      assert.deepEqual(writes, [])
      assert.equal(count(m.file), 0)
    })
  })
})

const SQLITE_ONLY_WAIT =
  BACKEND !== "sqlite" &&
  "SQLite only: the module's write lock makes every call wait for an open transaction; PostgreSQL runs calls beside it (see the PostgreSQL counterpart)"
const POSTGRES_ONLY_WAIT =
  BACKEND !== "postgres" &&
  "PostgreSQL only: a transaction is one pooled connection and other calls run beside it (SQLite: see the write-lock counterpart)"

describe("plain calls and a second begin() beside an open transaction", () => {
  test("SQLite: a plain call started while a transaction is open resolves after commit; a duplicate of the transaction's email is then rejected", { skip: SQLITE_ONLY_WAIT }, async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const inTx = await m.service.createInvites([{ email: "held@example.com" }], { transactionManager: tx })
      let settled = false
      const other = settle(m.service.createInvites([{ email: "other@example.com" }])).then((outcome) => {
        settled = true
        return outcome
      })
      const duplicate = settle(m.service.createInvites({ email: "held@example.com" }))
      await delay(200)
      assert.equal(settled, false, "the plain call waits while the transaction is open")
      assert.equal(count(m.file), 0)
      await tx.commit()
      const otherOutcome = await other
      assert.ok(otherOutcome.ok, `the plain call resolves after commit: ${!otherOutcome.ok && otherOutcome.error?.message}`)
      const duplicateOutcome = await duplicate
      assert.equal(duplicateOutcome.ok, false, "the duplicate of the committed email is rejected")
      if (!duplicateOutcome.ok) assertMedusaError(duplicateOutcome.error, "invalid_data", "Invite with email: held@example.com, already exists.")
      assert.deepEqual(storedEmails(m.file), ["held@example.com", "other@example.com"])
      assert.equal(m.bus.calls.length, 2)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages([inTx[0].id]))
      if (otherOutcome.ok) assert.deepEqual(m.bus.calls[1].messages, expectedMessages([otherOutcome.value[0].id]))
    })
  })

  test("PostgreSQL: a plain call beside an open transaction runs at once; one colliding with the transaction's uncommitted email or id waits for it and is then rejected", { skip: POSTGRES_ONLY_WAIT }, async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const inTx = await m.service.createInvites([{ id: "invite_in_tx", email: "held@example.com" }], { transactionManager: tx })
      // Another email and another id: nothing to wait for. Committed and announced at once.
      const other = await m.service.createInvites([{ email: "other@example.com" }])
      assert.deepEqual(storedEmails(m.file), ["other@example.com"], "the plain call is committed; the transaction's row is not visible")
      assert.equal(m.bus.calls.length, 1)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages([other[0].id]))
      // The transaction's uncommitted email, and its uncommitted id: both wait on a unique index.
      let settledCount = 0
      const track = <T,>(promise: Promise<T>) =>
        settle(promise).then((outcome) => {
          settledCount++
          return outcome
        })
      const sameEmail = track(m.service.createInvites({ email: "held@example.com" }))
      const sameId = track(m.service.createInvites({ id: "invite_in_tx", email: "free@example.com" }))
      await delay(200)
      assert.equal(settledCount, 0, "calls colliding with the transaction's uncommitted row wait while it is open")
      assert.deepEqual(storedEmails(m.file), ["other@example.com"])
      await tx.commit()
      const emailOutcome = await sameEmail
      assert.equal(emailOutcome.ok, false, "the duplicate of the committed email is rejected")
      if (!emailOutcome.ok) assertMedusaError(emailOutcome.error, "invalid_data", "Invite with email: held@example.com, already exists.")
      const idOutcome = await sameId
      assert.equal(idOutcome.ok, false, "the duplicate of the committed id is rejected")
      if (!idOutcome.ok) assertMedusaError(idOutcome.error, "invalid_data", "Invite with id: invite_in_tx, already exists.")
      assert.deepEqual(storedEmails(m.file), ["held@example.com", "other@example.com"])
      assert.equal(m.bus.calls.length, 2)
      assert.deepEqual(m.bus.calls[1].messages, expectedMessages([inTx[0].id]))
    })
  })

  // On SQLite every plain call waits for the transaction; on PostgreSQL this one waits because
  // it collides on the unique email index with the transaction's uncommitted row.
  test("a plain call waiting on a transaction that rolls back then writes the email the transaction had taken", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "same@example.com" }, { transactionManager: tx })
      let settled = false
      const waiting = settle(m.service.createInvites({ email: "same@example.com" })).then((outcome) => {
        settled = true
        return outcome
      })
      await delay(150)
      assert.equal(settled, false)
      await tx.rollback()
      const outcome = await waiting
      assert.ok(outcome.ok, `resolves after rollback: ${!outcome.ok && outcome.error?.message}`)
      assert.deepEqual(storedEmails(m.file), ["same@example.com"])
      assert.equal(m.bus.calls.length, 1)
      if (outcome.ok) assert.deepEqual(m.bus.calls[0].messages, expectedMessages([outcome.value.id]))
    })
  })

  test("SQLite: a second begin() waits for the first transaction to end", { skip: SQLITE_ONLY_WAIT }, async () => {
    await withModule(async (m) => {
      const first = await m.service.begin()
      await m.service.createInvites({ email: "one@example.com" }, { transactionManager: first })
      let opened = false
      const second = m.service.begin().then((tx) => {
        opened = true
        return tx
      })
      await delay(150)
      assert.equal(opened, false)
      await first.commit()
      const tx2 = await second
      assert.equal(tx2.state, "open")
      const dup = await rejection(m.service.createInvites({ email: "one@example.com" }, { transactionManager: tx2, enableNestedTransactions: true }))
      assertMedusaError(dup, "invalid_data", "Invite with email: one@example.com, already exists.")
      await m.service.createInvites({ email: "two@example.com" }, { transactionManager: tx2 })
      await tx2.commit()
      assert.deepEqual(storedEmails(m.file), ["one@example.com", "two@example.com"])
      assert.equal(m.bus.calls.length, 2)
    })
  })

  test("PostgreSQL: a second begin() opens at once; its write of the first transaction's uncommitted email waits for it, then fails in its savepoint", { skip: POSTGRES_ONLY_WAIT }, async () => {
    await withModule(async (m) => {
      const first = await m.service.begin()
      const one = await m.service.createInvites({ email: "one@example.com" }, { transactionManager: first })
      const tx2 = await m.service.begin()
      assert.equal(tx2.state, "open")
      assert.equal(first.state, "open")
      const two = await m.service.createInvites({ email: "two@example.com" }, { transactionManager: tx2 })
      let settled = false
      const dup = settle(
        m.service.createInvites({ email: "one@example.com" }, { transactionManager: tx2, enableNestedTransactions: true }),
      ).then((outcome) => {
        settled = true
        return outcome
      })
      await delay(150)
      assert.equal(settled, false, "the second transaction's write of the same email waits for the first")
      assert.equal(count(m.file), 0, "neither transaction is visible yet")
      await first.commit()
      const outcome = await dup
      assert.equal(outcome.ok, false)
      if (!outcome.ok) assertMedusaError(outcome.error, "invalid_data", "Invite with email: one@example.com, already exists.")
      assert.equal(tx2.state, "open", "the savepoint kept the second transaction usable")
      await tx2.commit()
      assert.deepEqual(storedEmails(m.file), ["one@example.com", "two@example.com"])
      assertEmits(m.bus, [[one], [two]])
    })
  })

  // On PostgreSQL the waiting call collides with the poisoned transaction's uncommitted row.
  test("a poisoned transaction's failed commit releases the lock for waiting plain calls", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      await m.service.createInvites({ email: "p@example.com" }, { transactionManager: tx })
      await rejection(m.service.createInvites({ email: "p@example.com" }, { transactionManager: tx }))
      let settled = false
      const waiting = settle(m.service.createInvites({ email: "p@example.com" })).then((outcome) => {
        settled = true
        return outcome
      })
      await delay(100)
      assert.equal(settled, false, "the plain call waits while the poisoned transaction is open")
      assertMedusaError(await rejection(tx.commit()), "unexpected_state", TRANSACTION_FAILED)
      const outcome = await waiting
      assert.ok(outcome.ok, `resolves after the failed commit: ${!outcome.ok && outcome.error?.message}`)
      assert.deepEqual(storedEmails(m.file), ["p@example.com"])
      assert.equal(m.bus.calls.length, 1)
    })
  })
})
