//! The audit log as a hash chain.
//!
//! Every audit entry carries the hash of the entry before it, and its own hash covers that link
//! together with all of its fields. Editing, removing, inserting or reordering any stored entry
//! therefore breaks the chain at (or right after) the changed place, and [`ChainVerifier`] says
//! where. Removing the *newest* entries leaves a chain that is intact on its own, which is why the
//! store also keeps the sequence number and hash of the newest entry (the *head*) and
//! [`ChainVerifier::finish`] compares the two.
//!
//! This module only hashes and checks; it reads no clock and stores nothing. The store supplies the
//! time and serialises appends.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry: there is nothing before it to link to.
pub const GENESIS: Hash = [0; 32];

/// Domain-separation tag that starts every hashed encoding. It ties a digest to this exact
/// encoding, so a future format (`v2`) can never produce a digest that verifies as `v1`, and no
/// other SHA-256 use in ombud can collide with an audit entry by construction.
const TAG: &[u8] = b"ombud.audit.entry.v1";

/// One stored audit entry.
///
/// `details` is JSON text kept byte-for-byte as it was hashed (which is why the stores keep it as
/// plain text rather than a JSON column type that would re-format it). It must never contain
/// personal data in clear: entries outlive retention, so they refer to people by opaque ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log: 1 for the first entry, contiguous after that.
    pub seq: i64,
    /// When the entry was written, in microseconds since the Unix epoch.
    pub at_us: i64,
    /// Who did it (a staff user id, `system`, an API token id, …).
    pub actor: String,
    /// What happened, as a dotted verb such as `policy.activated`.
    pub action: String,
    /// What it happened to, as `kind:id` such as `policy_version:3`.
    pub subject: String,
    /// JSON text with further facts.
    pub details: String,
    /// The `hash` of entry `seq - 1`, or [`GENESIS`] for the first entry.
    pub prev_hash: Hash,
    /// [`entry_hash`] of all the fields above.
    pub hash: Hash,
}

impl AuditRecord {
    /// Builds the entry that follows `prev` (`None` for the first entry), computing its hash.
    ///
    /// Returns `None` only if the sequence number would overflow `i64`, which no real log reaches
    /// but which must not panic.
    pub fn next_after(
        prev: Option<(i64, Hash)>,
        at_us: i64,
        actor: &str,
        action: &str,
        subject: &str,
        details: &str,
    ) -> Option<AuditRecord> {
        let (prev_seq, prev_hash) = prev.unwrap_or((0, GENESIS));
        let seq = prev_seq.checked_add(1)?;
        let hash = entry_hash(&prev_hash, seq, at_us, actor, action, subject, details);
        Some(AuditRecord {
            seq,
            at_us,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            details: details.to_owned(),
            prev_hash,
            hash,
        })
    }

    /// Recomputes the hash from the stored fields (what the hash *should* be).
    pub fn computed_hash(&self) -> Hash {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at_us,
            &self.actor,
            &self.action,
            &self.subject,
            &self.details,
        )
    }
}

/// The hash of one entry.
///
/// The encoding is fixed and unambiguous rather than `serde_json` of a struct, because a digest
/// must stay reproducible for as long as the log exists, whatever happens to field order, escaping
/// or library versions. It is: the tag [`TAG`], then each field as its byte length (u64,
/// big-endian) followed by its bytes, in the order `prev_hash`, `seq`, `at_us`, `actor`, `action`,
/// `subject`, `details`; `seq` and `at_us` are 8-byte big-endian two's complement. The length
/// prefixes are what keep `("ab", "c")` and `("a", "bc")` apart.
pub fn entry_hash(
    prev: &Hash,
    seq: i64,
    at_us: i64,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> Hash {
    let mut h = Sha256::new();
    put_field(&mut h, TAG);
    put_field(&mut h, prev);
    put_field(&mut h, &seq.to_be_bytes());
    put_field(&mut h, &at_us.to_be_bytes());
    put_field(&mut h, actor.as_bytes());
    put_field(&mut h, action.as_bytes());
    put_field(&mut h, subject.as_bytes());
    put_field(&mut h, details.as_bytes());
    h.finalize().into()
}

fn put_field(h: &mut Sha256, bytes: &[u8]) {
    // usize -> u64 is lossless on every platform Rust supports (pointer width <= 64 bits).
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// How the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's fields don't hash to its stored hash: it was edited after it was written.
    ContentChanged,
    /// A gap: the entry with the expected sequence number isn't there, the next one present has
    /// `found`. Entries were deleted.
    Missing { found: i64 },
    /// A sequence number at or below one already seen: the rows aren't in order or repeat.
    OutOfOrder { found: i64 },
    /// The entry doesn't link to the hash of the entry before it: entries were removed, replaced,
    /// reordered or re-hashed.
    PrevHashMismatch,
    /// The chain itself verifies but doesn't end where the recorded head says: the last entries
    /// were removed, or the head (or the newest entry) was changed.
    HeadMismatch {
        /// Sequence number recorded in the head (0 when the head says the log is empty).
        head_seq: i64,
        /// Sequence number of the last entry that verified (0 when there were none).
        last_seq: i64,
    },
}

/// Where and how the chain is broken. `seq` is the first sequence number that can't be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match self.kind {
            BreakKind::ContentChanged => {
                write!(f, "entry {seq}: content does not match its hash (edited?)")
            }
            BreakKind::Missing { found } => write!(
                f,
                "entry {seq}: missing (expected seq {seq}, found {found}; deleted?)"
            ),
            BreakKind::OutOfOrder { found } => write!(
                f,
                "entry {seq}: out of order (expected seq {seq}, found {found})"
            ),
            BreakKind::PrevHashMismatch => write!(
                f,
                "entry {seq}: does not link to the previous entry's hash \
                 (entries removed, replaced or reordered?)"
            ),
            BreakKind::HeadMismatch { head_seq, last_seq } if head_seq == last_seq => write!(
                f,
                "entry {seq}: the newest entry does not match the recorded head \
                 (the head or the newest entry was changed)"
            ),
            BreakKind::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "entry {seq}: the log ends at seq {last_seq} but the recorded head is seq \
                 {head_seq} (the last entries were removed or the head was changed)"
            ),
        }
    }
}

impl std::error::Error for ChainBreak {}

/// Checks a chain one entry at a time, in `seq` order, so a store can page through millions of
/// rows in constant memory.
///
/// After the first break every further call returns that same break: nothing after it can be
/// trusted, and the first break is the one worth reporting.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: Hash,
    checked: u64,
    broken: Option<ChainBreak>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting the first entry: seq 1, linked to [`GENESIS`].
    pub fn new() -> Self {
        ChainVerifier {
            last_seq: 0,
            last_hash: GENESIS,
            checked: 0,
            broken: None,
        }
    }

    /// Entries verified so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Checks the next entry.
    ///
    /// The checks run in the order that names the cause most precisely: position first (a gap or
    /// disorder explains every later symptom), then the link to the previous entry, then the
    /// entry's own hash.
    pub fn feed(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let result = self.check(r);
        if let Err(b) = result {
            self.broken = Some(b);
        }
        result
    }

    fn check(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        let Some(expected) = self.last_seq.checked_add(1) else {
            // Nothing can follow i64::MAX.
            return Err(ChainBreak {
                seq: r.seq,
                kind: BreakKind::OutOfOrder { found: r.seq },
            });
        };
        let brk = |kind| {
            Err(ChainBreak {
                seq: expected,
                kind,
            })
        };
        if r.seq > expected {
            return brk(BreakKind::Missing { found: r.seq });
        }
        if r.seq < expected {
            return brk(BreakKind::OutOfOrder { found: r.seq });
        }
        if r.prev_hash != self.last_hash {
            return brk(BreakKind::PrevHashMismatch);
        }
        if r.computed_hash() != r.hash {
            return brk(BreakKind::ContentChanged);
        }
        self.last_seq = r.seq;
        self.last_hash = r.hash;
        self.checked += 1;
        Ok(())
    }

    /// Ends the check by comparing the last verified entry with the recorded head, `(seq, hash)`
    /// of the newest entry, or `None` when the head says nothing was ever written.
    ///
    /// Returns the number of entries checked.
    pub fn finish(self, head: Option<(i64, Hash)>) -> Result<u64, ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
        if head_seq == self.last_seq && head_hash == self.last_hash {
            return Ok(self.checked);
        }
        // The first entry that the head and the chain disagree about.
        let seq = if head_seq == self.last_seq {
            head_seq
        } else {
            head_seq.min(self.last_seq).saturating_add(1)
        };
        Err(ChainBreak {
            seq,
            kind: BreakKind::HeadMismatch {
                head_seq,
                last_seq: self.last_seq,
            },
        })
    }

    /// Verifies a whole in-memory chain against its head.
    pub fn verify_all<'a>(
        records: impl IntoIterator<Item = &'a AuditRecord>,
        head: Option<(i64, Hash)>,
    ) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for r in records {
            v.feed(r)?;
        }
        v.finish(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build_chain(fields: &[(i64, String, String, String, String)]) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::with_capacity(fields.len());
        for (at_us, actor, action, subject, details) in fields {
            let prev = out.last().map(|r| (r.seq, r.hash));
            let rec = AuditRecord::next_after(prev, *at_us, actor, action, subject, details)
                .expect("seq cannot overflow in a test chain");
            out.push(rec);
        }
        out
    }

    fn head_of(chain: &[AuditRecord]) -> Option<(i64, Hash)> {
        chain.last().map(|r| (r.seq, r.hash))
    }

    fn sample_chain(n: usize) -> Vec<AuditRecord> {
        let fields: Vec<_> = (0..n)
            .map(|i| {
                (
                    1_700_000_000_000_000 + i as i64,
                    "user:1".to_owned(),
                    "request.opened".to_owned(),
                    format!("request:{i}"),
                    format!("{{\"n\":{i}}}"),
                )
            })
            .collect();
        build_chain(&fields)
    }

    /// Computed independently of this code (Python `hashlib` over the encoding documented on
    /// [`entry_hash`]), so the test checks the documentation as well as stability.
    const EXPECTED_FIRST_HASH: &str =
        "60557fa918cfe555e692947bf17f1f1d18e3464b9bad498e16fc940a9ac2c3ac";

    /// Pins the encoding: if this changes, every stored chain stops verifying.
    #[test]
    fn entry_hash_is_stable() {
        let h = entry_hash(
            &GENESIS,
            1,
            1_700_000_000_000_000,
            "system",
            "policy.activated",
            "policy_version:1",
            r#"{"hash":"ab"}"#,
        );
        assert_eq!(hex::encode(h), EXPECTED_FIRST_HASH);
    }

    #[test]
    fn length_prefixes_keep_field_boundaries_apart() {
        let a = entry_hash(&GENESIS, 1, 0, "ab", "c", "", "{}");
        let b = entry_hash(&GENESIS, 1, 0, "a", "bc", "", "{}");
        let c = entry_hash(&GENESIS, 1, 0, "a", "b", "c", "{}");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
    }

    #[test]
    fn every_field_is_covered() {
        let base = entry_hash(&GENESIS, 1, 2, "a", "b", "c", "d");
        let mut other_prev = GENESIS;
        other_prev[31] = 1;
        for changed in [
            entry_hash(&other_prev, 1, 2, "a", "b", "c", "d"),
            entry_hash(&GENESIS, 2, 2, "a", "b", "c", "d"),
            entry_hash(&GENESIS, 1, 3, "a", "b", "c", "d"),
            entry_hash(&GENESIS, 1, 2, "x", "b", "c", "d"),
            entry_hash(&GENESIS, 1, 2, "a", "x", "c", "d"),
            entry_hash(&GENESIS, 1, 2, "a", "b", "x", "d"),
            entry_hash(&GENESIS, 1, 2, "a", "b", "c", "x"),
        ] {
            assert_ne!(base, changed);
        }
    }

    #[test]
    fn empty_log_verifies_against_empty_head() {
        assert_eq!(ChainVerifier::new().finish(None), Ok(0));
        assert_eq!(ChainVerifier::new().finish(Some((0, GENESIS))), Ok(0));
    }

    #[test]
    fn emptied_log_is_a_head_mismatch() {
        let chain = sample_chain(3);
        let err = ChainVerifier::new().finish(head_of(&chain)).unwrap_err();
        assert_eq!(
            err,
            ChainBreak {
                seq: 1,
                kind: BreakKind::HeadMismatch {
                    head_seq: 3,
                    last_seq: 0
                }
            }
        );
    }

    #[test]
    fn entries_beyond_the_head_are_a_head_mismatch() {
        let chain = sample_chain(5);
        let err = ChainVerifier::verify_all(&chain, Some((3, chain[2].hash))).unwrap_err();
        assert_eq!(err.seq, 4);
        assert!(matches!(err.kind, BreakKind::HeadMismatch { .. }));
    }

    #[test]
    fn changed_head_hash_is_a_head_mismatch_at_the_head() {
        let chain = sample_chain(5);
        let err = ChainVerifier::verify_all(&chain, Some((5, [7; 32]))).unwrap_err();
        assert_eq!(err.seq, 5);
        assert_eq!(
            err.to_string(),
            "entry 5: the newest entry does not match the recorded head \
             (the head or the newest entry was changed)"
        );
    }

    #[test]
    fn messages_name_the_entry() {
        let mut chain = sample_chain(20);
        chain[16].details = r#"{"n":"edited"}"#.to_owned();
        let err = ChainVerifier::verify_all(&chain, head_of(&chain)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry 17: content does not match its hash (edited?)"
        );

        let mut chain = sample_chain(20);
        chain.remove(9);
        let err = ChainVerifier::verify_all(&chain, head_of(&chain)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry 10: missing (expected seq 10, found 11; deleted?)"
        );

        let chain = sample_chain(4);
        let err = ChainVerifier::verify_all(&chain[..3], head_of(&chain)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry 4: the log ends at seq 3 but the recorded head is seq 4 \
             (the last entries were removed or the head was changed)"
        );
    }

    #[test]
    fn the_verifier_stays_broken() {
        let mut chain = sample_chain(4);
        chain[1].actor = "someone else".to_owned();
        let mut v = ChainVerifier::new();
        v.feed(&chain[0]).expect("first entry is intact");
        let first = v.feed(&chain[1]).unwrap_err();
        assert_eq!(v.feed(&chain[2]), Err(first));
        assert_eq!(v.checked(), 1);
        assert_eq!(v.finish(head_of(&chain)), Err(first));
    }

    #[test]
    fn sequence_overflow_does_not_panic() {
        assert_eq!(
            AuditRecord::next_after(Some((i64::MAX, GENESIS)), 0, "a", "b", "c", "{}"),
            None
        );
    }

    fn text() -> impl Strategy<Value = String> {
        // Mostly short ASCII with some multi-byte characters, like real actors and ids.
        "[a-zA-Z0-9:._ éø{}\"]{0,12}"
    }

    fn chain_strategy(min: usize) -> impl Strategy<Value = Vec<AuditRecord>> {
        prop::collection::vec((any::<i64>(), text(), text(), text(), text()), min..40)
            .prop_map(|fields| build_chain(&fields))
    }

    /// Which field of an entry a mutation changes.
    #[derive(Debug, Clone, Copy)]
    enum Field {
        Seq,
        AtUs,
        Actor,
        Action,
        Subject,
        Details,
        PrevHash,
        Hash,
    }

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![
            Just(Field::Seq),
            Just(Field::AtUs),
            Just(Field::Actor),
            Just(Field::Action),
            Just(Field::Subject),
            Just(Field::Details),
            Just(Field::PrevHash),
            Just(Field::Hash),
        ]
    }

    /// Changes `field` of `r` to a different value derived from `salt`.
    fn mutate(r: &mut AuditRecord, field: Field, salt: u8) {
        let nonzero = i64::from(salt) + 1;
        let tweak = |s: &mut String| s.push(char::from(b'a' + salt % 26));
        match field {
            Field::Seq => r.seq = r.seq.wrapping_add(nonzero),
            Field::AtUs => r.at_us = r.at_us.wrapping_add(nonzero),
            Field::Actor => tweak(&mut r.actor),
            Field::Action => tweak(&mut r.action),
            Field::Subject => tweak(&mut r.subject),
            Field::Details => tweak(&mut r.details),
            Field::PrevHash => r.prev_hash[usize::from(salt) % 32] ^= 1 << (salt % 8),
            Field::Hash => r.hash[usize::from(salt) % 32] ^= 1 << (salt % 8),
        }
    }

    proptest! {
        #[test]
        fn a_random_chain_verifies(chain in chain_strategy(0)) {
            prop_assert_eq!(
                ChainVerifier::verify_all(&chain, head_of(&chain)),
                Ok(chain.len() as u64)
            );
        }

        #[test]
        fn any_single_field_mutation_is_detected_at_that_entry(
            chain in chain_strategy(1),
            pick in any::<prop::sample::Index>(),
            field in field(),
            salt in any::<u8>(),
        ) {
            let head = head_of(&chain);
            let mut chain = chain;
            let i = pick.index(chain.len());
            mutate(&mut chain[i], field, salt);
            let err = ChainVerifier::verify_all(&chain, head).unwrap_err();
            prop_assert_eq!(err.seq, i as i64 + 1, "{:?} {}", field, err);
        }

        #[test]
        fn any_deletion_is_detected_at_the_deleted_seq(
            chain in chain_strategy(1),
            pick in any::<prop::sample::Index>(),
        ) {
            let head = head_of(&chain);
            let mut chain = chain;
            let i = pick.index(chain.len());
            let last = i == chain.len() - 1;
            chain.remove(i);
            let err = ChainVerifier::verify_all(&chain, head).unwrap_err();
            prop_assert_eq!(err.seq, i as i64 + 1, "{}", err);
            if last {
                prop_assert!(matches!(err.kind, BreakKind::HeadMismatch { .. }), "{}", err);
            } else {
                prop_assert_eq!(err.kind, BreakKind::Missing { found: i as i64 + 2 });
            }
        }

        /// Swapping the seq values of two entries, then reading in seq order as a store does.
        #[test]
        fn any_seq_swap_is_detected_at_the_lower_seq(
            chain in chain_strategy(2),
            a in any::<prop::sample::Index>(),
            b in any::<prop::sample::Index>(),
        ) {
            let head = head_of(&chain);
            let (i, j) = (a.index(chain.len()), b.index(chain.len()));
            prop_assume!(i != j);
            let (lo, hi) = (i.min(j), i.max(j));
            let mut chain = chain;
            let (seq_lo, seq_hi) = (chain[lo].seq, chain[hi].seq);
            chain[lo].seq = seq_hi;
            chain[hi].seq = seq_lo;

            // As stored and read back ordered by seq.
            let mut sorted = chain.clone();
            sorted.sort_by_key(|r| r.seq);
            let err = ChainVerifier::verify_all(&sorted, head).unwrap_err();
            prop_assert_eq!(err.seq, lo as i64 + 1, "{}", err);

            // As fed in the original physical order.
            let err = ChainVerifier::verify_all(&chain, head).unwrap_err();
            prop_assert_eq!(err.seq, lo as i64 + 1, "{}", err);
        }
    }
}
