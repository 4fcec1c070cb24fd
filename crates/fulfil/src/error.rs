//! Why a request could not be carried out. Messages name systems, tables and columns (they come
//! from the policy), never a person's data.

use ombud_connect::ConnectError;
use ombud_store::StoreError;

use crate::package::PackageError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "system `{system}` uses the connection `{connection}`, which is not configured: set OMBUD_CONNECTION_{upper} or [connections] {connection} in the configuration",
        upper = connection.to_ascii_uppercase()
    )]
    NoConnection { system: String, connection: String },
    #[error("{0}")]
    Connect(#[from] ConnectError),
    #[error("the data map: {0}")]
    Map(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the export package: {0}")]
    Package(#[from] PackageError),
    #[error("the job's description is not valid: {0}")]
    Spec(String),
    #[error("{0}")]
    Invalid(String),
    #[error("another worker took the job over (its lease ran out)")]
    LeaseLost,
    #[error("cannot write the package file: {0}")]
    Io(#[from] std::io::Error),
}

impl EngineError {
    /// Worth trying again later (a database that is down, a lost connection); otherwise the
    /// job is given up and staff are told.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Connect(ConnectError::Connect { .. }))
            || matches!(self, EngineError::Store(_) | EngineError::Io(_))
    }
}
