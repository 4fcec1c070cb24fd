//! `manifest.json`: what the package holds and the information GDPR Art. 15(1) and (2) gives the
//! person, taken from the policy.
//!
//! The JSON field names are those of the Rust fields (snake_case) and are stable within
//! [`FORMAT_VERSION`]: consumers may rely on them. Optional facts the policy does not state are
//! `null`; lists are never absent, only empty. Labels and statements that ombud writes itself
//! are in the request's language ([`Lang`]); text quoted from the policy stays in the policy's
//! language (`policy_language`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use ombud_domain::policy::{CategoryKey, Keyword, Policy, Right};
use serde::{Deserialize, Serialize};

use super::text::{self, Lang};

/// The name of the manifest format.
pub const FORMAT: &str = "ombud-package";
/// The version of the manifest format; it changes when a field is removed or changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// Which right the package answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageRight {
    /// GDPR Art. 15.
    Access,
    /// GDPR Art. 20.
    Portability,
}

impl PackageRight {
    pub fn key(self) -> &'static str {
        match self {
            PackageRight::Access => "access",
            PackageRight::Portability => "portability",
        }
    }
}

/// The facts of the request that the package answers.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// The request's reference, as the person saw it in our letters.
    pub reference: String,
    pub right: PackageRight,
    pub received: Timestamp,
    pub completed_at: Timestamp,
    /// The language of README.html and of ombud's own labels in the manifest.
    pub lang: Lang,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"ombud-package"`.
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `"ombud <version>"`.
    pub generated_by: String,
    /// The request answered.
    pub request: RequestInfo,
    /// The language code of the policy's own text (`"en"`).
    pub policy_language: String,
    /// Art. 15(1) and 13(1)(a): who is responsible.
    pub controller: ControllerInfo,
    /// Art. 13(1)(b): the data protection officer or privacy contact point.
    pub contact_point: ContactPointInfo,
    /// Art. 15(1)(a): the purposes, each with its legal basis.
    pub purposes: Vec<PurposeInfo>,
    /// Art. 15(1)(b): the categories of personal data, from the purposes and from the columns of
    /// the collections in the package, by key.
    pub data_categories: Vec<CategoryInfo>,
    /// Art. 15(1)(c) and 15(2): recipients, with third countries and the transfer safeguard.
    pub recipients: Vec<RecipientInfo>,
    /// Art. 15(1)(d): how long data is kept, or the criteria.
    pub retention: Vec<RetentionInfo>,
    /// Art. 15(1)(g): where data not collected from the person comes from.
    pub sources: Vec<SourceInfo>,
    /// Art. 15(1)(e): the rights, including withdrawal of consent (key `withdraw_consent`).
    pub rights: Vec<RightInfo>,
    /// The address to write to in order to use a right.
    pub rights_email: String,
    /// Art. 15(1)(f): the right to complain to a supervisory authority.
    pub complaint: ComplaintInfo,
    /// Art. 15(1)(h): automated decision-making, including profiling.
    pub automated_decision_making: AutomatedDecisionsInfo,
    /// Where the controller also processes data for its customers: what the person should know
    /// about data in that platform (it is not in this package).
    pub processor_note: Option<String>,
    /// The collections searched, in the order they were written, with their files.
    pub collections: Vec<CollectionInfo>,
    /// How values are written in the data files, in the request's language.
    pub notes: Vec<String>,
    /// Names of data categories by key, from the policy's taxonomy (not serialised).
    #[serde(skip)]
    pub(crate) category_names: BTreeMap<String, String>,
    /// The policy's systems by id: name and the ids of the purposes that use it (not
    /// serialised).
    #[serde(skip)]
    pub(crate) systems: BTreeMap<String, (String, Vec<String>)>,
}

/// `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub reference: String,
    /// `"access"` or `"portability"`.
    pub right: PackageRight,
    /// RFC 3339, UTC.
    pub received: String,
    /// RFC 3339, UTC.
    pub completed_at: String,
    /// `"en"` or `"da"`.
    pub lang: Lang,
}

/// `controller`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerInfo {
    pub name: String,
    /// Postal address, one line per element.
    pub address: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub email: String,
    pub phone: Option<String>,
    pub website: Option<String>,
}

/// `contact_point`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactPointInfo {
    /// "Data Protection Manager".
    pub title: String,
    pub name: Option<String>,
    pub email: String,
    pub address: Vec<String>,
    /// A data protection officer designated under Art. 37, rather than a contact point only.
    pub statutory_dpo: bool,
}

/// One entry of `purposes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurposeInfo {
    /// The purpose id of the policy.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Empty when the policy states none.
    pub legal_bases: Vec<LegalBasisInfo>,
    /// When several bases are listed: which applies when.
    pub basis_note: Option<String>,
    /// The legitimate interest pursued, where the purpose relies on Art. 6(1)(f).
    pub legitimate_interest: Option<String>,
    /// Category keys (see `data_categories` for their names).
    pub data_categories: Vec<String>,
    /// Recipient ids (see `recipients`), including recipients of every purpose.
    pub recipients: Vec<String>,
    /// The retention rule id (see `retention`).
    pub retention: Option<String>,
    /// The retention of this purpose in words (the rule's `description`).
    pub retention_text: Option<String>,
    /// Source ids (see `sources`).
    pub sources: Vec<String>,
    /// System ids of the data map this purpose uses.
    pub systems: Vec<String>,
    pub profiling: bool,
    /// Decisions based solely on automated processing, as the policy describes them.
    pub automated_decisions: Option<String>,
}

/// One legal basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegalBasisInfo {
    /// `"consent"`, `"contract"`, `"legal_obligation"`, `"vital_interests"`, `"public_task"`
    /// or `"legitimate_interests"`.
    pub key: String,
    pub label: String,
    /// "GDPR Art. 6(1)(f)".
    pub article: String,
}

/// One entry of `data_categories`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryInfo {
    /// The fideslang-style key, `user.contact.email`.
    pub key: String,
    pub name: String,
}

/// One entry of `recipients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipientInfo {
    pub id: String,
    pub name: String,
    /// `"processor"`, `"sub_processor"`, `"independent_controller"`, `"joint_controller"` or
    /// `"authority"`.
    pub role: String,
    pub role_label: String,
    pub description: Option<String>,
    /// ISO 3166-1 alpha-2 codes where the recipient processes the data.
    pub countries: Vec<String>,
    /// Those of `countries` outside the EEA.
    pub third_countries: Vec<String>,
    /// The Chapter V safeguard; `null` when the policy states none.
    pub transfer: Option<TransferInfo>,
    /// Disclosures that happen only in named circumstances.
    pub circumstances: Option<String>,
    /// Purpose ids for which the recipient receives data.
    pub purposes: Vec<String>,
}

/// `recipients[].transfer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferInfo {
    /// `"adequacy"`, `"dpf"`, `"scc"`, `"bcr"` or `"derogation"`.
    pub mechanism: String,
    pub label: String,
    pub description: Option<String>,
}

/// One entry of `retention`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionInfo {
    pub id: String,
    pub name: String,
    /// "13 months"; `null` when the policy states criteria only.
    pub period: Option<String>,
    /// The event the period counts from (`"collection"`, `"last_interaction"`…).
    pub after: String,
    /// `"delete"` or `"anonymise"`.
    pub action: String,
    pub criteria: Option<String>,
    /// Longer periods that apply with a consent.
    pub exceptions: Vec<RetentionExceptionInfo>,
    /// The whole rule in words, in the request's language.
    pub description: String,
    /// Purpose ids under this rule.
    pub purposes: Vec<String>,
}

/// `retention[].exceptions[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionExceptionInfo {
    /// The purpose id whose consent extends the period.
    pub consent: String,
    pub period: String,
    pub after: String,
}

/// One entry of `sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub id: String,
    pub name: String,
    /// `"data_subject"`, `"automatic"`, `"publicly_available"` or `"third_party"`.
    pub kind: String,
    pub description: Option<String>,
}

/// One entry of `rights`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightInfo {
    /// `"access"`, `"rectification"`, `"erasure"`, `"restriction"`, `"portability"`,
    /// `"objection"`, `"automated_decisions"` or `"withdraw_consent"`.
    pub right: String,
    pub label: String,
    /// "GDPR Art. 16".
    pub article: String,
    /// The policy's description, or ombud's where the policy gives none.
    pub description: String,
}

/// `complaint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintInfo {
    /// The supervisory authority named in the policy.
    pub authority: String,
    pub country: String,
    pub address: Vec<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// The right to complain (Art. 77) and to go to court (Art. 79), in words.
    pub statement: String,
}

/// `automated_decision_making`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomatedDecisionsInfo {
    /// Whether any purpose makes decisions based solely on automated processing.
    pub exists: bool,
    /// The statement for the person, in the request's language.
    pub statement: String,
    /// Each such decision: purpose id and the policy's description (logic, significance,
    /// consequences).
    pub decisions: Vec<AutomatedDecisionInfo>,
    /// Purpose ids that involve profiling.
    pub profiling: Vec<String>,
}

/// `automated_decision_making.decisions[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomatedDecisionInfo {
    pub purpose: String,
    pub description: String,
}

/// One entry of `collections`: a table searched, and its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionInfo {
    /// The system as the engine named it (the data map's system id).
    pub system: String,
    /// The system's name in the policy, when it is one of the policy's systems.
    pub system_name: Option<String>,
    /// The collection's name as the database spells it.
    pub collection: String,
    /// Rows written (the same in both files).
    pub rows: u64,
    /// Columns in file order.
    pub columns: Vec<ColumnInfo>,
    /// Path of the JSON file inside the ZIP.
    pub json_file: String,
    /// Path of the CSV file inside the ZIP.
    pub csv_file: String,
    /// Purpose ids of the policy that use this system.
    pub purposes: Vec<String>,
}

/// `collections[].columns[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Data category keys of the column, as the data map gives them.
    pub categories: Vec<String>,
    /// `"base64"` when at least one value of this column was binary and is written as Base64
    /// text; `null` otherwise.
    pub encoding: Option<String>,
}

impl Manifest {
    /// The manifest of a package answering `facts`, with the Art. 15 information from `policy`
    /// and no collections yet (the [`PackageBuilder`](super::PackageBuilder) adds them).
    pub fn from_policy(policy: &Policy, facts: RequestFacts) -> Manifest {
        let lang = facts.lang;
        let purpose_ids = |f: &dyn Fn(&ombud_domain::policy::Purpose) -> bool| -> Vec<String> {
            policy
                .purposes
                .iter()
                .filter(|p| f(p))
                .map(|p| p.id.to_string())
                .collect()
        };
        let retention: Vec<RetentionInfo> = policy
            .retention
            .iter()
            .map(|r| {
                let exceptions: Vec<(String, _, _)> = r
                    .unless
                    .iter()
                    .map(|u| {
                        let name = policy
                            .purpose(&u.consent)
                            .map_or(u.consent.to_string(), |p| p.name.clone());
                        (name, u.keep, u.after)
                    })
                    .collect();
                RetentionInfo {
                    id: r.id.to_string(),
                    name: r.name.clone(),
                    period: r.keep.map(|p| p.to_string()),
                    after: r.after.key().to_owned(),
                    action: r.action.key().to_owned(),
                    criteria: r.criteria.clone(),
                    exceptions: r
                        .unless
                        .iter()
                        .map(|u| RetentionExceptionInfo {
                            consent: u.consent.to_string(),
                            period: u.keep.to_string(),
                            after: u.after.key().to_owned(),
                        })
                        .collect(),
                    description: text::retention(
                        lang,
                        r.keep,
                        r.after,
                        r.action,
                        &exceptions,
                        r.criteria.as_deref(),
                    ),
                    purposes: purpose_ids(&|p| p.retention.as_ref() == Some(&r.id)),
                }
            })
            .collect();
        let purposes = policy
            .purposes
            .iter()
            .map(|p| {
                let rule = p.retention.as_ref().map(|id| id.to_string());
                PurposeInfo {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    legal_bases: p
                        .legal_bases
                        .iter()
                        .map(|b| LegalBasisInfo {
                            key: b.key().to_owned(),
                            label: text::basis_label(lang, *b).to_owned(),
                            article: text::article(lang, b.article()),
                        })
                        .collect(),
                    basis_note: p.basis_note.clone(),
                    legitimate_interest: p.legitimate_interest.clone(),
                    data_categories: p.data_categories.iter().map(|c| c.to_string()).collect(),
                    recipients: policy.recipients_of(p).map(|r| r.id.to_string()).collect(),
                    retention_text: rule.as_ref().and_then(|id| {
                        retention
                            .iter()
                            .find(|r| &r.id == id)
                            .map(|r| r.description.clone())
                    }),
                    retention: rule,
                    sources: p.sources.iter().map(|s| s.to_string()).collect(),
                    systems: p.systems.iter().map(|s| s.to_string()).collect(),
                    profiling: p.profiling,
                    automated_decisions: p.automated_decisions.clone(),
                }
            })
            .collect();
        let recipients = policy
            .recipients
            .iter()
            .map(|r| RecipientInfo {
                id: r.id.to_string(),
                name: r.name.clone(),
                role: r.role.key().to_owned(),
                role_label: text::role_label(lang, r.role).to_owned(),
                description: r.description.clone(),
                countries: r.countries.clone(),
                third_countries: r.third_countries().map(str::to_owned).collect(),
                transfer: r.transfer.as_ref().map(|t| TransferInfo {
                    mechanism: t.mechanism.key().to_owned(),
                    label: text::mechanism_label(lang, t.mechanism).to_owned(),
                    description: t.description.clone(),
                }),
                circumstances: r.circumstances.clone(),
                purposes: purpose_ids(&|p| r.all_purposes || p.recipients.contains(&r.id)),
            })
            .collect();
        let mut rights: Vec<RightInfo> = Right::all()
            .iter()
            .map(|&r| RightInfo {
                right: r.key().to_owned(),
                label: text::right_label(lang, r).to_owned(),
                article: text::article(lang, r.article()),
                description: policy.rights.terms(r).map_or_else(
                    || text::right_fallback(lang, r).to_owned(),
                    |t| t.description.clone(),
                ),
            })
            .collect();
        rights.push(RightInfo {
            right: "withdraw_consent".into(),
            label: text::withdraw_label(lang).to_owned(),
            article: text::article(lang, "GDPR Art. 7(3)"),
            description: policy
                .consent
                .withdrawal
                .clone()
                .unwrap_or_else(|| text::withdraw_fallback(lang).to_owned()),
        });
        let decisions: Vec<AutomatedDecisionInfo> = policy
            .purposes
            .iter()
            .filter_map(|p| {
                p.automated_decisions
                    .as_ref()
                    .map(|d| AutomatedDecisionInfo {
                        purpose: p.id.to_string(),
                        description: d.clone(),
                    })
            })
            .collect();
        let profiling = purpose_ids(&|p| p.profiling);
        let mut statement = if decisions.is_empty() {
            text::no_automated_decisions(lang).to_owned()
        } else {
            text::some_automated_decisions(lang).to_owned()
        };
        if decisions.is_empty() && !profiling.is_empty() {
            statement.push(' ');
            statement.push_str(text::profiling_note(lang));
        }
        let a = &policy.supervisory_authority;
        let c = &policy.controller;
        let cp = &policy.contact_point;
        let mut manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            generated_by: format!("ombud {}", env!("CARGO_PKG_VERSION")),
            request: RequestInfo {
                reference: facts.reference,
                right: facts.right,
                received: facts.received.to_string(),
                completed_at: facts.completed_at.to_string(),
                lang,
            },
            policy_language: policy.notice.language.clone(),
            controller: ControllerInfo {
                name: c.name.clone(),
                address: c.address.clone(),
                country: c.country.clone(),
                email: c.email.to_string(),
                phone: c.phone.clone(),
                website: c.website.clone(),
            },
            contact_point: ContactPointInfo {
                title: cp.title.clone(),
                name: cp.name.clone(),
                email: cp.email.to_string(),
                address: cp.address.clone(),
                statutory_dpo: cp.statutory_dpo,
            },
            purposes,
            data_categories: Vec::new(),
            recipients,
            retention,
            sources: policy
                .sources
                .iter()
                .map(|s| SourceInfo {
                    id: s.id.to_string(),
                    name: s.name.clone(),
                    kind: s.kind.key().to_owned(),
                    description: s.description.clone(),
                })
                .collect(),
            rights,
            rights_email: policy.rights.email.to_string(),
            complaint: ComplaintInfo {
                authority: a.name.clone(),
                country: a.country.clone(),
                address: a.address.clone(),
                email: a.email.as_ref().map(|e| e.to_string()),
                phone: a.phone.clone(),
                website: a.website.clone(),
                statement: text::complaint_statement(lang, &a.name),
            },
            automated_decision_making: AutomatedDecisionsInfo {
                exists: !decisions.is_empty(),
                statement,
                decisions,
                profiling,
            },
            processor_note: c
                .processor_role
                .as_ref()
                .map(|r| r.guidance.clone().unwrap_or_else(|| r.description.clone())),
            collections: Vec::new(),
            notes: text::notes(lang),
            category_names: category_names(policy),
            systems: BTreeMap::new(),
        };
        manifest.systems = policy
            .systems
            .iter()
            .map(|s| {
                (
                    s.id.to_string(),
                    (s.name.clone(), purpose_ids(&|p| p.systems.contains(&s.id))),
                )
            })
            .collect();
        manifest.refresh_categories();
        manifest
    }

    /// The request's language.
    pub fn lang(&self) -> Lang {
        self.request.lang
    }

    /// Recomputes `data_categories` from the purposes and the collections' columns.
    pub(crate) fn refresh_categories(&mut self) {
        let mut keys: BTreeMap<String, ()> = BTreeMap::new();
        for p in &self.purposes {
            for c in &p.data_categories {
                keys.insert(c.clone(), ());
            }
        }
        for c in &self.collections {
            for col in &c.columns {
                for k in &col.categories {
                    keys.insert(k.clone(), ());
                }
            }
        }
        self.data_categories = keys
            .into_keys()
            .map(|key| CategoryInfo {
                name: self
                    .category_names
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| key.clone()),
                key,
            })
            .collect();
    }
}

fn category_names(policy: &Policy) -> BTreeMap<String, String> {
    policy
        .taxonomy
        .iter()
        .map(|c| (c.key.to_string(), c.name.clone()))
        .collect()
}

/// Categories per column, as the engine passes them to
/// [`PackageBuilder::collection`](super::PackageBuilder::collection).
pub type ColumnCategories = Vec<(String, Vec<CategoryKey>)>;
