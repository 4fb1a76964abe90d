//! Messages that are not keys: the database and the cluster watch coming
//! and going, data a command loaded, and the answers to requests.

use super::{backups, bulk, detail, drills, flash, logs, select};
use crate::cluster::health::Health;
use crate::cluster::view::Connection;
use crate::store::{Phase, Status, Store, lifecycle};
use crate::tui::msg::{Action, Command, Msg};
use crate::tui::state::{LinkState, Overlay, Screen, State};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

pub(super) fn on_msg(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
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
                cmds.push(Command::LoadBackups(d.id));
            }
            cmds
        }
        Msg::DbDown { at, error } => {
            state.db.set(LinkState::Down, at, Some(error));
            Vec::new()
        }
        Msg::StoresLoaded { at, result } => stores_loaded(state, at, result),
        Msg::StoreLoaded { id, result, .. } => store_loaded(state, id, result),
        Msg::Cluster(conn) => cluster(state, conn),
        Msg::ClusterUnavailable(error) => {
            let at = state.now;
            state.cluster.set(LinkState::Unavailable, at, Some(error));
            Vec::new()
        }
        Msg::Health { id, health, .. } => {
            state.health.insert(id, health);
            match state.detail() {
                Some(d) if d.id == id => detail::reload_resources(state),
                _ => Vec::new(),
            }
        }
        Msg::HealthAll(all) => health_all(state, all),
        Msg::Resources { .. }
        | Msg::Events { .. }
        | Msg::Audit { .. }
        | Msg::Backups { .. }
        | Msg::Schedule { .. } => detail::on_loaded(state, msg),
        Msg::Drills { id, result } => {
            drills::on_drills(state, id, result);
            Vec::new()
        }
        Msg::DrillQueued { id, name, result } => drills::on_drill_queued(state, id, name, result),
        Msg::ScheduleSet { id, name, result } => drills::on_schedule_set(state, id, name, result),
        Msg::Cloned { source, result } => drills::on_cloned(state, source, result),
        Msg::NewestGood { result, .. } => {
            backups::on_good(state, result);
            Vec::new()
        }
        Msg::Deleted(result) => {
            backups::on_deleted(state, result);
            Vec::new()
        }
        Msg::Created(result) => created(state, result),
        Msg::Acted {
            action,
            id,
            name,
            result,
        } => acted(state, action, id, name, result),
        Msg::Signal(_) => {
            state.quit = true;
            Vec::new()
        }
        Msg::Containers { id, result } => logs::on_containers(state, id, result),
        Msg::LogLines { .. } | Msg::LogEnded { .. } => logs::on_stream(state, msg),
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
        // Handled by the router.
        Msg::Key(_) | Msg::Tick(_) | Msg::StoreNotified { .. } | Msg::WorkersBusy(_) => Vec::new(),
    }
}

fn stores_loaded(
    state: &mut State,
    at: DateTime<Utc>,
    result: Result<Vec<Store>, String>,
) -> Vec<Command> {
    match result {
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
            // The first list (and each reload) brings the backups' ages.
            return backups::load_good(state);
        }
        Err(error) => {
            state.db.set(LinkState::Down, at, Some(error));
        }
    }
    Vec::new()
}

fn store_loaded(
    state: &mut State,
    id: Uuid,
    result: Result<Option<Store>, String>,
) -> Vec<Command> {
    let found = match result {
        Ok(found) => found,
        Err(error) => {
            let at = state.now;
            state.db.set(LinkState::Down, at, Some(error));
            // The reload after the database comes back catches it up.
            state.loading.remove(&id);
            state.load_again.remove(&id);
            return Vec::new();
        }
    };
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
        // A backup or a restore starting or ending changes the store's
        // phase or status: its backups are read again with the timeline.
        cmds.push(Command::LoadAudit(id));
        cmds.push(Command::LoadBackups(id));
    }
    // The throwaway store of the open store's drill moved: so did the drill.
    cmds.extend(drills::on_store_changed(state, id));
    // A backup or a restore ended: the fleet's newest good backups again.
    let ended = |s: &Store| s.phase == Phase::BackingUp || s.status == Status::Restoring;
    if state.store(id).is_some_and(ended) && !found.as_ref().is_some_and(ended) {
        cmds.extend(backups::load_good(state));
    }
    match found {
        Some(s) => state.upsert_store(s),
        None => state.remove_store(id),
    }
    cmds
}

fn cluster(state: &mut State, conn: Connection) -> Vec<Command> {
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
        return detail::reload_resources(state);
    }
    Vec::new()
}

/// The connection watch starts with the placeholder error "connecting".
fn has_real_error(e: &Option<String>) -> bool {
    e.as_deref()
        .is_some_and(|e| e != "connecting" && !e.ends_with(": connecting"))
}

fn health_all(state: &mut State, all: HashMap<Uuid, Health>) -> Vec<Command> {
    state.health = all;
    detail::reload_resources(state)
}

fn created(state: &mut State, result: Result<Store, String>) -> Vec<Command> {
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
            state.upsert_store(store);
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

fn acted(
    state: &mut State,
    action: Action,
    id: Uuid,
    name: String,
    result: Result<Store, String>,
) -> Vec<Command> {
    if state.bulk.as_ref().is_some_and(|b| b.pending.contains(&id)) {
        return bulk::answer(state, id, name, result);
    }
    match result {
        Ok(store) => {
            state.started_here.insert(id);
            // What was queued follows from the status the store has now: a
            // retried delete is Deleting, not Provisioning.
            let next =
                lifecycle::accepted(action.request(), store.status).map_or("queued", |t| t.next());
            state.upsert_store(store);
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
