//! The benchmark's yardsticks (`npm run bench`): the same work without the JS boundary.

use std::sync::Arc;

use napi_derive::napi;

use super::respond;
use crate::error::Error;
use crate::invite::NewInvite;
use crate::options::ModuleOptions;
use crate::options::{Location, Synchronous};
use crate::query::{Entity, Query};
use crate::service::{CallOptions, InviteModule};
use crate::store::sqlite::{commit_one_row, open_connection};

/// The floor: `count` invites (ids, tokens, one transaction) created by a Rust loop on a
/// fresh module over `options_json`. Resolves with the nanoseconds the call took.
#[napi]
pub async fn bench_floor(options_json: String, count: u32, email_prefix: String) -> String {
  respond(async move {
    let module = Arc::new(InviteModule::new(ModuleOptions::from_json(&options_json)?));
    // opens the store outside the timing
    module
      .create_invites(
        vec![NewInvite::with_email("open@example.com")],
        CallOptions::default(),
        None,
      )
      .await?;
    let batch: Vec<NewInvite> = (0..count)
      .map(|n| NewInvite::with_email(format!("{email_prefix}{n}@example.com")))
      .collect();
    let started = std::time::Instant::now();
    module
      .create_invites(batch, CallOptions::default(), None)
      .await?;
    Ok(started.elapsed().as_nanos().to_string())
  })
  .await
}

/// The query plan of `listInvites(filters, config)` on the database of `options_json`, one
/// line per plan node, as a JSON array (the storage tests and the benchmark show it).
#[napi]
pub async fn explain_list_invites(
  options_json: String,
  filters_json: String,
  config_json: String,
) -> String {
  respond(async move {
    let module = InviteModule::new(ModuleOptions::from_json(&options_json)?);
    let parse = |json: &str| {
      serde_json::from_str::<serde_json::Value>(json)
        .map_err(|_| Error::invalid_argument("filters and config must be JSON"))
    };
    let query = Query::parse(
      Entity::Invite,
      &parse(&filters_json)?,
      &parse(&config_json)?,
      false,
    )?;
    let plan = module.explain_list_invites(&query).await;
    module.close().await;
    Ok(serde_json::Value::from(plan?).to_string())
  })
  .await
}

/// `count` durable SQLite commits of one small row each, on one connection to `path`.
/// Resolves with the nanoseconds of each commit, as a JSON array.
#[napi]
pub async fn bench_commits(path: String, count: u32) -> String {
  respond(async move {
    tokio::task::spawn_blocking(move || {
      let mut connection = open_connection(&Location::File(path.into()), Synchronous::Full)?;
      commit_one_row(&mut connection)?; // creates the table outside the timing
      let mut timings = Vec::with_capacity(count as usize);
      for _ in 0..count {
        let started = std::time::Instant::now();
        commit_one_row(&mut connection)?;
        timings.push(started.elapsed().as_nanos() as u64);
      }
      Ok(serde_json::Value::from(timings).to_string())
    })
    .await
    .map_err(|_| Error::unexpected_state("benchmark task interrupted"))?
  })
  .await
}
