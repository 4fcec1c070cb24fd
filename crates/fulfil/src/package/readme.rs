//! `README.html`: the manifest for people. One self-contained page (inline CSS, no scripts, no
//! external resources), in the request's language, rendered by minijinja with HTML
//! auto-escaping: policy text and names from databases are untrusted here.

use std::sync::OnceLock;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;

use super::PackageError;
use super::manifest::{Manifest, PackageRight};
use super::text::{self, Lang};

const NAME: &str = "README.html";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // Compiled into the binary and rendered by the tests: a broken template is a build
        // defect and shows up as a render error.
        let _ = env.add_template(NAME, include_str!("readme.html"));
        env
    })
}

#[derive(Serialize)]
struct CollectionView<'a> {
    system: &'a str,
    collection: &'a str,
    rows: u64,
    columns: usize,
    json_file: &'a str,
    csv_file: &'a str,
}

#[derive(Serialize)]
struct PurposeView<'a> {
    name: &'a str,
    description: &'a str,
    bases: String,
    basis_note: Option<&'a str>,
    legitimate_interest: Option<&'a str>,
    categories: Vec<&'a str>,
    recipients: Vec<&'a str>,
    retention: Option<&'a str>,
    sources: Vec<&'a str>,
    profiling: bool,
    automated_decisions: Option<&'a str>,
}

#[derive(Serialize)]
struct RecipientView<'a> {
    name: &'a str,
    role: &'a str,
    countries: String,
    transfer: String,
    circumstances: Option<&'a str>,
}

/// Renders the page for a manifest whose collections are complete.
pub(crate) fn render(m: &Manifest) -> Result<String, PackageError> {
    let lang = m.lang();
    let t = text::readme(lang);
    let collections: Vec<CollectionView<'_>> = m
        .collections
        .iter()
        .map(|c| CollectionView {
            system: c.system_name.as_deref().unwrap_or(&c.system),
            collection: &c.collection,
            rows: c.rows,
            columns: c.columns.len(),
            json_file: &c.json_file,
            csv_file: &c.csv_file,
        })
        .collect();
    let purposes: Vec<PurposeView<'_>> = m
        .purposes
        .iter()
        .map(|p| PurposeView {
            name: &p.name,
            description: &p.description,
            bases: if p.legal_bases.is_empty() {
                "–".to_owned()
            } else {
                p.legal_bases
                    .iter()
                    .map(|b| format!("{} ({})", b.label, b.article))
                    .collect::<Vec<_>>()
                    .join(match lang {
                        Lang::En => " or ",
                        Lang::Da => " eller ",
                    })
            },
            basis_note: p.basis_note.as_deref(),
            legitimate_interest: p.legitimate_interest.as_deref(),
            categories: p
                .data_categories
                .iter()
                .map(|k| {
                    m.data_categories
                        .iter()
                        .find(|c| &c.key == k)
                        .map_or(k.as_str(), |c| c.name.as_str())
                })
                .collect(),
            recipients: p
                .recipients
                .iter()
                .map(|id| {
                    m.recipients
                        .iter()
                        .find(|r| &r.id == id)
                        .map_or(id.as_str(), |r| r.name.as_str())
                })
                .collect(),
            retention: p.retention_text.as_deref(),
            sources: p
                .sources
                .iter()
                .map(|id| {
                    m.sources
                        .iter()
                        .find(|s| &s.id == id)
                        .map_or(id.as_str(), |s| s.name.as_str())
                })
                .collect(),
            profiling: p.profiling,
            automated_decisions: p.automated_decisions.as_deref(),
        })
        .collect();
    let recipients: Vec<RecipientView<'_>> = m
        .recipients
        .iter()
        .map(|r| RecipientView {
            name: &r.name,
            role: &r.role_label,
            countries: r.countries.join(", "),
            transfer: if r.countries.is_empty() {
                t.not_stated.to_owned()
            } else if r.third_countries.is_empty() {
                t.within_eea.to_owned()
            } else {
                format!(
                    "{}: {}",
                    r.third_countries.join(", "),
                    r.transfer
                        .as_ref()
                        .map_or(t.no_safeguard, |x| x.label.as_str())
                )
            },
            circumstances: r.circumstances.as_deref(),
        })
        .collect();
    let date = |s: &str| {
        s.parse::<jiff::Timestamp>().map_or_else(
            |_| s.to_owned(),
            |ts| text::long_date(lang, jiff::tz::TimeZone::UTC.to_datetime(ts).date()),
        )
    };
    let ctx = context! {
        lang => lang.code(),
        plang => m.policy_language.as_str(),
        t => Serde(t),
        m => Serde(m),
        controller => m.controller.name.as_str(),
        intro => match m.request.right {
            PackageRight::Access => t.intro_access,
            PackageRight::Portability => t.intro_portability,
        },
        right => match m.request.right {
            PackageRight::Access => t.right_access,
            PackageRight::Portability => t.right_portability,
        },
        received => date(&m.request.received),
        completed => date(&m.request.completed_at),
        collections => Serde(&collections),
        purposes => Serde(&purposes),
        recipients => Serde(&recipients),
    };
    env()
        .get_template(NAME)
        .and_then(|tpl| tpl.render(ctx))
        // minijinja's Display names the template, line and kind of failure; the context's
        // values appear only in its debug info, which is not used here.
        .map_err(|e| PackageError::Readme(e.to_string()))
}
