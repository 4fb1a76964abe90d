//! The interactive operations console (issue 5).
//!
//! One owner of state: keys, database notifications, cluster watch changes
//! and command results all arrive as messages on one channel; `update`
//! (pure) changes the `State` and returns `Command`s, which `effects` runs as
//! tasks that answer with more messages; `view::draw` (pure) draws the state.
//! The loop drains bursts of messages and draws once, only when something
//! visible changed.
//!
//! Start-up never waits for the database or the cluster: the pool connects
//! lazily, migrations and notifications are retried in the background, and
//! the header says what is down and since when.

pub mod backups;
pub mod changes;
pub mod commands;
pub mod drills;
pub mod effects;
pub mod fmt;
pub mod form;
pub mod keys;
pub mod layout;
pub mod msg;
pub mod pods;
pub mod report;
pub mod sources;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;
pub mod wp;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod snapshot_tests;

use crate::cluster::{self, view::ClusterView};
use crate::config::Settings;
use crate::db;
use crate::engine::WorkerPool;
use crate::runtime;
use crate::store::{Actor, Via};
use chrono::{Local, Offset, Utc};
use color_eyre::eyre::{Result, WrapErr, eyre};
use msg::Msg;
use state::{Info, State};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// At most one frame per this long, however fast messages arrive.
const FRAME_BUDGET: Duration = Duration::from_millis(16);
/// Messages handled before a frame is drawn, at most.
const MAX_BATCH: usize = 1024;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
const WORKER_SHUTDOWN: Duration = Duration::from_secs(10);

/// Restores the terminal on every way out of `run` (errors included); the
/// panic hook installed by `ratatui::init` covers panics.
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        // Never `restore()`: it prints with eprintln!, which panics when the
        // terminal is gone (SIGHUP).
        let _ = ratatui::try_restore();
    }
}

pub async fn run(settings: Settings, read_only: bool) -> Result<ExitCode> {
    let started = Instant::now();
    if !std::io::stdout().is_terminal() {
        return Err(eyre!(
            "the console needs a terminal; for scripts use a command (store list, store create ...) or --serve"
        ));
    }
    let settings = Arc::new(settings);
    let url = settings.database_url()?.to_string();
    let pool = db::connect_lazy(&url, settings.db_connections)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let user = runtime::local_user();
    let info = console_info(&settings, &url, read_only, &user);

    // The first frame goes out before anything slow (building the cluster
    // client, starting the watches and the workers).
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    let guard = RestoreOnDrop;
    let size = terminal.size()?;
    let tz = Local::now().offset().fix();
    let mut state = State::new(info, Utc::now(), tz, (size.width, size.height));
    terminal.draw(|f| view::draw(&state, f))?;
    state.dirty = false;
    tracing::info!(
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "first frame drawn"
    );

    let client = match tokio::time::timeout(CLIENT_TIMEOUT, cluster::client(&settings)).await {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            let _ = tx.send(Msg::ClusterUnavailable(format!("{e:#}")));
            None
        }
        Err(_) => {
            let _ = tx.send(Msg::ClusterUnavailable(
                "loading the kubeconfig took too long".into(),
            ));
            None
        }
    };
    // A client without read timeout, for the watches (quiet for minutes),
    // logs that follow and wp runs.
    let streaming = match &client {
        Some(_) => cluster::streaming_client(&settings).await.ok(),
        None => None,
    };
    let view = streaming.clone().map(ClusterView::start);
    // The same start as every other face; none in read-only mode.
    let engine = std::sync::Arc::new(crate::engine::EngineConfig::from_settings(&settings));
    let workers = match (&client, &view) {
        (Some(client), Some(view)) if !read_only => {
            runtime::start_workers(&settings, &engine, &pool, client, view)
        }
        _ => None,
    };
    state.info.workers = workers.as_ref().map_or(0, |_| settings.workers);
    let mut effects = effects::Effects::new(
        tx.clone(),
        pool.clone(),
        (client, streaming),
        settings.clone(),
        engine,
        read_only,
        Actor::new(user, Via::Console),
    );
    let mut tasks = JoinSet::new();
    sources::spawn_all(&mut tasks, &tx, pool.clone(), view.clone());
    drop(tx);
    tracing::debug!(
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "cluster client, watches and workers started"
    );

    let res = event_loop(
        &mut terminal,
        &mut state,
        &mut rx,
        &mut effects,
        workers.as_ref(),
    )
    .await;

    effects.stop();
    tasks.abort_all();
    drop(terminal);
    drop(guard);
    let mut code = ExitCode::SUCCESS;
    if let Err(e) = res {
        let _ = writeln!(std::io::stderr(), "error: {e:?}");
        code = ExitCode::FAILURE;
    }
    if let Some(w) = workers {
        stop_workers(w).await;
    }
    drop(view);
    pool.close().await;
    Ok(code)
}

/// The facts the header and the form show, fixed at start-up.
fn console_info(settings: &Settings, url: &str, read_only: bool, user: &str) -> Info {
    Info {
        context: cluster::context_name(settings),
        database: fmt::database_location(url),
        read_only,
        workers: if read_only { 0 } else { settings.workers },
        user: user.to_string(),
        max_stores: settings.max_stores,
        max_stores_per_user: settings.max_stores_per_user,
        max_concurrent: settings.max_concurrent_provisions,
        ingress_suffix: settings.ingress_suffix.clone(),
        tls: settings.tls,
        reserved: runtime::naming(settings).reserved,
        theme: theme::Theme::from_env(),
        log_lines: settings.console_log_lines as usize,
        keep_deleted_days: settings
            .backup_bucket
            .is_some()
            .then_some(settings.backup_keep_deleted_days),
    }
}

/// Hands running operations back to the queue, waiting a bounded time.
async fn stop_workers(w: WorkerPool) {
    let busy = w.busy();
    if busy > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "handing {busy} running operation(s) back to the queue; another worker resumes them"
        );
    }
    if tokio::time::timeout(WORKER_SHUTDOWN, w.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "workers did not stop in time; their leases expire and another worker resumes"
        );
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    effects: &mut effects::Effects,
    workers: Option<&WorkerPool>,
) -> Result<()> {
    let mut last_frame = Instant::now();
    // The oldest change not yet on screen (a notification or a watch event).
    let mut undrawn: Option<Instant> = None;
    let mut handle = |state: &mut State, msg: Msg, undrawn: &mut Option<Instant>| {
        let origin = match &msg {
            Msg::StoreLoaded { origin, .. } => *origin,
            Msg::Health { origin, .. } => Some(*origin),
            _ => None,
        };
        if let Some(o) = origin {
            undrawn.get_or_insert(o);
        }
        let tick = matches!(msg, Msg::Tick(_));
        for cmd in update::update(state, msg) {
            effects.run(cmd);
        }
        if tick && let Some(w) = workers {
            update::update(state, Msg::WorkersBusy(w.busy()));
        }
    };
    while let Some(msg) = rx.recv().await {
        handle(state, msg, &mut undrawn);
        loop {
            for _ in 0..MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => handle(state, m, &mut undrawn),
                    Err(_) => break,
                }
            }
            if state.quit {
                return Ok(());
            }
            let since = last_frame.elapsed();
            if !state.dirty || since >= FRAME_BUDGET {
                break;
            }
            // A frame went out moments ago: gather what else arrives meanwhile.
            tokio::time::sleep(FRAME_BUDGET - since).await;
        }
        if state.dirty {
            terminal.draw(|f| view::draw(state, f))?;
            state.dirty = false;
            last_frame = Instant::now();
            if let Some(o) = undrawn.take() {
                tracing::debug!(ms = o.elapsed().as_secs_f64() * 1000.0, "change on screen");
            }
        }
    }
    Ok(())
}
