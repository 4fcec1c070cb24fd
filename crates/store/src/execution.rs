//! Carrying out rights requests against the organisation's databases: execution jobs, manual
//! tasks, export packages and restrictions of processing.
//!
//! **Jobs.** One job per execution of a request (`kind` names what the engine does, e.g.
//! `access` or `erase`). The engine owns the job's `spec`, `checkpoint` and `result` (JSON text
//! the store keeps but never parses). Workers lease a job for a while and renew the lease as
//! they go; every write of a worker (renew, checkpoint, finish, fail) is a compare-and-set on
//! its owner name, so once a lease has expired and another worker took the job over, the first
//! worker's writes are refused and it learns that it must stop. Owner names must therefore be
//! unique per worker (e.g. node id plus a random suffix). A lease that expired but was not taken
//! over still belongs to its owner. A crashed worker's job is resumed by the next lease from
//! its last checkpoint, with one more attempt counted.
//!
//! **Tasks.** Systems without a connector become manual tasks that staff tick off; the request
//! closes only when all are done.
//!
//! **Packages.** Export packages are encrypted files on disk; the store keeps where, how big,
//! and the SHA-256 of the download token, never the token.
//!
//! **Restrictions** of processing (Art. 18), by subject key. [`crate::Store::is_restricted`] is
//! on the consent check's hot path: the SQLite store answers it from `RestrictionSet`, an
//! exact copy of the active restrictions in memory; the PostgreSQL store looks up one index
//! entry.
//!
//! The SQL is written once, in `execution_queries!`, and instantiated for each backend; they
//! differ only in how leasing keeps two workers apart (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
//! SQLite: the write lock that `BEGIN IMMEDIATE` takes).

use std::collections::HashSet;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use jiff::Timestamp;
use ombud_domain::consent::SubjectKey;
use ombud_domain::policy::{Keyword, SystemId};

use crate::StoreError;
use crate::requests::{Audit, MAX_LINE, MAX_TEXT};

// ---------------------------------------------------------------------------------------------
// Jobs

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Waiting for a worker (again, after a failure with a retry).
    Queued,
    /// Leased by a worker.
    Running,
    /// Finished with a result.
    Done,
    /// Given up: finished without a result.
    Failed,
}

impl Keyword for JobState {
    const KIND: &'static str = "job state";

    fn all() -> &'static [Self] {
        &[Self::Queued, Self::Running, Self::Done, Self::Failed]
    }

    fn key(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl JobState {
    /// Done or failed: the job will not run again.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A job to create.
#[derive(Clone, Copy)]
pub struct NewJob<'a> {
    pub request_id: i64,
    /// What the job does, e.g. `access`, `erase` (1 to 64 visible ASCII characters).
    pub kind: &'a str,
    /// What to do, as JSON text owned by the engine (at most [`MAX_JSON`] bytes).
    pub spec: &'a str,
}

/// A stored job.
#[derive(Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub request_id: i64,
    pub kind: String,
    pub state: JobState,
    /// As created. May describe persons.
    pub spec: String,
    /// The engine's progress, as last stored by [`crate::Store::checkpoint_job`]. May describe
    /// persons.
    pub checkpoint: Option<String>,
    /// Set by [`crate::Store::finish_job`]. May describe persons.
    pub result: Option<String>,
    /// The most recent failure, as the worker described it (at most [`MAX_ERROR`] bytes).
    pub error: Option<String>,
    /// Leases so far (1 on the first run; more after failures and take-overs).
    pub attempts: u32,
    /// Who holds the lease; set exactly while the job is running.
    pub lease_owner: Option<String>,
    /// When the lease ends unless renewed; after that another worker may take the job over.
    pub lease_until: Option<Timestamp>,
    /// A job failed with a retry is not leased before this time.
    pub not_before: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set exactly when the job is done or failed.
    pub finished_at: Option<Timestamp>,
}

/// Longest `spec`, `checkpoint` and `result`.
pub const MAX_JSON: usize = 1024 * 1024;
/// Longest stored job error; longer ones are cut.
pub const MAX_ERROR: usize = crate::outbox::MAX_ERROR;
/// Longest job kind.
pub const MAX_KIND: usize = 64;

/// Prints `[redacted]` in place of a value that may be personal data.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn redacted<T>(v: &Option<T>) -> Option<Redacted> {
    v.as_ref().map(|_| Redacted)
}

/// Debug output leaves out the spec, which may describe persons.
impl fmt::Debug for NewJob<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewJob")
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .field("spec", &Redacted)
            .finish()
    }
}

/// Debug output leaves out the spec, checkpoint, result and error, which may describe persons.
impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("spec", &Redacted)
            .field("checkpoint", &redacted(&self.checkpoint))
            .field("result", &redacted(&self.result))
            .field("error", &redacted(&self.error))
            .field("attempts", &self.attempts)
            .field("lease_owner", &self.lease_owner)
            .field("lease_until", &self.lease_until)
            .field("not_before", &self.not_before)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("finished_at", &self.finished_at)
            .finish()
    }
}

/// PostgreSQL can't store NUL in text, so both backends refuse it and behave the same.
fn fits(s: &str, max: usize) -> bool {
    s.len() <= max && !s.contains('\0')
}

pub(crate) fn check_new_job(j: &NewJob<'_>) -> Result<(), StoreError> {
    if j.kind.is_empty() || j.kind.len() > MAX_KIND || !j.kind.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(StoreError::Invalid(
            "a job kind must be 1 to 64 visible ASCII characters",
        ));
    }
    check_json(j.spec)
}

/// `spec`, `checkpoint` and `result`: opaque to the store, but bounded.
pub(crate) fn check_json(s: &str) -> Result<(), StoreError> {
    if !fits(s, MAX_JSON) {
        return Err(StoreError::Invalid(
            "job spec, checkpoint and result must be at most 1 MiB, without NUL",
        ));
    }
    Ok(())
}

pub(crate) fn check_owner(owner: &str) -> Result<(), StoreError> {
    if owner.is_empty() || !fits(owner, MAX_LINE) {
        return Err(StoreError::Invalid(
            "a lease owner must be 1 to 512 bytes, without NUL",
        ));
    }
    Ok(())
}

/// The columns of `execution_job`, in [`JobRow`]'s order.
pub(crate) const JOB_COLUMNS: &str = "id, request_id, kind, state, spec, checkpoint, result, \
     error, attempts, lease_owner, lease_until_us, not_before_us, created_at_us, updated_at_us, \
     finished_at_us";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored execution {what} does not parse"))
}

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| corrupt("time"))
}

fn count(n: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what))
}

/// A row of `execution_job`.
#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    request_id: i64,
    kind: String,
    state: String,
    spec: String,
    checkpoint: Option<String>,
    result: Option<String>,
    error: Option<String>,
    attempts: i64,
    lease_owner: Option<String>,
    lease_until_us: Option<i64>,
    not_before_us: Option<i64>,
    created_at_us: i64,
    updated_at_us: i64,
    finished_at_us: Option<i64>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        Ok(Job {
            id: r.id,
            request_id: r.request_id,
            kind: r.kind,
            state: JobState::parse(&r.state).ok_or_else(|| corrupt("job state"))?,
            spec: r.spec,
            checkpoint: r.checkpoint,
            result: r.result,
            error: r.error,
            attempts: count(r.attempts, "job attempts")?,
            lease_owner: r.lease_owner,
            lease_until: r.lease_until_us.map(timestamp).transpose()?,
            not_before: r.not_before_us.map(timestamp).transpose()?,
            created_at: timestamp(r.created_at_us)?,
            updated_at: timestamp(r.updated_at_us)?,
            finished_at: r.finished_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, StoreError> {
    rows.into_iter().map(Job::try_from).collect()
}

// ---------------------------------------------------------------------------------------------
// Manual tasks

/// A manual task to create.
#[derive(Clone, Copy)]
pub struct NewTask<'a> {
    /// The system of the data map the task is about (a policy id such as `hubspot`). At most one
    /// task per request and system.
    pub system: &'a str,
    /// One line for the task list (at most 512 bytes). May name the person.
    pub title: &'a str,
    /// What to do, for the staff member (at most 16 KiB). May name the person.
    pub instructions: &'a str,
}

/// A stored manual task.
#[derive(Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub request_id: i64,
    pub system: String,
    pub title: String,
    pub instructions: String,
    pub created_at: Timestamp,
    /// Set once the task is done, together with `done_by`.
    pub done_at: Option<Timestamp>,
    pub done_by: Option<String>,
    /// What the staff member noted on completion.
    pub note: Option<String>,
}

impl Task {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// Debug output leaves out the title and instructions, which may name the person.
impl fmt::Debug for NewTask<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTask")
            .field("system", &self.system)
            .field("title", &Redacted)
            .field("instructions", &Redacted)
            .finish()
    }
}

/// Debug output leaves out the title, instructions and note, which may name the person.
impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("system", &self.system)
            .field("title", &Redacted)
            .field("instructions", &Redacted)
            .field("created_at", &self.created_at)
            .field("done_at", &self.done_at)
            .field("done_by", &self.done_by)
            .field("note", &redacted(&self.note))
            .finish()
    }
}

/// Most tasks created at once.
pub const MAX_TASKS: usize = 1000;

pub(crate) fn check_tasks(tasks: &[NewTask<'_>]) -> Result<(), StoreError> {
    if tasks.len() > MAX_TASKS {
        return Err(StoreError::Invalid("at most 1000 tasks at once"));
    }
    for t in tasks {
        // A policy id: it goes into the audit log, which must never hold personal data.
        if SystemId::parse(t.system).is_err() {
            return Err(StoreError::Invalid(
                "a task's system must be a policy id (lowercase letters, digits and _)",
            ));
        }
        if t.title.is_empty() || !fits(t.title, MAX_LINE) || !fits(t.instructions, MAX_TEXT) {
            return Err(StoreError::Invalid(
                "a task needs a title of 1 to 512 bytes and instructions of at most 16 KiB, \
                 without NUL",
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_note(note: Option<&str>) -> Result<(), StoreError> {
    if note.is_some_and(|n| !fits(n, MAX_TEXT)) {
        return Err(StoreError::Invalid("a note is too long or contains NUL"));
    }
    Ok(())
}

/// The columns of `request_task`, in [`TaskRow`]'s order.
pub(crate) const TASK_COLUMNS: &str =
    "id, request_id, system, title, instructions, created_at_us, done_at_us, done_by, note";

/// A row of `request_task`.
#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: i64,
    request_id: i64,
    system: String,
    title: String,
    instructions: String,
    created_at_us: i64,
    done_at_us: Option<i64>,
    done_by: Option<String>,
    note: Option<String>,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(r: TaskRow) -> Result<Self, StoreError> {
        Ok(Task {
            id: r.id,
            request_id: r.request_id,
            system: r.system,
            title: r.title,
            instructions: r.instructions,
            created_at: timestamp(r.created_at_us)?,
            done_at: r.done_at_us.map(timestamp).transpose()?,
            done_by: r.done_by,
            note: r.note,
        })
    }
}

/// What `complete_task` needs to know about the task before it writes.
#[derive(sqlx::FromRow)]
pub(crate) struct TaskOf {
    pub(crate) system: String,
    pub(crate) reference: String,
}

/// Action of the audit entry written when a task is ticked off.
pub(crate) const TASK_DONE: &str = "request.task_done";

/// `request.task_done` on `request:<reference>`, naming the task and its system (a policy id),
/// never the title, instructions or note.
pub(crate) fn task_done_audit(task_id: i64, of: &TaskOf) -> Audit {
    Audit {
        action: TASK_DONE.to_owned(),
        subject: format!("request:{}", of.reference),
        details: serde_json::json!({ "task": task_id, "system": of.system }).to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Export packages

/// An export package to record (the encrypted file is already on disk).
#[derive(Clone, Copy)]
pub struct NewPackage<'a> {
    pub request_id: i64,
    /// Where the encrypted file lies (1 to 4096 bytes).
    pub path: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the download token. The token itself is never stored.
    pub token_hash: &'a [u8; 32],
    /// After this the package may no longer be downloaded; it must lie in the future.
    pub expires_at: Timestamp,
}

/// A stored export package.
#[derive(Clone, PartialEq, Eq)]
pub struct Package {
    pub id: i64,
    pub request_id: i64,
    pub path: String,
    pub size: u64,
    pub token_hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub downloads: u32,
    pub last_download_at: Option<Timestamp>,
    /// Set once the file was deleted from disk.
    pub deleted_at: Option<Timestamp>,
}

/// Debug output leaves out the token hash: with it, a guessed token could be checked offline.
impl fmt::Debug for NewPackage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPackage")
            .field("request_id", &self.request_id)
            .field("path", &self.path)
            .field("size", &self.size)
            .field("token_hash", &Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Debug output leaves out the token hash.
impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("path", &self.path)
            .field("size", &self.size)
            .field("token_hash", &Redacted)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("downloads", &self.downloads)
            .field("last_download_at", &self.last_download_at)
            .field("deleted_at", &self.deleted_at)
            .finish()
    }
}

/// Longest package path.
pub const MAX_PATH: usize = 4096;
/// Most packages returned by one call of `expired_packages`.
pub const MAX_EXPIRED: u32 = 1000;

pub(crate) fn check_package(p: &NewPackage<'_>, now_us: i64) -> Result<(), StoreError> {
    if p.path.is_empty() || !fits(p.path, MAX_PATH) {
        return Err(StoreError::Invalid(
            "a package path must be 1 to 4096 bytes, without NUL",
        ));
    }
    if i64::try_from(p.size).is_err() {
        return Err(StoreError::Invalid("a package size must fit in 63 bits"));
    }
    if p.expires_at.as_microsecond() <= now_us {
        return Err(StoreError::Invalid("a package must expire in the future"));
    }
    Ok(())
}

/// The columns of `export_package`, in [`PackageRow`]'s order.
pub(crate) const PACKAGE_COLUMNS: &str = "id, request_id, path, size, token_hash, created_at_us, \
     expires_at_us, downloads, last_download_at_us, deleted_at_us";

/// A row of `export_package`.
#[derive(sqlx::FromRow)]
pub(crate) struct PackageRow {
    id: i64,
    request_id: i64,
    path: String,
    size: i64,
    token_hash: Vec<u8>,
    created_at_us: i64,
    expires_at_us: i64,
    downloads: i64,
    last_download_at_us: Option<i64>,
    deleted_at_us: Option<i64>,
}

impl TryFrom<PackageRow> for Package {
    type Error = StoreError;

    fn try_from(r: PackageRow) -> Result<Self, StoreError> {
        Ok(Package {
            id: r.id,
            request_id: r.request_id,
            path: r.path,
            size: u64::try_from(r.size).map_err(|_| corrupt("package size"))?,
            token_hash: r
                .token_hash
                .try_into()
                .map_err(|_| corrupt("package token hash"))?,
            created_at: timestamp(r.created_at_us)?,
            expires_at: timestamp(r.expires_at_us)?,
            downloads: count(r.downloads, "package downloads")?,
            last_download_at: r.last_download_at_us.map(timestamp).transpose()?,
            deleted_at: r.deleted_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn packages(rows: Vec<PackageRow>) -> Result<Vec<Package>, StoreError> {
    rows.into_iter().map(Package::try_from).collect()
}

// ---------------------------------------------------------------------------------------------
// Restrictions

/// A restriction of processing, active until lifted.
#[derive(Clone, PartialEq, Eq)]
pub struct Restriction {
    pub subject: SubjectKey,
    /// The request that asked for it, if one did.
    pub request_id: Option<i64>,
    pub since: Timestamp,
    pub lifted_at: Option<Timestamp>,
}

impl Restriction {
    pub fn is_active(&self) -> bool {
        self.lifted_at.is_none()
    }
}

/// Debug output names the kind of subject only, never its value.
impl fmt::Debug for Restriction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restriction")
            .field(
                "subject",
                &format_args!("{}:[redacted]", self.subject.kind().key()),
            )
            .field("request_id", &self.request_id)
            .field("since", &self.since)
            .field("lifted_at", &self.lifted_at)
            .finish()
    }
}

/// Most subjects restricted, lifted or looked up at once.
pub const MAX_SUBJECTS: usize = 1000;

/// The subjects without repeats, in a stable order; refuses too many.
pub(crate) fn distinct_subjects(subjects: &[SubjectKey]) -> Result<Vec<&SubjectKey>, StoreError> {
    if subjects.len() > MAX_SUBJECTS {
        return Err(StoreError::Invalid("at most 1000 subjects at once"));
    }
    let mut out: Vec<&SubjectKey> = subjects.iter().collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Action of the audit entry written when subjects are restricted.
pub(crate) const RESTRICTED: &str = "subject.restricted";
/// Action of the audit entry written when restrictions are lifted.
pub(crate) const LIFTED: &str = "subject.restriction_lifted";

/// The audit entry of a restriction or a lift: on the request if there is one, and with the
/// number of subjects only. Subject keys are personal data and never enter the audit log.
pub(crate) fn restriction_audit(action: &str, reference: Option<&str>, count: u32) -> Audit {
    Audit {
        action: action.to_owned(),
        subject: reference.map_or_else(|| "subjects".to_owned(), |r| format!("request:{r}")),
        details: serde_json::json!({ "count": count }).to_string(),
    }
}

/// A row of `subject_restriction`.
#[derive(sqlx::FromRow)]
pub(crate) struct RestrictionRow {
    subject: String,
    request_id: Option<i64>,
    since_us: i64,
    lifted_at_us: Option<i64>,
}

impl TryFrom<RestrictionRow> for Restriction {
    type Error = StoreError;

    fn try_from(r: RestrictionRow) -> Result<Self, StoreError> {
        Ok(Restriction {
            subject: SubjectKey::parse(&r.subject).map_err(|_| corrupt("restriction subject"))?,
            request_id: r.request_id,
            since: timestamp(r.since_us)?,
            lifted_at: r.lifted_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn subject_keys(rows: Vec<String>) -> Result<Vec<SubjectKey>, StoreError> {
    rows.iter()
        .map(|s| SubjectKey::parse(s).map_err(|_| corrupt("restriction subject")))
        .collect()
}

/// The SQLite store's exact copy of the active restrictions, so that
/// [`crate::Store::is_restricted`] answers without touching the database.
///
/// Only one process writes the embedded store, and every restriction and lift passes through
/// it: the copy is loaded at open and updated after each commit, while the writer connection is
/// still held, so updates apply in commit order and the copy never disagrees with the table
/// once a write has returned. If a commit's outcome is unknown (the commit itself failed), the
/// copy is read again from the database; while it can't be, the copy is *unloaded* and the
/// database answers instead.
///
/// Like the consent cache, this relies on the server being the file's only writer: another
/// process that restricts or lifts on the same file (a CLI command beside a running server) is
/// not seen until the store is opened again, so such commands must go through the server.
#[derive(Default)]
pub(crate) struct RestrictionSet {
    active: RwLock<Option<HashSet<SubjectKey>>>,
}

impl RestrictionSet {
    /// Whether `subject` is restricted, or `None` when the copy is not loaded.
    pub(crate) fn contains(&self, subject: &SubjectKey) -> Option<bool> {
        let active = self.active.read().ok()?;
        active.as_ref().map(|set| set.contains(subject))
    }

    /// Whether the copy is loaded (and can be updated in place).
    pub(crate) fn is_loaded(&self) -> bool {
        self.active.read().is_ok_and(|a| a.is_some())
    }

    /// Replaces the copy with what the database holds.
    pub(crate) fn load(&self, subjects: Vec<SubjectKey>) {
        let set = subjects.into_iter().collect();
        // A poisoned lock holds a copy a panic left half-updated; it is replaced wholesale.
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = Some(set);
        self.active.clear_poison();
    }

    /// Forgets the copy; the database answers until it is loaded again.
    pub(crate) fn unload(&self) {
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Applies a committed restriction (`restricted` true) or lift of `subjects`.
    pub(crate) fn apply(&self, subjects: &[&SubjectKey], restricted: bool) {
        let Ok(mut active) = self.active.write() else {
            self.unload();
            return;
        };
        if let Some(set) = active.as_mut() {
            for s in subjects {
                if restricted {
                    set.insert((*s).clone());
                } else {
                    set.remove(*s);
                }
            }
        }
    }
}

/// Never the keys themselves: they are personal data.
impl fmt::Debug for RestrictionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self
            .active
            .read()
            .ok()
            .and_then(|a| a.as_ref().map(HashSet::len));
        f.debug_struct("RestrictionSet")
            .field("active", &active)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// SQL

/// The execution SQL for one backend. `$db` is the sqlx database type, `$conn` its connection,
/// and `$lock` what the backend appends to the query that picks a job to lease (PostgreSQL:
/// ` FOR UPDATE SKIP LOCKED`, so concurrent workers pass over each other's pick instead of
/// waiting for it or taking it too; SQLite: nothing, the caller holds the database's write
/// lock). Every function runs in whatever transaction the caller's connection is in.
macro_rules! execution_queries {
    ($db:ty, $conn:ty, $lock:literal) => {
        use sqlx::QueryBuilder;

        use ombud_domain::consent::SubjectKey;
        use $crate::StoreError;
        use $crate::execution::{
            JOB_COLUMNS, Job, JobRow, LIFTED, NewJob, NewPackage, NewTask, PACKAGE_COLUMNS,
            Package, PackageRow, RESTRICTED, Restriction, RestrictionRow, TASK_COLUMNS, Task,
            TaskOf, TaskRow, jobs, packages, restriction_audit, subject_keys, task_done_audit,
        };
        use $crate::requests::{Audit, missing_parent};

        /// Tries to create a job, at most this often, while the unfinished job it collides
        /// with keeps finishing in between.
        const CREATE_TRIES: usize = 3;

        /// Creates the job, or finds the unfinished one of the same request and kind.
        pub(crate) async fn create_job(
            conn: &mut $conn,
            j: &NewJob<'_>,
            now: i64,
        ) -> Result<i64, StoreError> {
            for _ in 0..CREATE_TRIES {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO execution_job (request_id, kind, state, spec, attempts, \
                     created_at_us, updated_at_us) VALUES (",
                );
                qb.separated(", ")
                    .push_bind(j.request_id)
                    .push_bind(j.kind)
                    .push_bind("queued")
                    .push_bind(j.spec)
                    .push_bind(0_i64)
                    .push_bind(now)
                    .push_bind(now);
                qb.push(
                    ") ON CONFLICT (request_id, kind) WHERE state IN ('queued', 'running') \
                     DO NOTHING RETURNING id",
                );
                let id: Option<i64> = qb
                    .build_query_scalar()
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(|e| {
                        missing_parent(
                            e,
                            StoreError::Invalid("a job's request_id must name a stored request"),
                        )
                    })?;
                if let Some(id) = id {
                    return Ok(id);
                }
                let mut qb =
                    QueryBuilder::<$db>::new("SELECT id FROM execution_job WHERE request_id = ");
                qb.push_bind(j.request_id)
                    .push(" AND kind = ")
                    .push_bind(j.kind)
                    .push(" AND state IN ('queued', 'running')");
                let existing: Option<i64> =
                    qb.build_query_scalar().fetch_optional(&mut *conn).await?;
                if let Some(id) = existing {
                    return Ok(id);
                }
                // It finished between the insert and the look-up: insert again.
            }
            Err(StoreError::Conflict)
        }

        /// Leases the oldest leasable job (or job `only`, if it is leasable) to `owner` until
        /// `until`. The caller's transaction must keep other workers out (see `$lock`).
        pub(crate) async fn lease(
            conn: &mut $conn,
            only: Option<i64>,
            owner: &str,
            now: i64,
            until: i64,
        ) -> Result<Option<Job>, StoreError> {
            // Due queued jobs, and running jobs whose lease has expired. The first condition
            // repeats the partial index's, so that SQLite uses it too and finished jobs are
            // never scanned.
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT id FROM execution_job WHERE state IN ('queued', 'running') AND \
                 ((state = 'queued' AND (not_before_us IS NULL OR not_before_us <= ",
            );
            qb.push_bind(now)
                .push(")) OR (state = 'running' AND lease_until_us <= ")
                .push_bind(now)
                .push("))");
            if let Some(id) = only {
                qb.push(" AND id = ").push_bind(id);
            }
            qb.push(" ORDER BY id LIMIT 1").push($lock);
            let id: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            let Some(id) = id else {
                return Ok(None);
            };
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE execution_job SET state = 'running', attempts = attempts + 1, \
                 lease_owner = ",
            );
            qb.push_bind(owner)
                .push(", lease_until_us = ")
                .push_bind(until)
                .push(", updated_at_us = ")
                .push_bind(now)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(format_args!(" RETURNING {JOB_COLUMNS}"));
            let row: JobRow = qb.build_query_as().fetch_one(&mut *conn).await?;
            Job::try_from(row).map(Some)
        }

        /// Ends an owner-only write: true if it applied, false if the job exists but `owner`
        /// doesn't hold it, [`StoreError::NotFound`] if there is no such job.
        async fn held(conn: &mut $conn, id: i64, applied: u64) -> Result<bool, StoreError> {
            if applied == 1 {
                return Ok(true);
            }
            let mut qb = QueryBuilder::<$db>::new("SELECT id FROM execution_job WHERE id = ");
            qb.push_bind(id);
            let exists: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            exists.map(|_| false).ok_or(StoreError::NotFound)
        }

        /// ` WHERE id = … AND state = 'running' AND lease_owner = …`: the job is `owner`'s.
        fn push_owned(qb: &mut QueryBuilder<$db>, id: i64, owner: &str) {
            qb.push(" WHERE id = ")
                .push_bind(id)
                .push(" AND state = 'running' AND lease_owner = ")
                .push_bind(owner);
        }

        /// Moves the lease's end to `until`, if `owner` holds it.
        pub(crate) async fn renew(
            conn: &mut $conn,
            id: i64,
            owner: &str,
            now: i64,
            until: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE execution_job SET lease_until_us = ");
            qb.push_bind(until)
                .push(", updated_at_us = ")
                .push_bind(now);
            push_owned(&mut qb, id, owner);
            let applied = qb.build().execute(&mut *conn).await?.rows_affected();
            held(conn, id, applied).await
        }

        /// Stores the checkpoint and moves the lease's end to `until`, if `owner` holds it.
        pub(crate) async fn checkpoint(
            conn: &mut $conn,
            id: i64,
            owner: &str,
            checkpoint: &str,
            now: i64,
            until: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE execution_job SET checkpoint = ");
            qb.push_bind(checkpoint)
                .push(", lease_until_us = ")
                .push_bind(until)
                .push(", updated_at_us = ")
                .push_bind(now);
            push_owned(&mut qb, id, owner);
            let applied = qb.build().execute(&mut *conn).await?.rows_affected();
            held(conn, id, applied).await
        }

        /// Marks the job done with its result, if `owner` holds it.
        pub(crate) async fn finish(
            conn: &mut $conn,
            id: i64,
            owner: &str,
            result: &str,
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE execution_job SET state = 'done', lease_owner = NULL, \
                 lease_until_us = NULL, result = ",
            );
            qb.push_bind(result)
                .push(", finished_at_us = ")
                .push_bind(now)
                .push(", updated_at_us = ")
                .push_bind(now);
            push_owned(&mut qb, id, owner);
            let applied = qb.build().execute(&mut *conn).await?.rows_affected();
            held(conn, id, applied).await
        }

        /// Records a failure, if `owner` holds the job: queued again, not before `retry_at`,
        /// or (`None`) given up.
        pub(crate) async fn fail(
            conn: &mut $conn,
            id: i64,
            owner: &str,
            error: &str,
            retry_at: Option<i64>,
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE execution_job SET lease_owner = NULL, lease_until_us = NULL, error = ",
            );
            qb.push_bind(error);
            match retry_at {
                Some(at) => {
                    qb.push(", state = 'queued', not_before_us = ")
                        .push_bind(at);
                }
                None => {
                    qb.push(", state = 'failed', finished_at_us = ")
                        .push_bind(now);
                }
            }
            qb.push(", updated_at_us = ").push_bind(now);
            push_owned(&mut qb, id, owner);
            let applied = qb.build().execute(&mut *conn).await?.rows_affected();
            held(conn, id, applied).await
        }

        pub(crate) async fn job(conn: &mut $conn, id: i64) -> Result<Option<Job>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {JOB_COLUMNS} FROM execution_job WHERE id = "
            ));
            qb.push_bind(id);
            let row: Option<JobRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(Job::try_from).transpose()
        }

        pub(crate) async fn jobs_of(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Vec<Job>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {JOB_COLUMNS} FROM execution_job WHERE request_id = "
            ));
            qb.push_bind(request_id).push(" ORDER BY id");
            let rows: Vec<JobRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            jobs(rows)
        }

        /// Creates the tasks that don't exist yet (per request and system) and returns the id
        /// of each, in input order.
        pub(crate) async fn create_tasks(
            conn: &mut $conn,
            request_id: i64,
            tasks: &[NewTask<'_>],
            now: i64,
        ) -> Result<Vec<i64>, StoreError> {
            let mut ids = Vec::with_capacity(tasks.len());
            for t in tasks {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO request_task (request_id, system, title, instructions, \
                     created_at_us) VALUES (",
                );
                qb.separated(", ")
                    .push_bind(request_id)
                    .push_bind(t.system)
                    .push_bind(t.title)
                    .push_bind(t.instructions)
                    .push_bind(now);
                qb.push(") ON CONFLICT (request_id, system) DO NOTHING");
                qb.build()
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| missing_parent(e, StoreError::NotFound))?;
                let mut qb =
                    QueryBuilder::<$db>::new("SELECT id FROM request_task WHERE request_id = ");
                qb.push_bind(request_id)
                    .push(" AND system = ")
                    .push_bind(t.system);
                ids.push(qb.build_query_scalar().fetch_one(&mut *conn).await?);
            }
            Ok(ids)
        }

        pub(crate) async fn tasks_of(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Vec<Task>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {TASK_COLUMNS} FROM request_task WHERE request_id = "
            ));
            qb.push_bind(request_id).push(" ORDER BY id");
            let rows: Vec<TaskRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(Task::try_from).collect()
        }

        /// Marks the task done. Returns the audit entry to append, or `None` if it was done
        /// already (nothing written).
        pub(crate) async fn complete_task(
            conn: &mut $conn,
            task_id: i64,
            actor: &str,
            note: Option<&str>,
            now: i64,
        ) -> Result<Option<Audit>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT t.system, r.reference FROM request_task t \
                 JOIN request r ON r.id = t.request_id WHERE t.id = ",
            );
            qb.push_bind(task_id);
            let of: TaskOf = qb
                .build_query_as()
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut qb = QueryBuilder::<$db>::new("UPDATE request_task SET done_at_us = ");
            qb.push_bind(now)
                .push(", done_by = ")
                .push_bind(actor)
                .push(", note = ")
                .push_bind(note)
                .push(" WHERE id = ")
                .push_bind(task_id)
                .push(" AND done_at_us IS NULL");
            if qb.build().execute(&mut *conn).await?.rows_affected() != 1 {
                return Ok(None);
            }
            Ok(Some(task_done_audit(task_id, &of)))
        }

        pub(crate) async fn open_tasks(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<i64, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT COUNT(*) FROM request_task WHERE done_at_us IS NULL AND request_id = ",
            );
            qb.push_bind(request_id);
            Ok(qb.build_query_scalar().fetch_one(&mut *conn).await?)
        }

        pub(crate) async fn create_package(
            conn: &mut $conn,
            p: &NewPackage<'_>,
            now: i64,
        ) -> Result<i64, StoreError> {
            let size = i64::try_from(p.size)
                .map_err(|_| StoreError::Invalid("a package size must fit in 63 bits"))?;
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO export_package (request_id, path, size, token_hash, created_at_us, \
                 expires_at_us, downloads) VALUES (",
            );
            qb.separated(", ")
                .push_bind(p.request_id)
                .push_bind(p.path)
                .push_bind(size)
                .push_bind(&p.token_hash[..])
                .push_bind(now)
                .push_bind(p.expires_at.as_microsecond())
                .push_bind(0_i64);
            qb.push(") RETURNING id");
            qb.build_query_scalar()
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    missing_parent(
                        e,
                        StoreError::Invalid("a package's request_id must name a stored request"),
                    )
                })
        }

        pub(crate) async fn package_by_token(
            conn: &mut $conn,
            token_hash: &[u8; 32],
        ) -> Result<Option<Package>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {PACKAGE_COLUMNS} FROM export_package WHERE token_hash = "
            ));
            qb.push_bind(&token_hash[..]);
            let row: Option<PackageRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(Package::try_from).transpose()
        }

        pub(crate) async fn packages_of(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Vec<Package>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {PACKAGE_COLUMNS} FROM export_package WHERE request_id = "
            ));
            qb.push_bind(request_id).push(" ORDER BY id");
            let rows: Vec<PackageRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            packages(rows)
        }

        pub(crate) async fn package_downloaded(
            conn: &mut $conn,
            id: i64,
            now: i64,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE export_package SET downloads = downloads + 1, last_download_at_us = ",
            );
            qb.push_bind(now).push(" WHERE id = ").push_bind(id);
            if qb.build().execute(&mut *conn).await?.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        /// Packages still on disk whose expiry has come, soonest expired first.
        pub(crate) async fn expired_packages(
            conn: &mut $conn,
            now: i64,
            limit: u32,
        ) -> Result<Vec<Package>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {PACKAGE_COLUMNS} FROM export_package WHERE deleted_at_us IS NULL \
                 AND expires_at_us <= "
            ));
            qb.push_bind(now)
                .push(" ORDER BY expires_at_us, id LIMIT ")
                .push_bind(i64::from(limit));
            let rows: Vec<PackageRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            packages(rows)
        }

        /// Packages whose files are not recorded as deleted, by id, after `after`.
        pub(crate) async fn stored_packages(
            conn: &mut $conn,
            after: i64,
            limit: u32,
        ) -> Result<Vec<Package>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {PACKAGE_COLUMNS} FROM export_package WHERE deleted_at_us IS NULL \
                 AND id > "
            ));
            qb.push_bind(after)
                .push(" ORDER BY id LIMIT ")
                .push_bind(i64::from(limit));
            let rows: Vec<PackageRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            packages(rows)
        }

        /// Records the deletion (keeping the first time if recorded before).
        pub(crate) async fn package_deleted(
            conn: &mut $conn,
            id: i64,
            now: i64,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE export_package SET deleted_at_us = COALESCE(deleted_at_us, ",
            );
            qb.push_bind(now).push(") WHERE id = ").push_bind(id);
            if qb.build().execute(&mut *conn).await?.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        /// The reference of request `id`, for the audit entry's subject.
        async fn reference(conn: &mut $conn, id: i64) -> Result<String, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("SELECT reference FROM request WHERE id = ");
            qb.push_bind(id);
            let reference: Option<String> =
                qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            reference.ok_or(StoreError::NotFound)
        }

        /// Restricts the subjects not restricted yet. Returns the audit entry to append, or
        /// `None` if every one was restricted already (nothing written).
        pub(crate) async fn restrict(
            conn: &mut $conn,
            subjects: &[&SubjectKey],
            request_id: Option<i64>,
            now: i64,
        ) -> Result<Option<Audit>, StoreError> {
            let reference = match request_id {
                Some(id) => Some(reference(conn, id).await?),
                None => None,
            };
            let mut added: u32 = 0;
            for s in subjects {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO subject_restriction (subject, request_id, since_us) VALUES (",
                );
                qb.separated(", ")
                    .push_bind(s.as_str())
                    .push_bind(request_id)
                    .push_bind(now);
                qb.push(") ON CONFLICT (subject) WHERE lifted_at_us IS NULL DO NOTHING");
                let done = qb.build().execute(&mut *conn).await?;
                if done.rows_affected() == 1 {
                    added += 1;
                }
            }
            Ok((added > 0).then(|| restriction_audit(RESTRICTED, reference.as_deref(), added)))
        }

        /// Lifts the active restrictions of the subjects. Returns how many were lifted, and
        /// the audit entry to append if any were.
        pub(crate) async fn lift(
            conn: &mut $conn,
            subjects: &[&SubjectKey],
            now: i64,
        ) -> Result<(u32, Option<Audit>), StoreError> {
            if subjects.is_empty() {
                return Ok((0, None));
            }
            let mut qb = QueryBuilder::<$db>::new("UPDATE subject_restriction SET lifted_at_us = ");
            qb.push_bind(now)
                .push(" WHERE lifted_at_us IS NULL AND subject IN (");
            let mut list = qb.separated(", ");
            for s in subjects {
                list.push_bind(s.as_str());
            }
            qb.push(")");
            let lifted = qb.build().execute(&mut *conn).await?.rows_affected();
            let lifted = u32::try_from(lifted)
                .map_err(|_| StoreError::Corrupt("lifted more restrictions than asked".into()))?;
            Ok((
                lifted,
                (lifted > 0).then(|| restriction_audit(LIFTED, None, lifted)),
            ))
        }

        /// One lookup in the index of active restrictions.
        pub(crate) async fn is_restricted(
            conn: &mut $conn,
            subject: &SubjectKey,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT id FROM subject_restriction WHERE lifted_at_us IS NULL AND subject = ",
            );
            qb.push_bind(subject.as_str());
            let found: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            Ok(found.is_some())
        }

        /// Every subject with an active restriction, to load the SQLite store's set in memory
        /// (the PostgreSQL store keeps none).
        #[allow(dead_code)]
        pub(crate) async fn active_subjects(
            conn: &mut $conn,
        ) -> Result<Vec<SubjectKey>, StoreError> {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT subject FROM subject_restriction WHERE lifted_at_us IS NULL",
            )
            .fetch_all(&mut *conn)
            .await?;
            subject_keys(rows)
        }

        /// The restrictions of the subjects, active and lifted, oldest first.
        pub(crate) async fn restrictions(
            conn: &mut $conn,
            subjects: &[&SubjectKey],
        ) -> Result<Vec<Restriction>, StoreError> {
            if subjects.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT subject, request_id, since_us, lifted_at_us FROM subject_restriction \
                 WHERE subject IN (",
            );
            let mut list = qb.separated(", ");
            for s in subjects {
                list.push_bind(s.as_str());
            }
            qb.push(") ORDER BY id");
            let rows: Vec<RestrictionRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(Restriction::try_from).collect()
        }
    };
}
pub(crate) use execution_queries;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_round_trip_and_match_the_migrations() {
        for s in JobState::all() {
            assert_eq!(JobState::parse(s.key()), Some(*s));
        }
        assert_eq!(JobState::parse("Done"), None);
        for sql in [
            include_str!("../migrations/sqlite/0004_execution.sql"),
            include_str!("../migrations/postgres/0004_execution.sql"),
        ] {
            let states = sql
                .lines()
                .find(|l| l.contains("CHECK (state IN ("))
                .expect("the state CHECK is on one line");
            let finished = sql
                .lines()
                .find(|l| l.contains("finished_at_us IS NOT NULL"))
                .expect("the finished_at CHECK is on one line");
            for s in JobState::all() {
                let quoted = format!("'{}'", s.key());
                assert!(states.contains(&quoted), "{s} missing from the state CHECK");
                assert_eq!(finished.contains(&quoted), s.is_finished(), "{s}");
            }
        }
    }

    #[test]
    fn debug_hides_what_may_describe_a_person() {
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let job = Job {
            id: 1,
            request_id: 2,
            kind: "access".into(),
            state: JobState::Running,
            spec: r#"{"email":"ann@example.com"}"#.into(),
            checkpoint: Some(r#"{"last":"ann@example.com"}"#.into()),
            result: Some("ann".into()),
            error: Some("duplicate key (email)=(ann@example.com)".into()),
            attempts: 1,
            lease_owner: Some("node-1".into()),
            lease_until: Some(at),
            not_before: None,
            created_at: at,
            updated_at: at,
            finished_at: None,
        };
        let text = format!("{job:?}");
        assert!(!text.contains("ann"), "{text}");
        assert!(text.contains("node-1") && text.contains("[redacted]"));

        let new = NewJob {
            request_id: 2,
            kind: "access",
            spec: "ann",
        };
        assert!(!format!("{new:?}").contains("ann"));

        let task = Task {
            id: 1,
            request_id: 2,
            system: "hubspot".into(),
            title: "Delete ann@example.com".into(),
            instructions: "Find Ann Example".into(),
            created_at: at,
            done_at: Some(at),
            done_by: Some("user:3".into()),
            note: Some("Ann called".into()),
        };
        let text = format!("{task:?}");
        assert!(!text.to_lowercase().contains("ann"), "{text}");
        assert!(text.contains("hubspot"));

        let hash = [0xab; 32];
        let p = NewPackage {
            request_id: 2,
            path: "/data/p.bin",
            size: 3,
            token_hash: &hash,
            expires_at: at,
        };
        let text = format!("{p:?}");
        assert!(!text.contains("171") && !text.contains("ab, ab"), "{text}");

        let r = Restriction {
            subject: SubjectKey::parse("email:ann@example.com").unwrap(),
            request_id: None,
            since: at,
            lifted_at: None,
        };
        let text = format!("{r:?}");
        assert!(
            !text.contains("ann") && text.contains("email:[redacted]"),
            "{text}"
        );

        let set = RestrictionSet::default();
        set.load(vec![r.subject]);
        let text = format!("{set:?}");
        assert!(!text.contains("ann") && text.contains('1'), "{text}");
    }

    #[test]
    fn input_rules() {
        let job = |kind, spec| NewJob {
            request_id: 1,
            kind,
            spec,
        };
        assert!(check_new_job(&job("access", "{}")).is_ok());
        assert!(check_new_job(&job("", "{}")).is_err());
        assert!(check_new_job(&job("a b", "{}")).is_err());
        assert!(check_new_job(&job("access", "\0")).is_err());
        let big = "x".repeat(MAX_JSON + 1);
        assert!(check_new_job(&job("access", &big)).is_err());
        assert!(check_json(&big[1..]).is_ok());
        assert!(check_owner("").is_err() && check_owner("node-1").is_ok());

        let task = |system| NewTask {
            system,
            title: "Erase",
            instructions: "",
        };
        assert!(check_tasks(&[task("hubspot")]).is_ok());
        assert!(check_tasks(&[task("ann@example.com")]).is_err());
        assert!(check_tasks(&[task("HubSpot")]).is_err());
        assert!(
            check_tasks(&[NewTask {
                title: "",
                ..task("hubspot")
            }])
            .is_err()
        );

        let now = Timestamp::now();
        let hash = [1; 32];
        let package = |path, size, expires_at| NewPackage {
            request_id: 1,
            path,
            size,
            token_hash: &hash,
            expires_at,
        };
        let later = now + jiff::SignedDuration::from_hours(1);
        let now_us = now.as_microsecond();
        assert!(check_package(&package("/p", 1, later), now_us).is_ok());
        assert!(check_package(&package("", 1, later), now_us).is_err());
        assert!(check_package(&package("/p", u64::MAX, later), now_us).is_err());
        assert!(check_package(&package("/p", 1, now), now_us).is_err());
    }

    #[test]
    fn restriction_audit_carries_a_count_only() {
        let a = restriction_audit(RESTRICTED, Some("R-1"), 2);
        assert_eq!(
            (a.action.as_str(), a.subject.as_str(), a.details.as_str()),
            ("subject.restricted", "request:R-1", r#"{"count":2}"#)
        );
        let a = restriction_audit(LIFTED, None, 1);
        assert_eq!(a.subject, "subjects");
    }

    #[test]
    fn the_restriction_set_applies_writes_only_when_loaded() {
        let ann = SubjectKey::parse("email:ann@example.com").unwrap();
        let bo = SubjectKey::parse("email:bo@example.com").unwrap();
        let set = RestrictionSet::default();
        assert_eq!(set.contains(&ann), None, "not loaded: the database answers");
        set.apply(&[&ann], true);
        assert!(!set.is_loaded());
        set.load(vec![bo.clone()]);
        set.apply(&[&ann], true);
        assert_eq!(set.contains(&ann), Some(true));
        assert_eq!(set.contains(&bo), Some(true));
        set.apply(&[&bo], false);
        assert_eq!(set.contains(&bo), Some(false));
        set.unload();
        assert_eq!(set.contains(&ann), None);
    }

    /// The server and the engine run these in spawned tasks, so their futures must be `Send`.
    /// Checked by the compiler; never called.
    #[allow(dead_code)]
    fn store_futures_are_send(store: &crate::Store, subjects: &[SubjectKey], t: &[NewTask<'_>]) {
        fn send<T: Send>(_: T) {}
        let hour = std::time::Duration::from_secs(3600);
        send(store.create_job(NewJob {
            request_id: 1,
            kind: "access",
            spec: "{}",
        }));
        send(store.lease_job("w", hour));
        send(store.checkpoint_job(1, "w", "{}", hour));
        send(store.fail_job(1, "w", "e", None));
        send(store.create_tasks(1, t));
        send(store.complete_task(1, "user:1", None));
        send(store.restrict(subjects, None, "user:1"));
        send(store.lift_restriction(subjects, "user:1"));
        send(store.is_restricted(&subjects[0]));
        send(store.expired_packages(Timestamp::now(), 1));
    }

    #[test]
    fn subjects_are_deduplicated() {
        let ann = SubjectKey::parse("email:ann@example.com").unwrap();
        let ann2 = SubjectKey::parse("email:ANN@example.com").unwrap();
        let bo = SubjectKey::parse("email:bo@example.com").unwrap();
        let list = [bo.clone(), ann.clone(), ann2];
        assert_eq!(distinct_subjects(&list).unwrap(), vec![&ann, &bo]);
        let many = vec![ann; MAX_SUBJECTS + 1];
        assert!(distinct_subjects(&many).is_err());
    }
}
