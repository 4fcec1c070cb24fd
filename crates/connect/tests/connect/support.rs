//! Runs a test body against a fresh database on each backend, with Chinook loaded, and gives
//! the test an independent way to look at that database (its own connection and SQL).

use std::collections::BTreeMap;
use std::future::Future;

use ombud_connect::{Db, Dialect, LiveSchema, TableName};
use ombud_testkit::{Backend, chinook_name, load_chinook, resume, scratch};
use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

pub use ombud_testkit::with_database;

/// One database of one backend, with Chinook loaded, and the connector under test on it.
pub struct TestDb {
    pub dialect: Dialect,
    pub url: String,
    pub db: Db,
}

/// The test server kind of `dialect`.
fn backend(dialect: Dialect) -> Backend {
    match dialect {
        Dialect::Postgres => Backend::Postgres,
        Dialect::Mysql => Backend::Mysql,
        Dialect::Sqlite => Backend::Sqlite,
    }
}

/// Runs `test` on a new database of `dialect` with Chinook loaded; drops the database
/// afterwards whether the test passed or not.
pub async fn run<F, Fut>(dialect: Dialect, test: F)
where
    F: FnOnce(TestDb) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let scratch = scratch(backend(dialect), "ombud_connect").await;
    let url = scratch.url().to_owned();
    let outcome = tokio::spawn(async move {
        load_chinook(backend(dialect), &url).await;
        let db = Db::connect(url.as_str())
            .await
            .expect("connecting to the test database");
        let t = TestDb {
            dialect,
            url,
            db: db.clone(),
        };
        test(t).await;
        db.close().await;
    })
    .await;
    let dropped = scratch.drop_database().await;
    resume(outcome);
    dropped.expect("dropping the test database");
}

/// The admin connection of the test server of `dialect` (see [`ombud_testkit::admin_url`]).
pub fn admin_url(dialect: Dialect) -> String {
    ombud_testkit::admin_url(backend(dialect))
}

/// Chinook's names on this backend: PascalCase on MySQL and SQLite (`InvoiceLine`,
/// `CustomerId`), snake case on PostgreSQL (`invoice_line`, `customer_id`).
pub fn n(dialect: Dialect, pascal: &str) -> String {
    chinook_name(backend(dialect), pascal)
}

pub fn table(dialect: Dialect, pascal: &str) -> TableName {
    TableName::new(n(dialect, pascal))
}

impl TestDb {
    pub fn n(&self, pascal: &str) -> String {
        n(self.dialect, pascal)
    }

    pub fn table(&self, pascal: &str) -> TableName {
        table(self.dialect, pascal)
    }

    /// Runs SQL on a connection of its own, as someone with direct access would.
    pub async fn exec(&self, sql: &str) {
        ombud_testkit::execute(backend(self.dialect), &self.url, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn sqlite(&self) -> SqliteConnection {
        let path = self.url.strip_prefix("sqlite://").unwrap();
        SqliteConnectOptions::new()
            .filename(path)
            .connect()
            .await
            .unwrap()
    }

    /// The first column of each row, which must be an integer.
    pub async fn ints(&self, sql: &str) -> Vec<i64> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self.dialect {
            Dialect::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r.try_get::<i64, _>(0)
                            .or_else(|_| r.try_get::<i32, _>(0).map(i64::from))
                            .unwrap()
                    })
                    .collect()
            }
            Dialect::Mysql => {
                let mut c = MySqlConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<i64, _>(0))
                    .collect()
            }
            Dialect::Sqlite => {
                let mut c = self.sqlite().await;
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<i64, _>(0))
                    .collect()
            }
        }
    }

    /// The first column of each row as text (`NULL` → `None`), rendered by the database.
    pub async fn texts(&self, sql: &str) -> Vec<Option<String>> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self.dialect {
            Dialect::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<Option<String>, _>(0))
                    .collect()
            }
            Dialect::Mysql => {
                let mut c = MySqlConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<Option<String>, _>(0))
                    .collect()
            }
            Dialect::Sqlite => {
                let mut c = self.sqlite().await;
                sqlx::query(sql)
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<Option<String>, _>(0))
                    .collect()
            }
        }
    }

    /// A quoted name for hand-written SQL (the test's own quoting, not the crate's).
    pub fn q(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// Every row of every table, rendered exactly by the database itself (hex or quoted
    /// literals), keyed by table and then by the row's primary key.
    pub async fn snapshot(&self) -> Snapshot {
        let live: LiveSchema = self.db.introspect(None).await.expect("introspecting");
        let mut queries = Vec::new();
        for t in &live.tables {
            let render = |cols: &[String]| -> String {
                match self.dialect {
                    Dialect::Postgres => {
                        let parts: Vec<String> = cols
                            .iter()
                            .map(|c| format!("quote_nullable({}::text)", self.q(c)))
                            .collect();
                        format!("concat_ws(',', {})", parts.join(", "))
                    }
                    Dialect::Mysql => {
                        let parts: Vec<String> = cols
                            .iter()
                            .map(|c| format!("IFNULL(HEX({}), 'NULL')", self.q(c)))
                            .collect();
                        format!("CONCAT_WS(',', {})", parts.join(", "))
                    }
                    Dialect::Sqlite => {
                        let parts: Vec<String> = cols
                            .iter()
                            .map(|c| format!("quote({})", self.q(c)))
                            .collect();
                        parts.join(" || ',' || ")
                    }
                }
            };
            let all: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            let key = if t.primary_key.is_empty() {
                all.clone()
            } else {
                t.primary_key.clone()
            };
            queries.push((
                t.name.clone(),
                format!(
                    "SELECT {}, {} FROM {}",
                    render(&key),
                    render(&all),
                    self.q(&t.name)
                ),
            ));
        }
        let mut tables = BTreeMap::new();
        macro_rules! run_all {
            ($conn:expr) => {{
                let mut c = $conn;
                for (table, sql) in queries {
                    let rows: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(sql))
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                    tables.insert(table, rows.into_iter().collect());
                }
            }};
        }
        match self.dialect {
            Dialect::Postgres => run_all!(PgConnection::connect(&self.url).await.unwrap()),
            Dialect::Mysql => run_all!(MySqlConnection::connect(&self.url).await.unwrap()),
            Dialect::Sqlite => run_all!(self.sqlite().await),
        }
        Snapshot { tables }
    }
}

/// Every row of every table by primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub tables: BTreeMap<String, BTreeMap<String, String>>,
}

impl Snapshot {
    /// SHA-256 of the ordered dump, leaving out the rows `except` names (table, rendered key).
    pub fn checksum(&self, except: &[(String, String)]) -> String {
        let mut h = Sha256::new();
        for (table, rows) in &self.tables {
            for (key, row) in rows {
                if except.iter().any(|(t, k)| t == table && k == key) {
                    continue;
                }
                h.update(table.as_bytes());
                h.update([0]);
                h.update(row.as_bytes());
                h.update([0]);
            }
        }
        hex::encode(h.finalize())
    }

    /// The rows of `table` whose rendered key differs between the snapshots, or that are in
    /// only one of them.
    pub fn changed_keys(&self, after: &Snapshot, table: &str) -> Vec<String> {
        let empty = BTreeMap::new();
        let a = self.tables.get(table).unwrap_or(&empty);
        let b = after.tables.get(table).unwrap_or(&empty);
        let mut keys: Vec<String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    pub fn tables_changed(&self, after: &Snapshot) -> Vec<String> {
        self.tables
            .keys()
            .chain(after.tables.keys())
            .filter(|t| self.tables.get(*t) != after.tables.get(*t))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// The key of a single-integer-key row as [`TestDb::snapshot`] renders it.
pub fn int_key(dialect: Dialect, k: i64) -> String {
    match dialect {
        Dialect::Postgres => format!("'{k}'"),
        Dialect::Mysql => format!("{k:X}"),
        Dialect::Sqlite => k.to_string(),
    }
}

/// Generates one test per backend from `async fn body(t: TestDb)`.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::run(ombud_connect::Dialect::Postgres, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                $crate::support::run(ombud_connect::Dialect::Mysql, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::run(ombud_connect::Dialect::Sqlite, $body).await;
            }
        }
    };
}
