//! Read models of the staff console: the figures on its dashboard and the position of the
//! audit log's newest entry. Lists of requests, consent and audit entries reuse the other
//! areas' queries; what is here only aggregates, over indexed ranges.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::StoreError;

/// How many consent events for one target, and how many of them granted it, in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRate {
    /// `purpose:<id>` or `cookies:<category id>`.
    pub target: String,
    pub granted: i64,
    pub total: i64,
}

/// Requests completed in a period, and how many of them by their promised due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeadlineHits {
    pub met: u64,
    pub completed: u64,
}

/// A completed request's promised due date and when it was completed.
#[derive(sqlx::FromRow)]
pub(crate) struct CompletedRow {
    promised_due: String,
    closed_at_us: i64,
}

/// Counts the completions that came on or before the end of their promised due day (in UTC).
pub(crate) fn hits(rows: Vec<CompletedRow>) -> Result<DeadlineHits, StoreError> {
    let mut h = DeadlineHits::default();
    for r in rows {
        let due: Date = r
            .promised_due
            .parse()
            .map_err(|_| StoreError::Corrupt("a promised due date does not parse".to_owned()))?;
        let closed = Timestamp::from_microsecond(r.closed_at_us)
            .map_err(|_| StoreError::Corrupt("a completion time is out of range".to_owned()))?;
        h.completed += 1;
        if jiff::tz::Offset::UTC.to_datetime(closed).date() <= due {
            h.met += 1;
        }
    }
    Ok(h)
}

/// The console's queries, written once and instantiated per backend with its database type
/// `$db` and connection type `$conn`.
macro_rules! console_queries {
    ($db:ty, $conn:ty) => {
        use sqlx::QueryBuilder;

        use $crate::StoreError;
        use $crate::console::{CompletedRow, ConsentRate, DeadlineHits, hits};

        /// Consent choices per target from the UTC day of `since_us` on, from the daily
        /// counts kept with the events: a few rows per day, however many events.
        pub(crate) async fn consent_rates(
            conn: &mut $conn,
            since_us: i64,
        ) -> Result<Vec<ConsentRate>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT target, CAST(SUM(granted) AS BIGINT), CAST(SUM(total) AS BIGINT) \
                 FROM consent_daily WHERE day >= ",
            );
            qb.push_bind(since_us.div_euclid($crate::consent::DAY_US))
                .push(" GROUP BY target ORDER BY target");
            let rows: Vec<(String, i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            Ok(rows
                .into_iter()
                .map(|(target, granted, total)| ConsentRate {
                    target,
                    granted,
                    total,
                })
                .collect())
        }

        /// Requests completed since `since_us` and whether each met its promised date.
        pub(crate) async fn deadline_hits(
            conn: &mut $conn,
            since_us: i64,
        ) -> Result<DeadlineHits, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT promised_due, closed_at_us FROM request \
                 WHERE state = 'completed' AND closed_at_us >= ",
            );
            qb.push_bind(since_us);
            let rows: Vec<CompletedRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            hits(rows)
        }

        /// The sequence number of the newest audit entry (0 for an empty log).
        pub(crate) async fn audit_head_seq(conn: &mut $conn) -> Result<i64, StoreError> {
            let seq: Option<Option<i64>> =
                sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(seq.flatten().unwrap_or(0))
        }
    };
}
pub(crate) use console_queries;

/// The backend methods behind [`crate::Store`]'s console figures; `$read` names the pool
/// they read from.
macro_rules! console_methods {
    (read: $read:ident) => {
        pub(crate) async fn consent_rates(
            &self,
            since_us: i64,
        ) -> Result<Vec<$crate::console::ConsentRate>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            console_sql::consent_rates(&mut conn, since_us).await
        }

        pub(crate) async fn deadline_hits(
            &self,
            since_us: i64,
        ) -> Result<$crate::console::DeadlineHits, StoreError> {
            let mut conn = self.$read.acquire().await?;
            console_sql::deadline_hits(&mut conn, since_us).await
        }

        pub(crate) async fn audit_head_seq(&self) -> Result<i64, StoreError> {
            let mut conn = self.$read.acquire().await?;
            console_sql::audit_head_seq(&mut conn).await
        }
    };
}
pub(crate) use console_methods;
