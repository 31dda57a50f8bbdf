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

/// One durable SQLite commit of one small row on `path`, in nanoseconds.
#[napi(ts_return_type = "Promise<string>")]
pub fn bench_commit(path: String) -> AsyncTask<Call> {
  AsyncTask::new(Call::new(move || {
    let mut store = SqliteStore::open(&Location::File(path.into()), Synchronous::Full)?;
    let started = std::time::Instant::now();
    store.commit_one_row()?;
    Ok(started.elapsed().as_nanos().to_string())
  }))
}
