"use strict";
// Output formatters: one record per line (ndjson, csv), a streamed JSON array, or a table for
// people. Writes honour backpressure, so a slow reader keeps memory flat.
const { stringify } = require("csv-stringify/sync");
const { UsageError } = require("./errors");

const FORMATS = ["ndjson", "csv", "json", "table"];

/** Writes to a stream, waiting for 'drain' when its buffer is full. A closed pipe ends quietly. */
class Sink {
  constructor(stream) {
    this.stream = stream;
    this.closed = false;
    stream.on("error", (error) => {
      if (error.code === "EPIPE") this.closed = true;
      else throw error;
    });
  }

  async write(text) {
    if (this.closed || text === "") return;
    if (!this.stream.write(text)) {
      await new Promise((resolve) => {
        const done = () => {
          this.stream.off("drain", done);
          this.stream.off("close", done);
          resolve();
        };
        this.stream.once("drain", done);
        this.stream.once("close", done);
      });
    }
  }
}

function cellText(value) {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join(";");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * A formatter for `columns` (`[{ key, label?, table? }]`; `table: false` leaves the column out
 * of the table, e.g. tokens). `write(records)` takes a block of records; `end()` closes the output.
 */
function createFormatter(format, columns, stream = process.stdout) {
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}; got ${JSON.stringify(format)}`);
  const sink = new Sink(stream);
  const keys = columns.map((column) => column.key);
  const pick = (record) => {
    const out = {};
    for (const key of keys) out[key] = record[key] === undefined ? null : record[key];
    return out;
  };

  if (format === "ndjson") {
    // One line per record, keys in column order; built as text (no intermediate objects).
    const prefixes = keys.map((key, i) => `${i === 0 ? "{" : ","}${JSON.stringify(key)}:`);
    const line = (record) => {
      let text = "";
      for (let i = 0; i < keys.length; i++) {
        const value = record[keys[i]];
        text += prefixes[i] + (value === undefined ? "null" : JSON.stringify(value));
      }
      return `${text}}\n`;
    };
    return {
      write: (records) => {
        let text = "";
        for (const record of records) text += line(record);
        return sink.write(text);
      },
      end: async () => {},
    };
  }
  if (format === "json") {
    let first = true;
    return {
      write: (records) => {
        if (records.length === 0) return Promise.resolve();
        const text = records.map((record) => JSON.stringify(pick(record))).join(",\n  ");
        const prefix = first ? "[\n  " : ",\n  ";
        first = false;
        return sink.write(prefix + text);
      },
      end: () => sink.write(first ? "[]\n" : "\n]\n"),
    };
  }
  if (format === "csv") {
    let header = true;
    return {
      write: async (records) => {
        const rows = records.map((record) => keys.map((key) => cellText(record[key])));
        if (header) {
          rows.unshift(keys);
          header = false;
        }
        if (rows.length > 0) await sink.write(stringify(rows));
      },
      end: async () => {
        if (header) await sink.write(stringify([keys]));
      },
    };
  }
  // table: the widths come from the header and the first block, and grow when a later row is wider.
  const shown = columns.filter((column) => column.table !== false);
  const widths = shown.map((column) => (column.label ?? column.key).length);
  let header = true;
  const line = (cells) => `${cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()}\n`;
  return {
    write: async (records) => {
      const rows = records.map((record) => shown.map((column) => cellText(record[column.key])));
      for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i], cell.length)));
      let text = "";
      if (header && rows.length > 0) {
        text += line(shown.map((column) => (column.label ?? column.key).toUpperCase()));
        header = false;
      }
      for (const row of rows) text += line(row);
      await sink.write(text);
    },
    end: async () => {},
  };
}

/** The default output format: a table for a person at a terminal, NDJSON for a program. */
function defaultFormat(stream = process.stdout) {
  return stream.isTTY ? "table" : "ndjson";
}

module.exports = { createFormatter, defaultFormat, FORMATS, Sink };
