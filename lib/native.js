"use strict";
// The native module behind a promise API. Each call gets an id; the native side reports
// `(id, envelope JSON)` through one completion callback per module (see src/binding/mod.rs).
// A large createInvites batch reports twice: its result ahead (`{"early": result}`, while
// the invites are written), then the envelope that settles the call.
const { MedusaError, fromNative } = require("./medusa-error");
const { currentPlatform, whatToDo } = require("./platform");

/**
 * The native addon, through the loader napi-rs generates (binding.js): the local build
 * (`medusa-invites.<platform>.node`), else the platform package (`medusa-invites-<platform>`),
 * or the file `NAPI_RS_NATIVE_LIBRARY_PATH` names.
 */
function loadNative() {
  try {
    return require("../binding.js");
  } catch (error) {
    throw new MedusaError(
      MedusaError.Types.UNEXPECTED_STATE,
      `medusa-invites: the native addon could not be loaded on ${currentPlatform()} (${describeLoadError(error)}).\n${whatToDo()}`,
    );
  }
}

/** Why each place the loader looked failed, in the order it looked (its WASI fallback left out). */
function describeLoadError(error) {
  const reasons = [];
  for (let cause = error.cause ?? error; cause; cause = cause.cause) {
    const reason = String(cause.message).split("\n")[0];
    if (!/wasi/i.test(reason)) reasons.unshift(reason);
  }
  return reasons.join("; ");
}

let optionNames;
/** The names of the options the native side reads (src/options.rs, OPTION_NAMES). */
function nativeOptionNames() {
  optionNames ??= loadNative().nativeOptionNames();
  return optionNames;
}

const MAX_CALL_ID = 0xffffffff;
const noop = () => {};

/**
 * Reads a call's envelope (src/binding/mod.rs): `{"ok": result, "replayed"?: true,
 * "events"?: record, "outbox"?: id, "retried"?: n}` or `{"error": {type, message, index?},
 * "retried"?: n}`, and `tokens`, the text the native side sends beside it (createInvites'
 * tokens, which then become `ok.tokens`). `{"early": true, …}` in place of `"ok"`: the result
 * is the one sent ahead (`early`). Resolves with `{ ok, replayed, events, outbox }`; an error
 * becomes a MedusaError, its `index` kept when `withIndex`.
 */
function readEnvelope(envelope, tokens, { withIndex }, early, onRetried) {
  const reply = JSON.parse(envelope);
  if (reply.retried) onRetried?.(reply.retried);
  if (reply.error) throw fromNative(reply.error, { withIndex });
  if (reply.early === true) {
    if (!early) throw new MedusaError(MedusaError.Types.UNEXPECTED_STATE, "medusa-invites: a result sent ahead was lost");
    reply.ok = early;
  } else if (typeof tokens === "string") reply.ok.tokens = tokens;
  return { ok: reply.ok, replayed: reply.replayed === true, events: reply.events, outbox: reply.outbox };
}

/** The start of a result sent ahead of its envelope (see `early_result` in src/binding/mod.rs). */
const EARLY = '{"early":{';

/**
 * Keeps the process alive while any call of any module is in flight: the completion callback
 * alone does not (it is weak). One timer for the process, ref'd while calls are pending and
 * unref'd otherwise: cheaper than a timer per call, and nothing is left behind by a module.
 */
const keepAlive = {
  pending: 0,
  timer: undefined,
  hold() {
    if (this.pending++ === 0) (this.timer ??= setInterval(noop, 2 ** 30)).ref();
  },
  release() {
    if (--this.pending === 0) this.timer.unref();
  },
};

/**
 * The calls in flight of one channel and their completion. The native completion callback
 * closes over this, never over the channel: a threadsafe function is a GC root, and a
 * callback that reached the channel would keep the native module (its connections, its
 * file) alive forever. So a module dropped without close() is collected, and its native
 * half releases its resources then.
 */
class Pending {
  #calls = new Map();
  /** Told how many PostgreSQL calls ran again (serialization failure, deadlock) since the last reply. */
  onRetried;

  add(id, call) {
    this.#calls.set(id, call);
    keepAlive.hold();
  }

  /**
   * Settles call `id` with its envelope (and tokens), or with `thrown` when it could not
   * start. A result sent ahead is kept for the envelope and handed to the call's `onEarly`.
   */
  complete(id, envelope, tokens, thrown) {
    const call = this.#calls.get(id);
    if (!call) return;
    if (thrown === undefined && envelope.startsWith(EARLY)) {
      call.early = JSON.parse(envelope).early;
      if (typeof tokens === "string") call.early.tokens = tokens;
      try {
        call.options.onEarly?.(call.early);
      } catch {
        // the envelope still settles the call
      }
      return;
    }
    this.#calls.delete(id);
    keepAlive.release();
    if (thrown) return call.reject(thrown);
    try {
      call.resolve(readEnvelope(envelope, tokens, call.options, call.early, this.onRetried));
    } catch (error) {
      call.reject(error);
    }
  }
}

class NativeChannel {
  #module;
  #pending = new Pending();
  #nextId = 1;

  /** Throws the native constructor's error (its message is the error JSON). */
  constructor(optionsJson) {
    const { NativeModule } = loadNative();
    const pending = this.#pending;
    this.#module = new NativeModule(optionsJson, (id, envelope, tokens) => pending.complete(id, envelope, tokens));
  }

  /** `(count) => …`, told of PostgreSQL calls that ran again after a transient failure. */
  set onRetried(listener) {
    this.#pending.onRetried = listener;
  }

  /**
   * Runs `method` natively with `input` (a CallInput object, or its JSON text); resolves
   * with `{ ok, replayed, events, outbox }`, rejects with a MedusaError (`index` kept when `withIndex`).
   * `onEarly(result)`: told a large createInvites result sent ahead, before the call settles
   * (it may still fail).
   */
  call(method, input = {}, { withIndex = true, onEarly } = {}) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId;
      this.#nextId = id === MAX_CALL_ID ? 1 : id + 1;
      this.#pending.add(id, { resolve, reject, options: { withIndex, onEarly } });
      try {
        this.#module.call(id, method, typeof input === "string" ? input : JSON.stringify(input));
      } catch (error) {
        this.#pending.complete(id, undefined, undefined, error);
      }
    });
  }
}

module.exports = { NativeChannel, loadNative, nativeOptionNames };
