// `npm run bench:medusa-app`: the same Medusa 2.21.2 application with medusa-invites as its
// user module and with @medusajs/user, side by side in one run. Each variant is its own
// process on its own database (medusa db:migrate, then the app booted as `medusa start` boots
// it), both running at once; this process signs in to both as an admin and alternates every
// measurement between them (A B, B A, …), so a busy moment of the machine hits both alike.
//
//   POST /admin/invites, 1 invite      one request at a time; median and p95 latency
//   POST /admin/invites, 100 invites   100 requests, 10 in flight; median wall time of 5
//   createInvitesWorkflow, 1,000       one workflow run in the app (src/api/admin/bench);
//                                      median of 5, timed in the app
//
// A failed request (on a busy machine Medusa's own knex pool can time out) is counted and
// reported under the table, not retried.
//
//   node bench.mjs                                   the benchmark
//   node bench.mjs --serve=<module> --database=<url> one app (used by the run above)
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bootApp, call, createDatabase, dropDatabase, migrate, signInAdmin } from "./app.mjs"

const VARIANTS = [
  { name: "medusa-invites", module: "medusa-invites/medusa" },
  { name: "@medusajs/user", module: "@medusajs/user" },
]
const WARMUP_REQUESTS = 30
const SINGLE_REQUESTS = 200
const BATCH_REQUESTS = 100
const IN_FLIGHT = 10
const BATCH_ROUNDS = 5
const WORKFLOW_INVITES = 1000
const WORKFLOW_ROUNDS = 5

const argument = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const sorted = (values) => [...values].sort((a, b) => a - b)
const median = (values) => sorted(values)[Math.floor(values.length / 2)]
const percentile = (values, p) => sorted(values)[Math.min(values.length - 1, Math.floor(values.length * p))]
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6

/** Starts one app in a child process; resolves with `{ baseUrl, token, stop }` once it serves. */
function serve(variant, databaseUrl) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), `--serve=${variant.module}`, `--database=${databaseUrl}`], {
      stdio: ["pipe", "pipe", "inherit"],
    })
    let output = ""
    child.stdout.on("data", (chunk) => {
      output += chunk
      const line = output.split("\n").find((text) => text.startsWith("READY "))
      if (!line) return
      const ready = JSON.parse(line.slice("READY ".length))
      resolve({
        ...ready,
        stop: () => new Promise((done) => {
          child.on("close", done)
          child.stdin.end()
        }),
      })
    })
    child.on("close", (code) => reject(new Error(`the ${variant.name} app exited with ${code}`)))
  })
}

/** Requests that failed, per app, with the first message (a busy machine can exhaust Medusa's own pool). */
const failures = new Map()

async function postInvite(app, email) {
  const { status, body } = await call(app, "POST", "/admin/invites", { token: app.token, body: { email } })
  if (status === 200) return
  const failed = failures.get(app) ?? { count: 0, first: `${status} ${JSON.stringify(body)}` }
  failed.count++
  failures.set(app, failed)
}

async function hundredInvites(app, tag) {
  const start = process.hrtime.bigint()
  let next = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < BATCH_REQUESTS) await postInvite(app, `${tag}-${next++}@bench.example`)
    }),
  )
  return ms(start)
}

async function workflowRun(app, tag) {
  const { status, body } = await call(app, "POST", "/admin/bench/create-invites", { token: app.token, body: { count: WORKFLOW_INVITES, prefix: tag } })
  if (status !== 200 || body.created !== WORKFLOW_INVITES) throw new Error(`createInvitesWorkflow: ${status} ${JSON.stringify(body)}`)
  return body.ms
}

/** Runs `measure(app, round)` for both apps, `rounds` times, alternating which goes first. */
async function alternate(apps, rounds, measure) {
  const results = apps.map(() => [])
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0]
    for (const index of order) results[index].push(await measure(apps[index], round))
  }
  return results
}

async function main() {
  const databases = VARIANTS.map(() => createDatabase("bench_"))
  const apps = []
  try {
    console.log("== medusa db:migrate for both apps")
    await Promise.all(VARIANTS.map((variant, index) => migrate(databases[index].url, variant.module)))
    console.log("== booting both apps")
    for (const [index, variant] of VARIANTS.entries()) apps.push(await serve(variant, databases[index].url))
    let serial = 0
    const email = (tag) => `${tag}-${serial++}@bench.example`

    console.log("== measuring")
    await alternate(apps, WARMUP_REQUESTS, (app) => postInvite(app, email("warm")))
    const single = await alternate(apps, SINGLE_REQUESTS, async (app) => {
      const start = process.hrtime.bigint()
      await postInvite(app, email("one"))
      return ms(start)
    })
    const hundred = await alternate(apps, BATCH_ROUNDS, (app, round) => hundredInvites(app, `hundred${round}`))
    const workflow = await alternate(apps, WORKFLOW_ROUNDS, (app, round) => workflowRun(app, `workflow${round}`))

    const rows = [
      ["POST /admin/invites, 1 invite (median ms)", single.map(median)],
      ["POST /admin/invites, 1 invite (p95 ms)", single.map((values) => percentile(values, 0.95))],
      [`POST /admin/invites, ${BATCH_REQUESTS} invites, ${IN_FLIGHT} in flight (median wall ms of ${BATCH_ROUNDS})`, hundred.map(median)],
      [`createInvitesWorkflow, ${WORKFLOW_INVITES.toLocaleString("en")} invites (median ms of ${WORKFLOW_ROUNDS})`, workflow.map(median)],
    ]
    console.log("\n| measurement | medusa-invites | @medusajs/user | @medusajs/user ÷ medusa-invites |")
    console.log("|---|---:|---:|---:|")
    for (const [label, [ours, theirs]] of rows) console.log(`| ${label} | ${ours.toFixed(1)} | ${theirs.toFixed(1)} | ${(theirs / ours).toFixed(2)}× |`)
    for (const [index, variant] of VARIANTS.entries()) {
      const failed = failures.get(apps[index])
      console.log(`${variant.name}: ${failed ? `${failed.count} POST /admin/invites failed (first: ${failed.first})` : "every request succeeded"}`)
    }
  } finally {
    for (const app of apps) await app.stop()
    for (const database of databases) dropDatabase(database.name)
  }
}

if (argument("serve")) {
  // One app: boot, sign in an admin, report, serve until told to stop.
  const app = await bootApp(argument("database"), argument("serve"))
  const token = await signInAdmin(app, "bench-admin@example.com", "bench-admin-pass")
  process.stdout.write(`READY ${JSON.stringify({ baseUrl: app.baseUrl, token })}\n`)
  process.stdin.resume()
  process.stdin.on("end", async () => {
    await app.stop()
    process.exit(0)
  })
} else {
  await main()
}
