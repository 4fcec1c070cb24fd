//! `ombud request …`: the staff operations on rights requests, from the command line. Letters
//! are queued and sent by the running server; identity codes are sent at once.

use std::process::ExitCode;

use anyhow::Context as _;
use ombud_domain::datamap::CollectionRef;
use ombud_domain::datamap::plan::Source;
use ombud_domain::policy::Keyword;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_fulfil::{Correction, Progress};
use ombud_server::requests::{Details, RequestService, StaffAction, Submission, summarise};
use ombud_store::{RequestFilter, RequestRecord};

use super::serve::open_store;
use super::{parse_date, today};
use crate::cli::{RequestCommand, RunArgs, ServerArgs};

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
            RequestCommand::Plan(a) | RequestCommand::Tasks(a) => &a.server,
            RequestCommand::Execute(a) => &a.server,
            RequestCommand::Export(a) => &a.server,
            RequestCommand::TaskDone(a) => &a.server,
            RequestCommand::Run(a) => &a.server,
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
        RequestCommand::Plan(a) => plan(service, &a.reference).await,
        RequestCommand::Execute(a) => {
            let corrections = parse_corrections(&a.corrections)?;
            execute(service, &a.reference, corrections, a.progress).await
        }
        RequestCommand::Export(a) => {
            let n = service
                .export_package(&a.reference, &actor(), &a.out)
                .await?;
            outln!("wrote {} ({n} bytes)", a.out.display())?;
            Ok(ExitCode::SUCCESS)
        }
        RequestCommand::Tasks(a) => tasks(service, &a.reference).await,
        RequestCommand::TaskDone(a) => {
            let r = service
                .task_done(&a.reference, a.task, &actor(), a.note.as_deref())
                .await?;
            print_one(&r)?;
            Ok(ExitCode::SUCCESS)
        }
        RequestCommand::Run(a) => run_once(service, a).await,
    }
}

/// `system:collection.field=value`, as `--set` takes it. The collection may contain dots; the
/// field is what follows the last dot before `=`.
fn parse_corrections(items: &[String]) -> anyhow::Result<Vec<Correction>> {
    items
        .iter()
        .map(|item| {
            let bad = || anyhow::anyhow!("--set `{item}`: write system:collection.field=value");
            let (target, value) = item.split_once('=').ok_or_else(bad)?;
            let (system, rest) = target.split_once(':').ok_or_else(bad)?;
            let (collection, field) = rest.rsplit_once('.').ok_or_else(bad)?;
            if system.is_empty() || collection.is_empty() || field.is_empty() {
                return Err(bad());
            }
            Ok(Correction {
                system: system.to_owned(),
                collection: collection.to_owned(),
                field: field.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect()
}

async fn plan(service: &RequestService, reference: &str) -> anyhow::Result<ExitCode> {
    let (plan, counts) = service.preview(reference).await?;
    outln!("read, in this order (rows found):")?;
    for (i, step) in plan.steps.iter().enumerate() {
        let rows = counts
            .iter()
            .find(|(c, _)| *c == step.collection)
            .map_or(0, |(_, n)| *n);
        let via: Vec<String> = step
            .sources
            .iter()
            .map(|s| match s {
                Source::Identity { field, identity } => {
                    format!("{field} = the person's {identity}")
                }
                Source::Reference { field, from } => format!("{field} in {from}"),
            })
            .collect();
        outln!(
            "  {}. {}  {rows} rows  ({})",
            i + 1,
            step.collection,
            via.join("; ")
        )?;
    }
    outln!("erase in this order: {}", join(&plan.erase_order))?;
    if !plan.unreachable.is_empty() {
        outln!(
            "not reachable from the person's identities: {}",
            join(&plan.unreachable)
        )?;
    }
    if !plan.cycles.is_empty() {
        let cycles: Vec<String> = plan
            .cycles
            .iter()
            .map(|(a, b)| format!("{a} -> {b}"))
            .collect();
        outln!(
            "references not followed (they lead back): {}",
            cycles.join(", ")
        )?;
    }
    if !plan.manual.is_empty() {
        outln!("manual tasks: {}", join(&plan.manual))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn execute(
    service: &RequestService,
    reference: &str,
    corrections: Vec<Correction>,
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let record = service.by_reference(reference).await?;
    let pending = service
        .store()
        .jobs_for_request(record.id)
        .await?
        .iter()
        .any(|j| !j.state.is_finished());
    if !pending {
        service.execute(reference, &actor(), corrections).await?;
    }
    let bar = Bar::new(progress);
    let outcome = service
        .run_job_now(
            reference,
            &format!("{}-{}", actor(), std::process::id()),
            &bar,
        )
        .await?;
    bar.done();
    outln!("{}", summarise(&outcome))?;
    print_one(&service.by_reference(reference).await?)?;
    Ok(ExitCode::SUCCESS)
}

async fn tasks(service: &RequestService, reference: &str) -> anyhow::Result<ExitCode> {
    let record = service.by_reference(reference).await?;
    let tasks = service.store().tasks_for_request(record.id).await?;
    if tasks.is_empty() {
        outln!("no manual tasks")?;
    }
    for t in tasks {
        let state = t.done_at.map_or_else(
            || "open".to_owned(),
            |at| format!("done {at} by {}", t.done_by.as_deref().unwrap_or("?")),
        );
        outln!(
            "{}  {}  {}  [{state}]\n    {}",
            t.id,
            t.system,
            t.title,
            t.instructions
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_once(service: &RequestService, a: RunArgs) -> anyhow::Result<ExitCode> {
    let kind = RequestType::parse(&a.kind)
        .filter(|k| ombud_server::requests::job_kind(*k).is_some())
        .with_context(|| {
            format!(
                "--kind `{}`: use access, portability, erasure, rectification or restriction",
                a.kind
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
    let corrections = parse_corrections(&a.corrections)?;
    if a.verified.trim().is_empty() {
        anyhow::bail!("--verified: say how the person's identity was confirmed");
    }
    if kind == RequestType::Rectification && corrections.is_empty() {
        anyhow::bail!("--set: name each correction as system:collection.field=value");
    }
    if matches!(kind, RequestType::Access | RequestType::Portability)
        && service.package_keys().is_none()
    {
        anyhow::bail!(
            "packages need a key: set encryption_key (OMBUD_ENCRYPTION_KEY) or secret_key (OMBUD_SECRET_KEY) before recording the request"
        );
    }
    let r = service
        .submit(Submission {
            kind,
            channel,
            email: a.email,
            name: None,
            lang: a.lang,
            received: None,
            details: Details {
                // What is corrected, by name (the values go to the job only).
                corrections: (!corrections.is_empty()).then(|| {
                    let fields: Vec<String> = corrections
                        .iter()
                        .map(|c| format!("{}:{}.{}", c.system, c.collection, c.field))
                        .collect();
                    format!("corrected by staff: {}", fields.join(", "))
                }),
                ..Details::default()
            },
            actor: actor(),
        })
        .await?;
    outln!("created {}", r.reference)?;
    // Verifying starts the job by itself when the server is set to (auto_execute); the job is
    // then run here either way.
    service
        .act(
            &r.reference,
            &actor(),
            StaffAction::Verify {
                how: Some(a.verified),
            },
        )
        .await?;
    let code = execute(service, &r.reference, corrections, a.progress).await?;
    if let Some(out) = a.out
        && matches!(kind, RequestType::Access | RequestType::Portability)
    {
        let n = service.export_package(&r.reference, &actor(), &out).await?;
        outln!("wrote {} ({n} bytes)", out.display())?;
    }
    Ok(code)
}

/// A one-line progress display on standard error, when asked for and on a terminal.
struct Bar {
    on: bool,
    collections: std::sync::atomic::AtomicUsize,
}

impl Bar {
    fn new(asked: bool) -> Bar {
        use std::io::IsTerminal as _;
        Bar {
            on: asked && std::io::stderr().is_terminal(),
            collections: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

impl Progress for Bar {
    fn collection(&self, c: &CollectionRef, rows: u64) {
        let n = self
            .collections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if self.on {
            eprint!("\r\x1b[2K[{n}] {c}: {rows} rows");
        }
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
    let store = service.store();
    let jobs = store.jobs_for_request(r.id).await?;
    if !jobs.is_empty() {
        outln!("jobs:")?;
    }
    for j in jobs {
        outln!(
            "  {} {} {} (attempts {}){}",
            j.id,
            j.kind,
            j.state.key(),
            j.attempts,
            j.error.map(|e| format!(": {e}")).unwrap_or_default()
        )?;
    }
    let tasks = store.tasks_for_request(r.id).await?;
    if !tasks.is_empty() {
        outln!("manual tasks:")?;
    }
    for t in tasks {
        let state = if t.is_done() { "done" } else { "open" };
        outln!("  {} {} [{state}]", t.id, t.title)?;
    }
    let packages = store.packages_for_request(r.id).await?;
    if !packages.is_empty() {
        outln!("packages:")?;
    }
    for p in packages {
        let state = match p.deleted_at {
            Some(at) => format!("deleted {at}"),
            None => format!("link expires {}", p.expires_at),
        };
        outln!(
            "  {} {} bytes, {} download(s), {state}",
            p.id,
            p.size,
            p.downloads
        )?;
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
