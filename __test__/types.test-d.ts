// Compile-only type test (`npm run test:types`): our two doors against the real
// @medusajs/types@2.21.2.
import type { Context as MedusaContext, IUserModuleService, InviteDTO as MedusaInviteDTO } from "@medusajs/types"
import { createInvites, UserModuleService, MedusaError, type InviteDTO } from ".."

type MedusaCreateInvites = IUserModuleService["createInvites"]
type MedusaCreateUsers = IUserModuleService["createUsers"]

const service = new UserModuleService({ jwt_secret: "secret", database: ":memory:" })

// Both doors are assignable to Medusa's overloaded method.
export const topLevelDoor: MedusaCreateInvites = createInvites
export const classDoor: MedusaCreateInvites = service.createInvites.bind(service)
export const classMethod: MedusaCreateInvites = service.createInvites
export const usersDoor: MedusaCreateUsers = service.createUsers

// A Medusa Context passes straight through as sharedContext.
declare const medusaContext: MedusaContext
export async function overloads(): Promise<void> {
  const many: InviteDTO[] = await createInvites([{ email: "a@example.com" }], medusaContext)
  const one: InviteDTO = await service.createInvites({ email: "b@example.com" }, medusaContext)
  // Our DTOs are Medusa's DTOs.
  const asMedusa: MedusaInviteDTO = one
  const manyAsMedusa: MedusaInviteDTO[] = many
  void asMedusa
  void manyAsMedusa
  // An array in gives an array out, an object in gives one object out.
  // @ts-expect-error an array result is not a single DTO
  const wrongSingle: InviteDTO = await createInvites([{ email: "c@example.com" }])
  // @ts-expect-error a single result is not an array
  const wrongMany: InviteDTO[] = await service.createInvites({ email: "d@example.com" })
  void wrongSingle
  void wrongMany
}

export function wrongShapes(): void {
  // @ts-expect-error email is required
  void createInvites({})
  // @ts-expect-error email must be a string
  void createInvites({ email: 5 })
  // @ts-expect-error metadata must be an object
  void createInvites({ email: "a@example.com", metadata: "x" })
  // @ts-expect-error roles must be strings
  void createInvites({ email: "a@example.com", roles: [1] })
  // @ts-expect-error accepted must be a boolean
  void createInvites({ email: "a@example.com", accepted: "yes" })
  // @ts-expect-error sharedContext must be a Context
  void createInvites({ email: "a@example.com" }, { eventGroupId: 5 })
  // @ts-expect-error data must be an invite or an array of invites
  void createInvites("a@example.com")
  // @ts-expect-error jwt_secret is required
  void new UserModuleService({})
}

export const types: string = MedusaError.Types.INVALID_DATA
