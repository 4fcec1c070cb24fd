//! Settings: layering, secrets and error messages.

use std::path::{Path, PathBuf};

use ombud_server::{ConfigError, LogFormat, MetricsListen, Overrides, Settings};
use secrecy::{ExposeSecret, SecretString};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load(
    file: Option<&Path>,
    pairs: &[(&str, &str)],
    overrides: &Overrides,
) -> Result<Settings, ConfigError> {
    Settings::load_from(file, env(pairs), overrides)
}

#[test]
fn file_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ombud.toml",
        "listen = \"0.0.0.0:8000\"\nlog_format = \"json\"\nmetrics_listen = \"off\"\n",
    );
    let s = load(Some(&file), &[], &Overrides::default()).unwrap();
    assert_eq!(s.listen, "0.0.0.0:8000".parse().unwrap());
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.metrics_listen, None);
    // Untouched keys keep their defaults.
    assert_eq!(s.data_dir, PathBuf::from("./ombud-data"));
    assert_eq!(s.log_filter, "info");
}

#[test]
fn env_overrides_file_and_flags_override_env() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ombud.toml",
        "listen = \"0.0.0.0:8000\"\ndata_dir = \"/from/file\"\nlog_filter = \"warn\"\n",
    );
    let vars = [
        ("OMBUD_LISTEN", "127.0.0.1:7000"),
        ("OMBUD_DATA_DIR", "/from/env"),
        ("OMBUD_METRICS_LISTEN", "127.0.0.1:7001"),
    ];
    let s = load(Some(&file), &vars, &Overrides::default()).unwrap();
    assert_eq!(s.listen, "127.0.0.1:7000".parse().unwrap());
    assert_eq!(s.data_dir, PathBuf::from("/from/env"));
    assert_eq!(s.metrics_listen, Some("127.0.0.1:7001".parse().unwrap()));
    assert_eq!(s.log_filter, "warn", "from the file");

    let flags = Overrides {
        listen: Some("127.0.0.1:6000".parse().unwrap()),
        metrics_listen: Some(MetricsListen::Off),
        ..Overrides::default()
    };
    let s = load(Some(&file), &vars, &flags).unwrap();
    assert_eq!(s.listen, "127.0.0.1:6000".parse().unwrap());
    assert_eq!(s.metrics_listen, None);
    assert_eq!(s.data_dir, PathBuf::from("/from/env"));
}

#[test]
fn database_url_file_is_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(
        dir.path(),
        "db-url",
        "  postgres://ombud:s3cret@db.internal/ombud\n\n",
    );
    let s = load(
        None,
        &[("OMBUD_DATABASE_URL_FILE", secret.to_str().unwrap())],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        s.database_url.as_ref().unwrap().expose_secret(),
        "postgres://ombud:s3cret@db.internal/ombud"
    );
}

#[test]
fn the_higher_layer_wins_between_database_url_and_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "db-url", "postgres://from-secret-file/db");
    let file = write(
        dir.path(),
        "ombud.toml",
        "database_url = \"postgres://from-config-file/db\"\n",
    );
    let s = load(
        Some(&file),
        &[("OMBUD_DATABASE_URL_FILE", secret.to_str().unwrap())],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        s.database_url.unwrap().expose_secret(),
        "postgres://from-secret-file/db"
    );

    let flags = Overrides {
        database_url: Some(SecretString::from("sqlite:/from/flag.db")),
        ..Overrides::default()
    };
    let s = load(
        Some(&file),
        &[("OMBUD_DATABASE_URL_FILE", secret.to_str().unwrap())],
        &flags,
    )
    .unwrap();
    assert_eq!(
        s.database_url.unwrap().expose_secret(),
        "sqlite:/from/flag.db"
    );
}

#[test]
fn database_url_and_its_file_in_one_layer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "db-url", "postgres://h/db");
    let err = load(
        None,
        &[
            ("OMBUD_DATABASE_URL", "postgres://h/db"),
            ("OMBUD_DATABASE_URL_FILE", secret.to_str().unwrap()),
        ],
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::ConflictingSecret { .. }),
        "{err}"
    );
}

#[test]
fn debug_never_shows_the_database_password() {
    let s = load(
        None,
        &[
            ("OMBUD_DATABASE_URL", "postgres://u:pw-4711@host/db"),
            ("OMBUD_SECRET_KEY", "key-0815-key-0815-key-0815-key-0815"),
        ],
        &Overrides::default(),
    )
    .unwrap();
    let debug = format!("{s:?}");
    assert!(!debug.contains("pw-4711"), "{debug}");
    assert!(!debug.contains("key-0815"), "{debug}");
    assert!(!debug.contains("host"), "{debug}");
    assert!(debug.contains("postgres:[redacted]"), "{debug}");
    assert!(debug.contains("listen"), "{debug}");
}

#[test]
fn errors_name_the_key_and_where_it_was_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "listen = \"not an address\"\n");
    let err = load(Some(&file), &[], &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`listen`"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");

    let err = load(None, &[("OMBUD_LISTEN", "nope")], &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`listen`"), "{err}");
    assert!(err.contains("OMBUD_LISTEN"), "{err}");

    let err = load(None, &[("OMBUD_LOG_FORMAT", "xml")], &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`log_format`") && err.contains("OMBUD_LOG_FORMAT"),
        "{err}"
    );
}

#[test]
fn a_bad_database_url_is_reported_without_its_value() {
    let err = load(
        None,
        &[("OMBUD_DATABASE_URL", "mysql://u:hunter2@h/db")],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`database_url`") && err.contains("OMBUD_DATABASE_URL"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn unknown_keys_missing_files_and_bad_toml_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "typo.toml", "lisen = \"0.0.0.0:1\"\n");
    let err = load(Some(&file), &[], &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`lisen`") && err.contains("typo.toml"),
        "{err}"
    );

    let missing = dir.path().join("missing.toml");
    let err = load(Some(&missing), &[], &Overrides::default()).unwrap_err();
    assert!(matches!(err, ConfigError::ReadFile { .. }), "{err}");

    let file = write(dir.path(), "broken.toml", "listen = \n");
    let err = load(Some(&file), &[], &Overrides::default()).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");

    let secret = dir.path().join("no-such-secret");
    let err = load(
        None,
        &[("OMBUD_DATABASE_URL_FILE", secret.to_str().unwrap())],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("OMBUD_DATABASE_URL_FILE"), "{err}");
}

#[test]
fn the_example_config_parses_to_the_defaults_and_names_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "example.toml", Settings::example_toml());
    let from_example = load(Some(&file), &[], &Overrides::default()).unwrap();
    let defaults = Settings::default();
    assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));

    for key in [
        "listen",
        "metrics_listen",
        "data_dir",
        "database_url",
        "database_url_file",
        "public_url",
        "log_format",
        "log_filter",
    ] {
        assert!(
            Settings::example_toml().contains(&format!("\n{key} = "))
                || Settings::example_toml().contains(&format!("\n# {key} = ")),
            "the example shows `{key}`"
        );
    }
}

#[test]
fn connections_come_from_the_file_the_environment_and_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "shop-url", "postgres://shop:pw-shop@db/shop\n");
    let file = write(
        dir.path(),
        "ombud.toml",
        &format!(
            "[connections]\ntrial_db = \"sqlite:///tmp/trial.db\"\nshop_file = \"{}\"\n",
            secret.display()
        ),
    );
    let s = load(
        Some(&file),
        &[("OMBUD_CONNECTION_CRM", "mysql://crm:pw-crm@h/crm")],
        &Overrides::default(),
    )
    .unwrap();
    let urls: Vec<(&str, &str)> = s
        .connections
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose_secret()))
        .collect();
    assert_eq!(
        urls,
        [
            ("crm", "mysql://crm:pw-crm@h/crm"),
            ("shop", "postgres://shop:pw-shop@db/shop"),
            ("trial_db", "sqlite:///tmp/trial.db"),
        ]
    );
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("pw-") && debug.contains("trial_db"),
        "{debug}"
    );
}

#[test]
fn a_connection_that_is_not_a_database_url_is_refused() {
    let err = load(
        None,
        &[("OMBUD_CONNECTION_SHOP", "https://user:pw-x@example.com")],
        &Overrides::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("connections.shop") && !text.contains("pw-x"),
        "{text}"
    );
}
