"use strict";
// Reads a Medusa app's medusa-config.{ts,js}: the database URL and the user module's options,
// the way the app itself would see them.
const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
const { UsageError } = require("./errors");

const CANDIDATES = ["medusa-config.ts", "medusa-config.js", "medusa-config.cjs", "medusa-config.mts", "medusa-config.mjs"];

/** The medusa-config file in `dir`, if there is one. */
function detectMedusaConfig(dir) {
  for (const name of CANDIDATES) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

/**
 * Loads a TypeScript file with what the project has: tsx's API, ts-node, or Node's own type
 * stripping. Each is resolved from the config's directory, as Medusa's CLI resolves its tools.
 */
function requireTypeScript(file) {
  const projectRequire = createRequire(file);
  let tsx;
  try {
    tsx = projectRequire("tsx/cjs/api");
  } catch {
    tsx = undefined;
  }
  if (tsx) return tsx.require(file, __filename);
  let tsNode;
  try {
    tsNode = projectRequire("ts-node");
  } catch {
    tsNode = undefined;
  }
  if (tsNode) {
    tsNode.register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    return require(file);
  }
  if (process.features?.typescript) return require(file);
  throw new UsageError(
    `cannot load ${path.basename(file)}: a TypeScript config needs tsx or ts-node installed in the project ` +
      "(npm install --save-dev tsx), or give --database and JWT_SECRET instead",
  );
}

function loadModule(file) {
  const ext = path.extname(file);
  try {
    if (ext === ".ts" || ext === ".mts" || ext === ".cts") return requireTypeScript(file);
    if (ext === ".mjs") throw new UsageError(`cannot load ${path.basename(file)}: an ES module config is not supported; use medusa-config.ts or .js`);
    return require(file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot load ${path.basename(file)}: ${error?.message ?? error}`);
  }
}

const USER_MODULE = /(^|\/)user$/;

/** The user module's entry in `modules` (array or object form, as defineConfig writes both). */
function userModuleOf(config) {
  const modules = config?.modules;
  if (!modules || typeof modules !== "object") return undefined;
  const entries = Array.isArray(modules) ? modules.map((entry) => [undefined, entry]) : Object.entries(modules);
  for (const [key, entry] of entries) {
    if (!entry || typeof entry !== "object") continue;
    if (key === "user" || entry.key === "user" || (typeof entry.resolve === "string" && USER_MODULE.test(entry.resolve))) return entry;
  }
  return undefined;
}

/**
 * `{ file, databaseUrl, databaseSchema, userOptions }` from a Medusa config file. The user
 * module's options fall back to `projectConfig.http` (jwtSecret, jwtOptions, …), as Medusa's
 * defineConfig wires them.
 */
function readMedusaConfig(file) {
  const absolute = path.resolve(file);
  if (!fs.existsSync(absolute)) throw new UsageError(`--medusa-config: no such file: ${file}`);
  const loaded = loadModule(absolute);
  const config = loaded?.default ?? loaded;
  if (!config || typeof config !== "object") throw new UsageError(`${path.basename(file)} does not export a configuration object`);
  const project = config.projectConfig ?? {};
  const http = project.http ?? {};
  const userOptions = { ...(userModuleOf(config)?.options ?? {}) };
  userOptions.jwt_secret ??= http.jwtSecret;
  userOptions.jwt_options ??= http.jwtOptions;
  userOptions.jwt_verify_options ??= http.jwtVerifyOptions;
  userOptions.jwt_public_key ??= http.jwtPublicKey;
  return {
    file: absolute,
    databaseUrl: typeof project.databaseUrl === "string" && project.databaseUrl ? project.databaseUrl : undefined,
    databaseSchema: typeof project.databaseSchema === "string" && project.databaseSchema ? project.databaseSchema : undefined,
    userOptions,
  };
}

module.exports = { detectMedusaConfig, readMedusaConfig };
