// Shared test helpers: a module on a fresh database of the backend under test, a way to
// read that database with an independent client (the sqlite3 shell, or psql), a recording
// event bus and a message aggregator shaped like Medusa's (@medusajs/utils MessageAggregator).
//
// The backend: MEDUSA_INVITES_TEST_BACKEND=sqlite (default) or postgres. For PostgreSQL each
// test process creates a database of its own on MEDUSA_INVITES_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432), gives each module a schema of its own (Medusa's
// `{ clientUrl, schema }` form), and drops the database when it exits.
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { UserModuleService, type EventMessage, type UserModuleOptions } from ".."

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
