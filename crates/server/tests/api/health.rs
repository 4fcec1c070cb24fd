use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn healthz_is_ok() {
    let app = spawn_app().await;
    let response = app.get_healthz().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ok_while_the_store_answers() {
    let app = spawn_app().await;
    let response = app.get_readyz().await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_503_once_the_store_is_closed_while_healthz_stays_ok() {
    let app = spawn_app().await;
    app.store.close().await;

    let body = assert_problem(app.get_readyz().await, 503).await;
    assert_eq!(body["title"], "Service Unavailable");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.to_lowercase().contains("pool"),
        "no internals: {detail}"
    );

    // Liveness doesn't depend on the database: restarting the process wouldn't help.
    assert_eq!(app.get_healthz().await.unwrap().status(), 200);
}
