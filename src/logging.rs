//! Logging: the console owns the terminal, so it logs to a rolling file in
//! the XDG state dir; everything else logs to stderr (text or JSON).
//!
//! On stderr every line goes through [`sink::Sink`]: appended to a buffer
//! and written by a thread of its own, so a request never waits for the
//! write (or for a slow reader of stderr). `--serve`'s access log
//! (`serve::access`) writes into the same sink, so its lines and the others
//! never interleave mid-line.

pub mod sink;

use crate::config::Settings;
use color_eyre::eyre::{Result, WrapErr};
use std::sync::OnceLock;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

static STDERR: OnceLock<sink::Sink> = OnceLock::new();

/// The stderr sink, once `init` has set it up (`None` in tests that run the
/// server in-process: their access lines go nowhere).
pub fn stderr_sink() -> Option<sink::Sink> {
    STDERR.get().cloned()
}

/// Keeps logging's writer thread; dropping it writes what is left.
pub enum Guard {
    File(WorkerGuard),
    Stderr(sink::SinkGuard),
}

pub enum Target {
    File,
    Stderr,
}

/// Keep the guard alive for the life of the program: dropping it flushes.
pub fn init(settings: &Settings, target: Target) -> Result<Guard> {
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
            Ok(Guard::File(guard))
        }
        Target::Stderr => {
            let (writer, guard) = sink::Sink::spawn(std::io::stderr())
                .wrap_err("cannot start the log writer thread")?;
            let _ = STDERR.set(writer.clone());
            let builder = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(writer);
            let res = if json {
                builder.json().try_init()
            } else {
                builder.try_init()
            };
            res.map_err(|e| color_eyre::eyre::eyre!("cannot start logging: {e}"))?;
            Ok(Guard::Stderr(guard))
        }
    }
}
