//! The module: one implementation behind both doors (the top-level function and the class).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::context::{CallContext, IsolationLevel};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::IdGenerator;
use crate::invite::{Invite, InviteUpdate, NewInvite, NewUser, User};
use crate::lifecycle::{check_invite, invite_not_found, Done, Op};
use crate::messages::shown;
use crate::options::{Database, ModuleOptions};
use crate::query::{Entity, Query};
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::{SqliteStore, Synchronous};
use crate::store::{Outcome, Replay, Store, Transaction, Work};
use crate::token::{TokenOptions, TokenSigner};
use crate::verify::{InviteId, TokenVerifier};

pub const CLOSED: &str = "The invite module is closed; create a new UserModuleService";
pub const TRANSACTION_ENDED: &str = "The transaction has already been committed or rolled back";
pub const TRANSACTION_FAILED: &str = "The transaction was rolled back: a call inside it failed. Pass enableNestedTransactions: true to let a call fail without ending the transaction";

/// The store opens on first use, on the blocking pool, never on the JS thread.
enum StoreState {
  NotOpened,
  Open(Arc<dyn Store>),
  Closed,
}

/// A caller transaction between `begin` and `commit`/`rollback`.
struct TransactionSlot {
  transaction: Option<Box<dyn Transaction>>,
  /// A call failed inside it without `enableNestedTransactions`: it can only roll back,
  /// as a PostgreSQL transaction after an error.
  failed: bool,
}

/// How one call runs (from `sharedContext`).
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
  pub context: CallContext,
  /// A transaction issued by `begin`; `None` gives the call a transaction of its own.
  pub transaction: Option<u64>,
  /// SHA-256 of the call's input, for `idempotencyKey`.
  pub input_hash: Option<String>,
}

pub struct InviteModule {
  /// Option errors (a bad `expiresIn`, an unknown `jwt_options` key) reject every call, as
  /// they do in Medusa, where jsonwebtoken reports them when signing.
  signer: Result<Arc<TokenSigner>>,
  verifier: TokenVerifier,
  database: Database,
  synchronous: Synchronous,
  idempotency_retention_ms: i64,
  store: tokio::sync::Mutex<StoreState>,
  transactions: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<TransactionSlot>>>>,
  next_transaction: AtomicU64,
  /// `close()` was called: every later call is refused, even one with nothing to write.
  closed: AtomicBool,
  /// PostgreSQL calls run again after a serialization failure or a deadlock, not yet reported.
  retries: Arc<AtomicU64>,
}

/// The invites of a call, in input order, with the call's clock readings.
pub struct CreatedInvites {
  pub now: i64,
  pub expires_at: i64,
  pub invites: Vec<Invite>,
}

impl CreatedInvites {
  /// The response of a call: `{now, expiresAt, ids, tokens, times}`. The JS side holds every
  /// other DTO field already; `times` lists `[index, created_at, updated_at, deleted_at]`
  /// only for the items whose times the caller set. `tokens` is one text, the tokens joined
  /// by `\n` (a JWT has none): the JS side parses one string instead of one per invite and
  /// cuts the tokens out as it builds the DTOs, a part at a time. It is also what an
  /// idempotency key replays, so a replay gives the same DTOs.
  pub fn response_json(&self) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Response<'a> {
      now: i64,
      expires_at: i64,
      ids: Vec<&'a str>,
      tokens: String,
      times: Vec<(usize, i64, i64, Option<i64>)>,
    }
    let invites = &self.invites;
    let response = Response {
      now: self.now,
      expires_at: self.expires_at,
      ids: invites.iter().map(|invite| invite.id.as_str()).collect(),
      tokens: invites
        .iter()
        .map(|invite| invite.token.as_str())
        .collect::<Vec<_>>()
        .join("\n"),
      times: invites
        .iter()
        .enumerate()
        .filter(|(_, invite)| {
          invite.created_at != self.now
            || invite.updated_at != self.now
            || invite.deleted_at.is_some()
        })
        .map(|(index, invite)| {
          (
            index,
            invite.created_at,
            invite.updated_at,
            invite.deleted_at,
          )
        })
        .collect(),
    };
    // A struct of strings and integers always serializes.
    serde_json::to_string(&response).unwrap_or_default()
  }
}

/// What `createInvites` resolves with: the response JSON, and whether it is the replay of an
/// earlier call with the same idempotency key and input (then nothing was written).
pub struct InvitesResponse {
  pub json: String,
  pub replayed: bool,
}

/// A store answered a call with the outcome of another kind of call: a bug, never data.
fn unexpected_outcome() -> Error {
  Error::unexpected_state("Internal error in medusa-invites: unexpected store outcome")
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
    .map_err(|_| Error::unexpected_state("Internal error in medusa-invites; nothing was written"))?
}

/// Batches from this size are signed on several threads (HS256 costs about 2 µs a token,
/// RS256 about 1 ms; a thread costs tens of microseconds to start).
const PARALLEL_SIGNING: usize = 1_000;

/// The token of each invite, in input order; an error carries the index of its item.
fn sign_all(
  signer: &TokenSigner,
  ids: &[String],
  batch: &[NewInvite],
  now: i64,
) -> Result<Vec<String>> {
  let sign = |offset: usize, ids: &[String], items: &[NewInvite]| {
    ids
      .iter()
      .zip(items)
      .enumerate()
      .map(|(index, (id, item))| {
        signer
          .sign(id, &item.email, now)
          .map_err(|error| error.at(offset + index))
      })
      .collect::<Result<Vec<String>>>()
  };
  let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
  if batch.len() < PARALLEL_SIGNING || threads < 2 {
    return sign(0, ids, batch);
  }
  let chunk = batch.len().div_ceil(threads);
  std::thread::scope(|scope| {
    let parts: Vec<_> = ids
      .chunks(chunk)
      .zip(batch.chunks(chunk))
      .enumerate()
      .map(|(part, (ids, items))| scope.spawn(move || sign(part * chunk, ids, items)))
      .collect();
    let mut tokens = Vec::with_capacity(batch.len());
    for part in parts {
      let signed = part.join().map_err(|_| {
        Error::unexpected_state("Internal error in medusa-invites; nothing was written")
      })?;
      tokens.extend(signed?);
    }
    Ok(tokens)
  })
}

/// A user to insert, created at `now`; `user_<ULID>` unless the caller gave an id.
fn new_user(item: NewUser, ids: &mut IdGenerator, now: i64) -> Result<User> {
  Ok(User {
    id: match item.id {
      Some(id) => id,
      None => ids.next("user")?,
    },
    email: item.email,
    first_name: item.first_name,
    last_name: item.last_name,
    avatar_url: item.avatar_url,
    metadata: item.metadata,
    created_at: now,
    updated_at: now,
    deleted_at: None,
    roles: None,
  })
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
      store: tokio::sync::Mutex::new(StoreState::NotOpened),
      transactions: Mutex::new(HashMap::new()),
      next_transaction: AtomicU64::new(1),
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

  /// Ids, tokens and times for a validated batch (docs/behaviour.md): CPU work, no I/O.
  pub fn prepare_invites(&self, batch: Vec<NewInvite>) -> Result<CreatedInvites> {
    let now = now_ms();
    let signer = self.signer.as_ref().map_err(Clone::clone)?;
    let expires_at = signer.expires_at_ms(now);
    let mut ids = IdGenerator::new(now);
    // Ids first, in order (a ULID sequence is monotonic), then the tokens, on several threads
    // for a large batch.
    let ids = batch
      .iter()
      .map(|item| match &item.id {
        Some(id) => Ok(id.clone()),
        None => ids.next("invite"),
      })
      .collect::<Result<Vec<String>>>()?;
    let tokens = sign_all(signer, &ids, &batch, now)?;
    let mut invites = Vec::with_capacity(batch.len());
    for ((item, id), token) in batch.into_iter().zip(ids).zip(tokens) {
      invites.push(Invite {
        id,
        email: item.email,
        accepted: item.accepted,
        token,
        expires_at,
        metadata: item.metadata,
        created_at: item.created_at.unwrap_or(now),
        updated_at: item.updated_at.unwrap_or(now),
        deleted_at: item.deleted_at,
        roles: item.roles,
      });
    }
    Ok(CreatedInvites {
      now,
      expires_at,
      invites,
    })
  }

  /// `createInvites`: builds every invite, then stores the batch in one transaction (docs/behaviour.md).
  /// Resolves with the response JSON (see `CreatedInvites::response_json`).
  pub async fn create_invites(
    self: &Arc<Self>,
    batch: Vec<NewInvite>,
    call: CallOptions,
  ) -> Result<InvitesResponse> {
    if batch.is_empty() {
      let now = now_ms();
      let json = CreatedInvites {
        now,
        expires_at: now,
        invites: Vec::new(),
      }
      .response_json();
      return Ok(InvitesResponse {
        json,
        replayed: false,
      });
    }
    let module = Arc::clone(self);
    let small = batch.len() <= SMALL_BATCH;
    let created = cpu_work(small, move || module.prepare_invites(batch)).await?;
    let response = created.response_json();
    let replay = match (&call.context.idempotency_key, &call.input_hash) {
      (Some(key), Some(input_hash)) => Some(Replay {
        key: key.clone(),
        input_hash: input_hash.clone(),
        response: response.clone(),
        now: created.now,
        retention_ms: self.idempotency_retention_ms,
      }),
      _ => None,
    };
    let work = Work::Invites {
      invites: Arc::new(created.invites),
      replay,
    };
    Ok(match self.execute(work, &call).await? {
      Outcome::Written => InvitesResponse {
        json: response,
        replayed: false,
      },
      Outcome::Replayed(json) => InvitesResponse {
        json,
        replayed: true,
      },
      Outcome::Done(_) => return Err(unexpected_outcome()),
    })
  }

  /// `createUsers` (Medusa's user fields).
  pub async fn create_users(&self, batch: Vec<NewUser>, call: CallOptions) -> Result<Vec<User>> {
    let now = now_ms();
    let mut ids = IdGenerator::new(now);
    let users = batch
      .into_iter()
      .map(|item| new_user(item, &mut ids, now))
      .collect::<Result<Vec<_>>>()?;
    if users.is_empty() {
      return Ok(users);
    }
    let users = Arc::new(users);
    self
      .execute(
        Work::Users {
          users: Arc::clone(&users),
        },
        &call,
      )
      .await?;
    Ok(Arc::try_unwrap(users).unwrap_or_else(|shared| (*shared).clone()))
  }

  /// Runs one lifecycle call (docs/behaviour.md) in its own transaction or the caller's.
  pub async fn lifecycle(&self, op: Op, call: &CallOptions) -> Result<Done> {
    match self.execute(Work::Lifecycle(op), call).await? {
      Outcome::Done(done) => Ok(done),
      _ => Err(unexpected_outcome()),
    }
  }

  /// The id a token carries once it verifies (jsonwebtoken's checks and messages).
  fn verified_invite_id(&self, token: &str, now: i64) -> Result<String> {
    match self.verifier.verify(token, now)? {
      InviteId::Id(id) => Ok(id),
      InviteId::Missing => Err(Error::new(
        ErrorKind::NotFound,
        "invite - id must be defined",
      )),
    }
  }

  /// `validateInviteToken`: a verified token that is the live invite's current one, not
  /// expired (docs/behaviour.md).
  pub async fn validate_invite_token(&self, token: &str, call: &CallOptions) -> Result<Invite> {
    let now = now_ms();
    let id = self.verified_invite_id(token, now)?;
    let query = Query::by_ids(Entity::Invite, std::slice::from_ref(&id), false);
    let invite = match self.lifecycle(Op::Find(query), call).await? {
      Done::Invites(found) => found.rows.into_iter().next(),
      _ => None,
    }
    .ok_or_else(|| invite_not_found(&id))?;
    check_invite(&invite, token, now)?;
    Ok(invite)
  }

  /// `retrieveInvite` / `retrieveUser`: the row with this id, or Medusa's not_found messages.
  pub async fn retrieve(
    &self,
    entity: Entity,
    id: Option<&str>,
    config: &serde_json::Value,
    call: &CallOptions,
  ) -> Result<Done> {
    let (noun, name) = match entity {
      Entity::Invite => ("invite", "Invite"),
      Entity::User => ("user", "User"),
    };
    let Some(id) = id else {
      return Err(Error::new(
        ErrorKind::NotFound,
        format!("{noun} - id must be defined"),
      ));
    };
    let query = Query::parse(entity, &serde_json::json!({ "id": id }), config, false)?;
    let done = self.lifecycle(Op::Find(query), call).await?;
    let found = match &done {
      Done::Invites(found) => !found.rows.is_empty(),
      Done::Users(found) => !found.rows.is_empty(),
      _ => false,
    };
    if !found {
      return Err(Error::new(
        ErrorKind::NotFound,
        format!("{name} with id: {} was not found", shown(id)),
      ));
    }
    Ok(done)
  }

  /// `deleteInvites`: hard delete.
  pub async fn delete_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Done> {
    self.lifecycle(Op::Delete { ids }, call).await
  }

  /// `softDeleteInvites`: `deleted_at` set on the live ones.
  pub async fn soft_delete_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Done> {
    let op = Op::SoftDelete { ids, now: now_ms() };
    self.lifecycle(op, call).await
  }

  /// `restoreInvites`: `deleted_at` cleared, unless a live invite now holds the email.
  pub async fn restore_invites(&self, ids: Vec<String>, call: &CallOptions) -> Result<Done> {
    self.lifecycle(Op::Restore { ids }, call).await
  }

  /// `refreshInviteTokens`: new tokens and expiry for live invites.
  pub async fn refresh_invite_tokens(&self, ids: Vec<String>, call: &CallOptions) -> Result<Done> {
    let signer = self.signer.as_ref().map_err(Clone::clone)?;
    let op = Op::Refresh {
      ids,
      signer: Arc::clone(signer),
      now: now_ms(),
    };
    self.lifecycle(op, call).await
  }

  pub async fn update_invites(&self, items: Vec<InviteUpdate>, call: &CallOptions) -> Result<Done> {
    self
      .lifecycle(
        Op::Update {
          items,
          now: now_ms(),
        },
        call,
      )
      .await
  }

  /// `acceptInvite`: verifies the token, then creates the user and soft-deletes the invite in
  /// one transaction. `user.email` empty means the invite's email.
  pub async fn accept_invite(
    &self,
    token: &str,
    user: NewUser,
    call: &CallOptions,
  ) -> Result<Done> {
    let now = now_ms();
    let invite_id = self.verified_invite_id(token, now)?;
    let user = new_user(user, &mut IdGenerator::new(now), now)?;
    let op = Op::Accept {
      invite_id,
      token: token.to_string(),
      user,
      now,
    };
    self.lifecycle(op, call).await
  }

  /// The database's plan for `listInvites(filters, config)` (see `Store::explain_invites`).
  pub async fn explain_list_invites(&self, query: &Query) -> Result<Vec<String>> {
    self.store().await?.explain_invites(query).await
  }

  /// Runs a call's writes in its own transaction, or inside the caller's (docs/behaviour.md).
  async fn execute(&self, work: Work, call: &CallOptions) -> Result<Outcome> {
    let Some(id) = call.transaction else {
      return self
        .store()
        .await?
        .run(work, call.context.isolation_level)
        .await;
    };
    let slot = self.transaction_slot(id)?;
    let mut slot = slot.lock().await;
    if slot.failed {
      return Err(Error::unexpected_state(TRANSACTION_FAILED));
    }
    let transaction = slot
      .transaction
      .as_mut()
      .ok_or_else(|| Error::unexpected_state(TRANSACTION_ENDED))?;
    let outcome = transaction.run(work).await;
    if outcome.is_err() && !call.context.enable_nested_transactions {
      slot.failed = true;
    }
    outcome
  }

  /// The open transactions. A poisoned lock only means a panic elsewhere; the map is intact.
  fn transactions(
    &self,
  ) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<tokio::sync::Mutex<TransactionSlot>>>> {
    self
      .transactions
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  fn transaction_slot(&self, id: u64) -> Result<Arc<tokio::sync::Mutex<TransactionSlot>>> {
    let transactions = self.transactions();
    transactions
      .get(&id)
      .cloned()
      .ok_or_else(|| Error::unexpected_state(TRANSACTION_ENDED))
  }

  fn take_transaction_slot(&self, id: u64) -> Result<Arc<tokio::sync::Mutex<TransactionSlot>>> {
    let mut transactions = self.transactions();
    transactions
      .remove(&id)
      .ok_or_else(|| Error::unexpected_state(TRANSACTION_ENDED))
  }

  /// Opens a caller transaction; returns its id.
  pub async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<u64> {
    let transaction = self.store().await?.begin(isolation).await?;
    let id = self.next_transaction.fetch_add(1, Ordering::Relaxed);
    let slot = TransactionSlot {
      transaction: Some(transaction),
      failed: false,
    };
    self
      .transactions()
      .insert(id, Arc::new(tokio::sync::Mutex::new(slot)));
    Ok(id)
  }

  /// Commits a caller transaction once its running calls are done. A transaction in which a
  /// call failed (without `enableNestedTransactions`) is rolled back instead, and says so.
  pub async fn commit(&self, id: u64) -> Result<()> {
    let slot = self.take_transaction_slot(id)?;
    let mut slot = slot.lock().await;
    let transaction = slot
      .transaction
      .take()
      .ok_or_else(|| Error::unexpected_state(TRANSACTION_ENDED))?;
    if slot.failed {
      transaction.rollback().await?;
      return Err(Error::unexpected_state(TRANSACTION_FAILED));
    }
    transaction.commit().await
  }

  pub async fn rollback(&self, id: u64) -> Result<()> {
    let slot = self.take_transaction_slot(id)?;
    let mut slot = slot.lock().await;
    match slot.transaction.take() {
      Some(transaction) => transaction.rollback().await,
      None => Err(Error::unexpected_state(TRANSACTION_ENDED)),
    }
  }

  /// Closes the database: open transactions roll back, later calls fail with
  /// `unexpected_state`.
  pub async fn close(&self) {
    self.mark_closed();
    let open: Vec<_> = self.transactions().drain().map(|(_, slot)| slot).collect();
    for slot in open {
      if let Some(transaction) = slot.lock().await.transaction.take() {
        let _ = transaction.rollback().await;
      }
    }
    let previous = std::mem::replace(&mut *self.store.lock().await, StoreState::Closed);
    if let StoreState::Open(store) = previous {
      store.close().await;
    }
  }
}
