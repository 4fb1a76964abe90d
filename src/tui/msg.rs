//! What arrives at the loop (`Msg`) and what `update` asks it to do
//! (`Command`). Errors travel as text: the console shows them, it does not
//! branch on them.

use crate::cluster::detail::{EventLine, Resource};
use crate::cluster::health::Health;
use crate::cluster::view::Connection;
use crate::db::audit::Entry;
use crate::db::operations::Operation;
use crate::engine::CreateRequest;
use crate::store::Store;
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use std::collections::HashMap;
use std::time::Instant;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock: relative times ("12s ago") and flash messages age.
    Tick(DateTime<Utc>),
    /// The database answered (migrations applied, notifications listened to).
    DbUp(DateTime<Utc>),
    DbDown {
        at: DateTime<Utc>,
        error: String,
    },
    StoresLoaded {
        at: DateTime<Utc>,
        result: Result<Vec<Store>, String>,
    },
    /// A store changed somewhere (Postgres NOTIFY); `origin` is when the
    /// notification arrived, to measure the latency to the redraw.
    StoreNotified {
        id: Uuid,
        origin: Instant,
    },
    StoreLoaded {
        id: Uuid,
        result: Result<Option<Store>, String>,
        origin: Option<Instant>,
    },
    Cluster(Connection),
    /// No cluster client could be built: the console runs on the database alone.
    ClusterUnavailable(String),
    /// One store's objects changed in the cluster.
    Health {
        id: Uuid,
        health: Health,
        origin: Instant,
    },
    /// A watch re-listed: the health of every store.
    HealthAll(HashMap<Uuid, Health>),
    Resources {
        id: Uuid,
        result: Result<Vec<Resource>, String>,
    },
    Events {
        id: Uuid,
        result: Result<Vec<EventLine>, String>,
    },
    Audit {
        id: Uuid,
        result: Result<(Vec<Entry>, Option<Operation>), String>,
    },
    Created(Result<Store, String>),
    Acted {
        action: Action,
        id: Uuid,
        name: String,
        result: Result<Store, String>,
    },
    WorkersBusy(usize),
    /// SIGTERM, SIGHUP (the SSH session dropped), SIGINT: leave now.
    Signal(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Command {
    LoadStores,
    LoadStore {
        id: Uuid,
        origin: Option<Instant>,
    },
    LoadResources {
        id: Uuid,
        namespace: String,
    },
    LoadAudit(Uuid),
    /// Follow one namespace's events (None: stop following).
    WatchEvents(Option<(Uuid, String)>),
    Create(CreateRequest),
    Retry {
        id: Uuid,
        name: String,
    },
    Delete {
        id: Uuid,
        name: String,
    },
}
