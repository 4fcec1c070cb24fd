//! Access: the package holds exactly the person's rows of Customer, Invoice and InvoiceLine,
//! value for value as the database holds them, and nothing else of the organisation's data.

use ombud_fulfil::JobKind;

use crate::support::*;

/// As the person typed it: matched as given and in lower case.
const TYPED: &str = "LuisG@Embraer.com.br";

async fn access_exports_exactly_the_customers_rows(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let subject = env.subject_rows().await;
    let before = env.snapshot().await;

    let outcome = env
        .run(JobKind::Access, &[("email", TYPED)], Vec::new())
        .await;

    let found: Vec<(String, u64)> = outcome
        .collections
        .iter()
        .map(|c| (format!("{}:{}", c.system, c.collection), c.found))
        .collect();
    let mut expected = vec![
        (format!("chinook:{}", n(d, "Customer")), 1),
        (format!("chinook:{}", n(d, "Employee")), 0),
        (
            format!("chinook_billing:{}", n(d, "Invoice")),
            subject.invoices.len() as u64,
        ),
        (
            format!("chinook_billing:{}", n(d, "InvoiceLine")),
            subject.lines.len() as u64,
        ),
    ];
    let mut got = found.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "rows found per collection");
    assert!(
        outcome
            .collections
            .iter()
            .all(|c| c.changed == 0 && c.deleted == 0)
    );

    let mut package = env.package(&outcome).await;
    for (system, table, key, ids) in [
        ("chinook", "Customer", "CustomerId", &subject.customers),
        ("chinook_billing", "Invoice", "InvoiceId", &subject.invoices),
        (
            "chinook_billing",
            "InvoiceLine",
            "InvoiceLineId",
            &subject.lines,
        ),
    ] {
        let c = cref(d, system, table);
        let columns = mapped_columns(&env.policy, &c);
        let rows = package
            .rows(system, &n(d, table))
            .unwrap_or_else(|| panic!("{table} is in the package"));
        let mut keys: Vec<i64> = rows
            .iter()
            .map(|r| match &r[&n(d, key)] {
                serde_json::Value::Number(v) => v.as_i64().unwrap(),
                serde_json::Value::String(s) => s.parse().unwrap(),
                other => panic!("{table}.{key} is {other}"),
            })
            .collect();
        keys.sort_unstable();
        assert_eq!(&keys, ids, "the {table} rows in the package");

        // Every value, against the database's own rendering of the row.
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let db = &env.db;
        let select: Vec<String> = columns
            .iter()
            .map(|c| match d {
                ombud_connect::Dialect::Postgres => format!("CAST(\"{c}\" AS text)"),
                ombud_connect::Dialect::Mysql => format!("CAST(`{c}` AS CHAR)"),
                ombud_connect::Dialect::Sqlite => format!("CAST(\"{c}\" AS TEXT)"),
            })
            .collect();
        let expected_rows = db
            .rows(&format!(
                "SELECT {} FROM {} WHERE {} IN ({})",
                select.join(", "),
                db.q(table),
                db.q(key),
                list.join(", ")
            ))
            .await;
        let key_at = columns.iter().position(|c| *c == n(d, key)).unwrap();
        for expected in &expected_rows {
            let id = expected[key_at].clone().unwrap();
            let row = rows
                .iter()
                .find(|r| same_value(&r[&n(d, key)], Some(&id)))
                .unwrap();
            assert_eq!(
                row.len(),
                columns.len(),
                "{table} {id}: every mapped column and no other"
            );
            for (i, col) in columns.iter().enumerate() {
                assert!(
                    same_value(&row[col], expected[i].as_deref()),
                    "{table} {id}.{col}: the package has {}, the database {:?}",
                    row[col],
                    expected[i]
                );
            }
        }
    }
    assert_eq!(
        package.rows("chinook", &n(d, "Employee")).map(|r| r.len()),
        Some(0),
        "no employee is the person"
    );
    // Only the data map's collections and ombud's own records are in the package.
    for (system, collection, _) in package.collections() {
        assert!(
            ["chinook", "chinook_billing", "ombud"].contains(&system.as_str()),
            "{system}:{collection}"
        );
    }
    assert_eq!(
        package.manifest["request"]["reference"]
            .as_str()
            .map(|s| s.starts_with("R-CHNK-")),
        Some(true),
        "{}",
        package.manifest["request"]
    );

    assert_eq!(env.snapshot().await, before, "access changes nothing");
}

on_every_backend!(access_exports_exactly_the_customers_rows);
