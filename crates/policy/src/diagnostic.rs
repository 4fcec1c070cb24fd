//! Diagnostics: what `ombud policy check` prints, each with a file, line and column, what is
//! wrong and what to do.

use std::fmt::Write as _;

use crate::source::PolicySource;
use crate::span::Loc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable kebab-case code, e.g. `unknown-reference` or `no-legal-basis`.
    pub code: &'static str,
    pub message: String,
    pub loc: Loc,
    /// What to do about it.
    pub help: Option<String>,
    /// The rule behind a warning, e.g. "GDPR Art. 13(1)(c)".
    pub why: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, loc: Loc, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            loc,
            help: None,
            why: None,
        }
    }

    pub fn warning(code: &'static str, loc: Loc, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            message: message.into(),
            loc,
            help: None,
            why: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    /// `path:line:col`.
    pub fn position(&self, source: &PolicySource) -> String {
        format!(
            "{}:{}:{}",
            source.path(self.loc.file),
            self.loc.line,
            self.loc.col
        )
    }

    /// The diagnostic as a terminal shows it, with the offending line and a caret.
    pub fn render(&self, source: &PolicySource) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!(
            "{label}[{}]: {}\n  --> {}\n",
            self.code,
            self.message,
            self.position(source)
        );
        if let Some(text) = source.line(self.loc.file, self.loc.line) {
            let number = self.loc.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_at = usize::try_from(self.loc.col.saturating_sub(1)).unwrap_or(0);
            let indent: String = text
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = write!(out, "{pad} |\n{number} | {text}\n{pad} | {indent}^\n");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        if let Some(why) = &self.why {
            let _ = writeln!(out, "  = why: {why}");
        }
        out
    }
}

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let ids = ["microsoft", "hubspot", "mailchimp"];
        assert_eq!(did_you_mean("microsft", ids), Some("microsoft"));
        assert_eq!(did_you_mean("hubspott", ids), Some("hubspot"));
        assert_eq!(did_you_mean("salesforce", ids), None);
    }

    #[test]
    fn renders_the_line_and_a_caret() {
        let src = PolicySource::from_texts([("p.yaml", "a: 1\nrecipients: [microsft]\n")]);
        let d = Diagnostic::error(
            "unknown-reference",
            Loc {
                file: 0,
                line: 2,
                col: 14,
            },
            "unknown recipient",
        )
        .help("did you mean `microsoft`?");
        let text = d.render(&src);
        assert!(text.contains("--> p.yaml:2:14"), "{text}");
        assert!(
            text.contains("2 | recipients: [microsft]\n  |              ^"),
            "{text}"
        );
    }
}
