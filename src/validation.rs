//! Validation of `CreateInviteDTO` / `CreateUserDTO` input (docs/behaviour.md, docs/errors.md). Every item is
//! checked before anything is written; the first failure wins and carries its index.

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::invite::{InviteUpdate, NewInvite, NewUser};
use crate::users::UserUpdate;
use crate::wire::{self, RawItems, WireValue};

pub const NOT_AN_INVITE: &str =
  "createInvites expects an invite object or an array of invite objects";
pub const NOT_A_USER: &str = "createUsers expects a user object or an array of user objects";
/// Characters of a caller-chosen id or idempotency key, at most: PostgreSQL indexes them, and an
/// index entry must fit in a third of a page.
pub const MAX_KEY_CHARS: usize = 512;
/// An email longer than this cannot be delivered (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// The invites of a createInvites batch; `parsed` sees each item as it is parsed (the
/// idempotency hash is taken from them, so an item is parsed once).
pub fn invites(items: &RawItems, mut parsed: impl FnMut(&Value)) -> Result<Vec<NewInvite>> {
  items
    .iter()
    .enumerate()
    .map(|(index, raw)| {
      let item = wire::item(raw)?;
      parsed(&item);
      invite(&item).map_err(|error| error.at(index))
    })
    .collect()
}

pub fn users(items: &RawItems) -> Result<Vec<NewUser>> {
  items
    .iter()
    .enumerate()
    .map(|(index, raw)| user(&wire::item(raw)?).map_err(|error| error.at(index)))
    .collect()
}

pub const NOT_AN_UPDATE: &str =
  "updateInvites expects an invite update object or an array of invite update objects";

/// `UpdateInviteDTO` items (docs/behaviour.md): `id` plus the fields to change. `token` and the
/// timestamps are not the caller's to set; unknown keys are ignored, as in Medusa.
pub fn invite_updates(items: &[Value]) -> Result<Vec<InviteUpdate>> {
  items
    .iter()
    .enumerate()
    .map(|(index, item)| invite_update(item).map_err(|error| error.at(index)))
    .collect()
}

fn invite_update(item: &Value) -> Result<InviteUpdate> {
  if !WireValue::is_item(item) {
    return Err(Error::invalid_data(NOT_AN_UPDATE));
  }
  let field = |name| WireValue::field(item, name);
  let present = |name| !matches!(field(name), WireValue::Absent);
  Ok(InviteUpdate {
    id: match field("id") {
      WireValue::Absent | WireValue::Null => String::new(),
      WireValue::Str(id) => id.to_string(),
      other => return Err(wrong_type("Invite.id", "a string", other)),
    },
    email: if present("email") {
      Some(email("Invite", "invite", field("email"))?)
    } else {
      None
    },
    accepted: match field("accepted") {
      WireValue::Absent => None,
      WireValue::Null => Some(false),
      WireValue::Bool(flag) => Some(flag),
      other => return Err(wrong_type("Invite.accepted", "a boolean", other)),
    },
    expires_at: match field("expires_at") {
      WireValue::Absent => None,
      WireValue::Null => {
        return Err(wrong_type(
          "Invite.expires_at",
          "a Date or an ISO 8601 string",
          WireValue::Null,
        ))
      }
      value => timestamp("Invite.expires_at", value)?,
    },
    metadata: if present("metadata") {
      Some(metadata("Invite", field("metadata"))?)
    } else {
      None
    },
    roles: if present("roles") {
      Some(roles(field("roles"))?)
    } else {
      None
    },
  })
}

pub const NOT_A_USER_UPDATE: &str =
  "updateUsers expects a user update object or an array of user update objects";

/// `UpdateUserDTO` items: `id` plus the fields to change (`email`, `first_name`,
/// `last_name`, `avatar_url`, `metadata`); unknown keys are ignored.
pub fn user_updates(items: &[Value]) -> Result<Vec<UserUpdate>> {
  items
    .iter()
    .enumerate()
    .map(|(index, item)| user_update(item).map_err(|error| error.at(index)))
    .collect()
}

fn user_update(item: &Value) -> Result<UserUpdate> {
  if !WireValue::is_item(item) {
    return Err(Error::invalid_data(NOT_A_USER_UPDATE));
  }
  let field = |name| WireValue::field(item, name);
  let present = |name| !matches!(field(name), WireValue::Absent);
  let text = |name: &'static str| -> Result<Option<Option<String>>> {
    match field(name) {
      WireValue::Absent => Ok(None),
      value => Ok(Some(optional_text(&format!("User.{name}"), value)?)),
    }
  };
  Ok(UserUpdate {
    id: match field("id") {
      WireValue::Absent | WireValue::Null => String::new(),
      WireValue::Str(id) => id.to_string(),
      other => return Err(wrong_type("User.id", "a string", other)),
    },
    email: if present("email") {
      Some(email("User", "user", field("email"))?)
    } else {
      None
    },
    first_name: text("first_name")?,
    last_name: text("last_name")?,
    avatar_url: text("avatar_url")?,
    metadata: if present("metadata") {
      Some(metadata("User", field("metadata"))?)
    } else {
      None
    },
  })
}

/// An id or an array of ids (`deleteInvites("id")` and `deleteInvites(["id"])` both work).
pub fn ids(value: &Value, method: &str) -> Result<Vec<String>> {
  let refused = || Error::invalid_data(format!("{method} expects an id or an array of ids"));
  match WireValue::of(value) {
    WireValue::Str(id) => Ok(vec![id.to_string()]),
    WireValue::Array(items) => items
      .iter()
      .map(|item| match item {
        Value::String(id) => Ok(id.clone()),
        _ => Err(refused()),
      })
      .collect(),
    _ => Err(refused()),
  }
}

/// The user `acceptInvite` creates: Medusa's user fields, all optional; no email means the
/// invite's (an empty `email` here).
pub fn accepting_user(item: &Value) -> Result<NewUser> {
  if item.is_null() {
    return Ok(NewUser {
      id: None,
      email: String::new(),
      first_name: None,
      last_name: None,
      avatar_url: None,
      metadata: None,
    });
  }
  if !WireValue::is_item(item) {
    return Err(Error::invalid_data(
      "acceptInvite expects the user as an object (first_name, last_name, ...) or nothing",
    ));
  }
  let field = |name| WireValue::field(item, name);
  Ok(NewUser {
    email: match field("email") {
      WireValue::Absent | WireValue::Null => String::new(),
      value => email("User", "user", value)?,
    },
    first_name: optional_text("User.first_name", field("first_name"))?,
    last_name: optional_text("User.last_name", field("last_name"))?,
    avatar_url: optional_text("User.avatar_url", field("avatar_url"))?,
    metadata: metadata("User", field("metadata"))?,
    id: id("User", field("id"))?,
  })
}

fn invite(item: &Value) -> Result<NewInvite> {
  if !WireValue::is_item(item) {
    return Err(Error::invalid_data(NOT_AN_INVITE));
  }
  let field = |name| WireValue::field(item, name);
  Ok(NewInvite {
    email: email("Invite", "invite", field("email"))?,
    accepted: match field("accepted") {
      WireValue::Absent | WireValue::Null => false,
      WireValue::Bool(flag) => flag,
      other => return Err(wrong_type("Invite.accepted", "a boolean", other)),
    },
    metadata: metadata("Invite", field("metadata"))?,
    roles: roles(field("roles"))?,
    id: id("Invite", field("id"))?,
    created_at: timestamp("Invite.created_at", field("created_at"))?,
    updated_at: timestamp("Invite.updated_at", field("updated_at"))?,
    deleted_at: timestamp("Invite.deleted_at", field("deleted_at"))?,
  })
}

fn user(item: &Value) -> Result<NewUser> {
  if !WireValue::is_item(item) {
    return Err(Error::invalid_data(NOT_A_USER));
  }
  let field = |name| WireValue::field(item, name);
  Ok(NewUser {
    email: email("User", "user", field("email"))?,
    first_name: optional_text("User.first_name", field("first_name"))?,
    last_name: optional_text("User.last_name", field("last_name"))?,
    avatar_url: optional_text("User.avatar_url", field("avatar_url"))?,
    metadata: metadata("User", field("metadata"))?,
    id: id("User", field("id"))?,
  })
}

fn wrong_type(field: &str, expected: &str, found: WireValue<'_>) -> Error {
  Error::invalid_data(format!(
    "Value for {field} must be {expected}, '{}' found",
    found.type_name()
  ))
}

fn email(entity: &str, noun: &str, value: WireValue<'_>) -> Result<String> {
  match value {
    WireValue::Absent | WireValue::Null => Err(Error::invalid_data(format!(
      "Value for {entity}.email is required, '{}' found",
      value.type_name()
    ))),
    WireValue::Str(text) if is_deliverable_email(text) => Ok(text.to_string()),
    WireValue::Str(text) => Err(Error::invalid_data(format!(
      "Invalid email for {noun}: '{}'",
      quoted(text)
    ))),
    other => Err(wrong_type(&format!("{entity}.email"), "a string", other)),
  }
}

/// Non-empty, at most 254 characters, no whitespace or control characters, and an `@` with
/// something on both sides. Deliberately loose otherwise: Medusa checks nothing (docs/differences.md).
pub fn is_deliverable_email(email: &str) -> bool {
  let Some(at) = email.rfind('@') else {
    return false;
  };
  at > 0
    && at + 1 < email.len()
    && email.chars().count() <= MAX_EMAIL_CHARS
    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn quoted(text: &str) -> String {
  crate::messages::shown(text)
}

fn metadata(entity: &str, value: WireValue<'_>) -> Result<Option<String>> {
  match value {
    WireValue::Absent | WireValue::Null => Ok(None),
    WireValue::Json(Ok(json)) => match unstorable_escape(json) {
      None => Ok(Some(json.to_string())),
      Some(reason) => Err(Error::invalid_data(format!(
        "Value for {entity}.metadata cannot be stored as JSON: {reason}"
      ))),
    },
    WireValue::Json(Err(reason)) => Err(Error::invalid_data(format!(
      "Value for {entity}.metadata cannot be stored as JSON: {reason}"
    ))),
    other => Err(wrong_type(
      &format!("{entity}.metadata"),
      "an object",
      other,
    )),
  }
}

fn roles(value: WireValue<'_>) -> Result<Option<Vec<String>>> {
  match value {
    WireValue::Absent | WireValue::Null => Ok(None),
    WireValue::Array(items) => items
      .iter()
      .map(|item| match WireValue::of(item) {
        WireValue::Str(role) if role.contains('\0') => Err(nul("Invite.roles")),
        WireValue::Str(role) => Ok(role.to_string()),
        other => Err(wrong_type("Invite.roles", "an array of strings", other)),
      })
      .collect::<Result<Vec<_>>>()
      .map(Some),
    other => Err(wrong_type("Invite.roles", "an array of strings", other)),
  }
}

/// A non-empty string is used verbatim; `""`, `null` and absent mean "generate one".
fn id(entity: &str, value: WireValue<'_>) -> Result<Option<String>> {
  match value {
    WireValue::Absent | WireValue::Null => Ok(None),
    WireValue::Str("") => Ok(None),
    WireValue::Str(id) if id.contains('\0') => Err(nul(&format!("{entity}.id"))),
    // PostgreSQL cannot index a very long key: refused on both backends alike.
    WireValue::Str(id) if id.chars().count() > MAX_KEY_CHARS => Err(Error::invalid_data(format!(
      "Value for {entity}.id must be at most {MAX_KEY_CHARS} characters"
    ))),
    WireValue::Str(id) => Ok(Some(id.to_string())),
    other => Err(wrong_type(&format!("{entity}.id"), "a string", other)),
  }
}

fn optional_text(field: &str, value: WireValue<'_>) -> Result<Option<String>> {
  match value {
    WireValue::Absent | WireValue::Null => Ok(None),
    WireValue::Str(text) if text.contains('\0') => Err(nul(field)),
    WireValue::Str(text) => Ok(Some(text.to_string())),
    other => Err(wrong_type(field, "a string", other)),
  }
}

/// PostgreSQL's text and jsonb cannot hold U+0000, so neither store accepts it: the same
/// input must not pass on one backend and fail on the other.
fn nul(field: &str) -> Error {
  Error::invalid_data(format!(
    "Value for {field} must not contain the character U+0000"
  ))
}

/// What in `JSON.stringify` text PostgreSQL's jsonb would refuse: a `\u0000` escape, or an
/// unpaired surrogate (`JSON.stringify` writes a lone surrogate as a `\udXXX` escape).
fn unstorable_escape(json: &str) -> Option<&'static str> {
  let bytes = json.as_bytes();
  let escape_at = |index: usize| -> Option<u16> {
    let hex = json.get(index + 2..index + 6)?;
    (bytes.get(index) == Some(&b'\\') && bytes.get(index + 1) == Some(&b'u'))
      .then(|| u16::from_str_radix(hex, 16).ok())
      .flatten()
  };
  let mut index = 0;
  while index < bytes.len() {
    if bytes[index] != b'\\' {
      index += 1;
      continue;
    }
    let Some(unit) = escape_at(index) else {
      index += 2; // any other escape: \" \\ \n …
      continue;
    };
    match unit {
      0 => return Some("it contains the character U+0000"),
      0xD800..=0xDBFF => match escape_at(index + 6) {
        Some(0xDC00..=0xDFFF) => index += 12,
        _ => return Some("it contains an unpaired UTF-16 surrogate"),
      },
      0xDC00..=0xDFFF => return Some("it contains an unpaired UTF-16 surrogate"),
      _ => index += 6,
    }
  }
  None
}

/// The range of a JS `Date`.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

fn timestamp(field: &str, value: WireValue<'_>) -> Result<Option<i64>> {
  let invalid = |shown: &str| {
    Error::invalid_data(format!(
      "Value for {field} must be a valid date, '{}' found",
      quoted(shown)
    ))
  };
  match value {
    WireValue::Absent | WireValue::Null => Ok(None),
    WireValue::Date(Some(millis)) => Ok(Some(millis)),
    WireValue::Date(None) => Err(invalid("Invalid Date")),
    WireValue::Str(text) => parse_iso8601(text)
      .filter(|millis| millis.abs() <= MAX_DATE_MS)
      .map(Some)
      .ok_or_else(|| invalid(text)),
    other => Err(wrong_type(field, "a Date or an ISO 8601 string", other)),
  }
}

/// RFC 3339 date-times (`2024-01-01T10:00:00.123Z`, `…+02:00`) and date-only forms
/// (`2024-01-01`, read as UTC midnight as JS does). Millisecond precision, like a JS `Date`.
pub fn parse_iso8601(text: &str) -> Option<i64> {
  if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
    return Some(moment.timestamp_millis());
  }
  let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
  Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  /// Items as the JS side sends them: each one's JSON text.
  fn raw(items: &[Value]) -> RawItems {
    items
      .iter()
      .map(|item| serde_json::value::to_raw_value(item).unwrap())
      .collect()
  }

  fn message(item: Value) -> String {
    invites(&raw(&[item]), |_| {}).unwrap_err().message
  }

  #[test]
  fn emails_are_required_strings_that_can_be_delivered() {
    assert_eq!(
      message(json!({})),
      "Value for Invite.email is required, 'undefined' found"
    );
    assert_eq!(
      message(json!({"email": null})),
      "Value for Invite.email is required, 'null' found"
    );
    assert_eq!(
      message(json!({"email": 5})),
      "Value for Invite.email must be a string, 'number' found"
    );
    assert_eq!(
      message(json!({"email": " "})),
      "Invalid email for invite: ' '"
    );
    for bad in ["", "nobody", "@x.y", "a@", "a b@x.y", "a\u{7}@x.y"] {
      assert!(!is_deliverable_email(bad), "{bad:?}");
    }
    assert!(is_deliverable_email("Ünïcode+tag@example.com"));
  }

  #[test]
  fn long_values_are_cut_in_messages() {
    let long = format!("{}@x.y", "a".repeat(300));
    let text = message(json!({ "email": long }));
    assert_eq!(text.len(), "Invalid email for invite: ''".len() + 254 + 3);
  }

  #[test]
  fn fields_keep_their_values_and_defaults() {
    let parsed = &invites(
      &raw(&[json!({
        "email": "a@b.c", "accepted": null, "metadata": {"$json": "{\"x\":1}"},
        "roles": {"$array": ["admin"]}, "id": "", "created_at": "2024-01-01T00:00:00.5Z",
        "updated_at": {"$date": 5}
      })]),
      |_| {},
    )
    .unwrap()[0];
    assert_eq!(parsed.id, None);
    assert!(!parsed.accepted);
    assert_eq!(parsed.metadata.as_deref(), Some("{\"x\":1}"));
    assert_eq!(parsed.roles, Some(vec!["admin".to_string()]));
    assert_eq!(parsed.created_at, Some(1_704_067_200_500));
    assert_eq!(parsed.updated_at, Some(5));
  }

  #[test]
  fn text_postgresql_cannot_store_is_refused_on_every_backend() {
    assert_eq!(
      unstorable_escape(r#"{"a":"x\u0000y"}"#),
      Some("it contains the character U+0000")
    );
    assert_eq!(
      unstorable_escape(r#"{"a":"\ud800"}"#),
      Some("it contains an unpaired UTF-16 surrogate")
    );
    assert_eq!(
      unstorable_escape(r#"{"a":"\udc00"}"#),
      Some("it contains an unpaired UTF-16 surrogate")
    );
    assert_eq!(unstorable_escape(r#"{"a":"\ud83d\ude00 \u00e9"}"#), None);
    // An escaped backslash followed by "u0000" is text, not an escape.
    assert_eq!(unstorable_escape(r#"{"a":"\\u0000"}"#), None);
    assert_eq!(
      message(json!({"email": "a@b.c", "id": "x\u{0}"})),
      "Value for Invite.id must not contain the character U+0000"
    );
  }

  #[test]
  fn the_failing_item_is_named() {
    let error = invites(
      &raw(&[json!({"email": "a@b.c"}), json!({"$t": "null"})]),
      |_| {},
    )
    .unwrap_err();
    assert_eq!(error.index, Some(1));
    assert_eq!(error.message, NOT_AN_INVITE);
  }
}
