//! The embedded default store: one SQLite file in WAL mode, durable by default
//! (`synchronous=FULL`). The `invite` and `user` tables mirror Medusa's columns and indexes
//! (spec §7), plus `invite.roles`. Times are stored as Unix milliseconds, JSON as text.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode};

use super::{existing_users_message, Store};
use crate::error::{Error, Result};
use crate::invite::{Invite, User};

const SCHEMA: &str = r#"
create table if not exists "invite" ("id" text not null, "email" text not null,
  "accepted" boolean not null default false, "token" text not null,
  "expires_at" timestamptz not null, "metadata" jsonb null,
  "created_at" timestamptz not null, "updated_at" timestamptz not null,
  "deleted_at" timestamptz null, "roles" jsonb null,
  constraint "invite_pkey" primary key ("id"));
create unique index if not exists "IDX_invite_email_unique" on "invite" (email) where deleted_at is null;
create index if not exists "IDX_invite_token" on "invite" (token) where deleted_at is null;
create index if not exists "IDX_invite_deleted_at" on "invite" (deleted_at) where deleted_at is not null;
create table if not exists "user" ("id" text not null, "first_name" text null, "last_name" text null,
  "email" text not null, "avatar_url" text null, "metadata" jsonb null,
  "created_at" timestamptz not null, "updated_at" timestamptz not null,
  "deleted_at" timestamptz null, constraint "user_pkey" primary key ("id"));
create unique index if not exists "IDX_user_email_unique" on "user" (email) where deleted_at is null;
"#;

/// SQLite's `synchronous` setting. `Full` survives power loss; `Normal` (in WAL mode) may
/// lose the last commits on power loss but never corrupts the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
  Full,
  Normal,
  Off,
}

impl Synchronous {
  pub fn parse(text: &str) -> Option<Self> {
    match text.to_ascii_lowercase().as_str() {
      "full" => Some(Synchronous::Full),
      "normal" => Some(Synchronous::Normal),
      "off" => Some(Synchronous::Off),
      _ => None,
    }
  }

  fn pragma(self) -> &'static str {
    match self {
      Synchronous::Full => "FULL",
      Synchronous::Normal => "NORMAL",
      Synchronous::Off => "OFF",
    }
  }
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
  Memory,
  File(PathBuf),
}

pub struct SqliteStore {
  connection: Connection,
}

impl SqliteStore {
  /// Opens (creating the file and its folder on first use) and prepares the schema.
  pub fn open(location: &Location, synchronous: Synchronous) -> Result<Self> {
    let connection = match location {
      Location::Memory => Connection::open_in_memory()?,
      Location::File(path) => {
        if let Some(folder) = path
          .parent()
          .filter(|folder| !folder.as_os_str().is_empty())
        {
          std::fs::create_dir_all(folder).map_err(|error| {
            Error::database(format!(
              "SQLite: cannot create the folder {}: {error}",
              folder.display()
            ))
          })?;
        }
        Connection::open(path)?
      }
    };
    // Other processes may hold the write lock for a moment; wait rather than fail.
    connection.busy_timeout(Duration::from_secs(5))?;
    if *location != Location::Memory {
      let mode: String = connection.query_row("pragma journal_mode = wal", [], |row| row.get(0))?;
      if mode != "wal" {
        return Err(Error::database(format!(
          "SQLite: cannot switch the database to WAL mode (it is in {mode} mode)"
        )));
      }
    }
    connection.pragma_update(None, "synchronous", synchronous.pragma())?;
    connection.execute_batch(SCHEMA)?;
    Ok(SqliteStore { connection })
  }

  /// One durable commit of one small row: the yardstick of the benchmark's single-call target.
  pub fn commit_one_row(&mut self) -> Result<()> {
    let transaction = self.connection.transaction()?;
    transaction.execute_batch(
      "create table if not exists bench_commit (n integer); insert into bench_commit values (1);",
    )?;
    transaction.commit()?;
    Ok(())
  }
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
    Conflict::Id => Error::invalid_data(format!("{entity} with id: {id}, already exists.")),
    Conflict::Email => {
      Error::invalid_data(format!("{entity} with email: {email}, already exists."))
    }
  }
}

fn roles_json(roles: &Option<Vec<String>>) -> Option<String> {
  roles
    .as_ref()
    .map(|roles| serde_json::Value::from(roles.clone()).to_string())
}

impl Store for SqliteStore {
  fn insert_invites(&mut self, invites: &[Invite]) -> Result<()> {
    // IMMEDIATE takes the write lock up front, so the user check and the inserts see one state.
    let transaction = self
      .connection
      .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let emails: Vec<&str> = invites.iter().map(|invite| invite.email.as_str()).collect();
    let taken = live_user_emails(&transaction, &emails)?;
    if !taken.is_empty() {
      return Err(Error::invalid_data(existing_users_message(&taken)));
    }
    {
      let mut insert = transaction.prepare_cached(
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
          roles_json(&invite.roles),
        ]);
        if let Err(error) = inserted {
          return Err(match conflict_of(&error) {
            Some(conflict) => duplicate("Invite", conflict, &invite.id, &invite.email).at(index),
            None => Error::from(error),
          });
        }
      }
    }
    transaction.commit()?;
    Ok(())
  }

  fn insert_users(&mut self, users: &[User]) -> Result<()> {
    let transaction = self
      .connection
      .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
      let mut insert = transaction.prepare_cached(
        r#"insert into "user" (id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at)
           values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"#,
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
        ]);
        if let Err(error) = inserted {
          return Err(match conflict_of(&error) {
            Some(conflict) => duplicate("User", conflict, &user.id, &user.email).at(index),
            None => Error::from(error),
          });
        }
      }
    }
    transaction.commit()?;
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use rusqlite::OptionalExtension;

  fn invite(id: &str, email: &str) -> Invite {
    Invite {
      id: id.into(),
      email: email.into(),
      accepted: false,
      token: "t".into(),
      expires_at: 2,
      metadata: None,
      created_at: 1,
      updated_at: 1,
      deleted_at: None,
      roles: Some(vec!["admin".into()]),
    }
  }

  fn count(store: &SqliteStore) -> i64 {
    store
      .connection
      .query_row(r#"select count(*) from "invite""#, [], |row| row.get(0))
      .unwrap()
  }

  #[test]
  fn duplicates_roll_back_the_whole_batch_with_medusa_messages() {
    let mut store = SqliteStore::open(&Location::Memory, Synchronous::Full).unwrap();
    store.insert_invites(&[invite("a", "a@x.y")]).unwrap();
    let error = store
      .insert_invites(&[invite("b", "b@x.y"), invite("c", "a@x.y")])
      .unwrap_err();
    assert_eq!(error.message, "Invite with email: a@x.y, already exists.");
    assert_eq!(error.index, Some(1));
    let error = store.insert_invites(&[invite("a", "z@x.y")]).unwrap_err();
    assert_eq!(error.message, "Invite with id: a, already exists.");
    assert_eq!(count(&store), 1);
  }

  #[test]
  fn soft_deleted_invites_free_the_email_but_not_the_id() {
    let mut store = SqliteStore::open(&Location::Memory, Synchronous::Full).unwrap();
    let mut deleted = invite("a", "a@x.y");
    deleted.deleted_at = Some(5);
    store.insert_invites(&[deleted]).unwrap();
    store.insert_invites(&[invite("b", "a@x.y")]).unwrap();
    let error = store.insert_invites(&[invite("a", "q@x.y")]).unwrap_err();
    assert_eq!(error.message, "Invite with id: a, already exists.");
  }

  #[test]
  fn roles_are_stored_as_json() {
    let mut store = SqliteStore::open(&Location::Memory, Synchronous::Full).unwrap();
    store.insert_invites(&[invite("a", "a@x.y")]).unwrap();
    let roles: Option<String> = store
      .connection
      .query_row(r#"select roles from "invite""#, [], |row| row.get(0))
      .optional()
      .unwrap()
      .flatten();
    assert_eq!(roles.as_deref(), Some(r#"["admin"]"#));
  }

  #[test]
  fn files_are_wal_and_durable_by_default() {
    let dir = std::env::temp_dir().join(format!("medusa-invites-unit-{}", std::process::id()));
    let path = dir.join("sync.sqlite");
    let pragma = |store: &SqliteStore, name: &str| -> String {
      store
        .connection
        .query_row(&format!("pragma {name}"), [], |row| {
          row.get::<_, rusqlite::types::Value>(0)
        })
        .map(|value| match value {
          rusqlite::types::Value::Integer(n) => n.to_string(),
          rusqlite::types::Value::Text(text) => text,
          other => format!("{other:?}"),
        })
        .unwrap()
    };
    let full = SqliteStore::open(&Location::File(path.clone()), Synchronous::Full).unwrap();
    assert_eq!(pragma(&full, "journal_mode"), "wal");
    assert_eq!(pragma(&full, "synchronous"), "2");
    let normal = SqliteStore::open(&Location::File(path), Synchronous::Normal).unwrap();
    assert_eq!(pragma(&normal, "synchronous"), "1");
    drop((full, normal));
    std::fs::remove_dir_all(dir).unwrap();
  }
}
