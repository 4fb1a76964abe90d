//! The `operations` table: durable work items that workers claim with a lease.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// Serialises claims so the count of running provisions is exact across every
/// process; held only for the length of one short transaction.
const CLAIM_LOCK: i64 = 0x5354_4f52_4557_0002;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Provision,
    Delete,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provision => "provision",
            Kind::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Operation {
    pub id: i64,
    pub store_id: Uuid,
    pub kind: String,
    pub state: String,
    pub step: Option<String>,
    pub claims: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub requested_by: String,
    pub via: String,
    pub error: Option<String>,
    pub helm_ms: i64,
    pub wait_ms: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Operation {
    pub fn kind(&self) -> Kind {
        if self.kind == "delete" {
            Kind::Delete
        } else {
            Kind::Provision
        }
    }
}

macro_rules! operation_columns {
    () => {
        "id, store_id, kind, state, step, claims, lease_owner, lease_expires_at, requested_by, via, \
     error, helm_ms, wait_ms, created_at, started_at, finished_at"
    };
}

pub async fn enqueue<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
    kind: Kind,
    requested_by: &str,
    via: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO operations (store_id, kind, requested_by, via) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(store_id)
    .bind(kind.as_str())
    .bind(requested_by)
    .bind(via)
    .fetch_one(exec)
    .await
}

pub async fn wake_workers<'e>(exec: impl PgExecutor<'e>) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::OPERATION_CHANNEL)
        .execute(exec)
        .await
        .map(|_| ())
}

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
    sqlx::query_as(sql)
        .bind(store_id)
        .fetch_optional(exec)
        .await
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: i64) -> Result<Option<Operation>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        operation_columns!(),
        " FROM operations WHERE id = $1"
    );
    sqlx::query_as(sql).bind(id).fetch_optional(exec).await
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
    sqlx::query_as(sql).bind(store_id).fetch_all(exec).await
}

/// Marks a store's unfinished operation as superseded (a delete replaces a
/// provision); the worker running it notices at its next lease renewal.
pub async fn supersede_active<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE operations SET state = 'superseded', finished_at = now(), lease_owner = NULL \
         WHERE store_id = $1 AND state IN ('queued', 'running')",
    )
    .bind(store_id)
    .execute(exec)
    .await
    .map(|r| r.rows_affected())
}

/// Claims the next operation for `worker`: a queued one, or a running one
/// whose lease has expired (its worker died). Deletes go first; provisions
/// only while fewer than `max_provisions` run with a live lease.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
    max_provisions: u32,
) -> Result<Option<Operation>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CLAIM_LOCK)
        .execute(&mut *tx)
        .await?;
    let sql: &str = concat!(
        "WITH running AS ( \
             SELECT count(*) AS n FROM operations \
             WHERE kind = 'provision' AND state = 'running' AND lease_expires_at > now()) \
         SELECT ",
        operation_columns!(),
        " FROM operations o \
         WHERE (o.state = 'queued' OR (o.state = 'running' AND o.lease_expires_at <= now())) \
           AND (o.kind = 'delete' OR (SELECT n FROM running) < $1) \
         ORDER BY (o.kind = 'delete') DESC, o.id \
         LIMIT 1 FOR UPDATE SKIP LOCKED"
    );
    let found: Option<Operation> = sqlx::query_as(sql)
        .bind(i64::from(max_provisions))
        .fetch_optional(&mut *tx)
        .await?;
    let Some(op) = found else {
        tx.commit().await?;
        return Ok(None);
    };
    let sql: &str = concat!(
        "UPDATE operations SET state = 'running', lease_owner = $2, \
         lease_expires_at = now() + make_interval(secs => $3), claims = claims + 1, \
         started_at = coalesce(started_at, now()) WHERE id = $1 RETURNING ",
        operation_columns!(),
        ""
    );
    let claimed: Operation = sqlx::query_as(sql)
        .bind(op.id)
        .bind(worker)
        .bind(lease.as_secs_f64())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(claimed))
}

/// Extends the lease; false when the operation is no longer this worker's
/// (lease lost to another worker, or superseded by a delete).
pub async fn renew(
    pool: &PgPool,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE operations SET lease_expires_at = now() + make_interval(secs => $3) \
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn set_step(
    pool: &PgPool,
    id: i64,
    worker: &str,
    step: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE operations SET step = $3 WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(step)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Finishes an operation if it is still this worker's; false otherwise.
pub async fn finish<'e>(
    exec: impl PgExecutor<'e>,
    id: i64,
    worker: &str,
    succeeded: bool,
    error: Option<&str>,
    helm: Duration,
    wait: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE operations SET state = $3, error = $4, finished_at = now(), lease_owner = NULL, \
         lease_expires_at = NULL, helm_ms = helm_ms + $5, wait_ms = wait_ms + $6 \
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(if succeeded { "succeeded" } else { "failed" })
    .bind(error)
    .bind(helm.as_millis() as i64)
    .bind(wait.as_millis() as i64)
    .execute(exec)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Hands a running operation back (graceful shutdown): another worker may
/// claim it at once instead of waiting for the lease to expire.
pub async fn release(pool: &PgPool, id: i64, worker: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE operations SET lease_expires_at = now() WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Operations waiting for a worker, for metrics.
pub async fn queued_count<'e>(exec: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM operations WHERE state = 'queued'")
        .fetch_one(exec)
        .await
}
