//! Logging: the console owns the terminal, so it logs to a rolling file in
//! the XDG state dir; everything else logs to stderr (text or JSON).

use crate::config::Settings;
use color_eyre::eyre::{Result, WrapErr};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

pub enum Target {
    File,
    Stderr,
}

/// Keep the guard alive for the life of the program: dropping it flushes.
pub fn init(settings: &Settings, target: Target) -> Result<Option<WorkerGuard>> {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!("store_weaver={},warn", settings.log_level.as_str()))
    });
    let json = settings.log_format == crate::config::LogFormat::Json;
    match target {
        Target::File => {
            let log_dir = settings.log_dir();
            std::fs::create_dir_all(&log_dir).wrap_err_with(|| {
                format!("cannot create the log directory {}", log_dir.display())
            })?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("store-weaver")
                .filename_suffix("log")
                .max_log_files(7)
                .build(&log_dir)
                .wrap_err("cannot open the log file")?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let builder = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(writer)
                .with_ansi(false);
            let res = if json {
                builder.json().try_init()
            } else {
                builder.try_init()
            };
            res.map_err(|e| color_eyre::eyre::eyre!("cannot start logging: {e}"))?;
            Ok(Some(guard))
        }
        Target::Stderr => {
            let builder = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr);
            let res = if json {
                builder.json().try_init()
            } else {
                builder.try_init()
            };
            res.map_err(|e| color_eyre::eyre::eyre!("cannot start logging: {e}"))?;
            Ok(None)
        }
    }
}
