//! The wp prompt of a store: offered commands, running one, scrolling
//! the output. (What may run, in `--read-only` too, is `tui::wp`'s rule.)

use super::flash;
use crate::tui::keys::Act;
use crate::tui::msg::Command;
use crate::tui::state::{DetailMode, Screen, State, WpRun};
use crate::tui::wp;
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

pub(super) fn key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let read_only = state.info.read_only;
    let seq = state.next_seq;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let (id, namespace, name) = (d.id, d.store.namespace.clone(), d.store.name.clone());
    let w = &mut d.wp;
    match act {
        Some(Act::Back) => d.mode = DetailMode::Panes,
        Some(Act::NextSuggestion | Act::PrevSuggestion) => {
            let offered = wp::offered(read_only);
            let n = offered.len();
            let i = match (w.suggestion, act) {
                (None, Some(Act::NextSuggestion)) => 0,
                (None, _) => n - 1,
                (Some(i), Some(Act::NextSuggestion)) => (i + 1) % n,
                (Some(i), _) => (i + n - 1) % n,
            };
            w.suggestion = Some(i);
            w.input = Input::new(offered[i].to_string());
        }
        Some(Act::PageUp) => {
            let total = w.output_lines().len();
            let cur = w.scroll.unwrap_or(total.saturating_sub(1));
            w.scroll = Some(cur.saturating_sub(10));
        }
        Some(Act::PageDown) => {
            let total = w.output_lines().len();
            w.scroll = match w.scroll {
                Some(cur) if cur + 10 < total => Some(cur + 10),
                _ => None,
            };
        }
        Some(Act::Confirm) => {
            if w.running() {
                flash(
                    state,
                    "a wp command is still running; wait for its answer".into(),
                    true,
                );
                return Vec::new();
            }
            let line = w.input.value().trim().to_string();
            let checked = wp::check(&line, read_only);
            let command = wp::split(&line)
                .map(|ws| ws.join(" "))
                .unwrap_or_else(|_| line.clone());
            w.input.reset();
            w.suggestion = None;
            w.scroll = None;
            match checked {
                Ok(args) => {
                    state.next_seq += 1;
                    w.runs.push(WpRun {
                        seq,
                        command,
                        result: None,
                    });
                    return vec![Command::Wp {
                        seq,
                        id,
                        namespace,
                        name,
                        args,
                    }];
                }
                Err(why) => w.runs.push(WpRun {
                    seq: 0,
                    command,
                    result: Some(Err(why)),
                }),
            }
        }
        _ => {
            if w.input.handle_event(&Event::Key(key)).is_some() {
                w.suggestion = None;
            }
        }
    }
    Vec::new()
}
