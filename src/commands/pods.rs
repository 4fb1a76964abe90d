//! The incident commands of the command line: `store logs`, `store wp` and
//! `doctor`. Thin: the work is in `incident` (audited), `cluster::pods` and
//! `doctor`; here are the store lookup, the output and the exit codes.

use super::{exit, resolve};
use crate::cluster::pods::{self, LogRequest, PodsError};
use crate::config::Settings;
use crate::incident::{self, IncidentError, Target};
use crate::store::Via;
use crate::text::for_terminal;
use color_eyre::eyre::Result;
use futures::StreamExt;
use sqlx::PgPool;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn pods_exit(e: &PodsError) -> u8 {
    match e {
        PodsError::NoNamespace { .. } | PodsError::NoTarget(_) | PodsError::NoSuch { .. } => {
            exit::NOT_FOUND
        }
        PodsError::NotOwned { .. } => exit::CONFLICT,
        PodsError::Refused(_) => exit::INVALID,
        _ => exit::ERROR,
    }
}

fn incident_exit(e: &IncidentError) -> u8 {
    match e {
        IncidentError::Pods(p) => pods_exit(p),
        IncidentError::Audit(_) => exit::UNAVAILABLE,
    }
}

/// `store logs STORE [--container C] [--follow] [--previous] [--tail N]`.
pub async fn logs(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    req: LogRequest,
    list: bool,
    actor: Option<String>,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = crate::runtime::actor(actor, Via::Cli);
    let client = crate::cluster::streaming_client(settings).await?;
    let target = Target::of(&s);
    if list {
        return match pods::containers(&client, &target.store).await {
            Ok(list) => {
                println!(
                    "{:<40} {:<16} {:<5} {:<6} {:<9} STATE",
                    "POD", "CONTAINER", "INIT", "READY", "RESTARTS"
                );
                for c in list {
                    println!(
                        "{:<40} {:<16} {:<5} {:<6} {:<9} {}",
                        c.pod,
                        c.container,
                        if c.init { "yes" } else { "" },
                        c.ready,
                        c.restarts,
                        c.state
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(pods_exit(&e)))
            }
        };
    }
    let (_, mut lines) = match incident::logs(pool, &client, &actor, &target, &req).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(incident_exit(&e)));
        }
    };
    // The store writes these bytes: on a terminal its controls are shown.
    let tty = std::io::stdout().is_terminal();
    while let Some(line) = lines.next().await {
        match line {
            Ok(l) => {
                let mut out = std::io::stdout().lock();
                // A closed pipe (`| head`) ends the command quietly.
                if writeln!(out, "{}", for_terminal(&l, tty)).is_err() {
                    return Ok(ExitCode::SUCCESS);
                }
                if req.follow {
                    let _ = out.flush();
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(exit::ERROR));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `store wp STORE [--read-only | --unsafe] -- <wp args>`.
pub async fn wp(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    args: &[String],
    mode: pods::ShellMode,
    json: bool,
    actor: Option<String>,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let engine = s.engine.spec();
    if engine.shell.as_ref().map(|sh| sh.name) != Some("wp") {
        // The engine whose shell `wp` is, for the message.
        let wp_engine = crate::engines::shell("wp").map_or("no", |(e, _)| e.title);
        let e = crate::engine::EngineError::Invalid {
            field: "engine",
            message: format!(
                "`store wp` is the incident shell of {wp_engine} stores; {} is {} (its login is revealed in the dashboard or by POST /api/stores/ID/credentials)",
                s.name,
                engine.no_shell(&s.url)
            ),
        };
        return Ok(super::report(e, json));
    }
    let actor = crate::runtime::actor(actor, Via::Cli);
    let client = crate::cluster::streaming_client(settings).await?;
    match incident::wp(pool, &client, &actor, &Target::of(&s), args, mode).await {
        Ok(out) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                // What wp printed is the store's: on a terminal its
                // controls are shown, not obeyed.
                let (tty_out, tty_err) = (
                    std::io::stdout().is_terminal(),
                    std::io::stderr().is_terminal(),
                );
                print!("{}", for_terminal(&out.stdout, tty_out));
                eprint!("{}", for_terminal(&out.stderr, tty_err));
                if let (false, Some(m)) = (out.success, &out.message) {
                    eprintln!("error: {}", for_terminal(m, tty_err));
                }
            }
            Ok(if out.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::ERROR)
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(incident_exit(&e)))
        }
    }
}

/// `doctor [--json]`: exit 0 when nothing failed, 1 otherwise.
pub async fn doctor(settings: &Settings, json: bool, replicas: u32) -> ExitCode {
    let report = crate::doctor::run(settings, replicas).await;
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(t) => println!("{t}"),
            Err(e) => eprintln!("error: cannot encode the report: {e}"),
        }
    } else {
        print!("{}", report.render());
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::ERROR)
    }
}
