//! Every key of every view, in one table: the help overlay and the footer
//! hints are drawn from it, so they cannot drift from each other. Keys that
//! change anything are marked `writes` and disappear in `--read-only`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
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
}

#[derive(Debug, Clone, Copy)]
pub struct Hint {
    pub keys: &'static str,
    pub action: &'static str,
    /// Shown in the one-line footer as (keys, label); the rest only in `?` help.
    pub footer: Option<(&'static str, &'static str)>,
    /// Creates, retries or deletes: hidden in read-only mode.
    pub writes: bool,
}

const fn h(keys: &'static str, action: &'static str, footer: bool, writes: bool) -> Hint {
    Hint {
        keys,
        action,
        footer: if footer { Some((keys, action)) } else { None },
        writes,
    }
}

/// A hint whose footer entry is shorter than its help line.
const fn f(
    keys: &'static str,
    action: &'static str,
    short: (&'static str, &'static str),
    writes: bool,
) -> Hint {
    Hint {
        keys,
        action,
        footer: Some(short),
        writes,
    }
}

const STORES: &[Hint] = &[
    f("enter d", "detail", ("enter", "detail"), false),
    h("c", "create", true, true),
    h("r", "retry", true, true),
    h("ctrl-d", "delete", true, true),
    h("/", "filter", true, false),
    h("s", "sort", false, false),
    h("S", "reverse sort", false, false),
    h("esc", "clear filter", false, false),
    h("j k ↑ ↓", "move", false, false),
    h("pgup pgdn", "page", false, false),
    h("g G home end", "first / last", false, false),
    h("ctrl-r", "reload from the database", false, false),
    h(
        ":",
        "command (:create :sort name :filter x :q)",
        false,
        false,
    ),
    h("?", "help", true, false),
    h("q", "quit", true, false),
    h(
        "ctrl-c",
        "quit now (operations continue elsewhere)",
        false,
        false,
    ),
];

const FILTER: &[Hint] = &[
    h(
        "type",
        "filter by name, owner, status, phase, URL",
        false,
        false,
    ),
    h("enter", "keep filter", true, false),
    h("esc", "clear filter", true, false),
    h("↑ ↓", "move", true, false),
];

const DETAIL: &[Hint] = &[
    h("esc", "back", true, false),
    f("tab", "next pane", ("tab", "pane"), false),
    h("shift-tab", "previous pane", false, false),
    h("1 2 3", "resources / events / timeline", false, false),
    h("e", "events", true, false),
    h("j k ↑ ↓", "scroll", false, false),
    h("pgup pgdn g G", "page / top / bottom", false, false),
    f("x", "full error message", ("x", "error"), false),
    h("r", "retry", true, true),
    h("ctrl-d", "delete", true, true),
    h("ctrl-r", "refresh", false, false),
    h(":", "command", false, false),
    h("?", "help", true, false),
    h("q", "quit", false, false),
];

const CREATE: &[Hint] = &[
    f("tab ↓", "next field", ("tab", "next"), false),
    h("shift-tab ↑", "previous field", false, false),
    f("enter", "next / create", ("enter", "next/create"), false),
    f("ctrl-s", "create", ("ctrl-s", "create"), false),
    h("esc", "cancel", true, false),
    h("ctrl-u ctrl-w", "clear field / word", false, false),
];

const CONFIRM_RETRY: &[Hint] = &[
    h("y enter", "retry", true, false),
    h("n esc", "cancel", true, false),
];

const CONFIRM_DELETE: &[Hint] = &[
    h("type", "the store's name exactly", true, false),
    h("enter", "delete", true, false),
    h("esc", "cancel", true, false),
];

const CONFIRM_QUIT: &[Hint] = &[
    h("y q enter", "quit", true, false),
    h("n esc", "stay", true, false),
];

const HELP: &[Hint] = &[
    h("j k", "scroll", true, false),
    h("esc ? q", "close", true, false),
];

const COMMAND: &[Hint] = &[
    h("enter", "run", true, false),
    h("esc", "cancel", true, false),
];

const ERROR: &[Hint] = &[
    h("j k", "scroll", true, false),
    h("esc x", "close", true, false),
];

pub fn all(ctx: Context) -> &'static [Hint] {
    match ctx {
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
    }
}

/// The keys of a context, without the ones that write in read-only mode.
pub fn hints(ctx: Context, read_only: bool) -> impl Iterator<Item = &'static Hint> {
    all(ctx).iter().filter(move |h| !(read_only && h.writes))
}

pub fn footer(ctx: Context, read_only: bool) -> impl Iterator<Item = &'static Hint> {
    hints(ctx, read_only).filter(|h| h.footer.is_some())
}
