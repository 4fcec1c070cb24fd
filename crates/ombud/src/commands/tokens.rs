//! `ombud tokens …`: API tokens. `add` prints the new token once, alone on standard output (so
//! `TOKEN=$(ombud tokens add …)` works); what it says about it goes to standard error.

use std::process::ExitCode;

use anyhow::Context as _;
use jiff::Timestamp;
use ombud_domain::staff::Scopes;
use ombud_server::staff::tokens::{self, Revoked};
use secrecy::ExposeSecret;

use super::serve::open_store;
use crate::cli::{AddTokenArgs, RevokeTokenArgs, ServerArgs, TokensCommand};

pub fn run(command: TokensCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        TokensCommand::Add(args) => runtime.block_on(add(args)),
        TokensCommand::List(args) => runtime.block_on(list(&args)),
        TokensCommand::Revoke(args) => runtime.block_on(revoke(&args)),
    }
}

async fn add(args: AddTokenArgs) -> anyhow::Result<ExitCode> {
    // Checked before the database is opened, so bad input changes nothing.
    let scopes = Scopes::parse(&args.scopes.join(" ")).context("--scope")?;
    if args.name.trim().is_empty() {
        anyhow::bail!("the token needs a name, e.g. `ombud tokens add \"crm sync\" --scope read`");
    }
    let (_, store) = open_store(&args.server).await?;
    let issued = tokens::issue(&store, &args.name, &scopes, &super::cli_actor()).await;
    store.close().await;
    let (token, secret) = issued?;
    eprintln!(
        "added API token {} \"{}\" with the scopes {}",
        token.id, token.name, token.scopes
    );
    outln!("{}", secret.expose_secret())?;
    eprintln!("this token is shown once: store it now (ombud keeps only its hash)");
    Ok(ExitCode::SUCCESS)
}

fn when(t: Option<Timestamp>, none: &str) -> anyhow::Result<String> {
    Ok(match t {
        Some(t) => t.round(jiff::Unit::Second)?.to_string(),
        None => none.to_owned(),
    })
}

async fn list(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(args).await?;
    let all = tokens::list(&store).await;
    store.close().await;
    let all = all?;
    if all.is_empty() {
        outln!("no API tokens yet; add one with `ombud tokens add NAME --scope read`")?;
        return Ok(ExitCode::SUCCESS);
    }
    let name_width = all.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    let scopes_width = all
        .iter()
        .map(|t| t.scopes.to_string().len())
        .max()
        .unwrap_or(6)
        .max(6);
    outln!(
        "{:>4}  {:<name_width$}  {:<scopes_width$}  {:<20}  {:<20}  revoked",
        "id",
        "name",
        "scopes",
        "created",
        "last used",
    )?;
    for t in &all {
        outln!(
            "{:>4}  {:<name_width$}  {:<scopes_width$}  {:<20}  {:<20}  {}",
            t.id,
            t.name,
            t.scopes.to_string(),
            when(Some(t.created_at), "")?,
            when(t.last_used_at, "never")?,
            when(t.revoked_at, "-")?,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(args: &RevokeTokenArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(&args.server).await?;
    let revoked = tokens::revoke(&store, args.id, &super::cli_actor()).await;
    store.close().await;
    match revoked? {
        Revoked::Now => outln!("revoked API token {}", args.id)?,
        Revoked::Already => outln!("API token {} was revoked already", args.id)?,
        Revoked::Unknown => anyhow::bail!(
            "there is no API token {}; `ombud tokens list` shows them",
            args.id
        ),
    }
    Ok(ExitCode::SUCCESS)
}
