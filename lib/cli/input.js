"use strict";
// Input readers: emails from arguments, or a file / stdin as CSV, NDJSON or lines, streamed.
// Each yields records `{ row, email, roles, metadata }`, or `{ row, email, error }` for a row
// that cannot be read (bad JSON, a missing email); `row` is 1-based among the data rows.
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { PassThrough, Transform } = require("node:stream");
const { parse } = require("csv-parse");
const { UsageError } = require("./errors");

const FORMATS = ["csv", "ndjson", "lines"];

/** An input source: a stream, its size when known (for the progress bar), and its name. */
function openSource(file, stdin = process.stdin) {
  if (file === "-") return { stream: stdin, size: undefined, name: "stdin" };
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`cannot read ${file}: no such file`);
  }
  if (!stat.isFile()) throw new UsageError(`cannot read ${file}: not a file`);
  return { stream: fs.createReadStream(file, { highWaterMark: 256 * 1024 }), size: stat.size, name: file };
}

/** `--format-in` from the file name, else from the first line (`{`/`"` → ndjson, an `email` header → csv). */
function formatFromName(file) {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".ndjson" || ext === ".jsonl") return "ndjson";
  if (ext === ".txt") return "lines";
  return undefined;
}

function formatFromFirstLine(line) {
  const trimmed = line.replace(/^\uFEFF/, "").trim();
  if (trimmed.startsWith("{") || trimmed.startsWith('"')) {
    if (/^"?email"?\s*[,;]/i.test(trimmed) || /^"email"$/i.test(trimmed)) return "csv";
    return "ndjson";
  }
  const cells = trimmed.split(",").map((cell) => cell.trim().replace(/^"|"$/g, "").toLowerCase());
  return cells.includes("email") ? "csv" : "lines";
}

/** roles cell: empty → null; `[...]` → JSON array; otherwise a `;`-separated list. */
function parseRoles(cell) {
  const text = cell?.trim() ?? "";
  if (text === "") return { value: null };
  if (text.startsWith("[")) {
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { error: "roles is neither a JSON array nor a ;-separated list" };
    }
  }
  return { value: text.split(";").map((role) => role.trim()).filter((role) => role !== "") };
}

/** metadata cell: empty → null; otherwise JSON (the module checks it is an object). */
function parseMetadata(cell) {
  const text = cell?.trim() ?? "";
  if (text === "") return { value: null };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: "metadata is not valid JSON" };
  }
}

/** A record from fields read as text (CSV cells). */
function recordFromCells(row, email, rolesCell, metadataCell) {
  const roles = parseRoles(rolesCell);
  const metadata = parseMetadata(metadataCell);
  const error = roles.error ?? metadata.error ?? (email === undefined || email === "" ? "email is empty" : undefined);
  if (error) return { row, email: email ?? "", error };
  return { row, email, roles: roles.value, metadata: metadata.value };
}

async function* readCsv(stream) {
  const parser = stream.pipe(
    parse({ bom: true, columns: (header) => header.map((name) => name.trim().toLowerCase()), skip_empty_lines: true, relax_column_count: true, trim: false }),
  );
  let row = 0;
  let checked = false;
  const cellsOf = async function* () {
    try {
      yield* parser;
    } catch (error) {
      if (error?.code?.startsWith?.("CSV_")) throw new UsageError(`the input is not valid CSV after row ${row}: ${error.message}`);
      throw error;
    }
  };
  for await (const cells of cellsOf()) {
    if (!checked) {
      if (!("email" in cells)) throw new UsageError("the CSV header has no email column");
      checked = true;
    }
    row += 1;
    const email = typeof cells.email === "string" ? cells.email.trim() : undefined;
    yield recordFromCells(row, email, cells.roles, cells.metadata);
  }
}

async function* readLineRecords(stream, format) {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let row = 0;
  for await (const raw of lines) {
    const line = row === 0 ? raw.replace(/^\uFEFF/, "").trim() : raw.trim();
    if (line === "") continue;
    row += 1;
    if (format === "lines") {
      yield { row, email: line, roles: null, metadata: null };
      continue;
    }
    let value;
    try {
      value = JSON.parse(line);
    } catch {
      yield { row, email: "", error: "the line is not valid JSON" };
      continue;
    }
    if (typeof value === "string") yield { row, email: value, roles: null, metadata: null };
    else if (value && typeof value === "object" && !Array.isArray(value)) {
      yield { row, email: value.email ?? "", roles: value.roles ?? null, metadata: value.metadata ?? null };
    } else yield { row, email: "", error: "the line is neither an object nor an email string" };
  }
}

function readStream(stream, format) {
  return format === "csv" ? readCsv(stream) : readLineRecords(stream, format);
}

/** Records from the command-line arguments. */
async function* readArguments(emails) {
  let row = 0;
  for (const email of emails) yield { row: ++row, email, roles: null, metadata: null };
}

/**
 * Opens the input: `{ records, size, bytesRead() }`. `format` is `--format-in` (or undefined:
 * detected from the file name, else from the first line).
 */
async function openInput({ file, format, emails, stdin }) {
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new UsageError(`--format-in must be one of ${FORMATS.join(", ")}; got ${JSON.stringify(format)}`);
  }
  if (file === undefined) {
    return { records: readArguments(emails), size: emails.length, bytesRead: () => undefined, countsRows: true };
  }
  const source = openSource(file, stdin);
  let bytes = 0;
  const counted = source.stream.pipe(
    new Transform({
      transform(chunk, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    }),
  );
  source.stream.on("error", (error) => counted.destroy(error));
  let stream = counted;
  let chosen = format ?? (file === "-" ? undefined : formatFromName(file));
  if (chosen === undefined) {
    const { firstLine, replay } = await peekHead(counted);
    chosen = formatFromFirstLine(firstLine);
    stream = replay;
  }
  return { records: readStream(stream, chosen), size: source.size, bytesRead: () => bytes, format: chosen };
}

/**
 * The first line of a stream, and a stream that yields everything (that line included).
 * Reads only until the first newline (or the end).
 */
function peekHead(source) {
  return new Promise((resolve, reject) => {
    const head = [];
    let text = "";
    const onData = (chunk) => {
      head.push(chunk);
      text += chunk.toString("utf8");
      if (text.includes("\n")) finish();
    };
    let ended = false;
    const onEnd = () => {
      ended = true;
      finish();
    };
    const finish = () => {
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", reject);
      source.pause();
      const replay = new PassThrough();
      for (const chunk of head) replay.write(chunk);
      if (ended) replay.end();
      else source.pipe(replay);
      resolve({ firstLine: text.split("\n")[0], replay });
    };
    source.on("data", onData);
    source.once("end", onEnd);
    source.once("error", reject);
  });
}

module.exports = { openInput, FORMATS, formatFromFirstLine };
