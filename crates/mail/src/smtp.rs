//! Sending mail over SMTP with lettre.
//!
//! Nothing here logs, and no error message carries a recipient address or a message body: the
//! caller may log a [`MailError`] as it is.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP with no TLS at all. Only for a relay on loopback or a trusted private network.
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (usually port 587).
    StartTls,
    /// TLS from the first byte, "implicit TLS" or SMTPS (usually port 465).
    Tls,
}

/// Where and how to send mail. Runtime configuration, kept apart from the policy.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The SMTP server's host name (also the name its TLS certificate must carry).
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Log-in name, when the server wants one. Sent only together with `password`.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, as a mailbox: `Impero Privacy <privacy@impero.com>` or a bare address.
    pub from: String,
    /// Limit for each SMTP command, connecting included.
    pub timeout: Duration,
}

/// One message to send: plain text, one recipient.
#[derive(Clone)]
pub struct Outgoing {
    /// The recipient: `person@example.com` or `Name <person@example.com>`.
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// Extra headers, e.g. `List-Unsubscribe`. The headers that make up the message itself
    /// (From, To, Subject, Date, Message-ID, MIME and content headers) are refused.
    pub headers: Vec<(String, String)>,
}

// The recipient and the body are personal data (the body may hold a verification code), so
// they stay out of Debug output and with it out of logs.
impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Outgoing")
            .field("to", &"<redacted>")
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("headers", &header_names)
            .finish()
    }
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address (the recipient, or the configured sender) is not a valid mailbox. The message
    /// names which one and why, never the address itself.
    #[error("invalid {which} address: {reason}")]
    Address {
        /// `"recipient"` or `"sender"`.
        which: &'static str,
        reason: String,
    },
    /// The settings cannot make a transport (e.g. a TLS host name lettre refuses).
    #[error("invalid SMTP settings: {0}")]
    Config(String),
    /// The message could not be put together (e.g. a refused extra header).
    #[error("could not build the message: {0}")]
    Build(String),
    /// The SMTP exchange failed. `detail` is lettre's description with any e-mail address in
    /// it replaced by `<redacted>`.
    #[error("sending failed ({kind}): {detail}")]
    Send { kind: SendFailure, detail: String },
}

/// What kind of SMTP failure a [`MailError::Send`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The server answered 4xx: try again later.
    Transient { code: u16 },
    /// The server answered 5xx: trying again will not help.
    Permanent { code: u16 },
    /// A command or the connection timed out.
    Timeout,
    /// The server could not be reached, or the connection broke.
    Connection,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Anything else: an unparsable reply, a client-side error.
    Other,
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendFailure::Transient { code } => write!(f, "transient, {code}"),
            SendFailure::Permanent { code } => write!(f, "permanent, {code}"),
            SendFailure::Timeout => f.write_str("timeout"),
            SendFailure::Connection => f.write_str("connection"),
            SendFailure::Tls => f.write_str("tls"),
            SendFailure::Other => f.write_str("other"),
        }
    }
}

impl MailError {
    /// True when sending the same message again later may succeed: a 4xx reply, a timeout or
    /// a connection failure. A 5xx reply, a bad address or a bad message is not transient.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MailError::Send {
                kind: SendFailure::Transient { .. }
                    | SendFailure::Timeout
                    | SendFailure::Connection,
                ..
            }
        )
    }

    fn from_smtp(err: &lettre::transport::smtp::Error) -> MailError {
        let code = err.status().map(u16::from);
        let kind = if err.is_transient() {
            SendFailure::Transient {
                code: code.unwrap_or(400),
            }
        } else if err.is_permanent() {
            SendFailure::Permanent {
                code: code.unwrap_or(500),
            }
        } else if err.is_timeout() {
            SendFailure::Timeout
        } else if err.is_tls() {
            SendFailure::Tls
        } else if err.is_client() || err.is_response() {
            SendFailure::Other
        } else {
            // Network, connection, shutdown of the pool.
            SendFailure::Connection
        };
        MailError::Send {
            kind,
            detail: redact_addresses(&err.to_string()),
        }
    }
}

/// Headers that [`Outgoing::headers`] may not set: the mailer writes them itself.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "sender",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "return-path",
];

/// An SMTP client: a pooled lettre transport and the sender. Cheap to clone.
///
/// Make it inside the Tokio runtime that will use it: lettre's connection pool runs a clean-up
/// task there, and its connections belong to that runtime. It may be dropped anywhere, even
/// after that runtime has stopped.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

/// The transport and the runtime its pool belongs to. Dropping lettre's pool spawns a task,
/// which panics outside a runtime, so the drop enters the pool's own runtime first.
struct Transport {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Transport {
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        drop(self.smtp.take());
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport. It does not connect: a wrong host or port shows at the first send.
    /// Fails with [`MailError::Config`] outside a Tokio runtime.
    pub fn new(s: &SmtpSettings) -> Result<Mailer, MailError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            MailError::Config("the mailer must be made inside a Tokio runtime".into())
        })?;
        let from: Mailbox = s.from.parse().map_err(|e| MailError::Address {
            which: "sender",
            reason: format!("{e}"),
        })?;
        let builder = match s.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| MailError::Config(redact_addresses(&e.to_string())))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| MailError::Config(redact_addresses(&e.to_string())))?,
        };
        let mut builder = builder.port(s.port).timeout(Some(s.timeout));
        match (&s.username, &s.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_owned(),
                ));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(MailError::Config(
                    "an SMTP username needs a password".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(MailError::Config(
                    "an SMTP password needs a username".into(),
                ));
            }
        }
        Ok(Mailer {
            transport: Arc::new(Transport {
                smtp: Some(builder.build()),
                runtime,
            }),
            from,
        })
    }

    /// Builds the message and hands it to the SMTP server. On success the server has accepted
    /// it for delivery.
    pub async fn send(&self, m: &Outgoing) -> Result<(), MailError> {
        let message = build_message(&self.from, m)?;
        let smtp = self
            .transport
            .smtp
            .as_ref()
            .expect("the transport is only taken when dropped");
        smtp.send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::from_smtp(&e))
    }
}

fn build_message(from: &Mailbox, m: &Outgoing) -> Result<Message, MailError> {
    let to: Mailbox = m.to.trim().parse().map_err(|e| MailError::Address {
        which: "recipient",
        reason: format!("{e}"),
    })?;
    if m.subject.contains(['\r', '\n']) {
        return Err(MailError::Build("the subject has a line break".into()));
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.as_str())
        .message_id(Some(format!(
            "<{}@{}>",
            uuid::Uuid::now_v7().simple(),
            from.email.domain()
        )))
        .header(ContentType::TEXT_PLAIN);
    for (name, value) in &m.headers {
        builder = builder.raw_header(extra_header(name, value)?);
    }
    builder
        .body(m.text.clone())
        .map_err(|e| MailError::Build(e.to_string()))
}

fn extra_header(name: &str, value: &str) -> Result<HeaderValue, MailError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(MailError::Build(format!("invalid header name {name:?}")));
    }
    if RESERVED_HEADERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(MailError::Build(format!(
            "the header {name} is written by the mailer and cannot be set"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(MailError::Build(format!(
            "the value of the header {name} has a control character"
        )));
    }
    let header_name = HeaderName::new_from_ascii(name.to_owned())
        .map_err(|e| MailError::Build(format!("{e} {name:?}")))?;
    Ok(HeaderValue::new(header_name, value.to_owned()))
}

/// Replaces every word that looks like an e-mail address with `<redacted>`, so that a server
/// reply such as `550 5.1.1 <anna@example.com>: unknown user` can be logged.
fn redact_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut first = true;
    for word in text.split(' ') {
        if !first {
            out.push(' ');
        }
        first = false;
        if word.contains('@') {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "Privacy <privacy@example.test>".parse().unwrap()
    }

    fn outgoing() -> Outgoing {
        Outgoing {
            to: "anna@example.com".into(),
            subject: "Hello".into(),
            text: "Body".into(),
            headers: vec![],
        }
    }

    #[test]
    fn addresses_in_server_replies_are_redacted() {
        assert_eq!(
            redact_addresses("permanent error (550): 5.1.1 <anna@example.com>: unknown user"),
            "permanent error (550): 5.1.1 <redacted> unknown user"
        );
        assert_eq!(redact_addresses("network error"), "network error");
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        for (name, value) in [
            ("Bcc", "someone@example.com"),
            ("subject", "x"),
            ("X Bad", "x"),
            ("X-Bad:", "x"),
            ("X-Injected", "a\r\nBcc: evil@example.com"),
        ] {
            let mut o = outgoing();
            o.headers.push((name.into(), value.into()));
            let err = build_message(&from(), &o).unwrap_err();
            assert!(matches!(err, MailError::Build(_)), "{name}: {err}");
        }
        let mut o = outgoing();
        o.headers.push((
            "List-Unsubscribe".into(),
            "<https://example.test/u/abc>".into(),
        ));
        let formatted = String::from_utf8(build_message(&from(), &o).unwrap().formatted()).unwrap();
        assert!(formatted.contains("List-Unsubscribe: <https://example.test/u/abc>\r\n"));
    }

    #[test]
    fn message_id_uses_the_sender_domain() {
        let message = build_message(&from(), &outgoing()).unwrap();
        let formatted = String::from_utf8(message.formatted()).unwrap();
        let line = formatted
            .lines()
            .find(|l| l.starts_with("Message-ID:"))
            .unwrap();
        assert!(line.ends_with("@example.test>"), "{line}");
    }

    #[test]
    fn debug_output_hides_recipient_and_body() {
        let mut o = outgoing();
        o.text = "Your code is 123456".into();
        let debug = format!("{o:?}");
        assert!(!debug.contains("anna@example.com"), "{debug}");
        assert!(!debug.contains("123456"), "{debug}");
    }

    #[test]
    fn a_mailer_needs_a_runtime_and_outlives_it() {
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "privacy@example.test".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(matches!(Mailer::new(&settings), Err(MailError::Config(_))));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mailer = runtime.block_on(async { Mailer::new(&settings) }).unwrap();
        let copy = mailer.clone();
        drop(runtime);
        drop(mailer);
        drop(copy); // the last one drops lettre's pool, with no runtime running
    }

    #[tokio::test]
    async fn credentials_need_both_halves() {
        let mut s = SmtpSettings {
            host: "smtp.example.test".into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("ombud".into()),
            password: None,
            from: "privacy@example.test".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(matches!(Mailer::new(&s), Err(MailError::Config(_))));
        s.password = Some(SecretString::from("secret"));
        assert!(Mailer::new(&s).is_ok());
        s.from = "not an address".into();
        assert!(matches!(
            Mailer::new(&s),
            Err(MailError::Address {
                which: "sender",
                ..
            })
        ));
    }

    #[test]
    fn security_deserializes_from_lowercase() {
        #[derive(Deserialize)]
        struct W {
            s: SmtpSecurity,
        }
        // serde's own value deserializer keeps this test free of a format crate.
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, MapDeserializer};
        for (text, want) in [
            ("none", SmtpSecurity::None),
            ("starttls", SmtpSecurity::StartTls),
            ("tls", SmtpSecurity::Tls),
        ] {
            let map = MapDeserializer::<_, Error>::new(std::iter::once(("s", text)));
            let w = W::deserialize(map.into_deserializer()).unwrap();
            assert_eq!(w.s, want);
        }
    }
}
