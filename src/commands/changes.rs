//! `store upgrade|set|rollback|history` and `fleet ...`: changing running
//! stores from scripts. Output is text or `--json`; exit codes as elsewhere.

use super::args::FleetCommand;
use super::{exit, print_store, report, resolve};
use crate::config::Settings;
use crate::db::fleet::RunState;
use crate::engine::changes::{self, UpgradeRequest};
use crate::engine::fleet::{self, FleetDetail, FleetRequest};
use crate::engine::{EngineConfig, EngineError};
use crate::runtime::{self, Runtime};
use crate::store::{EngineKind, Phase, Status, Via};
use color_eyre::eyre::Result;
use sqlx::PgPool;
use std::process::ExitCode;
use std::time::Duration;
use uuid::Uuid;

/// What a store change asks for.
pub enum Change {
    Upgrade(UpgradeRequest),
    Rollback(Option<u32>),
}

pub async fn change(
    settings: Settings,
    pool: &PgPool,
    key: &str,
    change: Change,
    wait: bool,
    json: bool,
    actor: Option<String>,
) -> Result<ExitCode> {
    let store = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let cfg = EngineConfig::from_settings(&settings);
    let actor = runtime::actor(actor, Via::Cli);
    let res = match &change {
        Change::Upgrade(req) => {
            // No cluster configured: the worker checks sizes against the namespace.
            let cluster = crate::cluster::client(&settings).await.ok();
            changes::upgrade(pool, &cfg, cluster.as_ref(), &actor, store.id, req).await
        }
        Change::Rollback(rev) => changes::rollback(pool, &actor, store.id, *rev).await,
    };
    let store = match res {
        Ok(s) => s,
        Err(e) => return Ok(report(e, json)),
    };
    if !wait {
        print_store(&store, json);
        return Ok(ExitCode::SUCCESS);
    }
    let op_before = last_op(pool, store.id).await;
    let timeout = settings.upgrade_timeout * 3 + Duration::from_secs(120);
    let rt = Runtime::start(settings, true).await?;
    let res =
        runtime::wait_for_store(&rt.pool, store.id, timeout, |s| s.phase == Phase::Done).await;
    rt.shutdown().await;
    let store = res?;
    print_store(&store, json);
    // The change worked when its operation succeeded (an upgrade that was
    // rolled back leaves the store Ready, but failed).
    let op = crate::db::operations::get(pool, op_before.unwrap_or(0)).await?;
    match op {
        Some(op) if op.state == crate::db::operations::State::Succeeded => Ok(ExitCode::SUCCESS),
        Some(op) => {
            eprintln!(
                "the {} did not succeed: {}",
                op.kind,
                op.error.unwrap_or_else(|| op.state.to_string())
            );
            Ok(ExitCode::from(exit::FAILED))
        }
        None if store.status == Status::Ready => Ok(ExitCode::SUCCESS),
        None => Ok(ExitCode::from(exit::FAILED)),
    }
}

async fn last_op(pool: &PgPool, id: Uuid) -> Option<i64> {
    crate::db::operations::for_store(pool, id)
        .await
        .ok()
        .and_then(|ops| ops.last().map(|o| o.id))
}

pub async fn history(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    json: bool,
) -> Result<ExitCode> {
    let store = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let cfg = EngineConfig::from_settings(settings);
    let client = crate::cluster::client(settings).await?;
    let h = match changes::history(pool, &cfg, &client, &store).await {
        Ok(h) => h,
        Err(e) => return Ok(report(e, json)),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&h)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "store:     {} ({})\nchart:     {} (this binary ships {})\nrevision:  {}\nsettings:  {}",
        store.name,
        store.namespace,
        h.chart_version.as_deref().unwrap_or("unknown"),
        h.shipped_chart.as_deref().unwrap_or("unknown"),
        h.helm_revision
            .map_or("unknown".to_string(), |r| r.to_string()),
        h.settings
    );
    match &h.drift {
        Some(d) => println!("DRIFTED:   {d}"),
        None => println!("drift:     none"),
    }
    println!();
    println!(
        "{:>4}  {:<11} {:<8} {:<26} DESCRIPTION / SETTINGS",
        "REV", "STATUS", "CHART", "UPDATED"
    );
    for r in &h.revisions {
        let made = match &r.settings {
            Some(s) => s.to_string(),
            None => "not made by Store Weaver".to_string(),
        };
        println!(
            "{:>4}{} {:<11} {:<8} {:<26} {} [{}]",
            r.revision,
            if r.current { "*" } else { " " },
            r.status,
            r.chart_version,
            r.updated.get(..19).unwrap_or(&r.updated),
            r.description,
            made
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn fleet_command(
    cmd: FleetCommand,
    settings: Settings,
    pool: &PgPool,
) -> Result<ExitCode> {
    let cfg = EngineConfig::from_settings(&settings);
    match cmd {
        FleetCommand::Upgrade {
            to,
            set,
            owner,
            engine,
            status,
            wave,
            max_failures,
            wait,
            json,
            actor,
        } => {
            let status = match status.as_deref().map(|s| (s, Status::parse(s))) {
                None => None,
                Some((_, Some(st))) => Some(st),
                Some((raw, None)) => {
                    let e = EngineError::Invalid {
                        field: "status",
                        message: format!("unknown status \"{raw}\"; use Ready"),
                    };
                    return Ok(report(e, json));
                }
            };
            let engine = match EngineKind::parse_available(&engine) {
                Ok(e) => e,
                Err(message) => {
                    let e = EngineError::Invalid {
                        field: "engine",
                        message,
                    };
                    return Ok(report(e, json));
                }
            };
            let req = FleetRequest {
                set,
                to,
                owner,
                status,
                wave,
                max_failures,
                engine,
            };
            let actor = runtime::actor(actor, Via::Cli);
            let cluster = crate::cluster::client(&settings).await.ok();
            match fleet::start(pool, &cfg, cluster.as_ref(), &actor, &req).await {
                Ok(d) if wait => wait_run(settings, d.run.id, json).await,
                Ok(d) => {
                    print_run(&d, json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(e, json)),
            }
        }
        FleetCommand::List { limit, json } => {
            let runs = crate::db::fleet::list(pool, limit.clamp(1, 1000)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                println!(
                    "{:>5}  {:<9} {:>5} {:>8}  {:<20} {:<19} PARAMS",
                    "ID", "STATE", "WAVE", "FAILED", "BY", "STARTED"
                );
                for r in runs {
                    println!(
                        "{:>5}  {:<9} {:>5} {:>4}/{:<3}  {:<20} {:<19} {}",
                        r.id,
                        r.state,
                        r.current_wave,
                        r.failures,
                        r.max_failures,
                        r.created_by,
                        r.created_at.format("%Y-%m-%d %H:%M:%S"),
                        if r.params.set.is_empty() {
                            "chart only".to_string()
                        } else {
                            r.params.set.join(" ")
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FleetCommand::Show { id, json } => match fleet::detail_of(pool, id).await {
            Ok(d) => {
                print_run(&d, json);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(e, json)),
        },
        FleetCommand::Cancel { id, json, actor } => {
            let actor = runtime::actor(actor, Via::Cli);
            match fleet::cancel(pool, &actor, id).await {
                Ok(d) => {
                    print_run(&d, json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(e, json)),
            }
        }
        FleetCommand::Resume {
            id,
            wait,
            json,
            actor,
        } => {
            let actor = runtime::actor(actor, Via::Cli);
            match fleet::resume(pool, &cfg, &actor, id).await {
                Ok(d) if wait => wait_run(settings, d.run.id, json).await,
                Ok(d) => {
                    print_run(&d, json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(e, json)),
            }
        }
    }
}

/// Runs workers here until the run is no longer running.
async fn wait_run(settings: Settings, id: i64, json: bool) -> Result<ExitCode> {
    let rt = Runtime::start(settings, true).await?;
    let mut detail;
    loop {
        detail = fleet::detail_of(&rt.pool, id).await;
        match &detail {
            Ok(d) if d.run.state != RunState::Running => break,
            Ok(_) => {}
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    rt.shutdown().await;
    match detail {
        Ok(d) => {
            print_run(&d, json);
            Ok(if d.run.state == RunState::Done && d.counts.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::FAILED)
            })
        }
        Err(e) => Ok(report(e, json)),
    }
}

fn print_run(d: &FleetDetail, json: bool) {
    if json {
        match serde_json::to_string_pretty(d) {
            Ok(t) => println!("{t}"),
            Err(e) => eprintln!("error: cannot encode the run: {e}"),
        }
        return;
    }
    let r = &d.run;
    println!(
        "fleet run {}: {} — wave {}/{} of {}, failures {}/{}",
        r.id, r.state, r.current_wave, d.waves, r.wave_size, r.failures, r.max_failures
    );
    if let Some(why) = &r.stop_reason {
        println!("  {why}");
    }
    let c = &d.counts;
    println!(
        "  upgraded {}, failed {}, queued {}, pending {}, skipped {}",
        c.upgraded, c.failed, c.queued, c.pending, c.skipped
    );
    for i in &d.items {
        println!(
            "  wave {:>3}  {:<9} {:<28} {}",
            i.wave,
            i.state.as_str(),
            i.store_name,
            i.detail.as_deref().unwrap_or("")
        );
    }
}
