//! Workers: claim operations from Postgres, hold a lease while working, hand
//! the lease back on shutdown. Any number of processes may run them at once.

use super::config::EngineConfig;
use super::provision::Context;
use crate::cluster::view::ClusterView;
use crate::db::ledger::{self, Lease};
use crate::db::operations::{self, Kind};
use crate::db::{self, stores};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub struct WorkerPoolConfig {
    pub workers: u32,
    pub engine: Arc<EngineConfig>,
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
        let wake = Wake::default();
        let busy = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        if cfg.workers > 0 {
            tasks.spawn(listen_for_work(
                cfg.pool.clone(),
                wake.clone(),
                shutdown.clone(),
            ));
            tasks.spawn(drive_fleets(
                cfg.pool.clone(),
                cfg.engine.clone(),
                wake.fleets.clone(),
                shutdown.clone(),
            ));
            if cfg.engine.backup.is_some() {
                tasks.spawn(keep_backups(
                    cfg.pool.clone(),
                    cfg.engine.clone(),
                    shutdown.clone(),
                ));
            }
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        // Two pools in one process (a console restarted in place, tests) must
        // not share worker names: the name is part of the lease.
        let tag: u16 = rand::random();
        let helm = cfg.engine.helm();
        for n in 0..cfg.workers {
            let ctx = Context {
                pool: cfg.pool.clone(),
                cfg: cfg.engine.clone(),
                helm: helm.clone(),
                client: cfg.client.clone(),
                view: cfg.view.clone(),
                worker_id: format!("{host}-{}-{tag:04x}-{n}", std::process::id()),
            };
            tasks.spawn(work_loop(
                ctx,
                wake.work.clone(),
                shutdown.clone(),
                busy.clone(),
            ));
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

/// What an operation notification wakes in this process.
#[derive(Clone, Default)]
struct Wake {
    /// One idle worker; one that claims something wakes the next (see
    /// `work_loop`), so a burst of queued operations is taken one claim
    /// after another instead of every idle worker racing for the claim
    /// lock on every notification.
    work: Arc<Notify>,
    /// The fleet driver, on every notification.
    fleets: Arc<Notify>,
}

/// Wakes an idle worker when an operation is queued, handed back or ends
/// (a slot may be free), or a provision gives its slot back, anywhere.
async fn listen_for_work(pool: PgPool, wake: Wake, shutdown: CancellationToken) {
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(db::OPERATION_CHANNEL).await?;
            loop {
                l.recv().await?;
                wake.work.notify_one();
                wake.fleets.notify_waiters();
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

/// Advances the fleet runs and the restore drills: any process with
/// workers does, each step under the run's (the drill's) row lock, so a
/// run outlives the process that started it.
async fn drive_fleets(
    pool: PgPool,
    cfg: Arc<EngineConfig>,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let notified = wake.notified();
        if let Err(e) = super::fleet::advance_all(&pool, &cfg).await {
            tracing::warn!(error = %e, "cannot advance the fleet runs");
        }
        if let Err(e) = super::drill::advance_all(&pool, &cfg).await {
            tracing::warn!(error = %e, "cannot advance the restore drills");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = notified => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// How often the backup schedule is looked at (a store's slot is kept
/// within this), and how often backups past their keep time are purged.
const SCHEDULE_EVERY: Duration = Duration::from_secs(60);
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Queues scheduled backups and restore drills as stores' slots come, and
/// purges backups past their keep time, at start and then every [`SCHEDULE_EVERY`] and
/// [`PURGE_EVERY`].
async fn keep_backups(pool: PgPool, cfg: Arc<EngineConfig>, shutdown: CancellationToken) {
    let mut last_purge: Option<tokio::time::Instant> = None;
    while !shutdown.is_cancelled() {
        let now = chrono::Utc::now();
        match super::schedule::queue_due(&pool, &cfg, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queued = n, "scheduled backups queued"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot queue scheduled backups; trying again in a minute")
            }
        }
        match super::drill::queue_due(&pool, &cfg, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queued = n, "scheduled restore drills queued"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot queue scheduled restore drills; trying again in a minute")
            }
        }
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            last_purge = Some(tokio::time::Instant::now());
            match super::schedule::purge(&pool, &cfg, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "backups past their keep time purged"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot purge backups; trying again later")
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SCHEDULE_EVERY) => {}
        }
    }
}

async fn work_loop(
    ctx: Context,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    busy: Arc<AtomicUsize>,
) {
    let lease = ctx.cfg.lease;
    // Expired leases are found by looking; notifications cover new work.
    let idle = (lease / 2).clamp(Duration::from_millis(500), Duration::from_secs(5));
    let mut connection = ctx.view.connection();
    while !shutdown.is_cancelled() {
        // A worker that cannot see the cluster would only fail what it
        // takes: it leaves the work to those that can until its view is
        // back (the watches notice a lost cluster, see `cluster::view`).
        if !connection.borrow_and_update().connected {
            let why = connection.borrow().error.clone().unwrap_or_default();
            tracing::warn!(worker = %ctx.worker_id, error = %why, "the cluster view is disconnected; taking no work until it is back");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = connection.wait_for(|c| c.connected) => {}
            }
            tracing::info!(worker = %ctx.worker_id, "the cluster view is connected again; taking work");
            continue;
        }
        let notified = wake.notified();
        let claimed = ledger::claim(
            &ctx.pool,
            &ctx.worker_id,
            lease,
            ctx.cfg.max_concurrent_provisions,
            ctx.cfg.max_concurrent_backups,
        )
        .await;
        match claimed {
            Ok(Some((op, held))) => {
                // There may be more to take: the next idle worker looks.
                wake.notify_one();
                busy.fetch_add(1, Ordering::Relaxed);
                run_one(&ctx, op, held, &shutdown).await;
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

/// Keeps the lease alive while the work runs. The lease is lost, and the
/// work must stop, when a renewal says it is no longer ours or when no
/// renewal succeeded for most of a lease (the database is unreachable: by
/// then another worker may hold it). Returns when it cancels `lost`.
async fn renew_lease(pool: sqlx::PgPool, lease: Lease, length: Duration, lost: CancellationToken) {
    let every = length / 3;
    // Give up a little before the lease runs out on the database's clock:
    // the last good renewal was sent before it was applied.
    let give_up = length - length / 6;
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let sent = tokio::time::Instant::now();
        match tokio::time::timeout(every, ledger::renew(&pool, &lease, length)).await {
            Ok(Ok(true)) => last_ok = sent,
            Ok(Ok(false)) => {
                tracing::warn!("the lease is no longer ours (superseded or taken over)");
                lost.cancel();
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the lease"),
            Err(_) => tracing::warn!("the database did not answer the lease renewal in time"),
        }
        if last_ok.elapsed() >= give_up {
            tracing::error!(
                secs = give_up.as_secs_f64(),
                "no lease renewal succeeded in time; stopping the work (another worker will resume it)"
            );
            lost.cancel();
            return;
        }
    }
}

/// Runs one claimed operation while renewing its lease. If the lease is lost
/// (superseded by a delete, taken over after a stall, or not renewable) the
/// work stops at once.
async fn run_one(
    ctx: &Context,
    op: operations::Operation,
    lease: Lease,
    shutdown: &CancellationToken,
) {
    let store = match stores::get(&ctx.pool, op.store_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the store of operation {}", op.id);
            let _ = ledger::release(&ctx.pool, &lease).await;
            return;
        }
    };
    // One span per operation: every event of the worker, the lease renewal
    // and the steps carries which operation, store and claim it is about.
    let span = tracing::info_span!(
        "operation",
        op = op.id,
        kind = %op.kind,
        store = %store.namespace,
        claim = op.claims,
        worker = %ctx.worker_id,
    );
    run_claimed(ctx, op, lease, store, shutdown)
        .instrument(span)
        .await;
}

async fn run_claimed(
    ctx: &Context,
    op: operations::Operation,
    lease: Lease,
    store: crate::store::Store,
    shutdown: &CancellationToken,
) {
    tracing::info!("operation claimed");
    let lost = CancellationToken::new();
    let renewer = tokio::spawn(
        renew_lease(ctx.pool.clone(), lease.clone(), ctx.cfg.lease, lost.clone()).in_current_span(),
    );
    let work = async {
        match op.kind {
            Kind::Provision => ctx.provision(&op, &lease, &store).await,
            Kind::Delete => ctx.delete(&op, &lease, &store).await,
            Kind::Upgrade | Kind::Rollback => ctx.change(&op, &lease, &store).await,
            Kind::Backup => ctx.backup(&op, &lease, &store).await,
            Kind::Restore => ctx.restore(&op, &lease, &store).await,
        }
    };
    tokio::select! {
        res = work => {
            if let Err(e) = res {
                tracing::error!(error = %e, "could not record the outcome; the operation will be resumed");
                let _ = ledger::release(&ctx.pool, &lease).await;
            }
        }
        _ = lost.cancelled() => {
            tracing::warn!("operation is no longer ours; stopped");
        }
        _ = shutdown.cancelled() => {
            tracing::info!("shutting down: handing the operation back");
            let _ = ledger::release(&ctx.pool, &lease).await;
        }
    }
    renewer.abort();
}
