//! Logging in, setting up an account (password, TOTP enrolment, recovery codes) and logging out.

use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use minijinja::context;
use ombud_domain::staff::totp;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::session::{self, Staff};
use super::{message, render, svg, text};
use crate::staff::login::{self, LoginError};
use crate::staff::{self, SetupError, StaffError};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// Where to go after logging in: a console page, never another site.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| {
        n.starts_with("/console") && !n.starts_with("/console/login") && !n.contains("//")
    })
    .unwrap_or("/console")
}

fn login_form(
    lang: &'static str,
    status: StatusCode,
    email: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    render(
        status,
        "login.html",
        context! {
            lang,
            title => text::translate(lang, "Log in"),
            email,
            next,
            error => error.map(|e| text::translate(lang, e)),
        },
    )
}

/// The login form. `?lang=` also remembers the language in a cookie.
pub(crate) async fn login_page(
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<LoginQuery>,
) -> Response {
    let lang = session::language(&headers, uri.query());
    let mut response = login_form(lang, StatusCode::OK, "", safe_next(q.next.as_deref()), None);
    if uri.query().is_some_and(|q| q.contains("lang=")) {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session::lang_cookie(lang));
    }
    response
}

/// Checks address, password and code (or a recovery code) together and starts a session.
/// Every failure gets the same answer.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = session::language(&headers, None);
    let next = safe_next(f.next.as_deref());
    match login::login(
        state.store(),
        f.email.trim(),
        &f.password,
        f.code.trim(),
        Timestamp::now(),
    )
    .await
    {
        Ok(s) => {
            let secure = state.consent_settings().secure;
            let mut response = Redirect::to(next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session::set_cookie(s.id.expose_secret(), s.expires_at, secure),
            );
            response
        }
        Err(LoginError::Refused) => login_form(
            lang,
            StatusCode::UNAUTHORIZED,
            f.email.trim(),
            next,
            Some(
                "The e-mail address, password or code is not right, or the account is locked for a while.",
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "console login failed");
            message(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is not available right now. Try again in a minute.",
            )
        }
    }
}

/// Ends the session, here and in the store.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    if let Err(e) = login::logout(state.store(), staff.session_id()).await {
        tracing::error!(error = %e, "console logout failed");
    }
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::clear_cookie(state.consent_settings().secure),
    );
    response
}

#[derive(Deserialize)]
pub(crate) struct SetupForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// The setup page for `secret`: the QR code to scan, the secret to type instead, and the form.
fn setup_form(
    state: &AppState,
    lang: &'static str,
    status: StatusCode,
    email: &str,
    secret: &[u8],
    error: Option<(&str, &str)>,
) -> Response {
    let issuer = format!("ombud ({})", state.model().controller_short_name());
    let uri = totp::otpauth_uri(&issuer, email, secret);
    let typed: String = totp::base32(secret)
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    render(
        status,
        "setup.html",
        context! {
            lang,
            title => text::translate(lang, "Set up your account"),
            email,
            qr => svg::qr(&uri),
            typed,
            secret => hex::encode(secret),
            min_password => staff::MIN_PASSWORD,
            error => error.map(|(_, e)| text::translate(lang, e)),
            error_field => error.map(|(field, _)| field),
        },
    )
}

fn link_invalid(lang: &'static str) -> Response {
    message(
        lang,
        StatusCode::NOT_FOUND,
        "This setup link is not valid any more. Ask an administrator for a new one.",
    )
}

/// The user whose setup link this is, or the page that says the link is no good.
async fn setup_user(
    state: &AppState,
    lang: &'static str,
    token: &str,
) -> Result<ombud_store::StaffUser, Response> {
    match staff::setup_user(state.store(), token).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(link_invalid(lang)),
        Err(e) => {
            tracing::error!(error = %e, "console setup lookup failed");
            Err(super::unavailable(lang))
        }
    }
}

/// Opens a setup link: a new TOTP secret to enrol, and the password form.
pub(crate) async fn setup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let lang = session::language(&headers, None);
    let user = match setup_user(&state, lang, &token).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    match staff::new_totp_secret() {
        Ok(secret) => setup_form(&state, lang, StatusCode::OK, &user.email, &secret, None),
        Err(_) => super::unavailable(lang),
    }
}

/// Finishes the setup and shows the recovery codes, once.
pub(crate) async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<SetupForm>,
) -> Response {
    let lang = session::language(&headers, None);
    let user = match setup_user(&state, lang, &token).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let Some(secret) = hex::decode(f.secret.trim()).ok().filter(|s| s.len() == 20) else {
        return link_invalid(lang);
    };
    match staff::enrol(
        state.store(),
        &token,
        &f.password,
        &f.repeat,
        &secret,
        f.code.trim(),
        Timestamp::now(),
    )
    .await
    {
        Ok(enrolled) => {
            let codes: Vec<String> = enrolled
                .recovery_codes
                .iter()
                .map(|c| c.expose_secret().to_owned())
                .collect();
            render(
                StatusCode::OK,
                "recovery.html",
                context! {
                    lang,
                    title => text::translate(lang, "Your recovery codes"),
                    codes,
                },
            )
        }
        Err(SetupError::Staff(StaffError::Store(ombud_store::StoreError::NoKey))) => message(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "This server has no encryption key yet (secret_key or encryption_key), so it cannot keep your second factor. Ask an administrator to set one.",
        ),
        Err(SetupError::Staff(e)) => {
            tracing::error!(error = %e, "console setup failed");
            super::unavailable(lang)
        }
        Err(SetupError::LinkInvalid) => link_invalid(lang),
        Err(e) => {
            let shown = e.to_string();
            let field = if matches!(e, SetupError::CodeWrong) {
                "code"
            } else {
                "password"
            };
            setup_form(
                &state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                &user.email,
                &secret,
                Some((field, &shown)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            safe_next(Some("/console/requests?x=1")),
            "/console/requests?x=1"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console");
        assert_eq!(safe_next(Some("/console//evil.example")), "/console");
        assert_eq!(safe_next(Some("/console/login")), "/console");
        assert_eq!(safe_next(None), "/console");
    }
}
