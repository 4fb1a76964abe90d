//! The live stream of store changes (Server-Sent Events, `GET /api/stream`).
//!
//! One hub per process listens on the Postgres channel every store change is
//! announced on (from any process: this replica, another replica, a console,
//! a worker), loads the changed store once, and fans it out. Each client
//! gets a `snapshot` of its stores when it connects (and again whenever
//! changes may have been missed), then one `store` event per change to a
//! store it may see.

use super::AppState;
use super::auth::Principal;
use super::stores::{StoreOut, visible_stores};
use crate::db::{self, stores};
use crate::store::Store;
use axum::extract::State;
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

#[derive(Debug, Clone)]
pub enum HubEvent {
    Store(Arc<Store>),
    /// Notifications may have been lost (the listener reconnected): clients
    /// should take a fresh snapshot.
    Resync,
}

/// Listens for store changes until shutdown, reconnecting as needed.
pub fn spawn_hub(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&state).await {
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
    let mut listener = PgListener::connect_with(&state.pool).await?;
    listener.listen(db::STORE_CHANNEL).await?;
    // Whatever happened while not listening is unknown.
    let _ = state.hub.send(HubEvent::Resync);
    loop {
        let msg = tokio::select! {
            _ = state.shutdown.cancelled() => return Ok(()),
            msg = listener.try_recv() => msg?,
        };
        match msg {
            Some(n) => {
                let Ok(id) = Uuid::parse_str(n.payload()) else {
                    continue;
                };
                if state.hub.receiver_count() == 0 {
                    continue;
                }
                match stores::get(&state.pool, id).await {
                    Ok(Some(s)) => {
                        let _ = state.hub.send(HubEvent::Store(Arc::new(s)));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot load a changed store");
                        let _ = state.hub.send(HubEvent::Resync);
                    }
                }
            }
            // The connection dropped and sqlx reconnected: changes in between
            // were missed.
            None => {
                let _ = state.hub.send(HubEvent::Resync);
            }
        }
    }
}

async fn snapshot(state: &AppState, principal: &Principal) -> Event {
    match visible_stores(state, principal, None, None).await {
        Ok(list) => {
            let stores: Vec<StoreOut> = list.into_iter().map(StoreOut::from).collect();
            Event::default()
                .event("snapshot")
                .data(json!({ "stores": stores }).to_string())
        }
        Err(e) => Event::default()
            .event("error")
            .data(serde_json::to_string(&e.body).unwrap_or_default()),
    }
}

fn store_event(s: &Store) -> Event {
    let out = StoreOut::from(s.clone());
    Event::default()
        .event("store")
        .id(format!("{}:{}", s.id, s.updated_at.timestamp_micros()))
        .data(serde_json::to_string(&out).unwrap_or_default())
}

/// GET /api/stream
pub async fn stream(
    State(state): State<AppState>,
    principal: Principal,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before taking the snapshot, so no change falls in between.
    let mut changes = state.hub.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(64);
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        if tx.send(snapshot(&state, &principal).await).await.is_err() {
            return;
        }
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                msg = changes.recv() => match msg {
                    Ok(HubEvent::Store(s)) if principal.can_see(&s.owner) => store_event(&s),
                    Ok(HubEvent::Store(_)) => continue,
                    Ok(HubEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        snapshot(&state, &principal).await
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    Sse::new(ReceiverStream::new(rx).map(Ok)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}
