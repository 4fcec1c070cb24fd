//! The mail outbox: letters are queued in the transaction that decides to send them (a request
//! created, a request refused) and sent later by a worker, so a letter is never sent for a
//! change that was rolled back, and never lost for one that committed.
//!
//! Workers lease due letters: a lease hides a letter from other workers until it expires, so
//! with several nodes on one PostgreSQL any node may send a letter, never two at once. A worker
//! that dies mid-send leaves its lease to expire, and another worker takes the letter over.
//! Delivery is therefore at least once: a worker that takes longer than its lease to report
//! can see the letter sent a second time by another, so leases should be well above the SMTP
//! timeout.
//!
//! The SQL is written once, in `outbox_queries!`; the backends differ only in how leasing
//! keeps two workers apart (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the write lock that
//! `BEGIN IMMEDIATE` takes).

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use crate::StoreError;
use crate::requests::{count, timestamp};

/// A letter to queue.
#[derive(Clone, Copy)]
pub struct NewMail<'a> {
    /// The recipient's address (a header: no line breaks).
    pub to: &'a str,
    /// A header too: no line breaks.
    pub subject: &'a str,
    pub body: &'a str,
    /// Which letter this is, e.g. `acknowledgement`, `reminder`.
    pub kind: &'a str,
    /// The request the letter belongs to, if any.
    pub request_id: Option<i64>,
}

/// A queued letter.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub request_id: Option<i64>,
    /// Failed deliveries so far (0 on the first try).
    pub attempts: u32,
    pub sent_at: Option<Timestamp>,
    /// The most recent failure, as the worker described it.
    pub last_error: Option<String>,
    /// When the letter is due to be tried (again); `None` once sent or given up.
    pub next_attempt: Option<Timestamp>,
}

impl QueuedMail {
    /// Not sent, and no further attempt planned.
    pub fn given_up(&self) -> bool {
        self.sent_at.is_none() && self.next_attempt.is_none()
    }
}

/// Debug output leaves out the recipient's local part, the subject and the body, which are
/// about a person.
impl fmt::Debug for NewMail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMail")
            .field("to", &redacted_address(self.to))
            .field("kind", &self.kind)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for QueuedMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedMail")
            .field("id", &self.id)
            .field("to", &redacted_address(&self.to))
            .field("kind", &self.kind)
            .field("request_id", &self.request_id)
            .field("attempts", &self.attempts)
            .field("sent_at", &self.sent_at)
            .field("last_error", &self.last_error)
            .field("next_attempt", &self.next_attempt)
            .finish_non_exhaustive()
    }
}

fn redacted_address(to: &str) -> String {
    let domain = to.rsplit_once('@').map_or("", |(_, d)| d);
    format!("***@{domain}")
}

/// Most letters leased at once.
pub const MAX_LEASE: u32 = 1000;
/// Longest address or subject (the line limit of RFC 5322).
pub const MAX_HEADER: usize = 998;
/// Longest body.
pub const MAX_BODY: usize = 1024 * 1024;
/// Longest stored delivery error; longer ones are cut.
pub const MAX_ERROR: usize = 1024;

pub(crate) fn check_mail(m: &NewMail<'_>) -> Result<(), StoreError> {
    let header_ok =
        |s: &str| !s.is_empty() && s.len() <= MAX_HEADER && !s.contains(['\0', '\r', '\n']);
    if !header_ok(m.to) || !header_ok(m.subject) {
        return Err(StoreError::Invalid(
            "a letter's address and subject must be one line of 1 to 998 bytes",
        ));
    }
    if m.body.len() > MAX_BODY || m.body.contains('\0') {
        return Err(StoreError::Invalid(
            "a letter's body must be at most 1 MiB, without NUL",
        ));
    }
    if m.kind.is_empty() || m.kind.len() > 64 || m.kind.contains(char::is_control) {
        return Err(StoreError::Invalid(
            "a letter's kind must be 1 to 64 bytes of text",
        ));
    }
    Ok(())
}

/// The error as stored: without NUL, cut to [`MAX_ERROR`] bytes on a character boundary.
pub(crate) fn stored_error(error: &str) -> String {
    let clean = error.replace('\0', "");
    let mut end = clean.len().min(MAX_ERROR);
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    clean[..end].to_owned()
}

/// The lease in microseconds; a zero lease would hand the letter to the next caller at once.
pub(crate) fn lease_us(lease: Duration) -> Result<i64, StoreError> {
    let us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    if us == 0 {
        return Err(StoreError::Invalid("a lease must be longer than zero"));
    }
    Ok(us)
}

/// The columns of `mail_outbox`, in [`MailRow`]'s order.
pub(crate) const MAIL_COLUMNS: &str = "id, recipient, subject, body, kind, request_id, attempts, \
     sent_at_us, last_error, next_attempt_us";

/// A row of `mail_outbox`.
#[derive(sqlx::FromRow)]
pub(crate) struct MailRow {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    kind: String,
    request_id: Option<i64>,
    attempts: i64,
    sent_at_us: Option<i64>,
    last_error: Option<String>,
    next_attempt_us: Option<i64>,
}

impl TryFrom<MailRow> for QueuedMail {
    type Error = StoreError;

    fn try_from(r: MailRow) -> Result<Self, StoreError> {
        Ok(QueuedMail {
            id: r.id,
            to: r.recipient,
            subject: r.subject,
            body: r.body,
            kind: r.kind,
            request_id: r.request_id,
            attempts: count(r.attempts, "mail attempts")?,
            sent_at: r.sent_at_us.map(timestamp).transpose()?,
            last_error: r.last_error,
            next_attempt: r.next_attempt_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn mails(rows: Vec<MailRow>) -> Result<Vec<QueuedMail>, StoreError> {
    let mut out = rows
        .into_iter()
        .map(QueuedMail::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    // RETURNING promises no order.
    out.sort_by_key(|m| m.id);
    Ok(out)
}

/// The outbox's SQL for one backend. `$db` is the sqlx database type, `$conn` its connection,
/// and `$lock` what the backend appends to the query that picks letters to lease (PostgreSQL:
/// ` FOR UPDATE SKIP LOCKED`, so concurrent workers pass over each other's picks instead of
/// waiting; SQLite: nothing, the caller holds the database's write lock).
macro_rules! outbox_queries {
    ($db:ty, $conn:ty, $lock:literal) => {
        use sqlx::QueryBuilder;

        use $crate::StoreError;
        use $crate::outbox::{MAIL_COLUMNS, MailRow, NewMail, QueuedMail, mails, stored_error};

        /// Queues `m`, due at once. `request_id` overrides `m.request_id`.
        pub(crate) async fn insert(
            conn: &mut $conn,
            m: &NewMail<'_>,
            request_id: Option<i64>,
            now: i64,
        ) -> Result<i64, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO mail_outbox (recipient, subject, body, kind, request_id, \
                 created_at_us, next_attempt_us, attempts) VALUES (",
            );
            qb.separated(", ")
                .push_bind(m.to)
                .push_bind(m.subject)
                .push_bind(m.body)
                .push_bind(m.kind)
                .push_bind(request_id)
                .push_bind(now)
                .push_bind(now)
                .push_bind(0_i64);
            qb.push(") RETURNING id");
            qb.build_query_scalar()
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    $crate::requests::missing_parent(
                        e,
                        StoreError::Invalid("a letter's request_id must name a stored request"),
                    )
                })
        }

        /// Leases up to `limit` due letters until `until`, oldest due first. The caller's
        /// transaction must keep other workers out (see `$lock`).
        pub(crate) async fn lease(
            conn: &mut $conn,
            limit: u32,
            now: i64,
            until: i64,
        ) -> Result<Vec<QueuedMail>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT id FROM mail_outbox WHERE next_attempt_us IS NOT NULL \
                 AND next_attempt_us <= ",
            );
            qb.push_bind(now)
                .push(" AND (lease_until_us IS NULL OR lease_until_us <= ")
                .push_bind(now)
                .push(") ORDER BY next_attempt_us, id LIMIT ")
                .push_bind(i64::from(limit))
                .push($lock);
            let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = QueryBuilder::<$db>::new("UPDATE mail_outbox SET lease_until_us = ");
            qb.push_bind(until).push(" WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            qb.push(format_args!(") RETURNING {MAIL_COLUMNS}"));
            let rows: Vec<MailRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            mails(rows)
        }

        /// Marks the letter sent (keeping the first time if it was already).
        pub(crate) async fn sent(conn: &mut $conn, id: i64, now: i64) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE mail_outbox SET next_attempt_us = NULL, lease_until_us = NULL, \
                 sent_at_us = COALESCE(sent_at_us, ",
            );
            qb.push_bind(now).push(") WHERE id = ").push_bind(id);
            if qb.build().execute(&mut *conn).await?.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        /// Records a failed delivery and when to try again (`None`: never). A letter that
        /// another worker has meanwhile sent stays sent.
        pub(crate) async fn failed(
            conn: &mut $conn,
            id: i64,
            error: &str,
            retry_at: Option<i64>,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE mail_outbox SET attempts = attempts + 1, lease_until_us = NULL, \
                 last_error = ",
            );
            qb.push_bind(stored_error(error))
                .push(", next_attempt_us = ")
                .push_bind(retry_at)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(" AND sent_at_us IS NULL");
            if qb.build().execute(&mut *conn).await?.rows_affected() == 1 {
                return Ok(());
            }
            let mut qb = QueryBuilder::<$db>::new("SELECT id FROM mail_outbox WHERE id = ");
            qb.push_bind(id);
            let exists: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            exists.map(|_| ()).ok_or(StoreError::NotFound)
        }

        /// The letters of a request, oldest first.
        pub(crate) async fn of_request(
            conn: &mut $conn,
            request_id: i64,
        ) -> Result<Vec<QueuedMail>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE request_id = "
            ));
            qb.push_bind(request_id).push(" ORDER BY id");
            let rows: Vec<MailRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            mails(rows)
        }
    };
}
pub(crate) use outbox_queries;

#[cfg(test)]
mod tests {
    use super::*;

    fn mail<'a>(to: &'a str, subject: &'a str) -> NewMail<'a> {
        NewMail {
            to,
            subject,
            body: "Hello\r\n",
            kind: "acknowledgement",
            request_id: None,
        }
    }

    #[test]
    fn headers_are_one_line() {
        assert!(check_mail(&mail("ann@example.com", "Your request")).is_ok());
        assert!(check_mail(&mail("ann@example.com\r\nBcc: x@y.z", "s")).is_err());
        assert!(check_mail(&mail("ann@example.com", "a\nb")).is_err());
        assert!(check_mail(&mail("", "s")).is_err());
    }

    #[test]
    fn errors_are_cut_on_a_character_boundary() {
        let long = "ø".repeat(MAX_ERROR);
        let cut = stored_error(&long);
        assert!(cut.len() <= MAX_ERROR && cut.len() >= MAX_ERROR - 1);
        assert_eq!(stored_error("a\0b"), "ab");
    }

    #[test]
    fn a_zero_lease_is_refused() {
        assert!(lease_us(Duration::ZERO).is_err());
        assert_eq!(lease_us(Duration::from_secs(2)).ok(), Some(2_000_000));
        assert_eq!(lease_us(Duration::MAX).ok(), Some(i64::MAX));
    }

    #[test]
    fn debug_hides_the_recipient() {
        let text = format!("{:?}", mail("ann@example.com", "Your request"));
        assert!(!text.contains("ann") && text.contains("example.com"));
        assert!(!text.contains("Your request"));
    }
}
