//! Identifiers of the things a policy declares.
//!
//! One generic [`Id`] with a marker type per kind: a `PurposeId` can't be passed where a
//! `RecipientId` is expected, and the spelling rule lives in one place.

use std::fmt;
use std::marker::PhantomData;

/// An identifier of a policy item: lowercase ASCII letters, digits and `_`, starting with a
/// letter, at most 64 characters. Short, stable and safe in URLs, file names and SQL values.
pub struct Id<K> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

/// The spelling rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a valid identifier: use lowercase letters, digits and `_`, starting with a letter (at most 64 characters)"
)]
pub struct InvalidId(pub String);

impl<K> Id<K> {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && s.len() <= 64 {
            Ok(Self {
                value: s.to_owned(),
                kind: PhantomData,
            })
        } else {
            Err(InvalidId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            kind: PhantomData,
        }
    }
}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}
impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}
impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}
impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

macro_rules! id_kinds {
    ($($alias:ident / $marker:ident: $doc:literal),+ $(,)?) => {$(
        #[doc = concat!("Marker for ", $doc, " ids.")]
        #[derive(Debug)]
        pub enum $marker {}
        #[doc = concat!("The id of ", $doc, ".")]
        pub type $alias = Id<$marker>;
    )+};
}

id_kinds! {
    PurposeId / PurposeTag: "a purpose (processing activity)",
    RecipientId / RecipientTag: "a recipient",
    SubjectCategoryId / SubjectCategoryTag: "a category of data subjects",
    SourceId / SourceTag: "a source of personal data",
    RetentionRuleId / RetentionRuleTag: "a retention rule",
    LegalHoldId / LegalHoldTag: "a legal hold",
    CookieCategoryId / CookieCategoryTag: "a cookie category",
    CollectionPointId / CollectionPointTag: "a collection point",
    SystemId / SystemTag: "a system of the data map",
    MeasureId / MeasureTag: "a security measure",
    TopicId / TopicTag: "a marketing topic",
    FieldId / FieldTag: "a field of a collection point",
    ConsentItemId / ConsentItemTag: "a consent tick box",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_snake_case_and_rejects_the_rest() {
        assert!(PurposeId::parse("marketing_2").is_ok());
        for bad in ["", "Marketing", "2fa", "a-b", "a b", "å", &"a".repeat(65)] {
            assert!(PurposeId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
