//! The dashboard: open requests by due date (overdue first), the promised-deadline hit rate
//! over 90 days, consent rates per category over 30 days, and the latest audit and retention
//! activity.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;
use minijinja::value::Serde;
use ombud_store::{AuditRecord, RequestFilter, RequestOrder, RequestRecord, StoreError};
use serde::Serialize;

use super::session::Staff;
use super::svg::{self, Bar};
use super::{staff_page, text};
use crate::state::AppState;

/// Open requests the dashboard lists.
const OPEN_SHOWN: u32 = 12;
/// Audit entries the dashboard lists.
const AUDIT_SHOWN: i64 = 12;

/// A request as a row of a list: nothing personal but the reference.
#[derive(Debug, Serialize)]
pub(crate) struct RequestRow {
    pub reference: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub channel: &'static str,
    pub received: String,
    pub promised_due: String,
    pub legal_due: String,
    pub overdue: bool,
}

impl RequestRow {
    pub(crate) fn of(r: &RequestRecord, today: jiff::civil::Date) -> RequestRow {
        use ombud_domain::policy::Keyword;
        RequestRow {
            reference: r.reference.clone(),
            kind: r.kind.key(),
            state: r.state.key(),
            channel: r.channel.key(),
            received: r.received.to_string(),
            promised_due: r.promised_due.to_string(),
            legal_due: r.effective_legal_due().to_string(),
            overdue: !r.state.is_closed() && r.promised_due < today,
        }
    }
}

/// An audit entry as a row: when, who, what, to what. Details stay on the audit page.
#[derive(Debug, Serialize)]
pub(crate) struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

impl AuditRow {
    pub(crate) fn of(r: &AuditRecord) -> AuditRow {
        let at = Timestamp::from_microsecond(r.at_us)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        AuditRow {
            seq: r.seq,
            at,
            actor: r.actor.clone(),
            action: r.action.clone(),
            subject: r.subject.clone(),
            details: r.details.clone(),
        }
    }
}

/// The newest `n` audit entries before `top` (inclusive), newest first.
pub(crate) async fn audit_before(
    state: &AppState,
    top: i64,
    n: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let after = (top - n).max(0);
    let limit = u32::try_from(top - after).unwrap_or(0);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut page = state.store().audit_page(after, limit).await?;
    page.reverse();
    Ok(page)
}

/// Today in UTC, as request due dates count it.
pub(crate) fn today() -> jiff::civil::Date {
    jiff::tz::Offset::UTC.to_datetime(Timestamp::now()).date()
}

/// Whether an audit action is about retention: expired requests and packages, deletions.
fn is_retention(action: &str) -> bool {
    action.contains("expire") || action.contains("deleted") || action.starts_with("retention")
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    match build(&state, &staff).await {
        Ok(r) => r,
        Err(e) => super::store_failed(&staff, &e),
    }
}

async fn build(state: &AppState, staff: &Staff) -> Result<Response, StoreError> {
    let store = state.store();
    let now = Timestamp::now();
    let today = today();
    let open = store
        .list_requests(&RequestFilter {
            open_only: true,
            order: RequestOrder::Due,
            limit: OPEN_SHOWN,
            ..RequestFilter::default()
        })
        .await?;
    let open: Vec<RequestRow> = open.iter().map(|r| RequestRow::of(r, today)).collect();
    let overdue = open.iter().filter(|r| r.overdue).count();

    let hits = store
        .deadline_hits(now - SignedDuration::from_hours(24 * 90))
        .await?;
    let hit_rate = (hits.completed > 0)
        .then(|| format!("{:.0}", hits.met as f64 * 100.0 / hits.completed as f64));

    let policy = state.model();
    let rates = store
        .consent_rates(now - SignedDuration::from_hours(24 * 30))
        .await?;
    let bars: Vec<Bar> = policy
        .cookie_categories
        .iter()
        .filter(|c| !c.necessary)
        .map(|c| {
            let target = format!("cookies:{}", c.id.as_str());
            let found = rates.iter().find(|r| r.target == target);
            Bar {
                label: c.text(staff.lang).0.to_owned(),
                granted: found.map_or(0, |r| r.granted),
                total: found.map_or(0, |r| r.total),
            }
        })
        .chain(policy.purposes.iter().filter_map(|p| {
            let target = format!("purpose:{}", p.id.as_str());
            rates.iter().find(|r| r.target == target).map(|r| Bar {
                label: p.name.clone(),
                granted: r.granted,
                total: r.total,
            })
        }))
        .collect();
    let choices: i64 = rates.iter().map(|r| r.total).sum();
    let chart = svg::bars(&bars, text::translate(staff.lang, "Consent rates"));

    let head = store.audit_head_seq().await?;
    let recent = audit_before(state, head, 200).await?;
    let audit: Vec<AuditRow> = recent
        .iter()
        .take(usize::try_from(AUDIT_SHOWN).unwrap_or(0))
        .map(AuditRow::of)
        .collect();
    let retention: Vec<AuditRow> = recent
        .iter()
        .filter(|r| is_retention(&r.action))
        .take(6)
        .map(AuditRow::of)
        .collect();

    Ok(staff_page(
        staff,
        StatusCode::OK,
        "dashboard.html",
        text::translate(staff.lang, "Dashboard"),
        context! {
            nav => "dashboard",
            open => Serde(&open),
            overdue,
            hit_rate,
            hits_met => hits.met,
            hits_completed => hits.completed,
            chart,
            choices,
            audit => Serde(&audit),
            retention => Serde(&retention),
            retention_rules => policy.retention.len(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::is_retention;

    #[test]
    fn retention_actions_are_recognised() {
        assert!(is_retention("request.expired"));
        assert!(is_retention("package.deleted"));
        assert!(!is_retention("request.received"));
    }
}
