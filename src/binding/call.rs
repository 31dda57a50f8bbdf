//! One call from the JS side: `call(id, method, input JSON)`. The input is one `CallInput`
//! for every method; `dispatch` reads what its method needs and runs it on the module.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::output;
use crate::context::{self, IsolationLevel, INVALID_ISOLATION_LEVEL};
use crate::error::{Error, Result};
use crate::idempotency::InputHash;
use crate::lifecycle::EventsMode;
use crate::query::{Entity, Query};
use crate::service::{cpu_work, CallOptions, EarlyResult, InviteModule, Reply};
use crate::validation;
use crate::wire::{self, RawItems};

/// Medusa's methods (and the transaction and outbox calls), as `lib/service.js` names them
/// (`METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
  CreateInvites,
  CreateUsers,
  ValidateInviteToken,
  RefreshInviteTokens,
  RetrieveInvite,
  ListInvites,
  ListAndCountInvites,
  UpdateInvites,
  DeleteInvites,
  SoftDeleteInvites,
  RestoreInvites,
  AcceptInvite,
  RetrieveUser,
  ListUsers,
  ListAndCountUsers,
  UpdateUsers,
  DeleteUsers,
  SoftDeleteUsers,
  RestoreUsers,
  ClaimEvents,
  ListPendingEvents,
  MarkEventsDelivered,
  Begin,
  Commit,
  Rollback,
  Close,
}

/// Each method by its name: the one list both directions read.
const METHODS: [(&str, Method); 26] = [
  ("createInvites", Method::CreateInvites),
  ("createUsers", Method::CreateUsers),
  ("validateInviteToken", Method::ValidateInviteToken),
  ("refreshInviteTokens", Method::RefreshInviteTokens),
  ("retrieveInvite", Method::RetrieveInvite),
  ("listInvites", Method::ListInvites),
  ("listAndCountInvites", Method::ListAndCountInvites),
  ("updateInvites", Method::UpdateInvites),
  ("deleteInvites", Method::DeleteInvites),
  ("softDeleteInvites", Method::SoftDeleteInvites),
  ("restoreInvites", Method::RestoreInvites),
  ("acceptInvite", Method::AcceptInvite),
  ("retrieveUser", Method::RetrieveUser),
  ("listUsers", Method::ListUsers),
  ("listAndCountUsers", Method::ListAndCountUsers),
  ("updateUsers", Method::UpdateUsers),
  ("deleteUsers", Method::DeleteUsers),
  ("softDeleteUsers", Method::SoftDeleteUsers),
  ("restoreUsers", Method::RestoreUsers),
  ("claimEvents", Method::ClaimEvents),
  ("listPendingEvents", Method::ListPendingEvents),
  ("markEventsDelivered", Method::MarkEventsDelivered),
  ("begin", Method::Begin),
  ("commit", Method::Commit),
  ("rollback", Method::Rollback),
  ("close", Method::Close),
];

impl Method {
  pub fn parse(name: &str) -> Result<Method> {
    METHODS
      .iter()
      .find(|(known, _)| *known == name)
      .map(|(_, method)| *method)
      .ok_or_else(|| Error::unexpected_state(format!("Unknown method {name} from the JS layer")))
  }

  /// A method that only reads: the runtime's worker stays awake around it (see `spin`).
  pub fn reads_only(self) -> bool {
    matches!(
      self,
      Method::ValidateInviteToken
        | Method::RetrieveInvite
        | Method::ListInvites
        | Method::ListAndCountInvites
        | Method::RetrieveUser
        | Method::ListUsers
        | Method::ListAndCountUsers
        | Method::ListPendingEvents
    )
  }

  /// The name as Medusa's messages and the idempotency hash use it.
  fn name(self) -> &'static str {
    METHODS
      .iter()
      .find(|(_, method)| *method == self)
      .map_or("", |(name, _)| name)
  }
}

/// One call as the JS side sends it: `{"context": …, "transaction": id?, "events": mode?,
/// "single": bool?, "items": […]?, "args": {…}?}`. `items` are a create call's batch
/// (`single`: the caller passed one object, not an array); `args` hold any other method's
/// arguments by name. `events`: `"direct"` when someone listens, `"outbox"` when the record
/// is also to be stored in the outbox.
#[derive(serde::Deserialize, Default)]
pub struct CallInput {
  #[serde(default)]
  context: Value,
  #[serde(default)]
  transaction: Option<u64>,
  #[serde(default)]
  events: Option<String>,
  #[serde(default)]
  single: bool,
  #[serde(default)]
  items: RawItems,
  #[serde(default)]
  args: Map<String, Value>,
}

/// Inputs up to this many bytes are parsed in place rather than on the blocking pool.
const SMALL_INPUT: usize = 16 * 1024;

impl CallInput {
  /// Parses a call's JSON (on the blocking pool when it is large); JSON other than what
  /// `lib/service.js` writes is a bug on the JS side.
  pub async fn read(json: String) -> Result<CallInput> {
    let small = json.len() <= SMALL_INPUT;
    cpu_work(small, move || wire::parse(&json)).await
  }

  fn arg(&self, name: &str) -> &Value {
    self.args.get(name).unwrap_or(&Value::Null)
  }

  /// The token as jsonwebtoken receives it: a falsy value is "jwt must be provided" (the
  /// empty string here), any other non-string "jwt must be a string".
  fn token(&self) -> Result<String> {
    match self.arg("token") {
      Value::String(token) => Ok(token.clone()),
      Value::Null => Ok(String::new()),
      _ => Err(Error::invalid_data("jwt must be a string")),
    }
  }

  fn ids(&self, method: Method) -> Result<Vec<String>> {
    validation::ids(self.arg("ids"), method.name())
  }

  fn query(&self, entity: Entity, count: bool) -> Result<Query> {
    Query::parse(entity, self.arg("filters"), self.arg("config"), count)
  }

  /// The update items (`args.items`, an array), or `not_an_update`.
  fn updates(&self, not_an_update: &str) -> Result<&Vec<Value>> {
    match self.arg("items") {
      Value::Array(items) => Ok(items),
      _ => Err(Error::invalid_data(not_an_update)),
    }
  }

  /// How the call runs (its input hash, when an idempotency key asks for one, is taken as
  /// the batch is validated: see `dispatch`).
  fn options(&self) -> Result<CallOptions> {
    let context = context::validate(&self.context)?;
    let events = match self.events.as_deref() {
      None => EventsMode::Ignore,
      Some("direct") => EventsMode::Return,
      Some("outbox") => EventsMode::Store,
      Some(other) => {
        return Err(Error::unexpected_state(format!(
          "Unknown events mode {other} from the JS layer"
        )))
      }
    };
    Ok(CallOptions {
      context,
      transaction: self.transaction,
      input_hash: None,
      events,
    })
  }
}

/// createInvites batches of these sizes send their result ahead (`EarlyResult`): JS builds
/// their DTOs while the invites are written. Below, the DTOs take less time than the extra
/// message to JS; above, DTOs built while the write still holds its rows would raise the
/// peak memory (by 27 MB for 100,000 invites, measured).
const EARLY_RESULT_SIZES: std::ops::RangeInclusive<usize> = 1_000..=20_000;

/// Runs one call; resolves with its result JSON. `early`: where a createInvites batch of
/// `EARLY_RESULT_SIZES` sends its result ahead (given for createInvites only).
pub async fn dispatch(
  module: Arc<InviteModule>,
  method: Method,
  input: CallInput,
  early: Option<EarlyResult>,
) -> Result<Reply> {
  let mut call = input.options()?;
  let outcome = match method {
    Method::CreateInvites => {
      // A batch's items are checked, and hashed for an idempotency key, on the blocking pool
      // when many (see `cpu_work`).
      let small = input.items.len() <= 64;
      let early = early.filter(|_| EARLY_RESULT_SIZES.contains(&input.items.len()));
      let keyed = call.context.idempotency_key.is_some();
      let (batch, input_hash) = cpu_work(small, move || {
        let mut hash = keyed.then(|| InputHash::new(method.name(), input.single));
        let batch = validation::invites(&input.items, |item| {
          if let Some(hash) = &mut hash {
            hash.item(item);
          }
        })?;
        Ok((batch, hash.map(InputHash::finish)))
      })
      .await?;
      call.input_hash = input_hash;
      return module.create_invites(batch, call, early).await;
    }
    Method::CreateUsers => {
      module
        .create_users(validation::users(&input.items)?, call)
        .await?
    }
    Method::ValidateInviteToken => {
      let invite = module.validate_invite_token(&input.token()?, &call).await?;
      return Ok(output::invite(&invite).into());
    }
    Method::RetrieveInvite | Method::RetrieveUser => {
      let entity = match method {
        Method::RetrieveInvite => Entity::Invite,
        _ => Entity::User,
      };
      let id = input.arg("id").as_str().filter(|id| !id.is_empty());
      module
        .retrieve(entity, id, input.arg("config"), &call)
        .await?
    }
    Method::ListInvites => {
      module
        .find(input.query(Entity::Invite, false)?, &call)
        .await?
    }
    Method::ListAndCountInvites => {
      module
        .find(input.query(Entity::Invite, true)?, &call)
        .await?
    }
    Method::ListUsers => {
      module
        .find(input.query(Entity::User, false)?, &call)
        .await?
    }
    Method::ListAndCountUsers => module.find(input.query(Entity::User, true)?, &call).await?,
    Method::RefreshInviteTokens => {
      module
        .refresh_invite_tokens(input.ids(method)?, &call)
        .await?
    }
    Method::UpdateInvites => {
      let items = validation::invite_updates(input.updates(validation::NOT_AN_UPDATE)?)?;
      module.update_invites(items, &call).await?
    }
    Method::DeleteInvites => module.delete_invites(input.ids(method)?, &call).await?,
    Method::SoftDeleteInvites => {
      module
        .soft_delete_invites(input.ids(method)?, &call)
        .await?
    }
    Method::RestoreInvites => module.restore_invites(input.ids(method)?, &call).await?,
    Method::AcceptInvite => {
      let user = validation::accepting_user(input.arg("user"))?;
      module.accept_invite(&input.token()?, user, &call).await?
    }
    Method::UpdateUsers => {
      let items = validation::user_updates(input.updates(validation::NOT_A_USER_UPDATE)?)?;
      module.update_users(items, &call).await?
    }
    Method::DeleteUsers => module.delete_users(input.ids(method)?, &call).await?,
    Method::SoftDeleteUsers => module.soft_delete_users(input.ids(method)?, &call).await?,
    Method::RestoreUsers => module.restore_users(input.ids(method)?, &call).await?,
    Method::ClaimEvents | Method::ListPendingEvents => {
      let claim = method == Method::ClaimEvents;
      let before = input.arg("before").as_i64();
      let limit = input.arg("limit").as_u64().unwrap_or(100).clamp(1, 10_000) as usize;
      module.pending_events(before, limit, claim, &call).await?
    }
    Method::MarkEventsDelivered => {
      let ids = match input.arg("ids") {
        Value::Array(ids) => ids.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
      };
      module.mark_delivered(ids, &call).await?
    }
    Method::Begin | Method::Commit | Method::Rollback | Method::Close => {
      return transaction_call(&module, method, &input).await
    }
  };
  Ok(Reply::with_events(output::done(&outcome.done), outcome))
}

/// `begin` (`args.isolationLevel`), `commit` and `rollback` (`transaction`), `close`.
async fn transaction_call(
  module: &InviteModule,
  method: Method,
  input: &CallInput,
) -> Result<Reply> {
  let transaction = || {
    input
      .transaction
      .ok_or_else(|| Error::invalid_argument("transaction id missing"))
  };
  let json = match method {
    Method::Begin => {
      let isolation = match input.arg("isolationLevel") {
        Value::Null => None,
        Value::String(level) => Some(
          IsolationLevel::parse(level)
            .ok_or_else(|| Error::invalid_argument(INVALID_ISOLATION_LEVEL))?,
        ),
        _ => return Err(Error::invalid_argument(INVALID_ISOLATION_LEVEL)),
      };
      module.begin(isolation).await?.to_string()
    }
    Method::Commit => {
      module.commit(transaction()?).await?;
      "null".to_string()
    }
    Method::Rollback => {
      module.rollback(transaction()?).await?;
      "null".to_string()
    }
    Method::Close => {
      module.close().await;
      "null".to_string()
    }
    _ => {
      return Err(Error::unexpected_state(format!(
        "{} is not a transaction call",
        method.name()
      )))
    }
  };
  Ok(json.into())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_methods_that_only_read_are_the_lists_retrieves_and_validate() {
    for (name, method) in METHODS {
      let reads = ["list", "retrieve", "validate"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
      assert_eq!(method.reads_only(), reads, "{name}");
    }
  }

  #[test]
  fn every_method_is_named_once_and_parses_back() {
    for (name, method) in METHODS {
      assert_eq!(Method::parse(name).unwrap(), method);
      assert_eq!(method.name(), name);
      let listed = METHODS.iter().filter(|(_, other)| *other == method).count();
      assert_eq!(listed, 1, "{name}");
    }
    let names: std::collections::HashSet<_> = METHODS.iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), METHODS.len());
    assert_eq!(
      Method::parse("lifecycle").unwrap_err().message,
      "Unknown method lifecycle from the JS layer"
    );
  }
}
