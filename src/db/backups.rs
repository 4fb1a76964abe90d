//! The `backups` table: what each backup attempt wrote. Reads only; the
//! ledger writes it under the operation's lease.

use crate::backup::{Manifest, Reason};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Complete,
    Failed,
    Purged,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Running,
        State::Complete,
        State::Failed,
        State::Purged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Complete => "complete",
            State::Failed => "failed",
            State::Purged => "purged",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    pub id: Uuid,
    pub store_id: Uuid,
    pub operation_id: i64,
    pub reason: Reason,
    pub state: State,
    pub engine: String,
    pub bytes: i64,
    #[serde(skip)]
    pub manifest: Option<Manifest>,
    pub error: Option<String>,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    store_id: Uuid,
    operation_id: i64,
    reason: String,
    state: String,
    engine: String,
    bytes: i64,
    manifest: Option<sqlx::types::Json<serde_json::Value>>,
    error: Option<String>,
    requested_by: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Backup {
    type Error = sqlx::Error;

    /// A stored value this version does not know is an error, not a guess.
    fn try_from(r: Row) -> Result<Backup, sqlx::Error> {
        let bad = |what: &str, v: &str| {
            sqlx::Error::Decode(format!("backup {}: unknown {what} {v:?}", r.id).into())
        };
        Ok(Backup {
            reason: Reason::parse(&r.reason).ok_or_else(|| bad("reason", &r.reason))?,
            state: State::parse(&r.state).ok_or_else(|| bad("state", &r.state))?,
            manifest: match r.manifest {
                Some(m) => Some(serde_json::from_value(m.0).map_err(|e| {
                    sqlx::Error::Decode(format!("backup {}: manifest: {e}", r.id).into())
                })?),
                None => None,
            },
            id: r.id,
            store_id: r.store_id,
            operation_id: r.operation_id,
            engine: r.engine,
            bytes: r.bytes,
            error: r.error,
            requested_by: r.requested_by,
            started_at: r.started_at,
            finished_at: r.finished_at,
            expires_at: r.expires_at,
        })
    }
}

const COLUMNS: &str = "id, store_id, operation_id, reason, state, engine, bytes, manifest, \
                       error, requested_by, started_at, finished_at, expires_at";

fn rows(rows: Vec<Row>) -> Result<Vec<Backup>, sqlx::Error> {
    rows.into_iter().map(Backup::try_from).collect()
}

/// A store's backups, newest first.
pub async fn for_store<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
    limit: i64,
) -> Result<Vec<Backup>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backups WHERE store_id = $1 ORDER BY started_at DESC LIMIT $2"
    );
    rows(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store_id)
            .bind(limit)
            .fetch_all(exec)
            .await?,
    )
}

/// A store's newest complete backup (by start, as `for_store` lists them):
/// what a restore, a clone or a drill takes when none is named.
pub async fn newest_complete<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Option<Backup>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backups WHERE store_id = $1 AND state = 'complete' \
         ORDER BY started_at DESC LIMIT 1"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store_id)
        .fetch_optional(exec)
        .await?;
    row.map(Backup::try_from).transpose()
}

/// When each store's newest complete backup finished (stores without one
/// are absent): what the faces highlight ("no good backup in 24 h") and
/// the metrics report, one indexed query for the whole fleet.
pub async fn newest_good<'e>(
    exec: impl PgExecutor<'e>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT ON (store_id) store_id, finished_at FROM backups \
         WHERE state = 'complete' AND finished_at IS NOT NULL \
         ORDER BY store_id, finished_at DESC",
    )
    .fetch_all(exec)
    .await
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> Result<Option<Backup>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM backups WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?;
    row.map(Backup::try_from).transpose()
}

/// The backup an undelete brings a store back from: its newest complete
/// final backup that has not expired.
pub async fn undeletable<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Option<Backup>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backups WHERE store_id = $1 AND reason = 'final' \
         AND state = 'complete' AND expires_at > now() ORDER BY started_at DESC LIMIT 1"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store_id)
        .fetch_optional(exec)
        .await?;
    row.map(Backup::try_from).transpose()
}

/// The final backups deleted stores can still come back from, newest
/// first: what the faces offer to undelete. `owner` narrows it to one
/// owner's stores (None: every store).
pub async fn undeletable_stores<'e>(
    exec: impl PgExecutor<'e>,
    owner: Option<&str>,
    limit: i64,
) -> Result<Vec<Backup>, sqlx::Error> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("b.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM backups b JOIN stores s ON s.id = b.store_id \
         WHERE s.status = 'Deleted' AND b.reason = 'final' AND b.state = 'complete' \
         AND b.expires_at > now() AND ($1::text IS NULL OR s.owner = $1) \
         ORDER BY b.finished_at DESC LIMIT $2"
    );
    rows(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(limit)
            .fetch_all(exec)
            .await?,
    )
}

/// Complete backups whose keep time is over, oldest first.
pub async fn expired<'e>(
    exec: impl PgExecutor<'e>,
    limit: i64,
) -> Result<Vec<Backup>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backups WHERE state = 'complete' AND expires_at <= now() \
         ORDER BY expires_at LIMIT $1"
    );
    rows(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(exec)
            .await?,
    )
}

/// [`newest_good`] for one owner's stores (a user's view of the fleet).
pub async fn newest_good_of<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT ON (b.store_id) b.store_id, b.finished_at FROM backups b \
         JOIN stores s ON s.id = b.store_id \
         WHERE s.owner = $1 AND b.state = 'complete' AND b.finished_at IS NOT NULL \
         ORDER BY b.store_id, b.finished_at DESC",
    )
    .bind(owner)
    .fetch_all(exec)
    .await
}

/// What the faces show of a deleted store next to its final backup.
#[derive(Debug, Clone, FromRow)]
pub struct DeletedStore {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    pub engine: String,
    pub url: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The records of `ids` that are deleted (for [`undeletable_stores`]'
/// backups: one query for the whole list).
pub async fn deleted_stores<'e>(
    exec: impl PgExecutor<'e>,
    ids: &[Uuid],
) -> Result<Vec<DeletedStore>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, owner, engine, url, deleted_at FROM stores \
         WHERE id = ANY($1) AND status = 'Deleted'",
    )
    .bind(ids)
    .fetch_all(exec)
    .await
}
