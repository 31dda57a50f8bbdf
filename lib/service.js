"use strict";
// UserModuleService: Medusa's module surface over the native module. Input is snapshotted
// here (wire.js), the work runs natively off the JS thread, DTOs and events are built here.
const { MedusaError, fromNative, fromNativeThrow } = require("./medusa-error");
const { encodeInvite, encodeUser, encodeContext } = require("./wire");
const { inviteCreatedMessages, deliver } = require("./events");
const { InviteTransaction, joinTransaction, reserveDelivery, markClosed } = require("./transaction");
const { NativeChannel } = require("./native");

/** Options the native side reads; the rest (eventBus) stays in JS. */
const NATIVE_OPTIONS = [
  "jwt_secret", "jwt_public_key", "jwt_options", "jwt_verify_options", "valid_duration",
  "database", "sqliteSynchronous", "idempotencyRetentionSeconds", "databasePoolSize",
  "databaseConnectTimeoutMs",
];

function invalidArgument(message) {
  return new MedusaError(MedusaError.Types.INVALID_ARGUMENT, message);
}

/** Reads the caller's input once into wire form; a throwing getter or proxy trap is invalid_data. */
function snapshot(what, read) {
  try {
    return read();
  } catch (cause) {
    const error = new MedusaError(MedusaError.Types.INVALID_DATA, `${what} could not be read: a property access threw`);
    // Not enumerable, like `new Error(message, { cause })`: the own enumerable keys stay Medusa's.
    Object.defineProperty(error, "cause", { value: cause, enumerable: false, writable: true, configurable: true });
    throw error;
  }
}

function encodeBatch(data, encodeItem, method) {
  return snapshot(`The input of ${method}`, () => {
    if (!Array.isArray(data)) return { single: true, items: [encodeItem(data)] };
    const length = data.length;
    const items = new Array(length);
    for (let i = 0; i < length; i++) items[i] = encodeItem(data[i]);
    return { single: false, items };
  });
}

/** Sends one call to the native side and unwraps its envelope. */
async function callNative(invoke, items, context, transaction, single) {
  const call = { context: context.wire, items, single };
  if (transaction) call.transaction = transaction.id;
  const reply = JSON.parse(await invoke(JSON.stringify(call)));
  if (reply.error) throw fromNative(reply.error, { withIndex: !single });
  if (reply.replayed) reply.ok.replayed = true;
  return reply.ok;
}

function unwrap(reply) {
  const parsed = JSON.parse(reply);
  if (parsed.error) throw fromNative(parsed.error);
  return parsed.ok;
}

function inviteDtos(items, { now, expiresAt, ids, tokens, times }) {
  const dtos = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    dtos[i] = {
      id: ids[i],
      email: item.email,
      accepted: item.accepted === true,
      token: tokens[i],
      expires_at: new Date(expiresAt),
      metadata: item.metadata ? JSON.parse(item.metadata.$json) : null,
      created_at: new Date(now),
      updated_at: new Date(now),
      deleted_at: null,
      roles: item.roles ? item.roles.$array.slice() : null,
    };
  }
  for (const [index, createdAt, updatedAt, deletedAt] of times) {
    dtos[index].created_at = new Date(createdAt);
    dtos[index].updated_at = new Date(updatedAt);
    dtos[index].deleted_at = deletedAt === null ? null : new Date(deletedAt);
  }
  return dtos;
}

function userDto(user) {
  return {
    ...user,
    metadata: user.metadata === null ? null : JSON.parse(user.metadata),
    created_at: new Date(user.created_at),
    updated_at: new Date(user.updated_at),
    deleted_at: user.deleted_at === null ? null : new Date(user.deleted_at),
  };
}

class UserModuleService {
  #native;
  #eventBus;
  /** Open transactions issued by this module, held weakly, so close() can end their handles. */
  #transactions = new Set();

  /**
   * @param options Medusa's user module options (`jwt_secret`, `jwt_public_key`, `jwt_options`,
   *   `jwt_verify_options`, `valid_duration`) plus `database`, `sqliteSynchronous`, `eventBus`.
   */
  constructor(options) {
    if (options === null || typeof options !== "object") {
      throw invalidArgument("UserModuleService expects an options object");
    }
    let eventBus;
    let json;
    try {
      eventBus = options.eventBus;
      const nativeOptions = {};
      for (const name of NATIVE_OPTIONS) nativeOptions[name] = options[name];
      json = JSON.stringify(nativeOptions);
    } catch {
      throw invalidArgument("The UserModule's options could not be read as JSON values");
    }
    if (eventBus !== undefined && eventBus !== null && typeof eventBus.emit !== "function") {
      throw invalidArgument("The eventBus option must be an object with an emit(messages, options) method");
    }
    this.#eventBus = eventBus ?? undefined;
    try {
      this.#native = new NativeChannel(json);
    } catch (thrown) {
      throw MedusaError.isMedusaError(thrown) ? thrown : fromNativeThrow(thrown);
    }
  }

  /**
   * Medusa's `createInvites`: one object in, one DTO out; an array in, an array out.
   * Always asynchronous: every error is a rejection.
   */
  async createInvites(data, sharedContext) {
    const { single, items } = encodeBatch(data, encodeInvite, "createInvites");
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const delivery = transaction && reserveDelivery(transaction);
    let created;
    try {
      created = await callNative((json) => this.#native.call("createInvites", json), items, context, transaction, single);
    } catch (error) {
      delivery?.failed();
      throw error;
    }
    const dtos = inviteDtos(items, created);
    const deliverEvents = () =>
      deliver({ eventBus: this.#eventBus, ...context.events }, () =>
        inviteCreatedMessages(created.ids, context.events.eventGroupId),
      );
    // A replayed call (idempotencyKey) or an empty one has nothing new to announce.
    const announce = dtos.length > 0 && !created.replayed;
    if (delivery) delivery.done(announce ? deliverEvents : undefined);
    else if (announce) await deliverEvents();
    return single ? dtos[0] : dtos;
  }

  /** Medusa's `createUsers` (user fields only); a live user's email cannot be used twice. */
  async createUsers(data, sharedContext) {
    const { single, items } = encodeBatch(data, encodeUser, "createUsers");
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const users = await callNative((json) => this.#native.call("createUsers", json), items, context, transaction, single);
    const dtos = users.map(userDto);
    return single ? dtos[0] : dtos;
  }

  /**
   * Opens a transaction; pass it as `sharedContext.transactionManager`. On SQLite it holds
   * the module's write lock until `commit()` or `rollback()`: other calls wait for it.
   * @param options `{ isolationLevel }`
   */
  async begin(options) {
    const isolationLevel = options?.isolationLevel;
    if (isolationLevel !== undefined && typeof isolationLevel !== "string") {
      throw invalidArgument("isolationLevel must be a string");
    }
    const id = unwrap(await this.#native.call("begin", isolationLevel));
    const handle = new InviteTransaction(this.#native, id, this);
    for (const reference of this.#transactions) {
      if (reference.deref()?.state !== "open") this.#transactions.delete(reference);
    }
    this.#transactions.add(new WeakRef(handle));
    return handle;
  }

  /**
   * Runs `work(tx)` in a transaction: commits when it resolves, rolls back when it throws.
   * Resolves with what `work` resolved with.
   */
  async transaction(work, options) {
    if (typeof work !== "function") throw invalidArgument("transaction expects a function (tx) => Promise");
    const tx = await this.begin(options);
    let result;
    try {
      result = await work(tx);
    } catch (error) {
      if (tx.state === "open") await tx.rollback().catch(() => {});
      throw error;
    }
    if (tx.state === "open") await tx.commit();
    return result;
  }

  /** Closes the database; open transactions roll back. Calls made afterwards reject with `unexpected_state`. */
  async close() {
    unwrap(await this.#native.call("close"));
    for (const reference of this.#transactions) {
      const handle = reference.deref();
      if (handle) markClosed(handle);
    }
    this.#transactions.clear();
  }
}

module.exports = { UserModuleService };
