//! `ombud policy check|render` and `ombud ropa`.

use std::process::ExitCode;

use ombud_policy::render::{self, NoticeFormat, ropa::RopaFormat};
use ombud_policy::{PolicySource, Severity};

use super::{load_valid, parse_date, today, write_output};
use crate::cli::{self, CheckArgs, DiffArgs, RenderArgs, RopaArgs};

pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let today = match &args.today {
        Some(s) => parse_date("--today", s)?,
        None => today(),
    };
    let source = PolicySource::read(&args.path)?;
    let (diagnostics, source) = match ombud_policy::load(source, today) {
        Ok(loaded) => (loaded.warnings, loaded.source),
        Err(rejected) => (rejected.diagnostics, rejected.source),
    };
    for d in &diagnostics {
        outln!("{}", d.render(&source))?;
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let verdict = if errors > 0 { "invalid" } else { "valid" };
    outln!(
        "{}: {verdict}, {errors} error(s), {warnings} warning(s)",
        args.path.display()
    )?;
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn render(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_valid(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let format = match args.format {
        cli::NoticeFormat::Md => NoticeFormat::Markdown,
        cli::NoticeFormat::Html => NoticeFormat::Html,
    };
    write_output(
        args.output.as_deref(),
        &render::notice(&loaded.policy, format),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn ropa(args: &RopaArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_valid(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let format = match args.format {
        cli::RopaFormat::Csv => RopaFormat::Csv,
        cli::RopaFormat::Json => RopaFormat::Json,
        cli::RopaFormat::Md => RopaFormat::Markdown,
    };
    write_output(
        args.output.as_deref(),
        &render::ropa::render(&loaded.policy, format),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn diff(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let (old, new) = match (load_valid(&args.old)?, load_valid(&args.new)?) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(code), _) | (_, Err(code)) => return Ok(code),
    };
    let changes = ombud_policy::diff::summary(&old.policy, &new.policy);
    if changes.is_empty() && old.source.hash() == new.source.hash() {
        outln!("no changes")?;
    } else if changes.is_empty() {
        outln!(
            "no changes to purposes, recipients, retention, cookies or collection points (wording only)"
        )?;
    }
    for c in &changes {
        outln!("{c}")?;
    }
    if args.lines {
        out!(
            "{}",
            ombud_policy::diff::text_diff(&old.source, &new.source)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
