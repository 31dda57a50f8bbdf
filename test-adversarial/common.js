"use strict";
// Shared by the adversarial suites (fuzz.js, crash-test.js): command-line options, a seeded
// PRNG, the two backends (SQLite temp files, a PostgreSQL database of our own), child
// processes observed from outside, and the summary line.
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

/** The package under test: the project root (index.js loads medusa-invites.node from there). */
const PACKAGE_ROOT = path.resolve(__dirname, "..");

/** Options without a value. */
const FLAGS = ["quick", "events", "keep"];

/**
 * `--quick`, `--events` (crash-test), `--keep` (keep the temp files of a failed run),
 * `--seed N`, `--only a,b`, `--backend sqlite|postgres`, and `--name value` in general.
 */
function parseArgs(argv = process.argv.slice(2)) {
  const args = { quick: false, events: false, keep: false, seed: undefined, only: undefined, backend: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (FLAGS.includes(arg.slice(2)) && arg.startsWith("--")) args[arg.slice(2)] = true;
    else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split("=", 2);
      args[name] = inline ?? argv[++i];
    } else throw new Error(`unknown argument ${arg}`);
  }
  args.seed = args.seed === undefined ? (Date.now() ^ (process.pid << 8)) >>> 0 : Number(args.seed) >>> 0;
  return args;
}

/** A seeded PRNG (splitmix32): the same seed gives the same inputs, so a failure reproduces. */
class Rng {
  constructor(seed) {
    this.state = seed >>> 0;
  }
  next() {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p) {
    return this.next() < p;
  }
  pick(list) {
    return list[Math.floor(this.next() * list.length)];
  }
  /** Picks from `[[weight, value], ...]`. */
  weighted(entries) {
    let total = 0;
    for (const [weight] of entries) total += weight;
    let x = this.next() * total;
    for (const [weight, value] of entries) {
      x -= weight;
      if (x < 0) return value;
    }
    return entries[entries.length - 1][1];
  }
  hex(bytes) {
    let out = "";
    for (let i = 0; i < bytes; i++) out += this.int(0, 255).toString(16).padStart(2, "0");
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Backends

const IN_CI = process.env.CI === "true";
const PG_URL = (process.env.MEDUSA_INVITES_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "");

function psql(database, sql, { timeout = 60_000 } = {}) {
  return execFileSync("psql", [`${PG_URL}/${database}`, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout,
    maxBuffer: 1 << 30,
  });
}

function sqlite(file, sql) {
  return execFileSync("sqlite3", ["-batch", file, sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 });
}

/** The URL without its user and password, for messages. */
const shownPgUrl = () => PG_URL.replace(/\/\/[^@/]*@/, "//");

/**
 * Whether PostgreSQL takes part: yes when the server answers; in CI (CI=true) an unreachable
 * server is a failure (exit 1), elsewhere the PostgreSQL half is skipped with a message.
 */
function postgresAvailable(suite) {
  try {
    psql("postgres", "select 1", { timeout: 15_000 });
    return true;
  } catch (error) {
    const reason = String(error.stderr ?? error.message).trim().split("\n")[0];
    if (IN_CI) {
      console.error(`${suite}: PostgreSQL at ${shownPgUrl()} is unreachable in CI (${reason}); it must take part.`);
      process.exit(1);
    }
    console.log(`${suite}: PostgreSQL skipped: the server at ${shownPgUrl()} is unreachable (${reason}).`);
    return false;
  }
}

/** A PostgreSQL database of our own (`adv_<suite>_<pid>_<time>`), dropped by `drop()` and at exit. */
function createPgDatabase(suite) {
  const name = `adv_${suite}_${process.pid}_${Date.now()}`;
  psql("postgres", `create database "${name}"`);
  let dropped = false;
  const drop = () => {
    if (dropped) return;
    dropped = true;
    try {
      psql("postgres", `drop database if exists "${name}" with (force)`);
    } catch {
      // the server may be gone; nothing else to do
    }
  };
  process.on("exit", drop);
  return { name, url: `${PG_URL}/${name}`, drop };
}

/** A temp folder for the run, removed by `remove()` and at exit. */
function createTempDir(suite) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `medusa-invites-adv-${suite}-`));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on("exit", remove);
  return { dir, remove };
}

/** Ends the run on Ctrl-C / SIGTERM through process.exit, so the exit handlers clean up. */
function exitOnSignals(children) {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      process.exit(130);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Children

/**
 * Runs `node script ...args` and observes it from outside: exit code, signal, stdout, stderr,
 * and a timeout (`timeoutMs`, then SIGKILL). `onLine(line, child)` sees stdout line by line.
 * Resolves `{ code, signal, stdout, stderr, timedOut, ms }`.
 */
function runChild(script, args, { env, cwd, timeoutMs, onLine, children, nodeOptions = [] } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...nodeOptions, script, ...args], {
      env: { ...process.env, ...env },
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children?.add(child);
    let stdout = "";
    let stderr = "";
    let pending = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (!onLine) return;
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        onLine(line, child);
      }
    });
    child.stderr.on("data", (chunk) => {
      if (stderr.length < 1_000_000) stderr += chunk;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children?.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started, child });
    });
  });
}

/** Runs `tasks` (functions returning promises) at most `jobs` at a time, in order. */
async function pool(tasks, jobs) {
  const results = new Array(tasks.length);
  let next = 0;
  async function lane() {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));
  return results;
}

/** A JWT-shaped text (header.payload.signature, base64url JSON header). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}/;

/** First line of a text, cut for a report. */
function firstLine(text, max = 300) {
  const line = String(text).trim().split("\n")[0];
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function formatMs(ms) {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Runs `run(store, trials)` on each backend that has trials (and is not excluded by `only`):
 * SQLite on the file `<name>.sqlite` in `dir`, PostgreSQL on a database of its own (dropped
 * afterwards). Resolves with the backends that ran.
 */
async function forEachBackend({ trialsFor, only, dir, name, sqliteStore, pgStore }, run) {
  const backends = [];
  if (trialsFor.sqlite > 0 && only !== "postgres") {
    await run(sqliteStore(path.join(dir, `${name}.sqlite`)), trialsFor.sqlite);
    backends.push("sqlite");
  }
  if (trialsFor.postgres > 0 && only !== "sqlite" && postgresAvailable("crash-test")) {
    const pg = createPgDatabase(name);
    await run(pgStore(pg, name), trialsFor.postgres);
    pg.drop();
    backends.push("postgres");
  }
  return backends;
}

module.exports = {
  forEachBackend,
  PACKAGE_ROOT,
  IN_CI,
  PG_URL,
  JWT_PATTERN,
  Rng,
  parseArgs,
  psql,
  sqlite,
  shownPgUrl,
  postgresAvailable,
  createPgDatabase,
  createTempDir,
  exitOnSignals,
  runChild,
  pool,
  firstLine,
  formatMs,
};
