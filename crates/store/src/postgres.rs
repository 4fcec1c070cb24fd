//! The shared backend: PostgreSQL, for any number of ombud nodes on one database.

use std::str::FromStr;
use std::time::Duration;

use ombud_domain::audit::{AuditRecord, Hash};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::common::{self, AuditRow, HeadRow, PolicyRow, PolicySummaryRow};
use crate::{
    AuditReport, Change, CodeState, Job, NewAuditEntry, NewJob, NewMail, NewPackage,
    NewPolicyVersion, NewRequest, NewTask, Package, PolicyVersion, PolicyVersionSummary,
    QueuedMail, RequestEvent, RequestFilter, RequestRecord, Restriction, StoreError, Task,
};

/// The consent ledger's SQL, instantiated for this backend.
mod ledger {
    // At most 32 rows per statement: sqlx leaves Nagle's algorithm on for TCP connections, and
    // messages past a few tens of kilobytes then stall on the server's delayed ACK (about 40 ms
    // per statement, measured with 100-row statements). Small messages keep a batch a few quick
    // round trips inside one transaction.
    crate::consent::ledger_queries!(sqlx::Postgres, sqlx::PgConnection, 32);
}

/// The requests' SQL, instantiated for this backend.
mod request_sql {
    crate::requests::request_queries!(sqlx::Postgres, sqlx::PgConnection);
}

/// The outbox's SQL. Leasing locks the rows it picks and skips rows that another node's lease
/// transaction has locked, so concurrent workers neither wait for nor duplicate each other.
mod outbox_sql {
    crate::outbox::outbox_queries!(
        sqlx::Postgres,
        sqlx::PgConnection,
        " FOR UPDATE SKIP LOCKED"
    );
}

/// Request execution's SQL. Leasing a job locks the row it picks and skips rows that another
/// node's lease transaction has locked, like the outbox.
mod execution_sql {
    crate::execution::execution_queries!(
        sqlx::Postgres,
        sqlx::PgConnection,
        " FOR UPDATE SKIP LOCKED"
    );
}

/// The console's figures' SQL, instantiated for this backend.
mod console_sql {
    crate::console::console_queries!(sqlx::Postgres, sqlx::PgConnection);
}

/// Staff accounts' SQL, instantiated for this backend.
mod staff_sql {
    crate::staff::staff_queries!(sqlx::Postgres, sqlx::PgConnection);
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a caller waits for a pooled connection before the store reports `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub(crate) async fn connect(url: &str) -> Result<PgStore, StoreError> {
        // The parse error can quote the URL, password included, so it is not passed on.
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Invalid("malformed PostgreSQL URL"))?
            .application_name("ombud");
        let pool = PgPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        // sqlx takes an advisory lock around migrations, so nodes starting together are safe.
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn activate_policy(
        &self,
        p: &NewPolicyVersion<'_>,
    ) -> Result<PolicyVersion, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Locking the head first serialises activations across nodes too: two nodes starting
        // with the same new policy can't both see the old one as current.
        let head = lock_head(&mut tx).await?;
        if let Some(current) = current_policy(&mut tx).await?
            && current.hash == p.hash
        {
            tx.rollback().await?;
            return Ok(current);
        }
        let now = common::now_us();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policy_version (hash, content, label, activated_at_us) \
             VALUES ($1, $2, $3, $4) RETURNING id",
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
        let mut conn = self.pool.acquire().await?;
        current_policy(&mut conn).await
    }

    pub(crate) async fn policy_version(
        &self,
        id: i64,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        sqlx::query_as::<_, PolicyRow>(
            "SELECT id, hash, content, label, activated_at_us FROM policy_version WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(PolicyVersion::try_from)
        .transpose()
    }

    pub(crate) async fn policy_versions(&self) -> Result<Vec<PolicyVersionSummary>, StoreError> {
        sqlx::query_as::<_, PolicySummaryRow>(
            "SELECT id, hash, label, activated_at_us FROM policy_version ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(PolicyVersionSummary::try_from)
        .collect()
    }

    pub(crate) async fn append_audit(
        &self,
        entries: &[NewAuditEntry<'_>],
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
        let records = append(&mut tx, head, entries, common::now_us()).await?;
        tx.commit().await?;
        Ok(records)
    }

    pub(crate) async fn audit_page(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        audit_page(&mut conn, after_seq, limit).await
    }

    pub(crate) async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        // One snapshot for the whole check, so appends committed by other nodes meanwhile can't
        // make the head and the rows disagree.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
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

async fn read_head(conn: &mut PgConnection) -> Result<Option<(i64, Hash)>, StoreError> {
    sqlx::query_as::<_, HeadRow>("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit_head row is missing".to_owned()))?
        .into_head()
}

/// Reads the head and locks it until the transaction ends. Every append takes this lock first,
/// so appends from all nodes are serialised and each sees the head the previous one left.
async fn lock_head(conn: &mut PgConnection) -> Result<Option<(i64, Hash)>, StoreError> {
    sqlx::query_as::<_, HeadRow>("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit_head row is missing".to_owned()))?
        .into_head()
}

/// Appends `entries` after `head` and moves the head, inside the caller's transaction, which
/// must hold the head lock.
async fn append(
    conn: &mut PgConnection,
    head: Option<(i64, Hash)>,
    entries: &[NewAuditEntry<'_>],
    at_us: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let records = common::chain_after(head, entries, at_us)?;
    for r in &records {
        sqlx::query(
            "INSERT INTO audit_log \
             (seq, at_us, actor, action, subject, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last.seq)
            .bind(&last.hash[..])
            .execute(&mut *conn)
            .await?;
    }
    Ok(records)
}

async fn current_policy(conn: &mut PgConnection) -> Result<Option<PolicyVersion>, StoreError> {
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
    conn: &mut PgConnection,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query_as::<_, AuditRow>(
        "SELECT seq, at_us, actor, action, subject, details, prev_hash, hash FROM audit_log \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    common::audit_records(rows)
}

/// The consent ledger.
impl PgStore {
    pub(crate) async fn record_consent(
        &self,
        events: &[crate::consent::NewConsentEvent],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let seqs = ledger::insert(&mut tx, events).await?;
        tx.commit().await?;
        Ok(seqs)
    }

    pub(crate) async fn consent_states(
        &self,
        subjects: &[ombud_domain::consent::SubjectKey],
    ) -> Result<Vec<ombud_domain::consent::State>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        ledger::states(&mut conn, subjects).await
    }

    pub(crate) async fn consent_history(
        &self,
        subjects: &[ombud_domain::consent::SubjectKey],
        after: i64,
        limit: u32,
    ) -> Result<Vec<crate::consent::ConsentEvent>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        ledger::history(&mut conn, subjects, after, limit).await
    }

    pub(crate) async fn consent_event_count(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        ledger::count(&mut conn).await
    }

    pub(crate) async fn consent_subjects(
        &self,
        subject: &ombud_domain::consent::SubjectKey,
    ) -> Result<Vec<ombud_domain::consent::SubjectKey>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        ledger::linked(&mut conn, subject).await
    }

    pub(crate) async fn link_subjects(
        &self,
        a: &ombud_domain::consent::SubjectKey,
        b: &ombud_domain::consent::SubjectKey,
        audit: &NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
        ledger::link(&mut tx, a, b).await?;
        append(&mut tx, head, std::slice::from_ref(audit), common::now_us()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Rights requests and the mail outbox. Writes that append to the audit log lock the audit head
/// first, like every audited write, which also serialises changes to one request across nodes;
/// the compare-and-set in `request_sql::change` holds on its own as well.
impl PgStore {
    pub(crate) async fn create_request(
        &self,
        r: &NewRequest<'_>,
    ) -> Result<RequestRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
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
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
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
        let mut conn = self.pool.acquire().await?;
        request_sql::by_id(&mut conn, id).await
    }

    pub(crate) async fn request_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::by_reference(&mut conn, reference).await
    }

    pub(crate) async fn list_requests(
        &self,
        f: &RequestFilter,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::list(&mut conn, f).await
    }

    pub(crate) async fn request_timeline(&self, id: i64) -> Result<Vec<RequestEvent>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::timeline(&mut conn, id).await
    }

    pub(crate) async fn store_code(
        &self,
        request_id: i64,
        hash: &[u8; 32],
    ) -> Result<CodeState, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::store_code(&mut conn, request_id, hash, common::now_us()).await
    }

    pub(crate) async fn code_state(
        &self,
        request_id: i64,
    ) -> Result<Option<CodeState>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::code_state(&mut conn, request_id).await
    }

    pub(crate) async fn code_failed(&self, request_id: i64) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::code_failed(&mut conn, request_id).await
    }

    pub(crate) async fn reminder_once(
        &self,
        request_id: i64,
        kind: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        request_sql::reminder_once(&mut conn, request_id, kind, common::now_us()).await
    }

    pub(crate) async fn enqueue_mail(&self, m: &NewMail<'_>) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        outbox_sql::insert(&mut conn, m, m.request_id, common::now_us()).await
    }

    pub(crate) async fn lease_mail(
        &self,
        limit: u32,
        lease_us: i64,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        // The picked rows stay locked until commit, after their lease is written: another
        // node's pick skips them while locked and sees the lease once committed.
        let mut tx = self.pool.begin().await?;
        let now = common::now_us();
        let leased = outbox_sql::lease(&mut tx, limit, now, now.saturating_add(lease_us)).await?;
        tx.commit().await?;
        Ok(leased)
    }

    pub(crate) async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        outbox_sql::sent(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at_us: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        outbox_sql::failed(&mut tx, id, error, retry_at_us).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn mail_status(&self, request_id: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        outbox_sql::of_request(&mut conn, request_id).await
    }
}

/// Request execution: jobs, tasks, packages and restrictions. Owner-only job writes are single
/// statements whose WHERE names the owner, so they need no explicit locking; audited writes lock
/// the audit head first, like every audited write.
impl PgStore {
    pub(crate) async fn create_job(&self, j: &NewJob<'_>) -> Result<i64, StoreError> {
        // Each statement on its own: the insert waits for a concurrent insert of the same
        // unfinished job to commit, and the look-up that follows sees it.
        let mut conn = self.pool.acquire().await?;
        execution_sql::create_job(&mut conn, j, common::now_us()).await
    }

    pub(crate) async fn lease_job(
        &self,
        only: Option<i64>,
        owner: &str,
        lease_us: i64,
    ) -> Result<Option<Job>, StoreError> {
        // The picked row stays locked until commit, after its lease is written: another node's
        // pick skips it while locked and sees the lease once committed.
        let mut tx = self.pool.begin().await?;
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
        let mut conn = self.pool.acquire().await?;
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
        let mut conn = self.pool.acquire().await?;
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
        let mut conn = self.pool.acquire().await?;
        execution_sql::finish(&mut conn, id, owner, result, common::now_us()).await
    }

    pub(crate) async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at_us: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::fail(&mut conn, id, owner, error, retry_at_us, common::now_us()).await
    }

    pub(crate) async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::job(&mut conn, id).await
    }

    pub(crate) async fn jobs_for_request(&self, request_id: i64) -> Result<Vec<Job>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::jobs_of(&mut conn, request_id).await
    }

    pub(crate) async fn create_tasks(
        &self,
        request_id: i64,
        tasks: &[NewTask<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids = execution_sql::create_tasks(&mut tx, request_id, tasks, common::now_us()).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn tasks_for_request(&self, request_id: i64) -> Result<Vec<Task>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::tasks_of(&mut conn, request_id).await
    }

    pub(crate) async fn complete_task(
        &self,
        task_id: i64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
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
        let mut conn = self.pool.acquire().await?;
        execution_sql::open_tasks(&mut conn, request_id).await
    }

    pub(crate) async fn create_package(
        &self,
        p: &NewPackage<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::create_package(&mut conn, p, now).await
    }

    pub(crate) async fn package_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<Package>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::package_by_token(&mut conn, token_hash).await
    }

    pub(crate) async fn packages_for_request(
        &self,
        request_id: i64,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::packages_of(&mut conn, request_id).await
    }

    pub(crate) async fn package_downloaded(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::package_downloaded(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn expired_packages(
        &self,
        now_us: i64,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::expired_packages(&mut conn, now_us, limit).await
    }

    pub(crate) async fn stored_packages(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Package>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::stored_packages(&mut conn, after, limit).await
    }

    pub(crate) async fn package_deleted(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::package_deleted(&mut conn, id, common::now_us()).await
    }

    pub(crate) async fn restrict(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
        request_id: Option<i64>,
        actor: &str,
    ) -> Result<(), StoreError> {
        // The head lock also serialises restrictions of one subject across nodes.
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
        let now = common::now_us();
        if let Some(audit) = execution_sql::restrict(&mut tx, subjects, request_id, now).await? {
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn lift_restriction(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
        actor: &str,
    ) -> Result<u32, StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = lock_head(&mut tx).await?;
        let now = common::now_us();
        let (lifted, audit) = execution_sql::lift(&mut tx, subjects, now).await?;
        if let Some(audit) = audit {
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
        }
        tx.commit().await?;
        Ok(lifted)
    }

    /// One lookup in the partial unique index of active restrictions. Other nodes restrict
    /// too, so nothing is kept in memory here.
    pub(crate) async fn is_restricted(
        &self,
        subject: &ombud_domain::consent::SubjectKey,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::is_restricted(&mut conn, subject).await
    }

    pub(crate) async fn restrictions(
        &self,
        subjects: &[&ombud_domain::consent::SubjectKey],
    ) -> Result<Vec<Restriction>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        execution_sql::restrictions(&mut conn, subjects).await
    }
}

/// Staff accounts. Audited writes lock the audit head, which also orders them across nodes;
/// compare-and-set writes are single statements, atomic on their own.
impl PgStore {
    /// A transaction, named like the SQLite store's so that shared method bodies use both.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    crate::staff::staff_methods!(read: pool, write: pool, head: lock_head);
}

/// The console's figures, read on the pool.
impl PgStore {
    crate::console::console_methods!(read: pool);
}
