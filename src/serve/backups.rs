//! The backup endpoints (issue 30): back a store up, list its backups,
//! restore one into it, undelete a deleted store from its final backup, and
//! the `no_backup` choice of a delete.
//! The engine decides and audits, as for retry and delete; a user acts on
//! their own stores only (someone else's store is "not found").

use super::error::{ApiError, ApiResult, ErrorBody};
use super::stores::{StoreId, StoreOut, visible};
use super::{ApiPath, AppState};
use crate::db::backups::{self as db_backups, Backup};
use crate::engine::{self, EngineError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Principal;

/// The most backups one list shows (newest first).
const MAX_LISTED: i64 = 200;

/// One part of a backup as the API shows it: its name and sizes (where it
/// lies in the bucket and its checksum stay inside).
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupPart {
    /// secret, database or files.
    pub name: String,
    /// Bytes in the bucket (sealed).
    pub bytes: u64,
    /// Bytes before sealing.
    pub plain_bytes: u64,
}

/// A backup as the API shows it (never its key).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Backup)]
pub struct BackupOut {
    pub id: Uuid,
    /// Why it was taken: manual, scheduled, or final (by a delete, kept
    /// for an undelete until `expires_at`).
    #[schema(schema_with = reason_schema)]
    pub reason: &'static str,
    /// running, complete, failed or purged.
    #[schema(schema_with = state_schema)]
    pub state: &'static str,
    /// Sealed bytes written.
    pub bytes: i64,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    #[schema(required)]
    pub finished_at: Option<DateTime<Utc>>,
    /// When it is purged (null: kept until deleted with its store).
    #[schema(required)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it failed, when it did.
    #[schema(required)]
    pub error: Option<String>,
    /// What it holds (empty until it is complete).
    pub parts: Vec<BackupPart>,
    /// What the store held when it was backed up (orders, ...).
    pub counts: BTreeMap<String, i64>,
}

fn reason_schema() -> utoipa::openapi::Object {
    string_enum(&["manual", "scheduled", "final"], "Why it was taken.")
}

fn state_schema() -> utoipa::openapi::Object {
    string_enum(
        &["running", "complete", "failed", "purged"],
        "Where the backup is.",
    )
}

fn string_enum(values: &[&str], description: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

impl From<Backup> for BackupOut {
    fn from(b: Backup) -> BackupOut {
        let (parts, counts) = match b.manifest {
            Some(m) => (
                m.parts
                    .into_iter()
                    .map(|p| BackupPart {
                        name: p.name,
                        bytes: p.bytes,
                        plain_bytes: p.plain_bytes,
                    })
                    .collect(),
                m.counts,
            ),
            None => (Vec::new(), BTreeMap::new()),
        };
        BackupOut {
            id: b.id,
            reason: b.reason.as_str(),
            state: b.state.as_str(),
            bytes: b.bytes,
            requested_by: b.requested_by,
            started_at: b.started_at,
            finished_at: b.finished_at,
            expires_at: b.expires_at,
            error: b.error,
            parts,
            counts,
        }
    }
}

/// A store's backups.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupList {
    /// Newest first (at most 200).
    pub backups: Vec<BackupOut>,
}

/// Which backup a restore uses.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// The backup's id, or at least 4 characters of its start. Default:
    /// the store's newest complete backup.
    #[serde(default)]
    #[schema(min_length = 4)]
    pub backup: Option<String>,
}

/// The query of `DELETE /api/stores/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true`: delete without the final backup an undelete would need.
    /// Default `false` (a final backup first, when backups are configured).
    #[param(value_type = Option<bool>)]
    pub no_backup: Option<String>,
}

/// `no_backup` as a bool: only `true` or `false` (a typo must not delete a
/// store without the backup its owner counted on, nor skip one silently).
pub fn no_backup(q: &DeleteQuery) -> ApiResult<bool> {
    match q.no_backup.as_deref().map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "invalid_query",
            format!("no_backup must be true or false, not {other:?}"),
        )
        .field("no_backup")),
    }
}

/// A backup, restore or undelete the engine turned down for what was asked
/// (an unknown backup, no final backup, the address taken): 400, with the
/// engine's message. Everything else as every endpoint maps it.
fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid { field, .. } => {
            ApiError::bad_request("invalid", e.to_string()).field(field)
        }
        other => other.into(),
    }
}

fn accepted(store: crate::store::Store) -> Response {
    (StatusCode::ACCEPTED, Json(StoreOut::from(store))).into_response()
}

/// Back a store up: a backup operation is queued and runs in the
/// background (a Ready store only, one operation at a time).
#[utoipa::path(post, path = "/api/stores/{id}/backups", tag = "stores", params(StoreId),
    responses(
        (status = 202, description = "Backup queued; the store as it is.", body = StoreOut),
        (status = 409, description = "The store is not Ready (`code`: not_allowed), or another operation runs on it (`code`: busy).", body = ErrorBody),
    ))]
pub async fn backup(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let store = engine::backup(&state.pool, &principal.actor(), id, principal.scope())
        .await
        .map_err(engine_error)?;
    tracing::info!(store = %store.id, user = %principal.user, "store backup queued");
    Ok(accepted(store))
}

/// A store's backups, newest first (a deleted store's too: its final
/// backup is what an undelete comes back from).
#[utoipa::path(get, path = "/api/stores/{id}/backups", tag = "stores", operation_id = "list_backups", params(StoreId),
    responses((status = 200, description = "The backups.", body = BackupList)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<BackupList>> {
    let s = visible(&state, &principal, id).await?;
    let backups = db_backups::for_store(&state.pool, s.id, MAX_LISTED).await?;
    Ok(Json(BackupList {
        backups: backups.into_iter().map(BackupOut::from).collect(),
    }))
}

/// Restore one of the store's complete backups into it, in place: the
/// store goes to Restoring, then back to Ready.
///
/// The body is optional; without it (or without `backup`) the newest
/// complete backup is used.
#[utoipa::path(post, path = "/api/stores/{id}/restore", tag = "stores", params(StoreId),
    request_body(content = Option<RestoreBody>, description = "Optional: which backup.", content_type = "application/json"),
    responses(
        (status = 202, description = "Restoring.", body = StoreOut),
        (status = 400, description = "No such backup, an id prefix shorter than 4 characters or matching several, or a backup that is not complete (`code`: invalid, `field`: backup).", body = ErrorBody),
        (status = 409, description = "The store cannot be restored now (`code`: not_allowed), or another operation runs on it (`code`: busy).", body = ErrorBody),
    ))]
pub async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    body: Bytes,
) -> ApiResult<Response> {
    // The body is optional, so it is read by hand: empty means the default.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        RestoreBody::default()
    } else {
        axum::Json::<Option<RestoreBody>>::from_bytes(&body)
            .map_err(ApiError::from)?
            .0
            .unwrap_or_default()
    };
    let store = engine::restore(
        &state.pool,
        &principal.actor(),
        id,
        principal.scope(),
        body.backup.as_deref(),
    )
    .await
    .map_err(engine_error)?;
    tracing::info!(store = %store.id, user = %principal.user, "store restore queued");
    Ok(accepted(store))
}

/// Bring a deleted store back from its final backup, under its old name
/// and address: it goes to Provisioning, then Ready.
#[utoipa::path(post, path = "/api/stores/{id}/undelete", tag = "stores", params(StoreId),
    responses(
        (status = 202, description = "Provisioning from the final backup.", body = StoreOut),
        (status = 400, description = "No final backup to come back from, or its address is taken by another store (`code`: invalid).", body = ErrorBody),
        (status = 409, description = "The store is not deleted (`code`: not_allowed), or you have a live store of that name (`code`: name_taken).", body = ErrorBody),
    ))]
pub async fn undelete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let store = engine::undelete(&state.pool, &principal.actor(), id, principal.scope())
        .await
        .map_err(engine_error)?;
    tracing::info!(store = %store.id, user = %principal.user, "store undelete queued");
    Ok(accepted(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: Option<&str>) -> DeleteQuery {
        DeleteQuery {
            no_backup: v.map(str::to_string),
        }
    }

    #[test]
    fn no_backup_takes_true_or_false_only() {
        assert!(!no_backup(&q(None)).unwrap());
        assert!(!no_backup(&q(Some("false"))).unwrap());
        assert!(no_backup(&q(Some("true"))).unwrap());
        for bad in ["maybe", "1", "yes", "TRUE "] {
            let e = no_backup(&q(Some(bad))).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.body.field.as_deref(), Some("no_backup"));
        }
    }

    #[test]
    fn an_unknown_backup_is_a_bad_request_with_the_engines_words() {
        let e = engine_error(EngineError::Invalid {
            field: "backup",
            message: "store \"a\" has no backup abcd".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.body.error.contains("has no backup abcd"),
            "{}",
            e.body.error
        );
        let e = engine_error(EngineError::NameTaken {
            name: "a".into(),
            owner: "b".into(),
        });
        assert_eq!(e.status, StatusCode::CONFLICT);
    }
}
