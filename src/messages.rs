//! Medusa's message texts, written once: what the tests assert and what callers match on
//! (docs/errors.md). Input validation (`validation`), query parsing (`query`) and token
//! verification (`verify`, jsonwebtoken's texts) keep theirs beside their checks.
//!
//! Caller values appear in messages as Medusa echoes ids, emails and property names, cut
//! short so that a huge input never comes back as a huge message (or a huge log line).

use crate::error::{Error, ErrorKind};

/// `validateInviteToken` / `acceptInvite`: the token is not the invite's current one.
pub const TOKEN_INVALID: &str = "The invite token is invalid";
/// `validateInviteToken` / `acceptInvite`: the invite's `expires_at` has passed.
pub const INVITE_EXPIRED: &str = "The invite has expired";
/// A call after `close()`.
pub const CLOSED: &str = "The invite module is closed; create a new UserModuleService";
/// A call, commit or rollback on a transaction that has ended.
pub const TRANSACTION_ENDED: &str = "The transaction has already been committed or rolled back";
/// A call, or the commit, after a call failed inside a transaction.
pub const TRANSACTION_FAILED: &str = "The transaction was rolled back: a call inside it failed. Pass enableNestedTransactions: true to let a call fail without ending the transaction";

/// A bug (a panic, a lost task), never data: the call wrote nothing.
pub fn internal_error() -> Error {
  Error::unexpected_state("Internal error in medusa-invites; nothing was written")
}

/// A unique index refused a row: `Invite with email: a@b.c, already exists.` (`entity` is
/// `Invite` or `User`, `column` is `id` or `email`).
pub fn already_exists(entity: &str, column: &str, value: &str) -> Error {
  Error::invalid_data(format!("{entity} with {column}: {value}, already exists."))
}

/// `createInvites` for emails that live users hold, in input order, each once.
pub fn users_exist(emails: &[&str]) -> Error {
  Error::invalid_data(format!(
    "User account for following email(s) already exist: {}",
    emails.join(", ")
  ))
}

/// `retrieve*`, `validateInviteToken`, `acceptInvite`: no live row with this id.
pub fn not_found(entity: &str, id: &str) -> Error {
  Error::new(
    ErrorKind::NotFound,
    format!("{entity} with id: {} was not found", shown(id)),
  )
}

/// `update*`: ids with no live row.
pub fn ids_not_found(entity: &str, ids: &[&str]) -> Error {
  Error::new(
    ErrorKind::NotFound,
    format!("{entity} with id \"{}\" not found", shown_list(ids)),
  )
}

/// `retrieve*` without an id, or a token without one (`noun` is `invite` or `user`).
pub fn id_must_be_defined(noun: &str) -> Error {
  Error::new(ErrorKind::NotFound, format!("{noun} - id must be defined"))
}

/// `refreshInviteTokens` for ids with no live invite.
pub fn invites_do_not_exist(ids: &[&str]) -> Error {
  Error::invalid_data(format!(
    "The following invites do not exist: {}",
    shown_list(ids)
  ))
}

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
