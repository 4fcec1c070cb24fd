//! From the merged file format to the domain [`Policy`]: every id, reference, address and code
//! is checked here, and each failure becomes a located error.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ombud_domain::calendar::{Calendar, customary_day_ids, supported_countries};
use ombud_domain::email::EmailAddress;
use ombud_domain::policy::{self as model, *};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::*;
use crate::source::PolicySource;
use crate::span::{Loc, Sp};

mod datamap;

/// Where each item of a resolved policy was declared, keyed by a dotted path such as
/// `purposes.events` or `purposes.events.legal_basis`. Lints use it to point at their finding.
#[derive(Debug, Default, Clone)]
pub struct Locations(HashMap<String, Loc>);

impl Locations {
    fn put(&mut self, path: impl Into<String>, loc: Loc) {
        self.0.insert(path.into(), loc);
    }

    /// The location of `path`, else of its closest declared ancestor, else the first line.
    pub fn get(&self, path: &str) -> Loc {
        let mut p = path;
        loop {
            if let Some(loc) = self.0.get(p) {
                return *loc;
            }
            match p.rsplit_once('.') {
                Some((parent, _)) => p = parent,
                None => {
                    return Loc {
                        file: 0,
                        line: 1,
                        col: 1,
                    };
                }
            }
        }
    }
}

/// Declared ids per section, for checking references.
#[derive(Default)]
struct Declared {
    data_subjects: BTreeSet<String>,
    sources: BTreeSet<String>,
    purposes: BTreeSet<String>,
    recipients: BTreeSet<String>,
    retention: BTreeSet<String>,
    cookie_categories: BTreeSet<String>,
    systems: BTreeSet<String>,
    legal_holds: BTreeSet<String>,
}

pub(crate) struct Resolver<'d> {
    source: &'d PolicySource,
    diags: &'d mut Vec<Diagnostic>,
    locs: Locations,
    declared: Declared,
}

const START: Loc = Loc {
    file: 0,
    line: 1,
    col: 1,
};

impl<'d> Resolver<'d> {
    pub(crate) fn new(source: &'d PolicySource, diags: &'d mut Vec<Diagnostic>) -> Self {
        Self {
            source,
            diags,
            locs: Locations::default(),
            declared: Declared::default(),
        }
    }

    fn error(&mut self, code: &'static str, loc: Loc, message: String, help: Option<String>) {
        let mut d = Diagnostic::error(code, loc, message);
        if let Some(h) = help {
            d = d.help(h);
        }
        self.diags.push(d);
    }

    /// Checks the ids of a keyed section: spelling and uniqueness. Returns the declared set.
    fn ids<V, K>(&mut self, section: &str, map: &Map<V>) -> (BTreeSet<String>, Vec<Option<Id<K>>>) {
        let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
        let mut ids = Vec::with_capacity(map.0.len());
        for (key, _) in &map.0 {
            if let Some(first) = seen.get(key.value.as_str()) {
                let help = format!(
                    "ids must be unique within `{section}`; the first `{}` is at {}:{}:{}",
                    key.value,
                    self.source.path(first.file),
                    first.line,
                    first.col
                );
                self.error(
                    "duplicate-id",
                    key.loc,
                    format!("`{}` is declared twice in `{section}`", key.value),
                    Some(help),
                );
                ids.push(None);
                continue;
            }
            seen.insert(key.value.clone(), key.loc);
            self.locs.put(format!("{section}.{}", key.value), key.loc);
            match Id::<K>::parse(&key.value) {
                Ok(id) => ids.push(Some(id)),
                Err(e) => {
                    self.error("invalid-id", key.loc, e.to_string(), None);
                    ids.push(None);
                }
            }
        }
        (seen.into_keys().collect(), ids)
    }

    /// Resolves a reference to a declared id of `section`.
    fn reference<K>(
        &mut self,
        declared: &BTreeSet<String>,
        what: &str,
        section: &str,
        r: &Ref,
        owner: &str,
    ) -> Option<Id<K>> {
        if declared.contains(r.value.as_str()) {
            return Id::parse(&r.value).ok();
        }
        let help = match did_you_mean(&r.value, declared.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if declared.is_empty() => format!("declare it under `{section}:`"),
            None => format!(
                "declare it under `{section}:`, or use one of: {}",
                list(declared.iter())
            ),
        };
        self.error(
            "unknown-reference",
            r.loc,
            format!(
                "{owner} refers to {what} `{}`, which is not declared",
                r.value
            ),
            Some(help),
        );
        None
    }

    fn references<K>(
        &mut self,
        declared: &BTreeSet<String>,
        what: &str,
        section: &str,
        refs: &[Ref],
        owner: &str,
    ) -> Vec<Id<K>> {
        refs.iter()
            .filter_map(|r| self.reference(declared, what, section, r, owner))
            .collect()
    }

    fn category(&mut self, taxonomy: &Taxonomy, r: &Ref, owner: &str) -> Option<CategoryKey> {
        let key = match CategoryKey::parse(&r.value) {
            Ok(k) => k,
            Err(e) => {
                self.error("invalid-category", r.loc, e.to_string(), None);
                return None;
            }
        };
        match taxonomy.get(&key) {
            Some(c) => {
                if let Some(replacement) = &c.replaced_by {
                    self.diags.push(
                        Diagnostic::warning(
                            "deprecated-category",
                            r.loc,
                            format!(
                                "{owner} uses data category `{key}`, which fideslang has deprecated"
                            ),
                        )
                        .help(format!("use `{replacement}` instead")),
                    );
                }
                Some(key)
            }
            None => {
                let help = match did_you_mean(&r.value, taxonomy.keys().map(CategoryKey::as_str)) {
                    Some(s) => format!("did you mean `{s}`? Or declare it under `data_categories:`"),
                    None => "declare it under `data_categories:` (under an existing key such as `user`), or use a built-in fideslang key such as `user.contact.email`".to_owned(),
                };
                self.error(
                    "unknown-reference",
                    r.loc,
                    format!("{owner} refers to data category `{key}`, which is not defined"),
                    Some(help),
                );
                None
            }
        }
    }

    fn categories(&mut self, taxonomy: &Taxonomy, refs: &[Ref], owner: &str) -> Vec<CategoryKey> {
        refs.iter()
            .filter_map(|r| self.category(taxonomy, r, owner))
            .collect()
    }

    fn email(&mut self, s: &Sp<String>) -> Option<EmailAddress> {
        match EmailAddress::parse(&s.value) {
            Ok(e) => Some(e),
            Err(e) => {
                self.error(
                    "invalid-email",
                    s.loc,
                    e.to_string(),
                    Some("write a full address such as privacy@example.com".into()),
                );
                None
            }
        }
    }

    fn country(&mut self, s: &Sp<String>) -> String {
        let ok = s.value.len() == 2 && s.value.chars().all(|c| c.is_ascii_uppercase());
        if !ok {
            self.error(
                "invalid-country",
                s.loc,
                format!("`{}` is not a country code", s.value),
                Some("use an ISO 3166-1 alpha-2 code in capitals, e.g. DK, DE or US".into()),
            );
        }
        s.value.clone()
    }

    fn required<'a, T>(
        &mut self,
        section: &str,
        value: &'a Option<Sp<T>>,
        help: &str,
    ) -> Option<&'a Sp<T>> {
        if value.is_none() {
            self.error(
                "missing-section",
                START,
                format!("the policy has no `{section}` section"),
                Some(help.to_owned()),
            );
        }
        value.as_ref()
    }

    /// Builds the policy, or returns `None` when any error was reported.
    pub(crate) fn resolve(mut self, doc: &PolicyFile) -> Option<(Policy, Locations)> {
        let errors_before = self.error_count();
        if let Some(v) = &doc.ombud
            && v.value != 1
        {
            self.error(
                "unsupported-version",
                v.loc,
                format!("policy format version {} is not supported", v.value),
                Some("write `ombud: 1`".into()),
            );
        }

        // Keyed sections first, so that references can be checked in any order.
        let (subjects, subject_ids) =
            self.ids::<_, SubjectCategoryTag>("data_subjects", &doc.data_subjects);
        let (sources, source_ids) = self.ids::<_, SourceTag>("sources", &doc.sources);
        let (purposes, purpose_ids) = self.ids::<_, PurposeTag>("purposes", &doc.purposes);
        let (recipients, recipient_ids) =
            self.ids::<_, RecipientTag>("recipients", &doc.recipients);
        let (retention, retention_ids) =
            self.ids::<_, RetentionRuleTag>("retention", &doc.retention);
        let (legal_holds, hold_ids) = self.ids::<_, LegalHoldTag>("legal_holds", &doc.legal_holds);
        let (cookie_categories, cookie_category_ids) =
            self.ids::<_, CookieCategoryTag>("cookie_categories", &doc.cookie_categories);
        let (_, collection_ids) =
            self.ids::<_, CollectionPointTag>("collection_points", &doc.collection_points);
        let (systems, system_ids) = self.ids::<_, SystemTag>("systems", &doc.systems);
        self.declared = Declared {
            data_subjects: subjects,
            sources,
            purposes,
            recipients,
            retention,
            cookie_categories,
            systems,
            legal_holds,
        };

        let taxonomy = self.taxonomy(doc);

        let notice = self
            .required(
                "notice",
                &doc.notice,
                "add `notice:` with at least `title` and `last_updated`",
            )
            .map(|n| self.notice(n));
        let controller = self
            .required(
                "controller",
                &doc.controller,
                "add `controller:` with `name`, `address`, `country` and `email`",
            )
            .map(|c| self.controller(c));
        let contact_point = self
            .required("contact_point", &doc.contact_point, "add `contact_point:` with at least `title` and `email` (e.g. your Data Protection Manager)")
            .map(|c| self.contact_point(c));
        let authority = self
            .required("supervisory_authority", &doc.supervisory_authority, "add `supervisory_authority:` with `name` and `country` (for Denmark: Datatilsynet)")
            .map(|a| self.authority(a));

        let data_subjects = zip_ids(&doc.data_subjects, subject_ids)
            .map(|(id, s)| SubjectCategory {
                id,
                name: s.name.clone(),
                description: s.description.clone(),
                processor_scope: s.processor_scope,
            })
            .collect();
        let sources = zip_ids(&doc.sources, source_ids)
            .map(|(id, s)| Source {
                id,
                name: s.name.clone(),
                kind: s.kind.0,
                description: s.description.clone(),
                art14_notice: s.art14_notice.clone(),
            })
            .collect();
        let purposes = zip_ids(&doc.purposes, purpose_ids)
            .map(|(id, p)| self.purpose(&taxonomy, id, p))
            .collect::<Vec<_>>();
        let recipients = zip_ids(&doc.recipients, recipient_ids)
            .map(|(id, r)| self.recipient(id, r))
            .collect();
        let retention = zip_ids(&doc.retention, retention_ids)
            .map(|(id, r)| self.retention_rule(id, r))
            .collect();
        let legal_holds = zip_ids(&doc.legal_holds, hold_ids)
            .map(|(id, h)| self.legal_hold(&taxonomy, id, h))
            .collect();
        let security = Security {
            measures: match &doc.security {
                None => Vec::new(),
                Some(s) => {
                    let (_, ids) = self.ids::<_, MeasureTag>("security.measures", &s.measures);
                    zip_ids(&s.measures, ids)
                        .map(|(id, m)| SecurityMeasure {
                            id,
                            name: m.name.clone(),
                            description: m.description.clone(),
                        })
                        .collect()
                }
            },
        };
        let default_expiry = Period {
            amount: 12,
            unit: PeriodUnit::Months,
        };
        let consent = doc.consent.as_ref().map_or(
            ConsentTerms {
                channels: Vec::new(),
                expires_after: default_expiry,
                withdrawal: None,
                third_party_data: None,
            },
            |c| ConsentTerms {
                channels: c.channels.iter().map(|k| k.0).collect(),
                expires_after: c.expires_after.map_or(default_expiry, |p| p.0),
                withdrawal: c.withdrawal.clone(),
                third_party_data: c.third_party_data.clone(),
            },
        );
        let cookie_categories = zip_ids(&doc.cookie_categories, cookie_category_ids)
            .map(|(id, c)| self.cookie_category(id, c))
            .collect();
        let cookies = doc
            .cookies
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.cookie(i, c))
            .collect();
        let collection_points = zip_ids(&doc.collection_points, collection_ids)
            .map(|(id, c)| self.collection_point(&taxonomy, id, c))
            .collect();
        let rights = self.required("rights", &doc.rights, "add `rights:` with `response` (working days and calendar), `email` and the rights `offered`").and_then(|r| self.rights(r));
        let marketing = self.marketing(doc.marketing.as_ref());
        let system_entries: Vec<(SystemId, &SystemDto)> =
            zip_ids(&doc.systems, system_ids).collect();
        let systems = system_entries
            .iter()
            .map(|(id, s)| self.system(id.clone(), s))
            .collect();
        let data_map = self.data_map(&taxonomy, &system_entries, doc.erasure.as_ref());

        if self.error_count() > errors_before {
            return None;
        }
        let policy = Policy {
            notice: notice?,
            controller: controller??,
            contact_point: contact_point??,
            supervisory_authority: authority??,
            data_subjects,
            taxonomy,
            sources,
            purposes,
            recipients,
            retention,
            legal_holds,
            security,
            consent,
            cookie_categories,
            cookies,
            collection_points,
            rights: rights?,
            marketing,
            systems,
            data_map,
        };
        Some((policy, self.locs))
    }

    fn error_count(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == crate::diagnostic::Severity::Error)
            .count()
    }

    fn taxonomy(&mut self, doc: &PolicyFile) -> Taxonomy {
        let mut taxonomy = Taxonomy::built_in();
        // Parents before children, whatever order the file lists them in.
        let mut entries: Vec<_> = doc.data_categories.0.iter().collect();
        entries.sort_by_key(|(k, _)| k.value.matches('.').count());
        for (key, c) in entries {
            self.locs
                .put(format!("data_categories.{}", key.value), key.loc);
            let parsed = match CategoryKey::parse(&key.value) {
                Ok(k) => k,
                Err(e) => {
                    self.error("invalid-category", key.loc, e.to_string(), None);
                    continue;
                }
            };
            if let Err(e) = taxonomy.extend(
                parsed,
                c.name.clone(),
                c.description.clone().unwrap_or_default(),
            ) {
                self.error("invalid-category", key.loc, e.to_string(), None);
            }
        }
        taxonomy
    }

    fn notice(&mut self, n: &Sp<NoticeDto>) -> Notice {
        let mut paragraphs = Vec::new();
        for (key, text) in &n.paragraphs.0 {
            match NoticeSection::parse(&key.value) {
                Some(section) => paragraphs.push((section, text.0.clone())),
                None => self.error(
                    "unknown-section",
                    key.loc,
                    format!("`{}` is not a section of the notice", key.value),
                    Some(format!("use one of: {}", NoticeSection::keys().join(", "))),
                ),
            }
        }
        let changes = n.changes.as_ref().map_or(
            ChangeTerms {
                published_on_website: true,
                notified_by_email: false,
                wording: Vec::new(),
            },
            |c| ChangeTerms {
                published_on_website: c.published_on_website,
                notified_by_email: c.notified_by_email,
                wording: c.wording.0.clone(),
            },
        );
        Notice {
            title: n.title.clone(),
            last_updated: n.last_updated.0,
            language: n.language.clone().unwrap_or_else(|| "en".into()),
            introduction: n.introduction.0.clone(),
            applies_when: n.applies_when.clone(),
            paragraphs,
            changes,
        }
    }

    fn controller(&mut self, c: &Sp<ControllerDto>) -> Option<Controller> {
        let country = self.country(&c.country);
        let email = self.email(&c.email);
        Some(Controller {
            name: c.name.clone(),
            short_name: c.short_name.clone(),
            address: c.address.clone(),
            country,
            email: email?,
            phone: c.phone.clone(),
            website: c.website.clone(),
            processor_role: c.processor_role.as_ref().map(|p| ProcessorRole {
                description: p.description.clone(),
                hosting: p.hosting.clone(),
                guidance: p.guidance.clone(),
            }),
        })
    }

    fn contact_point(&mut self, c: &Sp<ContactPointDto>) -> Option<ContactPoint> {
        Some(ContactPoint {
            title: c.title.clone(),
            abbreviation: c.abbreviation.clone(),
            name: c.name.clone(),
            email: self.email(&c.email)?,
            address: c.address.clone(),
            statutory_dpo: c.statutory_dpo,
        })
    }

    fn authority(&mut self, a: &Sp<AuthorityDto>) -> Option<Authority> {
        let country = self.country(&a.country);
        let email = match &a.email {
            Some(e) => Some(self.email(e)?),
            None => None,
        };
        Some(Authority {
            name: a.name.clone(),
            country,
            address: a.address.clone(),
            email,
            phone: a.phone.clone(),
            website: a.website.clone(),
        })
    }

    fn purpose(&mut self, taxonomy: &Taxonomy, id: PurposeId, p: &PurposeDto) -> Purpose {
        let owner = format!("purpose `{id}`");
        let path = format!("purposes.{id}");
        if let Some(first) = p.legal_basis.first() {
            self.locs.put(format!("{path}.legal_basis"), first.loc);
        }
        if let Some(first) = p.marketing_channels.first() {
            self.locs
                .put(format!("{path}.marketing_channels"), first.loc);
        }
        let d = std::mem::take(&mut self.declared);
        let purpose = Purpose {
            name: p.name.clone(),
            description: p.description.0.join("\n\n"),
            legal_bases: p.legal_basis.iter().map(|b| b.value.0).collect(),
            basis_note: p.basis_note.clone(),
            legitimate_interest: p.legitimate_interest.clone(),
            data_subjects: self.references(
                &d.data_subjects,
                "data subject",
                "data_subjects",
                &p.data_subjects,
                &owner,
            ),
            data_categories: self.categories(taxonomy, &p.data_categories, &owner),
            sources: self.references(&d.sources, "source", "sources", &p.sources, &owner),
            recipients: self.references(
                &d.recipients,
                "recipient",
                "recipients",
                &p.recipients,
                &owner,
            ),
            retention: p.retention.as_ref().and_then(|r| {
                self.reference(&d.retention, "retention rule", "retention", r, &owner)
            }),
            systems: self.references(&d.systems, "system", "systems", &p.systems, &owner),
            marketing_channels: p.marketing_channels.iter().map(|c| c.value.0).collect(),
            consent_channels: p.consent_channels.iter().map(|c| c.0).collect(),
            automated_decisions: p.automated_decisions.clone(),
            profiling: p.profiling,
            id,
        };
        self.declared = d;
        purpose
    }

    fn recipient(&mut self, id: RecipientId, r: &RecipientDto) -> Recipient {
        let countries = r.countries.iter().map(|c| self.country(c)).collect();
        if let Some(t) = &r.transfer {
            self.locs.put(format!("recipients.{id}.transfer"), t.loc);
        }
        Recipient {
            name: r.name.clone(),
            role: r.role.0,
            description: r.description.clone(),
            countries,
            transfer: r.transfer.as_ref().map(|t| Transfer {
                mechanism: t.mechanism.0,
                description: t.description.clone(),
                reviewed: t.reviewed.as_ref().map(|d| d.value.0),
                review_by: t.review_by.as_ref().map(|d| d.value.0),
            }),
            circumstances: r.circumstances.clone(),
            all_purposes: r.all_purposes,
            id,
        }
    }

    fn retention_rule(&mut self, id: RetentionRuleId, r: &RetentionDto) -> RetentionRule {
        let owner = format!("retention rule `{id}`");
        let purposes = std::mem::take(&mut self.declared.purposes);
        let unless = r
            .unless
            .iter()
            .filter_map(|u| {
                let consent =
                    self.reference(&purposes, "purpose", "purposes", &u.consent, &owner)?;
                Some(RetentionException {
                    consent,
                    keep: u.keep.0,
                    after: u.after.0,
                })
            })
            .collect();
        self.declared.purposes = purposes;
        RetentionRule {
            name: r.name.clone(),
            keep: r.keep.map(|k| k.0),
            after: r.after.0,
            action: r.action.map_or(RetentionAction::Delete, |a| a.0),
            unless,
            criteria: r.criteria.clone(),
            id,
        }
    }

    fn legal_hold(&mut self, taxonomy: &Taxonomy, id: LegalHoldId, h: &LegalHoldDto) -> LegalHold {
        let owner = format!("legal hold `{id}`");
        let purposes = std::mem::take(&mut self.declared.purposes);
        let hold = LegalHold {
            name: h.name.clone(),
            law: h.law.clone(),
            keep: h.keep.0,
            after: h.after.0,
            data_categories: self.categories(taxonomy, &h.data_categories, &owner),
            purposes: self.references(&purposes, "purpose", "purposes", &h.purposes, &owner),
            id,
        };
        self.declared.purposes = purposes;
        hold
    }

    fn cookie_category(&mut self, id: CookieCategoryId, c: &CookieCategoryDto) -> CookieCategory {
        let owner = format!("cookie category `{id}`");
        let purposes = std::mem::take(&mut self.declared.purposes);
        let category = CookieCategory {
            name: c.name.clone(),
            description: c.description.0.join("\n\n"),
            necessary: c.necessary,
            purposes: self.references(&purposes, "purpose", "purposes", &c.purposes, &owner),
            gpc_opt_out: c.gpc_opt_out,
            consent_mode: c.consent_mode.iter().map(|k| k.0).collect(),
            translations: c
                .translations
                .0
                .iter()
                .map(|(lang, t)| {
                    (
                        lang.value.clone(),
                        Translation {
                            name: t.name.clone(),
                            description: t.description.clone(),
                        },
                    )
                })
                .collect(),
            id,
        };
        self.declared.purposes = purposes;
        category
    }

    fn cookie(&mut self, index: usize, c: &Sp<CookieDto>) -> Option<Cookie> {
        self.locs.put(format!("cookies.{index}"), c.loc);
        let owner = format!("cookie `{}`", c.name);
        let d = std::mem::take(&mut self.declared);
        let category = self.reference(
            &d.cookie_categories,
            "cookie category",
            "cookie_categories",
            &c.category,
            &owner,
        );
        let recipient = match &c.recipient {
            Some(r) => self.reference(&d.recipients, "recipient", "recipients", r, &owner),
            None => None,
        };
        self.declared = d;
        Some(Cookie {
            name: c.name.clone(),
            provider: c.provider.clone(),
            recipient,
            kind: c.kind.map_or(TrackerKind::Cookie, |k| k.0),
            party: c.party.0,
            domain: c.domain.clone(),
            category: category?,
            lifetime: c.duration.0,
            purpose: c.purpose.clone(),
        })
    }

    fn collection_point(
        &mut self,
        taxonomy: &Taxonomy,
        id: CollectionPointId,
        c: &CollectionPointDto,
    ) -> CollectionPoint {
        let owner = format!("collection point `{id}`");
        let section = format!("collection_points.{id}");
        let (_, field_ids) = self.ids::<_, FieldTag>(&format!("{section}.fields"), &c.fields);
        let fields = zip_ids(&c.fields, field_ids)
            .filter_map(|(fid, f)| {
                Some(Field {
                    label: f.label.clone(),
                    category: self.category(
                        taxonomy,
                        &f.category,
                        &format!("field `{fid}` of {owner}"),
                    )?,
                    required: f.required,
                    identity: f.identity.map(|k| k.0),
                    id: fid,
                })
            })
            .collect();
        let (_, consent_ids) =
            self.ids::<_, ConsentItemTag>(&format!("{section}.consents"), &c.consents);
        let d = std::mem::take(&mut self.declared);
        let consents = zip_ids(&c.consents, consent_ids)
            .filter_map(|(cid, item)| {
                Some(ConsentItem {
                    purpose: self.reference(
                        &d.purposes,
                        "purpose",
                        "purposes",
                        &item.purpose,
                        &format!("consent `{cid}` of {owner}"),
                    )?,
                    wording: item.wording.clone(),
                    required: item.required,
                    checked_by_default: item.checked_by_default,
                    id: cid,
                })
            })
            .collect();
        let point = CollectionPoint {
            name: c.name.clone(),
            kind: c.kind.0,
            description: c.description.clone(),
            purposes: self.references(&d.purposes, "purpose", "purposes", &c.purposes, &owner),
            data_subjects: self.references(
                &d.data_subjects,
                "data subject",
                "data_subjects",
                &c.data_subjects,
                &owner,
            ),
            fields,
            consents,
            id,
        };
        self.declared = d;
        point
    }

    fn rights(&mut self, r: &Sp<RightsDto>) -> Option<RightsHandling> {
        self.locs.put("rights", r.loc);
        self.locs
            .put("rights.response", r.response.working_days.loc);
        let email = self.email(&r.email);
        let country = &r.response.calendar;
        let mut closing_days = Vec::new();
        match customary_day_ids(&country.value) {
            None => self.error(
                "unknown-calendar",
                country.loc,
                format!("there is no holiday calendar for `{}`", country.value),
                Some(format!("use one of: {}", supported_countries().join(", "))),
            ),
            Some(known) => {
                for day in &r.response.closing_days {
                    if known.contains(&day.value.as_str()) {
                        closing_days.push(day.value.clone());
                    } else {
                        self.error(
                            "unknown-closing-day",
                            day.loc,
                            format!(
                                "`{}` is not a customary closing day of the {} calendar",
                                day.value, country.value
                            ),
                            Some(format!("use one of: {}", known.join(", "))),
                        );
                    }
                }
            }
        }
        let day_refs: Vec<&str> = closing_days.iter().map(String::as_str).collect();
        // Checked above; this only fails if the two calendar functions disagree.
        if let Err(e) = Calendar::new(&country.value, &day_refs) {
            self.error("unknown-calendar", country.loc, e.to_string(), None);
        }
        let mut rights = Vec::new();
        for (key, right) in &r.offered.0 {
            self.locs
                .put(format!("rights.offered.{}", key.value), key.loc);
            match Right::parse(&key.value) {
                Some(k) => rights.push(RightTerms {
                    right: k,
                    description: right.description.clone(),
                }),
                None => self.error(
                    "unknown-right",
                    key.loc,
                    format!("`{}` is not a right", key.value),
                    Some(format!("use one of: {}", Right::keys().join(", "))),
                ),
            }
        }
        Some(RightsHandling {
            working_days: r.response.working_days.value,
            calendar: country.value.clone(),
            closing_days,
            email: email?,
            identity_verification: r.identity_verification.iter().map(|k| k.0).collect(),
            fees: FeeTerms {
                wording: r.fees.0.clone(),
            },
            rights,
            other_requests: r.other_requests.clone(),
        })
    }

    fn marketing(&mut self, m: Option<&Sp<MarketingDto>>) -> Marketing {
        let Some(m) = m else {
            return Marketing {
                channels: Vec::new(),
                topics: Vec::new(),
                opt_out_methods: Vec::new(),
                service_messages: Vec::new(),
            };
        };
        let (_, topic_ids) = self.ids::<_, TopicTag>("marketing.topics", &m.topics);
        let purposes = std::mem::take(&mut self.declared.purposes);
        let topics = zip_ids(&m.topics, topic_ids)
            .filter_map(|(id, t)| {
                Some(Topic {
                    name: t.name.clone(),
                    purpose: self.reference(
                        &purposes,
                        "purpose",
                        "purposes",
                        &t.purpose,
                        &format!("topic `{id}`"),
                    )?,
                    id,
                })
            })
            .collect();
        self.declared.purposes = purposes;
        Marketing {
            channels: m.channels.iter().map(|k| k.0).collect(),
            topics,
            opt_out_methods: m.opt_out.clone(),
            service_messages: m.service_messages.clone(),
        }
    }

    fn system(&mut self, id: SystemId, s: &SystemDto) -> System {
        let recipients = std::mem::take(&mut self.declared.recipients);
        let recipient = s.recipient.as_ref().and_then(|r| {
            self.reference(
                &recipients,
                "recipient",
                "recipients",
                r,
                &format!("system `{id}`"),
            )
        });
        self.declared.recipients = recipients;
        System {
            name: s.name.clone(),
            description: s.description.clone(),
            recipient,
            hosting: s.hosting.clone(),
            connector: s.connector.map_or(model::ConnectorKind::Manual, |k| k.0),
            id,
        }
    }
}

/// Pairs each entry with its id, skipping entries whose id was rejected.
fn zip_ids<'a, V, K>(
    map: &'a Map<V>,
    ids: Vec<Option<Id<K>>>,
) -> impl Iterator<Item = (Id<K>, &'a V)> + use<'a, V, K> {
    map.0
        .iter()
        .zip(ids)
        .filter_map(|((_, v), id)| Some((id?, v)))
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.map(String::as_str).collect();
    if items.len() > 12 {
        format!("{}, … ({} in all)", items[..12].join(", "), items.len())
    } else {
        items.join(", ")
    }
}
