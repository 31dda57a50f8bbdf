"use strict";
// Typed snapshots of caller values for the native side (see src/wire.rs). Each input field
// is read exactly once, here; JSON cannot carry undefined, Dates, BigInts and the like, so
// those travel as tags and the Rust validation names their type in its messages.
const { isDate } = require("node:util").types;

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

/**
 * Filters and find config (list/retrieve): plain JSON all the way down, Dates as
 * `{ $date: ms }`, anything JSON cannot hold as a type tag. Deeper than `depth` is cut.
 */
function encodeQuery(value, depth = 0) {
  // An absent argument (`listInvites()`) is no filter at all.
  if (value === undefined || value === null) return null;
  if (depth > 32) return { $t: "object" };
  if (typeof value === "object" && value !== null && !isDate(value)) {
    if (Array.isArray(value)) return value.map((item) => encodeQuery(item, depth + 1));
    const out = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item !== undefined) out[key] = encodeQuery(item, depth + 1);
    }
    return out;
  }
  return encode(value, false);
}

/** A token argument as jsonwebtoken sees it: a string, a falsy value (`null`), or a type tag. */
function encodeToken(token) {
  if (typeof token === "string") return encode(token, false);
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
 * `sharedContext` (spec §6): `wire` goes to the native side; `eventGroupId`,
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
    if (value !== undefined) wire[field] = encode(value, false);
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
  encodeToken,
  encodeContext,
  typeName,
};
