//! The napi edge. JS sends each call's input as one JSON text of typed snapshots
//! (`lib/wire.js`) with a call id; the work runs on tokio (statements and large signing
//! jobs off its reactor, never on the JS thread), and the result comes back through the
//! module's one completion callback as `(call id, JSON text, tokens)`: `{"ok": …}` or
//! `{"error": {"type", "message", "index"?}}`, and a created batch's tokens as one text of
//! their own. A few strings each way keep the boundary cost flat however large the batch,
//! and one long-lived threadsafe function per module avoids creating one per call (which
//! costs more than a small call's work).

#[cfg(feature = "bench")]
pub mod bench;
mod call;
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

use self::call::{dispatch, CallInput, Method};
use crate::error::{Error, Result};
use crate::idempotency::Created;
use crate::messages::{self, CLOSED};
use crate::options::ModuleOptions;
use crate::service::{EarlyResult, InviteModule, Reply};

/// `(call id, envelope JSON, tokens)`, called on the JS thread. Weak: it never keeps the
/// process alive by itself (the JS side holds a timer while calls are pending).
type CompletionArgs = FnArgs<(u32, String, Option<String>)>;
type Completion = ThreadsafeFunction<CompletionArgs, (), CompletionArgs, napi::Status, false, true>;

/// The native half of `UserModuleService`; `lib/service.js` wraps it.
#[napi]
pub struct NativeModule {
  module: Arc<InviteModule>,
  completion: Arc<Completion>,
}

#[napi]
impl NativeModule {
  /// Parses the options. A missing `jwt_secret` throws here, as Medusa's constructor does;
  /// the thrown message is the error JSON.
  #[napi(constructor)]
  pub fn new(
    options_json: String,
    // Spelled out (not `CompletionArgs`): napi's type generator reads this signature.
    on_complete: Function<FnArgs<(u32, String, Option<String>)>, ()>,
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

  /// Starts one call: `method` is Medusa's method name (or `begin`, `commit`, `rollback`,
  /// `close`), `input_json` its `CallInput`. The work runs on the runtime and its envelope
  /// goes to the completion callback. A call made after `close()` rejects without running
  /// (the check is made here, on the JS thread, so it follows the order of the calls); a
  /// second `close()` resolves.
  #[napi]
  pub fn call(&self, call_id: u32, method: String, input_json: String) {
    let module = Arc::clone(&self.module);
    let method = Method::parse(&method);
    let closing = method == Ok(Method::Close);
    let refused = self.module.is_closed() && !closing;
    if closing {
      self.module.mark_closed();
    }
    let completion = Arc::clone(&self.completion);
    let large = input_json.len() >= LARGE_INPUT;
    let reads_only = method.as_ref().is_ok_and(|method| method.reads_only());
    spin::submitted(reads_only);
    runtime::spawn(async move {
      let reply = if refused {
        Err(Error::unexpected_state(CLOSED))
      } else {
        let module = Arc::clone(&module);
        // Only a createInvites call can send its result ahead: no other call pays for the sink.
        let early = (method == Ok(Method::CreateInvites))
          .then(|| early_result(Arc::clone(&completion), call_id));
        caught(async move {
          let input = CallInput::read(input_json).await?;
          dispatch(module, method?, input, early).await
        })
        .await
      };
      let (envelope, tokens) = envelope(reply, module.take_retries());
      // Counted as completed before JS can have the result: JS may make its next call at once,
      // while this thread is still in the hand-over, and must not find this one in flight.
      spin::completed(reads_only);
      completion.call(
        FnArgs::from((call_id, envelope, tokens)),
        ThreadsafeFunctionCallMode::NonBlocking,
      );
      if large {
        release_free_memory();
      }
    });
  }
}

/// Sends a createInvites result ahead of its reply: `{"early": result}` and its tokens.
fn early_result(completion: Arc<Completion>, call_id: u32) -> EarlyResult {
  Box::new(move |created: Created| {
    completion.call(
      FnArgs::from((call_id, early_envelope(created.json), Some(created.tokens))),
      ThreadsafeFunctionCallMode::NonBlocking,
    );
  })
}

/// `{"early": result}`, in the result's own buffer (`lib/native.js` knows it by its start).
fn early_envelope(mut result: String) -> String {
  result.insert_str(0, "{\"early\":");
  result.push('}');
  result
}

/// Inputs from this size (about 10,000 invites) count as large: see `release_free_memory`.
const LARGE_INPUT: usize = 512 * 1024;

/// Gives the memory a large call freed back to the system. glibc keeps freed memory in its
/// arenas (one per thread that allocated), so a process that once ran a batch of 100,000
/// invites would keep its peak size for good; `malloc_trim` returns what is free. Other C
/// libraries (musl) return large blocks themselves.
fn release_free_memory() {
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
  unsafe {
    libc::malloc_trim(0);
  }
}

/// The names of the options the native side reads: `lib/service.js` sends exactly these.
#[napi]
pub fn native_option_names() -> Vec<&'static str> {
  crate::options::OPTION_NAMES.to_vec()
}

/// Runs a call and wraps its outcome in the envelope (no retries to tell).
#[cfg(feature = "bench")]
async fn respond(work: impl Future<Output = Result<String>> + Send + 'static) -> String {
  envelope(caught(work).await.map(Reply::from), 0).0
}

/// Runs a call so that a panic becomes an `unexpected_state` error instead of crossing into
/// Node.
async fn caught<T>(work: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
  CatchUnwind(Box::pin(work))
    .await
    .unwrap_or_else(|_| Err(messages::internal_error()))
}

/// `{"ok": …}` or `{"error": …}`, then `"replayed": true` when the call replayed an earlier
/// one (idempotency key), `"events": record` and `"outbox": id` for a call that announces
/// something (see `events`), and `"retried": n` when PostgreSQL calls of this module ran again
/// since the last reply (the JS side tells the app's logger). The result is JSON already: it
/// becomes the envelope in place, never parsed and written again. Beside the envelope, the
/// result's `tokens` when it has some (createInvites, see `idempotency::Created`).
fn envelope(reply: Result<Reply>, retried: u64) -> (String, Option<String>) {
  let mut out;
  let mut tokens = None;
  match reply {
    Ok(reply) => {
      tokens = reply.tokens;
      // The result's own buffer, grown in place: a large batch's result is never held twice.
      out = reply.json;
      out.reserve(48 + reply.events.as_ref().map_or(0, String::len));
      // A result sent ahead (`early_result`) is not sent again.
      out.insert_str(
        0,
        if reply.early {
          "{\"early\":true"
        } else {
          "{\"ok\":"
        },
      );
      if reply.replayed {
        out.push_str(",\"replayed\":true");
      }
      if let Some(events) = &reply.events {
        out.push_str(",\"events\":");
        out.push_str(events);
      }
      if let Some(outbox) = reply.outbox {
        out.push_str(&format!(",\"outbox\":{outbox}"));
      }
    }
    Err(error) => {
      out = String::from("{\"error\":");
      out.push_str(&error.to_json());
    }
  }
  if retried > 0 {
    out.push_str(&format!(",\"retried\":{retried}"));
  }
  out.push('}');
  (out, tokens)
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_result_sent_ahead_is_settled_without_being_sent_again() {
    assert_eq!(
      early_envelope(r#"{"now":1,"ids":["a"]}"#.to_string()),
      r#"{"early":{"now":1,"ids":["a"]}}"#
    );
    let settled = Reply {
      early: true,
      events: Some(r#"{"events":[]}"#.to_string()),
      outbox: Some(4),
      ..Reply::from(String::new())
    };
    assert_eq!(
      envelope(Ok(settled), 0),
      (
        r#"{"early":true,"events":{"events":[]},"outbox":4}"#.to_string(),
        None
      )
    );
    let whole = Reply {
      tokens: Some("t1\nt2".to_string()),
      ..Reply::from(r#"{"ids":["a","b"]}"#.to_string())
    };
    assert_eq!(
      envelope(Ok(whole), 2),
      (
        r#"{"ok":{"ids":["a","b"]},"retried":2}"#.to_string(),
        Some("t1\nt2".to_string())
      )
    );
  }
}
