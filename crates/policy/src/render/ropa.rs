//! The record of processing activities of GDPR Art. 30(1): one activity per purpose, with every
//! field the article lists (and the legal basis, sources and systems, which supervisory
//! authorities ask for alongside).

use ombud_domain::policy::*;
use serde::Serialize;

use super::doc::{Doc, email, strong, text};
use super::{bases_text, long_date, retention_text, transfer_text};

/// Output format of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopaFormat {
    Csv,
    Json,
    Markdown,
}

/// The record, in the shape of the JSON output.
#[derive(Debug, Serialize)]
pub struct Record {
    /// Art. 30(1)(a): name and contact details of the controller.
    pub controller: String,
    /// Art. 30(1)(a): the data protection officer or contact point.
    pub contact_point: String,
    pub notice_last_updated: String,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Serialize)]
pub struct Activity {
    pub id: String,
    pub name: String,
    /// Art. 30(1)(b).
    pub purpose: String,
    pub legal_basis: String,
    pub legitimate_interest: String,
    /// Art. 30(1)(c).
    pub data_subjects: Vec<String>,
    /// Art. 30(1)(c).
    pub data_categories: Vec<String>,
    /// Art. 30(1)(d), including recipients in third countries.
    pub recipients: Vec<String>,
    /// Art. 30(1)(e): third countries and the safeguards.
    pub transfers: Vec<String>,
    /// Art. 30(1)(f): time limits for erasure.
    pub retention: String,
    /// Art. 30(1)(g): technical and organisational security measures.
    pub security_measures: Vec<String>,
    pub sources: Vec<String>,
    pub systems: Vec<String>,
    pub profiling: bool,
    pub automated_decisions: String,
}

/// Builds the record.
pub fn record(p: &Policy) -> Record {
    let c = &p.controller;
    let controller = format!(
        "{}, {}, {}{}",
        c.name,
        c.address.join(", "),
        c.email,
        c.phone
            .as_ref()
            .map(|ph| format!(", {ph}"))
            .unwrap_or_default()
    );
    let cp = &p.contact_point;
    let contact_point = format!(
        "{}{}{}",
        cp.title,
        cp.name
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        format_args!(", {}", cp.email)
    );
    let measures: Vec<String> = p.security.measures.iter().map(|m| m.name.clone()).collect();
    let activities = p
        .purposes
        .iter()
        .map(|pu| {
            let recipients: Vec<&Recipient> = p.recipients_of(pu).collect();
            Activity {
                id: pu.id.to_string(),
                name: pu.name.clone(),
                purpose: pu.description.clone(),
                legal_basis: bases_text(pu).unwrap_or_else(|| "Not stated".into()),
                legitimate_interest: pu.legitimate_interest.clone().unwrap_or_default(),
                data_subjects: pu
                    .data_subjects
                    .iter()
                    .filter_map(|s| p.subject_category(s))
                    .map(|s| s.name.clone())
                    .collect(),
                data_categories: pu
                    .data_categories
                    .iter()
                    .map(|k| format!("{} ({k})", p.category_name(k)))
                    .collect(),
                recipients: recipients
                    .iter()
                    .map(|r| {
                        format!(
                            "{} ({}; {})",
                            r.name,
                            r.role.label().to_lowercase(),
                            r.countries.join(", ")
                        )
                    })
                    .collect(),
                transfers: recipients
                    .iter()
                    .filter_map(|r| transfer_text(r).map(|t| format!("{}: {t}", r.name)))
                    .collect(),
                retention: pu
                    .retention
                    .as_ref()
                    .and_then(|id| p.retention_rule(id))
                    .map_or_else(|| "Not stated".into(), |r| retention_text(p, r)),
                security_measures: measures.clone(),
                sources: pu
                    .sources
                    .iter()
                    .filter_map(|s| p.source(s))
                    .map(|s| s.name.clone())
                    .collect(),
                systems: pu
                    .systems
                    .iter()
                    .filter_map(|s| p.system(s))
                    .map(|s| s.name.clone())
                    .collect(),
                profiling: pu.profiling,
                automated_decisions: pu
                    .automated_decisions
                    .clone()
                    .unwrap_or_else(|| "None".into()),
            }
        })
        .collect();
    Record {
        controller,
        contact_point,
        notice_last_updated: p.notice.last_updated.to_string(),
        activities,
    }
}

/// The record in the given format.
pub fn render(p: &Policy, format: RopaFormat) -> String {
    let r = record(p);
    match format {
        RopaFormat::Json => {
            let mut s = serde_json::to_string_pretty(&r).unwrap_or_default();
            s.push('\n');
            s
        }
        RopaFormat::Csv => csv(&r),
        RopaFormat::Markdown => markdown(p, &r).to_markdown(),
    }
}

/// The record as an HTML fragment: the body of the Markdown rendering's page (for the
/// console, whose page has its own head).
pub fn html_fragment(p: &Policy) -> String {
    let page = markdown(p, &record(p)).to_html();
    let start = page.find("<main>").map_or(0, |i| i + "<main>".len());
    let end = page.rfind("</main>").unwrap_or(page.len());
    page.get(start..end).unwrap_or_default().to_owned()
}

const COLUMNS: [&str; 17] = [
    "Controller (Art. 30(1)(a))",
    "Contact point (Art. 30(1)(a))",
    "Activity id",
    "Activity",
    "Purpose (Art. 30(1)(b))",
    "Legal basis (Art. 6(1))",
    "Legitimate interest",
    "Data subjects (Art. 30(1)(c))",
    "Personal data (Art. 30(1)(c))",
    "Recipients (Art. 30(1)(d))",
    "Transfers to third countries and safeguards (Art. 30(1)(e))",
    "Time limits for erasure (Art. 30(1)(f))",
    "Security measures (Art. 30(1)(g))",
    "Sources",
    "Systems",
    "Profiling",
    "Automated decisions",
];

fn csv(r: &Record) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = |row: Vec<String>| w.write_record(&row).is_ok();
    let mut ok = write(COLUMNS.iter().map(|s| (*s).to_owned()).collect());
    for a in &r.activities {
        ok &= write(vec![
            r.controller.clone(),
            r.contact_point.clone(),
            a.id.clone(),
            a.name.clone(),
            a.purpose.clone(),
            a.legal_basis.clone(),
            a.legitimate_interest.clone(),
            a.data_subjects.join("; "),
            a.data_categories.join("; "),
            a.recipients.join("; "),
            a.transfers.join("; "),
            a.retention.clone(),
            a.security_measures.join("; "),
            a.sources.join("; "),
            a.systems.join("; "),
            if a.profiling {
                "yes".into()
            } else {
                "no".into()
            },
            a.automated_decisions.clone(),
        ]);
    }
    // Writing to memory cannot fail; an error would leave a short file that the CSV tests catch.
    let _ = ok;
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

fn markdown(p: &Policy, r: &Record) -> Doc {
    let mut d = Doc::new(
        format!("Record of processing activities: {}", p.controller.name),
        &p.notice.language,
    );
    d.para(vec![strong("Controller: "), text(r.controller.as_str())]);
    d.para(vec![
        strong("Contact point: "),
        text(format!("{}, ", p.contact_point.title)),
        email(p.contact_point.email.as_str()),
    ]);
    d.para(vec![text(format!(
        "Generated from the policy whose notice was last updated on {}. One activity per purpose (GDPR Art. 30(1)).",
        long_date(p.notice.last_updated)
    ))]);
    for a in &r.activities {
        d.h2(a.name.as_str());
        let rows = vec![
            vec!["Purpose (b)".into(), a.purpose.clone()],
            vec!["Legal basis".into(), a.legal_basis.clone()],
            vec!["Legitimate interest".into(), a.legitimate_interest.clone()],
            vec!["Data subjects (c)".into(), a.data_subjects.join("; ")],
            vec!["Personal data (c)".into(), a.data_categories.join("; ")],
            vec!["Recipients (d)".into(), a.recipients.join("; ")],
            vec![
                "Transfers and safeguards (e)".into(),
                if a.transfers.is_empty() {
                    "None".into()
                } else {
                    a.transfers.join("; ")
                },
            ],
            vec!["Time limits for erasure (f)".into(), a.retention.clone()],
            vec![
                "Security measures (g)".into(),
                a.security_measures.join("; "),
            ],
            vec!["Sources".into(), a.sources.join("; ")],
            vec!["Systems".into(), a.systems.join("; ")],
            vec![
                "Profiling".into(),
                if a.profiling {
                    "Yes".into()
                } else {
                    "No".into()
                },
            ],
            vec!["Automated decisions".into(), a.automated_decisions.clone()],
        ];
        d.table(&["Field (Art. 30(1))", "Entry"], rows);
    }
    d
}
