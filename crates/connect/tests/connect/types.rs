//! Every common column type reads as the expected [`Value`], and what was read can be written
//! back (and used as a key or a filter) unchanged.

use ombud_connect::{Dialect, Select, TableName, Value};

use crate::on_every_backend;
use crate::support::TestDb;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The table, one row in it, and what each column reads as (the first column is the key).
fn fixture(dialect: Dialect) -> (Vec<&'static str>, Vec<(&'static str, Value)>) {
    match dialect {
        Dialect::Postgres => (
            vec![
                "CREATE TYPE mood AS ENUM ('sad', 'happy')",
                "CREATE DOMAIN posint AS integer CHECK (VALUE > 0)",
                "CREATE TABLE typed (id uuid PRIMARY KEY, b boolean, i2 smallint, i4 integer, \
                 i8 bigint, f4 real, f8 double precision, num numeric(12,3), t text, \
                 vc varchar(10), ch char(5), d date, ts timestamp(6), tstz timestamptz, \
                 tm time, iv interval, j json, jb jsonb, u uuid, by bytea, m mood, p posint, \
                 arr integer[], ip inet, missing text)",
                "INSERT INTO typed VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 2, 4, \
                 8000000000, 1.1, 2.25, 12345.678, 'text', 'vc', 'ch', '2024-02-29', \
                 '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+01', '13:14:15', \
                 '1 day 2 hours', '{\"a\": 1}', '{\"b\": [1, 2]}', \
                 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '\\xdeadbeef', 'happy', 7, '{1,2,3}', \
                 '192.168.0.1', NULL)",
            ],
            vec![
                ("id", text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
                ("b", Value::Bool(true)),
                ("i2", Value::Int(2)),
                ("i4", Value::Int(4)),
                ("i8", Value::Int(8_000_000_000)),
                ("f4", Value::Float(1.1)),
                ("f8", Value::Float(2.25)),
                ("num", text("12345.678")),
                ("t", text("text")),
                ("vc", text("vc")),
                ("ch", text("ch   ")),
                ("d", text("2024-02-29")),
                ("ts", text("2024-02-29 13:14:15.123456")),
                ("tstz", text("2024-02-29 12:14:15+00")),
                ("tm", text("13:14:15")),
                ("iv", text("1 day 02:00:00")),
                ("j", text("{\"a\": 1}")),
                ("jb", text("{\"b\": [1, 2]}")),
                ("u", text("b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12")),
                ("by", Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
                ("m", text("happy")),
                ("p", Value::Int(7)),
                ("arr", text("{1,2,3}")),
                ("ip", text("192.168.0.1/32")),
                ("missing", Value::Null),
            ],
        ),
        Dialect::Mysql => (
            vec![
                "CREATE TABLE typed (id BIGINT UNSIGNED PRIMARY KEY, b TINYINT(1), ti TINYINT, \
                 si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, ubi BIGINT UNSIGNED, f FLOAT, \
                 d DOUBLE, num DECIMAL(12,3), vc VARCHAR(10), ch CHAR(5), tx TEXT, \
                 bin_text VARCHAR(10) COLLATE utf8mb4_bin, dt DATE, dtt DATETIME(6), \
                 dt0 DATETIME, ts TIMESTAMP NULL, tm TIME, yr YEAR, j JSON, \
                 e ENUM('sad', 'happy'), st SET('a', 'b'), bl BLOB, vb VARBINARY(8), \
                 bit8 BIT(8), missing TEXT)",
                "INSERT INTO typed VALUES (18446744073709551615, 1, -3, 300, 70000, 4, \
                 8000000000, 18446744073709551615, 1.1, 2.25, 12345.678, 'vc', 'ch', 'text', \
                 'Bin', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 00:00:00', \
                 '2024-02-29 13:14:15', '-26:03:04', 2024, '{\"a\": 1}', 'happy', 'a,b', \
                 X'DEADBEEF', X'00FF', b'101', NULL)",
            ],
            vec![
                ("id", text("18446744073709551615")),
                ("b", Value::Bool(true)),
                ("ti", Value::Int(-3)),
                ("si", Value::Int(300)),
                ("mi", Value::Int(70_000)),
                ("i", Value::Int(4)),
                ("bi", Value::Int(8_000_000_000)),
                ("ubi", text("18446744073709551615")),
                ("f", Value::Float(1.1)),
                ("d", Value::Float(2.25)),
                ("num", text("12345.678")),
                ("vc", text("vc")),
                ("ch", text("ch")),
                ("tx", text("text")),
                ("bin_text", text("Bin")),
                ("dt", text("2024-02-29")),
                ("dtt", text("2024-02-29 13:14:15.123456")),
                ("dt0", text("2024-02-29 00:00:00")),
                ("ts", text("2024-02-29 13:14:15")),
                ("tm", text("-26:03:04")),
                ("yr", Value::Int(2024)),
                ("j", text("{\"a\": 1}")),
                ("e", text("happy")),
                ("st", text("a,b")),
                ("bl", Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
                ("vb", Value::Bytes(vec![0x00, 0xff])),
                ("bit8", Value::Int(5)),
                ("missing", Value::Null),
            ],
        ),
        Dialect::Sqlite => (
            vec![
                "CREATE TABLE typed (id TEXT PRIMARY KEY, b BOOLEAN, i INTEGER, r REAL, \
                 n NUMERIC(10,2), t TEXT, bl BLOB, dt DATETIME, missing TEXT)",
                "INSERT INTO typed VALUES ('k-1', 1, 42, 1.5, 12.5, 'x', X'DEADBEEF', \
                 '2024-02-29 13:14:15', NULL)",
            ],
            vec![
                ("id", text("k-1")),
                ("b", Value::Bool(true)),
                ("i", Value::Int(42)),
                ("r", Value::Float(1.5)),
                ("n", Value::Float(12.5)),
                ("t", text("x")),
                ("bl", Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
                ("dt", text("2024-02-29 13:14:15")),
                ("missing", Value::Null),
            ],
        ),
    }
}

async fn read_all(t: &TestDb, columns: &[String], key: &Value) -> Vec<Vec<Value>> {
    t.db.select(&Select {
        table: TableName::new("typed"),
        columns: columns.to_vec(),
        filter_column: "id".to_owned(),
        values: vec![key.clone()],
        key: vec!["id".to_owned()],
        after: None,
        limit: 10,
    })
    .await
    .unwrap()
}

async fn values_round_trip(t: TestDb) {
    let (setup, expected) = fixture(t.dialect);
    for sql in setup {
        t.exec(sql).await;
    }
    let columns: Vec<String> = expected.iter().map(|(c, _)| (*c).to_owned()).collect();
    let key = expected[0].1.clone();
    let rows = read_all(&t, &columns, &key).await;
    assert_eq!(rows.len(), 1);
    for ((column, want), got) in expected.iter().zip(&rows[0]) {
        assert_eq!(got, want, "column {column}");
    }

    // Every value read, used as a filter, finds its row again (cast to the column's type on
    // PostgreSQL: uuid, numeric, dates, enum, array...).
    for ((column, value), _) in expected.iter().zip(&rows[0]).skip(1) {
        // Single-precision floats do not compare equal to the double they read as; PostgreSQL's
        // json has no equality, and MySQL compares JSON documents, not text.
        let inexact = matches!(*column, "f4" | "f" | "j");
        if *value == Value::Null || inexact {
            continue;
        }
        let found =
            t.db.count(
                &TableName::new("typed"),
                column,
                std::slice::from_ref(value),
            )
            .await
            .unwrap_or_else(|e| panic!("filtering on {column}: {e}"));
        assert_eq!(found, 1, "filtering on {column} = {value:?}");
    }

    // Writing back what was read, keyed by what was read, changes missing.
    let before = t.snapshot().await;
    let rest: Vec<String> = columns[1..].to_vec();
    let mut tx = t.db.begin().await.unwrap();
    let n = tx
        .update_each(
            &TableName::new("typed"),
            &rest,
            &columns[..1],
            &[(vec![key.clone()], rows[0][1..].to_vec())],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = tx
        .update_same(
            &TableName::new("typed"),
            &rest
                .iter()
                .cloned()
                .zip(rows[0][1..].iter().cloned())
                .collect::<Vec<_>>(),
            &columns[..1],
            &[vec![key.clone()]],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
    assert_eq!(t.snapshot().await, before, "the row is exactly as it was");

    // NULL everywhere but the key.
    let mut tx = t.db.begin().await.unwrap();
    let nulls: Vec<(String, Value)> = rest.iter().map(|c| (c.clone(), Value::Null)).collect();
    tx.update_same(
        &TableName::new("typed"),
        &nulls,
        &columns[..1],
        &[vec![key.clone()]],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rows = read_all(&t, &columns, &key).await;
    assert!(rows[0][1..].iter().all(|v| *v == Value::Null), "{rows:?}");
}
on_every_backend!(column_types, values_round_trip);
