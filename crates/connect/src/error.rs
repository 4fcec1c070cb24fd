//! Errors of the connectors.
//!
//! Messages name tables and columns (they come from the policy and the database's own
//! catalogue, not from people) but never carry a bound value, a row's content or the password
//! of a database URL. A database's own error text is passed on only for the classes of errors
//! whose wording cannot quote a value (unknown column, syntax, permissions, locks); for every
//! other error the message says what kind of error it was, with the database's error code.

use std::borrow::Cow;

use crate::dialect::Dialect;

/// What went wrong talking to a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not one of the supported kinds.
    #[error(
        "{url} is not a database URL ombud can connect to: use postgres://, mysql://, mariadb:// or sqlite:"
    )]
    UnsupportedUrl { url: String },
    /// The URL could not be used (the `url` shown is redacted).
    #[error("{url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The database did not accept a connection.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// A table or column name that cannot be quoted safely.
    #[error("invalid name {name:?}: {reason}")]
    Identifier { name: String, reason: &'static str },
    /// The table does not exist (or is not visible to the connection's user).
    #[error("table {table} does not exist")]
    NoSuchTable { table: String },
    /// The table has no such column.
    #[error("table {table} has no column {column:?}")]
    NoSuchColumn { table: String, column: String },
    /// The call itself was malformed (too many values, a key of the wrong length...).
    #[error("{op} on {table}: {reason}")]
    Request {
        op: &'static str,
        table: String,
        reason: String,
    },
    /// A statement on a table failed.
    #[error("{op} on {table} failed: {reason}")]
    Query {
        op: &'static str,
        table: String,
        reason: String,
    },
    /// A value of a column could not be turned into a [`ombud_domain::datamap::Value`].
    #[error("{table}, column {column:?}: cannot read values of type {type_name}")]
    Decode {
        table: String,
        column: String,
        type_name: String,
    },
    /// Something not tied to one table failed (reading the catalogue, a transaction).
    #[error("{op} failed: {reason}")]
    Database { op: &'static str, reason: String },
}

/// A description of a driver error that is safe to show: no values, no URL.
pub(crate) fn describe(dialect: Dialect, e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => describe_database(dialect, db.as_ref()),
        sqlx::Error::Io(io) => format!("I/O error ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS error".to_owned(),
        sqlx::Error::Protocol(_) => "protocol error from the database".to_owned(),
        sqlx::Error::PoolTimedOut => "no connection became available within 10 s".to_owned(),
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::WorkerCrashed => "the database worker thread stopped".to_owned(),
        sqlx::Error::Configuration(_) => "invalid connection settings".to_owned(),
        sqlx::Error::ColumnNotFound(name) => format!("no column {name:?} in the result"),
        sqlx::Error::ColumnIndexOutOfBounds { index, len } => {
            format!("column {index} requested of a result with {len}")
        }
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode result column {index}"),
        sqlx::Error::Encode(_) => "cannot encode a bound value".to_owned(),
        sqlx::Error::Decode(_) => "cannot decode a value".to_owned(),
        sqlx::Error::TypeNotFound { type_name } => format!("unknown type {type_name:?}"),
        sqlx::Error::RowNotFound => "no row returned".to_owned(),
        _ => "database driver error".to_owned(),
    }
}

fn describe_database(dialect: Dialect, db: &dyn sqlx::error::DatabaseError) -> String {
    use sqlx::error::ErrorKind;
    let code = db.code().unwrap_or(Cow::Borrowed("?")).into_owned();
    // Constraint violations: the message of PostgreSQL's detail and MySQL's "Duplicate entry"
    // quote the offending value, so say it in our own words with the constraint's name.
    let constraint = db
        .constraint()
        .map(|c| format!(" {c:?}"))
        .unwrap_or_default();
    match db.kind() {
        ErrorKind::UniqueViolation => {
            return format!("unique constraint{constraint} violated (code {code})");
        }
        ErrorKind::ForeignKeyViolation => {
            return format!("foreign key constraint{constraint} violated (code {code})");
        }
        ErrorKind::NotNullViolation => {
            return format!("not-null constraint violated (code {code})");
        }
        ErrorKind::CheckViolation => {
            return format!("check constraint{constraint} violated (code {code})");
        }
        ErrorKind::ExclusionViolation => {
            return format!("exclusion constraint{constraint} violated (code {code})");
        }
        _ => {}
    }
    let safe = match dialect {
        // SQLite's messages name tables and columns but never quote values.
        Dialect::Sqlite => true,
        // SQLSTATE classes whose messages cannot carry a value: syntax and access rules (42:
        // undefined column, operator does not exist...), invalid catalog or schema (3D, 3F),
        // authorisation (28), connection (08), transaction state and rollback (25, 40),
        // resources (53), operator intervention (57). Class 22 (data exception) quotes values.
        Dialect::Postgres => ["42", "3D", "3F", "28", "08", "25", "40", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class)),
        Dialect::Mysql => {
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|e| e.number());
            // MySQL's SQLSTATE classes are coarse (HY000 covers "Incorrect integer value:
            // 'x'"), so go by error number: unknown column/table/database, syntax, access
            // denied, lock wait, deadlock, too many connections, read-only.
            matches!(
                number,
                Some(
                    1044 | 1045
                        | 1046
                        | 1049
                        | 1054
                        | 1064
                        | 1103
                        | 1142
                        | 1143
                        | 1146
                        | 1205
                        | 1213
                        | 1040
                        | 1290
                        | 1792
                )
            )
        }
    };
    if safe {
        format!("{} (code {code})", one_line(db.message()))
    } else {
        let what = match dialect {
            Dialect::Postgres if code.starts_with("22") => "a value does not fit the column's type",
            Dialect::Mysql if matches!(code.as_str(), "22001" | "22003" | "22007" | "HY000") => {
                "a value does not fit the column's type, or the statement was refused"
            }
            _ => "the database refused the statement",
        };
        format!("{what} (code {code}; the database's message is withheld as it may quote values)")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A database URL for messages: scheme, user, host, port and database, with the password and
/// every query parameter (which may hold `password=`) removed.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once(':') else {
        return "[redacted]".to_owned();
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return "[redacted]".to_owned();
    }
    let Some(rest) = rest.strip_prefix("//") else {
        // `sqlite:path`: no credentials, but drop parameters all the same.
        let path = rest.split('?').next().unwrap_or_default();
        return format!("{scheme}:{path}");
    };
    let (user, host) = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') {
                ":[redacted]"
            } else {
                ""
            };
            (format!("{user}{hidden}@"), &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    let host = host.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}://{user}{host}")
}

/// The password of a URL, percent-decoded, if it has one: removed from any text that could
/// echo it.
pub(crate) fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = &rest[..rest.rfind('@')?];
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| percent_decode(password))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = bytes.get(i + 1..i + 3)
            && let Ok(h) = std::str::from_utf8(h)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every occurrence of the password (raw and percent-decoded) replaced.
pub(crate) fn scrub(text: String, url: &str) -> String {
    let raw = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rfind('@').map(|at| &rest[..at]))
        .and_then(|userinfo| userinfo.split_once(':'))
        .map(|(_, p)| p.to_owned())
        .filter(|p| !p.is_empty());
    let mut text = text;
    for secret in [raw, url_password(url)].into_iter().flatten() {
        if text.contains(&secret) {
            text = text.replace(&secret, "[redacted]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_and_parameters() {
        let cases = [
            (
                "postgres://alice:s3cr%40t@db.example:5432/crm?sslmode=require&password=x",
                "postgres://alice:[redacted]@db.example:5432/crm",
            ),
            ("mysql://root@127.0.0.1/test", "mysql://root@127.0.0.1/test"),
            (
                "mysql://u:p@ss/w@rd@h:3306/db",
                "mysql://u:[redacted]@h:3306/db",
            ),
            ("sqlite:data/x.db?mode=ro", "sqlite:data/x.db"),
            ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
            ("not a url", "[redacted]"),
            ("postgres://h/db?password=hunter2", "postgres://h/db"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn passwords_are_scrubbed_raw_and_decoded() {
        let url = "postgres://alice:s3cr%40t@h/db";
        assert_eq!(url_password(url).as_deref(), Some("s3cr@t"));
        assert_eq!(
            scrub("bad s3cr@t and s3cr%40t".into(), url),
            "bad [redacted] and [redacted]"
        );
        assert_eq!(scrub("fine".into(), "postgres://h/db"), "fine");
    }
}
