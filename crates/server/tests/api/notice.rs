use ombud_policy::render::{NoticeFormat, notice};

use crate::helpers::{assert_security_headers, spawn_app};

#[tokio::test]
async fn privacy_is_the_rendered_html_notice_with_security_headers() {
    let app = spawn_app().await;
    let response = app.get_privacy().await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.headers()["content-language"], "en");
    assert_security_headers(&response);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");

    let body = response.text().await.unwrap();
    assert_eq!(body, notice(&app.policy.policy, NoticeFormat::Html));
}

#[tokio::test]
async fn privacy_md_is_the_rendered_markdown_notice() {
    let app = spawn_app().await;
    let response = app.get_privacy_markdown().await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    assert_security_headers(&response);
    let body = response.text().await.unwrap();
    assert_eq!(body, notice(&app.policy.policy, NoticeFormat::Markdown));
}

#[tokio::test]
async fn json_responses_get_the_strict_default_policy() {
    let app = spawn_app().await;
    let response = app.get_policy().await;
    assert_security_headers(&response);
    assert_eq!(
        response.headers()["content-security-policy"],
        ombud_server::DEFAULT_CSP
    );
}
