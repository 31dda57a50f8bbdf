#!/usr/bin/env node
// medusa-invites vs the REAL @medusajs/user@2.21.2, side by side, in one run.
//
//   node bench/medusa/compare.mjs [--rounds N] [--quick] [--floors]
//
// --floors: only the PostgreSQL floors section below (and its peak-RSS child): a few minutes
// instead of most of an hour's Medusa comparison, for work on the PostgreSQL store.
//
// One PostgreSQL server (MEDUSA_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432, no
// database name), a fresh database per side: medusa_bench_medusa (Medusa's own migrations) and
// medusa_bench_ours (our module creates its tables). A third side, ours on embedded SQLite
// (durable default, synchronous=FULL, a fresh file per measurement), is reported in a second
// section against the same Medusa figures. All modules live in this process, warm, with a
// recording event bus; every round runs each workload on each side in turn (the order rotates
// per round so machine noise hits all alike), tables cleared, the server checkpointed and a GC forced before each
// timing; medians over the rounds are reported. A workload a side cannot complete is reported
// as failing it and not run on that side again (Medusa's 100 concurrent calls exhaust its pool:
// that costs one 60 s knex timeout per run). Peak RSS and event-loop delay during one large
// batch are measured in a fresh child process per side (this script, forked with --child).
// A last section measures the PostgreSQL floor of four workloads: the same work done by a plain
// `pg` client on Medusa's invite table (its indexes too) in a database of its own,
// medusa_bench_floor, rounds alternating with our side; it prints our share of each floor.
// Figures go to bench/medusa/last-run.json (last-floors.json with --floors). Exits 0 on a missed target: it is a report.
import { fork } from "node:child_process"
import crypto from "node:crypto"
import fs from "node:fs"
import { createRequire } from "node:module"
import os from "node:os"
import path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import v8 from "node:v8"
import vm from "node:vm"

process.env.MEDUSA_DISABLE_TELEMETRY ??= "true"
const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { UserModuleService } = require("../../index.js")
v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc")

const PG = (process.env.MEDUSA_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "")
const JWT_SECRET = "medusa-bench-secret"
const DB = { medusa: "medusa_bench_medusa", ours: "medusa_bench_ours", floor: "medusa_bench_floor" }

// ---------------------------------------------------------------- options and sizes
const argv = process.argv.slice(2)
const flag = (name) => { const i = argv.indexOf(name); return i < 0 ? undefined : argv[i + 1] }
const quick = argv.includes("--quick")
const floorsOnly = argv.includes("--floors")
const cfg = quick
  ? { rounds: 2, batches: [1, 100, 1000], seq: 100, conc: 100, validate: 100, listRows: 1000, pages: 10, bigBatch: 1000, floorBig: 20000, floorCalls: 100 }
  : { rounds: 5, batches: [1, 100, 1000, 10000], seq: 1000, conc: 100, validate: 1000, listRows: 10000, pages: 50, bigBatch: 10000, floorBig: 100000, floorCalls: 500 }
// floorBig: the large floor batch (100,000; a quick run stands 20,000 in for it, and says so);
// floorCalls: how many sequential single calls and validations the floor section times.
if (flag("--rounds")) cfg.rounds = Math.max(1, Number(flag("--rounds")) | 0)

// ---------------------------------------------------------------- small helpers
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const fmt = (n) => n.toLocaleString("en-US")
const round = (x, d = 1) => (x == null ? null : Number(x.toFixed(d)))
const emails = (n, tag) => Array.from({ length: n }, (_, i) => ({ email: `${tag}-${i}@bench.example.com` }))
async function timed(fn) { const t0 = performance.now(); const r = await fn(); return [performance.now() - t0, r] }
const implemented = (svc, method) => typeof svc[method] === "function"

/** The recording event bus: emit stores the messages (cheap), as Medusa's MockEventBusService does. */
function recordingBus() {
  return {
    messages: [],
    async emit(messages) { if (Array.isArray(messages)) this.messages.push(...messages); else this.messages.push(messages) },
    subscribe() { return this }, unsubscribe() { return this },
    async releaseGroupedEvents() {}, async clearGroupedEvents() {},
  }
}

async function adminSql(database, text) {
  const pg = require("pg")
  const client = new pg.Client({ connectionString: `${PG}/${database}` })
  await client.connect()
  try { return (await client.query(text)).rows } finally { await client.end() }
}

/**
 * Every measurement starts from the same quiet server: a CHECKPOINT flushes what the previous
 * one (either side's) left dirty, and a short pause lets autovacuum's analyze of the truncated
 * tables pass, so no side pays for the other's writes. Skipped silently without the privilege.
 */
async function settle() {
  try { await adminSql("postgres", "checkpoint") } catch {}
  await new Promise((resolve) => setTimeout(resolve, 200))
}

/** The server's durable-commit rate: a plain pg client, one single-row INSERT per commit, sequentially. */
async function pgCommitFloor(n) {
  const client = new (require("pg").Client)({ connectionString: `${PG}/${DB.ours}` })
  await client.connect()
  try {
    await client.query("create table commit_floor (id text primary key)")
    for (let i = 0; i < 20; i++) await client.query("insert into commit_floor values ($1)", [`warm-${i}`])
    const [ms] = await timed(async () => { for (let i = 0; i < n; i++) await client.query("insert into commit_floor values ($1)", [`row-${i}`]) })
    await client.query("drop table commit_floor")
    return (n * 1000) / ms
  } finally { await client.end() }
}

// ---------------------------------------------------------------- the sides
/** Medusa's user module through MedusaApp (as @medusajs/test-utils boots it), its own migrations. */
async function medusaSide({ migrate }) {
  const { MedusaApp, MedusaAppMigrateUp, MedusaModule } = require("@medusajs/framework/modules-sdk")
  const { Modules, ContainerRegistrationKeys, createPgConnection } = require("@medusajs/framework/utils")
  const silent = () => {}
  const logger = { debug: silent, info: silent, log: silent, warn: silent, error: silent, http: silent, verbose: silent,
    silly: silent, panic: silent, failure: silent, success: silent, progress: silent, activity: () => "",
    shouldLog: () => false, setLogLevel: silent, unsetLogLevel: silent }
  const bus = recordingBus()
  const database = { clientUrl: `${PG}/${DB.medusa}`, schema: "public" }
  const options = (connection, extra = {}) => ({
    modulesConfig: {
      [Modules.USER]: { resolve: "@medusajs/user", options: { jwt_secret: JWT_SECRET } },
      [Modules.LINK]: { initialize: async () => [], getMigrationPlanner: () => undefined }, // no links: skip @medusajs/medusa
    },
    sharedResourcesConfig: { database },
    cwd: here,
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: connection, [ContainerRegistrationKeys.LOGGER]: logger, ...extra },
  })
  if (migrate) {
    const connection = createPgConnection(database)
    const printed = { log: console.log, info: console.info }
    console.log = console.info = silent // the migrator narrates each migration
    try { await MedusaAppMigrateUp(options(connection)) } finally { Object.assign(console, printed); await connection.destroy() }
    MedusaModule.clearInstances()
  }
  const connection = createPgConnection(database)
  const app = await MedusaApp(options(connection, { [Modules.EVENT_BUS]: bus }))
  await app.onApplicationStart()
  const service = app.modules[Modules.USER]
  return {
    key: "medusa", label: "Medusa @medusajs/user 2.21.2 (PostgreSQL)", bus, service,
    async fresh() { await connection.raw('truncate invite, "user"'); bus.messages.length = 0; return service },
    analyze: () => connection.raw('analyze invite, "user"'),
    async close() {
      await app.onApplicationPrepareShutdown(); await app.onApplicationShutdown()
      await connection.destroy(); MedusaModule.clearInstances()
    },
  }
}

/** medusa-invites on PostgreSQL: one warm module; tables truncated with a pg client (not loaded in the RSS child). */
async function oursPgSide({ truncate = true } = {}) {
  const bus = recordingBus()
  const service = new UserModuleService({ jwt_secret: JWT_SECRET, database: `${PG}/${DB.ours}`, eventBus: bus })
  await service.createInvites({ email: "open@bench.example.com" }) // creates the tables
  const client = truncate && new (require("pg").Client)({ connectionString: `${PG}/${DB.ours}` })
  if (client) await client.connect()
  return {
    key: "oursPg", label: "medusa-invites (PostgreSQL)", bus, service,
    async fresh() { await client.query('truncate invite, "user" cascade'); bus.messages.length = 0; return service },
    analyze: () => client.query('analyze invite, "user", medusa_invites_roles'),
    async close() { if (client) await client.end(); await service.close() },
  }
}

/** medusa-invites on embedded SQLite: a fresh file (and module) per measurement, opened before timing. */
async function oursSqliteSide(dir) {
  const bus = recordingBus()
  let service, file, n = 0
  const drop = async () => {
    if (!service) return
    await service.close()
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true })
  }
  return {
    key: "oursSqlite", label: "medusa-invites (embedded SQLite, synchronous=FULL)", bus,
    get service() { return service },
    async fresh() {
      await drop()
      file = path.join(dir, `bench-${n++}.sqlite`)
      service = new UserModuleService({ jwt_secret: JWT_SECRET, database: `sqlite:${file}`, eventBus: bus })
      await service.createInvites({ email: "open@bench.example.com" }) // opens the file, creates the tables (untimed)
      bus.messages.length = 0
      return service
    },
    close: drop,
  }
}

// ---------------------------------------------------------------- workloads
// Each run(svc, tag) returns { value } (invites/s, or ms for list) or { na } when the side lacks the method.
function check(cond, what) { if (!cond) throw new Error(`sanity check failed: ${what}`) }

const workloads = [
  ...cfg.batches.map((n) => ({
    key: `batch_${n}`, label: `createInvites batch of ${fmt(n)}`, unit: "invites/s",
    // Small batches are single commits, too short to time once: a round takes the median of several calls.
    async run(svc, tag, side) {
      const times = []
      const calls = Array.from({ length: n === 1 ? 20 : n === 100 ? 5 : 1 }, (_, k) => emails(n, `${tag}-${k}`))
      gc() // once: a full GC before every tiny call leaves each one colder than a real call
      for (const data of calls) {
        side.bus.messages.length = 0
        const [ms, out] = await timed(() => svc.createInvites(data))
        // n "user.invite.created" + one "user.user.invite.token_generated" (Medusa's name, data: all invites)
        check(out.length === n && side.bus.messages.length === n + 1, `batch ${n}: ${out.length} DTOs, ${side.bus.messages.length} events`)
        times.push(ms)
      }
      return { value: (n * 1000) / median(times) }
    },
  })),
  {
    key: "sequential", label: `${fmt(cfg.seq)} sequential single calls`, unit: "invites/s",
    async run(svc, tag) {
      const data = emails(cfg.seq, tag)
      gc()
      const [ms] = await timed(async () => { for (const d of data) await svc.createInvites(d) })
      return { value: (cfg.seq * 1000) / ms }
    },
  },
  ...[cfg.conc, 8].map((c) => ({
    key: `concurrent_${c}`, unit: "invites/s",
    label: c === 8 ? "8 concurrent single calls (within Medusa's pool of 10)" : `${fmt(c)} concurrent single calls`,
    async run(svc, tag) {
      const data = emails(c, tag)
      gc()
      // allSettled: a failing side must not leave calls running into the next measurement.
      const [ms, out] = await timed(() => Promise.allSettled(data.map((d) => svc.createInvites(d))))
      const failed = out.filter((x) => x.status === "rejected")
      if (failed.length) throw new Error(`${failed.length} of ${c} calls rejected after ${(ms / 1000).toFixed(0)} s: ${failed[0].reason?.name}: ${failed[0].reason?.message}`)
      check(out.every((x, i) => x.value.email === data[i].email), "concurrent: DTO order")
      return { value: (c * 1000) / ms }
    },
  })),
  {
    key: "validate", label: `validateInviteToken × ${fmt(cfg.validate)} (sequential)`, unit: "tokens/s",
    async run(svc, tag) {
      if (!implemented(svc, "validateInviteToken")) return { na: true }
      const tokens = (await svc.createInvites(emails(cfg.validate, tag))).map((dto) => dto.token)
      gc()
      let last
      const [ms] = await timed(async () => { for (const t of tokens) last = await svc.validateInviteToken(t) })
      check(last?.email === `${tag}-${cfg.validate - 1}@bench.example.com`, "validate: last invite")
      return { value: (cfg.validate * 1000) / ms }
    },
  },
  {
    key: "validate_8", label: `validateInviteToken × ${fmt(cfg.validate)} (8 in flight)`, unit: "tokens/s",
    async run(svc, tag) {
      if (!implemented(svc, "validateInviteToken")) return { na: true }
      const tokens = (await svc.createInvites(emails(cfg.validate, tag))).map((dto) => dto.token)
      gc()
      let next = 0
      let valid = 0
      const worker = async () => { while (next < tokens.length) { const dto = await svc.validateInviteToken(tokens[next++]); if (dto.token) valid++ } }
      const [ms] = await timed(() => Promise.all(Array.from({ length: 8 }, worker)))
      check(valid === cfg.validate, "validate (8 in flight): every token valid")
      return { value: (cfg.validate * 1000) / ms }
    },
  },
]

/** listInvites: one seeded table per side; each round times cfg.pages consecutive 50-row pages from the middle. */
const listWorkload = {
  key: "list", label: `listInvites page (take 50, order id ASC) over ${fmt(cfg.listRows)} rows`, unit: "ms/page", lowerIsBetter: true,
  async seed(svc, tag) {
    if (!implemented(svc, "listInvites")) return false
    for (let i = 0; i < cfg.listRows; i += 1000) await svc.createInvites(emails(Math.min(1000, cfg.listRows - i), `${tag}-${i}`))
    return true
  },
  async run(svc) {
    const times = []
    const middle = Math.floor(cfg.listRows / 2) - Math.floor((cfg.pages * 50) / 2)
    gc()
    for (let p = 0; p < cfg.pages; p++) {
      const [ms, page] = await timed(() => svc.listInvites({}, { take: 50, skip: middle + p * 50, order: { id: "ASC" } }))
      check(page.length === 50 && page[0].id < page[49].id, "list: a page of 50 in id order")
      times.push(ms)
    }
    return { value: median(times) }
  },
}

// ---------------------------------------------------------------- the PostgreSQL floor
// What the server itself needs for each workload, measured with a plain pg client (no module,
// no checks, no events) on the same server, in a database of its own (medusa_bench_floor), on
// Medusa's invite table with its three indexes: every index is a b-tree the server must write,
// so a floor on a bare table would flatter the server and understate our share.

/** Medusa's invite table and indexes, as src/store/postgres.rs SCHEMA (Medusa's migration) creates them. */
const INVITE_DDL = `
create table if not exists "invite" ("id" text not null, "email" text not null,
  "accepted" boolean not null default false, "token" text not null,
  "expires_at" timestamptz not null, "metadata" jsonb null,
  "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(),
  "deleted_at" timestamptz null, constraint "invite_pkey" primary key ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "IDX_invite_email_unique" ON "invite" (email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS "IDX_invite_token" ON "invite" (token) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS "IDX_invite_deleted_at" ON "invite" (deleted_at) WHERE deleted_at IS NOT NULL;`

// The floor writes the same nine columns our module writes, one row per element of each array.
const INVITE_COLUMNS = "id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at"
const FLOOR_INSERT_MANY = `insert into invite (${INVITE_COLUMNS})
  select * from unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])`
const FLOOR_INSERT_ONE = { name: "floor_insert_one", text: `insert into invite (${INVITE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)` }
const FLOOR_SELECT_ONE = { name: "floor_select_one", text: `select ${INVITE_COLUMNS} from invite where id = $1` }

/**
 * The statement our module sends for one invite without roles: src/store/postgres/insert_one.sql
 * (the module compiles it in) less its roles part, as src/store/postgres/insert.rs takes it out.
 */
const INSERT_ONE = {
  name: "limit_insert_invite",
  text: fs.readFileSync(path.join(here, "../../src/store/postgres/insert_one.sql"), "utf8").replace(/-- roles\n[\s\S]*?-- end roles\n/, ""),
}
/** The class of the module's email locks (src/store/postgres/insert.rs, LOCK_CLASS). */
const LOCK_CLASS = 0x6d656475
/** One of the 64 lock buckets, spread as emails spread ours (one client takes them, so which one changes nothing). */
const lockBucket = (i) => i % 64
/** A plain pg client on our module's database, for the limit of the sequential calls (set in the floors section). */
let guardedClient

/**
 * n invite rows like the ones our module writes, made before any timing: `invite_` + a 26-character
 * ULID-like id, increasing within the batch as our ULIDs are (so the primary key grows at its
 * right edge on both sides), the emails of emails(n, tag), and an HS256 JWT of the same claims
 * as ours (id, email, iat, exp, jti), about 280 characters.
 */
function inviteRows(n, tag) {
  const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
  const base32 = (x, width) => { let s = ""; for (let i = 0; i < width; i++) { s = crockford[x % 32] + s; x = Math.floor(x / 32) } return s }
  const now = Date.now()
  const stamp = base32(now, 10) + base32(crypto.randomInt(2 ** 40), 8)
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString("base64url")
  const header = b64({ alg: "HS256", typ: "JWT" })
  const iat = Math.floor(now / 1000)
  const rows = emails(n, tag).map(({ email }, i) => {
    const id = `invite_${stamp}${base32(i, 8)}`
    const unsigned = `${header}.${b64({ id, email, iat, exp: iat + 86400, jti: crypto.randomUUID() })}`
    return { id, email, token: `${unsigned}.${crypto.createHmac("sha256", JWT_SECRET).update(unsigned).digest("base64url")}` }
  })
  return { rows, now: new Date(now).toISOString(), expiresAt: new Date(now + 86400_000).toISOString() }
}

/** The unnest statement's nine array parameters, already in PostgreSQL's array text (pg's own encoder), so timing starts at the send. */
function unnestParams({ rows, now, expiresAt }) {
  const { prepareValue } = require("pg/lib/utils")
  const all = (x) => rows.map(() => x)
  return [rows.map((r) => r.id), rows.map((r) => r.email), all(false), rows.map((r) => r.token), all(expiresAt), all(null), all(now), all(now), all(null)].map(prepareValue)
}
const oneRowParams = ({ rows, now, expiresAt }) => rows.map((r) => [r.id, r.email, false, r.token, expiresAt, null, now, now, null])

/** The floor's side: one plain pg client (autocommit) on medusa_bench_floor. */
async function floorSide() {
  const client = new (require("pg").Client)({ connectionString: `${PG}/${DB.floor}` })
  await client.connect()
  await client.query(INVITE_DDL)
  return {
    key: "floor", label: "PostgreSQL floor (plain pg client)", client,
    async fresh() { await client.query("truncate invite"); return client },
    close: () => client.end(),
  }
}

/** The floor must be timed on the table our module writes: same columns, same index definitions. */
async function checkSameInviteTable() {
  const shape = async (db) => JSON.stringify([
    await adminSql(db, "select column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'public' and table_name = 'invite' order by ordinal_position"),
    await adminSql(db, "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'invite' order by indexname"),
  ])
  check((await shape(DB.floor)) === (await shape(DB.ours)), "the floor's invite table differs from the one medusa-invites creates")
}

/** Our side of the sequential workloads: createInvites({ email }) one after the other. */
async function sequentialCreates(svc, tag) {
  const data = emails(cfg.floorCalls, tag)
  gc()
  const [ms] = await timed(async () => { for (const d of data) await svc.createInvites(d) })
  return { value: (cfg.floorCalls * 1000) / ms }
}

// Each floor workload times the same work on both sides: floor(client, tag) with the plain client,
// ours(svc, tag) with our module; each returns { value } in invites/s (tokens/s).
const floorWorkloads = [
  ...[10000, cfg.floorBig].map((n) => ({
    key: `floor_batch_${n}`, unit: "invites/s", target: 85,
    label: `${fmt(n)} batch${quick && n === cfg.floorBig ? " (QUICK: stands in for 100,000)" : ""}`,
    async floor(client, tag) {
      const params = unnestParams(inviteRows(n, tag))
      gc()
      const [ms, res] = await timed(() => client.query(FLOOR_INSERT_MANY, params))
      check(res.rowCount === n, `floor batch ${n}: ${res.rowCount} rows`)
      return { value: (n * 1000) / ms }
    },
    async ours(svc, tag) {
      const data = emails(n, tag)
      gc()
      const [ms, out] = await timed(() => svc.createInvites(data))
      check(out.length === n, `batch ${n}: ${out.length} DTOs`)
      return { value: (n * 1000) / ms }
    },
  })),
  {
    key: "floor_sequential", unit: "invites/s", target: 75, label: `${fmt(cfg.floorCalls)} sequential single calls`,
    async floor(client, tag) {
      const values = oneRowParams(inviteRows(cfg.floorCalls, tag))
      gc()
      const [ms] = await timed(async () => { for (const v of values) await client.query({ ...FLOOR_INSERT_ONE, values: v }) })
      return { value: (cfg.floorCalls * 1000) / ms }
    },
    ours: sequentialCreates,
  },
  {
    // Not a target: the limit of the sequential calls on this server. The same single calls
    // made by a plain pg client sending the statement our module sends for one invite (the
    // email's advisory lock, the check against live users, the insert, the outbox row), on
    // our database: what the server needs for the guarantees we keep, with no module around it.
    key: "floor_sequential_function", unit: "invites/s", target: null, label: `${fmt(cfg.floorCalls)} sequential single calls (limit)`,
    async floor(_client, tag) {
      const { rows, now, expiresAt } = inviteRows(cfg.floorCalls, tag)
      const [nowMs, expiresMs] = [Date.parse(now), Date.parse(expiresAt)]
      const values = rows.map((r, i) => [r.id, r.email, false, r.token, expiresMs, null, nowMs, nowMs, null,
        LOCK_CLASS, lockBucket(i), JSON.stringify({ events: [{ type: "invitesCreated", ids: [r.id] }] }), nowMs])
      gc()
      const outbox = []
      const [ms] = await timed(async () => {
        for (const v of values) {
          const { rows: [written] } = await guardedClient.query({ ...INSERT_ONE, values: v })
          outbox.push(written.outbox_id)
        }
      })
      check(outbox.length === cfg.floorCalls && outbox.every((id) => id !== null), "limit: every call wrote its invite and outbox row")
      // Delivered, as our module marks its rows (untimed): otherwise its sweep would deliver them.
      await guardedClient.query("update medusa_invites_outbox set delivered_at = now() where id = any($1)", [outbox])
      return { value: (cfg.floorCalls * 1000) / ms }
    },
    ours: sequentialCreates,
  },
  {
    key: "floor_validate", unit: "tokens/s", target: 90, label: `validateInviteToken × ${fmt(cfg.floorCalls)} (sequential)`,
    async floor(client, tag) {
      const made = inviteRows(cfg.floorCalls, tag)
      await client.query(FLOOR_INSERT_MANY, unnestParams(made)) // the invites to read (untimed, as ours)
      gc()
      let last
      const [ms] = await timed(async () => { for (const r of made.rows) last = (await client.query({ ...FLOOR_SELECT_ONE, values: [r.id] })).rows[0] })
      check(last?.email === `${tag}-${cfg.floorCalls - 1}@bench.example.com`, "floor validate: last invite")
      return { value: (cfg.floorCalls * 1000) / ms }
    },
    async ours(svc, tag) {
      const tokens = (await svc.createInvites(emails(cfg.floorCalls, tag))).map((dto) => dto.token)
      gc()
      let last
      const [ms] = await timed(async () => { for (const t of tokens) last = await svc.validateInviteToken(t) })
      check(last?.email === `${tag}-${cfg.floorCalls - 1}@bench.example.com`, "validate: last invite")
      return { value: (cfg.floorCalls * 1000) / ms }
    },
  },
]

// ---------------------------------------------------------------- child: peak RSS + event-loop delay
/**
 * This process's own peak RSS. Not `resourceUsage().maxRSS`: that survives exec, so a child
 * forked from a large parent reports the parent's size at the fork. `VmHWM` belongs to this
 * process's own address space (Linux); elsewhere maxRSS is the best there is.
 */
function peakRssKiB() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))
    if (hwm) return Number(hwm[1])
  } catch {}
  return process.resourceUsage().maxRSS
}

/**
 * The floor of the peak RSS: a process that holds what a createInvites call of n must return
 * and emit, with no module: the input, n DTOs of Medusa's shape (Dates, a ~280-character token
 * each), and the n + 1 event messages, kept by the recording bus as on our side.
 */
async function rssFloorChild(n) {
  const data = emails(n, "child-batch")
  const bus = recordingBus()
  const [ms] = await timed(async () => {
    const now = Date.now()
    const { rows } = inviteRows(n, "child-floor")
    const dtos = rows.map((row, i) => ({ id: row.id, email: data[i].email, accepted: false, token: row.token,
      expires_at: new Date(now + 86400_000), metadata: null, created_at: new Date(now), updated_at: new Date(now), deleted_at: null, roles: null }))
    const metadata = (action) => ({ source: "user", object: "invite", action, eventGroupId: crypto.randomUUID() })
    const messages = dtos.map((dto) => ({ name: "invite.created", metadata: metadata("created"), data: { id: dto.id }, options: undefined }))
    messages.push({ name: "invite.token_generated", metadata: metadata("token_generated"), data: { id: dtos.map((dto) => dto.id) }, options: undefined })
    await bus.emit(messages)
    return dtos
  })
  process.send({ batch: n, batchMs: ms, maxRssKiB: peakRssKiB() }, () => process.exit(0))
}

async function child(kind, n, dir) {
  if (kind === "rssFloor") return rssFloorChild(n)
  const side = kind === "medusa" ? await medusaSide({ migrate: false }) : kind === "oursPg" ? await oursPgSide({ truncate: false }) : await oursSqliteSide(dir)
  const svc = kind === "oursSqlite" ? await side.fresh() : side.service
  await svc.createInvites(emails(100, "child-warmup")) // warm up after boot
  const data = emails(n, "child-batch")
  const eld = monitorEventLoopDelay({ resolution: 1 })
  eld.enable()
  const [ms] = await timed(() => svc.createInvites(data))
  eld.disable()
  const result = { batch: n, batchMs: ms, maxRssKiB: peakRssKiB(), eldMaxMs: eld.max / 1e6, eldP99Ms: eld.percentile(99) / 1e6 }
  await side.close()
  process.send(result, () => process.exit(0))
}

function runChild(kind, dir, n = cfg.bigBatch) {
  return new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ["--child", kind, "--batch", String(n), "--dir", dir], { stdio: "inherit" })
    let result
    p.on("message", (m) => { result = m })
    p.on("error", reject)
    p.on("exit", (code) => (result ? resolve(result) : reject(new Error(`child ${kind} exited with ${code} and no result`))))
  })
}

// ---------------------------------------------------------------- report helpers
function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String))
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")
  return [line(all[0]), w.map((x) => "-".repeat(x)).join("  "), ...all.slice(1).map(line)].join("\n")
}
const markdown = (header, rows) =>
  [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n")
/** ours vs Medusa as a speed ratio (>1 = ours faster). */
const speedup = (w, ours, medusa) => (ours == null || medusa == null ? null : w.lowerIsBetter ? medusa / ours : ours / medusa)
const ratioText = (r) => (r == null ? "n/a" : r >= 1 ? `${r.toFixed(1)}× faster` : `${(1 / r).toFixed(1)}× slower`)
const valueText = (w, x) =>
  x.failed ? "FAILS (see below)" : x.na ? "n/a (not implemented yet)" : w.lowerIsBetter ? `${median(x.values).toFixed(2)} ms` : `${fmt(Math.round(median(x.values)))} ${w.unit}`

// ---------------------------------------------------------------- main
/** The comparison with Medusa: every workload on the three sides, then the children. */
async function compareWithMedusa(sqliteDir, machine, measure, results) {
  machine.pgCommitsPerSec = round(await pgCommitFloor(cfg.seq), 0)
  console.log(`PostgreSQL commit floor: ${fmt(machine.pgCommitsPerSec)} commits/s (a pg client, one single-row INSERT per commit, ${fmt(cfg.seq)} in a row):`)
  console.log("  no sequential single-call workload can pass this on PostgreSQL, whatever the module\n")
  const sides = [await medusaSide({ migrate: true }), await oursPgSide(), await oursSqliteSide(sqliteDir)]
  for (const side of sides) results[side.key] = {}

  process.stderr.write("warm-up …\n")
  for (const side of sides) {
    const svc = await side.fresh()
    await svc.createInvites(emails(100, "warm-batch"))
    for (const d of emails(50, "warm-seq")) await svc.createInvites(d)
    await Promise.all(emails(5, "warm-conc").map((d) => svc.createInvites(d))) // ≥ 10 deadlocks Medusa's pool of 10
    if (implemented(svc, "validateInviteToken")) for (const dto of await svc.createInvites(emails(50, "warm-val"))) await svc.validateInviteToken(dto.token)
  }
  for (let r = 0; r < cfg.rounds; r++) {
    const order = sides.map((_, i) => sides[(i + r) % sides.length])
    for (const w of workloads) {
      for (const side of order) {
        const svc = await side.fresh()
        await settle()
        await measure(side, w, async () => w.run(svc, `${side.key}-${w.key}-r${r}`, side))
      }
    }
    process.stderr.write(`round ${r + 1}/${cfg.rounds} done\n`)
  }
  for (const side of sides) {
    const svc = await side.fresh()
    if (!(await listWorkload.seed(svc, `${side.key}-list`))) { note(side, listWorkload, { na: true }); continue }
    // Fresh planner statistics, as autovacuum would give within a minute: without them PostgreSQL
    // guesses ~100 rows and sorts the whole table for every page, on both PostgreSQL sides.
    await side.analyze?.()
    await listWorkload.run(svc) // warm-up, discarded
    for (let r = 0; r < cfg.rounds; r++) await measure(side, listWorkload, () => listWorkload.run(svc))
  }
  process.stderr.write("list pages done\n")

  for (const side of sides) await side.close()

  const children = {}
  for (const key of ["medusa", "oursPg", "oursSqlite"]) {
    process.stderr.write(`child process: ${key}, peak RSS and event-loop delay during a ${fmt(cfg.bigBatch)} batch …\n`)
    if (key !== "oursSqlite") await adminSql(DB[key === "medusa" ? "medusa" : "ours"], `truncate invite, "user" ${key === "medusa" ? "" : "cascade"}`)
    children[key] = await runChild(key, sqliteDir)
  }
  return { sides, children }
}

async function main() {
  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-bench-"))
  const [{ version: pgVersion }] = await adminSql("postgres", "select version()")
  const pgSettings = Object.fromEntries((await adminSql("postgres", "select name, setting from pg_settings where name in ('fsync','synchronous_commit','shared_buffers')")).map((r) => [r.name, r.setting]))
  const machine = {
    cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, ramGiB: round(os.totalmem() / 2 ** 30), node: process.version,
    postgres: pgVersion.split(" on ")[0], pgSettings, os: `${os.platform()} ${os.release()}`, loadAvgStart: os.loadavg().map((x) => round(x, 2)),
  }
  console.log(`medusa-invites vs ${floorsOnly ? "the PostgreSQL floors only" : "@medusajs/user 2.21.2"} — ${quick ? "QUICK SMOKE RUN (fewer rounds, smaller sizes: not for citing)" : "full run"}, ${cfg.rounds} rounds, medians`)
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, ${machine.os}, load avg ${machine.loadAvgStart.join(" ")}`)
  console.log(`node ${machine.node}; ${machine.postgres} at ${PG} (fsync=${pgSettings.fsync}, synchronous_commit=${pgSettings.synchronous_commit}); SQLite files in ${sqliteDir}`)
  console.log("pools: Medusa knex max 10, medusa-invites deadpool 10; event bus: a recording mock on every side;")
  console.log("list pages: on a table seeded once per side, ANALYZEd (PostgreSQL) before timing\n")

  for (const db of Object.values(DB)) {
    await adminSql("postgres", `drop database if exists ${db} with (force)`)
    await adminSql("postgres", `create database ${db}`)
  }
  const results = {}
  const note = (side, w, r) => {
    const x = ((results[side.key] ??= {})[w.key] ??= { values: [], na: false, failed: null })
    if (r.na) x.na = true
    else if (r.failed) x.failed = r.failed
    else x.values.push(r.value)
  }
  /** Runs one measurement; a side that fails a workload is recorded as failing it and not run on it again. */
  const measure = async (side, w, run) => {
    if (results[side.key]?.[w.key]?.failed) return
    try { note(side, w, await run()) } catch (error) {
      note(side, w, { failed: error.message })
      process.stderr.write(`${side.label} FAILS "${w.label}": ${error.message}\n`)
    }
  }
  const comparison = floorsOnly ? null : await compareWithMedusa(sqliteDir, machine, measure, results)
  // Our peak RSS in the large floor batch, in a fresh child as above. Forked here, before the
  // floor rounds grow this process: a child's maxRSS starts from the parent's RSS at fork
  // (Linux keeps the pre-exec high-water mark), so a big parent would mask the child's own peak.
  process.stderr.write(`child process: oursPg, peak RSS during a ${fmt(cfg.floorBig)} batch …\n`)
  if (comparison) await adminSql(DB.ours, 'truncate invite, "user" cascade') // (with --floors the database is new)
  const floorChild = await runChild("oursPg", sqliteDir, cfg.floorBig)
  process.stderr.write(`child process: the RSS floor, what a ${fmt(cfg.floorBig)} batch returns and emits, no module …\n`)
  const rssFloor = await runChild("rssFloor", sqliteDir, cfg.floorBig)

  // ------------------------------------------------------------ PostgreSQL floors
  // Rounds of their own, after everything above (so that section runs as it always has), on a
  // fresh module: in each, every floor workload runs on the plain client and on our module back
  // to back (which goes first alternates per round), each from a cleared, checkpointed table,
  // so the machine's noise falls on both halves of each share.
  await adminSql(DB.ours, 'truncate invite, "user" cascade') // the children's rows (oursPgSide inserts one invite)
  const ours = await oursPgSide()
  const floor = await floorSide()
  await checkSameInviteTable()
  guardedClient = new (require("pg").Client)({ connectionString: `${PG}/${DB.ours}` })
  await guardedClient.connect()
  results.floor = {}
  process.stderr.write("floor warm-up …\n")
  {
    // Warm both connections and prepare the floor's named statements (Parse happens once per
    // connection, as our module's statement cache does), outside any timing.
    const client = await floor.fresh()
    const warm = inviteRows(50, "floor-warm")
    await client.query(FLOOR_INSERT_MANY, unnestParams(inviteRows(100, "floor-warm-batch")))
    for (const v of oneRowParams(warm)) await client.query({ ...FLOOR_INSERT_ONE, values: v })
    for (const r of warm.rows) await client.query({ ...FLOOR_SELECT_ONE, values: [r.id] })
    const svc = await ours.fresh()
    await svc.createInvites(emails(100, "floor-warm-batch"))
    for (const dto of await svc.createInvites(emails(50, "floor-warm-val"))) await svc.validateInviteToken(dto.token)
  }
  for (let r = 0; r < cfg.rounds; r++) {
    for (const w of floorWorkloads) {
      for (const side of r % 2 ? [ours, floor] : [floor, ours]) {
        const target = await side.fresh()
        await settle()
        const tag = `${side.key}-${w.key}-r${r}`
        await measure(side, w, () => (side === floor ? w.floor(target, tag) : w.ours(target, tag)))
      }
    }
    process.stderr.write(`floor round ${r + 1}/${cfg.rounds} done\n`)
  }
  await guardedClient.end()
  await floor.close()
  await ours.close()

  for (const db of Object.values(DB)) await adminSql("postgres", `drop database if exists ${db} with (force)`)
  fs.rmSync(sqliteDir, { recursive: true, force: true })

  // ------------------------------------------------------------ report
  const med = (key, w) => { const x = results[key][w.key]; return x.na || x.failed || !x.values.length ? null : median(x.values) }
  const report = { quick, floorsOnly, config: cfg, machine, workloads: {}, children: comparison?.children, sections: {} }
  const md = []
  if (comparison) {
    const { sides, children } = comparison
    const all = [...workloads, listWorkload]
    const bigKey = `batch_${cfg.bigBatch}`
    for (const w of all) report.workloads[w.key] = { label: w.label, unit: w.unit, ...Object.fromEntries(sides.map((s) => [s.key, { median: round(med(s.key, w), 3), rounds: results[s.key][w.key].values.map((v) => round(v, 3)), implemented: !results[s.key][w.key].na, failed: results[s.key][w.key].failed }])) }
    const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`

    for (const [key, title] of [["oursPg", "same storage: medusa-invites on PostgreSQL vs Medusa on PostgreSQL"], ["oursSqlite", "different storage: medusa-invites on embedded SQLite vs Medusa on PostgreSQL (Medusa figures from the runs above)"]]) {
      const rows = all.map((w) => [w.label, valueText(w, results.medusa[w.key]), valueText(w, results[key][w.key]),
        results.medusa[w.key].failed && !results[key][w.key].failed && !results[key][w.key].na ? "only ours completes" : ratioText(speedup(w, med(key, w), med("medusa", w)))])
      const failures = all.flatMap((w) => ["medusa", key].filter((k) => results[k][w.key].failed).map((k) => `  ${k === "medusa" ? "Medusa" : "medusa-invites"}, ${w.label}: ${results[k][w.key].failed}`))
      if (failures.some((f) => f.startsWith("  Medusa") && /Timeout acquiring a connection/.test(f))) {
        failures.push("  (why: Medusa's createInvites_ runs in a transaction holding one pooled connection and calls this.listUsers()",
          "   without its context, which needs a second connection from the same pool; with as many calls in flight as the",
          "   pool has connections (10), each waits for another's connection until knex gives up after 60 s)")
      }
      const m = children.medusa, o = children[key]
      rows.push([`peak RSS, boot + one ${fmt(cfg.bigBatch)} batch (child)`, mib(m.maxRssKiB), mib(o.maxRssKiB), `${(m.maxRssKiB / o.maxRssKiB).toFixed(1)}× less`])
      rows.push([`max event-loop delay during that batch`, `${m.eldMaxMs.toFixed(1)} ms`, `${o.eldMaxMs.toFixed(1)} ms`, `${(m.eldMaxMs / o.eldMaxMs).toFixed(1)}× less`])
      const header = ["workload", "Medusa (PostgreSQL)", key === "oursPg" ? "medusa-invites (PostgreSQL)" : "medusa-invites (SQLite)", "ours vs Medusa"]
      const r = (w) => speedup(w, med(key, w), med("medusa", w))
      const byKey = Object.fromEntries(all.map((w) => [w.key, w]))
      /** Why a workload has no ratio: not implemented on our side, or a failure on either side. */
      const missing = (w) => (results[key][w.key].na ? "n/a (not implemented yet)" : "n/a (a side failed, see above)")
      const targets = [
        [`${fmt(cfg.bigBatch)} batch throughput ≥ 30× Medusa`, byKey[bigKey], 30],
        [`${fmt(cfg.seq)} sequential single calls ≥ 10×`, byKey.sequential, 10],
        ["validateInviteToken ≥ 20× (sequential)", byKey.validate, 20],
        ["validateInviteToken ≥ 20× (8 in flight)", byKey.validate_8, 20],
        ["max event-loop delay ≤ 1/20 of Medusa's", m.eldMaxMs / o.eldMaxMs, 20],
        ["peak RSS lower than Medusa's", m.maxRssKiB / o.maxRssKiB, 1.0001],
      ].map(([label, w, min]) => {
        const x = typeof w === "number" ? w : r(w)
        return [label, x == null ? "n/a" : `${x.toFixed(1)}×`, x == null ? missing(w) : x >= min ? "PASS" : "MISS"]
      })
      report.sections[key] = { title, targets: targets.map(([target, measured, verdict]) => ({ target, measured, verdict })) }
      console.log(`\n== ${title}${quick ? "  [QUICK: reduced sizes]" : ""}\n`)
      console.log(table(header, rows))
      if (failures.length) console.log(`\nfailures:\n${failures.join("\n")}`)
      console.log(`\ntargets${quick ? " (QUICK run: sizes reduced, indicative only)" : ""}:\n`)
      console.log(table(["target", "measured", "verdict"], targets))
      const misses = targets.filter((t) => t[2] === "MISS")
      if (misses.length) console.log(`\nMISSED (${misses.length}): ${misses.map((t) => `${t[0]} (measured ${t[1]})`).join("; ")}`)
      md.push(`**${title}**${quick ? " (quick run)" : ""}\n\n${markdown(header, rows)}${failures.length ? `\n\n${failures.map((f) => f.trim()).join("\n")}` : ""}`)
    }
  }
  // ------------------------------------------------------------ report: PostgreSQL floors
  {
    const title = "PostgreSQL floors: medusa-invites' share of what a plain pg client does on the same server and table"
    const mb = (kib) => (kib * 1024) / 1e6 // the RSS target is in MB (10^6 bytes), stricter than MiB
    const floors = { config: { rounds: cfg.rounds, bigBatch: cfg.floorBig, calls: cfg.floorCalls }, workloads: {}, peakRss: null }
    const rows = floorWorkloads.map((w) => {
      const f = med("floor", w), o = med("oursPg", w)
      // The share is taken round by round, then its median: the two halves of a round ran back
      // to back, so a burst of machine noise lands on both and cancels in their ratio, where a
      // ratio of the two sides' medians could pair a quiet round of one with a noisy one of the other.
      const [floorRates, ourRates] = [results.floor[w.key].values, results.oursPg[w.key].values]
      const perRound = ourRates.slice(0, floorRates.length).map((v, i) => (100 * v) / floorRates[i])
      const share = f == null || o == null || !perRound.length ? null : median(perRound)
      const verdict = share == null ? "n/a (a side failed)" : w.target === null ? "" : share >= w.target ? "PASS" : "MISS"
      const target = w.target === null ? "(limit)" : `≥ ${w.target}%`
      floors.workloads[w.key] = { label: w.label, unit: w.unit, target,
        floor: { median: round(f, 3), rounds: floorRates.map((v) => round(v, 3)), failed: results.floor[w.key].failed },
        oursPg: { median: round(o, 3), rounds: ourRates.map((v) => round(v, 3)), failed: results.oursPg[w.key].failed },
        share: round(share), shareRounds: perRound.map((x) => round(x)), shareOfMedians: f && o ? round((100 * o) / f) : null, verdict }
      return [w.label, valueText(w, results.floor[w.key]), valueText(w, results.oursPg[w.key]), share == null ? "n/a" : `${share.toFixed(1)}%`,
        perRound.length ? `${Math.min(...perRound).toFixed(0)}–${Math.max(...perRound).toFixed(0)}%` : "n/a", target, verdict]
    })
    const rss = mb(floorChild.maxRssKiB)
    const rssFloorMb = mb(rssFloor.maxRssKiB)
    floors.peakRss = { batch: cfg.floorBig, maxRssKiB: floorChild.maxRssKiB, mb: round(rss), floorMb: round(rssFloorMb), target: "< 300 MB", verdict: rss < 300 ? "PASS" : "MISS", batchMs: round(floorChild.batchMs) }
    rows.push([`peak RSS, boot + one ${fmt(cfg.floorBig)} batch (child)`, `${rssFloorMb.toFixed(1)} MB`, `${rss.toFixed(1)} MB`, "", "", "< 300 MB", floors.peakRss.verdict])
    const header = ["workload", "floor (plain pg client)", "medusa-invites (PostgreSQL)", "share", "rounds' shares", "target", "verdict"]
    report.floors = floors
    console.log(`\n== ${title}${quick ? "  [QUICK: reduced sizes]" : ""}\n`)
    console.log("floor: batches are one INSERT … SELECT FROM unnest(…) of pre-made rows (ids, emails, ~280-char tokens); single calls")
    console.log("a prepared one-row INSERT each; validate a prepared primary-key SELECT each; all autocommit, on Medusa's invite")
    console.log(`table and its three indexes in ${DB.floor}. Rates: medians over ${cfg.rounds} rounds; share: our rate / the floor's rate`)
    console.log("in each round (its two halves ran back to back), median over the rounds. The RSS floor: a process holding")
    console.log("the input, the DTOs and the event messages of the same batch (what the call must return and emit), no module.")
    console.log("(limit): the same single calls by a plain pg client sending the statement our module sends for one invite")
    console.log("(email lock, check against users, insert, outbox row; src/store/postgres/insert_one.sql), in our database: not a target,")
    console.log("the share of the server's own cost of the guarantees kept that our path reaches.")
    if (quick) console.log(`QUICK: the 100,000 batch (and its peak RSS) is run as ${fmt(cfg.floorBig)}; ${fmt(cfg.floorCalls)} single calls / validations instead of 500.`)
    console.log(`\n${table(header, rows)}`)
    const failures = floorWorkloads.flatMap((w) => ["floor", "oursPg"].filter((k) => results[k][w.key].failed).map((k) => `  ${k === "floor" ? "floor" : "medusa-invites"}, ${w.label}: ${results[k][w.key].failed}`))
    if (failures.length) console.log(`\nfailures:\n${failures.join("\n")}`)
    // How much of the plain floor the guarantees leave: the limit's floor over the plain one,
    // round by round (both ran in the same round), median over the rounds.
    const [plainRates, limitRates] = ["floor_sequential", "floor_sequential_function"].map((key) => results.floor[key].values)
    const limitShares = limitRates.slice(0, plainRates.length).map((v, i) => (100 * v) / plainRates[i])
    const limitShare = limitShares.length ? median(limitShares) : null
    floors.sequentialLimitShare = { median: round(limitShare), rounds: limitShares.map((x) => round(x)) }
    const limitLine = limitShare == null ? "" : `The (limit) floor is ${limitShare.toFixed(1)}% of the plain one (rounds ${Math.min(...limitShares).toFixed(0)}–${Math.max(...limitShares).toFixed(0)}%): the highest share of the plain floor that sequential single calls can reach while keeping the email lock, the check against users and the outbox row.`
    if (limitLine) console.log(`\n${limitLine}`)
    const misses = rows.filter((r) => r[6] === "MISS")
    // A target above what the guarantees leave of the plain floor in this run cannot be met in it.
    const sequential = floorWorkloads.find((w) => w.key === "floor_sequential")
    const beyond = (r) => r[0] === sequential.label && limitShare != null && limitShare < sequential.target ? `; above this run's limit, ${limitShare.toFixed(1)}%` : ""
    if (misses.length) console.log(`\nMISSED (${misses.length}): ${misses.map((r) => `${r[0]} (${r[3] || r[2]}, target ${r[5]}${beyond(r)})`).join("; ")}`)
    md.push(`**${title}**${quick ? " (quick run)" : ""}\n\n${markdown(header, rows)}${limitLine ? `\n\n${limitLine}` : ""}`)
  }
  const figures = path.join(here, floorsOnly ? "last-floors.json" : "last-run.json")
  machine.loadAvgEnd = os.loadavg().map((x) => round(x, 2))
  console.log(`\nload avg at end ${machine.loadAvgEnd.join(" ")} (a shared machine adds noise; see the per-round figures in ${path.basename(figures)})`)
  console.log("\n---- Markdown for the README ----\n")
  console.log(`${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, Node ${machine.node}, ${machine.postgres}; ${cfg.rounds} rounds, medians.\n`)
  console.log(md.join("\n\n"))
  fs.writeFileSync(figures, JSON.stringify(report, null, 2) + "\n")
  console.log(`\nfigures written to ${path.relative(process.cwd(), figures)}`)
}

if (flag("--child")) child(flag("--child"), Number(flag("--batch")), flag("--dir")).catch((e) => { console.error(e); process.exit(1) })
else main().catch((e) => { console.error("bench failed:", e); process.exit(1) })
