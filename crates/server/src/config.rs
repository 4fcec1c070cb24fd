//! Runtime configuration: where to listen, where the data lives, how to log.
//!
//! This is kept apart from the policy on purpose: the policy says what the organisation
//! processes and lives in git; these settings say how this installation runs and may hold
//! secrets, so they never belong in the repository.
//!
//! Layers, lowest precedence first:
//! 1. built-in defaults,
//! 2. an optional TOML file,
//! 3. `OMBUD_*` environment variables (`OMBUD_LISTEN` sets `listen`, and so on),
//! 4. [`Overrides`], which the binary fills from its command-line flags.
//!
//! figment merges the layers and remembers which layer supplied each key, so every error
//! names the key and the place it came from ("`listen` in environment variable OMBUD_LISTEN").

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use ombud_store::seal::KeyError;
use ombud_store::{Keyring, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// Prefix of the environment variables read by [`Settings::load`].
pub const ENV_PREFIX: &str = "OMBUD_";

/// File name of the default SQLite database inside [`Settings::data_dir`].
pub const SQLITE_FILE: &str = "ombud.db";

/// Every key a config layer may set. Environment variables outside this list (such as the
/// binary's own `OMBUD_CONFIG`) are left alone rather than rejected.
const KEYS: [&str; 34] = [
    "listen",
    "metrics_listen",
    "data_dir",
    "database_url",
    "database_url_file",
    "public_url",
    "log_format",
    "log_filter",
    "site_origins",
    "consent_cookie_domain",
    "consent_cookie_name",
    "api_token",
    "api_token_file",
    "secret_key",
    "secret_key_file",
    "encryption_key",
    "encryption_key_file",
    "previous_encryption_keys",
    "previous_encryption_keys_file",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "smtp_password_file",
    "mail_from",
    "mail_dir",
    "templates_dir",
    "unverified_expiry_hours",
    "repeat_window_days",
    "reminder_days",
    "packages_dir",
    "package_expiry_hours",
    "auto_execute",
];

/// Keys whose values are secret: errors about them never quote the value.
const SECRET_KEYS: [&str; 6] = [
    "database_url",
    "api_token",
    "secret_key",
    "encryption_key",
    "previous_encryption_keys",
    "smtp_password",
];

/// Name of the consent cookie unless configured.
pub const DEFAULT_CONSENT_COOKIE: &str = "ombud_consent";

const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
const DEFAULT_METRICS_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9090);
const DEFAULT_DATA_DIR: &str = "./ombud-data";
const DEFAULT_LOG_FILTER: &str = "info";

/// The typed runtime configuration of `ombud serve`.
///
/// `Debug` is written by hand so that the database URL, which usually carries a password,
/// never reaches a log line or a panic message.
#[derive(Clone)]
pub struct Settings {
    /// Address of the public HTTP server.
    pub listen: SocketAddr,
    /// Address of the Prometheus endpoint, or `None` to serve no metrics. A listener of its
    /// own so that metrics are never public by accident.
    pub metrics_listen: Option<SocketAddr>,
    /// Folder for ombud's own files, including the default SQLite database.
    pub data_dir: PathBuf,
    /// ombud's database, from `database_url` or read from `database_url_file`. `None` means
    /// the SQLite file `<data_dir>/ombud.db`.
    pub database_url: Option<SecretString>,
    /// The address people reach ombud at (no trailing slash), if configured. See
    /// [`Settings::public_url`] for the derived default.
    pub public_url: Option<String>,
    /// Human-readable or JSON logs.
    pub log_format: LogFormat,
    /// A `tracing` EnvFilter directive such as `info,ombud_store=debug`.
    pub log_filter: String,
    /// Origins of the organisation's websites (`https://www.example.com`): the only origins
    /// allowed to post consent to this server from a browser (CORS with credentials).
    pub site_origins: Vec<String>,
    /// Domain attribute of the consent cookie (e.g. `example.com` when ombud runs on
    /// privacy.example.com and the site on www.example.com). `None`: this host only.
    pub consent_cookie_domain: Option<String>,
    /// Name of the consent cookie.
    pub consent_cookie_name: String,
    /// Bearer token for the API (`Authorization: Bearer …`). `None`: the API's protected
    /// routes answer 401.
    pub api_token: Option<SecretString>,
    /// The server's secret (32+ characters): keys the identity codes' hashes. Without it the
    /// privacy centre can't verify anyone.
    pub secret_key: Option<SecretString>,
    /// The key that seals sensitive fields (TOTP secrets) and encrypts export packages at rest:
    /// 64 hexadecimal characters (32 random bytes), checked at load. `None`: a key derived from
    /// `secret_key` (see [`Settings::keyring`]).
    pub encryption_key: Option<SecretString>,
    /// Keys used before a rotation, each like `encryption_key`: they only open what they
    /// sealed, until `ombud keys rotate` has moved it to the current key.
    pub previous_encryption_keys: Vec<SecretString>,
    /// The SMTP relay that sends codes and letters. `None`: mail goes to `mail_dir`.
    pub smtp: Option<ombud_mail::SmtpSettings>,
    /// Sender of codes and letters; default: the policy's address for rights requests.
    pub mail_from: Option<String>,
    /// Without SMTP, codes and letters are written here as files (development and demo);
    /// `None`: `<data_dir>/mail`.
    pub mail_dir: Option<PathBuf>,
    /// Operator overrides of the letter templates (`<lang>/<kind>.txt`).
    pub templates_dir: Option<PathBuf>,
    /// Hours before an unverified request expires.
    pub unverified_expiry_hours: u32,
    /// Days in which a second request of the same type by the same person is flagged.
    pub repeat_window_days: u32,
    /// Working days before a due date that the contact point is reminded.
    pub reminder_days: u32,
    /// The organisation's databases that the data map's systems name, by connection name:
    /// `[connections]` in the file (`name = "postgres://…"` or `name_file = "/run/secrets/…"`),
    /// or `OMBUD_CONNECTION_<NAME>` / `OMBUD_CONNECTION_<NAME>_FILE`.
    pub connections: BTreeMap<String, SecretString>,
    /// Where encrypted export packages are kept until they expire; `None`: `<data_dir>/packages`.
    pub packages_dir: Option<PathBuf>,
    /// Hours a package's download link works.
    pub package_expiry_hours: u32,
    /// Carry out access, portability, erasure and restriction requests as soon as they are
    /// verified (otherwise staff start them with `execute`).
    pub auto_execute: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN,
            metrics_listen: Some(DEFAULT_METRICS_LISTEN),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            public_url: None,
            log_format: LogFormat::Text,
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
            site_origins: Vec::new(),
            consent_cookie_domain: None,
            consent_cookie_name: DEFAULT_CONSENT_COOKIE.to_owned(),
            api_token: None,
            secret_key: None,
            encryption_key: None,
            previous_encryption_keys: Vec::new(),
            smtp: None,
            mail_from: None,
            mail_dir: None,
            templates_dir: None,
            unverified_expiry_hours: 72,
            repeat_window_days: 90,
            reminder_days: 2,
            connections: BTreeMap::new(),
            packages_dir: None,
            package_expiry_hours: 168,
            auto_execute: true,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_ref()
                    .map(|u| Redacted(redact_url(u.expose_secret()))),
            )
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("site_origins", &self.site_origins)
            .field("consent_cookie_domain", &self.consent_cookie_domain)
            .field("consent_cookie_name", &self.consent_cookie_name)
            .field(
                "api_token",
                &self
                    .api_token
                    .as_ref()
                    .map(|_| Redacted("[redacted]".to_owned())),
            )
            .field(
                "secret_key",
                &self
                    .secret_key
                    .as_ref()
                    .map(|_| Redacted("[redacted]".to_owned())),
            )
            .field(
                "encryption_key",
                &self
                    .encryption_key
                    .as_ref()
                    .map(|_| Redacted("[redacted]".to_owned())),
            )
            .field(
                "previous_encryption_keys",
                &self
                    .previous_encryption_keys
                    .iter()
                    .map(|_| Redacted("[redacted]".to_owned()))
                    .collect::<Vec<_>>(),
            )
            .field(
                "smtp",
                &self
                    .smtp
                    .as_ref()
                    .map(|s| format!("{}:{} ({:?})", s.host, s.port, s.security)),
            )
            .field("mail_from", &self.mail_from)
            .field("mail_dir", &self.mail_dir)
            .field("templates_dir", &self.templates_dir)
            .field(
                "connections",
                &self
                    .connections
                    .iter()
                    .map(|(name, url)| (name.as_str(), Redacted(redact_url(url.expose_secret()))))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

/// Prints its text without quotes, so a redacted URL reads as a placeholder.
struct Redacted(String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keeps only the scheme of a URL: enough to tell SQLite from PostgreSQL in a log, and
/// nothing that could be a password, a user name or an internal host name.
fn redact_url(url: &str) -> String {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    if !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        format!("{scheme}:[redacted]")
    } else {
        "[redacted]".to_owned()
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("`{s}` is not a log format; use text or json")),
        }
    }
}

impl LogFormat {
    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The value of `metrics_listen` as given on a command line: an address, or `off`.
///
/// A separate type (rather than `Option<SocketAddr>`) because "flag not given" and "metrics
/// turned off" must stay distinguishable in [`Overrides`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    Off,
    At(SocketAddr),
}

impl FromStr for MetricsListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_metrics_listen(s).map(|a| a.map_or(MetricsListen::Off, MetricsListen::At))
    }
}

/// `off` (also `none`, `false`, `disabled`) or a socket address.
fn parse_metrics_listen(s: &str) -> Result<Option<SocketAddr>, String> {
    match s.trim() {
        "off" | "none" | "false" | "disabled" => Ok(None),
        other => other
            .parse()
            .map(Some)
            .map_err(|_| "expected an address such as 127.0.0.1:9090, or off".to_owned()),
    }
}

/// Values that take precedence over every other layer, filled by the binary from its flags.
/// `None` leaves the key to the lower layers.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub metrics_listen: Option<MetricsListen>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<SecretString>,
    pub database_url_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_filter: Option<String>,
    pub site_origins: Option<Vec<String>>,
    pub api_token: Option<SecretString>,
    pub secret_key: Option<SecretString>,
    pub mail_dir: Option<PathBuf>,
}

/// Why the configuration couldn't be loaded. Each message names the key and where its value
/// came from, and never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error("unknown key `{key}` in {origin}; known keys: {known}", known = KEYS.join(", "))]
    UnknownKey { key: String, origin: String },
    #[error("invalid `{key}` in {origin}: {reason}")]
    Invalid {
        key: String,
        origin: String,
        reason: String,
    },
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode { var: String },
    #[error("both `{key}` and `{key}_file` are set in {origin}; set only one of them")]
    ConflictingSecret { key: &'static str, origin: String },
    #[error("cannot read `{key}_file` {path} (set in {origin}): {source}")]
    ReadSecret {
        key: &'static str,
        path: PathBuf,
        origin: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where a value came from, ranked by precedence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Defaults,
    File(PathBuf),
    Env,
    Flags,
}

const DEFAULTS_NAME: &str = "built-in defaults";
const FILE_NAME: &str = "config file";
const ENV_NAME: &str = "environment";

impl Origin {
    fn from_metadata(md: &Metadata) -> Origin {
        match (&*md.name, md.source.as_ref().and_then(|s| s.file_path())) {
            (FILE_NAME, Some(path)) => Origin::File(path.to_owned()),
            (ENV_NAME, _) => Origin::Env,
            _ => Origin::Defaults,
        }
    }

    /// The layer as a whole, for errors about more than one key.
    fn layer(&self) -> String {
        match self {
            Origin::Env => "the environment".to_owned(),
            other => other.describe(""),
        }
    }

    /// Where `key` was set, in words a person can act on.
    fn describe(&self, key: &str) -> String {
        match self {
            Origin::Defaults => DEFAULTS_NAME.to_owned(),
            Origin::File(path) => format!("{FILE_NAME} {}", path.display()),
            Origin::Env => format!("environment variable {}", env_var(key)),
            Origin::Flags => "command-line flags".to_owned(),
        }
    }
}

fn env_var(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// One config layer: a flat table of keys with the metadata figment reports in errors.
struct Layer {
    metadata: Metadata,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The shape the merged layers are extracted into, before secrets are resolved and values
/// are checked. `deny_unknown_fields` turns a typo in the config file into an error instead of
/// a silently ignored setting.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: SocketAddr,
    #[serde(deserialize_with = "metrics_listen")]
    metrics_listen: Option<SocketAddr>,
    data_dir: PathBuf,
    database_url: Option<SecretString>,
    database_url_file: Option<PathBuf>,
    public_url: Option<String>,
    log_format: LogFormat,
    log_filter: String,
    site_origins: Option<String>,
    consent_cookie_domain: Option<String>,
    consent_cookie_name: Option<String>,
    api_token: Option<SecretString>,
    api_token_file: Option<PathBuf>,
    secret_key: Option<SecretString>,
    secret_key_file: Option<PathBuf>,
    encryption_key: Option<SecretString>,
    encryption_key_file: Option<PathBuf>,
    previous_encryption_keys: Option<KeyList>,
    previous_encryption_keys_file: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_security: Option<ombud_mail::SmtpSecurity>,
    smtp_username: Option<String>,
    smtp_password: Option<SecretString>,
    smtp_password_file: Option<PathBuf>,
    mail_from: Option<String>,
    mail_dir: Option<PathBuf>,
    templates_dir: Option<PathBuf>,
    unverified_expiry_hours: Option<u32>,
    repeat_window_days: Option<u32>,
    reminder_days: Option<u32>,
    #[serde(default)]
    connections: BTreeMap<String, String>,
    packages_dir: Option<PathBuf>,
    package_expiry_hours: Option<u32>,
    auto_execute: Option<bool>,
}

/// `previous_encryption_keys`: a TOML list, or one text with the keys separated by commas or
/// white space (as an environment variable gives it).
#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    Text(SecretString),
    List(Vec<SecretString>),
}

impl KeyList {
    fn into_keys(self) -> Vec<SecretString> {
        match self {
            KeyList::Text(text) => split_keys(text.expose_secret()),
            KeyList::List(list) => list,
        }
    }
}

/// Keys separated by commas or white space.
fn split_keys(text: &str) -> Vec<SecretString> {
    text.split([',', ' ', '\n', '\t', '\r'])
        .filter(|k| !k.is_empty())
        .map(SecretString::from)
        .collect()
}

/// A key's 32 bytes, wiped when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// Which setting a key of the keyring comes from (for `ombud keys check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `encryption_key`: the current key.
    EncryptionKey,
    /// Derived from `secret_key`: the current key when `encryption_key` is unset, otherwise a
    /// previous one (so what it sealed stays readable after `encryption_key` is first set).
    DerivedFromSecretKey { current: bool },
    /// The n-th (from 1) of `previous_encryption_keys`.
    Previous(usize),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::EncryptionKey => f.write_str("current (encryption_key)"),
            KeySource::DerivedFromSecretKey { current: true } => {
                f.write_str("current (derived from secret_key)")
            }
            KeySource::DerivedFromSecretKey { current: false } => {
                f.write_str("previous (derived from secret_key)")
            }
            KeySource::Previous(n) => write!(f, "previous (previous_encryption_keys #{n})"),
        }
    }
}

/// Checks each key's format; the reason names the entry, never its value.
fn check_keys(key: &str, keys: &[SecretString], origin: String) -> Result<(), ConfigError> {
    for (i, k) in keys.iter().enumerate() {
        ombud_store::seal::parse_key(k.expose_secret()).map_err(|e| ConfigError::Invalid {
            key: key.to_owned(),
            origin: origin.clone(),
            reason: if keys.len() > 1 || key.starts_with("previous") {
                format!("entry {}: {e}", i + 1)
            } else {
                e.to_string()
            },
        })?;
    }
    Ok(())
}

/// Accepts an address, `"off"` (and friends) or `false`.
fn metrics_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<SocketAddr>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an address such as 127.0.0.1:9090, or \"off\"")
        }

        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            if v {
                Err(E::custom(
                    "`true` names no address; give one such as 127.0.0.1:9090",
                ))
            } else {
                Ok(None)
            }
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_metrics_listen(v).map_err(E::custom)
        }
    }
    d.deserialize_any(Visitor)
}

impl Settings {
    /// Loads the settings from the defaults, the TOML file at `file` (if given; it must
    /// exist), the process's `OMBUD_*` environment variables and `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let value = value.into_string().map_err(|_| ConfigError::NotUnicode {
                var: name.to_owned(),
            })?;
            env.push((name.to_owned(), value));
        }
        Settings::load_from(file, env, overrides)
    }

    /// Like [`Settings::load`], with the environment given as `(name, value)` pairs. Tests use
    /// this: changing the real environment is process-wide and not thread-safe.
    ///
    /// Only `OMBUD_` + an upper-case key is read. Empty values count as unset, as an empty
    /// variable in a compose file usually means "not configured".
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Layer {
            metadata: Metadata::named(DEFAULTS_NAME),
            dict: defaults_dict(),
        });
        if let Some(path) = file {
            figment = figment.merge(file_layer(path)?);
        }
        figment = figment.merge(env_layer(env));

        let raw: Raw = figment.extract().map_err(|e| config_error(&e))?;
        let origin = |key: &str| {
            figment
                .find_metadata(key)
                .map_or(Origin::Defaults, Origin::from_metadata)
        };

        let database_url = resolve_secret(
            "database_url",
            secret_candidates(
                raw.database_url.map(|u| (origin("database_url"), u)),
                raw.database_url_file
                    .map(|p| (origin("database_url_file"), p)),
                overrides.database_url.clone(),
                overrides.database_url_file.clone(),
            ),
        )?;
        if let Some((url, set_in)) = &database_url {
            check_database_url(url.expose_secret()).map_err(|reason| ConfigError::Invalid {
                key: "database_url".to_owned(),
                origin: set_in.clone(),
                reason: reason.to_owned(),
            })?;
        }
        let database_url = database_url.map(|(u, _)| u);
        let api_token = resolve_secret(
            "api_token",
            secret_candidates(
                raw.api_token.map(|t| (origin("api_token"), t)),
                raw.api_token_file.map(|p| (origin("api_token_file"), p)),
                overrides.api_token.clone(),
                None,
            ),
        )?;
        if let Some((token, set_in)) = &api_token
            && token.expose_secret().len() < 16
        {
            return Err(ConfigError::Invalid {
                key: "api_token".to_owned(),
                origin: set_in.clone(),
                reason: "must be at least 16 characters (use a random value, e.g. from `openssl rand -hex 32`)".to_owned(),
            });
        }
        let api_token = api_token.map(|(t, _)| t);
        let secret_key = resolve_secret(
            "secret_key",
            secret_candidates(
                raw.secret_key.map(|t| (origin("secret_key"), t)),
                raw.secret_key_file.map(|p| (origin("secret_key_file"), p)),
                overrides.secret_key.clone(),
                None,
            ),
        )?;
        if let Some((key, set_in)) = &secret_key
            && key.expose_secret().len() < 32
        {
            return Err(ConfigError::Invalid {
                key: "secret_key".to_owned(),
                origin: set_in.clone(),
                reason: "must be at least 32 characters (use a random value, e.g. from `openssl rand -hex 32`)".to_owned(),
            });
        }
        let secret_key = secret_key.map(|(k, _)| k);
        let encryption_key = resolve_secret(
            "encryption_key",
            secret_candidates(
                raw.encryption_key.map(|t| (origin("encryption_key"), t)),
                raw.encryption_key_file
                    .map(|p| (origin("encryption_key_file"), p)),
                None,
                None,
            ),
        )?;
        if let Some((key, set_in)) = &encryption_key {
            check_keys("encryption_key", std::slice::from_ref(key), set_in.clone())?;
        }
        let encryption_key = encryption_key.map(|(k, _)| k);
        let previous_encryption_keys = resolve_secret(
            "previous_encryption_keys",
            secret_candidates(
                raw.previous_encryption_keys.map(|list| {
                    // Kept as one secret text here, split again below: resolve_secret deals in
                    // single values.
                    let joined = list
                        .into_keys()
                        .iter()
                        .map(|k| k.expose_secret().to_owned())
                        .collect::<Vec<_>>()
                        .join(",");
                    (
                        origin("previous_encryption_keys"),
                        SecretString::from(joined),
                    )
                }),
                raw.previous_encryption_keys_file
                    .map(|p| (origin("previous_encryption_keys_file"), p)),
                None,
                None,
            ),
        )?;
        let previous_encryption_keys = match previous_encryption_keys {
            Some((text, set_in)) => {
                let keys = split_keys(text.expose_secret());
                check_keys("previous_encryption_keys", &keys, set_in)?;
                keys
            }
            None => Vec::new(),
        };
        let smtp_password = resolve_secret(
            "smtp_password",
            secret_candidates(
                raw.smtp_password.map(|t| (origin("smtp_password"), t)),
                raw.smtp_password_file
                    .map(|p| (origin("smtp_password_file"), p)),
                None,
                None,
            ),
        )?
        .map(|(p, _)| p);
        let smtp = raw.smtp_host.filter(|h| !h.trim().is_empty()).map(|host| {
            let security = raw
                .smtp_security
                .unwrap_or(ombud_mail::SmtpSecurity::StartTls);
            ombud_mail::SmtpSettings {
                port: raw.smtp_port.unwrap_or(match security {
                    ombud_mail::SmtpSecurity::Tls => 465,
                    ombud_mail::SmtpSecurity::StartTls => 587,
                    ombud_mail::SmtpSecurity::None => 25,
                }),
                host,
                security,
                username: raw.smtp_username.clone(),
                password: smtp_password.clone(),
                from: raw.mail_from.clone().unwrap_or_default(),
                timeout: std::time::Duration::from_secs(20),
            }
        });
        let site_origins = match &overrides.site_origins {
            Some(list) => list.clone(),
            None => raw
                .site_origins
                .as_deref()
                .map(split_list)
                .unwrap_or_default(),
        };
        for o in &site_origins {
            check_origin(o).map_err(|reason| ConfigError::Invalid {
                key: "site_origins".to_owned(),
                origin: if overrides.site_origins.is_some() {
                    Origin::Flags.describe("site_origins")
                } else {
                    origin("site_origins").describe("site_origins")
                },
                reason,
            })?;
        }

        // Where a key's final value came from, given whether a flag set it.
        let winner = |key: &str, flagged: bool| {
            if flagged {
                Origin::Flags.describe(key)
            } else {
                origin(key).describe(key)
            }
        };
        let public_url = match &overrides.public_url {
            Some(u) => Some(u.clone()),
            None => raw.public_url,
        };
        let public_url = public_url
            .map(|u| {
                check_public_url(&u).map_err(|reason| ConfigError::Invalid {
                    key: "public_url".to_owned(),
                    origin: winner("public_url", overrides.public_url.is_some()),
                    reason,
                })
            })
            .transpose()?;

        let log_filter = overrides.log_filter.clone().unwrap_or(raw.log_filter);
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&log_filter) {
            return Err(ConfigError::Invalid {
                key: "log_filter".to_owned(),
                origin: winner("log_filter", overrides.log_filter.is_some()),
                reason: e.to_string(),
            });
        }

        let connections = resolve_connections(raw.connections, &origin("connections"))?;
        Ok(Settings {
            listen: overrides.listen.unwrap_or(raw.listen),
            metrics_listen: match overrides.metrics_listen {
                Some(MetricsListen::Off) => None,
                Some(MetricsListen::At(a)) => Some(a),
                None => raw.metrics_listen,
            },
            data_dir: overrides.data_dir.clone().unwrap_or(raw.data_dir),
            database_url,
            public_url,
            log_format: overrides.log_format.unwrap_or(raw.log_format),
            log_filter,
            site_origins,
            consent_cookie_domain: raw.consent_cookie_domain.filter(|d| !d.trim().is_empty()),
            consent_cookie_name: raw
                .consent_cookie_name
                .unwrap_or_else(|| DEFAULT_CONSENT_COOKIE.to_owned()),
            api_token,
            secret_key,
            encryption_key,
            previous_encryption_keys,
            smtp,
            mail_from: raw.mail_from,
            mail_dir: overrides.mail_dir.clone().or(raw.mail_dir),
            templates_dir: raw.templates_dir,
            unverified_expiry_hours: raw.unverified_expiry_hours.unwrap_or(72),
            repeat_window_days: raw.repeat_window_days.unwrap_or(90),
            reminder_days: raw.reminder_days.unwrap_or(2),
            connections,
            packages_dir: raw.packages_dir,
            package_expiry_hours: raw.package_expiry_hours.unwrap_or(168),
            auto_execute: raw.auto_execute.unwrap_or(true),
        })
    }

    /// The address people reach ombud at, without a trailing slash: `public_url` if set,
    /// otherwise `http://` + the listen address (with `localhost` for a wildcard address,
    /// which no browser can open).
    pub fn public_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let port = self.listen.port();
        match self.listen.ip() {
            ip if ip.is_unspecified() => format!("http://localhost:{port}"),
            IpAddr::V4(ip) => format!("http://{ip}:{port}"),
            IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
        }
    }

    /// The SQLite file used when no database URL is configured.
    pub fn default_sqlite_path(&self) -> PathBuf {
        self.data_dir.join(SQLITE_FILE)
    }

    /// The keys that seal sensitive fields and encrypt packages, with where each comes from,
    /// the current key first: `encryption_key`, or if it is unset a key derived from
    /// `secret_key` (HKDF-SHA256, so the demo and installations without `encryption_key` keep
    /// working); then `previous_encryption_keys`; then, when both `encryption_key` and
    /// `secret_key` are set, the key derived from `secret_key`, so that what was sealed before
    /// `encryption_key` was first set stays readable until `ombud keys rotate` moved it.
    /// Empty when neither `encryption_key` nor `secret_key` is set.
    pub fn keys(&self) -> Result<Vec<(KeySource, Key)>, KeyError> {
        let derived = self
            .secret_key
            .as_ref()
            .map(|s| ombud_store::seal::derive_key(s.expose_secret().as_bytes()))
            .transpose()?;
        let mut keys = Vec::new();
        match (&self.encryption_key, derived) {
            (Some(k), derived) => {
                keys.push((
                    KeySource::EncryptionKey,
                    ombud_store::seal::parse_key(k.expose_secret())?,
                ));
                for (i, k) in self.previous_encryption_keys.iter().enumerate() {
                    keys.push((
                        KeySource::Previous(i + 1),
                        ombud_store::seal::parse_key(k.expose_secret())?,
                    ));
                }
                if let Some(d) = derived {
                    keys.push((KeySource::DerivedFromSecretKey { current: false }, d));
                }
            }
            (None, Some(d)) => {
                keys.push((KeySource::DerivedFromSecretKey { current: true }, d));
                for (i, k) in self.previous_encryption_keys.iter().enumerate() {
                    keys.push((
                        KeySource::Previous(i + 1),
                        ombud_store::seal::parse_key(k.expose_secret())?,
                    ));
                }
            }
            (None, None) => {}
        }
        Ok(keys)
    }

    /// The keyring built from [`Settings::keys`]; `None` without `encryption_key` and
    /// `secret_key` (sensitive fields then cannot be stored, and packages cannot be made).
    pub fn keyring(&self) -> Result<Option<Keyring>, KeyError> {
        let keys = self.keys()?;
        let Some(((_, current), previous)) = keys.split_first() else {
            return Ok(None);
        };
        Keyring::new(&current[..], previous.iter().map(|(_, k)| &k[..])).map(Some)
    }

    /// Opens ombud's store: the configured database URL, or the default SQLite file, and gives
    /// it the keyring ([`Settings::keyring`]) if there is one.
    pub async fn open_store(&self) -> Result<Store, StoreError> {
        let keyring = self.keyring().map_err(|_| {
            StoreError::Invalid("encryption_key or previous_encryption_keys is not a valid key")
        })?;
        let store = match &self.database_url {
            Some(url) => Store::connect(url.expose_secret()).await,
            None => Store::open_sqlite(&self.default_sqlite_path()).await,
        }?;
        if let Some(keyring) = keyring {
            store.set_keyring(keyring);
        }
        Ok(store)
    }

    /// A commented sample configuration showing every key with its default, for
    /// `ombud config example`.
    pub fn example_toml() -> &'static str {
        EXAMPLE_TOML
    }
}

const EXAMPLE_TOML: &str = r#"# ombud runtime configuration (TOML).
#
# Every key is optional; the values below are the defaults. Precedence, lowest first:
#   built-in defaults < this file < OMBUD_* environment variables < command-line flags.
# Each key has an environment variable of its own: OMBUD_LISTEN sets `listen`, and so on.
#
# What the organisation processes (purposes, cookies, retention) is not configured here:
# that is the policy, which lives in git.

# Address of the public HTTP server: privacy notice, banner, privacy centre and API.
listen = "127.0.0.1:8080"

# Address of the Prometheus /metrics endpoint. It has a listener of its own so that metrics
# are never public by accident. "off" serves no metrics.
metrics_listen = "127.0.0.1:9090"

# Folder for ombud's own files. The default database is the SQLite file <data_dir>/ombud.db.
data_dir = "./ombud-data"

# ombud's database, instead of the default SQLite file: sqlite:<path> or postgres://...
# With PostgreSQL any number of ombud nodes can share one database. The URL usually holds a
# password, so prefer OMBUD_DATABASE_URL or database_url_file to writing it here.
# database_url = "postgres://ombud:change-me@db.internal:5432/ombud"

# Read the database URL from this file (e.g. a container secret); surrounding whitespace is
# trimmed. Give either database_url or database_url_file in one place, not both.
# database_url_file = "/run/secrets/ombud-database-url"

# The address people reach ombud at, used in links that ombud sends out.
# Default: http:// + the listen address.
# public_url = "https://privacy.example.com"

# "text" for people, "json" for log collectors.
log_format = "text"

# Which logs to write, in tracing's EnvFilter syntax, e.g. "info,ombud_store=debug".
# RUST_LOG, when set, takes precedence.
log_filter = "info"

# The organisation's websites that show the cookie banner: the only origins allowed to post
# consent from a browser. Comma-separated, each scheme://host[:port].
# site_origins = "https://www.example.com, https://example.com"

# Domain of the consent cookie, so that it covers the site when ombud runs on a subdomain
# (privacy.example.com serving www.example.com). Default: this host only.
# consent_cookie_domain = "example.com"

# Name of the consent cookie.
# consent_cookie_name = "ombud_consent"

# Bearer token for the API (consent records, checks and exports). At least 16 characters.
# Prefer OMBUD_API_TOKEN or api_token_file to writing it here. Without it the API's protected
# routes answer 401.
# api_token_file = "/run/secrets/ombud-api-token"

# The server's secret, at least 32 characters: it keys the hashes of the identity codes the
# privacy centre sends. Prefer OMBUD_SECRET_KEY or secret_key_file.
# secret_key_file = "/run/secrets/ombud-secret-key"

# The key that encrypts sensitive fields (staff TOTP secrets) and export packages at rest:
# 64 hexadecimal characters, e.g. from `openssl rand -hex 32`. Without it, a key is derived
# from secret_key. Prefer OMBUD_ENCRYPTION_KEY or encryption_key_file. To rotate it, see the
# README ("Encryption at rest and key rotation"): the old key goes to previous_encryption_keys
# until `ombud keys rotate` has moved everything, and `ombud keys check` says so.
# encryption_key_file = "/run/secrets/ombud-encryption-key"
# previous_encryption_keys = ["<64 hex characters>"]
# previous_encryption_keys_file = "/run/secrets/ombud-previous-keys"   # one key per line

# The SMTP relay for identity codes and letters. smtp_security: "starttls" (default, port 587),
# "tls" (port 465) or "none" (port 25; only for a relay on the same host or network).
# smtp_host = "smtp.example.com"
# smtp_port = 587
# smtp_security = "starttls"
# smtp_username = "privacy@example.com"
# smtp_password_file = "/run/secrets/ombud-smtp-password"
# mail_from = "Example Privacy <privacy@example.com>"   # default: the policy's rights address

# Without smtp_host, codes and letters are written as files to this folder instead (for
# development and the demo). Default: <data_dir>/mail.
# mail_dir = "./ombud-data/mail"

# Your own versions of the letter templates, as <lang>/<kind>.txt (e.g. da/refusal.txt).
# templates_dir = "./letters"

# Rights requests: hours before an unverified request expires; days in which a second request
# of the same type from the same person is flagged as a possible repeat; working days before a
# due date that the privacy contact point is reminded.
# unverified_expiry_hours = 72
# repeat_window_days = 90
# reminder_days = 2

# Export packages (access and portability requests), encrypted with encryption_key (or the key
# derived from secret_key), are kept here until their download link expires.
# packages_dir = "./ombud-data/packages"
# package_expiry_hours = 168

# Carry out access, portability, erasure and restriction requests as soon as they are verified.
# auto_execute = true

# The organisation's databases, by the connection name the policy's data map gives its systems.
# Prefer OMBUD_CONNECTION_<NAME> (or <name>_file = "/run/secrets/…") to writing passwords here.
# [connections]
# trial_db = "sqlite:///var/lib/ombud/trial.db"
# shop_file = "/run/secrets/shop-database-url"
"#;

fn defaults_dict() -> Dict {
    let d = Settings::default();
    let mut dict = Dict::new();
    dict.insert("listen".into(), Value::from(d.listen.to_string()));
    dict.insert(
        "metrics_listen".into(),
        Value::from(d.metrics_listen.map_or("off".to_owned(), |a| a.to_string())),
    );
    dict.insert(
        "data_dir".into(),
        Value::from(d.data_dir.to_string_lossy().into_owned()),
    );
    dict.insert("log_format".into(), Value::from(d.log_format.as_str()));
    dict.insert("log_filter".into(), Value::from(d.log_filter));
    dict
}

/// Reads and parses the config file up front, so that a missing file or a syntax error gets
/// a message of its own instead of figment's generic one.
fn file_layer(path: &Path) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let dict: Dict = Toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Layer {
        metadata: Metadata::from(FILE_NAME, path),
        dict,
    })
}

/// The `OMBUD_<KEY>` variables for known keys, as strings. Building the table ourselves
/// (rather than with figment's `Env`) keeps values as text: figment would turn
/// `OMBUD_DATA_DIR=2024` into a number and then fail to read it as a path.
fn env_layer(env: impl IntoIterator<Item = (String, String)>) -> Layer {
    let mut dict = Dict::new();
    let mut connections = Dict::new();
    for (name, value) in env {
        if let Some(conn) = name.strip_prefix(CONNECTION_PREFIX) {
            if !value.is_empty() {
                connections.insert(conn.to_ascii_lowercase(), Value::from(value));
            }
            continue;
        }
        let Some(key) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let upper = key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
        let key = key.to_ascii_lowercase();
        if upper && KEYS.contains(&key.as_str()) && !value.is_empty() {
            dict.insert(key, Value::from(value));
        }
    }
    if !connections.is_empty() {
        dict.insert("connections".into(), Value::from(connections));
    }
    Layer {
        metadata: Metadata::named(ENV_NAME),
        dict,
    }
}

/// The prefix of the variables that name the organisation's databases.
const CONNECTION_PREFIX: &str = "OMBUD_CONNECTION_";

/// `[connections]` entries: `name = "url"` or `name_file = "path"` (the URL read from the
/// file, trimmed). Names are lower-case letters, digits and `_`.
fn resolve_connections(
    raw: BTreeMap<String, String>,
    origin: &Origin,
) -> Result<BTreeMap<String, SecretString>, ConfigError> {
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let invalid = |reason: String| ConfigError::Invalid {
            key: format!("connections.{key}"),
            origin: origin.layer(),
            reason,
        };
        let (name, url) = match key.strip_suffix("_file") {
            Some(name) => {
                let text = std::fs::read_to_string(&value)
                    .map_err(|e| invalid(format!("cannot read {value}: {e}")))?;
                (name.to_owned(), text.trim().to_owned())
            }
            None => (key.clone(), value),
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(
                "a connection name is lower-case letters, digits and `_`".to_owned(),
            ));
        }
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        if !["postgres", "postgresql", "mysql", "mariadb", "sqlite"].contains(&scheme) {
            return Err(invalid(
                "must be a postgres://, mysql:// or sqlite: URL".to_owned(),
            ));
        }
        if out.insert(name.clone(), SecretString::from(url)).is_some() {
            return Err(invalid(format!(
                "`{name}` is set both directly and as `{name}_file`"
            )));
        }
    }
    Ok(out)
}

/// Turns figment's first error into ours, naming the key and its layer.
fn config_error(e: &figment::Error) -> ConfigError {
    let origin = e
        .metadata
        .as_ref()
        .map_or(Origin::Defaults, Origin::from_metadata);
    if let figment::error::Kind::UnknownField(key, _) = &e.kind {
        return ConfigError::UnknownKey {
            key: key.clone(),
            origin: origin.describe(key),
        };
    }
    let key = e.path.join(".");
    let reason = match &e.kind {
        _ if key == "previous_encryption_keys" => {
            "must be a list of keys, or one text with keys separated by commas".to_owned()
        }
        _ if SECRET_KEYS.contains(&key.as_str()) => "must be a text value".to_owned(),
        // figment's own wording of this one nests backticks.
        figment::error::Kind::UnknownVariant(found, expected) => {
            format!("found `{found}`, expected one of: {}", expected.join(", "))
        }
        other => other.to_string(),
    };
    ConfigError::Invalid {
        origin: origin.describe(&key),
        key,
        reason,
    }
}

/// One way a secret was given: inline, or as a file to read it from.
enum SecretSource {
    Value(SecretString),
    File(PathBuf),
}

/// A secret key (`database_url`, `api_token`) and its `_file` twin are two ways of giving one
/// setting, so the one given at the higher layer wins, like any other key. One layer giving
/// both is an error rather than a guess. Returns the secret and where it was set.
fn resolve_secret(
    key: &'static str,
    candidates: Vec<(Origin, SecretSource)>,
) -> Result<Option<(SecretString, String)>, ConfigError> {
    let Some(top) = candidates.iter().map(|(o, _)| o).max().cloned() else {
        return Ok(None);
    };
    let mut at_top: Vec<_> = candidates.into_iter().filter(|(o, _)| *o == top).collect();
    if at_top.len() > 1 {
        return Err(ConfigError::ConflictingSecret {
            key,
            origin: top.layer(),
        });
    }
    let Some((origin, source)) = at_top.pop() else {
        return Ok(None);
    };
    Ok(Some(match source {
        SecretSource::Value(v) => (v, origin.describe(key)),
        SecretSource::File(path) => (
            read_secret(key, &path, &origin)?,
            origin.describe(&format!("{key}_file")),
        ),
    }))
}

/// The candidates for a secret from the raw layers and the flags.
fn secret_candidates(
    value: Option<(Origin, SecretString)>,
    file: Option<(Origin, PathBuf)>,
    flag_value: Option<SecretString>,
    flag_file: Option<PathBuf>,
) -> Vec<(Origin, SecretSource)> {
    [
        value.map(|(o, v)| (o, SecretSource::Value(v))),
        file.map(|(o, p)| (o, SecretSource::File(p))),
        flag_value.map(|v| (Origin::Flags, SecretSource::Value(v))),
        flag_file.map(|p| (Origin::Flags, SecretSource::File(p))),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A comma- or whitespace-separated list.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An origin is `scheme://host[:port]`, nothing more: it is compared byte for byte with the
/// browser's `Origin` header.
fn check_origin(o: &str) -> Result<(), String> {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or_else(|| format!("`{o}` must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err(format!(
            "`{o}` must be scheme://host[:port], without a path or a trailing slash"
        ));
    }
    Ok(())
}

fn read_secret(
    key: &'static str,
    path: &Path,
    origin: &Origin,
) -> Result<SecretString, ConfigError> {
    let error = |source| ConfigError::ReadSecret {
        key,
        path: path.to_owned(),
        origin: origin.describe(&format!("{key}_file")),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(error)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is empty",
        )));
    }
    Ok(SecretString::from(trimmed))
}

/// The store checks URLs again when connecting; checking the scheme here reports a mistake
/// at start-up with the key and its source, before anything is opened.
fn check_database_url(url: &str) -> Result<(), &'static str> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|p| url.starts_with(p)) {
        Ok(())
    } else {
        Err("must start with sqlite:, postgres:// or postgresql://")
    }
}

fn check_public_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "must start with http:// or https://".to_owned())?;
    if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
        return Err(
            "must be an absolute URL with a host, such as https://privacy.example.com".to_owned(),
        );
    }
    if rest.contains(['?', '#']) {
        return Err("must not have a query or a fragment".to_owned());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(
        file: Option<&Path>,
        env: &[(&str, &str)],
        o: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::load_from(file, env, o)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = load(None, &[], &Overrides::default()).unwrap();
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert_eq!(s.metrics_listen, Some(DEFAULT_METRICS_LISTEN));
        assert_eq!(s.data_dir, PathBuf::from("./ombud-data"));
        assert!(s.database_url.is_none());
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.default_sqlite_path(), Path::new("./ombud-data/ombud.db"));
    }

    #[test]
    fn redact_url_keeps_only_the_scheme() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres:[redacted]");
        assert_eq!(redact_url("u:pw@h/db"), "u:[redacted]");
        assert_eq!(redact_url("pw@h:5432"), "[redacted]");
        assert_eq!(redact_url(""), "[redacted]");
    }

    #[test]
    fn metrics_listen_off_forms() {
        for off in ["off", "none", "false", "disabled"] {
            let s = load(
                None,
                &[("OMBUD_METRICS_LISTEN", off)],
                &Overrides::default(),
            )
            .unwrap();
            assert_eq!(s.metrics_listen, None, "{off}");
        }
        assert_eq!("off".parse::<MetricsListen>(), Ok(MetricsListen::Off));
        assert!("nope".parse::<MetricsListen>().is_err());
    }

    #[test]
    fn env_keys_must_be_upper_case_and_known() {
        let s = load(
            None,
            &[("OMBUD_listen", "0.0.0.0:1"), ("OMBUD_CONFIG", "x.toml")],
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.listen, DEFAULT_LISTEN);
    }

    #[test]
    fn public_url_is_checked_and_trimmed() {
        let o = Overrides {
            public_url: Some("https://privacy.example.com/".to_owned()),
            ..Overrides::default()
        };
        assert_eq!(
            load(None, &[], &o).unwrap().public_url(),
            "https://privacy.example.com"
        );
        let err = load(
            None,
            &[("OMBUD_PUBLIC_URL", "privacy.example.com")],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`public_url`") && err.contains("OMBUD_PUBLIC_URL"),
            "{err}"
        );
    }

    #[test]
    fn wildcard_listen_derives_a_localhost_public_url() {
        let o = Overrides {
            listen: Some("0.0.0.0:8000".parse().unwrap()),
            ..Overrides::default()
        };
        assert_eq!(
            load(None, &[], &o).unwrap().public_url(),
            "http://localhost:8000"
        );
    }

    #[test]
    fn bad_log_filter_is_reported_with_its_key() {
        let err = load(
            None,
            &[("OMBUD_LOG_FILTER", "info,[[[")],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`log_filter`") && err.contains("OMBUD_LOG_FILTER"),
            "{err}"
        );
    }

    const KEY_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    const KEY_B: &str = "B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2";
    const SECRET: &str = "a server secret of at least thirty-two characters";

    fn ids(s: &Settings) -> Vec<ombud_store::KeyId> {
        s.keyring().unwrap().map(|k| k.ids()).unwrap_or_default()
    }

    #[test]
    fn encryption_keys_come_from_env_files_and_toml() {
        use ombud_store::KeyId;
        let none = Overrides::default();
        let s = load(
            None,
            &[
                ("OMBUD_ENCRYPTION_KEY", KEY_B),
                (
                    "OMBUD_PREVIOUS_ENCRYPTION_KEYS",
                    &format!("{KEY_A}, {KEY_A}"),
                ),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(
            ids(&s),
            vec![KeyId::of(&[0xb2; 32]), KeyId::of(&[0xa1; 32])],
            "current first, repeats kept once"
        );
        assert_eq!(s.previous_encryption_keys.len(), 2);

        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, format!("{KEY_A}\n")).unwrap();
        let previous_file = dir.path().join("previous");
        std::fs::write(&previous_file, format!("{KEY_B}\n{KEY_A}\n")).unwrap();
        let toml = dir.path().join("ombud.toml");
        std::fs::write(
            &toml,
            format!(
                "encryption_key_file = \"{}\"\nprevious_encryption_keys = [\"{KEY_B}\"]\n",
                key_file.display()
            ),
        )
        .unwrap();
        let s = load(Some(&toml), &[], &none).unwrap();
        assert_eq!(
            ids(&s),
            vec![KeyId::of(&[0xa1; 32]), KeyId::of(&[0xb2; 32])]
        );
        // The environment's file beats the TOML list.
        let s = load(
            Some(&toml),
            &[(
                "OMBUD_PREVIOUS_ENCRYPTION_KEYS_FILE",
                previous_file.to_str().unwrap(),
            )],
            &none,
        )
        .unwrap();
        assert_eq!(s.previous_encryption_keys.len(), 2);
        // Both forms in one layer: an error, as for every secret.
        let err = load(
            None,
            &[
                ("OMBUD_ENCRYPTION_KEY", KEY_A),
                ("OMBUD_ENCRYPTION_KEY_FILE", key_file.to_str().unwrap()),
            ],
            &none,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::ConflictingSecret {
                key: "encryption_key",
                ..
            }
        ));
    }

    #[test]
    fn malformed_encryption_keys_are_named_without_their_value() {
        let none = Overrides::default();
        for (env, key, var) in [
            (
                "OMBUD_ENCRYPTION_KEY",
                "`encryption_key`",
                "OMBUD_ENCRYPTION_KEY",
            ),
            (
                "OMBUD_PREVIOUS_ENCRYPTION_KEYS",
                "`previous_encryption_keys`",
                "OMBUD_PREVIOUS_ENCRYPTION_KEYS",
            ),
        ] {
            for bad in [
                "0123456789abcdef",
                "zz-not-hex-zz-not-hex-zz-not-hex-zz-not-hex-zz-not-hex-zz-not-he",
            ] {
                let err = load(None, &[(env, bad)], &none).unwrap_err().to_string();
                assert!(err.contains(key) && err.contains(var), "{err}");
                assert!(err.contains("openssl rand -hex 32"), "{err}");
                assert!(!err.contains(bad), "the value is not quoted: {err}");
            }
        }
        let err = load(
            None,
            &[(
                "OMBUD_PREVIOUS_ENCRYPTION_KEYS",
                &format!("{KEY_A},{}", &KEY_B[..60]),
            )],
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("entry 2"), "{err}");
        // A TOML value of the wrong type.
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("ombud.toml");
        std::fs::write(&toml, "previous_encryption_keys = 5\n").unwrap();
        let err = load(Some(&toml), &[], &none).unwrap_err().to_string();
        assert!(err.contains("`previous_encryption_keys`"), "{err}");
    }

    #[test]
    fn without_encryption_key_the_key_is_derived_from_secret_key() {
        use ombud_store::KeyId;
        let none = Overrides::default();
        let s = load(None, &[], &none).unwrap();
        assert!(s.keyring().unwrap().is_none(), "no secret, no key");
        assert!(s.keys().unwrap().is_empty());

        let derived = KeyId::of(&ombud_store::seal::derive_key(SECRET.as_bytes()).unwrap()[..]);
        let s = load(None, &[("OMBUD_SECRET_KEY", SECRET)], &none).unwrap();
        assert_eq!(ids(&s), vec![derived]);
        assert_eq!(
            s.keys().unwrap()[0].0,
            KeySource::DerivedFromSecretKey { current: true }
        );
        // Stable across loads: what the demo sealed yesterday opens today.
        let again = load(None, &[("OMBUD_SECRET_KEY", SECRET)], &none).unwrap();
        assert_eq!(ids(&again), vec![derived]);

        // Setting encryption_key later keeps the derived key as a previous one.
        let s = load(
            None,
            &[
                ("OMBUD_SECRET_KEY", SECRET),
                ("OMBUD_ENCRYPTION_KEY", KEY_A),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(ids(&s), vec![KeyId::of(&[0xa1; 32]), derived]);
        let sources: Vec<String> = s
            .keys()
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(
            sources,
            [
                "current (encryption_key)",
                "previous (derived from secret_key)"
            ]
        );
    }

    #[test]
    fn encryption_keys_are_redacted_in_debug() {
        let s = load(
            None,
            &[
                ("OMBUD_ENCRYPTION_KEY", KEY_A),
                ("OMBUD_PREVIOUS_ENCRYPTION_KEYS", KEY_B),
            ],
            &Overrides::default(),
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(
            debug.contains("encryption_key: Some([redacted])"),
            "{debug}"
        );
        assert!(
            debug.contains("previous_encryption_keys: [[redacted]]"),
            "{debug}"
        );
        assert!(
            !debug.contains("a1a1") && !debug.to_lowercase().contains("b2b2"),
            "{debug}"
        );
        let keyring = format!("{:?}", s.keyring().unwrap().unwrap());
        assert!(!keyring.contains("a1a1"), "{keyring}");
    }
}
