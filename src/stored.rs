//! Reading a stored invite or user from a row of either backend: the stores select the same
//! columns in the same order (`id, …, metadata, created_at, updated_at, deleted_at, roles`,
//! times as Unix milliseconds, JSON as text), and each backend says how to read one value.

use crate::error::Result;
use crate::invite::{Invite, User};

/// One value of a row, by position, in the backend's own row type.
pub trait StoredRow {
  fn text(&self, index: usize) -> Result<Option<String>>;
  fn number(&self, index: usize) -> Result<Option<i64>>;
  fn flag(&self, index: usize) -> Result<bool>;
}

/// The columns every stored row ends with, from position 5.
struct Tail {
  metadata: Option<String>,
  created_at: i64,
  updated_at: i64,
  deleted_at: Option<i64>,
  roles: Option<Vec<String>>,
}

fn tail(row: &impl StoredRow) -> Result<Tail> {
  Ok(Tail {
    metadata: row.text(5)?,
    created_at: row.number(6)?.unwrap_or_default(),
    updated_at: row.number(7)?.unwrap_or_default(),
    deleted_at: row.number(8)?,
    // Roles are written by this module as a JSON array; anything else reads as none.
    roles: row
      .text(9)?
      .and_then(|json| serde_json::from_str(&json).ok()),
  })
}

/// `$kind { head fields }` completed with the tail's fields.
macro_rules! with_tail {
  ($row:expr, $kind:ident { $($field:ident: $value:expr),* $(,)? }) => {{
    let tail = tail($row)?;
    Ok($kind {
      $($field: $value,)*
      metadata: tail.metadata,
      created_at: tail.created_at,
      updated_at: tail.updated_at,
      deleted_at: tail.deleted_at,
      roles: tail.roles,
    })
  }};
}

/// `id, email, accepted, token, expires_at`, then the tail.
pub fn invite(row: &impl StoredRow) -> Result<Invite> {
  with_tail!(
    row,
    Invite {
      id: row.text(0)?.unwrap_or_default(),
      email: row.text(1)?.unwrap_or_default(),
      accepted: row.flag(2)?,
      token: row.text(3)?.unwrap_or_default(),
      expires_at: row.number(4)?.unwrap_or_default(),
    }
  )
}

/// `id, first_name, last_name, email, avatar_url`, then the tail.
pub fn user(row: &impl StoredRow) -> Result<User> {
  with_tail!(
    row,
    User {
      id: row.text(0)?.unwrap_or_default(),
      first_name: row.text(1)?,
      last_name: row.text(2)?,
      email: row.text(3)?.unwrap_or_default(),
      avatar_url: row.text(4)?,
    }
  )
}
