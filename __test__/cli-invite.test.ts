// The CLI's invite command, run as an admin would: per-row results from CSV, NDJSON, lines
// and stdin, exit codes, re-runs after a kill, progress, and the configuration rules (no
// example secret outside the demo store, no password in any output).
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import jwt from "jsonwebtoken"
import { count, rows } from "./helpers"
import { BIN, CLI_SECRET, cliEnv, cliPlace, ndjson, runCli, runCliOnTerminal } from "./cli-helpers"

const version = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")).version

function setup() {
  const place = cliPlace()
  const env = cliEnv({ JWT_SECRET: CLI_SECRET, MEDUSA_INVITES_DATABASE_URL: place.url })
  return { ...place, env }
}

const STAFF_CSV = [
  "email,roles,metadata",
  'ada@example.com,admin;developer,"{""team"":""core""}"',
  'grace@example.com,"[""admin""]",',
  "not-an-email,,",
  "ada@example.com,,",
  'linus@example.com,,{broken',
  "alan@example.com,,",
  "",
].join("\n")

describe("invite from a CSV file", () => {
  test("good, bad and duplicate rows: one result per row, the good rows created, exit 1", async () => {
    const { dir, file, env } = setup()
    writeFileSync(join(dir, "staff.csv"), STAFF_CSV)
    const run = await runCli(["invite", "--file", join(dir, "staff.csv"), "--format", "ndjson"], { env })
    assert.equal(run.code, 1, run.stderr)
    const results = ndjson(run.stdout)
    assert.deepEqual(
      results.map(({ row, email, status, reason }) => ({ row, email, status, reason })),
      [
        { row: 1, email: "ada@example.com", status: "created", reason: null },
        { row: 2, email: "grace@example.com", status: "created", reason: null },
        { row: 3, email: "not-an-email", status: "failed", reason: "Invalid email for invite: 'not-an-email'" },
        { row: 4, email: "ada@example.com", status: "failed", reason: "Invite with email: ada@example.com, already exists." },
        { row: 5, email: "linus@example.com", status: "failed", reason: "metadata is not valid JSON" },
        { row: 6, email: "alan@example.com", status: "created", reason: null },
      ],
    )
    for (const result of results) {
      assert.deepEqual(Object.keys(result), ["row", "email", "status", "reason", "id", "token"])
      if (result.status !== "created") {
        assert.equal(result.id, null)
        assert.equal(result.token, null)
        continue
      }
      assert.match(result.id, /^invite_[0-9A-Z]{26}$/)
      const payload = jwt.verify(result.token, CLI_SECRET) as jwt.JwtPayload
      assert.equal(payload.id, result.id)
      assert.equal(payload.email, result.email)
    }
    const stored = rows<{ email: string; metadata: string | null }>(file, "select email, metadata from invite order by email")
    assert.deepEqual(stored, [
      { email: "ada@example.com", metadata: '{"team":"core"}' },
      { email: "alan@example.com", metadata: null },
      { email: "grace@example.com", metadata: null },
    ])
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr)
    assert.match(run.stderr, /^created 3, skipped 0, failed 3 in \d+\.\d\d s — sqlite:/)
  })

  test("roles from a ;-list and from a JSON array are stored", async () => {
    const { dir, env } = setup()
    writeFileSync(join(dir, "staff.csv"), STAFF_CSV)
    await runCli(["invite", "--file", join(dir, "staff.csv")], { env })
    const list = await runCli(["list", "--format", "json"], { env })
    const byEmail = Object.fromEntries(JSON.parse(list.stdout).map((invite: any) => [invite.email, invite]))
    assert.deepEqual(byEmail["ada@example.com"].roles, ["admin", "developer"])
    assert.deepEqual(byEmail["ada@example.com"].metadata, { team: "core" })
    assert.deepEqual(byEmail["grace@example.com"].roles, ["admin"])
    assert.equal(byEmail["alan@example.com"].roles, null)
  })

  test("--skip-existing: existing invites and users are skipped (with the invite's id and token), exit 0", async () => {
    const { dir, file, env } = setup()
    writeFileSync(join(dir, "first.txt"), "ada@example.com\ngrace@example.com\n")
    const first = ndjson((await runCli(["invite", "--file", join(dir, "first.txt")], { env })).stdout)
    writeFileSync(join(dir, "again.txt"), "ada@example.com\nnew@example.com\ngrace@example.com\nnew@example.com\n")
    const run = await runCli(["invite", "--file", join(dir, "again.txt"), "--skip-existing"], { env })
    assert.equal(run.code, 0, run.stderr)
    const results = ndjson(run.stdout)
    assert.deepEqual(
      results.map(({ row, status, reason }) => ({ row, status, reason })),
      [
        { row: 1, status: "skipped", reason: "Invite with email: ada@example.com, already exists." },
        { row: 2, status: "created", reason: null },
        { row: 3, status: "skipped", reason: "Invite with email: grace@example.com, already exists." },
        { row: 4, status: "skipped", reason: "Invite with email: new@example.com, already exists." },
      ],
    )
    assert.equal(results[0].id, first[0].id)
    assert.equal(results[0].token, first[0].token)
    assert.equal(results[2].id, first[1].id)
    assert.equal(count(file), 3)
    assert.match(run.stderr, /^created 1, skipped 3, failed 0 in /)
  })

  test("--skip-existing: an email held by a user is skipped too", async () => {
    const { dir, env, url } = setup()
    const { UserModuleService } = await import("..")
    const service = new UserModuleService({ jwt_secret: CLI_SECRET, database: url })
    await service.createUsers({ email: "user@example.com" })
    await service.close()
    writeFileSync(join(dir, "in.txt"), "user@example.com\nfree@example.com\n")
    const without = await runCli(["invite", "--file", join(dir, "in.txt"), "--dry-run"], { env })
    assert.equal(without.code, 1)
    assert.deepEqual(ndjson(without.stdout).map((r) => [r.status, r.reason]), [
      ["failed", "User account for following email(s) already exist: user@example.com"],
      ["valid", "dry run: not written"],
    ])
    const run = await runCli(["invite", "--file", join(dir, "in.txt"), "--skip-existing"], { env })
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(ndjson(run.stdout).map((r) => [r.status, r.reason]), [
      ["skipped", "User account for following email(s) already exist: user@example.com"],
      ["created", null],
    ])
  })

  test("--dry-run validates every row and writes nothing", async () => {
    const { dir, file, env } = setup()
    writeFileSync(join(dir, "staff.csv"), STAFF_CSV)
    const run = await runCli(["invite", "--file", join(dir, "staff.csv"), "--dry-run"], { env })
    assert.equal(run.code, 1)
    assert.deepEqual(ndjson(run.stdout).map((r) => [r.row, r.status, r.id]), [
      [1, "valid", null],
      [2, "valid", null],
      [3, "failed", null],
      [4, "failed", null],
      [5, "failed", null],
      [6, "valid", null],
    ])
    assert.equal(count(file), 0)
    assert.match(run.stderr, /^valid 3, skipped 0, failed 3 in .* \(dry run: nothing written\)/)
  })

  test("--all-or-nothing: one bad row and nothing is created; all good and all are", async () => {
    const { dir, file, env } = setup()
    writeFileSync(join(dir, "staff.csv"), STAFF_CSV)
    const run = await runCli(["invite", "--file", join(dir, "staff.csv"), "--all-or-nothing", "--chunk-size", "2"], { env })
    assert.equal(run.code, 1)
    const results = ndjson(run.stdout)
    assert.equal(results.length, 6)
    assert.deepEqual(results.map((r) => r.status), ["failed", "failed", "failed", "failed", "failed", "failed"])
    assert.equal(results[0].reason, "not created: 3 row(s) failed and --all-or-nothing is set")
    assert.equal(results[2].reason, "Invalid email for invite: 'not-an-email'")
    assert.equal(count(file), 0)
    const good = await runCli(["invite", "a@example.com", "b@example.com", "--all-or-nothing"], { env })
    assert.equal(good.code, 0, good.stderr)
    assert.deepEqual(ndjson(good.stdout).map((r) => r.status), ["created", "created"])
    assert.equal(count(file), 2)
  })

  test("--invite-url adds each invite's link; csv and json output", async () => {
    const { env } = setup()
    const run = await runCli(["invite", "a+b@example.com", "--invite-url", "https://admin.example.com/app/invite?token={token}", "--format", "csv"], { env })
    assert.equal(run.code, 0, run.stderr)
    const [header, line] = run.stdout.trim().split("\n")
    assert.equal(header, "row,email,status,reason,id,token,url")
    const cells = line.split(",")
    assert.equal(cells[6], `https://admin.example.com/app/invite?token=${encodeURIComponent(cells[5])}`)
    const json = await runCli(["invite", "c@example.com", "--format", "json"], { env })
    const parsed = JSON.parse(json.stdout)
    assert.equal(parsed.length, 1)
    assert.equal(parsed[0].status, "created")
  })

  test("NDJSON input: objects with roles and metadata, email strings, and unreadable lines", async () => {
    const { env } = setup()
    const input = ['{"email":"a@example.com","roles":["admin"],"metadata":{"x":1}}', '"b@example.com"', "not json", "[1]", '{"email":"c@example.com","metadata":[1]}', ""].join("\n")
    const run = await runCli(["invite", "-", "--format-in", "ndjson"], { env, input })
    assert.equal(run.code, 1)
    assert.deepEqual(ndjson(run.stdout).map((r) => [r.row, r.email, r.status, r.reason]), [
      [1, "a@example.com", "created", null],
      [2, "b@example.com", "created", null],
      [3, "", "failed", "the line is not valid JSON"],
      [4, "", "failed", "the line is neither an object nor an email string"],
      [5, "c@example.com", "failed", "Value for Invite.metadata must be an object, 'array' found"],
    ])
  })

  test("the format is detected: a CSV header on stdin, one email per line otherwise", async () => {
    const { env } = setup()
    const csv = await runCli(["invite", "-"], { env, input: "name,email\nAda,ada@example.com\n" })
    assert.deepEqual(ndjson(csv.stdout).map((r) => [r.row, r.email, r.status]), [[1, "ada@example.com", "created"]])
    const lines = await runCli(["invite", "-"], { env, input: "x@example.com\r\n\r\ny@example.com" })
    assert.deepEqual(ndjson(lines.stdout).map((r) => [r.row, r.email, r.status]), [
      [1, "x@example.com", "created"],
      [2, "y@example.com", "created"],
    ])
    const noEmail = await runCli(["invite", "-", "--format-in", "csv"], { env, input: "name\nAda\n" })
    assert.equal(noEmail.code, 2)
    assert.equal(noEmail.stderr, "medusa-invites: the CSV header has no email column\n")
  })

  test("`medusa-invites EMAIL...` is short for `medusa-invites invite EMAIL...`", async () => {
    const { file, env } = setup()
    const run = await runCli(["a@example.com", "b@example.com"], { env })
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(ndjson(run.stdout).map((r) => r.email), ["a@example.com", "b@example.com"])
    assert.equal(count(file), 2)
  })
})

describe("large inputs and re-runs", () => {
  test("stdin with 150,000 emails", async () => {
    const { file, env } = setup()
    const input = Array.from({ length: 150_000 }, (_, i) => `user${i}@example.com`).join("\n")
    const run = await runCli(["invite", "-"], { env, input })
    assert.equal(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n")
    assert.equal(lines.length, 150_000)
    const last = JSON.parse(lines[149_999])
    assert.equal(last.row, 150_000)
    assert.equal(last.email, "user149999@example.com")
    assert.equal(last.status, "created")
    assert.equal(count(file), 150_000)
    assert.match(run.stderr, /^created 150000, skipped 0, failed 0 in /)
  })

  for (const signal of ["SIGKILL", "SIGINT"] as const) {
    test(`a run stopped by ${signal} mid-way, then re-run with --skip-existing: every row once, nothing twice`, async () => {
      const { dir, file, env } = setup()
      const total = 40_000
      writeFileSync(join(dir, "big.txt"), Array.from({ length: total }, (_, i) => `bulk${i}@example.com`).join("\n"))
      const args = [BIN, "invite", "--file", join(dir, "big.txt"), "--chunk-size", "1000"]
      // Stop the first run once it has printed some results (some blocks are committed, more are in flight).
      const stopped = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "ignore"] })
        let printed = 0
        child.stdout.on("data", (chunk: Buffer) => {
          printed += chunk.toString().split("\n").length - 1
          if (printed >= 3000 && printed - chunk.toString().split("\n").length + 1 < 3000) child.kill(signal)
        })
        child.on("close", (code, signal) => resolve({ code, signal }))
      })
      // SIGKILL ends the process where it stands; Ctrl-C (SIGINT) ends it with exit code 130.
      assert.deepEqual(stopped, signal === "SIGKILL" ? { code: null, signal: "SIGKILL" } : { code: 130, signal: null })
      const before = count(file)
      assert.ok(before > 0 && before < total, `the stop came mid-run (${before} of ${total} stored)`)
      const run = await runCli(["invite", "--file", join(dir, "big.txt"), "--skip-existing", "--chunk-size", "1000"], { env })
      assert.equal(run.code, 0, run.stderr)
      const results = ndjson(run.stdout)
      assert.equal(results.length, total)
      const skipped = results.filter((r) => r.status === "skipped")
      const created = results.filter((r) => r.status === "created")
      assert.equal(skipped.length, before)
      assert.equal(created.length, total - before)
      assert.ok(skipped.every((r) => typeof r.id === "string" && typeof r.token === "string"))
      const [{ n, d }] = rows<{ n: number; d: number }>(file, "select count(*) as n, count(distinct email) as d from invite")
      assert.equal(n, total)
      assert.equal(d, total)
    })
  }
})

describe("progress", () => {
  test("not on a terminal: no progress bar, one summary line on stderr", async () => {
    const { env } = setup()
    const input = Array.from({ length: 5000 }, (_, i) => `p${i}@example.com`).join("\n")
    const run = await runCli(["invite", "-", "--chunk-size", "500"], { env, input })
    assert.equal(run.code, 0)
    assert.doesNotMatch(run.stderr, /rows\/s|\r|█|░/)
    assert.equal(run.stderr.split("\n").filter((line) => line !== "").length, 1)
  })

  test("on a terminal (script -qc): a progress bar with rows/s and ETA", async () => {
    const { dir, env } = setup()
    writeFileSync(join(dir, "in.txt"), Array.from({ length: 20_000 }, (_, i) => `t${i}@example.com`).join("\n"))
    const run = runCliOnTerminal(["invite", "--file", join(dir, "in.txt"), "--chunk-size", "500", "--format", "ndjson"], env, join(dir, "out.ndjson"))
    assert.equal(run.code, 0, run.output)
    assert.equal(ndjson(readFileSync(join(dir, "out.ndjson"), "utf8")).length, 20_000)
    assert.match(run.output, /█/)
    assert.match(run.output, /\d+% \| \d+ rows \| \d+ rows\/s \| ETA /)
    assert.match(run.output, /created 20000, skipped 0, failed 0 in /)
  })
})

describe("command line", () => {
  test("--help on every command exits 0; --version prints the package's version", async () => {
    for (const args of [["--help"], ["invite", "--help"], ["list", "--help"], ["resend", "-h"], ["revoke", "--help"], ["validate", "--help"], ["help", "invite"]]) {
      const run = await runCli(args)
      assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`)
      assert.match(run.stdout, /^Usage: medusa-invites/)
      assert.equal(run.stderr, "")
    }
    const run = await runCli(["--version"])
    assert.equal(run.code, 0)
    assert.equal(run.stdout, `${version}\n`)
  })

  test("usage errors exit 2: no command, an unknown command or flag, no input", async () => {
    const none = await runCli([])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /^Usage: medusa-invites/)
    const unknown = await runCli(["frobnicate"])
    assert.equal(unknown.code, 2)
    assert.equal(unknown.stderr, 'medusa-invites: unknown command "frobnicate"; see medusa-invites --help\n')
    const flag = await runCli(["invite", "--nope"])
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /^medusa-invites: Unknown option '--nope'/)
    const empty = await runCli(["invite"])
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /no input/)
    const missing = await runCli(["invite", "--file", "/nonexistent/in.csv"], { env: cliEnv({ JWT_SECRET: CLI_SECRET }) })
    assert.equal(missing.code, 2)
    assert.equal(missing.stderr, "medusa-invites: cannot read /nonexistent/in.csv: no such file\n")
  })
})

describe("configuration", () => {
  test("the demo store (nothing configured) may use the example secret, and says so", async () => {
    const { dir } = cliPlace()
    const run = await runCli(["invite", "demo@example.com"], { cwd: dir })
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /^JWT_SECRET is not set: using the public example secret, for the demo store only\n/)
    assert.match(run.stderr, /sqlite:\.medusa-invites\/invites\.sqlite\n$/)
    assert.equal(count(join(dir, ".medusa-invites", "invites.sqlite")), 1)
  })

  test("no JWT_SECRET with any configured database: exit 2, nothing signed, no password shown", async () => {
    const { dir, file, url } = cliPlace()
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [["invite", "a@example.com"], cliEnv({ MEDUSA_INVITES_DATABASE_URL: url })],
      [["invite", "a@example.com", "--database", url], cliEnv()],
      [["invite", "a@example.com"], cliEnv({ MEDUSA_INVITES_DATABASE_URL: "postgres://admin:hunter2-pw@127.0.0.1:5432/shop" })],
      [["resend", "a@example.com", "--database", "postgresql://admin:hunter2-pw@db.internal/shop"], cliEnv()],
      [["invite", "a@example.com"], cliEnv({ MEDUSA_INVITES_DATABASE_URL: url, JWT_SECRET: "supersecret" })],
    ]
    for (const [args, env] of cases) {
      const run = await runCli(args, { env, cwd: dir })
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`)
      assert.match(run.stderr, /^medusa-invites: JWT_SECRET (is not set|is a public example secret): refusing to/)
      assert.equal(run.stdout, "")
      assert.ok(!(run.stdout + run.stderr).includes("hunter2"), run.stderr)
    }
    const pg = await runCli(["invite", "a@example.com"], { env: cliEnv({ MEDUSA_INVITES_DATABASE_URL: "postgres://admin:hunter2-pw@127.0.0.1:5432/shop" }) })
    assert.equal(
      pg.stderr,
      "medusa-invites: JWT_SECRET is not set: refusing to sign invites for postgres://admin:***@127.0.0.1:5432/shop with an example secret. " +
        "Set JWT_SECRET to the secret of your Medusa app (or use --medusa-config).\n",
    )
    assert.equal(existsSync(file), false, "the store was not even opened")
  })

  test("an unreachable database: exit 3, the URL shown as user:***@host", async () => {
    const env = cliEnv({ JWT_SECRET: CLI_SECRET, MEDUSA_INVITES_DATABASE_URL: "postgres://admin:hunter2-pw@127.0.0.1:1/shop" })
    const run = await runCli(["invite", "a@example.com"], { env })
    assert.equal(run.code, 3)
    assert.match(run.stderr, /^medusa-invites: database_error: /)
    assert.ok(!(run.stdout + run.stderr).includes("hunter2"), run.stderr)
    const list = await runCli(["list"], { env })
    assert.equal(list.code, 3)
    assert.ok(!(list.stdout + list.stderr).includes("hunter2"))
  })

  test("--medusa-config (js): the app's databaseUrl and the user module's jwt_secret", async () => {
    const { dir, file, url } = cliPlace()
    const config = join(dir, "medusa-config.js")
    writeFileSync(
      config,
      `module.exports = { projectConfig: { databaseUrl: ${JSON.stringify(url)}, http: { jwtSecret: "http-secret-1" } },
         modules: [{ resolve: "@medusajs/medusa/user", options: { jwt_secret: "app-secret-1234" } }] }`,
    )
    const run = await runCli(["invite", "a@example.com", "--medusa-config", config], { env: cliEnv() })
    assert.equal(run.code, 0, run.stderr)
    const [result] = ndjson(run.stdout)
    assert.equal((jwt.verify(result.token, "app-secret-1234") as jwt.JwtPayload).email, "a@example.com")
    assert.equal(count(file), 1)
    // Found in the working directory without the flag.
    const auto = await runCli(["invite", "b@example.com"], { env: cliEnv(), cwd: dir })
    assert.equal(auto.code, 0, auto.stderr)
    assert.equal(count(file), 2)
  })

  test("--medusa-config (ts) is loaded with the project's tsx; without a loader: exit 2", async () => {
    const { dir, file, url } = cliPlace()
    mkdirSync(join(dir, "node_modules"))
    symlinkSync(join(__dirname, "..", "node_modules", "tsx"), join(dir, "node_modules", "tsx"))
    const source = `type Config = { projectConfig: { databaseUrl: string; http: { jwtSecret: string } } }
const config: Config = { projectConfig: { databaseUrl: ${JSON.stringify(url)}, http: { jwtSecret: "ts-secret-5678" } } }
export default config
`
    writeFileSync(join(dir, "medusa-config.ts"), source)
    const run = await runCli(["invite", "a@example.com"], { env: cliEnv(), cwd: dir })
    assert.equal(run.code, 0, run.stderr)
    assert.equal((jwt.verify(ndjson(run.stdout)[0].token, "ts-secret-5678") as jwt.JwtPayload).email, "a@example.com")
    assert.equal(count(file), 1)

    const bare = cliPlace()
    writeFileSync(join(bare.dir, "medusa-config.ts"), source)
    const refused = await runCli(["invite", "a@example.com", "--medusa-config", join(bare.dir, "medusa-config.ts")], { env: cliEnv() })
    if ((process.features as { typescript?: unknown }).typescript) return // this Node strips types itself
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /^medusa-invites: cannot load medusa-config\.ts: a TypeScript config needs tsx or ts-node installed in the project/)
  })
})
