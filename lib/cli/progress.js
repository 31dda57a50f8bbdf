"use strict";
// Progress on stderr: a bar with rows/s and ETA on a terminal (cli-progress); elsewhere
// nothing until the end. Either way one summary line closes the run.
const cliProgress = require("cli-progress");

/**
 * `total`: what `position()` counts up to (bytes of a file, or rows of the arguments);
 * undefined for stdin, where there is no ETA.
 */
function createProgress({ stream = process.stderr, total, position, enabled = stream.isTTY === true }) {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  let bar;
  if (enabled) {
    const known = total !== undefined && total > 0;
    bar = new cliProgress.SingleBar(
      {
        stream,
        format: known
          ? "{bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}"
          : "{rows} rows | {rate} rows/s | {duration_formatted}",
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(known ? total : 1, 0, { rows: 0, rate: 0 });
    bar.known = known;
  }
  return {
    /** Called after each block of rows is done. */
    update(rowsDone) {
      if (!bar) return;
      const rate = Math.round(rowsDone / Math.max(seconds(), 1e-3));
      bar.update(bar.known ? Math.min(position(), total) : 0, { rows: rowsDone, rate });
    },
    /** Stops the bar and prints the one summary line. */
    finish(counts, suffix = "") {
      if (bar) {
        if (bar.known) bar.update(total);
        bar.stop();
      }
      const parts = Object.entries(counts).map(([name, count]) => `${name} ${count}`);
      stream.write(`${parts.join(", ")} in ${seconds().toFixed(2)} s${suffix}\n`);
    },
    /** Stops the bar without a summary (the run failed). */
    abort() {
      bar?.stop();
    },
  };
}

module.exports = { createProgress };
