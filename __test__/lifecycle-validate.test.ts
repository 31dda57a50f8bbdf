// validateInviteToken and refreshInviteTokens (docs/behaviour.md; decisions in the README, "The invite lifecycle"):
// jsonwebtoken's exact messages as MedusaError invalid_data, the live invite's current token and
// expiry, verification with jwt_public_key / jwt_verify_options, no events from validate;
// refresh: new token, jti and expires_at, all-or-nothing on unknown ids, Medusa's event list
// (updated per invite, then ONE token_generated whose action is "created"), held with a
// transaction and dropped on rollback.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { createHmac, generateKeyPairSync } from "node:crypto"
import jwt from "jsonwebtoken"
import { UserModuleService, type InviteDTO } from ".."
import {
  assertEmits,
  assertExactMedusaError,
  assertInviteDto,
  execute,
  expectedMessages,
  newModule,
  normalize,
  notFound,
  rejection,
  rows,
  sqlTime,
  tokenGeneratedMessage,
  tokenPart,
  updatedMessage,
  withBadSignature,
  withModule,
  withOptions,
  MedusaLikeAggregator,
  SECRET,
  TOKEN_GENERATED,
  UPDATED,
  type Message,
  type TestModule,
} from "./helpers"

/**
 * validateInviteToken as a second module on `m`'s store sees it when its verification clock
 * (jsonwebtoken's `clockTimestamp`, in seconds) reads a given second: `jwt_verify_options`.
 */
function clockAt(m: TestModule): (verifyOptions: Record<string, unknown>, token: string) => Promise<InviteDTO> {
  return async (verifyOptions, token) => {
    const other = new UserModuleService({ jwt_secret: SECRET, database: m.database, jwt_verify_options: verifyOptions })
    try {
      return await other.validateInviteToken(token)
    } finally {
      await other.close()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const DAY_MS = 86_400_000

const INVALID_TOKEN = "The invite token is invalid"
const EXPIRED = "The invite has expired"
const doNotExist = (ids: string[]) => `The following invites do not exist: ${ids.join(", ")}`

/** `assertExactMedusaError` (docs/errors.md; `allowIndex`: a batch `index` may follow), with a `stack`. */
function assertMedusaError(value: unknown, type: string, message: string, options: { allowIndex?: boolean } = {}): void {
  assert.equal(typeof assertExactMedusaError(value, type, message, options).stack, "string")
}

/** An InviteDTO: a plain object, exact keys in order, the documented types. */
function assertInviteShape(dto: InviteDTO): void {
  assertInviteDto(dto)
  assert.equal(typeof dto.id, "string")
  assert.equal(typeof dto.email, "string")
  assert.equal(typeof dto.accepted, "boolean")
  assert.equal(typeof dto.token, "string")
  for (const key of ["expires_at", "created_at", "updated_at"] as const) assert.ok(!Number.isNaN(dto[key].getTime()), `${key} is a valid Date`)
  assert.ok(dto.metadata === null || typeof dto.metadata === "object", "metadata is null or an object")
  assert.ok(dto.roles === null || (Array.isArray(dto.roles) && dto.roles.every((r) => typeof r === "string")))
}

/** The messages of one refreshInviteTokens call that refreshed `ids` (the README, "The invite lifecycle"). */
function refreshMessages(ids: string[], eventGroupId?: string): Message[] {
  return [...ids.map((id) => updatedMessage(id, eventGroupId)), tokenGeneratedMessage(ids, eventGroupId, "created")]
}

/** The stored invites, read by an independent client, in id order. */
function storedInvites(file: string): Record<string, unknown>[] {
  return rows(file, `select id, email, accepted, token, expires_at, created_at, updated_at, deleted_at from "invite" order by id`)
}

function storedRow(file: string, id: string): Record<string, unknown> {
  const found = rows(file, `select id, token, expires_at, created_at, updated_at, deleted_at from "invite" where id = '${id.replace(/'/g, "''")}'`)
  assert.equal(found.length, 1, `one stored row for ${id}`)
  return found[0]
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms))

function rsaKeys() {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  })
}

/** The token with its payload replaced (same header and signature). */
function withPayload(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [header, , signature] = token.split(".")
  const payload = tokenPart(token, 1).json
  change(payload)
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`
}

// =============================================================================================

describe("validateInviteToken: a good token", () => {
  test("a fresh token returns the full InviteDTO, equal to the created one", async () => {
    await withModule(async (m) => {
      const created = await m.service.createInvites({
        email: "fresh@example.com",
        metadata: { team: "ops", level: 2 },
        roles: ["admin", "editor"],
      })
      m.bus.calls.length = 0
      const dto = await m.service.validateInviteToken(created.token)
      assertInviteShape(dto)
      assert.deepEqual(dto, created)
      assert.equal(dto.id, created.id)
      assert.equal(dto.token, created.token)
      assert.equal(dto.accepted, false)
      assert.equal(dto.deleted_at, null)
      assert.deepEqual(dto.metadata, { team: "ops", level: 2 })
      assert.deepEqual(dto.roles, ["admin", "editor"])
      assert.equal(dto.expires_at.getTime(), created.expires_at.getTime())
      assert.equal(dto.created_at.getTime(), created.created_at.getTime())
      assert.equal(dto.updated_at.getTime(), created.updated_at.getTime())
      assert.equal(m.bus.calls.length, 0, "validate emits nothing")
    })
  })

  test("an invite without metadata or roles: null, null", async () => {
    await withModule(async (m) => {
      const [first, second] = await m.service.createInvites([{ email: "v1@example.com" }, { email: "v2@example.com", accepted: true }])
      const dto = await m.service.validateInviteToken(second.token)
      assertInviteShape(dto)
      assert.deepEqual(dto, second)
      assert.equal(dto.metadata, null)
      assert.equal(dto.roles, null)
      assert.equal(dto.accepted, true)
      // each token finds its own invite
      assert.deepEqual(await m.service.validateInviteToken(first.token), first)
    })
  })

  test("validate emits no events, on success or failure, and touches no aggregator state", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "quiet@example.com" })
      m.bus.calls.length = 0
      const aggregator = new MedusaLikeAggregator()
      await m.service.validateInviteToken(invite.token)
      await m.service.validateInviteToken(invite.token, { eventGroupId: "g", messageAggregator: aggregator })
      await rejection(m.service.validateInviteToken("abc"))
      await rejection(m.service.validateInviteToken(withBadSignature(invite.token), { messageAggregator: aggregator }))
      assert.equal(m.bus.calls.length, 0)
      assert.equal(aggregator.count(), 0)
      assert.ok(!aggregator.calls.includes("save"), "nothing saved into the aggregator")
    })
  })

  test("inside a transaction: sees an invite created in the same transaction", async () => {
    await withModule(async (m) => {
      let created: InviteDTO | undefined
      const validated = await m.service.transaction(async (tx) => {
        created = await m.service.createInvites({ email: "in-tx@example.com", roles: ["r"] }, { transactionManager: tx })
        const dto = await m.service.validateInviteToken(created.token, { transactionManager: tx })
        assert.equal(m.bus.calls.length, 0, "nothing emitted before commit")
        return dto
      })
      assertInviteShape(validated)
      assert.deepEqual(validated, created)
      // Only createInvites' events, once, after commit.
      assert.equal(m.bus.calls.length, 1)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages([created!.id]))
      // And outside, after commit, the token still validates.
      assert.deepEqual(await m.service.validateInviteToken(created!.token), created)
    })
  })

  test("jwt_options.algorithm HS384: its tokens validate (algorithms: [HS384])", async () => {
    await withOptions({ jwt_options: { algorithm: "HS384" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "hs384@example.com" })
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
    })
  })
})

describe("validateInviteToken: the stored invite decides", () => {
  test("after refreshInviteTokens the old token is invalid_data 'The invite token is invalid'; the new one validates", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "rotate@example.com" })
      await tick()
      const [refreshed] = await m.service.refreshInviteTokens([invite.id])
      assert.notEqual(refreshed.token, invite.token)
      m.bus.calls.length = 0
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", INVALID_TOKEN)
      const dto = await m.service.validateInviteToken(refreshed.token)
      assertInviteShape(dto)
      assert.deepEqual(dto, refreshed)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a jsonwebtoken-signed token (right secret) for an existing invite that is not its stored token: 'The invite token is invalid'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "forged-ok@example.com" })
      const token = jwt.sign({ id: invite.id, email: invite.email }, SECRET, { expiresIn: 3600 })
      assertMedusaError(await rejection(m.service.validateInviteToken(token)), "invalid_data", INVALID_TOKEN)
    })
  })

  test("expires_at moved into the past with updateInvites: 'The invite has expired'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "late@example.com" })
      const past = new Date(Date.now() - 60_000)
      const updated = await m.service.updateInvites({ id: invite.id, expires_at: past })
      assert.equal(updated.expires_at.getTime(), past.getTime())
      assert.equal(updated.token, invite.token, "updateInvites keeps the token")
      // The JWT itself is still within its exp: the stored expires_at decides.
      jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
      m.bus.calls.length = 0
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", EXPIRED)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("expires_at moved into the past by an independent writer: 'The invite has expired'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "late-sql@example.com" })
      execute(m.file, `update "invite" set expires_at = ${sqlTime(m.file, Date.now() - 1000)} where id = '${invite.id}'`)
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", EXPIRED)
    })
  })

  test("valid_duration -10: the JWT is already expired: 'jwt expired'", async () => {
    await withOptions({ valid_duration: -10 }, async (m) => {
      const invite = await m.service.createInvites({ email: "neg@example.com" })
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", "jwt expired")
    })
  })

  test("a soft-deleted invite (softDeleteInvites): not_found 'Invite with id: <id> was not found'", async () => {
    await withModule(async (m) => {
      const [gone, kept] = await m.service.createInvites([{ email: "gone@example.com" }, { email: "kept@example.com" }])
      assert.deepEqual(await m.service.softDeleteInvites([gone.id]), { invite_id: [gone.id] })
      m.bus.calls.length = 0
      assertMedusaError(await rejection(m.service.validateInviteToken(gone.token)), "not_found", notFound(gone.id))
      assert.deepEqual(await m.service.validateInviteToken(kept.token), kept)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a soft-deleted invite (deleted_at set by an independent writer): not_found", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "gone-sql@example.com" })
      execute(m.file, `update "invite" set deleted_at = ${sqlTime(m.file)} where id = '${invite.id}'`)
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "not_found", notFound(invite.id))
    })
  })

  test("a hard-deleted invite (row removed): not_found", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "removed@example.com" })
      execute(m.file, `delete from "invite" where id = '${invite.id}'`)
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "not_found", notFound(invite.id))
    })
  })

  test("a jsonwebtoken-signed token (right secret) for an id that does not exist: not_found", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "someone@example.com" })
      const id = "invite_01NOSUCHINVITE000000000000"
      const token = jwt.sign({ id, email: "ghost@example.com" }, SECRET, { expiresIn: 3600 })
      assertMedusaError(await rejection(m.service.validateInviteToken(token)), "not_found", notFound(id))
    })
  })

  test("a valid token of another database (same secret): not_found in this one", async () => {
    const a = newModule()
    const b = newModule()
    try {
      const invite = await a.service.createInvites({ email: "elsewhere@example.com" })
      assertMedusaError(await rejection(b.service.validateInviteToken(invite.token)), "not_found", notFound(invite.id))
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe("validateInviteToken: jsonwebtoken failures are MedusaError invalid_data with jsonwebtoken's message", () => {
  for (const [label, token, expected] of [
    ['"abc" (not three parts)', "abc", "jwt malformed"],
    ['"a.b.c" (three parts, undecodable)', "a.b.c", "invalid token"],
    ['"" (empty)', "", "jwt must be provided"],
    ["undefined", undefined, "jwt must be provided"],
    ["null", null, "jwt must be provided"],
  ] as [string, unknown, string][]) {
    test(`${label}: '${expected}'`, async () => {
      await withModule(async (m) => {
        await m.service.createInvites({ email: "present@example.com" })
        m.bus.calls.length = 0
        const promise = m.service.validateInviteToken(token as any)
        assert.ok(promise instanceof Promise, "a rejection, not a synchronous throw")
        assertMedusaError(await rejection(promise), "invalid_data", expected)
        assert.equal(m.bus.calls.length, 0)
      })
    })
  }

  test("a tampered payload (other email, same signature): 'invalid signature'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "honest@example.com" })
      const tampered = withPayload(invite.token, (payload) => (payload.email = "evil@example.com"))
      assert.notEqual(tampered, invite.token)
      assertMedusaError(await rejection(m.service.validateInviteToken(tampered)), "invalid_data", "invalid signature")
    })
  })

  test("a tampered payload (another invite's id): 'invalid signature'", async () => {
    await withModule(async (m) => {
      const [mine, theirs] = await m.service.createInvites([{ email: "mine@example.com" }, { email: "theirs@example.com" }])
      const tampered = withPayload(mine.token, (payload) => (payload.id = theirs.id))
      assertMedusaError(await rejection(m.service.validateInviteToken(tampered)), "invalid_data", "invalid signature")
    })
  })

  test("a tampered signature: 'invalid signature'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "sig@example.com" })
      const tampered = withBadSignature(invite.token)
      assert.notEqual(tampered, invite.token)
      assertMedusaError(await rejection(m.service.validateInviteToken(tampered)), "invalid_data", "invalid signature")
      // the genuine one still validates
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
    })
  })

  test("a token signed by jsonwebtoken with a foreign secret for an existing invite: 'invalid signature'", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "foreign@example.com" })
      const token = jwt.sign({ id: invite.id, email: invite.email }, "some-other-secret-9d1e", { expiresIn: 3600 })
      assertMedusaError(await rejection(m.service.validateInviteToken(token)), "invalid_data", "invalid signature")
    })
  })

  test("a token of a module with another secret: 'invalid signature'", async () => {
    const other = newModule({ jwt_secret: "another-secret-1234" })
    try {
      await withModule(async (m) => {
        const invite = await other.service.createInvites({ email: "other-module@example.com" })
        assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", "invalid signature")
      })
    } finally {
      await other.close()
    }
  })

  test("jwt_options.notBefore 60: a fresh token is 'jwt not active'", async () => {
    await withOptions({ jwt_options: { notBefore: 60 } }, async (m) => {
      const invite = await m.service.createInvites({ email: "nbf@example.com" })
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", "jwt not active")
    })
  })

  test("at exactly its exp second a token is 'jwt expired' (jsonwebtoken: expired once now >= exp); a second before, it validates", async () => {
    await withOptions({ valid_duration: 3600 }, async (m) => {
      const invite = await m.service.createInvites({ email: "exp-edge@example.com" })
      const { iat, exp } = tokenPart(invite.token, 1).json as { iat: number; exp: number }
      assert.equal(exp - iat, 3600)
      // jsonwebtoken draws the line there...
      jwt.verify(invite.token, SECRET, { clockTimestamp: exp - 1 })
      assert.throws(() => jwt.verify(invite.token, SECRET, { clockTimestamp: exp }), { name: "TokenExpiredError", message: "jwt expired" })
      // ...and so does the module, whose clock jwt_verify_options sets (a second module on the same store)
      const at = clockAt(m)
      assert.deepEqual(await at({ clockTimestamp: exp - 1 }, invite.token), invite)
      assertMedusaError(await rejection(at({ clockTimestamp: exp }, invite.token)), "invalid_data", "jwt expired")
      assertMedusaError(await rejection(at({ clockTimestamp: exp + 1 }, invite.token)), "invalid_data", "jwt expired")
      // clockTolerance moves the line by its seconds
      assert.deepEqual(await at({ clockTimestamp: exp + 4, clockTolerance: 5 }, invite.token), invite)
      assertMedusaError(await rejection(at({ clockTimestamp: exp + 5, clockTolerance: 5 }, invite.token)), "invalid_data", "jwt expired")
    })
  })

  test("at exactly its nbf second a token is active (jsonwebtoken: not active while nbf > now); a second before, 'jwt not active'", async () => {
    await withOptions({ jwt_options: { notBefore: 60 } }, async (m) => {
      const invite = await m.service.createInvites({ email: "nbf-edge@example.com" })
      const { iat, nbf } = tokenPart(invite.token, 1).json as { iat: number; nbf: number }
      assert.equal(nbf - iat, 60)
      jwt.verify(invite.token, SECRET, { clockTimestamp: nbf })
      assert.throws(() => jwt.verify(invite.token, SECRET, { clockTimestamp: nbf - 1 }), { name: "NotBeforeError", message: "jwt not active" })
      const at = clockAt(m)
      assert.deepEqual(await at({ clockTimestamp: nbf }, invite.token), invite)
      assertMedusaError(await rejection(at({ clockTimestamp: nbf - 1 }, invite.token)), "invalid_data", "jwt not active")
    })
  })

  test("jwt_options.algorithm HS512 is enforced: an HS256 token (right secret) is 'invalid algorithm'", async () => {
    await withOptions({ jwt_options: { algorithm: "HS512" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "alg@example.com" })
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
      const hs256 = jwt.sign({ id: invite.id, email: invite.email }, SECRET, { algorithm: "HS256", expiresIn: 3600 })
      assertMedusaError(await rejection(m.service.validateInviteToken(hs256)), "invalid_data", "invalid algorithm")
    })
  })

  test("jwt_options.issuer is verified: a jsonwebtoken token without iss is 'jwt issuer invalid. expected: iss1'", async () => {
    await withOptions({ jwt_options: { issuer: "iss1" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "iss@example.com" })
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
      const token = jwt.sign({ id: invite.id, email: invite.email }, SECRET, { expiresIn: 3600 })
      assertMedusaError(await rejection(m.service.validateInviteToken(token)), "invalid_data", "jwt issuer invalid. expected: iss1")
    })
  })
})

describe("validateInviteToken: jwt_public_key and jwt_verify_options", () => {
  const rsa = rsaKeys()
  const otherRsa = rsaKeys()

  test("RS256: jwt_secret a PEM private key, jwt_public_key its public key: validates", async () => {
    await withOptions({ jwt_secret: rsa.privateKey, jwt_public_key: rsa.publicKey, jwt_options: { algorithm: "RS256" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "rs256@example.com", roles: ["admin"] })
      assert.equal(tokenPart(invite.token, 0).json.alg, "RS256")
      const dto = await m.service.validateInviteToken(invite.token)
      assertInviteShape(dto)
      assert.deepEqual(dto, invite)
      // and a tampered RS256 signature is refused
      assertMedusaError(await rejection(m.service.validateInviteToken(withBadSignature(invite.token))), "invalid_data", "invalid signature")
    })
  })

  test("RS256: jwt_public_key is what verifies: a non-matching public key gives 'invalid signature'", async () => {
    await withOptions({ jwt_secret: rsa.privateKey, jwt_public_key: otherRsa.publicKey, jwt_options: { algorithm: "RS256" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "rs-mismatch@example.com" })
      // the token itself is good for the matching key
      jwt.verify(invite.token, rsa.publicKey, { algorithms: ["RS256"] })
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", "invalid signature")
    })
  })

  test("RS256: an HS256 token MACed with the public key (algorithm confusion) is 'invalid algorithm'", async () => {
    await withOptions({ jwt_secret: rsa.privateKey, jwt_public_key: rsa.publicKey, jwt_options: { algorithm: "RS256" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "confusion@example.com" })
      const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")
      const payload = invite.token.split(".")[1]
      const mac = createHmac("sha256", rsa.publicKey).update(`${header}.${payload}`).digest("base64url")
      assertMedusaError(await rejection(m.service.validateInviteToken(`${header}.${payload}.${mac}`)), "invalid_data", "invalid algorithm")
    })
  })

  test("jwt_verify_options { audience: 'admin' } with tokens signed for 'store': 'jwt audience invalid. expected: admin'", async () => {
    await withOptions({ jwt_options: { audience: "store" }, jwt_verify_options: { audience: "admin" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "aud-store@example.com" })
      assert.equal(tokenPart(invite.token, 1).json.aud, "store")
      assertMedusaError(
        await rejection(m.service.validateInviteToken(invite.token)),
        "invalid_data",
        "jwt audience invalid. expected: admin",
      )
      assert.equal(m.bus.calls.length, 1, "only createInvites emitted")
    })
  })

  test("jwt_verify_options { audience: 'store' } with tokens signed for 'store': validates", async () => {
    await withOptions({ jwt_options: { audience: "store" }, jwt_verify_options: { audience: "store" } }, async (m) => {
      const invite = await m.service.createInvites({ email: "aud-match@example.com" })
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
    })
  })

  test("jwt_verify_options replaces jwt_options for verification: { algorithms: ['HS256'] } refuses HS512 tokens", async () => {
    await withOptions({ jwt_options: { algorithm: "HS512" }, jwt_verify_options: { algorithms: ["HS256"] } }, async (m) => {
      const invite = await m.service.createInvites({ email: "replace@example.com" })
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", "invalid algorithm")
    })
  })
})

// =============================================================================================

describe("refreshInviteTokens: what changes", () => {
  test("one invite: new token (new jti, verifies with jsonwebtoken), new expires_at, updated_at moved; the rest kept", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "refresh@example.com", metadata: { k: "v" }, roles: ["admin"] })
      await tick(20)
      const before = Date.now()
      const result = await m.service.refreshInviteTokens([invite.id])
      const after = Date.now()
      assert.ok(Array.isArray(result))
      assert.equal(result.length, 1)
      const [dto] = result
      assertInviteShape(dto)
      // unchanged fields
      assert.equal(dto.id, invite.id)
      assert.equal(dto.email, invite.email)
      assert.equal(dto.accepted, false)
      assert.deepEqual(dto.metadata, { k: "v" })
      assert.deepEqual(dto.roles, ["admin"])
      assert.equal(dto.created_at.getTime(), invite.created_at.getTime())
      assert.equal(dto.deleted_at, null)
      // new token
      assert.notEqual(dto.token, invite.token)
      const payload = jwt.verify(dto.token, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload
      assert.deepEqual(Object.keys(tokenPart(dto.token, 1).json), ["id", "email", "iat", "exp", "jti"])
      assert.equal(payload.id, invite.id)
      assert.equal(payload.email, invite.email)
      assert.match(payload.jti as string, UUID_V4)
      assert.notEqual(payload.jti, tokenPart(invite.token, 1).json.jti, "a new jti")
      assert.ok((payload.iat as number) >= Math.floor(before / 1000) && (payload.iat as number) <= Math.floor(after / 1000))
      assert.equal((payload.exp as number) - (payload.iat as number), 86400)
      // new expires_at: the call's now + 86400 s, as on create
      const expiresNow = dto.expires_at.getTime() - DAY_MS
      assert.ok(expiresNow >= before && expiresNow <= after, `expires_at - 1 day = ${expiresNow} not within [${before}, ${after}]`)
      assert.ok(dto.expires_at.getTime() > invite.expires_at.getTime())
      // updated_at moved to the call's now
      const updated = dto.updated_at.getTime()
      assert.ok(updated >= before && updated <= after, `updated_at ${updated} not within [${before}, ${after}]`)
      assert.ok(updated > invite.updated_at.getTime())
      // stored as returned
      const row = storedRow(m.file, invite.id)
      assert.equal(row.token, dto.token)
      assert.equal(Number(row.expires_at), dto.expires_at.getTime())
      assert.equal(Number(row.updated_at), dto.updated_at.getTime())
      assert.equal(Number(row.created_at), invite.created_at.getTime())
      assert.equal(row.deleted_at, null)
    })
  })

  test("several invites: input order, duplicate ids once, one shared expires_at, distinct new tokens; others untouched", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await m.service.createInvites([{ email: "a@example.com" }, { email: "b@example.com" }, { email: "c@example.com" }])
      await tick()
      m.bus.calls.length = 0
      const result = await m.service.refreshInviteTokens([c.id, a.id, c.id])
      assert.deepEqual(result.map((dto) => dto.id), [c.id, a.id])
      for (const dto of result) assertInviteShape(dto)
      assert.deepEqual(result.map((dto) => dto.email), ["c@example.com", "a@example.com"])
      assert.equal(result[0].expires_at.getTime(), result[1].expires_at.getTime(), "expires_at computed once per call")
      assert.notEqual(result[0].token, c.token)
      assert.notEqual(result[1].token, a.token)
      assert.notEqual(result[0].token, result[1].token)
      for (const dto of result) {
        const payload = jwt.verify(dto.token, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload
        assert.equal(payload.id, dto.id)
      }
      // b untouched
      assert.deepEqual(await m.service.validateInviteToken(b.token), b)
      assert.equal(storedRow(m.file, b.id).token, b.token)
      // events: updated c, updated a, then one token_generated with [c, a]
      assertEmits(m.bus, [refreshMessages([c.id, a.id])])
    })
  })

  test("with jwt_options (issuer, audience) and valid_duration '2h': the new token carries them", async () => {
    await withOptions({ jwt_options: { issuer: "iss1", audience: "aud1" }, valid_duration: "2h" }, async (m) => {
      const invite = await m.service.createInvites({ email: "opts@example.com" })
      const before = Date.now()
      const [dto] = await m.service.refreshInviteTokens([invite.id])
      const after = Date.now()
      const payload = jwt.verify(dto.token, SECRET, { algorithms: ["HS256"], issuer: "iss1", audience: "aud1" }) as jwt.JwtPayload
      assert.equal((payload.exp as number) - (payload.iat as number), 7200)
      // string expiresIn: whole seconds (docs/behaviour.md)
      const expires = dto.expires_at.getTime()
      assert.equal(expires % 1000, 0)
      assert.ok(expires >= (Math.floor(before / 1000) + 7200) * 1000 && expires <= (Math.floor(after / 1000) + 7200) * 1000)
      assert.deepEqual(await m.service.validateInviteToken(dto.token), dto)
    })
  })

  test("an expired invite (expires_at in the past) is valid again after a refresh", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "revive@example.com" })
      await m.service.updateInvites({ id: invite.id, expires_at: new Date(Date.now() - 60_000) })
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", EXPIRED)
      const [dto] = await m.service.refreshInviteTokens([invite.id])
      assert.ok(dto.expires_at.getTime() > Date.now())
      assert.deepEqual(await m.service.validateInviteToken(dto.token), dto)
    })
  })

  test("[] -> [], nothing written, nothing emitted", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "still@example.com" })
      m.bus.calls.length = 0
      const before = storedInvites(m.file)
      assert.deepEqual(await m.service.refreshInviteTokens([]), [])
      assert.deepEqual(storedInvites(m.file), before)
      assert.equal(m.bus.calls.length, 0)
    })
  })
})

describe("refreshInviteTokens: unknown or soft-deleted ids", () => {
  test("unknown ids ['a', 'b']: invalid_data 'The following invites do not exist: a, b'", async () => {
    await withModule(async (m) => {
      await m.service.createInvites({ email: "x@example.com" })
      m.bus.calls.length = 0
      const before = storedInvites(m.file)
      assertMedusaError(await rejection(m.service.refreshInviteTokens(["a", "b"])), "invalid_data", doNotExist(["a", "b"]), { allowIndex: true })
      assert.deepEqual(storedInvites(m.file), before)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a live id among unknown ones: only the missing ids, in input order; nothing changes (the live token still validates)", async () => {
    await withModule(async (m) => {
      const [live, other] = await m.service.createInvites([{ email: "live@example.com" }, { email: "other@example.com" }])
      m.bus.calls.length = 0
      const before = storedInvites(m.file)
      await tick()
      assertMedusaError(
        await rejection(m.service.refreshInviteTokens(["nope2", live.id, "nope1", other.id])),
        "invalid_data",
        doNotExist(["nope2", "nope1"]),
        { allowIndex: true },
      )
      assert.deepEqual(storedInvites(m.file), before, "tokens, expires_at and updated_at unchanged")
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(await m.service.validateInviteToken(live.token), live)
      assert.deepEqual(await m.service.validateInviteToken(other.token), other)
    })
  })

  test("a soft-deleted id counts as missing; the live one beside it is not refreshed", async () => {
    await withModule(async (m) => {
      const [live, gone] = await m.service.createInvites([{ email: "live2@example.com" }, { email: "gone2@example.com" }])
      await m.service.softDeleteInvites([gone.id])
      m.bus.calls.length = 0
      const before = storedInvites(m.file)
      assertMedusaError(await rejection(m.service.refreshInviteTokens([live.id, gone.id])), "invalid_data", doNotExist([gone.id]), {
        allowIndex: true,
      })
      assert.deepEqual(storedInvites(m.file), before)
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(await m.service.validateInviteToken(live.token), live)
    })
  })
})

describe("refreshInviteTokens: events", () => {
  test("one invite: user.invite.updated, then user.user.invite.token_generated with action 'created' and a string id; one emit", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "ev1@example.com" })
      m.bus.calls.length = 0
      await m.service.refreshInviteTokens([invite.id])
      assert.deepEqual(m.bus.names, [UPDATED, TOKEN_GENERATED])
      assertEmits(m.bus, [
        [
          { name: "user.invite.updated", metadata: { source: "user", object: "invite", action: "updated" }, data: { id: invite.id } },
          {
            name: "user.user.invite.token_generated",
            metadata: { source: "user", object: "invite", action: "created" },
            data: { id: invite.id },
          },
        ],
      ])
      assert.equal(typeof (m.bus.calls[0].messages[1].data as { id: unknown }).id, "string")
    })
  })

  test("three invites: updated per invite in input order, then ONE token_generated with the array of ids", async () => {
    await withModule(async (m) => {
      const [a, b, c] = await m.service.createInvites([{ email: "e1@example.com" }, { email: "e2@example.com" }, { email: "e3@example.com" }])
      m.bus.calls.length = 0
      await m.service.refreshInviteTokens([b.id, c.id, a.id])
      assert.deepEqual(m.bus.names, [UPDATED, UPDATED, UPDATED, TOKEN_GENERATED])
      assertEmits(m.bus, [refreshMessages([b.id, c.id, a.id])])
      assert.ok(Array.isArray((m.bus.calls[0].messages[3].data as { id: unknown }).id))
    })
  })

  test("eventGroupId is copied into every message's metadata", async () => {
    await withModule(async (m) => {
      const [a, b] = await m.service.createInvites([{ email: "g1@example.com" }, { email: "g2@example.com" }])
      m.bus.calls.length = 0
      await m.service.refreshInviteTokens([a.id], { eventGroupId: "grp-refresh" })
      await m.service.refreshInviteTokens([a.id, b.id], { eventGroupId: "grp-2" })
      assertEmits(m.bus, [refreshMessages([a.id], "grp-refresh"), refreshMessages([a.id, b.id], "grp-2")])
    })
  })

  test("with a messageAggregator: saved, emitted once with earlier messages first, then cleared", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "agg@example.com" })
      m.bus.calls.length = 0
      const aggregator = new MedusaLikeAggregator()
      const pre = { name: "pre.existing", metadata: { source: "test", object: "thing", action: "pre" }, data: { id: "p1" }, options: undefined }
      aggregator.save(pre)
      await m.service.refreshInviteTokens([invite.id], { messageAggregator: aggregator })
      assert.equal(m.bus.calls.length, 1)
      const [call] = m.bus.calls
      assert.deepEqual(call.options, { internal: true })
      assert.equal(call.messages[0], pre)
      assert.deepEqual(call.messages.slice(1).map(normalize), refreshMessages([invite.id]))
      assert.equal(aggregator.count(), 0)
      assert.equal(aggregator.calls.at(-1), "clearMessages")
    })
  })

  test("under a transaction: no event before commit, one emit after it", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "tx@example.com" })
      m.bus.calls.length = 0
      let refreshed: InviteDTO[] = []
      await m.service.transaction(async (tx) => {
        refreshed = await m.service.refreshInviteTokens([invite.id], { transactionManager: tx, eventGroupId: "g-tx" })
        assert.equal(m.bus.calls.length, 0, "held until commit")
        // inside the transaction the new token is the current one
        assert.deepEqual(await m.service.validateInviteToken(refreshed[0].token, { transactionManager: tx }), refreshed[0])
      })
      assertEmits(m.bus, [refreshMessages([invite.id], "g-tx")])
      assert.equal(storedRow(m.file, invite.id).token, refreshed[0].token)
      assertMedusaError(await rejection(m.service.validateInviteToken(invite.token)), "invalid_data", INVALID_TOKEN)
    })
  })

  test("create and refresh in one transaction: two emits after commit, in call order", async () => {
    await withModule(async (m) => {
      const tx = await m.service.begin()
      const created = await m.service.createInvites([{ email: "t1@example.com" }, { email: "t2@example.com" }], { transactionManager: tx })
      const ids = created.map((dto) => dto.id)
      await m.service.refreshInviteTokens([ids[1]], { transactionManager: tx })
      assert.equal(m.bus.calls.length, 0)
      await tx.commit()
      assert.equal(m.bus.calls.length, 2)
      assert.deepEqual(m.bus.calls[0].messages, expectedMessages(ids))
      assertEmits(m.bus, [expectedMessages(ids).map(normalize), refreshMessages([ids[1]])])
    })
  })

  test("under a transaction rolled back: no event, the stored token unchanged, the old token still validates", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "rb@example.com" })
      m.bus.calls.length = 0
      const before = storedInvites(m.file)
      const tx = await m.service.begin()
      const [refreshed] = await m.service.refreshInviteTokens([invite.id], { transactionManager: tx })
      assert.notEqual(refreshed.token, invite.token)
      await tx.rollback()
      assert.equal(m.bus.calls.length, 0)
      assert.deepEqual(storedInvites(m.file), before)
      assert.deepEqual(await m.service.validateInviteToken(invite.token), invite)
      assertMedusaError(await rejection(m.service.validateInviteToken(refreshed.token)), "invalid_data", INVALID_TOKEN)
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("a failed refresh (unknown id) emits nothing, also with an aggregator (untouched)", async () => {
    await withModule(async (m) => {
      const invite = await m.service.createInvites({ email: "fail@example.com" })
      m.bus.calls.length = 0
      const aggregator = new MedusaLikeAggregator()
      await rejection(m.service.refreshInviteTokens([invite.id, "missing"], { messageAggregator: aggregator }))
      assert.equal(m.bus.calls.length, 0)
      assert.equal(aggregator.count(), 0)
      assert.ok(!aggregator.calls.includes("save"))
    })
  })
})
