//! The napi edge. JS sends each call's input as one JSON text of typed snapshots
//! (`lib/wire.js`), the work runs on a libuv worker thread, and the result comes back as
//! one JSON text: `{"ok": …}` or `{"error": {"type", "message", "index"?}}`. One string
//! each way keeps the boundary cost flat however large the batch.

pub mod bench;
mod output;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use serde_json::Value;

use crate::context;
use crate::error::{Error, Result};
use crate::options::ModuleOptions;
use crate::service::InviteModule;
use crate::validation;

/// The native half of `UserModuleService`; `index.js` wraps it.
#[napi]
pub struct NativeModule {
  module: Arc<InviteModule>,
}

#[napi]
impl NativeModule {
  /// Parses the options. A missing `jwt_secret` throws here, as Medusa's constructor does;
  /// the thrown message is the error JSON.
  #[napi(constructor)]
  pub fn new(options_json: String) -> napi::Result<Self> {
    let options = ModuleOptions::from_json(&options_json)
      .map_err(|error| napi::Error::from_reason(error.to_json()))?;
    Ok(NativeModule {
      module: Arc::new(InviteModule::new(options)),
    })
  }

  /// `createInvites(batch)`: resolves with the envelope JSON.
  #[napi(ts_return_type = "Promise<string>")]
  pub fn create_invites(&self, batch_json: String) -> AsyncTask<Call> {
    let module = Arc::clone(&self.module);
    AsyncTask::new(Call::new(move || {
      let call = parse_call(&batch_json)?;
      context::validate(&call.context)?;
      let batch = validation::invites(&call.items)?;
      drop(call);
      let created = module.create_invites(batch)?;
      Ok(output::created_invites(&created))
    }))
  }

  /// `createUsers(batch)`: resolves with the envelope JSON.
  #[napi(ts_return_type = "Promise<string>")]
  pub fn create_users(&self, batch_json: String) -> AsyncTask<Call> {
    let module = Arc::clone(&self.module);
    AsyncTask::new(Call::new(move || {
      let call = parse_call(&batch_json)?;
      context::validate(&call.context)?;
      let users = module.create_users(validation::users(&call.items)?)?;
      Ok(output::users(&users))
    }))
  }

  /// Closes the database (on a worker thread, since it may checkpoint the WAL).
  #[napi(ts_return_type = "Promise<string>")]
  pub fn close(&self) -> AsyncTask<Call> {
    let module = Arc::clone(&self.module);
    AsyncTask::new(Call::new(move || {
      module.close();
      Ok("null".to_string())
    }))
  }
}

/// One call as the JS side sends it: `{"context": …, "items": [ … ]}`.
#[derive(serde::Deserialize)]
struct CallInput {
  #[serde(default)]
  context: Value,
  items: Vec<Value>,
}

fn parse_call(json: &str) -> Result<CallInput> {
  serde_json::from_str(json)
    .map_err(|error| Error::unexpected_state(format!("Malformed input from the JS layer: {error}")))
}

/// One unit of work for the libuv thread pool. Its result is always an envelope, so domain
/// errors never turn into napi errors, and a panic becomes an `unexpected_state` error
/// instead of crossing into Node.
pub struct Call {
  work: Option<Box<dyn FnOnce() -> Result<String> + Send>>,
}

impl Call {
  fn new(work: impl FnOnce() -> Result<String> + Send + 'static) -> Self {
    Call {
      work: Some(Box::new(work)),
    }
  }
}

impl Task for Call {
  type Output = String;
  type JsValue = String;

  fn compute(&mut self) -> napi::Result<String> {
    let Some(work) = self.work.take() else {
      return Ok(envelope(Err(Error::unexpected_state("The call ran twice"))));
    };
    let outcome = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
      Err(Error::unexpected_state(
        "Internal error in medusa-invites; nothing was written",
      ))
    });
    Ok(envelope(outcome))
  }

  fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
    Ok(output)
  }
}

fn envelope(outcome: Result<String>) -> String {
  match outcome {
    Ok(json) => format!("{{\"ok\":{json}}}"),
    Err(error) => format!("{{\"error\":{}}}", error.to_json()),
  }
}
