//! What the backup schedule, retention and the metrics read: each store's
//! interval (its own or the fleet's), when its newest backup started, the
//! backups retention chooses among, and the fleet's backup figures. Writes
//! go through the ledger.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::store::{Phase, Status};

/// Held while one process queues the due backups, so replicas don't race
/// for the same stores (the losers would only be refused).
const SCHEDULE_LOCK: i64 = 0x5357_5343_4845_4455; // "SWSCHEDU"

/// Takes the scheduler's lock for the transaction, if no other process
/// holds it; false when one does.
pub async fn try_scheduler_lock(tx: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SCHEDULE_LOCK)
        .fetch_one(tx)
        .await
}

/// A store the scheduler may back up: Ready, with nothing in flight.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub id: Uuid,
    /// The store's own interval (None: the fleet's; 0: never).
    pub every_hours: Option<i32>,
    /// When its newest backup (any reason, any state) started.
    pub newest_started: Option<DateTime<Utc>>,
}

/// Ready, idle stores whose interval (their own, else `fleet_hours`) is
/// not zero; never a restore drill's throwaway store.
pub async fn candidates<'e>(
    exec: impl PgExecutor<'e>,
    fleet_hours: i32,
) -> Result<Vec<Candidate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.backup_every_hours AS every_hours, \
         (SELECT max(b.started_at) FROM backups b WHERE b.store_id = s.id) AS newest_started \
         FROM stores s WHERE s.status = $1 AND s.phase = $2 \
         AND coalesce(s.backup_every_hours, $3) > 0 \
         AND NOT EXISTS (SELECT 1 FROM drills t WHERE t.clone_id = s.id)",
    )
    .bind(Status::Ready.as_str())
    .bind(Phase::Done.as_str())
    .bind(fleet_hours)
    .fetch_all(exec)
    .await
}

/// A store's own interval: None when it follows the fleet's.
pub async fn every_hours<'e>(
    exec: impl PgExecutor<'e>,
    store: Uuid,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT backup_every_hours FROM stores WHERE id = $1")
        .bind(store)
        .fetch_one(exec)
        .await
}

/// A complete manual or scheduled backup, with what retention needs of its
/// store.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Kept {
    pub id: Uuid,
    pub store_id: Uuid,
    pub store_name: String,
    pub store_status: String,
    pub store_deleted_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub finished_at: DateTime<Utc>,
}

/// Every complete manual and scheduled backup (final ones expire on their
/// own), grouped by store.
pub async fn kept<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<Kept>, sqlx::Error> {
    sqlx::query_as(
        "SELECT b.id, b.store_id, s.name AS store_name, s.status AS store_status, \
         s.deleted_at AS store_deleted_at, b.reason, b.finished_at \
         FROM backups b JOIN stores s ON s.id = b.store_id \
         WHERE b.state = 'complete' AND b.reason IN ('manual', 'scheduled') \
         AND b.finished_at IS NOT NULL ORDER BY b.store_id, b.finished_at DESC",
    )
    .fetch_all(exec)
    .await
}

/// Upper bounds (seconds) of the backup duration histogram.
pub const DURATION_BUCKETS: [f64; 8] = [10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// The fleet's backups in figures, for /metrics (whole deployment).
#[derive(Debug, Default)]
pub struct Figures {
    /// (reason, state, count, bytes) of every backup row.
    pub by_state: Vec<(String, String, i64, i64)>,
    /// Complete or purged backups (ever written whole) at or under each of
    /// [`DURATION_BUCKETS`], then their count and total seconds.
    pub duration_buckets: Vec<i64>,
    pub duration_count: i64,
    pub duration_sum: f64,
    /// (namespace, seconds since its newest complete backup finished) of
    /// every live store that has one.
    pub newest_age: Vec<(String, f64)>,
    /// Ready stores with no complete backup finished in the last 24 h.
    pub ready_without_recent: i64,
}

pub async fn figures(pool: &sqlx::PgPool) -> Result<Figures, sqlx::Error> {
    let by_state: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT reason, state, count(*), coalesce(sum(bytes), 0)::bigint FROM backups \
         GROUP BY reason, state ORDER BY reason, state",
    )
    .fetch_all(pool)
    .await?;
    let bounds: Vec<f64> = DURATION_BUCKETS.to_vec();
    let (buckets, count, sum): (Vec<i64>, i64, f64) = sqlx::query_as(
        "WITH d AS (SELECT extract(epoch FROM finished_at - started_at)::float8 AS s \
           FROM backups WHERE state IN ('complete', 'purged') AND finished_at IS NOT NULL) \
         SELECT coalesce((SELECT array_agg((SELECT count(*) FROM d WHERE d.s <= b) ORDER BY b) \
                          FROM unnest($1::float8[]) b), '{}'), \
                (SELECT count(*) FROM d), coalesce((SELECT sum(s) FROM d), 0)::float8",
    )
    .bind(&bounds)
    .fetch_one(pool)
    .await?;
    let newest_age: Vec<(String, f64)> = sqlx::query_as(
        "SELECT s.namespace, extract(epoch FROM now() - n.finished_at)::float8 \
         FROM (SELECT DISTINCT ON (store_id) store_id, finished_at FROM backups \
               WHERE state = 'complete' AND finished_at IS NOT NULL \
               ORDER BY store_id, finished_at DESC) n \
         JOIN stores s ON s.id = n.store_id WHERE s.status <> 'Deleted' ORDER BY s.namespace",
    )
    .fetch_all(pool)
    .await?;
    let ready_without_recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stores s WHERE s.status = 'Ready' AND NOT EXISTS ( \
           SELECT 1 FROM backups b WHERE b.store_id = s.id AND b.state = 'complete' \
           AND b.finished_at > now() - interval '24 hours') \
         AND NOT EXISTS (SELECT 1 FROM drills t WHERE t.clone_id = s.id)",
    )
    .fetch_one(pool)
    .await?;
    Ok(Figures {
        by_state,
        duration_buckets: buckets,
        duration_count: count,
        duration_sum: sum,
        newest_age,
        ready_without_recent,
    })
}
