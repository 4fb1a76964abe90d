//! The audit log: who did what to which store, when, and how it ended.

use crate::store::Actor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, FromRow, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// Where it was done: console, api, cli or worker.
    #[schema(value_type = crate::store::Via)]
    pub via: String,
    pub action: String,
    #[schema(required)]
    pub store_id: Option<Uuid>,
    #[schema(required)]
    pub store_name: Option<String>,
    pub outcome: String,
    #[schema(required)]
    pub detail: Option<String>,
}

/// What was done. Entries read back keep the stored text, so the log stays
/// readable across versions that name actions differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Retry,
    RetryDelete,
    Delete,
    Ready,
    Failed,
    Deleted,
    DeleteFailed,
    NamespaceReassigned,
    CredentialsReveal,
    Logs,
    Wp,
    Upgrade,
    Rollback,
    Upgraded,
    UpgradeFailed,
    RolledBack,
    RollbackFailed,
    Fleet,
    Backup,
    BackedUp,
    BackupFailed,
    BackupPurged,
    Restore,
    Restored,
    RestoreFailed,
    Undelete,
    BackupSchedule,
    Drill,
    DrillPassed,
    DrillFailed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "store.create",
            Action::Retry => "store.retry",
            Action::RetryDelete => "store.retry-delete",
            Action::Delete => "store.delete",
            Action::Ready => "store.ready",
            Action::Failed => "store.failed",
            Action::Deleted => "store.deleted",
            Action::DeleteFailed => "store.delete-failed",
            Action::NamespaceReassigned => "store.namespace-reassigned",
            Action::CredentialsReveal => "store.credentials.reveal",
            Action::Logs => "store.logs",
            Action::Wp => "store.wp",
            Action::Upgrade => "store.upgrade",
            Action::Rollback => "store.rollback",
            Action::Upgraded => "store.upgraded",
            Action::UpgradeFailed => "store.upgrade-failed",
            Action::RolledBack => "store.rolled-back",
            Action::RollbackFailed => "store.rollback-failed",
            Action::Fleet => "fleet",
            Action::Backup => "store.backup",
            Action::BackedUp => "store.backed-up",
            Action::BackupFailed => "store.backup-failed",
            Action::BackupPurged => "store.backup-purged",
            Action::Restore => "store.restore",
            Action::Restored => "store.restored",
            Action::RestoreFailed => "store.restore-failed",
            Action::Undelete => "store.undelete",
            Action::BackupSchedule => "store.backup-schedule",
            Action::Drill => "store.drill",
            Action::DrillPassed => "store.drill-passed",
            Action::DrillFailed => "store.drill-failed",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Refused,
    Ok,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused => "refused",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
        }
    }
}

pub struct Record<'a> {
    pub actor: &'a Actor,
    pub action: Action,
    pub store_id: Option<Uuid>,
    pub store_name: Option<&'a str>,
    pub outcome: Outcome,
    pub detail: Option<&'a str>,
}

/// Longer details are cut to this many bytes, ending in "…".
pub const MAX_DETAIL_CHARS: usize = 2000;

pub async fn record<'e>(exec: impl PgExecutor<'e>, r: &Record<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor, via, action, store_id, store_name, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.actor.user)
    .bind(r.actor.via.as_str())
    .bind(r.action.as_str())
    .bind(r.store_id)
    .bind(r.store_name)
    .bind(r.outcome.as_str())
    .bind(
        r.detail
            .map(|d| crate::text::bound_message(d, MAX_DETAIL_CHARS)),
    )
    .execute(exec)
    .await
    .map(|_| ())
}

/// Entries, newest first; one store's when `store_id` is given.
pub async fn list<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, via, action, store_id, store_name, outcome, detail FROM audit_log \
         WHERE ($1::uuid IS NULL OR store_id = $1) ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(store_id)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// One page of entries: one store's (`store_id`) or all; newest first when
/// `newest_first`, else oldest first; strictly after `after` (the `at` and
/// id of the previous page's last entry).
pub async fn page<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Option<Uuid>,
    newest_first: bool,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    // Separate statements per shape, so that each plan can walk the index
    // from the cursor instead of filtering with `$x IS NULL OR ...`.
    const COLS: &str =
        "SELECT id, at, actor, via, action, store_id, store_name, outcome, detail FROM audit_log";
    let scope = if store_id.is_some() {
        " WHERE store_id = $1"
    } else {
        " WHERE $1::uuid IS NULL"
    };
    let (cmp, dir) = if newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let position = if after.is_some() {
        format!(" AND (at, id) {cmp} ($2, $3)")
    } else {
        " AND $2::timestamptz IS NULL AND $3::bigint IS NOT NULL".to_string()
    };
    let sql = format!("{COLS}{scope}{position} ORDER BY at {dir}, id {dir} LIMIT $4");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store_id)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1).unwrap_or(0))
        .bind(limit)
        .fetch_all(exec)
        .await
}

/// How many entries there are (one store's, or all).
pub async fn count<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE ($1::uuid IS NULL OR store_id = $1)")
        .bind(store_id)
        .fetch_one(exec)
        .await
}
