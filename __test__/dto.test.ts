// The returned DTOs and what is stored (docs/behaviour.md).
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import type { InviteDTO } from ".."
import { assertStoredJson, count, expectedMessages, rejection, rows, tokenPart, withModule } from "./helpers"

const DTO_KEYS = [
  "id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at", "roles",
]
/** The real Medusa 2.21.2 serialization order; ours appends `roles` (docs/behaviour.md). */
const ORACLE_KEYS = ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at"]
// Medusa's UserDTO keys, then `roles` (set when a user comes from an accepted invite).
const USER_KEYS = ["id", "first_name", "last_name", "email", "avatar_url", "metadata", "created_at", "updated_at", "deleted_at", "roles"]
const INVITE_ID = /^invite_[0-9A-HJKMNP-TV-Z]{26}$/
const USER_ID = /^user_[0-9A-HJKMNP-TV-Z]{26}$/


function column<T = unknown>(file: string, name: string, id: string): T {
  const found = rows<Record<string, T>>(file, `select ${name} as v from invite where id = '${id.replace(/'/g, "''")}'`)
  assert.equal(found.length, 1, `one row for ${id}`)
  return found[0].v
}

function assertDtoShape(dto: InviteDTO): void {
  assert.equal(Object.getPrototypeOf(dto), Object.prototype)
  assert.deepEqual(Object.keys(dto), DTO_KEYS)
  assert.equal(typeof dto.id, "string")
  assert.equal(typeof dto.email, "string")
  assert.equal(typeof dto.accepted, "boolean")
  assert.equal(typeof dto.token, "string")
  assert.ok(dto.expires_at instanceof Date, "expires_at is a Date")
  assert.ok(dto.created_at instanceof Date, "created_at is a Date")
  assert.ok(dto.updated_at instanceof Date, "updated_at is a Date")
  assert.ok(!Number.isNaN(dto.expires_at.getTime()))
  assert.ok(!Number.isNaN(dto.created_at.getTime()))
}

describe("invite DTO shape", () => {
  test("key order exactly id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at, roles", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "shape@example.com" })
      assert.deepEqual(Object.keys(invite), DTO_KEYS)
      assertDtoShape(invite)
      assert.equal(invite.deleted_at, null)
      assert.equal(invite.metadata, null)
      assert.equal(invite.roles, null)
      assert.equal(invite.accepted, false)
      assert.equal(invite.email, "shape@example.com")
      assert.match(invite.id, INVITE_ID)
      assert.equal(invite.id.length, 33)
    })
  })

  test("key order is the same with every optional field given", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({
        roles: ["r"],
        metadata: { a: 1 },
        accepted: true,
        email: "full@example.com",
        id: "invite_full",
        deleted_at: new Date("2024-03-01T00:00:00.000Z"),
        updated_at: new Date("2024-02-01T00:00:00.000Z"),
        created_at: new Date("2024-01-01T00:00:00.000Z"),
      })
      assert.deepEqual(Object.keys(invite), DTO_KEYS)
      assert.ok(invite.deleted_at instanceof Date)
    })
  })

  test("the same as the real oracle's DTO, plus roles last", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "oracle@example.com" })
      assert.deepEqual(Object.keys(invite).slice(0, 9), ORACLE_KEYS)
      assert.equal(Object.keys(invite)[9], "roles")
      // JS types as observed in Medusa: string, string, boolean, string, Date, null, Date, Date, null
      assert.deepEqual(
        ORACLE_KEYS.map((key) => {
          const value = (invite as unknown as Record<string, unknown>)[key]
          return value instanceof Date ? "Date" : value === null ? "null" : typeof value
        }),
        ["string", "string", "boolean", "string", "Date", "null", "Date", "Date", "null"],
      )
      // created_at == updated_at; default lifetime 86400 s with millisecond precision
      assert.equal(invite.created_at.getTime(), invite.updated_at.getTime())
      const lifetime = invite.expires_at.getTime() - invite.created_at.getTime()
      assert.ok(lifetime > 86_399_000 && lifetime <= 86_400_000, `lifetime ${lifetime}`)
      // token: header {"alg":"HS256","typ":"JWT"}, payload keys id, email, iat, exp, jti
      assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JWT"}')
      const payload = tokenPart(invite.token, 1).json
      assert.deepEqual(Object.keys(payload), ["id", "email", "iat", "exp", "jti"])
      assert.equal(payload.id, invite.id)
      assert.equal(payload.email, invite.email)
    })
  })

  test("a batch shares one expires_at and one created_at", async () => {
    await withModule(async (m) => {
      const invites = await m.service.createInvites([
        { email: "b1@example.com" },
        { email: "b2@example.com" },
        { email: "b3@example.com" },
      ])
      for (const invite of invites) {
        assertDtoShape(invite)
        assert.equal(invite.expires_at.getTime(), invites[0].expires_at.getTime())
        assert.equal(invite.created_at.getTime(), invites[0].created_at.getTime())
      }
      assert.equal(new Set(invites.map((i) => i.id)).size, 3)
      assert.equal(new Set(invites.map((i) => i.token)).size, 3)
      // distinct Date objects, so a caller mutating one does not touch another
      assert.notEqual(invites[0].expires_at, invites[1].expires_at)
    })
  })

  test("DTOs are plain objects (prototype Object.prototype), also metadata", async () => {
    await withModule(async (m) => {
      const [a, b] = await m.service.createInvites([
        { email: "p1@example.com", metadata: { k: "v" } },
        { email: "p2@example.com" },
      ])
      for (const dto of [a, b]) assert.equal(Object.getPrototypeOf(dto), Object.prototype)
      assert.equal(Object.getPrototypeOf(a.metadata), Object.prototype)
      assert.notEqual(a, b)
      const single = await m.service.createInvites({ email: "p3@example.com" })
      assert.equal(Object.getPrototypeOf(single), Object.prototype)
    })
  })

  test("stored row matches the DTO (id, email, token)", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "row@example.com" })
      const stored = rows<{ id: string; email: string; token: string }>(m.file, "select id, email, token from invite")
      assert.deepEqual(stored, [{ id: invite.id, email: "row@example.com", token: invite.token }])
    })
  })
})

describe("accepted", () => {
  for (const [label, given, expected, storedValue] of [
    ["absent", undefined, false, 0],
    ["false", false, false, 0],
    ["true", true, true, 1],
    ["null", null, false, 0],
  ] as [string, boolean | null | undefined, boolean, number][]) {
    test(`accepted ${label} → ${expected}`, async () => {
      await withModule(async (m) => {
        const input = given === undefined ? { email: "acc@example.com" } : { email: "acc@example.com", accepted: given }
        const invite = await m.service.createInvites(input)
        assert.equal(invite.accepted, expected)
        assert.equal(Number(column(m.file, "accepted", invite.id)), storedValue)
      })
    })
  }
})

describe("metadata", () => {
  // SQLite keeps JSON.stringify's text byte for byte; PostgreSQL stores jsonb (as Medusa does),
  // which keeps the values but not key order or spacing (assertStoredJson). The returned DTO
  // holds the JSON.stringify-based object, key order included, on both backends.
  test("stored as JSON.stringify writes it (key order, nested Date → ISO, undefined dropped)", async () => {
    await withModule(async (m) => {
      const metadata = {
        b: 1,
        a: { c: [1, 2], z: "last", y: null },
        d: new Date("2024-01-01T00:00:00.000Z"),
        u: undefined,
        s: "text with \"quotes\" and ü",
        nested: { when: new Date("2025-06-15T12:34:56.789Z"), gone: undefined },
      }
      const expectedText = JSON.stringify(metadata)
      assert.equal(
        expectedText,
        '{"b":1,"a":{"c":[1,2],"z":"last","y":null},"d":"2024-01-01T00:00:00.000Z","s":"text with \\"quotes\\" and ü","nested":{"when":"2025-06-15T12:34:56.789Z"}}',
      )
      const invite = await m.service.createInvites({ email: "meta@example.com", metadata })
      assertStoredJson(m.file, column(m.file, "metadata", invite.id), expectedText)
      // returned as the JSON.stringify-based object, key order included (both backends)
      assert.equal(JSON.stringify(invite.metadata), expectedText)
      assert.deepEqual(invite.metadata, JSON.parse(expectedText))
      assert.deepEqual(Object.keys(invite.metadata!), ["b", "a", "d", "s", "nested"])
      assert.equal((invite.metadata as Record<string, unknown>).d, "2024-01-01T00:00:00.000Z")
      assert.ok(!("u" in invite.metadata!))
      // the caller's object is untouched
      assert.ok(metadata.d instanceof Date)
      assert.ok("u" in metadata)
    })
  })

  test("key order as given is kept in the DTO (not sorted), and in the stored text on SQLite", async () => {
    await withModule(async (m) => {
      const metadata = { zeta: 1, alpha: 2, mid: { z: 1, a: 2 } }
      const invite = await m.service.createInvites({ email: "order@example.com", metadata })
      assertStoredJson(m.file, column(m.file, "metadata", invite.id), '{"zeta":1,"alpha":2,"mid":{"z":1,"a":2}}')
      assert.equal(JSON.stringify(invite.metadata), '{"zeta":1,"alpha":2,"mid":{"z":1,"a":2}}')
      assert.deepEqual(Object.keys(invite.metadata!), ["zeta", "alpha", "mid"])
    })
  })

  test("{} is stored as {} and returned as {}", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "empty@example.com", metadata: {} })
      assert.equal(column(m.file, "metadata", invite.id), "{}")
      assert.deepEqual(invite.metadata, {})
    })
  })

  test("null and absent metadata → DTO null, column NULL", async () => {
    await withModule(async (m) => {
      const [withNull, absent] = await m.service.createInvites([
        { email: "mnull@example.com", metadata: null },
        { email: "mabsent@example.com" },
      ])
      assert.equal(withNull.metadata, null)
      assert.equal(absent.metadata, null)
      assert.equal(column(m.file, "metadata", withNull.id), null)
      assert.equal(column(m.file, "metadata", absent.id), null)
    })
  })

  test("each DTO of a batch carries its own metadata", async () => {
    await withModule(async (m) => {
      const invites = await m.service.createInvites([
        { email: "m1@example.com", metadata: { n: 1 } },
        { email: "m2@example.com" },
        { email: "m3@example.com", metadata: { n: 3 } },
      ])
      assert.deepEqual(invites.map((i) => i.metadata), [{ n: 1 }, null, { n: 3 }])
    })
  })
})

describe("roles", () => {
  test("an array of strings is stored as JSON text in column roles and returned", async () => {
    await withModule(async (m) => {
      const roles = ["admin", "editor", "ünïcode \"q\""]
      const invite = await m.service.createInvites({ email: "roles@example.com", roles })
      assert.deepEqual(invite.roles, ["admin", "editor", "ünïcode \"q\""])
      const stored = column<string>(m.file, "roles", invite.id)
      assert.equal(typeof stored, "string")
      assert.deepEqual(JSON.parse(stored), roles)
      assert.notEqual(invite.roles, roles, "the returned roles array is not the caller's array")
      roles.push("added later")
      assert.equal(invite.roles!.length, 3)
    })
  })

  test("null and absent roles → null, column NULL", async () => {
    await withModule(async (m) => {
      const [withNull, absent] = await m.service.createInvites([
        { email: "rnull@example.com", roles: null },
        { email: "rabsent@example.com" },
      ])
      assert.equal(withNull.roles, null)
      assert.equal(absent.roles, null)
      assert.equal(column(m.file, "roles", withNull.id), null)
      assert.equal(column(m.file, "roles", absent.id), null)
    })
  })

  test("an empty roles array stays an empty array", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "rempty@example.com", roles: [] })
      assert.deepEqual(invite.roles, [])
      assert.deepEqual(JSON.parse(column<string>(m.file, "roles", invite.id)), [])
    })
  })

  test("roles are kept per invite in a batch, and arrays are not shared between DTOs", async () => {
    await withModule(async (m) => {
      const shared = ["viewer"]
      const [a, b] = await m.service.createInvites([
        { email: "ra@example.com", roles: shared },
        { email: "rb@example.com", roles: shared },
      ])
      assert.deepEqual(a.roles, ["viewer"])
      assert.deepEqual(b.roles, ["viewer"])
      assert.notEqual(a.roles, shared)
      assert.notEqual(a.roles, b.roles)
    })
  })
})

describe("ignored and overwritten input", () => {
  test("unknown input keys are ignored and not in the DTO", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({
        email: "extra@example.com",
        extra: 1,
        user_id: "user_x",
        __proto_like: { a: 1 },
      } as any)
      assert.deepEqual(Object.keys(invite), DTO_KEYS)
      assert.ok(!("extra" in invite))
      assert.equal(count(m.file), 1)
    })
  })

  test("caller token and expires_at are ignored and overwritten", async () => {
    await withModule(async (m) => {
      const callerExpiry = new Date("2000-01-01T00:00:00.000Z")
      const before = Date.now()
      const invite = await m.service.createInvites({
        email: "over@example.com",
        token: "caller-token",
        expires_at: callerExpiry,
      })
      assert.notEqual(invite.token, "caller-token")
      assert.equal(invite.token.split(".").length, 3)
      assert.equal(tokenPart(invite.token, 1).json.email, "over@example.com")
      assert.ok(invite.expires_at.getTime() > before + 86_000_000)
      assert.notEqual(invite.expires_at, callerExpiry)
      assert.equal(column(m.file, "token", invite.id), invite.token)
      const [fromString] = await m.service.createInvites([
        { email: "over2@example.com", token: "t", expires_at: "1999-01-01T00:00:00.000Z" },
      ])
      assert.notEqual(fromString.token, "t")
      assert.ok(fromString.expires_at.getTime() > before + 86_000_000)
    })
  })

  test("caller created_at / updated_at / deleted_at are honoured (Date or ISO string)", async () => {
    await withModule(async (m) => {
      const [a, b] = await m.service.createInvites([
        {
          email: "t1@example.com",
          created_at: new Date("2024-01-02T03:04:05.678Z"),
          updated_at: new Date("2024-01-03T00:00:00.000Z"),
        },
        { email: "t2@example.com", created_at: "2023-05-06T07:08:09.123Z", deleted_at: "2024-06-01T00:00:00.000Z" },
      ])
      assert.equal(a.created_at.toISOString(), "2024-01-02T03:04:05.678Z")
      assert.equal(a.updated_at.toISOString(), "2024-01-03T00:00:00.000Z")
      assert.equal(a.deleted_at, null)
      assert.equal(b.created_at.toISOString(), "2023-05-06T07:08:09.123Z")
      assert.ok(b.deleted_at instanceof Date)
      assert.equal(b.deleted_at.toISOString(), "2024-06-01T00:00:00.000Z")
      assert.ok(b.updated_at instanceof Date)
    })
  })

  test("id: a non-empty string is kept verbatim; '' and null are generated", async () => {
    await withModule(async (m) => {
      const invites = await m.service.createInvites([
        { id: "custom-id", email: "i1@example.com" },
        { id: "", email: "i2@example.com" },
        { id: null, email: "i3@example.com" },
      ])
      assert.equal(invites[0].id, "custom-id")
      assert.match(invites[1].id, INVITE_ID)
      assert.match(invites[2].id, INVITE_ID)
    })
  })
})

describe("shape in equals shape out", () => {
  test("object in → a single object out (not an array)", async () => {
    await withModule(async (m) => {
      const result: unknown = await m.service.createInvites({ email: "one@example.com" })
      assert.ok(!Array.isArray(result))
      assert.equal(typeof result, "object")
      assert.equal((result as InviteDTO).email, "one@example.com")
    })
  })

  test("array of 1 → array of 1", async () => {
    await withModule(async (m) => {
      const result = await m.service.createInvites([{ email: "arr1@example.com" }])
      assert.ok(Array.isArray(result))
      assert.equal(result.length, 1)
      assert.deepEqual(Object.keys(result[0]), DTO_KEYS)
      assert.equal(result[0].email, "arr1@example.com")
    })
  })

  test("array of n → array of n in input order", async () => {
    await withModule(async (m) => {
      const emails = ["z@example.com", "a@example.com", "m@example.com", "b@example.com", "y@example.com"]
      const result = await m.service.createInvites(emails.map((email) => ({ email })))
      assert.equal(result.length, 5)
      assert.deepEqual(result.map((i) => i.email), emails)
      for (const dto of result) assertDtoShape(dto)
      const stored = rows<{ id: string; email: string }>(m.file, "select id, email from invite")
      const storedById = new Map(stored.map((r) => [r.id, r.email]))
      assert.deepEqual(result.map((i) => storedById.get(i.id)), emails)
    })
  })

  test("[] → [] and writes nothing", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "seed@example.com" })
      const result = await m.service.createInvites([])
      assert.ok(Array.isArray(result))
      assert.deepEqual(result, [])
      assert.equal(count(m.file), 1)
    })
  })
})

// Batches of 1,000 to 20,000 invites get their result ahead of the write, and their DTOs are
// built while it runs (src/binding/call.rs, EARLY_RESULT_SIZES): the sizes on both sides of
// that range must come out the same, and a write that fails after the result went ahead must
// leave nothing behind.
describe("large batches (result sent ahead of the write)", () => {
  for (const size of [999, 1_000, 20_000, 20_001]) {
    test(`a batch of ${size}: DTOs in input order, as stored, and its events`, async () => {
      await withModule(async (m) => {
        const emails = Array.from({ length: size }, (_, i) => `ahead-${size}-${i}@example.com`)
        const result = await m.service.createInvites(emails.map((email, i) => (i === 7 ? { email, metadata: { n: i }, roles: ["admin"] } : { email })))
        assert.equal(result.length, size)
        assert.deepEqual(result.map((dto) => dto.email), emails)
        for (const dto of [result[0], result[7], result[size - 1]]) assertDtoShape(dto)
        assert.deepEqual(result[7].metadata, { n: 7 })
        assert.deepEqual(result[7].roles, ["admin"])
        assert.equal(result[0].metadata, null)
        assert.equal(new Set(result.map((dto) => dto.token)).size, size, "one token each")
        assert.equal(count(m.file), size)
        const sample = [0, 7, size >> 1, size - 1].map((i) => result[i])
        const stored = rows<{ id: string; email: string; token: string }>(
          m.file,
          `select id, email, token from invite where id in (${sample.map((dto) => `'${dto.id}'`).join(", ")}) order by id`,
        )
        assert.deepEqual(stored, sample.map(({ id, email, token }) => ({ id, email, token })), "the DTOs' ids, emails and tokens as stored")
        assert.equal(m.bus.calls.length, 1, "one emit")
        assert.deepEqual(m.bus.calls[0].options, { internal: true })
        assert.deepEqual(m.bus.calls[0].messages, expectedMessages(result.map((dto) => dto.id)))
      })
    })
  }

  test("a batch of 1,000 refused by its last item rejects, writes nothing and emits nothing", async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on("unhandledRejection", onUnhandled)
    try {
      await withModule(async (m) => {
        await m.service.createInvites({ email: "taken@example.com" })
        m.bus.calls.length = 0
        const data = Array.from({ length: 1_000 }, (_, i) => ({ email: i === 999 ? "taken@example.com" : `refused-${i}@example.com` }))
        const error = await rejection(m.service.createInvites(data))
        assert.equal(error.type, "invalid_data")
        assert.equal(error.message, "Invite with email: taken@example.com, already exists.")
        assert.equal(count(m.file), 1)
        assert.deepEqual(m.bus.calls, [])
        // The same batch without the conflict then goes in whole.
        data[999] = { email: "free@example.com" }
        assert.equal((await m.service.createInvites(data)).length, 1_000)
        assert.equal(count(m.file), 1_001)
      })
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(unhandled, [])
    } finally {
      process.off("unhandledRejection", onUnhandled)
    }
  })
})

describe("createUsers DTO", () => {
  test("key order id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at", async () => {
    await withModule(async (m) => {
      const user = await m.service.createUsers({ email: "u@example.com" })
      assert.deepEqual(Object.keys(user), USER_KEYS)
      assert.match(user.id, USER_ID)
      assert.equal(user.id.length, 31)
      assert.equal(user.email, "u@example.com")
      assert.equal(user.first_name, null)
      assert.equal(user.last_name, null)
      assert.equal(user.avatar_url, null)
      assert.equal(user.metadata, null)
      assert.ok(user.created_at instanceof Date)
      assert.ok(user.updated_at instanceof Date)
      assert.equal(user.deleted_at, null)
      assert.equal(Object.getPrototypeOf(user), Object.prototype)
    })
  })

  test("with all fields, and as an array", async () => {
    await withModule(async (m) => {
      const users = await m.service.createUsers([
        { email: "f@example.com", first_name: "Ada", last_name: "Lovelace", avatar_url: "https://a/b.png", metadata: { k: 1 } },
        { email: "g@example.com" },
      ])
      assert.equal(users.length, 2)
      for (const user of users) {
        assert.deepEqual(Object.keys(user), USER_KEYS)
        assert.match(user.id, USER_ID)
      }
      assert.equal(users[0].first_name, "Ada")
      assert.equal(users[0].last_name, "Lovelace")
      assert.equal(users[0].avatar_url, "https://a/b.png")
      assert.deepEqual(users[0].metadata, { k: 1 })
      assert.deepEqual(users.map((u) => u.email), ["f@example.com", "g@example.com"])
      assert.equal(count(m.file, "user"), 2)
    })
  })
})
