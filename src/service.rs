//! The module: one implementation behind both doors (the top-level function and the class).

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::invite::{Invite, NewInvite, NewUser, User};
use crate::options::ModuleOptions;
use crate::store::sqlite::{Location, SqliteStore, Synchronous};
use crate::store::Store;
use crate::token::{TokenOptions, TokenSigner};

/// The store opens on first use, on a worker thread, never on the JS thread.
enum StoreState {
  NotOpened,
  Open(Box<dyn Store>),
  Closed,
}

pub struct InviteModule {
  /// Option errors (a bad `expiresIn`, an unknown `jwt_options` key) reject every call, as
  /// they do in Medusa, where jsonwebtoken reports them when signing.
  signer: Result<TokenSigner>,
  location: Location,
  synchronous: Synchronous,
  store: Mutex<StoreState>,
}

/// The result of a `createInvites` call: the invites in input order.
pub struct CreatedInvites {
  pub now: i64,
  pub expires_at: i64,
  pub invites: Vec<Invite>,
}

pub fn now_ms() -> i64 {
  chrono::Utc::now().timestamp_millis()
}

impl InviteModule {
  pub fn new(options: ModuleOptions) -> Self {
    let signer = TokenSigner::new(TokenOptions {
      secret: &options.jwt_secret,
      jwt_options: options.jwt_options.as_ref(),
      valid_duration: options.valid_duration.as_ref(),
    });
    InviteModule {
      signer,
      location: options.database,
      synchronous: options.synchronous,
      store: Mutex::new(StoreState::NotOpened),
    }
  }

  /// Runs `work` with the store, opening it first if needed.
  fn with_store<T>(&self, work: impl FnOnce(&mut dyn Store) -> Result<T>) -> Result<T> {
    // A poisoned lock only means another call panicked mid-way; SQLite rolled that back.
    let mut state = self
      .store
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let StoreState::NotOpened = *state {
      *state = StoreState::Open(Box::new(SqliteStore::open(
        &self.location,
        self.synchronous,
      )?));
    }
    match &mut *state {
      StoreState::Open(store) => work(store.as_mut()),
      _ => Err(Error::unexpected_state(
        "The invite module is closed; create a new UserModuleService",
      )),
    }
  }

  /// Builds every invite (ids, tokens, times) of a validated batch, then stores them in one
  /// transaction (spec §2). Nothing is written unless every item succeeds.
  pub fn create_invites(&self, batch: Vec<NewInvite>) -> Result<CreatedInvites> {
    let now = now_ms();
    if batch.is_empty() {
      return Ok(CreatedInvites {
        now,
        expires_at: now,
        invites: Vec::new(),
      });
    }
    let signer = self.signer.as_ref().map_err(Clone::clone)?;
    let expires_at = signer.expires_at_ms(now);
    let mut ids = IdGenerator::new(now);
    let mut invites = Vec::with_capacity(batch.len());
    for (index, item) in batch.into_iter().enumerate() {
      let id = match item.id {
        Some(id) => id,
        None => ids.next("invite")?,
      };
      let token = signer
        .sign(&id, &item.email, now)
        .map_err(|error| error.at(index))?;
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
    self.with_store(|store| store.insert_invites(&invites))?;
    Ok(CreatedInvites {
      now,
      expires_at,
      invites,
    })
  }

  pub fn create_users(&self, batch: Vec<NewUser>) -> Result<Vec<User>> {
    let now = now_ms();
    let mut ids = IdGenerator::new(now);
    let users = batch
      .into_iter()
      .map(|item| {
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
        })
      })
      .collect::<Result<Vec<_>>>()?;
    if !users.is_empty() {
      self.with_store(|store| store.insert_users(&users))?;
    }
    Ok(users)
  }

  /// Closes the database; later calls fail with `unexpected_state`.
  pub fn close(&self) {
    let mut state = self
      .store
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    *state = StoreState::Closed;
  }
}
