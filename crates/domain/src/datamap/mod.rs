//! The data map: where a person's data lives in the organisation's own databases, how to find it
//! from their identities, and how to erase it. The policy declares it (`systems:` with
//! `collections:`); [`plan`] turns it and a person's identities into the steps of a request.
//!
//! Names of collections and fields are kept exactly as the database spells them (spaces, capitals
//! and reserved words included); connectors quote them per dialect.

pub mod erase;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::policy::{CategoryKey, ConnectorKind, LegalHoldId, SystemId};

/// The systems of the policy that hold personal data, with their collections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataMap {
    pub systems: Vec<MappedSystem>,
    /// How fields are erased when a field does not say: by data category, most specific first.
    pub erasure: ErasureRules,
}

/// A system of the data map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedSystem {
    pub system: SystemId,
    pub connector: ConnectorKind,
    /// The name of the connection in the runtime configuration (its URL is a secret and never
    /// in the policy). Defaults to the system id.
    pub connection: String,
    /// Tables (or the equivalent). Empty for a manual system.
    pub collections: Vec<Collection>,
    /// For a system without a connector: what staff do for each kind of request.
    pub instructions: Option<String>,
}

impl MappedSystem {
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// Whether ombud can reach the system itself (otherwise requests become manual tasks).
    pub fn is_connected(&self) -> bool {
        matches!(
            self.connector,
            ConnectorKind::Postgres
                | ConnectorKind::Mysql
                | ConnectorKind::Sqlite
                | ConnectorKind::Ombud
        )
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// The table's name as the database spells it.
    pub name: String,
    /// The schema (PostgreSQL) or database (MySQL) it lives in; `None`: the connection's default.
    pub schema: Option<String>,
    pub fields: Vec<Field>,
    /// Erase whole rows rather than field by field.
    pub delete_rows: bool,
    /// Where the database itself records that a person's processing is restricted.
    pub restriction: Option<RestrictionMarker>,
    /// Legal holds that cover this collection's rows whatever their fields' categories (for
    /// example invoices under the bookkeeping act).
    pub legal_holds: Vec<LegalHoldId>,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The primary-key fields, in declaration order.
    pub fn primary_key(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.primary_key)
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The column's name as the database spells it.
    pub name: String,
    /// What the column holds; empty for a key that is no personal data by itself.
    pub categories: Vec<CategoryKey>,
    /// The column holds an identity a request can start from.
    pub identity: Option<Identity>,
    pub primary_key: bool,
    /// Columns whose values this one shares (foreign keys, or looser links).
    pub references: Vec<Reference>,
    /// How this column is erased; `None`: by the map's [`ErasureRules`] for its categories.
    pub erase: Option<Strategy>,
    /// The column type the map expects (`text`, `integer`…), compared by `datamap check`.
    pub data_type: Option<String>,
}

/// A kind of identity a person is known by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    Email,
    Phone,
    CustomerId,
    /// An identity the organisation defines (`membership_number`).
    Custom(String),
}

impl Identity {
    pub fn parse(s: &str) -> Option<Identity> {
        match s {
            "email" => Some(Identity::Email),
            "phone" | "phone_number" => Some(Identity::Phone),
            "customer_id" => Some(Identity::CustomerId),
            "" => None,
            other => other
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                .then(|| Identity::Custom(other.to_owned())),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Identity::Email => "email",
            Identity::Phone => "phone",
            Identity::CustomerId => "customer_id",
            Identity::Custom(s) => s,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A field of a collection of a system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldRef {
    pub system: SystemId,
    pub collection: String,
    pub field: String,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}.{}", self.system, self.collection, self.field)
    }
}

/// A collection of a system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CollectionRef {
    pub system: SystemId,
    pub collection: String,
}

impl fmt::Display for CollectionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.collection)
    }
}

/// The field holding this reference shares values with `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub to: FieldRef,
    pub direction: Direction,
}

/// Which way a search may follow a reference (fideslang's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Values flow from the referenced field to this one: rows of `to` lead to rows here.
    From,
    /// Values flow from this field to the referenced one: rows here lead to rows of `to`.
    To,
    /// Both ways.
    Both,
}

/// How a field's values are erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Set to NULL.
    Null,
    /// Set to a fixed text (`"erased"`).
    Fixed(String),
    /// Replaced by HMAC-SHA256 of the value under a key made for the request (hex): equal values
    /// stay equal within one erasure, and nothing links them to the person afterwards.
    Hash,
    /// Replaced by random text of the same length.
    Random,
    /// The whole row is deleted.
    DeleteRow,
}

/// Erasure strategies by data category: the rule with the longest matching category wins,
/// `default` when none matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRules {
    pub default: Strategy,
    pub by_category: Vec<(CategoryKey, Strategy)>,
}

impl Default for ErasureRules {
    fn default() -> Self {
        ErasureRules {
            default: Strategy::Null,
            by_category: Vec::new(),
        }
    }
}

impl ErasureRules {
    /// The strategy for a field: its own, else the most specific rule among its categories,
    /// else the default.
    pub fn for_field(&self, field: &Field) -> Strategy {
        if let Some(s) = &field.erase {
            return s.clone();
        }
        field
            .categories
            .iter()
            .flat_map(|c| {
                self.by_category
                    .iter()
                    .filter(move |(k, _)| c.is_within(k))
                    .map(|(k, s)| (k.as_str().len(), s))
            })
            .max_by_key(|(len, _)| *len)
            .map_or_else(|| self.default.clone(), |(_, s)| s.clone())
    }
}

/// Where a database records restriction: a column set to a value on the person's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictionMarker {
    pub column: String,
    /// The value that means "restricted", as SQL text bound as a parameter (`true`, `1`, `Y`).
    pub value: String,
}

/// One value of a column, as connectors read and write it. Numbers that do not fit (decimals),
/// dates and times are text in the database's own notation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as text for CSV and for display: NULL is empty, bytes are hex.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s.clone(),
            Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }
}

impl DataMap {
    pub fn system(&self, id: &SystemId) -> Option<&MappedSystem> {
        self.systems.iter().find(|s| &s.system == id)
    }

    /// ombud's own store (the system with connector `ombud`).
    pub fn ombud(&self) -> Option<&MappedSystem> {
        self.systems
            .iter()
            .find(|s| s.connector == ConnectorKind::Ombud)
    }

    /// The collections whose rows a request can reach: those with an identity field, and those
    /// linked to a reachable one by a reference followed in a direction it allows (`to` leads
    /// from the referencing collection to the referenced one, `from` the other way, `both`
    /// either way).
    pub fn reachable_from_identities(&self) -> BTreeSet<CollectionRef> {
        let at = |system: &MappedSystem, c: &Collection| CollectionRef {
            system: system.system.clone(),
            collection: c.name.clone(),
        };
        let mut edges: BTreeMap<CollectionRef, Vec<CollectionRef>> = BTreeMap::new();
        let mut reached = BTreeSet::new();
        let mut queue = Vec::new();
        for s in &self.systems {
            for c in &s.collections {
                let here = at(s, c);
                if c.fields.iter().any(|f| f.identity.is_some()) && reached.insert(here.clone()) {
                    queue.push(here.clone());
                }
                for r in c.fields.iter().flat_map(|f| &f.references) {
                    let there = CollectionRef {
                        system: r.to.system.clone(),
                        collection: r.to.collection.clone(),
                    };
                    if matches!(r.direction, Direction::To | Direction::Both) {
                        edges.entry(here.clone()).or_default().push(there.clone());
                    }
                    if matches!(r.direction, Direction::From | Direction::Both) {
                        edges.entry(there).or_default().push(here.clone());
                    }
                }
            }
        }
        while let Some(next) = queue.pop() {
            for to in edges.get(&next).into_iter().flatten() {
                if reached.insert(to.clone()) {
                    queue.push(to.clone());
                }
            }
        }
        reached
    }

    pub fn collection(&self, r: &CollectionRef) -> Option<&Collection> {
        self.system(&r.system)?.collection(&r.collection)
    }

    pub fn field(&self, r: &FieldRef) -> Option<&Field> {
        self.system(&r.system)?
            .collection(&r.collection)?
            .field(&r.field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> CategoryKey {
        CategoryKey::parse(s).unwrap()
    }

    fn field(categories: &[&str], erase: Option<Strategy>) -> Field {
        Field {
            name: "f".into(),
            categories: categories.iter().map(|c| key(c)).collect(),
            identity: None,
            primary_key: false,
            references: Vec::new(),
            erase,
            data_type: None,
        }
    }

    #[test]
    fn the_most_specific_category_rule_wins() {
        let rules = ErasureRules {
            default: Strategy::Null,
            by_category: vec![
                (key("user.contact"), Strategy::Fixed("erased".into())),
                (key("user.contact.email"), Strategy::Hash),
            ],
        };
        assert_eq!(
            rules.for_field(&field(&["user.contact.email"], None)),
            Strategy::Hash
        );
        assert_eq!(
            rules.for_field(&field(&["user.contact.phone_number"], None)),
            Strategy::Fixed("erased".into())
        );
        assert_eq!(
            rules.for_field(&field(&["user.name"], None)),
            Strategy::Null
        );
        assert_eq!(
            rules.for_field(&field(&["user.contact.email"], Some(Strategy::Random))),
            Strategy::Random,
            "the field's own strategy"
        );
    }

    fn collection(name: &str, fields: Vec<Field>) -> Collection {
        Collection {
            name: name.into(),
            schema: None,
            fields,
            delete_rows: false,
            restriction: None,
            legal_holds: Vec::new(),
        }
    }

    fn column(name: &str, identity: Option<Identity>, to: Option<(&str, Direction)>) -> Field {
        Field {
            name: name.into(),
            categories: Vec::new(),
            identity,
            primary_key: name == "id",
            references: to
                .map(|(c, direction)| Reference {
                    to: FieldRef {
                        system: SystemId::parse("db").unwrap(),
                        collection: c.into(),
                        field: "id".into(),
                    },
                    direction,
                })
                .into_iter()
                .collect(),
            erase: None,
            data_type: None,
        }
    }

    #[test]
    fn reachability_follows_references_in_their_allowed_direction() {
        let map = DataMap {
            systems: vec![MappedSystem {
                system: SystemId::parse("db").unwrap(),
                connector: ConnectorKind::Sqlite,
                connection: "db".into(),
                collections: vec![
                    collection(
                        "user",
                        vec![
                            column("id", None, None),
                            column("email", Some(Identity::Email), None),
                            column("account_id", None, Some(("account", Direction::To))),
                        ],
                    ),
                    collection("account", vec![column("id", None, None)]),
                    collection(
                        "login",
                        vec![column("user_id", None, Some(("user", Direction::From)))],
                    ),
                    // Its reference only leads from `audit` to `user`, not back.
                    collection(
                        "audit",
                        vec![column("user_id", None, Some(("user", Direction::To)))],
                    ),
                    collection(
                        "team",
                        vec![column(
                            "account_id",
                            None,
                            Some(("account", Direction::Both)),
                        )],
                    ),
                ],
                instructions: None,
            }],
            erasure: ErasureRules::default(),
        };
        let reached: Vec<String> = map
            .reachable_from_identities()
            .iter()
            .map(|c| c.collection.clone())
            .collect();
        assert_eq!(reached, ["account", "login", "team", "user"]);
        assert!(map.ombud().is_none());
    }

    #[test]
    fn identities_parse_and_print() {
        for s in ["email", "phone", "customer_id", "membership_no"] {
            assert_eq!(Identity::parse(s).unwrap().key(), s);
        }
        assert_eq!(Identity::parse("phone_number"), Some(Identity::Phone));
        assert_eq!(Identity::parse("Bad Key"), None);
    }
}
