//! The banner's public endpoints: the script, recording a choice, CORS, GPC.

use serde_json::{Value, json};

use crate::helpers::{SITE_ORIGIN, TEST_TOKEN, spawn_app};

#[tokio::test]
async fn the_script_is_small_compressed_and_cacheable() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/c/banner.js", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let etag = r.headers()["etag"].clone();
    let gzipped = r.bytes().await.unwrap();
    assert!(
        gzipped.len() <= 8192,
        "the banner is {} bytes gzip, over the 8 KB budget",
        gzipped.len()
    );
    let again = app
        .client
        .get(format!("{}/c/banner.js", app.address))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let plain = app.get("/c/banner.js").await.text().await.unwrap();
    assert!(
        plain.contains(&format!("{}/c/consent", app.address)),
        "the script posts to this server"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_choice_is_recorded_and_the_server_sets_the_cookie() {
    let app = spawn_app().await;
    let (version, rev) = app.banner_version().await;
    let choice = json!({ "version": version, "rev": rev, "lang": "da",
        "choices": { "functional": false, "statistics": true, "marketing": false }, "url": "https://www.example.test/" });
    let r = app
        .banner_choice(&choice)
        .header("sec-gpc", "1")
        .header("user-agent", "Banner test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("ombud_consent=")
            && cookie.contains("Max-Age=31")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let receipt: Value = r.json().await.unwrap();
    assert_eq!(receipt["granted"], json!(["statistics"]));
    let visitor = format!("visitor:{}", receipt["visitor"].as_str().unwrap());

    let history: Value = app
        .get_consent(&format!("/api/v1/consent/history?subject={visitor}"))
        .await
        .json()
        .await
        .unwrap();
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "one event per category that needs consent");
    for e in events {
        assert_eq!(e["method"], "banner");
        assert_eq!(e["gpc"], true, "the Sec-GPC header is recorded");
        assert_eq!(e["policy_version"], version);
        assert_eq!(e["ip_prefix"], "127.0.0.0/24");
        assert_eq!(e["user_agent"], "Banner test");
        assert_eq!(e["wording_hash"].as_str().unwrap().len(), 64);
    }
    // The same browser (its cookie) changes its mind: the same visitor id, a new event.
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();
    let mut withdraw = choice.clone();
    withdraw["choices"]["statistics"] = json!(false);
    let r = app
        .banner_choice(&withdraw)
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap();
    let again: Value = r.json().await.unwrap();
    assert_eq!(
        format!("visitor:{}", again["visitor"].as_str().unwrap()),
        visitor
    );
    let check = app.check(&visitor, "improvement").await;
    assert_eq!(check["reason"], "refused", "{check}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn stale_forged_and_foreign_choices_are_refused() {
    let app = spawn_app().await;
    let (version, rev) = app.banner_version().await;
    let choices = json!({ "functional": true, "statistics": true, "marketing": true });
    let stale = json!({ "version": version, "rev": "000000000000", "choices": choices });
    assert_eq!(
        app.banner_choice(&stale).send().await.unwrap().status(),
        409
    );
    let mut forged = json!({ "version": version, "rev": rev, "choices": choices });
    forged["choices"]["necessary"] = json!(false);
    assert_eq!(
        app.banner_choice(&forged).send().await.unwrap().status(),
        422,
        "necessary is not a choice"
    );
    let missing = json!({ "version": version, "rev": rev, "choices": { "statistics": true } });
    assert_eq!(
        app.banner_choice(&missing).send().await.unwrap().status(),
        422
    );
    let ok = json!({ "version": version, "rev": rev, "choices": choices });
    let foreign = app
        .banner_choice(&ok)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let oversized = json!({ "version": version, "rev": rev, "choices": choices, "url": format!("https://x/{}", "a".repeat(3000)) });
    assert_eq!(
        app.banner_choice(&oversized).send().await.unwrap().status(),
        422
    );
    let huge = app
        .client
        .post(format!("{}/c/consent", app.address))
        .header("content-type", "application/json")
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(app.consent_event_count().await, 0, "nothing was written");
    // From the configured site, with CORS headers for credentials.
    let from_site = app
        .banner_choice(&ok)
        .header("origin", SITE_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(from_site.status(), 200);
    assert_eq!(
        from_site.headers()["access-control-allow-origin"],
        SITE_ORIGIN
    );
    assert_eq!(
        from_site.headers()["access-control-allow-credentials"],
        "true"
    );
    let _ = TEST_TOKEN;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn preflight_allows_exactly_the_configured_sites() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/c/consent", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(SITE_ORIGIN).await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], SITE_ORIGIN);
    assert_eq!(ok.headers()["access-control-allow-methods"], "POST");
    let no = preflight("https://evil.example").await.unwrap();
    assert_eq!(no.status(), 403);
    assert!(no.headers().get("access-control-allow-origin").is_none());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn gpc_is_declared_and_the_sample_page_is_served() {
    let app = spawn_app().await;
    let gpc: Value = app.get("/.well-known/gpc.json").await.json().await.unwrap();
    assert_eq!(gpc["gpc"], true);
    let demo = app.get("/c/demo").await;
    assert_eq!(demo.status(), 200);
    let html = demo.text().await.unwrap();
    assert!(
        html.contains("/c/banner.js")
            && html.contains(r#"data-category="statistics""#)
            && html.contains(r#"data-category="marketing""#)
    );
    assert_eq!(
        app.get("/c/demo/pixel.gif").await.headers()["content-type"],
        "image/gif"
    );
    app.stop().await.unwrap();
}
