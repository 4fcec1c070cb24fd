//! ombud's own storage: policy versions and the audit log (and, later, the consent ledger and
//! rights requests).
//!
//! One interface, [`Store`], with two backends:
//! - **SQLite**, the embedded default: one file in WAL mode, a single writer connection.
//! - **PostgreSQL**, for scale-out: any number of ombud nodes share one database, so every
//!   write that must be ordered (audit appends) takes a row lock.
//!
//! Each backend has its own migrations (`migrations/sqlite`, `migrations/postgres`), embedded in
//! the binary and run on connect. Queries are plain SQL strings checked by the conformance suite
//! (`tests/conformance.rs`), which runs every test against both backends, rather than by
//! compile-time macros that could only check one of them.
//!
//! Times are stored as unix microseconds (`*_us` columns) in both backends, so both sort and
//! compare them the same way.
//!
//! Every write that the audit log must record goes through a method here that appends the
//! audit entry in the same transaction, so an effect is never stored without its entry.

mod common;
pub mod consent;
mod consent_cache;
mod error;
mod model;
mod postgres;
mod sqlite;

use std::path::Path;

use ombud_domain::consent::{State, SubjectKey};

pub use consent::{ConsentEvent, ConsentWriter, NewConsentEvent};
pub use error::StoreError;
pub use model::{
    AuditReport, NewAuditEntry, NewPolicyVersion, PolicyVersion, PolicyVersionSummary,
};
pub use ombud_domain::audit::{AuditRecord, BreakKind, ChainBreak, Hash};

use postgres::PgStore;
use sqlite::SqliteStore;

/// A handle to ombud's database. Cloning is cheap (the clones share the connection pools).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// An enum rather than a trait object: two backends, known at compile time, no boxing of async
/// methods, and each method's dispatch is visible in one `match`.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend this store uses.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(s) => s.$method($($arg),*).await,
            Backend::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// - `sqlite:///abs/path.db`, `sqlite://relative.db` or `sqlite:relative.db`: a SQLite file,
    ///   created (with its folder) if missing.
    /// - `postgres://…` or `postgresql://…`: a PostgreSQL database, which must exist.
    ///
    /// In-memory SQLite is refused: the store promises that what it acknowledges survives a
    /// restart.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
                return Err(StoreError::Invalid(
                    "a SQLite URL must name a database file",
                ));
            }
            if path.contains('?') {
                return Err(StoreError::Invalid(
                    "SQLite URL parameters are not supported; ombud sets its own",
                ));
            }
            return Store::open_sqlite(Path::new(path)).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = Store {
                backend: Backend::Postgres(PgStore::connect(url).await?),
            };
            tracing::info!(backend = "postgres", "store opened");
            return Ok(store);
        }
        Err(StoreError::Invalid(
            "database URL must start with sqlite: or postgres://",
        ))
    }

    /// Opens (creating if missing, folder included) the SQLite database file at `path` and
    /// brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let store = Store {
            backend: Backend::Sqlite(SqliteStore::open(path).await?),
        };
        tracing::info!(backend = "sqlite", "store opened");
        Ok(store)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    /// Closes all connections, waiting for queries in flight. Clones of this store stop working.
    pub async fn close(&self) {
        dispatch!(self.close())
    }

    /// Records `p` as the policy in force.
    ///
    /// If the most recently activated version has the same hash, it is returned unchanged, so
    /// restarting with the same policy creates nothing. Otherwise a new version is stored with
    /// the current time, together with a `policy.activated` audit entry in the same
    /// transaction. Activating an older policy again creates a new version: the history shows
    /// what was in force when.
    pub async fn activate_policy(
        &self,
        p: NewPolicyVersion<'_>,
    ) -> Result<PolicyVersion, StoreError> {
        common::check_policy(&p)?;
        let version = dispatch!(self.activate_policy(&p))?;
        tracing::debug!(policy_version = version.id, "policy version in force");
        Ok(version)
    }

    /// The most recently activated policy version, if any was ever activated.
    pub async fn current_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        dispatch!(self.current_policy())
    }

    /// The policy version with this id.
    pub async fn policy_version(&self, id: i64) -> Result<Option<PolicyVersion>, StoreError> {
        dispatch!(self.policy_version(id))
    }

    /// All policy versions, newest first, without their content.
    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersionSummary>, StoreError> {
        dispatch!(self.policy_versions())
    }

    /// Appends one entry to the audit log and returns it as stored.
    ///
    /// Safe with concurrent writers, in this process and (on PostgreSQL) on other nodes: appends
    /// are serialised, so the chain stays contiguous.
    pub async fn append_audit(&self, e: NewAuditEntry<'_>) -> Result<AuditRecord, StoreError> {
        let mut records = self.append_audit_many(&[e]).await?;
        records
            .pop()
            .ok_or_else(|| StoreError::Corrupt("append returned no entry".to_owned()))
    }

    /// Appends several entries in one transaction (one disk sync), all or none. For jobs that
    /// record many steps at once, such as a retention run.
    pub async fn append_audit_many(
        &self,
        entries: &[NewAuditEntry<'_>],
    ) -> Result<Vec<AuditRecord>, StoreError> {
        for e in entries {
            common::check_audit(e)?;
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self.append_audit(entries))
    }

    /// Up to `limit` audit entries with `seq > after_seq`, in `seq` order. Start with
    /// `after_seq = 0` and pass the last `seq` seen to get the next page.
    pub async fn audit_page(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        dispatch!(self.audit_page(after_seq, limit))
    }

    /// Checks the whole audit chain against its recorded head, a page at a time, on one
    /// consistent snapshot. A broken chain is a successful check with a failing
    /// [`AuditReport::result`]; `Err` means the check itself couldn't run.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let report = dispatch!(self.verify_audit())?;
        match &report.result {
            Ok(()) => tracing::info!(checked = report.checked, "audit chain intact"),
            Err(b) => tracing::error!(checked = report.checked, "audit chain broken: {b}"),
        }
        Ok(report)
    }

    /// Records consent events in one transaction, in order, and updates the derived state.
    /// Use [`ConsentWriter`] for high rates: it batches submissions from many callers.
    pub async fn record_consent(
        &self,
        events: &[NewConsentEvent],
    ) -> Result<Vec<ConsentEvent>, StoreError> {
        for e in events {
            consent::check_event(e)?;
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let seqs = dispatch!(self.record_consent(events))?;
        Ok(seqs
            .into_iter()
            .zip(events)
            .map(|(seq, e)| ConsentEvent {
                seq,
                event: e.clone(),
            })
            .collect())
    }

    /// How many consent events the ledger holds.
    pub async fn consent_event_count(&self) -> Result<i64, StoreError> {
        dispatch!(self.consent_event_count())
    }

    /// `subject` and every subject linked to it: together they are one person.
    pub async fn consent_subjects(
        &self,
        subject: &SubjectKey,
    ) -> Result<Vec<SubjectKey>, StoreError> {
        dispatch!(self.consent_subjects(subject))
    }

    /// The current consent states of the given subjects, oldest decision first.
    pub async fn consent_states(&self, subjects: &[SubjectKey]) -> Result<Vec<State>, StoreError> {
        dispatch!(self.consent_states(subjects))
    }

    /// Up to `limit` consent events of the given subjects with `seq > after`, oldest first.
    pub async fn consent_history(
        &self,
        subjects: &[SubjectKey],
        after: i64,
        limit: u32,
    ) -> Result<Vec<ConsentEvent>, StoreError> {
        dispatch!(self.consent_history(subjects, after, limit))
    }

    /// Records that `a` and `b` are the same person (for example a visitor id and the e-mail
    /// address its browser submitted in a form), with an audit entry by `actor` in the same
    /// transaction. The entry names the kinds of subject only, never their values.
    pub async fn link_subjects(
        &self,
        a: &SubjectKey,
        b: &SubjectKey,
        actor: &str,
    ) -> Result<(), StoreError> {
        if a == b {
            return Err(StoreError::Invalid("a subject cannot be linked to itself"));
        }
        let details = serde_json::json!({ "kinds": [a.kind().key(), b.kind().key()] }).to_string();
        let audit = NewAuditEntry {
            actor,
            action: "consent.subjects_linked",
            subject: "consent:link",
            details: &details,
        };
        common::check_audit(&audit)?;
        dispatch!(self.link_subjects(a, b, &audit))
    }
}
