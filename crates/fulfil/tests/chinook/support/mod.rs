//! The engine under test on a Chinook database: the policy with the Chinook data map (written
//! by hand, or imported from the Fides dataset), ombud's own store in a temporary folder, jobs
//! created and leased through the store as the server does, and the person the tests ask for.

pub mod db;

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::date;
use ombud_connect::Dialect;
use ombud_domain::datamap::CollectionRef;
use ombud_domain::email::EmailAddress;
use ombud_domain::policy::{ConnectorKind, Policy};
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_fulfil::package::crypt;
use ombud_fulfil::{
    Correction, Engine, EngineError, EngineSettings, JobKind, JobSpec, Outcome, Progress, Quiet,
};
use ombud_policy::PolicySource;
use ombud_policy::source::SourceFile;
use ombud_store::{Job, JobState, NewJob, NewPolicyVersion, NewRequest, Store};
use zip::ZipArchive;

pub use db::{Snapshot, TestDb, n};

/// The key packages are encrypted with.
pub const KEY: &[u8] = b"chinook-integration-test-package-key-0123456789";

/// The person the tests ask for: Luís Gonçalves, Chinook's customer 1.
pub const EMAIL: &str = "luisg@embraer.com.br";
pub const CUSTOMER: i64 = 1;

/// The worker name the tests lease jobs as.
pub const WORKER: &str = "chinook-worker-1";

fn example_without_trial_db() -> PolicySource {
    let mut src = ombud_policy::example::impero();
    let datamap = src
        .files
        .iter_mut()
        .find(|f| f.path.ends_with("datamap.yaml"))
        .expect("the example's data map");
    // The example's own database is not part of these tests: its system becomes a manual one
    // (the purposes name it); the other manual systems, ombud's store and the erasure rules
    // stay.
    let start = datamap
        .text
        .find("\n  trial_db:\n")
        .expect("the trial_db system");
    let end = datamap
        .text
        .find("\n# How columns are erased")
        .expect("the erasure rules");
    datamap.text.replace_range(
        start..end,
        "\n  trial_db:\n    name: Trial and demo accounts database\n    hosting: EU\n    instructions: Not part of these tests.\n\n",
    );
    src
}

fn connector(dialect: Dialect) -> (&'static str, ConnectorKind) {
    match dialect {
        Dialect::Postgres => ("postgres", ConnectorKind::Postgres),
        Dialect::Mysql => ("mysql", ConnectorKind::Mysql),
        Dialect::Sqlite => ("sqlite", ConnectorKind::Sqlite),
    }
}

fn load(src: PolicySource) -> Arc<Policy> {
    match ombud_policy::load(src, date(2026, 3, 1)) {
        Ok(loaded) => Arc::new(loaded.policy),
        Err(rejected) => panic!("the policy does not load:\n{rejected}"),
    }
}

fn fixture(path: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), path].iter().collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The hand-written Chinook data map (`tests/fixtures/chinook/datamap.yaml`) for `dialect`.
pub fn chinook_map_text(dialect: Dialect) -> String {
    let text = db::respell(dialect, &fixture("tests/fixtures/chinook/datamap.yaml"));
    let (name, _) = connector(dialect);
    text.replace("connector: sqlite", &format!("connector: {name}"))
}

/// The example policy with the hand-written Chinook data map.
pub fn policy(dialect: Dialect) -> Arc<Policy> {
    let mut src = example_without_trial_db();
    src.files.push(SourceFile {
        path: "chinook/datamap.yaml".into(),
        text: chinook_map_text(dialect),
    });
    load(src)
}

/// The Fides dataset of Chinook (the policy crate's import fixture), imported for `dialect`.
pub fn fides_import(dialect: Dialect) -> String {
    let yaml = db::respell(
        dialect,
        &fixture("../policy/tests/fixtures/chinook.fides.yml"),
    );
    let (_, kind) = connector(dialect);
    ombud_policy::fides::import_fides("chinook.fides.yml", &yaml, kind)
        .unwrap_or_else(|e| panic!("the Fides import failed:\n{e}"))
}

/// The example policy with the data map imported from the Fides dataset.
pub fn fides_policy(dialect: Dialect) -> Arc<Policy> {
    let mut src = example_without_trial_db();
    src.files.push(SourceFile {
        path: "chinook/fides.yaml".into(),
        text: fides_import(dialect),
    });
    load(src)
}

/// The engine, its store and the Chinook database of one test.
pub struct Env {
    pub db: TestDb,
    pub store: Store,
    pub engine: Engine,
    pub policy: Arc<Policy>,
    packages: PathBuf,
    version: i64,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn new(db: TestDb, policy: Arc<Policy>) -> Env {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Store::open_sqlite(&dir.path().join("ombud.db"))
            .await
            .expect("opening ombud's store");
        let version = store
            .activate_policy(NewPolicyVersion {
                hash: &"a".repeat(64),
                content: "{}",
                label: "chinook tests",
                actor: "system",
            })
            .await
            .expect("storing a policy version")
            .id;
        let packages = dir.path().join("packages");
        Env {
            engine: engine(&db, &policy, &store, &packages),
            db,
            store,
            policy,
            packages,
            version,
            _dir: dir,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect
    }

    /// A second engine on the same store and database, as a restarted process would have.
    pub fn new_engine(&self) -> Engine {
        engine(&self.db, &self.policy, &self.store, &self.packages)
    }

    /// The same store and database with another policy.
    pub fn engine_with(&self, policy: &Arc<Policy>) -> Engine {
        engine(&self.db, policy, &self.store, &self.packages)
    }

    /// A new request and its queued job; returns the job's id.
    pub async fn queue(
        &self,
        kind: JobKind,
        identities: &[(&str, &str)],
        corrections: Vec<Correction>,
    ) -> i64 {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let reference = format!("R-CHNK-{:04}", N.fetch_add(1, Ordering::Relaxed));
        let email = EmailAddress::parse(EMAIL).unwrap();
        let request = self
            .store
            .create_request(&NewRequest {
                reference: &reference,
                kind: match kind {
                    JobKind::Access => RequestType::Access,
                    JobKind::Portability => RequestType::Portability,
                    JobKind::Erasure => RequestType::Erasure,
                    JobKind::Rectification => RequestType::Rectification,
                    JobKind::Restriction => RequestType::Restriction,
                },
                channel: Channel::Web,
                state: RequestState::Received,
                email: &email,
                name: None,
                lang: "en",
                details: "{}",
                received: date(2026, 3, 2),
                promised_due: date(2026, 3, 30),
                legal_due: date(2026, 4, 2),
                policy_version: self.version,
                repeat_of: None,
                actor: "web",
                note: None,
                mail: Vec::new(),
            })
            .await
            .expect("creating the request");
        let spec = JobSpec {
            reference,
            kind,
            identities: identities
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            corrections,
            lang: "en".into(),
            received: "2026-03-02T09:00:00Z".parse().unwrap(),
        };
        self.store
            .create_job(NewJob {
                request_id: request.id,
                kind: kind.key(),
                spec: &serde_json::to_string(&spec).unwrap(),
            })
            .await
            .expect("creating the job")
    }

    /// Leases the next due job as `owner`; it must be `id`.
    pub async fn lease(&self, id: i64, owner: &str) -> Job {
        let job = self
            .store
            .lease_job(owner, ombud_fulfil::LEASE)
            .await
            .expect("leasing")
            .expect("a job is due");
        assert_eq!(job.id, id, "the job leased");
        job
    }

    /// Queues a job, leases it and runs it to the end on the env's engine.
    pub async fn run(
        &self,
        kind: JobKind,
        identities: &[(&str, &str)],
        corrections: Vec<Correction>,
    ) -> Outcome {
        self.try_run(&self.engine, kind, identities, corrections, &Quiet)
            .await
            .unwrap_or_else(|e| panic!("the {} job failed: {e}", kind.key()))
    }

    pub async fn try_run(
        &self,
        engine: &Engine,
        kind: JobKind,
        identities: &[(&str, &str)],
        corrections: Vec<Correction>,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        let id = self.queue(kind, identities, corrections).await;
        let job = self.lease(id, WORKER).await;
        let outcome = engine.run(&job, WORKER, progress).await;
        if outcome.is_ok() {
            let done = self.store.job(id).await.unwrap().unwrap();
            assert_eq!(done.state, JobState::Done, "the job is done in the store");
        } else {
            self.store
                .fail_job(id, WORKER, "failed in a test", None)
                .await
                .unwrap();
        }
        outcome
    }

    /// The subject's e-mail as the only identity.
    pub async fn run_for_subject(&self, kind: JobKind) -> Outcome {
        self.run(kind, &[("email", EMAIL)], Vec::new()).await
    }

    /// The decrypted package an access or portability job wrote, found as a download would
    /// find it: by its token's hash.
    pub async fn package(&self, outcome: &Outcome) -> Package {
        let written = outcome.package.as_ref().expect("a package");
        let token = written.token.as_deref().expect("the download token");
        let stored = self
            .store
            .package_by_token(&ombud_fulfil::token_hash(token))
            .await
            .unwrap()
            .expect("the package is in the store");
        assert_eq!(stored.id, written.id);
        let sealed = std::fs::read(&stored.path).expect("the package file");
        assert_eq!(sealed.len() as u64, written.bytes);
        let mut zip = Vec::new();
        crypt::decrypt(KEY, &sealed[..], &mut zip).expect("the package decrypts with the key");
        Package::new(zip)
    }

    pub async fn snapshot(&self) -> Snapshot {
        self.db.snapshot().await
    }

    /// The subject's rows as `(actual table name, rendered key)`, found by the test's own SQL.
    pub async fn subject_rows(&self) -> SubjectRows {
        let db = &self.db;
        let sorted = |mut v: Vec<i64>| {
            v.sort_unstable();
            v
        };
        let customers = db
            .ints(&format!(
                "SELECT {} FROM {} WHERE {} = '{EMAIL}'",
                db.text("CustomerId"),
                db.q("Customer"),
                db.q("Email")
            ))
            .await;
        assert_eq!(customers, [CUSTOMER], "the subject is customer {CUSTOMER}");
        let invoices = sorted(
            db.ints(&format!(
                "SELECT {} FROM {} WHERE {} = {CUSTOMER} ORDER BY 1",
                db.text("InvoiceId"),
                db.q("Invoice"),
                db.q("CustomerId")
            ))
            .await,
        );
        let list: Vec<String> = invoices.iter().map(i64::to_string).collect();
        let lines = sorted(
            db.ints(&format!(
                "SELECT {} FROM {} WHERE {} IN ({}) ORDER BY 1",
                db.text("InvoiceLineId"),
                db.q("InvoiceLine"),
                db.q("InvoiceId"),
                list.join(", ")
            ))
            .await,
        );
        assert!(!invoices.is_empty() && !lines.is_empty());
        SubjectRows {
            customers,
            invoices,
            lines,
            dialect: self.dialect(),
        }
    }
}

/// The subject's rows, by table.
pub struct SubjectRows {
    pub customers: Vec<i64>,
    pub invoices: Vec<i64>,
    pub lines: Vec<i64>,
    dialect: Dialect,
}

impl SubjectRows {
    /// `(actual table name, rendered key)` of every row, for [`Snapshot::checksum`].
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (table, ids) in [
            ("Customer", &self.customers),
            ("Invoice", &self.invoices),
            ("InvoiceLine", &self.lines),
        ] {
            for id in ids {
                out.push((n(self.dialect, table), id.to_string()));
            }
        }
        out
    }
}

fn engine(db: &TestDb, policy: &Arc<Policy>, store: &Store, packages: &std::path::Path) -> Engine {
    let mut connections = BTreeMap::new();
    connections.insert(
        "chinook".to_owned(),
        secrecy::SecretString::from(db.url.clone()),
    );
    Engine::new(
        policy.clone(),
        store.clone(),
        EngineSettings {
            connections,
            packages_dir: packages.to_path_buf(),
            package_key: Some(secrecy::SecretBox::new(KEY.to_vec().into_boxed_slice())),
            package_ttl: Duration::from_secs(3600),
        },
    )
}

/// A decrypted package.
pub struct Package {
    zip: ZipArchive<Cursor<Vec<u8>>>,
    pub manifest: serde_json::Value,
}

impl Package {
    fn new(zip: Vec<u8>) -> Package {
        let mut zip = ZipArchive::new(Cursor::new(zip)).expect("a ZIP");
        let manifest = serde_json::from_slice(&entry(&mut zip, "manifest.json")).unwrap();
        Package { zip, manifest }
    }

    /// The rows of a collection's JSON file (`None` if the collection is not in the package).
    pub fn rows(
        &mut self,
        system: &str,
        collection: &str,
    ) -> Option<Vec<serde_json::Map<String, serde_json::Value>>> {
        let file = self.manifest["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["system"] == system && c["collection"] == collection)?["json_file"]
            .as_str()
            .unwrap()
            .to_owned();
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&entry(&mut self.zip, &file)).unwrap();
        Some(
            rows.into_iter()
                .map(|r| r.as_object().unwrap().clone())
                .collect(),
        )
    }

    /// `(system, collection, rows)` of every collection in the package.
    pub fn collections(&self) -> Vec<(String, String, u64)> {
        self.manifest["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["system"].as_str().unwrap().to_owned(),
                    c["collection"].as_str().unwrap().to_owned(),
                    c["rows"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

fn entry(zip: &mut ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut f = zip
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name} is in the package: {e}"));
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

/// Rows changed per collection (`system:collection` → changed, found), from an outcome.
pub fn changed(outcome: &Outcome) -> BTreeMap<String, (u64, u64)> {
    outcome
        .collections
        .iter()
        .map(|c| {
            (
                format!("{}:{}", c.system, c.collection),
                (c.changed + c.deleted, c.found),
            )
        })
        .collect()
}

/// A collection of the data map by Chinook's Pascal name.
pub fn cref(dialect: Dialect, system: &str, pascal: &str) -> CollectionRef {
    CollectionRef {
        system: ombud_domain::policy::SystemId::parse(system).unwrap(),
        collection: n(dialect, pascal),
    }
}

/// Whether a package value is the value the database renders as `db` (`None`: NULL): the same
/// text, or the same number written differently (`1.98` and `1.980`, `1` and `1.0`), or the
/// same timestamp written differently (`2009-01-01 00:00:00` and `2009-01-01T00:00:00`).
pub fn same_value(package: &serde_json::Value, db: Option<&str>) -> bool {
    let text = match package {
        serde_json::Value::Null => return db.is_none(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => panic!("a cell is never {other}"),
    };
    let Some(db) = db else { return false };
    if text == db {
        return true;
    }
    if let (Ok(a), Ok(b)) = (text.parse::<f64>(), db.parse::<f64>()) {
        return a == b;
    }
    let stamp = |s: &str| {
        s.replace('T', " ")
            .trim_end_matches('Z')
            .trim_end_matches(".000000")
            .trim_end_matches(".000")
            .to_owned()
    };
    stamp(&text) == stamp(db)
}

/// The mapped columns of a collection, in the data map's order.
pub fn mapped_columns(policy: &Policy, c: &CollectionRef) -> Vec<String> {
    policy
        .data_map
        .collection(c)
        .unwrap_or_else(|| panic!("{c} is in the data map"))
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect()
}
