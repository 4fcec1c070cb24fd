//! Probes for orchestrators and load balancers.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// How long readiness waits for the database. A probe that hangs tells the orchestrator
/// nothing; a quick 503 takes the node out of rotation.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Body of a successful probe.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

fn ok() -> Json<Status> {
    Json(Status {
        status: "ok".to_owned(),
    })
}

/// Liveness: the process is up and serving HTTP.
///
/// Touches nothing else, so a slow database never gets a healthy process restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = OK, description = "The process is alive", body = Status)),
)]
pub(super) async fn healthz() -> Json<Status> {
    ok()
}

/// Readiness: the server can do its work, i.e. the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = OK, description = "Ready to serve", body = Status),
        (status = SERVICE_UNAVAILABLE, description = "The database does not answer",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    match tokio::time::timeout(PING_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => Ok(ok()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Err(ApiError::Unavailable)
        }
    }
}
