// The user writes of IUserModuleService: updateUsers (both overloads, and Medusa's
// `{ selector, data }` form), deleteUsers, softDeleteUsers, restoreUsers. Return values,
// messages and events are those of the real @medusajs/user@2.21.2: one emit per call with
// `{ internal: true }`, `user.user.updated` per changed user, `user.user.deleted` per deleted
// or soft-deleted user, nothing for a restore.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import type { UserDTO } from ".."
import {
  MedusaLikeAggregator,
  assertEmits,
  assertExactMedusaError,
  eventMessage,
  rejectionOf,
  rows,
  withModule,
  type TestModule,
} from "./helpers"

const USER_KEYS = ["id", "first_name", "last_name", "email", "avatar_url", "metadata", "created_at", "updated_at", "deleted_at", "roles"]
const updated = (id: string, eventGroupId?: string) => eventMessage("user.user.updated", "user", "updated", id, eventGroupId)
const deleted = (id: string, eventGroupId?: string) => eventMessage("user.user.deleted", "user", "deleted", id, eventGroupId)
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Three users a, b, c (a with metadata), then a clean bus. */
async function seed(m: TestModule): Promise<UserDTO[]> {
  const users = await m.service.createUsers([
    { id: "user_a", email: "a@example.com", first_name: "A", metadata: { k: "v", x: 1 } },
    { id: "user_b", email: "b@example.com" },
    { id: "user_c", email: "c@example.com" },
  ])
  m.bus.calls.length = 0
  return users
}

function stored(m: TestModule): { id: string; email: string; first_name: string | null; deleted: boolean }[] {
  return rows<any>(m.file, `select id, email, first_name, deleted_at is not null as deleted from "user" order by id`).map((row) => ({
    id: row.id,
    email: row.email,
    first_name: row.first_name,
    deleted: row.deleted === true || row.deleted === 1 || row.deleted === "t" || row.deleted === "1",
  }))
}

function assertUserDto(dto: UserDTO): void {
  assert.equal(Object.getPrototypeOf(dto), Object.prototype)
  assert.deepEqual(Object.keys(dto), USER_KEYS)
  assert.ok(dto.created_at instanceof Date && dto.updated_at instanceof Date)
}

describe("updateUsers", () => {
  test("one object in, one UserDTO out: fields set, metadata merged, one user.user.updated", () =>
    withModule(async (m) => {
      const [a] = await seed(m)
      await delay(5)
      const user = await m.service.updateUsers({ id: "user_a", first_name: "Alice", metadata: { x: "", n: 2 } })
      assertUserDto(user)
      assert.deepEqual(
        { ...user, created_at: undefined, updated_at: undefined },
        {
          id: "user_a", first_name: "Alice", last_name: null, email: "a@example.com", avatar_url: null,
          metadata: { k: "v", n: 2 }, created_at: undefined, updated_at: undefined, deleted_at: null, roles: null,
        },
      )
      assert.equal(user.created_at.getTime(), a.created_at.getTime())
      assert.ok(user.updated_at.getTime() > a.updated_at.getTime(), "updated_at moves")
      assertEmits(m.bus, [[updated("user_a")]])
      assert.deepEqual((await m.service.retrieveUser("user_a")).metadata, { k: "v", n: 2 })
    }))

  test("an array in, an array out in input order; one message per changed user", () =>
    withModule(async (m) => {
      await seed(m)
      const users = await m.service.updateUsers([
        { id: "user_b", avatar_url: "http://x/y.png" },
        { id: "user_a", last_name: "L" },
      ])
      assert.deepEqual(users.map((user) => [user.id, user.last_name, user.avatar_url]), [
        ["user_b", null, "http://x/y.png"],
        ["user_a", "L", null],
      ])
      assertEmits(m.bus, [[updated("user_b"), updated("user_a")]])
      assert.deepEqual(await m.service.updateUsers([]), [])
      assert.equal(m.bus.calls.length, 1, "an empty call emits nothing")
    }))

  test("an id twice in one array: as Medusa, its last item applies, and each user comes back once", () =>
    withModule(async (m) => {
      await seed(m)
      const users = await m.service.updateUsers([
        { id: "user_b", first_name: "Y" },
        { id: "user_a", first_name: "X" },
        { id: "user_b", last_name: "Z" },
      ])
      assert.deepEqual(users.map((user) => [user.id, user.first_name, user.last_name]), [
        ["user_b", null, "Z"],
        ["user_a", "X", null],
      ])
      assertEmits(m.bus, [[updated("user_b"), updated("user_a")]])
    }))

  test("no change: the row and its updated_at stay, nothing is emitted", () =>
    withModule(async (m) => {
      const [a] = await seed(m)
      const same = await m.service.updateUsers({ id: "user_a", first_name: "A", metadata: { k: "v" } })
      assert.equal(same.updated_at.getTime(), a.updated_at.getTime())
      assert.equal(m.bus.calls.length, 0)
    }))

  test("null clears a field; metadata null clears the object", () =>
    withModule(async (m) => {
      await seed(m)
      const user = await m.service.updateUsers({ id: "user_a", first_name: null, metadata: null })
      assert.equal(user.first_name, null)
      assert.equal(user.metadata, null)
      assert.deepEqual(stored(m)[0], { id: "user_a", email: "a@example.com", first_name: null, deleted: false })
    }))

  test("the email can change; a live user's email is Medusa's invalid_data and nothing changes", () =>
    withModule(async (m) => {
      await seed(m)
      assert.equal((await m.service.updateUsers({ id: "user_a", email: "a2@example.com" })).email, "a2@example.com")
      m.bus.calls.length = 0
      const taken = await rejectionOf(() => m.service.updateUsers({ id: "user_a", email: "b@example.com" }))
      assertExactMedusaError(taken, "invalid_data", "User with email: b@example.com, already exists.", { allowIndex: true })
      const twice = await rejectionOf(() =>
        m.service.updateUsers([
          { id: "user_b", email: "z@example.com", first_name: "B" },
          { id: "user_c", email: "z@example.com" },
        ]),
      )
      assertExactMedusaError(twice, "invalid_data", "User with email: z@example.com, already exists.", { allowIndex: true })
      assert.deepEqual(stored(m).map((user) => [user.email, user.first_name]), [
        ["a2@example.com", "A"],
        ["b@example.com", null],
        ["c@example.com", null],
      ])
      assert.equal(m.bus.calls.length, 0)
    }))

  test("unknown ids are Medusa's not_found, listing every missing id; soft-deleted users count as missing", () =>
    withModule(async (m) => {
      await seed(m)
      await m.service.softDeleteUsers(["user_c"])
      m.bus.calls.length = 0
      const one = await rejectionOf(() => m.service.updateUsers({ id: "user_missing", first_name: "X" }))
      assertExactMedusaError(one, "not_found", 'User with id "user_missing" not found')
      const two = await rejectionOf(() => m.service.updateUsers([{ id: "user_a", first_name: "X" }, { id: "user_missing" }, { id: "user_c" }]))
      assertExactMedusaError(two, "not_found", 'User with id "user_missing, user_c" not found')
      const noId = await rejectionOf(() => m.service.updateUsers({ first_name: "X" } as any))
      assertExactMedusaError(noId, "not_found", 'User with id "" not found')
      assert.equal(stored(m)[0].first_name, "A", "nothing written")
      assert.equal(m.bus.calls.length, 0)
    }))

  test("bad input is a clear invalid_data naming the field (Medusa throws an ORM error or stores it)", () =>
    withModule(async (m) => {
      await seed(m)
      const cases: [unknown, string][] = [
        [{ id: "user_b", first_name: 5 }, "Value for User.first_name must be a string, 'number' found"],
        [{ id: "user_b", metadata: "str" }, "Value for User.metadata must be an object, 'string' found"],
        [{ id: "user_b", email: "not-an-email" }, "Invalid email for user: 'not-an-email'"],
        [{ id: "user_b", email: null }, "Value for User.email is required, 'null' found"],
        [null, "updateUsers expects a user update object or an array of user update objects"],
      ]
      for (const [input, message] of cases) {
        const error = await rejectionOf(() => m.service.updateUsers(input as any))
        assertExactMedusaError(error, "invalid_data", message, { allowIndex: true })
      }
      assert.equal(m.bus.calls.length, 0)
    }))

  test("{ selector, data } updates every live user the selector finds and resolves with the first", () =>
    withModule(async (m) => {
      await seed(m)
      const first = await (m.service.updateUsers as any)({ selector: { email: ["b@example.com", "c@example.com"] }, data: { last_name: "Same" } })
      assert.equal(first.id, "user_b")
      assert.equal(first.last_name, "Same")
      assert.deepEqual((await m.service.listUsers({ last_name: "Same" } as any)).map((user) => user.id), ["user_b", "user_c"])
      assertEmits(m.bus, [[updated("user_b"), updated("user_c")]])
      assert.equal(await (m.service.updateUsers as any)({ selector: { email: "nobody@example.com" }, data: { last_name: "Q" } }), undefined)
    }))

  test("eventGroupId and a caller's aggregator: the messages go through it, then it is cleared", () =>
    withModule(async (m) => {
      await seed(m)
      const aggregator = new MedusaLikeAggregator()
      await m.service.updateUsers({ id: "user_b", first_name: "Q" }, { eventGroupId: "group_1", messageAggregator: aggregator })
      assertEmits(m.bus, [[updated("user_b", "group_1")]])
      assert.deepEqual(aggregator.calls, ["save", "getMessages", "clearMessages"])
    }))

  test("inside a transaction that rolls back: nothing is written and nothing is emitted", () =>
    withModule(async (m) => {
      await seed(m)
      const tx = await m.service.begin()
      await m.service.updateUsers({ id: "user_b", first_name: "Gone" }, { transactionManager: tx })
      await m.service.softDeleteUsers(["user_c"], {}, { transactionManager: tx })
      await tx.rollback()
      assert.deepEqual(stored(m).map((user) => [user.first_name, user.deleted]), [["A", false], [null, false], [null, false]])
      assert.equal(m.bus.calls.length, 0)
    }))
})

describe("softDeleteUsers and restoreUsers", () => {
  test("softDeleteUsers: { user_id } of the live users it deleted, in input order, once each; user.user.deleted per user", () =>
    withModule(async (m) => {
      await seed(m)
      assert.deepEqual(await m.service.softDeleteUsers(["user_c", "user_a", "user_c", "user_missing"]), { user_id: ["user_c", "user_a"] })
      assertEmits(m.bus, [[deleted("user_c"), deleted("user_a")]])
      m.bus.calls.length = 0
      assert.deepEqual(await m.service.softDeleteUsers(["user_c"]), {}, "already soft-deleted")
      assert.deepEqual(await m.service.softDeleteUsers(["user_missing"]), {})
      assert.deepEqual(await m.service.softDeleteUsers([]), {})
      assert.deepEqual(await m.service.softDeleteUsers("user_b" as any), { user_id: ["user_b"] })
      assertEmits(m.bus, [[deleted("user_b")]])
      assert.deepEqual(stored(m).map((user) => user.deleted), [true, true, true])
      assert.deepEqual(await m.service.listUsers(), [])
    }))

  test("a soft-deleted user's email is free for a new user", () =>
    withModule(async (m) => {
      await seed(m)
      await m.service.softDeleteUsers(["user_a"])
      const again = await m.service.createUsers({ id: "user_a2", email: "a@example.com" })
      assert.equal(again.email, "a@example.com")
    }))

  test("restoreUsers: { user_id } of every user found, soft-deleted or not; no event", () =>
    withModule(async (m) => {
      await seed(m)
      await m.service.softDeleteUsers(["user_c", "user_b"])
      m.bus.calls.length = 0
      assert.deepEqual(await m.service.restoreUsers(["user_c", "user_a", "user_missing"]), { user_id: ["user_c", "user_a"] })
      assert.deepEqual(await m.service.restoreUsers(["user_c"]), { user_id: ["user_c"] }, "a live user is reported too, as Medusa")
      assert.deepEqual(await m.service.restoreUsers(["user_missing"]), {})
      assert.deepEqual(await m.service.restoreUsers("user_b" as any), { user_id: ["user_b"] })
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(stored(m).map((user) => user.deleted), [false, false, false])
      const restored = await m.service.retrieveUser("user_c")
      assertUserDto(restored)
      assert.equal(restored.deleted_at, null)
    }))

  test("restoreUsers refuses when a live user now holds the email, and restores nothing", () =>
    withModule(async (m) => {
      await seed(m)
      await m.service.softDeleteUsers(["user_a", "user_b"])
      await m.service.createUsers({ id: "user_a2", email: "a@example.com" })
      const error = await rejectionOf(() => m.service.restoreUsers(["user_b", "user_a"]))
      assertExactMedusaError(error, "invalid_data", "User with email: a@example.com, already exists.", { allowIndex: true })
      assert.deepEqual(stored(m).map((user) => [user.id, user.deleted]), [
        ["user_a", true],
        ["user_a2", false],
        ["user_b", true],
        ["user_c", false],
      ])
    }))

  test("ids must be an id or an array of ids", async () =>
    withModule(async (m) => {
      for (const method of ["softDeleteUsers", "restoreUsers", "deleteUsers"] as const) {
        const error = await rejectionOf(() => (m.service[method] as any)(5))
        assertExactMedusaError(error, "invalid_data", `${method} expects an id or an array of ids`)
      }
    }))
})

describe("deleteUsers", () => {
  test("removes the rows for good, soft-deleted ones too; resolves undefined; user.user.deleted per row", () =>
    withModule(async (m) => {
      await seed(m)
      await m.service.softDeleteUsers(["user_a"])
      m.bus.calls.length = 0
      assert.equal(await m.service.deleteUsers(["user_a", "user_missing", "user_c", "user_a"]), undefined)
      assertEmits(m.bus, [[deleted("user_a"), deleted("user_c")]])
      m.bus.calls.length = 0
      assert.equal(await m.service.deleteUsers(["user_a"]), undefined)
      assert.equal(await m.service.deleteUsers([]), undefined)
      assert.equal(m.bus.calls.length, 0, "nothing deleted, nothing emitted")
      await m.service.deleteUsers("user_b" as any)
      assertEmits(m.bus, [[deleted("user_b")]])
      assert.deepEqual(stored(m), [])
    }))

  test("an accepted invite's user (with roles) can be deleted", () =>
    withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "r@example.com", roles: ["admin"] })
      const user = await m.service.acceptInvite(invite.token, { first_name: "R" })
      assert.deepEqual(user.roles, ["admin"])
      m.bus.calls.length = 0
      await m.service.deleteUsers([user.id])
      assertEmits(m.bus, [[deleted(user.id)]])
      assert.deepEqual(await m.service.listUsers({ id: user.id }, { withDeleted: true }), [])
    }))
})
