//! The execution engine on the Chinook sample database, on PostgreSQL, MariaDB and SQLite: each
//! test gets fresh databases with Chinook loaded, runs jobs the way the server does (created
//! and leased through ombud's store) and checks the result with SQL of its own.
//!
//! PostgreSQL and MariaDB are expected at their usual local ports (`OMBUD_TEST_POSTGRES_URL`,
//! `OMBUD_TEST_MYSQL_URL` override the admin URLs).

/// One test per backend from `async fn $name(t: TestDb)`, in a module of the same name.
macro_rules! on_every_backend {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::support::db::run(ombud_connect::Dialect::Postgres, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                crate::support::db::run(ombud_connect::Dialect::Mysql, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::support::db::run(ombud_connect::Dialect::Sqlite, super::$name).await;
            }
        }
    };
}

/// The same for `async fn $name(dbs: Vec<TestDb>)` on `$count` identical databases.
macro_rules! on_every_backend_twice {
    ($name:ident, $count:literal) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::support::db::run_twins(
                    ombud_connect::Dialect::Postgres,
                    $count,
                    super::$name,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                crate::support::db::run_twins(ombud_connect::Dialect::Mysql, $count, super::$name)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::support::db::run_twins(ombud_connect::Dialect::Sqlite, $count, super::$name)
                    .await;
            }
        }
    };
}

mod support;

mod access;
mod erasure;
mod fides;
mod hostile;
mod rectification;
mod restriction;
mod resume;
