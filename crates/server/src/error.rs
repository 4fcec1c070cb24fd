//! The HTTP layer's errors: one type, [`ApiError`], that every handler returns, and its wire
//! form, an RFC 9457 problem document.
//!
//! The mapping to status codes lives here and nowhere else. Internal causes (store failures,
//! panics) are logged by kind and answered with a generic detail, so nothing about the
//! database, the code or stored data reaches a client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ombud_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// Media type of problem documents (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, the body of every 4xx and 5xx response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem. `about:blank` means the status code says it all.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    /// A short summary: the reason phrase of the status code.
    #[schema(example = "Not Found")]
    pub title: String,
    /// The HTTP status code, repeated for clients that only see the body.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong with this request, in words meant for the person or program that sent it.
    #[schema(example = "There is nothing at this address.")]
    pub detail: String,
}

impl Problem {
    /// A problem of kind `about:blank` for `status`, titled with the status's reason phrase
    /// as RFC 9457 asks for that kind.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No resource here. The detail says what was looked for, never what exists.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The request can't be read (bad JSON syntax, a malformed query string).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request was read but its content is wrong (a missing field, a bad value).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// No valid credentials. The detail says how to authenticate.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Authenticated (or anonymous) but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request is valid but conflicts with the current state (e.g. a banner choice made on
    /// a policy version that is no longer in force).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body is larger than the server accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body has a media type the endpoint doesn't take.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A dependency (the database) can't serve right now; retrying later may work.
    #[error("service unavailable")]
    Unavailable,
    /// Anything else: a bug or corrupt data. Logged, never explained to the client.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::NotFound(what) => format!("{what} was not found."),
            ApiError::Unauthorized(d) | ApiError::Forbidden(d) => (*d).to_owned(),
            ApiError::BadRequest(d)
            | ApiError::Conflict(d)
            | ApiError::Unprocessable(d)
            | ApiError::UnsupportedMediaType(d) => d.clone(),
            ApiError::PayloadTooLarge => "The request body is too large.".to_owned(),
            ApiError::Unavailable => {
                "The service is temporarily unavailable; try again later.".to_owned()
            }
            ApiError::Internal => "Something went wrong on our side.".to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = matches!(self, ApiError::Unauthorized(_));
        let mut response = Problem::new(self.status(), self.detail()).into_response();
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// Logs the store error's own message only: its `Display` is written to be safe, while its
    /// sources (driver messages) may quote stored values, i.e. personal data.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("The record"),
            // The store's own rule, written without the offending value.
            StoreError::Invalid(rule) => ApiError::Unprocessable(format!("{rule}.")),
            StoreError::Closed => ApiError::Unavailable,
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Internal
            }
        }
    }
}

/// `Json<T>` whose rejections are problem documents. The detail comes from the JSON parser
/// and may echo part of the body back to its sender, which is why it is never logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::Unprocessable(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "Send the body as JSON, with Content-Type: application/json.".to_owned(),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// `Query<T>` whose rejections are problem documents (400).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    #[derive(serde::Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        n: u32,
    }

    async fn problem_of(router: Router, request: axum::http::Request<Body>) -> Problem {
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let problem: Problem = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(problem.status, status);
        problem
    }

    fn router() -> Router {
        Router::new()
            .route("/json", post(|ApiJson(_): ApiJson<Thing>| async { "ok" }))
            .route("/query", get(|ApiQuery(_): ApiQuery<Thing>| async { "ok" }))
    }

    fn post_json(body: &'static str, content_type: &str) -> axum::http::Request<Body> {
        axum::http::Request::post("/json")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn json_syntax_errors_are_400_and_data_errors_422() {
        let p = problem_of(router(), post_json("{", "application/json")).await;
        assert_eq!(p.status, 400);
        let p = problem_of(router(), post_json(r#"{"n":"x"}"#, "application/json")).await;
        assert_eq!(p.status, 422);
        assert_eq!(p.title, "Unprocessable Entity");
        let p = problem_of(router(), post_json(r#"{"n":1}"#, "text/plain")).await;
        assert_eq!(p.status, 415);
    }

    #[tokio::test]
    async fn query_errors_are_400() {
        let request = axum::http::Request::get("/query?n=x")
            .body(Body::empty())
            .unwrap();
        let p = problem_of(router(), request).await;
        assert_eq!(p.status, 400);
        assert_eq!(p.kind, "about:blank");
    }

    #[test]
    fn store_errors_never_leak_their_cause() {
        let e = ApiError::from(StoreError::Corrupt("row 7 has email a@b.c".to_owned()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.detail().contains("a@b.c"));
        let e = ApiError::from(StoreError::Unavailable("pool closed".into()));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
