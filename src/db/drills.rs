//! The `drills` table: each restore drill's course and result.
//!
//! A drill moves queued → restoring → removing → done. Each move is one
//! statement guarded by the phase it leaves (a second process acting on the
//! same drill changes nothing), written with its audit entry in the same
//! transaction, as the ledger does for operations. The driver
//! (`engine::drill`) holds the drill's row lock while it acts on a step.

use crate::db::audit::{self, Action, Outcome as AuditOutcome};
use crate::store::{Actor, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = DrillPhase)]
pub enum Phase {
    /// Waiting for a drill slot (`drill_concurrency`).
    Queued,
    /// Its throwaway store is being provisioned from the backup and checked.
    Restoring,
    /// The result is known; the throwaway store is being deleted.
    Removing,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Restoring => "restoring",
            Phase::Removing => "removing",
            Phase::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        [
            Phase::Queued,
            Phase::Restoring,
            Phase::Removing,
            Phase::Done,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = DrillOutcome)]
pub enum Outcome {
    /// The backup was restored, the store became ready, and it holds what
    /// the backup's manifest counts.
    Passed,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Passed, Outcome::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Why a drill ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = DrillReason)]
pub enum Reason {
    Manual,
    Scheduled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Manual => "manual",
            Reason::Scheduled => "scheduled",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [Reason::Manual, Reason::Scheduled]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Drill {
    pub id: Uuid,
    pub store_id: Uuid,
    pub reason: Reason,
    pub phase: Phase,
    /// Null until the restore was checked (or could not start).
    #[schema(required)]
    pub outcome: Option<Outcome>,
    /// The backup restored (null until the drill started).
    #[schema(required)]
    pub backup_id: Option<Uuid>,
    /// The throwaway store it restored into, while it exists.
    #[schema(required)]
    pub clone_id: Option<Uuid>,
    /// What the check found, or why it failed.
    #[schema(required)]
    pub detail: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    #[schema(required)]
    pub started_at: Option<DateTime<Utc>>,
    /// When the restore was found good or bad.
    #[schema(required)]
    pub checked_at: Option<DateTime<Utc>>,
    #[schema(required)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Drill {
    /// Seconds from the drill's start to its check: how long a restore of
    /// this store takes.
    pub fn restore_secs(&self) -> Option<f64> {
        let (s, c) = (self.started_at?, self.checked_at?);
        Some((c - s).num_milliseconds() as f64 / 1000.0)
    }
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    store_id: Uuid,
    reason: String,
    phase: String,
    outcome: Option<String>,
    backup_id: Option<Uuid>,
    clone_id: Option<Uuid>,
    detail: Option<String>,
    requested_by: String,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    checked_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Drill {
    type Error = sqlx::Error;

    /// A stored value this version does not know is an error, not a guess.
    fn try_from(r: Row) -> Result<Drill, sqlx::Error> {
        let bad = |what: &str, v: &str| {
            sqlx::Error::Decode(format!("drill {}: unknown {what} {v:?}", r.id).into())
        };
        Ok(Drill {
            reason: Reason::parse(&r.reason).ok_or_else(|| bad("reason", &r.reason))?,
            phase: Phase::parse(&r.phase).ok_or_else(|| bad("phase", &r.phase))?,
            outcome: match r.outcome.as_deref() {
                Some(o) => Some(Outcome::parse(o).ok_or_else(|| bad("outcome", o))?),
                None => None,
            },
            id: r.id,
            store_id: r.store_id,
            backup_id: r.backup_id,
            clone_id: r.clone_id,
            detail: r.detail,
            requested_by: r.requested_by,
            created_at: r.created_at,
            started_at: r.started_at,
            checked_at: r.checked_at,
            finished_at: r.finished_at,
        })
    }
}

const COLUMNS: &str = "id, store_id, reason, phase, outcome, backup_id, clone_id, detail, \
                       requested_by, created_at, started_at, checked_at, finished_at";

fn rows(rows: Vec<Row>) -> Result<Vec<Drill>, sqlx::Error> {
    rows.into_iter().map(Drill::try_from).collect()
}

/// A drill of `store` queued, audited. A unique violation: one is open.
pub async fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    store: &Store,
    reason: Reason,
) -> Result<Drill, sqlx::Error> {
    let sql = format!(
        "INSERT INTO drills (id, store_id, reason, requested_by) VALUES ($1, $2, $3, $4) \
         RETURNING {COLUMNS}"
    );
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::new_v4())
        .bind(store.id)
        .bind(reason.as_str())
        .bind(&actor.user)
        .fetch_one(&mut *conn)
        .await?;
    audit::record(
        &mut *conn,
        &audit::Record {
            actor,
            action: Action::Drill,
            store_id: Some(store.id),
            store_name: Some(&store.name),
            outcome: AuditOutcome::Accepted,
            detail: Some(&format!("{} restore drill queued", reason.as_str())),
        },
    )
    .await?;
    Drill::try_from(row)
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> Result<Option<Drill>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM drills WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?;
    row.map(Drill::try_from).transpose()
}

/// A store's drills, newest first.
pub async fn for_store<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
    limit: i64,
) -> Result<Vec<Drill>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM drills WHERE store_id = $1 ORDER BY created_at DESC LIMIT $2"
    );
    rows(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store_id)
            .bind(limit)
            .fetch_all(exec)
            .await?,
    )
}

/// When the store's newest passed drill was checked.
pub async fn last_passed<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(checked_at) FROM drills WHERE store_id = $1 AND outcome = 'passed'",
    )
    .bind(store_id)
    .fetch_one(exec)
    .await
}

/// Held while one process queues the due drills (see `db::schedules`).
const SCHEDULE_LOCK: i64 = 0x5357_4452_494c_4c53; // "SWDRILLS"

/// Takes the drill scheduler's lock for the transaction, if no other
/// process holds it; false when one does.
pub async fn try_scheduler_lock(tx: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SCHEDULE_LOCK)
        .fetch_one(tx)
        .await
}

/// Held while a drill is started, to its commit: the count of drills
/// restoring and the start are one step across processes, so two cannot
/// both see a free slot (`drill_concurrency` stays exact).
const START_LOCK: i64 = 0x5357_4452_5354_5254; // "SWDRSTRT"

/// Takes the drill start lock for the transaction, waiting for it.
pub async fn lock_starts(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(START_LOCK)
        .execute(tx)
        .await
        .map(drop)
}

/// The drills not done, oldest first.
pub async fn open<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM drills WHERE phase <> 'done' ORDER BY created_at")
        .fetch_all(exec)
        .await
}

/// The drill, locked for the transaction; None when another process holds
/// it (it is acting on it) or it is gone.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Drill>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM drills WHERE id = $1 FOR UPDATE SKIP LOCKED");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Drill::try_from).transpose()
}

/// Drills holding a slot: restoring into a throwaway store.
pub async fn restoring<'e>(exec: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM drills WHERE phase = 'restoring'")
        .fetch_one(exec)
        .await
}

/// Whether `store` is a drill's throwaway store.
pub async fn is_throwaway<'e>(exec: impl PgExecutor<'e>, store: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM drills WHERE clone_id = $1)")
        .bind(store)
        .fetch_one(exec)
        .await
}

/// queued → restoring, into the throwaway store `clone` from `backup`.
pub async fn started(
    conn: &mut PgConnection,
    id: Uuid,
    backup: Uuid,
    clone: Uuid,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE drills SET phase = 'restoring', backup_id = $2, clone_id = $3, started_at = now() \
         WHERE id = $1 AND phase = 'queued'",
    )
    .bind(id)
    .bind(backup)
    .bind(clone)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The drill's result, audited: to `removing` while its throwaway store
/// exists (`clone_left`), else done.
pub async fn checked(
    conn: &mut PgConnection,
    actor: &Actor,
    drill: &Drill,
    store_name: &str,
    outcome: Outcome,
    detail: &str,
    clone_left: bool,
) -> Result<bool, sqlx::Error> {
    let next = if clone_left {
        Phase::Removing
    } else {
        Phase::Done
    };
    let n = sqlx::query(
        "UPDATE drills SET phase = $2, outcome = $3, detail = $4, checked_at = now(), \
         finished_at = CASE WHEN $2 = 'done' THEN now() END, \
         clone_id = CASE WHEN $5 THEN clone_id END \
         WHERE id = $1 AND phase IN ('queued', 'restoring')",
    )
    .bind(drill.id)
    .bind(next.as_str())
    .bind(outcome.as_str())
    .bind(detail)
    .bind(clone_left)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    let (action, result) = match outcome {
        Outcome::Passed => (Action::DrillPassed, AuditOutcome::Ok),
        Outcome::Failed => (Action::DrillFailed, AuditOutcome::Failed),
    };
    audit::record(
        &mut *conn,
        &audit::Record {
            actor,
            action,
            store_id: Some(drill.store_id),
            store_name: Some(store_name),
            outcome: result,
            detail: Some(detail),
        },
    )
    .await?;
    Ok(true)
}

/// removing → done: the throwaway store is gone (or, with `note`, could
/// not be removed and is left for an operator, the note saying so).
pub async fn finished(
    conn: &mut PgConnection,
    id: Uuid,
    note: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE drills SET phase = 'done', finished_at = now(), \
         detail = CASE WHEN $2::text IS NULL THEN detail ELSE concat_ws('; ', detail, $2) END \
         WHERE id = $1 AND phase = 'removing'",
    )
    .bind(id)
    .bind(note)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A store the drill scheduler may drill: live and Ready, with a complete
/// backup, not itself a drill's throwaway store; and when its newest drill
/// was asked for.
#[derive(Debug, Clone, FromRow)]
pub struct Candidate {
    pub id: Uuid,
    pub newest_drill: Option<DateTime<Utc>>,
}

pub async fn candidates<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<Candidate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, (SELECT max(d.created_at) FROM drills d WHERE d.store_id = s.id) AS newest_drill \
         FROM stores s WHERE s.status = 'Ready' \
         AND EXISTS (SELECT 1 FROM backups b WHERE b.store_id = s.id AND b.state = 'complete') \
         AND NOT EXISTS (SELECT 1 FROM drills t WHERE t.clone_id = s.id)",
    )
    .fetch_all(exec)
    .await
}

/// The fleet's drills in figures, for /metrics and `doctor`.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Finished drills by outcome: (passed, failed).
    pub passed: i64,
    pub failed: i64,
    /// Drills not done.
    pub open: i64,
    /// (namespace, seconds since its newest passed drill was checked) of
    /// every live store that has one.
    pub last_good_age: Vec<(String, f64)>,
    /// Live stores whose newest finished drill failed: their names.
    pub failing: Vec<String>,
    /// Ready stores with a complete backup and no passed drill within
    /// `within_secs` (not throwaway stores).
    pub undrilled: i64,
}

pub async fn figures(pool: &sqlx::PgPool, within_secs: f64) -> Result<Figures, sqlx::Error> {
    let (passed, failed, open): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome = 'passed'), count(*) FILTER (WHERE outcome = 'failed'), \
         count(*) FILTER (WHERE phase <> 'done') FROM drills",
    )
    .fetch_one(pool)
    .await?;
    let last_good_age: Vec<(String, f64)> = sqlx::query_as(
        "SELECT s.namespace, extract(epoch FROM now() - d.t)::float8 \
         FROM (SELECT store_id, max(checked_at) AS t FROM drills WHERE outcome = 'passed' \
               GROUP BY store_id) d \
         JOIN stores s ON s.id = d.store_id WHERE s.status <> 'Deleted' ORDER BY s.namespace",
    )
    .fetch_all(pool)
    .await?;
    let failing: Vec<String> = sqlx::query_scalar(
        "SELECT s.name FROM (SELECT DISTINCT ON (store_id) store_id, outcome FROM drills \
               WHERE outcome IS NOT NULL ORDER BY store_id, checked_at DESC) d \
         JOIN stores s ON s.id = d.store_id \
         WHERE d.outcome = 'failed' AND s.status <> 'Deleted' ORDER BY s.name",
    )
    .fetch_all(pool)
    .await?;
    let undrilled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stores s WHERE s.status = 'Ready' \
         AND EXISTS (SELECT 1 FROM backups b WHERE b.store_id = s.id AND b.state = 'complete') \
         AND NOT EXISTS (SELECT 1 FROM drills t WHERE t.clone_id = s.id) \
         AND NOT EXISTS (SELECT 1 FROM drills d WHERE d.store_id = s.id AND d.outcome = 'passed' \
                         AND d.checked_at > now() - make_interval(secs => $1))",
    )
    .bind(within_secs)
    .fetch_one(pool)
    .await?;
    Ok(Figures {
        passed,
        failed,
        open,
        last_good_age,
        failing,
        undrilled,
    })
}
