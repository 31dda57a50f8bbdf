//! Entity ids: Medusa's `generateEntityId(prefix)`, i.e. `<prefix>_<ULID>` (docs/behaviour.md).

use ulid::Generator;

use crate::error::{Error, Result};

/// Generates ids for one call. ULIDs from one generator are strictly increasing, so ids of a
/// batch sort in input order (Medusa's default list order is `id ASC`).
pub struct IdGenerator {
  generator: Generator,
  timestamp: std::time::SystemTime,
}

impl IdGenerator {
  /// All ids of a call carry the call's `now` in their first 10 characters.
  pub fn new(now_ms: i64) -> Self {
    let millis = u64::try_from(now_ms).unwrap_or(0);
    IdGenerator {
      generator: Generator::new(),
      timestamp: std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis),
    }
  }

  pub fn next(&mut self, prefix: &str) -> Result<String> {
    let ulid = self
      .generator
      .generate_from_datetime(self.timestamp)
      .map_err(|_| {
        Error::unexpected_state("Could not generate a unique id: ULID space exhausted")
      })?;
    Ok(format!("{prefix}_{ulid}"))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn invite_ids_are_prefixed_ulids_that_encode_now_and_increase() {
    let now = 1_700_000_000_123;
    let mut ids = IdGenerator::new(now);
    let a = ids.next("invite").unwrap();
    let b = ids.next("invite").unwrap();
    assert_eq!(a.len(), 33);
    assert!(a.starts_with("invite_"));
    assert!(a[7..]
      .chars()
      .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)));
    assert!(b > a);
    let decoded = ulid::Ulid::from_string(&a[7..]).unwrap();
    assert_eq!(decoded.timestamp_ms(), now as u64);
  }
}
