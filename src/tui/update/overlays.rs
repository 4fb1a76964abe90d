//! The pop-ups that only show something (help, the full error, the
//! reports) and the quit question, each changed in place. Scrolling stops
//! where the last line is on screen.

use crate::tui::keys::Act;
use crate::tui::msg::Command;
use crate::tui::state::{Overlay, State};

/// Up, down and close in a scrolling pop-up.
pub(super) fn scroll_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    let max = state.overlay_max_scroll();
    match act {
        Some(Act::Close) => state.overlay = None,
        Some(Act::Down | Act::Up) => {
            if let Some(scroll) = state.overlay.as_mut().and_then(Overlay::scroll_mut) {
                *scroll = if act == Some(Act::Down) {
                    (*scroll + 1).min(max)
                } else {
                    // A pop-up that shrank (its report reloaded) comes back
                    // from where its end now is.
                    (*scroll).min(max).saturating_sub(1)
                };
            }
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn quit_key(state: &mut State, act: Option<Act>) -> Vec<Command> {
    match act {
        Some(Act::Confirm) => state.quit = true,
        Some(Act::Cancel) => state.overlay = None,
        _ => {}
    }
    Vec::new()
}
