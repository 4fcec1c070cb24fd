//! The public routes, and the OpenAPI document generated from them.
//!
//! Each handler carries its `#[utoipa::path]` and is registered with `routes!`, which adds
//! the axum route and the OpenAPI operation in one step: a route can't be served without being
//! documented, nor documented without being served.

mod health;
mod notice;
mod openapi;
mod policy;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use openapi::{openapi, openapi_json};
pub use policy::{PolicyInForceBody, PolicyVersionItem, PolicyVersionList};

use crate::error::Problem;
use crate::state::AppState;

/// Top-level facts of the OpenAPI document. Paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ombud",
        description = "Privacy operations server: privacy notice, policy versions, and (to come) \
            consent ledger, rights requests and preferences.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "health", description = "Liveness and readiness probes"),
        (name = "notice", description = "The privacy notice, generated from the policy"),
        (name = "policy", description = "Policy versions"),
        (name = "meta", description = "This API's own description"),
    ),
    components(schemas(Problem)),
)]
struct ApiDoc;

/// All public routes, with their OpenAPI operations.
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(notice::privacy_html))
        .routes(routes!(notice::privacy_markdown))
        .routes(routes!(policy::current))
        .routes(routes!(policy::versions))
        .routes(routes!(openapi::document))
}
