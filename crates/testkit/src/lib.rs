//! Test helpers for ombud's crates. Dev-only: never a dependency of a shipped crate.
//!
//! [`SmtpSink`] runs a real SMTP server on loopback (Python's `aiosmtpd`, installed by
//! `scripts/install-test-deps`) that stores every message in a Maildir, and reads them back
//! as [`SentMail`]s:
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! let sink = ombud_testkit::SmtpSink::start();
//! let mailer = ombud_mail::Mailer::new(&ombud_testkit::smtp_settings(sink.port())).unwrap();
//! // … send …
//! let mails = sink.wait_for(1, Duration::from_secs(10)).await;
//! assert!(mails[0].text.contains("123456"));
//! # }
//! ```
//!
//! [`scratch`] creates a fresh, uniquely named database on the test PostgreSQL or MariaDB
//! server ([`admin_url`]: `OMBUD_TEST_POSTGRES_URL`, `OMBUD_TEST_MYSQL_URL`, else root on
//! 127.0.0.1), or a SQLite file in a temporary folder; [`load_chinook`] loads the Chinook
//! sample into it, whose names [`chinook_name`] spells for the backend. Run the test body as a
//! task, drop the database whatever happened, then re-raise the body's panic with [`resume`]:
//!
//! ```no_run
//! # async fn demo() {
//! use ombud_testkit::{Backend, load_chinook, resume, scratch};
//! let db = scratch(Backend::Postgres, "ombud_demo").await;
//! let url = db.url().to_owned();
//! let outcome = tokio::spawn(async move {
//!     load_chinook(Backend::Postgres, &url).await;
//!     // … the test …
//! })
//! .await;
//! let dropped = db.drop_database().await;
//! resume(outcome);
//! dropped.expect("dropping the test database");
//! # }
//! ```

mod databases;

pub use databases::{
    Backend, Scratch, admin_url, chinook_name, execute, load_chinook, resume, scratch, unique_name,
    with_database,
};

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// SMTP settings for a sink on loopback: no TLS, no login, sender
/// `Privacy <privacy@example.test>`, 10 s timeout.
pub fn smtp_settings(port: u16) -> ombud_mail::SmtpSettings {
    ombud_mail::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: ombud_mail::SmtpSecurity::None,
        username: None,
        password: None,
        from: "Privacy <privacy@example.test>".into(),
        timeout: Duration::from_secs(10),
    }
}

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The envelope recipients (`RCPT TO`), bare addresses.
    pub to: Vec<String>,
    /// The `From` header, decoded, e.g. `Privacy <privacy@example.test>`.
    pub from: String,
    /// The envelope sender (`MAIL FROM`), a bare address.
    pub envelope_from: String,
    /// The `Subject` header, decoded (RFC 2047 words become text).
    pub subject: String,
    /// The body, decoded from quoted-printable or base64 and its charset, with `\n` line ends
    /// and exactly one `\n` at the end (SMTP framing leaves a varying number there).
    pub text: String,
    /// Every header in order, values decoded. Includes the sink's own `X-MailFrom`,
    /// `X-RcptTo` and `X-Peer`.
    pub headers: Vec<(String, String)>,
}

impl SentMail {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An `aiosmtpd` process on `127.0.0.1:<free port>` storing mail in a temporary Maildir.
/// The process is killed and the Maildir removed when the sink is dropped.
pub struct SmtpSink {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("port", &self.port)
            .field("maildir", &self.maildir.path())
            .finish()
    }
}

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `python3`, seeing the packages `scripts/install-test-deps` put in the repository's
/// `.test-deps/python` (installed there so the system's Python is left alone).
fn python() -> Command {
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.test-deps/python");
    let mut path = std::ffi::OsString::from(local);
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        path.push(":");
        path.push(existing);
    }
    let mut command = Command::new("python3");
    command.env("PYTHONPATH", path);
    command
}

impl SmtpSink {
    /// Starts the server and waits until it greets on its port.
    ///
    /// # Panics
    /// When `python3` or its `aiosmtpd` module is missing (run `scripts/install-test-deps`),
    /// or when the server does not come up.
    pub fn start() -> SmtpSink {
        let check = python()
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match check {
            Ok(status) if status.success() => {}
            Ok(_) => panic!(
                "the Python package aiosmtpd is missing (python3 cannot import it): \
                 run scripts/install-test-deps"
            ),
            Err(e) => panic!("cannot run python3 ({e}): run scripts/install-test-deps"),
        }

        let maildir = tempfile::Builder::new()
            .prefix("ombud-smtp-sink-")
            .tempdir()
            .expect("create a temporary Maildir");
        // Another process may take the free port between our probe and aiosmtpd's bind: then
        // aiosmtpd exits and we try another port.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log_path = maildir.path().join("aiosmtpd.log");
            let log = std::fs::File::create(&log_path).expect("create the sink's log file");
            let mut child = python()
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir.path().join("mail"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start python3 -m aiosmtpd");
            match wait_until_greeting(&mut child, port) {
                Ok(()) => {
                    return SmtpSink {
                        child,
                        port,
                        maildir,
                    };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = format!(
                        "{why}; its stderr: {}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    );
                }
            }
        }
        panic!("aiosmtpd did not start: {last_log}");
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages received so far, in the order the sink stored them.
    pub fn messages(&self) -> Vec<SentMail> {
        let mail = self.maildir.path().join("mail");
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(mail.join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort_by_key(|p| delivery_order(p));
        files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p)
                    .unwrap_or_else(|e| panic!("read {} from the sink: {e}", p.display()));
                parse(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns all of them.
    ///
    /// # Panics
    /// When fewer than `n` have arrived after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the SMTP sink got {} message(s) in {timeout:?}, expected {n}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port on 127.0.0.1")
}

/// Connects until the server sends its `220` greeting, then says QUIT.
fn wait_until_greeting(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("aiosmtpd exited with {status}"));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let mut greeting = String::new();
            let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
            if reader.read_line(&mut greeting).is_ok() && greeting.starts_with("220") {
                let _ = stream.write_all(b"QUIT\r\n");
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no SMTP greeting on port {port} within {START_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Python's Maildir names files `<seconds>.M<micros>P<pid>Q<counter>.<host>`; the counter
/// grows with every message the process stores.
fn delivery_order(path: &Path) -> (u64, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let counter = name
        .split_once('Q')
        .map(|(_, rest)| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(u64::MAX);
    (counter, name)
}

fn parse(raw: &[u8]) -> Result<SentMail, mailparse::MailParseError> {
    use mailparse::MailHeaderMap;
    let parsed = mailparse::parse_mail(raw)?;
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    let get = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    let to = get("X-RcptTo")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let body_part = if parsed.subparts.is_empty() {
        &parsed
    } else {
        // A multipart message: its first text/plain part.
        parsed
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == "text/plain")
            .unwrap_or(&parsed)
    };
    let mut text = body_part.get_body()?.replace("\r\n", "\n");
    text.truncate(text.trim_end_matches('\n').len());
    text.push('\n');
    Ok(SentMail {
        to,
        from: get("From"),
        envelope_from: get("X-MailFrom"),
        subject: get("Subject"),
        text,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_maildir_message() {
        let raw = b"From: Privacy <privacy@example.test>\n\
To: anna@example.com\n\
Subject: =?utf-8?b?UsOma2tlZsO4bGdl?=\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: quoted-printable\n\
X-MailFrom: privacy@example.test\n\
X-RcptTo: anna@example.com, bo@example.com\n\
\n\
Bl=C3=A5b=C3=A6rgr=C3=B8d\n";
        let mail = parse(raw).unwrap();
        assert_eq!(mail.subject, "Rækkefølge");
        assert_eq!(mail.text, "Blåbærgrød\n");
        assert_eq!(mail.to, vec!["anna@example.com", "bo@example.com"]);
        assert_eq!(mail.from, "Privacy <privacy@example.test>");
        assert_eq!(mail.envelope_from, "privacy@example.test");
        assert_eq!(
            mail.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        let trailing = parse(b"Subject: x\n\nBody\n\n\n").unwrap();
        assert_eq!(trailing.text, "Body\n");
    }

    #[test]
    fn orders_by_the_maildir_counter() {
        let mut names = [
            "1700000000.M5P9Q10.host",
            "1700000000.M5P9Q2.host",
            "1700000000.M5P9Q1.host",
        ]
        .map(PathBuf::from)
        .to_vec();
        names.sort_by_key(|p| delivery_order(p));
        let sorted: Vec<_> = names.iter().map(|p| p.to_string_lossy()).collect();
        assert_eq!(
            sorted,
            [
                "1700000000.M5P9Q1.host",
                "1700000000.M5P9Q2.host",
                "1700000000.M5P9Q10.host"
            ]
        );
    }
}
