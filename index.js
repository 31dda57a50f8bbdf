"use strict";
// medusa-invites: Medusa's createInvites as a native addon.
// Two doors, one implementation: `new UserModuleService(options)` and the top-level
// `createInvites`, which uses a default module configured from the environment (docs/options.md).
const { UserModuleService } = require("./lib/service");
const { InviteTransaction } = require("./lib/transaction");
const { MedusaError } = require("./lib/medusa-error");

/** Where the default module keeps its data when MEDUSA_INVITES_DATABASE_URL is not set. */
const DEFAULT_DATABASE = "sqlite:.medusa-invites/invites.sqlite";

let defaultModule;

/** Options of the default module: JWT_SECRET and MEDUSA_INVITES_DATABASE_URL. */
function optionsFromEnvironment(env = process.env) {
  return { jwt_secret: env.JWT_SECRET, database: env.MEDUSA_INVITES_DATABASE_URL || DEFAULT_DATABASE };
}

/** Replaces the environment as the default module's configuration. Returns the new module. */
function configure(options) {
  const previous = defaultModule;
  defaultModule = new UserModuleService(options);
  previous?.close().catch(() => {});
  return defaultModule;
}

function getDefaultModule() {
  defaultModule ??= new UserModuleService(optionsFromEnvironment());
  return defaultModule;
}

/** `createInvites(data, sharedContext?)` on the default module. */
async function createInvites(data, sharedContext) {
  return getDefaultModule().createInvites(data, sharedContext);
}

module.exports = {
  createInvites,
  configure,
  getDefaultModule,
  optionsFromEnvironment,
  UserModuleService,
  InviteTransaction,
  MedusaError,
  DEFAULT_DATABASE,
};
