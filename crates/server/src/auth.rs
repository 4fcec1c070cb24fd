//! API authentication: bearer tokens with scopes.
//!
//! Two kinds of token open the API:
//!
//! - **API tokens** made with `ombud tokens add` (or, later, the console; see
//!   [`crate::staff::tokens`]). The store keeps the SHA-256 of each with its scopes; a request's
//!   token is looked up by that hash, and a revoked token is refused at once, on every node. The
//!   token's last use is recorded at most once per [`LAST_USED_EVERY`] on each node, so the hot
//!   path is one indexed read.
//! - The configured `api_token` (`OMBUD_API_TOKEN`), the **bootstrap and operations token**: it
//!   carries every scope, is compared in constant time and never touches the store. It is meant
//!   for setting up and for operators' scripts; it can't be revoked except by changing the
//!   configuration, so prefer scoped tokens for integrations and leave it unset when none needs it.
//!
//! Every protected handler takes an [`ApiCaller`] naming the one scope it needs, e.g.
//! `ApiCaller<scope::Read>`. The extractor runs before the handler reads its path, query or body,
//! so a caller without the scope learns nothing about their validity. No token, an unknown or a
//! revoked token is 401; a valid token without the scope is 403. Tokens are never logged.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ombud_domain::staff::{Scope, secret_hash};
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::state::AppState;

/// Actor name recorded in the audit log for calls made with the configured (bootstrap) token.
pub const API_ACTOR: &str = "api";

/// A token's last use is written at most this often per node.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// The scope a route needs, as a type, so that the route's signature states it.
pub trait RequiredScope {
    const SCOPE: Scope;
}

/// The scopes as types, for [`ApiCaller`].
pub mod scope {
    use super::{RequiredScope, Scope};

    /// `read`: look at requests and consent.
    #[derive(Debug, Clone, Copy)]
    pub struct Read;
    /// `consent:write`: record consent and link subjects.
    #[derive(Debug, Clone, Copy)]
    pub struct ConsentWrite;
    /// `requests:write`: submit requests and act on them.
    #[derive(Debug, Clone, Copy)]
    pub struct RequestsWrite;

    impl RequiredScope for Read {
        const SCOPE: Scope = Scope::Read;
    }
    impl RequiredScope for ConsentWrite {
        const SCOPE: Scope = Scope::ConsentWrite;
    }
    impl RequiredScope for RequestsWrite {
        const SCOPE: Scope = Scope::RequestsWrite;
    }
}

/// Who called: the configured token, or a stored API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The configured `api_token`, with every scope.
    Bootstrap,
    /// The stored API token with this id.
    Token(i64),
}

impl Caller {
    /// The actor of audit entries and timeline events: `api` for the configured token,
    /// `api_token:<id>` for a stored one.
    pub fn actor(self) -> String {
        match self {
            Caller::Bootstrap => API_ACTOR.to_owned(),
            Caller::Token(id) => format!("api_token:{id}"),
        }
    }
}

/// A request that carried a token with scope `S`. Add it as a handler argument to protect the
/// route, and name the same scope in the route's `security(("bearer" = ["…"]))`.
pub struct ApiCaller<S> {
    pub caller: Caller,
    scope: PhantomData<fn() -> S>,
}

impl<S> ApiCaller<S> {
    pub fn actor(&self) -> String {
        self.caller.actor()
    }
}

impl<S: RequiredScope> fmt::Debug for ApiCaller<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCaller")
            .field("caller", &self.caller)
            .field("scope", &S::SCOPE)
            .finish()
    }
}

const MISSING: &str = "Send an API token as `Authorization: Bearer <token>`; make one with `ombud tokens add NAME --scope SCOPE`.";
const UNKNOWN: &str = "This API token is not known or has been revoked. Send a valid one as `Authorization: Bearer <token>`.";

/// The 403 detail for a missing scope (a static text per scope, as the error type wants).
fn lacks(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "This token lacks the scope read.",
        Scope::ConsentWrite => "This token lacks the scope consent:write.",
        Scope::RequestsWrite => "This token lacks the scope requests:write.",
        Scope::RecordsWrite => "This token lacks the scope records:write.",
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for ApiCaller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or(ApiError::Unauthorized(MISSING))?;
        let caller = authenticate(state, given, S::SCOPE).await?;
        Ok(ApiCaller {
            caller,
            scope: PhantomData,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Who `token` belongs to, if it may use `scope`.
async fn authenticate(state: &AppState, token: &str, scope: Scope) -> Result<Caller, ApiError> {
    if state.api_token().is_some_and(|expected| {
        constant_time_eq(token.as_bytes(), expected.expose_secret().as_bytes())
    }) {
        return Ok(Caller::Bootstrap);
    }
    let found = state.store().api_token_by_hash(&secret_hash(token)).await?;
    let Some(found) = found.filter(|t| t.is_active()) else {
        return Err(ApiError::Unauthorized(UNKNOWN));
    };
    if !found.scopes.as_slice().contains(&scope) {
        return Err(ApiError::Forbidden(lacks(scope)));
    }
    if state.token_uses().due(found.id, Instant::now()) {
        // Recording the use is bookkeeping: a failure is logged, and the call goes ahead.
        if let Err(e) = state
            .store()
            .record_api_token_use(found.id, LAST_USED_EVERY)
            .await
        {
            tracing::warn!(api_token = found.id, error = %e, "could not record an API token's use");
        }
    }
    Ok(Caller::Token(found.id))
}

/// When each stored token's use was last written by this node, so that a busy token costs one
/// write per [`LAST_USED_EVERY`] rather than one per request.
#[derive(Debug, Default)]
pub(crate) struct TokenUses(Mutex<HashMap<i64, Instant>>);

impl TokenUses {
    /// Whether the use of token `id` at `now` should be written, noting it if so.
    fn due(&self, id: i64, now: Instant) -> bool {
        let Ok(mut last) = self.0.lock() else {
            return true;
        };
        match last.get(&id) {
            Some(at) if now.saturating_duration_since(*at) < LAST_USED_EVERY => false,
            _ => {
                last.insert(id, now);
                true
            }
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
    use ombud_domain::policy::Keyword as _;

    use super::*;

    #[test]
    fn compares_bytes() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokem"));
        assert!(!constant_time_eq(b"secret", b"secret-token"));
    }

    #[test]
    fn reads_the_bearer_header() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearerabc"), None);
    }

    #[test]
    fn a_use_is_due_once_per_interval_and_token() {
        let uses = TokenUses::default();
        let t0 = Instant::now();
        assert!(uses.due(1, t0));
        assert!(!uses.due(1, t0 + Duration::from_secs(59)));
        assert!(uses.due(2, t0 + Duration::from_secs(59)), "another token");
        assert!(uses.due(1, t0 + LAST_USED_EVERY));
        assert!(!uses.due(1, t0 + LAST_USED_EVERY + Duration::from_secs(1)));
    }

    #[test]
    fn every_scope_has_a_message() {
        for key in Scope::keys() {
            let scope = Scope::parse(key).unwrap();
            assert!(lacks(scope).ends_with(&format!(" {key}.")));
        }
    }
}
