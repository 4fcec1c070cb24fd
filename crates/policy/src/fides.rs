//! Import of Fides dataset files (fideslang's `dataset:` format) into ombud's data map.
//!
//! Each dataset becomes a system (id: the dataset's `fides_key` in ombud's id spelling), each
//! collection a table, each field a column. What is carried over:
//!
//! | Fides | ombud |
//! |---|---|
//! | `fides_key`, `name`, `description` | the system id, `name`, `description` |
//! | `collections[].name` | the key under `collections:` (exactly as written) |
//! | `fields[].name`, `data_categories` | the key under `fields:`, `categories` (unknown keys are kept: `policy check` names them) |
//! | `fides_meta.identity` | `identity` (`email`, `phone_number` → `phone`, custom types as they are) |
//! | `fides_meta.primary_key` | `primary_key` |
//! | `fides_meta.references[]` (`dataset`, `field: collection.field`, `direction`) | `references` (`system` only for another dataset; no direction: `both`) |
//! | `fides_meta.data_type` | `type` (`string` → `text`, others as written) |
//! | field `masking_strategy_override`: `null_rewrite`, `string_rewrite`, `hash`, `random_string_rewrite` | `erase`: `null`, `{fixed: …}`, `hash`, `random` |
//! | collection `masking_strategy_override: {strategy: delete}` | `delete_rows: true` |
//! | collection `after` / `erase_after`, dataset `after` | a comment: ombud orders reads and erasures by the references |
//! | collection `skip_processing: true` | left out, with a comment |
//! | descriptions | comments |
//!
//! Limits: nested fields (`fields:` inside a field, for documents and JSON columns) become one
//! column, the top-level one, with the categories of everything under it; an identity, key or
//! reference inside a nested field cannot be mapped and is an error, as is a reference to a
//! nested field. Other masking strategies, `length`, `read_only`, `return_all_elements`,
//! `custom_request_field`, `data_qualifier` and `retention` have no counterpart and are dropped
//! (masking strategies with a comment). Collection- and dataset-level `data_categories` are not
//! spread onto fields.
//!
//! The result is a policy file holding one `systems:` section: keep it as a file of the policy
//! folder, or paste its entries under an existing `systems:`. It still needs `hosting:`, the
//! systems listed under the purposes that use them, and a key on every table that Fides left
//! without one.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

use ombud_domain::datamap::Identity;
use ombud_domain::policy::{ConnectorKind, Keyword, SystemId};
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::source::PolicySource;
use crate::span::{Loc, Sp, in_file};

/// A Fides dataset file that could not be imported, with located diagnostics.
#[derive(Debug, Clone)]
pub struct FidesRejected {
    /// The Fides file, so that diagnostics render with its lines.
    pub source: PolicySource,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for FidesRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            f.write_str(&d.render(&self.source))?;
        }
        Ok(())
    }
}

impl std::error::Error for FidesRejected {}

/// Converts a Fides dataset file into the text of an ombud policy file with one `systems:`
/// section: one system per dataset, reached through `connector` (postgres, mysql or sqlite).
/// `source_name` is the file's name as diagnostics and the header comment show it. See the
/// module documentation for what is mapped and what is not.
pub fn import_fides(
    source_name: &str,
    yaml: &str,
    connector: ConnectorKind,
) -> Result<String, FidesRejected> {
    let source = PolicySource::from_texts([(source_name, yaml)]);
    let reject = |diagnostics| FidesRejected {
        source: source.clone(),
        diagnostics,
    };
    if !matches!(
        connector,
        ConnectorKind::Postgres | ConnectorKind::Mysql | ConnectorKind::Sqlite
    ) {
        return Err(reject(vec![
            Diagnostic::error(
                "fides-connector",
                START,
                format!(
                    "a Fides dataset becomes a database system, and `{}` is no database connector",
                    connector.key()
                ),
            )
            .help("import it with connector postgres, mysql or sqlite"),
        ]));
    }
    let options = serde_saphyr::options! { with_snippet: false };
    let file = in_file(0, || {
        serde_saphyr::from_str_with_options::<FidesFile>(yaml, options)
    })
    .map_err(|err| {
        let (loc, message) = crate::parse::located_message(0, &err);
        reject(vec![Diagnostic::error("fides-yaml", loc, message).help(
            "a Fides dataset file is `dataset:` with a list of datasets, each with `fides_key` and `collections`",
        )])
    })?;
    let mut import = Import {
        out: String::new(),
        diags: Vec::new(),
        connector,
    };
    import.file(source_name, &file);
    if import.diags.is_empty() {
        Ok(import.out)
    } else {
        Err(reject(import.diags))
    }
}

const START: Loc = Loc {
    file: 0,
    line: 1,
    col: 1,
};

// ---------------------------------------------------------------------------------------------
// The part of the Fides format that is read. Unknown keys are ignored: Fides has many more.

#[derive(Deserialize)]
struct FidesFile {
    dataset: Vec<Sp<Dataset>>,
}

#[derive(Deserialize)]
struct Dataset {
    fides_key: Sp<String>,
    name: Option<String>,
    description: Option<String>,
    fides_meta: Option<DatasetMeta>,
    #[serde(default)]
    collections: Vec<Sp<FidesCollection>>,
}

#[derive(Deserialize)]
struct DatasetMeta {
    #[serde(default)]
    after: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct FidesCollection {
    name: Sp<String>,
    description: Option<String>,
    #[serde(default)]
    fields: Vec<Sp<FidesField>>,
    fides_meta: Option<CollectionMeta>,
    fidesops_meta: Option<CollectionMeta>,
}

#[derive(Deserialize)]
struct CollectionMeta {
    #[serde(default)]
    after: Option<Vec<String>>,
    #[serde(default)]
    erase_after: Option<Vec<String>>,
    #[serde(default)]
    skip_processing: Option<bool>,
    masking_strategy_override: Option<MaskingOverride>,
}

#[derive(Deserialize)]
struct FidesField {
    name: Sp<String>,
    description: Option<String>,
    #[serde(default)]
    data_categories: Option<Vec<String>>,
    fides_meta: Option<FieldMeta>,
    fidesops_meta: Option<FieldMeta>,
    #[serde(default)]
    fields: Option<Vec<Sp<FidesField>>>,
}

impl FidesField {
    fn meta(&self) -> Option<&FieldMeta> {
        self.fides_meta.as_ref().or(self.fidesops_meta.as_ref())
    }
}

#[derive(Deserialize)]
struct FieldMeta {
    #[serde(default)]
    references: Option<Vec<Sp<FidesReference>>>,
    identity: Option<Sp<String>>,
    primary_key: Option<Sp<bool>>,
    data_type: Option<String>,
    masking_strategy_override: Option<Sp<MaskingOverride>>,
}

#[derive(Deserialize)]
struct FidesReference {
    dataset: Sp<String>,
    field: Sp<String>,
    direction: Option<Sp<String>>,
}

#[derive(Deserialize)]
struct MaskingOverride {
    strategy: String,
    configuration: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Writing ombud's YAML.

struct Import {
    out: String,
    diags: Vec<Diagnostic>,
    connector: ConnectorKind,
}

impl Import {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{:indent$}{text}", "");
    }

    fn comment(&mut self, indent: usize, text: &str) {
        for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self.line(indent, &format!("# {}", printable(l)));
        }
    }

    fn error(&mut self, code: &'static str, loc: Loc, message: String, help: &str) {
        self.diags
            .push(Diagnostic::error(code, loc, message).help(help));
    }

    fn file(&mut self, source_name: &str, file: &FidesFile) {
        self.comment(
            0,
            &format!(
                "ombud data map imported from the Fides dataset file `{source_name}`.\n\
                 Keep it as a file of the policy folder, or paste its entries under the policy's `systems:`.\n\
                 Then set `hosting:`, list each system under the purposes that use it, and run\n\
                 `ombud policy check`: it names categories outside the taxonomy and tables without a key."
            ),
        );
        self.line(0, "systems:");
        let mut seen = BTreeSet::new();
        for d in &file.dataset {
            let id = system_id(&d.fides_key.value);
            if !seen.insert(id.clone()) {
                self.error(
                    "fides-duplicate-dataset",
                    d.fides_key.loc,
                    format!(
                        "dataset `{}` becomes system `{id}`, like an earlier dataset",
                        d.fides_key.value
                    ),
                    "give each dataset its own `fides_key` (ombud ids are lowercase letters, digits and `_`)",
                );
                continue;
            }
            self.dataset(&id, d);
        }
    }

    fn dataset(&mut self, id: &str, d: &Dataset) {
        self.line(2, &format!("{id}:"));
        if d.fides_key.value != id {
            self.comment(4, &format!("Fides dataset `{}`", d.fides_key.value));
        }
        let name = d.name.as_deref().unwrap_or(&d.fides_key.value);
        self.line(4, &format!("name: {}", text(&one_line(name))));
        if let Some(t) = d.description.as_deref().filter(|t| !t.trim().is_empty()) {
            self.line(4, &format!("description: {}", text(&one_line(t))));
        }
        self.line(4, &format!("connector: {}", self.connector.key()));
        if let Some(after) = d.fides_meta.as_ref().and_then(|m| m.after.as_ref())
            && !after.is_empty()
        {
            self.comment(
                4,
                &format!(
                    "Fides: after datasets {}; ombud orders the work by the references",
                    after.join(", ")
                ),
            );
        }
        if d.collections.is_empty() {
            self.line(4, "collections: {}");
            return;
        }
        self.line(4, "collections:");
        for c in &d.collections {
            self.collection(id, c);
        }
    }

    fn collection(&mut self, system: &str, c: &FidesCollection) {
        let meta = c.fides_meta.as_ref().or(c.fidesops_meta.as_ref());
        if c.name.value.trim().is_empty() {
            self.error(
                "fides-empty-name",
                c.name.loc,
                "a collection has an empty name".into(),
                "name the collection as the database spells the table",
            );
            return;
        }
        if meta.and_then(|m| m.skip_processing) == Some(true) {
            self.comment(
                6,
                &format!("{}: left out (Fides `skip_processing: true`)", c.name.value),
            );
            return;
        }
        self.line(6, &format!("{}:", scalar(&c.name.value)));
        if let Some(text) = &c.description {
            self.comment(8, text);
        }
        if let Some(m) = meta {
            for (what, list) in [("after", &m.after), ("erase after", &m.erase_after)] {
                if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
                    self.comment(
                        8,
                        &format!(
                            "Fides: {what} {}; ombud orders reads and erasures by the references",
                            list.join(", ")
                        ),
                    );
                }
            }
            match m
                .masking_strategy_override
                .as_ref()
                .map(|o| o.strategy.as_str())
            {
                Some("delete") => self.line(8, "delete_rows: true"),
                Some(other) => self.comment(
                    8,
                    &format!("Fides masking strategy `{other}` has no counterpart in ombud"),
                ),
                None => {}
            }
        }
        let has_key = c.fields.iter().any(|f| {
            f.meta()
                .and_then(|m| m.primary_key.as_ref())
                .is_some_and(|k| k.value)
        });
        if !has_key {
            self.comment(
                8,
                "no primary key in the Fides dataset: mark the key column with `primary_key: true`",
            );
        }
        if c.fields.is_empty() {
            self.line(8, "fields: {}");
            return;
        }
        self.line(8, "fields:");
        for f in &c.fields {
            self.field(system, c, f);
        }
    }

    fn field(&mut self, system: &str, c: &FidesCollection, f: &FidesField) {
        let key = scalar(&f.name.value).into_owned();
        if f.name.value.trim().is_empty() {
            self.error(
                "fides-empty-name",
                f.name.loc,
                format!("a field of collection `{}` has an empty name", c.name.value),
                "name the field as the database spells the column",
            );
            return;
        }
        if let Some(text) = &f.description {
            self.comment(10, text);
        }
        let mut categories: Vec<String> = f.data_categories.clone().unwrap_or_default();
        let nested = f.fields.as_deref().unwrap_or_default();
        if !nested.is_empty() {
            let mut paths = Vec::new();
            self.nested(&f.name.value, nested, &mut categories, &mut paths);
            self.comment(
                10,
                &format!(
                    "Fides nested fields {}: mapped as this one column",
                    paths.join(", ")
                ),
            );
        }
        let mut seen = BTreeSet::new();
        categories.retain(|k| seen.insert(k.clone()));

        let mut lines = Vec::new();
        let meta = f.meta();
        if meta
            .and_then(|m| m.primary_key.as_ref())
            .is_some_and(|k| k.value)
        {
            lines.push("primary_key: true".to_owned());
        }
        if !categories.is_empty() {
            let list: Vec<Cow<str>> = categories.iter().map(|k| scalar(k)).collect();
            lines.push(format!("categories: [{}]", list.join(", ")));
        }
        if let Some(identity) = meta.and_then(|m| m.identity.as_ref()) {
            match Identity::parse(&identity.value) {
                Some(i) => lines.push(format!("identity: {}", i.key())),
                None => self.error(
                    "fides-identity",
                    identity.loc,
                    format!("`{}` is not an identity ombud can use", identity.value),
                    "use email, phone_number, or an identity type in lowercase letters, digits and `_`",
                ),
            }
        }
        if let Some(t) = meta.and_then(|m| m.data_type.as_deref()) {
            let t = if t == "string" { "text" } else { t };
            lines.push(format!("type: {}", scalar(t)));
        }
        if let Some(o) = meta.and_then(|m| m.masking_strategy_override.as_ref()) {
            match erase(&o.value) {
                Some(e) => lines.push(format!("erase: {e}")),
                None => self.comment(
                    10,
                    &format!(
                        "{}: Fides masking strategy `{}` has no counterpart in ombud",
                        f.name.value, o.strategy
                    ),
                ),
            }
        }
        let references: Vec<String> = meta
            .and_then(|m| m.references.as_deref())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| self.reference(system, r))
            .collect();
        if lines.is_empty() && references.is_empty() {
            self.line(10, &format!("{key}: {{}}"));
            return;
        }
        self.line(10, &format!("{key}:"));
        for l in lines {
            self.line(12, &l);
        }
        if !references.is_empty() {
            self.line(12, "references:");
            for r in references {
                self.line(14, &format!("- {r}"));
            }
        }
    }

    /// Gathers the categories and paths of nested fields; what cannot be mapped is an error.
    fn nested(
        &mut self,
        path: &str,
        fields: &[Sp<FidesField>],
        categories: &mut Vec<String>,
        paths: &mut Vec<String>,
    ) {
        for f in fields {
            let here = format!("{path}.{}", f.name.value);
            categories.extend(f.data_categories.clone().unwrap_or_default());
            if let Some(m) = f.meta() {
                let unmappable = [
                    m.identity.as_ref().map(|i| (i.loc, "an identity")),
                    m.primary_key
                        .as_ref()
                        .filter(|k| k.value)
                        .map(|k| (k.loc, "a primary key")),
                    m.references
                        .as_ref()
                        .and_then(|r| r.first())
                        .map(|r| (r.loc, "a reference")),
                ];
                for (loc, what) in unmappable.into_iter().flatten() {
                    self.error(
                        "fides-nested-field",
                        loc,
                        format!("nested field `{here}` has {what}, which ombud cannot map"),
                        "ombud addresses table columns, not parts of a document: put the identity, key or reference on a top-level column",
                    );
                }
            }
            match f.fields.as_deref() {
                Some(inner) if !inner.is_empty() => self.nested(&here, inner, categories, paths),
                _ => paths.push(here),
            }
        }
    }

    /// A reference in ombud's flow syntax, or `None` after reporting why it cannot be mapped.
    fn reference(&mut self, system: &str, r: &Sp<FidesReference>) -> Option<String> {
        let Some((collection, field)) = r.field.value.split_once('.') else {
            self.error(
                "fides-reference",
                r.field.loc,
                format!("`{}` is not `collection.field`", r.field.value),
                "write the referenced field as `collection.field`",
            );
            return None;
        };
        if field.contains('.') {
            self.error(
                "fides-nested-field",
                r.field.loc,
                format!(
                    "`{}` refers to a nested field, which ombud cannot map",
                    r.field.value
                ),
                "refer to a top-level column",
            );
            return None;
        }
        let direction = match r.direction.as_ref() {
            None => None,
            Some(d) if matches!(d.value.as_str(), "from" | "to") => Some(d.value.as_str()),
            Some(d) => {
                self.error(
                    "fides-reference",
                    d.loc,
                    format!("`{}` is not a direction", d.value),
                    "use `from` or `to`, or leave `direction` out for both",
                );
                return None;
            }
        };
        let target = system_id(&r.dataset.value);
        let mut parts = Vec::new();
        if target != system {
            parts.push(format!("system: {target}"));
        }
        parts.push(format!("collection: {}", scalar(collection)));
        parts.push(format!("field: {}", scalar(field)));
        if let Some(d) = direction {
            parts.push(format!("direction: {d}"));
        }
        Some(format!("{{{}}}", parts.join(", ")))
    }
}

/// ombud's erasure strategy for a Fides field masking strategy, as YAML.
fn erase(o: &MaskingOverride) -> Option<String> {
    match o.strategy.as_str() {
        "null_rewrite" => Some("null".into()),
        "hash" => Some("hash".into()),
        "random_string_rewrite" => Some("random".into()),
        "string_rewrite" => {
            let value = o
                .configuration
                .as_ref()
                .and_then(|c| c.get("rewrite_value"))
                .and_then(|v| v.as_str())?;
            Some(format!("{{fixed: {}}}", scalar(value)))
        }
        _ => None,
    }
}

/// A Fides key in ombud's id spelling: lowercase letters, digits and `_`, starting with a letter.
fn system_id(key: &str) -> String {
    let mut id: String = key
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id.insert_str(0, "d_");
    }
    id.truncate(64);
    debug_assert!(SystemId::parse(&id).is_ok());
    id
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text without control characters, for a comment.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A value in block context (not inside `{}` or `[]`): like [`scalar`], but words, spaces and
/// ordinary punctuation stay plain too.
fn text(s: &str) -> Cow<'_, str> {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(' ')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '_' | '.' | ',' | ';' | '(' | ')' | '\'' | '/' | '-' | '&'
                )
        })
        && !s.contains("  ")
        && !reserved(s);
    if plain { Cow::Borrowed(s) } else { scalar(s) }
}

/// Words YAML reads as something other than text.
fn reserved(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// A YAML scalar: plain when that reads back as the same text, in double quotes otherwise.
fn scalar(s: &str) -> Cow<'_, str> {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
        && !reserved(s);
    if plain {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar("user.contact.email"), "user.contact.email");
        assert_eq!(scalar("Customer"), "Customer");
        for (raw, quoted) in [
            ("Odd Table", "\"Odd Table\""),
            ("null", "\"null\""),
            ("Yes", "\"Yes\""),
            ("1st", "\"1st\""),
            ("", "\"\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\""),
            ("line\nbreak\u{1}", "\"line\\nbreak\\u0001\""),
            ("Bølge", "\"Bølge\""),
        ] {
            assert_eq!(scalar(raw), quoted, "{raw:?}");
        }
    }

    #[test]
    fn block_values_stay_plain_when_they_can() {
        assert_eq!(text("Chinook music store"), "Chinook music store");
        assert_eq!(
            text("Customers, invoices (and lines)."),
            "Customers, invoices (and lines)."
        );
        for raw in ["no", "a: b", "x #y", "\"q\"", " lead", "1 st"] {
            assert!(text(raw).starts_with('"'), "{raw:?}");
        }
    }

    #[test]
    fn fides_keys_become_ombud_ids() {
        assert_eq!(system_id("customerdb"), "customerdb");
        assert_eq!(system_id("Chinook-DB.v2"), "chinook_db_v2");
        assert_eq!(system_id("1st_db"), "d_1st_db");
    }

    #[test]
    fn only_database_connectors_are_accepted() {
        let e = import_fides("x.yml", "dataset: []\n", ConnectorKind::Manual).unwrap_err();
        assert_eq!(e.diagnostics[0].code, "fides-connector");
        assert!(e.to_string().contains("x.yml:1:1"), "{e}");
    }
}
