// The read side of the invite lifecycle (docs/behaviour.md, "retrieveInvite",
// "listInvites"): retrieveInvite, listInvites and listAndCountInvites. Full DTOs equal to what
// createInvites returned, select in DTO key order, skip/take/order/withDeleted, every filter the
// decisions list (ids, emails, q, accepted, time operators, string operators, $or/$and), the
// exact errors, no events, and reads inside a module transaction.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import type { FilterableInviteProps, InviteDTO } from ".."
import { BACKEND, assertInviteDto, assertMedusaError, count, rejection, rejectionOf, withModule, type TestModule } from "./helpers"

const NEGATIVE_OFFSET = "A non-negative integer must be provided to offset."
const FOREIGN =
  "sharedContext.transactionManager was not issued by this medusa-invites module; use service.transaction() or service.begin()"

const ids = (dtos: { id: string }[]) => dtos.map((dto) => dto.id)
const byId = <T extends { id: string }>(dtos: T[]) => [...dtos].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

/**
 * Six invites with caller ids (input order is not id order), for filter and order tests:
 * invite_1 a@x.com, invite_2 Bb@x.com, invite_3 c@y.org (accepted), invite_4 per%cent@x.com,
 * invite_5 under_score@y.org (accepted), invite_6 underxscore@y.org.
 */
async function seedSix(m: TestModule): Promise<InviteDTO[]> {
  const created = await m.service.createInvites([
    { id: "invite_4", email: "per%cent@x.com" },
    { id: "invite_2", email: "Bb@x.com", metadata: { k: "v" } },
    { id: "invite_6", email: "underxscore@y.org" },
    { id: "invite_1", email: "a@x.com", roles: ["admin"] },
    { id: "invite_5", email: "under_score@y.org", accepted: true },
    { id: "invite_3", email: "c@y.org", accepted: true },
  ])
  m.bus.calls.length = 0
  return created
}

// ---------------------------------------------------------------------------------------------
describe("retrieveInvite", () => {
  test("returns the full DTO equal to what createInvites returned (Dates, metadata, roles, key order)", async () => {
    await withModule(async (m) => {
      const [plain, rich] = await m.service.createInvites([
        { email: "plain@x.com" },
        { email: "rich@x.com", accepted: true, metadata: { a: 1, nested: { b: [1, 2] }, s: "t" }, roles: ["admin", "editor"] },
      ])
      const single = await m.service.createInvites({ email: "single@x.com", created_at: "2024-01-02T03:04:05.678Z" })
      m.bus.calls.length = 0
      for (const created of [plain, rich, single]) {
        const found = await m.service.retrieveInvite(created.id)
        assertInviteDto(found)
        assert.deepStrictEqual(found, created)
        assert.notEqual(found, created)
      }
      assert.equal((await m.service.retrieveInvite(single.id)).created_at.toISOString(), "2024-01-02T03:04:05.678Z")
      assert.equal(m.bus.calls.length, 0, "retrieve emits nothing")
    })
  })

  test("config.select: only id + the selected keys, in DTO key order (not select order)", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "sel@x.com", metadata: { k: 1 }, roles: ["r"] })
      const tokenAndDeleted = await m.service.retrieveInvite(invite.id, { select: ["token", "deleted_at"] })
      assert.deepEqual(Object.keys(tokenAndDeleted), ["id", "token", "deleted_at"])
      assert.deepStrictEqual(tokenAndDeleted, { id: invite.id, token: invite.token, deleted_at: null })

      const reversed = await m.service.retrieveInvite(invite.id, { select: ["deleted_at", "roles", "email", "created_at", "metadata"] })
      assert.deepEqual(Object.keys(reversed), ["id", "email", "metadata", "created_at", "deleted_at", "roles"])
      assert.deepStrictEqual(reversed, {
        id: invite.id,
        email: "sel@x.com",
        metadata: { k: 1 },
        created_at: invite.created_at,
        deleted_at: null,
        roles: ["r"],
      })

      const emailOnly = await m.service.retrieveInvite(invite.id, { select: ["email"] })
      assert.deepStrictEqual(emailOnly, { id: invite.id, email: "sel@x.com" })
      assert.deepEqual(Object.keys(emailOnly), ["id", "email"])

      const onlyId = await m.service.retrieveInvite(invite.id, { select: ["id"] })
      assert.deepStrictEqual(onlyId, { id: invite.id })

      // unknown keys are ignored; id is always there
      const unknown = await m.service.retrieveInvite(invite.id, { select: ["nokey"] })
      assert.deepStrictEqual(unknown, { id: invite.id })
      const mixed = await m.service.retrieveInvite(invite.id, { select: ["nokey", "expires_at", "accepted"] })
      assert.deepEqual(Object.keys(mixed), ["id", "accepted", "expires_at"])
      assert.deepStrictEqual(mixed, { id: invite.id, accepted: false, expires_at: invite.expires_at })
    })
  })

  test("an unknown id → not_found `Invite with id: <id> was not found`", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "present@x.com" })
      m.bus.calls.length = 0
      assertMedusaError(await rejectionOf(() => m.service.retrieveInvite("missing")), "not_found", "Invite with id: missing was not found")
      assertMedusaError(
        await rejectionOf(() => m.service.retrieveInvite("invite_01ARZ3NDEKTSV4RRFFQ69G5FAV", { withDeleted: true })),
        "not_found",
        "Invite with id: invite_01ARZ3NDEKTSV4RRFFQ69G5FAV was not found",
      )
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("id undefined, null, \"\" or absent → not_found `invite - id must be defined`", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "present@x.com" })
      for (const call of [
        // @ts-expect-error: deliberately no id (bad input)
        () => m.service.retrieveInvite(),
        () => m.service.retrieveInvite(undefined as any),
        () => m.service.retrieveInvite(null as any),
        () => m.service.retrieveInvite(""),
        () => m.service.retrieveInvite(undefined as any, { withDeleted: true }),
      ]) {
        assertMedusaError(await rejectionOf(call), "not_found", "invite - id must be defined")
      }
    })
  })

  test("a soft-deleted invite is not found unless withDeleted: true; a hard-deleted one never", async () => {
    await withModule(async (m) => {
      const [gone, kept] = await m.service.createInvites([{ email: "gone@x.com" }, { email: "kept@x.com" }])
      const before = Date.now()
      await m.service.softDeleteInvites([gone.id])
      const after = Date.now()
      m.bus.calls.length = 0

      assertMedusaError(await rejectionOf(() => m.service.retrieveInvite(gone.id)), "not_found", `Invite with id: ${gone.id} was not found`)
      assertMedusaError(
        await rejectionOf(() => m.service.retrieveInvite(gone.id, { withDeleted: false })),
        "not_found",
        `Invite with id: ${gone.id} was not found`,
      )

      const found = await m.service.retrieveInvite(gone.id, { withDeleted: true })
      assertInviteDto(found)
      assert.ok(found.deleted_at instanceof Date)
      const deletedAt = found.deleted_at!.getTime()
      assert.ok(deletedAt >= before && deletedAt <= after, `deleted_at ${deletedAt} within [${before}, ${after}]`)
      const { deleted_at: _ignored, updated_at: _u, ...rest } = found
      const { deleted_at: _i2, updated_at: _u2, ...createdRest } = gone
      assert.deepStrictEqual(rest, createdRest)

      const selected = await m.service.retrieveInvite(gone.id, { withDeleted: true, select: ["token", "deleted_at"] })
      assert.deepEqual(Object.keys(selected), ["id", "token", "deleted_at"])
      assert.deepStrictEqual(selected, { id: gone.id, token: gone.token, deleted_at: found.deleted_at })

      // a live invite is found with withDeleted too
      assert.deepStrictEqual(await m.service.retrieveInvite(kept.id, { withDeleted: true }), kept)

      await m.service.deleteInvites([gone.id])
      assertMedusaError(
        await rejectionOf(() => m.service.retrieveInvite(gone.id, { withDeleted: true })),
        "not_found",
        `Invite with id: ${gone.id} was not found`,
      )
    })
  })

  test("a transactionManager this module did not issue → invalid_argument", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "foreign@x.com" })
      assertMedusaError(
        await rejectionOf(() => m.service.retrieveInvite(invite.id, {}, { transactionManager: {} })),
        "invalid_argument",
        FOREIGN,
      )
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listInvites: defaults, select, paging", () => {
  test("no arguments: every live invite as a full DTO, ordered by id ASC (not input order)", async () => {
    await withModule(async (m) => {
      const created = await seedSix(m)
      const all = await m.service.listInvites()
      assert.deepEqual(ids(all), ["invite_1", "invite_2", "invite_3", "invite_4", "invite_5", "invite_6"])
      for (const dto of all) assertInviteDto(dto)
      assert.deepStrictEqual(all, byId(created))
      assert.deepStrictEqual(await m.service.listInvites({}), all)
      assert.deepStrictEqual(await m.service.listInvites({}, {}), all)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("generated ids: default order is id ASC (bytewise)", async () => {
    await withModule(async (m) => {
      const created = await m.service.createInvites(Array.from({ length: 7 }, (_, i) => ({ email: `g${i}@x.com` })))
      const created2 = await m.service.createInvites([{ email: "later@x.com" }, { email: "later2@x.com" }])
      const all = await m.service.listInvites()
      assert.deepStrictEqual(all, byId([...created, ...created2]))
    })
  })

  test("an empty store lists [] (and count 0)", async () => {
    await withModule(async (m) => {
      assert.deepEqual(await m.service.listInvites(), [])
      assert.deepEqual(await m.service.listAndCountInvites(), [[], 0])
    })
  })

  test("config.select: only id + the selected keys, in DTO key order, on every row", async () => {
    await withModule(async (m) => {
      const created = byId(await seedSix(m))
      const rows = await m.service.listInvites({}, { select: ["roles", "email"] })
      assert.deepStrictEqual(
        rows,
        created.map((dto) => ({ id: dto.id, email: dto.email, roles: dto.roles })),
      )
      for (const row of rows) assert.deepEqual(Object.keys(row), ["id", "email", "roles"])

      const tokens = await m.service.listInvites({}, { select: ["deleted_at", "token"] })
      for (const row of tokens) assert.deepEqual(Object.keys(row), ["id", "token", "deleted_at"])
      assert.deepStrictEqual(tokens, created.map((dto) => ({ id: dto.id, token: dto.token, deleted_at: null })))

      assert.deepStrictEqual(await m.service.listInvites({}, { select: ["nokey"] }), created.map((dto) => ({ id: dto.id })))
    })
  })

  test("skip/take: pages are disjoint and together complete, in id order", async () => {
    await withModule(async (m) => {
      const created = await m.service.createInvites([
        { id: "invite_3", email: "p3@x.com" },
        { id: "invite_5", email: "p5@x.com" },
        { id: "invite_1", email: "p1@x.com" },
        { id: "invite_4", email: "p4@x.com" },
        { id: "invite_2", email: "p2@x.com" },
      ])
      const all = byId(created)
      const page1 = await m.service.listInvites({}, { skip: 0, take: 2 })
      const page2 = await m.service.listInvites({}, { skip: 2, take: 2 })
      const page3 = await m.service.listInvites({}, { skip: 4, take: 2 })
      assert.deepEqual(ids(page1), ["invite_1", "invite_2"])
      assert.deepEqual(ids(page2), ["invite_3", "invite_4"])
      assert.deepEqual(ids(page3), ["invite_5"])
      assert.deepStrictEqual([...page1, ...page2, ...page3], all)
      assert.deepEqual(await m.service.listInvites({}, { skip: 5, take: 2 }), [])
      assert.deepEqual(await m.service.listInvites({}, { skip: 99 }), [])
      // take alone, skip alone
      assert.deepEqual(ids(await m.service.listInvites({}, { take: 3 })), ["invite_1", "invite_2", "invite_3"])
      assert.deepEqual(ids(await m.service.listInvites({}, { skip: 3 })), ["invite_4", "invite_5"])
      // take: null or undefined → every row
      assert.deepStrictEqual(await m.service.listInvites({}, { take: null }), all)
      assert.deepStrictEqual(await m.service.listInvites({}, { skip: 0, take: null }), all)
      assert.deepStrictEqual(await m.service.listInvites({}, { take: undefined }), all)
      assert.deepStrictEqual(await m.service.listInvites({}, { skip: 1, take: null }), all.slice(1))
      // paging after an order
      const byEmailDesc = await m.service.listInvites({}, { order: { email: "DESC" }, skip: 1, take: 2 })
      assert.deepEqual(ids(byEmailDesc), ["invite_4", "invite_3"])
    })
  })

  test("skip negative or not an integer → invalid_data `A non-negative integer must be provided to offset.`", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      assertMedusaError(await rejectionOf(() => m.service.listInvites({}, { skip: -1 })), "invalid_data", NEGATIVE_OFFSET)
      assertMedusaError(await rejectionOf(() => m.service.listInvites({}, { take: 1, skip: -1, select: ["email"] })), "invalid_data", NEGATIVE_OFFSET)
      assertMedusaError(await rejectionOf(() => m.service.listInvites({}, { skip: 1.5 })), "invalid_data", NEGATIVE_OFFSET)
      assertMedusaError(await rejectionOf(() => m.service.listAndCountInvites({}, { skip: -3, take: 2 })), "invalid_data", NEGATIVE_OFFSET)
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listInvites: order", () => {
  test("order on email ASC/DESC is bytewise (C collation): \"Bb@x.com\" before \"a@x.com\"", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { id: "invite_1", email: "a@x.com" },
        { id: "invite_2", email: "Bb@x.com" },
        { id: "invite_3", email: "z@x.com" },
        { id: "invite_4", email: "_u@x.com" },
        { id: "invite_5", email: "é@x.com" },
        { id: "invite_6", email: "0@x.com" },
      ])
      const ascending = ["0@x.com", "Bb@x.com", "_u@x.com", "a@x.com", "z@x.com", "é@x.com"]
      const emails = async (order: Record<string, string>) =>
        (await m.service.listInvites({}, { order, select: ["email"] })).map((row) => row.email)
      assert.deepEqual(await emails({ email: "ASC" }), ascending)
      assert.deepEqual(await emails({ email: "DESC" }), [...ascending].reverse())
      // the direction is case-insensitive
      assert.deepEqual(await emails({ email: "asc" }), ascending)
      assert.deepEqual(await emails({ email: "desc" }), [...ascending].reverse())
      assert.deepEqual(await emails({ email: "Desc" }), [...ascending].reverse())
    })
  })

  test("order on created_at with id ASC as the final tie-breaker (ASC and DESC); an explicit id order wins", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { id: "invite_b", email: "b@x.com", created_at: "2024-01-01T00:00:00.000Z" },
        { id: "invite_a", email: "a@x.com", created_at: new Date("2024-01-02T00:00:00.000Z") },
        { id: "invite_d", email: "d@x.com", created_at: "2024-01-01T00:00:00.000Z" },
        { id: "invite_c", email: "c@x.com", created_at: "2024-01-01T00:00:00.000Z" },
        { id: "invite_e", email: "e@x.com", created_at: "2023-12-31T23:59:59.999Z" },
      ])
      const order = async (o: Record<string, string>) => ids(await m.service.listInvites({}, { order: o, select: ["id"] }))
      assert.deepEqual(await order({ created_at: "ASC" }), ["invite_e", "invite_b", "invite_c", "invite_d", "invite_a"])
      assert.deepEqual(await order({ created_at: "DESC" }), ["invite_a", "invite_b", "invite_c", "invite_d", "invite_e"])
      assert.deepEqual(await order({ created_at: "ASC", id: "DESC" }), ["invite_e", "invite_d", "invite_c", "invite_b", "invite_a"])
      assert.deepEqual(await order({ id: "DESC" }), ["invite_e", "invite_d", "invite_c", "invite_b", "invite_a"])
      assert.deepEqual(await order({ id: "ASC" }), ["invite_a", "invite_b", "invite_c", "invite_d", "invite_e"])
    })
  })

  test("tied rows come in id ASC order, whatever the direction, even where email order and insertion order disagree", async () => {
    await withModule(async (m) => {
      const SAME = "2024-01-02T00:00:00.000Z"
      // The tied rows invite_1..3 sort by id as 1 2 3, by email as 2 1 3, and were inserted as
      // 1 3 2: a tie-break by email, by storage order or in reverse gives another order.
      await m.service.createInvites([
        { id: "invite_1", email: "b@x.com", created_at: SAME },
        { id: "invite_3", email: "c@x.com", created_at: SAME },
        { id: "invite_0", email: "z@x.com", created_at: "2024-01-01T00:00:00.000Z", accepted: true },
        { id: "invite_2", email: "a@x.com", created_at: SAME },
      ])
      const order = async (o: Record<string, string>, filters: FilterableInviteProps = {}, page: { skip?: number; take?: number } = {}) =>
        ids(await m.service.listInvites(filters, { order: o, select: ["id"], ...page }))
      assert.deepEqual(await order({ accepted: "ASC" }), ["invite_1", "invite_2", "invite_3", "invite_0"])
      assert.deepEqual(await order({ accepted: "DESC" }), ["invite_0", "invite_1", "invite_2", "invite_3"])
      assert.deepEqual(await order({ created_at: "ASC" }), ["invite_0", "invite_1", "invite_2", "invite_3"])
      assert.deepEqual(await order({ created_at: "DESC" }), ["invite_1", "invite_2", "invite_3", "invite_0"])
      assert.deepEqual(await order({ accepted: "ASC", created_at: "DESC" }), ["invite_1", "invite_2", "invite_3", "invite_0"])
      // filtered by email (which an index on email can answer in email order)
      const emails = { email: ["c@x.com", "a@x.com", "b@x.com"] }
      assert.deepEqual(await order({ accepted: "DESC" }, emails), ["invite_1", "invite_2", "invite_3"])
      assert.deepEqual(await order({ created_at: "DESC" }, { q: "@x.com", accepted: false }), ["invite_1", "invite_2", "invite_3"])
      // pages cut through the tie
      assert.deepEqual(await order({ created_at: "DESC" }, {}, { take: 2 }), ["invite_1", "invite_2"])
      assert.deepEqual(await order({ created_at: "DESC" }, {}, { skip: 1, take: 2 }), ["invite_2", "invite_3"])
      assert.deepEqual(await order({ accepted: "ASC" }, {}, { skip: 2 }), ["invite_3", "invite_0"])
      const [page, total] = await m.service.listAndCountInvites({}, { order: { created_at: "DESC" }, select: ["id"], skip: 1, take: 2 })
      assert.deepEqual([ids(page), total], [["invite_2", "invite_3"], 4])
    })
  })

  test("order on accepted then email (several fields, in the given order)", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      const rows = await m.service.listInvites({}, { order: { accepted: "DESC", email: "ASC" }, select: ["email", "accepted"] })
      assert.deepStrictEqual(rows, [
        { id: "invite_3", email: "c@y.org", accepted: true },
        { id: "invite_5", email: "under_score@y.org", accepted: true },
        { id: "invite_2", email: "Bb@x.com", accepted: false },
        { id: "invite_1", email: "a@x.com", accepted: false },
        { id: "invite_4", email: "per%cent@x.com", accepted: false },
        { id: "invite_6", email: "underxscore@y.org", accepted: false },
      ])
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listInvites: filters", () => {
  test("id and email: a string, an array ([] → no rows), matched exactly and case-sensitively", async () => {
    await withModule(async (m) => {
      const created = byId(await seedSix(m))
      const list = async (filters: FilterableInviteProps) => ids(await m.service.listInvites(filters))
      assert.deepStrictEqual(await m.service.listInvites({ id: "invite_2" }), [created[1]])
      assert.deepEqual(await list({ id: ["invite_3", "invite_1", "nope"] }), ["invite_1", "invite_3"])
      assert.deepEqual(await list({ id: [] }), [])
      assert.deepEqual(await list({ id: "nope" }), [])
      assert.deepStrictEqual(await m.service.listInvites({ email: "Bb@x.com" }), [created[1]])
      assert.deepEqual(await list({ email: "bb@x.com" }), [], "email matching is case-sensitive")
      assert.deepEqual(await list({ email: ["c@y.org", "a@x.com", "zz@x.com"] }), ["invite_1", "invite_3"])
      assert.deepEqual(await list({ email: [] }), [])
      assert.deepEqual(await list({ id: ["invite_1", "invite_2"], email: "Bb@x.com" }), ["invite_2"])
      assert.deepEqual(await list({ id: "invite_1", email: "Bb@x.com" }), [])
    })
  })

  test("q: case-insensitive substring of email", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      const q = async (text: string) => ids(await m.service.listInvites({ q: text }, { select: ["id"] }))
      assert.deepEqual(await q("X.COM"), ["invite_1", "invite_2", "invite_4"])
      assert.deepEqual(await q("x.com"), ["invite_1", "invite_2", "invite_4"])
      assert.deepEqual(await q("bb"), ["invite_2"])
      assert.deepEqual(await q("BB@"), ["invite_2"])
      assert.deepEqual(await q("Y.Org"), ["invite_3", "invite_5", "invite_6"])
      assert.deepEqual(await q("nomatch"), [])
      // full DTOs too
      const [row] = await m.service.listInvites({ q: "B@X" })
      assert.equal(row.email, "Bb@x.com")
      assertInviteDto(row)
    })
  })

  test("q: `%` and `_` are literal characters, not wildcards", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      const q = async (text: string) => ids(await m.service.listInvites({ q: text }, { select: ["id"] }))
      assert.deepEqual(await q("%"), ["invite_4"])
      assert.deepEqual(await q("r%c"), ["invite_4"])
      assert.deepEqual(await q("a%x"), [])
      assert.deepEqual(await q("_"), ["invite_5"])
      assert.deepEqual(await q("r_s"), ["invite_5"], "underxscore does not match r_s")
      assert.deepEqual(await q("%@"), [])
      assert.deepEqual(await q("\\"), [])
    })
  })

  test("accepted: true / false", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      assert.deepEqual(ids(await m.service.listInvites({ accepted: true })), ["invite_3", "invite_5"])
      assert.deepEqual(ids(await m.service.listInvites({ accepted: false })), ["invite_1", "invite_2", "invite_4", "invite_6"])
      assert.deepEqual(ids(await m.service.listInvites({ accepted: true, q: "under" })), ["invite_5"])
    })
  })

  test("accepted: $in and $nin with both values, with one, and with none", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      // Beyond Medusa's declared filter types (accepted: boolean), as MikroORM accepts them.
      const list = async (filters: Record<string, unknown>) => ids(await m.service.listInvites(filters as any, { select: ["id"] }))
      const all = ["invite_1", "invite_2", "invite_3", "invite_4", "invite_5", "invite_6"]
      assert.deepEqual(await list({ accepted: { $in: [true, false] } }), all)
      assert.deepEqual(await list({ accepted: { $nin: [true, false] } }), [])
      assert.deepEqual(await list({ accepted: { $in: [true] } }), ["invite_3", "invite_5"])
      assert.deepEqual(await list({ accepted: { $nin: [true] } }), ["invite_1", "invite_2", "invite_4", "invite_6"])
      assert.deepEqual(await list({ accepted: { $nin: [false, false] } }), ["invite_3", "invite_5"])
      assert.deepEqual(await list({ accepted: { $in: [] } }), [])
      assert.deepEqual(await list({ accepted: { $nin: [] } }), all)
      assert.deepEqual(await list({ accepted: [false, true] }), all)
      assert.deepEqual(await m.service.listAndCountInvites({ accepted: { $nin: [false] } } as any, { select: ["id"] }), [
        [{ id: "invite_3" }, { id: "invite_5" }],
        2,
      ])
    })
  })

  test("string operators on id and email: $eq $ne $in $nin $like (case-sensitive) $ilike", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      const list = async (filters: FilterableInviteProps) => ids(await m.service.listInvites(filters, { select: ["id"] }))
      assert.deepEqual(await list({ id: { $in: ["invite_6", "invite_2"] } }), ["invite_2", "invite_6"])
      assert.deepEqual(await list({ id: { $nin: ["invite_6", "invite_2"] } }), ["invite_1", "invite_3", "invite_4", "invite_5"])
      assert.deepEqual(await list({ id: { $eq: "invite_3" } }), ["invite_3"])
      assert.deepEqual(await list({ id: { $ne: "invite_3" } }), ["invite_1", "invite_2", "invite_4", "invite_5", "invite_6"])
      assert.deepEqual(await list({ email: { $eq: "a@x.com" } }), ["invite_1"])
      assert.deepEqual(await list({ email: { $ne: "a@x.com" } }), ["invite_2", "invite_3", "invite_4", "invite_5", "invite_6"])
      assert.deepEqual(await list({ email: { $in: ["a@x.com", "c@y.org"] } }), ["invite_1", "invite_3"])
      assert.deepEqual(await list({ email: { $nin: ["a@x.com", "c@y.org"] } }), ["invite_2", "invite_4", "invite_5", "invite_6"])
      assert.deepEqual(await list({ email: { $like: "%@x.com" } }), ["invite_1", "invite_2", "invite_4"])
      assert.deepEqual(await list({ email: { $like: "b%" } }), [], "$like is case-sensitive")
      assert.deepEqual(await list({ email: { $like: "B%" } }), ["invite_2"])
      assert.deepEqual(await list({ email: { $ilike: "b%" } }), ["invite_2"])
      assert.deepEqual(await list({ email: { $ilike: "%@X.COM" } }), ["invite_1", "invite_2", "invite_4"])
    })
  })

  test("$or and $and arrays of filters", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      const list = async (filters: FilterableInviteProps) => ids(await m.service.listInvites(filters, { select: ["id"] }))
      assert.deepEqual(await list({ $or: [{ email: "c@y.org" }, { email: "a@x.com" }] }), ["invite_1", "invite_3"])
      assert.deepEqual(await list({ $or: [{ id: "invite_6" }, { accepted: true }] }), ["invite_3", "invite_5", "invite_6"])
      assert.deepEqual(await list({ $or: [{ q: "X.COM" }, { email: "c@y.org" }] }), ["invite_1", "invite_2", "invite_3", "invite_4"])
      assert.deepEqual(await list({ accepted: false, $or: [{ email: "a@x.com" }, { email: "c@y.org" }] }), ["invite_1"])
      assert.deepEqual(await list({ $and: [{ q: "under" }, { accepted: false }] }), ["invite_6"])
      assert.deepEqual(await list({ $and: [{ email: "a@x.com" }, { email: "c@y.org" }] }), [])
      assert.deepEqual(
        await list({ $and: [{ $or: [{ id: "invite_1" }, { id: "invite_2" }] }, { $or: [{ id: "invite_2" }, { id: "invite_3" }] }] }),
        ["invite_2"],
      )
    })
  })

  test("an unknown filter key → invalid_data `Trying to query by not existing property Invite.<key>`", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      assertMedusaError(
        await rejectionOf(() => m.service.listInvites({ foo: "bar" } as any, { select: ["email"] })),
        "invalid_data",
        "Trying to query by not existing property Invite.foo",
      )
      assertMedusaError(
        await rejectionOf(() => m.service.listAndCountInvites({ email: "a@x.com", foo: "bar" } as any)),
        "invalid_data",
        "Trying to query by not existing property Invite.foo",
      )
      assertMedusaError(
        await rejectionOf(() => m.service.listInvites({ first_name: "x" } as any)),
        "invalid_data",
        "Trying to query by not existing property Invite.first_name",
      )
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listInvites: time filters", () => {
  const T1 = "2030-01-01T00:00:00.000Z"
  const T2 = "2030-01-02T00:00:00.123Z"
  const T3 = "2030-01-03T00:00:00.000Z"
  const at = (iso: string, deltaMs = 0) => new Date(new Date(iso).getTime() + deltaMs)

  /** invite_a expires at T1, invite_b at T2, invite_c at T3 (set through updateInvites). */
  async function seedExpiries(m: TestModule): Promise<void> {
    await m.service.createInvites([
      { id: "invite_c", email: "c@x.com" },
      { id: "invite_a", email: "a@x.com" },
      { id: "invite_b", email: "b@x.com" },
    ])
    const updated = await m.service.updateInvites([
      { id: "invite_a", expires_at: new Date(T1) },
      { id: "invite_b", expires_at: T2 },
      { id: "invite_c", expires_at: new Date(T3) },
    ])
    assert.deepEqual(
      updated.map((dto) => dto.expires_at.toISOString()),
      [T1, T2, T3],
    )
    m.bus.calls.length = 0
  }

  test("expires_at $lt / $lte / $gt / $gte with Date values, equality at the boundary", async () => {
    await withModule(async (m) => {
      await seedExpiries(m)
      const list = async (operators: Record<string, unknown>) => ids(await m.service.listInvites({ expires_at: operators }, { select: ["id"] }))
      assert.deepEqual(await list({ $lt: new Date(T2) }), ["invite_a"])
      assert.deepEqual(await list({ $lte: new Date(T2) }), ["invite_a", "invite_b"])
      assert.deepEqual(await list({ $gt: new Date(T2) }), ["invite_c"])
      assert.deepEqual(await list({ $gte: new Date(T2) }), ["invite_b", "invite_c"])
      // one millisecond either side of T2
      assert.deepEqual(await list({ $lt: at(T2, 1) }), ["invite_a", "invite_b"])
      assert.deepEqual(await list({ $lte: at(T2, -1) }), ["invite_a"])
      assert.deepEqual(await list({ $gt: at(T2, -1) }), ["invite_b", "invite_c"])
      assert.deepEqual(await list({ $gte: at(T2, 1) }), ["invite_c"])
      // a range
      assert.deepEqual(await list({ $gt: new Date(T1), $lt: new Date(T3) }), ["invite_b"])
      assert.deepEqual(await list({ $gte: new Date(T1), $lte: new Date(T3) }), ["invite_a", "invite_b", "invite_c"])
      assert.deepEqual(await list({ $lt: new Date(T1) }), [])
      assert.deepEqual(await list({ $gt: new Date(T3) }), [])
      // $eq / $ne
      assert.deepEqual(await list({ $eq: new Date(T2) }), ["invite_b"])
      assert.deepEqual(await list({ $ne: new Date(T2) }), ["invite_a", "invite_c"])
    })
  })

  test("expires_at operators with ISO-string values behave like Date values", async () => {
    await withModule(async (m) => {
      await seedExpiries(m)
      const list = async (operators: Record<string, unknown>) => ids(await m.service.listInvites({ expires_at: operators }, { select: ["id"] }))
      assert.deepEqual(await list({ $lt: T2 }), ["invite_a"])
      assert.deepEqual(await list({ $lte: T2 }), ["invite_a", "invite_b"])
      assert.deepEqual(await list({ $gt: T2 }), ["invite_c"])
      assert.deepEqual(await list({ $gte: T2 }), ["invite_b", "invite_c"])
      assert.deepEqual(await list({ $lt: "2030-01-02T00:00:00.124Z" }), ["invite_a", "invite_b"])
      assert.deepEqual(await list({ $gt: "2030-01-02T00:00:00.122Z" }), ["invite_b", "invite_c"])
      assert.deepEqual(await list({ $gt: T1, $lte: T3 }), ["invite_b", "invite_c"])
    })
  })

  test("expires_at $in / $nin with several values (Dates and ISO strings); [] matches nothing / everything", async () => {
    await withModule(async (m) => {
      await seedExpiries(m)
      const list = async (operators: Record<string, unknown>) => ids(await m.service.listInvites({ expires_at: operators }, { select: ["id"] }))
      assert.deepEqual(await list({ $in: [new Date(T3), T1] }), ["invite_a", "invite_c"])
      assert.deepEqual(await list({ $nin: [new Date(T3), T1] }), ["invite_b"])
      assert.deepEqual(await list({ $in: [T1, T2, new Date(T3)] }), ["invite_a", "invite_b", "invite_c"])
      assert.deepEqual(await list({ $nin: [T1, T2, new Date(T3)] }), [])
      assert.deepEqual(await list({ $in: [T2] }), ["invite_b"])
      assert.deepEqual(await list({ $nin: [new Date(T2)] }), ["invite_a", "invite_c"])
      // exact to the millisecond: a value 1 ms off matches no row
      assert.deepEqual(await list({ $in: [at(T2, 1), at(T1, -1)] }), [])
      assert.deepEqual(await list({ $nin: [at(T2, 1), T1] }), ["invite_b", "invite_c"])
      assert.deepEqual(await list({ $in: [] }), [])
      assert.deepEqual(await list({ $nin: [] }), ["invite_a", "invite_b", "invite_c"])
      // with another operator on the same column
      assert.deepEqual(await list({ $nin: [T1], $lt: new Date(T3) }), ["invite_b"])
      // $in/$nin on a time column are beyond Medusa's declared types (DateComparisonOperator)
      const [rows, total] = await m.service.listAndCountInvites({ expires_at: { $nin: [T1, T3] } } as any, { select: ["id"] })
      assert.deepEqual([ids(rows), total], [["invite_b"], 1])
    })
  })

  test("expired invites: expires_at $lt now (one set into the past by updateInvites)", async () => {
    await withModule(async (m) => {
      const [old, fresh] = await m.service.createInvites([{ email: "old@x.com" }, { email: "fresh@x.com" }])
      await m.service.updateInvites({ id: old.id, expires_at: "2020-01-01T00:00:00.000Z" })
      const now = new Date()
      assert.deepEqual(ids(await m.service.listInvites({ expires_at: { $lt: now } })), [old.id])
      assert.deepEqual(ids(await m.service.listInvites({ expires_at: { $gte: now } })), [fresh.id])
      assert.deepEqual(ids(await m.service.listInvites({ expires_at: { $gt: "2020-01-01T00:00:00.000Z" } })), [fresh.id])
      assert.deepEqual(ids(await m.service.listInvites({ expires_at: { $gte: "2020-01-01T00:00:00.000Z" } })).sort(), [old.id, fresh.id].sort())
    })
  })

  test("created_at operators, $in and $nin with several values among them", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { id: "invite_b", email: "b@x.com", created_at: "2024-01-01T00:00:00.000Z" },
        { id: "invite_a", email: "a@x.com", created_at: "2024-01-02T00:00:00.000Z" },
        { id: "invite_c", email: "c@x.com", created_at: "2024-01-03T00:00:00.000Z" },
      ])
      const list = async (operators: Record<string, unknown>) => ids(await m.service.listInvites({ created_at: operators }, { select: ["id"] }))
      assert.deepEqual(await list({ $gte: "2024-01-02T00:00:00.000Z" }), ["invite_a", "invite_c"])
      assert.deepEqual(await list({ $gt: new Date("2024-01-02T00:00:00.000Z") }), ["invite_c"])
      assert.deepEqual(await list({ $lt: new Date("2024-01-02T00:00:00.000Z") }), ["invite_b"])
      assert.deepEqual(await list({ $lte: "2024-01-02T00:00:00.000Z" }), ["invite_a", "invite_b"])
      assert.deepEqual(await list({ $in: ["2024-01-03T00:00:00.000Z", new Date("2024-01-01T00:00:00.000Z")] }), ["invite_b", "invite_c"])
      assert.deepEqual(await list({ $nin: ["2024-01-03T00:00:00.000Z", new Date("2024-01-01T00:00:00.000Z")] }), ["invite_a"])
      assert.deepEqual(await list({ $nin: ["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"] }), [])
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listInvites: soft-deleted rows", () => {
  test("hidden unless withDeleted; deleted_at filters (null / $ne null) with withDeleted", async () => {
    await withModule(async (m) => {
      const created = byId(await seedSix(m))
      await m.service.softDeleteInvites(["invite_2", "invite_5"])
      m.bus.calls.length = 0
      assert.deepEqual(ids(await m.service.listInvites()), ["invite_1", "invite_3", "invite_4", "invite_6"])
      assert.deepEqual(ids(await m.service.listInvites({}, { withDeleted: false })), ["invite_1", "invite_3", "invite_4", "invite_6"])
      assert.deepEqual(ids(await m.service.listInvites({ email: "Bb@x.com" })), [])
      assert.deepEqual(ids(await m.service.listInvites({ id: ["invite_2", "invite_3"] })), ["invite_3"])

      const all = await m.service.listInvites({}, { withDeleted: true })
      assert.deepEqual(ids(all), ["invite_1", "invite_2", "invite_3", "invite_4", "invite_5", "invite_6"])
      for (const dto of all) assertInviteDto(dto)
      assert.deepEqual(
        all.map((dto) => dto.deleted_at instanceof Date),
        [false, true, false, false, true, false],
      )
      // the rest of the soft-deleted rows is unchanged
      assert.deepStrictEqual({ ...all[1], deleted_at: null, updated_at: null }, { ...created[1], deleted_at: null, updated_at: null })

      const selected = await m.service.listInvites({ email: "Bb@x.com" }, { withDeleted: true, select: ["id", "deleted_at"] })
      assert.deepStrictEqual(selected, [{ id: "invite_2", deleted_at: all[1].deleted_at }])

      const deletedOnly = async (filters: FilterableInviteProps) => ids(await m.service.listInvites(filters, { withDeleted: true, select: ["id"] }))
      assert.deepEqual(await deletedOnly({ deleted_at: { $ne: null } }), ["invite_2", "invite_5"])
      assert.deepEqual(await deletedOnly({ deleted_at: null }), ["invite_1", "invite_3", "invite_4", "invite_6"])
      assert.deepEqual(await deletedOnly({ deleted_at: { $lte: new Date() } }), ["invite_2", "invite_5"])
      assert.deepEqual(await deletedOnly({ q: "under" }), ["invite_5", "invite_6"])

      assert.deepEqual(await m.service.listAndCountInvites({}, { withDeleted: true, select: ["id"], take: 1 }), [[{ id: "invite_1" }], 6])
      assert.deepEqual((await m.service.listAndCountInvites({}, { select: ["id"], take: 1 }))[1], 4)
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("listAndCountInvites", () => {
  test("[rows, count]: count ignores skip/take but honours the filters", async () => {
    await withModule(async (m) => {
      const created = byId(await seedSix(m))
      const result = await m.service.listAndCountInvites()
      assert.ok(Array.isArray(result))
      assert.equal(result.length, 2)
      assert.deepStrictEqual(result, [created, 6])

      assert.deepStrictEqual(await m.service.listAndCountInvites({}, { skip: 1, take: 2 }), [created.slice(1, 3), 6])
      assert.deepStrictEqual(await m.service.listAndCountInvites({}, { skip: 10 }), [[], 6])
      assert.deepStrictEqual(await m.service.listAndCountInvites({}, { take: null }), [created, 6])
      assert.deepStrictEqual(
        await m.service.listAndCountInvites({ email: ["a@x.com", "c@y.org"] }, { take: 1 }),
        [[created[0]], 2],
      )
      assert.deepStrictEqual(
        await m.service.listAndCountInvites({ q: "X.COM" }, { take: 1, skip: 1, select: ["email"] }),
        [[{ id: "invite_2", email: "Bb@x.com" }], 3],
      )
      assert.deepStrictEqual(
        await m.service.listAndCountInvites({ q: "y.org" }, { order: { email: "DESC" }, take: 2, select: ["email"] }),
        [
          [
            { id: "invite_6", email: "underxscore@y.org" },
            { id: "invite_5", email: "under_score@y.org" },
          ],
          3,
        ],
      )
      assert.deepStrictEqual(await m.service.listAndCountInvites({ id: [] }), [[], 0])
      assert.deepStrictEqual(await m.service.listAndCountInvites({ accepted: true }, { select: ["id"] }), [[{ id: "invite_3" }, { id: "invite_5" }], 2])
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("reads emit nothing", () => {
  test("retrieve, list and listAndCount (success and failure) never call the event bus", async () => {
    await withModule(async (m) => {
      await seedSix(m)
      await m.service.softDeleteInvites("invite_6")
      m.bus.calls.length = 0
      const ctx = { eventGroupId: "grp-read" }
      await m.service.retrieveInvite("invite_1")
      await m.service.retrieveInvite("invite_1", { select: ["email"] }, ctx)
      await m.service.retrieveInvite("invite_6", { withDeleted: true }, ctx)
      await rejection(m.service.retrieveInvite("nope"))
      await rejection(m.service.retrieveInvite(undefined as any))
      await m.service.listInvites()
      await m.service.listInvites({ q: "x" }, { withDeleted: true }, ctx)
      await rejection(m.service.listInvites({ foo: 1 } as any))
      await m.service.listAndCountInvites({}, { take: 1 }, ctx)
      await rejection(m.service.listAndCountInvites({}, { skip: -1 }))
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("reads inside a module transaction", () => {
  test("a list inside the transaction sees its uncommitted invites; outside they are not visible until commit", async () => {
    await withModule(async (m) => {
      const committed = await m.service.createInvites({ id: "invite_1", email: "committed@x.com" })
      m.bus.calls.length = 0
      const tx = await m.service.begin()
      const inTx = { transactionManager: tx }
      const pending = await m.service.createInvites([{ id: "invite_2", email: "pending@x.com" }], inTx)

      assert.deepStrictEqual(await m.service.listInvites({}, {}, inTx), [committed, ...pending])
      assert.deepStrictEqual(await m.service.listAndCountInvites({}, { take: 1 }, inTx), [[committed], 2])
      assert.deepStrictEqual(await m.service.listInvites({ q: "PENDING" }, { select: ["email"] }, inTx), [{ id: "invite_2", email: "pending@x.com" }])
      assert.deepStrictEqual(await m.service.retrieveInvite("invite_2", {}, inTx), pending[0])

      // Outside the transaction: an independent reader on both backends; on PostgreSQL also a
      // plain module call (on SQLite a plain call waits for the transaction's write lock).
      assert.equal(count(m.file), 1)
      if (BACKEND === "postgres") {
        assert.deepStrictEqual(await m.service.listInvites(), [committed])
        assert.deepStrictEqual(await m.service.listAndCountInvites(), [[committed], 1])
        assertMedusaError(await rejection(m.service.retrieveInvite("invite_2")), "not_found", "Invite with id: invite_2 was not found")
      }
      assert.equal(m.bus.calls.length, 0)

      await tx.commit()
      assert.deepStrictEqual(await m.service.listInvites(), [committed, ...pending])
      assert.equal(count(m.file), 2)
    })
  })

  test("rolled back: the transaction's invites are gone for every later list", async () => {
    await withModule(async (m) => {
      const committed = await m.service.createInvites({ id: "invite_1", email: "committed@x.com" })
      const tx = await m.service.begin()
      await m.service.createInvites({ id: "invite_2", email: "pending@x.com" }, { transactionManager: tx })
      assert.deepEqual(ids(await m.service.listInvites({}, {}, { transactionManager: tx })), ["invite_1", "invite_2"])
      await tx.rollback()
      assert.deepStrictEqual(await m.service.listInvites(), [committed])
      assert.deepStrictEqual(await m.service.listAndCountInvites({}, { withDeleted: true }), [[committed], 1])
    })
  })

  test("transaction(fn): reads inside fn see the writes made earlier in fn (update, soft delete)", async () => {
    await withModule(async (m) => {
      const [a, b] = await m.service.createInvites([
        { id: "invite_a", email: "a@x.com" },
        { id: "invite_b", email: "b@x.com" },
      ])
      await m.service.transaction(async (tx) => {
        const ctx = { transactionManager: tx }
        await m.service.updateInvites({ id: a.id, accepted: true }, ctx)
        await m.service.softDeleteInvites([b.id], {}, ctx)
        assert.deepStrictEqual(await m.service.listInvites({}, { select: ["accepted"] }, ctx), [{ id: "invite_a", accepted: true }])
        assert.deepStrictEqual(await m.service.listInvites({ accepted: true }, { select: ["id"] }, ctx), [{ id: "invite_a" }])
        assert.deepEqual(ids(await m.service.listInvites({}, { withDeleted: true }, ctx)), ["invite_a", "invite_b"])
        assertMedusaError(await rejection(m.service.retrieveInvite(b.id, {}, ctx)), "not_found", `Invite with id: ${b.id} was not found`)
        if (BACKEND === "postgres") {
          // not yet visible outside
          assert.deepStrictEqual(await m.service.listInvites({}, { select: ["accepted"] }), [
            { id: "invite_a", accepted: false },
            { id: "invite_b", accepted: false },
          ])
        }
      })
      assert.deepStrictEqual(await m.service.listInvites({}, { select: ["accepted"] }), [{ id: "invite_a", accepted: true }])
      assert.deepEqual(ids(await m.service.listInvites({}, { withDeleted: true, select: ["id"] })), ["invite_a", "invite_b"])
    })
  })

  test("a transactionManager this module did not issue → invalid_argument (list, listAndCount)", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "foreign@x.com" })
      for (const call of [
        () => m.service.listInvites({}, {}, { transactionManager: {} }),
        () => m.service.listAndCountInvites({}, {}, { transactionManager: { begin() {} } }),
      ]) {
        assertMedusaError(await rejectionOf(call), "invalid_argument", FOREIGN)
      }
    })
  })
})
