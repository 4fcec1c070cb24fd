//! Letters about a request: the facts a template may use, taken from the policy and the
//! request, and how a letter leaves (SMTP, or files in a folder for development).

use std::path::PathBuf;

use ombud_domain::policy::Policy;
use ombud_domain::request::RequestType;
use ombud_mail::{LetterContext, LetterKind, Letters, Mailer, Outgoing};
use ombud_store::RequestRecord;

/// How mail leaves this server.
#[derive(Clone)]
pub enum Delivery {
    Smtp(Mailer),
    /// Each message is written as a file (for development and the demo).
    Folder(PathBuf),
}

/// A delivery failure, told apart so the outbox knows whether to retry.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the mail could not be sent: {0}")]
    Mail(#[from] ombud_mail::MailError),
    #[error("the mail could not be written to the mail folder: {0}")]
    Folder(#[from] std::io::Error),
}

impl DeliveryError {
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Mail(e) => e.is_transient(),
            Self::Folder(_) => true,
        }
    }
}

impl Delivery {
    pub async fn send(&self, m: &Outgoing) -> Result<(), DeliveryError> {
        match self {
            Self::Smtp(mailer) => Ok(mailer.send(m).await?),
            Self::Folder(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let stamp = jiff::Timestamp::now().as_microsecond();
                let mut text = format!("To: {}\nSubject: {}\n", m.to, m.subject);
                for (k, v) in &m.headers {
                    text.push_str(&format!("{k}: {v}\n"));
                }
                text.push('\n');
                text.push_str(&m.text);
                let path = dir.join(format!("{stamp}.eml"));
                tokio::fs::write(&path, text).await?;
                Ok(())
            }
        }
    }
}

/// The facts of a letter about `record`.
pub fn context(policy: &Policy, record: &RequestRecord, public_url: &str) -> LetterContext {
    let c = &policy.controller;
    let cp = &policy.contact_point;
    let a = &policy.supervisory_authority;
    let kind: RequestType = record.kind;
    LetterContext {
        controller: ombud_mail::Party {
            name: c.name.clone(),
            address: c.address.clone(),
            email: c.email.to_string(),
            phone: c.phone.clone(),
            website: c.website.clone(),
        },
        contact_point: ombud_mail::ContactPoint {
            title: cp.title.clone(),
            name: cp.name.clone(),
            email: cp.email.to_string(),
        },
        authority: ombud_mail::Authority {
            name: a.name.clone(),
            address: a.address.clone(),
            website: a.website.clone(),
            email: a.email.as_ref().map(ToString::to_string),
            phone: a.phone.clone(),
        },
        request: ombud_mail::RequestFacts {
            reference: record.reference.clone(),
            right: kind.label().to_owned(),
            right_article: kind.article().to_owned(),
            channel: record.channel.to_string(),
            received: record.received.to_string(),
            promised_due: record.promised_due.to_string(),
            legal_due: record.legal_due.to_string(),
            extended_due: record.extended_due.map(|d| d.to_string()),
            status_url: Some(format!(
                "{public_url}/privacy-centre/status/{}",
                record.reference
            )),
            working_days: policy.rights.working_days,
        },
        person_name: record.name.clone(),
        code: None,
        code_minutes: None,
        reason: None,
        fee: None,
        forwarded_to: record.forwarded_to.clone(),
        note: None,
        download_url: None,
        download_expires: None,
    }
}

/// Renders a letter to the person who made the request.
pub fn to_person(
    letters: &Letters,
    kind: LetterKind,
    ctx: &LetterContext,
    record: &RequestRecord,
) -> Result<Outgoing, ombud_mail::TemplateError> {
    let letter = letters.render(kind, &record.lang, ctx)?;
    Ok(Outgoing {
        to: record.email.to_string(),
        subject: letter.subject,
        text: letter.text,
        headers: Vec::new(),
    })
}
