//! Rectification: the named fields of the person's rows get the new values; nothing else in
//! the database changes.

use std::collections::BTreeSet;

use ombud_fulfil::{Correction, JobKind};

use crate::support::*;

async fn rectification_changes_only_the_named_fields(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let subject = env.subject_rows().await;
    let before = env.snapshot().await;

    let correct = |system: &str, table: &str, field: &str, value: &str| Correction {
        system: system.into(),
        collection: n(d, table),
        field: n(d, field),
        value: value.into(),
    };
    let outcome = env
        .run(
            JobKind::Rectification,
            &[("email", EMAIL)],
            vec![
                correct("chinook", "Customer", "City", "São Paulo"),
                correct(
                    "chinook",
                    "Customer",
                    "Address",
                    "Rua O'Higgins 7, \"fundos\"",
                ),
                correct("chinook_billing", "Invoice", "BillingCity", "São Paulo"),
            ],
        )
        .await;

    let after = env.snapshot().await;
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    expected.insert((n(d, "Customer"), CUSTOMER.to_string(), n(d, "City")));
    expected.insert((n(d, "Customer"), CUSTOMER.to_string(), n(d, "Address")));
    for id in &subject.invoices {
        expected.insert((n(d, "Invoice"), id.to_string(), n(d, "BillingCity")));
    }
    let changes: BTreeSet<_> = before.changes(&after).into_iter().collect();
    assert_eq!(changes, expected, "exactly the named fields changed");

    let customer = after.table(d, "Customer");
    let key = CUSTOMER.to_string();
    assert_eq!(customer.cell(d, &key, "City").as_deref(), Some("São Paulo"));
    assert_eq!(
        customer.cell(d, &key, "Address").as_deref(),
        Some("Rua O'Higgins 7, \"fundos\"")
    );
    for id in &subject.invoices {
        assert_eq!(
            after
                .table(d, "Invoice")
                .cell(d, &id.to_string(), "BillingCity")
                .as_deref(),
            Some("São Paulo")
        );
    }
    let except: Vec<(String, String)> = expected
        .iter()
        .map(|(t, k, _)| (t.clone(), k.clone()))
        .collect();
    assert_eq!(before.checksum(&except), after.checksum(&except));

    let changed = changed(&outcome);
    assert_eq!(changed[&format!("chinook:{}", n(d, "Customer"))], (1, 1));
    let invoices = subject.invoices.len() as u64;
    assert_eq!(
        changed[&format!("chinook_billing:{}", n(d, "Invoice"))],
        (invoices, invoices)
    );
    assert_eq!(
        changed[&format!("chinook_billing:{}", n(d, "InvoiceLine"))].0,
        0
    );
}

on_every_backend!(rectification_changes_only_the_named_fields);
