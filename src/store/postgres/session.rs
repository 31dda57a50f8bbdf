//! The `Session` statements on a pooled PostgreSQL connection, inside the call's transaction:
//! reads, whole-row saves, deletes and idempotency records, each one set-based statement.
//! The inserts are in `insert`.

use async_trait::async_trait;
use deadpool_postgres::Object;
use tokio_postgres::types::Type;

use super::{database_error, insert, prepared, unique_failure, write_failure};
use crate::error::Result;
use crate::idempotency::Replay;
use crate::invite::{Invite, User};
use crate::query::{Dialect, Param, Query, Source};
use crate::session::{Found, OutboxRow, Session};
use crate::stored::{self, StoredRow};

/// `column` read back as Unix milliseconds.
macro_rules! ms {
  ($column:literal) => {
    concat!("floor(extract(epoch from ", $column, ") * 1000)::int8")
  };
}

/// The columns `find_invites` reads, in `Invite` order (times as Unix ms, JSON as text).
pub(super) const INVITE_COLUMNS: &str = concat!(
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

pub(super) const INVITES: Source = Source {
  table: r#""invite""#,
  alias: "i",
  joins: r#" left join "medusa_invites_roles" r on r.invite_id = i.id"#,
};
const USERS: Source = Source {
  table: r#""user""#,
  alias: "u",
  joins: r#" left join "medusa_invites_user_roles" r on r.user_id = u.id"#,
};

pub(super) type SqlParam = Box<dyn tokio_postgres::types::ToSql + Sync + Send>;

pub(super) fn sql_param(param: &Param) -> SqlParam {
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

impl StoredRow for tokio_postgres::Row {
  fn text(&self, index: usize) -> Result<Option<String>> {
    self
      .try_get(index)
      .map_err(|error| database_error("cannot read a row", error))
  }

  fn number(&self, index: usize) -> Result<Option<i64>> {
    self
      .try_get(index)
      .map_err(|error| database_error("cannot read a row", error))
  }

  fn flag(&self, index: usize) -> Result<bool> {
    self
      .try_get(index)
      .map_err(|error| database_error("cannot read a row", error))
  }
}

/// The lifecycle's statements on a pooled connection, inside the call's transaction.
pub(super) struct PostgresSession<'c> {
  pub connection: &'c Object,
}

impl PostgresSession<'_> {
  async fn find<T>(
    &self,
    query: &Query,
    source: &Source,
    columns: &str,
    read: impl Fn(&tokio_postgres::Row) -> Result<T>,
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
      rows: rows.iter().map(read).collect::<Result<_>>()?,
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
      .find(query, &INVITES, INVITE_COLUMNS, stored::invite)
      .await
  }

  async fn find_users(&mut self, query: &Query) -> Result<Found<User>> {
    self.find(query, &USERS, USER_COLUMNS, stored::user).await
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

  async fn insert_invites(&mut self, invites: &[Invite]) -> Result<()> {
    insert::insert_invites(self.connection, invites).await
  }

  async fn insert_users(&mut self, users: &[User]) -> Result<()> {
    insert::insert_users(self.connection, users).await
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

  /// A transaction-scoped advisory lock on the key.
  async fn lock_key(&mut self, key: &str) -> Result<()> {
    let statement = prepared(
      self.connection,
      "select pg_advisory_xact_lock(hashtextextended($1, 0))",
    )
    .await?;
    self
      .connection
      .execute(&statement, &[&key])
      .await
      .map_err(|error| database_error("cannot lock the idempotency key", error))?;
    Ok(())
  }

  async fn find_replay(&mut self, replay: &Replay) -> Result<Option<String>> {
    find_replay(self.connection, replay).await
  }

  async fn save_replay(&mut self, replay: &Replay) -> Result<()> {
    save_replay(self.connection, replay).await
  }

  async fn save_outbox(&mut self, record: &str, now: i64) -> Result<i64> {
    let statement = prepared(
      self.connection,
      r#"insert into "medusa_invites_outbox" (created_at, events)
         values (to_timestamp($1::float8 / 1000), $2) returning id"#,
    )
    .await?;
    let row = self
      .connection
      .query_one(&statement, &[&(now as f64), &record])
      .await
      .map_err(|error| database_error("cannot write the outbox", error))?;
    Ok(row.get(0))
  }

  async fn pending_outbox(
    &mut self,
    before: Option<i64>,
    limit: usize,
    claim: bool,
  ) -> Result<Vec<OutboxRow>> {
    let sql = format!(
      r#"select id, {}, events from "medusa_invites_outbox"
         where delivered_at is null and ($1::float8 is null or created_at < to_timestamp($1::float8 / 1000))
         order by id limit $2{}"#,
      ms!("created_at"),
      if claim { " for update skip locked" } else { "" }
    );
    let statement = prepared(self.connection, &sql).await?;
    let rows = self
      .connection
      .query(&statement, &[&before.map(|ms| ms as f64), &(limit as i64)])
      .await
      .map_err(|error| database_error("cannot read the outbox", error))?;
    Ok(
      rows
        .iter()
        .map(|row| OutboxRow {
          id: row.get(0),
          created_at: row.get(1),
          record: row.get(2),
        })
        .collect(),
    )
  }

  async fn mark_delivered(&mut self, ids: &[i64], now: i64, prune_before: i64) -> Result<()> {
    let mark = prepared(
      self.connection,
      r#"update "medusa_invites_outbox" set delivered_at = to_timestamp($2::float8 / 1000)
         where id = any($1) and delivered_at is null"#,
    )
    .await?;
    self
      .connection
      .execute(&mark, &[&ids, &(now as f64)])
      .await
      .map_err(|error| database_error("cannot mark events delivered", error))?;
    let prune = prepared(
      self.connection,
      r#"delete from "medusa_invites_outbox" where delivered_at < to_timestamp($1::float8 / 1000)"#,
    )
    .await?;
    self
      .connection
      .execute(&prune, &[&(prune_before as f64)])
      .await
      .map_err(|error| database_error("cannot prune the outbox", error))?;
    Ok(())
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
  let oldest = replay.oldest();
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
  let oldest = replay.oldest();
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

/// The user columns of a batch, as the arrays `unnest` reads.
pub(super) struct UserColumns<'a> {
  pub ids: Vec<&'a str>,
  pub emails: Vec<&'a str>,
  pub first_names: Vec<Option<&'a str>>,
  pub last_names: Vec<Option<&'a str>>,
  pub avatar_urls: Vec<Option<&'a str>>,
  pub metadata: Vec<Option<&'a str>>,
}

impl<'a> UserColumns<'a> {
  pub fn new(users: &'a [User]) -> Self {
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

pub(super) fn user_keys(users: &[User]) -> impl Iterator<Item = (&str, &str)> {
  users
    .iter()
    .map(|user| (user.id.as_str(), user.email.as_str()))
}
