//! The consent ledger: append-only events, the state derived from them, links between subjects
//! of one person, and the batching writer that makes high ingest rates possible.
//!
//! The SQL is written once, in [`ledger_queries!`], and instantiated for each backend: sqlx's
//! `QueryBuilder` writes each dialect's placeholders and encodes `bool` as each expects.

use jiff::Timestamp;
use ombud_domain::consent::{Method, State, SubjectKey, Target};
use ombud_domain::policy::Keyword;
use tokio::sync::{mpsc, oneshot};

use crate::{Store, StoreError};

/// A consent decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsentEvent {
    pub subject: SubjectKey,
    pub target: Target,
    pub granted: bool,
    pub method: Method,
    /// The policy version in force when the person decided.
    pub policy_version: i64,
    /// SHA-256 (hex) of the exact wording shown.
    pub wording_hash: Option<String>,
    /// Whether the browser sent a Global Privacy Control signal.
    pub gpc: bool,
    /// Page URL or system the decision came from.
    pub source: Option<String>,
    /// The staff member who recorded it (phone, e-mail, letter).
    pub recorded_by: Option<String>,
    pub user_agent: Option<String>,
    /// The truncated IP address (/24 or /48).
    pub ip_prefix: Option<String>,
    pub at: Timestamp,
    /// When a grant lapses.
    pub expires_at: Option<Timestamp>,
}

/// A recorded consent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    pub seq: i64,
    pub event: NewConsentEvent,
}

/// Microseconds in a day: `consent_daily` counts choices per UTC day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// Longest text kept in any free-text field of an event; longer input is refused by the API and
/// by the store.
pub const MAX_TEXT: usize = 2048;

pub(crate) fn check_event(e: &NewConsentEvent) -> Result<(), StoreError> {
    let texts = [
        &e.wording_hash,
        &e.source,
        &e.recorded_by,
        &e.user_agent,
        &e.ip_prefix,
    ];
    if texts
        .iter()
        .filter_map(|t| t.as_deref())
        .any(|t| t.contains('\0') || t.len() > MAX_TEXT)
    {
        return Err(StoreError::Invalid(
            "consent event text must be under 2048 bytes, without NUL",
        ));
    }
    if e.method.recorded_by_staff() && e.recorded_by.is_none() {
        return Err(StoreError::Invalid(
            "a consent given by e-mail, phone or letter must name who recorded it",
        ));
    }
    Ok(())
}

/// The state an event sets, once it has its sequence number.
pub(crate) fn state_of(e: &NewConsentEvent, seq: i64) -> State {
    State {
        subject: e.subject.clone(),
        target: e.target.clone(),
        granted: e.granted,
        since_us: e.at.as_microsecond(),
        event_seq: seq,
        expires_at_us: e.expires_at.map(|t| t.as_microsecond()),
    }
}

/// A row of `consent_event`, as both backends return it.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    at_us: i64,
    subject: String,
    target: String,
    granted: bool,
    method: String,
    policy_version: i64,
    wording_hash: Option<String>,
    gpc: bool,
    source: Option<String>,
    recorded_by: Option<String>,
    user_agent: Option<String>,
    ip_prefix: Option<String>,
    expires_at_us: Option<i64>,
}

/// A row of `consent_state`.
#[derive(sqlx::FromRow)]
pub(crate) struct StateRow {
    subject: String,
    target: String,
    granted: bool,
    since_us: i64,
    event_seq: i64,
    expires_at_us: Option<i64>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored consent {what} does not parse"))
}

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| corrupt("time"))
}

#[cfg(test)]
mod tests {
    use super::pow2_chunks;

    #[test]
    fn chunks_are_powers_of_two_covering_every_row() {
        let sizes = |n, max| pow2_chunks(n, max).map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(sizes(13, 64), vec![8, 4, 1]);
        assert_eq!(sizes(200, 64), vec![64, 64, 64, 8]);
        assert_eq!(sizes(0, 64), Vec::<usize>::new());
        for n in 0..300 {
            let ranges: Vec<_> = pow2_chunks(n, 32).collect();
            assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), n);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            assert!(
                ranges
                    .iter()
                    .all(|r| r.len().is_power_of_two() && r.len() <= 32)
            );
        }
    }
}

impl TryFrom<EventRow> for ConsentEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(ConsentEvent {
            seq: r.seq,
            event: NewConsentEvent {
                subject: SubjectKey::parse(&r.subject).map_err(|_| corrupt("subject"))?,
                target: Target::parse(&r.target).map_err(|_| corrupt("target"))?,
                granted: r.granted,
                method: Method::parse(&r.method).ok_or_else(|| corrupt("method"))?,
                policy_version: r.policy_version,
                wording_hash: r.wording_hash,
                gpc: r.gpc,
                source: r.source,
                recorded_by: r.recorded_by,
                user_agent: r.user_agent,
                ip_prefix: r.ip_prefix,
                at: timestamp(r.at_us)?,
                expires_at: r.expires_at_us.map(timestamp).transpose()?,
            },
        })
    }
}

impl TryFrom<StateRow> for State {
    type Error = StoreError;
    fn try_from(r: StateRow) -> Result<Self, StoreError> {
        Ok(State {
            subject: SubjectKey::parse(&r.subject).map_err(|_| corrupt("subject"))?,
            target: Target::parse(&r.target).map_err(|_| corrupt("target"))?,
            granted: r.granted,
            since_us: r.since_us,
            event_seq: r.event_seq,
            expires_at_us: r.expires_at_us,
        })
    }
}

/// Splits `n` rows into statements of power-of-two sizes, at most `max` each: 13 rows become 8,
/// 4 and 1. A multi-row statement's text depends on its row count, and the drivers cache
/// prepared statements by text; with power-of-two sizes a handful of statements serve every
/// batch size, so they stay prepared instead of being parsed again for each new size.
pub(crate) fn pow2_chunks(n: usize, max: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let max = max.max(1);
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = n - start;
        if left == 0 {
            return None;
        }
        let size = 1usize << (usize::BITS - 1 - left.min(max).leading_zeros());
        let range = start..start + size;
        start += size;
        Some(range)
    })
}

/// The ledger's SQL for one backend. `$db` is the sqlx database type, `$conn` its connection,
/// and `$rows` the most rows per multi-row statement (13 binds a row stays far below either
/// database's limit on bind parameters).
macro_rules! ledger_queries {
    ($db:ty, $conn:ty, $rows:expr) => {
        const ROWS_PER_STATEMENT: usize = $rows;

        use sqlx::QueryBuilder;

        use $crate::StoreError;
        use $crate::consent::{ConsentEvent, EventRow, NewConsentEvent, StateRow, pow2_chunks};
        use ombud_domain::consent::{State, SubjectKey};
        use ombud_domain::policy::Keyword as _;

        /// Inserts the events in order and updates the derived state, in the caller's
        /// transaction. Returns the assigned sequence numbers in input order.
        pub(crate) async fn insert(conn: &mut $conn, events: &[NewConsentEvent]) -> Result<Vec<i64>, StoreError> {
            let mut seqs = Vec::with_capacity(events.len());
            for range in pow2_chunks(events.len(), ROWS_PER_STATEMENT) {
                let chunk = &events[range];
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO consent_event (at_us, subject, target, granted, method, policy_version, \
                     wording_hash, gpc, source, recorded_by, user_agent, ip_prefix, expires_at_us) ",
                );
                qb.push_values(chunk, |mut row, e| {
                    row.push_bind(e.at.as_microsecond())
                        .push_bind(e.subject.as_str().to_owned())
                        .push_bind(e.target.to_string())
                        .push_bind(e.granted)
                        .push_bind(e.method.key())
                        .push_bind(e.policy_version)
                        .push_bind(e.wording_hash.clone())
                        .push_bind(e.gpc)
                        .push_bind(e.source.clone())
                        .push_bind(e.recorded_by.clone())
                        .push_bind(e.user_agent.clone())
                        .push_bind(e.ip_prefix.clone())
                        .push_bind(e.expires_at.map(|t| t.as_microsecond()));
                });
                qb.push(" RETURNING seq");
                let mut chunk_seqs: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
                // Rows of one statement get increasing sequence numbers in VALUES order; the
                // order RETURNING lists them in is not promised, so sort.
                chunk_seqs.sort_unstable();
                if chunk_seqs.len() != chunk.len() {
                    return Err(StoreError::Corrupt("consent insert returned a wrong row count".into()));
                }
                seqs.extend(chunk_seqs);
            }
            // The newest event per subject and target sets the state. Within one batch, keep
            // the last (PostgreSQL refuses to update a row twice in one statement).
            let mut latest: Vec<(usize, &NewConsentEvent)> = events.iter().enumerate().collect();
            latest.sort_by(|(ia, a), (ib, b)| {
                (a.subject.as_str(), &a.target, std::cmp::Reverse(*ia))
                    .cmp(&(b.subject.as_str(), &b.target, std::cmp::Reverse(*ib)))
            });
            latest.dedup_by(|(_, a), (_, b)| a.subject == b.subject && a.target == b.target);
            for range in pow2_chunks(latest.len(), ROWS_PER_STATEMENT) {
                let chunk = &latest[range];
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO consent_state (subject, target, granted, since_us, event_seq, expires_at_us) ",
                );
                qb.push_values(chunk, |mut row, (i, e)| {
                    row.push_bind(e.subject.as_str().to_owned())
                        .push_bind(e.target.to_string())
                        .push_bind(e.granted)
                        .push_bind(e.at.as_microsecond())
                        .push_bind(seqs[*i])
                        .push_bind(e.expires_at.map(|t| t.as_microsecond()));
                });
                qb.push(
                    " ON CONFLICT (subject, target) DO UPDATE SET granted = excluded.granted, \
                     since_us = excluded.since_us, event_seq = excluded.event_seq, \
                     expires_at_us = excluded.expires_at_us \
                     WHERE excluded.event_seq > consent_state.event_seq",
                );
                qb.build().execute(&mut *conn).await?;
            }
            // The day's counts per target, for the console's consent rates.
            let mut daily: std::collections::BTreeMap<(i64, String), (i64, i64)> =
                std::collections::BTreeMap::new();
            for e in events {
                let day = e.at.as_microsecond().div_euclid($crate::consent::DAY_US);
                let counts = daily.entry((day, e.target.to_string())).or_default();
                counts.0 += i64::from(e.granted);
                counts.1 += 1;
            }
            let daily: Vec<_> = daily.into_iter().collect();
            for range in pow2_chunks(daily.len(), ROWS_PER_STATEMENT) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO consent_daily (day, target, granted, total) ",
                );
                qb.push_values(&daily[range], |mut row, ((day, target), (granted, total))| {
                    row.push_bind(*day)
                        .push_bind(target.clone())
                        .push_bind(*granted)
                        .push_bind(*total);
                });
                qb.push(
                    " ON CONFLICT (day, target) DO UPDATE SET \
                     granted = consent_daily.granted + excluded.granted, \
                     total = consent_daily.total + excluded.total",
                );
                qb.build().execute(&mut *conn).await?;
            }
            Ok(seqs)
        }

        /// The states of every given subject.
        pub(crate) async fn states(conn: &mut $conn, subjects: &[SubjectKey]) -> Result<Vec<State>, StoreError> {
            if subjects.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT subject, target, granted, since_us, event_seq, expires_at_us FROM consent_state WHERE subject IN (",
            );
            let mut list = qb.separated(", ");
            for s in subjects {
                list.push_bind(s.as_str().to_owned());
            }
            qb.push(") ORDER BY event_seq");
            let rows: Vec<StateRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(State::try_from).collect()
        }

        /// Events of the given subjects with `seq > after`, oldest first, at most `limit`.
        pub(crate) async fn history(
            conn: &mut $conn,
            subjects: &[SubjectKey],
            after: i64,
            limit: u32,
        ) -> Result<Vec<ConsentEvent>, StoreError> {
            if subjects.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT seq, at_us, subject, target, granted, method, policy_version, wording_hash, gpc, \
                 source, recorded_by, user_agent, ip_prefix, expires_at_us FROM consent_event WHERE subject IN (",
            );
            let mut list = qb.separated(", ");
            for s in subjects {
                list.push_bind(s.as_str().to_owned());
            }
            qb.push(") AND seq > ").push_bind(after).push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
            let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(ConsentEvent::try_from).collect()
        }

        /// How many events the ledger holds.
        pub(crate) async fn count(conn: &mut $conn) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM consent_event").fetch_one(&mut *conn).await?)
        }

        /// The subject and every subject linked to it.
        pub(crate) async fn linked(conn: &mut $conn, subject: &SubjectKey) -> Result<Vec<SubjectKey>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT subject FROM consent_link WHERE person = (SELECT person FROM consent_link WHERE subject = ",
            );
            qb.push_bind(subject.as_str().to_owned()).push(") ORDER BY subject");
            let rows: Vec<String> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
            let mut out: Vec<SubjectKey> = rows
                .iter()
                .map(|s| SubjectKey::parse(s).map_err(|_| StoreError::Corrupt("stored consent subject does not parse".into())))
                .collect::<Result<_, _>>()?;
            if !out.contains(subject) {
                out.insert(0, subject.clone());
            }
            Ok(out)
        }

        /// Makes `a` and `b` (and everything already linked to either) one person, in the
        /// caller's transaction.
        pub(crate) async fn link(conn: &mut $conn, a: &SubjectKey, b: &SubjectKey) -> Result<(), StoreError> {
            let person_of = |s: String| {
                let mut qb = QueryBuilder::<$db>::new("SELECT person FROM consent_link WHERE subject = ");
                qb.push_bind(s);
                qb
            };
            let pa: Option<String> = person_of(a.as_str().to_owned()).build_query_scalar().fetch_optional(&mut *conn).await?;
            let pb: Option<String> = person_of(b.as_str().to_owned()).build_query_scalar().fetch_optional(&mut *conn).await?;
            let person = pa.clone().or_else(|| pb.clone()).unwrap_or_else(|| a.as_str().to_owned());
            if let Some(old) = pb.filter(|p| *p != person) {
                let mut qb = QueryBuilder::<$db>::new("UPDATE consent_link SET person = ");
                qb.push_bind(person.clone()).push(" WHERE person = ").push_bind(old);
                qb.build().execute(&mut *conn).await?;
            }
            for s in [a, b] {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO consent_link (subject, person) VALUES (");
                qb.push_bind(s.as_str().to_owned()).push(", ").push_bind(person.clone());
                qb.push(") ON CONFLICT (subject) DO UPDATE SET person = excluded.person");
                qb.build().execute(&mut *conn).await?;
            }
            Ok(())
        }
    };
}
pub(crate) use ledger_queries;

/// One submission to the batching writer.
struct Job {
    events: Vec<NewConsentEvent>,
    reply: oneshot::Sender<Result<Vec<ConsentEvent>, StoreError>>,
}

/// Records consent events with group commit: concurrent submissions are written together in one
/// transaction (one disk sync), and each submitter is answered only after that transaction has
/// committed. Nothing is acknowledged before it is durable.
///
/// Cloning is cheap. The writer task ends once every clone is dropped, after writing what was
/// already submitted.
#[derive(Debug, Clone)]
pub struct ConsentWriter {
    jobs: mpsc::Sender<Job>,
}

impl ConsentWriter {
    /// Starts the writer task. `max_batch` caps the events per transaction.
    pub fn spawn(store: Store, max_batch: usize) -> (ConsentWriter, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Job>(max_batch.max(1) * 4);
        let handle = tokio::spawn(run_writer(store, rx, max_batch.max(1)));
        (ConsentWriter { jobs: tx }, handle)
    }

    /// Records `events` (in one transaction with whatever else is waiting) and returns them as
    /// stored. Validation errors come back without anything written.
    pub async fn record(
        &self,
        events: Vec<NewConsentEvent>,
    ) -> Result<Vec<ConsentEvent>, StoreError> {
        for e in &events {
            check_event(e)?;
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { events, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run_writer(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut size = jobs[0].events.len();
        while size < max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let all: Vec<NewConsentEvent> =
            jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
        let started = std::time::Instant::now();
        let result = store.record_consent(&all).await;
        tracing::debug!(
            events = all.len(),
            jobs = jobs.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "consent batch"
        );
        match result {
            Ok(mut stored) => {
                for job in jobs.into_iter().rev() {
                    let mine = stored.split_off(stored.len() - job.events.len());
                    let _ = job.reply.send(Ok(mine));
                }
            }
            // One bad submission must not fail the others: write each on its own.
            Err(e) if jobs.len() > 1 => {
                tracing::warn!(error = %e, jobs = jobs.len(), "consent batch failed; writing its submissions one by one");
                for job in jobs {
                    let result = store.record_consent(&job.events).await;
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                if let Some(job) = jobs.pop() {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
    }
}
