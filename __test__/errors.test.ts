// Every error of createInvites / createUsers / the constructor (docs/differences.md, docs/behaviour.md):
// exact type and message, Medusa's MedusaError shape, rejections (never synchronous throws),
// nothing written and nothing emitted afterwards, and no secret or token in any of it.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { execFileSync, spawnSync } from "node:child_process"
import { readdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { inspect, format } from "node:util"
import { UserModuleService, MedusaError, createInvites } from ".."
import { BACKEND, newModule, count, freshDatabase, freshDatabaseUrl, hasTable, rejection, SECRET, tableCounts, tempDir, type TestModule } from "./helpers"

const BASE_KEYS = ["__isMedusaError", "type", "code", "message", "date"]
const MODULE_ROOT = join(__dirname, "..")

const NOT_AN_INVITE = "createInvites expects an invite object or an array of invite objects"
const MISSING_SECRET = "No jwt_secret was provided in the UserModule's options. Please add one."
const NO_EXPIRY = "JWT secret and expiresIn must be provided when generating a token"
const EXPIRES_IN_NUMBER = '"expiresIn" should be a number of seconds or string representing a timespan'
const EXPIRES_IN_STRING =
  '"expiresIn" should be a number of seconds or string representing a timespan eg: "1d", "20h", 60'
const BAD_ISOLATION =
  'Invalid isolationLevel, supported isolation levels are: ["read uncommitted","read committed","repeatable read","serializable"]'
const FOREIGN_TRANSACTION = "sharedContext.transactionManager was not issued by this medusa-invites module; use service.transaction() or service.begin()"
const PREVENT_WITHOUT_AGGREGATOR =
  "sharedContext.preventReleaseEvents needs a sharedContext.messageAggregator to hold the events"

interface Expected {
  type: string
  /** The exact message, or a predicate for messages whose tail comes from V8. */
  message: string | ((message: string) => boolean)
  /** The batch index the error must carry; `undefined`: the error must carry no index. */
  index?: number
  /** The error may carry this index, or none (a call-level error that a batch item caused). */
  optionalIndex?: number
}

/** Asserts Medusa's MedusaError shape (docs/errors.md) and the expected type, message and index. */
function assertMedusaError(value: unknown, expected: Expected): void {
  assert.ok(value instanceof Error, `not an Error: ${inspect(value)}`)
  const err = value as any
  assert.equal(err.constructor.name, "MedusaError")
  assert.equal(err.name, "Error")
  assert.equal(MedusaError.isMedusaError(err), true)
  assert.equal(err.__isMedusaError, true)
  assert.equal(err.type, expected.type, `type of ${JSON.stringify(err.message)}`)
  if (typeof expected.message === "string") {
    assert.equal(err.message, expected.message)
  } else {
    assert.ok(expected.message(err.message), `unexpected message ${JSON.stringify(err.message)}`)
  }
  assert.ok(Object.hasOwn(err, "code"), "code must be an own property")
  assert.equal(err.code, undefined)
  assert.ok(err.date instanceof Date, "date must be a Date")
  assert.ok(!Number.isNaN(err.date.getTime()), "date must be a valid Date")
  assert.equal(typeof err.stack, "string")
  if (expected.index !== undefined) {
    assert.deepEqual(Object.keys(err), [...BASE_KEYS, "index"])
    assert.equal(err.index, expected.index)
  } else if (expected.optionalIndex !== undefined && Object.hasOwn(err, "index")) {
    assert.deepEqual(Object.keys(err), [...BASE_KEYS, "index"])
    assert.equal(err.index, expected.optionalIndex)
  } else {
    assert.deepEqual(Object.keys(err), BASE_KEYS)
    assert.ok(!("index" in err), "a single-object call carries no index")
  }
}

/** Rows of `table`; 0 when the store was never opened (no SQLite file, no PostgreSQL table). */
function stored(file: string, table = "invite"): number {
  return tableCounts(file, [table])[table]
}

/**
 * Calls `call` without awaiting: it must not throw synchronously, must return a Promise, and
 * that Promise must reject with the expected MedusaError. Afterwards nothing was written to
 * `m` (invites and users unchanged) and nothing was emitted.
 */
async function expectRejection(call: () => unknown, expected: Expected, m?: TestModule): Promise<any> {
  const before = m ? tableCounts(m.file, ["invite", "user"]) : undefined
  const emitsBefore = m ? m.bus.calls.length : 0
  let returned: unknown
  try {
    returned = call()
  } catch (error) {
    assert.fail(`threw synchronously instead of rejecting: ${inspect(error)}`)
  }
  assert.ok(returned instanceof Promise, "must return a Promise")
  const err = await rejection(returned)
  assertMedusaError(err, expected)
  if (m) {
    const after = tableCounts(m.file, ["invite", "user"])
    assert.equal(after.invite, before!.invite, "no invite may be written")
    assert.equal(after.user, before!.user, "no user may be written")
    assert.equal(m.bus.calls.length, emitsBefore, "nothing may be emitted")
  }
  return err
}

/** A module whose store is open and holds one invite; its bus is reset afterwards. */
async function seededModule(options: Parameters<typeof newModule>[0] = {}): Promise<TestModule> {
  const m = newModule(options)
  await m.service.createInvites({ email: "seed@example.com" })
  assert.equal(stored(m.file), 1)
  m.bus.calls.length = 0
  return m
}

/** Runs `body` with a seeded module and closes the module afterwards. */
async function withModule(body: (m: TestModule, svc: any) => Promise<void>): Promise<void> {
  const m = await seededModule()
  try {
    await body(m, m.service as any)
  } finally {
    await m.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Invalid items (docs/behaviour.md input table)

const longLocal = "a".repeat(300)
const email255 = "b".repeat(255 - "@example.com".length) + "@example.com"
const email254 = "c".repeat(254 - "@example.com".length) + "@example.com"

interface ItemCase {
  name: string
  item: Record<string, unknown>
  message: string | ((message: string) => boolean)
}

const invalidEmail = (value: string) => `Invalid email for invite: '${value}'`

const ITEM_CASES: ItemCase[] = [
  { name: "missing email", item: {}, message: "Value for Invite.email is required, 'undefined' found" },
  {
    name: "email: undefined",
    item: { email: undefined },
    message: "Value for Invite.email is required, 'undefined' found",
  },
  { name: "null email", item: { email: null }, message: "Value for Invite.email is required, 'null' found" },
  { name: "number email", item: { email: 5 }, message: "Value for Invite.email must be a string, 'number' found" },
  {
    name: "boolean email",
    item: { email: true },
    message: "Value for Invite.email must be a string, 'boolean' found",
  },
  {
    name: "object email",
    item: { email: { address: "o@example.com" } },
    message: "Value for Invite.email must be a string, 'object' found",
  },
  {
    name: "array email",
    item: { email: ["a@example.com"] },
    message: "Value for Invite.email must be a string, 'array' found",
  },
  { name: "empty email", item: { email: "" }, message: invalidEmail("") },
  { name: "whitespace email", item: { email: " " }, message: invalidEmail(" ") },
  { name: "tab-only email", item: { email: "\t" }, message: invalidEmail("\t") },
  { name: "email with inner space", item: { email: "a b@example.com" }, message: invalidEmail("a b@example.com") },
  {
    name: "email with trailing space",
    item: { email: "user@example.com " },
    message: invalidEmail("user@example.com "),
  },
  { name: "email without @", item: { email: "nobody.example.com" }, message: invalidEmail("nobody.example.com") },
  { name: "email with nothing before @", item: { email: "@example.com" }, message: invalidEmail("@example.com") },
  { name: "email with nothing after @", item: { email: "user@" }, message: invalidEmail("user@") },
  { name: "email with BEL", item: { email: "a\u0007@example.com" }, message: invalidEmail("a\u0007@example.com") },
  { name: "email with NUL", item: { email: "a\u0000b@example.com" }, message: invalidEmail("a\u0000b@example.com") },
  { name: "email with DEL", item: { email: "a\u007f@example.com" }, message: invalidEmail("a\u007f@example.com") },
  {
    name: "email with newline",
    item: { email: "user@example.com\n" },
    message: invalidEmail("user@example.com\n"),
  },
  {
    name: "email over 254 characters (cut to 254 + ...)",
    item: { email: `${longLocal}@example.com` },
    message: invalidEmail(`${`${longLocal}@example.com`.slice(0, 254)}...`),
  },
  {
    name: "email of exactly 255 characters",
    item: { email: email255 },
    message: invalidEmail(`${email255.slice(0, 254)}...`),
  },
  {
    name: "accepted: 'yes'",
    item: { email: "acc@example.com", accepted: "yes" },
    message: "Value for Invite.accepted must be a boolean, 'string' found",
  },
  {
    name: "accepted: 1",
    item: { email: "acc@example.com", accepted: 1 },
    message: "Value for Invite.accepted must be a boolean, 'number' found",
  },
  {
    name: "metadata: 'x'",
    item: { email: "meta@example.com", metadata: "x" },
    message: "Value for Invite.metadata must be an object, 'string' found",
  },
  {
    name: "metadata: 5",
    item: { email: "meta@example.com", metadata: 5 },
    message: "Value for Invite.metadata must be an object, 'number' found",
  },
  {
    name: "metadata with a BigInt",
    item: { email: "meta@example.com", metadata: { big: 10n } },
    message: (message) =>
      message.startsWith("Value for Invite.metadata cannot be stored as JSON:") && message.includes("BigInt"),
  },
  {
    name: "roles with a number",
    item: { email: "roles@example.com", roles: ["admin", 1] },
    message: "Value for Invite.roles must be an array of strings, 'number' found",
  },
  {
    name: "roles with an object",
    item: { email: "roles@example.com", roles: [{ name: "admin" }] },
    message: "Value for Invite.roles must be an array of strings, 'object' found",
  },
  {
    name: "roles as a string",
    item: { email: "roles@example.com", roles: "admin" },
    message: "Value for Invite.roles must be an array of strings, 'string' found",
  },
]

describe("invalid items are invalid_data rejections", () => {
  for (const { name, item, message } of ITEM_CASES) {
    test(`${name}: single object, no index`, async () => {
      await withModule(async (m, svc) => {
        await expectRejection(() => svc.createInvites(item), { type: "invalid_data", message }, m)
      })
    })
    test(`${name}: third item of a batch, index 2`, async () => {
      await withModule(async (m, svc) => {
        const batch = [{ email: "first@example.com" }, { email: "second@example.com" }, item]
        await expectRejection(() => svc.createInvites(batch), { type: "invalid_data", message, index: 2 }, m)
      })
    })
  }

  test("an email of exactly 254 characters is accepted (the limit is not off by one)", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: email254 })
      assert.equal(invite.email, email254)
      assert.equal(count(m.file), 2)
    })
  })

  test("the first failing item wins: its index and message", async () => {
    await withModule(async (m, svc) => {
      const batch = [{ email: "ok@example.com" }, { email: 5 }, { email: null }]
      await expectRejection(
        () => svc.createInvites(batch),
        { type: "invalid_data", message: "Value for Invite.email must be a string, 'number' found", index: 1 },
        m,
      )
    })
  })
})

describe("data that is not an invite or an array of invites", () => {
  const cases: [string, unknown][] = [
    ["null", null],
    ["undefined", undefined],
    ["a string", "a string"],
    ["a number", 5],
  ]
  for (const [name, data] of cases) {
    test(`data ${name}`, async () => {
      await withModule(async (m, svc) => {
        await expectRejection(() => svc.createInvites(data), { type: "invalid_data", message: NOT_AN_INVITE }, m)
      })
    })
  }

  test("no arguments at all", async () => {
    await withModule(async (m, svc) => {
      await expectRejection(() => svc.createInvites(), { type: "invalid_data", message: NOT_AN_INVITE }, m)
    })
  })

  test("an array holding null at index 2", async () => {
    await withModule(async (m, svc) => {
      const batch = [{ email: "n0@example.com" }, { email: "n1@example.com" }, null]
      await expectRejection(() => svc.createInvites(batch), { type: "invalid_data", message: NOT_AN_INVITE, index: 2 }, m)
    })
  })

  test("an array holding a string at index 0", async () => {
    await withModule(async (m, svc) => {
      await expectRejection(
        () => svc.createInvites(["s@example.com", { email: "n1@example.com" }]),
        { type: "invalid_data", message: NOT_AN_INVITE, index: 0 },
        m,
      )
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Duplicates and existing users (docs/errors.md)

describe("duplicates", () => {
  test("the same email twice in one batch: Invite with email, index of the repeat", async () => {
    await withModule(async (m, svc) => {
      const batch = [{ email: "dup@example.com" }, { email: "other@example.com" }, { email: "dup@example.com" }]
      await expectRejection(
        () => svc.createInvites(batch),
        { type: "invalid_data", message: "Invite with email: dup@example.com, already exists.", index: 2 },
        m,
      )
    })
  })

  test("the email of a live invite: single object, no index", async () => {
    await withModule(async (m, svc) => {
      await expectRejection(
        () => svc.createInvites({ email: "seed@example.com" }),
        { type: "invalid_data", message: "Invite with email: seed@example.com, already exists." },
        m,
      )
    })
  })

  test("the email of a live invite as the 2nd item of a batch: index 1", async () => {
    await withModule(async (m, svc) => {
      await expectRejection(
        () => svc.createInvites([{ email: "fresh@example.com" }, { email: "seed@example.com" }]),
        { type: "invalid_data", message: "Invite with email: seed@example.com, already exists.", index: 1 },
        m,
      )
    })
  })

  test("the same caller id twice in one batch: Invite with id, index of the repeat", async () => {
    await withModule(async (m, svc) => {
      const batch = [
        { id: "invite_SAME", email: "s1@example.com" },
        { id: "invite_SAME", email: "s2@example.com" },
      ]
      await expectRejection(
        () => svc.createInvites(batch),
        { type: "invalid_data", message: "Invite with id: invite_SAME, already exists.", index: 1 },
        m,
      )
    })
  })

  test("the id of a live invite and of a soft-deleted invite", async () => {
    await withModule(async (m, svc) => {
      await m.service.createInvites([
        { id: "invite_LIVE", email: "live@example.com" },
        { id: "invite_GONE", email: "gone@example.com", deleted_at: new Date("2024-01-01T00:00:00.000Z") },
      ])
      m.bus.calls.length = 0
      for (const id of ["invite_LIVE", "invite_GONE"]) {
        await expectRejection(
          () => svc.createInvites({ id, email: "new-owner@example.com" }),
          { type: "invalid_data", message: `Invite with id: ${id}, already exists.` },
          m,
        )
        await expectRejection(
          () => svc.createInvites([{ email: "x1@example.com" }, { id, email: "x2@example.com" }]),
          { type: "invalid_data", message: `Invite with id: ${id}, already exists.`, index: 1 },
          m,
        )
      }
    })
  })

  test("emails held by live users are listed in input order, each once", async () => {
    await withModule(async (m, svc) => {
      // zz is created first, so it has the lower user id: Medusa would list zz first.
      await m.service.createUsers([{ email: "zz@example.com" }, { email: "aa@example.com" }])
      await expectRejection(
        () => svc.createInvites([{ email: "aa@example.com" }, { email: "free@example.com" }, { email: "zz@example.com" }]),
        {
          type: "invalid_data",
          message: "User account for following email(s) already exist: aa@example.com, zz@example.com",
        },
        m,
      )
      await expectRejection(
        () => svc.createInvites([{ email: "zz@example.com" }, { email: "aa@example.com" }, { email: "zz@example.com" }]),
        {
          type: "invalid_data",
          message: "User account for following email(s) already exist: zz@example.com, aa@example.com",
        },
        m,
      )
      await expectRejection(
        () => svc.createInvites({ email: "zz@example.com" }),
        { type: "invalid_data", message: "User account for following email(s) already exist: zz@example.com" },
        m,
      )
      await expectRejection(
        () => svc.createInvites([{ email: "free@example.com" }, { email: "aa@example.com" }]),
        {
          type: "invalid_data",
          message: "User account for following email(s) already exist: aa@example.com",
          optionalIndex: 1,
        },
        m,
      )
    })
  })

  test("createUsers: an existing user's email (single) and a repeat within a batch", async () => {
    await withModule(async (m, svc) => {
      await m.service.createUsers({ email: "u1@example.com" })
      await expectRejection(
        () => svc.createUsers({ email: "u1@example.com" }),
        { type: "invalid_data", message: "User with email: u1@example.com, already exists." },
        m,
      )
      await expectRejection(
        () => svc.createUsers([{ email: "u2@example.com" }, { email: "u3@example.com" }, { email: "u2@example.com" }]),
        { type: "invalid_data", message: "User with email: u2@example.com, already exists.", index: 2 },
        m,
      )
      assert.equal(count(m.file, "user"), 1)
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Options that shape tokens (docs/behaviour.md): the constructor succeeds, every call rejects.

describe("token options make every createInvites call reject", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["valid_duration: 0", { valid_duration: 0 }, NO_EXPIRY],
    ["jwt_options.expiresIn: 0", { jwt_options: { expiresIn: 0 } }, NO_EXPIRY],
    ["valid_duration 0 wins over jwt_options.expiresIn", { valid_duration: 0, jwt_options: { expiresIn: 3600 } }, NO_EXPIRY],
    ["jwt_options.expiresIn: 1.5", { jwt_options: { expiresIn: 1.5 } }, EXPIRES_IN_NUMBER],
    ["valid_duration: 1.5", { valid_duration: 1.5 }, EXPIRES_IN_NUMBER],
    ["jwt_options.expiresIn: 'abc'", { jwt_options: { expiresIn: "abc" } }, EXPIRES_IN_STRING],
    ["valid_duration: 'abc'", { valid_duration: "abc" }, EXPIRES_IN_STRING],
    ["jwt_options: { foo: 1 }", { jwt_options: { foo: 1 } }, '"foo" is not allowed in "options"'],
  ]
  for (const [name, options, message] of cases) {
    test(name, async () => {
      let m: TestModule | undefined
      try {
        m = newModule(options as any)
      } catch (error) {
        assert.fail(`the constructor must not throw: ${inspect(error)}`)
      }
      try {
        const svc = m.service as any
        await expectRejection(() => svc.createInvites({ email: "opt@example.com" }), { type: "invalid_argument", message }, m)
        // A call-level error: a batch does not make it an item error.
        await expectRejection(
          () => svc.createInvites([{ email: "opt1@example.com" }, { email: "opt2@example.com" }]),
          { type: "invalid_argument", message },
          m,
        )
        assert.equal(stored(m.file), 0)
        assert.equal(m.bus.calls.length, 0)
      } finally {
        await m.close()
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------
// sharedContext (docs/behaviour.md)

describe("sharedContext errors are invalid_argument", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["isolationLevel 'snapshot'", { isolationLevel: "snapshot" }, BAD_ISOLATION],
    ["isolationLevel 'SNAPSHOT'", { isolationLevel: "SNAPSHOT" }, BAD_ISOLATION],
    ["isolationLevel 'read_committed'", { isolationLevel: "read_committed" }, BAD_ISOLATION],
    ["eventGroupId: 5", { eventGroupId: 5 }, "sharedContext.eventGroupId must be a string, 'number' found"],
    ["idempotencyKey: true", { idempotencyKey: true }, "sharedContext.idempotencyKey must be a string, 'boolean' found"],
    ["transactionId: {}", { transactionId: {} }, "sharedContext.transactionId must be a string, 'object' found"],
    [
      "enableNestedTransactions: 'yes'",
      { enableNestedTransactions: "yes" },
      "sharedContext.enableNestedTransactions must be a boolean, 'string' found",
    ],
    ["isCancelling: 1", { isCancelling: 1 }, "sharedContext.isCancelling must be a boolean, 'number' found"],
    ["isolationLevel: 5", { isolationLevel: 5 }, "sharedContext.isolationLevel must be a string, 'number' found"],
    ["transactionManager: {}", { transactionManager: {} }, FOREIGN_TRANSACTION],
    [
      "transactionManager shaped like a knex transaction",
      { transactionManager: { commit() {}, rollback() {}, isCompleted: () => false } },
      FOREIGN_TRANSACTION,
    ],
    ["transactionManager: 'tx'", { transactionManager: "tx" }, FOREIGN_TRANSACTION],
    ["preventReleaseEvents without messageAggregator", { preventReleaseEvents: true }, PREVENT_WITHOUT_AGGREGATOR],
    [
      "messageAggregator: 5",
      { messageAggregator: 5 },
      "sharedContext.messageAggregator must be an object with save, getMessages and clearMessages methods, 'number' found",
    ],
  ]
  for (const [name, context, message] of cases) {
    test(name, async () => {
      await withModule(async (m, svc) => {
        await expectRejection(() => svc.createInvites({ email: "ctx@example.com" }, context), { type: "invalid_argument", message }, m)
        await expectRejection(
          () => svc.createInvites([{ email: "ctx1@example.com" }, { email: "ctx2@example.com" }], context),
          { type: "invalid_argument", message },
          m,
        )
      })
    })
  }

  test("the transactionManager check mentions the field", async () => {
    assert.match(FOREIGN_TRANSACTION, /transactionManager/)
    await withModule(async (m, svc) => {
      const err = await expectRejection(
        () => svc.createInvites({ email: "tx@example.com" }, { transactionManager: { id: 1 } }),
        { type: "invalid_argument", message: FOREIGN_TRANSACTION },
        m,
      )
      assert.match(err.message, /transactionManager/)
    })
  })

  test("a sharedContext that is not an object", async () => {
    await withModule(async (m, svc) => {
      await expectRejection(
        () => svc.createInvites({ email: "ctx@example.com" }, "context"),
        { type: "invalid_argument", message: "sharedContext must be an object, 'string' found" },
        m,
      )
    })
  })

  test("isolation levels are accepted in upper, lower and mixed case", async () => {
    await withModule(async (m) => {
      const levels = [
        "READ UNCOMMITTED", "read uncommitted", "READ COMMITTED", "read committed",
        "REPEATABLE READ", "repeatable read", "SERIALIZABLE", "serializable", "Read Committed",
      ]
      for (const [i, isolationLevel] of levels.entries()) {
        const invite = await m.service.createInvites({ email: `level${i}@example.com` }, { isolationLevel })
        assert.equal(invite.email, `level${i}@example.com`)
      }
      assert.equal(count(m.file), 1 + levels.length)
      assert.equal(m.bus.calls.length, levels.length)
    })
  })
})

// ---------------------------------------------------------------------------------------------
// No jwt_secret (docs/behaviour.md, docs/options.md)

describe("no jwt_secret", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["missing", {}],
    ["undefined", { jwt_secret: undefined }],
    ["empty string", { jwt_secret: "" }],
  ]
  for (const [name, options] of cases) {
    test(`the constructor throws synchronously: jwt_secret ${name}`, () => {
      const { target, database } = freshDatabase()
      assert.throws(
        () => new UserModuleService({ database, ...options } as any),
        (err: any) => {
          assertMedusaError(err, { type: "invalid_data", message: MISSING_SECRET })
          return true
        },
      )
      if (BACKEND === "sqlite") assert.deepEqual(readdirSync(dirname(target)), [], "nothing is created")
      assert.equal(hasTable(target, "invite"), false, "nothing is created")
    })
  }

  test("top-level createInvites with JWT_SECRET unset rejects (in process)", async () => {
    const saved = { secret: process.env.JWT_SECRET, database: process.env.MEDUSA_INVITES_DATABASE_URL }
    const { target, url } = freshDatabaseUrl()
    delete process.env.JWT_SECRET
    process.env.MEDUSA_INVITES_DATABASE_URL = url
    try {
      await expectRejection(() => createInvites({ email: "env@example.com" }), { type: "invalid_data", message: MISSING_SECRET })
      process.env.JWT_SECRET = ""
      await expectRejection(() => createInvites([{ email: "env@example.com" }]), { type: "invalid_data", message: MISSING_SECRET })
      if (BACKEND === "sqlite") assert.deepEqual(readdirSync(dirname(target)), [], "nothing is created")
      assert.equal(hasTable(target, "invite"), false, "nothing is created")
    } finally {
      if (saved.secret === undefined) delete process.env.JWT_SECRET
      else process.env.JWT_SECRET = saved.secret
      if (saved.database === undefined) delete process.env.MEDUSA_INVITES_DATABASE_URL
      else process.env.MEDUSA_INVITES_DATABASE_URL = saved.database
    }
  })

  // A fresh process, so no default module can have been created before. On SQLite it runs with
  // no MEDUSA_INVITES_DATABASE_URL (the embedded default store, in cwd); on PostgreSQL with the
  // URL of a fresh schema, where no table may appear either.
  for (const [name, value] of [["unset", undefined], ["empty", ""]] as const) {
    test(`top-level createInvites with JWT_SECRET ${name} rejects (child process)`, () => {
      const cwd = tempDir()
      const postgres = BACKEND === "postgres" ? freshDatabaseUrl() : undefined
      const script = `
        const mod = require(${JSON.stringify(MODULE_ROOT)});
        const out = {};
        let returned;
        try { returned = mod.createInvites({ email: "child@example.com" }); }
        catch (error) { out.syncThrow = String(error && error.message); }
        out.isPromise = returned instanceof Promise;
        Promise.resolve(returned).then(
          () => { out.resolved = true; },
          (e) => Object.assign(out, {
            isError: e instanceof Error, ctor: e.constructor.name, name: e.name,
            isMedusa: mod.MedusaError.isMedusaError(e), keys: Object.keys(e), type: e.type,
            message: e.message, codeOwn: Object.hasOwn(e, "code"), codeUndefined: e.code === undefined,
            dateIsDate: e.date instanceof Date,
          }),
        ).then(() => process.stdout.write(JSON.stringify(out)));`
      const env: Record<string, string | undefined> = { ...process.env }
      delete env.JWT_SECRET
      delete env.MEDUSA_INVITES_DATABASE_URL
      if (postgres) env.MEDUSA_INVITES_DATABASE_URL = postgres.url
      if (value !== undefined) env.JWT_SECRET = value
      const stdout = execFileSync(process.execPath, ["-e", script], { cwd, env, encoding: "utf8" })
      assert.deepEqual(JSON.parse(stdout), {
        isPromise: true,
        isError: true,
        ctor: "MedusaError",
        name: "Error",
        isMedusa: true,
        keys: BASE_KEYS,
        type: "invalid_data",
        message: MISSING_SECRET,
        codeOwn: true,
        codeUndefined: true,
        dateIsDate: true,
      })
      assert.deepEqual(readdirSync(cwd), [], "the default database is not created")
      if (postgres) assert.equal(hasTable(postgres.target, "invite"), false, "no table is created in PostgreSQL")
    })
  }
})

// ---------------------------------------------------------------------------------------------
// No secret and no token in errors or output (docs/errors.md)

const LEAK_SECRET = "SUPER-SECRET-VALUE-123"
const FAKE_PEM = `-----BEGIN PRIVATE KEY-----\n${LEAK_SECRET}\n-----END PRIVATE KEY-----\n`
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/

/** Every error-producing call of this file, against a module whose secret is LEAK_SECRET. */
function provocations(m: TestModule): [string, () => unknown][] {
  const svc = m.service as any
  const database = m.database
  const optionModule = (options: Record<string, unknown>) => async () => {
    const other = new UserModuleService({ jwt_secret: LEAK_SECRET, database, ...options } as any)
    try {
      return await other.createInvites([{ email: "opt1@example.com" }, { email: "opt2@example.com" }])
    } finally {
      await other.close()
    }
  }
  const list: [string, () => unknown][] = []
  for (const { name, item } of ITEM_CASES) {
    list.push([`single ${name}`, () => svc.createInvites(item)])
    list.push([`batch ${name}`, () => svc.createInvites([{ email: "b1@example.com" }, item])])
  }
  list.push(
    ["data null", () => svc.createInvites(null)],
    ["data undefined", () => svc.createInvites(undefined)],
    ["data string", () => svc.createInvites("a string")],
    ["data number", () => svc.createInvites(5)],
    ["null at index 2", () => svc.createInvites([{ email: "z0@example.com" }, { email: "z1@example.com" }, null])],
    ["dup email in batch", () => svc.createInvites([{ email: "d@example.com" }, { email: "d@example.com" }])],
    ["live invite email", () => svc.createInvites({ email: "leak1@example.com" })],
    ["live invite email in batch", () => svc.createInvites([{ email: "q@example.com" }, { email: "leak2@example.com" }])],
    ["dup id in batch", () => svc.createInvites([{ id: "invite_X", email: "x1@example.com" }, { id: "invite_X", email: "x2@example.com" }])],
    ["existing id", () => svc.createInvites({ id: "invite_LEAK", email: "y@example.com" })],
    ["user email", () => svc.createInvites([{ email: "free@example.com" }, { email: "leakuser@example.com" }])],
    ["createUsers dup", () => svc.createUsers({ email: "leakuser@example.com" })],
    ["createUsers dup in batch", () => svc.createUsers([{ email: "v@example.com" }, { email: "v@example.com" }])],
    ["expiresIn 0", optionModule({ jwt_options: { expiresIn: 0 } })],
    ["valid_duration 0", optionModule({ valid_duration: 0 })],
    ["expiresIn 1.5", optionModule({ jwt_options: { expiresIn: 1.5 } })],
    ["expiresIn abc", optionModule({ jwt_options: { expiresIn: "abc" } })],
    ["jwt_options foo", optionModule({ jwt_options: { foo: 1 } })],
    ["jwt_options jwtid 5", optionModule({ jwt_options: { jwtid: 5 } })],
    ["RS256 with an HMAC secret", optionModule({ jwt_options: { algorithm: "RS256" } })],
    [
      "HS256 with a PEM-looking secret",
      async () => {
        const other = new UserModuleService({ jwt_secret: FAKE_PEM, database })
        try {
          return await other.createInvites({ email: "pem@example.com" })
        } finally {
          await other.close()
        }
      },
    ],
    [
      "RS256 with a broken PEM",
      async () => {
        const other = new UserModuleService({ jwt_secret: FAKE_PEM, database, jwt_options: { algorithm: "RS256" } })
        try {
          return await other.createInvites({ email: "pem@example.com" })
        } finally {
          await other.close()
        }
      },
    ],
    [
      "constructor with a bad database option",
      async () => new UserModuleService({ jwt_secret: LEAK_SECRET, database: 5 } as any),
    ],
    [
      "constructor with jwt_options not an object",
      async () => new UserModuleService({ jwt_secret: LEAK_SECRET, database, jwt_options: "x" } as any),
    ],
    ["isolationLevel snapshot", () => svc.createInvites({ email: "c@example.com" }, { isolationLevel: "snapshot" })],
    ["eventGroupId 5", () => svc.createInvites({ email: "c@example.com" }, { eventGroupId: 5 })],
    ["transactionManager", () => svc.createInvites({ email: "c@example.com" }, { transactionManager: {} })],
    ["preventReleaseEvents", () => svc.createInvites({ email: "c@example.com" }, { preventReleaseEvents: true })],
    ["messageAggregator 5", () => svc.createInvites({ email: "c@example.com" }, { messageAggregator: 5 })],
  )
  return list
}

/** Every text an error shows: message, stack, JSON, String(), inspect (hidden props too). */
function errorTexts(err: any): string[] {
  const texts = [String(err?.message), String(err?.stack), JSON.stringify(err) ?? "", String(err)]
  texts.push(inspect(err, { showHidden: true, depth: 10 }))
  for (const key of Object.getOwnPropertyNames(err ?? {})) texts.push(String(err[key]))
  return texts
}

describe("no secret and no token in errors or output", () => {
  test("every error, its stack, JSON, String() and all printed output are free of the secret and tokens", async () => {
    const m = newModule({ jwt_secret: LEAK_SECRET })
    try {
      const issued = await m.service.createInvites([
        { id: "invite_LEAK", email: "leak1@example.com" },
        { email: "leak2@example.com" },
      ])
      await m.service.createUsers({ email: "leakuser@example.com" })
      const tokens = issued.map((invite) => invite.token)
      const forbidden = [LEAK_SECRET, ...tokens]
      for (const token of tokens) forbidden.push(...token.split(".").slice(1))
      const invitesBefore = count(m.file)
      m.bus.calls.length = 0

      const printed: string[] = []
      const restore: (() => void)[] = []
      const hook = (target: any, key: string, wrap: (original: any) => any) => {
        const original = target[key]
        target[key] = wrap(original)
        restore.push(() => {
          target[key] = original
        })
      }
      for (const stream of [process.stdout, process.stderr]) {
        hook(stream, "write", (original: any) =>
          function (this: unknown, chunk: unknown, ...rest: unknown[]) {
            printed.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"))
            return original.call(stream, chunk, ...rest)
          },
        )
      }
      for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
        hook(console, level, (original: any) => (...args: unknown[]) => {
          printed.push(format(...args))
          return original.apply(console, args)
        })
      }
      const onWarning = (warning: Error) => printed.push(String(warning.stack ?? warning))
      process.on("warning", onWarning)

      const errors: [string, any][] = []
      try {
        for (const [name, call] of provocations(m)) {
          let err: unknown
          try {
            err = await rejection(Promise.resolve().then(call))
          } catch (resolved) {
            assert.fail(`${name}: expected an error, got ${inspect(resolved)}`)
          }
          errors.push([name, err])
        }
        // Give anything asynchronous (warnings, late logs) a chance to be printed.
        await new Promise((resolve) => setTimeout(resolve, 50))
      } finally {
        process.off("warning", onWarning)
        for (const undo of restore.reverse()) undo()
      }

      assert.ok(errors.length >= 80, `only ${errors.length} provocations ran`)
      for (const [name, err] of errors) {
        assert.equal(MedusaError.isMedusaError(err), true, `${name}: not a MedusaError: ${inspect(err)}`)
        for (const text of errorTexts(err)) {
          for (const value of forbidden) {
            assert.ok(!text.includes(value), `${name}: the error shows the secret or a token: ${JSON.stringify(text.slice(0, 300))}`)
          }
          assert.doesNotMatch(text, JWT_PATTERN, `${name}: the error shows a token`)
        }
      }
      const output = printed.join("")
      for (const value of forbidden) assert.ok(!output.includes(value), "printed output shows the secret or a token")
      assert.doesNotMatch(output, JWT_PATTERN)
      assert.equal(output, "", "nothing is printed while failing")
      assert.equal(count(m.file), invitesBefore, "no failing call wrote an invite")
      assert.equal(m.bus.calls.length, 0, "no failing call emitted")
    } finally {
      await m.close()
    }
  })

  test("a failing process prints nothing at all on stdout/stderr, native side included", () => {
    const dir = tempDir()
    const scriptFile = join(dir, "leak.js")
    const { database } = freshDatabase()
    writeFileSync(
      scriptFile,
      `
      const { UserModuleService } = require(${JSON.stringify(MODULE_ROOT)});
      const secret = ${JSON.stringify(LEAK_SECRET)};
      const database = ${JSON.stringify(database)};
      (async () => {
        const m = new UserModuleService({ jwt_secret: secret, database });
        const issued = await m.createInvites([{ id: "invite_LEAK", email: "leak1@example.com" }, { email: "leak2@example.com" }]);
        await m.createUsers({ email: "leakuser@example.com" });
        const calls = [
          () => m.createInvites({ email: "leak1@example.com" }),
          () => m.createInvites([{ email: "d@example.com" }, { email: "d@example.com" }]),
          () => m.createInvites({ id: "invite_LEAK", email: "y@example.com" }),
          () => m.createInvites([{ email: "free@example.com" }, { email: "leakuser@example.com" }]),
          () => m.createInvites({}),
          () => m.createInvites({ email: null }),
          () => m.createInvites({ email: "a".repeat(300) + "@example.com" }),
          () => m.createInvites({ email: "x@example.com", metadata: { b: 1n } }),
          () => m.createInvites({ email: "x@example.com" }, { isolationLevel: "snapshot" }),
          () => m.createInvites({ email: "x@example.com" }, { transactionManager: {} }),
          () => m.createUsers({ email: "leakuser@example.com" }),
        ];
        for (const options of [{ valid_duration: 0 }, { jwt_options: { expiresIn: 1.5 } }, { jwt_options: { expiresIn: "abc" } }, { jwt_options: { foo: 1 } }, { jwt_options: { algorithm: "RS256" } }]) {
          calls.push(async () => {
            const other = new UserModuleService({ jwt_secret: secret, database, ...options });
            try { return await other.createInvites({ email: "o@example.com" }); } finally { await other.close(); }
          });
        }
        let failures = 0;
        for (const call of calls) {
          try { await call(); } catch (error) { if (error && error.__isMedusaError) failures++; }
        }
        await m.close();
        process.stdout.write("DONE " + failures + " " + issued.length + "\\n");
      })();
      `,
    )
    const result = spawnSync(process.execPath, [scriptFile], { cwd: dir, encoding: "utf8" })
    assert.equal(result.status, 0, result.stderr)
    assert.equal(result.stderr, "", "nothing on stderr")
    assert.equal(result.stdout, "DONE 16 2\n", "nothing on stdout but the script's own line")
  })
})

describe("text PostgreSQL cannot store is refused on every backend", () => {
  // PostgreSQL's text and jsonb cannot hold U+0000 or an unpaired surrogate; refusing them up
  // front keeps both backends alike (and the error invalid_data, not database_error).
  const cases: [string, () => any, string][] = [
    ["U+0000 in an id", () => ({ email: "nul-id@example.com", id: "inv\u0000ite" }), "Value for Invite.id must not contain the character U+0000"],
    ["U+0000 in a role", () => ({ email: "nul-role@example.com", roles: ["ad\u0000min"] }), "Value for Invite.roles must not contain the character U+0000"],
    ["U+0000 in metadata", () => ({ email: "nul-meta@example.com", metadata: { note: "a\u0000b" } }), "Value for Invite.metadata cannot be stored as JSON: it contains the character U+0000"],
    ["an unpaired surrogate in metadata", () => ({ email: "surrogate@example.com", metadata: { note: "\ud800x" } }), "Value for Invite.metadata cannot be stored as JSON: it contains an unpaired UTF-16 surrogate"],
  ]
  for (const [name, item, message] of cases) {
    test(name, async () => {
      await withModule(async (m) => {
        await expectRejection(() => m.service.createInvites(item()), { type: "invalid_data", message }, m)
        await expectRejection(() => m.service.createInvites([{ email: "fine@example.com" }, item()]), { type: "invalid_data", message, index: 1 }, m)
      })
    })
  }
  test("paired surrogates and a literal backslash-u0000 text are stored", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "emoji@example.com", metadata: { note: "😀 \\u0000" } })
      assert.deepEqual(invite.metadata, { note: "😀 \\u0000" })
    })
  })
})
