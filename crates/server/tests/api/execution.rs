//! Verified requests carried out against the example's trial database (SQLite, as `ombud demo`
//! makes it): the access package behind its download link, erasure under a legal hold,
//! restriction answered by the consent check, manual tasks that hold the request open, and
//! rectification.

use std::io::Read as _;
use std::time::Duration;

use ombud_testkit::SmtpSink;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::helpers::{TestApp, spawn_app_with_mail};
use crate::requests::{act, code_in, create, detail, enter_code, mail_to, reference_from, submit};

const ANN: &str = "ann@example.com";

/// Waits until the request's jobs are all finished and the request has moved on from
/// in progress; returns the detail.
async fn jobs_finished(app: &TestApp, reference: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = detail(app, reference).await;
        let jobs = d["jobs"].as_array().unwrap();
        if !jobs.is_empty()
            && jobs
                .iter()
                .all(|j| j["state"] == "done" || j["state"] == "failed")
            && d["request"]["state"] != "in_progress"
        {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the jobs did not finish: {d:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a request by staff and verifies it; the server then carries it out.
async fn verified_by_staff(app: &TestApp, kind: &str) -> String {
    let r = create(
        app,
        json!({ "kind": kind, "email": ANN, "channel": "email", "received": "2026-11-02" }),
    )
    .await;
    let reference = r["reference"].as_str().unwrap().to_owned();
    let r = act(
        app,
        &reference,
        json!({ "action": "verify", "how": "reply from the address on file" }),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    reference
}

/// One row of the trial database, read independently of ombud.
async fn trial_row(app: &TestApp, sql: &'static str) -> Vec<Option<String>> {
    let path = app.dir.path().join("trial_db.sqlite");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let row = sqlx::query(sql).fetch_one(&mut c).await.unwrap();
    let values = (0..sqlx::Row::len(&row))
        .map(|i| {
            sqlx::Row::try_get::<Option<String>, _>(&row, i)
                .or_else(|_| {
                    sqlx::Row::try_get::<Option<i64>, _>(&row, i).map(|v| v.map(|n| n.to_string()))
                })
                .unwrap()
        })
        .collect();
    c.close().await.unwrap();
    values
}

/// Ticks off every open task of the request; returns the detail afterwards.
async fn tick_all_tasks(app: &TestApp, reference: &str) -> Value {
    let d = detail(app, reference).await;
    let tasks = d["tasks"].as_array().unwrap().clone();
    for t in &tasks {
        let r = act(
            app,
            reference,
            json!({ "action": "task_done", "task": t["id"], "note": "done in the system" }),
        )
        .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    detail(app, reference).await
}

fn download_path(sink: &SmtpSink) -> Option<String> {
    sink.messages().iter().find_map(|m| {
        let at = m.text.find("/privacy-centre/packages/")?;
        let rest = &m.text[at..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == ')')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    })
}

#[tokio::test]
async fn an_access_request_ends_in_a_package_the_person_downloads() {
    let (app, sink) = spawn_app_with_mail().await;
    let r = submit(&app, &[("kind", "access"), ("email", ANN)]).await;
    assert_eq!(r.status(), 303);
    let reference = reference_from(r.headers()["location"].to_str().unwrap());
    let code = code_in(&mail_to(&sink, ANN, 1).await[0]);
    assert_eq!(enter_code(&app, &reference, &code).await.status(), 303);

    let d = jobs_finished(&app, &reference).await;
    assert_eq!(d["jobs"][0]["kind"], "access");
    assert_eq!(d["jobs"][0]["state"], "done", "{d:#}");
    // HubSpot, Mailchimp and the rest have no connector: tasks hold the request open.
    let tasks = d["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty(), "{d:#}");
    assert_eq!(d["request"]["state"], "waiting_for_tasks", "{d:#}");
    assert_eq!(d["packages"].as_array().unwrap().len(), 1);

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let path = loop {
        if let Some(p) = download_path(&sink) {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no download link was sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = app.get(&path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let body = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body.to_vec())).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let mut all = String::new();
    for name in &names {
        if name.ends_with(".json") || name.ends_with(".csv") {
            let mut f = zip.by_name(name).unwrap();
            f.read_to_string(&mut all).unwrap();
        }
    }
    assert!(
        names.iter().any(|n| n.contains("trial_user")),
        "the trial database's users are in the package: {names:?}"
    );
    assert!(all.contains("Ann Example") && all.contains("Head of Internal Audit"));
    assert!(
        !all.contains("Bo Larsen") && !all.contains("dina.holm@example.net"),
        "only Ann's rows"
    );
    assert_eq!(
        detail(&app, &reference).await["packages"][0]["downloads"],
        1
    );

    // A wrong or cut token finds nothing and says so in a page.
    let wrong = format!("/privacy-centre/packages/{}", "0".repeat(64));
    assert_eq!(app.get(&wrong).await.status(), 404);
    assert_eq!(app.get("/privacy-centre/packages/abc").await.status(), 404);

    let d = tick_all_tasks(&app, &reference).await;
    assert_eq!(d["request"]["state"], "completed", "{d:#}");
    assert!(
        d["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["done_by"].is_string())
    );
    // A task cannot be ticked off twice.
    let again = act(
        &app,
        &reference,
        json!({ "action": "task_done", "task": d["tasks"][0]["id"] }),
    )
    .await;
    assert_eq!(again.status(), 409);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn erasure_masks_the_person_and_keeps_invoices_under_the_hold() {
    let (app, _sink) = spawn_app_with_mail().await;
    let before_other =
        trial_row(&app, "SELECT email, full_name FROM trial_user WHERE id = 2").await;
    let reference = verified_by_staff(&app, "erasure").await;
    let d = jobs_finished(&app, &reference).await;
    assert_eq!(d["jobs"][0]["state"], "done", "{d:#}");

    let ann = trial_row(
        &app,
        "SELECT email, full_name, phone FROM trial_user WHERE id = 1",
    )
    .await;
    assert_ne!(ann[0].as_deref(), Some(ANN), "the e-mail is erased");
    assert_eq!(ann[1].as_deref(), Some("erased"), "{ann:?} {d:#}");
    let invoice = trial_row(
        &app,
        "SELECT billing_email, restricted FROM invoice WHERE id = 1",
    )
    .await;
    assert_eq!(
        invoice[0].as_deref(),
        Some(ANN),
        "kept under the bookkeeping hold"
    );
    assert_eq!(invoice[1].as_deref(), Some("1"), "and marked restricted");
    assert_eq!(
        trial_row(&app, "SELECT email, full_name FROM trial_user WHERE id = 2").await,
        before_other,
        "nobody else changes"
    );
    let notes: Vec<String> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["note"].as_str().map(str::to_owned))
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("kept under bookkeeping")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().all(|n| !n.contains(ANN)),
        "the timeline holds no personal data: {notes:#?}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_restricted_person_is_answered_restricted_by_the_consent_check() {
    let (app, _sink) = spawn_app_with_mail().await;
    let subject = format!("email:{ANN}");
    assert_eq!(
        app.check(&subject, "website").await["reason"],
        "other_basis"
    );
    let reference = verified_by_staff(&app, "restriction").await;
    let d = jobs_finished(&app, &reference).await;
    assert_eq!(d["jobs"][0]["state"], "done", "{d:#}");
    let check = app.check(&subject, "website").await;
    assert_eq!(check["allowed"], false, "{check}");
    assert_eq!(check["reason"], "restricted", "{check}");
    assert_eq!(
        app.check("email:bo.larsen@example.com", "website").await["reason"],
        "other_basis",
        "others are not restricted"
    );
    assert_eq!(
        trial_row(&app, "SELECT restricted FROM trial_user WHERE id = 1").await[0].as_deref(),
        Some("1")
    );
    assert_eq!(
        trial_row(&app, "SELECT restricted FROM trial_user WHERE id = 2").await[0].as_deref(),
        Some("0")
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn rectification_needs_corrections_and_changes_only_the_named_field() {
    let (app, _sink) = spawn_app_with_mail().await;
    let r = create(
        &app,
        json!({ "kind": "rectification", "email": ANN, "channel": "email", "received": "2026-11-02",
                "details": { "corrections": "My job title is Chief Audit Executive now." } }),
    )
    .await;
    let reference = r["reference"].as_str().unwrap().to_owned();
    let r = act(
        &app,
        &reference,
        json!({ "action": "verify", "how": "reply" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        detail(&app, &reference).await["jobs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "rectification waits for staff to name the corrections"
    );
    let before = trial_row(&app, "SELECT full_name, phone FROM trial_user WHERE id = 1").await;

    for bad in [
        json!({ "action": "execute" }),
        json!({ "action": "execute", "corrections": [{ "system": "trial_db", "collection": "trial_user", "field": "nope", "value": "x" }] }),
        json!({ "action": "execute", "corrections": [{ "system": "trial_db", "collection": "trial_user", "field": "id", "value": "9" }] }),
    ] {
        let r = act(&app, &reference, bad.clone()).await;
        assert_eq!(r.status(), 422, "{bad}");
        assert!(
            detail(&app, &reference).await["jobs"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let r = act(
        &app,
        &reference,
        json!({ "action": "execute", "corrections": [{ "system": "trial_db", "collection": "trial_user", "field": "job_title", "value": "Chief Audit Executive" }] }),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let d = jobs_finished(&app, &reference).await;
    assert_eq!(d["jobs"][0]["state"], "done", "{d:#}");
    assert_eq!(
        trial_row(&app, "SELECT job_title FROM trial_user WHERE id = 1").await[0].as_deref(),
        Some("Chief Audit Executive")
    );
    assert_eq!(
        trial_row(&app, "SELECT full_name, phone FROM trial_user WHERE id = 1").await,
        before
    );
    let timeline = d["timeline"].to_string();
    assert!(
        !timeline.contains("Head of Internal Audit") && !timeline.contains("Chief Audit Executive"),
        "neither the old nor the new value is on the timeline"
    );
    let api = app
        .api(Method::GET, &format!("/api/v1/requests/{reference}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    app.stop().await.unwrap();
}
