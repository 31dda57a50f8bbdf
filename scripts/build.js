#!/usr/bin/env node
// Builds the native addon with cargo and places it next to index.js as medusa-invites.node.
// Runs on `npm install` (the package's install script) and on `npm run build`.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const profile = process.argv.includes("--debug") ? "debug" : "release";
const args = ["build", "--lib", ...(profile === "release" ? ["--release"] : [])];
try {
  execFileSync("cargo", args, { cwd: root, stdio: "inherit" });
} catch (error) {
  console.error(
    "medusa-invites: building the native addon failed. It needs a Rust toolchain (cargo); see README.md.",
  );
  process.exit(1);
}
const library = {
  darwin: "libmedusa_invites.dylib",
  win32: "medusa_invites.dll",
}[process.platform] ?? "libmedusa_invites.so";
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const built = path.join(targetDir, profile, library);
const destination = path.join(root, "medusa-invites.node");
// Copy to a temporary name, then rename: a running process keeps the old file mapped.
fs.copyFileSync(built, `${destination}.tmp`);
fs.renameSync(`${destination}.tmp`, destination);
console.log(`medusa-invites: built ${path.relative(root, destination)} (${profile})`);
