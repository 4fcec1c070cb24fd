//! The store's error type.

/// What went wrong in the store.
///
/// The `Display` text of every variant is safe to show to an end user: it never contains SQL,
/// driver messages or stored values. Driver messages can quote stored values (a unique-violation
/// message names the duplicate key), so they are only reachable through
/// [`std::error::Error::source`], for operators' logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for doesn't exist.
    #[error("not found")]
    NotFound,
    /// A concurrent change got there first (unique key taken, serialisation failure); retrying
    /// may succeed.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The caller passed something the store won't keep. The message is written by us and names
    /// the rule, never the offending value.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// The database can't be reached or is too busy; the request may succeed later.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored rows break an invariant the store relies on (a hash of the wrong length, a missing
    /// head row). Someone changed the database outside ombud.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The store (or its consent writer) is shutting down.
    #[error("the store is shutting down")]
    Closed,
    /// A sensitive field would have to be stored in clear: no encryption key was given to the
    /// store (see [`crate::Store::set_keyring`]).
    #[error(
        "no encryption key is configured, and sensitive fields are never stored in clear: set encryption_key (or secret_key)"
    )]
    NoKey,
    /// A sealed field could not be opened: its key is not configured, or it was changed.
    #[error("a sealed field cannot be opened: {0}")]
    Sealed(#[from] crate::seal::SealError),
    /// The schema couldn't be brought up to date.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                return StoreError::Unavailable(Box::new(e));
            }
            E::Database(db) => {
                if db.is_unique_violation() {
                    return StoreError::Conflict;
                }
                if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    match pg.code() {
                        // serialization_failure, deadlock_detected
                        "40001" | "40P01" => return StoreError::Conflict,
                        // connection exceptions, admin shutdown, cannot connect now
                        c if c.starts_with("08") || c.starts_with("57P") => {
                            return StoreError::Unavailable(Box::new(e));
                        }
                        _ => {}
                    }
                }
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_BUSY and SQLITE_LOCKED, including their extended codes: another
                    // process held the lock for longer than busy_timeout.
                    let primary = db
                        .code()
                        .and_then(|c| c.parse::<i32>().ok())
                        .map(|c| c & 0xff);
                    if matches!(primary, Some(5 | 6)) {
                        return StoreError::Unavailable(Box::new(e));
                    }
                }
            }
            _ => {}
        }
        StoreError::Database(e)
    }
}
