//! Hostile identities: quotes, SQL, wildcards, Unicode, very long values and very many values
//! find nothing and break nothing, on every kind of job.

use ombud_fulfil::{JobKind, Person};

use crate::support::*;

/// A value with a character outside the Basic Multilingual Plane. MariaDB refuses to compare
/// it with a utf8mb3 column (Chinook's NVARCHAR columns are utf8mb3 there); the connector then
/// leaves it out, since such a column cannot hold it, so it finds nothing on every backend.
const ASTRAL: &str = "luís.gonçalves+🎵@embraer.com.br";

fn hostile(d: ombud_connect::Dialect) -> Vec<(&'static str, String)> {
    let customer = n(d, "Customer");
    vec![
        ("email", format!("{EMAIL}' OR '1'='1")),
        ("email", format!("{EMAIL}'; DROP TABLE {customer}; --")),
        ("email", format!("x'); DROP TABLE \"{customer}\"; --")),
        ("email", format!("x`; DROP TABLE `{customer}`; -- ")),
        ("email", "' UNION SELECT * FROM Employee --".into()),
        ("email", "%".into()),
        ("email", "%@%".into()),
        ("email", "_".into()),
        ("email", "\\".into()),
        ("email", "\\'; SELECT 1; --".into()),
        (
            "email",
            "luís.gonçalves@embraer.com.br\u{202e}\u{200b}".into(),
        ),
        ("email", "顧客@例え.jp".into()),
        ("email", "ＬＵＩＳＧ@ＥＭＢＲＡＥＲ.ＣＯＭ.ＢＲ".into()),
        ("email", format!("{}@embraer.com.br", "l".repeat(20_000))),
        ("email", String::new()),
        ("phone", "+55 (12) 3923-5555' OR 1=1 --".into()),
        ("phone", "%".into()),
    ]
}

/// More values than one statement takes.
fn many() -> Vec<(&'static str, String)> {
    (0..1500)
        .map(|i| ("email", format!("nobody-{i}'\"@example.com")))
        .collect()
}

async fn hostile_identities_find_nothing_and_break_nothing(t: TestDb) {
    let d = t.dialect;
    let env = Env::new(t, policy(d)).await;
    let before = env.snapshot().await;
    let values = hostile(d);
    let few: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let many = many();
    let identities: Vec<(&str, &str)> = few
        .iter()
        .copied()
        .chain(many.iter().map(|(k, v)| (*k, v.as_str())))
        .collect();

    // One at a time, through the preview.
    for (kind, value) in &few {
        let person = Person {
            identities: vec![(
                ombud_domain::datamap::Identity::parse(kind).unwrap(),
                (*value).to_owned(),
            )],
        };
        let (_, counts) = env.engine.preview(&person).await.unwrap_or_else(|e| {
            panic!(
                "the preview for {kind} {:?} failed: {e}",
                value.chars().take(60).collect::<String>()
            )
        });
        for (c, n) in counts {
            assert_eq!(
                n,
                0,
                "{c} for {:?}",
                value.chars().take(60).collect::<String>()
            );
        }
    }

    // All together, through each kind of job.
    let access = env.run(JobKind::Access, &identities, Vec::new()).await;
    assert!(
        access.collections.iter().all(|c| c.found == 0),
        "{access:?}"
    );
    let mut package = env.package(&access).await;
    for (system, collection, rows) in package.collections() {
        if system != "ombud" {
            assert_eq!(rows, 0, "{system}:{collection}");
            assert_eq!(package.rows(&system, &collection).unwrap().len(), 0);
        }
    }
    // Restriction also restricts every identity in ombud's own store, at most 1,000 at once:
    // it gets the hostile values without the many.
    for (kind, identities) in [
        (JobKind::Erasure, &identities),
        (JobKind::Restriction, &few),
    ] {
        let outcome = env.run(kind, identities, Vec::new()).await;
        assert!(
            outcome
                .collections
                .iter()
                .all(|c| c.found == 0 && c.changed == 0 && c.deleted == 0),
            "{outcome:?}"
        );
    }

    // The value MariaDB cannot compare with its utf8mb3 columns: nothing found anywhere.
    let astral = Person {
        identities: vec![(ombud_domain::datamap::Identity::Email, ASTRAL.to_owned())],
    };
    let (_, counts) = env
        .engine
        .preview(&astral)
        .await
        .expect("a value no column can hold finds nothing");
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
    let outcome = env
        .try_run(
            &env.engine,
            JobKind::Erasure,
            &[("email", ASTRAL)],
            Vec::new(),
            &ombud_fulfil::Quiet,
        )
        .await
        .expect("the erasure runs and finds nothing");
    assert!(
        outcome
            .collections
            .iter()
            .all(|c| c.found == 0 && c.changed == 0),
        "{outcome:?}"
    );
    let corrections = vec![ombud_fulfil::Correction {
        system: "chinook".into(),
        collection: n(d, "Customer"),
        field: n(d, "City"),
        value: "'; DROP TABLE x; --".into(),
    }];
    let outcome = env
        .run(JobKind::Rectification, &identities, corrections)
        .await;
    assert!(
        outcome.collections.iter().all(|c| c.changed == 0),
        "{outcome:?}"
    );

    let after = env.snapshot().await;
    assert_eq!(
        before.checksum(&[]),
        after.checksum(&[]),
        "the database is byte for byte as before"
    );
    assert_eq!(before, after);
}

on_every_backend!(hostile_identities_find_nothing_and_break_nothing);
