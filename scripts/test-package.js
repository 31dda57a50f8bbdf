#!/usr/bin/env node
// `npm run test:package`: installs the package as a user would and measures it.
//
// 1. Builds the linux-x64-gnu binary against glibc 2.17 with zig (`napi build -x`), unless
//    npm/linux-x64-gnu/ already holds one built from the same sources. When cargo-zigbuild or
//    zig is missing, installs both from PyPI into target/zig-tools.
// 2. `npm pack`s the main package (with the optionalDependencies a release adds) and the
//    linux-x64-gnu package.
// 3. In fresh directories, with cargo removed from PATH:
//    * `npm install` of both tarballs: under 30 s, no local build;
//    * `require` and `import` work, and `createInvites` creates an invite (temporary SQLite file);
//    * when the addon does not load, the error gives a user's advice;
//    * `pnpm add` of both, build scripts blocked (pnpm's default): works too;
//    * `npm install` of the main package alone, its script allowed: fails, naming the platform;
//    * installed size of the package plus its platform package under 15 MB;
//    * the .node needs no glibc newer than 2.17 (`objdump -T`).
// Prints the figures; exits non-zero when a check fails. Linux x64 only.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.join(__dirname, "..");
const manifest = require("../package.json");
const PLATFORM = "linux-x64-gnu";
const GLIBC_TARGET = "2.17";
const platformDir = path.join(root, "npm", PLATFORM);
const binaryName = `${manifest.napi.binaryName}.${PLATFORM}.node`;
const LIMITS = { installSeconds: 30, installedBytes: 15e6 };
// From PyPI: a prebuilt cargo-zigbuild that brings zig (the `ziglang` package) along.
const CARGO_ZIGBUILD_VERSION = "0.24.1";
const PNPM = "pnpm@10";

const failures = [];
const figures = [];

function check(ok, description) {
  console.log(`${ok ? "ok  " : "FAIL"}  ${description}`);
  if (!ok) failures.push(description);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.error) throw result.error;
  return result;
}

function mustRun(command, args, options = {}) {
  const result = run(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  if (result.status !== 0) {
    throw new Error(`\`${command} ${args.join(" ")}\` failed (${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------
// 1. The binary

/** A hash of everything the binary is built from, and of the build's target. */
function sourceHash() {
  const hash = crypto.createHash("sha256").update(`${PLATFORM} glibc ${GLIBC_TARGET}\n`);
  const files = ["Cargo.toml", "Cargo.lock", "build.rs"];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else files.push(relative);
    }
  };
  walk("src");
  for (const file of files.sort()) hash.update(`${file}\n`).update(fs.readFileSync(path.join(root, file)));
  return hash.digest("hex");
}

/** True when the command runs and exits 0. */
function succeeds(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "ignore", ...options });
  return !result.error && result.status === 0;
}

/** zig on PATH, or the `ziglang` Python package (cargo-zigbuild finds either). */
function hasZig(env) {
  return succeeds("zig", ["version"], { env }) || succeeds("python3", ["-m", "ziglang", "version"], { env });
}

/**
 * The environment for `napi build -x`: cargo-zigbuild and zig as installed, else from a Python
 * virtual environment under target/zig-tools, made once (`pip install cargo-zigbuild`, seconds).
 */
function zigBuildEnv() {
  if (succeeds("cargo", ["zigbuild", "--help"]) && hasZig(process.env)) return process.env;
  const tools = path.join(root, "target", "zig-tools");
  const env = { ...process.env, PATH: `${path.join(tools, "bin")}${path.delimiter}${process.env.PATH}` };
  if (!(succeeds("cargo", ["zigbuild", "--help"], { env }) && hasZig(env))) {
    console.log(`installing cargo-zigbuild ${CARGO_ZIGBUILD_VERSION} and zig (PyPI) into target/zig-tools`);
    mustRun("python3", ["-m", "venv", "--clear", tools]);
    mustRun(path.join(tools, "bin", "pip"), ["install", "--quiet", `cargo-zigbuild==${CARGO_ZIGBUILD_VERSION}`]);
  }
  return env;
}

function buildBinary() {
  const binary = path.join(platformDir, binaryName);
  const stamp = path.join(platformDir, ".source-hash");
  const hash = sourceHash();
  if (fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === hash) {
    console.log(`reusing npm/${PLATFORM}/${binaryName} (built from these sources)`);
    return binary;
  }
  const env = zigBuildEnv();
  console.log(`building ${binaryName} for glibc ${GLIBC_TARGET} (napi build -x, cargo-zigbuild)`);
  fs.rmSync(stamp, { force: true });
  const napiCli = path.join(path.dirname(require.resolve("@napi-rs/cli/package.json")), "dist", "cli.js");
  const started = process.hrtime.bigint();
  execFileSync(
    process.execPath,
    [napiCli, "build", "--platform", "--release", "--target", `x86_64-unknown-linux-gnu.${GLIBC_TARGET}`, "-x", "--no-js", "--dts", "binding.d.ts", "--output-dir", path.relative(root, platformDir)],
    { cwd: root, stdio: "inherit", env },
  );
  figures.push(["zig release build", `${seconds(process.hrtime.bigint() - started)} s`]);
  fs.rmSync(path.join(platformDir, "binding.d.ts"), { force: true });
  fs.writeFileSync(stamp, hash);
  return binary;
}

/** The newest GLIBC_x.y symbol version the binary needs. */
function newestGlibc(binary) {
  const versions = mustRun("objdump", ["-T", binary]).match(/GLIBC_[0-9.]+/g) ?? [];
  return versions.map((v) => v.slice("GLIBC_".length)).sort(compareVersions).at(-1);
}

function compareVersions(a, b) {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// 2. The tarballs

/** `npm pack` of `dir` into `destination`; returns the tarball's path. */
function pack(dir, destination) {
  fs.mkdirSync(destination, { recursive: true });
  const [{ filename }] = JSON.parse(mustRun("npm", ["pack", "--json", "--pack-destination", destination], { cwd: dir }));
  return path.join(destination, filename);
}

/**
 * The main package as a release publishes it: `napi pre-publish` lists every platform package
 * as an optional dependency of the same version. The repository's package.json cannot (the
 * lock file would need them published), so they are added to a packed copy, which is packed
 * again.
 */
function packMain(work) {
  const stage = path.join(work, "stage");
  fs.mkdirSync(stage);
  mustRun("tar", ["-xzf", pack(root, work), "-C", stage]);
  const packageJsonPath = path.join(stage, "package", "package.json");
  const packageJson = JSON.parse(fs.readFileSync(packageJsonPath, "utf8"));
  packageJson.optionalDependencies = Object.fromEntries(
    packageJson.napi.targets.map((triple) => [`${manifest.name}-${platformOfTriple(triple)}`, packageJson.version]),
  );
  fs.writeFileSync(packageJsonPath, `${JSON.stringify(packageJson, null, 2)}\n`);
  return pack(path.join(stage, "package"), path.join(work, "release"));
}

const { platformOfTriple } = require("../lib/platform");

// ---------------------------------------------------------------------------------------------
// 3. Installing

/** PATH without the folders that hold cargo: nothing can build from source. */
function pathWithoutCargo() {
  return process.env.PATH.split(path.delimiter)
    .filter((dir) => !fs.existsSync(path.join(dir, "cargo")))
    .join(path.delimiter);
}

/**
 * An empty project. Its `allowScripts` lets npm 11 run medusa-invites' install script, which it
 * blocks by default (older npm runs it anyway; pnpm ignores the field).
 */
function freshProject(work, name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const packageJson = { name: `try-${name}`, private: true, allowScripts: { [manifest.name]: true } };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
  return dir;
}

function directoryBytes(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

const USE_REQUIRE = `
const { createInvites } = require("medusa-invites");
createInvites({ email: "ada@example.com" }).then((invite) => {
  if (!/^invite_[0-9A-Z]{26}$/.test(invite.id) || invite.token.split(".").length !== 3) throw new Error("unexpected invite " + JSON.stringify(invite));
  console.log("require: created " + invite.id);
});`;

const USE_IMPORT = `
import { createInvites, MedusaError } from "medusa-invites";
import medusaInvites from "medusa-invites";
if (medusaInvites.createInvites !== createInvites || typeof MedusaError !== "function") throw new Error("exports differ");
const [invite] = await createInvites([{ email: "grace@example.com" }]);
if (!invite.id.startsWith("invite_")) throw new Error("unexpected invite");
console.log("import: created " + invite.id);`;

const MISSING_ADDON = `
require("medusa-invites").createInvites({ email: "ada@example.com" }).then(
  () => console.log("unexpectedly loaded"),
  (error) => console.log(error.message),
);`;

/** Runs both entries in `project`; true when both created an invite. */
function usePackage(project, env) {
  const database = `sqlite:${path.join(project, "invites.sqlite")}`;
  const useEnv = { ...env, JWT_SECRET: "test-package-secret", MEDUSA_INVITES_DATABASE_URL: database };
  let ok = true;
  for (const [label, args] of [
    ["require", ["-e", USE_REQUIRE]],
    ["import", ["--input-type=module", "-e", USE_IMPORT]],
  ]) {
    const result = run(process.execPath, args, { cwd: project, env: useEnv });
    if (result.status !== 0) {
      console.log(`${label} failed:\n${result.stdout}${result.stderr}`);
      ok = false;
    } else process.stdout.write(`      ${result.stdout}`);
  }
  return ok;
}

function seconds(nanoseconds) {
  return (Number(nanoseconds) / 1e9).toFixed(1);
}

function main() {
  if (process.platform !== "linux" || process.arch !== "x64") {
    console.log(`test:package checks the ${PLATFORM} package and runs on Linux x64 only.`);
    return;
  }
  const binary = buildBinary();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-invites-package-"));
  try {
    const mainTarball = packMain(work);
    const platformTarball = pack(platformDir, path.join(work, "release"));
    figures.push(["main tarball", `${(fs.statSync(mainTarball).size / 1e3).toFixed(0)} kB`]);
    figures.push(["platform tarball", `${(fs.statSync(platformTarball).size / 1e6).toFixed(2)} MB`]);
    figures.push([`.node (stripped, glibc ${GLIBC_TARGET})`, `${(fs.statSync(binary).size / 1e6).toFixed(2)} MB`]);

    const env = { ...process.env, PATH: pathWithoutCargo() };
    check(!succeeds("cargo", ["--version"], { env }), "cargo is not on the PATH of the installs");

    // npm, the install script allowed.
    const npmProject = freshProject(work, "npm");
    const started = process.hrtime.bigint();
    const install = run("npm", ["install", "--no-audit", "--no-fund", mainTarball, platformTarball], { cwd: npmProject, env });
    const installSeconds = seconds(process.hrtime.bigint() - started);
    figures.push(["npm install", `${installSeconds} s`]);
    check(install.status === 0, `npm install of both tarballs succeeds${install.status === 0 ? "" : `:\n${install.stdout}${install.stderr}`}`);
    check(Number(installSeconds) < LIMITS.installSeconds, `npm install takes under ${LIMITS.installSeconds} s (${installSeconds} s)`);
    const installed = path.join(npmProject, "node_modules");
    check(!fs.existsSync(path.join(installed, manifest.name, binaryName)), "no local build: the binary comes from the platform package");
    check(usePackage(npmProject, env), "require and import work, and createInvites creates an invite");
    const noAddon = run(process.execPath, ["-e", MISSING_ADDON], { cwd: npmProject, env: { ...env, JWT_SECRET: "test-package-secret", NAPI_RS_NATIVE_LIBRARY_PATH: path.join(npmProject, "no-such.node") } });
    check(
      noAddon.stdout.includes(`could not be loaded on ${PLATFORM}`) && noAddon.stdout.includes(`optional dependency ${manifest.name}-${PLATFORM}`) && !noAddon.stdout.includes("npm run build"),
      `when the addon does not load, a user is told the platform and to reinstall, not a contributor's advice${noAddon.status === 0 ? "" : `:\n${noAddon.stdout}${noAddon.stderr}`}`,
    );
    const bytes = directoryBytes(path.join(installed, manifest.name)) + directoryBytes(path.join(installed, `${manifest.name}-${PLATFORM}`));
    figures.push(["installed size (package + platform package)", `${(bytes / 1e6).toFixed(2)} MB`]);
    check(bytes < LIMITS.installedBytes, `installed size under 15 MB (${(bytes / 1e6).toFixed(2)} MB)`);
    const glibc = newestGlibc(path.join(installed, `${manifest.name}-${PLATFORM}`, binaryName));
    figures.push(["newest glibc symbol version needed", `GLIBC_${glibc}`]);
    check(compareVersions(glibc, GLIBC_TARGET) <= 0, `the .node needs no glibc newer than ${GLIBC_TARGET} (needs ${glibc})`);

    // pnpm 10: build scripts of dependencies are blocked by default.
    const pnpmProject = freshProject(work, "pnpm");
    const pnpmStarted = process.hrtime.bigint();
    const pnpmAdd = run("npm", ["exec", "--yes", `--package=${PNPM}`, "--", "pnpm", "add", mainTarball, platformTarball], { cwd: pnpmProject, env });
    figures.push(["pnpm add", `${seconds(process.hrtime.bigint() - pnpmStarted)} s`]);
    check(pnpmAdd.status === 0, `pnpm add of both tarballs succeeds${pnpmAdd.status === 0 ? "" : `:\n${pnpmAdd.stdout}${pnpmAdd.stderr}`}`);
    check(/Ignored build scripts:[\s│]*medusa-invites@/.test(pnpmAdd.stdout + pnpmAdd.stderr), "pnpm blocked the package's install script");
    check(usePackage(pnpmProject, env), "under pnpm, require and import work, and createInvites creates an invite");

    // No prebuilt binary and no cargo: the install fails and says what to do.
    const bareProject = freshProject(work, "no-binary");
    const bare = run("npm", ["install", "--no-audit", "--no-fund", "--omit=optional", mainTarball], { cwd: bareProject, env });
    const said = bare.stdout + bare.stderr;
    check(bare.status !== 0 && said.includes(`for ${PLATFORM} could be loaded, and cargo (Rust) is not installed`) && said.includes("https://rustup.rs"), "without a prebuilt binary or cargo, the install fails naming the platform and what to do");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log("\nfigures:");
  for (const [name, value] of figures) console.log(`  ${name.padEnd(44)} ${value}`);
  if (failures.length > 0) {
    console.log(`\n${failures.length} check(s) failed.`);
    process.exit(1);
  }
  console.log("\nall package checks passed.");
}

main();
