#!/usr/bin/env node
"use strict";
// npm run bench: createInvites throughput on the durable embedded store (SQLite, WAL,
// synchronous=FULL), side by side with the floor measured in the same run:
//   * floor     = the same work (ids, tokens, one transaction) as a Rust loop, no JS boundary;
//   * commit    = one durable SQLite commit of one row, the yardstick for single calls.
// Rounds alternate between the two sides so machine noise hits both alike; medians are shown.
// Targets (issue 2): a 10,000 batch at >= 60% of the floor; single-call p50 <= 2x one commit.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { UserModuleService } = require("..");
const { loadNative } = require("../lib/native");

const native = loadNative();
const SECRET = "bench-secret";
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-bench-"));
let fileCounter = 0;
const freshDatabase = () => path.join(workDir, `db-${fileCounter++}.sqlite`);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const emails = (n, prefix) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.com` }));

/** ns for one createInvites call of `n` invites through the JS API on a fresh database. */
async function timeApi(n, round) {
  const service = new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${freshDatabase()}` });
  // The first write opens the database; keep it out of the timing, as the floor does.
  await service.createInvites({ email: "open@example.com" });
  const data = emails(n, `api${round}-`);
  const started = process.hrtime.bigint();
  await service.createInvites(data);
  const elapsed = Number(process.hrtime.bigint() - started);
  await service.close();
  return elapsed;
}

/** ns for the same work as a Rust loop on a fresh database. */
async function timeFloor(n, round) {
  const options = JSON.stringify({ jwt_secret: SECRET, database: `sqlite:${freshDatabase()}` });
  const reply = JSON.parse(await native.benchFloor(options, n, `floor${round}-`));
  if (reply.error) throw new Error(reply.error.message);
  return Number(reply.ok);
}

async function batches() {
  const rows = [];
  for (const [n, rounds] of [[1, 30], [100, 15], [10_000, 7], [100_000, 3]]) {
    const api = [];
    const floor = [];
    for (let round = 0; round < rounds; round++) {
      api.push(await timeApi(n, round));
      floor.push(await timeFloor(n, round));
    }
    const apiRate = n / (median(api) / 1e9);
    const floorRate = n / (median(floor) / 1e9);
    rows.push({ batch: n, "createInvites/s": Math.round(apiRate), "floor/s": Math.round(floorRate), "of floor": `${((100 * apiRate) / floorRate).toFixed(0)}%` });
  }
  return rows;
}

async function singleCalls() {
  const file = freshDatabase();
  const service = new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${file}` });
  const commitFile = freshDatabase();
  await service.createInvites({ email: "open@example.com" });
  const api = [];
  const commit = [];
  // 6 alternating rounds of 50 single calls and 50 single-row commits.
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 50; i++) {
      const started = process.hrtime.bigint();
      await service.createInvites({ email: `single${round}-${i}@example.com` });
      api.push(Number(process.hrtime.bigint() - started));
    }
    const reply = JSON.parse(await native.benchCommits(commitFile, 50));
    if (reply.error) throw new Error(reply.error.message);
    commit.push(...reply.ok);
  }
  await service.close();
  return { apiP50: median(api) / 1e6, commitP50: median(commit) / 1e6 };
}

/** Peak RSS of a fresh process that creates `n` invites in one call. */
function peakRss(n) {
  const script = `
    const { UserModuleService } = require(${JSON.stringify(path.join(__dirname, ".."))});
    const m = new UserModuleService({ jwt_secret: "s", database: "sqlite:${freshDatabase()}" });
    const data = Array.from({ length: ${n} }, (_, i) => ({ email: "rss" + i + "@example.com" }));
    m.createInvites(data).then(async (r) => { await m.close(); process.stdout.write(String(process.resourceUsage().maxRSS * 1024)); });`;
  return Number(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
}

async function main() {
  console.log(`medusa-invites benchmark: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, durable SQLite (WAL, synchronous=FULL)`);
  const rows = await batches();
  console.table(rows);
  const single = await singleCalls();
  console.log(`single-invite call p50: ${single.apiP50.toFixed(3)} ms; one durable SQLite commit p50: ${single.commitP50.toFixed(3)} ms; ratio ${(single.apiP50 / single.commitP50).toFixed(2)}x (target <= 2x)`);
  const rss = peakRss(100_000);
  console.log(`peak RSS of a process creating 100,000 invites in one call: ${(rss / 2 ** 20).toFixed(0)} MiB`);
  const tenThousand = rows.find((row) => row.batch === 10_000);
  console.log(`10,000 batch at ${tenThousand["of floor"]} of the floor (target >= 60%)`);
  fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
