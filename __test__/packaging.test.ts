// How the package finds its native addon: the loader napi-rs generates, the per-platform
// packages under npm/, the exports map, and the error when no addon loads. Loading cases run in
// a child process, because a process loads the addon once.
import { test } from "node:test"
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"

const packageDir = resolve(__dirname, "..")
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"))
const { currentPlatform, platformOfTriple, SUPPORTED_PLATFORMS } = require("../lib/platform")

function runChild(script: string, env: Record<string, string | undefined>): any {
  const childEnv: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) childEnv[key] = value
  const prelude = `const lib = require(${JSON.stringify(packageDir)});`
  const out = execFileSync(process.execPath, ["-e", prelude + script], { env: childEnv, cwd: packageDir, encoding: "utf8" })
  return JSON.parse(out)
}

const createOne = `
  lib.createInvites({ email: "loader@example.com" })
    .then((invite) => process.stdout.write(JSON.stringify({ ok: invite.email })))
    .catch((e) => process.stdout.write(JSON.stringify({ type: e.type, message: e.message })));`

test("target triples map to napi-rs platform names", () => {
  assert.deepEqual(manifest.napi.targets.map(platformOfTriple), [
    "linux-x64-gnu",
    "linux-arm64-gnu",
    "linux-x64-musl",
    "darwin-x64",
    "darwin-arm64",
    "win32-x64-msvc",
  ])
  assert.deepEqual(SUPPORTED_PLATFORMS, manifest.napi.targets.map(platformOfTriple))
})

test("every target has its package under npm/, named, versioned and restricted to its platform", () => {
  assert.deepEqual(readdirSync(join(packageDir, "npm")).sort(), [...SUPPORTED_PLATFORMS].sort())
  for (const platform of SUPPORTED_PLATFORMS) {
    const platformManifest = JSON.parse(readFileSync(join(packageDir, "npm", platform, "package.json"), "utf8"))
    const [os, cpu, abi] = platform.split("-")
    assert.equal(platformManifest.name, `medusa-invites-${platform}`)
    assert.equal(platformManifest.version, manifest.version)
    assert.equal(platformManifest.main, `medusa-invites.${platform}.node`)
    assert.deepEqual(platformManifest.files, [`medusa-invites.${platform}.node`])
    assert.deepEqual(platformManifest.os, [os])
    assert.deepEqual(platformManifest.cpu, [cpu])
    if (abi === "gnu") assert.deepEqual(platformManifest.libc, ["glibc"])
    if (abi === "musl") assert.deepEqual(platformManifest.libc, ["musl"])
  }
})

test("the loader names this version, and looks for the local build and the platform package", () => {
  const loader = readFileSync(join(packageDir, "binding.js"), "utf8")
  const platform = currentPlatform()
  assert.ok(loader.includes(`require('./medusa-invites.${platform}.node')`))
  assert.ok(loader.includes(`require('medusa-invites-${platform}')`))
  assert.ok(loader.includes(`bindingPackageVersion !== '${manifest.version}'`), "npm run build after a version change")
})

test("NAPI_RS_NATIVE_LIBRARY_PATH loads the addon from that path", () => {
  const addon = join(packageDir, `medusa-invites.${currentPlatform()}.node`)
  assert.ok(existsSync(addon), "npm run build")
  const result = runChild(createOne, { JWT_SECRET: "loader-secret", MEDUSA_INVITES_DATABASE_URL: ":memory:", NAPI_RS_NATIVE_LIBRARY_PATH: addon })
  assert.deepEqual(result, { ok: "loader@example.com" })
})

test("when no addon loads, the call rejects naming the platform, why, and what to do", () => {
  const missing = join(packageDir, "no-such-dir", "medusa-invites.node")
  const result = runChild(createOne, { JWT_SECRET: "loader-secret", MEDUSA_INVITES_DATABASE_URL: ":memory:", NAPI_RS_NATIVE_LIBRARY_PATH: missing })
  const platform = currentPlatform()
  assert.equal(result.type, "unexpected_state")
  // In the repository the advice is the contributor's; npm run test:package checks a user's.
  assert.deepEqual(result.message.split("\n"), [
    `medusa-invites: the native addon could not be loaded on ${platform} (Cannot find module '${missing}').`,
    "In a clone of the repository, build it: `npm run build` (needs Rust: https://rustup.rs).",
  ])
})

test("a user is told to reinstall with optional dependencies, or that the platform has no prebuilt binary", () => {
  const { whatToDo } = require("../lib/platform")
  const fromSource = [
    "Or build from source: install Rust (https://rustup.rs), then run `npm rebuild medusa-invites`",
    "(pnpm: `pnpm approve-builds`, then `pnpm rebuild medusa-invites`).",
  ]
  assert.deepEqual(whatToDo("linux-arm64-gnu", false).split("\n"), [
    "A prebuilt binary exists for linux-arm64-gnu: it is the optional dependency medusa-invites-linux-arm64-gnu.",
    "Reinstall without omitting optional dependencies (no --omit=optional / --no-optional),",
    "and install on the machine (OS, CPU and C library) that runs the code.",
    ...fromSource,
  ])
  assert.deepEqual(whatToDo("freebsd-x64", false).split("\n"), [
    "No prebuilt binary is published for freebsd-x64.",
    "Prebuilt binaries exist for: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, darwin-x64, darwin-arm64, win32-x64-msvc.",
    ...fromSource,
  ])
})

test("the exports map gives require and import the same module, and hides internal files", () => {
  const result = runChild(
    `
    import("medusa-invites").then((esm) => {
      const cjs = require("medusa-invites");
      let internal;
      try { require("medusa-invites/lib/native.js"); internal = "loaded"; } catch (e) { internal = e.code; }
      process.stdout.write(JSON.stringify({
        same: esm.default === cjs && esm.createInvites === cjs.createInvites && esm.UserModuleService === cjs.UserModuleService,
        names: Object.keys(esm).filter((name) => name !== "default").sort(),
        version: require("medusa-invites/package.json").version,
        internal,
      }));
    });`,
    {},
  )
  assert.deepEqual(result, {
    same: true,
    names: Object.keys(require("..")).sort(),
    version: manifest.version,
    internal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
  })
})
