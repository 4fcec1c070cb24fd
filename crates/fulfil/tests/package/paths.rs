use std::collections::HashSet;

use ombud_domain::datamap::Value;
use ombud_fulfil::package::Lang;

use crate::helpers::*;

const HOSTILE: &[(&str, &str)] = &[
    ("../../etc", "passwd"),
    ("/abs", "/etc/shadow"),
    ("..", ".."),
    (".", "."),
    ("", ""),
    ("crm", "../../../../tmp/evil"),
    ("crm", "C:\\Windows\\system32"),
    ("crm", "with \"quotes\" and 'apostrophes'"),
    ("crm", "slash/inside"),
    ("crm", "Kunder æøå 漢字 🙂"),
    ("crm", "Users"),
    ("crm", "users"),
    ("crm", "users"),
    ("CRM", "users"),
    ("crm", "CON"),
    ("crm", "nul.txt"),
    ("crm", "trailing dot."),
    ("crm", ".hidden"),
    ("crm", "a..b"),
    ("crm", "\u{0}nul\u{7f}"),
    ("crm", "<script>alert(1)</script>"),
];

#[test]
fn hostile_names_become_safe_unique_paths() {
    let long = "x".repeat(1000);
    let (summary, zip) = build_plain(Lang::En, |b| {
        let mut names: Vec<(&str, &str)> = HOSTILE.to_vec();
        names.push(("crm", &long));
        for (system, collection) in names {
            let mut w = b.collection(system, collection, &cols(&["v"])).unwrap();
            w.write_row(&[Value::Text(format!("{system}|{collection}"))])
                .unwrap();
            w.finish().unwrap();
        }
    });
    let mut zip = archive(&zip);
    let names = names(&mut zip);
    assert_eq!(names.len(), 2 + 2 * (HOSTILE.len() + 1));
    let mut seen = HashSet::new();
    for n in &names {
        assert!(!n.contains(".."), "{n}");
        assert!(!n.starts_with('/') && !n.starts_with('\\'), "{n}");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')),
            "{n}"
        );
        assert!(
            n.split('/')
                .all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.ends_with('.')),
            "{n}"
        );
        assert!(n.len() < 200, "{n}");
        assert!(
            seen.insert(n.to_ascii_lowercase()),
            "{n} is unique ignoring case"
        );
        let f = zip.by_name(n).unwrap();
        assert!(f.enclosed_name().is_some(), "{n} stays inside the folder");
    }
    assert_eq!(names, summary.files);

    // The manifest maps every file back to its names, and each file holds its own row.
    let manifest = manifest_json(&mut zip);
    let collections = manifest["collections"].as_array().unwrap().clone();
    for c in &collections {
        let system = c["system"].as_str().unwrap();
        let collection = c["collection"].as_str().unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&entry(&mut zip, c["json_file"].as_str().unwrap())).unwrap();
        assert_eq!(json[0]["v"], format!("{system}|{collection}"));
        assert!(c["json_file"].as_str().unwrap().starts_with("data/"));
    }
    assert_eq!(collections[2]["collection"], "..");
}
