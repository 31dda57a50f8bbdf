//! Medusa's metadata update on a stored object (docs/behaviour.md): shallow, `""` removes a
//! key, `null` clears the object. Nested values stay JSON text, so any depth can be updated.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};

/// A metadata object's top-level keys, in order, each with its value's JSON text. The merge is
/// shallow, so nested values are never parsed: metadata of any depth can be updated.
pub type MetadataObject = IndexMap<String, Box<RawValue>>;

pub fn parse_object(json: Option<&str>) -> Result<Option<MetadataObject>> {
  json
    .map(|json| {
      serde_json::from_str(json)
        .map_err(|_| Error::unexpected_state("Stored invite metadata is not a JSON object"))
    })
    .transpose()
}

/// Whether two metadata objects hold the same values: the texts, else the parsed values (the
/// stored text may be jsonb's rendering of the same object); too deep to parse is a change.
pub fn same_metadata(a: &Option<MetadataObject>, b: &Option<MetadataObject>) -> bool {
  let same_value = |x: &RawValue, y: &RawValue| {
    x.get() == y.get()
      || matches!(
        (serde_json::from_str::<Value>(x.get()), serde_json::from_str::<Value>(y.get())),
        (Ok(x), Ok(y)) if x == y
      )
  };
  match (a, b) {
    (None, None) => true,
    (Some(a), Some(b)) => {
      a.len() == b.len()
        && a
          .iter()
          .zip(b)
          .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
    }
    _ => false,
  }
}

/// The JSON text of a metadata object.
pub fn metadata_json(metadata: &MetadataObject) -> String {
  // Keys and raw JSON values always serialize.
  serde_json::to_string(metadata).unwrap_or_default()
}

/// Medusa's metadata update: the given keys are set on the stored object, a key set to `""`
/// is removed (the others keep their order, as a JS `delete`), and `null` clears it all
/// (docs/behaviour.md).
pub fn merge_metadata(
  stored: Option<MetadataObject>,
  given: Option<&str>,
) -> Result<Option<MetadataObject>> {
  let Some(given) = parse_object(given)? else {
    return Ok(None);
  };
  let mut merged = stored.unwrap_or_default();
  for (key, value) in given {
    if value.get() == r#""""# {
      merged.shift_remove(&key);
    } else {
      merged.insert(key, value);
    }
  }
  Ok(Some(merged))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn metadata_merges_shallowly_and_empty_strings_remove_keys() {
    let stored = parse_object(Some(r#"{"k":"v","drop":"me","a":{"b":1},"z":0}"#)).unwrap();
    let merged = merge_metadata(stored, Some(r#"{"drop":"","new":1,"a":{"c":2}}"#)).unwrap();
    // The others keep their order when a key is removed, as after a JS `delete`.
    assert_eq!(
      merged.as_ref().map(metadata_json).as_deref(),
      Some(r#"{"k":"v","a":{"c":2},"z":0,"new":1}"#)
    );
    let stored = parse_object(Some(r#"{"k":1}"#)).unwrap();
    assert!(merge_metadata(stored, None).unwrap().is_none());
  }

  #[test]
  fn metadata_of_any_depth_merges_and_compares() {
    let deep = format!("{}1{}", "{\"n\":".repeat(5_000), "}".repeat(5_000));
    let stored = parse_object(Some(&format!(r#"{{"deep":{deep},"k":1}}"#))).unwrap();
    let merged = merge_metadata(stored.clone(), Some(r#"{"k":2}"#)).unwrap();
    assert_eq!(
      merged.as_ref().map(metadata_json),
      Some(format!(r#"{{"deep":{deep},"k":2}}"#))
    );
    assert!(!same_metadata(&merged, &stored));
    let jsonb_rendering = parse_object(Some(r#"{"a": {"x": 1, "y": [1, 2]}}"#)).unwrap();
    let compact = parse_object(Some(r#"{"a":{"x":1,"y":[1,2]}}"#)).unwrap();
    assert!(same_metadata(&jsonb_rendering, &compact));
  }
}
