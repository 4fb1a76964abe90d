//! The `:` line: typed in place, completed with `tab`, and run through the
//! one table of commands (`tui::commands`), which also refuses the ones that
//! write in `--read-only`.

use super::{create, detail, flash, quit_or_ask, refuse_read_only};
use crate::tui::commands::{self, Cmd};
use crate::tui::keys::Act;
use crate::tui::msg::{Command, StoreChange};
use crate::tui::state::{Feed, Overlay, Screen, SortKey, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

/// Opens the `:` line with `text` already typed.
pub(super) fn open(state: &mut State, text: &str) {
    state.overlay = Some(Overlay::Command {
        input: Input::new(text.to_string()),
        completing: None,
    });
}

pub(super) fn key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let read_only = state.info.read_only;
    let Some(Overlay::Command { input, completing }) = &mut state.overlay else {
        return Vec::new();
    };
    match act {
        Some(Act::Cancel) => state.overlay = None,
        Some(Act::Confirm) => {
            let line = input.value().trim().to_string();
            state.overlay = None;
            return run(state, &line);
        }
        Some(Act::Complete) => {
            // Only the command's name completes; arguments are typed.
            let (prefix, next) = match completing.take() {
                Some((prefix, i)) => (prefix, i + 1),
                None => (input.value().trim_start().to_string(), 0),
            };
            if prefix.contains(char::is_whitespace) {
                return Vec::new();
            }
            let names = commands::completions(&prefix, read_only);
            if let Some(name) = names.get(next % names.len().max(1)) {
                *input = Input::new((*name).to_string());
                *completing = Some((prefix, next % names.len()));
            }
        }
        _ => {
            if input.handle_event(&Event::Key(key)).is_some() {
                *completing = None;
            }
        }
    }
    Vec::new()
}

/// Runs one `:` line.
fn run(state: &mut State, line: &str) -> Vec<Command> {
    let (name, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    if name.is_empty() {
        return Vec::new();
    }
    let Some(spec) = commands::find(name) else {
        let text = format!(
            "unknown command \":{name}\"; try {}",
            commands::summary(state.info.read_only)
        );
        flash(state, text, true);
        return Vec::new();
    };
    if spec.writes && state.info.read_only {
        refuse_read_only(state, &format!(":{}", spec.name()));
        return Vec::new();
    }
    match spec.cmd {
        Cmd::Quit => quit_or_ask(state),
        Cmd::QuitNow => state.quit = true,
        Cmd::Help => state.overlay = Some(Overlay::Help { scroll: 0 }),
        Cmd::Create => create::open(state),
        Cmd::Stores => {
            if matches!(state.screen, Screen::Detail(_)) {
                state.screen = Screen::Stores;
                return vec![Command::WatchEvents(None)];
            }
        }
        Cmd::Reload => return vec![Command::LoadStores],
        Cmd::Upgrade | Cmd::Set => {
            let set: Vec<String> = arg.split_whitespace().map(String::from).collect();
            if spec.cmd == Cmd::Set && set.is_empty() {
                flash(
                    state,
                    ":set takes key=value pairs, e.g. :set replicas=0".into(),
                    true,
                );
                return Vec::new();
            }
            return detail::ask_change(state, Ok(StoreChange::Upgrade(set)));
        }
        Cmd::Rollback => return detail::ask_change(state, detail::parse_rollback(arg)),
        Cmd::History => return detail::open_history(state),
        Cmd::Fleet => return detail::open_fleet(state),
        Cmd::Deleted => return super::backups::open_deleted(state),
        Cmd::Doctor => {
            state.overlay = Some(Overlay::Doctor {
                report: Feed::loading(),
                scroll: 0,
            });
            return vec![Command::Doctor];
        }
        Cmd::Sort => match SortKey::parse(arg) {
            Some(k) => {
                state.list.sort = k;
                state.list.reverse = false;
                state.refresh_visible();
            }
            None => flash(
                state,
                format!("sort by one of: age, name, owner, status, took (not \"{arg}\")"),
                true,
            ),
        },
        Cmd::Filter => {
            state.list.filter = Input::new(arg.to_string());
            state.list.cursor = 0;
            state.list.selected = None;
            state.refresh_visible();
        }
    }
    Vec::new()
}
