//! Reading Chinook's schema back, and checking data maps against it.

use ombud_connect::{Dialect, ForeignKey, Mismatch, TypeFamily, check, type_family};
use ombud_domain::datamap::{Collection, Field, MappedSystem};
use ombud_domain::policy::{ConnectorKind, SystemId};

use crate::on_every_backend;
use crate::support::{TestDb, n};

const TABLES: [&str; 11] = [
    "Album",
    "Artist",
    "Customer",
    "Employee",
    "Genre",
    "Invoice",
    "InvoiceLine",
    "MediaType",
    "Playlist",
    "PlaylistTrack",
    "Track",
];

/// (table, column) → (table, column), in PascalCase.
const FOREIGN_KEYS: [(&str, &str, &str, &str); 11] = [
    ("Album", "ArtistId", "Artist", "ArtistId"),
    ("Customer", "SupportRepId", "Employee", "EmployeeId"),
    ("Employee", "ReportsTo", "Employee", "EmployeeId"),
    ("Invoice", "CustomerId", "Customer", "CustomerId"),
    ("InvoiceLine", "InvoiceId", "Invoice", "InvoiceId"),
    ("InvoiceLine", "TrackId", "Track", "TrackId"),
    ("PlaylistTrack", "PlaylistId", "Playlist", "PlaylistId"),
    ("PlaylistTrack", "TrackId", "Track", "TrackId"),
    ("Track", "AlbumId", "Album", "AlbumId"),
    ("Track", "GenreId", "Genre", "GenreId"),
    ("Track", "MediaTypeId", "MediaType", "MediaTypeId"),
];

async fn chinook_schema(t: TestDb) {
    // Tables that are a migration tool's or the database's own are left out.
    match t.dialect {
        Dialect::Sqlite => {
            t.exec("CREATE TABLE _sqlx_migrations (version INTEGER PRIMARY KEY)")
                .await;
            t.exec("CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT)")
                .await;
            t.exec("INSERT INTO counter DEFAULT VALUES").await;
        }
        _ => {
            t.exec("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY)")
                .await;
        }
    }
    let live = t.db.introspect(None).await.expect("introspecting Chinook");
    assert!(live.default_schema);
    let mut names: Vec<&str> = live.tables.iter().map(|t| t.name.as_str()).collect();
    names.retain(|n| *n != "counter");
    let mut want: Vec<String> = TABLES.iter().map(|p| n(t.dialect, p)).collect();
    want.sort();
    assert_eq!(names, want);

    let customer = live.table(&t.n("Customer")).expect("Customer");
    assert_eq!(customer.primary_key, [t.n("CustomerId")]);
    assert_eq!(customer.columns.len(), 13);
    assert_eq!(customer.columns[0].name, t.n("CustomerId"));
    let email = customer.column(&t.n("Email")).unwrap();
    assert!(!email.nullable);
    assert_eq!(type_family(&email.data_type), TypeFamily::Text);
    assert!(email.data_type.contains("60"), "{}", email.data_type);
    let company = customer.column(&t.n("Company")).unwrap();
    assert!(company.nullable);
    let total = live
        .table(&t.n("Invoice"))
        .unwrap()
        .column(&t.n("Total"))
        .unwrap();
    assert_eq!(type_family(&total.data_type), TypeFamily::Decimal);
    let birth = live
        .table(&t.n("Employee"))
        .unwrap()
        .column(&t.n("BirthDate"))
        .unwrap();
    assert_eq!(type_family(&birth.data_type), TypeFamily::Timestamp);

    let playlist_track = live.table(&t.n("PlaylistTrack")).unwrap();
    assert_eq!(
        playlist_track.primary_key,
        [t.n("PlaylistId"), t.n("TrackId")],
        "composite key in key order"
    );

    let mut found: Vec<(String, String, String, String)> = Vec::new();
    for table in &live.tables {
        for fk in &table.foreign_keys {
            let ForeignKey {
                columns,
                schema,
                table: parent,
                references,
            } = fk;
            assert_eq!(*schema, None, "same schema");
            assert_eq!(columns.len(), 1);
            found.push((
                table.name.clone(),
                columns[0].clone(),
                parent.clone(),
                references[0].clone(),
            ));
        }
    }
    found.sort();
    let mut want: Vec<(String, String, String, String)> = FOREIGN_KEYS
        .iter()
        .map(|(a, b, c, d)| (t.n(a), t.n(b), t.n(c), t.n(d)))
        .collect();
    want.sort();
    assert_eq!(found, want);
}
on_every_backend!(introspects_chinook, chinook_schema);

fn field(name: &str, primary_key: bool, data_type: Option<&str>) -> Field {
    Field {
        name: name.to_owned(),
        categories: Vec::new(),
        identity: None,
        primary_key,
        references: Vec::new(),
        erase: None,
        data_type: data_type.map(str::to_owned),
    }
}

fn collection(name: &str, fields: Vec<Field>) -> Collection {
    Collection {
        name: name.to_owned(),
        schema: None,
        fields,
        delete_rows: false,
        restriction: None,
        legal_holds: Vec::new(),
    }
}

async fn checks_maps_against_the_database(t: TestDb) {
    let live = t.db.introspect(None).await.unwrap();
    let connector = match t.dialect {
        Dialect::Postgres => ConnectorKind::Postgres,
        Dialect::Mysql => ConnectorKind::Mysql,
        Dialect::Sqlite => ConnectorKind::Sqlite,
    };
    let system = |collections| MappedSystem {
        system: SystemId::parse("chinook").unwrap(),
        connector,
        connection: "chinook".to_owned(),
        collections,
        instructions: None,
    };

    // A map that fits, in portable type spellings.
    let good = system(vec![
        collection(
            &t.n("Customer"),
            vec![
                field(&t.n("CustomerId"), true, Some("integer")),
                field(&t.n("Email"), false, Some("varchar(60)")),
                field(&t.n("SupportRepId"), false, Some("int")),
            ],
        ),
        collection(
            &t.n("Invoice"),
            vec![
                field(&t.n("InvoiceId"), true, None),
                field(&t.n("Total"), false, Some("decimal(10,2)")),
                field(&t.n("InvoiceDate"), false, Some("timestamp")),
            ],
        ),
        collection(
            &t.n("PlaylistTrack"),
            vec![
                field(&t.n("TrackId"), true, None),
                field(&t.n("PlaylistId"), true, None),
            ],
        ),
    ]);
    assert_eq!(check(&good, &live), Vec::<Mismatch>::new());

    // The same map written for another backend's spelling: only the case differs.
    let other_case = |s: &str| {
        if t.dialect == Dialect::Postgres {
            s.to_uppercase()
        } else {
            s.to_lowercase()
        }
    };
    let bad = system(vec![
        collection(&other_case(&t.n("Customer")), vec![]),
        collection(
            &t.n("Invoice"),
            vec![
                field(&t.n("InvoiceId"), true, None),
                field(&other_case(&t.n("Total")), false, None),
                field(&t.n("BillingCity"), false, Some("integer")),
                field("no such column", false, None),
            ],
        ),
        collection(
            &t.n("PlaylistTrack"),
            vec![field(&t.n("TrackId"), true, None)],
        ),
        collection("nowhere", vec![]),
    ]);
    let found = check(&bad, &live);
    let want = vec![
        Mismatch::MissingTable {
            table: other_case(&t.n("Customer")),
            did_you_mean: Some(t.n("Customer")),
        },
        Mismatch::MissingColumn {
            table: t.n("Invoice"),
            column: other_case(&t.n("Total")),
            did_you_mean: Some(t.n("Total")),
        },
        Mismatch::TypeDiffers {
            table: t.n("Invoice"),
            column: t.n("BillingCity"),
            expected: "integer".to_owned(),
            actual: live
                .table(&t.n("Invoice"))
                .unwrap()
                .column(&t.n("BillingCity"))
                .unwrap()
                .data_type
                .clone(),
        },
        Mismatch::MissingColumn {
            table: t.n("Invoice"),
            column: "no such column".to_owned(),
            did_you_mean: None,
        },
        Mismatch::PrimaryKeyDiffers {
            table: t.n("PlaylistTrack"),
            expected: vec![t.n("TrackId")],
            actual: vec![t.n("PlaylistId"), t.n("TrackId")],
        },
        Mismatch::MissingTable {
            table: "nowhere".to_owned(),
            did_you_mean: None,
        },
    ];
    assert_eq!(found, want);
    let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        messages[0].contains(&format!("did you mean \"{}\"?", t.n("Customer"))),
        "{}",
        messages[0]
    );
    assert!(messages[2].contains("text"), "{}", messages[2]);
    assert!(messages[2].contains("integer"), "{}", messages[2]);
    assert!(messages.iter().all(|m| !m.contains('\n')));
}
on_every_backend!(checks_data_maps, checks_maps_against_the_database);
