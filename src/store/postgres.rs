//! The production backend: PostgreSQL, on Medusa's own `invite` and `user` tables (docs/storage.md).
//! Medusa's tables and indexes are created exactly as Medusa's migrations create them when
//! absent, and never altered. What this module adds lives in tables of its own, named
//! `medusa_invites_*`: the roles of an invite, and idempotency records.
//!
//! A call is one transaction on a pooled connection: the user check and the duplicate
//! checks run inside it, the rows go in with one `UNNEST` insert, and the unique indexes
//! stay the final arbiter under concurrency (a violation maps to Medusa's message).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

use super::{existing_users_message, Outcome, Replay, Store, Transaction, Work};
use crate::context::IsolationLevel;
use crate::error::{Error, Result};
use crate::invite::{roles_json, Invite, User};
use crate::lifecycle::{self, Found, Op, Session};
use crate::query::{Dialect, Param, Query, Source};

/// Medusa's schema, exactly as docs/storage.md gives it, then our own tables.
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
"#;

/// Serializes schema creation across processes (`create … if not exists` alone can race).
const SCHEMA_LOCK: i64 = 0x6d65_6475_7361_6976; // "medusaiv"

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
  pub url: String,
  pub schema: Option<String>,
  pub pool_size: usize,
  pub connect_timeout: Duration,
}

pub struct PostgresStore {
  pool: Pool,
  describe: String,
  connect_timeout: Duration,
  /// Calls run again after a serialization failure or a deadlock, counted for the caller's
  /// logger (see `InviteModule::take_retries`).
  retries: Arc<AtomicU64>,
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
fn database_error(what: &str, error: impl std::error::Error + 'static) -> Error {
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
    if let Some(schema) = &config.schema {
      pg_config.options(format!("-c search_path={}", quote_identifier(schema)));
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
    };
    store.prepare_schema(config.schema.as_deref()).await?;
    Ok(store)
  }

  async fn connection(&self) -> Result<Object> {
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
async fn prepared(connection: &Object, sql: &str) -> Result<tokio_postgres::Statement> {
  connection
    .prepare_cached(sql)
    .await
    .map_err(|error| database_error("cannot prepare a statement", error))
}

async fn execute_batch(connection: &Object, sql: &str, what: &str) -> Result<()> {
  connection
    .batch_execute(sql)
    .await
    .map_err(|error| database_error(what, error))
}

/// Runs `body` between `begin` and `commit`, rolling back when anything fails.
async fn in_transaction(
  connection: &Object,
  isolation: Option<IsolationLevel>,
  work: &Work,
) -> Result<Outcome> {
  execute_batch(
    connection,
    begin_sql(isolation),
    "cannot begin a transaction",
  )
  .await?;
  let outcome = match perform(connection, work).await {
    Ok(outcome) => execute_batch(connection, "commit", "cannot commit")
      .await
      .map(|_| outcome),
    Err(error) => Err(error),
  };
  if outcome.is_err() {
    // Best effort: a broken connection is discarded by the pool anyway.
    let _ = connection.batch_execute("rollback").await;
  }
  outcome
}

async fn perform(connection: &Object, work: &Work) -> Result<Outcome> {
  match work {
    Work::Invites { invites, replay } => {
      if let Some(replay) = replay {
        // Calls with the same key wait for each other, so one of them inserts and the
        // others find its record: exactly once.
        connection
          .execute(
            &prepared(
              connection,
              "select pg_advisory_xact_lock(hashtextextended($1, 0))",
            )
            .await?,
            &[&replay.key],
          )
          .await
          .map_err(|error| database_error("cannot lock the idempotency key", error))?;
        if let Some(response) = find_replay(connection, replay).await? {
          return Ok(Outcome::Replayed(response));
        }
      }
      insert_invites(connection, invites).await?;
      if let Some(replay) = replay {
        save_replay(connection, replay).await?;
      }
      Ok(Outcome::Written)
    }
    Work::Users { users } => {
      insert_users(connection, users).await?;
      Ok(Outcome::Written)
    }
    Work::Lifecycle(op) => {
      let mut session = PostgresSession { connection };
      Ok(Outcome::Done(lifecycle::perform(&mut session, op).await?))
    }
  }
}

/// `column` read back as Unix milliseconds.
macro_rules! ms {
  ($column:literal) => {
    concat!("floor(extract(epoch from ", $column, ") * 1000)::int8")
  };
}

/// The columns `find_invites` reads, in `Invite` order (times as Unix ms, JSON as text).
const INVITE_COLUMNS: &str = concat!(
  "i.id, i.email, i.accepted, i.token, ",
  ms!("i.expires_at"),
  ", i.metadata::text, ",
  ms!("i.created_at"),
  ", ",
  ms!("i.updated_at"),
  ", ",
  ms!("i.deleted_at"),
  ", r.roles::text"
);

/// The columns `find_users` reads, in `User` order.
const USER_COLUMNS: &str = concat!(
  "u.id, u.first_name, u.last_name, u.email, u.avatar_url, u.metadata::text, ",
  ms!("u.created_at"),
  ", ",
  ms!("u.updated_at"),
  ", ",
  ms!("u.deleted_at"),
  ", r.roles::text"
);

const INVITES: Source = Source {
  table: r#""invite""#,
  alias: "i",
  joins: r#" left join "medusa_invites_roles" r on r.invite_id = i.id"#,
};
const USERS: Source = Source {
  table: r#""user""#,
  alias: "u",
  joins: r#" left join "medusa_invites_user_roles" r on r.user_id = u.id"#,
};

type SqlParam = Box<dyn tokio_postgres::types::ToSql + Sync + Send>;

fn sql_param(param: &Param) -> SqlParam {
  match param {
    Param::Text(text) => Box::new(text.clone()),
    Param::Texts(texts) => Box::new(texts.clone()),
    Param::Bool(flag) => Box::new(*flag),
    Param::Time(ms) => Box::new(*ms as f64),
    Param::Int(n) => Box::new(*n),
    Param::NoLimit => Box::new(None::<i64>),
  }
}

fn sql_type(param: &Param) -> Type {
  match param {
    Param::Text(_) => Type::TEXT,
    Param::Texts(_) => Type::TEXT_ARRAY,
    Param::Bool(_) => Type::BOOL,
    Param::Time(_) => Type::FLOAT8,
    Param::Int(_) | Param::NoLimit => Type::INT8,
  }
}

fn roles_of(json: Option<String>) -> Option<Vec<String>> {
  json.and_then(|json| serde_json::from_str(&json).ok())
}

/// The lifecycle's statements on a pooled connection, inside the call's transaction.
struct PostgresSession<'c> {
  connection: &'c Object,
}

impl PostgresSession<'_> {
  async fn find<T>(
    &self,
    query: &Query,
    source: &Source,
    columns: &str,
    row: impl Fn(&tokio_postgres::Row) -> T,
  ) -> Result<Found<T>> {
    let select = query.select(Dialect::Postgres, source, columns);
    let params: Vec<SqlParam> = select.params.iter().map(sql_param).collect();
    let rows = if query.plan_per_call() {
      // Planned for its own values (one round trip, unnamed statement); see `plan_per_call`.
      let typed: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = params
        .iter()
        .zip(&select.params)
        .map(|(param, kind)| (param.as_ref() as _, sql_type(kind)))
        .collect();
      self.connection.query_typed(&select.sql, &typed).await
    } else {
      let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|param| param.as_ref() as _).collect();
      let statement = prepared(self.connection, &select.sql).await?;
      self.connection.query(&statement, &refs).await
    }
    .map_err(|error| database_error("cannot read rows", error))?;
    let count = if query.count {
      let counting = query.count_sql(Dialect::Postgres, source);
      let params: Vec<SqlParam> = counting.params.iter().map(sql_param).collect();
      let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|param| param.as_ref() as _).collect();
      let statement = prepared(self.connection, &counting.sql).await?;
      let counted = self
        .connection
        .query_one(&statement, &refs)
        .await
        .map_err(|error| database_error("cannot count rows", error))?;
      Some(counted.get::<_, i64>(0))
    } else {
      None
    };
    Ok(Found {
      rows: rows.iter().map(row).collect(),
      count,
    })
  }
}

/// Writes whole invite rows (and their roles) with one statement.
const SAVE_INVITES: &str = r#"
with u as (
  select * from unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::float8[], $6::text[],
                       $7::float8[], $8::float8[], $9::text[])
    as u(id, email, accepted, token, expires_at, metadata, updated_at, deleted_at, roles)
),
updated as (
  update "invite" i set email = u.email, accepted = u.accepted, token = u.token,
    expires_at = to_timestamp(u.expires_at / 1000), metadata = u.metadata::jsonb,
    updated_at = to_timestamp(u.updated_at / 1000), deleted_at = to_timestamp(u.deleted_at / 1000)
  from u where i.id = u.id
  returning i.id
),
dropped as (
  delete from "medusa_invites_roles" r using u where r.invite_id = u.id and u.roles is null
),
kept as (
  insert into "medusa_invites_roles" (invite_id, roles)
  select u.id, u.roles::jsonb from u where u.roles is not null
  on conflict (invite_id) do update set roles = excluded.roles
)
select count(*) from updated
"#;

#[async_trait]
impl Session for PostgresSession<'_> {
  async fn find_invites(&mut self, query: &Query) -> Result<Found<Invite>> {
    self
      .find(query, &INVITES, INVITE_COLUMNS, |row| Invite {
        id: row.get(0),
        email: row.get(1),
        accepted: row.get(2),
        token: row.get(3),
        expires_at: row.get(4),
        metadata: row.get(5),
        created_at: row.get(6),
        updated_at: row.get(7),
        deleted_at: row.get(8),
        roles: roles_of(row.get(9)),
      })
      .await
  }

  async fn find_users(&mut self, query: &Query) -> Result<Found<User>> {
    self
      .find(query, &USERS, USER_COLUMNS, |row| User {
        id: row.get(0),
        first_name: row.get(1),
        last_name: row.get(2),
        email: row.get(3),
        avatar_url: row.get(4),
        metadata: row.get(5),
        created_at: row.get(6),
        updated_at: row.get(7),
        deleted_at: row.get(8),
        roles: roles_of(row.get(9)),
      })
      .await
  }

  async fn save_invites(&mut self, invites: &[Invite]) -> Result<()> {
    if invites.is_empty() {
      return Ok(());
    }
    let column = |value: fn(&Invite) -> Option<String>| -> Vec<Option<String>> {
      invites.iter().map(value).collect()
    };
    let ids = column(|invite| Some(invite.id.clone()));
    let emails = column(|invite| Some(invite.email.clone()));
    let tokens = column(|invite| Some(invite.token.clone()));
    let metadata = column(|invite| invite.metadata.clone());
    let roles = column(Invite::roles_json);
    let accepted: Vec<bool> = invites.iter().map(|invite| invite.accepted).collect();
    let expires_at: Vec<f64> = invites
      .iter()
      .map(|invite| invite.expires_at as f64)
      .collect();
    let updated_at: Vec<f64> = invites
      .iter()
      .map(|invite| invite.updated_at as f64)
      .collect();
    let deleted_at: Vec<Option<f64>> = invites
      .iter()
      .map(|invite| invite.deleted_at.map(|ms| ms as f64))
      .collect();
    let statement = prepared(self.connection, SAVE_INVITES).await?;
    self
      .connection
      .query_one(
        &statement,
        &[
          &ids,
          &emails,
          &accepted,
          &tokens,
          &expires_at,
          &metadata,
          &updated_at,
          &deleted_at,
          &roles,
        ],
      )
      .await
      .map_err(|error| write_failure(error, invites, "cannot update the invites"))?;
    Ok(())
  }

  async fn delete_invites(&mut self, ids: &[String]) -> Result<Vec<String>> {
    self
      .delete_rows(
        r#"delete from "invite" where id = any($1) returning id"#,
        ids,
        "cannot delete the invites",
      )
      .await
  }

  async fn insert_users(&mut self, users: &[User]) -> Result<()> {
    insert_users(self.connection, users).await
  }

  async fn save_users(&mut self, users: &[User]) -> Result<()> {
    save_users(self.connection, users).await
  }

  async fn delete_users(&mut self, ids: &[String]) -> Result<Vec<String>> {
    self
      .delete_rows(
        r#"delete from "user" where id = any($1) returning id"#,
        ids,
        "cannot delete the users",
      )
      .await
  }
}

impl PostgresSession<'_> {
  /// Runs a `delete … where id = any($1) returning id`; returns the ids it deleted.
  async fn delete_rows(&self, sql: &str, ids: &[String], what: &str) -> Result<Vec<String>> {
    let statement = prepared(self.connection, sql).await?;
    let rows = self
      .connection
      .query(&statement, &[&ids])
      .await
      .map_err(|error| database_error(what, error))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
  }
}

/// Writes the user columns of existing users with one statement; a unique violation is
/// Medusa's message, with the index of the user it names.
async fn save_users(connection: &Object, users: &[User]) -> Result<()> {
  if users.is_empty() {
    return Ok(());
  }
  let columns = UserColumns::new(users);
  let updated_at: Vec<f64> = users.iter().map(|user| user.updated_at as f64).collect();
  let deleted_at: Vec<Option<f64>> = users
    .iter()
    .map(|user| user.deleted_at.map(|ms| ms as f64))
    .collect();
  let statement = prepared(
    connection,
    r#"update "user" u set email = v.email, first_name = v.first_name, last_name = v.last_name,
         avatar_url = v.avatar_url, metadata = v.metadata::jsonb,
         updated_at = to_timestamp(v.updated_at / 1000), deleted_at = to_timestamp(v.deleted_at / 1000)
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::float8[], $8::float8[])
         as v(id, email, first_name, last_name, avatar_url, metadata, updated_at, deleted_at)
       where u.id = v.id"#,
  )
  .await?;
  connection
    .execute(
      &statement,
      &[
        &columns.ids,
        &columns.emails,
        &columns.first_names,
        &columns.last_names,
        &columns.avatar_urls,
        &columns.metadata,
        &updated_at,
        &deleted_at,
      ],
    )
    .await
    .map_err(|error| unique_failure(error, "User", user_keys(users), "cannot update the users"))?;
  Ok(())
}

async fn find_replay(connection: &Object, replay: &Replay) -> Result<Option<String>> {
  let oldest = replay.now - replay.retention_ms;
  let row = connection
    .query_opt(
      &prepared(
        connection,
        r#"select response from "medusa_invites_idempotency"
         where key = $1 and input_hash = $2 and created_at > to_timestamp($3::float8 / 1000)"#,
      )
      .await?,
      &[&replay.key, &replay.input_hash, &(oldest as f64)],
    )
    .await
    .map_err(|error| database_error("cannot read idempotency records", error))?;
  Ok(row.map(|row| row.get(0)))
}

async fn save_replay(connection: &Object, replay: &Replay) -> Result<()> {
  let oldest = replay.now - replay.retention_ms;
  connection
    .execute(&prepared(connection, r#"delete from "medusa_invites_idempotency" where created_at <= to_timestamp($1::float8 / 1000)"#).await?,
      &[&(oldest as f64)],
    )
    .await
    .map_err(|error| database_error("cannot prune idempotency records", error))?;
  connection
    .execute(&prepared(connection, r#"insert into "medusa_invites_idempotency" (key, input_hash, response, created_at)
         values ($1, $2, $3, to_timestamp($4::float8 / 1000))
         on conflict (key, input_hash) do update set response = excluded.response, created_at = excluded.created_at"#).await?,
      &[&replay.key, &replay.input_hash, &replay.response, &(replay.now as f64)],
    )
    .await
    .map_err(|error| database_error("cannot save the idempotency record", error))?;
  Ok(())
}

/// A unique violation as Medusa's message: `<Entity> with <column>: <value>, already exists.`
/// The value comes from the server's detail: `Key (email)=(a@example.com) already exists.`
fn unique_violation(
  entity: &str,
  error: &tokio_postgres::Error,
) -> Option<(String, String, Error)> {
  let db = error.as_db_error()?;
  if db.code() != &SqlState::UNIQUE_VIOLATION {
    return None;
  }
  let detail = db.detail()?;
  let (column, rest) = detail.strip_prefix("Key (")?.split_once(")=(")?;
  let value = rest.strip_suffix(") already exists.")?;
  let message = format!("{entity} with {column}: {value}, already exists.");
  Some((
    column.to_string(),
    value.to_string(),
    Error::invalid_data(message),
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

/// Does the batch repeat an id, or an email among its live items? Then it fails whatever the
/// database holds, and the statement below only checks.
fn repeats_itself(invites: &[Invite]) -> bool {
  let mut ids = HashSet::new();
  let mut emails = HashSet::new();
  invites.iter().any(|invite| {
    !ids.insert(invite.id.as_str())
      || (invite.deleted_at.is_none() && !emails.insert(invite.email.as_str()))
  })
}

/// The first item that cannot be inserted, in input order, as the SQLite store reports it
/// (its row-by-row insert meets the email index before the primary key): a live item whose
/// email a live invite or an earlier live item holds, or an item whose id an invite (live or
/// soft-deleted) or an earlier item has.
fn first_conflict(
  invites: &[Invite],
  known_ids: &HashSet<String>,
  live_emails: &HashSet<String>,
) -> Option<Error> {
  let mut seen_ids = HashSet::new();
  let mut seen_emails = HashSet::new();
  for (index, invite) in invites.iter().enumerate() {
    let live = invite.deleted_at.is_none();
    if live && (live_emails.contains(&invite.email) || seen_emails.contains(invite.email.as_str()))
    {
      return Some(
        Error::invalid_data(format!(
          "Invite with email: {}, already exists.",
          invite.email
        ))
        .at(index),
      );
    }
    if known_ids.contains(&invite.id) || seen_ids.contains(invite.id.as_str()) {
      return Some(
        Error::invalid_data(format!("Invite with id: {}, already exists.", invite.id)).at(index),
      );
    }
    seen_ids.insert(invite.id.as_str());
    if live {
      seen_emails.insert(invite.email.as_str());
    }
  }
  None
}

/// Inserts a batch with one statement: the rows come in as `UNNEST` arrays; the statement reads
/// the live users holding the batch's emails, the invites holding its ids and the live
/// invites holding its emails, and inserts (with the roles, into our table) only when there
/// are none and `$11` allows it. Under concurrency the unique indexes stay the final arbiter.
const INSERT_INVITES: &str = r#"
with input as (
  select * from unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::float8[], $6::text[],
                       $7::float8[], $8::float8[], $9::float8[], $10::text[])
    with ordinality as row(id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at, roles, position)
),
taken as (
  select distinct email from "user" where deleted_at is null and email in (select email from input)
),
known_ids as (
  select id from "invite" where id in (select id from input)
),
live_emails as (
  select distinct email from "invite"
  where deleted_at is null and email in (select email from input where deleted_at is null)
),
inserted as (
  insert into "invite" (id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at)
  select id, email, accepted, token, to_timestamp(expires_at / 1000), metadata::jsonb,
         to_timestamp(created_at / 1000), to_timestamp(updated_at / 1000), to_timestamp(deleted_at / 1000)
  from input
  where $11 and not exists (select 1 from taken) and not exists (select 1 from known_ids)
    and not exists (select 1 from live_emails)
  order by position
  returning id
),
roles as (
  insert into "medusa_invites_roles" (invite_id, roles)
  select input.id, input.roles::jsonb from input join inserted on inserted.id = input.id
  where input.roles is not null
)
select 'user' as kind, email as value from taken
union all select 'id', id from known_ids
union all select 'email', email from live_emails
"#;

/// The batch as the statement's array parameters. Times travel as Unix milliseconds and
/// become timestamptz in the database.
struct InviteColumns<'a> {
  ids: Vec<&'a str>,
  emails: Vec<&'a str>,
  accepted: Vec<bool>,
  tokens: Vec<&'a str>,
  expires_at: Vec<f64>,
  metadata: Vec<Option<&'a str>>,
  created_at: Vec<f64>,
  updated_at: Vec<f64>,
  deleted_at: Vec<Option<f64>>,
  roles: Vec<Option<String>>,
  write: bool,
}

impl<'a> InviteColumns<'a> {
  fn new(invites: &'a [Invite]) -> Self {
    fn column<'a, T>(invites: &'a [Invite], value: impl Fn(&'a Invite) -> T) -> Vec<T> {
      invites.iter().map(value).collect()
    }
    InviteColumns {
      ids: column(invites, |invite| invite.id.as_str()),
      emails: column(invites, |invite| invite.email.as_str()),
      accepted: column(invites, |invite| invite.accepted),
      tokens: column(invites, |invite| invite.token.as_str()),
      expires_at: column(invites, |invite| invite.expires_at as f64),
      metadata: column(invites, |invite| invite.metadata.as_deref()),
      created_at: column(invites, |invite| invite.created_at as f64),
      updated_at: column(invites, |invite| invite.updated_at as f64),
      deleted_at: column(invites, |invite| invite.deleted_at.map(|ms| ms as f64)),
      roles: column(invites, Invite::roles_json),
      write: !repeats_itself(invites),
    }
  }

  fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
    [
      &self.ids,
      &self.emails,
      &self.accepted,
      &self.tokens,
      &self.expires_at,
      &self.metadata,
      &self.created_at,
      &self.updated_at,
      &self.deleted_at,
      &self.roles,
      &self.write,
    ]
  }
}

/// Advisory locks (transaction-scoped) on the batch's emails, so that user and invite
/// creation on the same email by this module never interleave: the user check then sees
/// every user committed before it, even under READ COMMITTED. Emails fall into 64 buckets
/// (a lock per email would exhaust the lock table on large batches), taken in ascending
/// order so calls cannot deadlock on them. Returns the statements to run.
fn email_locks<'a>(emails: impl Iterator<Item = &'a str>) -> String {
  /// "medu", a class id that keeps our keys apart from other users of advisory locks.
  const LOCK_CLASS: i32 = 0x6d65_6475;
  let mut buckets: Vec<u64> = emails
    .map(|email| {
      // FNV-1a: stable across processes and versions, unlike Rust's default hasher.
      email.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
      }) % 64
    })
    .collect();
  buckets.sort_unstable();
  buckets.dedup();
  buckets
    .iter()
    .map(|bucket| format!("select pg_advisory_xact_lock({LOCK_CLASS}, {bucket});"))
    .collect()
}

/// Reads what the statement found: live users holding emails, invites holding ids, live
/// invites holding emails. Any of them refuses the batch (nothing was inserted).
fn refusal(found: Vec<tokio_postgres::Row>, invites: &[Invite]) -> Result<()> {
  let mut taken = HashSet::new();
  let mut known_ids = HashSet::new();
  let mut live_emails = HashSet::new();
  for row in found {
    let value: String = row.get(1);
    match row.get::<_, &str>(0) {
      "user" => taken.insert(value),
      "id" => known_ids.insert(value),
      _ => live_emails.insert(value),
    };
  }
  if !taken.is_empty() {
    // Medusa lists them in user-id order; input order is deterministic (docs/differences.md).
    let mut seen = HashSet::new();
    let in_input_order: Vec<&str> = invites
      .iter()
      .map(|invite| invite.email.as_str())
      .filter(|email| taken.contains(*email) && seen.insert(*email))
      .collect();
    return Err(Error::invalid_data(existing_users_message(&in_input_order)));
  }
  match first_conflict(invites, &known_ids, &live_emails) {
    Some(error) => Err(error),
    None => Ok(()),
  }
}

/// A failed insert statement: a unique violation (a concurrent transaction won the race)
/// as Medusa's message, anything else as a database error.
fn insert_failure(error: tokio_postgres::Error, invites: &[Invite]) -> Error {
  write_failure(error, invites, "cannot insert the invites")
}

/// A failed write of `invites`: a unique violation as Medusa's message with the index of the
/// invite it names, anything else as a database error saying `what` failed.
fn write_failure(error: tokio_postgres::Error, invites: &[Invite], what: &str) -> Error {
  let keys = invites
    .iter()
    .map(|invite| (invite.id.as_str(), invite.email.as_str()));
  unique_failure(error, "Invite", keys, what)
}

/// A failed write of rows of `entity` with these `(id, email)` keys, in input order: a unique
/// violation as Medusa's message with the index of the row it names, anything else as a
/// database error saying `what` failed.
fn unique_failure<'a>(
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

/// The user columns of a batch, as the arrays `unnest` reads.
struct UserColumns<'a> {
  ids: Vec<&'a str>,
  emails: Vec<&'a str>,
  first_names: Vec<Option<&'a str>>,
  last_names: Vec<Option<&'a str>>,
  avatar_urls: Vec<Option<&'a str>>,
  metadata: Vec<Option<&'a str>>,
}

impl<'a> UserColumns<'a> {
  fn new(users: &'a [User]) -> Self {
    UserColumns {
      ids: users.iter().map(|user| user.id.as_str()).collect(),
      emails: users.iter().map(|user| user.email.as_str()).collect(),
      first_names: users
        .iter()
        .map(|user| user.first_name.as_deref())
        .collect(),
      last_names: users.iter().map(|user| user.last_name.as_deref()).collect(),
      avatar_urls: users
        .iter()
        .map(|user| user.avatar_url.as_deref())
        .collect(),
      metadata: users.iter().map(|user| user.metadata.as_deref()).collect(),
    }
  }
}

fn user_keys(users: &[User]) -> impl Iterator<Item = (&str, &str)> {
  users
    .iter()
    .map(|user| (user.id.as_str(), user.email.as_str()))
}

/// Inserts a batch inside an open transaction (a caller's, or one the call opened).
async fn insert_invites(connection: &Object, invites: &[Invite]) -> Result<()> {
  let locks = email_locks(invites.iter().map(|invite| invite.email.as_str()));
  execute_batch(connection, &locks, "cannot lock the emails").await?;
  let statement = prepared(connection, INSERT_INVITES).await?;
  let columns = InviteColumns::new(invites);
  let found = connection
    .query(&statement, &columns.params())
    .await
    .map_err(|error| insert_failure(error, invites))?;
  refusal(found, invites)
}

/// Inserts a batch in a transaction of its own, in one network round trip: `begin` with the
/// email locks, the statement and `commit` are pipelined (tokio-postgres sends requests in
/// the order their futures are first polled). When the statement fails, PostgreSQL turns the
/// `commit` of the aborted transaction into a rollback.
async fn insert_invites_alone(connection: &Object, invites: &[Invite]) -> Result<()> {
  let statement = prepared(connection, INSERT_INVITES).await?;
  let columns = InviteColumns::new(invites);
  let begin = format!(
    "begin; {}",
    email_locks(invites.iter().map(|invite| invite.email.as_str()))
  );
  let params = columns.params();
  let (begun, found, committed) = tokio::join!(
    connection.batch_execute(&begin),
    connection.query(&statement, &params),
    connection.batch_execute("commit"),
  );
  begun.map_err(|error| database_error("cannot begin a transaction", error))?;
  let found = found.map_err(|error| insert_failure(error, invites))?;
  committed.map_err(|error| database_error("cannot commit", error))?;
  refusal(found, invites)
}

async fn insert_users(connection: &Object, users: &[User]) -> Result<()> {
  let columns = UserColumns::new(users);
  execute_batch(
    connection,
    &email_locks(columns.emails.iter().copied()),
    "cannot lock the emails",
  )
  .await?;
  let live: HashSet<String> = connection
    .query(
      &prepared(
        connection,
        r#"select email from "user" where deleted_at is null and email = any($1)"#,
      )
      .await?,
      &[&columns.emails],
    )
    .await
    .map_err(|error| database_error("cannot check existing users", error))?
    .into_iter()
    .map(|row| row.get(0))
    .collect();
  let mut batch = HashSet::new();
  for (index, user) in users.iter().enumerate() {
    if live.contains(&user.email) || !batch.insert(user.email.as_str()) {
      return Err(
        Error::invalid_data(format!("User with email: {}, already exists.", user.email)).at(index),
      );
    }
  }
  let created_at: Vec<f64> = users.iter().map(|user| user.created_at as f64).collect();
  connection
    .execute(&prepared(connection, r#"insert into "user" (id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at)
         select id, first_name, last_name, email, avatar_url, metadata::jsonb, to_timestamp(created_at / 1000), to_timestamp(created_at / 1000)
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
           as row(id, first_name, last_name, email, avatar_url, metadata, created_at)"#).await?,
      &[
        &columns.ids,
        &columns.first_names,
        &columns.last_names,
        &columns.emails,
        &columns.avatar_urls,
        &columns.metadata,
        &created_at,
      ],
    )
    .await
    .map_err(|error| unique_failure(error, "User", user_keys(users), "cannot insert the users"))?;
  let with_roles: Vec<(&str, String)> = users
    .iter()
    .filter_map(|user| roles_json(&user.roles).map(|roles| (user.id.as_str(), roles)))
    .collect();
  if !with_roles.is_empty() {
    let (ids, roles): (Vec<&str>, Vec<String>) = with_roles.into_iter().unzip();
    connection
      .execute(
        &prepared(
          connection,
          r#"insert into "medusa_invites_user_roles" (user_id, roles)
             select id, roles::jsonb from unnest($1::text[], $2::text[]) as row(id, roles)"#,
        )
        .await?,
        &[&ids, &roles],
      )
      .await
      .map_err(|error| database_error("cannot store the users' roles", error))?;
  }
  Ok(())
}

#[async_trait]
impl Store for PostgresStore {
  /// Runs the call in a transaction of its own. A serialization failure or a deadlock (at
  /// `SERIALIZABLE`, or between crossing batches) rolls it back and runs it again, as
  /// PostgreSQL's documentation asks of applications, up to `ATTEMPTS` times.
  async fn run(&self, work: Work, isolation: Option<IsolationLevel>) -> Result<Outcome> {
    let mut attempt = 1;
    loop {
      let connection = self.connection().await?;
      let outcome = match (&work, isolation) {
        // The common case: one pipelined round trip.
        (
          Work::Invites {
            invites,
            replay: None,
          },
          None,
        ) => insert_invites_alone(&connection, invites)
          .await
          .map(|_| Outcome::Written),
        // A read of one statement needs no transaction of its own: one round trip.
        (Work::Lifecycle(op @ Op::Find(query)), _) if !query.count => {
          let mut session = PostgresSession {
            connection: &connection,
          };
          lifecycle::perform(&mut session, op)
            .await
            .map(Outcome::Done)
        }
        _ => in_transaction(&connection, isolation, &work).await,
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

  async fn explain_invites(&self, query: &Query) -> Result<Vec<String>> {
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

  async fn finish(mut self: Box<Self>, sql: &str) -> Result<()> {
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
  async fn run(&mut self, work: Work) -> Result<Outcome> {
    let connection = self.connection()?;
    execute_batch(
      connection,
      "savepoint medusa_invites_call",
      "cannot set a savepoint",
    )
    .await?;
    match perform(connection, &work).await {
      Ok(outcome) => {
        execute_batch(
          connection,
          "release savepoint medusa_invites_call",
          "cannot release a savepoint",
        )
        .await?;
        Ok(outcome)
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

  async fn commit(self: Box<Self>) -> Result<()> {
    self.finish("commit").await
  }

  async fn rollback(self: Box<Self>) -> Result<()> {
    self.finish("rollback").await
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
