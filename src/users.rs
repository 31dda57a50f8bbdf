//! Medusa's user writes beyond `createUsers`: `updateUsers`, `deleteUsers`, `softDeleteUsers`
//! and `restoreUsers`, written once over a `Session` (an open transaction of either backend).

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::invite::User;
use crate::lifecycle::Done;
use crate::messages;
use crate::metadata::{merge_metadata, metadata_json, parse_object, same_metadata};
use crate::query::{Entity, Query};
use crate::rows::{apply_updates, ids_of, in_input_order, keyed_by_id, missing, unique};
use crate::session::Session;

/// One `UpdateUserDTO` item: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserUpdate {
  /// `""` when the item has none (Medusa then reports `User with id "" not found`).
  pub id: String,
  pub email: Option<String>,
  pub first_name: Option<Option<String>>,
  pub last_name: Option<Option<String>>,
  pub avatar_url: Option<Option<String>>,
  /// `Some(None)` clears the metadata; `Some(Some(json))` merges the object in.
  pub metadata: Option<Option<String>>,
}

/// One user call's work.
pub enum UserOp {
  Update { items: Vec<UserUpdate>, now: i64 },
  Delete { ids: Vec<String> },
  SoftDelete { ids: Vec<String>, now: i64 },
  Restore { ids: Vec<String> },
}

impl UserOp {
  /// Rows the call touches.
  pub fn rows(&self) -> usize {
    match self {
      UserOp::Update { items, .. } => items.len(),
      UserOp::Delete { ids } | UserOp::SoftDelete { ids, .. } | UserOp::Restore { ids } => {
        ids.len()
      }
    }
  }
}

pub async fn perform(session: &mut dyn Session, op: &UserOp) -> Result<Done> {
  match op {
    UserOp::Update { items, now } => update(session, items, *now).await,
    UserOp::Delete { ids } => {
      // Medusa's hard delete also removes soft-deleted rows.
      let found = users_in_order(session, ids, true).await?;
      let deleted: HashSet<String> = session
        .delete_users(&ids_of(&found))
        .await?
        .into_iter()
        .collect();
      Ok(Done::Ids(
        ids_of(&found)
          .into_iter()
          .filter(|id| deleted.contains(id))
          .collect(),
      ))
    }
    UserOp::SoftDelete { ids, now } => {
      let mut users = users_in_order(session, ids, false).await?;
      for user in &mut users {
        user.deleted_at = Some(*now);
      }
      session.save_users(&users).await?;
      Ok(Done::Ids(ids_of(&users)))
    }
    UserOp::Restore { ids } => {
      // Medusa restores (and reports) every user it finds, soft-deleted or not; in input
      // order, so the first id's email is the one reported when several collide.
      let found = users_in_order(session, ids, true).await?;
      let restored: Vec<User> = found
        .iter()
        .filter(|user| user.deleted_at.is_some())
        .map(|user| User {
          deleted_at: None,
          ..user.clone()
        })
        .collect();
      session.save_users(&restored).await?;
      Ok(Done::Ids(ids_of(&found)))
    }
  }
}

async fn users_by_id(
  session: &mut dyn Session,
  ids: &[String],
  with_deleted: bool,
) -> Result<HashMap<String, User>> {
  let query = Query::by_ids(Entity::User, &unique(ids), with_deleted);
  Ok(keyed_by_id(session.find_users(&query).await?.rows))
}

/// The users with these ids, in the order of `ids`, each once.
async fn users_in_order(
  session: &mut dyn Session,
  ids: &[String],
  with_deleted: bool,
) -> Result<Vec<User>> {
  Ok(in_input_order(
    ids,
    users_by_id(session, ids, with_deleted).await?,
  ))
}

async fn update(session: &mut dyn Session, items: &[UserUpdate], now: i64) -> Result<Done> {
  let ids: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
  let mut live = users_by_id(session, &ids, false).await?;
  let missing = missing(&ids, &live);
  if !missing.is_empty() {
    return Err(messages::ids_not_found("User", &missing));
  }
  let updated = apply_updates(&ids, &mut live, items, |user, item| {
    let changed = apply(user, item)?;
    if changed {
      user.updated_at = now;
    }
    Ok(changed)
  })?;
  session.save_users(&updated.to_save).await?;
  Ok(Done::UpdatedUsers {
    users: updated.rows,
    changed: updated.changed,
  })
}

/// Applies one update item; returns whether anything changed.
fn apply(user: &mut User, item: &UserUpdate) -> Result<bool> {
  let before = user.clone();
  if let Some(email) = &item.email {
    user.email = email.clone();
  }
  if let Some(first_name) = &item.first_name {
    user.first_name = first_name.clone();
  }
  if let Some(last_name) = &item.last_name {
    user.last_name = last_name.clone();
  }
  if let Some(avatar_url) = &item.avatar_url {
    user.avatar_url = avatar_url.clone();
  }
  let mut metadata_changed = false;
  if let Some(metadata) = &item.metadata {
    let stored = parse_object(user.metadata.as_deref())?;
    let merged = merge_metadata(stored.clone(), metadata.as_deref())?;
    metadata_changed = !same_metadata(&merged, &stored);
    user.metadata = merged.as_ref().map(metadata_json);
  }
  Ok(
    metadata_changed
      || before.email != user.email
      || before.first_name != user.first_name
      || before.last_name != user.last_name
      || before.avatar_url != user.avatar_url,
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  fn user() -> User {
    User {
      id: "user_1".into(),
      email: "a@example.com".into(),
      first_name: Some("A".into()),
      last_name: None,
      avatar_url: None,
      metadata: Some(r#"{"k":"v"}"#.into()),
      created_at: 1,
      updated_at: 1,
      deleted_at: None,
      roles: None,
    }
  }

  #[test]
  fn an_update_changes_only_the_given_fields_and_says_whether_anything_changed() {
    let mut stored = user();
    let same = UserUpdate {
      id: "user_1".into(),
      first_name: Some(Some("A".into())),
      metadata: Some(Some(r#"{"k":"v"}"#.into())),
      ..UserUpdate::default()
    };
    assert!(!apply(&mut stored, &same).unwrap());
    assert_eq!(stored, user());

    let change = UserUpdate {
      id: "user_1".into(),
      first_name: Some(None),
      last_name: Some(Some("L".into())),
      metadata: Some(Some(r#"{"k":"","n":1}"#.into())),
      ..UserUpdate::default()
    };
    assert!(apply(&mut stored, &change).unwrap());
    assert_eq!(stored.first_name, None);
    assert_eq!(stored.last_name.as_deref(), Some("L"));
    assert_eq!(stored.metadata.as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(stored.email, "a@example.com");
  }
}
