//! Data categories as a hierarchical taxonomy with fideslang keys (`user.contact.email`).
//!
//! The built-in categories are fideslang's defaults. A policy extends the tree with its own
//! keys; every extension must hang under an existing key so that "everything under
//! `user.contact`" keeps meaning what it says.

use std::collections::BTreeMap;
use std::fmt;

/// A dotted category key such as `user.contact.email`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryKey(String);

/// The key is not dot-separated lowercase segments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a data category key: use dot-separated lowercase segments such as `user.contact.email`"
)]
pub struct InvalidCategoryKey(pub String);

impl CategoryKey {
    pub fn parse(s: &str) -> Result<Self, InvalidCategoryKey> {
        let segment_ok = |seg: &str| {
            seg.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if s.len() <= 200 && s.split('.').all(segment_ok) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidCategoryKey(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key one level up, `None` at a root.
    pub fn parent(&self) -> Option<CategoryKey> {
        self.0
            .rsplit_once('.')
            .map(|(p, _)| CategoryKey(p.to_owned()))
    }

    /// Whether the category describes a person (`user` and below), as opposed to the system's
    /// own data (`system.operations`, ...) that erasure leaves alone.
    pub fn is_about_a_person(&self) -> bool {
        self.0 == "user" || self.0.starts_with("user.")
    }

    /// Whether `self` is `other` or lies under it.
    pub fn is_within(&self, other: &CategoryKey) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'.'))
    }
}

impl fmt::Display for CategoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One node of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCategory {
    pub key: CategoryKey,
    pub name: String,
    pub description: String,
    /// Set on fideslang keys deprecated in favour of another key.
    pub replaced_by: Option<CategoryKey>,
    /// Declared by the policy rather than built in.
    pub custom: bool,
}

/// The whole taxonomy: built-in categories plus the policy's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    nodes: BTreeMap<CategoryKey, DataCategory>,
}

/// Why an extension can't be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    #[error("data category `{0}` is already defined")]
    Duplicate(CategoryKey),
    #[error(
        "data category `{key}` has no parent: define `{parent}` first, or put it under an existing key such as `user`"
    )]
    NoParent {
        key: CategoryKey,
        parent: CategoryKey,
    },
    #[error(
        "`{0}` would be a new top-level category: extensions must sit under an existing key such as `user` or `system`"
    )]
    NewRoot(CategoryKey),
}

const BUILT_IN: &str = include_str!("fideslang-categories.tsv");

impl Taxonomy {
    /// fideslang's default categories.
    pub fn built_in() -> Self {
        let mut nodes = BTreeMap::new();
        for line in BUILT_IN
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut cols = line.split('\t');
            let (Some(key), Some(name), Some(description)) =
                (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            // The table is part of this crate and covered by a test; a malformed row is skipped
            // rather than taking the process down.
            let Ok(key) = CategoryKey::parse(key) else {
                continue;
            };
            let replaced_by = cols
                .next()
                .filter(|s| !s.is_empty())
                .and_then(|s| CategoryKey::parse(s).ok());
            nodes.insert(
                key.clone(),
                DataCategory {
                    key,
                    name: name.into(),
                    description: description.into(),
                    replaced_by,
                    custom: false,
                },
            );
        }
        Self { nodes }
    }

    /// Adds a policy-defined category. Parents must exist, so add extensions in order of depth.
    pub fn extend(
        &mut self,
        key: CategoryKey,
        name: String,
        description: String,
    ) -> Result<(), TaxonomyError> {
        if self.nodes.contains_key(&key) {
            return Err(TaxonomyError::Duplicate(key));
        }
        match key.parent() {
            None => return Err(TaxonomyError::NewRoot(key)),
            Some(parent) if !self.nodes.contains_key(&parent) => {
                return Err(TaxonomyError::NoParent { key, parent });
            }
            Some(_) => {}
        }
        self.nodes.insert(
            key.clone(),
            DataCategory {
                key,
                name,
                description,
                replaced_by: None,
                custom: true,
            },
        );
        Ok(())
    }

    pub fn get(&self, key: &CategoryKey) -> Option<&DataCategory> {
        self.nodes.get(key)
    }

    pub fn contains(&self, key: &CategoryKey) -> bool {
        self.nodes.contains_key(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &DataCategory> {
        self.nodes.values()
    }

    pub fn keys(&self) -> impl Iterator<Item = &CategoryKey> {
        self.nodes.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> CategoryKey {
        CategoryKey::parse(s).unwrap()
    }

    #[test]
    fn built_in_table_is_complete_and_well_formed() {
        let t = Taxonomy::built_in();
        let rows = BUILT_IN
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(t.iter().count(), rows, "every row of the table parses");
        for c in t.iter() {
            if let Some(parent) = c.key.parent() {
                assert!(t.contains(&parent), "{} has no parent", c.key);
            }
            if let Some(r) = &c.replaced_by {
                assert!(t.contains(r), "{} is replaced by unknown {}", c.key, r);
            }
        }
        assert!(t.contains(&key("user.contact.email")));
    }

    #[test]
    fn extensions_need_a_parent() {
        let mut t = Taxonomy::built_in();
        assert!(
            t.extend(key("user.correspondence"), "C".into(), String::new())
                .is_ok()
        );
        assert!(matches!(
            t.extend(key("user.x.y"), "Y".into(), String::new()),
            Err(TaxonomyError::NoParent { .. })
        ));
        assert!(matches!(
            t.extend(key("crm"), "C".into(), String::new()),
            Err(TaxonomyError::NewRoot(_))
        ));
        assert!(matches!(
            t.extend(key("user.name"), "N".into(), String::new()),
            Err(TaxonomyError::Duplicate(_))
        ));
    }

    #[test]
    fn within_respects_segment_boundaries() {
        assert!(key("user.contact.email").is_within(&key("user.contact")));
        assert!(key("user.contact").is_within(&key("user.contact")));
        assert!(!key("user.contactx").is_within(&key("user.contact")));
        assert!(!key("user").is_within(&key("user.contact")));
    }

    #[test]
    fn only_user_categories_are_about_a_person() {
        assert!(key("user").is_about_a_person());
        assert!(key("user.contact.email").is_about_a_person());
        assert!(!key("system.operations").is_about_a_person());
        assert!(!key("users").is_about_a_person());
    }
}
