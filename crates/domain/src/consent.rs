//! Consent: who it is about, what it covers, and how a ledger of events answers "may we?".
//!
//! The ledger itself lives in the store; this module holds the rules, so they can be tested
//! without one. Nothing here reads the clock: callers pass `now`.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::email::EmailAddress;
use crate::policy::{CookieCategoryId, LegalBasis, Period, PeriodUnit, Policy, PurposeId};

/// Who a consent event is about: a random visitor id from the banner, or an identity.
///
/// Written `kind:value`, e.g. `visitor:3f2a…` (32 lowercase hex digits), `email:ann@example.com`
/// (lowercased), `phone:+4570225364` (digits with a leading `+`), `customer:C-1042`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey(String);

/// The kinds of [`SubjectKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Visitor,
    Email,
    Phone,
    Customer,
}

impl SubjectKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Customer => "customer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSubject {
    #[error("a subject is written kind:value, with kind visitor, email, phone or customer")]
    Form,
    #[error("a visitor id is 32 lowercase hexadecimal digits")]
    Visitor,
    #[error("the e-mail address is not valid")]
    Email,
    #[error("a phone number is written with + and 6 to 15 digits, e.g. +4570225364")]
    Phone,
    #[error("a customer id is 1 to 64 letters, digits, `-`, `_` or `.`")]
    Customer,
}

impl SubjectKey {
    /// Parses `kind:value`, normalising e-mail addresses (lowercase) and phone numbers (spaces,
    /// dashes and brackets dropped).
    pub fn parse(s: &str) -> Result<Self, InvalidSubject> {
        let (kind, value) = s.trim().split_once(':').ok_or(InvalidSubject::Form)?;
        match kind {
            "visitor" => Self::visitor(value),
            "email" => {
                let email = EmailAddress::parse(value).map_err(|_| InvalidSubject::Email)?;
                Ok(Self::email(&email))
            }
            "phone" => {
                let digits: String = value
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
                    .collect();
                let rest = digits.strip_prefix('+').ok_or(InvalidSubject::Phone)?;
                if (6..=15).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_digit()) {
                    Ok(Self(format!("phone:{digits}")))
                } else {
                    Err(InvalidSubject::Phone)
                }
            }
            "customer" => {
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if ok {
                    Ok(Self(format!("customer:{value}")))
                } else {
                    Err(InvalidSubject::Customer)
                }
            }
            _ => Err(InvalidSubject::Form),
        }
    }

    /// A visitor id: 32 lowercase hex digits (128 random bits, made by the server).
    pub fn visitor(hex: &str) -> Result<Self, InvalidSubject> {
        if hex.len() == 32
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            Ok(Self(format!("visitor:{hex}")))
        } else {
            Err(InvalidSubject::Visitor)
        }
    }

    /// A visitor id from 128 random bits.
    pub fn visitor_from_bytes(bytes: [u8; 16]) -> Self {
        Self(format!("visitor:{}", hex::encode(bytes)))
    }

    pub fn email(email: &EmailAddress) -> Self {
        Self(format!("email:{}", email.as_str().to_lowercase()))
    }

    pub fn kind(&self) -> SubjectKind {
        match self.0.split_once(':').map(|(k, _)| k) {
            Some("visitor") => SubjectKind::Visitor,
            Some("email") => SubjectKind::Email,
            Some("phone") => SubjectKind::Phone,
            _ => SubjectKind::Customer,
        }
    }

    /// The value after `kind:`.
    pub fn value(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, v)| v)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output names the kind only: identities are personal data and debug output ends up in
/// logs.
impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({}:***)", self.kind().key())
    }
}

/// What a consent event covers: a purpose, or a cookie category of the banner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Purpose(PurposeId),
    Cookies(CookieCategoryId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a consent target is written purpose:<id> or cookies:<category id>")]
pub struct InvalidTarget;

impl Target {
    pub fn parse(s: &str) -> Result<Self, InvalidTarget> {
        match s.split_once(':') {
            Some(("purpose", id)) => PurposeId::parse(id)
                .map(Self::Purpose)
                .map_err(|_| InvalidTarget),
            Some(("cookies", id)) => CookieCategoryId::parse(id)
                .map(Self::Cookies)
                .map_err(|_| InvalidTarget),
            _ => Err(InvalidTarget),
        }
    }

    /// Whether the policy declares it.
    pub fn exists_in(&self, policy: &Policy) -> bool {
        match self {
            Self::Purpose(id) => policy.purpose(id).is_some(),
            Self::Cookies(id) => policy.cookie_category(id).is_some(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Purpose(id) => write!(f, "purpose:{id}"),
            Self::Cookies(id) => write!(f, "cookies:{id}"),
        }
    }
}

crate::policy::keyword! {
    /// How consent reached the organisation (R42).
    pub enum Method: "consent method" {
        Banner = "banner",
        Form = "form",
        Email = "email",
        Phone = "phone",
        Letter = "letter",
        Api = "api",
        Import = "import",
    }
}

impl Method {
    /// Methods by which staff record consent on someone's behalf; the event must then name who
    /// recorded it.
    pub fn recorded_by_staff(self) -> bool {
        matches!(self, Self::Email | Self::Phone | Self::Letter)
    }
}

/// The network part of an address that is kept as evidence: /24 for IPv4, /48 for IPv6. Enough
/// to show where a consent came from, not enough to single out a household.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_ip(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// SHA-256 of the exact wording shown, hex: proves which text a person agreed to without
/// storing it again with every event.
pub fn wording_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `at` (unix microseconds) plus `period`, counted in UTC calendar terms: months and years keep
/// the day of the month (clamped to the month's end). `None` past the representable range.
pub fn add_period(at_us: i64, period: Period) -> Option<i64> {
    use jiff::ToSpan as _;
    use jiff::tz::TimeZone;
    let at = jiff::Timestamp::from_microsecond(at_us).ok()?;
    let start = TimeZone::UTC.to_datetime(at);
    let n = i64::from(period.amount);
    let span = match period.unit {
        PeriodUnit::Minutes => n.minutes(),
        PeriodUnit::Hours => n.hours(),
        PeriodUnit::Days => n.days(),
        PeriodUnit::Weeks => n.weeks(),
        PeriodUnit::Months => n.months(),
        PeriodUnit::Years => n.years(),
    };
    let end = start.checked_add(span).ok()?;
    TimeZone::UTC
        .to_timestamp(end)
        .ok()
        .map(|t| t.as_microsecond())
}

/// The current state of one subject and target, as the store derives it from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub subject: SubjectKey,
    pub target: Target,
    pub granted: bool,
    /// When the event that set this state happened (unix microseconds).
    pub since_us: i64,
    /// The ledger sequence number of that event.
    pub event_seq: i64,
    /// When a grant lapses, if it does.
    pub expires_at_us: Option<i64>,
}

/// The answer to "may purpose P be processed for this person?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub allowed: bool,
    /// The basis relied on when allowed.
    pub basis: Option<LegalBasis>,
    pub reason: Reason,
    /// The state the answer rests on, when it rests on consent.
    pub state: Option<State>,
}

/// Why the answer is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A valid grant covers the purpose.
    Consented,
    /// The purpose rests on another legal basis and the person never refused consent to it.
    OtherBasis,
    /// Consent is needed and none was given.
    NoConsent,
    /// The person refused or withdrew consent.
    Refused,
    /// The grant has lapsed.
    Expired,
    /// The policy states no legal basis for the purpose.
    NoLegalBasis,
    /// Processing is restricted for the person (Art. 18) and the purpose does not rest on
    /// their consent.
    Restricted,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Self::Consented => "consented",
            Self::OtherBasis => "other_basis",
            Self::NoConsent => "no_consent",
            Self::Refused => "refused",
            Self::Expired => "expired",
            Self::NoLegalBasis => "no_legal_basis",
            Self::Restricted => "restricted",
        }
    }
}

impl Answer {
    /// The answer for a person whose processing is restricted (Art. 18): beyond storage, data
    /// may then be processed only with their consent (Art. 18(2)), so a consented purpose stays
    /// allowed and every other answer becomes "not allowed, restricted".
    pub fn under_restriction(self) -> Answer {
        if self.reason == Reason::Consented {
            return self;
        }
        Answer {
            allowed: false,
            basis: None,
            reason: Reason::Restricted,
            state: self.state,
        }
    }
}

/// The targets whose consent decides `purpose`: the purpose itself and every cookie category
/// that is not strictly necessary and serves it.
pub fn targets_for(policy: &Policy, purpose: &PurposeId) -> Vec<Target> {
    let mut out = vec![Target::Purpose(purpose.clone())];
    for c in policy
        .cookie_categories
        .iter()
        .filter(|c| !c.necessary && c.purposes.contains(purpose))
    {
        out.push(Target::Cookies(c.id.clone()));
    }
    out
}

/// Whether consent is required for `purpose` whatever else the policy lists: when consent is
/// its only basis, when a non-necessary cookie category serves it (ePrivacy Art. 5(3)), or when
/// it sends marketing by e-mail or SMS (Danish Marketing Practices Act §10).
pub fn consent_required(policy: &Policy, purpose: &PurposeId) -> bool {
    let Some(p) = policy.purpose(purpose) else {
        return true;
    };
    let only_consent =
        !p.legal_bases.is_empty() && p.legal_bases.iter().all(|b| *b == LegalBasis::Consent);
    let cookies = policy
        .cookie_categories
        .iter()
        .any(|c| !c.necessary && c.purposes.contains(purpose));
    let electronic_marketing = p.marketing_channels.iter().any(|c| c.needs_prior_consent());
    only_consent || cookies || electronic_marketing
}

/// Decides whether `purpose` may be processed, from the states of every subject that belongs to
/// the person. The newest event among the purpose's targets decides; an older grant for a cookie
/// category does not outweigh a newer refusal of the purpose, and vice versa.
pub fn check(policy: &Policy, purpose: &PurposeId, states: &[State], now_us: i64) -> Answer {
    let answer = |allowed, basis, reason, state: Option<&State>| Answer {
        allowed,
        basis,
        reason,
        state: state.cloned(),
    };
    let Some(p) = policy.purpose(purpose) else {
        return answer(false, None, Reason::NoLegalBasis, None);
    };
    if p.legal_bases.is_empty() {
        return answer(false, None, Reason::NoLegalBasis, None);
    }
    let targets = targets_for(policy, purpose);
    let latest = states
        .iter()
        .filter(|s| targets.contains(&s.target))
        .max_by_key(|s| s.event_seq);
    match latest {
        Some(s) if s.granted && s.expires_at_us.is_none_or(|x| x > now_us) => {
            answer(true, Some(LegalBasis::Consent), Reason::Consented, Some(s))
        }
        Some(s) if s.granted => answer(false, None, Reason::Expired, Some(s)),
        // Once asked, a refusal stands: no silent switch to another basis (EDPB 05/2020, R27).
        Some(s) => answer(false, None, Reason::Refused, Some(s)),
        None if consent_required(policy, purpose) => answer(false, None, Reason::NoConsent, None),
        None => {
            let basis = p
                .legal_bases
                .iter()
                .copied()
                .find(|b| *b != LegalBasis::Consent);
            answer(basis.is_some(), basis, Reason::OtherBasis, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restriction_keeps_only_consented_purposes() {
        let consented = Answer {
            allowed: true,
            basis: Some(LegalBasis::Consent),
            reason: Reason::Consented,
            state: None,
        };
        assert_eq!(consented.clone().under_restriction(), consented);
        let other = Answer {
            allowed: true,
            basis: Some(LegalBasis::LegitimateInterests),
            reason: Reason::OtherBasis,
            state: None,
        }
        .under_restriction();
        assert!(!other.allowed);
        assert_eq!(other.basis, None);
        assert_eq!(other.reason.key(), "restricted");
    }

    #[test]
    fn subjects_parse_and_normalise() {
        assert_eq!(
            SubjectKey::parse("email:Ann@Example.COM").unwrap().as_str(),
            "email:ann@example.com"
        );
        assert_eq!(
            SubjectKey::parse("phone:+45 70 22-53 64").unwrap().as_str(),
            "phone:+4570225364"
        );
        assert!(SubjectKey::parse(&format!("visitor:{}", "a".repeat(32))).is_ok());
        for bad in [
            "",
            "ann@example.com",
            "visitor:XYZ",
            "phone:70225364",
            "email:nope",
            "customer:",
            "fax:1",
        ] {
            assert!(SubjectKey::parse(bad).is_err(), "{bad:?}");
        }
        let k = SubjectKey::parse("email:ann@example.com").unwrap();
        assert_eq!(format!("{k:?}"), "SubjectKey(email:***)");
    }

    #[test]
    fn ips_are_truncated() {
        assert_eq!(truncate_ip("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            truncate_ip("2001:db8:abcd:12::1".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn periods_add_in_calendar_terms() {
        let jan31 = 1_769_817_600_000_000; // 2026-01-31T00:00:00Z
        let one_month = Period {
            amount: 1,
            unit: PeriodUnit::Months,
        };
        // 31 January + 1 month = 28 February (2026 is not a leap year).
        assert_eq!(add_period(jan31, one_month), Some(1_772_236_800_000_000));
        let year = Period {
            amount: 12,
            unit: PeriodUnit::Months,
        };
        assert_eq!(add_period(jan31, year), Some(1_801_353_600_000_000)); // 2027-01-31
        assert_eq!(add_period(i64::MAX, one_month), None);
    }

    #[test]
    fn targets_round_trip() {
        for s in ["purpose:marketing", "cookies:statistics"] {
            assert_eq!(Target::parse(s).unwrap().to_string(), s);
        }
        assert!(Target::parse("cookie:statistics").is_err());
        assert!(Target::parse("purpose:Bad Id").is_err());
    }
}
