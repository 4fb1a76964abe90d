//! What arrives at the loop (`Msg`) and what `update` asks it to do
//! (`Command`). Errors travel as text: the console shows them, it does not
//! branch on them.

use crate::cluster::detail::{EventLine, Resource};
use crate::cluster::health::Health;
use crate::cluster::view::Connection;
use crate::db::audit::Entry;
use crate::db::backups::Backup;
use crate::db::operations::Operation;
use crate::engine::CreateRequest;
use crate::store::NamespaceRef;
use crate::store::Store;
use crate::tui::backups::Undeletable;
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
    /// A store's backups, newest first.
    Backups {
        id: Uuid,
        result: Result<Vec<Backup>, String>,
    },
    /// A store's backup schedule (what applies, the next scheduled backup).
    Schedule {
        id: Uuid,
        result: Result<crate::engine::schedule::ScheduleView, String>,
    },
    /// A store's restore drills and last good restore.
    Drills {
        id: Uuid,
        result: Result<crate::engine::drill::DrillsView, String>,
    },
    /// A restore drill was queued (Ok), or refused by the engine (Err: why).
    DrillQueued {
        id: Uuid,
        name: String,
        result: Result<(), String>,
    },
    /// A store's backup interval was saved (Ok: the interval saved, as
    /// `parse_every` gives it), or refused.
    ScheduleSet {
        id: Uuid,
        name: String,
        result: Result<Option<i32>, String>,
    },
    /// A clone was created (its store, provisioning), or refused.
    Cloned {
        source: String,
        result: Result<Store, String>,
    },
    /// When each store's newest complete backup finished.
    NewestGood {
        at: DateTime<Utc>,
        result: Result<HashMap<Uuid, DateTime<Utc>>, String>,
    },
    /// Deleted stores that can still be undeleted.
    Deleted(Result<Vec<Undeletable>, String>),
    Created(Result<Store, String>),
    Acted {
        action: Action,
        id: Uuid,
        name: String,
        result: Result<Store, String>,
    },
    WorkersBusy(usize),
    /// The containers of a store's pods (init containers included).
    Containers {
        id: Uuid,
        result: Result<Vec<ContainerRef>, String>,
    },
    /// New lines of the log stream `stream` (older streams are ignored).
    LogLines {
        stream: u64,
        lines: Vec<String>,
    },
    /// The log stream ended (the pod went away, or without `follow`).
    LogEnded {
        stream: u64,
        error: Option<String>,
    },
    /// A `wp` command finished.
    WpDone {
        seq: u64,
        result: Result<WpOutput, String>,
    },
    Doctor(Result<Vec<DoctorCheck>, String>),
    /// A store's release history or the fleet runs, as lines to show.
    Report {
        which: Report,
        result: Result<Vec<String>, String>,
    },
    /// An upgrade or rollback was queued (Ok: what), or refused (Err: why).
    ChangeQueued {
        name: String,
        result: Result<String, String>,
    },
    /// SIGTERM, SIGHUP (the SSH session dropped), SIGINT: leave now.
    Signal(&'static str),
}

/// One container of one of a store's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub pod: String,
    pub container: String,
    /// An init container (the store's setup steps run in these).
    pub init: bool,
    /// running, waiting: <reason>, terminated: <reason> (exit N); restarts.
    pub state: String,
}

impl ContainerRef {
    pub fn label(&self) -> String {
        let init = if self.init { " (init)" } else { "" };
        format!("{}/{}{init}", self.pod, self.container)
    }

    /// With its state, for the picker.
    pub fn long_label(&self) -> String {
        if self.state.is_empty() {
            self.label()
        } else {
            format!("{}  {}", self.label(), self.state)
        }
    }
}

/// What the console asks of a log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub id: Uuid,
    pub namespace: String,
    /// The store's name, for the audit log.
    pub name: String,
    pub pod: String,
    pub container: String,
    /// The previous instance of the container (after a crash).
    pub previous: bool,
    pub follow: bool,
    /// Lines from the end to start with.
    pub tail: u32,
}

/// The answer of a `wp` command run in the store's pod for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    Ok,
    Warn,
    Fail,
}

/// One line of the doctor's report: what was checked, what was found,
/// and how to fix it when it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorCheck {
    pub name: String,
    pub state: CheckState,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Delete,
    /// A backup of the store, now (`B` in its detail).
    Backup,
    /// A restore in place from one of its backups (`R` in its detail).
    Restore,
    /// A deleted store back from its final backup.
    Undelete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        self.request().verb()
    }

    /// The lifecycle's request this action makes.
    pub fn request(self) -> crate::store::Request {
        match self {
            Action::Retry => crate::store::Request::Retry,
            Action::Delete => crate::store::Request::Delete,
            Action::Backup => crate::store::Request::Backup,
            Action::Restore => crate::store::Request::Restore,
            Action::Undelete => crate::store::Request::Undelete,
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
        namespace: NamespaceRef,
    },
    LoadAudit(Uuid),
    /// Follow one namespace's events (None: stop following).
    WatchEvents(Option<(Uuid, NamespaceRef)>),
    Create(CreateRequest),
    Retry {
        id: Uuid,
        name: String,
    },
    Delete {
        id: Uuid,
        name: String,
    },
    Backup {
        id: Uuid,
        name: String,
    },
    /// Restore in place from `backup` (None: the newest complete one).
    Restore {
        id: Uuid,
        name: String,
        backup: Option<Uuid>,
    },
    Undelete {
        id: Uuid,
        name: String,
    },
    /// Its backups, its schedule and its drills.
    LoadBackups(Uuid),
    /// Its drills alone (the detail reads them again each minute).
    LoadDrills(Uuid),
    /// A restore drill of the store, now.
    Drill {
        id: Uuid,
        name: String,
    },
    /// The store's own backup interval (None: the fleet's; Some(0): none).
    SetSchedule {
        id: Uuid,
        name: String,
        every_hours: Option<i32>,
    },
    /// A new store `name` from the source's newest complete backup.
    Clone {
        source: Uuid,
        source_name: String,
        name: String,
        owner: String,
    },
    LoadNewestGood,
    LoadDeleted,
    LoadContainers {
        id: Uuid,
        namespace: String,
    },
    /// Starts log stream `stream` (stopping any other).
    StreamLogs {
        stream: u64,
        request: LogRequest,
    },
    StopLogs,
    Wp {
        seq: u64,
        id: Uuid,
        namespace: String,
        name: String,
        args: Vec<String>,
    },
    Doctor,
    LoadHistory {
        id: Uuid,
    },
    LoadFleet,
    Change {
        id: Uuid,
        name: String,
        change: StoreChange,
    },
}

/// What the release-history and fleet pop-ups show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    History(Uuid),
    Fleet,
}

/// A change of a running store asked for from the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// `key=value` settings (none: the shipped chart only).
    Upgrade(Vec<String>),
    Rollback(Option<u32>),
}
