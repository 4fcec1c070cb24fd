//! Letter templates: the built-in English and Danish texts, operators' overrides, and
//! rendering them into a subject and a plain-text body.
//!
//! A template is a plain-text file. Its first line is `Subject: …`, then comes a blank line,
//! then the body. Both are minijinja templates rendered with a [`LetterContext`]; a variable
//! that does not exist is an error, not an empty string.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, State, UndefinedBehavior, Value, context};
use serde::{Deserialize, Serialize};

use crate::LetterContext;

/// The languages with built-in templates. Any other language renders in English.
pub const LANGUAGES: &[&str] = &["en", "da"];

/// Which letter to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// To the person: we received your request, and by when we answer.
    Acknowledgement,
    /// To the person: the code that proves the e-mail address is theirs.
    VerificationCode,
    /// To the person: the deadline is extended, and why (GDPR Art. 12(3)).
    ExtensionNotice,
    /// To the person: the request is done.
    Completion,
    /// To the person: we do not act on the request, why, and where to complain (Art. 12(4)).
    Refusal,
    /// To the person: a fee is charged because the request is manifestly unfounded or
    /// excessive (Art. 12(5)).
    FeeNotice,
    /// To the person: we forwarded your request to the controller of the data.
    Forwarded,
    /// To the customer that is the controller: a request for you, received by us as processor.
    ForwardToController,
    /// To the person: the unverified request has expired.
    Expired,
    /// To the privacy contact point: a request's deadline is coming.
    Reminder,
    /// To the person: staff need more information to handle the request (a letter staff write
    /// from this template, with their question as `note`).
    InformationRequest,
}

const ALL: &[LetterKind] = &[
    LetterKind::Acknowledgement,
    LetterKind::VerificationCode,
    LetterKind::ExtensionNotice,
    LetterKind::Completion,
    LetterKind::Refusal,
    LetterKind::FeeNotice,
    LetterKind::Forwarded,
    LetterKind::ForwardToController,
    LetterKind::Expired,
    LetterKind::Reminder,
    LetterKind::InformationRequest,
];

impl LetterKind {
    /// The template's file name without `.txt`, e.g. `"verification_code"`.
    pub fn key(self) -> &'static str {
        match self {
            LetterKind::Acknowledgement => "acknowledgement",
            LetterKind::VerificationCode => "verification_code",
            LetterKind::ExtensionNotice => "extension_notice",
            LetterKind::Completion => "completion",
            LetterKind::Refusal => "refusal",
            LetterKind::FeeNotice => "fee_notice",
            LetterKind::Forwarded => "forwarded",
            LetterKind::ForwardToController => "forward_to_controller",
            LetterKind::Expired => "expired",
            LetterKind::Reminder => "reminder",
            LetterKind::InformationRequest => "information_request",
        }
    }

    /// Every kind, in a fixed order.
    pub fn all() -> &'static [LetterKind] {
        ALL
    }

    /// The kind whose [`key`](Self::key) this is.
    pub fn from_key(key: &str) -> Option<LetterKind> {
        ALL.iter().copied().find(|k| k.key() == key)
    }

    /// The context fields this letter cannot do without; [`Letters::render`] refuses a
    /// context where one is unset.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            LetterKind::VerificationCode => &["code", "code_minutes"],
            LetterKind::ExtensionNotice => &["request.extended_due", "reason"],
            LetterKind::Refusal => &["reason"],
            LetterKind::FeeNotice => &["fee", "reason"],
            LetterKind::Forwarded | LetterKind::ForwardToController => &["forwarded_to"],
            LetterKind::InformationRequest => &["note"],
            LetterKind::Acknowledgement
            | LetterKind::Completion
            | LetterKind::Expired
            | LetterKind::Reminder => &[],
        }
    }
}

impl fmt::Display for LetterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A rendered letter.
#[derive(Clone, PartialEq, Eq)]
pub struct Letter {
    /// One line, without the `Subject:` prefix.
    pub subject: String,
    /// The body: lines without trailing spaces, no runs of blank lines, ending in one newline.
    pub text: String,
}

// The body may hold a verification code or a person's name.
impl fmt::Debug for Letter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Letter")
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

/// A template that cannot be read, compiled or rendered. The message names the template as
/// `<lang>/<key>.txt`, the override file it came from, and the line when known.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// An override directory or file could not be read.
    #[error("letter templates: cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The override directory holds something that is not a letter template.
    #[error("letter templates: {}: {message}", .path.display())]
    Unexpected { path: PathBuf, message: String },
    /// A template's syntax, a variable it uses, its layout or its output is wrong.
    #[error("letter template {template}{}: {message}", location(.file, .line))]
    Template {
        /// `<lang>/<key>.txt`.
        template: String,
        /// The override file, when the template is not a built-in one.
        file: Option<PathBuf>,
        line: Option<usize>,
        message: String,
    },
    /// [`Letters::render`] was given a context without a field the letter needs.
    #[error("letter {template} needs {}", .fields.join(", "))]
    Missing {
        template: String,
        fields: Vec<&'static str>,
    },
}

fn location(file: &Option<PathBuf>, line: &Option<usize>) -> String {
    let mut out = String::new();
    if let Some(file) = file {
        out.push_str(&format!(" ({})", file.display()));
    }
    if let Some(line) = line {
        out.push_str(&format!(", line {line}"));
    }
    out
}

/// The letter templates, compiled and checked. Cheap to clone.
#[derive(Clone)]
pub struct Letters {
    inner: Arc<Inner>,
}

struct Inner {
    env: Environment<'static>,
    /// Template name → the override file it came from.
    files: HashMap<String, PathBuf>,
}

impl fmt::Debug for Letters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut overrides: Vec<&String> = self.inner.files.keys().collect();
        overrides.sort();
        f.debug_struct("Letters")
            .field("overrides", &overrides)
            .finish()
    }
}

impl Letters {
    /// Built-in templates (en and da), with any files in `overrides` (same names:
    /// `<lang>/<key>.txt`) taking their place. Every template is rendered at load with a
    /// sample context in which every optional field is set, and again with one in which none
    /// is, so a broken override fails here with its file, line and minijinja's message.
    ///
    /// In `overrides`, hidden entries and files at the top (a README) are skipped, as are
    /// files in a language folder that do not end in `.txt`. A folder for another language,
    /// a `.txt` file at the top, or a `.txt` file that is no letter's is an error.
    pub fn load(overrides: Option<&Path>) -> Result<Letters, TemplateError> {
        let mut sources: Vec<(String, String, Option<PathBuf>)> = Vec::new();
        for lang in LANGUAGES {
            for kind in ALL {
                sources.push((
                    template_name(lang, *kind),
                    builtin(lang, *kind).to_owned(),
                    None,
                ));
            }
        }
        if let Some(dir) = overrides {
            for (name, source, path) in read_overrides(dir)? {
                let slot = sources
                    .iter_mut()
                    .find(|(n, _, _)| *n == name)
                    .expect("read_overrides only returns known names");
                *slot = (name, source, Some(path));
            }
        }

        let mut env = environment();
        let mut files = HashMap::new();
        for (name, source, path) in sources {
            check_layout(&name, &source, path.as_ref())?;
            env.add_template_owned(name.clone(), source)
                .map_err(|e| from_minijinja(&name, path.as_ref(), &e))?;
            if let Some(path) = path {
                files.insert(name, path);
            }
        }
        let letters = Letters {
            inner: Arc::new(Inner { env, files }),
        };
        for lang in LANGUAGES {
            for kind in ALL {
                letters.try_out(*kind, lang)?;
            }
        }
        Ok(letters)
    }

    /// Renders one letter. `lang` is a language tag (`"da"`, `"da-DK"`, `"en"`); a language
    /// without templates gets English.
    pub fn render(
        &self,
        kind: LetterKind,
        lang: &str,
        ctx: &LetterContext,
    ) -> Result<Letter, TemplateError> {
        let lang = pick_language(lang);
        let name = template_name(lang, kind);
        let missing = ctx.missing(kind.required_fields());
        if !missing.is_empty() {
            return Err(TemplateError::Missing {
                template: name,
                fields: missing,
            });
        }
        let file = self.inner.files.get(&name);
        let template = self
            .inner
            .env
            .get_template(&name)
            .map_err(|e| from_minijinja(&name, file, &e))?;
        let rendered = template
            .render(context! { lang => lang, ..Value::from(Serde(ctx)) })
            .map_err(|e| from_minijinja(&name, file, &e))?;
        let letter = split(&rendered).map_err(|message| TemplateError::Template {
            template: name.clone(),
            file: file.cloned(),
            line: None,
            message,
        })?;
        if kind == LetterKind::VerificationCode
            && let Some(code) = ctx.code.as_deref()
            && letter.subject.contains(code.trim())
        {
            return Err(TemplateError::Template {
                template: name,
                file: file.cloned(),
                line: Some(1),
                message: "the verification code must not be in the subject".into(),
            });
        }
        Ok(letter)
    }

    /// The built-in template text for a letter, e.g. to start an override from. `None` for a
    /// language without built-in templates.
    pub fn builtin_source(kind: LetterKind, lang: &str) -> Option<&'static str> {
        LANGUAGES
            .iter()
            .find(|l| **l == lang)
            .map(|l| builtin(l, kind))
    }

    /// Renders `kind` in `lang` with both sample contexts and checks what the law and the
    /// security rules ask of the output.
    fn try_out(&self, kind: LetterKind, lang: &str) -> Result<(), TemplateError> {
        let name = template_name(lang, kind);
        let file = self.inner.files.get(&name);
        let fail = |line: Option<usize>, message: String| TemplateError::Template {
            template: name.clone(),
            file: file.cloned(),
            line,
            message,
        };

        let full = LetterContext::sample_full();
        let letter = self.render(kind, lang, &full)?;

        // Branches the full sample did not take may still name a variable that does not exist.
        let template = self
            .inner
            .env
            .get_template(&name)
            .map_err(|e| from_minijinja(&name, file, &e))?;
        let known = context! { lang => lang, ..Value::from(Serde(&full)) };
        let mut unknown: Vec<String> = template
            .undeclared_variables(true)
            .into_iter()
            .filter(|path| !self.is_known(&known, path))
            .collect();
        unknown.sort();
        if let Some(path) = unknown.first() {
            return Err(fail(
                line_of(template.source(), path),
                format!("unknown variable `{path}`"),
            ));
        }

        let minimal = LetterContext::sample_minimal(kind.required_fields());
        self.render(kind, lang, &minimal)?;

        let code = full.code.as_deref().unwrap_or_default();
        match kind {
            LetterKind::VerificationCode if !letter.text.contains(code) => {
                Err(fail(None, "the body must show `{{ code }}`".into()))
            }
            LetterKind::Refusal | LetterKind::FeeNotice
                if !letter.text.contains(&full.authority.name) =>
            {
                Err(fail(
                    None,
                    "the body must name the supervisory authority (`{{ authority.name }}`) \
                     the person may complain to (GDPR Art. 12(4))"
                        .into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether a dotted variable path from `undeclared_variables` exists in the context or is
    /// a global of the environment.
    fn is_known(&self, ctx: &Value, path: &str) -> bool {
        let mut parts = path.split('.');
        let root = parts.next().unwrap_or_default();
        if self.inner.env.globals().any(|(name, _)| name == root) {
            return true;
        }
        let mut value = match ctx.get_attr(root) {
            Ok(v) if !v.is_undefined() => v,
            _ => return false,
        };
        for part in parts {
            // Past a string or a list the rest is a method or an index, not a field.
            if value.kind() != minijinja::value::ValueKind::Map {
                return true;
            }
            value = match value.get_attr(part) {
                Ok(v) if !v.is_undefined() => v,
                _ => return false,
            };
        }
        true
    }
}

fn template_name(lang: &str, kind: LetterKind) -> String {
    format!("{lang}/{}.txt", kind.key())
}

/// `da-DK` → `da`; anything without templates → `en`.
fn pick_language(tag: &str) -> &'static str {
    let primary = tag.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .copied()
        .find(|l| l.eq_ignore_ascii_case(primary))
        .unwrap_or("en")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_debug(true);
    env.add_filter("date", date_filter);
    env.add_filter("right_name", right_name_filter);
    env.add_filter("channel_name", channel_name_filter);
    env
}

/// Turns a minijinja error into ours with the line and, where minijinja knows it, the piece
/// of the template that failed. Never minijinja's debug info: that holds the context's values.
fn from_minijinja(name: &str, file: Option<&PathBuf>, err: &minijinja::Error) -> TemplateError {
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    if let (Some(range), Some(source)) = (err.range(), err.template_source())
        && let Some(snippet) = source.get(range)
        && !snippet.is_empty()
        && !snippet.contains('\n')
    {
        message.push_str(&format!(" (at `{snippet}`)"));
    }
    TemplateError::Template {
        template: name.to_owned(),
        file: file.cloned(),
        line: err.line(),
        message,
    }
}

/// The first line must be `Subject: …` and the second blank.
fn check_layout(name: &str, source: &str, file: Option<&PathBuf>) -> Result<(), TemplateError> {
    let fail = |line: usize, message: &str| TemplateError::Template {
        template: name.to_owned(),
        file: file.cloned(),
        line: Some(line),
        message: message.to_owned(),
    };
    let mut lines = source.lines();
    if !lines.next().unwrap_or_default().starts_with("Subject:") {
        return Err(fail(1, "the first line must be `Subject: …`"));
    }
    if !lines.next().unwrap_or_default().trim().is_empty() {
        return Err(fail(2, "the subject line must be followed by a blank line"));
    }
    Ok(())
}

/// Splits a rendered template into subject and body, and tidies the body's blank lines.
fn split(rendered: &str) -> Result<Letter, String> {
    let rendered = rendered.replace("\r\n", "\n");
    let (first, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
    let subject = first
        .strip_prefix("Subject:")
        .ok_or("the first line of the output must be `Subject: …`")?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    let mut text = String::with_capacity(rest.len());
    let mut blank_run = true; // drops leading blank lines
    for line in rest.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank_run {
                text.push('\n');
            }
            blank_run = true;
        } else {
            text.push_str(line);
            text.push('\n');
            blank_run = false;
        }
    }
    while text.ends_with("\n\n") {
        text.pop();
    }
    if text.is_empty() {
        return Err("the body is empty".into());
    }
    Ok(Letter { subject, text })
}

/// The first line of `source` that mentions `path`, or its first part.
fn line_of(source: &str, path: &str) -> Option<usize> {
    let root = path.split('.').next().unwrap_or(path);
    [path, root].iter().find_map(|needle| {
        source
            .lines()
            .position(|line| line.contains(needle))
            .map(|i| i + 1)
    })
}

fn read_overrides(dir: &Path) -> Result<Vec<(String, String, PathBuf)>, TemplateError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TemplateError::Read { path, source }
    };
    let mut found = Vec::new();
    for entry in sorted_entries(dir).map_err(read_err(dir))? {
        let file_name = entry.file_name().unwrap_or_default().to_string_lossy();
        if file_name.starts_with('.') {
            continue;
        }
        if !entry.is_dir() {
            if file_name.ends_with(".txt") {
                return Err(TemplateError::Unexpected {
                    path: entry.clone(),
                    message: format!(
                        "letter templates go in a language folder, e.g. en/{file_name}"
                    ),
                });
            }
            continue;
        }
        let Some(lang) = LANGUAGES.iter().find(|l| **l == file_name) else {
            return Err(TemplateError::Unexpected {
                path: entry.clone(),
                message: format!(
                    "not a language with letters (known: {})",
                    LANGUAGES.join(", ")
                ),
            });
        };
        for file in sorted_entries(&entry).map_err(read_err(&entry))? {
            let file_name = file.file_name().unwrap_or_default().to_string_lossy();
            let Some(key) = file_name.strip_suffix(".txt") else {
                continue;
            };
            if file_name.starts_with('.') {
                continue;
            }
            let Some(kind) = LetterKind::from_key(key) else {
                let known: Vec<&str> = ALL.iter().map(|k| k.key()).collect();
                return Err(TemplateError::Unexpected {
                    path: file.clone(),
                    message: format!(
                        "not a letter template (known: {}, each ending in .txt)",
                        known.join(", ")
                    ),
                });
            };
            let source = std::fs::read_to_string(&file).map_err(read_err(&file))?;
            found.push((
                template_name(lang, kind),
                source.replace("\r\n", "\n"),
                file,
            ));
        }
    }
    Ok(found)
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

/// `{{ "2026-04-15"|date }}` → "15 April 2026" or "15. april 2026".
fn date_filter(state: &State, value: Value) -> Value {
    let Some((year, month, day)) = value.as_str().and_then(parse_date) else {
        return value;
    };
    let da = letter_language(state) == "da";
    let months = if da { MONTHS_DA } else { MONTHS_EN };
    let month = months[usize::from(month - 1)];
    Value::from(if da {
        format!("{day}. {month} {year}")
    } else {
        format!("{day} {month} {year}")
    })
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_DA: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];

fn parse_date(s: &str) -> Option<(u16, u8, u8)> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `{{ request.right|right_name }}` → "the right of access" or "retten til indsigt".
fn right_name_filter(state: &State, value: Value) -> Value {
    let Some(right) = value.as_str().and_then(right_key) else {
        return value;
    };
    let da = letter_language(state) == "da";
    let name = match (right, da) {
        ("access", false) => "the right of access",
        ("access", true) => "retten til indsigt",
        ("rectification", false) => "the right to rectification",
        ("rectification", true) => "retten til berigtigelse",
        ("erasure", false) => "the right to erasure",
        ("erasure", true) => "retten til sletning",
        ("restriction", false) => "the right to restriction of processing",
        ("restriction", true) => "retten til begrænsning af behandling",
        ("objection", false) => "the right to object",
        ("objection", true) => "retten til indsigelse",
        ("portability", false) => "the right to data portability",
        ("portability", true) => "retten til dataportabilitet",
        ("automated_decision", false) => {
            "the right not to be subject to a decision based solely on automated processing"
        }
        ("automated_decision", true) => {
            "retten til ikke at være genstand for en afgørelse, der alene er baseret på \
             automatisk behandling"
        }
        _ => return value,
    };
    Value::from(name)
}

/// The right's key from a key or an English label, case and separators ignored.
fn right_key(label: &str) -> Option<&'static str> {
    let norm: String = label
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    let norm = norm
        .trim_start_matches("the ")
        .trim_start_matches("right of ")
        .trim_start_matches("right to ")
        .trim();
    Some(match norm {
        "access" => "access",
        "rectification" => "rectification",
        "erasure" => "erasure",
        "restriction" | "restriction of processing" => "restriction",
        "objection" | "object" => "objection",
        "portability" | "data portability" => "portability",
        "automated decision"
        | "automated decisions"
        | "automated decision making"
        | "automated decision-making" => "automated_decision",
        _ => return None,
    })
}

/// `{{ request.channel|channel_name }}` → "web form" or "webformular".
fn channel_name_filter(state: &State, value: Value) -> Value {
    let Some(channel) = value.as_str() else {
        return value;
    };
    let da = letter_language(state) == "da";
    let norm = channel.trim().to_lowercase().replace(['_', '-'], " ");
    let name = match (norm.as_str(), da) {
        ("web" | "web form" | "webform" | "form" | "privacy centre" | "privacy center", false) => {
            "web form"
        }
        ("web" | "web form" | "webform" | "form" | "privacy centre" | "privacy center", true) => {
            "webformular"
        }
        ("email" | "e mail", _) => "e-mail",
        ("phone" | "telephone", false) => "phone",
        ("phone" | "telephone", true) => "telefon",
        ("letter" | "post", false) => "letter",
        ("letter" | "post", true) => "brev",
        ("in person", false) => "in person",
        ("in person", true) => "personligt fremmøde",
        ("api", _) => "API",
        _ => return value,
    };
    Value::from(name)
}

fn letter_language(state: &State) -> &'static str {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(pick_language))
        .unwrap_or("en")
}

macro_rules! builtins {
    ($($kind:ident => $key:literal),* $(,)?) => {
        fn builtin(lang: &str, kind: LetterKind) -> &'static str {
            match (lang, kind) {
                $(
                    ("da", LetterKind::$kind) => include_str!(concat!("../templates/da/", $key, ".txt")),
                    (_, LetterKind::$kind) => include_str!(concat!("../templates/en/", $key, ".txt")),
                )*
            }
        }
    };
}

builtins! {
    Acknowledgement => "acknowledgement",
    VerificationCode => "verification_code",
    ExtensionNotice => "extension_notice",
    Completion => "completion",
    Refusal => "refusal",
    FeeNotice => "fee_notice",
    Forwarded => "forwarded",
    ForwardToController => "forward_to_controller",
    Expired => "expired",
    Reminder => "reminder",
    InformationRequest => "information_request",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for kind in LetterKind::all() {
            assert_eq!(LetterKind::from_key(kind.key()), Some(*kind));
        }
        assert_eq!(LetterKind::all().len(), 11);
        assert_eq!(LetterKind::from_key("nope"), None);
    }

    #[test]
    fn languages_fall_back_to_english() {
        assert_eq!(pick_language("da"), "da");
        assert_eq!(pick_language("da-DK"), "da");
        assert_eq!(pick_language("DA_dk"), "da");
        assert_eq!(pick_language("de"), "en");
        assert_eq!(pick_language(""), "en");
    }

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(parse_date("2026-04-15"), Some((2026, 4, 15)));
        for bad in [
            "2026-4-15",
            "2026-13-01",
            "2026-04-00",
            "20260415",
            "x",
            "2026-04-15-1",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn right_labels_map_to_keys() {
        assert_eq!(right_key("Access"), Some("access"));
        assert_eq!(right_key("right to erasure"), Some("erasure"));
        assert_eq!(right_key("Data portability"), Some("portability"));
        assert_eq!(right_key("automated_decision"), Some("automated_decision"));
        assert_eq!(right_key("Adgang"), None);
    }

    #[test]
    fn split_tidies_the_body() {
        let letter = split("Subject:  Hello   there \n\n\nLine one  \n\n\n\nLine two\n\n").unwrap();
        assert_eq!(letter.subject, "Hello there");
        assert_eq!(letter.text, "Line one\n\nLine two\n");
        assert!(split("Hello\n\nBody").is_err());
        assert!(split("Subject: \n\nBody").is_err());
        assert!(split("Subject: x\n\n  \n").is_err());
    }
}
