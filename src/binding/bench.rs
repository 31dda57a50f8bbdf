//! The benchmark's yardsticks (`npm run bench`): the same work without the JS boundary.

use std::sync::Arc;

use napi_derive::napi;

use super::respond;
use crate::error::Error;
use crate::invite::NewInvite;
use crate::options::ModuleOptions;
use crate::service::{CallOptions, InviteModule};
use crate::store::sqlite::{commit_one_row, open_connection, Location, Synchronous};

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
      )
      .await?;
    let batch: Vec<NewInvite> = (0..count)
      .map(|n| NewInvite::with_email(format!("{email_prefix}{n}@example.com")))
      .collect();
    let started = std::time::Instant::now();
    module.create_invites(batch, CallOptions::default()).await?;
    Ok(started.elapsed().as_nanos().to_string())
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
