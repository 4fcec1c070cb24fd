//! Staff accounts: adding users with a one-time setup link, their passwords ([`password`]),
//! logging in ([`login`]) and API tokens ([`tokens`]). The console's login, enrolment and
//! sessions build on these; roles, scopes, TOTP and recovery codes are pure rules in
//! [`ombud_domain::staff`].

pub mod login;
pub mod password;
pub mod tokens;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::staff::{Role, canonical_email, secret_hash};
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
    fn setup_links_live_under_the_console() {
        assert_eq!(
            setup_url("https://privacy.example.com/", "ab12"),
            "https://privacy.example.com/console/setup/ab12"
        );
    }
}
