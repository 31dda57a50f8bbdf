//! The set-based inserts: a batch of invites in one statement that checks and inserts (and,
//! alone, in one round trip with its transaction), users in two. They keep `Session`'s
//! contract: all or nothing, else the refusal SQLite's row-by-row insert gives.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use deadpool_postgres::Object;
use futures_util::FutureExt;

use super::session::{user_keys, UserColumns};
use super::{
  database_error, execute_batch, is_unique_violation, prepared, unique_failure, write_failure,
};
use crate::error::{Error, Result};
use crate::invite::{roles_json, Invite, User};
use crate::messages;

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
      return Some(messages::already_exists("Invite", "email", &invite.email).at(index));
    }
    if known_ids.contains(&invite.id) || seen_ids.contains(invite.id.as_str()) {
      return Some(messages::already_exists("Invite", "id", &invite.id).at(index));
    }
    seen_ids.insert(invite.id.as_str());
    if live {
      seen_emails.insert(invite.email.as_str());
    }
  }
  None
}

/// A batch statement: `$reads` (CTEs reading stored invites), then the insert of the rows
/// (`UNNEST` of the column arrays `$1`–`$9`) when no live user holds one of the batch's emails
/// (`$2`) and `$condition` holds, their roles (`$10`, `$11`: only the items that have some) and
/// the outbox row `$12` (at `$13`, when there is one). Its rows: what refuses the batch (the
/// users, then `$found`), and the outbox row's id. The input is read once, as it is
/// inserted: never stored aside (a large batch would spill it to disk).
macro_rules! batch_statement {
  ($reads:literal, $condition:literal, $found:literal) => {
    concat!(
      r#"
with taken as (
  select distinct email from "user" where deleted_at is null and email = any($2::text[])
),"#,
      $reads,
      r#"
inserted as (
  insert into "invite" (id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at)
  select id, email, accepted, token, to_timestamp(expires_at / 1000), metadata::jsonb,
         to_timestamp(created_at / 1000), to_timestamp(updated_at / 1000), to_timestamp(deleted_at / 1000)
  from unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::float8[], $6::text[],
              $7::float8[], $8::float8[], $9::float8[])
    as row(id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at)
  where not exists (select 1 from taken)"#,
      $condition,
      r#"
  returning 1
),
written as (
  select exists (select 1 from inserted) as yes
),
roles as (
  insert into "medusa_invites_roles" (invite_id, roles)
  select id, roles::jsonb from unnest($10::text[], $11::text[]) as row(id, roles)
  where (select yes from written)
),
outbox as (
  insert into "medusa_invites_outbox" (created_at, events)
  select to_timestamp($13::float8 / 1000), $12::text
  where $12::text is not null and (select yes from written)
  returning id
)
select 'user' as kind, email as value from taken"#,
      $found,
      r#"
union all select 'outbox', id::text from outbox
"#
    )
  };
}

/// Inserts a batch with one statement that reads first: the invites holding its ids (`$1`)
/// and the live invites holding the emails of its live items (`$15`), each an index lookup of
/// an array, as well as the users; it inserts only when none of them holds any and `$14`
/// allows it. A refusal fails no statement. Under concurrency the unique indexes stay the
/// final arbiter.
const INSERT_INVITES: &str = batch_statement!(
  r#"
known_ids as (
  select id from "invite" where id = any($1::text[])
),
live_emails as (
  select distinct email from "invite" where deleted_at is null and email = any($15::text[])
),"#,
  r#" and $14
    and not exists (select 1 from known_ids) and not exists (select 1 from live_emails)"#,
  r#"
union all select 'id', id from known_ids
union all select 'email', email from live_emails"#
);

/// The batch statement of a call's own transaction (`insert_invites_alone`): it reads no
/// stored invite. An id or a live email an invite already holds is refused by the unique
/// indexes instead: the statement fails, the transaction rolls back, and `name_conflict` asks
/// `INSERT_INVITES`, checking only, which item to name. A batch without conflicts (the usual
/// one) is spared two index lookups a row: about 12% of a 10,000 batch's time on the server.
const INSERT_INVITES_ALONE: &str = batch_statement!("", "", "");

/// How a batch statement meets the invites already stored.
#[derive(Clone, Copy)]
enum Conflicts {
  /// `INSERT_INVITES`: it reads them first and inserts only when there are none and `write`.
  Read { write: bool },
  /// `INSERT_INVITES_ALONE`: the unique indexes refuse them (the statement fails).
  Indexed,
}

impl Conflicts {
  /// The statement that meets stored invites this way.
  fn sql(self) -> &'static str {
    match self {
      Conflicts::Read { .. } => INSERT_INVITES,
      Conflicts::Indexed => INSERT_INVITES_ALONE,
    }
  }
}

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
  write: bool,
  /// The emails of the live items: only they can collide with a live invite.
  live_emails: Vec<&'a str>,
  /// The items that have roles: their ids, and the roles as JSON.
  role_ids: Vec<&'a str>,
  roles: Vec<String>,
  outbox: Option<&'a str>,
  now: f64,
}

impl<'a> InviteColumns<'a> {
  /// The columns of `invites` for the statement of `conflicts` (`write`: whether it may insert,
  /// see `repeats_itself`, which is about the whole batch when this is a part of it).
  fn new(invites: &'a [Invite], conflicts: Conflicts, outbox: Option<&'a str>, now: i64) -> Self {
    fn column<'a, T>(invites: &'a [Invite], value: impl Fn(&'a Invite) -> T) -> Vec<T> {
      invites.iter().map(value).collect()
    }
    let (role_ids, roles) = invites
      .iter()
      .filter_map(|invite| Some((invite.id.as_str(), invite.roles_json()?)))
      .unzip();
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
      write: matches!(conflicts, Conflicts::Read { write: true }),
      // Only `INSERT_INVITES` reads them.
      live_emails: match conflicts {
        Conflicts::Read { .. } => invites
          .iter()
          .filter(|invite| invite.deleted_at.is_none())
          .map(|invite| invite.email.as_str())
          .collect(),
        Conflicts::Indexed => Vec::new(),
      },
      role_ids,
      roles,
      outbox,
      now: now as f64,
    }
  }

  /// The parameters of `INSERT_INVITES`.
  fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 15] {
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
      &self.role_ids,
      &self.roles,
      &self.outbox,
      &self.now,
      &self.write,
      &self.live_emails,
    ]
  }

  /// The parameters of `INSERT_INVITES_ALONE`: the first 13 of `params`.
  fn params_alone(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 13] {
    let [params @ .., _write, _live_emails] = self.params();
    params
  }
}

/// "medu", the class id of our advisory locks: it keeps our keys apart from other users of
/// advisory locks.
const LOCK_CLASS: i32 = 0x6d65_6475;

/// The lock bucket of an email: emails fall into 64 buckets (a lock per email would exhaust
/// the lock table on large batches). FNV-1a: stable across processes and versions, unlike
/// Rust's default hasher.
fn email_bucket(email: &str) -> i32 {
  let hash = email.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
    (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
  });
  (hash % 64) as i32
}

/// Advisory locks (transaction-scoped) on the batch's emails, so that user and invite
/// creation on the same email by this module never interleave: the user check then sees
/// every user committed before it, even under READ COMMITTED. One lock per bucket (see
/// `email_bucket`), taken in ascending order so calls cannot deadlock on them. Returns the
/// statements to run.
fn email_locks<'a>(emails: impl Iterator<Item = &'a str>) -> String {
  let mut buckets: Vec<i32> = emails.map(email_bucket).collect();
  buckets.sort_unstable();
  buckets.dedup();
  buckets
    .iter()
    .map(|bucket| format!("select pg_advisory_xact_lock({LOCK_CLASS}, {bucket});"))
    .collect()
}

/// Reads what the statement found: live users holding emails, invites holding ids, live
/// invites holding emails. Any of them refuses the batch (nothing was inserted). Otherwise
/// the id of the outbox row, when it wrote one.
fn refusal(found: Vec<tokio_postgres::Row>, invites: &[Invite]) -> Result<Option<i64>> {
  let mut taken = HashSet::new();
  let mut known_ids = HashSet::new();
  let mut live_emails = HashSet::new();
  let mut outbox_id = None;
  for row in found {
    let value: String = row.get(1);
    match row.get::<_, &str>(0) {
      "user" => taken.insert(value),
      "id" => known_ids.insert(value),
      "outbox" => {
        outbox_id = value.parse().ok();
        true
      }
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
    return Err(messages::users_exist(&in_input_order));
  }
  match first_conflict(invites, &known_ids, &live_emails) {
    Some(error) => Err(error),
    None => Ok(outbox_id),
  }
}

/// A failed insert statement: a unique violation (a concurrent transaction won the race)
/// as Medusa's message, anything else as a database error.
fn insert_failure(error: tokio_postgres::Error, invites: &[Invite]) -> Error {
  write_failure(error, invites, "cannot insert the invites")
}

/// Batches larger than this go in as several statements of this many rows, in one
/// transaction. The message of a statement holds all its rows (tokens included) and stays
/// allocated, at its largest size, in the connection's buffers (parts of 10,000 left 19 MB
/// there after a batch of 100,000; of 2,500, 6 MB). And each part is encoded while the server
/// runs the one before: a batch of 10,000 in four parts is ~6% faster than in one statement.
const PART_ROWS: usize = 2_500;

/// The statement of one part of a batch, sent or not yet.
type PartInsert<'a> = Pin<
  Box<dyn Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send + 'a>,
>;

/// Inserts a batch inside an open transaction (a caller's, or one the call opened). It reads
/// the stored invites first (`Conflicts::Read`): a refusal fails no statement, so a caller's
/// transaction stays usable.
pub(super) async fn insert_invites(connection: &Object, invites: &[Invite]) -> Result<()> {
  let locks = email_locks(invites.iter().map(|invite| invite.email.as_str()));
  execute_batch(connection, &locks, "cannot lock the emails").await?;
  let conflicts = Conflicts::Read {
    write: !repeats_itself(invites),
  };
  let statement = prepared(connection, conflicts.sql()).await?;
  // The outbox row, if any, is the caller's to write (`lifecycle::run`).
  let found = insert_in_parts(connection, &statement, conflicts, invites, None, 0)
    .await
    .map_err(|error| insert_failure(error, invites))?;
  refusal(found, invites).map(|_| ())
}

/// Runs `statement` (`conflicts.sql()`, prepared) over the batch, a part of
/// at most `PART_ROWS` rows at a time, inside an open transaction; the outbox row goes with the
/// last part. Each part is sent while the one before it runs, so the server never waits for
/// the next one (and at most two parts' messages exist at once); the first is sent when this
/// future is first polled. Returns every row the statements found; when any part found a
/// conflict, none of them inserted anything the transaction may keep (the caller rolls back,
/// or the one statement inserted nothing).
async fn insert_in_parts(
  connection: &Object,
  statement: &tokio_postgres::Statement,
  conflicts: Conflicts,
  invites: &[Invite],
  outbox: Option<&str>,
  now: i64,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
  let parts = invites.len().div_ceil(PART_ROWS);
  let mut running: Option<PartInsert<'_>> = None;
  let mut found = Vec::new();
  for (index, part) in invites.chunks(PART_ROWS).enumerate() {
    let outbox = outbox.filter(|_| index + 1 == parts);
    let mut next: PartInsert<'_> = Box::pin(async move {
      let columns = InviteColumns::new(part, conflicts, outbox, now);
      match conflicts {
        Conflicts::Read { .. } => connection.query(statement, &columns.params()).await,
        Conflicts::Indexed => connection.query(statement, &columns.params_alone()).await,
      }
    });
    // The first poll sends the statement (tokio-postgres sends a request when its future is
    // first polled); its answer is awaited after the one of the part before it.
    let sent = (&mut next).now_or_never();
    if let Some(previous) = running.take() {
      found.extend(previous.await?);
    }
    match sent {
      Some(rows) => found.extend(rows?),
      None => running = Some(next),
    }
  }
  if let Some(last) = running {
    found.extend(last.await?);
  }
  Ok(found)
}

/// `begin` and the email locks of `invites`, as one simple query.
fn begin_with_locks(invites: &[Invite]) -> String {
  format!(
    "begin; {}",
    email_locks(invites.iter().map(|invite| invite.email.as_str()))
  )
}

/// Inserts a batch in a transaction of its own. `outbox`: the call's event record, to store
/// with the batch; returns its row's id. `begin` with the email locks and the parts are
/// pipelined (tokio-postgres sends requests in the order their futures are first polled, and
/// the statement is prepared before, so the first part goes out on the first poll). A batch
/// of one part is one network round trip: its `commit` is pipelined too (when the statement
/// fails, PostgreSQL turns the `commit` of the aborted transaction into a rollback; a refusal
/// inserted nothing). With several parts, `commit` or `rollback` waits for their answers.
/// The unique indexes refuse a conflicting invite (`INSERT_INVITES_ALONE`); `name_conflict`
/// then names it. A batch that repeats itself fails whatever is stored: it only checks.
pub(super) async fn insert_invites_alone(
  connection: &Object,
  invites: &[Invite],
  outbox: Option<&str>,
  now: i64,
) -> Result<Option<i64>> {
  if let [invite] = invites {
    return insert_one_alone(connection, invite, outbox, now).await;
  }
  let conflicts = if repeats_itself(invites) {
    Conflicts::Read { write: false }
  } else {
    Conflicts::Indexed
  };
  let statement = prepared(connection, conflicts.sql()).await?;
  let begin = begin_with_locks(invites);
  let begin_failure = |error| database_error("cannot begin a transaction", error);
  let commit_failure = |error| database_error("cannot commit", error);
  let parts = insert_in_parts(connection, &statement, conflicts, invites, outbox, now);
  // What the statements found (the outbox row's id, or a refusal), unless one failed.
  let (found, ended) = if invites.len() <= PART_ROWS {
    let (begun, found, committed) = tokio::join!(
      connection.batch_execute(&begin),
      parts,
      connection.batch_execute("commit"),
    );
    begun.map_err(begin_failure)?;
    (found.map(|found| refusal(found, invites)), committed)
  } else {
    let (begun, found) = tokio::join!(connection.batch_execute(&begin), parts);
    begun.map_err(begin_failure)?;
    let found = found.map(|found| refusal(found, invites));
    let end = if matches!(found, Ok(Ok(_))) {
      "commit"
    } else {
      "rollback"
    };
    (found, connection.batch_execute(end).await)
  };
  match found {
    Ok(outcome) => {
      let outbox_id = outcome?;
      ended.map_err(commit_failure)?;
      Ok(outbox_id)
    }
    Err(error) if is_unique_violation(&error) => Err(name_conflict(connection, invites).await),
    Err(error) => Err(insert_failure(error, invites)),
  }
}

/// The error of invites the unique indexes refused (the statement wrote nothing, or its
/// transaction rolled back): their first conflict in input order, as `INSERT_INVITES`
/// (checking only, outside any transaction) finds it, so the message is the one a batch refused
/// before writing gets. When that finds nothing, the row that refused them is gone by now: the
/// call is reported transient and runs again.
async fn name_conflict(connection: &Object, invites: &[Invite]) -> Error {
  let check = Conflicts::Read { write: false };
  let named = async {
    let statement = prepared(connection, check.sql()).await?;
    let found = insert_in_parts(connection, &statement, check, invites, None, 0)
      .await
      .map_err(|error| insert_failure(error, invites))?;
    refusal(found, invites)
  };
  match named.await {
    Err(error) => error,
    Ok(_) => {
      let mut again = Error::database("PostgreSQL: an invite met a row that is gone now");
      again.transient = true;
      again
    }
  }
}

/// The email's advisory lock (class `$1`, bucket `$2`: see `email_locks`), then whether a live
/// user holds email `$3`, created with the schema. `INSERT_ONE` calls it first: a statement
/// reads one snapshot, taken when it starts and so before the lock, but each query of a
/// volatile PL/pgSQL function takes its own, so the check here, after the lock, sees every
/// user committed before the lock was granted. Its name carries a version: a change of its
/// body or its arguments takes a new name, so that modules of two versions can share a database.
pub(super) const LOCK_EMAIL_FUNCTION: &str = r#"
create or replace function "medusa_invites_lock_email_v1"(integer, integer, text)
returns boolean language plpgsql volatile as $function$
begin
perform pg_advisory_xact_lock($1, $2);
return exists (select 1 from "user" where deleted_at is null and email = $3);
end
$function$;
"#;

/// One invite in one statement, in autocommit: one message and one commit, as a plain insert
/// is. Its text is in `insert_one.sql`, which the benchmark of sequential calls also reads.
/// The lock and the check against users (`LOCK_EMAIL_FUNCTION`), the insert, its roles and
/// its outbox row. `$1`–`$9`: the invite's columns (times in ms); `$10`, `$11`: the email's
/// lock (class, bucket); `$12`: the call's event record for the outbox, or null; `$13`: now
/// (ms); `$14`: the roles (JSON). Its one row: whether a live user holds the email (then nothing
/// is written; otherwise the invite is), the outbox row's id. The unique indexes check the id
/// and the email as the row goes in: a conflict fails the statement, so nothing is written (`on conflict do
/// nothing` would cost each call a speculative insertion, about 10% of a single call's time
/// on the server).
const INSERT_ONE: &str = include_str!("insert_one.sql");

/// The statement for one invite and how many of `INSERT_ONE`'s parameters it takes. For an
/// invite without roles: the statement without its roles part, and so without its parameter
/// (`$14`); the roles' `insert` would cost each call the opening of their table even when it
/// inserts nothing. (Were the part's marks ever missing, the whole statement with null roles
/// does the same work, slower.)
fn insert_one_statement(with_roles: bool) -> (&'static str, usize) {
  static WITHOUT_ROLES: OnceLock<Option<String>> = OnceLock::new();
  let without = WITHOUT_ROLES.get_or_init(|| {
    let (before, rest) = INSERT_ONE.split_once("-- roles\n")?;
    let (_, after) = rest.split_once("-- end roles\n")?;
    Some(format!("{before}{after}"))
  });
  match without {
    Some(without) if !with_roles => (without, 13),
    _ => (INSERT_ONE, 14),
  }
}

/// `insert_invites_alone` for one invite (see `INSERT_ONE`): one statement, in autocommit.
/// A refusal by an index is diagnosed after it (the statement wrote nothing); when the row
/// that refused it is gone by then, the call is reported transient and runs again.
async fn insert_one_alone(
  connection: &Object,
  invite: &Invite,
  outbox: Option<&str>,
  now: i64,
) -> Result<Option<i64>> {
  let roles = invite.roles_json();
  let (sql, parameters) = insert_one_statement(roles.is_some());
  let statement = prepared(connection, sql).await?;
  let params: [&(dyn tokio_postgres::types::ToSql + Sync); 14] = [
    &invite.id,
    &invite.email,
    &invite.accepted,
    &invite.token,
    &(invite.expires_at as f64),
    &invite.metadata,
    &(invite.created_at as f64),
    &(invite.updated_at as f64),
    &invite.deleted_at.map(|ms| ms as f64),
    &LOCK_CLASS,
    &email_bucket(&invite.email),
    &outbox,
    &(now as f64),
    &roles,
  ];
  let written = match connection.query(&statement, &params[..parameters]).await {
    Ok(rows) => rows,
    Err(error) if is_unique_violation(&error) => {
      return Err(name_conflict(connection, std::slice::from_ref(invite)).await)
    }
    Err(error) => return Err(insert_failure(error, std::slice::from_ref(invite))),
  };
  // The statement's one row: whether a user holds the email (nothing written), the outbox id.
  let written = written
    .first()
    .ok_or_else(|| Error::database("PostgreSQL: the insert returned no row"))?;
  let (taken, outbox_id): (bool, Option<i64>) = (written.get(0), written.get(1));
  if taken {
    return Err(messages::users_exist(&[invite.email.as_str()]));
  }
  Ok(outbox_id)
}

pub(super) async fn insert_users(connection: &Object, users: &[User]) -> Result<()> {
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
      return Err(messages::already_exists("User", "email", &user.email).at(index));
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_single_insert_without_roles_leaves_out_their_part_and_its_parameter() {
    assert_eq!(insert_one_statement(true), (INSERT_ONE, 14));
    let (without, parameters) = insert_one_statement(false);
    assert_eq!(parameters, 13);
    assert!(INSERT_ONE.contains("\"medusa_invites_roles\"") && INSERT_ONE.contains("$14"));
    assert!(!without.contains("\"medusa_invites_roles\"") && !without.contains("$14"));
    // The part goes with its comma: the CTE before it now leads straight to the outbox's.
    assert!(without.contains("  returning 1\n),\noutbox as ("));
  }

  /// The highest `$n` of a statement: its parameter count.
  fn parameters(sql: &str) -> usize {
    sql
      .split('$')
      .skip(1)
      .filter_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
      })
      .max()
      .unwrap_or(0)
  }

  #[test]
  fn each_batch_statement_takes_the_parameters_its_columns_give() {
    let invites: Vec<Invite> = Vec::new();
    let read = InviteColumns::new(&invites, Conflicts::Read { write: true }, None, 0);
    assert_eq!(parameters(INSERT_INVITES), read.params().len());
    let indexed = InviteColumns::new(&invites, Conflicts::Indexed, None, 0);
    assert_eq!(
      parameters(INSERT_INVITES_ALONE),
      indexed.params_alone().len()
    );
    // Without the reads of stored invites, and nothing else removed.
    for read_only in ["known_ids", "live_emails"] {
      assert!(INSERT_INVITES.contains(read_only) && !INSERT_INVITES_ALONE.contains(read_only));
    }
    for kept in [
      "from \"user\"",
      "\"medusa_invites_roles\"",
      "\"medusa_invites_outbox\"",
    ] {
      assert!(INSERT_INVITES_ALONE.contains(kept));
    }
  }
}
