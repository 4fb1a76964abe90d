//! `store backup-schedule NAME [EVERY]`: a store's backup schedule, shown
//! or set.

use super::{exit, report, resolve};
use crate::backup::schedule::parse_every;
use crate::config::Settings;
use crate::engine::{EngineConfig, schedule};
use crate::runtime;
use crate::store::Via;
use color_eyre::eyre::Result;
use sqlx::PgPool;
use std::process::ExitCode;

pub async fn show_or_set(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    every: Option<String>,
    actor: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let cfg = EngineConfig::from_settings(settings);
    if let Some(text) = every {
        let hours = match parse_every(&text) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(exit::INVALID));
            }
        };
        if cfg.backup.is_none() {
            eprintln!(
                "note: backups are not configured (backup_bucket, backup_key): the schedule is kept, and applies once they are"
            );
        }
        let actor = runtime::actor(actor, Via::Cli);
        if let Err(e) = schedule::set(pool, &actor, s.id, None, hours).await {
            return Ok(report(e, json));
        }
    }
    let view = match schedule::view(pool, &cfg, &s, chrono::Utc::now()).await {
        Ok(v) => v,
        Err(e) => return Ok(report(e, json)),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "-".into())
    };
    println!("store:            {}", s.name);
    println!("scheduled:        {}", view.described);
    println!("next backup:      {}", when(view.next_at));
    println!("newest good one:  {}", when(view.newest_good_at));
    Ok(ExitCode::SUCCESS)
}
