//! Result JSON of the user calls, for the JS side, which builds the DTOs from it.

use serde::Serialize;

use crate::invite::User;

/// Users in Medusa's DTO key order; `metadata` stays JSON text for the JS side to parse.
pub fn users(users: &[User]) -> String {
  #[derive(Serialize)]
  struct Out<'a> {
    id: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    email: &'a str,
    avatar_url: Option<&'a str>,
    metadata: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
  }
  let out: Vec<Out> = users
    .iter()
    .map(|user| Out {
      id: &user.id,
      first_name: user.first_name.as_deref(),
      last_name: user.last_name.as_deref(),
      email: &user.email,
      avatar_url: user.avatar_url.as_deref(),
      metadata: user.metadata.as_deref(),
      created_at: user.created_at,
      updated_at: user.updated_at,
      deleted_at: user.deleted_at,
    })
    .collect();
  to_json(&out)
}

fn to_json(value: &impl Serialize) -> String {
  // Structs of strings and integers always serialize.
  serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
