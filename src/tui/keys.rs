//! Every key of every view, in one table per context. The table is what
//! `update` dispatches on (key → `Act`), and what the help overlay, the
//! footer and the hints at the bottom of pop-ups are drawn from, so a key
//! cannot work without being listed, nor be listed without working.
//! Bindings that change anything are marked `writes`: hidden from the
//! hints in `--read-only`, where they answer with a refusal.
//!
//! Contexts that take text (the filter, the forms, the `:` line) list their
//! special keys here; every other key goes to the text field, which the
//! `typing` note of the context says.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Works everywhere, checked first.
    Global,
    Stores,
    Filter,
    Detail,
    Create,
    ConfirmRetry,
    ConfirmDelete,
    ConfirmQuit,
    Help,
    Command,
    Error,
    Logs,
    LogSearch,
    PickContainer,
    Wp,
    ConfirmBulkDelete,
    /// A read-only report pop-up (bulk summary, doctor).
    Report,
    ConfirmRestore,
    /// The deleted stores that can come back.
    Deleted,
    ConfirmUndelete,
    /// Run a restore drill of the store shown?
    ConfirmDrill,
    /// The backup schedule input.
    Schedule,
    /// The clone form (the new store's name).
    CloneForm,
}

impl Context {
    pub const ALL: [Context; 23] = [
        Context::Global,
        Context::Stores,
        Context::Filter,
        Context::Detail,
        Context::Create,
        Context::ConfirmRetry,
        Context::ConfirmDelete,
        Context::ConfirmQuit,
        Context::Help,
        Context::Command,
        Context::Error,
        Context::Logs,
        Context::LogSearch,
        Context::PickContainer,
        Context::Wp,
        Context::ConfirmBulkDelete,
        Context::Report,
        Context::ConfirmRestore,
        Context::Deleted,
        Context::ConfirmUndelete,
        Context::ConfirmDrill,
        Context::Schedule,
        Context::CloneForm,
    ];

    /// What typing does in this context, when keys outside the table go to
    /// a text field.
    pub fn typing(self) -> Option<&'static str> {
        match self {
            Context::Filter => Some("filter by name, owner, status, phase, URL"),
            Context::Create => Some("edit the field (ctrl-u clears it, ctrl-w a word)"),
            Context::ConfirmDelete => Some("the store's name exactly"),
            Context::Command => Some("a command (the list is under Commands in the help)"),
            Context::LogSearch => Some("search the log (case-insensitive)"),
            Context::Wp => Some("a wp command, e.g. plugin list"),
            Context::ConfirmBulkDelete => Some("the number of stores"),
            Context::Schedule => Some("an interval: 6h, 24h, 2d, off or default"),
            Context::CloneForm => Some("the new store's name"),
            _ => None,
        }
    }
}

/// What a key does. One enum for every context: the context decides which
/// of them are reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    QuitNow,
    Quit,
    Help,
    Command,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    Open,
    Create,
    Retry,
    Delete,
    Backup,
    Restore,
    Undelete,
    /// A restore drill of the store, now.
    Drill,
    /// Change the store's backup schedule.
    Schedule,
    /// A new store from this one's newest complete backup.
    CloneStore,
    /// The deleted stores that can come back.
    Deleted,
    /// The backups pane of the detail.
    Backups,
    Filter,
    Sort,
    ReverseSort,
    ClearFilter,
    Reload,
    KeepFilter,
    Back,
    NextPane,
    PrevPane,
    Resources,
    Events,
    Timeline,
    ShowError,
    NextField,
    PrevField,
    Enter,
    Submit,
    Confirm,
    Cancel,
    Close,
    Mark,
    MarkAll,
    Logs,
    Wp,
    Follow,
    Previous,
    Wrap,
    Search,
    Timestamps,
    PickContainer,
    NextMatch,
    PrevMatch,
    NextSuggestion,
    PrevSuggestion,
    History,
    Upgrade,
    Fleet,
    Complete,
}

/// One key: a code and the modifiers that matter (ctrl, alt). Shift is part
/// of the character (`G`), so it is not compared for characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.modifiers.contains(KeyModifiers::ALT) {
            return false;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match ev.code {
            // Some terminals send ctrl-<letter> as upper case.
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            other => other,
        };
        ctrl == self.ctrl && code == self.code
    }

    /// The key as the hints spell it: `ctrl-d`, `enter`, `↑`, `G`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "backspace".into(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }

    /// A key event for this key (tests and the key check feed these).
    pub fn event(&self) -> KeyEvent {
        let mods = if self.ctrl {
            KeyModifiers::CONTROL
        } else {
            KeyModifiers::NONE
        };
        KeyEvent::new(self.code, mods)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub act: Act,
    /// The line in `?` help.
    pub help: &'static str,
    /// Shown in the footer (and pop-up hints) with this short label.
    pub footer: Option<&'static str>,
    /// Creates, retries or deletes: hidden from the hints in read-only mode.
    pub writes: bool,
}

impl Binding {
    /// The keys as one label: "j ↓".
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

const fn b(keys: &'static [Key], act: Act, help: &'static str) -> Binding {
    Binding {
        keys,
        act,
        help,
        footer: None,
        writes: false,
    }
}

/// In the footer under the same word as in the help.
const fn bf(keys: &'static [Key], act: Act, help: &'static str, footer: &'static str) -> Binding {
    Binding {
        keys,
        act,
        help,
        footer: Some(footer),
        writes: false,
    }
}

const fn w(b: Binding) -> Binding {
    Binding { writes: true, ..b }
}

use KeyCode::{BackTab, Backspace, End, Enter, Esc, Home, PageDown, PageUp, Tab};

const DOWN: &[Key] = &[ch('j'), code(KeyCode::Down)];
const UP: &[Key] = &[ch('k'), code(KeyCode::Up)];

const GLOBAL: &[Binding] = &[b(
    &[ctrl('c')],
    Act::QuitNow,
    "quit now (operations continue elsewhere)",
)];

const STORES: &[Binding] = &[
    bf(&[code(Enter), ch('d')], Act::Open, "detail", "detail"),
    w(bf(&[ch('c')], Act::Create, "create", "create")),
    w(bf(&[ch('r')], Act::Retry, "retry", "retry")),
    w(bf(&[ctrl('d')], Act::Delete, "delete", "delete")),
    bf(&[ch('/')], Act::Filter, "filter", "filter"),
    b(&[ch('s')], Act::Sort, "sort by the next column"),
    b(&[ch('S')], Act::ReverseSort, "reverse the sort"),
    b(
        &[code(Esc)],
        Act::ClearFilter,
        "clear the filter, then the marks",
    ),
    b(&[ch(' ')], Act::Mark, "mark / unmark (bulk r, ctrl-d)"),
    b(&[ch('*')], Act::MarkAll, "mark all shown / none"),
    b(DOWN, Act::Down, "down"),
    b(UP, Act::Up, "up"),
    b(&[code(PageDown), ctrl('f')], Act::PageDown, "page down"),
    b(&[code(PageUp), ctrl('b')], Act::PageUp, "page up"),
    b(&[ch('g'), code(Home)], Act::First, "first"),
    b(&[ch('G'), code(End)], Act::Last, "last"),
    b(&[ctrl('r')], Act::Reload, "reload from the database"),
    b(
        &[ch('F')],
        Act::Fleet,
        "fleet runs: waves and each store's outcome",
    ),
    b(
        &[ch('D')],
        Act::Deleted,
        "deleted stores that can come back (undelete)",
    ),
    b(
        &[ch(':')],
        Act::Command,
        "command line (see Commands below)",
    ),
    bf(&[ch('?')], Act::Help, "help", "help"),
    bf(&[ch('q')], Act::Quit, "quit", "quit"),
];

const FILTER: &[Binding] = &[
    bf(&[code(Enter)], Act::KeepFilter, "keep the filter", "keep"),
    bf(&[code(Esc)], Act::ClearFilter, "clear the filter", "clear"),
    bf(&[code(KeyCode::Down)], Act::Down, "down", "down"),
    bf(&[code(KeyCode::Up)], Act::Up, "up", "up"),
];

const DETAIL: &[Binding] = &[
    bf(&[code(Esc), code(Backspace)], Act::Back, "back", "back"),
    b(&[code(Tab)], Act::NextPane, "next pane"),
    b(&[code(BackTab)], Act::PrevPane, "previous pane"),
    b(&[ch('1')], Act::Resources, "resources"),
    b(&[ch('e'), ch('2')], Act::Events, "events"),
    b(&[ch('t'), ch('3')], Act::Timeline, "timeline"),
    b(
        &[ch('b'), ch('4')],
        Act::Backups,
        "backups (the one at the top is the one R restores)",
    ),
    b(DOWN, Act::Down, "scroll down"),
    b(UP, Act::Up, "scroll up"),
    b(&[code(PageDown), ctrl('f')], Act::PageDown, "page down"),
    b(&[code(PageUp), ctrl('b')], Act::PageUp, "page up"),
    b(&[ch('g'), code(Home)], Act::First, "top"),
    b(&[ch('G'), code(End)], Act::Last, "bottom"),
    bf(&[ch('x')], Act::ShowError, "full error message", "error"),
    bf(&[ch('l')], Act::Logs, "pod logs", "logs"),
    bf(&[ch('w')], Act::Wp, "wp prompt", "wp"),
    bf(
        &[ch('H')],
        Act::History,
        "release history, drift",
        "history",
    ),
    w(b(
        &[ch('U')],
        Act::Upgrade,
        "upgrade / change settings (:upgrade key=value, :rollback [N])",
    )),
    w(bf(&[ch('r')], Act::Retry, "retry", "retry")),
    w(bf(&[ctrl('d')], Act::Delete, "delete", "delete")),
    w(b(
        &[ch('B')],
        Act::Backup,
        "back up now (the backups pane shows it)",
    )),
    w(b(
        &[ch('R')],
        Act::Restore,
        "restore from a backup (the backups pane's top one, else the newest complete)",
    )),
    w(b(
        &[ch('T')],
        Act::Drill,
        "restore drill now (into a throwaway store)",
    )),
    w(b(
        &[ch('S')],
        Act::Schedule,
        "change the backup schedule (6h, 2d, off, default)",
    )),
    w(b(
        &[ch('C')],
        Act::CloneStore,
        "clone into a new store (newest complete backup)",
    )),
    b(&[ctrl('r')], Act::Reload, "refresh"),
    b(&[ch(':')], Act::Command, "command"),
    bf(&[ch('?')], Act::Help, "help", "help"),
    b(&[ch('q')], Act::Quit, "quit"),
];

const CREATE: &[Binding] = &[
    bf(
        &[code(Tab), code(KeyCode::Down)],
        Act::NextField,
        "next field",
        "next",
    ),
    b(
        &[code(BackTab), code(KeyCode::Up)],
        Act::PrevField,
        "previous field",
    ),
    bf(&[code(Enter)], Act::Enter, "next / create", "next/create"),
    bf(&[ctrl('s')], Act::Submit, "create", "create"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const CONFIRM_RETRY: &[Binding] = &[
    bf(&[ch('y'), code(Enter)], Act::Confirm, "retry", "retry"),
    bf(&[ch('n'), code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const CONFIRM_DELETE: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "delete", "delete"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const CONFIRM_QUIT: &[Binding] = &[
    bf(
        &[ch('y'), ch('q'), code(Enter)],
        Act::Confirm,
        "quit",
        "quit",
    ),
    bf(&[ch('n'), code(Esc)], Act::Cancel, "stay", "stay"),
];

const HELP: &[Binding] = &[
    bf(DOWN, Act::Down, "scroll down", "down"),
    bf(UP, Act::Up, "scroll up", "up"),
    bf(&[code(Esc), ch('?'), ch('q')], Act::Close, "close", "close"),
];

const COMMAND: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "run", "run"),
    bf(
        &[code(Tab)],
        Act::Complete,
        "complete the command",
        "complete",
    ),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const ERROR: &[Binding] = &[
    bf(DOWN, Act::Down, "scroll down", "down"),
    bf(UP, Act::Up, "scroll up", "up"),
    bf(&[code(Esc), ch('x'), ch('q')], Act::Close, "close", "close"),
];

const LOGS: &[Binding] = &[
    bf(&[code(Esc)], Act::Back, "back to the detail", "back"),
    bf(
        &[ch('c')],
        Act::PickContainer,
        "pick the container",
        "container",
    ),
    bf(&[ch('f')], Act::Follow, "follow on / off", "follow"),
    b(&[ch('p')], Act::Previous, "previous instance on / off"),
    b(&[ch('w')], Act::Wrap, "wrap on / off"),
    b(&[ch('t')], Act::Timestamps, "timestamps on / off"),
    bf(&[ch('/')], Act::Search, "search", "search"),
    b(&[ch('n')], Act::NextMatch, "next match"),
    b(&[ch('N')], Act::PrevMatch, "previous match"),
    b(DOWN, Act::Down, "down"),
    b(UP, Act::Up, "up"),
    b(&[code(PageDown), ctrl('f')], Act::PageDown, "page down"),
    b(&[code(PageUp), ctrl('b')], Act::PageUp, "page up"),
    b(&[ch('g'), code(Home)], Act::First, "first line"),
    bf(
        &[ch('G'), code(End)],
        Act::Last,
        "jump to the end (and follow)",
        "end",
    ),
    bf(&[ch('?')], Act::Help, "help", "help"),
    b(&[ch('q')], Act::Quit, "quit"),
];

const LOG_SEARCH: &[Binding] = &[
    bf(&[code(Enter)], Act::KeepFilter, "keep the search", "keep"),
    bf(&[code(Esc)], Act::ClearFilter, "clear the search", "clear"),
];

const PICK_CONTAINER: &[Binding] = &[
    bf(DOWN, Act::Down, "down", "down"),
    bf(UP, Act::Up, "up", "up"),
    bf(&[code(Enter)], Act::Confirm, "show its log", "show"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const WP: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "run", "run"),
    bf(
        &[code(Tab)],
        Act::NextSuggestion,
        "next offered command",
        "offer",
    ),
    b(
        &[code(BackTab)],
        Act::PrevSuggestion,
        "previous offered command",
    ),
    b(
        &[code(PageUp), ctrl('b')],
        Act::PageUp,
        "scroll the output up",
    ),
    b(
        &[code(PageDown), ctrl('f')],
        Act::PageDown,
        "scroll the output down",
    ),
    bf(&[code(Esc)], Act::Back, "back to the detail", "back"),
];

const CONFIRM_BULK_DELETE: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "delete them all", "delete"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const REPORT: &[Binding] = &[
    bf(DOWN, Act::Down, "scroll down", "down"),
    bf(UP, Act::Up, "scroll up", "up"),
    bf(
        &[code(Esc), code(Enter), ch('q')],
        Act::Close,
        "close",
        "close",
    ),
];

const CONFIRM_RESTORE: &[Binding] = &[
    bf(&[ch('y')], Act::Confirm, "restore", "restore"),
    bf(&[ch('n'), code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const DELETED: &[Binding] = &[
    bf(DOWN, Act::Down, "down", "down"),
    bf(UP, Act::Up, "up", "up"),
    w(bf(
        &[ch('u'), code(Enter)],
        Act::Undelete,
        "undelete the store",
        "undelete",
    )),
    bf(&[code(Esc), ch('q')], Act::Close, "close", "close"),
];

const CONFIRM_UNDELETE: &[Binding] = &[
    bf(
        &[ch('y'), code(Enter)],
        Act::Confirm,
        "undelete",
        "undelete",
    ),
    bf(&[ch('n'), code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const CONFIRM_DRILL: &[Binding] = &[
    bf(
        &[ch('y'), code(Enter)],
        Act::Confirm,
        "run the drill",
        "drill",
    ),
    bf(&[ch('n'), code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const SCHEDULE: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "save", "save"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

const CLONE_FORM: &[Binding] = &[
    bf(&[code(Enter)], Act::Confirm, "clone", "clone"),
    bf(&[code(Esc)], Act::Cancel, "cancel", "cancel"),
];

pub fn all(ctx: Context) -> &'static [Binding] {
    match ctx {
        Context::Global => GLOBAL,
        Context::Stores => STORES,
        Context::Filter => FILTER,
        Context::Detail => DETAIL,
        Context::Create => CREATE,
        Context::ConfirmRetry => CONFIRM_RETRY,
        Context::ConfirmDelete => CONFIRM_DELETE,
        Context::ConfirmQuit => CONFIRM_QUIT,
        Context::Help => HELP,
        Context::Command => COMMAND,
        Context::Error => ERROR,
        Context::Logs => LOGS,
        Context::LogSearch => LOG_SEARCH,
        Context::PickContainer => PICK_CONTAINER,
        Context::Wp => WP,
        Context::ConfirmBulkDelete => CONFIRM_BULK_DELETE,
        Context::Report => REPORT,
        Context::ConfirmRestore => CONFIRM_RESTORE,
        Context::Deleted => DELETED,
        Context::ConfirmUndelete => CONFIRM_UNDELETE,
        Context::ConfirmDrill => CONFIRM_DRILL,
        Context::Schedule => SCHEDULE,
        Context::CloneForm => CLONE_FORM,
    }
}

/// The binding of a key in a context (the global table first), if any.
pub fn binding(ctx: Context, ev: &KeyEvent) -> Option<&'static Binding> {
    [Context::Global, ctx]
        .into_iter()
        .flat_map(|c| all(c).iter())
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
}

/// The action of a key in a context, if any.
pub fn lookup(ctx: Context, ev: &KeyEvent) -> Option<Act> {
    binding(ctx, ev).map(|b| b.act)
}

/// The bindings of a context as the hints show them (without the ones
/// that write, in read-only mode).
pub fn hints(ctx: Context, read_only: bool) -> impl Iterator<Item = &'static Binding> {
    all(ctx).iter().filter(move |b| !(read_only && b.writes))
}

pub fn footer(ctx: Context, read_only: bool) -> impl Iterator<Item = &'static Binding> {
    hints(ctx, read_only).filter(|b| b.footer.is_some())
}

/// The footer hints of a context as one line, for the bottom of pop-ups:
/// "<y/enter> retry   <n/esc> cancel".
pub fn hint_line(ctx: Context, read_only: bool) -> String {
    footer(ctx, read_only)
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(Key::label).collect();
            format!("<{}> {}", keys.join("/"), b.footer.unwrap_or(b.help))
        })
        .collect::<Vec<_>>()
        .join("   ")
}

/// One line of the `?` help, as data: the view styles it, `update` counts
/// it to clamp the scroll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    Section(&'static str),
    Key {
        keys: String,
        help: &'static str,
    },
    /// What typing does (contexts with a text field).
    Typing(&'static str),
    Blank,
    StatusLegend,
    HealthLegend,
    ReadOnlyNote,
}

/// Statuses per line of the help's legend, so it fits at 80 columns.
pub const STATUSES_PER_LINE: usize = 3;

impl HelpLine {
    /// Screen lines this takes.
    pub fn height(&self) -> usize {
        match self {
            HelpLine::StatusLegend => crate::store::Status::ALL.len().div_ceil(STATUSES_PER_LINE),
            _ => 1,
        }
    }
}

/// The help for the view `under` (stores or detail): its keys first, then
/// the other views', then the legends.
pub fn help(under: Context, read_only: bool) -> Vec<HelpLine> {
    let mut sections: Vec<(&'static str, Context)> = match under {
        Context::Logs => vec![
            ("Logs", Context::Logs),
            ("Search (after /)", Context::LogSearch),
            ("Store detail", Context::Detail),
        ],
        Context::Wp => vec![
            ("wp prompt", Context::Wp),
            ("Store detail", Context::Detail),
        ],
        Context::Detail => vec![
            ("Store detail", Context::Detail),
            ("Stores", Context::Stores),
        ],
        _ => vec![
            ("Stores", Context::Stores),
            ("Filter (after /)", Context::Filter),
            ("Store detail", Context::Detail),
        ],
    };
    if !read_only {
        sections.push(("Create form", Context::Create));
    }
    sections.push(("Everywhere", Context::Global));
    let mut out = Vec::new();
    for (name, ctx) in sections {
        out.push(HelpLine::Section(name));
        if let Some(t) = ctx.typing() {
            out.push(HelpLine::Typing(t));
        }
        for b in hints(ctx, read_only) {
            out.push(HelpLine::Key {
                keys: b.keys_label(),
                help: b.help,
            });
        }
        out.push(HelpLine::Blank);
    }
    out.push(HelpLine::Section("Commands (after :, tab completes)"));
    for c in super::commands::offered(read_only) {
        out.push(HelpLine::Key {
            keys: c.usage(),
            help: c.help,
        });
    }
    out.push(HelpLine::Blank);
    out.push(HelpLine::Section("Status"));
    out.push(HelpLine::StatusLegend);
    out.push(HelpLine::Section(
        "Health (the cluster's view: workloads ready/total)",
    ));
    out.push(HelpLine::HealthLegend);
    if read_only {
        out.push(HelpLine::Blank);
        out.push(HelpLine::ReadOnlyNote);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_a_context() {
        for ctx in Context::ALL {
            let mut seen: Vec<Key> = Vec::new();
            let global: &[Binding] = if ctx == Context::Global { &[] } else { GLOBAL };
            for b in global.iter().chain(all(ctx)) {
                for k in b.keys {
                    assert!(!seen.contains(k), "{ctx:?}: {} bound twice", k.label());
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn every_listed_key_dispatches_its_action() {
        for ctx in Context::ALL {
            for b in all(ctx) {
                for k in b.keys {
                    assert_eq!(
                        lookup(ctx, &k.event()),
                        Some(b.act),
                        "{ctx:?} {}",
                        k.label()
                    );
                }
            }
        }
    }

    #[test]
    fn labels_and_matching() {
        assert_eq!(ctrl('d').label(), "ctrl-d");
        assert_eq!(code(KeyCode::PageDown).label(), "pgdn");
        let shifted_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(Context::Stores, &shifted_g), Some(Act::Last));
        let alt_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT);
        assert_eq!(lookup(Context::Stores, &alt_q), None);
        let ctrl_upper = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::CONTROL);
        assert_eq!(lookup(Context::Stores, &ctrl_upper), Some(Act::Delete));
        assert_eq!(
            hint_line(Context::ConfirmRetry, false),
            "<y/enter> retry   <n/esc> cancel"
        );
    }
}
