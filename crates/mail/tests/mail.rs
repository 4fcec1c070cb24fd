//! ombud-mail end to end: letters rendered from the real templates, sent through lettre to a
//! real SMTP server (aiosmtpd) on loopback, read back from its Maildir.

use std::path::Path;
use std::time::Duration;

use ombud_mail::{
    Authority, ContactPoint, LetterContext, LetterKind, Letters, MailError, Mailer, Outgoing,
    Party, RequestFacts, SendFailure, TemplateError,
};
use ombud_testkit::{SmtpSink, smtp_settings};

const WAIT: Duration = Duration::from_secs(10);

/// A context with every field set, from the Impero example policy.
fn full_context() -> LetterContext {
    LetterContext {
        controller: Party {
            name: "Impero A/S".into(),
            address: vec![
                "Klamsagervej 27, 2".into(),
                "DK-8230 Åbyhøj".into(),
                "Denmark".into(),
            ],
            email: "mail@impero.com".into(),
            phone: Some("(+45) 70 22 53 64".into()),
            website: Some("https://www.impero.com".into()),
        },
        contact_point: ContactPoint {
            title: "Data Protection Manager".into(),
            name: Some("Morten Christensen".into()),
            email: "mc@impero.com".into(),
        },
        authority: Authority {
            name: "Datatilsynet".into(),
            address: vec![
                "Carl Jacobsens Vej 35".into(),
                "2500 Valby".into(),
                "Denmark".into(),
            ],
            website: Some("https://www.datatilsynet.dk".into()),
            email: Some("dt@datatilsynet.dk".into()),
            phone: Some("+45 33 19 32 00".into()),
        },
        request: RequestFacts {
            reference: "R-2026-0042".into(),
            right: "Access".into(),
            right_article: "Art. 15".into(),
            channel: "web".into(),
            received: "2026-03-30".into(),
            promised_due: "2026-04-10".into(),
            legal_due: "2026-04-30".into(),
            extended_due: Some("2026-06-30".into()),
            status_url: Some("https://privacy.impero.com/requests/7f3a".into()),
            working_days: 7,
        },
        person_name: Some("Søren Ærø".into()),
        code: Some("482913".into()),
        code_minutes: Some(15),
        reason: Some("The request covers every project you took part in since 2015.".into()),
        fee: Some("500 DKK".into()),
        forwarded_to: Some("Nordisk Revision ApS".into()),
        note: Some("We have deleted your user account and its history.".into()),
        download_url: Some("https://privacy.impero.test/privacy-centre/packages/5f0c2a".into()),
        download_expires: Some("2026-04-21".into()),
    }
}

/// The same with every optional field unset, except those the letter needs.
fn minimal_context(kind: LetterKind) -> LetterContext {
    let full = full_context();
    let needs = |field: &str| kind.required_fields().contains(&field);
    LetterContext {
        controller: Party {
            address: vec![],
            phone: None,
            website: None,
            ..full.controller.clone()
        },
        contact_point: ContactPoint {
            name: None,
            ..full.contact_point.clone()
        },
        authority: Authority {
            address: vec![],
            website: None,
            email: None,
            phone: None,
            ..full.authority.clone()
        },
        request: RequestFacts {
            extended_due: full
                .request
                .extended_due
                .clone()
                .filter(|_| needs("request.extended_due")),
            status_url: None,
            ..full.request.clone()
        },
        person_name: None,
        code: full.code.clone().filter(|_| needs("code")),
        code_minutes: full.code_minutes.filter(|_| needs("code_minutes")),
        reason: full.reason.clone().filter(|_| needs("reason")),
        fee: full.fee.clone().filter(|_| needs("fee")),
        forwarded_to: full.forwarded_to.filter(|_| needs("forwarded_to")),
        note: full.note.filter(|_| needs("note")),
        download_url: None,
        download_expires: None,
    }
}

fn letters() -> Letters {
    Letters::load(None).expect("the built-in templates load")
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn load_err(dir: &Path) -> String {
    Letters::load(Some(dir))
        .expect_err("the override must be refused")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// SMTP

#[tokio::test]
async fn a_message_reaches_the_smtp_server_intact() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&smtp_settings(sink.port())).unwrap();
    let text = "Hej Søren,\n\nÆbler, øl og blåbær: æøå ÆØÅ.\nA second line.\n".to_owned();
    mailer
        .send(&Outgoing {
            to: "Søren Ærø <soren@example.test>".into(),
            subject: "Din anmodning om indsigt — ÆØÅ".into(),
            text: text.clone(),
            headers: vec![(
                "List-Unsubscribe".into(),
                "<https://privacy.example.test/u/abc>".into(),
            )],
        })
        .await
        .unwrap();

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["soren@example.test"]);
    assert_eq!(mail.envelope_from, "privacy@example.test");
    assert_eq!(mail.from, "Privacy <privacy@example.test>");
    assert_eq!(mail.header("To"), Some("Søren Ærø <soren@example.test>"));
    assert_eq!(mail.subject, "Din anmodning om indsigt — ÆØÅ");
    assert_eq!(mail.text, text);
    assert_eq!(
        mail.header("List-Unsubscribe"),
        Some("<https://privacy.example.test/u/abc>")
    );
    assert!(
        mail.header("Content-Type")
            .is_some_and(|v| v.starts_with("text/plain") && v.contains("utf-8")),
        "{:?}",
        mail.header("Content-Type")
    );
    assert!(
        mail.header("Message-ID")
            .is_some_and(|v| v.ends_with("@example.test>"))
    );
    assert!(mail.header("Date").is_some());
}

#[tokio::test]
async fn a_rendered_verification_letter_is_delivered_with_its_code() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&smtp_settings(sink.port())).unwrap();
    let letters = letters();
    // Rendered and sent from another task: the mailer and the letters are shared across tasks.
    let (worker_mailer, worker_letters) = (mailer.clone(), letters.clone());
    let letter = tokio::spawn(async move {
        let letter = worker_letters
            .render(LetterKind::VerificationCode, "da", &full_context())
            .unwrap();
        worker_mailer
            .send(&Outgoing {
                to: "soren@example.test".into(),
                subject: letter.subject.clone(),
                text: letter.text.clone(),
                headers: vec![],
            })
            .await
            .map(|()| letter)
    })
    .await
    .unwrap()
    .unwrap();

    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.subject, "Din bekræftelseskode fra Impero A/S");
    assert_eq!(mail.text, letter.text);
    assert!(mail.text.contains("    482913\n"), "{}", mail.text);
    assert!(!mail.subject.contains("482913"));
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_and_nothing_is_sent() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&smtp_settings(sink.port())).unwrap();
    for bad in [
        "",
        "not-an-address",
        "anna@",
        "@example.test",
        "anna@exa mple.test",
        "Anna <anna@example.test",
        "anna@example.test, bo@example.test",
    ] {
        let err = mailer
            .send(&Outgoing {
                to: bad.into(),
                subject: "Hello".into(),
                text: "Body".into(),
                headers: vec![],
            })
            .await
            .expect_err(bad);
        assert!(
            matches!(
                err,
                MailError::Address {
                    which: "recipient",
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        assert!(!err.is_transient());
        if bad.contains('@') {
            assert!(
                !err.to_string().contains(bad),
                "the error names the address: {err}"
            );
        }
    }
    // Messages arrive in order: if the valid one is the only one, the bad ones never went out.
    mailer
        .send(&Outgoing {
            to: "valid@example.test".into(),
            subject: "Only this one".into(),
            text: "Body".into(),
            headers: vec![],
        })
        .await
        .unwrap();
    let mails = sink.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mails_later = sink.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails_later, mails);
    assert_eq!(mails[0].to, vec!["valid@example.test"]);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_failure() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = Mailer::new(&smtp_settings(port)).unwrap();
    let err = mailer
        .send(&Outgoing {
            to: "anna@example.test".into(),
            subject: "Hello".into(),
            text: "Body".into(),
            headers: vec![],
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            MailError::Send {
                kind: SendFailure::Connection | SendFailure::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(!err.to_string().contains("anna@example.test"));
}

// ---------------------------------------------------------------------------------------------
// Letters

#[test]
fn every_letter_renders_in_both_languages() {
    let letters = letters();
    for lang in ["en", "da"] {
        for kind in LetterKind::all() {
            for (variant, ctx) in [
                ("full", full_context()),
                ("minimal", minimal_context(*kind)),
            ] {
                let letter = letters
                    .render(*kind, lang, &ctx)
                    .unwrap_or_else(|e| panic!("{lang}/{kind} ({variant}): {e}"));
                let all = format!("{}\n{}", letter.subject, letter.text);
                let at = format!("{lang}/{kind} ({variant}):\n{all}");
                assert!(!letter.subject.is_empty(), "{at}");
                assert!(
                    letter.text.ends_with('\n') && !letter.text.ends_with("\n\n"),
                    "{at}"
                );
                assert!(all.contains(&ctx.request.reference), "{at}");
                assert!(letter.text.contains("Impero A/S"), "{at}");
                // No unset value printed, no template syntax left, no empty brackets.
                for bad in [
                    "none", "None", "{{", "}}", "{%", "%}", "()", "( )", " ,", " .",
                ] {
                    assert!(!all.contains(bad), "{bad:?} in {at}");
                }
                // Dates are written out, not left as YYYY-MM-DD.
                for date in [
                    &ctx.request.received,
                    &ctx.request.promised_due,
                    &ctx.request.legal_due,
                ] {
                    assert!(!all.contains(date.as_str()), "{date} in {at}");
                }
            }
        }
    }
}

#[test]
fn danish_letters_are_in_danish() {
    let letters = letters();
    let ctx = full_context();
    let ack = letters
        .render(LetterKind::Acknowledgement, "da", &ctx)
        .unwrap();
    assert_eq!(ack.subject, "Vi har modtaget din anmodning (R-2026-0042)");
    assert!(ack.text.starts_with("Kære Søren Ærø\n"), "{}", ack.text);
    assert!(
        ack.text.contains("retten til indsigt (GDPR art. 15)"),
        "{}",
        ack.text
    );
    assert!(ack.text.contains("den 30. marts 2026"), "{}", ack.text);
    assert!(ack.text.contains("inden for 7 arbejdsdage"), "{}", ack.text);
    assert!(ack.text.contains("Med venlig hilsen"), "{}", ack.text);
    // A regional tag picks the language; an unknown language gets English.
    assert_eq!(
        letters
            .render(LetterKind::Acknowledgement, "da-DK", &ctx)
            .unwrap(),
        ack
    );
    let english = letters
        .render(LetterKind::Acknowledgement, "en", &ctx)
        .unwrap();
    assert_eq!(
        letters
            .render(LetterKind::Acknowledgement, "de", &ctx)
            .unwrap(),
        english
    );
    assert!(english.text.contains("the right of access (GDPR Art. 15)"));
    assert!(english.text.contains("on 30 March 2026"));
}

#[test]
fn refusal_and_fee_letters_state_the_right_to_complain_and_to_go_to_court() {
    let letters = letters();
    for kind in [LetterKind::Refusal, LetterKind::FeeNotice] {
        for ctx in [full_context(), minimal_context(kind)] {
            let en = letters.render(kind, "en", &ctx).unwrap();
            assert!(
                en.text
                    .contains("lodge a complaint with the supervisory authority, Datatilsynet"),
                "{}",
                en.text
            );
            assert!(en.text.contains("judicial remedy"), "{}", en.text);
            assert!(
                en.text.contains(ctx.reason.as_deref().unwrap()),
                "{}",
                en.text
            );

            let da = letters.render(kind, "da", &ctx).unwrap();
            assert!(
                da.text
                    .contains("klage til tilsynsmyndigheden, Datatilsynet"),
                "{}",
                da.text
            );
            assert!(
                da.text.contains("indbringe sagen for domstolene"),
                "{}",
                da.text
            );
            assert!(
                da.text.contains(ctx.reason.as_deref().unwrap()),
                "{}",
                da.text
            );
        }
    }
    let en = letters
        .render(LetterKind::Refusal, "en", &full_context())
        .unwrap();
    for contact in [
        "Carl Jacobsens Vej 35",
        "dt@datatilsynet.dk",
        "https://www.datatilsynet.dk",
        "Art. 12(4)",
    ] {
        assert!(en.text.contains(contact), "{contact} missing:\n{}", en.text);
    }
    let fee = letters
        .render(LetterKind::FeeNotice, "en", &full_context())
        .unwrap();
    assert!(fee.text.contains("The fee is 500 DKK."), "{}", fee.text);
    assert!(
        fee.text.contains("manifestly unfounded or excessive"),
        "{}",
        fee.text
    );
}

#[test]
fn the_verification_code_is_in_the_body_and_never_in_the_subject() {
    let letters = letters();
    for lang in ["en", "da"] {
        let letter = letters
            .render(LetterKind::VerificationCode, lang, &full_context())
            .unwrap();
        assert!(letter.text.contains("482913"), "{lang}: {}", letter.text);
        assert!(
            !letter.subject.contains("482913"),
            "{lang}: {}",
            letter.subject
        );
        assert!(letter.text.contains("15 minut"), "{lang}: {}", letter.text);
        // A code is no business of a letter's Debug output.
        assert!(!format!("{letter:?}").contains("482913"));
        assert!(!format!("{:?}", full_context()).contains("482913"));
    }
}

#[test]
fn a_letter_without_a_field_it_needs_is_refused() {
    let letters = letters();
    let mut ctx = full_context();
    ctx.code = None;
    let err = letters
        .render(LetterKind::VerificationCode, "en", &ctx)
        .unwrap_err();
    assert!(
        matches!(&err, TemplateError::Missing { fields, .. } if fields == &["code"]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "letter en/verification_code.txt needs code"
    );

    let mut ctx = full_context();
    ctx.request.extended_due = None;
    ctx.reason = Some("  ".into());
    let err = letters
        .render(LetterKind::ExtensionNotice, "da", &ctx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "letter da/extension_notice.txt needs request.extended_due, reason"
    );
}

#[test]
fn letters_match_their_snapshots() {
    let letters = letters();
    for lang in ["en", "da"] {
        for kind in LetterKind::all() {
            let mut ctx = full_context();
            if lang == "da" {
                ctx.reason = Some(
                    "Anmodningen omfatter alle projekter, du har deltaget i siden 2015.".into(),
                );
                ctx.note = Some("Vi har slettet din brugerkonto og dens historik.".into());
            }
            let letter = letters.render(*kind, lang, &ctx).unwrap();
            insta::assert_snapshot!(
                format!("{lang}_{}", kind.key()),
                format!("Subject: {}\n\n{}", letter.subject, letter.text)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Overrides

#[test]
fn an_override_replaces_one_template() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/completion.txt",
        "Subject: Done: {{ request.reference }}\r\n\r\n{% if person_name %}\r\nHi {{ person_name }},\r\n{% endif %}\r\nAll done. {{ controller.name }}\r\n\
         {% set ns = namespace(lines=0) %}\r\n\
         {% for line in controller.address %}\r\n\
         {{ loop.index }}. {{ line|upper }}\r\n\
         {% set ns.lines = ns.lines + 1 %}\r\n\
         {% endfor %}\r\n\
         {{ ns.lines }} lines, {{ range(3)|length }}, {{ lang }}, {{ request.reference|lower }}\r\n",
    );
    write(dir.path(), "README.md", "Our letters.\n");
    write(dir.path(), "en/.completion.txt.swp", "junk");
    let custom = Letters::load(Some(dir.path())).unwrap();
    let builtin = letters();
    let ctx = full_context();

    let done = custom.render(LetterKind::Completion, "en", &ctx).unwrap();
    assert_eq!(done.subject, "Done: R-2026-0042");
    assert_eq!(
        done.text,
        "Hi Søren Ærø,\nAll done. Impero A/S\n1. KLAMSAGERVEJ 27, 2\n2. DK-8230 ÅBYHØJ\n3. DENMARK\n\
         3 lines, 3, en, r-2026-0042\n"
    );
    for (kind, lang) in [
        (LetterKind::Completion, "da"),
        (LetterKind::Acknowledgement, "en"),
        (LetterKind::Refusal, "en"),
    ] {
        assert_eq!(
            custom.render(kind, lang, &ctx).unwrap(),
            builtin.render(kind, lang, &ctx).unwrap(),
            "{lang}/{kind}"
        );
    }
    assert_eq!(
        Letters::builtin_source(LetterKind::Completion, "en").map(|s| s.lines().next()),
        Some(Some(
            "Subject: Your request has been completed ({{ request.reference }})"
        ))
    );
}

#[test]
fn an_unknown_variable_in_an_override_fails_the_load_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/refusal.txt",
        "Subject: Decision ({{ request.reference }})\n\nDear {{ person_name }},\n\nWe refuse, {{ controler.name }}.\nComplain to {{ authority.name }}.\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("en/refusal.txt"), "{err}");
    assert!(
        err.contains(&dir.path().join("en/refusal.txt").display().to_string()),
        "{err}"
    );
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("undefined"), "{err}");
    assert!(err.contains("controler"), "{err}");
}

#[test]
fn an_unknown_variable_in_a_branch_the_samples_skip_still_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "da/completion.txt",
        "Subject: Færdig\n\nHej\n{% if false %}\n{{ request.refrence }}\n{% endif %}\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("da/completion.txt"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("unknown variable `request.refrence`"), "{err}");
}

#[test]
fn a_syntax_error_in_an_override_fails_the_load_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/acknowledgement.txt",
        "Subject: Received\n\nHello,\n\n{% if person_name %}\nDear {{ person_name }\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("en/acknowledgement.txt"), "{err}");
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("syntax error"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/acknowledgement.txt",
        "Subject: Received\n\n{% if person_name %}\nDear {{ person_name }},\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("en/acknowledgement.txt"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(err.contains("line "), "{err}");
}

#[test]
fn an_override_must_keep_the_letter_lawful_and_safe() {
    // Art. 12(4): a refusal names the authority to complain to.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/refusal.txt",
        "Subject: No\n\nWe refuse: {{ reason }}\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("en/refusal.txt"), "{err}");
    assert!(err.contains("supervisory authority"), "{err}");

    // The code never goes in the subject.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "da/verification_code.txt",
        "Subject: Din kode er {{ code }}\n\nKoden er {{ code }}.\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("da/verification_code.txt"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("must not be in the subject"), "{err}");

    // The layout: a subject line, then a blank line.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "en/expired.txt", "Your request expired.\n");
    let err = load_err(dir.path());
    assert!(err.contains("en/expired.txt"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("Subject:"), "{err}");
}

#[test]
fn files_that_are_not_letter_templates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "en/acknowledgment.txt", "Subject: x\n\ny\n");
    let err = load_err(dir.path());
    assert!(err.contains("acknowledgment.txt"), "{err}");
    assert!(err.contains("not a letter template"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "de/completion.txt", "Subject: x\n\ny\n");
    let err = load_err(dir.path());
    assert!(
        err.contains("not a language with letters (known: en, da)"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "completion.txt", "Subject: x\n\ny\n");
    let err = load_err(dir.path());
    assert!(
        err.contains("language folder, e.g. en/completion.txt"),
        "{err}"
    );

    let missing = tempfile::tempdir().unwrap().path().join("nope");
    assert!(matches!(
        Letters::load(Some(&missing)),
        Err(TemplateError::Read { .. })
    ));
}
