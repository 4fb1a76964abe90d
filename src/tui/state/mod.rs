//! Everything the console knows, owned by the event loop alone. `update`
//! changes it, `view::draw` reads it; nothing else touches it. The stores
//! table is in `list`, the detail view's parts in `detail`, pop-ups in
//! `overlay`.

mod detail;
mod list;
mod overlay;

pub use detail::{
    DetailMode, DetailView, LogsView, Pane, WpRun, WpView, align_tabs, split_timestamp,
};
pub use list::{ListView, SortKey};
pub use overlay::{
    BulkRun, CloneForm, CreateForm, FIELD_ENGINE, FIELD_LABELS, FIELD_NAME, FIELD_OWNER, Overlay,
};

use super::msg::Action;
use super::theme::Theme;
use super::{keys, layout};
use crate::cluster::health::Health;
use crate::store::{Status, Store};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Facts fixed at start-up, shown in the header and used by the form.
#[derive(Debug, Clone)]
pub struct Info {
    pub context: String,
    /// Host, port and database name: never the password.
    pub database: String,
    pub read_only: bool,
    pub workers: u32,
    /// Who is at the keyboard (the form's default owner, the audit actor).
    pub user: String,
    pub max_stores: u32,
    pub max_stores_per_user: u32,
    pub max_concurrent: u32,
    pub ingress_suffix: String,
    pub tls: bool,
    /// Names no store may take (the form refuses them as you type).
    pub reserved: crate::store::Reserved,
    pub theme: Theme,
    /// Lines of a pod's log kept in the logs pane.
    pub log_lines: usize,
    /// Days a deleted store's final backup is kept for an undelete; None:
    /// backups are off (a delete cannot be undone).
    pub keep_deleted_days: Option<u32>,
}

impl Info {
    pub fn example() -> Info {
        Info {
            context: "sandbox".into(),
            database: "127.0.0.1:5432/store_weaver".into(),
            read_only: false,
            workers: 2,
            user: "operator".into(),
            max_stores: 100,
            max_stores_per_user: 5,
            max_concurrent: 3,
            ingress_suffix: ".localhost".into(),
            tls: false,
            reserved: crate::store::Reserved::new(
                "store-weaver-system",
                None,
                ".localhost",
                &["admin".to_string(), "store-weaver".to_string()],
            ),
            theme: Theme { color: true },
            log_lines: 5000,
            keep_deleted_days: None,
        }
    }
}

/// The state of a connection to one side (the database, the cluster watch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Up,
    Down,
    /// Cannot even be tried (e.g. no usable kubeconfig): no retry.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub state: LinkState,
    /// When it entered this state.
    pub since: DateTime<Utc>,
    pub error: Option<String>,
}

impl Link {
    pub fn connecting(at: DateTime<Utc>) -> Link {
        Link {
            state: LinkState::Connecting,
            since: at,
            error: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.state == LinkState::Up
    }

    /// Moves to `state`; `since` changes only when the state does, so
    /// "unreachable since" keeps the time of the first failure.
    pub fn set(&mut self, state: LinkState, at: DateTime<Utc>, error: Option<String>) -> bool {
        let changed = self.state != state || self.error != error;
        if self.state != state {
            self.since = at;
        }
        self.state = state;
        self.error = error;
        changed
    }
}

/// Data fetched by a command: the last good value is kept while a refresh
/// runs or after it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed<T> {
    pub data: Option<T>,
    pub error: Option<String>,
    pub loading: bool,
}

impl<T> Default for Feed<T> {
    fn default() -> Self {
        Feed {
            data: None,
            error: None,
            loading: false,
        }
    }
}

impl<T> Feed<T> {
    pub fn loading() -> Self {
        Feed {
            data: None,
            error: None,
            loading: true,
        }
    }

    pub fn set(&mut self, result: Result<T, String>) {
        self.loading = false;
        match result {
            Ok(v) => {
                self.data = Some(v);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }
}
#[derive(Debug, Clone)]
pub enum Screen {
    Stores,
    Detail(Box<DetailView>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

#[derive(Clone)]
pub struct State {
    pub info: Info,
    pub now: DateTime<Utc>,
    /// The local time zone for "since hh:mm:ss", fixed at start-up.
    pub tz: FixedOffset,
    /// Terminal size (columns, rows) as last reported.
    pub size: (u16, u16),
    pub db: Link,
    pub cluster: Link,
    pub busy_workers: usize,
    pub stores: Vec<Store>,
    /// Position in `stores` by id.
    pub index: HashMap<Uuid, usize>,
    /// Stores per status.
    pub counts: std::collections::BTreeMap<Status, usize>,
    /// The first list has arrived (an empty table means "no stores").
    pub loaded: bool,
    /// Stores being read after a notification, and those notified again
    /// meanwhile.
    pub loading: HashSet<Uuid>,
    pub load_again: HashSet<Uuid>,
    pub health: HashMap<Uuid, Health>,
    pub list: ListView,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    /// Stores this console created, retried or deleted.
    pub started_here: HashSet<Uuid>,
    pub flash: Option<Flash>,
    /// The bulk action under way or last finished.
    pub bulk: Option<BulkRun>,
    /// When each store's newest complete backup finished (with backups
    /// configured): the stores list marks Ready stores without one in 24 h.
    pub good_backups: Feed<HashMap<Uuid, DateTime<Utc>>>,
    /// When `good_backups` was last asked for (it is asked again each minute).
    pub good_backups_asked: Option<DateTime<Utc>>,
    /// Numbers log streams and wp runs, so that late answers are told apart.
    pub next_seq: u64,
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
}

impl State {
    pub fn new(info: Info, now: DateTime<Utc>, tz: FixedOffset, size: (u16, u16)) -> State {
        State {
            info,
            now,
            tz,
            size,
            db: Link::connecting(now),
            cluster: Link::connecting(now),
            busy_workers: 0,
            stores: Vec::new(),
            index: HashMap::new(),
            counts: Default::default(),
            loaded: false,
            loading: HashSet::new(),
            load_again: HashSet::new(),
            health: HashMap::new(),
            list: ListView::default(),
            screen: Screen::Stores,
            overlay: None,
            started_here: HashSet::new(),
            flash: None,
            bulk: None,
            good_backups: Feed::default(),
            good_backups_asked: None,
            next_seq: 1,
            quit: false,
            dirty: true,
        }
    }

    pub fn store(&self, id: Uuid) -> Option<&Store> {
        self.index.get(&id).and_then(|&i| self.stores.get(i))
    }

    pub fn selected_store(&self) -> Option<&Store> {
        self.list
            .visible
            .get(self.list.cursor)
            .and_then(|&i| self.stores.get(i))
    }

    pub fn detail(&self) -> Option<&DetailView> {
        match &self.screen {
            Screen::Detail(d) => Some(d),
            Screen::Stores => None,
        }
    }

    /// The store the current screen is about: the detail's, or the selected row.
    pub fn current_store(&self) -> Option<&Store> {
        match &self.screen {
            Screen::Detail(d) => Some(self.store(d.id).unwrap_or(&d.store)),
            Screen::Stores => self.selected_store(),
        }
    }

    /// Stores with this status, kept up to date by every change (a frame
    /// does not scan the stores to count them).
    pub fn count(&self, status: Status) -> usize {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    pub fn owner_count(&self, owner: &str) -> usize {
        self.stores.iter().filter(|s| s.owner == owner).count()
    }

    /// Operations started from this console that are still under way.
    pub fn running_here(&self) -> usize {
        self.stores
            .iter()
            .filter(|s| self.started_here.contains(&s.id) && s.status.is_busy())
            .count()
    }

    /// Rows of the stores table that fit on screen.
    pub fn list_page(&self) -> usize {
        layout::list_page(
            self.size,
            self.banner_lines().len() as u16,
            self.show_filter(),
        )
    }

    /// The filter line is shown while typing and while a filter applies.
    pub fn show_filter(&self) -> bool {
        self.list.filtering || !self.list.filter.value().is_empty()
    }

    /// The banners as screen lines: each wrapped to the width, at most two
    /// lines each (the log file has the whole error).
    pub fn banner_lines(&self) -> Vec<String> {
        let width = usize::from(self.size.0).saturating_sub(4).max(10);
        let mut out = Vec::new();
        for b in self.banners() {
            let lines = layout::wrap(&b, width);
            let n = lines.len();
            for (i, l) in lines.into_iter().take(2).enumerate() {
                let glyph = if i == 0 { "⚠" } else { " " };
                let cut = if i == 1 && n > 2 { "…" } else { "" };
                out.push(format!(" {glyph} {l}{cut}"));
            }
        }
        out
    }

    /// Which key table is active: `update` dispatches on it, the footer
    /// shows it.
    pub fn key_context(&self) -> keys::Context {
        match &self.overlay {
            Some(Overlay::Help { .. }) => keys::Context::Help,
            Some(Overlay::Create(_)) => keys::Context::Create,
            Some(Overlay::ConfirmRetry { .. }) => keys::Context::ConfirmRetry,
            Some(Overlay::ConfirmDelete { .. }) => keys::Context::ConfirmDelete,
            Some(Overlay::ConfirmQuit { .. }) => keys::Context::ConfirmQuit,
            Some(Overlay::Command { .. }) => keys::Context::Command,
            Some(Overlay::Error { .. }) => keys::Context::Error,
            Some(Overlay::ConfirmBulk {
                action: Action::Delete,
                ..
            }) => keys::Context::ConfirmBulkDelete,
            Some(Overlay::ConfirmBulk { .. }) => keys::Context::ConfirmRetry,
            Some(Overlay::ConfirmRestore { .. }) => keys::Context::ConfirmRestore,
            Some(Overlay::Deleted { .. }) => keys::Context::Deleted,
            Some(Overlay::ConfirmUndelete(_)) => keys::Context::ConfirmUndelete,
            Some(Overlay::ConfirmDrill { .. }) => keys::Context::ConfirmDrill,
            Some(Overlay::Schedule { .. }) => keys::Context::Schedule,
            Some(Overlay::CloneForm(_)) => keys::Context::CloneForm,
            Some(Overlay::BulkSummary { .. })
            | Some(Overlay::Doctor { .. })
            | Some(Overlay::Changes { .. }) => keys::Context::Report,
            None => match &self.screen {
                Screen::Stores if self.list.filtering => keys::Context::Filter,
                Screen::Stores => keys::Context::Stores,
                Screen::Detail(d) => match &d.mode {
                    DetailMode::Panes => keys::Context::Detail,
                    DetailMode::Logs(l) if l.picking.is_some() => keys::Context::PickContainer,
                    DetailMode::Logs(l) if l.searching => keys::Context::LogSearch,
                    DetailMode::Logs(_) => keys::Context::Logs,
                    DetailMode::Wp => keys::Context::Wp,
                },
            },
        }
    }

    /// The context the help overlay describes: the view under it.
    pub fn help_context(&self) -> keys::Context {
        match &self.screen {
            Screen::Stores => keys::Context::Stores,
            Screen::Detail(d) => match &d.mode {
                DetailMode::Panes => keys::Context::Detail,
                DetailMode::Logs(_) => keys::Context::Logs,
                DetailMode::Wp => keys::Context::Wp,
            },
        }
    }

    /// The `?` help for the current view.
    pub fn help_lines(&self) -> Vec<keys::HelpLine> {
        keys::help(self.help_context(), self.info.read_only)
    }

    /// The body band of the screen (between the header and the footer).
    pub fn body(&self) -> ratatui::layout::Rect {
        layout::bands(layout::screen(self.size), self.banner_lines().len() as u16).body
    }

    /// How far the full-error pop-up can scroll.
    pub fn error_max_scroll(&self) -> usize {
        let msg = self
            .current_store()
            .and_then(|s| s.error_message.as_deref())
            .unwrap_or_default();
        layout::error_max_scroll(self.body(), msg)
    }

    /// How far the help can scroll on this screen.
    pub fn help_max_scroll(&self) -> usize {
        let lines = self.help_lines().iter().map(keys::HelpLine::height).sum();
        let body = layout::bands(layout::screen(self.size), self.banner_lines().len() as u16).body;
        layout::max_scroll(lines, layout::help_box(body, lines))
    }

    /// How far the pop-up shown can scroll: until its last line is on
    /// screen (0 for pop-ups that do not scroll).
    pub fn overlay_max_scroll(&self) -> usize {
        match &self.overlay {
            Some(Overlay::Help { .. }) => self.help_max_scroll(),
            Some(Overlay::Error { .. }) => self.error_max_scroll(),
            Some(o) => match super::report::text(self, o) {
                Some((_, text)) => {
                    let body = self.body();
                    let width = layout::report_text_width(body);
                    let lines = text.iter().map(|t| layout::wrap(t, width).len()).sum();
                    layout::max_scroll(lines, layout::report_box(body, lines))
                }
                None => 0,
            },
            None => 0,
        }
    }

    /// Backups are configured: the console shows which stores lack one.
    pub fn backups_on(&self) -> bool {
        self.info.keep_deleted_days.is_some()
    }

    /// The store needs a backup (Ready, none complete in 24 h); None when
    /// it is not known (backups off, or not loaded yet).
    pub fn needs_backup(&self, s: &Store) -> Option<bool> {
        if !self.backups_on() {
            return None;
        }
        let newest = self.good_backups.data.as_ref()?;
        Some(super::backups::needs_backup(
            s,
            newest.get(&s.id).copied(),
            self.now,
        ))
    }

    /// Problems shown under the header, worst first.
    pub fn banners(&self) -> Vec<String> {
        let mut out = Vec::new();
        let at = |t: DateTime<Utc>| t.with_timezone(&self.tz).format("%H:%M:%S").to_string();
        match self.db.state {
            LinkState::Down | LinkState::Unavailable => out.push(format!(
                "database unreachable since {}: {}",
                at(self.db.since),
                self.db.error.as_deref().unwrap_or("no answer")
            )),
            LinkState::Connecting if (self.now - self.db.since).num_seconds() >= 3 => out.push(
                format!("database: still connecting since {}", at(self.db.since)),
            ),
            _ => {}
        }
        match self.cluster.state {
            LinkState::Down => out.push(format!(
                "cluster watch disconnected since {}: {}; statuses may be stale",
                at(self.cluster.since),
                self.cluster.error.as_deref().unwrap_or("no answer")
            )),
            LinkState::Unavailable => out.push(format!(
                "no cluster connection: {}",
                self.cluster.error.as_deref().unwrap_or("not configured")
            )),
            LinkState::Connecting if (self.now - self.cluster.since).num_seconds() >= 5 => out
                .push(format!(
                    "cluster watch: still connecting since {}{}",
                    at(self.cluster.since),
                    self.cluster
                        .error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )),
            _ => {}
        }
        out
    }
}
