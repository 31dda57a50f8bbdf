//! Module options, with Medusa's names (docs/behaviour.md) plus this module's own `database` and
//! `sqliteSynchronous`. The JS side sends them as JSON (the event bus stays in JS).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Which backend, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
  Sqlite(Location),
  Postgres(PostgresConfig),
}

/// SQLite's `synchronous` setting. `Full` survives power loss; `Normal` (in WAL mode) may
/// lose the last commits on power loss but never corrupts the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
  Full,
  Normal,
  Off,
}

impl Synchronous {
  pub fn parse(text: &str) -> Option<Self> {
    match text.to_ascii_lowercase().as_str() {
      "full" => Some(Synchronous::Full),
      "normal" => Some(Synchronous::Normal),
      "off" => Some(Synchronous::Off),
      _ => None,
    }
  }
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
  Memory,
  File(PathBuf),
}

/// Where and how to connect to PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
  pub url: String,
  pub schema: Option<String>,
  pub pool_size: usize,
  pub connect_timeout: Duration,
  /// `false`: the server acknowledges a commit before it is durable (`synchronous_commit=off`).
  pub synchronous_commit: bool,
}

pub const DEFAULT_POOL_SIZE: usize = 10;
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5000;
const DATABASE_FORMS: &str = "use sqlite:<path>, :memory:, postgres://… or { clientUrl, schema }";

pub const MISSING_SECRET: &str =
  "No jwt_secret was provided in the UserModule's options. Please add one.";
/// The embedded store used when no `database` is given (relative to the working directory).
pub const DEFAULT_SQLITE_PATH: &str = ".medusa-invites/invites.sqlite";

pub struct ModuleOptions {
  pub jwt_secret: String,
  /// Verifies tokens signed with a private key (`validateInviteToken`, docs/behaviour.md).
  pub jwt_public_key: Option<String>,
  pub jwt_options: Option<Map<String, Value>>,
  /// jsonwebtoken's verify options; `jwt_options` when absent (as Medusa).
  pub jwt_verify_options: Option<Map<String, Value>>,
  pub valid_duration: Option<Value>,
  pub database: Database,
  pub synchronous: Synchronous,
  /// How long an `idempotencyKey` replays its call (docs/behaviour.md); older records are deleted.
  pub idempotency_retention_ms: i64,
  /// How long delivered outbox rows are kept (docs/behaviour.md); older ones are deleted.
  pub event_retention_ms: i64,
}

/// Default retention of delivered outbox rows: 1 day.
pub const DEFAULT_EVENT_RETENTION_SECONDS: f64 = 86_400.0;

/// Default retention of idempotency records: 24 hours.
pub const DEFAULT_IDEMPOTENCY_RETENTION_SECONDS: f64 = 86_400.0;

/// The options read here; the JS side sends exactly these (`nativeOptionNames`), and the
/// rest (`eventBus`, `logger`) stays in JS. An option missing from this list never arrives.
pub const OPTION_NAMES: &[&str] = &[
  "jwt_secret",
  "jwt_public_key",
  "jwt_options",
  "jwt_verify_options",
  "valid_duration",
  "database",
  "sqliteSynchronous",
  "idempotencyRetentionSeconds",
  "databasePoolSize",
  "databaseConnectTimeoutMs",
  "eventRetentionSeconds",
  "postgresSynchronousCommit",
];

impl ModuleOptions {
  pub fn from_json(json: &str) -> Result<Self> {
    let all: Map<String, Value> = serde_json::from_str(json)
      .map_err(|_| Error::invalid_argument("The UserModule's options must be an object"))?;
    let options: Map<String, Value> = all
      .into_iter()
      .filter(|(name, _)| OPTION_NAMES.contains(&name.as_str()))
      .collect();
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
    let pool_size = match options.get("databasePoolSize") {
      None | Some(Value::Null) => DEFAULT_POOL_SIZE,
      Some(Value::Number(size)) if size.as_u64().is_some_and(|size| (1..=1000).contains(&size)) => {
        size.as_u64().unwrap_or(DEFAULT_POOL_SIZE as u64) as usize
      }
      Some(_) => {
        return Err(Error::invalid_argument(
          "databasePoolSize must be an integer from 1 to 1000",
        ))
      }
    };
    let connect_timeout = match options.get("databaseConnectTimeoutMs") {
      None | Some(Value::Null) => DEFAULT_CONNECT_TIMEOUT_MS,
      Some(Value::Number(ms)) if ms.as_u64().is_some_and(|ms| ms > 0) => {
        ms.as_u64().unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS)
      }
      Some(_) => {
        return Err(Error::invalid_argument(
          "databaseConnectTimeoutMs must be a positive integer",
        ))
      }
    };
    let synchronous_commit = match options.get("postgresSynchronousCommit") {
      None | Some(Value::Null) => true,
      Some(Value::Bool(flag)) => *flag,
      Some(_) => {
        return Err(Error::invalid_argument(
          "postgresSynchronousCommit must be true or false",
        ))
      }
    };
    let postgres = |url: &str, schema: Option<String>| PostgresConfig {
      url: url.to_string(),
      schema,
      pool_size,
      connect_timeout: Duration::from_millis(connect_timeout),
      synchronous_commit,
    };
    let database = match options.get("database") {
      None | Some(Value::Null) => {
        Database::Sqlite(Location::File(PathBuf::from(DEFAULT_SQLITE_PATH)))
      }
      Some(Value::String(url)) if is_postgres_url(url) => Database::Postgres(postgres(url, None)),
      Some(Value::String(url)) => Database::Sqlite(parse_database_url(url)?),
      // Medusa's form: { clientUrl, schema }
      Some(Value::Object(config)) => match (config.get("clientUrl"), config.get("schema")) {
        (Some(Value::String(url)), schema) if is_postgres_url(url) => {
          let schema = match schema {
            None | Some(Value::Null) => None,
            Some(Value::String(schema)) if !schema.is_empty() => Some(schema.clone()),
            Some(_) => {
              return Err(Error::invalid_argument(
                "database.schema must be a non-empty string",
              ))
            }
          };
          Database::Postgres(postgres(url, schema))
        }
        _ => {
          return Err(Error::invalid_argument(format!(
            "database.clientUrl must be a postgres:// URL; {DATABASE_FORMS}"
          )))
        }
      },
      Some(_) => {
        return Err(Error::invalid_argument(format!(
          "The database option is not a URL string or an object; {DATABASE_FORMS}"
        )))
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
    let event_retention_seconds = match options.get("eventRetentionSeconds") {
      None | Some(Value::Null) => DEFAULT_EVENT_RETENTION_SECONDS,
      Some(Value::Number(seconds)) if seconds.as_f64().is_some_and(|s| s >= 0.0) => {
        seconds.as_f64().unwrap_or(DEFAULT_EVENT_RETENTION_SECONDS)
      }
      Some(_) => {
        return Err(Error::invalid_argument(
          "eventRetentionSeconds must be a number of seconds, 0 or more",
        ))
      }
    };
    let jwt_public_key = match options.get("jwt_public_key") {
      None | Some(Value::Null) => None,
      Some(Value::String(key)) if !key.is_empty() => Some(key.clone()),
      Some(_) => {
        return Err(Error::invalid_argument(
          "The UserModule's jwt_public_key must be a PEM public key string",
        ))
      }
    };
    let jwt_verify_options = match options.get("jwt_verify_options") {
      None | Some(Value::Null) => None,
      Some(Value::Object(verify)) => Some(verify.clone()),
      Some(_) => {
        return Err(Error::invalid_argument(
          "The UserModule's jwt_verify_options must be an object",
        ))
      }
    };
    Ok(ModuleOptions {
      jwt_secret,
      jwt_public_key,
      jwt_verify_options,
      idempotency_retention_ms: (idempotency_retention_seconds * 1000.0) as i64,
      event_retention_ms: (event_retention_seconds * 1000.0) as i64,
      jwt_options,
      valid_duration: options.get("valid_duration").cloned(),
      database,
      synchronous,
    })
  }
}

pub fn is_postgres_url(url: &str) -> bool {
  url.starts_with("postgres://") || url.starts_with("postgresql://")
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
  let scheme = crate::messages::shown(url.split(':').next().unwrap_or(""));
  Err(Error::invalid_argument(format!(
    "Unsupported database URL scheme \"{scheme}\": {DATABASE_FORMS}"
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
