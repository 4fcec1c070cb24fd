//! The staff console: server-rendered pages for the privacy team under `/console`, in English
//! and Danish, with no JavaScript at all.
//!
//! Every route is declared once, in [`table`], with what it needs ([`Need`]): nothing (login,
//! setup), a session (reading), or a session whose role may do an [`Action`]. The [`guard`]
//! in front of each route enforces that before the handler runs, and checks the CSRF token of
//! every form post, so a handler never forgets either. [`routes`] lists the same table for the
//! route-table test.
//!
//! Module map: `session` (the cookie, the CSRF token, the signed-in [`Staff`]), `auth` (login,
//! setup with TOTP enrolment, logout), `dashboard`, `requests` (inbox, request page, actions,
//! packages), `consent` (lookup and proof), `records` (record of processing, recipients, the
//! data map picture, policy versions, audit log), `users` (staff and API tokens), `svg` (the
//! chart, the graph and the QR code), `text` (the Danish words).

mod auth;
mod consent;
mod dashboard;
mod records;
mod requests;
mod session;
mod svg;
mod text;
mod users;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::{Environment, Value, context};
use ombud_domain::policy::Keyword as _;
use ombud_domain::staff::Action;

pub(crate) use session::Staff;

use crate::middleware::BODY_LIMIT;
use crate::state::AppState;

/// The console's pages load their stylesheet from this origin and nothing else: no script
/// at all, no inline style, forms post here only, and no one may frame them.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What a console route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the login and setup pages and the stylesheet.
    Public,
    /// A signed-in staff member, whatever the role (reading, logging out).
    Session,
    /// A signed-in staff member whose role may do this.
    Act(Action),
}

/// One console route, as the route-table test sees it.
#[derive(Debug, Clone)]
pub struct ConsoleRoute {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
}

/// The routes and the router built from the same declarations.
struct Table {
    router: Router<AppState>,
    routes: Vec<ConsoleRoute>,
}

impl Table {
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        need: Need,
        route: MethodRouter<AppState>,
    ) -> Table {
        self.routes.push(ConsoleRoute { method, path, need });
        let guarded = route.layer(axum::middleware::from_fn(move |req, next| {
            guard(need, req, next)
        }));
        self.router = self.router.route(path, guarded);
        self
    }
}

/// Every console route: path, what it needs, handler.
fn table() -> Table {
    use Action::{ManageUsers, WriteConsent, WriteRequests};
    use Need::{Act, Public, Session};
    let t = Table {
        router: Router::new(),
        routes: Vec::new(),
    };
    let g = |t: Table, path, need, route| t.add(Method::GET, path, need, route);
    let p = |t: Table, path, need, route| t.add(Method::POST, path, need, route);
    let t = g(t, "/console/console.css", Public, get(stylesheet));
    let t = g(t, "/console/login", Public, get(auth::login_page));
    let t = p(t, "/console/login", Public, post(auth::login));
    let t = g(t, "/console/setup/{token}", Public, get(auth::setup_page));
    let t = p(t, "/console/setup/{token}", Public, post(auth::setup));
    let t = p(t, "/console/logout", Session, post(auth::logout));
    let t = g(t, "/console", Session, get(dashboard::page));
    let t = g(t, "/console/requests", Session, get(requests::inbox));
    let t = g(
        t,
        "/console/requests/{reference}",
        Session,
        get(requests::page),
    );
    let t = p(
        t,
        "/console/requests/{reference}/act",
        Act(WriteRequests),
        post(requests::act),
    );
    let t = p(
        t,
        "/console/requests/{reference}/preview",
        Act(WriteRequests),
        post(requests::preview),
    );
    let t = g(
        t,
        "/console/requests/{reference}/packages/{id}",
        Act(WriteRequests),
        get(requests::download),
    );
    let t = g(t, "/console/consent", Session, get(consent::lookup));
    let t = g(
        t,
        "/console/consent/proof",
        Act(WriteConsent),
        get(consent::proof),
    );
    let t = g(t, "/console/records", Session, get(records::processing));
    let t = g(t, "/console/recipients", Session, get(records::recipients));
    let t = g(t, "/console/datamap", Session, get(records::datamap));
    let t = g(t, "/console/policy", Session, get(records::versions));
    let t = g(t, "/console/audit", Session, get(records::audit));
    let t = g(t, "/console/users", Act(ManageUsers), get(users::page));
    let t = p(t, "/console/users", Act(ManageUsers), post(users::add));
    let t = p(
        t,
        "/console/users/{id}",
        Act(ManageUsers),
        post(users::change),
    );
    let t = p(
        t,
        "/console/tokens",
        Act(ManageUsers),
        post(users::issue_token),
    );
    p(
        t,
        "/console/tokens/{id}/revoke",
        Act(ManageUsers),
        post(users::revoke_token),
    )
}

/// The console's router. Its guards find the state in the request's extensions.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    table().router.layer(axum::Extension(state))
}

/// Every console route with what it needs, for the route-table test.
pub fn routes() -> Vec<ConsoleRoute> {
    table().routes
}

/// Runs before every console handler: finds the session, checks the role against `need` and,
/// for form posts, the CSRF token, and hands the handler a [`Staff`] in the extensions.
///
/// Without a session, pages redirect to the login and posts get 401. A role that may not do
/// the route's action gets 403, as does a form without the session's CSRF token. Public form
/// posts (login, setup) must come from this origin when the browser says where they come from.
async fn guard(need: Need, request: Request, next: Next) -> Response {
    let Some(state) = request.extensions().get::<AppState>().cloned() else {
        return crate::error::ApiError::Internal.into_response();
    };
    let is_post = request.method() == Method::POST;
    let lang = session::language(request.headers(), request.uri().query());
    if is_post && !session::same_origin(request.headers()) {
        return message(
            lang,
            StatusCode::FORBIDDEN,
            "This form came from another site.",
        );
    }
    if need == Need::Public {
        return next.run(request).await;
    }
    let staff = match session::staff(&state, request.headers(), lang).await {
        Ok(Some(staff)) => staff,
        Ok(None) if is_post => {
            return message(
                lang,
                StatusCode::UNAUTHORIZED,
                "Your session has ended. Log in again.",
            );
        }
        Ok(None) => {
            let next = request
                .uri()
                .path_and_query()
                .map_or("/console", |p| p.as_str());
            return Redirect::to(&format!("/console/login?next={}", urlencode(next)))
                .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "console session lookup failed");
            return crate::error::ApiError::Internal.into_response();
        }
    };
    if let Need::Act(action) = need
        && !staff.user.role.may(action)
    {
        return message(
            lang,
            StatusCode::FORBIDDEN,
            "Your role does not allow this. Ask an administrator.",
        );
    }
    let (mut parts, body) = request.into_parts();
    let body = if is_post {
        let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
            return message(
                lang,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            );
        };
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if !staff.csrf_matches(fields.get("csrf").map(String::as_str)) {
            return message(
                lang,
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            );
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(staff);
    next.run(Request::from_parts(parts, body)).await
}

/// `s` escaped for a query string value or a path segment.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The page for a store failure: logged by kind, answered in general terms.
fn store_failed(staff: &Staff, e: &ombud_store::StoreError) -> Response {
    tracing::error!(error = %e, "a console page could not read the store");
    unavailable(staff.lang)
}

/// The page for a failure on our side.
fn unavailable(lang: &'static str) -> Response {
    message(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        "The console is not available right now. Try again in a minute.",
    )
}

/// The page for something that isn't there.
fn not_found(staff: &Staff) -> Response {
    message(staff.lang, StatusCode::NOT_FOUND, "There is nothing here.")
}

fn templates() -> &'static Environment<'static> {
    static PAGES: OnceLock<Environment<'static>> = OnceLock::new();
    PAGES.get_or_init(|| {
        let mut env = Environment::new();
        env.add_function("tr", text::tr);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and every page is rendered by the tests; a
            // broken one is a build defect, reported on first use rather than at start.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "console template does not parse");
            }
        }
        env
    })
}

/// The console's templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../assets/console/base.html")),
    (
        "narrow.html",
        include_str!("../../assets/console/narrow.html"),
    ),
    (
        "message.html",
        include_str!("../../assets/console/message.html"),
    ),
    (
        "login.html",
        include_str!("../../assets/console/login.html"),
    ),
    (
        "setup.html",
        include_str!("../../assets/console/setup.html"),
    ),
    (
        "recovery.html",
        include_str!("../../assets/console/recovery.html"),
    ),
    (
        "dashboard.html",
        include_str!("../../assets/console/dashboard.html"),
    ),
    (
        "inbox.html",
        include_str!("../../assets/console/inbox.html"),
    ),
    (
        "request.html",
        include_str!("../../assets/console/request.html"),
    ),
    (
        "preview.html",
        include_str!("../../assets/console/preview.html"),
    ),
    (
        "consent.html",
        include_str!("../../assets/console/consent.html"),
    ),
    (
        "records.html",
        include_str!("../../assets/console/records.html"),
    ),
    (
        "recipients.html",
        include_str!("../../assets/console/recipients.html"),
    ),
    (
        "datamap.html",
        include_str!("../../assets/console/datamap.html"),
    ),
    (
        "versions.html",
        include_str!("../../assets/console/versions.html"),
    ),
    (
        "audit.html",
        include_str!("../../assets/console/audit.html"),
    ),
    (
        "users.html",
        include_str!("../../assets/console/users.html"),
    ),
];

/// Renders `template` with `ctx` as a console page.
fn render(status: StatusCode, template: &str, ctx: Value) -> Response {
    match templates()
        .get_template(template)
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!(template, error = %e, "console page failed to render");
            crate::error::ApiError::Internal.into_response()
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            // Forms carry their origin (under `no-referrer` browsers send `Origin: null`).
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
        ],
        html,
    )
        .into_response()
}

/// A page of the signed-in console: the layout's context (who, what they may do, the CSRF
/// token, the language) merged with the page's own.
fn staff_page(
    staff: &Staff,
    status: StatusCode,
    template: &str,
    title: &str,
    ctx: Value,
) -> Response {
    let role = staff.user.role;
    render(
        status,
        template,
        context! {
            ..context! {
                lang => staff.lang,
                title,
                me => staff.user.email.as_str(),
                role => role.key(),
                csrf => staff.csrf.as_str(),
                may_requests => role.may(Action::WriteRequests),
                may_consent => role.may(Action::WriteConsent),
                may_users => role.may(Action::ManageUsers),
            },
            ..ctx
        },
    )
}

/// A short page that says one thing (an error, mostly), outside the signed-in layout.
fn message(lang: &'static str, status: StatusCode, text: &str) -> Response {
    render(
        status,
        "message.html",
        context! { lang, title => text::translate(lang, "ombud console"), message => text::translate(lang, text) },
    )
}

/// The console's one stylesheet.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../assets/console/console.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_declared_once_per_method() {
        let routes = routes();
        let mut seen = std::collections::HashSet::new();
        for r in &routes {
            assert!(r.path.starts_with("/console"), "{}", r.path);
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "{} {}",
                r.method,
                r.path
            );
        }
        assert!(routes.len() > 20);
    }

    #[test]
    fn every_template_parses() {
        let env = templates();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(
            urlencode("/console/requests?a=1&b=ø"),
            "%2Fconsole%2Frequests%3Fa%3D1%26b%3D%C3%B8"
        );
    }
}
