//! Long-lived producers of messages: the keyboard, the database (migrations,
//! then store notifications, reconnecting when it drops), the cluster watch
//! (connection state, per-store health), the clock and signals.

use super::msg::Msg;
use crate::cluster::view::{Change, ClusterView};
use crate::db;
use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use uuid::Uuid;

const DB_TIMEOUT: Duration = Duration::from_secs(10);
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often an idle database link is checked (a silent network loss
/// otherwise goes unnoticed).
const PROBE_EVERY: Duration = Duration::from_secs(30);

pub fn spawn_all(
    tasks: &mut JoinSet<()>,
    tx: &UnboundedSender<Msg>,
    pool: PgPool,
    view: Option<ClusterView>,
) {
    tasks.spawn(terminal(tx.clone()));
    tasks.spawn(database(pool, tx.clone()));
    tasks.spawn(clock(tx.clone()));
    tasks.spawn(signals(tx.clone()));
    if let Some(view) = view {
        tasks.spawn(cluster_connection(view.clone(), tx.clone()));
        tasks.spawn(cluster_changes(view, tx.clone()));
    }
}

async fn terminal(tx: UnboundedSender<Msg>) {
    let mut events = EventStream::new();
    loop {
        let msg = match events.next().await {
            Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Msg::Key(k),
            Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
            Some(Ok(_)) => continue,
            // The terminal is gone (the SSH session dropped): leave.
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the terminal");
                Msg::Signal("terminal lost")
            }
            None => Msg::Signal("terminal closed"),
        };
        let stop = matches!(msg, Msg::Signal(_));
        if tx.send(msg).is_err() || stop {
            return;
        }
    }
}

async fn timed<T, E: std::fmt::Display>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(|e| crate::text::bound_message(&format!("{e:#}"), 300)),
        Err(_) => Err(format!("no answer after {}s", limit.as_secs())),
    }
}

/// Applies migrations (retrying), then listens for store changes; every
/// (re)connection reloads the list, since notifications were missed.
async fn database(pool: PgPool, tx: UnboundedSender<Msg>) {
    let mut migrated = false;
    let mut backoff = Duration::from_secs(1);
    loop {
        let res: Result<(), String> = async {
            if !migrated {
                timed(MIGRATE_TIMEOUT, db::migrate(&pool)).await.map_err(|e| format!("migrations: {e}"))?;
                migrated = true;
            }
            let mut l = timed(DB_TIMEOUT, PgListener::connect_with(&pool)).await?;
            timed(DB_TIMEOUT, l.listen(db::STORE_CHANNEL)).await?;
            if tx.send(Msg::DbUp(Utc::now())).is_err() {
                return Ok(());
            }
            backoff = Duration::from_secs(1);
            let mut probe = tokio::time::interval(PROBE_EVERY);
            probe.tick().await;
            loop {
                tokio::select! {
                    n = l.try_recv() => match n {
                        Ok(Some(n)) => {
                            if let Ok(id) = Uuid::parse_str(n.payload()) {
                                let origin = Instant::now();
                                if tx.send(Msg::StoreNotified { id, origin }).is_err() {
                                    return Ok(());
                                }
                            }
                        }
                        Ok(None) => return Err("the connection to the database was lost".to_string()),
                        Err(e) => return Err(e.to_string()),
                    },
                    _ = probe.tick() => {
                        timed(DB_TIMEOUT, sqlx::query("SELECT 1").execute(&pool)).await?;
                    }
                }
            }
        }
        .await;
        match res {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, "database unavailable; retrying in {backoff:?}");
                if tx
                    .send(Msg::DbDown {
                        at: Utc::now(),
                        error,
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn clock(tx: UnboundedSender<Msg>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if tx.send(Msg::Tick(Utc::now())).is_err() {
            return;
        }
    }
}

async fn signals(tx: UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "leaving on signal");
    let _ = tx.send(Msg::Signal(name));
}

async fn cluster_connection(view: ClusterView, tx: UnboundedSender<Msg>) {
    let mut rx = view.connection();
    loop {
        let c = rx.borrow_and_update().clone();
        if tx.send(Msg::Cluster(c)).is_err() || rx.changed().await.is_err() {
            return;
        }
    }
}

/// Health of the stores whose objects changed; a burst becomes one message
/// per store, a re-list one message for all.
async fn cluster_changes(view: ClusterView, tx: UnboundedSender<Msg>) {
    let mut rx = view.subscribe();
    loop {
        let first = rx.recv().await;
        let origin = Instant::now();
        let mut all = false;
        let mut ids: HashSet<Uuid> = HashSet::new();
        let mut note = |c: Result<Change, ()>| match c {
            Ok(Change::Store(id)) => {
                ids.insert(id);
            }
            Ok(Change::Resync) | Err(()) => all = true,
        };
        match first {
            Ok(c) => note(Ok(c)),
            Err(RecvError::Lagged(_)) => note(Err(())),
            Err(RecvError::Closed) => return,
        }
        loop {
            match rx.try_recv() {
                Ok(c) => note(Ok(c)),
                Err(TryRecvError::Lagged(_)) => note(Err(())),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
        let sent = if all {
            tx.send(Msg::HealthAll(view.health_all())).is_ok()
        } else {
            ids.into_iter().all(|id| {
                tx.send(Msg::Health {
                    id,
                    health: view.health(id, &[]),
                    origin,
                })
                .is_ok()
            })
        };
        if !sent {
            return;
        }
    }
}
