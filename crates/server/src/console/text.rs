//! The console's words in Danish. Templates and handlers write English; `tr` (in templates)
//! and [`translate`] give the Danish text when the page is in Danish, and the English text
//! when there is none (the test below makes sure there always is).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The Danish text of `english` when `lang` is `da`, else `english` itself.
pub(crate) fn translate<'a>(lang: &str, english: &'a str) -> &'a str {
    if lang != "da" {
        return english;
    }
    static DA: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    DA.get_or_init(|| DANISH.iter().copied().collect())
        .get(english)
        .copied()
        .unwrap_or(english)
}

/// `tr("English text")` in a template, in the page's language (its `lang` variable). A key of
/// the vocabularies (`awaiting_verification`) without Danish becomes words
/// (`Awaiting verification`).
pub(crate) fn tr(state: &minijinja::State<'_, '_>, english: &str) -> String {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let shown = translate(&lang, english);
    if shown == english && is_key(english) {
        words(english)
    } else if lang == "da" && is_key(english) {
        upper_first(shown)
    } else {
        shown.to_owned()
    }
}

/// A vocabulary key: lowercase letters and underscores.
fn is_key(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn words(key: &str) -> String {
    upper_first(&key.replace('_', " "))
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// English → Danish.
const DANISH: &[(&str, &str)] = &[
    ("New setup link", "Nyt opsætningslink"),
    ("Send a letter", "Send et brev"),
    ("Send the letter", "Send brevet"),
    ("Start work", "Start arbejdet"),
    ("Template", "Skabelon"),
    (
        "What the letter says (in the person's language)",
        "Hvad brevet skal sige (på personens sprog)",
    ),
    ("information_request", "anmodning om oplysninger"),
    ("letter_sent", "brev sendt"),
    (
        "Give the reason; the person receives it.",
        "Angiv begrundelsen; personen modtager den.",
    ),
    (
        "Give the fee, e.g. 250 DKK.",
        "Angiv gebyret, f.eks. 250 kr.",
    ),
    (
        "Name the controller the request goes to.",
        "Angiv den dataansvarlige, anmodningen sendes til.",
    ),
    ("Write the note.", "Skriv noten."),
    ("Choose a letter template.", "Vælg en brevskabelon."),
    (
        "Write what the letter should say.",
        "Skriv, hvad brevet skal sige.",
    ),
    (
        "This server has no encryption key yet (secret_key or encryption_key), so it cannot keep your second factor. Ask an administrator to set one.",
        "Serveren har endnu ingen krypteringsnøgle (secret_key eller encryption_key), så den kan ikke gemme din anden faktor. Bed en administrator om at sætte en.",
    ),
    (
        "A staff user with that e-mail address exists already.",
        "Der findes allerede en medarbejder med den e-mailadresse.",
    ),
    (
        "A stored version could not be read.",
        "En gemt version kunne ikke læses.",
    ),
    ("API token (shown once)", "API-nøgle (vises kun én gang)"),
    ("API tokens", "API-nøgler"),
    ("Account", "Konto"),
    ("Actions", "Handlinger"),
    ("Activated", "Aktiveret"),
    ("Add a note", "Tilføj en note"),
    ("Add a user", "Tilføj en bruger"),
    (
        "Add ombud to your authenticator app",
        "Tilføj ombud til din godkendelsesapp",
    ),
    ("Add the note", "Tilføj noten"),
    ("All", "Alle"),
    ("All requests", "Alle anmodninger"),
    ("Any", "Alle"),
    ("Apply", "Anvend"),
    ("At least 12 characters.", "Mindst 12 tegn."),
    ("Audit log", "Revisionslog"),
    ("Back to the console", "Tilbage til konsollen"),
    ("Back without sending", "Tilbage uden at sende"),
    (
        "Blue: collections ombud reaches through a connector. Orange: systems handled by manual tasks. Purple: collections under a legal hold. Arrows: references from a field to the collection it points at.",
        "Blå: samlinger, som ombud når gennem en connector. Orange: systemer, der håndteres med manuelle opgaver. Lilla: samlinger under en opbevaringspligt. Pile: henvisninger fra et felt til den samling, det peger på.",
    ),
    ("Carry out", "Udfør"),
    ("Carry out in the systems", "Udfør i systemerne"),
    ("Change", "Ændr"),
    ("Change role", "Skift rolle"),
    ("Channel", "Kanal"),
    ("Charge a fee", "Opkræv et gebyr"),
    ("Charge the fee", "Opkræv gebyret"),
    ("Choice", "Valg"),
    ("Choose a change.", "Vælg en ændring."),
    ("Choose a password", "Vælg en adgangskode"),
    ("Choose a role.", "Vælg en rolle."),
    ("Choose an action.", "Vælg en handling."),
    (
        "Choose the field to correct.",
        "Vælg det felt, der skal rettes.",
    ),
    ("Closed", "Lukkede"),
    (
        "Code from your authenticator app",
        "Kode fra din godkendelsesapp",
    ),
    ("Collection", "Samling"),
    ("Compare", "Sammenlign"),
    ("Complete", "Afslut"),
    ("Complete and send the letter", "Afslut og send brevet"),
    ("Confirm identity", "Bekræft identiteten"),
    (
        "Confirm the identity by other means",
        "Bekræft identiteten på anden måde",
    ),
    ("Connector", "Connector"),
    ("Consent", "Samtykke"),
    ("Consent rates", "Samtykkerater"),
    (
        "Consent rates, last 30 days",
        "Samtykkerater, seneste 30 dage",
    ),
    ("Console", "Konsol"),
    ("Controller", "Dataansvarlig"),
    (
        "Controller's e-mail address",
        "Den dataansvarliges e-mailadresse",
    ),
    ("Corrected value", "Rettet værdi"),
    ("Countries", "Lande"),
    ("Created", "Oprettet"),
    ("Current state", "Nuværende status"),
    ("Dashboard", "Overblik"),
    ("Data map", "Datakort"),
    ("Details", "Detaljer"),
    ("Disable", "Deaktivér"),
    ("Done", "Udført"),
    ("Done:", "Udført:"),
    ("Download", "Hent"),
    ("Due", "Frist"),
    ("Due date", "Frist"),
    ("E-mail address", "E-mailadresse"),
    (
        "E-mail, phone, customer or visitor id",
        "E-mail, telefon, kunde- eller besøgs-id",
    ),
    ("Enable", "Aktivér"),
    ("Evidence", "Dokumentation"),
    ("Expires", "Udløber"),
    ("Export the proof (JSON)", "Eksportér beviset (JSON)"),
    ("Extend", "Forlæng"),
    ("Extend by two months", "Forlæng med to måneder"),
    ("Fee", "Gebyr"),
    ("Field to correct", "Felt, der skal rettes"),
    ("Fields", "Felter"),
    ("Filter", "Filtrér"),
    ("Finish setting up", "Gør opsætningen færdig"),
    ("First page", "Første side"),
    ("Forward", "Videresend"),
    (
        "Forward to the controller",
        "Videresend til den dataansvarlige",
    ),
    ("Forwarded to", "Videresendt til"),
    ("From", "Fra"),
    (
        "Give the token a name and at least one scope.",
        "Giv nøglen et navn og mindst ét område.",
    ),
    ("Hash", "Hash"),
    ("History", "Historik"),
    ("How", "Hvordan"),
    ("Identities", "Identiteter"),
    ("Identity confirmed", "Identitet bekræftet"),
    ("Issue a token", "Udsted en nøgle"),
    ("Jobs", "Kørsler"),
    ("Key", "Nøgle"),
    ("Kind", "Type"),
    ("Label", "Betegnelse"),
    ("Last used", "Sidst brugt"),
    ("Latest activity", "Seneste aktivitet"),
    ("Legal deadline", "Lovbestemt frist"),
    ("Legal holds", "Opbevaringspligter"),
    ("Letter preview", "Forhåndsvisning af brev"),
    ("Letters", "Breve"),
    ("Log in", "Log ind"),
    ("Log in to the ombud console", "Log ind i ombud-konsollen"),
    ("Log out", "Log ud"),
    ("Look up", "Slå op"),
    (
        "Look up a person by e-mail address, phone or customer id, or a browser by its visitor id.",
        "Slå en person op via e-mailadresse, telefon eller kunde-id, eller en browser via dens besøgs-id.",
    ),
    ("Manual tasks", "Manuelle opgaver"),
    ("Mark as done", "Markér som udført"),
    ("Name", "Navn"),
    (
        "Name the person or visitor whose proof you want.",
        "Angiv den person eller besøgende, hvis bevis du vil have.",
    ),
    ("Newer", "Nyere"),
    ("Newest", "Nyeste"),
    ("Next page", "Næste side"),
    ("No API tokens yet.", "Ingen API-nøgler endnu."),
    (
        "No consent recorded for this person.",
        "Intet samtykke registreret for denne person.",
    ),
    (
        "No consent was recorded in the last 30 days.",
        "Der er ikke registreret samtykke de seneste 30 dage.",
    ),
    (
        "No deletions or expiries yet.",
        "Ingen sletninger eller udløb endnu.",
    ),
    ("No events.", "Ingen hændelser."),
    ("No letters.", "Ingen breve."),
    ("No manual tasks.", "Ingen manuelle opgaver."),
    (
        "No open requests. New ones from the privacy centre, the API or by hand appear here.",
        "Ingen åbne anmodninger. Nye fra privatlivscentret, API'et eller oprettet manuelt vises her.",
    ),
    ("No package.", "Ingen pakke."),
    (
        "No request matches these filters.",
        "Ingen anmodning passer til disse filtre.",
    ),
    (
        "No request was completed in the last 90 days.",
        "Ingen anmodning blev afsluttet de seneste 90 dage.",
    ),
    ("Note", "Note"),
    ("Note (internal)", "Note (intern)"),
    ("Note to the person", "Besked til personen"),
    (
        "Nothing a privacy officer would notice changed.",
        "Intet, en databeskyttelsesansvarlig ville bemærke, er ændret.",
    ),
    (
        "Nothing has been carried out yet.",
        "Intet er udført endnu.",
    ),
    ("Nothing has happened yet.", "Der er ikke sket noget endnu."),
    ("Older", "Ældre"),
    ("Oldest", "Ældste"),
    ("Open", "Åbne"),
    ("Open requests by due date", "Åbne anmodninger efter frist"),
    ("Outside the EEA", "Uden for EØS"),
    ("Overdue", "Overskredet"),
    ("Packages", "Pakker"),
    ("Pages", "Sider"),
    ("Password", "Adgangskode"),
    ("Policy version", "Politikversion"),
    ("Policy versions", "Politikversioner"),
    ("Preview letter", "Forhåndsvis brevet"),
    ("Promised by", "Lovet senest"),
    (
        "Promised deadlines met, last 90 days",
        "Lovede frister overholdt, seneste 90 dage",
    ),
    ("Purpose or category", "Formål eller kategori"),
    (
        "Reason (sent to the person)",
        "Begrundelse (sendes til personen)",
    ),
    ("Received", "Modtaget"),
    ("Recipient", "Modtager"),
    ("Recipients", "Modtagere"),
    ("Recipients and transfers", "Modtagere og overførsler"),
    ("Record of processing", "Fortegnelse over behandlinger"),
    ("Reference", "Reference"),
    ("Refuse", "Afvis"),
    ("Repeat of", "Gentagelse af"),
    ("Request", "Anmodning"),
    ("Requests", "Anmodninger"),
    ("Retention", "Opbevaring"),
    ("Review by", "Gennemgås senest"),
    ("Reviewed", "Gennemgået"),
    ("Revoke", "Tilbagekald"),
    ("Right", "Rettighed"),
    ("Role", "Rolle"),
    ("Safeguard", "Garanti"),
    (
        "Scan the QR code with an authenticator app, or type the key instead.",
        "Scan QR-koden med en godkendelsesapp, eller skriv nøglen i stedet.",
    ),
    ("Scopes", "Områder"),
    ("Send it", "Send det"),
    ("Set up your account", "Opsæt din konto"),
    (
        "Setup link (shown once, valid for 24 hours)",
        "Opsætningslink (vises kun én gang, gyldigt i 24 timer)",
    ),
    ("Show", "Vis"),
    ("Since", "Siden"),
    (
        "Six digits, or one of your recovery codes.",
        "Seks cifre eller en af dine gendannelseskoder.",
    ),
    ("Sort", "Sortér"),
    ("Staff", "Medarbejdere"),
    ("State", "Status"),
    ("Status", "Status"),
    ("Subject", "Emne"),
    (
        "Subjects linked to this person",
        "Identiteter knyttet til denne person",
    ),
    ("System", "System"),
    (
        "That code is not right. Check the time on your phone and enter the current code.",
        "Koden er ikke rigtig. Tjek klokken på din telefon, og indtast den aktuelle kode.",
    ),
    (
        "That is not an e-mail address.",
        "Det er ikke en e-mailadresse.",
    ),
    ("The audit chain is broken.", "Revisionskæden er brudt."),
    ("The audit chain is intact.", "Revisionskæden er intakt."),
    ("The audit log is empty.", "Revisionsloggen er tom."),
    ("The code the app shows now", "Koden, som appen viser nu"),
    (
        "The console is not available right now. Try again in a minute.",
        "Konsollen er ikke tilgængelig lige nu. Prøv igen om et minut.",
    ),
    (
        "The e-mail address, password or code is not right, or the account is locked for a while.",
        "E-mailadressen, adgangskoden eller koden er ikke rigtig, eller kontoen er låst et stykke tid.",
    ),
    ("The form is too large.", "Formularen er for stor."),
    (
        "The password is too short: use at least 12 characters.",
        "Adgangskoden er for kort: brug mindst 12 tegn.",
    ),
    (
        "The policy has no data map yet. `ombud datamap discover` drafts one from a database.",
        "Politikken har endnu intet datakort. `ombud datamap discover` laver et udkast fra en database.",
    ),
    (
        "The policy names no recipients.",
        "Politikken nævner ingen modtagere.",
    ),
    ("The request", "Anmodningen"),
    ("The same password again", "Samme adgangskode igen"),
    (
        "The two passwords are not the same.",
        "De to adgangskoder er ikke ens.",
    ),
    ("There is no such version.", "Den version findes ikke."),
    ("There is nothing here.", "Her er intet."),
    (
        "This action sends no letter.",
        "Denne handling sender intet brev.",
    ),
    (
        "This form came from another site.",
        "Formularen kom fra et andet websted.",
    ),
    (
        "This form has expired. Go back, reload the page and try again.",
        "Formularen er udløbet. Gå tilbage, genindlæs siden, og prøv igen.",
    ),
    (
        "This setup link is not valid any more. Ask an administrator for a new one.",
        "Opsætningslinket er ikke gyldigt længere. Bed en administrator om et nyt.",
    ),
    ("Timeline", "Forløb"),
    ("To", "Til"),
    ("To what", "Hvad det gjaldt"),
    ("Users", "Brugere"),
    ("Users and API tokens", "Brugere og API-nøgler"),
    ("Verify the chain", "Efterprøv kæden"),
    ("Version", "Version"),
    ("What", "Hvad"),
    ("What changed", "Hvad er ændret"),
    ("When", "Hvornår"),
    ("Who", "Hvem"),
    ("Within a week", "Inden for en uge"),
    ("Work", "Arbejde"),
    (
        "You cannot change your own account.",
        "Du kan ikke ændre din egen konto.",
    ),
    (
        "Your account is ready. Keep these recovery codes somewhere safe: each one logs you in once instead of a code from the app. They are shown only now.",
        "Din konto er klar. Gem disse gendannelseskoder et sikkert sted: hver af dem logger dig ind én gang i stedet for en kode fra appen. De vises kun nu.",
    ),
    ("Your recovery codes", "Dine gendannelseskoder"),
    (
        "Your role does not allow this. Ask an administrator.",
        "Din rolle giver ikke adgang til dette. Spørg en administrator.",
    ),
    (
        "Your session has ended. Log in again.",
        "Din session er udløbet. Log ind igen.",
    ),
    ("access", "indsigt"),
    ("acknowledgement", "kvittering"),
    ("active", "aktiv"),
    ("admin", "administrator"),
    ("api", "API"),
    ("authority", "myndighed"),
    ("automated_decisions", "automatiske afgørelser"),
    ("awaiting_verification", "afventer bekræftelse"),
    ("bytes", "byte"),
    ("choices recorded", "valg registreret"),
    ("code_sent", "kode sendt"),
    ("completed", "afsluttet"),
    ("completed requests", "afsluttede anmodninger"),
    ("completion", "afslutning"),
    ("corrections", "rettelser"),
    ("customer", "kunde-id"),
    ("deleted", "slettet"),
    ("disabled", "deaktiveret"),
    ("done", "udført"),
    ("downloads", "hentninger"),
    ("email", "e-mail"),
    ("entries checked.", "poster efterprøvet."),
    ("erase", "sletning"),
    ("erasure", "sletning"),
    ("expired", "udløbet"),
    ("export", "eksport"),
    ("extended", "forlænget"),
    ("extension_notice", "meddelelse om forlængelse"),
    ("failed", "fejlet"),
    ("fee_notice", "meddelelse om gebyr"),
    ("fee_requested", "gebyr opkrævet"),
    ("forward_to_controller", "videresendelse til dataansvarlig"),
    ("forwarded", "videresendt"),
    ("granted", "givet"),
    ("in force", "gældende"),
    ("in_person", "personligt"),
    ("in_progress", "i gang"),
    ("independent_controller", "selvstændig dataansvarlig"),
    ("joint_controller", "fælles dataansvarlig"),
    ("letter", "brev"),
    ("locked for a while", "låst et stykke tid"),
    ("message", "besked"),
    ("not set up yet", "ikke opsat endnu"),
    ("note", "note"),
    ("objection", "indsigelse"),
    ("ombud console", "ombud-konsol"),
    ("overdue", "overskredet"),
    ("phone", "telefon"),
    ("platform_customer", "platformskunde"),
    ("portability", "dataportabilitet"),
    ("privacy_officer", "databeskyttelsesansvarlig"),
    ("processor", "databehandler"),
    ("purposes", "formål"),
    ("queued", "i kø"),
    ("reason", "begrundelse"),
    ("received", "modtaget"),
    ("rectification", "berigtigelse"),
    ("rectify", "berigtigelse"),
    ("refusal", "afvisning"),
    ("refused", "afvist"),
    ("reminder", "påmindelse"),
    ("restrict", "begrænsning"),
    ("restriction", "begrænsning"),
    (
        "retention rules in the policy",
        "opbevaringsregler i politikken",
    ),
    ("revoked", "tilbagekaldt"),
    ("running", "kører"),
    ("sent", "sendt"),
    ("started", "startet"),
    ("sub_processor", "underdatabehandler"),
    (
        "transfer reviews are past their date.",
        "gennemgange af overførsler er forfaldne.",
    ),
    ("verification_code", "bekræftelseskode"),
    ("verified", "bekræftet"),
    ("viewer", "læser"),
    ("visitor", "besøgs-id"),
    ("waiting_for_tasks", "venter på opgaver"),
    ("web", "web"),
    ("withdraw_consent", "tilbagetrækning af samtykke"),
    ("withdrawn", "trukket tilbage"),
    ("wording", "ordlyd"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `tr("…")` of the templates and every text the handlers translate has Danish.
    #[test]
    fn every_text_has_danish() {
        let mut missing = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        for (_, source) in super::super::TEMPLATES {
            for part in source.split("tr(\"").skip(1) {
                if let Some(end) = part.find("\")") {
                    texts.push(part[..end].to_owned());
                }
            }
        }
        let code = [
            include_str!("mod.rs"),
            include_str!("auth.rs"),
            include_str!("dashboard.rs"),
            include_str!("requests.rs"),
            include_str!("consent.rs"),
            include_str!("records.rs"),
            include_str!("users.rs"),
        ];
        // Texts handlers translate: the literal after `translate(…, `, and every sentence (a
        // literal that starts with a capital letter and ends with a full stop).
        for source in code {
            for opening in ["translate(staff.lang, ", "translate(lang, "] {
                for part in source.split(opening).skip(1) {
                    if let Some(rest) = part.strip_prefix('"')
                        && let Some(end) = rest.find('"')
                    {
                        texts.push(rest[..end].to_owned());
                    }
                }
            }
            for (i, literal) in source.split('"').enumerate() {
                let sentence = i % 2 == 1
                    && literal.starts_with(|c: char| c.is_ascii_uppercase())
                    && literal.ends_with('.')
                    && literal.contains(' ');
                if sentence {
                    texts.push(literal.to_owned());
                }
            }
        }
        for e in [
            crate::staff::SetupError::PasswordTooShort,
            crate::staff::SetupError::PasswordsDiffer,
            crate::staff::SetupError::CodeWrong,
            crate::staff::SetupError::LinkInvalid,
        ] {
            texts.push(e.to_string());
        }
        for t in texts {
            if !t.is_empty() && !t.ends_with(".html") && !DANISH.iter().any(|(en, _)| *en == t) {
                missing.push(t);
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "no Danish for: {missing:#?}");
    }
}
