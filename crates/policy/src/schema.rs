//! The JSON Schema of the policy format, generated from [`crate::format`] and committed as
//! `schema/policy.schema.json` (a test fails when the two drift apart).

use crate::format::PolicyFile;

/// The schema as pretty-printed JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
