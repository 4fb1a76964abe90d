//! The stores table: moving, filtering, sorting and marking, and asking to
//! retry or delete a store (with their confirmations, handled in place).

use super::{bulk, create, detail, flash};
use crate::store::Request;
use crate::tui::keys::Act;
use crate::tui::msg::{Action, Command};
use crate::tui::state::{DetailView, LinkState, Overlay, Screen, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use uuid::Uuid;

pub(super) fn key(state: &mut State, act: Act) -> Vec<Command> {
    let page = state.list_page() as isize;
    let marked = !state.list.marked.is_empty();
    match act {
        Act::Delete if marked => bulk::ask(state, Action::Delete),
        Act::Retry if marked => bulk::ask(state, Action::Retry),
        Act::Delete => return ask_delete(state),
        Act::Retry => ask_retry(state),
        Act::Mark => {
            if let Some(id) = state.selected_store().map(|s| s.id) {
                if !state.list.marked.remove(&id) {
                    state.list.marked.insert(id);
                }
                move_cursor(state, 1);
            }
        }
        Act::MarkAll => mark_all(state),
        Act::Reload => {
            flash(state, "reloading stores from the database".into(), false);
            return vec![Command::LoadStores];
        }
        Act::Down => move_cursor(state, 1),
        Act::Up => move_cursor(state, -1),
        Act::PageDown => move_cursor(state, page),
        Act::PageUp => move_cursor(state, -page),
        Act::First => move_cursor(state, isize::MIN / 2),
        Act::Last => move_cursor(state, isize::MAX / 2),
        Act::Open => return open_detail(state),
        Act::ClearFilter => {
            if !state.list.filter.value().is_empty() {
                state.list.filter.reset();
                state.refresh_visible();
            } else {
                state.list.marked.clear();
            }
        }
        Act::Filter => state.list.filtering = true,
        Act::Sort => {
            state.list.sort = state.list.sort.next();
            state.list.reverse = false;
            state.refresh_visible();
        }
        Act::ReverseSort => {
            state.list.reverse = !state.list.reverse;
            state.refresh_visible();
        }
        Act::Create => create::open(state),
        Act::Fleet => return detail::open_fleet(state),
        Act::Deleted => return super::backups::open_deleted(state),
        _ => {}
    }
    Vec::new()
}

/// Marks every store shown, or none when all of them are marked.
fn mark_all(state: &mut State) {
    let shown: Vec<Uuid> = state
        .list
        .visible
        .iter()
        .map(|&i| state.stores[i].id)
        .collect();
    if shown.iter().all(|id| state.list.marked.contains(id)) {
        for id in &shown {
            state.list.marked.remove(id);
        }
    } else {
        state.list.marked.extend(shown);
    }
}

fn move_cursor(state: &mut State, delta: isize) {
    let len = state.list.visible.len();
    if len == 0 {
        return;
    }
    let cur = state.list.cursor as isize;
    state.list.cursor = (cur + delta).clamp(0, len as isize - 1) as usize;
    state.list.selected = state.selected_store().map(|s| s.id);
    state.keep_cursor_in_view();
}

pub(super) fn filter_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    match act {
        Some(Act::ClearFilter) => {
            state.list.filtering = false;
            state.list.filter.reset();
            state.refresh_visible();
        }
        Some(Act::KeepFilter) => {
            state.list.filtering = false;
            state.keep_cursor_in_view();
        }
        Some(Act::Down) => move_cursor(state, 1),
        Some(Act::Up) => move_cursor(state, -1),
        _ => {
            if state.list.filter.handle_event(&Event::Key(key)).is_some() {
                state.list.cursor = 0;
                state.list.selected = None;
                state.list.offset = 0;
                state.refresh_visible();
            }
        }
    }
    Vec::new()
}

fn open_detail(state: &mut State) -> Vec<Command> {
    let Some(store) = state.selected_store().cloned() else {
        return Vec::new();
    };
    let cluster_ok = state.cluster.state != LinkState::Unavailable;
    let mut d = DetailView::new(store);
    let mut cmds = vec![Command::LoadAudit(d.id), Command::LoadBackups(d.id)];
    if cluster_ok {
        cmds.push(Command::LoadResources {
            id: d.id,
            namespace: d.store.namespace_ref(),
        });
        cmds.push(Command::WatchEvents(Some((d.id, d.store.namespace_ref()))));
    } else {
        let why = "no cluster connection".to_string();
        d.resources.set(Err(why.clone()));
        d.events.set(Err(why));
    }
    state.screen = Screen::Detail(Box::new(d));
    cmds
}

/// Asks to retry the store shown, if the lifecycle allows it.
pub(super) fn ask_retry(state: &mut State) {
    let Some(s) = state.current_store() else {
        flash(state, "no store selected".into(), true);
        return;
    };
    if let Err(refusal) = s.may(Request::Retry) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return;
    }
    state.overlay = Some(Overlay::ConfirmRetry {
        id: s.id,
        name: s.name.clone(),
    });
}

/// Backs the store shown up, if the lifecycle allows it: no confirmation,
/// a backup changes nothing in the store.
pub(super) fn ask_backup(state: &mut State) -> Vec<Command> {
    let Some(s) = state.current_store() else {
        flash(state, "no store selected".into(), true);
        return Vec::new();
    };
    if let Err(refusal) = s.may(Request::Backup) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    let (id, name) = (s.id, s.name.clone());
    flash(
        state,
        format!("asking the engine to back up \"{name}\"…"),
        false,
    );
    vec![Command::Backup { id, name }]
}

/// Asks to delete the store shown, if the lifecycle allows it.
pub(super) fn ask_delete(state: &mut State) -> Vec<Command> {
    let Some(s) = state.current_store() else {
        flash(state, "no store selected".into(), true);
        return Vec::new();
    };
    if let Err(refusal) = s.may(Request::Delete) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    state.overlay = Some(Overlay::ConfirmDelete {
        id: s.id,
        name: s.name.clone(),
        input: Input::default(),
        mismatch: false,
    });
    Vec::new()
}

pub(super) fn confirm_retry_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    let Some(Overlay::ConfirmRetry { id, name }) = &state.overlay else {
        return Vec::new();
    };
    match act {
        Some(Act::Confirm) => {
            let (id, name) = (*id, name.clone());
            state.overlay = None;
            flash(
                state,
                format!("asking the engine to retry \"{name}\"…"),
                false,
            );
            vec![Command::Retry { id, name }]
        }
        Some(Act::Cancel) => {
            state.overlay = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The delete confirmation: the store's name must be typed exactly.
pub(super) fn confirm_delete_key(
    state: &mut State,
    act: Option<Act>,
    key: KeyEvent,
) -> Vec<Command> {
    let Some(Overlay::ConfirmDelete {
        id,
        name,
        input,
        mismatch,
    }) = &mut state.overlay
    else {
        return Vec::new();
    };
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) if input.value() == name.as_str() => {
            let (id, name) = (*id, name.clone());
            state.overlay = None;
            flash(
                state,
                format!("asking the engine to delete \"{name}\"…"),
                false,
            );
            return vec![Command::Delete { id, name }];
        }
        Some(Act::Confirm) => *mismatch = true,
        _ => {
            if input.handle_event(&Event::Key(key)).is_some() {
                *mismatch = false;
            }
        }
    }
    Vec::new()
}
