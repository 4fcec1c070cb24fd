//! ombud's connectors to the organisation's own SQL databases: PostgreSQL, MySQL/MariaDB and
//! SQLite.
//!
//! - [`Db::connect`] opens a small pool on a database URL; [`Db::introspect`] reads its tables,
//!   columns, primary and foreign keys into a [`LiveSchema`];
//! - [`LiveSchema::draft_yaml`] drafts the data map of a system for a person to review, and
//!   [`check`] compares a system of the data map with the live schema;
//! - [`Db::select`], [`Db::count`] and a transaction's [`Tx::update_same`],
//!   [`Tx::update_each`] and [`Tx::delete`] are the bounded, set-based row operations that
//!   request execution runs.
//!
//! **Invariant:** SQL is built only from names the caller passes (quoted per [`Dialect`], a
//! NUL byte or an over-long name refused) and placeholders; every value is bound, never
//! written into the statement text. SQLite names are quoted with backticks: a double-quoted
//! name that matches no column would silently become a string literal there. The only other text that goes into a statement is
//! PostgreSQL type names read from the database's own catalogue (quoted by PostgreSQL's
//! `quote_ident`) and the keyword `NULL`.
//!
//! **Invariant:** errors never carry a bound value, a row's content or a URL's password (see
//! [`ConnectError`]).
//!
//! ## How values are bound on PostgreSQL
//! Every [`Value`] is bound with its own type (`Int` → `int8`, `Text` → `text`, `Float` →
//! `float8`, `Bool` → `bool`, `Bytes` → `bytea`). The column types of each table are read once
//! from `pg_catalog` and cached in the [`Db`]; where a column's type is not of the value's
//! family, the placeholder is cast to the column's type, schema-qualified and without a type
//! modifier (`$1::pg_catalog.uuid`, `$2::pg_catalog."timestamp"`). So text read from a
//! `uuid`, `numeric`, `date` or enum column goes back into it unchanged, a comparison is always
//! made in the column's own type (its index is used), and nothing is silently cut to a length.
//! Integers compare with any integer column without a cast (`int4 = int8` is indexable). NULL is
//! written as the keyword `NULL` (and a NULL filter value matches nothing, as in SQL).
//! Reading, columns of types the driver has no exact mapping for (numeric, dates and times,
//! uuid, json, enums...) are selected as `::text`, in PostgreSQL's own notation.
//!
//! MySQL and SQLite convert bound values themselves, so there values are bound as they are.

mod check;
mod db;
mod decode;
mod dialect;
mod draft;
mod error;
mod introspect;
mod seed;
mod sql;
mod yaml;

use std::fmt;

pub use check::{Mismatch, TypeFamily, check, erasure_conflicts, type_family};
pub use db::{DatabaseUrl, Db, Tx};
pub use dialect::{Dialect, MAX_IDENTIFIER_BYTES};
pub use error::{ConnectError, redact_url};
pub use introspect::{ForeignKey, LiveColumn, LiveSchema, LiveTable};
pub use ombud_domain::datamap::Value;
pub use seed::seed_sqlite;
pub use yaml::quote as yaml_quote;

/// At most this many filter values per [`Db::select`] or [`Db::count`].
pub const MAX_FILTER_VALUES: usize = 1000;
/// At most this many rows per [`Db::select`].
pub const MAX_LIMIT: u32 = 10_000;
/// Keys per statement of [`Tx::update_same`] and [`Tx::delete`] (fewer for wide keys).
pub const KEYS_PER_STATEMENT: usize = 500;

/// A table, optionally in a schema (PostgreSQL) or database (MySQL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn new(name: impl Into<String>) -> Self {
        TableName {
            schema: None,
            name: name.into(),
        }
    }

    pub fn in_schema(schema: impl Into<String>, name: impl Into<String>) -> Self {
        TableName {
            schema: Some(schema.into()),
            name: name.into(),
        }
    }
}

/// `"schema"."table"`, for messages.
impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema:?}.")?;
        }
        write!(f, "{:?}", self.name)
    }
}

/// A bounded read of the rows whose `filter_column` is one of `values`, in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: TableName,
    /// The columns to read, in the order of each returned row.
    pub columns: Vec<String>,
    pub filter_column: String,
    /// At most [`MAX_FILTER_VALUES`]; NULLs match nothing.
    pub values: Vec<Value>,
    /// The table's primary key (or another unique key): rows come in this order, and `after`
    /// continues from a key.
    pub key: Vec<String>,
    /// Keyset paging: only rows whose key is greater than this (same length as `key`).
    pub after: Option<Vec<Value>>,
    /// At most this many rows (1 to [`MAX_LIMIT`]).
    pub limit: u32,
}
