//! Staff accounts: adding users with a one-time setup link, their passwords ([`password`]),
//! logging in ([`login`]) and API tokens ([`tokens`]). The console's login, enrolment and
//! sessions build on these; roles, scopes, TOTP and recovery codes are pure rules in
//! [`ombud_domain::staff`].

pub mod login;
pub mod password;
pub mod tokens;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::staff::{Role, canonical_email, recovery, secret_hash};
use ombud_store::{NewStaffUser, StaffUser, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

/// How long a setup link works.
pub const SETUP_VALID: SignedDuration = SignedDuration::from_hours(24);

/// Why a staff operation did not happen. Messages never quote an address or a secret.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("that is not an e-mail address")]
    InvalidEmail,
    #[error("a staff user with that e-mail address exists already")]
    Taken,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("no randomness available for a secret")]
    Random,
    #[error(transparent)]
    Store(StoreError),
}

/// A user just added, with the setup link to hand them (shown once, never stored).
#[derive(Debug)]
pub struct AddedUser {
    pub user: StaffUser,
    pub setup_url: SecretString,
    pub setup_expires_at: Timestamp,
}

/// A new bearer secret: 32 random bytes as 64 lowercase hex digits.
pub fn new_secret() -> Result<SecretString, StaffError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| StaffError::Random)?;
    Ok(SecretString::from(hex::encode(bytes)))
}

/// The setup link of `token` on the server reached at `public_url`.
pub fn setup_url(public_url: &str, token: &str) -> String {
    format!("{}/console/setup/{token}", public_url.trim_end_matches('/'))
}

/// Adds a staff user with `role`, not yet able to log in, and returns their one-time setup
/// link (valid for [`SETUP_VALID`]). The store keeps only the token's hash; `actor` is
/// recorded in the audit log (with the new user's id and role, not the address).
pub async fn add_user(
    store: &Store,
    public_url: &str,
    email: &str,
    role: Role,
    actor: &str,
) -> Result<AddedUser, StaffError> {
    let email = canonical_email(email).ok_or(StaffError::InvalidEmail)?;
    let token = new_secret()?;
    let expires = Timestamp::now() + SETUP_VALID;
    let user = store
        .create_staff_user(NewStaffUser {
            email: &email,
            role,
            setup_token_hash: &secret_hash(token.expose_secret()),
            setup_expires_at: expires,
            actor,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict => StaffError::Taken,
            StoreError::Invalid(rule) => StaffError::Invalid(rule),
            e => StaffError::Store(e),
        })?;
    Ok(AddedUser {
        user,
        setup_url: SecretString::from(setup_url(public_url, token.expose_secret())),
        setup_expires_at: expires,
    })
}

/// Starts a staff user over (a lost authenticator and lost recovery codes): their password,
/// second factor, recovery codes and sessions are gone, and a new one-time setup link (valid for
/// [`SETUP_VALID`]) is returned. Audited as `staff.reset` by `actor`.
pub async fn reset_user(
    store: &Store,
    public_url: &str,
    user_id: i64,
    actor: &str,
) -> Result<AddedUser, StaffError> {
    let token = new_secret()?;
    let expires = Timestamp::now() + SETUP_VALID;
    let user = store
        .change_staff_user(
            user_id,
            ombud_store::StaffChange::Reset {
                setup_token_hash: secret_hash(token.expose_secret()),
                expires_at: expires,
            },
            actor,
        )
        .await
        .map_err(StaffError::Store)?;
    Ok(AddedUser {
        user,
        setup_url: SecretString::from(setup_url(public_url, token.expose_secret())),
        setup_expires_at: expires,
    })
}

/// What a new staff member gets when they finish setting up: the recovery codes, shown once.
#[derive(Debug)]
pub struct Enrolled {
    pub user: StaffUser,
    pub recovery_codes: Vec<SecretString>,
}

/// Why a setup was refused. The messages are for the person setting up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("This setup link is not valid any more. Ask an administrator for a new one.")]
    LinkInvalid,
    #[error("The password is too short: use at least 12 characters.")]
    PasswordTooShort,
    #[error("The two passwords are not the same.")]
    PasswordsDiffer,
    #[error("That code is not right. Check the time on your phone and enter the current code.")]
    CodeWrong,
    #[error(transparent)]
    Staff(#[from] StaffError),
}

/// The shortest password accepted (NIST SP 800-63B asks for at least 8; a console that can
/// read everyone's requests asks for more).
pub const MIN_PASSWORD: usize = 12;

/// A new TOTP secret (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> Result<[u8; 20], StaffError> {
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret).map_err(|_| StaffError::Random)?;
    Ok(secret)
}

/// The user a setup token belongs to, if it is still usable (without using it).
pub async fn setup_user(store: &Store, token: &str) -> Result<Option<StaffUser>, StaffError> {
    let Some(id) = store
        .setup_token_user(&secret_hash(token))
        .await
        .map_err(StaffError::Store)?
    else {
        return Ok(None);
    };
    store.staff_user(id).await.map_err(StaffError::Store)
}

/// Finishes a staff member's setup: checks the password and the first TOTP code against the
/// secret shown to them, uses the setup token, stores the password's hash, the secret, the
/// code's time step (so it can't be used again to log in) and the hashes of new recovery codes.
///
/// Nothing is stored unless everything is right; the token is used only then.
pub async fn enrol(
    store: &Store,
    token: &str,
    password: &str,
    repeated: &str,
    totp_secret: &[u8],
    code: &str,
    now: Timestamp,
) -> Result<Enrolled, SetupError> {
    if setup_user(store, token).await?.is_none() {
        return Err(SetupError::LinkInvalid);
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(SetupError::PasswordTooShort);
    }
    if password != repeated {
        return Err(SetupError::PasswordsDiffer);
    }
    let Some(step) = ombud_domain::staff::totp::verify(totp_secret, code, now.as_second(), None)
    else {
        return Err(SetupError::CodeWrong);
    };
    let phc = {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|_| StaffError::Invalid("the password could not be hashed"))?
            .map_err(|_| StaffError::Invalid("the password could not be hashed"))?
    };
    let store_err = |e| SetupError::Staff(StaffError::Store(e));
    let Some(user_id) = store
        .consume_setup_token(&secret_hash(token))
        .await
        .map_err(store_err)?
    else {
        return Err(SetupError::LinkInvalid);
    };
    store
        .set_password_hash(user_id, &phc)
        .await
        .map_err(store_err)?;
    store
        .set_totp(user_id, totp_secret)
        .await
        .map_err(store_err)?;
    store
        .record_totp_step(user_id, step)
        .await
        .map_err(store_err)?;
    let mut codes = Vec::with_capacity(recovery::COUNT);
    let mut hashes = Vec::with_capacity(recovery::COUNT);
    for _ in 0..recovery::COUNT {
        let mut random = [0u8; recovery::RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|_| StaffError::Random)?;
        let code = recovery::generate(random);
        hashes.push(secret_hash(&code));
        codes.push(SecretString::from(code));
    }
    store
        .replace_recovery_codes(user_id, &hashes)
        .await
        .map_err(store_err)?;
    let user = store
        .staff_user(user_id)
        .await
        .map_err(store_err)?
        .ok_or(SetupError::LinkInvalid)?;
    tracing::info!(staff_user = user_id, "staff user set up");
    Ok(Enrolled {
        user,
        recovery_codes: codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_64_hex_digits_and_differ() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.expose_secret().len(), 64);
        assert!(a.expose_secret().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn the_short_password_message_names_the_minimum() {
        let shown = SetupError::PasswordTooShort.to_string();
        assert!(
            shown.contains(&format!("at least {MIN_PASSWORD} characters")),
            "{shown}"
        );
    }

    #[test]
    fn setup_links_live_under_the_console() {
        assert_eq!(
            setup_url("https://privacy.example.com/", "ab12"),
            "https://privacy.example.com/console/setup/ab12"
        );
    }
}
