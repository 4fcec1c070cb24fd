//! The consent API: authentication, recording, state, history, checks, links and proof.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TEST_TOKEN, spawn_app};

fn form_event(subject: &str, target: &str, granted: bool) -> Value {
    json!({ "subject": subject, "target": target, "granted": granted, "method": "form",
            "wording": "Yes, send me the newsletter.", "source": "https://www.example.test/signup" })
}

#[tokio::test]
async fn every_consent_route_needs_the_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::POST, "/api/v1/consent/events"),
        (Method::GET, "/api/v1/consent/state?subject=email:a@b.dk"),
        (Method::GET, "/api/v1/consent/history?subject=email:a@b.dk"),
        (
            Method::GET,
            "/api/v1/consent/check?subject=email:a@b.dk&purpose=marketing",
        ),
        (Method::POST, "/api/v1/consent/links"),
        (Method::GET, "/api/v1/consent/proof?subject=email:a@b.dk"),
    ] {
        let none = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{method} {path}");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        assert_eq!(none.headers()["content-type"], "application/problem+json");
        let wrong = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .bearer_auth(format!("{TEST_TOKEN}x"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{method} {path}");
    }
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_grant_and_its_withdrawal_answer_the_check() {
    let app = spawn_app().await;
    let ann = "email:Ann@Example.test";
    assert_eq!(app.check(ann, "marketing").await["reason"], "no_consent");

    let r = app
        .post_consent_events(&json!({ "events": [form_event(ann, "purpose:marketing", true)] }))
        .await;
    assert_eq!(r.status(), 201);
    let stored: Value = r.json().await.unwrap();
    let e = &stored["events"][0];
    assert_eq!(
        e["subject"], "email:ann@example.test",
        "identities are normalised"
    );
    assert_eq!(
        e["wording_hash"].as_str().unwrap().len(),
        64,
        "the wording is kept as its hash"
    );
    assert!(e["expires_at"].is_string(), "a grant lapses");

    let check = app.check("email:ann@example.test", "marketing").await;
    assert_eq!(
        (check["allowed"].as_bool(), check["basis"].as_str()),
        (Some(true), Some("consent"))
    );

    let r = app
        .post_consent_events(&json!({ "events": [form_event(ann, "purpose:marketing", false)] }))
        .await;
    assert_eq!(r.status(), 201);
    let check = app.check(ann, "marketing").await;
    assert_eq!(
        (check["allowed"].as_bool(), check["reason"].as_str()),
        (Some(false), Some("refused"))
    );

    let history: Value = app
        .get_consent("/api/v1/consent/history?subject=email:ann@example.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["events"].as_array().unwrap().len(),
        2,
        "the withdrawal is a new event"
    );
    let state: Value = app
        .get_consent("/api/v1/consent/state?subject=email:ann@example.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["states"][0]["granted"], false);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn other_legal_bases_answer_from_the_policy() {
    let app = spawn_app().await;
    let who = "email:bo@example.test";
    let office = app.check(who, "office_visitors").await;
    assert_eq!(
        (office["allowed"].as_bool(), office["basis"].as_str()),
        (Some(true), Some("legitimate_interests"))
    );
    assert_eq!(app.check(who, "events").await["reason"], "no_legal_basis");
    let unknown = app
        .api(Method::GET, "/api/v1/consent/check")
        .query(&[("subject", who), ("purpose", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn bad_events_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let good = form_event("email:c@example.test", "purpose:marketing", true);
    let mut staff = good.clone();
    staff["method"] = json!("phone");
    let mut future = good.clone();
    future["at"] = json!("2999-01-01T00:00:00Z");
    let mut forged = good.clone();
    forged["target"] = json!("cookies:everything");
    let mut bad_subject = good.clone();
    bad_subject["subject"] = json!("c@example.test");
    let mut both = good.clone();
    both["wording_hash"] = json!("ab".repeat(32));
    let mut old_version = good.clone();
    old_version["policy_version"] = json!(999);
    for (bad, expect) in [
        (staff, "recorded_by"),
        (future, "future"),
        (forged, "not declared"),
        (bad_subject, "subject"),
        (both, "not both"),
        (old_version, "policy_version"),
    ] {
        let r = app
            .post_consent_events(&json!({ "events": [good.clone(), bad] }))
            .await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains(expect), "{body}");
        assert!(
            body["detail"].as_str().unwrap().starts_with("events[1]."),
            "names the event: {body}"
        );
    }
    let too_many: Vec<Value> = (0..1001).map(|_| good.clone()).collect();
    assert_eq!(
        app.post_consent_events(&json!({ "events": too_many }))
            .await
            .status(),
        422
    );
    let malformed = app
        .api(Method::POST, "/api/v1/consent/events")
        .header("content-type", "application/json")
        .body("{\"events\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let unknown_field = app
        .post_consent_events(&json!({ "events": [], "extra": 1 }))
        .await;
    assert_eq!(unknown_field.status(), 422);
    assert_eq!(app.consent_event_count().await, 0, "nothing was written");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_linked_visitor_and_identity_answer_for_one_person() {
    let app = spawn_app().await;
    let visitor = "visitor:0123456789abcdef0123456789abcdef";
    let r = app
        .post_consent_events(&json!({ "events": [{ "subject": visitor, "target": "cookies:statistics", "granted": true,
            "method": "banner", "wording_hash": "ab".repeat(32), "ip": "203.0.113.77", "user_agent": "Test/1.0" }] }))
        .await;
    assert_eq!(r.status(), 201);
    let stored: Value = r.json().await.unwrap();
    assert_eq!(
        stored["events"][0]["ip_prefix"], "203.0.113.0/24",
        "the IP is truncated"
    );
    assert_eq!(
        app.check("email:dee@example.test", "improvement").await["allowed"],
        false
    );
    let r = app
        .api(Method::POST, "/api/v1/consent/links")
        .json(&json!({ "a": visitor, "b": "email:dee@example.test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let check = app.check("email:dee@example.test", "improvement").await;
    assert_eq!(
        check["allowed"], true,
        "the browser's statistics consent covers the purpose: {check}"
    );
    let state: Value = app
        .get_consent("/api/v1/consent/state?subject=email:dee@example.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["linked"].as_array().unwrap().len(), 2);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_proof_exports_as_json_and_csv_and_is_audited() {
    let app = spawn_app().await;
    let who = "email:eve@example.test";
    app.post_consent_events(&json!({ "events": [form_event(who, "purpose:marketing", true), form_event(who, "purpose:marketing", false)] })).await;
    let json: Value = app
        .get_consent("/api/v1/consent/proof?subject=email:eve@example.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["policy_versions"][0]["id"],
        json["events"][0]["policy_version"]
    );
    let csv = app
        .get_consent("/api/v1/consent/proof?subject=email:eve@example.test&format=csv")
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[1][4], "false");
    assert_eq!(
        app.get_consent("/api/v1/consent/proof?subject=email:eve@example.test&format=xml")
            .await
            .status(),
        422
    );
    let mut after = 0;
    let mut exports = 0;
    loop {
        let page = app.store.audit_page(after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in page.iter().filter(|r| r.action == "consent.proof_exported") {
            exports += 1;
            assert!(
                !r.details.contains("eve@"),
                "no identity in the audit log: {}",
                r.details
            );
        }
    }
    assert_eq!(exports, 2);
    app.stop().await.unwrap();
}
