//! Caller transactions (`sharedContext.transactionManager`): the open ones by id, between
//! `begin` and `commit`/`rollback`, and how a call runs inside one (docs/behaviour.md).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::lifecycle::{Call, Outcome};
use crate::messages::{TRANSACTION_ENDED, TRANSACTION_FAILED};
use crate::store::{End, Transaction};

/// A caller transaction between `begin` and `commit`/`rollback`.
struct Slot {
  transaction: Option<Box<dyn Transaction>>,
  /// A call failed inside it without `enableNestedTransactions`: it can only roll back,
  /// as a PostgreSQL transaction after an error.
  failed: bool,
}

type SharedSlot = Arc<tokio::sync::Mutex<Slot>>;

#[derive(Default)]
pub struct Transactions {
  open: Mutex<HashMap<u64, SharedSlot>>,
  next_id: AtomicU64,
}

fn ended() -> Error {
  Error::unexpected_state(TRANSACTION_ENDED)
}

impl Transactions {
  /// The open transactions. A poisoned lock only means a panic elsewhere; the map is intact.
  fn open(&self) -> MutexGuard<'_, HashMap<u64, SharedSlot>> {
    self
      .open
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  /// Keeps a transaction the store has begun; returns its id.
  pub fn add(&self, transaction: Box<dyn Transaction>) -> u64 {
    let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let slot = Slot {
      transaction: Some(transaction),
      failed: false,
    };
    self
      .open()
      .insert(id, Arc::new(tokio::sync::Mutex::new(slot)));
    id
  }

  /// Runs a call inside transaction `id`, after the calls already running in it. Unless
  /// `nested` (`enableNestedTransactions`), a failing call leaves the transaction only
  /// able to roll back.
  pub async fn run(&self, id: u64, call: Call, nested: bool) -> Result<Outcome> {
    let slot = self.open().get(&id).cloned().ok_or_else(ended)?;
    let mut slot = slot.lock().await;
    if slot.failed {
      return Err(Error::unexpected_state(TRANSACTION_FAILED));
    }
    let transaction = slot.transaction.as_mut().ok_or_else(ended)?;
    let done = transaction.run(call).await;
    if done.is_err() && !nested {
      slot.failed = true;
    }
    done
  }

  /// Commits once the calls running in it are done. A transaction in which a call failed
  /// (without `enableNestedTransactions`) is rolled back instead, and says so.
  pub async fn commit(&self, id: u64) -> Result<()> {
    let slot = self.open().remove(&id).ok_or_else(ended)?;
    let mut slot = slot.lock().await;
    let transaction = slot.transaction.take().ok_or_else(ended)?;
    if slot.failed {
      transaction.end(End::Rollback).await?;
      return Err(Error::unexpected_state(TRANSACTION_FAILED));
    }
    transaction.end(End::Commit).await
  }

  pub async fn rollback(&self, id: u64) -> Result<()> {
    let slot = self.open().remove(&id).ok_or_else(ended)?;
    let transaction = slot.lock().await.transaction.take().ok_or_else(ended)?;
    transaction.end(End::Rollback).await
  }

  /// Rolls back every open transaction (the module closes).
  pub async fn roll_back_all(&self) {
    let open: Vec<_> = self.open().drain().map(|(_, slot)| slot).collect();
    for slot in open {
      if let Some(transaction) = slot.lock().await.transaction.take() {
        let _ = transaction.end(End::Rollback).await;
      }
    }
  }
}
