// Edge cases an adversarial run found, on both backends: U+0000 in lookups, unpaired
// surrogates in filter keys, calls after close(), throwing transaction options, huge and
// deeply nested filters, racing accepts of one token, and an SQLite read that must not wait
// behind pending writes.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError, UserModuleService } from ".."
import { BACKEND, SECRET, assertExactMedusaError, notFound, rejectionOf, withModule } from "./helpers"

const CLOSED = "The invite module is closed; create a new UserModuleService"
const TOO_DEEP = "The filters are nested too deeply: at most 16 levels of $and and $or"

/** `{ $or: [{ $or: [ … { email } … ] }] }`, `levels` deep. */
function nestedOr(levels: number): Record<string, unknown> {
  let filter: Record<string, unknown> = { email: "x@example.com" }
  for (let i = 0; i < levels; i++) filter = { $or: [filter] }
  return filter
}

describe("U+0000 in a lookup never reaches the database and matches nothing", () => {
  test("lists, retrieve and the calls by id answer as for any unknown value", () =>
    withModule(async ({ service }) => {
      const [invite] = await service.createInvites([{ email: "nul@example.com" }])
      assert.deepEqual(await service.listInvites({ email: "\u0000" }), [])
      assert.deepEqual(await service.listInvites({ id: ["\u0000"] }), [])
      assert.deepEqual(await service.listInvites({ email: { $like: "%\u0000%" } }), [])
      assert.deepEqual(await service.listInvites({ q: "\u0000" }), [])
      assert.deepEqual((await service.listInvites({ email: { $ne: "\u0000" } })).map((i) => i.id), [invite.id])
      assert.deepEqual((await service.listInvites({ id: { $in: ["\u0000", invite.id] } })).map((i) => i.id), [invite.id])
      assert.deepEqual((await service.listInvites({ id: { $nin: ["\u0000"] } })).map((i) => i.id), [invite.id])
      assert.deepEqual(await service.listAndCountInvites({ email: "a\u0000b" }), [[], 0])
      assertExactMedusaError(await rejectionOf(() => service.retrieveInvite("\u0000")), "not_found", notFound("\u0000"))
      assertExactMedusaError(
        await rejectionOf(() => service.refreshInviteTokens(["\u0000"])),
        "invalid_data",
        "The following invites do not exist: \u0000",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.updateInvites({ id: "\u0000", accepted: true })),
        "not_found",
        'Invite with id "\u0000" not found',
      )
      assert.deepEqual(await service.softDeleteInvites(["\u0000"]), {})
      assert.deepEqual(await service.restoreInvites(["\u0000"]), {})
      assert.equal(await service.deleteInvites(["\u0000"]), undefined)
      assert.deepEqual(await service.listUsers({ first_name: "\u0000" }), [])
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ email: { $gt: "\u0000" } } as any)),
        "invalid_data",
        "The filter on Invite.email cannot compare with a text that contains the character U+0000",
      )
      // Nothing changed.
      assert.deepEqual((await service.listInvites()).map((i) => i.id), [invite.id])
    }))

  test("an idempotency key with U+0000 is refused before anything is written", () =>
    withModule(async ({ service }) => {
      assertExactMedusaError(
        await rejectionOf(() => service.createInvites([{ email: "key@example.com" }], { idempotencyKey: "k\u0000" })),
        "invalid_argument",
        "sharedContext.idempotencyKey must not contain the character U+0000",
      )
      assert.deepEqual(await service.listInvites(), [])
    }))
})

describe("unpaired surrogates in keys", () => {
  test("a filter or order key with a lone surrogate is invalid_data naming the problem", () =>
    withModule(async ({ service }) => {
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ "\ud800": 1 } as any)),
        "invalid_data",
        "The filters have a key with an unpaired UTF-16 surrogate",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ $and: [{ email: { "\udc00": "x" } }] } as any)),
        "invalid_data",
        "The filters have a key with an unpaired UTF-16 surrogate",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({}, { order: { "\ud800": "ASC" } })),
        "invalid_data",
        "The find config have a key with an unpaired UTF-16 surrogate",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.createInvites([{ email: "s@example.com" }], { idempotencyKey: "k\ud800" })),
        "invalid_argument",
        "sharedContext.idempotencyKey must be a string, 'ill-formed string' found",
      )
    }))
})

describe("after close()", () => {
  test("every call rejects with unexpected_state, even one with nothing to do; close() again resolves", async () => {
    let service!: UserModuleService
    await withModule(async (m) => {
      service = m.service
      await service.createInvites([{ email: "before@example.com" }])
    })
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["createInvites([])", () => service.createInvites([])],
      ["createUsers([])", () => service.createUsers([])],
      ["createInvites", () => service.createInvites({ email: "after@example.com" })],
      ["listInvites", () => service.listInvites()],
      ["retrieveInvite", () => service.retrieveInvite("invite_x")],
      ["validateInviteToken", () => service.validateInviteToken("not-a-token")],
      ["refreshInviteTokens", () => service.refreshInviteTokens([])],
      ["deleteInvites", () => service.deleteInvites([])],
      ["acceptInvite", () => service.acceptInvite("not-a-token")],
      ["listUsers", () => service.listUsers()],
      ["begin", () => service.begin()],
      ["transaction", () => service.transaction(async () => "never")],
    ]
    for (const [name, call] of calls) {
      const error = await rejectionOf(call)
      assert.equal(error?.type, "unexpected_state", `${name}: ${error?.message}`)
      assertExactMedusaError(error, "unexpected_state", CLOSED)
    }
    assert.equal(await service.close(), undefined)
  })

  test("a call made after close() rejects even when close() has not finished", () =>
    withModule(async ({ service }) => {
      await service.createInvites([{ email: "a@example.com" }])
      const closing = service.close()
      const error = await rejectionOf(() => service.createInvites([]))
      assertExactMedusaError(error, "unexpected_state", CLOSED)
      await closing
    }))
})

describe("transaction options", () => {
  const throwingOptions = () => ({
    get isolationLevel(): string {
      throw new Error("getter threw on purpose")
    },
  })
  const hostileProxy = () =>
    new Proxy({}, {
      get() {
        throw new Error("proxy threw on purpose")
      },
    })
  const MESSAGE = "The transaction options could not be read: a property access threw"

  test("a throwing getter or proxy in begin() or transaction() options is invalid_argument", () =>
    withModule(async ({ service }) => {
      for (const options of [throwingOptions(), hostileProxy()]) {
        const begun = await rejectionOf(() => service.begin(options as any))
        assertExactMedusaError(begun, "invalid_argument", MESSAGE)
        assert.ok(begun.cause instanceof Error, "the original error is the cause")
        const wrapped = await rejectionOf(() => service.transaction(async () => "never", options as any))
        assertExactMedusaError(wrapped, "invalid_argument", MESSAGE)
      }
      // Nothing is left open: a plain write goes through at once.
      await service.createInvites([{ email: "after-options@example.com" }])
    }))

  test("an isolationLevel with an unpaired surrogate is an unknown level (invalid_argument), not an internal error", () =>
    withModule(async ({ service }) => {
      for (const isolationLevel of ["\ud800", `serializable\udc00`]) {
        const error = await rejectionOf(() => service.begin({ isolationLevel }))
        assertExactMedusaError(
          error,
          "invalid_argument",
          'Invalid isolationLevel, supported isolation levels are: ["read uncommitted","read committed","repeatable read","serializable"]',
        )
      }
    }))

  test("an error thrown by the caller's own callback stays the caller's", () =>
    withModule(async ({ service }) => {
      const mine = new TypeError("my own failure")
      const error = await rejectionOf(() =>
        service.transaction(async (tx) => {
          await service.createInvites([{ email: "rolled-back@example.com" }], { transactionManager: tx })
          throw mine
        }),
      )
      assert.equal(error, mine)
      assert.deepEqual(await service.listInvites(), [])
    }))
})

describe("huge and deep filters are refused early, with clear messages", () => {
  test("a filter object with a million keys names its first unknown key", () =>
    withModule(async ({ service }) => {
      const filters: Record<string, number> = {}
      for (let i = 0; i < 1_000_000; i++) filters[`k${i}`] = i
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites(filters)),
        "invalid_data",
        "Trying to query by not existing property Invite.k0",
      )
    }))

  test("$or nested 10,000 deep: nested too deeply, with the limit", () =>
    withModule(async ({ service }) => {
      assertExactMedusaError(await rejectionOf(() => service.listInvites(nestedOr(10_000))), "invalid_data", TOO_DEEP)
    }))

  test("the limit is the same on both sides of the boundary: 16 levels pass, 17 are refused", () =>
    withModule(async ({ service }) => {
      assert.deepEqual(await service.listInvites(nestedOr(16)), [])
      assertExactMedusaError(await rejectionOf(() => service.listInvites(nestedOr(17))), "invalid_data", TOO_DEEP)
    }))

  test("a list of more than 100,000 values is refused; 50,000 ids are a normal lookup", () =>
    withModule(async ({ service }) => {
      const [invite] = await service.createInvites([{ email: "many@example.com" }])
      const ids = Array.from({ length: 50_000 }, (_, i) => `invite_${i}`)
      ids.push(invite.id)
      assert.deepEqual((await service.listInvites({ id: ids })).map((i) => i.id), [invite.id])
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ id: new Array(200_000).fill("invite_x") })),
        "invalid_data",
        "The filters are too large: at most 100000 keys and values",
      )
    }))
})

describe("racing accepts of one token", () => {
  test("one wins; every other call gets the documented not_found", () =>
    withModule(async ({ service }) => {
      const [invite] = await service.createInvites([{ email: "race@example.com" }])
      const settled = await Promise.allSettled(Array.from({ length: 20 }, () => service.acceptInvite(invite.token)))
      const won = settled.filter((outcome) => outcome.status === "fulfilled")
      const lost = settled.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected")
      assert.equal(won.length, 1)
      assert.equal(lost.length, 19)
      for (const { reason } of lost) assertExactMedusaError(reason, "not_found", notFound(invite.id))
      assert.equal((await service.listUsers({ email: "race@example.com" })).length, 1)
    }))
})

describe("SQLite: reads do not wait behind writes", { skip: BACKEND !== "sqlite" }, () => {
  test("a list resolves while a write waits for another connection's write lock", () =>
    withModule(async ({ service, database }) => {
      await service.createInvites([{ email: "seen@example.com" }])
      // Another module on the same file holds SQLite's write lock in an open transaction.
      const other = new UserModuleService({ jwt_secret: SECRET, database })
      const tx = await other.begin()
      const order: string[] = []
      const write = service.createInvites([{ email: "queued@example.com" }]).then(() => order.push("write"))
      const read = service.listInvites().then((invites) => {
        order.push("read")
        return invites.map((invite) => invite.email)
      })
      assert.deepEqual(await read, ["seen@example.com"])
      assert.deepEqual(order, ["read"], "the read did not wait for the pending write")
      await tx.rollback()
      await write
      assert.deepEqual(order, ["read", "write"])
      await other.close()
    }))
})

test("MedusaError is the class of every refusal above", () => {
  assert.equal(typeof MedusaError.isMedusaError, "function")
})

describe("inputs that used to exhaust memory or echo themselves", () => {
  test("a cyclic filter, id or config is refused while it is read", () =>
    withModule(async ({ service }) => {
      const cyclic: Record<string, unknown> = {}
      cyclic.x = cyclic
      cyclic.y = cyclic
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ email: cyclic })),
        "invalid_data",
        "The filters contain a cycle (an object that contains itself)",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({}, { order: cyclic })),
        "invalid_data",
        "The find config contain a cycle (an object that contains itself)",
      )
      // The same object twice, side by side, is no cycle.
      const shared = { $ne: "x@example.com" }
      assert.deepEqual(await service.listInvites({ $and: [{ email: shared }, { email: shared }] }), [])
    }))

  test("a sparse array claiming billions of items is refused without being walked", () =>
    withModule(async ({ service }) => {
      const huge: string[] = []
      huge.length = 2 ** 32 - 1
      const message = `An array of ${2 ** 32 - 1} items is longer than the 1000000 one call accepts`
      assertExactMedusaError(await rejectionOf(() => service.deleteInvites(huge)), "invalid_data", message)
      assertExactMedusaError(await rejectionOf(() => service.createInvites(huge as any)), "invalid_data", message)
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ id: huge })),
        "invalid_data",
        "The filters are too large: at most 100000 keys and values",
      )
    }))

  test("a throwing eventBus.emit getter is invalid_argument from the constructor", () => {
    const eventBus = {
      get emit(): never {
        throw new Error("getter threw on purpose")
      },
    }
    assert.throws(
      () => new UserModuleService({ jwt_secret: SECRET, database: "sqlite::memory:", eventBus } as any),
      (error: any) => error instanceof MedusaError && error.type === "invalid_argument",
    )
  })

  test("updates, select lists and configs: unreadable or sparse input is refused unread", () =>
    withModule(async ({ service }) => {
      const { proxy, revoke } = Proxy.revocable([], {})
      revoke()
      assertExactMedusaError(
        await rejectionOf(() => service.updateInvites(proxy as any)),
        "invalid_data",
        "The input of updateInvites could not be read: a property access threw",
      )
      const huge: any[] = []
      huge.length = 2 ** 32 - 1
      const tooLong = `An array of ${2 ** 32 - 1} items is longer than the 1000000 one call accepts`
      assertExactMedusaError(await rejectionOf(() => service.updateInvites(huge)), "invalid_data", tooLong)
      assertExactMedusaError(await rejectionOf(() => service.updateUsers(huge)), "invalid_data", tooLong)
      assertExactMedusaError(await rejectionOf(() => service.retrieveInvite("invite_x", { select: huge } as any)), "invalid_data", tooLong)
      assertExactMedusaError(await rejectionOf(() => service.listInvites({}, huge as any)), "invalid_data", "The find config must be an object")
      assertExactMedusaError(await rejectionOf(() => service.listInvites({}, "take 5" as any)), "invalid_data", "The find config must be an object")
    }))

  test("keys and patterns the databases cannot take are refused alike on both backends", () =>
    withModule(async ({ service }) => {
      assertExactMedusaError(
        await rejectionOf(() => service.createInvites({ email: "long-id@example.com", id: "x".repeat(513) })),
        "invalid_data",
        "Value for Invite.id must be at most 512 characters",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.createInvites({ email: "long-key@example.com" }, { idempotencyKey: "k".repeat(513) })),
        "invalid_argument",
        "sharedContext.idempotencyKey must be at most 512 characters",
      )
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ email: { $ilike: "x".repeat(10_001) } })),
        "invalid_data",
        "$ilike on Invite.email takes a pattern of at most 10000 characters",
      )
      const [invite] = await service.createInvites([{ email: "fits@example.com", id: "i".repeat(512) }])
      assert.equal(invite.id.length, 512)
      assert.deepEqual((await service.listInvites({ email: { $like: "%".repeat(10_000) } })).map((found) => found.id), [invite.id])
    }))

  test("an unknown operator or option value comes back cut, not whole", () =>
    withModule(async ({ service }) => {
      const cut = `${"k".repeat(254)}...`
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ email: { ["k".repeat(10_000)]: "x" } } as any)),
        "invalid_data",
        `Unsupported operator ${cut} on Invite.email`,
      )
      assert.throws(
        () => new UserModuleService({ jwt_secret: SECRET, database: "k".repeat(1 << 20) }),
        (error: any) => error.type === "invalid_argument" && error.message.startsWith(`Unsupported database URL scheme "${cut}"`) && error.message.length < 1_000,
      )
    }))

  test("metadata 1,000 levels deep is updated like any other (the merge is shallow)", () =>
    withModule(async ({ service }) => {
      let deep: Record<string, unknown> = { leaf: true }
      for (let i = 0; i < 1_000; i++) deep = { n: deep }
      const [invite] = await service.createInvites([{ email: "deep@example.com", metadata: { keep: 1, drop: "x", z: 2 } }])
      const updated = await service.updateInvites({ id: invite.id, metadata: { deep, drop: "" } })
      assert.deepEqual(updated.metadata, { keep: 1, z: 2, deep })
      const again = await service.updateInvites({ id: invite.id, metadata: { keep: 3 } })
      assert.deepEqual(again.metadata, { keep: 3, z: 2, deep })
    }))

  test("a megabyte id or key comes back cut in the message, not whole", () =>
    withModule(async ({ service }) => {
      const long = "x".repeat(1 << 20)
      const cut = `${"x".repeat(254)}...`
      assertExactMedusaError(await rejectionOf(() => service.retrieveInvite(long)), "not_found", notFound(cut))
      assertExactMedusaError(
        await rejectionOf(() => service.refreshInviteTokens([long])),
        "invalid_data",
        `The following invites do not exist: ${cut}`,
      )
      assertExactMedusaError(
        await rejectionOf(() => service.listInvites({ [long]: 1 })),
        "invalid_data",
        `Trying to query by not existing property Invite.${cut}`,
      )
      assertExactMedusaError(await rejectionOf(() => service.retrieveUser(long)), "not_found", `User with id: ${cut} was not found`)
    }))
})
