"use strict";
// The native module behind a promise API. Each call gets an id; the native side reports
// `(id, envelope JSON)` through one completion callback per module (see src/binding/mod.rs).
const { MedusaError } = require("./medusa-error");
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

const MAX_CALL_ID = 0xffffffff;
const RETRIED = /,"retried":(\d+)\}$/;
const noop = () => {};

/**
 * The calls in flight of one channel and their completion. The native completion callback
 * closes over this, never over the channel: a threadsafe function is a GC root, and a
 * callback that reached the channel would keep the native module (its connections, its
 * file) alive forever. So a module dropped without close() is collected, and its native
 * half releases its resources then.
 */
class Pending {
  #resolvers = new Map();
  /** Told how many PostgreSQL calls ran again (serialization failure, deadlock) since the last reply. */
  onRetried;
  /** A ref'd timer while calls are pending: the completion callback alone keeps no process alive. */
  #keepAlive;

  add(id, resolve) {
    this.#resolvers.set(id, resolve);
    this.#keepAlive ??= setInterval(noop, 2 ** 30);
  }

  complete(id, envelope) {
    // The native side puts `"retried":N` last in the envelope when there were retries
    // (src/binding/mod.rs, envelope); a quote can only be unescaped there in a key.
    const retried = typeof envelope === "string" ? RETRIED.exec(envelope.slice(-32)) : null;
    if (retried) this.onRetried?.(Number(retried[1]));
    const resolve = this.#resolvers.get(id);
    this.#resolvers.delete(id);
    if (this.#resolvers.size === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    resolve?.(envelope);
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
    this.#module = new NativeModule(optionsJson, (id, envelope) => pending.complete(id, envelope));
  }

  /** `(count) => …`, told of PostgreSQL calls that ran again after a transient failure. */
  set onRetried(listener) {
    this.#pending.onRetried = listener;
  }

  /** Starts `method(id, ...args)` natively; resolves with its envelope JSON text. */
  call(method, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId;
      this.#nextId = id === MAX_CALL_ID ? 1 : id + 1;
      this.#pending.add(id, resolve);
      try {
        this.#module[method](id, ...args);
      } catch (error) {
        this.#pending.complete(id, undefined);
        reject(error);
      }
    });
  }
}

module.exports = { NativeChannel, loadNative };
