//! Documents generated from a policy: the privacy notice and the record of processing (ROPA).
//! Both read only the resolved `Policy`; the phrases they share live here.

pub mod doc;
mod notice;
pub mod ropa;

use jiff::civil::Date;
use ombud_domain::policy::*;

/// Output format of the privacy notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFormat {
    Markdown,
    /// A complete, self-contained HTML page (no scripts).
    Html,
}

/// The privacy notice, generated from the policy only, with the sections of the seed policy.
pub fn notice(policy: &Policy, format: NoticeFormat) -> String {
    let doc = notice::build(policy);
    match format {
        NoticeFormat::Markdown => doc.to_markdown(),
        NoticeFormat::Html => doc.to_html(),
    }
}

/// "15 January 2020".
pub(crate) fn long_date(d: Date) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS
        .get(usize::try_from(d.month() - 1).unwrap_or(0))
        .copied()
        .unwrap_or("");
    format!("{} {month} {}", d.day(), d.year())
}

/// "Legitimate interests (GDPR Art. 6(1)(f))" for each basis, joined with "or".
pub(crate) fn bases_text(purpose: &Purpose) -> Option<String> {
    if purpose.legal_bases.is_empty() {
        return None;
    }
    let parts: Vec<String> = purpose
        .legal_bases
        .iter()
        .map(|b| format!("{} ({})", b.label(), b.article()))
        .collect();
    Some(parts.join(" or "))
}

/// How long a rule keeps data, in words: "30 days after the visit, then deleted; if you consent
/// to …: 6 months after consent is given".
pub(crate) fn retention_text(policy: &Policy, rule: &RetentionRule) -> String {
    let mut s = match rule.keep {
        Some(p) if p.amount == 0 => format!("Until {}", rule.after.phrase()),
        Some(p) => format!("{p} after {}", rule.after.phrase()),
        None => "As long as the criteria below require".to_owned(),
    };
    s.push_str(match rule.action {
        RetentionAction::Delete => ", then deleted",
        RetentionAction::Anonymise => ", then anonymised",
    });
    for u in &rule.unless {
        let name = policy
            .purpose(&u.consent)
            .map_or(u.consent.as_str(), |p| p.name.as_str());
        s.push_str(&format!(
            "; with your consent to \"{name}\": {} after {}",
            u.keep,
            u.after.phrase()
        ));
    }
    if let Some(c) = &rule.criteria {
        s.push_str(". ");
        s.push_str(c.trim_end_matches('.'));
    }
    s.push('.');
    s
}

/// A recipient's countries outside the EEA and the safeguard for them.
pub(crate) fn transfer_text(recipient: &Recipient) -> Option<String> {
    let third: Vec<&str> = recipient.third_countries().collect();
    if third.is_empty() {
        return None;
    }
    let safeguard = recipient
        .transfer
        .as_ref()
        .map_or("no safeguard stated".to_owned(), |t| {
            t.mechanism.label().to_owned()
        });
    Some(format!("{}: {safeguard}", third.join(", ")))
}
