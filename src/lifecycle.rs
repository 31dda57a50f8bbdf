//! The rest of the invite lifecycle (docs/behaviour.md): what each call reads and writes, written once
//! over a `Session` (an open transaction of either backend).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorKind, Result};
use crate::invite::{Invite, InviteUpdate, User};
use crate::messages::{shown, shown_list};
use crate::query::{Entity, Query};
use crate::token::TokenSigner;
use crate::users::{self, UserOp};

/// Rows of a query, with the count of every match when it asked for one.
pub struct Found<T> {
  pub rows: Vec<T>,
  pub count: Option<i64>,
}

/// An open transaction: the few statements the lifecycle is made of.
#[async_trait]
pub trait Session: Send {
  async fn find_invites(&mut self, query: &Query) -> Result<Found<Invite>>;
  async fn find_users(&mut self, query: &Query) -> Result<Found<User>>;
  /// Writes every column of these existing invites (found by id). A live invite already
  /// holding an email is `Invite with email: <email>, already exists.`
  async fn save_invites(&mut self, invites: &[Invite]) -> Result<()>;
  /// Deletes the rows with these ids; returns the ids deleted.
  async fn delete_invites(&mut self, ids: &[String]) -> Result<Vec<String>>;
  /// Inserts users; a live user's email is `User with email: <email>, already exists.`
  async fn insert_users(&mut self, users: &[User]) -> Result<()>;
  /// Writes every column of these existing users (found by id). A live user already holding
  /// an email is `User with email: <email>, already exists.`
  async fn save_users(&mut self, users: &[User]) -> Result<()>;
  /// Deletes the users with these ids; returns the ids deleted.
  async fn delete_users(&mut self, ids: &[String]) -> Result<Vec<String>>;
}

/// One lifecycle call's work.
pub enum Op {
  /// `list*`, `listAndCount*`, `retrieve*`.
  Find(Query),
  /// `refreshInviteTokens`: new tokens and `expires_at` for live invites.
  Refresh {
    ids: Vec<String>,
    signer: Arc<TokenSigner>,
    now: i64,
  },
  Update {
    items: Vec<InviteUpdate>,
    now: i64,
  },
  Delete {
    ids: Vec<String>,
  },
  SoftDelete {
    ids: Vec<String>,
    now: i64,
  },
  Restore {
    ids: Vec<String>,
  },
  /// The user to create (its email unset means the invite's) for the live invite `invite_id`
  /// whose current token is `token`.
  Accept {
    invite_id: String,
    token: String,
    user: User,
    now: i64,
  },
  /// `updateUsers`, `deleteUsers`, `softDeleteUsers`, `restoreUsers` (see `users`).
  Users(UserOp),
}

impl Op {
  /// Rows the call touches, to decide where a backend runs it (see `store::sqlite`).
  pub fn rows(&self) -> usize {
    match self {
      Op::Find(query) => query.expected_rows(),
      Op::Refresh { ids, .. }
      | Op::Delete { ids }
      | Op::SoftDelete { ids, .. }
      | Op::Restore { ids } => ids.len(),
      Op::Update { items, .. } => items.len(),
      Op::Accept { .. } => 1,
      Op::Users(op) => op.rows(),
    }
  }

  /// Reads only: no write transaction needed.
  pub fn is_read(&self) -> bool {
    matches!(self, Op::Find(_))
  }
}

/// What a lifecycle call produced.
pub enum Done {
  Invites(Found<Invite>),
  Users(Found<User>),
  /// Invites in input order, with whether each changed (`user.invite.updated`).
  Updated {
    invites: Vec<Invite>,
    changed: Vec<bool>,
  },
  /// Ids the call deleted, soft-deleted or restored, in input order.
  Ids(Vec<String>),
  Accepted {
    user: User,
    invite_id: String,
  },
  /// Users in input order, with whether each changed (`user.user.updated`).
  UpdatedUsers {
    users: Vec<User>,
    changed: Vec<bool>,
  },
}

pub async fn perform(session: &mut dyn Session, op: &Op) -> Result<Done> {
  match op {
    Op::Find(query) => Ok(match query.entity {
      Entity::Invite => Done::Invites(session.find_invites(query).await?),
      Entity::User => Done::Users(session.find_users(query).await?),
    }),
    Op::Refresh { ids, signer, now } => refresh(session, ids, signer, *now).await,
    Op::Update { items, now } => update(session, items, *now).await,
    Op::Delete { ids } => {
      // No stored id contains U+0000 (and PostgreSQL cannot be asked about one).
      let mut storable = unique(ids);
      storable.retain(|id| !id.contains('\0'));
      Ok(Done::Ids(in_order(
        ids,
        session.delete_invites(&storable).await?,
      )))
    }
    Op::SoftDelete { ids, now } => {
      let mut invites = invites_in_order(session, ids, false).await?;
      for invite in &mut invites {
        invite.deleted_at = Some(*now);
      }
      session.save_invites(&invites).await?;
      Ok(Done::Ids(ids_of(&invites)))
    }
    Op::Restore { ids } => {
      // In input order: Medusa reports the first id's email when several collide. As Medusa,
      // a live invite among the ids is reported too (restoring it changes nothing).
      let found = invites_in_order(session, ids, true).await?;
      let restored: Vec<Invite> = found
        .iter()
        .filter(|invite| invite.deleted_at.is_some())
        .map(|invite| Invite {
          deleted_at: None,
          ..invite.clone()
        })
        .collect();
      session.save_invites(&restored).await?;
      Ok(Done::Ids(ids_of(&found)))
    }
    Op::Accept {
      invite_id,
      token,
      user,
      now,
    } => accept(session, invite_id, token, user, *now).await,
    Op::Users(op) => users::perform(session, op).await,
  }
}

pub(crate) fn unique(ids: &[String]) -> Vec<String> {
  let mut seen = HashSet::new();
  ids
    .iter()
    .filter(|id| seen.insert(id.as_str()))
    .cloned()
    .collect()
}

/// A stored row found by its id: an invite or a user.
pub(crate) trait HasId {
  fn id(&self) -> &str;
}

impl HasId for Invite {
  fn id(&self) -> &str {
    &self.id
  }
}

impl HasId for User {
  fn id(&self) -> &str {
    &self.id
  }
}

pub(crate) fn ids_of<T: HasId>(rows: &[T]) -> Vec<String> {
  rows.iter().map(|row| row.id().to_string()).collect()
}

/// Rows keyed by their ids.
pub(crate) fn keyed_by_id<T: HasId>(rows: Vec<T>) -> HashMap<String, T> {
  rows
    .into_iter()
    .map(|row| (row.id().to_string(), row))
    .collect()
}

/// The rows of `found` in the order of `ids`, each once.
pub(crate) fn in_input_order<T>(ids: &[String], mut found: HashMap<String, T>) -> Vec<T> {
  unique(ids)
    .iter()
    .filter_map(|id| found.remove(id))
    .collect()
}

/// `done`, in the order of `input`, each once.
fn in_order(input: &[String], done: Vec<String>) -> Vec<String> {
  let done: HashSet<String> = done.into_iter().collect();
  unique(input)
    .into_iter()
    .filter(|id| done.contains(id))
    .collect()
}

/// The invites with these ids (live ones, or also soft-deleted ones), by id.
async fn invites_by_id(
  session: &mut dyn Session,
  ids: &[String],
  with_deleted: bool,
) -> Result<HashMap<String, Invite>> {
  let query = Query::by_ids(Entity::Invite, &unique(ids), with_deleted);
  Ok(keyed_by_id(session.find_invites(&query).await?.rows))
}

/// The invites with these ids, in the order of `ids`, each once.
async fn invites_in_order(
  session: &mut dyn Session,
  ids: &[String],
  with_deleted: bool,
) -> Result<Vec<Invite>> {
  Ok(in_input_order(
    ids,
    invites_by_id(session, ids, with_deleted).await?,
  ))
}

/// The ids of `ids` (each once, in order) that `found` lacks.
pub(crate) fn missing<'a, T>(ids: &'a [String], found: &HashMap<String, T>) -> Vec<&'a str> {
  let mut seen = HashSet::new();
  ids
    .iter()
    .filter(|id| seen.insert(id.as_str()) && !found.contains_key(*id))
    .map(String::as_str)
    .collect()
}

async fn refresh(
  session: &mut dyn Session,
  ids: &[String],
  signer: &TokenSigner,
  now: i64,
) -> Result<Done> {
  let mut live = invites_by_id(session, ids, false).await?;
  let missing = missing(ids, &live);
  if !missing.is_empty() {
    return Err(Error::invalid_data(format!(
      "The following invites do not exist: {}",
      shown_list(&missing)
    )));
  }
  let expires_at = signer.expires_at_ms(now);
  let mut invites = Vec::with_capacity(live.len());
  for id in unique(ids) {
    let Some(mut invite) = live.remove(&id) else {
      continue;
    };
    invite.token = signer.sign(&invite.id, &invite.email, now)?;
    invite.expires_at = expires_at;
    invite.updated_at = now;
    invites.push(invite);
  }
  session.save_invites(&invites).await?;
  let changed = vec![true; invites.len()];
  Ok(Done::Updated { invites, changed })
}

async fn update(session: &mut dyn Session, items: &[InviteUpdate], now: i64) -> Result<Done> {
  let ids: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
  let mut live = invites_by_id(session, &ids, false).await?;
  let missing = missing(&ids, &live);
  if !missing.is_empty() {
    return Err(Error::new(
      ErrorKind::NotFound,
      format!("Invite with id \"{}\" not found", shown_list(&missing)),
    ));
  }
  let updated = apply_updates(&ids, &mut live, items, |invite, item| {
    let changed = apply(invite, item)?;
    if changed {
      invite.updated_at = now;
    }
    Ok(changed)
  })?;
  session.save_invites(&updated.to_save).await?;
  Ok(Done::Updated {
    invites: updated.rows,
    changed: updated.changed,
  })
}

/// What an update call did to rows found by id (invites or users).
pub(crate) struct Updated<T> {
  /// The changed rows.
  pub to_save: Vec<T>,
  /// Each row once, in the order its id first appears.
  pub rows: Vec<T>,
  /// Whether each row changed (it is announced then).
  pub changed: Vec<bool>,
}

/// Applies an update call's items (`ids[i]` is item i's id) to the rows found by id, as
/// Medusa does: the last item given for an id is the one applied (earlier ones for it are
/// dropped), and each row comes back once. `apply` says whether an item changed its row.
pub(crate) fn apply_updates<T: Clone, I>(
  ids: &[String],
  live: &mut HashMap<String, T>,
  items: &[I],
  mut apply: impl FnMut(&mut T, &I) -> Result<bool>,
) -> Result<Updated<T>> {
  let mut last_item: HashMap<&str, &I> = HashMap::new();
  for (id, item) in ids.iter().zip(items) {
    last_item.insert(id.as_str(), item);
  }
  let mut rows = Vec::with_capacity(last_item.len());
  let mut changed = Vec::with_capacity(last_item.len());
  for id in unique(ids) {
    let (Some(mut row), Some(item)) = (live.remove(&id), last_item.get(id.as_str())) else {
      continue;
    };
    changed.push(apply(&mut row, item)?);
    rows.push(row);
  }
  let to_save = rows
    .iter()
    .zip(&changed)
    .filter(|(_, is_changed)| **is_changed)
    .map(|(row, _)| row.clone())
    .collect();
  Ok(Updated {
    to_save,
    rows,
    changed,
  })
}

/// Applies one update item; returns whether anything changed.
fn apply(invite: &mut Invite, item: &InviteUpdate) -> Result<bool> {
  let before = invite.clone();
  if let Some(email) = &item.email {
    invite.email = email.clone();
  }
  if let Some(accepted) = item.accepted {
    invite.accepted = accepted;
  }
  if let Some(expires_at) = item.expires_at {
    invite.expires_at = expires_at;
  }
  if let Some(roles) = &item.roles {
    invite.roles = roles.clone();
  }
  let mut metadata_changed = false;
  if let Some(metadata) = &item.metadata {
    let stored = parse_object(invite.metadata.as_deref())?;
    let merged = merge_metadata(stored.clone(), metadata.as_deref())?;
    metadata_changed = !same_metadata(&merged, &stored);
    invite.metadata = merged.as_ref().map(metadata_json);
  }
  Ok(
    metadata_changed
      || before.email != invite.email
      || before.accepted != invite.accepted
      || before.expires_at != invite.expires_at
      || before.roles != invite.roles,
  )
}

/// A metadata object's top-level keys, in order, each with its value's JSON text. The merge is
/// shallow, so nested values are never parsed: metadata of any depth can be updated.
pub(crate) type MetadataObject = IndexMap<String, Box<RawValue>>;

pub(crate) fn parse_object(json: Option<&str>) -> Result<Option<MetadataObject>> {
  json
    .map(|json| {
      serde_json::from_str(json)
        .map_err(|_| Error::unexpected_state("Stored invite metadata is not a JSON object"))
    })
    .transpose()
}

/// Whether two metadata objects hold the same values: the texts, else the parsed values (the
/// stored text may be jsonb's rendering of the same object); too deep to parse is a change.
pub(crate) fn same_metadata(a: &Option<MetadataObject>, b: &Option<MetadataObject>) -> bool {
  let same_value = |x: &RawValue, y: &RawValue| {
    x.get() == y.get()
      || matches!(
        (serde_json::from_str::<Value>(x.get()), serde_json::from_str::<Value>(y.get())),
        (Ok(x), Ok(y)) if x == y
      )
  };
  match (a, b) {
    (None, None) => true,
    (Some(a), Some(b)) => {
      a.len() == b.len()
        && a
          .iter()
          .zip(b)
          .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
    }
    _ => false,
  }
}

/// The JSON text of a metadata object.
pub(crate) fn metadata_json(metadata: &MetadataObject) -> String {
  // Keys and raw JSON values always serialize.
  serde_json::to_string(metadata).unwrap_or_default()
}

/// Medusa's metadata update: the given keys are set on the stored object, a key set to `""`
/// is removed (the others keep their order, as a JS `delete`), and `null` clears it all
/// (docs/behaviour.md).
pub(crate) fn merge_metadata(
  stored: Option<MetadataObject>,
  given: Option<&str>,
) -> Result<Option<MetadataObject>> {
  let Some(given) = parse_object(given)? else {
    return Ok(None);
  };
  let mut merged = stored.unwrap_or_default();
  for (key, value) in given {
    if value.get() == r#""""# {
      merged.shift_remove(&key);
    } else {
      merged.insert(key, value);
    }
  }
  Ok(Some(merged))
}

/// Tokens compare in constant time: how much of a guess matches must not show in the timing.
pub fn same_token(stored: &str, given: &str) -> bool {
  stored.len() == given.len() && bool::from(stored.as_bytes().ct_eq(given.as_bytes()))
}

pub const TOKEN_INVALID: &str = "The invite token is invalid";
pub const INVITE_EXPIRED: &str = "The invite has expired";

pub fn invite_not_found(id: &str) -> Error {
  Error::new(
    ErrorKind::NotFound,
    format!("Invite with id: {} was not found", shown(id)),
  )
}

/// Medusa's `validateInviteToken` checks on the loaded invite (docs/behaviour.md).
pub fn check_invite(invite: &Invite, token: &str, now: i64) -> Result<()> {
  if !same_token(&invite.token, token) {
    return Err(Error::invalid_data(TOKEN_INVALID));
  }
  if invite.expires_at < now {
    return Err(Error::invalid_data(INVITE_EXPIRED));
  }
  Ok(())
}

async fn accept(
  session: &mut dyn Session,
  invite_id: &str,
  token: &str,
  user: &User,
  now: i64,
) -> Result<Done> {
  // Locked: of several calls accepting one invite at once, the first takes it and the others
  // then read it soft-deleted, so they fail as not found (never on the user's email).
  let mut query = Query::by_ids(Entity::Invite, &[invite_id.to_string()], false);
  query.lock = true;
  let mut invite = session
    .find_invites(&query)
    .await?
    .rows
    .pop()
    .ok_or_else(|| invite_not_found(invite_id))?;
  check_invite(&invite, token, now)?;
  let mut user = user.clone();
  if user.email.is_empty() {
    user.email = invite.email.clone();
  }
  user.roles = invite.roles.clone();
  if !session
    .find_users(&Query::by_email(Entity::User, &user.email))
    .await?
    .rows
    .is_empty()
  {
    return Err(Error::invalid_data(format!(
      "User with email: {}, already exists.",
      user.email
    )));
  }
  session.insert_users(std::slice::from_ref(&user)).await?;
  invite.accepted = true;
  invite.updated_at = now;
  invite.deleted_at = Some(now);
  session.save_invites(std::slice::from_ref(&invite)).await?;
  Ok(Done::Accepted {
    user,
    invite_id: invite.id,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn metadata_merges_shallowly_and_empty_strings_remove_keys() {
    let stored = parse_object(Some(r#"{"k":"v","drop":"me","a":{"b":1},"z":0}"#)).unwrap();
    let merged = merge_metadata(stored, Some(r#"{"drop":"","new":1,"a":{"c":2}}"#)).unwrap();
    // The others keep their order when a key is removed, as after a JS `delete`.
    assert_eq!(
      merged.as_ref().map(metadata_json).as_deref(),
      Some(r#"{"k":"v","a":{"c":2},"z":0,"new":1}"#)
    );
    let stored = parse_object(Some(r#"{"k":1}"#)).unwrap();
    assert!(merge_metadata(stored, None).unwrap().is_none());
  }

  #[test]
  fn metadata_of_any_depth_merges_and_compares() {
    let deep = format!("{}1{}", "{\"n\":".repeat(5_000), "}".repeat(5_000));
    let stored = parse_object(Some(&format!(r#"{{"deep":{deep},"k":1}}"#))).unwrap();
    let merged = merge_metadata(stored.clone(), Some(r#"{"k":2}"#)).unwrap();
    assert_eq!(
      merged.as_ref().map(metadata_json),
      Some(format!(r#"{{"deep":{deep},"k":2}}"#))
    );
    assert!(!same_metadata(&merged, &stored));
    let jsonb_rendering = parse_object(Some(r#"{"a": {"x": 1, "y": [1, 2]}}"#)).unwrap();
    let compact = parse_object(Some(r#"{"a":{"x":1,"y":[1,2]}}"#)).unwrap();
    assert!(same_metadata(&jsonb_rendering, &compact));
  }

  #[test]
  fn tokens_compare_exactly() {
    assert!(same_token("abc", "abc"));
    assert!(!same_token("abc", "abd"));
    assert!(!same_token("abc", "abcd"));
  }
}
