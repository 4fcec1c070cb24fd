//! Rights requests: what can be asked, the states a request moves through, identity codes, the
//! deadlines and the repetition rule. The store keeps requests; this module decides what may
//! happen to them.

use jiff::civil::Date;
use sha2::{Digest, Sha256};

use crate::calendar::Calendar;
use crate::deadline::{Deadlines, deadlines};
use crate::policy::{Right, keyword};

keyword! {
    /// What a person asks for: one of the rights, or withdrawing consent.
    pub enum RequestType: "request type" {
        Access = "access",
        Rectification = "rectification",
        Erasure = "erasure",
        Restriction = "restriction",
        Portability = "portability",
        Objection = "objection",
        AutomatedDecisions = "automated_decisions",
        WithdrawConsent = "withdraw_consent",
    }
}

impl RequestType {
    /// The right exercised, if any (withdrawing consent is Art. 7(3), not a Chapter III right).
    pub fn right(self) -> Option<Right> {
        Some(match self {
            Self::Access => Right::Access,
            Self::Rectification => Right::Rectification,
            Self::Erasure => Right::Erasure,
            Self::Restriction => Right::Restriction,
            Self::Portability => Right::Portability,
            Self::Objection => Right::Objection,
            Self::AutomatedDecisions => Right::AutomatedDecisions,
            Self::WithdrawConsent => return None,
        })
    }

    pub fn label(self) -> &'static str {
        self.right().map_or("Withdrawal of consent", Right::label)
    }

    pub fn article(self) -> &'static str {
        self.right().map_or("GDPR Art. 7(3)", Right::article)
    }
}

keyword! {
    /// How a request reached the organisation.
    pub enum Channel: "channel" {
        Web = "web",
        Api = "api",
        Email = "email",
        Phone = "phone",
        Letter = "letter",
        InPerson = "in_person",
    }
}

keyword! {
    /// Where a request stands.
    pub enum RequestState: "request state" {
        Received = "received",
        AwaitingVerification = "awaiting_verification",
        Verified = "verified",
        InProgress = "in_progress",
        WaitingForTasks = "waiting_for_tasks",
        Completed = "completed",
        Refused = "refused",
        Forwarded = "forwarded",
        Withdrawn = "withdrawn",
        Expired = "expired",
    }
}

impl RequestState {
    /// No further transitions.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Refused | Self::Forwarded | Self::Withdrawn | Self::Expired
        )
    }

    /// Identity is established (by code or by staff).
    pub fn is_verified(self) -> bool {
        matches!(
            self,
            Self::Verified | Self::InProgress | Self::WaitingForTasks | Self::Completed
        )
    }
}

/// Something that happens to a request and may move it to another state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An identity code was sent.
    SendCode,
    /// Identity confirmed, by code or by staff (`how` says which).
    Verify {
        how: String,
    },
    /// Work started.
    Start,
    /// Waiting for manual tasks in systems without a connector.
    WaitForTasks,
    Complete,
    /// Refused with a reason (manifestly unfounded or excessive, identity not established…).
    Refuse {
        reason: String,
    },
    /// Sent to the controller: the data was put in the platform by a customer.
    Forward {
        to: String,
    },
    /// The person withdrew the request.
    Withdraw,
    /// Not verified in time.
    Expire,
}

impl Action {
    pub fn key(&self) -> &'static str {
        match self {
            Self::SendCode => "code_sent",
            Self::Verify { .. } => "verified",
            Self::Start => "started",
            Self::WaitForTasks => "waiting_for_tasks",
            Self::Complete => "completed",
            Self::Refuse { .. } => "refused",
            Self::Forward { .. } => "forwarded",
            Self::Withdraw => "withdrawn",
            Self::Expire => "expired",
        }
    }
}

/// The action is not allowed in the request's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot be {action}")]
pub struct InvalidTransition {
    pub from: RequestState,
    pub action: &'static str,
}

/// The state after `action`, or why it is not allowed.
pub fn transition(from: RequestState, action: &Action) -> Result<RequestState, InvalidTransition> {
    use RequestState as S;
    let to = match (from, action) {
        (S::Received | S::AwaitingVerification, Action::SendCode) => S::AwaitingVerification,
        (S::Received | S::AwaitingVerification, Action::Verify { .. }) => S::Verified,
        (S::Verified, Action::Start) => S::InProgress,
        (S::InProgress, Action::WaitForTasks) => S::WaitingForTasks,
        (S::Verified | S::InProgress | S::WaitingForTasks, Action::Complete) => S::Completed,
        (
            S::Received
            | S::AwaitingVerification
            | S::Verified
            | S::InProgress
            | S::WaitingForTasks,
            Action::Refuse { .. },
        ) => S::Refused,
        (S::Received | S::AwaitingVerification | S::Verified, Action::Forward { .. }) => {
            S::Forwarded
        }
        (open, Action::Withdraw) if !open.is_closed() => S::Withdrawn,
        (S::Received | S::AwaitingVerification, Action::Expire) => S::Expired,
        _ => {
            return Err(InvalidTransition {
                from,
                action: action.key(),
            });
        }
    };
    Ok(to)
}

/// The due dates of a request: the promise and the legal limit.
pub fn due_dates(calendar: &Calendar, received: Date, working_days: u32) -> Deadlines {
    deadlines(calendar, received, working_days)
}

/// Why an extension is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("the request was already extended")]
    AlreadyExtended,
    #[error(
        "the first month ended on {0}: GDPR Art. 12(3) allows an extension only if the person is told within the first month"
    )]
    TooLate(Date),
    #[error("an extension needs a reason, which is sent to the person")]
    NoReason,
    #[error("a closed request cannot be extended")]
    Closed,
}

/// Whether a request received on `received` may be extended on `today`: once, with a reason,
/// while it is open, and within the first month (up to and including the legal due date).
pub fn may_extend(
    state: RequestState,
    already_extended: bool,
    legal_due: Date,
    today: Date,
    reason: &str,
) -> Result<(), ExtensionError> {
    if state.is_closed() {
        return Err(ExtensionError::Closed);
    }
    if already_extended {
        return Err(ExtensionError::AlreadyExtended);
    }
    if reason.trim().is_empty() {
        return Err(ExtensionError::NoReason);
    }
    if today > legal_due {
        return Err(ExtensionError::TooLate(legal_due));
    }
    Ok(())
}

/// Whether a new request repeats an earlier one: the same type from the same person, received
/// within `window_days` before it. Repetition is a sign of an excessive request (Art. 12(5));
/// staff decide, with a reason.
pub fn is_repeat(
    earlier: &[(RequestType, Date)],
    kind: RequestType,
    received: Date,
    window_days: i64,
) -> bool {
    earlier.iter().any(|(k, d)| {
        *k == kind
            && *d <= received
            && received
                .since(*d)
                .is_ok_and(|span| i64::from(span.get_days()) <= window_days)
    })
}

/// Identity codes sent by e-mail.
pub mod code {
    use super::*;

    /// Digits in a code.
    pub const DIGITS: usize = 6;
    /// How long a code is valid.
    pub const VALID_MINUTES: i64 = 15;
    /// Wrong tries before the code is locked out.
    pub const MAX_ATTEMPTS: u32 = 5;
    /// Least time between two codes for one request.
    pub const RESEND_AFTER_SECONDS: i64 = 60;
    /// Most codes one request may be sent.
    pub const MAX_SENDS: u32 = 5;

    /// A 6-digit code from 4 random bytes, without modulo bias: values past the largest multiple
    /// of a million are rejected and the caller draws again.
    pub fn from_random(bytes: [u8; 4]) -> Option<String> {
        let n = u32::from_be_bytes(bytes);
        let limit = u32::MAX - (u32::MAX % 1_000_000);
        (n < limit).then(|| format!("{:06}", n % 1_000_000))
    }

    /// The stored form of a code: HMAC-SHA256 keyed with the server's secret, bound to the
    /// request. A 6-digit code has a million values; a plain hash would fall to a lookup table,
    /// a keyed one needs the secret too.
    pub fn hash(secret: &[u8], request_reference: &str, code: &str) -> [u8; 32] {
        hmac_sha256(secret, format!("{request_reference}:{code}").as_bytes())
    }

    /// The outcome of entering a code.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Check {
        Correct,
        Wrong { attempts_left: u32 },
        Expired,
        LockedOut,
    }

    /// Checks `given` (already hashed) against the stored code, which was issued at `issued_us`
    /// and has had `attempts` wrong tries.
    pub fn check(
        stored: &[u8; 32],
        given: &[u8; 32],
        issued_us: i64,
        attempts: u32,
        now_us: i64,
    ) -> Check {
        if attempts >= MAX_ATTEMPTS {
            return Check::LockedOut;
        }
        if now_us > issued_us.saturating_add(VALID_MINUTES * 60 * 1_000_000) {
            return Check::Expired;
        }
        if constant_time_eq(stored, given) {
            Check::Correct
        } else {
            let left = MAX_ATTEMPTS - attempts - 1;
            if left == 0 {
                Check::LockedOut
            } else {
                Check::Wrong {
                    attempts_left: left,
                }
            }
        }
    }

    /// Whether another code may be sent now, or how many seconds to wait.
    pub fn may_resend(
        last_sent_us: Option<i64>,
        sends: u32,
        now_us: i64,
    ) -> Result<(), Option<i64>> {
        if sends >= MAX_SENDS {
            return Err(None);
        }
        match last_sent_us {
            Some(last) if now_us < last + RESEND_AFTER_SECONDS * 1_000_000 => Err(Some(
                (last + RESEND_AFTER_SECONDS * 1_000_000 - now_us) / 1_000_000 + 1,
            )),
            _ => Ok(()),
        }
    }

    fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

#[cfg(test)]
mod tests {
    use super::code::{Check, MAX_ATTEMPTS};
    use super::*;
    use crate::policy::Keyword;
    use jiff::civil::date;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_state_machine_allows_the_workflow_and_refuses_the_rest() {
        use RequestState as S;
        let mut s = S::Received;
        for a in [
            Action::SendCode,
            Action::Verify { how: "code".into() },
            Action::Start,
            Action::WaitForTasks,
            Action::Complete,
        ] {
            s = transition(s, &a).unwrap();
        }
        assert_eq!(s, S::Completed);
        assert!(
            transition(S::Completed, &Action::Withdraw).is_err(),
            "closed is closed"
        );
        assert!(
            transition(S::AwaitingVerification, &Action::Start).is_err(),
            "no work before verification"
        );
        assert!(transition(S::InProgress, &Action::Expire).is_err());
        assert!(transition(S::InProgress, &Action::Forward { to: "x".into() }).is_err());
        assert_eq!(
            transition(S::Received, &Action::Forward { to: "Acme".into() }),
            Ok(S::Forwarded)
        );
        let e = transition(S::Refused, &Action::Complete).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a request that is refused cannot be completed"
        );
    }

    #[test]
    fn every_closed_state_refuses_every_action() {
        let actions = [
            Action::SendCode,
            Action::Verify { how: String::new() },
            Action::Start,
            Action::WaitForTasks,
            Action::Complete,
            Action::Refuse {
                reason: String::new(),
            },
            Action::Forward { to: String::new() },
            Action::Withdraw,
            Action::Expire,
        ];
        for s in RequestState::all().iter().filter(|s| s.is_closed()) {
            for a in &actions {
                assert!(transition(*s, a).is_err(), "{s} accepted {a:?}");
            }
        }
    }

    #[test]
    fn codes_are_six_digits_checked_in_time_and_locked_after_five_wrong_tries() {
        assert_eq!(code::from_random([0, 0, 0, 42]).as_deref(), Some("000042"));
        assert_eq!(
            code::from_random([0xff; 4]),
            None,
            "the biased tail is rejected"
        );
        let stored = code::hash(b"secret", "R1", "123456");
        assert_eq!(
            code::check(
                &stored,
                &code::hash(b"secret", "R1", "123456"),
                0,
                0,
                60_000_000
            ),
            Check::Correct
        );
        assert_ne!(
            code::hash(b"secret", "R2", "123456"),
            stored,
            "bound to the request"
        );
        let wrong = code::hash(b"secret", "R1", "654321");
        assert_eq!(
            code::check(&stored, &wrong, 0, 0, 1),
            Check::Wrong { attempts_left: 4 }
        );
        assert_eq!(
            code::check(&stored, &wrong, 0, MAX_ATTEMPTS - 1, 1),
            Check::LockedOut
        );
        assert_eq!(
            code::check(&stored, &stored, 0, MAX_ATTEMPTS, 1),
            Check::LockedOut,
            "even the right code"
        );
        assert_eq!(
            code::check(&stored, &stored, 0, 0, 15 * 60 * 1_000_000 + 1),
            Check::Expired
        );
        assert_eq!(code::may_resend(Some(0), 1, 30_000_000), Err(Some(31)));
        assert_eq!(code::may_resend(Some(0), 1, 61_000_000), Ok(()));
        assert_eq!(code::may_resend(None, code::MAX_SENDS, 0), Err(None));
    }

    #[test]
    fn extensions_only_within_the_first_month() {
        let due = date(2026, 4, 30);
        assert!(
            may_extend(
                RequestState::InProgress,
                false,
                due,
                date(2026, 4, 30),
                "complex"
            )
            .is_ok()
        );
        assert_eq!(
            may_extend(
                RequestState::InProgress,
                false,
                due,
                date(2026, 5, 1),
                "complex"
            ),
            Err(ExtensionError::TooLate(due))
        );
        assert_eq!(
            may_extend(RequestState::InProgress, true, due, date(2026, 4, 1), "x"),
            Err(ExtensionError::AlreadyExtended)
        );
        assert_eq!(
            may_extend(RequestState::InProgress, false, due, date(2026, 4, 1), " "),
            Err(ExtensionError::NoReason)
        );
        assert_eq!(
            may_extend(RequestState::Completed, false, due, date(2026, 4, 1), "x"),
            Err(ExtensionError::Closed)
        );
    }

    #[test]
    fn repeats_are_the_same_type_within_the_window() {
        let earlier = [
            (RequestType::Access, date(2026, 1, 10)),
            (RequestType::Erasure, date(2026, 3, 1)),
        ];
        assert!(is_repeat(
            &earlier,
            RequestType::Access,
            date(2026, 3, 1),
            90
        ));
        assert!(!is_repeat(
            &earlier,
            RequestType::Access,
            date(2026, 6, 1),
            90
        ));
        assert!(!is_repeat(
            &earlier,
            RequestType::Portability,
            date(2026, 3, 1),
            90
        ));
    }
}
