// Records every user.invite.created the app's event bus delivers, for the test to read.
import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"

export default async function inviteCreated({ event }: SubscriberArgs<{ id: string }>) {
  const received = ((globalThis as any).__inviteCreatedEvents ??= [])
  received.push({ name: event.name, data: event.data })
}

export const config: SubscriberConfig = { event: "user.invite.created" }
