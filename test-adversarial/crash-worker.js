"use strict";
// One crash-test trial (a child process of crash-test.js), killed with SIGKILL at a random
// moment. First it checks that a new module opens the store and works (creates and reads an
// invite), then it writes units of work until it is killed: batches, createUsers batches,
// soft-deletes of earlier batches, and multi-call transactions (transaction(fn) and begin()).
// Before each unit it logs its intent, durably (write + fsync); after it, the outcome. The
// parent compares the log with the store.
//
// Configuration: the ADV_CRASH_WORKER environment variable, JSON:
//   { trial, seed, database, secret, logFile, packageRoot, verifyOnly }
const fs = require("node:fs");
const { Rng } = require("./common");

const config = JSON.parse(process.env.ADV_CRASH_WORKER);
const { UserModuleService } = require(config.packageRoot);
const rng = new Rng(config.seed);
const log = fs.openSync(config.logFile, "a");

/** Appends one JSON line and waits until it is on disk. */
function logDurably(entry) {
  fs.writeSync(log, `${JSON.stringify(entry)}\n`);
  fs.fsyncSync(log);
}

const trial = `t${config.trial}`;
let unitCounter = 0;
const emails = (tag, n, part = "") => Array.from({ length: n }, (_, i) => `${tag}-${part}${i}@crash.test`);

/** Resolved plain batches not yet soft-deleted: `{ tag, ids }`. */
const softDeletable = [];

async function verify(service) {
  const email = `${trial}v-0@crash.test`;
  const invite = await service.createInvites({ email });
  const again = await service.retrieveInvite(invite.id);
  const listed = await service.listInvites({ email });
  if (again.email !== email || listed.length !== 1 || listed[0].id !== invite.id) {
    throw new Error(`the new module read back something else: ${JSON.stringify({ again: again.email, listed: listed.length })}`);
  }
}

/**
 * Runs one unit: logs `{ intent }`, runs `work`, logs `{ resolved }` or `{ rejected }`.
 * `expect` says what the unit writes: `invites: [tag, n]`, `users: [tag, n]`, `softDeletes: [tag, n]`.
 */
async function unit(kind, expect, work) {
  const id = `${trial}#${++unitCounter}`;
  logDurably({ intent: id, kind, expect });
  try {
    const value = await work();
    logDurably({ resolved: id });
    return value;
  } catch (error) {
    logDurably({ rejected: id, type: error?.type ?? String(error?.message ?? error) });
    return undefined;
  }
}

const OPS = {
  async batch(service) {
    const tag = `${trial}b${++unitCounter}`;
    const n = rng.int(1, 150);
    const created = await unit("createInvites batch", { invites: [tag, n] }, () =>
      service.createInvites(emails(tag, n).map((email) => ({ email, metadata: { tag } }))),
    );
    if (created) softDeletable.push({ tag, ids: created.map((dto) => dto.id) });
  },
  async users(service) {
    const tag = `${trial}u${++unitCounter}`;
    const n = rng.int(1, 60);
    await unit("createUsers batch", { users: [tag, n] }, () => service.createUsers(emails(tag, n).map((email) => ({ email }))));
  },
  async softDelete(service) {
    const target = softDeletable.splice(rng.int(0, softDeletable.length - 1), 1)[0];
    if (!target) return OPS.batch(service);
    await unit("softDeleteInvites", { softDeletes: [target.tag, target.ids.length] }, () => service.softDeleteInvites(target.ids));
  },
  /** transaction(fn): several createInvites calls, a createUsers, maybe a soft-delete, all or nothing. */
  async transactionCallback(service) {
    const tag = `${trial}x${++unitCounter}`;
    const calls = rng.int(2, 5);
    const sizes = Array.from({ length: calls }, () => rng.int(1, 40));
    const users = rng.int(0, 10);
    const target = rng.chance(0.4) ? softDeletable.splice(rng.int(0, Math.max(0, softDeletable.length - 1)), 1)[0] : undefined;
    const expect = { invites: [tag, sizes.reduce((a, b) => a + b, 0)] };
    if (users) expect.users = [tag, users];
    if (target) expect.softDeletes = [target.tag, target.ids.length];
    await unit(`transaction(fn) with ${calls + (users ? 1 : 0) + (target ? 1 : 0)} calls`, expect, () =>
      service.transaction(async (tx) => {
        const context = { transactionManager: tx };
        for (let c = 0; c < calls; c++) {
          await service.createInvites(emails(tag, sizes[c], `c${c}-`).map((email) => ({ email })), context);
          if (c === 0 && target) await service.softDeleteInvites(target.ids, undefined, context);
        }
        if (users) await service.createUsers(emails(tag, users, "user-").map((email) => ({ email })), context);
      }),
    );
  },
  /** begin(), several calls, commit(). */
  async transactionExplicit(service) {
    const tag = `${trial}y${++unitCounter}`;
    const calls = rng.int(2, 5);
    const sizes = Array.from({ length: calls }, () => rng.int(1, 40));
    await unit(`begin() + ${calls} calls + commit()`, { invites: [tag, sizes.reduce((a, b) => a + b, 0)] }, async () => {
      const tx = await service.begin({ isolationLevel: rng.pick(["SERIALIZABLE", "READ COMMITTED", "REPEATABLE READ"]) });
      try {
        for (let c = 0; c < calls; c++) {
          await service.createInvites(emails(tag, sizes[c], `c${c}-`).map((email) => ({ email })), { transactionManager: tx });
        }
      } catch (error) {
        if (tx.state === "open") await tx.rollback();
        throw error;
      }
      await tx.commit();
    });
  },
};

const WEIGHTS = [[4, "batch"], [1, "users"], [2, "softDelete"], [3, "transactionCallback"], [2, "transactionExplicit"]];

async function lane(service) {
  for (;;) await OPS[rng.weighted(WEIGHTS)](service);
}

async function main() {
  const service = new UserModuleService({ jwt_secret: config.secret, database: config.database });
  try {
    await verify(service);
  } catch (error) {
    logDurably({ verifyFailed: `${error?.type ?? ""} ${error?.message ?? error}`.slice(0, 500) });
    process.stdout.write("@@VERIFY-FAILED\n");
    process.exitCode = 1;
    await service.close().catch(() => {});
    return;
  }
  logDurably({ verified: trial });
  process.stdout.write("@@VERIFIED\n");
  if (config.verifyOnly) {
    await service.close();
    return;
  }
  // Two lanes, so that a kill often finds more than one write in flight.
  await Promise.all([lane(service), lane(service)]);
}

main();
