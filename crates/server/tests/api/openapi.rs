//! The committed `schema/openapi.json` must be what the code generates.
//!
//! To update it after changing a route: `OMBUD_UPDATE_GENERATED=1 cargo test -p ombud-server`.

use std::path::PathBuf;

use crate::helpers::spawn_app;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/openapi.json")
}

#[test]
fn committed_openapi_json_is_up_to_date() {
    let generated = ombud_server::openapi_json();
    let path = committed_path();
    if std::env::var_os("OMBUD_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the routes. Regenerate it with\n\n    \
         OMBUD_UPDATE_GENERATED=1 cargo test -p ombud-server\n\nand commit the result.",
        path.display()
    );
}

#[test]
fn openapi_documents_every_public_route() {
    let doc: serde_json::Value = serde_json::from_str(ombud_server::openapi_json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort_unstable();
    assert_eq!(
        documented,
        [
            "/.well-known/gpc.json",
            "/api/v1/consent/check",
            "/api/v1/consent/events",
            "/api/v1/consent/history",
            "/api/v1/consent/links",
            "/api/v1/consent/proof",
            "/api/v1/consent/state",
            "/api/v1/policy",
            "/api/v1/policy/versions",
            "/api/v1/requests",
            "/api/v1/requests/{reference}",
            "/api/v1/requests/{reference}/actions",
            "/api/v1/requests/{reference}/code",
            "/c/banner.js",
            "/c/consent",
            "/c/demo",
            "/c/demo/pixel.gif",
            "/healthz",
            "/openapi.json",
            "/privacy",
            "/privacy-centre",
            "/privacy-centre/packages/{token}",
            "/privacy-centre/requests",
            "/privacy-centre/status/{reference}",
            "/privacy-centre/verify/{reference}",
            "/privacy-centre/verify/{reference}/resend",
            "/privacy.md",
            "/readyz",
        ]
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn openapi_json_is_served() {
    let app = spawn_app().await;
    let response = app.get_openapi().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), ombud_server::openapi_json());
}
