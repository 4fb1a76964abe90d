//! The logs of a store's pods: picking the container, following, scrolling,
//! searching.

use super::next_seq;
use crate::engines::EngineKind;
use crate::tui::keys::Act;
use crate::tui::layout;
use crate::tui::msg::{Command, ContainerRef, LogRequest, Msg};
use crate::tui::state::{DetailMode, LinkState, LogsView, Screen, State};
use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use uuid::Uuid;

fn logs_mut(state: &mut State) -> Option<&mut LogsView> {
    match &mut state.screen {
        Screen::Detail(d) => match &mut d.mode {
            DetailMode::Logs(l) => Some(l),
            _ => None,
        },
        Screen::Stores => None,
    }
}

pub(super) fn open(state: &mut State) -> Vec<Command> {
    let cluster_ok = state.cluster.state != LinkState::Unavailable;
    let cap = state.info.log_lines;
    let stream = next_seq(state);
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let mut l = LogsView::new(cap);
    l.stream = stream;
    let cmds = if cluster_ok {
        vec![Command::LoadContainers {
            id: d.id,
            namespace: d.store.namespace.clone(),
        }]
    } else {
        l.containers.set(Err("no cluster connection".into()));
        Vec::new()
    };
    d.mode = DetailMode::Logs(Box::new(l));
    cmds
}

pub(super) fn on_containers(
    state: &mut State,
    id: Uuid,
    result: Result<Vec<ContainerRef>, String>,
) -> Vec<Command> {
    let Screen::Detail(d) = &state.screen else {
        return Vec::new();
    };
    if d.id != id || !matches!(d.mode, DetailMode::Logs(_)) {
        return Vec::new();
    }
    let Some(l) = logs_mut(state) else {
        return Vec::new();
    };
    // The engine's main container by default (the store itself), else the
    // first app container: not the setup steps, which are a pick away.
    l.selected = result
        .as_ref()
        .ok()
        .and_then(|cs| {
            cs.iter()
                .position(|c| {
                    !c.init
                        && EngineKind::ALL
                            .iter()
                            .any(|e| c.container == e.spec().main_container)
                })
                .or_else(|| cs.iter().position(|c| !c.init))
        })
        .unwrap_or(0);
    l.containers.set(result);
    restart_logs(state)
}

/// (Re)starts the stream of the selected container with the current
/// options; the ring starts empty.
fn restart_logs(state: &mut State) -> Vec<Command> {
    let stream = next_seq(state);
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let (id, namespace, name) = (d.id, d.store.namespace.clone(), d.store.name.clone());
    let DetailMode::Logs(l) = &mut d.mode else {
        return Vec::new();
    };
    let Some(c) = l.container().cloned() else {
        return Vec::new();
    };
    l.stream = stream;
    l.lines.clear();
    l.dropped = 0;
    l.top = 0;
    l.error = None;
    l.live = false;
    vec![Command::StreamLogs {
        stream,
        request: LogRequest {
            id,
            namespace,
            name,
            pod: c.pod,
            container: c.container,
            previous: l.previous,
            // A previous instance has ended: there is nothing to follow.
            follow: !l.previous,
            tail: u32::try_from(l.cap).unwrap_or(u32::MAX),
        },
    }]
}

/// Rows of text the logs pane shows.
fn logs_rows(state: &State) -> usize {
    layout::pane_rows(state.body())
}

fn logs_top(l: &LogsView, rows: usize) -> usize {
    l.top_line(rows)
}

fn find_match(l: &LogsView, from: usize, forward: bool) -> Option<usize> {
    let q = l.query()?.to_lowercase();
    let hit = |i: &usize| l.lines[*i].to_lowercase().contains(&q);
    let n = l.lines.len();
    if forward {
        (from..n).chain(0..from.min(n)).find(hit)
    } else {
        (0..=from.min(n.saturating_sub(1)))
            .rev()
            .chain((from.min(n)..n).rev())
            .find(hit)
    }
}

pub(super) fn key(state: &mut State, act: Act) -> Vec<Command> {
    let rows = logs_rows(state);
    let Some(l) = logs_mut(state) else {
        return Vec::new();
    };
    let top = logs_top(l, rows);
    let last = l.lines.len().saturating_sub(1);
    let scroll_to = |l: &mut LogsView, to: usize| {
        l.follow = false;
        l.top = to.min(last);
    };
    match act {
        Act::Back => {
            if let Screen::Detail(d) = &mut state.screen {
                d.mode = DetailMode::Panes;
            }
            return vec![Command::StopLogs];
        }
        Act::PickContainer if l.containers.data.as_ref().is_some_and(|c| !c.is_empty()) => {
            l.picking = Some(l.selected);
        }
        Act::Follow => {
            if l.follow {
                scroll_to(l, top);
            } else {
                l.follow = true;
            }
        }
        Act::Previous => {
            l.previous = !l.previous;
            return restart_logs(state);
        }
        Act::Wrap => l.wrap = !l.wrap,
        Act::Timestamps => l.timestamps = !l.timestamps,
        Act::Search => l.searching = true,
        Act::NextMatch | Act::PrevMatch => {
            let forward = act == Act::NextMatch;
            let from = if forward {
                top + 1
            } else {
                top.saturating_sub(1)
            };
            if let Some(i) = find_match(l, from, forward) {
                scroll_to(l, i);
            }
        }
        Act::Down => scroll_to(l, top + 1),
        Act::Up => scroll_to(l, top.saturating_sub(1)),
        Act::PageDown => scroll_to(l, top + rows),
        Act::PageUp => scroll_to(l, top.saturating_sub(rows)),
        Act::First => scroll_to(l, 0),
        Act::Last => l.follow = true,
        _ => {}
    }
    Vec::new()
}

pub(super) fn search_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    let rows = logs_rows(state);
    let Some(l) = logs_mut(state) else {
        return Vec::new();
    };
    match act {
        Some(Act::KeepFilter) => {
            l.searching = false;
            let top = logs_top(l, rows);
            if let Some(i) = find_match(l, top, true) {
                l.follow = false;
                l.top = i;
            }
        }
        Some(Act::ClearFilter) => {
            l.searching = false;
            l.search.reset();
        }
        _ => {
            l.search.handle_event(&Event::Key(key));
        }
    }
    Vec::new()
}

pub(super) fn pick_key(state: &mut State, act: Act) -> Vec<Command> {
    let Some(l) = logs_mut(state) else {
        return Vec::new();
    };
    let n = l.containers.data.as_ref().map_or(0, Vec::len);
    let Some(cur) = l.picking else {
        return Vec::new();
    };
    match act {
        Act::Down => l.picking = Some((cur + 1).min(n.saturating_sub(1))),
        Act::Up => l.picking = Some(cur.saturating_sub(1)),
        Act::Cancel => l.picking = None,
        Act::Confirm => {
            l.picking = None;
            l.selected = cur;
            l.follow = true;
            return restart_logs(state);
        }
        _ => {}
    }
    Vec::new()
}

/// Lines of the open log stream, or its end (older streams are ignored).
pub(super) fn on_stream(state: &mut State, msg: Msg) -> Vec<Command> {
    let Some(l) = logs_mut(state) else {
        return Vec::new();
    };
    match msg {
        Msg::LogLines { stream, lines } if l.stream == stream => {
            l.live = true;
            l.error = None;
            l.push(lines);
        }
        Msg::LogEnded { stream, error } if l.stream == stream => {
            l.live = false;
            l.error = error;
        }
        _ => {}
    }
    Vec::new()
}
