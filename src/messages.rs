//! How caller values appear in messages: Medusa echoes ids, emails and property names in its
//! error texts, and so do we, cut short so that a huge input never comes back as a huge
//! message (or a huge log line).

/// Characters of one echoed value, at most (then `...`).
const MAX_VALUE_CHARS: usize = 254;
/// Characters of an echoed list of values, at most (then `...`).
const MAX_LIST_CHARS: usize = 4_000;

fn cut(text: &str, limit: usize) -> String {
  match text.char_indices().nth(limit) {
    Some((end, _)) => format!("{}...", &text[..end]),
    None => text.to_string(),
  }
}

/// One caller value as a message shows it.
pub fn shown(text: &str) -> String {
  cut(text, MAX_VALUE_CHARS)
}

/// Caller values joined with `, `, as Medusa lists them.
pub fn shown_list<S: AsRef<str>>(values: &[S]) -> String {
  let joined = values
    .iter()
    .map(|value| shown(value.as_ref()))
    .collect::<Vec<_>>()
    .join(", ");
  cut(&joined, MAX_LIST_CHARS)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn short_values_are_shown_whole_and_long_ones_cut() {
    assert_eq!(shown("invite_1"), "invite_1");
    let long = "é".repeat(300);
    assert_eq!(shown(&long), format!("{}...", "é".repeat(254)));
    assert_eq!(shown_list(&["a", "b"]), "a, b");
    let many: Vec<String> = (0..1_000).map(|i| format!("invite_{i:04}")).collect();
    let list = shown_list(&many);
    assert_eq!(list.chars().count(), 4_003);
    assert!(list.starts_with("invite_0000, invite_0001") && list.ends_with("..."));
  }
}
