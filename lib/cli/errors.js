"use strict";
// The CLI's exit codes and the errors that carry them.

const EXIT = Object.freeze({
  /** Every row created (or skipped); the command did what was asked. */
  OK: 0,
  /** Some rows (or targets) failed; the others were done. */
  ROWS_FAILED: 1,
  /** A usage or configuration error: nothing was done. */
  USAGE: 2,
  /** The database is unreachable or failing. */
  DATABASE: 3,
});

/** A mistake on the command line or in the configuration (exit 2). */
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.exitCode = EXIT.USAGE;
  }
}

/** The store failed: unreachable, unwritable, or failing (exit 3). */
class DatabaseFailure extends Error {
  constructor(message) {
    super(message);
    this.exitCode = EXIT.DATABASE;
  }
}

/**
 * Errors about one row (Medusa's invalid_data: a bad email, an existing invite or user) as
 * opposed to errors about the run (the database, the configuration).
 */
function isRowError(error) {
  return error?.__isMedusaError === true && (error.type === "invalid_data" || error.type === "duplicate_error");
}

/** Medusa's "already exists" messages: a live invite, or a user, holds the email. */
function isAlreadyExists(error) {
  const message = String(error?.message ?? "");
  return (
    (message.startsWith("Invite with email: ") && message.endsWith(", already exists.")) ||
    message.startsWith("User account for following email(s) already exist: ")
  );
}

/**
 * An error that ends the run: the store failing (database_error, unexpected_state: exit 3), or
 * any other module error, which can only come from the configuration (exit 2).
 */
function asRunFailure(error) {
  if (error instanceof UsageError || error instanceof DatabaseFailure) return error;
  if (error?.__isMedusaError) {
    const message = `${error.type}: ${error.message}`;
    if (error.type === "database_error" || error.type === "unexpected_state") return new DatabaseFailure(message);
    return new UsageError(message);
  }
  return error;
}

module.exports = { EXIT, UsageError, DatabaseFailure, isRowError, isAlreadyExists, asRunFailure };
