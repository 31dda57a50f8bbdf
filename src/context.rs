//! `sharedContext` (docs/behaviour.md): every field of Medusa's `Context` is accepted and type-checked.
//! The JS side sends it as a typed snapshot (see `wire`); the event bus and the message
//! aggregator themselves stay in JS, so only their presence arrives here. The
//! `transactionManager` stays in JS too: a call made in one of this module's transactions
//! carries its id beside the context (`transaction` in the call's input).

use serde_json::Value;

use crate::error::{Error, Result};
use crate::wire::WireValue;

pub const INVALID_ISOLATION_LEVEL: &str = "Invalid isolationLevel, supported isolation levels are: [\"read uncommitted\",\"read committed\",\"repeatable read\",\"serializable\"]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
  ReadUncommitted,
  ReadCommitted,
  RepeatableRead,
  Serializable,
}

impl IsolationLevel {
  /// Upper and lower case both work (Medusa's own docs list upper case, docs/differences.md).
  pub fn parse(text: &str) -> Option<Self> {
    match text.to_ascii_lowercase().as_str() {
      "read uncommitted" => Some(IsolationLevel::ReadUncommitted),
      "read committed" => Some(IsolationLevel::ReadCommitted),
      "repeatable read" => Some(IsolationLevel::RepeatableRead),
      "serializable" => Some(IsolationLevel::Serializable),
      _ => None,
    }
  }
}

/// What a call needs to know of its context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallContext {
  pub isolation_level: Option<IsolationLevel>,
  pub enable_nested_transactions: bool,
  pub idempotency_key: Option<String>,
  pub prevent_release_events: bool,
  /// `eventGroupId` when it is a non-empty string (Medusa adds it to messages only then).
  pub event_group_id: Option<String>,
}

/// Fields whose value must be a string or a boolean when given.
const STRING_FIELDS: [&str; 6] = [
  "eventGroupId",
  "transactionId",
  "runId",
  "requestId",
  "idempotencyKey",
  "parentStepIdempotencyKey",
];
const BOOLEAN_FIELDS: [&str; 4] = [
  "enableNestedTransactions",
  "preventReleaseEvents",
  "isCancelling",
  "cancelingFromParentStep",
];

fn wrong_type(field: &str, expected: &str, found: WireValue<'_>) -> Error {
  Error::invalid_argument(format!(
    "sharedContext.{field} must be {expected}, '{}' found",
    found.type_name()
  ))
}

pub fn validate(context: &Value) -> Result<CallContext> {
  match WireValue::of(context) {
    WireValue::Null => return Ok(CallContext::default()),
    _ if WireValue::is_item(context) => {}
    other => {
      return Err(Error::invalid_argument(format!(
        "sharedContext must be an object, '{}' found",
        other.type_name()
      )))
    }
  }
  let field = |name| WireValue::field(context, name);
  let given = |value: WireValue<'_>| !matches!(value, WireValue::Absent | WireValue::Null);

  for name in STRING_FIELDS {
    let value = field(name);
    if given(value) && !matches!(value, WireValue::Str(_)) {
      return Err(wrong_type(name, "a string", value));
    }
  }
  for name in BOOLEAN_FIELDS {
    let value = field(name);
    if given(value) && !matches!(value, WireValue::Bool(_)) {
      return Err(wrong_type(name, "a boolean", value));
    }
  }
  let aggregator = field("messageAggregator");
  if given(aggregator) && aggregator != WireValue::Other("aggregator") {
    return Err(wrong_type(
      "messageAggregator",
      "an object with save, getMessages and clearMessages methods",
      aggregator,
    ));
  }
  let isolation_level = match field("isolationLevel") {
    WireValue::Absent | WireValue::Null => None,
    WireValue::Str(text) => Some(
      IsolationLevel::parse(text)
        .ok_or_else(|| Error::invalid_argument(INVALID_ISOLATION_LEVEL))?,
    ),
    other => return Err(wrong_type("isolationLevel", "a string", other)),
  };
  let prevent_release_events = field("preventReleaseEvents") == WireValue::Bool(true);
  if prevent_release_events && !given(aggregator) {
    return Err(Error::invalid_argument(
      "sharedContext.preventReleaseEvents needs a sharedContext.messageAggregator to hold the events",
    ));
  }
  let idempotency_key = match field("idempotencyKey") {
    // PostgreSQL cannot store U+0000: refused on both backends, so both answer alike.
    WireValue::Str(key) if key.contains('\0') => {
      return Err(Error::invalid_argument(
        "sharedContext.idempotencyKey must not contain the character U+0000",
      ))
    }
    WireValue::Str(key) if key.chars().count() > crate::validation::MAX_KEY_CHARS => {
      return Err(Error::invalid_argument(format!(
        "sharedContext.idempotencyKey must be at most {} characters",
        crate::validation::MAX_KEY_CHARS
      )))
    }
    WireValue::Str(key) => Some(key.to_string()),
    _ => None,
  };
  Ok(CallContext {
    isolation_level,
    enable_nested_transactions: field("enableNestedTransactions") == WireValue::Bool(true),
    idempotency_key,
    prevent_release_events,
    event_group_id: match field("eventGroupId") {
      WireValue::Str(group) if !group.is_empty() => Some(group.to_string()),
      _ => None,
    },
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[test]
  fn isolation_levels_in_any_case() {
    let context = validate(&json!({"isolationLevel": "READ COMMITTED"})).unwrap();
    assert_eq!(context.isolation_level, Some(IsolationLevel::ReadCommitted));
    let error = validate(&json!({"isolationLevel": "snapshot"})).unwrap_err();
    assert_eq!(error.message, INVALID_ISOLATION_LEVEL);
  }

  #[test]
  fn wrong_types_name_the_field() {
    let error = validate(&json!({"eventGroupId": 5})).unwrap_err();
    assert_eq!(
      error.message,
      "sharedContext.eventGroupId must be a string, 'number' found"
    );
    let error = validate(&json!({"$t": "string"})).unwrap_err();
    assert_eq!(
      error.message,
      "sharedContext must be an object, 'string' found"
    );
  }

  #[test]
  fn prevent_release_events_needs_an_aggregator() {
    assert!(validate(&json!({"preventReleaseEvents": true})).is_err());
    let context =
      validate(&json!({"preventReleaseEvents": true, "messageAggregator": {"$t": "aggregator"}}))
        .unwrap();
    assert!(context.prevent_release_events);
  }
}
