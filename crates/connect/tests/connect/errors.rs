//! Errors name tables and columns, never a bound value or a password.

use std::time::Instant;

use ombud_connect::{ConnectError, Db, Dialect, Select, Value};
use secrecy::SecretString;

use crate::on_every_backend;
use crate::support::{TestDb, admin_url, with_database};

const SECRET: &str = "Secret-Value-4711";
const PASSWORD: &str = "Pa55-w0rd-never-shown";

fn assert_clean(e: &ConnectError, secret: &str) {
    let shown = e.to_string();
    let debug = format!("{e:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(!shown.contains('\n'), "one line: {shown}");
}

async fn failing_statements_keep_values_out(t: TestDb) {
    let customer = t.table("Customer");
    let key = [t.n("CustomerId")];

    // A value the column's type refuses (SQLite takes it, but no employee has that id).
    let mut tx = t.db.begin().await.unwrap();
    let e = tx
        .update_same(
            &customer,
            &[(t.n("SupportRepId"), Value::Text(SECRET.into()))],
            &key,
            &[vec![Value::Int(1)]],
        )
        .await
        .unwrap_err();
    assert_clean(&e, SECRET);
    assert!(e.to_string().contains(&t.n("Customer")), "{e}");
    tx.rollback().await.unwrap();

    // The same as a filter: PostgreSQL casts the text to the column's type and fails.
    let r =
        t.db.select(&Select {
            table: customer.clone(),
            columns: vec![t.n("Email")],
            filter_column: t.n("CustomerId"),
            values: vec![Value::Text(SECRET.into())],
            key: key.to_vec(),
            after: None,
            limit: 1,
        })
        .await;
    match t.dialect {
        Dialect::Postgres => assert_clean(&r.unwrap_err(), SECRET),
        _ => assert!(r.unwrap().is_empty()),
    }

    // A unique violation, whose database message quotes the duplicate.
    t.exec(&format!(
        "CREATE UNIQUE INDEX customer_email_unique ON {} ({})",
        t.q(&t.n("Customer")),
        t.q(&t.n("Email"))
    ))
    .await;
    let mut tx = t.db.begin().await.unwrap();
    let e = tx
        .update_same(
            &customer,
            &[(t.n("Email"), Value::Text(format!("{SECRET}@example.com")))],
            &key,
            &[vec![Value::Int(1)], vec![Value::Int(2)]],
        )
        .await
        .unwrap_err();
    assert_clean(&e, SECRET);
    assert!(e.to_string().contains("unique"), "{e}");
    tx.rollback().await.unwrap();

    // A foreign key violation (SQLite enforces them too: the connector turns them on).
    let mut tx = t.db.begin().await.unwrap();
    let e = tx
        .update_each(
            &customer,
            &[t.n("SupportRepId")],
            &key,
            &[(vec![Value::Int(3)], vec![Value::Int(4_247_110)])],
        )
        .await
        .unwrap_err();
    assert_clean(&e, "4247110");
    assert!(e.to_string().contains("foreign key"), "{e}");
    tx.rollback().await.unwrap();

    // A column that does not exist is named.
    let e =
        t.db.count(&customer, "no such column", &[Value::Text(SECRET.into())])
            .await
            .unwrap_err();
    assert_clean(&e, SECRET);
    assert!(e.to_string().contains("no such column"), "{e}");

    // A misspelt column is an error, never a string literal (SQLite's double-quote fallback
    // would make `"emial" IN ('emial')` true for every row).
    let before = t.snapshot().await;
    let mut tx = t.db.begin().await.unwrap();
    let e = tx
        .delete(
            &customer,
            &["emial".to_owned()],
            &[vec![Value::Text("emial".into())]],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("emial"), "{e}");
    drop(tx);
    assert_eq!(t.snapshot().await, before);

    // A table that does not exist is named.
    let e =
        t.db.count(
            &ombud_connect::TableName::new("nowhere"),
            "x",
            &[Value::Int(1)],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nowhere"), "{e}");
}
on_every_backend!(failing_statements, failing_statements_keep_values_out);

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let pg = with_database(&admin_url(Dialect::Postgres), "ombud_no_such_database").replacen(
        "://postgres@",
        &format!("://postgres:{PASSWORD}@"),
        1,
    );
    let my = admin_url(Dialect::Mysql).replacen("://root@", &format!("://root:{PASSWORD}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let cases = [
        pg.clone(),
        my,
        format!("mssql://sa:{PASSWORD}@127.0.0.1/db"),
        format!("postgres://u:{PASSWORD}@127.0.0.1:1/db"),
        format!("postgres://127.0.0.1:1/db?password={PASSWORD}"),
        missing.clone(),
        "sqlite::memory:".to_owned(),
    ];
    for url in cases {
        let started = Instant::now();
        let e = Db::connect(url.as_str())
            .await
            .expect_err("the connection must fail");
        assert_clean(&e, PASSWORD);
        assert!(started.elapsed().as_secs() < 11, "{url}: {e}");
        if url.contains(PASSWORD) && url.contains('@') {
            assert!(e.to_string().contains("[redacted]"), "{e}");
        }
    }
    let e = Db::connect(missing.as_str()).await.unwrap_err();
    assert!(e.to_string().contains("missing.db"), "{e}");

    // A URL from the configuration, as a secret; and MariaDB's own scheme.
    let secret = SecretString::from(admin_url(Dialect::Postgres));
    let db = Db::connect(&secret).await.unwrap();
    assert_eq!(db.dialect(), Dialect::Postgres);
    assert!(!format!("{db:?}").contains(PASSWORD));
    db.close().await;
    let mariadb = admin_url(Dialect::Mysql).replacen("mysql://", "mariadb://", 1);
    let db = Db::connect(mariadb.as_str()).await.unwrap();
    assert_eq!(db.dialect(), Dialect::Mysql);
    db.close().await;

    // Debug output of a working pool never shows the password either.
    let with_password = admin_url(Dialect::Mysql).replacen("://root@", "://root:@", 1);
    let db = Db::connect(with_password.as_str()).await.unwrap();
    let debug = format!("{db:?}");
    assert!(debug.contains("mysql://root:[redacted]@"), "{debug}");
    db.close().await;
}
