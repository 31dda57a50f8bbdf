// A process that used the module exits 0 with nothing on stderr but what it printed itself:
// no Rust panic while the runtime shuts down (it used to print "Access tokio runtime failed
// in spawn" in a few percent of runs on a busy machine). 50 child processes per variant (with
// close(), without close(), the CLI), beside two processes that keep both cores busy.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { join } from "node:path"
import { tempDir } from "./helpers"

const ROOT = join(__dirname, "..")
const RUNS = 50
/** Children running at once: enough to keep the machine loaded, few enough to stay quick. */
const PARALLEL = 3

const burners: ChildProcess[] = []

before(() => {
  for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }))
})

after(() => {
  for (const burner of burners) burner.kill("SIGKILL")
})

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stderr }))
  })
}

/** Runs `make(i)` for i < RUNS, PARALLEL at a time; returns every exit. */
async function runMany(make: (i: number) => Promise<Exit>): Promise<Exit[]> {
  const exits: Exit[] = []
  let next = 0
  const lane = async () => {
    while (next < RUNS) exits.push(await make(next++))
  }
  await Promise.all(Array.from({ length: PARALLEL }, lane))
  return exits
}

const script = (close: boolean) => `
const { UserModuleService } = require(${JSON.stringify(ROOT)})
const service = new UserModuleService({ jwt_secret: "clean-exit-secret", database: process.env.DB })
service.createInvites({ email: "someone@example.com" }).then(${close ? "() => service.close()" : "() => {}"})
`

function assertClean(exits: Exit[], expectedStderr: (exit: Exit) => boolean): void {
  const unclean = exits.filter((exit) => exit.code !== 0 || exit.signal !== null || !expectedStderr(exit))
  assert.deepEqual(unclean, [], `${unclean.length} of ${exits.length} runs did not exit cleanly`)
  assert.equal(exits.length, RUNS)
}

test("a process that creates one invite and calls close() exits 0 with an empty stderr", async () => {
  const dir = tempDir()
  const exits = await runMany((i) => run(["-e", script(true)], { DB: `sqlite:${join(dir, `${i}.sqlite`)}` }))
  assertClean(exits, (exit) => exit.stderr === "")
})

test("a process that creates one invite and never calls close() exits 0 with an empty stderr", async () => {
  const dir = tempDir()
  const exits = await runMany((i) => run(["-e", script(false)], { DB: `sqlite:${join(dir, `${i}.sqlite`)}` }))
  assertClean(exits, (exit) => exit.stderr === "")
})

test("the CLI exits 0 and prints only its summary line on stderr", async () => {
  const dir = tempDir()
  const exits = await runMany((i) =>
    run([join(ROOT, "bin", "medusa-invites.js"), "invite", `cli-${i}@example.com`], {
      JWT_SECRET: "clean-exit-secret",
      MEDUSA_INVITES_DATABASE_URL: `sqlite:${join(dir, `${i}.sqlite`)}`,
    }),
  )
  assertClean(exits, (exit) => /^created 1, skipped 0, failed 0 in [\d.]+ s — sqlite:\S+\n$/.test(exit.stderr))
})
