// Garbage thrown at both doors (the class method and the top-level createInvites): every bad
// value ends in a MedusaError-shaped rejection, never a synchronous throw, a crash or a write;
// odd-but-valid values succeed; a 1,000-deep metadata object round-trips; 100,000 invites
// fit in one call.
import { test, describe, before, after } from "node:test"
import assert from "node:assert/strict"
import { inspect } from "node:util"
import { UserModuleService, MedusaError, createInvites, configure } from ".."
import { newModule, count, freshDatabase, hasTable, rows, rejection, SECRET, tableCounts, type TestModule } from "./helpers"

const BASE_KEYS = ["__isMedusaError", "type", "code", "message", "date"]
const MEDUSA_TYPES = new Set<string>(Object.values(MedusaError.Types))

// Anything that escapes as an unhandled rejection or an uncaught exception is a failure.
const escaped: unknown[] = []
process.on("unhandledRejection", (reason) => escaped.push(reason))
process.on("uncaughtException", (error) => escaped.push(error))

let emailCounter = 0
/** A fresh, valid, never used email. */
const freshEmail = (tag = "r") => `${tag}-${++emailCounter}@example.com`

function deepObject(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  let node = root
  for (let i = 0; i < depth; i++) {
    const child: Record<string, unknown> = { level: i }
    node.next = child
    node = child
  }
  return root
}

const throwing = (what: string) => () => {
  throw new Error(`${what} threw on purpose`)
}

/** A Proxy every trap of which throws. */
function hostileProxy(target: object = {}): object {
  const handler: ProxyHandler<object> = {}
  for (const trap of [
    "get", "set", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf", "setPrototypeOf",
    "defineProperty", "deleteProperty", "isExtensible", "preventExtensions", "apply", "construct",
  ] as const) {
    ;(handler as any)[trap] = throwing(`proxy trap ${trap}`)
  }
  return new Proxy(target, handler)
}

function revokedProxy(target: object = {}): object {
  const { proxy, revoke } = Proxy.revocable(target, {})
  revoke()
  return proxy
}

/** An array proxy whose `length` throws. */
function lengthThrowingArray(): unknown[] {
  return new Proxy([{ email: "len@example.com" }], {
    get(target, key, receiver) {
      if (key === "length") throw new Error("length threw on purpose")
      return Reflect.get(target, key, receiver)
    },
  })
}

/** An array whose element `index` is a throwing getter. */
function itemThrowingArray(index: number, length: number): unknown[] {
  const array: unknown[] = Array.from({ length }, () => ({ email: freshEmail("item") }))
  Object.defineProperty(array, index, { get: throwing(`item ${index}`), enumerable: true })
  return array
}

function circular(): Record<string, unknown> {
  const a: Record<string, unknown> = { name: "a" }
  const b: Record<string, unknown> = { name: "b", a }
  a.b = b
  return a
}

const HUGE = 5 * 1024 * 1024

/** What the same value must do when passed as `sharedContext` with a valid invite. */
type ContextOutcome = "reject" | "accept" | "either"

interface BadValue {
  name: string
  make: () => unknown
  context: ContextOutcome
}

// Each of these must make `createInvites(value)` reject with a MedusaError.
const BAD_VALUES: BadValue[] = [
  { name: "null", make: () => null, context: "accept" },
  { name: "undefined", make: () => undefined, context: "accept" },
  { name: "0", make: () => 0, context: "reject" },
  { name: "42", make: () => 42, context: "reject" },
  { name: "-1.5", make: () => -1.5, context: "reject" },
  { name: "NaN", make: () => NaN, context: "reject" },
  { name: "Infinity", make: () => Infinity, context: "reject" },
  { name: "-Infinity", make: () => -Infinity, context: "reject" },
  { name: "empty string", make: () => "", context: "reject" },
  { name: "an email string instead of an object", make: () => "someone@example.com", context: "reject" },
  { name: "a 5 MB string", make: () => "x".repeat(HUGE), context: "reject" },
  { name: "true", make: () => true, context: "reject" },
  { name: "false", make: () => false, context: "reject" },
  { name: "BigInt", make: () => 10n, context: "reject" },
  { name: "Symbol", make: () => Symbol("invite"), context: "reject" },
  { name: "function", make: () => function invite() {}, context: "reject" },
  { name: "arrow function with an email property", make: () => Object.assign(() => 1, { email: "fn@example.com" }), context: "reject" },
  { name: "class constructor", make: () => class Invite {}, context: "reject" },
  {
    name: "nested garbage in known fields",
    make: () => ({ email: { nested: { deep: [1, { x: null }] } }, accepted: [[]], metadata: "m", roles: {} }),
    context: "accept",
  },
  {
    name: "nested garbage in context fields too",
    make: () => ({ email: "ok@example", accepted: {}, eventGroupId: { a: [1, { b: 2 }] }, isolationLevel: [["x"]] }),
    context: "reject",
  },
  { name: "array of garbage", make: () => [1, "x", null, Symbol("s"), 5n, () => 1, NaN], context: "reject" },
  { name: "array of 100 garbage values", make: () => Array.from({ length: 100 }, (_, i) => (i % 2 ? Symbol(String(i)) : BigInt(i))), context: "reject" },
  { name: "nested arrays", make: () => [[{ email: "nested@example.com" }]], context: "reject" },
  { name: "array ending in undefined", make: () => [{ email: freshEmail() }, { email: freshEmail() }, undefined], context: "reject" },
  { name: "Date", make: () => new Date(), context: "either" },
  { name: "invalid Date", make: () => new Date(NaN), context: "either" },
  { name: "RegExp", make: () => /invite@example\.com/g, context: "either" },
  { name: "Map with an email entry", make: () => new Map([["email", "map@example.com"]]), context: "either" },
  { name: "Set of invites", make: () => new Set([{ email: "set@example.com" }]), context: "either" },
  { name: "WeakMap", make: () => new WeakMap(), context: "either" },
  { name: "resolved Promise of an invite", make: () => Promise.resolve({ email: "promise@example.com" }), context: "either" },
  { name: "pending Promise", make: () => new Promise(() => {}), context: "either" },
  { name: "Error object", make: () => new Error("not an invite"), context: "either" },
  { name: "Uint8Array", make: () => new Uint8Array(8), context: "either" },
  { name: "globalThis", make: () => globalThis, context: "either" },
  {
    name: "class instance without an email",
    make: () => new (class Invitation { mail = "class@example.com" })(),
    context: "accept",
  },
  {
    name: "class instance whose email getter returns a number",
    make: () => new (class Invitation { get email() { return 7 } })(),
    context: "accept",
  },
  { name: "array whose first item getter throws", make: () => itemThrowingArray(0, 2), context: "reject" },
  { name: "array whose second item getter throws", make: () => itemThrowingArray(1, 3), context: "reject" },
  { name: "object whose email getter throws", make: () => ({ get email() { throw new Error("email threw") } }), context: "either" },
  {
    name: "object inheriting a throwing email getter",
    make: () => Object.create({ get email() { throw new Error("inherited email threw") } }),
    context: "either",
  },
  { name: "array proxy whose length throws", make: lengthThrowingArray, context: "reject" },
  { name: "Proxy whose traps all throw", make: () => hostileProxy(), context: "reject" },
  { name: "array Proxy whose traps all throw", make: () => hostileProxy([{ email: "p@example.com" }]), context: "reject" },
  { name: "revoked Proxy", make: () => revokedProxy(), context: "reject" },
  { name: "revoked array Proxy", make: () => revokedProxy([]), context: "reject" },
  { name: "frozen empty object", make: () => Object.freeze({}), context: "accept" },
  { name: "frozen object with a bad field", make: () => Object.freeze({ email: "fz@example.com", accepted: "no" }), context: "accept" },
  { name: "sealed object with a number email", make: () => Object.seal({ email: 5 }), context: "accept" },
  { name: "frozen array of garbage", make: () => Object.freeze([Object.freeze({ email: null })]), context: "reject" },
  { name: "a 5 MB email", make: () => ({ email: `${"a".repeat(HUGE)}@example.com` }), context: "accept" },
  { name: "100,000-deep metadata", make: () => ({ email: freshEmail("deep"), metadata: deepObject(100_000) }), context: "accept" },
  { name: "circular metadata", make: () => ({ email: freshEmail("circ"), metadata: circular() }), context: "accept" },
  { name: "metadata with a BigInt", make: () => ({ email: freshEmail("big"), metadata: { n: 1n } }), context: "accept" },
  { name: "metadata whose getter throws", make: () => ({ email: freshEmail("mg"), metadata: { get boom() { throw new Error("meta") } } }), context: "accept" },
  { name: "metadata whose toJSON throws", make: () => ({ email: freshEmail("tj"), metadata: { toJSON: throwing("toJSON") } }), context: "accept" },
  { name: "metadata that is a Date", make: () => ({ email: freshEmail("md"), metadata: new Date() }), context: "accept" },
  { name: "sparse array with a hole first", make: () => [, { email: freshEmail() }], context: "reject" },
  { name: "array of three holes", make: () => new Array(3), context: "reject" },
  { name: "array-like object", make: () => ({ length: 2, 0: { email: freshEmail() }, 1: { email: freshEmail() } }), context: "accept" },
  { name: "null-prototype object without email", make: () => Object.create(null), context: "accept" },
  {
    name: "null-prototype object with a boolean email",
    make: () => Object.assign(Object.create(null), { email: false }),
    context: "accept",
  },
  { name: "email as a String object", make: () => ({ email: new String("s@example.com") }), context: "accept" },
  { name: "email with toString", make: () => ({ email: { toString: () => "t@example.com" } }), context: "accept" },
  { name: "email with a throwing Symbol.toPrimitive", make: () => ({ email: { [Symbol.toPrimitive]: throwing("toPrimitive") } }), context: "accept" },
  { name: "email with a lone surrogate", make: () => ({ email: "\uD800x@example.com" }), context: "accept" },
  { name: "email keyed by a Symbol", make: () => ({ [Symbol("email")]: "sym@example.com" }), context: "accept" },
  { name: "created_at that is not a date", make: () => ({ email: freshEmail(), created_at: "not a date" }), context: "accept" },
  { name: "created_at an invalid Date", make: () => ({ email: freshEmail(), created_at: new Date(NaN) }), context: "accept" },
  { name: "id that is a number", make: () => ({ email: freshEmail(), id: 42 }), context: "accept" },
  { name: "roles nested", make: () => ({ email: freshEmail(), roles: [["admin"]] }), context: "accept" },
  { name: "accepted that is an object", make: () => ({ email: freshEmail(), accepted: { yes: true } }), context: "accept" },
]

// Each of these must make `createInvites(validInvite, value)` reject.
const BAD_CONTEXTS: { name: string; make: () => unknown }[] = [
  { name: "eventGroupId BigInt", make: () => ({ eventGroupId: 5n }) },
  { name: "eventGroupId Symbol", make: () => ({ eventGroupId: Symbol("g") }) },
  { name: "eventGroupId with toString", make: () => ({ eventGroupId: { toString: () => "g" } }) },
  { name: "isolationLevel Symbol", make: () => ({ isolationLevel: Symbol("serializable") }) },
  { name: "isolationLevel 5 MB", make: () => ({ isolationLevel: "x".repeat(HUGE) }) },
  { name: "isolationLevel nested", make: () => ({ isolationLevel: { level: "serializable" } }) },
  { name: "preventReleaseEvents 'true'", make: () => ({ preventReleaseEvents: "true" }) },
  { name: "isCancelling NaN", make: () => ({ isCancelling: NaN }) },
  { name: "idempotencyKey a function", make: () => ({ idempotencyKey: () => "k" }) },
  { name: "requestId an array", make: () => ({ requestId: ["r"] }) },
  { name: "messageAggregator missing methods", make: () => ({ messageAggregator: { save() {} } }) },
  { name: "messageAggregator with a throwing getter", make: () => ({ messageAggregator: { get save() { throw new Error("save") } } }) },
  { name: "throwing eventGroupId getter", make: () => ({ get eventGroupId() { throw new Error("group") } }) },
  { name: "transactionManager a hostile Proxy", make: () => ({ transactionManager: hostileProxy() }) },
  { name: "transactionManager a revoked Proxy", make: () => ({ transactionManager: revokedProxy() }) },
  { name: "frozen context with a wrong type", make: () => Object.freeze({ runId: 1 }) },
  { name: "null-prototype context with a wrong type", make: () => Object.assign(Object.create(null), { transactionId: false }) },
  { name: "preventReleaseEvents without an aggregator", make: () => ({ preventReleaseEvents: true }) },
]

// Odd-but-valid contexts: each must let a valid call succeed.
const VALID_CONTEXTS: { name: string; make: () => unknown }[] = [
  { name: "empty object", make: () => ({}) },
  { name: "frozen object with valid fields", make: () => Object.freeze({ eventGroupId: "g", isolationLevel: "SERIALIZABLE" }) },
  { name: "sealed object", make: () => Object.seal({ requestId: "r", isCancelling: false }) },
  { name: "null-prototype object", make: () => Object.assign(Object.create(null), { runId: "run" }) },
  { name: "class instance", make: () => new (class Ctx { transactionId = "t" })() },
  { name: "unknown fields of any kind", make: () => ({ foo: Symbol("x"), bar: 1n, baz: circular(), deep: deepObject(100_000) }) },
  { name: "manager of any kind", make: () => ({ manager: hostileProxy() }) },
  { name: "__type MedusaContext", make: () => ({ __type: "MedusaContext", eventGroupId: "grp" }) },
]

/** Invites stored at `file` (one quick round trip: these checks run around every call). */
const stored = (file: string): number => tableCounts(file, ["invite"]).invite

interface Door {
  name: string
  call: (data: unknown, context?: unknown) => unknown
  file: () => string
  emits: () => number
}

let classModule: TestModule
let topModule: UserModuleService
let topFile: string

const DOORS: Door[] = [
  {
    name: "class method",
    call: (data, context) => (classModule.service as any).createInvites(data, context),
    file: () => classModule.file,
    emits: () => classModule.bus.calls.length,
  },
  {
    name: "top-level createInvites",
    call: (data, context) => (createInvites as any)(data, context),
    file: () => topFile,
    emits: () => 0,
  },
]

before(async () => {
  classModule = newModule()
  const top = freshDatabase()
  topFile = top.target
  topModule = configure({ jwt_secret: SECRET, database: top.database })
  // Open both stores so "nothing written" is measured against an existing table.
  for (const door of DOORS) {
    await door.call({ email: freshEmail(`warm-${door.name.replace(/\W/g, "")}`) })
    assert.ok(hasTable(door.file(), "invite"), `${door.name}: the invite table exists after a first call`)
  }
})

after(async () => {
  await classModule.close()
  await topModule.close()
})

/** `__isMedusaError === true`, a known string `type`, a string `message`. */
function assertMedusaShaped(value: unknown, label: string): void {
  const err = value as any
  assert.ok(err !== null && typeof err === "object", `${label}: rejected with ${inspect(err)}`)
  assert.equal(err.__isMedusaError, true, `${label}: not a MedusaError: ${inspect(err).slice(0, 500)}`)
  assert.equal(MedusaError.isMedusaError(err), true)
  assert.ok(value instanceof Error, `${label}: not an Error`)
  assert.equal(typeof err.type, "string")
  assert.ok(MEDUSA_TYPES.has(err.type), `${label}: unknown type ${err.type}`)
  assert.equal(typeof err.message, "string")
  assert.ok(err.message.length > 0, `${label}: empty message`)
  // A 5 MB input must not come back as a 5 MB message.
  assert.ok(err.message.length < 10_000, `${label}: message of ${err.message.length} characters`)
  assert.ok(!err.message.includes(SECRET), `${label}: the message shows the secret`)
}

/** Calls the door without awaiting; it must return a Promise that rejects MedusaError-shaped. */
async function expectShapedRejection(door: Door, label: string, data: unknown, context?: unknown): Promise<any> {
  const before = stored(door.file())
  const emitsBefore = door.emits()
  let returned: unknown
  try {
    returned = door.call(data, context)
  } catch (error) {
    assert.fail(`${label}: threw synchronously: ${inspect(error).slice(0, 500)}`)
  }
  assert.ok(returned instanceof Promise, `${label}: did not return a Promise`)
  const err = await rejection(returned)
  assertMedusaShaped(err, label)
  assert.equal(stored(door.file()), before, `${label}: wrote an invite`)
  assert.equal(door.emits(), emitsBefore, `${label}: emitted`)
  return err
}

/** A valid single-invite call must resolve and write exactly one invite. */
async function expectSuccess(door: Door, label: string, context: unknown): Promise<void> {
  const before = stored(door.file())
  const email = freshEmail("ok")
  const returned = door.call({ email }, context)
  assert.ok(returned instanceof Promise, `${label}: did not return a Promise`)
  const invite: any = await returned
  assert.equal(invite.email, email)
  assert.equal(stored(door.file()), before + 1)
}

for (const door of DOORS) {
  describe(`${door.name}: bad data`, () => {
    for (const bad of BAD_VALUES) {
      test(`data: ${bad.name}`, { timeout: 60_000 }, async () => {
        await expectShapedRejection(door, `data ${bad.name}`, bad.make())
      })
    }
  })

  describe(`${door.name}: the same values as sharedContext`, () => {
    for (const bad of BAD_VALUES) {
      test(`sharedContext: ${bad.name} (${bad.context})`, { timeout: 60_000 }, async () => {
        const label = `sharedContext ${bad.name}`
        const context = bad.make()
        if (bad.context === "reject") {
          await expectShapedRejection(door, label, { email: freshEmail("ctx") }, context)
        } else if (bad.context === "accept") {
          await expectSuccess(door, label, context)
        } else {
          // Either outcome is acceptable, but it must be one of the two, cleanly.
          const before = stored(door.file())
          let returned: unknown
          try {
            returned = door.call({ email: freshEmail("either") }, context)
          } catch (error) {
            assert.fail(`${label}: threw synchronously: ${inspect(error).slice(0, 500)}`)
          }
          assert.ok(returned instanceof Promise)
          let outcome: "resolved" | "rejected"
          try {
            await returned
            outcome = "resolved"
          } catch (error) {
            assertMedusaShaped(error, label)
            outcome = "rejected"
          }
          assert.equal(stored(door.file()), before + (outcome === "resolved" ? 1 : 0))
        }
      })
    }
    for (const bad of BAD_CONTEXTS) {
      test(`sharedContext: ${bad.name} (reject)`, { timeout: 60_000 }, async () => {
        await expectShapedRejection(door, `sharedContext ${bad.name}`, { email: freshEmail("ctx") }, bad.make())
      })
    }
    for (const valid of VALID_CONTEXTS) {
      test(`sharedContext: ${valid.name} (accept)`, { timeout: 60_000 }, async () => {
        await expectSuccess(door, `sharedContext ${valid.name}`, valid.make())
      })
    }
  })

  describe(`${door.name}: odd but valid input`, () => {
    test("frozen, sealed, null-prototype and class-instance invites succeed and are not mutated", async () => {
      const frozenMetadata = Object.freeze({ nested: Object.freeze({ a: 1 }) })
      const frozen = Object.freeze({ email: freshEmail("frozen"), metadata: frozenMetadata, roles: Object.freeze(["admin"]) })
      const sealed = Object.seal({ email: freshEmail("sealed"), accepted: true })
      const nullProto = Object.assign(Object.create(null), { email: freshEmail("nullproto") })
      const instance = new (class Invitation { email = freshEmail("instance") })()
      const getter = { get email() { return "getter-" + "ok@example.com" } }
      const batch = Object.freeze([frozen, sealed, nullProto, instance, getter])
      const snapshot = JSON.stringify([frozen, sealed, { ...nullProto }, { ...instance }])
      const before = stored(door.file())
      const invites: any[] = await (door.call(batch) as Promise<any[]>)
      assert.deepEqual(
        invites.map((invite) => invite.email),
        [frozen.email, sealed.email, nullProto.email, instance.email, "getter-ok@example.com"],
      )
      assert.deepEqual(invites[0].metadata, { nested: { a: 1 } })
      assert.deepEqual(invites[0].roles, ["admin"])
      assert.equal(invites[1].accepted, true)
      assert.equal(JSON.stringify([frozen, sealed, { ...nullProto }, { ...instance }]), snapshot)
      assert.equal(stored(door.file()), before + 5)
    })

    test("a 1,000-deep metadata object succeeds and round-trips", { timeout: 60_000 }, async () => {
      const metadata = deepObject(1_000)
      const email = freshEmail("deep1000")
      const invite: any = await door.call({ email, metadata })
      assert.deepEqual(invite.metadata, metadata)
      const [row] = rows<{ metadata: string }>(door.file(), `select metadata from invite where email = '${email}'`)
      assert.deepEqual(JSON.parse(row.metadata), metadata)
    })

    test("after all the garbage a normal call still succeeds, and nothing escaped", async () => {
      const email = freshEmail("after")
      const invite: any = await door.call({ email })
      assert.equal(invite.email, email)
      assert.match(invite.id, /^invite_[0-9A-HJKMNP-TV-Z]{26}$/)
      const invites: any[] = await (door.call([{ email: freshEmail("after") }, { email: freshEmail("after") }]) as Promise<any[]>)
      assert.equal(invites.length, 2)
      assert.deepEqual(escaped, [], "no unhandled rejection or uncaught exception")
    })
  })
}

describe("unreadable input keeps Medusa's error shape", () => {
  // docs/errors.md: own enumerable properties are exactly __isMedusaError, type, code, message, date
  // (plus index for a batch item). A `cause` kept for debugging must not be enumerable.
  const cases: [string, () => unknown, unknown?][] = [
    ["email getter throws", () => ({ get email() { throw new Error("email") } })],
    ["revoked Proxy", () => revokedProxy()],
    ["array proxy whose length throws", lengthThrowingArray],
    ["array item getter throws", () => itemThrowingArray(0, 1)],
    ["sharedContext getter throws", () => ({ email: freshEmail("u") }), { get runId() { throw new Error("run") } }],
  ]
  for (const [name, make, context] of cases) {
    test(name, async () => {
      const err = await expectShapedRejection(DOORS[0], name, make(), context)
      assert.equal(err.type, "invalid_data")
      assert.deepEqual(
        Object.keys(err).filter((key) => key !== "index"),
        BASE_KEYS,
        `own enumerable keys were ${JSON.stringify(Object.keys(err))}`,
      )
    })
  }
})

describe("100,000 invites in one call", () => {
  const total = 100_000
  const batch = () => Array.from({ length: total }, (_, i) => ({ email: `bulk-${i}@example.com` }))

  function check(invites: any[], file: string): void {
    assert.equal(invites.length, total)
    const ids = new Set(invites.map((invite) => invite.id))
    assert.equal(ids.size, total, "ids are unique")
    assert.equal(new Set(invites.map((invite) => invite.token)).size, total, "tokens are unique")
    for (let i = 0; i < total; i++) {
      if (invites[i].email !== `bulk-${i}@example.com`) assert.fail(`item ${i} out of order: ${invites[i].email}`)
    }
    assert.equal(count(file), total)
  }

  test("through the class method", { timeout: 300_000 }, async () => {
    const m = newModule()
    try {
      check(await m.service.createInvites(batch()), m.file)
      assert.equal(m.bus.calls.length, 1)
      assert.equal(m.bus.calls[0].messages.length, total + 1)
    } finally {
      await m.close()
    }
  })

  test("through the top-level createInvites", { timeout: 300_000 }, async () => {
    const { target, database } = freshDatabase()
    const bulk = configure({ jwt_secret: SECRET, database })
    try {
      check(await createInvites(batch()), target)
    } finally {
      await bulk.close()
    }
  })
})

test("nothing escaped as an unhandled rejection or uncaught exception during the whole file", async () => {
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(escaped, [])
})
