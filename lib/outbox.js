"use strict";
// The outbox (docs/behaviour.md, "Events that survive a crash"): each call that announces
// something stores its event record in the same transaction as its rows. Delivery right after
// the call is unchanged; this is what happens around it: rows delivered are marked (at most
// one small commit a second, never one per call), and rows left pending (a process that died
// between commit and emit, an emit that failed) are delivered again, in id order, at least
// once: when a module opens the store, when `flushEvents()` is called, every 30 s for rows
// pending that long, and after a failed emit, with backoff.
const { messagesOf } = require("./events");

/** Rows claimed per transaction while redelivering. */
const CLAIM = 100;
/** Marks are written at most this often. */
const MARK_EVERY_MS = 1_000;
/** When a module opens the store it redelivers rows older than this: younger ones may still
 * be in the hands of the live process that wrote them. */
const OPEN_GRACE_MS = 5_000;
/** Retries after a failed emit wait 1 s, 2 s, 4 s, … up to this. */
const MAX_RETRY_MS = 60_000;
/** While a module is open it looks this often for rows pending longer than this (another
 * process died between commit and emit): a read, and a claim only when there are some. */
const SWEEP_MS = 30_000;

class Outbox {
  #native;
  #eventBus;
  #marks = [];
  #markTimer;
  #retryTimer;
  #retryDelay = 0;
  #sweepTimer;
  #opened = false;
  #closed = false;
  /** The redelivery running now: one at a time per module. */
  #flushing = Promise.resolve(0);

  constructor(native, eventBus) {
    this.#native = native;
    this.#eventBus = eventBus;
  }

  /** The record of outbox row `id` was delivered: mark it with the next batch of marks. */
  delivered(id) {
    this.#marks.push(id);
    this.#markTimer ??= unref(setTimeout(() => this.#writeMarks(), MARK_EVERY_MS));
  }

  /** An emit failed: the row stays pending; try again later, with backoff. */
  failed() {
    if (this.#closed || this.#retryTimer) return;
    this.#retryDelay = Math.min(MAX_RETRY_MS, Math.max(1_000, this.#retryDelay * 2));
    this.#retryTimer = unref(
      setTimeout(() => {
        this.#retryTimer = undefined;
        this.flush().then(
          () => (this.#retryDelay = 0),
          () => this.failed(),
        );
      }, this.#retryDelay),
    );
  }

  /** A call succeeded, so the store is open: the first time, redeliver what dead processes left. */
  opened() {
    if (this.#opened || this.#closed) return;
    this.#opened = true;
    this.flush({ before: Date.now() - OPEN_GRACE_MS }).catch(() => this.failed());
    this.#sweepTimer = unref(
      setInterval(() => this.flush({ before: Date.now() - SWEEP_MS }).catch(() => this.failed()), SWEEP_MS),
    );
  }

  /**
   * Delivers the pending rows (created before `before`, default now), in id order, a claimed
   * batch per transaction: claimed rows are emitted one call each, marked, and committed.
   * Resolves with the number of calls delivered; rejects with the first failed emit (what was
   * delivered before it stays marked).
   */
  flush({ before = Date.now() + 1 } = {}) {
    const run = this.#flushing.catch(() => 0).then(() => this.#deliverPending(before));
    this.#flushing = run;
    return run;
  }

  async #deliverPending(before) {
    if (!this.#eventBus || this.#closed) return 0;
    // A look without a lock first: most of the time nothing is pending, and then no write
    // transaction is opened (on SQLite it would hold the database's write lock).
    const { ok: peek } = await this.#native.call("listPendingEvents", { args: { limit: 1, before } });
    if (peek.pending.length === 0) return 0;
    let delivered = 0;
    for (;;) {
      const { ok: transaction } = await this.#native.call("begin");
      let committed = false;
      try {
        const { ok } = await this.#native.call("claimEvents", { transaction, args: { limit: CLAIM, before } });
        if (ok.pending.length === 0) return delivered;
        const done = [];
        let failure;
        for (const row of ok.pending) {
          try {
            const messages = row.record ? messagesOf(row.record) : [];
            if (messages.length > 0) await this.#eventBus.emit(messages, { internal: true });
            done.push(row.id);
          } catch (error) {
            failure = { error };
            break;
          }
        }
        if (done.length > 0) await this.#native.call("markEventsDelivered", { transaction, args: { ids: done } });
        await this.#native.call("commit", { transaction });
        committed = true;
        delivered += done.length;
        if (failure) throw failure.error;
      } finally {
        if (!committed) await this.#native.call("rollback", { transaction }).catch(() => {});
      }
    }
  }

  /** Pending rows, oldest first, as `{ id, created_at, messages }`. */
  async list(limit) {
    const { ok } = await this.#native.call("listPendingEvents", { args: { limit } });
    return ok.pending.map((row) => ({
      id: row.id,
      created_at: new Date(row.createdAt),
      messages: row.record ? messagesOf(row.record) : [],
    }));
  }

  async #writeMarks() {
    this.#markTimer = undefined;
    const ids = this.#marks;
    this.#marks = [];
    if (ids.length === 0 || this.#closed) return;
    try {
      await this.#native.call("markEventsDelivered", { args: { ids } });
    } catch {
      // The store is unreachable: keep them for the next batch (unmarked, they would only be
      // delivered once more).
      for (const id of ids) this.delivered(id);
    }
  }

  /**
   * The module closes: timers stop, and the marks still held are sent now, ahead of the
   * close (the call starts before this returns). Resolves once they are written.
   */
  close() {
    clearTimeout(this.#markTimer);
    clearTimeout(this.#retryTimer);
    clearInterval(this.#sweepTimer);
    this.#markTimer = this.#retryTimer = this.#sweepTimer = undefined;
    this.#closed = true;
    const ids = this.#marks;
    this.#marks = [];
    const marked = ids.length > 0 ? this.#native.call("markEventsDelivered", { args: { ids } }) : undefined;
    return Promise.all([marked, this.#flushing].map((step) => step?.catch(() => {})));
  }
}

function unref(timer) {
  timer.unref?.();
  return timer;
}

module.exports = { Outbox };
