//! Rows → [`Value`]s, by the type each database reports for a result column.
//!
//! Decoding goes by type name, never by trying Rust types in turn (a MySQL `BIGINT UNSIGNED`
//! can decode as a bool that way). Types without an exact mapping are text in the database's
//! own notation: PostgreSQL's are cast to text in the statement (see `sql.rs`), MySQL's dates,
//! times and decimals are rendered here from the binary protocol, SQLite's are whatever the
//! value's storage class is.

use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::error::ConnectError;
use crate::{TableName, Value};

fn decode_error(table: &TableName, column: &str, type_name: &str) -> ConnectError {
    ConnectError::Decode {
        table: table.to_string(),
        column: column.to_owned(),
        type_name: type_name.to_owned(),
    }
}

/// `f32` through its shortest decimal form, so `1.1` stays `1.1` rather than
/// `1.100000023841858`.
fn widen(f: f32) -> f64 {
    f.to_string().parse().unwrap_or(f64::from(f))
}

pub(crate) fn pg_row(
    row: &PgRow,
    table: &TableName,
    columns: &[String],
) -> Result<Vec<Value>, ConnectError> {
    let mut out = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|_| decode_error(table, column, "?"))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let type_name = raw.type_info().name().to_owned();
        let bad = |_| decode_error(table, column, &type_name);
        let v = match type_name.as_str() {
            "BOOL" => Value::Bool(row.try_get(i).map_err(bad)?),
            "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(bad)?.into()),
            "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(bad)?.into()),
            "INT8" => Value::Int(row.try_get(i).map_err(bad)?),
            "FLOAT4" => Value::Float(widen(row.try_get(i).map_err(bad)?)),
            "FLOAT8" => Value::Float(row.try_get(i).map_err(bad)?),
            "TEXT" | "VARCHAR" | "CHAR" | "NAME" | "UNKNOWN" => {
                Value::Text(row.try_get(i).map_err(bad)?)
            }
            "BYTEA" => Value::Bytes(row.try_get(i).map_err(bad)?),
            _ => return Err(decode_error(table, column, &type_name)),
        };
        out.push(v);
    }
    Ok(out)
}

pub(crate) fn mysql_row(
    row: &MySqlRow,
    table: &TableName,
    columns: &[String],
) -> Result<Vec<Value>, ConnectError> {
    let mut out = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|_| decode_error(table, column, "?"))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let type_name = raw.type_info().name().to_owned();
        let bad = |_| decode_error(table, column, &type_name);
        // The value's bytes as the binary protocol sent them (dates keep their length byte).
        let bytes = || row.try_get_unchecked::<&[u8], _>(i).map_err(bad);
        let v = match type_name.as_str() {
            "BOOLEAN" => match row.try_get::<i8, _>(i).map_err(bad)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => Value::Int(other.into()),
            },
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => {
                Value::Int(row.try_get(i).map_err(bad)?)
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => {
                let u: u64 = row.try_get(i).map_err(bad)?;
                i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int)
            }
            "FLOAT" => Value::Float(widen(row.try_get(i).map_err(bad)?)),
            "DOUBLE" => Value::Float(row.try_get(i).map_err(bad)?),
            "YEAR" => match bytes()? {
                [lo, hi] => Value::Int(i64::from(u16::from_le_bytes([*lo, *hi]))),
                other => {
                    Value::Text(text(other).ok_or_else(|| decode_error(table, column, &type_name))?)
                }
            },
            "BIT" => {
                let b = bytes()?;
                if b.len() <= 7 {
                    Value::Int(b.iter().fold(0i64, |acc, x| (acc << 8) | i64::from(*x)))
                } else {
                    Value::Bytes(b.to_vec())
                }
            }
            "DATE" | "DATETIME" | "TIMESTAMP" => Value::Text(
                mysql_datetime(bytes()?, type_name != "DATE")
                    .ok_or_else(|| decode_error(table, column, &type_name))?,
            ),
            "TIME" => Value::Text(
                mysql_time(bytes()?).ok_or_else(|| decode_error(table, column, &type_name))?,
            ),
            "DECIMAL" | "JSON" => {
                Value::Text(text(bytes()?).ok_or_else(|| decode_error(table, column, &type_name))?)
            }
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
            | "SET" | "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB"
            | "GEOMETRY" => match row.try_get::<String, _>(i) {
                // Text columns (any collation but `binary`); the server sends them in utf8mb4.
                Ok(s) => Value::Text(s),
                Err(_) => Value::Bytes(bytes()?.to_vec()),
            },
            _ => {
                Value::Text(text(bytes()?).ok_or_else(|| decode_error(table, column, &type_name))?)
            }
        };
        out.push(v);
    }
    Ok(out)
}

fn text(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b).ok().map(str::to_owned)
}

/// A binary-protocol DATE, DATETIME or TIMESTAMP (`len, year u16, month, day[, h, m, s[,
/// µs u32]]`, zero parts left out) in MySQL's notation: `2009-01-01` for a date, else
/// `2009-01-01 00:00:00[.000123]`.
fn mysql_datetime(b: &[u8], with_time: bool) -> Option<String> {
    let (&len, rest) = b.split_first()?;
    if usize::from(len) != rest.len() {
        // Not the binary form: text protocol.
        return text(b);
    }
    let time = if with_time { " 00:00:00" } else { "" };
    match rest {
        [] => Some(format!("0000-00-00{time}")),
        [y0, y1, mo, d] => Some(format!(
            "{:04}-{mo:02}-{d:02}{time}",
            u16::from_le_bytes([*y0, *y1])
        )),
        [y0, y1, mo, d, h, mi, s, micro @ ..] => {
            let mut out = format!(
                "{:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}",
                u16::from_le_bytes([*y0, *y1])
            );
            if let [a, b, c, d] = micro {
                let us = u32::from_le_bytes([*a, *b, *c, *d]);
                if us != 0 {
                    out.push_str(&format!(".{us:06}"));
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// A binary-protocol TIME (`len, negative, days u32, h, m, s[, µs u32]`) as `[-]HH:MM:SS[.f]`.
fn mysql_time(b: &[u8]) -> Option<String> {
    let (&len, rest) = b.split_first()?;
    if usize::from(len) != rest.len() {
        return text(b);
    }
    match rest {
        [] => Some("00:00:00".to_owned()),
        [neg, d0, d1, d2, d3, h, m, s, micro @ ..] => {
            let days = u32::from_le_bytes([*d0, *d1, *d2, *d3]);
            let hours = u64::from(days) * 24 + u64::from(*h);
            let sign = if *neg == 1 { "-" } else { "" };
            let mut out = format!("{sign}{hours:02}:{m:02}:{s:02}");
            if let [a, b, c, d] = micro {
                let us = u32::from_le_bytes([*a, *b, *c, *d]);
                if us != 0 {
                    out.push_str(&format!(".{us:06}"));
                }
            }
            Some(out)
        }
        _ => None,
    }
}

pub(crate) fn sqlite_row(
    row: &SqliteRow,
    table: &TableName,
    columns: &[String],
) -> Result<Vec<Value>, ConnectError> {
    let mut out = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|_| decode_error(table, column, "?"))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        // The value's storage class: SQLite types values, not columns.
        let type_name = raw.type_info().name().to_owned();
        let declared_bool = row.columns()[i].type_info().name() == "BOOLEAN";
        let bad = |_| decode_error(table, column, &type_name);
        let v = match type_name.as_str() {
            "INTEGER" => {
                let n: i64 = row.try_get_unchecked(i).map_err(bad)?;
                match (declared_bool, n) {
                    (true, 0) => Value::Bool(false),
                    (true, 1) => Value::Bool(true),
                    _ => Value::Int(n),
                }
            }
            "REAL" => Value::Float(row.try_get_unchecked(i).map_err(bad)?),
            "TEXT" => Value::Text(row.try_get_unchecked(i).map_err(bad)?),
            "BLOB" => Value::Bytes(row.try_get_unchecked(i).map_err(bad)?),
            _ => return Err(decode_error(table, column, &type_name)),
        };
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_dates_and_times_from_the_binary_protocol() {
        assert_eq!(
            mysql_datetime(&[4, 0xd9, 0x07, 1, 2], false).as_deref(),
            Some("2009-01-02")
        );
        assert_eq!(
            mysql_datetime(&[4, 0xd9, 0x07, 1, 2], true).as_deref(),
            Some("2009-01-02 00:00:00")
        );
        assert_eq!(
            mysql_datetime(&[7, 0xd9, 0x07, 1, 2, 3, 4, 5], true).as_deref(),
            Some("2009-01-02 03:04:05")
        );
        assert_eq!(
            mysql_datetime(&[11, 0xd9, 0x07, 1, 2, 3, 4, 5, 0x7b, 0, 0, 0], true).as_deref(),
            Some("2009-01-02 03:04:05.000123")
        );
        assert_eq!(
            mysql_datetime(b"2009-01-02", false).as_deref(),
            Some("2009-01-02"),
            "text protocol"
        );
        assert_eq!(
            mysql_time(&[8, 1, 1, 0, 0, 0, 2, 3, 4]).as_deref(),
            Some("-26:03:04")
        );
        assert_eq!(mysql_time(&[0]).as_deref(), Some("00:00:00"));
        assert_eq!(widen(1.1), 1.1);
    }
}
