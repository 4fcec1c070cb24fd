//! Restriction: ombud's store marks the person restricted, and the tables that name a
//! restriction column get it set on the person's rows only.

use std::collections::BTreeSet;

use ombud_domain::consent::SubjectKey;
use ombud_fulfil::JobKind;

use crate::support::*;

async fn restriction_marks_the_person_and_only_their_rows(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let subject = env.subject_rows().await;
    let before = env.snapshot().await;
    let key = SubjectKey::parse(&format!("email:{EMAIL}")).unwrap();
    let other = SubjectKey::parse("email:leonekohler@surfeu.de").unwrap();
    assert!(!env.store.is_restricted(&key).await.unwrap());

    let outcome = env.run_for_subject(JobKind::Restriction).await;

    assert!(
        env.store.is_restricted(&key).await.unwrap(),
        "the person is restricted"
    );
    assert!(
        !env.store.is_restricted(&other).await.unwrap(),
        "nobody else is"
    );
    assert!(
        outcome
            .ombud
            .as_deref()
            .is_some_and(|s| s.contains("restricted")),
        "{:?}",
        outcome.ombud
    );

    let after = env.snapshot().await;
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    expected.insert((n(d, "Customer"), CUSTOMER.to_string(), n(d, "Restricted")));
    for id in &subject.invoices {
        expected.insert((n(d, "Invoice"), id.to_string(), n(d, "Restricted")));
    }
    let changes: BTreeSet<_> = before.changes(&after).into_iter().collect();
    assert_eq!(
        changes, expected,
        "only the restriction columns of the person's rows"
    );
    assert_eq!(
        after
            .table(d, "Customer")
            .cell(d, &CUSTOMER.to_string(), "Restricted")
            .as_deref(),
        Some("1")
    );
    for id in &subject.invoices {
        assert_eq!(
            after
                .table(d, "Invoice")
                .cell(d, &id.to_string(), "Restricted")
                .as_deref(),
            Some("1")
        );
    }
    let except = subject.keys();
    assert_eq!(before.checksum(&except), after.checksum(&except));

    let changed = changed(&outcome);
    assert_eq!(changed[&format!("chinook:{}", n(d, "Customer"))], (1, 1));
    let invoices = subject.invoices.len() as u64;
    assert_eq!(
        changed[&format!("chinook_billing:{}", n(d, "Invoice"))],
        (invoices, invoices)
    );
    let lines = subject.lines.len() as u64;
    assert_eq!(
        changed[&format!("chinook_billing:{}", n(d, "InvoiceLine"))],
        (0, lines),
        "no restriction column on invoice lines"
    );

    // Restricting again changes nothing more.
    env.run_for_subject(JobKind::Restriction).await;
    assert_eq!(env.snapshot().await, after);
}

on_every_backend!(restriction_marks_the_person_and_only_their_rows);
