"use strict";
// Transactions issued by a module (docs/behaviour.md): pass the handle
// as `sharedContext.transactionManager` and several calls commit or roll back together.
// Events of the calls are held here and delivered after commit, in call order; a rollback
// drops them (docs/behaviour.md).
const { MedusaError } = require("./medusa-error");

/** Handle → its state; only the module that issued a handle finds it here. */
const internals = new WeakMap();

class InviteTransaction {
  constructor(native, id, issuer) {
    internals.set(this, { native, id, issuer, state: "open", pending: [] });
    Object.freeze(this);
  }

  /** `"open"`, `"committed"` or `"rolled back"`. */
  get state() {
    return internals.get(this).state;
  }

  /**
   * Commits every call made with this handle, then delivers their events in call order.
   * If a call inside failed without `enableNestedTransactions`, nothing is committed and
   * this rejects with `unexpected_state`.
   */
  async commit() {
    const self = internals.get(this);
    ensureOpen(self);
    self.state = "committing";
    // Calls already made with this handle belong to it: let them finish first.
    await Promise.allSettled(self.pending.map((call) => call.settled));
    const pending = self.pending;
    self.pending = [];
    try {
      await self.native.call("commit", { transaction: self.id });
    } catch (error) {
      self.state = "rolled back";
      throw error;
    }
    self.state = "committed";
    let firstFailure;
    for (const call of pending) {
      if (!call.deliver) continue;
      try {
        await call.deliver();
      } catch (error) {
        firstFailure ??= { error };
      }
    }
    if (firstFailure) throw firstFailure.error;
  }

  /** Undoes every call made with this handle; their events are dropped. */
  async rollback() {
    const self = internals.get(this);
    ensureOpen(self);
    self.state = "rolling back";
    await Promise.allSettled(self.pending.map((call) => call.settled));
    self.pending = [];
    try {
      await self.native.call("rollback", { transaction: self.id });
    } finally {
      self.state = "rolled back";
    }
  }
}

function ensureOpen(self) {
  if (self.state === "open") return;
  const what = self.state === "committed" || self.state === "committing" ? "committed" : "rolled back";
  throw new MedusaError(MedusaError.Types.UNEXPECTED_STATE, `The transaction has already been ${what}`);
}

/**
 * The issued transaction a call runs in, from `sharedContext.transactionManager`:
 * `undefined` for none; throws `invalid_argument` for a value this module did not issue and
 * `unexpected_state` for a handle that has ended.
 */
function joinTransaction(transactionManager, issuer) {
  if (transactionManager === undefined) return undefined;
  const self = internals.get(transactionManager);
  if (!self || self.issuer !== issuer) {
    throw new MedusaError(
      MedusaError.Types.INVALID_ARGUMENT,
      "sharedContext.transactionManager was not issued by this medusa-invites module; use service.transaction() or service.begin()",
    );
  }
  ensureOpen(self);
  return self;
}

/**
 * Keeps a call's place in the commit-time delivery order; `done(deliver)` fills it in,
 * `failed()` gives it up. Commit and rollback wait for every reserved call to settle.
 */
function reserveDelivery(self) {
  let settle;
  const call = { deliver: undefined, settled: new Promise((resolve) => (settle = resolve)) };
  self.pending.push(call);
  return {
    done(deliver) {
      call.deliver = deliver;
      settle();
    },
    failed() {
      self.pending = self.pending.filter((other) => other !== call);
      settle();
    },
  };
}

/** The module closed: its open transactions were rolled back natively. */
function markClosed(handle) {
  const self = internals.get(handle);
  if (self && self.state === "open") {
    self.state = "rolled back";
    self.pending = [];
  }
}

module.exports = { InviteTransaction, joinTransaction, reserveDelivery, markClosed };
