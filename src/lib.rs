//! medusa-invites: Medusa's invite lifecycle (`createInvites` and the rest) as a native addon. The domain is plain Rust;
//! `binding` is the only napi code.

pub mod context;
pub mod create;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod invite;
pub mod lifecycle;
pub mod messages;
pub mod metadata;
pub mod options;
pub mod query;
pub mod rows;
pub mod service;
pub mod session;
pub mod store;
pub mod stored;
pub mod timespan;
pub mod token;
pub mod transactions;
pub mod users;
pub mod validation;
pub mod verify;
pub mod wire;

pub mod binding;

/// One runtime worker. A call's own work is a few microseconds of CPU between waits (the
/// statements, the completion callback); what costs is waking threads, which on a small or
/// busy machine takes tens of microseconds each. With one worker the call, its PostgreSQL
/// connection task and its completion run on the same thread; CPU-heavy work (signing a
/// large batch, a large SQLite write) still goes to the blocking pool, in parallel.
#[napi_derive::module_init]
fn init() {
  if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
    .worker_threads(1)
    .thread_name("medusa-invites")
    .enable_all()
    .build()
  {
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
  }
}
