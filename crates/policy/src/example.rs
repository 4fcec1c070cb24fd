//! The example policy (`examples/impero/`), compiled in so `ombud demo` runs from anywhere.

use crate::source::PolicySource;

macro_rules! example_files {
    ($($name:literal),+ $(,)?) => {
        [$((concat!("examples/impero/", $name), include_str!(concat!("../../../examples/impero/", $name)))),+]
    };
}

/// The SQLite script of the demo's trial database (system `trial_db` of the example's data map):
/// its tables and a few people, among them Ann Example (`ann@example.com`), who has rows in every
/// table.
pub const IMPERO_TRIAL_DB_SQL: &str = include_str!("../../../examples/impero/demo/trial_db.sql");

/// The policy of Impero A/S, encoding the seed privacy and cookie policy.
pub fn impero() -> PolicySource {
    PolicySource::from_texts(example_files!(
        "collection.yaml",
        "cookies.yaml",
        "data.yaml",
        "datamap.yaml",
        "policy.yaml",
        "purposes.yaml",
        "recipients.yaml",
        "retention.yaml",
        "rights.yaml",
        "security.yaml",
    ))
}
