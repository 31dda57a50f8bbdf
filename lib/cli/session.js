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

/**
 * Runs `work(service)` on an opened session and closes the module either way; a failure
 * becomes a run failure with its message masked. Resolves with what `work` resolves with.
 */
async function withSession(flags, needs, work) {
  const { service, mask } = openSession(flags, needs);
  let result;
  try {
    result = await work(service);
  } catch (error) {
    await service.close().catch(() => {});
    const failure = asRunFailure(error);
    failure.message = mask(failure.message);
    throw failure;
  }
  await service.close();
  return result;
}

module.exports = { openSession, withSession };
