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
/// bytes). Records stored by earlier versions keep matching: the recipe never changes. Fed
/// the items one at a time, as validation parses them, so each item is parsed once.
pub struct InputHash {
  hasher: Sha256,
  items: usize,
}

impl InputHash {
  pub fn new(method: &str, single: bool) -> Self {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0, u8::from(single)]);
    hasher.update(b"[");
    InputHash { hasher, items: 0 }
  }

  /// The next item, as serde_json writes it (the items hashed whole, as a JSON array).
  pub fn item(&mut self, item: &Value) {
    if self.items > 0 {
      self.hasher.update(b",");
    }
    self.hasher.update(item.to_string().as_bytes());
    self.items += 1;
  }

  pub fn finish(mut self) -> String {
    self.hasher.update(b"]");
    self
      .hasher
      .finalize()
      .iter()
      .map(|byte| format!("{byte:02x}"))
      .collect()
  }
}

/// The response of a `createInvites` call: `json` is `{now, expiresAt, ids, times}`; the JS side
/// holds every other DTO field already. `times` lists `[index, created_at, updated_at,
/// deleted_at]` only for the items whose times the caller set. `tokens` are the tokens joined
/// by `\n` (a JWT has none): they reach JS as a string of their own, never inside JSON, so a
/// large batch's tokens (28 MB for 100,000) are neither escaped nor parsed into a copy, and JS
/// cuts them out as it builds the DTOs, a part at a time.
pub struct Created {
  pub json: String,
  pub tokens: String,
}

impl Created {
  /// The one JSON text an idempotency record stores and a replay returns: `json` with
  /// `"tokens"` added (a JWT needs no escaping; `\n` is written escaped).
  pub fn stored(&self) -> String {
    let mut stored = String::with_capacity(self.json.len() + self.tokens.len() * 101 / 100 + 16);
    stored.push_str(self.json.strip_suffix('}').unwrap_or(&self.json));
    stored.push_str(",\"tokens\":");
    stored.push_str(&serde_json::to_string(&self.tokens).unwrap_or_default());
    stored.push('}');
    stored
  }
}

/// The response of a `createInvites` call (see `Created`), which an idempotency key replays,
/// so a replay gives the same DTOs.
pub fn created_response(now: i64, expires_at: i64, invites: &[Invite]) -> Created {
  #[derive(Serialize)]
  #[serde(rename_all = "camelCase")]
  struct Response<'a> {
    now: i64,
    expires_at: i64,
    ids: Vec<&'a str>,
    times: Vec<(usize, i64, i64, Option<i64>)>,
  }
  let response = Response {
    now,
    expires_at,
    ids: invites.iter().map(|invite| invite.id.as_str()).collect(),
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
  let mut tokens = String::with_capacity(invites.iter().map(|invite| invite.token.len() + 1).sum());
  for (index, invite) in invites.iter().enumerate() {
    if index > 0 {
      tokens.push('\n');
    }
    tokens.push_str(&invite.token);
  }
  Created {
    // A struct of strings and integers always serializes.
    json: serde_json::to_string(&response).unwrap_or_default(),
    tokens,
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  /// The hash of a call whose items are the JSON array `items`.
  fn hash_of(method: &str, single: bool, items: &str) -> String {
    let mut hash = InputHash::new(method, single);
    for item in serde_json::from_str::<Vec<Value>>(items).unwrap() {
      hash.item(&item);
    }
    hash.finish()
  }

  #[test]
  fn the_hash_depends_on_the_method_the_form_and_the_items() {
    let items = r#"[{"email":"a@x.y"}]"#;
    let hash = hash_of("createInvites", false, items);
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, hash_of("createInvites", false, items));
    assert_ne!(hash, hash_of("createInvites", true, items));
    assert_ne!(hash, hash_of("createUsers", false, items));
    assert_ne!(
      hash,
      hash_of("createInvites", false, r#"[{"email":"b@x.y"}]"#)
    );
    // Spelled differently, the same values: the same hash.
    assert_eq!(
      hash,
      hash_of("createInvites", false, r#"[ { "email" : "a@x.y" } ]"#)
    );
  }

  /// The hash of this input as earlier versions computed it (over the parsed items
  /// re-serialized whole): records they stored must keep matching.
  #[test]
  fn the_hash_is_the_one_earlier_versions_stored() {
    let items = r#"[{"email":"a@x.y","metadata":{"$json":"{\"n\":1e+21,\"s\":\"\\u001f\"}"}},{"email":"b@x.y","accepted":true,"roles":{"$array":["r1"]},"n":1E+21,"m":-0,"x":5.0}]"#;
    assert_eq!(
      hash_of("createInvites", false, items),
      "5ac2e919c03b3282bde6d558a14480614e1583bc50a22920860d9e628521edd1"
    );
  }

  fn invite(id: &str, token: &str, created_at: i64) -> Invite {
    Invite {
      id: id.into(),
      email: format!("{id}@x.y"),
      accepted: false,
      token: token.into(),
      expires_at: 2_000,
      metadata: None,
      created_at,
      updated_at: created_at,
      deleted_at: None,
      roles: None,
    }
  }

  #[test]
  fn a_response_keeps_its_tokens_apart_and_stores_them_inside() {
    let invites = [
      invite("invite_1", "a.b.c", 1_000),
      invite("invite_2", "d.e.f", 5),
    ];
    let created = created_response(1_000, 2_000, &invites);
    assert_eq!(created.tokens, "a.b.c\nd.e.f");
    assert_eq!(
      serde_json::from_str::<serde_json::Value>(&created.json).unwrap(),
      json!({"now": 1000, "expiresAt": 2000, "ids": ["invite_1", "invite_2"], "times": [[1, 5, 5, null]]})
    );
    assert_eq!(
      serde_json::from_str::<serde_json::Value>(&created.stored()).unwrap(),
      json!({"now": 1000, "expiresAt": 2000, "ids": ["invite_1", "invite_2"], "times": [[1, 5, 5, null]], "tokens": "a.b.c\nd.e.f"})
    );
    let empty = created_response(1_000, 1_000, &[]);
    assert_eq!(
      (empty.json.as_str(), empty.tokens.as_str()),
      (r#"{"now":1000,"expiresAt":1000,"ids":[],"times":[]}"#, "")
    );
  }
}
