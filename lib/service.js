"use strict";
// UserModuleService: Medusa's module surface over the native module. Input is snapshotted
// here (wire.js), the work runs natively off the JS thread, DTOs and events are built here.
const { MedusaError, fromNativeThrow } = require("./medusa-error");
const {
  encodeInvite, encodeUser, encodeInviteUpdate, encodeUserUpdate, encodeIds, encodeQuery, encodeConfig, encodeToken, encodeText, encodeContext,
  isRefusal, checkLength,
} = require("./wire");
const { messagesOf, deliver, shareIds } = require("./events");
const { Outbox } = require("./outbox");
const { InviteTransaction, joinTransaction, reserveDelivery, markClosed } = require("./transaction");
const { NativeChannel, nativeOptionNames } = require("./native");
const { PART, nextTurn } = require("./parts");
const { inviteDtos, storedDto, selector, linkable } = require("./dto");


function invalidArgument(message) {
  return new MedusaError(MedusaError.Types.INVALID_ARGUMENT, message);
}

/** One warning line for PostgreSQL calls that ran again (they succeeded or failed as reported). */
function logRetries(logger, count) {
  try {
    logger.warn(`medusa-invites: PostgreSQL: ${count} ${count === 1 ? "call" : "calls"} ran again after a serialization failure or a deadlock`);
  } catch {
    // a broken logger must not break the call
  }
}

/** Not enumerable, like `new Error(message, { cause })`: the own enumerable keys stay Medusa's. */
function withCause(error, cause) {
  Object.defineProperty(error, "cause", { value: cause, enumerable: false, writable: true, configurable: true });
  return error;
}

/** Reads the caller's input once into wire form; a throwing getter or proxy trap is invalid_data. */
function snapshot(what, read) {
  try {
    return read();
  } catch (cause) {
    if (isRefusal(cause)) throw cause;
    throw withCause(new MedusaError(MedusaError.Types.INVALID_DATA, `${what} could not be read: a property access threw`), cause);
  }
}

/** The items of an array argument in wire form; a length beyond the limit is refused unread. */
function encodeList(data, encodeItem) {
  checkLength(data.length);
  const items = new Array(data.length);
  for (let i = 0; i < data.length; i++) items[i] = encodeItem(data[i]);
  return items;
}

/**
 * A batch in wire form: `{ single, items, rest }`. Its shape and first part are read now;
 * `await rest()` reads the other parts, a turn of the event loop apart, and resolves with
 * the items' JSON text, a part at a time (each part's items joined by commas, no brackets).
 */
function encodeBatch(data, encodeItem, method) {
  const what = `The input of ${method}`;
  const batch = snapshot(what, () => {
    if (!Array.isArray(data)) return { single: true, items: [encodeItem(data)] };
    checkLength(data.length);
    return { single: false, items: new Array(data.length) };
  });
  const { items } = batch;
  if (batch.single) {
    const json = JSON.stringify(items).slice(1, -1);
    return { ...batch, rest: async () => [json] };
  }
  const encodePart = (start) => {
    const end = Math.min(start + PART, items.length);
    snapshot(what, () => {
      for (let i = start; i < end; i++) items[i] = encodeItem(data[i]);
    });
    return JSON.stringify(items.slice(start, end)).slice(1, -1);
  };
  const parts = [encodePart(0)];
  const rest = async () => {
    for (let start = PART; start < items.length; start += PART) {
      await nextTurn();
      parts.push(encodePart(start));
    }
    return parts;
  };
  return { ...batch, rest };
}

/**
 * A call's input as the native side reads it (src/binding/call.rs): its arguments by name,
 * and `events`: "direct" when someone listens, "outbox" to store the record too.
 */
function callInput(args, context, transaction, events) {
  return { context: context.wire, transaction: transaction?.id, events, args };
}

/**
 * A batch call's input, as JSON text: the items go in as the parts `encodeBatch` wrote, all
 * joined once (a large batch's input is written once, not once per concatenation).
 */
async function batchInput(batch, context, transaction, events) {
  const parts = await batch.rest();
  const head = JSON.stringify({ context: context.wire, transaction: transaction?.id, events, single: batch.single });
  parts[0] = `${head.slice(0, -1)},"items":[${parts[0]}`;
  parts[parts.length - 1] += "]}";
  const input = parts.join(",");
  // The batch (and so its parts) lives until the call returns: only the joined text is kept.
  parts.length = 0;
  return input;
}

/** Medusa's other form of an update: `{ selector, data }` (filters, and the fields to set). */
const isSelectorUpdate = (data) =>
  data !== null && typeof data === "object" && !Array.isArray(data) && "selector" in data && "data" in data;

/** `eventDelivery`: how a call's events reach the event bus. */
const EVENT_DELIVERY = ["outbox", "direct"];

class UserModuleService {
  #native;
  #eventBus;
  /** The outbox, when events are delivered through it (an event bus and `eventDelivery: "outbox"`). */
  #outbox;
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
    let logger;
    let eventDelivery;
    let json;
    try {
      eventBus = options.eventBus;
      if (eventBus !== undefined && eventBus !== null && typeof eventBus.emit !== "function") {
        throw invalidArgument("The eventBus option must be an object with an emit(messages, options) method");
      }
      logger = options.logger;
      if (logger !== undefined && logger !== null && typeof logger.warn !== "function") {
        throw invalidArgument("The logger option must be an object with a warn(message) method");
      }
      eventDelivery = options.eventDelivery ?? "outbox";
      if (!EVENT_DELIVERY.includes(eventDelivery)) {
        throw invalidArgument('The eventDelivery option must be "outbox" or "direct"');
      }
      // Only what the native side reads (the rest, eventBus and logger, stays here).
      const nativeOptions = {};
      for (const name of nativeOptionNames()) nativeOptions[name] = options[name];
      json = JSON.stringify(nativeOptions);
    } catch (error) {
      if (MedusaError.isMedusaError(error)) throw error;
      throw invalidArgument("The UserModule's options could not be read as JSON values");
    }
    this.#eventBus = eventBus ?? undefined;
    try {
      this.#native = new NativeChannel(json);
    } catch (thrown) {
      throw MedusaError.isMedusaError(thrown) ? thrown : fromNativeThrow(thrown);
    }
    if (logger) this.#native.onRetried = (count) => logRetries(logger, count);
    if (this.#eventBus && eventDelivery === "outbox") this.#outbox = new Outbox(this.#native, this.#eventBus);
  }

  /**
   * Medusa's `createInvites`: one object in, one DTO out; an array in, an array out.
   * Always asynchronous: every error is a rejection.
   */
  async createInvites(data, sharedContext) {
    const batch = encodeBatch(data, encodeInvite, "createInvites");
    // A large batch's result comes ahead, while its invites are written: the DTOs are built
    // meanwhile, and returned once the write succeeded.
    let early;
    const onEarly = (created) => {
      early = inviteDtos(batch.items, created);
      early.catch(() => {}); // awaited below, unless the call fails
    };
    const { ok: created } = await this.#call("createInvites", sharedContext, { batch, onEarly });
    const dtos = await (early ?? inviteDtos(batch.items, created));
    return batch.single ? dtos[0] : dtos;
  }

  /**
   * Medusa's `createUsers` (user fields only); a live user's email cannot be used twice.
   * Emits `user.user.created` per user, as Medusa does.
   */
  async createUsers(data, sharedContext) {
    const batch = encodeBatch(data, encodeUser, "createUsers");
    const { ok } = await this.#call("createUsers", sharedContext, { batch });
    const dtos = ok.users.map(storedDto);
    return batch.single ? dtos[0] : dtos;
  }

  /**
   * Every call goes through here: snapshots `sharedContext`, joins its transaction, runs
   * `method` natively with `args` (or a `batch` from `encodeBatch`), and delivers the events
   * the native side reports for the call (its record, see lib/events.js) as Medusa does
   * (docs/behaviour.md): after the caller's transaction commits when there is one, else
   * now. Resolves with `{ ok, replayed }`.
   */
  async #call(method, sharedContext, { args, batch, onEarly }) {
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const delivery = transaction ? reserveDelivery(transaction) : undefined;
    const events = this.#outbox ? "outbox" : this.#eventBus || context.events.messageAggregator ? "direct" : undefined;
    let reply;
    try {
      let input = batch ? await batchInput(batch, context, transaction, events) : callInput(args, context, transaction, events);
      // An error's `index` names an item of an array; one object in has no index.
      const replied = this.#native.call(method, input, { withIndex: !batch?.single, onEarly });
      // The native side has its own copy now: a large batch's text need not live through the call.
      input = undefined;
      reply = await replied;
    } catch (error) {
      delivery?.failed();
      throw error;
    }
    this.#outbox?.opened();
    const record = reply.events;
    if (record && Array.isArray(reply.ok?.ids)) shareIds(record, reply.ok.ids);
    const deliverEvents = record && (() => this.#deliver(context, record, reply.outbox));
    if (delivery) delivery.done(deliverEvents);
    else if (deliverEvents) await deliverEvents();
    return reply;
  }

  /** Delivers a call's record; its outbox row (if any) is marked once that succeeded. */
  async #deliver(context, record, outboxId) {
    try {
      await deliver({ eventBus: this.#eventBus, ...context.events }, () => messagesOf(record));
    } catch (error) {
      if (outboxId !== undefined) this.#outbox?.failed();
      throw error;
    }
    if (outboxId !== undefined) this.#outbox?.delivered(outboxId);
  }

  /** A call whose arguments `readArgs` reads from the caller's values (see `#call`); resolves with its result. */
  async #run(method, readArgs, sharedContext) {
    const args = snapshot(`The input of ${method}`, readArgs);
    return (await this.#call(method, sharedContext, { args })).ok;
  }

  /**
   * Delivers every event still pending in the outbox now (calls whose process died between
   * commit and emit, emits that failed), in the order the calls were written, one emit per
   * call. Resolves with the number of calls delivered (0 without an event bus, or with
   * `eventDelivery: "direct"`).
   */
  async flushEvents() {
    return this.#outbox ? this.#outbox.flush() : 0;
  }

  /**
   * The calls whose events are pending in the outbox, oldest first (at most `limit`, default
   * 100): `{ id, created_at, messages }`, the messages as they will be emitted.
   */
  async listPendingEvents({ limit = 100 } = {}) {
    if (!Number.isInteger(limit) || limit < 1) throw invalidArgument("limit must be a positive integer");
    if (!this.#outbox) return [];
    return this.#outbox.list(limit);
  }

  /**
   * A read (retrieve, list, listAndCount of invites or users): the DTOs, `config.select`
   * applied; `[dtos, count]` when the native side counted.
   */
  async #find(method, key, value, config, sharedContext) {
    let select;
    const result = await this.#run(method, () => {
      select = selector(config);
      return { [key]: encodeQuery(value), config: encodeConfig(config) };
    }, sharedContext);
    const dtos = result.invites
      ? result.invites.map((invite) => select(storedDto(invite)))
      : result.users.map((user) => select(storedDto(user)));
    return result.count === undefined ? dtos : [dtos, result.count];
  }

  /**
   * Medusa's `validateInviteToken`: verifies the token (jwt_public_key ?? jwt_secret,
   * jwt_verify_options ?? jwt_options) and returns the live invite whose current token it is.
   */
  async validateInviteToken(token, sharedContext) {
    const invite = await this.#run("validateInviteToken", () => ({ token: encodeToken(token) }), sharedContext);
    return storedDto(invite);
  }

  /** Medusa's `refreshInviteTokens`: new tokens and expiry; the old tokens stop validating. */
  async refreshInviteTokens(inviteIds, sharedContext) {
    const { invites } = await this.#run(
      "refreshInviteTokens",
      () => ({ ids: encodeIds(inviteIds) }),
      sharedContext,
    );
    return invites.map(storedDto);
  }

  /** Medusa's `retrieveInvite`: not_found when there is no such (live) invite. */
  async retrieveInvite(id, config, sharedContext) {
    const [invite] = await this.#find("retrieveInvite", "id", id, config, sharedContext);
    return invite;
  }

  /** Medusa's `listInvites`: default order `id ASC`, soft-deleted hidden unless `withDeleted`. */
  async listInvites(filters, config, sharedContext) {
    return this.#find("listInvites", "filters", filters, config, sharedContext);
  }

  /** Medusa's `listAndCountInvites`: `[page, count of every match]`. */
  async listAndCountInvites(filters, config, sharedContext) {
    return this.#find("listAndCountInvites", "filters", filters, config, sharedContext);
  }

  /** Medusa's `updateInvites`: one object in, one out; an array in, an array out. */
  async updateInvites(data, sharedContext) {
    let single;
    const { invites } = await this.#run(
      "updateInvites",
      () => {
        single = !Array.isArray(data);
        return { items: single ? [encodeInviteUpdate(data)] : encodeList(data, encodeInviteUpdate) };
      },
      sharedContext,
    );
    const dtos = invites.map(storedDto);
    return single ? dtos[0] : dtos;
  }

  /** Medusa's `deleteInvites`: removes the rows for good. */
  async deleteInvites(ids, sharedContext) {
    await this.#run("deleteInvites", () => ({ ids: encodeIds(ids) }), sharedContext);
  }

  /** Medusa's `softDeleteInvites`: `{ invite_id: [...] }`; the emails become free again. */
  async softDeleteInvites(ids, config, sharedContext) {
    const result = await this.#run("softDeleteInvites", () => ({ ids: encodeIds(ids) }), sharedContext);
    return linkable("invite_id", result.ids);
  }

  /** Medusa's `restoreInvites`: `{ invite_id: [...] }`; refused when a live invite now holds an email. */
  async restoreInvites(ids, config, sharedContext) {
    const result = await this.#run("restoreInvites", () => ({ ids: encodeIds(ids) }), sharedContext);
    return linkable("invite_id", result.ids);
  }

  /**
   * Accepts an invite (Medusa's accept workflow as one call): validates the token, then in one
   * transaction creates the user (the invite's email and roles, `first_name`/`last_name` from
   * `user`) and soft-deletes the invite. Resolves with the UserDTO.
   */
  async acceptInvite(token, user, sharedContext) {
    const result = await this.#run(
      "acceptInvite",
      () => ({ token: encodeToken(token), user: user === undefined || user === null ? null : encodeUser(user) }),
      sharedContext,
    );
    return storedDto(result.user);
  }

  /** Medusa's `retrieveUser`. */
  async retrieveUser(id, config, sharedContext) {
    const [user] = await this.#find("retrieveUser", "id", id, config, sharedContext);
    return user;
  }

  /** Medusa's `listUsers`. */
  async listUsers(filters, config, sharedContext) {
    return this.#find("listUsers", "filters", filters, config, sharedContext);
  }

  /**
   * Medusa's `updateUsers`: one object in, one DTO out; an array in, an array out. Metadata
   * is merged (a key set to `""` is removed, `null` clears it). Emits `user.user.updated` per
   * changed user. `{ selector, data }` updates every live user the selector finds and, as
   * Medusa, resolves with the first (or undefined when none).
   */
  async updateUsers(data, sharedContext) {
    if (isSelectorUpdate(data)) {
      const { selector, update } = snapshot("The input of updateUsers", () => ({ selector: data.selector, update: data.data }));
      const found = await this.listUsers(selector, { select: ["id"] }, sharedContext);
      if (found.length === 0) return undefined;
      const [first] = await this.updateUsers(found.map((user) => ({ ...update, id: user.id })), sharedContext);
      return first;
    }
    let single;
    const { users, changed } = await this.#run(
      "updateUsers",
      () => {
        single = !Array.isArray(data);
        return { items: single ? [encodeUserUpdate(data)] : encodeList(data, encodeUserUpdate) };
      },
      sharedContext,
    );
    const dtos = users.map(storedDto);
    return single ? dtos[0] : dtos;
  }

  /** Medusa's `deleteUsers`: removes the rows for good (soft-deleted ones too); `user.user.deleted` per row. */
  async deleteUsers(ids, sharedContext) {
    await this.#run("deleteUsers", () => ({ ids: encodeIds(ids) }), sharedContext);
  }

  /** Medusa's `softDeleteUsers`: `{ user_id: [...] }`, or `{}` when no live user matched; the emails become free again. */
  async softDeleteUsers(ids, config, sharedContext) {
    const result = await this.#run("softDeleteUsers", () => ({ ids: encodeIds(ids) }), sharedContext);
    return linkable("user_id", result.ids);
  }

  /** Medusa's `restoreUsers`: `{ user_id: [...] }` of every user found; refused when a live user now holds an email. No event, as Medusa. */
  async restoreUsers(ids, config, sharedContext) {
    const result = await this.#run("restoreUsers", () => ({ ids: encodeIds(ids) }), sharedContext);
    return linkable("user_id", result.ids);
  }

  /** Medusa's `listAndCountUsers`. */
  async listAndCountUsers(filters, config, sharedContext) {
    return this.#find("listAndCountUsers", "filters", filters, config, sharedContext);
  }

  /**
   * Opens a transaction; pass it as `sharedContext.transactionManager`. On SQLite it holds
   * the module's write lock until `commit()` or `rollback()`: other calls wait for it.
   * @param options `{ isolationLevel }`
   */
  async begin(options) {
    let isolationLevel;
    try {
      isolationLevel = options?.isolationLevel;
    } catch (cause) {
      throw withCause(invalidArgument("The transaction options could not be read: a property access threw"), cause);
    }
    if (isolationLevel !== undefined && typeof isolationLevel !== "string") {
      throw invalidArgument("isolationLevel must be a string");
    }
    // In wire form, as every argument: a level with a lone surrogate is named, and refused as unknown.
    const isolation = isolationLevel === undefined ? undefined : encodeText(isolationLevel);
    const { ok: id } = await this.#native.call("begin", { args: { isolationLevel: isolation } });
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
    // The outbox's last marks go out ahead of the close, which the native side orders after them.
    const outboxClosed = this.#outbox?.close();
    await this.#native.call("close");
    await outboxClosed;
    for (const reference of this.#transactions) {
      const handle = reference.deref();
      if (handle) markClosed(handle);
    }
    this.#transactions.clear();
  }
}

module.exports = { UserModuleService };
