//! The router driven without a socket, through `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ombud_server::{AppState, app};
use tower::ServiceExt;

use crate::helpers::{load_policy, test_settings};

async fn in_process_app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let store = settings.open_store().await.unwrap();
    let policy = load_policy(ombud_policy::example::impero());
    let state = AppState::prepare(&settings, store, &policy).await.unwrap();
    (app(state), dir)
}

#[tokio::test]
async fn the_router_answers_in_process() {
    let (router, _dir) = in_process_app().await;
    let response = router
        .oneshot(Request::get("/api/v1/policy").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["controller"], "Impero A/S");
}

#[tokio::test]
async fn head_requests_get_headers_and_no_body() {
    let (router, _dir) = in_process_app().await;
    let response = router
        .oneshot(Request::head("/privacy").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(bytes.is_empty());
}
