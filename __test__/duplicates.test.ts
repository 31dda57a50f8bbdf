// Duplicates (docs/behaviour.md, docs/storage.md): every check runs in the one
// transaction of the call, and a failing call writes nothing and emits nothing.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError } from ".."
import { count, execute, rows, rejection, sqlTime, withModule, type TestModule } from "./helpers"


/** A MedusaError of type invalid_data with exactly `message`, and (when given) `index`. */
function assertInvalidData(error: any, message: string, index?: number): void {
  assert.ok(error instanceof MedusaError, `expected a MedusaError, got ${error}`)
  assert.equal(error.constructor.name, "MedusaError")
  assert.equal(error.__isMedusaError, true)
  assert.equal(error.type, "invalid_data")
  assert.equal(error.code, undefined)
  assert.equal(error.message, message)
  if (index !== undefined) assert.equal(error.index, index)
}

/** The invite table as an independent reader (sqlite3 or psql) sees it, for before/after comparisons. */
function snapshot(file: string) {
  return rows(file, "select id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at from invite order by id")
}

/** Makes a fresh module's database exist with one known row, so counts are meaningful. */
async function seed(m: TestModule): Promise<void> {
  await m.service.createInvites({ id: "invite_seed", email: "seed@example.com" })
  m.bus.calls.length = 0
}

/** Two stored invites: `invite_a` (a@example.com) and `invite_b` (b@example.com). */
async function seedTwo(m: TestModule): Promise<void> {
  await m.service.createInvites([
    { id: "invite_a", email: "a@example.com" },
    { id: "invite_b", email: "b@example.com" },
  ])
}

describe("within one batch", () => {
  test("an email repeated in the batch: `Invite with email: X, already exists.`, index of the 2nd occurrence, nothing written", async () => {
    await withModule(async (m) => {
      await seed(m)
      const error = await rejection(
        m.service.createInvites([
          { email: "first@example.com" },
          { email: "dup@example.com" },
          { email: "other@example.com" },
          { email: "dup@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with email: dup@example.com, already exists.", 3)
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("an email repeated at positions 0 and 1", async () => {
    await withModule(async (m) => {
      await seed(m)
      const error = await rejection(m.service.createInvites([{ email: "d@example.com" }, { email: "d@example.com" }]))
      assertInvalidData(error, "Invite with email: d@example.com, already exists.", 1)
      assert.equal(count(m.file), 1)
    })
  })

  test("an id repeated in the batch: `Invite with id: X, already exists.` (no silent merge), nothing written", async () => {
    await withModule(async (m) => {
      await seed(m)
      const error = await rejection(
        m.service.createInvites([
          { id: "invite_SAME", email: "s1@example.com" },
          { id: "invite_SAME", email: "s2@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with id: invite_SAME, already exists.", 1)
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 0)
      // s1 was not kept either: both emails and the id are still free.
      const ok = await m.service.createInvites([
        { id: "invite_SAME", email: "s1@example.com" },
        { email: "s2@example.com" },
      ])
      assert.equal(ok.length, 2)
      assert.equal(count(m.file), 3)
    })
  })

  test("a caller id without prefix repeated in the batch", async () => {
    await withModule(async (m) => {
      await seed(m)
      const error = await rejection(
        m.service.createInvites([
          { email: "c0@example.com" },
          { id: "custom-id", email: "c1@example.com" },
          { email: "c2@example.com" },
          { id: "custom-id", email: "c3@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with id: custom-id, already exists.", 3)
      assert.equal(count(m.file), 1)
    })
  })
})

describe("against stored invites", () => {
  test("an email held by a live invite is rejected (single object)", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "live@example.com" })
      const before = snapshot(m.file)
      m.bus.calls.length = 0
      const error = await rejection(m.service.createInvites({ email: "live@example.com" }))
      assertInvalidData(error, "Invite with email: live@example.com, already exists.")
      assert.deepEqual(snapshot(m.file), before)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("an email held by a live invite as the 2nd item: index 1, nothing written", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "live@example.com" })
      const error = await rejection(m.service.createInvites([{ email: "fresh@example.com" }, { email: "live@example.com" }]))
      assertInvalidData(error, "Invite with email: live@example.com, already exists.", 1)
      assert.equal(count(m.file), 1)
      assert.deepEqual(rows(m.file, "select email from invite"), [{ email: "live@example.com" }])
    })
  })

  test("a caller id equal to a live invite's id is rejected", async () => {
    await withModule(async (m) => {
      const first = await m.service.createInvites({ email: "owner@example.com" })
      const error = await rejection(m.service.createInvites({ id: first.id, email: "someone@example.com" }))
      assertInvalidData(error, `Invite with id: ${first.id}, already exists.`)
      assert.equal(count(m.file), 1)
    })
  })

  test("a soft-deleted invite frees its email but not its id", async () => {
    await withModule(async (m) => {
      const deleted = await m.service.createInvites({
        id: "invite_softdeleted",
        email: "sd@example.com",
        deleted_at: new Date(),
      })
      assert.ok(deleted.deleted_at instanceof Date)
      const stored = rows<{ deleted_at: unknown }>(m.file, "select deleted_at from invite where id = 'invite_softdeleted'")
      assert.equal(stored.length, 1)
      assert.notEqual(stored[0].deleted_at, null)

      // the email is free again
      const again = await m.service.createInvites({ email: "sd@example.com" })
      assert.equal(again.email, "sd@example.com")
      assert.equal(again.deleted_at, null)
      assert.notEqual(again.id, "invite_softdeleted")
      assert.equal(count(m.file), 2)

      // the id is not
      const error = await rejection(m.service.createInvites({ id: "invite_softdeleted", email: "new@example.com" }))
      assertInvalidData(error, "Invite with id: invite_softdeleted, already exists.")
      const batchError = await rejection(
        m.service.createInvites([{ email: "n1@example.com" }, { id: "invite_softdeleted", email: "n2@example.com" }]),
      )
      assertInvalidData(batchError, "Invite with id: invite_softdeleted, already exists.", 1)
      assert.equal(count(m.file), 2)

      // and now the email is held by the live one
      const emailError = await rejection(m.service.createInvites({ email: "sd@example.com" }))
      assertInvalidData(emailError, "Invite with email: sd@example.com, already exists.")
      assert.equal(count(m.file), 2)
    })
  })

  test("two soft-deleted invites may share an email with a live one", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { email: "many@example.com", deleted_at: new Date("2024-01-01T00:00:00.000Z") },
        { email: "many@example.com", deleted_at: "2024-02-01T00:00:00.000Z" },
        { email: "many@example.com" },
      ])
      assert.equal(count(m.file), 3)
    })
  })
})

describe("against live users", () => {
  test("one user email blocks the batch; nothing written, nothing emitted", async () => {
    await withModule(async (m) => {
      await seed(m)
      await m.service.createUsers({ email: "user@example.com" })
      m.bus.calls.length = 0 // createUsers announced the user; only what follows counts
      const error = await rejection(
        m.service.createInvites([{ email: "free@example.com" }, { email: "user@example.com" }]),
      )
      assertInvalidData(error, "User account for following email(s) already exist: user@example.com")
      assert.equal(count(m.file), 1)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("all such emails are listed in INPUT order, even when the users were created in another order", async () => {
    await withModule(async (m) => {
      await seed(m)
      // zz created first (lower id): Medusa would list zz first; we list in input order.
      await m.service.createUsers({ email: "zz@example.com" })
      await m.service.createUsers({ email: "aa@example.com" })
      await m.service.createUsers({ email: "mm@example.com" })
      const error = await rejection(
        m.service.createInvites([
          { email: "aa@example.com" },
          { email: "free@example.com" },
          { email: "mm@example.com" },
          { email: "zz@example.com" },
        ]),
      )
      assertInvalidData(
        error,
        "User account for following email(s) already exist: aa@example.com, mm@example.com, zz@example.com",
      )
      const reversed = await rejection(
        m.service.createInvites([{ email: "zz@example.com" }, { email: "free@example.com" }, { email: "aa@example.com" }]),
      )
      assertInvalidData(reversed, "User account for following email(s) already exist: zz@example.com, aa@example.com")
      assert.equal(count(m.file), 1)
    })
  })

  test("users created in one batch in the opposite order", async () => {
    await withModule(async (m) => {
      await seed(m)
      await m.service.createUsers([{ email: "b@example.com" }, { email: "a@example.com" }])
      const error = await rejection(m.service.createInvites([{ email: "a@example.com" }, { email: "b@example.com" }]))
      assertInvalidData(error, "User account for following email(s) already exist: a@example.com, b@example.com")
      assert.equal(count(m.file), 1)
    })
  })

  test("each user email is listed once, even when repeated in the input", async () => {
    await withModule(async (m) => {
      await seed(m)
      await m.service.createUsers([{ email: "aa@example.com" }, { email: "zz@example.com" }])
      const error = await rejection(
        m.service.createInvites([{ email: "zz@example.com" }, { email: "aa@example.com" }, { email: "zz@example.com" }]),
      )
      assertInvalidData(error, "User account for following email(s) already exist: zz@example.com, aa@example.com")
      assert.equal(count(m.file), 1)
    })
  })

  test("the user check wins over an invite duplicate in the same batch", async () => {
    await withModule(async (m) => {
      await seed(m)
      await m.service.createUsers({ email: "user@example.com" })
      const error = await rejection(
        m.service.createInvites([{ email: "seed@example.com" }, { email: "user@example.com" }]),
      )
      assertInvalidData(error, "User account for following email(s) already exist: user@example.com")
      assert.equal(count(m.file), 1)
    })
  })

  test("a soft-deleted user does not block (deleted_at set by an independent client: createUsers takes no deleted_at)", async () => {
    await withModule(async (m) => {
      await seed(m)
      await m.service.createUsers([{ email: "gone@example.com" }, { email: "here@example.com" }])
      execute(m.file, `update "user" set deleted_at = ${sqlTime(m.file)} where email = 'gone@example.com'`)
      assert.equal(rows(m.file, `select 1 as x from "user" where email = 'gone@example.com' and deleted_at is not null`).length, 1)
      const invite = await m.service.createInvites({ email: "gone@example.com" })
      assert.equal(invite.email, "gone@example.com")
      const error = await rejection(m.service.createInvites({ email: "here@example.com" }))
      assertInvalidData(error, "User account for following email(s) already exist: here@example.com")
      assert.equal(count(m.file), 2)
    })
  })
})

// The index names the first item that cannot be written, given the stored rows and the items
// before it (as for invalid items: the first failing item wins).
describe("which item a duplicate error names", () => {
  test("an email held by a live invite and repeated in the batch: the first item with it", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "live@example.com" })
      const error = await rejection(
        m.service.createInvites([{ email: "new@example.com" }, { email: "live@example.com" }, { email: "live@example.com" }]),
      )
      assertInvalidData(error, "Invite with email: live@example.com, already exists.", 1)
      assert.equal(count(m.file), 1)
    })
  })

  test("a stored id (live or soft-deleted invite) repeated in the batch: the first item with it", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { id: "invite_live", email: "live@example.com" },
        { id: "invite_soft", email: "soft@example.com", deleted_at: new Date("2024-01-01T00:00:00.000Z") },
      ])
      for (const id of ["invite_live", "invite_soft"]) {
        const error = await rejection(
          m.service.createInvites([
            { id, email: "n1@example.com" },
            { id, email: "n2@example.com" },
          ]),
        )
        assertInvalidData(error, `Invite with id: ${id}, already exists.`, 0)
      }
      assert.equal(count(m.file), 2)
    })
  })

  test("an item holding one stored invite's id and another's email: its email is named", async () => {
    await withModule(async (m) => {
      await seedTwo(m)
      const before = snapshot(m.file)
      m.bus.calls.length = 0
      const error = await rejection(
        m.service.createInvites([{ email: "new@example.com" }, { id: "invite_a", email: "b@example.com" }]),
      )
      assertInvalidData(error, "Invite with email: b@example.com, already exists.", 1)
      assert.deepEqual(snapshot(m.file), before)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a stored id before a stored email in the batch: the id's item is named", async () => {
    await withModule(async (m) => {
      await seedTwo(m)
      const error = await rejection(
        m.service.createInvites([
          { email: "new@example.com" },
          { id: "invite_a", email: "other@example.com" },
          { email: "b@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with id: invite_a, already exists.", 1)
      assert.equal(count(m.file), 2)
    })
  })

  test("a batch of 6,000 (sent in parts): the first stored email or id in input order, nothing written", async () => {
    await withModule(async (m) => {
      await seedTwo(m)
      m.bus.calls.length = 0
      const batch = Array.from({ length: 6000 }, (_, i) => ({ email: `bulk${i}@example.com` }) as { id?: string; email: string })
      batch[5999] = { email: "a@example.com" }
      batch[4000] = { id: "invite_b", email: "fresh@example.com" }
      const error = await rejection(m.service.createInvites(batch))
      assertInvalidData(error, "Invite with id: invite_b, already exists.", 4000)
      batch[4000] = { email: "fresh@example.com" }
      const last = await rejection(m.service.createInvites(batch))
      assertInvalidData(last, "Invite with email: a@example.com, already exists.", 5999)
      assert.equal(count(m.file), 2)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a user's email and a stored invite's email in one batch: the users are named", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "live@example.com" })
      await m.service.createUsers({ email: "user@example.com" })
      const error = await rejection(
        m.service.createInvites([{ email: "live@example.com" }, { email: "user@example.com" }]),
      )
      assertInvalidData(error, "User account for following email(s) already exist: user@example.com")
      assert.equal(count(m.file), 1)
    })
  })

  test("a soft-deleted item does not hold its email: the repeat is the second live item", async () => {
    await withModule(async (m) => {
      await seed(m)
      const error = await rejection(
        m.service.createInvites([
          { email: "d@example.com", deleted_at: new Date("2024-01-01T00:00:00.000Z") },
          { email: "d@example.com" },
          { email: "d@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with email: d@example.com, already exists.", 2)
      assert.equal(count(m.file), 1)
    })
  })
})

describe("case sensitivity", () => {
  test("invites: `A@x.com` and `a@x.com` are different emails", async () => {
    await withModule(async (m) => {
      const upper = await m.service.createInvites({ email: "A@x.com" })
      const lower = await m.service.createInvites({ email: "a@x.com" })
      assert.equal(upper.email, "A@x.com")
      assert.equal(lower.email, "a@x.com")
      const both = await m.service.createInvites([{ email: "B@x.com" }, { email: "b@x.com" }])
      assert.deepEqual(both.map((i) => i.email), ["B@x.com", "b@x.com"])
      assert.equal(count(m.file), 4)
      // the exact email is still a duplicate
      const error = await rejection(m.service.createInvites({ email: "A@x.com" }))
      assertInvalidData(error, "Invite with email: A@x.com, already exists.")
    })
  })

  test("users: a user `A@x.com` does not block an invite `a@x.com`, and vice versa", async () => {
    await withModule(async (m) => {
      await m.service.createUsers([{ email: "A@x.com" }, { email: "c@x.com" }])
      const lower = await m.service.createInvites({ email: "a@x.com" })
      assert.equal(lower.email, "a@x.com")
      const upper = await m.service.createInvites({ email: "C@x.com" })
      assert.equal(upper.email, "C@x.com")
      assert.equal(count(m.file), 2)
      const error = await rejection(m.service.createInvites({ email: "A@x.com" }))
      assertInvalidData(error, "User account for following email(s) already exist: A@x.com")
    })
  })

  test("invite ids are case-sensitive too", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { id: "invite_abc", email: "i1@example.com" },
        { id: "INVITE_ABC", email: "i2@example.com" },
      ])
      assert.equal(count(m.file), 2)
    })
  })
})

describe("all or nothing", () => {
  test("a failing batch leaves earlier successful data intact (rows unchanged byte for byte)", async () => {
    await withModule(async (m) => {
      await m.service.createInvites([
        { email: "keep1@example.com", metadata: { a: 1 } },
        { email: "keep2@example.com", accepted: true },
      ])
      await m.service.createUsers({ email: "user@example.com" })
      const before = snapshot(m.file)
      const usersBefore = rows(m.file, `select * from "user"`)
      for (const batch of [
        [{ email: "new1@example.com" }, { email: "keep1@example.com" }],
        [{ email: "new1@example.com" }, { email: "user@example.com" }],
        [{ email: "new1@example.com" }, { email: "new1@example.com" }],
        [{ email: "new1@example.com" }, { id: before[0].id as string, email: "new2@example.com" }],
      ]) {
        const error = await rejection(m.service.createInvites(batch))
        assert.equal(error.type, "invalid_data")
        assert.deepEqual(snapshot(m.file), before)
      }
      assert.deepEqual(rows(m.file, `select * from "user"`), usersBefore)
      assert.equal(count(m.file), 2)
      assert.equal(count(m.file, "user"), 1)
    })
  })

  test("item 0 fine, item 1 collides: nothing written, item 0 can be created afterwards", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "taken@example.com" })
      m.bus.calls.length = 0
      const error = await rejection(
        m.service.createInvites([
          { id: "invite_item0", email: "item0@example.com" },
          { email: "taken@example.com" },
        ]),
      )
      assertInvalidData(error, "Invite with email: taken@example.com, already exists.", 1)
      assert.equal(count(m.file), 1)
      assert.deepEqual(rows(m.file, "select id from invite where id = 'invite_item0' or email = 'item0@example.com'"), [])
      assert.equal(m.bus.calls.length, 0)
      const item0 = await m.service.createInvites({ id: "invite_item0", email: "item0@example.com" })
      assert.equal(item0.id, "invite_item0")
      assert.equal(count(m.file), 2)
    })
  })

  test("a long batch failing at its last item writes none of the others", async () => {
    await withModule(async (m) => {
      await seed(m)
      const batch = Array.from({ length: 50 }, (_, i) => ({ email: `bulk${i}@example.com` }))
      batch.push({ email: "seed@example.com" })
      const error = await rejection(m.service.createInvites(batch))
      assertInvalidData(error, "Invite with email: seed@example.com, already exists.", 50)
      assert.equal(count(m.file), 1)
    })
  })

  test("after a failure the module keeps working (the transaction was rolled back, not left open)", async () => {
    await withModule(async (m) => {
      await seed(m)
      await rejection(m.service.createInvites([{ email: "x@example.com" }, { email: "x@example.com" }]))
      const ok = await m.service.createInvites([{ email: "x@example.com" }, { email: "y@example.com" }])
      assert.equal(ok.length, 2)
      assert.equal(count(m.file), 3)
    })
  })
})
