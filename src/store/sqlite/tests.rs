//! Unit tests of the SQLite store: its statements, and the plans `listInvites` runs.

use super::session::{find_replay, insert_invites, save_replay};
use super::*;
use crate::idempotency::Replay;
use crate::invite::Invite;
use rusqlite::OptionalExtension;

fn invite(id: &str, email: &str) -> Invite {
  Invite {
    id: id.into(),
    email: email.into(),
    accepted: false,
    token: "t".into(),
    expires_at: 2,
    metadata: None,
    created_at: 1,
    updated_at: 1,
    deleted_at: None,
    roles: Some(vec!["admin".into()]),
  }
}

fn write(connection: &mut Connection, invites: &[Invite]) -> Result<()> {
  in_transaction(connection, BEGIN, |connection| {
    insert_invites(connection, invites)
  })
  .map(|written| written.expect("one connection: never busy"))
}

fn count(connection: &Connection) -> i64 {
  connection
    .query_row(r#"select count(*) from "invite""#, [], |row| row.get(0))
    .unwrap()
}

#[test]
fn duplicates_roll_back_the_whole_batch_with_medusa_messages() {
  let mut connection = open_connection(&Location::Memory, Synchronous::Full).unwrap();
  write(&mut connection, &[invite("a", "a@x.y")]).unwrap();
  let error = write(
    &mut connection,
    &[invite("b", "b@x.y"), invite("c", "a@x.y")],
  )
  .unwrap_err();
  assert_eq!(error.message, "Invite with email: a@x.y, already exists.");
  assert_eq!(error.index, Some(1));
  let error = write(&mut connection, &[invite("a", "z@x.y")]).unwrap_err();
  assert_eq!(error.message, "Invite with id: a, already exists.");
  assert_eq!(count(&connection), 1);
}

#[test]
fn soft_deleted_invites_free_the_email_but_not_the_id() {
  let mut connection = open_connection(&Location::Memory, Synchronous::Full).unwrap();
  let mut deleted = invite("a", "a@x.y");
  deleted.deleted_at = Some(5);
  write(&mut connection, &[deleted]).unwrap();
  write(&mut connection, &[invite("b", "a@x.y")]).unwrap();
  let error = write(&mut connection, &[invite("a", "q@x.y")]).unwrap_err();
  assert_eq!(error.message, "Invite with id: a, already exists.");
}

#[test]
fn roles_are_stored_as_json() {
  let mut connection = open_connection(&Location::Memory, Synchronous::Full).unwrap();
  write(&mut connection, &[invite("a", "a@x.y")]).unwrap();
  let roles: Option<String> = connection
    .query_row(r#"select roles from "invite""#, [], |row| row.get(0))
    .optional()
    .unwrap()
    .flatten();
  assert_eq!(roles.as_deref(), Some(r#"["admin"]"#));
}

#[test]
fn files_are_wal_and_durable_by_default() {
  let dir = std::env::temp_dir().join(format!("medusa-invites-unit-{}", std::process::id()));
  let path = dir.join("sync.sqlite");
  let pragma = |connection: &Connection, name: &str| -> String {
    connection
      .query_row(&format!("pragma {name}"), [], |row| {
        row.get::<_, rusqlite::types::Value>(0)
      })
      .map(|value| match value {
        rusqlite::types::Value::Integer(n) => n.to_string(),
        rusqlite::types::Value::Text(text) => text,
        other => format!("{other:?}"),
      })
      .unwrap()
  };
  let full = open_connection(&Location::File(path.clone()), Synchronous::Full).unwrap();
  assert_eq!(pragma(&full, "journal_mode"), "wal");
  assert_eq!(pragma(&full, "synchronous"), "2");
  let normal = open_connection(&Location::File(path), Synchronous::Normal).unwrap();
  assert_eq!(pragma(&normal, "synchronous"), "1");
  drop((full, normal));
  std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_call_in_a_savepoint_leaves_the_transaction_usable() {
  let mut connection = open_connection(&Location::Memory, Synchronous::Full).unwrap();
  connection.execute_batch(BEGIN).unwrap();
  in_savepoint(&mut connection, |c| {
    insert_invites(c, &[invite("a", "a@x.y")])
  })
  .unwrap();
  let failed = in_savepoint(&mut connection, |c| {
    insert_invites(c, &[invite("b", "b@x.y"), invite("c", "a@x.y")])
  });
  assert!(failed.is_err());
  connection.execute_batch("commit").unwrap();
  assert_eq!(count(&connection), 1);
}

#[test]
fn replays_are_found_by_key_and_input_within_the_retention() {
  let connection = open_connection(&Location::Memory, Synchronous::Full).unwrap();
  let replay = |key: &str, hash: &str, now: i64| Replay {
    key: key.into(),
    input_hash: hash.into(),
    response: format!("{key}/{hash}@{now}"),
    now,
    retention_ms: 1000,
  };
  save_replay(&connection, &replay("k", "h1", 10_000)).unwrap();
  assert_eq!(
    find_replay(&connection, &replay("k", "h1", 10_500)).unwrap(),
    Some("k/h1@10000".to_string())
  );
  assert_eq!(
    find_replay(&connection, &replay("k", "h2", 10_500)).unwrap(),
    None
  );
  assert_eq!(
    find_replay(&connection, &replay("k", "h1", 11_000)).unwrap(),
    None
  );
  // Saving a new record prunes the expired ones.
  save_replay(&connection, &replay("other", "h", 20_000)).unwrap();
  let stored: i64 = connection
    .query_row(
      r#"select count(*) from "medusa_invites_idempotency""#,
      [],
      |row| row.get(0),
    )
    .unwrap();
  assert_eq!(stored, 1);
}

mod plans {
  use super::*;
  use crate::lifecycle::insert_samples;
  use crate::query::{Entity, Query};
  use serde_json::json;

  /// `listInvites` over 100,000 invites reads a page through an index, never a full scan:
  /// the plan is SQLite's own, for the exact statement the store runs.
  #[tokio::test]
  async fn a_page_of_list_invites_over_100_000_rows_uses_an_index() {
    let dir = std::env::temp_dir().join(format!("medusa-invites-plan-{}", std::process::id()));
    let path = dir.join("plan.sqlite");
    let store = SqliteStore::open(Location::File(path), Synchronous::Off)
      .await
      .unwrap();
    store.run(insert_samples(100_000), None).await.unwrap();
    // Fresh statistics, as a production database has them.
    let connection = Arc::clone(&store.connection);
    blocking(&connection, 0, |connection| {
      Ok(connection.execute_batch("analyze")?)
    })
    .await
    .unwrap();
    let plan = |filters: serde_json::Value, config: serde_json::Value| {
      let query = Query::parse(Entity::Invite, &filters, &config, false).unwrap();
      let store = &store;
      async move { store.explain_invites(&query).await.unwrap().join("\n") }
    };
    for (filters, config) in [
      (json!({}), json!({"take": 50})),
      (json!({}), json!({"take": 50, "skip": 500})),
      (json!({"id": ["invite_x", "invite_y"]}), json!({"take": 50})),
    ] {
      let text = plan(filters, config).await;
      assert!(
        text.contains("USING INDEX")
          || text.contains("USING COVERING INDEX")
          || text.contains("USING INTEGER PRIMARY KEY"),
        "{text}"
      );
      assert!(!text.lines().any(|line| line.trim() == "SCAN i"), "{text}");
    }
    let by_email = plan(json!({"email": "row7@example.com"}), json!({})).await;
    assert!(by_email.contains("IDX_invite_email_unique"), "{by_email}");
    store.close().await;
    std::fs::remove_dir_all(dir).unwrap();
  }
}
