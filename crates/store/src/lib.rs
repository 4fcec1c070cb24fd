//! ombud's own storage: policy versions, the audit log, the consent ledger, rights requests, the
//! mail outbox, and what carrying out requests needs (execution jobs, manual tasks, export
//! packages, restrictions of processing), and staff accounts (users, setup tokens, recovery codes,
//! sessions, API tokens).
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
pub mod console;
mod error;
pub mod execution;
mod model;
pub mod outbox;
mod postgres;
pub mod requests;
pub mod seal;
mod sqlite;
pub mod staff;

use std::path::Path;
use std::sync::{Arc, RwLock};

use ombud_domain::consent::{Answer, State, SubjectKey};
use ombud_domain::policy::{Policy, PurposeId};

pub use consent::{ConsentEvent, ConsentWriter, NewConsentEvent};
pub use console::{ConsentRate, DeadlineHits};
pub use error::StoreError;
pub use execution::{Job, JobState, NewJob, NewPackage, NewTask, Package, Restriction, Task};
pub use model::{
    AuditReport, NewAuditEntry, NewPolicyVersion, PolicyVersion, PolicyVersionSummary,
};
pub use ombud_domain::audit::{AuditRecord, BreakKind, ChainBreak, Hash};
pub use outbox::{NewMail, QueuedMail};
pub use requests::{
    Change, CodeState, Fields, NewRequest, RequestEvent, RequestFilter, RequestOrder, RequestRecord,
};

pub use seal::{KeyId, Keyring, SealError};
pub use staff::{
    ApiToken, NewApiToken, NewStaffUser, Resealed, SealedCounts, Session, StaffChange, StaffUser,
};

use postgres::PgStore;
use sqlite::SqliteStore;

/// A handle to ombud's database. Cloning is cheap (the clones share the connection pools and
/// the keyring).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Seals sensitive fields; `None` until [`Store::set_keyring`]. Shared by the clones.
    keyring: Arc<RwLock<Option<Keyring>>>,
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
            let store = Store::new(Backend::Postgres(PgStore::connect(url).await?));
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
        let store = Store::new(Backend::Sqlite(SqliteStore::open(path).await?));
        tracing::info!(backend = "sqlite", "store opened");
        Ok(store)
    }

    fn new(backend: Backend) -> Store {
        Store {
            backend,
            keyring: Arc::new(RwLock::new(None)),
        }
    }

    /// Gives the store the keys that seal sensitive fields (TOTP secrets) at rest. This store
    /// and every clone of it use them from now on; calling it again replaces them. Without a
    /// keyring, [`Store::set_totp`] refuses ([`StoreError::NoKey`]) rather than store clear
    /// text, and reading a user with a TOTP secret fails the same way.
    pub fn set_keyring(&self, keyring: Keyring) {
        tracing::debug!(key = %keyring.current_id(), "store keyring set");
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Some(keyring);
    }

    /// The keyring given by [`Store::set_keyring`], if any.
    pub fn keyring(&self) -> Option<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn require_keyring(&self) -> Result<Keyring, StoreError> {
        self.keyring().ok_or(StoreError::NoKey)
    }

    /// The user with their TOTP secret opened.
    fn opened(&self, mut user: StaffUser) -> Result<StaffUser, StoreError> {
        if let Some(sealed) = user.totp_secret.take() {
            let keyring = self.require_keyring()?;
            user.totp_secret = Some(keyring.open_with(&staff::totp_context(user.id), &sealed)?);
        }
        Ok(user)
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

    /// The sequence number of the newest audit entry, 0 when the log is empty. The console
    /// pages the log backwards from it with [`Store::audit_page`].
    pub async fn audit_head_seq(&self) -> Result<i64, StoreError> {
        dispatch!(self.audit_head_seq())
    }

    /// Consent choices per target (`purpose:…`, `cookies:…`) from the UTC day of `since` on,
    /// and how many granted it (whole days: the store keeps daily counts).
    pub async fn consent_rates(
        &self,
        since: jiff::Timestamp,
    ) -> Result<Vec<ConsentRate>, StoreError> {
        dispatch!(self.consent_rates(since.as_microsecond()))
    }

    /// Requests completed since `since`, and how many by the end of their promised due day
    /// (UTC).
    pub async fn deadline_hits(&self, since: jiff::Timestamp) -> Result<DeadlineHits, StoreError> {
        dispatch!(self.deadline_hits(since.as_microsecond()))
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

    /// May `purpose` be processed for the person `subject` belongs to, at `now_us`? The states
    /// of every linked subject decide; a restriction of processing on any of them
    /// ([`Answer::under_restriction`]) leaves only consented purposes allowed.
    pub async fn check_consent(
        &self,
        policy: &Policy,
        purpose: &PurposeId,
        subject: &SubjectKey,
        now_us: i64,
    ) -> Result<Answer, StoreError> {
        let linked = self.consent_subjects(subject).await?;
        let states = self.consent_states(&linked).await?;
        let answer = ombud_domain::consent::check(policy, purpose, &states, now_us);
        for s in &linked {
            if self.is_restricted(s).await? {
                return Ok(answer.under_restriction());
            }
        }
        Ok(answer)
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

    // -----------------------------------------------------------------------------------------
    // Rights requests

    /// Stores a new request with its first timeline entry (`received`), a `request.received`
    /// audit entry (reference, kind and channel; nothing about the person) and the letters in
    /// `r.mail`, all in one transaction.
    ///
    /// A reference that is already taken is a [`StoreError::Conflict`] and nothing is written.
    /// A request created in a closed state gets `closed_at` at once.
    pub async fn create_request(&self, r: &NewRequest<'_>) -> Result<RequestRecord, StoreError> {
        requests::check_new_request(r)?;
        let record = dispatch!(self.create_request(r))?;
        tracing::debug!(request = record.id, kind = %record.kind, "request stored");
        Ok(record)
    }

    /// The request with this id.
    pub async fn request(&self, id: i64) -> Result<Option<RequestRecord>, StoreError> {
        dispatch!(self.request(id))
    }

    /// The request with this reference (exact match).
    pub async fn request_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        dispatch!(self.request_by_reference(reference))
    }

    /// The requests that match `f`, **by ascending id** (oldest first), one page of at most
    /// `f.limit`. For the next page, pass the last id seen as `after_id`: keyset paging stays
    /// exact while requests are added, and costs the same on every page.
    pub async fn list_requests(&self, f: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError> {
        dispatch!(self.list_requests(f))
    }

    /// Applies a change to request `id` in one transaction: the state transition (only if the
    /// request is still in `c.from`), the field updates, a timeline entry, the letters in
    /// `c.mail` and an audit entry `request.<action>` on `request:<reference>`. Entering a
    /// closed state sets `closed_at`. Returns the request as it is afterwards.
    ///
    /// Errors, each with nothing written: [`StoreError::NotFound`] for an unknown id,
    /// [`StoreError::Conflict`] when the request is not in `c.from` (someone else changed it;
    /// read it again and decide again), [`StoreError::Invalid`] for input the store won't keep.
    pub async fn change_request(
        &self,
        id: i64,
        c: &Change<'_>,
    ) -> Result<RequestRecord, StoreError> {
        requests::check_change(c)?;
        let record = dispatch!(self.change_request(id, c))?;
        tracing::debug!(request = id, action = c.action, state = %record.state, "request changed");
        Ok(record)
    }

    /// The timeline of a request, oldest entry first. Empty for an unknown id (every stored
    /// request has at least its `received` entry).
    pub async fn request_timeline(&self, id: i64) -> Result<Vec<RequestEvent>, StoreError> {
        dispatch!(self.request_timeline(id))
    }

    /// Replaces the request's identity code with the one hashed as `hash`: issued now, no wrong
    /// tries yet, one more send. Only the hash is stored. [`StoreError::NotFound`] for an
    /// unknown request.
    pub async fn store_code(
        &self,
        request_id: i64,
        hash: &[u8; 32],
    ) -> Result<CodeState, StoreError> {
        dispatch!(self.store_code(request_id, hash))
    }

    /// The request's current identity code, if one was ever sent.
    pub async fn code_state(&self, request_id: i64) -> Result<Option<CodeState>, StoreError> {
        dispatch!(self.code_state(request_id))
    }

    /// Counts one wrong try of the request's code and returns the new count. The increment
    /// happens in the database, so concurrent tries (a guessing attack) are all counted.
    /// [`StoreError::NotFound`] if the request has no code.
    pub async fn code_failed(&self, request_id: i64) -> Result<u32, StoreError> {
        dispatch!(self.code_failed(request_id))
    }

    /// Records that reminder `kind` (e.g. `legal:2026-04-30`) was handled for the request.
    /// True the first time for a `(request, kind)`, false ever after, so a reminder goes out
    /// once even when several nodes run the reminder job. [`StoreError::NotFound`] for an
    /// unknown request.
    pub async fn reminder_once(&self, request_id: i64, kind: &str) -> Result<bool, StoreError> {
        requests::check_reminder_kind(kind)?;
        dispatch!(self.reminder_once(request_id, kind))
    }

    // -----------------------------------------------------------------------------------------
    // Mail outbox

    /// Queues a letter, due at once, and returns its id. Letters that go with a change to a
    /// request belong in [`NewRequest::mail`] or [`Change::mail`] instead, so they are queued
    /// in the same transaction. A `request_id` that names no request is
    /// [`StoreError::Invalid`].
    pub async fn enqueue_mail(&self, m: &NewMail<'_>) -> Result<i64, StoreError> {
        outbox::check_mail(m)?;
        dispatch!(self.enqueue_mail(m))
    }

    /// Leases up to `limit` (at most [`outbox::MAX_LEASE`]) letters that are due, the longest
    /// due first, and returns them by id. Each is hidden from every other caller, on any node,
    /// until `lease` has passed or it is reported with [`Store::mail_sent`] or
    /// [`Store::mail_failed`]. A letter whose lease expires unreported is leased again, so a
    /// dead worker's letters are taken over (see [`outbox`] on choosing the lease).
    pub async fn lease_mail(
        &self,
        limit: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let lease_us = outbox::lease_us(lease)?;
        let limit = limit.min(outbox::MAX_LEASE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        dispatch!(self.lease_mail(limit, lease_us))
    }

    /// Records that the letter was delivered; it is never leased again.
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        dispatch!(self.mail_sent(id))
    }

    /// Records a failed delivery: `error` (a description without personal data, cut to
    /// [`outbox::MAX_ERROR`] bytes), one more attempt, and the next try at `retry_at`, or
    /// never (`None`: given up). A letter already sent stays sent. [`StoreError::NotFound`]
    /// for an unknown id.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<jiff::Timestamp>,
    ) -> Result<(), StoreError> {
        dispatch!(self.mail_failed(id, error, retry_at.map(|t| t.as_microsecond())))
    }

    /// The letters of a request, oldest first, with their delivery state.
    pub async fn mail_status(&self, request_id: i64) -> Result<Vec<QueuedMail>, StoreError> {
        dispatch!(self.mail_status(request_id))
    }

    // -----------------------------------------------------------------------------------------
    // Request execution: jobs

    /// Creates a queued job and returns its id. At most one job per request and kind is
    /// unfinished (queued or running): while one is, creating it again returns its id and
    /// changes nothing, so an engine that restarts mid-way may simply create again. Once it has
    /// finished (done or failed), a new job can be created.
    ///
    /// [`StoreError::Invalid`] for a request that doesn't exist, a kind that is not 1 to 64
    /// visible ASCII characters, or a spec over [`execution::MAX_JSON`] bytes.
    pub async fn create_job(&self, j: NewJob<'_>) -> Result<i64, StoreError> {
        execution::check_new_job(&j)?;
        let id = dispatch!(self.create_job(&j))?;
        tracing::debug!(
            job = id,
            request = j.request_id,
            kind = j.kind,
            "job queued"
        );
        Ok(id)
    }

    /// Leases the oldest job that is due, to `owner` until `lease` has passed: a queued job whose
    /// `not_before` has come (or has none), or a running job whose lease has expired (its worker
    /// died or stalled; the job is taken over). The job becomes running, with one more attempt,
    /// and is returned as it is now, its last checkpoint included. `None` when nothing is due.
    ///
    /// Each job goes to one caller at a time, on any node (see [`execution`] on owners).
    pub async fn lease_job(
        &self,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError> {
        execution::check_owner(owner)?;
        let lease_us = outbox::lease_us(lease)?;
        dispatch!(self.lease_job(None, owner, lease_us))
    }

    /// Leases job `id` as [`Store::lease_job`] would, if it is due now; `None` when it is not
    /// (finished, waiting for a retry, or running under another worker's live lease). For
    /// running one request's job at once (the CLI) without touching other jobs.
    pub async fn lease_job_by_id(
        &self,
        id: i64,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError> {
        execution::check_owner(owner)?;
        let lease_us = outbox::lease_us(lease)?;
        dispatch!(self.lease_job(Some(id), owner, lease_us))
    }

    /// Extends `owner`'s lease to `lease` from now. False when `owner` no longer holds the job
    /// (it finished, or the lease expired and another worker took it over): the worker must
    /// stop. [`StoreError::NotFound`] for an unknown id.
    pub async fn renew_job(
        &self,
        id: i64,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        execution::check_owner(owner)?;
        let lease_us = outbox::lease_us(lease)?;
        dispatch!(self.renew_job(id, owner, lease_us))
    }

    /// Stores the job's checkpoint and extends the lease to `lease` from now, only while
    /// `owner` holds the job; false (and nothing written) otherwise. [`StoreError::NotFound`]
    /// for an unknown id.
    pub async fn checkpoint_job(
        &self,
        id: i64,
        owner: &str,
        checkpoint: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        execution::check_owner(owner)?;
        execution::check_json(checkpoint)?;
        let lease_us = outbox::lease_us(lease)?;
        dispatch!(self.checkpoint_job(id, owner, checkpoint, lease_us))
    }

    /// Marks the job done with its result and ends the lease, only while `owner` holds the
    /// job; false (and nothing written) otherwise. [`StoreError::NotFound`] for an unknown id.
    pub async fn finish_job(&self, id: i64, owner: &str, result: &str) -> Result<bool, StoreError> {
        execution::check_owner(owner)?;
        execution::check_json(result)?;
        let done = dispatch!(self.finish_job(id, owner, result))?;
        tracing::debug!(job = id, done, "job finished");
        Ok(done)
    }

    /// Records a failure of the job and ends the lease, only while `owner` holds the job
    /// (false and nothing written otherwise). With `retry_at` the job is queued again and not
    /// leased before that time; without, it is given up (failed, finished). `error` is kept as
    /// the job's last error, cut to [`execution::MAX_ERROR`] bytes; it should describe the
    /// failure without personal data. [`StoreError::NotFound`] for an unknown id.
    pub async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<jiff::Timestamp>,
    ) -> Result<bool, StoreError> {
        execution::check_owner(owner)?;
        let error = outbox::stored_error(error);
        let retry_at_us = retry_at.map(|t| t.as_microsecond());
        let failed = dispatch!(self.fail_job(id, owner, &error, retry_at_us))?;
        tracing::debug!(job = id, failed, retry = retry_at.is_some(), "job failed");
        Ok(failed)
    }

    /// The job with this id.
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        dispatch!(self.job(id))
    }

    /// The jobs of a request, by id (oldest first).
    pub async fn jobs_for_request(&self, request_id: i64) -> Result<Vec<Job>, StoreError> {
        dispatch!(self.jobs_for_request(request_id))
    }

    // -----------------------------------------------------------------------------------------
    // Request execution: manual tasks

    /// Creates the request's manual tasks, in one transaction, and returns their ids in input
    /// order. Idempotent per request and system: a task that already exists for a system is kept
    /// as it is and its id returned. [`StoreError::NotFound`] for an unknown request;
    /// [`StoreError::Invalid`] for a system that is not a policy id, or a title or instructions
    /// too long (see [`NewTask`]).
    pub async fn create_tasks(
        &self,
        request_id: i64,
        tasks: &[NewTask<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        execution::check_tasks(tasks)?;
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self.create_tasks(request_id, tasks))
    }

    /// The request's manual tasks, by id.
    pub async fn tasks_for_request(&self, request_id: i64) -> Result<Vec<Task>, StoreError> {
        dispatch!(self.tasks_for_request(request_id))
    }

    /// Marks the task done by `actor`, with an optional note, and appends a
    /// `request.task_done` audit entry on `request:<reference>` (task id and system only) in
    /// the same transaction. False, with nothing written, if the task was done already.
    /// [`StoreError::NotFound`] for an unknown task.
    pub async fn complete_task(
        &self,
        task_id: i64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        requests::check_actor(actor)?;
        execution::check_note(note)?;
        let done = dispatch!(self.complete_task(task_id, actor, note))?;
        tracing::debug!(task = task_id, done, "task completed");
        Ok(done)
    }

    /// How many of the request's tasks are not done yet.
    pub async fn open_tasks(&self, request_id: i64) -> Result<u32, StoreError> {
        let n = dispatch!(self.open_tasks(request_id))?;
        u32::try_from(n).map_err(|_| StoreError::Corrupt("task count out of range".to_owned()))
    }

    // -----------------------------------------------------------------------------------------
    // Request execution: export packages

    /// Records an export package and returns its id. [`StoreError::Conflict`] if the token
    /// hash is taken (draw another token); [`StoreError::Invalid`] for an unknown request, an
    /// empty or overlong path, or an expiry that is not in the future.
    pub async fn create_package(&self, p: NewPackage<'_>) -> Result<i64, StoreError> {
        let now = common::now_us();
        execution::check_package(&p, now)?;
        dispatch!(self.create_package(&p, now))
    }

    /// The package whose download token hashes to `token_hash`, whatever its state: the caller
    /// checks `expires_at` and `deleted_at`.
    pub async fn package_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<Package>, StoreError> {
        dispatch!(self.package_by_token(token_hash))
    }

    /// The request's packages, by id.
    pub async fn packages_for_request(&self, request_id: i64) -> Result<Vec<Package>, StoreError> {
        dispatch!(self.packages_for_request(request_id))
    }

    /// Counts a download of the package, now. [`StoreError::NotFound`] for an unknown id.
    pub async fn package_downloaded(&self, id: i64) -> Result<(), StoreError> {
        dispatch!(self.package_downloaded(id))
    }

    /// Up to `limit` (at most [`execution::MAX_EXPIRED`]) packages that expired at or before
    /// `now` and whose files are not recorded as deleted, soonest expired first: the clean-up
    /// job deletes each file and then calls [`Store::package_deleted`].
    pub async fn expired_packages(
        &self,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let limit = limit.min(execution::MAX_EXPIRED);
        if limit == 0 {
            return Ok(Vec::new());
        }
        dispatch!(self.expired_packages(now.as_microsecond(), limit))
    }

    /// Up to `limit` (at most [`execution::MAX_EXPIRED`]) packages whose files are not
    /// recorded as deleted, with ids above `after_id`, by id: page through them all (for
    /// `ombud keys rotate` and `ombud keys check`) by passing the last id seen.
    pub async fn stored_packages(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let limit = limit.min(execution::MAX_EXPIRED);
        if limit == 0 {
            return Ok(Vec::new());
        }
        dispatch!(self.stored_packages(after_id, limit))
    }

    /// Records that the package's file was deleted (the first time is kept).
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn package_deleted(&self, id: i64) -> Result<(), StoreError> {
        dispatch!(self.package_deleted(id))
    }

    // -----------------------------------------------------------------------------------------
    // Restriction of processing (Art. 18)

    /// Restricts processing for the subjects (at most [`execution::MAX_SUBJECTS`]), on behalf
    /// of request `request_id` if given. Idempotent: subjects already restricted stay as they
    /// are. If any subject was newly restricted, a `subject.restricted` audit entry by `actor`
    /// is appended in the same transaction, on `request:<reference>` (or `subjects` without a
    /// request), with the number of subjects only: subject keys are personal data and never
    /// enter the audit log. [`StoreError::NotFound`] for an unknown request.
    pub async fn restrict(
        &self,
        subjects: &[SubjectKey],
        request_id: Option<i64>,
        actor: &str,
    ) -> Result<(), StoreError> {
        requests::check_actor(actor)?;
        let subjects = execution::distinct_subjects(subjects)?;
        if subjects.is_empty() {
            return Ok(());
        }
        dispatch!(self.restrict(&subjects, request_id, actor))
    }

    /// Lifts the active restrictions of the subjects and returns how many were lifted. If any
    /// were, a `subject.restriction_lifted` audit entry by `actor` on `subjects` (with the
    /// number only) is appended in the same transaction.
    pub async fn lift_restriction(
        &self,
        subjects: &[SubjectKey],
        actor: &str,
    ) -> Result<u32, StoreError> {
        requests::check_actor(actor)?;
        let subjects = execution::distinct_subjects(subjects)?;
        if subjects.is_empty() {
            return Ok(0);
        }
        dispatch!(self.lift_restriction(&subjects, actor))
    }

    /// Whether processing is restricted for `subject`. On the consent check's hot path: the
    /// SQLite store answers from memory, the PostgreSQL store with one index lookup.
    pub async fn is_restricted(&self, subject: &SubjectKey) -> Result<bool, StoreError> {
        dispatch!(self.is_restricted(subject))
    }

    /// The restrictions of the subjects (at most [`execution::MAX_SUBJECTS`]), active and
    /// lifted, oldest first.
    pub async fn restrictions(
        &self,
        subjects: &[SubjectKey],
    ) -> Result<Vec<Restriction>, StoreError> {
        let subjects = execution::distinct_subjects(subjects)?;
        dispatch!(self.restrictions(&subjects))
    }

    // -----------------------------------------------------------------------------------------
    // Staff accounts

    /// Creates a staff user, not yet set up (no password, no second factor), with the hash of
    /// their one-time setup token, and a `staff.user_created` audit entry (id and role only),
    /// all in one transaction. [`StoreError::Conflict`] if the address is taken (nothing is
    /// written); [`StoreError::Invalid`] for an address that is not canonical (see
    /// [`ombud_domain::staff::canonical_email`]) or a setup expiry that is not in the future.
    pub async fn create_staff_user(&self, u: NewStaffUser<'_>) -> Result<StaffUser, StoreError> {
        let now = common::now_us();
        staff::check_new_user(&u, now)?;
        let user = dispatch!(self.create_staff_user(&u, now))?;
        tracing::info!(staff_user = user.id, role = %user.role, "staff user created");
        Ok(user)
    }

    /// Every staff user, by id.
    pub async fn staff_users(&self) -> Result<Vec<StaffUser>, StoreError> {
        dispatch!(self.staff_users())?
            .into_iter()
            .map(|u| self.opened(u))
            .collect()
    }

    /// The staff user with this id.
    pub async fn staff_user(&self, id: i64) -> Result<Option<StaffUser>, StoreError> {
        dispatch!(self.staff_user(id))?
            .map(|u| self.opened(u))
            .transpose()
    }

    /// The staff user with this address, in any case.
    pub async fn staff_user_by_email(&self, email: &str) -> Result<Option<StaffUser>, StoreError> {
        let Some(email) = ombud_domain::staff::canonical_email(email) else {
            return Ok(None);
        };
        dispatch!(self.staff_user_by_email(&email))?
            .map(|u| self.opened(u))
            .transpose()
    }

    /// Uses the setup token whose hash is `hash`, once: the user's id if the token was unused,
    /// unexpired and its user not disabled; `None` otherwise (and the token stays as it was).
    pub async fn consume_setup_token(&self, hash: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        dispatch!(self.consume_setup_token(hash, common::now_us()))
    }

    /// The user whose setup token has the hash `hash`, if the token is unused and unexpired
    /// and the user not disabled; the token stays unused.
    pub async fn setup_token_user(&self, hash: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        dispatch!(self.setup_token_user(hash, common::now_us()))
    }

    /// Changes a staff user's role, or disables (ending their sessions) or enables them, with
    /// an audit entry by `actor` in the same transaction. [`StoreError::NotFound`] for an
    /// unknown user.
    pub async fn change_staff_user(
        &self,
        id: i64,
        change: StaffChange,
        actor: &str,
    ) -> Result<StaffUser, StoreError> {
        let user = dispatch!(self.change_staff_user(id, change, actor, common::now_us()))?;
        tracing::info!(staff_user = id, change = ?change, "staff user changed");
        Ok(user)
    }

    /// Stores the user's password hash (an argon2id PHC string, never the password).
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn set_password_hash(&self, user_id: i64, phc: &str) -> Result<(), StoreError> {
        staff::check_password_hash(phc)?;
        dispatch!(self.set_password_hash(user_id, phc))
    }

    /// Stores the user's TOTP secret (16 to 64 bytes), sealed under the keyring's current key
    /// and bound to the user's id, and forgets the last used step. Reading the user gives the
    /// secret back in clear. [`StoreError::NoKey`] without a keyring (nothing is written);
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn set_totp(&self, user_id: i64, secret: &[u8]) -> Result<(), StoreError> {
        staff::check_totp_secret(secret)?;
        let sealed = self
            .require_keyring()?
            .seal_with(&staff::totp_context(user_id), secret)?;
        dispatch!(self.set_totp(user_id, &sealed))
    }

    /// Seals again, under the keyring's current key, every TOTP secret sealed under a previous
    /// one (for `ombud keys rotate`). Idempotent: secrets under the current key are left alone.
    /// Each secret is replaced by compare-and-set, so a secret set meanwhile is never
    /// overwritten. [`StoreError::Sealed`] names a secret's key that is not configured.
    pub async fn reseal_totp_secrets(&self) -> Result<Resealed, StoreError> {
        let keyring = self.require_keyring()?;
        let mut done = Resealed::default();
        for (id, sealed) in dispatch!(self.sealed_totp_secrets())? {
            if keyring.is_current(&sealed) {
                done.already_current += 1;
                continue;
            }
            let context = staff::totp_context(id);
            let plain = zeroize::Zeroizing::new(keyring.open_with(&context, &sealed)?);
            let resealed = keyring.seal_with(&context, &plain)?;
            if dispatch!(self.replace_sealed_totp(id, &sealed, &resealed))? {
                done.resealed += 1;
            } else {
                // Set again (under the current key) since it was read.
                done.already_current += 1;
            }
        }
        if done.resealed > 0 {
            tracing::info!(
                resealed = done.resealed,
                "TOTP secrets sealed under the current key"
            );
        }
        Ok(done)
    }

    /// How many TOTP secrets each key holds, read from their headers (for `ombud keys check`;
    /// needs no key).
    pub async fn sealed_totp_counts(&self) -> Result<SealedCounts, StoreError> {
        let mut counts = SealedCounts::default();
        for (_, sealed) in dispatch!(self.sealed_totp_secrets())? {
            match seal::sealed_key_id(&sealed) {
                Ok(id) => *counts.by_key.entry(id).or_default() += 1,
                Err(_) => counts.unsealed += 1,
            }
        }
        Ok(counts)
    }

    /// Records `step` as the user's last used TOTP step, only if it is newer than the one
    /// recorded (compare-and-set): true if it was recorded, false if that step or a later one
    /// was used already (a replay, or a concurrent login with the same code that won).
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn record_totp_step(&self, user_id: i64, step: u64) -> Result<bool, StoreError> {
        let step = staff::stored_step(step)?;
        dispatch!(self.record_totp_step(user_id, step))
    }

    /// Counts a wrong login of the user (in the database, so concurrent tries all count) and
    /// returns the new count; from the `lock_at`-th wrong login on, the user is locked until
    /// `lock_until`. [`StoreError::NotFound`] for an unknown user.
    pub async fn login_failed(
        &self,
        user_id: i64,
        lock_at: u32,
        lock_until: jiff::Timestamp,
    ) -> Result<u32, StoreError> {
        dispatch!(self.login_failed(user_id, lock_at, lock_until.as_microsecond()))
    }

    /// Clears the user's wrong-login count and lock. [`StoreError::NotFound`] for an unknown
    /// user.
    pub async fn login_succeeded(&self, user_id: i64) -> Result<(), StoreError> {
        dispatch!(self.login_succeeded(user_id))
    }

    /// Replaces the user's recovery codes with these hashes (at most
    /// [`staff::MAX_RECOVERY_CODES`], all different), in one transaction.
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        staff::check_recovery_codes(hashes)?;
        dispatch!(self.replace_recovery_codes(user_id, hashes, common::now_us()))
    }

    /// Uses one of the user's recovery codes, by hash: true the first time, false if it was
    /// used before or is not the user's (compare-and-set).
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        dispatch!(self.use_recovery_code(user_id, hash, common::now_us()))
    }

    /// How many of the user's recovery codes are still unused.
    pub async fn unused_recovery_codes(&self, user_id: i64) -> Result<u32, StoreError> {
        let n = dispatch!(self.unused_recovery_codes(user_id))?;
        u32::try_from(n).map_err(|_| StoreError::Corrupt("recovery code count".to_owned()))
    }

    /// Starts a session for the user, valid until `expires_at` (the absolute timeout), keyed by
    /// the SHA-256 of the session id in the cookie. [`StoreError::Conflict`] if the hash is
    /// taken; [`StoreError::Invalid`] for an unknown user or an expiry that is not in the future.
    pub async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        expires_at: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let now = common::now_us();
        if expires_at.as_microsecond() <= now {
            return Err(StoreError::Invalid("a session must expire in the future"));
        }
        dispatch!(self.create_session(id_hash, user_id, now, expires_at.as_microsecond()))
    }

    /// The session keyed by `id_hash`, marked as seen now, if it is valid: not revoked, not
    /// past its expiry, seen within `idle` (the idle timeout), and its user not disabled.
    /// `None` otherwise, and nothing is changed.
    pub async fn touch_session(
        &self,
        id_hash: &[u8; 32],
        idle: std::time::Duration,
    ) -> Result<Option<Session>, StoreError> {
        let now = common::now_us();
        let idle_us = i64::try_from(idle.as_micros()).unwrap_or(i64::MAX);
        dispatch!(self.touch_session(id_hash, now, now.saturating_sub(idle_us)))
    }

    /// Ends the session (logout): true if it was active.
    pub async fn revoke_session(&self, id_hash: &[u8; 32]) -> Result<bool, StoreError> {
        dispatch!(self.revoke_session(id_hash, common::now_us()))
    }

    /// Ends every session of the user (after a password change, or when they are disabled) and
    /// returns how many were active.
    pub async fn revoke_sessions_of(&self, user_id: i64) -> Result<u64, StoreError> {
        dispatch!(self.revoke_sessions_of(user_id, common::now_us()))
    }

    /// Creates an API token (its hash only) with an `api_token.created` audit entry (id, name
    /// and scopes) in one transaction. [`StoreError::Conflict`] if the hash is taken.
    pub async fn create_api_token(&self, t: NewApiToken<'_>) -> Result<ApiToken, StoreError> {
        staff::check_new_token(&t)?;
        let token = dispatch!(self.create_api_token(&t, common::now_us()))?;
        tracing::info!(api_token = token.id, scopes = %token.scopes, "API token created");
        Ok(token)
    }

    /// Every API token, revoked ones included, by id.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        dispatch!(self.api_tokens())
    }

    /// The API token whose hash is `hash`, whatever its state: the caller checks
    /// [`ApiToken::is_active`].
    pub async fn api_token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        dispatch!(self.api_token_by_hash(hash))
    }

    /// Records that the API token was just used: sets its `last_used_at` to now, unless it is
    /// revoked or its last use was recorded less than `every` ago (so a busy token costs one
    /// write per `every`, whichever node it is used on). True if it wrote.
    pub async fn record_api_token_use(
        &self,
        id: i64,
        every: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = common::now_us();
        let every_us = i64::try_from(every.as_micros()).unwrap_or(i64::MAX);
        dispatch!(self.api_token_used(id, now, now.saturating_sub(every_us)))
    }

    /// Revokes the API token, with an `api_token.revoked` audit entry by `actor` in the same
    /// transaction: true if it was active, false (nothing written) if it was revoked already.
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn revoke_api_token(&self, id: i64, actor: &str) -> Result<bool, StoreError> {
        requests::check_actor(actor)?;
        dispatch!(self.revoke_api_token(id, actor, common::now_us()))
    }
}
