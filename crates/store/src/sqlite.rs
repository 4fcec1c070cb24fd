//! The embedded backend: one SQLite file in WAL mode.

use std::path::Path;
use std::time::Duration;

use ombud_domain::audit::{AuditRecord, Hash};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};

use crate::common::{self, AuditRow, HeadRow, PolicyRow, PolicySummaryRow};
use crate::execution::RestrictionSet;
use crate::{
    AuditReport, Change, CodeState, Job, NewAuditEntry, NewJob, NewMail, NewPackage,
    NewPolicyVersion, NewRequest, NewTask, Package, PolicyVersion, PolicyVersionSummary,
    QueuedMail, RequestEvent, RequestFilter, RequestRecord, Restriction, StoreError, Task,
};

/// The consent ledger's SQL, instantiated for this backend.
mod ledger {
    // Up to 256 rows per statement: few round trips to an in-process database.
    crate::consent::ledger_queries!(sqlx::Sqlite, sqlx::SqliteConnection, 256);
}

/// The requests' SQL, instantiated for this backend.
mod request_sql {
    crate::requests::request_queries!(sqlx::Sqlite, sqlx::SqliteConnection);
}

/// The outbox's SQL. Leasing needs no row locks here: it runs in a `BEGIN IMMEDIATE`
/// transaction, which holds the database's only write lock.
mod outbox_sql {
    crate::outbox::outbox_queries!(sqlx::Sqlite, sqlx::SqliteConnection, "");
}

/// Request execution's SQL. Leasing a job needs no row locks either: it runs in a
/// `BEGIN IMMEDIATE` transaction.
mod execution_sql {
    crate::execution::execution_queries!(sqlx::Sqlite, sqlx::SqliteConnection, "");
}

/// The console's figures' SQL, instantiated for this backend.
mod console_sql {
    crate::console::console_queries!(sqlx::Sqlite, sqlx::SqliteConnection);
}

/// Staff accounts' SQL, instantiated for this backend.
mod staff_sql {
    crate::staff::staff_queries!(sqlx::Sqlite, sqlx::SqliteConnection);
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another process's write lock before giving up. Only another
/// process (a CLI command beside the server) can hold it: within this process all writes go
/// through one connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections. WAL lets readers run beside the writer, so reads never queue behind
/// writes.
const READERS: u32 = 4;

/// SQLite has a single writer, so this store keeps two pools: one writer connection that every
/// write goes through (writers queue in the pool instead of spinning on SQLITE_BUSY) and a few
/// reader connections.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The consent state in memory; exact because this process is the file's only writer.
    cache: std::sync::Arc<crate::consent_cache::StateCache>,
    /// The active restrictions of processing in memory, exact for the same reason.
    restrictions: std::sync::Arc<RestrictionSet>,
}

impl SqliteStore {
    pub(crate) async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Nothing acknowledged may be lost. In WAL mode NORMAL survives a process crash but
            // can lose the last commits on power loss or an OS crash; FULL syncs the WAL on every
            // commit and so survives both. Throughput comes from batching writes, not from
            // weaker syncing.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.create_if_missing(false))
            .await?;
        let restrictions = std::sync::Arc::new(RestrictionSet::default());
        {
            let mut conn = writer.acquire().await?;
            restrictions.load(execution_sql::active_subjects(&mut conn).await?);
        }
        Ok(SqliteStore {
            writer,
            reader,
            cache: Default::default(),
            restrictions,
        })
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// A write transaction that holds SQLite's write lock from its first statement.
    ///
    /// A deferred `BEGIN` would read the audit head under a read lock and upgrade to a write
    /// lock later; if another process wrote in between, the upgrade fails at once with
    /// SQLITE_BUSY (busy_timeout can't help). `BEGIN IMMEDIATE` waits for the lock up front, so
    /// the head read and the append that follows can't interleave with another writer.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(crate) async fn activate_policy(
        &self,
        p: &NewPolicyVersion<'_>,
    ) -> Result<PolicyVersion, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        if let Some(current) = current_policy(&mut tx).await?
            && current.hash == p.hash
        {
            tx.rollback().await?;
            return Ok(current);
        }
        let now = common::now_us();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policy_version (hash, content, label, activated_at_us) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(p.hash)
        .bind(p.content)
        .bind(p.label)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let subject = common::policy_subject(id);
        let details = common::policy_activated_details(p);
        let entry = NewAuditEntry {
            actor: p.actor,
            action: common::POLICY_ACTIVATED,
            subject: &subject,
            details: &details,
        };
        append(&mut tx, head, &[entry], now).await?;
        tx.commit().await?;
        common::inserted_policy(id, p, now)
    }

    pub(crate) async fn current_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        current_policy(&mut conn).await
    }

    pub(crate) async fn policy_version(
        &self,
        id: i64,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        sqlx::query_as::<_, PolicyRow>(
            "SELECT id, hash, content, label, activated_at_us FROM policy_version WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?
        .map(PolicyVersion::try_from)
        .transpose()
    }

    pub(crate) async fn policy_versions(&self) -> Result<Vec<PolicyVersionSummary>, StoreError> {
        sqlx::query_as::<_, PolicySummaryRow>(
            "SELECT id, hash, label, activated_at_us FROM policy_version ORDER BY id DESC",
        )
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(PolicyVersionSummary::try_from)
        .collect()
    }

    pub(crate) async fn append_audit(
        &self,
        entries: &[NewAuditEntry<'_>],
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        let records = append(&mut tx, head, entries, common::now_us()).await?;
        tx.commit().await?;
        Ok(records)
    }

    pub(crate) async fn audit_page(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        audit_page(&mut conn, after_seq, limit).await
    }

    pub(crate) async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        // One read transaction: in WAL mode it sees a single snapshot from its first read, so
        // appends committed meanwhile can't make the head and the rows disagree.
        let mut tx = self.reader.begin().await?;
        let head = read_head(&mut tx).await?;
        let mut check = common::Verification::new(head);
        while let Some(after) = check.next_page_after() {
            let page = audit_page(&mut tx, after, common::VERIFY_PAGE).await?;
            check.feed_page(&page);
        }
        tx.rollback().await?;
        Ok(check.report())
    }
}

async fn read_head(conn: &mut SqliteConnection) -> Result<Option<(i64, Hash)>, StoreError> {
    sqlx::query_as::<_, HeadRow>("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit_head row is missing".to_owned()))?
        .into_head()
}

/// Appends `entries` after `head` and moves the head, inside the caller's write transaction.
async fn append(
    conn: &mut SqliteConnection,
    head: Option<(i64, Hash)>,
    entries: &[NewAuditEntry<'_>],
    at_us: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let records = common::chain_after(head, entries, at_us)?;
    for r in &records {
        sqlx::query(
            "INSERT INTO audit_log \
             (seq, at_us, actor, action, subject, details, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.seq)
        .bind(r.at_us)
        .bind(&r.actor)
        .bind(&r.action)
        .bind(&r.subject)
        .bind(&r.details)
        .bind(&r.prev_hash[..])
        .bind(&r.hash[..])
        .execute(&mut *conn)
        .await?;
    }
    if let Some(last) = records.last() {
        sqlx::query("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")
            .bind(last.seq)
            .bind(&last.hash[..])
            .execute(&mut *conn)
            .await?;
    }
    Ok(records)
}

async fn current_policy(conn: &mut SqliteConnection) -> Result<Option<PolicyVersion>, StoreError> {
    sqlx::query_as::<_, PolicyRow>(
        "SELECT id, hash, content, label, activated_at_us FROM policy_version \
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?
    .map(PolicyVersion::try_from)
    .transpose()
}

async fn audit_page(
    conn: &mut SqliteConnection,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query_as::<_, AuditRow>(
        "SELECT seq, at_us, actor, action, subject, details, prev_hash, hash FROM audit_log \
         WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    common::audit_records(rows)
}

/// The consent ledger.
impl SqliteStore {
    pub(crate) async fn record_consent(
        &self,
        events: &[crate::consent::NewConsentEvent],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let seqs = ledger::insert(&mut tx, events).await?;
        tx.commit().await?;
        self.cache.record(
            events
                .iter()
                .zip(&seqs)
                .map(|(e, seq)| crate::consent::state_of(e, *seq)),
        );
        Ok(seqs)
    }

    pub(crate) async fn consent_states(
        &self,
        subjects: &[ombud_domain::consent::SubjectKey],
    ) -> Result<Vec<ombud_domain::consent::State>, StoreError> {
        if let Some(states) = self.cache.states(subjects) {
            return Ok(states);
        }
        let generation = self.cache.generation();
        let mut conn = self.reader.acquire().await?;
        let states = ledger::states(&mut conn, subjects).await?;
        self.cache.fill(generation, subjects, &states);
        Ok(states)
    }

    pub(crate) async fn consent_history(
        &self,
        subjects: &[ombud_domain::consent::SubjectKey],
        after: i64,
        limit: u32,
    ) -> Result<Vec<crate::consent::ConsentEvent>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        ledger::history(&mut conn, subjects, after, limit).await
    }

    pub(crate) async fn consent_event_count(&self) -> Result<i64, StoreError> {
        let mut conn = self.reader.acquire().await?;
        ledger::count(&mut conn).await
    }

    pub(crate) async fn consent_subjects(
        &self,
        subject: &ombud_domain::consent::SubjectKey,
    ) -> Result<Vec<ombud_domain::consent::SubjectKey>, StoreError> {
        if let Some(linked) = self.cache.links(subject) {
            return Ok(linked);
        }
        let generation = self.cache.generation();
        let mut conn = self.reader.acquire().await?;
        let linked = ledger::linked(&mut conn, subject).await?;
        self.cache.fill_links(generation, subject, &linked);
        Ok(linked)
    }

    pub(crate) async fn link_subjects(
        &self,
        a: &ombud_domain::consent::SubjectKey,
        b: &ombud_domain::consent::SubjectKey,
        audit: &NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        ledger::link(&mut tx, a, b).await?;
        append(&mut tx, head, std::slice::from_ref(audit), common::now_us()).await?;
        tx.commit().await?;
        self.cache.clear();
        Ok(())
    }
}

/// Rights requests and the mail outbox. Writes go through the writer connection; those that
/// append to the audit log (or must read and write atomically, like leasing) in a
/// `BEGIN IMMEDIATE` transaction.
impl SqliteStore {
    pub(crate) async fn create_request(
        &self,
        r: &NewRequest<'_>,
    ) -> Result<RequestRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        let now = common::now_us();
        let (id, audit) = request_sql::create(&mut tx, r, now).await?;
        for m in &r.mail {
            outbox_sql::insert(&mut tx, m, m.request_id.or(Some(id)), now).await?;
        }
        append(&mut tx, head, &[audit.entry(r.actor)], now).await?;
        let record = request_sql::by_id(&mut tx, id).await?;
        tx.commit().await?;
        record.ok_or_else(|| StoreError::Corrupt("a new request is missing".to_owned()))
    }

    pub(crate) async fn change_request(
        &self,
        id: i64,
        c: &Change<'_>,
    ) -> Result<RequestRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        let now = common::now_us();
        let audit = request_sql::change(&mut tx, id, c, now).await?;
        for m in &c.mail {
            outbox_sql::insert(&mut tx, m, m.request_id.or(Some(id)), now).await?;
        }
        append(&mut tx, head, &[audit.entry(c.actor)], now).await?;
        let record = request_sql::by_id(&mut tx, id).await?;
        tx.commit().await?;
        record.ok_or_else(|| StoreError::Corrupt("a changed request is missing".to_owned()))
    }

    pub(crate) async fn request(&self, id: i64) -> Result<Option<RequestRecord>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        request_sql::by_id(&mut conn, id).await
    }

    pub(crate) async fn request_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        request_sql::by_reference(&mut conn, reference).await
    }

    pub(crate) async fn list_requests(
        &self,
        f: &RequestFilter,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        request_sql::list(&mut conn, f).await
    }

    pub(crate) async fn request_timeline(&self, id: i64) -> Result<Vec<RequestEvent>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        request_sql::timeline(&mut conn, id).await
    }

    pub(crate) async fn store_code(
        &self,
        request_id: i64,
        hash: &[u8; 32],
    ) -> Result<CodeState, StoreError> {
        let mut conn = self.writer.acquire().await?;
        request_sql::store_code(&mut conn, request_id, hash, common::now_us()).await
    }

    pub(crate) async fn code_state(
        &self,
        request_id: i64,
    ) -> Result<Option<CodeState>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        request_sql::code_state(&mut conn, request_id).await
    }

    pub(crate) async fn code_failed(&self, request_id: i64) -> Result<u32, StoreError> {
        let mut conn = self.writer.acquire().await?;
        request_sql::code_failed(&mut conn, request_id).await
    }

    pub(crate) async fn reminder_once(
        &self,
        request_id: i64,
        kind: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        request_sql::reminder_once(&mut conn, request_id, kind, common::now_us()).await
    }

    pub(crate) async fn enqueue_mail(&self, m: &NewMail<'_>) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        outbox_sql::insert(&mut conn, m, m.request_id, common::now_us()).await
    }

    pub(crate) async fn lease_mail(
        &self,
        limit: u32,
        lease_us: i64,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = common::now_us();
        let leased = outbox_sql::lease(&mut tx, limit, now, now.saturating_add(lease_us)).await?;
        tx.commit().await?;
        Ok(leased)
    }

    pub(crate) async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        outbox_sql::sent(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at_us: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        outbox_sql::failed(&mut tx, id, error, retry_at_us).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn mail_status(&self, request_id: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        outbox_sql::of_request(&mut conn, request_id).await
    }
}

/// Request execution: jobs, tasks, packages and restrictions. Leasing and audited writes run in
/// a `BEGIN IMMEDIATE` transaction; single-statement writes on the writer connection.
impl SqliteStore {
    pub(crate) async fn create_job(&self, j: &NewJob<'_>) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = execution_sql::create_job(&mut tx, j, common::now_us()).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn lease_job(
        &self,
        only: Option<i64>,
        owner: &str,
        lease_us: i64,
    ) -> Result<Option<Job>, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = common::now_us();
        let job =
            execution_sql::lease(&mut tx, only, owner, now, now.saturating_add(lease_us)).await?;
        tx.commit().await?;
        Ok(job)
    }

    pub(crate) async fn renew_job(
        &self,
        id: i64,
        owner: &str,
        lease_us: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let now = common::now_us();
        execution_sql::renew(&mut conn, id, owner, now, now.saturating_add(lease_us)).await
    }

    pub(crate) async fn checkpoint_job(
        &self,
        id: i64,
        owner: &str,
        checkpoint: &str,
        lease_us: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let now = common::now_us();
        let until = now.saturating_add(lease_us);
        execution_sql::checkpoint(&mut conn, id, owner, checkpoint, now, until).await
    }

    pub(crate) async fn finish_job(
        &self,
        id: i64,
        owner: &str,
        result: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        execution_sql::finish(&mut conn, id, owner, result, common::now_us()).await
    }

    pub(crate) async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at_us: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        execution_sql::fail(&mut conn, id, owner, error, retry_at_us, common::now_us()).await
    }

    pub(crate) async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::job(&mut conn, id).await
    }

    pub(crate) async fn jobs_for_request(&self, request_id: i64) -> Result<Vec<Job>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::jobs_of(&mut conn, request_id).await
    }

    pub(crate) async fn create_tasks(
        &self,
        request_id: i64,
        tasks: &[NewTask<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids = execution_sql::create_tasks(&mut tx, request_id, tasks, common::now_us()).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn tasks_for_request(&self, request_id: i64) -> Result<Vec<Task>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::tasks_of(&mut conn, request_id).await
    }

    pub(crate) async fn complete_task(
        &self,
        task_id: i64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let head = read_head(&mut tx).await?;
        let now = common::now_us();
        let Some(audit) = execution_sql::complete_task(&mut tx, task_id, actor, note, now).await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        append(&mut tx, head, &[audit.entry(actor)], now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn open_tasks(&self, request_id: i64) -> Result<i64, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::open_tasks(&mut conn, request_id).await
    }

    pub(crate) async fn create_package(
        &self,
        p: &NewPackage<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        execution_sql::create_package(&mut conn, p, now).await
    }

    pub(crate) async fn package_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<Package>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::package_by_token(&mut conn, token_hash).await
    }

    pub(crate) async fn packages_for_request(
        &self,
        request_id: i64,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::packages_of(&mut conn, request_id).await
    }

    pub(crate) async fn package_downloaded(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        execution_sql::package_downloaded(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn expired_packages(
        &self,
        now_us: i64,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::expired_packages(&mut conn, now_us, limit).await
    }

    pub(crate) async fn stored_packages(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::stored_packages(&mut conn, after, limit).await
    }

    pub(crate) async fn package_deleted(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        execution_sql::package_deleted(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn restrict(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
        request_id: Option<i64>,
        actor: &str,
    ) -> Result<(), StoreError> {
        // The writer connection is held until the set in memory is updated, so that updates
        // apply in commit order (a later lift can't be overtaken by this restriction's update).
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let head = read_head(&mut tx).await?;
        let now = common::now_us();
        if let Some(audit) = execution_sql::restrict(&mut tx, subjects, request_id, now).await? {
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
        }
        let committed = tx.commit().await;
        self.restrictions_committed(&mut conn, committed, subjects, true)
            .await
    }

    pub(crate) async fn lift_restriction(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
        actor: &str,
    ) -> Result<u32, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let head = read_head(&mut tx).await?;
        let now = common::now_us();
        let (lifted, audit) = execution_sql::lift(&mut tx, subjects, now).await?;
        if let Some(audit) = audit {
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
        }
        let committed = tx.commit().await;
        self.restrictions_committed(&mut conn, committed, subjects, false)
            .await?;
        Ok(lifted)
    }

    /// Brings the set in memory up to date after a restriction or lift ended its transaction
    /// with `committed`, while the caller still holds the writer connection `conn`. If the set
    /// was unloaded, or the commit's outcome is unknown, it is read again from the table.
    async fn restrictions_committed(
        &self,
        conn: &mut PoolConnection<Sqlite>,
        committed: Result<(), sqlx::Error>,
        subjects: &[&ombud_domain::consent::SubjectKey],
        restricted: bool,
    ) -> Result<(), StoreError> {
        if committed.is_ok() && self.restrictions.is_loaded() {
            self.restrictions.apply(subjects, restricted);
        } else {
            match execution_sql::active_subjects(conn).await {
                Ok(active) => self.restrictions.load(active),
                Err(e) => {
                    tracing::warn!(error = %e, "restrictions not reloaded; the database answers");
                    self.restrictions.unload();
                }
            }
        }
        Ok(committed?)
    }

    pub(crate) async fn is_restricted(
        &self,
        subject: &ombud_domain::consent::SubjectKey,
    ) -> Result<bool, StoreError> {
        if let Some(restricted) = self.restrictions.contains(subject) {
            return Ok(restricted);
        }
        let mut conn = self.reader.acquire().await?;
        execution_sql::is_restricted(&mut conn, subject).await
    }

    pub(crate) async fn restrictions(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
    ) -> Result<Vec<Restriction>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        execution_sql::restrictions(&mut conn, subjects).await
    }
}

/// Staff accounts: audited writes in a `BEGIN IMMEDIATE` transaction, single-statement writes
/// (compare-and-set included) on the writer connection, reads on the readers.
impl SqliteStore {
    crate::staff::staff_methods!(read: reader, write: writer, head: read_head);
}

/// The console's figures, read on the readers.
impl SqliteStore {
    crate::console::console_methods!(read: reader);
}
