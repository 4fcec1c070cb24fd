//! `ombud request …`: the staff operations on rights requests, from the command line. Letters
//! are queued and sent by the running server; identity codes are sent at once.

use std::process::ExitCode;

use anyhow::Context as _;
use ombud_domain::policy::Keyword;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_server::requests::{Details, RequestService, StaffAction, Submission};
use ombud_store::{RequestFilter, RequestRecord};

use super::serve::open_store;
use super::{parse_date, today};
use crate::cli::{RequestCommand, ServerArgs};

/// The staff member, as far as the command line knows them.
fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

pub fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = match &command {
            RequestCommand::List(a) => &a.server,
            RequestCommand::Show(a) | RequestCommand::SendCode(a) | RequestCommand::Start(a) => {
                &a.server
            }
            RequestCommand::Create(a) => &a.server,
            RequestCommand::Verify(a)
            | RequestCommand::Refuse(a)
            | RequestCommand::Extend(a)
            | RequestCommand::Note(a) => &a.server,
            RequestCommand::WaitForTasks(a)
            | RequestCommand::Complete(a)
            | RequestCommand::Withdraw(a) => &a.server,
            RequestCommand::Fee(a) => &a.server,
            RequestCommand::Forward(a) => &a.server,
        };
        let service = service(server).await?;
        let result = dispatch(&service, command).await;
        service.store().close().await;
        result
    })
}

/// The request service on the server's database, with the policy version in force.
async fn service(args: &ServerArgs) -> anyhow::Result<RequestService> {
    let (settings, store) = open_store(args).await?;
    let version = store
        .current_policy()
        .await?
        .context("no policy version is stored yet; start the server once")?;
    let source = ombud_policy::PolicySource::from_bundle(&version.content)?;
    let policy = ombud_policy::load(source, today())
        .map_err(|r| anyhow::anyhow!("the policy version in force does not load:\n{r}"))?
        .policy;
    Ok(ombud_server::request_service(
        &settings, &store, &policy, version.id,
    )?)
}

async fn dispatch(service: &RequestService, command: RequestCommand) -> anyhow::Result<ExitCode> {
    let act = |reference: String, action: StaffAction| async move {
        let r = service.act(&reference, &actor(), action).await?;
        print_one(&r)?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    };
    match command {
        RequestCommand::List(a) => list(service, a).await,
        RequestCommand::Show(a) => show(service, &a.reference).await,
        RequestCommand::Create(a) => {
            let kind = RequestType::parse(&a.kind).with_context(|| {
                format!(
                    "--kind `{}` is not a right; use one of {}",
                    a.kind,
                    RequestType::keys().join(", ")
                )
            })?;
            let channel = Channel::parse(&a.channel)
                .filter(|c| !matches!(c, Channel::Web | Channel::Api))
                .with_context(|| {
                    format!(
                        "--channel `{}`: use email, phone, letter or in_person",
                        a.channel
                    )
                })?;
            let received = a
                .received
                .as_deref()
                .map(|d| parse_date("--received", d))
                .transpose()?;
            let r = service
                .submit(Submission {
                    kind,
                    channel,
                    email: a.email,
                    name: a.name,
                    lang: a.lang,
                    received,
                    details: Details {
                        corrections: a.corrections,
                        purposes: a.purposes,
                        reason: a.reason,
                        message: a.message,
                        platform_customer: a.platform_customer,
                    },
                    actor: actor(),
                })
                .await?;
            print_one(&r)?;
            Ok(ExitCode::SUCCESS)
        }
        RequestCommand::SendCode(a) => {
            service.send_code(&a.reference).await?;
            outln!("a code was sent to the address of {}", a.reference)?;
            Ok(ExitCode::SUCCESS)
        }
        RequestCommand::Verify(a) => {
            act(a.reference, StaffAction::Verify { how: Some(a.text) }).await
        }
        RequestCommand::Start(a) => act(a.reference, StaffAction::Start).await,
        RequestCommand::WaitForTasks(a) => {
            act(a.reference, StaffAction::WaitForTasks { note: a.note }).await
        }
        RequestCommand::Complete(a) => {
            act(a.reference, StaffAction::Complete { note: a.note }).await
        }
        RequestCommand::Refuse(a) => {
            act(
                a.reference,
                StaffAction::Refuse {
                    reason: Some(a.text),
                },
            )
            .await
        }
        RequestCommand::Fee(a) => {
            act(
                a.reference,
                StaffAction::ChargeFee {
                    fee: Some(a.amount),
                    reason: Some(a.reason),
                },
            )
            .await
        }
        RequestCommand::Extend(a) => {
            act(
                a.reference,
                StaffAction::Extend {
                    reason: Some(a.text),
                },
            )
            .await
        }
        RequestCommand::Forward(a) => {
            act(
                a.reference,
                StaffAction::Forward {
                    to: Some(a.to),
                    to_email: a.to_email,
                },
            )
            .await
        }
        RequestCommand::Withdraw(a) => {
            act(a.reference, StaffAction::Withdraw { note: a.note }).await
        }
        RequestCommand::Note(a) => act(a.reference, StaffAction::Note { text: Some(a.text) }).await,
    }
}

async fn list(
    service: &RequestService,
    a: crate::cli::ListRequestsArgs,
) -> anyhow::Result<ExitCode> {
    let today = today();
    let mut filter = RequestFilter {
        open_only: a.open || a.overdue || a.due_within.is_some(),
        limit: 1000,
        ..RequestFilter::default()
    };
    if let Some(s) = &a.state {
        filter.state = Some(RequestState::parse(s).with_context(|| {
            format!(
                "--state `{s}` is not a state; use one of {}",
                RequestState::keys().join(", ")
            )
        })?);
    }
    if let Some(days) = a.due_within {
        filter.legal_due_before = today
            .checked_add(jiff::Span::new().days(i64::from(days)))
            .ok();
    }
    let mut shown = 0;
    loop {
        let page = service.list(&filter).await?;
        for r in &page {
            let due = r.extended_due.unwrap_or(r.legal_due);
            let overdue = !r.state.is_closed() && today > due;
            if a.overdue && !overdue {
                continue;
            }
            shown += 1;
            outln!(
                "{}  {:<19} {:<21} received {}  promised {}  legal {}{}{}",
                r.reference,
                r.kind.key(),
                r.state.key(),
                r.received,
                r.promised_due,
                due,
                if overdue { "  OVERDUE" } else { "" },
                if r.repeat_of.is_some() {
                    "  repeat"
                } else {
                    ""
                }
            )?;
        }
        match page.last() {
            Some(last) if page.len() == filter.limit as usize => filter.after_id = Some(last.id),
            _ => break,
        }
    }
    if shown == 0 {
        outln!("no requests")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(service: &RequestService, reference: &str) -> anyhow::Result<ExitCode> {
    let r = service.by_reference(reference).await?;
    print_one(&r)?;
    outln!(
        "email {}{}",
        r.email,
        r.name
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    )?;
    outln!("details {}", r.details)?;
    outln!("timeline:")?;
    for e in service.store().request_timeline(r.id).await? {
        let change = match (e.from_state, e.to_state) {
            (Some(f), Some(t)) => format!(" {} -> {}", f.key(), t.key()),
            _ => String::new(),
        };
        outln!(
            "  {} {:<14} {}{}{}",
            e.at,
            e.actor,
            e.action,
            change,
            e.note.map(|n| format!(": {n}")).unwrap_or_default()
        )?;
    }
    outln!("letters:")?;
    for m in service.store().mail_status(r.id).await? {
        let state = m
            .sent_at
            .map(|t| format!("sent {t}"))
            .unwrap_or_else(|| format!("queued ({} attempts)", m.attempts));
        outln!("  {:<22} {state}: {}", m.kind, m.subject)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_one(r: &RequestRecord) -> anyhow::Result<()> {
    outln!(
        "{} {} {} ({}), received {}, promised {}, legal {}{}",
        r.reference,
        r.kind.key(),
        r.state.key(),
        r.channel.key(),
        r.received,
        r.promised_due,
        r.extended_due.unwrap_or(r.legal_due),
        r.repeat_of
            .as_ref()
            .map(|p| format!(", repeats {p}"))
            .unwrap_or_default()
    )?;
    Ok(())
}
