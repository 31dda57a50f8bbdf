// The write side of the invite lifecycle (docs/behaviour.md, "updateInvites",
// "deleteInvites", "softDeleteInvites", "restoreInvites"): exact return values, exact event
// lists (one emit per call, `{ internal: true }`, after commit), exact errors with nothing
// changed, change detection for updated_at, and the email/id rules around soft deletion.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import type { EventMessage, InviteDTO, UpdateInviteDTO } from ".."
import {
  BACKEND,
  INVITE_KEYS,
  MedusaLikeAggregator,
  RecordingBus,
  assertMedusaError,
  count,
  deletedMessage,
  normalize,
  rejection,
  rejectionOf,
  rows,
  tableCounts,
  tokenGeneratedMessage,
  updatedMessage,
  withModule,
  type Message,
  type TestModule,
} from "./helpers"

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ids = (dtos: { id: string }[]) => dtos.map((dto) => dto.id)

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------
/** deepEqual (with Medusa's `options: undefined`) plus the exact key order of each message and of its metadata. */
function assertMessages(actual: EventMessage[], expected: Message[]): void {
  assert.deepStrictEqual(actual, expected.map((message) => ({ ...message, options: undefined })))
  for (const msg of actual) {
    assert.deepEqual(Object.keys(msg), ["name", "metadata", "data", "options"])
    normalize(msg)
  }
}

/** Exactly one emit since the bus was last cleared, with `{ internal: true }`: its messages. */
function onlyEmit(bus: RecordingBus): EventMessage[] {
  assert.equal(bus.calls.length, 1, `exactly one emit per call, got ${bus.calls.length}: ${JSON.stringify(bus.names)}`)
  const [call] = bus.calls
  assert.equal(call.argCount, 2)
  assert.deepStrictEqual(call.options, { internal: true })
  assert.ok(Array.isArray(call.messages))
  return call.messages
}

/** Asserts the one emit of the last call, then clears the bus. */
function assertEmitted(m: TestModule, expected: Message[]): void {
  assertMessages(onlyEmit(m.bus), expected)
  m.bus.calls.length = 0
}

function assertNothingEmitted(m: TestModule): void {
  assert.equal(m.bus.calls.length, 0, `no emit expected, got ${JSON.stringify(m.bus.names)}`)
}

// ---------------------------------------------------------------------------------------------
// Errors and state
// ---------------------------------------------------------------------------------------------
/** `assertMedusaError` (docs/errors.md), with at most one own key (a batch `index`) after Medusa's. */
function assertBatchMedusaError(value: unknown, type: string, msg: string): void {
  const error = assertMedusaError(value, type, msg)
  assert.ok(Object.keys(error).length <= 6, `unexpected own keys ${Object.keys(error)}`)
}

/** Every invite, soft-deleted ones too, in id order (the module's own view of the store). */
async function snapshot(m: TestModule): Promise<InviteDTO[]> {
  return m.service.listInvites({}, { withDeleted: true })
}

function assertFullDto(dto: InviteDTO): void {
  assert.equal(Object.getPrototypeOf(dto), Object.prototype)
  assert.deepEqual(Object.keys(dto), INVITE_KEYS)
  assert.ok(dto.expires_at instanceof Date)
  assert.ok(dto.created_at instanceof Date)
  assert.ok(dto.updated_at instanceof Date)
}

function assertWithin(date: Date | null, from: number, to: number, what: string): void {
  assert.ok(date instanceof Date, `${what} is a Date`)
  const ms = date.getTime()
  assert.ok(ms >= from && ms <= to, `${what} ${date.toISOString()} within [${new Date(from).toISOString()}, ${new Date(to).toISOString()}]`)
}

/**
 * Runs an update (or any write) between two clock readings, after a short pause so that a
 * new updated_at differs from the stored one.
 */
async function timed<T>(call: () => Promise<T>): Promise<{ result: T; from: number; to: number }> {
  await delay(5)
  const from = Date.now()
  const result = await call()
  const to = Date.now()
  return { result, from, to }
}

/** Three invites with caller ids a < b < c, the bus cleared afterwards. */
async function seedThree(m: TestModule): Promise<InviteDTO[]> {
  const created = await m.service.createInvites([
    { id: "invite_a", email: "a@x.com", metadata: { k: "v", drop: "me" }, roles: ["admin"] },
    { id: "invite_b", email: "b@x.com" },
    { id: "invite_c", email: "c@x.com", accepted: true },
  ])
  m.bus.calls.length = 0
  return created
}

// =============================================================================================
describe("updateInvites: fields", () => {
  test("accepted: the full DTO back (token, created_at, expires_at unchanged; updated_at = now); stored; events", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const { result, from, to } = await timed(() => m.service.updateInvites({ id: a.id, accepted: true }))
      assert.ok(!Array.isArray(result), "an object in gives an object out")
      assertFullDto(result)
      assertWithin(result.updated_at, from, to, "updated_at")
      assert.ok(result.updated_at.getTime() > a.updated_at.getTime())
      assert.deepStrictEqual(result, { ...a, accepted: true, updated_at: result.updated_at })
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), result)
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
      // and back
      const back = await m.service.updateInvites({ id: a.id, accepted: false })
      assert.equal(back.accepted, false)
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
    })
  })

  test("metadata is merged shallowly; a key set to \"\" is removed; metadata: null clears it", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const merged = await m.service.updateInvites({ id: a.id, metadata: { drop: "", new: 1 } })
      assert.deepStrictEqual(merged.metadata, { k: "v", new: 1 })
      assert.deepStrictEqual((await m.service.retrieveInvite(a.id)).metadata, { k: "v", new: 1 })
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])

      // shallow: a nested object is replaced, not merged
      await m.service.updateInvites({ id: a.id, metadata: { nested: { b: 1, keep: true } } })
      const replaced = await m.service.updateInvites({ id: a.id, metadata: { nested: { c: 2 } } })
      assert.deepStrictEqual(replaced.metadata, { k: "v", new: 1, nested: { c: 2 } })

      // overwrite a value, remove another, add one, in one call
      const mixed = await m.service.updateInvites({ id: a.id, metadata: { k: "w", new: "", z: [1, 2] } })
      assert.deepStrictEqual(mixed.metadata, { k: "w", nested: { c: 2 }, z: [1, 2] })
      assert.deepStrictEqual((await m.service.retrieveInvite(a.id)).metadata, { k: "w", nested: { c: 2 }, z: [1, 2] })

      // null clears
      m.bus.calls.length = 0
      const cleared = await m.service.updateInvites({ id: a.id, metadata: null })
      assert.equal(cleared.metadata, null)
      assert.equal((await m.service.retrieveInvite(a.id)).metadata, null)
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])

      // onto a null metadata: the object given
      assert.equal(b.metadata, null)
      const fresh = await m.service.updateInvites({ id: b.id, metadata: { first: true } })
      assert.deepStrictEqual(fresh.metadata, { first: true })
      assert.deepStrictEqual((await m.service.retrieveInvite(b.id)).metadata, { first: true })
    })
  })

  test("roles change, to another array, to [] and to null", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const two = await m.service.updateInvites({ id: a.id, roles: ["editor", "viewer"] })
      assert.deepStrictEqual(two, { ...a, roles: ["editor", "viewer"], updated_at: two.updated_at })
      assert.deepStrictEqual((await m.service.retrieveInvite(a.id)).roles, ["editor", "viewer"])
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
      assert.deepStrictEqual((await m.service.updateInvites({ id: a.id, roles: [] })).roles, [])
      assert.deepStrictEqual((await m.service.retrieveInvite(a.id)).roles, [])
      assert.equal((await m.service.updateInvites({ id: a.id, roles: null })).roles, null)
      assert.equal((await m.service.retrieveInvite(a.id)).roles, null)
      // onto an invite without roles
      assert.deepStrictEqual((await m.service.updateInvites({ id: b.id, roles: ["r1"] })).roles, ["r1"])
      assert.deepStrictEqual((await m.service.retrieveInvite(b.id)).roles, ["r1"])
    })
  })

  test("email change: stored, the old email is free, the new one is held; the token is not touched", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const { result, from, to } = await timed(() => m.service.updateInvites({ id: a.id, email: "new-a@x.com" }))
      assert.deepStrictEqual(result, { ...a, email: "new-a@x.com", updated_at: result.updated_at })
      assertWithin(result.updated_at, from, to, "updated_at")
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
      assert.deepEqual(ids(await m.service.listInvites({ email: "new-a@x.com" })), [a.id])
      assert.deepEqual(await m.service.listInvites({ email: "a@x.com" }), [])
      // the old email can be invited again, the new one cannot
      const again = await m.service.createInvites({ email: "a@x.com" })
      assert.equal(again.email, "a@x.com")
      assertBatchMedusaError(
        await rejection(m.service.createInvites({ email: "new-a@x.com" })),
        "invalid_data",
        "Invite with email: new-a@x.com, already exists.",
      )
    })
  })

  test("expires_at from a Date and from an ISO string", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const fromDate = await m.service.updateInvites({ id: a.id, expires_at: new Date("2031-02-03T04:05:06.789Z") })
      assert.ok(fromDate.expires_at instanceof Date)
      assert.equal(fromDate.expires_at.toISOString(), "2031-02-03T04:05:06.789Z")
      assert.deepStrictEqual(fromDate, { ...a, expires_at: new Date("2031-02-03T04:05:06.789Z"), updated_at: fromDate.updated_at })
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])

      const fromString = await m.service.updateInvites({ id: b.id, expires_at: "2020-01-01T00:00:00.000Z" })
      assert.equal(fromString.expires_at.toISOString(), "2020-01-01T00:00:00.000Z")
      assert.equal((await m.service.retrieveInvite(b.id)).expires_at.toISOString(), "2020-01-01T00:00:00.000Z")
      assert.equal((await m.service.retrieveInvite(a.id)).expires_at.toISOString(), "2031-02-03T04:05:06.789Z")
    })
  })

  test("several fields at once", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const result = await m.service.updateInvites({
        id: a.id,
        accepted: true,
        email: "multi@x.com",
        roles: ["r"],
        metadata: { k: "", m: 1 },
        expires_at: "2032-01-01T00:00:00.000Z",
      })
      assert.deepStrictEqual(result, {
        ...a,
        email: "multi@x.com",
        accepted: true,
        expires_at: new Date("2032-01-01T00:00:00.000Z"),
        metadata: { drop: "me", m: 1 },
        roles: ["r"],
        updated_at: result.updated_at,
      })
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), result)
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
    })
  })

  test("token, created_at, updated_at, deleted_at and unknown keys in the input are ignored", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const result = await m.service.updateInvites({
        id: a.id,
        token: "caller-token",
        created_at: "2000-01-01T00:00:00.000Z",
        updated_at: "2000-01-01T00:00:00.000Z",
        deleted_at: "2000-01-01T00:00:00.000Z",
        unknown: 1,
        roles: ["a"],
      } as UpdateInviteDTO) // deliberately with keys UpdateInviteDTO does not declare
      assertFullDto(result)
      assert.equal(result.token, a.token)
      assert.ok(!("unknown" in result))
      assert.deepStrictEqual(result, { ...a, roles: ["a"], updated_at: result.updated_at })
      assert.ok(result.updated_at.getTime() > new Date("2000-01-01T00:00:00.000Z").getTime())
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), result)
      assertEmitted(m, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])

      // token alone is no change at all
      const tokenOnly = await m.service.updateInvites({ id: a.id, token: "other" })
      assert.deepStrictEqual(tokenOnly, result)
      assertEmitted(m, [tokenGeneratedMessage([a.id])])
    })
  })
})

// =============================================================================================
describe("updateInvites: change detection, shapes and events", () => {
  test("only the id: nothing changes, updated_at is kept, no user.invite.updated but still token_generated", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      await delay(5)
      const result = await m.service.updateInvites({ id: a.id })
      assert.deepStrictEqual(result, a)
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), a)
      assertEmitted(m, [tokenGeneratedMessage([a.id])])
    })
  })

  test("values equal to the stored ones are no change (updated_at kept, no updated event)", async () => {
    await withModule(async (m) => {
      const [a, , c] = await seedThree(m)
      await delay(5)
      const same = await m.service.updateInvites([
        { id: a.id, accepted: false, email: "a@x.com", roles: ["admin"], expires_at: a.expires_at },
        { id: c.id, accepted: true },
      ])
      assert.deepStrictEqual(same, [a, c])
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), a)
      assertEmitted(m, [tokenGeneratedMessage([a.id, c.id])])
    })
  })

  test("a batch: array out in input order; updated per CHANGED row, then one token_generated with every input id", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const { result, from, to } = await timed(() =>
        m.service.updateInvites([
          { id: c.id, accepted: false },
          { id: b.id },
          { id: a.id, metadata: { x: 1 } },
        ]),
      )
      assert.ok(Array.isArray(result))
      assert.deepEqual(ids(result), [c.id, b.id, a.id])
      for (const dto of result) assertFullDto(dto)
      assert.deepStrictEqual(result[0], { ...c, accepted: false, updated_at: result[0].updated_at })
      assert.deepStrictEqual(result[1], b, "the unchanged row keeps its updated_at")
      assert.deepStrictEqual(result[2], { ...a, metadata: { k: "v", drop: "me", x: 1 }, updated_at: result[2].updated_at })
      assertWithin(result[0].updated_at, from, to, "updated_at of c")
      assertWithin(result[2].updated_at, from, to, "updated_at of a")
      assert.deepStrictEqual(await snapshot(m), [result[2], b, result[0]])
      assertEmitted(m, [updatedMessage(c.id), updatedMessage(a.id), tokenGeneratedMessage([c.id, b.id, a.id])])
    })
  })

  test("an array of one: an array back; token_generated data.id is a string", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const result = await m.service.updateInvites([{ id: a.id, accepted: true }])
      assert.ok(Array.isArray(result))
      assert.equal(result.length, 1)
      assert.deepStrictEqual(result, [{ ...a, accepted: true, updated_at: result[0].updated_at }])
      const messages = onlyEmit(m.bus)
      assertMessages(messages, [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
      assert.equal(typeof (messages[1].data as { id: unknown }).id, "string")
    })
  })

  test("no change in a batch: token_generated still lists every input id as an array", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const result = await m.service.updateInvites([{ id: b.id }, { id: a.id }])
      assert.deepStrictEqual(result, [b, a])
      assertEmitted(m, [tokenGeneratedMessage([b.id, a.id])])
    })
  })

  test("the same id twice in one call: the last item for it applies; one DTO, one user.invite.updated and one token_generated id for it", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const stored = () => rows<Record<string, unknown>>(m.file, `select id, email, accepted, metadata, updated_at from "invite" order by id`)
      // a twice, each time changing something: only the last item (accepted) counts, as in Medusa
      const { result, from, to } = await timed(() =>
        m.service.updateInvites([{ id: a.id, metadata: { x: 1 }, email: "moved@x.com" }, { id: b.id, accepted: true }, { id: a.id, accepted: true }]),
      )
      assert.deepEqual(ids(result), [a.id, b.id])
      assert.deepStrictEqual(result[0], { ...a, accepted: true, updated_at: result[0].updated_at })
      assert.deepStrictEqual(result[1], { ...b, accepted: true, updated_at: result[1].updated_at })
      assertWithin(result[0].updated_at, from, to, "updated_at of a")
      assertEmitted(m, [updatedMessage(a.id), updatedMessage(b.id), tokenGeneratedMessage([a.id, b.id])])
      assert.deepStrictEqual(await snapshot(m), [result[0], result[1], c])

      // the same change twice: announced once; an array of one back, token_generated data.id a string
      const twice = await m.service.updateInvites([{ id: b.id, accepted: false }, { id: b.id, accepted: false }])
      assert.deepStrictEqual(twice, [{ ...b, accepted: false, updated_at: twice[0].updated_at }])
      const messages = onlyEmit(m.bus)
      assertMessages(messages, [updatedMessage(b.id), tokenGeneratedMessage([b.id])])
      assert.equal(typeof (messages[1].data as { id: unknown }).id, "string")
      m.bus.calls.length = 0

      // a change undone by the last item is no change: nothing written, no user.invite.updated
      const before = stored()
      await delay(5)
      const undone = await m.service.updateInvites([{ id: c.id, accepted: false }, { id: c.id, accepted: true }])
      assert.deepStrictEqual(undone, [c])
      assertEmitted(m, [tokenGeneratedMessage([c.id])])
      assert.deepStrictEqual(stored(), before)
    })
  })

  test("[] → [], nothing written, no emit", async () => {
    await withModule(async (m) => {
      await seedThree(m)
      const before = await snapshot(m)
      assert.deepStrictEqual(await m.service.updateInvites([]), [])
      assertNothingEmitted(m)
      assert.deepStrictEqual(await snapshot(m), before)
    })
  })

  test("eventGroupId is copied into every message's metadata", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      await m.service.updateInvites([{ id: a.id, accepted: true }, { id: b.id }], { eventGroupId: "grp-1" })
      assertEmitted(m, [updatedMessage(a.id, "grp-1"), tokenGeneratedMessage([a.id, b.id], "grp-1")])
    })
  })

  test("a messageAggregator: earlier messages first, all in one emit, then cleared", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const aggregator = new MedusaLikeAggregator()
      const pre: EventMessage = { name: "pre.existing", metadata: { source: "t", object: "o", action: "pre" }, data: { id: "p" }, options: undefined }
      aggregator.save(pre)
      await m.service.updateInvites({ id: a.id, accepted: true }, { messageAggregator: aggregator })
      const messages = onlyEmit(m.bus)
      assert.equal(messages[0], pre)
      assertMessages(messages.slice(1), [updatedMessage(a.id), tokenGeneratedMessage([a.id])])
      assert.equal(aggregator.count(), 0)
      assert.equal(aggregator.calls.at(-1), "clearMessages")
    })
  })
})

// =============================================================================================
describe("updateInvites: errors change nothing", () => {
  test("unknown ids → not_found `Invite with id \"nope, nope2\" not found`; the known row is untouched", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const before = await snapshot(m)
      await delay(5)
      assertBatchMedusaError(
        await rejectionOf(() =>
          m.service.updateInvites([
            { id: "nope", accepted: true },
            { id: a.id, accepted: true, metadata: { k: "changed" } },
            { id: "nope2", accepted: true },
          ]),
        ),
        "not_found",
        'Invite with id "nope, nope2" not found',
      )
      assertBatchMedusaError(
        await rejectionOf(() => m.service.updateInvites([{ id: "nope", accepted: true }, { id: "nope2", accepted: true }])),
        "not_found",
        'Invite with id "nope, nope2" not found',
      )
      assertBatchMedusaError(await rejectionOf(() => m.service.updateInvites({ id: "nope", accepted: true })), "not_found", 'Invite with id "nope" not found')
      const after = await snapshot(m)
      assert.deepStrictEqual(after, before)
      assert.equal(after[0].updated_at.getTime(), a.updated_at.getTime())
      assert.deepStrictEqual(after[0].metadata, { k: "v", drop: "me" })
      assert.equal(after[0].accepted, false)
      assertNothingEmitted(m)
    })
  })

  test("an item without id counts as id \"\"", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const before = await snapshot(m)
      assertBatchMedusaError(await rejectionOf(() => m.service.updateInvites({ email: "zz@x.com" } as any)), "not_found", 'Invite with id "" not found')
      assertBatchMedusaError(
        await rejectionOf(() => m.service.updateInvites([{ id: a.id, accepted: true }, { accepted: true }, { id: "nope" }] as any)),
        "not_found",
        'Invite with id ", nope" not found',
      )
      assert.deepStrictEqual(await snapshot(m), before)
      assertNothingEmitted(m)
    })
  })

  test("a soft-deleted id counts as unknown", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      await m.service.softDeleteInvites(b.id)
      m.bus.calls.length = 0
      const before = await snapshot(m)
      assertBatchMedusaError(
        await rejectionOf(() => m.service.updateInvites([{ id: a.id, accepted: true }, { id: b.id, accepted: true }])),
        "not_found",
        `Invite with id "${b.id}" not found`,
      )
      assert.deepStrictEqual(await snapshot(m), before)
      assertNothingEmitted(m)
    })
  })

  test("email onto a live invite's email → invalid_data `Invite with email: <email>, already exists.`, nothing changed", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const before = await snapshot(m)
      assertBatchMedusaError(
        await rejectionOf(() => m.service.updateInvites({ id: b.id, email: "c@x.com" })),
        "invalid_data",
        "Invite with email: c@x.com, already exists.",
      )
      // in a batch with a valid change first: all-or-nothing
      assertBatchMedusaError(
        await rejectionOf(() =>
          m.service.updateInvites([
            { id: a.id, expires_at: new Date("2020-01-01T00:00:00.000Z"), accepted: true },
            { id: b.id, email: "c@x.com" },
          ]),
        ),
        "invalid_data",
        "Invite with email: c@x.com, already exists.",
      )
      assert.deepStrictEqual(await snapshot(m), before)
      assert.deepStrictEqual(await m.service.retrieveInvite(c.id), c)
      assertNothingEmitted(m)
    })
  })

  test("email onto a soft-deleted invite's email is allowed (soft delete frees it)", async () => {
    await withModule(async (m) => {
      const [, b, c] = await seedThree(m)
      await m.service.softDeleteInvites([c.id])
      m.bus.calls.length = 0
      const moved = await m.service.updateInvites({ id: b.id, email: "c@x.com" })
      assert.equal(moved.email, "c@x.com")
      assertEmitted(m, [updatedMessage(b.id), tokenGeneratedMessage([b.id])])
    })
  })

  test("an invalid email is refused as in create, nothing changed", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const before = await snapshot(m)
      assertBatchMedusaError(await rejectionOf(() => m.service.updateInvites({ id: a.id, email: "nope" })), "invalid_data", "Invalid email for invite: 'nope'")
      assertBatchMedusaError(await rejectionOf(() => m.service.updateInvites({ id: a.id, email: "" })), "invalid_data", "Invalid email for invite: ''")
      assert.deepStrictEqual(await snapshot(m), before)
      assertNothingEmitted(m)
    })
  })
})

// =============================================================================================
describe("updateInvites in a module transaction", () => {
  test("events held until commit (one emit for the call); the change invisible outside until then", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const tx = await m.service.begin()
      const result = await m.service.updateInvites([{ id: a.id, accepted: true }, { id: b.id }], { transactionManager: tx, eventGroupId: "g-tx" })
      assert.deepStrictEqual(result, [{ ...a, accepted: true, updated_at: result[0].updated_at }, b])
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id, {}, { transactionManager: tx }), result[0])
      assertNothingEmitted(m)
      // an independent reader still sees the committed row
      assert.deepEqual(rows<{ accepted: number }>(m.file, `select accepted from "invite" where id = '${a.id}'`).map((r) => Number(r.accepted)), [0])
      if (BACKEND === "postgres") assert.equal((await m.service.retrieveInvite(a.id)).accepted, false)
      await tx.commit()
      assertEmitted(m, [updatedMessage(a.id, "g-tx"), tokenGeneratedMessage([a.id, b.id], "g-tx")])
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), result[0])
    })
  })

  test("rolled back: nothing changed, nothing emitted", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      const before = await snapshot(m)
      const tx = await m.service.begin()
      await m.service.updateInvites({ id: a.id, metadata: null, email: "rolled@x.com" }, { transactionManager: tx })
      await tx.rollback()
      assertNothingEmitted(m)
      assert.deepStrictEqual(await snapshot(m), before)
    })
  })
})

// =============================================================================================
describe("deleteInvites", () => {
  test("hard delete: undefined back, the rows gone (count, list withDeleted), user.invite.deleted per row", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const result = await m.service.deleteInvites([a.id, c.id])
      assert.equal(result, undefined)
      assertEmitted(m, [deletedMessage(a.id), deletedMessage(c.id)])
      assert.equal(count(m.file), 1)
      assert.deepStrictEqual(await snapshot(m), [b])
      assertBatchMedusaError(await rejection(m.service.retrieveInvite(a.id, { withDeleted: true })), "not_found", `Invite with id: ${a.id} was not found`)
    })
  })

  test("a single id string", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      assert.equal(await m.service.deleteInvites(b.id), undefined)
      assertEmitted(m, [deletedMessage(b.id)])
      assert.deepStrictEqual(await snapshot(m), [a, c])
    })
  })

  test("unknown ids are ignored; nothing matched → no emit at all; [] → undefined, no emit", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      assert.equal(await m.service.deleteInvites(["nothere"]), undefined)
      assert.equal(await m.service.deleteInvites("nothere"), undefined)
      assert.equal(await m.service.deleteInvites([]), undefined)
      assertNothingEmitted(m)
      assert.equal(count(m.file), 3)
      assert.equal(await m.service.deleteInvites(["nothere", b.id, "nothere2"]), undefined)
      assertEmitted(m, [deletedMessage(b.id)])
      assert.deepStrictEqual(await snapshot(m), [a, c])
    })
  })

  test("a soft-deleted invite is hard-deleted too (with its event)", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      await m.service.softDeleteInvites([a.id])
      m.bus.calls.length = 0
      await m.service.deleteInvites([a.id, b.id])
      assertEmitted(m, [deletedMessage(a.id), deletedMessage(b.id)])
      assert.equal(count(m.file), 1)
      assert.deepEqual(ids(await snapshot(m)), ["invite_c"])
    })
  })

  test("the roles go with the row, and the id and email can be used again (no stale roles or metadata)", async () => {
    await withModule(async (m) => {
      const old = await m.service.createInvites({ id: "invite_reuse", email: "reuse@x.com", roles: ["admin", "owner"], metadata: { m: 1 } })
      if (BACKEND === "postgres") assert.equal(tableCounts(m.file, ["medusa_invites_roles"]).medusa_invites_roles, 1)
      m.bus.calls.length = 0
      await m.service.deleteInvites("invite_reuse")
      assertEmitted(m, [deletedMessage("invite_reuse")])
      assert.equal(count(m.file), 0)
      assert.deepEqual(await m.service.listInvites({}, { withDeleted: true }), [])
      if (BACKEND === "postgres") assert.equal(tableCounts(m.file, ["medusa_invites_roles"]).medusa_invites_roles, 0)

      const again = await m.service.createInvites({ id: "invite_reuse", email: "reuse@x.com" })
      assert.equal(again.id, "invite_reuse")
      assert.equal(again.roles, null)
      assert.equal(again.metadata, null)
      assert.notEqual(again.token, old.token)
      assert.deepStrictEqual(await m.service.retrieveInvite("invite_reuse"), again)
      assert.deepStrictEqual(await m.service.listInvites({}, { withDeleted: true }), [again])
    })
  })

  test("eventGroupId; in a transaction the events wait for commit and a rollback drops them", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      await m.service.deleteInvites([a.id], { eventGroupId: "g-del" })
      assertEmitted(m, [deletedMessage(a.id, "g-del")])

      const rolled = await m.service.begin()
      await m.service.deleteInvites([b.id], { transactionManager: rolled })
      assert.equal(count(m.file), 2, "an independent reader still sees the row")
      await rolled.rollback()
      assertNothingEmitted(m)
      assert.deepStrictEqual(await snapshot(m), [b, c])

      const tx = await m.service.begin()
      await m.service.deleteInvites([c.id], { transactionManager: tx })
      assertNothingEmitted(m)
      assert.equal(count(m.file), 2)
      await tx.commit()
      assertEmitted(m, [deletedMessage(c.id)])
      assert.deepStrictEqual(await snapshot(m), [b])
    })
  })
})

// =============================================================================================
describe("softDeleteInvites", () => {
  test("returns { invite_id: [ids, input order] }; deleted_at = now; hidden from list and retrieve; events per row", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const { result, from, to } = await timed(() => m.service.softDeleteInvites([c.id, a.id]))
      assert.equal(Object.getPrototypeOf(result), Object.prototype)
      assert.deepStrictEqual(result, { invite_id: [c.id, a.id] })
      assert.deepEqual(Object.keys(result), ["invite_id"])
      assertEmitted(m, [deletedMessage(c.id), deletedMessage(a.id)])

      assert.deepStrictEqual(await m.service.listInvites(), [b])
      assert.equal(count(m.file), 3, "the rows are still stored")
      const all = await snapshot(m)
      assert.deepEqual(ids(all), [a.id, b.id, c.id])
      assertWithin(all[0].deleted_at, from, to, "deleted_at of a")
      assertWithin(all[2].deleted_at, from, to, "deleted_at of c")
      assert.equal(all[1].deleted_at, null)
      // nothing else of the row changes (updated_at aside)
      assert.deepStrictEqual({ ...all[0], deleted_at: null, updated_at: null }, { ...a, updated_at: null })
      assertBatchMedusaError(await rejection(m.service.retrieveInvite(a.id)), "not_found", `Invite with id: ${a.id} was not found`)
    })
  })

  test("a single id string", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      assert.deepStrictEqual(await m.service.softDeleteInvites(a.id), { invite_id: [a.id] })
      assertEmitted(m, [deletedMessage(a.id)])
    })
  })

  test("unknown or already soft-deleted ids → {} and no emit; mixed input soft-deletes only the live ones", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      assert.deepStrictEqual(await m.service.softDeleteInvites(["nothere"]), {})
      assert.deepStrictEqual(await m.service.softDeleteInvites([]), {})
      assertNothingEmitted(m)
      await m.service.softDeleteInvites([a.id])
      m.bus.calls.length = 0
      const deletedAt = (await m.service.retrieveInvite(a.id, { withDeleted: true })).deleted_at
      await delay(5)
      assert.deepStrictEqual(await m.service.softDeleteInvites([a.id]), {})
      assertNothingEmitted(m)
      assert.deepStrictEqual((await m.service.retrieveInvite(a.id, { withDeleted: true })).deleted_at, deletedAt, "deleted_at is kept")

      const mixed = await m.service.softDeleteInvites(["nothere", c.id, a.id, b.id])
      assert.deepStrictEqual(mixed, { invite_id: [c.id, b.id] })
      assertEmitted(m, [deletedMessage(c.id), deletedMessage(b.id)])
      assert.deepEqual(await m.service.listInvites(), [])
    })
  })

  test("frees the email: a new invite with it can be created; the id stays taken", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      await m.service.softDeleteInvites([a.id])
      const again = await m.service.createInvites({ email: "a@x.com" })
      assert.equal(again.email, "a@x.com")
      assert.notEqual(again.id, a.id)
      assertBatchMedusaError(
        await rejection(m.service.createInvites({ id: a.id, email: "other@x.com" })),
        "invalid_data",
        `Invite with id: ${a.id}, already exists.`,
      )
      assert.deepEqual(ids(await m.service.listInvites({ email: "a@x.com" }, { withDeleted: true })).sort(), [a.id, again.id].sort())
    })
  })

  test("eventGroupId (sharedContext is the third argument)", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      assert.deepStrictEqual(await m.service.softDeleteInvites([a.id, b.id], {}, { eventGroupId: "g-soft" }), { invite_id: [a.id, b.id] })
      assertEmitted(m, [deletedMessage(a.id, "g-soft"), deletedMessage(b.id, "g-soft")])
      assert.deepStrictEqual(await m.service.softDeleteInvites("invite_c", undefined, { eventGroupId: "g2" }), { invite_id: ["invite_c"] })
      assertEmitted(m, [deletedMessage("invite_c", "g2")])
    })
  })

  test("in a transaction: events after commit; a rollback drops them and keeps the invite live", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      const rolled = await m.service.begin()
      assert.deepStrictEqual(await m.service.softDeleteInvites([a.id], {}, { transactionManager: rolled }), { invite_id: [a.id] })
      assert.deepEqual(
        rows<{ deleted_at: unknown }>(m.file, `select deleted_at from "invite" where id = '${a.id}'`).map((r) => r.deleted_at),
        [null],
        "an independent reader still sees it live",
      )
      await rolled.rollback()
      assertNothingEmitted(m)
      assert.deepStrictEqual(await m.service.retrieveInvite(a.id), a)

      const tx = await m.service.begin()
      await m.service.softDeleteInvites(b.id, undefined, { transactionManager: tx })
      assertNothingEmitted(m)
      await tx.commit()
      assertEmitted(m, [deletedMessage(b.id)])
      assert.deepEqual(ids(await m.service.listInvites()), [a.id, "invite_c"])
    })
  })
})

// =============================================================================================
describe("restoreInvites", () => {
  test("returns { invite_id: [...] }; deleted_at back to null; visible again; NO events", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      await m.service.softDeleteInvites([a.id, c.id])
      m.bus.calls.length = 0
      const result = await m.service.restoreInvites([c.id, a.id])
      assert.equal(Object.getPrototypeOf(result), Object.prototype)
      assert.deepStrictEqual(result, { invite_id: [c.id, a.id] })
      assert.deepEqual(Object.keys(result), ["invite_id"])
      assertNothingEmitted(m)
      const all = await m.service.listInvites()
      assert.deepEqual(ids(all), [a.id, b.id, c.id])
      for (const [restored, original] of [
        [all[0], a],
        [all[2], c],
      ]) {
        assert.equal(restored.deleted_at, null)
        assert.deepStrictEqual({ ...restored, updated_at: null }, { ...original, updated_at: null })
      }
      // the email is held again
      assertBatchMedusaError(
        await rejection(m.service.createInvites({ email: "a@x.com" })),
        "invalid_data",
        "Invite with email: a@x.com, already exists.",
      )
    })
  })

  test("a single id string; eventGroupId changes nothing (still no events)", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      await m.service.softDeleteInvites(a.id)
      m.bus.calls.length = 0
      assert.deepStrictEqual(await m.service.restoreInvites(a.id, undefined, { eventGroupId: "g-r" }), { invite_id: [a.id] })
      assertNothingEmitted(m)
      assert.equal((await m.service.retrieveInvite(a.id)).deleted_at, null)
    })
  })

  test("unknown ids → {} and no emit", async () => {
    await withModule(async (m) => {
      await seedThree(m)
      const before = await snapshot(m)
      assert.deepStrictEqual(await m.service.restoreInvites(["nothere"]), {})
      assert.deepStrictEqual(await m.service.restoreInvites("nothere"), {})
      assert.deepStrictEqual(await m.service.restoreInvites([]), {})
      assertNothingEmitted(m)
      assert.deepStrictEqual(await snapshot(m), before)
    })
  })

  test("a live id is left as it is and reported, as Medusa does; mixed with soft-deleted and unknown ids → every found id once, in input order", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await seedThree(m)
      const stored = () => rows<{ id: string; deleted_at: number | null; updated_at: number }>(m.file, `select id, deleted_at, updated_at from "invite" order by id`)
      const before = stored()
      assert.deepStrictEqual(await m.service.restoreInvites([a.id]), { invite_id: [a.id] })
      assert.deepStrictEqual(await m.service.restoreInvites(a.id), { invite_id: [a.id] })
      assert.deepStrictEqual(await m.service.restoreInvites([a.id, b.id, a.id]), { invite_id: [a.id, b.id] })
      assert.deepStrictEqual(await m.service.restoreInvites(["nothere"]), {})
      assertNothingEmitted(m)
      assert.deepStrictEqual(stored(), before, "nothing written")

      await m.service.softDeleteInvites([b.id, c.id])
      m.bus.calls.length = 0
      const result = await m.service.restoreInvites([c.id, a.id, "nothere", b.id, c.id])
      assert.deepStrictEqual(result, { invite_id: [c.id, a.id, b.id] })
      assert.deepEqual(Object.keys(result), ["invite_id"])
      assertNothingEmitted(m)
      const after = stored()
      assert.deepEqual(after.map((row) => row.deleted_at), [null, null, null])
      assert.deepStrictEqual(after[0], before[0], "the live one is untouched")
      const listed = await m.service.listInvites()
      assert.deepStrictEqual(listed[0], a)
      assert.deepStrictEqual(
        listed.map((dto) => ({ ...dto, updated_at: null })),
        [a, b, c].map((dto) => ({ ...dto, updated_at: null })),
      )
    })
  })

  test("blocked by a newer live invite with the same email → invalid_data, nothing restored (all-or-nothing)", async () => {
    await withModule(async (m) => {
      const [a, b] = await seedThree(m)
      await m.service.softDeleteInvites([a.id, b.id])
      const newer = await m.service.createInvites({ email: "b@x.com" })
      m.bus.calls.length = 0
      const before = await snapshot(m)
      assertBatchMedusaError(await rejectionOf(() => m.service.restoreInvites([b.id])), "invalid_data", "Invite with email: b@x.com, already exists.")
      // a (restorable) and b (blocked) in one call: neither is restored
      assertBatchMedusaError(await rejectionOf(() => m.service.restoreInvites([a.id, b.id])), "invalid_data", "Invite with email: b@x.com, already exists.")
      assertBatchMedusaError(await rejectionOf(() => m.service.restoreInvites(b.id)), "invalid_data", "Invite with email: b@x.com, already exists.")
      assert.deepStrictEqual(await snapshot(m), before)
      assert.deepEqual(ids(await m.service.listInvites()).sort(), [newer.id, "invite_c"].sort())
      assertNothingEmitted(m)

      // once the newer one is gone, the restore works
      await m.service.deleteInvites(newer.id)
      m.bus.calls.length = 0
      assert.deepStrictEqual(await m.service.restoreInvites([a.id, b.id]), { invite_id: [a.id, b.id] })
      assertNothingEmitted(m)
      assert.deepEqual(ids(await m.service.listInvites()), [a.id, b.id, "invite_c"])
    })
  })

  test("blocked when an update moved a live invite onto the email", async () => {
    await withModule(async (m) => {
      const [a, , c] = await seedThree(m)
      await m.service.softDeleteInvites([a.id])
      await m.service.updateInvites({ id: c.id, email: "a@x.com" })
      m.bus.calls.length = 0
      assertBatchMedusaError(await rejectionOf(() => m.service.restoreInvites([a.id])), "invalid_data", "Invite with email: a@x.com, already exists.")
      assert.ok((await m.service.retrieveInvite(a.id, { withDeleted: true })).deleted_at instanceof Date)
      assertNothingEmitted(m)
    })
  })

  test("in a transaction: visible inside it, rolled back with it, no events either way", async () => {
    await withModule(async (m) => {
      const [a] = await seedThree(m)
      await m.service.softDeleteInvites([a.id])
      m.bus.calls.length = 0
      const rolled = await m.service.begin()
      assert.deepStrictEqual(await m.service.restoreInvites([a.id], {}, { transactionManager: rolled }), { invite_id: [a.id] })
      assert.equal((await m.service.retrieveInvite(a.id, {}, { transactionManager: rolled })).deleted_at, null)
      await rolled.rollback()
      assert.ok((await m.service.retrieveInvite(a.id, { withDeleted: true })).deleted_at instanceof Date)

      await m.service.transaction(async (tx) => {
        assert.deepStrictEqual(await m.service.restoreInvites(a.id, {}, { transactionManager: tx }), { invite_id: [a.id] })
      })
      assert.equal((await m.service.retrieveInvite(a.id)).deleted_at, null)
      assertNothingEmitted(m)
    })
  })
})
