//! API authentication: bearer tokens with scopes.
//!
//! Two kinds of token open the API:
//!
//! - **API tokens** made with `ombud tokens add` (or, later, the console; see
//!   [`crate::staff::tokens`]). The store keeps the SHA-256 of each with its scopes; a request's
//!   token is looked up by that hash and a revoked token is refused. A token found active is
//!   remembered for [`RECHECK_AFTER`] (one second), so a busy integration costs one store read a
//!   second rather than one per call (a lookup caps SQLite at roughly 40,000 calls a second,
//!   below the consent check's own rate), and a revocation takes effect within that second on
//!   every node. The token's last use is written at most once per [`LAST_USED_EVERY`] per node.
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
use ombud_domain::staff::{Scope, Scopes, secret_hash};
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::state::AppState;

/// Actor name recorded in the audit log for calls made with the configured (bootstrap) token.
pub const API_ACTOR: &str = "api";

/// A token's last use is written at most this often per node.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// How long a token found active is trusted without asking the store again: the longest a
/// revoked token keeps working.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

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
    let hash = secret_hash(token);
    let now = Instant::now();
    let tokens = state.tokens();
    let (id, allowed) = match tokens.remembered(&hash, scope, now) {
        Some(known) => known,
        None => {
            let found = state.store().api_token_by_hash(&hash).await?;
            let Some(found) = found.filter(|t| t.is_active()) else {
                return Err(ApiError::Unauthorized(UNKNOWN));
            };
            let allowed = found.scopes.as_slice().contains(&scope);
            tokens.remember(hash, found.id, found.scopes, now);
            (found.id, allowed)
        }
    };
    if tokens.use_due(id, now) {
        // A use is any call with the token, allowed or not: it shows the token is still in
        // service. Recording it is bookkeeping: a failure is logged, and the call goes on.
        if let Err(e) = state
            .store()
            .record_api_token_use(id, LAST_USED_EVERY)
            .await
        {
            tracing::warn!(api_token = id, error = %e, "could not record an API token's use");
        }
    }
    if !allowed {
        return Err(ApiError::Forbidden(lacks(scope)));
    }
    Ok(Caller::Token(id))
}

/// What this node knows about stored tokens: those recently found active (by hash, for
/// [`RECHECK_AFTER`]), and when each one's use was last written.
#[derive(Debug, Default)]
pub(crate) struct KnownTokens {
    active: Mutex<HashMap<[u8; 32], Active>>,
    uses: Mutex<HashMap<i64, Instant>>,
}

#[derive(Debug)]
struct Active {
    id: i64,
    scopes: Scopes,
    checked_at: Instant,
}

impl KnownTokens {
    /// The id of the token with `hash` and whether it has `scope`, if it was found active less
    /// than [`RECHECK_AFTER`] before `now`.
    fn remembered(&self, hash: &[u8; 32], scope: Scope, now: Instant) -> Option<(i64, bool)> {
        let mut active = self.active.lock().ok()?;
        let known = active.get(hash)?;
        if now.saturating_duration_since(known.checked_at) >= RECHECK_AFTER {
            active.remove(hash);
            return None;
        }
        Some((known.id, known.scopes.as_slice().contains(&scope)))
    }

    /// Notes that the token with `hash` was found active at `now`.
    fn remember(&self, hash: [u8; 32], id: i64, scopes: Scopes, now: Instant) {
        if let Ok(mut active) = self.active.lock() {
            // Entries of tokens no longer used are dropped now and then, so the map stays as
            // small as the set of tokens in use.
            if active.len() >= 1024 {
                active.retain(|_, a| now.saturating_duration_since(a.checked_at) < RECHECK_AFTER);
            }
            active.insert(
                hash,
                Active {
                    id,
                    scopes,
                    checked_at: now,
                },
            );
        }
    }

    /// Whether the use of token `id` at `now` should be written, noting it if so.
    fn use_due(&self, id: i64, now: Instant) -> bool {
        let Ok(mut last) = self.uses.lock() else {
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
        let known = KnownTokens::default();
        let t0 = Instant::now();
        assert!(known.use_due(1, t0));
        assert!(!known.use_due(1, t0 + Duration::from_secs(59)));
        assert!(
            known.use_due(2, t0 + Duration::from_secs(59)),
            "another token"
        );
        assert!(known.use_due(1, t0 + LAST_USED_EVERY));
        assert!(!known.use_due(1, t0 + LAST_USED_EVERY + Duration::from_secs(1)));
    }

    #[test]
    fn an_active_token_is_remembered_for_a_second() {
        let known = KnownTokens::default();
        let t0 = Instant::now();
        let hash = secret_hash("ombud_x");
        assert_eq!(known.remembered(&hash, Scope::Read, t0), None);
        known.remember(hash, 7, Scopes::parse("read").unwrap(), t0);
        let soon = t0 + Duration::from_millis(999);
        assert_eq!(known.remembered(&hash, Scope::Read, soon), Some((7, true)));
        assert_eq!(
            known.remembered(&hash, Scope::ConsentWrite, soon),
            Some((7, false))
        );
        assert_eq!(
            known.remembered(&secret_hash("ombud_y"), Scope::Read, soon),
            None
        );
        assert_eq!(
            known.remembered(&hash, Scope::Read, t0 + RECHECK_AFTER),
            None
        );
        assert_eq!(known.remembered(&hash, Scope::Read, t0), None, "forgotten");
    }

    #[test]
    fn the_map_of_active_tokens_stays_small() {
        let known = KnownTokens::default();
        let t0 = Instant::now();
        for i in 0..1024 {
            known.remember(
                secret_hash(&i.to_string()),
                i,
                Scopes::parse("read").unwrap(),
                t0,
            );
        }
        known.remember(
            secret_hash("late"),
            2000,
            Scopes::parse("read").unwrap(),
            t0 + RECHECK_AFTER,
        );
        assert_eq!(known.active.lock().unwrap().len(), 1);
    }

    #[test]
    fn every_scope_has_a_message() {
        for key in Scope::keys() {
            let scope = Scope::parse(key).unwrap();
            assert!(lacks(scope).ends_with(&format!(" {key}.")));
        }
    }
}
