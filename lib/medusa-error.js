"use strict";
// Medusa's MedusaError (@medusajs/utils), reproduced so errors look the same to callers:
// own properties __isMedusaError, type, code, message, date (docs/errors.md).

const Types = Object.freeze({
  DB_ERROR: "database_error",
  DUPLICATE_ERROR: "duplicate_error",
  INVALID_ARGUMENT: "invalid_argument",
  INVALID_DATA: "invalid_data",
  UNAUTHORIZED: "unauthorized",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  NOT_ALLOWED: "not_allowed",
  UNEXPECTED_STATE: "unexpected_state",
  CONFLICT: "conflict",
  UNKNOWN_MODULES: "unknown_modules",
  PAYMENT_AUTHORIZATION_ERROR: "payment_authorization_error",
  PAYMENT_REQUIRES_MORE_ERROR: "payment_requires_more_error",
});

const Codes = Object.freeze({
  INSUFFICIENT_INVENTORY: "insufficient_inventory",
  CART_INCOMPATIBLE_STATE: "cart_incompatible_state",
  UNKNOWN_MODULES: "unknown_modules",
});

class MedusaError extends Error {
  constructor(type, message, code, ...params) {
    super(...params);
    this.__isMedusaError = true;
    if (Error.captureStackTrace) Error.captureStackTrace(this, MedusaError);
    this.type = type;
    this.code = code;
    this.message = message;
    this.date = new Date();
  }

  static isMedusaError(error) {
    return !!error?.__isMedusaError;
  }
}
MedusaError.Types = Types;
MedusaError.Codes = Codes;

/** The error JSON of the native side (`{type, message, index?}`) as a MedusaError. */
function fromNative({ type, message, index }, { withIndex = true } = {}) {
  const error = new MedusaError(type, message);
  if (withIndex && index !== undefined) error.index = index;
  return error;
}

/** Errors the native side reports by throwing (only the constructor does). */
function fromNativeThrow(thrown) {
  try {
    return fromNative(JSON.parse(thrown.message));
  } catch {
    return new MedusaError(Types.UNEXPECTED_STATE, "medusa-invites: the native module failed unexpectedly");
  }
}

module.exports = { MedusaError, fromNative, fromNativeThrow };
