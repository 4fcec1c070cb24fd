//! The staff console over real HTTP: setup, login with TOTP, sessions, CSRF, roles on every
//! route of the route table, and a request processed from the inbox to completion.

use ombud_domain::staff::{Action, Role, totp};
use ombud_server::Need;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode, redirect};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with_mail};

/// A server with a secret key (which the encryption of TOTP secrets at rest needs).
async fn spawn_console() -> TestApp {
    spawn_app_with_mail().await.0
}
use crate::requests::create;

const PASSWORD: &str = "correct horse battery staple";

/// A client that shows redirects instead of following them, and keeps no cookies of its own.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in staff member: the session cookie and the CSRF token of their forms.
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn get(&self, app: &TestApp, path: &str) -> reqwest::RequestBuilder {
        client()
            .get(format!("{}{path}", app.address))
            .header("cookie", &self.cookie)
    }

    fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        fields.extend_from_slice(form);
        client()
            .post(format!("{}{path}", app.address))
            .header("cookie", &self.cookie)
            .form(&fields)
    }
}

/// The value of `name="<field>" value="…"` in a page.
fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Adds a staff member with `role` through the setup page, as they would (password and the
/// first code from their authenticator), and returns their TOTP secret.
async fn set_up(app: &TestApp, email: &str, role: Role) -> Vec<u8> {
    let added = ombud_server::staff::add_user(&app.store, &app.address, email, role, "test")
        .await
        .unwrap();
    let link = secrecy::ExposeSecret::expose_secret(&added.setup_url).to_owned();
    let path = &link[link.find("/console/setup/").unwrap()..];
    let page = client()
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "the QR code is drawn as SVG");
    let secret = hex::decode(field(&html, "secret").unwrap()).unwrap();
    let code = totp::code_at(&secret, jiff::Timestamp::now().as_second()).unwrap();
    let done = client()
        .post(format!("{}{path}", app.address))
        .form(&[
            ("password", PASSWORD),
            ("repeat", PASSWORD),
            ("secret", &hex::encode(&secret)),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert_eq!(
        html.matches("<li><code>").count(),
        10,
        "ten recovery codes: {html}"
    );
    secret
}

/// Logs in with the code of the next time step (the setup used the current one).
async fn log_in(app: &TestApp, email: &str, secret: &[u8]) -> Session {
    let code = totp::code_at(secret, jiff::Timestamp::now().as_second() + 30).unwrap();
    let r = client()
        .post(format!("{}/console/login", app.address))
        .form(&[("email", email), ("password", PASSWORD), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login");
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(attribute), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let html = client()
        .get(format!("{}/console", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&html, "csrf").expect("the page has forms with a CSRF token");
    Session { cookie, csrf }
}

async fn staff(app: &TestApp, email: &str, role: Role) -> Session {
    let secret = set_up(app, email, role).await;
    log_in(app, email, &secret).await
}

/// A route's path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{token}", &"0".repeat(64))
        .replace("{reference}", "R-0000-0000-0000")
        .replace("{id}", "999")
}

#[tokio::test]
async fn every_console_route_needs_a_session_the_right_role_and_a_csrf_token() {
    let app = spawn_console().await;
    let admin = staff(&app, "admin@impero.test", Role::Admin).await;
    let officer = staff(&app, "officer@impero.test", Role::PrivacyOfficer).await;
    let viewer = staff(&app, "viewer@impero.test", Role::Viewer).await;
    let routes = ombud_server::console_routes();
    assert!(routes.len() > 20, "the table lists the console: {routes:?}");
    for route in &routes {
        let path = concrete(route.path);
        let url = format!("{}{path}", app.address);
        if route.need == Need::Public {
            continue;
        }
        // No session: pages redirect to the login, posts get 401.
        let anonymous = client()
            .request(route.method.clone(), &url)
            .send()
            .await
            .unwrap();
        if route.method == Method::GET {
            assert_eq!(anonymous.status(), 303, "{} {path}", route.method);
            let to = anonymous.headers()[LOCATION].to_str().unwrap();
            assert!(to.starts_with("/console/login?next="), "{to}");
        } else {
            assert_eq!(anonymous.status(), 401, "{} {path}", route.method);
        }
        // A role that may not act gets 403, whatever the parameters.
        for (who, role) in [(&viewer, Role::Viewer), (&officer, Role::PrivacyOfficer)] {
            let Need::Act(action) = route.need else {
                continue;
            };
            if role.may(action) {
                continue;
            }
            let r = if route.method == Method::GET {
                who.get(&app, &path).send().await.unwrap()
            } else {
                who.post(&app, &path, &[]).send().await.unwrap()
            };
            assert_eq!(r.status(), 403, "{role:?} {} {path}", route.method);
        }
        if route.method == Method::POST {
            // The right role without the form's CSRF token: 403.
            let r = client()
                .post(&url)
                .header("cookie", &admin.cookie)
                .form(&[("csrf", "0".repeat(32))])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "no CSRF: POST {path}");
            // From another site, even with the token: 403.
            let r = admin
                .post(&app, &path, &[])
                .header("origin", "https://evil.example")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "cross-site: POST {path}");
        }
    }
    // Every mutating route is checked against a role that may not use it.
    assert!(
        routes
            .iter()
            .filter(|r| r.method == Method::POST && r.need != Need::Public)
            .all(|r| matches!(r.need, Need::Session | Need::Act(_)))
    );
    assert!(!Role::Viewer.may(Action::WriteRequests));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn setup_login_recovery_and_logout() {
    let app = spawn_console().await;
    let added = ombud_server::staff::add_user(
        &app.store,
        &app.address,
        "ann@impero.test",
        Role::Admin,
        "test",
    )
    .await
    .unwrap();
    let link = secrecy::ExposeSecret::expose_secret(&added.setup_url).to_owned();
    let path = link[link.find("/console/setup/").unwrap()..].to_owned();
    let html = client()
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = field(&html, "secret").unwrap();
    let code = totp::code_at(
        &hex::decode(&secret).unwrap(),
        jiff::Timestamp::now().as_second(),
    )
    .unwrap();
    // Too short a password: the form again, with what is wrong, and nothing used up.
    let short = client()
        .post(format!("{}{path}", app.address))
        .form(&[
            ("password", "short"),
            ("repeat", "short"),
            ("secret", &secret),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );
    let done = client()
        .post(format!("{}{path}", app.address))
        .form(&[
            ("password", PASSWORD),
            ("repeat", PASSWORD),
            ("secret", &secret),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let html = done.text().await.unwrap();
    let recovery: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|p| p[..p.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    // The link works once.
    let again = client()
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);

    // Wrong code and unknown address get the same answer.
    let login = |email: &'static str, code: String| {
        let url = format!("{}/console/login", app.address);
        async move {
            let r = client()
                .post(url)
                .form(&[("email", email), ("password", PASSWORD), ("code", &code)])
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.headers().get(SET_COOKIE).cloned(),
                r.text().await.unwrap(),
            )
        }
    };
    let (s1, c1, t1) = login("ann@impero.test", "000000".into()).await;
    let (s2, _, t2) = login("nobody@impero.test", "000000".into()).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert!(c1.is_none());
    let error = |t: &str| {
        t[t.find("login-error").unwrap()..]
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(error(&t1), error(&t2), "the same words for every failure");

    // A recovery code logs in once.
    let (status, cookie, _) = login("ann@impero.test", recovery[0].clone()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = login("ann@impero.test", recovery[0].clone()).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );

    let cookie = cookie
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let dashboard = client()
        .get(format!("{}/console", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let csp = dashboard.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "no script may run: {csp}");
    let html = dashboard.text().await.unwrap();
    let csrf = field(&html, "csrf").unwrap();

    // Logging out ends the session on the server, not only in the browser.
    let out = client()
        .post(format!("{}/console/logout", app.address))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = client()
        .get(format!("{}/console", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_privacy_officer_processes_a_request_from_the_inbox() {
    let (app, _sink) = spawn_app_with_mail().await;
    let officer = staff(&app, "officer@impero.test", Role::PrivacyOfficer).await;
    let created = create(
        &app,
        json!({ "kind": "objection", "email": "bo@example.com", "channel": "email",
                "details": { "purposes": ["website"] } }),
    )
    .await;
    let reference = created["reference"].as_str().unwrap().to_owned();

    let inbox = officer.get(&app, "/console/requests").send().await.unwrap();
    assert_eq!(inbox.status(), 200);
    assert!(inbox.text().await.unwrap().contains(&reference));
    let filtered = officer
        .get(&app, "/console/requests?kind=erasure&sort=newest")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!filtered.contains(&reference), "filtered out by kind");

    let page = format!("/console/requests/{reference}");
    let act = format!("{page}/act");
    let r = officer
        .post(
            &app,
            &act,
            &[
                ("action", "verify"),
                ("how", "called back on the known number"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());

    // The letter the completion sends, before it is sent.
    let preview = officer
        .post(
            &app,
            &format!("{page}/preview"),
            &[("action", "complete"), ("note", "Done by hand.")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("bo@example.com") && html.contains("Done by hand."),
        "{html}"
    );

    // Refusing without a reason: the page says why, next to the refusal's field, and nothing
    // changes.
    let r = officer
        .post(&app, &act, &[("action", "refuse")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"error-refuse\""));

    // A letter from a template: previewed, then sent, and on the timeline by its template.
    let ask = [
        ("action", "letter"),
        ("template", "information_request"),
        ("text", "Which of our websites did you use?"),
    ];
    let preview = officer
        .post(&app, &format!("{page}/preview"), &ask)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        preview.contains("We need more information") && preview.contains("Which of our websites"),
        "{preview}"
    );
    let empty = officer
        .post(
            &app,
            &act,
            &[("action", "letter"), ("template", "information_request")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("id=\"error-letter\""));
    let sent = officer.post(&app, &act, &ask).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let html = officer
        .get(&app, &page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Letter sent"), "{html}");

    let r = officer
        .post(&app, &act, &[("action", "start")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = officer
        .post(
            &app,
            &act,
            &[("action", "complete"), ("note", "Done by hand.")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = officer
        .get(&app, &page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"request-state\">Completed<"), "{html}");
    let events: Vec<&str> = html.split("<li><span class=\"when\">").skip(1).collect();
    assert!(
        events.len() >= 4,
        "received, verified, started, completed: {events:?}"
    );

    // Every reading page renders, in English and in Danish.
    for path in [
        "/console",
        "/console/requests",
        "/console/consent?kind=email&value=bo%40example.com",
        "/console/records",
        "/console/recipients",
        "/console/datamap",
        "/console/policy?a=1&b=1",
        "/console/audit?verify=1",
    ] {
        let en = officer.get(&app, path).send().await.unwrap();
        assert_eq!(en.status(), 200, "{path}");
        let da = officer
            .get(&app, path)
            .header("accept-language", "da")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            da.contains("lang=\"da\"") && da.contains("Anmodninger"),
            "{path}"
        );
    }
    let audit = officer
        .get(&app, "/console/audit?verify=1")
        .send()
        .await
        .unwrap();
    assert!(
        audit
            .text()
            .await
            .unwrap()
            .contains("id=\"audit-verified\"")
    );
    let map = officer.get(&app, "/console/datamap").send().await.unwrap();
    assert!(map.text().await.unwrap().contains("trial_user"));

    // The officer may not manage users.
    let users = officer.get(&app, "/console/users").send().await.unwrap();
    assert_eq!(users.status(), 403);
    app.stop().await.unwrap();
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    let users = app.store.staff_users().await.unwrap();
    users.iter().find(|u| u.email == email).unwrap().id
}

/// An admin's `change` (`reset`, `disable`, …) of user `id` on the users page.
async fn change_user(app: &TestApp, admin: &Session, id: i64, change: &str) -> reqwest::Response {
    admin
        .post(app, &format!("/console/users/{id}"), &[("change", change)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_adds_users_and_tokens_and_disabling_ends_sessions() {
    let app = spawn_console().await;
    let admin = staff(&app, "admin@impero.test", Role::Admin).await;
    let viewer = staff(&app, "viewer@impero.test", Role::Viewer).await;

    let added = admin
        .post(
            &app,
            "/console/users",
            &[("email", "new@impero.test"), ("role", "viewer")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let html = added.text().await.unwrap();
    assert!(
        html.replace("&#x2f;", "/").contains("/console/setup/"),
        "the setup link is shown once"
    );
    let taken = admin
        .post(
            &app,
            "/console/users",
            &[("email", "new@impero.test"), ("role", "viewer")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);

    let issued = admin
        .post(
            &app,
            "/console/tokens",
            &[("name", "crm sync"), ("scope", "read")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
    let html = issued.text().await.unwrap();
    assert!(html.contains("id=\"shown-secret\">ombud_"), "{html}");
    let tokens = app.store.api_tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].scopes.to_string(), "read");

    // A member who lost their authenticator starts over: a new link, the old session ends.
    let ops_secret = set_up(&app, "ops@impero.test", Role::PrivacyOfficer).await;
    let ops = log_in(&app, "ops@impero.test", &ops_secret).await;
    let ops_id = user_id(&app, "ops@impero.test").await;
    let reset = change_user(&app, &admin, ops_id, "reset").await;
    assert_eq!(reset.status(), 200);
    let html = reset.text().await.unwrap().replace("&#x2f;", "/");
    let at = html.find("/console/setup/").unwrap();
    let link = &html[at..at + "/console/setup/".len() + 64];
    assert_eq!(
        ops.get(&app, "/console").send().await.unwrap().status(),
        303
    );
    let setup = client()
        .get(format!("{}{link}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200, "the new link opens the setup page");
    let u = app.store.staff_user(ops_id).await.unwrap().unwrap();
    assert!(!u.is_set_up(), "password and second factor are gone");

    // Disabling the viewer ends their session at once.
    let viewer_id = user_id(&app, "viewer@impero.test").await;
    let r = change_user(&app, &admin, viewer_id, "disable").await;
    assert_eq!(r.status(), 303);
    let r = viewer.get(&app, "/console").send().await.unwrap();
    assert_eq!(r.status(), 303, "a disabled user's session ends");
    let log = app.store.audit_page(0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.action == "staff.disabled"));
    assert!(
        log.iter()
            .all(|e| !e.details.contains("viewer@impero.test"))
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn logins_from_one_address_are_rate_limited() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let r = client()
            .post(format!("{}/console/login", app.address))
            .form(&[
                ("email", "x@impero.test"),
                ("password", "x"),
                ("code", "000000"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429);
    app.stop().await.unwrap();
}
