//! An in-memory copy of the consent state, for the embedded (SQLite) store, so that a consent
//! check answers without touching the database.
//!
//! Only one process writes the embedded store, and every write passes through it, so the copy
//! can be kept exact: a committed event updates it before the write is acknowledged. With
//! PostgreSQL other nodes write too, and this cache is not used.
//!
//! Correctness rests on one rule: states merge per target by ledger sequence number, the newest
//! wins. Merging is idempotent and order-free, so a read that raced with a write can't bring
//! back an older state. An entry is *complete* once it holds everything the database had when
//! it was read; writes for subjects not yet read create *partial* entries, which a read
//! completes. Clearing (a new link between subjects, or the cache growing too large) bumps a
//! generation counter, and a read that started before a clear does not mark anything complete.

use std::collections::HashMap;
use std::sync::Mutex;

use ombud_domain::consent::{State, SubjectKey};

/// Subjects kept before the cache starts over. Roughly 200 bytes each: tens of megabytes at most.
const MAX_SUBJECTS: usize = 200_000;

#[derive(Debug, Default)]
pub(crate) struct StateCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    states: HashMap<SubjectKey, Entry>,
    /// Subject → the subjects of its person (itself included), as last read.
    links: HashMap<SubjectKey, Vec<SubjectKey>>,
}

#[derive(Debug, Default)]
struct Entry {
    complete: bool,
    states: Vec<State>,
}

impl Entry {
    fn merge(&mut self, s: State) {
        match self.states.iter_mut().find(|have| have.target == s.target) {
            Some(have) if have.event_seq >= s.event_seq => {}
            Some(have) => *have = s,
            None => self.states.push(s),
        }
    }
}

impl StateCache {
    /// The generation to pass to [`StateCache::fill`] for a read that starts now.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().map_or(0, |i| i.generation)
    }

    /// The states of `subjects`, if every one of them is known completely.
    pub(crate) fn states(&self, subjects: &[SubjectKey]) -> Option<Vec<State>> {
        let inner = self.inner.lock().ok()?;
        let mut out = Vec::new();
        for s in subjects {
            let entry = inner.states.get(s).filter(|e| e.complete)?;
            out.extend(entry.states.iter().cloned());
        }
        out.sort_by_key(|s| s.event_seq);
        Some(out)
    }

    /// Adds what a read of `subjects` found (read after `generation` was taken).
    pub(crate) fn fill(&self, generation: u64, subjects: &[SubjectKey], found: &[State]) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation {
            return;
        }
        make_room(&mut inner, subjects.len());
        for subject in subjects {
            let entry = inner.states.entry(subject.clone()).or_default();
            for s in found.iter().filter(|s| &s.subject == subject) {
                entry.merge(s.clone());
            }
            entry.complete = true;
        }
    }

    /// Applies committed states. Subjects not read yet get a partial entry.
    pub(crate) fn record(&self, committed: impl IntoIterator<Item = State>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        for s in committed {
            if !inner.states.contains_key(&s.subject) {
                make_room(&mut inner, 1);
            }
            inner.states.entry(s.subject.clone()).or_default().merge(s);
        }
    }

    /// The linked subjects of `subject`, if known.
    pub(crate) fn links(&self, subject: &SubjectKey) -> Option<Vec<SubjectKey>> {
        self.inner.lock().ok()?.links.get(subject).cloned()
    }

    pub(crate) fn fill_links(&self, generation: u64, subject: &SubjectKey, linked: &[SubjectKey]) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation == generation {
            make_room(&mut inner, 1);
            inner.links.insert(subject.clone(), linked.to_vec());
        }
    }

    /// Forgets everything (after a link changed who belongs to whom).
    pub(crate) fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            clear(&mut inner);
        }
    }
}

fn make_room(inner: &mut Inner, adding: usize) {
    if inner.states.len() + inner.links.len() + adding > MAX_SUBJECTS {
        clear(inner);
    }
}

fn clear(inner: &mut Inner) {
    inner.generation += 1;
    inner.states.clear();
    inner.links.clear();
}

#[cfg(test)]
mod tests {
    use ombud_domain::consent::Target;

    use super::*;

    fn state(subject: &str, target: &str, granted: bool, seq: i64) -> State {
        State {
            subject: SubjectKey::parse(subject).unwrap(),
            target: Target::parse(target).unwrap(),
            granted,
            since_us: seq,
            event_seq: seq,
            expires_at_us: None,
        }
    }

    fn key(s: &str) -> SubjectKey {
        SubjectKey::parse(s).unwrap()
    }

    #[test]
    fn a_read_racing_a_write_cannot_bring_back_an_old_state() {
        let cache = StateCache::default();
        let ann = key("email:ann@example.com");
        let generation = cache.generation();
        // The read saw the grant (seq 1); meanwhile the withdrawal (seq 2) committed and was
        // recorded first.
        cache.record([state(
            "email:ann@example.com",
            "purpose:marketing",
            false,
            2,
        )]);
        assert!(
            cache.states(std::slice::from_ref(&ann)).is_none(),
            "a partial entry does not answer"
        );
        cache.fill(
            generation,
            std::slice::from_ref(&ann),
            &[state("email:ann@example.com", "purpose:marketing", true, 1)],
        );
        let states = cache.states(std::slice::from_ref(&ann)).unwrap();
        assert_eq!(states.len(), 1);
        assert!(!states[0].granted, "the newer withdrawal wins");
    }

    #[test]
    fn a_clear_during_a_read_leaves_nothing_complete() {
        let cache = StateCache::default();
        let ann = key("email:ann@example.com");
        let generation = cache.generation();
        cache.clear();
        cache.fill(generation, std::slice::from_ref(&ann), &[]);
        assert!(cache.states(&[ann]).is_none());
    }

    #[test]
    fn subjects_without_consent_are_known_to_have_none() {
        let cache = StateCache::default();
        let bo = key("email:bo@example.com");
        cache.fill(cache.generation(), std::slice::from_ref(&bo), &[]);
        assert_eq!(cache.states(&[bo]), Some(Vec::new()));
    }
}
