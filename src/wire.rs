//! The typed snapshot the JS side sends for each input value (see `lib/wire.js`).
//! JSON cannot say "undefined", "a Date" or "a BigInt", so such values arrive tagged:
//! `{"$t": "<type name>"}`, `{"$date": ms | null}`, `{"$json": "<JSON.stringify text>"}`,
//! `{"$array": [...]}`. Plain strings, booleans, finite numbers and `null` arrive as they are.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};

/// A create call's items as the JS side sent them, each one's JSON text. An item becomes a
/// `Value` only when it is read, one at a time: a batch of 100,000 parsed whole would hold
/// some 45 MB of maps at once.
pub type RawItems = Vec<Box<RawValue>>;

/// JSON from `lib/service.js`; anything it cannot have written is a bug on the JS side.
pub fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
  serde_json::from_str(json)
    .map_err(|error| Error::unexpected_state(format!("Malformed input from the JS layer: {error}")))
}

/// One item of `RawItems`, parsed.
pub fn item(raw: &RawValue) -> Result<Value> {
  parse(raw.get())
}

/// One input value, as the validation sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
  Absent,
  Null,
  Bool(bool),
  Number(f64),
  Str(&'a str),
  /// A `Date`; `None` is an invalid date.
  Date(Option<i64>),
  /// An object, already written by `JSON.stringify`; `Err` holds why that failed.
  Json(Result<&'a str, &'a str>),
  Array(&'a [Value]),
  /// Anything else, by its type name (`bigint`, `symbol`, `function`, `object`, `number` for NaN…).
  Other(&'a str),
}

impl<'a> WireValue<'a> {
  pub fn field(item: &'a Value, name: &str) -> Self {
    item.get(name).map_or(WireValue::Absent, WireValue::of)
  }

  pub fn of(value: &'a Value) -> Self {
    match value {
      Value::Null => WireValue::Null,
      Value::Bool(flag) => WireValue::Bool(*flag),
      Value::Number(number) => WireValue::Number(number.as_f64().unwrap_or(f64::NAN)),
      Value::String(text) => WireValue::Str(text),
      Value::Array(_) => WireValue::Other("array"),
      Value::Object(tagged) => {
        if let Some(millis) = tagged.get("$date") {
          WireValue::Date(millis.as_f64().map(|ms| ms as i64))
        } else if let Some(Value::String(json)) = tagged.get("$json") {
          WireValue::Json(Ok(json))
        } else if let Some(Value::Array(items)) = tagged.get("$array") {
          WireValue::Array(items)
        } else if let Some(Value::String(reason)) = tagged.get("$unserializable") {
          WireValue::Json(Err(reason))
        } else {
          WireValue::Other(tagged.get("$t").and_then(Value::as_str).unwrap_or("object"))
        }
      }
    }
  }

  /// The type name used in error messages.
  pub fn type_name(&self) -> &'a str {
    match self {
      WireValue::Absent => "undefined",
      WireValue::Null => "null",
      WireValue::Bool(_) => "boolean",
      WireValue::Number(_) => "number",
      WireValue::Str(_) => "string",
      WireValue::Date(_) => "date",
      WireValue::Json(_) => "object",
      WireValue::Array(_) => "array",
      WireValue::Other(name) => name,
    }
  }

  /// `true` for an item that is an object (not a tagged non-object value).
  pub fn is_item(value: &Value) -> bool {
    matches!(value, Value::Object(fields) if !fields.contains_key("$t"))
  }
}
