#!/usr/bin/env node
"use strict";
// npm run bench: createInvites throughput through the JS API, side by side with the floor
// measured in the same run, on each configured backend:
//   * floor  = the same work (ids, tokens, the same store code and set-based insert, one
//              transaction) run by a Rust loop, with no JS boundary;
//   * commit = one durable SQLite commit of one row, the yardstick for single calls.
// Rounds alternate between the sides so machine noise hits both alike; medians are shown.
//
// Backends: the durable embedded store (SQLite, WAL, synchronous=FULL) always; PostgreSQL
// when MEDUSA_INVITES_BENCH_PG_URL (or MEDUSA_INVITES_TEST_PG_URL) names a server
// (postgres://user@host:port, no database: the bench creates and drops its own).
// Targets: a 10,000 batch at >= 60% of the floor (both backends); a single SQLite call's
// p50 <= 2x one durable commit. Then bench/cli.js: the CLI importing a 1,000,000-row CSV at
// >= 80% of the library's batch throughput, peak RSS < 200 MB.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { UserModuleService } = require("..");
const { runCliBench } = require("./cli");

/**
 * The benchmark build (`npm run build:bench`, cargo feature `bench`): the production code
 * plus the yardsticks `benchFloor`, `benchCommits` and `explainListInvites`, which the
 * published addon does not contain. The API side runs the production build (`..`).
 */
function loadBenchAddon() {
  const dir = path.join(__dirname, "..", "target", "bench-addon");
  const file = fs.existsSync(dir) && fs.readdirSync(dir).find((name) => name.endsWith(".node"));
  if (!file) throw new Error("The benchmark build is missing: run `npm run build:bench` (npm run bench does)");
  return require(path.join(dir, file));
}
const native = loadBenchAddon();
const SECRET = "bench-secret";
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-bench-"));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const emails = (n, prefix) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.com` }));
const pgServer = (process.env.MEDUSA_INVITES_BENCH_PG_URL ?? process.env.MEDUSA_INVITES_TEST_PG_URL ?? "").replace(/\/+$/, "");
const pgDatabase = `medusa_invites_bench_${process.pid}`;

function psql(database, sql) {
  execFileSync("psql", [`${pgServer}/${database}`, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: "pipe" });
}

/** A fresh, empty place to write, as a `database` option. */
let counter = 0;
const backends = {
  sqlite: {
    label: "durable SQLite (WAL, synchronous=FULL)",
    fresh: () => `sqlite:${path.join(workDir, `db-${counter++}.sqlite`)}`,
  },
  postgres: {
    label: "PostgreSQL (one schema per round)",
    fresh: () => ({ clientUrl: `${pgServer}/${pgDatabase}`, schema: `bench_${counter++}` }),
  },
};

/** ns for one createInvites call of `n` invites through the JS API on a fresh database. */
async function timeApi(backend, n, round) {
  const service = new UserModuleService({ jwt_secret: SECRET, database: backend.fresh() });
  // The first write opens the database (and creates the schema); keep it out of the timing, as the floor does.
  await service.createInvites({ email: "open@example.com" });
  const data = emails(n, `api${round}-`);
  const started = process.hrtime.bigint();
  await service.createInvites(data);
  const elapsed = Number(process.hrtime.bigint() - started);
  await service.close();
  return elapsed;
}

/** ns for the same work as a Rust loop on a fresh database. */
async function timeFloor(backend, n, round) {
  const options = JSON.stringify({ jwt_secret: SECRET, database: backend.fresh() });
  const reply = JSON.parse(await native.benchFloor(options, n, `floor${round}-`));
  if (reply.error) throw new Error(reply.error.message);
  return Number(reply.ok);
}

async function batches(backend) {
  const rows = [];
  for (const [n, rounds] of [[1, 30], [100, 15], [10_000, 7], [100_000, 3]]) {
    const api = [];
    const floor = [];
    for (let round = 0; round < rounds; round++) {
      api.push(await timeApi(backend, n, round));
      floor.push(await timeFloor(backend, n, round));
    }
    const apiRate = n / (median(api) / 1e9);
    const floorRate = n / (median(floor) / 1e9);
    rows.push({ batch: n, "createInvites/s": Math.round(apiRate), "floor/s": Math.round(floorRate), "of floor": `${((100 * apiRate) / floorRate).toFixed(0)}%` });
  }
  return rows;
}

/** p50 of single-invite calls, alternating with 50-commit rounds of the yardstick. */
async function singleCalls(backend, { commits }) {
  const service = new UserModuleService({ jwt_secret: SECRET, database: backend.fresh() });
  const commitFile = path.join(workDir, `commit-${counter++}.sqlite`);
  await service.createInvites({ email: "open@example.com" });
  const api = [];
  const commit = [];
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 50; i++) {
      const started = process.hrtime.bigint();
      await service.createInvites({ email: `single${round}-${i}@example.com` });
      api.push(Number(process.hrtime.bigint() - started));
    }
    if (!commits) continue;
    const reply = JSON.parse(await native.benchCommits(commitFile, 50));
    if (reply.error) throw new Error(reply.error.message);
    commit.push(...reply.ok);
  }
  await service.close();
  return { apiP50: median(api) / 1e6, commitP50: commits ? median(commit) / 1e6 : undefined };
}

/** 1,000 sequential single-invite calls: invites per second. */
async function sequential(backend) {
  const service = new UserModuleService({ jwt_secret: SECRET, database: backend.fresh() });
  await service.createInvites({ email: "open@example.com" });
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) await service.createInvites({ email: `seq${i}@example.com` });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await service.close();
  return Math.round(1000 / seconds);
}

/**
 * validateInviteToken throughput: 1,000 sequential calls on 1,000 fresh invites, side by side
 * with jsonwebtoken.verify alone (the npm package Medusa verifies with; CPU only, no database).
 */
async function validation(backend) {
  const jwt = require("jsonwebtoken");
  const service = new UserModuleService({ jwt_secret: SECRET, database: backend.fresh() });
  const invites = await service.createInvites(emails(1000, "validate-"));
  const api = [];
  const verifyOnly = [];
  for (let round = 0; round < 3; round++) {
    let started = process.hrtime.bigint();
    for (const invite of invites) await service.validateInviteToken(invite.token);
    api.push(Number(process.hrtime.bigint() - started));
    started = process.hrtime.bigint();
    for (const invite of invites) jwt.verify(invite.token, SECRET);
    verifyOnly.push(Number(process.hrtime.bigint() - started));
  }
  await service.close();
  return { perSecond: 1000 / (median(api) / 1e9), verifyPerSecond: 1000 / (median(verifyOnly) / 1e9) };
}

/** listInvites page latency over 100,000 invites: p50 and p99 of 200 pages of 50. */
async function listPages(backend) {
  const database = backend.fresh();
  const service = new UserModuleService({ jwt_secret: SECRET, database });
  await service.createInvites(emails(100_000, "list-"));
  const timings = [];
  for (let i = 0; i < 200; i++) {
    const skip = (i * 487) % 99_950;
    const started = process.hrtime.bigint();
    const page = await service.listInvites({}, { take: 50, skip });
    timings.push(Number(process.hrtime.bigint() - started));
    if (page.length !== 50) throw new Error(`a page held ${page.length} invites`);
  }
  await service.close();
  const sorted = [...timings].sort((a, b) => a - b);
  const plan = JSON.parse(await native.explainListInvites(JSON.stringify({ jwt_secret: SECRET, database }), "{}", '{"take":50}'));
  return { p50: median(timings) / 1e6, p99: sorted[Math.floor(sorted.length * 0.99)] / 1e6, plan: plan.ok ?? [] };
}

/** Peak RSS of a fresh process that creates `n` invites in one call. */
function peakRss(backend, n) {
  const script = `
    const { UserModuleService } = require(${JSON.stringify(path.join(__dirname, ".."))});
    const m = new UserModuleService({ jwt_secret: "s", database: ${JSON.stringify(backend.fresh())} });
    const data = Array.from({ length: ${n} }, (_, i) => ({ email: "rss" + i + "@example.com" }));
    m.createInvites(data).then(async () => { await m.close(); process.stdout.write(String(process.resourceUsage().maxRSS * 1024)); });`;
  return Number(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
}

async function report(name) {
  const backend = backends[name];
  console.log(`\n== ${backend.label}`);
  const rows = await batches(backend);
  console.table(rows);
  const single = await singleCalls(backend, { commits: name === "sqlite" });
  if (name === "sqlite") {
    console.log(`single-invite call p50: ${single.apiP50.toFixed(3)} ms; one durable SQLite commit p50: ${single.commitP50.toFixed(3)} ms; ratio ${(single.apiP50 / single.commitP50).toFixed(2)}x (target <= 2x)`);
  } else {
    console.log(`single-invite call p50: ${single.apiP50.toFixed(3)} ms`);
  }
  console.log(`1,000 sequential single calls: ${await sequential(backend)} invites/s`);
  const validate = await validation(backend);
  console.log(`validateInviteToken, 1,000 sequential calls: ${Math.round(validate.perSecond)}/s; jsonwebtoken.verify alone (no database): ${Math.round(validate.verifyPerSecond)}/s; ratio ${(validate.perSecond / validate.verifyPerSecond).toFixed(2)}x`);
  const list = await listPages(backend);
  console.log(`listInvites page of 50 over 100,000 invites: p50 ${list.p50.toFixed(3)} ms, p99 ${list.p99.toFixed(3)} ms; plan: ${list.plan.map((line) => line.trim()).join(" / ")}`);
  console.log(`peak RSS of a process creating 100,000 invites in one call: ${(peakRss(backend, 100_000) / 2 ** 20).toFixed(0)} MiB`);
  const tenThousand = rows.find((row) => row.batch === 10_000);
  console.log(`10,000 batch at ${tenThousand["of floor"]} of the floor (target >= 60%)`);
}

async function main() {
  console.log(`medusa-invites benchmark: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}`);
  await report("sqlite");
  // The CLI: a 1,000,000-row CSV against the library's batches, in this run (bench/cli.js).
  runCliBench();
  if (pgServer) {
    psql("postgres", `drop database if exists "${pgDatabase}" with (force)`);
    psql("postgres", `create database "${pgDatabase}"`);
    try {
      await report("postgres");
    } finally {
      psql("postgres", `drop database if exists "${pgDatabase}" with (force)`);
    }
  } else {
    console.log("\nPostgreSQL: not measured; set MEDUSA_INVITES_BENCH_PG_URL=postgres://user@host:5432 to include it.");
  }
  fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
