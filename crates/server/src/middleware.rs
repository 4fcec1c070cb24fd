//! The layers every response passes through: security headers, problem documents for every
//! error, request logs and metrics, panic containment, body limit and timeout.
//!
//! They live in one function, [`harden`], so the public router and the metrics router get
//! the same treatment and the order (which matters) is written down once.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::error::{PROBLEM_JSON, Problem};

/// Largest request body accepted anywhere. ombud's requests (consent events, rights
/// requests, forms) are small; a generous cap still keeps a single client from making the
/// server buffer megabytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Longest a handler may take before the client gets a 503. It bounds how long a stuck
/// database call can hold a connection, and with it how long a graceful shutdown can wait.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);

/// Content-Security-Policy of responses that set none themselves (JSON, problems): nothing
/// may load, nothing may frame them.
pub const DEFAULT_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Route label of requests that matched no route. Using the raw path instead would let any
/// client create unbounded metric series and would log whatever it put in the URL.
const UNMATCHED: &str = "unmatched";

/// Wraps `router` in the layers every ombud listener uses. `hsts` adds
/// Strict-Transport-Security, which only makes sense when ombud is reached over HTTPS.
///
/// Order, outermost first: security headers (so they are on every response, error or not),
/// problem documents (so even framework-made errors such as 405 get a problem body), logs and
/// metrics (so they see the final status, including panics and timeouts), panic containment,
/// timeout, body limit.
pub(crate) fn harden(router: Router, hsts: bool) -> Router {
    router
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            HANDLER_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(observe))
        .layer(middleware::map_response(problem_for_errors))
        .layer(middleware::map_response(move |r| async move {
            security_headers(r, hsts)
        }))
}

/// Answers a panicking handler with a plain 500. The panic payload is neither logged nor sent:
/// it is free text that could quote request data.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
    .into_response()
}

/// Logs and counts one request by method, matched route, status and latency. Never the URI
/// (its path and query can hold e-mail addresses or tokens), never a body.
async fn observe(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("request", method, route = %route);
    let response = next.run(request).instrument(span.clone()).await;

    let latency = start.elapsed();
    let status = response.status();
    metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route.clone(),
    )
    .record(latency.as_secs_f64());

    let latency_ms = latency.as_secs_f64() * 1000.0;
    let status = status.as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else if route == "/healthz" || route == "/readyz" {
            // Probes arrive every few seconds; at info they would drown everything else.
            tracing::debug!(status, latency_ms, "request");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    response
}

/// The method as a metric label, with unknown extension methods folded into one value so a
/// client can't create series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Replaces the body of any 4xx/5xx response that isn't a problem document or an HTML page (axum's
/// own 404/405, the body limit's 413, the timeout's 503) with one. Headers such as `Allow` on
/// a 405 are kept.
async fn problem_for_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Problem documents pass, and so do the privacy centre's HTML pages, which explain the
    // error to a person in their language.
    let is_explained = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes().starts_with(b"text/html")
        });
    if is_explained {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::new(status, generic_detail(status));
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(body))
}

fn generic_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "There is nothing at this address.",
        StatusCode::METHOD_NOT_ALLOWED => {
            "This address does not accept that method; the Allow header lists those it does."
        }
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.",
        StatusCode::SERVICE_UNAVAILABLE => {
            "The service is temporarily unavailable; try again later."
        }
        s if s.is_server_error() => "Something went wrong on our side.",
        _ => "The request could not be handled.",
    }
}

/// Sets the security headers a response didn't set itself. Handlers that serve HTML set a
/// Content-Security-Policy of their own; everything else gets [`DEFAULT_CSP`].
fn security_headers(mut response: Response, hsts: bool) -> Response {
    let headers = response.headers_mut();
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // A privacy service tells other sites nothing about where its visitors were.
    set_default(headers, header::REFERRER_POLICY, "no-referrer");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(headers, header::CONTENT_SECURITY_POLICY, DEFAULT_CSP);
    set_default(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if hsts {
        set_default(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    response
}

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers
        .entry(name)
        .or_insert_with(|| HeaderValue::from_static(value));
}

#[cfg(test)]
mod tests {
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    fn router() -> Router {
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let v: Vec<u8> = Vec::new();
                    // Index out of bounds, as a buggy handler would.
                    v[usize::from(v.is_empty())].to_string()
                }),
            )
            .route(
                "/echo",
                post(|body: String| async move { body.len().to_string() }),
            );
        harden(router, true)
    }

    async fn send(request: axum::http::Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec();
        (status, headers, body)
    }

    #[tokio::test]
    async fn a_panic_is_a_generic_500_problem() {
        let (status, headers, body) = send(
            axum::http::Request::get("/boom")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("Something went wrong on our side."), "{text}");
        assert!(!text.contains("index out of bounds"), "{text}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
    }

    #[tokio::test]
    async fn an_oversized_body_is_a_413_problem() {
        let body = vec![b'x'; BODY_LIMIT + 1];
        let (status, headers, body) = send(
            axum::http::Request::post("/echo")
                .header(header::CONTENT_LENGTH, BODY_LIMIT + 1)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        let problem: Problem = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem.status, 413);
        assert_eq!(problem.title, "Payload Too Large");
    }

    #[tokio::test]
    async fn a_405_keeps_its_allow_header() {
        let (status, headers, _) = send(
            axum::http::Request::get("/echo")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn extension_methods_share_one_label() {
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
        assert_eq!(method_label(&Method::GET), "GET");
    }
}
