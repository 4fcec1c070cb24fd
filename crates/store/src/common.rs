//! What both backends share: row types, input rules and conversions. The SQL itself lives in
//! each backend's module because the dialects differ in placeholders and locking.

use jiff::Timestamp;
use ombud_domain::audit::{AuditRecord, ChainVerifier, Hash};

use crate::{
    AuditReport, NewAuditEntry, NewPolicyVersion, PolicyVersion, PolicyVersionSummary, StoreError,
};

/// Rows read per page while verifying the audit chain: large enough to keep round trips few,
/// small enough that memory stays flat on a log of millions of entries.
pub(crate) const VERIFY_PAGE: u32 = 1000;

/// Action of the audit entry written when a policy version is activated.
pub(crate) const POLICY_ACTIVATED: &str = "policy.activated";

pub(crate) fn now_us() -> i64 {
    Timestamp::now().as_microsecond()
}

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {us} us is out of range")))
}

fn hash(bytes: Vec<u8>, column: &str) -> Result<Hash, StoreError> {
    Hash::try_from(bytes)
        .map_err(|b| StoreError::Corrupt(format!("{column} has {} bytes instead of 32", b.len())))
}

/// Text that PostgreSQL can't store (NUL) is refused on both backends so they keep the same
/// behaviour.
fn plain_text(s: &str) -> bool {
    !s.contains('\0')
}

pub(crate) fn check_policy(p: &NewPolicyVersion<'_>) -> Result<(), StoreError> {
    let is_hex = p.hash.len() == 64
        && p.hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !is_hex {
        return Err(StoreError::Invalid(
            "policy hash must be 64 lowercase hex digits",
        ));
    }
    if ![p.content, p.label, p.actor].into_iter().all(plain_text) {
        return Err(StoreError::Invalid("policy text must not contain NUL"));
    }
    if p.actor.is_empty() {
        return Err(StoreError::Invalid("actor must not be empty"));
    }
    Ok(())
}

pub(crate) fn check_audit(e: &NewAuditEntry<'_>) -> Result<(), StoreError> {
    if e.actor.is_empty() || e.action.is_empty() || e.subject.is_empty() {
        return Err(StoreError::Invalid(
            "audit actor, action and subject must not be empty",
        ));
    }
    if ![e.actor, e.action, e.subject, e.details]
        .into_iter()
        .all(plain_text)
    {
        return Err(StoreError::Invalid("audit text must not contain NUL"));
    }
    if serde_json::from_str::<serde_json::Value>(e.details).is_err() {
        return Err(StoreError::Invalid("audit details must be JSON text"));
    }
    Ok(())
}

/// The audit entry that records a policy activation. Its details carry the hash and label,
/// which describe the organisation's policy, not a person.
pub(crate) fn policy_activated_details(p: &NewPolicyVersion<'_>) -> String {
    serde_json::json!({ "hash": p.hash, "label": p.label }).to_string()
}

pub(crate) fn policy_subject(id: i64) -> String {
    format!("policy_version:{id}")
}

/// Builds the records that follow `head`, all stamped `at_us`, in order.
pub(crate) fn chain_after(
    head: Option<(i64, Hash)>,
    entries: &[NewAuditEntry<'_>],
    at_us: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut prev = head;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let r = AuditRecord::next_after(prev, at_us, e.actor, e.action, e.subject, e.details)
            .ok_or_else(|| StoreError::Corrupt("audit sequence number exhausted".to_owned()))?;
        prev = Some((r.seq, r.hash));
        out.push(r);
    }
    Ok(out)
}

/// A chain check in progress, fed one page at a time by a backend that reads the pages (and the
/// head) from one snapshot. Kept free of I/O so both backends share the paging logic.
pub(crate) struct Verification {
    verifier: ChainVerifier,
    head: Option<(i64, Hash)>,
    /// Seq after which to read the next page; `None` once the log is exhausted or broken.
    after: Option<i64>,
}

impl Verification {
    pub(crate) fn new(head: Option<(i64, Hash)>) -> Self {
        Verification {
            verifier: ChainVerifier::new(),
            head,
            after: Some(0),
        }
    }

    /// Where the next page starts, or `None` when no more pages are needed.
    pub(crate) fn next_page_after(&self) -> Option<i64> {
        self.after
    }

    /// Checks a page of up to [`VERIFY_PAGE`] entries in seq order. A short page is the last.
    pub(crate) fn feed_page(&mut self, page: &[AuditRecord]) {
        for r in page {
            if self.verifier.feed(r).is_err() {
                // The verifier keeps the first break and reports it from `finish`.
                self.after = None;
                return;
            }
        }
        self.after = match page.last() {
            Some(last) if page.len() >= VERIFY_PAGE as usize => Some(last.seq),
            _ => None,
        };
    }

    pub(crate) fn report(self) -> AuditReport {
        AuditReport {
            checked: self.verifier.checked(),
            head: self.head,
            result: self.verifier.finish(self.head).map(|_| ()),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    seq: i64,
    hash: Vec<u8>,
}

impl HeadRow {
    /// `None` when nothing has been written (seq 0).
    pub(crate) fn into_head(self) -> Result<Option<(i64, Hash)>, StoreError> {
        let h = hash(self.hash, "audit_head.hash")?;
        match self.seq {
            0 => Ok(None),
            s if s > 0 => Ok(Some((s, h))),
            _ => Err(StoreError::Corrupt("audit_head.seq is negative".to_owned())),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at_us: i64,
    actor: String,
    action: String,
    subject: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditRecord {
            seq: r.seq,
            at_us: r.at_us,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            details: r.details,
            prev_hash: hash(r.prev_hash, "audit_log.prev_hash")?,
            hash: hash(r.hash, "audit_log.hash")?,
        })
    }
}

pub(crate) fn audit_records(rows: Vec<AuditRow>) -> Result<Vec<AuditRecord>, StoreError> {
    rows.into_iter().map(AuditRecord::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    id: i64,
    hash: String,
    content: String,
    label: String,
    activated_at_us: i64,
}

impl TryFrom<PolicyRow> for PolicyVersion {
    type Error = StoreError;

    fn try_from(r: PolicyRow) -> Result<Self, StoreError> {
        Ok(PolicyVersion {
            id: r.id,
            hash: r.hash,
            content: r.content,
            label: r.label,
            activated_at: timestamp(r.activated_at_us)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PolicySummaryRow {
    id: i64,
    hash: String,
    label: String,
    activated_at_us: i64,
}

impl TryFrom<PolicySummaryRow> for PolicyVersionSummary {
    type Error = StoreError;

    fn try_from(r: PolicySummaryRow) -> Result<Self, StoreError> {
        Ok(PolicyVersionSummary {
            id: r.id,
            hash: r.hash,
            label: r.label,
            activated_at: timestamp(r.activated_at_us)?,
        })
    }
}

/// The version that a new activation created, built from what was inserted.
pub(crate) fn inserted_policy(
    id: i64,
    p: &NewPolicyVersion<'_>,
    at_us: i64,
) -> Result<PolicyVersion, StoreError> {
    Ok(PolicyVersion {
        id,
        hash: p.hash.to_owned(),
        content: p.content.to_owned(),
        label: p.label.to_owned(),
        activated_at: timestamp(at_us)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(details: &str) -> NewAuditEntry<'_> {
        NewAuditEntry {
            actor: "system",
            action: "test.done",
            subject: "test:1",
            details,
        }
    }

    #[test]
    fn audit_details_must_be_json() {
        assert!(check_audit(&entry(r#"{"a":1}"#)).is_ok());
        assert!(matches!(
            check_audit(&entry("not json")),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            check_audit(&entry("{\"a\":\"\0\"}")),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn policy_hash_must_be_lowercase_hex() {
        let mut p = NewPolicyVersion {
            hash: "ab",
            content: "x",
            label: "l",
            actor: "system",
        };
        assert!(check_policy(&p).is_err());
        let upper = "A".repeat(64);
        p.hash = &upper;
        assert!(check_policy(&p).is_err());
        let good = "0f".repeat(32);
        p.hash = &good;
        assert!(check_policy(&p).is_ok());
    }

    #[test]
    fn verification_pages_until_a_short_page() {
        let entries = vec![entry("{}"); VERIFY_PAGE as usize];
        let log = chain_after(None, &entries, 1).expect("chain builds");
        let head = log.last().map(|r| (r.seq, r.hash));

        let mut check = Verification::new(head);
        assert_eq!(check.next_page_after(), Some(0));
        check.feed_page(&log);
        // A full page may be followed by more.
        assert_eq!(check.next_page_after(), Some(i64::from(VERIFY_PAGE)));
        check.feed_page(&[]);
        assert_eq!(check.next_page_after(), None);
        let report = check.report();
        assert_eq!(
            (report.checked, report.result),
            (u64::from(VERIFY_PAGE), Ok(()))
        );
    }

    #[test]
    fn verification_stops_at_the_first_break() {
        let mut log =
            chain_after(None, &[entry("{}"), entry("[]"), entry("1")], 1).expect("chain builds");
        let head = log.last().map(|r| (r.seq, r.hash));
        log[1].details = "2".to_owned();

        let mut check = Verification::new(head);
        check.feed_page(&log);
        assert_eq!(check.next_page_after(), None);
        let report = check.report();
        assert_eq!(report.checked, 1);
        assert_eq!(report.result.map_err(|b| b.seq), Err(2));
    }

    #[test]
    fn chain_after_continues_from_the_head() {
        let head = Some((41, [9; 32]));
        let recs = chain_after(head, &[entry("{}"), entry("[]")], 5).expect("chain builds");
        assert_eq!(recs[0].seq, 42);
        assert_eq!(recs[0].prev_hash, [9; 32]);
        assert_eq!(recs[1].seq, 43);
        assert_eq!(recs[1].prev_hash, recs[0].hash);
    }
}
