//! `ombud users …`: staff users of the console. `add` bootstraps the first admin: it prints a
//! one-time setup link where the new member sets their password and second factor.

use std::process::ExitCode;

use anyhow::Context as _;
use ombud_domain::policy::Keyword;
use ombud_domain::staff::{Role, canonical_email};
use ombud_server::staff::{self, StaffError};
use ombud_store::StaffUser;
use secrecy::ExposeSecret;

use super::serve::open_store;
use crate::cli::{AddUserArgs, ResetUserArgs, ServerArgs, UsersCommand};

pub fn run(command: UsersCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        UsersCommand::Add(args) => runtime.block_on(add(args)),
        UsersCommand::List(args) => runtime.block_on(list(&args)),
        UsersCommand::Reset(args) => runtime.block_on(reset(args)),
    }
}

async fn reset(args: ResetUserArgs) -> anyhow::Result<ExitCode> {
    let email = canonical_email(&args.email)
        .with_context(|| format!("`{}` is not an e-mail address", args.email.trim()))?;
    let (settings, store) = open_store(&args.server).await?;
    let result = async {
        let user = store
            .staff_user_by_email(&email)
            .await?
            .with_context(|| format!("there is no staff user with the address {email}"))?;
        let reset =
            staff::reset_user(&store, &settings.public_url(), user.id, &super::cli_actor()).await?;
        anyhow::Ok(reset)
    }
    .await;
    store.close().await;
    let reset = result?;
    outln!(
        "{} starts over as {}: password, second factor, recovery codes and sessions are gone",
        reset.user.email,
        reset.user.role
    )?;
    outln!(
        "their new one-time setup link, valid until {}:",
        reset.setup_expires_at.round(jiff::Unit::Second)?
    )?;
    outln!("{}", reset.setup_url.expose_secret())?;
    Ok(ExitCode::SUCCESS)
}

async fn add(args: AddUserArgs) -> anyhow::Result<ExitCode> {
    // Both are checked before the database is opened, so bad input changes nothing.
    let role = Role::parse(&args.role).with_context(|| {
        format!(
            "--role `{}` is not a role; use one of {}",
            args.role,
            Role::keys().join(", ")
        )
    })?;
    let email = canonical_email(&args.email)
        .with_context(|| format!("`{}` is not an e-mail address", args.email.trim()))?;
    let (settings, store) = open_store(&args.server).await?;
    let added = staff::add_user(
        &store,
        &settings.public_url(),
        &email,
        role,
        &super::cli_actor(),
    )
    .await;
    store.close().await;
    let added = match added {
        Ok(a) => a,
        Err(StaffError::Taken) => {
            anyhow::bail!("a staff user with the address {email} exists already")
        }
        Err(e) => return Err(e.into()),
    };
    outln!(
        "added {} as {} (staff user {})",
        added.user.email,
        added.user.role,
        added.user.id
    )?;
    outln!(
        "their one-time setup link, valid until {}:",
        added.setup_expires_at.round(jiff::Unit::Second)?
    )?;
    outln!("{}", added.setup_url.expose_secret())?;
    Ok(ExitCode::SUCCESS)
}

async fn list(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(args).await?;
    let users = store.staff_users().await;
    store.close().await;
    let users = users?;
    if users.is_empty() {
        outln!("no staff users yet; add one with `ombud users add EMAIL --role admin`")?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = users
        .iter()
        .map(|u| u.email.len())
        .max()
        .unwrap_or(5)
        .max(5);
    outln!(
        "{:>4}  {:<width$}  {:<15}  {:<13}  created",
        "id",
        "email",
        "role",
        "state"
    )?;
    for u in &users {
        outln!(
            "{:>4}  {:<width$}  {:<15}  {:<13}  {}",
            u.id,
            u.email,
            u.role.key(),
            state(u),
            u.created_at.round(jiff::Unit::Second)?
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn state(u: &StaffUser) -> &'static str {
    if u.disabled_at.is_some() {
        "disabled"
    } else if u.is_set_up() {
        "active"
    } else {
        "setup pending"
    }
}
