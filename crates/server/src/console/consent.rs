//! Consent in the console: look up a person (by e-mail, phone, customer id) or a visitor id,
//! see the current state per purpose and cookie category and the full history with its
//! evidence, and export the proof.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Serde;
use ombud_domain::consent::SubjectKey;
use serde::Deserialize;

use super::session::Staff;
use super::{staff_page, text, urlencode};
use crate::routes::{build_proof, consent::proof_export};
use crate::state::AppState;

/// History events shown on the page (the proof export has them all).
const EVENTS_SHOWN: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LookupQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    format: String,
}

/// The subject key the form names: `kind` is `email`, `phone`, `customer` or `visitor`.
fn subject_of(q: &LookupQuery) -> Option<Result<SubjectKey, String>> {
    let value = q.value.trim();
    if value.is_empty() {
        return None;
    }
    let kind = if q.kind.is_empty() { "email" } else { &q.kind };
    Some(SubjectKey::parse(&format!("{kind}:{value}")).map_err(|e| e.to_string()))
}

pub(crate) async fn lookup(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Query(q): Query<LookupQuery>,
) -> Response {
    let title = text::translate(staff.lang, "Consent");
    let (proof, error) = match subject_of(&q) {
        None => (None, None),
        Some(Err(e)) => (None, Some(e)),
        Some(Ok(subject)) => match build_proof(state.store(), &subject).await {
            Ok(mut proof) => {
                proof.events.reverse();
                proof.events.truncate(EVENTS_SHOWN);
                (Some(proof), None)
            }
            Err(e) => return super::store_failed(&staff, &e),
        },
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let kind = if q.kind.is_empty() {
        "email"
    } else {
        q.kind.as_str()
    };
    staff_page(
        &staff,
        status,
        "consent.html",
        title,
        context! {
            nav => "consent",
            kind,
            value => q.value.trim(),
            proof_query => format!("kind={}&value={}", urlencode(kind), urlencode(q.value.trim())),
            kinds => ["email", "phone", "customer", "visitor"],
            proof => proof.as_ref().map(Serde),
            error,
        },
    )
}

/// The proof of a subject's consent as a JSON or CSV download, recorded in the audit log.
pub(crate) async fn proof(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Query(q): Query<LookupQuery>,
) -> Response {
    let Some(Ok(subject)) = subject_of(&q) else {
        return super::message(
            staff.lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Name the person or visitor whose proof you want.",
        );
    };
    match proof_export(&state, &subject, q.format == "csv", &staff.actor()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
