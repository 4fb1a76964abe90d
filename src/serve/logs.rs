//! GET /api/stores/{id}/logs: a store's container log, streamed as text, for
//! its owner. The same audited path as the console and `store logs`
//! (`incident::logs`): ownership of the namespace is checked, the store's
//! secrets are masked, and the read is recorded in the audit log.

use super::auth::Principal;
use super::error::{ApiError, ApiResult};
use super::stores::{cluster_error, visible};
use super::{ApiPath, ApiQuery, AppState};
use crate::cluster::pods::{LogRequest, PodsError};
use crate::incident::{self, IncidentError, Target};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

/// Lines sent when `tail` is not given, and the most that may be asked for.
const DEFAULT_TAIL: i64 = 500;
const MAX_TAIL: i64 = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// A pod of the store (default: the newest with the engine's main
    /// container).
    pub pod: Option<String>,
    /// A container, init containers included (default: the main one).
    pub container: Option<String>,
    /// Keep the response open and send new lines as they come.
    #[serde(default)]
    pub follow: bool,
    /// The previous instance of the container (after a restart).
    #[serde(default)]
    pub previous: bool,
    /// The last N lines (1 to 10000, default 500).
    #[param(minimum = 1, maximum = 10000)]
    pub tail: Option<i64>,
    /// Prefix each line with its time.
    #[serde(default)]
    pub timestamps: bool,
}

fn incident_error(e: IncidentError) -> ApiError {
    match e {
        IncidentError::Pods(p @ PodsError::NotOwned { .. }) => {
            tracing::warn!(error = %p, "refused to read logs in a namespace that is not the store's");
            ApiError::new(StatusCode::CONFLICT, "not_owned", p.to_string())
        }
        // The client named a pod or container the store does not have.
        IncidentError::Pods(PodsError::NoSuch { field, detail }) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", detail).field(field)
        }
        // Nothing to read (no pods yet, no namespace): not an outage either.
        IncidentError::Pods(p @ (PodsError::NoTarget(_) | PodsError::NoNamespace { .. })) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", p.to_string())
        }
        IncidentError::Pods(p) => cluster_error(p),
        IncidentError::Audit(db) => ApiError::database(&db),
    }
}

/// A container's log, streamed as text/plain, the store's secrets masked
/// (owner only; recorded in the audit log). Headers x-pod and x-container
/// say which. With `follow=true` it is a live stream: it takes one of
/// `max_streams_per_user` / `max_streams` (429 beyond) and ends when the
/// session does.
#[utoipa::path(get, path = "/api/stores/{id}/logs", tag = "stores",
    params(super::stores::StoreId, LogsQuery),
    responses(
        (status = 200, description = "The log, one line per line.", content_type = "text/plain", body = String),
        (status = 404, description = "No such pod or container in the store (`field` names which), or nothing to read yet.", body = super::error::ErrorBody),
        (status = 409, description = "The namespace is not the store's (`code`: not_owned).", body = super::error::ErrorBody),
        (status = 429, description = "follow=true and too many live streams (`limit`: max_streams_per_user or max_streams).", body = super::error::ErrorBody),
    ))]
pub async fn logs(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<LogsQuery>,
) -> ApiResult<Response> {
    let s = visible(&state, &principal, id).await?;
    if s.owner != principal.user {
        return Err(ApiError::forbidden(
            "only the store's owner can read its logs",
        ));
    }
    let tail = q.tail.unwrap_or(DEFAULT_TAIL);
    if !(1..=MAX_TAIL).contains(&tail) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("tail must be 1 to {MAX_TAIL} lines"),
        )
        .field("tail"));
    }
    // A followed log is a live stream: it takes one of the user's stream
    // slots (429 beyond), held until the response ends.
    let slot = if q.follow {
        Some(
            state
                .streams
                .take(&principal.user, state.settings.max_streams)
                .map_err(super::stream::too_many)?,
        )
    } else {
        None
    };
    // A followed log may be quiet for long: no read timeout on this client,
    // one for the whole process.
    let client = state
        .log_client
        .get_or_try_init(|| crate::cluster::streaming_client(&state.settings))
        .await
        .map_err(|e| cluster_error(format!("{e:#}")))?
        .clone();
    let req = LogRequest {
        pod: q.pod,
        container: q.container,
        follow: q.follow,
        previous: q.previous,
        tail: Some(tail),
        timestamps: q.timestamps,
    };
    let (info, lines) = incident::logs(
        &state.pool,
        &client,
        &principal.actor(),
        &Target::of(&s),
        &req,
    )
    .await
    .map_err(incident_error)?;
    let lines = lines.map(|line| {
        line.map(|l| format!("{l}\n"))
            .map_err(|e| std::io::Error::other(e.to_string()))
    });
    let body = match slot {
        None => Body::from_stream(lines),
        // Followed: ends when the session does (or the server stops), like
        // /api/stream; the slot goes back when the body is dropped.
        Some(slot) => {
            let state = state.clone();
            let principal = principal.clone();
            let ended = Box::pin(async move {
                super::stream::session_ended(&state, &principal).await;
                tracing::info!(user = %principal.user, "followed log ended: the session is gone or the server stops");
            });
            let lines = lines.take_until(ended).map(move |l| {
                let _held = &slot;
                l
            });
            Body::from_stream(lines)
        }
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in [("x-pod", &info.pod), ("x-container", &info.container)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    Ok(res)
}
