//! The closed vocabularies of the policy format, with the legal facts attached to each value.

use super::keyword::keyword;

keyword! {
    /// The six legal bases of GDPR Art. 6(1).
    pub enum LegalBasis: "legal basis" {
        Consent = "consent",
        Contract = "contract",
        LegalObligation = "legal_obligation",
        VitalInterests = "vital_interests",
        PublicTask = "public_task",
        LegitimateInterests = "legitimate_interests",
    }
}

impl LegalBasis {
    /// The article that grants it.
    pub fn article(self) -> &'static str {
        match self {
            Self::Consent => "GDPR Art. 6(1)(a)",
            Self::Contract => "GDPR Art. 6(1)(b)",
            Self::LegalObligation => "GDPR Art. 6(1)(c)",
            Self::VitalInterests => "GDPR Art. 6(1)(d)",
            Self::PublicTask => "GDPR Art. 6(1)(e)",
            Self::LegitimateInterests => "GDPR Art. 6(1)(f)",
        }
    }

    /// A plain-language name for notices and records.
    pub fn label(self) -> &'static str {
        match self {
            Self::Consent => "Consent",
            Self::Contract => "Performance of a contract",
            Self::LegalObligation => "Legal obligation",
            Self::VitalInterests => "Vital interests",
            Self::PublicTask => "Public task",
            Self::LegitimateInterests => "Legitimate interests",
        }
    }
}

keyword! {
    /// The rights of data subjects (GDPR Art. 15–22).
    pub enum Right: "right" {
        Access = "access",
        Rectification = "rectification",
        Erasure = "erasure",
        Restriction = "restriction",
        Portability = "portability",
        Objection = "objection",
        AutomatedDecisions = "automated_decisions",
    }
}

impl Right {
    pub fn article(self) -> &'static str {
        match self {
            Self::Access => "GDPR Art. 15",
            Self::Rectification => "GDPR Art. 16",
            Self::Erasure => "GDPR Art. 17",
            Self::Restriction => "GDPR Art. 18",
            Self::Portability => "GDPR Art. 20",
            Self::Objection => "GDPR Art. 21",
            Self::AutomatedDecisions => "GDPR Art. 22",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Access => "Access",
            Self::Rectification => "Rectification",
            Self::Erasure => "Erasure",
            Self::Restriction => "Restriction of processing",
            Self::Portability => "Data portability",
            Self::Objection => "Objection to processing",
            Self::AutomatedDecisions => "Automated decision-making",
        }
    }
}

keyword! {
    /// What a recipient is to the controller.
    pub enum RecipientRole: "recipient role" {
        /// Processes on the controller's instructions (Art. 28).
        Processor = "processor",
        /// Engaged by a processor (Art. 28(2), (4)).
        SubProcessor = "sub_processor",
        /// Decides purposes and means on its own.
        IndependentController = "independent_controller",
        /// Decides purposes and means together with the controller (Art. 26).
        JointController = "joint_controller",
        /// A public authority, court or regulator.
        Authority = "authority",
    }
}

impl RecipientRole {
    pub fn label(self) -> &'static str {
        match self {
            Self::Processor => "Processor",
            Self::SubProcessor => "Sub-processor",
            Self::IndependentController => "Independent controller",
            Self::JointController => "Joint controller",
            Self::Authority => "Public authority",
        }
    }
}

keyword! {
    /// The Chapter V instrument under which personal data leaves the EEA.
    pub enum TransferMechanism: "transfer mechanism" {
        /// A Commission adequacy decision for the country (Art. 45).
        Adequacy = "adequacy",
        /// The EU-US Data Privacy Framework adequacy decision of 10 July 2023; covers only
        /// certified importers.
        Dpf = "dpf",
        /// Standard contractual clauses, Decision (EU) 2021/914 (Art. 46(2)(c)).
        Scc = "scc",
        /// Binding corporate rules (Art. 47).
        Bcr = "bcr",
        /// A derogation for specific situations (Art. 49); only for occasional transfers.
        Derogation = "derogation",
    }
}

impl TransferMechanism {
    pub fn label(self) -> &'static str {
        match self {
            Self::Adequacy => "Adequacy decision (GDPR Art. 45)",
            Self::Dpf => "EU-US Data Privacy Framework (adequacy decision of 10 July 2023)",
            Self::Scc => {
                "Standard contractual clauses (GDPR Art. 46(2)(c), Decision (EU) 2021/914)"
            }
            Self::Bcr => "Binding corporate rules (GDPR Art. 47)",
            Self::Derogation => "Derogation for specific situations (GDPR Art. 49)",
        }
    }
}

keyword! {
    /// Where personal data comes from (Art. 14(2)(f) asks for the source).
    pub enum SourceKind: "source kind" {
        DataSubject = "data_subject",
        Automatic = "automatic",
        PubliclyAvailable = "publicly_available",
        ThirdParty = "third_party",
    }
}

keyword! {
    /// How a collection point takes data in.
    pub enum CollectionKind: "collection point kind" {
        WebForm = "web_form",
        Survey = "survey",
        Chat = "chat",
        EventRegistration = "event_registration",
        ContentDownload = "content_download",
        Newsletter = "newsletter",
        Correspondence = "correspondence",
        OfficeSignIn = "office_sign_in",
        JobApplication = "job_application",
        SignedStatement = "signed_statement",
    }
}

keyword! {
    /// A way a person can give consent (R42).
    pub enum ConsentChannel: "consent channel" {
        Banner = "banner",
        Form = "form",
        Email = "email",
        Phone = "phone",
        Letter = "letter",
        SignedStatement = "signed_statement",
        Api = "api",
        Import = "import",
    }
}

keyword! {
    /// The event a retention period counts from.
    pub enum Anchor: "retention anchor" {
        Collection = "collection",
        LastInteraction = "last_interaction",
        Visit = "visit",
        EventEnd = "event_end",
        RecruitmentClosed = "recruitment_closed",
        TrialEnd = "trial_end",
        ContractEnd = "contract_end",
        CaseClosed = "case_closed",
        ConsentGiven = "consent_given",
        ConsentWithdrawn = "consent_withdrawn",
        FinancialYearEnd = "financial_year_end",
    }
}

impl Anchor {
    /// Reads after "N days after …".
    pub fn phrase(self) -> &'static str {
        match self {
            Self::Collection => "collection",
            Self::LastInteraction => "your last interaction with us",
            Self::Visit => "the visit",
            Self::EventEnd => "the event",
            Self::RecruitmentClosed => "the recruitment process ends",
            Self::TrialEnd => "the demo or trial ends",
            Self::ContractEnd => "the contract ends",
            Self::CaseClosed => "the case is closed",
            Self::ConsentGiven => "consent is given",
            Self::ConsentWithdrawn => "consent is withdrawn",
            Self::FinancialYearEnd => "the end of the financial year",
        }
    }
}

keyword! {
    /// What happens when a retention period ends.
    pub enum RetentionAction: "retention action" {
        Delete = "delete",
        Anonymise = "anonymise",
    }
}

keyword! {
    /// A channel of direct marketing.
    pub enum MarketingChannel: "marketing channel" {
        Email = "email",
        Sms = "sms",
        Phone = "phone",
        Post = "post",
        Ads = "ads",
    }
}

impl MarketingChannel {
    /// Channels that the Danish Marketing Practices Act §10(1) (and the ePrivacy Directive
    /// Art. 13) put under prior consent, business recipients included.
    pub fn needs_prior_consent(self) -> bool {
        matches!(self, Self::Email | Self::Sms)
    }
}

keyword! {
    /// A signal of Google Consent Mode v2 that a cookie category controls.
    pub enum ConsentModeSignal: "consent mode signal" {
        AdStorage = "ad_storage",
        AnalyticsStorage = "analytics_storage",
        AdUserData = "ad_user_data",
        AdPersonalization = "ad_personalization",
        FunctionalityStorage = "functionality_storage",
        PersonalizationStorage = "personalization_storage",
    }
}

keyword! {
    /// First or third party, by the domain that sets a cookie.
    pub enum Party: "party" {
        First = "first",
        Third = "third",
    }
}

keyword! {
    /// The technology a tracker uses (ePrivacy Art. 5(3) covers them all).
    pub enum TrackerKind: "tracker kind" {
        Cookie = "cookie",
        LocalStorage = "local_storage",
        Pixel = "pixel",
    }
}

keyword! {
    /// A value that identifies a person across systems.
    pub enum IdentityKind: "identity kind" {
        Email = "email",
        Phone = "phone",
        CustomerId = "customer_id",
    }
}

keyword! {
    /// How a person proves who they are before data leaves (Art. 12(6)).
    pub enum VerificationMethod: "verification method" {
        /// A one-time code sent to the e-mail address the request names.
        EmailCode = "email_code",
        /// Staff verify by other means and record how.
        Staff = "staff",
    }
}

keyword! {
    /// How ombud reaches a system of the data map.
    pub enum ConnectorKind: "connector" {
        /// No connector: requests become tasks that staff tick off.
        Manual = "manual",
        /// ombud's own store.
        Ombud = "ombud",
        Postgres = "postgres",
        Mysql = "mysql",
        Sqlite = "sqlite",
    }
}

keyword! {
    /// The sections of the privacy notice, in the order of the seed policy.
    pub enum NoticeSection: "notice section" {
        WhoWeAre = "who_we_are",
        Collection = "collection",
        Purposes = "purposes",
        Sharing = "sharing",
        Transfers = "transfers",
        Security = "security",
        Retention = "retention",
        Consent = "consent",
        Rights = "rights",
        Marketing = "marketing",
        Cookies = "cookies",
        Changes = "changes",
        Contact = "contact",
    }
}

impl NoticeSection {
    pub fn title(self) -> &'static str {
        match self {
            Self::WhoWeAre => "Who we are",
            Self::Collection => "Personal data we collect about you and how we collect it",
            Self::Purposes => "How we use your personal data",
            Self::Sharing => "Who we share your personal data with",
            Self::Transfers => "International data transfers",
            Self::Security => "Security",
            Self::Retention => "How long we keep your personal data",
            Self::Consent => "Consent from you",
            Self::Rights => "Your rights",
            Self::Marketing => "Your preferences for marketing communications",
            Self::Cookies => "Our cookie policy",
            Self::Changes => "Changes to this privacy and cookie policy",
            Self::Contact => "How to contact us",
        }
    }
}

/// The EEA: the 27 EU member states plus Iceland, Liechtenstein and Norway. Transfers to any
/// other country need a Chapter V mechanism.
pub const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Whether an ISO 3166-1 alpha-2 code is in the EEA.
pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Keyword;

    #[test]
    fn keys_round_trip() {
        for b in LegalBasis::all() {
            assert_eq!(LegalBasis::parse(b.key()), Some(*b));
        }
        assert_eq!(Right::all().len(), 7);
        assert_eq!(LegalBasis::parse("Consent"), None);
    }

    #[test]
    fn eea_has_thirty_members() {
        assert_eq!(EEA.len(), 30);
        assert!(in_eea("DK") && in_eea("NO") && !in_eea("US") && !in_eea("GB"));
    }
}
