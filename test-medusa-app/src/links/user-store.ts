// A link from the user module to Medusa's store module, defined with medusa-invites' linkable.
import UserModule from "medusa-invites/medusa"
import StoreModule from "@medusajs/medusa/store"
import { defineLink } from "@medusajs/framework/utils"

export default defineLink(UserModule.linkable.user, StoreModule.linkable.store)
