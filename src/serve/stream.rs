//! The live stream of store changes (Server-Sent Events, `GET /api/stream`).
//!
//! One hub per process listens on the Postgres channel every store change is
//! announced on (from any process: this replica, another replica, a console,
//! a worker), loads the changed store once, and fans it out. Each client
//! gets a `snapshot` of its stores when it connects (and again whenever
//! changes may have been missed), then one `store` event per change to a
//! store it may see.
//!
//! Streams are capped per user and in total (429 beyond), and each re-checks
//! its session (or, in proxy and demo mode, its user) every
//! [`RECHECK_EVERY`] and at once when a notification says the user changed
//! (disabled, deleted, new role or password, sessions ended); the stream
//! ends with an `ended` event when the session is gone.

use super::AppState;
use super::auth::{self, Principal};
use super::error::{ApiError, ApiResult};
use super::gate::StreamRefusal;
use super::stores::StoreOut;
use crate::db::{self, stores};
use crate::store::Store;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use sqlx::postgres::PgListener;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

/// How often an open stream re-checks its session at the latest.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum HubEvent {
    Store(Arc<Store>),
    /// A user changed in a way that may end their sessions (their email).
    User(Arc<str>),
    /// Notifications may have been lost (the listener reconnected): clients
    /// should take a fresh snapshot.
    Resync,
}

/// Listens for store changes until shutdown, reconnecting as needed.
pub fn spawn_hub(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let ended = listen(&state).await;
            state.cache.deaf();
            match ended {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the store change notifications; reconnecting")
                }
            }
            let _ = state.hub.send(HubEvent::Resync);
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}

async fn listen(state: &AppState) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(&state.background_pool).await?;
    listener.listen(db::STORE_CHANNEL).await?;
    listener.listen(db::sessions::USER_CHANNEL).await?;
    // Whatever happened while not listening is unknown.
    state.cache.listening();
    let _ = state.hub.send(HubEvent::Resync);
    loop {
        let msg = tokio::select! {
            _ = state.shutdown.cancelled() => return Ok(()),
            msg = listener.try_recv() => msg?,
        };
        match msg {
            Some(n) if n.channel() == db::sessions::USER_CHANNEL => {
                state.cache.user_changed(n.payload());
                let _ = state.hub.send(HubEvent::User(Arc::from(n.payload())));
            }
            Some(n) => {
                let Ok(id) = Uuid::parse_str(n.payload()) else {
                    continue;
                };
                state.cache.store_changed(id);
                if state.hub.receiver_count() == 0 {
                    continue;
                }
                let ticket = state.cache.store_ticket();
                match stores::get(&state.background_pool, id).await {
                    Ok(Some(s)) => {
                        let s = Arc::new(s);
                        state.cache.remember_store(ticket, s.clone());
                        let _ = state.hub.send(HubEvent::Store(s));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot load a changed store");
                        let _ = state.hub.send(HubEvent::Resync);
                    }
                }
            }
            // The connection dropped: changes from now until a new
            // listener is in place would be missed, so start one afresh.
            None => {
                return Err(sqlx::Error::Protocol(
                    "the notification connection closed".into(),
                ));
            }
        }
    }
}

/// The 429 for a stream slot refused (live streams and followed logs share
/// the slots).
pub(super) fn too_many(r: StreamRefusal) -> ApiError {
    let (limit, msg) = match r {
        StreamRefusal::PerUser(n) => (
            "max_streams_per_user",
            format!(
                "you already have {n} live streams (or followed logs) open; close one and retry"
            ),
        ),
        StreamRefusal::Total(n) => (
            "max_streams",
            format!(
                "this server has {n} live streams open, its maximum; retry shortly (the list still works without the stream)"
            ),
        ),
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", msg)
        .limit(limit)
        .retry_after(Duration::from_secs(5))
}

/// Why a long-lived response should end now: the session is gone (checked
/// every [`RECHECK_EVERY`] and at once when the user changes), or the
/// server is shutting down. Followed logs wait on this beside their lines.
pub(super) async fn session_ended(state: &AppState, principal: &Principal) {
    let mut changes = state.hub.subscribe();
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.tick().await;
    loop {
        let check = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = recheck.tick() => true,
            msg = changes.recv() => match msg {
                Ok(HubEvent::User(u)) => *u == *principal.user,
                Ok(HubEvent::Store(_)) => false,
                Ok(HubEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if check {
            match auth::still_valid(state, principal).await {
                Ok(true) => {}
                Ok(false) => return,
                // Unknown is not gone: ask again later.
                Err(e) => tracing::warn!(error = %e, "cannot re-check a followed log's session"),
            }
        }
    }
}

/// GET /api/stream?snapshot=false: instead of the whole list, a `resync`
/// event says "changes may have been missed: reload what you show" (a paged
/// client reloads its page rather than receive thousands of stores).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// false: send `resync` instead of the full list (for paged clients).
    #[param(default = true)]
    pub snapshot: Option<bool>,
}

async fn snapshot(state: &AppState, principal: &Principal, full: bool) -> Event {
    if !full {
        return Event::default().event("resync").data("{}");
    }
    match stores::list(&state.pool, principal.scope()).await {
        Ok(list) => {
            let stores: Vec<StoreOut> = list.into_iter().map(StoreOut::from).collect();
            Event::default()
                .event("snapshot")
                .data(json!({ "stores": stores }).to_string())
        }
        Err(e) => Event::default()
            .event("error")
            .data(serde_json::to_string(&ApiError::from(e).body).unwrap_or_default()),
    }
}

fn store_event(s: &Store) -> Event {
    let out = StoreOut::from(s.clone());
    Event::default()
        .event("store")
        .id(format!("{}:{}", s.id, s.updated_at.timestamp_micros()))
        .data(serde_json::to_string(&out).unwrap_or_default())
}

fn ended() -> Event {
    Event::default().event("ended").data(
        json!({ "error": "the session has ended; sign in again", "code": "unauthenticated" })
            .to_string(),
    )
}

/// Live store changes (Server-Sent Events).
///
/// Events: `snapshot` (data: {"stores": [StoreOut...]}, on connect and
/// whenever changes may have been missed; with `snapshot=false` a `resync`
/// event with `{}` instead), `store` (data: StoreOut, on every change to a
/// store you may see, including its deletion: status Deleted), `error`
/// (data: Error), `ended` (the session is gone; the stream closes). A comment
/// line every 15 s keeps the connection open. EventSource sends the session
/// cookie. At most `max_streams_per_user` per user and `max_streams` per
/// server (429).
#[utoipa::path(get, path = "/api/stream", tag = "stores", params(StreamQuery),
    responses(
        (status = 200, description = "An event stream.", content_type = "text/event-stream", body = String),
        (status = 429, description = "Too many live streams (`limit`: max_streams_per_user or max_streams).", body = super::error::ErrorBody),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    principal: Principal,
    super::ApiQuery(q): super::ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let slot = state
        .streams
        .take(&principal.user, state.settings.max_streams)
        .map_err(too_many)?;
    // Subscribe before taking the snapshot, so no change falls in between.
    let mut changes = state.hub.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(64);
    let shutdown = state.shutdown.clone();
    let full = q.snapshot.unwrap_or(true);
    tokio::spawn(async move {
        let _slot = slot;
        if tx
            .send(snapshot(&state, &principal, full).await)
            .await
            .is_err()
        {
            return;
        }
        let mut recheck = tokio::time::interval(RECHECK_EVERY);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        recheck.tick().await;
        loop {
            let mut check_session = false;
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = recheck.tick() => {
                    check_session = true;
                    None
                }
                msg = changes.recv() => match msg {
                    Ok(HubEvent::Store(s)) if principal.can_see(&s.owner) => Some(store_event(&s)),
                    Ok(HubEvent::Store(_)) => None,
                    Ok(HubEvent::User(u)) => {
                        check_session = *u == *principal.user;
                        None
                    }
                    Ok(HubEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        // User notifications may have been missed too.
                        check_session = true;
                        Some(snapshot(&state, &principal, full).await)
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if check_session {
                match auth::still_valid(&state, &principal).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!(user = %principal.user, "live stream ended: the session is gone");
                        let _ = tx.send(ended()).await;
                        return;
                    }
                    // Unknown is not gone: keep the stream, ask again later.
                    Err(e) => tracing::warn!(error = %e, "cannot re-check a live stream's session"),
                }
            }
            if let Some(event) = event
                && tx.send(event).await.is_err()
            {
                return;
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx).map(Ok)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}
