//! The words the package adds itself, in English and Danish. Text from the policy stays in the
//! policy's language.

use jiff::civil::Date;
use ombud_domain::policy::{
    Anchor, LegalBasis, Period, PeriodUnit, RecipientRole, RetentionAction, Right,
    TransferMechanism,
};
use serde::{Deserialize, Serialize};

/// The language of the package's own words (README.html, labels and notes in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Da,
}

impl Lang {
    /// `"en"` or `"da"`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "da" => Some(Lang::Da),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Da => "da",
        }
    }

    fn pick(self, en: &'static str, da: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Da => da,
        }
    }
}

pub(crate) fn long_date(lang: Lang, d: Date) -> String {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DA: [&str; 12] = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ];
    let i = usize::try_from(d.month() - 1).unwrap_or(0).min(11);
    match lang {
        Lang::En => format!("{} {} {}", d.day(), EN[i], d.year()),
        Lang::Da => format!("{}. {} {}", d.day(), DA[i], d.year()),
    }
}

pub(crate) fn basis_label(lang: Lang, b: LegalBasis) -> &'static str {
    match lang {
        Lang::En => b.label(),
        Lang::Da => match b {
            LegalBasis::Consent => "Samtykke",
            LegalBasis::Contract => "Opfyldelse af en kontrakt",
            LegalBasis::LegalObligation => "Retlig forpligtelse",
            LegalBasis::VitalInterests => "Vitale interesser",
            LegalBasis::PublicTask => "Opgave i samfundets interesse",
            LegalBasis::LegitimateInterests => "Legitime interesser",
        },
    }
}

pub(crate) fn role_label(lang: Lang, r: RecipientRole) -> &'static str {
    match lang {
        Lang::En => r.label(),
        Lang::Da => match r {
            RecipientRole::Processor => "Databehandler",
            RecipientRole::SubProcessor => "Underdatabehandler",
            RecipientRole::IndependentController => "Selvstændig dataansvarlig",
            RecipientRole::JointController => "Fælles dataansvarlig",
            RecipientRole::Authority => "Offentlig myndighed",
        },
    }
}

pub(crate) fn mechanism_label(lang: Lang, m: TransferMechanism) -> &'static str {
    match lang {
        Lang::En => m.label(),
        Lang::Da => match m {
            TransferMechanism::Adequacy => "Tilstrækkelighedsafgørelse (GDPR art. 45)",
            TransferMechanism::Dpf => {
                "EU-US Data Privacy Framework (tilstrækkelighedsafgørelse af 10. juli 2023)"
            }
            TransferMechanism::Scc => {
                "Standardkontraktbestemmelser (GDPR art. 46, stk. 2, litra c, afgørelse (EU) 2021/914)"
            }
            TransferMechanism::Bcr => "Bindende virksomhedsregler (GDPR art. 47)",
            TransferMechanism::Derogation => "Undtagelse i særlige situationer (GDPR art. 49)",
        },
    }
}

pub(crate) fn right_label(lang: Lang, r: Right) -> &'static str {
    match lang {
        Lang::En => r.label(),
        Lang::Da => match r {
            Right::Access => "Indsigt",
            Right::Rectification => "Berigtigelse",
            Right::Erasure => "Sletning",
            Right::Restriction => "Begrænsning af behandling",
            Right::Portability => "Dataportabilitet",
            Right::Objection => "Indsigelse",
            Right::AutomatedDecisions => "Automatiske afgørelser",
        },
    }
}

pub(crate) fn article(lang: Lang, en: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::Da => en.replace("Art.", "art."),
    }
}

/// What each right means, for a right the policy does not describe itself.
pub(crate) fn right_fallback(lang: Lang, r: Right) -> &'static str {
    match r {
        Right::Access => lang.pick(
            "You have the right to know whether we process personal data about you, to get a copy of it, and to be told how we process it.",
            "Du har ret til at vide, om vi behandler personoplysninger om dig, til at få en kopi af dem og til at få at vide, hvordan vi behandler dem.",
        ),
        Right::Rectification => lang.pick(
            "You have the right to have inaccurate personal data about you corrected and incomplete data completed.",
            "Du har ret til at få urigtige personoplysninger om dig rettet og ufuldstændige oplysninger suppleret.",
        ),
        Right::Erasure => lang.pick(
            "You have the right to have your personal data erased, for example when it is no longer needed or when you withdraw your consent, unless the law requires us to keep it.",
            "Du har ret til at få dine personoplysninger slettet, f.eks. når de ikke længere er nødvendige, eller når du trækker dit samtykke tilbage, medmindre loven kræver, at vi gemmer dem.",
        ),
        Right::Restriction => lang.pick(
            "You have the right to have the processing of your personal data restricted, for example while its accuracy is checked.",
            "Du har ret til at få behandlingen af dine personoplysninger begrænset, f.eks. mens det undersøges, om de er rigtige.",
        ),
        Right::Portability => lang.pick(
            "You have the right to receive the personal data you gave us in a structured, commonly used and machine-readable format, and to have it sent to another organisation, where we process it on the basis of your consent or a contract.",
            "Du har ret til at modtage de personoplysninger, du har givet os, i et struktureret, almindeligt anvendt og maskinlæsbart format og til at få dem sendt til en anden organisation, når vi behandler dem på grundlag af dit samtykke eller en kontrakt.",
        ),
        Right::Objection => lang.pick(
            "You have the right to object to processing based on our legitimate interests, and at any time to processing for direct marketing, which we then stop.",
            "Du har ret til at gøre indsigelse mod behandling, der bygger på vores legitime interesser, og til enhver tid mod behandling til direkte markedsføring, som vi så stopper.",
        ),
        Right::AutomatedDecisions => lang.pick(
            "You have the right not to be subject to a decision based solely on automated processing, including profiling, which produces legal effects concerning you or similarly significantly affects you.",
            "Du har ret til ikke at være genstand for en afgørelse, der alene er baseret på automatisk behandling, herunder profilering, og som har retsvirkning for dig eller på tilsvarende måde betydeligt påvirker dig.",
        ),
    }
}

pub(crate) fn withdraw_label(lang: Lang) -> &'static str {
    lang.pick("Withdrawal of consent", "Tilbagetrækning af samtykke")
}

pub(crate) fn withdraw_fallback(lang: Lang) -> &'static str {
    lang.pick(
        "Where we process your personal data on the basis of your consent, you can withdraw it at any time. Withdrawal does not affect processing that took place before it.",
        "Når vi behandler dine personoplysninger på grundlag af dit samtykke, kan du til enhver tid trække det tilbage. Tilbagetrækningen berører ikke den behandling, der fandt sted før.",
    )
}

pub(crate) fn complaint_statement(lang: Lang, authority: &str) -> String {
    match lang {
        Lang::En => format!(
            "You have the right to lodge a complaint with a supervisory authority (GDPR Art. 77): with {authority}, or with the authority of the EU or EEA country where you live or work or where the alleged infringement took place. You can also go to court (GDPR Art. 79)."
        ),
        Lang::Da => format!(
            "Du har ret til at klage til en tilsynsmyndighed (GDPR art. 77): til {authority} eller til myndigheden i det EU- eller EØS-land, hvor du bor eller arbejder, eller hvor den påståede overtrædelse har fundet sted. Du kan også gå til domstolene (GDPR art. 79)."
        ),
    }
}

pub(crate) fn no_automated_decisions(lang: Lang) -> &'static str {
    lang.pick(
        "We make no decisions about you based solely on automated processing, including profiling, that produce legal effects concerning you or similarly significantly affect you (GDPR Art. 22).",
        "Vi træffer ingen afgørelser om dig, der alene er baseret på automatisk behandling, herunder profilering, og som har retsvirkning for dig eller på tilsvarende måde betydeligt påvirker dig (GDPR art. 22).",
    )
}

pub(crate) fn some_automated_decisions(lang: Lang) -> &'static str {
    lang.pick(
        "We make the following decisions based solely on automated processing. Each description says how the decision is made and what it means for you. You can ask for a person to look at the decision, give your view and contest it (GDPR Art. 22(3)).",
        "Vi træffer følgende afgørelser alene på grundlag af automatisk behandling. Hver beskrivelse forklarer, hvordan afgørelsen træffes, og hvad den betyder for dig. Du kan bede om, at et menneske ser på afgørelsen, give dit synspunkt til kende og anfægte den (GDPR art. 22, stk. 3).",
    )
}

pub(crate) fn profiling_note(lang: Lang) -> &'static str {
    lang.pick(
        "Some purposes involve profiling (see each purpose); none of it leads to decisions of the kind described above.",
        "Nogle formål omfatter profilering (se det enkelte formål); ingen af dem fører til afgørelser af den slags, der er beskrevet ovenfor.",
    )
}

fn period(lang: Lang, p: Period) -> String {
    match lang {
        Lang::En => p.to_string(),
        Lang::Da => {
            let (one, many) = match p.unit {
                PeriodUnit::Minutes => ("minut", "minutter"),
                PeriodUnit::Hours => ("time", "timer"),
                PeriodUnit::Days => ("dag", "dage"),
                PeriodUnit::Weeks => ("uge", "uger"),
                PeriodUnit::Months => ("måned", "måneder"),
                PeriodUnit::Years => ("år", "år"),
            };
            format!("{} {}", p.amount, if p.amount == 1 { one } else { many })
        }
    }
}

fn anchor(lang: Lang, a: Anchor) -> &'static str {
    match lang {
        Lang::En => a.phrase(),
        Lang::Da => match a {
            Anchor::Collection => "indsamlingen",
            Anchor::LastInteraction => "din seneste kontakt med os",
            Anchor::Visit => "besøget",
            Anchor::EventEnd => "arrangementet",
            Anchor::RecruitmentClosed => "rekrutteringsforløbet er afsluttet",
            Anchor::TrialEnd => "demoen eller prøveperioden er slut",
            Anchor::ContractEnd => "kontrakten er ophørt",
            Anchor::CaseClosed => "sagen er lukket",
            Anchor::ConsentGiven => "samtykket er givet",
            Anchor::ConsentWithdrawn => "samtykket er trukket tilbage",
            Anchor::FinancialYearEnd => "regnskabsårets afslutning",
        },
    }
}

/// "13 months after collection, then deleted" / "13 måneder efter indsamlingen, derefter
/// slettet", with the exceptions and criteria after it.
pub(crate) fn retention(
    lang: Lang,
    keep: Option<Period>,
    after: Anchor,
    action: RetentionAction,
    exceptions: &[(String, Period, Anchor)],
    criteria: Option<&str>,
) -> String {
    let mut s = match (keep, lang) {
        (Some(p), Lang::En) if p.amount == 0 => format!("Until {}", anchor(lang, after)),
        (Some(p), Lang::Da) if p.amount == 0 => format!("Indtil {}", anchor(lang, after)),
        (Some(p), Lang::En) => format!("{} after {}", period(lang, p), anchor(lang, after)),
        (Some(p), Lang::Da) => format!("{} efter {}", period(lang, p), anchor(lang, after)),
        (None, _) => lang
            .pick(
                "As long as the criteria below require",
                "Så længe kriterierne nedenfor kræver det",
            )
            .to_owned(),
    };
    s.push_str(match (action, lang) {
        (RetentionAction::Delete, Lang::En) => ", then deleted",
        (RetentionAction::Anonymise, Lang::En) => ", then anonymised",
        (RetentionAction::Delete, Lang::Da) => ", derefter slettet",
        (RetentionAction::Anonymise, Lang::Da) => ", derefter anonymiseret",
    });
    for (purpose, p, a) in exceptions {
        let (with, after) = lang.pick2(
            ("with your consent to", "after"),
            ("med dit samtykke til", "efter"),
        );
        s.push_str(&format!(
            "; {with} \"{purpose}\": {} {after} {}",
            period(lang, *p),
            anchor(lang, *a)
        ));
    }
    if let Some(c) = criteria {
        s.push_str(". ");
        s.push_str(c.trim_end_matches('.'));
    }
    s.push('.');
    s
}

impl Lang {
    fn pick2<T>(self, en: T, da: T) -> T {
        match self {
            Lang::En => en,
            Lang::Da => da,
        }
    }
}

/// Notes on how values are written in the data files.
pub(crate) fn notes(lang: Lang) -> Vec<String> {
    let en = [
        "Each table we searched is in data/<system>/<table>, once as JSON and once as CSV. A table with no rows about you is included too, so you can see where we looked.",
        "JSON files: an array with one object per row, keyed by column name. Numbers, true/false and null (no value) keep their type; other values are text.",
        "CSV files: UTF-8 without a byte order mark, comma-separated, with a header row, quoted as RFC 4180 describes, lines ending in CRLF. An empty cell is either empty text or no value; the JSON file tells them apart.",
        "Binary values (for example files or images stored in a database) are written as Base64 text (RFC 4648, standard alphabet, padded) in both files; the manifest lists the columns where this happened.",
        "Numbers that are not finite (NaN, Infinity, -Infinity) are written as that text.",
    ];
    let da = [
        "Hver tabel, vi har søgt i, ligger i data/<system>/<tabel>, én gang som JSON og én gang som CSV. En tabel uden rækker om dig er også med, så du kan se, hvor vi har kigget.",
        "JSON-filer: en liste med ét objekt pr. række med kolonnenavnene som nøgler. Tal, true/false og null (ingen værdi) beholder deres type; andre værdier er tekst.",
        "CSV-filer: UTF-8 uden byte order mark, kommasepareret, med en overskriftsrække, citeret som beskrevet i RFC 4180, linjer afsluttet med CRLF. En tom celle er enten tom tekst eller ingen værdi; JSON-filen skelner mellem dem.",
        "Binære værdier (f.eks. filer eller billeder gemt i en database) er skrevet som Base64-tekst (RFC 4648, standardalfabet, med udfyldning) i begge filer; manifestet viser, i hvilke kolonner det er sket.",
        "Tal, der ikke er endelige (NaN, Infinity, -Infinity), er skrevet som netop den tekst.",
    ];
    lang.pick2(&en[..], &da[..])
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// The headings and labels of README.html.
#[derive(Debug, Serialize)]
pub(crate) struct ReadmeText {
    pub title: &'static str,
    pub intro_access: &'static str,
    pub intro_portability: &'static str,
    pub request: &'static str,
    pub reference: &'static str,
    pub right: &'static str,
    pub right_access: &'static str,
    pub right_portability: &'static str,
    pub received: &'static str,
    pub completed: &'static str,
    pub files: &'static str,
    pub files_intro: &'static str,
    pub files_caption: &'static str,
    pub system: &'static str,
    pub collection: &'static str,
    pub rows: &'static str,
    pub columns: &'static str,
    pub file_links: &'static str,
    pub nothing_found: &'static str,
    pub no_collections: &'static str,
    pub purposes: &'static str,
    pub purposes_intro: &'static str,
    pub legal_basis: &'static str,
    pub basis_note: &'static str,
    pub legitimate_interest: &'static str,
    pub categories: &'static str,
    pub recipients: &'static str,
    pub retention: &'static str,
    pub sources: &'static str,
    pub profiling: &'static str,
    pub profiling_yes: &'static str,
    pub automated_decisions: &'static str,
    pub categories_intro: &'static str,
    pub recipients_intro: &'static str,
    pub recipients_caption: &'static str,
    pub recipient: &'static str,
    pub role: &'static str,
    pub countries: &'static str,
    pub transfer: &'static str,
    pub within_eea: &'static str,
    pub no_safeguard: &'static str,
    pub not_stated: &'static str,
    pub circumstances: &'static str,
    pub retention_intro: &'static str,
    pub retention_caption: &'static str,
    pub rule: &'static str,
    pub how_long: &'static str,
    pub sources_intro: &'static str,
    pub rights: &'static str,
    pub rights_how: &'static str,
    pub complaint: &'static str,
    pub contact: &'static str,
    pub controller: &'static str,
    pub contact_point: &'static str,
    pub processor_note: &'static str,
    pub about_files: &'static str,
    pub manifest_note: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub website: &'static str,
}

pub(crate) fn readme(lang: Lang) -> &'static ReadmeText {
    match lang {
        Lang::En => &EN,
        Lang::Da => &DA,
    }
}

static EN: ReadmeText = ReadmeText {
    title: "Your personal data",
    intro_access: "This package answers your request for access to your personal data (GDPR Art. 15). It holds a copy of the personal data we found about you, and explains how we process it.",
    intro_portability: "This package answers your request to receive your personal data (data portability, GDPR Art. 20). It holds your personal data in structured, machine-readable files you can take to another service, and explains how we process it.",
    request: "Your request",
    reference: "Reference",
    right: "Right",
    right_access: "Access (GDPR Art. 15)",
    right_portability: "Data portability (GDPR Art. 20)",
    received: "Received",
    completed: "Completed",
    files: "Files in this package",
    files_intro: "We searched these places for personal data about you. Each has a JSON file and a CSV file with the same rows.",
    files_caption: "Where we looked, and how many rows we found",
    system: "System",
    collection: "Table",
    rows: "Rows",
    columns: "Columns",
    file_links: "Files",
    nothing_found: "nothing found",
    no_collections: "We searched no tables for this request.",
    purposes: "What we process and why",
    purposes_intro: "These are the purposes for which we process personal data, and the legal basis of each.",
    legal_basis: "Legal basis",
    basis_note: "Which basis applies when",
    legitimate_interest: "Our legitimate interest",
    categories: "Categories of personal data",
    recipients: "Recipients",
    retention: "How long we keep it",
    sources: "Where the data comes from",
    profiling: "Profiling",
    profiling_yes: "This purpose involves profiling.",
    automated_decisions: "Automated decision-making",
    categories_intro: "The kinds of personal data concerned, from our purposes and from the tables in this package.",
    recipients_intro: "Who receives personal data from us. Where data goes to a country outside the EU/EEA, the safeguard it relies on is named; you can ask us for a copy of it.",
    recipients_caption: "Recipients, their role, countries and transfer safeguards",
    recipient: "Recipient",
    role: "Role",
    countries: "Countries",
    transfer: "Safeguard for transfers outside the EU/EEA",
    within_eea: "Within the EU/EEA",
    no_safeguard: "No safeguard stated",
    not_stated: "Not stated",
    circumstances: "Only when",
    retention_intro: "How long we keep personal data, or the criteria we use to decide.",
    retention_caption: "Retention periods",
    rule: "Data",
    how_long: "Kept",
    sources_intro: "Where we get personal data from when we do not collect it from you.",
    rights: "Your rights",
    rights_how: "To use a right, write to",
    complaint: "Your right to complain",
    contact: "Contact",
    controller: "Controller",
    contact_point: "Contact point for privacy questions",
    processor_note: "Data in our platform",
    about_files: "About the files",
    manifest_note: "manifest.json holds everything on this page in a machine-readable form.",
    email: "E-mail",
    phone: "Phone",
    website: "Website",
};

static DA: ReadmeText = ReadmeText {
    title: "Dine personoplysninger",
    intro_access: "Denne pakke besvarer din anmodning om indsigt i dine personoplysninger (GDPR art. 15). Den indeholder en kopi af de personoplysninger, vi fandt om dig, og forklarer, hvordan vi behandler dem.",
    intro_portability: "Denne pakke besvarer din anmodning om at få dine personoplysninger udleveret (dataportabilitet, GDPR art. 20). Den indeholder dine personoplysninger i strukturerede, maskinlæsbare filer, som du kan tage med til en anden tjeneste, og forklarer, hvordan vi behandler dem.",
    request: "Din anmodning",
    reference: "Reference",
    right: "Rettighed",
    right_access: "Indsigt (GDPR art. 15)",
    right_portability: "Dataportabilitet (GDPR art. 20)",
    received: "Modtaget",
    completed: "Afsluttet",
    files: "Filer i denne pakke",
    files_intro: "Vi har søgt efter personoplysninger om dig disse steder. Hvert sted har en JSON-fil og en CSV-fil med de samme rækker.",
    files_caption: "Hvor vi har søgt, og hvor mange rækker vi fandt",
    system: "System",
    collection: "Tabel",
    rows: "Rækker",
    columns: "Kolonner",
    file_links: "Filer",
    nothing_found: "intet fundet",
    no_collections: "Vi har ikke søgt i nogen tabeller for denne anmodning.",
    purposes: "Hvad vi behandler og hvorfor",
    purposes_intro: "Det er de formål, vi behandler personoplysninger til, og retsgrundlaget for hvert af dem.",
    legal_basis: "Retsgrundlag",
    basis_note: "Hvilket grundlag gælder hvornår",
    legitimate_interest: "Vores legitime interesse",
    categories: "Kategorier af personoplysninger",
    recipients: "Modtagere",
    retention: "Hvor længe vi opbevarer dem",
    sources: "Hvor oplysningerne kommer fra",
    profiling: "Profilering",
    profiling_yes: "Dette formål omfatter profilering.",
    automated_decisions: "Automatiske afgørelser",
    categories_intro: "De typer personoplysninger, det drejer sig om, ud fra vores formål og tabellerne i denne pakke.",
    recipients_intro: "Hvem der modtager personoplysninger fra os. Hvor oplysningerne sendes til et land uden for EU/EØS, er den garanti, overførslen bygger på, nævnt; du kan bede os om en kopi af den.",
    recipients_caption: "Modtagere, deres rolle, lande og garantier ved overførsel",
    recipient: "Modtager",
    role: "Rolle",
    countries: "Lande",
    transfer: "Garanti ved overførsel uden for EU/EØS",
    within_eea: "Inden for EU/EØS",
    no_safeguard: "Ingen garanti angivet",
    not_stated: "Ikke angivet",
    circumstances: "Kun når",
    retention_intro: "Hvor længe vi opbevarer personoplysninger, eller de kriterier vi bruger til at afgøre det.",
    retention_caption: "Opbevaringsperioder",
    rule: "Oplysninger",
    how_long: "Opbevares",
    sources_intro: "Hvor vi får personoplysninger fra, når vi ikke indsamler dem hos dig.",
    rights: "Dine rettigheder",
    rights_how: "Skriv til os for at gøre brug af en rettighed:",
    complaint: "Din ret til at klage",
    contact: "Kontakt",
    controller: "Dataansvarlig",
    contact_point: "Kontaktpunkt for spørgsmål om databeskyttelse",
    processor_note: "Oplysninger i vores platform",
    about_files: "Om filerne",
    manifest_note: "manifest.json indeholder alt på denne side i maskinlæsbar form.",
    email: "E-mail",
    phone: "Telefon",
    website: "Websted",
};
