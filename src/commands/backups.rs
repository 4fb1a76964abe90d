//! `store backup`, `store backups`, `store restore`, `store undelete`.

use super::{exit, print_store, report, resolve, settle};
use crate::config::Settings;
use crate::db::backups::{self, Backup};
use crate::db::operations::{self, State};
use crate::engine;
use crate::runtime::{self, Runtime};
use crate::store::{Request, Store, Via, lifecycle};
use color_eyre::eyre::{Result, eyre};
use sqlx::PgPool;
use std::process::ExitCode;
use std::time::Duration;

pub async fn backup(
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
    let actor = runtime::actor(actor, Via::Cli);
    match engine::backup(pool, &actor, s.id, None).await {
        Ok(store) if wait => wait_operation(settings, &store, json).await,
        Ok(store) => {
            print_store(&store, json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(e, json)),
    }
}

pub async fn restore(
    settings: Settings,
    pool: &PgPool,
    key: &str,
    backup: Option<String>,
    actor: Option<String>,
    wait: bool,
    json: bool,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = runtime::actor(actor, Via::Cli);
    match engine::restore(pool, &actor, s.id, None, backup.as_deref()).await {
        Ok(store) if wait => wait_operation(settings, &store, json).await,
        Ok(store) => {
            print_store(&store, json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(e, json)),
    }
}

pub async fn undelete(
    settings: Settings,
    pool: &PgPool,
    key: &str,
    actor: Option<String>,
    wait: bool,
    json: bool,
) -> Result<ExitCode> {
    let s = match super::keys::resolve_key(pool, key, true).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = runtime::actor(actor, Via::Cli);
    match engine::undelete(pool, &actor, s.id, None).await {
        Ok(store) if wait => {
            let want = lifecycle::accepted(Request::Undelete, store.status).map(|t| t.settles);
            settle(settings, store.id, json, want).await
        }
        Ok(store) => {
            print_store(&store, json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(e, json)),
    }
}

pub async fn list(pool: &PgPool, key: &str, json: bool) -> Result<ExitCode> {
    let s = match super::keys::resolve_key(pool, key, true).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let list = backups::for_store(pool, s.id, 200).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("store \"{}\" has no backups", s.name);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36}  {:<9}  {:<8}  {:>12}  {:<20}  {:<8}  KEPT UNTIL / ERROR",
        "ID", "REASON", "STATE", "BYTES", "STARTED", "TOOK"
    );
    for b in &list {
        println!("{}", row(b));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(b: &Backup) -> String {
    let took = b
        .finished_at
        .map(|f| {
            format!(
                "{:.1}s",
                (f - b.started_at).num_milliseconds() as f64 / 1000.0
            )
        })
        .unwrap_or_else(|| "-".into());
    let tail = match (&b.error, b.expires_at) {
        (Some(e), _) => crate::text::bound_message(e, 120),
        (None, Some(t)) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        (None, None) => String::new(),
    };
    format!(
        "{:<36}  {:<9}  {:<8}  {:>12}  {:<20}  {:<8}  {}",
        b.id,
        b.reason.as_str(),
        b.state.as_str(),
        b.bytes,
        b.started_at.format("%Y-%m-%d %H:%M:%S"),
        took,
        tail
    )
}

/// Waits (running workers, as `--wait` does everywhere) until the store's
/// operation just queued has ended; exit 0 only if it succeeded.
async fn wait_operation(settings: Settings, store: &Store, json: bool) -> Result<ExitCode> {
    let timeout = settings.provision_timeout + Duration::from_secs(120);
    let rt = Runtime::start(settings, true).await?;
    let pool = rt.pool.clone();
    let res = async {
        let op = finished_operation(&pool, store, timeout).await?;
        let newest = if op.kind == operations::Kind::Backup {
            backups::for_store(&pool, store.id, 1)
                .await?
                .into_iter()
                .next()
        } else {
            None
        };
        Ok::<_, color_eyre::eyre::Report>((op, newest))
    }
    .await;
    rt.shutdown().await;
    let (op, newest) = res?;
    let ok = op.state == State::Succeeded;
    if json {
        println!(
            "{}",
            serde_json::json!({"operation": op, "succeeded": ok, "backup": newest})
        );
    } else if ok {
        println!("{} of \"{}\" succeeded", op.kind, store.name);
        if let Some(b) = &newest {
            println!("{}", row(b));
        }
    } else {
        eprintln!(
            "error: {} of \"{}\" {}: {}",
            op.kind,
            store.name,
            op.state,
            op.error.as_deref().unwrap_or("no reason recorded")
        );
    }
    Ok(ExitCode::from(if ok { exit::OK } else { exit::FAILED }))
}

/// The store's operation queued last, once it has ended.
async fn finished_operation(
    pool: &PgPool,
    store: &Store,
    timeout: Duration,
) -> Result<operations::Operation> {
    let started = operations::active_for(pool, store.id)
        .await?
        .ok_or_else(|| eyre!("store \"{}\" has no operation to wait for", store.name))?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let op = operations::get(pool, started.id)
            .await?
            .ok_or_else(|| eyre!("operation {} disappeared", started.id))?;
        if !matches!(op.state, State::Queued | State::Running) {
            return Ok(op);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(eyre!(
                "gave up waiting after {}s; the {} is {}",
                timeout.as_secs(),
                op.kind,
                op.state
            ));
        }
        // The store's phase changes as the operation goes; a poll each
        // half second is cheap beside a backup.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
