//! Keeps the runtime's worker awake for a moment after each read, when calls come one at a time.
//!
//! A call mostly waits: for the runtime worker to wake up when JS submits it, for the
//! database to answer, for JS to take the result. On a virtual machine each of those wake-ups
//! can cost tens of microseconds, far more than the call's own work. So while reads come one
//! after the other (at most one call in flight), one task keeps yielding (each yield polls the
//! I/O driver without blocking) and the worker stays on its CPU: the next call or the
//! database's answer is picked up at once. After `WINDOW` without a read submitted or
//! completed, as soon as several calls are in flight (the worker has work then, and the CPU is
//! better left to the database), or while a call that writes is in flight, the task ends and
//! the worker sleeps as usual. The cost is at most one busy core, only while reads keep coming.
//! Measured A/B: validateInviteToken on PostgreSQL one at a time 4,200-7,300/s with it,
//! 3,900-4,700/s without; with 8 in flight 8,900-10,700/s without it, 6,500-9,700/s when it
//! also spun then.
//!
//! Writes do not keep it awake: a commit needs CPU on the database's side too (the WAL flush,
//! the kernel's I/O), and a busy core taken from a small machine slows it down more than the
//! wake-ups cost. On 2 vCPUs with fast storage (fsync 24 µs), 500 sequential single creates
//! on PostgreSQL reached a median 59% of a plain client's INSERT rate over 11 `bench:medusa
//! --floors` runs when writes spun too, 75% over 16 runs when they did not; validate stayed
//! at 93-116% (docs/performance.md). With a remote database the worker would spin through
//! each commit's round trip for a few microseconds saved.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::runtime;

/// How long the worker stays awake after a read's submission or completion.
const WINDOW: Duration = Duration::from_micros(1_000);

static EPOCH: OnceLock<Instant> = OnceLock::new();
/// Nanoseconds since `EPOCH` of the last submission or completion of a read.
static LAST_ACTIVITY: AtomicU64 = AtomicU64::new(0);
static SPINNING: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The calls in flight that write.
static WRITES_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

fn now_ns() -> u64 {
  EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// No reason to stay awake: no read for `WINDOW`, several calls in flight, or a write.
fn idle() -> bool {
  IN_FLIGHT.load(Ordering::Acquire) > 1
    || WRITES_IN_FLIGHT.load(Ordering::Acquire) > 0
    || now_ns().saturating_sub(LAST_ACTIVITY.load(Ordering::Acquire)) > WINDOW.as_nanos() as u64
}

/// A call was submitted; `reads_only`: it writes nothing (see `Method::reads_only`).
pub fn submitted(reads_only: bool) {
  IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
  if reads_only {
    activity();
  } else {
    WRITES_IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
  }
}

/// A call completed (`reads_only` as it was submitted).
pub fn completed(reads_only: bool) {
  IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
  if reads_only {
    activity();
  } else {
    WRITES_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
  }
}

/// Records a read's submission or completion; starts the spinning task when none runs.
fn activity() {
  LAST_ACTIVITY.fetch_max(now_ns(), Ordering::AcqRel);
  if !idle() && !SPINNING.swap(true, Ordering::AcqRel) && !runtime::spawn(spin()) {
    // The runtime is shutting down: nothing to keep awake.
    SPINNING.store(false, Ordering::Release);
  }
}

async fn spin() {
  loop {
    if idle() {
      SPINNING.store(false, Ordering::Release);
      // An activity between the check and the store would find SPINNING set and not start
      // a task: look again, and carry on if so.
      if idle() || SPINNING.swap(true, Ordering::AcqRel) {
        return;
      }
    }
    tokio::task::yield_now().await;
  }
}
