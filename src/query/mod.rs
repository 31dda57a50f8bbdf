//! Filters and find options of Medusa's `list*`, `listAndCount*` and `retrieve*` methods
//! (docs/behaviour.md), read from the JS snapshot and rendered as SQL for either backend.
//!
//! Values arrive as plain JSON, except Dates: `{"$date": ms}` (see `lib/wire.js`,
//! `encodeQuery`). The SQL itself is rendered in `sql`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::messages::shown;
use crate::validation::parse_iso8601;

mod sql;
pub use sql::{Dialect, Param, Rendered, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
  Invite,
  User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
  Text,
  Bool,
  Time,
}

impl Entity {
  /// As Medusa's messages name it: `Invite`, `User`.
  pub fn name(self) -> &'static str {
    match self {
      Entity::Invite => "Invite",
      Entity::User => "User",
    }
  }

  /// As Medusa's `id must be defined` message names it: `invite`, `user`.
  pub fn noun(self) -> &'static str {
    match self {
      Entity::Invite => "invite",
      Entity::User => "user",
    }
  }

  /// The columns a filter or an order may name, with their kind.
  fn column(self, name: &str) -> Option<(&'static str, Kind)> {
    const INVITE: &[(&str, Kind)] = &[
      ("id", Kind::Text),
      ("email", Kind::Text),
      ("accepted", Kind::Bool),
      ("token", Kind::Text),
      ("expires_at", Kind::Time),
      ("created_at", Kind::Time),
      ("updated_at", Kind::Time),
      ("deleted_at", Kind::Time),
    ];
    const USER: &[(&str, Kind)] = &[
      ("id", Kind::Text),
      ("email", Kind::Text),
      ("first_name", Kind::Text),
      ("last_name", Kind::Text),
      ("avatar_url", Kind::Text),
      ("created_at", Kind::Time),
      ("updated_at", Kind::Time),
      ("deleted_at", Kind::Time),
    ];
    let columns = match self {
      Entity::Invite => INVITE,
      Entity::User => USER,
    };
    columns.iter().find(|(column, _)| *column == name).copied()
  }

  /// The columns `q` searches (Medusa's searchable fields).
  fn searchable(self) -> &'static [&'static str] {
    match self {
      Entity::Invite => &["email"],
      Entity::User => &["email", "first_name", "last_name"],
    }
  }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
  Text(String),
  Bool(bool),
  Time(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
  Eq,
  Ne,
  Lt,
  Lte,
  Gt,
  Gte,
  Like,
  ILike,
}

impl Comparison {
  fn sql(self) -> &'static str {
    match self {
      Comparison::Eq => "=",
      Comparison::Ne => "<>",
      Comparison::Lt => "<",
      Comparison::Lte => "<=",
      Comparison::Gt => ">",
      Comparison::Gte => ">=",
      Comparison::Like | Comparison::ILike => "like",
    }
  }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
  Compare {
    column: &'static str,
    comparison: Comparison,
    value: Scalar,
  },
  In {
    column: &'static str,
    values: Vec<String>,
    negated: bool,
  },
  IsNull {
    column: &'static str,
    negated: bool,
  },
  /// `q`: a case-insensitive substring of any of the columns (taken literally).
  Contains {
    columns: &'static [&'static str],
    text: String,
  },
  All(Vec<Condition>),
  Any(Vec<Condition>),
}

/// One `list`/`retrieve` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
  pub entity: Entity,
  pub filter: Condition,
  /// `(column, descending)`; `id ASC` ends every order so pages are stable.
  pub order: Vec<(&'static str, bool)>,
  pub skip: i64,
  pub take: Option<i64>,
  pub with_deleted: bool,
  /// Also count every matching row (`listAndCount*`), ignoring skip and take.
  pub count: bool,
  /// Lock the rows read until the transaction ends (PostgreSQL `for update`; SQLite's
  /// transactions already hold the one write lock), so a row another call changes in the
  /// meantime is read as it is after that call.
  pub lock: bool,
}

impl Query {
  /// Rows with these ids, any order; `with_deleted` includes soft-deleted ones.
  pub fn by_ids(entity: Entity, ids: &[String], with_deleted: bool) -> Self {
    let filter = without_nul(
      entity,
      match ids {
        // `id = $1`: the plan every lookup of one invite (validate, accept) reuses.
        [id] => Condition::Compare {
          column: "id",
          comparison: Comparison::Eq,
          value: Scalar::Text(id.clone()),
        },
        _ => Condition::In {
          column: "id",
          values: ids.to_vec(),
          negated: false,
        },
      },
    )
    // Equality and lists only: nothing to refuse.
    .unwrap_or(Condition::Any(Vec::new()));
    Query {
      entity,
      filter,
      order: vec![("id", false)],
      skip: 0,
      take: None,
      with_deleted,
      count: false,
      lock: false,
    }
  }

  pub fn by_email(entity: Entity, email: &str) -> Self {
    let mut query = Query::by_ids(entity, &[], false);
    query.filter = without_nul(
      entity,
      Condition::Compare {
        column: "email",
        comparison: Comparison::Eq,
        value: Scalar::Text(email.to_string()),
      },
    )
    .unwrap_or(Condition::Any(Vec::new()));
    query
  }

  /// Whether the statement should be planned for its own parameter values rather than run
  /// from a cached generic plan: a page (the plan depends on limit and offset) or a list of
  /// values (PostgreSQL's generic plan for `= any($1)` does not know how many there are and,
  /// with stale statistics, was seen to scan a whole index: 32 ms instead of 0.03 ms).
  pub fn plan_per_call(&self) -> bool {
    fn has_list(condition: &Condition) -> bool {
      match condition {
        Condition::In { .. } => true,
        Condition::All(conditions) | Condition::Any(conditions) => conditions.iter().any(has_list),
        _ => false,
      }
    }
    self.take.is_some() || self.skip > 0 || has_list(&self.filter)
  }

  /// At most how many rows the query returns, as far as it says: `take`, or the number of ids
  /// it looks up; otherwise "many".
  pub fn expected_rows(&self) -> usize {
    const MANY: usize = 1_000;
    /// How many rows at most a condition lets through by naming ids.
    fn ids_bound(condition: &Condition) -> Option<usize> {
      match condition {
        Condition::In {
          column: "id",
          values,
          negated: false,
        } => Some(values.len()),
        Condition::Compare {
          column: "id",
          comparison: Comparison::Eq,
          ..
        } => Some(1),
        Condition::All(conditions) => conditions.iter().filter_map(ids_bound).min(),
        _ => None,
      }
    }
    let bound = ids_bound(&self.filter).unwrap_or(MANY);
    self
      .take
      .map_or(bound, |take| (take.max(0) as usize).min(bound))
  }

  /// Medusa's `(filters, config)` pair.
  pub fn parse(entity: Entity, filters: &Value, config: &Value, count: bool) -> Result<Self> {
    let filter = match filters {
      Value::Null => Condition::All(Vec::new()),
      Value::Object(filters) => without_nul(entity, parse_filters(entity, filters, 0)?)?,
      _ => return Err(Error::invalid_data("The filters must be an object")),
    };
    let mut query = Query::by_ids(entity, &[], false);
    query.filter = filter;
    query.count = count;
    query.configured(config)
  }

  /// The query with Medusa's find config applied: `skip`, `take`, `withDeleted`, `order`
  /// (`id ASC` ends every order).
  pub fn configured(mut self, config: &Value) -> Result<Self> {
    let entity = self.entity;
    let config = match config {
      Value::Null => &Map::new(),
      // A tagged value (an array, a Date…) is not a config.
      Value::Object(config) if config.contains_key("$t") => {
        return Err(Error::invalid_data("The find config must be an object"))
      }
      Value::Object(config) => config,
      _ => return Err(Error::invalid_data("The find config must be an object")),
    };
    let skip = match config.get("skip") {
      None | Some(Value::Null) => 0,
      Some(value) => non_negative(value)
        .ok_or_else(|| Error::invalid_data("A non-negative integer must be provided to offset."))?,
    };
    let take =
      match config.get("take") {
        None | Some(Value::Null) => None,
        Some(value) => Some(non_negative(value).ok_or_else(|| {
          Error::invalid_data("A non-negative integer must be provided to limit.")
        })?),
      };
    let with_deleted = matches!(config.get("withDeleted"), Some(Value::Bool(true)));
    let mut order = Vec::new();
    match config.get("order") {
      None | Some(Value::Null) => {}
      Some(Value::Object(fields)) => {
        for (name, direction) in fields {
          let (column, _) = entity
            .column(name)
            .ok_or_else(|| unknown_property(entity, name))?;
          let descending = match direction.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("ASC") => false,
            Some("DESC") => true,
            _ => {
              return Err(Error::invalid_data(format!(
                "Invalid order direction for {}.{name}: use \"ASC\" or \"DESC\"",
                entity.name()
              )))
            }
          };
          order.push((column, descending));
        }
      }
      Some(_) => return Err(Error::invalid_data("config.order must be an object")),
    }
    if !order.iter().any(|(column, _)| *column == "id") {
      order.push(("id", false));
    }
    self.order = order;
    self.skip = skip;
    self.take = take;
    self.with_deleted = with_deleted;
    Ok(self)
  }
}

/// No stored text contains U+0000 (neither store accepts it, and PostgreSQL cannot even be
/// asked about it), so a condition on such a text is settled here, the same way for both
/// backends: equal, like, `q` and list membership never match; not-equal is "has a value";
/// an ordering comparison with it is refused.
fn without_nul(entity: Entity, condition: Condition) -> Result<Condition> {
  let never = || Condition::Any(Vec::new());
  Ok(match condition {
    Condition::Compare {
      column,
      comparison,
      value: Scalar::Text(text),
    } if text.contains('\0') => match comparison {
      Comparison::Eq | Comparison::Like | Comparison::ILike => never(),
      Comparison::Ne => Condition::IsNull {
        column,
        negated: true,
      },
      Comparison::Lt | Comparison::Lte | Comparison::Gt | Comparison::Gte => {
        return Err(Error::invalid_data(format!(
          "The filter on {}.{column} cannot compare with a text that contains the character U+0000",
          entity.name()
        )))
      }
    },
    Condition::In {
      column,
      values,
      negated,
    } => Condition::In {
      column,
      values: values
        .into_iter()
        .filter(|value| !value.contains('\0'))
        .collect(),
      negated,
    },
    Condition::Contains { text, .. } if text.contains('\0') => never(),
    Condition::All(conditions) => Condition::All(
      conditions
        .into_iter()
        .map(|condition| without_nul(entity, condition))
        .collect::<Result<_>>()?,
    ),
    Condition::Any(conditions) => Condition::Any(
      conditions
        .into_iter()
        .map(|condition| without_nul(entity, condition))
        .collect::<Result<_>>()?,
    ),
    other => other,
  })
}

fn non_negative(value: &Value) -> Option<i64> {
  let number = value.as_f64()?;
  (number >= 0.0 && number.fract() == 0.0 && number <= 9.0e15).then_some(number as i64)
}

fn unknown_property(entity: Entity, name: &str) -> Error {
  // Medusa's (MikroORM's) message.
  Error::invalid_data(format!(
    "Trying to query by not existing property {}.{}",
    entity.name(),
    shown(name)
  ))
}

/// Characters of a `$like`/`$ilike` pattern, at most.
const MAX_PATTERN_CHARS: usize = 10_000;

/// Filters nest through `$and`/`$or`; deeper than this is refused.
const MAX_DEPTH: usize = 16;

fn parse_filters(entity: Entity, filters: &Map<String, Value>, depth: usize) -> Result<Condition> {
  if depth > MAX_DEPTH {
    return Err(Error::invalid_data(format!(
      "The filters are nested too deeply: at most {MAX_DEPTH} levels of $and and $or"
    )));
  }
  let mut all = Vec::new();
  for (name, value) in filters {
    match name.as_str() {
      "q" => match value {
        Value::Null => {}
        Value::String(text) => all.push(Condition::Contains {
          columns: entity.searchable(),
          text: text.clone(),
        }),
        _ => return Err(Error::invalid_data("The filter q must be a string")),
      },
      "$and" | "$or" => {
        let Value::Array(branches) = value else {
          return Err(Error::invalid_data(format!(
            "{name} expects an array of filters"
          )));
        };
        let branches = branches
          .iter()
          .map(|branch| match branch {
            Value::Object(branch) => parse_filters(entity, branch, depth + 1),
            _ => Err(Error::invalid_data(format!(
              "{name} expects an array of filters"
            ))),
          })
          .collect::<Result<Vec<_>>>()?;
        all.push(if name == "$and" {
          Condition::All(branches)
        } else {
          Condition::Any(branches)
        });
      }
      _ => {
        let (column, kind) = entity
          .column(name)
          .ok_or_else(|| unknown_property(entity, name))?;
        all.push(parse_field(entity, column, kind, value)?);
      }
    }
  }
  Ok(Condition::All(all))
}

/// `field: value`, `field: [values]` or `field: { $op: value, … }`.
fn parse_field(
  entity: Entity,
  column: &'static str,
  kind: Kind,
  value: &Value,
) -> Result<Condition> {
  match value {
    Value::Null => Ok(Condition::IsNull {
      column,
      negated: false,
    }),
    Value::Array(values) => list(entity, column, kind, values, false),
    Value::Object(operators) if !operators.contains_key("$date") => {
      let mut all = Vec::new();
      for (operator, operand) in operators {
        let comparison = match operator.as_str() {
          "$eq" => Comparison::Eq,
          "$ne" => Comparison::Ne,
          "$lt" => Comparison::Lt,
          "$lte" => Comparison::Lte,
          "$gt" => Comparison::Gt,
          "$gte" => Comparison::Gte,
          "$like" if kind == Kind::Text => Comparison::Like,
          "$ilike" if kind == Kind::Text => Comparison::ILike,
          "$in" | "$nin" => {
            let Value::Array(values) = operand else {
              return Err(Error::invalid_data(format!(
                "{operator} on {}.{column} expects an array",
                entity.name()
              )));
            };
            all.push(list(entity, column, kind, values, operator == "$nin")?);
            continue;
          }
          _ => {
            return Err(Error::invalid_data(format!(
              "Unsupported operator {} on {}.{column}",
              shown(operator),
              entity.name()
            )))
          }
        };
        if operand.is_null() && matches!(comparison, Comparison::Eq | Comparison::Ne) {
          all.push(Condition::IsNull {
            column,
            negated: comparison == Comparison::Ne,
          });
          continue;
        }
        if let (Comparison::Like | Comparison::ILike, Value::String(pattern)) =
          (comparison, operand)
        {
          // SQLite refuses long patterns ("too complex"); both backends refuse them alike.
          if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(Error::invalid_data(format!(
              "{operator} on {}.{column} takes a pattern of at most {MAX_PATTERN_CHARS} characters",
              entity.name()
            )));
          }
        }
        all.push(Condition::Compare {
          column,
          comparison,
          value: scalar(entity, column, kind, operand)?,
        });
      }
      Ok(Condition::All(all))
    }
    _ => Ok(Condition::Compare {
      column,
      comparison: Comparison::Eq,
      value: scalar(entity, column, kind, value)?,
    }),
  }
}

fn list(
  entity: Entity,
  column: &'static str,
  kind: Kind,
  values: &[Value],
  negated: bool,
) -> Result<Condition> {
  if kind != Kind::Text {
    // Booleans and times: equal to any of the values, or (negated) to none of them.
    let comparison = if negated {
      Comparison::Ne
    } else {
      Comparison::Eq
    };
    let conditions = values
      .iter()
      .map(|value| {
        Ok(Condition::Compare {
          column,
          comparison,
          value: scalar(entity, column, kind, value)?,
        })
      })
      .collect::<Result<Vec<_>>>()?;
    return Ok(if negated {
      Condition::All(conditions)
    } else {
      Condition::Any(conditions)
    });
  }
  let values = values
    .iter()
    .map(|value| match value {
      Value::String(text) => Ok(text.clone()),
      _ => Err(wrong_value(entity, column, "a string")),
    })
    .collect::<Result<Vec<_>>>()?;
  Ok(Condition::In {
    column,
    values,
    negated,
  })
}

fn wrong_value(entity: Entity, column: &str, expected: &str) -> Error {
  Error::invalid_data(format!(
    "The filter on {}.{column} expects {expected}",
    entity.name()
  ))
}

fn scalar(entity: Entity, column: &'static str, kind: Kind, value: &Value) -> Result<Scalar> {
  match (kind, value) {
    (Kind::Text, Value::String(text)) => Ok(Scalar::Text(text.clone())),
    (Kind::Text, _) => Err(wrong_value(entity, column, "a string")),
    (Kind::Bool, Value::Bool(flag)) => Ok(Scalar::Bool(*flag)),
    (Kind::Bool, _) => Err(wrong_value(entity, column, "a boolean")),
    (Kind::Time, Value::Object(date)) => date
      .get("$date")
      .and_then(Value::as_f64)
      .map(|ms| Scalar::Time(ms as i64))
      .ok_or_else(|| wrong_value(entity, column, "a valid Date or ISO 8601 string")),
    (Kind::Time, Value::String(text)) => parse_iso8601(text)
      .map(Scalar::Time)
      .ok_or_else(|| wrong_value(entity, column, "a valid Date or ISO 8601 string")),
    (Kind::Time, _) => Err(wrong_value(entity, column, "a Date or an ISO 8601 string")),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[test]
  fn filters_render_for_both_backends() {
    let query = Query::parse(
      Entity::Invite,
      &json!({"email": ["a@x", "b@x"], "expires_at": {"$lt": {"$date": 5}}, "q": "X"}),
      &json!({"take": 2, "skip": 4, "order": {"email": "desc"}}),
      false,
    )
    .unwrap();
    let source = Source {
      table: r#""invite""#,
      alias: "i",
      joins: "",
    };
    let sqlite = query.select(Dialect::Sqlite, &source, "i.id");
    assert_eq!(
      sqlite.sql,
      r#"select i.id from "invite" i where (i."email" in (?1, ?2) and (i."expires_at" < ?3) and (instr(lower(i."email"), lower(?4)) > 0)) and i."deleted_at" is null order by i."email" desc, i."id" asc limit ?5 offset ?6"#
    );
    assert_eq!(sqlite.params[4..], [Param::Int(2), Param::Int(4)]);
    assert_eq!(query.expected_rows(), 2);
    let by_id = Query::parse(Entity::Invite, &json!({"id": "a"}), &Value::Null, false).unwrap();
    assert_eq!(by_id.expected_rows(), 1);
    let page = query.select(Dialect::Postgres, &source, "i.id").sql;
    assert!(
      page.starts_with(r#"select i.id from (select i.* from "invite" i where"#),
      "{page}"
    );
    assert!(
      page.ends_with(r#"limit $4 offset $5) i order by i."email" desc, i."id" asc"#),
      "{page}"
    );
    let postgres = query.count_sql(Dialect::Postgres, &source);
    assert_eq!(
      postgres.sql,
      r#"select count(*) from "invite" i where (i."email" = any($1) and (i."expires_at" < to_timestamp($2::float8 / 1000)) and (strpos(lower(i."email"), lower($3)) > 0)) and i."deleted_at" is null"#
    );
  }

  #[test]
  fn unknown_properties_and_bad_pages_are_refused_with_medusa_messages() {
    let error = Query::parse(Entity::Invite, &json!({"foo": 1}), &Value::Null, false).unwrap_err();
    assert_eq!(
      error.message,
      "Trying to query by not existing property Invite.foo"
    );
    let error =
      Query::parse(Entity::Invite, &Value::Null, &json!({"skip": -1}), false).unwrap_err();
    assert_eq!(
      error.message,
      "A non-negative integer must be provided to offset."
    );
  }
}
