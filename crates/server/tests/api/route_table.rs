//! Every operation of the OpenAPI document the router produces, checked against its declared
//! security: a protected operation refuses a call without a token (401) and a token without its
//! scope (403), and lets a token with only that scope through. An operation without security
//! must be named in [`PUBLIC`], so a new route can't be left open by mistake.

use std::collections::BTreeSet;

use ombud_domain::policy::Keyword as _;
use ombud_domain::staff::{Scope, Scopes};
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// The operations anyone may call, without a token.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/.well-known/gpc.json"),
    ("GET", "/api/v1/policy"),
    ("GET", "/api/v1/policy/versions"),
    ("GET", "/c/banner.js"),
    ("POST", "/c/consent"),
    ("OPTIONS", "/c/consent"),
    ("GET", "/c/demo"),
    ("GET", "/c/demo/pixel.gif"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/privacy"),
    ("GET", "/privacy-centre"),
    ("GET", "/privacy-centre/packages/{token}"),
    ("POST", "/privacy-centre/requests"),
    ("GET", "/privacy-centre/status/{reference}"),
    ("GET", "/privacy-centre/verify/{reference}"),
    ("POST", "/privacy-centre/verify/{reference}"),
    ("POST", "/privacy-centre/verify/{reference}/resend"),
    ("GET", "/privacy.md"),
    ("GET", "/readyz"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the document, with the scope it declares (None: no security).
struct Operation {
    method: Method,
    path: String,
    scope: Option<Scope>,
}

fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(ombud_server::openapi()).expect("the document as JSON");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            let Some(op) = item.get(*m) else { continue };
            out.push(Operation {
                method: Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(),
                path: path.clone(),
                scope: declared_scope(&format!("{m} {path}"), op),
            });
        }
    }
    out
}

/// The one bearer scope an operation declares. Anything else (another scheme, no scope,
/// several) fails: the extractor checks exactly one scope.
fn declared_scope(name: &str, op: &Value) -> Option<Scope> {
    let requirements = op.get("security")?.as_array().expect("security is a list");
    assert_eq!(requirements.len(), 1, "{name}: one security requirement");
    let req = requirements[0].as_object().unwrap();
    let scopes = req
        .get("bearer")
        .unwrap_or_else(|| panic!("{name}: the bearer scheme"))
        .as_array()
        .unwrap();
    assert_eq!(
        scopes.len(),
        1,
        "{name}: exactly one scope, e.g. [\"read\"]"
    );
    let key = scopes[0].as_str().unwrap();
    Some(Scope::parse(key).unwrap_or_else(|| panic!("{name}: `{key}` is not a scope")))
}

/// A request to `op` with harmless values: path parameters that name nothing, an empty JSON
/// object as the body of a POST.
fn request(app: &TestApp, op: &Operation, token: Option<&str>) -> reqwest::RequestBuilder {
    let mut path = String::new();
    let mut rest = op.path.as_str();
    while let Some((before, after)) = rest.split_once('{') {
        path.push_str(before);
        path.push_str("R-NO-SUCH-THING");
        rest = after.split_once('}').map_or("", |(_, r)| r);
    }
    path.push_str(rest);
    let mut r = app
        .client
        .request(op.method.clone(), format!("{}{path}", app.address));
    if op.method == Method::POST {
        r = r.json(&serde_json::json!({}));
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r
}

async fn issue(app: &TestApp, name: &str, scopes: Vec<Scope>) -> String {
    let scopes = Scopes::new(scopes).unwrap();
    let (_, secret) = ombud_server::staff::tokens::issue(&app.store, name, &scopes, "test")
        .await
        .unwrap();
    secret.expose_secret().to_owned()
}

#[tokio::test]
async fn every_operation_is_public_by_name_or_needs_its_scope() {
    let app = spawn_app().await;
    let ops = operations();
    assert!(ops.len() >= PUBLIC.len(), "the document has operations");

    // Unsecured operations are exactly the PUBLIC ones.
    let unsecured: BTreeSet<(String, String)> = ops
        .iter()
        .filter(|o| o.scope.is_none())
        .map(|o| (o.method.to_string(), o.path.clone()))
        .collect();
    let public: BTreeSet<(String, String)> = PUBLIC
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unlisted: Vec<_> = unsecured.difference(&public).collect();
    assert!(
        unlisted.is_empty(),
        "operations without security that PUBLIC does not name (declare \
         security((\"bearer\" = [\"<scope>\"])) and take an ApiCaller, or add them to PUBLIC): \
         {unlisted:?}"
    );
    let stale: Vec<_> = public.difference(&unsecured).collect();
    assert!(
        stale.is_empty(),
        "PUBLIC names operations that are gone or secured: {stale:?}"
    );

    // Per scope: a token with only it, and one with every other scope.
    let mut only = Vec::new();
    let mut all_but = Vec::new();
    for &s in Scope::all() {
        only.push((s, issue(&app, &format!("only {s}"), vec![s]).await));
        let others: Vec<Scope> = Scope::all().iter().copied().filter(|o| *o != s).collect();
        all_but.push((s, issue(&app, &format!("all but {s}"), others).await));
    }
    let token_for = |list: &[(Scope, String)], s: Scope| {
        list.iter()
            .find(|(k, _)| *k == s)
            .map(|(_, t)| t.clone())
            .unwrap()
    };

    let mut checked = 0;
    for op in &ops {
        let name = format!("{} {}", op.method, op.path);
        let Some(scope) = op.scope else {
            // A public operation answers without a token.
            let r = request(&app, op, None).send().await.unwrap();
            assert_ne!(r.status(), 401, "{name} is public");
            continue;
        };

        let none = request(&app, op, None).send().await.unwrap();
        assert_eq!(none.headers()["www-authenticate"], "Bearer", "{name}");
        assert_problem(none, 401).await;

        let wrong = request(&app, op, Some(&token_for(&all_but, scope)))
            .send()
            .await
            .unwrap();
        let body = assert_problem(wrong, 403).await;
        assert_eq!(
            body["detail"],
            format!("This token lacks the scope {}.", scope.key()),
            "{name}"
        );

        let right = request(&app, op, Some(&token_for(&only, scope)))
            .send()
            .await
            .unwrap();
        let status = right.status().as_u16();
        assert!(
            status != 401 && status != 403 && status < 500,
            "{name} with a token that has only {scope}: {status}"
        );
        checked += 1;
    }
    assert!(
        checked >= 11,
        "the protected operations were checked: {checked}"
    );
    app.stop().await.unwrap();
}
