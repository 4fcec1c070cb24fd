//! A first data map of a live database, for a person to review (`ombud datamap discover`).
//!
//! Proposals come from column names (any case: `email`, `Email`, `EMAIL_ADDRESS`, Chinook's
//! `FirstName`) and declared types. Only keys of fideslang's default taxonomy are proposed,
//! and only ones it has not deprecated. What is drafted:
//! - the tables with an identity column (e-mail, phone), and the tables whose foreign keys lead
//!   to them (their invoices, their invoices' lines...), with a reference `direction: from` on
//!   the foreign key: a search starting from the person follows it from the referenced row to
//!   the rows here, never the other way;
//! - a foreign key between two tables that each hold people (a customer's support rep, an
//!   employee's manager) is *not* followed: it is written as a comment to uncomment, since
//!   following it would export or erase another person's row;
//! - other tables with personal-looking columns, marked for review; the rest are listed in a
//!   closing comment.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::check::{TypeFamily, type_family};
use crate::introspect::{LiveColumn, LiveSchema, LiveTable};
use crate::yaml::quote;

/// What the draft says about one column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Proposal {
    pub categories: Vec<&'static str>,
    pub identity: Option<&'static str>,
    /// Looks personal, but no category is proposed.
    pub review: bool,
}

/// Lowercase words of a name: `SupportRepId` → `support rep id`, `IPAddress` → `ip address`,
/// `e-mail_2` → `e mail 2`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty()
            && let Some(&prev) = i.checked_sub(1).and_then(|p| chars.get(p))
        {
            let next = chars.get(i + 1).copied();
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_alphabetic() != c.is_alphabetic())
                // The last capital of a run that starts a word: `IPAddress`.
                || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase));
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

const PERSON_TABLES: &[&str] = &[
    "customer",
    "customers",
    "user",
    "users",
    "person",
    "people",
    "persons",
    "employee",
    "employees",
    "member",
    "members",
    "contact",
    "contacts",
    "client",
    "clients",
    "patient",
    "patients",
    "applicant",
    "applicants",
    "candidate",
    "candidates",
    "visitor",
    "visitors",
    "subscriber",
    "subscribers",
    "account",
    "accounts",
    "profile",
    "profiles",
    "staff",
    "student",
    "students",
    "guest",
    "guests",
    "lead",
    "leads",
];

/// Words of columns that hold personal data of a kind no rule classifies.
const PERSONAL_WORDS: &[&str] = &[
    "note",
    "notes",
    "comment",
    "comments",
    "message",
    "description",
    "bio",
    "about",
    "remark",
    "remarks",
    "body",
    "content",
    "photo",
    "avatar",
    "image",
    "picture",
    "signature",
    "nationality",
    "religion",
    "health",
    "salary",
    "income",
    "title",
    "age",
];

fn any(w: &[String], set: &[&str]) -> bool {
    w.iter().any(|x| set.contains(&x.as_str()))
}

fn has(w: &[String], word: &str) -> bool {
    w.iter().any(|x| x == word)
}

/// Whether two words follow each other: `first name`.
fn pair(w: &[String], a: &[&str], b: &str) -> bool {
    w.windows(2)
        .any(|p| a.contains(&p[0].as_str()) && p[1] == b)
}

fn is_textual(c: &LiveColumn) -> bool {
    matches!(
        type_family(&c.data_type),
        TypeFamily::Text | TypeFamily::Other(_)
    )
}

/// The categories of one column, by its name and type.
pub(crate) fn classify(table: &LiveTable, column: &LiveColumn, person_table: bool) -> Proposal {
    let w = words(&column.name);
    let compact: String = w.concat();
    let one = |c: &'static str| Proposal {
        categories: vec![c],
        ..Proposal::default()
    };
    // A column about an e-mail address or phone rather than the address itself
    // (`email_verified`, `phone_opt_in`, `EmailCount`).
    let qualifier = any(
        &w,
        &[
            "verified",
            "confirmed",
            "opt",
            "optin",
            "consent",
            "sent",
            "count",
            "bounced",
            "status",
            "at",
            "date",
            "flag",
            "is",
            "has",
            "type",
            "hash",
            "token",
        ],
    );

    if compact.contains("password")
        || any(&w, &["passwd", "pwd", "passphrase", "passcode"])
        || (person_table && any(&w, &["hash", "salt", "secret"]))
    {
        return one("user.authorization.credentials");
    }
    if (has(&w, "email")
        || compact.contains("email")
        || pair(&w, &["e"], "mail")
        || has(&w, "mail"))
        && !qualifier
        && is_textual(column)
    {
        return Proposal {
            categories: vec!["user.contact.email"],
            identity: Some("email"),
            review: false,
        };
    }
    if has(&w, "fax") && !qualifier {
        return one("user.contact.fax_number");
    }
    if (compact.contains("phone") || any(&w, &["mobile", "cell", "tel", "telephone", "msisdn"]))
        && !qualifier
    {
        return Proposal {
            categories: vec!["user.contact.phone_number"],
            identity: (compact.contains("phone") && is_textual(column)).then_some("phone"),
            review: false,
        };
    }
    if any(&w, &["username", "login"]) || pair(&w, &["user"], "name") {
        return one("user.account.username");
    }
    if any(
        &w,
        &[
            "company",
            "employer",
            "organisation",
            "organization",
            "workplace",
        ],
    ) {
        return one("user.professional_information.workplace");
    }
    if pair(&w, &["job"], "title") || compact == "jobtitle" {
        return one("user.professional_information.job_title");
    }
    if pair(&w, &["first", "given", "fore"], "name")
        || matches!(
            compact.as_str(),
            "firstname" | "givenname" | "forename" | "fname"
        )
    {
        return one("user.name.first");
    }
    if pair(&w, &["last", "family", "sur"], "name")
        || matches!(
            compact.as_str(),
            "lastname" | "surname" | "familyname" | "lname"
        )
    {
        return one("user.name.last");
    }
    if person_table
        && (matches!(
            compact.as_str(),
            "name" | "fullname" | "displayname" | "middlename" | "nickname" | "contactname"
        ) || pair(
            &w,
            &["full", "display", "middle", "nick", "contact"],
            "name",
        ))
    {
        return one("user.name");
    }
    if has(&w, "ip")
        || compact.contains("ipaddress")
        || compact.contains("ipaddr")
        || compact == "remoteaddr"
    {
        return one("user.device.ip_address");
    }
    if compact.contains("useragent") {
        return one("user.device");
    }
    if any(&w, &["birth", "dob", "birthday", "birthdate", "birthdays"])
        || compact.contains("dateofbirth")
    {
        return one("user.demographic.date_of_birth");
    }
    if any(
        &w,
        &["zip", "postal", "postcode", "postalcode", "zipcode", "plz"],
    ) {
        return one("user.contact.address.postal_code");
    }
    if any(&w, &["city", "town"]) {
        return one("user.contact.address.city");
    }
    if has(&w, "country") {
        return one("user.contact.address.country");
    }
    if any(
        &w,
        &[
            "address", "addr", "street", "address1", "address2", "line1", "line2",
        ],
    ) {
        return one("user.contact.address.street");
    }
    if any(&w, &["state", "province", "region", "county"]) {
        // `state` is an address only beside other parts of one (else it is a status).
        let address_nearby = table.columns.iter().any(|c| {
            let cw = words(&c.name);
            any(
                &cw,
                &[
                    "city", "town", "zip", "postal", "postcode", "street", "address", "country",
                ],
            )
        });
        if address_nearby {
            return one("user.contact.address.state");
        }
    }
    if any(&w, &["gender", "sex"]) {
        return one("user.demographic.gender");
    }
    if any(&w, &["language", "locale"]) && person_table {
        return one("user.demographic.language");
    }
    if any(
        &w,
        &["latitude", "longitude", "lat", "lng", "lon", "geolocation"],
    ) {
        return one("user.location.precise");
    }
    if any(&w, &["iban", "bic"]) || pair(&w, &["bank", "account"], "number") {
        return one("user.financial.bank_account");
    }
    if has(&w, "card") {
        return one("user.financial.credit_card");
    }
    if any(&w, &["ssn", "cpr"]) || pair(&w, &["national", "social"], "id") {
        return one("user.government_id.national_identification_number");
    }
    if has(&w, "passport") {
        return one("user.government_id.passport_number");
    }
    Proposal {
        review: any(&w, PERSONAL_WORDS),
        ..Proposal::default()
    }
}

struct Drafted<'a> {
    table: &'a LiveTable,
    proposals: Vec<Proposal>,
    identity: bool,
    /// Reached by a foreign key from a table holding people.
    reached: bool,
}

impl LiveSchema {
    /// A draft of the system `system_id` in the policy's YAML, to go under `systems:` (each
    /// line indented by two spaces). Every name is quoted where YAML needs it, so odd table and
    /// column names read back exactly.
    pub fn draft_yaml(&self, system_id: &str, connector: &str) -> String {
        let person_named = |t: &LiveTable| {
            let w = words(&t.name);
            w.last()
                .is_some_and(|l| PERSON_TABLES.contains(&l.as_str()))
        };
        let mut drafted: Vec<Drafted> = self
            .tables
            .iter()
            .map(|t| {
                let person = person_named(t)
                    || t.columns
                        .iter()
                        .any(|c| classify(t, c, false).identity.is_some());
                let proposals: Vec<Proposal> =
                    t.columns.iter().map(|c| classify(t, c, person)).collect();
                let identity = proposals.iter().any(|p| p.identity.is_some());
                Drafted {
                    table: t,
                    proposals,
                    identity,
                    reached: false,
                }
            })
            .collect();

        // Tables whose foreign keys lead to a table holding people, transitively.
        let mut in_map: BTreeSet<&str> = drafted
            .iter()
            .filter(|d| d.identity)
            .map(|d| d.table.name.as_str())
            .collect();
        loop {
            let mut grew = false;
            for d in &mut drafted {
                if !in_map.contains(d.table.name.as_str())
                    && d.table
                        .foreign_keys
                        .iter()
                        .any(|fk| fk.schema.is_none() && in_map.contains(fk.table.as_str()))
                {
                    d.reached = true;
                    in_map.insert(&d.table.name);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let identity_tables: BTreeSet<&str> = drafted
            .iter()
            .filter(|d| d.identity)
            .map(|d| d.table.name.as_str())
            .collect();

        let mut out = String::new();
        let _ = writeln!(
            out,
            "  # Drafted from the live {} schema {}: review every entry before use.",
            self.dialect,
            quote(&self.schema)
        );
        let _ = writeln!(out, "  {}:", quote(system_id));
        let _ = writeln!(out, "    name: {}  # review", quote(system_id));
        let _ = writeln!(out, "    connector: {}", quote(connector));
        let _ = writeln!(out, "    collections:");
        let mut left_out = Vec::new();
        let mut any_collection = false;
        for d in &drafted {
            let personal = d.proposals.iter().any(|p| !p.categories.is_empty());
            let included = d.identity || d.reached || personal;
            if !included {
                left_out.push(quote(&d.table.name));
                continue;
            }
            any_collection = true;
            let t = d.table;
            let _ = write!(out, "      {}:", quote(&t.name));
            if !d.identity && !d.reached {
                out.push_str("  # review: personal data, but no identity or reference leads here");
            }
            out.push('\n');
            if !self.default_schema {
                let _ = writeln!(out, "        schema: {}", quote(&self.schema));
            }
            if t.primary_key.is_empty() {
                let _ = writeln!(
                    out,
                    "        # review: no primary key; ombud addresses rows by their primary key"
                );
            }
            let _ = writeln!(out, "        fields:");
            for (c, p) in t.columns.iter().zip(&d.proposals) {
                let mut attrs: Vec<String> = Vec::new();
                if t.primary_key.contains(&c.name) {
                    attrs.push("primary_key: true".to_owned());
                }
                if !p.categories.is_empty() {
                    attrs.push(format!("categories: [{}]", p.categories.join(", ")));
                }
                if let Some(id) = p.identity {
                    attrs.push(format!("identity: {id}"));
                }
                let mut references = Vec::new();
                let mut not_followed = Vec::new();
                for fk in &t.foreign_keys {
                    let Some(i) = fk.columns.iter().position(|x| x == &c.name) else {
                        continue;
                    };
                    if fk.schema.is_some() || !in_map.contains(fk.table.as_str()) {
                        continue;
                    }
                    let parent_column = fk.references.get(i).map_or("", String::as_str);
                    let two_people = identity_tables.contains(t.name.as_str())
                        && identity_tables.contains(fk.table.as_str());
                    if two_people {
                        not_followed.push(format!(
                            "{{ collection: {}, field: {}, direction: to }}",
                            quote(&fk.table),
                            quote(parent_column)
                        ));
                    } else {
                        references.push(format!(
                            "{{ collection: {}, field: {}, direction: from }}",
                            quote(&fk.table),
                            quote(parent_column)
                        ));
                    }
                }
                if !references.is_empty() {
                    attrs.push(format!("references: [{}]", references.join(", ")));
                }
                attrs.push(format!("type: {}", quote(&c.data_type)));
                let key = quote(&c.name);
                if !not_followed.is_empty() {
                    let _ = writeln!(
                        out,
                        "          # review: {key} links to another person's row; not followed, \
                         since that would export or erase their data. To follow it:"
                    );
                    let mut with_ref = attrs.clone();
                    with_ref.insert(
                        with_ref.len() - 1,
                        format!("references: [{}]", not_followed.join(", ")),
                    );
                    let _ = writeln!(out, "          # {key}: {{ {} }}", with_ref.join(", "));
                }
                let _ = write!(out, "          {key}: {{ {} }}", attrs.join(", "));
                if p.review && !t.primary_key.contains(&c.name) {
                    out.push_str("  # review: personal data? no category proposed");
                } else if p.categories.is_empty()
                    && d.identity
                    && !t.primary_key.contains(&c.name)
                    && !t.foreign_keys.iter().any(|fk| fk.columns.contains(&c.name))
                {
                    out.push_str("  # review: about a person; no category proposed");
                }
                out.push('\n');
            }
        }
        if !any_collection {
            out.push_str("      {}  # no table with personal data found\n");
        }
        if !left_out.is_empty() {
            let _ = writeln!(
                out,
                "    # Not drafted (no personal data found, not linked to a person): {}",
                left_out.join(", ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_every_naming_style() {
        assert_eq!(words("SupportRepId"), ["support", "rep", "id"]);
        assert_eq!(words("IPAddress"), ["ip", "address"]);
        assert_eq!(words("first_name"), ["first", "name"]);
        assert_eq!(words("EMAIL_ADDRESS"), ["email", "address"]);
        assert_eq!(words("e-mail2"), ["e", "mail", "2"]);
        assert_eq!(words("ÆØÅ kolonne"), ["æøå", "kolonne"]);
        assert_eq!(words("BillingPostalCode"), ["billing", "postal", "code"]);
    }
}
