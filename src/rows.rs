//! Rows found by id, kept in the caller's order: what every call on a list of ids shares.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::invite::{Invite, User};

pub fn unique(ids: &[String]) -> Vec<String> {
  let mut seen = HashSet::new();
  ids
    .iter()
    .filter(|id| seen.insert(id.as_str()))
    .cloned()
    .collect()
}

/// A stored row found by its id: an invite or a user.
pub trait HasId {
  fn id(&self) -> &str;
}

impl HasId for Invite {
  fn id(&self) -> &str {
    &self.id
  }
}

impl HasId for User {
  fn id(&self) -> &str {
    &self.id
  }
}

pub fn ids_of<T: HasId>(rows: &[T]) -> Vec<String> {
  rows.iter().map(|row| row.id().to_string()).collect()
}

/// Rows keyed by their ids.
pub fn keyed_by_id<T: HasId>(rows: Vec<T>) -> HashMap<String, T> {
  rows
    .into_iter()
    .map(|row| (row.id().to_string(), row))
    .collect()
}

/// The rows of `found` in the order of `ids`, each once.
pub fn in_input_order<T>(ids: &[String], mut found: HashMap<String, T>) -> Vec<T> {
  unique(ids)
    .iter()
    .filter_map(|id| found.remove(id))
    .collect()
}

/// `done`, in the order of `input`, each once.
pub fn in_order(input: &[String], done: Vec<String>) -> Vec<String> {
  let done: HashSet<String> = done.into_iter().collect();
  unique(input)
    .into_iter()
    .filter(|id| done.contains(id))
    .collect()
}

/// The ids of `ids` (each once, in order) that `found` lacks.
pub fn missing<'a, T>(ids: &'a [String], found: &HashMap<String, T>) -> Vec<&'a str> {
  let mut seen = HashSet::new();
  ids
    .iter()
    .filter(|id| seen.insert(id.as_str()) && !found.contains_key(*id))
    .map(String::as_str)
    .collect()
}

/// What an update call did to rows found by id (invites or users).
pub struct Updated<T> {
  /// The changed rows.
  pub to_save: Vec<T>,
  /// Each row once, in the order its id first appears.
  pub rows: Vec<T>,
  /// Whether each row changed (it is announced then).
  pub changed: Vec<bool>,
}

/// Applies an update call's items (`ids[i]` is item i's id) to the rows found by id, as
/// Medusa does: the last item given for an id is the one applied (earlier ones for it are
/// dropped), and each row comes back once. `apply` says whether an item changed its row.
pub fn apply_updates<T: Clone, I>(
  ids: &[String],
  live: &mut HashMap<String, T>,
  items: &[I],
  mut apply: impl FnMut(&mut T, &I) -> Result<bool>,
) -> Result<Updated<T>> {
  let mut last_item: HashMap<&str, &I> = HashMap::new();
  for (id, item) in ids.iter().zip(items) {
    last_item.insert(id.as_str(), item);
  }
  let mut rows = Vec::with_capacity(last_item.len());
  let mut changed = Vec::with_capacity(last_item.len());
  for id in unique(ids) {
    let (Some(mut row), Some(item)) = (live.remove(&id), last_item.get(id.as_str())) else {
      continue;
    };
    changed.push(apply(&mut row, item)?);
    rows.push(row);
  }
  let to_save = rows
    .iter()
    .zip(&changed)
    .filter(|(_, is_changed)| **is_changed)
    .map(|(row, _)| row.clone())
    .collect();
  Ok(Updated {
    to_save,
    rows,
    changed,
  })
}
