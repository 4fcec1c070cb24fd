//! `ombud consent state|history|check|export`: the ledger from the command line, on the same
//! store the server uses.

use std::process::ExitCode;

use anyhow::Context as _;
use jiff::Timestamp;
use ombud_domain::consent::SubjectKey;
use ombud_domain::policy::{Keyword, PurposeId};
use ombud_policy::PolicySource;
use ombud_store::{NewAuditEntry, Store};

use super::serve::open_store;
use super::{today, write_output};
use crate::cli::{ConsentCommand, ProofFormat, ServerArgs};

/// Actor recorded in the audit log for CLI exports.
const CLI_ACTOR: &str = "cli";

pub fn run(command: ConsentCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (subject, server) = match &command {
            ConsentCommand::State(a) | ConsentCommand::History(a) => (&a.subject, &a.server),
            ConsentCommand::Check(a) => (&a.subject, &a.server),
            ConsentCommand::Export(a) => (&a.subject, &a.server),
        };
        let subject =
            SubjectKey::parse(subject).map_err(|e| anyhow::anyhow!("subject `{subject}`: {e}"))?;
        let store = open(server).await?;
        let result = match &command {
            ConsentCommand::State(_) => state(&store, &subject).await,
            ConsentCommand::History(_) => history(&store, &subject).await,
            ConsentCommand::Check(a) => check(&store, &subject, &a.purpose).await,
            ConsentCommand::Export(a) => {
                export(&store, &subject, a.format, a.output.as_deref()).await
            }
        };
        store.close().await;
        result
    })
}

async fn open(server: &ServerArgs) -> anyhow::Result<Store> {
    Ok(open_store(server).await?.1)
}

async fn state(store: &Store, subject: &SubjectKey) -> anyhow::Result<ExitCode> {
    let linked = store.consent_subjects(subject).await?;
    let states = store.consent_states(&linked).await?;
    if linked.len() > 1 {
        outln!(
            "linked subjects: {}",
            linked
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if states.is_empty() {
        outln!("no consent recorded")?;
    }
    for s in &states {
        let since = Timestamp::from_microsecond(s.since_us)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let expiry = s
            .expires_at_us
            .and_then(|x| Timestamp::from_microsecond(x).ok())
            .map(|t| format!(", until {t}"))
            .unwrap_or_default();
        let verdict = if s.granted { "granted" } else { "refused" };
        outln!(
            "{:<24} {verdict:<8} since {since} (event {}{expiry}) [{}]",
            s.target.to_string(),
            s.event_seq,
            s.subject.kind().key()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn history(store: &Store, subject: &SubjectKey) -> anyhow::Result<ExitCode> {
    let linked = store.consent_subjects(subject).await?;
    let mut after = 0;
    let mut any = false;
    loop {
        let page = store.consent_history(&linked, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            any = true;
            let ev = &e.event;
            outln!(
                "{:>6} {} {:<24} {:<8} {:<7} version {}{}",
                e.seq,
                ev.at,
                ev.target.to_string(),
                if ev.granted { "granted" } else { "refused" },
                ev.method.key(),
                ev.policy_version,
                if ev.gpc { " gpc" } else { "" }
            )?;
        }
    }
    if !any {
        outln!("no consent recorded")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(store: &Store, subject: &SubjectKey, purpose: &str) -> anyhow::Result<ExitCode> {
    let version = store
        .current_policy()
        .await?
        .context("no policy version is stored yet; start the server once")?;
    let source = PolicySource::from_bundle(&version.content)?;
    let policy = ombud_policy::load(source, today())
        .map_err(|r| anyhow::anyhow!("the policy version in force does not load:\n{r}"))?
        .policy;
    let purpose_id = PurposeId::parse(purpose)
        .ok()
        .filter(|p| policy.purpose(p).is_some())
        .with_context(|| {
            format!(
                "`{purpose}` is not a purpose of policy version {}",
                version.id
            )
        })?;
    let answer = store
        .check_consent(
            &policy,
            &purpose_id,
            subject,
            Timestamp::now().as_microsecond(),
        )
        .await?;
    let basis = answer
        .basis
        .map(|b| format!(" on {}", b.key()))
        .unwrap_or_default();
    let verdict = if answer.allowed {
        "allowed"
    } else {
        "not allowed"
    };
    outln!("{purpose}: {verdict}{basis} ({})", answer.reason.key())?;
    Ok(if answer.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn export(
    store: &Store,
    subject: &SubjectKey,
    format: ProofFormat,
    output: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let proof = ombud_server::build_proof(store, subject).await?;
    let (text, format_name) = match format {
        ProofFormat::Json => (
            format!("{}\n", serde_json::to_string_pretty(&proof)?),
            "json",
        ),
        ProofFormat::Csv => (ombud_server::proof_csv(&proof), "csv"),
    };
    let details =
        serde_json::json!({ "format": format_name, "events": proof.events.len() }).to_string();
    store
        .append_audit(NewAuditEntry {
            actor: CLI_ACTOR,
            action: "consent.proof_exported",
            subject: "consent:proof",
            details: &details,
        })
        .await?;
    write_output(output, &text)?;
    Ok(ExitCode::SUCCESS)
}
