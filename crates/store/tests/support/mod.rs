//! Runs one test body against a fresh SQLite file or a fresh PostgreSQL database.

pub mod requests;

use std::future::Future;
use std::path::PathBuf;

use ombud_store::{Keyring, Store};
use ombud_testkit::{Backend, resume, scratch};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

/// The key the test stores seal with.
pub const TEST_KEY: [u8; 32] = [0x5e; 32];

/// A keyring with [`TEST_KEY`] only.
pub fn test_keyring() -> Keyring {
    Keyring::new(&TEST_KEY, []).expect("a 32-byte key")
}

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
        let store = Store::connect(&self.url)
            .await
            .expect("reconnecting to the test database");
        store.set_keyring(test_keyring());
        store
    }

    /// The raw `staff_user.totp_secret` column of a user, read behind the store's back.
    #[allow(dead_code)] // only the staff suite reads it
    pub async fn raw_totp_secret(&self, user_id: i64) -> Option<Vec<u8>> {
        match &self.sqlite_path {
            Some(path) => {
                let mut conn: SqliteConnection = SqliteConnectOptions::new()
                    .filename(path)
                    .connect()
                    .await
                    .expect("a raw connection");
                sqlx::query_scalar("SELECT totp_secret FROM staff_user WHERE id = ?")
                    .bind(user_id)
                    .fetch_one(&mut conn)
                    .await
                    .expect("reading the raw column")
            }
            None => {
                let mut conn = PgConnection::connect(&self.url)
                    .await
                    .expect("a raw connection");
                sqlx::query_scalar("SELECT totp_secret FROM staff_user WHERE id = $1")
                    .bind(user_id)
                    .fetch_one(&mut conn)
                    .await
                    .expect("reading the raw column")
            }
        }
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
    store.set_keyring(test_keyring());
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
    // The conformance suite runs every test on PostgreSQL as well as SQLite: without a
    // server (or OMBUD_TEST_POSTGRES_URL), this fails.
    let scratch = scratch(Backend::Postgres, "ombud_test").await;
    let url = scratch.url().to_owned();
    let outcome = tokio::spawn(async move {
        let store = Store::connect(&url)
            .await
            .expect("opening the PostgreSQL store");
        store.set_keyring(test_keyring());
        let db = TestDb {
            store: store.clone(),
            url,
            sqlite_path: None,
        };
        test(db).await;
        store.close().await;
    })
    .await;

    let dropped = scratch.drop_database().await;
    resume(outcome);
    dropped.expect("dropping the test database");
}

/// Generates one `#[tokio::test]` per backend for each named test body.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::run_sqlite(crate::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::run_postgres(crate::$name).await;
                }
            )+
        }
    };
}
pub(crate) use conformance;
