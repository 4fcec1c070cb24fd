//! Scratch databases: a fresh, uniquely named PostgreSQL or MariaDB database on the test
//! server (or a SQLite file in a temporary folder) that the test drops afterwards, and the
//! Chinook sample loaded into one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tempfile::TempDir;

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

/// A database server kind the tests run on (MariaDB counts as MySQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Mysql,
    Sqlite,
}

impl Backend {
    /// The server's name in messages.
    fn server(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MariaDB",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// The admin connection of the test server of `backend`: `OMBUD_TEST_POSTGRES_URL` or
/// `OMBUD_TEST_MYSQL_URL` when set, else root on 127.0.0.1 (database `test`). It must be
/// allowed to create and drop databases.
///
/// # Panics
///
/// For [`Backend::Sqlite`], which needs no server.
pub fn admin_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::Postgres => ("OMBUD_TEST_POSTGRES_URL", POSTGRES_ADMIN),
        Backend::Mysql => ("OMBUD_TEST_MYSQL_URL", MYSQL_ADMIN),
        Backend::Sqlite => unreachable!("SQLite needs no server"),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// `admin` (a database URL) with its database replaced by `database`, keeping any
/// `?parameters`.
pub fn with_database(admin: &str, database: &str) -> String {
    let start = admin.find("://").expect("a URL with a scheme") + 3;
    let rest = &admin[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    format!("{}{}/{database}{query}", &admin[..start], &rest[..end])
}

/// A database name no other test, or other run of the tests, uses at the same time:
/// `{prefix}_{process id}_{counter}_{nanoseconds}`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A fresh, empty database of its own. Drop it with [`Scratch::drop_database`] once the test
/// is over, whether it passed or not: dropping the value itself removes a SQLite file but
/// leaves a server's database behind.
#[derive(Debug)]
pub struct Scratch {
    backend: Backend,
    name: String,
    url: String,
    /// The connection that created the database, to drop it with (servers only).
    admin: Option<String>,
    /// The folder of the SQLite file.
    dir: Option<TempDir>,
}

/// Creates a new database on the test server of `backend`, named
/// [`unique_name`]`(prefix)`; for SQLite, the URL of `{prefix}.db` in a new temporary folder
/// (created by the first connection that asks for it). MariaDB databases are `utf8mb4` with
/// `utf8mb4_unicode_ci`.
///
/// # Panics
///
/// When the server is not reachable at [`admin_url`] or does not create the database.
pub async fn scratch(backend: Backend, prefix: &str) -> Scratch {
    let name = unique_name(prefix);
    let create = match backend {
        Backend::Postgres => format!("CREATE DATABASE \"{name}\""),
        Backend::Mysql => {
            format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{prefix}.db")).display()
            );
            return Scratch {
                backend,
                name,
                url,
                admin: None,
                dir: Some(dir),
            };
        }
    };
    let admin = admin_url(backend);
    let var = match backend {
        Backend::Postgres => "OMBUD_TEST_POSTGRES_URL",
        _ => "OMBUD_TEST_MYSQL_URL",
    };
    let server = backend.server();
    execute(backend, &admin, &create).await.unwrap_or_else(|e| {
        panic!(
            "creating a test database on {server} at {admin}: {e}. Start {server}, or point \
                 {var} at an admin connection that may create databases."
        )
    });
    Scratch {
        backend,
        url: with_database(&admin, &name),
        name,
        admin: Some(admin),
        dir: None,
    }
}

impl Scratch {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's name on the server (unused for SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL to connect to the database with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite file (it may not exist yet).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let path = self.url.strip_prefix("sqlite://")?;
        self.dir.as_ref().map(|_| PathBuf::from(path))
    }

    /// Drops the database (with `WITH (FORCE)` on PostgreSQL, which ends the connections a
    /// failed test left open), or removes the SQLite file's folder.
    pub async fn drop_database(self) -> Result<(), sqlx::Error> {
        let Some(admin) = &self.admin else {
            drop(self.dir);
            return Ok(());
        };
        let name = &self.name;
        let sql = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        execute(self.backend, admin, &sql).await
    }
}

/// Re-raises the panic of a test body that ran as a task, on the test's own thread, so that
/// the test fails with the body's message; or gives what the body returned.
///
/// # Panics
///
/// When the body panicked, or its task was cancelled.
pub fn resume<T>(outcome: Result<T, tokio::task::JoinError>) -> T {
    match outcome {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the test task did not finish: {e}"),
        },
    }
}

/// Runs `sql` (one or more statements, no parameters) on a connection of its own to `url`,
/// closed afterwards. A SQLite file is created if missing.
pub async fn execute(backend: Backend, url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let q = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
    match backend {
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await?;
            q.execute(&mut c).await?;
            c.close().await
        }
        Backend::Mysql => {
            let mut c = MySqlConnection::connect(url).await?;
            q.execute(&mut c).await?;
            c.close().await
        }
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let mut c = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .connect()
                .await?;
            q.execute(&mut c).await?;
            c.close().await
        }
    }
}

/// The Chinook scripts (MIT, see the LICENSE.md beside them).
fn chinook_script(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connect/tests/fixtures/chinook")
        .join(file);
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

/// Loads the Chinook sample (version 1.4.5) into the empty database at `url`, in one
/// transaction: snake case names on PostgreSQL, PascalCase elsewhere (see [`chinook_name`]).
///
/// # Panics
///
/// When the database does not take the script.
pub async fn load_chinook(backend: Backend, url: &str) {
    let sql = match backend {
        // One simple-query message: PostgreSQL runs it as one transaction.
        Backend::Postgres => after_header(&chinook_script("Chinook_PostgreSql.sql"), "\\c"),
        Backend::Mysql => {
            let script = after_header(&chinook_script("Chinook_MySql.sql"), "USE");
            format!("SET autocommit = 0;\n{script}\nCOMMIT;")
        }
        Backend::Sqlite => {
            let script = chinook_script("Chinook_Sqlite.sql");
            format!("BEGIN;\n{script}\nCOMMIT;")
        }
    };
    execute(backend, url, &sql)
        .await
        .unwrap_or_else(|e| panic!("loading Chinook into {}: {e}", backend.server()));
}

/// Chinook's name on `backend` for its PascalCase spelling: as is on MySQL and SQLite
/// (`InvoiceLine`, `CustomerId`), snake case on PostgreSQL (`invoice_line`, `customer_id`).
pub fn chinook_name(backend: Backend, pascal: &str) -> String {
    if backend != Backend::Postgres {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test", "y"),
            "mysql://root@127.0.0.1:3306/y"
        );
    }

    #[test]
    fn unique_names_differ() {
        let (a, b) = (unique_name("ombud_x"), unique_name("ombud_x"));
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("ombud_x_{}_", std::process::id())));
    }

    #[test]
    fn chinook_names() {
        assert_eq!(
            chinook_name(Backend::Postgres, "InvoiceLine"),
            "invoice_line"
        );
        assert_eq!(chinook_name(Backend::Postgres, "CustomerId"), "customer_id");
        assert_eq!(chinook_name(Backend::Mysql, "CustomerId"), "CustomerId");
        assert_eq!(chinook_name(Backend::Sqlite, "Invoice"), "Invoice");
    }

    #[tokio::test]
    async fn resume_gives_the_value_or_the_panic() {
        assert_eq!(resume(tokio::spawn(async { 7 }).await), 7);
        let failed: Result<(), _> = tokio::spawn(async { panic!("the body's message") }).await;
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resume(failed))).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body's message"));
    }

    /// A scratch database exists, holds what the test writes, and is gone once dropped.
    async fn round_trip(backend: Backend) {
        let db = scratch(backend, "ombud_testkit").await;
        load_chinook(backend, db.url()).await;
        let genre = chinook_name(backend, "Genre");
        execute(backend, db.url(), &format!("SELECT 1 FROM {genre}"))
            .await
            .expect("Chinook's tables are there");
        let (url, path) = (db.url().to_owned(), db.sqlite_path());
        db.drop_database().await.expect("dropping");
        match path {
            Some(path) => assert!(!path.exists(), "{} is left", path.display()),
            None => assert!(
                execute(backend, &url, "SELECT 1").await.is_err(),
                "{url} is left"
            ),
        }
    }

    #[tokio::test]
    async fn postgres_round_trip() {
        round_trip(Backend::Postgres).await;
    }

    #[tokio::test]
    async fn mysql_round_trip() {
        round_trip(Backend::Mysql).await;
    }

    #[tokio::test]
    async fn sqlite_round_trip() {
        round_trip(Backend::Sqlite).await;
    }
}
