//! `Session`: an open transaction of either backend, as the statements every call is made of.
//! What each call reads and writes is written once over it (`lifecycle`, `users`); a backend
//! implements it in its own dialect, and nothing more.

use async_trait::async_trait;

use crate::error::Result;
use crate::idempotency::Replay;
use crate::invite::{Invite, User};
use crate::query::Query;

/// Rows of a query, with the count of every match when it asked for one.
pub struct Found<T> {
  pub rows: Vec<T>,
  pub count: Option<i64>,
}

#[async_trait]
pub trait Session: Send {
  async fn find_invites(&mut self, query: &Query) -> Result<Found<Invite>>;
  async fn find_users(&mut self, query: &Query) -> Result<Found<User>>;

  /// Inserts new invites (with their roles): all of them, or none and an error.
  ///
  /// The refusals, which both backends give alike (`messages`):
  /// 1. emails that live users hold: `users_exist`, listing them in input order, each once;
  /// 2. else the first item, in input order, that cannot go in, with its `index`: a live
  ///    item whose email a live invite or an earlier live item holds (`already_exists`,
  ///    `email`), else an item whose id an invite (live or soft-deleted) or an earlier item
  ///    has (`already_exists`, `id`). The email is checked before the id of the same item.
  ///
  /// Under concurrency the unique indexes stay the final arbiter, with the same messages.
  async fn insert_invites(&mut self, invites: &[Invite]) -> Result<()>;

  /// Inserts users; the first whose email a live user or an earlier item holds is
  /// `User with email: <email>, already exists.`, with its `index`.
  async fn insert_users(&mut self, users: &[User]) -> Result<()>;

  /// Writes every column of these existing invites (found by id). A live invite already
  /// holding an email is `Invite with email: <email>, already exists.`
  async fn save_invites(&mut self, invites: &[Invite]) -> Result<()>;
  /// Deletes the rows with these ids; returns the ids deleted.
  async fn delete_invites(&mut self, ids: &[String]) -> Result<Vec<String>>;
  /// Writes every column of these existing users (found by id). A live user already holding
  /// an email is `User with email: <email>, already exists.`
  async fn save_users(&mut self, users: &[User]) -> Result<()>;
  /// Deletes the users with these ids; returns the ids deleted.
  async fn delete_users(&mut self, ids: &[String]) -> Result<Vec<String>>;

  /// Makes the calls that use this idempotency key wait for each other until this
  /// transaction ends, so one of them writes and the others find its record.
  async fn lock_key(&mut self, key: &str) -> Result<()>;
  /// The stored response of `replay`'s key and input, if one is younger than the retention.
  async fn find_replay(&mut self, replay: &Replay) -> Result<Option<String>>;
  /// Stores `replay`'s response, and forgets records past the retention.
  async fn save_replay(&mut self, replay: &Replay) -> Result<()>;

  /// Adds a call's event record to the outbox, pending; returns its id (ids grow in commit
  /// order on SQLite, in insert order on PostgreSQL).
  async fn save_outbox(&mut self, record: &str, now: i64) -> Result<i64>;
  /// Pending outbox rows in id order, at most `limit`, created before `before` when given.
  /// `claim`: locked until the transaction ends, skipping rows another transaction has
  /// claimed (PostgreSQL `for update skip locked`; SQLite's write lock already excludes).
  async fn pending_outbox(
    &mut self,
    before: Option<i64>,
    limit: usize,
    claim: bool,
  ) -> Result<Vec<OutboxRow>>;
  /// Marks these rows delivered at `now`, and deletes rows delivered before `prune_before`.
  async fn mark_delivered(&mut self, ids: &[i64], now: i64, prune_before: i64) -> Result<()>;
}

/// A pending outbox row: a call's event record (`events::Record`, JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
  pub id: i64,
  pub created_at: i64,
  pub record: String,
}
