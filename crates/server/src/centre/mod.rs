//! The privacy centre: a person chooses a right, gives an e-mail address, confirms it with a
//! code, and follows the request. Server-rendered, English and Danish, no JavaScript.
//!
//! Nothing on these pages depends on whether an address is known to the organisation: intake
//! always answers the same way, and a request shows nothing about the person.

mod text;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::value::Serde;
use minijinja::{Environment, context};
use ombud_domain::policy::{Keyword, LegalBasis};
use ombud_domain::request::{Channel, RequestState, RequestType};
use serde::{Deserialize, Serialize};

use crate::requests::{CodeOutcome, Details, RequestError, Submission};
use crate::state::AppState;

/// No scripts; the small embedded stylesheet; forms post to this origin only.
const CENTRE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn pages() -> &'static Environment<'static> {
    static PAGES: OnceLock<Environment<'static>> = OnceLock::new();
    PAGES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../../assets/centre/base.html")),
            ("form.html", include_str!("../../assets/centre/form.html")),
            ("verify.html", include_str!("../../assets/centre/verify.html")),
            ("status.html", include_str!("../../assets/centre/status.html")),
            ("message.html", include_str!("../../assets/centre/message.html")),
        ] {
            // The templates are part of the binary and rendered by the tests; a broken one is
            // a build defect, reported on first use rather than at start.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "privacy centre template does not parse");
            }
        }
        env
    })
}

fn page(status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    match pages().get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CENTRE_CSP),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "privacy centre page failed to render");
            crate::error::ApiError::Internal.into_response()
        }
    }
}

/// `?lang=`, else the browser's first language if it is Danish or English, else the policy's.
fn language(query: Option<&str>, headers: &HeaderMap, state: &AppState) -> &'static str {
    let pick = |s: &str| match s.get(..2) {
        Some("da") => Some("da"),
        Some("en") => Some("en"),
        _ => None,
    };
    query
        .and_then(pick)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(pick)
        })
        .or_else(|| pick(state.notice_language()))
        .unwrap_or("en")
}

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct FormValues {
    kind: String,
    email: String,
    name: String,
    corrections: String,
    reason: String,
    platform_customer: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

#[derive(Debug, Serialize)]
struct PurposeOption {
    id: String,
    name: String,
    marketing: bool,
    checked: bool,
}

fn base(state: &AppState, lang: &'static str, title: &str) -> minijinja::Value {
    context! {
        lang,
        other_lang => if lang == "da" { "en" } else { "da" },
        t => Serde(text::text(lang)),
        controller => state.model().controller_short_name(),
        title,
    }
}

fn render_form(
    state: &AppState,
    lang: &'static str,
    form: &FormValues,
    checked: &[String],
    errors: Vec<FieldError>,
) -> Response {
    let policy = state.model();
    let t = text::text(lang);
    let kinds: Vec<_> = RequestType::all()
        .iter()
        .map(|k| {
            let (label, hint) = text::kind(lang, *k);
            context! { key => k.key(), label, hint }
        })
        .collect();
    let option = |p: &ombud_domain::policy::Purpose| PurposeOption {
        id: p.id.to_string(),
        name: p.name.clone(),
        marketing: p.is_direct_marketing(),
        checked: checked.contains(&p.id.to_string()),
    };
    let objection: Vec<PurposeOption> = policy
        .purposes
        .iter()
        .filter(|p| p.is_direct_marketing() || p.relies_on(LegalBasis::LegitimateInterests))
        .map(option)
        .collect();
    let consent: Vec<PurposeOption> = policy
        .purposes
        .iter()
        .filter(|p| {
            p.relies_on(LegalBasis::Consent)
                && !(p.is_direct_marketing() || p.relies_on(LegalBasis::LegitimateInterests))
        })
        .map(option)
        .collect();
    let processor = policy
        .controller
        .processor_role
        .as_ref()
        .and_then(|r| r.guidance.clone().or_else(|| Some(r.description.clone())));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        status,
        "form.html",
        context! {
            ..base(state, lang, t.form_title),
            ..context! { form => Serde(form), errors => Serde(errors), kinds, objection_purposes => Serde(objection), consent_purposes => Serde(consent), processor },
        },
    )
}

fn message(state: &AppState, lang: &'static str, status: StatusCode, text: &str) -> Response {
    let t = text::text(lang);
    page(
        status,
        "message.html",
        context! { ..base(state, lang, t.form_title), ..context! { message => text } },
    )
}

/// The intake form.
#[utoipa::path(get, path = "/privacy-centre", tag = "requests",
    responses((status = OK, description = "The privacy centre's request form", body = String, content_type = "text/html")))]
pub(crate) async fn form(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(q.lang.as_deref(), &headers, &state);
    render_form(&state, lang, &FormValues::default(), &[], Vec::new())
}

/// Submits a request from the form, sends the identity code, and shows where to enter it.
#[utoipa::path(post, path = "/privacy-centre/requests", tag = "requests",
    responses(
        (status = SEE_OTHER, description = "Submitted; on to the code page"),
        (status = UNPROCESSABLE_ENTITY, description = "The form again, with what to correct", body = String, content_type = "text/html"),
    ))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let lang = language(fields.get("lang").map(String::as_str), &headers, &state);
    let t = text::text(lang);
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let values = FormValues {
        kind: get("kind"),
        email: get("email"),
        name: get("name"),
        corrections: get("corrections"),
        reason: get("reason"),
        platform_customer: get("platform_customer"),
        message: get("message"),
    };
    let purposes: Vec<String> = fields
        .iter()
        .filter(|(k, v)| k.starts_with("purpose_") && v.as_str() == "on")
        .map(|(k, _)| k["purpose_".len()..].to_owned())
        .collect();
    let mut errors = Vec::new();
    let kind = RequestType::parse(&values.kind);
    if kind.is_none() {
        errors.push(FieldError {
            field: "kind",
            message: t.kind_legend.to_owned(),
        });
    }
    if ombud_domain::email::EmailAddress::parse(&values.email).is_err() {
        errors.push(FieldError {
            field: "email",
            message: format!(
                "{} ({})",
                t.email,
                values.email.chars().take(100).collect::<String>()
            ),
        });
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return render_form(&state, lang, &values, &purposes, errors);
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let submission = Submission {
        kind,
        channel: Channel::Web,
        email: values.email.clone(),
        name: opt(&values.name),
        lang: lang.to_owned(),
        received: None,
        details: Details {
            corrections: opt(&values.corrections),
            purposes: purposes.clone(),
            reason: opt(&values.reason),
            message: opt(&values.message),
            platform_customer: opt(&values.platform_customer),
        },
        actor: "web".to_owned(),
    };
    let service = state.requests();
    let record = match service.submit(submission).await {
        Ok(r) => r,
        Err(RequestError::Invalid(m)) => {
            let field = if m.contains("purpose") || m.contains("Choose") {
                "purposes"
            } else if m.contains("wrong") {
                "corrections"
            } else {
                "kind"
            };
            return render_form(
                &state,
                lang,
                &values,
                &purposes,
                vec![FieldError { field, message: m }],
            );
        }
        Err(e) => return failure(&state, lang, &e),
    };
    if !values.platform_customer.is_empty() {
        return Redirect::to(&format!(
            "/privacy-centre/status/{}?lang={lang}&m=forward",
            record.reference
        ))
        .into_response();
    }
    if let Err(e) = service.send_code(&record.reference).await {
        return failure(&state, lang, &e);
    }
    Redirect::to(&format!(
        "/privacy-centre/verify/{}?lang={lang}",
        record.reference
    ))
    .into_response()
}

fn failure(state: &AppState, lang: &'static str, e: &RequestError) -> Response {
    let t = text::text(lang);
    match e {
        RequestError::NotFound => message(state, lang, StatusCode::NOT_FOUND, t.not_found),
        RequestError::TooSoon(_) => message(state, lang, StatusCode::TOO_MANY_REQUESTS, t.too_soon),
        RequestError::TooManyCodes => {
            message(state, lang, StatusCode::TOO_MANY_REQUESTS, t.too_many_codes)
        }
        RequestError::Delivery(_) | RequestError::NoSecret => {
            tracing::warn!(error = %e, "the privacy centre could not send a code");
            message(state, lang, StatusCode::SERVICE_UNAVAILABLE, t.unavailable)
        }
        other => {
            tracing::error!(error = %other, "privacy centre request failed");
            message(state, lang, StatusCode::SERVICE_UNAVAILABLE, t.unavailable)
        }
    }
}

/// Where the code is entered.
#[utoipa::path(get, path = "/privacy-centre/verify/{reference}", tag = "requests",
    params(("reference" = String, Path, description = "The request's reference")),
    responses((status = OK, description = "The code form", body = String, content_type = "text/html")))]
pub(crate) async fn verify_page(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(q.lang.as_deref(), &headers, &state);
    verify_form(&state, lang, &reference, StatusCode::OK, None, "notice")
}

fn verify_form(
    state: &AppState,
    lang: &'static str,
    reference: &str,
    status: StatusCode,
    msg: Option<String>,
    class: &str,
) -> Response {
    let t = text::text(lang);
    page(
        status,
        "verify.html",
        context! { ..base(state, lang, t.verify_title), ..context! { reference, message => msg, message_class => class } },
    )
}

/// Checks the code.
#[utoipa::path(post, path = "/privacy-centre/verify/{reference}", tag = "requests",
    params(("reference" = String, Path, description = "The request's reference")),
    responses(
        (status = SEE_OTHER, description = "Confirmed; on to the status page"),
        (status = UNPROCESSABLE_ENTITY, description = "Wrong, expired or locked out; the form says which", body = String, content_type = "text/html"),
    ))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let lang = language(fields.get("lang").map(String::as_str), &headers, &state);
    let t = text::text(lang);
    let code = fields.get("code").map(String::as_str).unwrap_or("");
    let bad = |msg: String| {
        verify_form(
            &state,
            lang,
            &reference,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(msg),
            "error",
        )
    };
    match state.requests().verify_code(&reference, code).await {
        Ok(CodeOutcome::Verified(_)) => Redirect::to(&format!(
            "/privacy-centre/status/{reference}?lang={lang}&m=verified"
        ))
        .into_response(),
        Ok(CodeOutcome::Wrong { attempts_left }) => {
            bad(format!("{} {attempts_left}", t.wrong_code))
        }
        Ok(CodeOutcome::Expired) => bad(t.code_expired.to_owned()),
        Ok(CodeOutcome::LockedOut) => bad(t.locked_out.to_owned()),
        Ok(CodeOutcome::NotWaiting) => message(&state, lang, StatusCode::CONFLICT, t.not_waiting),
        Err(e) => failure(&state, lang, &e),
    }
}

/// Sends a new code (at most one a minute, five per request).
#[utoipa::path(post, path = "/privacy-centre/verify/{reference}/resend", tag = "requests",
    params(("reference" = String, Path, description = "The request's reference")),
    responses((status = OK, description = "The code form, saying a new code is on its way", body = String, content_type = "text/html"),
        (status = TOO_MANY_REQUESTS, description = "Too soon, or too many codes", body = String, content_type = "text/html")))]
pub(crate) async fn resend(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let lang = language(fields.get("lang").map(String::as_str), &headers, &state);
    let t = text::text(lang);
    match state.requests().send_code(&reference).await {
        Ok(()) => verify_form(
            &state,
            lang,
            &reference,
            StatusCode::OK,
            Some(t.code_sent.to_owned()),
            "notice",
        ),
        Err(e) => failure(&state, lang, &e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    lang: Option<String>,
    m: Option<String>,
}

/// A request's status. Shows no personal data: only the reference, the type, the state and,
/// once confirmed, the due dates.
#[utoipa::path(get, path = "/privacy-centre/status/{reference}", tag = "requests",
    params(("reference" = String, Path, description = "The request's reference")),
    responses((status = OK, description = "The status page", body = String, content_type = "text/html"),
        (status = NOT_FOUND, description = "No such request", body = String, content_type = "text/html")))]
pub(crate) async fn status(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(q.lang.as_deref(), &headers, &state);
    let t = text::text(lang);
    let record = match state.requests().by_reference(&reference).await {
        Ok(r) => r,
        Err(e) => return failure(&state, lang, &e),
    };
    let msg = match q.m.as_deref() {
        Some("verified") => Some(t.verified),
        Some("forward") => Some(t.forwarded_soon),
        _ => None,
    };
    let verified = record.state.is_verified();
    let due = record.extended_due.unwrap_or(record.legal_due);
    page(
        StatusCode::OK,
        "status.html",
        context! {
            ..base(&state, lang, t.status_title),
            ..context! {
                reference => record.reference,
                kind => text::kind(lang, record.kind).0,
                state => text::state(lang, record.state),
                received => record.received.to_string(),
                promised_due => record.promised_due.to_string(),
                legal_due => due.to_string(),
                verified,
                message => msg,
                closed => record.state == RequestState::Completed,
            },
        },
    )
}

/// The person's data (access, portability): the package, decrypted as it is sent. The link
/// works until it expires; each download is recorded in the audit log.
#[utoipa::path(get, path = "/privacy-centre/packages/{token}", tag = "requests",
    params(("token" = String, Path, description = "The download token from the completion letter")),
    responses(
        (status = OK, description = "The ZIP package", body = Vec<u8>, content_type = "application/zip"),
        (status = NOT_FOUND, description = "No such link", body = String, content_type = "text/html"),
        (status = GONE, description = "The link has expired", body = String, content_type = "text/html"),
    ))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = language(None, &headers, &state);
    let t = text::text(lang);
    let service = state.requests();
    let (package, record) = match service.package_for_token(&token).await {
        Ok(found) => found,
        Err(RequestError::NotFound) => {
            return message(&state, lang, StatusCode::NOT_FOUND, t.link_invalid);
        }
        Err(RequestError::Conflict(_)) => {
            return message(&state, lang, StatusCode::GONE, t.link_expired);
        }
        Err(e) => return failure(&state, lang, &e),
    };
    let Some(keys) = service.package_keys() else {
        return message(&state, lang, StatusCode::SERVICE_UNAVAILABLE, t.unavailable);
    };
    package_response(keys, package, &record.reference)
}

/// Streams `package` as `<reference>.zip`, decrypting it on the way: a file that fails its
/// integrity check breaks the download off rather than deliver data that did not verify.
pub(crate) fn package_response(
    keys: ombud_store::Keyring,
    package: ombud_store::Package,
    reference: &str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(4);
    let path = package.path.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let opened = std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                ombud_fulfil::package::crypt::DecryptReader::new(&keys, std::io::BufReader::new(f))
                    .map_err(|e| e.to_string())
            });
        let mut reader = match opened {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(package = package.id, error = %e, "an export package cannot be opened");
                let _ = tx.blocking_send(Err(std::io::Error::other("package unreadable")));
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(axum::body::Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    // A damaged or tampered file: the download breaks off rather than
                    // delivering data that failed its check.
                    tracing::error!(package = package.id, error = %e, "an export package failed its integrity check");
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let filename = format!("{reference}.zip");
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
