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
use support::TestDb;

/// Generates one `#[tokio::test]` per backend for each named test body.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::run_sqlite(crate::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::run_postgres(crate::$name).await;
                }
            )+
        }
    };
}

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
