//! The detail view of one store: its panes and what it loads, and the
//! changes asked from it (upgrade, rollback, history, fleet).

use super::{backups, command, drills, flash, logs, stores};
use crate::store::Request;
use crate::tui::keys::Act;
use crate::tui::msg::{Command, Msg, Report, StoreChange};
use crate::tui::state::{DetailMode, DetailView, Feed, LinkState, Overlay, Pane, Screen, State};

pub(super) fn key(state: &mut State, act: Act) -> Vec<Command> {
    match act {
        Act::Logs => return logs::open(state),
        Act::Wp => {
            let Screen::Detail(d) = &mut state.screen else {
                return Vec::new();
            };
            let engine = d.store.engine.spec();
            if engine.shell.is_some() {
                d.mode = DetailMode::Wp;
            } else {
                // Nothing to run it in: say so, and where the admin is.
                let text = engine.no_shell(&d.store.url);
                flash(state, text, true);
            }
            return Vec::new();
        }
        Act::Delete => return stores::ask_delete(state),
        Act::Retry => stores::ask_retry(state),
        Act::Backup => return stores::ask_backup(state),
        Act::Restore => return backups::ask_restore(state),
        Act::Drill => return drills::ask_drill(state),
        Act::Schedule => return drills::open_schedule(state),
        Act::CloneStore => return drills::open_clone(state),
        Act::History => return open_history(state),
        Act::Upgrade => command::open(state, "upgrade "),
        _ => {}
    }
    let page = state.list_page() / 2;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let scroll = |d: &mut DetailView, delta: isize| {
        let i = d.focus.index();
        let max = pane_len(d, d.focus).saturating_sub(1) as isize;
        d.scroll[i] = (d.scroll[i] as isize + delta).clamp(0, max.max(0)) as usize;
    };
    match act {
        Act::Reload => {
            let mut cmds = vec![
                Command::LoadStore {
                    id: d.id,
                    origin: None,
                },
                Command::LoadAudit(d.id),
                Command::LoadBackups(d.id),
            ];
            cmds.extend(reload_resources(state));
            return cmds;
        }
        Act::Back => {
            state.screen = Screen::Stores;
            state.keep_cursor_in_view();
            return vec![Command::WatchEvents(None)];
        }
        Act::NextPane => d.focus = Pane::ALL[(d.focus.index() + 1) % Pane::ALL.len()],
        Act::PrevPane => {
            d.focus = Pane::ALL[(d.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
        }
        Act::Resources => d.focus = Pane::Resources,
        Act::Events => d.focus = Pane::Events,
        Act::Timeline => d.focus = Pane::Timeline,
        Act::Backups => d.focus = Pane::Backups,
        Act::Down => scroll(d, 1),
        Act::Up => scroll(d, -1),
        Act::PageDown => scroll(d, page as isize),
        Act::PageUp => scroll(d, -(page as isize)),
        Act::First => scroll(d, isize::MIN / 2),
        Act::Last => scroll(d, isize::MAX / 2),
        Act::ShowError => {
            if d.store.error_message.is_some() {
                state.overlay = Some(Overlay::Error { scroll: 0 });
            } else {
                flash(state, "this store has no error message".into(), false);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn pane_len(d: &DetailView, pane: Pane) -> usize {
    match pane {
        Pane::Resources => d.resources.data.as_ref().map_or(0, Vec::len),
        Pane::Events => d.events.data.as_ref().map_or(0, Vec::len),
        Pane::Timeline => d.audit.data.as_ref().map_or(0, Vec::len),
        Pane::Backups => d.backups.data.as_ref().map_or(0, Vec::len),
    }
}

/// The open store's resources, events or timeline arrived (answers for a
/// store no longer shown are dropped).
pub(super) fn on_loaded(state: &mut State, msg: Msg) -> Vec<Command> {
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    match msg {
        Msg::Resources { id, result } if d.id == id => {
            d.resources.set(result);
            if d.resources_again {
                d.resources_again = false;
                d.resources.loading = true;
                return vec![Command::LoadResources {
                    id,
                    namespace: d.store.namespace_ref(),
                }];
            }
        }
        Msg::Events { id, result } if d.id == id => d.events.set(result),
        // Unreadable: the line is left out; the backups pane says why the
        // database did not answer.
        Msg::Schedule { id, result } if d.id == id => d.schedule = result.ok(),
        Msg::Backups { id, result } if d.id == id => {
            d.backups.set(result);
            let max = d
                .backups
                .data
                .as_ref()
                .map_or(0, Vec::len)
                .saturating_sub(1);
            let i = Pane::Backups.index();
            d.scroll[i] = d.scroll[i].min(max);
        }
        Msg::Audit { id, result } if d.id == id => match result {
            Ok((entries, op)) => {
                d.operation = op;
                d.audit.set(Ok(entries));
            }
            Err(e) => d.audit.set(Err(e)),
        },
        _ => {}
    }
    Vec::new()
}

/// Loads the open store's resources again, or once more after the load
/// under way (changes that arrive meanwhile cost one load, not one each).
pub(super) fn reload_resources(state: &mut State) -> Vec<Command> {
    let cluster_up = state.cluster.state != LinkState::Unavailable;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    if !cluster_up {
        return Vec::new();
    }
    if d.resources.loading {
        d.resources_again = true;
        return Vec::new();
    }
    d.resources.loading = true;
    vec![Command::LoadResources {
        id: d.id,
        namespace: d.store.namespace_ref(),
    }]
}

pub(super) fn open_fleet(state: &mut State) -> Vec<Command> {
    state.overlay = Some(Overlay::Changes {
        which: Report::Fleet,
        lines: Feed::loading(),
        scroll: 0,
    });
    vec![Command::LoadFleet]
}

pub(super) fn open_history(state: &mut State) -> Vec<Command> {
    let Some(id) = state.current_store().map(|s| s.id) else {
        flash(state, "no store selected".into(), true);
        return Vec::new();
    };
    state.overlay = Some(Overlay::Changes {
        which: Report::History(id),
        lines: Feed::loading(),
        scroll: 0,
    });
    vec![Command::LoadHistory { id }]
}

/// `:upgrade key=value …`, `:set …`, `:rollback [N]` on the store shown.
pub(super) fn ask_change(state: &mut State, change: Result<StoreChange, String>) -> Vec<Command> {
    let change = match change {
        Ok(c) => c,
        Err(e) => {
            flash(state, e, true);
            return Vec::new();
        }
    };
    let Some(s) = state.current_store() else {
        flash(
            state,
            "open a store first (enter), then :upgrade".into(),
            true,
        );
        return Vec::new();
    };
    let request = match change {
        StoreChange::Upgrade(_) => Request::Upgrade,
        StoreChange::Rollback(_) => Request::Rollback,
    };
    if let Err(refusal) = s.may(request) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    vec![Command::Change {
        id: s.id,
        name: s.name.clone(),
        change,
    }]
}

pub(super) fn parse_rollback(arg: &str) -> Result<StoreChange, String> {
    if arg.is_empty() {
        return Ok(StoreChange::Rollback(None));
    }
    arg.parse::<u32>()
        .map(|r| StoreChange::Rollback(Some(r)))
        .map_err(|_| format!(":rollback takes a revision number (see H), not \"{arg}\""))
}
