// Compile-only: the types of medusa-invites/medusa in a Medusa app (tsc -p tsconfig.json).
import type { IUserModuleService } from "@medusajs/framework/types"
import { defineLink } from "@medusajs/framework/utils"
import UserModule, { MedusaUserModuleService } from "medusa-invites/medusa"

declare const service: MedusaUserModuleService
export const asMedusa: IUserModuleService = service
export const link = defineLink(UserModule.linkable.user, UserModule.linkable.invite)
export const key: string = UserModule.service.name
