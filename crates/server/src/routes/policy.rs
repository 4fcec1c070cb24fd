//! The policy versions, for systems that record which version a person saw.

use axum::Json;
use axum::extract::State;
use ombud_store::PolicyVersionSummary;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The policy version this server runs with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyInForceBody {
    /// Id of the version; consents and requests refer to it.
    #[schema(example = 3)]
    pub version: i64,
    /// SHA-256 (hex) of the policy files: the version's identity.
    pub hash: String,
    /// What a person recognises the version by.
    #[schema(example = "Impero A/S — notice of 2020-01-15")]
    pub label: String,
    /// When this version was first put in force (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub activated_at: String,
    /// The controller's name.
    #[schema(example = "Impero A/S")]
    pub controller: String,
    /// The "last updated" date of the notice.
    #[schema(format = Date, example = "2020-01-15")]
    pub last_updated: String,
}

/// One stored policy version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionItem {
    pub id: i64,
    pub hash: String,
    pub label: String,
    /// When the version was put in force (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub activated_at: String,
}

/// Every policy version, newest first. An object rather than a bare array, so paging can be
/// added without breaking clients.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionList {
    pub versions: Vec<PolicyVersionItem>,
}

impl From<PolicyVersionSummary> for PolicyVersionItem {
    fn from(v: PolicyVersionSummary) -> Self {
        PolicyVersionItem {
            id: v.id,
            hash: v.hash,
            label: v.label,
            activated_at: v.activated_at.to_string(),
        }
    }
}

/// The policy version in force on this server.
///
/// Answered from memory: it is the version this server activated at start, the one its
/// notice and its records use.
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "policy",
    responses((status = OK, description = "The version in force", body = PolicyInForceBody)),
)]
pub(super) async fn current(State(state): State<AppState>) -> Json<PolicyInForceBody> {
    let p = state.policy();
    Json(PolicyInForceBody {
        version: p.version.id,
        hash: p.version.hash.clone(),
        label: p.version.label.clone(),
        activated_at: p.version.activated_at.to_string(),
        controller: p.controller.clone(),
        last_updated: p.last_updated.to_string(),
    })
}

/// Every policy version ever put in force, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/policy/versions",
    tag = "policy",
    responses(
        (status = OK, description = "All versions, newest first", body = PolicyVersionList),
        (status = SERVICE_UNAVAILABLE, description = "The database does not answer",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn versions(
    State(state): State<AppState>,
) -> Result<Json<PolicyVersionList>, ApiError> {
    let versions = state.store().policy_versions().await?;
    Ok(Json(PolicyVersionList {
        versions: versions.into_iter().map(PolicyVersionItem::from).collect(),
    }))
}
