//! What a database holds: tables, columns, primary and foreign keys, read from its catalogue.
//!
//! Every name is bound as a value in these queries (SQLite's table-valued pragmas included);
//! the one exception is SQLite's schema name in `"schema".sqlite_schema`, which is quoted.

use std::collections::BTreeMap;

use sqlx::AssertSqlSafe;
use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::dialect::Dialect;
use crate::error::{ConnectError, describe};

/// The tables of one schema of a live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSchema {
    pub dialect: Dialect,
    /// The schema (PostgreSQL), database (MySQL) or attached database (SQLite) read.
    pub schema: String,
    /// Whether `schema` is the connection's default (so a data map need not name it).
    pub default_schema: bool,
    /// Sorted by name.
    pub tables: Vec<LiveTable>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTable {
    pub name: String,
    /// In the table's order.
    pub columns: Vec<LiveColumn>,
    /// The primary key's columns in key order; empty if the table has none.
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    pub name: String,
    /// The type as the database reports it (`character varying(40)`, `varchar(40)`,
    /// `NVARCHAR(40)`).
    pub data_type: String,
    pub nullable: bool,
}

/// `columns` of this table reference `references` of `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    /// The referenced table's schema when it is not the one read.
    pub schema: Option<String>,
    pub table: String,
    pub references: Vec<String>,
}

impl LiveSchema {
    pub fn table(&self, name: &str) -> Option<&LiveTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl LiveTable {
    pub fn column(&self, name: &str) -> Option<&LiveColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Tables that are the database's or a migration tool's own, never the organisation's data.
fn skipped(name: &str) -> bool {
    name.starts_with("sqlite_") || name == "_sqlx_migrations"
}

fn failed(dialect: Dialect) -> impl Fn(sqlx::Error) -> ConnectError {
    move |e| ConnectError::Database {
        op: "reading the schema",
        reason: describe(dialect, &e),
    }
}

/// Builds the schema from rows of tables, columns, primary-key columns and foreign-key
/// columns (each in order).
struct Collect {
    tables: BTreeMap<String, LiveTable>,
}

impl Collect {
    fn new(names: impl IntoIterator<Item = String>) -> Self {
        Collect {
            tables: names
                .into_iter()
                .filter(|n| !skipped(n))
                .map(|name| {
                    (
                        name.clone(),
                        LiveTable {
                            name,
                            columns: Vec::new(),
                            primary_key: Vec::new(),
                            foreign_keys: Vec::new(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn column(&mut self, table: &str, name: String, data_type: String, nullable: bool) {
        if let Some(t) = self.tables.get_mut(table) {
            t.columns.push(LiveColumn {
                name,
                data_type,
                nullable,
            });
        }
    }

    fn primary_key(&mut self, table: &str, column: String) {
        if let Some(t) = self.tables.get_mut(table) {
            t.primary_key.push(column);
        }
    }

    /// One column pair of a foreign key; `first` starts a new key.
    fn foreign_key(
        &mut self,
        table: &str,
        first: bool,
        column: String,
        schema: Option<String>,
        parent: String,
        parent_column: String,
    ) {
        let Some(t) = self.tables.get_mut(table) else {
            return;
        };
        match t.foreign_keys.last_mut() {
            Some(fk) if !first => {
                fk.columns.push(column);
                fk.references.push(parent_column);
            }
            _ => t.foreign_keys.push(ForeignKey {
                columns: vec![column],
                schema,
                table: parent,
                references: vec![parent_column],
            }),
        }
    }

    fn finish(self, dialect: Dialect, schema: String, default_schema: bool) -> LiveSchema {
        LiveSchema {
            dialect,
            schema,
            default_schema,
            tables: self.tables.into_values().collect(),
        }
    }
}

pub(crate) async fn postgres(
    pool: &PgPool,
    schema: Option<&str>,
) -> Result<LiveSchema, ConnectError> {
    let fail = failed(Dialect::Postgres);
    let name = schema.unwrap_or("public").to_owned();
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
    )
    .bind(&name)
    .fetch_one(pool)
    .await
    .map_err(&fail)?;
    if !exists {
        return Err(ConnectError::Database {
            op: "reading the schema",
            reason: format!("schema {name:?} does not exist"),
        });
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    let mut out = Collect::new(tables);

    let columns: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                NOT a.attnotnull \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, column, data_type, nullable) in columns {
        out.column(&table, column, data_type, nullable);
    }

    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum \
         WHERE n.nspname = $1 AND k.contype = 'p' \
         ORDER BY c.relname, u.ord",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, column) in keys {
        out.primary_key(&table, column);
    }

    let fks: Vec<(String, i64, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, k.oid::int8, u.ord, a.attname::text, \
                fn.nspname::text, fc.relname::text, fa.attname::text \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid \
         JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace \
         CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(attnum, fattnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum \
         JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = u.fattnum \
         WHERE n.nspname = $1 AND k.contype = 'f' \
         ORDER BY c.relname, k.conname, k.oid, u.ord",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, _, ord, column, parent_schema, parent, parent_column) in fks {
        let schema = (parent_schema != name).then_some(parent_schema);
        out.foreign_key(&table, ord == 1, column, schema, parent, parent_column);
    }
    Ok(out.finish(
        Dialect::Postgres,
        name,
        schema.is_none_or(|s| s == "public"),
    ))
}

pub(crate) async fn mysql(
    pool: &MySqlPool,
    schema: Option<&str>,
) -> Result<LiveSchema, ConnectError> {
    let fail = failed(Dialect::Mysql);
    let current: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(pool)
        .await
        .map_err(&fail)?;
    let Some(name) = schema.map(str::to_owned).or(current.clone()) else {
        return Err(ConnectError::Database {
            op: "reading the schema",
            reason: "the URL names no database and none was given".to_owned(),
        });
    };
    let default_schema = current.as_deref() == Some(name.as_str());

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    if tables.is_empty() {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(&name)
        .fetch_one(pool)
        .await
        .map_err(&fail)?;
        if exists == 0 {
            return Err(ConnectError::Database {
                op: "reading the schema",
                reason: format!("database {name:?} does not exist"),
            });
        }
    }
    let mut out = Collect::new(tables);

    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, column, data_type, nullable) in columns {
        out.column(&table, column, data_type, nullable == "YES");
    }

    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY' \
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, column) in keys {
        out.primary_key(&table, column);
    }

    let fks: Vec<(String, String, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CAST(ORDINAL_POSITION AS SIGNED), COLUMN_NAME, \
                REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
    )
    .bind(&name)
    .fetch_all(pool)
    .await
    .map_err(&fail)?;
    for (table, _, ord, column, parent_schema, parent, parent_column) in fks {
        let schema = (parent_schema != name).then_some(parent_schema);
        out.foreign_key(&table, ord == 1, column, schema, parent, parent_column);
    }
    Ok(out.finish(Dialect::Mysql, name, default_schema))
}

pub(crate) async fn sqlite(
    pool: &SqlitePool,
    schema: Option<&str>,
) -> Result<LiveSchema, ConnectError> {
    let fail = failed(Dialect::Sqlite);
    let name = schema.unwrap_or("main").to_owned();
    let attached: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_database_list")
        .fetch_all(pool)
        .await
        .map_err(&fail)?;
    if !attached.contains(&name) {
        return Err(ConnectError::Database {
            op: "reading the schema",
            reason: format!("no attached database {name:?}"),
        });
    }
    let listing = format!(
        "SELECT name FROM {}.sqlite_schema WHERE type = 'table'",
        Dialect::Sqlite.quote(&name)?
    );
    let tables: Vec<String> = sqlx::query_scalar(AssertSqlSafe(listing))
        .fetch_all(pool)
        .await
        .map_err(&fail)?;
    let mut out = Collect::new(tables);
    let names: Vec<String> = out.tables.keys().cloned().collect();
    for table in &names {
        let columns: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2) ORDER BY cid",
        )
        .bind(table)
        .bind(&name)
        .fetch_all(pool)
        .await
        .map_err(&fail)?;
        let mut key: Vec<(i64, String)> = Vec::new();
        for (column, data_type, not_null, pk) in columns {
            if pk > 0 {
                key.push((pk, column.clone()));
            }
            out.column(table, column, data_type, not_null == 0);
        }
        key.sort();
        for (_, column) in key {
            out.primary_key(table, column);
        }
    }
    for table in &names {
        let fks: Vec<(i64, i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, ?2) \
             ORDER BY id, seq",
        )
        .bind(table)
        .bind(&name)
        .fetch_all(pool)
        .await
        .map_err(&fail)?;
        for (_, seq, parent, column, to) in fks {
            // `REFERENCES parent` without columns means the parent's primary key.
            let parent_column = match to {
                Some(c) => c,
                None => out
                    .tables
                    .get(&parent)
                    .and_then(|p| p.primary_key.get(usize::try_from(seq).unwrap_or(0)))
                    .cloned()
                    .unwrap_or_default(),
            };
            out.foreign_key(table, seq == 0, column, None, parent, parent_column);
        }
    }
    Ok(out.finish(Dialect::Sqlite, name, schema.is_none_or(|s| s == "main")))
}
