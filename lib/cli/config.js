"use strict";
// Where the CLI writes and what it signs with. Precedence: flags, then the environment, then
// the Medusa app's config (--medusa-config, or medusa-config.{ts,js} found in the working
// directory), then the demo store. Only the demo store may use an example secret.
const crypto = require("node:crypto");
const { DEFAULT_DATABASE } = require("../..");
const { UsageError } = require("./errors");
const { maskUrl } = require("./mask");
const { detectMedusaConfig, readMedusaConfig } = require("./medusa-config");

/** The secret of the demo store: public, so never used for anything else. */
const EXAMPLE_SECRET = "medusa-invites-example-secret";
/** Secrets that are public knowledge: ours, and Medusa's development default. */
const EXAMPLE_SECRETS = new Set([EXAMPLE_SECRET, "supersecret"]);

/** `sqlite:<path>` / `postgres://…` / `{ clientUrl, schema }` as text for messages, password masked. */
function describeDatabase(database) {
  if (database && typeof database === "object") return `${maskUrl(database.clientUrl)} (schema ${database.schema})`;
  return maskUrl(database);
}

/**
 * The module options and what to tell the user about them.
 * `needs`: "sign" (invite, resend), "verify" (validate) or "none" (list, revoke: nothing is
 * signed or verified, so a secret is not asked for).
 */
function resolveConfig({ flags, env = process.env, cwd = process.cwd(), needs }) {
  const notes = [];
  let medusa;
  const medusaConfig = () => {
    if (medusa !== undefined) return medusa;
    const file = flags["medusa-config"] ?? detectMedusaConfig(cwd);
    medusa = file ? readMedusaConfig(file) : null;
    return medusa;
  };
  if (flags["medusa-config"]) medusaConfig();

  let database;
  let demo = false;
  if (flags.database) database = flags.database;
  else if (env.MEDUSA_INVITES_DATABASE_URL) database = env.MEDUSA_INVITES_DATABASE_URL;
  else if (medusaConfig()?.databaseUrl) {
    const { databaseUrl, databaseSchema } = medusaConfig();
    database = databaseSchema ? { clientUrl: databaseUrl, schema: databaseSchema } : databaseUrl;
  } else {
    database = DEFAULT_DATABASE;
    demo = true;
  }

  const userOptions = medusa?.userOptions ?? (env.JWT_SECRET ? {} : medusaConfig()?.userOptions ?? {});
  const options = { database };
  for (const key of ["jwt_options", "jwt_verify_options", "jwt_public_key", "valid_duration"]) {
    if (userOptions[key] !== undefined && userOptions[key] !== null) options[key] = userOptions[key];
  }
  let secret = env.JWT_SECRET || (typeof userOptions.jwt_secret === "string" ? userOptions.jwt_secret : undefined);

  if (needs === "none") {
    // Nothing is signed or verified: any secret will do, and a random one can never sign a usable token.
    options.jwt_secret = secret || crypto.randomBytes(32).toString("hex");
  } else if (!secret) {
    if (!demo) {
      throw new UsageError(
        `JWT_SECRET is not set: refusing to ${needs === "sign" ? "sign invites" : "verify tokens"} for ${describeDatabase(database)} ` +
          "with an example secret. Set JWT_SECRET to the secret of your Medusa app (or use --medusa-config).",
      );
    }
    secret = EXAMPLE_SECRET;
    notes.push("JWT_SECRET is not set: using the public example secret, for the demo store only");
  } else if (EXAMPLE_SECRETS.has(secret) && !demo) {
    throw new UsageError(
      `JWT_SECRET is a public example secret: refusing to use it for ${describeDatabase(database)}. ` +
        "Set JWT_SECRET to the secret of your Medusa app.",
    );
  }
  if (needs !== "none") options.jwt_secret = secret;
  return { options, demo, notes, databaseText: describeDatabase(database), databaseUrl: typeof database === "object" ? database.clientUrl : database };
}

module.exports = { resolveConfig, describeDatabase, EXAMPLE_SECRET };
