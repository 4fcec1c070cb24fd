//! A fresh Chinook database per test and backend, dropped afterwards, and the test's own view
//! of it: plain SQL on connections of its own, never through the engine or its connectors'
//! reads and writes.

use std::collections::BTreeMap;
use std::future::Future;

use ombud_connect::{Db, Dialect};
use ombud_testkit::{Backend, chinook_name, load_chinook, resume, scratch};
use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

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
    let mut scratches = Vec::new();
    for _ in 0..count {
        scratches.push(scratch(backend(dialect), "ombud_fulfil").await);
    }
    let urls: Vec<String> = scratches.iter().map(|s| s.url().to_owned()).collect();

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
    for s in scratches {
        dropped = dropped.and(s.drop_database().await);
    }
    resume(outcome);
    dropped.expect("dropping the test database");
}

/// The test server kind of `dialect`.
fn backend(dialect: Dialect) -> Backend {
    match dialect {
        Dialect::Postgres => Backend::Postgres,
        Dialect::Mysql => Backend::Mysql,
        Dialect::Sqlite => Backend::Sqlite,
    }
}

/// Chinook's name on `dialect`: PascalCase on MySQL and SQLite, snake case on PostgreSQL.
pub fn n(dialect: Dialect, pascal: &str) -> String {
    chinook_name(backend(dialect), pascal)
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

    /// Chinook, and the `Restricted` columns of `Customer` and `Invoice`.
    async fn load(&self) {
        load_chinook(backend(self.dialect), &self.url).await;
        self.exec(match self.dialect {
            Dialect::Postgres => {
                "ALTER TABLE customer ADD COLUMN restricted integer;
                 ALTER TABLE invoice ADD COLUMN restricted integer;"
            }
            Dialect::Mysql => {
                "ALTER TABLE `Customer` ADD COLUMN `Restricted` INT NULL;
                 ALTER TABLE `Invoice` ADD COLUMN `Restricted` INT NULL;"
            }
            Dialect::Sqlite => {
                "ALTER TABLE Customer ADD COLUMN Restricted INTEGER;
                 ALTER TABLE Invoice ADD COLUMN Restricted INTEGER;"
            }
        })
        .await;
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
        ombud_testkit::execute(backend(self.dialect), &self.url, sql)
            .await
            .unwrap_or_else(|e| panic!("running SQL on {:?}: {e}", self.dialect));
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
