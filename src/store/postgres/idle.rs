//! Which pooled connections a call takes, and when idle ones are closed.
//!
//! The pool hands out the connection returned last (LIFO, not deadpool's default FIFO): calls
//! that come one at a time then keep to one connection, whose server process and statement
//! cache are warm. Taken in turn, as FIFO does once a burst has opened the whole pool, each
//! call met a server process that had slept through the others' calls: 500 sequential
//! `validateInviteToken` after 100 concurrent creates, medians of six runs of five rounds each,
//! ran at 4,400–6,100 a second taking connections in turn, 6,200–7,000 taking the one returned
//! last (docs/performance.md). So the connections below the top can stay unused for long: as
//! Medusa's own pool (knex, 30 s), those idle for longer than `IDLE_LIMIT` are closed, all but
//! the one used last.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Metrics, Pool};

/// Connections unused for longer than this are closed (all but the one used last).
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// How often taking a connection looks for idle ones (each look locks the pool's slots).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Closes the pool's idle connections, looking at most once per `CHECK_EVERY`.
pub(super) struct IdleConnections {
  since: Instant,
  /// Milliseconds after `since` before which no look is taken.
  next_check_ms: AtomicU64,
}

impl IdleConnections {
  pub(super) fn new() -> Self {
    IdleConnections {
      since: Instant::now(),
      next_check_ms: AtomicU64::new(0),
    }
  }

  /// Called before a connection is taken: closes those idle beyond `IDLE_LIMIT` (never the one
  /// used last), if the last look is older than `CHECK_EVERY`.
  pub(super) fn close(&self, pool: &Pool) {
    let now = Instant::now();
    let now_ms = now.duration_since(self.since).as_millis() as u64;
    let next = self.next_check_ms.load(Ordering::Relaxed);
    if now_ms < next
      || self
        .next_check_ms
        .compare_exchange(
          next,
          now_ms + CHECK_EVERY.as_millis() as u64,
          Ordering::Relaxed,
          Ordering::Relaxed,
        )
        .is_err()
    {
      return;
    }
    // A first pass only reads (deadpool shows an idle connection's metrics to `retain` only):
    // the last use of any pooled connection.
    let mut newest = None;
    pool.retain(|_, metrics| {
      newest = newest.max(Some(last_use(metrics)));
      true
    });
    if let Some(newest) = newest {
      pool.retain(|_, metrics| keep(last_use(metrics), newest, now));
    }
  }
}

/// When a call last took the connection (`recycled`), or its creation. deadpool's
/// `Metrics::last_used` gives the time since then, measured anew at each call: the two passes
/// above compare instants, which stay put.
fn last_use(metrics: Metrics) -> Instant {
  metrics.recycled.unwrap_or(metrics.created)
}

/// Whether a pooled connection last used at `used` stays open at `now`, `newest` being the
/// last use of any pooled connection.
fn keep(used: Instant, newest: Instant, now: Instant) -> bool {
  used >= newest || now.saturating_duration_since(used) <= IDLE_LIMIT
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn idle_connections_close_but_the_one_used_last() {
    let now = Instant::now() + Duration::from_secs(3_600);
    let ago = |seconds| now - Duration::from_secs(seconds);
    // the one used last stays, however long ago
    assert!(keep(ago(600), ago(600), now));
    // others stay while they have been idle for at most IDLE_LIMIT
    assert!(keep(ago(29), ago(1), now));
    assert!(keep(ago(30), ago(1), now));
    assert!(!keep(ago(31), ago(1), now));
    assert!(!keep(ago(600), ago(300), now));
  }
}
