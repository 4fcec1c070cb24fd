//! Times the execution engine on the customer database that Fides was measured on
//! (`bench/fides-customerdb/`): one verified request after another, each from its leased job to
//! its outcome, and prints the median and 95th percentile. `bench/execution.sh` runs the cases
//! and puts them next to Fides' figures.
//!
//! ```text
//! cargo run --release -p ombud-fulfil --example execution_bench -- \
//!     URL access|access-heavy|erasure|erasure-heavy [REPS] [--rows K] [--sql-dir DIR] [--store URL]
//! ```
//!
//! - URL: the PostgreSQL database made by `bench/fides-customerdb/make_customerdb.sql`.
//! - `access`: the standard subject (`subject@example.com`: 1 customer row, 3 addresses, 20
//!   orders). Read-only.
//! - `access-heavy`: `heavy@example.com`; the database must hold them already
//!   (`heavy_subject.sql`). Also prints the peak resident memory of the process.
//! - `erasure`: the standard subject; before each repetition (untimed) `psql` runs
//!   `reset_subject.sql`, which puts them back. An erasure changes their 24 rows.
//! - `erasure-heavy`: before each repetition (untimed), `psql` runs `heavy_subject.sql` with
//!   `k = --rows` (default 1000), so the heavy subject owns K addresses and K orders again; then
//!   an erasure job masks them. The orders hold personal data (the purchase history), so an
//!   erasure changes 1 + 2K rows.
//! - `--store`: ombud's own database, new and empty (default: a new SQLite file in a temporary
//!   folder).
//!
//! What is timed is `Engine::run` on a job leased after the request was verified: the search
//! along the data map, the package (written, zipped, encrypted, fsynced and recorded) for an
//! access request, the masking and its commit for an erasure, and the job's checkpoints and
//! result in ombud's store. An untimed preview first opens the connection pool and reads the
//! column types, as in a running server. This is a benchmark, not a test, but it fails when a
//! run does not find or change what it should.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use jiff::civil::date;
use ombud_domain::email::EmailAddress;
use ombud_domain::policy::SystemId;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_fulfil::{Engine, EngineSettings, JobKind, JobSpec, Outcome, Person, Quiet};
use ombud_policy::source::SourceFile;
use ombud_store::{NewJob, NewPolicyVersion, NewRequest, Store};

const DATAMAP: &str = include_str!("../../../bench/fides-customerdb/datamap.yaml");
const STANDARD: &str = "subject@example.com";
const HEAVY: &str = "heavy@example.com";
const OWNER: &str = "bench";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Access,
    AccessHeavy,
    Erasure,
    ErasureHeavy,
}

struct Args {
    url: String,
    case: Case,
    reps: usize,
    rows: u64,
    sql_dir: PathBuf,
    store: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut positional = Vec::new();
    let mut rows = 1000;
    let mut sql_dir = PathBuf::from("bench/fides-customerdb");
    let mut store = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => rows = it.next().context("--rows K")?.parse()?,
            "--sql-dir" => sql_dir = it.next().context("--sql-dir DIR")?.into(),
            "--store" => store = Some(it.next().context("--store URL")?),
            _ if a.starts_with("--") => bail!("unknown option {a}"),
            _ => positional.push(a),
        }
    }
    let [url, case, rest @ ..] = positional.as_slice() else {
        bail!(
            "usage: execution_bench URL access|access-heavy|erasure|erasure-heavy [REPS] [--rows K]"
        );
    };
    let case = match case.as_str() {
        "access" => Case::Access,
        "access-heavy" => Case::AccessHeavy,
        "erasure" => Case::Erasure,
        "erasure-heavy" => Case::ErasureHeavy,
        other => bail!("unknown case {other}"),
    };
    let reps = match rest.first() {
        Some(n) => n.parse().context("REPS must be a whole number")?,
        None => 10,
    };
    ensure!(reps > 0, "REPS must be at least 1");
    Ok(Args {
        url: url.clone(),
        case,
        reps,
        rows,
        sql_dir,
        store,
    })
}

/// The example policy with the customer database's map beside it; the data map keeps only that
/// system, and the example's legal holds are left out (the Fides run had none).
fn policy() -> anyhow::Result<ombud_domain::policy::Policy> {
    let mut source = ombud_policy::example::impero();
    source.files.push(SourceFile {
        path: "examples/impero/customerdb.yaml".into(),
        text: DATAMAP.to_owned(),
    });
    let mut policy = ombud_policy::load(source, date(2026, 3, 1))
        .map_err(|r| anyhow::anyhow!("the benchmark policy does not load:\n{r}"))?
        .policy;
    let id = SystemId::parse("customerdb").context("system id")?;
    policy.data_map.systems.retain(|s| s.system == id);
    policy.legal_holds.clear();
    Ok(policy)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn psql(url: &str, file: &Path, vars: &[(&str, String)]) -> anyhow::Result<()> {
    let mut cmd = std::process::Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
    for (k, v) in vars {
        cmd.arg("-v").arg(format!("{k}={v}"));
    }
    let out = cmd
        .arg("-f")
        .arg(file)
        .arg(url)
        .output()
        .context("running psql")?;
    ensure!(
        out.status.success(),
        "psql -f {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let work = tempfile::tempdir()?;
    let store = match &args.store {
        Some(url) => Store::connect(url).await?,
        None => Store::open_sqlite(&work.path().join("ombud.db")).await?,
    };
    let version = store
        .activate_policy(NewPolicyVersion {
            hash: &"b".repeat(64),
            content: "benchmark",
            label: "benchmark",
            actor: "cli",
        })
        .await?;
    let packages = work.path().join("packages");
    let engine = Engine::new(
        Arc::new(policy()?),
        store.clone(),
        EngineSettings {
            connections: [("customerdb".to_owned(), args.url.clone().into())].into(),
            packages_dir: packages.clone(),
            package_key: Some(secrecy::SecretBox::new(Box::from(
                &b"benchmark-package-key-0123456789abcdef"[..],
            ))),
            package_ttl: Duration::from_secs(7 * 24 * 3600),
        },
    );

    let (email, kind) = match args.case {
        Case::Access => (STANDARD, JobKind::Access),
        Case::AccessHeavy => (HEAVY, JobKind::Access),
        Case::Erasure => (STANDARD, JobKind::Erasure),
        Case::ErasureHeavy => (HEAVY, JobKind::Erasure),
    };
    let address = EmailAddress::parse(email).context("e-mail")?;
    let request = store
        .create_request(&NewRequest {
            reference: "R-BENCH",
            kind: if kind == JobKind::Access {
                RequestType::Access
            } else {
                RequestType::Erasure
            },
            channel: Channel::Web,
            state: RequestState::Verified,
            email: &address,
            name: None,
            lang: "en",
            details: "{}",
            received: date(2026, 3, 2),
            promised_due: date(2026, 3, 12),
            legal_due: date(2026, 4, 2),
            policy_version: version.id,
            repeat_of: None,
            actor: "web",
            note: None,
            mail: Vec::new(),
        })
        .await?;
    let spec = serde_json::to_string(&JobSpec {
        reference: request.reference.clone(),
        kind,
        identities: vec![("email".into(), email.into())],
        corrections: Vec::new(),
        lang: "en".into(),
        received: "2026-03-02T09:00:00Z".parse()?,
    })?;
    let person = Person {
        identities: vec![(ombud_domain::datamap::Identity::Email, email.into())],
    };

    // Untimed: opens the pool and reads the column types, as a running server has.
    engine.preview(&person).await?;
    let baseline = vm_hwm_kib();

    let mut times = Vec::with_capacity(args.reps);
    let mut last = Outcome::default();
    for _ in 0..args.reps {
        match args.case {
            Case::Erasure => psql(&args.url, &args.sql_dir.join("reset_subject.sql"), &[])?,
            Case::ErasureHeavy => psql(
                &args.url,
                &args.sql_dir.join("heavy_subject.sql"),
                &[("k", args.rows.to_string())],
            )?,
            _ => {}
        }
        store
            .create_job(NewJob {
                request_id: request.id,
                kind: kind.key(),
                spec: &spec,
            })
            .await?;
        let job = store
            .lease_job(OWNER, ombud_fulfil::LEASE)
            .await?
            .context("the job is due")?;
        let start = Instant::now();
        let outcome = engine.run(&job, OWNER, &Quiet).await?;
        times.push(start.elapsed());
        // Packages are not kept: the heavy subject's take room.
        if packages.is_dir() {
            for entry in std::fs::read_dir(&packages)? {
                let path = entry?.path();
                if path.is_file() {
                    std::fs::remove_file(path)?;
                }
            }
        }
        last = outcome;
    }
    let peak = vm_hwm_kib();
    engine.close().await;
    store.close().await;

    let found: u64 = last.collections.iter().map(|c| c.found).sum();
    let changed: u64 = last.collections.iter().map(|c| c.changed).sum();
    match args.case {
        Case::Access => ensure!(
            found == 24,
            "the standard subject has 24 rows, found {found}"
        ),
        Case::AccessHeavy => ensure!(found > 24, "the heavy subject is missing: found {found}"),
        Case::Erasure => ensure!(changed == 24, "expected 24 rows changed, got {changed}"),
        Case::ErasureHeavy => ensure!(
            changed == 1 + 2 * args.rows,
            "expected {} rows changed, got {changed}",
            1 + 2 * args.rows
        ),
    }
    times.sort();
    let per: Vec<String> = last
        .collections
        .iter()
        .map(|c| format!("{} {}/{}", c.collection, c.found, c.changed))
        .collect();
    println!("rows found/changed   {}", per.join(", "));
    if let Some(p) = &last.package {
        println!("package              {} rows, {} bytes", p.rows, p.bytes);
    }
    println!(
        "wall per request     median {:.2} ms, p95 {:.2} ms, min {:.2} ms, max {:.2} ms ({} runs)",
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 95.0)),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    );
    println!(
        "peak RSS (VmHWM)     {:.1} MiB; {:.1} MiB before the timed runs",
        peak as f64 / 1024.0,
        baseline as f64 / 1024.0
    );
    // One line for scripts.
    println!(
        "result median_ms={:.2} p95_ms={:.2} runs={} found={found} changed={changed} peak_mib={:.1}",
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 95.0)),
        times.len(),
        peak as f64 / 1024.0
    );
    Ok(())
}
