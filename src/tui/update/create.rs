//! The create form: opened by `c` or `:create`, checked as you type with
//! the engine's rules, sent once.

use super::flash;
use crate::tui::form;
use crate::tui::keys::Act;
use crate::tui::msg::Command;
use crate::tui::state::{CreateForm, FIELD_ENGINE, Overlay, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

pub(super) fn open(state: &mut State) {
    // A key derived from the form's opening keeps a double submit to one store.
    let key = format!(
        "console-{}-{}",
        state.info.user,
        state.now.timestamp_nanos_opt().unwrap_or_default()
    );
    state.overlay = Some(Overlay::Create(Box::new(CreateForm::new(
        &state.info.user,
        key,
    ))));
}

/// Keys of the open form, changed in place; esc closes it.
pub(super) fn key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    if act == Some(Act::Cancel) {
        let submitting = matches!(&state.overlay, Some(Overlay::Create(f)) if f.submitting);
        state.overlay = None;
        if submitting {
            flash(
                state,
                "the create request is already on its way; watch the list".into(),
                false,
            );
        }
        return Vec::new();
    }
    // The engine's rules need the whole state (names in use, limits): the
    // check runs before the form is borrowed.
    let submit = match &state.overlay {
        Some(Overlay::Create(f)) if !f.submitting => {
            act == Some(Act::Submit) || (act == Some(Act::Enter) && f.focus == FIELD_ENGINE)
        }
        _ => return Vec::new(),
    };
    let problem = match (&state.overlay, submit) {
        (Some(Overlay::Create(f)), true) => {
            form::check(state, f).first_problem().map(str::to_string)
        }
        _ => None,
    };
    let Some(Overlay::Create(form)) = &mut state.overlay else {
        return Vec::new();
    };
    if submit {
        if let Some(problem) = problem {
            form.error = Some(format!("not sent: {problem}"));
            return Vec::new();
        }
        form.submitting = true;
        form.error = None;
        return vec![Command::Create(form::request(form))];
    }
    match act {
        Some(Act::NextField | Act::Enter) => form.focus = (form.focus + 1) % 3,
        Some(Act::PrevField) => form.focus = (form.focus + 2) % 3,
        _ => {
            if form.fields[form.focus]
                .handle_event(&Event::Key(key))
                .is_some()
            {
                form.error = None;
            }
        }
    }
    Vec::new()
}
