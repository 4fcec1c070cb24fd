//! ombud's HTTP server: the public routes, the metrics listener, configuration and logging.
//!
//! The library does everything; the `ombud` binary only reads flags, opens the store, loads
//! the policy and calls [`start`]. The caller binds the listeners and owns the shutdown signal,
//! so tests run real servers on `127.0.0.1:0` and stop them when they like, and [`app`] gives
//! the same router for in-process tests with `tower::ServiceExt::oneshot`.
//!
//! Module map:
//! - `config`: [`Settings`], layered from defaults, a TOML file, `OMBUD_*` variables and flags.
//! - `routes`: the public handlers and the OpenAPI document built from them.
//! - `error`: [`ApiError`] and its RFC 9457 problem body, the only way errors leave a handler.
//! - `middleware`: security headers, problem bodies, request logs and metrics, panics, limits.
//! - `metrics`: the Prometheus recorder and the metrics listener's router.
//! - `telemetry`: the `tracing` subscriber.

mod auth;
pub mod banner;
mod centre;
pub mod config;
mod console;
pub mod error;
mod jobs;
mod metrics;
mod middleware;
mod ratelimit;
pub mod requests;
mod routes;
pub mod staff;
mod state;
mod telemetry;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;

use axum::Router;
use axum::serve::ListenerExt;
use ombud_policy::Loaded;
use ombud_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{ConfigError, KeySource, LogFormat, MetricsListen, Overrides, Settings};
pub use console::{ConsoleRoute, Need, routes as console_routes};
pub use error::{ApiError, PROBLEM_JSON, Problem};
pub use metrics::prometheus_handle;
pub use middleware::{BODY_LIMIT, DEFAULT_CSP, HANDLER_TIMEOUT};
pub use routes::{
    ConsentProof, PolicyInForceBody, PolicyVersionItem, PolicyVersionList, build_proof, openapi,
    openapi_json, proof_csv,
};
pub use state::{AppState, PolicyInForce, SYSTEM_ACTOR, activate, request_service};
pub use telemetry::init_tracing;

/// Why the server couldn't start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot record the policy version in force: {0}")]
    Activate(#[source] StoreError),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("invalid log filter in {var}: {reason}")]
    LogFilter { var: &'static str, reason: String },
    #[error("cannot install the logger: {0}")]
    Tracing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the letter templates in templates_dir do not load: {0}")]
    Templates(#[source] ombud_mail::TemplateError),
    #[error("the SMTP settings are not usable: {0}")]
    Smtp(#[source] ombud_mail::MailError),
    #[error("the encryption keys are not usable: {0}")]
    Keys(#[source] ombud_store::seal::KeyError),
}

/// The sockets the server accepts connections on. The caller binds them, so that tests can
/// use port 0 and a supervisor can hand over sockets.
#[derive(Debug)]
pub struct Listeners {
    /// The public HTTP server.
    pub public: TcpListener,
    /// The Prometheus endpoint, or `None` to serve no metrics.
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds `settings.listen` and, unless turned off, `settings.metrics_listen`.
    pub async fn bind(settings: &Settings) -> Result<Listeners, ServerError> {
        let public = bind(settings.listen).await?;
        let metrics = match settings.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Listeners { public, metrics })
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// The public router with all its layers, for `state`.
pub fn app(state: AppState) -> Router {
    let hsts = state.hsts();
    let (router, _) = routes::api_router().split_for_parts();
    let router = router
        .merge(console::router(state.clone()))
        .fallback(|| async { ApiError::NotFound("The page") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::doors,
        ))
        .with_state(state);
    middleware::harden(router, hsts)
}

/// Runs the server until `shutdown` resolves, then stops accepting connections and returns
/// once the requests in flight have been answered.
///
/// Before accepting anything it records `policy` as the version in force in `store`, so every
/// record written while it runs can point at that version. It doesn't close `store`: the
/// caller may still need it (to close it, keep a clone).
pub async fn start(
    settings: &Settings,
    store: Store,
    policy: Loaded,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let Listeners { public, metrics } = listeners;
    let metrics = metrics
        .map(|listener| prometheus_handle().map(|handle| (listener, handle)))
        .transpose()?;
    // Links ombud hands out (the banner's endpoint) need the address it is actually reached at;
    // without a configured public URL that is the bound address (port 0 becomes a real port).
    let mut settings = settings.clone();
    if settings.public_url.is_none()
        && let Ok(addr) = public.local_addr()
    {
        settings.listen = addr;
    }
    let settings = &settings;
    // A broken override of a letter template or unusable SMTP settings stop the start.
    let state = AppState::prepare(settings, store, &policy).await?;
    if settings.secret_key.is_none() {
        tracing::warn!(
            "no secret_key is set: the privacy centre cannot send identity codes until one is"
        );
    }
    if !policy.warnings.is_empty() {
        tracing::warn!(
            warnings = policy.warnings.len(),
            "the policy has warnings; `ombud policy check` lists them"
        );
    }

    // One shutdown future, two servers: a watch channel lets both wait for it.
    let (stop_tx, stop_rx) = watch::channel(false);
    let trigger = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down; answering the requests in flight");
        let _ = stop_tx.send(true);
    });
    let jobs = tokio::spawn(jobs::run(state.requests().clone(), stop_rx.clone()));
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which only happens once shutdown was triggered
        // or `start` itself is returning; either way, stop.
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let addr = |l: &TcpListener| {
        l.local_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string())
    };
    tracing::info!(
        listen = %addr(&public),
        metrics = %metrics.as_ref().map_or_else(|| "off".to_owned(), |(l, _)| addr(l)),
        policy_version = state.policy().version.id,
        "ombud is serving"
    );

    // Small responses matter more than throughput per packet: send them at once.
    let public = axum::serve(
        public.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_rx.clone()))
    .into_future();

    let result = match metrics {
        Some((listener, handle)) => {
            let upkeep_handle = handle.clone();
            let upkeep = tokio::spawn(async move {
                let mut tick = tokio::time::interval(metrics::UPKEEP_INTERVAL);
                loop {
                    tick.tick().await;
                    upkeep_handle.run_upkeep();
                }
            });
            let metrics_server = axum::serve(listener, metrics::router(handle))
                .with_graceful_shutdown(stopped(stop_rx))
                .into_future();
            let result = tokio::try_join!(public, metrics_server).map(|_| ());
            upkeep.abort();
            result
        }
        None => public.await,
    };
    trigger.abort();
    // The jobs stop at the same signal; a letter being sent finishes first.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), jobs).await;
    result.map_err(ServerError::Serve)?;
    tracing::info!("ombud stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the signals a terminal and a service
/// manager send to ask for a graceful stop.
///
/// If a handler can't be installed, that signal is ignored (and logged) rather than treated
/// as a request to stop.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
