//! What each call reads and writes (docs/behaviour.md), written once over a `Session` (an open
//! transaction of either backend): `Op` is a call's work, `perform` does it, `Done` is what it
//! produced. The user calls beyond `createUsers` are in `users`.

use std::collections::HashMap;
use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::events::{self, Record};
use crate::idempotency::Replay;
use crate::invite::{Invite, InviteUpdate, User};
use crate::messages;
use crate::metadata::{merge_metadata, metadata_json, parse_object, same_metadata};
use crate::query::{Entity, Query};
use crate::rows::{apply_updates, ids_of, in_input_order, in_order, keyed_by_id, missing, unique};
use crate::session::{Found, OutboxRow, Session};
use crate::token::TokenSigner;
use crate::users::{self, UserOp};

/// One call's work.
pub enum Op {
  /// `createInvites`: inserts the invites, unless `replay` finds the response of an earlier
  /// call with the same key and input; then it writes nothing. Shared: the call's response
  /// is built from them while they are written (`InviteModule::create_invites`).
  CreateInvites {
    invites: Arc<Vec<Invite>>,
    replay: Option<Replay>,
  },
  /// `createUsers`.
  CreateUsers {
    users: Vec<User>,
  },
  /// `list*`, `listAndCount*`, `retrieve*`, `validateInviteToken`.
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
  /// Pending outbox rows: to deliver them (`claim`), or to show them.
  PendingEvents {
    before: Option<i64>,
    limit: usize,
    claim: bool,
  },
  /// Outbox rows delivered; rows delivered before `prune_before` are deleted.
  MarkDelivered {
    ids: Vec<i64>,
    now: i64,
    prune_before: i64,
  },
}

impl Op {
  /// Rows the call touches, to decide where a backend runs it (see `store::sqlite`).
  pub fn rows(&self) -> usize {
    match self {
      Op::CreateInvites { invites, .. } => invites.len(),
      Op::CreateUsers { users } => users.len(),
      Op::Find(query) => query.expected_rows(),
      Op::Refresh { ids, .. }
      | Op::Delete { ids }
      | Op::SoftDelete { ids, .. }
      | Op::Restore { ids } => ids.len(),
      Op::Update { items, .. } => items.len(),
      Op::Accept { .. } => 1,
      Op::Users(op) => op.rows(),
      Op::PendingEvents { limit, .. } => *limit,
      Op::MarkDelivered { ids, .. } => ids.len(),
    }
  }

  /// Reads only: no write transaction needed.
  pub fn is_read(&self) -> bool {
    matches!(self, Op::Find(_) | Op::PendingEvents { claim: false, .. })
  }

  /// One statement that reads: it sees one consistent state without a transaction.
  pub fn is_single_read(&self) -> bool {
    matches!(self, Op::Find(query) if !query.count)
      || matches!(self, Op::PendingEvents { claim: false, .. })
  }
}

/// What a call does with the events it produces (see `events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsMode {
  /// Nobody listens: no record.
  #[default]
  Ignore,
  /// The record comes back with the call's result, to be delivered now.
  Return,
  /// Also stored in the outbox, in the call's transaction, until it is marked delivered.
  Store,
}

/// A call: its work, what to do with its events, and its clock.
pub struct Call {
  pub op: Op,
  pub events: EventsMode,
  pub event_group_id: Option<String>,
  pub now: i64,
}

impl Call {
  /// The event record of the call, once it has produced `done`; `None` when there is nothing
  /// to announce or nobody to announce it to.
  pub fn record(&self, done: &Done) -> Option<String> {
    if self.events == EventsMode::Ignore {
      return None;
    }
    let events = events::of_call(&self.op, done);
    if events.is_empty() {
      return None;
    }
    let record = Record {
      event_group_id: self.event_group_id.clone(),
      events,
    };
    Some(record.to_json())
  }
}

/// What a call produced, with its event record and, when stored, its outbox row's id.
pub struct Outcome {
  pub done: Done,
  pub record: Option<String>,
  pub outbox_id: Option<i64>,
}

/// Runs a call inside its transaction: its work, then its outbox row (same transaction).
pub async fn run(session: &mut dyn Session, call: &Call) -> Result<Outcome> {
  let done = perform(session, &call.op).await?;
  let record = call.record(&done);
  let outbox_id = match (&record, call.events) {
    (Some(record), EventsMode::Store) => Some(session.save_outbox(record, call.now).await?),
    _ => None,
  };
  Ok(Outcome {
    done,
    record,
    outbox_id,
  })
}

/// What a call produced.
pub enum Done {
  /// The invites of `CreateInvites` were written.
  Written,
  /// The stored response of an earlier call with the same idempotency key and input.
  Replayed(String),
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
  /// Pending outbox rows, in id order.
  Pending(Vec<OutboxRow>),
  /// Outbox rows marked delivered.
  Marked,
}

pub async fn perform(session: &mut dyn Session, op: &Op) -> Result<Done> {
  match op {
    Op::CreateInvites { invites, replay } => {
      create_invites(session, invites, replay.as_ref()).await
    }
    Op::CreateUsers { users } => {
      session.insert_users(users).await?;
      Ok(Done::Users(Found {
        rows: users.clone(),
        count: None,
      }))
    }
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
    Op::PendingEvents {
      before,
      limit,
      claim,
    } => Ok(Done::Pending(
      session.pending_outbox(*before, *limit, *claim).await?,
    )),
    Op::MarkDelivered {
      ids,
      now,
      prune_before,
    } => {
      session.mark_delivered(ids, *now, *prune_before).await?;
      Ok(Done::Marked)
    }
  }
}

/// `createInvites`' writes, once per idempotency key and input: calls with the same key wait
/// for each other (`lock_key`), so one of them inserts and the others find its record.
async fn create_invites(
  session: &mut dyn Session,
  invites: &[Invite],
  replay: Option<&Replay>,
) -> Result<Done> {
  if let Some(replay) = replay {
    session.lock_key(&replay.key).await?;
    if let Some(response) = session.find_replay(replay).await? {
      return Ok(Done::Replayed(response));
    }
  }
  session.insert_invites(invites).await?;
  if let Some(replay) = replay {
    session.save_replay(replay).await?;
  }
  Ok(Done::Written)
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

async fn refresh(
  session: &mut dyn Session,
  ids: &[String],
  signer: &TokenSigner,
  now: i64,
) -> Result<Done> {
  let mut live = invites_by_id(session, ids, false).await?;
  let missing = missing(ids, &live);
  if !missing.is_empty() {
    return Err(messages::invites_do_not_exist(&missing));
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
    return Err(messages::ids_not_found("Invite", &missing));
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

/// Tokens compare in constant time: how much of a guess matches must not show in the timing.
pub fn same_token(stored: &str, given: &str) -> bool {
  stored.len() == given.len() && bool::from(stored.as_bytes().ct_eq(given.as_bytes()))
}

/// Medusa's `validateInviteToken` checks on the loaded invite (docs/behaviour.md).
pub fn check_invite(invite: &Invite, token: &str, now: i64) -> Result<()> {
  if !same_token(&invite.token, token) {
    return Err(Error::invalid_data(messages::TOKEN_INVALID));
  }
  if invite.expires_at < now {
    return Err(Error::invalid_data(messages::INVITE_EXPIRED));
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
    .ok_or_else(|| messages::not_found("Invite", invite_id))?;
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
    return Err(messages::already_exists("User", "email", &user.email));
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

/// A call of `op` with no events, for tests.
#[cfg(test)]
pub fn test_call(op: Op) -> Call {
  Call {
    op,
    events: EventsMode::Ignore,
    event_group_id: None,
    now: 0,
  }
}

/// A call inserting `count` sample invites (`invite::sample_invites`), for tests.
#[cfg(test)]
pub fn insert_samples(count: usize) -> Call {
  test_call(Op::CreateInvites {
    invites: Arc::new(crate::invite::sample_invites(count)),
    replay: None,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn tokens_compare_exactly() {
    assert!(same_token("abc", "abc"));
    assert!(!same_token("abc", "abd"));
    assert!(!same_token("abc", "abcd"));
  }
}
