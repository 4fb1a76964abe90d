//! Changing running stores over HTTP: upgrade, rollback, history, and fleet
//! runs. Changes are for admins (an owner sees the history of their own
//! store); each is the same checked, durable, audited request as the
//! console's and the command line's (`engine::changes`, `engine::fleet`).

use super::auth::Principal;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::stores::{StoreId, StoreOut, visible};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::db::fleet::{self as db_fleet, FleetRun};
use crate::engine::EngineError;
use crate::engine::changes::{self, History, UpgradeRequest};
use crate::engine::fleet::{self, FleetDetail, FleetRequest};
use crate::store::{EngineKind, Status};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn admin_only(principal: &Principal) -> ApiResult<()> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only admins can change running stores; ask an admin",
        ))
    }
}

fn assignments(set: &BTreeMap<String, String>) -> Vec<String> {
    set.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// An upgrade: settings to change (`key: value`; "default" or "" puts the
/// chart's default back) and optionally the chart version to end on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeBody {
    /// e.g. {"replicas": "0"}. Keys: the store's engine's (GET /api/engines
    /// lists them); volumes only grow, replicas 0 pauses the store.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Must be the chart version this server ships.
    #[serde(default)]
    pub to: Option<String>,
}

/// Upgrade a Ready store (admins): to the chart this server ships, with the
/// given settings. It stays Ready meanwhile (phase "upgrading"); if its
/// pods are not Ready within the upgrade timeout it is rolled back.
#[utoipa::path(post, path = "/api/stores/{id}/upgrade", tag = "changes", params(StoreId),
    request_body = UpgradeBody,
    responses(
        (status = 202, description = "Queued.", body = StoreOut),
        (status = 409, description = "The store is not Ready (`not_allowed`) or has an operation under way (`busy`).", body = ErrorBody),
    ))]
pub async fn upgrade(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpgradeBody>,
) -> ApiResult<Response> {
    admin_only(&principal)?;
    visible(&state, &principal, id).await?;
    let cfg = state.engine.clone();
    let req = UpgradeRequest {
        set: assignments(&body.set),
        to: body.to,
    };
    let store = changes::upgrade(
        &state.pool,
        &cfg,
        Some(&state.client),
        &principal.actor(),
        id,
        &req,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(StoreOut::from(store))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The Helm revision to go back to; default: the one before the current.
    #[serde(default)]
    pub revision: Option<u32>,
}

/// Roll a Ready store back (admins): to the previous revision or a named one.
#[utoipa::path(post, path = "/api/stores/{id}/rollback", tag = "changes", params(StoreId),
    request_body = RollbackBody,
    responses(
        (status = 202, description = "Queued.", body = StoreOut),
        (status = 409, description = "The store is not Ready (`not_allowed`) or has an operation under way (`busy`).", body = ErrorBody),
    ))]
pub async fn rollback(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RollbackBody>,
) -> ApiResult<Response> {
    admin_only(&principal)?;
    visible(&state, &principal, id).await?;
    let store = changes::rollback(&state.pool, &principal.actor(), id, body.revision).await?;
    Ok((StatusCode::ACCEPTED, Json(StoreOut::from(store))).into_response())
}

/// A store's release history and whether it drifted from the record.
///
/// Each Helm revision with what the platform recorded for it (None: someone
/// else made it); `drift` says why the release is not what the record says.
#[utoipa::path(get, path = "/api/stores/{id}/history", tag = "changes", params(StoreId),
    responses(
        (status = 200, description = "History.", body = History),
        (status = 409, description = "The namespace is not the store's (`code`: not_owned).", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<History>> {
    let store = visible(&state, &principal, id).await?;
    let cfg = state.engine.clone();
    Ok(Json(
        changes::history(&state.pool, &cfg, &state.client, &store).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetBody {
    /// Settings applied to every store (as for one store's upgrade).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Must be the chart version this server ships.
    #[serde(default)]
    pub to: Option<String>,
    /// Only this owner's stores.
    #[serde(default)]
    pub owner: Option<String>,
    /// The engine whose stores the run upgrades (default: the default engine,
    /// first in GET /api/engines): a run changes one engine's stores, with
    /// that engine's settings.
    #[serde(default)]
    pub engine: Option<String>,
    /// Stores per wave (default 5).
    #[serde(default = "default_wave")]
    #[schema(minimum = 1, maximum = 1000)]
    pub wave: u32,
    /// The run stops once this many stores failed (default 1).
    #[serde(default = "default_failures")]
    #[schema(minimum = 1)]
    pub max_failures: u32,
}

fn default_wave() -> u32 {
    5
}

fn default_failures() -> u32 {
    1
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FleetListQuery {
    /// At most this many runs, newest first (1 to 200, default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // only its parameter description is used
pub struct RunId {
    /// The fleet run's id.
    pub id: i64,
}

/// Start a fleet upgrade (admins): Ready stores in waves, each after the
/// one before ended healthy, stopping at the failure budget.
#[utoipa::path(post, path = "/api/fleet", tag = "changes", request_body = FleetBody,
    responses(
        (status = 202, description = "Started; the first wave is queued.", body = FleetDetail),
        (status = 422, description = "Nothing to upgrade, or a setting is wrong (`field` says which).", body = ErrorBody),
    ))]
pub async fn fleet_start(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<FleetBody>,
) -> ApiResult<Response> {
    admin_only(&principal)?;
    let cfg = state.engine.clone();
    let engine = EngineKind::parse_available(body.engine.as_deref().unwrap_or(""))
        .map_err(|m| ApiError::invalid("engine", m))?;
    let req = FleetRequest {
        set: assignments(&body.set),
        to: body.to,
        owner: body.owner,
        status: Some(Status::Ready),
        wave: body.wave,
        max_failures: body.max_failures,
        engine,
    };
    let detail = fleet::start(
        &state.pool,
        &cfg,
        Some(&state.client),
        &principal.actor(),
        &req,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(detail)).into_response())
}

/// The fleet runs, newest first (admins).
#[utoipa::path(get, path = "/api/fleet", tag = "changes", params(FleetListQuery),
    responses((status = 200, description = "Runs.", body = Vec<FleetRun>)))]
pub async fn fleet_list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<FleetListQuery>,
) -> ApiResult<Json<Vec<FleetRun>>> {
    admin_only(&principal)?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 200"));
    }
    Ok(Json(db_fleet::list(&state.pool, limit).await?))
}

/// One fleet run: its waves and each store's outcome (admins).
#[utoipa::path(get, path = "/api/fleet/{id}", tag = "changes", params(RunId),
    responses((status = 200, description = "The run.", body = FleetDetail)))]
pub async fn fleet_get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FleetDetail>> {
    admin_only(&principal)?;
    Ok(Json(
        fleet::detail_of(&state.pool, id).await.map_err(run_error)?,
    ))
}

/// Cancel a fleet run (admins): stores not yet queued are left as they are.
#[utoipa::path(post, path = "/api/fleet/{id}/cancel", tag = "changes", params(RunId),
    responses((status = 200, description = "Cancelled.", body = FleetDetail)))]
pub async fn fleet_cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FleetDetail>> {
    admin_only(&principal)?;
    Ok(Json(
        fleet::cancel(&state.pool, &principal.actor(), id)
            .await
            .map_err(run_error)?,
    ))
}

/// Resume a stopped or cancelled fleet run (admins), after fixing the cause:
/// its failed stores are tried again, then the rest.
#[utoipa::path(post, path = "/api/fleet/{id}/resume", tag = "changes", params(RunId),
    responses((status = 200, description = "Running again.", body = FleetDetail)))]
pub async fn fleet_resume(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FleetDetail>> {
    admin_only(&principal)?;
    let cfg = state.engine.clone();
    Ok(Json(
        fleet::resume(&state.pool, &cfg, &principal.actor(), id)
            .await
            .map_err(run_error)?,
    ))
}

/// A missing run is "not found" with its own words (not a store's).
fn run_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound { key } => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {key}"))
        }
        e => e.into(),
    }
}
