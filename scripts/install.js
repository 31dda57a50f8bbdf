#!/usr/bin/env node
// The package's install script.
// * In the repository (a contributor's `npm install`, CI's `npm ci`): builds the addon from
//   source with `napi build` (`npm run build`), as the tests must run the code of the checkout.
// * Installed as a dependency: does nothing when a prebuilt binary loads (the platform package
//   `medusa-invites-<platform>` or an earlier local build). Otherwise builds from source when
//   cargo is available, or fails naming the platform and what to do.
// Package managers that block install scripts (pnpm 10, npm 11) skip this script; the platform
// package needs none.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { IN_REPOSITORY, SUPPORTED_PLATFORMS, currentPlatform, platformPackage, whatToDo } = require("../lib/platform");

const root = path.join(__dirname, "..");

function main() {
  if (IN_REPOSITORY) {
    const napiCli = path.join(path.dirname(require.resolve("@napi-rs/cli/package.json")), "dist", "cli.js");
    run(process.execPath, [napiCli, ...NAPI_BUILD_ARGS]);
    return;
  }
  if (prebuiltLoads()) return;
  const platform = currentPlatform();
  if (!hasCargo()) {
    console.error(`medusa-invites: no native addon for ${platform} could be loaded, and cargo (Rust) is not installed.\n${whatToDo(platform)}`);
    process.exit(1);
  }
  const why = SUPPORTED_PLATFORMS.includes(platform)
    ? `the prebuilt binary (${platformPackage(platform)}) is not installed or does not load here`
    : `no prebuilt binary is published for ${platform}`;
  console.error(`medusa-invites: ${why}; building from source with cargo (a few minutes).`);
  buildFromSource(platform);
}

/** `npm run build`: the loader and the binary for this machine, in release mode. */
const NAPI_BUILD_ARGS = ["build", "--platform", "--release", "--js", "binding.js", "--dts", "binding.d.ts"];

function prebuiltLoads() {
  try {
    require("../binding.js");
    return true;
  } catch {
    return false;
  }
}

function hasCargo() {
  return spawnSync("cargo", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * `cargo build --release` into a temporary target directory (unless CARGO_TARGET_DIR is set),
 * then the library is copied to `medusa-invites.<platform>.node`, where the loader looks first.
 * The temporary directory is removed: the build leaves hundreds of MB there.
 */
function buildFromSource(platform) {
  const targetDir = process.env.CARGO_TARGET_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-build-"));
  try {
    run("cargo", ["build", "--release", "--lib", "--locked"], { env: { ...process.env, CARGO_TARGET_DIR: targetDir } });
    const library = { darwin: "libmedusa_invites.dylib", win32: "medusa_invites.dll" }[process.platform] ?? "libmedusa_invites.so";
    const destination = path.join(root, `medusa-invites.${platform}.node`);
    fs.copyFileSync(path.join(targetDir, "release", library), destination);
    console.error(`medusa-invites: built ${path.basename(destination)}`);
  } finally {
    if (!process.env.CARGO_TARGET_DIR) fs.rmSync(targetDir, { recursive: true, force: true });
  }
}

function run(command, args, options = {}) {
  try {
    execFileSync(command, args, { cwd: root, stdio: "inherit", ...options });
  } catch (error) {
    console.error(`medusa-invites: \`${path.basename(command)} ${args.join(" ")}\` failed (${error.status ?? error.message}).`);
    process.exit(1);
  }
}

main();
