"use strict";
// `medusa-invites/medusa`: this package as a Medusa module, in place of @medusajs/user.
//
//   // medusa-config.ts
//   modules: [{ resolve: "medusa-invites/medusa", options: { jwt_secret: process.env.JWT_SECRET } }]
//
// Medusa constructs the service as `new Service(container, options)`. The event bus and the
// logger come from the container; the database from `options.database` or else the app's own
// PostgreSQL settings. `medusa db:migrate` creates the tables (runMigrations below).
const { createRequire } = require("node:module");
const path = require("node:path");
const { UserModuleService } = require("../service");
const { InviteTransaction } = require("../transaction");
const { MedusaError } = require("../medusa-error");

/**
 * @medusajs/framework, the app's own copy first (Medusa resolves modules from the app's
 * folder, and one copy keeps its registries single), else the one next to this package.
 */
function loadFramework() {
  const fromApp = createRequire(path.join(process.cwd(), "package.json"));
  for (const load of [(name) => fromApp(name), (name) => require(name)]) {
    try {
      return load("@medusajs/framework/utils");
    } catch (error) {
      if (error?.code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  throw new MedusaError(
    MedusaError.Types.UNEXPECTED_STATE,
    "medusa-invites/medusa needs @medusajs/framework (a Medusa application has it); install it next to medusa-invites",
  );
}

const framework = loadFramework();
const { Module, Modules, model, ContainerRegistrationKeys } = framework;

// The user module's data models, as @medusajs/user@2.21.2 defines them: Medusa derives the
// module's joiner config (query.graph) and its linkable keys (defineLink) from them.
const User = model
  .define("user", {
    id: model.id({ prefix: "user" }).primaryKey(),
    first_name: model.text().searchable().nullable(),
    last_name: model.text().searchable().nullable(),
    email: model.text().searchable(),
    avatar_url: model.text().nullable(),
    metadata: model.json().nullable(),
  })
  .indexes([{ unique: true, on: ["email"], where: "deleted_at IS NULL" }]);

const Invite = model
  .define("invite", {
    id: model.id({ prefix: "invite" }).primaryKey(),
    email: model.text().searchable(),
    accepted: model.boolean().default(false),
    token: model.text(),
    expires_at: model.dateTime(),
    metadata: model.json().nullable(),
  })
  .indexes([
    { on: ["email"], unique: true, where: "deleted_at IS NULL" },
    { on: ["token"], where: "deleted_at IS NULL" },
  ]);

const PREFIX = "medusa-invites";

/** Resolves a container registration, or undefined when the container has none. */
function fromContainer(container, key) {
  try {
    return container?.[key] ?? undefined;
  } catch {
    return undefined;
  }
}

function isPostgresUrl(url) {
  return typeof url === "string" && /^postgres(ql)?:\/\//.test(url);
}

/** Medusa's `{ clientUrl, schema }` with an empty schema meaning the default one. */
function medusaDatabase(clientUrl, schema) {
  return typeof schema === "string" && schema !== "" ? { clientUrl, schema } : clientUrl;
}

/**
 * The module's database: `options.database` (a URL, or Medusa's `{ clientUrl, schema }`,
 * which is also what Medusa hands every internal module for the app's shared connection),
 * else the app's `projectConfig.databaseUrl`, else the app's shared PostgreSQL connection.
 * Never an embedded default: without any of them this throws.
 */
function resolveDatabase(options, container) {
  const given = options?.database;
  if (typeof given === "string" && given !== "") return given;
  if (given !== null && typeof given === "object" && !Array.isArray(given)) {
    if (typeof given.clientUrl === "string" && given.clientUrl !== "") return medusaDatabase(given.clientUrl, given.schema);
    if (given.clientUrl !== undefined && given.clientUrl !== null && given.clientUrl !== "") {
      throw new MedusaError(MedusaError.Types.INVALID_ARGUMENT, "database.clientUrl must be a postgres:// URL");
    }
  } else if (given !== undefined && given !== null && given !== "") {
    throw new MedusaError(
      MedusaError.Types.INVALID_ARGUMENT,
      "The database option is not a URL string or an object; use postgres://… or { clientUrl, schema }",
    );
  }
  const projectConfig = fromContainer(container, ContainerRegistrationKeys.CONFIG_MODULE)?.projectConfig;
  if (isPostgresUrl(projectConfig?.databaseUrl)) return medusaDatabase(projectConfig.databaseUrl, projectConfig.databaseSchema);
  const connection = fromContainer(container, ContainerRegistrationKeys.PG_CONNECTION)?.client?.config?.connection;
  const url = typeof connection === "string" ? connection : connection?.connectionString;
  if (isPostgresUrl(url)) return url;
  throw new MedusaError(
    MedusaError.Types.INVALID_ARGUMENT,
    "medusa-invites/medusa found no database: set the module's database option (postgres://… or { clientUrl, schema }) or the app's projectConfig.databaseUrl",
  );
}

/** The base service's options: the caller's, with the database resolved and the event bus attached. */
function serviceOptions(options, container) {
  const own = {};
  for (const [key, value] of Object.entries(options ?? {})) own[key] = value;
  own.database = resolveDatabase(options, container);
  const eventBus = fromContainer(container, Modules.EVENT_BUS);
  if (eventBus && typeof eventBus.emit === "function") own.eventBus = eventBus;
  else delete own.eventBus;
  // The app's logger hears of PostgreSQL retries (errors are logged by the wrapper below).
  const logger = fromContainer(container, ContainerRegistrationKeys.LOGGER);
  if (logger && typeof logger.warn === "function") own.logger = logger;
  else delete own.logger;
  return own;
}

/** One line for the app's logger: the error's type and message, which never carry a secret. */
function logOnce(logger, level, error) {
  try {
    const log = logger?.[level] ?? logger?.error;
    if (typeof log === "function") log.call(logger, `${PREFIX}: ${error.type ?? "error"}: ${error.message}`);
  } catch {
    // a broken logger must not hide the error itself
  }
}

/** Errors the app's logger hears about: bad input and options (warn), the database and internal faults (error). */
const LOG_LEVELS = {
  [MedusaError.Types.INVALID_DATA]: "warn",
  [MedusaError.Types.INVALID_ARGUMENT]: "warn",
  [MedusaError.Types.DB_ERROR]: "error",
  [MedusaError.Types.UNEXPECTED_STATE]: "error",
};

/** The app's logger of each service. */
const loggers = new WeakMap();

/** Errors already logged (a call made of other calls, like updateUsers' selector form, logs once). */
const reported = new WeakSet();

/** Each public method and the position of its `sharedContext` argument. */
const CONTEXT_POSITION = {
  createInvites: 1, createUsers: 1, updateInvites: 1, updateUsers: 1, validateInviteToken: 1,
  refreshInviteTokens: 1, deleteInvites: 1, deleteUsers: 1,
  retrieveInvite: 2, listInvites: 2, listAndCountInvites: 2, softDeleteInvites: 2, restoreInvites: 2,
  retrieveUser: 2, listUsers: 2, listAndCountUsers: 2, softDeleteUsers: 2, restoreUsers: 2,
  acceptInvite: 2,
};

/**
 * A Medusa context as this module can use it: a transaction of another module (Medusa's
 * MikroORM manager) cannot be joined, so it is left out; everything else passes through.
 */
function ownContext(context) {
  if (context === null || typeof context !== "object") return context;
  if (context.transactionManager === undefined || context.transactionManager instanceof InviteTransaction) return context;
  const { transactionManager, manager, ...rest } = context;
  return rest;
}

/** The user module's service in Medusa's shape: `new MedusaUserModuleService(container, options)`. */
class MedusaUserModuleService extends UserModuleService {
  constructor(container, options) {
    const logger = fromContainer(container, ContainerRegistrationKeys.LOGGER);
    try {
      super(serviceOptions(options, container));
    } catch (error) {
      if (MedusaError.isMedusaError(error)) logOnce(logger, "error", error);
      throw error;
    }
    loggers.set(this, logger);
    // Medusa calls these on application shutdown: the pool closes, its connections end.
    this.__hooks = {
      onApplicationPrepareShutdown: async () => {},
      onApplicationShutdown: async () => {
        await this.close();
      },
    };
  }
}

/** Logs a MedusaError on the service's logger (once, however many calls it passes through), then rethrows it. */
function report(service, error) {
  if (MedusaError.isMedusaError(error) && LOG_LEVELS[error.type] && !reported.has(error)) {
    reported.add(error);
    logOnce(loggers.get(service), LOG_LEVELS[error.type], error);
  }
  throw error;
}

for (const [method, position] of Object.entries(CONTEXT_POSITION)) {
  const base = UserModuleService.prototype[method];
  Object.defineProperty(MedusaUserModuleService.prototype, method, {
    configurable: true,
    writable: true,
    value: {
      async [method](...args) {
        if (args.length > position) args[position] = ownContext(args[position]);
        try {
          return await base.apply(this, args);
        } catch (error) {
          return report(this, error);
        }
      },
    }[method],
  });
}

// Medusa's Module() derives the joiner config and the linkable keys from the models, as it
// does for @medusajs/user (MedusaService records them under this symbol).
MedusaUserModuleService[Symbol.for("MedusaServiceModelObjectsSymbol")] = { User, Invite };

const definition = Module(Modules.USER, { service: MedusaUserModuleService });

/**
 * Medusa's module migration (`medusa db:migrate`): creates what is missing of the `invite`
 * and `user` tables (exactly as @medusajs/user's migrations make them) and this module's own
 * tables; running it again changes nothing. Resolves with the steps that ran, as Medusa's
 * migrator does.
 */
async function runMigrations({ options, container, logger } = {}) {
  let service;
  try {
    service = new UserModuleService({ ...serviceOptions(options, container), eventBus: undefined });
    await service.listInvites({}, { take: 1, select: ["id"] });
  } catch (error) {
    if (MedusaError.isMedusaError(error)) logOnce(logger ?? fromContainer(container, ContainerRegistrationKeys.LOGGER), "error", error);
    throw error;
  } finally {
    await service?.close();
  }
  return [];
}

/** Reverting keeps the tables: they hold the app's users and invites, as Medusa's own tables do. */
async function revertMigration() {}

module.exports = {
  ...definition,
  default: { ...definition, runMigrations, revertMigration },
  runMigrations,
  revertMigration,
  MedusaUserModuleService,
  resolveDatabase,
  __esModule: true,
};
