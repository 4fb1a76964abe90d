//! Everything the console knows, owned by the event loop alone. `update`
//! changes it, `view::draw` reads it; nothing else touches it.

use super::theme::Theme;
use crate::cluster::detail::{EventLine, Resource};
use crate::cluster::health::Health;
use crate::db::audit::Entry;
use crate::db::operations::Operation;
use crate::store::{Status, Store};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::{HashMap, HashSet};
use tui_input::Input;
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
    pub theme: Theme,
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
            theme: Theme { color: true },
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Youngest first.
    Age,
    Name,
    Owner,
    Status,
    /// How long provisioning took, quickest first.
    Took,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Age,
        SortKey::Name,
        SortKey::Owner,
        SortKey::Status,
        SortKey::Took,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Age => "age",
            SortKey::Name => "name",
            SortKey::Owner => "owner",
            SortKey::Status => "status",
            SortKey::Took => "took",
        }
    }

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim().to_ascii_lowercase())
    }
}

/// The stores table: filter, sort, and which row is selected.
#[derive(Debug, Clone)]
pub struct ListView {
    pub filter: Input,
    /// The filter line has the keyboard.
    pub filtering: bool,
    pub sort: SortKey,
    pub reverse: bool,
    /// Indices into `State::stores`, filtered and sorted.
    pub visible: Vec<usize>,
    pub cursor: usize,
    /// First row shown; kept so the selection stays in view.
    pub offset: usize,
    /// The selected store follows its row through re-sorts and reloads.
    pub selected: Option<Uuid>,
}

impl Default for ListView {
    fn default() -> Self {
        ListView {
            filter: Input::default(),
            filtering: false,
            sort: SortKey::Age,
            reverse: false,
            visible: Vec::new(),
            cursor: 0,
            offset: 0,
            selected: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Resources,
    Events,
    Timeline,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Resources, Pane::Events, Pane::Timeline];

    pub fn index(self) -> usize {
        match self {
            Pane::Resources => 0,
            Pane::Events => 1,
            Pane::Timeline => 2,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Resources => "Resources",
            Pane::Events => "Events",
            Pane::Timeline => "Timeline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DetailView {
    pub id: Uuid,
    /// The last known copy: still shown after the store is deleted.
    pub store: Store,
    pub resources: Feed<Vec<Resource>>,
    /// A cluster change arrived while resources were loading: load again.
    pub resources_again: bool,
    pub events: Feed<Vec<EventLine>>,
    pub audit: Feed<Vec<Entry>>,
    pub operation: Option<Operation>,
    pub focus: Pane,
    pub scroll: [usize; 3],
}

impl DetailView {
    pub fn new(store: Store) -> DetailView {
        DetailView {
            id: store.id,
            store,
            resources: Feed::loading(),
            resources_again: false,
            events: Feed::loading(),
            audit: Feed::loading(),
            operation: None,
            focus: Pane::Resources,
            scroll: [0; 3],
        }
    }
}

#[derive(Debug, Clone)]
pub enum Screen {
    Stores,
    Detail(Box<DetailView>),
}

pub const FIELD_NAME: usize = 0;
pub const FIELD_OWNER: usize = 1;
pub const FIELD_ENGINE: usize = 2;
pub const FIELD_LABELS: [&str; 3] = ["Name", "Owner", "Engine"];

#[derive(Debug, Clone)]
pub struct CreateForm {
    pub fields: [Input; 3],
    pub focus: usize,
    /// The request is on its way; keys other than esc are ignored.
    pub submitting: bool,
    /// The engine's answer when it refused the request.
    pub error: Option<String>,
    /// One key per form: submitting twice creates one store.
    pub idempotency_key: String,
}

impl CreateForm {
    pub fn new(owner: &str, idempotency_key: String) -> CreateForm {
        CreateForm {
            fields: [
                Input::default(),
                Input::new(owner.to_string()),
                Input::new("woocommerce".to_string()),
            ],
            focus: FIELD_NAME,
            submitting: false,
            error: None,
            idempotency_key,
        }
    }

    pub fn value(&self, field: usize) -> &str {
        self.fields[field].value()
    }
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Create(Box<CreateForm>),
    ConfirmRetry {
        id: Uuid,
        name: String,
    },
    ConfirmDelete {
        id: Uuid,
        name: String,
        input: Input,
        mismatch: bool,
    },
    ConfirmQuit {
        running: usize,
    },
    Command {
        input: Input,
        error: Option<String>,
    },
    /// The full error message of the store in the detail view.
    Error {
        scroll: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

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
    /// The first list has arrived (an empty table means "no stores").
    pub loaded: bool,
    pub health: HashMap<Uuid, Health>,
    pub list: ListView,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    /// Stores this console created, retried or deleted.
    pub started_here: HashSet<Uuid>,
    pub flash: Option<Flash>,
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
            loaded: false,
            health: HashMap::new(),
            list: ListView::default(),
            screen: Screen::Stores,
            overlay: None,
            started_here: HashSet::new(),
            flash: None,
            quit: false,
            dirty: true,
        }
    }

    pub fn store(&self, id: Uuid) -> Option<&Store> {
        self.stores.iter().find(|s| s.id == id)
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

    pub fn count(&self, status: Status) -> usize {
        self.stores.iter().filter(|s| s.status == status).count()
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

    /// Rows of the stores table that fit on screen (see `view::layout`).
    pub fn list_page(&self) -> usize {
        let banners = self.banner_lines().len() as u16;
        // header 2, banners, table border 2, table header 1, footer 1, filter line.
        let filter = u16::from(self.list.filtering || !self.list.filter.value().is_empty());
        usize::from(self.size.1.saturating_sub(6 + banners + filter)).max(1)
    }

    /// The banners as screen lines: each wrapped to the width, at most two
    /// lines each (the log file has the whole error).
    pub fn banner_lines(&self) -> Vec<String> {
        let width = usize::from(self.size.0).saturating_sub(4).max(10);
        let mut out = Vec::new();
        for b in self.banners() {
            let lines = crate::tui::view::wrap(&b, width);
            let n = lines.len();
            for (i, l) in lines.into_iter().take(2).enumerate() {
                let glyph = if i == 0 { "⚠" } else { " " };
                let cut = if i == 1 && n > 2 { "…" } else { "" };
                out.push(format!(" {glyph} {l}{cut}"));
            }
        }
        out
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

    /// Recomputes the visible rows after the stores, the filter or the sort
    /// changed, keeping the selected store selected.
    pub fn refresh_visible(&mut self) {
        let needle = self.list.filter.value().trim().to_lowercase();
        let mut visible: Vec<usize> = self
            .stores
            .iter()
            .enumerate()
            .filter(|(_, s)| needle.is_empty() || matches_filter(s, &needle))
            .map(|(i, _)| i)
            .collect();
        let stores = &self.stores;
        let key = self.list.sort;
        visible.sort_by(|&a, &b| {
            let (a, b) = (&stores[a], &stores[b]);
            let ord = match key {
                SortKey::Age => b.created_at.cmp(&a.created_at),
                SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                SortKey::Owner => a.owner.cmp(&b.owner),
                SortKey::Status => a.status.cmp(&b.status),
                SortKey::Took => {
                    // Stores that never became ready go last.
                    let ta = a
                        .provision_duration()
                        .map(|d| d.num_milliseconds())
                        .unwrap_or(i64::MAX);
                    let tb = b
                        .provision_duration()
                        .map(|d| d.num_milliseconds())
                        .unwrap_or(i64::MAX);
                    ta.cmp(&tb)
                }
            };
            ord.then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        if self.list.reverse {
            visible.reverse();
        }
        self.list.visible = visible;
        let pos = self.list.selected.and_then(|id| {
            self.list
                .visible
                .iter()
                .position(|&i| self.stores[i].id == id)
        });
        self.list.cursor = match pos {
            Some(p) => p,
            None => self
                .list
                .cursor
                .min(self.list.visible.len().saturating_sub(1)),
        };
        self.list.selected = self.selected_store().map(|s| s.id);
        self.keep_cursor_in_view();
    }

    pub fn keep_cursor_in_view(&mut self) {
        self.list.offset = scroll_offset(self.list.offset, self.list.cursor, self.list_page());
    }
}

/// The first row to show so that `cursor` is on screen, moving as little as possible.
pub fn scroll_offset(offset: usize, cursor: usize, page: usize) -> usize {
    let page = page.max(1);
    if cursor < offset {
        cursor
    } else if cursor >= offset + page {
        cursor + 1 - page
    } else {
        offset
    }
}

fn matches_filter(s: &Store, needle: &str) -> bool {
    contains_ci(&s.name, needle)
        || contains_ci(&s.owner, needle)
        || contains_ci(&s.namespace, needle)
        || contains_ci(s.status.as_str(), needle)
        || contains_ci(&s.phase, needle)
        || contains_ci(&s.url, needle)
}

/// Case-insensitive substring test; `needle` is already lower-case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}
