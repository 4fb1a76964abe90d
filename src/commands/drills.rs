//! `store drill NAME` (a restore drill asked for) and `store drills NAME`
//! (its drills and its last good restore).

use super::{exit, report, resolve};
use crate::config::Settings;
use crate::db::drills::{self, Drill, Outcome, Phase, Reason};
use crate::engine::{EngineConfig, drill};
use crate::runtime::{self, Runtime};
use crate::store::Via;
use color_eyre::eyre::{Result, eyre};
use sqlx::PgPool;
use std::process::ExitCode;
use std::time::Duration;

/// Queues a drill; with `wait`, runs workers until it is done: exit 0 when
/// it passed, 5 when it failed.
pub async fn drill(
    settings: Settings,
    pool: &PgPool,
    key: &str,
    actor: Option<String>,
    wait: bool,
    json: bool,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let cfg = EngineConfig::from_settings(&settings);
    let actor = runtime::actor(actor, Via::Cli);
    let d = match drill::request(pool, &cfg, &actor, s.id, None, Reason::Manual).await {
        Ok(d) => d,
        Err(e) => return Ok(report(e, json)),
    };
    if !wait {
        if json {
            println!("{}", serde_json::to_string_pretty(&d)?);
        } else {
            println!(
                "restore drill {} of \"{}\" queued; `store drills \"{}\"` shows how it went",
                d.id, s.name, s.name
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The provision of the throwaway store, then its delete.
    let timeout = settings.provision_timeout + settings.delete_timeout + Duration::from_secs(120);
    let rt = Runtime::start(settings, true).await?;
    let done = until_done(&rt.pool, d.id, timeout).await;
    rt.shutdown().await;
    let d = done?;
    let passed = d.outcome == Some(Outcome::Passed);
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else if passed {
        println!(
            "restore drill of \"{}\" passed: {}",
            s.name,
            d.detail.as_deref().unwrap_or("")
        );
    } else {
        eprintln!(
            "error: restore drill of \"{}\" failed: {}",
            s.name,
            d.detail.as_deref().unwrap_or("no reason recorded")
        );
    }
    Ok(ExitCode::from(if passed { exit::OK } else { exit::FAILED }))
}

async fn until_done(pool: &PgPool, id: uuid::Uuid, timeout: Duration) -> Result<Drill> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let d = drills::get(pool, id)
            .await?
            .ok_or_else(|| eyre!("restore drill {id} disappeared"))?;
        if d.phase == Phase::Done {
            return Ok(d);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(eyre!(
                "restore drill {id} is still {} after {}s; `store drills` shows it as it goes on",
                d.phase.as_str(),
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn list(settings: &Settings, pool: &PgPool, key: &str, json: bool) -> Result<ExitCode> {
    let s = match super::keys::resolve_key(pool, key, true).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let cfg = EngineConfig::from_settings(settings);
    let now = chrono::Utc::now();
    let view = match drill::view(pool, &cfg, &s, now).await {
        Ok(v) => v,
        Err(e) => return Ok(report(e, json)),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("store:              {}", s.name);
    println!(
        "last good restore:  {}",
        drill::last_good_words(view.last_good_at, now)
    );
    let next = match (view.every_days, view.next_at) {
        (Some(days), Some(at)) => {
            format!("{} (every {days} days)", at.format("%Y-%m-%d %H:%M UTC"))
        }
        _ => "none scheduled (drill_every_days is 0, or backups are off)".into(),
    };
    println!("next drill:         {next}");
    if view.drills.is_empty() {
        println!("no drills yet: `store drill \"{}\"` runs one", s.name);
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    println!(
        "{:<36}  {:<9}  {:<9}  {:<7}  {:<20}  {:>7}  DETAIL",
        "ID", "REASON", "PHASE", "RESULT", "STARTED", "TOOK"
    );
    for d in &view.drills {
        println!("{}", row(d));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(d: &Drill) -> String {
    format!(
        "{:<36}  {:<9}  {:<9}  {:<7}  {:<20}  {:>7}  {}",
        d.id,
        d.reason.as_str(),
        d.phase.as_str(),
        d.outcome.map_or("-", Outcome::as_str),
        d.started_at
            .unwrap_or(d.created_at)
            .format("%Y-%m-%d %H:%M:%S"),
        d.restore_secs().map_or("-".into(), |s| format!("{s:.0}s")),
        crate::text::bound_message(d.detail.as_deref().unwrap_or(""), 160)
    )
}
