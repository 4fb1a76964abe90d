//! Start-up shared by every long-running face: settings, database (with
//! migrations), Kubernetes client, the cluster view and the workers.

use crate::cluster::{self, view::ClusterView};
use crate::config::Settings;
use crate::db;
use crate::engine::{self, WorkerPool, WorkerPoolConfig};
use crate::store::{Actor, Store};
use color_eyre::eyre::{Result, WrapErr, eyre};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct Runtime {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub client: kube::Client,
    pub view: ClusterView,
    /// What the engine needs from the settings, built once for every face.
    pub engine: Arc<engine::EngineConfig>,
    pub workers: Option<WorkerPool>,
}

impl Runtime {
    /// Connects to both sides and starts `settings.workers` workers (none
    /// when `with_workers` is false).
    pub async fn start(settings: Settings, with_workers: bool) -> Result<Runtime> {
        let connections = settings.db_connections;
        Runtime::start_with(settings, with_workers, connections).await
    }

    /// As [`Runtime::start`], with a pool of at most `connections` (a
    /// `--serve` process gives the rest of its budget to the API).
    pub async fn start_with(
        settings: Settings,
        with_workers: bool,
        connections: u32,
    ) -> Result<Runtime> {
        let settings = Arc::new(settings);
        let pool = db::connect(settings.database_url()?, connections).await?;
        db::migrate(&pool).await?;
        let client = cluster::client(&settings).await?;
        // Watches may be quiet for minutes: their client has no read timeout
        // (the view detects a dead stream itself).
        let view = ClusterView::start(cluster::streaming_client(&settings).await?);
        let engine = Arc::new(engine::EngineConfig::from_settings(&settings));
        let workers = if with_workers {
            start_workers(&settings, &engine, &pool, &client, &view)
        } else {
            None
        };
        Ok(Runtime {
            settings,
            pool,
            client,
            view,
            engine,
            workers,
        })
    }

    pub fn limits(&self) -> engine::Limits {
        limits(&self.settings)
    }

    pub fn naming(&self) -> engine::Naming {
        naming(&self.settings)
    }

    pub async fn shutdown(self) {
        if let Some(w) = self.workers {
            w.shutdown().await;
        }
    }
}

/// Starts this process's operation workers (`settings.workers`; none when
/// that is 0). The one way every face starts them.
pub fn start_workers(
    settings: &Arc<Settings>,
    engine: &Arc<engine::EngineConfig>,
    pool: &PgPool,
    client: &kube::Client,
    view: &ClusterView,
) -> Option<WorkerPool> {
    (settings.workers > 0).then(|| {
        WorkerPool::start(WorkerPoolConfig {
            workers: settings.workers,
            engine: engine.clone(),
            pool: pool.clone(),
            client: client.clone(),
            view: view.clone(),
        })
    })
}

pub fn limits(s: &Settings) -> engine::Limits {
    engine::config::limits(s)
}

/// Where stores live and which names they may not take.
pub fn naming(s: &Settings) -> engine::Naming {
    engine::config::naming(s)
}

/// Who is at the keyboard, for the audit log.
pub fn local_user() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "operator".to_string())
}

pub fn actor(explicit: Option<String>, via: crate::store::Via) -> Actor {
    Actor::new(explicit.unwrap_or_else(local_user), via)
}

/// Waits, on store notifications, until `done(store)` holds; returns the
/// store. Re-reads once per notification and at least every few seconds.
pub async fn wait_for_store(
    pool: &PgPool,
    id: Uuid,
    timeout: Duration,
    done: impl Fn(&Store) -> bool,
) -> Result<Store> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .wrap_err("cannot listen for store changes")?;
    listener.listen(db::STORE_CHANNEL).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let store = db::stores::get(pool, id)
            .await?
            .ok_or_else(|| eyre!("store {id} disappeared"))?;
        if done(&store) {
            return Ok(store);
        }
        tokio::select! {
            _ = listener.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = tokio::time::sleep_until(deadline) => {
                return Err(eyre!("gave up waiting after {}s; the store is {} ({})", timeout.as_secs(), store.status, store.phase));
            }
        }
    }
}

/// Waits for SIGINT or SIGTERM (the faces that run until stopped).
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
