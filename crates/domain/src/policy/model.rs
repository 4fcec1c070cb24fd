//! The policy: everything an organisation declares about its processing, resolved and checked.
//!
//! A `Policy` only exists once every reference inside it points at something declared (the
//! `policy` crate builds it from YAML and refuses otherwise), so code that holds one can look
//! things up without handling dangling ids. Lists keep the order of the policy file, which is
//! the order the notice prints them in.

use jiff::civil::Date;

use crate::calendar::{Calendar, CalendarError};
use crate::datamap::DataMap;
use crate::email::EmailAddress;

use super::ids::*;
use super::period::{CookieLifetime, Period};
use super::taxonomy::{CategoryKey, Taxonomy};
use super::vocab::*;

/// A whole policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub notice: Notice,
    pub controller: Controller,
    pub contact_point: ContactPoint,
    pub supervisory_authority: Authority,
    pub data_subjects: Vec<SubjectCategory>,
    pub taxonomy: Taxonomy,
    pub sources: Vec<Source>,
    pub purposes: Vec<Purpose>,
    pub recipients: Vec<Recipient>,
    pub retention: Vec<RetentionRule>,
    pub legal_holds: Vec<LegalHold>,
    pub security: Security,
    pub consent: ConsentTerms,
    pub cookie_categories: Vec<CookieCategory>,
    pub cookies: Vec<Cookie>,
    pub collection_points: Vec<CollectionPoint>,
    pub rights: RightsHandling,
    pub marketing: Marketing,
    pub systems: Vec<System>,
    /// Where personal data lives in the systems: tables, columns, identities, references and
    /// erasure strategies. Always holds ombud's own store (system `ombud`), and every declared
    /// system (a manual one without collections).
    pub data_map: DataMap,
}

/// Facts about the notice itself, and the prose that goes around the generated parts.
#[derive(Debug, Clone)]
pub struct Notice {
    pub title: String,
    pub last_updated: Date,
    pub language: String,
    /// The opening paragraphs.
    pub introduction: Vec<String>,
    /// "This notice applies when you: …".
    pub applies_when: Vec<String>,
    /// Extra paragraphs per section, printed before the generated content of that section.
    pub paragraphs: Vec<(NoticeSection, Vec<String>)>,
    pub changes: ChangeTerms,
}

impl Notice {
    pub fn paragraphs(&self, section: NoticeSection) -> &[String] {
        self.paragraphs
            .iter()
            .find(|(s, _)| *s == section)
            .map_or(&[], |(_, p)| p.as_slice())
    }
}

/// How changes to the policy reach people.
#[derive(Debug, Clone)]
pub struct ChangeTerms {
    pub published_on_website: bool,
    pub notified_by_email: bool,
    pub wording: Vec<String>,
}

/// A postal address as lines.
pub type Address = Vec<String>;

#[derive(Debug, Clone)]
pub struct Controller {
    pub name: String,
    pub short_name: Option<String>,
    pub address: Address,
    pub country: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub processor_role: Option<ProcessorRole>,
}

/// The controller also acts as processor for its customers (R72).
#[derive(Debug, Clone)]
pub struct ProcessorRole {
    pub description: String,
    /// Where the platform data is hosted, e.g. "EU".
    pub hosting: Option<String>,
    pub guidance: Option<String>,
}

/// The privacy contact point (the seed's "Data Protection Manager").
#[derive(Debug, Clone)]
pub struct ContactPoint {
    pub title: String,
    pub abbreviation: Option<String>,
    pub name: Option<String>,
    pub email: EmailAddress,
    pub address: Address,
    /// A statutory DPO designated under Art. 37, or only a contact point.
    pub statutory_dpo: bool,
}

#[derive(Debug, Clone)]
pub struct Authority {
    pub name: String,
    pub country: String,
    pub address: Address,
    pub email: Option<EmailAddress>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubjectCategory {
    pub id: SubjectCategoryId,
    pub name: String,
    pub description: Option<String>,
    /// People whose data the organisation holds only as a processor for its customers.
    pub processor_scope: bool,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: SourceId,
    pub name: String,
    pub kind: SourceKind,
    pub description: Option<String>,
    /// How people from this source are told about the processing (Art. 14).
    pub art14_notice: Option<String>,
}

/// A processing activity: one row of the record of processing.
#[derive(Debug, Clone)]
pub struct Purpose {
    pub id: PurposeId,
    pub name: String,
    pub description: String,
    /// Empty when the policy states none (which `policy check` reports).
    pub legal_bases: Vec<LegalBasis>,
    /// When several bases are listed: which applies when.
    pub basis_note: Option<String>,
    pub legitimate_interest: Option<String>,
    pub data_subjects: Vec<SubjectCategoryId>,
    pub data_categories: Vec<CategoryKey>,
    pub sources: Vec<SourceId>,
    pub recipients: Vec<RecipientId>,
    pub retention: Option<RetentionRuleId>,
    pub systems: Vec<SystemId>,
    /// Channels of direct marketing; non-empty makes this a direct-marketing purpose, which an
    /// objection under Art. 21(3) stops unconditionally.
    pub marketing_channels: Vec<MarketingChannel>,
    /// Ways consent is given outside the banner and forms ("by phone, email or other means").
    pub consent_channels: Vec<ConsentChannel>,
    pub automated_decisions: Option<String>,
    pub profiling: bool,
}

impl Purpose {
    pub fn is_direct_marketing(&self) -> bool {
        !self.marketing_channels.is_empty()
    }

    pub fn relies_on(&self, basis: LegalBasis) -> bool {
        self.legal_bases.contains(&basis)
    }
}

#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: RecipientId,
    pub name: String,
    pub role: RecipientRole,
    pub description: Option<String>,
    /// ISO 3166-1 alpha-2 codes of the countries where the recipient processes the data.
    pub countries: Vec<String>,
    pub transfer: Option<Transfer>,
    /// Disclosures that happen only in named circumstances (e.g. a sale of the business).
    pub circumstances: Option<String>,
    /// Applies to every purpose (e.g. legal advisers, a buyer of the business).
    pub all_purposes: bool,
}

impl Recipient {
    /// Countries outside the EEA that the data goes to.
    pub fn third_countries(&self) -> impl Iterator<Item = &str> {
        self.countries
            .iter()
            .map(String::as_str)
            .filter(|c| !in_eea(c))
    }
}

/// A transfer outside the EEA and the safeguard it relies on.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub mechanism: TransferMechanism,
    pub description: Option<String>,
    /// When the mechanism was last assessed (for SCCs: the transfer impact assessment).
    pub reviewed: Option<Date>,
    pub review_by: Option<Date>,
}

/// How long data is kept and what happens after.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    pub id: RetentionRuleId,
    pub name: String,
    /// `None` when the policy only states criteria (ombud cannot enforce that).
    pub keep: Option<Period>,
    pub after: Anchor,
    pub action: RetentionAction,
    pub unless: Vec<RetentionException>,
    pub criteria: Option<String>,
}

/// "… unless the person consented to X, then keep for Y after Z".
#[derive(Debug, Clone)]
pub struct RetentionException {
    pub consent: PurposeId,
    pub keep: Period,
    pub after: Anchor,
}

/// Data a law makes the organisation keep; erasure becomes restriction for it (Art. 17(3)(b)).
#[derive(Debug, Clone)]
pub struct LegalHold {
    pub id: LegalHoldId,
    pub name: String,
    pub law: String,
    pub keep: Period,
    pub after: Anchor,
    pub data_categories: Vec<CategoryKey>,
    pub purposes: Vec<PurposeId>,
}

#[derive(Debug, Clone)]
pub struct Security {
    pub measures: Vec<SecurityMeasure>,
}

#[derive(Debug, Clone)]
pub struct SecurityMeasure {
    pub id: MeasureId,
    pub name: String,
    pub description: String,
}

/// The general consent terms (R42, R43).
#[derive(Debug, Clone)]
pub struct ConsentTerms {
    pub channels: Vec<ConsentChannel>,
    /// How long a consent stands before ombud asks again (default 12 months).
    pub expires_after: Period,
    pub withdrawal: Option<String>,
    /// What a person confirms when giving someone else's data (R11).
    pub third_party_data: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CookieCategory {
    pub id: CookieCategoryId,
    pub name: String,
    pub description: String,
    /// Strictly necessary: exempt from consent (ePrivacy Art. 5(3)), always on.
    pub necessary: bool,
    pub purposes: Vec<PurposeId>,
    /// Sale, sharing or cross-context advertising: off by default under a GPC signal.
    pub gpc_opt_out: bool,
    /// The Google Consent Mode signals that follow this category's consent.
    pub consent_mode: Vec<ConsentModeSignal>,
    /// Name and description in other languages, by language code.
    pub translations: Vec<(String, Translation)>,
}

impl CookieCategory {
    /// Name and description in `lang`, falling back to the policy's language.
    pub fn text(&self, lang: &str) -> (&str, &str) {
        match self.translations.iter().find(|(l, _)| l == lang) {
            Some((_, t)) => (&t.name, &t.description),
            None => (&self.name, &self.description),
        }
    }
}

/// A name and a description in another language.
#[derive(Debug, Clone)]
pub struct Translation {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Cookie {
    pub name: String,
    pub provider: String,
    pub recipient: Option<RecipientId>,
    pub kind: TrackerKind,
    pub party: Party,
    pub domain: Option<String>,
    pub category: CookieCategoryId,
    pub lifetime: CookieLifetime,
    pub purpose: String,
}

#[derive(Debug, Clone)]
pub struct CollectionPoint {
    pub id: CollectionPointId,
    pub name: String,
    pub kind: CollectionKind,
    pub description: Option<String>,
    pub purposes: Vec<PurposeId>,
    pub data_subjects: Vec<SubjectCategoryId>,
    pub fields: Vec<Field>,
    pub consents: Vec<ConsentItem>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: FieldId,
    pub label: String,
    pub category: CategoryKey,
    pub required: bool,
    pub identity: Option<IdentityKind>,
}

/// A tick box that records consent with its exact wording.
#[derive(Debug, Clone)]
pub struct ConsentItem {
    pub id: ConsentItemId,
    pub purpose: PurposeId,
    pub wording: String,
    pub required: bool,
    pub checked_by_default: bool,
}

/// How rights requests are handled.
#[derive(Debug, Clone)]
pub struct RightsHandling {
    /// The promised response time in working days.
    pub working_days: u32,
    /// ISO country of the holiday calendar.
    pub calendar: String,
    /// Customary closing days the organisation observes (calendar ids).
    pub closing_days: Vec<String>,
    pub email: EmailAddress,
    pub identity_verification: Vec<VerificationMethod>,
    pub fees: FeeTerms,
    pub rights: Vec<RightTerms>,
    /// Requests that arrive on the same channel but are not rights requests (R56).
    pub other_requests: Option<String>,
}

impl RightsHandling {
    /// The working-day calendar of the promised response time.
    pub fn calendar(&self) -> Result<Calendar, CalendarError> {
        let days: Vec<&str> = self.closing_days.iter().map(String::as_str).collect();
        Calendar::new(&self.calendar, &days)
    }

    pub fn terms(&self, right: Right) -> Option<&RightTerms> {
        self.rights.iter().find(|r| r.right == right)
    }
}

#[derive(Debug, Clone)]
pub struct FeeTerms {
    pub wording: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RightTerms {
    pub right: Right,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Marketing {
    pub channels: Vec<MarketingChannel>,
    pub topics: Vec<Topic>,
    pub opt_out_methods: Vec<String>,
    /// Messages a marketing opt-out never suppresses (R61).
    pub service_messages: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub id: TopicId,
    pub name: String,
    pub purpose: PurposeId,
}

/// A system of the data map, as the record of processing names it; its tables and columns are in
/// [`Policy::data_map`].
#[derive(Debug, Clone)]
pub struct System {
    pub id: SystemId,
    pub name: String,
    pub description: Option<String>,
    pub recipient: Option<RecipientId>,
    pub hosting: Option<String>,
    pub connector: ConnectorKind,
}

impl Policy {
    pub fn purpose(&self, id: &PurposeId) -> Option<&Purpose> {
        self.purposes.iter().find(|p| &p.id == id)
    }

    pub fn recipient(&self, id: &RecipientId) -> Option<&Recipient> {
        self.recipients.iter().find(|r| &r.id == id)
    }

    pub fn subject_category(&self, id: &SubjectCategoryId) -> Option<&SubjectCategory> {
        self.data_subjects.iter().find(|s| &s.id == id)
    }

    pub fn source(&self, id: &SourceId) -> Option<&Source> {
        self.sources.iter().find(|s| &s.id == id)
    }

    pub fn retention_rule(&self, id: &RetentionRuleId) -> Option<&RetentionRule> {
        self.retention.iter().find(|r| &r.id == id)
    }

    pub fn cookie_category(&self, id: &CookieCategoryId) -> Option<&CookieCategory> {
        self.cookie_categories.iter().find(|c| &c.id == id)
    }

    pub fn system(&self, id: &SystemId) -> Option<&System> {
        self.systems.iter().find(|s| &s.id == id)
    }

    /// The recipients of a purpose, including those that receive data for every purpose.
    pub fn recipients_of<'a>(
        &'a self,
        purpose: &'a Purpose,
    ) -> impl Iterator<Item = &'a Recipient> {
        self.recipients
            .iter()
            .filter(move |r| r.all_purposes || purpose.recipients.contains(&r.id))
    }

    /// The name of a data category, or its key when it has none.
    pub fn category_name<'a>(&'a self, key: &'a CategoryKey) -> &'a str {
        self.taxonomy
            .get(key)
            .map_or(key.as_str(), |c| c.name.as_str())
    }

    /// The controller's short name, or its legal name.
    pub fn controller_short_name(&self) -> &str {
        self.controller
            .short_name
            .as_deref()
            .unwrap_or(&self.controller.name)
    }
}
