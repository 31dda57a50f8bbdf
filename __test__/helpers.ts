// Shared test helpers: a module on a fresh database of the backend under test, a way to
// read that database with an independent client (the sqlite3 shell, or psql), a recording
// event bus and a message aggregator shaped like Medusa's (@medusajs/utils MessageAggregator).
//
// The backend: MEDUSA_INVITES_TEST_BACKEND=sqlite (default) or postgres. For PostgreSQL each
// test process creates a database of its own on MEDUSA_INVITES_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432), gives each module a schema of its own (Medusa's
// `{ clientUrl, schema }` form), and drops the database when it exits.
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { Worker } from "node:worker_threads"
import { MedusaError, UserModuleService, type EventMessage, type InviteDTO, type UserModuleOptions } from ".."

export const SECRET = "test-secret-0f3c9a"

export type Backend = "sqlite" | "postgres"
export const BACKEND: Backend = process.env.MEDUSA_INVITES_TEST_BACKEND === "postgres" ? "postgres" : "sqlite"
export const PG_URL = (process.env.MEDUSA_INVITES_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "")

function psql(database: string, sql: string): string {
  return execFileSync("psql", [`${PG_URL}/${database}`, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  })
}

/** This process's own PostgreSQL database, created on first use and dropped at exit. */
let pgDatabase: string | undefined
function testDatabase(): string {
  if (pgDatabase) return pgDatabase
  const name = `medusa_invites_test_${process.pid}_${Date.now()}`
  psql("postgres", `create database "${name}"`)
  pgDatabase = name
  process.on("exit", () => {
    try {
      psql("postgres", `drop database if exists "${name}" with (force)`)
    } catch {
      // the server may be gone; nothing else to do at exit
    }
  })
  return name
}

/**
 * A persistent psql session per database for hot read paths (`hasTable`, `tableCounts`): one
 * process and connection instead of one per query (~1 ms instead of ~60 ms). A worker thread
 * owns psql; the caller blocks on Atomics.wait, so the API stays synchronous like `rows()`.
 * Results must fit in 1 MB; use `rows()` for large reads.
 */
const SESSION_DONE = "__medusa_invites_test_done__"
const SESSION_BYTES = 1 << 20
const SESSION_WORKER = String.raw`
const { parentPort, workerData } = require("node:worker_threads")
const { spawn } = require("node:child_process")
const state = new Int32Array(workerData.shared, 0, 2)
const bytes = new Uint8Array(workerData.shared, 8)
const child = spawn("psql", [workerData.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0"], { stdio: ["pipe", "pipe", "pipe"] })
let out = ""
let err = ""
function reply(value) {
  let data = Buffer.from(JSON.stringify(value))
  if (data.length > bytes.length) data = Buffer.from(JSON.stringify({ error: "the result does not fit the session buffer" }))
  bytes.set(data)
  Atomics.store(state, 1, data.length)
  Atomics.store(state, 0, 1)
  Atomics.notify(state, 0)
}
child.stdout.setEncoding("utf8")
child.stderr.setEncoding("utf8")
child.stdout.on("data", (chunk) => {
  out += chunk
  const match = /(^|\n)${SESSION_DONE} (true|false)\n/.exec(out)
  if (!match) return
  const result = out.slice(0, match.index + match[1].length)
  const failed = match[2] === "true"
  out = out.slice(match.index + match[0].length)
  if (!failed) {
    err = ""
    reply({ out: result })
    return
  }
  // psql writes the error on stderr, which may arrive after the marker on stdout.
  setTimeout(() => {
    reply({ error: err.trim() || "psql reported an error" })
    err = ""
  }, 20)
})
child.stderr.on("data", (chunk) => { err += chunk })
child.on("exit", (code) => reply({ error: "psql exited with " + code + ": " + err.trim() }))
parentPort.on("message", (sql) => child.stdin.write(sql.replace(/;?\s*$/, ";") + "\n\\echo ${SESSION_DONE} :ERROR\n"))
`
const sessions = new Map<string, { worker: Worker; state: Int32Array; bytes: Uint8Array }>()

function sessionQuery(database: string, sql: string, timeoutMs = 60_000): string {
  let session = sessions.get(database)
  if (!session) {
    const shared = new SharedArrayBuffer(8 + SESSION_BYTES)
    const worker = new Worker(SESSION_WORKER, { eval: true, workerData: { shared, url: `${PG_URL}/${database}` } })
    worker.unref()
    session = { worker, state: new Int32Array(shared, 0, 2), bytes: new Uint8Array(shared, 8) }
    sessions.set(database, session)
    sessionQuery(database, "select 1", 15_000) // fails fast if the session cannot start
  }
  Atomics.store(session.state, 0, 0)
  session.worker.postMessage(sql)
  if (Atomics.wait(session.state, 0, 0, timeoutMs) === "timed-out") {
    sessions.delete(database)
    void session.worker.terminate()
    throw new Error(`psql session: no answer within ${timeoutMs} ms to: ${sql}`)
  }
  const reply = JSON.parse(Buffer.from(session.bytes.subarray(0, session.state[1])).toString("utf8"))
  if (reply.error !== undefined) throw new Error(`psql session: ${reply.error}\n${sql}`)
  return reply.out
}

let schemaCounter = 0

/**
 * A fresh place to store invites: `{ target, database }`. `target` names it for `rows()` and
 * `count()` (a SQLite file path, or `pg:<database>:<schema>`); `database` is the module option.
 */
export function freshDatabase(): { target: string; database: UserModuleOptions["database"] } {
  if (BACKEND === "sqlite") {
    const file = join(tempDir(), "invites.sqlite")
    return { target: file, database: `sqlite:${file}` }
  }
  const database = testDatabase()
  const schema = `s${++schemaCounter}`
  return { target: `pg:${database}:${schema}`, database: { clientUrl: `${PG_URL}/${database}`, schema } as any }
}

/**
 * Views that show a PostgreSQL schema the way the SQLite store keeps it (times as Unix ms,
 * booleans as 0/1, JSON as text, roles as a column), so one SQL text reads both backends.
 */
function compatibilityViews(schema: string): string {
  const ms = (expression: string, name: string) => `(extract(epoch from ${expression}) * 1000)::bigint as ${name}`
  return `
    create schema if not exists "${schema}_v";
    create or replace view "${schema}_v"."invite" as
      select i.id, i.email, i.accepted::int as accepted, i.token, ${ms("i.expires_at", "expires_at")},
        i.metadata::text as metadata, ${ms("i.created_at", "created_at")}, ${ms("i.updated_at", "updated_at")},
        ${ms("i.deleted_at", "deleted_at")}, r.roles::text as roles
      from "${schema}"."invite" i left join "${schema}"."medusa_invites_roles" r on r.invite_id = i.id;
    create or replace view "${schema}_v"."user" as
      select id, first_name, last_name, email, avatar_url, metadata::text as metadata,
        ${ms("created_at", "created_at")}, ${ms("updated_at", "updated_at")}, ${ms("deleted_at", "deleted_at")}
      from "${schema}"."user";
    create or replace view "${schema}_v"."medusa_invites_idempotency" as
      select key, input_hash, response, ${ms("created_at", "created_at")} from "${schema}"."medusa_invites_idempotency";`
}

/** A fresh folder under the OS temp dir. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "medusa-invites-test-"))
}

/**
 * Rows of `sql` read by an independent client: the sqlite3 shell for a SQLite file, psql
 * (through the compatibility views) for a PostgreSQL target.
 */
export function rows<T = Record<string, unknown>>(target: string, sql: string): T[] {
  if (target.startsWith("pg:")) {
    const [, database, schema] = target.split(":")
    const query = sql.trim().replace(/;$/, "")
    const out = psql(
      database,
      `${compatibilityViews(schema)} set search_path to "${schema}_v", "${schema}";
       select coalesce(json_agg(t), '[]') from (${query}) t;`,
    )
    return JSON.parse(out.trim()) as T[]
  }
  const out = execFileSync("sqlite3", ["-json", target, sql], { encoding: "utf8" })
  return out.trim() === "" ? [] : (JSON.parse(out) as T[])
}

/** Runs a statement that writes (e.g. soft-deletes a user) on the backend's own tables. */
export function execute(target: string, sql: string): void {
  if (target.startsWith("pg:")) {
    const [, database, schema] = target.split(":")
    psql(database, `set search_path to "${schema}"; ${sql}`)
    return
  }
  execFileSync("sqlite3", [target, sql], { encoding: "utf8" })
}

export function count(file: string, table = "invite"): number {
  return rows<{ n: number }>(file, `select count(*) as n from "${table}"`)[0].n
}

/**
 * Whether `table` exists at `target` (a SQLite file, or `pg:<database>:<schema>`). Creates
 * nothing: false for a SQLite file that does not exist, or a PostgreSQL schema that does not.
 */
export function hasTable(target: string, table: string): boolean {
  if (target.startsWith("pg:")) {
    const [, database, schema] = target.split(":")
    const name = `"${schema}"."${table}"`.replace(/'/g, "''")
    return sessionQuery(database, `select to_regclass('${name}') is not null`).trim() === "t"
  }
  if (!existsSync(target)) return false
  const found = rows(target, `select name from sqlite_master where type = 'table' and name = '${table.replace(/'/g, "''")}'`)
  return found.length > 0
}

/**
 * Row counts of `tables` at `target` in one round trip of an independent client, 0 for a table
 * that does not exist (yet). Creates nothing.
 */
export function tableCounts<T extends string>(target: string, tables: readonly T[]): Record<T, number> {
  const result = {} as Record<T, number>
  if (target.startsWith("pg:")) {
    const [, database, schema] = target.split(":")
    const quote = (text: string) => `'${text.replace(/'/g, "''")}'`
    const columns = tables.map((table) => {
      const name = `"${schema}"."${table}"`
      return `case when to_regclass(${quote(name)}) is null then 0 else
        (xpath('/row/n/text()', query_to_xml(${quote(`select count(*) as n from ${name}`)}, false, true, '')))[1]::text::bigint end`
    })
    const out = sessionQuery(database, `select ${columns.join(", ")}`).trim().split("|")
    tables.forEach((table, i) => (result[table] = Number(out[i])))
    return result
  }
  for (const table of tables) result[table] = 0
  if (!existsSync(target)) return result
  const all = `select ${tables.map((table, i) => `(select count(*) from "${table}") as c${i}`).join(", ")}`
  try {
    // One sqlite3 call when every table exists (the common case)...
    const out = execFileSync("sqlite3", ["-json", target, all], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    const [counts] = JSON.parse(out) as Record<string, number>[]
    tables.forEach((table, i) => (result[table] = counts[`c${i}`]))
    return result
  } catch {
    // ...otherwise count the tables that do.
  }
  const present = new Set(rows<{ name: string }>(target, "select name from sqlite_master where type = 'table'").map((row) => row.name))
  const wanted = tables.filter((table) => present.has(table))
  if (wanted.length === 0) return result
  const [counts] = rows<Record<string, number>>(
    target,
    `select ${wanted.map((table, i) => `(select count(*) from "${table}") as c${i}`).join(", ")}`,
  )
  wanted.forEach((table, i) => (result[table] = counts[`c${i}`]))
  return result
}

/**
 * A SQL expression for the instant `ms` (Unix milliseconds) in the backend's own time columns,
 * for `execute()`: the integer itself on SQLite, a timestamptz on PostgreSQL.
 */
export function sqlTime(target: string, ms: number = Date.now()): string {
  return target.startsWith("pg:") ? `to_timestamp(${ms} / 1000.0)` : String(ms)
}

/**
 * Like `freshDatabase()`, but the module option is one URL string (what
 * MEDUSA_INVITES_DATABASE_URL or a child process takes): `sqlite:<file>`, or a PostgreSQL URL
 * whose `options` set the search_path to a fresh schema (created here, empty).
 */
export function freshDatabaseUrl(): { target: string; url: string } {
  const { target, database } = freshDatabase()
  if (typeof database === "string") return { target, url: database }
  const [, name, schema] = target.split(":")
  psql(name, `create schema "${schema}"`)
  return { target, url: `${PG_URL}/${name}?options=${encodeURIComponent(`-c search_path=${schema}`)}` }
}

/**
 * Asserts a JSON column read through `rows()` holds what `JSON.stringify` wrote (`expected`).
 * SQLite keeps that text byte for byte. PostgreSQL stores jsonb, as Medusa does, which keeps
 * the values but neither key order nor spacing: there the stored text must parse to a value
 * deepEqual to `JSON.parse(expected)`. `null` expects SQL NULL on both.
 */
export function assertStoredJson(target: string, stored: unknown, expected: string | null, message?: string): void {
  if (expected === null) {
    assert.equal(stored, null, message)
    return
  }
  assert.equal(typeof stored, "string", message)
  if (target.startsWith("pg:")) assert.deepEqual(JSON.parse(stored as string), JSON.parse(expected), message)
  else assert.equal(stored, expected, message)
}

/** Records every `emit(messages, options)`. */
export class RecordingBus {
  calls: { messages: EventMessage[]; options: unknown; argCount: number }[] = []
  async emit(messages: EventMessage[], options?: unknown): Promise<void> {
    // eslint-disable-next-line prefer-rest-params
    this.calls.push({ messages, options, argCount: arguments.length })
  }
  get names(): string[] {
    return this.calls.flatMap((call) => call.messages.map((message) => message.name))
  }
}

/** The behaviour of Medusa's MessageAggregator (save dedupes by JSON, getMessages groups). */
export class MedusaLikeAggregator {
  #messages: EventMessage[] = []
  #hashes = new Set<string>()
  calls: string[] = []
  count(): number {
    return this.#messages.length
  }
  save(message: EventMessage | EventMessage[]): void {
    this.calls.push("save")
    for (const one of Array.isArray(message) ? message : [message]) {
      const hash = JSON.stringify(one)
      if (!this.#hashes.has(hash)) {
        this.#hashes.add(hash)
        this.#messages.push(one)
      }
    }
  }
  getMessages(): Record<string, EventMessage[]> {
    this.calls.push("getMessages")
    return { default: [...this.#messages] }
  }
  clearMessages(): void {
    this.calls.push("clearMessages")
    this.#messages.length = 0
    this.#hashes.clear()
  }
}

export interface TestModule {
  service: UserModuleService
  bus: RecordingBus
  /** What `rows()`/`count()` read: the SQLite file, or `pg:<database>:<schema>`. */
  file: string
  /** The `database` option of this module, to open another module on the same data. */
  database: UserModuleOptions["database"]
  close(): Promise<void>
}

/** A module on a fresh database with a recording bus; `options` override the defaults. */
export function newModule(options: Partial<UserModuleOptions> = {}): TestModule {
  const { target, database } = freshDatabase()
  const bus = new RecordingBus()
  const service = new UserModuleService({ jwt_secret: SECRET, database, eventBus: bus, ...options })
  return { service, bus, file: target, database, close: () => service.close() }
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection, but the promise resolved")
}

/** Decodes one base64url JSON part of a token, keeping the text for key-order checks. */
export function tokenPart(token: string, index: 0 | 1): { text: string; json: Record<string, unknown> } {
  const text = Buffer.from(token.split(".")[index], "base64url").toString("utf8")
  return { text, json: JSON.parse(text) }
}

/** Runs `body` with a fresh module and closes it afterwards, whatever happens. */
export async function withModule(body: (m: TestModule) => Promise<void>, options: Partial<UserModuleOptions> = {}): Promise<void> {
  const m = newModule(options)
  try {
    await body(m)
  } finally {
    await m.close()
  }
}

/** Medusa's event names (docs/behaviour.md), written out here rather than taken from the library. */
export const CREATED = "user.invite.created"
export const TOKEN_GENERATED = "user.user.invite.token_generated"

function eventMetadata(action: string, eventGroupId?: string): EventMessage["metadata"] {
  return eventGroupId === undefined
    ? { source: "user", object: "invite", action }
    : { source: "user", object: "invite", action, eventGroupId }
}

/** The messages Medusa emits for one createInvites call that created `ids` (docs/behaviour.md). */
export function expectedMessages(ids: string[], eventGroupId?: string): EventMessage[] {
  return [
    ...ids.map((id) => ({ name: CREATED, metadata: eventMetadata("created", eventGroupId), data: { id }, options: undefined })),
    {
      name: TOKEN_GENERATED,
      metadata: eventMetadata("token_generated", eventGroupId),
      data: { id: ids.length === 1 ? ids[0] : ids },
      options: undefined,
    },
  ]
}

/** `withModule` with the options first, for suites that mostly vary the options. */
export function withOptions(options: Partial<UserModuleOptions>, body: (m: TestModule) => Promise<void>): Promise<void> {
  return withModule(body, options)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle assertions shared by the lifecycle-*.test.ts suites (the README, "The invite lifecycle").

/** The lifecycle's event names (the README, "The invite lifecycle"), written out here rather than taken from the library. */
export const UPDATED = "user.invite.updated"
/** `user.invite.deleted`, emitted by deleteInvites, softDeleteInvites and acceptInvite. */
export const DELETED = "user.invite.deleted"

/** An event message as `normalize` returns it (no `options`). */
export interface Message {
  name: string
  metadata: Record<string, unknown>
  data: unknown
}

/** An expected message: metadata `{ source: "user", object, action[, eventGroupId] }`, data `{ id }`. */
export function eventMessage(name: string, object: string, action: string, id: string | string[], eventGroupId?: string): Message {
  const metadata: Record<string, unknown> = { source: "user", object, action }
  if (eventGroupId !== undefined) metadata.eventGroupId = eventGroupId
  return { name, metadata, data: { id } }
}

/** `user.invite.updated` for the invite `id`. */
export const updatedMessage = (id: string, eventGroupId?: string) => eventMessage(UPDATED, "invite", "updated", id, eventGroupId)

/** `user.invite.deleted` for the invite `id`. */
export const deletedMessage = (id: string, eventGroupId?: string) => eventMessage(DELETED, "invite", "deleted", id, eventGroupId)

/** One token_generated for `ids` (data.id a string when one); `action` is "created" for refreshInviteTokens. */
export const tokenGeneratedMessage = (ids: string[], eventGroupId?: string, action = "token_generated") =>
  eventMessage(TOKEN_GENERATED, "invite", action, ids.length === 1 ? ids[0] : ids, eventGroupId)

/**
 * A message as the contract shapes it: keys name, metadata, data (plus Medusa's `options:
 * undefined`, tolerated), metadata keys source, object, action[, eventGroupId], data keys [id].
 */
export function normalize(actual: any): Message {
  const keys = Object.keys(actual)
  if (keys[1] === "data") {
    // A workflow event (Medusa's emitEventStep): name, data, options, metadata ({} or { eventGroupId }).
    assert.deepEqual(keys, ["name", "data", "options", "metadata"])
    assert.equal(actual.options, undefined)
    assert.deepEqual(Object.keys(actual.metadata), "eventGroupId" in actual.metadata ? ["eventGroupId"] : [])
    assert.deepEqual(Object.keys(actual.data), ["id"])
    return { name: actual.name, metadata: actual.metadata, data: actual.data }
  }
  if (keys.length === 4) {
    assert.deepEqual(keys, ["name", "metadata", "data", "options"])
    assert.equal(actual.options, undefined)
  } else {
    assert.deepEqual(keys, ["name", "metadata", "data"])
  }
  const metadataKeys = ["source", "object", "action"]
  if ("eventGroupId" in actual.metadata) metadataKeys.push("eventGroupId")
  assert.deepEqual(Object.keys(actual.metadata), metadataKeys)
  assert.deepEqual(Object.keys(actual.data), ["id"])
  return { name: actual.name, metadata: actual.metadata, data: actual.data }
}

/** Exactly one emit per entry of `perCall`, each `(messages, { internal: true })`, in order. */
export function assertEmits(bus: RecordingBus, perCall: Message[][]): void {
  assert.deepEqual(
    bus.calls.map((call) => call.messages.map((m) => m.name)),
    perCall.map((messages) => messages.map((m) => m.name)),
    "event names per emit call",
  )
  bus.calls.forEach((call, i) => {
    assert.equal(call.argCount, 2)
    assert.deepEqual(call.options, { internal: true })
    assert.deepEqual(call.messages.map(normalize), perCall[i])
  })
}

/** Medusa's own keys of a MedusaError, in order (docs/errors.md). */
export const BASE_ERROR_KEYS = ["__isMedusaError", "type", "code", "message", "date"]

/** A MedusaError (docs/errors.md) of `type` with exactly `message`, `code` undefined, own keys BASE_ERROR_KEYS first; returns it. */
export function assertMedusaError(value: unknown, type: string, message: string): any {
  assert.ok(value instanceof Error, `expected an Error, got ${inspect(value)}`)
  const error = value as any
  // type, message and name together first: a failure shows them all (e.g. a raw JsonWebTokenError).
  assert.deepEqual({ type: error.type, message: error.message, name: error.name }, { type, message, name: "Error" })
  assert.equal(MedusaError.isMedusaError(error), true, `expected a MedusaError, got ${String(error?.stack ?? error)}`)
  assert.equal(error.constructor.name, "MedusaError")
  assert.equal(error.__isMedusaError, true)
  assert.ok(Object.hasOwn(error, "code"), "code is an own property")
  assert.equal(error.code, undefined)
  assert.ok(error.date instanceof Date, "date is a Date")
  assert.deepEqual(Object.keys(error).slice(0, BASE_ERROR_KEYS.length), BASE_ERROR_KEYS)
  return error
}

/** `assertMedusaError` with a valid `date` and own keys exactly BASE_ERROR_KEYS (`allowIndex`: or a batch `index` after them). */
export function assertExactMedusaError(value: unknown, type: string, message: string, { allowIndex = false } = {}): any {
  const error = assertMedusaError(value, type, message)
  assert.ok(!Number.isNaN(error.date.getTime()), "date is a valid Date")
  const keys = Object.keys(error)
  if (allowIndex && keys.length === BASE_ERROR_KEYS.length + 1) assert.deepEqual(keys, [...BASE_ERROR_KEYS, "index"])
  else assert.deepEqual(keys, BASE_ERROR_KEYS)
  return error
}

/** The rejection of a call that must reject (asynchronously, never a synchronous throw). */
export async function rejectionOf(call: () => Promise<unknown>): Promise<any> {
  let promise: Promise<unknown> | undefined
  assert.doesNotThrow(() => {
    promise = call()
  }, "errors are rejections, never synchronous throws")
  assert.ok(promise instanceof Promise)
  return rejection(promise!)
}

/** Medusa's not_found message for an invite id. */
export const notFound = (id: string) => `Invite with id: ${id} was not found`

/** The keys of an InviteDTO, in order. */
export const INVITE_KEYS = ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at", "roles"]

/** A full InviteDTO: a plain object, INVITE_KEYS in order, Date times, deleted_at null or a Date. */
export function assertInviteDto(dto: InviteDTO): void {
  assert.equal(Object.getPrototypeOf(dto), Object.prototype)
  assert.deepEqual(Object.keys(dto), INVITE_KEYS)
  for (const key of ["expires_at", "created_at", "updated_at"] as const) assert.ok(dto[key] instanceof Date, `${key} is a Date`)
  assert.ok(dto.deleted_at === null || dto.deleted_at instanceof Date, "deleted_at is null or a Date")
}

/** The token with the first character of its signature changed (6 whole bits, always a change). */
export function withBadSignature(token: string): string {
  const [header, payload, signature] = token.split(".")
  return `${header}.${payload}.${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`
}
