//! Source locations carried through deserialisation, so every later check can say where.

use std::borrow::Cow;
use std::cell::Cell;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A position in one of the policy's files (1-based line and column; `file` indexes
/// [`crate::PolicySource::files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Loc {
    pub file: usize,
    pub line: u32,
    pub col: u32,
}

thread_local! {
    /// The file being deserialised on this thread. serde gives a `Deserialize` impl no context
    /// parameter, and the YAML parser only knows line and column, so the loader sets this
    /// around each file (see [`in_file`]).
    static CURRENT_FILE: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with locations attributed to `file`.
pub(crate) fn in_file<R>(file: usize, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT_FILE.with(|c| c.replace(file));
    let result = f();
    CURRENT_FILE.with(|c| c.set(previous));
    result
}

/// A value with the location of the YAML node it came from.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        let file = CURRENT_FILE.with(Cell::get);
        Ok(Sp {
            value: s.value,
            loc: Loc {
                file,
                line: s.referenced.line() as u32,
                col: s.referenced.column() as u32,
            },
        })
    }
}

/// A location is not part of the format: the schema of `Sp<T>` is the schema of `T`.
impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
