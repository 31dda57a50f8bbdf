#!/usr/bin/env node
"use strict";
// The CLI against the library: a CSV of N rows (default 1,000,000) into the embedded store
// with `medusa-invites invite --file`, beside the library's own batch throughput in the same
// run (a process creating the same rows with createInvites, in batches of the CLI's chunk
// size). Both sides are timed from process start to exit on a fresh SQLite file; rounds
// alternate. Peak RSS of the CLI process comes from /usr/bin/time (or is not shown).
// Targets: the CLI at >= 80% of the library's throughput, with a peak RSS under 200 MB.
//   node bench/cli.js [--rows N] [--rounds N] [--chunk-size N] [--quick]   (npm run bench runs it too)
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const SECRET = "bench-cli-secret";
const root = path.join(__dirname, "..");
const timeBin = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
let ROWS;
let ROUNDS;
let CHUNK;
let workDir;

/** Row i of the input: the same on both sides. */
const emailOf = (round, side, i) => `${side}${round}-${i}@example.com`;

function writeCsv(file, round) {
  const fd = fs.openSync(file, "w");
  let text = "email,roles\n";
  for (let i = 0; i < ROWS; i++) {
    text += `${emailOf(round, "cli", i)},staff\n`;
    if (text.length > 1 << 20) {
      fs.writeSync(fd, text);
      text = "";
    }
  }
  fs.writeSync(fd, text);
  fs.closeSync(fd);
}

/** Runs `argv` (a node process), timed from spawn to exit; peak RSS in bytes when /usr/bin/time is there. */
function timed(argv, env = {}) {
  const rssFile = path.join(workDir, "rss.txt");
  const command = timeBin ? [timeBin, "-f", "%M", "-o", rssFile, process.execPath, ...argv] : [process.execPath, ...argv];
  const devNull = fs.openSync("/dev/null", "w");
  const started = process.hrtime.bigint();
  const run = spawnSync(command[0], command.slice(1), { cwd: workDir, env: { ...process.env, ...env }, stdio: ["ignore", devNull, "pipe"], encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.closeSync(devNull);
  if (run.status !== 0) throw new Error(`${argv.join(" ")} exited ${run.status}: ${run.stderr}`);
  const rss = timeBin ? Number(fs.readFileSync(rssFile, "utf8").trim().split("\n").pop()) * 1024 : undefined;
  return { seconds, rss, stderr: run.stderr };
}

function library(round) {
  const script = `
    const { UserModuleService } = require(${JSON.stringify(root)});
    (async () => {
      const m = new UserModuleService({ jwt_secret: ${JSON.stringify(SECRET)}, database: ${JSON.stringify(`sqlite:${path.join(workDir, `lib-${round}.sqlite`)}`)} });
      for (let start = 0; start < ${ROWS}; start += ${CHUNK}) {
        const batch = [];
        for (let i = start; i < Math.min(start + ${CHUNK}, ${ROWS}); i++) batch.push({ email: "lib${round}-" + i + "@example.com", roles: ["staff"] });
        await m.createInvites(batch);
      }
      await m.close();
    })();`;
  return timed(["-e", script]);
}

function cli(round, csv) {
  return timed(
    [path.join(root, "bin", "medusa-invites.js"), "invite", "--file", csv, "--format", "ndjson", "--chunk-size", String(CHUNK), "--database", `sqlite:${path.join(workDir, `cli-${round}.sqlite`)}`],
    { JWT_SECRET: SECRET },
  );
}

const mib = (bytes) => (bytes === undefined ? "n/a" : `${(bytes / 2 ** 20).toFixed(0)} MiB`);

/**
 * Runs the comparison and prints it. `rows` (default 1,000,000; MEDUSA_INVITES_BENCH_CLI_ROWS),
 * `rounds` (default 2), `chunkSize` (default 2000, the CLI's default).
 */
function runCliBench({ rows = Number(process.env.MEDUSA_INVITES_BENCH_CLI_ROWS ?? 1_000_000), rounds: roundCount = 2, chunkSize = 2000 } = {}) {
  ROWS = rows;
  ROUNDS = roundCount;
  CHUNK = chunkSize;
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-bench-cli-"));
  console.log(`\n== CLI: a ${ROWS.toLocaleString("en")}-row CSV into the embedded store (durable SQLite), chunks of ${CHUNK}, ${ROUNDS} round(s)`);
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const csv = path.join(workDir, `input-${round}.csv`);
    writeCsv(csv, round);
    // Alternate which side goes first, so machine noise hits both alike.
    const order = round % 2 === 0 ? ["library", "cli"] : ["cli", "library"];
    const result = {};
    for (const side of order) result[side] = side === "library" ? library(round) : cli(round, csv);
    rounds.push(result);
    for (const file of fs.readdirSync(workDir)) if (file !== "rss.txt") fs.rmSync(path.join(workDir, file), { force: true });
  }
  const table = rounds.map((result, round) => ({
    round: round + 1,
    "library invites/s": Math.round(ROWS / result.library.seconds),
    "CLI invites/s": Math.round(ROWS / result.cli.seconds),
    share: `${Math.round((100 * result.library.seconds) / result.cli.seconds)}%`,
    "CLI peak RSS": mib(result.cli.rss),
    "library peak RSS": mib(result.library.rss),
  }));
  console.table(table);
  const total = (side) => rounds.reduce((sum, result) => sum + result[side].seconds, 0);
  const share = total("library") / total("cli");
  const peak = Math.max(...rounds.map((result) => result.cli.rss ?? 0));
  console.log(
    `CLI at ${Math.round(share * 100)}% of the library's batch throughput (target >= 80%); ` +
      `CLI peak RSS ${mib(peak || undefined)} (target < 200 MB)`,
  );
  fs.rmSync(workDir, { recursive: true, force: true });
  return { share, peakRss: peak };
}

module.exports = { runCliBench };

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const quick = args.includes("--quick");
  runCliBench({ rows: option("--rows", quick ? 100_000 : undefined), rounds: option("--rounds", quick ? 1 : 2), chunkSize: option("--chunk-size", 2000) });
}
