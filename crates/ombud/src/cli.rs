//! The command-line interface, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ombud: a self-hosted privacy operations server, driven by a policy kept in git.
#[derive(Debug, Parser)]
#[command(name = "ombud", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the background workers.
    Serve(ServeArgs),
    /// Run the server with the example policy and demo data (SQLite in ./ombud-data).
    Demo(ServerArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(ServerArgs),
    /// Check, render and describe policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Write the record of processing activities (GDPR Art. 30(1)).
    Ropa(RopaArgs),
    /// Print the due dates of a rights request received on a given day.
    Deadline(DeadlineArgs),
    /// Read the consent ledger: a person's state, history, checks and proof.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Rights requests: list, show, create and act on them.
    #[command(subcommand)]
    Request(Box<RequestCommand>),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Runtime configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The data map: compare it with the live databases, draft one from a database, or import
    /// a Fides dataset.
    #[command(subcommand)]
    Datamap(DatamapCommand),
    /// Staff users of the console: add one (printing their setup link) or list them.
    #[command(subcommand)]
    Users(UsersCommand),
    /// The encryption keys at rest: move everything to the current key after a rotation, or
    /// count what each key still holds.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// API tokens: add one (printing it once), list or revoke them.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Seal every TOTP secret and re-encrypt every export package still on disk under the
    /// current key (encryption_key); what is under it already is left alone. Prints the counts
    /// and writes an audit entry.
    Rotate(ServerArgs),
    /// Count the TOTP secrets and packages each key holds, and say which previous keys hold
    /// nothing any more. Exit 1 if something is under a key that is not configured.
    Check(ServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Add an API token with one or more scopes and print it (shown once; only its hash is
    /// kept).
    Add(AddTokenArgs),
    /// List the API tokens: id, name, scopes, when created and last used, and revocation.
    List(ServerArgs),
    /// Revoke an API token: calls with it are refused from then on.
    Revoke(RevokeTokenArgs),
}

#[derive(Debug, Args)]
pub struct AddTokenArgs {
    /// A name for people, e.g. `crm sync`.
    pub name: String,
    /// What the token may do: read, consent:write, requests:write or records:write. Repeat
    /// for several.
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's id, as `ombud tokens list` shows it.
    pub id: i64,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a staff user and print their one-time setup link (valid for 24 hours).
    Add(AddUserArgs),
    /// List the staff users.
    List(ServerArgs),
    /// Start a staff user over (lost authenticator and recovery codes): forget their password,
    /// second factor and recovery codes, end their sessions, and print a new one-time setup link.
    Reset(ResetUserArgs),
}

#[derive(Debug, Args)]
pub struct ResetUserArgs {
    /// The staff member's e-mail address.
    pub email: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// The staff member's e-mail address (their login).
    pub email: String,
    /// admin (everything), privacy_officer (requests, consent, records; not users) or viewer
    /// (read only).
    #[arg(long)]
    pub role: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum DatamapCommand {
    /// Compare the policy's data map with the live databases of its connections: missing
    /// tables or columns, types of another kind, primary keys that differ. Exit 1 on any.
    Check(DatamapCheckArgs),
    /// Read a database's tables, columns and keys, and print a draft data map (proposed
    /// categories and identities) for a person to review.
    Discover(DiscoverArgs),
    /// Convert a Fides dataset YAML file into ombud's data map format.
    ImportFides(ImportFidesArgs),
}

#[derive(Debug, Args)]
pub struct DatamapCheckArgs {
    /// Policy file or folder.
    pub path: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The database URL (postgres://, mysql://, mariadb://, sqlite:). Or use --connection.
    #[arg(required_unless_present = "connection", conflicts_with = "connection")]
    pub url: Option<String>,
    /// Take the URL from the configuration's connection of this name instead (so the password
    /// stays out of the shell history).
    #[arg(long)]
    pub connection: Option<String>,
    /// The system's id in the draft (default: the connection's name, else `database`).
    #[arg(long)]
    pub system: Option<String>,
    /// The schema (PostgreSQL) or database (MySQL) to read; default: the connection's own.
    #[arg(long)]
    pub schema: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConnectorArg {
    Postgres,
    Mysql,
    Sqlite,
}

#[derive(Debug, Args)]
pub struct ImportFidesArgs {
    /// The Fides dataset file (YAML with `dataset:`).
    pub file: PathBuf,
    /// How ombud reaches the database the dataset describes.
    #[arg(long, value_enum, default_value = "postgres")]
    pub connector: ConnectorArg,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// Runtime settings shared by the commands that open the store or serve.
#[derive(Debug, Args, Clone, Default)]
pub struct ServerArgs {
    /// TOML configuration file.
    #[arg(long, short = 'c', env = "OMBUD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the public HTTP listener.
    #[arg(long)]
    pub listen: Option<String>,
    /// Address of the metrics listener, or `off`.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Folder for the embedded database and other local files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`); default: SQLite in the data folder.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Public base URL, as people reach this server.
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Policy file or folder.
    #[arg(long, short = 'p', env = "OMBUD_POLICY")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy; exit 0 when it has no errors. Warnings name legal weak spots.
    Check(CheckArgs),
    /// Write the privacy notice.
    Render(RenderArgs),
    /// Show what changed between two policies (files or folders).
    Diff(DiffArgs),
    /// Print the JSON Schema of the policy format.
    Schema,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier policy.
    pub old: PathBuf,
    /// The later policy.
    pub new: PathBuf,
    /// Also print a line diff of the files.
    #[arg(long)]
    pub lines: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy file or folder.
    pub path: PathBuf,
    /// Exit non-zero on warnings too (for CI).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Date the review-date checks against (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NoticeFormat {
    Md,
    Html,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Policy file or folder.
    pub path: PathBuf,
    #[arg(long, short = 'f', value_enum, default_value = "md")]
    pub format: NoticeFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RopaFormat {
    Csv,
    Json,
    Md,
}

#[derive(Debug, Args)]
pub struct RopaArgs {
    /// Policy file or folder.
    pub path: PathBuf,
    #[arg(long, short = 'f', value_enum, default_value = "md")]
    pub format: RopaFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeadlineArgs {
    /// Policy file or folder (for the promised working days and the holiday calendar).
    pub path: PathBuf,
    /// The day the request reached the organisation.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub received: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// The current consent states of a person (the subject and every subject linked to it).
    State(SubjectArgs),
    /// Every consent event of a person, oldest first.
    History(SubjectArgs),
    /// May a purpose be processed for a person? Uses the policy version in force.
    Check(CheckConsentArgs),
    /// Export the proof of a person's consent (recorded in the audit log).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The subject, e.g. `email:ann@example.com` or `visitor:<32 hex digits>`.
    pub subject: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct CheckConsentArgs {
    pub subject: String,
    /// A purpose id of the policy.
    pub purpose: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProofFormat {
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub subject: String,
    #[arg(long, short = 'f', value_enum, default_value = "json")]
    pub format: ProofFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Requests, newest last; with filters.
    List(ListRequestsArgs),
    /// One request with its timeline and letters.
    Show(RefArgs),
    /// Record a request that came by e-mail, phone, letter or in person.
    Create(CreateRequestArgs),
    /// Send the person a (new) identity code by e-mail.
    SendCode(RefArgs),
    /// Confirm the person's identity by other means (say how).
    Verify(ReasonArgs),
    /// Start working on a verified request.
    Start(RefArgs),
    /// Wait for manual tasks in systems without a connector.
    WaitForTasks(NoteArgs),
    /// Complete the request (a completion letter is sent).
    Complete(NoteArgs),
    /// Refuse with a reason (the letter includes the right to complain).
    Refuse(ReasonArgs),
    /// Charge a reasonable fee, with a reason.
    Fee(FeeArgs),
    /// Extend by two months, with the reason sent to the person (only within the first month).
    Extend(ReasonArgs),
    /// Forward to the controller (the customer that put the data in the platform).
    Forward(ForwardArgs),
    /// Record that the person withdrew the request.
    Withdraw(NoteArgs),
    /// Add a note to the timeline.
    Note(ReasonArgs),
    /// What carrying the request out would touch: collections, order and row counts (reads only).
    Plan(RefArgs),
    /// Carry the request out in the organisation's databases now (rectification: with --set).
    Execute(ExecuteArgs),
    /// Write the request's export package (decrypted ZIP) to a file.
    Export(PackageArgs),
    /// The request's manual tasks (systems without a connector).
    Tasks(RefArgs),
    /// Tick off a manual task.
    TaskDone(TaskDoneArgs),
    /// One shot for operators: record a request, verify it by staff decision, carry it out, and
    /// (access, portability) write the package.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// The request's reference.
    pub reference: String,
    /// A correction for rectification: `system:collection.field=new value`; repeat for several.
    #[arg(long = "set", value_name = "SYSTEM:COLLECTION.FIELD=VALUE")]
    pub corrections: Vec<String>,
    /// Show progress on the terminal.
    #[arg(long)]
    pub progress: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The request's reference.
    pub reference: String,
    /// Where to write the ZIP.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct TaskDoneArgs {
    /// The request's reference.
    pub reference: String,
    /// The task's id (see `ombud request tasks`).
    pub task: i64,
    /// What was done.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// access, portability, erasure, rectification or restriction.
    #[arg(long)]
    pub kind: String,
    /// The person's e-mail address.
    #[arg(long)]
    pub email: String,
    /// How staff confirmed the person's identity (recorded on the request).
    #[arg(long, value_name = "HOW")]
    pub verified: String,
    /// email, phone, letter or in_person.
    #[arg(long, default_value = "email")]
    pub channel: String,
    /// en or da: the language of the letters and the package.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// A correction for rectification: `system:collection.field=new value`.
    #[arg(long = "set", value_name = "SYSTEM:COLLECTION.FIELD=VALUE")]
    pub corrections: Vec<String>,
    /// Access and portability: where to write the package (decrypted ZIP).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Show progress on the terminal.
    #[arg(long)]
    pub progress: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct RefArgs {
    /// The request's reference, e.g. R-7K2M-Q9XD-A1B2.
    /// The request's reference.
    pub reference: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The request's reference.
    pub reference: String,
    /// A note for the request's timeline.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ReasonArgs {
    /// The request's reference.
    pub reference: String,
    /// The reason, or how (for verify), or the text (for note).
    pub text: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct FeeArgs {
    /// The request's reference.
    pub reference: String,
    /// The fee, e.g. "250 DKK".
    #[arg(long)]
    pub amount: String,
    /// Why the request is manifestly unfounded or excessive; it goes in the letter.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// The request's reference.
    pub reference: String,
    /// The controller's name.
    #[arg(long)]
    pub to: String,
    /// The controller's e-mail address, to send them the request.
    #[arg(long)]
    pub to_email: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ListRequestsArgs {
    /// Only requests in this state.
    #[arg(long)]
    pub state: Option<String>,
    /// Only open requests.
    #[arg(long)]
    pub open: bool,
    /// Only open requests past their legal due date.
    #[arg(long)]
    pub overdue: bool,
    /// Only open requests due within this many days.
    #[arg(long, value_name = "DAYS")]
    pub due_within: Option<u32>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct CreateRequestArgs {
    /// access, rectification, erasure, restriction, portability, objection, automated_decisions
    /// or withdraw_consent.
    #[arg(long)]
    pub kind: String,
    /// The person's e-mail address (codes and letters go there).
    #[arg(long)]
    pub email: String,
    /// The person's name, as they gave it.
    #[arg(long)]
    pub name: Option<String>,
    /// email, phone, letter or in_person.
    #[arg(long, default_value = "email")]
    pub channel: String,
    /// The day it reached the organisation (YYYY-MM-DD); default today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub received: Option<String>,
    /// en or da: the language of the letters.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Rectification: what is wrong and what it should say.
    #[arg(long)]
    pub corrections: Option<String>,
    /// A purpose id (objection, withdrawal of consent); repeat for several.
    #[arg(long = "purpose")]
    pub purposes: Vec<String>,
    /// Restriction or objection: the person's reason.
    #[arg(long)]
    pub reason: Option<String>,
    /// Anything else the person wrote.
    #[arg(long)]
    pub message: Option<String>,
    /// The customer that put the data in the platform.
    #[arg(long)]
    pub platform_customer: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exit 0 when intact, 1 at the first broken entry.
    Verify(ServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
}
