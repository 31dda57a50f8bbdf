//! The napi edge. JS sends each call's input as one JSON text of typed snapshots
//! (`lib/wire.js`) with a call id; the work runs on tokio (statements and large signing
//! jobs off its reactor, never on the JS thread), and the result comes back through the
//! module's one completion callback as `(call id, JSON text)`: `{"ok": …}` or
//! `{"error": {"type", "message", "index"?}}`. One string each way keeps the boundary cost
//! flat however large the batch, and one long-lived threadsafe function per module avoids
//! creating one per call (which costs more than a small call's work).

pub mod bench;
mod output;
mod runtime;
mod spin;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::context::{self, IsolationLevel, INVALID_ISOLATION_LEVEL};
use crate::error::{Error, Result};
use crate::lifecycle::Op;
use crate::options::ModuleOptions;
use crate::query::{Entity, Query};
use crate::service::{cpu_work, CallOptions, InviteModule, CLOSED};
use crate::users::users_op;
use crate::validation;

/// `(call id, envelope JSON)`, called on the JS thread. Weak: it never keeps the process
/// alive by itself (the JS side holds a timer while calls are pending).
type Completion =
  ThreadsafeFunction<FnArgs<(u32, String)>, (), FnArgs<(u32, String)>, napi::Status, false, true>;

/// The native half of `UserModuleService`; `lib/service.js` wraps it.
#[napi]
pub struct NativeModule {
  module: Arc<InviteModule>,
  completion: Arc<Completion>,
}

/// One call as the JS side sends it:
/// `{"context": …, "items": [ … ], "single": bool, "transaction": id?}`.
#[derive(serde::Deserialize)]
struct CallInput {
  #[serde(default)]
  context: Value,
  items: Vec<Value>,
  /// The caller passed one object rather than an array (part of "the same input").
  #[serde(default)]
  single: bool,
  #[serde(default)]
  transaction: Option<u64>,
}

/// A call's JSON as `lib/service.js` writes it; anything else is a bug on the JS side.
fn from_js<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
  serde_json::from_str(json)
    .map_err(|error| Error::unexpected_state(format!("Malformed input from the JS layer: {error}")))
}

impl CallInput {
  /// The context's options, plus the input hash when an idempotency key asks for one.
  fn options(&self, method: &str) -> Result<CallOptions> {
    let context = context::validate(&self.context)?;
    let input_hash = context.idempotency_key.as_ref().map(|_| {
      let mut hasher = Sha256::new();
      hasher.update(method.as_bytes());
      hasher.update([0, u8::from(self.single)]);
      // Items re-serialized from their parsed form: the same input gives the same bytes.
      hasher.update(
        serde_json::to_string(&self.items)
          .unwrap_or_default()
          .as_bytes(),
      );
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

/// One lifecycle call as the JS side sends it: `{"context": …, "args": {…}, "transaction": id?}`.
#[derive(serde::Deserialize)]
struct LifecycleInput {
  #[serde(default)]
  context: Value,
  #[serde(default)]
  args: serde_json::Map<String, Value>,
  #[serde(default)]
  transaction: Option<u64>,
}

impl LifecycleInput {
  fn arg(&self, name: &str) -> &Value {
    self.args.get(name).unwrap_or(&Value::Null)
  }

  /// The token as jsonwebtoken receives it: a falsy value is "jwt must be provided" (the
  /// empty string here), any other non-string "jwt must be a string".
  fn token(&self) -> Result<String> {
    match self.arg("token") {
      Value::String(token) => Ok(token.clone()),
      Value::Null => Ok(String::new()),
      _ => Err(Error::invalid_data("jwt must be a string")),
    }
  }
}

/// Inputs up to this many bytes are parsed in place rather than on the blocking pool.
const SMALL_INPUT: usize = 16 * 1024;

#[napi]
impl NativeModule {
  /// Parses the options. A missing `jwt_secret` throws here, as Medusa's constructor does;
  /// the thrown message is the error JSON.
  #[napi(constructor)]
  pub fn new(
    options_json: String,
    on_complete: Function<FnArgs<(u32, String)>, ()>,
  ) -> napi::Result<Self> {
    let options = ModuleOptions::from_json(&options_json)
      .map_err(|error| napi::Error::from_reason(error.to_json()))?;
    runtime::init();
    let completion = on_complete
      .build_threadsafe_function()
      .callee_handled::<false>()
      .weak::<true>()
      .build()?;
    Ok(NativeModule {
      module: Arc::new(InviteModule::new(options)),
      completion: Arc::new(completion),
    })
  }

  /// Runs `work` on the runtime and reports its envelope to the completion callback. A call
  /// made after `close()` rejects without running (the check is made here, on the JS thread,
  /// so it follows the order of the calls).
  fn submit(&self, call_id: u32, work: impl Future<Output = Result<String>> + Send + 'static) {
    self.dispatch(call_id, self.module.is_closed(), work);
  }

  fn dispatch(
    &self,
    call_id: u32,
    closed: bool,
    work: impl Future<Output = Result<String>> + Send + 'static,
  ) {
    let completion = Arc::clone(&self.completion);
    let module = Arc::clone(&self.module);
    spin::submitted();
    runtime::spawn(async move {
      let outcome = if closed {
        Err(Error::unexpected_state(CLOSED))
      } else {
        caught(work).await
      };
      let envelope = envelope(outcome, module.take_retries());
      completion.call(
        FnArgs::from((call_id, envelope)),
        ThreadsafeFunctionCallMode::NonBlocking,
      );
      spin::completed();
    });
  }

  /// `createInvites(call)`.
  #[napi]
  pub fn create_invites(&self, call_id: u32, call_json: String) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      let small = call_json.len() <= SMALL_INPUT;
      let (batch, options) = cpu_work(small, move || {
        let call = from_js::<CallInput>(&call_json)?;
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
    });
  }

  /// `createUsers(call)`.
  #[napi]
  pub fn create_users(&self, call_id: u32, call_json: String) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      let call = from_js::<CallInput>(&call_json)?;
      let options = call.options("createUsers")?;
      let users = module
        .create_users(validation::users(&call.items)?, options)
        .await?;
      Ok(output::users(&users))
    });
  }

  /// The rest of the lifecycle (docs/behaviour.md): `method` is Medusa's method name; the result JSON
  /// is `output::done`'s, or one invite for `validateInviteToken`.
  #[napi]
  pub fn lifecycle(&self, call_id: u32, method: String, call_json: String) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      let input: LifecycleInput = from_js(&call_json)?;
      let call = CallOptions {
        context: context::validate(&input.context)?,
        transaction: input.transaction,
        input_hash: None,
      };
      let ids = || validation::ids(input.arg("ids"), &method);
      let list = |entity, count| -> Result<Op> {
        Ok(Op::Find(Query::parse(
          entity,
          input.arg("filters"),
          input.arg("config"),
          count,
        )?))
      };
      let done = match method.as_str() {
        "validateInviteToken" => {
          let invite = module.validate_invite_token(&input.token()?, &call).await?;
          return Ok(output::invite(&invite));
        }
        "retrieveInvite" | "retrieveUser" => {
          let entity = if method == "retrieveInvite" {
            Entity::Invite
          } else {
            Entity::User
          };
          let id = input.arg("id").as_str().filter(|id| !id.is_empty());
          module
            .retrieve(entity, id, input.arg("config"), &call)
            .await?
        }
        "refreshInviteTokens" => module.refresh_invite_tokens(ids()?, &call).await?,
        "listInvites" => {
          module
            .lifecycle(list(Entity::Invite, false)?, &call)
            .await?
        }
        "listAndCountInvites" => module.lifecycle(list(Entity::Invite, true)?, &call).await?,
        "listUsers" => module.lifecycle(list(Entity::User, false)?, &call).await?,
        "listAndCountUsers" => module.lifecycle(list(Entity::User, true)?, &call).await?,
        "updateInvites" => {
          let items = match input.arg("items") {
            Value::Array(items) => validation::invite_updates(items)?,
            _ => return Err(Error::invalid_data(validation::NOT_AN_UPDATE)),
          };
          module.update_invites(items, &call).await?
        }
        "deleteInvites" => module.delete_invites(ids()?, &call).await?,
        "softDeleteInvites" => module.soft_delete_invites(ids()?, &call).await?,
        "restoreInvites" => module.restore_invites(ids()?, &call).await?,
        "updateUsers" | "deleteUsers" | "softDeleteUsers" | "restoreUsers" => {
          module
            .lifecycle(users_op(&method, &input.args)?, &call)
            .await?
        }
        "acceptInvite" => {
          let user = validation::accepting_user(input.arg("user"))?;
          module.accept_invite(&input.token()?, user, &call).await?
        }
        _ => {
          return Err(Error::unexpected_state(format!(
            "Unknown method {method} from the JS layer"
          )))
        }
      };
      Ok(output::done(&done))
    });
  }

  /// Opens a caller transaction; completes with `{"ok": id}`.
  #[napi]
  pub fn begin(&self, call_id: u32, isolation_level: Option<String>) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      let isolation = isolation_level
        .map(|level| {
          IsolationLevel::parse(&level)
            .ok_or_else(|| Error::invalid_argument(INVALID_ISOLATION_LEVEL))
        })
        .transpose()?;
      Ok(module.begin(isolation).await?.to_string())
    });
  }

  #[napi]
  pub fn commit(&self, call_id: u32, transaction: u32) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      module.commit(u64::from(transaction)).await?;
      Ok("null".to_string())
    });
  }

  #[napi]
  pub fn rollback(&self, call_id: u32, transaction: u32) {
    let module = Arc::clone(&self.module);
    self.submit(call_id, async move {
      module.rollback(u64::from(transaction)).await?;
      Ok("null".to_string())
    });
  }

  /// Closes the database; open transactions roll back. Calls made from now on reject; a
  /// second `close()` resolves.
  #[napi]
  pub fn close(&self, call_id: u32) {
    let module = Arc::clone(&self.module);
    self.module.mark_closed();
    self.dispatch(call_id, false, async move {
      module.close().await;
      Ok("null".to_string())
    });
  }
}

/// Runs a call and wraps its outcome in the envelope (no retries to tell).
async fn respond(work: impl Future<Output = Result<String>> + Send + 'static) -> String {
  envelope(caught(work).await, 0)
}

/// Runs a call so that a panic becomes an `unexpected_state` error instead of crossing into
/// Node.
async fn caught(work: impl Future<Output = Result<String>> + Send + 'static) -> Result<String> {
  CatchUnwind(Box::pin(work)).await.unwrap_or_else(|_| {
    Err(Error::unexpected_state(
      "Internal error in medusa-invites; nothing was written",
    ))
  })
}

/// `{"ok": …}` or `{"error": …}`, with `"retried": n` last when PostgreSQL calls of this
/// module ran again since the last reply (the JS side tells the app's logger).
fn envelope(outcome: Result<String>, retried: u64) -> String {
  let retried = if retried > 0 {
    format!(",\"retried\":{retried}")
  } else {
    String::new()
  };
  match outcome {
    Ok(json) => format!("{{\"ok\":{json}{retried}}}"),
    Err(error) => format!("{{\"error\":{}{retried}}}", error.to_json()),
  }
}

/// A future that turns a panic while polling `0` into `Err`. (A separate task would do the
/// same at the price of a thread hop per call.)
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
  type Output = std::thread::Result<F::Output>;

  fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
    let inner = self.0.as_mut();
    match catch_unwind(AssertUnwindSafe(|| inner.poll(context))) {
      Ok(Poll::Pending) => Poll::Pending,
      Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
      Err(panic) => Poll::Ready(Err(panic)),
    }
  }
}
