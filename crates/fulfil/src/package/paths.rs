//! Safe, unique paths inside the package for names that come from databases.
//!
//! System and collection names are whatever the organisation's databases call them: spaces,
//! quotes, slashes, `..`, Windows device names and any Unicode. A path in the ZIP is
//! `data/<system>/<collection>.<ext>` where each segment keeps only `[A-Za-z0-9._-]`, never
//! starts or ends with a dot, never holds two dots in a row (so never `.` or `..`), is at most
//! [`MAX_SEGMENT`] bytes long and is unique ignoring case (the person may unpack on a
//! case-insensitive file system). The manifest maps every file back to the original names.

use std::collections::{HashMap, HashSet};

/// The longest segment produced, before a uniqueness suffix.
pub const MAX_SEGMENT: usize = 80;

const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// One name as a safe path segment (not yet unique).
pub fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_SEGMENT));
    let mut prev_dot = false;
    for c in name.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
        let dot = c == '.';
        let c = if !keep || (dot && (prev_dot || out.is_empty())) {
            '_'
        } else {
            c
        };
        prev_dot = c == '.';
        out.push(c);
        if out.len() >= MAX_SEGMENT {
            break;
        }
    }
    while out.ends_with('.') {
        out.pop();
        out.push('_');
    }
    if out.is_empty() {
        out.push('_');
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        out.insert(0, '_');
    }
    out
}

/// Hands out unique directory and file names.
#[derive(Debug, Default)]
pub struct PathAllocator {
    /// Original system name → its directory.
    systems: HashMap<String, String>,
    /// Directories handed out, lowercased.
    dirs: HashSet<String>,
    /// `dir/stem` handed out, lowercased.
    stems: HashSet<String>,
}

impl PathAllocator {
    /// The directory of a system: the same for the same name, different for different names.
    pub fn system_dir(&mut self, system: &str) -> String {
        if let Some(d) = self.systems.get(system) {
            return d.clone();
        }
        let dir = unique(&segment(system), |c| {
            self.dirs.contains(&c.to_ascii_lowercase())
        });
        self.dirs.insert(dir.to_ascii_lowercase());
        self.systems.insert(system.to_owned(), dir.clone());
        dir
    }

    /// `data/<system>/<collection>` without an extension, unique within the package.
    pub fn collection_stem(&mut self, system: &str, collection: &str) -> String {
        let dir = self.system_dir(system);
        let stem = unique(&segment(collection), |c| {
            self.stems
                .contains(&format!("{dir}/{c}").to_ascii_lowercase())
        });
        let path = format!("{dir}/{stem}");
        self.stems.insert(path.to_ascii_lowercase());
        format!("data/{path}")
    }
}

fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_safe_characters_only() {
        assert_eq!(segment("customers"), "customers");
        assert_eq!(segment("Customer Emails"), "Customer_Emails");
        assert_eq!(segment(".."), "__");
        assert_eq!(segment("."), "_");
        assert_eq!(segment(""), "_");
        assert_eq!(segment("../../etc/passwd"), "_._.__etc_passwd");
        assert_eq!(segment("a..b"), "a._b");
        assert_eq!(segment("trailing."), "trailing_");
        assert_eq!(segment("kunde_æøå"), "kunde____");
        assert_eq!(segment("CON"), "_CON");
        assert_eq!(segment("lpt1.txt"), "_lpt1.txt");
        assert_eq!(segment(&"x".repeat(500)).len(), MAX_SEGMENT);
    }

    #[test]
    fn names_stay_unique_ignoring_case() {
        let mut a = PathAllocator::default();
        assert_eq!(a.collection_stem("crm", "Users"), "data/crm/Users");
        assert_eq!(a.collection_stem("crm", "users"), "data/crm/users-2");
        assert_eq!(a.collection_stem("crm", "users"), "data/crm/users-3");
        assert_eq!(a.collection_stem("CRM", "users"), "data/CRM-2/users");
        assert_eq!(a.collection_stem("crm", "a/b"), "data/crm/a_b");
        assert_eq!(a.collection_stem("crm", "a b"), "data/crm/a_b-2");
    }
}
