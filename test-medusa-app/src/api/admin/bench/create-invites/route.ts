// Benchmark only (bench.mjs): runs Medusa's createInvitesWorkflow with `count` invites in the
// app and reports how long the run took, measured in the app. Admin routes need an admin.
import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { createInvitesWorkflow } from "@medusajs/core-flows"

export async function POST(req: MedusaRequest<{ count: number; prefix: string }>, res: MedusaResponse) {
  const { count, prefix } = req.body
  const invites = Array.from({ length: count }, (_, index) => ({ email: `${prefix}-${index}@bench.example` }))
  const start = process.hrtime.bigint()
  const { result } = await createInvitesWorkflow(req.scope).run({ input: { invites } })
  res.json({ ms: Number(process.hrtime.bigint() - start) / 1e6, created: result.length })
}
