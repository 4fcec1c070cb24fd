//! What changed between two policies: a summary in the policy's own terms (purposes, bases,
//! recipients, cookies, retention, the data map) and a line diff of the files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ombud_domain::datamap::{Collection, MappedSystem};
use ombud_domain::policy::*;

use crate::source::PolicySource;

/// The changes a privacy officer cares about, one line each, in a stable order.
pub fn summary(old: &Policy, new: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    keyed(
        &mut out,
        "purpose",
        &by_id(&old.purposes, |p| p.id.as_str()),
        &by_id(&new.purposes, |p| p.id.as_str()),
        |a, b, out| {
            if a.legal_bases != b.legal_bases {
                out.push(format!(
                    "legal basis {} → {}",
                    keys(&a.legal_bases),
                    keys(&b.legal_bases)
                ));
            }
            if a.data_categories != b.data_categories {
                out.push("data categories changed".into());
            }
            if a.recipients != b.recipients {
                out.push(format!(
                    "recipients {} → {}",
                    ids(&a.recipients),
                    ids(&b.recipients)
                ));
            }
            if a.retention != b.retention {
                out.push("retention rule changed".into());
            }
            if a.description != b.description || a.name != b.name {
                out.push("wording changed".into());
            }
        },
    );
    keyed(
        &mut out,
        "recipient",
        &by_id(&old.recipients, |r| r.id.as_str()),
        &by_id(&new.recipients, |r| r.id.as_str()),
        |a, b, out| {
            if a.countries != b.countries {
                out.push(format!(
                    "countries {} → {}",
                    a.countries.join(", "),
                    b.countries.join(", ")
                ));
            }
            let mech = |r: &Recipient| {
                r.transfer
                    .as_ref()
                    .map_or("none".to_owned(), |t| t.mechanism.key().to_owned())
            };
            if mech(a) != mech(b) {
                out.push(format!("transfer mechanism {} → {}", mech(a), mech(b)));
            }
            if a.role != b.role {
                out.push(format!("role {} → {}", a.role, b.role));
            }
        },
    );
    keyed(
        &mut out,
        "retention rule",
        &by_id(&old.retention, |r| r.id.as_str()),
        &by_id(&new.retention, |r| r.id.as_str()),
        |a, b, out| {
            let keep = |r: &RetentionRule| {
                r.keep.map_or("criteria only".to_owned(), |p| {
                    format!("{p} after {}", r.after)
                })
            };
            if keep(a) != keep(b) {
                out.push(format!("{} → {}", keep(a), keep(b)));
            }
        },
    );
    keyed(
        &mut out,
        "cookie",
        &by_id(&old.cookies, |c| c.name.as_str()),
        &by_id(&new.cookies, |c| c.name.as_str()),
        |a, b, out| {
            if a.category != b.category {
                out.push(format!("category {} → {}", a.category, b.category));
            }
            if a.lifetime != b.lifetime {
                out.push(format!("duration {} → {}", a.lifetime, b.lifetime));
            }
        },
    );
    keyed(
        &mut out,
        "collection point",
        &by_id(&old.collection_points, |c| c.id.as_str()),
        &by_id(&new.collection_points, |c| c.id.as_str()),
        |a, b, out| {
            let wording = |c: &CollectionPoint| {
                c.consents
                    .iter()
                    .map(|i| i.wording.clone())
                    .collect::<Vec<_>>()
            };
            if wording(a) != wording(b) {
                out.push("consent wording changed".into());
            }
        },
    );
    keyed(
        &mut out,
        "system",
        &by_id(&old.data_map.systems, |s| s.system.as_str()),
        &by_id(&new.data_map.systems, |s| s.system.as_str()),
        |a, b, out| {
            if a.connector != b.connector {
                out.push(format!("connector {} → {}", a.connector, b.connector));
            }
            let (ta, tb) = (tables(a), tables(b));
            for (name, c) in &ta {
                match tb.get(name) {
                    None => out.push(format!("table `{name}` removed")),
                    Some(d) if c != d => out.push(format!("table `{name}` changed")),
                    Some(_) => {}
                }
            }
            for name in tb.keys().filter(|n| !ta.contains_key(*n)) {
                out.push(format!("table `{name}` added"));
            }
            if a.instructions != b.instructions {
                out.push("instructions changed".into());
            }
        },
    );
    if old.data_map.erasure != new.data_map.erasure {
        out.push("erasure rules changed".into());
    }
    if old.rights.working_days != new.rights.working_days {
        out.push(format!(
            "promised response time {} → {} working days",
            old.rights.working_days, new.rights.working_days
        ));
    }
    if old.notice.last_updated != new.notice.last_updated {
        out.push(format!(
            "notice date {} → {}",
            old.notice.last_updated, new.notice.last_updated
        ));
    }
    out
}

fn tables(s: &MappedSystem) -> BTreeMap<&str, &Collection> {
    s.collections.iter().map(|c| (c.name.as_str(), c)).collect()
}

fn by_id<T>(items: &[T], id: impl Fn(&T) -> &str) -> BTreeMap<String, &T> {
    items.iter().map(|t| (id(t).to_owned(), t)).collect()
}

fn keyed<T>(
    out: &mut Vec<String>,
    what: &str,
    old: &BTreeMap<String, &T>,
    new: &BTreeMap<String, &T>,
    compare: impl Fn(&T, &T, &mut Vec<String>),
) {
    for (id, a) in old {
        match new.get(id) {
            None => out.push(format!("{what} `{id}` removed")),
            Some(b) => {
                let mut changes = Vec::new();
                compare(a, b, &mut changes);
                if !changes.is_empty() {
                    out.push(format!("{what} `{id}`: {}", changes.join("; ")));
                }
            }
        }
    }
    for id in new.keys().filter(|id| !old.contains_key(*id)) {
        out.push(format!("{what} `{id}` added"));
    }
}

fn keys(bases: &[LegalBasis]) -> String {
    if bases.is_empty() {
        "(none)".into()
    } else {
        bases.iter().map(|b| b.key()).collect::<Vec<_>>().join(", ")
    }
}

fn ids<K>(list: &[Id<K>]) -> String {
    if list.is_empty() {
        "(none)".into()
    } else {
        list.iter().map(Id::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// A unified diff of the files, matched by file name.
pub fn text_diff(old: &PolicySource, new: &PolicySource) -> String {
    let name = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned();
    let old_files: BTreeMap<String, &str> = old
        .files
        .iter()
        .map(|f| (name(&f.path), f.text.as_str()))
        .collect();
    let new_files: BTreeMap<String, &str> = new
        .files
        .iter()
        .map(|f| (name(&f.path), f.text.as_str()))
        .collect();
    let mut names: Vec<&String> = old_files.keys().chain(new_files.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = String::new();
    for n in names {
        let a = old_files.get(n).copied().unwrap_or("");
        let b = new_files.get(n).copied().unwrap_or("");
        if a != b {
            let diff = similar::TextDiff::from_lines(a, b);
            let _ = write!(
                out,
                "{}",
                diff.unified_diff()
                    .context_radius(2)
                    .header(&format!("a/{n}"), &format!("b/{n}"))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{example, load};

    #[test]
    fn names_added_removed_and_changed_items() {
        let today = jiff::civil::date(2026, 11, 29);
        let old = example::impero();
        let mut new = old.clone();
        for f in &mut new.files {
            f.text = f
                .text
                .replace("    keep: 30 days\n", "    keep: 14 days\n")
                .replace(
                    "  hotjar:\n    name: Hotjar\n    role: processor",
                    "  hotjar:\n    name: Hotjar\n    role: sub_processor",
                )
                .replace("identity: phone, type: text", "type: text")
                .replace("    user.name: {fixed: erased}\n", "");
        }
        let a = load(old.clone(), today).unwrap();
        let b = load(new.clone(), today).unwrap();
        let s = summary(&a.policy, &b.policy);
        assert_eq!(
            s,
            vec![
                "recipient `hotjar`: role processor → sub_processor",
                "retention rule `office_visits`: 30 days after visit → 14 days after visit",
                "system `trial_db`: table `trial_user` changed",
                "erasure rules changed"
            ]
        );
        let text = text_diff(&old, &new);
        assert!(
            text.contains("-    keep: 30 days\n+    keep: 14 days\n"),
            "{text}"
        );
        assert!(summary(&a.policy, &a.policy).is_empty());
    }
}
