//! Connections: one small sqlx pool per database, the row operations, and transactions.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlPool};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqlitePool};
use sqlx::{Arguments, AssertSqlSafe, MySql, Postgres, Row, Sqlite, Transaction};

use crate::decode;
use crate::dialect::Dialect;
use crate::error::{ConnectError, describe, redact_url, scrub};
use crate::introspect::{self, LiveSchema};
use crate::sql::{self, Arg, Family, PgColumn, PgTable, Stmt};
use crate::{Select, TableName, Value};

/// Connections per pool: the engine runs a request's steps one after another, so a few
/// connections are plenty and the organisation's database is not crowded.
const MAX_CONNECTIONS: u32 = 4;
/// How long connecting (and waiting for a free connection) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Something that holds a database URL: `&str`, `String` or a [`SecretString`] from the
/// configuration.
pub trait DatabaseUrl {
    fn expose_url(&self) -> &str;
}

impl DatabaseUrl for str {
    fn expose_url(&self) -> &str {
        self
    }
}

impl DatabaseUrl for String {
    fn expose_url(&self) -> &str {
        self
    }
}

impl DatabaseUrl for SecretString {
    fn expose_url(&self) -> &str {
        self.expose_secret()
    }
}

/// A pool of connections to one of the organisation's databases. Cloning is cheap (clones
/// share the pool and the cache of PostgreSQL column types).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The URL without its password, for messages.
    shown: String,
    pg_types: Arc<PgTypes>,
}

#[derive(Clone)]
enum Pool {
    Pg(PgPool),
    Mysql(MySqlPool),
    Sqlite(SqlitePool),
}

// The pools' own Debug shows their connect options, password included.
impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("dialect", &self.dialect())
            .field("url", &self.shown)
            .finish()
    }
}

/// PostgreSQL column types by table, read from the catalogue on first use. A column that is
/// not in the cached entry makes it read again (the table may have changed).
#[derive(Default)]
struct PgTypes {
    tables: Mutex<HashMap<TableName, Arc<PgTable>>>,
}

impl PgTypes {
    fn get(&self, table: &TableName) -> Option<Arc<PgTable>> {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(table)
            .cloned()
    }

    fn put(&self, table: &TableName, t: Arc<PgTable>) {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table.clone(), t);
    }
}

const PG_COLUMNS: &str = "\
SELECT r.oid IS NOT NULL, a.attname::text,
       quote_ident(tn.nspname) || '.' || quote_ident(t.typname),
       t.typname::text, t.typtype::text, t.typcategory::text,
       quote_ident(bn.nspname) || '.' || quote_ident(b.typname),
       b.typname::text, b.typcategory::text
FROM (SELECT pg_catalog.to_regclass($1) AS oid) r
LEFT JOIN pg_catalog.pg_attribute a
       ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace";

type PgColumnRow = (
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The columns of `table` as the statement builder needs them, from the cache when it has
/// every column in `columns`.
async fn pg_table<'c, E>(
    cache: &PgTypes,
    ex: E,
    table: &TableName,
    columns: &[&str],
) -> Result<Arc<PgTable>, ConnectError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    if let Some(t) = cache.get(table)
        && columns.iter().all(|c| t.columns.contains_key(*c))
    {
        return Ok(t);
    }
    let regclass = Dialect::Postgres.qualified(table.schema.as_deref(), &table.name)?;
    let rows: Vec<PgColumnRow> = sqlx::query_as(PG_COLUMNS)
        .bind(regclass)
        .fetch_all(ex)
        .await
        .map_err(|e| ConnectError::Query {
            op: "reading the column types of",
            table: table.to_string(),
            reason: describe(Dialect::Postgres, &e),
        })?;
    if !rows.first().is_some_and(|r| r.0) {
        return Err(ConnectError::NoSuchTable {
            table: table.to_string(),
        });
    }
    let mut t = PgTable::default();
    for (_, name, cast, typname, typtype, category, base_cast, base_name, base_category) in rows {
        let (Some(name), Some(cast), Some(typname)) = (name, cast, typname) else {
            continue;
        };
        let is_domain = typtype.as_deref() == Some("d");
        // A domain reads and compares like its base type; it is still cast to itself, so its
        // checks apply to what is written.
        let (effective, effective_category) = match (is_domain, &base_name) {
            (true, Some(b)) => (b.as_str(), base_category.as_deref()),
            _ => (typname.as_str(), category.as_deref()),
        };
        let is_array = effective_category == Some("A");
        let read_cast = if is_array || !Family::native_read(effective) {
            Some("pg_catalog.text".to_owned())
        } else if is_domain {
            base_cast
        } else {
            None
        };
        t.columns.insert(
            name,
            PgColumn {
                cast,
                family: Family::of_typname(effective),
                is_array,
                read_cast,
            },
        );
    }
    let t = Arc::new(t);
    cache.put(table, t.clone());
    Ok(t)
}

/// Applies a statement's arguments to a driver's argument list.
macro_rules! arguments {
    ($ty:ty, $args:expr, $pg_arrays:expr) => {{
        let mut a = <$ty>::default();
        let mut r: Result<(), sqlx::error::BoxDynError> = Ok(());
        for arg in $args {
            if r.is_err() {
                break;
            }
            r = match arg {
                Arg::One(Value::Null) => a.add(None::<String>),
                Arg::One(Value::Bool(b)) => a.add(b),
                Arg::One(Value::Int(i)) => a.add(i),
                Arg::One(Value::Float(f)) => a.add(f),
                Arg::One(Value::Text(s)) => a.add(s),
                Arg::One(Value::Bytes(b)) => a.add(b),
                other => $pg_arrays(&mut a, other),
            };
        }
        r.map(|()| a)
    }};
}

fn pg_arguments(args: Vec<Arg>) -> Result<PgArguments, sqlx::Error> {
    let arrays = |a: &mut PgArguments, arg: Arg| match arg {
        Arg::Ints(v) => a.add(v),
        Arg::Texts(v) => a.add(v),
        Arg::Floats(v) => a.add(v),
        Arg::Bools(v) => a.add(v),
        Arg::Blobs(v) => a.add(v),
        Arg::One(_) => Ok(()),
    };
    arguments!(PgArguments, args, arrays).map_err(sqlx::Error::Encode)
}

fn no_arrays<A>(_: &mut A, _: Arg) -> Result<(), sqlx::error::BoxDynError> {
    Err("arrays are bound on PostgreSQL only".into())
}

fn mysql_arguments(args: Vec<Arg>) -> Result<MySqlArguments, sqlx::Error> {
    arguments!(MySqlArguments, args, no_arrays).map_err(sqlx::Error::Encode)
}

fn sqlite_arguments(args: Vec<Arg>) -> Result<SqliteArguments, sqlx::Error> {
    arguments!(SqliteArguments, args, no_arrays).map_err(sqlx::Error::Encode)
}

/// MySQL refuses to compare a column of a 3-byte character set (`utf8mb3`, `latin1`) with a
/// value holding characters beyond the Basic Multilingual Plane (emoji): "Illegal mix of
/// collations" (errors 1267, 1270, 1271). Such a value cannot be stored in that column, so it
/// matches nothing there: the query is run again without it.
fn collation_mix(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|m| matches!(m.number(), 1267 | 1270 | 1271))
}

fn is_supplementary(v: &Value) -> bool {
    matches!(v, Value::Text(t) if t.chars().any(|c| u32::from(c) > 0xFFFF))
}

fn has_supplementary(values: &[Value]) -> bool {
    values.iter().any(is_supplementary)
}

fn without_supplementary(values: &[Value]) -> Vec<Value> {
    values
        .iter()
        .filter(|v| !is_supplementary(v))
        .cloned()
        .collect()
}

fn query_error(
    dialect: Dialect,
    op: &'static str,
    table: &TableName,
) -> impl Fn(sqlx::Error) -> ConnectError {
    let table = table.to_string();
    move |e| ConnectError::Query {
        op,
        table: table.clone(),
        reason: describe(dialect, &e),
    }
}

/// Opens and closes one connection, so that a wrong address, password or database fails at
/// once with the database's reason (the pool itself would retry until its timeout).
async fn first_connection<C: sqlx::Connection>(
    options: &<C as sqlx::Connection>::Options,
) -> Result<Result<(), sqlx::Error>, tokio::time::error::Elapsed> {
    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let c = C::connect_with(options).await?;
        c.close().await
    })
    .await
}

fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(CONNECT_TIMEOUT)
}

impl Db {
    /// Connects to `url` (`postgres://`, `postgresql://`, `mysql://`, `mariadb://`, `sqlite:`),
    /// with at most four connections and a 10-second connect timeout. A SQLite file must
    /// exist; it is opened read-write with foreign keys enforced, in whatever journal mode it
    /// has. Errors show the URL without its password.
    pub async fn connect(url: &(impl DatabaseUrl + ?Sized)) -> Result<Db, ConnectError> {
        let url = url.expose_url();
        let shown = redact_url(url);
        let dialect = Dialect::of_url(url)
            .ok_or_else(|| ConnectError::UnsupportedUrl { url: shown.clone() })?;
        let invalid = |reason: &str| ConnectError::InvalidUrl {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        let failed = |e: sqlx::Error| ConnectError::Connect {
            url: shown.clone(),
            reason: scrub(describe(dialect, &e), url),
        };
        let timed_out = |_| ConnectError::Connect {
            url: shown.clone(),
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        };
        let pool = match dialect {
            Dialect::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|_| invalid("not a valid PostgreSQL URL"))?;
                first_connection::<sqlx::PgConnection>(&options)
                    .await
                    .map_err(timed_out)?
                    .map_err(failed)?;
                Pool::Pg(pool_options::<Postgres>().connect_lazy_with(options))
            }
            Dialect::Mysql => {
                let normalised = match url.split_once("://") {
                    Some((_, rest)) => format!("mysql://{rest}"),
                    None => url.to_owned(),
                };
                let options = MySqlConnectOptions::from_str(&normalised)
                    .map_err(|_| invalid("not a valid MySQL URL"))?;
                first_connection::<sqlx::MySqlConnection>(&options)
                    .await
                    .map_err(timed_out)?
                    .map_err(failed)?;
                Pool::Mysql(pool_options::<MySql>().connect_lazy_with(options))
            }
            Dialect::Sqlite => {
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(invalid(
                        "an in-memory SQLite database is not the organisation's database",
                    ));
                }
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|_| invalid("not a valid SQLite URL"))?
                    .create_if_missing(false)
                    .read_only(false)
                    .foreign_keys(true);
                first_connection::<sqlx::SqliteConnection>(&options)
                    .await
                    .map_err(timed_out)?
                    .map_err(failed)?;
                Pool::Sqlite(pool_options::<Sqlite>().connect_lazy_with(options))
            }
        };
        Ok(Db {
            pool,
            shown,
            pg_types: Arc::default(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Pg(_) => Dialect::Postgres,
            Pool::Mysql(_) => Dialect::Mysql,
            Pool::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Closes every connection of the pool (and of its clones).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Pg(p) => p.close().await,
            Pool::Mysql(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }

    /// Forgets the PostgreSQL column types read so far (after the schema changed).
    pub fn forget_column_types(&self) {
        self.pg_types
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The tables of the database (of `schema`: default `public` on PostgreSQL, the
    /// connection's database on MySQL, `main` on SQLite) with their columns and keys.
    pub async fn introspect(&self, schema: Option<&str>) -> Result<LiveSchema, ConnectError> {
        match &self.pool {
            Pool::Pg(p) => introspect::postgres(p, schema).await,
            Pool::Mysql(p) => introspect::mysql(p, schema).await,
            Pool::Sqlite(p) => introspect::sqlite(p, schema).await,
        }
    }

    async fn pg_table(
        &self,
        table: &TableName,
        columns: &[&str],
    ) -> Result<Option<Arc<PgTable>>, ConnectError> {
        match &self.pool {
            Pool::Pg(p) => Ok(Some(pg_table(&self.pg_types, p, table, columns).await?)),
            _ => Ok(None),
        }
    }

    /// The rows whose `filter_column` is one of `q.values`, at most `q.limit`, in key order
    /// after `q.after`: each row holds `q.columns` in order.
    pub async fn select(&self, q: &Select) -> Result<Vec<Vec<Value>>, ConnectError> {
        let mut names: Vec<&str> = q.columns.iter().map(String::as_str).collect();
        names.push(&q.filter_column);
        names.extend(q.key.iter().map(String::as_str));
        let pg = self.pg_table(&q.table, &names).await?;
        let Some(stmt) = sql::select(self.dialect(), pg.as_deref(), q)? else {
            return Ok(Vec::new());
        };
        let fail = query_error(self.dialect(), "select", &q.table);
        let Stmt { sql, args } = stmt;
        match &self.pool {
            Pool::Pg(p) => sqlx::query_with(AssertSqlSafe(sql), pg_arguments(args).map_err(&fail)?)
                .fetch_all(p)
                .await
                .map_err(&fail)?
                .iter()
                .map(|r| decode::pg_row(r, &q.table, &q.columns))
                .collect(),
            Pool::Mysql(p) => {
                match sqlx::query_with(AssertSqlSafe(sql), mysql_arguments(args).map_err(&fail)?)
                    .fetch_all(p)
                    .await
                {
                    Err(e) if collation_mix(&e) && has_supplementary(&q.values) => {
                        let values = without_supplementary(&q.values);
                        if values.is_empty() {
                            return Ok(Vec::new());
                        }
                        let q = Select {
                            values,
                            ..q.clone()
                        };
                        Box::pin(self.select(&q)).await
                    }
                    rows => rows
                        .map_err(&fail)?
                        .iter()
                        .map(|r| decode::mysql_row(r, &q.table, &q.columns))
                        .collect(),
                }
            }
            Pool::Sqlite(p) => {
                sqlx::query_with(AssertSqlSafe(sql), sqlite_arguments(args).map_err(&fail)?)
                    .fetch_all(p)
                    .await
                    .map_err(&fail)?
                    .iter()
                    .map(|r| decode::sqlite_row(r, &q.table, &q.columns))
                    .collect()
            }
        }
    }

    /// How many rows have `filter_column` in `values` (at most 1000 values; NULLs match
    /// nothing).
    pub async fn count(
        &self,
        table: &TableName,
        filter_column: &str,
        values: &[Value],
    ) -> Result<u64, ConnectError> {
        let pg = self.pg_table(table, &[filter_column]).await?;
        let Some(stmt) = sql::count(self.dialect(), pg.as_deref(), table, filter_column, values)?
        else {
            return Ok(0);
        };
        let fail = query_error(self.dialect(), "count", table);
        let Stmt { sql, args } = stmt;
        let n: i64 = match &self.pool {
            Pool::Pg(p) => sqlx::query_with(AssertSqlSafe(sql), pg_arguments(args).map_err(&fail)?)
                .fetch_one(p)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(&fail)?,
            Pool::Mysql(p) => {
                match sqlx::query_with(AssertSqlSafe(sql), mysql_arguments(args).map_err(&fail)?)
                    .fetch_one(p)
                    .await
                    .and_then(|r| r.try_get(0))
                {
                    Err(e) if collation_mix(&e) && has_supplementary(values) => {
                        let values = without_supplementary(values);
                        if values.is_empty() {
                            return Ok(0);
                        }
                        return Box::pin(self.count(table, filter_column, &values)).await;
                    }
                    n => n.map_err(&fail)?,
                }
            }
            Pool::Sqlite(p) => {
                sqlx::query_with(AssertSqlSafe(sql), sqlite_arguments(args).map_err(&fail)?)
                    .fetch_one(p)
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(&fail)?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Starts a transaction. Dropping the [`Tx`] without [`Tx::commit`] rolls it back.
    pub async fn begin(&self) -> Result<Tx, ConnectError> {
        let fail = |e: sqlx::Error| ConnectError::Database {
            op: "starting a transaction",
            reason: describe(self.dialect(), &e),
        };
        let inner = match &self.pool {
            Pool::Pg(p) => TxInner::Pg(p.begin().await.map_err(fail)?),
            Pool::Mysql(p) => TxInner::Mysql(p.begin().await.map_err(fail)?),
            Pool::Sqlite(p) => TxInner::Sqlite(p.begin().await.map_err(fail)?),
        };
        Ok(Tx {
            inner,
            pg_types: self.pg_types.clone(),
        })
    }
}

/// A transaction on one connection: the writes of a request step, committed together.
pub struct Tx {
    inner: TxInner,
    pg_types: Arc<PgTypes>,
}

enum TxInner {
    Pg(Transaction<'static, Postgres>),
    Mysql(Transaction<'static, MySql>),
    Sqlite(Transaction<'static, Sqlite>),
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("dialect", &self.dialect())
            .finish()
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Pg(_) => Dialect::Postgres,
            TxInner::Mysql(_) => Dialect::Mysql,
            TxInner::Sqlite(_) => Dialect::Sqlite,
        }
    }

    async fn pg_table(
        &mut self,
        table: &TableName,
        columns: &[&str],
    ) -> Result<Option<Arc<PgTable>>, ConnectError> {
        match &mut self.inner {
            TxInner::Pg(tx) => Ok(Some(
                pg_table(&self.pg_types, &mut **tx, table, columns).await?,
            )),
            _ => Ok(None),
        }
    }

    async fn execute(
        &mut self,
        op: &'static str,
        table: &TableName,
        stmt: Stmt,
    ) -> Result<u64, ConnectError> {
        let fail = query_error(self.dialect(), op, table);
        let Stmt { sql, args } = stmt;
        let done = match &mut self.inner {
            TxInner::Pg(tx) => {
                sqlx::query_with(AssertSqlSafe(sql), pg_arguments(args).map_err(&fail)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(&fail)?
                    .rows_affected()
            }
            TxInner::Mysql(tx) => {
                sqlx::query_with(AssertSqlSafe(sql), mysql_arguments(args).map_err(&fail)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(&fail)?
                    .rows_affected()
            }
            TxInner::Sqlite(tx) => {
                sqlx::query_with(AssertSqlSafe(sql), sqlite_arguments(args).map_err(&fail)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(&fail)?
                    .rows_affected()
            }
        };
        Ok(done)
    }

    /// Sets the same values on the rows with the given keys: one `UPDATE … WHERE key IN (…)`
    /// per batch of at most 500 keys. Returns the number of rows matched.
    pub async fn update_same(
        &mut self,
        table: &TableName,
        sets: &[(String, Value)],
        key: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, ConnectError> {
        sql::check_update_same(table, sets, key, keys)?;
        let names: Vec<&str> = sets
            .iter()
            .map(|(c, _)| c.as_str())
            .chain(key.iter().map(String::as_str))
            .collect();
        let pg = self.pg_table(table, &names).await?;
        let per = sql::keys_per_statement(key.len());
        let mut total = 0;
        for batch in keys.chunks(per) {
            let stmt = sql::update_same(self.dialect(), pg.as_deref(), table, sets, key, batch)?;
            total += self.execute("update", table, stmt).await?;
        }
        Ok(total)
    }

    /// Sets different values per row: `rows` holds each row's key and its new values for
    /// `columns`. One `UPDATE … SET c = CASE key WHEN … THEN … END` per batch of rows. Key
    /// columns cannot be among `columns`. Returns the number of rows matched.
    pub async fn update_each(
        &mut self,
        table: &TableName,
        columns: &[String],
        key: &[String],
        rows: &[(Vec<Value>, Vec<Value>)],
    ) -> Result<u64, ConnectError> {
        sql::check_update_each(table, columns, key, rows)?;
        let names: Vec<&str> = columns
            .iter()
            .chain(key.iter())
            .map(String::as_str)
            .collect();
        let pg = self.pg_table(table, &names).await?;
        // Each row binds its key once per column (in the CASE) and once in the WHERE.
        let per = sql::keys_per_statement(columns.len() * (key.len() + 1) + key.len());
        let mut total = 0;
        for batch in rows.chunks(per) {
            let stmt = sql::update_each(self.dialect(), pg.as_deref(), table, columns, key, batch)?;
            total += self.execute("update", table, stmt).await?;
        }
        Ok(total)
    }

    /// Deletes the rows with the given keys, 500 keys per statement. Returns the number of
    /// rows deleted.
    pub async fn delete(
        &mut self,
        table: &TableName,
        key: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, ConnectError> {
        sql::check_keys("delete", table, key, keys.iter().map(Vec::len))?;
        let names: Vec<&str> = key.iter().map(String::as_str).collect();
        let pg = self.pg_table(table, &names).await?;
        let per = sql::keys_per_statement(key.len());
        let mut total = 0;
        for batch in keys.chunks(per) {
            let stmt = sql::delete(self.dialect(), pg.as_deref(), table, key, batch)?;
            total += self.execute("delete", table, stmt).await?;
        }
        Ok(total)
    }

    pub async fn commit(self) -> Result<(), ConnectError> {
        let dialect = self.dialect();
        let r = match self.inner {
            TxInner::Pg(tx) => tx.commit().await,
            TxInner::Mysql(tx) => tx.commit().await,
            TxInner::Sqlite(tx) => tx.commit().await,
        };
        r.map_err(|e| ConnectError::Database {
            op: "committing",
            reason: describe(dialect, &e),
        })
    }

    pub async fn rollback(self) -> Result<(), ConnectError> {
        let dialect = self.dialect();
        let r = match self.inner {
            TxInner::Pg(tx) => tx.rollback().await,
            TxInner::Mysql(tx) => tx.rollback().await,
            TxInner::Sqlite(tx) => tx.rollback().await,
        };
        r.map_err(|e| ConnectError::Database {
            op: "rolling back",
            reason: describe(dialect, &e),
        })
    }
}
