// `medusa-invites/medusa`: this package as Medusa's user module (in place of @medusajs/user).
import type { ModuleExports } from "@medusajs/framework/types"
import type { UserModuleOptions } from "../../index"
import { UserModuleService } from "../../index"

/** The module's options: @medusajs/user's (`jwt_secret`, …) plus this package's own; the event bus comes from the app. */
export type MedusaUserModuleOptions = Omit<UserModuleOptions, "eventBus" | "database"> & {
  /**
   * A `postgres://` URL or Medusa's `{ clientUrl, schema }` (an empty schema is the default
   * one). Absent: the app's own database (`projectConfig.databaseUrl`).
   */
  database?: string | { clientUrl?: string; schema?: string; [other: string]: unknown }
}

/** Medusa's user module service: `new MedusaUserModuleService(container, options)`. */
export declare class MedusaUserModuleService extends UserModuleService {
  constructor(container: Record<string, unknown>, options: MedusaUserModuleOptions)
  __joinerConfig(): Record<string, unknown>
  __hooks: {
    onApplicationPrepareShutdown: () => Promise<void>
    onApplicationShutdown: () => Promise<void>
  }
}

/** The database this module uses for these options in this container (throws a MedusaError when there is none). */
export declare function resolveDatabase(options: MedusaUserModuleOptions | undefined, container: Record<string, unknown>): string | { clientUrl: string; schema: string }

/** Medusa's module migration: creates what is missing of the module's tables. */
export declare function runMigrations(args: { options?: MedusaUserModuleOptions; container?: any; logger?: any }): Promise<{ name: string }[]>
export declare function revertMigration(): Promise<void>

/** `linkable.user` and `linkable.invite`, for `defineLink`. */
export declare const linkable: Record<string, any>
export declare const service: typeof MedusaUserModuleService

declare const _default: ModuleExports<typeof MedusaUserModuleService> & {
  linkable: Record<string, any>
  runMigrations: typeof runMigrations
  revertMigration: typeof revertMigration
}
export default _default
