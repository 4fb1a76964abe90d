//! Backups in the console: the detail's backups pane and its restore,
//! the deleted stores that can come back, and the fleet's newest good
//! backups (the stores list marks Ready stores without one in 24 h).

use super::flash;
use crate::store::Request;
use crate::tui::backups::{self, Undeletable};
use crate::tui::keys::Act;
use crate::tui::msg::Command;
use crate::tui::state::{Feed, Overlay, Pane, Screen, State};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// The fleet's newest good backups are asked for again this often.
const GOOD_BACKUPS_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// `R` in the detail: asks to restore the store from the backup at the
/// top of the backups pane (when it is focused), else the newest
/// complete one. The lifecycle's refusal, or why there is no backup, is
/// said at once.
pub(super) fn ask_restore(state: &mut State) -> Vec<Command> {
    let Screen::Detail(d) = &state.screen else {
        return Vec::new();
    };
    let store = state.store(d.id).unwrap_or(&d.store);
    if let Err(refusal) = store.may(Request::Restore) {
        let text = format!("\"{}\" {}", store.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    let Some(list) = &d.backups.data else {
        let text = match &d.backups.error {
            Some(e) => format!("its backups could not be read: {e}; ctrl-r reads them again"),
            None => "its backups are still loading; R again in a moment".into(),
        };
        flash(state, text, true);
        return Vec::new();
    };
    let selected = (d.focus == Pane::Backups).then(|| d.scroll[Pane::Backups.index()]);
    match backups::restore_choice(list, selected) {
        Ok(b) => {
            state.overlay = Some(Overlay::ConfirmRestore {
                id: store.id,
                name: store.name.clone(),
                backup: b.id,
                label: backups::label(b, state.tz),
            });
        }
        Err(why) => {
            let text = format!("cannot restore \"{}\": {why}", store.name);
            flash(state, text, true);
        }
    }
    Vec::new()
}

pub(super) fn confirm_restore_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) => {
            if let Some(Overlay::ConfirmRestore {
                id, name, backup, ..
            }) = state.overlay.take()
            {
                flash(
                    state,
                    format!(
                        "asking the engine to restore \"{name}\" from backup {}…",
                        backups::short_id(backup)
                    ),
                    false,
                );
                return vec![Command::Restore {
                    id,
                    name,
                    backup: Some(backup),
                }];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// `D` or `:deleted`: the deleted stores that can come back.
pub(super) fn open_deleted(state: &mut State) -> Vec<Command> {
    state.overlay = Some(Overlay::Deleted {
        list: Feed::loading(),
        cursor: 0,
    });
    vec![Command::LoadDeleted]
}

pub(super) fn on_deleted(state: &mut State, result: Result<Vec<Undeletable>, String>) {
    if let Some(Overlay::Deleted { list, cursor }) = &mut state.overlay {
        list.set(result);
        let n = list.data.as_ref().map_or(0, Vec::len);
        *cursor = (*cursor).min(n.saturating_sub(1));
    }
}

pub(super) fn deleted_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    let Some(Overlay::Deleted { list, cursor }) = &mut state.overlay else {
        return Vec::new();
    };
    let n = list.data.as_ref().map_or(0, Vec::len);
    match act {
        Some(Act::Close) => state.overlay = None,
        Some(Act::Down) => *cursor = (*cursor + 1).min(n.saturating_sub(1)),
        Some(Act::Up) => *cursor = cursor.saturating_sub(1),
        Some(Act::Undelete) => match list.data.as_ref().and_then(|l| l.get(*cursor)) {
            Some(u) => state.overlay = Some(Overlay::ConfirmUndelete(Box::new(u.clone()))),
            None => flash(state, "no deleted store to bring back".into(), true),
        },
        _ => {}
    }
    Vec::new()
}

pub(super) fn confirm_undelete_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) => {
            if let Some(Overlay::ConfirmUndelete(u)) = state.overlay.take() {
                flash(
                    state,
                    format!("asking the engine to undelete \"{}\"…", u.name),
                    false,
                );
                return vec![Command::Undelete {
                    id: u.id,
                    name: u.name,
                }];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Asks for the fleet's newest good backups when backups are configured
/// and the last answer is a minute old (or there is none).
pub(super) fn maybe_load_good(state: &mut State) -> Vec<Command> {
    if !state.backups_on() || state.good_backups.loading {
        return Vec::new();
    }
    if let Some(at) = state.good_backups_asked
        && state.now - at < GOOD_BACKUPS_EVERY
    {
        return Vec::new();
    }
    load_good(state)
}

/// Asks for them now (a backup the console saw end).
pub(super) fn load_good(state: &mut State) -> Vec<Command> {
    if !state.backups_on() || state.good_backups.loading {
        return Vec::new();
    }
    state.good_backups.loading = true;
    state.good_backups_asked = Some(state.now);
    vec![Command::LoadNewestGood]
}

pub(super) fn on_good(state: &mut State, result: Result<HashMap<Uuid, DateTime<Utc>>, String>) {
    state.good_backups.set(result);
}
