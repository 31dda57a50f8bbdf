// medusa-invites/medusa as Medusa loads it, without booting a whole application: the module
// export, how the service finds its database, the app's logger, and Medusa's migration run
// (the path `medusa db:migrate` takes) on databases with and without @medusajs/user's tables.
import { after, describe, test } from "node:test"
import assert from "node:assert/strict"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { createDatabase, dropDatabase, psql, PG_URL } from "./app.mjs"

const here = fileURLToPath(new URL(".", import.meta.url))
process.chdir(here)
process.env.MEDUSA_DISABLE_TELEMETRY = "true"
const require = createRequire(import.meta.url)
const { MedusaAppMigrateUp, MedusaModule } = require("@medusajs/framework/modules-sdk")
const { Modules, MedusaError: FrameworkMedusaError } = require("@medusajs/framework/utils")
const medusaModule = require("medusa-invites/medusa")
const { MedusaUserModuleService, resolveDatabase } = medusaModule

const databases = []
after(() => {
  for (const name of databases) dropDatabase(name)
})
function database() {
  const created = createDatabase("module_")
  databases.push(created.name)
  return created
}

/** A logger that records every line, as Medusa's logger is called. */
function recordingLogger() {
  const lines = []
  const logger = {}
  for (const level of ["debug", "info", "warn", "error", "log"]) logger[level] = (message) => lines.push([level, message])
  return { logger, lines }
}

describe("the module export", () => {
  test("is Module(Modules.USER, { service }) with @medusajs/user's linkable keys, plus runMigrations", () => {
    const exported = medusaModule.default
    assert.equal(exported.service, MedusaUserModuleService)
    assert.deepEqual(Object.keys(exported.linkable), ["user", "invite"])
    assert.equal(exported.linkable.invite.id.linkable, "invite_id")
    assert.equal(exported.linkable.user.id.linkable, "user_id")
    assert.equal(exported.linkable.user.id.serviceName, Modules.USER)
    assert.equal(typeof exported.runMigrations, "function")
    assert.equal(MedusaUserModuleService.prototype.__joinerConfig().serviceName, "user")
  })

  test("the package's exports map serves '.', './medusa' and './package.json'", () => {
    assert.equal(typeof require("medusa-invites").UserModuleService, "function")
    assert.equal(require("medusa-invites/package.json").name, "medusa-invites")
    assert.throws(() => require("medusa-invites/lib/service"), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" })
  })
})

describe("the database the service uses", () => {
  const url = `${PG_URL}/some_app`
  test("options.database: a URL, or Medusa's { clientUrl, schema } where an empty schema is the default one", () => {
    assert.equal(resolveDatabase({ database: url }, {}), url)
    assert.deepEqual(resolveDatabase({ database: { clientUrl: url, schema: "invites" } }, {}), { clientUrl: url, schema: "invites" })
    // What Medusa hands every internal module for the app's shared connection.
    const shared = { clientUrl: url, schema: "", driverOptions: { connection: { ssl: false } }, debug: false }
    shared[Symbol.for("isSharedConnection")] = true
    assert.equal(resolveDatabase({ database: shared }, {}), url)
  })

  test("else the app's projectConfig.databaseUrl, else its shared PostgreSQL connection", () => {
    assert.equal(resolveDatabase({}, { configModule: { projectConfig: { databaseUrl: url } } }), url)
    assert.deepEqual(resolveDatabase({}, { configModule: { projectConfig: { databaseUrl: url, databaseSchema: "s" } } }), { clientUrl: url, schema: "s" })
    assert.equal(resolveDatabase({}, { __pg_connection__: { client: { config: { connection: { connectionString: url } } } } }), url)
  })

  test("never an embedded default: no database anywhere is a MedusaError, and the app's logger gets one line", () => {
    const { logger, lines } = recordingLogger()
    assert.throws(() => new MedusaUserModuleService({ logger }, { jwt_secret: "s" }), (error) => {
      assert.equal(FrameworkMedusaError.isMedusaError(error), true)
      assert.equal(error.type, "invalid_argument")
      assert.equal(
        error.message,
        "medusa-invites/medusa found no database: set the module's database option (postgres://… or { clientUrl, schema }) or the app's projectConfig.databaseUrl",
      )
      return true
    })
    assert.deepEqual(lines, [["error", `medusa-invites: invalid_argument: ${"medusa-invites/medusa found no database: set the module's database option (postgres://… or { clientUrl, schema }) or the app's projectConfig.databaseUrl"}`]])
  })

  test("a wrong option is a MedusaError and one logger line", () => {
    const { logger, lines } = recordingLogger()
    assert.throws(() => new MedusaUserModuleService({ logger }, { jwt_secret: "s", database: 5 }), {
      type: "invalid_argument",
      message: "The database option is not a URL string or an object; use postgres://… or { clientUrl, schema }",
    })
    assert.throws(() => new MedusaUserModuleService({ logger }, { database: url }), {
      type: "invalid_data",
      message: "No jwt_secret was provided in the UserModule's options. Please add one.",
    })
    assert.deepEqual(lines.map(([level]) => level), ["error", "error"])
  })

  test("an unreachable database: each failing call rejects with database_error and logs one line, never the password", async () => {
    const { logger, lines } = recordingLogger()
    const service = new MedusaUserModuleService(
      { logger },
      { jwt_secret: "s", database: "postgres://postgres:hunter2-secret@127.0.0.1:1/nowhere", databaseConnectTimeoutMs: 500 },
    )
    await assert.rejects(service.createInvites({ email: "a@example.com" }), (error) => {
      assert.equal(error.type, "database_error")
      assert.match(error.message, /^PostgreSQL: cannot connect to 127\.0\.0\.1:1\/nowhere/)
      assert.doesNotMatch(error.message, /hunter2/)
      return true
    })
    assert.equal(lines.length, 1)
    assert.equal(lines[0][0], "error")
    assert.match(lines[0][1], /^medusa-invites: database_error: PostgreSQL: cannot connect to 127\.0\.0\.1:1\/nowhere/)
    assert.doesNotMatch(lines[0][1], /hunter2/)
    await service.close()
  })

  test("bad input is logged as a warning; the event bus comes from the container", async () => {
    const { name, url: databaseUrl } = database()
    const { logger, lines } = recordingLogger()
    const emitted = []
    const eventBus = { emit: async (messages) => emitted.push(...messages.map((message) => message.name)) }
    const service = new MedusaUserModuleService({ logger, [Modules.EVENT_BUS]: eventBus }, { jwt_secret: "s", database: { clientUrl: databaseUrl, schema: "" } })
    await assert.rejects(service.createInvites({ email: "not an email" }), { type: "invalid_data", message: "Invalid email for invite: 'not an email'" })
    assert.deepEqual(lines, [["warn", "medusa-invites: invalid_data: Invalid email for invite: 'not an email'"]])
    await service.createInvites({ email: "ok@example.com" })
    assert.deepEqual(emitted, ["user.invite.created", "user.user.invite.token_generated"])
    // A call made of calls (updateUsers' { selector, data } form) logs its error once.
    await service.createUsers({ email: "user@example.com" })
    await assert.rejects(service.updateUsers({ selector: { email: "user@example.com" }, data: { first_name: 5 } }), {
      type: "invalid_data",
      message: "Value for User.first_name must be a string, 'number' found",
    })
    assert.deepEqual(lines.slice(1), [["warn", "medusa-invites: invalid_data: Value for User.first_name must be a string, 'number' found"]])
    assert.equal(psql(name, "select email from invite"), "ok@example.com")
    await service.__hooks.onApplicationShutdown()
    assert.equal(Number(psql("postgres", `select count(*) from pg_stat_activity where datname = '${name}' and application_name = 'medusa-invites'`)), 0)
  })
})

/** Medusa's module migration run for one user module, as `medusa db:migrate` runs it. */
async function migrateUserModule(databaseUrl, resolve) {
  const { createPgConnection } = require("@medusajs/framework/utils")
  const database = { clientUrl: databaseUrl, schema: "" }
  const connection = createPgConnection({ clientUrl: databaseUrl, schema: "public" })
  const printed = { log: console.log, info: console.info }
  console.log = console.info = () => {} // Medusa's migrator narrates each step
  try {
    await MedusaAppMigrateUp({
      modulesConfig: {
        [Modules.USER]: { resolve, options: { jwt_secret: "migrations" } },
        [Modules.LINK]: { initialize: async () => [], getMigrationPlanner: () => undefined },
      },
      sharedResourcesConfig: { database },
      cwd: here,
      injectedDependencies: { __pg_connection__: connection, logger: recordingLogger().logger },
    })
  } finally {
    Object.assign(console, printed)
    await connection.destroy()
    MedusaModule.clearInstances()
  }
}

const schemaOf = (name) =>
  psql(
    name,
    `select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations'`,
  ) + "|" + psql(name, `select string_agg(indexname, ',' order by indexname) from pg_indexes where schemaname = 'public' and tablename in ('invite', 'user')`)

describe("Medusa's migration run", () => {
  const EXPECTED_TABLES = "invite,medusa_invites_idempotency,medusa_invites_outbox,medusa_invites_roles,medusa_invites_user_roles,user"
  // Medusa's own indexes, whichever module's migrations made them.
  const EXPECTED_INDEXES = "IDX_invite_deleted_at,IDX_invite_email_unique,IDX_invite_token,IDX_user_deleted_at,IDX_user_email_unique,invite_pkey,user_pkey"
  const MEDUSA_INDEXES = EXPECTED_INDEXES

  test("creates the tables on an empty database; a second run changes nothing", async () => {
    const { name, url } = database()
    await migrateUserModule(url, "medusa-invites/medusa")
    assert.equal(schemaOf(name), `${EXPECTED_TABLES}|${EXPECTED_INDEXES}`)
    psql(name, `insert into invite (id, email, token, expires_at) values ('invite_kept', 'kept@example.com', 't', now() + interval '1 day')`)
    await migrateUserModule(url, "medusa-invites/medusa")
    assert.equal(schemaOf(name), `${EXPECTED_TABLES}|${EXPECTED_INDEXES}`)
    assert.equal(psql(name, "select id from invite"), "invite_kept")
  })

  test("on a database where @medusajs/user's migrations ran: adds only this module's tables, and the data stays", async () => {
    const { name, url } = database()
    await migrateUserModule(url, "@medusajs/user")
    psql(name, `insert into "user" (id, email) values ('user_old', 'old@example.com')`)
    const recorded = psql(name, "select string_agg(name, ',' order by id) from mikro_orm_migrations")
    await migrateUserModule(url, "medusa-invites/medusa")
    await migrateUserModule(url, "medusa-invites/medusa")
    assert.equal(schemaOf(name), `${EXPECTED_TABLES}|${MEDUSA_INDEXES}`)
    assert.equal(psql(name, "select string_agg(name, ',' order by id) from mikro_orm_migrations"), recorded)
    assert.equal(psql(name, `select email from "user"`), "old@example.com")
  })

  test("going back: @medusajs/user's migrations run on tables this module created", async () => {
    const { name, url } = database()
    await migrateUserModule(url, "medusa-invites/medusa")
    await migrateUserModule(url, "@medusajs/user")
    assert.equal(psql(name, "select count(*) from mikro_orm_migrations where name like 'Migration2024%'"), "3")
    assert.equal(schemaOf(name), `${EXPECTED_TABLES}|${MEDUSA_INDEXES}`)
  })
})
