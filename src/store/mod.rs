//! Storage: one trait, one file per backend (spec §7).

pub mod sqlite;

use crate::error::Result;
use crate::invite::{Invite, User};

/// What the module needs from a database. Each method is one transaction: all or nothing.
pub trait Store: Send {
  /// Inserts a batch of invites. Inside the same transaction it first refuses emails held by
  /// live users (`User account for following email(s) already exist: …`, emails in input
  /// order), then lets the unique indexes decide duplicates of emails (live invites) and ids
  /// (any invite), mapped to Medusa's messages with the index of the failing item.
  fn insert_invites(&mut self, invites: &[Invite]) -> Result<()>;

  /// Inserts a batch of users; a live user's email is `User with email: <email>, already exists.`
  fn insert_users(&mut self, users: &[User]) -> Result<()>;
}

/// Medusa's message when emails belong to live users (spec §4).
pub fn existing_users_message(emails: &[&str]) -> String {
  format!(
    "User account for following email(s) already exist: {}",
    emails.join(", ")
  )
}
