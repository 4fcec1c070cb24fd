//! Outgoing e-mail for ombud.
//!
//! - [`Mailer`] sends an [`Outgoing`] message over SMTP (lettre, pooled, TLS with rustls).
//! - [`Letters`] holds the letter templates (acknowledgement, verification code, refusal, …)
//!   in English and Danish, which operators can replace file by file, and renders them with a
//!   [`LetterContext`] into a [`Letter`]: a subject and a plain-text body.
//!
//! Personal data (addresses, codes, bodies) never appears in this crate's error messages or
//! `Debug` output, so callers may log both.
//!
//! Writing a template: see [`LetterContext`] for every variable, and the module docs of
//! [`context`] for the `date`, `right_name` and `channel_name` filters. A template file's first line is
//! `Subject: …`, then a blank line, then the body. Block tags on a line of their own leave no
//! blank line behind (`trim_blocks` and `lstrip_blocks` are on), runs of blank lines in the
//! output become one, and nothing is HTML-escaped.

pub mod context;
mod letters;
mod smtp;

pub use context::{Authority, ContactPoint, LetterContext, Party, RequestFacts};
pub use letters::{LANGUAGES, Letter, LetterKind, Letters, TemplateError};
pub use smtp::{MailError, Mailer, Outgoing, SendFailure, SmtpSecurity, SmtpSettings};
