"use strict";
// Which prebuilt binary this machine needs, named as napi-rs names them (`linux-x64-gnu`,
// `darwin-arm64`, ...), and which platforms ship one. Used by the loader's error message and
// by the install script.
const fs = require("node:fs");
const path = require("node:path");
const { napi } = require("../package.json");

// The tests are not in the published package: their folder marks a clone of the repository.
const IN_REPOSITORY = fs.existsSync(path.join(__dirname, "..", "__test__"));

const ARCH_OF_TRIPLE = { x86_64: "x64", aarch64: "arm64", i686: "ia32", armv7: "arm" };

/** `x86_64-unknown-linux-gnu` -> `linux-x64-gnu`, `aarch64-apple-darwin` -> `darwin-arm64`. */
function platformOfTriple(triple) {
  const [arch, , system, abi] = triple.split("-");
  const nodeArch = ARCH_OF_TRIPLE[arch] ?? arch;
  if (system === "darwin") return `darwin-${nodeArch}`;
  if (system === "windows") return `win32-${nodeArch}-${abi}`;
  return `${system}-${nodeArch}-${abi}`;
}

/** The platforms a prebuilt binary is published for (package.json `napi.targets`). */
const SUPPORTED_PLATFORMS = napi.targets.map(platformOfTriple);

function isMusl() {
  const report = process.report?.getReport?.();
  return !report?.header?.glibcVersionRuntime;
}

/** This machine's platform, in the same spelling. */
function currentPlatform() {
  const { platform, arch } = process;
  if (platform === "linux") return `linux-${arch}-${isMusl() ? "musl" : "gnu"}`;
  if (platform === "win32") return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The npm package that holds the prebuilt binary for `platform`. */
function platformPackage(platform) {
  return `medusa-invites-${platform}`;
}

/** What to do when no binary loads: for the loader's error and the install script. */
function whatToDo(platform = currentPlatform(), inRepository = IN_REPOSITORY) {
  if (inRepository) return "In a clone of the repository, build it: `npm run build` (needs Rust: https://rustup.rs).";
  const supported = SUPPORTED_PLATFORMS.includes(platform);
  const lines = supported
    ? [
        `A prebuilt binary exists for ${platform}: it is the optional dependency ${platformPackage(platform)}.`,
        "Reinstall without omitting optional dependencies (no --omit=optional / --no-optional),",
        "and install on the machine (OS, CPU and C library) that runs the code.",
      ]
    : [
        `No prebuilt binary is published for ${platform}.`,
        `Prebuilt binaries exist for: ${SUPPORTED_PLATFORMS.join(", ")}.`,
      ];
  lines.push(
    "Or build from source: install Rust (https://rustup.rs), then run `npm rebuild medusa-invites`",
    "(pnpm: `pnpm approve-builds`, then `pnpm rebuild medusa-invites`).",
  );
  return lines.join("\n");
}

module.exports = { IN_REPOSITORY, SUPPORTED_PLATFORMS, currentPlatform, platformOfTriple, platformPackage, whatToDo };
