// Types of medusa-invites. They are structural supertypes/subtypes of @medusajs/types@2.21.2,
// so both doors are assignable to IUserModuleService["createInvites"] (docs/behaviour.md).

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

/** Medusa's `Context`: every field is accepted and type-checked (docs/behaviour.md). */
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

/** Medusa's `UserDTO`, in this key order; `roles` are the roles of the invite it accepted. */
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
  roles: string[] | null
}

/** Medusa's `UpdateInviteDTO`, plus `email` and `expires_at`, which Medusa also lets through. */
export interface UpdateInviteDTO {
  id: string
  accepted?: boolean | null
  /** Merged into the stored metadata; a key set to `""` is removed; `null` clears it. */
  metadata?: Record<string, unknown> | null
  roles?: string[] | null
  email?: string
  expires_at?: Date | string
  /** Ignored: tokens are only issued by createInvites and refreshInviteTokens. */
  token?: string
}

/** Medusa's `UpdateUserDTO`, plus `email`, which Medusa also lets through. */
export interface UpdateUserDTO {
  id: string
  first_name?: string | null
  last_name?: string | null
  avatar_url?: string | null
  /** Merged into the stored metadata; a key set to `""` is removed; `null` clears it. */
  metadata?: Record<string, unknown> | null
  email?: string
}

/** The user `acceptInvite` creates; the email defaults to the invite's. */
export interface AcceptInviteUserDTO {
  first_name?: string | null
  last_name?: string | null
  email?: string | null
  avatar_url?: string | null
  metadata?: Record<string, unknown> | null
  id?: string | null
}

/** `$eq`, `$ne`, `$lt`, `$lte`, `$gt`, `$gte` on a date column. */
export interface DateComparisonOperator {
  $eq?: Date | string | null
  $ne?: Date | string | null
  $lt?: Date | string
  $lte?: Date | string
  $gt?: Date | string
  $gte?: Date | string
}

/** Operators on a text column. */
export interface StringComparisonOperator {
  $eq?: string
  $ne?: string
  $in?: string[]
  $nin?: string[]
  $like?: string
  $ilike?: string
}

type TextFilter = string | string[] | StringComparisonOperator

/** Filters of `listInvites` / `listAndCountInvites`. */
export interface FilterableInviteProps {
  /** A case-insensitive substring of the email (taken literally). */
  q?: string
  id?: TextFilter
  email?: TextFilter
  accepted?: boolean
  expires_at?: DateComparisonOperator
  created_at?: DateComparisonOperator
  updated_at?: DateComparisonOperator
  deleted_at?: DateComparisonOperator | null
  $and?: FilterableInviteProps[]
  $or?: FilterableInviteProps[]
}

/** Filters of `listUsers` / `listAndCountUsers`. */
export interface FilterableUserProps {
  /** A case-insensitive substring of the email, first or last name. */
  q?: string
  id?: TextFilter
  email?: TextFilter
  first_name?: TextFilter
  last_name?: TextFilter
  created_at?: DateComparisonOperator
  updated_at?: DateComparisonOperator
  deleted_at?: DateComparisonOperator | null
  $and?: FilterableUserProps[]
  $or?: FilterableUserProps[]
}

/** Medusa's `FindConfig`: the parts this module reads. */
export interface FindConfig<Entity = unknown> {
  /** Only these keys (and `id`) are returned. */
  select?: (string | keyof Entity)[]
  skip?: number | null
  /** `null` or absent: every row. */
  take?: number | null
  /** `{ field: "ASC" | "DESC" }`; `id ASC` by default and as the last tie-breaker. */
  order?: { [field: string]: "ASC" | "DESC" | "asc" | "desc" | any }
  withDeleted?: boolean
  /** Accepted; invites and users have no relations to load. */
  relations?: string[]
  [other: string]: unknown
}

/** A call whose events wait in the outbox: the messages as they will be emitted. */
export interface PendingEvents {
  id: number
  created_at: Date
  messages: EventMessage[]
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
  /**
   * PostgreSQL: `false` lets the server acknowledge a commit before it is on disk
   * (`synchronous_commit=off`): faster, but a server crash can lose the last commits (never
   * half a call). Default `true`.
   */
  postgresSynchronousCommit?: boolean
  /** SQLite durability: `FULL` (default, survives power loss), `NORMAL` or `OFF`. */
  sqliteSynchronous?: "FULL" | "NORMAL" | "OFF" | "full" | "normal" | "off"
  /** How long an `idempotencyKey` replays its call, in seconds (default 86400); older records are deleted. */
  idempotencyRetentionSeconds?: number
  /** Receives `emit(messages, { internal: true })` once per call, after commit. */
  eventBus?: EventBusLike
  /**
   * `"outbox"` (default): with an `eventBus`, each call's events are also stored in the
   * call's own transaction and delivered again if the emit fails or the process dies before
   * it (at least once). `"direct"`: emitted after commit only, as `@medusajs/user` does.
   */
  eventDelivery?: "outbox" | "direct"
  /** How long delivered outbox rows are kept, in seconds (default 86400); older ones are deleted. */
  eventRetentionSeconds?: number
  /** Told with one `warn` line when PostgreSQL calls ran again after a serialization failure or a deadlock (Medusa's logger fits). */
  logger?: { warn(message: string): unknown }
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
  /** Verifies the token and returns its live invite; rotated or expired tokens are refused. */
  validateInviteToken(token: string, sharedContext?: Context): Promise<InviteDTO>
  /** New tokens and `expires_at`; the old tokens stop validating. */
  refreshInviteTokens(inviteIds: string[], sharedContext?: Context): Promise<InviteDTO[]>
  retrieveInvite(id: string, config?: FindConfig<InviteDTO>, sharedContext?: Context): Promise<InviteDTO>
  listInvites(filters?: FilterableInviteProps, config?: FindConfig<InviteDTO>, sharedContext?: Context): Promise<InviteDTO[]>
  listAndCountInvites(filters?: FilterableInviteProps, config?: FindConfig<InviteDTO>, sharedContext?: Context): Promise<[InviteDTO[], number]>
  updateInvites(data: UpdateInviteDTO[], sharedContext?: Context): Promise<InviteDTO[]>
  updateInvites(data: UpdateInviteDTO, sharedContext?: Context): Promise<InviteDTO>
  /** Hard delete. */
  deleteInvites(ids: string[] | string, sharedContext?: Context): Promise<void>
  /** Resolves with `{ invite_id: [...] }`, or `{}` when no live invite matched. */
  softDeleteInvites<TReturnableLinkableKeys extends string = string>(
    inviteIds: string[] | string,
    config?: { returnLinkableKeys?: TReturnableLinkableKeys[] },
    sharedContext?: Context,
  ): Promise<Record<string, string[]>>
  /** Resolves with `{ invite_id: [...] }`, or `{}`; refused when a live invite now holds an email. */
  restoreInvites<TReturnableLinkableKeys extends string = string>(
    inviteIds: string[] | string,
    config?: { returnLinkableKeys?: TReturnableLinkableKeys[] },
    sharedContext?: Context,
  ): Promise<Record<string, string[]>>
  /**
   * Validates the token, then in one transaction creates the user (the invite's email and
   * roles) and soft-deletes the invite. A second accept of the same token is not_found.
   */
  acceptInvite(token: string, user?: AcceptInviteUserDTO, sharedContext?: Context): Promise<UserDTO>
  retrieveUser(id: string, config?: FindConfig<UserDTO>, sharedContext?: Context): Promise<UserDTO>
  listUsers(filters?: FilterableUserProps, config?: FindConfig<UserDTO>, sharedContext?: Context): Promise<UserDTO[]>
  listAndCountUsers(filters?: FilterableUserProps, config?: FindConfig<UserDTO>, sharedContext?: Context): Promise<[UserDTO[], number]>
  /** One object in, one DTO out; an array in, an array out. `user.user.updated` per changed user. */
  updateUsers(data: UpdateUserDTO[], sharedContext?: Context): Promise<UserDTO[]>
  updateUsers(data: UpdateUserDTO, sharedContext?: Context): Promise<UserDTO>
  /** Hard delete (soft-deleted users too); `user.user.deleted` per user. */
  deleteUsers(ids: string[] | string, sharedContext?: Context): Promise<void>
  /** Resolves with `{ user_id: [...] }`, or `{}` when no live user matched. */
  softDeleteUsers<TReturnableLinkableKeys extends string = string>(
    userIds: string[] | string,
    config?: { returnLinkableKeys?: TReturnableLinkableKeys[] },
    sharedContext?: Context,
  ): Promise<Record<string, string[]>>
  /** Resolves with `{ user_id: [...] }` of every user found, or `{}`; refused when a live user now holds an email. */
  restoreUsers<TReturnableLinkableKeys extends string = string>(
    userIds: string[] | string,
    config?: { returnLinkableKeys?: TReturnableLinkableKeys[] },
    sharedContext?: Context,
  ): Promise<Record<string, string[]>>
  /** Opens a transaction. On SQLite it holds the module's write lock until it ends. */
  begin(options?: TransactionOptions): Promise<InviteTransaction>
  /** Runs `work(tx)` in a transaction: commit when it resolves, rollback when it throws. */
  transaction<T>(work: (tx: InviteTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  close(): Promise<void>
  /**
   * Delivers every event still pending in the outbox now, one emit per call, in the order the
   * calls were written. Resolves with the number of calls delivered.
   */
  flushEvents(): Promise<number>
  /** The calls whose events are pending in the outbox, oldest first (default limit 100). */
  listPendingEvents(options?: { limit?: number }): Promise<PendingEvents[]>
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
