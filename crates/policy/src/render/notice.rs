//! The privacy notice, section by section in the order of the seed policy.

use ombud_domain::policy::*;

use super::doc::{Doc, Inline, email, strong, text};
use super::{bases_text, long_date, retention_text, transfer_text};

pub(super) fn build(p: &Policy) -> Doc {
    let mut d = Doc::new(&p.notice.title, &p.notice.language);
    d.para(vec![text(format!(
        "Last updated {}.",
        long_date(p.notice.last_updated)
    ))]);
    d.paras(&p.notice.introduction);
    for section in NoticeSection::all() {
        d.h2(section.title());
        d.paras(p.notice.paragraphs(*section));
        match section {
            NoticeSection::WhoWeAre => who_we_are(p, &mut d),
            NoticeSection::Collection => collection(p, &mut d),
            NoticeSection::Purposes => purposes(p, &mut d),
            NoticeSection::Sharing => sharing(p, &mut d),
            NoticeSection::Transfers => transfers(p, &mut d),
            NoticeSection::Security => security(p, &mut d),
            NoticeSection::Retention => retention(p, &mut d),
            NoticeSection::Consent => consent(p, &mut d),
            NoticeSection::Rights => rights(p, &mut d),
            NoticeSection::Marketing => marketing(p, &mut d),
            NoticeSection::Cookies => cookies(p, &mut d),
            NoticeSection::Changes => changes(p, &mut d),
            NoticeSection::Contact => contact(p, &mut d),
        }
    }
    d
}

fn who_we_are(p: &Policy, d: &mut Doc) {
    let c = &p.controller;
    d.text(format!(
        "{} is the controller of your personal data: {}.",
        c.name,
        c.address.join(", ")
    ));
    let mut reach = vec![text("E-mail: "), email(c.email.as_str())];
    if let Some(phone) = &c.phone {
        reach.push(text(format!(". Phone: {phone}")));
    }
    if let Some(web) = &c.website {
        reach.push(text(". Website: "));
        reach.push(Inline::Link {
            text: web.clone(),
            href: web.clone(),
        });
    }
    reach.push(text("."));
    d.para(reach);
    let cp = &p.contact_point;
    let title = match &cp.abbreviation {
        Some(abbr) => format!("{} ({abbr})", cp.title),
        None => cp.title.clone(),
    };
    let who = match &cp.name {
        Some(name) => format!("Our {title} is {name}. You can reach them at "),
        None => format!("You can reach our {title} at "),
    };
    d.para(vec![text(who), email(cp.email.as_str()), text(".")]);
    if !p.notice.applies_when.is_empty() {
        d.text("This notice explains your rights and how we protect your personal data when you:");
        d.list(
            p.notice
                .applies_when
                .iter()
                .map(|s| vec![text(s.as_str())])
                .collect(),
        );
    }
    if let Some(role) = &c.processor_role {
        d.text(role.description.as_str());
        if let Some(h) = &role.hosting {
            d.text(format!("That data is hosted in: {h}."));
        }
        if let Some(g) = &role.guidance {
            d.text(g.as_str());
        }
    }
}

fn collection(p: &Policy, d: &mut Doc) {
    if !p.collection_points.is_empty() {
        d.h3("Information you give us");
        let items = p
            .collection_points
            .iter()
            .map(|c| {
                let fields: Vec<&str> = c.fields.iter().map(|f| f.label.as_str()).collect();
                let mut line = vec![strong(c.name.as_str())];
                if let Some(desc) = &c.description {
                    line.push(text(format!(": {desc}")));
                }
                if !fields.is_empty() {
                    line.push(text(format!(" We ask for: {}.", fields.join(", "))));
                }
                line
            })
            .collect();
        d.list(items);
    }
    let indirect: Vec<&Source> = p
        .sources
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SourceKind::ThirdParty | SourceKind::PubliclyAvailable
            )
        })
        .collect();
    let automatic: Vec<&Source> = p
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Automatic)
        .collect();
    if !automatic.is_empty() {
        d.h3("Technical information");
        d.list(automatic.iter().map(|s| source_line(s)).collect());
    }
    if !indirect.is_empty() {
        d.h3("Information we receive from other sources");
        d.list(indirect.iter().map(|s| source_line(s)).collect());
    }
    let used: Vec<String> = {
        let mut keys: Vec<&CategoryKey> = p
            .purposes
            .iter()
            .flat_map(|pu| &pu.data_categories)
            .collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|k| p.category_name(k).to_owned())
            .collect()
    };
    if !used.is_empty() {
        d.h3("Categories of personal data");
        d.text(format!("{}.", used.join(", ")));
    }
}

fn source_line(s: &Source) -> Vec<Inline> {
    let mut line = vec![strong(s.name.as_str())];
    if let Some(desc) = &s.description {
        line.push(text(format!(": {desc}")));
    }
    line
}

fn purposes(p: &Policy, d: &mut Doc) {
    for pu in &p.purposes {
        d.h3(pu.name.as_str());
        d.text(pu.description.as_str());
        if let Some(bases) = bases_text(pu) {
            let mut line = vec![strong("Legal basis: "), text(bases)];
            if let Some(note) = &pu.basis_note {
                line.push(text(format!(". {}", note.trim_end_matches('.'))));
            }
            line.push(text("."));
            d.para(line);
        }
        if let Some(li) = &pu.legitimate_interest {
            d.para(vec![strong("Our legitimate interest: "), text(li.as_str())]);
        }
        if !pu.data_categories.is_empty() {
            let names: Vec<&str> = pu
                .data_categories
                .iter()
                .map(|k| p.category_name(k))
                .collect();
            d.para(vec![
                strong("Personal data: "),
                text(format!("{}.", names.join(", "))),
            ]);
        }
        let recipients: Vec<&str> = p
            .recipients_of(pu)
            .filter(|r| !r.all_purposes)
            .map(|r| r.name.as_str())
            .collect();
        if !recipients.is_empty() {
            d.para(vec![
                strong("Shared with: "),
                text(format!("{}.", recipients.join(", "))),
            ]);
        }
        if let Some(rule) = pu.retention.as_ref().and_then(|id| p.retention_rule(id)) {
            d.para(vec![strong("Kept: "), text(retention_text(p, rule))]);
        }
        if pu.profiling {
            d.para(vec![
                strong("Profiling: "),
                text("yes; you can object to it at any time."),
            ]);
        }
        if let Some(adm) = &pu.automated_decisions {
            d.para(vec![strong("Automated decisions: "), text(adm.as_str())]);
        }
    }
}

fn sharing(p: &Policy, d: &mut Doc) {
    let groups = [
        (
            "Processors and service providers",
            &[RecipientRole::Processor, RecipientRole::SubProcessor][..],
        ),
        ("Joint controllers", &[RecipientRole::JointController][..]),
        (
            "Independent controllers",
            &[RecipientRole::IndependentController][..],
        ),
        ("Public authorities", &[RecipientRole::Authority][..]),
    ];
    for (title, roles) in groups {
        let items: Vec<Vec<Inline>> = p
            .recipients
            .iter()
            .filter(|r| roles.contains(&r.role))
            .map(|r| {
                let mut line = vec![strong(r.name.as_str())];
                if !r.countries.is_empty() {
                    line.push(text(format!(" ({})", r.countries.join(", "))));
                }
                if let Some(desc) = &r.description {
                    line.push(text(format!(": {desc}")));
                }
                if let Some(when) = &r.circumstances {
                    line.push(text(format!(" When: {when}")));
                }
                line
            })
            .collect();
        if !items.is_empty() {
            d.h3(title);
            d.list(items);
        }
    }
}

fn transfers(p: &Policy, d: &mut Doc) {
    let rows: Vec<Vec<String>> = p
        .recipients
        .iter()
        .filter_map(|r| {
            transfer_text(r)?;
            let third: Vec<&str> = r.third_countries().collect();
            let safeguard = r
                .transfer
                .as_ref()
                .map_or("none stated".to_owned(), |t| t.mechanism.label().to_owned());
            Some(vec![r.name.clone(), third.join(", "), safeguard])
        })
        .collect();
    if rows.is_empty() {
        d.text("We do not transfer personal data outside the EEA.");
    } else {
        d.table(&["Recipient", "Country outside the EEA", "Safeguard"], rows);
        d.para(vec![
            text("You can ask for a copy of the safeguards by writing to "),
            email(p.controller.email.as_str()),
            text("."),
        ]);
    }
}

fn security(p: &Policy, d: &mut Doc) {
    d.list(
        p.security
            .measures
            .iter()
            .map(|m| {
                vec![
                    strong(m.name.as_str()),
                    text(format!(": {}", m.description)),
                ]
            })
            .collect(),
    );
}

fn retention(p: &Policy, d: &mut Doc) {
    let rows: Vec<Vec<String>> = p
        .retention
        .iter()
        .map(|r| vec![r.name.clone(), retention_text(p, r)])
        .collect();
    d.table(&["Data", "How long we keep it"], rows);
    for h in &p.legal_holds {
        d.text(format!(
            "{}: we keep them for {} after {}, as {} requires, even if you ask us to erase them; until then we only store them.",
            h.name,
            h.keep,
            h.after.phrase(),
            h.law
        ));
    }
}

fn consent(p: &Policy, d: &mut Doc) {
    let ways: Vec<&str> = p
        .consent
        .channels
        .iter()
        .map(|c| match c {
            ConsentChannel::Banner => "in our cookie banner",
            ConsentChannel::Form => "by ticking a box in our forms",
            ConsentChannel::Email => "by e-mail",
            ConsentChannel::Phone => "by phone",
            ConsentChannel::Letter => "by letter",
            ConsentChannel::SignedStatement => "by signing a consent statement",
            ConsentChannel::Api => "through systems connected to ours",
            ConsentChannel::Import => "through a partner who collected it for us",
        })
        .collect();
    if !ways.is_empty() {
        d.text(format!("You can give your consent {}.", ways.join(", ")));
    }
    if let Some(w) = &p.consent.withdrawal {
        d.text(w.as_str());
    }
    if let Some(t) = &p.consent.third_party_data {
        d.text(t.as_str());
    }
}

fn rights(p: &Policy, d: &mut Doc) {
    let r = &p.rights;
    d.text("You have the following rights in regard to your personal data:");
    d.list(
        r.rights
            .iter()
            .map(|t| {
                vec![
                    strong(t.right.label()),
                    text(format!(" ({}). {}", t.right.article(), t.description)),
                ]
            })
            .collect(),
    );
    d.paras(&r.fees.wording);
    d.para(vec![
        text(format!(
            "We answer within {} working days (on the {} calendar of public holidays), and in any case within one month of receiving your request. If a request is complex, we may extend that by two further months; we will tell you why within the first month. To exercise a right, write to ",
            r.working_days, r.calendar
        )),
        email(r.email.as_str()),
        text("."),
    ]);
    if r.identity_verification
        .contains(&VerificationMethod::EmailCode)
    {
        d.text("Before we disclose any personal data, we confirm that the request comes from you, usually with a code we send to your e-mail address.");
    }
    if let Some(other) = &r.other_requests {
        d.text(other.as_str());
    }
    let a = &p.supervisory_authority;
    d.text(format!(
        "If we refuse a request, we tell you why. You can always complain to a supervisory authority, such as {} ({}), and seek a judicial remedy.",
        a.name,
        a.website.as_deref().unwrap_or(&a.country)
    ));
}

fn marketing(p: &Policy, d: &mut Doc) {
    let m = &p.marketing;
    if !m.channels.is_empty() {
        let channels: Vec<&str> = m
            .channels
            .iter()
            .map(|c| match c {
                MarketingChannel::Email => "e-mail",
                MarketingChannel::Sms => "SMS",
                MarketingChannel::Phone => "phone",
                MarketingChannel::Post => "post",
                MarketingChannel::Ads => "online advertising",
            })
            .collect();
        d.text(format!(
            "We may send you marketing communications by {}.",
            channels.join(", ")
        ));
    }
    if !m.topics.is_empty() {
        d.text(format!(
            "You choose which topics you receive: {}.",
            m.topics
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !m.opt_out_methods.is_empty() {
        d.text("You can stop marketing communications at any time, free of charge:");
        d.list(
            m.opt_out_methods
                .iter()
                .map(|s| vec![text(s.as_str())])
                .collect(),
        );
    }
    if !m.service_messages.is_empty() {
        d.text(format!(
            "Opting out of marketing does not stop service communications related to your relationship with us: {}.",
            m.service_messages.join(", ")
        ));
    }
}

fn cookies(p: &Policy, d: &mut Doc) {
    for c in &p.cookie_categories {
        let status = if c.necessary {
            " (always on)"
        } else {
            " (only with your consent)"
        };
        d.h3(format!("{}{status}", c.name));
        d.text(c.description.as_str());
        let rows: Vec<Vec<String>> = p
            .cookies
            .iter()
            .filter(|k| k.category == c.id)
            .map(|k| {
                let party = match k.party {
                    Party::First => "First party".to_owned(),
                    Party::Third => k.domain.as_ref().map_or("Third party".to_owned(), |dom| {
                        format!("Third party ({dom})")
                    }),
                };
                let name = match k.kind {
                    TrackerKind::Cookie => k.name.clone(),
                    TrackerKind::LocalStorage => format!("{} (local storage)", k.name),
                    TrackerKind::Pixel => format!("{} (pixel)", k.name),
                };
                vec![
                    name,
                    k.provider.clone(),
                    party,
                    k.lifetime.to_string(),
                    k.purpose.clone(),
                ]
            })
            .collect();
        d.table(&["Name", "Provider", "Party", "Duration", "Purpose"], rows);
    }
}

fn changes(p: &Policy, d: &mut Doc) {
    d.paras(&p.notice.changes.wording);
    d.text(format!(
        "This version was last updated on {}.",
        long_date(p.notice.last_updated)
    ));
}

fn contact(p: &Policy, d: &mut Doc) {
    let cp = &p.contact_point;
    let mut line = vec![
        text(format!("Contact our {} by e-mail at ", cp.title)),
        email(cp.email.as_str()),
    ];
    if !cp.address.is_empty() {
        line.push(text(format!(" or by post to {}", cp.address.join(", "))));
    }
    line.push(text("."));
    d.para(line);
    let a = &p.supervisory_authority;
    let mut auth = vec![text(format!(
        "Supervisory authority: {}, {}",
        a.name,
        a.address.join(", ")
    ))];
    if let Some(e) = &a.email {
        auth.push(text(", "));
        auth.push(email(e.as_str()));
    }
    if let Some(phone) = &a.phone {
        auth.push(text(format!(", {phone}")));
    }
    if let Some(w) = &a.website {
        auth.push(text(", "));
        auth.push(Inline::Link {
            text: w.clone(),
            href: w.clone(),
        });
    }
    auth.push(text("."));
    d.para(auth);
}
