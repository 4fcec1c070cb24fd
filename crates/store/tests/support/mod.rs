//! Runs one test body against a fresh SQLite file or a fresh PostgreSQL database.

pub mod requests;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ombud_store::Store;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store on a database of its own, plus what a test needs to reach that database behind the
/// store's back.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    sqlite_path: Option<PathBuf>,
}

impl TestDb {
    pub fn expected_backend(&self) -> &'static str {
        if self.sqlite_path.is_some() {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// A second, independent store on the same database: another process or another node.
    pub async fn reconnect(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("reconnecting to the test database")
    }

    /// Runs SQL on a separate raw connection, as someone with direct database access would.
    pub async fn raw(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        match &self.sqlite_path {
            Some(path) => {
                let mut conn: SqliteConnection =
                    SqliteConnectOptions::new().filename(path).connect().await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
            None => {
                let mut conn = PgConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    /// Like [`TestDb::raw`], after removing the database's append-only guard on `audit_log`:
    /// the attacker the hash chain exists for.
    pub async fn tamper(&self, sql: &'static str) {
        let unguard = match self.sqlite_path {
            Some(_) => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
            None => "ALTER TABLE audit_log DISABLE TRIGGER USER;",
        };
        self.raw(unguard)
            .await
            .expect("dropping the append-only guard");
        self.raw(sql).await.expect("tampering with audit_log");
    }
}

/// Runs `test` on a store backed by a new SQLite file in a temporary folder.
pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("creating a temporary folder");
    // A nested, not yet existing folder: the store must create it.
    let path = dir.path().join("data").join("ombud.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url)
        .await
        .expect("opening the SQLite store");
    let db = TestDb {
        store: store.clone(),
        url,
        sqlite_path: Some(path),
    };
    let outcome = tokio::spawn(test(db)).await;
    store.close().await;
    drop(dir);
    resume(outcome);
}

/// Runs `test` on a store backed by a new PostgreSQL database, dropped afterwards whether the
/// test passed or not.
pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url =
        std::env::var("OMBUD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {admin_url}: {e}. The conformance suite runs every \
             test on PostgreSQL as well as SQLite; start PostgreSQL or point \
             OMBUD_TEST_POSTGRES_URL at an admin connection that may create databases."
        )
    });
    let name = unique_database_name();
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("creating the test database");

    let url = with_database(&admin_url, &name);
    let outcome = tokio::spawn(async move {
        let store = Store::connect(&url)
            .await
            .expect("opening the PostgreSQL store");
        let db = TestDb {
            store: store.clone(),
            url,
            sqlite_path: None,
        };
        test(db).await;
        store.close().await;
    })
    .await;

    // FORCE ends connections that a failed test left open.
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    resume(outcome);
    dropped.expect("dropping the test database");
}

/// Re-raises a test body's panic on the test's own thread, so the test fails with its message.
fn resume(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("test task did not finish: {e}"),
        }
    }
}

fn unique_database_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("ombud_test_{}_{n}_{nanos}", std::process::id())
}

/// `admin_url` with its database name replaced, keeping any `?parameters`.
fn with_database(admin_url: &str, database: &str) -> String {
    let authority_start = admin_url
        .find("://")
        .map(|i| i + 3)
        .expect("the PostgreSQL URL has a scheme");
    let rest = &admin_url[authority_start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    format!(
        "{}{}/{database}{query}",
        &admin_url[..authority_start],
        &rest[..authority_end]
    )
}

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
}
