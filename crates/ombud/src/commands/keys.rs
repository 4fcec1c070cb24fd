//! `ombud keys …`: the encryption keys at rest. `rotate` moves every sealed TOTP secret and
//! every export package still on disk to the current key; `check` counts what each key holds,
//! so an operator knows when a previous key can be dropped from the configuration.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
use ombud_fulfil::package::crypt::{self, Rekeyed};
use ombud_store::{KeyId, Store};

use super::cli_actor as actor;
use super::serve::open_store;
use crate::cli::{KeysCommand, ServerArgs};

/// Packages read from the store per page.
const PAGE: u32 = 500;

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        KeysCommand::Rotate(args) => runtime.block_on(rotate(&args)),
        KeysCommand::Check(args) => runtime.block_on(check(&args)),
    }
}

fn no_key() -> anyhow::Error {
    anyhow::anyhow!(
        "no encryption key is configured: set encryption_key (OMBUD_ENCRYPTION_KEY) or secret_key"
    )
}

/// Every package whose file is not recorded as deleted.
async fn stored_packages(store: &Store) -> anyhow::Result<Vec<ombud_store::Package>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.stored_packages(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        all.extend(page);
    }
    Ok(all)
}

#[derive(Debug, Default)]
struct PackageCounts {
    reencrypted: u64,
    current: u64,
    missing: u64,
    failed: u64,
}

async fn rotate(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(args).await?;
    let result = rotate_in(&store).await;
    store.close().await;
    result
}

async fn rotate_in(store: &Store) -> anyhow::Result<ExitCode> {
    let keyring = store.keyring().ok_or_else(no_key)?;
    let totp = store
        .reseal_totp_secrets()
        .await
        .context("cannot seal the TOTP secrets again")?;
    let mut packages = PackageCounts::default();
    for p in stored_packages(store).await? {
        let path = std::path::PathBuf::from(&p.path);
        let keys = keyring.clone();
        let done = tokio::task::spawn_blocking(move || crypt::reencrypt_file(&keys, &path))
            .await
            .context("the re-encryption task stopped")?;
        match done {
            Ok(Rekeyed::AlreadyCurrent) => packages.current += 1,
            Ok(Rekeyed::Reencrypted { .. }) => packages.reencrypted += 1,
            Err(crypt::CryptError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                packages.missing += 1;
            }
            Err(e) => {
                packages.failed += 1;
                eprintln!("package {} (request {}): {e}", p.id, p.request_id);
            }
        }
    }
    let details = serde_json::json!({
        "key": keyring.current_id().to_string(),
        "totp_resealed": totp.resealed,
        "totp_current": totp.already_current,
        "packages_reencrypted": packages.reencrypted,
        "packages_current": packages.current,
        "packages_missing": packages.missing,
        "packages_failed": packages.failed,
    })
    .to_string();
    store
        .append_audit(ombud_store::NewAuditEntry {
            actor: &actor(),
            action: "keys.rotated",
            subject: &format!("key:{}", keyring.current_id()),
            details: &details,
        })
        .await?;
    outln!("current key {}", keyring.current_id())?;
    outln!(
        "TOTP secrets: {} sealed again, {} already under the current key",
        totp.resealed,
        totp.already_current
    )?;
    outln!(
        "export packages: {} re-encrypted, {} already under the current key, {} missing on disk, {} failed",
        packages.reencrypted,
        packages.current,
        packages.missing,
        packages.failed
    )?;
    if packages.failed > 0 {
        outln!(
            "some packages could not be re-encrypted (see above); `ombud keys check` counts them"
        )?;
        return Ok(ExitCode::FAILURE);
    }
    outln!("run `ombud keys check` to see what each key still holds")?;
    Ok(ExitCode::SUCCESS)
}

/// Sealed values and packages under one key id.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    totp: u64,
    packages: u64,
}

async fn check(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let (settings, store) = open_store(args).await?;
    let result = check_in(&settings, &store).await;
    store.close().await;
    result
}

async fn check_in(settings: &ombud_server::Settings, store: &Store) -> anyhow::Result<ExitCode> {
    let configured: Vec<(KeyId, String)> = settings
        .keys()
        .context("the configured keys are not valid")?
        .iter()
        .map(|(source, key)| (KeyId::of(&key[..]), source.to_string()))
        .collect();
    let mut held: BTreeMap<KeyId, Held> = BTreeMap::new();
    let totp = store.sealed_totp_counts().await?;
    for (id, n) in &totp.by_key {
        held.entry(*id).or_default().totp += n;
    }
    let (mut missing, mut unreadable) = (0u64, 0u64);
    for p in stored_packages(store).await? {
        let path = std::path::PathBuf::from(&p.path);
        let id = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&path)
                .map_err(crypt::CryptError::Io)
                .and_then(|f| crypt::key_id(std::io::BufReader::new(f)))
        })
        .await
        .context("the check task stopped")?;
        match id {
            Ok(id) => held.entry(id).or_default().packages += 1,
            Err(crypt::CryptError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                missing += 1;
            }
            Err(e) => {
                unreadable += 1;
                eprintln!("package {} (request {}): {e}", p.id, p.request_id);
            }
        }
    }

    if configured.is_empty() {
        outln!("no encryption key is configured (encryption_key or secret_key)")?;
    }
    outln!(
        "{:<16}  {:>12}  {:>8}  key",
        "key id",
        "TOTP secrets",
        "packages"
    )?;
    let mut ids: Vec<KeyId> = configured.iter().map(|(id, _)| *id).collect();
    ids.extend(
        held.keys()
            .filter(|id| !configured.iter().any(|(c, _)| c == *id)),
    );
    let mut finding = false;
    let mut droppable = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let h = held.get(id).copied().unwrap_or_default();
        let label = match configured.iter().find(|(c, _)| c == id) {
            Some((_, source)) => source.clone(),
            None => {
                finding = true;
                "NOT CONFIGURED: what it holds cannot be read".to_owned()
            }
        };
        outln!("{id}  {:>12}  {:>8}  {label}", h.totp, h.packages)?;
        if i > 0 && h.totp == 0 && h.packages == 0 && !label.starts_with("NOT") {
            droppable.push(label);
        }
    }
    if totp.unsealed > 0 {
        finding = true;
        outln!(
            "{} TOTP secrets are not sealed (written outside ombud?): they cannot be used",
            totp.unsealed
        )?;
    }
    if missing > 0 {
        outln!("{missing} packages are recorded but their files are gone")?;
    }
    if unreadable > 0 {
        finding = true;
        outln!("{unreadable} package files are not readable packages (see above)")?;
    }
    let previous_in_use = ids
        .iter()
        .skip(1)
        .filter(|id| configured.iter().any(|(c, _)| c == *id))
        .any(|id| held.get(id).is_some_and(|h| h.totp + h.packages > 0));
    if previous_in_use {
        outln!("previous keys still hold values: run `ombud keys rotate`")?;
    }
    for label in droppable {
        if label.contains("secret_key") {
            // Implied by secret_key rather than configured: nothing to remove.
            outln!("{label} holds nothing any more")?;
        } else {
            outln!("{label} holds nothing any more: it can be removed from the configuration")?;
        }
    }
    if let Some((current, _)) = configured.first() {
        let under_current = held.get(current).copied().unwrap_or_default();
        let total: u64 = held.values().map(|h| h.totp + h.packages).sum();
        if total == under_current.totp + under_current.packages && !finding {
            outln!("everything is under the current key")?;
        }
    }
    Ok(if finding {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
