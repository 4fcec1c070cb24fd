//! The drafted data map: what it proposes for Chinook, and that it reads back as YAML with
//! every odd name intact.

use std::collections::BTreeMap;

use ombud_connect::{Dialect, LiveColumn, LiveSchema, LiveTable};
use ombud_domain::policy::{CategoryKey, Taxonomy};
use serde::Deserialize;

use crate::on_every_backend;
use crate::support::TestDb;

// The draft's shape, as the policy format reads it (unknown keys refused).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDraft {
    systems: BTreeMap<String, SystemDraft>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemDraft {
    name: String,
    connector: String,
    collections: BTreeMap<String, CollectionDraft>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionDraft {
    schema: Option<String>,
    fields: BTreeMap<String, FieldDraft>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct FieldDraft {
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    categories: Vec<String>,
    identity: Option<String>,
    #[serde(default)]
    references: Vec<ReferenceDraft>,
    #[serde(rename = "type")]
    data_type: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ReferenceDraft {
    collection: String,
    field: String,
    direction: String,
}

fn parse(draft: &str) -> PolicyDraft {
    let doc = format!("systems:\n{draft}");
    serde_saphyr::from_str(&doc)
        .unwrap_or_else(|e| panic!("the draft is not valid YAML: {e}\n{doc}"))
}

/// Every category the draft proposes is a current key of fideslang's taxonomy.
fn assert_known_categories(system: &SystemDraft) {
    let taxonomy = Taxonomy::built_in();
    for c in system.collections.values() {
        for f in c.fields.values() {
            for key in &f.categories {
                let parsed = CategoryKey::parse(key).unwrap();
                let node = taxonomy
                    .get(&parsed)
                    .unwrap_or_else(|| panic!("{key} is not in the taxonomy"));
                assert_eq!(node.replaced_by, None, "{key} is deprecated");
            }
        }
    }
}

async fn drafts_chinook(t: TestDb) {
    let live = t.db.introspect(None).await.unwrap();
    let connector = match t.dialect {
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
        Dialect::Sqlite => "sqlite",
    };
    let yaml = live.draft_yaml("chinook", connector);
    let parsed = parse(&yaml);
    let system = &parsed.systems["chinook"];
    assert_eq!(system.name, "chinook");
    assert_eq!(system.connector, connector);
    assert_known_categories(system);

    let drafted: Vec<&str> = system.collections.keys().map(String::as_str).collect();
    let mut want = vec![
        t.n("Customer"),
        t.n("Employee"),
        t.n("Invoice"),
        t.n("InvoiceLine"),
    ];
    want.sort();
    assert_eq!(drafted, want, "people, and the rows that lead to them");
    assert!(yaml.contains("Not drafted"), "{yaml}");

    let field = |table: &str, column: &str| -> &FieldDraft {
        let c = &system.collections[&t.n(table)];
        assert_eq!(c.schema, None, "the default schema is not named");
        c.fields
            .get(&t.n(column))
            .unwrap_or_else(|| panic!("{table}.{column} is in the draft:\n{yaml}"))
    };
    for table in ["Customer", "Employee"] {
        let email = field(table, "Email");
        assert_eq!(email.categories, ["user.contact.email"]);
        assert_eq!(email.identity.as_deref(), Some("email"));
        let phone = field(table, "Phone");
        assert_eq!(phone.categories, ["user.contact.phone_number"]);
        assert_eq!(phone.identity.as_deref(), Some("phone"));
        assert_eq!(field(table, "Fax").categories, ["user.contact.fax_number"]);
        assert_eq!(field(table, "FirstName").categories, ["user.name.first"]);
        assert_eq!(field(table, "LastName").categories, ["user.name.last"]);
        assert_eq!(
            field(table, "Address").categories,
            ["user.contact.address.street"]
        );
        assert_eq!(
            field(table, "City").categories,
            ["user.contact.address.city"]
        );
        assert_eq!(
            field(table, "State").categories,
            ["user.contact.address.state"]
        );
        assert_eq!(
            field(table, "PostalCode").categories,
            ["user.contact.address.postal_code"]
        );
        assert_eq!(
            field(table, "Country").categories,
            ["user.contact.address.country"]
        );
    }
    assert_eq!(
        field("Customer", "Company").categories,
        ["user.professional_information.workplace"]
    );
    assert_eq!(
        field("Employee", "BirthDate").categories,
        ["user.demographic.date_of_birth"]
    );
    assert_eq!(
        field("Invoice", "BillingCity").categories,
        ["user.contact.address.city"]
    );

    let id = field("Customer", "CustomerId");
    assert!(id.primary_key);
    assert!(id.categories.is_empty());
    assert!(id.data_type.is_some(), "the declared type is given");
    let live_type = &live
        .table(&t.n("Customer"))
        .unwrap()
        .column(&t.n("Email"))
        .unwrap()
        .data_type;
    assert_eq!(
        field("Customer", "Email").data_type.as_ref(),
        Some(live_type)
    );

    // Invoices are found from their customer, and lines from their invoice.
    assert_eq!(
        field("Invoice", "CustomerId").references,
        [ReferenceDraft {
            collection: t.n("Customer"),
            field: t.n("CustomerId"),
            direction: "from".into(),
        }]
    );
    assert_eq!(
        field("InvoiceLine", "InvoiceId").references,
        [ReferenceDraft {
            collection: t.n("Invoice"),
            field: t.n("InvoiceId"),
            direction: "from".into(),
        }]
    );
    // A track is no one's data: the line's link to it is not drafted.
    assert!(field("InvoiceLine", "TrackId").references.is_empty());
    // A customer's support rep and an employee's manager are other people: not followed, but
    // offered as a comment to uncomment.
    assert!(field("Customer", "SupportRepId").references.is_empty());
    assert!(field("Employee", "ReportsTo").references.is_empty());
    let offered = format!(
        "# {}: {{ references: [{{ collection: {}, field: {}, direction: to }}]",
        t.n("SupportRepId"),
        t.n("Employee"),
        t.n("EmployeeId")
    );
    assert!(yaml.contains(&offered), "{offered} in\n{yaml}");
    // A column about a person that no rule classifies is marked for review.
    let title_line = yaml
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{}:", t.n("Title"))))
        .unwrap();
    assert!(title_line.contains("# review"), "{title_line}");
}
on_every_backend!(drafts_a_data_map, drafts_chinook);

fn column(name: &str, data_type: &str) -> LiveColumn {
    LiveColumn {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        nullable: true,
    }
}

#[test]
fn odd_names_round_trip_through_the_draft() {
    let odd = [
        "yes",
        "no",
        "null",
        "~",
        "1",
        "0x1F",
        "1e3",
        ".inf",
        "true",
        "a: b",
        "#hash",
        "a #b",
        "with space",
        "- dash",
        "[x]",
        "{x}",
        "a,b",
        "quote'd",
        "say \"hi\"",
        "back\\slash",
        "tab\there",
        "new\nline",
        "ÆØÅ kolonne",
        "Mixed Case",
        "select",
        "@at",
        "&anchor",
        "*alias",
        "!tag",
        "%pct",
        "|",
        ">",
        "?",
        "Email Address",
    ];
    let mut columns = vec![column("id", "integer")];
    columns.extend(odd.iter().map(|n| column(n, "character varying(40)")));
    let live = LiveSchema {
        dialect: Dialect::Postgres,
        schema: "crm: \"main\"".to_owned(),
        default_schema: false,
        tables: vec![LiveTable {
            name: "odd \"customer\": yes".to_owned(),
            columns,
            primary_key: vec!["id".to_owned()],
            foreign_keys: Vec::new(),
        }],
    };
    let yaml = live.draft_yaml("odd_system", "postgres");
    let parsed = parse(&yaml);
    let system = &parsed.systems["odd_system"];
    let collection = &system.collections["odd \"customer\": yes"];
    assert_eq!(collection.schema.as_deref(), Some("crm: \"main\""));
    let mut want: Vec<&str> = odd.to_vec();
    want.push("id");
    want.sort();
    let got: Vec<&str> = collection.fields.keys().map(String::as_str).collect();
    assert_eq!(got, want, "{yaml}");
    for name in odd {
        assert_eq!(
            collection.fields[name].data_type.as_deref(),
            Some("character varying(40)")
        );
    }
    assert_eq!(
        collection.fields["Email Address"].identity.as_deref(),
        Some("email"),
        "{yaml}"
    );
    assert!(collection.fields["id"].primary_key);
}

#[test]
fn an_empty_schema_drafts_an_empty_system() {
    let live = LiveSchema {
        dialect: Dialect::Sqlite,
        schema: "main".to_owned(),
        default_schema: true,
        tables: Vec::new(),
    };
    let parsed = parse(&live.draft_yaml("empty", "sqlite"));
    assert!(parsed.systems["empty"].collections.is_empty());
}
