#!/usr/bin/env node
"use strict";
// `npm run crash-test [-- --quick] [--seed N] [--sqlite N] [--postgres N]`
//
// kill -9 at random moments while a child process (crash-worker.js) writes batches and
// multi-call transactions, then checks the store with an independent client (sqlite3, psql):
//   * every unit of work (a batch, a transaction of several calls) is wholly present or wholly
//     absent, by its email tag; a transaction's soft-delete goes with its creates;
//   * every unit logged as resolved is present; every unit logged as rejected is absent;
//   * nothing is in the store that no unit meant to write; no live email is there twice;
//   * SQLite: PRAGMA integrity_check is ok;
//   * a new module opens the store and works: the next trial's child (and a last one) first
//     creates an invite and reads it back.
// Full run: 100 SQLite and 30 PostgreSQL trials; --quick: 15 and 5. Exit code 1 on any failure.
//
// `npm run crash-test -- --events [--quick] [--seed N] …` runs the events mode instead
// (crash-events.js): do the events of committed calls survive the kill, through the outbox
// and flushEvents()?
const fs = require("node:fs");
const path = require("node:path");
const {
  forEachBackend, IN_CI, Rng, parseArgs, psql, sqlite, createTempDir, exitOnSignals, runChild,
  firstLine, formatMs, PACKAGE_ROOT,
} = require("./common");

const args = parseArgs();
const quick = args.quick;
const trialsFor = {
  sqlite: Number(args.sqlite ?? (quick ? 15 : 100)),
  postgres: Number(args.postgres ?? (quick ? 5 : 30)),
};
const rng = new Rng(args.seed);
const SECRET = `adv-secret-${rng.hex(12)}`;
const children = new Set();
exitOnSignals(children);

const totals = {
  trials: 0, killedWithWritesInFlight: 0, unitsChecked: 0, unitsResolved: 0, unitsRejected: 0, unitsInFlight: 0, invitesChecked: 0,
  partialUnits: 0, lostWrites: 0, rejectedButWritten: 0, phantomWrites: 0, duplicateEmails: 0, integrityFailures: 0,
  reopenFailures: 0, earlyExits: 0, stderrOutput: 0,
};
const failures = [];

function fail(kind, trial, detail) {
  totals[kind]++;
  failures.push(`[${kind}] ${trial}: ${detail}`);
}

/** A store: how to read it with an independent client. */
function sqliteStore(file) {
  return {
    backend: "sqlite",
    database: `sqlite:${file}`,
    rows(trialPrefix) {
      const invites = JSON.parse(
        sqlite(file, `select json_group_array(json_array(email, deleted_at is not null)) from invite where email glob '${trialPrefix}[a-z]*'`) || "[]",
      );
      const users = JSON.parse(sqlite(file, `select json_group_array(email) from "user" where email glob '${trialPrefix}[a-z]*'`) || "[]");
      return { invites, users };
    },
    duplicates() {
      return Number(sqlite(file, "select count(*) from (select email from invite where deleted_at is null group by email having count(*) > 1)"));
    },
    integrity() {
      return sqlite(file, "pragma integrity_check").trim();
    },
  };
}

function pgStore(pg, schema) {
  const q = (sql) => psql(pg.name, sql);
  return {
    backend: "postgres",
    database: { clientUrl: pg.url, schema },
    rows(trialPrefix) {
      const pattern = `^${trialPrefix}[a-z]`;
      const invites = JSON.parse(q(`select coalesce(json_agg(json_build_array(email, deleted_at is not null)), '[]') from "${schema}".invite where email ~ '${pattern}'`));
      const users = JSON.parse(q(`select coalesce(json_agg(email), '[]') from "${schema}"."user" where email ~ '${pattern}'`));
      return { invites, users };
    },
    duplicates() {
      return Number(q(`select count(*) from (select email from "${schema}".invite where deleted_at is null group by email having count(*) > 1) d`));
    },
    integrity() {
      return "ok"; // PostgreSQL keeps its own WAL; what matters here is the data checks above
    },
  };
}

/** The log lines of a trial (a line cut by the kill is ignored). */
function readLog(file) {
  const entries = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    try {
      entries.push(JSON.parse(line));
    } catch {
      // the last line, cut by the kill
    }
  }
  return entries;
}

/** Compares one trial's log with the store. */
function checkTrial(store, name, trialPrefix, entries) {
  const units = new Map();
  for (const entry of entries) {
    if (entry.intent) units.set(entry.intent, { ...entry, outcome: "in flight" });
    else if (entry.resolved) units.get(entry.resolved).outcome = "resolved";
    else if (entry.rejected) {
      const unit = units.get(entry.rejected);
      unit.outcome = "rejected";
      unit.type = entry.type;
    }
  }
  const { invites, users } = store.rows(trialPrefix);
  // Per tag: invites created, of them soft-deleted, users created.
  const byTag = new Map();
  const tagOf = (email) => email.slice(0, email.indexOf("-"));
  const counts = (tag) => {
    if (!byTag.has(tag)) byTag.set(tag, { invites: 0, deleted: 0, users: 0 });
    return byTag.get(tag);
  };
  for (const [email, deleted] of invites) {
    const entry = counts(tagOf(email));
    entry.invites++;
    if (deleted) entry.deleted++;
  }
  for (const email of users) counts(tagOf(email)).users++;
  totals.invitesChecked += invites.length;

  const expectedTags = new Set([`${trialPrefix}v`]);
  let inFlight = 0;
  for (const [id, unit] of units) {
    totals.unitsChecked++;
    if (unit.outcome === "resolved") totals.unitsResolved++;
    if (unit.outcome === "rejected") totals.unitsRejected++;
    if (unit.outcome === "in flight") inFlight++;
    // Each part of the unit: "none" (nothing written), "all", or "partial".
    const parts = [];
    const { invites: inv, users: usr, softDeletes: sd } = unit.expect;
    if (inv) {
      expectedTags.add(inv[0]);
      parts.push(["invites", inv[1], counts(inv[0]).invites]);
    }
    if (usr) {
      expectedTags.add(usr[0]);
      parts.push(["users", usr[1], counts(usr[0]).users]);
    }
    if (sd) parts.push(["soft-deletes", sd[1], counts(sd[0]).deleted]);
    const states = parts.map(([, want, got]) => (got === 0 ? "none" : got === want ? "all" : "partial"));
    const describe = parts.map(([what, want, got]) => `${got}/${want} ${what}`).join(", ");
    const label = `${id} ${unit.kind} (${unit.outcome}${unit.type ? ` ${unit.type}` : ""})`;
    if (states.includes("partial") || (states.includes("all") && states.includes("none"))) {
      fail("partialUnits", name, `${label}: ${describe}`);
    } else if (unit.outcome === "resolved" && !states.every((state) => state === "all")) {
      fail("lostWrites", name, `${label} resolved, but the store has ${describe}`);
    } else if (unit.outcome === "rejected" && !states.every((state) => state === "none")) {
      fail("rejectedButWritten", name, `${label} rejected, but the store has ${describe}`);
    }
  }
  totals.unitsInFlight += inFlight;
  if (inFlight > 0) totals.killedWithWritesInFlight++;
  for (const [tag, found] of byTag) {
    if (!expectedTags.has(tag)) fail("phantomWrites", name, `the store has ${found.invites} invites and ${found.users} users tagged ${tag}, which no unit meant to write`);
  }
  const duplicates = store.duplicates();
  if (duplicates > 0) fail("duplicateEmails", name, `${duplicates} emails are held by more than one live invite`);
  const integrity = store.integrity();
  if (integrity !== "ok") fail("integrityFailures", name, `PRAGMA integrity_check: ${firstLine(integrity)}`);
}

/** Runs the child of one trial; kills it `delayMs` after it has verified the store. */
async function runTrial(store, temp, index, { kill, delayMs }) {
  const name = `${store.backend}#${index}`;
  const logFile = path.join(temp.dir, `${store.backend}-${index}.log`);
  const trialPrefix = `t${index}`;
  let verified = false;
  let verifyFailed = false;
  let killTimer;
  const outcome = await runChild(path.join(__dirname, "crash-worker.js"), [], {
    env: {
      ADV_CRASH_WORKER: JSON.stringify({
        trial: index, seed: (args.seed + index * 7919) >>> 0, database: store.database, secret: SECRET, logFile,
        packageRoot: PACKAGE_ROOT, verifyOnly: !kill,
      }),
    },
    cwd: temp.dir,
    timeoutMs: 120_000,
    children,
    onLine(line, child) {
      if (line === "@@VERIFIED") {
        verified = true;
        if (kill) killTimer = setTimeout(() => child.kill("SIGKILL"), delayMs);
      } else if (line === "@@VERIFY-FAILED") verifyFailed = true;
    },
  });
  clearTimeout(killTimer);
  totals.trials += kill ? 1 : 0;
  const entries = fs.existsSync(logFile) ? readLog(logFile) : [];
  if (!verified || verifyFailed) {
    const why = entries.find((entry) => entry.verifyFailed)?.verifyFailed ?? firstLine(outcome.stderr || `exit code ${outcome.code}, signal ${outcome.signal}`);
    fail("reopenFailures", name, `a new module could not open the store and create + read an invite: ${why}`);
  } else if (kill && outcome.signal !== "SIGKILL") {
    fail("earlyExits", name, `the child ended before the kill: exit code ${outcome.code}, signal ${outcome.signal}: ${firstLine(outcome.stderr || "(no stderr)")}`);
  } else if (!kill && (outcome.code !== 0 || outcome.stderr.trim() !== "")) {
    fail("reopenFailures", name, `the last check's child exited with ${outcome.code}: ${firstLine(outcome.stderr || "(no stderr)")}`);
  }
  if (kill && outcome.stderr.trim() !== "") fail("stderrOutput", name, firstLine(outcome.stderr, 500));
  if (kill) checkTrial(store, name, trialPrefix, entries);
  return entries.filter((entry) => entry.intent).length;
}

async function runBackend(store, temp, trials) {
  const started = Date.now();
  let units = 0;
  for (let index = 1; index <= trials; index++) {
    // Early kills land in the first writes; later ones in the middle of a stream of them.
    const delayMs = rng.weighted([[2, () => rng.int(0, 60)], [5, () => rng.int(60, 600)], [2, () => rng.int(600, 1500)]])();
    units += await runTrial(store, temp, index, { kill: true, delayMs });
  }
  // The store after the last kill: a new module opens it and works.
  await runTrial(store, temp, trials + 1, { kill: false });
  console.log(`  ${store.backend.padEnd(9)} ${String(trials).padStart(4)} trials, ${String(units).padStart(6)} units of work, ${formatMs(Date.now() - started)}`);
}

async function main() {
  const started = Date.now();
  console.log(`crash-test: seed ${args.seed}${quick ? " (quick)" : ""}; reproduce with: npm run crash-test -- --seed ${args.seed}${quick ? " --quick" : ""}`);
  const temp = createTempDir("crash");
  const backends = await forEachBackend(
    { trialsFor, only: args.backend, dir: temp.dir, name: "crash", sqliteStore, pgStore },
    (store, trials) => runBackend(store, temp, trials),
  );
  temp.remove();

  if (failures.length > 0) {
    console.log("\nfailures:");
    for (const failure of failures.slice(0, 40)) console.log(`  ${failure}`);
    if (failures.length > 40) console.log(`  … and ${failures.length - 40} more`);
  }
  const line = (label, value) => console.log(`  ${label.padEnd(46, ".")} ${value}`);
  console.log(`\ncrash-test figures (${backends.join(" + ") || "nothing ran"}, seed ${args.seed}, ${formatMs(Date.now() - started)}${IN_CI ? ", CI" : ""}):`);
  line("kill -9 trials", totals.trials);
  line("  trials that killed writes in flight", totals.killedWithWritesInFlight);
  line("units of work checked (batches, transactions)", totals.unitsChecked);
  line("  resolved / rejected / in flight at the kill", `${totals.unitsResolved} / ${totals.unitsRejected} / ${totals.unitsInFlight}`);
  line("invites read back", totals.invitesChecked);
  line("partial units (neither all nor nothing)", totals.partialUnits);
  line("lost writes (resolved, not in the store)", totals.lostWrites);
  line("rejected units that wrote", totals.rejectedButWritten);
  line("writes no unit meant", totals.phantomWrites);
  line("emails held by two live invites", totals.duplicateEmails);
  line("PRAGMA integrity_check failures", totals.integrityFailures);
  line("stores a new module could not open and use", totals.reopenFailures);
  line("children that ended before the kill", totals.earlyExits);
  line("children with stderr output", totals.stderrOutput);
  const failedTrials = new Set(failures.map((failure) => failure.split(": ")[0].split("] ")[1])).size;
  console.log(`crash-test: ${totals.trials - Math.min(failedTrials, totals.trials)} passed, ${failedTrials} failed`);
  process.exitCode = failedTrials > 0 ? 1 : 0;
}

(args.events ? require("./crash-events").main(args, { children }) : main()).catch((error) => {
  console.error(error);
  process.exit(2);
});
