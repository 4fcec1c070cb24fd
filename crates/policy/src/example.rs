//! The example policy (`examples/impero/`), compiled in so `ombud demo` runs from anywhere.

use crate::source::PolicySource;

macro_rules! example_files {
    ($($name:literal),+ $(,)?) => {
        [$((concat!("examples/impero/", $name), include_str!(concat!("../../../examples/impero/", $name)))),+]
    };
}

/// The policy of Impero A/S, encoding the seed privacy and cookie policy.
pub fn impero() -> PolicySource {
    PolicySource::from_texts(example_files!(
        "collection.yaml",
        "cookies.yaml",
        "data.yaml",
        "policy.yaml",
        "purposes.yaml",
        "recipients.yaml",
        "retention.yaml",
        "rights.yaml",
        "security.yaml",
    ))
}
