//! Module options, with Medusa's names (spec §2.3) plus this module's own `database` and
//! `sqliteSynchronous`. The JS side sends them as JSON (the event bus stays in JS).

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::sqlite::{Location, Synchronous};

pub const MISSING_SECRET: &str =
  "No jwt_secret was provided in the UserModule's options. Please add one.";
/// The embedded store used when no `database` is given (relative to the working directory).
pub const DEFAULT_SQLITE_PATH: &str = ".medusa-invites/invites.sqlite";

pub struct ModuleOptions {
  pub jwt_secret: String,
  pub jwt_options: Option<Map<String, Value>>,
  pub valid_duration: Option<Value>,
  pub database: Location,
  pub synchronous: Synchronous,
  /// How long an `idempotencyKey` replays its call (spec §6); older records are deleted.
  pub idempotency_retention_ms: i64,
}

/// Default retention of idempotency records: 24 hours.
pub const DEFAULT_IDEMPOTENCY_RETENTION_SECONDS: f64 = 86_400.0;

impl ModuleOptions {
  pub fn from_json(json: &str) -> Result<Self> {
    let options: Map<String, Value> = serde_json::from_str(json)
      .map_err(|_| Error::invalid_argument("The UserModule's options must be an object"))?;
    let jwt_secret = match options.get("jwt_secret") {
      None | Some(Value::Null) => return Err(Error::invalid_data(MISSING_SECRET)),
      Some(Value::String(secret)) if secret.is_empty() => {
        return Err(Error::invalid_data(MISSING_SECRET))
      }
      Some(Value::String(secret)) => secret.clone(),
      Some(_) => {
        return Err(Error::invalid_argument(
          "The UserModule's jwt_secret must be a string (a secret or a PEM private key)",
        ))
      }
    };
    let jwt_options = match options.get("jwt_options") {
      None | Some(Value::Null) => None,
      Some(Value::Object(jwt_options)) => Some(jwt_options.clone()),
      Some(_) => {
        return Err(Error::invalid_argument(
          "Expected \"options\" to be a plain object.",
        ))
      }
    };
    let database = match options.get("database") {
      None | Some(Value::Null) => Location::File(PathBuf::from(DEFAULT_SQLITE_PATH)),
      Some(Value::String(url)) => parse_database_url(url)?,
      Some(_) => {
        return Err(Error::invalid_argument(
          "The database option must be a URL string: sqlite:<path> or :memory:",
        ))
      }
    };
    let synchronous = match options.get("sqliteSynchronous") {
      None | Some(Value::Null) => Synchronous::Full,
      Some(Value::String(text)) => Synchronous::parse(text).ok_or_else(|| {
        Error::invalid_argument("sqliteSynchronous must be one of \"FULL\", \"NORMAL\", \"OFF\"")
      })?,
      Some(_) => {
        return Err(Error::invalid_argument(
          "sqliteSynchronous must be one of \"FULL\", \"NORMAL\", \"OFF\"",
        ))
      }
    };
    let idempotency_retention_seconds = match options.get("idempotencyRetentionSeconds") {
      None | Some(Value::Null) => DEFAULT_IDEMPOTENCY_RETENTION_SECONDS,
      Some(Value::Number(seconds)) if seconds.as_f64().is_some_and(|s| s >= 0.0) => seconds
        .as_f64()
        .unwrap_or(DEFAULT_IDEMPOTENCY_RETENTION_SECONDS),
      Some(_) => {
        return Err(Error::invalid_argument(
          "idempotencyRetentionSeconds must be a number of seconds, 0 or more",
        ))
      }
    };
    Ok(ModuleOptions {
      jwt_secret,
      idempotency_retention_ms: (idempotency_retention_seconds * 1000.0) as i64,
      jwt_options,
      valid_duration: options.get("valid_duration").cloned(),
      database,
      synchronous,
    })
  }
}

/// `:memory:`, `sqlite::memory:`, `sqlite:<path>` or `sqlite://<path>`.
pub fn parse_database_url(url: &str) -> Result<Location> {
  if url == ":memory:" || url == "sqlite::memory:" {
    return Ok(Location::Memory);
  }
  if let Some(path) = url
    .strip_prefix("sqlite://")
    .or_else(|| url.strip_prefix("sqlite:"))
  {
    if path.is_empty() {
      return Err(Error::invalid_argument(
        "The sqlite: database URL needs a path",
      ));
    }
    return Ok(Location::File(PathBuf::from(path)));
  }
  // Only the scheme is echoed: a URL may carry a password.
  let scheme = url.split(':').next().unwrap_or("");
  Err(Error::invalid_argument(format!(
    "Unsupported database URL scheme \"{scheme}\": use sqlite:<path> or :memory:"
  )))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn secret_is_required() {
    for json in [r#"{}"#, r#"{"jwt_secret":""}"#, r#"{"jwt_secret":null}"#] {
      let error = ModuleOptions::from_json(json).err().unwrap();
      assert_eq!(error.message, MISSING_SECRET);
    }
  }

  #[test]
  fn database_urls() {
    assert_eq!(parse_database_url(":memory:").unwrap(), Location::Memory);
    assert_eq!(
      parse_database_url("sqlite:/tmp/x.db").unwrap(),
      Location::File("/tmp/x.db".into())
    );
    let error = parse_database_url("mysql://root:hunter2@host/db").unwrap_err();
    assert!(!error.message.contains("hunter2"));
  }
}
