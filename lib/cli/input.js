"use strict";
// Input readers: emails from arguments, or a file / stdin as CSV, NDJSON or lines, streamed.
// Each yields blocks (arrays) of records `{ row, email, roles, metadata }`, or `{ row, email, error }` for a row
// that cannot be read (bad JSON, a missing email); `row` is 1-based among the data rows.
const fs = require("node:fs");
const path = require("node:path");
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
  return { stream: fs.createReadStream(file, { highWaterMark: 64 * 1024 }), size: stat.size, name: file };
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

/**
 * The objects of an object-mode stream in blocks (what is buffered at each turn), so a row
 * does not cost a promise of its own.
 */
async function* blocksOf(stream) {
  let ended = false;
  let failure;
  let wake;
  const signal = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  stream.on("readable", signal);
  stream.once("end", () => {
    ended = true;
    signal();
  });
  stream.once("error", (error) => {
    failure = error;
    signal();
  });
  for (;;) {
    if (failure) throw failure;
    const block = [];
    let item;
    while ((item = stream.read()) !== null) block.push(item);
    if (block.length > 0) yield block;
    else if (ended) return;
    else await new Promise((resolve) => (wake = resolve));
  }
}

async function* readCsv(stream) {
  const parser = stream.pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true }));
  stream.on("error", (error) => parser.destroy(error));
  let row = 0;
  let columns;
  try {
    for await (const block of blocksOf(parser)) {
      const records = [];
      for (const cells of block) {
        if (!columns) {
          const names = cells.map((name) => String(name).trim().toLowerCase());
          columns = { email: names.indexOf("email"), roles: names.indexOf("roles"), metadata: names.indexOf("metadata") };
          if (columns.email < 0) throw new UsageError("the CSV header has no email column");
          continue;
        }
        row += 1;
        const email = cells[columns.email];
        records.push(
          recordFromCells(
            row,
            typeof email === "string" ? email.trim() : undefined,
            columns.roles >= 0 ? cells[columns.roles] : undefined,
            columns.metadata >= 0 ? cells[columns.metadata] : undefined,
          ),
        );
      }
      if (records.length > 0) yield records;
    }
  } catch (error) {
    if (typeof error?.code === "string" && error.code.startsWith("CSV_")) {
      throw new UsageError(`the input is not valid CSV after row ${row}: ${error.message}`);
    }
    throw error;
  }
}

/** The lines of a byte stream, in blocks (one block per chunk read). */
async function* linesOf(stream) {
  let rest = "";
  let first = true;
  for await (const chunk of stream) {
    let text = rest + chunk.toString("utf8");
    if (first) {
      text = text.replace(/^\uFEFF/, "");
      first = false;
    }
    const lines = text.split("\n");
    rest = lines.pop();
    if (lines.length > 0) yield lines;
  }
  if (rest !== "") yield [rest];
}

async function* readLineRecords(stream, format) {
  let row = 0;
  for await (const lines of linesOf(stream)) {
    const records = [];
    for (const raw of lines) {
      const line = raw.trim();
      if (line === "") continue;
      row += 1;
      records.push(lineRecord(row, line, format));
    }
    if (records.length > 0) yield records;
  }
}

function lineRecord(row, line, format) {
  if (format === "lines") return { row, email: line, roles: null, metadata: null };
  let value;
  try {
    value = JSON.parse(line);
  } catch {
    return { row, email: "", error: "the line is not valid JSON" };
  }
  if (typeof value === "string") return { row, email: value, roles: null, metadata: null };
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return { row, email: value.email ?? "", roles: value.roles ?? null, metadata: value.metadata ?? null };
  }
  return { row, email: "", error: "the line is neither an object nor an email string" };
}

function readStream(stream, format) {
  return format === "csv" ? readCsv(stream) : readLineRecords(stream, format);
}

/** Records from the command-line arguments (one block). */
async function* readArguments(emails) {
  yield emails.map((email, i) => ({ row: i + 1, email, roles: null, metadata: null }));
}

/**
 * Opens the input: `{ blocks, size, bytesRead() }` (`blocks`: arrays of records). `format` is `--format-in` (or undefined:
 * detected from the file name, else from the first line).
 */
async function openInput({ file, format, emails, stdin }) {
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new UsageError(`--format-in must be one of ${FORMATS.join(", ")}; got ${JSON.stringify(format)}`);
  }
  if (file === undefined) {
    return { blocks: readArguments(emails), size: emails.length, bytesRead: () => undefined, countsRows: true };
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
  return { blocks: readStream(stream, chosen), size: source.size, bytesRead: () => bytes, format: chosen };
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
