//! The privacy notice, as rendered from the policy at start.

use axum::extract::State;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Content-Security-Policy of the notice page. The page runs no script at all; it may carry a
/// small embedded stylesheet, which is what `style-src 'unsafe-inline'` is for (inline styles
/// can't run code, and everything else stays blocked).
pub const NOTICE_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; \
    img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The privacy notice as a web page.
#[utoipa::path(
    get,
    path = "/privacy",
    tag = "notice",
    responses((status = OK, description = "The privacy notice, a complete HTML page",
        body = String, content_type = "text/html")),
)]
pub(super) async fn privacy_html(State(state): State<AppState>) -> Response {
    document(&state, "text/html; charset=utf-8", state.notice_html())
}

/// The privacy notice as Markdown, e.g. to publish it in another site's pages.
#[utoipa::path(
    get,
    path = "/privacy.md",
    tag = "notice",
    responses((status = OK, description = "The privacy notice in Markdown",
        body = String, content_type = "text/markdown")),
)]
pub(super) async fn privacy_markdown(State(state): State<AppState>) -> Response {
    document(
        &state,
        "text/markdown; charset=utf-8",
        state.notice_markdown(),
    )
}

fn document(state: &AppState, content_type: &'static str, body: axum::body::Bytes) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(NOTICE_CSP),
            ),
        ],
        body,
    )
        .into_response();
    // The language comes from the policy file; a value that isn't a valid header is left out
    // rather than failing the page.
    if let Ok(language) = HeaderValue::from_str(state.notice_language()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("content-language"), language);
    }
    response
}
