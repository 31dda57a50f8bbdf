//! New rows: the ids, tokens and times of a `createInvites` batch, and new users. CPU work
//! only; storing them is `lifecycle`'s.

use crate::error::Result;
use crate::ids::IdGenerator;
use crate::invite::{Invite, NewInvite, NewUser, User};
use crate::messages;
use crate::token::TokenSigner;

/// The invites of a call, in input order, with the call's clock readings.
pub struct CreatedInvites {
  pub now: i64,
  pub expires_at: i64,
  pub invites: Vec<Invite>,
}

/// Batches from this size are signed on several threads (HS256 costs about 2 µs a token,
/// RS256 about 1 ms; a thread costs tens of microseconds to start).
const PARALLEL_SIGNING: usize = 1_000;

/// Ids, tokens and times for a validated batch (docs/behaviour.md).
pub fn prepare_invites(
  signer: &TokenSigner,
  batch: Vec<NewInvite>,
  now: i64,
) -> Result<CreatedInvites> {
  let expires_at = signer.expires_at_ms(now);
  let mut ids = IdGenerator::new(now);
  // Ids first, in order (a ULID sequence is monotonic), then the tokens, on several threads
  // for a large batch.
  let ids = batch
    .iter()
    .map(|item| match &item.id {
      Some(id) => Ok(id.clone()),
      None => ids.next("invite"),
    })
    .collect::<Result<Vec<String>>>()?;
  let tokens = sign_all(signer, &ids, &batch, now)?;
  let mut invites = Vec::with_capacity(batch.len());
  for ((item, id), token) in batch.into_iter().zip(ids).zip(tokens) {
    invites.push(Invite {
      id,
      email: item.email,
      accepted: item.accepted,
      token,
      expires_at,
      metadata: item.metadata,
      created_at: item.created_at.unwrap_or(now),
      updated_at: item.updated_at.unwrap_or(now),
      deleted_at: item.deleted_at,
      roles: item.roles,
    });
  }
  Ok(CreatedInvites {
    now,
    expires_at,
    invites,
  })
}

/// The token of each invite, in input order; an error carries the index of its item.
fn sign_all(
  signer: &TokenSigner,
  ids: &[String],
  batch: &[NewInvite],
  now: i64,
) -> Result<Vec<String>> {
  let sign = |offset: usize, ids: &[String], items: &[NewInvite]| {
    ids
      .iter()
      .zip(items)
      .enumerate()
      .map(|(index, (id, item))| {
        signer
          .sign(id, &item.email, now)
          .map_err(|error| error.at(offset + index))
      })
      .collect::<Result<Vec<String>>>()
  };
  // Asked only for a large batch: the answer costs a score of system calls (cgroup files).
  if batch.len() < PARALLEL_SIGNING {
    return sign(0, ids, batch);
  }
  let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
  if threads < 2 {
    return sign(0, ids, batch);
  }
  let chunk = batch.len().div_ceil(threads);
  std::thread::scope(|scope| {
    let parts: Vec<_> = ids
      .chunks(chunk)
      .zip(batch.chunks(chunk))
      .enumerate()
      .map(|(part, (ids, items))| scope.spawn(move || sign(part * chunk, ids, items)))
      .collect();
    let mut tokens = Vec::with_capacity(batch.len());
    for part in parts {
      tokens.extend(part.join().map_err(|_| messages::internal_error())??);
    }
    Ok(tokens)
  })
}

/// A user to insert, created at `now`; `user_<ULID>` unless the caller gave an id.
pub fn new_user(item: NewUser, ids: &mut IdGenerator, now: i64) -> Result<User> {
  Ok(User {
    id: match item.id {
      Some(id) => id,
      None => ids.next("user")?,
    },
    email: item.email,
    first_name: item.first_name,
    last_name: item.last_name,
    avatar_url: item.avatar_url,
    metadata: item.metadata,
    created_at: now,
    updated_at: now,
    deleted_at: None,
    roles: None,
  })
}
