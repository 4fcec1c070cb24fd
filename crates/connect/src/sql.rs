//! Statement text and its bound values, built from quoted names and placeholders only.
//!
//! Pure: no I/O. The PostgreSQL column types that decide casts come in as [`PgTable`], read by
//! the caller from the catalogue.

use std::collections::HashMap;

use crate::dialect::{Dialect, check_identifier};
use crate::error::ConnectError;
use crate::{KEYS_PER_STATEMENT, MAX_FILTER_VALUES, MAX_LIMIT, Select, TableName, Value};

/// Bound values per statement stay under this (SQLite allows 32766, the others 65535).
const MAX_PARAMS: usize = 20_000;

/// What a PostgreSQL column's type means for binding and reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Bool,
    Int,
    Float,
    Numeric,
    Text,
    Bytes,
    Other,
}

impl Family {
    /// The family of a built-in type by its `pg_type.typname`.
    pub(crate) fn of_typname(typname: &str) -> Family {
        match typname {
            "bool" => Family::Bool,
            "int2" | "int4" | "int8" => Family::Int,
            "float4" | "float8" => Family::Float,
            "numeric" => Family::Numeric,
            "text" | "varchar" => Family::Text,
            "bytea" => Family::Bytes,
            _ => Family::Other,
        }
    }

    /// Whether the driver reads a built-in type exactly as it is.
    pub(crate) fn native_read(typname: &str) -> bool {
        matches!(
            typname,
            "bool"
                | "int2"
                | "int4"
                | "int8"
                | "float4"
                | "float8"
                | "text"
                | "varchar"
                | "bpchar"
                | "name"
                | "bytea"
        )
    }
}

/// A PostgreSQL column, from the catalogue.
#[derive(Debug, Clone)]
pub(crate) struct PgColumn {
    /// The column's type, schema-qualified and without modifier (`pg_catalog.int4`), built by
    /// PostgreSQL's `quote_ident`.
    pub cast: String,
    pub family: Family,
    pub is_array: bool,
    /// Selected as `"c"::<read_cast>` so the driver can decode it; `None`: as it is.
    pub read_cast: Option<String>,
}

/// The columns of a PostgreSQL table by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct PgTable {
    pub columns: HashMap<String, PgColumn>,
}

/// A bound argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// One value, never `Null` (NULL is written as the keyword).
    One(Value),
    // PostgreSQL arrays for `= ANY($n)`.
    Ints(Vec<i64>),
    Texts(Vec<String>),
    Floats(Vec<f64>),
    Bools(Vec<bool>),
    Blobs(Vec<Vec<u8>>),
}

/// A statement and its arguments, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stmt {
    pub sql: String,
    pub args: Vec<Arg>,
}

struct Builder<'a> {
    dialect: Dialect,
    table: &'a TableName,
    pg: Option<&'a PgTable>,
    sql: String,
    args: Vec<Arg>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect, table: &'a TableName, pg: Option<&'a PgTable>) -> Self {
        Builder {
            dialect,
            table,
            pg: if dialect == Dialect::Postgres {
                pg
            } else {
                None
            },
            sql: String::with_capacity(256),
            args: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    fn table_name(&mut self) -> Result<(), ConnectError> {
        if let Some(schema) = &self.table.schema {
            self.dialect.push_quoted(&mut self.sql, schema)?;
            self.sql.push('.');
        }
        self.dialect.push_quoted(&mut self.sql, &self.table.name)
    }

    fn pg_column(&self, column: &str) -> Result<Option<&'a PgColumn>, ConnectError> {
        check_identifier(column)?;
        match self.pg {
            None => Ok(None),
            Some(t) => t
                .columns
                .get(column)
                .map(Some)
                .ok_or_else(|| ConnectError::NoSuchColumn {
                    table: self.table.to_string(),
                    column: column.to_owned(),
                }),
        }
    }

    /// A column in a condition or a SET.
    fn column(&mut self, column: &str) -> Result<(), ConnectError> {
        self.pg_column(column)?;
        self.dialect.push_quoted(&mut self.sql, column)
    }

    /// A column in a select list.
    fn read_column(&mut self, column: &str) -> Result<(), ConnectError> {
        let pg = self.pg_column(column)?;
        self.dialect.push_quoted(&mut self.sql, column)?;
        if let Some(cast) = pg.and_then(|c| c.read_cast.as_deref()) {
            self.sql.push_str("::");
            self.sql.push_str(cast);
        }
        Ok(())
    }

    fn placeholder(&mut self, arg: Arg) {
        self.args.push(arg);
        let n = self.args.len();
        self.sql.push_str(&self.dialect.placeholder(n));
    }

    /// A value compared with or assigned to `column`.
    fn value(&mut self, column: &str, v: &Value) -> Result<(), ConnectError> {
        if *v == Value::Null {
            self.push("NULL");
            return Ok(());
        }
        let pg = self.pg_column(column)?;
        self.placeholder(Arg::One(v.clone()));
        if let Some(c) = pg
            && needs_cast(v, c)
        {
            self.sql.push_str("::");
            self.sql.push_str(&c.cast);
        }
        Ok(())
    }

    /// `"c" IN (…)`, or on PostgreSQL `"c" = ANY($n)` when the values share one type.
    fn in_list(&mut self, column: &str, values: &[&Value]) -> Result<(), ConnectError> {
        self.column(column)?;
        if let Some(c) = self.pg_column(column)?
            && !c.is_array
            && let Some(array) = pg_array(values)
        {
            let cast = needs_cast(values[0], c);
            self.push(" = ANY(");
            self.placeholder(array);
            if cast {
                self.sql.push_str("::");
                self.sql.push_str(&c.cast);
                self.sql.push_str("[]");
            }
            self.push(")");
            return Ok(());
        }
        self.push(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.value(column, v)?;
        }
        self.push(")");
        Ok(())
    }

    /// `("a", "b")` or `"a"`.
    fn column_tuple(&mut self, columns: &[String]) -> Result<(), ConnectError> {
        if let [one] = columns {
            return self.column(one);
        }
        self.push("(");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.column(c)?;
        }
        self.push(")");
        Ok(())
    }

    /// `(v, w)` or `v`, bound to `columns`.
    fn value_tuple(&mut self, columns: &[String], values: &[Value]) -> Result<(), ConnectError> {
        if let ([c], [v]) = (columns, values) {
            return self.value(c, v);
        }
        self.push("(");
        for (i, (c, v)) in columns.iter().zip(values).enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.value(c, v)?;
        }
        self.push(")");
        Ok(())
    }

    /// The rows whose key is one of `keys`.
    fn key_match(&mut self, key: &[String], keys: &[Vec<Value>]) -> Result<(), ConnectError> {
        if let [one] = key {
            let values: Vec<&Value> = keys.iter().map(|k| &k[0]).collect();
            return self.in_list(one, &values);
        }
        self.column_tuple(key)?;
        // SQLite takes a row value on the right of IN only from a subquery.
        self.push(if self.dialect == Dialect::Sqlite {
            " IN (VALUES "
        } else {
            " IN ("
        });
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.value_tuple(key, k)?;
        }
        self.push(")");
        Ok(())
    }

    fn finish(self) -> Stmt {
        Stmt {
            sql: self.sql,
            args: self.args,
        }
    }
}

/// Whether a PostgreSQL placeholder holding `v` must be cast to the column's type.
fn needs_cast(v: &Value, c: &PgColumn) -> bool {
    if c.is_array {
        return true;
    }
    !matches!(
        (v, c.family),
        (Value::Int(_), Family::Int | Family::Numeric | Family::Float)
            | (Value::Float(_), Family::Float | Family::Int)
            | (Value::Text(_), Family::Text)
            | (Value::Bool(_), Family::Bool)
            | (Value::Bytes(_), Family::Bytes)
    )
}

/// The values as one PostgreSQL array, if they are all of one non-NULL kind.
fn pg_array(values: &[&Value]) -> Option<Arg> {
    let first = values.first()?;
    macro_rules! collect {
        ($variant:ident, $arg:ident) => {
            values
                .iter()
                .map(|v| match v {
                    Value::$variant(x) => Some(x.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Arg::$arg)
        };
    }
    match first {
        Value::Int(_) => collect!(Int, Ints),
        Value::Text(_) => collect!(Text, Texts),
        Value::Float(_) => collect!(Float, Floats),
        Value::Bool(_) => collect!(Bool, Bools),
        Value::Bytes(_) => collect!(Bytes, Blobs),
        Value::Null => None,
    }
}

fn request(op: &'static str, table: &TableName, reason: impl Into<String>) -> ConnectError {
    ConnectError::Request {
        op,
        table: table.to_string(),
        reason: reason.into(),
    }
}

fn check_filter<'v>(
    op: &'static str,
    table: &TableName,
    values: &'v [Value],
) -> Result<Vec<&'v Value>, ConnectError> {
    if values.len() > MAX_FILTER_VALUES {
        return Err(request(
            op,
            table,
            format!(
                "{} filter values given, at most {MAX_FILTER_VALUES} per call",
                values.len()
            ),
        ));
    }
    Ok(values.iter().filter(|v| **v != Value::Null).collect())
}

pub(crate) fn check_keys(
    op: &'static str,
    table: &TableName,
    key: &[String],
    keys: impl IntoIterator<Item = usize>,
) -> Result<(), ConnectError> {
    if key.is_empty() {
        return Err(request(op, table, "no key columns given"));
    }
    for len in keys {
        if len != key.len() {
            return Err(request(
                op,
                table,
                format!("a key has {len} values for {} key columns", key.len()),
            ));
        }
    }
    Ok(())
}

/// `SELECT … WHERE filter IN (…) [AND key > after] ORDER BY key LIMIT n`; `None` when no
/// value can match (none given, or all NULL).
pub(crate) fn select(
    dialect: Dialect,
    pg: Option<&PgTable>,
    q: &Select,
) -> Result<Option<Stmt>, ConnectError> {
    const OP: &str = "select";
    let values = check_filter(OP, &q.table, &q.values)?;
    if q.columns.is_empty() {
        return Err(request(OP, &q.table, "no columns to read"));
    }
    check_keys(OP, &q.table, &q.key, q.after.iter().map(Vec::len))?;
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(request(
            OP,
            &q.table,
            format!("limit {} is not between 1 and {MAX_LIMIT}", q.limit),
        ));
    }
    let mut b = Builder::new(dialect, &q.table, pg);
    b.push("SELECT ");
    for (i, c) in q.columns.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.read_column(c)?;
    }
    b.push(" FROM ");
    b.table_name()?;
    if values.is_empty() {
        // Nothing can match; the names are still checked, so a bad request fails either way.
        b.column(&q.filter_column)?;
        for c in &q.key {
            b.column(c)?;
        }
        return Ok(None);
    }
    b.push(" WHERE ");
    b.in_list(&q.filter_column, &values)?;
    if let Some(after) = &q.after {
        b.push(" AND ");
        b.column_tuple(&q.key)?;
        b.push(" > ");
        b.value_tuple(&q.key, after)?;
    }
    b.push(" ORDER BY ");
    for (i, c) in q.key.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.column(c)?;
    }
    b.push(" LIMIT ");
    b.placeholder(Arg::One(Value::Int(i64::from(q.limit))));
    Ok(Some(b.finish()))
}

/// `SELECT COUNT(*) … WHERE filter IN (…)`; `None` when no value can match.
pub(crate) fn count(
    dialect: Dialect,
    pg: Option<&PgTable>,
    table: &TableName,
    filter_column: &str,
    values: &[Value],
) -> Result<Option<Stmt>, ConnectError> {
    let values = check_filter("count", table, values)?;
    let mut b = Builder::new(dialect, table, pg);
    b.push("SELECT COUNT(*) FROM ");
    b.table_name()?;
    b.push(" WHERE ");
    if values.is_empty() {
        b.column(filter_column)?;
        return Ok(None);
    }
    b.in_list(filter_column, &values)?;
    Ok(Some(b.finish()))
}

/// How many keys go in one statement: [`KEYS_PER_STATEMENT`], fewer when each key (and row)
/// needs many bound values.
pub(crate) fn keys_per_statement(values_per_key: usize) -> usize {
    (MAX_PARAMS / values_per_key.max(1)).clamp(1, KEYS_PER_STATEMENT)
}

pub(crate) fn check_update_same(
    table: &TableName,
    sets: &[(String, Value)],
    key: &[String],
    keys: &[Vec<Value>],
) -> Result<(), ConnectError> {
    if sets.is_empty() {
        return Err(request("update", table, "no columns to set"));
    }
    check_keys("update", table, key, keys.iter().map(Vec::len))
}

/// `UPDATE t SET c = v, … WHERE key IN (…)` for one batch of keys.
pub(crate) fn update_same(
    dialect: Dialect,
    pg: Option<&PgTable>,
    table: &TableName,
    sets: &[(String, Value)],
    key: &[String],
    keys: &[Vec<Value>],
) -> Result<Stmt, ConnectError> {
    let mut b = Builder::new(dialect, table, pg);
    b.push("UPDATE ");
    b.table_name()?;
    b.push(" SET ");
    for (i, (c, v)) in sets.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.column(c)?;
        b.push(" = ");
        b.value(c, v)?;
    }
    b.push(" WHERE ");
    b.key_match(key, keys)?;
    Ok(b.finish())
}

pub(crate) fn check_update_each(
    table: &TableName,
    columns: &[String],
    key: &[String],
    rows: &[(Vec<Value>, Vec<Value>)],
) -> Result<(), ConnectError> {
    const OP: &str = "update";
    if columns.is_empty() {
        return Err(request(OP, table, "no columns to set"));
    }
    if let Some(c) = columns.iter().find(|c| key.contains(c)) {
        // MySQL evaluates SET left to right: a changed key would change which row later
        // CASE branches match.
        return Err(request(
            OP,
            table,
            format!("the key column {c:?} cannot be changed row by row"),
        ));
    }
    check_keys(OP, table, key, rows.iter().map(|(k, _)| k.len()))?;
    if let Some((_, v)) = rows.iter().find(|(_, v)| v.len() != columns.len()) {
        return Err(request(
            OP,
            table,
            format!(
                "a row has {} new values for {} columns",
                v.len(),
                columns.len()
            ),
        ));
    }
    Ok(())
}

/// `UPDATE t SET c = CASE key WHEN k1 THEN v1 … ELSE c END, … WHERE key IN (…)` for one batch
/// of rows: a different new value per row, in one statement on every dialect.
pub(crate) fn update_each(
    dialect: Dialect,
    pg: Option<&PgTable>,
    table: &TableName,
    columns: &[String],
    key: &[String],
    rows: &[(Vec<Value>, Vec<Value>)],
) -> Result<Stmt, ConnectError> {
    let mut b = Builder::new(dialect, table, pg);
    b.push("UPDATE ");
    b.table_name()?;
    b.push(" SET ");
    for (ci, c) in columns.iter().enumerate() {
        if ci > 0 {
            b.push(", ");
        }
        b.column(c)?;
        b.push(" = CASE");
        if let [k] = key {
            b.push(" ");
            b.column(k)?;
        }
        for (keys, new) in rows {
            b.push(" WHEN ");
            if let [k] = key {
                b.value(k, &keys[0])?;
            } else {
                for (i, (k, v)) in key.iter().zip(keys).enumerate() {
                    if i > 0 {
                        b.push(" AND ");
                    }
                    b.column(k)?;
                    b.push(" = ");
                    b.value(k, v)?;
                }
            }
            b.push(" THEN ");
            b.value(c, &new[ci])?;
        }
        b.push(" ELSE ");
        b.column(c)?;
        b.push(" END");
    }
    b.push(" WHERE ");
    let keys: Vec<Vec<Value>> = rows.iter().map(|(k, _)| k.clone()).collect();
    b.key_match(key, &keys)?;
    Ok(b.finish())
}

/// `DELETE FROM t WHERE key IN (…)` for one batch of keys.
pub(crate) fn delete(
    dialect: Dialect,
    pg: Option<&PgTable>,
    table: &TableName,
    key: &[String],
    keys: &[Vec<Value>],
) -> Result<Stmt, ConnectError> {
    let mut b = Builder::new(dialect, table, pg);
    b.push("DELETE FROM ");
    b.table_name()?;
    b.push(" WHERE ");
    b.key_match(key, keys)?;
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        s.to_owned()
    }

    fn pg_table() -> PgTable {
        let col = |cast: &str, family, read_cast: Option<&str>| PgColumn {
            cast: cast.to_owned(),
            family,
            is_array: false,
            read_cast: read_cast.map(str::to_owned),
        };
        PgTable {
            columns: HashMap::from([
                (t("id"), col("pg_catalog.int4", Family::Int, None)),
                (
                    t("email"),
                    col("pg_catalog.\"varchar\"", Family::Text, None),
                ),
                (
                    t("uid"),
                    col("pg_catalog.uuid", Family::Other, Some("pg_catalog.text")),
                ),
                (
                    t("total"),
                    col(
                        "pg_catalog.\"numeric\"",
                        Family::Numeric,
                        Some("pg_catalog.text"),
                    ),
                ),
            ]),
        }
    }

    fn select_of(values: Vec<Value>, after: Option<Vec<Value>>) -> Select {
        Select {
            table: TableName::new("odd \"t\""),
            columns: vec![t("id"), t("total")],
            filter_column: t("email"),
            values,
            key: vec![t("id")],
            after,
            limit: 100,
        }
    }

    #[test]
    fn selects_bind_every_value_and_quote_every_name() {
        let q = select_of(
            vec![Value::Text("'; DROP TABLE x; --".into()), Value::Null],
            Some(vec![Value::Int(7)]),
        );
        let s = select(Dialect::Sqlite, None, &q).unwrap().unwrap();
        assert_eq!(
            s.sql,
            r#"SELECT `id`, `total` FROM `odd "t"` WHERE `email` IN (?) AND `id` > ? ORDER BY `id` LIMIT ?"#
        );
        assert_eq!(s.args.len(), 3);
        let m = select(Dialect::Mysql, None, &q).unwrap().unwrap();
        assert_eq!(
            m.sql,
            r#"SELECT `id`, `total` FROM `odd "t"` WHERE `email` IN (?) AND `id` > ? ORDER BY `id` LIMIT ?"#
        );
        let pg = pg_table();
        let p = select(Dialect::Postgres, Some(&pg), &q).unwrap().unwrap();
        assert_eq!(
            p.sql,
            r#"SELECT "id", "total"::pg_catalog.text FROM "odd ""t""" WHERE "email" = ANY($1) AND "id" > $2 ORDER BY "id" LIMIT $3"#
        );
        assert_eq!(p.args[0], Arg::Texts(vec![t("'; DROP TABLE x; --")]));
    }

    #[test]
    fn postgres_casts_only_across_families() {
        let pg = pg_table();
        let mut q = select_of(vec![Value::Text("42".into())], None);
        q.filter_column = t("id");
        let p = select(Dialect::Postgres, Some(&pg), &q).unwrap().unwrap();
        assert!(
            p.sql.contains(r#""id" = ANY($1::pg_catalog.int4[])"#),
            "{}",
            p.sql
        );
        q.values = vec![Value::Int(1), Value::Text("2".into())];
        let p = select(Dialect::Postgres, Some(&pg), &q).unwrap().unwrap();
        assert!(
            p.sql.contains(r#""id" IN ($1, $2::pg_catalog.int4)"#),
            "{}",
            p.sql
        );
        q.filter_column = t("uid");
        q.values = vec![Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())];
        let p = select(Dialect::Postgres, Some(&pg), &q).unwrap().unwrap();
        assert!(
            p.sql.contains(r#""uid" = ANY($1::pg_catalog.uuid[])"#),
            "{}",
            p.sql
        );
        q.filter_column = t("nope");
        assert!(matches!(
            select(Dialect::Postgres, Some(&pg), &q),
            Err(ConnectError::NoSuchColumn { .. })
        ));
    }

    #[test]
    fn no_values_means_no_statement() {
        let q = select_of(vec![Value::Null], None);
        assert_eq!(select(Dialect::Sqlite, None, &q).unwrap(), None);
        let mut bad = select_of(vec![], None);
        bad.columns = vec![t("a\0")];
        assert!(select(Dialect::Sqlite, None, &bad).is_err());
    }

    #[test]
    fn calls_are_bounded() {
        let q = select_of(vec![Value::Int(1); MAX_FILTER_VALUES + 1], None);
        assert!(matches!(
            select(Dialect::Sqlite, None, &q),
            Err(ConnectError::Request { .. })
        ));
        let mut q = select_of(vec![Value::Int(1)], None);
        q.limit = 0;
        assert!(select(Dialect::Sqlite, None, &q).is_err());
        q.limit = 1;
        q.after = Some(vec![Value::Int(1), Value::Int(2)]);
        assert!(select(Dialect::Sqlite, None, &q).is_err());
    }

    #[test]
    fn composite_keys() {
        let table = TableName::new("pt");
        let key = vec![t("a"), t("b")];
        let keys = vec![
            vec![Value::Int(1), Value::Int(2)],
            vec![Value::Int(3), Value::Int(4)],
        ];
        let s = delete(Dialect::Sqlite, None, &table, &key, &keys).unwrap();
        assert_eq!(
            s.sql,
            "DELETE FROM `pt` WHERE (`a`, `b`) IN (VALUES (?, ?), (?, ?))"
        );
        let m = delete(Dialect::Mysql, None, &table, &key, &keys).unwrap();
        assert_eq!(
            m.sql,
            "DELETE FROM `pt` WHERE (`a`, `b`) IN ((?, ?), (?, ?))"
        );
        let rows = vec![(keys[0].clone(), vec![Value::Null])];
        let u = update_each(Dialect::Mysql, None, &table, &[t("c")], &key, &rows).unwrap();
        assert_eq!(
            u.sql,
            "UPDATE `pt` SET `c` = CASE WHEN `a` = ? AND `b` = ? THEN NULL ELSE `c` END WHERE (`a`, `b`) IN ((?, ?))"
        );
    }

    #[test]
    fn update_each_uses_one_case_per_column() {
        let table = TableName::new("t");
        let key = vec![t("id")];
        let rows = vec![
            (vec![Value::Int(1)], vec![Value::Text("x".into())]),
            (vec![Value::Int(2)], vec![Value::Text("y".into())]),
        ];
        let pg = pg_table();
        let s = update_each(
            Dialect::Postgres,
            Some(&pg),
            &table,
            &[t("email")],
            &key,
            &rows,
        )
        .unwrap();
        assert_eq!(
            s.sql,
            r#"UPDATE "t" SET "email" = CASE "id" WHEN $1 THEN $2 WHEN $3 THEN $4 ELSE "email" END WHERE "id" = ANY($5)"#
        );
        assert!(check_update_each(&table, &[t("id")], &key, &rows).is_err());
    }

    #[test]
    fn batch_sizes_shrink_for_wide_keys() {
        assert_eq!(keys_per_statement(1), KEYS_PER_STATEMENT);
        assert_eq!(keys_per_statement(100), 200);
        assert_eq!(keys_per_statement(1_000_000), 1);
    }
}
