//! API tokens made with `ombud tokens add` (here through `staff::tokens`, which the command
//! calls): they open the API within their scopes, record their last use, act under their own
//! name in the audit log, and stop working within a second of their revocation.

use std::sync::Arc;

use ombud_domain::staff::Scopes;
use ombud_server::staff::tokens::{self, Revoked};
use ombud_store::ApiToken;
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, spawn_app, spawn_app_with_mail, spawn_with, test_settings,
};

async fn issue(app: &TestApp, scopes: &str) -> (ApiToken, String) {
    let (token, secret) = tokens::issue(
        &app.store,
        "integration",
        &Scopes::parse(scopes).unwrap(),
        "cli:test",
    )
    .await
    .unwrap();
    (token, secret.expose_secret().to_owned())
}

fn event(subject: &str, granted: bool) -> Value {
    json!({ "events": [{ "subject": subject, "target": "purpose:marketing", "granted": granted,
        "method": "form", "wording": "Yes, send me the newsletter.",
        "source": "https://www.example.test/signup" }] })
}

async fn post_event(app: &TestApp, token: &str, granted: bool) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/consent/events", app.address))
        .bearer_auth(token)
        .json(&event("email:ann@example.test", granted))
        .send()
        .await
        .unwrap()
}

async fn stored(app: &TestApp, id: i64) -> ApiToken {
    tokens::list(&app.store)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .expect("the token is listed")
}

/// A server trusts a token it found active for a second before asking the store again.
async fn wait_for_the_revocation() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (token, secret) = issue(&app, "read consent:write").await;
    assert_eq!(post_event(&app, &secret, true).await.status(), 201);
    assert_eq!(app.consent_event_count().await, 1);

    assert_eq!(
        tokens::revoke(&app.store, token.id, "cli:test")
            .await
            .unwrap(),
        Revoked::Now
    );
    wait_for_the_revocation().await;
    let refused = post_event(&app, &secret, false).await;
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let body = assert_problem(refused, 401).await;
    assert!(
        body["detail"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    assert_eq!(app.consent_event_count().await, 1, "nothing was recorded");
    let read = app
        .client
        .get(format!(
            "{}/api/v1/consent/check?subject=email:ann@example.test&purpose=marketing",
            app.address
        ))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_problem(read, 401).await;
    assert!(
        app.check("email:ann@example.test", "marketing").await["allowed"]
            .as_bool()
            .unwrap(),
        "the grant made before the revocation stands"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_revoked_token_cannot_act_on_a_request() {
    let (app, _sink) = spawn_app_with_mail().await;
    let (token, secret) = issue(&app, "read requests:write").await;
    let created = app
        .client
        .post(format!("{}/api/v1/requests", app.address))
        .bearer_auth(&secret)
        .json(&json!({ "kind": "access", "email": "ann@example.test", "send_code": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let reference = created["reference"].as_str().unwrap().to_owned();
    let timeline_len = |d: &Value| d["timeline"].as_array().unwrap().len();
    let before = crate::requests::detail(&app, &reference).await;
    assert_eq!(
        before["timeline"][0]["actor"],
        format!("api_token:{}", token.id),
        "the request was made by the token"
    );

    tokens::revoke(&app.store, token.id, "cli:test")
        .await
        .unwrap();
    wait_for_the_revocation().await;
    let note = app
        .client
        .post(format!(
            "{}/api/v1/requests/{reference}/actions",
            app.address
        ))
        .bearer_auth(&secret)
        .json(&json!({ "action": "note", "text": "after the revocation" }))
        .send()
        .await
        .unwrap();
    assert_problem(note, 401).await;
    let after = crate::requests::detail(&app, &reference).await;
    assert_eq!(
        timeline_len(&after),
        timeline_len(&before),
        "nothing changed"
    );
    assert_eq!(after["request"]["state"], before["request"]["state"]);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_tokens_last_use_is_recorded_and_its_calls_are_audited_under_its_id() {
    let app = spawn_app().await;
    let (token, secret) = issue(&app, "read consent:write").await;
    let (idle, _) = issue(&app, "read").await;
    assert_eq!(token.last_used_at, None);

    let before = jiff::Timestamp::now();
    let linked = app
        .client
        .post(format!("{}/api/v1/consent/links", app.address))
        .bearer_auth(&secret)
        .json(&json!({ "a": "email:ann@example.test", "b": "customer:42" }))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 204);
    let first = stored(&app, token.id)
        .await
        .last_used_at
        .expect("the use was recorded");
    assert!(first >= before - jiff::SignedDuration::from_millis(1));
    assert_eq!(stored(&app, idle.id).await.last_used_at, None);

    // A refused call is a use too: the token is still in service somewhere.
    let (reader, reader_secret) = issue(&app, "read").await;
    assert_eq!(post_event(&app, &reader_secret, true).await.status(), 403);
    assert!(stored(&app, reader.id).await.last_used_at.is_some());

    // Within the minute, further calls do not write again.
    assert_eq!(post_event(&app, &secret, true).await.status(), 201);
    assert_eq!(stored(&app, token.id).await.last_used_at, Some(first));

    // The link's audit entry names the token, never the secret.
    let log = app.store.audit_page(0, 10_000).await.unwrap();
    let link = log
        .iter()
        .find(|e| e.action.contains("link"))
        .expect("the link is audited");
    assert_eq!(link.actor, format!("api_token:{}", token.id));
    for e in &log {
        assert!(!e.details.contains(&secret[6..30]) && !e.actor.contains(&secret[6..30]));
    }
    app.stop().await.unwrap();
}

#[tokio::test]
async fn without_a_configured_token_stored_tokens_still_work() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(dir.path());
    settings.api_token = None;
    let app = spawn_with(dir, ombud_policy::example::impero(), settings).await;
    let (_, secret) = issue(&app, "read").await;
    let path = "/api/v1/consent/check?subject=email:ann@example.test&purpose=marketing";
    let ok = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // The test servers' usual token is not configured here, so it is just an unknown token.
    assert_problem(app.api(Method::GET, path).send().await.unwrap(), 401).await;
    let body = assert_problem(app.get(path).await, 401).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("ombud tokens add"),
        "{body}"
    );
    // A write needs its scope, whatever the body.
    let body = assert_problem(post_event(&app, &secret, true).await, 403).await;
    assert_eq!(body["detail"], "This token lacks the scope consent:write.");
    app.stop().await.unwrap();
}
