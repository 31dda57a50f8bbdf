//! Spawning on napi's tokio runtime without ever panicking.
//!
//! `napi::bindgen_prelude::spawn` panics ("Access tokio runtime failed in spawn") once napi
//! has taken its runtime down at process exit, and a task still finishing then (a completion,
//! the spin task) would print that panic on stderr. So the module keeps a handle to the
//! runtime, taken while it surely runs (in the constructor, on the JS thread), and spawns
//! through it: on a runtime that is shutting down, tokio drops the task instead of panicking.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;

static HANDLE: OnceLock<Handle> = OnceLock::new();

/// Takes the handle of napi's runtime; call it where the runtime is alive (a constructor).
pub fn init() {
  HANDLE.get_or_init(|| napi::bindgen_prelude::within_runtime_if_available(Handle::current));
}

/// Spawns `future`; `false` when there is no runtime to run it (never initialized). A runtime
/// that is shutting down accepts the task and drops it.
pub fn spawn(future: impl Future<Output = ()> + Send + 'static) -> bool {
  match HANDLE.get() {
    Some(handle) => {
      drop(handle.spawn(future));
      true
    }
    None => false,
  }
}
