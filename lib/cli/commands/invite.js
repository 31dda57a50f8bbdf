"use strict";
// `medusa-invites invite`: rows in (arguments, a file or stdin), one result per row out.
// Rows are read and created in blocks (--chunk-size), one block in the store while the next
// is read, so memory stays flat however long the input.
const { positiveInteger } = require("../args");
const { EXIT, UsageError, asRunFailure } = require("../errors");
const { openInput } = require("../input");
const { createFormatter, defaultFormat } = require("../output");
const { createProgress } = require("../progress");
const { createRows } = require("../create-rows");
const { inviteUrlTemplate } = require("../invite-url");
const { createSpool } = require("../spool");
const { openSession } = require("../session");

const DEFAULT_CHUNK_SIZE = 2000;
/** Blocks in the store at once (2 was measured no faster: the store writes one at a time). */
const IN_FLIGHT = 1;

function columns(withUrl) {
  const list = [
    { key: "row" },
    { key: "email" },
    { key: "status" },
    { key: "reason" },
    { key: "id" },
    { key: "token", table: false },
  ];
  if (withUrl) list.push({ key: "url" });
  return list;
}

async function runInvite({ flags, positionals }) {
  const chunkSize = positiveInteger(flags, "chunk-size", DEFAULT_CHUNK_SIZE);
  const stdinDash = positionals.includes("-");
  const emails = positionals.filter((arg) => arg !== "-");
  if (flags["dry-run"] && flags["all-or-nothing"]) throw new UsageError("--dry-run and --all-or-nothing cannot be combined");
  let file = flags.file;
  if (stdinDash) {
    if (file !== undefined && file !== "-") throw new UsageError("give one input: --file or - (stdin)");
    file = "-";
  }
  if (file !== undefined && emails.length > 0) throw new UsageError("give emails as arguments or --file/-, not both");
  if (file === undefined && emails.length === 0) throw new UsageError("no input: give emails, --file PATH, or - for stdin; see medusa-invites invite --help");
  if (file === "-" && process.stdin.isTTY) throw new UsageError("stdin is a terminal: pipe the input in, or use --file PATH");
  const linkOf = inviteUrlTemplate(flags["invite-url"]);
  const format = flags.format ?? defaultFormat();
  const output = createFormatter(format, columns(Boolean(linkOf)));

  const { service, config, mask } = openSession(flags, "sign");
  const input = await openInput({ file, format: flags["format-in"], emails });
  const progress = createProgress({
    total: input.size,
    position: () => input.bytesRead() ?? rowsDone,
  });
  const counts = { created: 0, skipped: 0, failed: 0 };
  const dryRun = Boolean(flags["dry-run"]);
  const allOrNothing = Boolean(flags["all-or-nothing"]);
  let rowsDone = 0;
  let transaction;
  let context;
  const spool = allOrNothing ? createSpool() : undefined;

  /** Creates a block's rows; resolves with the block and its per-row results. */
  const createBlock = async (records) => {
    const unreadable = records.filter((record) => record.error);
    const readable = unreadable.length > 0 ? records.filter((record) => !record.error) : records;
    await createRows(service, readable, { context, skipExisting: Boolean(flags["skip-existing"]) });
    for (const record of unreadable) {
      record.status = "failed";
      record.reason = record.error;
      record.id = null;
      record.token = null;
    }
    return { records, results: records };
  };

  /** Reports a block's results: counts, links, output (or the spool), progress. */
  const reportBlock = async ({ records, results }) => {
    for (const result of results) {
      if (dryRun && result.status === "created") {
        // The rows were written in a transaction that is rolled back: no id or token exists.
        result.status = "valid";
        result.reason = "dry run: not written";
        result.id = null;
        result.token = null;
      }
      counts[result.status === "valid" ? "created" : result.status] += 1;
      if (linkOf) result.url = linkOf(result);
    }
    rowsDone += records.length;
    if (spool) spool.add(results);
    else await output.write(results);
    progress.update(rowsDone);
  };

  try {
    if (dryRun || allOrNothing) {
      transaction = await service.begin();
      context = { transactionManager: transaction, enableNestedTransactions: true };
    }
    // One block in the store while the next is read. When it is done, the next block goes in
    // first, then the finished one's results are written, in input order.
    let block = [];
    const inFlight = [];
    const flush = async (records) => {
      const finished = inFlight.length >= IN_FLIGHT ? await inFlight.shift() : undefined;
      const started = createBlock(records);
      started.catch(() => {});
      inFlight.push(started);
      if (finished) await reportBlock(finished);
    };
    for await (const records of input.blocks) {
      for (const record of records) {
        block.push(record);
        if (block.length >= chunkSize) {
          await flush(block);
          block = [];
        }
      }
    }
    if (block.length > 0) await flush(block);
    while (inFlight.length > 0) await reportBlock(await inFlight.shift());

    if (dryRun) await transaction.rollback();
    if (allOrNothing) {
      const failed = counts.failed;
      if (failed > 0) await transaction.rollback();
      else await transaction.commit();
      for await (const results of spool.replay()) {
        if (failed > 0) {
          for (const result of results) {
            if (result.status !== "created") continue;
            result.status = "failed";
            result.reason = `not created: ${failed} row(s) failed and --all-or-nothing is set`;
            result.id = null;
            result.token = null;
            if (linkOf) result.url = null;
          }
        }
        await output.write(results);
      }
      if (failed > 0) {
        counts.failed += counts.created;
        counts.created = 0;
      }
    }
    await output.end();
  } catch (error) {
    progress.abort();
    if (transaction && transaction.state === "open") await transaction.rollback().catch(() => {});
    await service.close().catch(() => {});
    const failure = asRunFailure(error);
    failure.message = mask(failure.message);
    throw failure;
  }
  await service.close();
  const summary = dryRun ? { valid: counts.created, skipped: counts.skipped, failed: counts.failed } : counts;
  progress.finish(summary, `${dryRun ? " (dry run: nothing written)" : ""} — ${config.databaseText}`);
  return counts.failed > 0 ? EXIT.ROWS_FAILED : EXIT.OK;
}

module.exports = { runInvite };
