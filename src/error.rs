//! The one error type of the crate. It carries a Medusa error type, a message, and the
//! batch index of the failing item where that is known (docs/errors.md). It becomes a JS
//! `MedusaError` once, at the binding.

use serde::Serialize;

/// Medusa's `MedusaError.Types` used by this module (docs/errors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
  InvalidData,
  InvalidArgument,
  NotFound,
  UnexpectedState,
  DatabaseError,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct Error {
  #[serde(rename = "type")]
  pub kind: ErrorKind,
  pub message: String,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub index: Option<usize>,
  /// The database gave up for a reason that a retry of the whole transaction can cure
  /// (a serialization failure, a deadlock). Not part of what callers see.
  #[serde(skip)]
  pub transient: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
  pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
    Error {
      kind,
      message: message.into(),
      index: None,
      transient: false,
    }
  }

  pub fn invalid_data(message: impl Into<String>) -> Self {
    Self::new(ErrorKind::InvalidData, message)
  }

  pub fn invalid_argument(message: impl Into<String>) -> Self {
    Self::new(ErrorKind::InvalidArgument, message)
  }

  pub fn unexpected_state(message: impl Into<String>) -> Self {
    Self::new(ErrorKind::UnexpectedState, message)
  }

  pub fn database(message: impl Into<String>) -> Self {
    Self::new(ErrorKind::DatabaseError, message)
  }

  /// Attaches the batch index of the item that failed.
  pub fn at(mut self, index: usize) -> Self {
    self.index = Some(index);
    self
  }

  /// The error as the JSON the JS side turns into a `MedusaError`.
  pub fn to_json(&self) -> String {
    serde_json::to_string(self).unwrap_or_else(|_| {
      // Serializing a struct of strings cannot fail; keep a safe fallback anyway.
      r#"{"type":"unexpected_state","message":"error could not be encoded"}"#.to_string()
    })
  }
}

impl From<rusqlite::Error> for Error {
  fn from(error: rusqlite::Error) -> Self {
    // rusqlite messages name tables, columns and SQLite codes, never bound values, so no
    // token or secret can reach the text.
    Error::database(format!("SQLite: {error}"))
  }
}
