//! Workers: claim operations from Postgres, hold a lease while working, hand
//! the lease back on shutdown. Any number of processes may run them at once.

use super::provision::Context;
use crate::cluster::view::ClusterView;
use crate::config::Settings;
use crate::db::{self, operations, stores};
use crate::helm::Helm;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub struct WorkerPoolConfig {
    pub workers: u32,
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub client: kube::Client,
    pub view: ClusterView,
}

/// The workers of one process.
pub struct WorkerPool {
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    busy: Arc<AtomicUsize>,
}

impl WorkerPool {
    pub fn start(cfg: WorkerPoolConfig) -> WorkerPool {
        let shutdown = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let busy = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        if cfg.workers > 0 {
            tasks.spawn(listen_for_work(
                cfg.pool.clone(),
                wake.clone(),
                shutdown.clone(),
            ));
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let helm = Helm::new(
            cfg.settings.helm_bin.clone(),
            cfg.settings.kubeconfig.clone(),
            cfg.settings.kube_context.clone(),
        );
        for n in 0..cfg.workers {
            let ctx = Context {
                pool: cfg.pool.clone(),
                settings: cfg.settings.clone(),
                helm: helm.clone(),
                client: cfg.client.clone(),
                view: cfg.view.clone(),
                worker_id: format!("{host}-{}-{n}", std::process::id()),
            };
            tasks.spawn(work_loop(ctx, wake.clone(), shutdown.clone(), busy.clone()));
        }
        WorkerPool {
            shutdown,
            tasks,
            busy,
        }
    }

    /// Operations this process is carrying out right now.
    pub fn busy(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Stops taking work, hands running operations back (another worker
    /// resumes them at once) and waits for the workers to stop.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Wakes idle workers when an operation is queued anywhere.
async fn listen_for_work(pool: PgPool, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(db::OPERATION_CHANNEL).await?;
            loop {
                l.recv().await?;
                wake.notify_waiters();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            res = listener => {
                if let Err(e) = res {
                    tracing::warn!(error = %e, "lost the operation notifications; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn work_loop(
    ctx: Context,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    busy: Arc<AtomicUsize>,
) {
    let lease = ctx.settings.lease;
    // Expired leases are found by looking; notifications cover new work.
    let idle = (lease / 2).clamp(Duration::from_millis(500), Duration::from_secs(5));
    while !shutdown.is_cancelled() {
        let notified = wake.notified();
        let claimed = operations::claim(
            &ctx.pool,
            &ctx.worker_id,
            lease,
            ctx.settings.max_concurrent_provisions,
        )
        .await;
        match claimed {
            Ok(Some(op)) => {
                busy.fetch_add(1, Ordering::Relaxed);
                run_one(&ctx, op, &shutdown).await;
                busy.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(worker = %ctx.worker_id, error = %e, "cannot claim work"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = notified => {}
            _ = tokio::time::sleep(idle) => {}
        }
    }
}

/// Runs one claimed operation while renewing its lease. If the lease is lost
/// (superseded by a delete, or taken over after a stall) the work stops.
async fn run_one(ctx: &Context, op: operations::Operation, shutdown: &CancellationToken) {
    let store = match stores::get(&ctx.pool, op.store_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the store of operation {}", op.id);
            let _ = operations::release(&ctx.pool, op.id, &ctx.worker_id).await;
            return;
        }
    };
    tracing::info!(worker = %ctx.worker_id, op = op.id, kind = %op.kind, store = %store.namespace, claims = op.claims, "operation claimed");
    let lost = CancellationToken::new();
    let renewer = {
        let pool = ctx.pool.clone();
        let worker = ctx.worker_id.clone();
        let lease = ctx.settings.lease;
        let lost = lost.clone();
        let id = op.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match operations::renew(&pool, id, &worker, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.cancel();
                        return;
                    }
                    // The database is unreachable: keep trying until the
                    // lease would have run out, then give the work up.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot renew the lease of operation {id}")
                    }
                }
            }
        })
    };
    let work = async {
        match op.kind() {
            operations::Kind::Provision => ctx.provision(&op, &store).await,
            operations::Kind::Delete => ctx.delete(&op, &store).await,
        }
    };
    tokio::select! {
        res = work => {
            if let Err(e) = res {
                tracing::error!(error = %e, op = op.id, "could not record the outcome; the operation will be resumed");
                let _ = operations::release(&ctx.pool, op.id, &ctx.worker_id).await;
            }
        }
        _ = lost.cancelled() => {
            tracing::warn!(op = op.id, "operation is no longer ours (superseded or taken over); stopped");
        }
        _ = shutdown.cancelled() => {
            tracing::info!(op = op.id, "shutting down: handing the operation back");
            let _ = operations::release(&ctx.pool, op.id, &ctx.worker_id).await;
        }
    }
    renewer.abort();
}
