//! A store's backup schedule (issue 30): shown, and set by its owner
//! (its own interval, none, or the fleet's again). The engine checks and
//! audits, as for every request.

use super::auth::Principal;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::stores::{StoreId, visible};
use super::{ApiPath, AppState};
use crate::engine::schedule::{self, ScheduleView};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a store's schedule is set to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Hours between its scheduled backups (1 to 8760), 0 for none, or
    /// null for the fleet's default. Required: `{}` is refused.
    #[schema(required, nullable)]
    pub every_hours: Option<i32>,
}

/// A store's backup schedule: its own interval, the one that applies, the
/// next scheduled backup and its newest good one.
#[utoipa::path(get, path = "/api/stores/{id}/backup-schedule", tag = "stores", operation_id = "get_backup_schedule", params(StoreId),
    responses((status = 200, description = "The schedule.", body = ScheduleView)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ScheduleView>> {
    let s = visible(&state, &principal, id).await?;
    Ok(Json(
        schedule::view(&state.pool, &state.engine, &s, chrono::Utc::now()).await?,
    ))
}

/// Set a store's backup interval; answers its schedule as it is now.
#[utoipa::path(put, path = "/api/stores/{id}/backup-schedule", tag = "stores", operation_id = "set_backup_schedule", params(StoreId),
    request_body(content = ScheduleBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Set; the schedule now.", body = ScheduleView),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "No `every_hours`, one out of range or not a number, or another key (`code`: invalid, `field`: every_hours).", body = ErrorBody),
    ))]
pub async fn set(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    body: Bytes,
) -> ApiResult<Json<ScheduleView>> {
    // `every_hours: null` means the fleet's; a missing key is a mistake.
    let raw: serde_json::Value = axum::Json::<serde_json::Value>::from_bytes(&body)
        .map_err(ApiError::from)?
        .0;
    if raw.get("every_hours").is_none() {
        return Err(ApiError::invalid(
            "every_hours",
            "give every_hours: hours between backups (1 to 8760), 0 for none, or null for the fleet's default",
        ));
    }
    let body: ScheduleBody = serde_json::from_value(raw).map_err(|e| {
        ApiError::invalid(
            "every_hours",
            format!("{e}: every_hours is a whole number of hours (1 to 8760), 0 for none, or null"),
        )
    })?;
    let store = schedule::set(
        &state.pool,
        &principal.actor(),
        id,
        principal.scope(),
        body.every_hours,
    )
    .await?;
    tracing::info!(store = %store.id, user = %principal.user, every_hours = ?body.every_hours, "backup schedule set");
    Ok(Json(
        schedule::view(&state.pool, &state.engine, &store, chrono::Utc::now()).await?,
    ))
}
