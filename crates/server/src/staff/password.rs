//! Staff passwords: argon2id with OWASP's parameters (19 MiB of memory, 2 passes, 1 lane), a
//! random 16-byte salt per password, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`)
//! that carries its own parameters, so hashes made with other parameters still verify.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// Memory per hash, in KiB (OWASP: 19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory (OWASP: 2).
pub const ITERATIONS: u32 = 2;
/// Lanes (OWASP: 1).
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted when one is set (NIST SP 800-63B asks for at least 8; staff
/// accounts guard personal data, so more).
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted: long enough for any passphrase, short enough that hashing it
/// costs nothing extra.
pub const MAX_LENGTH: usize = 1024;

/// Why a password could not be hashed or set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("a password may have at most {MAX_LENGTH} bytes")]
    TooLong,
    #[error("no randomness available for the salt")]
    Random,
    #[error("password hashing failed")]
    Hash,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits; `expect` documents that.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password's length (in characters, as people count them).
pub fn check_new(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

/// The PHC string of `password`, with a fresh random salt. Slow on purpose (tens of
/// milliseconds): call it from a blocking task in async code.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_new(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| PasswordError::Random)?;
    let phc = argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|_| PasswordError::Hash)?;
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string. The comparison of the derived hashes is
/// constant-time (done by the argon2 crate); a malformed stored string never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_owasp_parameters_and_verifies() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapler", &phc));
        assert!(!verify("", &phc));
        assert!(!verify("correct horse battery staple", "not a hash"));
        // A fresh salt each time.
        assert_ne!(phc, hash("correct horse battery staple").unwrap());
    }

    #[test]
    fn a_hash_with_other_parameters_still_verifies() {
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let phc = cheap
            .hash_password_with_salt(b"an older password", b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert!(verify("an older password", &phc));
        assert!(!verify("another password", &phc));
    }

    #[test]
    fn lengths_are_checked() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
        assert!(matches!(
            check_new("æøåæøåæøåæø"),
            Err(PasswordError::TooShort)
        ));
        assert!(check_new("æøåæøåæøåæøå").is_ok(), "characters, not bytes");
        let long = "x".repeat(MAX_LENGTH + 1);
        assert!(matches!(hash(&long), Err(PasswordError::TooLong)));
        assert!(!verify(&long, "$argon2id$v=19$m=19456,t=2,p=1$x$y"));
    }
}
