use ombud_domain::datamap::Value;
use ombud_fulfil::package::{Lang, PackageBuilder};

use crate::helpers::*;

const HOSTILE: &str = "<script>alert(1)</script>";

fn fill(b: &mut PackageBuilder) {
    let mut w = b
        .collection("crm", "contacts", &cols(&["email", "name"]))
        .unwrap();
    w.write_row(&[
        Value::Text("anna@example.com".into()),
        Value::Text("Anna".into()),
    ])
    .unwrap();
    w.finish().unwrap();
    let mut w = b
        .collection("website", HOSTILE, &cols(&["<b>col</b>"]))
        .unwrap();
    w.write_row(&[Value::Text("<img src=x onerror=alert(2)>".into())])
        .unwrap();
    w.finish().unwrap();
    let w = b.collection("crm", "deals", &cols(&["id"])).unwrap();
    w.finish().unwrap();
}

fn readme(lang: Lang) -> String {
    let (_, zip) = build_plain(lang, fill);
    entry_text(&mut archive(&zip), "README.html")
}

/// The text as a browser shows it, for the checks on content (minijinja also escapes `/`).
fn shown(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn check_common(raw: &str, lang: &str) {
    let html = &shown(raw);
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains(&format!("<html lang=\"{lang}\">")),
        "lang attribute"
    );
    assert!(!raw.to_ascii_lowercase().contains("<script"), "no script");
    assert!(
        !raw.contains("<img") && !html.contains("onerror"),
        "row values never reach the page"
    );
    assert!(
        raw.contains("&lt;script&gt;alert(1)&lt;"),
        "the name is escaped"
    );
    assert!(
        html.contains("<script>alert(1)</script>"),
        "and shown as it is"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing external"
    );
    assert!(
        !html.contains("<link") && !html.contains("@import"),
        "no external CSS"
    );
    assert!(html.contains("<style>"), "inline CSS");
    assert!(html.contains("<th scope=\"col\">"), "table headers");
    assert!(html.contains("<caption>"), "table captions");
    assert!(html.contains("Impero A/S"));
    assert!(html.contains("Datatilsynet"));
    assert!(
        html.contains("Carl Jacobsens Vej 35"),
        "the authority's address"
    );
    assert!(html.contains("R-7KQ2"));
    assert!(
        html.contains("href=\"data/crm/contacts.json\""),
        "links to the files"
    );
}

#[test]
fn the_english_readme_summarises_the_package() {
    let html = readme(Lang::En);
    check_common(&html, "en");
    for heading in [
        "<h1>Your personal data</h1>",
        ">Your request</h2>",
        ">Files in this package</h2>",
        ">What we process and why</h2>",
        ">Categories of personal data</h2>",
        ">Recipients</h2>",
        ">How long we keep it</h2>",
        ">Where the data comes from</h2>",
        ">Automated decision-making</h2>",
        ">Your rights</h2>",
        ">Your right to complain</h2>",
        ">Contact</h2>",
        ">About the files</h2>",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    assert!(
        html.contains("nothing found"),
        "the empty collection is shown"
    );
    assert!(html.contains("2 March 2026") && html.contains("5 March 2026"));
}

#[test]
fn the_danish_readme_summarises_the_package() {
    let html = readme(Lang::Da);
    check_common(&html, "da");
    for heading in [
        "<h1>Dine personoplysninger</h1>",
        ">Din anmodning</h2>",
        ">Filer i denne pakke</h2>",
        ">Hvad vi behandler og hvorfor</h2>",
        ">Kategorier af personoplysninger</h2>",
        ">Modtagere</h2>",
        ">Hvor længe vi opbevarer dem</h2>",
        ">Automatiske afgørelser</h2>",
        ">Dine rettigheder</h2>",
        ">Din ret til at klage</h2>",
        ">Kontakt</h2>",
        ">Om filerne</h2>",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    assert!(html.contains("intet fundet"));
    assert!(html.contains("2. marts 2026"));
    // Policy text stays English and says so.
    assert!(html.contains("lang=\"en\""));
}
