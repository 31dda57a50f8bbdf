// The CLI's lifecycle commands for admins: list (by status and email), resend (new tokens and
// links), revoke (soft delete), validate (a token as the Medusa app checks it).
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import jwt from "jsonwebtoken"
import { UserModuleService } from ".."
import { rows } from "./helpers"
import { CLI_SECRET, cliEnv, cliPlace, ndjson, runCli } from "./cli-helpers"

/** A store holding a pending, an expired and an accepted invite (and a revoked one). */
async function seededStore() {
  const place = cliPlace()
  const env = cliEnv({ JWT_SECRET: CLI_SECRET, MEDUSA_INVITES_DATABASE_URL: place.url })
  const service = new UserModuleService({ jwt_secret: CLI_SECRET, database: place.url })
  const expiring = new UserModuleService({ jwt_secret: CLI_SECRET, database: place.url, valid_duration: -60 })
  const pending = await service.createInvites({ email: "pending@example.com", roles: ["admin"] })
  const expired = await expiring.createInvites({ email: "expired@example.com" })
  const accepted = await service.createInvites({ email: "accepted@example.com" })
  await service.acceptInvite(accepted.token, { first_name: "Ada" })
  const revoked = await service.createInvites({ email: "revoked@example.com" })
  await service.softDeleteInvites([revoked.id])
  await expiring.close()
  await service.close()
  return { ...place, env, pending, expired, accepted, revoked }
}

describe("list", () => {
  test("every live invite by default, with its status; --pending, --expired, --accepted select", async () => {
    const store = await seededStore()
    const emailsAndStatus = async (...flags: string[]) => {
      const run = await runCli(["list", ...flags], { env: store.env })
      assert.equal(run.code, 0, run.stderr)
      return ndjson(run.stdout).map((invite) => [invite.email, invite.status])
    }
    assert.deepEqual(await emailsAndStatus(), [
      ["pending@example.com", "pending"],
      ["expired@example.com", "expired"],
    ])
    assert.deepEqual(await emailsAndStatus("--pending"), [["pending@example.com", "pending"]])
    assert.deepEqual(await emailsAndStatus("--expired"), [["expired@example.com", "expired"]])
    assert.deepEqual(await emailsAndStatus("--accepted"), [["accepted@example.com", "accepted"]])
    assert.deepEqual(await emailsAndStatus("--pending", "--accepted"), [
      ["pending@example.com", "pending"],
      ["accepted@example.com", "accepted"],
    ])
    assert.deepEqual(await emailsAndStatus("--email", "expired@example.com", "--email", "nobody@example.com"), [["expired@example.com", "expired"]])
    assert.deepEqual(await emailsAndStatus("--limit", "1"), [["pending@example.com", "pending"]])
  })

  test("the fields, the links, and csv output; no secret needed", async () => {
    const store = await seededStore()
    const env = cliEnv({ MEDUSA_INVITES_DATABASE_URL: store.url })
    const run = await runCli(["list", "--pending", "--invite-url", "https://admin.example.com/invite?token={token}"], { env })
    assert.equal(run.code, 0, run.stderr)
    const [invite] = ndjson(run.stdout)
    assert.deepEqual(Object.keys(invite), ["id", "email", "status", "expires_at", "created_at", "roles", "metadata", "token", "url"])
    assert.equal(invite.id, store.pending.id)
    assert.equal(invite.token, store.pending.token)
    assert.deepEqual(invite.roles, ["admin"])
    assert.equal(invite.url, `https://admin.example.com/invite?token=${store.pending.token}`)
    const csv = await runCli(["list", "--expired", "--format", "csv"], { env })
    const [header, line] = csv.stdout.trim().split("\n")
    assert.equal(header, "id,email,status,expires_at,created_at,roles,metadata,token")
    assert.equal(line.split(",").slice(0, 3).join(","), `${store.expired.id},expired@example.com,expired`)
  })

  test("pages through more invites than one page holds", async () => {
    const place = cliPlace()
    const service = new UserModuleService({ jwt_secret: CLI_SECRET, database: place.url })
    await service.createInvites(Array.from({ length: 2500 }, (_, i) => ({ email: `p${i}@example.com` })))
    await service.close()
    const run = await runCli(["list"], { env: cliEnv({ MEDUSA_INVITES_DATABASE_URL: place.url }) })
    const listed = ndjson(run.stdout)
    assert.equal(listed.length, 2500)
    assert.equal(new Set(listed.map((invite) => invite.id)).size, 2500)
  })
})

describe("resend", () => {
  test("new tokens and links by email or id; the old token stops working; unknown targets fail (exit 1)", async () => {
    const store = await seededStore()
    const run = await runCli(
      ["resend", "pending@example.com", store.expired.id, "nobody@example.com", "revoked@example.com", "--invite-url", "https://a.example/i?t={token}"],
      { env: store.env },
    )
    assert.equal(run.code, 1, run.stderr)
    const results = ndjson(run.stdout)
    assert.deepEqual(results.map((r) => [r.target, r.status, r.reason]), [
      ["pending@example.com", "resent", null],
      [store.expired.id, "resent", null],
      ["nobody@example.com", "failed", "no live invite for nobody@example.com"],
      ["revoked@example.com", "failed", "no live invite for revoked@example.com"],
    ])
    assert.equal(results[0].id, store.pending.id)
    assert.notEqual(results[0].token, store.pending.token)
    assert.equal((jwt.verify(results[0].token, CLI_SECRET) as jwt.JwtPayload).id, store.pending.id)
    assert.equal(results[0].url, `https://a.example/i?t=${results[0].token}`)
    assert.ok(new Date(results[1].expires_at).getTime() > Date.now(), "the expired invite is live again")

    const old = await runCli(["validate", store.pending.token], { env: store.env })
    assert.equal(old.code, 1)
    assert.deepEqual(ndjson(old.stdout), [{ status: "invalid", reason: "The invite token is invalid", id: null, email: null, expires_at: null }])
    const fresh = await runCli(["validate", results[0].token], { env: store.env })
    assert.equal(fresh.code, 0)
    assert.deepEqual(ndjson(fresh.stdout).map((r) => [r.status, r.id, r.email]), [["valid", store.pending.id, "pending@example.com"]])
  })
})

describe("revoke", () => {
  test("soft-deletes by email or id: the link stops working, the email can be invited again", async () => {
    const store = await seededStore()
    const run = await runCli(["revoke", "pending@example.com", store.expired.id, "nobody@example.com"], { env: cliEnv({ MEDUSA_INVITES_DATABASE_URL: store.url }) })
    assert.equal(run.code, 1, run.stderr)
    assert.deepEqual(ndjson(run.stdout).map((r) => [r.target, r.status, r.id]), [
      ["pending@example.com", "revoked", store.pending.id],
      [store.expired.id, "revoked", store.expired.id],
      ["nobody@example.com", "failed", null],
    ])
    const stored = rows<{ id: string; deleted: number }>(store.file, `select id, deleted_at is not null as deleted from invite where id in ('${store.pending.id}', '${store.expired.id}')`)
    assert.deepEqual(stored.map((row) => row.deleted), [1, 1])
    const validate = await runCli(["validate", store.pending.token], { env: store.env })
    assert.equal(validate.code, 1)
    assert.equal(ndjson(validate.stdout)[0].status, "invalid")
    const again = await runCli(["invite", "pending@example.com"], { env: store.env })
    assert.equal(again.code, 0, again.stderr)
    const all = await runCli(["revoke", "pending@example.com"], { env: store.env })
    assert.equal(all.code, 0)
  })
})

describe("validate", () => {
  test("a valid token exits 0; a malformed, foreign or expired one exits 1 with the reason", async () => {
    const store = await seededStore()
    const ok = await runCli(["validate", store.pending.token, "--format", "json"], { env: store.env })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(JSON.parse(ok.stdout)[0].email, "pending@example.com")
    const reasons: [string, string][] = [
      ["not-a-token", "jwt malformed"],
      [jwt.sign({ id: store.pending.id }, "another-secret"), "invalid signature"],
      [store.expired.token, "jwt expired"],
    ]
    for (const [token, reason] of reasons) {
      const run = await runCli(["validate", token], { env: store.env })
      assert.equal(run.code, 1, run.stderr)
      assert.equal(ndjson(run.stdout)[0].reason, reason)
    }
    const usage = await runCli(["validate"], { env: store.env })
    assert.equal(usage.code, 2)
  })
})
