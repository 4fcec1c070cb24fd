//! Carrying out one job: access and portability (an encrypted package), erasure, rectification
//! and restriction, against the systems of the data map.
//!
//! Erasure and the other changes run one transaction per system, and the job's checkpoint
//! records each system once its transaction has committed. A job that is killed resumes with the
//! systems still to do; a system whose commit landed just before the kill is searched again and
//! is found already erased, so nothing changes twice (see `ombud_domain::datamap::erase`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ombud_domain::consent::SubjectKey;
use ombud_domain::datamap::plan::{Plan, plan};
use ombud_domain::datamap::{
    Collection, CollectionRef, DataMap, Identity, MappedSystem, Value, erase,
};
use ombud_domain::policy::{Keyword as _, Policy};
use ombud_store::{Job, NewPackage, Store};
use serde::{Deserialize, Serialize};

use crate::connections::Connections;
use crate::error::EngineError;
use crate::package::{Lang, Manifest, PackageBuilder, PackageRight, RequestFacts};
use crate::traverse::{Key, Person, Walk, columns, find_all, key_columns, table};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Access,
    Portability,
    Erasure,
    Rectification,
    Restriction,
}

impl JobKind {
    pub fn key(self) -> &'static str {
        match self {
            JobKind::Access => "access",
            JobKind::Portability => "portability",
            JobKind::Erasure => "erasure",
            JobKind::Rectification => "rectification",
            JobKind::Restriction => "restriction",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        [
            JobKind::Access,
            JobKind::Portability,
            JobKind::Erasure,
            JobKind::Rectification,
            JobKind::Restriction,
        ]
        .into_iter()
        .find(|k| k.key() == s)
    }
}

/// A new value for one field of the person's rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub system: String,
    pub collection: String,
    pub field: String,
    pub value: String,
}

/// What a job is asked to do; stored with the job as JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub reference: String,
    pub kind: JobKind,
    /// `(identity kind, value)`: the verified identities.
    pub identities: Vec<(String, String)>,
    #[serde(default)]
    pub corrections: Vec<Correction>,
    /// The language of the package's summary.
    pub lang: String,
    /// When the request was received (for the package's manifest).
    pub received: Timestamp,
}

impl std::fmt::Debug for JobSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSpec")
            .field("reference", &self.reference)
            .field("kind", &self.kind)
            .field("identities", &self.identities.len())
            .field("corrections", &self.corrections.len())
            .finish_non_exhaustive()
    }
}

impl JobSpec {
    pub fn person(&self) -> Result<Person, EngineError> {
        let identities = self
            .identities
            .iter()
            .map(|(k, v)| {
                Identity::parse(k)
                    .map(|k| (k, v.clone()))
                    .ok_or_else(|| EngineError::Spec(format!("unknown identity kind `{k}`")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Person { identities })
    }
}

/// What happened in one collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionOutcome {
    pub system: String,
    pub collection: String,
    /// The person's rows found.
    pub found: u64,
    /// Rows whose fields were changed (erased, corrected, marked restricted).
    pub changed: u64,
    /// Rows deleted.
    pub deleted: u64,
    /// Legal holds that kept data from being erased (it is restricted instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// The fields changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// The result of a job, stored with it as JSON and shown to staff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub collections: Vec<CollectionOutcome>,
    /// Collections with personal data that the person's identities do not reach.
    pub unreachable: Vec<String>,
    /// Systems without a connector: manual tasks.
    pub manual: Vec<String>,
    /// The package written, for access and portability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageOutcome>,
    /// What ombud keeps about the person in its own store, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ombud: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageOutcome {
    pub id: i64,
    pub rows: u64,
    pub bytes: u64,
    pub expires_at: Timestamp,
    /// The download token, given once to the verified requester; only its hash is stored.
    #[serde(skip)]
    pub token: Option<String>,
}

/// The checkpoint of a job that changes data: the systems whose transaction committed, and
/// the outcome so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Checkpoint {
    systems_done: BTreeSet<String>,
    outcome: Outcome,
}

/// Where a job reports its progress (a terminal bar, a log line).
pub trait Progress: Send + Sync {
    /// A collection is done, with the rows found.
    fn collection(&self, _c: &CollectionRef, _rows: u64) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// The engine's settings.
pub struct EngineSettings {
    /// Connection URLs by name.
    pub connections: BTreeMap<String, secrecy::SecretString>,
    /// Where encrypted packages are written.
    pub packages_dir: PathBuf,
    /// Encrypts packages at rest (32+ bytes).
    pub package_key: Option<secrecy::SecretBox<[u8]>>,
    /// How long a package's download link works.
    pub package_ttl: Duration,
}

/// The request-execution engine for one policy version.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    policy: Arc<Policy>,
    store: Store,
    connections: Connections,
    packages_dir: PathBuf,
    package_key: Option<secrecy::SecretBox<[u8]>>,
    package_ttl: Duration,
}

/// How long a worker holds a job between checkpoints.
pub const LEASE: Duration = Duration::from_secs(300);

impl Engine {
    pub fn new(policy: Arc<Policy>, store: Store, settings: EngineSettings) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                policy,
                store,
                connections: Connections::new(settings.connections),
                packages_dir: settings.packages_dir,
                package_key: settings.package_key,
                package_ttl: settings.package_ttl,
            }),
        }
    }

    pub fn map(&self) -> &DataMap {
        &self.inner.policy.data_map
    }

    /// The plan for a person, before anything runs.
    pub fn plan(&self, person: &Person) -> Plan {
        plan(self.map(), &person.kinds())
    }

    /// The plan with the rows each collection would touch (it reads them, and changes nothing).
    pub async fn preview(
        &self,
        person: &Person,
    ) -> Result<(Plan, Vec<(CollectionRef, u64)>), EngineError> {
        let plan = self.plan(person);
        let mut walk = Walk::new(self.map(), &plan, person, &self.inner.connections);
        let mut counts = Vec::new();
        for step in &plan.steps {
            counts.push((step.collection.clone(), walk.step(step, |_| Ok(())).await?));
        }
        Ok((plan, counts))
    }

    /// Closes the connections to the organisation's databases.
    pub async fn close(&self) {
        self.inner.connections.close().await;
    }

    /// Runs a job this worker (`owner`) has leased, checkpointing as it goes; finishes it in
    /// the store and returns its outcome. A job whose lease was lost stops with
    /// [`EngineError::LeaseLost`] and changes nothing more.
    pub async fn run(
        &self,
        job: &Job,
        owner: &str,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        let spec: JobSpec =
            serde_json::from_str(&job.spec).map_err(|e| EngineError::Spec(e.to_string()))?;
        let person = spec.person()?;
        let checkpoint: Checkpoint = match &job.checkpoint {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| EngineError::Spec(e.to_string()))?
            }
            None => Checkpoint::default(),
        };
        let plan = self.plan(&person);
        let mut outcome = match spec.kind {
            JobKind::Access | JobKind::Portability => {
                self.export(&spec, &person, &plan, job.request_id, progress)
                    .await?
            }
            JobKind::Erasure | JobKind::Rectification | JobKind::Restriction => {
                self.change(job, owner, &spec, &person, &plan, checkpoint, progress)
                    .await?
            }
        };
        outcome.unreachable = plan.unreachable.iter().map(ToString::to_string).collect();
        outcome.manual = plan.manual.iter().map(ToString::to_string).collect();
        let text = serde_json::to_string(&outcome).map_err(|e| EngineError::Spec(e.to_string()))?;
        if !self.inner.store.finish_job(job.id, owner, &text).await? {
            return Err(EngineError::LeaseLost);
        }
        Ok(outcome)
    }

    /// Access and portability: every row found, streamed into an encrypted package, plus what
    /// ombud itself holds about the person.
    async fn export(
        &self,
        spec: &JobSpec,
        person: &Person,
        plan: &Plan,
        request_id: i64,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        let inner = &self.inner;
        let key = inner.package_key.as_ref().ok_or_else(|| {
            EngineError::Invalid("packages need a key: set encryption_key or secret_key".into())
        })?;
        let right = if spec.kind == JobKind::Portability {
            PackageRight::Portability
        } else {
            PackageRight::Access
        };
        let manifest = Manifest::from_policy(
            &inner.policy,
            RequestFacts {
                reference: spec.reference.clone(),
                right,
                received: spec.received,
                completed_at: Timestamp::now(),
                lang: Lang::parse(&spec.lang).unwrap_or(Lang::En),
            },
        );
        std::fs::create_dir_all(&inner.packages_dir)?;
        let work = tempfile::tempdir_in(&inner.packages_dir)?;
        let mut builder = PackageBuilder::new(work.path(), manifest)?;
        let mut outcome = Outcome::default();
        let mut walk = Walk::new(self.map(), plan, person, &inner.connections);
        for step in &plan.steps {
            let collection = self.map().collection(&step.collection).ok_or_else(|| {
                EngineError::Map(format!("{} is not in the data map", step.collection))
            })?;
            let system = self.system(&step.collection)?;
            let categories = collection
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.categories.clone()))
                .collect();
            let mut writer = builder.collection_with_categories(
                &system.system.to_string(),
                &collection.name,
                &columns(collection),
                categories,
            )?;
            let mut failed = None;
            let found = walk
                .step(step, |page| {
                    for row in page {
                        if let Err(e) = writer.write_row(row) {
                            failed = Some(e);
                            break;
                        }
                    }
                    Ok(())
                })
                .await?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            writer.finish()?;
            progress.collection(&step.collection, found);
            outcome.collections.push(CollectionOutcome {
                system: step.collection.system.to_string(),
                collection: step.collection.collection.clone(),
                found,
                ..CollectionOutcome::default()
            });
        }
        outcome.ombud = Some(self.export_own(&mut builder, person, request_id).await?);

        // The package goes straight into the encryptor; only the encrypted file is on disk.
        let mut token_bytes = [0u8; 32];
        getrandom::fill(&mut token_bytes)
            .map_err(|e| EngineError::Invalid(format!("no random source: {e}")))?;
        let token = hex(&token_bytes);
        let name = format!(
            "{}-{}.ombudpkg",
            safe_file_part(&spec.reference),
            &token[..12]
        );
        let path = inner.packages_dir.join(&name);
        let file = std::fs::File::create(&path)?;
        let mut out = std::io::BufWriter::new(file);
        let summary =
            builder.finish_encrypted(secrecy::ExposeSecret::expose_secret(key), &mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        let expires_at = Timestamp::now()
            .checked_add(
                jiff::SignedDuration::try_from(inner.package_ttl)
                    .unwrap_or(jiff::SignedDuration::from_hours(168)),
            )
            .unwrap_or(Timestamp::MAX);
        let token_hash = token_hash(&token);
        let id = inner
            .store
            .create_package(NewPackage {
                request_id,
                path: &path.to_string_lossy(),
                size: bytes,
                token_hash: &token_hash,
                expires_at,
            })
            .await?;
        outcome.package = Some(PackageOutcome {
            id,
            rows: summary.rows,
            bytes,
            expires_at,
            token: Some(token),
        });
        Ok(outcome)
    }

    /// ombud's own records of the person: their consent history and their requests.
    async fn export_own(
        &self,
        builder: &mut PackageBuilder,
        person: &Person,
        request_id: i64,
    ) -> Result<String, EngineError> {
        let store = &self.inner.store;
        let subjects = subject_keys(person);
        let columns: Vec<String> = [
            "subject",
            "target",
            "granted",
            "method",
            "at",
            "policy_version",
            "gpc",
            "source",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let mut writer = builder.collection("ombud", "consent_events", &columns)?;
        let mut events = 0u64;
        let mut after = 0;
        loop {
            let page = store.consent_history(&subjects, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                let e = &e.event;
                writer.write_row(&[
                    Value::Text(e.subject.to_string()),
                    Value::Text(e.target.to_string()),
                    Value::Bool(e.granted),
                    Value::Text(e.method.key().to_owned()),
                    Value::Text(e.at.to_string()),
                    Value::Int(e.policy_version),
                    Value::Bool(e.gpc),
                    e.source.clone().map_or(Value::Null, Value::Text),
                ])?;
                events += 1;
            }
        }
        writer.finish()?;
        let columns: Vec<String> = [
            "reference",
            "kind",
            "channel",
            "state",
            "received",
            "closed_at",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let mut writer = builder.collection("ombud", "requests", &columns)?;
        let this = store.request(request_id).await?;
        if let Some(email) = this.map(|r| r.email) {
            for r in store
                .list_requests(&ombud_store::RequestFilter {
                    email: Some(email),
                    limit: ombud_store::requests::MAX_LIMIT,
                    ..ombud_store::RequestFilter::default()
                })
                .await?
            {
                writer.write_row(&[
                    Value::Text(r.reference.clone()),
                    Value::Text(r.kind.key().to_owned()),
                    Value::Text(r.channel.key().to_owned()),
                    Value::Text(r.state.key().to_owned()),
                    Value::Text(r.received.to_string()),
                    r.closed_at
                        .map_or(Value::Null, |t| Value::Text(t.to_string())),
                ])?;
            }
        }
        writer.finish()?;
        Ok(format!(
            "{events} consent events and the person's requests are included"
        ))
    }

    fn system(&self, c: &CollectionRef) -> Result<&MappedSystem, EngineError> {
        self.map()
            .system(&c.system)
            .ok_or_else(|| EngineError::Map(format!("system {} is not in the data map", c.system)))
    }

    /// Erasure, rectification and restriction: one transaction per system, checkpointed.
    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        job: &Job,
        owner: &str,
        spec: &JobSpec,
        person: &Person,
        plan: &Plan,
        mut checkpoint: Checkpoint,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        let inner = &self.inner;
        if spec.kind == JobKind::Restriction && !checkpoint.systems_done.contains("ombud") {
            inner
                .store
                .restrict(
                    &subject_keys(person),
                    Some(job.request_id),
                    &format!("job:{}", job.id),
                )
                .await?;
            checkpoint.systems_done.insert("ombud".into());
            checkpoint.outcome.ombud = Some(
                "the person is marked restricted: the consent check answers `restricted`".into(),
            );
            self.save(job, owner, &checkpoint).await?;
        }
        if spec.kind == JobKind::Erasure {
            checkpoint.outcome.ombud = Some(
                "kept: the consent history (proof of consent, Art. 7(1)) and the request records (Art. 5(2), 17(3)(e))"
                    .into(),
            );
        }
        let found = find_all(self.map(), plan, person, &inner.connections).await?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| EngineError::Invalid(format!("no random source: {e}")))?;
        // Systems in the order of their last collection in the erase order: a system whose
        // keys other systems' rows refer to (the person's customer record) comes after them.
        // Otherwise a job killed after that system's commit would, resumed, no longer find the
        // rows the other systems hold through it (its identity columns are erased by then).
        let mut systems: Vec<&CollectionRef> = Vec::new();
        for c in plan.erase_order.iter().rev() {
            if !systems.iter().any(|s| s.system == c.system) {
                systems.push(c);
            }
        }
        systems.reverse();
        for first in systems {
            let system_id = first.system.to_string();
            if checkpoint.systems_done.contains(&system_id) {
                continue;
            }
            let system = self.system(first)?;
            let db = inner.connections.db(system).await?;
            let mut tx = db.begin().await?;
            let mut outcomes = Vec::new();
            for c in plan.erase_order.iter().filter(|c| c.system == first.system) {
                let Some(rows) = found.get(c) else { continue };
                let collection = self
                    .map()
                    .collection(c)
                    .ok_or_else(|| EngineError::Map(format!("{c} is not in the data map")))?;
                let o = match spec.kind {
                    JobKind::Erasure => self.erase(&mut tx, c, collection, rows, &key).await?,
                    JobKind::Rectification => {
                        rectify(&mut tx, c, collection, rows, &spec.corrections).await?
                    }
                    _ => restrict(&mut tx, c, collection, rows).await?,
                };
                progress.collection(c, o.found);
                outcomes.push(o);
            }
            tx.commit().await?;
            checkpoint.outcome.collections.extend(outcomes);
            checkpoint.systems_done.insert(system_id);
            self.save(job, owner, &checkpoint).await?;
        }
        if spec.kind == JobKind::Rectification {
            for k in &spec.corrections {
                let hit = checkpoint
                    .outcome
                    .collections
                    .iter()
                    .any(|o| o.system == k.system && o.collection == k.collection);
                if !hit {
                    checkpoint.outcome.collections.push(CollectionOutcome {
                        system: k.system.clone(),
                        collection: k.collection.clone(),
                        ..CollectionOutcome::default()
                    });
                }
            }
        }
        Ok(checkpoint.outcome)
    }

    async fn save(
        &self,
        job: &Job,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), EngineError> {
        let text =
            serde_json::to_string(checkpoint).map_err(|e| EngineError::Spec(e.to_string()))?;
        if self
            .inner
            .store
            .checkpoint_job(job.id, owner, &text, LEASE)
            .await?
        {
            Ok(())
        } else {
            Err(EngineError::LeaseLost)
        }
    }

    /// Erases the person's rows of one collection: whole rows, or field by field by the map's
    /// strategies; data under a legal hold is kept and marked restricted instead.
    async fn erase(
        &self,
        tx: &mut ombud_connect::Tx,
        c: &CollectionRef,
        collection: &Collection,
        rows: &[Vec<Value>],
        key: &[u8],
    ) -> Result<CollectionOutcome, EngineError> {
        let mut o = outcome_for(c, rows);
        if rows.is_empty() {
            return Ok(o);
        }
        let cols = columns(collection);
        let key_cols = key_columns(collection);
        let key_at: Vec<usize> = key_cols
            .iter()
            .filter_map(|k| cols.iter().position(|c| c == k))
            .collect();
        let keys: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| key_at.iter().map(|&i| r[i].clone()).collect())
            .collect();
        // Legal holds apply where the data map says the records they cover live: a hold's
        // categories (names, addresses...) also occur in records no law makes us keep.
        let held: BTreeSet<String> = collection
            .legal_holds
            .iter()
            .map(ToString::to_string)
            .collect();
        let plan = self.map().erasure_of(&c.system, collection);
        let (delete, erasable) = (plan.delete_rows, plan.fields);
        if delete {
            o.deleted = tx.delete(&table(collection), &key_cols, &keys).await?;
            return Ok(o);
        }
        if !erasable.is_empty() {
            let mut random = || {
                let mut b = [0u8; 16];
                // Without randomness the random strategy falls back to the keyed hash's input
                // being unknown anyway; an error here is practically impossible on Linux.
                let _ = getrandom::fill(&mut b);
                b
            };
            let names: Vec<String> = erasable.iter().map(|(i, _)| cols[*i].clone()).collect();
            let mut changes = Vec::new();
            for (row, k) in rows.iter().zip(&keys) {
                let mut changed = false;
                let new: Vec<Value> = erasable
                    .iter()
                    .map(
                        |(i, s)| match erase::replacement(s, &row[*i], key, &mut random) {
                            Some(v) => {
                                changed = true;
                                v
                            }
                            None => row[*i].clone(),
                        },
                    )
                    .collect();
                if changed {
                    changes.push((k.clone(), new));
                }
            }
            if !changes.is_empty() {
                o.changed =
                    write_changes(tx, &table(collection), &names, &key_cols, changes).await?;
            }
            o.fields = names;
        }
        if !held.is_empty() {
            if let Some(marker) = &collection.restriction {
                // Held rows are only marked (nothing else changed them): they count as changed,
                // as a restriction's rows do.
                o.changed = tx
                    .update_same(
                        &table(collection),
                        &[(marker.column.clone(), Value::Text(marker.value.clone()))],
                        &key_cols,
                        &keys,
                    )
                    .await?;
                o.fields.push(marker.column.clone());
            }
            o.held = held.into_iter().collect();
        }
        Ok(o)
    }
}

/// Rows that get the same new values, at least this many, are written with plain `UPDATE …
/// SET c = v WHERE key IN (…)` statements rather than a `CASE` branch per row: with a null or
/// fixed erasure that is every row, and databases run the plain form many times faster.
const SAME_VALUES_MIN: usize = 32;

/// Writes each row's new values (`(key, new values of columns)`); returns the rows matched.
async fn write_changes(
    tx: &mut ombud_connect::Tx,
    table: &ombud_connect::TableName,
    columns: &[String],
    key: &[String],
    changes: Vec<(Vec<Value>, Vec<Value>)>,
) -> Result<u64, EngineError> {
    let mut groups: Vec<(Vec<Value>, Vec<Vec<Value>>)> = Vec::new();
    let mut group_of: HashMap<Vec<Key>, usize> = HashMap::new();
    for (k, new) in changes {
        let at = *group_of
            .entry(new.iter().map(Key::from).collect())
            .or_insert_with(|| {
                groups.push((new, Vec::new()));
                groups.len() - 1
            });
        groups[at].1.push(k);
    }
    let mut total = 0;
    let mut each = Vec::new();
    for (new, keys) in groups {
        if keys.len() >= SAME_VALUES_MIN {
            let sets: Vec<(String, Value)> = columns.iter().cloned().zip(new).collect();
            total += tx.update_same(table, &sets, key, &keys).await?;
        } else {
            each.extend(keys.into_iter().map(|k| (k, new.clone())));
        }
    }
    if !each.is_empty() {
        total += tx.update_each(table, columns, key, &each).await?;
    }
    Ok(total)
}

/// Rectification: the corrections that name this collection, on the person's rows.
async fn rectify(
    tx: &mut ombud_connect::Tx,
    c: &CollectionRef,
    collection: &Collection,
    rows: &[Vec<Value>],
    corrections: &[Correction],
) -> Result<CollectionOutcome, EngineError> {
    let mut o = outcome_for(c, rows);
    let sets: Vec<(String, Value)> = corrections
        .iter()
        .filter(|k| k.system == c.system.as_str() && k.collection == c.collection)
        .map(|k| (k.field.clone(), Value::Text(k.value.clone())))
        .collect();
    if sets.is_empty() || rows.is_empty() {
        return Ok(o);
    }
    for (field, _) in &sets {
        if collection.field(field).is_none_or(|f| f.primary_key) {
            return Err(EngineError::Invalid(format!(
                "{c} has no field `{field}` that can be corrected"
            )));
        }
    }
    let keys = row_keys(collection, rows);
    o.changed = tx
        .update_same(&table(collection), &sets, &key_columns(collection), &keys)
        .await?;
    o.fields = sets.into_iter().map(|(f, _)| f).collect();
    Ok(o)
}

/// Restriction: where the map names a restriction marker, it is set on the person's rows.
async fn restrict(
    tx: &mut ombud_connect::Tx,
    c: &CollectionRef,
    collection: &Collection,
    rows: &[Vec<Value>],
) -> Result<CollectionOutcome, EngineError> {
    let mut o = outcome_for(c, rows);
    if let Some(marker) = &collection.restriction
        && !rows.is_empty()
    {
        let keys = row_keys(collection, rows);
        o.changed = tx
            .update_same(
                &table(collection),
                &[(marker.column.clone(), Value::Text(marker.value.clone()))],
                &key_columns(collection),
                &keys,
            )
            .await?;
        o.fields = vec![marker.column.clone()];
    }
    Ok(o)
}

fn outcome_for(c: &CollectionRef, rows: &[Vec<Value>]) -> CollectionOutcome {
    CollectionOutcome {
        system: c.system.to_string(),
        collection: c.collection.clone(),
        found: rows.len() as u64,
        ..CollectionOutcome::default()
    }
}

fn row_keys(collection: &Collection, rows: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let cols = columns(collection);
    let at: Vec<usize> = key_columns(collection)
        .iter()
        .filter_map(|k| cols.iter().position(|c| c == k))
        .collect();
    rows.iter()
        .map(|r| at.iter().map(|&i| r[i].clone()).collect())
        .collect()
}

/// The person's keys in ombud's own ledger and lists.
pub fn subject_keys(person: &Person) -> Vec<SubjectKey> {
    person
        .identities
        .iter()
        .filter_map(|(k, v)| {
            let kind = match k {
                Identity::Email => "email",
                Identity::Phone => "phone",
                Identity::CustomerId => "customer",
                Identity::Custom(_) => return None,
            };
            SubjectKey::parse(&format!("{kind}:{v}")).ok()
        })
        .collect()
}

/// The stored form of a download token.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reference as part of a file name.
fn safe_file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
