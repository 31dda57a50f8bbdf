// sharedContext.idempotencyKey (docs/behaviour.md): a repeat of a successful call with
// the same key and the same input replays the original DTOs and writes and emits nothing; a
// different input is a new call; a failed or rolled-back call records nothing; records are
// scoped to one database, expire after `idempotencyRetentionSeconds`, and concurrent repeats
// create the invites exactly once.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError, UserModuleService, type CreateInviteDTO, type InviteDTO } from ".."
import { withOptions, newModule, rows, count, freshDatabase, rejection, RecordingBus, SECRET, type TestModule } from "./helpers"

const IDEMPOTENCY = "medusa_invites_idempotency"
const DTO_KEYS = ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at", "roles"]
const RETENTION_MESSAGE = "idempotencyRetentionSeconds must be a number of seconds, 0 or more"

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const duplicateEmail = (email: string) => `Invite with email: ${email}, already exists.`


/** Opens the database (creating the schema) with a keyless call, so the tables can be read. */
async function openDatabase(m: TestModule): Promise<void> {
  await m.service.createInvites({ email: "opener@example.com" })
  m.bus.calls.length = 0
}

function idempotencyRows(file: string): { key: string; input_hash: string; created_at: number }[] {
  return rows(file, `select key, input_hash, created_at from "${IDEMPOTENCY}" order by created_at, key`)
}

/** A JSON view that also shows key order (of the DTO and of nested metadata) and exact dates. */
function exact(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = key === "" ? v : this[key]
    return raw instanceof Date ? `Date(${raw.getTime()})` : v
  })
}

/** Same DTO(s): deepEqual, exact dates, key order of every DTO and of its metadata. */
function assertSameDtos(actual: InviteDTO | InviteDTO[], expected: InviteDTO | InviteDTO[]): void {
  assert.equal(Array.isArray(actual), Array.isArray(expected), "same shape (array or object)")
  assert.deepEqual(actual, expected)
  assert.equal(exact(actual), exact(expected))
  for (const dto of Array.isArray(actual) ? actual : [actual]) {
    assert.deepEqual(Object.keys(dto), DTO_KEYS)
    for (const field of ["expires_at", "created_at", "updated_at"] as const) assert.ok(dto[field] instanceof Date, field)
  }
}

/** A single input with every kind of field a replay has to reproduce. */
function richInput(email: string): CreateInviteDTO {
  return {
    email,
    accepted: true,
    metadata: { zeta: 1, alpha: { nested: [1, "two", null], b: true }, "": "empty key" },
    roles: ["admin", "viewer"],
  }
}

function batchInput(prefix: string): CreateInviteDTO[] {
  return [
    { email: `${prefix}-1@example.com`, metadata: { order: 1 } },
    { id: `invite_${prefix}_custom`, email: `${prefix}-2@example.com`, roles: ["member"] },
    { email: `${prefix}-3@example.com`, created_at: "2024-01-02T03:04:05.678Z", updated_at: new Date("2024-02-03T04:05:06.789Z") },
  ]
}

describe("a repeat with the same key and the same input replays", () => {
  test("a single object: the same DTO (ids, token, dates, metadata, roles, key order), nothing written, nothing emitted", async () => {
    await withOptions({}, async (m) => {
      const input = richInput("single@example.com")
      const first = await m.service.createInvites(input, { idempotencyKey: "key-single" })
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
      assert.equal(idempotencyRows(m.file).length, 1)
      // A new call would get another clock reading: wait so that dates would differ.
      await delay(15)
      const again = await m.service.createInvites(richInput("single@example.com"), { idempotencyKey: "key-single" })
      assertSameDtos(again, first)
      assert.notEqual(again, first, "a fresh object, not the caller's earlier result")
      const third = await m.service.createInvites(richInput("single@example.com"), { idempotencyKey: "key-single" })
      assertSameDtos(third, first)
      assert.equal(count(m.file), 1)
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.equal(m.bus.calls.length, 1, "only the first call emitted")
      assert.deepEqual(
        rows(m.file, 'select id, email, token from "invite"'),
        [{ id: first.id, email: first.email, token: first.token }],
      )
    })
  })

  test("an array: the same DTOs in the same order (caller id and caller times included), nothing written, nothing emitted", async () => {
    await withOptions({}, async (m) => {
      const first = await m.service.createInvites(batchInput("arr"), { idempotencyKey: "key-array" })
      assert.equal(first.length, 3)
      await delay(15)
      const again = await m.service.createInvites(batchInput("arr"), { idempotencyKey: "key-array" })
      assertSameDtos(again, first)
      assert.equal(again[1].id, "invite_arr_custom")
      assert.equal(again[2].created_at.toISOString(), "2024-01-02T03:04:05.678Z")
      assert.equal(again[2].updated_at.toISOString(), "2024-02-03T04:05:06.789Z")
      assert.equal(count(m.file), 3)
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.equal(m.bus.calls.length, 1, "only the first call emitted")
    })
  })

  test("a one-element array replays as a one-element array", async () => {
    await withOptions({}, async (m) => {
      const first = await m.service.createInvites([{ email: "one@example.com" }], { idempotencyKey: "key-one" })
      const again = await m.service.createInvites([{ email: "one@example.com" }], { idempotencyKey: "key-one" })
      assert.ok(Array.isArray(again))
      assertSameDtos(again, first)
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("the replay works after close() and a new UserModuleService on the same database", async () => {
    const m = newModule()
    let first: InviteDTO[]
    try {
      first = await m.service.createInvites(batchInput("reopen"), { idempotencyKey: "key-reopen" })
    } finally {
      await m.close()
    }
    const bus = new RecordingBus()
    const reopened = new UserModuleService({ jwt_secret: SECRET, database: m.database, eventBus: bus })
    try {
      const again = await reopened.createInvites(batchInput("reopen"), { idempotencyKey: "key-reopen" })
      assertSameDtos(again, first)
      assert.equal(count(m.file), 3)
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.equal(bus.calls.length, 0, "the reopened module emitted nothing")
    } finally {
      await reopened.close()
    }
  })
})

describe("the same key with a different input is a new call", () => {
  test("another email: runs normally (new id, a row, an emit, a second record)", async () => {
    await withOptions({}, async (m) => {
      const first = await m.service.createInvites({ email: "first@example.com" }, { idempotencyKey: "shared-key" })
      const second = await m.service.createInvites({ email: "second@example.com" }, { idempotencyKey: "shared-key" })
      assert.equal(second.email, "second@example.com")
      assert.notEqual(second.id, first.id)
      assert.notEqual(second.token, first.token)
      assert.equal(count(m.file), 2)
      assert.equal(m.bus.calls.length, 2)
      assert.deepEqual(m.bus.calls[1].messages[0].data, { id: second.id })
      assert.deepEqual(idempotencyRows(m.file).map((row) => row.key), ["shared-key", "shared-key"])
    })
  })

  test("the same email with different metadata: a new call, which hits the first call's email", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "meta@example.com", metadata: { v: 1 } }, { idempotencyKey: "meta-key" })
      const err = await rejection(
        m.service.createInvites({ email: "meta@example.com", metadata: { v: 2 } }, { idempotencyKey: "meta-key" }),
      )
      assert.ok(MedusaError.isMedusaError(err))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("meta@example.com"))
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
      assert.equal(idempotencyRows(m.file).length, 1)
    })
  })

  test("the same email with different roles: a new call, which hits the first call's email", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "roles@example.com", roles: ["admin"] }, { idempotencyKey: "roles-key" })
      const err = await rejection(
        m.service.createInvites({ email: "roles@example.com", roles: ["viewer"] }, { idempotencyKey: "roles-key" }),
      )
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("roles@example.com"))
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("an object first, then a one-element array of it: a new call (duplicate email), not a replay", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "shape@example.com" }, { idempotencyKey: "shape-key" })
      const err = await rejection(m.service.createInvites([{ email: "shape@example.com" }], { idempotencyKey: "shape-key" }))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("shape@example.com"))
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("a one-element array first, then the object: a new call (duplicate email), not a replay", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites([{ email: "shape2@example.com" }], { idempotencyKey: "shape2-key" })
      const err = await rejection(m.service.createInvites({ email: "shape2@example.com" }, { idempotencyKey: "shape2-key" }))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("shape2@example.com"))
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("the same input without a key, or with another key, is a new call", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "keyed@example.com" }, { idempotencyKey: "key-a" })
      for (const context of [undefined, {}, { idempotencyKey: "key-b" }]) {
        const err = await rejection(m.service.createInvites({ email: "keyed@example.com" }, context))
        assert.equal(err.message, duplicateEmail("keyed@example.com"))
      }
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })
})

describe("a failed call records nothing", () => {
  test("a duplicate email: nothing recorded; the same key with valid input then runs normally", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "taken@example.com" })
      const failing = [{ email: "fresh@example.com" }, { email: "taken@example.com" }]
      const err = await rejection(m.service.createInvites(failing, { idempotencyKey: "fail-key" }))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("taken@example.com"))
      assert.equal(idempotencyRows(m.file).length, 0)
      // The same failing input again fails again: an error is never replayed.
      const again = await rejection(m.service.createInvites(failing, { idempotencyKey: "fail-key" }))
      assert.equal(again.message, duplicateEmail("taken@example.com"))
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)

      const created = await m.service.createInvites(
        [{ email: "fresh@example.com" }, { email: "fresh2@example.com" }],
        { idempotencyKey: "fail-key" },
      )
      assert.deepEqual(created.map((invite) => invite.email), ["fresh@example.com", "fresh2@example.com"])
      assert.equal(count(m.file), 3)
      assert.equal(m.bus.calls.length, 2)
      assert.equal(idempotencyRows(m.file).length, 1)
    })
  })

  test("an email held by a user: nothing recorded", async () => {
    await withOptions({}, async (m) => {
      await m.service.createUsers({ email: "user@example.com" })
      m.bus.calls.length = 0 // createUsers announced the user; only what follows counts
      const err = await rejection(m.service.createInvites({ email: "user@example.com" }, { idempotencyKey: "user-key" }))
      assert.equal(err.message, "User account for following email(s) already exist: user@example.com")
      assert.equal(idempotencyRows(m.file).length, 0)
      assert.equal(count(m.file), 0)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("invalid input: nothing recorded; the same key with valid input then runs normally", async () => {
    await withOptions({}, async (m) => {
      await openDatabase(m)
      const err = await rejection(m.service.createInvites({ email: "" }, { idempotencyKey: "invalid-key" }))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, "Invalid email for invite: ''")
      const typeErr = await rejection(m.service.createInvites({ email: 42 } as never, { idempotencyKey: "invalid-key" }))
      assert.equal(typeErr.message, "Value for Invite.email must be a string, 'number' found")
      assert.equal(idempotencyRows(m.file).length, 0)
      assert.equal(count(m.file), 1)

      const created = await m.service.createInvites({ email: "valid@example.com" }, { idempotencyKey: "invalid-key" })
      assert.equal(created.email, "valid@example.com")
      assert.equal(count(m.file), 2)
      assert.equal(m.bus.calls.length, 1)
      assert.equal(idempotencyRows(m.file).length, 1)
    })
  })
})

describe("keys are scoped to one database", () => {
  test("the same key and input on a second database is a new call there, and the first still replays", async () => {
    const a = newModule()
    const b = newModule()
    try {
      const input = () => [{ email: "scope1@example.com" }, { email: "scope2@example.com" }]
      const onA = await a.service.createInvites(input(), { idempotencyKey: "scope-key" })
      const onB = await b.service.createInvites(input(), { idempotencyKey: "scope-key" })
      assert.notEqual(onB[0].id, onA[0].id)
      assert.notEqual(onB[1].id, onA[1].id)
      assert.notEqual(onB[0].token, onA[0].token)
      assert.equal(count(b.file), 2)
      assert.equal(b.bus.calls.length, 1)
      assert.equal(idempotencyRows(b.file).length, 1)
      assertSameDtos(await a.service.createInvites(input(), { idempotencyKey: "scope-key" }), onA)
      assertSameDtos(await b.service.createInvites(input(), { idempotencyKey: "scope-key" }), onB)
      assert.equal(a.bus.calls.length, 1)
      assert.equal(b.bus.calls.length, 1)
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe("retention (idempotencyRetentionSeconds)", { concurrency: true }, () => {
  test("with 1 second: an immediate repeat replays; a repeat after ~1.2 s is a new call (duplicate email)", async () => {
    await withOptions({ idempotencyRetentionSeconds: 1 }, async (m) => {
      const input = () => [{ email: "ret1@example.com" }, { email: "ret2@example.com" }]
      const first = await m.service.createInvites(input(), { idempotencyKey: "ret-key" })
      assertSameDtos(await m.service.createInvites(input(), { idempotencyKey: "ret-key" }), first)
      await delay(1200)
      const err = await rejection(m.service.createInvites(input(), { idempotencyKey: "ret-key" }))
      assert.ok(MedusaError.isMedusaError(err))
      assert.equal(err.type, "invalid_data")
      assert.equal(err.message, duplicateEmail("ret1@example.com"))
      assert.equal(count(m.file), 2)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("saving a new record deletes the expired ones", async () => {
    await withOptions({ idempotencyRetentionSeconds: 1 }, async (m) => {
      await m.service.createInvites({ email: "old1@example.com" }, { idempotencyKey: "old-1" })
      await m.service.createInvites({ email: "old2@example.com" }, { idempotencyKey: "old-2" })
      assert.deepEqual(idempotencyRows(m.file).map((row) => row.key), ["old-1", "old-2"])
      await delay(1200)
      // Records are kept until the next save purges them.
      assert.equal(count(m.file, IDEMPOTENCY), 2)
      await m.service.createInvites({ email: "new@example.com" }, { idempotencyKey: "new-1" })
      assert.deepEqual(idempotencyRows(m.file).map((row) => row.key), ["new-1"])
      assert.equal(count(m.file, IDEMPOTENCY), 1)
      assert.equal(count(m.file), 3, "the invites themselves stay")
    })
  })

  test("the default retention keeps a replay well past one second", async () => {
    await withOptions({}, async (m) => {
      const first = await m.service.createInvites(batchInput("default"), { idempotencyKey: "default-key" })
      await delay(1200)
      assertSameDtos(await m.service.createInvites(batchInput("default"), { idempotencyKey: "default-key" }), first)
      assert.equal(count(m.file), 3)
      assert.equal(m.bus.calls.length, 1)
      // The record is the call's: created_at is the call's clock reading.
      assert.deepEqual(idempotencyRows(m.file).map((row) => row.created_at), [first[0].created_at.getTime()])
    })
  })

  for (const [label, value] of [["-1", -1], ['"x"', "x"], ["-0.5", -0.5], ["true", true], ["{}", {}], ['"60"', "60"]] as const) {
    test(`idempotencyRetentionSeconds ${label}: the constructor throws invalid_argument`, () => {
      assert.throws(
        () => new UserModuleService({ jwt_secret: SECRET, database: freshDatabase().database, idempotencyRetentionSeconds: value as never }),
        (err: any) => {
          assert.ok(MedusaError.isMedusaError(err))
          assert.equal(err.type, "invalid_argument")
          assert.equal(err.message, RETENTION_MESSAGE)
          return true
        },
      )
    })
  }

  test("idempotencyRetentionSeconds 0, 1.5 and 86400 are accepted", async () => {
    for (const value of [0, 1.5, 86_400]) {
      const service = new UserModuleService({ jwt_secret: SECRET, database: freshDatabase().database, idempotencyRetentionSeconds: value })
      const invite = await service.createInvites({ email: "ok@example.com" }, { idempotencyKey: "k" })
      assert.equal(invite.email, "ok@example.com")
      await service.close()
    }
  })
})

describe("concurrent calls with the same key and the same input", () => {
  test("20 concurrent calls create the invites exactly once and all resolve with the same DTOs", async () => {
    await withOptions({}, async (m) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => m.service.createInvites(batchInput("race"), { idempotencyKey: "race-key" })),
      )
      for (const result of results) assertSameDtos(result, results[0])
      assert.equal(count(m.file), 3)
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.equal(m.bus.calls.length, 1, "exactly one emit")
      assert.deepEqual(
        m.bus.calls[0].messages.filter((message) => message.name === "user.invite.created").map((message) => message.data),
        results[0].map((invite) => ({ id: invite.id })),
      )
      const stored = rows<{ id: string; token: string }>(m.file, 'select id, token from "invite" order by email')
      assert.deepEqual(stored, results[0].map((invite) => ({ id: invite.id, token: invite.token })))
    })
  })

  test("20 concurrent single-object calls: one invite, 20 identical DTOs", async () => {
    await withOptions({}, async (m) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => m.service.createInvites(richInput("race-single@example.com"), { idempotencyKey: "race-single" })),
      )
      for (const result of results) assertSameDtos(result, results[0])
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("two modules on the same database, 10 concurrent calls each: created exactly once", async () => {
    const a = newModule()
    const bus = new RecordingBus()
    const b = new UserModuleService({ jwt_secret: SECRET, database: a.database, eventBus: bus })
    try {
      const call = (service: UserModuleService) => service.createInvites(batchInput("two"), { idempotencyKey: "two-key" })
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a.service : b)))
      for (const result of results) assertSameDtos(result, results[0])
      assert.equal(count(a.file), 3)
      assert.equal(idempotencyRows(a.file).length, 1)
      assert.equal(a.bus.calls.length + bus.calls.length, 1, "exactly one emit across both modules")
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe("idempotencyKey inside a transaction", () => {
  test("a repeat inside the same transaction replays; events are delivered once, after commit", async () => {
    await withOptions({}, async (m) => {
      const { first, again } = await m.service.transaction(async (tx) => {
        const first = await m.service.createInvites(batchInput("tx"), { transactionManager: tx, idempotencyKey: "tx-key" })
        const again = await m.service.createInvites(batchInput("tx"), { transactionManager: tx, idempotencyKey: "tx-key" })
        assert.equal(m.bus.calls.length, 0, "nothing before commit")
        return { first, again }
      })
      assertSameDtos(again, first)
      assert.equal(count(m.file), 3)
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.equal(m.bus.calls.length, 1)
      // And outside the transaction, after commit.
      assertSameDtos(await m.service.createInvites(batchInput("tx"), { idempotencyKey: "tx-key" }), first)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("a key recorded outside replays inside a transaction", async () => {
    await withOptions({}, async (m) => {
      const first = await m.service.createInvites(batchInput("out"), { idempotencyKey: "out-key" })
      const tx = await m.service.begin()
      const again = await m.service.createInvites(batchInput("out"), { transactionManager: tx, idempotencyKey: "out-key" })
      await tx.commit()
      assertSameDtos(again, first)
      assert.equal(count(m.file), 3)
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("a rolled-back call records nothing: afterwards the same key and input run as a new call", async () => {
    await withOptions({}, async (m) => {
      await openDatabase(m)
      const tx = await m.service.begin()
      const undone = await m.service.createInvites(batchInput("rb"), { transactionManager: tx, idempotencyKey: "rb-key" })
      await tx.rollback()
      assert.equal(idempotencyRows(m.file).length, 0)
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 0)

      const fresh = await m.service.createInvites(batchInput("rb"), { idempotencyKey: "rb-key" })
      assert.notEqual(fresh[0].id, undone[0].id)
      assert.notEqual(fresh[0].token, undone[0].token)
      assert.equal(fresh[1].id, "invite_rb_custom")
      assert.equal(count(m.file), 4)
      assert.equal(m.bus.calls.length, 1)
      assert.equal(idempotencyRows(m.file).length, 1)
    })
  })

  test("a transaction callback that throws records nothing", async () => {
    await withOptions({}, async (m) => {
      await openDatabase(m)
      const err = await rejection(
        m.service.transaction(async (tx) => {
          await m.service.createInvites({ email: "thrown@example.com" }, { transactionManager: tx, idempotencyKey: "throw-key" })
          throw new Error("boom")
        }),
      )
      assert.equal(err.message, "boom")
      assert.equal(idempotencyRows(m.file).length, 0)
      const created = await m.service.createInvites({ email: "thrown@example.com" }, { idempotencyKey: "throw-key" })
      assert.equal(created.email, "thrown@example.com")
      assert.equal(m.bus.calls.length, 1)
    })
  })

  test("a call failing in a savepoint records nothing; the same key then runs in that transaction", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "held@example.com" })
      m.bus.calls.length = 0
      await m.service.transaction(async (tx) => {
        const context = { transactionManager: tx, idempotencyKey: "sp-key", enableNestedTransactions: true }
        const err = await rejection(m.service.createInvites([{ email: "sp@example.com" }, { email: "held@example.com" }], context))
        assert.equal(err.message, duplicateEmail("held@example.com"))
        await m.service.createInvites([{ email: "sp@example.com" }], context)
      })
      assert.equal(idempotencyRows(m.file).length, 1)
      assert.deepEqual(rows(m.file, 'select email from "invite" order by email'), [{ email: "held@example.com" }, { email: "sp@example.com" }])
      assert.equal(m.bus.calls.length, 1)
    })
  })
})
