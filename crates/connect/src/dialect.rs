//! The three SQL dialects: how each quotes a name, qualifies a table and spells a placeholder,
//! and which dialect a database URL is.
//!
//! Names are always quoted, so spaces, quotes, capitals, reserved words and any Unicode are
//! allowed; only a NUL byte (no database accepts it, and C APIs would cut the name there) and
//! names longer than [`MAX_IDENTIFIER_BYTES`] are refused.

use std::fmt;

use crate::error::ConnectError;

/// The longest table, schema or column name accepted, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 128;

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
    Sqlite,
}

impl Dialect {
    /// The dialect of a database URL: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`,
    /// `sqlite:` (with or without `//`). `None` for anything else.
    pub fn of_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" if url[scheme.len()..].starts_with("://") => {
                Some(Dialect::Postgres)
            }
            "mysql" | "mariadb" if url[scheme.len()..].starts_with("://") => Some(Dialect::Mysql),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// The connector keyword of the policy format (`postgres`, `mysql`, `sqlite`).
    pub fn keyword(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// `name` quoted as an identifier: `"a""b"` (PostgreSQL) or `` `a``b` `` (MySQL, SQLite).
    /// Refuses a NUL byte, an empty name and names longer than [`MAX_IDENTIFIER_BYTES`].
    pub fn quote(self, name: &str) -> Result<String, ConnectError> {
        let mut out = String::with_capacity(name.len() + 2);
        self.push_quoted(&mut out, name)?;
        Ok(out)
    }

    /// Appends `name` quoted to `out` (see [`Dialect::quote`]).
    pub fn push_quoted(self, out: &mut String, name: &str) -> Result<(), ConnectError> {
        check_identifier(name)?;
        // SQLite takes backticks as well as double quotes, and only backticks are safe there:
        // a double-quoted name that matches no column silently becomes a string literal, so
        // `WHERE "emial" IN ('emial')` would match every row.
        let q = match self {
            Dialect::Postgres => '"',
            Dialect::Mysql | Dialect::Sqlite => '`',
        };
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        Ok(())
    }

    /// A table name, qualified by its schema (PostgreSQL) or database (MySQL, SQLite's attached
    /// database) when one is given: `"s"."t"`.
    pub fn qualified(self, schema: Option<&str>, table: &str) -> Result<String, ConnectError> {
        let mut out = String::new();
        if let Some(schema) = schema {
            self.push_quoted(&mut out, schema)?;
            out.push('.');
        }
        self.push_quoted(&mut out, table)?;
        Ok(out)
    }

    /// The placeholder of the `n`-th bound value (1-based): `$n` or `?`.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Mysql | Dialect::Sqlite => "?".to_owned(),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
            Dialect::Sqlite => "SQLite",
        })
    }
}

/// Refuses names no dialect can take safely.
pub fn check_identifier(name: &str) -> Result<(), ConnectError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else if name.len() > MAX_IDENTIFIER_BYTES {
        "it is longer than 128 bytes"
    } else {
        return Ok(());
    };
    Err(ConnectError::Identifier {
        name: shorten(name),
        reason,
    })
}

/// A name for an error message: at most 64 characters (names come from the policy and the
/// database, never from people, but an over-long one should not flood a log line).
fn shorten(name: &str) -> String {
    if name.chars().count() <= 64 {
        name.to_owned()
    } else {
        let mut s: String = name.chars().take(64).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_per_dialect() {
        assert_eq!(Dialect::Postgres.quote(r#"a"b"#).unwrap(), r#""a""b""#);
        assert_eq!(Dialect::Sqlite.quote("select").unwrap(), "`select`");
        assert_eq!(Dialect::Sqlite.quote(r#"a"b`c"#).unwrap(), r#"`a"b``c`"#);
        assert_eq!(Dialect::Mysql.quote("a`b").unwrap(), "`a``b`");
        assert_eq!(
            Dialect::Mysql.quote(r#"odd "table""#).unwrap(),
            r#"`odd "table"`"#
        );
        assert_eq!(
            Dialect::Postgres.quote("ÆØÅ kolonne").unwrap(),
            "\"ÆØÅ kolonne\""
        );
        assert_eq!(
            Dialect::Postgres.qualified(Some("s p"), "t").unwrap(),
            r#""s p"."t""#
        );
        assert_eq!(Dialect::Mysql.qualified(None, "t").unwrap(), "`t`");
    }

    #[test]
    fn nul_empty_and_long_names_are_refused() {
        for bad in ["a\0b".to_owned(), String::new(), "x".repeat(129)] {
            for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                let e = d.quote(&bad).unwrap_err();
                assert!(matches!(e, ConnectError::Identifier { .. }), "{e}");
            }
        }
        assert!(Dialect::Postgres.quote(&"x".repeat(128)).is_ok());
        let e = Dialect::Postgres.quote("a\0b").unwrap_err().to_string();
        assert!(e.contains("NUL"), "{e}");
        assert!(!e.contains('\0'), "the message shows the name escaped");
    }

    #[test]
    fn placeholders() {
        assert_eq!(Dialect::Postgres.placeholder(3), "$3");
        assert_eq!(Dialect::Mysql.placeholder(3), "?");
        assert_eq!(Dialect::Sqlite.placeholder(1), "?");
    }

    #[test]
    fn dialect_of_url() {
        let cases = [
            ("postgres://u:p@h/db", Some(Dialect::Postgres)),
            ("postgresql://h/db", Some(Dialect::Postgres)),
            ("mysql://root@h/db", Some(Dialect::Mysql)),
            ("mariadb://root@h/db", Some(Dialect::Mysql)),
            ("sqlite:data.db", Some(Dialect::Sqlite)),
            ("sqlite:///tmp/x.db", Some(Dialect::Sqlite)),
            ("SQLite://x.db", Some(Dialect::Sqlite)),
            ("postgres:x", None),
            ("mssql://h/db", None),
            ("no scheme", None),
        ];
        for (url, want) in cases {
            assert_eq!(Dialect::of_url(url), want, "{url}");
        }
    }
}
