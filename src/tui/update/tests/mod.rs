//! `update` without a terminal: every key of every view, and every message,
//! one file per feature.

mod backups;
mod command;
mod detail;
mod drills;
mod form;
mod messages;
mod stores;

use super::{clock_signature, update};
use crate::cluster::health::{Health, HealthState};
use crate::cluster::view::Connection;
use crate::store::{Phase, Status, Store};
use crate::tui::fixtures::*;
use crate::tui::msg::{Action, Command, Msg};
use crate::tui::state::{
    FIELD_ENGINE, FIELD_NAME, FIELD_OWNER, Info, LinkState, Overlay, Pane, Screen, SortKey, State,
};
use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::time::Instant;
use uuid::Uuid;

fn k(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn c(ch: char) -> Msg {
    k(KeyCode::Char(ch))
}

fn ctrl(ch: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL))
}

fn typed(s: &mut State, text: &str) {
    for ch in text.chars() {
        update(s, c(ch));
    }
}

fn selected_name(s: &State) -> String {
    s.selected_store()
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

fn names(s: &State) -> Vec<String> {
    s.list
        .visible
        .iter()
        .map(|&i| s.stores[i].name.clone())
        .collect()
}

fn is_flash_error(s: &State, needle: &str) -> bool {
    s.flash
        .as_ref()
        .is_some_and(|f| f.error && f.text.contains(needle))
}

fn open_detail_of(s: &mut State, name: &str) -> Vec<Command> {
    let pos = names(s)
        .iter()
        .position(|n| n == name)
        .expect("store visible");
    s.list.cursor = pos;
    s.list.selected = s.selected_store().map(|x| x.id);
    update(s, k(KeyCode::Enter))
}

fn detail_state() -> State {
    let mut s = loaded(sample_stores());
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: true,
            since: t0(),
            error: None,
        }),
    );
    open_detail_of(&mut s, "Cora Cafe");
    let id = Uuid::from_u128(3);
    update(
        &mut s,
        Msg::Resources {
            id,
            result: Ok(sample_resources()),
        },
    );
    update(
        &mut s,
        Msg::Events {
            id,
            result: Ok(sample_events()),
        },
    );
    update(
        &mut s,
        Msg::Audit {
            id,
            result: Ok((sample_audit(id), None)),
        },
    );
    s
}
