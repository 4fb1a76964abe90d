//! Retry or delete every marked store: the confirmation (skipped stores
//! listed with the lifecycle's reason), one request per store, and the
//! summary when the last answer is in.

use super::flash;
use crate::store::Store;
use crate::tui::keys::Act;
use crate::tui::msg::{Action, Command};
use crate::tui::state::{BulkRun, Overlay, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use uuid::Uuid;

/// Opens the confirmation for a bulk action over the marked stores; the
/// ones it cannot apply to are listed as skipped, with why.
pub(super) fn ask(state: &mut State, action: Action) {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let mut marked: Vec<&Store> = state
        .stores
        .iter()
        .filter(|s| state.list.marked.contains(&s.id))
        .collect();
    marked.sort_by(|a, b| a.name.cmp(&b.name));
    for s in marked {
        match s.may(action.request()) {
            Ok(_) => targets.push((s.id, s.name.clone())),
            Err(refusal) => skipped.push((s.name.clone(), refusal.why())),
        }
    }
    if targets.is_empty() {
        let text = format!(
            "none of the {} marked stores can be {}: {}",
            skipped.len(),
            past(action),
            skipped
                .iter()
                .map(|(n, why)| format!("\"{n}\" {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        flash(state, text, true);
        return;
    }
    state.overlay = Some(Overlay::ConfirmBulk {
        action,
        targets,
        skipped,
        input: Input::default(),
        mismatch: false,
    });
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Retry => "retried",
        Action::Delete => "deleted",
        Action::Backup => "backed up",
        Action::Restore => "restored",
        Action::Undelete => "undeleted",
    }
}

fn start(
    state: &mut State,
    action: Action,
    targets: Vec<(Uuid, String)>,
    skipped: Vec<(String, String)>,
) -> Vec<Command> {
    let n = targets.len();
    state.bulk = Some(BulkRun {
        action,
        total: n + skipped.len(),
        pending: targets.iter().map(|(id, _)| *id).collect(),
        accepted: Vec::new(),
        refused: skipped,
    });
    state.list.marked.clear();
    flash(
        state,
        format!(
            "asking the engine to {} {n} store{}…",
            action.verb(),
            if n == 1 { "" } else { "s" }
        ),
        false,
    );
    targets
        .into_iter()
        .map(|(id, name)| match action {
            Action::Retry => Command::Retry { id, name },
            Action::Delete => Command::Delete { id, name },
            Action::Backup => Command::Backup { id, name },
            Action::Restore => Command::Restore {
                id,
                name,
                backup: None,
            },
            Action::Undelete => Command::Undelete { id, name },
        })
        .collect()
}

/// One answer of a bulk action; the summary opens with the last.
pub(super) fn answer(
    state: &mut State,
    id: Uuid,
    name: String,
    result: Result<Store, String>,
) -> Vec<Command> {
    if let Ok(store) = result.as_ref() {
        state.started_here.insert(id);
        state.upsert_store(store.clone());
    }
    let Some(b) = state.bulk.as_mut() else {
        return Vec::new();
    };
    b.pending.remove(&id);
    match result {
        Ok(_) => b.accepted.push(name),
        Err(e) => b.refused.push((name, e)),
    }
    if b.done() {
        let text = format!(
            "{} of {}: {} accepted, {} refused",
            b.action.verb(),
            b.total,
            b.accepted.len(),
            b.refused.len()
        );
        let refused = !b.refused.is_empty();
        flash(state, text, refused);
        if state.overlay.is_none() {
            state.overlay = Some(Overlay::BulkSummary { scroll: 0 });
        }
    }
    Vec::new()
}

/// The bulk confirmation: a retry needs `y`, a delete the number of stores
/// typed.
pub(super) fn confirm_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::ConfirmBulk {
        action,
        targets,
        input,
        mismatch,
        ..
    }) = &mut state.overlay
    else {
        return Vec::new();
    };
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm)
            if *action == Action::Retry || input.value().trim() == targets.len().to_string() =>
        {
            if let Some(Overlay::ConfirmBulk {
                action,
                targets,
                skipped,
                ..
            }) = state.overlay.take()
            {
                return start(state, action, targets, skipped);
            }
        }
        Some(Act::Confirm) => *mismatch = true,
        _ => {
            if *action == Action::Delete && input.handle_event(&Event::Key(key)).is_some() {
                *mismatch = false;
            }
        }
    }
    Vec::new()
}
