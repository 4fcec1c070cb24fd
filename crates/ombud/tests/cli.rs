//! The `ombud` binary as a user runs it: exit codes, messages with file, line and column, and
//! the outputs of the policy commands, `deadline` and `audit verify`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ombud(args: &[&str]) -> Output {
    ombud_with(args, &[])
}

fn ombud_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(args)
        .env_remove("OMBUD_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("run ombud")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/impero")
        .display()
        .to_string()
}

/// A copy of the example in a temp folder, with `from` replaced by `to` in `file`.
fn broken_copy(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(example()).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == file {
            assert!(text.contains(from));
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let path = dir.path().to_path_buf();
    (dir, path)
}

#[test]
fn check_passes_on_the_example_with_warnings() {
    let out = ombud(&["policy", "check", &example(), "--today", "2026-11-29"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains(": valid, 0 error(s), "), "{text}");
    assert!(
        text.contains("warning[no-legal-basis]: purpose `events`"),
        "{text}"
    );
    assert!(text.contains("purposes.yaml:"), "{text}");
}

#[test]
fn check_with_deny_warnings_fails_on_the_example() {
    let out = ombud(&["policy", "check", &example(), "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_fails_with_file_line_and_column() {
    let (_dir, path) = broken_copy(
        "recipients.yaml",
        "    role: processor\n",
        "    role: procesor\n",
    );
    let out = ombud(&["policy", "check", path.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let file = path.join("recipients.yaml").display().to_string();
    assert!(text.contains(&format!("--> {file}:11:11")), "{text}");
    assert!(text.contains("unknown recipient role `procesor`"), "{text}");
    assert!(text.contains(": invalid, 1 error(s)"), "{text}");
}

#[test]
fn check_reports_a_missing_path_clearly() {
    let out = ombud(&["policy", "check", "/no/such/policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/policy"), "{}", stderr(&out));
}

#[test]
fn render_and_ropa_write_their_formats() {
    let md = ombud(&["policy", "render", &example(), "--format", "md"]);
    assert!(md.status.success());
    assert!(stdout(&md).starts_with("# Privacy and cookie policy\n"));
    let html = ombud(&["policy", "render", &example(), "--format", "html"]);
    assert!(stdout(&html).starts_with("<!doctype html>"));
    let csv = ombud(&["ropa", &example(), "--format", "csv"]);
    assert!(csv.status.success());
    // A header and one row per purpose (rows may span lines inside quotes, so count records).
    let records = csv::Reader::from_reader(csv.stdout.as_slice())
        .records()
        .count();
    assert_eq!(records, 15);
    let json = ombud(&["ropa", &example(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["activities"].as_array().unwrap().len(), 15);
}

#[test]
fn render_refuses_a_broken_policy() {
    let (_dir, path) = broken_copy(
        "purposes.yaml",
        "retention: office_visits",
        "retention: office_visit",
    );
    let out = ombud(&["policy", "render", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `office_visits`?"),
        "{}",
        stderr(&out)
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is rendered from a broken policy"
    );
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = ombud(&["policy", "schema"]);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/policy.schema.json"),
    )
    .unwrap();
    assert_eq!(stdout(&out), committed);
}

/// (promised, legal, extended) for a request received on `received`.
fn deadline(received: &str) -> (String, String, String) {
    let out = ombud(&["deadline", &example(), "--received", received, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    (s("promised"), s("legal"), s("legal_extended"))
}

#[test]
fn deadlines_across_easter() {
    // Skærtorsdag 2 Apr, Langfredag 3 Apr and 2. påskedag 6 Apr 2026 are skipped.
    assert_eq!(
        deadline("2026-03-31"),
        (
            "2026-04-14".into(),
            "2026-04-30".into(),
            "2026-06-30".into()
        )
    );
}

#[test]
fn deadlines_across_christmas_and_new_year() {
    // 24 and 31 Dec are closing days of the example; 25, 26 Dec and 1 Jan are public holidays.
    // The legal dates ignore closing days; 22 Mar 2026 is a Sunday, so the extension ends Monday.
    assert_eq!(
        deadline("2025-12-22"),
        (
            "2026-01-07".into(),
            "2026-01-22".into(),
            "2026-03-23".into()
        )
    );
}

#[test]
fn deadlines_at_month_ends() {
    // 31 Jan + 1 month is the last day of February; 28 Feb 2026 is a Saturday.
    assert_eq!(
        deadline("2026-01-31"),
        (
            "2026-02-10".into(),
            "2026-03-02".into(),
            "2026-04-28".into()
        )
    );
    // 2024 is a leap year: 29 Feb 2024 is a Thursday.
    assert_eq!(deadline("2024-01-31").1, "2024-02-29");
}

#[test]
fn deadlines_around_the_store_bededag_change() {
    // Store Bededag, Friday 5 May 2023, was still a holiday ...
    assert_eq!(deadline("2023-04-27").0, "2023-05-09");
    // ... and its 2024 date, Friday 26 April, is an ordinary working day.
    assert_eq!(deadline("2024-04-18").0, "2024-04-29");
}

#[test]
fn deadline_text_names_the_holidays() {
    let out = ombud(&["deadline", &example(), "--received", "2026-03-31"]);
    let text = stdout(&out);
    assert!(
        text.contains("Promised (policy):   2026-04-14 (Tuesday)"),
        "{text}"
    );
    assert!(text.contains("Langfredag"), "{text}");
}

#[test]
fn deadline_refuses_a_bad_date() {
    let out = ombud(&["deadline", &example(), "--received", "2026-02-30"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--received `2026-02-30` is not a date"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn audit_verify_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ombud.db");
    let url = format!("sqlite://{}", db.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = ombud_store::Store::open_sqlite(&db).await.unwrap();
        for i in 0..5 {
            let details = format!("{{\"n\":{i}}}");
            let e = ombud_store::NewAuditEntry {
                actor: "test",
                action: "test.event",
                subject: "thing:1",
                details: &details,
            };
            store.append_audit(e).await.unwrap();
        }
        store.close().await;
    });
    let ok = ombud(&["audit", "verify", "--database-url", &url]);
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    assert!(
        stdout(&ok).contains("5 entries verified"),
        "{}",
        stdout(&ok)
    );

    runtime.block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let broken = ombud(&["audit", "verify", "--database-url", &url]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("entry 3: content does not match its hash"),
        "{}",
        stdout(&broken)
    );
}

/// A GET over a plain TCP connection; returns the status line and the body.
fn http_get(addr: &str, path: &str) -> Result<(String, String), std::io::Error> {
    let (status, _, body) = http(addr, "GET", path, None)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One HTTP/1.1 exchange: the status line, the head and the body's bytes. `form` is sent as
/// `application/x-www-form-urlencoded`.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> Result<(String, String, Vec<u8>), std::io::Error> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    let body = form.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut body = response.get(split + 4..).unwrap_or_default().to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Ok((head.lines().next().unwrap_or("").to_owned(), head, body))
}

/// The body of a chunked HTTP/1.1 response.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("a hex chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Waits for a mail in the demo's mail folder containing `needle`; returns its text.
fn mail_containing(dir: &std::path::Path, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(needle) {
                    return text;
                }
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail with {needle:?} in {}",
            dir.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn demo_serves_the_notice_and_stops_on_sigterm() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("OMBUD_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.trim().strip_prefix("Privacy notice") {
            addr = Some(
                url.trim()
                    .trim_start_matches("http://")
                    .trim_end_matches("/privacy")
                    .to_owned(),
            );
            break;
        }
    }
    // Keep reading, so the demo never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = addr.expect("the demo prints the URL of the notice");
    let log = || std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    let (status, body) =
        http_get(&addr, "/privacy").unwrap_or_else(|e| panic!("GET /privacy: {e}\n{}", log()));
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("Impero A/S") && body.contains("Datatilsynet"),
        "{body}"
    );
    let (status, _) =
        http_get(&addr, "/healthz").unwrap_or_else(|e| panic!("GET /healthz: {e}\n{}", log()));
    assert!(status.contains("200"), "{status}");
    assert!(
        dir.path().join("ombud.db").exists(),
        "the demo keeps its data in the data folder"
    );

    // A newcomer asks for Ann's data in the privacy centre, enters the code from the mail
    // folder, and downloads the package of the demo database.
    let (status, head, _) = http(
        &addr,
        "POST",
        "/privacy-centre/requests",
        Some("kind=access&email=ann%40example.com&lang=en"),
    )
    .unwrap();
    assert!(status.contains("303"), "{status}\n{}", log());
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .expect("a redirect to the code page")
        .trim()
        .to_owned();
    let reference = location
        .split('/')
        .nth(3)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mail = dir.path().join("mail");
    let letter = mail_containing(&mail, &reference);
    let code = letter
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned();
    let (status, _, _) = http(
        &addr,
        "POST",
        &format!("/privacy-centre/verify/{reference}"),
        Some(&format!("code={code}&lang=en")),
    )
    .unwrap();
    assert!(status.contains("303"), "{status}");
    let letter = mail_containing(&mail, "/privacy-centre/packages/");
    let at = letter.find("/privacy-centre/packages/").unwrap();
    let link: String = letter[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (status, head, zip) = http(&addr, "GET", &link, None).unwrap();
    assert!(status.contains("200"), "{status}\n{}", log());
    assert!(head.to_lowercase().contains("application/zip"), "{head}");
    assert_eq!(&zip[..2], b"PK", "a ZIP package");
    assert!(dir.path().join("trial_db.sqlite").exists());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}

#[test]
fn consent_commands_read_the_ledger() {
    use ombud_domain::consent::{Method, SubjectKey, Target};
    let dir = data_dir_with_policy();
    let db = dir.path().join("ombud.db");
    let url = format!("sqlite://{}", db.display());
    runtime().block_on(async {
        let store = ombud_store::Store::open_sqlite(&db).await.unwrap();
        let version = store.current_policy().await.unwrap().unwrap().id;
        let ann = SubjectKey::parse("email:ann@example.com").unwrap();
        let event = |granted: bool, at: i64| ombud_store::NewConsentEvent {
            subject: ann.clone(),
            target: Target::parse("purpose:marketing").unwrap(),
            granted,
            method: Method::Form,
            policy_version: version,
            wording_hash: None,
            gpc: false,
            source: None,
            recorded_by: None,
            user_agent: None,
            ip_prefix: None,
            at: jiff::Timestamp::from_second(at).unwrap(),
            expires_at: None,
        };
        store
            .record_consent(&[event(true, 1_790_000_000), event(false, 1_790_000_100)])
            .await
            .unwrap();
        store.close().await;
    });
    let state = ombud(&[
        "consent",
        "state",
        "email:Ann@example.com",
        "--database-url",
        &url,
    ]);
    assert!(
        stdout(&state).contains("purpose:marketing") && stdout(&state).contains("refused"),
        "{}",
        stdout(&state)
    );
    let history = ombud(&[
        "consent",
        "history",
        "email:ann@example.com",
        "--database-url",
        &url,
    ]);
    assert_eq!(stdout(&history).lines().count(), 2, "{}", stdout(&history));
    let check = ombud(&[
        "consent",
        "check",
        "email:ann@example.com",
        "marketing",
        "--database-url",
        &url,
    ]);
    assert_eq!(check.status.code(), Some(1), "not allowed exits 1");
    assert!(
        stdout(&check).contains("marketing: not allowed (refused)"),
        "{}",
        stdout(&check)
    );
    let office = ombud(&[
        "consent",
        "check",
        "email:ann@example.com",
        "office_visitors",
        "--database-url",
        &url,
    ]);
    assert!(office.status.success(), "{}", stdout(&office));
    let csv = ombud(&[
        "consent",
        "export",
        "email:ann@example.com",
        "--format",
        "csv",
        "--database-url",
        &url,
    ]);
    assert_eq!(
        csv::Reader::from_reader(csv.stdout.as_slice())
            .records()
            .count(),
        2
    );
    let bad = ombud(&[
        "consent",
        "state",
        "ann@example.com",
        "--database-url",
        &url,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("kind:value"), "{}", stderr(&bad));
    let verify = ombud(&["audit", "verify", "--database-url", &url]);
    assert!(
        verify.status.success(),
        "the export was audited and the chain holds: {}",
        stdout(&verify)
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A data folder whose SQLite database has the example policy in force.
fn data_dir_with_policy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ombud.db");
    runtime().block_on(async {
        let store = ombud_store::Store::open_sqlite(&db).await.unwrap();
        let loaded = ombud_policy::load(
            ombud_policy::example::impero(),
            jiff::tz::TimeZone::UTC
                .to_datetime(jiff::Timestamp::now())
                .date(),
        )
        .unwrap();
        ombud_server::activate(&store, &loaded).await.unwrap();
        store.close().await;
    });
    dir
}

#[test]
fn request_commands_run_the_workflow() {
    let dir = data_dir_with_policy();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["request"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data]);
        ombud(&all)
    };
    let created = run(&[
        "create",
        "--kind",
        "erasure",
        "--email",
        "per@example.com",
        "--channel",
        "phone",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    let reference = stdout(&created)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(reference.starts_with("R-"), "{}", stdout(&created));
    assert!(
        stdout(&created).contains("received (phone)"),
        "{}",
        stdout(&created)
    );

    // Refused transitions exit non-zero with the reason, and change nothing.
    let early = run(&["complete", &reference]);
    assert!(!early.status.success());
    assert!(
        stderr(&early).contains("cannot be completed"),
        "{}",
        stderr(&early)
    );

    for step in [
        // Verifying an erasure queues its job and starts the request (the server's worker or
        // `ombud request execute` runs it).
        vec!["verify", &reference, "called the number on file"],
        vec!["extend", &reference, "Twelve systems to search"],
        vec!["complete", &reference, "--note", "erased"],
    ] {
        let o = run(&step);
        assert!(o.status.success(), "{step:?}: {}", stderr(&o));
    }
    let again = run(&["extend", &reference, "again"]);
    assert!(!again.status.success(), "a closed request is not extended");

    let show = run(&["show", &reference]);
    let text = stdout(&show);
    for expected in [
        "completed (phone)",
        "received -> verified",
        "verified -> in_progress",
        "jobs:",
        "erasure queued",
        "manual tasks:",
        "extended",
        "in_progress -> completed",
        "extension_notice",
        "completion",
        "cli:",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    let open = run(&["list", "--open"]);
    assert!(
        !stdout(&open).contains(&reference),
        "a completed request is not open"
    );
    let all = run(&["list"]);
    assert!(stdout(&all).contains(&reference));
}

#[test]
fn request_create_refuses_bad_input_and_stores_nothing() {
    let dir = data_dir_with_policy();
    let data = dir.path().to_str().unwrap();
    for (args, says) in [
        (vec!["--kind", "fly", "--email", "a@example.com"], "fly"),
        (
            vec!["--kind", "access", "--email", "not-an-address"],
            "e-mail",
        ),
        (
            vec![
                "--kind",
                "access",
                "--email",
                "a@example.com",
                "--received",
                "2026-02-30",
            ],
            "2026-02-30",
        ),
    ] {
        let mut all = vec!["request", "create"];
        all.extend(args);
        all.extend(["--data-dir", data]);
        let o = ombud(&all);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(says), "{says} in {}", stderr(&o));
    }
    let list = ombud(&["request", "list", "--data-dir", data]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(!stdout(&list).contains("R-"), "{}", stdout(&list));
}

#[test]
fn serve_refuses_a_broken_letter_template_or_unusable_smtp_settings() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("en")).unwrap();
    let refusal = ombud_mail::Letters::builtin_source(ombud_mail::LetterKind::Refusal, "en")
        .unwrap()
        .replacen("{{ reason }}", "{{ reason }}\n{{ controler.name }}", 1);
    std::fs::write(templates.join("en/refusal.txt"), refusal).unwrap();
    let serve = |env: &[(&str, &std::ffi::OsStr)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ombud"));
        cmd.args(["serve", "--policy", &example(), "--listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "off", "--data-dir"])
            .arg(dir.path().join("data"))
            .env_remove("OMBUD_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run ombud serve")
    };
    let broken = serve(&[("OMBUD_TEMPLATES_DIR", templates.as_os_str())]);
    assert!(!broken.status.success());
    let err = stderr(&broken);
    assert!(
        err.contains("refusal.txt") && err.contains("line") && err.contains("controler"),
        "{err}"
    );

    let smtp = serve(&[
        ("OMBUD_SMTP_HOST", "127.0.0.1".as_ref()),
        ("OMBUD_SMTP_USERNAME", "ombud".as_ref()),
    ]);
    assert!(!smtp.status.success());
    assert!(stderr(&smtp).contains("SMTP"), "{}", stderr(&smtp));
}

/// The example's trial database in `dir`, as `ombud demo` makes it; returns its URL.
fn trial_db(dir: &std::path::Path) -> String {
    runtime().block_on(async {
        ombud_connect::seed_sqlite(
            &dir.join("trial_db.sqlite"),
            ombud_policy::example::IMPERO_TRIAL_DB_SQL,
        )
        .await
        .unwrap()
    })
}

/// One text value of the trial database, read independently of ombud.
fn trial_value(url: &str, sql: &'static str) -> Option<String> {
    use sqlx::Connection as _;
    runtime().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let v: Option<String> = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
        c.close().await.unwrap();
        v
    })
}

#[test]
fn request_run_plan_execute_export_and_tasks_work_on_the_trial_database() {
    let dir = data_dir_with_policy();
    let data = dir.path().to_str().unwrap();
    let url = trial_db(dir.path());
    let env = [
        ("OMBUD_CONNECTION_TRIAL_DB", url.as_str()),
        (
            "OMBUD_SECRET_KEY",
            "cli-test-secret-0123456789abcdef-0123456789",
        ),
    ];
    let run = |args: &[&str]| {
        let mut all = vec!["request"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data]);
        ombud_with(&all, &env)
    };

    // Access in one shot: create, verify by staff decision, carry out, write the package.
    let out = dir.path().join("ann.zip");
    let access = run(&[
        "run",
        "--kind",
        "access",
        "--email",
        "ann@example.com",
        "--verified",
        "passport seen at reception",
        "--channel",
        "in_person",
        "--out",
        out.to_str().unwrap(),
        "--progress",
    ]);
    assert!(access.status.success(), "{}", stderr(&access));
    let said = stdout(&access);
    assert!(said.contains("trial_db:trial_user 1 found"), "{said}");
    assert!(said.contains("package of"), "{said}");
    let reference = said
        .split_whitespace()
        .find(|w| w.starts_with("R-"))
        .unwrap()
        .to_owned();
    let zip = std::fs::read(&out).unwrap();
    assert_eq!(&zip[..2], b"PK", "a ZIP");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut users = String::new();
    let name = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .find(|n| n.contains("trial_user") && n.ends_with(".json"))
        .expect("trial_user rows in the package");
    std::io::Read::read_to_string(&mut archive.by_name(&name).unwrap(), &mut users).unwrap();
    assert!(
        users.contains("Ann Example") && !users.contains("Bo Larsen"),
        "{users}"
    );

    // Staff can write the package again; the plan shows what would be read, reads only.
    let again = dir.path().join("again.zip");
    let export = run(&["export", &reference, "--out", again.to_str().unwrap()]);
    assert!(export.status.success(), "{}", stderr(&export));
    assert!(again.exists());
    let plan = run(&["plan", &reference]);
    let text = stdout(&plan);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(text.contains("trial_db:trial_user  1 rows"), "{text}");
    assert!(text.contains("erase in this order:"), "{text}");
    assert!(text.contains("manual tasks:"), "{text}");

    // Manual tasks hold the request open until ticked off.
    let tasks = run(&["tasks", &reference]);
    let listed = stdout(&tasks);
    let ids: Vec<String> = listed
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(!ids.is_empty(), "{listed}");
    for id in &ids {
        let done = run(&["task-done", &reference, id, "--note", "exported"]);
        assert!(done.status.success(), "{}", stderr(&done));
    }
    let show = run(&["show", &reference]);
    assert!(stdout(&show).contains("completed"), "{}", stdout(&show));
    let twice = run(&["task-done", &reference, &ids[0]]);
    assert!(!twice.status.success());

    // Rectification needs well-formed corrections; a bad one is refused and changes nothing.
    let bad = run(&[
        "run",
        "--kind",
        "rectification",
        "--email",
        "ann@example.com",
        "--verified",
        "call",
        "--set",
        "trial_user.job_title",
    ]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("system:collection.field=value"),
        "{}",
        stderr(&bad)
    );
    let fixed = run(&[
        "run",
        "--kind",
        "rectification",
        "--email",
        "ann@example.com",
        "--verified",
        "call",
        "--set",
        "trial_db:trial_user.job_title=Chief Audit Executive",
    ]);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    assert_eq!(
        trial_value(&url, "SELECT job_title FROM trial_user WHERE id = 1").as_deref(),
        Some("Chief Audit Executive")
    );
    assert_eq!(
        trial_value(&url, "SELECT full_name FROM trial_user WHERE id = 1").as_deref(),
        Some("Ann Example")
    );

    // Erasure, then the same erasure again: the second changes nothing more.
    for round in 0..2 {
        let erase = run(&[
            "run",
            "--kind",
            "erasure",
            "--email",
            "ann@example.com",
            "--verified",
            "call",
        ]);
        assert!(erase.status.success(), "{}", stderr(&erase));
        let said = stdout(&erase);
        if round == 0 {
            assert!(
                said.contains("trial_db:trial_user 1 found, 1 changed"),
                "{said}"
            );
        } else {
            assert!(
                said.contains("trial_db:trial_user 0 found"),
                "the erased e-mail finds nothing: {said}"
            );
        }
        assert_eq!(
            trial_value(&url, "SELECT full_name FROM trial_user WHERE id = 1").as_deref(),
            Some("erased")
        );
    }
    assert_eq!(
        trial_value(&url, "SELECT full_name FROM trial_user WHERE id = 2").as_deref(),
        Some("Bo Larsen")
    );

    let unknown = run(&["execute", "R-0000-0000-0000"]);
    assert!(!unknown.status.success());
}

#[test]
fn datamap_discover_check_and_import_fides() {
    let dir = tempfile::tempdir().unwrap();
    let url = trial_db(dir.path());

    // A draft from the live database, with proposed identities and references.
    let draft = ombud(&["datamap", "discover", &url, "--system", "trial_db"]);
    assert!(draft.status.success(), "{}", stderr(&draft));
    let text = stdout(&draft);
    assert!(text.starts_with("systems:\n"), "{text}");
    for expected in [
        "trial_db:",
        "connector: sqlite",
        "trial_user:",
        "identity: email",
        "direction: from",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    // The URL may come from the configuration instead of the command line.
    let by_name = ombud_with(
        &["datamap", "discover", "--connection", "trial_db"],
        &[("OMBUD_CONNECTION_TRIAL_DB", url.as_str())],
    );
    assert!(by_name.status.success(), "{}", stderr(&by_name));
    assert_eq!(stdout(&by_name), text);

    // The example's map fits the demo database...
    let env = [("OMBUD_CONNECTION_TRIAL_DB", url.as_str())];
    let fits = ombud_with(&["datamap", "check", "../../examples/impero"], &env);
    assert!(fits.status.success(), "{}{}", stdout(&fits), stderr(&fits));
    assert!(stdout(&fits).contains("trial_db: fits the database"));
    // A NULL erasure of a NOT NULL column is found before any erasure fails on it.
    let copy = dir.path().join("policy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir("../../examples/impero").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap().replace(
                "full_name: {categories: [user.name], erase: {fixed: erased}, type: text}",
                "full_name: {categories: [user.name], erase: null, type: text}",
            );
            std::fs::write(copy.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let nulls = ombud_with(&["datamap", "check", copy.to_str().unwrap()], &env);
    assert_eq!(nulls.status.code(), Some(1), "{}", stderr(&nulls));
    assert!(
        stdout(&nulls).contains("\"full_name\" of table \"trial_user\" is NOT NULL"),
        "{}",
        stdout(&nulls)
    );
    // ...and a missing column, a missing connection or an unreachable database is reported.
    runtime().block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("ALTER TABLE support_ticket DROP COLUMN body")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let drifted = ombud_with(&["datamap", "check", "../../examples/impero"], &env);
    assert_eq!(drifted.status.code(), Some(1));
    assert!(
        stdout(&drifted).contains("support_ticket") && stdout(&drifted).contains("body"),
        "{}",
        stdout(&drifted)
    );
    let unset = ombud(&["datamap", "check", "../../examples/impero"]);
    assert_eq!(unset.status.code(), Some(1));
    assert!(
        stdout(&unset).contains("OMBUD_CONNECTION_TRIAL_DB"),
        "{}",
        stdout(&unset)
    );
    let gone = ombud_with(
        &["datamap", "check", "../../examples/impero"],
        &[(
            "OMBUD_CONNECTION_TRIAL_DB",
            "sqlite:///nonexistent/trial.db",
        )],
    );
    assert_eq!(gone.status.code(), Some(1));

    // A Fides dataset converts; a broken one is refused with file, line and column.
    let fides = ombud(&[
        "datamap",
        "import-fides",
        "../policy/tests/fixtures/chinook.fides.yml",
        "--connector",
        "sqlite",
    ]);
    assert!(fides.status.success(), "{}", stderr(&fides));
    let converted = stdout(&fides);
    assert!(
        converted.contains("connector: sqlite") && converted.contains("Customer:"),
        "{converted}"
    );
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "dataset:\n  - fides_key: x\n    collections:\n      - fields: []\n",
    )
    .unwrap();
    let refused = ombud(&["datamap", "import-fides", broken.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("broken.yml:4:9"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn users_add_prints_a_one_time_setup_link_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let users = |args: &[&str]| {
        let mut all = vec!["users"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data]);
        all.extend_from_slice(&["--public-url", "https://privacy.example.com"]);
        ombud(&all)
    };

    let added = users(&["add", "Ann@Impero.com", "--role", "admin"]);
    let text = stdout(&added);
    assert!(added.status.success(), "{text}{}", stderr(&added));
    assert!(text.contains("added ann@impero.com as admin"), "{text}");
    let link = text
        .lines()
        .find(|l| l.starts_with("https://privacy.example.com/console/setup/"))
        .unwrap_or_else(|| panic!("no setup link in {text}"));
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 64, "{link}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{link}");

    // The token is stored hashed: it appears nowhere in the database files.
    for entry in std::fs::read_dir(data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(!found, "the setup token is stored in the clear");
    }

    // Bad input exits non-zero with a clear message and stores nothing.
    for (args, message) in [
        (
            vec!["add", "ann@IMPERO.com", "--role", "viewer"],
            "exists already",
        ),
        (
            vec!["add", "ann", "--role", "viewer"],
            "not an e-mail address",
        ),
        (
            vec!["add", "bo@impero.com", "--role", "root"],
            "use one of admin, privacy_officer, viewer",
        ),
    ] {
        let out = users(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stdout(&out).contains("/console/setup/"), "{args:?}");
    }

    let list = users(&["list"]);
    let text = stdout(&list);
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(text.lines().count(), 2, "a header and one user: {text}");
    assert!(
        text.contains("ann@impero.com") && text.contains("admin") && text.contains("setup pending"),
        "{text}"
    );

    // A reset prints a new link; an unknown address is refused.
    let reset = users(&["reset", "ann@impero.com"]);
    let text = stdout(&reset);
    assert!(reset.status.success(), "{text}{}", stderr(&reset));
    let new_link = text
        .lines()
        .find(|l| l.starts_with("https://privacy.example.com/console/setup/"))
        .unwrap_or_else(|| panic!("no setup link in {text}"));
    assert_ne!(new_link, link);
    let unknown = users(&["reset", "nobody@impero.com"]);
    assert_ne!(unknown.status.code(), Some(0));
    assert!(
        stderr(&unknown).contains("no staff user"),
        "{}",
        stderr(&unknown)
    );

    // Two audit entries: the creation of the user and the reset.
    let verify = ombud(&["audit", "verify", "--data-dir", data]);
    assert!(
        stdout(&verify).contains("intact: 2 entries verified"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn keys_rotate_moves_totp_secrets_and_packages_to_the_new_key() {
    use ombud_domain::staff::{Role, totp};
    use ombud_store::{KeyId, Keyring};

    const PASSWORD: &str = "correct horse battery staple";
    const SECRET: &[u8; 20] = b"12345678901234567890";
    let dir = data_dir_with_policy();
    let data = dir.path().to_str().unwrap();
    let db = dir.path().join("ombud.db");
    let url = trial_db(dir.path());
    let (a_hex, b_hex) = ("a1".repeat(32), "b2".repeat(32));
    let (a, b) = ([0xa1u8; 32], [0xb2u8; 32]);
    let (a_id, b_id) = (KeyId::of(&a).to_string(), KeyId::of(&b).to_string());
    let with = |args: &[&str], keys: &[(&str, &str)]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--data-dir", data]);
        let mut env = vec![("OMBUD_CONNECTION_TRIAL_DB", url.as_str())];
        env.extend_from_slice(keys);
        ombud_with(&all, &env)
    };
    let only_a = [("OMBUD_ENCRYPTION_KEY", a_hex.as_str())];
    let b_then_a = [
        ("OMBUD_ENCRYPTION_KEY", b_hex.as_str()),
        ("OMBUD_PREVIOUS_ENCRYPTION_KEYS", a_hex.as_str()),
    ];
    let only_b = [("OMBUD_ENCRYPTION_KEY", b_hex.as_str())];

    // Under key A: a package, made by carrying out an access request...
    let first = dir.path().join("first.zip");
    let access = with(
        &[
            "request",
            "run",
            "--kind",
            "access",
            "--email",
            "ann@example.com",
            "--verified",
            "passport seen",
            "--channel",
            "in_person",
            "--out",
            first.to_str().unwrap(),
        ],
        &only_a,
    );
    assert!(access.status.success(), "{}", stderr(&access));
    let reference = stdout(&access)
        .split_whitespace()
        .find(|w| w.starts_with("R-"))
        .unwrap()
        .to_owned();
    // ...and a staff member's TOTP secret, set as the console's enrolment sets it.
    let user_id = runtime().block_on(async {
        let store = ombud_store::Store::open_sqlite(&db).await.unwrap();
        store.set_keyring(Keyring::new(&a, []).unwrap());
        let added = ombud_server::staff::add_user(
            &store,
            "http://localhost",
            "ann@impero.com",
            Role::Admin,
            "test",
        )
        .await
        .unwrap();
        let phc = ombud_server::staff::password::hash(PASSWORD).unwrap();
        store.set_password_hash(added.user.id, &phc).await.unwrap();
        store.set_totp(added.user.id, SECRET).await.unwrap();
        store.close().await;
        added.user.id
    });
    let packages: Vec<_> = std::fs::read_dir(dir.path().join("packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(packages.len(), 1, "{packages:?}");
    let package = std::fs::read(&packages[0]).unwrap();
    assert_eq!(
        &package[9..17],
        KeyId::of(&a).as_bytes(),
        "the header names A"
    );

    let check = with(&["keys", "check"], &only_a);
    let text = stdout(&check);
    assert!(check.status.success(), "{text}{}", stderr(&check));
    assert!(
        text.contains(&format!(
            "{a_id}             1         1  current (encryption_key)"
        )),
        "{text}"
    );
    assert!(
        text.contains("everything is under the current key"),
        "{text}"
    );

    // B becomes the current key, A a previous one: A still opens what it sealed.
    let check = with(&["keys", "check"], &b_then_a);
    let text = stdout(&check);
    assert!(check.status.success(), "{text}{}", stderr(&check));
    assert!(
        text.contains(&format!("{b_id}             0         0  current")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{a_id}             1         1  previous")),
        "{text}"
    );
    assert!(text.contains("run `ombud keys rotate`"), "{text}");

    let rotate = with(&["keys", "rotate"], &b_then_a);
    let text = stdout(&rotate);
    assert!(rotate.status.success(), "{text}{}", stderr(&rotate));
    assert!(text.contains(&format!("current key {b_id}")), "{text}");
    assert!(
        text.contains("TOTP secrets: 1 sealed again, 0 already under the current key"),
        "{text}"
    );
    assert!(
        text.contains("export packages: 1 re-encrypted, 0 already under the current key, 0 missing on disk, 0 failed"),
        "{text}"
    );
    // Idempotent.
    let again = with(&["keys", "rotate"], &b_then_a);
    let text = stdout(&again);
    assert!(again.status.success(), "{text}{}", stderr(&again));
    assert!(
        text.contains("TOTP secrets: 0 sealed again, 1 already under the current key"),
        "{text}"
    );
    assert!(
        text.contains("export packages: 0 re-encrypted, 1 already"),
        "{text}"
    );

    let check = with(&["keys", "check"], &b_then_a);
    let text = stdout(&check);
    assert!(check.status.success(), "{text}{}", stderr(&check));
    assert!(
        text.contains(&format!("{a_id}             0         0  previous")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{b_id}             1         1  current")),
        "{text}"
    );
    assert!(text.contains("holds nothing any more"), "{text}");

    // Now B alone is needed: the package still decrypts, and the login still verifies the code.
    let check = with(&["keys", "check"], &only_b);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(stdout(&check).contains("everything is under the current key"));
    let second = dir.path().join("second.zip");
    let export = with(
        &[
            "request",
            "export",
            &reference,
            "--out",
            second.to_str().unwrap(),
        ],
        &only_b,
    );
    assert!(export.status.success(), "{}", stderr(&export));
    assert_eq!(
        std::fs::read(&second).unwrap(),
        std::fs::read(&first).unwrap()
    );
    let refused = with(
        &[
            "request",
            "export",
            &reference,
            "--out",
            dir.path().join("third.zip").to_str().unwrap(),
        ],
        &only_a,
    );
    assert!(!refused.status.success(), "A alone no longer opens it");
    assert!(stderr(&refused).contains(&b_id), "{}", stderr(&refused));
    runtime().block_on(async {
        let store = ombud_store::Store::open_sqlite(&db).await.unwrap();
        store.set_keyring(Keyring::new(&b, []).unwrap());
        let now = jiff::Timestamp::now();
        let code = totp::code_at(SECRET, now.as_second()).unwrap();
        let session =
            ombud_server::staff::login::login(&store, "ann@impero.com", PASSWORD, &code, now)
                .await
                .expect("the login verifies the TOTP code under key B alone");
        assert_eq!(session.user.id, user_id);
        let rotated: Vec<_> = store
            .audit_page(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "keys.rotated")
            .collect();
        assert_eq!(rotated.len(), 2, "one audit entry per rotation");
        assert_eq!(rotated[0].subject, format!("key:{b_id}"));
        assert!(
            rotated[0].details.contains("\"totp_resealed\":1"),
            "{}",
            rotated[0].details
        );
        store.close().await;
    });
    let verify = with(&["audit", "verify"], &only_b);
    assert!(verify.status.success(), "{}", stdout(&verify));
}

#[test]
fn tokens_add_prints_the_token_once_and_list_and_revoke_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let tokens = |args: &[&str]| {
        let mut all = vec!["tokens"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data]);
        ombud(&all)
    };

    // Bad input exits 2 with a clear message, prints no token and stores nothing.
    for (args, message) in [
        (
            vec!["add", "crm", "--scope", "write"],
            "`write` is not a scope",
        ),
        (vec!["add", " ", "--scope", "read"], "needs a name"),
        (vec!["add", "crm"], "--scope"),
    ] {
        let out = tokens(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }

    let added = tokens(&[
        "add",
        "crm sync",
        "--scope",
        "read",
        "--scope",
        "consent:write",
    ]);
    assert!(added.status.success(), "{}", stderr(&added));
    let text = stdout(&added);
    assert_eq!(text.lines().count(), 1, "only the token on stdout: {text}");
    let token = text.trim();
    assert!(token.starts_with("ombud_"), "{token}");
    assert_eq!(token.len(), "ombud_".len() + 64, "{token}");
    let notes = stderr(&added);
    assert!(notes.contains("added API token 1 \"crm sync\""), "{notes}");
    assert!(notes.contains("shown once"), "{notes}");
    assert!(!notes.contains(token), "the token is printed once");

    // Stored hashed: the token appears nowhere in the database files.
    for entry in std::fs::read_dir(data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(!found, "the API token is stored in the clear");
    }

    let list = tokens(&["list"]);
    let text = stdout(&list);
    assert!(list.status.success(), "{}", stderr(&list));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one token: {text}");
    for column in ["id", "name", "scopes", "created", "last used", "revoked"] {
        assert!(lines[0].contains(column), "{text}");
    }
    assert!(
        lines[1].contains("crm sync")
            && lines[1].contains("read consent:write")
            && lines[1].contains("never")
            && lines[1].trim_end().ends_with('-'),
        "{text}"
    );
    assert!(!text.contains(token));

    let revoked = tokens(&["revoke", "1"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(stdout(&revoked).contains("revoked API token 1"));
    let again = tokens(&["revoke", "1"]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("revoked already"),
        "{}",
        stdout(&again)
    );
    let unknown = tokens(&["revoke", "9"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no API token 9"),
        "{}",
        stderr(&unknown)
    );
    let list = stdout(&tokens(&["list"]));
    assert!(
        !list.lines().nth(1).unwrap().trim_end().ends_with('-'),
        "{list}"
    );

    // Two audit entries: the creation and the revocation.
    let verify = ombud(&["audit", "verify", "--data-dir", data]);
    assert!(
        stdout(&verify).contains("intact: 2 entries verified"),
        "{}",
        stdout(&verify)
    );
}
