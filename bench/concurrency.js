#!/usr/bin/env node
"use strict";
// npm run stress: the long version of __test__/concurrency.test.ts.
//
// ROUNDS rounds of CALLS concurrent createInvites calls with overlapping emails, plus
// concurrent createUsers calls on the same emails and a burst of same-key idempotent calls,
// on ONE durable SQLite file (WAL, synchronous=FULL) opened by TWO module instances (two
// connections: cross-connection locking goes through SQLite's busy timeout). After each round
// the file is read back with the sqlite3 shell and these invariants are checked:
//   * no email is held twice by a live invite or a live user;
//   * every fulfilled call's rows are stored with the returned ids and tokens, and the invite
//     (user) rows of the round are exactly the sum of the fulfilled batch sizes;
//   * every rejection is a MedusaError invalid_data with one of the duplicate messages of docs/errors.md
//     (or createUsers' `User with email: X, already exists.`) naming an email of its batch;
//     anything else (SQLITE_BUSY, `database is locked`, a database_error, a lock timeout) is a
//     violation and is reported, not hidden;
//   * no invite was committed for an email a user already held (commit order from a trigger log);
//   * one emit per fulfilled createInvites call; the same-key burst creates its invites once.
// Prints one line per round and a summary; exits 1 on any violated invariant.
//
// Options (environment): STRESS_ROUNDS (10), STRESS_CALLS (500), STRESS_POOL (600),
// STRESS_BATCH (5), STRESS_USER_CALLS (50), STRESS_IDEMPOTENT_CALLS (20), STRESS_MODULES (2),
// STRESS_SYNCHRONOUS (FULL), STRESS_DIR (the OS temp dir).
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { UserModuleService, MedusaError } = require("..");

const int = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    console.error(`${name} must be a non-negative integer, got ${value}`);
    process.exit(2);
  }
  return parsed;
};

const ROUNDS = int("STRESS_ROUNDS", 10);
const CALLS = int("STRESS_CALLS", 500);
const POOL = int("STRESS_POOL", 600);
const BATCH = int("STRESS_BATCH", 5);
const USER_CALLS = int("STRESS_USER_CALLS", 50);
const IDEMPOTENT_CALLS = int("STRESS_IDEMPOTENT_CALLS", 20);
const MODULES = Math.max(1, int("STRESS_MODULES", 2));
const SYNCHRONOUS = process.env.STRESS_SYNCHRONOUS || "FULL";
const SECRET = "stress-secret";

// STRESS_DIR puts the file on another disk (the OS temp dir may be a RAM disk, where fsync is free).
const workDir = fs.mkdtempSync(path.join(process.env.STRESS_DIR || os.tmpdir(), "medusa-invites-stress-"));
const file = path.join(workDir, "stress.sqlite");

function sql(query) {
  const out = execFileSync("sqlite3", ["-json", file, query], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return out.trim() === "" ? [] : JSON.parse(out);
}

const quote = (text) => `'${text.replace(/'/g, "''")}'`;

class CountingBus {
  constructor() {
    this.calls = [];
  }
  async emit(messages, options) {
    this.calls.push({ messages, options });
  }
}

const violations = [];
function violation(round, text) {
  violations.push(`round ${round}: ${text}`);
}

/** Distinct stride so that a batch's emails are distinct: 13, or the next number coprime to POOL. */
function stride() {
  const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));
  let s = 13;
  while (gcd(s, POOL) !== 1) s++;
  return s;
}

function inviteBatch(round, k) {
  const s = stride();
  const emails = [];
  for (let j = 0; j < BATCH; j++) emails.push(`r${round}-p${(3 * k + s * j + round) % POOL}@stress.example.com`);
  return emails;
}

function userBatch(round, u) {
  // Call u and call u + 3 share an email, so createUsers calls also collide with each other.
  const first = (11 * u + 5) % POOL;
  const second = (11 * u + 38) % POOL;
  return [...new Set([first, second])].map((p) => `r${round}-p${p}@stress.example.com`);
}

const DUPLICATE_INVITE = /^Invite with email: (.+), already exists\.$/;
const DUPLICATE_USER = /^User with email: (.+), already exists\.$/;
const USER_ACCOUNT = "User account for following email(s) already exist: ";

/** Classifies a rejection of a call on `batch`; returns a tally key or records a violation. */
function classify(round, kind, batch, error) {
  const describe = () => `${kind} on [${batch.join(", ")}] rejected with ${error && error.type}: ${error && error.message}`;
  if (!MedusaError.isMedusaError(error)) {
    violation(round, `not a MedusaError: ${describe()} ${error && error.stack}`);
    return "other";
  }
  if (/SQLITE_BUSY|busy|database is locked/i.test(error.message)) {
    violation(round, `SQLITE_BUSY leaked: ${describe()}`);
    return "sqlite-busy";
  }
  if (/timed out .*write lock/i.test(error.message)) {
    violation(round, `a call gave up waiting for the write lock: ${describe()}`);
    return "lock-timeout";
  }
  if (/SQLITE|constraint/i.test(error.message)) {
    violation(round, `a driver error leaked: ${describe()}`);
    return "driver-error";
  }
  if (error.type !== "invalid_data") {
    violation(round, `unexpected error type: ${describe()}`);
    return "other";
  }
  if (kind === "invite") {
    const match = DUPLICATE_INVITE.exec(error.message);
    if (match && batch.includes(match[1])) return "invite-duplicate";
    if (error.message.startsWith(USER_ACCOUNT)) {
      const listed = error.message.slice(USER_ACCOUNT.length).split(", ");
      const inOrder = batch.filter((email) => listed.includes(email));
      if (listed.length > 0 && JSON.stringify(inOrder) === JSON.stringify(listed)) return "user-account";
    }
  } else {
    const match = DUPLICATE_USER.exec(error.message);
    if (match && batch.includes(match[1])) return "user-duplicate";
  }
  violation(round, `unexpected message: ${describe()}`);
  return "other";
}

async function main() {
  const buses = Array.from({ length: MODULES }, () => new CountingBus());
  const modules = buses.map(
    (bus) => new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${file}`, eventBus: bus, sqliteSynchronous: SYNCHRONOUS }),
  );
  // Open every connection (creating the schema), then log committed inserts in commit order.
  for (const [i, service] of modules.entries()) {
    await service.createInvites({ email: `opener-${i}@stress.example.com` });
    await service.createUsers({ email: `opener-user-${i}@stress.example.com` });
  }
  sql(`create table if not exists test_insert_log (seq integer primary key autoincrement, kind text not null, email text not null);
       create trigger if not exists test_log_invite after insert on "invite" begin insert into test_insert_log (kind, email) values ('invite', new.email); end;
       create trigger if not exists test_log_user after insert on "user" begin insert into test_insert_log (kind, email) values ('user', new.email); end;`);

  const totals = { calls: 0, fulfilled: 0, rejected: 0, inviteRows: 0, userRows: 0, tally: {} };
  const started = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) {
    for (const bus of buses) bus.calls.length = 0;
    const roundStarted = process.hrtime.bigint();
    const pending = [];
    const idemInput = () => [0, 1, 2].map((j) => ({ email: `r${round}-idem-${j}@stress.example.com`, metadata: { round, j } }));
    let u = 0;
    let idem = 0;
    for (let k = 0; k < CALLS; k++) {
      const batch = inviteBatch(round, k);
      const service = modules[k % MODULES];
      pending.push({ kind: "invite", batch, promise: service.createInvites(batch.map((email) => ({ email }))) });
      if (u < USER_CALLS && k % Math.max(1, Math.floor(CALLS / Math.max(1, USER_CALLS))) === 1) {
        const users = userBatch(round, u++);
        pending.push({ kind: "user", batch: users, promise: modules[(k + 1) % MODULES].createUsers(users.map((email) => ({ email }))) });
      }
      if (idem < IDEMPOTENT_CALLS && k % Math.max(1, Math.floor(CALLS / Math.max(1, IDEMPOTENT_CALLS))) === 0) {
        idem++;
        pending.push({
          kind: "idempotent",
          batch: idemInput().map((item) => item.email),
          promise: modules[idem % MODULES].createInvites(idemInput(), { idempotencyKey: `stress-round-${round}` }),
        });
      }
    }
    const settled = await Promise.allSettled(pending.map((call) => call.promise));
    const elapsedMs = Number(process.hrtime.bigint() - roundStarted) / 1e6;

    // Read the round back.
    const invites = new Map(
      sql(`select id, email, token from "invite" where deleted_at is null and email like 'r${round}-%'`).map((row) => [row.email, row]),
    );
    const users = new Map(sql(`select id, email from "user" where deleted_at is null and email like 'r${round}-%'`).map((row) => [row.email, row]));
    const tally = {};
    let fulfilled = 0;
    let fulfilledInviteCalls = 0;
    let inviteRows = 0;
    let userRows = 0;
    let idempotentDtos;
    for (const [i, call] of pending.entries()) {
      const result = settled[i];
      if (result.status === "rejected") {
        const key = classify(round, call.kind === "user" ? "user" : "invite", call.batch, result.reason);
        tally[key] = (tally[key] || 0) + 1;
        if (call.kind === "idempotent") violation(round, `an idempotent call failed: ${result.reason && result.reason.message}`);
        continue;
      }
      fulfilled++;
      if (call.kind === "user") {
        for (const user of result.value) {
          const row = users.get(user.email);
          if (!row || row.id !== user.id) violation(round, `user ${user.email}: returned ${user.id}, stored ${row && row.id}`);
        }
        userRows += result.value.length;
        continue;
      }
      for (const invite of result.value) {
        const row = invites.get(invite.email);
        if (!row || row.id !== invite.id || row.token !== invite.token) {
          violation(round, `invite ${invite.email}: returned ${invite.id}, stored ${row && row.id} (token ${row && row.token === invite.token ? "same" : "differs"})`);
        }
      }
      if (call.kind === "idempotent") {
        const text = JSON.stringify(result.value);
        if (idempotentDtos === undefined) {
          idempotentDtos = text;
          inviteRows += result.value.length;
          fulfilledInviteCalls++;
        } else if (text !== idempotentDtos) {
          violation(round, "the same-key burst resolved with different DTOs");
        }
        continue;
      }
      fulfilledInviteCalls++;
      inviteRows += result.value.length;
    }
    tally.fulfilled = fulfilled;

    if (invites.size !== inviteRows) violation(round, `${invites.size} invite rows, but fulfilled calls returned ${inviteRows}`);
    if (users.size !== userRows) violation(round, `${users.size} user rows, but fulfilled calls returned ${userRows}`);
    const emits = buses.reduce((sum, bus) => sum + bus.calls.length, 0);
    if (emits !== fulfilledInviteCalls) violation(round, `${emits} emits for ${fulfilledInviteCalls} fulfilled createInvites calls (same-key burst counted once)`);
    for (const table of ["invite", "user"]) {
      const duplicates = sql(`select email, count(*) as n from "${table}" where deleted_at is null group by email having count(*) > 1`);
      if (duplicates.length > 0) violation(round, `${table} emails held twice: ${JSON.stringify(duplicates.slice(0, 5))}`);
    }
    const idemRows = sql(`select count(*) as n from "invite" where email like ${quote(`r${round}-idem-%`)}`)[0].n;
    if (IDEMPOTENT_CALLS > 0 && idemRows !== 3) violation(round, `the same-key burst stored ${idemRows} invites, expected 3`);
    const late = sql(`select i.email from test_insert_log i join test_insert_log u on u.email = i.email and u.kind = 'user'
                      where i.kind = 'invite' and u.seq < i.seq and i.email like 'r${round}-%'`);
    if (late.length > 0) violation(round, `invites committed after a user held the email: ${late.map((row) => row.email).join(", ")}`);

    totals.calls += pending.length;
    totals.fulfilled += fulfilled;
    totals.rejected += pending.length - fulfilled;
    totals.inviteRows += invites.size;
    totals.userRows += users.size;
    for (const [key, value] of Object.entries(tally)) totals.tally[key] = (totals.tally[key] || 0) + value;
    console.log(
      `round ${round + 1}/${ROUNDS}: ${pending.length} calls in ${elapsedMs.toFixed(0)} ms, ` +
        `invite rows ${invites.size}, user rows ${users.size}, emits ${emits}, ${JSON.stringify(tally)}`,
    );
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  for (const service of modules) await service.close();

  const totalInvites = sql('select count(*) as n from "invite"')[0].n;
  console.log(
    `stress: ${ROUNDS} rounds, ${MODULES} modules on one file (synchronous=${SYNCHRONOUS}), ${totals.calls} calls, ` +
      `${totals.fulfilled} fulfilled, ${totals.rejected} rejected ${JSON.stringify(totals.tally)}, ` +
      `${totals.inviteRows} invite rows + ${totals.userRows} user rows (file holds ${totalInvites} invites), ` +
      `${violations.length} violations, ${elapsedMs.toFixed(0)} ms`,
  );
  if (violations.length > 0) {
    for (const text of violations.slice(0, 50)) console.error(`VIOLATION ${text}`);
    if (violations.length > 50) console.error(`... and ${violations.length - 50} more`);
    console.error(`database kept for inspection: ${file}`);
    process.exitCode = 1;
  } else {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
