// Compile-only type test (`npm run test:types`): our two doors against the real
// @medusajs/types@2.21.2.
import type { Context as MedusaContext, IUserModuleService, InviteDTO as MedusaInviteDTO, UserDTO as MedusaUserDTO } from "@medusajs/types"
import { createInvites, UserModuleService, MedusaError, type InviteDTO, type UserDTO } from ".."

type MedusaCreateInvites = IUserModuleService["createInvites"]
type MedusaCreateUsers = IUserModuleService["createUsers"]

const service = new UserModuleService({ jwt_secret: "secret", database: ":memory:" })

// Both doors are assignable to Medusa's overloaded method.
export const topLevelDoor: MedusaCreateInvites = createInvites
export const classDoor: MedusaCreateInvites = service.createInvites.bind(service)
export const classMethod: MedusaCreateInvites = service.createInvites
export const usersDoor: MedusaCreateUsers = service.createUsers

// Every lifecycle method is assignable to the same member of IUserModuleService.
type Member<K extends keyof IUserModuleService> = IUserModuleService[K]
export const validateInviteToken: Member<"validateInviteToken"> = service.validateInviteToken
export const refreshInviteTokens: Member<"refreshInviteTokens"> = service.refreshInviteTokens
export const retrieveInvite: Member<"retrieveInvite"> = service.retrieveInvite
export const listInvites: Member<"listInvites"> = service.listInvites
export const listAndCountInvites: Member<"listAndCountInvites"> = service.listAndCountInvites
export const updateInvites: Member<"updateInvites"> = service.updateInvites
export const deleteInvites: Member<"deleteInvites"> = service.deleteInvites
export const softDeleteInvites: Member<"softDeleteInvites"> = service.softDeleteInvites
export const restoreInvites: Member<"restoreInvites"> = service.restoreInvites
export const retrieveUser: Member<"retrieveUser"> = service.retrieveUser
export const listUsers: Member<"listUsers"> = service.listUsers
export const listAndCountUsers: Member<"listAndCountUsers"> = service.listAndCountUsers
export const updateUsers: Member<"updateUsers"> = service.updateUsers
export const deleteUsers: Member<"deleteUsers"> = service.deleteUsers
export const softDeleteUsers: Member<"softDeleteUsers"> = service.softDeleteUsers
export const restoreUsers: Member<"restoreUsers"> = service.restoreUsers

// The whole service is Medusa's IUserModuleService.
export const wholeService: IUserModuleService = service

export async function userShapes(): Promise<void> {
  const one: UserDTO = await service.updateUsers({ id: "user_1", first_name: "Ada" })
  const many: UserDTO[] = await service.updateUsers([{ id: "user_1", metadata: { a: 1 } }])
  // @ts-expect-error a single update gives one DTO, not an array
  const wrongMany: UserDTO[] = await service.updateUsers({ id: "user_1" })
  // @ts-expect-error updateUsers needs an id
  void service.updateUsers({ first_name: "Ada" })
  void [one, many, wrongMany]
}

export async function lifecycleShapes(): Promise<void> {
  const one: InviteDTO = await service.updateInvites({ id: "invite_1", metadata: { a: 1 } })
  const many: InviteDTO[] = await service.updateInvites([{ id: "invite_1", accepted: true }])
  const [page, count]: [InviteDTO[], number] = await service.listAndCountInvites({ email: ["a@x.com"] }, { take: 50 })
  const user: UserDTO = await service.acceptInvite(one.token, { first_name: "Ada" })
  const asMedusaUser: MedusaUserDTO = user
  // @ts-expect-error updateInvites needs an id
  void service.updateInvites({ accepted: true })
  // @ts-expect-error a single update gives one DTO, not an array
  const wrongMany: InviteDTO[] = await service.updateInvites({ id: "invite_1" })
  void [many, page, count, asMedusaUser, wrongMany]
}

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
