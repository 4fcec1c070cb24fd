//! Rights requests in the console: the inbox (filters, sorting, keyset pages), a request's page
//! (details, timeline, letters, jobs, tasks, packages) with every staff action, the preview of
//! the letter an action sends, and the download of an export package.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use minijinja::context;
use minijinja::value::Serde;
use ombud_domain::policy::Keyword;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_store::{NewAuditEntry, RequestFilter, RequestOrder};
use serde::{Deserialize, Serialize};

use super::dashboard::{RequestRow, today};
use super::session::Staff;
use super::{staff_page, text, urlencode};
use crate::requests::{CorrectionBody, RequestError, StaffAction};
use crate::routes::requests::detail;
use crate::state::AppState;

/// Requests per inbox page.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct InboxQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    channel: String,
    /// `overdue`, `week` or empty.
    #[serde(default)]
    due: String,
    /// `due` (the default), `newest` or `oldest`.
    #[serde(default)]
    sort: String,
    /// `open` (the default), `closed` or `all`.
    #[serde(default)]
    show: String,
    after: Option<i64>,
    after_due: Option<String>,
}

#[derive(Debug, Serialize)]
struct Choice {
    key: &'static str,
    selected: bool,
}

fn choices(all: impl IntoIterator<Item = &'static str>, chosen: &str) -> Vec<Choice> {
    all.into_iter()
        .map(|key| Choice {
            key,
            selected: key == chosen,
        })
        .collect()
}

/// The inbox: open requests by due date, overdue first, with filters and pages.
pub(crate) async fn inbox(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Query(q): Query<InboxQuery>,
) -> Response {
    let today = today();
    let order = match q.sort.as_str() {
        "newest" => RequestOrder::Newest,
        "oldest" => RequestOrder::Received,
        _ => RequestOrder::Due,
    };
    let due_before = match q.due.as_str() {
        "overdue" => today.checked_sub(SignedDuration::from_hours(24)).ok(),
        "week" => today.checked_add(SignedDuration::from_hours(24 * 7)).ok(),
        _ => None,
    };
    let state_filter = RequestState::parse(&q.state);
    let filter = RequestFilter {
        state: state_filter,
        open_only: state_filter.is_none() && q.show != "all" && q.show != "closed",
        kind: RequestType::parse(&q.kind),
        channel: Channel::parse(&q.channel),
        promised_due_before: due_before,
        after_id: q.after,
        after_due: q.after_due.as_deref().and_then(|d| d.parse().ok()),
        order,
        limit: PAGE + 1,
        ..RequestFilter::default()
    };
    let mut records = match state.store().list_requests(&filter).await {
        Ok(r) => r,
        Err(e) => return super::store_failed(&staff, &e),
    };
    if q.show == "closed" && state_filter.is_none() {
        records.retain(|r| r.state.is_closed());
    }
    let more = records.len() > PAGE as usize;
    records.truncate(PAGE as usize);
    let next = more.then(|| records.last()).flatten().map(|last| {
        let mut keep = format!(
            "state={}&kind={}&channel={}&due={}&sort={}&show={}&after={}",
            urlencode(&q.state),
            urlencode(&q.kind),
            urlencode(&q.channel),
            urlencode(&q.due),
            urlencode(&q.sort),
            urlencode(&q.show),
            last.id
        );
        if order == RequestOrder::Due {
            keep.push_str(&format!("&after_due={}", last.promised_due));
        }
        format!("/console/requests?{keep}")
    });
    let rows: Vec<RequestRow> = records.iter().map(|r| RequestRow::of(r, today)).collect();
    staff_page(
        &staff,
        StatusCode::OK,
        "inbox.html",
        text::translate(staff.lang, "Requests"),
        context! {
            nav => "requests",
            rows => Serde(&rows),
            next,
            paged => q.after.is_some(),
            q => Serde(&q),
            states => Serde(choices(RequestState::all().iter().map(|s| s.key()), &q.state)),
            kinds => Serde(choices(RequestType::all().iter().map(|s| s.key()), &q.kind)),
            channels => Serde(choices(Channel::all().iter().map(|s| s.key()), &q.channel)),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    done: Option<String>,
}

/// A request's page with its actions.
pub(crate) async fn page_of(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    failed_action: Option<&str>,
) -> Response {
    let detail = match detail(state, reference).await {
        Ok(d) => d,
        Err(crate::error::ApiError::NotFound(_)) => {
            return super::not_found(staff);
        }
        Err(e) => {
            tracing::error!(error = %e, "console request page failed");
            return super::unavailable(staff.lang);
        }
    };
    let record_state = RequestState::parse(&detail.request.state);
    let open = record_state.is_some_and(|s| !s.is_closed());
    let verified = record_state.is_some_and(RequestState::is_verified);
    let kind = RequestType::parse(&detail.request.kind);
    let fields = corrections_fields(state, kind);
    staff_page(
        staff,
        status,
        "request.html",
        &format!("{} {}", text::translate(staff.lang, "Request"), reference),
        context! {
            nav => "requests",
            d => Serde(&detail),
            open,
            verified,
            fields,
            letters => crate::requests::WRITTEN_LETTERS.iter().map(|k| k.key()).collect::<Vec<_>>(),
            notice,
            error => error.as_deref().map(|e| text::translate(staff.lang, e)),
            failed => failed_action,
        },
    )
}

/// The fields a rectification can correct: `system:collection.field` of the data map's
/// fields about a person.
fn corrections_fields(state: &AppState, kind: Option<RequestType>) -> Vec<String> {
    if kind != Some(RequestType::Rectification) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in &state.model().data_map.systems {
        for c in &s.collections {
            for f in &c.fields {
                if !f.primary_key && f.categories.iter().any(|k| k.is_about_a_person()) {
                    out.push(format!("{}:{}.{}", s.system.as_str(), c.name, f.name));
                }
            }
        }
    }
    out
}

/// The request's page again with `error` next to the form of `failed` (or at the top).
async fn refused(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    status: StatusCode,
    error: String,
    failed: Option<&str>,
) -> Response {
    page_of(state, staff, reference, status, None, Some(error), failed).await
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path(reference): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let notice = q
        .done
        .map(|a| format!("{} {a}", text::translate(staff.lang, "Done:")));
    page_of(
        &state,
        &staff,
        &reference,
        StatusCode::OK,
        notice,
        None,
        None,
    )
    .await
}

/// The action a form posted, with its fields.
fn action_of(f: &HashMap<String, String>) -> Result<StaffAction, String> {
    let get = |k: &str| {
        f.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Ok(match f.get("action").map(String::as_str).unwrap_or("") {
        "verify" => StaffAction::Verify { how: get("how") },
        "start" => StaffAction::Start,
        "wait_for_tasks" => StaffAction::WaitForTasks { note: get("note") },
        "complete" => StaffAction::Complete { note: get("note") },
        "refuse" => StaffAction::Refuse {
            reason: get("reason"),
        },
        "charge_fee" => StaffAction::ChargeFee {
            fee: get("fee"),
            reason: get("reason"),
        },
        "extend" => StaffAction::Extend {
            reason: get("reason"),
        },
        "forward" => StaffAction::Forward {
            to: get("to"),
            to_email: get("to_email"),
        },
        "withdraw" => StaffAction::Withdraw { note: get("note") },
        "note" => StaffAction::Note { text: get("text") },
        "letter" => StaffAction::Letter {
            template: get("template"),
            text: get("text"),
        },
        "execute" => {
            let corrections = match (get("field"), get("value")) {
                (Some(field), Some(value)) => {
                    let (system, rest) = field
                        .split_once(':')
                        .ok_or("Choose the field to correct.")?;
                    let (collection, field) =
                        rest.split_once('.').ok_or("Choose the field to correct.")?;
                    Some(vec![CorrectionBody {
                        system: system.to_owned(),
                        collection: collection.to_owned(),
                        field: field.to_owned(),
                        value,
                    }])
                }
                _ => None,
            };
            StaffAction::Execute { corrections }
        }
        "task_done" => StaffAction::TaskDone {
            task: get("task").and_then(|t| t.parse().ok()),
            note: get("note"),
        },
        _ => return Err("Choose an action.".to_owned()),
    })
}

/// The action a form posted and its name, or the request's page saying what is missing.
async fn posted_action(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    f: &HashMap<String, String>,
) -> Result<(StaffAction, String), Response> {
    match action_of(f) {
        Ok(action) => Ok((action, f.get("action").cloned().unwrap_or_default())),
        Err(m) => Err(refused(
            state,
            staff,
            reference,
            StatusCode::UNPROCESSABLE_ENTITY,
            m,
            None,
        )
        .await),
    }
}

/// Carries out an action and goes back to the request's page; a refused action shows the
/// page again with the reason next to the actions.
pub(crate) async fn act(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path(reference): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (action, name) = match posted_action(&state, &staff, &reference, &f).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    match state
        .requests()
        .act(&reference, &staff.actor(), action)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/console/requests/{}?done={}",
            urlencode(&reference),
            urlencode(&name)
        ))
        .into_response(),
        Err(RequestError::NotFound) => super::not_found(&staff),
        Err(RequestError::Invalid(m)) => {
            refused(
                &state,
                &staff,
                &reference,
                StatusCode::UNPROCESSABLE_ENTITY,
                m,
                Some(&name),
            )
            .await
        }
        Err(RequestError::Conflict(m)) => {
            refused(
                &state,
                &staff,
                &reference,
                StatusCode::CONFLICT,
                format!("{m}."),
                Some(&name),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "console action failed");
            super::unavailable(staff.lang)
        }
    }
}

/// The letter an action would send, with a button that sends it (the same form, posted to
/// the action).
pub(crate) async fn preview(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path(reference): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (action, name) = match posted_action(&state, &staff, &reference, &f).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let letter = match state.requests().preview_letter(&reference, &action).await {
        Ok(l) => l,
        Err(RequestError::NotFound) => return super::not_found(&staff),
        Err(RequestError::Invalid(m) | RequestError::Conflict(m)) => {
            return refused(
                &state,
                &staff,
                &reference,
                StatusCode::UNPROCESSABLE_ENTITY,
                m,
                Some(&name),
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "console letter preview failed");
            return super::unavailable(staff.lang);
        }
    };
    let fields: Vec<(String, String)> = f.into_iter().filter(|(k, _)| k != "csrf").collect();
    staff_page(
        &staff,
        StatusCode::OK,
        "preview.html",
        text::translate(staff.lang, "Letter preview"),
        context! {
            nav => "requests",
            reference,
            fields,
            letter => letter.map(|(to, subject, body)| context! { to, subject, body }),
        },
    )
}

/// Downloads a request's export package, decrypted, for staff to hand over by other means.
/// The download is recorded in the audit log.
pub(crate) async fn download(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path((reference, id)): Path<(String, i64)>,
) -> Response {
    let service = state.requests();
    let record = match service.by_reference(&reference).await {
        Ok(r) => r,
        Err(RequestError::NotFound) => return super::not_found(&staff),
        Err(e) => {
            tracing::error!(error = %e, "console package lookup failed");
            return super::unavailable(staff.lang);
        }
    };
    let package = match state.store().packages_for_request(record.id).await {
        Ok(list) => list
            .into_iter()
            .find(|p| p.id == id && p.deleted_at.is_none()),
        Err(e) => return super::store_failed(&staff, &e),
    };
    let Some(package) = package else {
        return super::not_found(&staff);
    };
    let Some(keys) = service.package_keys() else {
        return super::unavailable(staff.lang);
    };
    let actor = staff.actor();
    let subject = format!("request:{}", record.reference);
    let details = serde_json::json!({ "package": package.id }).to_string();
    if let Err(e) = state
        .store()
        .append_audit(NewAuditEntry {
            actor: &actor,
            action: "package.downloaded_by_staff",
            subject: &subject,
            details: &details,
        })
        .await
    {
        return super::store_failed(&staff, &e);
    }
    crate::centre::package_response(keys, package, &record.reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn forms_become_actions() {
        assert!(matches!(
            action_of(&form(&[("action", "refuse"), ("reason", " no ")])),
            Ok(StaffAction::Refuse { reason: Some(r) }) if r == "no"
        ));
        assert!(matches!(
            action_of(&form(&[("action", "execute"), ("field", "trial_db:trial_user.full_name"), ("value", "Ann B")])),
            Ok(StaffAction::Execute { corrections: Some(c) }) if c[0].collection == "trial_user" && c[0].field == "full_name"
        ));
        assert!(matches!(
            action_of(&form(&[("action", "execute")])),
            Ok(StaffAction::Execute { corrections: None })
        ));
        assert!(action_of(&form(&[("action", "drop_tables")])).is_err());
    }
}
