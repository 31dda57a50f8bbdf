"use strict";
// Command-line parsing (node's util.parseArgs) and the help of each command.
const { parseArgs } = require("node:util");
const { UsageError } = require("./errors");

const CONNECTION = {
  database: { type: "string" },
  "medusa-config": { type: "string" },
};
const COMMON = { help: { type: "boolean", short: "h" }, ...CONNECTION };

const CONNECTION_HELP = `Configuration:
  --database URL          postgres://user:pass@host:5432/db, sqlite:<path> (default: the
                          environment's MEDUSA_INVITES_DATABASE_URL, else the Medusa app's
                          config, else the demo store sqlite:.medusa-invites/invites.sqlite)
  --medusa-config FILE    read projectConfig.databaseUrl and the user module's jwt_secret from
                          a Medusa app's config (medusa-config.ts/js in the working directory
                          is read when nothing else names the database or the secret)
  JWT_SECRET              the secret invites are signed with (the Medusa app's); required for
                          any store but the demo one`;

const COMMANDS = {
  invite: {
    options: {
      ...COMMON,
      file: { type: "string", short: "f" },
      "format-in": { type: "string" },
      format: { type: "string" },
      "invite-url": { type: "string" },
      "skip-existing": { type: "boolean" },
      "dry-run": { type: "boolean" },
      "all-or-nothing": { type: "boolean" },
      "chunk-size": { type: "string" },
    },
    help: `Usage: medusa-invites invite [EMAIL...] [--file PATH | -] [options]

Creates invites and prints one result per input row: row, email, status (created, skipped,
failed), reason, id, token (and url with --invite-url).

Input:
  EMAIL...                emails as arguments
  --file PATH, -f PATH    a file; "-" (or a lone "-" argument) reads stdin
  --format-in FORMAT      csv, ndjson or lines (default: from the file name, else the first line).
                          CSV: a header with email, and optional roles (a ;-separated list or a
                          JSON array) and metadata (JSON). NDJSON: {"email", "roles", "metadata"}
                          objects or email strings. lines: one email per line.
Output:
  --format FORMAT         ndjson, csv, json or table (default: table on a terminal, else ndjson;
                          the table leaves tokens out)
  --invite-url TEMPLATE   adds each invite's link, e.g. 'https://admin.example.com/app/invite?token={token}'
Behaviour:
  --skip-existing         an email that a live invite or a user already holds is "skipped", not
                          "failed" (a skipped invite shows its id and current token). Re-run a
                          file after a crash or Ctrl-C with this flag: nothing is created twice.
  --dry-run               validates every row against the store and writes nothing
  --all-or-nothing        one transaction: every row is created, or none
  --chunk-size N          rows per createInvites call (default 2000)

Exit codes: 0 every row created or skipped; 1 some rows failed; 2 usage or configuration
error; 3 database unreachable or failing.

${CONNECTION_HELP}`,
  },
  list: {
    options: {
      ...COMMON,
      pending: { type: "boolean" },
      accepted: { type: "boolean" },
      expired: { type: "boolean" },
      email: { type: "string", multiple: true },
      format: { type: "string" },
      "invite-url": { type: "string" },
      limit: { type: "string" },
    },
    help: `Usage: medusa-invites list [--pending] [--accepted] [--expired] [--email EMAIL] [options]

Lists invites, oldest id first: id, email, status (pending, accepted, expired), expires_at,
created_at, roles, metadata, token (and url with --invite-url).

  --pending               not accepted and not expired
  --accepted              accepted (accepted invites are soft-deleted; they are listed anyway)
  --expired               not accepted and past expires_at
                          (several of these flags: any of them; none: every live invite)
  --email EMAIL           only this email (repeatable)
  --limit N               at most N invites
  --format FORMAT         ndjson, csv, json or table (default: table on a terminal, else ndjson)
  --invite-url TEMPLATE   adds each invite's link ({token} is replaced)

${CONNECTION_HELP.replace(/ {2}JWT_SECRET[\s\S]*$/, "  (list needs no JWT_SECRET: nothing is signed)")}`,
  },
  resend: {
    options: { ...COMMON, format: { type: "string" }, "invite-url": { type: "string" } },
    help: `Usage: medusa-invites resend ID|EMAIL... [options]

Gives each invite a new token and expiry (the old links stop working) and prints the new
ones: target, status (resent, failed), reason, id, email, expires_at, token (and url).

  --format FORMAT         ndjson, csv, json or table
  --invite-url TEMPLATE   adds each invite's new link ({token} is replaced)

Exit codes: 0 all resent; 1 some targets failed (no live invite); 2 usage; 3 database.

${CONNECTION_HELP}`,
  },
  revoke: {
    options: { ...COMMON, format: { type: "string" } },
    help: `Usage: medusa-invites revoke ID|EMAIL... [options]

Revokes invites (soft delete: their links stop working and the emails can be invited again).
Prints target, status (revoked, failed), reason, id, email.

  --format FORMAT         ndjson, csv, json or table

Exit codes: 0 all revoked; 1 some targets failed (no live invite); 2 usage; 3 database.

${CONNECTION_HELP.replace(/ {2}JWT_SECRET[\s\S]*$/, "  (revoke needs no JWT_SECRET: nothing is signed)")}`,
  },
  validate: {
    options: { ...COMMON, format: { type: "string" } },
    help: `Usage: medusa-invites validate TOKEN [options]

Checks an invite token as the Medusa app would (signature, expiry, the invite still live and
the token its current one) and prints the invite: status valid, id, email, expires_at.

  --format FORMAT         ndjson, csv, json or table

Exit codes: 0 valid; 1 invalid (the reason is printed); 2 usage; 3 database.

${CONNECTION_HELP}`,
  },
};

const MAIN_HELP = `Usage: medusa-invites COMMAND [options]

Commands:
  invite [EMAIL...] [--file PATH | -]   create invites, one result per row (CSV, NDJSON, lines)
  list                                  list invites (--pending, --accepted, --expired, --email)
  resend ID|EMAIL...                    new tokens and links for invites
  revoke ID|EMAIL...                    revoke invites (soft delete)
  validate TOKEN                        check an invite token

  medusa-invites EMAIL...               short for: medusa-invites invite EMAIL...
  medusa-invites COMMAND --help         the options of a command
  medusa-invites --version

Examples:
  JWT_SECRET=... medusa-invites invite --file staff.csv --invite-url 'https://admin.example.com/app/invite?token={token}'
  cut -d, -f1 emails.txt | medusa-invites invite - --skip-existing --format csv > results.csv
  medusa-invites list --pending --format table`;

/**
 * `{ command, flags, positionals }`, or `{ help }` / `{ version }`. `medusa-invites EMAIL...`
 * (a first argument with an @) is the invite command.
 */
function parseCommandLine(argv) {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    if (first === "help" && rest[0] && COMMANDS[rest[0]]) return { help: COMMANDS[rest[0]].help };
    return { help: MAIN_HELP, usageError: first === undefined };
  }
  if (first === "--version" || first === "-v" || first === "-V") return { version: true };
  let command = first;
  let args = rest;
  if (!COMMANDS[first]) {
    if (first.includes("@") && !first.startsWith("-")) {
      command = "invite";
      args = argv;
    } else throw new UsageError(`unknown command ${JSON.stringify(first)}; see medusa-invites --help`);
  }
  const spec = COMMANDS[command];
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${error.message.replace(/\. To specify a positional argument.*$/s, "")}; see medusa-invites ${command} --help`);
  }
  if (parsed.values.help) return { help: spec.help };
  return { command, flags: parsed.values, positionals: parsed.positionals };
}

/** A positive integer option, or its default. */
function positiveInteger(flags, name, fallback) {
  const text = flags[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer; got ${JSON.stringify(text)}`);
  return value;
}

module.exports = { parseCommandLine, positiveInteger, COMMANDS, MAIN_HELP };
