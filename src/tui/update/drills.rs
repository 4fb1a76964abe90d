//! Restore drills, the backup schedule and clones from the store detail:
//! `T` asks for a drill (after a confirmation), `S` changes the backup
//! interval (typed, checked as you type), `C` clones the store; the
//! drills are read with the backups and again every minute.

use super::flash;
use crate::backup::schedule::parse_every;
use crate::store::{self, Status, Store};
use crate::tui::drills;
use crate::tui::keys::Act;
use crate::tui::msg::Command;
use crate::tui::state::{CloneForm, Overlay, Screen, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use uuid::Uuid;

/// The store shown, when backups are configured and it is live; else
/// says why not (the flash) and None.
fn live_store(state: &mut State, what: &str) -> Option<Store> {
    if !state.backups_on() {
        let text = format!(
            "backups are not configured: {what} needs them; set backup_bucket and backup_key (docs/backups.md)"
        );
        flash(state, text, true);
        return None;
    }
    let s = state.current_store()?.clone();
    if matches!(s.status, Status::Deleted | Status::Deleting) {
        let text = format!("\"{}\" is {}: {what} is for a live store", s.name, s.status);
        flash(state, text, true);
        return None;
    }
    Some(s)
}

/// `T`: asks before a drill (it takes real resources for a while).
pub(super) fn ask_drill(state: &mut State) -> Vec<Command> {
    if let Some(s) = live_store(state, "a restore drill") {
        state.overlay = Some(Overlay::ConfirmDrill {
            id: s.id,
            name: s.name,
        });
    }
    Vec::new()
}

pub(super) fn confirm_drill_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) => {
            if let Some(Overlay::ConfirmDrill { id, name }) = state.overlay.take() {
                flash(
                    state,
                    format!("asking the engine for a restore drill of \"{name}\"…"),
                    false,
                );
                return vec![Command::Drill { id, name }];
            }
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn on_drill_queued(
    state: &mut State,
    id: Uuid,
    name: String,
    result: Result<(), String>,
) -> Vec<Command> {
    match result {
        Ok(()) => {
            flash(
                state,
                format!(
                    "restore drill of \"{name}\" queued: it {}",
                    drills::WHAT_A_DRILL_DOES
                ),
                false,
            );
            match state.detail() {
                Some(d) if d.id == id => vec![Command::LoadDrills(id)],
                _ => Vec::new(),
            }
        }
        Err(e) => {
            // The engine's words name the store; the footer is one line.
            flash(state, format!("restore drill refused: {e}"), true);
            Vec::new()
        }
    }
}

/// The open store's drills arrived (answers for another store are dropped).
pub(super) fn on_drills(
    state: &mut State,
    id: Uuid,
    result: Result<crate::engine::drill::DrillsView, String>,
) {
    let now = state.now;
    if let Screen::Detail(d) = &mut state.screen
        && d.id == id
    {
        d.drills.set(result);
        d.drills_at = Some(now);
    }
}

/// The clock: the open detail's drills are read again a minute after the
/// last answer (ten seconds while a drill of it is under way).
pub(super) fn maybe_reload(state: &mut State) -> Vec<Command> {
    let (now, on) = (state.now, state.backups_on());
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let Some(at) = d.drills_at else {
        return Vec::new();
    };
    if !on || d.drills.loading || now - at < drills::refresh_every(d.drills.data.as_ref()) {
        return Vec::new();
    }
    d.drills.loading = true;
    vec![Command::LoadDrills(d.id)]
}

/// A store changed: when it is the throwaway store of a drill of the
/// open store, the drill is read again (its phase follows that store's).
pub(super) fn on_store_changed(state: &mut State, changed: Uuid) -> Vec<Command> {
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let ours = d
        .drills
        .data
        .as_ref()
        .is_some_and(|v| v.drills.iter().any(|x| x.clone_id == Some(changed)));
    if !ours || d.drills.loading {
        return Vec::new();
    }
    d.drills.loading = true;
    vec![Command::LoadDrills(d.id)]
}

/// `S`: the backup interval input, starting with the store's own.
pub(super) fn open_schedule(state: &mut State) -> Vec<Command> {
    let Some(s) = live_store(state, "a backup schedule") else {
        return Vec::new();
    };
    let sched = state.detail().and_then(|d| d.schedule.as_ref());
    let current = sched.map_or_else(|| "not read yet".into(), |v| v.described.clone());
    let text = drills::every_text(sched.and_then(|v| v.own_hours));
    state.overlay = Some(Overlay::Schedule {
        id: s.id,
        name: s.name,
        current,
        input: Input::new(text),
        error: None,
        saving: false,
    });
    Vec::new()
}

pub(super) fn schedule_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::Schedule {
        id,
        name,
        input,
        error,
        saving,
        ..
    }) = &mut state.overlay
    else {
        return Vec::new();
    };
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) if !*saving => match parse_every(input.value()) {
            Ok(every_hours) => {
                *saving = true;
                *error = None;
                return vec![Command::SetSchedule {
                    id: *id,
                    name: name.clone(),
                    every_hours,
                }];
            }
            Err(e) => *error = Some(e),
        },
        Some(Act::Confirm) => {}
        _ => {
            if !*saving && input.handle_event(&Event::Key(key)).is_some() {
                // Checked as you type, with the words the engine uses.
                *error = parse_every(input.value()).err();
            }
        }
    }
    Vec::new()
}

pub(super) fn on_schedule_set(
    state: &mut State,
    id: Uuid,
    name: String,
    result: Result<Option<i32>, String>,
) -> Vec<Command> {
    match result {
        Ok(every) => {
            if matches!(&state.overlay, Some(Overlay::Schedule { id: i, .. }) if *i == id) {
                state.overlay = None;
            }
            let text = format!(
                "backup schedule of \"{name}\" saved: {}",
                drills::every_words(every)
            );
            flash(state, text, false);
            // The schedule line and the next slot, read again.
            match state.detail() {
                Some(d) if d.id == id => vec![Command::LoadBackups(id)],
                _ => Vec::new(),
            }
        }
        Err(e) => {
            match &mut state.overlay {
                Some(Overlay::Schedule {
                    id: i,
                    error,
                    saving,
                    ..
                }) if *i == id => {
                    *saving = false;
                    *error = Some(format!("not saved: {e}"));
                }
                _ => flash(
                    state,
                    format!("backup schedule of \"{name}\" not saved: {e}"),
                    true,
                ),
            }
            Vec::new()
        }
    }
}

/// `C`: the clone form; the clone belongs to the source's owner.
pub(super) fn open_clone(state: &mut State) -> Vec<Command> {
    let Some(s) = live_store(state, "a clone") else {
        return Vec::new();
    };
    let name = format!("{} copy", s.name);
    let error = clone_problem(state, &name);
    state.overlay = Some(Overlay::CloneForm(Box::new(CloneForm {
        source: s.id,
        source_name: s.name,
        owner: s.owner,
        input: Input::new(name),
        error,
        submitting: false,
    })));
    Vec::new()
}

/// What is wrong with a clone's name: the engine's name rule, or a live
/// store with the same namespace (the engine would refuse it too).
fn clone_problem(state: &State, name: &str) -> Option<String> {
    let name = name.trim();
    if let Err(e) = store::validate_name(name) {
        return Some(e.to_string());
    }
    let ns = store::namespace_for(name);
    state
        .stores
        .iter()
        .find(|s| s.status != Status::Deleted && s.namespace == ns)
        .map(|s| {
            format!(
                "\"{}\" already uses namespace {ns}; pick another name",
                s.name
            )
        })
}

pub(super) fn clone_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::CloneForm(f)) = &mut state.overlay else {
        return Vec::new();
    };
    match act {
        Some(Act::Cancel) => {
            let submitting = f.submitting;
            state.overlay = None;
            if submitting {
                flash(
                    state,
                    "the clone request is already on its way; watch the list".into(),
                    false,
                );
            }
            return Vec::new();
        }
        Some(Act::Confirm) if !f.submitting => {
            let name = f.input.value().trim().to_string();
            let cmd = Command::Clone {
                source: f.source,
                source_name: f.source_name.clone(),
                name: name.clone(),
                owner: f.owner.clone(),
            };
            let problem = clone_problem(state, &name);
            let Some(Overlay::CloneForm(f)) = &mut state.overlay else {
                return Vec::new();
            };
            if let Some(p) = problem {
                f.error = Some(format!("not sent: {p}"));
                return Vec::new();
            }
            f.submitting = true;
            f.error = None;
            return vec![cmd];
        }
        Some(Act::Confirm) => return Vec::new(),
        _ => {
            if f.submitting || f.input.handle_event(&Event::Key(key)).is_none() {
                return Vec::new();
            }
        }
    }
    // Typed: checked as you type.
    let name = f.input.value().to_string();
    let problem = clone_problem(state, &name);
    if let Some(Overlay::CloneForm(f)) = &mut state.overlay {
        f.error = problem;
    }
    Vec::new()
}

pub(super) fn on_cloned(
    state: &mut State,
    source: String,
    result: Result<Store, String>,
) -> Vec<Command> {
    match result {
        Ok(s) => {
            if matches!(state.overlay, Some(Overlay::CloneForm(_))) {
                state.overlay = None;
            }
            state.started_here.insert(s.id);
            let text = format!(
                "clone \"{}\" of \"{source}\" created: provisioning from its newest complete backup in {} ({})",
                s.name, s.namespace, s.url
            );
            state.upsert_store(s);
            flash(state, text, false);
        }
        Err(e) => match &mut state.overlay {
            Some(Overlay::CloneForm(f)) => {
                f.submitting = false;
                f.error = Some(e);
            }
            _ => flash(state, format!("clone of \"{source}\" failed: {e}"), true),
        },
    }
    Vec::new()
}
