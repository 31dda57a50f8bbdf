// `npm run bench:medusa-app`: the same Medusa 2.21.2 application, once with medusa-invites as
// its user module and once with @medusajs/user, side by side in one run. Each variant runs in
// a process of its own on a database of its own (medusa db:migrate, then the app booted as
// `medusa start` boots it), signed in as an admin over HTTP:
//
//   POST /admin/invites, 1 invite      one request at a time; median and p95 latency
//   POST /admin/invites, 100 invites   100 requests, 10 in flight; wall time
//   createInvitesWorkflow, 1,000       one workflow run with 1,000 invites; median of 3
//
//   node bench.mjs                     both variants, then the ratios
//   node bench.mjs --variant=<module>  one variant (used by the run above); prints JSON
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { bootApp, call, createDatabase, dropDatabase, migrate, signInAdmin } from "./app.mjs"

const require = createRequire(import.meta.url)
const VARIANTS = [
  { name: "medusa-invites", module: "medusa-invites/medusa" },
  { name: "@medusajs/user", module: "@medusajs/user" },
]
const SINGLE_REQUESTS = 200
const WARMUP_REQUESTS = 30
const BATCH_REQUESTS = 100
const IN_FLIGHT = 10
const WORKFLOW_INVITES = 1000
const WORKFLOW_RUNS = 3

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6

async function postInvite(app, token, email) {
  const { status, body } = await call(app, "POST", "/admin/invites", { token, body: { email } })
  if (status !== 200) throw new Error(`POST /admin/invites: ${status} ${JSON.stringify(body)}`)
}

async function runVariant(userModule) {
  const database = createDatabase("bench_")
  let app
  try {
    await migrate(database.url, userModule)
    app = await bootApp(database.url, userModule)
    const token = await signInAdmin(app, "bench-admin@example.com", "bench-admin-pass")
    let serial = 0
    const email = (tag) => `${tag}-${serial++}@bench.example`

    for (let i = 0; i < WARMUP_REQUESTS; i++) await postInvite(app, token, email("warm"))
    const single = []
    for (let i = 0; i < SINGLE_REQUESTS; i++) {
      const start = process.hrtime.bigint()
      await postInvite(app, token, email("one"))
      single.push(ms(start))
    }

    const batchStart = process.hrtime.bigint()
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < BATCH_REQUESTS) {
          next++
          await postInvite(app, token, email("hundred"))
        }
      }),
    )
    const hundred = ms(batchStart)

    const { createInvitesWorkflow } = require("@medusajs/core-flows")
    const workflowRuns = []
    for (let run = 0; run < WORKFLOW_RUNS; run++) {
      const invites = Array.from({ length: WORKFLOW_INVITES }, () => ({ email: email("workflow") }))
      const start = process.hrtime.bigint()
      const { result } = await createInvitesWorkflow(app.container).run({ input: { invites } })
      workflowRuns.push(ms(start))
      if (result.length !== WORKFLOW_INVITES) throw new Error(`createInvitesWorkflow returned ${result.length} invites`)
    }
    return {
      singleMedianMs: median(single),
      singleP95Ms: percentile(single, 0.95),
      hundredWallMs: hundred,
      workflow1000MedianMs: median(workflowRuns),
    }
  } finally {
    if (app) await app.stop()
    dropDatabase(database.name)
  }
}

const fixed = (value) => value.toFixed(1)

if (process.argv.some((arg) => arg.startsWith("--variant="))) {
  const userModule = process.argv.find((arg) => arg.startsWith("--variant=")).slice("--variant=".length)
  const result = await runVariant(userModule)
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(result)}\n`)
  process.exit(0)
} else {
  const results = {}
  for (const variant of VARIANTS) {
    console.log(`== ${variant.name}: migrate, boot, measure`)
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--variant=${variant.module}`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    const line = run.stdout.split("\n").find((text) => text.startsWith("BENCH_RESULT "))
    if (run.status !== 0 || !line) throw new Error(`the ${variant.name} run failed (exit ${run.status})\n${run.stdout.slice(-2000)}`)
    results[variant.name] = JSON.parse(line.slice("BENCH_RESULT ".length))
  }
  const ours = results["medusa-invites"]
  const theirs = results["@medusajs/user"]
  const rows = [
    ["POST /admin/invites, 1 invite (median ms)", "singleMedianMs"],
    ["POST /admin/invites, 1 invite (p95 ms)", "singleP95Ms"],
    [`POST /admin/invites, ${BATCH_REQUESTS} invites, ${IN_FLIGHT} in flight (wall ms)`, "hundredWallMs"],
    [`createInvitesWorkflow, ${WORKFLOW_INVITES} invites (median of ${WORKFLOW_RUNS}, ms)`, "workflow1000MedianMs"],
  ]
  console.log("\n| measurement | medusa-invites | @medusajs/user | @medusajs/user ÷ medusa-invites |")
  console.log("|---|---:|---:|---:|")
  for (const [label, key] of rows) console.log(`| ${label} | ${fixed(ours[key])} | ${fixed(theirs[key])} | ${(theirs[key] / ours[key]).toFixed(2)}× |`)
}
