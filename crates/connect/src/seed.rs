//! A small SQLite database made from a trusted SQL script: the demo's trial database (and test
//! fixtures). The script is the project's own text, never input; it does not pass through the
//! connector's quoting rules because it is not built from names or values.

use std::path::Path;
use std::str::FromStr as _;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _};

use crate::error::ConnectError;

/// Creates the SQLite file `path` from `script` unless it exists already, and returns its
/// `sqlite://` URL. The file appears whole or not at all (it is written beside and renamed), so
/// a crash never leaves half a database that a later call would take as made.
pub async fn seed_sqlite(path: &Path, script: &'static str) -> Result<String, ConnectError> {
    let url = format!("sqlite://{}", path.display());
    if path.exists() {
        return Ok(url);
    }
    let failed = |reason: String| ConnectError::Connect {
        url: url.clone(),
        reason,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", partial.display()))
        .map_err(|e| failed(e.to_string()))?
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = options.connect().await.map_err(|e| failed(e.to_string()))?;
    let made = sqlx::raw_sql(AssertSqlSafe(script))
        .execute(&mut conn)
        .await;
    let closed = conn.close().await;
    if let Err(e) = made.map(|_| ()).and(closed) {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(format!("the script failed: {e}")));
    }
    std::fs::rename(&partial, path).map_err(|e| failed(e.to_string()))?;
    Ok(url)
}
