//! YAML text to [`PolicyFile`]s, and the files merged into one.

use crate::diagnostic::Diagnostic;
use crate::format::{Map, PolicyFile};
use crate::source::PolicySource;
use crate::span::{Loc, in_file};

/// Parses every file; a file that fails yields a located error and is left out.
pub(crate) fn parse_files(source: &PolicySource, diags: &mut Vec<Diagnostic>) -> Vec<PolicyFile> {
    let mut out = Vec::new();
    for (index, file) in source.files.iter().enumerate() {
        if is_blank(&file.text) {
            out.push(PolicyFile::default());
            continue;
        }
        let options = serde_saphyr::options! { strict_indentation: true, with_snippet: false };
        match in_file(index, || {
            serde_saphyr::from_str_with_options::<PolicyFile>(&file.text, options)
        }) {
            Ok(parsed) => out.push(parsed),
            Err(err) => diags.push(yaml_error(index, &err)),
        }
    }
    out
}

/// A file with nothing but comments and blank lines is an empty part of the policy.
fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

fn yaml_error(file: usize, err: &serde_saphyr::Error) -> Diagnostic {
    let (loc, message) = located_message(file, err);
    let (code, help) = classify(&message);
    let mut d = Diagnostic::error(code, loc, message);
    if let Some(help) = help {
        d = d.help(help);
    }
    d
}

/// Where the parser failed, and its message without the position it starts with (the
/// diagnostic shows that already).
pub(crate) fn located_message(file: usize, err: &serde_saphyr::Error) -> (Loc, String) {
    let (line, col) = err
        .location()
        .map_or((1, 1), |l| (l.line() as u32, l.column() as u32));
    let full = err.to_string();
    let message = full.strip_prefix("error: ").unwrap_or(&full);
    let message = match message.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => message,
    };
    let message = message.lines().next().unwrap_or(message).trim().to_owned();
    (Loc { file, line, col }, message)
}

/// Names the kind of YAML mistake and says what to do about it.
fn classify(message: &str) -> (&'static str, Option<&'static str>) {
    let m = message.to_ascii_lowercase();
    if m.contains("duplicate mapping key") {
        (
            "duplicate-key",
            Some("each key may appear once per mapping: remove or rename one of them"),
        )
    } else if m.contains("unknown field") {
        (
            "unknown-field",
            Some(
                "check the spelling against the fields listed; the full format is in schema/policy.schema.json",
            ),
        )
    } else if m.contains("missing field") {
        (
            "missing-field",
            Some("add the field; the full format is in schema/policy.schema.json"),
        )
    } else if m.contains("tab") {
        (
            "bad-indentation",
            Some("indent YAML with spaces, never tabs"),
        )
    } else if m.contains("indent")
        || m.contains("did not find expected key")
        || m.contains("mapping values are not allowed")
        || m.contains("block")
    {
        (
            "bad-indentation",
            Some(
                "check the indentation: the keys of one mapping must start in the same column, and nested entries further right",
            ),
        )
    } else if m.starts_with("unknown ")
        || m.contains("is not a")
        || m.contains("invalid")
        || m.contains("expected")
    {
        (
            "wrong-type",
            Some(
                "this value has the wrong type or spelling for this field; see the expected values in the message",
            ),
        )
    } else {
        ("yaml-syntax", Some("this is not valid YAML at this point"))
    }
}

/// Merges the files of a folder: single sections may appear once, keyed entries are
/// concatenated (duplicate ids are reported by `resolve`, which knows every key's location).
pub(crate) fn merge(
    source: &PolicySource,
    files: Vec<PolicyFile>,
    diags: &mut Vec<Diagnostic>,
) -> PolicyFile {
    let mut acc = PolicyFile::default();
    for file in files {
        macro_rules! single {
            ($($field:ident),+) => {$(
                if let Some(value) = file.$field {
                    match &acc.$field {
                        Some(first) => diags.push(
                            Diagnostic::error("duplicate-section", value.loc, format!("the `{}` section appears a second time", stringify!($field)))
                                .help(format!("keep one `{}` section; the first is at {}:{}", stringify!($field), source.path(first.loc.file), first.loc.line)),
                        ),
                        None => acc.$field = Some(value),
                    }
                }
            )+};
        }
        single!(
            ombud,
            notice,
            controller,
            contact_point,
            supervisory_authority,
            security,
            consent,
            rights,
            marketing,
            erasure
        );
        extend(&mut acc.data_subjects, file.data_subjects);
        extend(&mut acc.data_categories, file.data_categories);
        extend(&mut acc.sources, file.sources);
        extend(&mut acc.purposes, file.purposes);
        extend(&mut acc.recipients, file.recipients);
        extend(&mut acc.retention, file.retention);
        extend(&mut acc.legal_holds, file.legal_holds);
        extend(&mut acc.cookie_categories, file.cookie_categories);
        acc.cookies.extend(file.cookies);
        extend(&mut acc.collection_points, file.collection_points);
        extend(&mut acc.systems, file.systems);
    }
    acc
}

fn extend<V>(into: &mut Map<V>, from: Map<V>) {
    into.0.extend(from.0);
}
