"use strict";
// Results held back until a transaction ends (--all-or-nothing): kept in a private temporary
// file, not in memory, then replayed in order.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");

function createSpool() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-cli-spool-"));
  const file = path.join(dir, "results.ndjson");
  const fd = fs.openSync(file, "w", 0o600);
  // Interrupted (Ctrl-C: main.js turns signals into an exit), the held results go too.
  const removeOnExit = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeOnExit);
  return {
    add(records) {
      if (records.length > 0) fs.writeSync(fd, records.map((record) => `${JSON.stringify(record)}\n`).join(""));
    },
    /** Yields the held records in blocks of up to `size`, then removes the file. */
    async *replay(size = 2000) {
      fs.closeSync(fd);
      try {
        const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
        let block = [];
        for await (const line of lines) {
          block.push(JSON.parse(line));
          if (block.length >= size) {
            yield block;
            block = [];
          }
        }
        if (block.length > 0) yield block;
      } finally {
        process.off("exit", removeOnExit);
        removeOnExit();
      }
    },
  };
}

module.exports = { createSpool };
