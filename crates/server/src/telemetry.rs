//! Logging set-up for the binary.
//!
//! What gets logged is decided where requests are observed (`middleware.rs`): method, matched
//! route, status and latency. This module only decides the format and the filter.

use tracing_subscriber::EnvFilter;

use crate::ServerError;
use crate::config::{LogFormat, Settings};

/// Installs the global `tracing` subscriber: text or JSON lines on stderr (stdout stays free
/// for command output), filtered by `RUST_LOG` when it is set and by `log_filter` otherwise.
///
/// `RUST_LOG` wins because it is what a developer reaches for while debugging, without
/// editing the deployment's configuration.
pub fn init_tracing(settings: &Settings) -> Result<(), ServerError> {
    let (var, directives) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => ("RUST_LOG", v),
        _ => ("log_filter", settings.log_filter.clone()),
    };
    let filter = EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| ServerError::LogFilter {
            var,
            reason: e.to_string(),
        })?;
    // Colours only for a person at a terminal; a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let installed = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(ServerError::Tracing)
}
