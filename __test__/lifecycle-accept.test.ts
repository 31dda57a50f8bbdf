// acceptInvite, createUsers' `user.user.created` event, retrieveUser and listUsers (docs/behaviour.md;
// decisions in the README, "The invite lifecycle"): one call validates the token, creates the user with
// the invite's email and roles, marks the invite accepted and soft-deletes it, all in one
// transaction; every refusal changes nothing and emits nothing; events `user.user.created`,
// `user.invite.deleted` and the workflow event `invite.accepted`, once, after commit.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import jwt from "jsonwebtoken"
import { MedusaError, type UserDTO } from ".."
import {
  assertEmits,
  assertExactMedusaError,
  assertInviteDto,
  deletedMessage,
  eventMessage,
  execute,
  normalize,
  notFound,
  rejection,
  rows,
  sqlTime,
  tableCounts,
  withBadSignature,
  withModule,
  withOptions,
  MedusaLikeAggregator,
  DELETED,
  SECRET,
  type Message,
  type TestModule,
} from "./helpers"

// ---------------------------------------------------------------------------------------------
// Assertions

const USER_KEYS = ["id", "first_name", "last_name", "email", "avatar_url", "metadata", "created_at", "updated_at", "deleted_at", "roles"]
const USER_ID = /^user_[0-9A-HJKMNP-TV-Z]{26}$/

const userExists = (email: string) => `User with email: ${email}, already exists.`
const accountExists = (email: string) => `User account for following email(s) already exist: ${email}`

const USER_CREATED = "user.user.created"
const INVITE_ACCEPTED = "invite.accepted"

function assertUserShape(user: UserDTO): void {
  assert.equal(Object.getPrototypeOf(user), Object.prototype)
  assert.deepEqual(Object.keys(user), USER_KEYS)
  assert.match(user.id, USER_ID)
  assert.equal(typeof user.email, "string")
  assert.ok(user.created_at instanceof Date && !Number.isNaN(user.created_at.getTime()), "created_at is a Date")
  assert.ok(user.updated_at instanceof Date && !Number.isNaN(user.updated_at.getTime()), "updated_at is a Date")
  assert.ok(user.deleted_at === null || user.deleted_at instanceof Date)
  assert.ok(user.roles === null || (Array.isArray(user.roles) && user.roles.every((r) => typeof r === "string")))
}

/** The user's fields other than id and times. */
function userFields(user: UserDTO) {
  const { first_name, last_name, email, avatar_url, metadata, deleted_at, roles } = user
  return { first_name, last_name, email, avatar_url, metadata, deleted_at, roles }
}

function within(date: Date, before: number, after: number, what: string): void {
  const t = date.getTime()
  assert.ok(t >= before && t <= after, `${what} ${t} not within [${before}, ${after}]`)
}

/** Medusa's accept workflow event (emitEventStep's shape: metadata holds only the group id). */
function acceptedMessage(inviteId: string, eventGroupId?: string): Message {
  return { name: INVITE_ACCEPTED, metadata: eventGroupId === undefined ? {} : { eventGroupId }, data: { id: inviteId } } as Message
}

/** The messages of one acceptInvite call: the module's two, then the workflow's. */
function acceptMessages(userId: string, inviteId: string, eventGroupId?: string): Message[] {
  return [
    eventMessage(USER_CREATED, "user", "created", userId, eventGroupId),
    deletedMessage(inviteId, eventGroupId),
    acceptedMessage(inviteId, eventGroupId),
  ]
}

/** The messages of one createUsers call that created `ids`. */
function userCreatedMessages(ids: string[], eventGroupId?: string): Message[] {
  return ids.map((id) => eventMessage(USER_CREATED, "user", "created", id, eventGroupId))
}

/** Everything stored, read by an independent client: invites and users, in id order. */
function snapshot(file: string): { invites: unknown[]; users: unknown[] } {
  const counts = tableCounts(file, ["invite", "user"])
  return {
    invites:
      counts.invite === 0
        ? []
        : rows(file, `select id, email, accepted, token, expires_at, created_at, updated_at, deleted_at from "invite" order by id`),
    users: counts.user === 0 ? [] : rows(file, `select id, email, first_name, last_name, deleted_at from "user" order by id`),
  }
}

function storedInvite(file: string, id: string): { accepted: number; deleted_at: number | null; token: string } {
  const found = rows<{ accepted: number; deleted_at: number | null; token: string }>(
    file,
    `select accepted, deleted_at, token from "invite" where id = '${id.replace(/'/g, "''")}'`,
  )
  assert.equal(found.length, 1)
  return found[0]
}

const byId = <T extends { id?: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0))

// =============================================================================================

describe("acceptInvite: end to end", () => {
  test("create -> accept -> user found; invite accepted and soft-deleted; token spent; email taken", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "ada@example.com", roles: ["admin", "editor"], metadata: { from: "ops" } })
      const other = await m.service.createInvites({ email: "other@example.com" })
      m.bus.calls.length = 0

      const before = Date.now()
      const user = await m.service.acceptInvite(invite.token, { first_name: "Ada", last_name: "Lovelace" })
      const after = Date.now()

      // the UserDTO
      assertUserShape(user)
      assert.deepEqual(userFields(user), {
        first_name: "Ada",
        last_name: "Lovelace",
        email: "ada@example.com",
        avatar_url: null,
        metadata: null,
        deleted_at: null,
        roles: ["admin", "editor"],
      })
      within(user.created_at, before, after, "created_at")
      within(user.updated_at, before, after, "updated_at")

      // events: user.user.created, user.invite.deleted, then the workflow's invite.accepted, one emit
      assert.deepEqual(m.bus.names, [USER_CREATED, DELETED, INVITE_ACCEPTED])
      assertEmits(m.bus, [
        [
          { name: "user.user.created", metadata: { source: "user", object: "user", action: "created" }, data: { id: user.id } },
          { name: "user.invite.deleted", metadata: { source: "user", object: "invite", action: "deleted" }, data: { id: invite.id } },
          { name: "invite.accepted", metadata: {}, data: { id: invite.id } } as Message,
        ],
      ])
      // Exactly Medusa's emitEventStep message: name, data, options, metadata.
      assert.deepStrictEqual(m.bus.calls[0].messages[2], { name: "invite.accepted", data: { id: invite.id }, options: undefined, metadata: {} })

      // the user is there
      assert.deepEqual(await m.service.retrieveUser(user.id), user)
      assert.deepEqual(await m.service.listUsers({ email: "ada@example.com" }), [user])
      assert.deepEqual(await m.service.listUsers(), [user])
      const storedUsers = rows(m.file, `select id, email, first_name, last_name, deleted_at from "user"`)
      assert.deepEqual(storedUsers, [{ id: user.id, email: "ada@example.com", first_name: "Ada", last_name: "Lovelace", deleted_at: null }])

      // the invite: accepted and soft-deleted, nothing else changed
      const accepted = await m.service.retrieveInvite(invite.id, { withDeleted: true })
      assertInviteDto(accepted)
      assert.equal(accepted.accepted, true)
      assert.ok(accepted.deleted_at instanceof Date)
      within(accepted.deleted_at!, before, after, "invite deleted_at")
      assert.equal(accepted.email, invite.email)
      assert.equal(accepted.token, invite.token)
      assert.deepEqual(accepted.roles, ["admin", "editor"])
      assert.deepEqual(accepted.metadata, { from: "ops" })
      assert.equal(accepted.created_at.getTime(), invite.created_at.getTime())
      assert.deepEqual(await m.service.listInvites({ id: invite.id }, { withDeleted: true }), [accepted])
      const row = storedInvite(m.file, invite.id)
      assert.equal(row.accepted, 1)
      assert.notEqual(row.deleted_at, null)
      assertExactMedusaError(await rejection(m.service.retrieveInvite(invite.id)), "not_found", notFound(invite.id))
      assert.deepEqual(await m.service.listInvites(), [other], "only the other invite is live")

      // the token is spent
      assertExactMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "not_found", notFound(invite.id))
      assertExactMedusaError(await rejection(m.service.acceptInvite(invite.token, { first_name: "Again" })), "not_found", notFound(invite.id))
      assert.deepEqual(await m.service.listUsers(), [user], "the second accept created no user")

      // the email now belongs to a user
      assertExactMedusaError(
        await rejection(m.service.createInvites({ email: "ada@example.com" })),
        "invalid_data",
        accountExists("ada@example.com"),
      )
      assert.equal(m.bus.calls.length, 1, "no event after the accept's")
      // the other invite is untouched
      assert.deepEqual(await m.service.validateInviteToken(other.token), other)
    })
  })

  test("no user data: names null, email from the invite, roles null when the invite has none", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "plain@example.com" })
      const user = await m.service.acceptInvite(invite.token)
      assertUserShape(user)
      assert.deepEqual(userFields(user), {
        first_name: null,
        last_name: null,
        email: "plain@example.com",
        avatar_url: null,
        metadata: null,
        deleted_at: null,
        roles: null,
      })
      assert.deepEqual(await m.service.retrieveUser(user.id), user)
    })
  })

  test("user.email wins over the invite's email; avatar_url and metadata are kept", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "invited@example.com", roles: ["viewer"] })
      m.bus.calls.length = 0
      const user = await m.service.acceptInvite(invite.token, {
        email: "chosen@example.com",
        first_name: "Chosen",
        avatar_url: "https://img.example.com/a.png",
        metadata: { source: "invite", n: 1 },
      })
      assertUserShape(user)
      assert.deepEqual(userFields(user), {
        first_name: "Chosen",
        last_name: null,
        email: "chosen@example.com",
        avatar_url: "https://img.example.com/a.png",
        metadata: { source: "invite", n: 1 },
        deleted_at: null,
        roles: ["viewer"],
      })
      assert.deepEqual(await m.service.listUsers({ email: "chosen@example.com" }), [user])
      assert.deepEqual(await m.service.listUsers({ email: "invited@example.com" }), [])
      assertEmits(m.bus, [acceptMessages(user.id, invite.id)])
      const accepted = await m.service.retrieveInvite(invite.id, { withDeleted: true })
      assert.equal(accepted.accepted, true)
      assert.ok(accepted.deleted_at instanceof Date)
    })
  })

  test("eventGroupId is copied into both messages' metadata", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "grp@example.com" })
      m.bus.calls.length = 0
      const user = await m.service.acceptInvite(invite.token, { first_name: "G" }, { eventGroupId: "grp-accept" })
      assertEmits(m.bus, [acceptMessages(user.id, invite.id, "grp-accept")])
    })
  })

  test("with a messageAggregator: saved, emitted once with earlier messages first, then cleared", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "agg@example.com" })
      m.bus.calls.length = 0
      const aggregator = new MedusaLikeAggregator()
      const pre = { name: "pre.existing", metadata: { source: "test", object: "thing", action: "pre" }, data: { id: "p1" }, options: undefined }
      aggregator.save(pre)
      const user = await m.service.acceptInvite(invite.token, {}, { messageAggregator: aggregator })
      assert.equal(m.bus.calls.length, 1)
      const [call] = m.bus.calls
      assert.deepEqual(call.options, { internal: true })
      assert.equal(call.messages[0], pre)
      assert.deepEqual(call.messages.slice(1).map(normalize), acceptMessages(user.id, invite.id))
      assert.equal(aggregator.count(), 0)
    })
  })

  test("a soft-deleted user holding the email does not block the accept", async () => {
    await withModule(async (m) => {
      const old = await m.service.createUsers({ email: "back@example.com", first_name: "Old" })
      execute(m.file, `update "user" set deleted_at = ${sqlTime(m.file)} where id = '${old.id}'`)
      const invite = await m.service.createInvites({ email: "back@example.com" })
      m.bus.calls.length = 0
      const user = await m.service.acceptInvite(invite.token, { first_name: "New" })
      assert.notEqual(user.id, old.id)
      assert.equal(user.email, "back@example.com")
      assertEmits(m.bus, [acceptMessages(user.id, invite.id)])
      assert.deepEqual(await m.service.listUsers({ email: "back@example.com" }), [user])
    })
  })

  test("a refreshed invite is accepted with its new token", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "refreshed@example.com" })
      const [refreshed] = await m.service.refreshInviteTokens([invite.id])
      m.bus.calls.length = 0
      const user = await m.service.acceptInvite(refreshed.token)
      assert.equal(user.email, "refreshed@example.com")
      assertEmits(m.bus, [acceptMessages(user.id, invite.id)])
    })
  })
})

describe("acceptInvite: refusals change nothing and emit nothing", () => {
  /** Runs `attempt` and asserts the rejection, then that storage and events are as before. */
  async function refused(m: TestModule, attempt: () => Promise<unknown>, type: string, message: string): Promise<void> {
    m.bus.calls.length = 0
    const before = snapshot(m.file)
    assertExactMedusaError(await rejection(attempt()), type, message)
    assert.deepEqual(snapshot(m.file), before, "invites and users unchanged")
    assert.equal(m.bus.calls.length, 0, "nothing emitted")
  }

  for (const [label, token, message] of [
    ['"abc"', "abc", "jwt malformed"],
    ['"a.b.c"', "a.b.c", "invalid token"],
    ['""', "", "jwt must be provided"],
  ] as const) {
    test(`a malformed token ${label}: invalid_data '${message}'`, async () => {
      await withModule(async (m) => {
        const invite = await m.service.createInvites({ email: "malformed@example.com" })
        await refused(m, () => m.service.acceptInvite(token, { first_name: "X" }), "invalid_data", message)
        assert.deepEqual(await m.service.validateInviteToken(invite.token), invite, "the invite stays live")
        assert.deepEqual(await m.service.listUsers(), [])
      })
    })
  }

  test("a tampered signature: invalid_data 'invalid signature'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "tampered@example.com" })
      await refused(m, () => m.service.acceptInvite(withBadSignature(invite.token)), "invalid_data", "invalid signature")
      assert.deepEqual(await m.service.listUsers(), [])
    })
  })

  test("a token signed with a foreign secret: invalid_data 'invalid signature'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "foreign@example.com" })
      const token = jwt.sign({ id: invite.id, email: invite.email }, "foreign-secret-77", { expiresIn: 3600 })
      await refused(m, () => m.service.acceptInvite(token), "invalid_data", "invalid signature")
    })
  })

  test("a right-secret token for an id that does not exist: not_found", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "exists@example.com" })
      const id = "invite_01NOSUCHINVITE000000000000"
      const token = jwt.sign({ id, email: "ghost@example.com" }, SECRET, { expiresIn: 3600 })
      await refused(m, () => m.service.acceptInvite(token, { first_name: "Ghost" }), "not_found", notFound(id))
      assert.deepEqual(await m.service.listUsers(), [])
    })
  })

  test("the old token after refreshInviteTokens: invalid_data 'The invite token is invalid'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "rotated@example.com" })
      const [refreshed] = await m.service.refreshInviteTokens([invite.id])
      await refused(m, () => m.service.acceptInvite(invite.token), "invalid_data", "The invite token is invalid")
      assert.deepEqual(await m.service.validateInviteToken(refreshed.token), refreshed)
    })
  })

  test("an expired invite (expires_at moved into the past): invalid_data 'The invite has expired'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "expired@example.com" })
      await m.service.updateInvites({ id: invite.id, expires_at: new Date(Date.now() - 60_000) })
      await refused(m, () => m.service.acceptInvite(invite.token, { first_name: "Late" }), "invalid_data", "The invite has expired")
      assert.deepEqual(await m.service.listUsers(), [])
      const row = storedInvite(m.file, invite.id)
      assert.equal(row.accepted, 0)
      assert.equal(row.deleted_at, null)
    })
  })

  test("an expired invite (expires_at moved by an independent writer): invalid_data 'The invite has expired'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "expired-sql@example.com" })
      execute(m.file, `update "invite" set expires_at = ${sqlTime(m.file, Date.now() - 1000)} where id = '${invite.id}'`)
      await refused(m, () => m.service.acceptInvite(invite.token), "invalid_data", "The invite has expired")
    })
  })

  test("an expired JWT (valid_duration -10): invalid_data 'jwt expired'", async () => {
    await withOptions({ valid_duration: -10 }, async (m) => {
      const invite = await m.service.createInvites({ email: "jwt-expired@example.com" })
      await refused(m, () => m.service.acceptInvite(invite.token), "invalid_data", "jwt expired")
      assert.equal(storedInvite(m.file, invite.id).deleted_at, null)
    })
  })

  test("a soft-deleted invite: not_found", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "soft@example.com" })
      await m.service.softDeleteInvites([invite.id])
      await refused(m, () => m.service.acceptInvite(invite.token), "not_found", notFound(invite.id))
      const row = storedInvite(m.file, invite.id)
      assert.equal(row.accepted, 0, "a soft-deleted invite is not marked accepted")
    })
  })

  test("a live user already holding the email: invalid_data 'User with email: <email>, already exists.'; the invite stays live", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "taken@example.com", roles: ["admin"] })
      const existing = await m.service.createUsers({ email: "taken@example.com", first_name: "First" })
      await refused(m, () => m.service.acceptInvite(invite.token, { first_name: "Second" }), "invalid_data", userExists("taken@example.com"))
      // the invite is untouched and still usable
      assert.deepEqual(await m.service.retrieveInvite(invite.id), invite)
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
      const row = storedInvite(m.file, invite.id)
      assert.equal(row.accepted, 0)
      assert.equal(row.deleted_at, null)
      assert.deepEqual(await m.service.listUsers(), [existing])
    })
  })

  test("user.email naming a live user's email: invalid_data with that email", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "free@example.com" })
      await m.service.createUsers({ email: "busy@example.com" })
      await refused(m, () => m.service.acceptInvite(invite.token, { email: "busy@example.com" }), "invalid_data", userExists("busy@example.com"))
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
    })
  })

  test("a refusal with a messageAggregator leaves it untouched", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "agg-fail@example.com" })
      const aggregator = new MedusaLikeAggregator()
      await refused(m, () => m.service.acceptInvite("abc", {}, { messageAggregator: aggregator }), "invalid_data", "jwt malformed")
      assert.equal(aggregator.count(), 0)
      assert.ok(!aggregator.calls.includes("save"))
    })
  })
})

describe("acceptInvite: transactions", () => {
  test("in module.transaction: no event before commit; after it, one emit of user.user.created, user.invite.deleted, invite.accepted", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "tx@example.com", roles: ["r1"] })
      m.bus.calls.length = 0
      const user = await m.service.transaction(async (tx) => {
        const created = await m.service.acceptInvite(invite.token, { first_name: "Tx" }, { transactionManager: tx })
        assert.equal(m.bus.calls.length, 0, "held until commit")
        // inside the transaction the invite is already spent
        assertExactMedusaError(
          await rejection(m.service.validateInviteToken(invite.token, { transactionManager: tx, enableNestedTransactions: true })),
          "not_found",
          notFound(invite.id),
        )
        return created
      })
      assertUserShape(user)
      assert.deepEqual(user.roles, ["r1"])
      assertEmits(m.bus, [acceptMessages(user.id, invite.id)])
      assert.deepEqual(await m.service.retrieveUser(user.id), user)
      const row = storedInvite(m.file, invite.id)
      assert.equal(row.accepted, 1)
      assert.notEqual(row.deleted_at, null)
    })
  })

  test("create and accept in one transaction: the invite made there is accepted; events after commit in call order", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const invite = await m.service.createInvites({ email: "same-tx@example.com" }, { transactionManager: tx })
      const user = await m.service.acceptInvite(invite.token, { last_name: "Same" }, { transactionManager: tx })
      assert.equal(m.bus.calls.length, 0)
      await tx.commit()
      assert.equal(m.bus.calls.length, 2)
      assert.deepEqual(m.bus.names, ["user.invite.created", "user.user.invite.token_generated", USER_CREATED, DELETED, INVITE_ACCEPTED])
      assert.deepEqual(m.bus.calls[1].messages.map(normalize), acceptMessages(user.id, invite.id))
      assert.deepEqual(await m.service.listUsers(), [user])
    })
  })

  test("rolled back: no user, the invite live and not accepted, no event; the token can be accepted afterwards", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "rollback@example.com" })
      m.bus.calls.length = 0
      const before = snapshot(m.file)
      const tx = await m.service.begin()
      const user = await m.service.acceptInvite(invite.token, { first_name: "Gone" }, { transactionManager: tx })
      assertUserShape(user)
      await tx.rollback()
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(snapshot(m.file), before)
      assert.deepEqual(await m.service.listUsers(), [])
      assertExactMedusaError(await rejection(m.service.retrieveUser(user.id)), "not_found", `User with id: ${user.id} was not found`)
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
      const again = await m.service.acceptInvite(invite.token, { first_name: "Kept" })
      assert.equal(again.first_name, "Kept")
      assertEmits(m.bus, [acceptMessages(again.id, invite.id)])
    })
  })
})

// =============================================================================================

describe("createUsers emits user.user.created", () => {
  test("one user: one emit with one user.user.created (object user, action created, data { id })", async () => {
    await withModule(async (m) => {
      const user = await m.service.createUsers({ email: "one@example.com", first_name: "One" })
      assertUserShape(user)
      assert.equal(user.roles, null)
      assertEmits(m.bus, [
        [{ name: "user.user.created", metadata: { source: "user", object: "user", action: "created" }, data: { id: user.id } }],
      ])
    })
  })

  test("three users: one emit, one message per user in input order", async () => {
    await withModule(async (m) => {
      const users = await m.service.createUsers([{ email: "u3@example.com" }, { email: "u1@example.com" }, { email: "u2@example.com" }])
      assert.deepEqual(users.map((u) => u.email), ["u3@example.com", "u1@example.com", "u2@example.com"])
      for (const user of users) assertUserShape(user)
      assertEmits(m.bus, [userCreatedMessages(users.map((u) => u.id))])
    })
  })

  test("eventGroupId is copied into every message", async () => {
    await withModule(async (m) => {
      const users = await m.service.createUsers([{ email: "g1@example.com" }, { email: "g2@example.com" }], { eventGroupId: "grp-users" })
      assertEmits(m.bus, [userCreatedMessages(users.map((u) => u.id), "grp-users")])
    })
  })

  test("a failing createUsers (email of a live user) emits nothing", async () => {
    await withModule(async (m) => {
      await m.service.createUsers({ email: "dup@example.com" })
      m.bus.calls.length = 0
      const error = await rejection(m.service.createUsers([{ email: "fresh@example.com" }, { email: "dup@example.com" }]))
      assert.ok(MedusaError.isMedusaError(error))
      assert.equal(m.bus.calls.length, 0)
      assert.equal(tableCounts(m.file, ["user"]).user, 1)
    })
  })

  test("under a transaction: after commit only; none after rollback", async () => {
    await withModule(async (m) => {
      const committed = await m.service.transaction(async (tx) => {
        const users = await m.service.createUsers([{ email: "c1@example.com" }], { transactionManager: tx })
        assert.equal(m.bus.calls.length, 0)
        return users
      })
      assertEmits(m.bus, [userCreatedMessages([committed[0].id])])
      const tx = await m.service.begin()
      await m.service.createUsers({ email: "r1@example.com" }, { transactionManager: tx })
      await tx.rollback()
      assert.equal(m.bus.calls.length, 1, "nothing for the rolled-back call")
      assert.deepEqual(await m.service.listUsers(), [committed[0]])
    })
  })
})

describe("retrieveUser", () => {
  test("finds a user by id: the same UserDTO createUsers returned", async () => {
    await withModule(async (m) => {
      const [a, b] = await m.service.createUsers([
        { email: "ra@example.com", first_name: "R", last_name: "A", avatar_url: "https://x/y.png", metadata: { k: [1, 2] } },
        { email: "rb@example.com" },
      ])
      m.bus.calls.length = 0
      const found = await m.service.retrieveUser(a.id)
      assertUserShape(found)
      assert.deepEqual(found, a)
      assert.deepEqual(await m.service.retrieveUser(b.id), b)
      assert.equal(m.bus.calls.length, 0, "reads emit nothing")
    })
  })

  test("an unknown id: not_found 'User with id: x was not found'", async () => {
    await withModule(async (m) => {
      await m.service.createUsers({ email: "someone@example.com" })
      assertExactMedusaError(await rejection(m.service.retrieveUser("x")), "not_found", "User with id: x was not found")
    })
  })

  test("an undefined id: not_found 'user - id must be defined'", async () => {
    await withModule(async (m) => {
      const promise = m.service.retrieveUser(undefined as any)
      assert.ok(promise instanceof Promise, "a rejection, not a synchronous throw")
      assertExactMedusaError(await rejection(promise), "not_found", "user - id must be defined")
    })
  })
})

describe("listUsers", () => {
  /** Three users whose names and emails overlap only where a test wants them to. */
  async function seed(m: TestModule): Promise<{ ada: UserDTO; alan: UserDTO; grace: UserDTO }> {
    const [ada, alan, grace] = await m.service.createUsers([
      { email: "countess@lovelace.org", first_name: "Ada", last_name: "Lovelace" },
      { email: "alan@turing.org", first_name: "Alan", last_name: "Turing" },
      { email: "grace@navy.mil", first_name: "Grace", last_name: "Hopper" },
    ])
    m.bus.calls.length = 0
    return { ada, alan, grace }
  }

  test("no filters: every live user, full UserDTOs, ordered by id", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      const all = await m.service.listUsers()
      for (const user of all) assertUserShape(user)
      assert.deepEqual(all, byId([ada, alan, grace]))
      assert.deepEqual(await m.service.listUsers({}), byId([ada, alan, grace]))
      assert.equal(m.bus.calls.length, 0, "reads emit nothing")
    })
  })

  test("email: a string, an array, an operator; no match -> []", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      assert.deepEqual(await m.service.listUsers({ email: "alan@turing.org" }), [alan])
      assert.deepEqual(await m.service.listUsers({ email: ["grace@navy.mil", "countess@lovelace.org"] }), byId([ada, grace]))
      assert.deepEqual(await m.service.listUsers({ email: { $in: ["grace@navy.mil", "nobody@x.org"] } }), [grace])
      assert.deepEqual(await m.service.listUsers({ email: "ALAN@TURING.ORG" }), [], "email matching is case-sensitive")
      assert.deepEqual(await m.service.listUsers({ email: "nobody@example.com" }), [])
    })
  })

  test("first_name and last_name filters", async () => {
    await withModule(async (m) => {
      const { alan, grace } = await seed(m)
      assert.deepEqual(await m.service.listUsers({ first_name: "Alan" }), [alan])
      assert.deepEqual(await m.service.listUsers({ last_name: ["Turing", "Hopper"] }), byId([alan, grace]))
    })
  })

  test("q: case-insensitive substring of email, first_name or last_name", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      assert.deepEqual(await m.service.listUsers({ q: "ADA" }), [ada], "first_name only")
      assert.deepEqual(await m.service.listUsers({ q: "hop" }), [grace], "last_name only")
      assert.deepEqual(await m.service.listUsers({ q: "COUNTESS" }), [ada], "email only")
      assert.deepEqual(await m.service.listUsers({ q: "turing" }), [alan], "email and last_name")
      assert.deepEqual(await m.service.listUsers({ q: ".org" }), byId([ada, alan]))
      assert.deepEqual(await m.service.listUsers({ q: "zzz" }), [])
      assert.deepEqual(await m.service.listUsers({ q: "hop", email: "alan@turing.org" }), [], "q and email both apply")
    })
  })

  test("select: only id and the selected keys, in UserDTO key order", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      const emails = await m.service.listUsers({}, { select: ["email"] })
      assert.deepEqual(
        emails,
        byId([ada, alan, grace]).map((u) => ({ id: u.id, email: u.email })),
      )
      for (const user of emails) assert.deepEqual(Object.keys(user), ["id", "email"])
      const names = await m.service.listUsers({ email: "grace@navy.mil" }, { select: ["last_name", "email", "first_name"] })
      assert.deepEqual(names, [{ id: grace.id, first_name: "Grace", last_name: "Hopper", email: "grace@navy.mil" }])
      assert.deepEqual(Object.keys(names[0]), ["id", "first_name", "last_name", "email"])
    })
  })

  test("order, skip, take; listAndCountUsers counts ignoring skip/take", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      assert.deepEqual(await m.service.listUsers({}, { order: { email: "ASC" } }), [alan, ada, grace])
      assert.deepEqual(await m.service.listUsers({}, { order: { email: "DESC" }, skip: 1, take: 1 }), [ada])
      const [page, total] = await m.service.listAndCountUsers({}, { take: 1, order: { first_name: "ASC" } })
      assert.deepEqual(page, [ada])
      assert.equal(total, 3)
      assert.deepEqual(await m.service.listAndCountUsers({ q: ".org" }), [byId([ada, alan]), 2])
    })
  })

  test("soft-deleted users are hidden unless withDeleted", async () => {
    await withModule(async (m) => {
      const { ada, alan, grace } = await seed(m)
      execute(m.file, `update "user" set deleted_at = ${sqlTime(m.file)} where id = '${grace.id}'`)
      assert.deepEqual(await m.service.listUsers(), byId([ada, alan]))
      assert.deepEqual(await m.service.listUsers({ email: "grace@navy.mil" }), [])
      const withDeleted = await m.service.listUsers({ email: "grace@navy.mil" }, { withDeleted: true })
      assert.equal(withDeleted.length, 1)
      assert.equal(withDeleted[0].id, grace.id)
      assert.ok(withDeleted[0].deleted_at instanceof Date)
      assertExactMedusaError(await rejection(m.service.retrieveUser(grace.id)), "not_found", `User with id: ${grace.id} was not found`)
    })
  })

  test("a user made by acceptInvite is listed with its roles", async () => {
    await withModule(async (m) => {
      const { ada } = await seed(m)
      const invite = await m.service.createInvites({ email: "new@turing.org", roles: ["admin"] })
      const user = await m.service.acceptInvite(invite.token, { first_name: "Newt" })
      assert.deepEqual(await m.service.listUsers({ q: "newt" }), [user])
      assert.deepEqual((await m.service.listUsers({ q: "newt" }))[0].roles, ["admin"])
      assert.deepEqual(await m.service.listUsers({ email: ada.email }), [ada])
    })
  })
})
