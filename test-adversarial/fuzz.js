#!/usr/bin/env node
"use strict";
// `npm run fuzz [-- --quick] [--seed N] [--only sqlite:3,postgres:0] [--calls N] [--workers N] [--jobs N]`
//
// Generated calls over every public method of UserModuleService, on SQLite (a temp file per
// worker) and PostgreSQL (a schema per worker in a database of our own, dropped at the end).
// Each worker is a child process (fuzz-worker.js), watched from outside: exit code, signal,
// stderr, timeouts. After a worker ends, its store is read with an independent client (sqlite3,
// psql) and compared with the worker's model of what must be there. A worker that crashes goes
// on in a new process with a new store, so the run still makes its calls: the full run at least
// 100,000 (2 × 20 workers × 2,600), --quick 7,200 (2 × 3 × 1,200). Exit code 1 on any defect.
const fs = require("node:fs");
const path = require("node:path");
const {
  IN_CI, PG_URL, JWT_PATTERN, Rng, parseArgs, psql, sqlite, postgresAvailable, createPgDatabase, createTempDir,
  exitOnSignals, runChild, pool, firstLine, formatMs, PACKAGE_ROOT,
} = require("./common");

const args = parseArgs();
const quick = args.quick;
const callsPerWorker = Number(args.calls ?? (quick ? 1200 : 2600));
const workersPerBackend = Number(args.workers ?? (quick ? 3 : 20));
const jobs = Number(args.jobs ?? 2);
const only = args.only ? new Set(String(args.only).split(",")) : undefined;
/** A worker that crashes goes on in a new process and a new store, at most this many times. */
const MAX_SEGMENTS = 4;

const seedRng = new Rng(args.seed);
const SECRET = `adv-secret-${seedRng.hex(12)}`;
const PASSWORD = `adv-pw-${seedRng.hex(12)}`;
const children = new Set();
exitOnSignals(children);

/** Worker-level defects (observed from outside) and call-level counts (reported by workers). */
const totals = {
  workers: 0, calls: 0, resolved: 0, rejected: 0, crashes: 0, hangs: 0, exitHangs: 0, stderrAtExit: 0, stderrLeaks: 0,
  stateViolations: 0, workerErrors: 0, syncThrows: 0, notPromise: 0, nonMedusaRejections: 0, internalErrors: 0,
  oversizedMessages: 0, leaks: 0, resolvesAfterClose: 0, wrongErrorAfterClose: 0, wrongAnswers: 0, escaped: 0, eventLoopBlocks: 0,
  configurations: 0, failedCalls: 0,
};
const findings = [];
let maxSync = { ms: 0 };

/** The same URL with `password` set on its user, so a database error that shows the URL is a leak. */
function withPassword(url, password) {
  const parsed = new URL(url);
  if (!parsed.password) parsed.password = password;
  return parsed.toString().replace(/\/+$/, "");
}

function storeState(worker) {
  if (worker.backend === "sqlite") {
    const invites = JSON.parse(sqlite(worker.file, "select json_group_array(json_array(id, deleted_at is not null)) from invite") || "[]");
    const users = Number(sqlite(worker.file, 'select count(*) from "user"'));
    return { invites, users };
  }
  const invites = JSON.parse(psql(worker.pgDatabase, `select coalesce(json_agg(json_build_array(id, deleted_at is not null)), '[]') from "${worker.schema}".invite`));
  const users = Number(psql(worker.pgDatabase, `select count(*) from "${worker.schema}"."user"`));
  return { invites, users };
}

/** Differences between the worker's model and the store; each differing id or user counts one. */
function stateViolations(worker, model) {
  let state;
  try {
    state = storeState(worker);
  } catch (error) {
    return [1, [`the store could not be read: ${firstLine(`${error.stderr ?? ""} ${error.message}`)}`]];
  }
  const live = new Set();
  const soft = new Set();
  for (const [id, deleted] of state.invites) (deleted ? soft : live).add(id);
  const problems = [];
  const compare = (expected, actual, what) => {
    const want = new Set(expected);
    for (const id of want) if (!actual.has(id)) problems.push(`${what} invite ${JSON.stringify(id)} is missing from the store`);
    for (const id of actual) if (!want.has(id)) problems.push(`the store has a ${what} invite ${JSON.stringify(id)} no resolved call accounts for`);
  };
  compare(model.live, live, "live");
  compare(model.softDeleted, soft, "soft-deleted");
  let count = problems.length;
  if (state.users !== model.users) {
    problems.push(`the store has ${state.users} users, the resolved calls account for ${model.users}`);
    count += Math.abs(state.users - model.users);
  }
  return [count, problems];
}

/** Control characters and lone surrogates as \\u escapes, so the log stays text. */
const printable = (text) =>
  text.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function finding(worker, kind, detail) {
  findings.push({ worker: worker.name, seed: worker.seed, kind, detail });
}

async function runWorker(worker) {
  let resultLine;
  let hangLine;
  let workerError;
  let exitTimer;
  let exitHang = false;
  const outcome = await runChild(path.join(__dirname, "fuzz-worker.js"), [], {
    env: { ADV_FUZZ_WORKER: JSON.stringify(worker.config), ...(args.exclude ? { ADV_HOSTILE_EXCLUDE: args.exclude } : {}) },
    nodeOptions: ["--max-old-space-size=512"],
    cwd: worker.cwd,
    timeoutMs: Math.max(240_000, worker.config.calls * 150),
    children,
    onLine(line, child) {
      if (line.startsWith("@@RESULT ")) {
        resultLine = line.slice(9);
        // The worker is done: the process must now end by itself.
        exitTimer = setTimeout(() => {
          exitHang = true;
          child.kill("SIGKILL");
        }, 20_000);
      } else if (line.startsWith("@@HANG ")) hangLine = line.slice(7);
      else if (line.startsWith("@@WORKER-ERROR ")) workerError = JSON.parse(line.slice(15));
    },
  });
  clearTimeout(exitTimer);
  totals.workers++;
  const result = resultLine ? JSON.parse(resultLine) : undefined;
  let lastCall;
  if (!result) {
    // The process died: what it was doing, and the samples it had written.
    try {
      lastCall = JSON.parse(fs.readFileSync(worker.config.traceFile, "utf8").split("\n")[0]);
      totals.calls += lastCall.call;
    } catch {
      lastCall = undefined;
    }
    try {
      for (const line of fs.readFileSync(worker.config.samplesFile, "utf8").split("\n").filter(Boolean)) {
        const sample = JSON.parse(line);
        finding(worker, sample.kind, `call #${sample.call} ${sample.desc}: ${sample.detail}`);
        // The counts died with the process: its samples are a lower bound.
        totals[sample.kind]++;
        totals.failedCalls++;
      }
    } catch {
      // nothing written
    }
  }
  if (result) {
    for (const [kind, value] of Object.entries(result.counts)) totals[kind] = (totals[kind] ?? 0) + value;
    totals.failedCalls += result.failedCalls;
    if (result.maxSyncMs.ms > maxSync.ms) maxSync = { ...result.maxSyncMs, worker: worker.name };
    for (const [kind, list] of Object.entries(result.samples)) {
      for (const sample of list) finding(worker, kind, `call #${sample.call} ${sample.desc}: ${sample.detail}`);
    }
  }
  if (hangLine) {
    totals.hangs++;
    finding(worker, "hangs", `a call did not settle in time: ${hangLine}`);
  } else if (outcome.timedOut) {
    totals.hangs++;
    finding(worker, "hangs", `the worker did not finish within ${formatMs(outcome.ms)}`);
  } else if (exitHang) {
    totals.exitHangs++;
    finding(worker, "exitHangs", "the process did not exit within 20 s after its last call");
  } else if (workerError) {
    totals.workerErrors++;
    finding(worker, "workerErrors", `the worker itself failed: ${workerError.split("\n").slice(0, 4).join(" | ")}`);
  } else if (outcome.signal || outcome.code !== 0 || !result) {
    totals.crashes++;
    const during = result ? " after its last call" : lastCall ? ` during call #${lastCall.call} ${lastCall.desc}` : "";
    finding(worker, "crashes", `exit code ${outcome.code}, signal ${outcome.signal}${during}: ${firstLine(outcome.stderr || "(no stderr)")}`);
  }
  if (outcome.stderr.trim() !== "") {
    totals.stderrAtExit++;
    finding(worker, "stderrAtExit", `stderr (${result?.ending ?? "?"}): ${firstLine(outcome.stderr, 500)}`);
    if (outcome.stderr.includes(SECRET) || outcome.stderr.includes(PASSWORD) || JWT_PATTERN.test(outcome.stderr)) {
      totals.stderrLeaks++;
      finding(worker, "stderrLeaks", "stderr shows the secret, the password or a token");
    }
  }
  if (result) {
    const [violations, problems] = stateViolations(worker, result.model);
    totals.stateViolations += violations;
    for (const problem of problems.slice(0, 5)) finding(worker, "stateViolations", problem);
  }
  const exitMs = result ? outcome.ms - result.workMs : 0;
  const status = result && !hangLine && !outcome.timedOut && !exitHang && outcome.code === 0 ? "ok" : "FAILED";
  console.log(
    `  ${worker.name.padEnd(12)} ${String(result?.counts.calls ?? (lastCall ? `${lastCall.call}!` : "?")).padStart(6)} calls  ${formatMs(outcome.ms).padStart(8)}  ` +
      `${(result?.ending ?? "-").padEnd(18)} ${status}${result?.failedCalls ? `, ${result.failedCalls} failed calls` : ""}${exitMs > 3000 ? ` (exit took ${formatMs(exitMs)})` : ""}`,
  );
  return { calls: result?.counts.calls ?? lastCall?.call ?? 0, finished: Boolean(result) };
}

async function main() {
  const started = Date.now();
  console.log(`fuzz: seed ${args.seed}${quick ? " (quick)" : ""}; reproduce with: npm run fuzz -- --seed ${args.seed}${quick ? " --quick" : ""}`);
  const temp = createTempDir("fuzz");
  const backends = [];
  if (!args.backend || args.backend === "sqlite") backends.push("sqlite");
  let pg;
  if ((!args.backend || args.backend === "postgres") && postgresAvailable("fuzz")) {
    pg = createPgDatabase("fuzz");
    backends.push("postgres");
  }
  const slots = [];
  for (const backend of backends) {
    for (let i = 0; i < workersPerBackend; i++) {
      const name = `${backend}:${i}`;
      if (only && !only.has(name)) continue;
      const seed = (args.seed ^ Math.imul(i + 1, 0x9e3779b1) ^ (backend === "sqlite" ? 0 : 0x5bd1e995)) >>> 0;
      slots.push({ name, backend, index: i, seed });
    }
  }
  /** One child process of a slot: a fresh store; after a crash the slot goes on in a new one. */
  const segment = (slot, attempt, calls) => {
    const id = `${slot.backend[0]}${slot.index}${attempt ? `r${attempt}` : ""}`;
    const seed = (slot.seed + Math.imul(attempt, 0x632be5ab)) >>> 0;
    const worker = { name: attempt ? `${slot.name}/${attempt}` : slot.name, backend: slot.backend, seed, cwd: temp.dir };
    let database;
    let scratchDatabase;
    if (slot.backend === "sqlite") {
      worker.file = path.join(temp.dir, `${id}.sqlite`);
      database = `sqlite:${worker.file}`;
      scratchDatabase = `sqlite:${path.join(temp.dir, `${id}-scratch.sqlite`)}`;
    } else {
      worker.pgDatabase = pg.name;
      worker.schema = id;
      database = { clientUrl: withPassword(pg.url, PASSWORD), schema: id };
      scratchDatabase = { clientUrl: pg.url, schema: `${id}_scratch` };
    }
    worker.config = {
      id, seed, backend: slot.backend, database, scratchDatabase, calls, secret: SECRET, password: PASSWORD, packageRoot: PACKAGE_ROOT,
      traceFile: path.join(temp.dir, `${id}.trace`),
      samplesFile: path.join(temp.dir, `${id}.samples`),
    };
    return worker;
  };
  const runSlot = async (slot) => {
    let remaining = callsPerWorker;
    for (let attempt = 0; remaining > 0 && attempt < MAX_SEGMENTS; attempt++) {
      const { calls, finished } = await runWorker(segment(slot, attempt, remaining));
      if (finished) break;
      remaining -= Math.max(calls, 1);
    }
  };
  console.log(`fuzz: ${slots.length} workers × ${callsPerWorker} calls on ${backends.join(" and ")}, ${jobs} at a time${IN_CI ? " (CI)" : ""}`);
  await pool(slots.map((slot) => () => runSlot(slot)), jobs);
  pg?.drop();
  temp.remove();

  const workerFailures = totals.crashes + totals.hangs + totals.exitHangs + totals.stderrAtExit + totals.stderrLeaks + totals.workerErrors;
  const failed = totals.failedCalls + workerFailures + totals.stateViolations;
  const passed = totals.calls - totals.failedCalls;
  if (findings.length > 0) {
    console.log("\nfindings (worker, seed, first samples per kind):");
    const shown = {};
    for (const item of findings) {
      const key = `${item.kind}`;
      shown[key] = (shown[key] ?? 0) + 1;
      if (shown[key] > 8) continue;
      console.log(`  [${item.kind}] ${item.worker} (reproduce: --seed ${args.seed} --only ${item.worker.split("/")[0]}${quick ? " --quick" : ""}): ${printable(item.detail.replace(/\s+/g, " ").slice(0, 400))}`);
    }
  }
  const line = (label, value) => console.log(`  ${label.padEnd(44, ".")} ${value}`);
  console.log(`\nfuzz figures (${backends.join(" + ")}, seed ${args.seed}, ${formatMs(Date.now() - started)}):`);
  line("worker processes (a crash goes on in a new one)", totals.workers);
  line("calls (generated inputs)", totals.calls);
  line("  resolved / rejected", `${totals.resolved} / ${totals.rejected}`);
  line("  hostile module options tried", totals.configurations);
  line("crashes (signal, non-zero exit, no result)", totals.crashes);
  line("hangs (a call or worker past its time)", totals.hangs);
  line("processes that did not exit after the work", totals.exitHangs);
  line("children with stderr output", totals.stderrAtExit);
  line("synchronous throws", totals.syncThrows);
  line("calls that returned no Promise", totals.notPromise);
  line("rejections that are not MedusaErrors", totals.nonMedusaRejections);
  line("internal errors (database_error, odd state)", totals.internalErrors);
  line("error messages over 10,000 characters", totals.oversizedMessages);
  line("resolves after close()", totals.resolvesAfterClose);
  line("other errors than unexpected_state after close", totals.wrongErrorAfterClose);
  line("wrong answers (known-answer calls)", totals.wrongAnswers);
  line("state violations (store vs resolved calls)", totals.stateViolations);
  line("leaks (secret/password/token in errors)", totals.leaks);
  line("leaks in stderr", totals.stderrLeaks);
  line("escaped errors (unhandled rejections)", totals.escaped);
  line("calls that blocked the event loop over 1 s", totals.eventLoopBlocks);
  line("longest synchronous part of a call", `${maxSync.ms} ms (${maxSync.worker ?? "-"}: ${String(maxSync.desc ?? "").slice(0, 100)})`);
  console.log(`fuzz: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
