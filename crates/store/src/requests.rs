//! Rights requests: the requests themselves, their timeline, identity codes and the reminders
//! already sent.
//!
//! The store does not decide what may happen to a request; `ombud_domain::request` does. The
//! caller works out the next state and asks for it with [`Change::from`] and [`Change::to`]; the
//! store applies it only if the request is still in `from` (compare-and-set), so two staff
//! members (or two nodes) acting on the same request can't both move it.
//!
//! The SQL is written once, in `request_queries!`, and instantiated for each backend. Each
//! backend only adds what differs: how a write transaction starts and how the audit head is
//! locked.
//!
//! Dates are stored as `YYYY-MM-DD` text, which sorts and compares like the dates themselves
//! in both databases as long as the year has four digits (checked on the way in).

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use ombud_domain::email::EmailAddress;
use ombud_domain::policy::Keyword;
use ombud_domain::request::{Channel, RequestState, RequestType};

use crate::StoreError;
use crate::outbox::{self, NewMail};

/// A request to store.
#[derive(Clone)]
pub struct NewRequest<'a> {
    /// The public id the caller made (random, e.g. `R-7K2M-Q9XD`). A reference that is already
    /// taken is refused with [`StoreError::Conflict`]; draw another and try again.
    pub reference: &'a str,
    pub kind: RequestType,
    pub channel: Channel,
    pub state: RequestState,
    /// Stored lowercased, so that one person's requests are found whatever case they typed.
    pub email: &'a EmailAddress,
    pub name: Option<&'a str>,
    pub lang: &'a str,
    /// A JSON object (corrections, purposes, reason, message, processor customer).
    pub details: &'a str,
    /// The day the request reached the organisation, which starts both clocks.
    pub received: Date,
    pub promised_due: Date,
    pub legal_due: Date,
    /// The policy version in force when the request was received.
    pub policy_version: i64,
    /// The reference of an earlier request that this one repeats.
    pub repeat_of: Option<&'a str>,
    /// Who created it: `web`, `api`, `user:3`, `cli`.
    pub actor: &'a str,
    /// A note for the timeline's first entry.
    pub note: Option<&'a str>,
    /// Letters queued in the same transaction (e.g. the acknowledgement). A letter without a
    /// `request_id` is attached to the new request.
    pub mail: Vec<NewMail<'a>>,
}

/// A stored request.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub id: i64,
    pub reference: String,
    pub kind: RequestType,
    pub channel: Channel,
    pub state: RequestState,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub lang: String,
    pub details: String,
    pub received: Date,
    pub promised_due: Date,
    /// One month from receipt.
    pub legal_due: Date,
    /// The legal due date after an extension (three months from receipt).
    pub extended_due: Option<Date>,
    pub extension_reason: Option<String>,
    pub policy_version: i64,
    pub repeat_of: Option<String>,
    pub fee: Option<String>,
    pub fee_reason: Option<String>,
    pub verified_by: Option<String>,
    pub verified_how: Option<String>,
    pub forwarded_to: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set when the request entered a closed state.
    pub closed_at: Option<Timestamp>,
}

impl RequestRecord {
    /// The legal deadline in force: the extended one if the request was extended.
    pub fn effective_legal_due(&self) -> Date {
        self.extended_due.unwrap_or(self.legal_due)
    }
}

/// A change to a request: optionally a state transition (compare-and-set on `from`), field
/// updates, a timeline entry, queued mail and an audit entry, all in one transaction.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub actor: &'a str,
    /// The timeline and audit verb, e.g. `verified`, `extended`, `fee_requested`, `note`
    /// (lowercase letters, digits and `_`). The audit entry's action is `request.<action>`.
    pub action: &'a str,
    /// `Some(s)`: the request must be in `s`, else [`StoreError::Conflict`] and nothing is
    /// written. Also usable without `to`, as a precondition.
    pub from: Option<RequestState>,
    /// The new state. Needs `from`: a transition is only safe against the state it was
    /// decided on.
    pub to: Option<RequestState>,
    pub note: Option<&'a str>,
    pub set: Fields<'a>,
    /// Letters queued in the same transaction. A letter without a `request_id` is attached to
    /// this request.
    pub mail: Vec<NewMail<'a>>,
    /// A JSON object without personal data; stored as given. The request's own e-mail address
    /// in it is refused.
    pub audit_details: &'a str,
}

/// Fields to set. `None` leaves a field as it is; fields are never cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    pub verified_by: Option<&'a str>,
    pub verified_how: Option<&'a str>,
    /// Set together with `extension_reason`; not before the legal due date.
    pub extended_due: Option<Date>,
    pub extension_reason: Option<&'a str>,
    /// Set together with `fee_reason`.
    pub fee: Option<&'a str>,
    pub fee_reason: Option<&'a str>,
    pub forwarded_to: Option<&'a str>,
}

/// An entry of a request's timeline. The timeline is append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    pub seq: i64,
    pub request_id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub from_state: Option<RequestState>,
    pub to_state: Option<RequestState>,
    pub note: Option<String>,
}

/// Which requests to list. Every condition given must hold.
#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub state: Option<RequestState>,
    /// Only requests in a state that is not closed.
    pub open_only: bool,
    pub kind: Option<RequestType>,
    pub channel: Option<Channel>,
    /// Legal deadline in force (the extended one if extended) on or before this day.
    pub legal_due_before: Option<Date>,
    /// Promised due date on or before this day.
    pub promised_due_before: Option<Date>,
    /// Compared lowercased, as stored.
    pub email: Option<EmailAddress>,
    /// Keyset paging: only requests after this one in [`RequestFilter::order`]. Pass the last
    /// id of the previous page (and, in due order, its promised due date as `after_due`).
    pub after_id: Option<i64>,
    /// With [`RequestOrder::Due`]: the promised due date of the request `after_id` names.
    pub after_due: Option<Date>,
    pub order: RequestOrder,
    /// 0 means [`DEFAULT_LIMIT`]; more than [`MAX_LIMIT`] means [`MAX_LIMIT`].
    pub limit: u32,
}

/// The order of a request listing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum RequestOrder {
    /// Oldest first (by id).
    #[default]
    Received,
    /// Newest first.
    Newest,
    /// Promised due date first, then id: overdue requests come first.
    Due,
}

/// Requests per page when the filter asks for 0.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most requests per page.
pub const MAX_LIMIT: u32 = 1000;

/// The identity code of a request. Only its hash is stored; the code itself exists only in the
/// letter that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub hash: [u8; 32],
    pub issued_at_us: i64,
    /// Wrong tries since this code was issued.
    pub attempts: u32,
    /// Codes sent for this request, this one included.
    pub sends: u32,
    pub last_sent_us: i64,
}

/// Longest reference.
pub const MAX_REFERENCE: usize = 64;
/// Longest short text: actor, name, language, who verified and how, fee, forwarded-to,
/// reminder kind.
pub const MAX_LINE: usize = 512;
/// Longest free text: notes and reasons.
pub const MAX_TEXT: usize = 16 * 1024;
/// Longest `details` and `audit_details` JSON.
pub const MAX_DETAILS: usize = 64 * 1024;

/// Debug output leaves out the name, the address's local part and the details: they are
/// personal data, and debug output ends up in logs.
impl fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestRecord")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("state", &self.state)
            .field("email", &self.email)
            .field("name", &self.name.as_ref().map(|_| "***"))
            .field("lang", &self.lang)
            .field("details", &"***")
            .field("received", &self.received)
            .field("promised_due", &self.promised_due)
            .field("legal_due", &self.legal_due)
            .field("extended_due", &self.extended_due)
            .field("policy_version", &self.policy_version)
            .field("repeat_of", &self.repeat_of)
            .field("fee", &self.fee)
            .field("verified_by", &self.verified_by)
            .field("verified_how", &self.verified_how)
            .field("forwarded_to", &self.forwarded_to)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("closed_at", &self.closed_at)
            .finish_non_exhaustive()
    }
}

/// Like [`RequestRecord`]'s, without personal data.
impl fmt::Debug for NewRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRequest")
            .field("reference", &self.reference)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("state", &self.state)
            .field("email", self.email)
            .field("received", &self.received)
            .field("actor", &self.actor)
            .field("mail", &self.mail)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Input rules

/// PostgreSQL can't store NUL in text, so both backends refuse it and behave the same.
fn fits(s: &str, max: usize) -> bool {
    s.len() <= max && !s.contains('\0')
}

fn fits_opt(s: Option<&str>, max: usize) -> bool {
    s.is_none_or(|s| fits(s, max))
}

fn is_json_object(s: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(s),
        Ok(serde_json::Value::Object(_))
    )
}

/// A date whose `YYYY-MM-DD` text has exactly four year digits, so text order is date order.
fn storable_date(d: Date) -> bool {
    (1..=9999).contains(&d.year())
}

pub(crate) fn check_actor(actor: &str) -> Result<(), StoreError> {
    if actor.is_empty() || !fits(actor, MAX_LINE) {
        return Err(StoreError::Invalid(
            "actor must be 1 to 512 bytes, without NUL",
        ));
    }
    Ok(())
}

pub(crate) fn check_new_request(r: &NewRequest<'_>) -> Result<(), StoreError> {
    let reference_ok = |s: &str| {
        !s.is_empty() && s.len() <= MAX_REFERENCE && s.bytes().all(|b| b.is_ascii_graphic())
    };
    if !reference_ok(r.reference) || !r.repeat_of.is_none_or(reference_ok) {
        return Err(StoreError::Invalid(
            "a request reference must be 1 to 64 visible ASCII characters",
        ));
    }
    check_actor(r.actor)?;
    if r.lang.is_empty()
        || r.lang.len() > 35
        || !r
            .lang
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(StoreError::Invalid("lang must be a language tag"));
    }
    if !fits_opt(r.name, MAX_LINE) || !fits_opt(r.note, MAX_TEXT) {
        return Err(StoreError::Invalid(
            "request name or note is too long or contains NUL",
        ));
    }
    if !fits(r.details, MAX_DETAILS) || !is_json_object(r.details) {
        return Err(StoreError::Invalid(
            "request details must be a JSON object of at most 64 KiB",
        ));
    }
    if ![r.received, r.promised_due, r.legal_due]
        .into_iter()
        .all(storable_date)
    {
        return Err(StoreError::Invalid(
            "request dates must lie in the years 1 to 9999",
        ));
    }
    if r.promised_due < r.received || r.legal_due < r.received {
        return Err(StoreError::Invalid(
            "a request cannot be due before it was received",
        ));
    }
    for m in &r.mail {
        outbox::check_mail(m)?;
    }
    Ok(())
}

pub(crate) fn check_change(c: &Change<'_>) -> Result<(), StoreError> {
    check_actor(c.actor)?;
    let action_ok = !c.action.is_empty()
        && c.action.len() <= 64
        && c.action.starts_with(|ch: char| ch.is_ascii_lowercase())
        && c.action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !action_ok {
        return Err(StoreError::Invalid(
            "a change's action must be lowercase letters, digits and _",
        ));
    }
    if c.to.is_some() && c.from.is_none() {
        return Err(StoreError::Invalid(
            "a state change must name the state it starts from",
        ));
    }
    if !fits(c.audit_details, MAX_DETAILS) || !is_json_object(c.audit_details) {
        return Err(StoreError::Invalid(
            "audit details must be a JSON object of at most 64 KiB",
        ));
    }
    if !fits_opt(c.note, MAX_TEXT) {
        return Err(StoreError::Invalid("a note is too long or contains NUL"));
    }
    let s = &c.set;
    let lines = [s.verified_by, s.verified_how, s.fee, s.forwarded_to];
    let texts = [s.extension_reason, s.fee_reason];
    if !lines.into_iter().all(|t| fits_opt(t, MAX_LINE))
        || !texts.into_iter().all(|t| fits_opt(t, MAX_TEXT))
    {
        return Err(StoreError::Invalid(
            "a request field is too long or contains NUL",
        ));
    }
    if s.extended_due.is_some() != s.extension_reason.is_some() {
        return Err(StoreError::Invalid(
            "an extension needs both its due date and its reason",
        ));
    }
    if s.extended_due.is_some_and(|d| !storable_date(d)) {
        return Err(StoreError::Invalid(
            "request dates must lie in the years 1 to 9999",
        ));
    }
    if s.fee.is_some() && s.fee_reason.is_none() {
        return Err(StoreError::Invalid("a fee needs its reason"));
    }
    for m in &c.mail {
        outbox::check_mail(m)?;
    }
    Ok(())
}

/// Checks what can only be checked against the stored request.
pub(crate) fn check_change_against(c: &Change<'_>, current: &Current) -> Result<(), StoreError> {
    if c.set
        .extended_due
        .is_some_and(|d| d.to_string() < current.legal_due)
    {
        return Err(StoreError::Invalid(
            "an extended due date cannot lie before the legal due date",
        ));
    }
    // The audit log outlives the request; the address that identifies the person must not end
    // up in it. (Stored addresses are lowercase.)
    if c.audit_details.to_lowercase().contains(&current.email) {
        return Err(StoreError::Invalid(
            "audit details must not contain the person's e-mail address",
        ));
    }
    Ok(())
}

pub(crate) fn check_reminder_kind(kind: &str) -> Result<(), StoreError> {
    if kind.is_empty() || !fits(kind, MAX_LINE) {
        return Err(StoreError::Invalid(
            "a reminder kind must be 1 to 512 bytes, without NUL",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What the queries share

/// The columns of `request`, in [`RequestRow`]'s order.
pub(crate) const REQUEST_COLUMNS: &str = "id, reference, kind, channel, state, email, name, lang, \
     details, received, promised_due, legal_due, extended_due, extension_reason, policy_version, \
     repeat_of, fee, fee_reason, verified_by, verified_how, forwarded_to, created_at_us, \
     updated_at_us, closed_at_us";

/// The legal deadline in force, as SQL; the index `request_state_due` is on this expression.
pub(crate) const EFFECTIVE_LEGAL_DUE: &str = "COALESCE(extended_due, legal_due)";

/// Timeline action of a new request.
pub(crate) const RECEIVED: &str = "received";

/// What [`Change`] needs to know about the stored request before it writes.
#[derive(sqlx::FromRow)]
pub(crate) struct Current {
    pub(crate) reference: String,
    pub(crate) state: String,
    pub(crate) email: String,
    pub(crate) legal_due: String,
}

impl Current {
    pub(crate) fn state(&self) -> Result<RequestState, StoreError> {
        RequestState::parse(&self.state).ok_or_else(|| corrupt("state"))
    }
}

/// The audit entry a request write appends, owned so it can outlive the builder.
pub(crate) struct Audit {
    pub(crate) action: String,
    pub(crate) subject: String,
    pub(crate) details: String,
}

impl Audit {
    pub(crate) fn entry<'a>(&'a self, actor: &'a str) -> crate::NewAuditEntry<'a> {
        crate::NewAuditEntry {
            actor,
            action: &self.action,
            subject: &self.subject,
            details: &self.details,
        }
    }

    /// `request.received`, naming the request and its kind and channel, nothing personal.
    pub(crate) fn received(r: &NewRequest<'_>) -> Audit {
        Audit {
            action: format!("request.{RECEIVED}"),
            subject: subject(r.reference),
            details: serde_json::json!({
                "reference": r.reference,
                "kind": r.kind.key(),
                "channel": r.channel.key(),
            })
            .to_string(),
        }
    }

    pub(crate) fn changed(c: &Change<'_>, reference: &str) -> Audit {
        Audit {
            action: format!("request.{}", c.action),
            subject: subject(reference),
            details: c.audit_details.to_owned(),
        }
    }
}

fn subject(reference: &str) -> String {
    format!("request:{reference}")
}

/// The e-mail address as stored and searched.
pub(crate) fn stored_email(e: &EmailAddress) -> String {
    e.as_str().to_lowercase()
}

/// `closed_at_us` for a request entering `state` at `now`.
pub(crate) fn closed_at(state: RequestState, now: i64) -> Option<i64> {
    state.is_closed().then_some(now)
}

/// The keys of the states that are not closed, for `open_only`.
pub(crate) fn open_states() -> impl Iterator<Item = &'static str> {
    RequestState::all()
        .iter()
        .filter(|s| !s.is_closed())
        .map(|s| s.key())
}

/// The page size a filter asks for.
pub(crate) fn page_size(limit: u32) -> i64 {
    i64::from(match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    })
}

/// Maps a foreign-key violation to `missing` (a row named by the caller doesn't exist); other
/// errors convert as usual.
pub(crate) fn missing_parent(e: sqlx::Error, missing: StoreError) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => missing,
        _ => e.into(),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored request {what} does not parse"))
}

pub(crate) fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| corrupt("time"))
}

fn date(s: &str) -> Result<Date, StoreError> {
    s.parse().map_err(|_| corrupt("date"))
}

fn state(s: &str) -> Result<RequestState, StoreError> {
    RequestState::parse(s).ok_or_else(|| corrupt("state"))
}

pub(crate) fn count(n: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what))
}

/// A row of `request`.
#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    id: i64,
    reference: String,
    kind: String,
    channel: String,
    state: String,
    email: String,
    name: Option<String>,
    lang: String,
    details: String,
    received: String,
    promised_due: String,
    legal_due: String,
    extended_due: Option<String>,
    extension_reason: Option<String>,
    policy_version: i64,
    repeat_of: Option<String>,
    fee: Option<String>,
    fee_reason: Option<String>,
    verified_by: Option<String>,
    verified_how: Option<String>,
    forwarded_to: Option<String>,
    created_at_us: i64,
    updated_at_us: i64,
    closed_at_us: Option<i64>,
}

impl TryFrom<RequestRow> for RequestRecord {
    type Error = StoreError;

    fn try_from(r: RequestRow) -> Result<Self, StoreError> {
        Ok(RequestRecord {
            id: r.id,
            reference: r.reference,
            kind: RequestType::parse(&r.kind).ok_or_else(|| corrupt("type"))?,
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("channel"))?,
            state: state(&r.state)?,
            email: EmailAddress::parse(&r.email).map_err(|_| corrupt("e-mail address"))?,
            name: r.name,
            lang: r.lang,
            details: r.details,
            received: date(&r.received)?,
            promised_due: date(&r.promised_due)?,
            legal_due: date(&r.legal_due)?,
            extended_due: r.extended_due.as_deref().map(date).transpose()?,
            extension_reason: r.extension_reason,
            policy_version: r.policy_version,
            repeat_of: r.repeat_of,
            fee: r.fee,
            fee_reason: r.fee_reason,
            verified_by: r.verified_by,
            verified_how: r.verified_how,
            forwarded_to: r.forwarded_to,
            created_at: timestamp(r.created_at_us)?,
            updated_at: timestamp(r.updated_at_us)?,
            closed_at: r.closed_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn records(rows: Vec<RequestRow>) -> Result<Vec<RequestRecord>, StoreError> {
    rows.into_iter().map(RequestRecord::try_from).collect()
}

/// A row of `request_event`.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    request_id: i64,
    at_us: i64,
    actor: String,
    action: String,
    from_state: Option<String>,
    to_state: Option<String>,
    note: Option<String>,
}

impl TryFrom<EventRow> for RequestEvent {
    type Error = StoreError;

    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(RequestEvent {
            seq: r.seq,
            request_id: r.request_id,
            at: timestamp(r.at_us)?,
            actor: r.actor,
            action: r.action,
            from_state: r.from_state.as_deref().map(state).transpose()?,
            to_state: r.to_state.as_deref().map(state).transpose()?,
            note: r.note,
        })
    }
}

/// A row of `request_code`.
#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    hash: Vec<u8>,
    issued_at_us: i64,
    attempts: i64,
    sends: i64,
    last_sent_us: i64,
}

impl TryFrom<CodeRow> for CodeState {
    type Error = StoreError;

    fn try_from(r: CodeRow) -> Result<Self, StoreError> {
        Ok(CodeState {
            hash: r
                .hash
                .try_into()
                .map_err(|_| corrupt("identity code hash"))?,
            issued_at_us: r.issued_at_us,
            attempts: count(r.attempts, "code attempts")?,
            sends: count(r.sends, "code sends")?,
            last_sent_us: r.last_sent_us,
        })
    }
}

/// The requests' SQL for one backend. `$db` is the sqlx database type and `$conn` its
/// connection. Every function runs in whatever transaction the caller's connection is in; the
/// backend decides how writes are serialised and appends the audit entries.
macro_rules! request_queries {
    ($db:ty, $conn:ty) => {
        use sqlx::QueryBuilder;

        use ombud_domain::policy::Keyword as _;
        use $crate::StoreError;
        use $crate::requests::{
            Audit, Change, CodeRow, CodeState, Current, EFFECTIVE_LEGAL_DUE, EventRow, NewRequest,
            RECEIVED, REQUEST_COLUMNS, RequestEvent, RequestFilter, RequestOrder, RequestRecord, RequestRow,
            closed_at, missing_parent, open_states, page_size, records, stored_email,
        };

        /// Inserts the request and its first timeline entry. Returns the new id and the audit
        /// entry to append.
        pub(crate) async fn create(
            conn: &mut $conn,
            r: &NewRequest<'_>,
            now: i64,
        ) -> Result<(i64, Audit), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO request (reference, kind, channel, state, email, name, lang, details, \
                 received, promised_due, legal_due, policy_version, repeat_of, created_at_us, \
                 updated_at_us, closed_at_us) VALUES (",
            );
            let mut values = qb.separated(", ");
            values
                .push_bind(r.reference)
                .push_bind(r.kind.key())
                .push_bind(r.channel.key())
                .push_bind(r.state.key())
                .push_bind(stored_email(r.email))
                .push_bind(r.name)
                .push_bind(r.lang)
                .push_bind(r.details)
                .push_bind(r.received.to_string())
                .push_bind(r.promised_due.to_string())
                .push_bind(r.legal_due.to_string())
                .push_bind(r.policy_version)
                .push_bind(r.repeat_of)
                .push_bind(now)
                .push_bind(now)
                .push_bind(closed_at(r.state, now));
            qb.push(") RETURNING id");
            let id: i64 = qb
                .build_query_scalar()
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    missing_parent(
                        e,
                        StoreError::Invalid(
                            "policy_version and repeat_of must name a stored policy version and request",
                        ),
                    )
                })?;
            event(conn, id, now, r.actor, RECEIVED, None, Some(r.state.key()), r.note).await?;
            Ok((id, Audit::received(r)))
        }

        /// Applies `c` to request `id`: checks `from`, sets the fields and the state, and adds
        /// the timeline entry. Returns the audit entry to append.
        pub(crate) async fn change(
            conn: &mut $conn,
            id: i64,
            c: &Change<'_>,
            now: i64,
        ) -> Result<Audit, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT reference, state, email, legal_due FROM request WHERE id = ",
            );
            qb.push_bind(id);
            let current: Current = qb
                .build_query_as()
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
            let state = current.state()?;
            if c.from.is_some_and(|from| from != state) {
                return Err(StoreError::Conflict);
            }
            $crate::requests::check_change_against(c, &current)?;

            let s = &c.set;
            let mut qb = QueryBuilder::<$db>::new("UPDATE request SET updated_at_us = ");
            qb.push_bind(now);
            let texts = [
                ("verified_by", s.verified_by),
                ("verified_how", s.verified_how),
                ("extension_reason", s.extension_reason),
                ("fee", s.fee),
                ("fee_reason", s.fee_reason),
                ("forwarded_to", s.forwarded_to),
            ];
            for (column, value) in texts {
                if let Some(v) = value {
                    qb.push(format_args!(", {column} = ")).push_bind(v);
                }
            }
            if let Some(d) = s.extended_due {
                qb.push(", extended_due = ").push_bind(d.to_string());
            }
            if let Some(to) = c.to {
                qb.push(", state = ").push_bind(to.key());
                qb.push(", closed_at_us = ").push_bind(closed_at(to, now));
            }
            // Compare-and-set on the state just read: a concurrent change in between makes
            // this update match nothing, whatever the isolation level.
            qb.push(" WHERE id = ").push_bind(id);
            qb.push(" AND state = ").push_bind(current.state.as_str());
            if qb.build().execute(&mut *conn).await?.rows_affected() != 1 {
                return Err(StoreError::Conflict);
            }
            event(
                conn,
                id,
                now,
                c.actor,
                c.action,
                c.to.map(|_| state.key()),
                c.to.map(|to| to.key()),
                c.note,
            )
            .await?;
            Ok(Audit::changed(c, &current.reference))
        }

        #[allow(clippy::too_many_arguments)]
        async fn event(
            conn: &mut $conn,
            request_id: i64,
            at_us: i64,
            actor: &str,
            action: &str,
            from_state: Option<&str>,
            to_state: Option<&str>,
            note: Option<&str>,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO request_event (request_id, at_us, actor, action, from_state, \
                 to_state, note) VALUES (",
            );
            qb.separated(", ")
                .push_bind(request_id)
                .push_bind(at_us)
                .push_bind(actor)
                .push_bind(action)
                .push_bind(from_state)
                .push_bind(to_state)
                .push_bind(note);
            qb.push(")");
            qb.build().execute(&mut *conn).await?;
            Ok(())
        }

        pub(crate) async fn by_id(
            conn: &mut $conn,
            id: i64,
        ) -> Result<Option<RequestRecord>, StoreError> {
            let mut qb =
                QueryBuilder::<$db>::new(format!("SELECT {REQUEST_COLUMNS} FROM request WHERE id = "));
            qb.push_bind(id);
            let row: Option<RequestRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(RequestRecord::try_from).transpose()
        }

        pub(crate) async fn by_reference(
            conn: &mut $conn,
            reference: &str,
        ) -> Result<Option<RequestRecord>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {REQUEST_COLUMNS} FROM request WHERE reference = "
            ));
            qb.push_bind(reference);
            let row: Option<RequestRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(RequestRecord::try_from).transpose()
        }

        /// The requests that match `f`, by ascending id.
        pub(crate) async fn list(
            conn: &mut $conn,
            f: &RequestFilter,
        ) -> Result<Vec<RequestRecord>, StoreError> {
            let mut qb =
                QueryBuilder::<$db>::new(format!("SELECT {REQUEST_COLUMNS} FROM request WHERE 1 = 1"));
            if let Some(s) = f.state {
                qb.push(" AND state = ").push_bind(s.key());
            }
            if f.open_only {
                qb.push(" AND state IN (");
                let mut list = qb.separated(", ");
                for s in open_states() {
                    list.push_bind(s);
                }
                qb.push(")");
            }
            if let Some(k) = f.kind {
                qb.push(" AND kind = ").push_bind(k.key());
            }
            if let Some(c) = f.channel {
                qb.push(" AND channel = ").push_bind(c.key());
            }
            if let Some(d) = f.legal_due_before {
                qb.push(format_args!(" AND {EFFECTIVE_LEGAL_DUE} <= "))
                    .push_bind(d.to_string());
            }
            if let Some(d) = f.promised_due_before {
                qb.push(" AND promised_due <= ").push_bind(d.to_string());
            }
            if let Some(e) = &f.email {
                qb.push(" AND email = ").push_bind(stored_email(e));
            }
            match (f.order, f.after_id) {
                (RequestOrder::Received, Some(after)) => {
                    qb.push(" AND id > ").push_bind(after);
                }
                (RequestOrder::Newest, Some(after)) => {
                    qb.push(" AND id < ").push_bind(after);
                }
                (RequestOrder::Due, Some(after)) => {
                    let due = f.after_due.map(|d| d.to_string()).unwrap_or_default();
                    qb.push(" AND (promised_due > ")
                        .push_bind(due.clone())
                        .push(" OR (promised_due = ")
                        .push_bind(due)
                        .push(" AND id > ")
                        .push_bind(after)
                        .push("))");
                }
                (_, None) => {}
            }
            qb.push(match f.order {
                RequestOrder::Received => " ORDER BY id",
                RequestOrder::Newest => " ORDER BY id DESC",
                RequestOrder::Due => " ORDER BY promised_due, id",
            });
            qb.push(" LIMIT ").push_bind(page_size(f.limit));
            let rows: Vec<RequestRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            records(rows)
        }

        pub(crate) async fn timeline(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Vec<RequestEvent>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT seq, request_id, at_us, actor, action, from_state, to_state, note \
                 FROM request_event WHERE request_id = ",
            );
            qb.push_bind(request_id).push(" ORDER BY seq");
            let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(RequestEvent::try_from).collect()
        }

        /// Replaces the request's code: new hash, issued now, no attempts, one more send.
        pub(crate) async fn store_code(
            conn: &mut $conn,
            request_id: i64,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<CodeState, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO request_code (request_id, hash, issued_at_us, attempts, sends, \
                 last_sent_us) VALUES (",
            );
            qb.separated(", ")
                .push_bind(request_id)
                .push_bind(&hash[..])
                .push_bind(now)
                .push_bind(0_i64)
                .push_bind(1_i64)
                .push_bind(now);
            qb.push(
                ") ON CONFLICT (request_id) DO UPDATE SET hash = excluded.hash, \
                 issued_at_us = excluded.issued_at_us, attempts = 0, \
                 sends = request_code.sends + 1, last_sent_us = excluded.last_sent_us \
                 RETURNING hash, issued_at_us, attempts, sends, last_sent_us",
            );
            let row: CodeRow = qb
                .build_query_as()
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| missing_parent(e, StoreError::NotFound))?;
            CodeState::try_from(row)
        }

        pub(crate) async fn code_state(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Option<CodeState>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT hash, issued_at_us, attempts, sends, last_sent_us FROM request_code \
                 WHERE request_id = ",
            );
            qb.push_bind(request_id);
            let row: Option<CodeRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(CodeState::try_from).transpose()
        }

        /// One more wrong try, counted in the database so concurrent tries can't be lost.
        pub(crate) async fn code_failed(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<u32, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE request_code SET attempts = attempts + 1 WHERE request_id = ",
            );
            qb.push_bind(request_id).push(" RETURNING attempts");
            let attempts: Option<i64> =
                qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            $crate::requests::count(attempts.ok_or(StoreError::NotFound)?, "code attempts")
        }

        /// Records `(request_id, kind)`; true if it was not recorded before.
        pub(crate) async fn reminder_once(
            conn: &mut $conn,
            request_id: i64,
            kind: &str,
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO request_reminder (request_id, kind, at_us) VALUES (",
            );
            qb.separated(", ").push_bind(request_id).push_bind(kind).push_bind(now);
            qb.push(") ON CONFLICT (request_id, kind) DO NOTHING");
            let done = qb
                .build()
                .execute(&mut *conn)
                .await
                .map_err(|e| missing_parent(e, StoreError::NotFound))?;
            Ok(done.rows_affected() == 1)
        }
    };
}
pub(crate) use request_queries;

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn four_digit_years_print_as_ten_characters_and_sort_as_text() {
        for d in [
            date(1, 1, 1),
            date(999, 12, 31),
            date(2026, 3, 30),
            date(9999, 12, 31),
        ] {
            assert!(storable_date(d));
            assert_eq!(d.to_string().len(), 10, "{d}");
        }
        assert_eq!(date(999, 12, 31).to_string(), "0999-12-31");
        assert!(date(999, 12, 31).to_string() < date(1000, 1, 1).to_string());
        assert!(!storable_date(date(-1, 1, 1)));
        assert!(!storable_date(date(0, 1, 1)));
    }

    /// The closed states in the migrations' CHECK must be the domain's closed states, or the
    /// database would refuse (or allow) a `closed_at` the domain disagrees with.
    #[test]
    fn the_migrations_know_the_domain_states() {
        for sql in [
            include_str!("../migrations/sqlite/0003_requests.sql"),
            include_str!("../migrations/postgres/0003_requests.sql"),
        ] {
            let closed_rule = sql
                .lines()
                .find(|l| l.contains("closed_at_us IS NOT NULL"))
                .expect("the closed_at CHECK is on one line");
            let states_rule = sql
                .lines()
                .find(|l| l.contains("state IN ('received'"))
                .expect("the state CHECK is on one line");
            for s in RequestState::all() {
                let quoted = format!("'{}'", s.key());
                assert!(
                    states_rule.contains(&quoted),
                    "{s} missing from the state CHECK"
                );
                assert_eq!(
                    closed_rule.contains(&quoted),
                    s.is_closed(),
                    "{s} in the closed CHECK"
                );
            }
        }
    }

    /// The server runs these in spawned tasks, so their futures must be `Send`. Checked by the
    /// compiler; never called.
    #[allow(dead_code)]
    fn store_futures_are_send(
        store: &crate::Store,
        r: &NewRequest<'_>,
        c: &Change<'_>,
        m: &NewMail<'_>,
        f: &RequestFilter,
    ) {
        fn send<T: Send>(_: T) {}
        send(store.create_request(r));
        send(store.change_request(1, c));
        send(store.list_requests(f));
        send(store.request_timeline(1));
        send(store.store_code(1, &[0; 32]));
        send(store.enqueue_mail(m));
        send(store.lease_mail(1, std::time::Duration::from_secs(1)));
        send(store.mail_failed(1, "", None));
        send(store.mail_status(1));
        send(store.reminder_once(1, "k"));
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0), 100);
        assert_eq!(page_size(7), 7);
        assert_eq!(page_size(5000), 1000);
    }
}
