// listInvites over 100,000 rows reads a page through an index, never a full scan. The plan is the database's own, for the exact statement listInvites runs (the
// native `explainListInvites` renders it as the store does), on both backends.
import { test } from "node:test"
import assert from "node:assert/strict"
import { UserModuleService } from ".."
import { BACKEND, SECRET, execute, freshDatabase } from "./helpers"
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require("../binding.js")

async function plan(database: unknown, filters: object, config: object): Promise<string[]> {
  const options = JSON.stringify({ jwt_secret: SECRET, database })
  const reply = JSON.parse(await native.explainListInvites(options, JSON.stringify(filters), JSON.stringify(config)))
  if (reply.error) throw new Error(reply.error.message)
  return reply.ok
}

test("a 50-row page of listInvites over 100,000 invites uses an index", { timeout: 120_000 }, async () => {
  const { target, database } = freshDatabase()
  const service = new UserModuleService({ jwt_secret: SECRET, database })
  await service.createInvites(Array.from({ length: 100_000 }, (_, i) => ({ email: `row${i}@example.com` })))
  await service.close()
  // Fresh statistics, as a production database has them (autovacuum analyzes on its own).
  execute(target, "analyze")

  const pages = [
    { filters: {}, config: { take: 50 } },
    { filters: {}, config: { take: 50, skip: 500 } },
    { filters: { id: ["invite_x", "invite_y"] }, config: { take: 50 } },
  ]
  for (const { filters, config } of pages) {
    const lines = await plan(database, filters, config)
    const text = lines.join("\n")
    if (BACKEND === "sqlite") {
      assert.match(text, /USING (COVERING )?INDEX sqlite_autoindex_invite_1|USING INDEX/, text)
      assert.doesNotMatch(text, /^SCAN i$/m, text)
    } else {
      // The page is cut from the primary key index (the limit sits right on the index scan).
      const limit = lines.findIndex((line) => /^\s*(->\s*)?Limit/.test(line))
      assert.ok(limit >= 0, text)
      assert.match(lines[limit + 1], /Index Scan using invite_pkey on invite i/, text)
      assert.doesNotMatch(text, /Seq Scan on invite /, text)
    }
  }

  // A lookup by email (what validate's sibling queries do) uses the email index.
  const byEmail = (await plan(database, { email: "row7@example.com" }, {})).join("\n")
  assert.match(byEmail, /IDX_invite_email_unique/, byEmail)
})
