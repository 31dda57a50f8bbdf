// Ids (docs/behaviour.md, input `id`): `invite_` + a ULID whose first 10 characters are the call's
// time in ms; a caller's non-empty id is kept verbatim.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { newModule, rows, tokenPart } from "./helpers"
import type { CreateInviteDTO } from ".."

const ID_RE = /^invite_[0-9A-HJKMNP-TV-Z]{26}$/
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** The Unix time in ms encoded by the first 10 ULID characters of an `invite_` id. */
function ulidTime(id: string): number {
  const ulid = id.slice("invite_".length)
  let time = 0
  for (const char of ulid.slice(0, 10)) {
    const digit = CROCKFORD.indexOf(char)
    assert.ok(digit >= 0, `not a Crockford base32 character: ${char}`)
    time = time * 32 + digit
  }
  return time
}

describe("ulidTime (self-check of the decoder)", () => {
  test("decodes the ULID spec's example time", () => {
    // ulid README example: ulid(1469918176385) -> "01ARYZ6S41TSV4RRFFQ69G5FAV".
    assert.equal(ulidTime("invite_01ARYZ6S41TSV4RRFFQ69G5FAV"), 1469918176385)
    assert.equal(ulidTime("invite_0000000000" + "0".repeat(16)), 0)
    assert.equal(ulidTime("invite_7ZZZZZZZZZ" + "0".repeat(16)), 2 ** 48 - 1)
  })
})

describe("generated ids", () => {
  test("a generated id is invite_ + 26 upper-case Crockford base32 characters (33 in all)", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "id-format@example.com" })
    assert.equal(typeof invite.id, "string")
    assert.match(invite.id, ID_RE)
    assert.equal(invite.id.length, 33)
    assert.ok(invite.id.startsWith("invite_"))
    await m.close()
  })

  test("every id of a 100-item batch has the format", async () => {
    const m = newModule()
    const input = Array.from({ length: 100 }, (_, i) => ({ email: `fmt${i}@example.com` }))
    const invites = await m.service.createInvites(input)
    assert.equal(invites.length, 100)
    for (const invite of invites) {
      assert.match(invite.id, ID_RE)
      assert.equal(invite.id.length, 33)
    }
    await m.close()
  })

  test("the first 10 ULID characters decode to the call's time in ms, equal to created_at", async () => {
    const m = newModule()
    const before = Date.now()
    const invite = await m.service.createInvites({ email: "id-time@example.com" })
    const after = Date.now()
    const time = ulidTime(invite.id)
    assert.ok(time >= before && time <= after, `id time ${time} not within [${before}, ${after}]`)
    assert.ok(invite.created_at instanceof Date)
    assert.equal(time, invite.created_at.getTime())
    await m.close()
  })

  test("every id of a batch encodes the same call time, equal to each created_at", async () => {
    const m = newModule()
    const before = Date.now()
    const invites = await m.service.createInvites(
      Array.from({ length: 20 }, (_, i) => ({ email: `batch-time${i}@example.com` })),
    )
    const after = Date.now()
    const first = ulidTime(invites[0].id)
    assert.ok(first >= before && first <= after, `id time ${first} not within [${before}, ${after}]`)
    for (const invite of invites) {
      assert.equal(ulidTime(invite.id), first)
      assert.equal(ulidTime(invite.id), invite.created_at.getTime())
    }
    await m.close()
  })

  test("the id in the token payload and in the database is the returned id", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "id-token@example.com" })
    assert.equal(tokenPart(invite.token, 1).json.id, invite.id)
    assert.deepEqual(rows(m.file, "select id, email from invite"), [{ id: invite.id, email: "id-token@example.com" }])
    await m.close()
  })

  test("ids of one batch are distinct and strictly increasing in input order", async () => {
    const m = newModule()
    const input = Array.from({ length: 200 }, (_, i) => ({ email: `order${i}@example.com` }))
    const invites = await m.service.createInvites(input)
    const ids = invites.map((invite) => invite.id)
    assert.equal(new Set(ids).size, 200)
    for (let i = 1; i < ids.length; i++) {
      assert.ok(ids[i - 1] < ids[i], `ids not strictly increasing at ${i}: ${ids[i - 1]} >= ${ids[i]}`)
    }
    // Input order is kept: the i-th id belongs to the i-th email.
    invites.forEach((invite, i) => assert.equal(invite.email, `order${i}@example.com`))
    // The stored rows, sorted by id, are in input order too.
    const stored = rows<{ id: string; email: string }>(m.file, "select id, email from invite order by id")
    assert.deepEqual(
      stored,
      invites.map((invite) => ({ id: invite.id, email: invite.email })),
    )
    await m.close()
  })

  test("ids of successive calls are distinct, their times non-decreasing", async () => {
    // Only a batch is required to be monotonic (Medusa's ulid() is not monotonic across calls).
    const m = newModule()
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      ids.push((await m.service.createInvites({ email: `successive${i}@example.com` })).id)
    }
    assert.equal(new Set(ids).size, 20)
    for (let i = 1; i < ids.length; i++) {
      assert.ok(ulidTime(ids[i - 1]) <= ulidTime(ids[i]), `id times decrease at ${i}: ${ids[i - 1]} > ${ids[i]}`)
    }
    await m.close()
  })

  test("generated ids among caller ids are still increasing in input order", async () => {
    const m = newModule()
    const invites = await m.service.createInvites([
      { email: "mix0@example.com" },
      { email: "mix1@example.com", id: "zzz-caller" },
      { email: "mix2@example.com" },
      { email: "mix3@example.com", id: "AAA-caller" },
      { email: "mix4@example.com" },
    ])
    assert.equal(invites[1].id, "zzz-caller")
    assert.equal(invites[3].id, "AAA-caller")
    const generated = [invites[0].id, invites[2].id, invites[4].id]
    for (const id of generated) assert.match(id, ID_RE)
    assert.ok(generated[0] < generated[1] && generated[1] < generated[2], generated.join(" "))
    await m.close()
  })
})

describe("caller-given ids", () => {
  const verbatim = ["my id!", "custom-id", "invite_not-a-ulid", "ÜNÏCØDÉ ✓ id", " ", "invite_01ARZ3NDEKTSV4RRFFQ69G5FAV"]
  for (const id of verbatim) {
    test(`a non-empty id ${JSON.stringify(id)} is kept verbatim (DTO, database, token, events)`, async () => {
      const m = newModule()
      const invite = await m.service.createInvites({ email: "verbatim@example.com", id })
      assert.equal(invite.id, id)
      assert.deepEqual(rows(m.file, "select id from invite"), [{ id }])
      assert.equal(tokenPart(invite.token, 1).json.id, id)
      assert.deepEqual(
        m.bus.calls.flatMap((call) => call.messages.map((message) => message.data)),
        [{ id }, { id }],
      )
      await m.close()
    })
  }

  test("caller ids in an array are kept per item, in input order", async () => {
    const m = newModule()
    const invites = await m.service.createInvites([
      { email: "arr0@example.com", id: "b-second" },
      { email: "arr1@example.com", id: "a-first" },
    ])
    assert.deepEqual(
      invites.map((invite) => invite.id),
      ["b-second", "a-first"],
    )
    assert.deepEqual(rows(m.file, "select id, email from invite order by email"), [
      { id: "b-second", email: "arr0@example.com" },
      { id: "a-first", email: "arr1@example.com" },
    ])
    await m.close()
  })

  const generatedFor: [string, CreateInviteDTO][] = [
    ['""', { email: "empty-id@example.com", id: "" }],
    ["null", { email: "null-id@example.com", id: null }],
    ["absent", { email: "absent-id@example.com" }],
    ["undefined", { email: "undefined-id@example.com", id: undefined }],
  ]
  for (const [label, input] of generatedFor) {
    test(`id ${label} -> a generated id`, async () => {
      const m = newModule()
      const before = Date.now()
      const invite = await m.service.createInvites(input)
      const after = Date.now()
      assert.match(invite.id, ID_RE)
      const time = ulidTime(invite.id)
      assert.ok(time >= before && time <= after, `id time ${time} not within [${before}, ${after}]`)
      assert.deepEqual(rows(m.file, "select id from invite"), [{ id: invite.id }])
      await m.close()
    })
  }

  test('"" and null ids in one batch each get their own generated id', async () => {
    const m = newModule()
    const invites = await m.service.createInvites([
      { email: "g0@example.com", id: "" },
      { email: "g1@example.com", id: null },
      { email: "g2@example.com", id: "" },
    ])
    for (const invite of invites) assert.match(invite.id, ID_RE)
    assert.equal(new Set(invites.map((invite) => invite.id)).size, 3)
    assert.ok(invites[0].id < invites[1].id && invites[1].id < invites[2].id)
    await m.close()
  })
})
