//! Prometheus metrics, served on a listener of their own.
//!
//! Metrics are recorded through the `metrics` facade, so any crate in the process can add
//! some; this module installs the Prometheus recorder behind it and renders it at
//! `GET /metrics`. That route exists only on the metrics router, never on the public one, so
//! an operator who exposes the public port doesn't expose metrics with it.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::ServerError;

/// Latency buckets in seconds: fine-grained below 10 ms, where ombud's fast paths (consent
/// checks) are meant to stay, coarse above.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes, so that
/// memory stays flat.
pub(crate) const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's one Prometheus recorder. A global recorder can be installed once per
/// process, while a process (a test binary, above all) can start many servers: they all
/// share this one.
static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the Prometheus recorder on first use and returns a handle to render it.
pub fn prometheus_handle() -> Result<PrometheusHandle, ServerError> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|_| {
                "another metrics recorder is already installed in this process".to_owned()
            })?;
            Ok(handle)
        })
        .clone()
        .map_err(ServerError::Metrics)
}

/// The router of the metrics listener: `GET /metrics` and nothing else.
pub(crate) fn router(handle: PrometheusHandle) -> Router {
    let router = Router::new()
        .route("/metrics", get(render))
        .with_state(handle);
    crate::middleware::harden(router, false)
}

/// The Prometheus text exposition format, version 0.0.4.
async fn render(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
