//! Names and values chosen to break naive SQL: they must be quoted or bound, round-trip
//! exactly, and leave every other row alone.

use ombud_connect::{ConnectError, Dialect, Select, TableName, Value};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::on_every_backend;
use crate::support::TestDb;

const TABLE: &str = "odd \"table\"";
const ID: &str = "id";
const MIXED: &str = "Mixed Case";
const SELECT: &str = "select";
const NORDIC: &str = "ÆØÅ kolonne";
const QUOTED: &str = "quote'd";
const TICK: &str = "back`tick";

fn hostile_values(dialect: Dialect) -> Vec<String> {
    let mut v: Vec<String> = [
        "'; DROP TABLE customer; --",
        "'; DROP TABLE \"Customer\"; --",
        "`; DROP TABLE `Customer`; --",
        "\"; DELETE FROM \"odd \"\"table\"\"\"; --",
        "O'Brien",
        "''",
        "\\",
        "back\\slash\\'",
        "%_wild*",
        "ÆØÅ æøå 日本語 🎉",
        "  padded  ",
        "",
        "line\nbreak\r\n",
        "tab\t",
        "?",
        "$1",
        ":name",
        "NULL",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("ø".repeat(51_200)); // 100 KiB
    if dialect != Dialect::Postgres {
        // PostgreSQL text cannot hold a NUL; the others keep it.
        v.push("nul\0inside".to_owned());
    }
    v
}

async fn create(t: &TestDb, values: &[String]) {
    let q = |s: &str| t.q(s);
    let (int, text, key_text) = match t.dialect {
        Dialect::Mysql => ("INT", "LONGTEXT", "VARCHAR(100)"),
        _ => ("INTEGER", "TEXT", "VARCHAR(100)"),
    };
    t.exec(&format!(
        "CREATE TABLE {} ({} {int} NOT NULL, {} {key_text} NOT NULL, {} {text}, {} {text}, \
         {} {text}, {} {text}, PRIMARY KEY ({}, {}))",
        q(TABLE),
        q(ID),
        q(MIXED),
        q(SELECT),
        q(NORDIC),
        q(QUOTED),
        q(TICK),
        q(ID),
        q(MIXED)
    ))
    .await;
    // Rows inserted with bound values through a connection of the test's own.
    let insert = format!(
        "INSERT INTO {} ({}, {}, {}, {}, {}, {}) VALUES ({})",
        q(TABLE),
        q(ID),
        q(MIXED),
        q(SELECT),
        q(NORDIC),
        q(QUOTED),
        q(TICK),
        match t.dialect {
            Dialect::Postgres => "$1, $2, $3, $4, $5, $6",
            _ => "?, ?, ?, ?, ?, ?",
        }
    );
    macro_rules! insert_all {
        ($conn:expr) => {{
            for (i, v) in values.iter().enumerate() {
                sqlx::query(AssertSqlSafe(insert.clone()))
                    .bind(i as i32 + 1)
                    .bind(format!("row {}", i + 1))
                    .bind(v)
                    .bind(v)
                    .bind(v)
                    .bind(v)
                    .execute(&mut $conn)
                    .await
                    .unwrap();
            }
        }};
    }
    match t.dialect {
        Dialect::Postgres => {
            let mut c = PgConnection::connect(&t.url).await.unwrap();
            insert_all!(c);
        }
        Dialect::Mysql => {
            let mut c = MySqlConnection::connect(&t.url).await.unwrap();
            insert_all!(c);
        }
        Dialect::Sqlite => {
            let path = t.url.strip_prefix("sqlite://").unwrap();
            let mut c = SqliteConnectOptions::new()
                .filename(path)
                .connect()
                .await
                .unwrap();
            insert_all!(c);
        }
    }
}

fn columns() -> Vec<String> {
    [ID, MIXED, SELECT, NORDIC, QUOTED, TICK]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn key() -> Vec<String> {
    vec![ID.to_owned(), MIXED.to_owned()]
}

fn key_of(i: usize) -> Vec<Value> {
    vec![
        Value::Int(i as i64 + 1),
        Value::Text(format!("row {}", i + 1)),
    ]
}

async fn all_rows(t: &TestDb, values: &[String]) -> Vec<Vec<Value>> {
    let mut filter: Vec<Value> = (1..=values.len() as i64).map(Value::Int).collect();
    filter.push(Value::Int(9999));
    t.db.select(&Select {
        table: TableName::new(TABLE),
        columns: columns(),
        filter_column: ID.to_owned(),
        values: filter,
        key: key(),
        after: None,
        limit: 1000,
    })
    .await
    .unwrap()
}

async fn hostile_names_and_values(t: TestDb) {
    let values = hostile_values(t.dialect);
    create(&t, &values).await;
    let table = TableName::new(TABLE);
    let before = t.snapshot().await;

    // Each value finds exactly its own row, through every oddly named column.
    for filter_column in [SELECT, NORDIC, QUOTED, TICK] {
        for (i, v) in values.iter().enumerate() {
            let rows =
                t.db.select(&Select {
                    table: table.clone(),
                    columns: columns(),
                    filter_column: filter_column.to_owned(),
                    values: vec![Value::Text(v.clone())],
                    key: key(),
                    after: None,
                    limit: 10,
                })
                .await
                .unwrap_or_else(|e| panic!("selecting by {filter_column:?}: {e}"));
            let mut want = key_of(i);
            want.extend(std::iter::repeat_n(Value::Text(v.clone()), 4));
            assert_eq!(rows, [want], "{filter_column:?} = value {i}");
        }
    }
    // The odd key column as the filter, and keyset paging over it.
    let by_mixed =
        t.db.select(&Select {
            table: table.clone(),
            columns: vec![ID.to_owned()],
            filter_column: MIXED.to_owned(),
            values: vec![Value::Text("row 2".into()), Value::Text("row 3".into())],
            key: key(),
            after: Some(key_of(1)),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(by_mixed, [vec![Value::Int(3)]]);

    // Each row gets another row's value, in one statement per column set.
    let n = values.len();
    let rows: Vec<(Vec<Value>, Vec<Value>)> = (0..n)
        .map(|i| {
            let other = Value::Text(values[n - 1 - i].clone());
            (key_of(i), vec![other.clone(), other])
        })
        .collect();
    let mut tx = t.db.begin().await.unwrap();
    let changed = tx
        .update_each(&table, &[SELECT.to_owned(), TICK.to_owned()], &key(), &rows)
        .await
        .unwrap();
    assert_eq!(changed, n as u64);
    let changed = tx
        .update_same(
            &table,
            &[(QUOTED.to_owned(), Value::Text(values[0].clone()))],
            &key(),
            &[key_of(1), key_of(2)],
        )
        .await
        .unwrap();
    assert_eq!(changed, 2);
    tx.commit().await.unwrap();
    let got = all_rows(&t, &values).await;
    assert_eq!(got.len(), n);
    for (i, row) in got.iter().enumerate() {
        let mine = Value::Text(values[i].clone());
        let other = Value::Text(values[n - 1 - i].clone());
        let quoted = if i == 1 || i == 2 {
            Value::Text(values[0].clone())
        } else {
            mine.clone()
        };
        let mut want = key_of(i);
        want.extend([other.clone(), mine, quoted, other]);
        assert_eq!(*row, want, "row {i}");
    }

    // Deleting two rows by their odd composite key leaves the rest.
    let mut tx = t.db.begin().await.unwrap();
    let deleted = tx
        .delete(&table, &key(), &[key_of(0), key_of(n - 1)])
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    tx.commit().await.unwrap();
    let left = all_rows(&t, &values).await;
    assert_eq!(left.len(), n - 2);
    assert_eq!(left[0][0], Value::Int(2));

    // Nothing but the odd table changed: no injected statement ran.
    let after = t.snapshot().await;
    assert_eq!(before.tables_changed(&after), [TABLE.to_owned()]);
    let customers =
        t.db.count(
            &t.table("Customer"),
            &t.n("Country"),
            &[Value::Text("Brazil".into()), Value::Text("Norway".into())],
        )
        .await
        .unwrap();
    assert_eq!(customers, 6);

    if t.dialect == Dialect::Postgres {
        // A NUL cannot be stored in PostgreSQL text: refused, nothing written, and the value
        // is not in the message.
        let mut tx = t.db.begin().await.unwrap();
        let e = tx
            .update_same(
                &table,
                &[(SELECT.to_owned(), Value::Text("secret\0value".into()))],
                &key(),
                &[key_of(1)],
            )
            .await
            .unwrap_err();
        let message = e.to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(message.contains(r#""odd \"table\"""#), "{message}");
        tx.rollback().await.unwrap();
        assert_eq!(t.snapshot().await, after);
    }
}
on_every_backend!(hostile, hostile_names_and_values);

async fn refuses_unsafe_names(t: TestDb) {
    let long = "x".repeat(129);
    for (table, column) in [
        ("Customer\0; DROP TABLE x", "Email"),
        ("Customer", "Email\0"),
        (long.as_str(), "Email"),
        ("Customer", long.as_str()),
        ("", "Email"),
    ] {
        let table = if table == "Customer" {
            t.table("Customer")
        } else {
            TableName::new(table)
        };
        let column = if column == "Email" {
            t.n("Email")
        } else {
            column.to_owned()
        };
        let q = Select {
            table: table.clone(),
            columns: vec![column.clone()],
            filter_column: column.clone(),
            values: vec![Value::Text("x".into())],
            key: vec![column.clone()],
            after: None,
            limit: 1,
        };
        let e = t.db.select(&q).await.unwrap_err();
        assert!(matches!(e, ConnectError::Identifier { .. }), "{e:?}");
        assert!(!e.to_string().contains('\0'));
        let e =
            t.db.count(&table, &column, &[Value::Int(1)])
                .await
                .unwrap_err();
        assert!(matches!(e, ConnectError::Identifier { .. }), "{e:?}");
        let mut tx = t.db.begin().await.unwrap();
        let e = tx
            .delete(
                &table,
                std::slice::from_ref(&column),
                &[vec![Value::Int(1)]],
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ConnectError::Identifier { .. }), "{e:?}");
        tx.rollback().await.unwrap();
    }
    // A schema with a NUL is refused as well.
    let e =
        t.db.count(
            &TableName::in_schema("public\0", "x"),
            "y",
            &[Value::Int(1)],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectError::Identifier { .. }), "{e:?}");
}
on_every_backend!(unsafe_names, refuses_unsafe_names);
