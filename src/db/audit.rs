//! The audit log: who did what to which store, when, and how it ended.

use crate::store::Actor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, FromRow, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub via: String,
    pub action: String,
    pub store_id: Option<Uuid>,
    pub store_name: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

pub struct Record<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub store_id: Option<Uuid>,
    pub store_name: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
}

pub async fn record<'e>(exec: impl PgExecutor<'e>, r: &Record<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor, via, action, store_id, store_name, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.actor.user)
    .bind(r.actor.via.as_str())
    .bind(r.action)
    .bind(r.store_id)
    .bind(r.store_name)
    .bind(r.outcome)
    .bind(r.detail.map(|d| crate::engine::bound_message(d, 2000)))
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
