//! Carrying out a verified request against the organisation's databases: the job the engine
//! runs, the manual tasks for systems without a connector, and what happens when both are done
//! (the package's download link goes to the person, the request completes).

use jiff::Timestamp;
use ombud_domain::policy::Keyword as _;
use ombud_domain::request::{Action, RequestState, RequestType};
use ombud_fulfil::{Correction, Engine, JobKind, JobSpec, Outcome, Progress, Quiet};
use ombud_mail::LetterKind;
use ombud_store::{Job, JobState, NewJob, NewTask, RequestRecord};

use super::{RequestError, RequestService};

/// The job kind that carries out a request of this type, if the engine does it.
pub fn job_kind(kind: RequestType) -> Option<JobKind> {
    match kind {
        RequestType::Access => Some(JobKind::Access),
        RequestType::Portability => Some(JobKind::Portability),
        RequestType::Erasure => Some(JobKind::Erasure),
        RequestType::Rectification => Some(JobKind::Rectification),
        RequestType::Restriction => Some(JobKind::Restriction),
        _ => None,
    }
}

impl RequestService {
    fn engine(&self) -> Result<&Engine, RequestError> {
        self.inner
            .engine
            .as_ref()
            .ok_or_else(|| RequestError::Conflict("request execution is not configured".into()))
    }

    /// Queues the request's job (and its manual tasks) and moves it to in progress.
    /// Rectification needs the corrections; the other kinds take none.
    pub async fn execute(
        &self,
        reference: &str,
        actor: &str,
        corrections: Vec<Correction>,
    ) -> Result<RequestRecord, RequestError> {
        let record = self.by_reference(reference).await?;
        let kind = job_kind(record.kind).ok_or_else(|| {
            RequestError::Conflict(format!(
                "a {} request is not carried out in databases; complete it by hand",
                record.kind.key()
            ))
        })?;
        if !matches!(
            record.state,
            RequestState::Verified | RequestState::InProgress
        ) {
            return Err(RequestError::Conflict(format!(
                "a request that is {} cannot be carried out; only a verified one",
                record.state.key()
            )));
        }
        if kind == JobKind::Rectification && corrections.is_empty() {
            return Err(RequestError::Invalid(
                "Name the corrections: system, collection, field and the new value.".into(),
            ));
        }
        for c in &corrections {
            let known = self.inner.policy.data_map.systems.iter().any(|s| {
                s.system.as_str() == c.system
                    && s.collection(&c.collection)
                        .and_then(|t| t.field(&c.field))
                        .is_some_and(|f| !f.primary_key)
            });
            if !known {
                return Err(RequestError::Invalid(format!(
                    "{}:{}.{} is not a field of the data map that can be corrected",
                    c.system, c.collection, c.field
                )));
            }
        }
        let engine = self.engine()?;
        let spec = JobSpec {
            reference: record.reference.clone(),
            kind,
            identities: vec![("email".into(), record.email.to_string())],
            corrections,
            lang: record.lang.clone(),
            received: record.created_at,
        };
        let spec_text =
            serde_json::to_string(&spec).map_err(|e| RequestError::Invalid(e.to_string()))?;
        let store = self.store();
        let job = store
            .create_job(NewJob {
                request_id: record.id,
                kind: kind.key(),
                spec: &spec_text,
            })
            .await?;
        let plan = engine.plan(
            &spec
                .person()
                .map_err(|e| RequestError::Invalid(e.to_string()))?,
        );
        let manual: Vec<(String, String, String)> = plan
            .manual
            .iter()
            .filter_map(|id| engine.map().system(id))
            .filter(|s| !s.is_connected())
            .map(|s| {
                let name = self
                    .inner
                    .policy
                    .systems
                    .iter()
                    .find(|p| p.id == s.system)
                    .map_or_else(|| s.system.to_string(), |p| p.name.clone());
                (
                    s.system.to_string(),
                    format!("{} in {name}", record.kind.key()),
                    s.instructions.clone().unwrap_or_else(|| {
                        format!(
                            "Carry out the {} request in {name} by hand.",
                            record.kind.key()
                        )
                    }),
                )
            })
            .collect();
        let tasks: Vec<NewTask<'_>> = manual
            .iter()
            .map(|(system, title, instructions)| NewTask {
                system,
                title,
                instructions,
            })
            .collect();
        store.create_tasks(record.id, &tasks).await?;
        let note = format!("carried out by job {job}; {} manual task(s)", tasks.len());
        if record.state == RequestState::Verified {
            self.step(&record, actor, Action::Start, Some(&note), None)
                .await
        } else {
            self.note(&record, actor, &note).await
        }
    }

    /// Runs the next job that is due, as worker `owner`. Returns whether there was one.
    pub async fn run_next_job(
        &self,
        owner: &str,
        progress: &dyn Progress,
    ) -> Result<bool, RequestError> {
        let Some(engine) = self.inner.engine.as_ref() else {
            return Ok(false);
        };
        let store = self.store();
        let Some(job) = store.lease_job(owner, ombud_fulfil::LEASE).await? else {
            return Ok(false);
        };
        match engine.run(&job, owner, progress).await {
            Ok(outcome) => self.job_done(&job, &outcome).await?,
            Err(e) => {
                let transient = e.is_transient() && job.attempts < 5;
                // Engine errors name systems, tables and columns, never a person's data.
                tracing::warn!(job = job.id, error = %e, transient, "a request job failed");
                let retry = transient
                    .then(|| {
                        Timestamp::now()
                            .checked_add(jiff::SignedDuration::from_mins(5))
                            .ok()
                    })
                    .flatten();
                store.fail_job(job.id, owner, &e.to_string(), retry).await?;
                if retry.is_none()
                    && let Some(record) = store.request(job.request_id).await?
                {
                    self.note(
                        &record,
                        "ombud",
                        &format!("job {} failed and needs staff: {e}", job.id),
                    )
                    .await?;
                }
            }
        }
        Ok(true)
    }

    /// Runs `reference`'s queued job now, in this process (the CLI). Returns its outcome.
    pub async fn run_job_now(
        &self,
        reference: &str,
        owner: &str,
        progress: &dyn Progress,
    ) -> Result<Outcome, RequestError> {
        let record = self.by_reference(reference).await?;
        let store = self.store();
        let jobs = store.jobs_for_request(record.id).await?;
        let Some(pending) = jobs.iter().rev().find(|j| !j.state.is_finished()) else {
            return Err(RequestError::Conflict(
                "the request has no job waiting; execute it first".into(),
            ));
        };
        let engine = self.engine()?;
        let Some(job) = store
            .lease_job_by_id(pending.id, owner, ombud_fulfil::LEASE)
            .await?
        else {
            return Err(RequestError::Conflict(
                "the request's job is being run by another worker, or waits for a retry".into(),
            ));
        };
        match engine.run(&job, owner, progress).await {
            Ok(outcome) => {
                self.job_done(&job, &outcome).await?;
                Ok(outcome)
            }
            Err(e) => {
                store.fail_job(job.id, owner, &e.to_string(), None).await?;
                Err(RequestError::Execution(e.to_string()))
            }
        }
    }

    /// A job finished: its outcome on the timeline, the package link to the person, and the
    /// request completed unless manual tasks remain.
    async fn job_done(&self, job: &Job, outcome: &Outcome) -> Result<(), RequestError> {
        let store = self.store();
        let Some(record) = store.request(job.request_id).await? else {
            return Err(RequestError::NotFound);
        };
        let summary = summarise(outcome);
        let mut record = self.note(&record, "ombud", &summary).await?;
        if let Some(p) = &outcome.package
            && let Some(token) = &p.token
        {
            record = self.package_ready(&record, token, p.expires_at).await?;
        }
        self.complete_if_done(record).await.map(|_| ())
    }

    /// Sends the person the link to their package. The letter is the completion letter when
    /// nothing else is left, so the person gets one letter.
    async fn package_ready(
        &self,
        record: &RequestRecord,
        token: &str,
        expires: Timestamp,
    ) -> Result<RequestRecord, RequestError> {
        let open = self.store().open_tasks(record.id).await?;
        let url = format!("{}/privacy-centre/packages/{token}", self.inner.public_url);
        let expires = jiff::tz::TimeZone::UTC
            .to_datetime(expires)
            .date()
            .to_string();
        let mut letter = self.letter_with(LetterKind::Completion, record, |ctx| {
            ctx.download_url = Some(url.clone());
            ctx.download_expires = Some(expires.clone());
        })?;
        if open > 0 {
            letter.subject = format!("{} ({})", letter.subject, "1/2");
        }
        if open == 0
            && matches!(
                record.state,
                RequestState::InProgress | RequestState::WaitingForTasks
            )
        {
            return self
                .step(
                    record,
                    "ombud",
                    Action::Complete,
                    Some("package ready; nothing left to do"),
                    Some(letter),
                )
                .await;
        }
        self.change(
            record,
            "ombud",
            "package_sent",
            None,
            None,
            Some("download link sent"),
            ombud_store::Fields::default(),
            vec![letter],
        )
        .await
    }

    /// Completes the request once its jobs are done and its manual tasks ticked off, or moves
    /// it to waiting for tasks.
    async fn complete_if_done(&self, record: RequestRecord) -> Result<RequestRecord, RequestError> {
        if record.state.is_closed() {
            return Ok(record);
        }
        let store = self.store();
        let jobs = store.jobs_for_request(record.id).await?;
        if jobs.is_empty()
            || jobs.iter().any(|j| !j.state.is_finished())
            || jobs.iter().any(|j| j.state == JobState::Failed)
        {
            return Ok(record);
        }
        let open = store.open_tasks(record.id).await?;
        match (open, record.state) {
            (0, RequestState::InProgress | RequestState::WaitingForTasks) => {
                let letter = self.letter(LetterKind::Completion, &record, None, None, None)?;
                self.step(&record, "ombud", Action::Complete, None, Some(letter))
                    .await
            }
            (n, RequestState::InProgress) if n > 0 => {
                self.step(
                    &record,
                    "ombud",
                    Action::WaitForTasks,
                    Some(&format!("{n} manual task(s) left")),
                    None,
                )
                .await
            }
            _ => Ok(record),
        }
    }

    /// Staff tick off a manual task; the request completes when it was the last thing left.
    pub async fn task_done(
        &self,
        reference: &str,
        task_id: i64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<RequestRecord, RequestError> {
        let record = self.by_reference(reference).await?;
        let store = self.store();
        let tasks = store.tasks_for_request(record.id).await?;
        let Some(task) = tasks.iter().find(|t| t.id == task_id) else {
            return Err(RequestError::NotFound);
        };
        if !store.complete_task(task.id, actor, note).await? {
            return Err(RequestError::Conflict(format!(
                "task {task_id} is already done"
            )));
        }
        let record = self
            .note(
                &record,
                actor,
                &format!("task {task_id} ({}) done", task.system),
            )
            .await?;
        self.complete_if_done(record).await
    }

    async fn note(
        &self,
        record: &RequestRecord,
        actor: &str,
        text: &str,
    ) -> Result<RequestRecord, RequestError> {
        self.change(
            record,
            actor,
            "note",
            None,
            None,
            Some(text),
            ombud_store::Fields::default(),
            Vec::new(),
        )
        .await
    }

    /// Runs queued jobs until none is due (the background worker's round).
    pub async fn run_jobs(&self, owner: &str) -> Result<usize, RequestError> {
        let mut n = 0;
        while self.run_next_job(owner, &Quiet).await? {
            n += 1;
        }
        Ok(n)
    }
}

/// The outcome in a line for the timeline: counts per collection, no values.
pub fn summarise(o: &Outcome) -> String {
    let mut parts: Vec<String> = o
        .collections
        .iter()
        .map(|c| {
            let mut s = format!("{}:{} {} found", c.system, c.collection, c.found);
            if c.changed > 0 {
                s.push_str(&format!(", {} changed", c.changed));
            }
            if c.deleted > 0 {
                s.push_str(&format!(", {} deleted", c.deleted));
            }
            if !c.held.is_empty() {
                s.push_str(&format!(", kept under {}", c.held.join(", ")));
            }
            s
        })
        .collect();
    if let Some(p) = &o.package {
        parts.push(format!("package of {} rows ({} bytes)", p.rows, p.bytes));
    }
    if !o.unreachable.is_empty() {
        parts.push(format!("not reachable: {}", o.unreachable.join(", ")));
    }
    if let Some(own) = &o.ombud {
        parts.push(format!("ombud: {own}"));
    }
    parts.join("; ")
}

impl RequestService {
    /// Deletes the files of packages whose link expired. Returns how many.
    pub async fn delete_expired_packages(&self) -> Result<usize, RequestError> {
        let store = self.store();
        let mut deleted = 0;
        for p in store.expired_packages(Timestamp::now(), 100).await? {
            match tokio::fs::remove_file(&p.path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(package = p.id, error = %e, "cannot delete an expired package");
                    continue;
                }
            }
            store.package_deleted(p.id).await?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// The package a download token opens, if it may be downloaded now; records the download
    /// (a disclosure) in the audit log.
    pub async fn package_for_token(
        &self,
        token: &str,
    ) -> Result<(ombud_store::Package, RequestRecord), RequestError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RequestError::NotFound);
        }
        let store = self.store();
        let package = store
            .package_by_token(&ombud_fulfil::token_hash(token))
            .await?
            .ok_or(RequestError::NotFound)?;
        if package.deleted_at.is_some() || package.expires_at <= Timestamp::now() {
            return Err(RequestError::Conflict(
                "the download link has expired".into(),
            ));
        }
        let record = store
            .request(package.request_id)
            .await?
            .ok_or(RequestError::NotFound)?;
        store.package_downloaded(package.id).await?;
        let details = serde_json::json!({ "package": package.id }).to_string();
        store
            .append_audit(ombud_store::NewAuditEntry {
                actor: "requester",
                action: "package.downloaded",
                subject: &format!("request:{}", record.reference),
                details: &details,
            })
            .await?;
        Ok((package, record))
    }

    /// The keys packages are encrypted with: the store's keyring (the current key encrypts,
    /// any configured key that a package names decrypts it). `None` without a key.
    pub fn package_keys(&self) -> Option<ombud_store::Keyring> {
        self.inner.store.keyring()
    }
}

impl RequestService {
    /// What carrying the request out would read and change, with row counts (reads only).
    pub async fn preview(
        &self,
        reference: &str,
    ) -> Result<
        (
            ombud_domain::datamap::plan::Plan,
            Vec<(ombud_domain::datamap::CollectionRef, u64)>,
        ),
        RequestError,
    > {
        let record = self.by_reference(reference).await?;
        let person = ombud_fulfil::Person {
            identities: vec![(
                ombud_domain::datamap::Identity::Email,
                record.email.to_string(),
            )],
        };
        self.engine()?
            .preview(&person)
            .await
            .map_err(|e| RequestError::Execution(e.to_string()))
    }

    /// Staff write the request's newest package, decrypted, to `out` (recorded in the audit
    /// log). Returns the bytes written.
    pub async fn export_package(
        &self,
        reference: &str,
        actor: &str,
        out: &std::path::Path,
    ) -> Result<u64, RequestError> {
        let record = self.by_reference(reference).await?;
        let store = self.store();
        let package = store
            .packages_for_request(record.id)
            .await?
            .into_iter()
            .rev()
            .find(|p| p.deleted_at.is_none())
            .ok_or_else(|| {
                RequestError::Conflict("the request has no package; execute it first".into())
            })?;
        let keys = self.package_keys().ok_or(RequestError::NoSecret)?;
        let (from, to) = (package.path.clone(), out.to_owned());
        let written = tokio::task::spawn_blocking(move || -> Result<u64, String> {
            let input =
                std::fs::File::open(&from).map_err(|e| format!("cannot open the package: {e}"))?;
            let tmp = to.with_extension("partial");
            let output = std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            let mut w = std::io::BufWriter::new(output);
            let n = ombud_fulfil::package::crypt::decrypt(
                &keys,
                std::io::BufReader::new(input),
                &mut w,
            )
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("the package failed its check: {e}")
            })?;
            std::io::Write::flush(&mut w).map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, &to).map_err(|e| e.to_string())?;
            Ok(n)
        })
        .await
        .map_err(|e| RequestError::Execution(e.to_string()))?
        .map_err(RequestError::Execution)?;
        let details = serde_json::json!({ "package": package.id }).to_string();
        store
            .append_audit(ombud_store::NewAuditEntry {
                actor,
                action: "package.exported",
                subject: &format!("request:{}", record.reference),
                details: &details,
            })
            .await?;
        Ok(written)
    }
}
