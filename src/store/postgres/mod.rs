//! The production backend: PostgreSQL, on Medusa's own `invite` and `user` tables (docs/storage.md).
//! Medusa's tables and indexes are created exactly as Medusa's migrations create them when
//! absent, and never altered. What this module adds lives in tables of its own, named
//! `medusa_invites_*`: the roles of invites and users, idempotency records, and the outbox
//! of events.
//!
//! A call is one transaction on a pooled connection: the user check and the duplicate
//! checks run inside it, the rows go in with one `UNNEST` insert, and the unique indexes
//! stay the final arbiter under concurrency (a violation maps to Medusa's message).

mod idle;
mod insert;
mod session;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use self::idle::IdleConnections;
use self::session::PostgresSession;
use super::{End, Store, Transaction};
use crate::context::IsolationLevel;
use crate::error::{Error, Result};
use crate::invite::Invite;
use crate::lifecycle::{self, Call, Done, EventsMode, Op, Outcome};
use crate::messages;
use crate::options::PostgresConfig;

/// Medusa's schema, exactly as docs/storage.md gives it, then our own tables (and our one
/// function, `insert::LOCK_EMAIL_FUNCTION`).
const SCHEMA: &str = r#"
create table if not exists "invite" ("id" text not null, "email" text not null,
  "accepted" boolean not null default false, "token" text not null,
  "expires_at" timestamptz not null, "metadata" jsonb null,
  "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(),
  "deleted_at" timestamptz null, constraint "invite_pkey" primary key ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "IDX_invite_email_unique" ON "invite" (email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS "IDX_invite_token" ON "invite" (token) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS "IDX_invite_deleted_at" ON "invite" (deleted_at) WHERE deleted_at IS NOT NULL;
create table if not exists "user" ("id" text not null, "first_name" text null, "last_name" text null,
  "email" text not null, "avatar_url" text null, "metadata" jsonb null,
  "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(),
  "deleted_at" timestamptz null, constraint "user_pkey" primary key ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "IDX_user_email_unique" ON "user" (email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS "IDX_user_deleted_at" ON "user" (deleted_at) WHERE deleted_at IS NOT NULL;
create table if not exists "medusa_invites_roles" ("invite_id" text not null primary key
  references "invite" ("id") on delete cascade, "roles" jsonb not null);
create table if not exists "medusa_invites_user_roles" ("user_id" text not null primary key
  references "user" ("id") on delete cascade, "roles" jsonb not null);
create table if not exists "medusa_invites_idempotency" ("key" text not null, "input_hash" text not null,
  "response" text not null, "created_at" timestamptz not null, primary key ("key", "input_hash"));
create index if not exists "IDX_medusa_invites_idempotency_created_at" on "medusa_invites_idempotency" (created_at);
create table if not exists "medusa_invites_outbox" ("id" bigserial primary key,
  "created_at" timestamptz not null, "events" text not null, "delivered_at" timestamptz null);
create index if not exists "IDX_medusa_invites_outbox_pending" on "medusa_invites_outbox" (id) where delivered_at is null;
create index if not exists "IDX_medusa_invites_outbox_delivered_at" on "medusa_invites_outbox" (delivered_at) where delivered_at is not null;
"#;

/// Serializes schema creation across processes (`create … if not exists` alone can race).
const SCHEMA_LOCK: i64 = 0x6d65_6475_7361_6976; // "medusaiv"

pub struct PostgresStore {
  pool: Pool,
  describe: String,
  connect_timeout: Duration,
  /// Calls run again after a serialization failure or a deadlock, counted for the caller's
  /// logger (see `InviteModule::take_retries`).
  retries: Arc<AtomicU64>,
  idle: IdleConnections,
}

/// `host:port/database` of a URL, for messages: never the user or the password.
fn describe(config: &tokio_postgres::Config) -> String {
  let host = config
    .get_hosts()
    .first()
    .map(|host| match host {
      tokio_postgres::config::Host::Tcp(name) => name.clone(),
      #[cfg(unix)]
      tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
    })
    .unwrap_or_else(|| "localhost".into());
  let port = config.get_ports().first().copied().unwrap_or(5432);
  let database = config.get_dbname().unwrap_or("postgres");
  format!("{host}:{port}/{database}")
}

/// A driver error as a `database_error` that names what failed, with its causes (e.g.
/// "Connection refused"). tokio-postgres messages carry server messages and SQLSTATEs, never
/// connection secrets.
pub(super) fn database_error(what: &str, error: impl std::error::Error + 'static) -> Error {
  let transient = (&error as &(dyn std::error::Error + 'static))
    .downcast_ref::<tokio_postgres::Error>()
    .and_then(tokio_postgres::Error::code)
    .is_some_and(|code| {
      code == &SqlState::T_R_SERIALIZATION_FAILURE || code == &SqlState::T_R_DEADLOCK_DETECTED
    });
  let mut message = format!("PostgreSQL: {what}: {error}");
  let mut cause = error.source();
  while let Some(inner) = cause {
    let text = inner.to_string();
    if !message.ends_with(&text) {
      message.push_str(": ");
      message.push_str(&text);
    }
    cause = inner.source();
  }
  let mut error = Error::database(message);
  error.transient = transient;
  error
}

/// Whether a statement failed on a unique index.
pub(super) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
  error
    .as_db_error()
    .is_some_and(|db| db.code() == &SqlState::UNIQUE_VIOLATION)
}

/// A unique violation as Medusa's message: `<Entity> with <column>: <value>, already exists.`
/// The value comes from the server's detail: `Key (email)=(a@example.com) already exists.`
fn unique_violation(
  entity: &str,
  error: &tokio_postgres::Error,
) -> Option<(String, String, Error)> {
  if !is_unique_violation(error) {
    return None;
  }
  let detail = error.as_db_error()?.detail()?;
  let (column, rest) = detail.strip_prefix("Key (")?.split_once(")=(")?;
  let value = rest.strip_suffix(") already exists.")?;
  Some((
    column.to_string(),
    value.to_string(),
    messages::already_exists(entity, column, value),
  ))
}

/// The item a duplicate `value` of `column` points at, when a concurrent transaction won
/// the race: its first occurrence in the batch.
fn offending_index<'a>(
  column: &str,
  value: &str,
  mut keys: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<usize> {
  keys.position(|(id, email)| {
    if column == "id" {
      id == value
    } else {
      email == value
    }
  })
}

/// A failed write of `invites`: a unique violation as Medusa's message with the index of the
/// invite it names, anything else as a database error saying `what` failed.
pub(super) fn write_failure(error: tokio_postgres::Error, invites: &[Invite], what: &str) -> Error {
  let keys = invites
    .iter()
    .map(|invite| (invite.id.as_str(), invite.email.as_str()));
  unique_failure(error, "Invite", keys, what)
}

/// A failed write of rows of `entity` with these `(id, email)` keys, in input order: a unique
/// violation as Medusa's message with the index of the row it names, anything else as a
/// database error saying `what` failed.
pub(super) fn unique_failure<'a>(
  error: tokio_postgres::Error,
  entity: &str,
  keys: impl Iterator<Item = (&'a str, &'a str)>,
  what: &str,
) -> Error {
  match unique_violation(entity, &error) {
    Some((column, value, duplicate)) => match offending_index(&column, &value, keys) {
      Some(index) => duplicate.at(index),
      None => duplicate,
    },
    None => database_error(what, error),
  }
}

/// How often a call that opened its own transaction is run again after a transient failure.
const ATTEMPTS: usize = 5;

fn quote_identifier(name: &str) -> String {
  format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresStore {
  /// Builds the pool, connects once and prepares the schema.
  pub async fn open(config: PostgresConfig, retries: Arc<AtomicU64>) -> Result<Self> {
    let mut pg_config: tokio_postgres::Config = config
      .url
      .parse()
      .map_err(|_| Error::invalid_argument("The PostgreSQL database URL could not be parsed"))?;
    pg_config.connect_timeout(config.connect_timeout);
    // Lets operators (and the fault tests) find this module's connections in pg_stat_activity.
    if pg_config.get_application_name().is_none() {
      pg_config.application_name("medusa-invites");
    }
    // Session settings: the schema, and the commit durability the caller chose.
    let mut settings = Vec::new();
    if let Some(schema) = &config.schema {
      settings.push(format!("-c search_path={}", quote_identifier(schema)));
    }
    if !config.synchronous_commit {
      settings.push("-c synchronous_commit=off".to_string());
    }
    if !settings.is_empty() {
      pg_config.options(settings.join(" "));
    }
    let describe = describe(&pg_config);
    let manager = Manager::from_config(
      pg_config,
      NoTls,
      ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
      },
    );
    let pool = Pool::builder(manager)
      .max_size(config.pool_size.max(1))
      // the connection returned last is taken first: see `idle`
      .queue_mode(deadpool_postgres::QueueMode::Lifo)
      .runtime(Runtime::Tokio1)
      .wait_timeout(Some(config.connect_timeout))
      .create_timeout(Some(config.connect_timeout))
      .build()
      .map_err(|error| database_error("cannot build the connection pool", error))?;
    let store = PostgresStore {
      pool,
      describe,
      connect_timeout: config.connect_timeout,
      retries,
      idle: IdleConnections::new(),
    };
    store.prepare_schema(config.schema.as_deref()).await?;
    Ok(store)
  }

  async fn connection(&self) -> Result<Object> {
    self.idle.close(&self.pool);
    // The pool's own timeouts bound the wait; this one also covers a server that accepts the
    // TCP connection but never answers.
    match tokio::time::timeout(self.connect_timeout * 2, self.pool.get()).await {
      Ok(Ok(connection)) => Ok(connection),
      Ok(Err(error)) => Err(database_error(
        &format!("cannot connect to {}", self.describe),
        error,
      )),
      Err(_) => Err(Error::database(format!(
        "PostgreSQL: cannot connect to {}: timed out after {} ms",
        self.describe,
        self.connect_timeout.as_millis()
      ))),
    }
  }

  async fn prepare_schema(&self, schema: Option<&str>) -> Result<()> {
    let mut connection = self.connection().await?;
    let transaction = connection
      .transaction()
      .await
      .map_err(|error| database_error("cannot start the schema transaction", error))?;
    transaction
      .execute("select pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
      .await
      .map_err(|error| database_error("cannot lock the schema", error))?;
    if let Some(schema) = schema {
      transaction
        .batch_execute(&format!(
          "create schema if not exists {}",
          quote_identifier(schema)
        ))
        .await
        .map_err(|error| database_error("cannot create the schema", error))?;
    }
    transaction
      .batch_execute(SCHEMA)
      .await
      .map_err(|error| database_error("cannot create the tables", error))?;
    transaction
      .batch_execute(insert::LOCK_EMAIL_FUNCTION)
      .await
      .map_err(|error| database_error("cannot create the email lock function", error))?;
    transaction
      .commit()
      .await
      .map_err(|error| database_error("cannot commit the schema", error))
  }
}

fn begin_sql(isolation: Option<IsolationLevel>) -> &'static str {
  match isolation {
    None => "begin",
    Some(IsolationLevel::ReadUncommitted) => "begin isolation level read uncommitted",
    Some(IsolationLevel::ReadCommitted) => "begin isolation level read committed",
    Some(IsolationLevel::RepeatableRead) => "begin isolation level repeatable read",
    Some(IsolationLevel::Serializable) => "begin isolation level serializable",
  }
}

/// A statement prepared once per pooled connection (one round trip saved per use).
pub(super) async fn prepared(connection: &Object, sql: &str) -> Result<tokio_postgres::Statement> {
  connection
    .prepare_cached(sql)
    .await
    .map_err(|error| database_error("cannot prepare a statement", error))
}

pub(super) async fn execute_batch(connection: &Object, sql: &str, what: &str) -> Result<()> {
  connection
    .batch_execute(sql)
    .await
    .map_err(|error| database_error(what, error))
}

/// Runs a call on the connection, inside a transaction or savepoint its caller opened.
async fn perform(connection: &Object, call: &Call) -> Result<Outcome> {
  lifecycle::run(&mut PostgresSession { connection }, call).await
}

/// Runs a call between `begin` and `commit`, rolling back when anything fails.
async fn in_transaction(
  connection: &Object,
  isolation: Option<IsolationLevel>,
  call: &Call,
) -> Result<Outcome> {
  execute_batch(
    connection,
    begin_sql(isolation),
    "cannot begin a transaction",
  )
  .await?;
  let done = match perform(connection, call).await {
    Ok(done) => execute_batch(connection, "commit", "cannot commit")
      .await
      .map(|_| done),
    Err(error) => Err(error),
  };
  if done.is_err() {
    // Best effort: a broken connection is discarded by the pool anyway.
    let _ = connection.batch_execute("rollback").await;
  }
  done
}

#[async_trait]
impl Store for PostgresStore {
  /// Runs the call in a transaction of its own. A serialization failure or a deadlock (at
  /// `SERIALIZABLE`, or between crossing batches) rolls it back and runs it again, as
  /// PostgreSQL's documentation asks of applications, up to `ATTEMPTS` times.
  async fn run(&self, call: Call, isolation: Option<IsolationLevel>) -> Result<Outcome> {
    let mut attempt = 1;
    loop {
      let connection = self.connection().await?;
      let outcome = match (&call.op, isolation) {
        // The common case, overridden: the transaction, the insert and its outbox row in one
        // pipelined round trip (`insert::insert_invites_alone`), the same writes and refusals.
        (
          Op::CreateInvites {
            invites,
            replay: None,
          },
          None,
        ) => {
          let record = call.record(&Done::Written);
          let outbox = record
            .as_deref()
            .filter(|_| call.events == EventsMode::Store);
          insert::insert_invites_alone(&connection, invites, outbox, call.now)
            .await
            .map(|outbox_id| Outcome {
              done: Done::Written,
              record,
              outbox_id,
            })
        }
        // A read of one statement needs no transaction of its own: one round trip.
        _ if call.op.is_single_read() => perform(&connection, &call).await,
        _ => in_transaction(&connection, isolation, &call).await,
      };
      match outcome {
        Err(error) if error.transient && attempt < ATTEMPTS => {
          attempt += 1;
          self.retries.fetch_add(1, Ordering::Relaxed);
          // A short, growing pause lets the transaction we collided with finish.
          tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
        }
        outcome => return outcome,
      }
    }
  }

  #[cfg(any(test, feature = "bench"))]
  async fn explain_invites(&self, query: &crate::query::Query) -> Result<Vec<String>> {
    use crate::query::Dialect;
    use session::{sql_param, SqlParam, INVITES, INVITE_COLUMNS};
    let connection = self.connection().await?;
    let select = query.select(Dialect::Postgres, &INVITES, INVITE_COLUMNS);
    let params: Vec<SqlParam> = select.params.iter().map(sql_param).collect();
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
      params.iter().map(|param| param.as_ref() as _).collect();
    let rows = connection
      .query(&format!("explain {}", select.sql), &refs)
      .await
      .map_err(|error| database_error("cannot explain a query", error))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
  }

  async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<Box<dyn Transaction>> {
    let connection = self.connection().await?;
    execute_batch(
      &connection,
      begin_sql(isolation),
      "cannot begin a transaction",
    )
    .await?;
    Ok(Box::new(PostgresTransaction {
      connection: Some(connection),
    }))
  }

  async fn close(&self) {
    self.pool.close();
  }
}

/// A caller transaction: one pooled connection between `begin` and `commit`/`rollback`.
struct PostgresTransaction {
  connection: Option<Object>,
}

impl PostgresTransaction {
  fn connection(&self) -> Result<&Object> {
    self
      .connection
      .as_ref()
      .ok_or_else(|| Error::unexpected_state("The transaction has already ended"))
  }

  async fn finish(mut self: Box<Self>, how: End) -> Result<()> {
    let sql = how.sql();
    let connection = self
      .connection
      .take()
      .ok_or_else(|| Error::unexpected_state("The transaction has already ended"))?;
    let finished = execute_batch(&connection, sql, &format!("cannot {sql}")).await;
    if finished.is_err() {
      let _ = connection.batch_execute("rollback").await;
    }
    finished
  }
}

#[async_trait]
impl Transaction for PostgresTransaction {
  async fn run(&mut self, call: Call) -> Result<Outcome> {
    let connection = self.connection()?;
    execute_batch(
      connection,
      "savepoint medusa_invites_call",
      "cannot set a savepoint",
    )
    .await?;
    match perform(connection, &call).await {
      Ok(done) => {
        execute_batch(
          connection,
          "release savepoint medusa_invites_call",
          "cannot release a savepoint",
        )
        .await?;
        Ok(done)
      }
      Err(error) => {
        execute_batch(
          connection,
          "rollback to savepoint medusa_invites_call; release savepoint medusa_invites_call",
          "cannot roll back to a savepoint",
        )
        .await?;
        Err(error)
      }
    }
  }

  async fn end(self: Box<Self>, how: End) -> Result<()> {
    self.finish(how).await
  }
}

impl Drop for PostgresTransaction {
  /// A transaction dropped while open must not go back to the pool mid-transaction.
  fn drop(&mut self) {
    if let Some(connection) = self.connection.take() {
      // Detaching closes the connection, which makes the server roll back.
      drop(Object::take(connection));
    }
  }
}

#[cfg(test)]
mod plan_tests {
  use super::*;
  use crate::lifecycle::insert_samples;
  use crate::query::{Entity, Query};
  use serde_json::json;

  /// The server named by `MEDUSA_INVITES_TEST_PG_URL` (no database: `postgres` is used). In
  /// CI a missing server fails the test; elsewhere the test is skipped.
  fn server() -> Option<String> {
    match std::env::var("MEDUSA_INVITES_TEST_PG_URL") {
      Ok(url) if !url.is_empty() => Some(format!("{}/postgres", url.trim_end_matches('/'))),
      _ if std::env::var("CI").is_ok() => {
        panic!("CI needs PostgreSQL: set MEDUSA_INVITES_TEST_PG_URL")
      }
      _ => None,
    }
  }

  /// `listInvites` over 100,000 invites reads a page through an index, never a full scan:
  /// the plan is PostgreSQL's own, for the exact statement the store runs.
  #[tokio::test]
  async fn a_page_of_list_invites_over_100_000_rows_uses_an_index() {
    let Some(url) = server() else {
      eprintln!("skipped: MEDUSA_INVITES_TEST_PG_URL is not set");
      return;
    };
    let schema = format!("medusa_invites_plan_{}", std::process::id());
    let config = PostgresConfig {
      url,
      schema: Some(schema.clone()),
      pool_size: 2,
      connect_timeout: Duration::from_secs(5),
      synchronous_commit: true,
    };
    let store = PostgresStore::open(config, Arc::new(AtomicU64::new(0)))
      .await
      .unwrap();
    store.run(insert_samples(100_000), None).await.unwrap();
    // Fresh statistics, as a production database has them (autovacuum analyzes on its own).
    let connection = store.connection().await.unwrap();
    connection.batch_execute("analyze").await.unwrap();
    let plan = |filters: serde_json::Value, config: serde_json::Value| {
      let query = Query::parse(Entity::Invite, &filters, &config, false).unwrap();
      let store = &store;
      async move { store.explain_invites(&query).await.unwrap() }
    };
    for (filters, config) in [
      (json!({}), json!({"take": 50})),
      (json!({}), json!({"take": 50, "skip": 500})),
      (json!({"id": ["invite_x", "invite_y"]}), json!({"take": 50})),
    ] {
      let lines = plan(filters, config).await;
      let text = lines.join("\n");
      // The page is cut from the primary key index (the limit sits right on the index scan).
      let limit = lines
        .iter()
        .position(|line| {
          line
            .trim_start()
            .trim_start_matches("->")
            .trim_start()
            .starts_with("Limit")
        })
        .unwrap_or_else(|| panic!("{text}"));
      assert!(
        lines[limit + 1].contains("Index Scan using invite_pkey on invite i"),
        "{text}"
      );
      assert!(!text.contains("Seq Scan on invite "), "{text}");
    }
    let by_email = plan(json!({"email": "row7@example.com"}), json!({}))
      .await
      .join("\n");
    assert!(by_email.contains("IDX_invite_email_unique"), "{by_email}");
    connection
      .batch_execute(&format!(
        "drop schema {} cascade",
        quote_identifier(&schema)
      ))
      .await
      .unwrap();
    drop(connection);
    store.close().await;
  }

  /// `postgresSynchronousCommit: false` reaches the server as the session's setting.
  #[tokio::test]
  async fn commits_are_synchronous_unless_the_option_says_otherwise() {
    let Some(url) = server() else {
      eprintln!("skipped: MEDUSA_INVITES_TEST_PG_URL is not set");
      return;
    };
    for (synchronous_commit, expected) in [(true, "on"), (false, "off")] {
      let config = PostgresConfig {
        url: url.clone(),
        schema: None,
        pool_size: 1,
        connect_timeout: Duration::from_secs(5),
        synchronous_commit,
      };
      let store = PostgresStore::open(config, Arc::new(AtomicU64::new(0)))
        .await
        .unwrap();
      let connection = store.connection().await.unwrap();
      let row = connection
        .query_one("show synchronous_commit", &[])
        .await
        .unwrap();
      assert_eq!(row.get::<_, String>(0), expected);
      drop(connection);
      store.close().await;
    }
  }
}
