//! The consent API for other systems: record events, read a person's state and history, check
//! whether a purpose may be processed, link subjects, and export the proof. Every route needs
//! the API token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::consent::{self, Method, State as ConsentState, SubjectKey, Target, truncate_ip};
use ombud_domain::policy::{Keyword, PurposeId};
use ombud_store::{ConsentEvent, NewAuditEntry, NewConsentEvent, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{ApiCaller, scope};
use crate::error::{ApiError, ApiJson, ApiQuery, Problem};
use crate::state::AppState;

/// Most events one request may record.
pub const MAX_EVENTS: usize = 1000;

/// Clock skew tolerated for an event time given by the caller.
const FUTURE_SKEW_US: i64 = 5 * 60 * 1_000_000;

/// Events to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordEvents {
    /// At most 1000 events, recorded in order, all or none.
    pub events: Vec<EventInput>,
}

/// One consent decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Who: `email:ann@example.com`, `phone:+4570225364`, `customer:C-1042` or
    /// `visitor:<32 hex digits>`.
    #[schema(example = "email:ann@example.com")]
    pub subject: String,
    /// What: `purpose:<purpose id>` or `cookies:<cookie category id>` of the policy.
    #[schema(example = "purpose:marketing")]
    pub target: String,
    /// Granted (`true`) or refused or withdrawn (`false`).
    pub granted: bool,
    /// How: `banner`, `form`, `email`, `phone`, `letter`, `api` or `import`.
    #[schema(example = "form")]
    pub method: String,
    /// The exact wording shown; ombud keeps its SHA-256. Give this or `wording_hash`.
    pub wording: Option<String>,
    /// SHA-256 (hex) of the wording shown.
    pub wording_hash: Option<String>,
    /// The policy version in force when the person decided; default: the current one.
    pub policy_version: Option<i64>,
    /// Whether a Global Privacy Control signal was present.
    #[serde(default)]
    pub gpc: bool,
    /// The page URL or system the decision came from.
    pub source: Option<String>,
    /// Who recorded it; required for `email`, `phone` and `letter`.
    pub recorded_by: Option<String>,
    /// When the person decided (RFC 3339); default: now. Not in the future.
    pub at: Option<String>,
    pub user_agent: Option<String>,
    /// The person's IP address; ombud keeps only the /24 (IPv4) or /48 (IPv6) network.
    pub ip: Option<String>,
}

/// A recorded event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    pub seq: i64,
    pub subject: String,
    pub target: String,
    pub granted: bool,
    pub method: String,
    pub policy_version: i64,
    pub wording_hash: Option<String>,
    pub gpc: bool,
    pub source: Option<String>,
    pub recorded_by: Option<String>,
    pub user_agent: Option<String>,
    pub ip_prefix: Option<String>,
    /// RFC 3339, UTC.
    pub at: String,
    /// When a grant lapses (RFC 3339, UTC).
    pub expires_at: Option<String>,
}

impl From<&ConsentEvent> for EventOut {
    fn from(e: &ConsentEvent) -> Self {
        let ev = &e.event;
        EventOut {
            seq: e.seq,
            subject: ev.subject.to_string(),
            target: ev.target.to_string(),
            granted: ev.granted,
            method: ev.method.key().to_owned(),
            policy_version: ev.policy_version,
            wording_hash: ev.wording_hash.clone(),
            gpc: ev.gpc,
            source: ev.source.clone(),
            recorded_by: ev.recorded_by.clone(),
            user_agent: ev.user_agent.clone(),
            ip_prefix: ev.ip_prefix.clone(),
            at: ev.at.to_string(),
            expires_at: ev.expires_at.map(|t| t.to_string()),
        }
    }
}

/// Events, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventOut>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// The current state of one subject and target.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StateOut {
    pub subject: String,
    pub target: String,
    pub granted: bool,
    /// When the deciding event happened (RFC 3339).
    pub since: String,
    /// The deciding event.
    pub event_seq: i64,
    pub expires_at: Option<String>,
}

impl From<&ConsentState> for StateOut {
    fn from(s: &ConsentState) -> Self {
        StateOut {
            subject: s.subject.to_string(),
            target: s.target.to_string(),
            granted: s.granted,
            since: micros(s.since_us),
            event_seq: s.event_seq,
            expires_at: s.expires_at_us.map(micros),
        }
    }
}

fn micros(us: i64) -> String {
    Timestamp::from_microsecond(us).map_or_else(|_| us.to_string(), |t| t.to_string())
}

/// A person's current consent: every linked subject's states.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectState {
    pub subject: String,
    /// The subject and every subject linked to it.
    pub linked: Vec<String>,
    pub states: Vec<StateOut>,
}

/// Whether a purpose may be processed for a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckOut {
    pub subject: String,
    pub purpose: String,
    pub allowed: bool,
    /// The legal basis relied on when allowed (`consent`, `legitimate_interests`, ...).
    pub basis: Option<String>,
    /// `consented`, `other_basis`, `no_consent`, `refused`, `expired`, `no_legal_basis` or
    /// `restricted` (processing restricted for the person, Art. 18; only consented purposes
    /// stay allowed).
    pub reason: String,
    /// The state the answer rests on, when it rests on consent.
    pub state: Option<StateOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubjectQuery {
    /// The subject, e.g. `email:ann@example.com`.
    pub subject: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub subject: String,
    /// Only events after this sequence number.
    pub after: Option<i64>,
    /// At most this many events (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    pub subject: String,
    /// A purpose id of the policy.
    pub purpose: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    pub subject: String,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Two subjects that are the same person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[schema(example = "visitor:0123456789abcdef0123456789abcdef")]
    pub a: String,
    #[schema(example = "email:ann@example.com")]
    pub b: String,
}

fn subject(field: &str, s: &str) -> Result<SubjectKey, ApiError> {
    SubjectKey::parse(s).map_err(|e| ApiError::Unprocessable(format!("{field}: {e}.")))
}

/// Record consent events.
#[utoipa::path(
    post,
    path = "/api/v1/consent/events",
    tag = "consent",
    security(("bearer" = ["consent:write"])),
    request_body = RecordEvents,
    responses(
        (status = CREATED, description = "Stored durably, in order", body = EventList),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "An event is invalid; nothing was stored",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn record(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::ConsentWrite>,
    ApiJson(body): ApiJson<RecordEvents>,
) -> Result<(StatusCode, Json<EventList>), ApiError> {
    if body.events.is_empty() || body.events.len() > MAX_EVENTS {
        return Err(ApiError::Unprocessable(format!(
            "Send 1 to {MAX_EVENTS} events per request."
        )));
    }
    let now = Timestamp::now();
    let mut events = Vec::with_capacity(body.events.len());
    for (i, e) in body.events.iter().enumerate() {
        events.push(validate(&state, i, e, now).await?);
    }
    let stored = state.writer().record(events).await?;
    let events = stored.iter().map(EventOut::from).collect();
    Ok((
        StatusCode::CREATED,
        Json(EventList {
            events,
            next_after: None,
        }),
    ))
}

async fn validate(
    state: &AppState,
    i: usize,
    e: &EventInput,
    now: Timestamp,
) -> Result<NewConsentEvent, ApiError> {
    let field = |name: &str| format!("events[{i}].{name}");
    let bad = |name: &str, why: String| ApiError::Unprocessable(format!("{}: {why}", field(name)));
    let policy = state.model();
    let subject = subject(&field("subject"), &e.subject)?;
    let target = Target::parse(&e.target).map_err(|err| bad("target", format!("{err}.")))?;
    if !target.exists_in(policy) {
        return Err(bad(
            "target",
            format!("`{}` is not declared in the policy in force.", e.target),
        ));
    }
    let method = Method::parse(&e.method).ok_or_else(|| {
        bad(
            "method",
            format!("use one of: {}.", Method::keys().join(", ")),
        )
    })?;
    let wording_hash = match (&e.wording, &e.wording_hash) {
        (Some(w), None) => Some(consent::wording_hash(w)),
        (None, Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(h.to_ascii_lowercase())
        }
        (None, Some(_)) => {
            return Err(bad(
                "wording_hash",
                "must be 64 hexadecimal digits (SHA-256).".into(),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "wording",
                "give `wording` or `wording_hash`, not both.".into(),
            ));
        }
        (None, None) => {
            return Err(bad(
                "wording",
                "give the wording shown (`wording`) or its SHA-256 (`wording_hash`).".into(),
            ));
        }
    };
    let version = e.policy_version.unwrap_or(state.policy().version.id);
    if !state.is_known_version(version).await? {
        return Err(bad(
            "policy_version",
            format!("{version} is not a stored policy version."),
        ));
    }
    if method.recorded_by_staff() && e.recorded_by.as_deref().is_none_or(str::is_empty) {
        return Err(bad(
            "recorded_by",
            format!("a consent given by {method} must name who recorded it."),
        ));
    }
    let at = match &e.at {
        None => now,
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            bad(
                "at",
                "must be an RFC 3339 time such as 2026-03-31T09:30:00Z.".into(),
            )
        })?,
    };
    if at.as_microsecond() > now.as_microsecond() + FUTURE_SKEW_US {
        return Err(bad("at", "lies in the future.".into()));
    }
    let ip_prefix = match &e.ip {
        None => None,
        Some(ip) => Some(truncate_ip(
            ip.parse()
                .map_err(|_| bad("ip", "is not an IP address.".into()))?,
        )),
    };
    let expires_at = if e.granted {
        consent::add_period(at.as_microsecond(), policy.consent.expires_after)
            .and_then(|us| Timestamp::from_microsecond(us).ok())
    } else {
        None
    };
    for (name, value) in [
        ("source", &e.source),
        ("recorded_by", &e.recorded_by),
        ("user_agent", &e.user_agent),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.len() > ombud_store::consent::MAX_TEXT || v.contains('\0'))
        {
            return Err(bad(name, "must be under 2048 bytes, without NUL.".into()));
        }
    }
    Ok(NewConsentEvent {
        subject,
        target,
        granted: e.granted,
        method,
        policy_version: version,
        wording_hash,
        gpc: e.gpc,
        source: e.source.clone(),
        recorded_by: e.recorded_by.clone(),
        user_agent: e.user_agent.clone(),
        ip_prefix,
        at,
        expires_at,
    })
}

/// A person's current consent states.
#[utoipa::path(
    get,
    path = "/api/v1/consent/state",
    tag = "consent",
    security(("bearer" = ["read"])),
    params(SubjectQuery),
    responses(
        (status = OK, body = SubjectState),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn current_state(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::Read>,
    ApiQuery(q): ApiQuery<SubjectQuery>,
) -> Result<Json<SubjectState>, ApiError> {
    let subject = subject("subject", &q.subject)?;
    let linked = state.store().consent_subjects(&subject).await?;
    let states = state.store().consent_states(&linked).await?;
    Ok(Json(SubjectState {
        subject: subject.to_string(),
        linked: linked.iter().map(ToString::to_string).collect(),
        states: states.iter().map(StateOut::from).collect(),
    }))
}

/// A person's consent events, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/consent/history",
    tag = "consent",
    security(("bearer" = ["read"])),
    params(HistoryQuery),
    responses(
        (status = OK, body = EventList),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn history(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::Read>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<EventList>, ApiError> {
    let subject = subject("subject", &q.subject)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let linked = state.store().consent_subjects(&subject).await?;
    let events = state
        .store()
        .consent_history(&linked, q.after.unwrap_or(0), limit)
        .await?;
    let next_after = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(Json(EventList {
        events: events.iter().map(EventOut::from).collect(),
        next_after,
    }))
}

/// May this purpose be processed for this person? Consent-based purposes need a valid grant;
/// purposes on another legal basis answer from the policy, unless the person refused consent.
#[utoipa::path(
    get,
    path = "/api/v1/consent/check",
    tag = "consent",
    security(("bearer" = ["read"])),
    params(CheckQuery),
    responses(
        (status = OK, body = CheckOut),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "No such purpose", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn check(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::Read>,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> Result<Json<CheckOut>, ApiError> {
    let subject = subject("subject", &q.subject)?;
    let purpose = PurposeId::parse(&q.purpose)
        .ok()
        .filter(|p| state.model().purpose(p).is_some())
        .ok_or(ApiError::NotFound("The purpose"))?;
    let answer = state
        .store()
        .check_consent(
            state.model(),
            &purpose,
            &subject,
            Timestamp::now().as_microsecond(),
        )
        .await?;
    Ok(Json(CheckOut {
        subject: subject.to_string(),
        purpose: purpose.to_string(),
        allowed: answer.allowed,
        basis: answer.basis.map(|b| b.key().to_owned()),
        reason: answer.reason.key().to_owned(),
        state: answer.state.as_ref().map(StateOut::from),
    }))
}

/// Record that two subjects are the same person; both histories then answer for them.
#[utoipa::path(
    post,
    path = "/api/v1/consent/links",
    tag = "consent",
    security(("bearer" = ["consent:write"])),
    request_body = LinkBody,
    responses(
        (status = NO_CONTENT, description = "Linked"),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn link(
    State(state): State<AppState>,
    caller: ApiCaller<scope::ConsentWrite>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<StatusCode, ApiError> {
    let a = subject("a", &body.a)?;
    let b = subject("b", &body.b)?;
    state.store().link_subjects(&a, &b, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The proof of a person's consent: every event with its evidence, the current states and the
/// policy versions they refer to, as JSON or CSV. The export is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/consent/proof",
    tag = "consent",
    security(("bearer" = ["read"])),
    params(ProofQuery),
    responses(
        (status = OK, description = "JSON (ConsentProof) or CSV (one row per event)", body = ConsentProof),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn proof(
    State(state): State<AppState>,
    caller: ApiCaller<scope::Read>,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> Result<Response, ApiError> {
    let subject = subject("subject", &q.subject)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::Unprocessable("format: use json or csv.".into())),
    };
    proof_export(&state, &subject, csv, &caller.actor()).await
}

/// The proof of `subject`'s consent as JSON or CSV, with a `consent.proof_exported` audit entry
/// by `actor` (the API and the console share it).
pub(crate) async fn proof_export(
    state: &AppState,
    subject: &SubjectKey,
    csv: bool,
    actor: &str,
) -> Result<Response, ApiError> {
    let proof = build_proof(state.store(), subject).await?;
    let details = serde_json::json!({
        "format": if csv { "csv" } else { "json" },
        "events": proof.events.len(),
        "kinds": proof.subjects.iter().map(|s| s.split(':').next().unwrap_or("")).collect::<Vec<_>>(),
    })
    .to_string();
    state
        .store()
        .append_audit(NewAuditEntry {
            actor,
            action: "consent.proof_exported",
            subject: "consent:proof",
            details: &details,
        })
        .await?;
    if csv {
        let body = proof_csv(&proof);
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"consent-proof.csv\""),
            ),
        ];
        return Ok((headers, body).into_response());
    }
    Ok(Json(proof).into_response())
}

/// Everything that proves a person's consent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentProof {
    pub subject: String,
    pub subjects: Vec<String>,
    /// When this export was made (RFC 3339).
    pub generated_at: String,
    pub states: Vec<StateOut>,
    pub events: Vec<EventOut>,
    /// The policy versions the events refer to.
    pub policy_versions: Vec<crate::routes::PolicyVersionItem>,
}

/// Builds the proof for `subject` and everyone linked to it (shared with the CLI's export).
pub async fn build_proof(store: &Store, subject: &SubjectKey) -> Result<ConsentProof, StoreError> {
    let linked = store.consent_subjects(subject).await?;
    let states = store.consent_states(&linked).await?;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.consent_history(&linked, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        events.extend(page);
    }
    let mut versions: Vec<i64> = events.iter().map(|e| e.event.policy_version).collect();
    versions.sort_unstable();
    versions.dedup();
    let mut policy_versions = Vec::new();
    for v in versions {
        if let Some(pv) = store.policy_version(v).await? {
            policy_versions.push(crate::routes::PolicyVersionItem {
                id: pv.id,
                hash: pv.hash,
                label: pv.label,
                activated_at: pv.activated_at.to_string(),
            });
        }
    }
    Ok(ConsentProof {
        subject: subject.to_string(),
        subjects: linked.iter().map(ToString::to_string).collect(),
        generated_at: Timestamp::now().to_string(),
        states: states.iter().map(StateOut::from).collect(),
        events: events.iter().map(EventOut::from).collect(),
        policy_versions,
    })
}

/// One row per event, with the evidence.
pub fn proof_csv(proof: &ConsentProof) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "seq",
        "at",
        "subject",
        "target",
        "granted",
        "method",
        "policy_version",
        "wording_hash",
        "gpc",
        "source",
        "recorded_by",
        "user_agent",
        "ip_prefix",
        "expires_at",
    ]);
    for e in &proof.events {
        let seq = e.seq.to_string();
        let version = e.policy_version.to_string();
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let _ = w.write_record([
            seq.as_str(),
            &e.at,
            &e.subject,
            &e.target,
            if e.granted { "true" } else { "false" },
            &e.method,
            &version,
            &opt(&e.wording_hash),
            if e.gpc { "true" } else { "false" },
            &opt(&e.source),
            &opt(&e.recorded_by),
            &opt(&e.user_agent),
            &opt(&e.ip_prefix),
            &opt(&e.expires_at),
        ]);
    }
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}
