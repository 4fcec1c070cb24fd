//! The cookie banner's public side: the script, the endpoint its choices are posted to (which
//! records them in the ledger and sets the consent cookie), the GPC declaration, and a sample
//! page with blocked scripts to try it on.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::consent::{self, Method, SubjectKey, Target, truncate_ip};
use ombud_store::NewConsentEvent;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::banner::demo_page;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;

/// A choice made in the banner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BannerChoice {
    /// The policy version the banner was built for.
    pub version: i64,
    /// The banner revision (hash of the categories and cookies shown).
    pub rev: String,
    /// Language the banner was shown in (`en` or `da`).
    pub lang: Option<String>,
    /// Every category that is not strictly necessary, granted or not.
    pub choices: BTreeMap<String, bool>,
    /// `navigator.globalPrivacyControl` was true.
    #[serde(default)]
    pub gpc: bool,
    /// The page the choice was made on.
    pub url: Option<String>,
}

/// What was recorded; the same facts are in the consent cookie.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BannerReceipt {
    /// The visitor id (32 hex digits), also in the cookie.
    pub visitor: String,
    pub version: i64,
    pub rev: String,
    /// The categories granted.
    pub granted: Vec<String>,
    /// When the choice was recorded (unix seconds).
    pub at: i64,
    /// When the banner asks again (unix seconds).
    pub expires: i64,
}

/// The contents of the consent cookie (percent-encoded JSON, readable by the banner).
#[derive(Debug, Serialize, Deserialize)]
struct CookieValue {
    v: String,
    p: i64,
    r: String,
    g: Vec<String>,
    t: i64,
    x: i64,
}

/// The banner script, with the configuration for the policy in force inlined.
#[utoipa::path(
    get,
    path = "/c/banner.js",
    tag = "consent",
    responses((status = OK, description = "The banner script (JavaScript, CSS inside)",
        body = String, content_type = "application/javascript")),
)]
pub(super) async fn script(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let banner = state.banner();
    let etag = HeaderValue::from_str(&banner.etag).ok();
    if let (Some(tag), Some(given)) = (&etag, headers.get(header::IF_NONE_MATCH))
        && given == tag
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = if gzip && !banner.gzip.is_empty() {
        (
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            banner.gzip.clone(),
        )
            .into_response()
    } else {
        banner.js.clone().into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    // Short: a new policy version must reach visitors soon.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(tag) = etag {
        h.insert(header::ETAG, tag);
    }
    response
}

/// The peer's IP address, when the server runs with connection info (not in in-process tests).
pub(crate) struct PeerIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Record a banner choice: one ledger event per category, stored durably before the answer,
/// which sets the consent cookie.
#[utoipa::path(
    post,
    path = "/c/consent",
    tag = "consent",
    request_body = BannerChoice,
    responses(
        (status = OK, description = "Recorded; the consent cookie is set", body = BannerReceipt),
        (status = FORBIDDEN, description = "Posted from a site that is not configured", body = Problem,
            content_type = "application/problem+json"),
        (status = CONFLICT, description = "The banner was built for another policy version", body = Problem,
            content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "Unknown or missing category", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(super) async fn record_choice(
    State(state): State<AppState>,
    PeerIp(peer): PeerIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BannerChoice>,
) -> Result<Response, ApiError> {
    let origin = allowed_origin(&state, &headers)?;
    let banner = state.banner();
    let version = state.policy().version.id;
    if body.version != version || body.rev != banner.rev {
        return Err(ApiError::Conflict(
            "The banner was built for another version of the policy; reload the page.".into(),
        ));
    }
    let policy = state.model();
    let optional: Vec<_> = policy
        .cookie_categories
        .iter()
        .filter(|c| !c.necessary)
        .collect();
    for key in body.choices.keys() {
        if !optional.iter().any(|c| c.id.as_str() == key) {
            return Err(ApiError::Unprocessable(format!(
                "choices: `{key}` is not a cookie category that needs consent."
            )));
        }
    }
    if let Some(missing) = optional
        .iter()
        .find(|c| !body.choices.contains_key(c.id.as_str()))
    {
        return Err(ApiError::Unprocessable(format!(
            "choices: `{}` is missing; send every category.",
            missing.id
        )));
    }
    let lang = match body.lang.as_deref() {
        Some("da") => "da",
        Some("en") | None => "en",
        Some(_) => return Err(ApiError::Unprocessable("lang: use en or da.".into())),
    };
    let source = match body.url {
        Some(u) if u.len() > 2048 || !(u.starts_with("https://") || u.starts_with("http://")) => {
            return Err(ApiError::Unprocessable(
                "url: must be an http(s) URL under 2048 bytes.".into(),
            ));
        }
        other => other,
    };
    let gpc = body.gpc || headers.get("sec-gpc").is_some_and(|v| v.as_bytes() == b"1");
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let visitor = visitor_from_cookie(&headers, &state.consent_settings().cookie_name)
        .unwrap_or_else(new_visitor);
    let now = Timestamp::now();
    let expires_us =
        consent::add_period(now.as_microsecond(), policy.consent.expires_after).unwrap_or(i64::MAX);
    let expires_at = Timestamp::from_microsecond(expires_us).ok();
    let events = optional
        .iter()
        .map(|c| {
            let granted = body.choices.get(c.id.as_str()).copied().unwrap_or(false);
            NewConsentEvent {
                subject: visitor.clone(),
                target: Target::Cookies(c.id.clone()),
                granted,
                method: Method::Banner,
                policy_version: version,
                wording_hash: banner
                    .wording
                    .get(&(lang.to_owned(), c.id.clone()))
                    .cloned(),
                gpc,
                source: source.clone(),
                recorded_by: None,
                user_agent: user_agent.clone(),
                ip_prefix: peer.map(truncate_ip),
                at: now,
                expires_at: if granted { expires_at } else { None },
            }
        })
        .collect();
    state.writer().record(events).await?;

    let granted: Vec<String> = optional
        .iter()
        .filter(|c| body.choices.get(c.id.as_str()) == Some(&true))
        .map(|c| c.id.to_string())
        .collect();
    let receipt = BannerReceipt {
        visitor: visitor.value().to_owned(),
        version,
        rev: banner.rev.clone(),
        granted: granted.clone(),
        at: now.as_second(),
        expires: expires_us / 1_000_000,
    };
    let cookie = CookieValue {
        v: receipt.visitor.clone(),
        p: version,
        r: banner.rev.clone(),
        g: granted,
        t: receipt.at,
        x: receipt.expires,
    };
    let mut response = Json(receipt).into_response();
    let settings = state.consent_settings();
    let max_age = (expires_us / 1_000_000 - now.as_second()).max(0);
    let mut set_cookie = format!(
        "{}={}; Path=/; Max-Age={max_age}; SameSite=Lax",
        settings.cookie_name,
        percent_encode(&serde_json::to_string(&cookie).unwrap_or_default())
    );
    if let Some(domain) = &settings.cookie_domain {
        set_cookie.push_str(&format!("; Domain={domain}"));
    }
    if settings.secure {
        set_cookie.push_str("; Secure");
    }
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&set_cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    cors_headers(h, origin.as_deref());
    Ok(response)
}

/// The CORS preflight of `POST /c/consent`: only the configured site origins may post, with
/// credentials (the consent cookie).
#[utoipa::path(
    options,
    path = "/c/consent",
    tag = "consent",
    responses(
        (status = NO_CONTENT, description = "The origin may post choices"),
        (status = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn preflight(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let origin = allowed_origin(&state, &headers)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    cors_headers(h, origin.as_deref());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Ok(response)
}

/// The `Origin` of a browser request, if it may post choices: ombud's own origin or one of the
/// configured site origins. Requests without `Origin` (not from a browser) pass: they carry no
/// one's cookies.
fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let own = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| {
            let scheme = if state.consent_settings().secure {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        });
    if own.as_deref() == Some(origin)
        || state
            .consent_settings()
            .site_origins
            .iter()
            .any(|o| o == origin)
    {
        Ok(Some(origin.to_owned()))
    } else {
        Err(ApiError::Forbidden(
            "This site may not record consent here: add its origin to site_origins.",
        ))
    }
}

fn cors_headers(h: &mut HeaderMap, origin: Option<&str>) {
    if let Some(v) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn visitor_from_cookie(headers: &HeaderMap, name: &str) -> Option<SubjectKey> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| percent_decode(v))
        .and_then(|json| serde_json::from_str::<CookieValue>(&json).ok())
        .and_then(|c| SubjectKey::visitor(&c.v).ok())
}

/// A new visitor id: the current time in milliseconds (48 bits), then 80 random bits. New ids
/// sort after older ones, so the ledger's indexes grow at their right edge instead of being
/// written all over (measured: 2.5 times the write cost per event with fully random ids), and
/// 80 random bits still make an id impossible to guess.
fn new_visitor() -> SubjectKey {
    let mut bytes = [0u8; 16];
    // If the OS random source fails, the clock still gives this request a distinct id.
    if getrandom::fill(&mut bytes[6..]).is_err() {
        bytes[6..].copy_from_slice(&Timestamp::now().as_nanosecond().to_le_bytes()[..10]);
    }
    let ms = Timestamp::now().as_millisecond().to_be_bytes();
    bytes[..6].copy_from_slice(&ms[2..]);
    SubjectKey::visitor_from_bytes(bytes)
}

/// Percent-encodes everything but unreserved characters, so the JSON is a valid cookie value.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The Global Privacy Control declaration: this site honours the signal.
#[utoipa::path(
    get,
    path = "/.well-known/gpc.json",
    tag = "consent",
    responses((status = OK, description = "GPC support resource", body = serde_json::Value)),
)]
pub(super) async fn gpc(State(state): State<AppState>) -> Response {
    let body =
        serde_json::json!({ "gpc": true, "lastUpdate": state.policy().last_updated.to_string() });
    Json(body).into_response()
}

/// Content-Security-Policy of the sample page, which carries inline demo snippets.
const DEMO_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
    img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A sample page with the banner, a blocked analytics script and a blocked advertising pixel.
#[utoipa::path(
    get,
    path = "/c/demo",
    tag = "consent",
    responses((status = OK, description = "A sample page", body = String, content_type = "text/html")),
)]
pub(super) async fn demo(State(state): State<AppState>) -> Response {
    let html = demo_page("/c/banner.js", "/c/demo/pixel.gif", state.notice_language());
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DEMO_CSP),
            ),
            (
                HeaderName::from_static("cache-control"),
                HeaderValue::from_static("no-store"),
            ),
        ],
        html,
    )
        .into_response()
}

/// A 1×1 transparent GIF standing in for an advertising pixel on the sample page.
#[utoipa::path(
    get,
    path = "/c/demo/pixel.gif",
    tag = "consent",
    responses((status = OK, description = "A transparent pixel", body = Vec<u8>, content_type = "image/gif")),
)]
pub(super) async fn pixel() -> Response {
    const GIF: [u8; 43] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
    ];
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        GIF.as_slice(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_ids_sort_by_creation_and_differ() {
        let a = new_visitor();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_visitor();
        assert!(a < b, "{a} then {b}");
        assert_ne!(new_visitor(), new_visitor());
    }

    #[test]
    fn cookie_values_round_trip() {
        let json =
            r#"{"v":"0123456789abcdef0123456789abcdef","p":1,"r":"x","g":["a b"],"t":1,"x":2}"#;
        let enc = percent_encode(json);
        assert!(
            enc.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b))
        );
        assert_eq!(percent_decode(&enc).as_deref(), Some(json));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
