//! `ombud serve`, `ombud demo` and `ombud migrate`: configuration, the store, and the server.

use std::process::ExitCode;

use anyhow::Context as _;
use ombud_policy::{Loaded, PolicySource};
use ombud_server::{Listeners, MetricsListen, Overrides, Settings};
use ombud_store::Store;

use super::{load_valid, today};
use crate::cli::{ServeArgs, ServerArgs};

/// Settings from the config file, the environment and the flags (flags win).
pub(crate) fn settings(args: &ServerArgs) -> anyhow::Result<Settings> {
    let overrides = Overrides {
        listen: args
            .listen
            .as_deref()
            .map(|s| {
                s.parse().with_context(|| {
                    format!("--listen `{s}` is not an address such as 127.0.0.1:8080")
                })
            })
            .transpose()?,
        metrics_listen: args
            .metrics_listen
            .as_deref()
            .map(|s| {
                s.parse::<MetricsListen>()
                    .map_err(|e| anyhow::anyhow!("--metrics-listen `{s}`: {e}"))
            })
            .transpose()?,
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone().map(Into::into),
        public_url: args.public_url.clone(),
        ..Overrides::default()
    };
    let mut settings = Settings::load(args.config.as_deref(), &overrides)?;
    if settings.secret_key.is_none() {
        settings.secret_key = kept_secret(&settings.data_dir)?;
    }
    Ok(settings)
}

/// Where the demo keeps the secret it made, so that codes outlive a restart and
/// `ombud request` on the same data directory can send them.
const KEPT_SECRET: &str = "secret_key";

/// The secret kept in the data directory, if one is.
fn kept_secret(data_dir: &std::path::Path) -> anyhow::Result<Option<secrecy::SecretString>> {
    let path = data_dir.join(KEPT_SECRET);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(Some(s.trim().to_owned().into())),
        Ok(_) => anyhow::bail!(
            "{} is shorter than 32 characters; delete it to have the demo make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Makes a random secret and keeps it in the data directory, readable by its owner only.
fn keep_new_secret(data_dir: &std::path::Path) -> anyhow::Result<secrecy::SecretString> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    let secret = hex::encode(bytes);
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join(KEPT_SECRET);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret.into())
}

/// Opens (and migrates) the store the settings point at.
pub(crate) async fn open_store(args: &ServerArgs) -> anyhow::Result<(Settings, Store)> {
    let settings = settings(args)?;
    let store = settings
        .open_store()
        .await
        .context("cannot open the database")?;
    Ok((settings, store))
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let policy = match load_valid(&args.policy)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    run_server(&args.server, policy, false)
}

pub fn demo(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let policy =
        ombud_policy::load(ombud_policy::example::impero(), today()).map_err(|rejected| {
            anyhow::anyhow!("the built-in example policy does not load:\n{rejected}")
        })?;
    run_server(&args, policy, true)
}

pub fn migrate(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (_, store) = open_store(&args).await?;
        outln!("database is up to date ({})", store.backend())?;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn run_server(args: &ServerArgs, policy: Loaded, demo: bool) -> anyhow::Result<ExitCode> {
    let mut settings = settings(args)?;
    if demo && settings.api_token.is_none() {
        // The demo's API needs a token too; make one for this run and show it.
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
        settings.api_token = Some(hex::encode(bytes).into());
    }
    if demo && settings.secret_key.is_none() {
        // The privacy centre's identity codes are keyed with it.
        settings.secret_key = Some(keep_new_secret(&settings.data_dir)?);
    }
    ombud_server::init_tracing(&settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if demo {
            demo_database(&mut settings).await?;
        }
        let store = settings
            .open_store()
            .await
            .context("cannot open the database")?;
        let listeners = Listeners::bind(&settings).await?;
        if demo {
            print_demo_banner(&settings, &listeners, &policy.source);
        }
        let result = ombud_server::start(
            &settings,
            store.clone(),
            policy,
            listeners,
            ombud_server::shutdown_signal(),
        )
        .await;
        store.close().await;
        result?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The example data map's `trial_db` system points at a small SQLite database in the data
/// directory, made on first start with Ann Example's rows in every table, unless the
/// configuration names another one.
async fn demo_database(settings: &mut Settings) -> anyhow::Result<()> {
    const SYSTEM: &str = "trial_db";
    if settings.connections.contains_key(SYSTEM) {
        return Ok(());
    }
    let path = settings.data_dir.join("trial_db.sqlite");
    let url = ombud_connect::seed_sqlite(&path, ombud_policy::example::IMPERO_TRIAL_DB_SQL)
        .await
        .with_context(|| format!("cannot make the demo database {}", path.display()))?;
    settings.connections.insert(SYSTEM.to_owned(), url.into());
    Ok(())
}

/// What a newcomer should open, with the addresses actually bound. Written in one piece, and a
/// closed standard output is ignored: the server keeps running either way.
fn print_demo_banner(settings: &Settings, listeners: &Listeners, source: &PolicySource) {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let public = listeners
        .public
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_else(|_| settings.public_url());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "ombud demo: the example policy of Impero A/S ({} files, version {})\n",
        source.files.len(),
        &source.hash()[..12]
    );
    for (label, path) in [
        ("Privacy notice", "/privacy"),
        ("Banner on a sample page", "/c/demo"),
        ("Privacy centre", "/privacy-centre"),
        ("Staff console", "/console"),
        ("Notice as Markdown", "/privacy.md"),
        ("Policy in force", "/api/v1/policy"),
        ("Policy versions", "/api/v1/policy/versions"),
        ("OpenAPI", "/openapi.json"),
        ("Health", "/healthz"),
    ] {
        let _ = writeln!(text, "  {label:<24} {public}{path}");
    }
    if let Some(m) = listeners.metrics.as_ref().and_then(|l| l.local_addr().ok()) {
        let _ = writeln!(text, "  {:<24} http://{m}/metrics", "Metrics");
    }
    if let Some(token) = &settings.api_token {
        use secrecy::ExposeSecret as _;
        let _ = writeln!(
            text,
            "\nAPI token for this run: {}\n  e.g. curl -H 'Authorization: Bearer {}' '{public}/api/v1/consent/check?subject=email:ann@example.com&purpose=marketing'",
            token.expose_secret(),
            token.expose_secret()
        );
    }
    let _ = writeln!(
        text,
        "\nStaff console: add yourself with `ombud users add you@example.com --role admin` in\n  another shell, open the setup link it prints, and log in with your authenticator app."
    );
    if settings.smtp.is_none() {
        let dir = settings
            .mail_dir
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("mail"));
        let _ = writeln!(
            text,
            "\nNo SMTP relay is configured: codes and letters are written to {}",
            dir.display()
        );
    }
    let db = match &settings.database_url {
        Some(_) => "the configured database".to_owned(),
        None => format!("SQLite at {}", settings.default_sqlite_path().display()),
    };
    let _ = writeln!(text, "\nData: {db}. Stop with Ctrl-C.");
    if settings.connections.contains_key("trial_db") {
        let _ = writeln!(
            text,
            "The data map's trial database holds Ann Example: ask for a copy of ann@example.com's data\n  in the privacy centre, enter the code from the mail folder, and download the package."
        );
    }
    let _ = writeln!(
        text,
        "Try the policy tools too: `ombud policy check examples/impero`, `ombud ropa examples/impero`."
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
