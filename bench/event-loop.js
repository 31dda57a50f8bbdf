#!/usr/bin/env node
"use strict";
// npm run bench:event-loop: the longest stretch a call holds the event loop, for hostile and
// large inputs, beside the floor the engine sets in the same run. Medusa-sized calls take
// microseconds on the JS thread; the work runs natively off it. What remains on it is reading
// the caller's input, which cannot be done elsewhere: JS objects live on the JS thread. For a
// huge plain object, V8 lists all of an object's keys before it yields the first one, so the
// floor of any call that must look at the keys is that listing, measured here as
// `for (const key in object) break`.
//
// Measured with a busy interval: the longest gap between ticks while the call runs.
//   node bench/event-loop.js [--quick]
const { UserModuleService } = require("..");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const quick = process.argv.includes("--quick");
const KEYS = quick ? 1_000_000 : 10_000_000;

/** ms of the longest gap between 1 ms interval ticks while `call()` runs. */
async function longestBlock(call) {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  last = performance.now();
  const started = performance.now();
  const outcome = await Promise.resolve()
    .then(call)
    .then(() => "resolved", (error) => `${error.type}: ${String(error.message).slice(0, 60)}`);
  const total = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(ticker);
  return { longest, total, outcome };
}

function manyKeys(n) {
  const object = {};
  for (let i = 0; i < n; i++) object[`k${i}`] = i;
  return object;
}

function nestedOr(levels) {
  let filter = { email: "x@example.com" };
  for (let i = 0; i < levels; i++) filter = { $or: [filter] };
  return filter;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-event-loop-"));
  const service = new UserModuleService({ jwt_secret: "bench-secret", database: `sqlite:${path.join(dir, "db.sqlite")}` });
  await service.createInvites({ email: "open@example.com" });

  const keys = manyKeys(KEYS);
  const floorStarted = performance.now();
  for (const key in keys) if (key) break;
  const floor = performance.now() - floorStarted;

  // The inputs are built before the measurements: building them is the caller's time, not the call's.
  const batch = (n, tag) => Array.from({ length: n }, (_, i) => ({ email: `${tag}-${i}@example.com` }));
  const batch10k = batch(10_000, "el10k");
  const batch100k = batch(100_000, "el100k");
  const manyIds = new Array(1_000_000).fill("invite_x");
  const someIds = Array.from({ length: 50_000 }, (_, i) => `invite_${i}`);
  const deep = nestedOr(10_000);
  const bigNote = { note: "x".repeat(10_000_000) };
  const rows = [
    [`listInvites({ ${KEYS.toLocaleString("en-US")} unknown keys })`, () => service.listInvites(keys)],
    ["listInvites($or nested 10,000 deep)", () => service.listInvites(deep)],
    ["listInvites({ id: { $in: 1,000,000 ids } })", () => service.listInvites({ id: { $in: manyIds } })],
    ["listInvites({ id: { $in: 50,000 ids } })", () => service.listInvites({ id: { $in: someIds } })],
    ["createInvites(10,000)", () => service.createInvites(batch10k)],
    ["createInvites(100,000)", () => service.createInvites(batch100k)],
    ["createInvites({ metadata: 10 MB string })", () => service.createInvites({ email: "big@example.com", metadata: bigNote })],
  ];
  console.log(`event loop: longest block per call (ms), beside V8's floor for listing ${KEYS.toLocaleString("en-US")} keys: ${floor.toFixed(1)} ms`);
  console.log("| call | longest block | whole call | outcome |");
  console.log("|---|---|---|---|");
  for (const [label, call] of rows) {
    const { longest, total, outcome } = await longestBlock(call);
    console.log(`| ${label} | ${longest.toFixed(1)} | ${total.toFixed(1)} | ${outcome} |`);
  }
  await service.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
