//! Writing YAML scalars that read back as the exact same string.

use std::fmt::Write;

/// `s` as a YAML scalar that any YAML 1.1 or 1.2 parser reads back as the string `s`, in block
/// and in flow context (inside `{ … }` and `[ … ]`): plain when that is unambiguous, else
/// double-quoted with escapes.
pub fn quote(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Plain scalars are allowed only for a conservative shape (letters, digits, `_`, `.`, `-`,
/// starting with a letter or `_`) that is not one of the words YAML 1.1 or 1.2 reads as a
/// boolean, null or number.
fn plain_is_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let special = [
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    // Numbers, `.inf`, `~` and the like start with a digit or a sign, refused above.
    !special.contains(&lower.as_str())
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Printable per YAML (c-printable), minus the characters some parsers treat as
            // line breaks or a byte-order mark.
            '\u{20}'..='\u{7e}' => out.push(c),
            '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..
                if !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.push(c)
            }
            c if u32::from(c) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_where_unambiguous() {
        for s in [
            "customer",
            "Email",
            "support_rep_id",
            "user.contact.email",
            "a-b",
        ] {
            assert_eq!(quote(s), s);
        }
    }

    #[test]
    fn quoted_where_a_parser_could_read_something_else() {
        for s in [
            "yes",
            "No",
            "null",
            "~",
            "1",
            "1e3",
            "0x1F",
            ".inf",
            "true",
            "a: b",
            "#x",
            "a #b",
            "with space",
            "",
            "-",
            "- x",
            "[x]",
            "{x}",
            "a,b",
            "'q'",
            "\"q\"",
            "ÆØÅ",
            "@x",
            "`x`",
            "!tag",
            "&a",
            "*a",
            "%x",
            "|",
            ">",
            "?",
            "numeric(10,2)",
            "Y",
            "On",
        ] {
            assert!(quote(s).starts_with('"'), "{s} -> {}", quote(s));
        }
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("a\nb\0\u{7f}\u{2028}"), r#""a\nb\0\x7f\u2028""#);
    }
}
