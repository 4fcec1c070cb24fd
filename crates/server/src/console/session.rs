//! The console's session cookie, its CSRF token and the signed-in staff member.
//!
//! The cookie holds a random session id; the store keeps only its hash, with idle and absolute
//! expiry ([`crate::staff::login`]). The cookie is HttpOnly, SameSite=Strict, limited to
//! `/console`, and Secure when ombud is reached over HTTPS. The CSRF token of a session is a
//! hash of its id, so only someone who holds the cookie can know it, and nothing more is stored.

use axum::http::HeaderMap;
use axum::http::header::{self, HeaderValue};
use jiff::Timestamp;
use ombud_store::{StaffUser, StoreError};
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "ombud_staff";
/// The language cookie's name (set by the language link).
const LANG_COOKIE: &str = "ombud_console_lang";

/// A signed-in staff member, as the guard hands them to a handler.
#[derive(Clone)]
pub(crate) struct Staff {
    pub user: StaffUser,
    /// The token every form of this session carries.
    pub csrf: String,
    pub lang: &'static str,
    session_id: String,
}

impl std::fmt::Debug for Staff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff")
            .field("user", &self.user.id)
            .field("role", &self.user.role)
            .finish_non_exhaustive()
    }
}

impl Staff {
    /// Whether `given` is this session's CSRF token (in constant time).
    pub fn csrf_matches(&self, given: Option<&str>) -> bool {
        let given = given.unwrap_or("").as_bytes();
        let expected = self.csrf.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The session id, for logging out.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Who did it, for the audit log and the request timeline: the member's id, never the
    /// address.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.user.id)
    }
}

/// The CSRF token of the session whose id is `session_id`.
fn csrf_token(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ombud console csrf\0");
    h.update(session_id.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The signed-in staff member of this request, if its session cookie names a valid session
/// of a user who is not disabled. Marks the session as seen.
pub(crate) async fn staff(
    state: &AppState,
    headers: &HeaderMap,
    lang: &'static str,
) -> Result<Option<Staff>, StoreError> {
    let Some(id) = cookie(headers, COOKIE).filter(|v| v.len() == 64) else {
        return Ok(None);
    };
    let store = state.store();
    let Some(session) = crate::staff::login::session(store, id).await? else {
        return Ok(None);
    };
    let Some(user) = store.staff_user(session.user_id).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Staff {
        user,
        csrf: csrf_token(id),
        lang,
        session_id: id.to_owned(),
    }))
}

/// The `Set-Cookie` value that starts a session.
pub(crate) fn set_cookie(id: &str, expires: Timestamp, secure: bool) -> HeaderValue {
    let max_age = (expires - Timestamp::now()).as_secs().max(0);
    let value = format!(
        "{COOKIE}={id}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that ends a session in the browser.
pub(crate) fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "ombud_staff=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
        )
    } else {
        HeaderValue::from_static(
            "ombud_staff=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict",
        )
    }
}

/// The `Set-Cookie` value that remembers the console's language.
pub(crate) fn lang_cookie(lang: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={lang}; Path=/console; Max-Age=31536000; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `?lang=`, else the language cookie, else the browser's first language if it is Danish,
/// else English.
pub(crate) fn language(headers: &HeaderMap, query: Option<&str>) -> &'static str {
    let pick = |s: &str| match s.get(..2) {
        Some("da") => Some("da"),
        Some("en") => Some("en"),
        _ => None,
    };
    query
        .and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(pick)
        })
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(pick))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(pick)
        })
        .unwrap_or("en")
}

/// Whether a form post comes from this origin, as far as the browser says. `Sec-Fetch-Site`
/// decides when it is there (every current browser sends it); otherwise an `Origin` header must
/// name this host. Requests that carry neither (non-browser clients) pass: they hold no
/// browser's cookie to abuse.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin" || site.as_bytes() == b"none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = headers(&[("cookie", "a=1; ombud_staff=abc; b=2")]);
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn only_this_origin_may_post() {
        let ok = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(same_origin(&ok));
        let other = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!same_origin(&other));
        let fetch = headers(&[("host", "a"), ("sec-fetch-site", "cross-site")]);
        assert!(!same_origin(&fetch));
        let null_origin = headers(&[
            ("host", "a"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(
            same_origin(&null_origin),
            "Chromium sends Origin: null under no-referrer"
        );
        assert!(same_origin(&headers(&[("host", "a")])));
    }

    #[test]
    fn the_csrf_token_depends_on_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a").len(), 32);
    }

    #[test]
    fn language_from_query_cookie_or_browser() {
        let h = headers(&[("accept-language", "da-DK,da;q=0.9")]);
        assert_eq!(language(&h, None), "da");
        assert_eq!(language(&h, Some("x=1&lang=en")), "en");
        let c = headers(&[("cookie", "ombud_console_lang=da")]);
        assert_eq!(language(&c, None), "da");
        assert_eq!(language(&HeaderMap::new(), None), "en");
    }
}
