import { test } from "node:test"
import assert from "node:assert/strict"
import { newModule, count } from "./helpers"

test("an invite is created and stored", async () => {
  const m = newModule()
  const invite = await m.service.createInvites({ email: "smoke@example.com" })
  assert.equal(invite.email, "smoke@example.com")
  assert.equal(count(m.file), 1)
  await m.close()
})
