use crate::helpers::{assert_problem, spawn_app};

/// The value of the `http_requests_total` series with these labels, if rendered.
fn requests_total(text: &str, route: &str, status: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter(|l| {
            l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
                && l.contains("method=\"GET\"")
        })
        .find_map(|l| l.rsplit_once(' ')?.1.parse().ok())
}

#[tokio::test]
async fn metrics_listener_counts_requests_by_route_method_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_eq!(app.get_privacy().await.status(), 200);
    }
    assert_eq!(app.get("/nowhere/42").await.status(), 404);

    let response = app.get_metrics().await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    // The recorder is shared by every server in this test process, hence "at least".
    let privacy = requests_total(&text, "/privacy", "200").expect("a /privacy counter");
    assert!(privacy >= 3.0, "{privacy}\n{text}");
    let unmatched = requests_total(&text, "unmatched", "404").expect("an unmatched counter");
    assert!(unmatched >= 1.0);
    assert!(
        !text.contains("/nowhere/42"),
        "raw paths never become labels"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = spawn_app().await;
    assert_problem(app.get("/metrics").await, 404).await;

    // And the metrics listener serves nothing but /metrics.
    let response = app
        .client
        .get(format!("{}/privacy", app.metrics_address))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404).await;
}
