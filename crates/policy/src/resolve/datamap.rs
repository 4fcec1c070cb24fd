//! The data map: each system's tables and columns, with their identities, references and erasure
//! strategies, checked so that a request can address every row it reaches and never breaks a
//! link by erasing a key.

use std::collections::BTreeMap;

use ombud_domain::datamap::{
    Collection, DataMap, Direction, ErasureRules, Field, FieldRef, Identity, MappedSystem,
    Reference, RestrictionMarker, Strategy,
};
use ombud_domain::policy::{ConnectorKind, Keyword, LegalHoldId, SystemId, Taxonomy};

use super::{Resolver, list};
use crate::diagnostic::did_you_mean;
use crate::format::{CollectionDto, ColumnDto, DirectionDto, ErasureDto, StrategyDto, SystemDto};
use crate::span::{Loc, Sp};

/// The id of ombud's own store when the policy does not declare it.
const OMBUD: &str = "ombud";

/// A reference as written, kept to check its target once every system is known.
struct ReferenceSite {
    from: FieldRef,
    to: FieldRef,
    collection_loc: Loc,
    field_loc: Loc,
}

/// What the checks after resolution need to know about where things were written.
#[derive(Default)]
struct Sites {
    references: Vec<ReferenceSite>,
    /// Where each field's own `erase:` is.
    erase: BTreeMap<FieldRef, Loc>,
    /// Where each collection's key is.
    collections: BTreeMap<(SystemId, String), Loc>,
}

impl Resolver<'_> {
    /// Builds the data map of the declared systems (plus ombud's own store) and checks it.
    pub(super) fn data_map(
        &mut self,
        taxonomy: &Taxonomy,
        systems: &[(SystemId, &SystemDto)],
        erasure: Option<&Sp<ErasureDto>>,
    ) -> DataMap {
        let erasure = self.erasure(taxonomy, erasure);
        let mut sites = Sites::default();
        let mut mapped: Vec<MappedSystem> = systems
            .iter()
            .map(|(id, s)| self.mapped_system(taxonomy, id, s, &mut sites))
            .collect();
        self.own_store(&mut mapped);
        let map = DataMap {
            systems: mapped,
            erasure,
        };
        self.check_references(&map, &sites);
        self.check_keys(&map, &sites);
        map
    }

    fn erasure(&mut self, taxonomy: &Taxonomy, e: Option<&Sp<ErasureDto>>) -> ErasureRules {
        let Some(e) = e else {
            return ErasureRules::default();
        };
        self.locs.put("erasure", e.loc);
        let by_category = e
            .by_category
            .0
            .iter()
            .filter_map(|(key, s)| {
                let category = self.category(taxonomy, key, "`erasure.by_category`")?;
                Some((category, strategy(&s.value)))
            })
            .collect();
        ErasureRules {
            default: e
                .default
                .as_ref()
                .map_or(Strategy::Null, |s| strategy(&s.value)),
            by_category,
        }
    }

    fn mapped_system(
        &mut self,
        taxonomy: &Taxonomy,
        id: &SystemId,
        s: &SystemDto,
        sites: &mut Sites,
    ) -> MappedSystem {
        let connector = s.connector.map_or(ConnectorKind::Manual, |k| k.0);
        let connection = match &s.connection {
            Some(c) if c.value.trim().is_empty() => {
                self.error(
                    "empty-name",
                    c.loc,
                    format!("the `connection` of system `{id}` is empty"),
                    Some(format!(
                        "name the connection of the runtime configuration, or leave `connection:` out to use `{id}`"
                    )),
                );
                id.to_string()
            }
            Some(c) => c.value.clone(),
            None => id.to_string(),
        };
        if let Some((first, _)) = s.collections.0.first()
            && !is_database(connector)
        {
            let help = if connector == ConnectorKind::Ombud {
                "ombud maps its own store itself: remove `collections:`".to_owned()
            } else {
                "ombud reads tables only through a database connector: set `connector:` to postgres, mysql or sqlite, or remove `collections:` and tell staff what to do in `instructions:`".to_owned()
            };
            self.error(
                "collections-without-connector",
                first.loc,
                format!(
                    "system `{id}` lists collections, but its connector is `{}`",
                    connector.key()
                ),
                Some(help),
            );
        }
        let collections = s
            .collections
            .0
            .iter()
            .map(|(name, c)| self.collection(taxonomy, id, name, c, sites))
            .collect();
        MappedSystem {
            system: id.clone(),
            connector,
            connection,
            collections,
            instructions: s.instructions.clone(),
        }
    }

    fn collection(
        &mut self,
        taxonomy: &Taxonomy,
        system: &SystemId,
        name: &Sp<String>,
        c: &CollectionDto,
        sites: &mut Sites,
    ) -> Collection {
        self.locs.put(
            format!("systems.{system}.collections.{}", name.value),
            name.loc,
        );
        sites
            .collections
            .insert((system.clone(), name.value.clone()), name.loc);
        if name.value.trim().is_empty() {
            self.error(
                "empty-name",
                name.loc,
                format!("system `{system}` has a collection with an empty name"),
                Some("write the table's name exactly as the database spells it".into()),
            );
        }
        let owner = format!("collection `{system}:{}`", name.value);
        let holds = std::mem::take(&mut self.declared.legal_holds);
        let legal_holds: Vec<LegalHoldId> =
            self.references(&holds, "legal hold", "legal_holds", &c.legal_holds, &owner);
        self.declared.legal_holds = holds;
        let restriction = c.restriction.as_ref().map(|r| {
            let r = &r.value;
            if r.column.value.trim().is_empty() {
                self.error(
                    "empty-name",
                    r.column.loc,
                    format!("the restriction column of {owner} is empty"),
                    Some("name the column that marks a restricted row, e.g. `restricted`".into()),
                );
            }
            RestrictionMarker {
                column: r.column.value.clone(),
                value: r.value.0.clone(),
            }
        });
        let fields = c
            .fields
            .0
            .iter()
            .map(|(field, f)| self.column(taxonomy, system, &name.value, field, f, sites))
            .collect();
        Collection {
            name: name.value.clone(),
            schema: c.schema.clone(),
            fields,
            delete_rows: c.delete_rows,
            restriction,
            legal_holds,
        }
    }

    fn column(
        &mut self,
        taxonomy: &Taxonomy,
        system: &SystemId,
        collection: &str,
        name: &Sp<String>,
        f: &ColumnDto,
        sites: &mut Sites,
    ) -> Field {
        self.locs.put(
            format!(
                "systems.{system}.collections.{collection}.fields.{}",
                name.value
            ),
            name.loc,
        );
        let here = FieldRef {
            system: system.clone(),
            collection: collection.to_owned(),
            field: name.value.clone(),
        };
        let owner = format!("field `{here}`");
        if name.value.trim().is_empty() {
            self.error(
                "empty-name",
                name.loc,
                format!("collection `{system}:{collection}` has a field with an empty name"),
                Some("write the column's name exactly as the database spells it".into()),
            );
        }
        let categories = self.categories(taxonomy, &f.categories, &owner);
        let identity = f.identity.as_ref().and_then(|i| {
            let parsed = Identity::parse(&i.value);
            if parsed.is_none() {
                self.error(
                    "invalid-identity",
                    i.loc,
                    format!("`{}` is not an identity", i.value),
                    Some("use email, phone or customer_id, or an identity of your own in lowercase letters, digits and `_` (e.g. `membership_no`)".into()),
                );
            }
            parsed
        });
        let mut references = Vec::new();
        for r in &f.references {
            let target = match &r.system {
                None => Some(system.clone()),
                Some(s) => {
                    let declared = std::mem::take(&mut self.declared.systems);
                    let id = self.reference(&declared, "system", "systems", s, &owner);
                    self.declared.systems = declared;
                    id
                }
            };
            let Some(target) = target else { continue };
            let to = FieldRef {
                system: target,
                collection: r.collection.value.clone(),
                field: r.field.value.clone(),
            };
            sites.references.push(ReferenceSite {
                from: here.clone(),
                to: to.clone(),
                collection_loc: r.collection.loc,
                field_loc: r.field.loc,
            });
            references.push(Reference {
                to,
                direction: match r.direction {
                    Some(DirectionDto::From) => Direction::From,
                    Some(DirectionDto::To) => Direction::To,
                    Some(DirectionDto::Both) | None => Direction::Both,
                },
            });
        }
        let erase = f.erase.as_ref().map(|e| {
            sites.erase.insert(here.clone(), e.loc);
            strategy(&e.value)
        });
        Field {
            name: name.value.clone(),
            categories,
            identity,
            primary_key: f.primary_key,
            references,
            erase,
            data_type: f.data_type.clone(),
        }
    }

    /// Adds ombud's own store unless the policy declares it.
    fn own_store(&mut self, systems: &mut Vec<MappedSystem>) {
        let mut own = systems
            .iter()
            .filter(|s| s.connector == ConnectorKind::Ombud);
        let first = own.next().map(|s| s.system.clone());
        if let Some(second) = own.next() {
            let at = self.locs.get(&format!("systems.{}", second.system));
            let first = first.unwrap_or_else(|| second.system.clone());
            self.error(
                "duplicate-ombud-system",
                at,
                format!(
                    "system `{}` uses connector `ombud`, like `{first}`",
                    second.system
                ),
                Some("ombud has one store: keep one system with `connector: ombud`".into()),
            );
            return;
        }
        if first.is_some() {
            return;
        }
        if let Some(taken) = systems.iter().find(|s| s.system.as_str() == OMBUD) {
            let at = self.locs.get(&format!("systems.{}", taken.system));
            self.error(
                "reserved-system-id",
                at,
                format!("the system id `{OMBUD}` is kept for ombud's own store"),
                Some("set `connector: ombud` if this is ombud's own store; otherwise rename the system".into()),
            );
            return;
        }
        if let Ok(system) = SystemId::parse(OMBUD) {
            systems.push(MappedSystem {
                system,
                connector: ConnectorKind::Ombud,
                connection: OMBUD.to_owned(),
                collections: Vec::new(),
                instructions: None,
            });
        }
    }

    /// Every reference points at a collection and field of the data map.
    fn check_references(&mut self, map: &DataMap, sites: &Sites) {
        for site in &sites.references {
            let owner = format!("field `{}`", site.from);
            let Some(system) = map.system(&site.to.system) else {
                continue; // an undeclared system was reported where it was written
            };
            let Some(collection) = system.collection(&site.to.collection) else {
                let names = system.collections.iter().map(|c| c.name.as_str());
                let help = match did_you_mean(&site.to.collection, names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if system.collections.is_empty() => format!(
                        "system `{}` has no collections; declare the table under its `collections:`",
                        system.system
                    ),
                    None => format!(
                        "declare it under `systems.{}.collections`, or use one of: {}",
                        system.system,
                        list(system.collections.iter().map(|c| &c.name))
                    ),
                };
                self.error(
                    "unknown-reference",
                    site.collection_loc,
                    format!(
                        "{owner} refers to collection `{}` of system `{}`, which is not in the data map",
                        site.to.collection, site.to.system
                    ),
                    Some(help),
                );
                continue;
            };
            if collection.field(&site.to.field).is_none() {
                let names = collection.fields.iter().map(|f| f.name.as_str());
                let help = match did_you_mean(&site.to.field, names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "declare it under the `fields:` of `{}:{}`",
                        site.to.system, site.to.collection
                    ),
                };
                self.error(
                    "unknown-reference",
                    site.field_loc,
                    format!(
                        "{owner} refers to field `{}` of `{}:{}`, which is not in the data map",
                        site.to.field, site.to.system, site.to.collection
                    ),
                    Some(help),
                );
            }
        }
    }

    /// Rows are addressed by their primary key, and a key (or any referenced field) is never
    /// erased: that would break the links a request follows.
    fn check_keys(&mut self, map: &DataMap, sites: &Sites) {
        let referenced: BTreeMap<&FieldRef, &FieldRef> =
            sites.references.iter().map(|s| (&s.to, &s.from)).collect();
        for system in &map.systems {
            for c in &system.collections {
                let at = sites
                    .collections
                    .get(&(system.system.clone(), c.name.clone()))
                    .copied()
                    .unwrap_or_else(|| self.locs.get(&format!("systems.{}", system.system)));
                let deletes = c.delete_rows
                    || c.fields
                        .iter()
                        .any(|f| map.erasure.for_field(f) == Strategy::DeleteRow);
                if c.primary_key().next().is_none() {
                    let message = if deletes {
                        format!(
                            "collection `{}:{}` deletes rows but has no primary key: rows are addressed by their primary key",
                            system.system, c.name
                        )
                    } else {
                        format!(
                            "collection `{}:{}` has no primary key: every collection needs one so that its rows can be addressed",
                            system.system, c.name
                        )
                    };
                    self.error(
                        "no-primary-key",
                        at,
                        message,
                        Some("mark the column (or columns) that identify a row with `primary_key: true`".into()),
                    );
                }
                for f in &c.fields {
                    let here = FieldRef {
                        system: system.system.clone(),
                        collection: c.name.clone(),
                        field: f.name.clone(),
                    };
                    let Some(erase_at) = sites.erase.get(&here).copied() else {
                        continue;
                    };
                    if f.primary_key {
                        self.error(
                            "key-erased",
                            erase_at,
                            format!("`{here}` is a primary key: a primary key is never erased; erase the row with `delete_rows: true`"),
                            Some("remove `erase:` from the field; erasing a key would break the references to its rows".into()),
                        );
                    } else if let Some(by) = referenced.get(&here) {
                        self.error(
                            "key-erased",
                            erase_at,
                            format!("`{here}` is referenced by `{by}`: a referenced field is never erased"),
                            Some("remove `erase:` from the field; erasing it would break the link to the person's other rows (erase the row with `delete_rows: true` instead)".into()),
                        );
                    }
                }
            }
        }
    }
}

fn is_database(connector: ConnectorKind) -> bool {
    matches!(
        connector,
        ConnectorKind::Postgres | ConnectorKind::Mysql | ConnectorKind::Sqlite
    )
}

fn strategy(s: &StrategyDto) -> Strategy {
    match s {
        StrategyDto::Null => Strategy::Null,
        StrategyDto::Fixed(text) => Strategy::Fixed(text.clone()),
        StrategyDto::Hash => Strategy::Hash,
        StrategyDto::Random => Strategy::Random,
        StrategyDto::DeleteRow => Strategy::DeleteRow,
    }
}
