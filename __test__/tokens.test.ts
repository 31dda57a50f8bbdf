// Tokens (docs/behaviour.md): JWS compact tokens verified with the real `jsonwebtoken` package,
// the library Medusa itself verifies invite tokens with.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { generateKeyPairSync } from "node:crypto"
import jwt from "jsonwebtoken"
import { newModule, tokenPart, SECRET } from "./helpers"
import type { JwtOptions } from ".."

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** Asserts the JSON text of a token part is compact and its keys are exactly `keys`, in order. */
function assertKeys(text: string, keys: string[]): void {
  const json = JSON.parse(text)
  assert.deepEqual(Object.keys(json), keys)
  assert.equal(text, JSON.stringify(json), "JSON text is not compact JSON.stringify output")
}

function rsaKeys() {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  })
}
function ecKeys(namedCurve: string) {
  return generateKeyPairSync("ec", {
    namedCurve,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  })
}

describe("default token", () => {
  test("is a compact JWS: three base64url parts, no padding", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "compact@example.com" })
    assert.match(invite.token, COMPACT)
    assert.equal(invite.token.split(".").length, 3)
    assert.ok(!invite.token.includes("="))
    // HS256 signature: 32 bytes -> 43 base64url characters.
    assert.equal(invite.token.split(".")[2].length, 43)
    await m.close()
  })

  test('header text is exactly {"alg":"HS256","typ":"JWT"}', async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "header@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JWT"}')
    assert.equal(invite.token.split(".")[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
    await m.close()
  })

  test("payload keys are exactly id, email, iat, exp, jti with no spaces; values match the invite", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "payload@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assert.deepEqual(Object.keys(json), ["id", "email", "iat", "exp", "jti"])
    assert.ok(!text.includes(" "), `payload has spaces: ${text}`)
    assert.equal(json.id, invite.id)
    assert.equal(json.email, "payload@example.com")
    const iat = Math.floor(invite.created_at.getTime() / 1000)
    assert.equal(json.iat, iat)
    assert.equal(json.exp, iat + 86400)
    assert.equal(typeof json.jti, "string")
    assert.match(json.jti as string, UUID_V4)
    // The whole text, byte for byte, as jsonwebtoken would write it.
    assert.equal(
      text,
      `{"id":"${invite.id}","email":"payload@example.com","iat":${iat},"exp":${iat + 86400},"jti":"${json.jti}"}`,
    )
    await m.close()
  })

  test("verifies with jsonwebtoken (HS256) and the decoded payload is the invite's", async () => {
    const m = newModule()
    const invite = await m.service.createInvites({ email: "verify@example.com" })
    const decoded = jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], complete: true })
    assert.deepEqual(decoded.header, { alg: "HS256", typ: "JWT" })
    const payload = decoded.payload as jwt.JwtPayload
    assert.equal(payload.id, invite.id)
    assert.equal(payload.email, "verify@example.com")
    assert.equal(payload.iat, Math.floor(invite.created_at.getTime() / 1000))
    await m.close()
  })

  test("jti is a UUID v4 and differs per token, in a batch and across calls", async () => {
    const m = newModule()
    const invites = await m.service.createInvites(
      Array.from({ length: 50 }, (_, i) => ({ email: `jti${i}@example.com` })),
    )
    const more = await m.service.createInvites({ email: "jti-more@example.com" })
    const jtis = [...invites, more].map((invite) => tokenPart(invite.token, 1).json.jti as string)
    for (const jti of jtis) assert.match(jti, UUID_V4)
    assert.equal(new Set(jtis).size, 51)
    await m.close()
  })

  test("each token of a batch carries its own invite's id and email", async () => {
    const m = newModule()
    const invites = await m.service.createInvites([
      { email: "b0@example.com" },
      { email: "b1@example.com", id: "caller-id" },
      { email: "b2@example.com" },
    ])
    for (const invite of invites) {
      const payload = jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload
      assert.equal(payload.id, invite.id)
      assert.equal(payload.email, invite.email)
    }
    assert.equal(new Set(invites.map((invite) => invite.token)).size, 3)
    await m.close()
  })

  test("a non-ASCII email is encoded as JSON.stringify would (UTF-8, no escapes)", async () => {
    const m = newModule()
    const email = "zoë.o'neil+tag@exämple.com"
    const invite = await m.service.createInvites({ email })
    const { text, json } = tokenPart(invite.token, 1)
    assert.equal(json.email, email)
    assert.equal(text, JSON.stringify(json))
    const payload = jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload
    assert.equal(payload.email, email)
    await m.close()
  })

  test("a token signed with a different secret fails jwt.verify with 'invalid signature'", async () => {
    const m = newModule({ jwt_secret: "another-secret-1234" })
    const invite = await m.service.createInvites({ email: "other-secret@example.com" })
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }),
      (error: unknown) => {
        assert.ok(error instanceof jwt.JsonWebTokenError)
        assert.equal(error.message, "invalid signature")
        return true
      },
    )
    // ... and it does verify with its own secret.
    const payload = jwt.verify(invite.token, "another-secret-1234", { algorithms: ["HS256"] }) as jwt.JwtPayload
    assert.equal(payload.id, invite.id)
    await m.close()
  })

  test("the secret is used as UTF-8 bytes", async () => {
    const secret = "sécret-ключ-🔑"
    const m = newModule({ jwt_secret: secret })
    const invite = await m.service.createInvites({ email: "utf8-secret@example.com" })
    const payload = jwt.verify(invite.token, Buffer.from(secret, "utf8"), { algorithms: ["HS256"] }) as jwt.JwtPayload
    assert.equal(payload.id, invite.id)
    assert.equal(
      (jwt.verify(invite.token, secret, { algorithms: ["HS256"] }) as jwt.JwtPayload).email,
      "utf8-secret@example.com",
    )
    await m.close()
  })
})

describe("HMAC algorithms", () => {
  const signatureLength = { HS256: 43, HS384: 64, HS512: 86 } as const
  for (const alg of ["HS256", "HS384", "HS512"] as const) {
    test(`${alg} verifies with jsonwebtoken`, async () => {
      const m = newModule({ jwt_options: { algorithm: alg } })
      const invite = await m.service.createInvites({ email: `${alg.toLowerCase()}@example.com` })
      assert.equal(tokenPart(invite.token, 0).text, `{"alg":"${alg}","typ":"JWT"}`)
      assert.equal(invite.token.split(".")[2].length, signatureLength[alg])
      const payload = jwt.verify(invite.token, SECRET, { algorithms: [alg] }) as jwt.JwtPayload
      assert.equal(payload.id, invite.id)
      assert.equal(payload.email, invite.email)
      // The other HMAC algorithms do not accept it.
      const others = (["HS256", "HS384", "HS512"] as const).filter((other) => other !== alg)
      assert.throws(() => jwt.verify(invite.token, SECRET, { algorithms: [...others] }), /invalid algorithm/)
      await m.close()
    })
  }
})

describe("asymmetric algorithms (PEM private key as jwt_secret)", () => {
  const rsa = rsaKeys()
  const p256 = ecKeys("prime256v1")
  const p384 = ecKeys("secp384r1")
  const cases = [
    { alg: "RS256", keys: rsa, sigLength: 342 },
    { alg: "RS384", keys: rsa, sigLength: 342 },
    { alg: "RS512", keys: rsa, sigLength: 342 },
    { alg: "PS256", keys: rsa, sigLength: 342 },
    { alg: "PS384", keys: rsa, sigLength: 342 },
    { alg: "PS512", keys: rsa, sigLength: 342 },
    // JOSE ECDSA signatures are r || s: 64 bytes (P-256) -> 86, 96 bytes (P-384) -> 128 characters.
    { alg: "ES256", keys: p256, sigLength: 86 },
    { alg: "ES384", keys: p384, sigLength: 128 },
  ] as const
  for (const { alg, keys, sigLength } of cases) {
    test(`${alg} verifies with jsonwebtoken using the public key`, async () => {
      const m = newModule({
        jwt_secret: keys.privateKey,
        jwt_public_key: keys.publicKey,
        jwt_options: { algorithm: alg },
      })
      const invites = await m.service.createInvites([
        { email: `${alg.toLowerCase()}-a@example.com` },
        { email: `${alg.toLowerCase()}-b@example.com` },
      ])
      for (const invite of invites) {
        assert.match(invite.token, COMPACT)
        assert.equal(tokenPart(invite.token, 0).text, `{"alg":"${alg}","typ":"JWT"}`)
        assert.deepEqual(Object.keys(tokenPart(invite.token, 1).json), ["id", "email", "iat", "exp", "jti"])
        assert.equal(invite.token.split(".")[2].length, sigLength)
        const payload = jwt.verify(invite.token, keys.publicKey, { algorithms: [alg] }) as jwt.JwtPayload
        assert.equal(payload.id, invite.id)
        assert.equal(payload.email, invite.email)
        assert.equal((payload.exp as number) - (payload.iat as number), 86400)
      }
      await m.close()
    })
  }

  test("an RS256 token does not verify with another RSA public key", async () => {
    const other = rsaKeys()
    const m = newModule({ jwt_secret: rsa.privateKey, jwt_options: { algorithm: "RS256" } })
    const invite = await m.service.createInvites({ email: "rs-other@example.com" })
    assert.throws(() => jwt.verify(invite.token, other.publicKey, { algorithms: ["RS256"] }), /invalid signature/)
    await m.close()
  })
})

describe("jwt_options that shape the token", () => {
  test("issuer -> iss, verified with the issuer option", async () => {
    const m = newModule({ jwt_options: { issuer: "iss1" } })
    const invite = await m.service.createInvites({ email: "iss@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "exp", "iss", "jti"])
    assert.equal(json.iss, "iss1")
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], issuer: "iss1" })
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], issuer: "other" }),
      /jwt issuer invalid\. expected: other/,
    )
    await m.close()
  })

  test("audience string -> aud string, verified with the audience option", async () => {
    const m = newModule({ jwt_options: { audience: "aud1" } })
    const invite = await m.service.createInvites({ email: "aud@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "exp", "aud", "jti"])
    assert.equal(json.aud, "aud1")
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], audience: "aud1" })
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], audience: "other" }),
      /jwt audience invalid\. expected: other/,
    )
    await m.close()
  })

  test("audience array -> aud array (kept as an array)", async () => {
    const m = newModule({ jwt_options: { audience: ["aud1", "aud2"] } })
    const invite = await m.service.createInvites({ email: "aud-array@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "exp", "aud", "jti"])
    assert.deepEqual(json.aud, ["aud1", "aud2"])
    assert.ok(text.includes('"aud":["aud1","aud2"]'), text)
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], audience: "aud2" })
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], audience: "aud1" })
    assert.throws(() => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], audience: "aud3" }), /jwt audience invalid/)
    await m.close()
  })

  test("subject -> sub, verified with the subject option", async () => {
    const m = newModule({ jwt_options: { subject: "sub1" } })
    const invite = await m.service.createInvites({ email: "sub@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "exp", "sub", "jti"])
    assert.equal(json.sub, "sub1")
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], subject: "sub1" })
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], subject: "other" }),
      /jwt subject invalid\. expected: other/,
    )
    await m.close()
  })

  test("keyid -> header kid after alg and typ", async () => {
    const m = newModule({ jwt_options: { keyid: "kid1" } })
    const invite = await m.service.createInvites({ email: "kid@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JWT","kid":"kid1"}')
    const decoded = jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], complete: true })
    assert.equal(decoded.header.kid, "kid1")
    // keyid goes into the header only, never into the payload.
    assert.deepEqual(Object.keys(tokenPart(invite.token, 1).json), ["id", "email", "iat", "exp", "jti"])
    await m.close()
  })

  test("header fields are appended: {x: 1}", async () => {
    const m = newModule({ jwt_options: { header: { x: 1 } } })
    const invite = await m.service.createInvites({ email: "header-x@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JWT","x":1}')
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
    await m.close()
  })

  test("header fields override typ in place: {typ: 'JOSE'}", async () => {
    const m = newModule({ jwt_options: { header: { typ: "JOSE" } } })
    const invite = await m.service.createInvites({ email: "header-typ@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JOSE"}')
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
    await m.close()
  })

  test("header with keyid: {alg, typ overridden, kid, x}", async () => {
    const m = newModule({ jwt_options: { keyid: "kid1", header: { x: 1, typ: "JOSE" } } })
    const invite = await m.service.createInvites({ email: "header-kid@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JOSE","kid":"kid1","x":1}')
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
    await m.close()
  })

  test("notBefore number -> nbf = iat + n, between iat and exp", async () => {
    const m = newModule({ jwt_options: { notBefore: 5 } })
    const invite = await m.service.createInvites({ email: "nbf-number@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "nbf", "exp", "jti"])
    const iat = Math.floor(invite.created_at.getTime() / 1000)
    assert.equal(json.iat, iat)
    assert.equal(json.nbf, iat + 5)
    assert.equal(json.exp, iat + 86400)
    // Not active yet at iat, active from nbf on.
    assert.throws(
      () => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], clockTimestamp: iat }),
      (error: unknown) => error instanceof jwt.NotBeforeError && error.message === "jwt not active",
    )
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], clockTimestamp: iat + 5 })
    await m.close()
  })

  test('notBefore string "1h" -> nbf = iat + 3600', async () => {
    const m = newModule({ jwt_options: { notBefore: "1h" } })
    const invite = await m.service.createInvites({ email: "nbf-string@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "nbf", "exp", "jti"])
    const iat = Math.floor(invite.created_at.getTime() / 1000)
    assert.equal(json.nbf, iat + 3600)
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], clockTimestamp: iat + 3600 })
    assert.throws(() => jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }), /jwt not active/)
    await m.close()
  })

  test("notBefore 0 -> nbf = iat (verifies now)", async () => {
    const m = newModule({ jwt_options: { notBefore: 0 } })
    const invite = await m.service.createInvites({ email: "nbf-zero@example.com" })
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "iat", "nbf", "exp", "jti"])
    assert.equal(json.nbf, json.iat)
    jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] })
    await m.close()
  })

  test("jwtid -> every token of the batch (and of later calls) carries that jti", async () => {
    const m = newModule({ jwt_options: { jwtid: "fixed-jti" } })
    const invites = await m.service.createInvites([
      { email: "jwtid0@example.com" },
      { email: "jwtid1@example.com" },
      { email: "jwtid2@example.com" },
    ])
    const later = await m.service.createInvites({ email: "jwtid3@example.com" })
    for (const invite of [...invites, later]) {
      const { text, json } = tokenPart(invite.token, 1)
      assertKeys(text, ["id", "email", "iat", "exp", "jti"])
      assert.equal(json.jti, "fixed-jti")
      jwt.verify(invite.token, SECRET, { algorithms: ["HS256"], jwtid: "fixed-jti" })
    }
    // Same jti but different payloads: the tokens still differ.
    assert.equal(new Set([...invites, later].map((invite) => invite.token)).size, 4)
    await m.close()
  })

  test("noTimestamp -> no iat; exp is still now + 86400 s", async () => {
    const m = newModule({ jwt_options: { noTimestamp: true } })
    const before = Math.floor(Date.now() / 1000)
    const invite = await m.service.createInvites({ email: "notimestamp@example.com" })
    const after = Math.floor(Date.now() / 1000)
    const { text, json } = tokenPart(invite.token, 1)
    assertKeys(text, ["id", "email", "exp", "jti"])
    assert.equal(json.iat, undefined)
    assert.equal(json.exp, Math.floor(invite.created_at.getTime() / 1000) + 86400)
    assert.ok((json.exp as number) >= before + 86400 && (json.exp as number) <= after + 86400)
    const payload = jwt.verify(invite.token, SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload
    assert.equal(payload.id, invite.id)
    await m.close()
  })

  test("noTimestamp: false keeps iat", async () => {
    const m = newModule({ jwt_options: { noTimestamp: false } })
    const invite = await m.service.createInvites({ email: "timestamp@example.com" })
    assertKeys(tokenPart(invite.token, 1).text, ["id", "email", "iat", "exp", "jti"])
    await m.close()
  })

  test("all options set: payload id, email, iat, nbf, exp, aud, iss, sub, jti; verifies with matching options", async () => {
    const options: JwtOptions = {
      algorithm: "HS384",
      expiresIn: "2h",
      notBefore: 5,
      audience: ["aud1", "aud2"],
      issuer: "iss1",
      subject: "sub1",
      jwtid: "fixed-jti",
      keyid: "kid1",
      header: { x: 1 },
    }
    const m = newModule({ jwt_options: options })
    const invite = await m.service.createInvites({ email: "all-options@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS384","typ":"JWT","kid":"kid1","x":1}')
    const { text, json } = tokenPart(invite.token, 1)
    const iat = Math.floor(invite.created_at.getTime() / 1000)
    assert.equal(
      text,
      `{"id":"${invite.id}","email":"all-options@example.com","iat":${iat},"nbf":${iat + 5},"exp":${iat + 7200},` +
        `"aud":["aud1","aud2"],"iss":"iss1","sub":"sub1","jti":"fixed-jti"}`,
    )
    assert.deepEqual(Object.keys(json), ["id", "email", "iat", "nbf", "exp", "aud", "iss", "sub", "jti"])
    const decoded = jwt.verify(invite.token, SECRET, {
      algorithms: ["HS384"],
      audience: "aud1",
      issuer: "iss1",
      subject: "sub1",
      jwtid: "fixed-jti",
      clockTimestamp: iat + 5,
      complete: true,
    })
    assert.deepEqual(decoded.header, { alg: "HS384", typ: "JWT", kid: "kid1", x: 1 })
    await m.close()
  })

  test("all options with noTimestamp: header {alg, typ: JOSE, kid, x}, payload id, email, nbf, exp, aud, iss, sub, jti", async () => {
    const m = newModule({
      jwt_options: {
        audience: "aud1",
        issuer: "iss1",
        subject: "sub1",
        keyid: "kid1",
        header: { x: 1, typ: "JOSE" },
        notBefore: 5,
        jwtid: "fixed-jti",
        noTimestamp: true,
      },
    })
    const invite = await m.service.createInvites({ email: "all-notimestamp@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"HS256","typ":"JOSE","kid":"kid1","x":1}')
    const { text } = tokenPart(invite.token, 1)
    const now = Math.floor(invite.created_at.getTime() / 1000)
    assert.equal(
      text,
      `{"id":"${invite.id}","email":"all-notimestamp@example.com","nbf":${now + 5},"exp":${now + 86400},` +
        `"aud":"aud1","iss":"iss1","sub":"sub1","jti":"fixed-jti"}`,
    )
    jwt.verify(invite.token, SECRET, {
      algorithms: ["HS256"],
      audience: "aud1",
      issuer: "iss1",
      subject: "sub1",
      clockTimestamp: now + 5,
    })
    await m.close()
  })

  test("all options with an RS256 key verify with the public key", async () => {
    const keys = rsaKeys()
    const m = newModule({
      jwt_secret: keys.privateKey,
      jwt_public_key: keys.publicKey,
      jwt_options: { algorithm: "RS256", audience: "aud1", issuer: "iss1", subject: "sub1", keyid: "rsa-1" },
    })
    const invite = await m.service.createInvites({ email: "rs-options@example.com" })
    assert.equal(tokenPart(invite.token, 0).text, '{"alg":"RS256","typ":"JWT","kid":"rsa-1"}')
    assertKeys(tokenPart(invite.token, 1).text, ["id", "email", "iat", "exp", "aud", "iss", "sub", "jti"])
    jwt.verify(invite.token, keys.publicKey, { algorithms: ["RS256"], audience: "aud1", issuer: "iss1", subject: "sub1" })
    await m.close()
  })
})
