"use strict";
// A command's connection to the store: the configuration resolved, its notes printed, the
// module opened, and every message masked.
const { UserModuleService } = require("../..");
const { resolveConfig } = require("./config");
const { makeMasker } = require("./mask");
const { asRunFailure } = require("./errors");

function openSession(flags, needs, { stderr = process.stderr } = {}) {
  const config = resolveConfig({ flags, needs });
  const mask = makeMasker(config.databaseUrl);
  for (const note of config.notes) stderr.write(`${note}\n`);
  let service;
  try {
    service = new UserModuleService(config.options);
  } catch (error) {
    throw asRunFailure(error);
  }
  return { service, config, mask };
}

module.exports = { openSession };
