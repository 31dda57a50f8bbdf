// The real Medusa User Module (@medusajs/user@2.21.2), booted on an existing PostgreSQL
// database. Nothing here creates or drops a database: the test owns that.
//
//   runMedusaMigrations(url)  runs the module's own migrations (dist/migrations/*.js) through
//                             MedusaAppMigrateUp, as `medusa db:migrate` does; returns what ran
//                             and what is recorded.
//   bootMedusa(url, options)  MedusaApp with only the user module; returns { service, sql, shutdown }.
//
// The module gets the app's shared knex connection (no pool of its own), a silent logger and
// no event bus. The link module is replaced by a no-op (the user module has no links), so
// MedusaApp does not try to import @medusajs/medusa.
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

process.env.MEDUSA_DISABLE_TELEMETRY ??= "true"

const require = createRequire(import.meta.url)
const { MedusaApp, MedusaAppMigrateUp, MedusaModule } = require("@medusajs/framework/modules-sdk")
const { Modules, ContainerRegistrationKeys, createPgConnection } = require("@medusajs/framework/utils")

const silent = () => {}
const silentLogger = {
  ...Object.fromEntries(
    ["debug", "info", "log", "warn", "error", "http", "verbose", "silly", "panic", "failure", "success", "progress"]
      .map((level) => [level, silent]),
  ),
  activity: () => "",
  shouldLog: () => false,
  setLogLevel: silent,
  unsetLogLevel: silent,
}

// Medusa resolves `resolve: "@medusajs/user"` from `cwd`: this folder, wherever the test runs from.
const here = fileURLToPath(new URL(".", import.meta.url))

const noLinks = { initialize: async () => [], getMigrationPlanner: () => undefined }

function appOptions(clientUrl, moduleOptions) {
  const database = { clientUrl, schema: "public" }
  const connection = createPgConnection(database)
  return {
    connection,
    options: {
      // No `database` in the module's options: MedusaApp then hands it the shared connection.
      modulesConfig: {
        [Modules.USER]: { resolve: "@medusajs/user", options: { ...moduleOptions } },
        [Modules.LINK]: noLinks,
      },
      sharedResourcesConfig: { database },
      cwd: here,
      injectedDependencies: {
        [ContainerRegistrationKeys.PG_CONNECTION]: connection,
        [ContainerRegistrationKeys.LOGGER]: silentLogger,
      },
    },
  }
}

/**
 * Medusa's migrations for the user module. Returns `{ ran, recorded }`: the migrations this call
 * ran, and all those recorded in mikro_orm_migrations afterwards.
 */
export async function runMedusaMigrations(clientUrl) {
  const { connection, options } = appOptions(clientUrl, { jwt_secret: "migrations-only" })
  const recorded = async () => {
    const { rows: [{ exists }] } = await connection.raw(`select to_regclass('mikro_orm_migrations') is not null as exists`)
    if (!exists) return []
    const { rows } = await connection.raw(`select name from mikro_orm_migrations order by id`)
    return rows.map((row) => row.name)
  }
  const printed = { log: console.log, info: console.info }
  try {
    const before = await recorded()
    console.log = console.info = () => {} // the migrator narrates each migration
    try {
      await MedusaAppMigrateUp(options)
    } finally {
      Object.assign(console, printed)
    }
    const after = await recorded()
    return { ran: after.filter((name) => !before.includes(name)), recorded: after }
  } finally {
    await connection.destroy()
    MedusaModule.clearInstances()
  }
}

/** Boots Medusa's user module; `service` is its IUserModuleService. */
export async function bootMedusa(clientUrl, moduleOptions) {
  const { connection, options } = appOptions(clientUrl, moduleOptions)
  const app = await MedusaApp(options)
  await app.onApplicationStart()
  return {
    service: app.modules[Modules.USER],
    sql: async (text, params = []) => (await connection.raw(text, params)).rows,
    async shutdown() {
      await app.onApplicationPrepareShutdown()
      await app.onApplicationShutdown()
      await connection.destroy()
      MedusaModule.clearInstances()
    },
  }
}
