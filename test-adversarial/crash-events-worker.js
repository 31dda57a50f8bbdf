"use strict";
// One trial of the crash-test's events mode (a child process of crash-events.js), in one of
// two roles:
//
// * "write": a module with an event bus that appends every emit to the trial's events file
//   synchronously (appendFileSync, so what was emitted is in the file when emit returns),
//   and the default eventDelivery ("outbox"). It first creates one invite (a new module on
//   the store after the last kill works), then writes units of work on two lanes until it is
//   killed with SIGKILL at a random moment: createInvites batches of 1-500, single objects,
//   transaction(fn) with 2-4 createInvites calls (committed), createUsers batches, and units
//   that must write nothing: a batch holding an email of a live invite (refused) and a
//   transaction(fn) whose function throws after its createInvites calls (rolled back).
//   Before each unit it logs its intent, after it the outcome (write(2): a SIGKILL loses
//   nothing written, so no fsync).
// * "flush": after the kill, a new module on the same store with a bus appending to the same
//   file runs flushEvents(), then flushEvents() again and listPendingEvents(), closes, and
//   prints `@@FLUSHED {"delivered":n,"again":n,"pending":n}`.
//
// Configuration: the ADV_CRASH_EVENTS_WORKER environment variable, JSON:
//   { role, trial, seed, database, secret, logFile, eventsFile, packageRoot }
const fs = require("node:fs");
const { Rng } = require("./common");

const config = JSON.parse(process.env.ADV_CRASH_EVENTS_WORKER);
const { UserModuleService } = require(config.packageRoot);

/** The bus of the issue: one line per emit, `JSON.stringify(messages)`, appended synchronously. */
const eventBus = {
  emit(messages, options) {
    if (options?.internal !== true) process.stderr.write(`emit options were ${JSON.stringify(options)}, not { internal: true }\n`);
    fs.appendFileSync(config.eventsFile, `${JSON.stringify(messages)}\n`);
  },
};

const newService = () => new UserModuleService({ jwt_secret: config.secret, database: config.database, eventBus });

async function flush() {
  const service = newService();
  try {
    const delivered = await service.flushEvents();
    const again = await service.flushEvents();
    const pending = (await service.listPendingEvents({ limit: 1000 })).length;
    process.stdout.write(`@@FLUSHED ${JSON.stringify({ delivered, again, pending })}\n`);
  } finally {
    await service.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The writer

const rng = new Rng(config.seed);
const trial = `t${config.trial}`;
let log;
let counter = 0;
const emails = (tag, n, part = "") => Array.from({ length: n }, (_, i) => `${tag}-${part}${i}@events.test`);
/** Emails of invites that are committed and live (resolved units): a conflict batch reuses one. */
const liveEmails = [];

function logLine(entry) {
  fs.writeSync(log, `${JSON.stringify(entry)}\n`);
}

/**
 * Runs one unit: logs `{ intent, kind, invites, users }` (what the unit writes if it commits:
 * counts under its tag), runs `work`, logs `{ resolved }` or `{ rejected }`.
 */
async function unit(tag, kind, expect, work) {
  logLine({ intent: tag, kind, invites: expect.invites ?? 0, users: expect.users ?? 0 });
  try {
    const value = await work();
    logLine({ resolved: tag });
    return value;
  } catch (error) {
    logLine({ rejected: tag, type: error?.type ?? String(error?.message ?? error).slice(0, 200) });
    return undefined;
  }
}

/** 1-500, most of them small: many calls per trial, and some large ones. */
const batchSize = () => rng.weighted([[5, () => rng.int(1, 20)], [3, () => rng.int(21, 150)], [2, () => rng.int(151, 500)]])();

const OPS = {
  async batch(service) {
    const tag = `${trial}b${++counter}`;
    const n = batchSize();
    const list = emails(tag, n);
    const created = await unit(tag, `createInvites batch of ${n}`, { invites: n }, () =>
      service.createInvites(list.map((email) => ({ email, metadata: { tag } }))),
    );
    if (created) liveEmails.push(list[0]);
  },
  async single(service) {
    const tag = `${trial}s${++counter}`;
    const [email] = emails(tag, 1);
    const created = await unit(tag, "createInvites single object", { invites: 1 }, () => service.createInvites({ email, metadata: { tag } }));
    if (created) liveEmails.push(email);
  },
  async users(service) {
    const tag = `${trial}u${++counter}`;
    const n = rng.int(1, 40);
    await unit(tag, `createUsers batch of ${n}`, { users: n }, () => service.createUsers(emails(tag, n).map((email) => ({ email }))));
  },
  /** transaction(fn) with 2-4 createInvites calls: one outbox row per call, delivered after commit. */
  async transaction(service) {
    const tag = `${trial}x${++counter}`;
    const sizes = Array.from({ length: rng.int(2, 4) }, () => rng.int(1, 60));
    await unit(tag, `transaction(fn) of ${sizes.length} createInvites calls`, { invites: sizes.reduce((a, b) => a + b, 0) }, () =>
      service.transaction(async (tx) => {
        for (let c = 0; c < sizes.length; c++) {
          await service.createInvites(emails(tag, sizes[c], `c${c}-`).map((email) => ({ email })), { transactionManager: tx });
        }
      }),
    );
  },
  /** A batch holding the email of a live invite: refused whole, nothing written, nothing emitted. */
  async conflict(service) {
    const tag = `${trial}c${++counter}`;
    const list = emails(tag, rng.int(1, 200));
    list.splice(rng.int(0, list.length), 0, rng.pick(liveEmails));
    await unit(tag, `createInvites batch of ${list.length} with a live email`, {}, () => service.createInvites(list.map((email) => ({ email }))));
  },
  /** transaction(fn) whose function throws after its createInvites calls: rolled back, nothing emitted. */
  async rollback(service) {
    const tag = `${trial}r${++counter}`;
    const sizes = Array.from({ length: rng.int(1, 3) }, () => rng.int(1, 60));
    await unit(tag, `transaction(fn) of ${sizes.length} createInvites calls, then a throw`, {}, () =>
      service.transaction(async (tx) => {
        for (let c = 0; c < sizes.length; c++) {
          await service.createInvites(emails(tag, sizes[c], `c${c}-`).map((email) => ({ email })), { transactionManager: tx });
        }
        throw new Error("rolled back on purpose");
      }),
    );
  },
};

const WEIGHTS = [[6, "batch"], [3, "single"], [1, "users"], [3, "transaction"], [1, "conflict"], [1, "rollback"]];

async function lane(service) {
  for (;;) await OPS[rng.weighted(WEIGHTS)](service);
}

async function write() {
  log = fs.openSync(config.logFile, "a");
  const service = newService();
  // A new module on the store after the last kill works: the trial's first unit.
  const tag = `${trial}v`;
  const email = `${tag}-0@events.test`;
  const created = await unit(tag, "createInvites first call", { invites: 1 }, () => service.createInvites({ email }));
  if (!created) {
    process.stdout.write("@@VERIFY-FAILED\n");
    process.exitCode = 1;
    await service.close().catch(() => {});
    return;
  }
  liveEmails.push(email);
  process.stdout.write("@@VERIFIED\n");
  // Two lanes, so that a kill often finds more than one call in flight.
  await Promise.all([lane(service), lane(service)]);
}

(config.role === "flush" ? flush : write)().catch((error) => {
  process.stderr.write(`${config.role}: ${error?.type ?? ""} ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
