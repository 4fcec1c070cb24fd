//! Documents generated from a policy: the privacy notice and the record of processing.

use ombud_domain::policy::Policy;

/// Output format of the privacy notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFormat {
    Markdown,
    /// A complete, self-contained HTML page.
    Html,
}

/// The privacy notice, generated from the policy only.
pub fn notice(policy: &Policy, format: NoticeFormat) -> String {
    let _ = (policy, format);
    String::from("(being written)")
}
