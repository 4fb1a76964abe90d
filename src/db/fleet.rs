//! The `fleet_runs` and `fleet_items` tables: a fleet upgrade's plan and
//! progress. The engine's fleet module drives it, one transaction per step
//! under the run's row lock; the operations it queues go through the ledger,
//! and the run's own state changes follow the ledger's pattern
//! ([`change_run`]: one statement per change, guarded by the states the
//! change may start from).

use super::audit;
use crate::store::Actor;
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
    /// The engine whose stores the run upgrades (a run is per engine).
    pub engine: crate::engines::EngineKind,
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

/// A change of a run's state. Like the ledger's changes of a store, each is
/// one statement guarded by the states the run may be in for it
/// ([`RunChange::from`]): the run, its items, the audit entry and the
/// announcement together, or nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunChange<'a> {
    /// The run goes on: `wave` is the wave under way, `failures` so far.
    Progress { wave: i32, failures: i32 },
    /// The failure budget is spent: no new wave is queued.
    Stop { failures: i32, reason: &'a str },
    /// Every wave ended.
    Finish { failures: i32 },
    /// The stores not yet queued are skipped.
    Cancel,
    /// Failed stores and the ones a cancel skipped are tried again; the
    /// failure budget counts afresh.
    Resume,
}

/// The detail of items a cancel skipped (a resume takes them back).
const CANCELLED: &str = "cancelled";

impl RunChange<'_> {
    /// The states a run may be in for this change (pure: the rule).
    pub fn from(&self) -> &'static [RunState] {
        match self {
            RunChange::Progress { .. } | RunChange::Stop { .. } | RunChange::Finish { .. } => {
                &[RunState::Running]
            }
            RunChange::Cancel => &[RunState::Running, RunState::Stopped],
            RunChange::Resume => &[RunState::Stopped, RunState::Cancelled],
        }
    }

    /// The state the run is in after it.
    pub fn to(&self) -> RunState {
        match self {
            RunChange::Progress { .. } | RunChange::Resume => RunState::Running,
            RunChange::Stop { .. } => RunState::Stopped,
            RunChange::Finish { .. } => RunState::Done,
            RunChange::Cancel => RunState::Cancelled,
        }
    }

    pub fn allowed(&self, state: RunState) -> bool {
        self.from().contains(&state)
    }

    /// What it does to the run's items (`change_run`'s parameters: $14
    /// pending, $15 skipped, $16 failed, $17 the detail of a cancel).
    fn items_sql(&self) -> &'static str {
        match self {
            RunChange::Cancel => {
                "UPDATE fleet_items i SET state = $15, detail = $17 FROM run \
                 WHERE i.run_id = run.id AND i.state = $14 RETURNING 1"
            }
            RunChange::Resume => {
                "UPDATE fleet_items i SET state = $14, detail = NULL FROM run \
                 WHERE i.run_id = run.id AND (i.state = $16 OR (i.state = $15 AND i.detail = $17)) \
                 RETURNING 1"
            }
            _ => "SELECT 1 WHERE false",
        }
    }
}

/// How many items a [`RunChange::Resume`] takes back (asked under the run's
/// lock, so the change that follows moves exactly these).
pub async fn count_reopenable(conn: &mut PgConnection, run: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM fleet_items \
         WHERE run_id = $1 AND (state = $2 OR (state = $3 AND detail = $4))",
    )
    .bind(run)
    .bind(ItemState::Failed.as_str())
    .bind(ItemState::Skipped.as_str())
    .bind(CANCELLED)
    .fetch_one(&mut *conn)
    .await
}

/// The audit entry that goes with a change of a run.
pub struct RunAudit<'a> {
    pub actor: &'a Actor,
    pub outcome: audit::Outcome,
    pub detail: &'a str,
}

/// Makes `change` to the run, with its audit entry, if the run is in a
/// state it allows; false (and nothing written) otherwise.
pub async fn change_run(
    conn: &mut PgConnection,
    run: i64,
    change: RunChange<'_>,
    entry: Option<RunAudit<'_>>,
) -> Result<bool, sqlx::Error> {
    let (wave, failures, reason) = match change {
        RunChange::Progress { wave, failures } => (Some(wave), Some(failures), None),
        RunChange::Stop { failures, reason } => (None, Some(failures), Some(reason)),
        RunChange::Finish { failures } => (None, Some(failures), None),
        RunChange::Cancel => (None, None, Some(CANCELLED)),
        RunChange::Resume => (None, Some(0), None),
    };
    let to = change.to();
    let from: Vec<&str> = change.from().iter().map(|s| s.as_str()).collect();
    let sql = format!(
        "WITH run AS (UPDATE fleet_runs SET state = $2, current_wave = coalesce($3, current_wave), \
                      failures = coalesce($4, failures), stop_reason = $5, updated_at = now(), \
                      finished_at = CASE WHEN $6 THEN now() END \
                      WHERE id = $1 AND state = ANY($7) RETURNING id), \
         items AS ({}), \
         au AS (INSERT INTO audit_log (actor, via, action, outcome, detail) \
                SELECT $8, $9, $10, $11, $12 FROM run WHERE $8 IS NOT NULL) \
         SELECT run.id FROM run, LATERAL (SELECT pg_notify($13, run.id::text)) n",
        change.items_sql()
    );
    let row: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(run)
        .bind(to.as_str())
        .bind(wave)
        .bind(failures)
        .bind(reason)
        .bind(matches!(to, RunState::Done | RunState::Cancelled))
        .bind(from)
        .bind(entry.as_ref().map(|e| e.actor.user.as_str()))
        .bind(entry.as_ref().map(|e| e.actor.via.as_str()))
        .bind(audit::Action::Fleet.as_str())
        .bind(entry.as_ref().map(|e| e.outcome.as_str()))
        .bind(
            entry
                .as_ref()
                .map(|e| crate::text::bound_message(e.detail, audit::MAX_DETAIL_CHARS)),
        )
        .bind(FLEET_CHANNEL)
        .bind(ItemState::Pending.as_str())
        .bind(ItemState::Skipped.as_str())
        .bind(ItemState::Failed.as_str())
        .bind(CANCELLED)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every change from every state: allowed only from the states its rule
    /// names, and where it leaves the run.
    #[test]
    fn a_run_changes_only_from_the_states_its_rule_allows() {
        use RunState::*;
        let all = [Running, Stopped, Cancelled, Done];
        let table = [
            (
                RunChange::Progress {
                    wave: 2,
                    failures: 0,
                },
                &[Running][..],
                Running,
            ),
            (
                RunChange::Stop {
                    failures: 1,
                    reason: "x",
                },
                &[Running][..],
                Stopped,
            ),
            (RunChange::Finish { failures: 0 }, &[Running][..], Done),
            (RunChange::Cancel, &[Running, Stopped][..], Cancelled),
            (RunChange::Resume, &[Stopped, Cancelled][..], Running),
        ];
        for (change, from, to) in table {
            for state in all {
                assert_eq!(
                    change.allowed(state),
                    from.contains(&state),
                    "{change:?} from {state}"
                );
            }
            assert_eq!(change.to(), to, "{change:?}");
        }
        // A finished run never changes again.
        assert!(table.iter().all(|(c, _, _)| !c.allowed(Done)));
    }
}
