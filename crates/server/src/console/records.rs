//! The records in the console: the record of processing (Art. 30), recipients and transfers
//! (review dates that have passed are highlighted), the data map as a picture, the policy
//! versions with a diff between any two, and the audit log with its verification status.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use minijinja::context;
use minijinja::value::Serde;
use ombud_domain::policy::Keyword;
use ombud_policy::PolicySource;
use ombud_store::StoreError;
use serde::{Deserialize, Serialize};

use super::dashboard::{AuditRow, audit_before, today};
use super::session::Staff;
use super::{staff_page, svg, text};
use crate::state::AppState;

/// Audit entries per page.
const AUDIT_PAGE: i64 = 50;

pub(crate) async fn processing(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    staff_page(
        &staff,
        StatusCode::OK,
        "records.html",
        text::translate(staff.lang, "Record of processing"),
        context! {
            nav => "records",
            ropa => ombud_policy::render::ropa::html_fragment(state.model()),
        },
    )
}

#[derive(Debug, Serialize)]
struct RecipientRow {
    name: String,
    role: &'static str,
    countries: String,
    third_countries: String,
    mechanism: Option<&'static str>,
    reviewed: Option<String>,
    review_by: Option<String>,
    review_overdue: bool,
}

pub(crate) async fn recipients(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    let today = today();
    let overdue = |d: Option<Date>| d.is_some_and(|d| d < today);
    let rows: Vec<RecipientRow> = state
        .model()
        .recipients
        .iter()
        .map(|r| RecipientRow {
            name: r.name.clone(),
            role: r.role.key(),
            countries: r.countries.join(", "),
            third_countries: r.third_countries().collect::<Vec<_>>().join(", "),
            mechanism: r.transfer.as_ref().map(|t| t.mechanism.key()),
            reviewed: r
                .transfer
                .as_ref()
                .and_then(|t| t.reviewed)
                .map(|d| d.to_string()),
            review_by: r
                .transfer
                .as_ref()
                .and_then(|t| t.review_by)
                .map(|d| d.to_string()),
            review_overdue: overdue(r.transfer.as_ref().and_then(|t| t.review_by)),
        })
        .collect();
    let overdue_count = rows.iter().filter(|r| r.review_overdue).count();
    staff_page(
        &staff,
        StatusCode::OK,
        "recipients.html",
        text::translate(staff.lang, "Recipients and transfers"),
        context! { nav => "recipients", rows => Serde(&rows), overdue_count },
    )
}

#[derive(Debug, Serialize)]
struct CollectionRow {
    system: String,
    connector: &'static str,
    collection: String,
    fields: usize,
    identities: String,
    holds: String,
}

pub(crate) async fn datamap(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    let map = &state.model().data_map;
    let mut rows = Vec::new();
    for s in &map.systems {
        for c in &s.collections {
            rows.push(CollectionRow {
                system: s.system.as_str().to_owned(),
                connector: s.connector.key(),
                collection: c.name.clone(),
                fields: c.fields.len(),
                identities: c
                    .fields
                    .iter()
                    .filter(|f| f.identity.is_some())
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                holds: c
                    .legal_holds
                    .iter()
                    .map(|h| h.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    staff_page(
        &staff,
        StatusCode::OK,
        "datamap.html",
        text::translate(staff.lang, "Data map"),
        context! { nav => "datamap", graph => svg::datamap(map), rows => Serde(&rows) },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    a: Option<i64>,
    b: Option<i64>,
}

#[derive(Debug, Serialize)]
struct VersionRow {
    id: i64,
    label: String,
    hash: String,
    activated_at: String,
    in_force: bool,
}

pub(crate) async fn versions(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Query(q): Query<DiffQuery>,
) -> Response {
    match build_versions(&state, &staff, &q).await {
        Ok(r) => r,
        Err(e) => super::store_failed(&staff, &e),
    }
}

async fn build_versions(
    state: &AppState,
    staff: &Staff,
    q: &DiffQuery,
) -> Result<Response, StoreError> {
    let store = state.store();
    let in_force = state.policy().version.id;
    let list: Vec<VersionRow> = store
        .policy_versions()
        .await?
        .into_iter()
        .rev()
        .map(|v| VersionRow {
            id: v.id,
            label: v.label,
            hash: v.hash.get(..12).unwrap_or_default().to_owned(),
            activated_at: v.activated_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            in_force: v.id == in_force,
        })
        .collect();
    let mut diff = None;
    let mut summary: Vec<String> = Vec::new();
    let mut error = None;
    if let (Some(a), Some(b)) = (q.a, q.b) {
        match (
            store.policy_version(a).await?,
            store.policy_version(b).await?,
        ) {
            (Some(old), Some(new)) => {
                match (
                    PolicySource::from_bundle(&old.content),
                    PolicySource::from_bundle(&new.content),
                ) {
                    (Ok(old_src), Ok(new_src)) => {
                        diff = Some(ombud_policy::diff::text_diff(&old_src, &new_src));
                        let day = today();
                        if let (Ok(o), Ok(n)) = (
                            ombud_policy::load(old_src, day),
                            ombud_policy::load(new_src, day),
                        ) {
                            summary = ombud_policy::diff::summary(&o.policy, &n.policy);
                        }
                    }
                    _ => error = Some("A stored version could not be read."),
                }
            }
            _ => error = Some("There is no such version."),
        }
    }
    let status = if error.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Ok(staff_page(
        staff,
        status,
        "versions.html",
        text::translate(staff.lang, "Policy versions"),
        context! {
            nav => "policy",
            list => Serde(&list),
            a => q.a,
            b => q.b,
            diff,
            summary,
            error => error.map(|e| text::translate(staff.lang, e)),
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    /// Show entries up to this sequence number (the newest when absent).
    before: Option<i64>,
    /// `1` runs the chain verification.
    verify: Option<u8>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Query(q): Query<AuditQuery>,
) -> Response {
    match build_audit(&state, &staff, &q).await {
        Ok(r) => r,
        Err(e) => super::store_failed(&staff, &e),
    }
}

async fn build_audit(
    state: &AppState,
    staff: &Staff,
    q: &AuditQuery,
) -> Result<Response, StoreError> {
    let store = state.store();
    let head = store.audit_head_seq().await?;
    let top = q.before.map_or(head, |b| b.clamp(0, head));
    let entries: Vec<AuditRow> = audit_before(state, top, AUDIT_PAGE)
        .await?
        .iter()
        .map(AuditRow::of)
        .collect();
    let older = (top > AUDIT_PAGE).then_some(top - AUDIT_PAGE);
    let newer = (top < head).then_some((top + AUDIT_PAGE).min(head));
    let verification = if q.verify == Some(1) {
        let report = store.verify_audit().await?;
        Some(match report.result {
            Ok(()) => context! { intact => true, checked => report.checked },
            Err(brk) => context! {
                intact => false,
                checked => report.checked,
                seq => brk.seq,
                problem => brk.to_string(),
            },
        })
    } else {
        None
    };
    Ok(staff_page(
        staff,
        StatusCode::OK,
        "audit.html",
        text::translate(staff.lang, "Audit log"),
        context! { nav => "audit", entries => Serde(&entries), head, older, newer, verification },
    ))
}
