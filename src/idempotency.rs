//! `idempotencyKey` (docs/behaviour.md): a call repeated with the same key and the same input
//! while its record is younger than the retention resolves with the first call's response
//! and writes nothing. This file holds the record: the input's hash, the stored response
//! format, and `Replay`, what a call hands its session to look for and to save. The
//! protocol (lock the key, look, write, save) is `lifecycle::create_invites`.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::invite::Invite;

/// A call's idempotency record: the response of a successful call, found again by the key and
/// a hash of the input while it is younger than the retention.
#[derive(Debug, Clone)]
pub struct Replay {
  pub key: String,
  pub input_hash: String,
  pub response: String,
  pub now: i64,
  pub retention_ms: i64,
}

impl Replay {
  /// Records created at or before this instant (Unix ms) are past the retention.
  pub fn oldest(&self) -> i64 {
    self.now - self.retention_ms
  }
}

/// SHA-256 (hex) of a call's input: the method, whether one object or an array was passed,
/// and the items as re-serialized from their parsed form (the same input gives the same
/// bytes). Records stored by earlier versions keep matching: the recipe never changes.
pub fn input_hash(method: &str, single: bool, items: &[Value]) -> String {
  let mut hasher = Sha256::new();
  hasher.update(method.as_bytes());
  hasher.update([0, u8::from(single)]);
  hasher.update(serde_json::to_string(items).unwrap_or_default().as_bytes());
  hasher
    .finalize()
    .iter()
    .map(|byte| format!("{byte:02x}"))
    .collect()
}

/// The response of a `createInvites` call, which an idempotency key replays, so a replay
/// gives the same DTOs: `{now, expiresAt, ids, tokens, times}`. The JS side holds every
/// other DTO field already; `times` lists `[index, created_at, updated_at, deleted_at]` only
/// for the items whose times the caller set. `tokens` is one text, the tokens joined by `\n`
/// (a JWT has none): the JS side parses one string instead of one per invite and cuts the
/// tokens out as it builds the DTOs, a part at a time.
pub fn created_response(now: i64, expires_at: i64, invites: &[Invite]) -> String {
  #[derive(Serialize)]
  #[serde(rename_all = "camelCase")]
  struct Response<'a> {
    now: i64,
    expires_at: i64,
    ids: Vec<&'a str>,
    tokens: String,
    times: Vec<(usize, i64, i64, Option<i64>)>,
  }
  let response = Response {
    now,
    expires_at,
    ids: invites.iter().map(|invite| invite.id.as_str()).collect(),
    tokens: invites
      .iter()
      .map(|invite| invite.token.as_str())
      .collect::<Vec<_>>()
      .join("\n"),
    times: invites
      .iter()
      .enumerate()
      .filter(|(_, invite)| {
        invite.created_at != now || invite.updated_at != now || invite.deleted_at.is_some()
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
  // A struct of strings and integers always serializes.
  serde_json::to_string(&response).unwrap_or_default()
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[test]
  fn the_hash_depends_on_the_method_the_form_and_the_items() {
    let items = [json!({"email": "a@x.y"})];
    let hash = input_hash("createInvites", false, &items);
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, input_hash("createInvites", false, &items));
    assert_ne!(hash, input_hash("createInvites", true, &items));
    assert_ne!(hash, input_hash("createUsers", false, &items));
    assert_ne!(
      hash,
      input_hash("createInvites", false, &[json!({"email": "b@x.y"})])
    );
  }
}
