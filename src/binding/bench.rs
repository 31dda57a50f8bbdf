//! The benchmark's yardsticks (`npm run bench`): the same work without the JS boundary.

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use super::Call;
use crate::invite::NewInvite;
use crate::options::ModuleOptions;
use crate::service::InviteModule;
use crate::store::sqlite::{Location, SqliteStore, Synchronous};

/// The floor: `count` invites (ids, tokens, one transaction) created by a Rust loop on a
/// fresh module over `options_json`. Resolves with the nanoseconds the call took.
#[napi(ts_return_type = "Promise<string>")]
pub fn bench_floor(options_json: String, count: u32, email_prefix: String) -> AsyncTask<Call> {
  AsyncTask::new(Call::new(move || {
    let module = InviteModule::new(ModuleOptions::from_json(&options_json)?);
    module.create_invites(Vec::new())?; // opens the store outside the timing
    let batch: Vec<NewInvite> = (0..count)
      .map(|n| NewInvite::with_email(format!("{email_prefix}{n}@example.com")))
      .collect();
    let started = std::time::Instant::now();
    module.create_invites(batch)?;
    Ok(started.elapsed().as_nanos().to_string())
  }))
}

/// `count` durable SQLite commits of one small row each, on one connection to `path`.
/// Resolves with the nanoseconds of each commit, as a JSON array.
#[napi(ts_return_type = "Promise<string>")]
pub fn bench_commits(path: String, count: u32) -> AsyncTask<Call> {
  AsyncTask::new(Call::new(move || {
    let mut store = SqliteStore::open(&Location::File(path.into()), Synchronous::Full)?;
    store.commit_one_row()?; // creates the table outside the timing
    let mut timings = Vec::with_capacity(count as usize);
    for _ in 0..count {
      let started = std::time::Instant::now();
      store.commit_one_row()?;
      timings.push(started.elapsed().as_nanos() as u64);
    }
    Ok(serde_json::Value::from(timings).to_string())
  }))
}
