//! The Fides import: Chinook's Fides dataset becomes a data map that the policy accepts and
//! that finds the same rows of Customer, Invoice and InvoiceLine as the hand-written map.

use std::collections::BTreeMap;

use ombud_fulfil::{JobKind, Person};

use crate::support::*;

type Rows = Vec<serde_json::Map<String, serde_json::Value>>;

/// The rows by collection name, whatever system the map put the collection in.
async fn exported(env: &Env, engine: &ombud_fulfil::Engine) -> BTreeMap<String, Rows> {
    let outcome = env
        .try_run(
            engine,
            JobKind::Access,
            &[("email", EMAIL)],
            Vec::new(),
            &ombud_fulfil::Quiet,
        )
        .await
        .expect("the access job");
    let mut package = env.package(&outcome).await;
    let mut out = BTreeMap::new();
    for (system, collection, _) in package.collections() {
        if system == "ombud" {
            continue;
        }
        let mut rows = package.rows(&system, &collection).unwrap();
        rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
        assert!(
            out.insert(collection.clone(), rows).is_none(),
            "{collection} once"
        );
    }
    out
}

async fn the_fides_import_finds_the_same_rows(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let fides = fides_policy(d);
    let chinook = ombud_domain::policy::SystemId::parse("chinook").unwrap();
    let system = fides
        .data_map
        .system(&chinook)
        .expect("the imported system");
    let names: Vec<&str> = system.collections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["Customer", "Employee", "Invoice", "InvoiceLine"]
            .map(|t| n(d, t))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let fides_engine = env.engine_with(&fides);
    let person = Person {
        identities: vec![(ombud_domain::datamap::Identity::Email, EMAIL.to_owned())],
    };

    // The same counts before anything runs.
    let count =
        |counts: Vec<(ombud_domain::datamap::CollectionRef, u64)>| -> BTreeMap<String, u64> {
            counts.into_iter().map(|(c, n)| (c.collection, n)).collect()
        };
    let (_, hand_counts) = env.engine.preview(&person).await.unwrap();
    let (_, fides_counts) = fides_engine.preview(&person).await.unwrap();
    let (hand_counts, fides_counts) = (count(hand_counts), count(fides_counts));

    let hand = exported(&env, &env.engine).await;
    let imported = exported(&env, &fides_engine).await;
    for table in ["Customer", "Invoice", "InvoiceLine"] {
        let name = n(d, table);
        assert_eq!(hand_counts[&name], fides_counts[&name], "{table} previewed");
        assert_eq!(hand[&name], imported[&name], "{table} exported");
        assert_eq!(hand[&name].len() as u64, hand_counts[&name]);
        assert!(!hand[&name].is_empty(), "{table} has rows of the person");
    }

    // The one difference: the dataset follows Customer.SupportRepId to the employee who
    // looks after the customer (`direction: to`); the hand-written map does not.
    let employee = n(d, "Employee");
    assert_eq!(hand[&employee].len(), 0);
    let rep = env
        .db
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} = {CUSTOMER}",
            env.db.text("SupportRepId"),
            env.db.q("Customer"),
            env.db.q("CustomerId")
        ))
        .await;
    let found: Vec<String> = imported[&employee]
        .iter()
        .map(|r| r[&n(d, "EmployeeId")].to_string())
        .collect();
    assert_eq!(found, rep.iter().map(i64::to_string).collect::<Vec<_>>());
    assert_eq!(fides_counts[&employee], 1);

    // The dataset's `system.operations` columns (keys, track ids) are the system's own data
    // and erasure leaves them alone. Its purchase-history columns (UnitPrice, Quantity) are
    // NOT NULL, and the map, as imported, erases them with the default NULL: the erasure is
    // refused by the database, names the table, and is rolled back whole. The imported map needs
    // erasure rules before it erases (see `erasure:` in examples/impero/datamap.yaml).
    let before = env.snapshot().await;
    let refused = env
        .try_run(
            &fides_engine,
            JobKind::Erasure,
            &[("email", EMAIL)],
            Vec::new(),
            &ombud_fulfil::Quiet,
        )
        .await
        .expect_err("NULL into a NOT NULL column");
    let message = refused.to_string();
    assert!(
        message.contains("not-null") && message.contains(&n(d, "Invoice")),
        "{message}"
    );
    assert!(!message.contains(EMAIL), "{message}");
    assert_eq!(env.snapshot().await, before, "nothing was written");
}

on_every_backend!(the_fides_import_finds_the_same_rows);
