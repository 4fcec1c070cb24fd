//! Times the console's pages on a store that holds 1,000,000 consent events and 10,000 rights
//! requests, and prints the median and 95th percentile per page. `bench/console.sh` runs it.
//!
//! ```text
//! cargo run --release -p ombud-server --example console_bench -- [--events N] [--requests N] [--reps N] [--store URL]
//! ```
//!
//! The store is filled through ombud's own store API (consent in batches of 2,000, requests one
//! by one as the privacy centre makes them, each with its timeline and audit entry), then a
//! server is started in this process on a loopback port, a privacy officer logs in with a TOTP
//! code computed here, and each page is fetched `--reps` times over HTTP (cookie, CSRF and all),
//! after one untimed fetch. A page that does not answer 200 fails the run.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::consent::{Method, SubjectKey, Target};
use ombud_domain::policy::CookieCategoryId;
use ombud_domain::request::{Channel, RequestType};
use ombud_domain::staff::{Role, totp};
use ombud_server::requests::{Details, Submission};
use ombud_server::{Listeners, Settings};
use ombud_store::Store;
use ombud_store::consent::NewConsentEvent;

const SECRET: &[u8; 20] = b"console-bench-secret";
const PASSWORD: &str = "console bench password";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = arg("--events", 1_000_000);
    let requests = arg("--requests", 10_000);
    let reps = arg("--reps", 30) as usize;
    let dir = tempfile::tempdir()?;
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .iter()
        .position(|a| a == "--store")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("ombud.db").display()));
    let store = Store::connect(&url).await.context("open the store")?;
    let policy = ombud_policy::load(
        ombud_policy::example::impero(),
        jiff::tz::Offset::UTC.to_datetime(Timestamp::now()).date(),
    )
    .map_err(|r| anyhow::anyhow!("{r}"))?;
    let version = ombud_server::activate(&store, &policy).await?;

    // 1. Consent: visitors choosing the banner's categories over the last 60 days.
    let started = Instant::now();
    let categories: Vec<CookieCategoryId> = policy
        .policy
        .cookie_categories
        .iter()
        .filter(|c| !c.necessary)
        .map(|c| c.id.clone())
        .collect();
    let now = Timestamp::now();
    let mut batch = Vec::with_capacity(2000);
    for i in 0..events {
        let visitor = SubjectKey::visitor_from_bytes(u128::from(i / 3).to_be_bytes());
        batch.push(NewConsentEvent {
            subject: visitor,
            target: Target::Cookies(categories[(i as usize) % categories.len()].clone()),
            granted: i % 5 < 3,
            method: Method::Banner,
            policy_version: version.id,
            wording_hash: None,
            gpc: false,
            source: Some("https://www.impero.com/".to_owned()),
            recorded_by: None,
            user_agent: None,
            ip_prefix: None,
            at: now - SignedDuration::from_secs((i % (60 * 86_400)) as i64),
            expires_at: None,
        });
        if batch.len() == 2000 {
            store.record_consent(&batch).await?;
            batch.clear();
        }
    }
    store.record_consent(&batch).await?;
    eprintln!(
        "{events} consent events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. Requests, as the privacy centre makes them.
    let started = Instant::now();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        metrics_listen: None,
        data_dir: dir.path().to_owned(),
        secret_key: Some("console-bench-secret-key-0123456789abcdef".into()),
        ..Settings::default()
    };
    settings.mail_dir = Some(dir.path().join("mail"));
    let service = ombud_server::request_service(&settings, &store, &policy.policy, version.id)?;
    let kinds = [
        RequestType::Access,
        RequestType::Erasure,
        RequestType::Rectification,
        RequestType::Objection,
        RequestType::Portability,
        RequestType::Restriction,
    ];
    for i in 0..requests {
        let kind = kinds[(i as usize) % kinds.len()];
        service
            .submit(Submission {
                kind,
                channel: Channel::Email,
                email: format!("person{i}@example.com"),
                name: None,
                lang: "en".to_owned(),
                received: None,
                details: Details {
                    purposes: if kind == RequestType::Objection {
                        vec!["website".to_owned()]
                    } else {
                        Vec::new()
                    },
                    corrections: (kind == RequestType::Rectification)
                        .then(|| "my name is spelt wrong".to_owned()),
                    ..Details::default()
                },
                actor: "bench".to_owned(),
            })
            .await
            .map_err(|e| anyhow::anyhow!("request {i}: {e:?}"))?;
    }
    eprintln!(
        "{requests} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. A privacy officer who can log in.
    let added = ombud_server::staff::add_user(
        &store,
        "http://127.0.0.1",
        "officer@impero.test",
        Role::PrivacyOfficer,
        "bench",
    )
    .await?;
    let phc = ombud_server::staff::password::hash(PASSWORD)?;
    store.set_password_hash(added.user.id, &phc).await?;
    store.set_totp(added.user.id, SECRET).await?;

    // 4. The server, in this process.
    let listeners = Listeners::bind(&settings).await?;
    let address = format!("http://{}", listeners.public.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_store = store.clone();
    let server = tokio::spawn(async move {
        ombud_server::start(&settings, server_store, policy, listeners, async {
            let _ = stopped.await;
        })
        .await
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let code = totp::code_at(SECRET, Timestamp::now().as_second()).context("code")?;
    let login = client
        .post(format!("{address}/console/login"))
        .form(&[
            ("email", "officer@impero.test"),
            ("password", PASSWORD),
            ("code", &code),
        ])
        .send()
        .await?;
    ensure!(login.status() == 303, "login: {}", login.status());
    let cookie = login.headers()["set-cookie"]
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let some = store
        .list_requests(&ombud_store::RequestFilter {
            limit: 1,
            ..Default::default()
        })
        .await?;
    let reference = some
        .first()
        .map(|r| r.reference.clone())
        .unwrap_or_default();

    let pages = [
        ("dashboard", "/console".to_owned()),
        ("inbox (open, by due date)", "/console/requests".to_owned()),
        (
            "inbox (all, newest, page 2)",
            format!(
                "/console/requests?show=all&sort=newest&after={}",
                requests / 2
            ),
        ),
        (
            "inbox (erasure, overdue)",
            "/console/requests?kind=erasure&due=overdue".to_owned(),
        ),
        ("request page", format!("/console/requests/{reference}")),
        (
            "consent lookup (visitor)",
            format!(
                "/console/consent?kind=visitor&value={}",
                hex::encode(7u128.to_be_bytes())
            ),
        ),
        ("audit log (newest page)", "/console/audit".to_owned()),
        ("policy versions", "/console/policy".to_owned()),
        ("data map", "/console/datamap".to_owned()),
    ];
    println!("| page | median | p95 |");
    println!("|---|---|---|");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(reps);
        for i in 0..=reps {
            let t = Instant::now();
            let r = client
                .get(format!("{address}{path}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let _ = r.bytes().await?;
            ensure!(status == 200, "{path}: {status}");
            if i > 0 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {:.1} ms | {:.1} ms |",
            ms(times[times.len() / 2]),
            ms(times[(times.len() * 95 / 100).min(times.len() - 1)])
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    Ok(())
}
