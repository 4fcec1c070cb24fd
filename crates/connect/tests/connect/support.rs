//! Runs a test body against a fresh database on each backend, with Chinook loaded, and gives
//! the test an independent way to look at that database (its own connection and SQL).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ombud_connect::{Db, Dialect, LiveSchema, TableName};
use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

/// One database of one backend, with Chinook loaded, and the connector under test on it.
pub struct TestDb {
    pub dialect: Dialect,
    pub url: String,
    pub db: Db,
}

/// Runs `test` on a new database of `dialect` with Chinook loaded; drops the database
/// afterwards whether the test passed or not.
pub async fn run<F, Fut>(dialect: Dialect, test: F)
where
    F: FnOnce(TestDb) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = unique_name();
    let mut tempdir = None;
    let url = match dialect {
        Dialect::Postgres => {
            let admin = admin_url(dialect);
            let mut c = PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin}: {e}"));
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut c)
                .await
                .expect("creating the PostgreSQL test database");
            with_database(&admin, &name)
        }
        Dialect::Mysql => {
            let admin = admin_url(dialect);
            let mut c = MySqlConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("MariaDB is not reachable at {admin}: {e}"));
            sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )))
            .execute(&mut c)
            .await
            .expect("creating the MySQL test database");
            with_database(&admin, &name)
        }
        Dialect::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let path = dir.path().join("chinook.db");
            tempdir = Some(dir);
            format!("sqlite://{}", path.display())
        }
    };

    let loading_url = url.clone();
    let outcome = tokio::spawn(async move {
        load_chinook(dialect, &loading_url).await;
        let db = Db::connect(loading_url.as_str())
            .await
            .expect("connecting to the test database");
        let t = TestDb {
            dialect,
            url: loading_url,
            db: db.clone(),
        };
        test(t).await;
        db.close().await;
    })
    .await;

    let dropped = match dialect {
        Dialect::Postgres => {
            let mut c = PgConnection::connect(&admin_url(dialect)).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .map(|_| ())
        }
        Dialect::Mysql => {
            let mut c = MySqlConnection::connect(&admin_url(dialect)).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
                .execute(&mut c)
                .await
                .map(|_| ())
        }
        Dialect::Sqlite => {
            drop(tempdir);
            Ok(())
        }
    };
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("test task did not finish: {e}"),
        }
    }
    dropped.expect("dropping the test database");
}

pub fn admin_url(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => {
            std::env::var("OMBUD_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_ADMIN.to_owned())
        }
        Dialect::Mysql => {
            std::env::var("OMBUD_TEST_MYSQL_URL").unwrap_or_else(|_| MYSQL_ADMIN.to_owned())
        }
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("ombud_connect_{}_{n}_{nanos}", std::process::id())
}

/// `admin_url` with its database replaced.
pub fn with_database(admin_url: &str, database: &str) -> String {
    let start = admin_url.find("://").expect("a URL with a scheme") + 3;
    let rest = &admin_url[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    format!("{}{}/{database}{query}", &admin_url[..start], &rest[..end])
}

fn fixture(file: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "chinook",
        file,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The script after its header: everything after the line that switches to the database it
/// created (`\c chinook;`, ``USE `Chinook`;``).
fn after_header(script: &str, marker: &str) -> String {
    let mut lines = script.lines();
    for line in lines.by_ref() {
        if line.trim_start().starts_with(marker) {
            break;
        }
    }
    lines.collect::<Vec<_>>().join("\n")
}

async fn load_chinook(dialect: Dialect, url: &str) {
    match dialect {
        Dialect::Postgres => {
            let script = after_header(&fixture("Chinook_PostgreSql.sql"), "\\c");
            let mut c = PgConnection::connect(url).await.unwrap();
            // One simple-query message: PostgreSQL runs it as one transaction.
            sqlx::raw_sql(AssertSqlSafe(script))
                .execute(&mut c)
                .await
                .expect("loading Chinook into PostgreSQL");
        }
        Dialect::Mysql => {
            let script = after_header(&fixture("Chinook_MySql.sql"), "USE");
            let mut c = MySqlConnection::connect(url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!(
                "SET autocommit = 0;\n{script}\nCOMMIT;"
            )))
            .execute(&mut c)
            .await
            .expect("loading Chinook into MariaDB");
        }
        Dialect::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap();
            let mut c = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            let script = fixture("Chinook_Sqlite.sql");
            sqlx::raw_sql(AssertSqlSafe(format!("BEGIN;\n{script}\nCOMMIT;")))
                .execute(&mut c)
                .await
                .expect("loading Chinook into SQLite");
            c.close().await.unwrap();
        }
    }
}

/// Chinook's names on this backend: PascalCase on MySQL and SQLite (`InvoiceLine`,
/// `CustomerId`), snake case on PostgreSQL (`invoice_line`, `customer_id`).
pub fn n(dialect: Dialect, pascal: &str) -> String {
    if dialect != Dialect::Postgres {
        return pascal.to_owned();
    }
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
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
        match self.dialect {
            Dialect::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Dialect::Mysql => {
                let mut c = MySqlConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Dialect::Sqlite => {
                let mut c = self.sqlite().await;
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
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
