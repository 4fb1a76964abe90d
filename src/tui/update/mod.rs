//! `update`: the one place the console's state changes. Pure: no I/O, no
//! clock, no terminal; it returns the commands the loop should run.

use super::fmt;
use super::form;
use super::keys::{self, Act};
use super::msg::{Action, Command, Msg, Report, StoreChange};
use super::msg::{ContainerRef, LogRequest};
use super::state::{
    BulkRun, CreateForm, DetailMode, DetailView, FIELD_ENGINE, Feed, Flash, LinkState, LogsView,
    Overlay, Pane, Screen, SortKey, State, WpRun,
};
use super::{layout, wp};
use crate::store::{Request, Store, lifecycle};
use crossterm::event::{Event, KeyEvent, KeyEventKind};
use std::hash::{DefaultHasher, Hash, Hasher};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use uuid::Uuid;

#[cfg(test)]
mod tests;

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
            Vec::new()
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
        other => {
            state.dirty = true;
            on_msg(state, other)
        }
    }
}

fn on_msg(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Resize(w, h) => {
            state.size = (w, h);
            state.keep_cursor_in_view();
            Vec::new()
        }
        Msg::DbUp(at) => {
            state.db.set(LinkState::Up, at, None);
            // Notifications may have been missed while it was down.
            let mut cmds = vec![Command::LoadStores];
            if let Some(d) = state.detail() {
                cmds.push(Command::LoadAudit(d.id));
            }
            cmds
        }
        Msg::DbDown { at, error } => {
            state.db.set(LinkState::Down, at, Some(error));
            Vec::new()
        }
        Msg::StoresLoaded { at, result } => match result {
            Ok(stores) => {
                state.db.set(LinkState::Up, at, None);
                state.stores = stores;
                state.loaded = true;
                if let Screen::Detail(d) = &mut state.screen
                    && let Some(s) = state.stores.iter().find(|s| s.id == d.id)
                {
                    d.store = s.clone();
                }
                state.refresh_visible();
                Vec::new()
            }
            Err(error) => {
                state.db.set(LinkState::Down, at, Some(error));
                Vec::new()
            }
        },
        Msg::StoreLoaded { id, result, .. } => match result {
            Ok(found) => {
                let at = state.now;
                state.db.set(LinkState::Up, at, None);
                let mut cmds = Vec::new();
                state.loading.remove(&id);
                if state.load_again.remove(&id) {
                    state.loading.insert(id);
                    cmds.push(Command::LoadStore { id, origin: None });
                }
                if let Screen::Detail(d) = &mut state.screen
                    && d.id == id
                {
                    if let Some(s) = &found {
                        d.store = s.clone();
                    }
                    cmds.push(Command::LoadAudit(id));
                }
                match found {
                    Some(s) => upsert(state, s),
                    None => remove(state, id),
                }
                cmds
            }
            Err(error) => {
                let at = state.now;
                state.db.set(LinkState::Down, at, Some(error));
                // The reload after the database comes back catches it up.
                state.loading.remove(&id);
                state.load_again.remove(&id);
                Vec::new()
            }
        },
        Msg::Cluster(conn) => {
            let was_up = state.cluster.is_up();
            let st = if conn.connected {
                LinkState::Up
            } else {
                LinkState::Connecting
            };
            // "Connecting" is the first listing; after that a failure is "down".
            let st = if !conn.connected
                && (was_up || state.cluster.state == LinkState::Down || has_real_error(&conn.error))
            {
                LinkState::Down
            } else {
                st
            };
            state.cluster.set(st, conn.since, conn.error);
            if !was_up && state.cluster.is_up() {
                return reload_resources(state);
            }
            Vec::new()
        }
        Msg::ClusterUnavailable(error) => {
            let at = state.now;
            state.cluster.set(LinkState::Unavailable, at, Some(error));
            Vec::new()
        }
        Msg::Health { id, health, .. } => {
            state.health.insert(id, health);
            match state.detail() {
                Some(d) if d.id == id => reload_resources(state),
                _ => Vec::new(),
            }
        }
        Msg::HealthAll(all) => {
            state.health = all;
            reload_resources(state)
        }
        Msg::Resources { id, result } => {
            if let Screen::Detail(d) = &mut state.screen
                && d.id == id
            {
                d.resources.set(result);
                if d.resources_again {
                    d.resources_again = false;
                    d.resources.loading = true;
                    return vec![Command::LoadResources {
                        id,
                        namespace: d.store.namespace_ref(),
                    }];
                }
            }
            Vec::new()
        }
        Msg::Events { id, result } => {
            if let Screen::Detail(d) = &mut state.screen
                && d.id == id
            {
                d.events.set(result);
            }
            Vec::new()
        }
        Msg::Audit { id, result } => {
            if let Screen::Detail(d) = &mut state.screen
                && d.id == id
            {
                match result {
                    Ok((entries, op)) => {
                        d.operation = op;
                        d.audit.set(Ok(entries));
                    }
                    Err(e) => d.audit.set(Err(e)),
                }
            }
            Vec::new()
        }
        Msg::Created(result) => {
            let form_open = matches!(state.overlay, Some(Overlay::Create(_)));
            match result {
                Ok(store) => {
                    state.started_here.insert(store.id);
                    if form_open {
                        state.overlay = None;
                    }
                    let text = format!(
                        "store \"{}\" created: provisioning queued in {} ({})",
                        store.name, store.namespace, store.url
                    );
                    let id = store.id;
                    upsert(state, store);
                    if matches!(state.screen, Screen::Stores) {
                        select(state, id);
                    }
                    flash(state, text, false);
                }
                Err(e) => match &mut state.overlay {
                    Some(Overlay::Create(f)) => {
                        f.submitting = false;
                        f.error = Some(e);
                    }
                    _ => flash(state, format!("create failed: {e}"), true),
                },
            }
            Vec::new()
        }
        Msg::Acted {
            action,
            id,
            name,
            result,
        } => {
            if state.bulk.as_ref().is_some_and(|b| b.pending.contains(&id)) {
                return bulk_answer(state, id, name, result);
            }
            match result {
                Ok(store) => {
                    state.started_here.insert(id);
                    // What was queued follows from the status the store has
                    // now: a retried delete is Deleting, not Provisioning.
                    let next = lifecycle::accepted(action.request(), store.status)
                        .map_or("queued", |t| t.next());
                    upsert(state, store);
                    let text = format!("{} of \"{name}\" accepted: {next}", action.verb());
                    flash(state, text, false);
                }
                Err(e) => flash(
                    state,
                    format!("{} of \"{name}\" failed: {e}", action.verb()),
                    true,
                ),
            }
            Vec::new()
        }
        Msg::Signal(_) => {
            state.quit = true;
            Vec::new()
        }
        Msg::Containers { id, result } => on_containers(state, id, result),
        Msg::LogLines { stream, lines } => {
            if let Some(l) = logs_mut(state)
                && l.stream == stream
            {
                l.live = true;
                l.error = None;
                l.push(lines);
            }
            Vec::new()
        }
        Msg::LogEnded { stream, error } => {
            if let Some(l) = logs_mut(state)
                && l.stream == stream
            {
                l.live = false;
                l.error = error;
            }
            Vec::new()
        }
        Msg::WpDone { seq, result } => {
            if let Screen::Detail(d) = &mut state.screen
                && let Some(run) = d.wp.runs.iter_mut().find(|r| r.seq == seq)
            {
                run.result = Some(result);
                d.wp.scroll = None;
            }
            Vec::new()
        }
        Msg::Doctor(result) => {
            if let Some(Overlay::Doctor { report, .. }) = &mut state.overlay {
                report.set(result);
            }
            Vec::new()
        }
        Msg::Report { which, result } => {
            if let Some(Overlay::Changes {
                which: w, lines, ..
            }) = &mut state.overlay
                && *w == which
            {
                lines.set(result);
            }
            Vec::new()
        }
        Msg::ChangeQueued { name, result } => {
            match result {
                Ok(what) => flash(state, format!("{what} of \"{name}\" queued"), false),
                Err(e) => flash(state, format!("\"{name}\": {e}"), true),
            }
            Vec::new()
        }
        // Handled in `update`.
        Msg::Tick(_) | Msg::StoreNotified { .. } | Msg::WorkersBusy(_) => Vec::new(),
    }
}

/// The connection watch starts with the placeholder error "connecting".
fn has_real_error(e: &Option<String>) -> bool {
    e.as_deref()
        .is_some_and(|e| e != "connecting" && !e.ends_with(": connecting"))
}

fn reload_resources(state: &mut State) -> Vec<Command> {
    let cluster_up = state.cluster.state != LinkState::Unavailable;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    if !cluster_up {
        return Vec::new();
    }
    if d.resources.loading {
        d.resources_again = true;
        return Vec::new();
    }
    d.resources.loading = true;
    vec![Command::LoadResources {
        id: d.id,
        namespace: d.store.namespace_ref(),
    }]
}

fn upsert(state: &mut State, store: Store) {
    state.upsert_store(store);
}

fn remove(state: &mut State, id: Uuid) {
    state.remove_store(id);
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

fn flash(state: &mut State, text: String, error: bool) {
    state.flash = Some(Flash {
        text,
        error,
        until: state.now
            + chrono::Duration::seconds(if error { FLASH_SECS * 2 } else { FLASH_SECS }),
    });
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
        }
    }
    h.finish()
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let ctx = state.key_context();
    let act = keys::lookup(ctx, &key);
    if act == Some(Act::QuitNow) {
        state.quit = true;
        return Vec::new();
    }
    if let Some(overlay) = state.overlay.take() {
        return overlay_key(state, overlay, act, key);
    }
    match ctx {
        keys::Context::Filter => filter_key(state, act, key),
        keys::Context::Detail => act.map_or_else(Vec::new, |a| detail_key(state, a)),
        keys::Context::Logs => act.map_or_else(Vec::new, |a| logs_key(state, a)),
        keys::Context::LogSearch => log_search_key(state, act, key),
        keys::Context::PickContainer => act.map_or_else(Vec::new, |a| pick_key(state, a)),
        keys::Context::Wp => wp_key(state, act, key),
        _ => act.map_or_else(Vec::new, |a| stores_key(state, a)),
    }
}

fn move_cursor(state: &mut State, delta: isize) {
    let len = state.list.visible.len();
    if len == 0 {
        return;
    }
    let cur = state.list.cursor as isize;
    state.list.cursor = (cur + delta).clamp(0, len as isize - 1) as usize;
    state.list.selected = state.selected_store().map(|s| s.id);
    state.keep_cursor_in_view();
}

fn open_command(state: &mut State) {
    state.overlay = Some(Overlay::Command {
        input: Input::default(),
        error: None,
    });
}

fn stores_key(state: &mut State, act: Act) -> Vec<Command> {
    let page = state.list_page() as isize;
    let marked = !state.list.marked.is_empty();
    match act {
        Act::Delete if marked => ask_bulk(state, Action::Delete),
        Act::Retry if marked => ask_bulk(state, Action::Retry),
        Act::Delete => return ask_delete(state),
        Act::Mark => {
            if let Some(id) = state.selected_store().map(|s| s.id) {
                if !state.list.marked.remove(&id) {
                    state.list.marked.insert(id);
                }
                move_cursor(state, 1);
            }
        }
        Act::MarkAll => {
            let shown: Vec<Uuid> = state
                .list
                .visible
                .iter()
                .map(|&i| state.stores[i].id)
                .collect();
            if shown.iter().all(|id| state.list.marked.contains(id)) {
                for id in &shown {
                    state.list.marked.remove(id);
                }
            } else {
                state.list.marked.extend(shown);
            }
        }
        Act::Reload => {
            flash(state, "reloading stores from the database".into(), false);
            return vec![Command::LoadStores];
        }
        Act::Down => move_cursor(state, 1),
        Act::Up => move_cursor(state, -1),
        Act::PageDown => move_cursor(state, page),
        Act::PageUp => move_cursor(state, -page),
        Act::First => move_cursor(state, isize::MIN / 2),
        Act::Last => move_cursor(state, isize::MAX / 2),
        Act::Open => return open_detail(state),
        Act::ClearFilter => {
            if !state.list.filter.value().is_empty() {
                state.list.filter.reset();
                state.refresh_visible();
            } else {
                state.list.marked.clear();
            }
        }
        Act::Filter => state.list.filtering = true,
        Act::Sort => {
            state.list.sort = state.list.sort.next();
            state.list.reverse = false;
            state.refresh_visible();
        }
        Act::ReverseSort => {
            state.list.reverse = !state.list.reverse;
            state.refresh_visible();
        }
        Act::Create => open_create(state),
        Act::Retry => ask_retry(state),
        Act::Fleet => return open_fleet(state),
        Act::Help => state.overlay = Some(Overlay::Help { scroll: 0 }),
        Act::Command => open_command(state),
        Act::Quit => quit_or_ask(state),
        _ => {}
    }
    Vec::new()
}

fn open_fleet(state: &mut State) -> Vec<Command> {
    state.overlay = Some(Overlay::Changes {
        which: Report::Fleet,
        lines: Feed::loading(),
        scroll: 0,
    });
    vec![Command::LoadFleet]
}

fn open_history(state: &mut State) -> Vec<Command> {
    let Some(id) = state.current_store().map(|s| s.id) else {
        flash(state, "no store selected".into(), true);
        return Vec::new();
    };
    state.overlay = Some(Overlay::Changes {
        which: Report::History(id),
        lines: Feed::loading(),
        scroll: 0,
    });
    vec![Command::LoadHistory { id }]
}

/// `:upgrade key=value …`, `:set …`, `:rollback [N]` on the store shown.
fn ask_change(state: &mut State, change: Result<StoreChange, String>) -> Vec<Command> {
    if state.info.read_only {
        flash(
            state,
            "read-only mode: upgrades and rollbacks are disabled".into(),
            true,
        );
        return Vec::new();
    }
    let change = match change {
        Ok(c) => c,
        Err(e) => {
            flash(state, e, true);
            return Vec::new();
        }
    };
    let Some(s) = state.current_store() else {
        flash(
            state,
            "open a store first (enter), then :upgrade".into(),
            true,
        );
        return Vec::new();
    };
    let request = match change {
        StoreChange::Upgrade(_) => Request::Upgrade,
        StoreChange::Rollback(_) => Request::Rollback,
    };
    if let Err(refusal) = s.may(request) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    vec![Command::Change {
        id: s.id,
        name: s.name.clone(),
        change,
    }]
}

fn parse_rollback(arg: &str) -> Result<StoreChange, String> {
    if arg.is_empty() {
        return Ok(StoreChange::Rollback(None));
    }
    arg.parse::<u32>()
        .map(|r| StoreChange::Rollback(Some(r)))
        .map_err(|_| format!(":rollback takes a revision number (see H), not \"{arg}\""))
}

fn open_upgrade_line(state: &mut State) {
    if state.info.read_only {
        flash(
            state,
            "read-only mode: upgrades and rollbacks are disabled".into(),
            true,
        );
        return;
    }
    state.overlay = Some(Overlay::Command {
        input: Input::new("upgrade ".into()),
        error: None,
    });
}

fn filter_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
    match act {
        Some(Act::ClearFilter) => {
            state.list.filtering = false;
            state.list.filter.reset();
            state.refresh_visible();
        }
        Some(Act::KeepFilter) => {
            state.list.filtering = false;
            state.keep_cursor_in_view();
        }
        Some(Act::Down) => move_cursor(state, 1),
        Some(Act::Up) => move_cursor(state, -1),
        _ => {
            if state.list.filter.handle_event(&Event::Key(key)).is_some() {
                state.list.cursor = 0;
                state.list.selected = None;
                state.list.offset = 0;
                state.refresh_visible();
            }
        }
    }
    Vec::new()
}

fn open_detail(state: &mut State) -> Vec<Command> {
    let Some(store) = state.selected_store().cloned() else {
        return Vec::new();
    };
    let cluster_ok = state.cluster.state != LinkState::Unavailable;
    let mut d = DetailView::new(store);
    let mut cmds = vec![Command::LoadAudit(d.id)];
    if cluster_ok {
        cmds.push(Command::LoadResources {
            id: d.id,
            namespace: d.store.namespace_ref(),
        });
        cmds.push(Command::WatchEvents(Some((d.id, d.store.namespace_ref()))));
    } else {
        let why = "no cluster connection".to_string();
        d.resources.set(Err(why.clone()));
        d.events.set(Err(why));
    }
    state.screen = Screen::Detail(Box::new(d));
    cmds
}

fn open_create(state: &mut State) {
    if state.info.read_only {
        flash(
            state,
            "read-only mode: creating stores is disabled".into(),
            true,
        );
        return;
    }
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

fn ask_retry(state: &mut State) {
    if state.info.read_only {
        flash(state, "read-only mode: retry is disabled".into(), true);
        return;
    }
    let Some(s) = state.current_store() else {
        flash(state, "no store selected".into(), true);
        return;
    };
    if let Err(refusal) = s.may(Request::Retry) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return;
    }
    state.overlay = Some(Overlay::ConfirmRetry {
        id: s.id,
        name: s.name.clone(),
    });
}

fn ask_delete(state: &mut State) -> Vec<Command> {
    if state.info.read_only {
        flash(state, "read-only mode: delete is disabled".into(), true);
        return Vec::new();
    }
    let Some(s) = state.current_store() else {
        flash(state, "no store selected".into(), true);
        return Vec::new();
    };
    if let Err(refusal) = s.may(Request::Delete) {
        let text = format!("\"{}\" {}", s.name, refusal.why());
        flash(state, text, true);
        return Vec::new();
    }
    state.overlay = Some(Overlay::ConfirmDelete {
        id: s.id,
        name: s.name.clone(),
        input: Input::default(),
        mismatch: false,
    });
    Vec::new()
}

fn quit_or_ask(state: &mut State) {
    let running = state.running_here();
    if running > 0 {
        state.overlay = Some(Overlay::ConfirmQuit { running });
    } else {
        state.quit = true;
    }
}

fn pane_len(d: &DetailView, pane: Pane) -> usize {
    match pane {
        Pane::Resources => d.resources.data.as_ref().map_or(0, Vec::len),
        Pane::Events => d.events.data.as_ref().map_or(0, Vec::len),
        Pane::Timeline => d.audit.data.as_ref().map_or(0, Vec::len),
    }
}

fn detail_key(state: &mut State, act: Act) -> Vec<Command> {
    match act {
        Act::Logs => return open_logs(state),
        Act::Wp => {
            if let Screen::Detail(d) = &mut state.screen {
                d.mode = DetailMode::Wp;
            }
            return Vec::new();
        }
        Act::Delete => return ask_delete(state),
        Act::Retry => ask_retry(state),
        Act::History => return open_history(state),
        Act::Upgrade => open_upgrade_line(state),
        Act::Help => state.overlay = Some(Overlay::Help { scroll: 0 }),
        Act::Command => open_command(state),
        Act::Quit => quit_or_ask(state),
        _ => {}
    }
    let page = state.list_page() / 2;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    let scroll = |d: &mut DetailView, delta: isize| {
        let i = d.focus.index();
        let max = pane_len(d, d.focus).saturating_sub(1) as isize;
        d.scroll[i] = (d.scroll[i] as isize + delta).clamp(0, max.max(0)) as usize;
    };
    match act {
        Act::Reload => {
            let mut cmds = vec![
                Command::LoadStore {
                    id: d.id,
                    origin: None,
                },
                Command::LoadAudit(d.id),
            ];
            cmds.extend(reload_resources(state));
            return cmds;
        }
        Act::Back => {
            state.screen = Screen::Stores;
            state.keep_cursor_in_view();
            return vec![Command::WatchEvents(None)];
        }
        Act::NextPane => d.focus = Pane::ALL[(d.focus.index() + 1) % 3],
        Act::PrevPane => d.focus = Pane::ALL[(d.focus.index() + 2) % 3],
        Act::Resources => d.focus = Pane::Resources,
        Act::Events => d.focus = Pane::Events,
        Act::Timeline => d.focus = Pane::Timeline,
        Act::Down => scroll(d, 1),
        Act::Up => scroll(d, -1),
        Act::PageDown => scroll(d, page as isize),
        Act::PageUp => scroll(d, -(page as isize)),
        Act::First => scroll(d, isize::MIN / 2),
        Act::Last => scroll(d, isize::MAX / 2),
        Act::ShowError => {
            if d.store.error_message.is_some() {
                state.overlay = Some(Overlay::Error { scroll: 0 });
            } else {
                flash(state, "this store has no error message".into(), false);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn overlay_key(
    state: &mut State,
    overlay: Overlay,
    act: Option<Act>,
    key: KeyEvent,
) -> Vec<Command> {
    match overlay {
        Overlay::Help { scroll } => match act {
            Some(Act::Close) => {}
            Some(Act::Down) => {
                let max = state.help_max_scroll();
                state.overlay = Some(Overlay::Help {
                    scroll: (scroll + 1).min(max),
                })
            }
            Some(Act::Up) => {
                state.overlay = Some(Overlay::Help {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::Help { scroll }),
        },
        Overlay::Error { scroll } => match act {
            Some(Act::Close) => {}
            Some(Act::Down) => {
                let max = state.error_max_scroll();
                state.overlay = Some(Overlay::Error {
                    scroll: (scroll + 1).min(max),
                })
            }
            Some(Act::Up) => {
                state.overlay = Some(Overlay::Error {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::Error { scroll }),
        },
        Overlay::ConfirmQuit { running } => match act {
            Some(Act::Confirm) => state.quit = true,
            Some(Act::Cancel) => {}
            _ => state.overlay = Some(Overlay::ConfirmQuit { running }),
        },
        Overlay::ConfirmRetry { id, name } => match act {
            Some(Act::Confirm) => {
                flash(
                    state,
                    format!("asking the engine to retry \"{name}\"…"),
                    false,
                );
                return vec![Command::Retry { id, name }];
            }
            Some(Act::Cancel) => {}
            _ => state.overlay = Some(Overlay::ConfirmRetry { id, name }),
        },
        Overlay::ConfirmDelete {
            id,
            name,
            mut input,
            mut mismatch,
        } => match act {
            Some(Act::Cancel) => {}
            Some(Act::Confirm) => {
                if input.value() == name {
                    flash(
                        state,
                        format!("asking the engine to delete \"{name}\"…"),
                        false,
                    );
                    return vec![Command::Delete { id, name }];
                }
                state.overlay = Some(Overlay::ConfirmDelete {
                    id,
                    name,
                    input,
                    mismatch: true,
                });
            }
            _ => {
                if input.handle_event(&Event::Key(key)).is_some() {
                    mismatch = false;
                }
                state.overlay = Some(Overlay::ConfirmDelete {
                    id,
                    name,
                    input,
                    mismatch,
                });
            }
        },
        Overlay::Command { mut input, error } => match act {
            Some(Act::Cancel) => {}
            Some(Act::Confirm) => return run_command(state, input.value().trim().to_string()),
            _ => {
                let changed = input.handle_event(&Event::Key(key)).is_some();
                let error = if changed { None } else { error };
                state.overlay = Some(Overlay::Command { input, error });
            }
        },
        Overlay::ConfirmBulk {
            action,
            targets,
            skipped,
            mut input,
            mut mismatch,
        } => match act {
            Some(Act::Cancel) => {}
            Some(Act::Confirm) => {
                if action == Action::Retry || input.value().trim() == targets.len().to_string() {
                    return start_bulk(state, action, targets, skipped);
                }
                state.overlay = Some(Overlay::ConfirmBulk {
                    action,
                    targets,
                    skipped,
                    input,
                    mismatch: true,
                });
            }
            _ => {
                if action == Action::Delete && input.handle_event(&Event::Key(key)).is_some() {
                    mismatch = false;
                }
                state.overlay = Some(Overlay::ConfirmBulk {
                    action,
                    targets,
                    skipped,
                    input,
                    mismatch,
                });
            }
        },
        Overlay::BulkSummary { scroll } => match act {
            Some(Act::Close) => {}
            Some(Act::Down) => state.overlay = Some(Overlay::BulkSummary { scroll: scroll + 1 }),
            Some(Act::Up) => {
                state.overlay = Some(Overlay::BulkSummary {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::BulkSummary { scroll }),
        },
        Overlay::Doctor { report, scroll } => match act {
            Some(Act::Close) => {}
            Some(Act::Down) => {
                state.overlay = Some(Overlay::Doctor {
                    report,
                    scroll: scroll + 1,
                })
            }
            Some(Act::Up) => {
                state.overlay = Some(Overlay::Doctor {
                    report,
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::Doctor { report, scroll }),
        },
        Overlay::Changes {
            which,
            lines,
            scroll,
        } => match act {
            Some(Act::Close) => {}
            Some(Act::Down) => {
                state.overlay = Some(Overlay::Changes {
                    which,
                    lines,
                    scroll: scroll + 1,
                })
            }
            Some(Act::Up) => {
                state.overlay = Some(Overlay::Changes {
                    which,
                    lines,
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => {
                state.overlay = Some(Overlay::Changes {
                    which,
                    lines,
                    scroll,
                })
            }
        },
        Overlay::Create(mut form) => {
            let (close, cmds) = form_key(state, &mut form, act, key);
            if !close {
                state.overlay = Some(Overlay::Create(form));
            }
            return cmds;
        }
    }
    Vec::new()
}

/// Keys of the create form: whether it closes, and what to run.
fn form_key(
    state: &mut State,
    form: &mut CreateForm,
    act: Option<Act>,
    key: KeyEvent,
) -> (bool, Vec<Command>) {
    if act == Some(Act::Cancel) {
        if form.submitting {
            flash(
                state,
                "the create request is already on its way; watch the list".into(),
                false,
            );
        }
        return (true, Vec::new());
    }
    if form.submitting {
        return (false, Vec::new());
    }
    let submit =
        act == Some(Act::Submit) || (act == Some(Act::Enter) && form.focus == FIELD_ENGINE);
    if submit {
        let check = form::check(state, form);
        if let Some(problem) = check.first_problem() {
            form.error = Some(format!("not sent: {problem}"));
            return (false, Vec::new());
        }
        form.submitting = true;
        form.error = None;
        return (false, vec![Command::Create(form::request(form))]);
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
    (false, Vec::new())
}

fn run_command(state: &mut State, line: String) -> Vec<Command> {
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line.as_str(), ""),
    };
    match cmd {
        "q" | "quit" => quit_or_ask(state),
        "q!" | "quit!" => state.quit = true,
        "help" | "h" | "?" => state.overlay = Some(Overlay::Help { scroll: 0 }),
        "create" | "new" => open_create(state),
        "stores" | "s" | "back" => {
            if matches!(state.screen, Screen::Detail(_)) {
                state.screen = Screen::Stores;
                return vec![Command::WatchEvents(None)];
            }
        }
        "reload" => return vec![Command::LoadStores],
        "upgrade" | "set" => {
            let set: Vec<String> = arg.split_whitespace().map(String::from).collect();
            if cmd == "set" && set.is_empty() {
                flash(
                    state,
                    ":set takes key=value pairs, e.g. :set replicas=0".into(),
                    true,
                );
                return Vec::new();
            }
            return ask_change(state, Ok(StoreChange::Upgrade(set)));
        }
        "rollback" => return ask_change(state, parse_rollback(arg)),
        "history" => return open_history(state),
        "fleet" => return open_fleet(state),
        "doctor" => {
            state.overlay = Some(Overlay::Doctor {
                report: Feed::loading(),
                scroll: 0,
            });
            return vec![Command::Doctor];
        }
        "sort" => match SortKey::parse(arg) {
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
        "filter" => {
            state.list.filter = Input::new(arg.to_string());
            state.list.cursor = 0;
            state.list.selected = None;
            state.refresh_visible();
        }
        "" => {}
        other => flash(
            state,
            format!(
                "unknown command \":{other}\"; try :create, :sort name, :filter text, :upgrade key=value, :rollback, :history, :fleet, :doctor, :reload, :help, :q"
            ),
            true,
        ),
    }
    Vec::new()
}

// ------------------------------------------------------------------ bulk

/// Opens the confirmation for a bulk action over the marked stores; the
/// ones it cannot apply to are listed as skipped, with why.
fn ask_bulk(state: &mut State, action: Action) {
    if state.info.read_only {
        flash(
            state,
            format!("read-only mode: {} is disabled", action.verb()),
            true,
        );
        return;
    }
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
    }
}

fn start_bulk(
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
        })
        .collect()
}

/// One answer of a bulk action; the summary opens with the last.
fn bulk_answer(
    state: &mut State,
    id: Uuid,
    name: String,
    result: Result<Store, String>,
) -> Vec<Command> {
    let ok = result.is_ok();
    if let Ok(store) = result.as_ref() {
        state.started_here.insert(id);
        upsert(state, store.clone());
    }
    let Some(b) = state.bulk.as_mut() else {
        return Vec::new();
    };
    b.pending.remove(&id);
    match result {
        Ok(_) => b.accepted.push(name),
        Err(e) => b.refused.push((name, e)),
    }
    let _ = ok;
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

// ------------------------------------------------------------------ logs

fn logs_mut(state: &mut State) -> Option<&mut LogsView> {
    match &mut state.screen {
        Screen::Detail(d) => match &mut d.mode {
            DetailMode::Logs(l) => Some(l),
            _ => None,
        },
        Screen::Stores => None,
    }
}

fn next_seq(state: &mut State) -> u64 {
    let n = state.next_seq;
    state.next_seq += 1;
    n
}

fn open_logs(state: &mut State) -> Vec<Command> {
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

fn on_containers(
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
    // WordPress by default (the store itself), else the first app
    // container: not the setup steps, which are a pick away.
    l.selected = result
        .as_ref()
        .ok()
        .and_then(|cs| {
            cs.iter()
                .position(|c| !c.init && c.container == "wordpress")
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

fn logs_key(state: &mut State, act: Act) -> Vec<Command> {
    match act {
        Act::Help => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            return Vec::new();
        }
        Act::Quit => {
            quit_or_ask(state);
            return Vec::new();
        }
        _ => {}
    }
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

fn log_search_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
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

fn pick_key(state: &mut State, act: Act) -> Vec<Command> {
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

// ------------------------------------------------------------------ wp

fn wp_key(state: &mut State, act: Option<Act>, key: KeyEvent) -> Vec<Command> {
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
