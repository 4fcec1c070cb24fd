//! Rights requests end to end over HTTP, with a real SMTP server on loopback: the privacy
//! centre, identity codes, deadlines, the workflow and its letters.

use std::time::Duration;

use ombud_testkit::{SentMail, SmtpSink};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_mail, spawn_app_with_mail_and};

/// The 6-digit code in a verification e-mail.
pub(crate) fn code_in(mail: &SentMail) -> String {
    let digits: Vec<&str> = mail
        .text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 6)
        .collect();
    assert_eq!(
        digits.len(),
        1,
        "one 6-digit code in the body: {}",
        mail.text
    );
    assert!(
        !mail.subject.contains(digits[0]),
        "the code is not in the subject"
    );
    digits[0].to_owned()
}

/// Submits the privacy centre's form; returns the response (not followed).
pub(crate) async fn submit(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}/privacy-centre/requests", app.address))
        .form(fields)
        .send()
        .await
        .unwrap()
}

pub(crate) fn reference_from(location: &str) -> String {
    location
        .split('/')
        .nth(3)
        .and_then(|r| r.split('?').next())
        .expect("a reference in the redirect")
        .to_owned()
}

pub(crate) async fn enter_code(app: &TestApp, reference: &str, code: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/privacy-centre/verify/{reference}", app.address))
        .form(&[("code", code), ("lang", "en")])
        .send()
        .await
        .unwrap()
}

pub(crate) async fn detail(app: &TestApp, reference: &str) -> Value {
    let r = app
        .api(Method::GET, &format!("/api/v1/requests/{reference}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub(crate) async fn act(app: &TestApp, reference: &str, action: Value) -> reqwest::Response {
    app.api(
        Method::POST,
        &format!("/api/v1/requests/{reference}/actions"),
    )
    .json(&action)
    .send()
    .await
    .unwrap()
}

pub(crate) async fn create(app: &TestApp, body: Value) -> Value {
    let r = app
        .api(Method::POST, "/api/v1/requests")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// Mail to `to` among what the sink received, waiting for at least `n` of them.
pub(crate) async fn mail_to(sink: &SmtpSink, to: &str, n: usize) -> Vec<SentMail> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<SentMail> = sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains(to)))
            .collect();
        if found.len() >= n || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn submit_receive_the_code_verify_and_follow_the_request() {
    // Staff carry the request out by hand here (see execution.rs for the automatic run).
    let (app, sink) = spawn_app_with_mail_and(|s| s.auto_execute = false).await;
    let form = app.get("/privacy-centre").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(
        html.contains(r#"name="kind" value="access""#)
            && html.contains(r#"type="email""#)
            && !html.contains("<script")
    );

    let r = submit(
        &app,
        &[
            ("kind", "access"),
            ("email", "ann@example.test"),
            ("name", "Ann"),
            ("lang", "en"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/privacy-centre/verify/R-"),
        "{location}"
    );
    let reference = reference_from(&location);
    let page = app.get(&location).await.text().await.unwrap();
    assert!(
        !page.contains("ann@example.test") && !page.contains("Ann"),
        "nothing about the person before verification"
    );

    let mail = mail_to(&sink, "ann@example.test", 1).await;
    assert_eq!(mail.len(), 1, "the code e-mail");
    let code = code_in(&mail[0]);
    let r = enter_code(&app, &reference, &code).await;
    assert_eq!(r.status(), 303);
    let status = app
        .get(r.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        status.contains("In progress") && status.contains(&reference),
        "{status}"
    );

    let d = detail(&app, &reference).await;
    assert_eq!(d["request"]["state"], "verified");
    assert_eq!(d["request"]["verified_how"], "e-mail code");
    let actions: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["received", "code_sent", "verified"]);
    // The acknowledgement goes out through the outbox.
    let mail = mail_to(&sink, "ann@example.test", 2).await;
    assert!(
        mail.iter()
            .any(|m| m.text.contains(&reference) && m.text.contains("7 working days")),
        "acknowledgement: {mail:#?}"
    );
    // A replayed code changes nothing.
    let replay = enter_code(&app, &reference, &code).await;
    assert_eq!(replay.status(), 409);
    assert_eq!(
        detail(&app, &reference).await["request"]["state"],
        "verified"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn five_wrong_codes_lock_out_and_a_new_code_works() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(&app, &[("kind", "erasure"), ("email", "bo@example.test")]).await;
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let code = code_in(&mail_to(&sink, "bo@example.test", 1).await[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        let r = enter_code(&app, &reference, wrong).await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains(&format!("Tries left: {left}"))
        );
    }
    let r = enter_code(&app, &reference, wrong).await;
    assert!(r.text().await.unwrap().contains("Too many wrong tries"));
    let r = enter_code(&app, &reference, &code).await;
    assert_eq!(r.status(), 422, "locked out, even with the right code");
    assert_eq!(
        detail(&app, &reference).await["request"]["state"],
        "awaiting_verification"
    );
    // Resending is rate-limited: one a minute.
    let resend = |app: &TestApp| {
        app.client
            .post(format!(
                "{}/privacy-centre/verify/{reference}/resend",
                app.address
            ))
            .form(&[("lang", "en")])
            .send()
    };
    assert_eq!(resend(&app).await.unwrap().status(), 429);
    app.store.close().await;
    app.stop().await.ok();
}

#[tokio::test]
async fn an_expired_code_fails() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(&app, &[("kind", "access"), ("email", "cy@example.test")]).await;
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let code = code_in(&mail_to(&sink, "cy@example.test", 1).await[0]);
    // Sixteen minutes pass.
    app.raw_sql("UPDATE request_code SET issued_at_us = issued_at_us - 960000000")
        .await;
    let r = enter_code(&app, &reference, &code).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("expired"), "{body}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    let (app, _sink) = spawn_app_with_mail().await;
    create(
        &app,
        json!({ "kind": "access", "email": "known@example.test", "channel": "email" }),
    )
    .await;
    let known = submit(&app, &[("kind", "access"), ("email", "known@example.test")]).await;
    let unknown = submit(
        &app,
        &[("kind", "access"), ("email", "nobody@example.test")],
    )
    .await;
    assert_eq!(known.status(), unknown.status());
    let page = |r: &reqwest::Response| {
        r.headers()["location"].to_str().unwrap().replace(
            &reference_from(r.headers()["location"].to_str().unwrap()),
            "REF",
        )
    };
    assert_eq!(page(&known), page(&unknown));
    let a = app
        .get(known.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let b = app
        .get(unknown.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        a.replace(
            &reference_from(known.headers()["location"].to_str().unwrap()),
            "REF"
        ),
        b.replace(
            &reference_from(unknown.headers()["location"].to_str().unwrap()),
            "REF"
        )
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(&app, &[("kind", "access"), ("email", "not-an-address")]).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text().await.unwrap().contains("href=\"#email\""),
        "the error points at the field"
    );
    let r = submit(
        &app,
        &[
            ("kind", "be_forgotten_twice"),
            ("email", "dee@example.test"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let big = "x".repeat(300 * 1024);
    let r = submit(
        &app,
        &[
            ("kind", "access"),
            ("email", "dee@example.test"),
            ("message", &big),
        ],
    )
    .await;
    assert_eq!(r.status(), 413);
    let bad_api = app
        .api(Method::POST, "/api/v1/requests")
        .json(&json!({ "kind": "access", "email": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_api.status(), 422);
    let unknown_right = app
        .api(Method::POST, "/api/v1/requests")
        .json(&json!({ "kind": "fly", "email": "dee@example.test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_right.status(), 422);
    let list: Value = app
        .api(Method::GET, "/api/v1/requests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["requests"].as_array().unwrap().is_empty(),
        "no request was stored"
    );
    assert!(sink.messages().is_empty(), "no mail was sent");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn deadlines_follow_the_danish_calendar_and_the_law() {
    let (app, _sink) = spawn_app_with_mail().await;
    for (received, promised, legal) in [
        ("2026-03-31", "2026-04-14", "2026-04-30"), // Easter
        ("2025-12-22", "2026-01-07", "2026-01-22"), // Christmas, closing days and New Year
        ("2026-01-31", "2026-02-10", "2026-03-02"), // 31 January + 1 month, 28 Feb is a Saturday
    ] {
        let r = create(&app, json!({ "kind": "access", "email": "e@example.test", "channel": "letter", "received": received })).await;
        assert_eq!(
            (
                r["promised_due"].as_str().unwrap(),
                r["legal_due"].as_str().unwrap()
            ),
            (promised, legal),
            "received {received}"
        );
        assert_eq!(
            r["state"], "received",
            "staff channels wait for verification by staff"
        );
    }
    let overdue: Value = app
        .api(Method::GET, "/api/v1/requests?overdue=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        overdue["requests"].as_array().unwrap().len(),
        3,
        "all three are past their legal date"
    );
    let repeats: Vec<&Value> = overdue["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["repeat_of"].is_null())
        .collect();
    assert!(
        !repeats.is_empty(),
        "the same person asking again within 90 days is flagged"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn extension_within_the_first_month_only_with_a_reason_sent_to_the_person() {
    let (app, sink) = spawn_app_with_mail().await;
    let today = create(
        &app,
        json!({ "kind": "access", "email": "fa@example.test", "channel": "email" }),
    )
    .await;
    let reference = today["reference"].as_str().unwrap();
    assert_eq!(
        act(&app, reference, json!({ "action": "extend" }))
            .await
            .status(),
        409,
        "a reason is required"
    );
    let r = act(
        &app,
        reference,
        json!({ "action": "extend", "reason": "The data sits in several archived systems." }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let extended: Value = r.json().await.unwrap();
    assert!(extended["extended_due"].as_str().unwrap() > extended["legal_due"].as_str().unwrap());
    assert_eq!(
        act(
            &app,
            reference,
            json!({ "action": "extend", "reason": "again" })
        )
        .await
        .status(),
        409,
        "once only"
    );
    let notice = mail_to(&sink, "fa@example.test", 1).await;
    assert!(
        notice
            .iter()
            .any(|m| m.text.contains("several archived systems")),
        "{notice:#?}"
    );
    let old = create(&app, json!({ "kind": "access", "email": "fb@example.test", "channel": "email", "received": "2025-01-06" })).await;
    let r = act(
        &app,
        old["reference"].as_str().unwrap(),
        json!({ "action": "extend", "reason": "complex" }),
    )
    .await;
    assert_eq!(
        r.status(),
        409,
        "after the first month, extending is refused"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_workflow_refuses_invalid_transitions_and_a_refusal_letter_names_the_authority() {
    let (app, sink) = spawn_app_with_mail_and(|s| s.auto_execute = false).await;
    let r = create(&app, json!({ "kind": "erasure", "email": "gi@example.test", "channel": "phone", "received": "2026-11-02" })).await;
    let reference = r["reference"].as_str().unwrap();
    let r = act(&app, reference, json!({ "action": "complete" })).await;
    assert_eq!(r.status(), 409, "not before identity is verified");
    assert!(r.text().await.unwrap().contains("cannot be completed"));
    let r = act(
        &app,
        reference,
        json!({ "action": "verify", "how": "phone call; confirmed the customer number" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["verified_how"],
        "phone call; confirmed the customer number"
    );
    assert_eq!(
        act(&app, reference, json!({ "action": "start" }))
            .await
            .status(),
        200
    );
    let r = act(
        &app,
        reference,
        json!({ "action": "refuse", "reason": "The same request was answered in full last week." }),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        act(&app, reference, json!({ "action": "complete" }))
            .await
            .status(),
        409,
        "closed"
    );
    let letters = mail_to(&sink, "gi@example.test", 2).await;
    let refusal = letters
        .iter()
        .find(|m| m.text.contains("answered in full last week"))
        .expect("the refusal letter");
    assert!(refusal.text.contains("Datatilsynet"), "{}", refusal.text);
    assert!(
        refusal.text.to_lowercase().contains("judicial remedy"),
        "{}",
        refusal.text
    );
    let d = detail(&app, reference).await;
    let timeline = d["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .all(|e| e["actor"].is_string() && e["at"].is_string())
    );
    assert_eq!(
        timeline.last().unwrap()["note"],
        "The same request was answered in full last week."
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_about_platform_data_is_forwarded_to_the_customer() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(
        &app,
        &[
            ("kind", "access"),
            ("email", "hu@example.test"),
            ("platform_customer", "Acme Shipping"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/privacy-centre/status/"),
        "no code for a forwarded request: {location}"
    );
    let reference = reference_from(&location);
    let r = act(
        &app,
        &reference,
        json!({ "action": "forward", "to": "Acme Shipping", "to_email": "privacy@acme.test" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let d = detail(&app, &reference).await;
    assert_eq!(d["request"]["state"], "forwarded");
    assert_eq!(d["request"]["forwarded_to"], "Acme Shipping");
    let last = d["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["note"].as_str()),
        (Some("forwarded"), Some("Acme Shipping"))
    );
    assert!(last["at"].is_string(), "when it was forwarded");
    assert_eq!(
        mail_to(&sink, "privacy@acme.test", 1).await.len(),
        1,
        "the controller is told"
    );
    assert!(
        mail_to(&sink, "hu@example.test", 1).await[0]
            .text
            .contains("Acme Shipping"),
        "the person is told"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn an_objection_to_direct_marketing_is_applied_at_once() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(
        &app,
        &[
            ("kind", "objection"),
            ("email", "ib@example.test"),
            ("purpose_marketing", "on"),
        ],
    )
    .await;
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let code = code_in(&mail_to(&sink, "ib@example.test", 1).await[0]);
    enter_code(&app, &reference, &code).await;
    assert_eq!(
        detail(&app, &reference).await["request"]["state"],
        "completed"
    );
    let check = app.check("email:ib@example.test", "marketing").await;
    assert_eq!(
        (check["allowed"].as_bool(), check["reason"].as_str()),
        (Some(false), Some("refused")),
        "{check}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn withdrawing_consent_in_the_privacy_centre_writes_the_ledger() {
    let (app, sink) = spawn_app_with_mail().await;
    app.post_consent_events(
        &json!({ "events": [{ "subject": "email:jo@example.test", "target": "purpose:talent_pool",
        "granted": true, "method": "letter", "recorded_by": "user:1", "wording": "I agree." }] }),
    )
    .await;
    assert_eq!(
        app.check("email:jo@example.test", "talent_pool").await["allowed"],
        true
    );
    let r = submit(
        &app,
        &[
            ("kind", "withdraw_consent"),
            ("email", "jo@example.test"),
            ("purpose_talent_pool", "on"),
            ("lang", "da"),
        ],
    )
    .await;
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let mail = mail_to(&sink, "jo@example.test", 1).await;
    let code = code_in(&mail[0]);
    enter_code(&app, &reference, &code).await;
    assert_eq!(
        app.check("email:jo@example.test", "talent_pool").await["reason"],
        "refused"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn unverified_requests_expire_and_reminders_go_to_the_contact_point() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(&app, &[("kind", "access"), ("email", "ka@example.test")]).await;
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let due = create(
        &app,
        json!({ "kind": "access", "email": "kb@example.test", "channel": "email" }),
    )
    .await;
    let mut settings = app.settings.clone();
    settings.unverified_expiry_hours = 0;
    settings.reminder_days = 40;
    let version = app.store.current_policy().await.unwrap().unwrap().id;
    let service =
        ombud_server::request_service(&settings, &app.store, &app.policy.policy, version).unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(service.expire_unverified().await.unwrap() >= 1);
    assert_eq!(
        detail(&app, &reference).await["request"]["state"],
        "expired"
    );
    assert_eq!(
        detail(&app, due["reference"].as_str().unwrap()).await["request"]["state"],
        "received",
        "staff requests wait for staff"
    );
    assert!(service.send_reminders().await.unwrap() >= 2);
    assert_eq!(
        service.send_reminders().await.unwrap(),
        0,
        "once per due date"
    );
    let reminders = mail_to(&sink, "mc@impero.com", 1).await;
    assert!(
        reminders
            .iter()
            .any(|m| m.text.contains(due["reference"].as_str().unwrap())),
        "{reminders:#?}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_repeated_request_is_flagged_and_a_fee_letter_states_the_reason_and_the_right_to_complain()
 {
    let (app, sink) = spawn_app_with_mail().await;
    let body = json!({ "kind": "access", "email": "ha@example.test", "channel": "email" });
    let first = create(&app, body.clone()).await;
    assert!(first["repeat_of"].is_null());
    let second = create(&app, body).await;
    let reference = second["reference"].as_str().unwrap();
    assert_eq!(
        second["repeat_of"], first["reference"],
        "flagged as a repeat of the first"
    );
    let other_right = create(
        &app,
        json!({ "kind": "erasure", "email": "ha@example.test", "channel": "email" }),
    )
    .await;
    assert!(
        other_right["repeat_of"].is_null(),
        "another right is not a repeat"
    );

    let fee = json!({ "action": "charge_fee", "fee": "250 DKK", "reason": "The third copy of the same data this month." });
    assert_eq!(
        act(&app, reference, fee.clone()).await.status(),
        409,
        "no letter before the address is confirmed"
    );
    act(
        &app,
        reference,
        json!({ "action": "verify", "how": "replied from the address" }),
    )
    .await;
    let without_reason = act(
        &app,
        reference,
        json!({ "action": "charge_fee", "fee": "250 DKK" }),
    )
    .await;
    assert_eq!(without_reason.status(), 422);
    let r = act(&app, reference, fee).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let d = detail(&app, reference).await;
    assert_eq!(d["request"]["fee"], "250 DKK");
    let letters = mail_to(&sink, "ha@example.test", 2).await;
    let notice = letters
        .iter()
        .find(|m| m.text.contains("The fee is 250 DKK"))
        .expect("the fee letter");
    for expected in [
        "The third copy of the same data this month.",
        "Datatilsynet",
        "judicial remedy",
        "Art. 12(5)",
    ] {
        assert!(
            notice.text.contains(expected),
            "{expected} in {}",
            notice.text
        );
    }
    app.stop().await.unwrap();
}
