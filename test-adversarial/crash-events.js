"use strict";
// `npm run crash-test -- --events [--quick] [--seed N] [--sqlite N] [--postgres N] [--backend sqlite|postgres] [--keep]`
//
// The events mode of the crash-test: do the events of committed calls survive a kill -9?
// Each trial starts a writer (crash-events-worker.js, role "write") on a store that lives
// through all trials of its backend, with an event bus that appends every emit to the trial's
// events file synchronously, and kills it with SIGKILL at a random moment. Then a new module
// on the same store (role "flush", another child process, watched from outside like the
// writer) runs flushEvents() with a bus appending to the same file. Then the parent reads the
// store with an independent client (sqlite3, psql) and the file, and checks, for the trial:
//   * every committed invite (user) has had its user.invite.created (user.user.created)
//     delivered at least once, by the writer or by the flush;
//   * no such event names an invite (user) that is not in the store: no event of a refused
//     batch, of a rolled-back transaction, of a call the kill cut before its commit;
//   * every unit the writer logged as resolved was delivered by the writer itself, before it
//     resolved; a unit is wholly in the store or not at all; a refused or rolled-back unit
//     wrote nothing;
//   * a redelivered call's messages are the same as the writer's delivery of it, every emit
//     has Medusa's shape (one created message per row, then, for invites, one token_generated
//     naming the same ids), and nothing is delivered in a later trial (the flush delivered and
//     marked everything: a second flushEvents() delivers 0, no outbox row is left pending);
//   * the flushing module exits 0 with nothing on stderr, as does nothing else: the writer
//     ends by the SIGKILL only, with nothing on stderr.
// Duplicates (an invite whose user.invite.created was delivered more than once: the writer's
// delivery was not marked yet when it died, so the flush delivered it again) are the price of
// at least once: counted and reported, not failures.
// Full run: 100 SQLite and 30 PostgreSQL trials; --quick: 10 and 4. Exit code 1 on any failure.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const {
  forEachBackend, IN_CI, Rng, psql, sqlite, runChild, firstLine, formatMs, PACKAGE_ROOT,
} = require("./common");

const CREATED = { "user.invite.created": "invite", "user.user.created": "user" };
const TOKEN_GENERATED = "user.user.invite.token_generated";
/** The line the parent appends to a trial's events file before the flush: what follows is the flush's. */
const FLUSH_MARK = "@@flush";

/** A store read with an independent client. */
function sqliteStore(file) {
  const rowsOf = (sql) => JSON.parse(sqlite(file, sql) || "[]");
  return {
    backend: "sqlite",
    database: `sqlite:${file}`,
    /** `[id, email]` of the invites and users whose email starts with `prefix` + a letter. */
    rows(prefix) {
      return {
        invite: rowsOf(`select json_group_array(json_array(id, email)) from invite where email glob '${prefix}[a-z]*'`),
        user: rowsOf(`select json_group_array(json_array(id, email)) from "user" where email glob '${prefix}[a-z]*'`),
      };
    },
    /** `[id, email]` of the invites or users with these ids. */
    byIds(table, ids) {
      const list = ids.map((id) => `'${id.replaceAll("'", "''")}'`).join(",");
      return rowsOf(`select json_group_array(json_array(id, email)) from "${table}" where id in (${list})`);
    },
    pendingOutboxRows() {
      return Number(sqlite(file, "select count(*) from medusa_invites_outbox where delivered_at is null"));
    },
    /** Nothing to wait for: a SQLite commit is done or not when the process is gone. */
    async settle() {
      return 0;
    },
  };
}

function pgStore(pg, schema) {
  const q = (sql) => psql(pg.name, sql);
  const rowsOf = (sql) => JSON.parse(q(sql) || "[]");
  return {
    backend: "postgres",
    database: { clientUrl: pg.url, schema },
    rows(prefix) {
      const where = `email ~ '^${prefix}[a-z]'`;
      return {
        invite: rowsOf(`select coalesce(json_agg(json_build_array(id, email)), '[]') from "${schema}".invite where ${where}`),
        user: rowsOf(`select coalesce(json_agg(json_build_array(id, email)), '[]') from "${schema}"."user" where ${where}`),
      };
    },
    byIds(table, ids) {
      const list = ids.map((id) => `'${id.replaceAll("'", "''")}'`).join(",");
      return rowsOf(`select coalesce(json_agg(json_build_array(id, email)), '[]') from "${schema}"."${table}" where id in (${list})`);
    },
    pendingOutboxRows() {
      return Number(q(`select count(*) from "${schema}".medusa_invites_outbox where delivered_at is null`));
    },
    /**
     * Waits until the killed writer's server sessions are gone: a COMMIT it sent just before
     * the kill may still be running in its backend, and would land after the flush looked.
     * Resolves with the milliseconds waited; -1 after 30 s.
     */
    async settle() {
      const started = Date.now();
      while (Date.now() - started < 30_000) {
        if (Number(q(`select count(*) from pg_stat_activity where datname = '${pg.name}' and pid <> pg_backend_pid()`)) === 0) {
          return Date.now() - started;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return -1;
    },
  };
}

/** JSON lines; a line the kill cut is counted and skipped. */
function readLines(file) {
  const lines = [];
  let cut = 0;
  if (!fs.existsSync(file)) return { lines, cut };
  for (const text of fs.readFileSync(file, "utf8").split("\n")) {
    if (!text) continue;
    try {
      lines.push(JSON.parse(text));
    } catch {
      cut++;
    }
  }
  return { lines, cut };
}

const tagOf = (email) => email.slice(0, email.indexOf("-"));

async function main(args, { children }) {
  const quick = args.quick;
  const trialsFor = {
    sqlite: Number(args.sqlite ?? (quick ? 10 : 100)),
    postgres: Number(args.postgres ?? (quick ? 4 : 30)),
  };
  const rng = new Rng(args.seed);
  const SECRET = `adv-secret-${rng.hex(12)}`;

  const totals = {
    trials: 0, killedWithWritesInFlight: 0, units: 0, unitsResolved: 0, unitsRejected: 0, unitsInFlight: 0,
    invites: 0, users: 0, invitesDeliveredByWriter: 0, invitesRedeliveredOnly: 0, createdMessages: 0, userMessages: 0,
    emitsByWriter: 0, emitsByFlush: 0, callsFlushed: 0, invitesDuplicated: 0, extraDeliveries: 0, linesCut: 0,
    pgWaitMs: 0,
    // failures
    missing: 0, phantom: 0, lateDeliveries: 0, resolvedNotDelivered: 0, redeliveryDiffers: 0, malformed: 0,
    pendingAfterFlush: 0, partialUnits: 0, rejectedButWritten: 0, untaggedWrites: 0, flushFailures: 0, writerFailures: 0,
    stderrOutput: 0,
  };
  const failures = [];
  const fail = (kind, trial, detail, count = 1) => {
    totals[kind] += count;
    failures.push(`[${kind}] ${trial}: ${detail}`);
  };

  /** The flushing module, in a child process: `{ delivered, again, pending }` or undefined. */
  async function runFlush(store, name, config) {
    const outcome = await runChild(path.join(__dirname, "crash-events-worker.js"), [], {
      env: { ADV_CRASH_EVENTS_WORKER: JSON.stringify({ ...config, role: "flush" }) },
      cwd: path.dirname(config.eventsFile),
      timeoutMs: 120_000,
      children,
    });
    const line = outcome.stdout.split("\n").find((text) => text.startsWith("@@FLUSHED "));
    if (outcome.stderr.trim() !== "") fail("stderrOutput", name, `the flushing module: ${firstLine(outcome.stderr, 500)}`);
    if (outcome.code !== 0 || !line) {
      fail("flushFailures", name, `the flushing module ${outcome.timedOut ? "timed out" : `exited with ${outcome.code}, signal ${outcome.signal}`}: ${firstLine(outcome.stderr || "(no stderr)")}`);
      return undefined;
    }
    return JSON.parse(line.slice("@@FLUSHED ".length));
  }

  /** Checks one trial: the log, the store and the events file. */
  function checkTrial(store, name, prefix, logEntries, eventsFile) {
    // The units: tag → { kind, invites, users, outcome }.
    const units = new Map();
    for (const entry of logEntries) {
      if (entry.intent) units.set(entry.intent, { ...entry, outcome: "in flight" });
      else if (entry.resolved) units.get(entry.resolved).outcome = "resolved";
      else if (entry.rejected) Object.assign(units.get(entry.rejected), { outcome: "rejected", type: entry.type });
    }
    // The store: id → { table, email, tag }.
    const rows = store.rows(prefix);
    const stored = new Map();
    const perTag = new Map();
    for (const table of ["invite", "user"]) {
      for (const [id, email] of rows[table]) {
        const tag = tagOf(email);
        stored.set(id, { table, email, tag });
        const counts = perTag.get(tag) ?? { invite: 0, user: 0, ids: [] };
        counts[table]++;
        counts.ids.push(id);
        perTag.set(tag, counts);
      }
    }
    totals.invites += rows.invite.length;
    totals.users += rows.user.length;

    // The events file: the writer's lines, the flush mark, the flush's lines.
    const { lines, cut } = readLines(eventsFile);
    totals.linesCut += cut;
    const deliveries = new Map(); // id → { writer, flush }
    const writerCall = new Map(); // first id of a call → its messages as JSON, as the writer delivered them
    let byFlush = false;
    for (const line of lines) {
      if (line === FLUSH_MARK) {
        byFlush = true;
        continue;
      }
      if (!Array.isArray(line)) {
        fail("malformed", name, `a line of the events file is not a list of messages: ${firstLine(JSON.stringify(line))}`);
        continue;
      }
      totals[byFlush ? "emitsByFlush" : "emitsByWriter"]++;
      const created = line.filter((message) => CREATED[message?.name]);
      const shape = shapeProblem(line, created);
      if (shape) fail("malformed", name, `${byFlush ? "the flush" : "the writer"} emitted ${shape}: ${firstLine(JSON.stringify(line), 400)}`);
      if (created.length === 0) continue;
      const key = created[0].data.id;
      const text = JSON.stringify(line);
      if (!byFlush) writerCall.set(key, text);
      else if (writerCall.has(key) && writerCall.get(key) !== text) {
        fail("redeliveryDiffers", name, `the flush's messages for the call of ${key} differ from the writer's: ${firstLine(text, 300)} vs ${firstLine(writerCall.get(key), 300)}`);
      }
      for (const message of created) {
        const kind = CREATED[message.name];
        totals[kind === "invite" ? "createdMessages" : "userMessages"]++;
        const id = message.data.id;
        const seen = deliveries.get(id) ?? { kind, writer: 0, flush: 0 };
        seen[byFlush ? "flush" : "writer"]++;
        deliveries.set(id, seen);
      }
    }

    // Every committed row was announced at least once.
    const missing = [];
    for (const [id, row] of stored) {
      const seen = deliveries.get(id);
      if (!seen || seen.kind !== row.table) {
        missing.push(`${id} (${row.email})`);
        continue;
      }
      if (row.table === "invite") {
        if (seen.writer > 0) totals.invitesDeliveredByWriter++;
        else totals.invitesRedeliveredOnly++;
      }
      if (seen.writer + seen.flush > 1) {
        totals.invitesDuplicated += row.table === "invite" ? 1 : 0;
        totals.extraDeliveries += seen.writer + seen.flush - 1;
      }
    }
    if (missing.length > 0) {
      fail("missing", name, `${missing.length} committed rows whose created event was never delivered: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`, missing.length);
    }

    // No event names a row that is not this trial's.
    const strangers = [...deliveries.keys()].filter((id) => !stored.has(id));
    if (strangers.length > 0) {
      const elsewhere = new Map();
      for (const table of ["invite", "user"]) {
        for (let i = 0; i < strangers.length; i += 500) {
          for (const [id, email] of store.byIds(table, strangers.slice(i, i + 500))) elsewhere.set(id, `${table} ${email}`);
        }
      }
      const phantom = strangers.filter((id) => !elsewhere.has(id));
      const late = strangers.filter((id) => elsewhere.has(id));
      if (phantom.length > 0) {
        fail("phantom", name, `${phantom.length} created events name rows that are not in the store: ${phantom.slice(0, 5).join(", ")}${phantom.length > 5 ? ", …" : ""}`, phantom.length);
      }
      if (late.length > 0) {
        fail("lateDeliveries", name, `${late.length} created events name an earlier trial's rows (its flush left them pending): ${late.slice(0, 3).map((id) => `${id} = ${elsewhere.get(id)}`).join(", ")}`, late.length);
      }
    }

    // The units against the store and the writer's deliveries.
    let inFlight = 0;
    const expectedTags = new Set();
    for (const [tag, unit] of units) {
      expectedTags.add(tag);
      totals.units++;
      if (unit.outcome === "resolved") totals.unitsResolved++;
      else if (unit.outcome === "rejected") totals.unitsRejected++;
      else inFlight++;
      const found = perTag.get(tag) ?? { invite: 0, user: 0, ids: [] };
      const label = `${tag} ${unit.kind} (${unit.outcome}${unit.type ? ` ${unit.type}` : ""})`;
      const want = unit.invites + unit.users;
      const got = found.invite + found.user;
      if (got !== 0 && (found.invite !== unit.invites || found.user !== unit.users)) {
        fail("partialUnits", name, `${label}: the store has ${found.invite}/${unit.invites} invites, ${found.user}/${unit.users} users`);
      } else if (got > 0 && (want === 0 || unit.outcome === "rejected")) {
        fail("rejectedButWritten", name, `${label}: the store has ${got} rows of it`);
      } else if (unit.outcome === "resolved" && got !== want) {
        fail("writerFailures", name, `${label} resolved, but the store has ${got} of its ${want} rows`);
      } else if (unit.outcome === "resolved") {
        const undelivered = found.ids.filter((id) => !(deliveries.get(id)?.writer > 0));
        if (undelivered.length > 0) {
          fail("resolvedNotDelivered", name, `${label}: ${undelivered.length} of its rows were not announced by the writer before it resolved (${undelivered[0]})`, undelivered.length);
        }
      }
    }
    for (const [tag, found] of perTag) {
      if (!expectedTags.has(tag)) fail("untaggedWrites", name, `the store has ${found.invite} invites and ${found.user} users tagged ${tag}, which no unit meant to write`);
    }
    totals.unitsInFlight += inFlight;
    if (inFlight > 0) totals.killedWithWritesInFlight++;
  }

  async function runTrial(store, temp, index, delayMs) {
    const name = `${store.backend}#${index}`;
    const logFile = path.join(temp.dir, `${store.backend}-${index}.log`);
    const eventsFile = path.join(temp.dir, `${store.backend}-${index}.events`);
    const config = {
      trial: index, seed: (args.seed + index * 7919) >>> 0, database: store.database, secret: SECRET, logFile, eventsFile,
      packageRoot: PACKAGE_ROOT,
    };
    let verified = false;
    let killTimer;
    const outcome = await runChild(path.join(__dirname, "crash-events-worker.js"), [], {
      env: { ADV_CRASH_EVENTS_WORKER: JSON.stringify({ ...config, role: "write" }) },
      cwd: temp.dir,
      timeoutMs: 120_000,
      children,
      onLine(line, child) {
        if (line === "@@VERIFIED") {
          verified = true;
          killTimer = setTimeout(() => child.kill("SIGKILL"), delayMs);
        }
      },
    });
    clearTimeout(killTimer);
    totals.trials++;
    const { lines: logEntries } = readLines(logFile);
    if (!verified) {
      const why = logEntries.find((entry) => entry.rejected)?.type ?? firstLine(outcome.stderr || `exit code ${outcome.code}, signal ${outcome.signal}`);
      fail("writerFailures", name, `a new module could not open the store and create an invite: ${why}`);
    } else if (outcome.signal !== "SIGKILL" || outcome.timedOut) {
      fail("writerFailures", name, `the writer ended before the kill: exit code ${outcome.code}, signal ${outcome.signal}: ${firstLine(outcome.stderr || "(no stderr)")}`);
    }
    if (outcome.stderr.trim() !== "") fail("stderrOutput", name, `the writer: ${firstLine(outcome.stderr, 500)}`);

    const waited = await store.settle();
    if (waited < 0) fail("flushFailures", name, "the killed writer's PostgreSQL sessions were still there after 30 s");
    else totals.pgWaitMs += waited;
    // What follows the mark is the flush's; a line the kill cut ends here.
    const tail = fs.existsSync(eventsFile) ? fs.readFileSync(eventsFile).subarray(-1).toString() : "\n";
    fs.appendFileSync(eventsFile, `${tail === "\n" ? "" : "\n"}${JSON.stringify(FLUSH_MARK)}\n`);
    const flushed = await runFlush(store, name, config);
    if (flushed) {
      totals.callsFlushed += flushed.delivered;
      if (flushed.again !== 0 || flushed.pending !== 0) {
        fail("pendingAfterFlush", name, `after flushEvents() delivered ${flushed.delivered}, a second one delivered ${flushed.again} and listPendingEvents() shows ${flushed.pending}`);
      }
    }
    const pending = store.pendingOutboxRows();
    if (pending !== 0) fail("pendingAfterFlush", name, `${pending} outbox rows are not marked delivered after the flushing module closed`);
    checkTrial(store, name, `t${index}`, logEntries, eventsFile);
  }

  async function runBackend(store, temp, trials) {
    const started = Date.now();
    const before = { invites: totals.invites, callsFlushed: totals.callsFlushed };
    for (let index = 1; index <= trials; index++) {
      // Early kills land in the first writes; later ones in the middle of a stream of them.
      const delayMs = rng.weighted([[2, () => rng.int(0, 60)], [5, () => rng.int(60, 600)], [2, () => rng.int(600, 1500)]])();
      await runTrial(store, temp, index, delayMs);
    }
    console.log(
      `  ${store.backend.padEnd(9)} ${String(trials).padStart(4)} trials, ${String(totals.invites - before.invites).padStart(7)} invites, ` +
        `${String(totals.callsFlushed - before.callsFlushed).padStart(5)} calls redelivered by flushEvents(), ${formatMs(Date.now() - started)}`,
    );
  }

  const started = Date.now();
  console.log(`crash-test (events): seed ${args.seed}${quick ? " (quick)" : ""}; reproduce with: npm run crash-test -- --events --seed ${args.seed}${quick ? " --quick" : ""}`);
  // The temp folder goes at exit, unless --keep is given and something failed (then its logs,
  // events files and SQLite store are there to read).
  const temp = { dir: fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-adv-crash-events-")) };
  let keep = false;
  process.on("exit", () => keep || fs.rmSync(temp.dir, { recursive: true, force: true }));
  const backends = await forEachBackend(
    { trialsFor, only: args.backend, dir: temp.dir, name: "crashev", sqliteStore, pgStore },
    (store, trials) => runBackend(store, temp, trials),
  );
  if (failures.length > 0 && args.keep) {
    keep = true;
    console.log(`kept for reading: ${temp.dir}`);
  }

  if (failures.length > 0) {
    console.log("\nfailures:");
    for (const failure of failures.slice(0, 40)) console.log(`  ${failure}`);
    if (failures.length > 40) console.log(`  … and ${failures.length - 40} more`);
  }
  const line = (label, value) => console.log(`  ${label.padEnd(52, ".")} ${value}`);
  console.log(`\ncrash-test events figures (${backends.join(" + ") || "nothing ran"}, seed ${args.seed}, ${formatMs(Date.now() - started)}${IN_CI ? ", CI" : ""}):`);
  line("kill -9 trials", totals.trials);
  line("  trials that killed writes in flight", totals.killedWithWritesInFlight);
  line("units of work (calls, transactions)", totals.units);
  line("  resolved / rejected / in flight at the kill", `${totals.unitsResolved} / ${totals.unitsRejected} / ${totals.unitsInFlight}`);
  line("invites committed (read back)", totals.invites);
  line("  user.invite.created delivered by the writer", totals.invitesDeliveredByWriter);
  line("  delivered only by flushEvents() (redelivered)", totals.invitesRedeliveredOnly);
  line("  delivered more than once (duplicates)", totals.invitesDuplicated);
  line("users committed (user.user.created checked too)", totals.users);
  line("extra deliveries of a created event (all rows)", totals.extraDeliveries);
  line("emits by writers / by flushEvents()", `${totals.emitsByWriter} / ${totals.emitsByFlush}`);
  line("calls delivered by flushEvents()", totals.callsFlushed);
  line("emits cut by the kill (partial lines)", totals.linesCut);
  if (backends.includes("postgres")) line("waits for a killed writer's sessions (total)", formatMs(totals.pgWaitMs));
  line("MISSING: committed, never delivered", totals.missing);
  line("PHANTOM: delivered, not committed", totals.phantom);
  line("delivered in a later trial", totals.lateDeliveries);
  line("resolved, not delivered before resolving", totals.resolvedNotDelivered);
  line("redeliveries unlike the first delivery", totals.redeliveryDiffers);
  line("emits not of Medusa's shape", totals.malformed);
  line("outbox rows pending after the flush", totals.pendingAfterFlush);
  line("partial units / refused units that wrote", `${totals.partialUnits} / ${totals.rejectedButWritten}`);
  line("rows no unit meant to write", totals.untaggedWrites);
  line("flushing modules that failed", totals.flushFailures);
  line("writers that failed (open, early exit, lost write)", totals.writerFailures);
  line("children with stderr output", totals.stderrOutput);
  const failedTrials = new Set(failures.map((failure) => failure.split(": ")[0].split("] ")[1])).size;
  console.log(`crash-test events: ${totals.trials - Math.min(failedTrials, totals.trials)} passed, ${failedTrials} failed`);
  process.exitCode = failedTrials > 0 ? 1 : 0;
}

/** What is wrong with one emit's messages, or undefined: created messages, then (invites) one token_generated of the same ids. */
function shapeProblem(messages, created) {
  if (messages.length === 0) return "no messages";
  const kinds = new Set(created.map((message) => message.name));
  if (kinds.size > 1) return "created messages of invites and users in one emit";
  for (const message of created) {
    if (typeof message.data?.id !== "string" || Object.keys(message.data).length !== 1) return "a created message without a string data.id";
    const object = CREATED[message.name];
    const meta = message.metadata;
    if (meta?.source !== "user" || meta.object !== object || meta.action !== "created") return "a created message with other metadata";
  }
  if (kinds.has("user.invite.created")) {
    const last = messages[messages.length - 1];
    if (messages.length !== created.length + 1 || last.name !== TOKEN_GENERATED) return "invite messages not followed by exactly one token_generated";
    const ids = created.map((message) => message.data.id);
    const named = Array.isArray(last.data?.id) ? last.data.id : [last.data?.id];
    if (ids.length === 1 && typeof last.data?.id !== "string") return "a token_generated of one id that is not a string";
    if (JSON.stringify(named) !== JSON.stringify(ids)) return "a token_generated naming other ids than the created messages";
  } else if (kinds.has("user.user.created") && messages.length !== created.length) {
    return "user messages mixed with others";
  } else if (created.length === 0) {
    return "messages with no created event (this writer only creates)";
  }
  return undefined;
}

module.exports = { main };
