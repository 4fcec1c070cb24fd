use crate::helpers::spawn_app;

/// The client keeps its connection open after the first answer (keep-alive), so this also
/// shows that an idle connection doesn't hold up a graceful stop.
#[tokio::test]
async fn shutdown_stops_the_server_and_start_returns_ok() {
    let app = spawn_app().await;
    assert_eq!(app.get_healthz().await.unwrap().status(), 200);
    let client = app.client.clone();
    let address = app.address.clone();
    let metrics_address = app.metrics_address.clone();

    app.stop().await.expect("a graceful stop is Ok");

    let after = client.get(format!("{address}/healthz")).send().await;
    assert!(after.is_err(), "the public listener is closed: {after:?}");
    let after = client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await;
    assert!(after.is_err(), "the metrics listener is closed: {after:?}");
}
