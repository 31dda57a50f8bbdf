#!/usr/bin/env node
"use strict";
// npm run bench:versus -- <other checkout> [--rounds N] [--pg]
// npm run bench:outbox -- [--rounds N] [--pg]     (= bench/versus.js --delivery)
//
// Two sides, in one process and one run; every round runs each workload on each side in
// turn (the order alternates), so machine noise hits both alike. Medians over the rounds,
// and the first side's rate as a share of the second's. The sides:
//   * this checkout against another one (an earlier commit, say: `git worktree add ../before
//     <rev>` and build it there), both addons loaded side by side;
//   * --delivery: this checkout with an event bus (whose emit does nothing), events through
//     the outbox against `eventDelivery: "direct"`: what the outbox costs. Workloads: createInvites batches of 1, 100 and 10,000 on a fresh store,
// 500 sequential single calls, 1,000 validateInviteToken calls, and listInvites pages of 50
// over 10,000 invites. SQLite (durable default) always; PostgreSQL with --pg
// (MEDUSA_INVITES_BENCH_PG_URL or MEDUSA_INVITES_TEST_PG_URL, default 127.0.0.1:5432).
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const argv = process.argv.slice(2);
const delivery = argv.includes("--delivery");
const other = argv.find((arg) => !arg.startsWith("--") && !/^\d+$/.test(arg));
if (!other && !delivery) {
  console.error("usage: npm run bench:versus -- <other checkout> [--rounds N] [--pg]");
  process.exit(2);
}
const roundsAt = argv.indexOf("--rounds");
const ROUNDS = roundsAt >= 0 ? Math.max(1, Number(argv[roundsAt + 1]) | 0) : 5;
const withPg = argv.includes("--pg");
const pgServer = (process.env.MEDUSA_INVITES_BENCH_PG_URL ?? process.env.MEDUSA_INVITES_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "");
const pgDatabase = `medusa_invites_versus_${process.pid}`;

const This = require(path.join(__dirname, "..")).UserModuleService;
const quietBus = { emit: async () => {} };
/** Each side: `[label, module class, extra options]`; the first is compared with the second. */
const sides = delivery
  ? [
      ["outbox", This, { eventBus: quietBus, eventDelivery: "outbox" }],
      ["direct", This, { eventBus: quietBus, eventDelivery: "direct" }],
    ]
  : [
      ["this", This, {}],
      ["other", require(path.resolve(other)).UserModuleService, {}],
    ];
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-versus-"));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const emails = (n, prefix) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.com` }));
let counter = 0;
const fresh = {
  sqlite: () => `sqlite:${path.join(workDir, `db-${counter++}.sqlite`)}`,
  postgres: () => ({ clientUrl: `${pgServer}/${pgDatabase}`, schema: `versus_${counter++}` }),
};

/** The rate of `work(service)` (its count per second) on a fresh, opened store of `backend`, after `setup`. */
async function timed([, Service, options], backend, work, setup) {
  const service = new Service({ jwt_secret: "versus-secret", database: fresh[backend](), ...options });
  await service.createInvites({ email: "open@example.com" });
  const state = setup ? await setup(service) : undefined;
  const started = process.hrtime.bigint();
  const count = await work(service, state);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await service.close();
  return count / seconds;
}

const workloads = delivery
  ? {
      "500 sequential single calls": (s) => sequentialCalls(s),
      "createInvites, 10,000": (s) => s.createInvites(emails(10_000, "batch-")).then(() => 10_000),
    }
  : {
  "createInvites, 1": (s) => s.createInvites(emails(1, "one-")).then(() => 1),
  "createInvites, 100": (s) => s.createInvites(emails(100, "hundred-")).then(() => 100),
  "createInvites, 10,000": (s) => s.createInvites(emails(10_000, "batch-")).then(() => 10_000),
  "500 sequential single calls": (s) => sequentialCalls(s),
  "1,000 validateInviteToken": [
    async (s) => (await s.createInvites(emails(100, "v-"))).map((invite) => invite.token),
    async (s, tokens) => {
      for (let i = 0; i < 1_000; i++) await s.validateInviteToken(tokens[i % tokens.length]);
      return 1_000;
    },
  ],
  "200 listInvites pages of 50 (10,000 rows)": [
    (s) => s.createInvites(emails(10_000, "l-")),
    async (s) => {
      for (let i = 0; i < 200; i++) await s.listInvites({}, { take: 50, skip: (i * 37) % 9_950 });
      return 200;
    },
  ],
};

async function sequentialCalls(service) {
  for (let i = 0; i < 500; i++) await service.createInvites({ email: `seq${i}@example.com` });
  return 500;
}

async function run(backend) {
  const [first, second] = sides.map(([label]) => label);
  console.log(`\n== ${backend}: ${ROUNDS} rounds, rates per second (medians), ${first} / ${second}`);
  const rows = [];
  for (const [name, workload] of Object.entries(workloads)) {
    const [setup, work] = Array.isArray(workload) ? workload : [undefined, workload];
    const rates = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) rates[side].push(await timed(sides[side], backend, work, setup));
    }
    const [a, b] = rates.map(median);
    rows.push({ workload: name, [first]: Math.round(a), [second]: Math.round(b), [`${first} / ${second}`]: `${((a / b) * 100).toFixed(0)}%` });
  }
  console.table(rows);
}

function psql(database, sql) {
  execFileSync("psql", [`${pgServer}/${database}`, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: "pipe" });
}

async function main() {
  const compared = delivery ? "the outbox against direct delivery" : `this: ${path.resolve(__dirname, "..")}; other: ${path.resolve(other)}`;
  console.log(`${compared}; ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}`);
  await run("sqlite");
  if (withPg) {
    psql("postgres", `create database "${pgDatabase}"`);
    try {
      await run("postgres");
    } finally {
      psql("postgres", `drop database if exists "${pgDatabase}" with (force)`);
    }
  }
  fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
