//! Fides dataset import: real-shaped datasets (Chinook, the fides-customerdb benchmark) become
//! systems that load in ombud, pasted under the example's `systems:` or kept as a file of their
//! own; odd names survive; what cannot be mapped is reported where it was written.

use std::collections::BTreeSet;

use ombud_domain::datamap::{DataMap, Direction, Identity, Strategy};
use ombud_domain::policy::{CategoryKey, ConnectorKind, SystemId};
use ombud_policy::fides::import_fides;

use super::*;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn imported(name: &str, yaml: &str, connector: ConnectorKind) -> String {
    import_fides(name, yaml, connector).unwrap_or_else(|e| panic!("the import failed:\n{e}"))
}

/// The example with the imported systems pasted under the `systems:` of its data map.
fn pasted(imported: &str) -> PolicySource {
    let (_, entries) = imported
        .split_once("\nsystems:\n")
        .expect("a `systems:` section");
    let mut src = example::impero();
    let f = src
        .files
        .iter_mut()
        .find(|f| f.path.ends_with("datamap.yaml"))
        .unwrap();
    f.text = f
        .text
        .replacen("systems:\n", &format!("systems:\n{entries}\n"), 1);
    src
}

/// The example with the imported text as a file of its own.
fn beside(imported: &str) -> PolicySource {
    let mut src = example::impero();
    src.files.push(ombud_policy::source::SourceFile {
        path: "examples/impero/imported.yaml".into(),
        text: imported.to_owned(),
    });
    src
}

fn load_ok(src: PolicySource) -> Loaded {
    let loaded = load(src, TODAY).unwrap_or_else(|r| panic!("the policy must load:\n{r}"));
    for code in ["unreachable-personal-data", "no-identity-field"] {
        assert!(
            loaded.warnings.iter().all(|d| d.code != code),
            "unexpected {code}"
        );
    }
    loaded
}

fn field<'a>(
    map: &'a DataMap,
    system: &str,
    collection: &str,
    name: &str,
) -> &'a ombud_domain::datamap::Field {
    map.system(&SystemId::parse(system).unwrap())
        .and_then(|s| s.collection(collection))
        .and_then(|c| c.field(name))
        .unwrap_or_else(|| panic!("{system}:{collection}.{name}"))
}

#[test]
fn the_chinook_dataset_imports_and_loads() {
    let text = imported(
        "chinook.fides.yml",
        &fixture("chinook.fides.yml"),
        ConnectorKind::Sqlite,
    );
    for expected in [
        "  chinook:\n    name: Chinook music store\n",
        "    connector: sqlite\n",
        "# Fides: erase after chinook.Invoice;",
        "identity: phone\n",
        "erase: {fixed: MASKED}",
        "- {collection: Employee, field: EmployeeId, direction: to}",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    for src in [pasted(&text), beside(&text)] {
        let loaded = load_ok(src);
        let map = &loaded.policy.data_map;
        let chinook = map.system(&SystemId::parse("chinook").unwrap()).unwrap();
        assert_eq!(chinook.connector, ConnectorKind::Sqlite);
        assert_eq!(
            chinook
                .collections
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["Customer", "Employee", "Invoice", "InvoiceLine"]
        );
        assert_eq!(
            field(map, "chinook", "Customer", "Phone").identity,
            Some(Identity::Phone)
        );
        assert_eq!(
            field(map, "chinook", "Employee", "Email").identity,
            Some(Identity::Email)
        );
        assert!(
            field(map, "chinook", "Employee", "EmployeeId").primary_key,
            "fidesops_meta"
        );
        assert_eq!(
            field(map, "chinook", "Customer", "Company").erase,
            Some(Strategy::Fixed("MASKED".into()))
        );
        assert_eq!(
            field(map, "chinook", "Employee", "BirthDate").erase,
            Some(Strategy::Null)
        );
        assert_eq!(
            field(map, "chinook", "Customer", "FirstName")
                .data_type
                .as_deref(),
            Some("text")
        );
        let rep = &field(map, "chinook", "Customer", "SupportRepId").references[0];
        assert_eq!(
            (rep.to.to_string(), rep.direction),
            ("chinook:Employee.EmployeeId".into(), Direction::To)
        );
        let line = &field(map, "chinook", "InvoiceLine", "InvoiceId").references[0];
        assert_eq!(
            (line.to.to_string(), line.direction),
            ("chinook:Invoice.InvoiceId".into(), Direction::From)
        );
        assert_eq!(
            field(map, "chinook", "Customer", "PostalCode").categories,
            [CategoryKey::parse("user.contact.address.postal_code").unwrap()]
        );
        let reached: BTreeSet<String> = map
            .reachable_from_identities()
            .iter()
            .filter(|c| c.system.as_str() == "chinook")
            .map(|c| c.collection.clone())
            .collect();
        assert_eq!(reached.len(), 4, "{reached:?}");
    }
}

#[test]
fn the_benchmark_dataset_imports_and_loads() {
    let text = imported(
        "customerdb.fides.yml",
        &fixture("customerdb.fides.yml"),
        ConnectorKind::Postgres,
    );
    assert!(
        text.contains("# Fides: erase after customerdb.address, customerdb.orders;"),
        "{text}"
    );
    for src in [pasted(&text), beside(&text)] {
        let loaded = load_ok(src);
        let map = &loaded.policy.data_map;
        let db = map.system(&SystemId::parse("customerdb").unwrap()).unwrap();
        assert_eq!(db.connector, ConnectorKind::Postgres);
        assert_eq!(db.connection, "customerdb");
        let tables: Vec<(&str, Vec<&str>)> = db
            .collections
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.fields.iter().map(|f| f.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            tables,
            [
                (
                    "customer",
                    vec!["id", "email", "name", "phone", "created_at"]
                ),
                (
                    "address",
                    vec!["id", "customer_id", "street", "city", "zip"]
                ),
                (
                    "orders",
                    vec![
                        "id",
                        "customer_id",
                        "address_id",
                        "total_cents",
                        "note",
                        "created_at"
                    ]
                ),
            ]
        );
        let via = &field(map, "customerdb", "orders", "address_id").references[0];
        assert_eq!(
            (via.to.to_string(), via.direction),
            ("customerdb:address.id".into(), Direction::From)
        );
        assert_eq!(
            field(map, "customerdb", "customer", "email").identity,
            Some(Identity::Email)
        );
    }
}

#[test]
fn odd_names_nested_fields_and_other_datasets_survive() {
    let fides = r#"
dataset:
  - fides_key: Shop-DB
    description: "A shop: \"odd\" names"
    collections:
      - name: Odd Table
        fides_meta:
          masking_strategy_override: {strategy: delete}
        fields:
          - name: "null"
            fides_meta: {primary_key: true}
          - name: Full Name
            data_categories: [user.name]
            fides_meta: {identity: email}
          - name: profile
            fields:
              - name: city
                data_categories: [user.contact.address.city]
              - name: contact
                fields:
                  - name: phone
                    data_categories: [user.contact.phone_number]
                  - name: other_city
                    data_categories: [user.contact.address.city]
          - name: owner
            fides_meta:
              references:
                - {dataset: customerdb, field: customer.id}
"#;
    let text = imported("shop.yml", fides, ConnectorKind::Mysql);
    assert!(
        text.contains("  shop_db:\n    # Fides dataset `Shop-DB`\n"),
        "{text}"
    );
    assert!(
        text.contains("# Fides nested fields profile.city, profile.contact.phone, profile.contact.other_city: mapped as this one column"),
        "{text}"
    );
    let both = format!(
        "{text}\n{}",
        imported(
            "customerdb.fides.yml",
            &fixture("customerdb.fides.yml"),
            ConnectorKind::Postgres
        )
        .split_once("\nsystems:\n")
        .unwrap()
        .1
    );
    let loaded = load(beside(&both), TODAY).unwrap_or_else(|r| panic!("loads:\n{r}"));
    let map = &loaded.policy.data_map;
    let shop = map.system(&SystemId::parse("shop_db").unwrap()).unwrap();
    assert_eq!(shop.connector, ConnectorKind::Mysql);
    let table = shop.collection("Odd Table").expect("the name as written");
    assert!(table.delete_rows);
    assert!(table.field("null").unwrap().primary_key);
    assert_eq!(
        table.field("Full Name").unwrap().identity,
        Some(Identity::Email)
    );
    assert_eq!(
        table.field("profile").unwrap().categories,
        [
            CategoryKey::parse("user.contact.address.city").unwrap(),
            CategoryKey::parse("user.contact.phone_number").unwrap()
        ]
    );
    let owner = &table.field("owner").unwrap().references[0];
    assert_eq!(
        (owner.to.to_string(), owner.direction),
        ("customerdb:customer.id".into(), Direction::Both)
    );
}

/// Imports `yaml` expecting one error with `code`, at the line and column of `needle`.
fn import_error(yaml: &str, code: &str, needle: &str) -> Diagnostic {
    let e = import_fides("bad.yml", yaml, ConnectorKind::Postgres).expect_err("an error");
    let shown: Vec<String> = e
        .diagnostics
        .iter()
        .map(|d| format!("{} {} {}", d.position(&e.source), d.code, d.message))
        .collect();
    assert_eq!(e.diagnostics.len(), 1, "{shown:#?}");
    let d = e.diagnostics[0].clone();
    assert_eq!(d.code, code, "{shown:#?}");
    let at = position_of(&e.source, "bad.yml", needle);
    assert_eq!(d.position(&e.source), at, "{shown:#?}");
    assert!(d.help.is_some());
    assert!(e.to_string().contains(&format!("error[{code}]")));
    d
}

#[test]
fn what_cannot_be_mapped_is_reported_where_it_was_written() {
    let base = "dataset:\n  - fides_key: db\n    collections:\n      - name: t\n        fields:\n          - name: id\n            fides_meta: {primary_key: true}\n";
    let d = import_error(
        &format!(
            "{base}          - name: doc\n            fields:\n              - name: mail\n                fides_meta: {{identity: email}}\n"
        ),
        "fides-nested-field",
        "email}",
    );
    assert!(
        d.message.contains("`doc.mail` has an identity"),
        "{}",
        d.message
    );
    import_error(
        &format!(
            "{base}          - name: a\n            fides_meta:\n              references: [{{dataset: db, field: other}}]\n"
        ),
        "fides-reference",
        "other}",
    );
    import_error(
        &format!(
            "{base}          - name: a\n            fides_meta:\n              references: [{{dataset: db, field: t.doc.mail}}]\n"
        ),
        "fides-nested-field",
        "t.doc.mail",
    );
    import_error(
        &format!(
            "{base}          - name: a\n            fides_meta:\n              references: [{{dataset: db, field: t.id, direction: both}}]\n"
        ),
        "fides-reference",
        "both}",
    );
    import_error(
        &format!("{base}          - name: a\n            fides_meta: {{identity: E Mail}}\n"),
        "fides-identity",
        "E Mail",
    );
    import_error("datasets:\n  - fides_key: db\n", "fides-yaml", "datasets");
    import_error(
        "dataset:\n  - fides_key: db\n    collections:\n      - name: t\n        fields: {oops}\n",
        "fides-yaml",
        "{oops}",
    );
}
