//! The ledger: the one owner of every change to a store's status and phase
//! and to an operation's state. Each change is one transaction that writes the
//! store, the operation and the audit entry together; the trigger on
//! `stores` announces the change (migration 20261201220000), and the ledger
//! announces on the operation channel when there may be work to take.
//!
//! Requests (create, retry, delete) take the transaction their caller opened
//! to check limits under a lock. Workers prove they still hold the
//! operation's lease with a [`Lease`]: every write of theirs is conditional on
//! the lease being this claim's (worker and claim count, the fencing token)
//! and not run out, so a worker that lost its lease changes nothing.

use super::audit::{self, Action, Outcome as AuditOutcome};
use super::operations::{Kind, Operation, Params, State};
use super::stores;
use crate::store::{Actor, Phase, Status, Store, StoreSettings, Via};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::time::Duration;
use uuid::Uuid;

/// Serialises claims so the count of running provisions is exact across every
/// process; held only for the length of one short transaction.
const CLAIM_LOCK: i64 = 0x5354_4f52_4557_0002;

/// The condition every worker write carries: this claim still holds the lease.
/// $1 operation id, $2 worker, $3 claim count.
const HELD: &str = "id = $1 AND lease_owner = $2 AND claims = $3 AND state = 'running' \
                    AND lease_expires_at > now()";

/// A worker's claim on an operation: the fencing token is `claim`, the
/// claim count at the time it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub op_id: i64,
    pub store_id: Uuid,
    pub kind: Kind,
    pub worker: String,
    pub claim: i32,
}

impl Lease {
    pub fn of(op: &Operation, worker: &str) -> Lease {
        Lease {
            op_id: op.id,
            store_id: op.store_id,
            kind: op.kind,
            worker: worker.to_string(),
            claim: op.claims,
        }
    }
}

/// A Helm revision of a store as the platform made it: what the record
/// says the store runs once the operation ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub revision: i32,
    pub chart_version: String,
    pub settings: StoreSettings,
}

/// What a worker's operation came to. The ledger turns it into the store's
/// new status, the operation's end state and the audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    ProvisionFailed(String),
    Deleted,
    DeleteFailed(String),
    /// An upgrade or rollback that ended healthy; `detail` says from/to.
    Changed {
        kind: Kind,
        release: Recorded,
        detail: String,
    },
    /// A change that was refused by the cluster's state, or did not become
    /// healthy and was rolled back: the store is Ready on its old settings,
    /// `release` is the revision it runs now; `reason` says why.
    NotChanged {
        release: Recorded,
        reason: String,
    },
    /// A change that could not be made nor undone: the store is Failed, and
    /// retrying it re-installs the recorded settings.
    ChangeFailed {
        kind: Kind,
        message: String,
    },
    /// A backup that was written whole and checked; the store is as it was.
    BackedUp(String),
    /// A backup that failed; nothing of it is listed as good, the store is
    /// as it was.
    BackupFailed(String),
    /// A restore in place that ended healthy: the store is Ready.
    Restored(String),
    /// A restore that did not: the store is Failed, with what to do.
    RestoreFailed(String),
    /// A restore refused before anything was written (the backup did not
    /// check out): the store is Ready as it was.
    RestoreRefused(String),
}

impl Outcome {
    fn succeeded(&self) -> bool {
        matches!(
            self,
            Outcome::Ready
                | Outcome::Deleted
                | Outcome::Changed { .. }
                | Outcome::BackedUp(_)
                | Outcome::Restored(_)
        )
    }

    fn error(&self) -> Option<&str> {
        match self {
            Outcome::ProvisionFailed(m) | Outcome::DeleteFailed(m) => Some(m),
            Outcome::NotChanged { reason, .. } => Some(reason),
            Outcome::ChangeFailed { message, .. } => Some(message),
            Outcome::BackupFailed(m) | Outcome::RestoreFailed(m) | Outcome::RestoreRefused(m) => {
                Some(m)
            }
            Outcome::Ready
            | Outcome::Deleted
            | Outcome::Changed { .. }
            | Outcome::BackedUp(_)
            | Outcome::Restored(_) => None,
        }
    }

    /// The store's status after this outcome.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Ready
            | Outcome::Changed { .. }
            | Outcome::NotChanged { .. }
            | Outcome::BackedUp(_)
            | Outcome::BackupFailed(_)
            | Outcome::Restored(_)
            | Outcome::RestoreRefused(_) => Status::Ready,
            Outcome::ProvisionFailed(_)
            | Outcome::ChangeFailed { .. }
            | Outcome::RestoreFailed(_) => Status::Failed,
            Outcome::Deleted => Status::Deleted,
            Outcome::DeleteFailed(_) => Status::DeleteFailed,
        }
    }

    fn action(&self) -> Action {
        match self {
            Outcome::Ready => Action::Ready,
            Outcome::ProvisionFailed(_) => Action::Failed,
            Outcome::Deleted => Action::Deleted,
            Outcome::DeleteFailed(_) => Action::DeleteFailed,
            Outcome::Changed {
                kind: Kind::Rollback,
                ..
            } => Action::RolledBack,
            Outcome::Changed { .. } => Action::Upgraded,
            Outcome::NotChanged { .. } => Action::UpgradeFailed,
            Outcome::ChangeFailed {
                kind: Kind::Rollback,
                ..
            } => Action::RollbackFailed,
            Outcome::ChangeFailed { .. } => Action::UpgradeFailed,
            Outcome::BackedUp(_) => Action::BackedUp,
            Outcome::BackupFailed(_) => Action::BackupFailed,
            Outcome::Restored(_) => Action::Restored,
            Outcome::RestoreFailed(_) | Outcome::RestoreRefused(_) => Action::RestoreFailed,
        }
    }

    fn release(&self) -> Option<&Recorded> {
        match self {
            Outcome::Changed { release, .. } | Outcome::NotChanged { release, .. } => Some(release),
            _ => None,
        }
    }

    /// The audit entry's detail: the error, or what changed.
    fn detail(&self) -> Option<&str> {
        match self {
            Outcome::Changed { detail, .. } => Some(detail),
            Outcome::BackedUp(d) | Outcome::Restored(d) => Some(d),
            _ => self.error(),
        }
    }
}

/// Time spent outside Store Weaver (helm, waiting for Kubernetes), kept with
/// the operation for the overhead figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timing {
    pub helm: Duration,
    pub wait: Duration,
}

// ---------------------------------------------------------------------------
// Requests: each takes the caller's transaction (which holds the locks its
// checks needed), and commits it.

/// A new store, queued for provisioning.
pub async fn create(
    mut tx: Transaction<'_, Postgres>,
    new: &stores::NewStore<'_>,
    actor: &Actor,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    stores::insert(&mut *tx, new).await?;
    accept(
        tx,
        actor,
        new.id,
        new.name,
        Kind::Provision,
        Action::Create,
        detail,
    )
    .await
}

/// A new store whose provision writes `backup` (another store's) into it:
/// a clone. As [`create`], with the backup in the operation's params.
pub async fn create_from(
    mut tx: Transaction<'_, Postgres>,
    new: &stores::NewStore<'_>,
    actor: &Actor,
    detail: &str,
    backup: Uuid,
) -> Result<Store, sqlx::Error> {
    stores::insert(&mut *tx, new).await?;
    let op = NewOp {
        kind: Kind::Provision,
        params: Params {
            restore: Some(backup),
            ..Params::default()
        },
        from_revision: None,
    };
    accept_op(tx, actor, new.id, new.name, &op, Action::Create, detail).await
}

/// A failed provision, provisioning again: same record, back to Provisioning.
pub async fn retry_provision(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
) -> Result<Store, sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET status = $2, phase = $3, error_message = NULL, \
         attempts = attempts + 1, ready_at = NULL, provision_started_at = NULL, updated_at = now() \
         WHERE id = $1",
    )
    .bind(store.id)
    .bind(Status::Provisioning.as_str())
    .bind(Phase::Queued.as_str())
    .execute(&mut *tx)
    .await?;
    // A store that failed while coming back from a backup (an undelete, a
    // clone) comes back from it again: its last operation says which.
    let restore: Option<Uuid> = sqlx::query_scalar(
        "SELECT (params->>'restore')::uuid FROM operations WHERE store_id = $1 \
         AND id = (SELECT max(id) FROM operations WHERE store_id = $1) \
         AND kind = 'provision' AND state = 'failed'",
    )
    .bind(store.id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let mut detail = format!("attempt {}", store.attempts + 1);
    if let Some(b) = restore {
        detail.push_str(&format!(", from backup {b}"));
    }
    let op = NewOp {
        kind: Kind::Provision,
        params: Params {
            restore,
            ..Params::default()
        },
        from_revision: None,
    };
    accept_op(
        tx,
        actor,
        store.id,
        &store.name,
        &op,
        Action::Retry,
        &detail,
    )
    .await
}

/// A failed delete, deleting again (never a re-provision).
pub async fn retry_delete(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
) -> Result<Store, sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET status = $2, phase = $3, error_message = NULL, \
         updated_at = now() WHERE id = $1",
    )
    .bind(store.id)
    .bind(Status::Deleting.as_str())
    .bind(Phase::Queued.as_str())
    .execute(&mut *tx)
    .await?;
    let detail = store
        .error_message
        .as_deref()
        .map(|e| format!("the last delete failed: {e}"))
        .unwrap_or_else(|| "the last delete failed".into());
    accept(
        tx,
        actor,
        store.id,
        &store.name,
        Kind::Delete,
        Action::RetryDelete,
        &detail,
    )
    .await
}

/// Deletes a store: any operation in flight superseded (its worker stops at
/// its next renewal), status Deleting, a delete queued.
pub async fn delete(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
    no_backup: bool,
) -> Result<Store, sqlx::Error> {
    let superseded = sqlx::query(
        "UPDATE operations SET state = $2, finished_at = now(), lease_owner = NULL \
         WHERE store_id = $1 AND state IN ($3, $4)",
    )
    .bind(store.id)
    .bind(State::Superseded.as_str())
    .bind(State::Queued.as_str())
    .bind(State::Running.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE stores SET status = $2, phase = $3, updated_at = now() WHERE id = $1")
        .bind(store.id)
        .bind(Status::Deleting.as_str())
        .bind(Phase::Queued.as_str())
        .execute(&mut *tx)
        .await?;
    let mut detail = if superseded > 0 {
        format!("was {}; its running operation was stopped", store.status)
    } else {
        format!("was {}", store.status)
    };
    if no_backup {
        detail.push_str("; without a final backup, as asked");
    }
    let op = NewOp {
        kind: Kind::Delete,
        params: Params {
            no_backup,
            ..Params::default()
        },
        from_revision: None,
    };
    accept_op(
        tx,
        actor,
        store.id,
        &store.name,
        &op,
        Action::Delete,
        &detail,
    )
    .await
}

/// A backup of a Ready store, queued; the store stays Ready, its phase says
/// a backup is queued.
pub async fn backup(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
    reason: crate::backup::Reason,
) -> Result<Store, sqlx::Error> {
    set_queued(&mut tx, store, Status::Ready).await?;
    let op = NewOp {
        kind: Kind::Backup,
        params: Params {
            reason: Some(reason),
            ..Params::default()
        },
        from_revision: None,
    };
    let detail = format!("{} backup", reason.as_str());
    accept_op(
        tx,
        actor,
        store.id,
        &store.name,
        &op,
        Action::Backup,
        &detail,
    )
    .await
}

/// A restore of `backup` into the store in place, queued: the store is
/// Restoring until it ends.
pub async fn restore(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
    backup: Uuid,
) -> Result<Store, sqlx::Error> {
    set_queued(&mut tx, store, Status::Restoring).await?;
    let op = NewOp {
        kind: Kind::Restore,
        params: Params {
            restore: Some(backup),
            ..Params::default()
        },
        from_revision: None,
    };
    let detail = format!("from backup {backup}; was {}", store.status);
    accept_op(
        tx,
        actor,
        store.id,
        &store.name,
        &op,
        Action::Restore,
        &detail,
    )
    .await
}

/// A deleted store brought back: live again under its old name and
/// namespace (the caller checked both are free; the unique indexes refuse
/// a race), provisioned from scratch with `backup` written into it.
pub async fn undelete(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
    backup: Uuid,
) -> Result<Store, sqlx::Error> {
    sqlx::query(
        "UPDATE stores SET status = $2, phase = $3, error_message = NULL, deleted_at = NULL,          ready_at = NULL, namespace_uid = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(store.id)
    .bind(Status::Provisioning.as_str())
    .bind(Phase::Queued.as_str())
    .execute(&mut *tx)
    .await?;
    let op = NewOp {
        kind: Kind::Provision,
        params: Params {
            restore: Some(backup),
            ..Params::default()
        },
        from_revision: None,
    };
    let detail = format!("from its final backup {backup}");
    accept_op(
        tx,
        actor,
        store.id,
        &store.name,
        &op,
        Action::Undelete,
        &detail,
    )
    .await
}

async fn set_queued(
    tx: &mut PgConnection,
    store: &Store,
    status: Status,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stores SET status = $2, phase = $3, updated_at = now() WHERE id = $1")
        .bind(store.id)
        .bind(status.as_str())
        .bind(Phase::Queued.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A backup attempt starts: its row, written only while the lease is held.
/// An earlier attempt of the same operation that did not end (its worker
/// stopped) is marked failed in the same statement.
pub async fn backup_begun(
    pool: &PgPool,
    lease: &Lease,
    id: Uuid,
    reason: crate::backup::Reason,
    engine: &str,
    requested_by: &str,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "WITH op AS (SELECT id, store_id FROM operations WHERE {HELD}),          old AS (UPDATE backups SET state = 'failed', finished_at = now(),                  error = 'interrupted: the worker taking it stopped; a new attempt started'                  WHERE operation_id = $1 AND state = 'running' AND EXISTS (SELECT 1 FROM op))          INSERT INTO backups (id, store_id, operation_id, reason, engine, requested_by)          SELECT $4, op.store_id, op.id, $5, $6, $7 FROM op RETURNING id"
    );
    let row: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(id)
        .bind(reason.as_str())
        .bind(engine)
        .bind(requested_by)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// A backup attempt ends: complete with its manifest (and, for a final
/// backup, when it expires), or failed with why. Only while the lease is
/// held.
pub async fn backup_ended(
    pool: &PgPool,
    lease: &Lease,
    id: Uuid,
    result: Result<
        (
            &crate::backup::Manifest,
            Option<chrono::DateTime<chrono::Utc>>,
        ),
        &str,
    >,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE backups SET state = $5, manifest = $6, bytes = $7, error = $8, expires_at = $9,          finished_at = now() WHERE id = $4 AND state = 'running'          AND EXISTS (SELECT 1 FROM operations WHERE {HELD})"
    );
    let (state, manifest, bytes, error, expires) = match result {
        Ok((m, expires)) => (
            "complete",
            Some(sqlx::types::Json(m)),
            i64::try_from(m.bytes()).unwrap_or(i64::MAX),
            None,
            expires,
        ),
        Err(e) => ("failed", None, 0, Some(e), None),
    };
    let n = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(id)
        .bind(state)
        .bind(manifest)
        .bind(bytes)
        .bind(error)
        .bind(expires)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A store's own interval between scheduled backups (None: the fleet's;
/// 0: none), set and audited with what it was.
pub async fn set_backup_schedule(
    pool: &PgPool,
    actor: &Actor,
    store: &Store,
    every_hours: Option<i32>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let was: Option<i32> =
        sqlx::query_scalar("SELECT backup_every_hours FROM stores WHERE id = $1 FOR UPDATE")
            .bind(store.id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("UPDATE stores SET backup_every_hours = $2 WHERE id = $1")
        .bind(store.id)
        .bind(every_hours)
        .execute(&mut *tx)
        .await?;
    let name = |h: Option<i32>| match h {
        None => "the fleet's".to_string(),
        Some(0) => "none".to_string(),
        Some(h) => format!("every {h} h"),
    };
    let detail = format!("{} (was {})", name(every_hours), name(was));
    audit::record(
        &mut *tx,
        &audit::Record {
            actor,
            action: Action::BackupSchedule,
            store_id: Some(store.id),
            store_name: Some(&store.name),
            outcome: AuditOutcome::Ok,
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await
}

/// A complete backup whose keep time is over, marked purged once its
/// objects are gone, and audited; false when another process did it first.
pub async fn backup_purged(
    pool: &PgPool,
    id: Uuid,
    store_name: &str,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let store: Option<Uuid> = sqlx::query_scalar(
        "UPDATE backups SET state = 'purged' WHERE id = $1 AND state = 'complete' RETURNING store_id",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(store_id) = store else {
        return Ok(false);
    };
    audit::record(
        &mut *tx,
        &audit::Record {
            actor: &Actor::new("store-weaver", Via::Worker),
            action: Action::BackupPurged,
            store_id: Some(store_id),
            store_name: Some(store_name),
            outcome: AuditOutcome::Ok,
            detail: Some(detail),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The common end of every accepted request: queue the operation, audit,
/// announce the change, wake the workers, commit, and return the store.
async fn accept(
    tx: Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
    name: &str,
    kind: Kind,
    action: Action,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    let op = NewOp {
        kind,
        params: Params::default(),
        from_revision: None,
    };
    accept_op(tx, actor, id, name, &op, action, detail).await
}

/// The operation a request queues.
struct NewOp {
    kind: Kind,
    params: Params,
    from_revision: Option<i32>,
}

async fn accept_op(
    mut tx: Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
    name: &str,
    op: &NewOp,
    action: Action,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    let store = enqueue(&mut tx, actor, id, name, op, action, detail).await?;
    tx.commit().await?;
    Ok(store)
}

/// Queues the operation, audits, announces the change and wakes the workers,
/// in the caller's transaction.
async fn enqueue(
    tx: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    name: &str,
    op: &NewOp,
    action: Action,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    sqlx::query(
        "INSERT INTO operations (store_id, kind, requested_by, via, params, from_revision) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(op.kind.as_str())
    .bind(&actor.user)
    .bind(actor.via.as_str())
    .bind(sqlx::types::Json(&op.params))
    .bind(op.from_revision)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &audit::Record {
            actor,
            action,
            store_id: Some(id),
            store_name: Some(name),
            outcome: AuditOutcome::Accepted,
            detail: Some(detail),
        },
    )
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::OPERATION_CHANNEL)
        .execute(&mut *tx)
        .await?;
    stores::get(&mut *tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// A change of a running store (upgrade or rollback), queued. The store
/// stays Ready; its phase says it is queued for a change.
pub async fn change(
    mut tx: Transaction<'_, Postgres>,
    store: &Store,
    actor: &Actor,
    kind: Kind,
    params: &Params,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    let store = queue_change(&mut tx, store, actor, kind, params, detail).await?;
    tx.commit().await?;
    Ok(store)
}

/// [`change`] inside the caller's transaction (a fleet run queues a wave of
/// them at once, with its own bookkeeping).
pub async fn queue_change(
    tx: &mut PgConnection,
    store: &Store,
    actor: &Actor,
    kind: Kind,
    params: &Params,
    detail: &str,
) -> Result<Store, sqlx::Error> {
    sqlx::query("UPDATE stores SET phase = $2, updated_at = now() WHERE id = $1")
        .bind(store.id)
        .bind(Phase::Queued.as_str())
        .execute(&mut *tx)
        .await?;
    let action = if kind == Kind::Rollback {
        Action::Rollback
    } else {
        Action::Upgrade
    };
    let op = NewOp {
        kind,
        params: params.clone(),
        from_revision: store.helm_revision,
    };
    enqueue(tx, actor, store.id, &store.name, &op, action, detail).await
}

/// A request that was refused: only the audit entry changes.
pub async fn refused(
    pool: &PgPool,
    actor: &Actor,
    action: Action,
    store: Option<(Uuid, &str)>,
    name: Option<&str>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    audit::record(
        pool,
        &audit::Record {
            actor,
            action,
            store_id: store.map(|(id, _)| id),
            store_name: store.map(|(_, n)| n).or(name),
            outcome: AuditOutcome::Refused,
            detail: Some(detail),
        },
    )
    .await
}

// ---------------------------------------------------------------------------
// Workers.

/// Claims the next operation for `worker`: a queued one, or a running one
/// whose lease has expired (its worker died or was cut off). Deletes go
/// first; backups last, while fewer than `max_backups` run; the rest only
/// while fewer than `max_busy` slots are held under a live lease. A claim
/// of those takes a slot; a provision
/// gives it back once installed ([`installed`]), when only the wait for
/// Kubernetes is left.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
    max_busy: u32,
    max_backups: u32,
) -> Result<Option<(Operation, Lease)>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CLAIM_LOCK)
        .execute(&mut *tx)
        .await?;
    // The pick and the claim in one statement (the row locked by the pick
    // is the one updated): the advisory lock is held for one round trip.
    // Deletes take no slot; backups count against a cap of their own (a
    // fleet's scheduled backups never hold up creates); the rest share
    // `max_busy`. Backups come after other waiting work.
    let sql: &str = concat!(
        "UPDATE operations SET state = 'running', lease_owner = $2, \
         lease_expires_at = now() + make_interval(secs => $3), claims = claims + 1, \
         started_at = coalesce(started_at, now()), \
         holds_slot = (kind NOT IN ('delete', 'backup')) \
         WHERE id = (WITH busy AS ( \
                 SELECT count(*) FILTER (WHERE holds_slot) AS n, \
                        count(*) FILTER (WHERE kind = 'backup') AS backups \
                 FROM operations \
                 WHERE state = 'running' AND lease_expires_at > now()) \
             SELECT o.id FROM operations o \
             WHERE (o.state = 'queued' OR (o.state = 'running' AND o.lease_expires_at <= now())) \
               AND CASE o.kind WHEN 'delete' THEN true \
                   WHEN 'backup' THEN (SELECT backups FROM busy) < $4 \
                   ELSE (SELECT n FROM busy) < $1 END \
             ORDER BY (o.kind = 'delete') DESC, (o.kind = 'backup'), o.id \
             LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING ",
        super::operations::operation_columns!()
    );
    let row: Option<super::operations::Row> = sqlx::query_as(sql)
        .bind(i64::from(max_busy))
        .bind(worker)
        .bind(lease.as_secs_f64())
        .bind(i64::from(max_backups))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    let Some(op) = row.map(Operation::from) else {
        return Ok(None);
    };
    let lease = Lease::of(&op, worker);
    Ok(Some((op, lease)))
}

/// Extends the lease; false when it is no longer this claim's (taken over,
/// superseded, or already run out).
pub async fn renew(pool: &PgPool, lease: &Lease, length: Duration) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE operations SET lease_expires_at = now() + make_interval(secs => $4) WHERE {HELD}"
    );
    let n = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(length.as_secs_f64())
        .execute(pool)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Whether the lease is still this claim's with at least `margin` left: asked
/// right before each destructive step, so a worker cut off from the database
/// (the question fails) or past its lease deletes nothing.
pub async fn holds(pool: &PgPool, lease: &Lease, margin: Duration) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM operations WHERE {HELD} \
         AND lease_expires_at > now() + make_interval(secs => $4))"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(margin.as_secs_f64())
        .fetch_one(pool)
        .await
}

/// Hands a running operation back (graceful shutdown): another worker,
/// woken by the notification, claims it at once instead of waiting for the
/// lease to run out.
pub async fn release(pool: &PgPool, lease: &Lease) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "WITH op AS (UPDATE operations SET lease_expires_at = now() WHERE {HELD} RETURNING id) \
         SELECT op.id FROM op, LATERAL (SELECT pg_notify($4, op.id::text)) n"
    );
    let row: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(super::OPERATION_CHANNEL)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// Hands the operation back for another try in `after`, for work stopped
/// because the cluster could not be reached: no worker (this one included)
/// takes it sooner, and the claim does not count as an interruption (see
/// `MAX_CLAIMS`). Taking the count back is safe: this claim's work has
/// stopped, and the lease owner stays this worker until the next claim, so
/// no other holder can match the reused count.
pub async fn hand_back(pool: &PgPool, lease: &Lease, after: Duration) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE operations SET lease_expires_at = now() + make_interval(secs => $4), \
         claims = claims - 1 WHERE {HELD} RETURNING id"
    );
    let row: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(after.as_secs_f64())
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// The step the operation is at, which is also the store's phase: one
/// statement writes both (the stores trigger announces the change).
pub async fn set_phase(pool: &PgPool, lease: &Lease, phase: Phase) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "WITH op AS (UPDATE operations SET step = $4 WHERE {HELD} RETURNING store_id), \
         st AS (UPDATE stores SET phase = $4, updated_at = now() FROM op \
                WHERE stores.id = op.store_id RETURNING stores.id) \
         SELECT st.id FROM st"
    );
    let row: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(phase.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// A worker's step with what goes with it, written by [`advance`] in one
/// statement (one round trip instead of a transaction per fact).
#[derive(Debug, Clone, Copy)]
pub struct Advance<'a> {
    pub phase: Phase,
    /// Also record that provisioning started (kept if already set).
    pub started: bool,
    /// Also record the uid of the namespace the engine made or found.
    pub namespace_uid: Option<&'a str>,
    /// Write only if the lease has at least this long left: the check made
    /// before a step that changes the cluster (see [`holds`]).
    pub margin: Duration,
}

impl Advance<'_> {
    pub fn to(phase: Phase) -> Advance<'static> {
        Advance {
            phase,
            started: false,
            namespace_uid: None,
            margin: Duration::ZERO,
        }
    }
}

/// Moves the operation and the store to `a.phase` (and records what `a`
/// says), announcing the change, only while the lease is held with
/// `a.margin` to spare. False, and nothing written, otherwise.
pub async fn advance(pool: &PgPool, lease: &Lease, a: &Advance<'_>) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "WITH op AS (UPDATE operations SET step = $4 WHERE {HELD} \
                     AND lease_expires_at > now() + make_interval(secs => $5) RETURNING store_id), \
         st AS (UPDATE stores SET phase = $4, updated_at = now(), \
                    provision_started_at = CASE WHEN $6 THEN coalesce(provision_started_at, now()) \
                                                ELSE provision_started_at END, \
                    namespace_uid = coalesce($7, namespace_uid) \
                FROM op WHERE stores.id = op.store_id RETURNING stores.id) \
         SELECT st.id FROM st"
    );
    let row: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(a.phase.as_str())
        .bind(a.margin.as_secs_f64())
        .bind(a.started)
        .bind(a.namespace_uid)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// Opens a transaction in which the lease is checked and the operation row
/// locked, so the writes that follow happen only while it is held.
async fn held_tx<'a>(
    pool: &'a PgPool,
    lease: &Lease,
) -> Result<Option<Transaction<'a, Postgres>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let sql = format!("SELECT id FROM operations WHERE {HELD} FOR UPDATE");
    let held: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(held.map(|_| tx))
}

/// Records when provisioning first started (kept across retries of a claim).
pub async fn provision_started(pool: &PgPool, lease: &Lease) -> Result<bool, sqlx::Error> {
    let Some(mut tx) = held_tx(pool, lease).await? else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE stores SET provision_started_at = coalesce(provision_started_at, now()) WHERE id = $1",
    )
    .bind(lease.store_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Remembers the uid of the namespace the engine created (or found labelled
/// as the store's before any was recorded).
pub async fn record_namespace_uid(
    pool: &PgPool,
    lease: &Lease,
    uid: &str,
) -> Result<bool, sqlx::Error> {
    let Some(mut tx) = held_tx(pool, lease).await? else {
        return Ok(false);
    };
    sqlx::query("UPDATE stores SET namespace_uid = $2 WHERE id = $1")
        .bind(lease.store_id)
        .bind(uid)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Moves a store that has not created its namespace yet to another one,
/// because a namespace of its name already exists in the cluster and is not
/// its. Returns the store as it is now, or None when the lease is lost.
pub async fn reassign_namespace(
    pool: &PgPool,
    lease: &Lease,
    actor: &Actor,
    namespace: &str,
    url: &str,
    why: &str,
) -> Result<Option<Store>, sqlx::Error> {
    let Some(mut tx) = held_tx(pool, lease).await? else {
        return Ok(None);
    };
    let old = stores::get(&mut *tx, lease.store_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    sqlx::query(
        "UPDATE stores SET namespace = $2, url = $3, namespace_uid = NULL, updated_at = now() \
         WHERE id = $1",
    )
    .bind(lease.store_id)
    .bind(namespace)
    .bind(url)
    .execute(&mut *tx)
    .await?;
    let detail = format!("{why}; the store now uses namespace {namespace} ({url})");
    audit::record(
        &mut *tx,
        &audit::Record {
            actor,
            action: Action::NamespaceReassigned,
            store_id: Some(lease.store_id),
            store_name: Some(&old.name),
            outcome: AuditOutcome::Ok,
            detail: Some(&detail),
        },
    )
    .await?;
    let store = stores::get(&mut *tx, lease.store_id).await?;
    tx.commit().await?;
    Ok(store)
}

/// Ends the operation with its outcome: the operation, the store, the audit
/// entry and the workers' wake-up (a slot may have come free) in one
/// statement (one round trip and one
/// commit, where a transaction of eight statements was), only while the lease
/// is held. False (and nothing written) when it is not.
pub async fn finish(
    pool: &PgPool,
    lease: &Lease,
    outcome: &Outcome,
    timing: Timing,
) -> Result<bool, sqlx::Error> {
    let state = if outcome.succeeded() {
        State::Succeeded
    } else {
        State::Failed
    };
    let audit_outcome = if outcome.succeeded() {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed
    };
    let worker_detail = format!("worker {}", lease.worker);
    let detail = crate::text::bound_message(
        outcome.detail().unwrap_or(&worker_detail),
        audit::MAX_DETAIL_CHARS,
    );
    let release = outcome.release();
    // Every part keys on `op`, the operation row updated under the lease
    // condition: no row there (the lease is not ours), nothing anywhere.
    // The audit entry is the requester's, done by a worker, as requests'
    // entries are.
    let sql = format!(
        "WITH op AS (UPDATE operations SET state = $4, error = $5, finished_at = now(), \
                     lease_owner = NULL, lease_expires_at = NULL, helm_ms = helm_ms + $6, \
                     wait_ms = wait_ms + $7 WHERE {HELD} RETURNING store_id, requested_by), \
         st AS (UPDATE stores SET {} FROM op WHERE stores.id = op.store_id \
                RETURNING stores.id, stores.name), \
         au AS (INSERT INTO audit_log (actor, via, action, store_id, store_name, outcome, detail) \
                SELECT op.requested_by, $11, $12, op.store_id, st.name, $13, $14 \
                FROM op LEFT JOIN st ON true) \
         SELECT op.store_id FROM op, \
             LATERAL (SELECT pg_notify($15, '')) n",
        store_outcome(outcome)
    );
    let row: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(state.as_str())
        .bind(outcome.error())
        .bind(i64::try_from(timing.helm.as_millis()).unwrap_or(i64::MAX))
        .bind(i64::try_from(timing.wait.as_millis()).unwrap_or(i64::MAX))
        .bind(release.map(|r| r.revision))
        .bind(release.map(|r| r.chart_version.as_str()))
        .bind(release.map(|r| sqlx::types::Json(&r.settings)))
        .bind(Via::Worker.as_str())
        .bind(outcome.action().as_str())
        .bind(audit_outcome.as_str())
        .bind(detail)
        .bind(super::OPERATION_CHANNEL)
        .bind(outcome.status().as_str())
        .bind(Phase::Done.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// What an outcome sets on the store (`finish`'s parameters: $5 the error,
/// $8-$10 the revision, chart version and settings it runs, $16 the status
/// it ends in, $17 the phase).
fn store_outcome(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ready => {
            "status = $16, phase = $17, error_message = NULL, ready_at = now(), updated_at = now()"
        }
        Outcome::Deleted => {
            "status = $16, phase = $17, error_message = NULL, deleted_at = now(), \
             updated_at = now()"
        }
        Outcome::ProvisionFailed(_)
        | Outcome::ChangeFailed { .. }
        | Outcome::DeleteFailed(_)
        | Outcome::RestoreFailed(_) => {
            "status = $16, phase = $17, error_message = $5, updated_at = now()"
        }
        Outcome::Restored(_) => {
            "status = $16, phase = $17, error_message = NULL, updated_at = now()"
        }
        Outcome::RestoreRefused(_) => "status = $16, phase = $17, updated_at = now()",
        // A backup leaves the store as it was; only its phase is over.
        Outcome::BackedUp(_) | Outcome::BackupFailed(_) => "phase = $17, updated_at = now()",
        Outcome::Changed { .. } | Outcome::NotChanged { .. } => {
            "status = $16, phase = $17, error_message = NULL, helm_revision = $8, \
             chart_version = $9, settings = $10, updated_at = now()"
        }
    }
}

/// A fresh install's revision, recorded as what the store runs, and the
/// step it moves to (waiting for its workloads) in one statement: the two
/// writes that follow `helm upgrade --install`, in one round trip that runs
/// while Kubernetes starts the workloads. It also gives the provision's slot
/// back (see [`claim`]) and wakes the workers of every process to take it.
/// False, and nothing written, when the lease is not held.
pub async fn installed(
    pool: &PgPool,
    lease: &Lease,
    release: &Recorded,
    phase: Phase,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "WITH op AS (UPDATE operations SET step = $4, holds_slot = false WHERE {HELD} \
                     RETURNING store_id), \
         rev AS (INSERT INTO store_revisions (store_id, revision, chart_version, settings, op_id) \
                 SELECT op.store_id, $5, $6, $7, $1 FROM op \
                 ON CONFLICT (store_id, revision) DO UPDATE SET chart_version = EXCLUDED.chart_version, \
                 settings = EXCLUDED.settings, op_id = EXCLUDED.op_id), \
         st AS (UPDATE stores SET phase = $4, updated_at = now(), helm_revision = $5, \
                    chart_version = $6, settings = $7 \
                FROM op WHERE stores.id = op.store_id RETURNING stores.id) \
         SELECT st.id FROM st, LATERAL (SELECT pg_notify($8, '')) n"
    );
    let row: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(phase.as_str())
        .bind(release.revision)
        .bind(&release.chart_version)
        .bind(sqlx::types::Json(&release.settings))
        .bind(super::OPERATION_CHANNEL)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// Records what a Helm revision the platform just wrote runs. With
/// `current` the store's record says so at once (a fresh install); an
/// upgrade updates the record only once it proved healthy, at its end.
pub async fn record_revision(
    pool: &PgPool,
    lease: &Lease,
    release: &Recorded,
    current: bool,
) -> Result<bool, sqlx::Error> {
    let Some(mut tx) = held_tx(pool, lease).await? else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO store_revisions (store_id, revision, chart_version, settings, op_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store_id, revision) DO UPDATE \
         SET chart_version = EXCLUDED.chart_version, settings = EXCLUDED.settings, op_id = EXCLUDED.op_id",
    )
    .bind(lease.store_id)
    .bind(release.revision)
    .bind(&release.chart_version)
    .bind(sqlx::types::Json(&release.settings))
    .bind(lease.op_id)
    .execute(&mut *tx)
    .await?;
    if current {
        sqlx::query(
            "UPDATE stores SET helm_revision = $2, chart_version = $3, settings = $4 WHERE id = $1",
        )
        .bind(lease.store_id)
        .bind(release.revision)
        .bind(&release.chart_version)
        .bind(sqlx::types::Json(&release.settings))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Remembers the revision a change started from, once (a store recorded
/// before revisions were): a resumed worker rolls back to the same one.
pub async fn set_from_revision(
    pool: &PgPool,
    lease: &Lease,
    revision: i32,
) -> Result<bool, sqlx::Error> {
    let sql =
        format!("UPDATE operations SET from_revision = coalesce(from_revision, $4) WHERE {HELD}");
    let n = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.op_id)
        .bind(&lease.worker)
        .bind(lease.claim)
        .bind(revision)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(n == 1)
}
