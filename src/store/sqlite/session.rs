//! The `Session` statements on a SQLite connection, inside the call's transaction. Every
//! statement answers at once (the connection is this thread's), so the async lifecycle code
//! completes in one poll (`super::run_now`).

use std::collections::HashSet;

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::error::{Error, Result};
use crate::idempotency::Replay;
use crate::invite::{roles_json, Invite, User};
use crate::messages;
use crate::query::{Dialect, Param, Query, Source};
use crate::session::{Found, OutboxRow, Session};
use crate::stored::{self, StoredRow};

pub(super) const INVITES: Source = Source {
  table: r#""invite""#,
  alias: "i",
  joins: "",
};
const USERS: Source = Source {
  table: r#""user""#,
  alias: "u",
  joins: "",
};
pub(super) const INVITE_COLUMNS: &str =
  "i.id, i.email, i.accepted, i.token, i.expires_at, i.metadata, i.created_at, i.updated_at, i.deleted_at, i.roles";
const USER_COLUMNS: &str =
  "u.id, u.first_name, u.last_name, u.email, u.avatar_url, u.metadata, u.created_at, u.updated_at, u.deleted_at, u.roles";

pub(super) fn sql_value(param: &Param) -> rusqlite::types::Value {
  use rusqlite::types::Value;
  match param {
    Param::Text(text) => Value::Text(text.clone()),
    Param::Bool(flag) => Value::Integer(i64::from(*flag)),
    Param::Time(ms) | Param::Int(ms) => Value::Integer(*ms),
    Param::NoLimit => Value::Integer(-1),
    // The SQLite rendering expands lists into one parameter per value.
    Param::Texts(texts) => Value::Text(texts.join(",")),
  }
}

impl StoredRow for rusqlite::Row<'_> {
  fn text(&self, index: usize) -> Result<Option<String>> {
    Ok(self.get(index)?)
  }

  fn number(&self, index: usize) -> Result<Option<i64>> {
    Ok(self.get(index)?)
  }

  fn flag(&self, index: usize) -> Result<bool> {
    Ok(self.get(index)?)
  }
}

/// The lifecycle's statements on the connection, inside the call's transaction.
pub(super) struct SqliteSession<'c> {
  pub connection: &'c mut Connection,
}

impl SqliteSession<'_> {
  fn find<T>(
    &mut self,
    query: &Query,
    source: &Source,
    columns: &str,
    read: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
  ) -> Result<Found<T>> {
    let select = query.select(Dialect::Sqlite, source, columns);
    let params: Vec<_> = select.params.iter().map(sql_value).collect();
    let mut statement = self.connection.prepare_cached(&select.sql)?;
    let mut found = statement.query(rusqlite::params_from_iter(params))?;
    let mut rows = Vec::new();
    while let Some(row) = found.next()? {
      rows.push(read(row)?);
    }
    drop(found);
    let count = if query.count {
      let counting = query.count_sql(Dialect::Sqlite, source);
      let params: Vec<_> = counting.params.iter().map(sql_value).collect();
      Some(
        self
          .connection
          .prepare_cached(&counting.sql)?
          .query_row(rusqlite::params_from_iter(params), |row| row.get(0))?,
      )
    } else {
      None
    };
    Ok(Found { rows, count })
  }
}

#[async_trait]
impl Session for SqliteSession<'_> {
  async fn find_invites(&mut self, query: &Query) -> Result<Found<Invite>> {
    self.find(query, &INVITES, INVITE_COLUMNS, |row| stored::invite(row))
  }

  async fn find_users(&mut self, query: &Query) -> Result<Found<User>> {
    self.find(query, &USERS, USER_COLUMNS, |row| stored::user(row))
  }

  async fn save_invites(&mut self, invites: &[Invite]) -> Result<()> {
    let mut update = self.connection.prepare_cached(
      r#"update "invite" set email = ?2, accepted = ?3, token = ?4, expires_at = ?5, metadata = ?6,
         updated_at = ?7, deleted_at = ?8, roles = ?9 where id = ?1"#,
    )?;
    for (index, invite) in invites.iter().enumerate() {
      let updated = update.execute(params![
        invite.id,
        invite.email,
        invite.accepted,
        invite.token,
        invite.expires_at,
        invite.metadata,
        invite.updated_at,
        invite.deleted_at,
        invite.roles_json(),
      ]);
      updated.map_err(|error| invite_write_error(error, invite, index))?;
    }
    Ok(())
  }

  async fn delete_invites(&mut self, ids: &[String]) -> Result<Vec<String>> {
    delete_rows(
      self.connection,
      r#"delete from "invite" where id = ?1"#,
      ids,
    )
  }

  async fn insert_invites(&mut self, invites: &[Invite]) -> Result<()> {
    insert_invites(self.connection, invites)
  }

  async fn insert_users(&mut self, users: &[User]) -> Result<()> {
    insert_users(self.connection, users)
  }

  async fn save_users(&mut self, users: &[User]) -> Result<()> {
    let mut update = self.connection.prepare_cached(
      r#"update "user" set email = ?2, first_name = ?3, last_name = ?4, avatar_url = ?5, metadata = ?6,
         updated_at = ?7, deleted_at = ?8 where id = ?1"#,
    )?;
    for (index, user) in users.iter().enumerate() {
      let updated = update.execute(params![
        user.id,
        user.email,
        user.first_name,
        user.last_name,
        user.avatar_url,
        user.metadata,
        user.updated_at,
        user.deleted_at,
      ]);
      updated.map_err(|error| user_write_error(error, user, index))?;
    }
    Ok(())
  }

  async fn delete_users(&mut self, ids: &[String]) -> Result<Vec<String>> {
    delete_rows(self.connection, r#"delete from "user" where id = ?1"#, ids)
  }

  /// A SQLite write holds the database's one write lock for its whole transaction: calls with
  /// the same key already run one after the other.
  async fn lock_key(&mut self, _key: &str) -> Result<()> {
    Ok(())
  }

  async fn find_replay(&mut self, replay: &Replay) -> Result<Option<String>> {
    find_replay(self.connection, replay)
  }

  async fn save_replay(&mut self, replay: &Replay) -> Result<()> {
    save_replay(self.connection, replay)
  }

  async fn save_outbox(&mut self, record: &str, now: i64) -> Result<i64> {
    self
      .connection
      .prepare_cached(
        r#"insert into "medusa_invites_outbox" (created_at, events) values (?1, ?2)"#,
      )?
      .execute(params![now, record])?;
    Ok(self.connection.last_insert_rowid())
  }

  /// The transaction holds SQLite's one write lock: a claim needs nothing more.
  async fn pending_outbox(
    &mut self,
    before: Option<i64>,
    limit: usize,
    _claim: bool,
  ) -> Result<Vec<OutboxRow>> {
    let mut statement = self.connection.prepare_cached(
      r#"select id, created_at, events from "medusa_invites_outbox"
         where delivered_at is null and (?1 is null or created_at < ?1) order by id limit ?2"#,
    )?;
    let rows = statement
      .query_map(params![before, limit as i64], |row| {
        Ok(OutboxRow {
          id: row.get(0)?,
          created_at: row.get(1)?,
          record: row.get(2)?,
        })
      })?
      .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
  }

  async fn mark_delivered(&mut self, ids: &[i64], now: i64, prune_before: i64) -> Result<()> {
    let mut mark = self.connection.prepare_cached(
      r#"update "medusa_invites_outbox" set delivered_at = ?2 where id = ?1 and delivered_at is null"#,
    )?;
    for id in ids {
      mark.execute(params![id, now])?;
    }
    self
      .connection
      .prepare_cached(r#"delete from "medusa_invites_outbox" where delivered_at < ?1"#)?
      .execute([prune_before])?;
    Ok(())
  }
}

pub(super) fn find_replay(connection: &Connection, replay: &Replay) -> Result<Option<String>> {
  let mut statement = connection.prepare_cached(
    r#"select response from "medusa_invites_idempotency" where key = ?1 and input_hash = ?2 and created_at > ?3"#,
  )?;
  let oldest = replay.oldest();
  Ok(
    statement
      .query_row(params![replay.key, replay.input_hash, oldest], |row| {
        row.get(0)
      })
      .optional()?,
  )
}

/// Saves the response and forgets records past the retention, so keys cannot grow the
/// database without bound.
pub(super) fn save_replay(connection: &Connection, replay: &Replay) -> Result<()> {
  let oldest = replay.oldest();
  connection
    .prepare_cached(r#"delete from "medusa_invites_idempotency" where created_at <= ?1"#)?
    .execute([oldest])?;
  connection
    .prepare_cached(
      r#"insert or replace into "medusa_invites_idempotency" (key, input_hash, response, created_at) values (?1, ?2, ?3, ?4)"#,
    )?
    .execute(params![replay.key, replay.input_hash, replay.response, replay.now])?;
  Ok(())
}

/// Emails of `emails` that live users hold, in input order, each once.
fn live_user_emails<'a>(connection: &Connection, emails: &[&'a str]) -> Result<Vec<&'a str>> {
  let mut statement =
    connection.prepare_cached(r#"select 1 from "user" where email = ?1 and deleted_at is null"#)?;
  let mut seen = HashSet::new();
  let mut found = Vec::new();
  for &email in emails {
    if seen.insert(email) && statement.exists([email])? {
      found.push(email);
    }
  }
  Ok(found)
}

/// Which unique index a failed insert hit: SQLite reports a TEXT primary key as
/// `SQLITE_CONSTRAINT_PRIMARYKEY` and the email index as `SQLITE_CONSTRAINT_UNIQUE`.
enum Conflict {
  Id,
  Email,
}

fn conflict_of(error: &rusqlite::Error) -> Option<Conflict> {
  match error {
    rusqlite::Error::SqliteFailure(failure, _)
      if failure.code == ErrorCode::ConstraintViolation =>
    {
      match failure.extended_code {
        rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Some(Conflict::Id),
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => Some(Conflict::Email),
        _ => None,
      }
    }
    _ => None,
  }
}

fn duplicate(entity: &str, conflict: Conflict, id: &str, email: &str) -> Error {
  match conflict {
    Conflict::Id => messages::already_exists(entity, "id", id),
    Conflict::Email => messages::already_exists(entity, "email", email),
  }
}

/// A failed write of the invite at `index`: a unique index's verdict as Medusa's message.
fn invite_write_error(error: rusqlite::Error, invite: &Invite, index: usize) -> Error {
  match conflict_of(&error) {
    Some(conflict) => duplicate("Invite", conflict, &invite.id, &invite.email).at(index),
    None => Error::from(error),
  }
}

/// A failed write of the user at `index`: a unique index's verdict as Medusa's message.
fn user_write_error(error: rusqlite::Error, user: &User, index: usize) -> Error {
  match conflict_of(&error) {
    Some(conflict) => duplicate("User", conflict, &user.id, &user.email).at(index),
    None => Error::from(error),
  }
}

/// Runs a `delete … where id = ?1` for each id; returns the ids it deleted.
fn delete_rows(connection: &Connection, sql: &str, ids: &[String]) -> Result<Vec<String>> {
  let mut delete = connection.prepare_cached(sql)?;
  let mut deleted = Vec::new();
  for id in ids {
    if delete.execute([id])? > 0 {
      deleted.push(id.clone());
    }
  }
  Ok(deleted)
}

pub(super) fn insert_invites(connection: &Connection, invites: &[Invite]) -> Result<()> {
  let emails: Vec<&str> = invites.iter().map(|invite| invite.email.as_str()).collect();
  let taken = live_user_emails(connection, &emails)?;
  if !taken.is_empty() {
    return Err(messages::users_exist(&taken));
  }
  let mut insert = connection.prepare_cached(
    r#"insert into "invite" (id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at, roles)
       values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"#,
  )?;
  for (index, invite) in invites.iter().enumerate() {
    let inserted = insert.execute(params![
      invite.id,
      invite.email,
      invite.accepted,
      invite.token,
      invite.expires_at,
      invite.metadata,
      invite.created_at,
      invite.updated_at,
      invite.deleted_at,
      invite.roles_json(),
    ]);
    inserted.map_err(|error| invite_write_error(error, invite, index))?;
  }
  Ok(())
}

fn insert_users(connection: &Connection, users: &[User]) -> Result<()> {
  let mut insert = connection.prepare_cached(
    r#"insert into "user" (id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, roles)
       values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"#,
  )?;
  for (index, user) in users.iter().enumerate() {
    let inserted = insert.execute(params![
      user.id,
      user.first_name,
      user.last_name,
      user.email,
      user.avatar_url,
      user.metadata,
      user.created_at,
      user.updated_at,
      user.deleted_at,
      roles_json(&user.roles),
    ]);
    inserted.map_err(|error| user_write_error(error, user, index))?;
  }
  Ok(())
}
