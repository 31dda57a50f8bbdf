//! The invite as this module stores and returns it.

/// One validated `CreateInviteDTO` (docs/behaviour.md): everything the caller decides.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvite {
  pub id: Option<String>,
  pub email: String,
  pub accepted: bool,
  /// The metadata object as `JSON.stringify` wrote it, or `None` for `null`.
  pub metadata: Option<String>,
  pub roles: Option<Vec<String>>,
  pub created_at: Option<i64>,
  pub updated_at: Option<i64>,
  pub deleted_at: Option<i64>,
}

impl NewInvite {
  pub fn with_email(email: impl Into<String>) -> Self {
    NewInvite {
      id: None,
      email: email.into(),
      accepted: false,
      metadata: None,
      roles: None,
      created_at: None,
      updated_at: None,
      deleted_at: None,
    }
  }
}

/// A stored invite. Times are Unix milliseconds (what a JS `Date` holds).
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
  pub id: String,
  pub email: String,
  pub accepted: bool,
  pub token: String,
  pub expires_at: i64,
  pub metadata: Option<String>,
  pub created_at: i64,
  pub updated_at: i64,
  pub deleted_at: Option<i64>,
  pub roles: Option<Vec<String>>,
}

impl Invite {
  /// The roles as the JSON text both stores keep (`["admin"]`), or `None`.
  pub fn roles_json(&self) -> Option<String> {
    roles_json(&self.roles)
  }
}

/// One validated `CreateUserDTO` (Medusa's user fields).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
  pub id: Option<String>,
  pub email: String,
  pub first_name: Option<String>,
  pub last_name: Option<String>,
  pub avatar_url: Option<String>,
  pub metadata: Option<String>,
}

/// One `UpdateInviteDTO` item (docs/behaviour.md): `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InviteUpdate {
  /// `""` when the item has none (Medusa then reports `Invite with id "" not found`).
  pub id: String,
  pub email: Option<String>,
  pub accepted: Option<bool>,
  pub expires_at: Option<i64>,
  /// `Some(None)` clears the metadata; `Some(Some(json))` merges the object in.
  pub metadata: Option<Option<String>>,
  pub roles: Option<Option<Vec<String>>>,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
  pub id: String,
  pub email: String,
  pub first_name: Option<String>,
  pub last_name: Option<String>,
  pub avatar_url: Option<String>,
  pub metadata: Option<String>,
  pub created_at: i64,
  pub updated_at: i64,
  pub deleted_at: Option<i64>,
  /// The RBAC roles it was given (by an accepted invite); Medusa's `UserDTO.roles`.
  pub roles: Option<Vec<String>>,
}

/// Roles as the JSON text both stores keep (`["admin"]`), or `None`.
pub fn roles_json(roles: &Option<Vec<String>>) -> Option<String> {
  roles
    .as_ref()
    .map(|roles| serde_json::Value::from(roles.clone()).to_string())
}

/// `count` live invites `invite_000000`, … with emails `row0@example.com`, …, for tests.
#[cfg(test)]
pub fn sample_invites(count: usize) -> Vec<Invite> {
  (0..count)
    .map(|n| Invite {
      id: format!("invite_{n:06}"),
      email: format!("row{n}@example.com"),
      accepted: false,
      token: format!("token{n}"),
      expires_at: 2,
      metadata: None,
      created_at: 1,
      updated_at: 1,
      deleted_at: None,
      roles: None,
    })
    .collect()
}
