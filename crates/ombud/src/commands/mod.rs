//! One module per group of commands.

/// `println!` that returns the error instead of panicking when standard output is closed (for
/// example `ombud policy render … | head`); `main` treats a broken pipe as a normal end.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `print!` that returns the error instead of panicking; see [`outln`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

mod audit;
mod consent;
mod datamap;
mod deadline;
mod keys;
mod policy;
mod request;
mod serve;
mod tokens;
mod users;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, ConfigCommand, PolicyCommand};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Policy(PolicyCommand::Check(args)) => policy::check(&args),
        Command::Policy(PolicyCommand::Render(args)) => policy::render(&args),
        Command::Policy(PolicyCommand::Diff(args)) => policy::diff(&args),
        Command::Policy(PolicyCommand::Schema) => {
            out!("{}", ombud_policy::schema::json_schema())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ropa(args) => policy::ropa(&args),
        Command::Deadline(args) => deadline::run(&args),
        Command::Audit(crate::cli::AuditCommand::Verify(args)) => audit::verify(&args),
        Command::Consent(c) => consent::run(c),
        Command::Request(c) => request::run(*c),
        Command::Serve(args) => serve::serve(args),
        Command::Demo(args) => serve::demo(args),
        Command::Migrate(args) => serve::migrate(args),
        Command::Datamap(c) => datamap::run(c),
        Command::Users(c) => users::run(c),
        Command::Keys(c) => keys::run(c),
        Command::Tokens(c) => tokens::run(c),
        Command::Config(ConfigCommand::Example) => {
            out!("{}", ombud_server::Settings::example_toml())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The operator, as far as the command line knows them: the actor of audit entries.
pub(crate) fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Today's date in UTC.
pub(crate) fn today() -> jiff::civil::Date {
    jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

/// Parses a `YYYY-MM-DD` argument with a message that names the flag.
pub(crate) fn parse_date(flag: &str, s: &str) -> anyhow::Result<jiff::civil::Date> {
    s.parse()
        .with_context(|| format!("{flag} `{s}` is not a date; write it as YYYY-MM-DD"))
}

/// Writes to a file, or to standard output.
pub(crate) fn write_output(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            out!("{text}")?;
            Ok(())
        }
    }
}

/// Loads a policy for a command that needs a valid one: errors are printed with their
/// locations, and the command stops with exit code 1.
pub(crate) fn load_valid(path: &Path) -> anyhow::Result<Result<ombud_policy::Loaded, ExitCode>> {
    let source = ombud_policy::PolicySource::read(path)?;
    match ombud_policy::load(source, today()) {
        Ok(loaded) => Ok(Ok(loaded)),
        Err(rejected) => {
            eprint!("{rejected}");
            eprintln!(
                "{}: the policy has errors; run `ombud policy check {}` for details",
                path.display(),
                path.display()
            );
            Ok(Err(ExitCode::FAILURE))
        }
    }
}
