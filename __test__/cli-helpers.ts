// Helpers of the CLI tests: run `medusa-invites` as a user would (a child process), with a
// fresh SQLite file, and read what it printed.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const BIN = join(__dirname, "..", "bin", "medusa-invites.js")
export const CLI_SECRET = "cli-test-secret-7d41"

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A fresh working directory and SQLite URL for one test. */
export function cliPlace(): { dir: string; file: string; url: string } {
  const dir = mkdtempSync(join(tmpdir(), "medusa-invites-cli-"))
  const file = join(dir, "invites.sqlite")
  return { dir, file, url: `sqlite:${file}` }
}

/** The environment of a run: no inherited database or secret, unless given. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.JWT_SECRET
  delete env.MEDUSA_INVITES_DATABASE_URL
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value
  return env
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: options.env ?? cliEnv(), cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on("data", (chunk) => out.push(chunk))
    child.stderr.on("data", (chunk) => err.push(chunk))
    child.on("error", reject)
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    )
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
  })
}

/**
 * Runs the CLI under `script -qc`, so its stderr is a terminal; stdout goes to `stdoutFile`.
 * Returns what the terminal showed.
 */
export function runCliOnTerminal(args: string[], env: NodeJS.ProcessEnv, stdoutFile: string): { code: number | null; output: string } {
  const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`
  const command = `${[process.execPath, BIN, ...args].map(quote).join(" ")} > ${quote(stdoutFile)}`
  const run = spawnSync("script", ["-qec", command, "/dev/null"], { env, encoding: "utf8" })
  return { code: run.status, output: run.stdout }
}

/** The NDJSON lines of stdout, parsed. */
export function ndjson<T = Record<string, any>>(stdout: string): T[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as T)
}
