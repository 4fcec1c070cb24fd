//! Logging in: e-mail address, password and TOTP code (or one recovery code) together, one answer for every failure,
//! a lockout after repeated failures, and a server-side session.
//!
//! The console's login form posts all three at once, so a failure never tells which part was
//! wrong, nor whether the address belongs to anyone: an unknown address, a user who is locked,
//! disabled or not yet set up, a wrong password, a wrong or reused code all give
//! [`LoginError::Refused`], after the same password hashing work.

use std::sync::LazyLock;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::staff::{recovery, secret_hash, totp};
use ombud_store::{Session, StaffUser, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

use super::{StaffError, new_secret, password};

/// Wrong logins in a row after which the user is locked.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a lock lasts.
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);
/// A session ends this long after login, however active (absolute timeout).
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// A session ends after this long without a request (idle timeout).
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Any wrong or unusable credential; deliberately vague.
    #[error("the e-mail address, password or code is not right")]
    Refused,
    #[error(transparent)]
    Staff(#[from] StaffError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the id for the cookie (shown once; the store keeps its hash) and whose it is.
#[derive(Debug)]
pub struct NewSession {
    pub id: SecretString,
    pub user: StaffUser,
    pub expires_at: Timestamp,
}

/// A hash to verify against when there is no user, so that an unknown address costs the same
/// time as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| password::hash("no user has this password").ok());

async fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_owned();
    let (phc, real) = match phc {
        Some(p) => (p.to_owned(), true),
        None => (DUMMY_HASH.clone().unwrap_or_default(), false),
    };
    let ok = tokio::task::spawn_blocking(move || password::verify(&password, &phc))
        .await
        .unwrap_or(false);
    ok && real
}

/// Checks the credentials at `now` and, if all are right, starts a session.
///
/// The TOTP step that matched is recorded by compare-and-set before the session starts, so a
/// code is accepted once: a replay, or a second login racing with the same code, is refused.
/// Every refusal of a known user counts towards the lock; a success clears the count.
pub async fn login(
    store: &Store,
    email: &str,
    password: &str,
    code: &str,
    now: Timestamp,
) -> Result<NewSession, LoginError> {
    let user = store.staff_user_by_email(email).await?;
    let usable = user.as_ref().filter(|u| {
        u.disabled_at.is_none() && u.is_set_up() && u.locked_until.is_none_or(|t| t <= now)
    });
    let password_ok =
        verify_password(password, usable.and_then(|u| u.password_hash.as_deref())).await;
    let Some(user) = usable else {
        return Err(LoginError::Refused);
    };
    let step = user
        .totp_secret
        .as_deref()
        .and_then(|secret| totp::verify(secret, code, now.as_second(), user.totp_last_step));
    // A recovery code stands in for the TOTP code once (a lost authenticator).
    let recovery = recovery::normalise(code);
    let accepted = match (password_ok, step, recovery) {
        (true, Some(step), _) => store.record_totp_step(user.id, step).await?,
        (true, None, Some(typed)) => {
            store
                .use_recovery_code(user.id, &secret_hash(&typed))
                .await?
        }
        _ => false,
    };
    if !accepted {
        store
            .login_failed(user.id, MAX_FAILED_LOGINS, now + LOCKOUT)
            .await?;
        tracing::info!(staff_user = user.id, "login refused");
        return Err(LoginError::Refused);
    }
    store.login_succeeded(user.id).await?;
    let id = new_secret()?;
    let expires_at = now + SESSION_LIFETIME;
    store
        .create_session(&secret_hash(id.expose_secret()), user.id, expires_at)
        .await?;
    tracing::info!(staff_user = user.id, "logged in");
    Ok(NewSession {
        id,
        user: user.clone(),
        expires_at,
    })
}

/// The session whose id is `id`, if it is still valid (marking it seen now).
pub async fn session(store: &Store, id: &str) -> Result<Option<Session>, StoreError> {
    store.touch_session(&secret_hash(id), SESSION_IDLE).await
}

/// Ends the session whose id is `id`.
pub async fn logout(store: &Store, id: &str) -> Result<(), StoreError> {
    store.revoke_session(&secret_hash(id)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_domain::staff::Role;

    const SECRET: &[u8; 20] = b"12345678901234567890";
    const PASSWORD: &str = "correct horse battery staple";

    /// A store with one user who has a password (and no second factor yet).
    async fn with_password(email: &str, role: Role) -> (tempfile::TempDir, Store, StaffUser) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("ombud.db"))
            .await
            .unwrap();
        store.set_keyring(ombud_store::Keyring::new(&[3; 32], []).unwrap());
        let added = super::super::add_user(&store, "http://localhost", email, role, "test")
            .await
            .unwrap();
        let phc = password::hash(PASSWORD).unwrap();
        store.set_password_hash(added.user.id, &phc).await.unwrap();
        (dir, store, added.user)
    }

    /// A store with one user who is set up, and a time with the code that goes with it.
    async fn set_up() -> (tempfile::TempDir, Store, StaffUser) {
        let (dir, store, user) = with_password("ann@impero.com", Role::Admin).await;
        store.set_totp(user.id, SECRET).await.unwrap();
        (dir, store, user)
    }

    fn at(second: i64) -> (Timestamp, String) {
        let t = Timestamp::from_second(second).unwrap();
        (t, totp::code_at(SECRET, second).unwrap())
    }

    #[tokio::test]
    async fn the_right_credentials_start_a_session_and_a_code_works_once() {
        let (_dir, store, ann) = set_up().await;
        let (now, code) = at(Timestamp::now().as_second());
        let s = login(&store, "Ann@Impero.com", PASSWORD, &code, now)
            .await
            .unwrap();
        assert_eq!(s.user.id, ann.id);
        let found = session(&store, s.id.expose_secret()).await.unwrap();
        assert_eq!(found.map(|f| f.user_id), Some(ann.id));

        // The same code again: refused, even with everything else right.
        let again = login(&store, "ann@impero.com", PASSWORD, &code, now).await;
        assert!(matches!(again, Err(LoginError::Refused)), "{again:?}");

        logout(&store, s.id.expose_secret()).await.unwrap();
        assert_eq!(session(&store, s.id.expose_secret()).await.unwrap(), None);
        store.close().await;
    }

    #[tokio::test]
    async fn every_failure_looks_the_same_and_repeated_ones_lock() {
        let (_dir, store, ann) = set_up().await;
        let base = Timestamp::now().as_second();
        let (now, code) = at(base);
        for (email, password, code) in [
            ("bo@impero.com", PASSWORD, code.as_str()),
            ("ann@impero.com", "wrong password!", code.as_str()),
            ("ann@impero.com", PASSWORD, "000000"),
            ("ann@impero.com", PASSWORD, ""),
        ] {
            let r = login(&store, email, password, code, now).await;
            assert!(matches!(r, Err(LoginError::Refused)), "{r:?}");
        }
        let u = store.staff_user(ann.id).await.unwrap().unwrap();
        assert_eq!(u.failed_logins, 3, "the unknown address counts nowhere");

        // Two more wrong tries lock the user: then even the right credentials are refused.
        for _ in 0..2 {
            let r = login(&store, "ann@impero.com", "wrong password!", &code, now).await;
            assert!(matches!(r, Err(LoginError::Refused)));
        }
        let (soon, code) = at(base + 60);
        let r = login(&store, "ann@impero.com", PASSWORD, &code, soon).await;
        assert!(matches!(r, Err(LoginError::Refused)), "locked: {r:?}");

        // After the lock, the right credentials work again and clear the count.
        let (later, code) = at(base + LOCKOUT.as_secs() + 60);
        let s = login(&store, "ann@impero.com", PASSWORD, &code, later).await;
        assert!(s.is_ok(), "{s:?}");
        let u = store.staff_user(ann.id).await.unwrap().unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (0, None));
        store.close().await;
    }

    #[tokio::test]
    async fn a_user_who_is_not_set_up_cannot_log_in() {
        let (_dir, store, _) = with_password("bo@impero.com", Role::Viewer).await;
        let (now, code) = at(Timestamp::now().as_second());
        let r = login(&store, "bo@impero.com", PASSWORD, &code, now).await;
        assert!(
            matches!(r, Err(LoginError::Refused)),
            "no second factor: {r:?}"
        );
        store.close().await;
    }
}
