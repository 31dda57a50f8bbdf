//! Keeps the runtime's worker awake for a moment after each call.
//!
//! A call mostly waits: for the runtime worker to wake up when JS submits it, for the
//! database to answer, for JS to take the result. On a virtual machine each of those wake-ups
//! can cost tens of microseconds, far more than the call's own work. So while calls are
//! flowing, one task keeps yielding (each yield polls the I/O driver without blocking), and
//! the worker stays on its CPU: a new call or a database answer is picked up at once. After
//! `WINDOW` without a submission or a completion, the task ends and the worker sleeps as usual.
//! The cost is at most one busy core, and only while calls keep coming.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the worker stays awake after the last submission or completion.
const WINDOW: Duration = Duration::from_micros(1_000);

static EPOCH: OnceLock<Instant> = OnceLock::new();
/// Nanoseconds since `EPOCH` of the last submission or completion.
static LAST_ACTIVITY: AtomicU64 = AtomicU64::new(0);
static SPINNING: AtomicBool = AtomicBool::new(false);

fn now_ns() -> u64 {
  EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn quiet() -> bool {
  now_ns().saturating_sub(LAST_ACTIVITY.load(Ordering::Acquire)) > WINDOW.as_nanos() as u64
}

/// Records a submission or a completion; starts the spinning task when none runs.
pub fn activity() {
  LAST_ACTIVITY.fetch_max(now_ns(), Ordering::AcqRel);
  if !SPINNING.swap(true, Ordering::AcqRel) {
    napi::bindgen_prelude::spawn(spin());
  }
}

async fn spin() {
  loop {
    if quiet() {
      SPINNING.store(false, Ordering::Release);
      // An activity between the check and the store would find SPINNING set and not start
      // a task: look again, and carry on if so.
      if quiet() || SPINNING.swap(true, Ordering::AcqRel) {
        return;
      }
    }
    tokio::task::yield_now().await;
  }
}
