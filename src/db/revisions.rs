//! The `store_revisions` table: what each Helm revision the platform made of
//! a store runs. Reads only: the ledger writes it.

use crate::store::StoreSettings;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreRevision {
    pub revision: i32,
    pub chart_version: String,
    pub settings: StoreSettings,
    pub op_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct Row {
    revision: i32,
    chart_version: String,
    settings: sqlx::types::Json<serde_json::Value>,
    op_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<Row> for StoreRevision {
    fn from(r: Row) -> StoreRevision {
        StoreRevision {
            revision: r.revision,
            chart_version: r.chart_version,
            // Written only from validated settings.
            settings: serde_json::from_value(r.settings.0).unwrap_or_default(),
            op_id: r.op_id,
            created_at: r.created_at,
        }
    }
}

/// The store's revisions made by the platform, oldest first.
pub async fn for_store<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
) -> Result<Vec<StoreRevision>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT revision, chart_version, settings, op_id, created_at FROM store_revisions \
         WHERE store_id = $1 ORDER BY revision",
    )
    .bind(store_id)
    .fetch_all(exec)
    .await?;
    Ok(rows.into_iter().map(StoreRevision::from).collect())
}

pub async fn get<'e>(
    exec: impl PgExecutor<'e>,
    store_id: Uuid,
    revision: i32,
) -> Result<Option<StoreRevision>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT revision, chart_version, settings, op_id, created_at FROM store_revisions \
         WHERE store_id = $1 AND revision = $2",
    )
    .bind(store_id)
    .bind(revision)
    .fetch_optional(exec)
    .await?;
    Ok(row.map(StoreRevision::from))
}
