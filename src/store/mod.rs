//! Storage: one trait, one file per backend (docs/storage.md).
//!
//! A call's writes are one `Work`. Outside a caller transaction a backend runs it in a
//! transaction of its own (`Store::run`); inside one it runs it atomically within that
//! transaction, as a savepoint (`Transaction::run`), so a failing call never leaves half a batch.

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::context::IsolationLevel;
use crate::error::Result;
use crate::invite::{Invite, User};
use crate::lifecycle::{Done, Op};

/// An `idempotencyKey` record (docs/behaviour.md): the response of a successful call, found again by
/// the key and a hash of the input while it is younger than the retention.
#[derive(Debug, Clone)]
pub struct Replay {
  pub key: String,
  pub input_hash: String,
  pub response: String,
  pub now: i64,
  pub retention_ms: i64,
}

/// The writes of one call.
pub enum Work {
  /// Inserts invites, unless `replay` finds an earlier response; then it writes nothing.
  /// First refuses emails held by live users (`existing_users_message`, input order), then
  /// lets the unique indexes decide duplicate emails (live invites) and ids (any invite).
  Invites {
    invites: Arc<Vec<Invite>>,
    replay: Option<Replay>,
  },
  /// Inserts users; a live user's email is `User with email: <email>, already exists.`
  Users { users: Arc<Vec<User>> },
  /// The rest of the lifecycle (docs/behaviour.md), written once over `lifecycle::Session`.
  Lifecycle(Op),
}

pub enum Outcome {
  Written,
  /// The stored response of an earlier call with the same idempotency key and input.
  Replayed(String),
  Done(Done),
}

#[async_trait]
pub trait Store: Send + Sync {
  /// Runs one call's work in a transaction of its own.
  async fn run(&self, work: Work, isolation: Option<IsolationLevel>) -> Result<Outcome>;

  /// Opens a transaction that several calls share (`sharedContext.transactionManager`).
  async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<Box<dyn Transaction>>;

  /// The database's plan for the statement `find_invites` runs for `query`, one line per
  /// plan node (how `listInvites` uses the indexes; see the benchmark and the storage tests).
  async fn explain_invites(&self, query: &crate::query::Query) -> Result<Vec<String>>;

  /// Releases connections (the PostgreSQL pool drains); the store is not used afterwards.
  async fn close(&self) {}
}

#[async_trait]
pub trait Transaction: Send {
  /// Runs one call's work atomically inside the transaction: on error its writes are undone
  /// and the transaction stays usable.
  async fn run(&mut self, work: Work) -> Result<Outcome>;

  async fn commit(self: Box<Self>) -> Result<()>;

  async fn rollback(self: Box<Self>) -> Result<()>;
}

/// Medusa's message when emails belong to live users (docs/errors.md).
pub fn existing_users_message(emails: &[&str]) -> String {
  format!(
    "User account for following email(s) already exist: {}",
    emails.join(", ")
  )
}
