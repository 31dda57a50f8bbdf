//! Result JSON for the JS side, which builds the DTOs (spec §1) from it.

use serde::Serialize;

use crate::invite::User;
use crate::service::CreatedInvites;

/// `{now, expiresAt, ids, tokens, times}`. The JS side already holds every other field of
/// the DTO; `times` lists `[index, created_at, updated_at, deleted_at]` only for the items
/// whose times the caller set.
pub fn created_invites(created: &CreatedInvites) -> String {
  #[derive(Serialize)]
  #[serde(rename_all = "camelCase")]
  struct Out<'a> {
    now: i64,
    expires_at: i64,
    ids: Vec<&'a str>,
    tokens: Vec<&'a str>,
    times: Vec<(usize, i64, i64, Option<i64>)>,
  }
  let invites = &created.invites;
  let out = Out {
    now: created.now,
    expires_at: created.expires_at,
    ids: invites.iter().map(|invite| invite.id.as_str()).collect(),
    tokens: invites.iter().map(|invite| invite.token.as_str()).collect(),
    times: invites
      .iter()
      .enumerate()
      .filter(|(_, invite)| {
        invite.created_at != created.now
          || invite.updated_at != created.now
          || invite.deleted_at.is_some()
      })
      .map(|(index, invite)| {
        (
          index,
          invite.created_at,
          invite.updated_at,
          invite.deleted_at,
        )
      })
      .collect(),
  };
  to_json(&out)
}

/// Users in Medusa's DTO key order; `metadata` stays JSON text for the JS side to parse.
pub fn users(users: &[User]) -> String {
  #[derive(Serialize)]
  struct Out<'a> {
    id: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    email: &'a str,
    avatar_url: Option<&'a str>,
    metadata: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
  }
  let out: Vec<Out> = users
    .iter()
    .map(|user| Out {
      id: &user.id,
      first_name: user.first_name.as_deref(),
      last_name: user.last_name.as_deref(),
      email: &user.email,
      avatar_url: user.avatar_url.as_deref(),
      metadata: user.metadata.as_deref(),
      created_at: user.created_at,
      updated_at: user.updated_at,
      deleted_at: user.deleted_at,
    })
    .collect();
  to_json(&out)
}

fn to_json(value: &impl Serialize) -> String {
  // Structs of strings and integers always serialize.
  serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
