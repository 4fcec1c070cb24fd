//! A fresh Chinook database per test and backend, dropped afterwards, and the test's own view
//! of it: plain SQL on connections of its own, never through the engine or its connectors'
//! reads and writes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ombud_connect::{Db, Dialect};
use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/mysql";

/// One Chinook database of one backend.
pub struct TestDb {
    pub dialect: Dialect,
    pub url: String,
}

/// Runs `test` on a new Chinook database of `dialect` (with the `Restricted` columns the data
/// map names) and drops the database afterwards, whether the test passed or not.
pub async fn run<F, Fut>(dialect: Dialect, test: F)
where
    F: FnOnce(TestDb) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_twins(dialect, 1, move |mut dbs| test(dbs.remove(0))).await;
}

/// Same with `count` identical databases, for comparing two ways to the same end.
pub async fn run_twins<F, Fut>(dialect: Dialect, count: usize, test: F)
where
    F: FnOnce(Vec<TestDb>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut names = Vec::new();
    let mut tempdirs = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..count {
        let name = unique_name();
        let url = match dialect {
            Dialect::Postgres => {
                let admin = admin_url(dialect);
                let mut c = PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin}: {e}"));
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut c)
                    .await
                    .expect("creating the PostgreSQL database");
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
                .expect("creating the MariaDB database");
                with_database(&admin, &name)
            }
            Dialect::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("chinook.db").display());
                tempdirs.push(dir);
                url
            }
        };
        names.push(name);
        urls.push(url);
    }

    let outcome = tokio::spawn(async move {
        let mut dbs = Vec::new();
        for url in urls {
            let t = TestDb { dialect, url };
            t.load().await;
            dbs.push(t);
        }
        test(dbs).await;
    })
    .await;

    let mut dropped = Ok(());
    for name in &names {
        let r = match dialect {
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
            Dialect::Sqlite => Ok(()),
        };
        dropped = dropped.and(r);
    }
    drop(tempdirs);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the test task did not finish: {e}"),
        }
    }
    dropped.expect("dropping the test database");
}

fn admin_url(dialect: Dialect) -> String {
    let (var, default) = match dialect {
        Dialect::Postgres => ("OMBUD_TEST_POSTGRES_URL", POSTGRES_ADMIN),
        Dialect::Mysql => ("OMBUD_TEST_MYSQL_URL", MYSQL_ADMIN),
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("ombud_fulfil_{}_{n}_{nanos}", std::process::id())
}

/// `admin` with its database replaced by `database`.
fn with_database(admin: &str, database: &str) -> String {
    let start = admin.find("://").expect("a URL with a scheme") + 3;
    let rest = &admin[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    format!("{}{}/{database}{query}", &admin[..start], &rest[..end])
}

/// The Chinook scripts of the connector tests (MIT, see their LICENSE.md).
fn script(file: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "connect",
        "tests",
        "fixtures",
        "chinook",
        file,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The script after the line that switches to the database it created (`\c`, `USE`).
fn after(script: &str, marker: &str) -> String {
    let mut lines = script.lines();
    for line in lines.by_ref() {
        if line.trim_start().starts_with(marker) {
            break;
        }
    }
    lines.collect::<Vec<_>>().join("\n")
}

/// Chinook's name on `dialect`: PascalCase on MySQL and SQLite, snake case on PostgreSQL.
pub fn n(dialect: Dialect, pascal: &str) -> String {
    if dialect != Dialect::Postgres {
        return pascal.to_owned();
    }
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A word written like a Chinook name: `Customer`, `InvoiceLine`, `CustomerId`.
fn is_pascal(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && word.chars().any(|c| c.is_ascii_lowercase())
        && !word
            .as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase())
}

/// A YAML text (data map, Fides dataset) with every PascalCase word spelt for `dialect`.
pub fn respell(dialect: Dialect, text: &str) -> String {
    if dialect != Dialect::Postgres {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_pascal(word) {
            out.push_str(&n(dialect, word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A cell as the database renders it as text (`None`: NULL), with SQLite's storage class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: Option<String>,
    /// SQLite's `typeof` (a value may change class without changing its text); empty
    /// elsewhere, where the column's type fixes it.
    pub class: String,
}

/// One table: its columns, and its rows by rendered primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: BTreeMap<String, Vec<Cell>>,
}

impl Table {
    /// The cell of `column` (Pascal name) in the row with key `key`.
    pub fn cell(&self, dialect: Dialect, key: &str, column: &str) -> Option<String> {
        let at = self
            .columns
            .iter()
            .position(|c| *c == n(dialect, column))
            .unwrap_or_else(|| panic!("no column {column}"));
        self.rows
            .get(key)
            .unwrap_or_else(|| panic!("no row {key}"))
            .get(at)
            .and_then(|c| c.text.clone())
    }
}

/// Every row of every table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub tables: BTreeMap<String, Table>,
}

impl Snapshot {
    /// SHA-256 over every table's rows in key order, leaving out the rows `except` names
    /// (actual table name, rendered key).
    pub fn checksum(&self, except: &[(String, String)]) -> String {
        let mut h = Sha256::new();
        for (name, table) in &self.tables {
            h.update(name.as_bytes());
            h.update([0xff]);
            for (key, row) in &table.rows {
                if except.iter().any(|(t, k)| t == name && k == key) {
                    continue;
                }
                h.update(key.as_bytes());
                for cell in row {
                    match &cell.text {
                        None => h.update([0]),
                        Some(t) => {
                            h.update([1]);
                            h.update((t.len() as u64).to_le_bytes());
                            h.update(t.as_bytes());
                        }
                    }
                    h.update(cell.class.as_bytes());
                    h.update([0xfe]);
                }
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn table(&self, dialect: Dialect, pascal: &str) -> &Table {
        self.tables
            .get(&n(dialect, pascal))
            .unwrap_or_else(|| panic!("no table {pascal}"))
    }

    /// `(table, key, column)` of every cell that differs from `after` (a row in only one of
    /// them counts every column).
    pub fn changes(&self, after: &Snapshot) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (name, a) in &self.tables {
            let b = after.tables.get(name).expect("the same tables");
            assert_eq!(a.columns, b.columns, "the columns of {name}");
            for key in a.rows.keys().chain(b.rows.keys()) {
                match (a.rows.get(key), b.rows.get(key)) {
                    (Some(x), Some(y)) => {
                        for (i, col) in a.columns.iter().enumerate() {
                            if x[i] != y[i] {
                                out.push((name.clone(), key.clone(), col.clone()));
                            }
                        }
                    }
                    _ => out.push((name.clone(), key.clone(), "*".into())),
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether any cell of any table contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.tables.values().any(|t| {
            t.rows.values().any(|r| {
                r.iter()
                    .any(|c| c.text.as_deref().is_some_and(|s| s.contains(needle)))
            })
        })
    }
}

impl TestDb {
    pub fn n(&self, pascal: &str) -> String {
        n(self.dialect, pascal)
    }

    /// A quoted name (the test's own quoting), from Chinook's Pascal spelling.
    pub fn q(&self, pascal: &str) -> String {
        let name = self.n(pascal);
        match self.dialect {
            Dialect::Mysql => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// `column` rendered as text by the database.
    pub fn text(&self, pascal: &str) -> String {
        let col = self.q(pascal);
        match self.dialect {
            Dialect::Postgres => format!("CAST({col} AS text)"),
            Dialect::Mysql => format!("CAST({col} AS CHAR)"),
            Dialect::Sqlite => format!("CAST({col} AS TEXT)"),
        }
    }

    async fn load(&self) {
        match self.dialect {
            Dialect::Postgres => {
                let script = after(&script("Chinook_PostgreSql.sql"), "\\c");
                self.exec(&script).await;
                self.exec(
                    "ALTER TABLE customer ADD COLUMN restricted integer;
                     ALTER TABLE invoice ADD COLUMN restricted integer;",
                )
                .await;
            }
            Dialect::Mysql => {
                let script = after(&script("Chinook_MySql.sql"), "USE");
                self.exec(&format!("SET autocommit = 0;\n{script}\nCOMMIT;"))
                    .await;
                self.exec(
                    "ALTER TABLE `Customer` ADD COLUMN `Restricted` INT NULL;
                     ALTER TABLE `Invoice` ADD COLUMN `Restricted` INT NULL;",
                )
                .await;
            }
            Dialect::Sqlite => {
                let script = script("Chinook_Sqlite.sql");
                self.exec(&format!("BEGIN;\n{script}\nCOMMIT;")).await;
                self.exec(
                    "ALTER TABLE Customer ADD COLUMN Restricted INTEGER;
                     ALTER TABLE Invoice ADD COLUMN Restricted INTEGER;",
                )
                .await;
            }
        }
    }

    async fn sqlite(&self) -> SqliteConnection {
        let path = self.url.strip_prefix("sqlite://").unwrap();
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap()
    }

    /// Runs SQL on a connection of its own.
    pub async fn exec(&self, sql: &str) {
        let q = || sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        let done = match self.dialect {
            Dialect::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.unwrap();
                q().execute(&mut c).await.map(|_| ())
            }
            Dialect::Mysql => {
                let mut c = MySqlConnection::connect(&self.url).await.unwrap();
                q().execute(&mut c).await.map(|_| ())
            }
            Dialect::Sqlite => {
                let mut c = self.sqlite().await;
                let r = q().execute(&mut c).await.map(|_| ());
                c.close().await.unwrap();
                r
            }
        };
        done.unwrap_or_else(|e| panic!("running SQL on {:?}: {e}", self.dialect));
    }

    /// The rows of a query whose columns are all text (or NULL).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        macro_rules! fetch {
            ($c:expr) => {{
                let rows = sqlx::query(AssertSqlSafe(sql.to_owned()))
                    .fetch_all($c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| {
                                r.try_get::<Option<String>, _>(i)
                                    .unwrap_or_else(|e| panic!("{sql}, column {i}: {e}"))
                            })
                            .collect()
                    })
                    .collect()
            }};
        }
        match self.dialect {
            Dialect::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.unwrap();
                fetch!(&mut c)
            }
            Dialect::Mysql => {
                let mut c = MySqlConnection::connect(&self.url).await.unwrap();
                fetch!(&mut c)
            }
            Dialect::Sqlite => {
                let mut c = self.sqlite().await;
                let out = fetch!(&mut c);
                c.close().await.unwrap();
                out
            }
        }
    }

    /// The first column of a query, as integers.
    pub async fn ints(&self, sql: &str) -> Vec<i64> {
        self.rows(sql)
            .await
            .into_iter()
            .map(|r| {
                r[0].as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("{sql}: not an integer"))
            })
            .collect()
    }

    /// Every row of every table, each cell rendered by the database, keyed by primary key.
    pub async fn snapshot(&self) -> Snapshot {
        let db = Db::connect(self.url.as_str())
            .await
            .expect("connecting to list the tables");
        let live = db.introspect(None).await.expect("listing the tables");
        db.close().await;
        let mut tables = BTreeMap::new();
        for t in &live.tables {
            let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            let key: Vec<String> = if t.primary_key.is_empty() {
                columns.clone()
            } else {
                t.primary_key.clone()
            };
            let quote = |c: &str| match self.dialect {
                Dialect::Mysql => format!("`{c}`"),
                _ => format!("\"{c}\""),
            };
            let text = |c: &str| match self.dialect {
                Dialect::Postgres => format!("CAST({} AS text)", quote(c)),
                Dialect::Mysql => format!("CAST({} AS CHAR)", quote(c)),
                Dialect::Sqlite => format!("CAST({} AS TEXT)", quote(c)),
            };
            let mut select: Vec<String> = key.iter().map(|c| text(c)).collect();
            for c in &columns {
                select.push(text(c));
                if self.dialect == Dialect::Sqlite {
                    select.push(format!("typeof({})", quote(c)));
                }
            }
            let order: Vec<String> = key.iter().map(|c| quote(c)).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                select.join(", "),
                quote(&t.name),
                order.join(", ")
            );
            let mut rows = BTreeMap::new();
            for r in self.rows(&sql).await {
                let k: Vec<String> = r[..key.len()]
                    .iter()
                    .map(|c| c.clone().unwrap_or_else(|| "NULL".into()))
                    .collect();
                let rest = &r[key.len()..];
                let cells: Vec<Cell> = if self.dialect == Dialect::Sqlite {
                    rest.chunks(2)
                        .map(|p| Cell {
                            text: p[0].clone(),
                            class: p[1].clone().unwrap_or_default(),
                        })
                        .collect()
                } else {
                    rest.iter()
                        .map(|t| Cell {
                            text: t.clone(),
                            class: String::new(),
                        })
                        .collect()
                };
                rows.insert(k.join("|"), cells);
            }
            tables.insert(t.name.clone(), Table { columns, rows });
        }
        Snapshot { tables }
    }
}
