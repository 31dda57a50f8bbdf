// medusa-invites inside a real Medusa 2.21.2 application (`npm run test:medusa-app`):
// medusa-config.ts registers `{ resolve: "medusa-invites/medusa", options: { jwt_secret } }`
// as the user module; `medusa db:migrate` creates the tables; the app boots as `medusa start`
// boots it. Then Medusa's own workflows, a subscriber, query.graph and the HTTP admin API run
// against it, and after shutdown no connection of ours is left.
import { after, before, describe, test } from "node:test"
import assert from "node:assert/strict"
import { createRequire } from "node:module"
import { bootApp, call, createDatabase, dropDatabase, migrate, ourConnections, psql, signIn, signInAdmin } from "./app.mjs"

const require = createRequire(import.meta.url)
const { Modules, ContainerRegistrationKeys } = require("@medusajs/framework/utils")
const {
  acceptInviteWorkflow,
  createInvitesWorkflow,
  deleteInvitesWorkflow,
  refreshInviteTokensWorkflow,
  removeUserAccountWorkflow,
  updateUsersWorkflow,
} = require("@medusajs/core-flows")

const database = createDatabase()
let app
const sql = (text) => psql(database.name, text)
const row = (text) => sql(text).split("|")

before(async () => {
  await migrate(database.url)
  app = await bootApp(database.url)
})

after(async () => {
  try {
    if (app) await app.stop()
  } finally {
    dropDatabase(database.name)
  }
})

/** Polls until `check()` is truthy (event delivery is asynchronous on Medusa's local bus). */
async function eventually(check, what) {
  for (let i = 0; i < 100; i++) {
    const value = check()
    if (value) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.fail(`timed out waiting for ${what}`)
}

const received = () => globalThis.__inviteCreatedEvents ?? []

test("medusa db:migrate created Medusa's user tables and this module's own", () => {
  const tables = sql(`select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public' and (tablename in ('invite', 'user') or tablename like 'medusa_invites%')`)
  assert.equal(tables, "invite,medusa_invites_idempotency,medusa_invites_outbox,medusa_invites_roles,medusa_invites_user_roles,user")
  const indexes = sql(`select string_agg(indexname, ',' order by indexname) from pg_indexes where tablename in ('invite', 'user')`)
  assert.equal(indexes, "IDX_invite_deleted_at,IDX_invite_email_unique,IDX_invite_token,IDX_user_deleted_at,IDX_user_email_unique,invite_pkey,user_pkey")
})

test("the app's user module is medusa-invites, and Medusa knows its joiner config", () => {
  const service = app.container.resolve(Modules.USER)
  assert.equal(service.constructor.name, "MedusaUserModuleService")
  const { MedusaModule } = require("@medusajs/framework/modules-sdk")
  const config = MedusaModule.getAllJoinerConfigs().find((joiner) => joiner.serviceName === "user")
  assert.deepEqual(config.linkableKeys, { user_id: "User", invite_id: "Invite" })
  assert.deepEqual(config.alias.map((alias) => alias.name), [["user", "users"], ["invite", "invites"]])
})

describe("Medusa's workflows from @medusajs/core-flows", () => {
  let inviteId
  let userId
  let authIdentityId

  test("createInvitesWorkflow writes the invite row and the subscriber receives user.invite.created", async () => {
    const { result } = await createInvitesWorkflow(app.container).run({ input: { invites: [{ email: "wf@example.com", metadata: { from: "workflow" } }] } })
    assert.equal(result.length, 1)
    inviteId = result[0].id
    assert.match(inviteId, /^invite_[0-9A-Z]{26}$/)
    assert.deepEqual(row(`select email, accepted, token = '${result[0].token}', metadata->>'from', deleted_at is null from invite where id = '${inviteId}'`), ["wf@example.com", "f", "t", "workflow", "t"])
    const event = await eventually(() => received().find((event) => event.data.id === inviteId), "user.invite.created")
    assert.deepEqual(event, { name: "user.invite.created", data: { id: inviteId } })
  })

  test("refreshInviteTokensWorkflow stores a new token", async () => {
    const before = sql(`select token from invite where id = '${inviteId}'`)
    const { result } = await refreshInviteTokensWorkflow(app.container).run({ input: { invite_ids: [inviteId] } })
    assert.equal(result[0].id, inviteId)
    assert.notEqual(result[0].token, before)
    assert.equal(sql(`select token from invite where id = '${inviteId}'`), result[0].token)
  })

  test("acceptInviteWorkflow with an emailpass auth identity creates the user and soft-deletes the invite", async () => {
    const [invite] = (await createInvitesWorkflow(app.container).run({ input: { invites: [{ email: "accept@example.com" }] } })).result
    const auth = app.container.resolve(Modules.AUTH)
    const { authIdentity } = await auth.register("emailpass", { body: { email: "accept@example.com", password: "accept-pass-1" } })
    authIdentityId = authIdentity.id
    const { result } = await acceptInviteWorkflow(app.container).run({
      input: { invite_token: invite.token, auth_identity_id: authIdentityId, user: { first_name: "Ada", last_name: "Lovelace" } },
    })
    userId = result[0].id
    assert.match(userId, /^user_[0-9A-Z]{26}$/)
    assert.deepEqual(row(`select email, first_name, last_name, deleted_at is null from "user" where id = '${userId}'`), ["accept@example.com", "Ada", "Lovelace", "t"])
    assert.equal(sql(`select deleted_at is not null from invite where id = '${invite.id}'`), "t")
    const identity = await auth.retrieveAuthIdentity(authIdentityId)
    assert.equal(identity.app_metadata.user_id, userId)
  })

  test("updateUsersWorkflow updates the user row", async () => {
    const { result } = await updateUsersWorkflow(app.container).run({ input: { updates: [{ id: userId, first_name: "Augusta", metadata: { team: "math" } }] } })
    assert.equal(result[0].first_name, "Augusta")
    assert.deepEqual(row(`select first_name, metadata->>'team' from "user" where id = '${userId}'`), ["Augusta", "math"])
  })

  test("removeUserAccountWorkflow soft-deletes the user and removes its auth identity", async () => {
    await removeUserAccountWorkflow(app.container).run({ input: { userId } })
    assert.equal(sql(`select deleted_at is not null from "user" where id = '${userId}'`), "t")
    await assert.rejects(app.container.resolve(Modules.AUTH).retrieveAuthIdentity(authIdentityId), {
      message: `AuthIdentity with id: ${authIdentityId} was not found`,
    })
  })

  test("deleteInvitesWorkflow soft-deletes the invite", async () => {
    await deleteInvitesWorkflow(app.container).run({ input: { ids: [inviteId] } })
    assert.equal(sql(`select deleted_at is not null from invite where id = '${inviteId}'`), "t")
  })
})

describe("query.graph", () => {
  test("invites: fields, filters and pagination, with the count", async () => {
    await createInvitesWorkflow(app.container).run({
      input: { invites: ["q1@graph.example", "q2@graph.example", "q3@graph.example"].map((email) => ({ email })) },
    })
    const query = app.container.resolve(ContainerRegistrationKeys.QUERY)
    const { data, metadata } = await query.graph({
      entity: "invite",
      fields: ["id", "email", "accepted"],
      filters: { email: ["q1@graph.example", "q2@graph.example", "q3@graph.example"] },
      pagination: { skip: 1, take: 1, order: { email: "DESC" } },
    })
    assert.equal(data.length, 1)
    assert.deepEqual({ email: data[0].email, accepted: data[0].accepted }, { email: "q2@graph.example", accepted: false })
    assert.deepEqual(Object.keys(data[0]).sort(), ["accepted", "email", "id"])
    assert.deepEqual({ count: metadata.count, skip: metadata.skip, take: metadata.take }, { count: 3, skip: 1, take: 1 })
  })

  test("users: fields, filters and pagination; soft-deleted users are left out", async () => {
    await app.container.resolve(Modules.USER).createUsers([
      { email: "g1@graph.example", first_name: "G1" },
      { email: "g2@graph.example", first_name: "G2" },
    ])
    const query = app.container.resolve(ContainerRegistrationKeys.QUERY)
    const { data, metadata } = await query.graph({
      entity: "user",
      fields: ["id", "email", "first_name"],
      filters: { email: ["g1@graph.example", "g2@graph.example", "accept@example.com"] },
      pagination: { skip: 0, take: 1, order: { email: "ASC" } },
    })
    assert.deepEqual(data.map((user) => [user.email, user.first_name]), [["g1@graph.example", "G1"]])
    assert.deepEqual(Object.keys(data[0]).sort(), ["email", "first_name", "id"])
    // accept@example.com was soft-deleted by removeUserAccountWorkflow.
    assert.equal(metadata.count, 2)
  })
})

test("defineLink with the user (src/links/user-store.ts): a link row, and query.graph follows it", async () => {
  const [user] = await app.container.resolve(Modules.USER).createUsers([{ email: "linked@example.com" }])
  const [store] = await app.container.resolve(Modules.STORE).listStores()
  const link = app.container.resolve(ContainerRegistrationKeys.LINK)
  await link.create({ [Modules.USER]: { user_id: user.id }, [Modules.STORE]: { store_id: store.id } })
  const query = app.container.resolve(ContainerRegistrationKeys.QUERY)
  const { data } = await query.graph({ entity: "user", fields: ["id", "email", "store.id"], filters: { id: user.id } })
  assert.deepEqual(data, [{ id: user.id, email: "linked@example.com", store: { id: store.id } }])
})

describe("the HTTP admin API, signed in as an admin", () => {
  let token
  let invite

  test("POST /admin/invites creates an invite", async () => {
    token = await signInAdmin(app, "admin@example.com", "admin-pass-1")
    const { status, body } = await call(app, "POST", "/admin/invites", { token, body: { email: "http@example.com" } })
    assert.equal(status, 200, JSON.stringify(body))
    invite = body.invite
    assert.equal(invite.email, "http@example.com")
    assert.equal(sql(`select email from invite where id = '${invite.id}'`), "http@example.com")
    await eventually(() => received().some((event) => event.data.id === invite.id), "user.invite.created from the HTTP API")
  })

  test("POST /admin/invites with a taken email is Medusa's 400 invalid_data", async () => {
    const { status, body } = await call(app, "POST", "/admin/invites", { token, body: { email: "http@example.com" } })
    assert.equal(status, 400)
    assert.deepEqual({ type: body.type, message: body.message }, { type: "invalid_data", message: "Invite with email: http@example.com, already exists." })
  })

  test("GET /admin/invites lists it", async () => {
    const { status, body } = await call(app, "GET", "/admin/invites?limit=50&order=-created_at", { token })
    assert.equal(status, 200)
    assert.ok(body.invites.some((listed) => listed.id === invite.id))
    assert.equal(typeof body.count, "number")
  })

  test("POST /admin/invites/:id/resend issues a new token", async () => {
    const { status, body } = await call(app, "POST", `/admin/invites/${invite.id}/resend`, { token })
    assert.equal(status, 200)
    assert.notEqual(body.invite.token, invite.token)
    assert.equal(sql(`select token from invite where id = '${invite.id}'`), body.invite.token)
  })

  test("DELETE /admin/invites/:id deletes it", async () => {
    const { status, body } = await call(app, "DELETE", `/admin/invites/${invite.id}`, { token })
    assert.equal(status, 200)
    assert.deepEqual(body, { id: invite.id, object: "invite", deleted: true })
    assert.equal(sql(`select deleted_at is not null from invite where id = '${invite.id}'`), "t")
  })

  test("register, accept with POST /admin/invites/accept?token=…, and the new user signs in", async () => {
    const created = await call(app, "POST", "/admin/invites", { token, body: { email: "newcomer@example.com" } })
    assert.equal(created.status, 200)
    const registered = await call(app, "POST", "/auth/user/emailpass/register", { body: { email: "newcomer@example.com", password: "newcomer-pass-1" } })
    assert.equal(registered.status, 200, JSON.stringify(registered.body))
    const accepted = await call(app, "POST", `/admin/invites/accept?token=${encodeURIComponent(created.body.invite.token)}`, {
      token: registered.body.token,
      body: { first_name: "New", last_name: "Comer" },
    })
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body))
    assert.deepEqual(
      { email: accepted.body.user.email, first_name: accepted.body.user.first_name, last_name: accepted.body.user.last_name },
      { email: "newcomer@example.com", first_name: "New", last_name: "Comer" },
    )
    const newToken = await signIn(app, "newcomer@example.com", "newcomer-pass-1")
    const me = await call(app, "GET", "/admin/users/me", { token: newToken })
    assert.equal(me.status, 200)
    assert.equal(me.body.user.email, "newcomer@example.com")
    assert.equal(sql(`select deleted_at is not null from invite where id = '${created.body.invite.id}'`), "t")
  })

  test("POST /admin/users/:id updates a user and DELETE /admin/users/:id deletes it (Medusa's admin user flows)", async () => {
    const [{ id }] = await app.container.resolve(Modules.USER).listUsers({ email: "newcomer@example.com" })
    const updated = await call(app, "POST", `/admin/users/${id}`, { token, body: { first_name: "Renamed", metadata: { desk: 7 } } })
    assert.equal(updated.status, 200, JSON.stringify(updated.body))
    assert.deepEqual([updated.body.user.first_name, updated.body.user.metadata], ["Renamed", { desk: 7 }])
    assert.deepEqual(row(`select first_name, metadata->>'desk' from "user" where id = '${id}'`), ["Renamed", "7"])
    const deleted = await call(app, "DELETE", `/admin/users/${id}`, { token })
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body))
    assert.deepEqual(deleted.body, { id, object: "user", deleted: true })
    assert.equal(sql(`select deleted_at is not null from "user" where id = '${id}'`), "t")
    const gone = await call(app, "GET", `/admin/users/${id}`, { token })
    assert.equal(gone.status, 404)
  })

  test("the same invite token cannot be accepted twice", async () => {
    const created = await call(app, "POST", "/admin/invites", { token, body: { email: "twice@example.com" } })
    const first = await call(app, "POST", "/auth/user/emailpass/register", { body: { email: "twice@example.com", password: "twice-pass-1" } })
    const ok = await call(app, "POST", `/admin/invites/accept?token=${encodeURIComponent(created.body.invite.token)}`, { token: first.body.token, body: {} })
    assert.equal(ok.status, 200)
    const other = await call(app, "POST", "/auth/user/emailpass/register", { body: { email: "twice2@example.com", password: "twice-pass-2" } })
    const again = await call(app, "POST", `/admin/invites/accept?token=${encodeURIComponent(created.body.invite.token)}`, { token: other.body.token, body: {} })
    assert.deepEqual(again, { status: 401, body: { message: "Unauthorized" } })
  })
})

test("after shutdown, no connection of ours is left in pg_stat_activity", async () => {
  assert.ok(ourConnections(database.name) >= 1, "the module's pool was in use")
  await app.stop()
  app = undefined
  assert.equal(ourConnections(database.name), 0)
})
