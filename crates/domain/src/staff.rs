//! Staff accounts: roles and what each may do, API token scopes, the TOTP second factor
//! (RFC 6238), recovery codes, and the hashing of the bearer secrets the store keeps.
//!
//! Pure like the rest of the crate: times are passed in as unix seconds and randomness as
//! bytes, so every rule here is a deterministic function of its arguments.

use std::fmt;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::policy::{Keyword, keyword};

keyword! {
    /// What a staff member is allowed to do in the console.
    pub enum Role: "role" {
        /// Everything, users and API tokens included.
        Admin = "admin",
        /// Requests, consent and records; not users or tokens.
        PrivacyOfficer = "privacy_officer",
        /// Reads everything, changes nothing.
        Viewer = "viewer",
    }
}

keyword! {
    /// What a console page or API call does, for the permission check. Every route names one.
    pub enum Action: "action" {
        /// Look at anything: requests, consent, records, the audit log.
        Read = "read",
        /// Create requests and act on them (verify, extend, refuse, execute, letters).
        WriteRequests = "requests:write",
        /// Record consent, link subjects, export proof.
        WriteConsent = "consent:write",
        /// Change the record of processing, the data map, retention and policy versions.
        WriteRecords = "records:write",
        /// Add, change and disable staff users; create and revoke API tokens.
        ManageUsers = "users:manage",
    }
}

impl Role {
    /// Whether a staff member with this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        match self {
            Role::Admin => true,
            Role::PrivacyOfficer => action != Action::ManageUsers,
            Role::Viewer => action == Action::Read,
        }
    }
}

keyword! {
    /// What an API token may do. A token carries one or more scopes; each allows exactly the
    /// actions named in [`Scope::allows`] (a write scope does not imply `read`).
    pub enum Scope: "scope" {
        /// Read requests, consent states and records.
        Read = "read",
        /// Record consent (the consent API).
        ConsentWrite = "consent:write",
        /// Submit requests and act on them.
        RequestsWrite = "requests:write",
        /// Change records (policy versions, data map, retention).
        RecordsWrite = "records:write",
    }
}

impl Scope {
    /// Whether this scope allows `action`. No scope allows managing users or tokens: that is
    /// done by a person in the console or on the command line.
    pub fn allows(self, action: Action) -> bool {
        matches!(
            (self, action),
            (Scope::Read, Action::Read)
                | (Scope::ConsentWrite, Action::WriteConsent)
                | (Scope::RequestsWrite, Action::WriteRequests)
                | (Scope::RecordsWrite, Action::WriteRecords)
        )
    }
}

/// A token's scopes: a non-empty set, kept sorted and without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

/// A scope list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScopes {
    #[error("a token needs at least one scope")]
    Empty,
    #[error("`{0}` is not a scope; use {list}", list = Scope::keys().join(", "))]
    Unknown(String),
}

impl Scopes {
    /// Scopes separated by spaces or commas, e.g. `read consent:write`.
    pub fn parse(s: &str) -> Result<Scopes, InvalidScopes> {
        let mut out = Vec::new();
        for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
            out.push(Scope::parse(word).ok_or_else(|| InvalidScopes::Unknown(word.to_owned()))?);
        }
        Scopes::new(out)
    }

    pub fn new(mut scopes: Vec<Scope>) -> Result<Scopes, InvalidScopes> {
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(InvalidScopes::Empty);
        }
        Ok(Scopes(scopes))
    }

    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }

    /// Whether any of the scopes allows `action`.
    pub fn allow(&self, action: Action) -> bool {
        self.0.iter().any(|s| s.allows(action))
    }
}

/// The canonical form, space-separated in a fixed order: what the store keeps.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.key())?;
        }
        Ok(())
    }
}

/// The stored form of a high-entropy bearer secret (setup token, session id, API token,
/// recovery code): its SHA-256. These secrets carry at least 80 random bits, so a plain hash
/// cannot be reversed by guessing, and a lookup by hash needs no per-row salt.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Equal length and equal bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Staff e-mail addresses are compared without regard to case: the stored, canonical form is
/// the trimmed address in lowercase. `None` if it is not an e-mail address.
pub fn canonical_email(s: &str) -> Option<String> {
    crate::email::EmailAddress::parse(s)
        .ok()
        .map(|e| e.as_str().to_lowercase())
}

/// Time-based one-time passwords (RFC 6238) with HMAC-SHA-1, 6 digits and 30-second steps: what
/// every authenticator app supports.
pub mod totp {
    use super::*;

    /// Digits of a code.
    pub const DIGITS: u32 = 6;
    /// Seconds per time step.
    pub const STEP_SECONDS: i64 = 30;
    /// Steps accepted either side of the current one, for clocks that are a little off.
    pub const WINDOW: i64 = 1;
    /// Bytes of a new secret (160 bits, as RFC 4226 recommends).
    pub const SECRET_BYTES: usize = 20;

    /// HMAC-SHA-1 (RFC 2104).
    pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
        const BLOCK: usize = 64;
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            k[..20].copy_from_slice(&Sha1::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha1::new();
        inner.update(k.map(|b| b ^ 0x36));
        inner.update(message);
        let mut outer = Sha1::new();
        outer.update(k.map(|b| b ^ 0x5c));
        outer.update(inner.finalize());
        outer.finalize().into()
    }

    /// The HOTP value (RFC 4226) of `counter`, with `digits` digits (at most 9), as a number.
    pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
        let mac = hmac_sha1(secret, &counter.to_be_bytes());
        let offset = usize::from(mac[19] & 0x0f);
        let bin = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        bin % 10u32.pow(digits.min(9))
    }

    /// The time step that `unix_seconds` falls in; `None` before 1970.
    pub fn step_at(unix_seconds: i64) -> Option<u64> {
        u64::try_from(unix_seconds.div_euclid(STEP_SECONDS)).ok()
    }

    /// The 6-digit code of a time step, zero-padded.
    pub fn code_at_step(secret: &[u8], step: u64) -> String {
        format!("{:06}", hotp(secret, step, DIGITS))
    }

    /// The code an authenticator shows at `unix_seconds`.
    pub fn code_at(secret: &[u8], unix_seconds: i64) -> Option<String> {
        step_at(unix_seconds).map(|s| code_at_step(secret, s))
    }

    /// Checks `given` against the steps from [`WINDOW`] before to [`WINDOW`] after the one at
    /// `unix_seconds`, skipping every step up to and including `last_used_step` (a code, once
    /// accepted, is never accepted again). Returns the matched step: the caller stores it as
    /// the last used one (compare-and-set, so two logins racing with one code can't both win)
    /// before letting anyone in.
    ///
    /// Spaces in `given` are ignored; anything but 6 digits never matches. Every candidate
    /// step is computed and compared in constant time, whichever matches.
    pub fn verify(
        secret: &[u8],
        given: &str,
        unix_seconds: i64,
        last_used_step: Option<u64>,
    ) -> Option<u64> {
        let given: String = given.chars().filter(|c| !c.is_whitespace()).collect();
        if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = step_at(unix_seconds)?;
        let mut matched = None;
        for delta in -WINDOW..=WINDOW {
            let Some(step) = now.checked_add_signed(delta) else {
                continue;
            };
            let fresh = last_used_step.is_none_or(|last| step > last);
            let equal = constant_time_eq(code_at_step(secret, step).as_bytes(), given.as_bytes());
            if fresh && equal && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }

    /// RFC 4648 base32 without padding: how authenticator apps take the secret.
    pub fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The `otpauth://` URI that an enrolment QR code carries (Key Uri Format): issuer and
    /// account are percent-encoded, and the parameters are the ones [`verify`] uses.
    pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1\
             &digits={DIGITS}&period={STEP_SECONDS}",
            account = percent_encode(account),
            secret = base32(secret),
        )
    }

    fn percent_encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Recovery codes: one-time codes for a staff member who lost their authenticator. Shown once
/// at enrolment, stored as [`secret_hash`] of the normalised form.
pub mod recovery {
    /// Codes issued at enrolment.
    pub const COUNT: usize = 10;
    /// Random bytes behind one code (80 bits).
    pub const RANDOM_BYTES: usize = 10;
    /// Crockford's base32: digits and lowercase letters without i, l, o and u, so that a code
    /// read aloud or copied by hand survives.
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    /// Characters of a code, without the hyphens.
    const CHARS: usize = 16;

    /// A code from 10 random bytes, as shown: four groups of four, e.g. `7k2m-q9xd-a1b2-c3d4`.
    pub fn generate(random: [u8; RANDOM_BYTES]) -> String {
        let mut chars = Vec::with_capacity(CHARS);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for b in random {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                chars.push(ALPHABET[((buffer >> bits) & 31) as usize]);
            }
        }
        group(&chars)
    }

    /// What a person typed, in the form that was generated: case, spaces and hyphens don't
    /// matter, and the letters Crockford's alphabet leaves out stand for the digits they look
    /// like (`o` → `0`, `i` and `l` → `1`). `None` if it can't be a code.
    pub fn normalise(typed: &str) -> Option<String> {
        let mut chars = Vec::with_capacity(CHARS);
        for c in typed.chars() {
            let c = match c.to_ascii_lowercase() {
                ' ' | '-' => continue,
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            };
            let b = u8::try_from(c).ok().filter(|b| ALPHABET.contains(b))?;
            chars.push(b);
        }
        (chars.len() == CHARS).then(|| group(&chars))
    }

    fn group(chars: &[u8]) -> String {
        let mut out = String::with_capacity(CHARS + 3);
        for (i, c) in chars.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(*c));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_issue_says() {
        use Action as A;
        for a in Action::all() {
            assert!(Role::Admin.may(*a), "admin may {a}");
            assert_eq!(Role::Viewer.may(*a), *a == A::Read, "viewer and {a}");
        }
        for a in [A::Read, A::WriteRequests, A::WriteConsent, A::WriteRecords] {
            assert!(Role::PrivacyOfficer.may(a), "privacy officer may {a}");
        }
        assert!(!Role::PrivacyOfficer.may(A::ManageUsers));
        assert_eq!(Role::parse("privacy_officer"), Some(Role::PrivacyOfficer));
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn scopes_allow_only_their_own_actions() {
        let s = Scopes::parse("consent:write").unwrap();
        assert!(s.allow(Action::WriteConsent));
        assert!(!s.allow(Action::Read), "a write scope does not imply read");
        assert!(!s.allow(Action::WriteRequests));
        let all = Scopes::new(Scope::all().to_vec()).unwrap();
        assert!(!all.allow(Action::ManageUsers), "no token manages users");
        assert!(Scopes::parse("read").unwrap().allow(Action::Read));
        assert!(
            Scopes::parse("requests:write")
                .unwrap()
                .allow(Action::WriteRequests)
        );
    }

    #[test]
    fn scope_lists_parse_to_one_canonical_form() {
        let a = Scopes::parse("requests:write, read  consent:write read").unwrap();
        assert_eq!(a.to_string(), "read consent:write requests:write");
        assert_eq!(Scopes::parse(&a.to_string()).unwrap(), a);
        assert_eq!(Scopes::parse(" , "), Err(InvalidScopes::Empty));
        assert_eq!(
            Scopes::parse("read admin"),
            Err(InvalidScopes::Unknown("admin".into()))
        );
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let mac = totp::hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let mac = totp::hmac_sha1(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(hex::encode(mac), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }

    #[test]
    fn hotp_matches_rfc_4226() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(totp::hotp(b"12345678901234567890", counter as u64, 6), want);
        }
    }

    /// RFC 6238 appendix B, SHA-1 rows: 8 digits exactly, and our 6-digit codes are their
    /// last six.
    #[test]
    fn totp_matches_rfc_6238() {
        let secret = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (t, want) in vectors {
            let step = totp::step_at(t).unwrap();
            assert_eq!(format!("{:08}", totp::hotp(secret, step, 8)), want, "T={t}");
            assert_eq!(totp::code_at(secret, t).unwrap(), want[2..], "T={t}");
            assert_eq!(totp::verify(secret, &want[2..], t, None), Some(step));
        }
        assert_eq!(totp::step_at(59), Some(1));
        assert_eq!(totp::step_at(-1), None);
    }

    #[test]
    fn totp_accepts_one_step_either_side_and_never_a_used_step() {
        let secret = b"12345678901234567890";
        let t = 1_111_111_111;
        let step = totp::step_at(t).unwrap();
        let code = totp::code_at_step(secret, step);
        assert_eq!(totp::verify(secret, &code, t - 30, None), Some(step));
        assert_eq!(totp::verify(secret, &code, t + 30, None), Some(step));
        assert_eq!(totp::verify(secret, &code, t + 60, None), None);
        assert_eq!(totp::verify(secret, &code, t - 60, None), None);
        // Replay: the step was used, so its code is refused however often it is sent.
        assert_eq!(totp::verify(secret, &code, t, Some(step)), None);
        assert_eq!(totp::verify(secret, &code, t, Some(step + 1)), None);
        // The next step's code is still good after this one was used.
        let next = totp::code_at_step(secret, step + 1);
        assert_eq!(totp::verify(secret, &next, t, Some(step)), Some(step + 1));
        // Spaces are ignored; other shapes never match.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(totp::verify(secret, &spaced, t, None), Some(step));
        for bad in ["", "12345", "1234567", "abcdef", "０１２３４５"] {
            assert_eq!(totp::verify(secret, bad, t, None), None, "{bad:?}");
        }
        assert_eq!(totp::verify(b"another secret", &code, t, None), None);
    }

    #[test]
    fn base32_matches_rfc_4648() {
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(totp::base32(input.as_bytes()), want);
        }
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = totp::otpauth_uri("Impero A/S", "ann@impero.com", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Impero%20A%2FS:ann@impero.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Impero%20A%2FS&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_have_one_form_and_normalise_back_to_it() {
        let code = recovery::generate([0; 10]);
        assert_eq!(code, "0000-0000-0000-0000");
        let code = recovery::generate([0xff; 10]);
        assert_eq!(code, "zzzz-zzzz-zzzz-zzzz");
        let code = recovery::generate([1, 35, 69, 103, 137, 171, 205, 239, 0, 255]);
        assert_eq!(code.len(), 19);
        assert_eq!(recovery::normalise(&code).as_deref(), Some(code.as_str()));
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(recovery::normalise(&typed).as_deref(), Some(code.as_str()));
        assert_eq!(
            recovery::normalise("OOOO iiii LLLL 0000").as_deref(),
            Some("0000-1111-1111-0000")
        );
        for bad in [
            "",
            "0000-0000-0000-000",
            "0000-0000-0000-00000",
            "uuuu-0000-0000-0000",
        ] {
            assert_eq!(recovery::normalise(bad), None, "{bad:?}");
        }
        assert_ne!(
            secret_hash(&recovery::generate([1; 10])),
            secret_hash(&recovery::generate([2; 10]))
        );
    }

    #[test]
    fn staff_addresses_compare_without_case() {
        assert_eq!(
            canonical_email(" Ann@Impero.COM ").as_deref(),
            Some("ann@impero.com")
        );
        assert_eq!(canonical_email("ann"), None);
    }
}
