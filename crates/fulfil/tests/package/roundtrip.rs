use base64::Engine as _;
use ombud_domain::datamap::Value;
use ombud_domain::policy::CategoryKey;
use ombud_fulfil::package::{Lang, PackageBuilder, PackageError};
use serde_json::json;

use crate::helpers::*;

struct Table {
    system: &'static str,
    collection: &'static str,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn tables() -> Vec<Table> {
    let large: String = "Ærø – \"quoted\", comma\r\nnew line 漢字 🙂 "
        .repeat(40_000)
        .chars()
        .collect();
    assert!(large.len() > 1_000_000);
    let contacts = Table {
        system: "crm",
        collection: "contacts",
        columns: cols(&["id", "email", "name", "note", "score", "active", "avatar"]),
        rows: vec![
            vec![
                Value::Int(1),
                text("anna@example.com"),
                text("Anna \"Nan\" Ørsted"),
                text("line1\nline2\r\nline3, with comma"),
                Value::Float(0.1),
                Value::Bool(true),
                Value::Bytes(vec![0, 1, 2, 254, 255]),
            ],
            vec![
                Value::Int(i64::MIN),
                Value::Null,
                text(""),
                Value::Text(large),
                Value::Float(-1.5e300),
                Value::Bool(false),
                Value::Null,
            ],
            vec![
                Value::Int(i64::MAX),
                text("🙂 emoji, RTL שלום, CJK 漢字, NUL \u{0} and tab \t"),
                text("   spaces around   "),
                text("\"\""),
                Value::Float(f64::MIN_POSITIVE),
                Value::Null,
                Value::Bytes(Vec::new()),
            ],
            vec![
                Value::Int(0),
                text("=1+2"),
                text(","),
                text("\n"),
                Value::Float(f64::NAN),
                Value::Bool(true),
                Value::Bytes(b"\"binary\", with\nnew line".to_vec()),
            ],
            vec![
                Value::Int(-1),
                text("x"),
                text("'single'"),
                text("\\backslash\\"),
                Value::Float(f64::NEG_INFINITY),
                Value::Null,
                Value::Null,
            ],
        ],
    };
    let invoices = Table {
        system: "billing",
        collection: "invoices",
        columns: cols(&["invoice_no", "amount", "memo"]),
        rows: (0..500)
            .map(|i| {
                vec![
                    Value::Text(format!("INV-{i:05}")),
                    Value::Float(f64::from(i) * 12.5 + 0.01),
                    if i % 7 == 0 {
                        Value::Null
                    } else {
                        Value::Text(format!("Memo {i}, \"net\" 30\ndays; æøå"))
                    },
                ]
            })
            .collect(),
    };
    let tickets = Table {
        system: "support desk",
        collection: "Tickets (2024)",
        columns: cols(&["subject", "body"]),
        rows: vec![
            vec![
                text("Hjælp"),
                text("Kære support,\n\nmin konto virker ikke."),
            ],
            vec![Value::Null, Value::Null],
            vec![text(""), text("")],
        ],
    };
    let attachments = Table {
        system: "support desk",
        collection: "attachments",
        columns: cols(&["file_name", "content"]),
        rows: Vec::new(),
    };
    vec![contacts, invoices, tickets, attachments]
}

fn fill(b: &mut PackageBuilder, tables: &[Table]) {
    for t in tables {
        let categories = if t.collection == "contacts" {
            vec![
                (
                    "email".to_owned(),
                    vec![CategoryKey::parse("user.contact.email").unwrap()],
                ),
                (
                    "name".to_owned(),
                    vec![CategoryKey::parse("user.name").unwrap()],
                ),
            ]
        } else {
            Vec::new()
        };
        let mut w = b
            .collection_with_categories(t.system, t.collection, &t.columns, categories)
            .unwrap();
        for r in &t.rows {
            w.write_row(r).unwrap();
        }
        assert_eq!(w.finish().unwrap(), t.rows.len() as u64);
    }
}

fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) if f.is_nan() => json!("NaN"),
        Value::Float(f) if f.is_infinite() && *f > 0.0 => json!("Infinity"),
        Value::Float(f) if f.is_infinite() => json!("-Infinity"),
        Value::Float(f) => json!(f),
        Value::Text(s) => json!(s),
        Value::Bytes(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

fn csv_of(v: &Value) -> String {
    match json_of(v) {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

fn check_package(zip: &[u8], tables: &[Table]) {
    let mut zip = archive(zip);
    let manifest = manifest_json(&mut zip);
    let listed = manifest["collections"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        tables.len(),
        "every collection, empty ones too"
    );
    for (t, m) in tables.iter().zip(listed) {
        assert_eq!(m["system"], t.system);
        assert_eq!(m["collection"], t.collection);
        assert_eq!(m["rows"], t.rows.len(), "{}", t.collection);
        let names: Vec<&str> = m["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, t.columns);

        // JSON: an array of objects keyed by column, values typed.
        let json_file = m["json_file"].as_str().unwrap();
        let raw = entry(&mut zip, json_file);
        let parsed: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let expected: Vec<serde_json::Value> = t
            .rows
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    t.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| (c.clone(), json_of(v)))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(parsed, serde_json::Value::Array(expected), "{json_file}");
        if !t.rows.is_empty() {
            // Keys in column order in the file itself.
            let text = String::from_utf8(raw).unwrap();
            let mut at = 0;
            for c in &t.columns {
                let key = format!("{}:", serde_json::to_string(c).unwrap());
                let found = text[at..].find(&key).expect("key in order") + at;
                at = found;
            }
        }

        // CSV: header, then the same rows as text.
        let csv_file = m["csv_file"].as_str().unwrap();
        let raw = entry(&mut zip, csv_file);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&raw[..]);
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(records[0], t.columns, "header of {csv_file}");
        let expected: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(csv_of).collect())
            .collect();
        assert_eq!(records[1..], expected[..], "{csv_file}");
        assert!(raw.ends_with(b"\r\n"), "RFC 4180 line ends");
    }
    let avatar = &listed[0]["columns"][6];
    assert_eq!(avatar["name"], "avatar");
    assert_eq!(avatar["encoding"], "base64");
    assert_eq!(listed[0]["columns"][1]["encoding"], serde_json::Value::Null);
    assert_eq!(
        listed[0]["columns"][1]["categories"],
        json!(["user.contact.email"])
    );
    let keys: Vec<&str> = manifest["data_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"user.contact.email"));
}

#[test]
fn an_encrypted_package_decrypts_unzips_and_holds_the_rows_exactly() {
    let tables = tables();
    let (summary, zip) = build_encrypted(Lang::En, |b| fill(b, &tables));
    assert_eq!(summary.collections, 4);
    assert_eq!(
        summary.rows,
        tables.iter().map(|t| t.rows.len() as u64).sum::<u64>()
    );
    check_package(&zip, &tables);

    let mut zip = archive(&zip);
    let names = names(&mut zip);
    assert_eq!(names, summary.files);
    assert_eq!(names[0], "README.html");
    assert_eq!(names[1], "manifest.json");
    for expected in [
        "data/crm/contacts.json",
        "data/crm/contacts.csv",
        "data/billing/invoices.json",
        "data/support_desk/Tickets__2024_.json",
        "data/support_desk/attachments.json",
        "data/support_desk/attachments.csv",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert_eq!(
        entry_text(&mut zip, "data/support_desk/attachments.json"),
        "[]\n"
    );
    assert_eq!(
        entry_text(&mut zip, "data/support_desk/attachments.csv"),
        "file_name,content\r\n"
    );
    let m = zip.by_name("data/crm/contacts.json").unwrap();
    assert_eq!(m.compression(), zip::CompressionMethod::Deflated);
}

#[test]
fn a_plain_package_holds_the_same() {
    let tables = tables();
    let (summary, zip) = build_plain(Lang::Da, |b| fill(b, &tables));
    assert_eq!(summary.collections, 4);
    check_package(&zip, &tables);
}

#[test]
fn a_row_of_the_wrong_width_is_refused_without_its_values() {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(Lang::En)).unwrap();
    let mut w = b.collection("crm", "contacts", &cols(&["a", "b"])).unwrap();
    let err = w
        .write_row(&[text("secret-value@example.com")])
        .unwrap_err();
    assert!(matches!(
        err,
        PackageError::RowWidth {
            expected: 2,
            got: 1,
            ..
        }
    ));
    assert!(!err.to_string().contains("secret"), "{err}");
    w.write_row(&[text("a"), text("b")]).unwrap();
    assert_eq!(w.finish().unwrap(), 1);
}

#[test]
fn an_unfinished_collection_stops_the_package() {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(Lang::En)).unwrap();
    {
        let mut w = b.collection("crm", "contacts", &cols(&["a"])).unwrap();
        w.write_row(&[text("x")]).unwrap();
        // dropped without finish
    }
    let err = b.finish(Vec::new()).unwrap_err();
    assert!(
        matches!(&err, PackageError::Unfinished { collection, .. } if collection == "contacts"),
        "{err}"
    );
}

#[test]
fn duplicate_and_unknown_columns_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(Lang::En)).unwrap();
    let err = b
        .collection("crm", "contacts", &cols(&["a", "b", "a"]))
        .unwrap_err();
    assert!(matches!(err, PackageError::DuplicateColumn { ref column, .. } if column == "a"));
    let err = b
        .collection_with_categories(
            "crm",
            "contacts",
            &cols(&["a"]),
            vec![("z".into(), vec![CategoryKey::parse("user.name").unwrap()])],
        )
        .unwrap_err();
    assert!(matches!(err, PackageError::UnknownColumn { ref column, .. } if column == "z"));
}

#[test]
fn temporary_files_leave_no_trace_in_the_work_folder() {
    let work = tempfile::tempdir().unwrap();
    let mut b = PackageBuilder::new(work.path(), manifest(Lang::En)).unwrap();
    let mut w = b.collection("crm", "contacts", &cols(&["a"])).unwrap();
    w.write_row(&[text("personal")]).unwrap();
    w.finish().unwrap();
    let entries = std::fs::read_dir(work.path()).unwrap().count();
    assert_eq!(entries, 0, "the staged rows have no name on disk");
    b.finish(Vec::new()).unwrap();
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}
