//! Conformance tests of staff accounts: every test runs on SQLite and on PostgreSQL, like
//! `conformance.rs` (PostgreSQL is required; see there).

// The shared support module has helpers that only the main conformance suite uses.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::staff::{Role, Scopes, secret_hash};
use ombud_store::seal::{self, KeyId};
use ombud_store::{AuditRecord, NewApiToken, NewStaffUser, StaffChange, Store, StoreError};
use ombud_store::{Keyring, Resealed, SealError};
use support::{TEST_KEY, TestDb, conformance};

conformance!(
    users_are_created_with_a_setup_token_and_an_audit_entry,
    a_taken_address_conflicts_and_writes_nothing,
    invalid_users_are_refused,
    a_setup_token_works_once_and_not_after_it_expires,
    passwords_and_totp_secrets_are_stored,
    a_totp_step_is_accepted_once,
    concurrent_logins_with_one_code_let_exactly_one_through,
    wrong_logins_lock_the_user,
    recovery_codes_are_used_once,
    sessions_end_by_logout_expiry_and_idleness,
    api_tokens_are_found_by_hash_revoked_once_and_audited,
    totp_secrets_are_sealed_at_rest,
    without_a_key_no_totp_secret_is_stored_or_read,
    a_sealed_secret_does_not_open_in_another_row_and_clear_text_is_refused,
    rotation_seals_every_secret_under_the_current_key,
    api_token_use_is_recorded_at_most_once_per_interval,
    roles_change_users_are_disabled_and_reset_with_an_audit_entry_each,
);

fn later(d: SignedDuration) -> Timestamp {
    Timestamp::now() + d
}

fn day() -> Timestamp {
    later(SignedDuration::from_hours(24))
}

async fn add(store: &Store, email: &str, role: Role, token: &str) -> ombud_store::StaffUser {
    store
        .create_staff_user(NewStaffUser {
            email,
            role,
            setup_token_hash: &secret_hash(token),
            setup_expires_at: day(),
            actor: "cli:root",
        })
        .await
        .expect("creating a staff user")
}

async fn all_audit(store: &Store) -> Vec<AuditRecord> {
    store.audit_page(0, 10_000).await.expect("reading the log")
}

async fn users_are_created_with_a_setup_token_and_an_audit_entry(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "token-ann").await;
    let bo = add(store, "bo@impero.com", Role::Viewer, "token-bo").await;
    assert_eq!(ann.email, "ann@impero.com");
    assert_eq!(ann.role, Role::Admin);
    assert!(!ann.is_set_up());
    assert_eq!(
        (ann.password_hash.as_deref(), ann.totp_secret.as_deref()),
        (None, None)
    );
    assert_eq!((ann.failed_logins, ann.locked_until), (0, None));
    assert!(ann.id < bo.id);

    let users = store.staff_users().await.expect("listing");
    assert_eq!(users, vec![ann.clone(), bo.clone()]);
    assert_eq!(store.staff_user(bo.id).await.expect("by id"), Some(bo));
    assert_eq!(
        store
            .staff_user_by_email(" ANN@Impero.com")
            .await
            .expect("by address"),
        Some(ann.clone())
    );
    assert_eq!(
        store.staff_user_by_email("cy@impero.com").await.unwrap(),
        None
    );
    assert_eq!(
        store.staff_user_by_email("not an address").await.unwrap(),
        None
    );

    let log = all_audit(store).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "staff.user_created");
    assert_eq!(log[0].actor, "cli:root");
    assert_eq!(log[0].subject, format!("staff:{}", ann.id));
    assert_eq!(log[0].details, r#"{"role":"admin"}"#);
    assert_eq!(log[1].details, r#"{"role":"viewer"}"#);
    for e in &log {
        let text = format!("{} {} {}", e.subject, e.details, e.actor);
        assert!(
            !text.contains("impero") && !text.contains("token"),
            "{text}"
        );
    }
    assert!(store.verify_audit().await.expect("verify").is_intact());
}

async fn a_taken_address_conflicts_and_writes_nothing(db: TestDb) {
    let store = &db.store;
    add(store, "ann@impero.com", Role::Admin, "first").await;
    let err = store
        .create_staff_user(NewStaffUser {
            email: "ann@impero.com",
            role: Role::Viewer,
            setup_token_hash: &secret_hash("second"),
            setup_expires_at: day(),
            actor: "cli:root",
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(store.staff_users().await.unwrap().len(), 1);
    assert_eq!(all_audit(store).await.len(), 1);
    // The second user's setup token was not kept either.
    assert_eq!(
        store
            .consume_setup_token(&secret_hash("second"))
            .await
            .unwrap(),
        None
    );
}

async fn invalid_users_are_refused(db: TestDb) {
    let store = &db.store;
    let hash = secret_hash("t");
    let user = |email, setup_expires_at| NewStaffUser {
        email,
        role: Role::Admin,
        setup_token_hash: &hash,
        setup_expires_at,
        actor: "cli:root",
    };
    for bad in [
        user("Ann@impero.com", day()),
        user("ann", day()),
        user(" ann@impero.com", day()),
        user("ann@impero.com", Timestamp::now()),
        NewStaffUser {
            actor: "",
            ..user("ann@impero.com", day())
        },
    ] {
        let err = store.create_staff_user(bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert!(store.staff_users().await.unwrap().is_empty());
    assert!(all_audit(store).await.is_empty());
}

async fn a_setup_token_works_once_and_not_after_it_expires(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "token-ann").await;
    assert_eq!(
        store
            .consume_setup_token(&secret_hash("wrong"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .consume_setup_token(&secret_hash("token-ann"))
            .await
            .unwrap(),
        Some(ann.id)
    );
    assert_eq!(
        store
            .consume_setup_token(&secret_hash("token-ann"))
            .await
            .unwrap(),
        None,
        "a setup token works once"
    );

    store
        .create_staff_user(NewStaffUser {
            email: "bo@impero.com",
            role: Role::Viewer,
            setup_token_hash: &secret_hash("token-bo"),
            setup_expires_at: later(SignedDuration::from_millis(200)),
            actor: "cli:root",
        })
        .await
        .expect("creating");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .consume_setup_token(&secret_hash("token-bo"))
            .await
            .unwrap(),
        None,
        "an expired setup token does not work"
    );
}

async fn passwords_and_totp_secrets_are_stored(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    store
        .set_password_hash(ann.id, phc)
        .await
        .expect("password");
    store.set_totp(ann.id, &[7; 20]).await.expect("totp");
    let got = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!(got.password_hash.as_deref(), Some(phc));
    assert_eq!(got.totp_secret.as_deref(), Some(&[7u8; 20][..]));
    assert!(got.is_set_up());

    assert!(matches!(
        store.set_password_hash(ann.id + 100, phc).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_totp(ann.id + 100, &[7; 20]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_password_hash(ann.id, "plain password").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.set_totp(ann.id, &[1; 4]).await,
        Err(StoreError::Invalid(_))
    ));
    // Neither is in the audit log.
    for e in all_audit(store).await {
        assert!(!e.details.contains("argon"), "{e:?}");
    }
}

async fn a_totp_step_is_accepted_once(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    store.set_totp(ann.id, &[7; 20]).await.unwrap();
    assert!(store.record_totp_step(ann.id, 100).await.unwrap());
    assert!(
        !store.record_totp_step(ann.id, 100).await.unwrap(),
        "replay"
    );
    assert!(!store.record_totp_step(ann.id, 99).await.unwrap(), "older");
    assert!(store.record_totp_step(ann.id, 101).await.unwrap());
    assert_eq!(
        store
            .staff_user(ann.id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );
    // A new secret starts afresh.
    store.set_totp(ann.id, &[8; 20]).await.unwrap();
    assert_eq!(
        store
            .staff_user(ann.id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        None
    );
    assert!(store.record_totp_step(ann.id, 5).await.unwrap());
    assert!(matches!(
        store.record_totp_step(ann.id + 100, 5).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.record_totp_step(ann.id, u64::MAX).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn concurrent_logins_with_one_code_let_exactly_one_through(db: TestDb) {
    let ann = add(&db.store, "ann@impero.com", Role::Admin, "t").await;
    // Two nodes (or two processes) race with the same code, many times.
    let other = db.reconnect().await;
    for step in 1..=20u64 {
        let (a, b) = tokio::join!(
            db.store.record_totp_step(ann.id, step),
            other.record_totp_step(ann.id, step)
        );
        let wins = [a.expect("first"), b.expect("second")];
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "step {step}: {wins:?}"
        );
    }
    other.close().await;
}

async fn wrong_logins_lock_the_user(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let until = later(SignedDuration::from_mins(15));
    assert_eq!(store.login_failed(ann.id, 3, until).await.unwrap(), 1);
    assert_eq!(store.login_failed(ann.id, 3, until).await.unwrap(), 2);
    let u = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (2, None));
    assert_eq!(store.login_failed(ann.id, 3, until).await.unwrap(), 3);
    let u = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!(
        u.locked_until.map(|t| t.as_microsecond()),
        Some(until.as_microsecond())
    );
    store.login_succeeded(ann.id).await.unwrap();
    let u = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (0, None));
    assert!(matches!(
        store.login_failed(ann.id + 100, 3, until).await,
        Err(StoreError::NotFound)
    ));
}

async fn recovery_codes_are_used_once(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let bo = add(store, "bo@impero.com", Role::Viewer, "u").await;
    let codes = [secret_hash("a"), secret_hash("b"), secret_hash("c")];
    store.replace_recovery_codes(ann.id, &codes).await.unwrap();
    assert_eq!(store.unused_recovery_codes(ann.id).await.unwrap(), 3);
    assert!(store.use_recovery_code(ann.id, &codes[1]).await.unwrap());
    assert!(!store.use_recovery_code(ann.id, &codes[1]).await.unwrap());
    assert!(
        !store.use_recovery_code(bo.id, &codes[0]).await.unwrap(),
        "another user's code"
    );
    assert_eq!(store.unused_recovery_codes(ann.id).await.unwrap(), 2);
    // A new set replaces the old one entirely.
    store
        .replace_recovery_codes(ann.id, &[secret_hash("d")])
        .await
        .unwrap();
    assert!(!store.use_recovery_code(ann.id, &codes[0]).await.unwrap());
    assert_eq!(store.unused_recovery_codes(ann.id).await.unwrap(), 1);
    assert!(matches!(
        store
            .replace_recovery_codes(ann.id, &[codes[0], codes[0]])
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.replace_recovery_codes(bo.id + 100, &codes).await,
        Err(StoreError::NotFound)
    ));
}

async fn sessions_end_by_logout_expiry_and_idleness(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let hour = Duration::from_secs(3600);
    let (s1, s2, s3, s4) = (
        secret_hash("s1"),
        secret_hash("s2"),
        secret_hash("s3"),
        secret_hash("s4"),
    );
    let expires = later(SignedDuration::from_hours(8));
    store.create_session(&s1, ann.id, expires).await.unwrap();
    let first = store
        .touch_session(&s1, hour)
        .await
        .unwrap()
        .expect("valid");
    assert_eq!(first.user_id, ann.id);
    assert_eq!(first.expires_at.as_microsecond(), expires.as_microsecond());
    let second = store
        .touch_session(&s1, hour)
        .await
        .unwrap()
        .expect("valid");
    assert!(second.last_seen >= first.last_seen);
    assert_eq!(store.touch_session(&s2, hour).await.unwrap(), None);

    // Logout.
    assert!(store.revoke_session(&s1).await.unwrap());
    assert!(!store.revoke_session(&s1).await.unwrap());
    assert_eq!(store.touch_session(&s1, hour).await.unwrap(), None);

    // Absolute timeout.
    store
        .create_session(&s2, ann.id, later(SignedDuration::from_millis(200)))
        .await
        .unwrap();
    // Idle timeout.
    store.create_session(&s3, ann.id, expires).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.touch_session(&s2, hour).await.unwrap(), None);
    assert_eq!(
        store
            .touch_session(&s3, Duration::from_millis(100))
            .await
            .unwrap(),
        None
    );
    assert!(store.touch_session(&s3, hour).await.unwrap().is_some());

    // All of a user's sessions end at once.
    store.create_session(&s4, ann.id, expires).await.unwrap();
    assert_eq!(store.revoke_sessions_of(ann.id).await.unwrap(), 3);
    assert_eq!(store.touch_session(&s4, hour).await.unwrap(), None);

    assert!(matches!(
        store.create_session(&s4, ann.id, expires).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .create_session(&secret_hash("s5"), ann.id + 100, expires)
            .await,
        Err(StoreError::Invalid(_))
    ));
}

async fn api_tokens_are_found_by_hash_revoked_once_and_audited(db: TestDb) {
    let store = &db.store;
    let scopes = Scopes::parse("consent:write read").unwrap();
    let hash = secret_hash("omb_secret_token");
    let token = store
        .create_api_token(NewApiToken {
            name: "crm sync",
            token_hash: &hash,
            scopes: &scopes,
            actor: "user:1",
        })
        .await
        .expect("creating a token");
    assert_eq!(token.name, "crm sync");
    assert_eq!(token.scopes, scopes);
    assert_eq!(token.created_by, "user:1");
    assert!(token.is_active());
    assert_eq!(store.api_tokens().await.unwrap(), vec![token.clone()]);
    assert_eq!(
        store.api_token_by_hash(&hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store
            .api_token_by_hash(&secret_hash("other"))
            .await
            .unwrap(),
        None
    );

    let dup = store
        .create_api_token(NewApiToken {
            name: "again",
            token_hash: &hash,
            scopes: &scopes,
            actor: "user:1",
        })
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict), "{dup:?}");
    let empty = store
        .create_api_token(NewApiToken {
            name: " ",
            token_hash: &secret_hash("x"),
            scopes: &scopes,
            actor: "user:1",
        })
        .await
        .unwrap_err();
    assert!(matches!(empty, StoreError::Invalid(_)), "{empty:?}");

    assert!(store.revoke_api_token(token.id, "user:2").await.unwrap());
    assert!(!store.revoke_api_token(token.id, "user:2").await.unwrap());
    assert!(matches!(
        store.revoke_api_token(token.id + 100, "user:2").await,
        Err(StoreError::NotFound)
    ));
    let revoked = store.api_token_by_hash(&hash).await.unwrap().unwrap();
    assert!(!revoked.is_active());

    let log = all_audit(store).await;
    let summary: Vec<_> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.subject.as_str()))
        .collect();
    let subject = format!("api_token:{}", token.id);
    assert_eq!(
        summary,
        vec![
            ("user:1", "api_token.created", subject.as_str()),
            ("user:2", "api_token.revoked", subject.as_str()),
        ]
    );
    assert_eq!(
        log[0].details,
        r#"{"name":"crm sync","scopes":"read consent:write"}"#
    );
    let hex = hex_of(&hash);
    for e in &log {
        assert!(!e.details.contains("omb_") && !e.details.contains(&hex[..16]));
    }
    assert!(store.verify_audit().await.expect("verify").is_intact());
}

async fn api_token_use_is_recorded_at_most_once_per_interval(db: TestDb) {
    let store = &db.store;
    let scopes = &Scopes::parse("read").unwrap();
    let make = |name: &'static str, secret: &'static str| async move {
        store
            .create_api_token(NewApiToken {
                name,
                token_hash: &secret_hash(secret),
                scopes,
                actor: "cli:root",
            })
            .await
            .expect("creating a token")
    };
    let a = make("a", "token-a").await;
    let b = make("b", "token-b").await;
    assert_eq!(a.last_used_at, None, "a new token was never used");
    let last_used = |hash: [u8; 32]| async move {
        store
            .api_token_by_hash(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };

    let minute = Duration::from_secs(60);
    let before = Timestamp::now();
    assert!(store.record_api_token_use(a.id, minute).await.unwrap());
    let first = last_used(secret_hash("token-a")).await.expect("recorded");
    assert!(first >= before.round(jiff::Unit::Microsecond).unwrap() && first <= Timestamp::now());
    assert_eq!(
        last_used(secret_hash("token-b")).await,
        None,
        "only that token"
    );

    // Within the interval nothing is written; after it, the newer use is.
    assert!(!store.record_api_token_use(a.id, minute).await.unwrap());
    assert_eq!(last_used(secret_hash("token-a")).await, Some(first));
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(
        store
            .record_api_token_use(a.id, Duration::from_millis(1))
            .await
            .unwrap()
    );
    let second = last_used(secret_hash("token-a")).await.unwrap();
    assert!(second > first);

    // A revoked or unknown token's use is not recorded; the audit log holds no uses.
    assert!(store.revoke_api_token(b.id, "cli:root").await.unwrap());
    assert!(!store.record_api_token_use(b.id, minute).await.unwrap());
    assert_eq!(last_used(secret_hash("token-b")).await, None);
    assert!(
        !store
            .record_api_token_use(b.id + 100, minute)
            .await
            .unwrap()
    );
    assert_eq!(
        all_audit(store).await.len(),
        3,
        "two creations and a revocation"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn totp_secrets_are_sealed_at_rest(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let secret = b"12345678901234567890";
    store.set_totp(ann.id, secret).await.expect("totp");

    let raw = db.raw_totp_secret(ann.id).await.expect("a stored value");
    assert_eq!(raw.len(), secret.len() + seal::OVERHEAD);
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret),
        "the column does not hold the secret"
    );
    assert_eq!(seal::sealed_key_id(&raw), Ok(KeyId::of(&TEST_KEY)));

    // Every way of reading the user opens it.
    let by_id = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!(by_id.totp_secret.as_deref(), Some(&secret[..]));
    let by_email = store
        .staff_user_by_email("Ann@Impero.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.totp_secret.as_deref(), Some(&secret[..]));
    let listed = store.staff_users().await.unwrap();
    assert_eq!(listed, vec![by_id.clone()]);
    // So does another node with the same key.
    let other = db.reconnect().await;
    assert_eq!(other.staff_user(ann.id).await.unwrap(), Some(by_id));
    other.close().await;

    // Setting it again seals afresh (a new nonce).
    store.set_totp(ann.id, secret).await.unwrap();
    assert_ne!(db.raw_totp_secret(ann.id).await.unwrap(), raw);
}

async fn without_a_key_no_totp_secret_is_stored_or_read(db: TestDb) {
    let ann = add(&db.store, "ann@impero.com", Role::Admin, "t").await;
    let bo = add(&db.store, "bo@impero.com", Role::Admin, "u").await;
    db.store.set_totp(ann.id, &[7; 20]).await.unwrap();

    let keyless = Store::connect(&db.url).await.expect("a store without keys");
    assert!(keyless.keyring().is_none());
    let err = keyless
        .set_totp(bo.id, &[8; 20])
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::NoKey), "{err:?}");
    assert!(err.to_string().contains("encryption_key"), "{err}");
    assert_eq!(db.raw_totp_secret(bo.id).await, None, "nothing written");
    assert!(matches!(
        keyless.staff_user(ann.id).await,
        Err(StoreError::NoKey)
    ));
    // A user without a secret reads fine.
    assert!(keyless.staff_user(bo.id).await.unwrap().is_some());
    // Only the key's holder counts what is sealed: counting needs no key.
    let counts = keyless.sealed_totp_counts().await.unwrap();
    assert_eq!(counts.by_key.get(&KeyId::of(&TEST_KEY)), Some(&1));
    assert!(matches!(
        keyless.reseal_totp_secrets().await,
        Err(StoreError::NoKey)
    ));

    // A store with another key names the key it lacks.
    keyless.set_keyring(Keyring::new(&[0x11; 32], []).unwrap());
    match keyless.staff_user(ann.id).await {
        Err(StoreError::Sealed(SealError::UnknownKey(id))) => {
            assert_eq!(id, KeyId::of(&TEST_KEY));
        }
        other => panic!("expected an unknown key, got {other:?}"),
    }
    keyless.close().await;
}

async fn a_sealed_secret_does_not_open_in_another_row_and_clear_text_is_refused(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let bo = add(store, "bo@impero.com", Role::Viewer, "u").await;
    store.set_totp(ann.id, &[7; 20]).await.unwrap();
    // Someone with write access to the database copies Ann's sealed secret to Bo.
    db.raw(
        "UPDATE staff_user SET totp_secret = \
         (SELECT totp_secret FROM staff_user WHERE email = 'ann@impero.com') \
         WHERE email = 'bo@impero.com'",
    )
    .await
    .unwrap();
    assert!(matches!(
        store.staff_user(bo.id).await,
        Err(StoreError::Sealed(SealError::Authentication))
    ));
    // A clear secret of the old length is refused by the database itself.
    let short = match db.expected_backend() {
        "sqlite" => {
            "UPDATE staff_user SET totp_secret = X'3132333435363738393031323334353637383930' \
             WHERE email = 'bo@impero.com'"
        }
        _ => {
            "UPDATE staff_user SET totp_secret = decode('3132333435363738393031323334353637383930', 'hex') \
             WHERE email = 'bo@impero.com'"
        }
    };
    assert!(
        db.raw(short).await.is_err(),
        "the column's check refuses it"
    );
    // A longer clear value written behind the store's back is refused when read, not used.
    let clear = match db.expected_backend() {
        "sqlite" => {
            "UPDATE staff_user SET totp_secret = CAST(substr(hex(zeroblob(33)), 1, 65) AS BLOB) \
             WHERE email = 'bo@impero.com'"
        }
        _ => {
            "UPDATE staff_user SET totp_secret = convert_to(repeat('0', 65), 'UTF8') \
             WHERE email = 'bo@impero.com'"
        }
    };
    db.raw(clear).await.unwrap();
    assert!(matches!(
        store.staff_user(bo.id).await,
        Err(StoreError::Sealed(SealError::UnsupportedVersion(b'0')))
    ));
    assert_eq!(store.sealed_totp_counts().await.unwrap().unsealed, 1);
    // Ann is untouched.
    assert_eq!(
        store.staff_user(ann.id).await.unwrap().unwrap().totp_secret,
        Some(vec![7; 20])
    );
}

async fn rotation_seals_every_secret_under_the_current_key(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Admin, "t").await;
    let bo = add(store, "bo@impero.com", Role::Viewer, "u").await;
    let cy = add(store, "cy@impero.com", Role::Viewer, "v").await;
    store.set_totp(ann.id, &[7; 20]).await.unwrap();
    store.set_totp(bo.id, &[8; 32]).await.unwrap();
    assert!(store.record_totp_step(ann.id, 1234).await.unwrap());

    let new_key = [0x77u8; 32];
    store.set_keyring(Keyring::new(&new_key, [&TEST_KEY[..]]).unwrap());
    let before = store.sealed_totp_counts().await.unwrap();
    assert_eq!(before.by_key.get(&KeyId::of(&TEST_KEY)), Some(&2));
    // Until the rotation, the previous key still opens them; new secrets use the new key.
    assert_eq!(
        store.staff_user(ann.id).await.unwrap().unwrap().totp_secret,
        Some(vec![7; 20])
    );
    store.set_totp(cy.id, &[9; 16]).await.unwrap();

    let done = store.reseal_totp_secrets().await.unwrap();
    assert_eq!(
        done,
        Resealed {
            resealed: 2,
            already_current: 1
        }
    );
    let after = store.sealed_totp_counts().await.unwrap();
    assert_eq!(after.by_key.len(), 1);
    assert_eq!(after.by_key.get(&KeyId::of(&new_key)), Some(&3));
    assert_eq!(after.unsealed, 0);
    // Idempotent.
    assert_eq!(
        store.reseal_totp_secrets().await.unwrap(),
        Resealed {
            resealed: 0,
            already_current: 3
        }
    );

    // The old key can go: the new one alone opens everything, and the used step is kept.
    store.set_keyring(Keyring::new(&new_key, []).unwrap());
    let ann = store.staff_user(ann.id).await.unwrap().unwrap();
    assert_eq!(ann.totp_secret, Some(vec![7; 20]));
    assert_eq!(ann.totp_last_step, Some(1234));
    assert_eq!(
        store.staff_user(bo.id).await.unwrap().unwrap().totp_secret,
        Some(vec![8; 32])
    );
    assert_eq!(
        store.staff_user(cy.id).await.unwrap().unwrap().totp_secret,
        Some(vec![9; 16])
    );
    // No secret in the audit log.
    for e in all_audit(store).await {
        assert!(!e.details.contains("totp_secret"), "{e:?}");
    }
}

async fn roles_change_users_are_disabled_and_reset_with_an_audit_entry_each(db: TestDb) {
    let store = &db.store;
    let ann = add(store, "ann@impero.com", Role::Viewer, "token-ann").await;
    assert_eq!(
        store
            .setup_token_user(&secret_hash("token-ann"))
            .await
            .unwrap(),
        Some(ann.id),
        "a setup token is found without being used"
    );
    store
        .set_password_hash(ann.id, "$argon2id$stub")
        .await
        .unwrap();
    store
        .set_totp(ann.id, b"12345678901234567890")
        .await
        .unwrap();
    store
        .replace_recovery_codes(ann.id, &[[1; 32]])
        .await
        .unwrap();
    store.create_session(&[9; 32], ann.id, day()).await.unwrap();

    let changed = store
        .change_staff_user(ann.id, StaffChange::Role(Role::PrivacyOfficer), "staff:1")
        .await
        .unwrap();
    assert_eq!(changed.role, Role::PrivacyOfficer);

    let disabled = store
        .change_staff_user(ann.id, StaffChange::Disable, "staff:1")
        .await
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    assert_eq!(
        store
            .touch_session(&[9; 32], Duration::from_secs(600))
            .await
            .unwrap(),
        None,
        "disabling ends the sessions"
    );
    let enabled = store
        .change_staff_user(ann.id, StaffChange::Enable, "staff:1")
        .await
        .unwrap();
    assert!(enabled.disabled_at.is_none());

    store
        .consume_setup_token(&secret_hash("token-ann"))
        .await
        .unwrap();
    let reset = store
        .change_staff_user(
            ann.id,
            StaffChange::Reset {
                setup_token_hash: secret_hash("token-ann-2"),
                expires_at: day(),
            },
            "staff:1",
        )
        .await
        .unwrap();
    assert!(!reset.is_set_up(), "password and second factor are gone");
    assert_eq!(store.unused_recovery_codes(ann.id).await.unwrap(), 0);
    assert_eq!(
        store
            .setup_token_user(&secret_hash("token-ann-2"))
            .await
            .unwrap(),
        Some(ann.id)
    );

    let missing = store
        .change_staff_user(999, StaffChange::Disable, "staff:1")
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    let actions: Vec<String> = all_audit(store)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "staff.user_created",
            "staff.role_changed",
            "staff.disabled",
            "staff.enabled",
            "staff.reset"
        ]
    );
    assert!(
        all_audit(store)
            .await
            .iter()
            .all(|e| !e.details.contains("ann@impero.com"))
    );
}
