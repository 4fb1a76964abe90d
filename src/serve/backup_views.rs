//! What the faces show of backups beyond one store's list (issue 30, items
//! 4 and 6): whether backups are configured and how long a deleted store's
//! final backup is kept (what a delete confirmation may promise), when each
//! store's newest good backup finished (the fleet's "no good backup in
//! 24 h" highlight), and the deleted stores that can still be undeleted.
//! Each answer is scoped like the stores list: a user sees their own
//! stores, an admin every store.
//!
//! The stores list itself stays a read from memory (`cache.rs`): the
//! highlight is a second, separate request the dashboard makes now and
//! then, not a database query on every page of the list.

use super::AppState;
use super::auth::Principal;
use super::backups::BackupOut;
use super::error::ApiResult;
use crate::db::backups as db_backups;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

/// The most deleted stores one list shows (newest deletion first).
const MAX_DELETED: i64 = 200;

/// One store's newest complete backup.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewestGood {
    pub store_id: Uuid,
    /// When that backup finished.
    pub finished_at: DateTime<Utc>,
}

/// Backups as the caller's faces need them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupSummary {
    /// Whether this server takes backups (a bucket and a key are set).
    /// Without, a delete cannot be undone.
    pub configured: bool,
    /// How long a deleted store's final backup is kept for an undelete, in
    /// days (null when backups are not configured).
    #[schema(required)]
    pub keep_deleted_days: Option<u32>,
    /// The caller's stores (an admin: every store) with a complete backup,
    /// each with when its newest one finished; a store absent here has none.
    pub newest_good: Vec<NewestGood>,
}

/// Whether backups are configured, the keep time of a deleted store's final
/// backup, and each visible store's newest good backup.
#[utoipa::path(get, path = "/api/backups/summary", tag = "stores", operation_id = "backup_summary",
    responses((status = 200, description = "The summary.", body = BackupSummary)))]
pub async fn summary(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<BackupSummary>> {
    let keep_deleted_days = state
        .engine
        .backup
        .as_ref()
        .map(|b| u32::try_from(b.keep_deleted.as_secs() / 86_400).unwrap_or(u32::MAX));
    let rows = match principal.scope() {
        Some(owner) => db_backups::newest_good_of(&state.pool, owner).await?,
        None => db_backups::newest_good(&state.pool).await?,
    };
    Ok(Json(BackupSummary {
        configured: keep_deleted_days.is_some(),
        keep_deleted_days,
        newest_good: rows
            .into_iter()
            .map(|(store_id, finished_at)| NewestGood {
                store_id,
                finished_at,
            })
            .collect(),
    }))
}

/// A deleted store that can still be undeleted, with the final backup it
/// would come back from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedStoreOut {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    pub engine: String,
    pub url: String,
    #[schema(required)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Its final backup: `finished_at` is when it was taken, `expires_at`
    /// when it is purged (and the undelete no longer possible).
    pub backup: BackupOut,
}

/// Deleted stores that can still be undeleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedList {
    /// Newest final backup first (at most 200).
    pub stores: Vec<DeletedStoreOut>,
}

/// The caller's deleted stores (an admin: everyone's) whose final backup is
/// complete and not expired: what `POST /api/stores/{id}/undelete` can
/// bring back.
#[utoipa::path(get, path = "/api/stores/deleted", tag = "stores", operation_id = "list_deleted",
    responses((status = 200, description = "The deleted stores that can be undeleted.", body = DeletedList)))]
pub async fn deleted(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<DeletedList>> {
    let backups =
        db_backups::undeletable_stores(&state.pool, principal.scope(), MAX_DELETED).await?;
    // A store deleted, undeleted and deleted again may have two final
    // backups; the undelete uses the newest, and so does this list.
    let mut seen = HashSet::new();
    let backups: Vec<_> = backups
        .into_iter()
        .filter(|b| seen.insert(b.store_id))
        .collect();
    let ids: Vec<Uuid> = backups.iter().map(|b| b.store_id).collect();
    let mut records: HashMap<Uuid, db_backups::DeletedStore> =
        db_backups::deleted_stores(&state.pool, &ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let stores = backups
        .into_iter()
        .filter_map(|b| {
            // Between the two reads the store may have been undeleted: then
            // it is no longer a deleted store to list. The owner is checked
            // again on the record itself.
            let s = records.remove(&b.store_id)?;
            principal.can_see(&s.owner).then(|| DeletedStoreOut {
                id: s.id,
                name: s.name,
                owner: s.owner,
                engine: s.engine,
                url: s.url,
                deleted_at: s.deleted_at,
                backup: BackupOut::from(b),
            })
        })
        .collect();
    Ok(Json(DeletedList { stores }))
}
