//! Erasure: the person's data goes by the data map's strategies, their invoices stay under the
//! bookkeeping hold (marked restricted instead), every other row of every table stays byte for
//! byte, and a second erasure changes nothing more.

use std::collections::BTreeSet;

use ombud_connect::Dialect;
use ombud_fulfil::JobKind;

use crate::support::*;

/// The columns erasure may change, per table (Pascal names).
pub const ERASED: &[(&str, &[&str])] = &[
    (
        "Customer",
        &[
            "FirstName",
            "LastName",
            "Company",
            "Address",
            "City",
            "State",
            "Country",
            "PostalCode",
            "Phone",
            "Fax",
            "Email",
        ],
    ),
    // Held: kept, and marked restricted.
    ("Invoice", &["Restricted"]),
];

/// Checks the state after one erasure of the subject against the state before it.
pub fn assert_erased(d: Dialect, before: &Snapshot, after: &Snapshot, subject: &SubjectRows) {
    let except = subject.keys();
    assert_eq!(
        before.checksum(&except),
        after.checksum(&except),
        "every other row of every table is unchanged"
    );
    // Only the subject's rows, and only the columns the map erases.
    for (table, key, column) in before.changes(after) {
        let allowed = ERASED
            .iter()
            .any(|(t, cols)| n(d, t) == table && cols.iter().any(|c| n(d, c) == column));
        assert!(
            allowed && except.contains(&(table.clone(), key.clone())),
            "{table} {key}.{column} changed"
        );
    }

    let customer = after.table(d, "Customer");
    let key = CUSTOMER.to_string();
    for (column, value) in [
        ("FirstName", Some("erased")),
        ("LastName", Some("erased")),
        ("Company", Some("erased")),
        ("Address", None),
        ("City", None),
        ("State", None),
        ("Country", None),
        ("PostalCode", None),
        ("Phone", None),
        ("Fax", None),
        ("Restricted", None),
    ] {
        assert_eq!(
            customer.cell(d, &key, column).as_deref(),
            value,
            "Customer.{column}"
        );
    }
    let email = customer.cell(d, &key, "Email").unwrap();
    assert!(
        email.starts_with("erased:") && email.len() == "erased:".len() + 32,
        "the e-mail is a keyed hash: {email}"
    );
    assert_eq!(
        customer.cell(d, &key, "SupportRepId"),
        before.table(d, "Customer").cell(d, &key, "SupportRepId"),
        "links stay"
    );

    let invoices = after.table(d, "Invoice");
    for id in &subject.invoices {
        let key = id.to_string();
        assert_eq!(
            invoices.cell(d, &key, "Restricted").as_deref(),
            Some("1"),
            "the held invoice {id} is marked restricted"
        );
        for column in [
            "BillingAddress",
            "BillingCity",
            "InvoiceDate",
            "Total",
            "CustomerId",
        ] {
            assert_eq!(
                invoices.cell(d, &key, column),
                before.table(d, "Invoice").cell(d, &key, column),
                "the bookkeeping hold keeps Invoice {id}.{column}"
            );
        }
    }

    // Nothing of the person is left anywhere: their e-mail, name, company and phone; their
    // street only in the invoices the hold keeps.
    for needle in [EMAIL, "luisg", "Gonçalves", "3923-5555", "Embraer"] {
        assert!(before.contains(needle), "{needle} was there before");
        assert!(!after.contains(needle), "{needle} is still in the database");
    }
    let mut kept = after.clone();
    let held = kept.tables.get_mut(&n(d, "Invoice")).unwrap();
    held.rows
        .retain(|k, _| !subject.invoices.iter().any(|id| id.to_string() == *k));
    assert!(before.contains("Brigadeiro"));
    assert!(
        !kept.contains("Brigadeiro"),
        "the street is still outside the held invoices"
    );
}

/// `system:collection` → `(changed or deleted, found, held)`.
fn summary(outcome: &ombud_fulfil::Outcome) -> BTreeSet<(String, u64, u64, Vec<String>)> {
    outcome
        .collections
        .iter()
        .map(|c| {
            (
                format!("{}:{}", c.system, c.collection),
                c.changed + c.deleted,
                c.found,
                c.held.clone(),
            )
        })
        .collect()
}

pub fn expected_summary(
    d: Dialect,
    subject: &SubjectRows,
) -> BTreeSet<(String, u64, u64, Vec<String>)> {
    let hold = vec!["bookkeeping".to_owned()];
    let invoices = subject.invoices.len() as u64;
    [
        (format!("chinook:{}", n(d, "Customer")), 1, 1, vec![]),
        (format!("chinook:{}", n(d, "Employee")), 0, 0, vec![]),
        (
            format!("chinook_billing:{}", n(d, "Invoice")),
            invoices,
            invoices,
            hold.clone(),
        ),
        (
            format!("chinook_billing:{}", n(d, "InvoiceLine")),
            0,
            subject.lines.len() as u64,
            hold,
        ),
    ]
    .into_iter()
    .collect()
}

async fn erasure_removes_the_persons_data_and_nothing_else(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let subject = env.subject_rows().await;
    let before = env.snapshot().await;

    let outcome = env.run_for_subject(JobKind::Erasure).await;

    let after = env.snapshot().await;
    assert_erased(d, &before, &after, &subject);
    // The outcome says what was erased, and that the hold kept the invoices (restricted).
    assert_eq!(summary(&outcome), expected_summary(d, &subject));
    // Held collections change no field: the invoices get only their restriction marker.
    let fields = |table: &str| {
        outcome
            .collections
            .iter()
            .find(|c| c.collection == n(d, table))
            .map(|c| c.fields.clone())
            .unwrap()
    };
    assert_eq!(fields("Invoice"), [n(d, "Restricted")]);
    assert_eq!(fields("InvoiceLine"), Vec::<String>::new());
    assert!(
        outcome
            .ombud
            .as_deref()
            .is_some_and(|s| s.starts_with("kept")),
        "{:?}",
        outcome.ombud
    );
    assert!(outcome.unreachable.is_empty(), "{:?}", outcome.unreachable);
}

async fn a_second_erasure_changes_nothing(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let subject = env.subject_rows().await;
    let before = env.snapshot().await;

    env.run_for_subject(JobKind::Erasure).await;
    let once = env.snapshot().await;
    assert_erased(d, &before, &once, &subject);

    let again = env.run_for_subject(JobKind::Erasure).await;
    let twice = env.snapshot().await;
    assert_eq!(
        once.checksum(&[]),
        twice.checksum(&[]),
        "the second erasure changed the database"
    );
    assert_eq!(once, twice);
    assert!(
        again
            .collections
            .iter()
            .all(|c| c.changed == 0 && c.deleted == 0),
        "{again:?}"
    );
    // The person's e-mail is gone, so the second search finds nothing at all.
    assert!(again.collections.iter().all(|c| c.found == 0), "{again:?}");
}

on_every_backend!(erasure_removes_the_persons_data_and_nothing_else);
on_every_backend!(a_second_erasure_changes_nothing);
