//! Result JSON of the lifecycle and user calls, for the JS side, which builds the DTOs from
//! it: times stay Unix milliseconds, `metadata` stays JSON text.

use serde::Serialize;

use crate::invite::{Invite, User};
use crate::lifecycle::Done;

#[derive(Serialize)]
struct InviteOut<'a> {
  id: &'a str,
  email: &'a str,
  accepted: bool,
  token: &'a str,
  expires_at: i64,
  metadata: Option<&'a str>,
  created_at: i64,
  updated_at: i64,
  deleted_at: Option<i64>,
  roles: Option<&'a [String]>,
}

impl<'a> From<&'a Invite> for InviteOut<'a> {
  fn from(invite: &'a Invite) -> Self {
    InviteOut {
      id: &invite.id,
      email: &invite.email,
      accepted: invite.accepted,
      token: &invite.token,
      expires_at: invite.expires_at,
      metadata: invite.metadata.as_deref(),
      created_at: invite.created_at,
      updated_at: invite.updated_at,
      deleted_at: invite.deleted_at,
      roles: invite.roles.as_deref(),
    }
  }
}

/// Users in Medusa's DTO key order, then `roles`.
#[derive(Serialize)]
struct UserOut<'a> {
  id: &'a str,
  first_name: Option<&'a str>,
  last_name: Option<&'a str>,
  email: &'a str,
  avatar_url: Option<&'a str>,
  metadata: Option<&'a str>,
  created_at: i64,
  updated_at: i64,
  deleted_at: Option<i64>,
  roles: Option<&'a [String]>,
}

impl<'a> From<&'a User> for UserOut<'a> {
  fn from(user: &'a User) -> Self {
    UserOut {
      id: &user.id,
      first_name: user.first_name.as_deref(),
      last_name: user.last_name.as_deref(),
      email: &user.email,
      avatar_url: user.avatar_url.as_deref(),
      metadata: user.metadata.as_deref(),
      created_at: user.created_at,
      updated_at: user.updated_at,
      deleted_at: user.deleted_at,
      roles: user.roles.as_deref(),
    }
  }
}

pub fn invite(invite: &Invite) -> String {
  to_json(&InviteOut::from(invite))
}

/// A pending outbox row: its record as JSON, not as a string of JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PendingOut<'a> {
  id: i64,
  created_at: i64,
  record: Option<&'a serde_json::value::RawValue>,
}

/// `{"invites": […], "changed": […]?, "count": n?}`, `{"users": […], "count": n?}`,
/// `{"ids": […]}` or `{"user": {…}, "inviteId": "…"}`.
pub fn done(done: &Done) -> String {
  #[derive(Serialize)]
  #[serde(rename_all = "camelCase")]
  struct Out<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invites: Option<Vec<InviteOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<UserOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<&'a [bool]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ids: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<Vec<PendingOut<'a>>>,
  }
  let mut out = Out {
    invites: None,
    users: None,
    changed: None,
    count: None,
    ids: None,
    user: None,
    invite_id: None,
    pending: None,
  };
  match done {
    Done::Invites(found) => {
      out.invites = Some(found.rows.iter().map(InviteOut::from).collect());
      out.count = found.count;
    }
    Done::Users(found) => {
      out.users = Some(found.rows.iter().map(UserOut::from).collect());
      out.count = found.count;
    }
    Done::Updated { invites, changed } => {
      out.invites = Some(invites.iter().map(InviteOut::from).collect());
      out.changed = Some(changed);
    }
    Done::UpdatedUsers { users, changed } => {
      out.users = Some(users.iter().map(UserOut::from).collect());
      out.changed = Some(changed);
    }
    Done::Ids(ids) => out.ids = Some(ids),
    Done::Accepted { user, invite_id } => {
      out.user = Some(UserOut::from(user));
      out.invite_id = Some(invite_id);
    }
    Done::Pending(rows) => {
      out.pending = Some(
        rows
          .iter()
          .map(|row| PendingOut {
            id: row.id,
            created_at: row.created_at,
            // Stored by this module as JSON; a row that is not would be shown as null.
            record: serde_json::from_str(&row.record).ok(),
          })
          .collect(),
      )
    }
    // createInvites answers with its own response (`idempotency::created_response`).
    Done::Written | Done::Replayed(_) | Done::Marked => {}
  }
  to_json(&out)
}

fn to_json(value: &impl Serialize) -> String {
  // Structs of strings and integers always serialize.
  serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
