//! The incident commands of the command line: `store logs`, `store wp` and
//! `doctor`. Thin: the work is in `cluster::pods` and `doctor`; here are the
//! store lookup, the audit entries and the exit codes.

use crate::cluster::pods::{self, LogRequest, PodsError, StoreRef};
use crate::commands::{exit, resolve};
use crate::config::Settings;
use crate::db::audit;
use crate::store::{Actor, Store, Via};
use color_eyre::eyre::Result;
use futures::StreamExt;
use sqlx::PgPool;
use std::io::Write;
use std::process::ExitCode;

/// What the cluster side needs to know about a store.
pub fn store_ref(s: &Store) -> StoreRef {
    StoreRef {
        id: s.id,
        namespace: s.namespace.clone(),
        // The engine records the namespace uid (migration 0003); until the
        // store carries it here, ownership rests on the store-id label.
        namespace_uid: None,
    }
}

fn pods_exit(e: &PodsError) -> u8 {
    match e {
        PodsError::NoNamespace { .. } | PodsError::NoTarget(_) => exit::NOT_FOUND,
        PodsError::NotOwned { .. } => exit::CONFLICT,
        PodsError::Refused(_) => exit::INVALID,
        _ => exit::ERROR,
    }
}

async fn record(
    pool: &PgPool,
    actor: &Actor,
    action: &str,
    s: &Store,
    outcome: &str,
    detail: &str,
) -> bool {
    let r = audit::Record {
        actor,
        action,
        store_id: Some(s.id),
        store_name: Some(&s.name),
        outcome,
        detail: Some(detail),
    };
    match audit::record(pool, &r).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("warning: the audit entry could not be written: {e}");
            false
        }
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
    let store = store_ref(&s);
    if list {
        return match pods::containers(&client, &store).await {
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
    let (target, mut lines) = match pods::log_lines(&client, &store, &req).await {
        Ok(x) => x,
        Err(e) => {
            record(pool, &actor, "store.logs", &s, "failed", &e.to_string()).await;
            eprintln!("error: {e}");
            return Ok(ExitCode::from(pods_exit(&e)));
        }
    };
    let detail = format!(
        "{}/{}{}{}{}",
        target.pod,
        target.container,
        if req.previous { ", previous" } else { "" },
        if req.follow { ", follow" } else { "" },
        req.tail.map(|n| format!(", last {n}")).unwrap_or_default()
    );
    record(pool, &actor, "store.logs", &s, "ok", &detail).await;
    while let Some(line) = lines.next().await {
        match line {
            Ok(l) => {
                let mut out = std::io::stdout().lock();
                // A closed pipe (`| head`) ends the command quietly.
                if writeln!(out, "{l}").is_err() {
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

/// `store wp STORE [--read-only] -- <wp args>`.
pub async fn wp(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    args: &[String],
    read_only: bool,
    json: bool,
    actor: Option<String>,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = crate::runtime::actor(actor, Via::Cli);
    let shown = pods::wp_command_for_audit(args, &pods::Masker::default());
    if let Err(why) = pods::check_wp_command(args, read_only) {
        record(
            pool,
            &actor,
            "store.wp",
            &s,
            "refused",
            &format!("{shown}: {why}"),
        )
        .await;
        eprintln!("error: {why}");
        return Ok(ExitCode::from(exit::INVALID));
    }
    // Written down before it runs (wp can change the store): nothing runs
    // that is not on record. The outcome is a second entry.
    if !record(pool, &actor, "store.wp", &s, "accepted", &shown).await {
        eprintln!("error: not running wp without an audit entry");
        return Ok(ExitCode::from(exit::UNAVAILABLE));
    }
    let client = crate::cluster::streaming_client(settings).await?;
    let store = store_ref(&s);
    let result = pods::run_wp(&client, &store, args, read_only).await;
    match result {
        Ok(out) => {
            let outcome = if out.success { "ok" } else { "failed" };
            let code = out
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default();
            record(
                pool,
                &actor,
                "store.wp",
                &s,
                outcome,
                &format!("{shown}{code} in {}", out.pod),
            )
            .await;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", out.stdout);
                eprint!("{}", out.stderr);
                if let (false, Some(m)) = (out.success, &out.message) {
                    eprintln!("error: {m}");
                }
            }
            Ok(if out.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::ERROR)
            })
        }
        Err(e) => {
            record(
                pool,
                &actor,
                "store.wp",
                &s,
                "failed",
                &format!("{shown}: {e}"),
            )
            .await;
            eprintln!("error: {e}");
            Ok(ExitCode::from(pods_exit(&e)))
        }
    }
}

/// `doctor [--json]`: exit 0 when nothing failed, 1 otherwise.
pub async fn doctor(settings: &Settings, json: bool) -> ExitCode {
    let report = crate::doctor::run(settings).await;
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
