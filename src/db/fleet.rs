//! The `fleet_runs` and `fleet_items` tables: a fleet upgrade's plan and
//! progress. The engine's fleet module drives it, one transaction per step
//! under the run's row lock; the operations it queues go through the ledger.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

/// What a fleet run applies to each store, kept with the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FleetParams {
    /// `key=value` settings applied on top of each store's own.
    pub set: Vec<String>,
    /// The chart version asked for (checked against the shipped one).
    #[schema(required)]
    pub to: Option<String>,
    /// Only this owner's stores, when given.
    #[schema(required)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Stopped,
    Cancelled,
    Done,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Stopped => "stopped",
            RunState::Cancelled => "cancelled",
            RunState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Stopped,
            RunState::Cancelled,
            RunState::Done,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    Pending,
    Queued,
    Upgraded,
    Failed,
    Skipped,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Queued => "queued",
            ItemState::Upgraded => "upgraded",
            ItemState::Failed => "failed",
            ItemState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<ItemState> {
        [
            ItemState::Pending,
            ItemState::Queued,
            ItemState::Upgraded,
            ItemState::Failed,
            ItemState::Skipped,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FleetRun {
    pub id: i64,
    pub created_by: String,
    pub via: String,
    pub params: FleetParams,
    pub wave_size: i32,
    pub max_failures: i32,
    pub state: RunState,
    pub current_wave: i32,
    pub failures: i32,
    #[schema(required)]
    pub stop_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(required)]
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct RunRow {
    id: i64,
    created_by: String,
    via: String,
    params: sqlx::types::Json<serde_json::Value>,
    wave_size: i32,
    max_failures: i32,
    state: String,
    current_wave: i32,
    failures: i32,
    stop_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<RunRow> for FleetRun {
    fn from(r: RunRow) -> FleetRun {
        FleetRun {
            id: r.id,
            created_by: r.created_by,
            via: r.via,
            // Written only from FleetParams.
            params: serde_json::from_value(r.params.0).unwrap_or_default(),
            wave_size: r.wave_size,
            max_failures: r.max_failures,
            // The CHECK constraint keeps it to these names.
            state: RunState::parse(&r.state).unwrap_or(RunState::Stopped),
            current_wave: r.current_wave,
            failures: r.failures,
            stop_reason: r.stop_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

const RUN_COLUMNS: &str = "id, created_by, via, params, wave_size, max_failures, state, \
    current_wave, failures, stop_reason, created_at, updated_at, finished_at";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FleetItem {
    pub store_id: Uuid,
    pub store_name: String,
    pub namespace: String,
    pub wave: i32,
    pub state: ItemState,
    #[schema(required)]
    pub op_id: Option<i64>,
    #[schema(required)]
    pub detail: Option<String>,
}

#[derive(FromRow)]
struct ItemRow {
    store_id: Uuid,
    store_name: String,
    namespace: String,
    wave: i32,
    state: String,
    op_id: Option<i64>,
    detail: Option<String>,
}

pub async fn insert_run(
    conn: &mut PgConnection,
    created_by: &str,
    via: &str,
    params: &FleetParams,
    wave_size: i32,
    max_failures: i32,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO fleet_runs (created_by, via, params, wave_size, max_failures) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(created_by)
    .bind(via)
    .bind(sqlx::types::Json(params))
    .bind(wave_size)
    .bind(max_failures)
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_item(
    conn: &mut PgConnection,
    run: i64,
    store: Uuid,
    wave: i32,
    state: ItemState,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO fleet_items (run_id, store_id, wave, state, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(run)
    .bind(store)
    .bind(wave)
    .bind(state.as_str())
    .bind(detail)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: i64) -> Result<Option<FleetRun>, sqlx::Error> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM fleet_runs WHERE id = $1");
    let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(FleetRun::from))
}

/// The run, locked; None when another process holds it (it is advancing it).
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<FleetRun>, sqlx::Error> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM fleet_runs WHERE id = $1 FOR UPDATE SKIP LOCKED");
    let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(FleetRun::from))
}

/// The run, waiting for its lock (cancel and resume).
pub async fn lock_wait(conn: &mut PgConnection, id: i64) -> Result<Option<FleetRun>, sqlx::Error> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM fleet_runs WHERE id = $1 FOR UPDATE");
    let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(FleetRun::from))
}

/// Newest first.
pub async fn list<'e>(exec: impl PgExecutor<'e>, limit: i64) -> Result<Vec<FleetRun>, sqlx::Error> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM fleet_runs ORDER BY id DESC LIMIT $1");
    let rows: Vec<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(exec)
        .await?;
    Ok(rows.into_iter().map(FleetRun::from).collect())
}

pub async fn running_ids<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM fleet_runs WHERE state = 'running' ORDER BY id")
        .fetch_all(exec)
        .await
}

/// The run's stores in wave order.
pub async fn items<'e>(exec: impl PgExecutor<'e>, run: i64) -> Result<Vec<FleetItem>, sqlx::Error> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT i.store_id, s.name AS store_name, s.namespace, i.wave, i.state, i.op_id, i.detail \
         FROM fleet_items i JOIN stores s ON s.id = i.store_id \
         WHERE i.run_id = $1 ORDER BY i.wave, s.created_at, s.id",
    )
    .bind(run)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FleetItem {
            store_id: r.store_id,
            store_name: r.store_name,
            namespace: r.namespace,
            wave: r.wave,
            state: ItemState::parse(&r.state).unwrap_or(ItemState::Skipped),
            op_id: r.op_id,
            detail: r.detail,
        })
        .collect())
}

/// Queued items whose operation ended: upgraded or failed, with the
/// operation's error. Returns the stores that failed, with the reason.
pub async fn settle_queued(
    conn: &mut PgConnection,
    run: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query(
        "UPDATE fleet_items i SET state = 'upgraded', detail = NULL FROM operations o \
         WHERE i.run_id = $1 AND i.state = 'queued' AND o.id = i.op_id AND o.state = 'succeeded'",
    )
    .bind(run)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(
        "WITH failed AS ( \
             UPDATE fleet_items i SET state = 'failed', \
                 detail = coalesce(o.error, 'the operation was ' || o.state) \
             FROM operations o \
             WHERE i.run_id = $1 AND i.state = 'queued' AND o.id = i.op_id \
               AND o.state IN ('failed', 'superseded') \
             RETURNING i.store_id, i.detail) \
         SELECT s.name, failed.detail FROM failed JOIN stores s ON s.id = failed.store_id",
    )
    .bind(run)
    .fetch_all(&mut *conn)
    .await
}

pub async fn count_in_state(
    conn: &mut PgConnection,
    run: i64,
    state: ItemState,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM fleet_items WHERE run_id = $1 AND state = $2")
        .bind(run)
        .bind(state.as_str())
        .fetch_one(&mut *conn)
        .await
}

/// The pending stores of the lowest wave that has any.
pub async fn next_pending(
    conn: &mut PgConnection,
    run: i64,
) -> Result<Option<(i32, Vec<Uuid>)>, sqlx::Error> {
    let wave: Option<i32> = sqlx::query_scalar(
        "SELECT min(wave) FROM fleet_items WHERE run_id = $1 AND state = 'pending'",
    )
    .bind(run)
    .fetch_one(&mut *conn)
    .await?;
    let Some(wave) = wave else {
        return Ok(None);
    };
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT store_id FROM fleet_items WHERE run_id = $1 AND state = 'pending' AND wave = $2",
    )
    .bind(run)
    .bind(wave)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some((wave, ids)))
}

pub async fn set_item(
    conn: &mut PgConnection,
    run: i64,
    store: Uuid,
    state: ItemState,
    op_id: Option<i64>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE fleet_items SET state = $3, op_id = coalesce($4, op_id), detail = $5 \
         WHERE run_id = $1 AND store_id = $2",
    )
    .bind(run)
    .bind(store)
    .bind(state.as_str())
    .bind(op_id)
    .bind(detail)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

pub async fn set_run(
    conn: &mut PgConnection,
    run: i64,
    state: RunState,
    current_wave: i32,
    failures: i32,
    stop_reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE fleet_runs SET state = $2, current_wave = $3, failures = $4, stop_reason = $5, \
         updated_at = now(), \
         finished_at = CASE WHEN $2 IN ('done', 'cancelled') THEN now() ELSE NULL END \
         WHERE id = $1",
    )
    .bind(run)
    .bind(state.as_str())
    .bind(current_wave)
    .bind(failures)
    .bind(stop_reason)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Puts items back to pending (a resumed run retries its failed stores and
/// the ones a cancel skipped).
pub async fn reopen(conn: &mut PgConnection, run: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE fleet_items SET state = 'pending', detail = NULL \
         WHERE run_id = $1 AND (state = 'failed' OR (state = 'skipped' AND detail = 'cancelled'))",
    )
    .bind(run)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected())
}

/// Pending items become skipped (a cancel).
pub async fn skip_pending(conn: &mut PgConnection, run: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE fleet_items SET state = 'skipped', detail = 'cancelled' \
         WHERE run_id = $1 AND state = 'pending'",
    )
    .bind(run)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected())
}

/// Announces a change of a run to every face that follows fleet runs.
pub async fn notify(conn: &mut PgConnection, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(FLEET_CHANNEL)
        .bind(run.to_string())
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub const FLEET_CHANNEL: &str = "store_weaver_fleet";
