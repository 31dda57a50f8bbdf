//! The SQL a `Query` runs, rendered for either backend's dialect: parameterized, the filter
//! language of `query` turned into `where`, `order by`, `limit` and `offset`.

use super::{Comparison, Condition, Query, Scalar};

/// The SQL flavour to render for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
  Sqlite,
  Postgres,
}

/// Lists longer than this are one JSON parameter on SQLite (see `Renderer::condition`).
const SQLITE_LONG_LIST: usize = 1_000;

/// A bound parameter of a rendered query. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
  Text(String),
  Texts(Vec<String>),
  Bool(bool),
  Time(i64),
  /// `limit`/`offset` values.
  Int(i64),
  /// PostgreSQL's `limit null`.
  NoLimit,
}

/// A statement with its parameters, numbered from 1.
pub struct Rendered {
  pub sql: String,
  pub params: Vec<Param>,
}

struct Renderer {
  dialect: Dialect,
  alias: &'static str,
  params: Vec<Param>,
}

impl Renderer {
  fn placeholder(&mut self, param: Param) -> String {
    let time = matches!(param, Param::Time(_));
    self.params.push(param);
    let n = self.params.len();
    match (self.dialect, time) {
      (Dialect::Sqlite, _) => format!("?{n}"),
      (Dialect::Postgres, false) => format!("${n}"),
      (Dialect::Postgres, true) => format!("to_timestamp(${n}::float8 / 1000)"),
    }
  }

  fn column(&self, column: &str) -> String {
    format!("{}.\"{column}\"", self.alias)
  }

  fn condition(&mut self, condition: &Condition) -> String {
    match condition {
      Condition::Compare {
        column,
        comparison,
        value,
      } => {
        let param = match value {
          Scalar::Text(text) => Param::Text(text.clone()),
          Scalar::Bool(flag) => Param::Bool(*flag),
          Scalar::Time(ms) => Param::Time(*ms),
        };
        let placeholder = self.placeholder(param);
        let column = self.column(column);
        match comparison {
          Comparison::ILike => format!("lower({column}) like lower({placeholder})"),
          _ => format!("{column} {} {placeholder}", comparison.sql()),
        }
      }
      Condition::In {
        column,
        values,
        negated,
      } => {
        let column = self.column(column);
        if values.is_empty() {
          return if *negated { "true" } else { "false" }.to_string();
        }
        match self.dialect {
          Dialect::Postgres => {
            let placeholder = self.placeholder(Param::Texts(values.clone()));
            if *negated {
              format!("not ({column} = any({placeholder}))")
            } else {
              format!("{column} = any({placeholder})")
            }
          }
          // SQLite binds at most 32,766 parameters: a long list travels as one JSON array.
          Dialect::Sqlite if values.len() > SQLITE_LONG_LIST => {
            let json = serde_json::to_string(values).unwrap_or_default();
            let placeholder = self.placeholder(Param::Text(json));
            let not = if *negated { "not " } else { "" };
            format!("{column} {not}in (select value from json_each({placeholder}))")
          }
          Dialect::Sqlite => {
            let placeholders: Vec<String> = values
              .iter()
              .map(|value| self.placeholder(Param::Text(value.clone())))
              .collect();
            let not = if *negated { "not " } else { "" };
            format!("{column} {not}in ({})", placeholders.join(", "))
          }
        }
      }
      Condition::IsNull { column, negated } => {
        let not = if *negated { "not " } else { "" };
        format!("{} is {not}null", self.column(column))
      }
      Condition::Contains { columns, text } => {
        let placeholder = self.placeholder(Param::Text(text.clone()));
        let function = match self.dialect {
          Dialect::Sqlite => "instr",
          Dialect::Postgres => "strpos",
        };
        let tests: Vec<String> = columns
          .iter()
          .map(|column| {
            format!(
              "{function}(lower({}), lower({placeholder})) > 0",
              self.column(column)
            )
          })
          .collect();
        format!("({})", tests.join(" or "))
      }
      Condition::All(conditions) => self.join(conditions, " and ", "true"),
      Condition::Any(conditions) => self.join(conditions, " or ", "false"),
    }
  }

  fn join(&mut self, conditions: &[Condition], separator: &str, empty: &str) -> String {
    if conditions.is_empty() {
      return empty.to_string();
    }
    let parts: Vec<String> = conditions
      .iter()
      .map(|condition| self.condition(condition))
      .collect();
    format!("({})", parts.join(separator))
  }
}

impl Query {
  fn renderer(dialect: Dialect, alias: &'static str) -> Renderer {
    Renderer {
      dialect,
      alias,
      params: Vec::new(),
    }
  }

  /// The filter over the table aliased `alias`, soft-deleted rows excluded unless
  /// `with_deleted`.
  fn where_sql(&self, renderer: &mut Renderer) -> String {
    let sql = renderer.condition(&self.filter);
    if self.with_deleted {
      sql
    } else {
      format!("{sql} and {}.\"deleted_at\" is null", renderer.alias)
    }
  }

  /// `select <columns> from <table> … where … order by … limit … offset …`. Limit and offset
  /// are parameters, so one statement serves every page. On PostgreSQL a page is cut in a
  /// subquery over the bare table first, so the columns (time conversions, JSON text) and the
  /// joins are computed for the rows returned, not for every row the offset skips.
  pub fn select(&self, dialect: Dialect, source: &Source, columns: &str) -> Rendered {
    let alias = source.alias;
    let mut renderer = Self::renderer(dialect, alias);
    let filter = self.where_sql(&mut renderer);
    let order: Vec<String> = self
      .order
      .iter()
      .map(|(column, descending)| {
        format!(
          "{alias}.\"{column}\" {}",
          if *descending { "desc" } else { "asc" }
        )
      })
      .collect();
    let order = order.join(", ");
    let (table, joins) = (source.table, source.joins);
    let lock = match (self.lock, dialect) {
      (true, Dialect::Postgres) => format!(" for update of {alias}"),
      _ => String::new(),
    };
    if self.take.is_none() && self.skip == 0 {
      return Rendered {
        sql: format!(
          "select {columns} from {table} {alias}{joins} where {filter} order by {order}{lock}"
        ),
        params: renderer.params,
      };
    }
    // SQLite reads a negative limit as "no limit"; PostgreSQL reads null so.
    let take = self.take.map(Param::Int).unwrap_or(match dialect {
      Dialect::Sqlite => Param::Int(-1),
      Dialect::Postgres => Param::NoLimit,
    });
    let limit = renderer.placeholder(take);
    let offset = renderer.placeholder(Param::Int(self.skip));
    let sql = match dialect {
      // SQLite computes the columns of the rows it returns only.
      Dialect::Sqlite => format!(
        "select {columns} from {table} {alias}{joins} where {filter} order by {order} limit {limit} offset {offset}"
      ),
      Dialect::Postgres => format!(
        "select {columns} from (select {alias}.* from {table} {alias} where {filter} order by {order} \
         limit {limit} offset {offset}{lock}) {alias}{joins} order by {order}"
      ),
    };
    Rendered {
      sql,
      params: renderer.params,
    }
  }

  /// `select count(*) from <table> where …`.
  pub fn count_sql(&self, dialect: Dialect, source: &Source) -> Rendered {
    let mut renderer = Self::renderer(dialect, source.alias);
    let filter = self.where_sql(&mut renderer);
    Rendered {
      sql: format!(
        "select count(*) from {} {} where {filter}",
        source.table, source.alias
      ),
      params: renderer.params,
    }
  }
}

/// The table a query reads, its alias, and the joins that bring in our own columns (roles).
pub struct Source {
  pub table: &'static str,
  pub alias: &'static str,
  /// `" left join … on …"`, or `""`.
  pub joins: &'static str,
}
