//! The `operations` table: durable work items that workers claim with a
//! lease. Reads only: every change of an operation goes through `ledger`.

use crate::store::{Phase, Via};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

/// The kind of an operation is the lifecycle's: what a request queues.
pub use crate::store::lifecycle::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Running,
    Succeeded,
    Failed,
    Superseded,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl State {
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Running,
        State::Succeeded,
        State::Failed,
        State::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What an upgrade or rollback is to do, kept with the operation so that a
/// worker resuming it after a crash knows the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Params {
    /// The store's settings after the change (upgrades).
    pub settings: crate::store::StoreSettings,
    /// The chart version the upgrade installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_version: Option<String>,
    /// The revision a rollback returns to; None = the one before the current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// The fleet run that queued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet_run: Option<i64>,
    /// The backup written back into the store: in place (a restore), or
    /// into the store being provisioned (an undelete, a clone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<Uuid>,
    /// Why a backup operation runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::backup::Reason>,
    /// A delete asked for without its final backup.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_backup: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    pub id: i64,
    pub store_id: Uuid,
    pub kind: Kind,
    pub state: State,
    pub step: Option<Phase>,
    /// How many times a worker claimed it; also the fencing token of the
    /// current claim.
    pub claims: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub requested_by: String,
    pub via: Via,
    pub error: Option<String>,
    pub helm_ms: i64,
    pub wait_ms: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub params: Params,
    /// The Helm revision the store was at when the change was asked for.
    pub from_revision: Option<i32>,
}

/// An operation row as read; `ledger` reads one back from the claim.
#[derive(FromRow)]
pub(super) struct Row {
    id: i64,
    store_id: Uuid,
    kind: String,
    state: String,
    step: Option<String>,
    claims: i32,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    requested_by: String,
    via: String,
    error: Option<String>,
    helm_ms: i64,
    wait_ms: i64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    params: sqlx::types::Json<serde_json::Value>,
    from_revision: Option<i32>,
}

impl From<Row> for Operation {
    fn from(r: Row) -> Operation {
        Operation {
            id: r.id,
            store_id: r.store_id,
            // CHECK constraints keep kind and state to the known names.
            kind: Kind::parse(&r.kind).unwrap_or(Kind::Provision),
            state: State::parse(&r.state).unwrap_or(State::Failed),
            step: r.step.as_deref().and_then(Phase::parse),
            claims: r.claims,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            requested_by: r.requested_by,
            via: Via::parse(&r.via).unwrap_or(Via::Worker),
            error: r.error,
            helm_ms: r.helm_ms,
            wait_ms: r.wait_ms,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            // Written only from `Params`.
            params: serde_json::from_value(r.params.0).unwrap_or_default(),
            from_revision: r.from_revision,
        }
    }
}

macro_rules! operation_columns {
    () => {
        "id, store_id, kind, state, step, claims, lease_owner, lease_expires_at, requested_by, via, \
     error, helm_ms, wait_ms, created_at, started_at, finished_at, params, from_revision"
    };
}
pub(super) use operation_columns;

/// The unfinished operation of a store, if any.
pub async fn active_for<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Option<Operation>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        operation_columns!(),
        " FROM operations WHERE store_id = $1 AND state IN ('queued', 'running')"
    );
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(store_id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(Operation::from))
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: i64) -> Result<Option<Operation>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        operation_columns!(),
        " FROM operations WHERE id = $1"
    );
    let row: Option<Row> = sqlx::query_as(sql).bind(id).fetch_optional(exec).await?;
    Ok(row.map(Operation::from))
}

pub async fn for_store<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Vec<Operation>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        operation_columns!(),
        " FROM operations WHERE store_id = $1 ORDER BY id"
    );
    let rows: Vec<Row> = sqlx::query_as(sql).bind(store_id).fetch_all(exec).await?;
    Ok(rows.into_iter().map(Operation::from).collect())
}

/// Operations waiting for a worker, for metrics.
pub async fn queued_count<'e>(exec: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM operations WHERE state = 'queued'")
        .fetch_one(exec)
        .await
}
