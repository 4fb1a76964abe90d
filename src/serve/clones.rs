//! `POST /api/stores/{id}/clone`: a new store from a backup of another
//! (issue 30). A user clones only stores they can see (someone else's is
//! "not found"); the clone is the caller's. The engine checks the backup
//! and audits, as for a create.

use super::auth::Principal;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::stores::StoreId;
use super::{ApiJson, ApiPath, AppState};
use crate::db::sessions;
use crate::engine::{self, CloneRequest, EngineError};
use crate::runtime;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a clone is called and which backup it is made from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneBody {
    /// The clone's name; its namespace and URL are derived from it.
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    /// The source's backup: its id or at least 4 characters of its start.
    /// Default: the source's newest complete backup.
    #[serde(default)]
    #[schema(min_length = 4)]
    pub backup: Option<String>,
}

/// A backup the engine turned down (not complete, another store's, another
/// key): 400 with its words, as a restore's; everything else as a create's.
fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid {
            field: "backup", ..
        } => ApiError::bad_request("invalid", e.to_string()).field("backup"),
        other => other.into(),
    }
}

/// Clone a store: a new store of the caller's, with its own name, address
/// and credentials, provisioned with the data of one of the source's
/// complete backups (URLs rewritten to the clone's). The source is only
/// read.
#[utoipa::path(post, path = "/api/stores/{id}/clone", tag = "stores", params(StoreId),
    request_body = CloneBody,
    responses(
        (status = 201, description = "The clone, Provisioning; `Location` points at it.", body = crate::serve::stores::StoreOut),
        (status = 400, description = "The backup cannot make a clone: none complete, not the source's, not complete, sealed with another key, or backups not configured (`code`: invalid, `field`: backup).", body = ErrorBody),
        (status = 409, description = "You already have a store with this name (`code`: name_taken).", body = ErrorBody),
        (status = 422, description = "An invalid name (`field`: name).", body = ErrorBody),
        (status = 429, description = "A limit was hit; `limit` says which: MAX_STORES, MAX_STORES_PER_USER, create_rate_per_user.", body = ErrorBody),
    ))]
pub async fn clone(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CloneBody>,
) -> ApiResult<Response> {
    // A clone is a create: it counts against the same rate.
    let per_user = format!("create:user:{}", principal.user);
    let rate = state.settings.create_rate_per_minute;
    if let Err(hit) = sessions::take(
        &state.pool,
        &[(per_user.as_str(), rate)],
        Duration::from_secs(60),
    )
    .await?
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "rate limit: at most {rate} creates per minute for user {}; try again in {}s",
                principal.user,
                hit.retry_after.as_secs()
            ),
        )
        .limit("create_rate_per_user")
        .retry_after(hit.retry_after));
    }
    let req = CloneRequest {
        source: id,
        name: body.name,
        backup: body.backup,
        owner: principal.user.clone(),
        scope: principal.scope().map(str::to_string),
        idempotency_key: None,
    };
    let store = engine::clone(
        &state.pool,
        &state.engine,
        runtime::limits(&state.settings),
        &principal.actor(),
        &req,
    )
    .await
    .map_err(engine_error)?;
    tracing::info!(store = %store.id, source = %id, user = %principal.user, "store clone created");
    let location = HeaderValue::from_str(&format!("/api/stores/{}", store.id)).ok();
    let mut res = (
        StatusCode::CREATED,
        Json(crate::serve::stores::StoreOut::from(store)),
    )
        .into_response();
    if let Some(l) = location {
        res.headers_mut().insert(header::LOCATION, l);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_backup_is_a_bad_request_and_a_taken_name_a_conflict() {
        let e = engine_error(EngineError::Invalid {
            field: "backup",
            message: "backup x was sealed with backup key a".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.body.field.as_deref(), Some("backup"));
        let e = engine_error(EngineError::Invalid {
            field: "name",
            message: "bad".into(),
        });
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let e = engine_error(EngineError::NameTaken {
            name: "a".into(),
            owner: "b".into(),
        });
        assert_eq!(e.status, StatusCode::CONFLICT);
    }
}
