//! The policy file format: what YAML a policy author writes.
//!
//! These types are the wire format (the DTOs) of the policy: serde reads them and schemars
//! turns their doc comments into `schema/policy.schema.json`, which editors use for completion.
//! They hold raw references (ids as written, with their location); `resolve` checks those and
//! builds the domain `Policy`. Keep every field documented: the comment is the user's manual.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use ombud_domain::policy::{self as model, CookieLifetime, Keyword, Period};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::span::Sp;

/// A reference to another item of the policy, by id, with its location.
pub type Ref = Sp<String>;

/// One policy file. A policy is one file, or a folder of `.yaml` files that are read in name
/// order and merged: each single section (`controller`, `notice`, `rights`, ...) may appear in
/// one file only, and the entries of keyed sections (`purposes`, `recipients`, ...) may be
/// spread over several files.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ombud policy")]
pub struct PolicyFile {
    /// Version of the policy format. Always `1`.
    pub ombud: Option<Sp<u32>>,
    /// The privacy notice itself: title, date, and the prose around the generated parts.
    pub notice: Option<Sp<NoticeDto>>,
    /// The organisation responsible for the processing (GDPR Art. 13(1)(a)).
    pub controller: Option<Sp<ControllerDto>>,
    /// The privacy contact point, e.g. a Data Protection Manager, or a DPO under Art. 37.
    pub contact_point: Option<Sp<ContactPointDto>>,
    /// The authority people can complain to (Art. 77).
    pub supervisory_authority: Option<Sp<AuthorityDto>>,
    /// Categories of people whose data is processed, by id.
    #[serde(default)]
    pub data_subjects: Map<SubjectDto>,
    /// Data categories added to the built-in fideslang taxonomy, by dotted key. Each must sit
    /// under an existing key, e.g. `user.correspondence`.
    #[serde(default)]
    pub data_categories: Map<CategoryDto>,
    /// Where personal data comes from, by id.
    #[serde(default)]
    pub sources: Map<SourceDto>,
    /// Processing activities, by id: one row of the record of processing each.
    #[serde(default)]
    pub purposes: Map<PurposeDto>,
    /// Who receives personal data, by id.
    #[serde(default)]
    pub recipients: Map<RecipientDto>,
    /// Retention rules, by id.
    #[serde(default)]
    pub retention: Map<RetentionDto>,
    /// Data that a law requires to be kept; erasure becomes restriction for it.
    #[serde(default)]
    pub legal_holds: Map<LegalHoldDto>,
    /// Technical and organisational security measures (Art. 32).
    pub security: Option<Sp<SecurityDto>>,
    /// How consent is given and withdrawn.
    pub consent: Option<Sp<ConsentDto>>,
    /// Cookie categories offered in the banner, by id.
    #[serde(default)]
    pub cookie_categories: Map<CookieCategoryDto>,
    /// Every cookie and similar technology the website uses.
    #[serde(default)]
    pub cookies: Vec<Sp<CookieDto>>,
    /// Forms and other places where personal data is collected, by id.
    #[serde(default)]
    pub collection_points: Map<CollectionPointDto>,
    /// How rights requests are handled.
    pub rights: Option<Sp<RightsDto>>,
    /// Marketing channels, topics and opt-out.
    pub marketing: Option<Sp<MarketingDto>>,
    /// Systems of the data map, by id: the organisation's own databases (with their tables and
    /// columns) and the services staff handle by hand.
    #[serde(default)]
    pub systems: Map<SystemDto>,
    /// How columns of the data map are erased when a column does not say.
    pub erasure: Option<Sp<ErasureDto>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeDto {
    /// Title of the notice.
    pub title: String,
    /// Date of the last change, `YYYY-MM-DD`.
    pub last_updated: DateDto,
    /// Language of the texts (BCP 47), default `en`.
    pub language: Option<String>,
    /// Opening paragraphs.
    #[serde(default)]
    pub introduction: Paragraphs,
    /// Situations the notice covers ("when you visit our website", ...).
    #[serde(default)]
    pub applies_when: Vec<String>,
    /// Extra paragraphs per section of the notice (`who_we_are`, `collection`, `purposes`,
    /// `sharing`, `transfers`, `security`, `retention`, `consent`, `rights`, `marketing`,
    /// `cookies`, `changes`, `contact`), printed before what ombud generates for that section.
    #[serde(default)]
    pub paragraphs: Map<Paragraphs>,
    /// How changes to the notice are made known.
    pub changes: Option<ChangesDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesDto {
    /// Changes are posted on the website (default true).
    #[serde(default = "yes")]
    pub published_on_website: bool,
    /// Affected people are told by e-mail where appropriate.
    #[serde(default)]
    pub notified_by_email: bool,
    /// The wording about changes, as the notice states it.
    #[serde(default)]
    pub wording: Paragraphs,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerDto {
    /// Legal name.
    pub name: String,
    /// Name used in running text.
    pub short_name: Option<String>,
    /// Postal address, one line per item.
    pub address: Vec<String>,
    /// ISO 3166-1 alpha-2 country code of the establishment.
    pub country: Sp<String>,
    /// General e-mail address.
    pub email: Sp<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Set when the organisation also processes personal data for its customers as processor.
    pub processor_role: Option<ProcessorRoleDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorRoleDto {
    /// What the organisation processes on its customers' behalf.
    pub description: String,
    /// Where that data is hosted, e.g. `EU`.
    pub hosting: Option<String>,
    /// What people should do about data in the platform.
    pub guidance: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPointDto {
    /// Role title, e.g. `Data Protection Manager`.
    pub title: String,
    /// Short form, e.g. `DPM`.
    pub abbreviation: Option<String>,
    /// Name of the person holding the role.
    pub name: Option<String>,
    pub email: Sp<String>,
    /// Postal address, one line per item.
    #[serde(default)]
    pub address: Vec<String>,
    /// True only for a DPO designated under GDPR Art. 37.
    #[serde(default)]
    pub statutory_dpo: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityDto {
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Sp<String>,
    #[serde(default)]
    pub address: Vec<String>,
    pub email: Option<Sp<String>>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectDto {
    pub name: String,
    pub description: Option<String>,
    /// People whose data the organisation holds only as processor for its customers.
    #[serde(default)]
    pub processor_scope: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryDto {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDto {
    pub name: String,
    pub kind: Kw<model::SourceKind>,
    pub description: Option<String>,
    /// How people whose data comes from this source are informed (GDPR Art. 14).
    pub art14_notice: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeDto {
    /// Name as the notice prints it.
    pub name: String,
    /// What is done and why.
    #[serde(default)]
    pub description: Paragraphs,
    /// Legal bases under GDPR Art. 6(1). Several when the notice says "or"; say when each
    /// applies in `basis_note`. Leave empty only if the notice states none (`policy check`
    /// reports it).
    #[serde(default)]
    pub legal_basis: Vec<Sp<Kw<model::LegalBasis>>>,
    /// When several bases are listed, which applies when.
    pub basis_note: Option<String>,
    /// The legitimate interest pursued (required with `legitimate_interests`).
    pub legitimate_interest: Option<String>,
    /// Data subject ids.
    #[serde(default)]
    pub data_subjects: Vec<Ref>,
    /// Data category keys.
    #[serde(default)]
    pub data_categories: Vec<Ref>,
    /// Source ids.
    #[serde(default)]
    pub sources: Vec<Ref>,
    /// Recipient ids.
    #[serde(default)]
    pub recipients: Vec<Ref>,
    /// Retention rule id.
    pub retention: Option<Ref>,
    /// System ids of the data map.
    #[serde(default)]
    pub systems: Vec<Ref>,
    /// Direct-marketing channels; set them on every direct-marketing purpose.
    #[serde(default)]
    pub marketing_channels: Vec<Sp<Kw<model::MarketingChannel>>>,
    /// Ways consent is given outside the banner and the forms (e.g. `phone`, `email`).
    #[serde(default)]
    pub consent_channels: Vec<Kw<model::ConsentChannel>>,
    /// Solely automated decisions with legal or similar effect (Art. 22), described.
    pub automated_decisions: Option<String>,
    /// Whether people are profiled.
    #[serde(default)]
    pub profiling: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientDto {
    pub name: String,
    pub role: Kw<model::RecipientRole>,
    /// What the recipient does.
    pub description: Option<String>,
    /// ISO 3166-1 alpha-2 codes of the countries where it processes the data.
    #[serde(default)]
    pub countries: Vec<Sp<String>>,
    /// The safeguard for processing outside the EEA.
    pub transfer: Option<Sp<TransferDto>>,
    /// For disclosures that happen only in named circumstances.
    pub circumstances: Option<String>,
    /// Receives data for every purpose (e.g. legal advisers).
    #[serde(default)]
    pub all_purposes: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferDto {
    pub mechanism: Kw<model::TransferMechanism>,
    pub description: Option<String>,
    /// When the mechanism (and for SCCs the transfer impact assessment) was last reviewed.
    pub reviewed: Option<Sp<DateDto>>,
    /// When it must be reviewed again.
    pub review_by: Option<Sp<DateDto>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionDto {
    pub name: String,
    /// How long, e.g. `30 days`. Leave out only when the notice states criteria alone.
    pub keep: Option<PeriodDto>,
    /// The event the period counts from.
    pub after: Kw<model::Anchor>,
    /// What happens at the end (default `delete`).
    pub action: Option<Kw<model::RetentionAction>>,
    /// Exceptions that extend the period.
    #[serde(default)]
    pub unless: Vec<RetentionExceptionDto>,
    /// The criteria, as the notice states them.
    pub criteria: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionExceptionDto {
    /// Id of a consent-based purpose; the exception applies while that consent stands.
    pub consent: Ref,
    pub keep: PeriodDto,
    pub after: Kw<model::Anchor>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldDto {
    pub name: String,
    /// The law that requires keeping the data.
    pub law: String,
    pub keep: PeriodDto,
    pub after: Kw<model::Anchor>,
    /// Data category keys the hold covers.
    #[serde(default)]
    pub data_categories: Vec<Ref>,
    /// Purpose ids the hold covers.
    #[serde(default)]
    pub purposes: Vec<Ref>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityDto {
    /// Measures by id.
    #[serde(default)]
    pub measures: Map<MeasureDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureDto {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDto {
    /// Ways consent is given.
    #[serde(default)]
    pub channels: Vec<Kw<model::ConsentChannel>>,
    /// How long a consent stands before ombud asks again (default `12 months`).
    pub expires_after: Option<PeriodDto>,
    /// How consent is withdrawn.
    pub withdrawal: Option<String>,
    /// What a person confirms when giving someone else's data.
    pub third_party_data: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CookieCategoryDto {
    pub name: String,
    #[serde(default)]
    pub description: Paragraphs,
    /// Strictly necessary: exempt from consent and always on.
    #[serde(default)]
    pub necessary: bool,
    /// Purpose ids the category serves.
    #[serde(default)]
    pub purposes: Vec<Ref>,
    /// Sale, sharing or advertising: switched off by default under Global Privacy Control.
    #[serde(default)]
    pub gpc_opt_out: bool,
    /// Google Consent Mode v2 signals granted with this category, e.g. `analytics_storage`, or
    /// `ad_storage`, `ad_user_data` and `ad_personalization` for advertising.
    #[serde(default)]
    pub consent_mode: Vec<Kw<model::ConsentModeSignal>>,
    /// Name and description in other languages, keyed by language code (e.g. `da`).
    #[serde(default)]
    pub translations: Map<TranslationDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationDto {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CookieDto {
    /// Cookie name; `<id>` stands for a site-specific part.
    pub name: String,
    /// Who sets it.
    pub provider: String,
    /// Recipient id of the provider, if it receives data.
    pub recipient: Option<Ref>,
    /// `cookie` (default), `local_storage` or `pixel`.
    pub kind: Option<Kw<model::TrackerKind>>,
    pub party: Kw<model::Party>,
    pub domain: Option<String>,
    /// Cookie category id.
    pub category: Ref,
    /// Lifetime, e.g. `2 years`, or `session`.
    pub duration: LifetimeDto,
    /// What it is for.
    pub purpose: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPointDto {
    pub name: String,
    pub kind: Kw<model::CollectionKind>,
    pub description: Option<String>,
    /// Purpose ids the data collected here serves.
    #[serde(default)]
    pub purposes: Vec<Ref>,
    /// Data subject ids.
    #[serde(default)]
    pub data_subjects: Vec<Ref>,
    /// Fields by id.
    #[serde(default)]
    pub fields: Map<FieldDto>,
    /// Consent tick boxes by id.
    #[serde(default)]
    pub consents: Map<ConsentItemDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDto {
    pub label: String,
    /// Data category key.
    pub category: Ref,
    #[serde(default)]
    pub required: bool,
    /// Set when the field identifies the person across systems.
    pub identity: Option<Kw<model::IdentityKind>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentItemDto {
    /// Id of the consent-based purpose the box grants.
    pub purpose: Ref,
    /// The exact wording shown next to the box.
    pub wording: String,
    /// Whether the form can't be sent without it (consent must not be a condition, Art. 7(4)).
    #[serde(default)]
    pub required: bool,
    /// Whether the box starts ticked (pre-ticked boxes are not consent).
    #[serde(default)]
    pub checked_by_default: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsDto {
    /// The promised response time.
    pub response: ResponseDto,
    /// Where requests are sent.
    pub email: Sp<String>,
    /// How identity is verified before any data leaves.
    #[serde(default)]
    pub identity_verification: Vec<Kw<model::VerificationMethod>>,
    /// The fee terms, as the notice states them.
    #[serde(default)]
    pub fees: Paragraphs,
    /// Requests that come the same way but are not rights requests.
    pub other_requests: Option<String>,
    /// The rights offered, keyed by right (`access`, `rectification`, `erasure`,
    /// `restriction`, `portability`, `objection`, `automated_decisions`), with their wording.
    #[serde(default)]
    pub offered: Map<RightDto>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseDto {
    /// Promised response time in working days.
    pub working_days: Sp<u32>,
    /// ISO country code of the holiday calendar, e.g. `DK`.
    pub calendar: Sp<String>,
    /// Customary closing days observed, e.g. `christmas_eve`, `new_years_eve`,
    /// `constitution_day` for Denmark.
    #[serde(default)]
    pub closing_days: Vec<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightDto {
    pub description: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingDto {
    #[serde(default)]
    pub channels: Vec<Kw<model::MarketingChannel>>,
    /// Topics people can subscribe to, by id.
    #[serde(default)]
    pub topics: Map<TopicDto>,
    /// Ways to opt out, as the notice lists them.
    #[serde(default)]
    pub opt_out: Vec<String>,
    /// Messages an opt-out never stops.
    #[serde(default)]
    pub service_messages: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicDto {
    pub name: String,
    /// Id of the direct-marketing purpose the topic belongs to.
    pub purpose: Ref,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemDto {
    pub name: String,
    pub description: Option<String>,
    /// Recipient id of the vendor that runs it.
    pub recipient: Option<Ref>,
    /// Where it is hosted.
    pub hosting: Option<String>,
    /// How ombud reaches it (default `manual`): `manual` (staff handle requests by hand, following
    /// `instructions`), `ombud` (ombud's own store), or a database: `postgres`, `mysql`, `sqlite`.
    pub connector: Option<Kw<model::ConnectorKind>>,
    /// The name of the connection in the runtime configuration, which holds its URL (a secret, so
    /// never in the policy). Default: the system id.
    pub connection: Option<Sp<String>>,
    /// For a system without a connector: what staff do for access, rectification, erasure,
    /// restriction and objection requests.
    pub instructions: Option<String>,
    /// The tables that hold personal data, keyed by the table's name exactly as the database
    /// spells it (quote odd names: `"Odd Table"`). Only for `postgres`, `mysql` and `sqlite`
    /// systems.
    #[serde(default)]
    pub collections: Map<CollectionDto>,
}

/// A table of a database system.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionDto {
    /// The schema (PostgreSQL) or database (MySQL) the table lives in; default: the
    /// connection's.
    pub schema: Option<String>,
    /// Erase a person's rows by deleting them, rather than column by column (default false).
    #[serde(default)]
    pub delete_rows: bool,
    /// Where the table itself records that processing of a row is restricted.
    pub restriction: Option<Sp<RestrictionDto>>,
    /// Ids of legal holds (under `legal_holds:`) that cover every row of the table, e.g.
    /// invoices under the bookkeeping act: erasure becomes restriction while the hold lasts.
    #[serde(default)]
    pub legal_holds: Vec<Ref>,
    /// The columns, keyed by the column's name exactly as the database spells it. List the
    /// primary key, the columns that link tables, and every column that holds personal data;
    /// `{}` declares a column with nothing more to say (a key).
    #[serde(default)]
    pub fields: Map<ColumnDto>,
}

/// A column of a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnDto {
    /// Data category keys of what the column holds; none for a key that is no personal data by
    /// itself.
    #[serde(default)]
    pub categories: Vec<Ref>,
    /// The column holds an identity a request can start from: `email`, `phone`, `customer_id`,
    /// or an identity of your own in lowercase letters, digits and `_`.
    pub identity: Option<Sp<String>>,
    /// The column is (part of) the table's primary key. Every table needs one: rows are
    /// addressed by it. A primary key is never erased.
    #[serde(default)]
    pub primary_key: bool,
    /// Columns whose values this one shares (foreign keys, or looser links). A request follows
    /// them from a person's rows to their other rows.
    #[serde(default)]
    pub references: Vec<Sp<ReferenceDto>>,
    /// How the column is erased: `null`, `hash` (keyed HMAC: equal values stay equal within one
    /// erasure), `random`, `delete_row`, or `{fixed: "text"}`. Default: the `erasure:` rule for
    /// its categories.
    #[serde(default, deserialize_with = "explicit")]
    #[schemars(with = "Option<StrategyDto>")]
    pub erase: Option<Sp<StrategyDto>>,
    /// The column type the map expects (`text`, `integer`, ...).
    #[serde(rename = "type")]
    pub data_type: Option<String>,
}

/// A link from one column to another.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceDto {
    /// The system of the referenced column; default: this system.
    pub system: Option<Ref>,
    /// The referenced table.
    pub collection: Sp<String>,
    /// The referenced column.
    pub field: Sp<String>,
    /// Which way a request may follow the link: `from` (rows of the referenced table lead to
    /// rows here), `to` (rows here lead to rows there) or `both` (default).
    pub direction: Option<DirectionDto>,
}

/// Which way a request may follow a reference.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectionDto {
    /// Rows of the referenced table lead to rows here.
    From,
    /// Rows here lead to rows of the referenced table.
    To,
    /// Both ways.
    Both,
}

/// A column set to a value on a person's rows when their processing is restricted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionDto {
    /// The column; it need not be listed under `fields` (it holds no personal data).
    pub column: Sp<String>,
    /// The value that means "restricted", e.g. `true`, `1` or `Y`.
    pub value: ScalarText,
}

/// The `erasure:` section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureDto {
    /// The strategy for a column that has no `erase` and matches no `by_category` rule
    /// (default `null`).
    #[serde(default, deserialize_with = "explicit")]
    #[schemars(with = "Option<StrategyDto>")]
    pub default: Option<Sp<StrategyDto>>,
    /// Strategies by data category key; the most specific matching key wins, e.g.
    /// `user.contact.email: hash` and `user.name: {fixed: "erased"}`.
    #[serde(default)]
    pub by_category: Map<Sp<StrategyDto>>,
}

/// How a column's values are erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyDto {
    Null,
    Fixed(String),
    Hash,
    Random,
    DeleteRow,
}

impl StrategyDto {
    const KEYS: [&'static str; 4] = ["null", "hash", "random", "delete_row"];
}

impl<'de> Deserialize<'de> for StrategyDto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrategyVisitor;
        impl<'de> Visitor<'de> for StrategyVisitor {
            type Value = StrategyDto;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an erasure strategy: null, hash, random, delete_row or {fixed: \"text\"}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrategyDto, E> {
                match v.trim() {
                    "null" => Ok(StrategyDto::Null),
                    "hash" => Ok(StrategyDto::Hash),
                    "random" => Ok(StrategyDto::Random),
                    "delete_row" => Ok(StrategyDto::DeleteRow),
                    other => Err(E::custom(format!(
                        "unknown erasure strategy `{other}`; expected one of: {}, or {{fixed: \"text\"}}",
                        StrategyDto::KEYS.join(", ")
                    ))),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<StrategyDto, E> {
                Ok(StrategyDto::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<StrategyDto, E> {
                Ok(StrategyDto::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrategyDto, A::Error> {
                let mut fixed = None;
                while let Some(key) = access.next_key::<String>()? {
                    if key != "fixed" || fixed.is_some() {
                        return Err(de::Error::custom(format!(
                            "unknown field `{key}` in an erasure strategy; expected `fixed`"
                        )));
                    }
                    fixed = Some(access.next_value::<String>()?);
                }
                fixed.map(StrategyDto::Fixed).ok_or_else(|| {
                    de::Error::custom("missing field `fixed` in an erasure strategy")
                })
            }
        }
        d.deserialize_any(StrategyVisitor)
    }
}

impl JsonSchema for StrategyDto {
    fn schema_name() -> Cow<'static, str> {
        "Strategy".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An erasure strategy: `null`, `hash`, `random`, `delete_row`, or `{fixed: \"text\"}`.",
            "anyOf": [
                { "type": "null" },
                { "type": "string", "enum": StrategyDto::KEYS },
                {
                    "type": "object",
                    "properties": { "fixed": { "type": "string" } },
                    "required": ["fixed"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Reads a value that is present even when it is YAML `null` (which an `Option` field would
/// read as absent): `erase: null` is the `null` strategy, not "no strategy".
fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sp<StrategyDto>>, D::Error> {
    Sp::<StrategyDto>::deserialize(d).map(Some)
}

/// A scalar (text, number or boolean) kept as its text.
#[derive(Debug, Clone)]
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

impl JsonSchema for ScalarText {
    fn schema_name() -> Cow<'static, str> {
        "ScalarText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A text, number or boolean, used as text.",
            "type": ["string", "number", "boolean"]
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Value types

/// A mapping whose keys are ids, in file order, with the location of each key.
#[derive(Debug)]
pub struct Map<V>(pub Vec<(Sp<String>, V)>);

impl<V> Default for Map<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = Map<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of ids to entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Map<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = access.next_entry()? {
                    entries.push(entry);
                }
                Ok(Map(entries))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Map<V>, E> {
                Ok(Map::default())
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for Map<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": generator.subschema_for::<V>() })
    }
}

/// A value of a closed vocabulary, e.g. a legal basis.
#[derive(Debug, Clone, Copy)]
pub struct Kw<K>(pub K);

impl<'de, K: Keyword> Deserialize<'de> for Kw<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        K::parse(&s).map(Kw).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown {} `{s}`; expected one of: {}",
                K::KIND,
                K::keys().join(", ")
            ))
        })
    }
}

impl<K: Keyword> JsonSchema for Kw<K> {
    fn schema_name() -> Cow<'static, str> {
        let full = std::any::type_name::<K>();
        full.rsplit("::").next().unwrap_or(full).to_owned().into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": K::keys(), "description": format!("A {}.", K::KIND) })
    }
}

/// One paragraph, or a list of paragraphs.
#[derive(Debug, Clone, Default)]
pub struct Paragraphs(pub Vec<String>);

impl<'de> Deserialize<'de> for Paragraphs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ParagraphsVisitor;
        impl<'de> Visitor<'de> for ParagraphsVisitor {
            type Value = Paragraphs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a paragraph of text or a list of paragraphs")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Paragraphs, E> {
                Ok(Paragraphs(vec![v.trim().to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Paragraphs, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    out.push(p.trim().to_owned());
                }
                Ok(Paragraphs(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Paragraphs, E> {
                Ok(Paragraphs::default())
            }
        }
        d.deserialize_any(ParagraphsVisitor)
    }
}

impl JsonSchema for Paragraphs {
    fn schema_name() -> Cow<'static, str> {
        "Paragraphs".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One paragraph of text, or a list of paragraphs.",
            "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
        })
    }
}

/// Declares a value type read from a YAML string by a parser, with a schema of `string`.
macro_rules! parsed_string {
    ($(#[$meta:meta])* $name:ident($inner:ty) = $parse:expr, $schema_desc:literal $(, format = $fmt:literal)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let parse: fn(&str) -> Result<$inner, String> = $parse;
                parse(s.trim()).map($name).map_err(de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                #[allow(unused_mut)]
                let mut s = json_schema!({ "type": "string", "description": $schema_desc });
                $(s.insert("format".into(), $fmt.into());)?
                s
            }
        }
    };
}

parsed_string!(
    /// A calendar date, `YYYY-MM-DD`.
    DateDto(jiff::civil::Date) = |s| {
        s.parse::<jiff::civil::Date>()
            .map_err(|_| format!("`{s}` is not a date: write it as YYYY-MM-DD, e.g. 2020-01-15"))
    },
    "A calendar date, YYYY-MM-DD.",
    format = "date"
);

parsed_string!(
    /// A period such as `30 days`.
    PeriodDto(Period) = |s| Period::parse(s).map_err(|e| e.to_string()),
    "A whole number and a unit (minutes, hours, days, weeks, months, years), e.g. `30 days`."
);

parsed_string!(
    /// A cookie lifetime: a period or `session`.
    LifetimeDto(CookieLifetime) = |s| CookieLifetime::parse(s).map_err(|e| e.to_string()),
    "`session`, or a whole number and a unit, e.g. `2 years`."
);
