//! `ombud deadline`: the due dates of a request received on a given day.

use std::process::ExitCode;

use jiff::civil::Date;
use ombud_domain::deadline::deadlines;

use super::{load_valid, parse_date};
use crate::cli::DeadlineArgs;

pub fn run(args: &DeadlineArgs) -> anyhow::Result<ExitCode> {
    let received = parse_date("--received", &args.received)?;
    let loaded = match load_valid(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let rights = &loaded.policy.rights;
    let calendar = rights.calendar()?;
    let d = deadlines(&calendar, received, rights.working_days);
    // Holidays between receipt and the last due date, so the reader sees why a date moved.
    let skipped: Vec<(Date, &str)> = (received.year()..=d.legal_extended.year())
        .flat_map(|y| calendar.holidays(y))
        .filter(|h| h.date > received && h.date <= d.legal_extended)
        .map(|h| (h.date, h.name_local))
        .collect();
    if args.json {
        let json = serde_json::json!({
            "received": received.to_string(),
            "calendar": calendar.country(),
            "closing_days": calendar.customary_days(),
            "working_days": rights.working_days,
            "promised": d.promised.to_string(),
            "legal": d.legal.to_string(),
            "legal_extended": d.legal_extended.to_string(),
            "holidays": skipped.iter().map(|(date, name)| serde_json::json!({"date": date.to_string(), "name": name})).collect::<Vec<_>>(),
        });
        outln!("{json:#}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let day = |d: Date| format!("{d} ({})", weekday(d));
    outln!("Received:            {}", day(received))?;
    outln!(
        "Promised (policy):   {}  {} working days on the {} calendar",
        day(d.promised),
        rights.working_days,
        calendar.country()
    )?;
    outln!(
        "Legal limit:         {}  one month, GDPR Art. 12(3), Regulation 1182/71",
        day(d.legal)
    )?;
    outln!(
        "Extended limit:      {}  two further months, if the person is told why within the first month",
        day(d.legal_extended)
    )?;
    if !skipped.is_empty() {
        outln!("Holidays in between:")?;
        for (date, name) in skipped {
            outln!("  {} {name}", day(date))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn weekday(d: Date) -> &'static str {
    use jiff::civil::Weekday::*;
    match d.weekday() {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}
