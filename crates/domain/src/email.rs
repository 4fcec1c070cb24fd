//! E-mail addresses.

use std::fmt;

/// An e-mail address that looks deliverable: one `@`, a non-empty local part, a domain with a
/// dot, no spaces or control characters. It is not RFC 5322 in full; it catches the typos that
/// matter in a policy file or a web form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an e-mail address")]
pub struct InvalidEmail(pub String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, InvalidEmail> {
        let s = s.trim();
        let err = || InvalidEmail(s.to_owned());
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || c == '@' || c == '<' || c == '>';
        if local.is_empty()
            || local.len() > 64
            || domain.len() > 253
            || s.chars().any(|c| c != '@' && bad_char(c))
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(err());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output hides the address: it is personal data when it belongs to a person, and debug
/// output ends up in logs.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.split_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(***@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        assert!(EmailAddress::parse("mail@impero.com").is_ok());
        for bad in [
            "",
            "mail",
            "@impero.com",
            "mail@",
            "mail@impero",
            "a b@c.dk",
            "a@b@c.dk",
            "a@.dk",
            "a@b..dk",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_local_part() {
        let e = EmailAddress::parse("morten@impero.com").unwrap();
        assert_eq!(format!("{e:?}"), "EmailAddress(***@impero.com)");
    }
}
