"use strict";
// UserModuleService: Medusa's module surface over the native module. Input is snapshotted
// here (wire.js), the work runs natively off the JS thread, DTOs and events are built here.
const { MedusaError, fromNative, fromNativeThrow } = require("./medusa-error");
const {
  encodeInvite, encodeUser, encodeInviteUpdate, encodeUserUpdate, encodeIds, encodeQuery, encodeConfig, encodeToken, encodeContext,
  isRefusal, checkLength,
} = require("./wire");
const {
  inviteCreatedMessages, inviteUpdatedMessages, inviteDeletedMessages, userCreatedMessages, userUpdatedMessages,
  userDeletedMessages, inviteAcceptedMessage, deliver,
} = require("./events");
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
 * Batches are read, sent and answered in parts of this many items, with a turn of the event
 * loop between parts: a batch of 100,000 never holds the event loop for long.
 */
const PART = 2_000;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A batch in wire form: `{ single, items, rest }`. Its shape and first part are read now;
 * `await rest()` reads the other parts, a turn of the event loop apart, and resolves with
 * the items' JSON text.
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
    const json = JSON.stringify(items);
    return { ...batch, rest: async () => json };
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
    return `[${parts.join(",")}]`;
  };
  return { ...batch, rest };
}

/** Reads the rest of a batch, sends the call to the native side and unwraps its envelope. */
async function callNative(invoke, batch, context, transaction) {
  const items = await batch.rest();
  const head = JSON.stringify(transaction
    ? { context: context.wire, single: batch.single, transaction: transaction.id }
    : { context: context.wire, single: batch.single });
  const reply = JSON.parse(await invoke(`${head.slice(0, -1)},"items":${items}}`));
  if (reply.error) throw fromNative(reply.error, { withIndex: !batch.single });
  if (reply.replayed) reply.ok.replayed = true;
  return reply.ok;
}

function unwrap(reply) {
  const parsed = JSON.parse(reply);
  if (parsed.error) throw fromNative(parsed.error);
  return parsed.ok;
}

/** The tokens of a response one by one: `tokens` is their text joined by "\n". */
function tokenReader(tokens) {
  // A replay stored by an earlier version holds an array.
  if (Array.isArray(tokens)) return (i) => tokens[i];
  let from = 0;
  return () => {
    let to = tokens.indexOf("\n", from);
    if (to === -1) to = tokens.length;
    const token = tokens.slice(from, to);
    from = to + 1;
    return token;
  };
}

/** The DTOs of created invites, built a part at a time (see `PART`). */
async function inviteDtos(items, { now, expiresAt, ids, tokens, times }) {
  const dtos = new Array(items.length);
  const nextToken = tokenReader(tokens);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % PART === 0) await nextTurn();
    const item = items[i];
    dtos[i] = {
      id: ids[i],
      email: item.email,
      accepted: item.accepted === true,
      token: nextToken(i),
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
    roles: user.roles ?? null,
  };
}

/** A stored invite (native JSON) as Medusa's InviteDTO. */
function storedInviteDto(invite) {
  return {
    id: invite.id,
    email: invite.email,
    accepted: invite.accepted,
    token: invite.token,
    expires_at: new Date(invite.expires_at),
    metadata: invite.metadata === null ? null : JSON.parse(invite.metadata),
    created_at: new Date(invite.created_at),
    updated_at: new Date(invite.updated_at),
    deleted_at: invite.deleted_at === null ? null : new Date(invite.deleted_at),
    roles: invite.roles ?? null,
  };
}

/** `config.select`: `id` and the selected keys, in DTO key order (Medusa always adds the id). */
function selector(config) {
  const select = config?.select;
  if (!Array.isArray(select)) return (dto) => dto;
  checkLength(select.length);
  const wanted = new Set(["id", ...select.filter((key) => typeof key === "string")]);
  return (dto) => {
    const out = {};
    for (const key of Object.keys(dto)) if (wanted.has(key)) out[key] = dto[key];
    return out;
  };
}

/** softDelete/restore results: `{ invite_id: [...] }` (or `user_id`), or `{}` when nothing matched (as Medusa). */
const linkable = (key, ids) => (ids.length > 0 ? { [key]: ids } : {});

/** Medusa's other form of an update: `{ selector, data }` (filters, and the fields to set). */
const isSelectorUpdate = (data) =>
  data !== null && typeof data === "object" && !Array.isArray(data) && "selector" in data && "data" in data;

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
    let logger;
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
      const nativeOptions = {};
      for (const name of NATIVE_OPTIONS) nativeOptions[name] = options[name];
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
  }

  /**
   * Medusa's `createInvites`: one object in, one DTO out; an array in, an array out.
   * Always asynchronous: every error is a rejection.
   */
  async createInvites(data, sharedContext) {
    const batch = encodeBatch(data, encodeInvite, "createInvites");
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const delivery = transaction && reserveDelivery(transaction);
    let created;
    try {
      created = await callNative((json) => this.#native.call("createInvites", json), batch, context, transaction);
    } catch (error) {
      delivery?.failed();
      throw error;
    }
    const dtos = await inviteDtos(batch.items, created);
    // A replayed call (idempotencyKey) or an empty one has nothing new to announce.
    const announce = dtos.length > 0 && !created.replayed;
    await this.#announce(context, delivery, announce && (() => inviteCreatedMessages(created.ids, context.events.eventGroupId)));
    return batch.single ? dtos[0] : dtos;
  }

  /**
   * Medusa's `createUsers` (user fields only); a live user's email cannot be used twice.
   * Emits `user.user.created` per user, as Medusa does.
   */
  async createUsers(data, sharedContext) {
    const batch = encodeBatch(data, encodeUser, "createUsers");
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const delivery = transaction && reserveDelivery(transaction);
    let users;
    try {
      users = await callNative((json) => this.#native.call("createUsers", json), batch, context, transaction);
    } catch (error) {
      delivery?.failed();
      throw error;
    }
    const dtos = users.map(userDto);
    const ids = dtos.map((user) => user.id);
    await this.#announce(context, delivery, ids.length > 0 && (() => userCreatedMessages(ids, context.events.eventGroupId)));
    return batch.single ? dtos[0] : dtos;
  }

  /**
   * Delivers a call's events (docs/behaviour.md): after the caller's transaction commits when there is
   * one, else now. `makeMessages` false means there is nothing to announce.
   */
  async #announce(context, delivery, makeMessages) {
    const deliverEvents = makeMessages
      ? () => deliver({ eventBus: this.#eventBus, ...context.events }, makeMessages)
      : undefined;
    if (delivery) delivery.done(deliverEvents);
    else if (deliverEvents) await deliverEvents();
  }

  /**
   * One lifecycle call (docs/behaviour.md) through the native `lifecycle` method. `events(result)`
   * returns the messages to announce (or false) once the call has succeeded.
   */
  async #lifecycle(method, encodeArgs, sharedContext, events) {
    const args = snapshot(`The input of ${method}`, encodeArgs);
    const context = snapshot("sharedContext", () => encodeContext(sharedContext));
    const transaction = joinTransaction(context.transactionManager, this);
    const delivery = events && transaction ? reserveDelivery(transaction) : undefined;
    const call = { context: context.wire, args };
    if (transaction) call.transaction = transaction.id;
    let result;
    try {
      result = unwrap(await this.#native.call("lifecycle", method, JSON.stringify(call)));
    } catch (error) {
      delivery?.failed();
      throw error;
    }
    if (events) {
      const messages = events(result, context.events.eventGroupId);
      await this.#announce(context, delivery, messages && messages.length > 0 && (() => messages));
    }
    return result;
  }

  /**
   * A read (retrieve, list, listAndCount of invites or users): the DTOs, `config.select`
   * applied; `[dtos, count]` when the native side counted.
   */
  async #find(method, key, value, config, sharedContext) {
    let select;
    const result = await this.#lifecycle(method, () => {
      select = selector(config);
      return { [key]: encodeQuery(value), config: encodeConfig(config) };
    }, sharedContext);
    const dtos = result.invites
      ? result.invites.map((invite) => select(storedInviteDto(invite)))
      : result.users.map((user) => select(userDto(user)));
    return result.count === undefined ? dtos : [dtos, result.count];
  }

  /**
   * Medusa's `validateInviteToken`: verifies the token (jwt_public_key ?? jwt_secret,
   * jwt_verify_options ?? jwt_options) and returns the live invite whose current token it is.
   */
  async validateInviteToken(token, sharedContext) {
    const invite = await this.#lifecycle("validateInviteToken", () => ({ token: encodeToken(token) }), sharedContext);
    return storedInviteDto(invite);
  }

  /** Medusa's `refreshInviteTokens`: new tokens and expiry; the old tokens stop validating. */
  async refreshInviteTokens(inviteIds, sharedContext) {
    const { invites } = await this.#lifecycle(
      "refreshInviteTokens",
      () => ({ ids: encodeIds(inviteIds) }),
      sharedContext,
      ({ invites }, eventGroupId) => {
        const ids = invites.map((invite) => invite.id);
        // Medusa labels this token_generated message with action "created" (docs/behaviour.md).
        return ids.length > 0 && inviteUpdatedMessages(ids, ids, "created", eventGroupId);
      },
    );
    return invites.map(storedInviteDto);
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
    const { invites } = await this.#lifecycle(
      "updateInvites",
      () => {
        single = !Array.isArray(data);
        return { items: single ? [encodeInviteUpdate(data)] : encodeList(data, encodeInviteUpdate) };
      },
      sharedContext,
      ({ invites, changed }, eventGroupId) => {
        if (invites.length === 0) return false;
        const updated = invites.filter((_, index) => changed[index]).map((invite) => invite.id);
        return inviteUpdatedMessages(updated, invites.map((invite) => invite.id), "token_generated", eventGroupId);
      },
    );
    const dtos = invites.map(storedInviteDto);
    return single ? dtos[0] : dtos;
  }

  /** Medusa's `deleteInvites`: removes the rows for good. */
  async deleteInvites(ids, sharedContext) {
    await this.#lifecycle("deleteInvites", () => ({ ids: encodeIds(ids) }), sharedContext, (result, eventGroupId) =>
      inviteDeletedMessages(result.ids, eventGroupId),
    );
  }

  /** Medusa's `softDeleteInvites`: `{ invite_id: [...] }`; the emails become free again. */
  async softDeleteInvites(ids, config, sharedContext) {
    const result = await this.#lifecycle("softDeleteInvites", () => ({ ids: encodeIds(ids) }), sharedContext, (result, eventGroupId) =>
      inviteDeletedMessages(result.ids, eventGroupId),
    );
    return linkable("invite_id", result.ids);
  }

  /** Medusa's `restoreInvites`: `{ invite_id: [...] }`; refused when a live invite now holds an email. */
  async restoreInvites(ids, config, sharedContext) {
    const result = await this.#lifecycle("restoreInvites", () => ({ ids: encodeIds(ids) }), sharedContext);
    return linkable("invite_id", result.ids);
  }

  /**
   * Accepts an invite (Medusa's accept workflow as one call): validates the token, then in one
   * transaction creates the user (the invite's email and roles, `first_name`/`last_name` from
   * `user`) and soft-deletes the invite. Resolves with the UserDTO.
   */
  async acceptInvite(token, user, sharedContext) {
    const result = await this.#lifecycle(
      "acceptInvite",
      () => ({ token: encodeToken(token), user: user === undefined || user === null ? null : encodeUser(user) }),
      sharedContext,
      (result, eventGroupId) => [
        ...userCreatedMessages([result.user.id], eventGroupId),
        ...inviteDeletedMessages([result.inviteId], eventGroupId),
        // What Medusa's accept workflow emits once it has run (InviteWorkflowEvents.ACCEPTED).
        inviteAcceptedMessage(result.inviteId, eventGroupId),
      ],
    );
    return userDto(result.user);
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
    const { users, changed } = await this.#lifecycle(
      "updateUsers",
      () => {
        single = !Array.isArray(data);
        return { items: single ? [encodeUserUpdate(data)] : encodeList(data, encodeUserUpdate) };
      },
      sharedContext,
      ({ users, changed }, eventGroupId) => userUpdatedMessages(users.filter((_, index) => changed[index]).map((user) => user.id), eventGroupId),
    );
    const dtos = users.map(userDto);
    return single ? dtos[0] : dtos;
  }

  /** Medusa's `deleteUsers`: removes the rows for good (soft-deleted ones too); `user.user.deleted` per row. */
  async deleteUsers(ids, sharedContext) {
    await this.#lifecycle("deleteUsers", () => ({ ids: encodeIds(ids) }), sharedContext, (result, eventGroupId) =>
      userDeletedMessages(result.ids, eventGroupId),
    );
  }

  /** Medusa's `softDeleteUsers`: `{ user_id: [...] }`, or `{}` when no live user matched; the emails become free again. */
  async softDeleteUsers(ids, config, sharedContext) {
    const result = await this.#lifecycle("softDeleteUsers", () => ({ ids: encodeIds(ids) }), sharedContext, (result, eventGroupId) =>
      userDeletedMessages(result.ids, eventGroupId),
    );
    return linkable("user_id", result.ids);
  }

  /** Medusa's `restoreUsers`: `{ user_id: [...] }` of every user found; refused when a live user now holds an email. No event, as Medusa. */
  async restoreUsers(ids, config, sharedContext) {
    const result = await this.#lifecycle("restoreUsers", () => ({ ids: encodeIds(ids) }), sharedContext);
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
