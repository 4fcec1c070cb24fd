//! The policy as code: the YAML format, loading with located diagnostics, the checks of
//! `ombud policy check`, the privacy notice and the record of processing.
//!
//! Flow: [`PolicySource`] (the files) → `parse` (YAML → [`format::PolicyFile`], one per file,
//! then merged) → `resolve` (references checked → domain [`Policy`]) → [`lint`] (legal weak
//! spots as warnings). Rendering ([`render`]) only ever sees a resolved `Policy`.
//!
//! The data map (`systems:` with their `collections:`, and `erasure:`) resolves into
//! [`Policy::data_map`](ombud_domain::policy::Policy::data_map); [`fides::import_fides`] turns a
//! Fides dataset file into that format.

pub mod diagnostic;
pub mod diff;
pub mod example;
pub mod fides;
pub mod format;
pub mod lint;
mod parse;
pub mod render;
pub mod resolve;
pub mod schema;
pub mod source;
pub mod span;

use jiff::civil::Date;
use ombud_domain::policy::Policy;

pub use diagnostic::{Diagnostic, Severity};
pub use resolve::Locations;
pub use source::{PolicySource, ReadError};

/// A policy that loaded without errors, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub policy: Policy,
    pub source: PolicySource,
    pub locations: Locations,
    pub warnings: Vec<Diagnostic>,
}

/// A policy with errors. `diagnostics` holds the errors and any warnings found on the way,
/// in file order.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub source: PolicySource,
    pub diagnostics: Vec<Diagnostic>,
}

impl Rejected {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in self.errors() {
            f.write_str(&d.render(&self.source))?;
        }
        Ok(())
    }
}

/// Parses, resolves and lints a policy. `today` dates the review-date checks.
pub fn load(source: PolicySource, today: Date) -> Result<Loaded, Rejected> {
    let mut diags = Vec::new();
    let files = parse::parse_files(&source, &mut diags);
    let merged = parse::merge(&source, files, &mut diags);
    let resolved = if diags.iter().any(|d| d.severity == Severity::Error) {
        None
    } else {
        resolve::Resolver::new(&source, &mut diags).resolve(&merged)
    };
    match resolved {
        Some((policy, locations)) => {
            diags.extend(lint::lint(&policy, &locations, &source, today));
            sort(&mut diags);
            Ok(Loaded {
                policy,
                source,
                locations,
                warnings: diags,
            })
        }
        None => {
            sort(&mut diags);
            Err(Rejected {
                source,
                diagnostics: diags,
            })
        }
    }
}

fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (a.loc, a.severity, a.code).cmp(&(b.loc, b.severity, b.code)));
}
