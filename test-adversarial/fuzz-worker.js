"use strict";
// One fuzz worker (a child process of fuzz.js). It makes `calls` generated calls over every
// public method of one UserModuleService on one store, classifies every outcome, keeps a model
// of the invites and users that must exist, and prints one `@@RESULT <json>` line. Crashes,
// hangs and stderr output are judged by the parent, from outside.
//
// Configuration: the ADV_FUZZ_WORKER environment variable, JSON:
//   { id, seed, backend, database, scratchDatabase, calls, secret, password, packageRoot }
const { performance } = require("node:perf_hooks");
const path = require("node:path");
const { Rng } = require("./common");
const hostile = require("./hostile");

const config = JSON.parse(process.env.ADV_FUZZ_WORKER);
const { UserModuleService, MedusaError } = require(config.packageRoot);
const jwt = require(require.resolve("jsonwebtoken", { paths: [config.packageRoot, path.join(__dirname, "..")] }));

const rng = new Rng(config.seed);
const SECRET = config.secret;
const MEDUSA_TYPES = new Set(Object.values(MedusaError.Types));
/** The longest a single call may take before the worker reports a hang. */
const HANG_MS = 60_000;
/** A call whose synchronous part takes longer blocks the event loop: a defect (noise is far below). */
const BLOCK_MS = 1_000;
/** ADV_TRACE=1: every call's description on stderr (for debugging a worker by hand). */
const TRACE = process.env.ADV_TRACE === "1";
/** Messages of unexpected_state that are the documented ones (closed module, ended transactions). */
const DOCUMENTED_UNEXPECTED_STATE = [
  "The invite module is closed",
  "The transaction has already been",
  "The transaction was rolled back",
];

// ---------------------------------------------------------------------------------------------
// Counting

const counts = {
  calls: 0,
  resolved: 0,
  rejected: 0,
  syncThrows: 0,
  notPromise: 0,
  nonMedusaRejections: 0,
  internalErrors: 0,
  oversizedMessages: 0,
  leaks: 0,
  resolvesAfterClose: 0,
  wrongErrorAfterClose: 0,
  wrongAnswers: 0,
  escaped: 0,
  eventLoopBlocks: 0,
  configurations: 0,
};
const samples = {};
const SAMPLES_PER_KIND = 6;
let callIndex = 0;
let maxSyncMs = { ms: 0, desc: "" };

// Written synchronously, so the parent still learns them when the process dies: the call in
// progress (overwritten in place) and every sample.
const fs = require("node:fs");
const traceFd = fs.openSync(config.traceFile, "w");
const samplesFd = fs.openSync(config.samplesFile, "w");

function traceCall(desc) {
  const line = Buffer.from(`${JSON.stringify({ call: callIndex, desc: short(desc, 500) })}\n`);
  fs.writeSync(traceFd, line, 0, line.length, 0);
}

function record(kind, desc, detail) {
  counts[kind]++;
  const list = (samples[kind] ??= []);
  if (list.length >= SAMPLES_PER_KIND) return;
  const sample = { call: callIndex, desc: short(desc, 500), detail: short(detail, 600) };
  list.push(sample);
  fs.writeSync(samplesFd, `${JSON.stringify({ kind, ...sample })}\n`);
}

process.on("unhandledRejection", (reason) => record("escaped", "unhandled rejection", describe(reason)));
process.on("uncaughtException", (error) => record("escaped", "uncaught exception", describe(error)));

function describe(error) {
  if (error === null || typeof error !== "object") return `${typeof error}: ${safeString(error)}`;
  let name;
  try {
    name = error.constructor?.name;
  } catch {
    name = "?";
  }
  return `${name} type=${safeString(error.type)} message=${short(safeString(error.message), 300)}`;
}

function safeString(value) {
  try {
    return typeof value === "symbol" ? value.toString() : String(value);
  } catch {
    return "<unprintable>";
  }
}

// ---------------------------------------------------------------------------------------------
// Leaks: the secret, the PostgreSQL password or a token issued by the module, anywhere in an error.

/** Payload and signature parts of every token the module issued. */
const tokenParts = new Set();
function rememberToken(token) {
  if (typeof token !== "string") return;
  const [, payload, signature] = token.split(".");
  if (payload) tokenParts.add(payload);
  if (signature) tokenParts.add(signature);
}

const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}/;

/** What in `text` is a leak, or undefined. */
function leakIn(text) {
  if (text.includes(SECRET)) return "the jwt_secret";
  if (config.password && text.includes(config.password)) return "the database password";
  if (JWT_PATTERN.test(text)) return "a token";
  for (const piece of text.split(/[^A-Za-z0-9_-]+/)) {
    if (piece.length >= 16 && tokenParts.has(piece)) return "part of an issued token";
  }
  return undefined;
}

/** Scans the error's own properties (enumerable or not), its stack and its causes. */
function findLeak(value, depth = 0, seen = new Set()) {
  if (typeof value === "string") return leakIn(value);
  if (value === null || (typeof value !== "object" && typeof value !== "function") || depth > 3 || seen.has(value)) return undefined;
  seen.add(value);
  let names;
  try {
    names = Object.getOwnPropertyNames(value);
  } catch {
    return undefined;
  }
  for (const name of names) {
    let descriptor;
    try {
      descriptor = Object.getOwnPropertyDescriptor(value, name);
    } catch {
      continue;
    }
    if (!descriptor || !("value" in descriptor)) continue;
    const found = findLeak(descriptor.value, depth + 1, seen);
    if (found) return `${found} in .${name}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Calling

/** Our own callback's error inside transaction(fn): it must come back unchanged. */
class CallerError extends Error {}

/**
 * Makes one call and classifies it. Resolves `{ ok, value }` or `{ ok: false, error }`.
 * `afterClose`: the module is closed, so a resolve is a defect.
 */
async function invoke(desc, run, { afterClose = false, badDatabase = false } = {}) {
  counts.calls++;
  callIndex++;
  traceCall(desc);
  if (TRACE) process.stderr.write(`#${callIndex} rss ${Math.round(process.memoryUsage().rss / 1e6)}MB heap ${Math.round(process.memoryUsage().heapUsed / 1e6)}MB ${desc.slice(0, 200)}\n`);
  const started = performance.now();
  let promise;
  try {
    promise = run();
  } catch (error) {
    record("syncThrows", desc, describe(error));
    checkError(desc, error, { afterClose, badDatabase });
    return { ok: false, error, sync: true };
  }
  const syncMs = performance.now() - started;
  if (syncMs > maxSyncMs.ms) maxSyncMs = { ms: Math.round(syncMs), desc: short(desc, 300) };
  if (syncMs > BLOCK_MS) record("eventLoopBlocks", desc, `the call held the event loop for ${Math.round(syncMs)} ms before returning its Promise`);
  if (!(promise instanceof Promise)) {
    record("notPromise", desc, `returned ${typeof promise}`);
    return { ok: true, value: promise };
  }
  const watchdog = startWatchdog(desc);
  try {
    const value = await promise;
    counts.resolved++;
    if (afterClose) record("resolvesAfterClose", desc, `resolved with ${summarize(value)}`);
    return { ok: true, value };
  } catch (error) {
    counts.rejected++;
    checkError(desc, error, { afterClose, badDatabase });
    return { ok: false, error };
  } finally {
    watchdog.stop();
    if (TRACE) process.stderr.write(`  done in ${Math.round(performance.now() - started)} ms\n`);
  }
}

const DEFECT_KINDS = [
  "syncThrows", "notPromise", "nonMedusaRejections", "internalErrors", "oversizedMessages", "leaks",
  "resolvesAfterClose", "wrongErrorAfterClose", "wrongAnswers", "escaped", "eventLoopBlocks",
];
function totalDefects() {
  let total = 0;
  for (const kind of DEFECT_KINDS) total += counts[kind];
  return total;
}

/** `badDatabase`: the module was given a database that cannot work, so database_error is its answer. */
function checkError(desc, error, { afterClose = false, badDatabase = false } = {}) {
  if (error instanceof CallerError) return;
  if (error instanceof hostile.HostileError) {
    // A hostile getter's own error escaped unwrapped.
    record("nonMedusaRejections", desc, `the hostile input's own error came back: ${describe(error)}`);
    return;
  }
  const medusa = error instanceof MedusaError && error.__isMedusaError === true && MEDUSA_TYPES.has(error.type);
  if (!medusa) {
    record("nonMedusaRejections", desc, describe(error));
  } else {
    const message = typeof error.message === "string" ? error.message : "";
    if (message.length > 10_000) record("oversizedMessages", desc, `${error.type} message of ${message.length} characters`);
    if (afterClose) {
      if (error.type !== "unexpected_state") record("wrongErrorAfterClose", desc, describe(error));
    } else if (error.type === "database_error" && !badDatabase) {
      record("internalErrors", desc, describe(error));
    } else if (error.type === "unexpected_state" && !DOCUMENTED_UNEXPECTED_STATE.some((text) => message.startsWith(text))) {
      record("internalErrors", desc, describe(error));
    }
  }
  const leak = findLeak(error);
  if (leak) record("leaks", desc, `${leak}: ${describe(error)}`);
}

/**
 * The first `max` characters of `text` as a string of its own: a plain slice of a 10 MB
 * string keeps the 10 MB alive for as long as the report holds the slice.
 */
function short(text, max) {
  const head = String(text).slice(0, max);
  return Buffer.from(head, "utf8").toString("utf8");
}

/**
 * A short JSON-like preview of any value, hostile ones included: it reads at most `budget`
 * characters' worth (a sparse array of length 2^32-1 or a 10 MB string cost nothing), and a
 * throwing getter or trap shows as `<throws>`.
 */
function summarize(value, budget = 200) {
  let out = "";
  const seen = new Set();
  const put = (text) => {
    out += text;
  };
  const walk = (item, depth) => {
    if (out.length >= budget) return;
    if (typeof item === "string") return put(JSON.stringify(item.length > 40 ? `${item.slice(0, 30)}…(${item.length})` : item));
    if (typeof item === "bigint") return put(`${item}n`);
    if (typeof item === "symbol" || typeof item === "function" || item === undefined) return put(typeof item);
    if (item === null || typeof item !== "object") return put(String(item));
    if (seen.has(item) || depth > 4) return put("…");
    seen.add(item);
    try {
      if (item instanceof Date) return put(`Date(${item.getTime()})`);
      if (Array.isArray(item)) {
        put("[");
        const n = Math.min(item.length, 20);
        for (let i = 0; i < n && out.length < budget; i++) {
          if (i) put(",");
          walk(item[i], depth + 1);
        }
        return put(item.length > n ? `,…(${item.length})]` : "]");
      }
      put("{");
      let first = true;
      for (const key in item) {
        if (out.length >= budget) break;
        if (!Object.prototype.hasOwnProperty.call(item, key)) continue;
        put(`${first ? "" : ","}${JSON.stringify(key.length > 20 ? `${key.slice(0, 10)}…` : key)}:`);
        first = false;
        walk(item[key], depth + 1);
      }
      return put("}");
    } catch {
      return put("<throws>");
    }
  };
  walk(value, 0);
  return short(out, budget);
}

/**
 * Reports a hang when the call has not settled after HANG_MS of free event loop. A timer that
 * fires late means another call held the event loop (counted there as a block): re-armed.
 */
function startWatchdog(desc) {
  let timer;
  const arm = () => {
    const due = performance.now() + HANG_MS;
    timer = setTimeout(() => (performance.now() - due > 1000 ? arm() : reportHang(desc)), HANG_MS);
  };
  arm();
  return { stop: () => clearTimeout(timer) };
}

function reportHang(desc) {
  process.stdout.write(`@@HANG ${JSON.stringify({ call: callIndex, desc, ms: HANG_MS })}\n`, () => process.exit(3));
}

// ---------------------------------------------------------------------------------------------
// The model: what must be in the store.

/** A set with O(1) add, delete and random pick. */
class PickSet {
  #items = [];
  #index = new Map();
  get size() {
    return this.#items.length;
  }
  has(item) {
    return this.#index.has(item);
  }
  add(item) {
    if (this.#index.has(item)) return;
    this.#index.set(item, this.#items.length);
    this.#items.push(item);
  }
  delete(item) {
    const at = this.#index.get(item);
    if (at === undefined) return;
    const last = this.#items.pop();
    if (at < this.#items.length) {
      this.#items[at] = last;
      this.#index.set(last, at);
    }
    this.#index.delete(item);
  }
  pick(rng) {
    return this.#items.length === 0 ? undefined : this.#items[Math.floor(rng.next() * this.#items.length)];
  }
  values() {
    return this.#items.slice();
  }
}

const model = {
  live: new PickSet(),
  softDeleted: new PickSet(),
  users: new PickSet(),
  /** invite id → its current token; token → invite id for every token ever issued. */
  tokenOf: new Map(),
  inviteOfToken: new Map(),
  /** Tokens that were rotated away (refresh) or belonged to invites now deleted. */
  oldTokens: new PickSet(),
  emailOf: new Map(),
  liveEmails: new PickSet(),
  /** Emails of the users created (a second user cannot take one). */
  userEmails: new Set(),
  /** invite id → expires_at (ms). */
  expiresAt: new Map(),
};

function setExpiry(id, expiresAt) {
  const ms = expiresAt instanceof Date ? expiresAt.getTime() : NaN;
  if (!Number.isNaN(ms)) model.expiresAt.set(id, ms);
}

function addInvite(dto) {
  if (!dto || typeof dto.id !== "string") return;
  model.live.delete(dto.id);
  model.softDeleted.delete(dto.id);
  if (dto.deleted_at) model.softDeleted.add(dto.id);
  else model.live.add(dto.id);
  setEmail(dto.id, dto.email);
  setToken(dto.id, dto.token);
  setExpiry(dto.id, dto.expires_at);
}

function setEmail(id, email) {
  const previous = model.emailOf.get(id);
  if (previous !== undefined) model.liveEmails.delete(previous);
  model.emailOf.set(id, email);
  if (model.live.has(id) && typeof email === "string") model.liveEmails.add(email);
}

function setToken(id, token) {
  if (typeof token !== "string") return;
  const previous = model.tokenOf.get(id);
  if (previous !== undefined && previous !== token) model.oldTokens.add(previous);
  model.tokenOf.set(id, token);
  model.inviteOfToken.set(token, id);
  rememberToken(token);
}

function softDelete(id) {
  if (!model.live.has(id)) return;
  model.live.delete(id);
  model.softDeleted.add(id);
  model.liveEmails.delete(model.emailOf.get(id));
}

function restore(id) {
  if (!model.softDeleted.has(id)) return;
  model.softDeleted.delete(id);
  model.live.add(id);
  const email = model.emailOf.get(id);
  if (typeof email === "string") model.liveEmails.add(email);
}

function hardDelete(id) {
  model.live.delete(id);
  model.softDeleted.delete(id);
  model.liveEmails.delete(model.emailOf.get(id));
}

/**
 * The token is the current one of a live, unexpired invite. `slackMs` > 0 demands that much
 * time left; < 0 forgives an expiry that just passed.
 */
const isCurrentLiveToken = (token, slackMs = 1000) => {
  const id = model.inviteOfToken.get(token);
  return id !== undefined && model.live.has(id) && model.tokenOf.get(id) === token && model.expiresAt.get(id) > Date.now() + slackMs;
};

// ---------------------------------------------------------------------------------------------
// Generators. Each op is `{ desc, run(service), effect?(value) → apply(), check?(desc, value, ok,
// error) }`: `effect` updates the model once the call resolved (at commit inside a transaction),
// `check` compares an answer the model knows.

let emailCounter = 0;
const prefix = `w${config.id}`;
const freshEmail = (kind = "i") => `${prefix}-${kind}${++emailCounter}@fuzz.test`;
let idCounter = 0;
const freshCallerId = () => rng.pick([`inv_${prefix}_${++idCounter}`, `${prefix}-😀-${++idCounter}`, `${prefix} spaced ${++idCounter}`]);
const UNKNOWN_IDS = ["invite_00000000000000000000000000", "\u0000", "", " ", "x".repeat(300), "user_unknown", "😀", "'; drop table invite; --", "%", "invite_%"];

/** A random value of JSON kinds for metadata. */
function metadataValue() {
  return rng.pick([
    () => ({ plan: "pro", n: rng.int(0, 100) }),
    () => ({ nested: { deep: [1, "two", { three: null }] } }),
    () => ({ "": "empty key", "key with spaces": true }),
    () => ({ text: "ünïcödé ✓" }),
    () => null,
  ])();
}

function validInvite() {
  const invite = { email: freshEmail() };
  if (rng.chance(0.3)) invite.roles = rng.pick([["admin"], ["admin", "editor"], []]);
  if (rng.chance(0.3)) invite.metadata = metadataValue();
  if (rng.chance(0.1)) invite.accepted = rng.chance(0.5);
  if (rng.chance(0.1)) invite.id = freshCallerId();
  if (rng.chance(0.05)) invite.deleted_at = new Date();
  if (rng.chance(0.05)) invite.created_at = new Date(Date.now() - rng.int(0, 1e9)).toISOString();
  // A duplicate: an email a live invite holds, or a caller id that exists.
  if (rng.chance(0.04) && model.liveEmails.size > 0) invite.email = model.liveEmails.pick(rng);
  if (rng.chance(0.02) && model.live.size > 0) invite.id = model.live.pick(rng);
  return invite;
}

function validUser() {
  const user = { email: freshEmail("u") };
  if (rng.chance(0.5)) user.first_name = rng.pick(["Ada", "Grace", "Émile", ""]);
  if (rng.chance(0.5)) user.last_name = rng.pick(["Lovelace", "Hopper", null]);
  if (rng.chance(0.2)) user.metadata = metadataValue();
  if (rng.chance(0.1)) user.avatar_url = "https://example.com/a.png";
  return user;
}

/** An id of an invite: mostly one that exists, live or soft-deleted, else unknown. */
function someInviteId() {
  const which = rng.weighted([[6, "live"], [2, "soft"], [2, "unknown"]]);
  if (which === "live" && model.live.size > 0) return model.live.pick(rng);
  if (which === "soft" && model.softDeleted.size > 0) return model.softDeleted.pick(rng);
  return rng.pick(UNKNOWN_IDS);
}

function someIds() {
  const n = rng.int(1, 5);
  return Array.from({ length: n }, someInviteId);
}

function validFilters(forUsers = false) {
  const date = new Date(Date.now() - rng.int(-1e6, 1e9));
  const options = [
    () => undefined,
    () => ({}),
    () => ({ id: someInviteId() }),
    () => ({ id: someIds() }),
    () => ({ email: rng.chance(0.5) && model.liveEmails.size ? model.liveEmails.pick(rng) : freshEmail() }),
    () => ({ email: { $in: [freshEmail(), model.liveEmails.pick(rng) ?? "x@y.z"] } }),
    () => ({ email: { $like: `${prefix}-%` } }),
    () => ({ email: { $ilike: `%${rng.int(0, 9)}@FUZZ.test` } }),
    () => ({ q: `${prefix}-i${rng.int(1, 9)}` }),
    () => ({ created_at: { $lt: date }, updated_at: { $gte: date.toISOString() } }),
    () => ({ deleted_at: null }),
    () => ({ deleted_at: { $ne: null } }),
    () => ({ $or: [{ id: someInviteId() }, { email: freshEmail() }] }),
    () => ({ $and: [{ created_at: { $gt: new Date(0) } }, { $or: [{ q: "fuzz" }, { id: someIds() }] }] }),
  ];
  if (forUsers) options.push(() => ({ first_name: "Ada" }), () => ({ last_name: { $ne: "x" } }));
  else options.push(() => ({ accepted: rng.chance(0.5) }), () => ({ expires_at: { $gt: new Date() } }));
  return rng.pick(options)();
}

function validConfig(forUsers = false) {
  return rng.pick([
    () => undefined,
    () => ({}),
    () => ({ take: rng.int(0, 30), skip: rng.int(0, 20) }),
    () => ({ take: 10, order: { [rng.pick(["created_at", "email", "id", "updated_at"])]: rng.pick(["ASC", "DESC", "asc", "desc"]) } }),
    () => ({ select: forUsers ? ["email", "first_name"] : ["email", "token", "roles"], take: 20 }),
    () => ({ withDeleted: rng.chance(0.5), take: 25 }),
    () => ({ take: null, skip: 0, relations: [] }),
  ])();
}

function validContext() {
  return rng.weighted([
    [10, () => undefined],
    [2, () => ({})],
    [1, () => ({ eventGroupId: `g-${rng.int(0, 99)}` })],
    [1, () => ({ isolationLevel: rng.pick(["READ COMMITTED", "serializable", "repeatable read", "read uncommitted"]) })],
    [1, () => ({ idempotencyKey: `${prefix}-key-${++idCounter}` })],
    [1, () => ({ requestId: "r", runId: "run", transactionId: "t", isCancelling: false, __type: "MedusaContext" })],
    [1, () => ({ manager: hostile.throwingProxy() })],
  ])();
}

/** A mostly valid value, sometimes with one hostile change. Returns `[desc, value, clean]`. */
function maybeHostile(value, p, label) {
  if (!rng.chance(p)) return [label === undefined ? "" : `${label}`, value, true];
  const [desc, mutated] = hostile.mutate(rng, value);
  return [`${label} hostile(${desc})`, mutated, false];
}

/** A context for a call: valid mostly; hostile sometimes; always joined to `tx` when given. */
function contextFor(tx) {
  const [desc, context, clean] = maybeHostile(validContext(), 0.12, "ctx");
  if (!tx) return [desc, context, clean];
  const joined = context !== null && typeof context === "object" ? context : {};
  let withTx;
  try {
    withTx = Object.assign(Object.create(null), { ...joined, transactionManager: tx });
  } catch {
    withTx = { transactionManager: tx };
  }
  if (rng.chance(0.3)) withTx.enableNestedTransactions = true;
  return [`${desc}+tx`, withTx, clean];
}

/** A token argument: the current one, an old one, a forged one, or garbage. Returns `[desc, token, current]`. */
function someToken() {
  const kind = rng.weighted([
    [6, "current"], [1, "soft-deleted invite's"], [1, "old"], [1, "tampered"], [1, "wrong secret"], [1, "forged, right secret"],
    [1, "expired"], [1, "alg none"], [1, "NUL id"], [1, "garbage string"], [1, "hostile value"],
  ]);
  const liveId = model.live.pick(rng);
  switch (kind) {
    case "current":
      if (liveId) return ["current token", model.tokenOf.get(liveId), true];
      break;
    case "soft-deleted invite's": {
      const id = model.softDeleted.pick(rng);
      if (id && model.tokenOf.has(id)) return ["soft-deleted invite's token", model.tokenOf.get(id), false];
      break;
    }
    case "old":
      if (model.oldTokens.size) return ["rotated token", model.oldTokens.pick(rng), false];
      break;
    case "tampered":
      if (liveId) {
        const [h, p, s] = model.tokenOf.get(liveId).split(".");
        return ["tampered signature", `${h}.${p}.${s[0] === "A" ? "B" : "A"}${s.slice(1)}`, false];
      }
      break;
    case "wrong secret":
      return ["token signed with another secret", jwt.sign({ id: liveId ?? "x" }, "not-the-secret"), false];
    case "forged, right secret":
      return ["forged token with the right secret", jwt.sign({ id: liveId ?? "invite_x", jti: "forged" }, SECRET), false];
    case "expired":
      return ["expired token", jwt.sign({ id: liveId ?? "x", exp: 1_000_000 }, SECRET), false];
    case "alg none": {
      const part = (object) => Buffer.from(JSON.stringify(object)).toString("base64url");
      return ["alg none token", `${part({ alg: "none", typ: "JWT" })}.${part({ id: liveId ?? "x" })}.`, false];
    }
    case "NUL id":
      return ["token for id U+0000", jwt.sign({ id: rng.pick(["\u0000", "a\u0000b", "\ud800"]) }, SECRET), false];
    case "garbage string":
      return ["garbage token text", rng.pick(["", "a.b.c", "eyJ.", "....", "x".repeat(5000), "eyJhbGciOiJIUzI1NiJ9.e30.", " \u0000 "]), false];
    default:
      break;
  }
  const [name, value] = rng.chance(0.5) ? hostile.hostileString(rng) : hostile.hostileValue(rng);
  return [`token ${name}`, value, false];
}

// Effects: functions of the resolved value that update the model.
const addCreated = (value) => () => {
  for (const dto of Array.isArray(value) ? value : [value]) addInvite(dto);
};
const addUsers = (value) => () => {
  for (const user of Array.isArray(value) ? value : [value]) {
    if (user && typeof user.id === "string") {
      model.users.add(user.id);
      model.userEmails.add(user.email);
    }
  }
};

function expectShape(desc, ok, why) {
  if (!ok) record("wrongAnswers", desc, why);
}

/** Every op kind. Each returns `{ desc, run, effect?, check? }`. */
const OPS = {
  createInvites(tx) {
    const single = rng.chance(0.4);
    const batch = single ? validInvite() : Array.from({ length: rng.int(0, 12) }, validInvite);
    const [dataDesc, data, clean] = maybeHostile(batch, 0.35, single ? "invite" : `batch[${batch.length}]`);
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `createInvites(${dataDesc}, ${ctxDesc})`,
      run: (service) => service.createInvites(data, context),
      effect: addCreated,
      check(desc, value, ok) {
        if (!clean || !ok) return;
        if (single) expectShape(desc, value && typeof value.token === "string", "single create did not return a DTO");
        else expectShape(desc, Array.isArray(value) && value.length === batch.length, "batch create returned another length");
      },
    };
  },
  createUsers(tx) {
    const single = rng.chance(0.5);
    const batch = single ? validUser() : Array.from({ length: rng.int(0, 5) }, validUser);
    const [dataDesc, data] = maybeHostile(batch, 0.35, single ? "user" : `users[${batch.length}]`);
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `createUsers(${dataDesc}, ${ctxDesc})`,
      run: (service) => service.createUsers(data, context),
      effect: addUsers,
    };
  },
  validateInviteToken(tx) {
    const [tokenDesc, token, current] = someToken();
    const [ctxDesc, context, cleanContext] = contextFor(tx);
    return {
      desc: `validateInviteToken(${tokenDesc}, ${ctxDesc})`,
      run: (service) => service.validateInviteToken(token, context),
      check(desc, value, ok, error) {
        if (tx) return;
        if (ok && !isCurrentLiveToken(token, -1000)) record("wrongAnswers", desc, "resolved for a token that is no live invite's current token");
        else if (ok && value?.id !== model.inviteOfToken.get(token)) record("wrongAnswers", desc, "resolved with another invite");
        else if (!ok && current && cleanContext && isCurrentLiveToken(token)) record("wrongAnswers", desc, `rejected a live invite's current token: ${describe(error)}`);
      },
    };
  },
  refreshInviteTokens(tx) {
    const [idsDesc, ids] = maybeHostile(someIds(), 0.3, "ids");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `refreshInviteTokens(${idsDesc}, ${ctxDesc})`,
      run: (service) => service.refreshInviteTokens(ids, context),
      effect: (value) => () => {
        for (const dto of Array.isArray(value) ? value : []) {
          if (dto && typeof dto.id === "string") {
            setToken(dto.id, dto.token);
            setExpiry(dto.id, dto.expires_at);
          }
        }
      },
    };
  },
  retrieveInvite(tx) {
    const id = someInviteId();
    const [idDesc, idArg, cleanId] = maybeHostile(id, 0.2, "id");
    const [cfgDesc, cfg, cleanCfg] = maybeHostile(rng.chance(0.7) ? undefined : { select: ["email"] }, 0.2, "config");
    const [ctxDesc, context, cleanCtx] = contextFor(tx);
    return {
      desc: `retrieveInvite(${idDesc}${cleanId ? summarize(id, 60) : ""}, ${cfgDesc}, ${ctxDesc})`,
      run: (service) => service.retrieveInvite(idArg, cfg, context),
      check(desc, value, ok, error) {
        if (tx || !(cleanId && cleanCfg && cleanCtx)) return;
        const live = model.live.has(id);
        if (ok && !live) record("wrongAnswers", desc, "resolved for an id that is not a live invite");
        else if (ok && value?.id !== id) record("wrongAnswers", desc, "resolved with another invite");
        else if (!ok && live) record("wrongAnswers", desc, `rejected a live invite: ${describe(error)}`);
        else if (!ok && error?.type !== "not_found") record("wrongAnswers", desc, `expected not_found, got ${describe(error)}`);
      },
    };
  },
  listInvites(tx, method = "listInvites") {
    const [filterDesc, filters] = maybeHostile(validFilters(), 0.4, "filters");
    const [cfgDesc, cfg] = maybeHostile(validConfig(), 0.3, "config");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `${method}(${filterDesc} ${summarize(filters).slice(0, 60)}, ${cfgDesc}, ${ctxDesc})`,
      run: (service) => service[method](filters, cfg, context),
    };
  },
  listAndCountInvites(tx) {
    return OPS.listInvites(tx, "listAndCountInvites");
  },
  /** A list by ids whose answer the model knows. */
  listKnownIds(tx) {
    const ids = [...new Set(someIds().filter((id) => id !== ""))];
    const withDeleted = rng.chance(0.5);
    return {
      desc: `listAndCountInvites({ id: ${summarize(ids)} }, { withDeleted: ${withDeleted} })`,
      run: (service) => service.listAndCountInvites({ id: ids }, { withDeleted }, tx ? { transactionManager: tx } : undefined),
      check(desc, value, ok, error) {
        if (tx) return;
        const expected = ids.filter((id) => model.live.has(id) || (withDeleted && model.softDeleted.has(id))).sort();
        if (!ok) return record("wrongAnswers", desc, `rejected: ${describe(error)}`);
        const got = Array.isArray(value?.[0]) ? value[0].map((dto) => dto.id).sort() : undefined;
        if (JSON.stringify(got) !== JSON.stringify(expected) || value[1] !== expected.length) {
          record("wrongAnswers", desc, `expected ${summarize(expected)}, got ${summarize(value)}`);
        }
      },
    };
  },
  /** A lookup by email: U+0000 or an unused email, never stored: the answer is an empty list. */
  listUnmatchable(tx) {
    const key = rng.pick(["email", "id", "q"]);
    const email = rng.pick(key === "q" ? ["\u0000", "a\u0000b"] : ["\u0000", "a\u0000b@fuzz.test", freshEmail()]);
    return {
      desc: `listInvites({ ${key}: ${JSON.stringify(email)} })`,
      run: (service) => service.listInvites({ [key]: email }, undefined, tx ? { transactionManager: tx } : undefined),
      check(desc, value, ok, error) {
        if (!ok) record("wrongAnswers", desc, `expected [], got ${describe(error)}`);
        else if (!Array.isArray(value) || value.length !== 0) record("wrongAnswers", desc, `expected [], got ${summarize(value)}`);
      },
    };
  },
  updateInvites(tx) {
    const single = rng.chance(0.5);
    const item = () => {
      const update = { id: someInviteId() };
      if (rng.chance(0.4)) update.metadata = metadataValue();
      if (rng.chance(0.3)) update.accepted = rng.chance(0.5);
      if (rng.chance(0.3)) update.roles = ["viewer"];
      if (rng.chance(0.15)) update.email = rng.chance(0.7) ? freshEmail() : model.liveEmails.pick(rng) ?? freshEmail();
      if (rng.chance(0.1)) update.expires_at = new Date(Date.now() + rng.int(-1e9, 1e9));
      return update;
    };
    const items = single ? item() : Array.from({ length: rng.int(0, 4) }, item);
    const [dataDesc, data] = maybeHostile(items, 0.35, single ? "update" : `updates[${items.length}]`);
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `updateInvites(${dataDesc}, ${ctxDesc})`,
      run: (service) => service.updateInvites(data, context),
      effect: (value) => () => {
        for (const dto of Array.isArray(value) ? value : [value]) {
          if (dto && typeof dto.id === "string" && model.emailOf.has(dto.id)) {
            setEmail(dto.id, dto.email);
            setExpiry(dto.id, dto.expires_at);
          }
        }
      },
    };
  },
  deleteInvites(tx) {
    const ids = rng.chance(0.2) ? someInviteId() : someIds();
    const [idsDesc, data, clean] = maybeHostile(ids, 0.3, "ids");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `deleteInvites(${idsDesc}, ${ctxDesc})`,
      run: (service) => service.deleteInvites(data, context),
      // A hostile input that resolved: which ids went is unknown (a hostile string may be an
      // id too); the worker asks the store about every string the input held.
      effect: () => (clean ? () => [].concat(ids).forEach(hardDelete) : () => resync.push(...[].concat(ids), ...stringsIn(data))),
    };
  },
  softDeleteInvites(tx) {
    const [idsDesc, ids] = maybeHostile(someIds(), 0.3, "ids");
    const [cfgDesc, cfg] = maybeHostile(undefined, 0.1, "config");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `softDeleteInvites(${idsDesc}, ${cfgDesc}, ${ctxDesc})`,
      run: (service) => service.softDeleteInvites(ids, cfg, context),
      effect: (value) => () => (value?.invite_id ?? []).forEach(softDelete),
    };
  },
  restoreInvites(tx) {
    const pickSoft = () => model.softDeleted.pick(rng) ?? someInviteId();
    const [idsDesc, ids] = maybeHostile(Array.from({ length: rng.int(1, 3) }, pickSoft), 0.3, "ids");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `restoreInvites(${idsDesc}, undefined, ${ctxDesc})`,
      run: (service) => service.restoreInvites(ids, undefined, context),
      effect: (value) => () => (value?.invite_id ?? []).forEach(restore),
    };
  },
  acceptInvite(tx) {
    const [tokenDesc, token] = someToken();
    const [userDesc, user] = maybeHostile(rng.chance(0.3) ? undefined : { first_name: "Ada", last_name: "L", metadata: metadataValue() }, 0.3, "user");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `acceptInvite(${tokenDesc}, ${userDesc}, ${ctxDesc})`,
      run: (service) => service.acceptInvite(token, user, context),
      effect: (value) => () => {
        const id = model.inviteOfToken.get(token);
        if (id !== undefined) softDelete(id);
        if (value && typeof value.id === "string") {
          model.users.add(value.id);
          model.userEmails.add(value.email);
        }
      },
      check(desc, _value, ok) {
        if (!tx && ok && !isCurrentLiveToken(token, -1000)) record("wrongAnswers", desc, "accepted a token that is no live invite's current token");
      },
    };
  },
  retrieveUser(tx) {
    const id = rng.chance(0.6) && model.users.size ? model.users.pick(rng) : rng.pick(UNKNOWN_IDS);
    const [idDesc, idArg] = maybeHostile(id, 0.2, "id");
    const [cfgDesc, cfg] = maybeHostile(undefined, 0.2, "config");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `retrieveUser(${idDesc}, ${cfgDesc}, ${ctxDesc})`,
      run: (service) => service.retrieveUser(idArg, cfg, context),
    };
  },
  listUsers(tx, method = "listUsers") {
    const [filterDesc, filters] = maybeHostile(validFilters(true), 0.4, "filters");
    const [cfgDesc, cfg] = maybeHostile(validConfig(true), 0.3, "config");
    const [ctxDesc, context] = contextFor(tx);
    return {
      desc: `${method}(${filterDesc}, ${cfgDesc}, ${ctxDesc})`,
      run: (service) => service[method](filters, cfg, context),
    };
  },
  listAndCountUsers(tx) {
    return OPS.listUsers(tx, "listAndCountUsers");
  },
  /** Filters and configs that are hostile through and through. */
  hostileQuery(tx) {
    const method = rng.pick(["listInvites", "listAndCountInvites", "listUsers", "listAndCountUsers", "retrieveInvite", "retrieveUser"]);
    const [name, value] = rng.weighted([
      [3, () => hostile.hostileValue(rng)],
      [1, () => [`$or nested ${rng.pick([40, 1000, 10_000])} deep`, hostile.deepOr(rng.pick([40, 1000, 10_000]))]],
      [1, () => { const [k, key] = hostile.hostileKey(rng); return [`filter ${k}`, { [key]: rng.pick([1, "x", null, { $eq: "x" }]) }] }],
      [1, () => ["filter with a lone-surrogate key", { "\ud800": 1 }]],
      [1, () => ["order by a hostile key", { order: { "\ud800": "ASC", __proto__: "DESC" } }]],
      [1, () => ["take 2^53", { take: 2 ** 53, skip: -1 }]],
    ])();
    const asConfig = rng.chance(0.4);
    const first = method.startsWith("retrieve") ? someInviteId() : asConfig ? undefined : value;
    const second = asConfig || method.startsWith("retrieve") ? value : undefined;
    return {
      desc: `${method}(${asConfig ? "…, config " : "filters "}${name})`,
      run: (service) => service[method](first, second, tx ? { transactionManager: tx } : undefined),
    };
  },
};

/** Op kinds and their weights (reads are cheap, so they get more). */
const WEIGHTS = [
  [14, "createInvites"], [3, "createUsers"], [8, "validateInviteToken"], [4, "refreshInviteTokens"],
  [6, "retrieveInvite"], [6, "listInvites"], [4, "listAndCountInvites"], [4, "listKnownIds"], [2, "listUnmatchable"],
  [5, "updateInvites"], [3, "deleteInvites"], [4, "softDeleteInvites"], [3, "restoreInvites"], [5, "acceptInvite"],
  [2, "retrieveUser"], [2, "listUsers"], [2, "listAndCountUsers"], [5, "hostileQuery"],
];

/** Runs one op; its effect is applied now, or pushed to `pending` (a transaction's). */
async function runOp(service, kind, tx, pending) {
  const op = OPS[kind](tx);
  const outcome = await invoke(op.desc, () => op.run(service));
  // Checked against the model as it was before the call.
  if (op.check && !outcome.sync) op.check(op.desc, outcome.value, outcome.ok, outcome.error);
  if (outcome.ok && op.effect) {
    const apply = op.effect(outcome.value);
    if (apply) (pending ? pending.push(apply) : apply());
  }
  return outcome;
}

/** The strings of a value or of its array items (a hostile value may throw: then none). */
function stringsIn(value) {
  try {
    if (typeof value === "string") return [value];
    if (!Array.isArray(value)) return [];
    const found = [];
    for (let i = 0; i < Math.min(value.length, 1000); i++) if (typeof value[i] === "string") found.push(value[i]);
    return found;
  } catch {
    return [];
  }
}

/** Ids whose state is unknown after a hostile delete resolved; read back through a fresh list. */
const resync = [];
async function resyncModel(service) {
  if (resync.length === 0) return;
  // Only ids the model knows can have gone; one lookup each, so a strange one cannot spoil the rest.
  const ids = [...new Set(resync)].filter((id) => model.live.has(id) || model.softDeleted.has(id));
  resync.length = 0;
  for (const id of ids) {
    try {
      const found = await service.listInvites({ id }, { withDeleted: true, take: null });
      if (found.length === 0) hardDelete(id);
    } catch {
      // left as the model has it; the state check will say if that is wrong
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Transactions

/** Hostile or valid options of begin()/transaction(). */
function transactionOptions() {
  const valid = rng.pick([undefined, {}, { isolationLevel: "SERIALIZABLE" }, { isolationLevel: "read committed" }]);
  return maybeHostile(valid, 0.25, "options");
}

const TX_KINDS = WEIGHTS.filter(([, kind]) => kind !== "listUnmatchable");

async function transactionCallback(service) {
  const [optDesc, options] = transactionOptions();
  const pending = [];
  const steps = rng.int(1, 4);
  const fails = rng.chance(0.2);
  const marker = new CallerError("the caller's callback failed on purpose");
  let callbackRan = false;
  const desc = `transaction(fn with ${steps} calls${fails ? ", then throws" : ""}, ${optDesc})`;
  const outcome = await invoke(desc, () =>
    service.transaction(async (tx) => {
      callbackRan = true;
      for (let i = 0; i < steps; i++) await runOp(service, rng.weighted(TX_KINDS), tx, pending);
      if (fails) throw marker;
      return "done";
    }, options),
  );
  if (outcome.ok) {
    pending.forEach((apply) => apply());
    if (fails) record("wrongAnswers", desc, "resolved although the callback threw");
    else if (outcome.value !== "done") record("wrongAnswers", desc, `resolved with ${summarize(outcome.value)} instead of the callback's value`);
  } else if (fails && callbackRan && outcome.error !== marker) {
    record("wrongAnswers", desc, `the callback's own error was replaced by ${describe(outcome.error)}`);
  }
}

async function transactionExplicit(service) {
  const [optDesc, options] = transactionOptions();
  const begun = await invoke(`begin(${optDesc})`, () => service.begin(options));
  if (!begun.ok) return;
  const tx = begun.value;
  const pending = [];
  for (let i = rng.int(0, 4); i > 0; i--) await runOp(service, rng.weighted(TX_KINDS), tx, pending);
  const end = rng.chance(0.7) ? "commit" : "rollback";
  const ended = await invoke(`tx.${end}()`, () => tx[end]());
  if (ended.ok && end === "commit") pending.forEach((apply) => apply());
  // Misuse: the handle after it ended must refuse everything.
  if (rng.chance(0.3)) {
    const again = rng.pick(["commit", "rollback"]);
    const outcome = await invoke(`tx.${again}() after ${end}`, () => tx[again]());
    if (outcome.ok) record("wrongAnswers", `tx.${again}() after ${end}`, "an ended transaction accepted it");
  }
  if (rng.chance(0.2)) {
    const outcome = await invoke(`createInvites with a transaction that ended (${end})`, () =>
      service.createInvites({ email: freshEmail() }, { transactionManager: tx }),
    );
    if (outcome.ok) {
      addCreated(outcome.value)();
      record("wrongAnswers", "createInvites with an ended transaction", "resolved");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bursts: concurrent calls whose effects commute (creates, reads, validations), so the model
// stays exact whatever order the store commits them in.

async function burst(service) {
  const shared = freshEmail("dup");
  const n = rng.int(2, 8);
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(["create", "create-dup", "read", "validate"]);
    if (kind === "create" || kind === "create-dup") {
      const data = kind === "create-dup" ? { email: shared } : validInvite();
      tasks.push(
        invoke(`burst createInvites(${kind})`, () => service.createInvites(data)).then((outcome) => {
          if (outcome.ok) addCreated(outcome.value)();
        }),
      );
    } else tasks.push(runOp(service, kind === "read" ? rng.pick(["listInvites", "retrieveInvite", "listUsers"]) : "validateInviteToken", undefined, undefined));
  }
  await Promise.all(tasks);
}

/**
 * 2-8 concurrent acceptInvite calls on one live invite's current token: exactly one wins; the
 * others get the documented not_found, on both backends.
 */
async function acceptRace(service) {
  let id;
  for (let tries = 0; tries < 5 && id === undefined; tries++) {
    const candidate = model.live.pick(rng);
    if (candidate !== undefined && isCurrentLiveToken(model.tokenOf.get(candidate), 60_000) && !model.userEmails.has(model.emailOf.get(candidate))) id = candidate;
  }
  if (id === undefined) return burst(service);
  const token = model.tokenOf.get(id);
  const k = rng.int(2, 8);
  const desc = `${k} concurrent acceptInvite calls on one token`;
  const outcomes = await Promise.all(Array.from({ length: k }, () => invoke(desc, () => service.acceptInvite(token))));
  const winners = outcomes.filter((outcome) => outcome.ok);
  if (winners.length !== 1) record("wrongAnswers", desc, `${winners.length} calls resolved; exactly one must`);
  for (const outcome of outcomes) {
    if (!outcome.ok && outcome.error?.type !== "not_found") record("wrongAnswers", desc, `a losing call got ${describe(outcome.error)} instead of not_found`);
  }
  if (winners.length > 0) softDelete(id);
  for (const winner of winners) addUsers(winner.value)();
}

/** The same createInvites call twice with one idempotencyKey, one after the other or at once: one set of invites. */
async function replay(service) {
  const key = `${prefix}-replay-${++idCounter}`;
  const batch = Array.from({ length: rng.int(1, 5) }, () => ({ email: freshEmail("r") }));
  const data = rng.chance(0.3) ? batch[0] : batch;
  const concurrent = rng.chance(0.5);
  const desc = `createInvites twice with one idempotencyKey (${concurrent ? "at once" : "one after the other"})`;
  const call = () => invoke(desc, () => service.createInvites(data, { idempotencyKey: key }));
  const outcomes = concurrent ? await Promise.all([call(), call()]) : [await call(), await call()];
  for (const outcome of outcomes) {
    if (outcome.ok) addCreated(outcome.value)();
    else record("wrongAnswers", desc, `rejected: ${describe(outcome.error)}`);
  }
  const ids = outcomes.map((outcome) => (outcome.ok ? [].concat(outcome.value).map((dto) => dto?.id).join(",") : "-"));
  if (outcomes.every((outcome) => outcome.ok) && ids[0] !== ids[1]) record("wrongAnswers", desc, `the replay returned other invites: ${ids.join(" vs ")}`);
}

// ---------------------------------------------------------------------------------------------
// Hostile module options ("configs"): the constructor throws a MedusaError or the module works.

function hostileOptions() {
  const base = { jwt_secret: SECRET, database: config.scratchDatabase };
  const field = rng.pick([
    "jwt_secret", "jwt_options", "valid_duration", "database", "sqliteSynchronous", "databasePoolSize",
    "databaseConnectTimeoutMs", "eventBus", "jwt_verify_options", "whole", "password URL",
  ]);
  if (field === "whole") {
    const [name, value] = hostile.hostileValue(rng);
    return [`options ${name}`, value, true];
  }
  if (field === "password URL") {
    const password = config.password;
    const url = rng.pick([
      `postgres://postgres:${password}@127.0.0.1:1/adv_unreachable`,
      `postgres://adv_nobody:${password}@127.0.0.1:5432/adv_no_such_database`,
      `postgresql://postgres:${password}@127.0.0.1:5432/adv_no_such_database?sslmode=require`,
      { clientUrl: `postgres://postgres:${password}@127.0.0.1:1/adv`, schema: "s" },
    ]);
    return ["database URL with a password", { ...base, database: url, databaseConnectTimeoutMs: 500 }, true];
  }
  const valid = {
    jwt_secret: SECRET,
    jwt_options: { expiresIn: "2h", algorithm: "HS256" },
    valid_duration: 3600,
    database: config.scratchDatabase,
    sqliteSynchronous: "NORMAL",
    databasePoolSize: 2,
    databaseConnectTimeoutMs: 2000,
    eventBus: { emit() {} },
    jwt_verify_options: { algorithms: ["HS256"] },
  };
  if (field === "eventBus") {
    // Hostile as read by the constructor; a bus whose emit answers differently later is the
    // caller's own failing emit, which the call reports as it is (documented).
    const [name, bus] = rng.pick([
      () => hostile.hostileValue(rng),
      () => ["emit a throwing getter", hostile.withThrowingGetter({}, "emit")],
      () => ["throwing proxy", hostile.throwingProxy()],
      () => ["revoked proxy", hostile.revokedProxy()],
      () => ["emit not a function", { emit: "emit" }],
    ])();
    return [`options eventBus=${name}`, { ...base, eventBus: bus }, false];
  }
  const [desc, value] = hostile.mutate(rng, { [field]: valid[field] });
  // Where the options name a database that cannot work, database_error is the right answer.
  const badDatabase = field.startsWith("database");
  // Replaced whole by a primitive or an exotic object: that is the options argument itself.
  let plain = false;
  try {
    plain = value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
  } catch {
    plain = false;
  }
  if (!plain) return [`options ${desc}`, value, true];
  const options = { ...base };
  try {
    Object.assign(options, value);
  } catch {
    return [`options ${desc}`, value, true];
  }
  return [`options ${desc}`, options, badDatabase];
}

async function configuration() {
  const [desc, options, badDatabase] = hostileOptions();
  counts.configurations++;
  let service;
  const made = await invoke(`new UserModuleService(${desc})`, async () => {
    // The constructor throws synchronously by design: a sync throw here is the contract.
    try {
      service = new UserModuleService(options);
    } catch (error) {
      return { thrown: error };
    }
    return { service };
  });
  if (!made.ok) return;
  if (made.value.thrown) {
    checkError(`new UserModuleService(${desc})`, made.value.thrown, { badDatabase });
    return;
  }
  // It was accepted: it must either work or reject cleanly; never resolve after close().
  const probe = await invoke(`createInvites on a module with ${desc}`, () => service.createInvites({ email: freshEmail("cfg") }), { badDatabase });
  if (probe.ok) rememberToken(probe.value?.token);
  await invoke(`listInvites on a module with ${desc}`, () => service.listInvites({}, { take: 1 }), { badDatabase });
  await invoke(`close() of a module with ${desc}`, () => service.close(), { badDatabase });
}

/** After close(): every method must reject with unexpected_state. */
async function afterClose(service) {
  const token = model.tokenOf.get(model.live.pick(rng)) ?? "x.y.z";
  const id = model.live.pick(rng) ?? "invite_x";
  const calls = [
    ["createInvites([])", () => service.createInvites([])],
    ["createInvites(one)", () => service.createInvites({ email: freshEmail("closed") })],
    ["createUsers([])", () => service.createUsers([])],
    ["createUsers(one)", () => service.createUsers({ email: freshEmail("closedu") })],
    ["validateInviteToken", () => service.validateInviteToken(token)],
    ["refreshInviteTokens([])", () => service.refreshInviteTokens([])],
    ["refreshInviteTokens([id])", () => service.refreshInviteTokens([id])],
    ["retrieveInvite", () => service.retrieveInvite(id)],
    ["listInvites", () => service.listInvites()],
    ["listAndCountInvites", () => service.listAndCountInvites({})],
    ["updateInvites([])", () => service.updateInvites([])],
    ["updateInvites(one)", () => service.updateInvites({ id, metadata: { a: 1 } })],
    ["deleteInvites([])", () => service.deleteInvites([])],
    ["deleteInvites(id)", () => service.deleteInvites([id])],
    ["softDeleteInvites([])", () => service.softDeleteInvites([])],
    ["restoreInvites([])", () => service.restoreInvites([])],
    ["acceptInvite", () => service.acceptInvite(token)],
    ["retrieveUser", () => service.retrieveUser("user_x")],
    ["listUsers", () => service.listUsers()],
    ["listAndCountUsers", () => service.listAndCountUsers()],
    ["begin()", () => service.begin()],
    ["transaction(fn)", () => service.transaction(async () => "done")],
  ];
  for (const [name, call] of calls) {
    const outcome = await invoke(`after close(): ${name}`, call, { afterClose: true });
    // A write that resolved after close is a defect already counted; keep the model true to it.
    if (outcome.ok && name.startsWith("createInvites")) addCreated(outcome.value)();
    if (outcome.ok && name.startsWith("createUsers")) addUsers(outcome.value)();
    if (outcome.ok && name === "begin()") await outcome.value.rollback().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const bus = { emitted: 0, emit() { this.emitted++; } };
  const service = new UserModuleService({ jwt_secret: SECRET, database: config.database, eventBus: bus });
  // How this worker ends: close() then calls, close() while calls run, or no close() at all.
  const ending = rng.weighted([[6, "close"], [2, "close during calls"], [2, "no close"]]);
  const budget = config.calls - (ending === "no close" ? 0 : 30);
  while (counts.calls < budget) {
    const what = rng.weighted([[88, "op"], [3, "transaction"], [3, "begin"], [2, "burst"], [1, "race"], [1, "replay"], [1, "configuration"]]);
    if (what === "op") await runOp(service, rng.weighted(WEIGHTS));
    else if (what === "transaction") await transactionCallback(service);
    else if (what === "begin") await transactionExplicit(service);
    else if (what === "burst") await burst(service);
    else if (what === "race") await acceptRace(service);
    else if (what === "replay") await replay(service);
    else await configuration();
    if (resync.length) await resyncModel(service);
  }
  if (ending === "close during calls") {
    const inFlight = [];
    for (let i = 0; i < 6; i++) {
      const data = validInvite();
      inFlight.push(
        invoke("createInvites racing close()", () => service.createInvites(data)).then((outcome) => {
          if (outcome.ok) addCreated(outcome.value)();
        }),
      );
    }
    inFlight.push(invoke("close() with calls in flight", () => service.close()));
    await Promise.all(inFlight);
    await afterClose(service);
  } else if (ending === "close") {
    await invoke("close()", () => service.close());
    await afterClose(service);
  }
  const result = {
    ending,
    workMs: Math.round(performance.now()),
    counts,
    // Each defect found counts one (a call rarely has two; calls in flight together never share one).
    failedCalls: totalDefects(),
    samples,
    maxSyncMs,
    emitted: bus.emitted,
    model: {
      live: model.live.values(),
      softDeleted: model.softDeleted.values(),
      users: model.users.size,
    },
  };
  fs.closeSync(traceFd);
  fs.closeSync(samplesFd);
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
  // The process now ends by itself (no process.exit): what happens at exit is part of the test.
}

main().catch((error) => {
  // A failure of the worker itself (not of a call): report it as such.
  process.stdout.write(`@@WORKER-ERROR ${JSON.stringify(String(error?.stack ?? error))}\n`);
  process.exitCode = 70;
});
