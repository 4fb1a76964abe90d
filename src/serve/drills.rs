//! A store's restore drills (issue 30): listed with its last good restore
//! and next scheduled drill, and asked for by its owner or an admin. The
//! engine checks and audits, as for every request.

use super::auth::Principal;
use super::error::{ApiResult, ErrorBody};
use super::stores::{StoreId, visible};
use super::{ApiPath, AppState};
use crate::db::drills::{Drill, Reason};
use crate::engine::drill::{self, DrillsView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

/// A store's drills, newest first, its last good restore and its next
/// scheduled drill.
#[utoipa::path(get, path = "/api/stores/{id}/drills", tag = "stores", operation_id = "list_drills", params(StoreId),
    responses((status = 200, description = "The drills.", body = DrillsView)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DrillsView>> {
    let s = visible(&state, &principal, id).await?;
    Ok(Json(
        drill::view(&state.pool, &state.engine, &s, chrono::Utc::now()).await?,
    ))
}

/// Run a restore drill: the store's newest complete backup restored into
/// a throwaway store, checked ready and holding what the backup counts,
/// then deleted. Runs in the background; the drill as queued.
#[utoipa::path(post, path = "/api/stores/{id}/drills", tag = "stores", operation_id = "start_drill", params(StoreId),
    responses(
        (status = 202, description = "Queued.", body = Drill),
        (status = 409, description = "A drill of the store is already under way (`code`: busy).", body = ErrorBody),
        (status = 422, description = "Backups are off, the store has no complete backup, or is deleted or itself a drill's (`code`: invalid).", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<Drill>)> {
    let d = drill::request(
        &state.pool,
        &state.engine,
        &principal.actor(),
        id,
        principal.scope(),
        Reason::Manual,
    )
    .await?;
    tracing::info!(store = %id, drill = %d.id, user = %principal.user, "restore drill queued");
    Ok((StatusCode::ACCEPTED, Json(d)))
}
