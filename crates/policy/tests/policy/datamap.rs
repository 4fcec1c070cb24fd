//! The data map: the example's systems, tables and erasure rules as the domain sees them, every
//! kind of broken map reported where it was written, the lints, and the demo database script
//! agreeing with the map.

use std::collections::{BTreeMap, BTreeSet};

use ombud_domain::datamap::{Direction, Identity, MappedSystem, Strategy};
use ombud_domain::policy::{CategoryKey, ConnectorKind, SystemId};

use super::*;

const FILE: &str = "datamap.yaml";

/// The example with several replacements, each applied once to the file it names.
fn mutated_all(changes: &[(&str, &str, &str)]) -> PolicySource {
    let mut src = example::impero();
    for (file, from, to) in changes {
        let f = src
            .files
            .iter_mut()
            .find(|f| f.path.ends_with(file))
            .expect("file of the example");
        assert!(f.text.contains(from), "{from:?} not found in {file}");
        f.text = f.text.replacen(from, to, 1);
    }
    src
}

fn system<'a>(loaded: &'a Loaded, id: &str) -> &'a MappedSystem {
    loaded
        .policy
        .data_map
        .system(&SystemId::parse(id).unwrap())
        .unwrap_or_else(|| panic!("system {id} in the data map"))
}

fn warnings_with<'a>(loaded: &'a Loaded, code: &str) -> Vec<&'a Diagnostic> {
    loaded.warnings.iter().filter(|d| d.code == code).collect()
}

fn loads(src: PolicySource) -> Loaded {
    load(src, TODAY).unwrap_or_else(|r| panic!("the policy must load:\n{r}"))
}

#[test]
fn the_example_maps_its_systems_tables_and_erasure_rules() {
    let loaded = example_loaded();
    let map = &loaded.policy.data_map;
    let ids: Vec<&str> = map.systems.iter().map(|s| s.system.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ombud",
            "website",
            "hubspot_crm",
            "mailchimp_audience",
            "microsoft_365",
            "trial_db"
        ]
    );
    assert_eq!(map.ombud().map(|s| s.system.as_str()), Some("ombud"));
    for manual in [
        "website",
        "hubspot_crm",
        "mailchimp_audience",
        "microsoft_365",
    ] {
        let s = system(&loaded, manual);
        assert_eq!(s.connector, ConnectorKind::Manual, "{manual}");
        assert!(s.collections.is_empty(), "{manual}");
        let text = s.instructions.as_deref().unwrap_or_default();
        for step in ["Access", "Erasure", "Rectification", "Restriction"] {
            assert!(text.contains(step), "{manual} says what to do for {step}");
        }
    }

    let db = system(&loaded, "trial_db");
    assert_eq!(db.connector, ConnectorKind::Sqlite);
    assert_eq!(db.connection, "trial_db");
    let tables: Vec<&str> = db.collections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        tables,
        [
            "account",
            "trial_user",
            "login_event",
            "support_ticket",
            "invoice"
        ]
    );
    let user = db.collection("trial_user").unwrap();
    assert_eq!(user.field("email").unwrap().identity, Some(Identity::Email));
    assert_eq!(user.field("phone").unwrap().identity, Some(Identity::Phone));
    assert_eq!(
        user.primary_key()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["id"]
    );
    let marker = user.restriction.as_ref().unwrap();
    assert_eq!(
        (marker.column.as_str(), marker.value.as_str()),
        ("restricted", "1")
    );
    let account_ref = &user.field("account_id").unwrap().references[0];
    assert_eq!(account_ref.to.to_string(), "trial_db:account.id");
    assert_eq!(account_ref.direction, Direction::To);

    // A strategy written as YAML `null` is the null strategy, not "no strategy".
    let ticket = db.collection("support_ticket").unwrap();
    assert_eq!(ticket.field("body").unwrap().erase, Some(Strategy::Null));
    assert_eq!(ticket.field("subject").unwrap().erase, None);
    assert_eq!(
        map.erasure.for_field(ticket.field("subject").unwrap()),
        Strategy::Fixed("[erased]".into())
    );
    assert_eq!(
        user.field("full_name").unwrap().erase,
        Some(Strategy::Fixed("erased".into()))
    );
    assert_eq!(
        map.erasure.for_field(user.field("email").unwrap()),
        Strategy::Hash
    );
    assert_eq!(map.erasure.default, Strategy::Null);
    assert_eq!(
        map.erasure.by_category[0],
        (
            CategoryKey::parse("user.contact.email").unwrap(),
            Strategy::Hash
        )
    );

    let invoice = db.collection("invoice").unwrap();
    assert!(invoice.delete_rows);
    assert_eq!(
        invoice
            .legal_holds
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>(),
        ["bookkeeping"]
    );
    assert!(db.collection("login_event").unwrap().delete_rows);
    assert!(!user.delete_rows);

    let reached: BTreeSet<String> = map
        .reachable_from_identities()
        .iter()
        .map(|c| c.to_string())
        .collect();
    for t in tables {
        assert!(reached.contains(&format!("trial_db:{t}")), "{t} is reached");
    }
    for code in [
        "manual-system-without-instructions",
        "no-identity-field",
        "unreachable-personal-data",
    ] {
        assert!(warnings_with(&loaded, code).is_empty(), "{code}");
    }
    // The record of processing names systems, never their tables.
    let ropa = ropa::render(&loaded.policy, RopaFormat::Markdown);
    assert!(ropa.contains("Trial and demo accounts database"));
    for table in ["trial_user", "login_event", "support_ticket"] {
        assert!(!ropa.contains(table), "the RoPA lists table {table}");
    }
}

#[test]
fn ombuds_own_store_is_always_in_the_map() {
    let src = mutated(
        FILE,
        "  ombud:\n    name: ombud\n    description: This privacy operations server (consent records, requests, office visitor log and form submissions).\n    hosting: EU\n    connector: ombud\n",
        "",
    );
    // The purpose that listed it must not any more.
    let src = {
        let mut src = src;
        let f = src
            .files
            .iter_mut()
            .find(|f| f.path.ends_with("purposes.yaml"))
            .unwrap();
        f.text = f.text.replace("systems: [ombud]", "systems: []");
        src
    };
    let loaded = loads(src);
    assert!(
        loaded
            .policy
            .system(&SystemId::parse("ombud").unwrap())
            .is_none()
    );
    let own = loaded.policy.data_map.ombud().expect("the built-in store");
    assert_eq!(own.system.as_str(), "ombud");
    assert!(own.is_connected() && own.collections.is_empty());
    assert_eq!(
        loaded
            .policy
            .data_map
            .systems
            .iter()
            .filter(|s| s.connector == ConnectorKind::Ombud)
            .count(),
        1
    );
}

#[test]
fn unknown_category_of_a_field_is_located() {
    let src = mutated(
        FILE,
        "email: {categories: [user.contact.email], identity: email",
        "email: {categories: [user.contact.mail], identity: email",
    );
    let at = position_of(&src, FILE, "user.contact.mail]");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert!(
        d.message.contains("`trial_db:trial_user.email`"),
        "{}",
        d.message
    );
}

#[test]
fn unknown_identity_is_located() {
    let src = mutated(FILE, "identity: phone,", "identity: Mobile Phone,");
    let at = position_of(&src, FILE, "Mobile Phone");
    only_error(&rejected(src), "invalid-identity", &at);
}

#[test]
fn reference_to_an_unknown_collection_suggests_the_fix() {
    let src = mutated(
        FILE,
        "{collection: account, field: id, direction: to}",
        "{collection: acount, field: id, direction: to}",
    );
    let at = position_of(&src, FILE, "acount");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert!(d.message.contains("collection `acount`"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("did you mean `account`?"));
}

#[test]
fn reference_to_an_unknown_field_is_located() {
    let src = mutated(
        FILE,
        "{collection: trial_user, field: id, direction: from}",
        "{collection: trial_user, field: user_id, direction: from}",
    );
    let at = position_of(&src, FILE, "user_id, direction");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert!(d.message.contains("field `user_id`"), "{}", d.message);
}

#[test]
fn reference_to_an_unknown_system_is_located() {
    let src = mutated(
        FILE,
        "{collection: account, field: id, direction: to}",
        "{system: crm, collection: account, field: id, direction: to}",
    );
    let at = position_of(&src, FILE, "crm,");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert!(d.message.contains("system `crm`"), "{}", d.message);
}

#[test]
fn unknown_legal_hold_is_located() {
    let src = mutated(
        FILE,
        "legal_holds: [bookkeeping]",
        "legal_holds: [bookkeping]",
    );
    let at = position_of(&src, FILE, "bookkeping");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert_eq!(d.help.as_deref(), Some("did you mean `bookkeeping`?"));
}

#[test]
fn collections_need_a_database_connector() {
    let src = mutated(FILE, "    connector: sqlite\n", "");
    let at = position_of(&src, FILE, "account:");
    let d = only_error(&rejected(src), "collections-without-connector", &at).clone();
    assert!(d.message.contains("`manual`"), "{}", d.message);

    let src = mutated(
        FILE,
        "    connector: ombud\n",
        "    connector: ombud\n    collections:\n      consent_event:\n        fields:\n          id: {primary_key: true}\n",
    );
    let at = position_of(&src, FILE, "consent_event:");
    let r = rejected(src);
    let d = only_error(&r, "collections-without-connector", &at);
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("ombud maps its own store")
    );
}

#[test]
fn a_restriction_column_must_be_named() {
    let src = mutated(
        FILE,
        "restriction: {column: restricted, value: 1}",
        "restriction: {column: \"\", value: 1}",
    );
    let at = position_of(&src, FILE, "\"\", value");
    only_error(&rejected(src), "empty-name", &at);
}

#[test]
fn a_primary_key_is_never_erased() {
    let src = mutated(
        FILE,
        "          id: {primary_key: true, type: integer}\n          company_name",
        "          id: {primary_key: true, erase: hash, type: integer}\n          company_name",
    );
    let at = position_of(&src, FILE, "hash, type: integer}");
    let r = rejected(src);
    let d = only_error(&r, "key-erased", &at);
    assert!(
        d.message
            .contains("a primary key is never erased; erase the row with `delete_rows: true`"),
        "{}",
        d.message
    );
}

#[test]
fn a_referenced_field_is_never_erased() {
    let src = mutated_all(&[
        (
            FILE,
            "identity: email, type: text}",
            "identity: email, erase: random, type: text}",
        ),
        (
            FILE,
            "billing_email: {categories: [user.contact.email], type: text}",
            "billing_email: {categories: [user.contact.email], type: text, references: [{collection: trial_user, field: email, direction: from}]}",
        ),
    ]);
    let at = position_of(&src, FILE, "random, type: text}");
    let r = rejected(src);
    let d = only_error(&r, "key-erased", &at);
    assert!(
        d.message
            .contains("referenced by `trial_db:invoice.billing_email`"),
        "{}",
        d.message
    );
}

#[test]
fn every_collection_needs_a_primary_key() {
    let src = mutated(
        FILE,
        "      support_ticket:\n        fields:\n          id: {primary_key: true, type: integer}",
        "      support_ticket:\n        fields:\n          id: {type: integer}",
    );
    let at = position_of(&src, FILE, "support_ticket:");
    let r = rejected(src);
    let d = only_error(&r, "no-primary-key", &at);
    assert!(
        d.message.contains("`trial_db:support_ticket`"),
        "{}",
        d.message
    );
    assert!(d.message.contains("so that its rows can be addressed"));

    let src = mutated(
        FILE,
        "        delete_rows: true\n        fields:\n          id: {primary_key: true, type: integer}",
        "        delete_rows: true\n        fields:\n          id: {type: integer}",
    );
    let at = position_of(&src, FILE, "login_event:");
    let r = rejected(src);
    let d = only_error(&r, "no-primary-key", &at);
    assert!(
        d.message.contains("deletes rows but has no primary key"),
        "{}",
        d.message
    );
}

#[test]
fn erasure_rules_need_known_categories_and_strategies() {
    let src = mutated(
        FILE,
        "    user.correspondence: {fixed",
        "    user.corespondence: {fixed",
    );
    let at = position_of(&src, FILE, "user.corespondence");
    only_error(&rejected(src), "unknown-reference", &at);

    let src = mutated(
        FILE,
        "user.contact.email: hash",
        "user.contact.email: shred",
    );
    let at = position_of(&src, FILE, "shred");
    let r = rejected(src);
    let d = only_error(&r, "wrong-type", &at);
    assert!(
        d.message
            .contains("expected one of: null, hash, random, delete_row"),
        "{}",
        d.message
    );
}

#[test]
fn the_id_ombud_belongs_to_ombuds_store() {
    let src = mutated(FILE, "    connector: ombud\n", "");
    let at = position_of(&src, FILE, "ombud:");
    only_error(&rejected(src), "reserved-system-id", &at);

    let src = mutated(
        FILE,
        "  website:\n",
        "  store_two:\n    name: Another ombud\n    connector: ombud\n\n  website:\n",
    );
    let at = position_of(&src, FILE, "store_two:");
    only_error(&rejected(src), "duplicate-ombud-system", &at);
}

#[test]
fn a_manual_system_in_use_needs_instructions() {
    let src = mutated(
        FILE,
        "    instructions: >-\n      Search the audience",
        "    description: >-\n      Search the audience",
    );
    let at = position_of(&src, FILE, "mailchimp_audience:");
    let loaded = loads(src);
    let found = warnings_with(&loaded, "manual-system-without-instructions");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].position(&loaded.source), at);
    assert!(
        found[0].message.contains("`events`, `marketing`"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_database_without_identities_is_reported_once() {
    let src = mutated_all(&[
        (FILE, "identity: email, ", ""),
        (FILE, "identity: phone, ", ""),
    ]);
    let at = position_of(&src, FILE, "trial_db:");
    let loaded = loads(src);
    let found = warnings_with(&loaded, "no-identity-field");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].position(&loaded.source), at);
    assert!(
        found[0]
            .message
            .contains("no identity field: requests cannot find anyone here")
    );
    assert!(warnings_with(&loaded, "unreachable-personal-data").is_empty());
}

#[test]
fn personal_data_no_identity_leads_to_is_reported() {
    let src = mutated(
        FILE,
        "{collection: trial_user, field: id, direction: from}\n          subject:",
        "{collection: trial_user, field: id, direction: to}\n          subject:",
    );
    let at = position_of(&src, FILE, "support_ticket:");
    let loaded = loads(src);
    let found = warnings_with(&loaded, "unreachable-personal-data");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].position(&loaded.source), at);
    assert!(
        found[0].message.contains("(`subject`, `body`)"),
        "{}",
        found[0].message
    );
}

/// A table's columns, and its foreign keys as (column, referenced table, referenced column).
type Table = (BTreeSet<String>, BTreeSet<(String, String, String)>);

/// The tables of a SQLite script, read from its `CREATE TABLE` statements (a small reader for the
/// script we write, not SQL in general).
fn ddl(sql: &str) -> BTreeMap<String, Table> {
    let text: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut tables = BTreeMap::new();
    for statement in text.split(';') {
        let statement = statement.trim();
        let Some(rest) = statement.strip_prefix("CREATE TABLE ") else {
            continue;
        };
        let (name, body) = rest.split_once('(').expect("a column list");
        let body = body
            .trim_end()
            .strip_suffix(')')
            .expect("a closing parenthesis");
        let mut columns = BTreeSet::new();
        let mut references = BTreeSet::new();
        // Split at commas outside parentheses.
        let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
        for (i, c) in body.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&body[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&body[start..]);
        for part in parts {
            let words: Vec<&str> = part.split_whitespace().collect();
            let first = words[0];
            if ["PRIMARY", "FOREIGN", "UNIQUE", "CONSTRAINT", "CHECK"].contains(&first) {
                continue;
            }
            columns.insert(first.to_owned());
            if let Some(i) = words.iter().position(|w| *w == "REFERENCES") {
                let table = words[i + 1].to_owned();
                let column = words[i + 2]
                    .trim_matches(|c| c == '(' || c == ')')
                    .to_owned();
                references.insert((first.to_owned(), table, column));
            }
        }
        tables.insert(name.trim().to_owned(), (columns, references));
    }
    tables
}

#[test]
fn the_demo_database_script_creates_exactly_what_the_map_declares() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/impero/demo/trial_db.sql");
    let sql = std::fs::read_to_string(path).expect("demo/trial_db.sql");
    assert_eq!(sql, example::IMPERO_TRIAL_DB_SQL, "the compiled-in copy");
    let tables = ddl(&sql);
    let loaded = example_loaded();
    let db = system(&loaded, "trial_db");
    let mapped: BTreeSet<&str> = db.collections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        tables.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        mapped
    );
    for c in &db.collections {
        let (columns, references) = &tables[&c.name];
        let mut declared: BTreeSet<String> = c.fields.iter().map(|f| f.name.clone()).collect();
        if let Some(r) = &c.restriction {
            declared.insert(r.column.clone());
        }
        assert_eq!(columns, &declared, "columns of {}", c.name);
        let mapped_refs: BTreeSet<(String, String, String)> = c
            .fields
            .iter()
            .flat_map(|f| {
                f.references
                    .iter()
                    .map(|r| (f.name.clone(), r.to.collection.clone(), r.to.field.clone()))
            })
            .collect();
        assert_eq!(references, &mapped_refs, "foreign keys of {}", c.name);
    }
    // Ann Example, whom the demo invites people to ask about, is in every table.
    assert!(sql.contains("'ann@example.com', 'Ann Example'"));
}

#[test]
fn the_ddl_reader_reads_what_it_is_given() {
    let t = ddl(
        "-- x\nCREATE TABLE a (\n  id INTEGER PRIMARY KEY,\n  b_id INTEGER REFERENCES b (id),\n  n NUMERIC(10,2),\n  UNIQUE (n)\n);\nINSERT INTO a VALUES (1);",
    );
    let (columns, references) = &t["a"];
    assert_eq!(
        columns.iter().map(String::as_str).collect::<Vec<_>>(),
        ["b_id", "id", "n"]
    );
    assert_eq!(
        references.iter().cloned().collect::<Vec<_>>(),
        [("b_id".to_owned(), "b".to_owned(), "id".to_owned())]
    );
}

#[test]
fn an_empty_field_declares_a_column_and_the_connection_defaults_to_the_id() {
    let src = mutated_all(&[
        (
            FILE,
            "          company_name: {type: text}\n",
            "          company_name: {}\n",
        ),
        (FILE, "    connection: trial_db\n", ""),
    ]);
    let loaded = loads(src);
    let db = system(&loaded, "trial_db");
    assert_eq!(db.connection, "trial_db");
    let column = db
        .collection("account")
        .unwrap()
        .field("company_name")
        .unwrap();
    assert!(column.categories.is_empty() && column.data_type.is_none() && column.erase.is_none());

    let src = mutated(
        FILE,
        "    connection: trial_db\n",
        "    connection: \" \"\n",
    );
    let at = position_of(&src, FILE, "\" \"");
    only_error(&rejected(src), "empty-name", &at);
}

#[test]
fn a_category_rule_may_be_null() {
    let src = mutated(
        FILE,
        "    user.contact.email: hash\n",
        "    user.contact.email: hash\n    user.device: null\n    user.device.ip_address: random\n",
    );
    let rules = &loads(src).policy.data_map.erasure;
    assert_eq!(
        rules.by_category[1],
        (CategoryKey::parse("user.device").unwrap(), Strategy::Null)
    );
    assert_eq!(rules.by_category[2].1, Strategy::Random);
}
