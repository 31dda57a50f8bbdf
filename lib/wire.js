"use strict";
// Typed snapshots of caller values for the native side (see src/wire.rs). Each input field
// is read exactly once, here; JSON cannot carry undefined, Dates, BigInts and the like, so
// those travel as tags and the Rust validation names their type in its messages.
const { isDate } = require("node:util").types;
const { MedusaError } = require("./medusa-error");

/** The type name used in error messages. */
function typeName(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (isDate(value)) return "date";
  return typeof value;
}

/** One value. `asJson`: an object is sent as its JSON.stringify text (metadata). */
function encode(value, asJson) {
  switch (typeof value) {
    case "string":
      // A lone surrogate cannot cross into Rust (UTF-8); name it instead.
      return value.isWellFormed() ? value : { $t: "ill-formed string" };
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : { $t: "number" };
    case "object": {
      if (value === null) return null;
      if (isDate(value)) {
        const millis = value.getTime();
        return { $date: Number.isNaN(millis) ? null : millis };
      }
      if (Array.isArray(value)) {
        checkLength(value.length);
        const items = new Array(value.length);
        // Elements are sent one level deep: a nested array is only named, never walked.
        for (let i = 0; i < value.length; i++) {
          items[i] = Array.isArray(value[i]) ? { $t: "array" } : encode(value[i], false);
        }
        return { $array: items };
      }
      if (!asJson) return { $t: "object" };
      return objectJson(value);
    }
    default:
      return { $t: typeof value };
  }
}

/** Items in one array argument (a batch, a list of ids), at most. */
const MAX_ARRAY_ITEMS = 1_000_000;

/** Refuses an array too long to read (a sparse array can claim 2^32 - 1 items). */
function checkLength(length) {
  if (length > MAX_ARRAY_ITEMS) refuse(`An array of ${length} items is longer than the ${MAX_ARRAY_ITEMS} one call accepts`);
}

/** What JSON.stringify stores for an object, or why it cannot. */
function objectJson(value) {
  let json;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    const reason = error instanceof RangeError ? "it is nested too deeply" : String(error?.message ?? error);
    return { $unserializable: reason };
  }
  if (typeof json !== "string" || json[0] !== "{") {
    return { $unserializable: "it does not serialize to a JSON object" };
  }
  return { $json: json };
}

/** An input item: an object of its known fields (undefined ones left out), or a type tag. */
function encodeItem(item, fields, jsonFields) {
  if (item === null || typeof item !== "object" || Array.isArray(item) || isDate(item)) {
    return { $t: typeName(item) };
  }
  const out = {};
  for (const field of fields) {
    const value = item[field];
    if (value !== undefined) out[field] = encode(value, jsonFields.includes(field));
  }
  return out;
}

/** `$and`/`$or` nest at most this deep (the native side refuses deeper filters the same way). */
const MAX_FILTER_DEPTH = 16;
/**
 * Keys read from one filter object. No entity has this many filterable fields, nor a field
 * this many operators, so an object with more holds an unknown key among its first ones:
 * reading stops there and the native side names the first unknown key, as it would have.
 */
const MAX_KEYS_PER_OBJECT = 64;
/** Keys and values in one filter or find config, at most. */
const MAX_QUERY_VALUES = 100_000;

/** Errors this module raised about the input (service.js passes them on as they are). */
const refusals = new WeakSet();

function refuse(message) {
  const error = new MedusaError(MedusaError.Types.INVALID_DATA, message);
  refusals.add(error);
  throw error;
}

const isRefusal = (error) => refusals.has(error);

/**
 * Filters or a find config (list/retrieve), `what` naming it in messages: plain JSON all the
 * way down, Dates as `{ $date: ms }`, anything JSON cannot hold as a type tag. Read as it is
 * walked, and refused at the first sign of trouble, so that a huge or hostile object costs
 * little time on the event loop (the engine still lists an object's keys once).
 */
function encodeQuery(value, what = "filters") {
  // An absent argument (`listInvites()`) is no filter at all.
  if (value === undefined || value === null) return null;
  const budget = { values: 0 };
  return encodeQueryValue(value, { what, budget, depth: 0, level: 0, ancestors: new Set() });
}

/** Refuses a query whose keys and values so far, and `more` to come, pass the budget. */
function checkBudget(state, more) {
  if (state.budget.values + more > MAX_QUERY_VALUES) {
    refuse(`The ${state.what} are too large: at most ${MAX_QUERY_VALUES} keys and values`);
  }
}

/** One value of a query (see `encodeQuery`), counted against the budget as it is read. */
function encodeQueryValue(value, state) {
  checkBudget(state, 1);
  state.budget.values += 1;
  if (typeof value !== "object" || value === null || isDate(value)) return encode(value, false);
  // Anything this deep is not a filter (the $and/$or limit comes first); only its type is sent.
  if (state.depth > 2 * MAX_FILTER_DEPTH + 8) return { $t: typeName(value) };
  if (state.ancestors.has(value)) refuse(`The ${state.what} contain a cycle (an object that contains itself)`);
  state.ancestors.add(value);
  try {
    return Array.isArray(value) ? encodeQueryArray(value, state) : encodeQueryObject(value, state);
  } finally {
    state.ancestors.delete(value);
  }
}

function encodeQueryArray(value, state) {
  const inner = { ...state, depth: state.depth + 1 };
  const length = value.length;
  // Refused before it is walked: a sparse array can claim billions of items.
  checkBudget(state, length);
  const items = new Array(length);
  for (let i = 0; i < length; i++) items[i] = encodeQueryValue(value[i], inner);
  return items;
}

function encodeQueryObject(value, state) {
  const inner = { ...state, depth: state.depth + 1 };
  // No prototype: a `__proto__` key is a key like any other (and is refused as unknown).
  const out = Object.create(null);
  let keys = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!key.isWellFormed()) refuse(`The ${state.what} have a key with an unpaired UTF-16 surrogate`);
    const item = value[key];
    if (item === undefined) continue;
    const nested = key === "$and" || key === "$or";
    if (nested && state.level >= MAX_FILTER_DEPTH) refuse(FILTERS_TOO_DEEP);
    out[key] = encodeQueryValue(item, nested ? { ...inner, level: state.level + 1 } : inner);
    if (++keys > MAX_KEYS_PER_OBJECT) break;
  }
  return out;
}

const FILTERS_TOO_DEEP = `The filters are nested too deeply: at most ${MAX_FILTER_DEPTH} levels of $and and $or`;

/** Medusa's find config: only the fields the native side reads (`select` stays in JS). */
function encodeConfig(config) {
  if (config === undefined || config === null) return null;
  if (typeof config !== "object") return encode(config, false);
  // Not a config: only its type is sent (an array is not walked).
  if (Array.isArray(config) || isDate(config)) return { $t: typeName(config) };
  const out = {};
  for (const field of ["skip", "take", "order", "withDeleted"]) {
    const value = config[field];
    if (value !== undefined) out[field] = encodeQuery(value, "find config");
  }
  return out;
}

/** A token argument as jsonwebtoken sees it: a string, a falsy value (`null`), or a type tag. */
/** A string argument (a token, an isolation level): itself, or named when JSON cannot carry it. */
function encodeText(text) {
  return encode(text, false);
}

function encodeToken(token) {
  if (typeof token === "string") return encodeText(token);
  return token ? { $t: typeName(token) } : null;
}

const INVITE_FIELDS = ["email", "accepted", "metadata", "roles", "id", "created_at", "updated_at", "deleted_at"];
const INVITE_UPDATE_FIELDS = ["id", "email", "accepted", "metadata", "roles", "expires_at"];
const USER_FIELDS = ["email", "first_name", "last_name", "avatar_url", "metadata", "id"];
const USER_UPDATE_FIELDS = ["id", "email", "first_name", "last_name", "avatar_url", "metadata"];
const JSON_FIELDS = ["metadata"];

const encodeInvite = (item) => encodeItem(item, INVITE_FIELDS, JSON_FIELDS);
const encodeUser = (item) => encodeItem(item, USER_FIELDS, JSON_FIELDS);
const encodeInviteUpdate = (item) => encodeItem(item, INVITE_UPDATE_FIELDS, JSON_FIELDS);
const encodeUserUpdate = (item) => encodeItem(item, USER_UPDATE_FIELDS, JSON_FIELDS);
/** An id or an array of ids. */
const encodeIds = (ids) => encode(ids, false);

// transactionManager is not among them: it is a handle that stays in JS (service.js).
const CONTEXT_FIELDS = [
  "manager", "isolationLevel", "enableNestedTransactions", "eventGroupId",
  "transactionId", "runId", "requestId", "idempotencyKey", "parentStepIdempotencyKey",
  "preventReleaseEvents", "isCancelling", "cancelingFromParentStep",
];

function isAggregator(value) {
  return value !== null && typeof value === "object" &&
    typeof value.save === "function" && typeof value.getMessages === "function" &&
    typeof value.clearMessages === "function";
}

/**
 * `sharedContext` (docs/behaviour.md): `wire` goes to the native side; `eventGroupId`,
 * `messageAggregator` and `preventReleaseEvents` stay here for event delivery, and so does
 * `transactionManager`. The caller's object is only read, never written.
 */
function encodeContext(context) {
  if (context === undefined || context === null) return { wire: null, events: {}, transactionManager: undefined };
  if (typeof context !== "object" || Array.isArray(context) || isDate(context)) {
    return { wire: { $t: typeName(context) }, events: {}, transactionManager: undefined };
  }
  const wire = {};
  for (const field of CONTEXT_FIELDS) {
    const value = context[field];
    // No context field is an array: one is named by its type, never walked.
    if (value !== undefined) wire[field] = Array.isArray(value) ? { $t: "array" } : encode(value, false);
  }
  const messageAggregator = context.messageAggregator;
  if (messageAggregator !== undefined && messageAggregator !== null) {
    wire.messageAggregator = isAggregator(messageAggregator) ? { $t: "aggregator" } : encode(messageAggregator, false);
  }
  const transactionManager = context.transactionManager;
  return {
    wire,
    transactionManager: transactionManager === null ? undefined : transactionManager,
    events: {
      // Medusa adds eventGroupId only when it is truthy (composeMessage in @medusajs/utils).
      eventGroupId: typeof wire.eventGroupId === "string" && wire.eventGroupId !== "" ? wire.eventGroupId : undefined,
      messageAggregator: isAggregator(messageAggregator) ? messageAggregator : undefined,
      preventReleaseEvents: wire.preventReleaseEvents === true,
    },
  };
}

module.exports = {
  encodeInvite,
  encodeUser,
  encodeInviteUpdate,
  encodeUserUpdate,
  encodeIds,
  encodeQuery,
  encodeConfig,
  isRefusal,
  checkLength,
  encodeToken,
  encodeText,
  encodeContext,
  typeName,
};
