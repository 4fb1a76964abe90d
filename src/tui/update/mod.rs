//! `update`: the one place the console's state changes. Pure: no I/O, no
//! clock, no terminal; it returns the commands the loop should run.
//!
//! This file is the router. Messages other than keys go to `messages`. A
//! key is looked up in the key table of the active context; a binding that
//! `writes` is refused here in `--read-only`, once for every view (the `:`
//! commands that write, in `command`); then the key goes to the pop-up
//! shown, handled in place in its feature's file, or to the view under it.

mod backups;
mod bulk;
mod command;
mod create;
mod detail;
mod drills;
mod logs;
mod messages;
mod overlays;
mod stores;
mod wp;

#[cfg(test)]
mod tests;

use super::fmt;
use super::keys::{self, Act, Context};
use super::msg::{Command, Msg};
use super::state::{Flash, Overlay, Screen, State};
use crossterm::event::{KeyEvent, KeyEventKind};
use std::hash::{DefaultHasher, Hash, Hasher};
use uuid::Uuid;

const FLASH_SECS: i64 = 6;

pub fn update(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Tick(now) => {
            let before = clock_signature(state);
            state.now = now;
            if state.flash.as_ref().is_some_and(|f| f.until <= now) {
                state.flash = None;
                state.dirty = true;
            }
            if clock_signature(state) != before {
                state.dirty = true;
            }
            let mut cmds = backups::maybe_load_good(state);
            cmds.extend(drills::maybe_reload(state));
            cmds
        }
        Msg::StoreNotified { id, origin } => {
            // Coalesced: one read in flight per store; changes that arrive
            // meanwhile cost one more read, not one each.
            if !state.loading.insert(id) {
                state.load_again.insert(id);
                return Vec::new();
            }
            vec![Command::LoadStore {
                id,
                origin: Some(origin),
            }]
        }
        Msg::WorkersBusy(n) => {
            if state.busy_workers != n {
                state.busy_workers = n;
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Key(key) => {
            state.dirty = true;
            on_key(state, key)
        }
        other => {
            state.dirty = true;
            messages::on_msg(state, other)
        }
    }
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let ctx = state.key_context();
    let binding = keys::binding(ctx, &key);
    let act = binding.map(|b| b.act);
    if act == Some(Act::QuitNow) {
        state.quit = true;
        return Vec::new();
    }
    if let Some(b) = binding
        && b.writes
        && state.info.read_only
    {
        // The part of the help before any "(…)": "upgrade / change settings".
        let what = b.help.split(" (").next().unwrap_or(b.help);
        refuse_read_only(state, what);
        return Vec::new();
    }
    match &state.overlay {
        Some(
            Overlay::Help { .. }
            | Overlay::Error { .. }
            | Overlay::BulkSummary { .. }
            | Overlay::Doctor { .. }
            | Overlay::Changes { .. },
        ) => overlays::scroll_key(state, act),
        Some(Overlay::ConfirmQuit { .. }) => overlays::quit_key(state, act),
        Some(Overlay::ConfirmRetry { .. }) => stores::confirm_retry_key(state, act),
        Some(Overlay::ConfirmDelete { .. }) => stores::confirm_delete_key(state, act, key),
        Some(Overlay::ConfirmBulk { .. }) => bulk::confirm_key(state, act, key),
        Some(Overlay::ConfirmRestore { .. }) => backups::confirm_restore_key(state, act),
        Some(Overlay::Deleted { .. }) => backups::deleted_key(state, act),
        Some(Overlay::ConfirmUndelete(_)) => backups::confirm_undelete_key(state, act),
        Some(Overlay::ConfirmDrill { .. }) => drills::confirm_drill_key(state, act),
        Some(Overlay::Schedule { .. }) => drills::schedule_key(state, act, key),
        Some(Overlay::CloneForm(_)) => drills::clone_key(state, act, key),
        Some(Overlay::Create(_)) => create::key(state, act, key),
        Some(Overlay::Command { .. }) => command::key(state, act, key),
        None => view_key(state, ctx, act, key),
    }
}

/// A key of the view itself (no pop-up shown).
fn view_key(state: &mut State, ctx: Context, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    // The same in every view that binds them.
    match act {
        Some(Act::Help) => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            return Vec::new();
        }
        Some(Act::Quit) => {
            quit_or_ask(state);
            return Vec::new();
        }
        Some(Act::Command) => {
            command::open(state, "");
            return Vec::new();
        }
        _ => {}
    }
    match ctx {
        Context::Filter => stores::filter_key(state, act, key),
        Context::Detail => act.map_or_else(Vec::new, |a| detail::key(state, a)),
        Context::Logs => act.map_or_else(Vec::new, |a| logs::key(state, a)),
        Context::LogSearch => logs::search_key(state, act, key),
        Context::PickContainer => act.map_or_else(Vec::new, |a| logs::pick_key(state, a)),
        Context::Wp => wp::key(state, act, key),
        _ => act.map_or_else(Vec::new, |a| stores::key(state, a)),
    }
}

/// The one answer to anything that would change a store in `--read-only`.
fn refuse_read_only(state: &mut State, what: &str) {
    flash(
        state,
        format!(
            "read-only mode: {what} is disabled; start the console without --read-only to change stores"
        ),
        true,
    );
}

fn flash(state: &mut State, text: String, error: bool) {
    state.flash = Some(Flash {
        text,
        error,
        until: state.now
            + chrono::Duration::seconds(if error { FLASH_SECS * 2 } else { FLASH_SECS }),
    });
}

fn select(state: &mut State, id: Uuid) {
    if let Some(pos) = state
        .list
        .visible
        .iter()
        .position(|&i| state.stores[i].id == id)
    {
        state.list.cursor = pos;
        state.list.selected = Some(id);
        state.keep_cursor_in_view();
    }
}

fn quit_or_ask(state: &mut State) {
    let running = state.running_here();
    if running > 0 {
        state.overlay = Some(Overlay::ConfirmQuit { running });
    } else {
        state.quit = true;
    }
}

fn next_seq(state: &mut State) -> u64 {
    let n = state.next_seq;
    state.next_seq += 1;
    n
}

/// A digest of every clock-dependent string on screen: a tick redraws only
/// when it changes.
pub fn clock_signature(state: &State) -> u64 {
    let mut h = DefaultHasher::new();
    let now = state.now;
    state.banners().hash(&mut h);
    match &state.screen {
        Screen::Stores => {
            let page = state.list_page();
            for &i in state.list.visible.iter().skip(state.list.offset).take(page) {
                let s = &state.stores[i];
                fmt::age(now, s.created_at).hash(&mut h);
                if let (Some(start), None) = (s.provision_started_at, s.ready_at) {
                    fmt::age(now, start).hash(&mut h);
                }
                if let Some(t) = state.good_backups.data.as_ref().and_then(|m| m.get(&s.id)) {
                    fmt::age(now, *t).hash(&mut h);
                }
                state.needs_backup(s).hash(&mut h);
            }
        }
        Screen::Detail(d) => {
            fmt::age(now, d.store.created_at).hash(&mut h);
            if let Some(start) = d.store.provision_started_at {
                fmt::age(now, start).hash(&mut h);
            }
            for r in d.resources.data.iter().flatten() {
                fmt::age_opt(now, r.created).hash(&mut h);
            }
            for e in d.events.data.iter().flatten().take(200) {
                fmt::age_opt(now, e.at).hash(&mut h);
            }
            if let Some(v) = &d.schedule {
                super::backups::schedule_line(v, now, state.tz).hash(&mut h);
            }
            if let Some(v) = &d.drills.data {
                super::drills::restore_line(v, now, state.tz).hash(&mut h);
            }
            for b in d.backups.data.iter().flatten().take(50) {
                super::backups::tail(b, now, state.tz).hash(&mut h);
            }
        }
    }
    h.finish()
}
