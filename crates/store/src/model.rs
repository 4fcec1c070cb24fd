//! The values that go in and out of the store.

use jiff::Timestamp;
use ombud_domain::audit::{ChainBreak, Hash};

/// A policy to activate.
#[derive(Debug, Clone, Copy)]
pub struct NewPolicyVersion<'a> {
    /// Lowercase hex SHA-256 of `content`, as computed by the policy loader. The store compares
    /// hashes to tell "same policy as before" from "new policy".
    pub hash: &'a str,
    /// The policy files as one opaque text bundle, kept so that any past version can be shown,
    /// diffed and re-rendered.
    pub content: &'a str,
    /// What a person recognises the version by, e.g. controller name and notice date.
    pub label: &'a str,
    /// Who activated it, for the audit log.
    pub actor: &'a str,
}

/// A stored policy version. Consents, notices and requests refer to its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub id: i64,
    pub hash: String,
    pub content: String,
    pub label: String,
    pub activated_at: Timestamp,
}

/// A policy version without its content, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionSummary {
    pub id: i64,
    pub hash: String,
    pub label: String,
    pub activated_at: Timestamp,
}

/// An audit entry to append. The store assigns `seq`, the time and the hashes.
#[derive(Debug, Clone, Copy)]
pub struct NewAuditEntry<'a> {
    /// Who did it: a staff user id, `system`, an API token id. Not an e-mail address.
    pub actor: &'a str,
    /// What happened, as a dotted verb such as `request.verified`.
    pub action: &'a str,
    /// What it happened to, as `kind:id`.
    pub subject: &'a str,
    /// JSON text with further facts, never personal data in clear: audit entries are kept
    /// longer than the data they describe.
    pub details: &'a str,
}

/// The outcome of checking the whole audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries that verified (all of them when the chain is intact; those before the break
    /// otherwise).
    pub checked: u64,
    /// The recorded head, `(seq, hash)` of the newest entry, or `None` for an empty log.
    pub head: Option<(i64, Hash)>,
    /// `Ok` when the chain is intact, or the first break.
    pub result: Result<(), ChainBreak>,
}

impl AuditReport {
    /// True when every entry verified and the chain ends at the recorded head.
    pub fn is_intact(&self) -> bool {
        self.result.is_ok()
    }
}
