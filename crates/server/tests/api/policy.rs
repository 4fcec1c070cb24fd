use ombud_server::{PolicyInForceBody, PolicyVersionList};

use crate::helpers::{changed_example_policy, spawn_app, spawn_app_at};

#[tokio::test]
async fn policy_in_force_is_the_version_the_store_has() {
    let app = spawn_app().await;
    let response = app.get_policy().await;
    assert_eq!(response.status(), 200);
    let body: PolicyInForceBody = response.json().await.unwrap();

    let stored = app
        .store
        .current_policy()
        .await
        .unwrap()
        .expect("a version");
    assert_eq!(body.version, stored.id);
    assert_eq!(body.hash, stored.hash);
    assert_eq!(body.hash, app.policy.source.hash());
    assert_eq!(body.label, stored.label);
    assert_eq!(body.label, "Impero A/S — notice of 2020-01-15");
    assert_eq!(body.activated_at, stored.activated_at.to_string());
    assert!(body.activated_at.parse::<jiff::Timestamp>().is_ok());
    assert_eq!(body.controller, "Impero A/S");
    assert_eq!(body.last_updated, "2020-01-15");
    assert_eq!(stored.content, app.policy.source.bundle());
}

#[tokio::test]
async fn restarting_keeps_the_version_and_a_changed_policy_makes_a_new_one() {
    let first = spawn_app().await;
    let v1: PolicyInForceBody = first.get_policy().await.json().await.unwrap();
    let dir = first.dir.clone();
    first.stop().await.unwrap();

    let same = spawn_app_at(dir.clone(), ombud_policy::example::impero()).await;
    let v1_again: PolicyInForceBody = same.get_policy().await.json().await.unwrap();
    assert_eq!(v1_again.version, v1.version, "same policy, same version");
    assert_eq!(v1_again.activated_at, v1.activated_at);
    same.stop().await.unwrap();

    let changed = spawn_app_at(dir, changed_example_policy()).await;
    let v2: PolicyInForceBody = changed.get_policy().await.json().await.unwrap();
    assert!(
        v2.version > v1.version,
        "a new version: {v2:?} after {v1:?}"
    );
    assert_ne!(v2.hash, v1.hash);

    let response = changed.get_policy_versions().await;
    assert_eq!(response.status(), 200);
    let list: PolicyVersionList = response.json().await.unwrap();
    let ids: Vec<i64> = list.versions.iter().map(|v| v.id).collect();
    assert_eq!(ids, vec![v2.version, v1.version], "newest first");
    assert_eq!(list.versions[1].hash, v1.hash);
    assert_eq!(list.versions[1].label, v1.label);
}
