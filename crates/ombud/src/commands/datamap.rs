//! `ombud datamap check|discover|import-fides`: the data map against the live databases, a
//! draft from a database, and the Fides dataset import.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
use ombud_connect::{Db, Mismatch, check};
use ombud_domain::datamap::MappedSystem;
use ombud_domain::policy::ConnectorKind;
use secrecy::ExposeSecret as _;

use super::{load_valid, write_output};
use crate::cli::{ConnectorArg, DatamapCheckArgs, DatamapCommand, DiscoverArgs, ImportFidesArgs};

pub fn run(c: DatamapCommand) -> anyhow::Result<ExitCode> {
    match c {
        DatamapCommand::ImportFides(a) => import_fides(&a),
        DatamapCommand::Check(a) => runtime()?.block_on(check_live(a)),
        DatamapCommand::Discover(a) => runtime()?.block_on(discover(a)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn import_fides(a: &ImportFidesArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let connector = match a.connector {
        ConnectorArg::Postgres => ConnectorKind::Postgres,
        ConnectorArg::Mysql => ConnectorKind::Mysql,
        ConnectorArg::Sqlite => ConnectorKind::Sqlite,
    };
    let name = a.file.display().to_string();
    match ombud_policy::fides::import_fides(&name, &text, connector) {
        Ok(yaml) => {
            write_output(a.output.as_deref(), &yaml)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(rejected) => {
            eprint!("{rejected}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn check_live(a: DatamapCheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_valid(&a.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let settings = super::serve::settings(&a.server)?;
    let mut problems = 0usize;
    let mut checked = 0usize;
    for system in &loaded.policy.data_map.systems {
        if !system.is_connected() || system.connector == ConnectorKind::Ombud {
            continue;
        }
        let Some(url) = settings.connections.get(&system.connection) else {
            outln!(
                "{}: not checked: {}",
                system.system,
                no_connection(&system.connection)
            )?;
            problems += 1;
            continue;
        };
        let db = match Db::connect(url).await {
            Ok(db) => db,
            Err(e) => {
                outln!("{}: {e}", system.system)?;
                problems += 1;
                continue;
            }
        };
        let mismatches = system_mismatches(&db, &loaded.policy.data_map, system).await;
        db.close().await;
        let mismatches = match mismatches {
            Ok(m) => m,
            Err(e) => {
                outln!("{}: {e}", system.system)?;
                problems += 1;
                continue;
            }
        };
        checked += 1;
        if mismatches.is_empty() {
            outln!(
                "{}: fits the database ({} tables)",
                system.system,
                system.collections.len()
            )?;
        }
        for m in &mismatches {
            outln!("{}: {m}", system.system)?;
        }
        problems += mismatches.len();
    }
    if problems > 0 {
        eprintln!("{problems} problem(s); {checked} system(s) checked");
        return Ok(ExitCode::FAILURE);
    }
    outln!("{checked} system(s) checked; the data map fits")?;
    Ok(ExitCode::SUCCESS)
}

/// The mismatches of one system, reading each schema its collections live in once: the
/// schema's, and columns that erasure would set to NULL where the database refuses it.
async fn system_mismatches(
    db: &Db,
    map: &ombud_domain::datamap::DataMap,
    system: &MappedSystem,
) -> Result<Vec<Mismatch>, ombud_connect::ConnectError> {
    let mut by_schema: BTreeMap<Option<&str>, Vec<_>> = BTreeMap::new();
    for c in &system.collections {
        by_schema
            .entry(c.schema.as_deref())
            .or_default()
            .push(c.clone());
    }
    let mut out = Vec::new();
    for (schema, collections) in by_schema {
        let live = db.introspect(schema).await?;
        let part = MappedSystem {
            collections,
            ..system.clone()
        };
        out.extend(check(&part, &live));
        out.extend(ombud_connect::erasure_conflicts(map, &part, &live));
    }
    Ok(out)
}

/// What to say when the configuration lacks the connection `name`, and where it would go.
fn no_connection(name: &str) -> String {
    format!(
        "no connection `{name}` in the configuration ([connections] or OMBUD_CONNECTION_{})",
        name.to_ascii_uppercase()
    )
}

async fn discover(a: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let (url, default_id) = match (&a.url, &a.connection) {
        (Some(url), _) => (
            secrecy::SecretString::from(url.clone()),
            "database".to_owned(),
        ),
        (None, Some(name)) => {
            let settings = super::serve::settings(&a.server)?;
            let url = settings
                .connections
                .get(name)
                .cloned()
                .with_context(|| no_connection(name))?;
            (url, name.clone())
        }
        (None, None) => anyhow::bail!("give a database URL or --connection NAME"),
    };
    let db = Db::connect(url.expose_secret()).await?;
    let live = db.introspect(a.schema.as_deref()).await;
    db.close().await;
    let live = live?;
    let system = a.system.unwrap_or(default_id);
    let yaml = format!(
        "systems:\n{}",
        live.draft_yaml(&system, live.dialect.keyword())
    );
    write_output(a.output.as_deref(), &yaml)?;
    if a.output.is_some() {
        eprintln!(
            "drafted {} table(s) of {}; review the categories and identities before use",
            live.tables.len(),
            live.schema
        );
    }
    Ok(ExitCode::SUCCESS)
}
