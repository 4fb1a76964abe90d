//! The detail view of one store: its panes, and the logs and the wp
//! prompt over them.

use super::Feed;
use crate::cluster::detail::{EventLine, Resource};
use crate::db::audit::Entry;
use crate::db::backups::Backup;
use crate::db::operations::Operation;
use crate::store::Store;
use crate::tui::msg::{ContainerRef, WpOutput};
use std::collections::VecDeque;
use tui_input::Input;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Resources,
    Events,
    Timeline,
    /// The store's backups; its scroll position is the backup a restore
    /// uses (`R`).
    Backups,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Resources, Pane::Events, Pane::Timeline, Pane::Backups];

    pub fn index(self) -> usize {
        match self {
            Pane::Resources => 0,
            Pane::Events => 1,
            Pane::Timeline => 2,
            Pane::Backups => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Resources => "Resources",
            Pane::Events => "Events",
            Pane::Timeline => "Timeline",
            Pane::Backups => "Backups",
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
    /// Its backups, newest first.
    pub backups: Feed<Vec<Backup>>,
    /// Its backup schedule, read with the backups (None until then, or
    /// when it could not be read: the backups pane says why).
    pub schedule: Option<crate::engine::schedule::ScheduleView>,
    /// Its restore drills and last good restore (with backups configured).
    pub drills: Feed<crate::engine::drill::DrillsView>,
    /// When the drills last arrived (or failed to): read again a minute
    /// later, sooner while a drill runs (`tui::drills::refresh_every`).
    pub drills_at: Option<chrono::DateTime<chrono::Utc>>,
    pub focus: Pane,
    pub scroll: [usize; 4],
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

/// The wp prompt and everything it ran.
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
            backups: Feed::loading(),
            schedule: None,
            drills: Feed::loading(),
            drills_at: None,
            focus: Pane::Resources,
            scroll: [0; 4],
            mode: DetailMode::Panes,
            wp: Box::default(),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_separated_output_is_aligned() {
        assert_eq!(
            align_tabs("name\tstatus\nstorefront\tactive\n"),
            vec!["name        status", "storefront  active"]
        );
        assert_eq!(align_tabs("plain line"), vec!["plain line"]);
    }
}
