//! The organisation's databases, opened on first use and kept open: one small pool per
//! connection name of the data map.

use std::collections::{BTreeMap, HashMap};

use ombud_connect::Db;
use ombud_domain::datamap::MappedSystem;
use secrecy::SecretString;
use tokio::sync::Mutex;

use crate::error::EngineError;

/// Connection URLs by name (from the runtime configuration), and the pools opened so far.
pub struct Connections {
    urls: BTreeMap<String, SecretString>,
    open: Mutex<HashMap<String, Db>>,
}

impl Connections {
    pub fn new(urls: BTreeMap<String, SecretString>) -> Connections {
        Connections {
            urls,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The pool for `system`'s connection.
    pub async fn db(&self, system: &MappedSystem) -> Result<Db, EngineError> {
        let mut open = self.open.lock().await;
        if let Some(db) = open.get(&system.connection) {
            return Ok(db.clone());
        }
        let url = self
            .urls
            .get(&system.connection)
            .ok_or_else(|| EngineError::NoConnection {
                system: system.system.to_string(),
                connection: system.connection.clone(),
            })?;
        let db = Db::connect(url).await?;
        open.insert(system.connection.clone(), db.clone());
        Ok(db)
    }

    /// Closes every pool.
    pub async fn close(&self) {
        let open = std::mem::take(&mut *self.open.lock().await);
        for db in open.values() {
            db.close().await;
        }
    }
}
