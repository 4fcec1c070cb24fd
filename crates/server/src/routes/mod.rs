//! The public routes, and the OpenAPI document generated from them.
//!
//! Each handler carries its `#[utoipa::path]` and is registered with `routes!`, which adds
//! the axum route and the OpenAPI operation in one step: a route can't be served without being
//! documented, nor documented without being served.

mod banner;
pub mod consent;
mod health;
mod notice;
mod openapi;
mod policy;
pub(crate) mod requests;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use consent::{ConsentProof, build_proof, proof_csv};
pub use openapi::{openapi, openapi_json};
pub use policy::{PolicyInForceBody, PolicyVersionItem, PolicyVersionList};

use crate::error::Problem;
use crate::state::AppState;

/// Top-level facts of the OpenAPI document. Paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ombud",
        description = "Privacy operations server: privacy notice, policy versions, the consent \
            ledger and the cookie banner (rights requests and preferences to come).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "health", description = "Liveness and readiness probes"),
        (name = "notice", description = "The privacy notice, generated from the policy"),
        (name = "policy", description = "Policy versions"),
        (name = "meta", description = "This API's own description"),
        (name = "consent", description = "The consent ledger, the cookie banner and consent checks"),
        (name = "requests", description = "Rights requests: the privacy centre and the staff API"),
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

/// Declares the bearer-token scheme the protected routes refer to. Each protected operation
/// lists the scope it needs as the scheme's one "scope" (`security(("bearer" = ["read"]))`),
/// and its handler takes the matching `ApiCaller<scope::…>`; the route-table test checks both.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token made with `ombud tokens add NAME --scope SCOPE`; each \
                         operation names the one scope it needs (read, consent:write, \
                         requests:write). The api_token from ombud's configuration, if set, \
                         is the bootstrap token and has every scope.",
                    ))
                    .build(),
            ),
        );
    }
}

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
        .routes(routes!(banner::script))
        .routes(routes!(banner::record_choice, banner::preflight))
        .routes(routes!(banner::gpc))
        .routes(routes!(banner::demo))
        .routes(routes!(banner::pixel))
        .routes(routes!(consent::record))
        .routes(routes!(consent::current_state))
        .routes(routes!(consent::history))
        .routes(routes!(consent::check))
        .routes(routes!(consent::link))
        .routes(routes!(consent::proof))
        .routes(routes!(crate::centre::form))
        .routes(routes!(crate::centre::submit))
        .routes(routes!(crate::centre::verify_page, crate::centre::verify))
        .routes(routes!(crate::centre::resend))
        .routes(routes!(crate::centre::status))
        .routes(routes!(crate::centre::download))
        .routes(routes!(requests::create, requests::list))
        .routes(routes!(requests::show))
        .routes(routes!(requests::act))
        .routes(routes!(requests::send_code))
}
