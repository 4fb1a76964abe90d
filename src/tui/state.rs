//! Everything the console knows, owned by the event loop alone. `update`
//! changes it, `view::draw` reads it; nothing else touches it.

use super::msg::{Action, ContainerRef, DoctorCheck, Report, WpOutput};
use super::theme::Theme;
use super::{keys, layout};
use crate::cluster::detail::{EventLine, Resource};
use crate::cluster::health::Health;
use crate::db::audit::Entry;
use crate::db::operations::Operation;
use crate::store::{Status, Store};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::{HashMap, HashSet, VecDeque};
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
    /// Names no store may take (the form refuses them as you type).
    pub reserved: crate::store::Reserved,
    pub theme: Theme,
    /// Lines of a pod's log kept in the logs pane.
    pub log_lines: usize,
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
    /// Stores marked for a bulk action (`space`, `*`).
    pub marked: HashSet<Uuid>,
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
            marked: HashSet::new(),
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
    /// The panes, or the logs or the wp prompt over them.
    pub mode: DetailMode,
    /// The wp prompt's history, kept while the detail is open.
    pub wp: Box<WpView>,
}

#[derive(Debug, Clone)]
pub enum DetailMode {
    Panes,
    Logs(Box<LogsView>),
    /// The prompt over `DetailView::wp`.
    Wp,
}

/// A pod's log: a ring of the last `cap` lines, followed live or scrolled.
#[derive(Debug, Clone)]
pub struct LogsView {
    pub containers: Feed<Vec<ContainerRef>>,
    /// Index into `containers`.
    pub selected: usize,
    /// The container picker is open, its cursor here.
    pub picking: Option<usize>,
    pub lines: VecDeque<String>,
    pub cap: usize,
    /// Lines dropped off the front of the ring.
    pub dropped: u64,
    /// Stick to the newest line.
    pub follow: bool,
    /// The previous instance of the container.
    pub previous: bool,
    pub wrap: bool,
    pub timestamps: bool,
    /// First line shown when not following (index into `lines`).
    pub top: usize,
    /// The `/` line has the keyboard.
    pub searching: bool,
    pub search: Input,
    /// The current stream's number; lines of older streams are dropped.
    pub stream: u64,
    /// The stream is open.
    pub live: bool,
    pub error: Option<String>,
}

impl LogsView {
    pub fn new(cap: usize) -> LogsView {
        LogsView {
            containers: Feed::loading(),
            selected: 0,
            picking: None,
            lines: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            follow: true,
            previous: false,
            wrap: false,
            timestamps: false,
            top: 0,
            searching: false,
            search: Input::default(),
            stream: 0,
            live: false,
            error: None,
        }
    }

    pub fn container(&self) -> Option<&ContainerRef> {
        self.containers.data.as_ref()?.get(self.selected)
    }

    /// Appends lines, dropping the oldest beyond the cap; a scrolled view
    /// stays on the same lines.
    pub fn push(&mut self, lines: Vec<String>) {
        for l in lines {
            if self.lines.len() == self.cap {
                self.lines.pop_front();
                self.dropped += 1;
                self.top = self.top.saturating_sub(1);
            }
            self.lines.push_back(l);
        }
    }

    /// The first line on screen in a pane of `rows` rows (`update` scrolls
    /// from it, `view` draws from it).
    pub fn top_line(&self, rows: usize) -> usize {
        if self.follow {
            self.lines.len().saturating_sub(rows)
        } else {
            self.top.min(self.lines.len().saturating_sub(1))
        }
    }

    /// The search text, when there is one.
    pub fn query(&self) -> Option<&str> {
        let q = self.search.value();
        (!q.is_empty()).then_some(q)
    }
}

/// The timestamp kubelet puts in front of each line (RFC 3339, one space).
pub fn split_timestamp(line: &str) -> (Option<&str>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') => {
            (Some(ts), rest)
        }
        _ => (None, line),
    }
}

/// The wp-cli prompt and everything it ran.
#[derive(Debug, Clone)]
pub struct WpView {
    pub input: Input,
    /// Which of the offered commands `tab` put in the prompt.
    pub suggestion: Option<usize>,
    pub runs: Vec<WpRun>,
    /// First output line shown; `None`: the end.
    pub scroll: Option<usize>,
    pub next_seq: u64,
}

#[derive(Debug, Clone)]
pub struct WpRun {
    pub seq: u64,
    pub command: String,
    /// `None` while it runs.
    pub result: Option<Result<WpOutput, String>>,
}

impl WpView {
    pub fn new() -> WpView {
        WpView {
            input: Input::default(),
            suggestion: None,
            runs: Vec::new(),
            scroll: None,
            next_seq: 1,
        }
    }

    pub fn running(&self) -> bool {
        self.runs.iter().any(|r| r.result.is_none())
    }

    /// The output pane's lines: each command, then what it printed.
    pub fn output_lines(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for r in &self.runs {
            out.push((format!("$ wp {}", r.command), false));
            match &r.result {
                None => out.push(("running…".to_string(), false)),
                Some(Ok(o)) => {
                    for l in align_tabs(&o.stdout) {
                        out.push((l, false));
                    }
                    for l in o.stderr.lines() {
                        out.push((l.to_string(), true));
                    }
                    match o.exit_code {
                        Some(0) | None => {}
                        Some(c) => out.push((format!("(exit code {c})"), true)),
                    }
                }
                Some(Err(e)) => out.push((format!("✗ {e}"), true)),
            }
            out.push((String::new(), false));
        }
        out
    }
}

impl Default for WpView {
    fn default() -> Self {
        WpView::new()
    }
}

/// wp prints tables as tab-separated columns when it has no terminal: lay
/// them out in aligned columns (a terminal cell cannot show a tab).
pub fn align_tabs(text: &str) -> Vec<String> {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i + 1 < r.len() {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                } else {
                    line.push_str(cell);
                }
            }
            line
        })
        .collect()
}

/// A bulk retry or delete under way: one request per store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRun {
    pub action: Action,
    pub total: usize,
    pub pending: HashSet<Uuid>,
    pub accepted: Vec<String>,
    /// Store name and why it was refused (here or by the engine).
    pub refused: Vec<(String, String)>,
}

impl BulkRun {
    pub fn done(&self) -> bool {
        self.pending.is_empty()
    }
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
            mode: DetailMode::Panes,
            wp: Box::default(),
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
    /// Retry or delete every marked store; a delete needs the count typed.
    ConfirmBulk {
        action: Action,
        targets: Vec<(Uuid, String)>,
        /// Marked stores the action cannot apply to, and why.
        skipped: Vec<(String, String)>,
        input: Input,
        mismatch: bool,
    },
    /// What a bulk action did.
    BulkSummary {
        scroll: usize,
    },
    Doctor {
        report: Feed<Vec<DoctorCheck>>,
        scroll: usize,
    },
    /// A store's release history, or the fleet runs.
    Changes {
        which: Report,
        lines: Feed<Vec<String>>,
        scroll: usize,
    },
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

    /// The table's order: the sort key, then youngest first, then id, so
    /// that it is total and rows never swap between frames.
    fn order(&self, a: &Store, b: &Store) -> std::cmp::Ordering {
        let ord = match self.list.sort {
            SortKey::Age => b.created_at.cmp(&a.created_at),
            SortKey::Name => cmp_ci(&a.name, &b.name),
            SortKey::Owner => a.owner.cmp(&b.owner),
            SortKey::Status => a.status.cmp(&b.status),
            SortKey::Took => {
                // Stores that never became ready go last.
                let t = |s: &Store| {
                    s.provision_duration()
                        .map(|d| d.num_milliseconds())
                        .unwrap_or(i64::MAX)
                };
                t(a).cmp(&t(b))
            }
        };
        let ord = ord
            .then_with(|| b.created_at.cmp(&a.created_at))
            .then_with(|| a.id.cmp(&b.id));
        if self.list.reverse {
            ord.reverse()
        } else {
            ord
        }
    }

    fn needle(&self) -> String {
        self.list.filter.value().trim().to_lowercase()
    }

    /// Recomputes the visible rows after the stores, the filter or the sort
    /// changed, keeping the selected store selected. One pass to filter
    /// (and count), one sort.
    pub fn refresh_visible(&mut self) {
        let needle = self.needle();
        self.index.clear();
        self.counts.clear();
        let mut visible = Vec::with_capacity(self.stores.len());
        for (i, s) in self.stores.iter().enumerate() {
            self.index.insert(s.id, i);
            *self.counts.entry(s.status).or_default() += 1;
            if needle.is_empty() || matches_filter(s, &needle) {
                visible.push(i);
            }
        }
        let stores = &self.stores;
        visible.sort_unstable_by(|&a, &b| self.order(&stores[a], &stores[b]));
        self.list.visible = visible;
        self.reselect();
    }

    /// Puts the cursor back on the selected store (or as near as it can).
    fn reselect(&mut self) {
        let pos = self.list.selected.and_then(|id| {
            let i = *self.index.get(&id)?;
            self.list.visible.iter().position(|&v| v == i)
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

    /// Adds or replaces one store, moving only its own row: a notification
    /// costs a search, not a sort of every store.
    pub fn upsert_store(&mut self, store: Store) {
        if store.status == Status::Deleted {
            self.remove_store(store.id);
            return;
        }
        let i = match self.index.get(&store.id) {
            Some(&i) => {
                let old = std::mem::replace(&mut self.stores[i], store);
                self.count_change(old.status, -1);
                if let Some(p) = self.list.visible.iter().position(|&v| v == i) {
                    self.list.visible.remove(p);
                }
                i
            }
            None => {
                self.stores.push(store);
                let i = self.stores.len() - 1;
                self.index.insert(self.stores[i].id, i);
                i
            }
        };
        let status = self.stores[i].status;
        self.count_change(status, 1);
        let needle = self.needle();
        if needle.is_empty() || matches_filter(&self.stores[i], &needle) {
            let s = &self.stores[i];
            let at = self
                .list
                .visible
                .partition_point(|&v| self.order(&self.stores[v], s) == std::cmp::Ordering::Less);
            self.list.visible.insert(at, i);
        }
        self.reselect();
    }

    pub fn remove_store(&mut self, id: Uuid) {
        let Some(i) = self.index.remove(&id) else {
            return;
        };
        let status = self.stores[i].status;
        self.count_change(status, -1);
        self.list.visible.retain(|&v| v != i);
        let last = self.stores.len() - 1;
        self.stores.swap_remove(i);
        if i != last {
            // The last store moved into the hole.
            self.index.insert(self.stores[i].id, i);
            for v in self.list.visible.iter_mut() {
                if *v == last {
                    *v = i;
                }
            }
        }
        self.list.marked.remove(&id);
        self.reselect();
    }

    fn count_change(&mut self, status: Status, delta: isize) {
        let c = self.counts.entry(status).or_default();
        *c = c.saturating_add_signed(delta);
    }

    pub fn keep_cursor_in_view(&mut self) {
        self.list.offset =
            layout::scroll_offset(self.list.offset, self.list.cursor, self.list_page());
    }
}

/// Case-insensitive order without allocating (ASCII folded; other
/// characters compare as they are).
fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    a.chars()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.chars().map(|c| c.to_ascii_lowercase()))
}

fn matches_filter(s: &Store, needle: &str) -> bool {
    contains_ci(&s.name, needle)
        || contains_ci(&s.owner, needle)
        || contains_ci(&s.namespace, needle)
        || contains_ci(s.status.as_str(), needle)
        || contains_ci(s.phase.as_str(), needle)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_separated_output_is_aligned() {
        assert_eq!(
            align_tabs("name\tstatus\nwoocommerce\tactive\n"),
            vec!["name         status", "woocommerce  active"]
        );
        assert_eq!(align_tabs("plain line"), vec!["plain line"]);
    }
}
