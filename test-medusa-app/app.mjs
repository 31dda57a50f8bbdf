// A real Medusa 2.21.2 application (this folder: medusa-config.ts, src/subscribers) on the
// machine's PostgreSQL, booted in this process the way `medusa start` boots it.
//
//   createDatabase() / dropDatabase(name)   a database of its own, medusa_app_<pid>_<time>
//   migrate(databaseUrl, userModule?)       `medusa db:migrate`, Medusa's own CLI, in a child process
//   bootApp(databaseUrl, userModule?)       Medusa's loaders + an HTTP server on 127.0.0.1;
//                                           returns { container, baseUrl, logLines, stop }
//   signInAdmin(app, email, password)       an admin user (auth identity + user), signed in over HTTP
//
// The user module is medusa-invites/medusa (the built addon at the repository root, through
// `file:..`) unless `userModule` names another, e.g. "@medusajs/user" for the benchmark.
import { execFileSync, spawn } from "node:child_process"
import { createRequire } from "node:module"
import http from "node:http"
import { fileURLToPath } from "node:url"

export const APP_DIR = fileURLToPath(new URL(".", import.meta.url))
export const PG_URL = (process.env.MEDUSA_INVITES_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "")
const require = createRequire(import.meta.url)
// Medusa's logger reads these when first loaded. Quiet by default: its HTTP log would print
// request URLs, invite tokens included.
process.env.LOG_LEVEL ??= "error"
process.env.MEDUSA_DISABLE_TELEMETRY ??= "true"

export function psql(database, sql) {
  return execFileSync("psql", [`${PG_URL}/${database}`, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim()
}

export function createDatabase(tag = "") {
  const name = `medusa_app_${tag}${process.pid}_${Date.now()}`
  psql("postgres", `create database "${name}"`)
  return { name, url: `${PG_URL}/${name}` }
}

export function dropDatabase(name) {
  psql("postgres", `drop database if exists "${name}" with (force)`)
}

function appEnv(databaseUrl, userModule) {
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    MEDUSA_DISABLE_TELEMETRY: "true",
    NODE_ENV: "development",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
  }
  if (userModule) env.MEDUSA_USER_MODULE = userModule
  else delete env.MEDUSA_USER_MODULE
  return env
}

/** `medusa db:migrate` in this folder; resolves with its output, rejects with it on failure. */
export function migrate(databaseUrl, userModule) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve("@medusajs/cli/cli.js"), "db:migrate"], {
      cwd: APP_DIR,
      env: appEnv(databaseUrl, userModule),
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`medusa db:migrate exited with ${code}:\n${output.slice(-4000)}`))))
  })
}

/** Boots the app in this process, as `medusa start` does (loaders, express, /health). */
export async function bootApp(databaseUrl, userModule) {
  Object.assign(process.env, appEnv(databaseUrl, userModule))
  if (!userModule) delete process.env.MEDUSA_USER_MODULE
  process.chdir(APP_DIR)
  // What the medusa CLI does before loading medusa-config.ts.
  require("ts-node").register({ transpileOnly: true })
  const express = require("express")
  const loaders = require("@medusajs/medusa/loaders/index").default
  const expressApp = express()
  const { container, shutdown } = await loaders({ directory: APP_DIR, expressApp })
  expressApp.get("/health", (_, res) => res.status(200).send("OK"))
  const server = http.createServer(expressApp)
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  const baseUrl = `http://127.0.0.1:${server.address().port}`
  return {
    container,
    baseUrl,
    async stop() {
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(resolve))
      await shutdown()
    },
  }
}

/** fetch against the app: JSON in and out; `{ status, body }`. */
export async function call(app, method, path, { body, token } = {}) {
  const headers = { "content-type": "application/json" }
  if (token) headers.authorization = `Bearer ${token}`
  const response = await fetch(`${app.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  let parsed
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = text
  }
  return { status: response.status, body: parsed }
}

/** Creates an admin (an emailpass auth identity and its user, as `medusa user` does) and signs it in over HTTP. */
export async function signInAdmin(app, email, password) {
  const { Modules } = require("@medusajs/framework/utils")
  const { createUserAccountWorkflow } = require("@medusajs/core-flows")
  const auth = app.container.resolve(Modules.AUTH)
  const { authIdentity, error } = await auth.register("emailpass", { body: { email, password } })
  if (error) throw new Error(`cannot register the admin: ${error}`)
  await createUserAccountWorkflow(app.container).run({ input: { authIdentityId: authIdentity.id, userData: { email } } })
  return signIn(app, email, password)
}

export async function signIn(app, email, password) {
  const { status, body } = await call(app, "POST", "/auth/user/emailpass", { body: { email, password } })
  if (status !== 200 || !body?.token) throw new Error(`sign-in failed: ${status} ${JSON.stringify(body)}`)
  return body.token
}

/** Connections this module opened to `database` (its pool names itself in application_name). */
export function ourConnections(database) {
  return Number(psql("postgres", `select count(*) from pg_stat_activity where datname = '${database}' and application_name = 'medusa-invites'`))
}
