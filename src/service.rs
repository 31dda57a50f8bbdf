//! The module: every call of `UserModuleService`, one method each, behind both doors (the
//! top-level function and the class). A call builds its `Op` (new rows are `create`'s work)
//! and runs it in a transaction of its own or in the caller's (`transactions`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::context::{CallContext, IsolationLevel};
use crate::create::{new_user, prepare_invites};
use crate::error::{Error, Result};
use crate::idempotency::{created_response, Created, Replay};
use crate::ids::IdGenerator;
use crate::invite::{Invite, InviteUpdate, NewInvite, NewUser};
use crate::lifecycle::{check_invite, Call, Done, EventsMode, Op, Outcome};
use crate::messages::{self, CLOSED};
use crate::options::{Database, ModuleOptions, Synchronous};
use crate::query::{Entity, Query};
use crate::session::Found;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use crate::token::{TokenOptions, TokenSigner};
use crate::transactions::Transactions;
use crate::users::{UserOp, UserUpdate};
use crate::verify::{InviteId, TokenVerifier};

/// The store opens on first use, on the blocking pool, never on the JS thread.
enum StoreState {
  NotOpened,
  Open(Arc<dyn Store>),
  Closed,
}

/// How one call runs (from `sharedContext`).
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
  pub context: CallContext,
  /// A transaction issued by `begin`; `None` gives the call a transaction of its own.
  pub transaction: Option<u64>,
  /// The hash of a createInvites call's input (`idempotency::InputHash`) when it has an
  /// idempotency key.
  pub input_hash: Option<String>,
  /// What to do with the call's events.
  pub events: EventsMode,
}

/// What a call resolves with: its result JSON, and whether it is the replay of an earlier
/// call with the same idempotency key and input (then nothing was written).
pub struct Reply {
  pub json: String,
  /// Text that goes to JS beside `json` (createInvites: its tokens, see `idempotency::Created`).
  pub tokens: Option<String>,
  pub replayed: bool,
  /// The call's event record (`events::Record` JSON), to deliver.
  pub events: Option<String>,
  /// The outbox row holding that record, to mark delivered once it is.
  pub outbox: Option<i64>,
  /// The result went ahead (`EarlyResult`): this reply only settles it, with no `json`.
  pub early: bool,
}

/// Takes a createInvites result as soon as it is built, while its invites are still being
/// written, so that JS builds the DTOs meanwhile; the call's reply then says only whether
/// the write succeeded (`Reply::early`).
pub type EarlyResult = Box<dyn FnOnce(Created) + Send>;

impl From<String> for Reply {
  fn from(json: String) -> Self {
    Reply {
      json,
      tokens: None,
      replayed: false,
      events: None,
      outbox: None,
      early: false,
    }
  }
}

impl From<Created> for Reply {
  fn from(created: Created) -> Self {
    Reply {
      tokens: Some(created.tokens),
      ..Reply::from(created.json)
    }
  }
}

impl Reply {
  /// `result` (JSON, or a createInvites response), with the events of the call that
  /// produced `outcome`.
  pub fn with_events(result: impl Into<Reply>, outcome: Outcome) -> Self {
    Reply {
      events: outcome.record,
      outbox: outcome.outbox_id,
      ..result.into()
    }
  }
}

pub struct InviteModule {
  /// Option errors (a bad `expiresIn`, an unknown `jwt_options` key) reject every call, as
  /// they do in Medusa, where jsonwebtoken reports them when signing.
  signer: Result<Arc<TokenSigner>>,
  verifier: TokenVerifier,
  database: Database,
  synchronous: Synchronous,
  idempotency_retention_ms: i64,
  event_retention_ms: i64,
  store: tokio::sync::Mutex<StoreState>,
  transactions: Transactions,
  /// `close()` was called: every later call is refused, even one with nothing to write.
  closed: AtomicBool,
  /// PostgreSQL calls run again after a serialization failure or a deadlock, not yet reported.
  retries: Arc<AtomicU64>,
}

pub fn now_ms() -> i64 {
  chrono::Utc::now().timestamp_millis()
}

/// Runs CPU-bound work (parsing, signing) on the blocking pool, so a large batch does not
/// stall the async runtime; small work runs in place, since a thread hop would cost more
/// than the work. Never on the JS thread either way.
pub async fn cpu_work<T: Send + 'static>(
  small: bool,
  work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
  if small {
    return work();
  }
  tokio::task::spawn_blocking(work)
    .await
    .map_err(|_| messages::internal_error())?
}

/// Batches up to this size are signed in place (about 2 µs per HS256 token).
const SMALL_BATCH: usize = 64;

impl InviteModule {
  pub fn new(options: ModuleOptions) -> Self {
    let signer = TokenSigner::new(TokenOptions {
      secret: &options.jwt_secret,
      jwt_options: options.jwt_options.as_ref(),
      valid_duration: options.valid_duration.as_ref(),
    })
    .map(Arc::new);
    // jwt_verify_options ?? jwt_options, and jwt_public_key ?? jwt_secret (docs/behaviour.md).
    let verifier = TokenVerifier::new(
      &options.jwt_secret,
      options.jwt_public_key.as_deref(),
      options
        .jwt_verify_options
        .as_ref()
        .or(options.jwt_options.as_ref()),
    );
    InviteModule {
      signer,
      verifier,
      database: options.database,
      synchronous: options.synchronous,
      idempotency_retention_ms: options.idempotency_retention_ms,
      event_retention_ms: options.event_retention_ms,
      store: tokio::sync::Mutex::new(StoreState::NotOpened),
      transactions: Transactions::default(),
      closed: AtomicBool::new(false),
      retries: Arc::new(AtomicU64::new(0)),
    }
  }

  pub fn mark_closed(&self) {
    self.closed.store(true, Ordering::Release);
  }

  pub fn is_closed(&self) -> bool {
    self.closed.load(Ordering::Acquire)
  }

  /// The retries (see `retries`) since the last time this was asked, for the caller's logger.
  pub fn take_retries(&self) -> u64 {
    self.retries.swap(0, Ordering::Relaxed)
  }

  async fn store(&self) -> Result<Arc<dyn Store>> {
    let mut state = self.store.lock().await;
    match &*state {
      StoreState::Open(store) => Ok(Arc::clone(store)),
      StoreState::Closed => Err(Error::unexpected_state(CLOSED)),
      StoreState::NotOpened => {
        let store: Arc<dyn Store> = match &self.database {
          Database::Sqlite(location) => {
            Arc::new(SqliteStore::open(location.clone(), self.synchronous).await?)
          }
          Database::Postgres(config) => {
            Arc::new(PostgresStore::open(config.clone(), Arc::clone(&self.retries)).await?)
          }
        };
        *state = StoreState::Open(Arc::clone(&store));
        Ok(store)
      }
    }
  }

  fn signer(&self) -> Result<&Arc<TokenSigner>> {
    self.signer.as_ref().map_err(Clone::clone)
  }

  /// Runs a call in its own transaction, or inside the caller's (docs/behaviour.md).
  async fn run(&self, op: Op, call: &CallOptions) -> Result<Outcome> {
    let run = Call {
      op,
      events: call.events,
      event_group_id: call.context.event_group_id.clone(),
      now: now_ms(),
    };
    match call.transaction {
      None => {
        let store = self.store().await?;
        store.run(run, call.context.isolation_level).await
      }
      Some(id) => {
        let nested = call.context.enable_nested_transactions;
        self.transactions.run(id, run, nested).await
      }
    }
  }

  /// `createInvites`: builds every invite, then stores the batch in one transaction
  /// (docs/behaviour.md). Resolves with `idempotency::created_response`.
  pub async fn create_invites(
    self: &Arc<Self>,
    batch: Vec<NewInvite>,
    call: CallOptions,
    early: Option<EarlyResult>,
  ) -> Result<Reply> {
    let now = now_ms();
    if batch.is_empty() {
      return Ok(created_response(now, now, &[]).into());
    }
    let signer = Arc::clone(self.signer()?);
    let small = batch.len() <= SMALL_BATCH;
    let created = cpu_work(small, move || prepare_invites(&signer, batch, now)).await?;
    let (now, expires_at) = (created.now, created.expires_at);
    let invites = Arc::new(created.invites);
    let respond = {
      let invites = Arc::clone(&invites);
      move || Ok(created_response(now, expires_at, &invites))
    };
    // With an idempotency key the response is stored with the invites, so it is built first;
    // otherwise it is built while they are written, and goes ahead to `early` if given.
    let (response, replay) = match (&call.context.idempotency_key, &call.input_hash) {
      (Some(key), Some(input_hash)) => {
        let response = respond()?;
        let replay = Replay {
          key: key.clone(),
          input_hash: input_hash.clone(),
          response: response.stored(),
          now,
          retention_ms: self.idempotency_retention_ms,
        };
        (Some(response), Some(replay))
      }
      _ => (None, None),
    };
    let op = Op::CreateInvites { invites, replay };
    let (outcome, response) = match response {
      Some(response) => (self.run(op, &call).await?, Some(response)),
      None => {
        let respond_now = async {
          let response = cpu_work(small, respond).await?;
          Ok::<_, Error>(match early {
            Some(early) => {
              early(response);
              None
            }
            None => Some(response),
          })
        };
        let (outcome, response) = tokio::join!(self.run(op, &call), respond_now);
        (outcome?, response?)
      }
    };
    if let Done::Replayed(json) = outcome.done {
      return Ok(Reply {
        replayed: true,
        ..Reply::from(json)
      });
    }
    Ok(match response {
      Some(response) => Reply::with_events(response, outcome),
      None => Reply {
        early: true,
        ..Reply::with_events(String::new(), outcome)
      },
    })
  }

  /// `createUsers` (Medusa's user fields): `Done::Users`, the users stored in input order.
  pub async fn create_users(&self, batch: Vec<NewUser>, call: CallOptions) -> Result<Outcome> {
    let now = now_ms();
    let mut ids = IdGenerator::new(now);
    let users = batch
      .into_iter()
      .map(|item| new_user(item, &mut ids, now))
      .collect::<Result<Vec<_>>>()?;
    if users.is_empty() {
      // Nothing to write: the store is not even opened.
      return Ok(Outcome {
        done: Done::Users(Found {
          rows: users,
          count: None,
        }),
        record: None,
        outbox_id: None,
      });
    }
    self.run(Op::CreateUsers { users }, &call).await
  }

  /// `list*` and `listAndCount*`.
  pub async fn find(&self, query: Query, call: &CallOptions) -> Result<Outcome> {
    self.run(Op::Find(query), call).await
  }

  /// The id a token carries once it verifies (jsonwebtoken's checks and messages).
  fn verified_invite_id(&self, token: &str, now: i64) -> Result<String> {
    match self.verifier.verify(token, now)? {
      InviteId::Id(id) => Ok(id),
      InviteId::Missing => Err(messages::id_must_be_defined("invite")),
    }
  }

  /// `validateInviteToken`: a verified token that is the live invite's current one, not
  /// expired (docs/behaviour.md).
  pub async fn validate_invite_token(&self, token: &str, call: &CallOptions) -> Result<Invite> {
    let now = now_ms();
    let id = self.verified_invite_id(token, now)?;
    let query = Query::by_ids(Entity::Invite, std::slice::from_ref(&id), false);
    let invite = match self.find(query, call).await?.done {
      Done::Invites(found) => found.rows.into_iter().next(),
      _ => None,
    }
    .ok_or_else(|| messages::not_found("Invite", &id))?;
    check_invite(&invite, token, now)?;
    Ok(invite)
  }

  /// `retrieveInvite` / `retrieveUser`: the live row with this id, `config` applied, or
  /// Medusa's not_found messages.
  pub async fn retrieve(
    &self,
    entity: Entity,
    id: Option<&str>,
    config: &serde_json::Value,
    call: &CallOptions,
  ) -> Result<Outcome> {
    let Some(id) = id else {
      return Err(messages::id_must_be_defined(entity.noun()));
    };
    let query = Query::by_ids(entity, &[id.to_string()], false).configured(config)?;
    let outcome = self.find(query, call).await?;
    let found = match &outcome.done {
      Done::Invites(found) => !found.rows.is_empty(),
      Done::Users(found) => !found.rows.is_empty(),
      _ => false,
    };
    if !found {
      return Err(messages::not_found(entity.name(), id));
    }
    Ok(outcome)
  }

  /// `deleteInvites`: hard delete.
  pub async fn delete_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    self.run(Op::Delete { ids }, call).await
  }

  /// `softDeleteInvites`: `deleted_at` set on the live ones.
  pub async fn soft_delete_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    let op = Op::SoftDelete { ids, now: now_ms() };
    self.run(op, call).await
  }

  /// `restoreInvites`: `deleted_at` cleared, unless a live invite now holds the email.
  pub async fn restore_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    self.run(Op::Restore { ids }, call).await
  }

  /// `refreshInviteTokens`: new tokens and expiry for live invites.
  pub async fn refresh_invite_tokens(
    &self,
    ids: Vec<String>,
    call: &CallOptions,
  ) -> Result<Outcome> {
    let op = Op::Refresh {
      ids,
      signer: Arc::clone(self.signer()?),
      now: now_ms(),
    };
    self.run(op, call).await
  }

  pub async fn update_invites(
    &self,
    items: Vec<InviteUpdate>,
    call: &CallOptions,
  ) -> Result<Outcome> {
    let op = Op::Update {
      items,
      now: now_ms(),
    };
    self.run(op, call).await
  }

  /// `acceptInvite`: verifies the token, then creates the user and soft-deletes the invite in
  /// one transaction. `user.email` empty means the invite's email.
  pub async fn accept_invite(
    &self,
    token: &str,
    user: NewUser,
    call: &CallOptions,
  ) -> Result<Outcome> {
    let now = now_ms();
    let invite_id = self.verified_invite_id(token, now)?;
    let user = new_user(user, &mut IdGenerator::new(now), now)?;
    let op = Op::Accept {
      invite_id,
      token: token.to_string(),
      user,
      now,
    };
    self.run(op, call).await
  }

  pub async fn update_users(&self, items: Vec<UserUpdate>, call: &CallOptions) -> Result<Outcome> {
    let op = UserOp::Update {
      items,
      now: now_ms(),
    };
    self.run(Op::Users(op), call).await
  }

  /// `deleteUsers`: hard delete, soft-deleted users too.
  pub async fn delete_users(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    self.run(Op::Users(UserOp::Delete { ids }), call).await
  }

  pub async fn soft_delete_users(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    let op = UserOp::SoftDelete { ids, now: now_ms() };
    self.run(Op::Users(op), call).await
  }

  pub async fn restore_users(&self, ids: Vec<String>, call: &CallOptions) -> Result<Outcome> {
    self.run(Op::Users(UserOp::Restore { ids }), call).await
  }

  /// Pending outbox rows (see `Op::PendingEvents`).
  pub async fn pending_events(
    &self,
    before: Option<i64>,
    limit: usize,
    claim: bool,
    call: &CallOptions,
  ) -> Result<Outcome> {
    let op = Op::PendingEvents {
      before,
      limit,
      claim,
    };
    self.run(op, call).await
  }

  /// Marks outbox rows delivered, and forgets those delivered longer ago than the retention.
  pub async fn mark_delivered(&self, ids: Vec<i64>, call: &CallOptions) -> Result<Outcome> {
    let now = now_ms();
    let op = Op::MarkDelivered {
      ids,
      now,
      prune_before: now - self.event_retention_ms,
    };
    self.run(op, call).await
  }

  /// The database's plan for `listInvites(filters, config)` (see `Store::explain_invites`).
  #[cfg(any(test, feature = "bench"))]
  pub async fn explain_list_invites(&self, query: &Query) -> Result<Vec<String>> {
    self.store().await?.explain_invites(query).await
  }

  /// Opens a caller transaction; returns its id.
  pub async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<u64> {
    let transaction = self.store().await?.begin(isolation).await?;
    Ok(self.transactions.add(transaction))
  }

  pub async fn commit(&self, id: u64) -> Result<()> {
    self.transactions.commit(id).await
  }

  pub async fn rollback(&self, id: u64) -> Result<()> {
    self.transactions.rollback(id).await
  }

  /// Closes the database: open transactions roll back, later calls fail with
  /// `unexpected_state`.
  pub async fn close(&self) {
    self.mark_closed();
    self.transactions.roll_back_all().await;
    let previous = std::mem::replace(&mut *self.store.lock().await, StoreState::Closed);
    if let StoreState::Open(store) = previous {
      store.close().await;
    }
  }
}
