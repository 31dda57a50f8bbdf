//! The embedded default store: one SQLite file in WAL mode, durable by default
//! (`synchronous=FULL`). The `invite` and `user` tables mirror Medusa's columns and indexes
//! (docs/storage.md), plus `invite.roles`. Times are stored as Unix milliseconds, JSON as text.
//!
//! SQLite has one writer at a time, so a module keeps one write connection and an async
//! writer lock: a call or a caller transaction holds it for its duration, and others wait for
//! it in order without occupying a thread. Every module of the process on the same file
//! shares that lock, so they take turns instead of polling for SQLite's lock against each
//! other; other processes are waited for by `locked`.

mod session;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use tokio::sync::OwnedMutexGuard;

use self::session::SqliteSession;
use super::{End, Store, Transaction};
use crate::context::IsolationLevel;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Call, Op, Outcome};
use crate::options::{Location, Synchronous};

/// How long a call waits for the writer lock while a caller transaction holds it before it
/// gives up (a transaction's owner may be waiting for this very call). Behind other plain
/// calls, which always finish, it waits as long as the queue takes.
const WRITER_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = r#"
create table if not exists "invite" ("id" text not null, "email" text not null,
  "accepted" boolean not null default false, "token" text not null,
  "expires_at" timestamptz not null, "metadata" jsonb null,
  "created_at" timestamptz not null, "updated_at" timestamptz not null,
  "deleted_at" timestamptz null, "roles" jsonb null,
  constraint "invite_pkey" primary key ("id"));
create unique index if not exists "IDX_invite_email_unique" on "invite" (email) where deleted_at is null;
create index if not exists "IDX_invite_token" on "invite" (token) where deleted_at is null;
create index if not exists "IDX_invite_deleted_at" on "invite" (deleted_at) where deleted_at is not null;
create table if not exists "user" ("id" text not null, "first_name" text null, "last_name" text null,
  "email" text not null, "avatar_url" text null, "metadata" jsonb null,
  "created_at" timestamptz not null, "updated_at" timestamptz not null,
  "deleted_at" timestamptz null, "roles" jsonb null, constraint "user_pkey" primary key ("id"));
create unique index if not exists "IDX_user_email_unique" on "user" (email) where deleted_at is null;
create index if not exists "IDX_user_deleted_at" on "user" (deleted_at) where deleted_at is not null;
create table if not exists "medusa_invites_idempotency" ("key" text not null, "input_hash" text not null,
  "response" text not null, "created_at" integer not null, primary key ("key", "input_hash"));
create index if not exists "IDX_medusa_invites_idempotency_created_at" on "medusa_invites_idempotency" (created_at);
create table if not exists "medusa_invites_outbox" ("id" integer primary key autoincrement,
  "created_at" integer not null, "events" text not null, "delivered_at" integer null);
create index if not exists "IDX_medusa_invites_outbox_pending" on "medusa_invites_outbox" (id) where delivered_at is null;
create index if not exists "IDX_medusa_invites_outbox_delivered_at" on "medusa_invites_outbox" (delivered_at) where delivered_at is not null;
"#;

/// The writer lock of one database, shared by the modules of this process that open it.
struct WriterLock {
  writer: Arc<tokio::sync::Mutex<()>>,
  /// A caller transaction holds the writer lock.
  transaction_open: Arc<AtomicBool>,
}

impl WriterLock {
  fn new() -> Arc<WriterLock> {
    Arc::new(WriterLock {
      writer: Arc::new(tokio::sync::Mutex::new(())),
      transaction_open: Arc::new(AtomicBool::new(false)),
    })
  }

  /// The lock of the file at `path` (its canonical path), made when no live module holds it.
  fn of_file(path: &std::path::Path) -> Arc<WriterLock> {
    static LOCKS: Mutex<Vec<(PathBuf, Weak<WriterLock>)>> = Mutex::new(Vec::new());
    let Ok(path) = std::fs::canonicalize(path) else {
      return WriterLock::new();
    };
    let mut locks = LOCKS
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.retain(|(_, lock)| lock.strong_count() > 0);
    if let Some(lock) = locks
      .iter()
      .find(|(held, _)| *held == path)
      .and_then(|(_, lock)| lock.upgrade())
    {
      return lock;
    }
    let lock = WriterLock::new();
    locks.push((path, Arc::downgrade(&lock)));
    lock
  }
}

pub struct SqliteStore {
  connection: Arc<Mutex<Connection>>,
  lock: Arc<WriterLock>,
  /// Reads outside caller transactions use a connection of their own: in WAL mode a reader
  /// needs no lock, so a read never waits behind this module's writes or another process's.
  /// `None` in memory, where a second connection would be another database.
  reader: Option<Reader>,
}

struct Reader {
  connection: Arc<Mutex<Connection>>,
  /// One read at a time on the connection, waited for without occupying a thread.
  turn: tokio::sync::Mutex<()>,
}

impl SqliteStore {
  /// Opens (creating the file and its folder on first use) and prepares the schema, on the
  /// blocking pool.
  pub async fn open(location: Location, synchronous: Synchronous) -> Result<Self> {
    let opened = location.clone();
    let (connection, reader) = tokio::task::spawn_blocking(move || {
      let location = opened;
      let connection = open_connection(&location, synchronous)?;
      let reader = match &location {
        Location::Memory => None,
        Location::File(path) => Some(open_reader(path)?),
      };
      Ok::<_, Error>((connection, reader))
    })
    .await
    .map_err(|_| Error::database("SQLite: opening the database was interrupted"))??;
    let lock = match &location {
      Location::Memory => WriterLock::new(),
      Location::File(path) => WriterLock::of_file(path),
    };
    Ok(SqliteStore {
      connection: Arc::new(Mutex::new(connection)),
      lock,
      reader: reader.map(|connection| Reader {
        connection: Arc::new(Mutex::new(connection)),
        turn: tokio::sync::Mutex::new(()),
      }),
    })
  }

  /// A read outside a caller transaction, on the reader connection.
  async fn read(&self, reader: &Reader, call: Call) -> Result<Outcome> {
    let _turn = reader.turn.lock().await;
    blocking(&reader.connection, call.op.rows(), move |connection| {
      // A reader takes no lock that a writer holds: it is never busy.
      perform_alone(connection, &call)?.ok_or_else(|| Error::database("SQLite: database is locked"))
    })
    .await
  }

  async fn writer(&self) -> Result<OwnedMutexGuard<()>> {
    loop {
      let waited = tokio::time::timeout(
        WRITER_LOCK_TIMEOUT,
        Arc::clone(&self.lock.writer).lock_owned(),
      )
      .await;
      match waited {
        Ok(guard) => return Ok(guard),
        Err(_) if self.lock.transaction_open.load(Ordering::Acquire) => {
          return Err(Error::database(format!(
            "SQLite: timed out after {} s waiting for the write lock, which an open transaction in this process holds",
            WRITER_LOCK_TIMEOUT.as_secs()
          )))
        }
        Err(_) => continue,
      }
    }
  }
}

/// Runs `work` with the connection. Small work (up to `SMALL_WORK` rows) runs in place on the
/// runtime worker handling the call: a thread hop costs more than such a statement batch on
/// a small machine, and the writer lock lets at most one blocking section per database run at
/// a time. Larger work goes to the blocking pool so it never stalls the runtime. Never on the
/// JS thread either way.
async fn blocking<T: Send + 'static>(
  connection: &Arc<Mutex<Connection>>,
  rows: usize,
  work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
) -> Result<T> {
  let connection = Arc::clone(connection);
  let run = move || {
    // A poisoned lock means a statement panicked half-way; the connection's state is unknown.
    let mut connection = connection
      .lock()
      .map_err(|_| Error::database("SQLite: the connection is unusable after an internal error"))?;
    work(&mut connection)
  };
  if rows <= SMALL_WORK {
    return run();
  }
  tokio::task::spawn_blocking(run)
    .await
    .map_err(|_| Error::database("SQLite: a database task was interrupted"))?
}

/// Row count up to which statements run in place (see `blocking`).
const SMALL_WORK: usize = 64;

/// Reads need no write lock up front.
fn begin_sql(op: &Op) -> &'static str {
  if op.is_read() {
    "begin"
  } else {
    BEGIN
  }
}

/// SQLite's name of a `synchronous` setting.
fn pragma(synchronous: Synchronous) -> &'static str {
  match synchronous {
    Synchronous::Full => "FULL",
    Synchronous::Normal => "NORMAL",
    Synchronous::Off => "OFF",
  }
}

/// Opens the connection and prepares it: WAL, `synchronous`, schema.
pub fn open_connection(location: &Location, synchronous: Synchronous) -> Result<Connection> {
  let mut connection = match location {
    Location::Memory => Connection::open_in_memory()?,
    Location::File(path) => {
      if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
      {
        std::fs::create_dir_all(folder).map_err(|error| {
          Error::database(format!(
            "SQLite: cannot create the folder {}: {error}",
            folder.display()
          ))
        })?;
      }
      refuse_read_only(path)?;
      Connection::open(path)?
    }
  };
  // Other processes may hold the write lock for a moment; wait rather than fail.
  connection.busy_timeout(Duration::from_secs(5))?;
  if *location != Location::Memory {
    use_wal(&connection)?;
  }
  connection.pragma_update(None, "synchronous", pragma(synchronous))?;
  // `$like` filters are case-sensitive, as in PostgreSQL (`$ilike` is the other one).
  connection.pragma_update(None, "case_sensitive_like", true)?;
  // In one write transaction, taken up front: a `create … if not exists` in autocommit reads
  // the schema and then writes, and when another module opening the same new file commits in
  // between, SQLite fails it at once ("database is locked", its busy handler is not asked).
  let schema = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
  schema.execute_batch(SCHEMA)?;
  add_user_roles(&schema)?;
  schema.commit()?;
  // From now on a busy write lock is waited for by `locked`, without holding a thread.
  connection.busy_timeout(Duration::ZERO)?;
  if let Location::File(path) = location {
    if connection.is_readonly(rusqlite::MAIN_DB)? {
      return Err(read_only(path));
    }
  }
  Ok(connection)
}

/// Switches the file to WAL mode. That takes an exclusive lock, for which SQLite asks no busy
/// handler: when another module opens the same new file at the same moment, it fails at once
/// with "database is locked". So a busy attempt is tried again, for up to `BUSY_WAIT`.
fn use_wal(connection: &Connection) -> Result<()> {
  let deadline = std::time::Instant::now() + BUSY_WAIT;
  loop {
    match connection.query_row("pragma journal_mode = wal", [], |row| {
      row.get::<_, String>(0)
    }) {
      Ok(mode) if mode == "wal" => return Ok(()),
      Ok(mode) => {
        return Err(Error::database(format!(
          "SQLite: cannot switch the database to WAL mode (it is in {mode} mode)"
        )))
      }
      Err(error) if is_busy(&error) && std::time::Instant::now() < deadline => {
        std::thread::sleep(Duration::from_millis(5));
      }
      Err(error) => return Err(error.into()),
    }
  }
}

/// SQLite opens a file it cannot write read-only, without a word, and then makes its `-shm`
/// file read-only too, which outlives a fix of the file's permissions. So a file this process
/// cannot write is refused before SQLite opens it; the store is not kept, and the next call
/// tries again (and works once the file is writable).
fn refuse_read_only(path: &std::path::Path) -> Result<()> {
  match std::fs::OpenOptions::new().write(true).open(path) {
    Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => Err(read_only(path)),
    Err(error) if error.kind() == std::io::ErrorKind::ReadOnlyFilesystem => Err(read_only(path)),
    // A missing file is created by SQLite; any other trouble SQLite reports itself.
    _ => Ok(()),
  }
}

fn read_only(path: &std::path::Path) -> Error {
  Error::database(format!(
    "SQLite: the database file {} is read-only; make it writable for this process",
    path.display()
  ))
}

/// The reader connection of a file whose schema `open_connection` has prepared.
fn open_reader(path: &std::path::Path) -> Result<Connection> {
  let connection = Connection::open(path)?;
  connection.busy_timeout(Duration::from_secs(5))?;
  connection.pragma_update(None, "query_only", true)?;
  connection.pragma_update(None, "case_sensitive_like", true)?;
  Ok(connection)
}

/// Files made before users had roles get the column.
fn add_user_roles(connection: &Connection) -> Result<()> {
  let has_roles = connection
    .prepare(r#"select 1 from pragma_table_info('user') where name = 'roles'"#)?
    .exists([])?;
  if !has_roles {
    connection.execute_batch(r#"alter table "user" add column "roles" jsonb null"#)?;
  }
  Ok(())
}

/// One durable commit of one small row: the yardstick of the benchmark's single-call target.
#[cfg(feature = "bench")]
pub fn commit_one_row(connection: &mut Connection) -> Result<()> {
  let transaction = connection.transaction()?;
  transaction.execute_batch(
    "create table if not exists bench_commit (n integer); insert into bench_commit values (1);",
  )?;
  transaction.commit()?;
  Ok(())
}

/// SQLite runs every write transaction serializable, whatever level is asked for; a stronger
/// level than requested is what the SQL standard allows. `IMMEDIATE` takes the write lock up
/// front, so the user check and the inserts see one state.
const BEGIN: &str = "begin immediate";

/// Runs `body` between `begin` (`begin_sql`) and `commit`; rolls back when anything fails.
/// `Ok(None)`: another connection holds the write lock, and nothing was done (see `locked`).
fn in_transaction<T>(
  connection: &mut Connection,
  begin_sql: &str,
  body: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<Option<T>> {
  if !begin(connection, begin_sql)? {
    return Ok(None);
  }
  let outcome = body(connection).and_then(|value| {
    connection.execute_batch("commit")?;
    Ok(value)
  });
  if outcome.is_err() && !connection.is_autocommit() {
    // The original error is the one worth reporting.
    let _ = connection.execute_batch("rollback");
  }
  outcome.map(Some)
}

/// Runs a call's work outside a caller transaction: a one-statement read as it is (it reads
/// one consistent state by itself), anything else in a transaction of its own. `Ok(None)`:
/// the write lock was busy and nothing was done.
fn perform_alone(connection: &mut Connection, call: &Call) -> Result<Option<Outcome>> {
  if call.op.is_single_read() {
    return perform(connection, call).map(Some);
  }
  in_transaction(connection, begin_sql(&call.op), |connection| {
    perform(connection, call)
  })
}

/// Begins a transaction; `false` when SQLite is busy (another connection writes).
fn begin(connection: &mut Connection, begin_sql: &str) -> Result<bool> {
  match connection.execute_batch(begin_sql) {
    Ok(()) => Ok(true),
    Err(error) if is_busy(&error) => Ok(false),
    Err(error) => Err(error.into()),
  }
}

/// SQLite's "database is locked": another connection holds the lock asked for.
fn is_busy(error: &rusqlite::Error) -> bool {
  matches!(error, rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::DatabaseBusy)
}

/// How long a write waits for another connection (another module or process) to release
/// SQLite's write lock before it fails with SQLite's "database is locked".
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// Runs `attempt` (see `blocking`) until it gets SQLite's write lock: it answers `None` when
/// the lock was busy and it did nothing. The waits between attempts are timers, not a thread
/// held in SQLite's busy handler, so calls on other stores and reads go on meanwhile.
async fn locked<T: Send + 'static>(
  connection: &Arc<Mutex<Connection>>,
  rows: usize,
  attempt: impl Fn(&mut Connection) -> Result<Option<T>> + Send + Sync + 'static,
) -> Result<T> {
  let attempt = Arc::new(attempt);
  let deadline = tokio::time::Instant::now() + BUSY_WAIT;
  let mut pause = Duration::from_millis(1);
  loop {
    let this_attempt = Arc::clone(&attempt);
    if let Some(value) =
      blocking(connection, rows, move |connection| this_attempt(connection)).await?
    {
      return Ok(value);
    }
    if tokio::time::Instant::now() >= deadline {
      return Err(Error::database("SQLite: database is locked"));
    }
    tokio::time::sleep(pause).await;
    pause = (pause * 2).min(Duration::from_millis(50));
  }
}

/// Runs `body` in a savepoint of the open transaction; on error only its writes are undone.
fn in_savepoint<T>(
  connection: &mut Connection,
  body: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
  connection.execute_batch("savepoint medusa_invites_call")?;
  match body(connection) {
    Ok(value) => {
      connection.execute_batch("release medusa_invites_call")?;
      Ok(value)
    }
    Err(error) => {
      connection.execute_batch("rollback to medusa_invites_call; release medusa_invites_call")?;
      Err(error)
    }
  }
}

/// Runs a call on the connection, inside a transaction or savepoint its caller opened.
fn perform(connection: &mut Connection, call: &Call) -> Result<Outcome> {
  run_now(lifecycle::run(&mut SqliteSession { connection }, call))
}

/// Drives a future that never waits: the SQLite session answers every statement at once, so
/// the lifecycle code (async, shared with PostgreSQL) completes in one poll.
fn run_now<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
  let mut future = std::pin::pin!(future);
  let mut context = std::task::Context::from_waker(std::task::Waker::noop());
  match future.as_mut().poll(&mut context) {
    std::task::Poll::Ready(output) => output,
    std::task::Poll::Pending => Err(Error::unexpected_state(
      "Internal error in medusa-invites: a SQLite statement waited",
    )),
  }
}

#[async_trait]
impl Store for SqliteStore {
  async fn run(&self, call: Call, _isolation: Option<IsolationLevel>) -> Result<Outcome> {
    if let (Some(reader), true) = (&self.reader, call.op.is_read()) {
      return self.read(reader, call).await;
    }
    let _writer = self.writer().await?;
    locked(&self.connection, call.op.rows(), move |connection| {
      perform_alone(connection, &call)
    })
    .await
  }

  #[cfg(any(test, feature = "bench"))]
  async fn explain_invites(&self, query: &crate::query::Query) -> Result<Vec<String>> {
    use crate::query::Dialect;
    use session::{sql_value, INVITES, INVITE_COLUMNS};
    let select = query.select(Dialect::Sqlite, &INVITES, INVITE_COLUMNS);
    let _writer = self.writer().await?;
    blocking(&self.connection, 0, move |connection| {
      let params: Vec<_> = select.params.iter().map(sql_value).collect();
      let mut statement = connection.prepare(&format!("explain query plan {}", select.sql))?;
      let plan = statement
        .query_map(rusqlite::params_from_iter(params), |row| {
          row.get::<_, String>(3)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
      Ok(plan)
    })
    .await
  }

  async fn begin(&self, _isolation: Option<IsolationLevel>) -> Result<Box<dyn Transaction>> {
    let writer = self.writer().await?;
    locked(&self.connection, 0, |connection: &mut Connection| {
      Ok(begin(connection, BEGIN)?.then_some(()))
    })
    .await?;
    self.lock.transaction_open.store(true, Ordering::Release);
    Ok(Box::new(SqliteTransaction {
      connection: Arc::clone(&self.connection),
      open: true,
      transaction_open: Arc::clone(&self.lock.transaction_open),
      _writer: writer,
    }))
  }
}

/// A caller transaction: holds the writer lock from `begin` to `commit`/`rollback`.
struct SqliteTransaction {
  connection: Arc<Mutex<Connection>>,
  open: bool,
  transaction_open: Arc<AtomicBool>,
  // Released after `Drop::drop` has rolled back an abandoned transaction.
  _writer: OwnedMutexGuard<()>,
}

impl SqliteTransaction {
  async fn finish(mut self: Box<Self>, how: End) -> Result<()> {
    let sql = how.sql();
    self.open = false;
    self.transaction_open.store(false, Ordering::Release);
    blocking(&self.connection, 0, move |connection| {
      let finished = connection.execute_batch(sql);
      if finished.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("rollback");
      }
      Ok(finished?)
    })
    .await
  }
}

#[async_trait]
impl Transaction for SqliteTransaction {
  async fn run(&mut self, call: Call) -> Result<Outcome> {
    blocking(&self.connection, call.op.rows(), move |connection| {
      in_savepoint(connection, |connection| perform(connection, &call))
    })
    .await
  }

  async fn end(self: Box<Self>, how: End) -> Result<()> {
    self.finish(how).await
  }
}

impl Drop for SqliteTransaction {
  /// A transaction dropped while open (its module closed) is rolled back.
  fn drop(&mut self) {
    self.transaction_open.store(false, Ordering::Release);
    if self.open {
      if let Ok(connection) = self.connection.lock() {
        if !connection.is_autocommit() {
          let _ = connection.execute_batch("rollback");
        }
      }
    }
  }
}
