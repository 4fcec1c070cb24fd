//! The cookie banner and the privacy centre in a real browser: Debian's Chromium, driven by playwright-core from the
//! node:test suite in `tests/browser/`, against the real `ombud serve` with the example policy.
//!
//! Two phases, two servers on one database:
//! 1. `ombud serve` with `examples/impero`; every test file runs (`node --test tests/browser/`).
//! 2. The same data folder with a copy of the policy whose cookie section changed (one
//!    cookie's duration), which is a new policy version and a new banner revision; only
//!    `policy-change.test.mjs` runs, and checks that the banner asks again.
//!
//! What it needs beyond the machine (`scripts/install-test-deps` installs both): Debian's
//! `/usr/bin/chromium` and `tests/browser/node_modules`. Without them this test fails; it never
//! skips.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const TOKEN: &str = "browser-test-token-7f3a9c2e41d8";
/// Keys the identity codes of the privacy centre tests.
const SECRET_KEY: &str = "browser-test-secret-key-0c5e8b1d9a7f4e2c";
/// The change that makes phase 2's policy a new version of the cookie section.
const COOKIE_CHANGE: (&str, &str) = ("duration: 13 months", "duration: 12 months");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `ombud serve` on a free loopback port; killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
    /// Where the server writes the e-mails it sends (no SMTP relay is configured).
    mail_dir: PathBuf,
}

impl Server {
    fn start(policy: &Path, data_dir: &Path, log: PathBuf) -> Server {
        // A free port: bind to port 0, note the port, let it go. Another process could take
        // it in between; then ombud exits at once and `wait_healthy` says so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let out = File::create(&log).expect("server log");
        let err = out.try_clone().expect("server log");
        // The data map's trial database, as `ombud demo` makes it, so requests run for real.
        let trial_db = tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(ombud_connect::seed_sqlite(
                &data_dir.join("trial_db.sqlite"),
                ombud_policy::example::IMPERO_TRIAL_DB_SQL,
            ))
            .expect("the trial database");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ombud"));
        // Only what this test sets: no OMBUD_* setting of the caller's environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OMBUD_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(["serve", "--policy"])
            .arg(policy)
            .args(["--listen", &listen, "--metrics-listen", "off", "--data-dir"])
            .arg(data_dir)
            .env("OMBUD_API_TOKEN", TOKEN)
            .env("OMBUD_SECRET_KEY", SECRET_KEY)
            .env("OMBUD_CONNECTION_TRIAL_DB", trial_db)
            .env("OMBUD_MAIL_DIR", data_dir.join("mail"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start ombud serve");
        let mut server = Server {
            child,
            url: format!("http://{listen}"),
            log,
            mail_dir: data_dir.join("mail"),
        };
        server.wait_healthy(&listen);
        server
    }

    fn wait_healthy(&mut self, listen: &str) {
        let addr: SocketAddr = listen.parse().expect("listen address");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll ombud serve") {
                panic!(
                    "ombud serve exited ({status}) before it answered /healthz:\n{}",
                    self.log_text()
                );
            }
            if healthz(addr) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ombud serve did not answer /healthz within 30 s:\n{}",
                self.log_text()
            );
            sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM (a graceful stop), and SIGKILL if it is not gone after 10 s.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        // Drop kills it.
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Does `GET /healthz` answer 200?
fn healthz(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// `node --test <files>` in the repository root against `server`; panics unless it passes.
/// node's output goes straight to this process's stdout and stderr, as it comes.
/// Adds a staff user with `ombud users add` on the server's data folder, as an operator
/// would, and returns the one-time setup link it prints.
fn add_staff(data_dir: &Path, email: &str, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["users", "add", email, "--role", role, "--data-dir"])
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ombud users add");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ombud users add failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| l.contains("/console/setup/"))
        .unwrap_or_else(|| panic!("no setup link in: {text}"))
        .trim()
        .to_owned()
}

fn node_test(
    server: &Server,
    phase: &str,
    state_dir: &Path,
    files: &[&str],
    env: &[(&str, String)],
) {
    let started = Instant::now();
    let status = Command::new("node")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("--test")
        .args(files)
        .current_dir(repo_root())
        .env("OMBUD_URL", &server.url)
        .env("OMBUD_API_TOKEN", TOKEN)
        .env("OMBUD_PHASE", phase)
        .env("OMBUD_STATE_DIR", state_dir)
        .env("OMBUD_MAIL_DIR", &server.mail_dir)
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .status()
        .expect("run node (Node.js 20 or later must be on PATH)");
    eprintln!(
        "browser tests, phase {phase}: {} in {:.1} s",
        if status.success() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    assert!(
        status.success(),
        "node --test {} (phase {phase}) failed: {status}; ombud's log:\n{}",
        files.join(" "),
        server.log_text()
    );
}

/// A copy of the example policy with one cookie's duration changed.
fn changed_policy(into: &Path) -> PathBuf {
    let dir = into.join("policy-v2");
    fs::create_dir_all(&dir).expect("policy copy folder");
    let mut changed = 0;
    for entry in fs::read_dir(repo_root().join("examples/impero")).expect("examples/impero") {
        let path = entry.expect("policy file").path();
        // The policy files; not the demo database's script in `demo/`.
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().expect("file name").to_owned();
        let mut text = fs::read_to_string(&path).expect("policy file");
        if name == "cookies.yaml" {
            changed = text.matches(COOKIE_CHANGE.0).count();
            text = text.replace(COOKIE_CHANGE.0, COOKIE_CHANGE.1);
        }
        fs::write(dir.join(name), text).expect("write policy copy");
    }
    assert_eq!(
        changed, 1,
        "examples/impero/cookies.yaml should have exactly one `{}`",
        COOKIE_CHANGE.0
    );
    dir
}

/// What the suite needs beyond this machine kind; a clear failure, never a skip.
fn require_dependencies() {
    let root = repo_root();
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(CHROMIUM.to_owned());
    }
    for module in ["playwright-core", "axe-core"] {
        let path = root.join("tests/browser/node_modules").join(module);
        if !path.exists() {
            missing.push(format!("tests/browser/node_modules/{module}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the browser tests need {}: run scripts/install-test-deps",
        missing.join(" and ")
    );
}

#[test]
fn cookie_banner_in_chromium() {
    require_dependencies();
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp folder");
    let data_dir = tmp.path().join("data");
    let state_dir = tmp.path().join("browser-state");
    fs::create_dir_all(&data_dir).expect("data folder");
    let example = repo_root().join("examples/impero");

    let server = Server::start(&example, &data_dir, tmp.path().join("serve-1.log"));
    let setup = [
        (
            "OMBUD_SETUP_ADMIN",
            add_staff(&data_dir, "officer@impero.test", "privacy_officer"),
        ),
        (
            "OMBUD_SETUP_VIEWER",
            add_staff(&data_dir, "viewer@impero.test", "viewer"),
        ),
    ];
    node_test(&server, "1", &state_dir, &["tests/browser/"], &setup);
    server.stop();

    let policy = changed_policy(tmp.path());
    let server = Server::start(&policy, &data_dir, tmp.path().join("serve-2.log"));
    node_test(
        &server,
        "2",
        &state_dir,
        &["tests/browser/policy-change.test.mjs"],
        &[],
    );
    server.stop();

    eprintln!(
        "browser tests: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}
