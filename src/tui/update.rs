//! `update`: the one place the console's state changes. Pure: no I/O, no
//! clock, no terminal; it returns the commands the loop should run.

use super::form;
use super::msg::{Action, Command, Msg};
use super::state::{
    CreateForm, DetailView, FIELD_ENGINE, Flash, LinkState, Overlay, Pane, Screen, SortKey, State,
};
use super::{fmt, keys};
use crate::store::Store;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::hash::{DefaultHasher, Hash, Hasher};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
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
            Vec::new()
        }
        Msg::StoreNotified { id, origin } => vec![Command::LoadStore {
            id,
            origin: Some(origin),
        }],
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
                        namespace: d.store.namespace.clone(),
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
            match result {
                Ok(store) => {
                    state.started_here.insert(id);
                    upsert(state, store);
                    let text = match action {
                        Action::Retry => {
                            format!("retry of \"{name}\" accepted: provisioning queued again")
                        }
                        Action::Delete => format!(
                            "delete of \"{name}\" accepted: uninstalling and removing its namespace"
                        ),
                    };
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
        namespace: d.store.namespace.clone(),
    }]
}

fn upsert(state: &mut State, store: Store) {
    if store.status == crate::store::Status::Deleted {
        remove(state, store.id);
        return;
    }
    match state.stores.iter_mut().find(|s| s.id == store.id) {
        Some(slot) => *slot = store,
        None => state.stores.push(store),
    }
    state.refresh_visible();
}

fn remove(state: &mut State, id: Uuid) {
    let before = state.stores.len();
    state.stores.retain(|s| s.id != id);
    if state.stores.len() != before {
        state.refresh_visible();
    }
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

/// Which key table is active: the help overlay and the footer show it.
pub fn context(state: &State) -> keys::Context {
    match &state.overlay {
        Some(Overlay::Help { .. }) => keys::Context::Help,
        Some(Overlay::Create(_)) => keys::Context::Create,
        Some(Overlay::ConfirmRetry { .. }) => keys::Context::ConfirmRetry,
        Some(Overlay::ConfirmDelete { .. }) => keys::Context::ConfirmDelete,
        Some(Overlay::ConfirmQuit { .. }) => keys::Context::ConfirmQuit,
        Some(Overlay::Command { .. }) => keys::Context::Command,
        Some(Overlay::Error { .. }) => keys::Context::Error,
        None => match &state.screen {
            Screen::Stores if state.list.filtering => keys::Context::Filter,
            Screen::Stores => keys::Context::Stores,
            Screen::Detail(_) => keys::Context::Detail,
        },
    }
}

/// The context the help overlay describes: the view under it.
pub fn help_context(state: &State) -> keys::Context {
    match &state.screen {
        Screen::Stores => keys::Context::Stores,
        Screen::Detail(_) => keys::Context::Detail,
    }
}

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

fn plain(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if ctrl(&key, 'c') {
        state.quit = true;
        return Vec::new();
    }
    if let Some(overlay) = state.overlay.take() {
        return overlay_key(state, overlay, key);
    }
    match &state.screen {
        Screen::Stores if state.list.filtering => filter_key(state, key),
        Screen::Stores => stores_key(state, key),
        Screen::Detail(_) => detail_key(state, key),
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

fn stores_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    let page = state.list_page() as isize;
    if ctrl(&key, 'd') {
        return ask_delete(state);
    }
    if ctrl(&key, 'r') {
        flash(state, "reloading stores from the database".into(), false);
        return vec![Command::LoadStores];
    }
    if ctrl(&key, 'f') {
        move_cursor(state, page);
        return Vec::new();
    }
    if ctrl(&key, 'b') {
        move_cursor(state, -page);
        return Vec::new();
    }
    match (key.code, plain(&key)) {
        (KeyCode::Down, _) | (_, Some('j')) => move_cursor(state, 1),
        (KeyCode::Up, _) | (_, Some('k')) => move_cursor(state, -1),
        (KeyCode::PageDown, _) => move_cursor(state, page),
        (KeyCode::PageUp, _) => move_cursor(state, -page),
        (KeyCode::Home, _) | (_, Some('g')) => move_cursor(state, isize::MIN / 2),
        (KeyCode::End, _) | (_, Some('G')) => move_cursor(state, isize::MAX / 2),
        (KeyCode::Enter, _) | (_, Some('d')) => return open_detail(state),
        (KeyCode::Esc, _) if !state.list.filter.value().is_empty() => {
            state.list.filter.reset();
            state.refresh_visible();
        }
        (_, Some('/')) => state.list.filtering = true,
        (_, Some('s')) => {
            state.list.sort = state.list.sort.next();
            state.list.reverse = false;
            state.refresh_visible();
        }
        (_, Some('S')) => {
            state.list.reverse = !state.list.reverse;
            state.refresh_visible();
        }
        (_, Some('c')) => open_create(state),
        (_, Some('r')) => ask_retry(state),
        (_, Some('?')) => state.overlay = Some(Overlay::Help { scroll: 0 }),
        (_, Some(':')) => {
            state.overlay = Some(Overlay::Command {
                input: Input::default(),
                error: None,
            })
        }
        (_, Some('q')) => quit_or_ask(state),
        _ => {}
    }
    Vec::new()
}

fn filter_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            state.list.filtering = false;
            state.list.filter.reset();
            state.refresh_visible();
        }
        KeyCode::Enter => {
            state.list.filtering = false;
            state.keep_cursor_in_view();
        }
        KeyCode::Down => move_cursor(state, 1),
        KeyCode::Up => move_cursor(state, -1),
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
            namespace: d.store.namespace.clone(),
        });
        cmds.push(Command::WatchEvents(Some((
            d.id,
            d.store.namespace.clone(),
        ))));
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
    if !s.can_retry() {
        let text = format!(
            "only Failed stores can be retried; \"{}\" is {}",
            s.name, s.status
        );
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
    if !s.can_delete() {
        let text = format!("\"{}\" is already {}", s.name, s.status);
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

fn detail_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    if ctrl(&key, 'd') {
        return ask_delete(state);
    }
    let page = state.list_page() / 2;
    let Screen::Detail(d) = &mut state.screen else {
        return Vec::new();
    };
    if ctrl(&key, 'r') {
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
    let scroll = |d: &mut DetailView, delta: isize| {
        let i = d.focus.index();
        let max = pane_len(d, d.focus).saturating_sub(1) as isize;
        d.scroll[i] = (d.scroll[i] as isize + delta).clamp(0, max.max(0)) as usize;
    };
    match (key.code, plain(&key)) {
        (KeyCode::Esc, _) | (KeyCode::Backspace, _) => {
            state.screen = Screen::Stores;
            state.keep_cursor_in_view();
            return vec![Command::WatchEvents(None)];
        }
        (KeyCode::Tab, _) => d.focus = Pane::ALL[(d.focus.index() + 1) % 3],
        (KeyCode::BackTab, _) => d.focus = Pane::ALL[(d.focus.index() + 2) % 3],
        (_, Some('1')) => d.focus = Pane::Resources,
        (_, Some('2')) | (_, Some('e')) => d.focus = Pane::Events,
        (_, Some('3')) | (_, Some('t')) => d.focus = Pane::Timeline,
        (KeyCode::Down, _) | (_, Some('j')) => scroll(d, 1),
        (KeyCode::Up, _) | (_, Some('k')) => scroll(d, -1),
        (KeyCode::PageDown, _) => scroll(d, page as isize),
        (KeyCode::PageUp, _) => scroll(d, -(page as isize)),
        (KeyCode::Home, _) | (_, Some('g')) => scroll(d, isize::MIN / 2),
        (KeyCode::End, _) | (_, Some('G')) => scroll(d, isize::MAX / 2),
        (_, Some('x')) => {
            if d.store.error_message.is_some() {
                state.overlay = Some(Overlay::Error { scroll: 0 });
            } else {
                flash(state, "this store has no error message".into(), false);
            }
        }
        (_, Some('r')) => ask_retry(state),
        (_, Some('?')) => state.overlay = Some(Overlay::Help { scroll: 0 }),
        (_, Some(':')) => {
            state.overlay = Some(Overlay::Command {
                input: Input::default(),
                error: None,
            })
        }
        (_, Some('q')) => quit_or_ask(state),
        _ => {}
    }
    Vec::new()
}

fn overlay_key(state: &mut State, overlay: Overlay, key: KeyEvent) -> Vec<Command> {
    let ch = plain(&key);
    match overlay {
        Overlay::Help { scroll } => match (key.code, ch) {
            (KeyCode::Esc, _) | (_, Some('?')) | (_, Some('q')) => {}
            (KeyCode::Down, _) | (_, Some('j')) => {
                let max = super::view::overlays::help_max_scroll(state);
                state.overlay = Some(Overlay::Help {
                    scroll: (scroll + 1).min(max),
                })
            }
            (KeyCode::Up, _) | (_, Some('k')) => {
                state.overlay = Some(Overlay::Help {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::Help { scroll }),
        },
        Overlay::Error { scroll } => match (key.code, ch) {
            (KeyCode::Esc, _) | (_, Some('x')) | (_, Some('q')) => {}
            (KeyCode::Down, _) | (_, Some('j')) => {
                state.overlay = Some(Overlay::Error { scroll: scroll + 1 })
            }
            (KeyCode::Up, _) | (_, Some('k')) => {
                state.overlay = Some(Overlay::Error {
                    scroll: scroll.saturating_sub(1),
                })
            }
            _ => state.overlay = Some(Overlay::Error { scroll }),
        },
        Overlay::ConfirmQuit { running } => match (key.code, ch) {
            (KeyCode::Enter, _) | (_, Some('y')) | (_, Some('q')) => state.quit = true,
            (KeyCode::Esc, _) | (_, Some('n')) => {}
            _ => state.overlay = Some(Overlay::ConfirmQuit { running }),
        },
        Overlay::ConfirmRetry { id, name } => match (key.code, ch) {
            (KeyCode::Enter, _) | (_, Some('y')) => {
                flash(
                    state,
                    format!("asking the engine to retry \"{name}\"…"),
                    false,
                );
                return vec![Command::Retry { id, name }];
            }
            (KeyCode::Esc, _) | (_, Some('n')) => {}
            _ => state.overlay = Some(Overlay::ConfirmRetry { id, name }),
        },
        Overlay::ConfirmDelete {
            id,
            name,
            mut input,
            mut mismatch,
        } => match key.code {
            KeyCode::Esc => {}
            KeyCode::Enter => {
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
        Overlay::Command { mut input, error } => match key.code {
            KeyCode::Esc => {}
            KeyCode::Enter => return run_command(state, input.value().trim().to_string()),
            _ => {
                let changed = input.handle_event(&Event::Key(key)).is_some();
                let error = if changed { None } else { error };
                state.overlay = Some(Overlay::Command { input, error });
            }
        },
        Overlay::Create(mut form) => {
            let (close, cmds) = form_key(state, &mut form, key);
            if !close {
                state.overlay = Some(Overlay::Create(form));
            }
            return cmds;
        }
    }
    Vec::new()
}

/// Keys of the create form: whether it closes, and what to run.
fn form_key(state: &mut State, form: &mut CreateForm, key: KeyEvent) -> (bool, Vec<Command>) {
    if key.code == KeyCode::Esc {
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
    if ctrl(&key, 's') || (key.code == KeyCode::Enter && form.focus == FIELD_ENGINE) {
        let check = form::check(state, form);
        if let Some(problem) = check.first_problem() {
            form.error = Some(format!("not sent: {problem}"));
            return (false, Vec::new());
        }
        form.submitting = true;
        form.error = None;
        return (false, vec![Command::Create(form::request(form))]);
    }
    match key.code {
        KeyCode::Tab | KeyCode::Down | KeyCode::Enter => form.focus = (form.focus + 1) % 3,
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + 2) % 3,
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
                "unknown command \":{other}\"; try :create, :sort name, :filter text, :reload, :help, :q"
            ),
            true,
        ),
    }
    Vec::new()
}
