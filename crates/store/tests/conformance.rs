//! The store conformance suite: every test is written once against [`Store`] and runs on both
//! backends, SQLite (a temporary file) and PostgreSQL (a temporary database).
//!
//! PostgreSQL is required: if it can't be reached the PostgreSQL half fails with a message
//! saying so, rather than passing by skipping. Set `OMBUD_TEST_POSTGRES_URL` to an admin URL
//! (default `postgres://postgres@127.0.0.1:5432/test`).

mod support;

use std::collections::BTreeSet;

use ombud_domain::audit::entry_hash;
use ombud_store::{
    AuditRecord, BreakKind, ChainBreak, NewAuditEntry, NewPolicyVersion, Store, StoreError,
};
use support::{TestDb, conformance};

conformance!(
    connects_twice_and_migrations_are_idempotent,
    activating_a_policy_stores_a_version_and_an_audit_entry,
    activating_the_same_policy_again_changes_nothing,
    policy_versions_are_listed_newest_first_and_found_by_id,
    invalid_input_is_refused_and_changes_nothing,
    empty_audit_log_verifies,
    audit_entries_are_stored_exactly,
    audit_chain_verifies_across_pages,
    concurrent_appends_from_two_nodes_form_one_chain,
    the_database_refuses_to_edit_the_audit_log,
    edited_entry_is_detected,
    deleted_middle_entry_is_detected,
    swapped_seq_values_are_detected,
    deleted_newest_entry_is_detected,
    consent_events_are_stored_in_order_with_their_evidence,
    the_newest_event_sets_the_state,
    a_batch_with_the_same_target_twice_keeps_the_last,
    linked_subjects_answer_for_one_person,
    consent_events_need_a_known_policy_version,
    the_database_refuses_to_edit_the_ledger,
    the_batching_writer_acknowledges_only_what_it_stored,
    requests_are_stored_and_read_back_exactly,
    a_taken_reference_conflicts_and_writes_nothing,
    invalid_requests_are_refused_and_write_nothing,
    requests_are_listed_by_filter_in_id_order,
    consent_rates_count_choices_per_target_since_a_time,
    a_state_change_is_one_step_on_the_timeline_and_in_the_audit_log,
    a_stale_change_conflicts_and_writes_nothing,
    concurrent_changes_from_one_state_let_exactly_one_through,
    closed_states_set_closed_at,
    field_updates_are_kept_and_the_timeline_is_in_order,
    the_database_refuses_to_edit_the_timeline,
    identity_codes_count_sends_and_wrong_tries,
    concurrent_wrong_tries_are_all_counted,
    letters_are_queued_with_their_request_or_not_at_all,
    leased_mail_goes_to_one_worker_only,
    a_lease_hides_a_letter_until_it_expires,
    failed_letters_are_retried_or_given_up,
    reminders_are_recorded_once,
    the_request_workflow_leaves_an_intact_audit_chain_without_personal_data,
    jobs_are_created_once_per_request_and_kind,
    a_job_is_leased_checkpointed_and_finished,
    one_job_is_leased_by_id_and_the_others_are_left_alone,
    only_the_lease_owner_may_write_a_job,
    an_expired_lease_is_taken_over_and_the_first_owner_is_refused,
    concurrent_workers_lease_each_job_once,
    failed_jobs_are_retried_later_or_given_up,
    manual_tasks_are_idempotent_and_completed_once,
    export_packages_are_found_by_token_and_expire,
    restrictions_are_idempotent_and_can_be_lifted_and_renewed,
    restrictions_answer_the_same_after_a_reopen,
);

fn hex_hash(digit: char) -> String {
    digit.to_string().repeat(64)
}

fn policy<'a>(hash: &'a str, content: &'a str, label: &'a str) -> NewPolicyVersion<'a> {
    NewPolicyVersion {
        hash,
        content,
        label,
        actor: "system",
    }
}

fn entry(details: &str) -> NewAuditEntry<'_> {
    NewAuditEntry {
        actor: "user:1",
        action: "test.step",
        subject: "test:1",
        details,
    }
}

/// Appends `n` entries with details `{"n":1}` … `{"n":n}`, in transactions of up to 250.
async fn append_numbered(store: &Store, n: usize) {
    let details: Vec<String> = (1..=n).map(|i| format!("{{\"n\":{i}}}")).collect();
    for chunk in details.chunks(250) {
        let entries: Vec<NewAuditEntry<'_>> = chunk.iter().map(|d| entry(d)).collect();
        store
            .append_audit_many(&entries)
            .await
            .expect("appending audit entries");
    }
}

/// Verifies the chain and returns the first break, asserting how many entries checked out.
async fn first_break(store: &Store, expect_checked: u64) -> ChainBreak {
    let report = store
        .verify_audit()
        .await
        .expect("running the verification");
    assert_eq!(report.checked, expect_checked, "{report:?}");
    report.result.expect_err("the chain should be broken")
}

async fn all_audit(store: &Store) -> Vec<AuditRecord> {
    store.audit_page(0, 10_000).await.expect("reading the log")
}

async fn connects_twice_and_migrations_are_idempotent(db: TestDb) {
    assert_eq!(db.store.backend(), db.expected_backend());
    db.store.ping().await.expect("ping");
    let v = db
        .store
        .activate_policy(policy(&hex_hash('a'), "policy: a", "Acme 2024-01-01"))
        .await
        .expect("activating");

    // A second connection runs the migrations again and sees the same data.
    let second = db.reconnect().await;
    assert_eq!(second.backend(), db.expected_backend());
    second.ping().await.expect("ping on the second store");
    assert_eq!(second.current_policy().await.expect("current"), Some(v));
    assert!(second.verify_audit().await.expect("verify").is_intact());
    second.close().await;

    let third = db.reconnect().await;
    assert_eq!(third.policy_versions().await.expect("list").len(), 1);
    third.close().await;
}

async fn activating_a_policy_stores_a_version_and_an_audit_entry(db: TestDb) {
    let store = &db.store;
    assert_eq!(store.current_policy().await.expect("current"), None);
    assert!(store.policy_versions().await.expect("list").is_empty());

    let before = jiff::Timestamp::now();
    let v = store
        .activate_policy(NewPolicyVersion {
            hash: &hex_hash('a'),
            content: "controller: Acme ApS\n",
            label: "Acme ApS, notice of 2024-05-01",
            actor: "user:7",
        })
        .await
        .expect("activating");
    let after = jiff::Timestamp::now();
    assert_eq!(v.hash, hex_hash('a'));
    assert_eq!(v.content, "controller: Acme ApS\n");
    assert_eq!(v.label, "Acme ApS, notice of 2024-05-01");
    assert!(before <= v.activated_at && v.activated_at <= after);
    assert_eq!(
        store.current_policy().await.expect("current"),
        Some(v.clone())
    );

    let log = all_audit(store).await;
    assert_eq!(log.len(), 1);
    let e = &log[0];
    assert_eq!(e.seq, 1);
    assert_eq!(e.actor, "user:7");
    assert_eq!(e.action, "policy.activated");
    assert_eq!(e.subject, format!("policy_version:{}", v.id));
    assert_eq!(e.at_us, v.activated_at.as_microsecond());
    let details: serde_json::Value = serde_json::from_str(&e.details).expect("details are JSON");
    assert_eq!(
        details,
        serde_json::json!({ "hash": hex_hash('a'), "label": "Acme ApS, notice of 2024-05-01" })
    );
    assert!(store.verify_audit().await.expect("verify").is_intact());
}

async fn activating_the_same_policy_again_changes_nothing(db: TestDb) {
    let store = &db.store;
    let a = hex_hash('a');
    let first = store
        .activate_policy(policy(&a, "v1", "first"))
        .await
        .expect("first activation");
    let again = store
        .activate_policy(policy(&a, "v1", "first"))
        .await
        .expect("second activation");
    assert_eq!(again, first);
    assert_eq!(store.policy_versions().await.expect("list").len(), 1);
    assert_eq!(all_audit(store).await.len(), 1);

    // A new hash is a new version, and so is going back to the old one: the history records
    // what was in force when.
    let b = store
        .activate_policy(policy(&hex_hash('b'), "v2", "second"))
        .await
        .expect("new policy");
    assert_ne!(b.id, first.id);
    let back = store
        .activate_policy(policy(&a, "v1", "first"))
        .await
        .expect("old policy again");
    assert_ne!(back.id, first.id);
    assert_ne!(back.id, b.id);
    assert_eq!(store.current_policy().await.expect("current"), Some(back));
    assert_eq!(store.policy_versions().await.expect("list").len(), 3);
    let report = store.verify_audit().await.expect("verify");
    assert_eq!((report.checked, report.is_intact()), (3, true));
}

async fn policy_versions_are_listed_newest_first_and_found_by_id(db: TestDb) {
    let store = &db.store;
    let mut activated = Vec::new();
    for (digit, label) in [('1', "one"), ('2', "two"), ('3', "three")] {
        let content = format!("policy {label}");
        activated.push(
            store
                .activate_policy(policy(&hex_hash(digit), &content, label))
                .await
                .expect("activating"),
        );
    }

    let listed = store.policy_versions().await.expect("list");
    let labels: Vec<&str> = listed.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["three", "two", "one"]);
    for (summary, full) in listed.iter().zip(activated.iter().rev()) {
        assert_eq!(summary.id, full.id);
        assert_eq!(summary.hash, full.hash);
        assert_eq!(summary.activated_at, full.activated_at);
    }

    for v in &activated {
        assert_eq!(
            store.policy_version(v.id).await.expect("get").as_ref(),
            Some(v)
        );
    }
    let unknown = activated.iter().map(|v| v.id).max().unwrap_or(0) + 1000;
    assert_eq!(store.policy_version(unknown).await.expect("get"), None);

    let subjects: Vec<String> = all_audit(store)
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    let expected: Vec<String> = activated
        .iter()
        .map(|v| format!("policy_version:{}", v.id))
        .collect();
    assert_eq!(subjects, expected);
}

async fn invalid_input_is_refused_and_changes_nothing(db: TestDb) {
    let store = &db.store;
    let (upper, good) = ("A".repeat(64), hex_hash('a'));
    let bad_policies = [
        policy("not-a-hash", "c", "l"),
        policy(&upper, "c", "l"),
        NewPolicyVersion {
            hash: &good,
            content: "nul \0 inside",
            label: "l",
            actor: "system",
        },
        NewPolicyVersion {
            hash: &good,
            content: "c",
            label: "l",
            actor: "",
        },
    ];
    for p in bad_policies {
        let err = store.activate_policy(p).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }

    let bad_entries = [
        entry("not json"),
        entry(""),
        NewAuditEntry {
            actor: "",
            ..entry("{}")
        },
        NewAuditEntry {
            subject: "a\0b",
            ..entry("{}")
        },
    ];
    for e in bad_entries {
        let err = store.append_audit(e).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    // One bad entry in a batch refuses the whole batch.
    let err = store
        .append_audit_many(&[entry("{}"), entry("{")])
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");

    assert_eq!(store.current_policy().await.expect("current"), None);
    assert!(all_audit(store).await.is_empty());
    assert!(store.verify_audit().await.expect("verify").is_intact());
}

async fn empty_audit_log_verifies(db: TestDb) {
    let report = db.store.verify_audit().await.expect("verify");
    assert_eq!(report.checked, 0);
    assert_eq!(report.head, None);
    assert_eq!(report.result, Ok(()));
    assert!(db.store.audit_page(0, 10).await.expect("page").is_empty());
    assert!(
        db.store
            .append_audit_many(&[])
            .await
            .expect("empty batch")
            .is_empty()
    );
}

async fn audit_entries_are_stored_exactly(db: TestDb) {
    let store = &db.store;
    // Odd but valid JSON spacing must survive byte for byte: the hash covers it.
    let details = "{ \"b\" : [ 1 ,2 ],\n\"a\":\"æøå ✓\" }";
    let first = store
        .append_audit(NewAuditEntry {
            actor: "user:42",
            action: "request.verified",
            subject: "request:01J0ZX",
            details,
        })
        .await
        .expect("append");
    let second = store.append_audit(entry("{}")).await.expect("append");

    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, [0; 32]);
    assert_eq!(
        first.hash,
        entry_hash(
            &[0; 32],
            1,
            first.at_us,
            "user:42",
            "request.verified",
            "request:01J0ZX",
            details
        )
    );
    assert_eq!(second.seq, 2);
    assert_eq!(second.prev_hash, first.hash);
    assert!(second.at_us >= first.at_us);

    let stored = all_audit(store).await;
    assert_eq!(stored, vec![first, second.clone()]);
    assert_eq!(store.audit_page(1, 10).await.expect("page"), vec![second]);
    assert!(store.audit_page(2, 10).await.expect("page").is_empty());

    let report = store.verify_audit().await.expect("verify");
    assert_eq!(report.head, Some((2, stored[1].hash)));
    assert!(report.is_intact());
}

async fn audit_chain_verifies_across_pages(db: TestDb) {
    let store = &db.store;
    append_numbered(store, 2500).await;

    let mut seen = 0;
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 1000).await.expect("page");
        let Some(last) = page.last() else { break };
        for (i, r) in page.iter().enumerate() {
            assert_eq!(r.seq, after + 1 + i as i64);
            assert_eq!(r.details, format!("{{\"n\":{}}}", r.seq));
        }
        after = last.seq;
        seen += page.len();
    }
    assert_eq!(seen, 2500);

    let report = store.verify_audit().await.expect("verify");
    assert_eq!(report.checked, 2500);
    assert_eq!(report.result, Ok(()));
    assert_eq!(report.head.map(|(seq, _)| seq), Some(2500));
}

async fn concurrent_appends_from_two_nodes_form_one_chain(db: TestDb) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 50;
    let nodes = [db.store.clone(), db.reconnect().await];
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = nodes[task % nodes.len()].clone();
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let subject = format!("task:{task}");
                let details = format!("{{\"i\":{i}}}");
                store
                    .append_audit(NewAuditEntry {
                        actor: "system",
                        action: "test.concurrent",
                        subject: &subject,
                        details: &details,
                    })
                    .await
                    .expect("concurrent append");
            }
        }));
    }
    for h in handles {
        h.await.expect("append task");
    }

    let log = all_audit(&db.store).await;
    let seqs: Vec<i64> = log.iter().map(|r| r.seq).collect();
    let expected: Vec<i64> = (1..=(TASKS * PER_TASK) as i64).collect();
    assert_eq!(seqs, expected);
    let distinct: BTreeSet<(&str, &str)> = log
        .iter()
        .map(|r| (r.subject.as_str(), r.details.as_str()))
        .collect();
    assert_eq!(distinct.len(), TASKS * PER_TASK);

    for node in &nodes {
        let report = node.verify_audit().await.expect("verify");
        assert_eq!(report.checked, (TASKS * PER_TASK) as u64);
        assert_eq!(report.result, Ok(()));
    }
    nodes[1].close().await;
}

async fn the_database_refuses_to_edit_the_audit_log(db: TestDb) {
    append_numbered(&db.store, 3).await;
    for sql in [
        "UPDATE audit_log SET details = '{}' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
    ] {
        let err = db
            .raw(sql)
            .await
            .expect_err("the append-only guard refuses");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    let report = db.store.verify_audit().await.expect("verify");
    assert_eq!((report.checked, report.result), (3, Ok(())));
}

async fn edited_entry_is_detected(db: TestDb) {
    append_numbered(&db.store, 10).await;
    db.tamper("UPDATE audit_log SET details = '{\"n\":0}' WHERE seq = 7")
        .await;
    let b = first_break(&db.store, 6).await;
    assert_eq!(
        b,
        ChainBreak {
            seq: 7,
            kind: BreakKind::ContentChanged
        }
    );
    assert_eq!(
        b.to_string(),
        "entry 7: content does not match its hash (edited?)"
    );
}

async fn deleted_middle_entry_is_detected(db: TestDb) {
    append_numbered(&db.store, 10).await;
    db.tamper("DELETE FROM audit_log WHERE seq = 5").await;
    let b = first_break(&db.store, 4).await;
    assert_eq!(
        b,
        ChainBreak {
            seq: 5,
            kind: BreakKind::Missing { found: 6 }
        }
    );
}

async fn swapped_seq_values_are_detected(db: TestDb) {
    append_numbered(&db.store, 10).await;
    db.tamper(
        "UPDATE audit_log SET seq = -1 WHERE seq = 3; \
         UPDATE audit_log SET seq = 3 WHERE seq = 8; \
         UPDATE audit_log SET seq = 8 WHERE seq = -1;",
    )
    .await;
    let b = first_break(&db.store, 2).await;
    assert_eq!(b.seq, 3, "{b}");
}

async fn deleted_newest_entry_is_detected(db: TestDb) {
    append_numbered(&db.store, 10).await;
    db.tamper("DELETE FROM audit_log WHERE seq = 10").await;
    let b = first_break(&db.store, 9).await;
    assert_eq!(
        b,
        ChainBreak {
            seq: 10,
            kind: BreakKind::HeadMismatch {
                head_seq: 10,
                last_seq: 9
            }
        }
    );
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in [
        "mysql://localhost/ombud",
        "sqlite::memory:",
        "sqlite://",
        "sqlite://ombud.db?mode=rwc",
        "",
    ] {
        let err = Store::connect(url).await.expect_err(url);
        assert!(matches!(err, StoreError::Invalid(_)), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn relative_sqlite_urls_open_a_file() {
    // A relative URL resolves against the working directory (this crate, under cargo). To avoid
    // writing into the source tree, reach a temporary folder by a relative path that climbs to
    // the root with `..` and descends again.
    let dir = tempfile::tempdir().expect("temporary folder");
    let cwd = std::env::current_dir().expect("working directory");
    let relative = pathdiff(dir.path(), &cwd).join("nested").join("rel.db");
    let url = format!("sqlite://{}", relative.display());
    let store = Store::connect(&url).await.expect("opening a relative path");
    store.append_audit(entry("{}")).await.expect("append");
    store.close().await;
    assert!(dir.path().join("nested").join("rel.db").exists());
}

/// `target` relative to `base`, using `..` for every component of `base` after the root.
fn pathdiff(target: &std::path::Path, base: &std::path::Path) -> std::path::PathBuf {
    let mut rel = std::path::PathBuf::new();
    for _ in base.components().skip(1) {
        rel.push("..");
    }
    rel.join(target.strip_prefix("/").expect("absolute temporary path"))
}

// ---------------------------------------------------------------------------------------------
// The consent ledger

mod consent_support {
    use jiff::Timestamp;
    use ombud_domain::consent::{Method, SubjectKey, Target};
    use ombud_store::{NewConsentEvent, Store};

    pub fn subject(s: &str) -> SubjectKey {
        SubjectKey::parse(s).unwrap()
    }

    pub fn visitor(n: u32) -> SubjectKey {
        SubjectKey::visitor(&format!("{n:032x}")).unwrap()
    }

    pub fn event(
        subject: &SubjectKey,
        target: &str,
        granted: bool,
        version: i64,
        at_s: i64,
    ) -> NewConsentEvent {
        NewConsentEvent {
            subject: subject.clone(),
            target: Target::parse(target).unwrap(),
            granted,
            method: Method::Banner,
            policy_version: version,
            wording_hash: Some("ab".repeat(32)),
            gpc: false,
            source: Some("https://www.example.com/".into()),
            recorded_by: None,
            user_agent: Some("Mozilla/5.0 (test)".into()),
            ip_prefix: Some("192.0.2.0/24".into()),
            at: Timestamp::from_second(at_s).unwrap(),
            expires_at: granted.then(|| Timestamp::from_second(at_s + 1000).unwrap()),
        }
    }

    /// Activates a policy and returns its version id.
    pub async fn version(store: &Store) -> i64 {
        let hash = "c".repeat(64);
        store
            .activate_policy(super::policy(&hash, "{}", "test"))
            .await
            .unwrap()
            .id
    }
}

use consent_support::*;

async fn consent_events_are_stored_in_order_with_their_evidence(db: TestDb) {
    let v = version(&db.store).await;
    let ann = subject("email:Ann@Example.com");
    let mut e = event(&ann, "purpose:marketing", true, v, 1_700_000_000);
    e.method = ombud_domain::consent::Method::Phone;
    e.recorded_by = Some("user:7".into());
    e.gpc = true;
    let events = vec![
        e.clone(),
        event(&ann, "cookies:statistics", false, v, 1_700_000_001),
    ];
    let stored = db.store.record_consent(&events).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].seq < stored[1].seq);
    let history = db
        .store
        .consent_history(std::slice::from_ref(&ann), 0, 100)
        .await
        .unwrap();
    assert_eq!(
        history, stored,
        "events read back exactly, evidence included"
    );
    assert_eq!(history[0].event.subject.as_str(), "email:ann@example.com");
    assert!(history[0].event.gpc && history[0].event.recorded_by.as_deref() == Some("user:7"));
    // Paging by seq.
    let page = db
        .store
        .consent_history(&[ann], stored[0].seq, 100)
        .await
        .unwrap();
    assert_eq!(page, stored[1..]);
}

async fn the_newest_event_sets_the_state(db: TestDb) {
    let v = version(&db.store).await;
    let ann = visitor(1);
    db.store
        .record_consent(&[event(&ann, "cookies:statistics", true, v, 100)])
        .await
        .unwrap();
    let withdrawal = db
        .store
        .record_consent(&[event(&ann, "cookies:statistics", false, v, 200)])
        .await
        .unwrap();
    let states = db
        .store
        .consent_states(std::slice::from_ref(&ann))
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert!(!states[0].granted, "a withdrawal is a new event that wins");
    assert_eq!(states[0].event_seq, withdrawal[0].seq);
    assert_eq!(states[0].since_us, 200_000_000);
    // Both events stay in the ledger.
    assert_eq!(
        db.store.consent_history(&[ann], 0, 10).await.unwrap().len(),
        2
    );
}

async fn a_batch_with_the_same_target_twice_keeps_the_last(db: TestDb) {
    let v = version(&db.store).await;
    let ann = visitor(2);
    let batch = [
        event(&ann, "cookies:marketing", true, v, 10),
        event(&ann, "cookies:marketing", false, v, 11),
        event(&ann, "cookies:statistics", true, v, 12),
    ];
    let stored = db.store.record_consent(&batch).await.unwrap();
    let states = db.store.consent_states(&[ann]).await.unwrap();
    let marketing = states
        .iter()
        .find(|s| s.target.to_string() == "cookies:marketing")
        .unwrap();
    assert!(!marketing.granted);
    assert_eq!(marketing.event_seq, stored[1].seq);
    assert_eq!(states.len(), 2);
}

async fn linked_subjects_answer_for_one_person(db: TestDb) {
    let v = version(&db.store).await;
    let (browser, ann, phone) = (
        visitor(3),
        subject("email:ann@example.com"),
        subject("phone:+4511223344"),
    );
    db.store
        .record_consent(&[event(&browser, "cookies:statistics", true, v, 1)])
        .await
        .unwrap();
    db.store
        .record_consent(&[event(&ann, "purpose:marketing", true, v, 2)])
        .await
        .unwrap();
    assert_eq!(
        db.store.consent_subjects(&ann).await.unwrap(),
        vec![ann.clone()]
    );
    db.store
        .link_subjects(&browser, &ann, "system")
        .await
        .unwrap();
    db.store
        .link_subjects(&phone, &ann, "user:1")
        .await
        .unwrap();
    let mut people = db.store.consent_subjects(&browser).await.unwrap();
    people.sort();
    let mut expected = vec![browser.clone(), ann.clone(), phone.clone()];
    expected.sort();
    assert_eq!(people, expected, "links are transitive");
    let states = db.store.consent_states(&people).await.unwrap();
    assert_eq!(states.len(), 2, "both histories answer for the person");
    assert!(db.store.link_subjects(&ann, &ann, "system").await.is_err());
    // The audit log records the links without the identities.
    let audit = all_audit(&db.store).await;
    let links: Vec<&AuditRecord> = audit
        .iter()
        .filter(|r| r.action == "consent.subjects_linked")
        .collect();
    assert_eq!(links.len(), 2);
    assert!(
        !links
            .iter()
            .any(|r| r.details.contains("ann@") || r.subject.contains("ann@"))
    );
    assert!(db.store.verify_audit().await.unwrap().is_intact());
}

async fn consent_events_need_a_known_policy_version(db: TestDb) {
    let v = version(&db.store).await;
    let ann = visitor(4);
    let bad = event(&ann, "cookies:statistics", true, v + 100, 1);
    assert!(
        db.store
            .record_consent(&[event(&ann, "cookies:statistics", true, v, 1), bad])
            .await
            .is_err()
    );
    assert!(
        db.store
            .consent_history(std::slice::from_ref(&ann), 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "all or nothing"
    );
    let mut staff = event(&ann, "purpose:marketing", true, v, 1);
    staff.method = ombud_domain::consent::Method::Phone;
    assert!(
        matches!(
            db.store.record_consent(&[staff]).await,
            Err(StoreError::Invalid(_))
        ),
        "phone consent names its recorder"
    );
    let mut nul = event(&ann, "purpose:marketing", true, v, 1);
    nul.source = Some("a\0b".into());
    assert!(matches!(
        db.store.record_consent(&[nul]).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn the_database_refuses_to_edit_the_ledger(db: TestDb) {
    let v = version(&db.store).await;
    db.store
        .record_consent(&[event(&visitor(5), "cookies:statistics", true, v, 1)])
        .await
        .unwrap();
    assert!(
        db.raw("UPDATE consent_event SET granted = NOT granted")
            .await
            .is_err()
    );
    assert!(db.raw("DELETE FROM consent_event").await.is_err());
    assert_eq!(
        db.store
            .consent_history(&[visitor(5)], 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn the_batching_writer_acknowledges_only_what_it_stored(db: TestDb) {
    let v = version(&db.store).await;
    let (writer, task) = ombud_store::ConsentWriter::spawn(db.store.clone(), 256);
    let mut handles = Vec::new();
    for i in 0..40u32 {
        let writer = writer.clone();
        handles.push(tokio::spawn(async move {
            let who = visitor(1000 + i);
            let events = (0..5)
                .map(|k| event(&who, "cookies:statistics", k % 2 == 0, v, i64::from(k)))
                .collect();
            writer.record(events).await
        }));
    }
    // One submission that must fail (unknown version) among the good ones.
    let bad = writer.record(vec![event(
        &visitor(9999),
        "cookies:statistics",
        true,
        v + 7,
        1,
    )]);
    assert!(bad.await.is_err());
    let mut acknowledged = 0;
    for h in handles {
        let stored = h.await.unwrap().unwrap();
        assert_eq!(stored.len(), 5);
        assert!(
            stored.windows(2).all(|w| w[0].seq < w[1].seq),
            "in submission order"
        );
        acknowledged += stored.len();
    }
    drop(writer);
    task.await.unwrap();
    let subjects: Vec<_> = (0..40).map(|i| visitor(1000 + i)).collect();
    let history = db.store.consent_history(&subjects, 0, 1000).await.unwrap();
    assert_eq!(
        history.len(),
        acknowledged,
        "every acknowledged event is in the ledger, nothing else"
    );
    let states = db.store.consent_states(&subjects).await.unwrap();
    assert!(
        states.iter().all(|s| s.granted),
        "the fifth (granted) event of each visitor wins"
    );
    assert!(
        db.store
            .consent_history(&[visitor(9999)], 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Rights requests and the mail outbox

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::date;
use ombud_domain::policy::Keyword as _;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_store::{Fields, NewRequest, QueuedMail, RequestFilter, RequestOrder, RequestRecord};
use support::requests::{
    LEGAL, PROMISED, RECEIVED, change, create_many, email, letter, new_request,
};

const HOUR: Duration = Duration::from_secs(3600);

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON text")
}

/// Every audit entry about requests.
async fn request_audit(store: &Store) -> Vec<AuditRecord> {
    all_audit(store)
        .await
        .into_iter()
        .filter(|r| r.action.starts_with("request."))
        .collect()
}

/// Asserts that no audit entry mentions `needle` (case-insensitive).
async fn audit_never_mentions(store: &Store, needle: &str) {
    let needle = needle.to_lowercase();
    for r in all_audit(store).await {
        let text = format!("{} {} {} {}", r.actor, r.action, r.subject, r.details).to_lowercase();
        assert!(
            !text.contains(&needle),
            "audit entry {} names {needle}",
            r.seq
        );
    }
}

/// Leases everything due (for an hour) and returns the ids.
async fn lease_all(store: &Store) -> Vec<i64> {
    store
        .lease_mail(1000, HOUR)
        .await
        .expect("leasing")
        .iter()
        .map(|m| m.id)
        .collect()
}

async fn requests_are_stored_and_read_back_exactly(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("Ann.Example@Example.COM");
    let details = r#"{ "corrections": "My name is Ann Æblegård", "purposes": ["marketing"] }"#;
    let before = Timestamp::now();
    let r = store
        .create_request(&NewRequest {
            kind: RequestType::Rectification,
            channel: Channel::Email,
            name: Some("Ann Æblegård"),
            lang: "da",
            details,
            actor: "user:3",
            note: Some("came by e-mail on Monday"),
            mail: vec![letter("ann.example@example.com", "acknowledgement")],
            ..new_request("R-7K2M-Q9XD", &ann, v)
        })
        .await
        .expect("creating");
    let after = Timestamp::now();

    assert_eq!(r.reference, "R-7K2M-Q9XD");
    assert_eq!(
        (r.kind, r.channel, r.state),
        (
            RequestType::Rectification,
            Channel::Email,
            RequestState::Received
        )
    );
    assert_eq!(r.email.as_str(), "ann.example@example.com", "lowercased");
    assert_eq!(r.name.as_deref(), Some("Ann Æblegård"));
    assert_eq!(r.lang, "da");
    assert_eq!(r.details, details, "details are kept byte for byte");
    assert_eq!(
        (r.received, r.promised_due, r.legal_due),
        (RECEIVED, PROMISED, LEGAL)
    );
    assert_eq!(
        (r.extended_due, r.extension_reason.as_deref()),
        (None, None)
    );
    assert_eq!(r.policy_version, v);
    assert_eq!(r.repeat_of, None);
    assert!(r.fee.is_none() && r.fee_reason.is_none() && r.forwarded_to.is_none());
    assert!(r.verified_by.is_none() && r.verified_how.is_none());
    assert!(before <= r.created_at && r.created_at <= after);
    assert_eq!(r.updated_at, r.created_at);
    assert_eq!(r.closed_at, None);

    assert_eq!(store.request(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        store.request_by_reference("R-7K2M-Q9XD").await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store.request_by_reference("R-7K2M-Q9XE").await.unwrap(),
        None
    );
    assert_eq!(store.request(r.id + 1000).await.unwrap(), None);

    // A repeat refers to the earlier request by its reference.
    let again = store
        .create_request(&NewRequest {
            repeat_of: Some("R-7K2M-Q9XD"),
            received: date(2026, 4, 2),
            ..new_request("R-7K2M-Q9XF", &ann, v)
        })
        .await
        .expect("creating a repeat");
    assert_eq!(again.repeat_of.as_deref(), Some("R-7K2M-Q9XD"));
    assert_eq!(again.received, date(2026, 4, 2));

    let timeline = store.request_timeline(r.id).await.unwrap();
    assert_eq!(timeline.len(), 1);
    let first = &timeline[0];
    assert_eq!(first.request_id, r.id);
    assert_eq!(
        (first.actor.as_str(), first.action.as_str()),
        ("user:3", "received")
    );
    assert_eq!(
        (first.from_state, first.to_state),
        (None, Some(RequestState::Received))
    );
    assert_eq!(first.note.as_deref(), Some("came by e-mail on Monday"));
    assert_eq!(first.at, r.created_at);
    assert!(
        store
            .request_timeline(r.id + 1000)
            .await
            .unwrap()
            .is_empty()
    );

    let audit = request_audit(store).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].action, "request.received");
    assert_eq!(audit[0].actor, "user:3");
    assert_eq!(audit[0].subject, "request:R-7K2M-Q9XD");
    assert_eq!(audit[0].at_us, r.created_at.as_microsecond());
    assert_eq!(
        json(&audit[0].details),
        serde_json::json!({ "reference": "R-7K2M-Q9XD", "kind": "rectification", "channel": "email" })
    );
    audit_never_mentions(store, "ann.example").await;

    let letters = store.mail_status(r.id).await.unwrap();
    assert_eq!(
        letters.len(),
        1,
        "the acknowledgement is queued with the request"
    );
    let m = &letters[0];
    assert_eq!(m.request_id, Some(r.id), "attached to the new request");
    assert_eq!(
        (m.to.as_str(), m.kind.as_str()),
        ("ann.example@example.com", "acknowledgement")
    );
    assert_eq!(m.subject, "Your request");
    assert_eq!(m.body, "Dear Ann,\r\n\r\nwe received your request.\r\n");
    assert_eq!(
        (m.attempts, m.sent_at, m.last_error.as_deref()),
        (0, None, None)
    );
    assert!(
        m.next_attempt.is_some_and(|t| t <= Timestamp::now()),
        "due at once"
    );
    assert!(store.mail_status(again.id).await.unwrap().is_empty());
    assert!(store.verify_audit().await.unwrap().is_intact());
}

async fn a_taken_reference_conflicts_and_writes_nothing(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let (ann, bob) = (email("ann@example.com"), email("bob@example.com"));
    let first = store
        .create_request(&NewRequest {
            mail: vec![letter("ann@example.com", "acknowledgement")],
            ..new_request("R-SAME", &ann, v)
        })
        .await
        .unwrap();
    let audit_before = all_audit(store).await.len();

    let err = store
        .create_request(&NewRequest {
            kind: RequestType::Erasure,
            mail: vec![letter("bob@example.com", "acknowledgement")],
            ..new_request("R-SAME", &bob, v)
        })
        .await
        .expect_err("the reference is taken");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");

    assert_eq!(
        store.request_by_reference("R-SAME").await.unwrap(),
        Some(first.clone()),
        "the first request is untouched"
    );
    let all = store
        .list_requests(&RequestFilter::default())
        .await
        .unwrap();
    assert_eq!(all, vec![first.clone()]);
    assert_eq!(store.request_timeline(first.id).await.unwrap().len(), 1);
    assert_eq!(all_audit(store).await.len(), audit_before);
    let queued = store.lease_mail(100, HOUR).await.unwrap();
    assert_eq!(queued.len(), 1, "the failed create queued no letter");
    assert_eq!(queued[0].to, "ann@example.com");
    assert!(store.verify_audit().await.unwrap().is_intact());
}

async fn invalid_requests_are_refused_and_write_nothing(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let audit_before = all_audit(store).await.len();
    let base = || new_request("R-BAD", &ann, v);
    let bad = [
        NewRequest {
            details: "[1, 2]",
            ..base()
        },
        NewRequest {
            details: "not json",
            ..base()
        },
        NewRequest {
            details: "",
            ..base()
        },
        NewRequest {
            reference: "",
            ..base()
        },
        NewRequest {
            reference: "R BAD",
            ..base()
        },
        NewRequest {
            actor: "",
            ..base()
        },
        NewRequest { lang: "", ..base() },
        NewRequest {
            name: Some("Ann\0"),
            ..base()
        },
        NewRequest {
            promised_due: date(2026, 3, 1),
            ..base()
        },
        NewRequest {
            legal_due: date(2026, 3, 29),
            ..base()
        },
        NewRequest {
            received: date(0, 1, 1),
            promised_due: date(0, 1, 2),
            legal_due: date(0, 2, 1),
            ..base()
        },
        NewRequest {
            mail: vec![letter("ann@example.com\r\nBcc: eve@example.com", "ack")],
            ..base()
        },
        // Rows that don't exist, found by the database inside the transaction.
        NewRequest {
            policy_version: v + 99,
            ..base()
        },
        NewRequest {
            repeat_of: Some("R-NONE"),
            ..base()
        },
        NewRequest {
            mail: vec![ombud_store::NewMail {
                request_id: Some(987_654),
                ..letter("ann@example.com", "ack")
            }],
            ..base()
        },
    ];
    for (i, r) in bad.iter().enumerate() {
        let err = store.create_request(r).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "case {i}: {err:?}");
        assert!(
            !err.to_string().contains("example.com"),
            "case {i}: errors carry no personal data"
        );
    }
    assert_eq!(store.request_by_reference("R-BAD").await.unwrap(), None);
    assert!(
        store
            .list_requests(&RequestFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(all_audit(store).await.len(), audit_before);
    assert!(lease_all(store).await.is_empty());
    // The rules hold for mail queued on its own too.
    assert!(matches!(
        store
            .enqueue_mail(&ombud_store::NewMail {
                request_id: Some(987_654),
                ..letter("a@example.com", "ack")
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .enqueue_mail(&ombud_store::NewMail {
                subject: "two\nlines",
                ..letter("a@example.com", "ack")
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(lease_all(store).await.is_empty());
}

async fn requests_are_listed_by_filter_in_id_order(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let (ann, bob) = (email("Ann@Example.com"), email("bob@example.com"));
    let mut all: Vec<RequestRecord> = Vec::new();
    for i in 0..12u8 {
        let reference = format!("R-LIST-{i:04}");
        let received = RECEIVED + jiff::Span::new().days(i64::from(i));
        let state = match i % 4 {
            3 => RequestState::Completed,
            2 => RequestState::InProgress,
            _ => RequestState::Received,
        };
        all.push(
            store
                .create_request(&NewRequest {
                    kind: if i % 2 == 0 {
                        RequestType::Access
                    } else {
                        RequestType::Erasure
                    },
                    channel: if i < 4 { Channel::Email } else { Channel::Web },
                    state,
                    received,
                    promised_due: received + jiff::Span::new().days(10),
                    legal_due: received + jiff::Span::new().days(30),
                    ..new_request(&reference, if i % 3 == 0 { &ann } else { &bob }, v)
                })
                .await
                .unwrap(),
        );
    }
    // Extend one request: the list compares the deadline in force.
    let extended = all[5].id;
    let extended_due = all[5].legal_due + jiff::Span::new().days(61);
    let r = store
        .change_request(
            extended,
            &ombud_store::Change {
                set: Fields {
                    extended_due: Some(extended_due),
                    extension_reason: Some("many systems to search"),
                    ..Fields::default()
                },
                ..change("extended", None, None, "{}")
            },
        )
        .await
        .unwrap();
    all[5] = r;

    let ids = |rs: &[RequestRecord]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    let expect = |pred: &dyn Fn(&RequestRecord) -> bool| {
        all.iter()
            .filter(|r| pred(r))
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let list = |f: RequestFilter| async move { store.list_requests(&f).await.unwrap() };

    let everything = list(RequestFilter::default()).await;
    assert_eq!(
        everything, all,
        "limit 0 means the default page; whole records come back"
    );
    assert!(
        ids(&everything).windows(2).all(|w| w[0] < w[1]),
        "by ascending id"
    );

    let cases: Vec<(RequestFilter, Vec<i64>)> = vec![
        (
            RequestFilter {
                state: Some(RequestState::Received),
                ..Default::default()
            },
            expect(&|r| r.state == RequestState::Received),
        ),
        (
            RequestFilter {
                open_only: true,
                ..Default::default()
            },
            expect(&|r| !r.state.is_closed()),
        ),
        (
            RequestFilter {
                open_only: true,
                kind: Some(RequestType::Erasure),
                ..Default::default()
            },
            expect(&|r| !r.state.is_closed() && r.kind == RequestType::Erasure),
        ),
        (
            RequestFilter {
                channel: Some(Channel::Email),
                ..Default::default()
            },
            expect(&|r| r.channel == Channel::Email),
        ),
        (
            // Inclusive: due on the day counts.
            RequestFilter {
                legal_due_before: Some(all[7].legal_due),
                ..Default::default()
            },
            expect(&|r| r.effective_legal_due() <= all[7].legal_due),
        ),
        (
            RequestFilter {
                promised_due_before: Some(all[3].promised_due),
                ..Default::default()
            },
            expect(&|r| r.promised_due <= all[3].promised_due),
        ),
        (
            RequestFilter {
                email: Some(email("ANN@example.COM")),
                ..Default::default()
            },
            expect(&|r| r.email.as_str() == "ann@example.com"),
        ),
        (
            RequestFilter {
                email: Some(email("bob@example.com")),
                open_only: true,
                channel: Some(Channel::Web),
                ..Default::default()
            },
            expect(&|r| {
                r.email.as_str() == "bob@example.com"
                    && !r.state.is_closed()
                    && r.channel == Channel::Web
            }),
        ),
        (
            RequestFilter {
                state: Some(RequestState::Verified),
                ..Default::default()
            },
            Vec::new(),
        ),
    ];
    for (i, (filter, expected)) in cases.into_iter().enumerate() {
        assert!(!expected.is_empty() || i == 8, "case {i} tests something");
        assert_eq!(
            ids(&list(filter.clone()).await),
            expected,
            "case {i}: {filter:?}"
        );
    }
    assert!(
        !ids(&list(RequestFilter {
            legal_due_before: Some(all[7].legal_due),
            ..Default::default()
        })
        .await)
        .contains(&extended),
        "an extended request is due at its extended date"
    );
    assert!(
        ids(&list(RequestFilter {
            legal_due_before: Some(extended_due),
            ..Default::default()
        })
        .await)
        .contains(&extended)
    );

    // Keyset paging: pages of 5 cover everything once, in order.
    let mut paged = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = list(RequestFilter {
            after_id: after,
            limit: 5,
            ..Default::default()
        })
        .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        pages += 1;
        after = page.last().map(|r| r.id);
        paged.extend(ids(&page));
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, ids(&all));
    // Paging combines with filters.
    let open = expect(&|r| !r.state.is_closed());
    let first = list(RequestFilter {
        open_only: true,
        limit: 2,
        ..Default::default()
    })
    .await;
    let rest = list(RequestFilter {
        open_only: true,
        after_id: Some(first[1].id),
        limit: 1000,
        ..Default::default()
    })
    .await;
    assert_eq!([ids(&first), ids(&rest)].concat(), open);
    // Larger pages are capped, not refused.
    assert_eq!(
        list(RequestFilter {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .len(),
        12
    );

    // The console's orders, a page of 5 at a time: due date then id, and newest first.
    let mut by_due = all.clone();
    by_due.sort_by_key(|r| (r.promised_due, r.id));
    let mut paged = Vec::new();
    let mut after: Option<&RequestRecord> = None;
    loop {
        let page = list(RequestFilter {
            order: RequestOrder::Due,
            after_id: after.map(|r| r.id),
            after_due: after.map(|r| r.promised_due),
            limit: 5,
            ..Default::default()
        })
        .await;
        if page.is_empty() {
            break;
        }
        paged.extend(page);
        after = paged.last();
    }
    assert_eq!(ids(&paged), ids(&by_due), "due order, keyset pages");
    let newest = list(RequestFilter {
        order: RequestOrder::Newest,
        after_id: Some(all[5].id),
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(&newest),
        ids(&all[..5]).into_iter().rev().collect::<Vec<_>>()
    );

    // Promised deadlines met: the completed ones, each judged by the day it closed (today).
    let today = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let completed: Vec<&RequestRecord> = all
        .iter()
        .filter(|r| r.state == RequestState::Completed)
        .collect();
    let hits = store
        .deadline_hits(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(hits.completed, completed.len() as u64);
    assert_eq!(
        hits.met,
        completed.iter().filter(|r| r.promised_due >= today).count() as u64
    );
    let none = store
        .deadline_hits(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(none.completed, 0);
}

async fn consent_rates_count_choices_per_target_since_a_time(db: TestDb) {
    let v = version(&db.store).await;
    let (a, b) = (visitor(1), visitor(2));
    db.store
        .record_consent(&[
            event(&a, "cookies:statistics", true, v, 1_700_000_000),
            event(&b, "cookies:statistics", false, v, 1_700_000_100),
            event(&a, "cookies:statistics", true, v, 1_700_000_200),
            event(&a, "cookies:marketing", false, v, 1_700_000_300),
            event(&b, "cookies:marketing", true, v, 1_600_000_000),
        ])
        .await
        .unwrap();
    let since = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let rates = db.store.consent_rates(since).await.unwrap();
    let got: Vec<(String, i64, i64)> = rates
        .into_iter()
        .map(|r| (r.target, r.granted, r.total))
        .collect();
    assert_eq!(
        got,
        vec![
            ("cookies:marketing".to_owned(), 0, 1),
            ("cookies:statistics".to_owned(), 2, 3),
        ],
        "the event before `since` is left out"
    );
}

async fn a_state_change_is_one_step_on_the_timeline_and_in_the_audit_log(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-STEP", &ann, v))
        .await
        .unwrap();
    let details = r#"{"action":"verified","from":"received","to":"verified"}"#;
    let changed = store
        .change_request(
            r.id,
            &ombud_store::Change {
                note: Some("passport checked at the front desk"),
                set: Fields {
                    verified_by: Some("user:3"),
                    verified_how: Some("passport"),
                    ..Fields::default()
                },
                mail: vec![letter("ann@example.com", "verified")],
                ..change(
                    "verified",
                    Some(RequestState::Received),
                    Some(RequestState::Verified),
                    details,
                )
            },
        )
        .await
        .expect("changing");
    assert_eq!(changed.state, RequestState::Verified);
    assert_eq!(changed.verified_by.as_deref(), Some("user:3"));
    assert_eq!(changed.verified_how.as_deref(), Some("passport"));
    assert!(changed.updated_at >= r.updated_at);
    assert_eq!(changed.closed_at, None);
    assert_eq!(changed.created_at, r.created_at);
    assert_eq!(store.request(r.id).await.unwrap(), Some(changed.clone()));

    let timeline = store.request_timeline(r.id).await.unwrap();
    assert_eq!(timeline.len(), 2);
    let step = &timeline[1];
    assert!(timeline[0].seq < step.seq);
    assert_eq!(
        (step.actor.as_str(), step.action.as_str()),
        ("user:3", "verified")
    );
    assert_eq!(
        (step.from_state, step.to_state),
        (Some(RequestState::Received), Some(RequestState::Verified))
    );
    assert_eq!(
        step.note.as_deref(),
        Some("passport checked at the front desk")
    );
    assert_eq!(step.at, changed.updated_at);

    let audit = request_audit(store).await;
    assert_eq!(audit.len(), 2);
    let entry = &audit[1];
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.subject.as_str()
        ),
        ("user:3", "request.verified", "request:R-STEP")
    );
    assert_eq!(entry.details, details, "stored as given");
    assert_eq!(entry.at_us, changed.updated_at.as_microsecond());
    audit_never_mentions(store, "ann@").await;

    let letters = store.mail_status(r.id).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].kind.as_str(), letters[0].request_id),
        ("verified", Some(r.id))
    );
    assert!(store.verify_audit().await.unwrap().is_intact());
}

async fn a_stale_change_conflicts_and_writes_nothing(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-STALE", &ann, v))
        .await
        .unwrap();
    let audit_before = all_audit(store).await.len();

    let stale = ombud_store::Change {
        mail: vec![letter("ann@example.com", "verified")],
        note: Some("should not be kept"),
        set: Fields {
            verified_by: Some("user:3"),
            verified_how: Some("code"),
            ..Fields::default()
        },
        ..change(
            "verified",
            Some(RequestState::AwaitingVerification),
            Some(RequestState::Verified),
            "{}",
        )
    };
    let err = store.change_request(r.id, &stale).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    // A precondition without a transition is checked the same way.
    let err = store
        .change_request(
            r.id,
            &change("note", Some(RequestState::InProgress), None, "{}"),
        )
        .await
        .expect_err("stale");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");

    let err = store
        .change_request(
            r.id + 1000,
            &change(
                "verified",
                Some(RequestState::Received),
                Some(RequestState::Verified),
                "{}",
            ),
        )
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let invalid = [
        change("verified", None, Some(RequestState::Verified), "{}"),
        change(
            "verified",
            Some(RequestState::Received),
            Some(RequestState::Verified),
            "[]",
        ),
        change(
            "verified",
            Some(RequestState::Received),
            Some(RequestState::Verified),
            "{",
        ),
        // The audit log must not learn who the request is from, in any case.
        change(
            "verified",
            Some(RequestState::Received),
            Some(RequestState::Verified),
            r#"{"who":"ANN@example.com"}"#,
        ),
        change(
            "Verified!",
            Some(RequestState::Received),
            Some(RequestState::Verified),
            "{}",
        ),
        ombud_store::Change {
            actor: "",
            ..change("note", None, None, "{}")
        },
        ombud_store::Change {
            set: Fields {
                extended_due: Some(date(2026, 6, 30)),
                ..Fields::default()
            },
            ..change("extended", None, None, "{}")
        },
        ombud_store::Change {
            set: Fields {
                extended_due: Some(date(2026, 4, 29)),
                extension_reason: Some("complex"),
                ..Fields::default()
            },
            ..change("extended", None, None, "{}")
        },
        ombud_store::Change {
            set: Fields {
                fee: Some("250 DKK"),
                ..Fields::default()
            },
            ..change("fee_requested", None, None, "{}")
        },
        ombud_store::Change {
            mail: vec![letter("ann@example.com", "")],
            ..change("note", None, None, "{}")
        },
    ];
    for (i, c) in invalid.iter().enumerate() {
        let err = store.change_request(r.id, c).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "case {i}: {err:?}");
        assert!(!err.to_string().contains("example.com"), "case {i}");
    }

    assert_eq!(
        store.request(r.id).await.unwrap(),
        Some(r.clone()),
        "unchanged"
    );
    assert_eq!(store.request_timeline(r.id).await.unwrap().len(), 1);
    assert_eq!(all_audit(store).await.len(), audit_before);
    assert!(store.mail_status(r.id).await.unwrap().is_empty());
    assert!(store.verify_audit().await.unwrap().is_intact());
}

async fn concurrent_changes_from_one_state_let_exactly_one_through(db: TestDb) {
    let v = version(&db.store).await;
    let ann = email("ann@example.com");
    let r = db
        .store
        .create_request(&new_request("R-RACE", &ann, v))
        .await
        .unwrap();
    let other = db.reconnect().await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        let id = r.id;
        tasks.push(tokio::spawn(async move {
            let note = format!("attempt {i}");
            store
                .change_request(
                    id,
                    &ombud_store::Change {
                        note: Some(&note),
                        ..change(
                            "code_sent",
                            Some(RequestState::Received),
                            Some(RequestState::AwaitingVerification),
                            "{}",
                        )
                    },
                )
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(rec) => {
                won += 1;
                assert_eq!(rec.state, RequestState::AwaitingVerification);
            }
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one change from `received` wins");
    let timeline = db.store.request_timeline(r.id).await.unwrap();
    assert_eq!(timeline.len(), 2);
    assert_eq!(request_audit(&db.store).await.len(), 2);
    assert!(db.store.verify_audit().await.unwrap().is_intact());
    other.close().await;
}

async fn closed_states_set_closed_at(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    // Every state can be stored, and the database agrees with the domain on which are closed.
    for s in RequestState::all() {
        let reference = format!("R-STATE-{}", s.key());
        let r = store
            .create_request(&NewRequest {
                state: *s,
                ..new_request(&reference, &ann, v)
            })
            .await
            .unwrap_or_else(|e| panic!("creating a request in {s}: {e:?}"));
        assert_eq!(r.state, *s);
        assert_eq!(r.closed_at.is_some(), s.is_closed(), "{s}");
        assert_eq!(
            r.closed_at.filter(|_| s.is_closed()),
            s.is_closed().then_some(r.created_at)
        );
    }
    let r = store
        .create_request(&new_request("R-CLOSE", &ann, v))
        .await
        .unwrap();
    let refused = store
        .change_request(
            r.id,
            &ombud_store::Change {
                note: Some("manifestly unfounded"),
                ..change(
                    "refused",
                    Some(RequestState::Received),
                    Some(RequestState::Refused),
                    "{}",
                )
            },
        )
        .await
        .unwrap();
    assert_eq!(refused.state, RequestState::Refused);
    assert_eq!(refused.closed_at, Some(refused.updated_at));
    let open = store
        .list_requests(&RequestFilter {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.iter().all(|r| !r.state.is_closed()));
    assert!(!open.iter().any(|o| o.id == r.id));
    assert_eq!(
        open.len(),
        RequestState::all()
            .iter()
            .filter(|s| !s.is_closed())
            .count()
    );
    // A note on a closed request leaves it closed, at the time it closed.
    let noted = store
        .change_request(
            r.id,
            &ombud_store::Change {
                note: Some("complaint received"),
                ..change("note", None, None, "{}")
            },
        )
        .await
        .unwrap();
    assert_eq!(noted.closed_at, refused.closed_at);
    assert_eq!(noted.state, RequestState::Refused);
}

async fn field_updates_are_kept_and_the_timeline_is_in_order(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-FIELDS", &ann, v))
        .await
        .unwrap();
    let extended_due = date(2026, 6, 30);
    let steps: Vec<ombud_store::Change<'_>> = vec![
        ombud_store::Change {
            set: Fields {
                verified_by: Some("user:3"),
                verified_how: Some("phone call-back"),
                ..Fields::default()
            },
            ..change(
                "verified",
                Some(RequestState::Received),
                Some(RequestState::Verified),
                "{}",
            )
        },
        ombud_store::Change {
            set: Fields {
                extended_due: Some(extended_due),
                extension_reason: Some("data in twelve systems"),
                ..Fields::default()
            },
            mail: vec![letter("ann@example.com", "extension_notice")],
            ..change("extended", None, None, "{}")
        },
        ombud_store::Change {
            set: Fields {
                fee: Some("250 DKK"),
                fee_reason: Some("a third copy within a month"),
                ..Fields::default()
            },
            ..change("fee_requested", None, None, "{}")
        },
        ombud_store::Change {
            set: Fields {
                forwarded_to: Some("Customer A/S"),
                ..Fields::default()
            },
            ..change(
                "forwarded",
                Some(RequestState::Verified),
                Some(RequestState::Forwarded),
                "{}",
            )
        },
    ];
    let mut last = r.clone();
    for c in &steps {
        let next = store.change_request(r.id, c).await.unwrap();
        assert!(next.updated_at >= last.updated_at);
        last = next;
    }
    assert_eq!(last.state, RequestState::Forwarded);
    assert!(last.closed_at.is_some());
    assert_eq!(
        last.verified_by.as_deref(),
        Some("user:3"),
        "fields not given stay as they were"
    );
    assert_eq!(last.verified_how.as_deref(), Some("phone call-back"));
    assert_eq!(last.extended_due, Some(extended_due));
    assert_eq!(last.effective_legal_due(), extended_due);
    assert_eq!(last.legal_due, LEGAL, "the original deadline is kept");
    assert_eq!(
        last.extension_reason.as_deref(),
        Some("data in twelve systems")
    );
    assert_eq!(last.fee.as_deref(), Some("250 DKK"));
    assert_eq!(
        last.fee_reason.as_deref(),
        Some("a third copy within a month")
    );
    assert_eq!(last.forwarded_to.as_deref(), Some("Customer A/S"));
    assert_eq!(store.request(r.id).await.unwrap(), Some(last.clone()));

    let timeline = store.request_timeline(r.id).await.unwrap();
    let actions: Vec<&str> = timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "received",
            "verified",
            "extended",
            "fee_requested",
            "forwarded"
        ]
    );
    assert!(
        timeline
            .windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at)
    );
    assert_eq!(
        (timeline[2].from_state, timeline[2].to_state),
        (None, None),
        "no transition"
    );
    assert_eq!(
        (timeline[4].from_state, timeline[4].to_state),
        (Some(RequestState::Verified), Some(RequestState::Forwarded))
    );
    let audit: Vec<String> = request_audit(store)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        audit,
        [
            "request.received",
            "request.verified",
            "request.extended",
            "request.fee_requested",
            "request.forwarded"
        ]
    );
    assert_eq!(store.mail_status(r.id).await.unwrap().len(), 1);
}

async fn the_database_refuses_to_edit_the_timeline(db: TestDb) {
    let v = version(&db.store).await;
    let ann = email("ann@example.com");
    let r = db
        .store
        .create_request(&new_request("R-KEEP", &ann, v))
        .await
        .unwrap();
    assert!(
        db.raw("UPDATE request_event SET actor = 'someone else'")
            .await
            .is_err()
    );
    assert!(db.raw("DELETE FROM request_event").await.is_err());
    let timeline = db.store.request_timeline(r.id).await.unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].actor, "web");
}

async fn identity_codes_count_sends_and_wrong_tries(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-CODE", &ann, v))
        .await
        .unwrap();
    assert_eq!(store.code_state(r.id).await.unwrap(), None);
    assert!(matches!(
        store.code_failed(r.id).await,
        Err(StoreError::NotFound)
    ));

    let before = Timestamp::now().as_microsecond();
    let first = store.store_code(r.id, &[1; 32]).await.unwrap();
    assert_eq!((first.hash, first.attempts, first.sends), ([1; 32], 0, 1));
    assert!(first.issued_at_us >= before);
    assert_eq!(first.last_sent_us, first.issued_at_us);
    assert_eq!(store.code_state(r.id).await.unwrap(), Some(first.clone()));

    assert_eq!(store.code_failed(r.id).await.unwrap(), 1);
    assert_eq!(store.code_failed(r.id).await.unwrap(), 2);
    assert_eq!(
        store.code_state(r.id).await.unwrap().map(|c| c.attempts),
        Some(2)
    );

    // A new code replaces the old one: fresh attempts, one more send.
    let second = store.store_code(r.id, &[2; 32]).await.unwrap();
    assert_eq!(
        (second.hash, second.attempts, second.sends),
        ([2; 32], 0, 2)
    );
    assert!(second.issued_at_us >= first.issued_at_us);
    assert_eq!(store.code_state(r.id).await.unwrap(), Some(second));

    assert!(matches!(
        store.store_code(r.id + 1000, &[3; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.code_state(r.id + 1000).await.unwrap(), None);
}

async fn concurrent_wrong_tries_are_all_counted(db: TestDb) {
    let v = version(&db.store).await;
    let ann = email("ann@example.com");
    let r = db
        .store
        .create_request(&new_request("R-GUESS", &ann, v))
        .await
        .unwrap();
    db.store.store_code(r.id, &[7; 32]).await.unwrap();
    let other = db.reconnect().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        let id = r.id;
        tasks.push(tokio::spawn(async move { store.code_failed(id).await }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap().unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=20).collect::<Vec<u32>>(),
        "each try saw its own count"
    );
    assert_eq!(
        db.store.code_state(r.id).await.unwrap().map(|c| c.attempts),
        Some(20)
    );
    other.close().await;
}

async fn letters_are_queued_with_their_request_or_not_at_all(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-MAIL", &ann, v))
        .await
        .unwrap();
    // A letter that names its request keeps it; one without is attached to the request changed.
    let other = store
        .create_request(&new_request("R-MAIL-2", &ann, v))
        .await
        .unwrap();
    store
        .change_request(
            r.id,
            &ombud_store::Change {
                mail: vec![
                    letter("ann@example.com", "verified"),
                    ombud_store::NewMail {
                        request_id: Some(other.id),
                        ..letter("dpo@example.com", "reminder")
                    },
                ],
                ..change(
                    "verified",
                    Some(RequestState::Received),
                    Some(RequestState::Verified),
                    "{}",
                )
            },
        )
        .await
        .unwrap();
    let mine: Vec<String> = store
        .mail_status(r.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(mine, ["verified"]);
    let theirs: Vec<String> = store
        .mail_status(other.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(theirs, ["reminder"]);

    // A failing change queues nothing.
    let err = store
        .change_request(
            r.id,
            &ombud_store::Change {
                mail: vec![letter("ann@example.com", "completed")],
                ..change(
                    "completed",
                    Some(RequestState::InProgress),
                    Some(RequestState::Completed),
                    "{}",
                )
            },
        )
        .await
        .expect_err("not in progress");
    assert!(matches!(err, StoreError::Conflict));
    assert_eq!(store.mail_status(r.id).await.unwrap().len(), 1);

    // Mail queued on its own, with or without a request.
    let alone = store
        .enqueue_mail(&letter("dpo@example.com", "digest"))
        .await
        .unwrap();
    let attached = store
        .enqueue_mail(&ombud_store::NewMail {
            request_id: Some(r.id),
            ..letter("dpo@example.com", "reminder")
        })
        .await
        .unwrap();
    assert!(alone < attached);
    let kinds: Vec<String> = store
        .mail_status(r.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(kinds, ["verified", "reminder"]);
    let leased = lease_all(store).await;
    assert_eq!(leased.len(), 4);
    assert!(leased.contains(&alone));
}

async fn leased_mail_goes_to_one_worker_only(db: TestDb) {
    let mut queued = BTreeSet::new();
    for i in 0..60 {
        let to = format!("person{i}@example.com");
        queued.insert(
            db.store
                .enqueue_mail(&letter(&to, "newsletter_confirmation"))
                .await
                .unwrap(),
        );
    }
    let other = db.reconnect().await;
    let mut workers = Vec::new();
    for w in 0..6 {
        let store = if w % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.lease_mail(4, HOUR).await.expect("leasing");
                if batch.is_empty() {
                    return mine;
                }
                assert!(batch.len() <= 4);
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for w in workers {
        for id in w.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "letter {id} was leased twice");
        }
    }
    assert_eq!(total, 60);
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), queued);
    assert!(other.lease_mail(10, HOUR).await.unwrap().is_empty());
    other.close().await;
}

async fn a_lease_hides_a_letter_until_it_expires(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-LEASE", &ann, v))
        .await
        .unwrap();
    let id = store
        .enqueue_mail(&ombud_store::NewMail {
            request_id: Some(r.id),
            ..letter("ann@example.com", "code")
        })
        .await
        .unwrap();
    assert!(matches!(
        store.lease_mail(1, Duration::ZERO).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.lease_mail(0, HOUR).await.unwrap().is_empty());

    let first = store
        .lease_mail(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
    assert_eq!(first[0].attempts, 0);
    assert_eq!(
        first[0].body,
        "Dear Ann,\r\n\r\nwe received your request.\r\n"
    );
    assert!(
        store.lease_mail(10, HOUR).await.unwrap().is_empty(),
        "hidden while leased"
    );
    let second = db.reconnect().await;
    assert!(
        second.lease_mail(10, HOUR).await.unwrap().is_empty(),
        "from every node"
    );

    // The worker died: once the lease has passed, another takes the letter over.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = second.lease_mail(10, HOUR).await.unwrap();
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);

    second.mail_sent(id).await.unwrap();
    let status: Vec<QueuedMail> = store.mail_status(r.id).await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(status[0].sent_at.is_some());
    assert_eq!(status[0].next_attempt, None);
    assert!(!status[0].given_up());
    // Sent is final: no lease, even after the old lease would have expired.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        store
            .lease_mail(10, Duration::from_millis(1))
            .await
            .unwrap()
            .is_empty()
    );
    let sent_at = status[0].sent_at;
    store.mail_sent(id).await.unwrap();
    assert_eq!(
        store.mail_status(r.id).await.unwrap()[0].sent_at,
        sent_at,
        "the first time is kept"
    );
    assert!(matches!(
        store.mail_sent(id + 1000).await,
        Err(StoreError::NotFound)
    ));
    second.close().await;
}

async fn failed_letters_are_retried_or_given_up(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let r = store
        .create_request(&new_request("R-RETRY", &ann, v))
        .await
        .unwrap();
    let to_request = |kind| ombud_store::NewMail {
        request_id: Some(r.id),
        ..letter("ann@example.com", kind)
    };
    let a = store
        .enqueue_mail(&to_request("acknowledgement"))
        .await
        .unwrap();
    let b = store.enqueue_mail(&to_request("code")).await.unwrap();
    assert_eq!(lease_all(store).await, [a, b]);

    let retry_at =
        Timestamp::from_microsecond(Timestamp::now().as_microsecond() + 3_600_000_000).unwrap();
    store
        .mail_failed(a, "temporary delivery failure", Some(retry_at))
        .await
        .unwrap();
    store
        .mail_failed(b, "permanent delivery failure", None)
        .await
        .unwrap();
    let status = store.mail_status(r.id).await.unwrap();
    let (ma, mb) = (&status[0], &status[1]);
    assert_eq!(
        (ma.attempts, ma.last_error.as_deref()),
        (1, Some("temporary delivery failure"))
    );
    assert_eq!(ma.next_attempt, Some(retry_at), "the retry is scheduled");
    assert!(!ma.given_up());
    assert_eq!(
        (mb.attempts, mb.last_error.as_deref()),
        (1, Some("permanent delivery failure"))
    );
    assert!(mb.given_up());
    assert!(
        lease_all(store).await.is_empty(),
        "the retry is not due yet, the other is given up"
    );

    // Due again: leased with its failure count.
    let past = Timestamp::from_microsecond(Timestamp::now().as_microsecond() - 1_000_000).unwrap();
    store
        .mail_failed(a, &"x".repeat(5000), Some(past))
        .await
        .unwrap();
    let again = store.lease_mail(10, HOUR).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (a, 2));
    assert_eq!(
        again[0].last_error.as_ref().map(String::len),
        Some(ombud_store::outbox::MAX_ERROR),
        "cut"
    );

    // A late failure report doesn't undo a delivery.
    store.mail_sent(a).await.unwrap();
    store
        .mail_failed(a, "late report", Some(past))
        .await
        .unwrap();
    let status = store.mail_status(r.id).await.unwrap();
    assert!(status[0].sent_at.is_some());
    assert_eq!(status[0].attempts, 2);
    assert!(lease_all(store).await.is_empty());
    assert!(matches!(
        store.mail_failed(b + 1000, "x", None).await,
        Err(StoreError::NotFound)
    ));
}

async fn reminders_are_recorded_once(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("ann@example.com");
    let ids = create_many(store, "REMIND", 2, &ann, v).await;
    assert!(
        store
            .reminder_once(ids[0], "legal:2026-04-30")
            .await
            .unwrap()
    );
    assert!(
        !store
            .reminder_once(ids[0], "legal:2026-04-30")
            .await
            .unwrap()
    );
    assert!(
        store
            .reminder_once(ids[0], "promised:2026-04-09")
            .await
            .unwrap()
    );
    assert!(
        store
            .reminder_once(ids[1], "legal:2026-04-30")
            .await
            .unwrap()
    );
    assert!(matches!(
        store.reminder_once(ids[1] + 1000, "legal:2026-04-30").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.reminder_once(ids[1], "").await,
        Err(StoreError::Invalid(_))
    ));

    // Several nodes running the reminder job at once: one of them sends it.
    let other = db.reconnect().await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let id = ids[1];
        tasks.push(tokio::spawn(async move {
            store.reminder_once(id, "legal:2026-07-30").await
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        firsts += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(firsts, 1);
    other.close().await;
}

async fn the_request_workflow_leaves_an_intact_audit_chain_without_personal_data(db: TestDb) {
    let store = &db.store;
    let v = version(store).await;
    let ann = email("Ann.Example@example.com");
    let ids = create_many(store, "FLOW", 3, &ann, v).await;
    let r = store
        .create_request(&NewRequest {
            mail: vec![letter("ann.example@example.com", "acknowledgement")],
            ..new_request("R-FLOW-MAIN", &ann, v)
        })
        .await
        .unwrap();
    store.store_code(r.id, &[9; 32]).await.unwrap();
    let d = |action: &str, from: RequestState, to: RequestState| {
        serde_json::json!({ "action": action, "from": from.key(), "to": to.key() }).to_string()
    };
    use RequestState as S;
    let path = [
        ("code_sent", S::Received, S::AwaitingVerification),
        ("verified", S::AwaitingVerification, S::Verified),
        ("started", S::Verified, S::InProgress),
        ("waiting_for_tasks", S::InProgress, S::WaitingForTasks),
        ("completed", S::WaitingForTasks, S::Completed),
    ];
    for (action, from, to) in path {
        let details = d(action, from, to);
        store
            .change_request(
                r.id,
                &ombud_store::Change {
                    mail: vec![letter("ann.example@example.com", action)],
                    ..change(action, Some(from), Some(to), &details)
                },
            )
            .await
            .unwrap();
    }
    for id in &ids {
        let details = d("withdrawn", S::Received, S::Withdrawn);
        store
            .change_request(
                *id,
                &change("withdrawn", Some(S::Received), Some(S::Withdrawn), &details),
            )
            .await
            .unwrap();
        assert!(store.reminder_once(*id, "legal:2026-04-30").await.unwrap());
    }
    for m in store.lease_mail(100, HOUR).await.unwrap() {
        store.mail_sent(m.id).await.unwrap();
    }
    let done = store.request(r.id).await.unwrap().unwrap();
    assert_eq!(done.state, S::Completed);
    assert_eq!(store.request_timeline(r.id).await.unwrap().len(), 6);
    assert!(
        store
            .mail_status(r.id)
            .await
            .unwrap()
            .iter()
            .all(|m| m.sent_at.is_some())
    );
    assert_eq!(request_audit(store).await.len(), 4 + 5 + 3);

    let report = store.verify_audit().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    audit_never_mentions(store, "ann.example").await;
    audit_never_mentions(store, "Ann Example").await;
}

// ---------------------------------------------------------------------------------------------
// Request execution: jobs, manual tasks, export packages, restrictions

use ombud_domain::consent::SubjectKey;
use ombud_store::{JobState, NewJob, NewPackage, NewTask};

fn job<'a>(request_id: i64, kind: &'a str) -> NewJob<'a> {
    NewJob {
        request_id,
        kind,
        spec: r#"{"systems":["crm"],"identities":["email:ann@example.com"]}"#,
    }
}

/// `seconds` from now (negative: in the past).
fn from_now(seconds: i64) -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond() + seconds * 1_000_000).unwrap()
}

/// A policy version and `n` requests for Ann, `R-<prefix>-0000`…; returns the request ids.
async fn requests_for(store: &Store, prefix: &str, n: usize) -> Vec<i64> {
    let v = version(store).await;
    create_many(store, prefix, n, &email("ann@example.com"), v).await
}

/// The audit entries with `action`.
async fn audit_of(store: &Store, action: &str) -> Vec<AuditRecord> {
    all_audit(store)
        .await
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

async fn jobs_are_created_once_per_request_and_kind(db: TestDb) {
    let store = &db.store;
    let ids = requests_for(store, "JOB", 2).await;
    let (r, other_request) = (ids[0], ids[1]);

    let first = store.create_job(job(r, "access")).await.unwrap();
    assert_eq!(store.create_job(job(r, "access")).await.unwrap(), first);
    let erase = store.create_job(job(r, "erase")).await.unwrap();
    let elsewhere = store
        .create_job(job(other_request, "access"))
        .await
        .unwrap();
    assert!(first < erase && erase < elsewhere);

    let stored = store.job(first).await.unwrap().expect("stored");
    assert_eq!(
        (stored.request_id, stored.kind.as_str(), stored.state),
        (r, "access", JobState::Queued)
    );
    assert_eq!(stored.spec, job(r, "access").spec);
    assert_eq!(stored.attempts, 0);
    assert_eq!(
        (stored.checkpoint, stored.result, stored.error),
        (None, None, None)
    );
    assert_eq!((stored.lease_owner, stored.lease_until), (None, None));
    assert_eq!((stored.not_before, stored.finished_at), (None, None));
    assert_eq!(stored.created_at, stored.updated_at);

    // Still the same job while it runs; a new one once it has finished.
    let leased = store.lease_job("worker-1", HOUR).await.unwrap().unwrap();
    assert_eq!(leased.id, first);
    assert_eq!(store.create_job(job(r, "access")).await.unwrap(), first);
    assert!(store.finish_job(first, "worker-1", "{}").await.unwrap());
    let again = store.create_job(job(r, "access")).await.unwrap();
    assert!(again > elsewhere);
    let kinds: Vec<(i64, String, JobState)> = store
        .jobs_for_request(r)
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.id, j.kind, j.state))
        .collect();
    assert_eq!(
        kinds,
        [
            (first, "access".to_owned(), JobState::Done),
            (erase, "erase".to_owned(), JobState::Queued),
            (again, "access".to_owned(), JobState::Queued),
        ]
    );

    // Several nodes creating the same job at once: one job.
    let other = db.reconnect().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            s.create_job(job(other_request, "rectify")).await
        }));
    }
    let mut created = HashSet::new();
    for t in tasks {
        created.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(created.len(), 1, "{created:?}");
    other.close().await;

    // Refused, with nothing written.
    let count = store.jobs_for_request(r).await.unwrap().len();
    let big = "x".repeat(ombud_store::execution::MAX_JSON + 1);
    for bad in [
        job(other_request + 1000, "access"),
        job(r, ""),
        job(r, "with space"),
        NewJob {
            spec: &big,
            ..job(r, "big")
        },
        NewJob {
            spec: "{\"a\":\"\0\"}",
            ..job(r, "nul")
        },
    ] {
        let err = store.create_job(bad).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(store.jobs_for_request(r).await.unwrap().len(), count);
    assert_eq!(store.job(again + 1000).await.unwrap(), None);
}

async fn a_job_is_leased_checkpointed_and_finished(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "RUN", 1).await[0];
    assert_eq!(store.lease_job("worker-1", HOUR).await.unwrap(), None);
    let id = store.create_job(job(r, "access")).await.unwrap();
    assert!(matches!(
        store.lease_job("worker-1", Duration::ZERO).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.lease_job("", HOUR).await,
        Err(StoreError::Invalid(_))
    ));

    let before = Timestamp::now();
    let leased = store.lease_job("worker-1", HOUR).await.unwrap().unwrap();
    assert_eq!(leased.id, id);
    assert_eq!(leased.state, JobState::Running);
    assert_eq!(leased.attempts, 1);
    assert_eq!(leased.lease_owner.as_deref(), Some("worker-1"));
    let until = leased.lease_until.expect("a lease end");
    assert!(until >= before + HOUR && until <= Timestamp::now() + HOUR);
    assert_eq!(leased.checkpoint, None);
    assert_eq!(leased, store.job(id).await.unwrap().unwrap());
    assert_eq!(
        store.lease_job("worker-2", HOUR).await.unwrap(),
        None,
        "leased jobs are hidden"
    );

    let checkpoint = r#"{"done":["crm.customer"],"cursor":42}"#;
    assert!(
        store
            .checkpoint_job(id, "worker-1", checkpoint, 2 * HOUR)
            .await
            .unwrap()
    );
    let saved = store.job(id).await.unwrap().unwrap();
    assert_eq!(saved.checkpoint.as_deref(), Some(checkpoint));
    assert!(saved.lease_until.unwrap() > until, "the lease was renewed");
    assert!(store.renew_job(id, "worker-1", 3 * HOUR).await.unwrap());
    assert!(store.job(id).await.unwrap().unwrap().lease_until > saved.lease_until);

    let result = r#"{"package":1,"rows":17}"#;
    assert!(store.finish_job(id, "worker-1", result).await.unwrap());
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.result.as_deref(), Some(result));
    assert_eq!(done.checkpoint.as_deref(), Some(checkpoint), "kept");
    assert_eq!(
        (done.lease_owner.as_deref(), done.lease_until),
        (None, None)
    );
    assert_eq!(done.finished_at, Some(done.updated_at));
    assert_eq!(done.attempts, 1);
    // Finished is final: not leased, and the owner can't write to it any more.
    assert_eq!(store.lease_job("worker-1", HOUR).await.unwrap(), None);
    assert!(!store.finish_job(id, "worker-1", "{}").await.unwrap());
    assert!(!store.renew_job(id, "worker-1", HOUR).await.unwrap());
    assert!(
        !store
            .checkpoint_job(id, "worker-1", "{}", HOUR)
            .await
            .unwrap()
    );
    assert!(!store.fail_job(id, "worker-1", "late", None).await.unwrap());
    assert_eq!(
        store.job(id).await.unwrap().unwrap(),
        done,
        "nothing written"
    );
}

async fn one_job_is_leased_by_id_and_the_others_are_left_alone(db: TestDb) {
    let store = &db.store;
    let rs = requests_for(store, "ONE", 2).await;
    let older = store.create_job(job(rs[0], "access")).await.unwrap();
    let wanted = store.create_job(job(rs[1], "access")).await.unwrap();
    let leased = store
        .lease_job_by_id(wanted, "cli-1", HOUR)
        .await
        .unwrap()
        .expect("the job is due");
    assert_eq!((leased.id, leased.attempts), (wanted, 1));
    assert_eq!(leased.lease_owner.as_deref(), Some("cli-1"));
    let untouched = store.job(older).await.unwrap().unwrap();
    assert_eq!(
        (untouched.state, untouched.attempts, untouched.error),
        (JobState::Queued, 0, None),
        "the older job is neither leased nor marked"
    );
    assert_eq!(
        store.lease_job_by_id(wanted, "cli-2", HOUR).await.unwrap(),
        None,
        "a live lease keeps it"
    );
    assert!(store.finish_job(wanted, "cli-1", "{}").await.unwrap());
    assert_eq!(
        store.lease_job_by_id(wanted, "cli-1", HOUR).await.unwrap(),
        None,
        "a finished job is not leased again"
    );
    assert_eq!(
        store
            .lease_job_by_id(wanted + 1000, "cli-1", HOUR)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.lease_job_by_id(older, "", HOUR).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.lease_job("worker-1", HOUR).await.unwrap().unwrap().id,
        older
    );
}

async fn only_the_lease_owner_may_write_a_job(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "OWNER", 1).await[0];
    let id = store.create_job(job(r, "erase")).await.unwrap();
    let leased = store.lease_job("worker-1", HOUR).await.unwrap().unwrap();

    assert!(!store.renew_job(id, "worker-2", HOUR).await.unwrap());
    assert!(
        !store
            .checkpoint_job(id, "worker-2", "{}", HOUR)
            .await
            .unwrap()
    );
    assert!(!store.finish_job(id, "worker-2", "{}").await.unwrap());
    assert!(
        !store
            .fail_job(id, "worker-2", "not mine", None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.job(id).await.unwrap().unwrap(),
        leased,
        "nothing written"
    );

    for result in [
        store.renew_job(id + 1000, "worker-1", HOUR).await,
        store
            .checkpoint_job(id + 1000, "worker-1", "{}", HOUR)
            .await,
        store.finish_job(id + 1000, "worker-1", "{}").await,
        store.fail_job(id + 1000, "worker-1", "x", None).await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    let big = "x".repeat(ombud_store::execution::MAX_JSON + 1);
    assert!(matches!(
        store.checkpoint_job(id, "worker-1", &big, HOUR).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.finish_job(id, "worker-1", &big).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.renew_job(id, "worker-1", Duration::ZERO).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.job(id).await.unwrap().unwrap(), leased);
    assert!(store.finish_job(id, "worker-1", "{}").await.unwrap());
}

async fn an_expired_lease_is_taken_over_and_the_first_owner_is_refused(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "TAKEOVER", 1).await[0];
    let id = store.create_job(job(r, "access")).await.unwrap();
    let first = store
        .lease_job("node-a", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .checkpoint_job(id, "node-a", r#"{"step":1}"#, Duration::from_millis(300))
            .await
            .unwrap()
    );
    let other = db.reconnect().await;
    assert_eq!(other.lease_job("node-b", HOUR).await.unwrap(), None);

    // node-a stalls; once its lease has passed, node-b takes the job over from the checkpoint.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = other.lease_job("node-b", HOUR).await.unwrap().unwrap();
    assert_eq!(taken.id, id);
    assert_eq!(taken.attempts, 2);
    assert_eq!(taken.lease_owner.as_deref(), Some("node-b"));
    assert_eq!(taken.checkpoint.as_deref(), Some(r#"{"step":1}"#));
    assert_eq!(taken.created_at, first.created_at);

    // node-a wakes up: every write it tries is refused, and nothing of it is kept.
    assert!(
        !store
            .checkpoint_job(id, "node-a", r#"{"step":2}"#, HOUR)
            .await
            .unwrap()
    );
    assert!(!store.renew_job(id, "node-a", HOUR).await.unwrap());
    assert!(!store.finish_job(id, "node-a", "{}").await.unwrap());
    assert!(!store.fail_job(id, "node-a", "gave up", None).await.unwrap());
    assert_eq!(store.job(id).await.unwrap().unwrap(), taken);

    assert!(
        other
            .checkpoint_job(id, "node-b", r#"{"step":2}"#, HOUR)
            .await
            .unwrap()
    );
    assert!(
        other
            .finish_job(id, "node-b", r#"{"ok":true}"#)
            .await
            .unwrap()
    );
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.checkpoint.as_deref(), done.attempts),
        (JobState::Done, Some(r#"{"step":2}"#), 2)
    );
    other.close().await;
}

async fn concurrent_workers_lease_each_job_once(db: TestDb) {
    let store = &db.store;
    let requests = requests_for(store, "WORKERS", 3).await;
    let mut created = BTreeSet::new();
    for r in &requests {
        for k in 0..10 {
            let kind = format!("kind-{k}");
            created.insert(store.create_job(job(*r, &kind)).await.unwrap());
        }
    }
    assert_eq!(created.len(), 30);

    let other = db.reconnect().await;
    let mut workers = Vec::new();
    for w in 0..6 {
        let s = if w % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        workers.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut mine = Vec::new();
            while let Some(j) = s.lease_job(&owner, HOUR).await.expect("leasing") {
                // A job leased twice is finished by its last owner only.
                let finished = s.finish_job(j.id, &owner, "{}").await.expect("finishing");
                mine.push((j.id, j.attempts, finished));
            }
            mine
        }));
    }
    let mut seen = BTreeSet::new();
    for w in workers {
        for (id, attempts, finished) in w.await.unwrap() {
            assert!(seen.insert(id), "job {id} was leased twice");
            assert_eq!(attempts, 1, "job {id}");
            assert!(finished, "job {id} was taken from its worker");
        }
    }
    assert_eq!(seen, created);
    for r in &requests {
        for j in store.jobs_for_request(*r).await.unwrap() {
            assert_eq!((j.state, j.attempts), (JobState::Done, 1), "{j:?}");
        }
    }
    assert_eq!(other.lease_job("worker-x", HOUR).await.unwrap(), None);
    other.close().await;
}

async fn failed_jobs_are_retried_later_or_given_up(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "FAIL", 1).await[0];
    let id = store.create_job(job(r, "erase")).await.unwrap();
    store.lease_job("worker-1", HOUR).await.unwrap().unwrap();

    let later = from_now(3600);
    assert!(
        store
            .fail_job(id, "worker-1", "connection refused", Some(later))
            .await
            .unwrap()
    );
    let queued = store.job(id).await.unwrap().unwrap();
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.not_before, Some(later));
    assert_eq!(queued.error.as_deref(), Some("connection refused"));
    assert_eq!(
        (queued.lease_owner.as_deref(), queued.finished_at),
        (None, None)
    );
    assert_eq!(
        store.lease_job("worker-2", HOUR).await.unwrap(),
        None,
        "not before its retry time"
    );
    // Still the one unfinished job of its kind.
    assert_eq!(store.create_job(job(r, "erase")).await.unwrap(), id);

    // Only the lease owner reschedules a job, and nobody holds a queued one.
    let reset = from_now(-1);
    assert!(
        !store
            .fail_job(id, "worker-1", "x", Some(reset))
            .await
            .unwrap()
    );
    assert_eq!(store.job(id).await.unwrap().unwrap(), queued);

    // A retry that is due is leased again, with the failure counted.
    let other = store.create_job(job(r, "erase-retry")).await.unwrap();
    let leased = store.lease_job("worker-3", HOUR).await.unwrap().unwrap();
    assert_eq!(leased.id, other, "the job not yet due is passed over");
    assert!(
        store
            .fail_job(other, "worker-3", "timeout", Some(reset))
            .await
            .unwrap()
    );
    let again = store.lease_job("worker-4", HOUR).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (other, 2));
    assert_eq!(again.error.as_deref(), Some("timeout"));

    // Given up: failed and finished, error cut to 1024 bytes; a new job can then be created.
    let long = format!("{}{}", "ø".repeat(600), "tail");
    assert!(
        store
            .fail_job(other, "worker-4", &long, None)
            .await
            .unwrap()
    );
    let failed = store.job(other).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.finished_at, Some(failed.updated_at));
    assert_eq!((failed.lease_owner, failed.lease_until), (None, None));
    let error = failed.error.unwrap();
    assert!(
        error.len() <= 1024 && error.len() >= 1023,
        "{}",
        error.len()
    );
    assert!(long.starts_with(&error));
    assert_eq!(store.lease_job("worker-4", HOUR).await.unwrap(), None);
    let fresh = store.create_job(job(r, "erase-retry")).await.unwrap();
    assert!(fresh > other);
}

async fn manual_tasks_are_idempotent_and_completed_once(db: TestDb) {
    let store = &db.store;
    let ids = requests_for(store, "TASK", 2).await;
    let r = store.request(ids[0]).await.unwrap().unwrap();
    let hubspot = NewTask {
        system: "hubspot",
        title: "Erase Ann Example in HubSpot",
        instructions: "Search for ann@example.com and delete the contact.",
    };
    let mailchimp = NewTask {
        system: "mailchimp",
        title: "Erase Ann Example in Mailchimp",
        instructions: "Archive ann@example.com in every audience.",
    };
    assert_eq!(store.open_tasks(r.id).await.unwrap(), 0);
    let created = store
        .create_tasks(r.id, &[hubspot, mailchimp])
        .await
        .unwrap();
    assert_eq!(created.len(), 2);
    assert!(created[0] < created[1]);
    // Again, with a changed title and in another order: the existing tasks are kept.
    let again = store
        .create_tasks(
            r.id,
            &[
                mailchimp,
                NewTask {
                    title: "changed",
                    ..hubspot
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(again, [created[1], created[0]]);
    assert!(store.create_tasks(r.id, &[]).await.unwrap().is_empty());
    let other_task = store.create_tasks(ids[1], &[hubspot]).await.unwrap();
    assert_ne!(other_task[0], created[0]);

    let tasks = store.tasks_for_request(r.id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        (
            tasks[0].id,
            tasks[0].system.as_str(),
            tasks[0].title.as_str(),
            tasks[0].instructions.as_str()
        ),
        (created[0], "hubspot", hubspot.title, hubspot.instructions)
    );
    assert!(tasks.iter().all(|t| !t.is_done() && t.request_id == r.id));
    assert_eq!(store.open_tasks(r.id).await.unwrap(), 2);

    let audit_before = all_audit(store).await.len();
    assert!(
        store
            .complete_task(
                created[0],
                "user:3",
                Some("Deleted; Ann confirmed by phone")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_task(created[0], "user:4", Some("again"))
            .await
            .unwrap(),
        "done once"
    );
    assert_eq!(store.open_tasks(r.id).await.unwrap(), 1);
    assert_eq!(store.open_tasks(ids[1]).await.unwrap(), 1);
    let done = &store.tasks_for_request(r.id).await.unwrap()[0];
    assert!(done.is_done());
    assert_eq!(done.done_by.as_deref(), Some("user:3"));
    assert_eq!(
        done.note.as_deref(),
        Some("Deleted; Ann confirmed by phone")
    );
    assert!(
        store
            .complete_task(created[1], "user:3", None)
            .await
            .unwrap()
    );
    assert_eq!(store.open_tasks(r.id).await.unwrap(), 0);

    let entries = audit_of(store, "request.task_done").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(all_audit(store).await.len(), audit_before + 2);
    assert_eq!(entries[0].actor, "user:3");
    assert_eq!(entries[0].subject, format!("request:{}", r.reference));
    assert_eq!(
        json(&entries[0].details),
        serde_json::json!({ "task": created[0], "system": "hubspot" })
    );

    // Refused, with nothing written.
    assert!(matches!(
        store.complete_task(created[1] + 1000, "user:3", None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_tasks(ids[1] + 1000, &[hubspot]).await,
        Err(StoreError::NotFound)
    ));
    for bad in [
        NewTask {
            system: "ann@example.com",
            ..hubspot
        },
        NewTask {
            system: "HubSpot",
            ..hubspot
        },
        NewTask {
            title: "",
            ..hubspot
        },
    ] {
        let err = store
            .create_tasks(ids[1], &[mailchimp, bad])
            .await
            .expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert!(matches!(
        store.complete_task(other_task[0], "", None).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.tasks_for_request(ids[1]).await.unwrap().len(), 1);
    assert_eq!(store.open_tasks(ids[1]).await.unwrap(), 1);

    assert!(store.verify_audit().await.unwrap().is_intact());
    audit_never_mentions(store, "ann example").await;
    audit_never_mentions(store, "confirmed by phone").await;
    audit_never_mentions(store, "ann@example.com").await;
}

async fn export_packages_are_found_by_token_and_expire(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "PKG", 1).await[0];
    let (token_a, token_b, token_c) = ([0xa1; 32], [0xb2; 32], [0xc3; 32]);
    let package = |path, token_hash, expires_at| NewPackage {
        request_id: r,
        path,
        size: 5_000_000_000,
        token_hash,
        expires_at,
    };
    let in_a_day = from_now(86_400);
    let in_a_week = from_now(7 * 86_400);
    let a = store
        .create_package(package("/data/packages/a.bin", &token_a, in_a_day))
        .await
        .unwrap();
    let b = store
        .create_package(package("/data/packages/b.bin", &token_b, in_a_week))
        .await
        .unwrap();

    let found = store
        .package_by_token(&token_a)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        (found.id, found.request_id, found.path.as_str(), found.size),
        (a, r, "/data/packages/a.bin", 5_000_000_000)
    );
    assert_eq!(found.token_hash, token_a);
    assert_eq!(found.expires_at, in_a_day);
    assert_eq!(
        (found.downloads, found.last_download_at, found.deleted_at),
        (0, None, None)
    );
    assert_eq!(store.package_by_token(&token_c).await.unwrap(), None);

    store.package_downloaded(a).await.unwrap();
    store.package_downloaded(a).await.unwrap();
    let downloaded = store.package_by_token(&token_a).await.unwrap().unwrap();
    assert_eq!(downloaded.downloads, 2);
    assert!(downloaded.last_download_at >= Some(found.created_at));
    assert!(matches!(
        store.package_downloaded(b + 1000).await,
        Err(StoreError::NotFound)
    ));

    assert!(
        store
            .expired_packages(Timestamp::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let expired: Vec<i64> = store
        .expired_packages(from_now(2 * 86_400), 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(expired, [a]);
    let all_expired: Vec<i64> = store
        .expired_packages(from_now(30 * 86_400), 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(all_expired, [a, b], "soonest expired first");
    assert_eq!(
        store
            .expired_packages(from_now(30 * 86_400), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .expired_packages(from_now(30 * 86_400), 0)
            .await
            .unwrap()
            .is_empty()
    );

    store.package_deleted(a).await.unwrap();
    let deleted_at = store
        .package_by_token(&token_a)
        .await
        .unwrap()
        .unwrap()
        .deleted_at;
    assert!(deleted_at.is_some(), "still found, with its deletion");
    store.package_deleted(a).await.unwrap();
    assert_eq!(
        store
            .package_by_token(&token_a)
            .await
            .unwrap()
            .unwrap()
            .deleted_at,
        deleted_at,
        "the first time is kept"
    );
    let left: Vec<i64> = store
        .expired_packages(from_now(30 * 86_400), 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(left, [b]);
    // What `ombud keys rotate` pages through: the files not deleted, by id.
    let ids = |ps: Vec<ombud_store::Package>| ps.iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(store.stored_packages(0, 10).await.unwrap()), [b]);
    assert!(store.stored_packages(b, 10).await.unwrap().is_empty());
    assert!(store.stored_packages(0, 0).await.unwrap().is_empty());
    assert!(matches!(
        store.package_deleted(b + 1000).await,
        Err(StoreError::NotFound)
    ));
    let listed: Vec<i64> = store
        .packages_for_request(r)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, [a, b]);

    // Refused, with nothing written.
    let err = store
        .create_package(package("/data/packages/c.bin", &token_a, in_a_day))
        .await
        .expect_err("the token is taken");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    for bad in [
        NewPackage {
            request_id: r + 1000,
            ..package("/p", &token_c, in_a_day)
        },
        package("", &token_c, in_a_day),
        package("/p", &token_c, from_now(-1)),
        NewPackage {
            size: u64::MAX,
            ..package("/p", &token_c, in_a_day)
        },
    ] {
        let err = store.create_package(bad).await.expect_err("refused");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(store.packages_for_request(r).await.unwrap().len(), 2);
    assert_eq!(store.package_by_token(&token_c).await.unwrap(), None);
}

fn key(s: &str) -> SubjectKey {
    SubjectKey::parse(s).unwrap()
}

async fn restrictions_are_idempotent_and_can_be_lifted_and_renewed(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "RESTRICT", 1).await[0];
    let reference = store.request(r).await.unwrap().unwrap().reference;
    let ann = key("email:Ann.Example@Example.com");
    let phone = key("phone:+45 70 22 53 64");
    let bo = key("email:bo@example.com");

    assert!(!store.is_restricted(&ann).await.unwrap());
    store
        .restrict(
            &[ann.clone(), phone.clone(), ann.clone()],
            Some(r),
            "user:3",
        )
        .await
        .unwrap();
    store
        .restrict(&[phone.clone(), ann.clone()], Some(r), "user:3")
        .await
        .unwrap();
    assert!(store.is_restricted(&ann).await.unwrap());
    assert!(
        store
            .is_restricted(&key("email:ann.example@example.COM"))
            .await
            .unwrap(),
        "e-mail keys are compared in their canonical form"
    );
    assert!(store.is_restricted(&phone).await.unwrap());
    assert!(!store.is_restricted(&bo).await.unwrap());
    let rows = store
        .restrictions(&[ann.clone(), phone.clone(), bo.clone()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "restricting twice is idempotent");
    assert!(
        rows.iter()
            .all(|x| x.is_active() && x.request_id == Some(r))
    );
    let restricted = audit_of(store, "subject.restricted").await;
    assert_eq!(
        restricted.len(),
        1,
        "only the restriction that changed something"
    );
    assert_eq!(restricted[0].subject, format!("request:{reference}"));
    assert_eq!(
        json(&restricted[0].details),
        serde_json::json!({ "count": 2 })
    );

    // Without a request; then lifted, restricted again (a new row), lifted again.
    store
        .restrict(std::slice::from_ref(&bo), None, "user:3")
        .await
        .unwrap();
    assert!(store.is_restricted(&bo).await.unwrap());
    assert_eq!(
        store
            .lift_restriction(&[ann.clone(), key("email:nobody@example.com")], "user:4")
            .await
            .unwrap(),
        1
    );
    assert!(!store.is_restricted(&ann).await.unwrap());
    assert!(store.is_restricted(&phone).await.unwrap());
    assert_eq!(
        store
            .lift_restriction(std::slice::from_ref(&ann), "user:4")
            .await
            .unwrap(),
        0
    );
    store
        .restrict(std::slice::from_ref(&ann), None, "user:3")
        .await
        .unwrap();
    assert!(store.is_restricted(&ann).await.unwrap());
    let history = store
        .restrictions(std::slice::from_ref(&ann))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(!history[0].is_active() && history[1].is_active());
    assert_eq!(
        (history[0].request_id, history[1].request_id),
        (Some(r), None)
    );
    assert!(history[0].lifted_at >= Some(history[0].since));
    assert!(history[1].since >= history[0].lifted_at.unwrap());
    assert_eq!(
        store
            .lift_restriction(&[ann.clone(), phone.clone(), bo.clone()], "user:4")
            .await
            .unwrap(),
        3
    );
    for k in [&ann, &phone, &bo] {
        assert!(!store.is_restricted(k).await.unwrap());
    }

    let subjects: Vec<String> = all_audit(store)
        .await
        .iter()
        .filter(|e| e.action.starts_with("subject."))
        .map(|e| format!("{} {} {}", e.action, e.subject, e.details))
        .collect();
    assert_eq!(
        subjects,
        [
            format!("subject.restricted request:{reference} {{\"count\":2}}"),
            "subject.restricted subjects {\"count\":1}".to_owned(),
            "subject.restriction_lifted subjects {\"count\":1}".to_owned(),
            "subject.restricted subjects {\"count\":1}".to_owned(),
            "subject.restriction_lifted subjects {\"count\":3}".to_owned(),
        ]
    );

    // Refused, with nothing written.
    let audit_len = all_audit(store).await.len();
    assert!(matches!(
        store
            .restrict(std::slice::from_ref(&bo), Some(r + 1000), "user:3")
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.restrict(std::slice::from_ref(&bo), None, "").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!store.is_restricted(&bo).await.unwrap());
    assert_eq!(all_audit(store).await.len(), audit_len);
    store.restrict(&[], Some(r), "user:3").await.unwrap();
    assert_eq!(store.lift_restriction(&[], "user:3").await.unwrap(), 0);
    assert!(store.restrictions(&[]).await.unwrap().is_empty());

    assert!(store.verify_audit().await.unwrap().is_intact());
    for needle in ["ann.example", "example.com", "4570225364", "bo@"] {
        audit_never_mentions(store, needle).await;
    }
}

async fn restrictions_answer_the_same_after_a_reopen(db: TestDb) {
    let store = &db.store;
    let r = requests_for(store, "REOPEN", 1).await[0];
    let subjects: Vec<SubjectKey> = (0..20)
        .map(|i| key(&format!("email:person{i}@example.com")))
        .chain((0..5).map(visitor))
        .collect();
    store
        .restrict(&subjects[..15], Some(r), "user:3")
        .await
        .unwrap();
    store
        .restrict(&subjects[20..], None, "user:3")
        .await
        .unwrap();
    assert_eq!(
        store
            .lift_restriction(&subjects[5..10], "user:3")
            .await
            .unwrap(),
        5
    );
    store
        .restrict(&subjects[8..9], None, "user:3")
        .await
        .unwrap();

    // What each store answers must be what the table holds, before and after a reopen.
    let expect = |i: usize| i < 5 || i == 8 || (10..15).contains(&i) || i >= 20;
    let from_table: Vec<bool> = {
        let rows = store.restrictions(&subjects).await.unwrap();
        subjects
            .iter()
            .map(|s| rows.iter().any(|x| &x.subject == s && x.is_active()))
            .collect()
    };
    assert_eq!(
        from_table,
        (0..subjects.len()).map(expect).collect::<Vec<_>>()
    );
    let reopened = db.reconnect().await;
    for (i, s) in subjects.iter().enumerate() {
        assert_eq!(
            store.is_restricted(s).await.unwrap(),
            expect(i),
            "subject {i}"
        );
        assert_eq!(
            reopened.is_restricted(s).await.unwrap(),
            expect(i),
            "subject {i}, reopened"
        );
    }

    // Writes through the reopened store keep its answers exact too.
    reopened
        .lift_restriction(&subjects[..2], "user:3")
        .await
        .unwrap();
    reopened
        .restrict(&subjects[15..17], None, "user:3")
        .await
        .unwrap();
    let expect_now = |i: usize| (expect(i) && i >= 2) || (15..17).contains(&i);
    for (i, s) in subjects.iter().enumerate() {
        assert_eq!(
            reopened.is_restricted(s).await.unwrap(),
            expect_now(i),
            "subject {i}"
        );
    }
    reopened.close().await;
    let third = db.reconnect().await;
    for (i, s) in subjects.iter().enumerate() {
        assert_eq!(
            third.is_restricted(s).await.unwrap(),
            expect_now(i),
            "subject {i}, third"
        );
    }
    assert!(third.verify_audit().await.unwrap().is_intact());
    third.close().await;
}
