// expires_at and timestamps (docs/behaviour.md, docs/errors.md expiresIn errors).
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import jwt from "jsonwebtoken"
import { newModule, rows, count, execute, freshDatabase, hasTable, rejection, tokenPart, RecordingBus, SECRET, type TestModule } from "./helpers"
import { MedusaError, UserModuleService, type InviteDTO, type UserModuleOptions } from ".."

/** iat and exp of an invite's token. */
function claims(invite: InviteDTO): { iat: number; exp: number } {
  const { json } = tokenPart(invite.token, 1)
  return { iat: json.iat as number, exp: json.exp as number }
}

/** Calls createInvites and asserts created_at is the call's now; returns the invite and now (ms). */
async function createTimed(m: TestModule, email: string): Promise<{ invite: InviteDTO; now: number }> {
  const before = Date.now()
  const invite = await m.service.createInvites({ email })
  const after = Date.now()
  assert.ok(invite.created_at instanceof Date)
  const now = invite.created_at.getTime()
  assert.ok(now >= before && now <= after, `created_at ${now} not within [${before}, ${after}]`)
  return { invite, now }
}

/**
 * A module whose database already holds the (empty) invite table, so that after a failing
 * call `count(file)` can read 0. The table is created by a good module, then emptied by an
 * independent client (`execute`).
 */
async function primedModule(options: Partial<UserModuleOptions>): Promise<TestModule> {
  const { target: file, database } = freshDatabase()
  const primer = new UserModuleService({ jwt_secret: SECRET, database })
  await primer.createInvites({ email: "primer@example.com" })
  await primer.close()
  execute(file, "delete from invite")
  assert.equal(count(file), 0)
  const bus = new RecordingBus()
  const service = new UserModuleService({ jwt_secret: SECRET, database, eventBus: bus, ...options })
  return { service, bus, file, database, close: () => service.close() }
}

/** Asserts a createInvites rejection is the MedusaError `type`/`message`, writing and emitting nothing. */
async function assertRejects(options: Partial<UserModuleOptions>, type: string, message: string): Promise<void> {
  const m = await primedModule(options)
  const error = await rejection(
    m.service.createInvites([{ email: "fail0@example.com" }, { email: "fail1@example.com" }]),
  )
  assert.equal(error instanceof Error, true, "not an Error")
  assert.equal(MedusaError.isMedusaError(error), true)
  assert.equal(error.__isMedusaError, true)
  assert.equal(error.constructor.name, "MedusaError")
  assert.equal(error.name, "Error")
  assert.equal(error.type, type)
  assert.equal(error.message, message)
  assert.equal(error.code, undefined)
  assert.ok(error.date instanceof Date)
  assert.equal(count(m.file), 0)
  assert.deepEqual(m.bus.calls, [])
  // A single object fails the same way.
  const single = await rejection(m.service.createInvites({ email: "fail2@example.com" }))
  assert.equal(single.type, type)
  assert.equal(single.message, message)
  assert.equal(count(m.file), 0)
  assert.deepEqual(m.bus.calls, [])
  await m.close()
}

const FALSY = "JWT secret and expiresIn must be provided when generating a token"
const NOT_INTEGER = '"expiresIn" should be a number of seconds or string representing a timespan'
const BAD_STRING = '"expiresIn" should be a number of seconds or string representing a timespan eg: "1d", "20h", 60'

describe("numeric expiresIn: expires_at = now + n * 1000 (ms precision)", () => {
  for (const where of ["valid_duration", "jwt_options.expiresIn"] as const) {
    test(`3600 via ${where}`, async () => {
      const m = newModule(where === "valid_duration" ? { valid_duration: 3600 } : { jwt_options: { expiresIn: 3600 } })
      const { invite, now } = await createTimed(m, `numeric-${where}@example.com`)
      assert.ok(invite.expires_at instanceof Date)
      assert.equal(invite.expires_at.getTime(), now + 3_600_000)
      const { iat, exp } = claims(invite)
      assert.equal(iat, Math.floor(now / 1000))
      assert.equal(exp - iat, 3600)
      assert.deepEqual(rows(m.file, "select expires_at, created_at from invite"), [
        { expires_at: now + 3_600_000, created_at: now },
      ])
      await m.close()
    })
  }

  test("default (no valid_duration, no expiresIn) is 86400 s", async () => {
    const m = newModule()
    const { invite, now } = await createTimed(m, "default-expiry@example.com")
    assert.equal(invite.expires_at.getTime(), now + 86_400_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 86400)
    assert.equal(iat, Math.floor(now / 1000))
    await m.close()
  })

  test("default also when jwt_options is given without expiresIn", async () => {
    const m = newModule({ jwt_options: { issuer: "iss1" } })
    const { invite, now } = await createTimed(m, "default-expiry-options@example.com")
    assert.equal(invite.expires_at.getTime(), now + 86_400_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 86400)
    await m.close()
  })

  test("-10 -> expires_at = now - 10000 (already expired; jsonwebtoken says 'jwt expired')", async () => {
    const m = newModule({ valid_duration: -10 })
    const { invite, now } = await createTimed(m, "negative@example.com")
    assert.equal(invite.expires_at.getTime(), now - 10_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, -10)
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }),
      (error: unknown) => error instanceof jwt.TokenExpiredError && error.message === "jwt expired",
    )
    assert.equal(count(m.file), 1)
    await m.close()
  })

  test("60 -> exp verifies now and expires after 60 s", async () => {
    const m = newModule({ valid_duration: 60 })
    const { invite, now } = await createTimed(m, "sixty@example.com")
    assert.equal(invite.expires_at.getTime(), now + 60_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp, iat + 60)
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
    assert.throws(() => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], clockTimestamp: iat + 60 }), /jwt expired/)
    await m.close()
  })
})

describe("string expiresIn (ms grammar): expires_at = (floor(now/1000) + floor(ms/1000)) * 1000", () => {
  const cases: [string, number][] = [
    ["2h", 7200],
    ["1.5h", 5400],
    ["3600", 3], // a bare "3600" is 3600 ms -> 3 s
    ["1 day", 86400],
    ["7d", 604800],
    ["10 days", 864000],
    ["90s", 90],
  ]
  for (const [value, seconds] of cases) {
    test(`${JSON.stringify(value)} -> +${seconds} s, exp * 1000 === expires_at`, async () => {
      const m = newModule({ jwt_options: { expiresIn: value } })
      const { invite, now } = await createTimed(m, "string-expiry@example.com")
      const expected = (Math.floor(now / 1000) + seconds) * 1000
      assert.equal(invite.expires_at.getTime(), expected)
      const { iat, exp } = claims(invite)
      assert.equal(iat, Math.floor(now / 1000))
      assert.equal(exp - iat, seconds)
      assert.equal(exp * 1000, invite.expires_at.getTime())
      assert.deepEqual(rows(m.file, "select expires_at from invite"), [{ expires_at: expected }])
      await m.close()
    })
  }

  test('"2h" via valid_duration', async () => {
    const m = newModule({ valid_duration: "2h" })
    const { invite, now } = await createTimed(m, "string-valid-duration@example.com")
    assert.equal(invite.expires_at.getTime(), (Math.floor(now / 1000) + 7200) * 1000)
    assert.equal(claims(invite).exp * 1000, invite.expires_at.getTime())
    await m.close()
  })
})

describe("precedence: valid_duration ?? jwt_options.expiresIn ?? 86400", () => {
  test("valid_duration 60 wins over jwt_options.expiresIn 3600", async () => {
    const m = newModule({ valid_duration: 60, jwt_options: { expiresIn: 3600 } })
    const { invite, now } = await createTimed(m, "wins-numeric@example.com")
    assert.equal(invite.expires_at.getTime(), now + 60_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 60)
    await m.close()
  })

  test('valid_duration "1h" wins over jwt_options.expiresIn 60 (second-aligned)', async () => {
    const m = newModule({ valid_duration: "1h", jwt_options: { expiresIn: 60 } })
    const { invite, now } = await createTimed(m, "wins-string@example.com")
    assert.equal(invite.expires_at.getTime(), (Math.floor(now / 1000) + 3600) * 1000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 3600)
    await m.close()
  })

  test("valid_duration null falls through to jwt_options.expiresIn", async () => {
    const m = newModule({ valid_duration: null as unknown as number, jwt_options: { expiresIn: 3600 } })
    const { invite, now } = await createTimed(m, "null-duration@example.com")
    assert.equal(invite.expires_at.getTime(), now + 3_600_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 3600)
    await m.close()
  })

  test("valid_duration undefined falls through to jwt_options.expiresIn", async () => {
    const m = newModule({ valid_duration: undefined, jwt_options: { expiresIn: "2h" } })
    const { invite, now } = await createTimed(m, "undefined-duration@example.com")
    assert.equal(invite.expires_at.getTime(), (Math.floor(now / 1000) + 7200) * 1000)
    await m.close()
  })

  test("valid_duration null and jwt_options.expiresIn null -> the 86400 s default", async () => {
    const m = newModule({
      valid_duration: null as unknown as number,
      jwt_options: { expiresIn: null as unknown as number },
    })
    const { invite, now } = await createTimed(m, "null-both@example.com")
    assert.equal(invite.expires_at.getTime(), now + 86_400_000)
    const { iat, exp } = claims(invite)
    assert.equal(exp - iat, 86400)
    await m.close()
  })

  test("valid_duration 0 is not nullish: it does not fall through, the call fails", async () => {
    await assertRejects({ valid_duration: 0, jwt_options: { expiresIn: 3600 } }, "invalid_argument", FALSY)
  })
})

describe("bad expiresIn: MedusaError invalid_argument, nothing written, nothing emitted", () => {
  test("valid_duration 0", async () => {
    await assertRejects({ valid_duration: 0 }, "invalid_argument", FALSY)
  })

  test("jwt_options.expiresIn 0", async () => {
    await assertRejects({ jwt_options: { expiresIn: 0 } }, "invalid_argument", FALSY)
  })

  test("1.5 (a non-integer number)", async () => {
    await assertRejects({ valid_duration: 1.5 }, "invalid_argument", NOT_INTEGER)
  })

  test("3600.7 via jwt_options.expiresIn", async () => {
    await assertRejects({ jwt_options: { expiresIn: 3600.7 } }, "invalid_argument", NOT_INTEGER)
  })

  test('"abc" (an unparsable string)', async () => {
    await assertRejects({ valid_duration: "abc" }, "invalid_argument", BAD_STRING)
  })

  test('"abc" via jwt_options.expiresIn', async () => {
    await assertRejects({ jwt_options: { expiresIn: "abc" } }, "invalid_argument", BAD_STRING)
  })

  test("a failing call on a fresh database writes nothing at all", async () => {
    const m = newModule({ valid_duration: 0 })
    const error = await rejection(m.service.createInvites({ email: "fresh-fail@example.com" }))
    assert.equal(error.type, "invalid_argument")
    assert.equal(error.message, FALSY)
    assert.deepEqual(m.bus.calls, [])
    // Either no table was created, or it is empty.
    if (hasTable(m.file, "invite")) assert.equal(count(m.file), 0)
    await m.close()
  })

  test("the module keeps working on the same database after a failed call (another module, good options)", async () => {
    const m = await primedModule({ valid_duration: 1.5 })
    await rejection(m.service.createInvites({ email: "retry@example.com" }))
    await m.close()
    const good = new UserModuleService({ jwt_secret: SECRET, database: m.database })
    const invite = await good.createInvites({ email: "retry@example.com" })
    assert.equal(invite.email, "retry@example.com")
    assert.equal(count(m.file), 1)
    await good.close()
  })
})

describe("one expires_at and one now per call", () => {
  test("every invite of a 50-item batch has the identical expires_at, created_at and updated_at", async () => {
    for (const options of [{}, { valid_duration: "2h" }] as Partial<UserModuleOptions>[]) {
      const m = newModule(options)
      const before = Date.now()
      const invites = await m.service.createInvites(
        Array.from({ length: 50 }, (_, i) => ({ email: `batch${i}@example.com` })),
      )
      const after = Date.now()
      assert.equal(invites.length, 50)
      const now = invites[0].created_at.getTime()
      assert.ok(now >= before && now <= after, `created_at ${now} not within [${before}, ${after}]`)
      const expiresAt = invites[0].expires_at.getTime()
      const expected = "valid_duration" in options ? (Math.floor(now / 1000) + 7200) * 1000 : now + 86_400_000
      assert.equal(expiresAt, expected)
      for (const invite of invites) {
        assert.ok(invite.expires_at instanceof Date && invite.created_at instanceof Date && invite.updated_at instanceof Date)
        assert.equal(invite.expires_at.getTime(), expiresAt)
        assert.equal(invite.created_at.getTime(), now)
        assert.equal(invite.updated_at.getTime(), now)
        const { iat, exp } = claims(invite)
        assert.equal(iat, Math.floor(now / 1000))
        assert.equal(exp, claims(invites[0]).exp)
      }
      const stored = rows<{ expires_at: number; created_at: number; updated_at: number; n: number }>(
        m.file,
        "select expires_at, created_at, updated_at, count(*) as n from invite group by expires_at, created_at, updated_at",
      )
      assert.deepEqual(stored, [{ expires_at: expiresAt, created_at: now, updated_at: now, n: 50 }])
      await m.close()
    }
  })

  test("each returned invite has its own Date objects", async () => {
    const m = newModule()
    const invites = await m.service.createInvites([{ email: "own0@example.com" }, { email: "own1@example.com" }])
    assert.notEqual(invites[0].expires_at, invites[1].expires_at)
    invites[0].expires_at.setTime(0)
    assert.notEqual(invites[1].expires_at.getTime(), 0)
    await m.close()
  })
})

describe("timestamps", () => {
  test("created_at === updated_at === the call's now, Dates with millisecond precision, deleted_at null", async () => {
    const m = newModule()
    const { invite, now } = await createTimed(m, "timestamps@example.com")
    assert.ok(invite.updated_at instanceof Date)
    assert.equal(invite.updated_at.getTime(), now)
    assert.equal(invite.deleted_at, null)
    assert.ok(Number.isInteger(now))
    assert.deepEqual(rows(m.file, "select created_at, updated_at, deleted_at from invite"), [
      { created_at: now, updated_at: now, deleted_at: null },
    ])
    await m.close()
  })

  test("stored times are integer Unix ms equal to the returned Dates (ms part kept)", async () => {
    const m = newModule({ valid_duration: 3600 })
    // Several calls, so that some created_at has a non-zero millisecond part.
    const invites: InviteDTO[] = []
    for (let i = 0; i < 5; i++) {
      invites.push(await m.service.createInvites({ email: `ms${i}@example.com` }))
      await new Promise((resolve) => setTimeout(resolve, 7))
    }
    assert.ok(invites.some((invite) => invite.created_at.getTime() % 1000 !== 0), "every created_at was whole seconds")
    const stored = rows<{ email: string; expires_at: number; created_at: number; updated_at: number }>(
      m.file,
      "select email, expires_at, created_at, updated_at from invite order by email",
    )
    assert.deepEqual(
      stored,
      invites.map((invite) => ({
        email: invite.email,
        expires_at: invite.created_at.getTime() + 3_600_000,
        created_at: invite.created_at.getTime(),
        updated_at: invite.updated_at.getTime(),
      })),
    )
    await m.close()
  })

  test("caller-given created_at, updated_at, deleted_at as Dates are returned and stored as given", async () => {
    const m = newModule()
    const created = new Date("2024-01-02T03:04:05.678Z")
    const updated = new Date("2024-02-03T04:05:06.789Z")
    const deleted = new Date("2024-03-04T05:06:07.891Z")
    const invite = await m.service.createInvites({
      email: "given-dates@example.com",
      created_at: created,
      updated_at: updated,
      deleted_at: deleted,
    })
    assert.ok(invite.created_at instanceof Date && invite.updated_at instanceof Date && invite.deleted_at instanceof Date)
    assert.equal(invite.created_at.getTime(), 1704164645678)
    assert.equal(invite.updated_at.getTime(), 1706933106789)
    assert.equal(invite.deleted_at.getTime(), 1709528767891)
    assert.deepEqual(rows(m.file, "select created_at, updated_at, deleted_at from invite"), [
      { created_at: 1704164645678, updated_at: 1706933106789, deleted_at: 1709528767891 },
    ])
    // The caller's Dates are not mutated.
    assert.equal(created.getTime(), 1704164645678)
    await m.close()
  })

  test("caller-given ISO strings are returned as Dates and stored as Unix ms", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({
      email: "given-strings@example.com",
      created_at: "2024-01-02T03:04:05.678Z",
      updated_at: "2024-02-03T04:05:06.789Z",
      deleted_at: "2024-03-04T05:06:07.891Z",
    })
    assert.ok(invite.created_at instanceof Date && invite.updated_at instanceof Date && invite.deleted_at instanceof Date)
    assert.equal(invite.created_at.toISOString(), "2024-01-02T03:04:05.678Z")
    assert.equal(invite.updated_at.toISOString(), "2024-02-03T04:05:06.789Z")
    assert.equal(invite.deleted_at.toISOString(), "2024-03-04T05:06:07.891Z")
    assert.deepEqual(rows(m.file, "select created_at, updated_at, deleted_at from invite"), [
      { created_at: 1704164645678, updated_at: 1706933106789, deleted_at: 1709528767891 },
    ])
    await m.close()
  })

  test("an ISO string with an offset is the same instant", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({
      email: "offset@example.com",
      created_at: "2024-01-02T05:04:05.678+02:00",
    })
    assert.equal(invite.created_at.getTime(), 1704164645678)
    assert.deepEqual(rows(m.file, "select created_at from invite"), [{ created_at: 1704164645678 }])
    await m.close()
  })

  test("only created_at given: updated_at is the call's now; expires_at and iat still use now", async () => {
    const m = newModule({ valid_duration: 3600 })
    const before = Date.now()
    const invite = await m.service.createInvites({
      email: "only-created@example.com",
      created_at: new Date("2024-01-02T03:04:05.678Z"),
    })
    const after = Date.now()
    assert.equal(invite.created_at.getTime(), 1704164645678)
    const now = invite.updated_at.getTime()
    assert.ok(now >= before && now <= after, `updated_at ${now} not within [${before}, ${after}]`)
    assert.equal(invite.expires_at.getTime(), now + 3_600_000)
    assert.equal(claims(invite).iat, Math.floor(now / 1000))
    assert.equal(invite.deleted_at, null)
    assert.deepEqual(rows(m.file, "select created_at, updated_at, deleted_at from invite"), [
      { created_at: 1704164645678, updated_at: now, deleted_at: null },
    ])
    await m.close()
  })

  test("in a batch, given timestamps apply to their item only; the others share the call's now", async () => {
    const m = newModule()
    const invites = await m.service.createInvites([
      { email: "mixed0@example.com" },
      { email: "mixed1@example.com", created_at: "2024-01-02T03:04:05.678Z", updated_at: "2024-01-02T03:04:05.678Z" },
      { email: "mixed2@example.com", deleted_at: null },
    ])
    const now = invites[0].created_at.getTime()
    assert.equal(invites[0].updated_at.getTime(), now)
    assert.equal(invites[1].created_at.getTime(), 1704164645678)
    assert.equal(invites[1].updated_at.getTime(), 1704164645678)
    assert.equal(invites[2].created_at.getTime(), now)
    assert.equal(invites[2].updated_at.getTime(), now)
    assert.equal(invites[2].deleted_at, null)
    // One expires_at for the batch, whatever the given timestamps.
    assert.equal(invites[1].expires_at.getTime(), invites[0].expires_at.getTime())
    assert.equal(invites[2].expires_at.getTime(), invites[0].expires_at.getTime())
    assert.deepEqual(rows(m.file, "select email, created_at, updated_at, deleted_at from invite order by email"), [
      { email: "mixed0@example.com", created_at: now, updated_at: now, deleted_at: null },
      { email: "mixed1@example.com", created_at: 1704164645678, updated_at: 1704164645678, deleted_at: null },
      { email: "mixed2@example.com", created_at: now, updated_at: now, deleted_at: null },
    ])
    await m.close()
  })
})
