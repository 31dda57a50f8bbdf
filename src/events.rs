//! What a call announces (docs/behaviour.md), as a record: which Medusa events, for which rows.
//! The JS side turns a record into Medusa's messages (`lib/events.js`, `messagesOf`), for
//! delivery right after the call and for redelivery from the outbox, where the record is
//! stored in the call's own transaction.

use serde::Serialize;

use crate::invite::Invite;
use crate::lifecycle::{Done, Op};
use crate::rows::{ids_of, HasId};
use crate::users::UserOp;

/// One group of messages (see `lib/events.js` for the messages each one becomes).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
  /// `user.invite.created` per invite, then one `token_generated` ("created").
  InvitesCreated {
    ids: Vec<String>,
  },
  /// `user.invite.updated` per changed invite, then one `token_generated` for `all`, with
  /// `action` "created" (refreshInviteTokens, as Medusa labels it) or "token_generated".
  InvitesUpdated {
    updated: Vec<String>,
    all: Vec<String>,
    action: &'static str,
  },
  InvitesDeleted {
    ids: Vec<String>,
  },
  UsersCreated {
    ids: Vec<String>,
  },
  UsersUpdated {
    ids: Vec<String>,
  },
  UsersDeleted {
    ids: Vec<String>,
  },
  /// `invite.accepted`, what Medusa's accept workflow emits once it has run.
  InviteAccepted {
    id: String,
  },
}

/// A call's events, with its `eventGroupId`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
  #[serde(skip_serializing_if = "Option::is_none")]
  pub event_group_id: Option<String>,
  pub events: Vec<Event>,
}

impl Record {
  pub fn to_json(&self) -> String {
    // Strings and lists of strings always serialize.
    serde_json::to_string(self).unwrap_or_default()
  }
}

/// The ids of the rows whose flag is set.
fn flagged<T: HasId>(rows: &[T], flags: &[bool]) -> Vec<String> {
  rows
    .iter()
    .zip(flags)
    .filter(|(_, flag)| **flag)
    .map(|(row, _)| row.id().to_string())
    .collect()
}

/// What `op` announces now that it produced `done`; nothing for a read, a replay, a restore
/// or a call that touched no row (Medusa emits nothing then).
pub fn of_call(op: &Op, done: &Done) -> Vec<Event> {
  let events = match (op, done) {
    (Op::CreateInvites { invites, .. }, Done::Written) => {
      vec![Event::InvitesCreated {
        ids: ids_of::<Invite>(invites),
      }]
    }
    (Op::CreateUsers { .. }, Done::Users(found)) => vec![Event::UsersCreated {
      ids: ids_of(&found.rows),
    }],
    (Op::Refresh { .. }, Done::Updated { invites, .. }) => vec![Event::InvitesUpdated {
      updated: ids_of(invites),
      all: ids_of(invites),
      action: "created",
    }],
    (Op::Update { .. }, Done::Updated { invites, changed }) => vec![Event::InvitesUpdated {
      updated: flagged(invites, changed),
      all: ids_of(invites),
      action: "token_generated",
    }],
    (Op::Delete { .. } | Op::SoftDelete { .. }, Done::Ids(ids)) => {
      vec![Event::InvitesDeleted { ids: ids.clone() }]
    }
    (Op::Accept { .. }, Done::Accepted { user, invite_id }) => vec![
      Event::UsersCreated {
        ids: vec![user.id.clone()],
      },
      Event::InvitesDeleted {
        ids: vec![invite_id.clone()],
      },
      Event::InviteAccepted {
        id: invite_id.clone(),
      },
    ],
    (Op::Users(UserOp::Update { .. }), Done::UpdatedUsers { users, changed }) => {
      vec![Event::UsersUpdated {
        ids: flagged(users, changed),
      }]
    }
    (Op::Users(UserOp::Delete { .. } | UserOp::SoftDelete { .. }), Done::Ids(ids)) => {
      vec![Event::UsersDeleted { ids: ids.clone() }]
    }
    _ => Vec::new(),
  };
  events
    .into_iter()
    .filter(|event| !event.is_empty())
    .collect()
}

impl Event {
  /// No message at all: no row for a per-row event, and (for updates) no row in the call.
  fn is_empty(&self) -> bool {
    match self {
      Event::InvitesCreated { ids }
      | Event::InvitesDeleted { ids }
      | Event::UsersCreated { ids }
      | Event::UsersUpdated { ids }
      | Event::UsersDeleted { ids } => ids.is_empty(),
      Event::InvitesUpdated { all, .. } => all.is_empty(),
      Event::InviteAccepted { .. } => false,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::invite::sample_invites;

  #[test]
  fn updates_announce_the_changed_rows_and_every_row_of_the_call() {
    let invites = sample_invites(3);
    let done = Done::Updated {
      invites: invites.clone(),
      changed: vec![true, false, true],
    };
    let op = Op::Update {
      items: Vec::new(),
      now: 0,
    };
    let record = Record {
      event_group_id: Some("g".into()),
      events: of_call(&op, &done),
    };
    assert_eq!(
      record.to_json(),
      r#"{"eventGroupId":"g","events":[{"type":"invitesUpdated","updated":["invite_000000","invite_000002"],"all":["invite_000000","invite_000001","invite_000002"],"action":"token_generated"}]}"#
    );
  }

  #[test]
  fn replays_reads_restores_and_empty_calls_announce_nothing() {
    let create = Op::CreateInvites {
      invites: std::sync::Arc::new(sample_invites(2)),
      replay: None,
    };
    assert!(of_call(&create, &Done::Replayed("{}".into())).is_empty());
    assert_eq!(of_call(&create, &Done::Written).len(), 1);
    let restore = Op::Restore {
      ids: vec!["a".into()],
    };
    assert!(of_call(&restore, &Done::Ids(vec!["a".into()])).is_empty());
    let delete = Op::Delete { ids: Vec::new() };
    assert!(of_call(&delete, &Done::Ids(Vec::new())).is_empty());
  }
}
