//! API authentication: a bearer token from the configuration.
//!
//! One token for now (scoped, hashed, revocable tokens come with staff accounts). Compared in
//! constant time so the comparison leaks nothing about how much of a guess was right.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::state::AppState;

/// A request that carried the configured API token. Add it as a handler argument to protect
/// the route.
#[derive(Debug, Clone, Copy)]
pub struct ApiCaller;

/// Actor name recorded in the audit log for API calls.
pub const API_ACTOR: &str = "api";

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.api_token() else {
            return Err(ApiError::Unauthorized(
                "This API needs a token, and none is configured: set api_token (or OMBUD_API_TOKEN) and send it as `Authorization: Bearer <token>`.",
            ));
        };
        let given = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if constant_time_eq(given.as_bytes(), expected.expose_secret().as_bytes()) {
            Ok(ApiCaller)
        } else {
            Err(ApiError::Unauthorized(
                "Send the API token as `Authorization: Bearer <token>`.",
            ))
        }
    }
}

/// Equal length and equal bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_bytes() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokem"));
        assert!(!constant_time_eq(b"secret", b"secret-token"));
    }
}
