// Types of medusa-invites. They are structural supertypes/subtypes of @medusajs/types@2.21.2,
// so both doors are assignable to IUserModuleService["createInvites"] (spec §1).

/** Medusa's event message, as delivered to `eventBus.emit`. */
export interface EventMessage<T = unknown> {
  name: string
  metadata: { source: string; object: string; action: string; eventGroupId?: string }
  data: T
  options?: Record<string, unknown>
}

/** Medusa's `IMessageAggregator`, as much of it as this module uses. */
export interface MessageAggregatorLike {
  save(messages: any): void
  getMessages(format?: any): Record<string, any[]>
  clearMessages(...args: any[]): void
}

/** Medusa's `Context`: every field is accepted and type-checked (spec §6). */
export interface Context<TManager = unknown> {
  __type?: "MedusaContext"
  /** A transaction issued by this module (`service.begin()` / `service.transaction()`). */
  transactionManager?: TManager
  manager?: TManager
  /** `READ UNCOMMITTED`, `READ COMMITTED`, `REPEATABLE READ` or `SERIALIZABLE`, any case. */
  isolationLevel?: string
  enableNestedTransactions?: boolean
  /** Copied into every event message's `metadata.eventGroupId`. */
  eventGroupId?: string
  transactionId?: string
  runId?: string
  /** Messages are saved here; after commit everything it holds is emitted and cleared. */
  messageAggregator?: MessageAggregatorLike
  requestId?: string
  idempotencyKey?: string
  parentStepIdempotencyKey?: string
  /** With a messageAggregator: save the messages there and emit nothing. */
  preventReleaseEvents?: boolean
  isCancelling?: boolean
  cancelingFromParentStep?: boolean
}

/** Medusa's `CreateInviteDTO`, plus the fields Medusa also honours on create. */
export interface CreateInviteDTO {
  email: string
  accepted?: boolean | null
  metadata?: Record<string, unknown> | null
  roles?: string[] | null
  /** A non-empty string is kept verbatim; otherwise `invite_<ULID>` is generated. */
  id?: string | null
  created_at?: Date | string | null
  updated_at?: Date | string | null
  deleted_at?: Date | string | null
  /** Accepted and ignored: always generated. */
  token?: string
  /** Accepted and ignored: always computed. */
  expires_at?: Date | string
}

/** Medusa's `InviteDTO`, in this key order. */
export interface InviteDTO {
  id: string
  email: string
  accepted: boolean
  token: string
  expires_at: Date
  metadata: Record<string, unknown> | null
  created_at: Date
  updated_at: Date
  deleted_at: Date | null
  roles: string[] | null
}

/** Medusa's `CreateUserDTO` (user fields). */
export interface CreateUserDTO {
  email: string
  first_name?: string | null
  last_name?: string | null
  avatar_url?: string | null
  metadata?: Record<string, unknown> | null
  id?: string | null
}

/** Medusa's `UserDTO`. */
export interface UserDTO {
  id: string
  first_name: string | null
  last_name: string | null
  email: string
  avatar_url: string | null
  metadata: Record<string, unknown> | null
  created_at: Date
  updated_at: Date
  deleted_at: Date | null
}

/** Any object with Medusa's event bus `emit`. */
export interface EventBusLike {
  emit(messages: EventMessage[], options?: Record<string, unknown>): unknown
}

export interface JwtOptions {
  algorithm?: "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384"
  /** Seconds (an integer) or an `ms` string such as `"2h"`; `"3600"` means 3600 ms, as in Medusa. */
  expiresIn?: number | string
  notBefore?: number | string
  audience?: string | string[]
  issuer?: string
  subject?: string
  jwtid?: string
  keyid?: string
  header?: Record<string, unknown>
  noTimestamp?: boolean
}

export interface UserModuleOptions {
  /** Required: the HMAC secret, or a PEM private key for RS/PS/ES algorithms. */
  jwt_secret: string
  /** Verifies tokens when `jwt_secret` is a private key. */
  jwt_public_key?: string
  jwt_options?: JwtOptions
  jwt_verify_options?: Record<string, unknown>
  /** Token lifetime; wins over `jwt_options.expiresIn`. Default 86400 (seconds). */
  valid_duration?: number | string
  /**
   * `sqlite:<path>`, `:memory:`, `postgres://…`, `postgresql://…`, or Medusa's
   * `{ clientUrl, schema }`. Default `sqlite:.medusa-invites/invites.sqlite`.
   */
  database?: string | { clientUrl: string; schema?: string }
  /** PostgreSQL pool size, 1–1000 (default 10). */
  databasePoolSize?: number
  /** PostgreSQL connect timeout in milliseconds (default 5000). */
  databaseConnectTimeoutMs?: number
  /** SQLite durability: `FULL` (default, survives power loss), `NORMAL` or `OFF`. */
  sqliteSynchronous?: "FULL" | "NORMAL" | "OFF" | "full" | "normal" | "off"
  /** How long an `idempotencyKey` replays its call, in seconds (default 86400); older records are deleted. */
  idempotencyRetentionSeconds?: number
  /** Receives `emit(messages, { internal: true })` once per call, after commit. */
  eventBus?: EventBusLike
}

export type IsolationLevel =
  | "READ UNCOMMITTED" | "READ COMMITTED" | "REPEATABLE READ" | "SERIALIZABLE"
  | "read uncommitted" | "read committed" | "repeatable read" | "serializable"

export interface TransactionOptions {
  /** Any case. SQLite runs every transaction serializable. */
  isolationLevel?: IsolationLevel | (string & {})
}

/** A transaction issued by a module: pass it as `sharedContext.transactionManager`. */
export declare class InviteTransaction {
  private constructor()
  readonly state: "open" | "committing" | "committed" | "rolling back" | "rolled back"
  /** Commits every call made with it, then delivers their events in call order. */
  commit(): Promise<void>
  /** Undoes every call made with it; their events are dropped. */
  rollback(): Promise<void>
}

export declare class UserModuleService {
  constructor(options: UserModuleOptions)
  createInvites(data: CreateInviteDTO[], sharedContext?: Context): Promise<InviteDTO[]>
  createInvites(data: CreateInviteDTO, sharedContext?: Context): Promise<InviteDTO>
  createUsers(data: CreateUserDTO[], sharedContext?: Context): Promise<UserDTO[]>
  createUsers(data: CreateUserDTO, sharedContext?: Context): Promise<UserDTO>
  /** Opens a transaction. On SQLite it holds the module's write lock until it ends. */
  begin(options?: TransactionOptions): Promise<InviteTransaction>
  /** Runs `work(tx)` in a transaction: commit when it resolves, rollback when it throws. */
  transaction<T>(work: (tx: InviteTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  close(): Promise<void>
}

/** `createInvites` on the default module (JWT_SECRET, MEDUSA_INVITES_DATABASE_URL). */
export declare function createInvites(data: CreateInviteDTO[], sharedContext?: Context): Promise<InviteDTO[]>
export declare function createInvites(data: CreateInviteDTO, sharedContext?: Context): Promise<InviteDTO>

/** Replaces the environment as the default module's configuration. */
export declare function configure(options: UserModuleOptions): UserModuleService
export declare function getDefaultModule(): UserModuleService
export declare function optionsFromEnvironment(env?: Record<string, string | undefined>): UserModuleOptions
export declare const DEFAULT_DATABASE: string

export type MedusaErrorType =
  | "database_error" | "duplicate_error" | "invalid_argument" | "invalid_data" | "unauthorized"
  | "forbidden" | "not_found" | "not_allowed" | "unexpected_state" | "conflict" | "unknown_modules"
  | "payment_authorization_error" | "payment_requires_more_error"

export declare class MedusaError extends Error {
  __isMedusaError: true
  type: string
  code?: string
  date: Date
  /** The batch index of the item that failed, where known. */
  index?: number
  constructor(type: string, message: string, code?: string, ...params: any[])
  static isMedusaError(error: unknown): error is MedusaError
  static Types: {
    DB_ERROR: "database_error"
    DUPLICATE_ERROR: "duplicate_error"
    INVALID_ARGUMENT: "invalid_argument"
    INVALID_DATA: "invalid_data"
    UNAUTHORIZED: "unauthorized"
    FORBIDDEN: "forbidden"
    NOT_FOUND: "not_found"
    NOT_ALLOWED: "not_allowed"
    UNEXPECTED_STATE: "unexpected_state"
    CONFLICT: "conflict"
    UNKNOWN_MODULES: "unknown_modules"
    PAYMENT_AUTHORIZATION_ERROR: "payment_authorization_error"
    PAYMENT_REQUIRES_MORE_ERROR: "payment_requires_more_error"
  }
  static Codes: {
    INSUFFICIENT_INVENTORY: "insufficient_inventory"
    CART_INCOMPATIBLE_STATE: "cart_incompatible_state"
    UNKNOWN_MODULES: "unknown_modules"
  }
}
