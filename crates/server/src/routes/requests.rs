//! The rights-request API, for other systems and staff tools: intake, lists (overdue, due soon),
//! one request with its timeline and letters, and every staff action.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use ombud_domain::policy::Keyword;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_store::{RequestFilter, RequestRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{ApiCaller, scope};
use crate::error::{ApiError, ApiJson, ApiQuery, Problem};
use crate::requests::{Details, RequestError, StaffAction, Submission};
use crate::state::AppState;

/// A new request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    /// `access`, `rectification`, `erasure`, `restriction`, `portability`, `objection`,
    /// `automated_decisions` or `withdraw_consent`.
    #[schema(example = "access")]
    pub kind: String,
    #[schema(example = "ann@example.com")]
    pub email: String,
    pub name: Option<String>,
    /// `en` (default) or `da`: the language of the letters.
    pub lang: Option<String>,
    /// How it reached the organisation: `api` (default), `email`, `phone`, `letter`, `in_person`.
    pub channel: Option<String>,
    /// The day it reached the organisation (YYYY-MM-DD); default today. Deadlines count from it.
    pub received: Option<String>,
    /// Send the person an identity code now (default: yes for `api`, no for staff channels).
    pub send_code: Option<bool>,
    #[serde(default)]
    pub details: DetailsBody,
}

/// Extra facts by request type.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsBody {
    /// Rectification: what is wrong and what it should say.
    pub corrections: Option<String>,
    /// Objection or withdrawal of consent: purpose ids.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Restriction: why.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The customer that put the data in the platform (the request is then forwarded to it).
    pub platform_customer: Option<String>,
}

/// A request as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestOut {
    pub reference: String,
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub email: String,
    pub name: Option<String>,
    pub lang: String,
    pub details: serde_json::Value,
    pub received: String,
    pub promised_due: String,
    pub legal_due: String,
    pub extended_due: Option<String>,
    pub extension_reason: Option<String>,
    /// Reference of an earlier request of the same type by the same person (possibly excessive).
    pub repeat_of: Option<String>,
    pub fee: Option<String>,
    pub fee_reason: Option<String>,
    pub verified_by: Option<String>,
    pub verified_how: Option<String>,
    pub forwarded_to: Option<String>,
    pub policy_version: i64,
    pub created_at: String,
    pub closed_at: Option<String>,
    /// Open, and past its legal (or extended) due date.
    pub overdue: bool,
}

impl From<&RequestRecord> for RequestOut {
    fn from(r: &RequestRecord) -> Self {
        let today = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        RequestOut {
            reference: r.reference.clone(),
            kind: r.kind.key().to_owned(),
            channel: r.channel.key().to_owned(),
            state: r.state.key().to_owned(),
            email: r.email.to_string(),
            name: r.name.clone(),
            lang: r.lang.clone(),
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            received: r.received.to_string(),
            promised_due: r.promised_due.to_string(),
            legal_due: r.legal_due.to_string(),
            extended_due: r.extended_due.map(|d| d.to_string()),
            extension_reason: r.extension_reason.clone(),
            repeat_of: r.repeat_of.clone(),
            fee: r.fee.clone(),
            fee_reason: r.fee_reason.clone(),
            verified_by: r.verified_by.clone(),
            verified_how: r.verified_how.clone(),
            forwarded_to: r.forwarded_to.clone(),
            policy_version: r.policy_version,
            created_at: r.created_at.to_string(),
            closed_at: r.closed_at.map(|t| t.to_string()),
            overdue: !r.state.is_closed() && today > r.extended_due.unwrap_or(r.legal_due),
        }
    }
}

/// Requests, in order of creation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestOut>,
    /// Pass as `after` for the next page.
    pub next_after: Option<String>,
}

/// One entry of a request's timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub note: Option<String>,
}

/// A letter of a request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LetterOut {
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub sent_at: Option<String>,
    pub attempts: u32,
}

/// A job that carries the request out in the organisation's databases. Its specification
/// and result are not shown: they may describe the person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    pub id: i64,
    /// access, portability, erasure, rectification or restriction.
    pub kind: String,
    /// queued, running, done or failed.
    pub state: String,
    pub attempts: u32,
    /// The last failure (names systems, tables and columns, never data).
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// A manual task for a system without a connector.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskOut {
    pub id: i64,
    pub system: String,
    pub title: String,
    pub instructions: String,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
    pub note: Option<String>,
}

/// An export package (encrypted at rest; the person has the download link).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PackageOut {
    pub id: i64,
    /// Bytes, encrypted.
    pub size: u64,
    pub created_at: String,
    pub expires_at: String,
    pub downloads: u32,
    /// Set once the file was deleted.
    pub deleted_at: Option<String>,
}

/// A request with its timeline, letters, jobs, manual tasks and packages.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestDetail {
    pub request: RequestOut,
    pub timeline: Vec<TimelineEntry>,
    pub letters: Vec<LetterOut>,
    pub jobs: Vec<JobOut>,
    pub tasks: Vec<TaskOut>,
    pub packages: Vec<PackageOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    /// Only open requests.
    pub open: Option<bool>,
    /// Only open requests past their legal due date.
    pub overdue: Option<bool>,
    /// Only open requests whose legal due date is within this many days.
    pub due_within_days: Option<u32>,
    /// The reference of the last request of the previous page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub(crate) fn error(e: RequestError) -> ApiError {
    match e {
        RequestError::Invalid(m) => ApiError::Unprocessable(m),
        RequestError::NotFound => ApiError::NotFound("The request"),
        RequestError::Conflict(m) => ApiError::Conflict(format!("{m}.")),
        RequestError::Execution(m) => ApiError::Conflict(format!("{m}.")),
        RequestError::Transition(t) => ApiError::Conflict(format!("{t}.")),
        RequestError::Extension(x) => ApiError::Conflict(format!("{x}.")),
        RequestError::Changed => {
            ApiError::Conflict("The request changed meanwhile; reload it and try again.".into())
        }
        RequestError::TooSoon(s) => {
            ApiError::Conflict(format!("Wait {s} seconds before sending another code."))
        }
        RequestError::TooManyCodes => {
            ApiError::Conflict("No more codes can be sent for this request.".into())
        }
        RequestError::NoSecret => {
            ApiError::Unprocessable("Identity codes need secret_key in the configuration.".into())
        }
        RequestError::Delivery(_) => ApiError::Unavailable,
        RequestError::Template(t) => {
            tracing::error!(error = %t, "letter template failed");
            ApiError::Internal
        }
        RequestError::Store(s) => s.into(),
    }
}

fn parse_date(field: &str, s: &str) -> Result<Date, ApiError> {
    s.parse()
        .map_err(|_| ApiError::Unprocessable(format!("{field}: write the date as YYYY-MM-DD.")))
}

/// Record a request received by another system or by staff.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", security(("bearer" = ["requests:write"])),
    request_body = NewRequestBody,
    responses(
        (status = CREATED, body = RequestOut),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: ApiCaller<scope::RequestsWrite>,
    ApiJson(b): ApiJson<NewRequestBody>,
) -> Result<(StatusCode, Json<RequestOut>), ApiError> {
    let kind = RequestType::parse(&b.kind).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "kind: use one of {}.",
            RequestType::keys().join(", ")
        ))
    })?;
    let channel = match b.channel.as_deref() {
        None => Channel::Api,
        Some(c) => Channel::parse(c)
            .filter(|c| *c != Channel::Web)
            .ok_or_else(|| {
                ApiError::Unprocessable(
                    "channel: use api, email, phone, letter or in_person.".into(),
                )
            })?,
    };
    let received = b
        .received
        .as_deref()
        .map(|d| parse_date("received", d))
        .transpose()?;
    let lang = match b.lang.as_deref() {
        None | Some("en") => "en",
        Some("da") => "da",
        Some(_) => return Err(ApiError::Unprocessable("lang: use en or da.".into())),
    };
    let d = b.details;
    let service = state.requests();
    let record = service
        .submit(Submission {
            kind,
            channel,
            email: b.email,
            name: b.name,
            lang: lang.to_owned(),
            received,
            details: Details {
                corrections: d.corrections,
                purposes: d.purposes,
                reason: d.reason,
                message: d.message,
                platform_customer: d.platform_customer,
            },
            actor: caller.actor(),
        })
        .await
        .map_err(error)?;
    let platform = serde_json::from_str::<Details>(&record.details)
        .is_ok_and(|d| d.platform_customer.is_some());
    if b.send_code.unwrap_or(channel == Channel::Api) && !platform {
        service.send_code(&record.reference).await.map_err(error)?;
    }
    let record = service
        .by_reference(&record.reference)
        .await
        .map_err(error)?;
    Ok((StatusCode::CREATED, Json(RequestOut::from(&record))))
}

/// Requests, filtered: by state, type, channel; open ones; overdue ones; those due soon.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = OK, body = RequestList), (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::Read>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<RequestList>, ApiError> {
    let service = state.requests();
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let mut filter = RequestFilter {
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        ..RequestFilter::default()
    };
    if let Some(s) = &q.state {
        filter.state = Some(RequestState::parse(s).ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "state: use one of {}.",
                RequestState::keys().join(", ")
            ))
        })?);
    }
    if let Some(k) = &q.kind {
        filter.kind = Some(
            RequestType::parse(k)
                .ok_or_else(|| ApiError::Unprocessable("kind: unknown request type.".into()))?,
        );
    }
    if let Some(c) = &q.channel {
        filter.channel = Some(
            Channel::parse(c)
                .ok_or_else(|| ApiError::Unprocessable("channel: unknown channel.".into()))?,
        );
    }
    filter.open_only =
        q.open.unwrap_or(false) || q.overdue.unwrap_or(false) || q.due_within_days.is_some();
    if q.overdue.unwrap_or(false) {
        filter.legal_due_before = today.yesterday().ok();
    } else if let Some(days) = q.due_within_days {
        filter.legal_due_before = today
            .checked_add(jiff::Span::new().days(i64::from(days.min(3650))))
            .ok();
    }
    if let Some(after) = &q.after {
        filter.after_id = Some(service.by_reference(after).await.map_err(error)?.id);
    }
    let records = service.list(&filter).await.map_err(error)?;
    // An extended request is overdue only past its extended date.
    let records: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| !q.overdue.unwrap_or(false) || today > r.extended_due.unwrap_or(r.legal_due))
        .collect();
    let next_after = (records.len() == filter.limit as usize)
        .then(|| records.last().map(|r| r.reference.clone()))
        .flatten();
    Ok(Json(RequestList {
        requests: records.into_iter().map(RequestOut::from).collect(),
        next_after,
    }))
}

/// One request, with its timeline and letters.
#[utoipa::path(get, path = "/api/v1/requests/{reference}", tag = "requests", security(("bearer" = ["read"])),
    params(("reference" = String, Path, description = "The request's reference")),
    responses((status = OK, body = RequestDetail), (status = NOT_FOUND, body = Problem, content_type = "application/problem+json"),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn show(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::Read>,
    Path(reference): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(detail(&state, &reference).await?))
}

pub(crate) async fn detail(state: &AppState, reference: &str) -> Result<RequestDetail, ApiError> {
    let service = state.requests();
    let record = service.by_reference(reference).await.map_err(error)?;
    let timeline = state
        .store()
        .request_timeline(record.id)
        .await?
        .into_iter()
        .map(|e| TimelineEntry {
            at: e.at.to_string(),
            actor: e.actor,
            action: e.action,
            from_state: e.from_state.map(|s| s.key().to_owned()),
            to_state: e.to_state.map(|s| s.key().to_owned()),
            note: e.note,
        })
        .collect();
    let letters = state
        .store()
        .mail_status(record.id)
        .await?
        .into_iter()
        .map(|m| LetterOut {
            kind: m.kind,
            to: m.to,
            subject: m.subject,
            sent_at: m.sent_at.map(|t| t.to_string()),
            attempts: m.attempts,
        })
        .collect();
    let store = state.store();
    let jobs = store
        .jobs_for_request(record.id)
        .await?
        .into_iter()
        .map(|j| JobOut {
            id: j.id,
            kind: j.kind,
            state: j.state.key().to_owned(),
            attempts: j.attempts,
            error: j.error,
            created_at: j.created_at.to_string(),
            finished_at: j.finished_at.map(|t| t.to_string()),
        })
        .collect();
    let tasks = store
        .tasks_for_request(record.id)
        .await?
        .into_iter()
        .map(|t| TaskOut {
            id: t.id,
            system: t.system,
            title: t.title,
            instructions: t.instructions,
            done_at: t.done_at.map(|t| t.to_string()),
            done_by: t.done_by,
            note: t.note,
        })
        .collect();
    let packages = store
        .packages_for_request(record.id)
        .await?
        .into_iter()
        .map(|p| PackageOut {
            id: p.id,
            size: p.size,
            created_at: p.created_at.to_string(),
            expires_at: p.expires_at.to_string(),
            downloads: p.downloads,
            deleted_at: p.deleted_at.map(|t| t.to_string()),
        })
        .collect();
    Ok(RequestDetail {
        request: RequestOut::from(&record),
        timeline,
        letters,
        jobs,
        tasks,
        packages,
    })
}

/// Act on a request: verify by other means, start, wait for tasks, complete, refuse, charge a
/// fee, extend, forward, withdraw or note. Invalid transitions are refused with 409.
#[utoipa::path(post, path = "/api/v1/requests/{reference}/actions", tag = "requests", security(("bearer" = ["requests:write"])),
    params(("reference" = String, Path, description = "The request's reference")),
    request_body = StaffAction,
    responses(
        (status = OK, body = RequestOut),
        (status = CONFLICT, description = "Not allowed in the request's state", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, body = Problem, content_type = "application/problem+json"),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn act(
    State(state): State<AppState>,
    caller: ApiCaller<scope::RequestsWrite>,
    Path(reference): Path<String>,
    ApiJson(action): ApiJson<StaffAction>,
) -> Result<Json<RequestOut>, ApiError> {
    let record = state
        .requests()
        .act(&reference, &caller.actor(), action)
        .await
        .map_err(error)?;
    Ok(Json(RequestOut::from(&record)))
}

/// Send the person a (new) identity code.
#[utoipa::path(post, path = "/api/v1/requests/{reference}/code", tag = "requests", security(("bearer" = ["requests:write"])),
    params(("reference" = String, Path, description = "The request's reference")),
    responses((status = NO_CONTENT, description = "Sent"), (status = CONFLICT, body = Problem, content_type = "application/problem+json"),
        (status = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "The token lacks the scope", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn send_code(
    State(state): State<AppState>,
    _caller: ApiCaller<scope::RequestsWrite>,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .requests()
        .send_code(&reference)
        .await
        .map_err(error)?;
    Ok(StatusCode::NO_CONTENT)
}
