use reqwest::Method;

use crate::helpers::{assert_problem, assert_security_headers, spawn_app};

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page?email=someone@example.com").await;
    assert_security_headers(&response);
    let body = assert_problem(response, 404).await;
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["title"], "Not Found");
    assert!(!body.to_string().contains("someone@example.com"));
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_that_names_the_allowed_ones() {
    let app = spawn_app().await;
    let response = app.request(Method::DELETE, "/api/v1/policy").await;
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let body = assert_problem(response, 405).await;
    assert_eq!(body["title"], "Method Not Allowed");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/api/v1/policy", app.address))
        .body(vec![b'x'; ombud_server::BODY_LIMIT + 1])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;
}
