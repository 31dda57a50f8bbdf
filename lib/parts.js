"use strict";

/**
 * Batches are read, sent and answered in parts of this many items, with a turn of the event
 * loop between parts: a batch of 100,000 never holds the event loop for long.
 */
const PART = 2_000;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

module.exports = { PART, nextTurn };
