//! The napi edge. JS sends each call's input as one JSON text of typed snapshots
//! (`lib/wire.js`); the work runs on tokio (statements and signing on its blocking pool,
//! never on the JS thread), and the result comes back as one JSON text: `{"ok": …}` or
//! `{"error": {"type", "message", "index"?}}`. One string each way keeps the boundary cost
//! flat however large the batch.

pub mod bench;
mod output;

use std::future::Future;
use std::sync::Arc;

use napi_derive::napi;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::context::{self, IsolationLevel, INVALID_ISOLATION_LEVEL};
use crate::error::{Error, Result};
use crate::options::ModuleOptions;
use crate::service::{CallOptions, InviteModule};
use crate::validation;

/// The native half of `UserModuleService`; `lib/service.js` wraps it.
#[napi]
pub struct NativeModule {
  module: Arc<InviteModule>,
}

/// One call as the JS side sends it: `{"context": …, "items": [ … ], "transaction": id?}`.
#[derive(serde::Deserialize)]
struct CallInput {
  #[serde(default)]
  context: Value,
  items: Vec<Value>,
  #[serde(default)]
  transaction: Option<u64>,
}

impl CallInput {
  fn parse(json: &str) -> Result<Self> {
    serde_json::from_str(json).map_err(|error| {
      Error::unexpected_state(format!("Malformed input from the JS layer: {error}"))
    })
  }

  /// The context's options, plus the input hash when an idempotency key asks for one.
  fn options(&self, method: &str) -> Result<CallOptions> {
    let context = context::validate(&self.context)?;
    let input_hash = context.idempotency_key.as_ref().map(|_| {
      let mut hasher = Sha256::new();
      hasher.update(method.as_bytes());
      hasher.update([0]);
      hasher.update(Value::Array(self.items.clone()).to_string().as_bytes());
      hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
    });
    Ok(CallOptions {
      context,
      transaction: self.transaction,
      input_hash,
    })
  }
}

/// Runs CPU work (JSON parsing, validation) on the blocking pool.
async fn parse_off_thread<T: Send + 'static>(
  work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
  tokio::task::spawn_blocking(work)
    .await
    .map_err(|_| Error::unexpected_state("Internal error in medusa-invites; nothing was written"))?
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

  /// `createInvites(call)`: resolves with the envelope JSON.
  #[napi]
  pub async fn create_invites(&self, call_json: String) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      let (batch, options) = parse_off_thread(move || {
        let call = CallInput::parse(&call_json)?;
        let options = call.options("createInvites")?;
        Ok((validation::invites(&call.items)?, options))
      })
      .await?;
      let response = module.create_invites(batch, options).await?;
      // The envelope's `ok` is the response; a replay is flagged next to it.
      Ok(if response.replayed {
        format!("{},\"replayed\":true", response.json)
      } else {
        response.json
      })
    })
    .await
  }

  /// `createUsers(call)`: resolves with the envelope JSON.
  #[napi]
  pub async fn create_users(&self, call_json: String) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      let call = CallInput::parse(&call_json)?;
      let options = call.options("createUsers")?;
      let users = module
        .create_users(validation::users(&call.items)?, options)
        .await?;
      Ok(output::users(&users))
    })
    .await
  }

  /// Opens a caller transaction; resolves with `{"ok": id}`.
  #[napi]
  pub async fn begin(&self, isolation_level: Option<String>) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      let isolation = isolation_level
        .map(|level| {
          IsolationLevel::parse(&level)
            .ok_or_else(|| Error::invalid_argument(INVALID_ISOLATION_LEVEL))
        })
        .transpose()?;
      Ok(module.begin(isolation).await?.to_string())
    })
    .await
  }

  #[napi]
  pub async fn commit(&self, transaction: u32) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      module.commit(u64::from(transaction)).await?;
      Ok("null".to_string())
    })
    .await
  }

  #[napi]
  pub async fn rollback(&self, transaction: u32) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      module.rollback(u64::from(transaction)).await?;
      Ok("null".to_string())
    })
    .await
  }

  /// Closes the database; open transactions roll back.
  #[napi]
  pub async fn close(&self) -> String {
    let module = Arc::clone(&self.module);
    respond(async move {
      module.close().await;
      Ok("null".to_string())
    })
    .await
  }
}

/// Runs a call as its own task, so that a panic becomes an `unexpected_state` error instead
/// of crossing into Node, and wraps the outcome in the envelope.
async fn respond(work: impl Future<Output = Result<String>> + Send + 'static) -> String {
  let outcome = tokio::spawn(work).await.unwrap_or_else(|_| {
    Err(Error::unexpected_state(
      "Internal error in medusa-invites; nothing was written",
    ))
  });
  match outcome {
    Ok(json) => format!("{{\"ok\":{json}}}"),
    Err(error) => format!("{{\"error\":{}}}", error.to_json()),
  }
}
