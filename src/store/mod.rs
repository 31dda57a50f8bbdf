//! Storage: one trait, one folder per backend (docs/storage.md). A backend is a dialect: its
//! connection, transactions, savepoints, retries and the statements of a `Session`. What a
//! call reads and writes is `lifecycle::run`, written once.
//!
//! Outside a caller transaction a backend runs a call in a transaction of its own
//! (`Store::run`); inside one it runs it atomically within that transaction, as a savepoint
//! (`Transaction::run`), so a failing call never leaves half a batch.

pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;

use crate::context::IsolationLevel;
use crate::error::Result;
use crate::lifecycle::{Call, Outcome};

#[async_trait]
pub trait Store: Send + Sync {
  /// Runs one call in a transaction of its own.
  async fn run(&self, call: Call, isolation: Option<IsolationLevel>) -> Result<Outcome>;

  /// Opens a transaction that several calls share (`sharedContext.transactionManager`).
  async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<Box<dyn Transaction>>;

  /// The database's plan for the statement `find_invites` runs for `query`, one line per
  /// plan node (how `listInvites` uses the indexes; the benchmark and the storage tests).
  #[cfg(any(test, feature = "bench"))]
  async fn explain_invites(&self, query: &crate::query::Query) -> Result<Vec<String>>;

  /// Releases connections (the PostgreSQL pool drains); the store is not used afterwards.
  async fn close(&self) {}
}

#[async_trait]
pub trait Transaction: Send {
  /// Runs one call atomically inside the transaction: on error its writes are undone and the
  /// transaction stays usable.
  async fn run(&mut self, call: Call) -> Result<Outcome>;

  /// Commits or rolls back; the transaction is not used afterwards.
  async fn end(self: Box<Self>, how: End) -> Result<()>;
}

/// How a caller transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
  Commit,
  Rollback,
}

impl End {
  /// The statement, the same in both dialects.
  pub fn sql(self) -> &'static str {
    match self {
      End::Commit => "commit",
      End::Rollback => "rollback",
    }
  }
}
