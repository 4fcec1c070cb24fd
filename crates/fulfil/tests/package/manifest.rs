use ombud_domain::policy::Keyword;
use ombud_fulfil::package::{Lang, Manifest, PackageRight};

use crate::helpers::*;

fn strings(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn the_manifest_carries_the_art_15_information_of_the_example_policy() {
    let policy = policy();
    let m = Manifest::from_policy(&policy, facts(Lang::En));
    let j = serde_json::to_value(&m).unwrap();

    assert_eq!(j["format"], "ombud-package");
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["request"]["reference"], "R-7KQ2");
    assert_eq!(j["request"]["right"], "access");
    assert_eq!(j["request"]["received"], "2026-03-02T09:15:00Z");
    assert_eq!(j["request"]["completed_at"], "2026-03-05T14:30:00Z");
    assert_eq!(j["request"]["lang"], "en");

    // Controller and contact point.
    assert_eq!(j["controller"]["name"], "Impero A/S");
    assert_eq!(j["controller"]["email"], "mail@impero.com");
    assert_eq!(j["contact_point"]["title"], "Data Protection Manager");
    assert_eq!(j["contact_point"]["email"], "mc@impero.com");

    // The supervisory authority, with its address.
    let complaint = &j["complaint"];
    assert!(
        complaint["authority"]
            .as_str()
            .unwrap()
            .starts_with("Datatilsynet")
    );
    assert_eq!(
        strings(&complaint["address"]),
        policy.supervisory_authority.address
    );
    assert!(
        complaint["statement"]
            .as_str()
            .unwrap()
            .contains("Datatilsynet")
    );

    // Every purpose, with its legal bases and its retention.
    let purposes = j["purposes"].as_array().unwrap();
    assert_eq!(purposes.len(), policy.purposes.len());
    for p in &policy.purposes {
        let mp = purposes
            .iter()
            .find(|x| x["id"] == p.id.as_str())
            .unwrap_or_else(|| panic!("purpose {} in the manifest", p.id));
        let bases: Vec<&str> = mp["legal_bases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["key"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = p.legal_bases.iter().map(|b| b.key()).collect();
        assert_eq!(bases, expected, "bases of {}", p.id);
        if p.relies_on(ombud_domain::policy::LegalBasis::LegitimateInterests) {
            assert_eq!(
                mp["legitimate_interest"].as_str(),
                p.legitimate_interest.as_deref(),
                "legitimate interest of {}",
                p.id
            );
        }
        match &p.retention {
            Some(rule_id) => {
                assert_eq!(mp["retention"], rule_id.as_str(), "retention of {}", p.id);
                let rule = policy.retention_rule(rule_id).unwrap();
                let text = mp["retention_text"].as_str().unwrap();
                if let Some(period) = rule.keep.filter(|k| k.amount > 0) {
                    assert!(text.contains(&period.to_string()), "{}: {text}", p.id);
                }
                let listed = j["retention"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["id"] == rule_id.as_str())
                    .unwrap_or_else(|| panic!("retention rule {rule_id} in the manifest"));
                assert_eq!(
                    listed["period"].as_str(),
                    rule.keep.map(|k| k.to_string()).as_deref()
                );
                assert!(strings(&listed["purposes"]).contains(&p.id.as_str()));
            }
            None => assert!(mp["retention"].is_null()),
        }
    }

    // Every recipient, with role, countries and the transfer mechanism where there is one.
    let recipients = j["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), policy.recipients.len());
    for r in &policy.recipients {
        let mr = recipients
            .iter()
            .find(|x| x["id"] == r.id.as_str())
            .unwrap_or_else(|| panic!("recipient {} in the manifest", r.id));
        assert_eq!(mr["name"], r.name.as_str());
        assert_eq!(mr["role"], r.role.key());
        assert_eq!(strings(&mr["countries"]), r.countries);
        match &r.transfer {
            Some(t) => assert_eq!(mr["transfer"]["mechanism"], t.mechanism.key()),
            None => assert!(mr["transfer"].is_null()),
        }
    }
    assert!(
        recipients.iter().any(|r| r["third_countries"]
            .as_array()
            .is_some_and(|c| !c.is_empty())),
        "the example sends data to the US"
    );

    // Sources, categories, rights, automated decisions.
    assert_eq!(j["sources"].as_array().unwrap().len(), policy.sources.len());
    let categories: Vec<&str> = j["data_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    for p in &policy.purposes {
        for c in &p.data_categories {
            assert!(categories.contains(&c.as_str()), "{c}");
        }
    }
    let rights: Vec<&str> = j["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["right"].as_str().unwrap())
        .collect();
    for r in [
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "portability",
        "withdraw_consent",
        "automated_decisions",
    ] {
        assert!(rights.contains(&r), "right {r}");
    }
    let adm = &j["automated_decision_making"];
    assert_eq!(adm["exists"], false);
    assert!(adm["statement"].as_str().unwrap().contains("Art. 22"));
    assert!(
        strings(&adm["profiling"]).len() == policy.purposes.iter().filter(|p| p.profiling).count()
    );
    assert!(j["collections"].as_array().unwrap().is_empty());
    assert!(j["processor_note"].is_string());

    // The lookups used while building stay out of the file.
    assert!(j.get("category_names").is_none() && j.get("systems").is_none());
}

#[test]
fn danish_labels_and_retention_in_danish() {
    let policy = policy();
    let mut facts = facts(Lang::Da);
    facts.right = PackageRight::Portability;
    let m = Manifest::from_policy(&policy, facts);
    assert_eq!(m.request.right, PackageRight::Portability);
    let visits = m
        .retention
        .iter()
        .find(|r| r.id == "office_visits")
        .unwrap();
    assert_eq!(
        visits.period.as_deref(),
        Some("30 days"),
        "the key stays as written"
    );
    assert!(
        visits.description.starts_with("30 dage efter besøget"),
        "{}",
        visits.description
    );
    let erasure = m.rights.iter().find(|r| r.right == "erasure").unwrap();
    assert_eq!(erasure.label, "Sletning");
    assert_eq!(erasure.article, "GDPR art. 17");
}

#[test]
fn the_manifest_round_trips_through_json() {
    let m = manifest(Lang::En);
    let text = serde_json::to_string(&m).unwrap();
    let back: Manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
}
