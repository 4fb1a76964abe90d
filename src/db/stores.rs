//! The `stores` table.

use crate::store::{Status, Store};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(FromRow)]
struct Row {
    id: Uuid,
    name: String,
    namespace: String,
    owner: String,
    engine: String,
    status: String,
    phase: String,
    url: String,
    error_message: Option<String>,
    attempts: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    provision_started_at: Option<DateTime<Utc>>,
    ready_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<Row> for Store {
    fn from(r: Row) -> Store {
        Store {
            id: r.id,
            name: r.name,
            namespace: r.namespace,
            owner: r.owner,
            engine: r.engine,
            // The CHECK constraint keeps the column to these names.
            status: Status::parse(&r.status).unwrap_or(Status::Failed),
            phase: r.phase,
            url: r.url,
            error_message: r.error_message,
            attempts: r.attempts,
            created_at: r.created_at,
            updated_at: r.updated_at,
            provision_started_at: r.provision_started_at,
            ready_at: r.ready_at,
            deleted_at: r.deleted_at,
        }
    }
}

macro_rules! store_columns {
    () => {
        "id, name, namespace, owner, engine, status, phase, url, error_message, attempts, \
     created_at, updated_at, provision_started_at, ready_at, deleted_at"
    };
}

/// Live stores (not yet deleted), newest first; all owners when `owner` is None.
pub async fn list<'e>(
    exec: impl PgExecutor<'e>,
    owner: Option<&str>,
) -> Result<Vec<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE status <> 'Deleted' AND ($1::text IS NULL OR owner = $1) \
         ORDER BY created_at DESC, id"
    );
    let rows: Vec<Row> = sqlx::query_as(sql).bind(owner).fetch_all(exec).await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> Result<Option<Store>, sqlx::Error> {
    let sql: &str = concat!("SELECT ", store_columns!(), " FROM stores WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sql).bind(id).fetch_optional(exec).await?;
    Ok(row.map(Store::from))
}

/// Finds a store by id, id prefix (at least 4 characters), namespace or name,
/// for the command line. Live stores only.
pub async fn find<'e>(exec: impl PgExecutor<'e>, key: &str) -> Result<Vec<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE status <> 'Deleted' AND \
         (id::text = $1 OR (length($1) >= 4 AND id::text LIKE $1 || '%') OR namespace = $1 OR lower(name) = lower($1)) \
         ORDER BY created_at"
    );
    let rows: Vec<Row> = sqlx::query_as(sql).bind(key).fetch_all(exec).await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

pub async fn by_idempotency_key<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
    key: &str,
) -> Result<Option<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE owner = $1 AND idempotency_key = $2"
    );
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(owner)
        .bind(key)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(Store::from))
}

pub struct NewStore<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub namespace: &'a str,
    pub owner: &'a str,
    pub engine: &'a str,
    pub url: &'a str,
    pub idempotency_key: Option<&'a str>,
}

pub async fn insert<'e>(exec: impl PgExecutor<'e>, s: &NewStore<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, idempotency_key, attempts) \
         VALUES ($1, $2, $3, $4, $5, 'Provisioning', 'queued', $6, $7, 1)",
    )
    .bind(s.id)
    .bind(s.name)
    .bind(s.namespace)
    .bind(s.owner)
    .bind(s.engine)
    .bind(s.url)
    .bind(s.idempotency_key)
    .execute(exec)
    .await
    .map(|_| ())
}

pub async fn namespace_taken<'e>(exec: impl PgExecutor<'e>, ns: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE namespace = $1 AND status <> 'Deleted')",
    )
    .bind(ns)
    .fetch_one(exec)
    .await
}

pub async fn name_taken<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE owner = $1 AND lower(name) = lower($2) AND status <> 'Deleted')",
    )
    .bind(owner)
    .bind(name)
    .fetch_one(exec)
    .await
}

/// Live stores in total and for one owner.
pub async fn counts<'e>(exec: impl PgExecutor<'e>, owner: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE owner = $1) FROM stores WHERE status <> 'Deleted'",
    )
    .bind(owner)
    .fetch_one(exec)
    .await
}

/// Counts of live stores per status, for metrics and the console header.
pub async fn count_by_status<'e>(
    exec: impl PgExecutor<'e>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM stores GROUP BY status ORDER BY status")
        .fetch_all(exec)
        .await
}

pub async fn set_phase<'e>(
    exec: impl PgExecutor<'e>,
    id: Uuid,
    phase: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stores SET phase = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(phase)
        .execute(exec)
        .await
        .map(|_| ())
}
