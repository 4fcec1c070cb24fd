//! Nothing acknowledged is lost: kill -9 the server while clients record consent, restart it,
//! and every acknowledged choice is in the ledger. (A small-scale run of the benchmark's
//! crash test, so it runs in CI.)

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn example() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/impero")
        .display()
        .to_string()
}

fn start(port: u16, data: &std::path::Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--policy",
            &example(),
            "--metrics-listen",
            "off",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .env_remove("OMBUD_CONFIG")
        .env("OMBUD_LOG_FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/healthz", "").is_none_or(|(status, _)| status != 200) {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// One HTTP/1.1 request on its own connection: `(status, body)`, or `None` if the connection
/// failed (the server is gone).
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn acknowledged_choices_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(port, dir.path());

    let loaded = ombud_policy::load(
        ombud_policy::example::impero(),
        jiff::civil::date(2026, 11, 29),
    )
    .unwrap();
    let rev = ombud_server::banner::cookie_revision(&loaded.policy);
    let (_, policy) = request(port, "GET", "/api/v1/policy", "").unwrap();
    let version = serde_json::from_str::<serde_json::Value>(&policy).unwrap()["version"]
        .as_i64()
        .unwrap();
    let body = serde_json::json!({ "version": version, "rev": rev,
        "choices": { "functional": false, "statistics": true, "marketing": false } })
    .to_string();

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (acknowledged, stop, body) = (acknowledged.clone(), stop.clone(), body.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match request(port, "POST", "/c/consent", &body) {
                        Some((200, receipt)) => {
                            let v: serde_json::Value = serde_json::from_str(&receipt).unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(v["visitor"].as_str().unwrap().to_owned());
                        }
                        Some((status, other)) => panic!("unexpected {status}: {other}"),
                        None => break,
                    }
                }
            })
        })
        .collect();

    // Let the load run, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(10);
    while acknowledged.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 300,
        "the load ran ({} acknowledged)",
        acknowledged.len()
    );

    // Restart on the same data: the database recovers, and every acknowledged choice is there.
    let mut server = start(port, dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let missing = runtime.block_on(async {
        let store = ombud_store::Store::open_sqlite(&dir.path().join("ombud.db"))
            .await
            .unwrap();
        let total = store.consent_event_count().await.unwrap();
        assert!(
            total >= 3 * acknowledged.len() as i64,
            "{total} events for {} acknowledged choices",
            acknowledged.len()
        );
        let mut missing = Vec::new();
        for v in &acknowledged {
            let subject = ombud_domain::consent::SubjectKey::visitor(v).unwrap();
            if store
                .consent_history(std::slice::from_ref(&subject), 0, 10)
                .await
                .unwrap()
                .len()
                != 3
            {
                missing.push(v.clone());
            }
        }
        store.close().await;
        missing
    });
    assert!(
        missing.is_empty(),
        "{} acknowledged choices are missing after kill -9",
        missing.len()
    );
    let (status, _) = request(port, "POST", "/c/consent", &body).unwrap();
    assert_eq!(status, 200, "the restarted server records again");
    server.kill().unwrap();
    server.wait().unwrap();
}
