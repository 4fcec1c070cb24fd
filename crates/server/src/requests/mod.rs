//! Rights requests: every operation on a request, for the privacy centre, the API, the CLI and
//! (later) the console. Each operation checks the state machine, records the change with its
//! timeline entry and audit entry, and queues its letter, in one store transaction.

mod execution;
mod letters;

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use ombud_domain::consent::{Method, SubjectKey, Target};
use ombud_domain::email::EmailAddress;
use ombud_domain::policy::{Keyword, LegalBasis, Policy, PurposeId};
use ombud_domain::request::{self, Action, Channel, RequestState, RequestType, code};
use ombud_mail::{LetterKind, Letters};
use ombud_store::{
    Change, Fields, NewConsentEvent, NewMail, NewRequest, RequestFilter, RequestRecord, Store,
    StoreError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use execution::{job_kind, summarise};
pub use letters::{Delivery, DeliveryError};

/// What ombud needs to run requests.
#[derive(Clone)]
pub struct RequestService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    policy: Arc<Policy>,
    version: i64,
    letters: Letters,
    delivery: Delivery,
    secret: Option<SecretString>,
    public_url: String,
    mail_from: String,
    unverified_expiry_hours: u32,
    repeat_window_days: u32,
    reminder_days: u32,
    /// Carries out verified requests; `None` when the data map has nothing it can run.
    engine: Option<ombud_fulfil::Engine>,
    auto_execute: bool,
}

/// Settings of the request service, from the runtime configuration.
pub struct ServiceSettings {
    /// The sender of letters; `None`: the controller's name and the rights contact address.
    pub mail_from: Option<String>,
    pub public_url: String,
    pub secret: Option<SecretString>,
    pub unverified_expiry_hours: u32,
    pub repeat_window_days: u32,
    pub reminder_days: u32,
    pub auto_execute: bool,
}

/// Why an operation did not happen. Messages are for the person or staff member who asked; none
/// quotes personal data.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such request")]
    NotFound,
    /// The request is not in a state where this can happen.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Transition(#[from] request::InvalidTransition),
    #[error("{0}")]
    Extension(#[from] request::ExtensionError),
    #[error("carrying out the request failed: {0}")]
    Execution(String),
    #[error("the request changed meanwhile; reload it and try again")]
    Changed,
    #[error("identity codes need a secret key: set secret_key (or OMBUD_SECRET_KEY)")]
    NoSecret,
    #[error("wait {0} seconds before asking for another code")]
    TooSoon(i64),
    #[error("no more codes can be sent for this request; submit it again")]
    TooManyCodes,
    #[error("the e-mail could not be sent; try again later")]
    Delivery(#[source] DeliveryError),
    #[error("the letter template failed: {0}")]
    Template(#[from] ombud_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Extra facts of a request, kept as JSON on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// Rectification: what is wrong and what it should say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<String>,
    /// Objection or withdrawal: the purposes it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// Restriction: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Anything else the person wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The customer that put the data in the platform, when the request is about platform data
    /// (ombud's owner is only the processor then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_customer: Option<String>,
}

/// A new request as it arrives.
#[derive(Debug, Clone)]
pub struct Submission {
    pub kind: RequestType,
    pub channel: Channel,
    pub email: String,
    pub name: Option<String>,
    pub lang: String,
    /// The day it reached the organisation (staff channels); default today.
    pub received: Option<Date>,
    pub details: Details,
    pub actor: String,
}

/// The outcome of entering a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    Verified(Box<RequestRecord>),
    Wrong {
        attempts_left: u32,
    },
    Expired,
    LockedOut,
    /// No code was sent for this request, or it is not waiting for one.
    NotWaiting,
}

/// Longest free text accepted in any field.
const MAX_TEXT: usize = 4000;

impl RequestService {
    pub fn new(
        store: Store,
        policy: Arc<Policy>,
        version: i64,
        letters: Letters,
        delivery: Delivery,
        engine: Option<ombud_fulfil::Engine>,
        s: ServiceSettings,
    ) -> Self {
        let mail_from = s
            .mail_from
            .unwrap_or_else(|| format!("{} <{}>", policy.controller.name, policy.rights.email));
        RequestService {
            inner: Arc::new(Inner {
                store,
                version,
                letters,
                delivery,
                secret: s.secret,
                public_url: s.public_url,
                mail_from,
                unverified_expiry_hours: s.unverified_expiry_hours,
                repeat_window_days: s.repeat_window_days,
                reminder_days: s.reminder_days,
                engine,
                auto_execute: s.auto_execute,
                policy,
            }),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The sender address of letters.
    pub fn mail_from(&self) -> &str {
        &self.inner.mail_from
    }

    pub fn delivery(&self) -> &Delivery {
        &self.inner.delivery
    }

    fn today() -> Date {
        jiff::tz::TimeZone::UTC.to_datetime(Timestamp::now()).date()
    }

    /// Records a new request. Web requests need identity verification next; a request about
    /// platform data waits for staff to forward it to the customer.
    pub async fn submit(&self, s: Submission) -> Result<RequestRecord, RequestError> {
        let policy = &self.inner.policy;
        let email = EmailAddress::parse(&s.email)
            .map_err(|_| RequestError::Invalid("Give a valid e-mail address.".into()))?;
        let name = clean(s.name, "name")?;
        let details = Details {
            corrections: clean(s.details.corrections, "corrections")?,
            reason: clean(s.details.reason, "reason")?,
            message: clean(s.details.message, "message")?,
            platform_customer: clean(s.details.platform_customer, "platform customer")?,
            purposes: s.details.purposes,
        };
        self.check_purposes(s.kind, &details.purposes)?;
        if s.kind == RequestType::Rectification
            && details.corrections.is_none()
            && details.platform_customer.is_none()
        {
            return Err(RequestError::Invalid(
                "Say what is wrong and what it should say.".into(),
            ));
        }
        let today = Self::today();
        let received = s.received.unwrap_or(today);
        if received > today {
            return Err(RequestError::Invalid(
                "The received date lies in the future.".into(),
            ));
        }
        let calendar = policy
            .rights
            .calendar()
            .map_err(|e| RequestError::Invalid(e.to_string()))?;
        let due = request::due_dates(&calendar, received, policy.rights.working_days);
        let earlier = self
            .inner
            .store
            .list_requests(&RequestFilter {
                email: Some(email.clone()),
                limit: 1000,
                ..RequestFilter::default()
            })
            .await?;
        let previous: Vec<(RequestType, Date)> =
            earlier.iter().map(|r| (r.kind, r.received)).collect();
        let repeat_of = request::is_repeat(
            &previous,
            s.kind,
            received,
            i64::from(self.inner.repeat_window_days),
        )
        .then(|| {
            earlier
                .iter()
                .rev()
                .find(|r| r.kind == s.kind)
                .map(|r| r.reference.clone())
        })
        .flatten();
        let lang = if s.lang == "da" { "da" } else { "en" };
        let details_json =
            serde_json::to_string(&details).map_err(|e| RequestError::Invalid(e.to_string()))?;
        let note = details
            .platform_customer
            .as_ref()
            .map(|_| "concerns data a customer put in the platform: forward it");
        for _ in 0..3 {
            let reference = new_reference();
            let created = self
                .inner
                .store
                .create_request(&NewRequest {
                    reference: &reference,
                    kind: s.kind,
                    channel: s.channel,
                    state: RequestState::Received,
                    email: &email,
                    name: name.as_deref(),
                    lang,
                    details: &details_json,
                    received,
                    promised_due: due.promised,
                    legal_due: due.legal,
                    policy_version: self.inner.version,
                    repeat_of: repeat_of.as_deref(),
                    actor: &s.actor,
                    note,
                    mail: Vec::new(),
                })
                .await;
            match created {
                Err(StoreError::Conflict) => continue,
                other => return Ok(other?),
            }
        }
        Err(RequestError::Store(StoreError::Conflict))
    }

    fn check_purposes(&self, kind: RequestType, purposes: &[String]) -> Result<(), RequestError> {
        let policy = &self.inner.policy;
        for p in purposes {
            let purpose = PurposeId::parse(p)
                .ok()
                .and_then(|id| policy.purpose(&id).cloned());
            let Some(purpose) = purpose else {
                return Err(RequestError::Invalid(format!(
                    "`{p}` is not a purpose of this policy."
                )));
            };
            let fits = match kind {
                RequestType::Objection => {
                    purpose.is_direct_marketing()
                        || purpose.relies_on(LegalBasis::LegitimateInterests)
                        || purpose.relies_on(LegalBasis::PublicTask)
                }
                RequestType::WithdrawConsent => purpose.relies_on(LegalBasis::Consent),
                _ => false,
            };
            if !fits {
                return Err(RequestError::Invalid(format!(
                    "`{p}` cannot be chosen for a {} request.",
                    kind.label().to_lowercase()
                )));
            }
        }
        if matches!(kind, RequestType::Objection | RequestType::WithdrawConsent)
            && purposes.is_empty()
        {
            return Err(RequestError::Invalid(
                "Choose the purposes it is about.".into(),
            ));
        }
        Ok(())
    }

    pub async fn by_reference(&self, reference: &str) -> Result<RequestRecord, RequestError> {
        self.inner
            .store
            .request_by_reference(reference)
            .await?
            .ok_or(RequestError::NotFound)
    }

    /// Sends a fresh identity code to the request's address (rate-limited). The code is sent
    /// directly, never queued: only its keyed hash is stored.
    pub async fn send_code(&self, reference: &str) -> Result<(), RequestError> {
        let secret = self.inner.secret.as_ref().ok_or(RequestError::NoSecret)?;
        let record = self.by_reference(reference).await?;
        if !matches!(
            record.state,
            RequestState::Received | RequestState::AwaitingVerification
        ) {
            return Err(RequestError::Transition(request::InvalidTransition {
                from: record.state,
                action: "code_sent",
            }));
        }
        let now = Timestamp::now().as_microsecond();
        let state = self.inner.store.code_state(record.id).await?;
        code::may_resend(
            state.as_ref().map(|c| c.last_sent_us),
            state.as_ref().map_or(0, |c| c.sends),
            now,
        )
        .map_err(|wait| match wait {
            Some(s) => RequestError::TooSoon(s),
            None => RequestError::TooManyCodes,
        })?;
        let code = random_code();
        let hash = code::hash(secret.expose_secret().as_bytes(), &record.reference, &code);
        self.inner.store.store_code(record.id, &hash).await?;
        let mut ctx = letters::context(&self.inner.policy, &record, &self.inner.public_url);
        ctx.code = Some(code);
        ctx.code_minutes = Some(u32::try_from(code::VALID_MINUTES).unwrap_or(15));
        let mail = letters::to_person(
            &self.inner.letters,
            LetterKind::VerificationCode,
            &ctx,
            &record,
        )?;
        self.inner
            .delivery
            .send(&mail)
            .await
            .map_err(RequestError::Delivery)?;
        let (from, to) = match record.state {
            RequestState::Received => (
                Some(RequestState::Received),
                Some(RequestState::AwaitingVerification),
            ),
            _ => (None, None),
        };
        self.change(
            &record,
            "web",
            "code_sent",
            from,
            to,
            None,
            Fields::default(),
            Vec::new(),
        )
        .await?;
        Ok(())
    }

    /// Checks a code entered in the privacy centre.
    pub async fn verify_code(
        &self,
        reference: &str,
        given: &str,
    ) -> Result<CodeOutcome, RequestError> {
        let secret = self.inner.secret.as_ref().ok_or(RequestError::NoSecret)?;
        let record = self.by_reference(reference).await?;
        if record.state != RequestState::AwaitingVerification {
            return Ok(CodeOutcome::NotWaiting);
        }
        let Some(stored) = self.inner.store.code_state(record.id).await? else {
            return Ok(CodeOutcome::NotWaiting);
        };
        let given = given.trim();
        let given_hash = code::hash(secret.expose_secret().as_bytes(), &record.reference, given);
        match code::check(
            &stored.hash,
            &given_hash,
            stored.issued_at_us,
            stored.attempts,
            Timestamp::now().as_microsecond(),
        ) {
            code::Check::Correct => {
                // Verifying moves the request on, so the same code can't be used again: a
                // replay finds the request no longer waiting.
                let record = self.verify(&record, "web", "e-mail code").await?;
                Ok(CodeOutcome::Verified(Box::new(record)))
            }
            code::Check::Wrong { .. } => {
                let attempts = self.inner.store.code_failed(record.id).await?;
                let left = code::MAX_ATTEMPTS.saturating_sub(attempts);
                Ok(if left == 0 {
                    CodeOutcome::LockedOut
                } else {
                    CodeOutcome::Wrong {
                        attempts_left: left,
                    }
                })
            }
            code::Check::Expired => Ok(CodeOutcome::Expired),
            code::Check::LockedOut => {
                // The last allowed wrong try is counted too, so the lock holds for the right
                // code afterwards.
                if stored.attempts < code::MAX_ATTEMPTS {
                    self.inner.store.code_failed(record.id).await?;
                }
                Ok(CodeOutcome::LockedOut)
            }
        }
    }

    /// Staff confirm the person's identity by other means (phone call, signed letter…).
    pub async fn verify_by_staff(
        &self,
        reference: &str,
        actor: &str,
        how: &str,
    ) -> Result<RequestRecord, RequestError> {
        if how.trim().is_empty() {
            return Err(RequestError::Invalid(
                "Say how the identity was confirmed.".into(),
            ));
        }
        let record = self.by_reference(reference).await?;
        self.verify(&record, actor, how.trim()).await
    }

    async fn verify(
        &self,
        record: &RequestRecord,
        actor: &str,
        how: &str,
    ) -> Result<RequestRecord, RequestError> {
        let to = request::transition(
            record.state,
            &Action::Verify {
                how: how.to_owned(),
            },
        )?;
        let ack = self.letter(LetterKind::Acknowledgement, record, None, None, None)?;
        let fields = Fields {
            verified_by: Some(actor),
            verified_how: Some(how),
            ..Fields::default()
        };
        let record = self
            .change(
                record,
                actor,
                "verified",
                Some(record.state),
                Some(to),
                None,
                fields,
                vec![ack],
            )
            .await?;
        self.after_verification(record, actor).await
    }

    /// What a verified request sets in motion by itself: an objection to direct marketing is
    /// applied at once and unconditionally (Art. 21(3)), and a withdrawal of consent becomes
    /// ledger events; both are then complete.
    async fn after_verification(
        &self,
        record: RequestRecord,
        actor: &str,
    ) -> Result<RequestRecord, RequestError> {
        let details: Details = serde_json::from_str(&record.details).unwrap_or_default();
        let policy = &self.inner.policy;
        let purposes: Vec<PurposeId> = details
            .purposes
            .iter()
            .filter_map(|p| PurposeId::parse(p).ok())
            .collect();
        let targets: Vec<PurposeId> = match record.kind {
            RequestType::WithdrawConsent => purposes,
            RequestType::Objection => purposes
                .into_iter()
                .filter(|p| policy.purpose(p).is_some_and(|p| p.is_direct_marketing()))
                .collect(),
            kind => {
                let automatic = self.inner.auto_execute
                    && self.inner.engine.is_some()
                    && job_kind(kind).is_some()
                    && kind != RequestType::Rectification;
                if automatic {
                    return self.execute(&record.reference, actor, Vec::new()).await;
                }
                return Ok(record);
            }
        };
        if targets.is_empty() {
            return Ok(record);
        }
        let subject = SubjectKey::email(&record.email);
        let now = Timestamp::now();
        let events: Vec<NewConsentEvent> = targets
            .iter()
            .map(|p| NewConsentEvent {
                subject: subject.clone(),
                target: Target::Purpose(p.clone()),
                granted: false,
                method: Method::Form,
                policy_version: self.inner.version,
                wording_hash: None,
                gpc: false,
                source: Some(format!("request:{}", record.reference)),
                recorded_by: None,
                user_agent: None,
                ip_prefix: None,
                at: now,
                expires_at: None,
            })
            .collect();
        self.inner.store.record_consent(&events).await?;
        let all_applied =
            record.kind == RequestType::WithdrawConsent || targets.len() == details.purposes.len();
        if !all_applied {
            // Objections to other purposes need staff to weigh compelling grounds (Art. 21(1)).
            return self
                .change(
                    &record,
                    actor,
                    "note",
                    None,
                    None,
                    Some("direct-marketing objection applied; the rest needs a decision"),
                    Fields::default(),
                    Vec::new(),
                )
                .await;
        }
        let note = format!(
            "applied to: {}",
            targets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let record = self
            .change(
                &record,
                actor,
                "started",
                Some(RequestState::Verified),
                Some(RequestState::InProgress),
                None,
                Fields::default(),
                Vec::new(),
            )
            .await?;
        let done = self.letter(LetterKind::Completion, &record, Some(&note), None, None)?;
        self.change(
            &record,
            actor,
            "completed",
            Some(RequestState::InProgress),
            Some(RequestState::Completed),
            Some(&note),
            Fields::default(),
            vec![done],
        )
        .await
    }

    /// Moves a request by `action`, with its letter where the action has one.
    pub async fn act(
        &self,
        reference: &str,
        actor: &str,
        action: StaffAction,
    ) -> Result<RequestRecord, RequestError> {
        let record = self.by_reference(reference).await?;
        match action {
            StaffAction::Start => self.step(&record, actor, Action::Start, None, None).await,
            StaffAction::WaitForTasks { note } => {
                self.step(&record, actor, Action::WaitForTasks, note.as_deref(), None)
                    .await
            }
            StaffAction::Complete { note } => {
                let letter =
                    self.letter(LetterKind::Completion, &record, note.as_deref(), None, None)?;
                self.step(
                    &record,
                    actor,
                    Action::Complete,
                    note.as_deref(),
                    Some(letter),
                )
                .await
            }
            StaffAction::Refuse { reason } => {
                let reason = required(reason, "Give the reason; the person receives it.")?;
                let letter =
                    self.letter(LetterKind::Refusal, &record, None, Some(&reason), None)?;
                self.step(
                    &record,
                    actor,
                    Action::Refuse {
                        reason: reason.clone(),
                    },
                    Some(&reason),
                    Some(letter),
                )
                .await
            }
            StaffAction::Withdraw { note } => {
                self.step(&record, actor, Action::Withdraw, note.as_deref(), None)
                    .await
            }
            StaffAction::Forward { to, to_email } => {
                let to = required(to, "Name the controller the request goes to.")?;
                let action = Action::Forward { to: to.clone() };
                let next = request::transition(record.state, &action)?;
                let mut with_to = record.clone();
                with_to.forwarded_to = Some(to.clone());
                let mut mail =
                    vec![self.letter(LetterKind::Forwarded, &with_to, None, None, None)?];
                if let Some(addr) = to_email.filter(|a| !a.trim().is_empty()) {
                    let addr = EmailAddress::parse(&addr).map_err(|_| {
                        RequestError::Invalid(
                            "The controller's e-mail address is not valid.".into(),
                        )
                    })?;
                    let ctx =
                        letters::context(&self.inner.policy, &with_to, &self.inner.public_url);
                    let letter = self.inner.letters.render(
                        LetterKind::ForwardToController,
                        &record.lang,
                        &ctx,
                    )?;
                    mail.push(OwnedMail {
                        to: addr.to_string(),
                        subject: letter.subject,
                        body: letter.text,
                        kind: LetterKind::ForwardToController.key(),
                    });
                }
                let fields = Fields {
                    forwarded_to: Some(&to),
                    ..Fields::default()
                };
                self.change(
                    &record,
                    actor,
                    action.key(),
                    Some(record.state),
                    Some(next),
                    Some(&to),
                    fields,
                    mail,
                )
                .await
            }
            StaffAction::Extend { reason } => {
                let reason = reason.unwrap_or_default();
                request::may_extend(
                    record.state,
                    record.extended_due.is_some(),
                    record.legal_due,
                    Self::today(),
                    &reason,
                )?;
                let legal_extended = self.extended_due(&record)?;
                let mut extended = record.clone();
                extended.extended_due = Some(legal_extended);
                let letter = self.letter(
                    LetterKind::ExtensionNotice,
                    &extended,
                    None,
                    Some(reason.trim()),
                    None,
                )?;
                let fields = Fields {
                    extended_due: Some(legal_extended),
                    extension_reason: Some(reason.trim()),
                    ..Fields::default()
                };
                self.change(
                    &record,
                    actor,
                    "extended",
                    None,
                    None,
                    Some(reason.trim()),
                    fields,
                    vec![letter],
                )
                .await
            }
            StaffAction::ChargeFee { fee, reason } => {
                let fee = required(fee, "Give the fee, e.g. 250 DKK.")?;
                let reason = required(reason, "Give the reason; the person receives it.")?;
                // The notice goes to the address, so only once it is confirmed.
                if record.state.is_closed() || !record.state.is_verified() {
                    return Err(RequestError::Conflict(format!(
                        "a request that is {} cannot be charged a fee; only a verified, open one",
                        record.state.key()
                    )));
                }
                let letter = self.letter(
                    LetterKind::FeeNotice,
                    &record,
                    None,
                    Some(&reason),
                    Some(&fee),
                )?;
                let fields = Fields {
                    fee: Some(&fee),
                    fee_reason: Some(&reason),
                    ..Fields::default()
                };
                self.change(
                    &record,
                    actor,
                    "fee_requested",
                    None,
                    None,
                    Some(&reason),
                    fields,
                    vec![letter],
                )
                .await
            }
            StaffAction::Letter { template, text } => {
                let (kind, text) = written_letter(template.as_deref(), text)?;
                let letter = self.letter(kind, &record, Some(&text), None, None)?;
                if record.state.is_closed() {
                    return Err(RequestError::Conflict(format!(
                        "a request that is {} gets no more letters",
                        record.state.key()
                    )));
                }
                self.change(
                    &record,
                    actor,
                    "letter_sent",
                    None,
                    None,
                    Some(kind.key()),
                    Fields::default(),
                    vec![letter],
                )
                .await
            }
            StaffAction::Note { text } => {
                let text = required(text, "Write the note.")?;
                self.change(
                    &record,
                    actor,
                    "note",
                    None,
                    None,
                    Some(&text),
                    Fields::default(),
                    Vec::new(),
                )
                .await
            }
            StaffAction::Verify { how } => {
                self.verify(
                    &record,
                    actor,
                    &required(how, "Say how the identity was confirmed.")?,
                )
                .await
            }
            StaffAction::Execute { corrections } => {
                let corrections = corrections
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| ombud_fulfil::Correction {
                        system: c.system,
                        collection: c.collection,
                        field: c.field,
                        value: c.value,
                    })
                    .collect();
                self.execute(&record.reference, actor, corrections).await
            }
            StaffAction::TaskDone { task, note } => {
                let task =
                    task.ok_or_else(|| RequestError::Invalid("Name the task (its id).".into()))?;
                self.task_done(
                    &record.reference,
                    task,
                    actor,
                    clean(note, "note")?.as_deref(),
                )
                .await
            }
        }
    }

    async fn step(
        &self,
        record: &RequestRecord,
        actor: &str,
        action: Action,
        note: Option<&str>,
        letter: Option<OwnedMail>,
    ) -> Result<RequestRecord, RequestError> {
        let to = request::transition(record.state, &action)?;
        self.change(
            record,
            actor,
            action.key(),
            Some(record.state),
            Some(to),
            note,
            Fields::default(),
            letter.into_iter().collect(),
        )
        .await
    }

    /// The legal due date of `record` if it is extended (three months from receipt).
    fn extended_due(&self, record: &RequestRecord) -> Result<jiff::civil::Date, RequestError> {
        let calendar = self
            .inner
            .policy
            .rights
            .calendar()
            .map_err(|e| RequestError::Invalid(e.to_string()))?;
        Ok(request::due_dates(
            &calendar,
            record.received,
            self.inner.policy.rights.working_days,
        )
        .legal_extended)
    }

    /// The letter `action` would send to the person, without doing anything: its recipient,
    /// subject and text. `None` for actions that send no letter.
    pub async fn preview_letter(
        &self,
        reference: &str,
        action: &StaffAction,
    ) -> Result<Option<(String, String, String)>, RequestError> {
        let record = self.by_reference(reference).await?;
        fn text(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let mail = match action {
            StaffAction::Refuse { reason } => {
                self.letter(LetterKind::Refusal, &record, None, text(reason), None)?
            }
            StaffAction::ChargeFee { fee, reason } => self.letter(
                LetterKind::FeeNotice,
                &record,
                None,
                text(reason),
                text(fee),
            )?,
            StaffAction::Complete { note } => {
                self.letter(LetterKind::Completion, &record, text(note), None, None)?
            }
            StaffAction::Extend { reason } => {
                let mut extended = record.clone();
                extended.extended_due = Some(self.extended_due(&record)?);
                self.letter(
                    LetterKind::ExtensionNotice,
                    &extended,
                    None,
                    text(reason),
                    None,
                )?
            }
            StaffAction::Letter { template, text } => {
                let (kind, text) = written_letter(template.as_deref(), text.clone())?;
                self.letter(kind, &record, Some(&text), None, None)?
            }
            StaffAction::Forward { to, .. } => {
                let mut with_to = record;
                with_to.forwarded_to = text(to).map(str::to_owned);
                self.letter(LetterKind::Forwarded, &with_to, None, None, None)?
            }
            _ => return Ok(None),
        };
        Ok(Some((mail.to, mail.subject, mail.body)))
    }

    fn letter(
        &self,
        kind: LetterKind,
        record: &RequestRecord,
        note: Option<&str>,
        reason: Option<&str>,
        fee: Option<&str>,
    ) -> Result<OwnedMail, RequestError> {
        self.letter_with(kind, record, |ctx| {
            ctx.note = note.map(str::to_owned);
            ctx.reason = reason.map(str::to_owned);
            ctx.fee = fee.map(str::to_owned);
        })
    }

    /// A letter whose context `fill` completes.
    fn letter_with(
        &self,
        kind: LetterKind,
        record: &RequestRecord,
        fill: impl FnOnce(&mut ombud_mail::LetterContext),
    ) -> Result<OwnedMail, RequestError> {
        let mut ctx = letters::context(&self.inner.policy, record, &self.inner.public_url);
        fill(&mut ctx);
        let out = letters::to_person(&self.inner.letters, kind, &ctx, record)?;
        Ok(OwnedMail {
            to: out.to,
            subject: out.subject,
            body: out.text,
            kind: kind.key(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        record: &RequestRecord,
        actor: &str,
        action: &str,
        from: Option<RequestState>,
        to: Option<RequestState>,
        note: Option<&str>,
        set: Fields<'_>,
        mail: Vec<OwnedMail>,
    ) -> Result<RequestRecord, RequestError> {
        let audit = serde_json::json!({ "action": action, "from": from.map(|s| s.key()), "to": to.map(|s| s.key()) }).to_string();
        let mail: Vec<NewMail<'_>> = mail
            .iter()
            .map(|m| NewMail {
                to: &m.to,
                subject: &m.subject,
                body: &m.body,
                kind: m.kind,
                request_id: Some(record.id),
            })
            .collect();
        let change = Change {
            actor,
            action,
            from,
            to,
            note,
            set,
            mail,
            audit_details: &audit,
        };
        match self.inner.store.change_request(record.id, &change).await {
            Err(StoreError::Conflict) => Err(RequestError::Changed),
            Err(StoreError::NotFound) => Err(RequestError::NotFound),
            other => Ok(other?),
        }
    }

    /// Requests, for staff.
    pub async fn list(&self, filter: &RequestFilter) -> Result<Vec<RequestRecord>, RequestError> {
        Ok(self.inner.store.list_requests(filter).await?)
    }

    /// Expires requests that were not verified in time.
    pub async fn expire_unverified(&self) -> Result<usize, RequestError> {
        let cutoff = Timestamp::now().as_microsecond()
            - i64::from(self.inner.unverified_expiry_hours) * 3_600_000_000;
        let mut expired = 0;
        for state in [RequestState::Received, RequestState::AwaitingVerification] {
            let pending = self
                .inner
                .store
                .list_requests(&RequestFilter {
                    state: Some(state),
                    limit: 1000,
                    ..RequestFilter::default()
                })
                .await?;
            for r in pending.iter().filter(|r| {
                matches!(r.channel, Channel::Web | Channel::Api)
                    && r.created_at.as_microsecond() < cutoff
            }) {
                // Requests about platform data wait for staff, not for a code.
                let details: Details = serde_json::from_str(&r.details).unwrap_or_default();
                if details.platform_customer.is_some() {
                    continue;
                }
                let letter = self.letter(LetterKind::Expired, r, None, None, None)?;
                match self
                    .step(
                        r,
                        "system",
                        Action::Expire,
                        Some("not verified in time"),
                        Some(letter),
                    )
                    .await
                {
                    Ok(_) => expired += 1,
                    Err(RequestError::Changed) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    /// Queues a reminder to the privacy contact point for every open request whose promised
    /// or legal due date is within the reminder window, once per request and date.
    pub async fn send_reminders(&self) -> Result<usize, RequestError> {
        let policy = &self.inner.policy;
        let calendar = policy
            .rights
            .calendar()
            .map_err(|e| RequestError::Invalid(e.to_string()))?;
        let horizon = calendar.add_working_days(Self::today(), self.inner.reminder_days);
        let due = self
            .inner
            .store
            .list_requests(&RequestFilter {
                open_only: true,
                legal_due_before: None,
                limit: 1000,
                ..RequestFilter::default()
            })
            .await?;
        let mut sent = 0;
        for r in due {
            let legal = r.extended_due.unwrap_or(r.legal_due);
            for (kind, date) in [("promised", r.promised_due), ("legal", legal)] {
                if date > horizon
                    || !self
                        .inner
                        .store
                        .reminder_once(r.id, &format!("{kind}:{date}"))
                        .await?
                {
                    continue;
                }
                let ctx = letters::context(policy, &r, &self.inner.public_url);
                let letter = self.inner.letters.render(
                    LetterKind::Reminder,
                    &policy.notice.language,
                    &ctx,
                )?;
                self.inner
                    .store
                    .enqueue_mail(&NewMail {
                        to: policy.contact_point.email.as_str(),
                        subject: &letter.subject,
                        body: &letter.text,
                        kind: LetterKind::Reminder.key(),
                        request_id: Some(r.id),
                    })
                    .await?;
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// A staff action on a request, with what it needs.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum StaffAction {
    /// Identity confirmed by other means; `how` is recorded.
    Verify {
        how: Option<String>,
    },
    Start,
    WaitForTasks {
        note: Option<String>,
    },
    Complete {
        note: Option<String>,
    },
    /// Refuse with a reason; the refusal letter includes the right to complain.
    Refuse {
        reason: Option<String>,
    },
    /// Charge a reasonable fee (manifestly unfounded or excessive requests).
    ChargeFee {
        fee: Option<String>,
        reason: Option<String>,
    },
    /// Extend by two months, with the reason sent to the person.
    Extend {
        reason: Option<String>,
    },
    /// Forward to the controller (the customer that put the data in the platform).
    Forward {
        to: Option<String>,
        to_email: Option<String>,
    },
    Withdraw {
        note: Option<String>,
    },
    Note {
        text: Option<String>,
    },
    /// Carry the request out in the organisation's databases (rectification: with the
    /// corrections), with manual tasks for systems without a connector.
    Execute {
        corrections: Option<Vec<CorrectionBody>>,
    },
    /// Send the person a letter from a template that staff fill in: `information_request`
    /// (ask for what is needed to handle the request), with the text in `text`.
    Letter {
        template: Option<String>,
        text: Option<String>,
    },
    /// A manual task is done.
    TaskDone {
        task: Option<i64>,
        note: Option<String>,
    },
}

/// A new value for one field of the person's rows (rectification).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// The system of the data map, e.g. `trial_db`.
    pub system: String,
    /// The collection (table) as the data map names it.
    pub collection: String,
    /// The field (column).
    pub field: String,
    /// The corrected value.
    pub value: String,
}

/// The letters staff write from a template, by the template's name.
pub const WRITTEN_LETTERS: &[LetterKind] = &[LetterKind::InformationRequest];

/// The template and text of a written letter, checked.
fn written_letter(
    template: Option<&str>,
    text: Option<String>,
) -> Result<(LetterKind, String), RequestError> {
    let kind = template
        .and_then(LetterKind::from_key)
        .filter(|k| WRITTEN_LETTERS.contains(k))
        .ok_or_else(|| RequestError::Invalid("Choose a letter template.".into()))?;
    let text = clean(text, "letter")?
        .ok_or_else(|| RequestError::Invalid("Write what the letter should say.".into()))?;
    Ok((kind, text))
}

/// A letter ready to queue.
struct OwnedMail {
    to: String,
    subject: String,
    body: String,
    kind: &'static str,
}

fn required(v: Option<String>, message: &str) -> Result<String, RequestError> {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| RequestError::Invalid(message.to_owned()))
}

/// Trims optional free text, refusing what is too long.
fn clean(v: Option<String>, field: &str) -> Result<Option<String>, RequestError> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.len() > MAX_TEXT || s.contains('\0') => Err(RequestError::Invalid(format!(
            "The {field} is too long (at most {MAX_TEXT} characters)."
        ))),
        other => Ok(other),
    }
}

/// A public reference: `R-` and 12 characters of Crockford base32 (60 random bits), in groups
/// of four. It appears in letters and links, so it must not be guessable.
pub fn new_reference() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        bytes.copy_from_slice(&Timestamp::now().as_nanosecond().to_le_bytes()[..12]);
    }
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect();
    format!(
        "R-{}-{}-{}",
        chars[..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..].iter().collect::<String>()
    )
}

fn random_code() -> String {
    loop {
        let mut bytes = [0u8; 4];
        if getrandom::fill(&mut bytes).is_err() {
            bytes = Timestamp::now().as_nanosecond().to_le_bytes()[..4]
                .try_into()
                .unwrap_or([7; 4]);
        }
        if let Some(code) = code::from_random(bytes) {
            return code;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_look_right_and_differ() {
        let a = new_reference();
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("R-") && a.chars().filter(|c| *c == '-').count() == 3);
        assert_ne!(a, new_reference());
        assert_eq!(random_code().len(), 6);
    }
}
