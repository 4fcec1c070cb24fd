//! The policy crate end to end: the example loads with the expected warnings, every kind of
//! broken policy is reported at the right file, line and column, the generated documents are
//! snapshot-tested, and the committed JSON Schema matches the format. The data map and the Fides
//! import have their own modules.

use jiff::civil::{Date, date};
use ombud_domain::policy::{Keyword, LegalBasis, Right};
use ombud_policy::render::ropa::{self, RopaFormat};
use ombud_policy::render::{NoticeFormat, notice};
use ombud_policy::{Diagnostic, Loaded, PolicySource, Rejected, Severity, example, load};

#[path = "policy/datamap.rs"]
mod datamap;
#[path = "policy/fides.rs"]
mod fides;

const TODAY: Date = date(2026, 11, 29);

fn example_loaded() -> Loaded {
    load(example::impero(), TODAY).unwrap_or_else(|r| panic!("the example must load:\n{r}"))
}

/// The example with `from` replaced by `to` (once) in the file whose name ends with `file`.
fn mutated(file: &str, from: &str, to: &str) -> PolicySource {
    let mut src = example::impero();
    let f = src
        .files
        .iter_mut()
        .find(|f| f.path.ends_with(file))
        .expect("file of the example");
    assert!(f.text.contains(from), "{from:?} not found in {file}");
    f.text = f.text.replacen(from, to, 1);
    src
}

fn rejected(src: PolicySource) -> Rejected {
    match load(src, TODAY) {
        Ok(_) => panic!("the broken policy was accepted"),
        Err(r) => r,
    }
}

/// Line and column (1-based) of the first occurrence of `needle` in a file of `src`.
fn position_of(src: &PolicySource, file: &str, needle: &str) -> String {
    let f = src
        .files
        .iter()
        .find(|f| f.path.ends_with(file))
        .expect("file");
    let (i, line) = f
        .text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .expect("needle");
    let col = line[..line.find(needle).unwrap_or(0)].chars().count() + 1;
    format!("{}:{}:{}", f.path, i + 1, col)
}

/// Asserts exactly one error, with `code` at `position`, and returns it.
fn only_error<'a>(r: &'a Rejected, code: &str, position: &str) -> &'a Diagnostic {
    let errors: Vec<&Diagnostic> = r.errors().collect();
    let shown: Vec<String> = errors
        .iter()
        .map(|d| format!("{} {} {}", d.position(&r.source), d.code, d.message))
        .collect();
    assert_eq!(errors.len(), 1, "expected one error, got {shown:#?}");
    assert_eq!(errors[0].code, code, "{shown:#?}");
    assert_eq!(errors[0].position(&r.source), position, "{shown:#?}");
    errors[0]
}

#[test]
fn example_loads_with_the_seeds_weak_spots_as_warnings() {
    let loaded = example_loaded();
    assert!(
        loaded
            .warnings
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
    let codes: std::collections::BTreeSet<&str> = loaded.warnings.iter().map(|d| d.code).collect();
    for expected in [
        "no-legal-basis",               // events (G5) and recruitment
        "email-marketing-on-li",        // G3
        "implied-consent-wording",      // G2
        "browser-settings-as-consent",  // G1
        "cookies-not-on-consent",       // G4
        "contract-with-employer",       // G6
        "transfer-assessment-outdated", // G7
        "fee-wording",                  // G8
        "response-time-floor",          // G9
        "cookies-not-personal-data",    // G10
        "no-art14-notice",              // G11
    ] {
        assert!(
            codes.contains(expected),
            "missing warning {expected}; got {codes:?}"
        );
    }
    let events = loaded
        .warnings
        .iter()
        .find(|d| d.code == "no-legal-basis" && d.message.contains("`events`"))
        .expect("events warning");
    assert_eq!(
        events.position(&loaded.source),
        position_of(&loaded.source, "purposes.yaml", "events:")
    );
    let rendered: String = loaded
        .warnings
        .iter()
        .map(|d| d.render(&loaded.source))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("example_check", rendered);
}

#[test]
fn example_encodes_the_seed() {
    let p = example_loaded().policy;
    // Every purpose of the seed (R13–R26), plus the talent pool consent of the recruitment rule.
    assert_eq!(p.purposes.len(), 15);
    for (id, bases) in [
        ("website", &[LegalBasis::LegitimateInterests][..]),
        ("security", &[LegalBasis::LegitimateInterests]),
        (
            "functionality",
            &[LegalBasis::Contract, LegalBasis::LegitimateInterests],
        ),
        ("user_registrations", &[LegalBasis::Contract]),
        ("support", &[LegalBasis::LegitimateInterests]),
        ("events", &[]),
        (
            "improvement",
            &[LegalBasis::LegitimateInterests, LegalBasis::Consent],
        ),
        (
            "user_experience",
            &[LegalBasis::LegitimateInterests, LegalBasis::Consent],
        ),
        ("customer_opportunities", &[LegalBasis::LegitimateInterests]),
        ("office_visitors", &[LegalBasis::LegitimateInterests]),
        (
            "advertising",
            &[LegalBasis::LegitimateInterests, LegalBasis::Consent],
        ),
        (
            "marketing",
            &[LegalBasis::LegitimateInterests, LegalBasis::Consent],
        ),
        ("recruitment", &[]),
        ("talent_pool", &[LegalBasis::Consent]),
        (
            "legal_obligations",
            &[LegalBasis::LegalObligation, LegalBasis::LegitimateInterests],
        ),
    ] {
        let purpose = p
            .purposes
            .iter()
            .find(|x| x.id.as_str() == id)
            .unwrap_or_else(|| panic!("purpose {id}"));
        assert_eq!(purpose.legal_bases, bases, "{id}");
    }
    for name in [
        "Microsoft",
        "HubSpot",
        "MailChimp",
        "Google",
        "Hotjar",
        "LinkedIn",
        "Facebook",
    ] {
        assert!(
            p.recipients.iter().any(|r| r.name == name),
            "recipient {name}"
        );
    }
    assert!(
        p.recipients
            .iter()
            .any(|r| r.role == ombud_domain::policy::RecipientRole::Authority)
    );
    assert_eq!(
        p.rights.rights.len(),
        Right::all().len(),
        "every right is described"
    );
    assert_eq!(p.rights.working_days, 7);
    assert_eq!(p.rights.calendar, "DK");
    assert_eq!(p.controller.email.as_str(), "mail@impero.com");
    assert_eq!(p.contact_point.email.as_str(), "mc@impero.com");
    let recruitment = p
        .retention
        .iter()
        .find(|r| r.id.as_str() == "applications")
        .expect("recruitment rule");
    assert_eq!(
        recruitment.unless.len(),
        1,
        "unless the applicant consented to the talent pool"
    );
    assert_eq!(p.legal_holds[0].keep.to_string(), "5 years");
    assert_eq!(p.collection_points.len(), 10);
    for category in ["necessary", "statistics", "marketing"] {
        assert!(
            p.cookies.iter().any(|c| c.category.as_str() == category),
            "cookies in {category}"
        );
    }
}

#[test]
fn a_single_file_policy_equals_the_folder() {
    let folder = example::impero();
    let joined: String = folder
        .files
        .iter()
        .map(|f| f.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let single = PolicySource::from_texts([("impero.yaml", joined.as_str())]);
    let a = load(folder, TODAY).expect("folder");
    let b = load(single, TODAY).expect("single file");
    assert_eq!(
        notice(&a.policy, NoticeFormat::Markdown),
        notice(&b.policy, NoticeFormat::Markdown)
    );
}

#[test]
fn unknown_reference_is_located_and_suggests_the_fix() {
    let src = mutated(
        "purposes.yaml",
        "recipients: [microsoft, hubspot]",
        "recipients: [microsft, hubspot]",
    );
    let at = position_of(&src, "purposes.yaml", "microsft");
    let r = rejected(src);
    let d = only_error(&r, "unknown-reference", &at);
    assert!(d.message.contains("recipient `microsft`"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("did you mean `microsoft`?"));
}

#[test]
fn unknown_category_is_located() {
    let src = mutated(
        "purposes.yaml",
        "user.device.ip_address, user.device.browser",
        "user.device.ip, user.device.browser",
    );
    let at = position_of(&src, "purposes.yaml", "user.device.ip,");
    only_error(&rejected(src), "unknown-reference", &at);
}

#[test]
fn wrong_type_is_located() {
    let src = mutated("rights.yaml", "working_days: 7", "working_days: seven");
    let at = position_of(&src, "rights.yaml", "seven");
    only_error(&rejected(src), "wrong-type", &at);
}

#[test]
fn unknown_vocabulary_value_lists_the_choices() {
    let src = mutated(
        "purposes.yaml",
        "legal_basis: [legitimate_interests]",
        "legal_basis: [legitimate_interest]",
    );
    let at = position_of(&src, "purposes.yaml", "legitimate_interest]");
    let r = rejected(src);
    let d = only_error(&r, "wrong-type", &at);
    assert!(
        d.message.contains("expected one of: consent, contract"),
        "{}",
        d.message
    );
}

#[test]
fn bad_period_is_located() {
    let src = mutated("retention.yaml", "keep: 30 days", "keep: a month");
    let at = position_of(&src, "retention.yaml", "a month");
    let r = rejected(src);
    let d = only_error(&r, "wrong-type", &at);
    assert!(d.message.contains("is not a period"), "{}", d.message);
}

#[test]
fn bad_indentation_is_located() {
    let src = mutated(
        "recipients.yaml",
        "    role: processor\n",
        "     role: processor\n",
    );
    let r = rejected(src);
    let e: Vec<&Diagnostic> = r.errors().collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, "bad-indentation", "{}", e[0].message);
    assert!(
        e[0].position(&r.source)
            .starts_with("examples/impero/recipients.yaml:"),
        "{}",
        e[0].position(&r.source)
    );
    let line: u32 = e[0]
        .position(&r.source)
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let expected_line = r
        .source
        .files
        .iter()
        .find(|f| f.path.ends_with("recipients.yaml"))
        .unwrap()
        .text
        .lines()
        .position(|l| l == "     role: processor")
        .unwrap()
        + 1;
    assert_eq!(line as usize, expected_line);
}

#[test]
fn tabs_are_refused() {
    let src = mutated("data.yaml", "  office_visitor:\n", "\toffice_visitor:\n");
    let r = rejected(src);
    let e: Vec<&Diagnostic> = r.errors().collect();
    assert_eq!(e.len(), 1);
    assert!(
        matches!(e[0].code, "bad-indentation" | "yaml-syntax"),
        "{} {}",
        e[0].code,
        e[0].message
    );
    assert!(
        e[0].position(&r.source)
            .starts_with("examples/impero/data.yaml:")
    );
}

#[test]
fn duplicate_key_in_one_file_is_located() {
    let src = mutated("data.yaml", "  office_visitor:\n", "  website_visitor:\n");
    let f = src
        .files
        .iter()
        .find(|f| f.path.ends_with("data.yaml"))
        .unwrap();
    let second = f
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "  website_visitor:")
        .nth(1)
        .unwrap()
        .0
        + 1;
    only_error(
        &rejected(src),
        "duplicate-key",
        &format!("examples/impero/data.yaml:{second}:3"),
    );
}

#[test]
fn duplicate_id_across_files_is_located() {
    let src = mutated(
        "security.yaml",
        "security:\n",
        "purposes:\n  website:\n    name: Again\n\nsecurity:\n",
    );
    let at = position_of(&src, "security.yaml", "website:");
    let r = rejected(src);
    let d = only_error(&r, "duplicate-id", &at);
    assert!(
        d.help.as_deref().unwrap_or("").contains("purposes.yaml"),
        "{:?}",
        d.help
    );
}

#[test]
fn unknown_field_is_located() {
    let src = mutated(
        "purposes.yaml",
        "    legitimate_interest: Fulfilling",
        "    legitimate_intrest: Fulfilling",
    );
    let at = position_of(&src, "purposes.yaml", "legitimate_intrest");
    only_error(&rejected(src), "unknown-field", &at);
}

#[test]
fn missing_section_is_reported() {
    let mut src = example::impero();
    let f = src
        .files
        .iter_mut()
        .find(|f| f.path.ends_with("policy.yaml"))
        .unwrap();
    let start = f.text.find("\ncontroller:").unwrap();
    let end = f.text.find("\ncontact_point:").unwrap();
    f.text.replace_range(start..end, "");
    let r = rejected(src);
    assert!(
        r.errors()
            .any(|d| d.code == "missing-section" && d.message.contains("`controller`"))
    );
}

#[test]
fn every_error_names_file_line_and_column() {
    let src = mutated(
        "cookies.yaml",
        "    category: statistics\n",
        "    category: stats\n",
    );
    let r = rejected(src);
    for d in r.errors() {
        let text = d.render(&r.source);
        let pos = d.position(&r.source);
        let mut parts = pos.rsplitn(3, ':');
        let (col, line) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            col.parse::<u32>().unwrap() >= 1 && line.parse::<u32>().unwrap() >= 1,
            "{text}"
        );
        assert!(
            text.contains("help:"),
            "every error says what to do: {text}"
        );
    }
}

#[test]
fn notice_snapshots() {
    let p = example_loaded().policy;
    insta::assert_snapshot!("notice_md", notice(&p, NoticeFormat::Markdown));
    insta::assert_snapshot!("notice_html", notice(&p, NoticeFormat::Html));
}

#[test]
fn notice_names_every_recipient_right_and_basis_of_the_seed() {
    let p = example_loaded().policy;
    let md = notice(&p, NoticeFormat::Markdown);
    for name in [
        "Microsoft",
        "HubSpot",
        "MailChimp",
        "Google",
        "Hotjar",
        "LinkedIn",
        "Facebook",
        "law enforcement agencies",
        "legal advisers",
    ] {
        assert!(md.contains(name), "notice lacks {name}");
    }
    for right in Right::all() {
        assert!(
            md.contains(right.label()),
            "notice lacks the right {}",
            right.label()
        );
    }
    for basis in [
        LegalBasis::Consent,
        LegalBasis::Contract,
        LegalBasis::LegalObligation,
        LegalBasis::LegitimateInterests,
    ] {
        assert!(
            md.contains(basis.article()),
            "notice lacks {}",
            basis.article()
        );
    }
    for section in ombud_domain::policy::NoticeSection::all() {
        assert!(
            md.contains(&format!("## {}", section.title())),
            "section {}",
            section.title()
        );
    }
    assert!(md.contains("within 7 working days") && md.contains("within one month"));
}

#[test]
fn ropa_has_one_row_per_purpose_in_every_format() {
    let p = example_loaded().policy;
    let csv_text = ropa::render(&p, RopaFormat::Csv);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for field in ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"] {
        assert!(
            headers
                .iter()
                .any(|h| h.contains(&format!("Art. 30(1){field}"))),
            "column for Art. 30(1){field}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), p.purposes.len());
    let json: serde_json::Value =
        serde_json::from_str(&ropa::render(&p, RopaFormat::Json)).unwrap();
    assert_eq!(
        json["activities"].as_array().unwrap().len(),
        p.purposes.len()
    );
    let md = ropa::render(&p, RopaFormat::Markdown);
    assert_eq!(md.matches("\n## ").count(), p.purposes.len());
    insta::assert_snapshot!("ropa_md", md);
    insta::assert_snapshot!("ropa_csv", csv_text);
}

#[test]
fn committed_json_schema_matches_the_format() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/policy.schema.json");
    let generated = ombud_policy::schema::json_schema();
    if std::env::var_os("OMBUD_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/policy.schema.json is out of date: run `OMBUD_UPDATE_GENERATED=1 cargo test -p ombud-policy --test policy` and commit it"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for section in [
        "purposes",
        "recipients",
        "retention",
        "cookies",
        "rights",
        "systems",
    ] {
        assert!(
            schema["properties"][section].is_object(),
            "schema describes `{section}`"
        );
    }
}

mod consent_rules {
    //! The consent check's rules on the example policy (pure; the store supplies states).
    use super::*;
    use ombud_domain::consent::{Reason, State, SubjectKey, Target, check, consent_required};
    use ombud_domain::policy::PurposeId;

    const NOW: i64 = 1_800_000_000_000_000;

    fn state(target: &str, granted: bool, seq: i64, expires: Option<i64>) -> State {
        State {
            subject: SubjectKey::parse("email:ann@example.com").unwrap(),
            target: Target::parse(target).unwrap(),
            granted,
            since_us: NOW - 1000,
            event_seq: seq,
            expires_at_us: expires,
        }
    }

    fn purpose(id: &str) -> PurposeId {
        PurposeId::parse(id).unwrap()
    }

    #[test]
    fn consent_is_required_where_the_law_asks_more_than_the_policy() {
        let p = example_loaded().policy;
        // Consent is the only basis.
        assert!(consent_required(&p, &purpose("talent_pool")));
        // "Legitimate interests or consent", but served by non-necessary cookies (G4).
        assert!(consent_required(&p, &purpose("improvement")));
        // "Legitimate interests or consent", but marketing by e-mail and SMS (G3).
        assert!(consent_required(&p, &purpose("marketing")));
        // Legitimate interests alone, no cookies, no e-mail marketing.
        assert!(!consent_required(&p, &purpose("office_visitors")));
    }

    #[test]
    fn answers() {
        let p = example_loaded().policy;
        let a = check(&p, &purpose("improvement"), &[], NOW);
        assert_eq!((a.allowed, a.reason), (false, Reason::NoConsent));
        let granted = [state("cookies:statistics", true, 5, Some(NOW + 1))];
        let a = check(&p, &purpose("improvement"), &granted, NOW);
        assert_eq!(
            (a.allowed, a.basis, a.reason),
            (true, Some(LegalBasis::Consent), Reason::Consented)
        );
        // A lapsed grant.
        let a = check(
            &p,
            &purpose("improvement"),
            &[state("cookies:statistics", true, 5, Some(NOW))],
            NOW,
        );
        assert_eq!((a.allowed, a.reason), (false, Reason::Expired));
        // A newer refusal of the purpose outweighs an older grant of its cookie category.
        let mixed = [
            state("cookies:statistics", true, 5, None),
            state("purpose:improvement", false, 9, None),
        ];
        assert_eq!(
            check(&p, &purpose("improvement"), &mixed, NOW).reason,
            Reason::Refused
        );
        // Other bases answer from the policy ...
        let a = check(&p, &purpose("office_visitors"), &[], NOW);
        assert_eq!(
            (a.allowed, a.basis, a.reason),
            (
                true,
                Some(LegalBasis::LegitimateInterests),
                Reason::OtherBasis
            )
        );
        // ... a purpose without a basis is never allowed ...
        assert_eq!(
            check(&p, &purpose("events"), &[], NOW).reason,
            Reason::NoLegalBasis
        );
        // ... and once consent was refused, the refusal stands.
        let refused = [state("purpose:functionality", false, 3, None)];
        assert_eq!(
            check(&p, &purpose("functionality"), &refused, NOW).reason,
            Reason::Refused
        );
        // Grants of unrelated categories do not count.
        let other = [state("cookies:marketing", true, 7, None)];
        assert!(!check(&p, &purpose("improvement"), &other, NOW).allowed);
    }
}
