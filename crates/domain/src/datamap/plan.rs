//! From a person's identities to the steps of a request: which collections to read, through which
//! fields, in which order, and in which order to erase.
//!
//! A search starts at the fields that hold an identity the person gave (their e-mail, phone or
//! customer id) and follows references the way their `direction` allows: a reference marked
//! `from` on `invoice.customer_id → customer.id` leads from a customer's rows to their invoices.
//! The collections reached are read in an order where every source comes first; a reference that
//! would lead back into a collection already on the path (a cycle) is not followed, and the plan
//! says so. Erasure goes the other way round: a collection whose field refers to another's
//! primary key is erased first, so foreign keys never block it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{CollectionRef, DataMap, Direction, FieldRef, Identity, MappedSystem};
use crate::policy::{ConnectorKind, SystemId};

/// What a request will do, before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The collections to read, each after the collections its rows are found through.
    pub steps: Vec<Step>,
    /// Collections holding personal data that no search from these identities reaches.
    pub unreachable: Vec<CollectionRef>,
    /// The order to erase in: children before the parents their keys refer to.
    pub erase_order: Vec<CollectionRef>,
    /// References not followed because they lead back along the path (`from` → `to`).
    pub cycles: Vec<(FieldRef, FieldRef)>,
    /// Collections that refer to each other's keys in a circle, so no order satisfies every
    /// foreign key; they are erased in declaration order.
    pub erase_cycles: Vec<CollectionRef>,
    /// Systems ombud cannot reach: each becomes a manual task.
    pub manual: Vec<SystemId>,
}

/// One collection to read, and how its rows are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub collection: CollectionRef,
    pub sources: Vec<Source>,
}

/// How rows of a collection are found: they match any of their step's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `field` equals one of the person's identities of this kind.
    Identity { field: String, identity: Identity },
    /// `field` equals a value of `from` in the rows found there.
    Reference { field: String, from: FieldRef },
}

/// Whether ombud reads a system with SQL.
fn is_sql(system: &MappedSystem) -> bool {
    matches!(
        system.connector,
        ConnectorKind::Postgres | ConnectorKind::Mysql | ConnectorKind::Sqlite
    )
}

/// A value flows from `from` to `to`: rows found at `from` lead to rows at `to`.
#[derive(Debug, Clone)]
struct Edge {
    from: FieldRef,
    to: FieldRef,
}

fn node(f: &FieldRef) -> CollectionRef {
    CollectionRef {
        system: f.system.clone(),
        collection: f.collection.clone(),
    }
}

/// The plan for a person known by `identities` (the kinds they gave, e.g. e-mail and phone).
pub fn plan(map: &DataMap, identities: &[Identity]) -> Plan {
    // Every SQL collection, in declaration order (the tie-break everywhere below).
    let collections: Vec<CollectionRef> = map
        .systems
        .iter()
        .filter(|s| is_sql(s))
        .flat_map(|s| {
            s.collections.iter().map(|c| CollectionRef {
                system: s.system.clone(),
                collection: c.name.clone(),
            })
        })
        .collect();
    let rank: HashMap<&CollectionRef, usize> = collections
        .iter()
        .enumerate()
        .map(|(i, c)| (c, i))
        .collect();
    let edges = search_edges(map);

    // The identity fields the person's identities open.
    let mut identity_sources: BTreeMap<usize, Vec<Source>> = BTreeMap::new();
    for (i, c) in collections.iter().enumerate() {
        let Some(collection) = map.collection(c) else {
            continue;
        };
        for f in &collection.fields {
            if let Some(id) = f.identity.as_ref().filter(|id| identities.contains(id)) {
                identity_sources
                    .entry(i)
                    .or_default()
                    .push(Source::Identity {
                        field: f.name.clone(),
                        identity: id.clone(),
                    });
            }
        }
    }

    // Depth-first from the seeds: an edge into a collection still on the path closes a cycle
    // and is set aside; every other edge between reached collections is kept.
    let out: Vec<Vec<&Edge>> = {
        let mut out = vec![Vec::new(); collections.len()];
        for e in &edges {
            if let (Some(&a), Some(&_)) = (rank.get(&node(&e.from)), rank.get(&node(&e.to))) {
                out[a].push(e);
            }
        }
        out
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; collections.len()];
    let mut kept: Vec<&Edge> = Vec::new();
    let mut cycles = Vec::new();
    for &seed in identity_sources.keys() {
        if mark[seed] != Mark::New {
            continue;
        }
        // (collection, index of its next edge)
        let mut stack = vec![(seed, 0usize)];
        mark[seed] = Mark::OnPath;
        while let Some(top) = stack.last_mut() {
            let (at, next) = *top;
            if let Some(e) = out[at].get(next) {
                top.1 += 1;
                let to = rank[&node(&e.to)];
                match mark[to] {
                    Mark::OnPath => cycles.push((e.from.clone(), e.to.clone())),
                    Mark::Done => kept.push(e),
                    Mark::New => {
                        kept.push(e);
                        mark[to] = Mark::OnPath;
                        stack.push((to, 0));
                    }
                }
            } else {
                mark[at] = Mark::Done;
                stack.pop();
            }
        }
    }
    let reached: Vec<usize> = (0..collections.len())
        .filter(|&i| mark[i] == Mark::Done)
        .collect();

    // Read order: a topological order of the kept edges (acyclic by construction), ties broken
    // by declaration order.
    let mut sources: BTreeMap<usize, Vec<Source>> = identity_sources;
    let mut incoming = vec![0usize; collections.len()];
    let mut next_of: Vec<Vec<usize>> = vec![Vec::new(); collections.len()];
    for e in &kept {
        let (a, b) = (rank[&node(&e.from)], rank[&node(&e.to)]);
        sources.entry(b).or_default().push(Source::Reference {
            field: e.to.field.clone(),
            from: e.from.clone(),
        });
        if a != b {
            incoming[b] += 1;
            next_of[a].push(b);
        }
    }
    let order = topological(&reached, &incoming, &next_of);
    let steps = order
        .iter()
        .map(|&i| Step {
            collection: collections[i].clone(),
            sources: sources.remove(&i).unwrap_or_default(),
        })
        .collect();

    let unreachable = collections
        .iter()
        .enumerate()
        .filter(|(i, c)| mark[*i] == Mark::New && holds_personal_data(map, c))
        .map(|(_, c)| c.clone())
        .collect();

    let (erase_order, erase_cycles) = erase_order(map, &collections, &rank, &reached);
    let manual = map
        .systems
        .iter()
        .filter(|s| !s.is_connected())
        .map(|s| s.system.clone())
        .collect();
    Plan {
        steps,
        unreachable,
        erase_order,
        cycles,
        erase_cycles,
        manual,
    }
}

/// The ways a search may go, from every reference and the direction it allows.
fn search_edges(map: &DataMap) -> Vec<Edge> {
    let mut edges = Vec::new();
    for s in map.systems.iter().filter(|s| is_sql(s)) {
        for c in &s.collections {
            for f in &c.fields {
                let here = FieldRef {
                    system: s.system.clone(),
                    collection: c.name.clone(),
                    field: f.name.clone(),
                };
                for r in &f.references {
                    if map.field(&r.to).is_none() {
                        continue;
                    }
                    let there = r.to.clone();
                    if matches!(r.direction, Direction::From | Direction::Both) {
                        edges.push(Edge {
                            from: there.clone(),
                            to: here.clone(),
                        });
                    }
                    if matches!(r.direction, Direction::To | Direction::Both) {
                        edges.push(Edge {
                            from: here.clone(),
                            to: there,
                        });
                    }
                }
            }
        }
    }
    edges
}

/// Kahn's algorithm over `nodes`, smallest declaration rank first among the ready ones. Nodes
/// left over (a cycle) follow in declaration order.
fn topological(nodes: &[usize], incoming: &[usize], next_of: &[Vec<usize>]) -> Vec<usize> {
    let member: BTreeSet<usize> = nodes.iter().copied().collect();
    let mut incoming: Vec<usize> = incoming.to_vec();
    let mut ready: BTreeSet<usize> = member
        .iter()
        .copied()
        .filter(|&n| incoming[n] == 0)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(n) = ready.pop_first() {
        order.push(n);
        for &m in &next_of[n] {
            if member.contains(&m) {
                incoming[m] -= 1;
                if incoming[m] == 0 {
                    ready.insert(m);
                }
            }
        }
    }
    let placed: BTreeSet<usize> = order.iter().copied().collect();
    order.extend(member.difference(&placed));
    order
}

/// Children first: a collection with a field that refers to another collection's primary key
/// comes before it. Returns the order and the collections caught in a cycle of such keys.
fn erase_order(
    map: &DataMap,
    collections: &[CollectionRef],
    rank: &HashMap<&CollectionRef, usize>,
    reached: &[usize],
) -> (Vec<CollectionRef>, Vec<CollectionRef>) {
    let mut incoming = vec![0usize; collections.len()];
    let mut next_of: Vec<Vec<usize>> = vec![Vec::new(); collections.len()];
    let mut link = |child: usize, parent: usize| {
        if child != parent && !next_of[child].contains(&parent) {
            next_of[child].push(parent);
            incoming[parent] += 1;
        }
    };
    for (i, c) in collections.iter().enumerate() {
        let Some(collection) = map.collection(c) else {
            continue;
        };
        for f in &collection.fields {
            for r in &f.references {
                let Some(&j) = rank.get(&node(&r.to)) else {
                    continue;
                };
                let to_key = map.field(&r.to).is_some_and(|t| t.primary_key);
                if to_key && !f.primary_key {
                    link(i, j);
                } else if f.primary_key && !to_key {
                    link(j, i);
                }
            }
        }
    }
    let order = topological(reached, &incoming, &next_of);
    // Those placed after the point where nothing was ready sit in a cycle.
    let mut seen_parent_missing = Vec::new();
    let mut placed = BTreeSet::new();
    for &n in &order {
        let blocked = (0..collections.len())
            .any(|p| next_of[p].contains(&n) && reached.contains(&p) && !placed.contains(&p));
        if blocked {
            seen_parent_missing.push(collections[n].clone());
        }
        placed.insert(n);
    }
    (
        order.iter().map(|&i| collections[i].clone()).collect(),
        seen_parent_missing,
    )
}

fn holds_personal_data(map: &DataMap, c: &CollectionRef) -> bool {
    map.collection(c).is_some_and(|c| {
        c.fields
            .iter()
            .any(|f| f.categories.iter().any(|k| k.as_str().starts_with("user")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datamap::{Collection, Field, Reference, Strategy};
    use crate::policy::CategoryKey;

    fn sys() -> SystemId {
        SystemId::parse("shop").unwrap()
    }

    fn fref(collection: &str, field: &str) -> FieldRef {
        FieldRef {
            system: sys(),
            collection: collection.into(),
            field: field.into(),
        }
    }

    fn cref(collection: &str) -> CollectionRef {
        CollectionRef {
            system: sys(),
            collection: collection.into(),
        }
    }

    /// A field: `spec` is e.g. "pk", "email", "user.name", "ref:customer.id:from".
    fn field(name: &str, spec: &[&str]) -> Field {
        let mut f = Field {
            name: name.into(),
            categories: Vec::new(),
            identity: None,
            primary_key: false,
            references: Vec::new(),
            erase: None,
            data_type: None,
        };
        for s in spec {
            match s.split(':').collect::<Vec<_>>().as_slice() {
                ["pk"] => f.primary_key = true,
                ["id", kind] => f.identity = Identity::parse(kind),
                ["ref", target, dir] => {
                    let (c, fld) = target.split_once('.').unwrap();
                    f.references.push(Reference {
                        to: fref(c, fld),
                        direction: match *dir {
                            "from" => Direction::From,
                            "to" => Direction::To,
                            _ => Direction::Both,
                        },
                    });
                }
                [cat] => f.categories.push(CategoryKey::parse(cat).unwrap()),
                _ => panic!("bad spec {s}"),
            }
        }
        f
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

    fn map(collections: Vec<Collection>) -> DataMap {
        DataMap {
            systems: vec![
                MappedSystem {
                    system: sys(),
                    connector: ConnectorKind::Postgres,
                    connection: "shop".into(),
                    collections,
                    instructions: None,
                },
                MappedSystem {
                    system: SystemId::parse("crm").unwrap(),
                    connector: ConnectorKind::Manual,
                    connection: "crm".into(),
                    collections: Vec::new(),
                    instructions: Some("Search by e-mail.".into()),
                },
            ],
            erasure: Default::default(),
        }
    }

    #[test]
    fn erasure_leaves_keys_links_system_data_and_held_collections_alone() {
        let mut invoice = collection(
            "invoice",
            vec![
                field("id", &["pk"]),
                field("customer_id", &["ref:customer.id:from"]),
                field("billing_name", &["user.name"]),
            ],
        );
        invoice.legal_holds = vec![crate::policy::LegalHoldId::parse("bookkeeping").unwrap()];
        let mut m = map(vec![
            collection(
                "customer",
                vec![
                    field("id", &["pk"]),
                    field("email", &["user.contact.email", "id:email"]),
                    field("created_at", &["system.operations"]),
                    field("note", &[]),
                    field("name", &["user.name"]),
                ],
            ),
            invoice,
        ]);
        m.erasure.by_category.push((
            CategoryKey::parse("user.name").unwrap(),
            Strategy::Fixed("erased".into()),
        ));
        let c = &m.systems[0].collections[0];
        let e = m.erasure_of(&sys(), c);
        assert!(!e.delete_rows);
        let names: Vec<(&str, &Strategy)> = e
            .fields
            .iter()
            .map(|(i, s)| (c.fields[*i].name.as_str(), s))
            .collect();
        assert_eq!(
            names,
            [
                ("email", &Strategy::Null),
                ("name", &Strategy::Fixed("erased".into()))
            ]
        );
        let held = m.erasure_of(&sys(), &m.systems[0].collections[1]);
        assert!(!held.delete_rows && held.fields.is_empty());
    }

    /// Chinook's shape: customers, their invoices and invoice lines, and the employees who
    /// support them (employees refer to their managers).
    fn chinook() -> DataMap {
        map(vec![
            collection(
                "employee",
                vec![
                    field("id", &["pk"]),
                    field("email", &["user.contact.email", "id:email"]),
                    field("reports_to", &["ref:employee.id:to"]),
                ],
            ),
            collection(
                "invoice_line",
                vec![
                    field("id", &["pk"]),
                    field("invoice_id", &["ref:invoice.id:from"]),
                ],
            ),
            collection(
                "customer",
                vec![
                    field("id", &["pk"]),
                    field("email", &["user.contact.email", "id:email"]),
                    field("name", &["user.name"]),
                    field("support_rep_id", &["ref:employee.id:to"]),
                ],
            ),
            collection(
                "invoice",
                vec![
                    field("id", &["pk"]),
                    field("customer_id", &["ref:customer.id:from"]),
                    field("billing_address", &["user.contact.address"]),
                ],
            ),
            collection(
                "audit_trail",
                vec![field("id", &["pk"]), field("actor_name", &["user.name"])],
            ),
        ])
    }

    fn order(p: &Plan) -> Vec<&str> {
        p.steps
            .iter()
            .map(|s| s.collection.collection.as_str())
            .collect()
    }

    #[test]
    fn reads_follow_the_references_from_the_identity() {
        let p = plan(&chinook(), &[Identity::Email]);
        // The map lets a customer lead to their support rep (`to`), so employees come after
        // customers, and are found by e-mail too (an employee can make a request).
        assert_eq!(
            order(&p),
            ["customer", "employee", "invoice", "invoice_line"]
        );
        assert_eq!(p.steps[1].sources.len(), 2);
        assert_eq!(
            p.cycles,
            [(fref("employee", "reports_to"), fref("employee", "id"))],
            "a manager is not searched from their report"
        );
        let invoice = &p.steps[2];
        assert_eq!(
            invoice.sources,
            [Source::Reference {
                field: "customer_id".into(),
                from: fref("customer", "id"),
            }]
        );
        let customer = &p.steps[0];
        assert_eq!(
            customer.sources,
            [Source::Identity {
                field: "email".into(),
                identity: Identity::Email,
            }]
        );
        assert_eq!(p.unreachable, [cref("audit_trail")]);
        assert_eq!(p.manual, [SystemId::parse("crm").unwrap()]);
    }

    #[test]
    fn an_identity_the_person_did_not_give_opens_nothing() {
        let p = plan(&chinook(), &[Identity::Phone]);
        assert!(p.steps.is_empty());
        assert_eq!(p.unreachable.len(), 4, "{:?}", p.unreachable);
    }

    #[test]
    fn erasure_goes_children_first() {
        let p = plan(&chinook(), &[Identity::Email]);
        let pos = |c: &str| {
            p.erase_order
                .iter()
                .position(|x| x.collection == c)
                .unwrap()
        };
        assert!(pos("invoice_line") < pos("invoice"));
        assert!(pos("invoice") < pos("customer"));
        assert!(
            pos("customer") < pos("employee"),
            "customers refer to their support rep"
        );
        assert!(
            p.erase_cycles.is_empty(),
            "a self-reference is no cycle: {:?}",
            p.erase_cycles
        );
    }

    #[test]
    fn both_ways_references_make_no_endless_loop_and_say_so() {
        let m = map(vec![
            collection(
                "a",
                vec![
                    field("id", &["pk"]),
                    field("email", &["id:email"]),
                    field("b_id", &["ref:b.id:both"]),
                ],
            ),
            collection(
                "b",
                vec![field("id", &["pk"]), field("c_id", &["ref:c.id:both"])],
            ),
            collection(
                "c",
                vec![field("id", &["pk"]), field("a_id", &["ref:a.id:both"])],
            ),
        ]);
        let p = plan(&m, &[Identity::Email]);
        assert_eq!(order(&p), ["a", "b", "c"]);
        assert!(!p.cycles.is_empty());
        // Every kept source points at a collection read earlier.
        for (i, s) in p.steps.iter().enumerate() {
            for src in &s.sources {
                if let Source::Reference { from, .. } = src {
                    let j = p
                        .steps
                        .iter()
                        .position(|x| x.collection == node(from))
                        .unwrap();
                    assert!(j < i, "{} read before its source {}", s.collection, from);
                }
            }
        }
        // a → b → c → a by keys: a cycle for erasure too.
        assert_eq!(p.erase_order.len(), 3);
        assert!(!p.erase_cycles.is_empty());
    }

    #[test]
    fn a_collection_reached_two_ways_is_read_after_both() {
        let m = map(vec![
            collection(
                "order",
                vec![
                    field("id", &["pk"]),
                    field("customer_id", &["ref:customer.id:from"]),
                    field("address_id", &["ref:address.id:from"]),
                ],
            ),
            collection(
                "address",
                vec![
                    field("id", &["pk"]),
                    field("customer_id", &["ref:customer.id:from"]),
                ],
            ),
            collection(
                "customer",
                vec![field("id", &["pk"]), field("email", &["id:email"])],
            ),
        ]);
        let p = plan(&m, &[Identity::Email]);
        assert_eq!(order(&p), ["customer", "address", "order"]);
        assert_eq!(p.steps[2].sources.len(), 2);
        let erase: Vec<&str> = p
            .erase_order
            .iter()
            .map(|c| c.collection.as_str())
            .collect();
        assert_eq!(erase, ["order", "address", "customer"]);
    }
}
