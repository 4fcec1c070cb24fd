//! Finding a person's rows: the plan's steps run in order, each reading the rows whose fields
//! match the person's identities or values found in earlier collections, set-based (up to
//! 1,000 values per statement) and page by page in key order, so memory holds one page plus the
//! keys and link values found so far.

use std::collections::{BTreeMap, HashMap, HashSet};

use ombud_connect::{MAX_FILTER_VALUES, Select, TableName};
use ombud_domain::datamap::plan::{Plan, Source, Step};
use ombud_domain::datamap::{Collection, CollectionRef, DataMap, FieldRef, Identity, Value};

use crate::connections::Connections;
use crate::error::EngineError;

/// Rows per read.
const PAGE: u32 = 1000;

/// A person, as their verified identities name them.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub identities: Vec<(Identity, String)>,
}

/// Identities are personal data: Debug names their kinds only.
impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = self.identities.iter().map(|(k, _)| k.key()).collect();
        f.debug_struct("Person")
            .field("identities", &kinds)
            .finish()
    }
}

impl Person {
    /// The identity kinds the person gave, for planning.
    pub fn kinds(&self) -> Vec<Identity> {
        let mut kinds: Vec<Identity> = self.identities.iter().map(|(k, _)| k.clone()).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The values to look for in a field holding `kind`. E-mail addresses are matched as given
    /// and in lower case, as databases keep them either way.
    fn values(&self, kind: &Identity) -> Vec<Value> {
        let mut out: Vec<String> = Vec::new();
        for (k, v) in &self.identities {
            if k == kind {
                out.push(v.clone());
                if *k == Identity::Email {
                    out.push(v.to_lowercase());
                }
            }
        }
        out.sort();
        out.dedup();
        out.into_iter().map(Value::Text).collect()
    }
}

/// A value as a set member (floats by their bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&Value> for Key {
    fn from(v: &Value) -> Key {
        match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Float(f) => Key::Float(f.to_bits()),
            Value::Text(s) => Key::Text(s.clone()),
            Value::Bytes(b) => Key::Bytes(b.clone()),
        }
    }
}

/// The columns read from a collection: its declared fields, in declaration order.
pub(crate) fn columns(c: &Collection) -> Vec<String> {
    c.fields.iter().map(|f| f.name.clone()).collect()
}

/// The primary key's columns.
pub(crate) fn key_columns(c: &Collection) -> Vec<String> {
    c.primary_key().map(|f| f.name.clone()).collect()
}

pub(crate) fn table(c: &Collection) -> TableName {
    TableName {
        schema: c.schema.clone(),
        name: c.name.clone(),
    }
}

/// A search in progress: the plan's steps are read one after another, and each step's rows
/// give the link values later steps look for.
pub(crate) struct Walk<'a> {
    map: &'a DataMap,
    person: &'a Person,
    connections: &'a Connections,
    /// The link values later steps need, by the field they come from.
    wanted: HashMap<FieldRef, (HashSet<Key>, Vec<Value>)>,
}

impl<'a> Walk<'a> {
    pub fn new(
        map: &'a DataMap,
        plan: &Plan,
        person: &'a Person,
        connections: &'a Connections,
    ) -> Walk<'a> {
        let mut wanted: HashMap<FieldRef, (HashSet<Key>, Vec<Value>)> = HashMap::new();
        for step in &plan.steps {
            for s in &step.sources {
                if let Source::Reference { from, .. } = s {
                    wanted.entry(from.clone()).or_default();
                }
            }
        }
        Walk {
            map,
            person,
            connections,
            wanted,
        }
    }

    /// Reads one step (after the steps before it), calling `visit` with each page of new rows
    /// (all declared columns, in [`columns`] order; each row once). Returns how many rows it
    /// found.
    pub async fn step(
        &mut self,
        step: &Step,
        mut visit: impl FnMut(&[Vec<Value>]) -> Result<(), EngineError>,
    ) -> Result<u64, EngineError> {
        let c = &step.collection;
        let collection = self
            .map
            .collection(c)
            .ok_or_else(|| EngineError::Map(format!("{c} is not in the data map")))?;
        let system = self.map.system(&c.system).ok_or_else(|| {
            EngineError::Map(format!("system {} is not in the data map", c.system))
        })?;
        let db = self.connections.db(system).await?;
        let columns = columns(collection);
        let key = key_columns(collection);
        let key_at: Vec<usize> = key
            .iter()
            .filter_map(|k| columns.iter().position(|c| c == k))
            .collect();
        if key.is_empty() || key_at.len() != key.len() {
            return Err(EngineError::Map(format!("{c} has no primary key")));
        }
        // Link values this collection gives later steps: (position, field).
        let gives: Vec<(usize, FieldRef)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                let f = FieldRef {
                    system: c.system.clone(),
                    collection: c.collection.clone(),
                    field: name.clone(),
                };
                self.wanted.contains_key(&f).then_some((i, f))
            })
            .collect();

        let mut seen: HashSet<Vec<Key>> = HashSet::new();
        let mut count = 0u64;
        for source in &step.sources {
            let (field, values) = match source {
                Source::Identity { field, identity } => (field, self.person.values(identity)),
                Source::Reference { field, from } => (
                    field,
                    self.wanted
                        .get(from)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                ),
            };
            for chunk in values.chunks(MAX_FILTER_VALUES) {
                let mut after: Option<Vec<Value>> = None;
                loop {
                    let rows = db
                        .select(&Select {
                            table: table(collection),
                            columns: columns.clone(),
                            filter_column: field.clone(),
                            values: chunk.to_vec(),
                            key: key.clone(),
                            after: after.clone(),
                            limit: PAGE,
                        })
                        .await?;
                    let full = rows.len() == PAGE as usize;
                    after = rows
                        .last()
                        .map(|r| key_at.iter().map(|&i| r[i].clone()).collect());
                    let new: Vec<Vec<Value>> = rows
                        .into_iter()
                        .filter(|r| seen.insert(key_at.iter().map(|&i| Key::from(&r[i])).collect()))
                        .collect();
                    for row in &new {
                        for (i, f) in &gives {
                            let v = &row[*i];
                            if *v == Value::Null {
                                continue;
                            }
                            if let Some((set, list)) = self.wanted.get_mut(f)
                                && set.insert(Key::from(v))
                            {
                                list.push(v.clone());
                            }
                        }
                    }
                    if !new.is_empty() {
                        count += new.len() as u64;
                        visit(&new)?;
                    }
                    if !full {
                        break;
                    }
                }
            }
        }
        Ok(count)
    }
}

/// Every step of `plan`, all rows of each collection kept: for erasure, rectification and
/// restriction, which need the keys (and current values) of everything they change.
pub(crate) async fn find_all(
    map: &DataMap,
    plan: &Plan,
    person: &Person,
    connections: &Connections,
) -> Result<BTreeMap<CollectionRef, Vec<Vec<Value>>>, EngineError> {
    let mut walk = Walk::new(map, plan, person, connections);
    let mut found = BTreeMap::new();
    for step in &plan.steps {
        let mut rows = Vec::new();
        walk.step(step, |page| {
            rows.extend_from_slice(page);
            Ok(())
        })
        .await?;
        found.insert(step.collection.clone(), rows);
    }
    Ok(found)
}
