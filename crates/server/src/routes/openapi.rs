//! The OpenAPI document, served at `/openapi.json` and committed as `schema/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;

/// The OpenAPI 3.1 document of the public routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    super::api_router().into_openapi()
}

/// The document as pretty JSON with a trailing newline: the exact bytes of
/// `schema/openapi.json`, so the served and the committed document can be compared as text.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serialising a document built from our own types can't fail; an empty object would
        // show up at once in the drift test.
        let mut json = openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_owned());
        json.push('\n');
        json
    })
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = OK, description = "The OpenAPI document", body = Object,
        content_type = "application/json")),
)]
pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}
