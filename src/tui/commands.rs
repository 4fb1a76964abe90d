//! The `:` commands in one table, as `keys` is for keys: `update`
//! dispatches on it, `tab` completes from it, and the help and the answer
//! to an unknown command list it, so a command cannot work without being
//! listed, nor be listed without working. Commands that change a store are
//! marked `writes`: refused in `--read-only`, and not offered there.

/// What a `:` command does; `update` matches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Create,
    Sort,
    Filter,
    Upgrade,
    Set,
    Rollback,
    History,
    Fleet,
    Deleted,
    Doctor,
    Reload,
    Stores,
    Help,
    Quit,
    QuitNow,
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The name, then its aliases.
    pub names: &'static [&'static str],
    /// Its argument as the help shows it; empty when it takes none.
    pub args: &'static str,
    pub help: &'static str,
    pub cmd: Cmd,
    pub writes: bool,
}

impl Spec {
    pub fn name(&self) -> &'static str {
        self.names[0]
    }

    /// `:sort age|name|…` as the help and the hints spell it.
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            format!(":{}", self.name())
        } else {
            format!(":{} {}", self.name(), self.args)
        }
    }
}

const fn c(
    names: &'static [&'static str],
    args: &'static str,
    help: &'static str,
    cmd: Cmd,
) -> Spec {
    Spec {
        names,
        args,
        help,
        cmd,
        writes: false,
    }
}

const fn w(s: Spec) -> Spec {
    Spec { writes: true, ..s }
}

pub const ALL: &[Spec] = &[
    w(c(
        &["create", "new"],
        "",
        "create a store (the form)",
        Cmd::Create,
    )),
    c(
        &["sort"],
        "KEY",
        "sort by age, name, owner, status or took",
        Cmd::Sort,
    ),
    c(
        &["filter"],
        "TEXT",
        "filter the stores (none: clear the filter)",
        Cmd::Filter,
    ),
    w(c(
        &["upgrade"],
        "[k=v …]",
        "upgrade the store shown, with these settings",
        Cmd::Upgrade,
    )),
    w(c(
        &["set"],
        "k=v …",
        "change settings of the store shown",
        Cmd::Set,
    )),
    w(c(
        &["rollback"],
        "[N]",
        "roll the store shown back (to revision N; see H)",
        Cmd::Rollback,
    )),
    c(
        &["history"],
        "",
        "release history and drift of the store shown",
        Cmd::History,
    ),
    c(&["fleet"], "", "fleet runs: waves and outcomes", Cmd::Fleet),
    c(
        &["deleted"],
        "",
        "deleted stores that can come back (undelete)",
        Cmd::Deleted,
    ),
    c(&["doctor"], "", "check the installation", Cmd::Doctor),
    c(
        &["reload"],
        "",
        "reload the stores from the database",
        Cmd::Reload,
    ),
    c(
        &["stores", "s", "back"],
        "",
        "back to the stores",
        Cmd::Stores,
    ),
    c(&["help", "h", "?"], "", "this help", Cmd::Help),
    c(
        &["quit", "q"],
        "",
        "quit (asks while operations started here run)",
        Cmd::Quit,
    ),
    c(&["quit!", "q!"], "", "quit at once", Cmd::QuitNow),
];

/// The command of a name or an alias.
pub fn find(name: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.names.contains(&name))
}

/// The commands offered (the ones that write only when they may run).
pub fn offered(read_only: bool) -> impl Iterator<Item = &'static Spec> {
    ALL.iter().filter(move |s| !(read_only && s.writes))
}

/// The names that complete `prefix`, in table order: `tab` goes through them.
pub fn completions(prefix: &str, read_only: bool) -> Vec<&'static str> {
    offered(read_only)
        .map(Spec::name)
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Every offered command as one line: ":create, :sort age|name|…, …".
pub fn summary(read_only: bool) -> String {
    offered(read_only)
        .map(Spec::usage)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the `:` line shows after what is typed: the commands it can still
/// become, or the usage of the one named.
pub fn hint(typed: &str, read_only: bool) -> String {
    let typed = typed.trim_start();
    let about = |s: &Spec| format!("{} — {}", s.usage(), s.help);
    match typed.split_once(char::is_whitespace) {
        Some((name, _)) => find(name).map(about).unwrap_or_default(),
        None => match completions(typed, read_only)[..] {
            [] => "no such command (:help lists them)".into(),
            [one] => find(one).map(about).unwrap_or_default(),
            ref many => format!("{}   (tab completes)", many.join(" ")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_finds_its_command() {
        let mut seen = Vec::new();
        for s in ALL {
            for n in s.names {
                assert!(!seen.contains(n), ":{n} twice");
                seen.push(n);
                assert_eq!(find(n).map(|f| f.cmd), Some(s.cmd), ":{n}");
            }
        }
        assert!(find("frobnicate").is_none());
    }

    #[test]
    fn completion_and_the_summary_leave_out_what_read_only_refuses() {
        assert_eq!(completions("s", false), ["sort", "set", "stores"]);
        assert_eq!(completions("s", true), ["sort", "stores"]);
        assert_eq!(completions("quit", false), ["quit", "quit!"]);
        assert!(completions("x", false).is_empty());
        assert!(summary(false).starts_with(":create, :sort KEY, :filter TEXT"));
        assert!(!summary(true).contains(":create") && !summary(true).contains(":rollback"));
    }

    #[test]
    fn the_hint_narrows_as_you_type() {
        let sort = ":sort KEY — sort by age, name, owner, status or took";
        assert_eq!(hint("so", false), sort);
        assert_eq!(hint("sort na", false), sort);
        assert_eq!(hint("s", false), "sort set stores   (tab completes)");
        assert_eq!(hint("zz", false), "no such command (:help lists them)");
        assert_eq!(hint("q", false), "quit quit!   (tab completes)");
    }
}
