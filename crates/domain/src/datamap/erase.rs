//! What an erased value becomes, and how to tell a value that is already erased, so that running
//! an erasure again (after a crash, or by mistake) changes nothing more.
//!
//! Hashed and random values carry the prefix [`ERASED_PREFIX`]; a value that has it, a NULL for
//! the null strategy and the fixed text for the fixed strategy count as erased and are left alone.

use super::{Collection, DataMap, FieldRef, Strategy, Value};
use crate::policy::SystemId;
use crate::request::hmac_sha256;

/// What erasing a person's rows of one collection does, decided from the map alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionErasure {
    /// Whole rows are deleted (the collection says `delete_rows`, or a field's strategy is
    /// `delete_row`), unless a legal hold keeps them.
    pub delete_rows: bool,
    /// Fields erased in place, by index into the collection's fields, with their strategy.
    pub fields: Vec<(usize, Strategy)>,
}

impl DataMap {
    /// How `collection` of `system` is erased. Keys and references are never touched (rows stay
    /// joinable for the rest of the erasure and for a second run); fields about a person (a
    /// `user` category, or an explicit `erase:`) are; the system's own data (`system.*`) and
    /// unclassified columns stay. A collection under a legal hold is not erased at all: its rows
    /// are restricted instead (see [`Collection::legal_holds`]).
    pub fn erasure_of(&self, system: &SystemId, collection: &Collection) -> CollectionErasure {
        let mut out = CollectionErasure {
            delete_rows: false,
            fields: Vec::new(),
        };
        if !collection.legal_holds.is_empty() {
            return out;
        }
        out.delete_rows = collection.delete_rows;
        for (i, f) in collection.fields.iter().enumerate() {
            let here = FieldRef {
                system: system.clone(),
                collection: collection.name.clone(),
                field: f.name.clone(),
            };
            let is_link = f.primary_key
                || !f.references.is_empty()
                || self
                    .systems
                    .iter()
                    .flat_map(|s| &s.collections)
                    .flat_map(|c| &c.fields)
                    .any(|g| g.references.iter().any(|r| r.to == here));
            let about_the_person = f.categories.iter().any(|k| k.is_about_a_person());
            if is_link || (!about_the_person && f.erase.is_none()) {
                continue;
            }
            match self.erasure.for_field(f) {
                Strategy::DeleteRow => out.delete_rows = true,
                s => out.fields.push((i, s)),
            }
        }
        out
    }
}

/// The start of every hashed or random replacement.
pub const ERASED_PREFIX: &str = "erased:";

/// Hex characters kept from the keyed hash (128 bits).
const HASH_HEX: usize = 32;

/// The new value of a column under `strategy`, or `None` when `current` is already erased (or
/// the strategy deletes the row, which is not a value). `key` is the erasure's own secret (the
/// keyed hash), `random` gives 16 fresh random bytes (the random strategy).
///
/// Hash and random replace text; a column of another type (a number, a date kept as text by
/// the database but bound as such) becomes NULL under them, as no text fits it.
pub fn replacement(
    strategy: &Strategy,
    current: &Value,
    key: &[u8],
    random: &mut dyn FnMut() -> [u8; 16],
) -> Option<Value> {
    if is_erased(strategy, current) {
        return None;
    }
    match strategy {
        Strategy::DeleteRow => None,
        Strategy::Null => Some(Value::Null),
        Strategy::Fixed(text) => Some(Value::Text(text.clone())),
        Strategy::Hash => Some(match current {
            Value::Text(s) => Value::Text(format!(
                "{ERASED_PREFIX}{}",
                &hex(&hmac_sha256(key, s.as_bytes()))[..HASH_HEX]
            )),
            Value::Bytes(b) => Value::Text(format!(
                "{ERASED_PREFIX}{}",
                &hex(&hmac_sha256(key, b))[..HASH_HEX]
            )),
            _ => Value::Null,
        }),
        Strategy::Random => Some(match current {
            Value::Text(_) | Value::Bytes(_) => {
                Value::Text(format!("{ERASED_PREFIX}{}", hex(&random())))
            }
            _ => Value::Null,
        }),
    }
}

/// Whether `value` already is what `strategy` leaves behind.
pub fn is_erased(strategy: &Strategy, value: &Value) -> bool {
    match (strategy, value) {
        (_, Value::Null) => true,
        (Strategy::Fixed(text), Value::Text(s)) => s == text,
        (Strategy::Hash | Strategy::Random, Value::Text(s)) => s.starts_with(ERASED_PREFIX),
        _ => false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_random() -> [u8; 16] {
        [7; 16]
    }

    #[test]
    fn each_strategy_replaces_once() {
        let ann = Value::Text("ann@example.com".into());
        for strategy in [
            Strategy::Null,
            Strategy::Fixed("erased".into()),
            Strategy::Hash,
            Strategy::Random,
        ] {
            let new = replacement(&strategy, &ann, b"k", &mut no_random).unwrap();
            assert_ne!(new, ann, "{strategy:?}");
            assert!(is_erased(&strategy, &new), "{strategy:?} leaves {new:?}");
            assert_eq!(
                replacement(&strategy, &new, b"k", &mut no_random),
                None,
                "{strategy:?} again changes nothing"
            );
        }
    }

    #[test]
    fn the_keyed_hash_is_stable_within_an_erasure_and_differs_across_keys() {
        let v = Value::Text("Ann Example".into());
        let a = replacement(&Strategy::Hash, &v, b"one", &mut no_random);
        assert_eq!(a, replacement(&Strategy::Hash, &v, b"one", &mut no_random));
        assert_ne!(a, replacement(&Strategy::Hash, &v, b"two", &mut no_random));
        let Some(Value::Text(s)) = a else { panic!() };
        assert_eq!(s.len(), ERASED_PREFIX.len() + HASH_HEX);
        assert!(!s.contains("Ann"));
    }

    #[test]
    fn numbers_become_null_under_hash_and_random() {
        assert_eq!(
            replacement(&Strategy::Hash, &Value::Int(4711), b"k", &mut no_random),
            Some(Value::Null)
        );
        assert_eq!(
            replacement(&Strategy::Random, &Value::Float(1.5), b"k", &mut no_random),
            Some(Value::Null)
        );
        assert_eq!(
            replacement(&Strategy::DeleteRow, &Value::Int(1), b"k", &mut no_random),
            None
        );
    }
}
