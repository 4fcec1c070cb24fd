//! The legal weak spots that can be seen from the policy alone. Each finding is a warning: the
//! policy is still usable, and ombud itself does what the law asks (a reject button, no implied
//! consent, consent before marketing e-mail) whatever the wording says.

use jiff::civil::{Date, date};
use ombud_domain::datamap::CollectionRef;
use ombud_domain::policy::*;
use regex::Regex;

use crate::diagnostic::Diagnostic;
use crate::resolve::Locations;
use crate::source::PolicySource;
use crate::span::Loc;

/// The day the CJEU decided *Schrems II* (C-311/18): transfer assessments made before it need
/// redoing.
const SCHREMS_II: Date = date(2020, 7, 16);

/// Runs every check. `today` decides which review dates have passed.
pub fn lint(
    policy: &Policy,
    locs: &Locations,
    source: &PolicySource,
    today: Date,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    purposes(policy, locs, &mut out);
    transfers(policy, locs, today, &mut out);
    retention(policy, locs, &mut out);
    cookies(policy, locs, &mut out);
    consent_items(policy, locs, &mut out);
    rights(policy, locs, &mut out);
    sources(policy, locs, &mut out);
    unused_recipients(policy, locs, &mut out);
    data_map(policy, locs, &mut out);
    wording(source, &mut out);
    out
}

fn purposes(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for p in &policy.purposes {
        let at = locs.get(&format!("purposes.{}", p.id));
        let basis_at = locs.get(&format!("purposes.{}.legal_basis", p.id));
        if p.legal_bases.is_empty() {
            out.push(
                Diagnostic::warning("no-legal-basis", at, format!("purpose `{}` ({}) states no legal basis", p.id, p.name))
                    .help("add `legal_basis:`; ombud will not record processing for this purpose as lawful until it has one")
                    .why("GDPR Art. 6(1) and 13(1)(c): every purpose needs a legal basis, and the notice must state it"),
            );
        }
        if p.relies_on(LegalBasis::LegitimateInterests)
            && p.legitimate_interest
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            out.push(
                Diagnostic::warning("li-without-reasoning", basis_at, format!("purpose `{}` relies on legitimate interests but does not say which interest", p.id))
                    .help("add `legitimate_interest:` with the interest pursued (and keep the balancing test on file)")
                    .why("GDPR Art. 13(1)(d): the notice must state the legitimate interests pursued"),
            );
        }
        if p.relies_on(LegalBasis::Consent) && !consent_capturable(policy, p) {
            out.push(
                Diagnostic::warning("consent-not-capturable", basis_at, format!("purpose `{}` relies on consent, but nothing captures that consent", p.id))
                    .help("list the purpose in a cookie category, add a consent tick box for it to a collection point, or set `consent_channels:` (e.g. phone, email)")
                    .why("GDPR Art. 7(1): the controller must be able to demonstrate consent"),
            );
        }
        if p.relies_on(LegalBasis::LegitimateInterests) {
            let channels: Vec<&str> = p
                .marketing_channels
                .iter()
                .filter(|c| c.needs_prior_consent())
                .map(|c| c.key())
                .collect();
            if !channels.is_empty() {
                out.push(
                    Diagnostic::warning(
                        "email-marketing-on-li",
                        locs.get(&format!("purposes.{}.marketing_channels", p.id)),
                        format!("purpose `{}` sends {} marketing on legitimate interests", p.id, channels.join(" and ")),
                        )
                        .help("rely on consent for e-mail and SMS marketing (soft opt-in only for existing customers and similar products); ombud checks for consent before every send whatever the policy says")
                        .why("Danish Marketing Practices Act §10(1) and ePrivacy Directive Art. 13: prior consent, business recipients included"),
                );
            }
        }
        if p.relies_on(LegalBasis::Contract) {
            let text = format!(
                "{} {}",
                p.description,
                p.basis_note.as_deref().unwrap_or_default()
            )
            .to_lowercase();
            if text.contains("employer") {
                out.push(
                    Diagnostic::warning("contract-with-employer", basis_at, format!("purpose `{}` relies on a contract with the person's employer", p.id))
                        .help("Art. 6(1)(b) covers contracts with the data subject; for a customer's staff the usual basis is legitimate interests, with the interest stated")
                        .why("GDPR Art. 6(1)(b)"),
                );
            }
        }
    }
}

fn consent_capturable(policy: &Policy, p: &Purpose) -> bool {
    !p.consent_channels.is_empty()
        || policy
            .cookie_categories
            .iter()
            .any(|c| c.purposes.contains(&p.id))
        || policy
            .collection_points
            .iter()
            .flat_map(|c| &c.consents)
            .any(|c| c.purpose == p.id)
}

fn transfers(policy: &Policy, locs: &Locations, today: Date, out: &mut Vec<Diagnostic>) {
    for r in &policy.recipients {
        let third: Vec<&str> = r.third_countries().collect();
        if third.is_empty() {
            continue;
        }
        let at = locs.get(&format!("recipients.{}.transfer", r.id));
        let Some(t) = &r.transfer else {
            out.push(
                Diagnostic::warning("transfer-without-mechanism", at, format!("recipient `{}` processes data in {} (outside the EEA) with no transfer mechanism", r.id, third.join(", ")))
                    .help("add `transfer:` with `mechanism:` (adequacy, dpf, scc, bcr or derogation) and a review date")
                    .why("GDPR Art. 44–46 and 13(1)(f)"),
            );
            continue;
        };
        let overdue = t.review_by.filter(|due| *due < today);
        if matches!(t.mechanism, TransferMechanism::Scc | TransferMechanism::Bcr)
            && t.reviewed.is_none_or(|d| d < SCHREMS_II)
        {
            let when = t
                .reviewed
                .map_or("never".to_owned(), |d| format!("last on {d}"));
            let due = overdue
                .map(|d| format!("; its review was due on {d}"))
                .unwrap_or_default();
            out.push(
                Diagnostic::warning("transfer-assessment-outdated", at, format!("the transfer to `{}` relies on {} assessed {when}, before Schrems II (16 July 2020){due}", r.id, t.mechanism.key()))
                    .help("do a transfer impact assessment, or check whether the importer is certified under the EU-US Data Privacy Framework, then set `reviewed:` and `review_by:`")
                    .why("CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020"),
            );
        } else if let Some(due) = overdue {
            out.push(
                Diagnostic::warning(
                    "transfer-review-overdue",
                    at,
                    format!("the transfer review for `{}` was due on {due}", r.id),
                )
                .help("review the mechanism and set new `reviewed:` and `review_by:` dates")
                .why("GDPR Art. 5(2) and 24: safeguards must stay effective"),
            );
        }
    }
}

fn retention(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for p in &policy.purposes {
        if p.retention.is_none() && !p.data_categories.is_empty() {
            out.push(
                Diagnostic::warning(
                    "no-retention",
                    locs.get(&format!("purposes.{}", p.id)),
                    format!("purpose `{}` keeps data with no retention rule", p.id),
                )
                .help("set `retention:` to a rule under `retention:`")
                .why("GDPR Art. 5(1)(e), 13(2)(a) and 30(1)(f)"),
            );
        }
    }
    for r in &policy.retention {
        if r.keep.is_none() {
            out.push(
                Diagnostic::warning("retention-without-period", locs.get(&format!("retention.{}", r.id)), format!("retention rule `{}` states criteria but no period", r.id))
                    .help("add `keep:` (e.g. `24 months`) so ombud can enforce it; the criteria stay in the notice")
                    .why("GDPR Art. 5(1)(e): storage limitation has to be enforced, not only described"),
            );
        }
    }
}

fn cookies(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for c in policy.cookie_categories.iter().filter(|c| !c.necessary) {
        for pid in &c.purposes {
            let Some(p) = policy.purpose(pid) else {
                continue;
            };
            let other: Vec<&str> = p
                .legal_bases
                .iter()
                .filter(|b| **b != LegalBasis::Consent)
                .map(|b| b.key())
                .collect();
            if !other.is_empty() || p.legal_bases.is_empty() {
                let bases = if other.is_empty() {
                    "no basis".to_owned()
                } else {
                    other.join(" and ")
                };
                out.push(
                    Diagnostic::warning(
                        "cookies-not-on-consent",
                        locs.get(&format!("cookie_categories.{}", c.id)),
                        format!("cookie category `{}` is not strictly necessary, but its purpose `{}` rests on {bases}", c.id, p.id),
                    )
                    .help(format!("rely on consent alone for `{}` where it reads or stores on the device; the banner blocks these cookies until consent in any case", p.id))
                    .why("ePrivacy Directive Art. 5(3): non-necessary cookies need consent whatever the GDPR basis; Datatilsynet, DMI decision of 11 February 2020"),
                );
            }
        }
    }
}

fn consent_items(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for cp in &policy.collection_points {
        for item in &cp.consents {
            let at = locs.get(&format!("collection_points.{}.consents.{}", cp.id, item.id));
            if item.required {
                out.push(
                    Diagnostic::warning(
                        "required-consent",
                        at,
                        format!(
                            "consent `{}` of `{}` is required to send the form",
                            item.id, cp.id
                        ),
                    )
                    .help("make the tick box optional (`required: false`)")
                    .why("GDPR Art. 7(4): consent is not free when a service depends on it"),
                );
            }
            if item.checked_by_default {
                out.push(
                    Diagnostic::warning(
                        "pre-ticked-consent",
                        at,
                        format!("consent `{}` of `{}` starts ticked", item.id, cp.id),
                    )
                    .help("set `checked_by_default: false`")
                    .why("CJEU C-673/17 (Planet49): a pre-ticked box is not consent"),
                );
            }
            if policy
                .purpose(&item.purpose)
                .is_some_and(|p| !p.relies_on(LegalBasis::Consent))
            {
                out.push(
                    Diagnostic::warning("consent-for-non-consent-purpose", at, format!("consent `{}` grants purpose `{}`, which does not rely on consent", item.id, item.purpose))
                        .help("add `consent` to the purpose's `legal_basis`, or remove the tick box")
                        .why("EDPB Guidelines 05/2020: asking for consent while relying on another basis misleads people"),
                );
            }
        }
    }
}

fn rights(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    let missing: Vec<&str> = Right::all()
        .iter()
        .filter(|r| policy.rights.terms(**r).is_none())
        .map(|r| r.key())
        .collect();
    if !missing.is_empty() {
        out.push(
            Diagnostic::warning(
                "missing-right",
                locs.get("rights.offered"),
                format!(
                    "the notice does not describe the right(s): {}",
                    missing.join(", ")
                ),
            )
            .help("add them under `rights.offered`")
            .why("GDPR Art. 13(2)(b)"),
        );
    }
}

fn sources(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for s in &policy.sources {
        let indirect = matches!(
            s.kind,
            SourceKind::ThirdParty | SourceKind::PubliclyAvailable
        );
        let used = policy.purposes.iter().any(|p| p.sources.contains(&s.id));
        if indirect && used && s.art14_notice.is_none() {
            out.push(
                Diagnostic::warning("no-art14-notice", locs.get(&format!("sources.{}", s.id)), format!("people whose data comes from `{}` are not told so", s.id))
                    .help("set `art14_notice:` to how they are informed, e.g. with the first e-mail, which must also offer the objection clearly and separately")
                    .why("GDPR Art. 14(3) (within one month, or at the first communication) and 21(4)"),
            );
        }
    }
}

fn unused_recipients(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    for r in &policy.recipients {
        let used = r.all_purposes || policy.purposes.iter().any(|p| p.recipients.contains(&r.id));
        if !used {
            out.push(
                Diagnostic::warning("unused-recipient", locs.get(&format!("recipients.{}", r.id)), format!("recipient `{}` is not listed by any purpose", r.id))
                    .help("list it under the `recipients:` of the purposes it serves, or set `all_purposes: true`")
                    .why("GDPR Art. 30(1)(d): the record names the recipients of each activity"),
            );
        }
    }
}

/// Systems that requests cannot be carried out in: a manual one nobody knows how to handle, a
/// database with no way to find a person, and tables of personal data no identity leads to.
fn data_map(policy: &Policy, locs: &Locations, out: &mut Vec<Diagnostic>) {
    let reached = policy.data_map.reachable_from_identities();
    for s in &policy.data_map.systems {
        let at = locs.get(&format!("systems.{}", s.system));
        let uninstructed = s
            .instructions
            .as_deref()
            .is_none_or(|t| t.trim().is_empty());
        if s.connector == ConnectorKind::Manual && uninstructed {
            let users: Vec<String> = policy
                .purposes
                .iter()
                .filter(|p| p.systems.contains(&s.system))
                .map(|p| format!("`{}`", p.id))
                .collect();
            if !users.is_empty() {
                out.push(
                    Diagnostic::warning("manual-system-without-instructions", at, format!("system `{}` has no connector and no `instructions`, but {} keep data in it", s.system, users.join(", ")))
                        .help("add `instructions:` saying how staff find, export, correct, restrict and erase a person's data there; each request becomes a task for them with these instructions")
                        .why("GDPR Art. 12(3) and 15–21: a request covers the person's data in every system"),
                );
            }
        }
        if s.collections.is_empty() {
            continue;
        }
        let at_collection = |name: &str| CollectionRef {
            system: s.system.clone(),
            collection: name.to_owned(),
        };
        let has_identity = s
            .collections
            .iter()
            .flat_map(|c| &c.fields)
            .any(|f| f.identity.is_some());
        let any_reached = s
            .collections
            .iter()
            .any(|c| reached.contains(&at_collection(&c.name)));
        if !has_identity && !any_reached {
            out.push(
                Diagnostic::warning("no-identity-field", at, format!("system `{}` has no identity field: requests cannot find anyone here", s.system))
                    .help("mark the column that holds a person's e-mail address, phone number or customer id with `identity:`, or reference one of its tables from a system that has one")
                    .why("GDPR Art. 15 and 17: access and erasure cover all of the person's data"),
            );
            continue;
        }
        for c in &s.collections {
            if reached.contains(&at_collection(&c.name)) {
                continue;
            }
            let personal: Vec<String> = c
                .fields
                .iter()
                .filter(|f| {
                    f.categories
                        .iter()
                        .any(|k| k.as_str() == "user" || k.as_str().starts_with("user."))
                })
                .map(|f| format!("`{}`", f.name))
                .collect();
            if !personal.is_empty() {
                out.push(
                    Diagnostic::warning(
                        "unreachable-personal-data",
                        locs.get(&format!("systems.{}.collections.{}", s.system, c.name)),
                        format!("collection `{}:{}` holds personal data ({}) that no identity leads to", s.system, c.name, personal.join(", ")),
                    )
                    .help("add a reference from one of its columns to a table that requests reach (e.g. `user_id` to the users' `id`, direction `from`), or mark a column as `identity:`")
                    .why("GDPR Art. 15 and 17: access and erasure cover all of the person's data"),
                );
            }
        }
    }
}

/// A pattern in the notice's wording that signals a legal weak spot.
struct WordingRule {
    code: &'static str,
    pattern: &'static str,
    message: &'static str,
    help: &'static str,
    why: &'static str,
}

const WORDING: &[WordingRule] = &[
    WordingRule {
        code: "implied-consent-wording",
        pattern: r"(?i)continued\s+use|by\s+(continuing\s+to\s+)?(using|browsing)|signify\s+that\s+you\s+agree",
        message: "the wording treats continued use as agreement",
        help: "say that changes are announced, and ask for consent again where a change needs it; ombud never infers consent from use",
        why: "EDPB Guidelines 05/2020, para. 86: continued browsing is never a clear affirmative act",
    },
    WordingRule {
        code: "browser-settings-as-consent",
        pattern: r"(?i)web\s+browsers\s+will\s+allow\s+you|instructions\s+for\s+cookie\s+controls|through\s+your\s+browser\s+settings",
        message: "the wording points to browser settings as the way to refuse cookies",
        help: "point to the banner's reject button and the cookie settings link; browser settings can stay as extra information",
        why: "ePrivacy Art. 5(3); Datatilsynet (DMI decision, 11 February 2020): refusing must be as easy as accepting",
    },
    WordingRule {
        code: "cookies-not-personal-data",
        pattern: r"(?i)cookies\s+cannot\s+see\s+personal\s+information",
        message: "the wording says cookies hold no personal information",
        help: "cookie ids and IP addresses are personal data; describe what the cookies hold instead",
        why: "GDPR Recital 30 and Art. 4(1); Datatilsynet's guidance on cookies",
    },
    WordingRule {
        code: "fee-wording",
        pattern: r"(?i)unreasonable\s+or\s+repetitive",
        message: "the fee condition \"unreasonable or repetitive\" is not the legal test",
        help: "use \"manifestly unfounded or excessive\"; the first copy is always free (ombud applies the legal test)",
        why: "GDPR Art. 12(5) and 15(3)",
    },
    WordingRule {
        code: "response-time-floor",
        pattern: r"(?i)at\s+least\s+\d+\s+working\s+days",
        message: "the response time is stated as a minimum, not a promise",
        help: "promise an answer within the working days, and at the latest within one month; ombud tracks both deadlines",
        why: "GDPR Art. 12(3): without undue delay and within one month",
    },
];

fn wording(source: &PolicySource, out: &mut Vec<Diagnostic>) {
    for rule in WORDING {
        // The patterns are constants covered by tests; a bad one is skipped, never a panic.
        let Ok(re) = Regex::new(rule.pattern) else {
            continue;
        };
        for (file, f) in source.files.iter().enumerate() {
            // One finding per passage: two phrases of the same rule close together are one
            // weak spot, not two.
            let mut last_end: Option<usize> = None;
            for m in re.find_iter(&f.text) {
                if is_comment(&f.text, m.start())
                    || last_end.is_some_and(|end| m.start() < end + NEARBY)
                {
                    continue;
                }
                last_end = Some(m.end());
                let loc = offset_to_loc(file, &f.text, m.start());
                out.push(
                    Diagnostic::warning(rule.code, loc, rule.message)
                        .help(rule.help)
                        .why(rule.why),
                );
            }
        }
    }
}

/// Bytes within which a second match of a rule counts as the same finding.
const NEARBY: usize = 300;

fn offset_to_loc(file: usize, text: &str, offset: usize) -> Loc {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    Loc {
        file,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

/// Whether the byte at `offset` sits in a YAML comment (after a `#` that starts the line or
/// follows whitespace).
fn is_comment(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];
    line.char_indices()
        .any(|(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_patterns_compile() {
        for rule in WORDING {
            assert!(Regex::new(rule.pattern).is_ok(), "{}", rule.code);
        }
    }

    #[test]
    fn wording_is_found_across_lines_but_not_in_comments() {
        let text = "a: >\n  Continued use of the\n  website\n# continued use in a comment\nb: at least 7\n  working days\n";
        let src = PolicySource::from_texts([("p.yaml", text)]);
        let mut out = Vec::new();
        wording(&src, &mut out);
        let found: Vec<(&str, u32, u32)> = out
            .iter()
            .map(|d| (d.code, d.loc.line, d.loc.col))
            .collect();
        assert_eq!(
            found,
            vec![
                ("implied-consent-wording", 2, 3),
                ("response-time-floor", 5, 4)
            ]
        );
    }
}
