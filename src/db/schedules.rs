//! What the backup schedule and retention read: each store's interval
//! (its own or the fleet's), when its newest backup started, and the
//! backups retention chooses among. Writes go through the ledger.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::store::{Phase, Status};

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
/// not zero.
pub async fn candidates<'e>(
    exec: impl PgExecutor<'e>,
    fleet_hours: i32,
) -> Result<Vec<Candidate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.backup_every_hours AS every_hours, \
         (SELECT max(b.started_at) FROM backups b WHERE b.store_id = s.id) AS newest_started \
         FROM stores s WHERE s.status = $1 AND s.phase = $2 \
         AND coalesce(s.backup_every_hours, $3) > 0",
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
