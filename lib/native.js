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
const noop = () => {};

class NativeChannel {
  #module;
  #pending = new Map();
  #nextId = 1;
  /** A ref'd timer while calls are pending: the completion callback alone keeps no process alive. */
  #keepAlive;

  /** Throws the native constructor's error (its message is the error JSON). */
  constructor(optionsJson) {
    const { NativeModule } = loadNative();
    this.#module = new NativeModule(optionsJson, (id, envelope) => this.#complete(id, envelope));
  }

  #complete(id, envelope) {
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    resolve?.(envelope);
  }

  /** Starts `method(id, ...args)` natively; resolves with its envelope JSON text. */
  call(method, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId;
      this.#nextId = id === MAX_CALL_ID ? 1 : id + 1;
      this.#pending.set(id, resolve);
      this.#keepAlive ??= setInterval(noop, 2 ** 30);
      try {
        this.#module[method](id, ...args);
      } catch (error) {
        this.#complete(id, undefined);
        reject(error);
      }
    });
  }
}

module.exports = { NativeChannel, loadNative };
