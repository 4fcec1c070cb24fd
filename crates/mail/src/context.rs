//! What a letter template can use.
//!
//! Every field below is a template variable under the same name: `{{ controller.name }}`,
//! `{{ request.legal_due|date }}`, `{% if note %}…{% endif %}`. A field marked optional is
//! `none` when it is not set, which is false in `{% if %}`. Besides these fields a template has
//! `lang` (`"en"` or `"da"`, the language it is rendered in) and three filters of its own:
//!
//! - `date`: a `YYYY-MM-DD` date written out in the letter's language ("15 April 2026",
//!   "15. april 2026"); any other value is left as it is;
//! - `right_name`: the name of a right in the letter's language, from its key or English
//!   label ("access" or "Access" → "the right of access" / "retten til indsigt"); an unknown
//!   value is left as it is;
//! - `channel_name`: how a request came in, in the letter's language ("web" → "web form" /
//!   "webformular", "phone" → "phone" / "telefon"); an unknown value is left as it is.
//!
//! minijinja's built-in filters (`upper`, `replace`, `default`, …) work as well.

use std::fmt;

use serde::Serialize;

/// Everything a letter template may use.
#[derive(Clone, Default, Serialize)]
pub struct LetterContext {
    /// The organisation that answers the request (the data controller).
    pub controller: Party,
    /// Who handles privacy matters at the controller.
    pub contact_point: ContactPoint,
    /// The supervisory authority the person may complain to.
    pub authority: Authority,
    /// The request the letter is about.
    pub request: RequestFacts,
    /// The person's name, when they gave one. Optional.
    pub person_name: Option<String>,
    /// The verification code. Set for `verification_code` only, where it is required.
    pub code: Option<String>,
    /// How many minutes the code is valid. Required for `verification_code`.
    pub code_minutes: Option<u32>,
    /// Why the deadline is extended, the request refused or a fee charged, in staff's words.
    /// Required for `extension_notice`, `refusal` and `fee_notice`.
    pub reason: Option<String>,
    /// The fee with its currency, e.g. "500 DKK". Required for `fee_notice`.
    pub fee: Option<String>,
    /// The name of the customer (the controller of the data) a request was forwarded to.
    /// Required for `forwarded` and `forward_to_controller`.
    pub forwarded_to: Option<String>,
    /// Free text from staff, e.g. the outcome of a completed request. Optional.
    pub note: Option<String>,
    /// Where the person downloads their data (access, portability): a link that works only
    /// until `download_expires`. Optional; a secret, like the code.
    pub download_url: Option<String>,
    /// The last day the download link works. Set with `download_url`.
    pub download_expires: Option<String>,
}

// The person's name, the code and staff's notes are personal data: Debug keeps them out.
impl fmt::Debug for LetterContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LetterContext")
            .field("controller", &self.controller.name)
            .field("request", &self.request)
            .field("person_name", &redacted(&self.person_name))
            .field("code", &redacted(&self.code))
            .field("code_minutes", &self.code_minutes)
            .field("reason", &redacted(&self.reason))
            .field("fee", &self.fee)
            .field("forwarded_to", &self.forwarded_to)
            .field("note", &redacted(&self.note))
            .field("download_url", &redacted(&self.download_url))
            .finish_non_exhaustive()
    }
}

fn redacted(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "<redacted>")
}

/// An organisation: the controller, or a customer a request is forwarded to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Party {
    /// Legal name, e.g. "Impero A/S".
    pub name: String,
    /// Postal address, one line per entry: `{% for line in controller.address %}`.
    pub address: Vec<String>,
    /// The general contact address.
    pub email: String,
    /// Optional.
    pub phone: Option<String>,
    /// Optional, e.g. `https://www.impero.com`.
    pub website: Option<String>,
}

/// The privacy contact point (the policy's "Data Protection Manager").
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactPoint {
    /// Role title, e.g. "Data Protection Manager". Letters are signed with it.
    pub title: String,
    /// The person's name, when the policy gives one. Optional.
    pub name: Option<String>,
    /// The address people write to about privacy.
    pub email: String,
}

/// The supervisory authority, e.g. Datatilsynet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Authority {
    /// e.g. "Datatilsynet".
    pub name: String,
    /// Postal address, one line per entry.
    pub address: Vec<String>,
    /// Optional, e.g. `https://www.datatilsynet.dk`.
    pub website: Option<String>,
    /// Optional.
    pub email: Option<String>,
    /// Optional.
    pub phone: Option<String>,
}

/// The facts of a request. Dates are `YYYY-MM-DD`; write `{{ request.received|date }}` to have
/// them in words.
#[derive(Clone, Default, Serialize)]
pub struct RequestFacts {
    /// The request's reference, e.g. "R-2026-0042". Safe for subjects.
    pub reference: String,
    /// The right, as a key ("access") or an English label ("Access"). Write
    /// `{{ request.right|right_name }}` for its name in the letter's language.
    pub right: String,
    /// The article of the GDPR, e.g. "Art. 15".
    pub right_article: String,
    /// How the request came in: "web", "email", "phone", "letter", "api", "in person" (or any
    /// label). Write `{{ request.channel|channel_name }}` for it in the letter's language.
    pub channel: String,
    /// The day the request reached the organisation.
    pub received: String,
    /// The day the policy promises an answer by (its working days on its calendar).
    pub promised_due: String,
    /// The legal deadline: one month from receipt (GDPR Art. 12(3)).
    pub legal_due: String,
    /// The extended legal deadline, once extended. Required for `extension_notice`.
    pub extended_due: Option<String>,
    /// A link where the person can follow the request. Optional.
    pub status_url: Option<String>,
    /// The policy's promise in working days, e.g. 7.
    pub working_days: u32,
}

// A status link may carry a token that lets its holder see the request.
impl fmt::Debug for RequestFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestFacts")
            .field("reference", &self.reference)
            .field("right", &self.right)
            .field("right_article", &self.right_article)
            .field("channel", &self.channel)
            .field("received", &self.received)
            .field("promised_due", &self.promised_due)
            .field("legal_due", &self.legal_due)
            .field("extended_due", &self.extended_due)
            .field("status_url", &redacted(&self.status_url))
            .field("working_days", &self.working_days)
            .finish()
    }
}

impl LetterContext {
    /// A context with every field set, used to try each template at load.
    pub(crate) fn sample_full() -> LetterContext {
        LetterContext {
            controller: Party {
                name: "Example ApS".into(),
                address: vec!["Eksempelvej 1".into(), "1000 København K".into()],
                email: "mail@example.com".into(),
                phone: Some("+45 12 34 56 78".into()),
                website: Some("https://www.example.com".into()),
            },
            contact_point: ContactPoint {
                title: "Data Protection Manager".into(),
                name: Some("Mette Jensen".into()),
                email: "privacy@example.com".into(),
            },
            authority: Authority {
                name: "Datatilsynet".into(),
                address: vec!["Carl Jacobsens Vej 35".into(), "2500 Valby".into()],
                website: Some("https://www.datatilsynet.dk".into()),
                email: Some("dt@datatilsynet.dk".into()),
                phone: Some("+45 33 19 32 00".into()),
            },
            request: RequestFacts {
                reference: "R-2026-0001".into(),
                right: "access".into(),
                right_article: "Art. 15".into(),
                channel: "web form".into(),
                received: "2026-04-01".into(),
                promised_due: "2026-04-14".into(),
                legal_due: "2026-05-01".into(),
                extended_due: Some("2026-07-01".into()),
                status_url: Some("https://privacy.example.com/requests/abc".into()),
                working_days: 7,
            },
            person_name: Some("Anna Hansen".into()),
            code: Some("483920".into()),
            code_minutes: Some(15),
            reason: Some("The request covers ten years of records.".into()),
            fee: Some("500 DKK".into()),
            forwarded_to: Some("Customer A/S".into()),
            note: Some("We have erased your account.".into()),
            download_url: Some(
                "https://privacy.example.com/privacy-centre/packages/0123abcd".into(),
            ),
            download_expires: Some("2026-04-21".into()),
        }
    }

    /// The same context with every optional field unset, except those `required` names.
    pub(crate) fn sample_minimal(required: &[&str]) -> LetterContext {
        let full = LetterContext::sample_full();
        let keep = |name: &str, value: &Option<String>| {
            required.contains(&name).then(|| value.clone()).flatten()
        };
        LetterContext {
            controller: Party {
                phone: None,
                website: None,
                address: Vec::new(),
                ..full.controller.clone()
            },
            contact_point: ContactPoint {
                name: None,
                ..full.contact_point.clone()
            },
            authority: Authority {
                address: Vec::new(),
                website: None,
                email: None,
                phone: None,
                ..full.authority.clone()
            },
            request: RequestFacts {
                extended_due: keep("request.extended_due", &full.request.extended_due),
                status_url: None,
                working_days: 1,
                ..full.request.clone()
            },
            person_name: None,
            code: keep("code", &full.code),
            code_minutes: required.contains(&"code_minutes").then_some(1),
            reason: keep("reason", &full.reason),
            fee: keep("fee", &full.fee),
            forwarded_to: keep("forwarded_to", &full.forwarded_to),
            note: keep("note", &full.note),
            download_url: None,
            download_expires: None,
        }
    }

    /// The names in `required` that are not set here.
    pub(crate) fn missing(&self, required: &[&'static str]) -> Vec<&'static str> {
        required
            .iter()
            .copied()
            .filter(|name| {
                let set = match *name {
                    "code" => self.code.as_deref().is_some_and(|c| !c.trim().is_empty()),
                    "code_minutes" => self.code_minutes.is_some(),
                    "reason" => self.reason.as_deref().is_some_and(|r| !r.trim().is_empty()),
                    "fee" => self.fee.as_deref().is_some_and(|f| !f.trim().is_empty()),
                    "note" => self.note.as_deref().is_some_and(|n| !n.trim().is_empty()),
                    "forwarded_to" => self
                        .forwarded_to
                        .as_deref()
                        .is_some_and(|f| !f.trim().is_empty()),
                    "request.extended_due" => self.request.extended_due.is_some(),
                    _ => true,
                };
                !set
            })
            .collect()
    }
}
