//! Closed vocabularies of the policy (legal bases, rights, recipient roles, ...).
//!
//! Each vocabulary is an enum with one canonical snake_case key per variant. The key is what a
//! policy file spells; the enum is what the rest of ombud matches on. Parsing and listing the
//! keys lives here once, so the YAML layer, the JSON Schema and error messages all agree.

/// A closed set of named values.
pub trait Keyword: Sized + Copy + Eq + 'static {
    /// What a value of this set is called in messages, e.g. "legal basis".
    const KIND: &'static str;
    /// Every value, in the order the policy format documents them.
    fn all() -> &'static [Self];
    /// The canonical key, as written in a policy file.
    fn key(self) -> &'static str;
    /// Parses a canonical key.
    fn parse(key: &str) -> Option<Self> {
        Self::all().iter().copied().find(|k| k.key() == key)
    }
    /// The keys of every value, for "expected one of" messages and schemas.
    fn keys() -> Vec<&'static str> {
        Self::all().iter().map(|k| k.key()).collect()
    }
}

/// Declares a [`Keyword`] enum: `keyword! { pub enum Right: "right" { Access = "access", ... } }`.
macro_rules! keyword {
    ($(#[$meta:meta])* $vis:vis enum $name:ident : $kind:literal {
        $($(#[$vmeta:meta])* $variant:ident = $key:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $crate::policy::Keyword for $name {
            const KIND: &'static str = $kind;
            fn all() -> &'static [Self] { &[$(Self::$variant),+] }
            fn key(self) -> &'static str { match self { $(Self::$variant => $key),+ } }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::policy::Keyword::key(*self))
            }
        }
    };
}
pub(crate) use keyword;
