//! `update` without a terminal: every key of every view, and every message.

use super::msg::{Action, Command, Msg};
use super::state::{
    FIELD_ENGINE, FIELD_NAME, FIELD_OWNER, Info, LinkState, Overlay, Pane, Screen, SortKey, State,
};
use super::update::{clock_signature, update};
use crate::cluster::detail::{EventLine, Resource};
use crate::cluster::health::{Health, HealthState};
use crate::cluster::view::Connection;
use crate::db::audit::Entry;
use crate::store::{Phase, Status, Store};
use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::time::Instant;
use uuid::Uuid;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap()
}

pub(crate) fn store(n: u128, name: &str, owner: &str, status: Status, age_secs: i64) -> Store {
    let created = t0() - Duration::seconds(age_secs);
    let slug = crate::store::slugify(name);
    let ready = status == Status::Ready;
    Store {
        id: Uuid::from_u128(n),
        name: name.into(),
        namespace: format!("store-{slug}"),
        owner: owner.into(),
        engine: crate::store::EngineKind::Woocommerce,
        status,
        phase: match status {
            Status::Provisioning => Phase::Installing,
            Status::Deleting => Phase::Uninstalling,
            _ => Phase::Done,
        },
        namespace_uid: None,
        url: format!("http://{slug}.localhost"),
        error_message: (status == Status::Failed)
            .then(|| "helm install failed: timed out waiting for the condition; pod web: ImagePullBackOff".to_string()),
        attempts: 1,
        created_at: created,
        updated_at: created,
        provision_started_at: Some(created + Duration::seconds(1)),
        ready_at: ready.then(|| created + Duration::seconds(95)),
        deleted_at: None,
        chart_version: None,
        helm_revision: None,
        settings: Default::default(),
    }
}

pub(crate) fn sample_stores() -> Vec<Store> {
    vec![
        store(
            1,
            "Acme Shoes",
            "ann@example.com",
            Status::Ready,
            3 * 86_400,
        ),
        store(2, "Bolt Bikes", "bob@example.com", Status::Provisioning, 42),
        store(3, "Cora Cafe", "ann@example.com", Status::Failed, 2 * 3600),
        store(4, "Dune Books", "dan@example.com", Status::Deleting, 600),
        store(5, "Echo Audio", "eve@example.com", Status::Ready, 45 * 60),
    ]
}

pub(crate) fn new_state(info: Info, size: (u16, u16)) -> State {
    State::new(info, t0(), FixedOffset::east_opt(0).unwrap(), size)
}

pub(crate) fn loaded(stores: Vec<Store>) -> State {
    let mut s = new_state(Info::example(), (120, 40));
    update(&mut s, Msg::DbUp(t0()));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(stores),
        },
    );
    s
}

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

// ---------------------------------------------------------------- stores view

#[test]
fn default_sort_is_youngest_first_and_first_row_selected() {
    let s = loaded(sample_stores());
    assert_eq!(
        names(&s),
        [
            "Bolt Bikes",
            "Dune Books",
            "Echo Audio",
            "Cora Cafe",
            "Acme Shoes"
        ]
    );
    assert_eq!(selected_name(&s), "Bolt Bikes");
    assert!(s.loaded && s.db.is_up());
}

#[test]
fn movement_keys() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('j'));
    assert_eq!(selected_name(&s), "Dune Books");
    update(&mut s, k(KeyCode::Down));
    assert_eq!(selected_name(&s), "Echo Audio");
    update(&mut s, c('k'));
    update(&mut s, k(KeyCode::Up));
    assert_eq!(selected_name(&s), "Bolt Bikes");
    update(&mut s, k(KeyCode::Up));
    assert_eq!(selected_name(&s), "Bolt Bikes", "stops at the top");
    update(&mut s, c('G'));
    assert_eq!(selected_name(&s), "Acme Shoes");
    update(&mut s, c('j'));
    assert_eq!(selected_name(&s), "Acme Shoes", "stops at the bottom");
    update(&mut s, c('g'));
    assert_eq!(selected_name(&s), "Bolt Bikes");
    update(&mut s, k(KeyCode::End));
    assert_eq!(selected_name(&s), "Acme Shoes");
    update(&mut s, k(KeyCode::Home));
    assert_eq!(selected_name(&s), "Bolt Bikes");
    update(&mut s, k(KeyCode::PageDown));
    assert_eq!(selected_name(&s), "Acme Shoes");
    update(&mut s, k(KeyCode::PageUp));
    assert_eq!(selected_name(&s), "Bolt Bikes");
    update(&mut s, ctrl('f'));
    assert_eq!(selected_name(&s), "Acme Shoes");
    update(&mut s, ctrl('b'));
    assert_eq!(selected_name(&s), "Bolt Bikes");
}

#[test]
fn paging_keeps_the_cursor_on_screen() {
    let stores: Vec<Store> = (0..100)
        .map(|i| {
            store(
                i,
                &format!("Shop {i:03}"),
                "ann",
                Status::Ready,
                i as i64 * 10,
            )
        })
        .collect();
    let mut s = loaded(stores);
    s.size = (80, 24);
    let page = s.list_page();
    assert_eq!(page, 24 - 6);
    update(&mut s, k(KeyCode::PageDown));
    assert_eq!(s.list.cursor, page);
    assert!(s.list.offset <= s.list.cursor && s.list.cursor < s.list.offset + page);
    update(&mut s, c('G'));
    assert_eq!(s.list.cursor, 99);
    assert_eq!(s.list.offset, 100 - page);
    update(&mut s, c('g'));
    assert_eq!((s.list.cursor, s.list.offset), (0, 0));
}

#[test]
fn selection_follows_the_store_through_reloads_and_sorts() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('j'));
    assert_eq!(selected_name(&s), "Dune Books");
    // Another store appears at the top: the selection stays on Dune Books.
    let mut more = sample_stores();
    more.push(store(6, "Fern Flowers", "fay", Status::Provisioning, 1));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(more),
        },
    );
    assert_eq!(selected_name(&s), "Dune Books");
    update(&mut s, c('s'));
    assert_eq!(s.list.sort, SortKey::Name);
    assert_eq!(selected_name(&s), "Dune Books");
}

#[test]
fn sort_cycles_and_reverses() {
    let mut s = loaded(sample_stores());
    let mut seen = vec![s.list.sort];
    for _ in 0..5 {
        update(&mut s, c('s'));
        seen.push(s.list.sort);
    }
    assert_eq!(
        seen,
        [
            SortKey::Age,
            SortKey::Name,
            SortKey::Owner,
            SortKey::Status,
            SortKey::Took,
            SortKey::Age
        ]
    );
    update(&mut s, c('s'));
    assert_eq!(names(&s)[0], "Acme Shoes");
    update(&mut s, c('S'));
    assert!(s.list.reverse);
    assert_eq!(names(&s)[0], "Echo Audio");
    update(&mut s, c('s'));
    assert_eq!(s.list.sort, SortKey::Owner);
    assert!(!s.list.reverse, "a new sort key starts ascending");
    update(&mut s, c('s'));
    assert_eq!(
        names(&s)[0],
        "Bolt Bikes",
        "status order: Provisioning first"
    );
    update(&mut s, c('s'));
    // Took: quickest first, never-ready last.
    let took = names(&s);
    assert!(
        took[..2].contains(&"Acme Shoes".to_string())
            && took[..2].contains(&"Echo Audio".to_string())
    );
}

#[test]
fn filter_keys() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('/'));
    assert!(s.list.filtering);
    typed(&mut s, "ann");
    assert_eq!(names(&s), ["Cora Cafe", "Acme Shoes"]);
    update(&mut s, k(KeyCode::Backspace));
    update(&mut s, k(KeyCode::Backspace));
    update(&mut s, k(KeyCode::Backspace));
    assert_eq!(names(&s).len(), 5);
    typed(&mut s, "FAILED");
    assert_eq!(
        names(&s),
        ["Cora Cafe"],
        "matches the status, case-insensitively"
    );
    // Typing 'q', 'c' or 'j' goes into the filter, not to the commands.
    update(&mut s, k(KeyCode::Backspace));
    typed(&mut s, "q");
    assert!(!s.quit && s.list.filter.value() == "FAILEq");
    s.list.filter = tui_input::Input::new(String::new());
    typed(&mut s, "o");
    update(&mut s, k(KeyCode::Down));
    assert_eq!(s.list.cursor, 1, "arrows move while filtering");
    update(&mut s, k(KeyCode::Up));
    assert_eq!(s.list.cursor, 0);
    update(&mut s, k(KeyCode::Enter));
    assert!(!s.list.filtering);
    assert_eq!(s.list.filter.value(), "o", "enter keeps the filter");
    update(&mut s, k(KeyCode::Esc));
    assert_eq!(
        s.list.filter.value(),
        "",
        "esc in the list clears the filter"
    );
    assert_eq!(names(&s).len(), 5);
    update(&mut s, c('/'));
    typed(&mut s, "zzz");
    assert!(names(&s).is_empty());
    update(&mut s, k(KeyCode::Esc));
    assert!(!s.list.filtering && s.list.filter.value().is_empty() && names(&s).len() == 5);
}

#[test]
fn enter_and_d_open_the_detail_with_its_commands() {
    for key in [k(KeyCode::Enter), c('d')] {
        let mut s = loaded(sample_stores());
        update(
            &mut s,
            Msg::Cluster(Connection {
                connected: true,
                since: t0(),
                error: None,
            }),
        );
        let cmds = update(&mut s, key);
        let d = s.detail().expect("detail open");
        assert_eq!(d.store.name, "Bolt Bikes");
        assert!(
            cmds.iter()
                .any(|c| matches!(c, Command::LoadAudit(id) if *id == d.id))
        );
        assert!(cmds.iter().any(|c| matches!(c, Command::LoadResources { namespace, .. } if namespace.name == "store-bolt-bikes")));
        assert!(cmds.iter().any(
            |c| matches!(c, Command::WatchEvents(Some((_, ns))) if ns.name == "store-bolt-bikes")
        ));
    }
    // Nothing to open in an empty list.
    let mut s = loaded(Vec::new());
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(s.detail().is_none());
}

#[test]
fn detail_without_a_cluster_says_so_instead_of_loading() {
    let mut s = loaded(sample_stores());
    update(&mut s, Msg::ClusterUnavailable("no kubeconfig".into()));
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(cmds.iter().all(|c| matches!(c, Command::LoadAudit(_))));
    let d = s.detail().unwrap();
    assert_eq!(d.resources.error.as_deref(), Some("no cluster connection"));
}

#[test]
fn c_opens_the_form_unless_read_only() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    let Some(Overlay::Create(f)) = &s.overlay else {
        panic!("form expected")
    };
    assert_eq!(
        f.value(FIELD_OWNER),
        "operator",
        "owner defaults to the local user"
    );
    assert_eq!(f.value(FIELD_ENGINE), "woocommerce");

    let mut info = Info::example();
    info.read_only = true;
    let mut s = new_state(info, (80, 24));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    update(&mut s, c('c'));
    assert!(s.overlay.is_none());
    assert!(is_flash_error(&s, "read-only"));
}

#[test]
fn r_asks_to_retry_only_failed_stores() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('r'));
    assert!(s.overlay.is_none());
    assert!(is_flash_error(
        &s,
        "\"Bolt Bikes\" is Provisioning; only Failed stores can be retried"
    ));
    update(&mut s, c('/'));
    typed(&mut s, "cora");
    update(&mut s, k(KeyCode::Enter));
    update(&mut s, c('r'));
    assert!(matches!(&s.overlay, Some(Overlay::ConfirmRetry { name, .. }) if name == "Cora Cafe"));
}

#[test]
fn ctrl_d_asks_to_delete_unless_already_deleting() {
    let mut s = loaded(sample_stores());
    update(&mut s, ctrl('d'));
    assert!(
        matches!(&s.overlay, Some(Overlay::ConfirmDelete { name, .. }) if name == "Bolt Bikes")
    );
    let mut s = loaded(sample_stores());
    update(&mut s, c('j'));
    assert_eq!(selected_name(&s), "Dune Books");
    update(&mut s, ctrl('d'));
    assert!(s.overlay.is_none());
    assert!(is_flash_error(
        &s,
        "\"Dune Books\" is Deleting; it is already being deleted"
    ));
    // Nothing selected.
    let mut s = loaded(Vec::new());
    update(&mut s, ctrl('d'));
    update(&mut s, c('r'));
    assert!(s.overlay.is_none() && is_flash_error(&s, "no store selected"));
}

#[test]
fn read_only_refuses_every_write_key() {
    let mut info = Info::example();
    info.read_only = true;
    let mut s = new_state(info, (120, 40));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    for key in [c('c'), c('r'), ctrl('d')] {
        s.flash = None;
        assert!(update(&mut s, key).is_empty());
        assert!(s.overlay.is_none());
        assert!(is_flash_error(&s, "read-only"));
    }
    update(&mut s, k(KeyCode::Enter));
    for key in [c('r'), ctrl('d')] {
        update(&mut s, key);
        assert!(s.overlay.is_none());
    }
    // ...and `:create` too.
    update(&mut s, c(':'));
    typed(&mut s, "create");
    update(&mut s, k(KeyCode::Enter));
    assert!(s.overlay.is_none());
}

#[test]
fn help_command_reload_quit_and_unknown_keys() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('?'));
    assert!(matches!(s.overlay, Some(Overlay::Help { scroll: 0 })));
    update(&mut s, k(KeyCode::Esc));
    update(&mut s, c(':'));
    assert!(matches!(s.overlay, Some(Overlay::Command { .. })));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
    let cmds = update(&mut s, ctrl('r'));
    assert!(matches!(cmds[..], [Command::LoadStores]));
    let before = (s.list.cursor, s.overlay.is_none(), s.quit);
    assert!(update(&mut s, c('z')).is_empty());
    assert!(update(&mut s, k(KeyCode::F(5))).is_empty());
    assert_eq!(before, (s.list.cursor, s.overlay.is_none(), s.quit));
    update(&mut s, c('q'));
    assert!(s.quit, "nothing started here is running: q quits at once");
}

#[test]
fn key_releases_are_ignored() {
    let mut s = loaded(sample_stores());
    let mut ev = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    ev.kind = KeyEventKind::Release;
    update(&mut s, Msg::Key(ev));
    assert!(!s.quit);
}

#[test]
fn q_asks_when_an_operation_started_here_still_runs() {
    let mut s = loaded(sample_stores());
    let mut created = store(9, "New One", "operator", Status::Provisioning, 0);
    created.phase = Phase::Queued;
    update(&mut s, Msg::Created(Ok(created.clone())));
    update(&mut s, c('q'));
    assert!(!s.quit);
    assert!(matches!(
        s.overlay,
        Some(Overlay::ConfirmQuit { running: 1 })
    ));
    for stay in [k(KeyCode::Esc), c('n')] {
        update(&mut s, stay);
        assert!(s.overlay.is_none() && !s.quit);
        update(&mut s, c('q'));
    }
    update(&mut s, c('x'));
    assert!(
        matches!(s.overlay, Some(Overlay::ConfirmQuit { .. })),
        "other keys keep the question"
    );
    for yes in [c('y'), c('q'), k(KeyCode::Enter)] {
        let mut s2 = loaded(sample_stores());
        update(&mut s2, Msg::Created(Ok(created.clone())));
        update(&mut s2, c('q'));
        update(&mut s2, yes);
        assert!(s2.quit);
    }
    // Once it is Ready, q quits without asking.
    created.status = Status::Ready;
    update(&mut s, k(KeyCode::Esc));
    update(
        &mut s,
        Msg::StoreLoaded {
            id: created.id,
            result: Ok(Some(created)),
            origin: None,
        },
    );
    update(&mut s, c('q'));
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    update(&mut s, ctrl('c'));
    assert!(s.quit);
}

// ---------------------------------------------------------------- create form

fn form(s: &State) -> &super::state::CreateForm {
    match &s.overlay {
        Some(Overlay::Create(f)) => f,
        _ => panic!("form expected, got {:?}", s.overlay),
    }
}

#[test]
fn form_fields_navigation_and_editing() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    assert_eq!(form(&s).value(FIELD_NAME), "Gala Gifts");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(form(&s).focus, FIELD_OWNER);
    update(&mut s, ctrl('u'));
    typed(&mut s, "gus@example.com");
    assert_eq!(form(&s).value(FIELD_OWNER), "gus@example.com");
    update(&mut s, k(KeyCode::Down));
    assert_eq!(form(&s).focus, FIELD_ENGINE);
    update(&mut s, k(KeyCode::Down));
    assert_eq!(form(&s).focus, FIELD_NAME, "wraps around");
    update(&mut s, k(KeyCode::BackTab));
    assert_eq!(form(&s).focus, FIELD_ENGINE);
    update(&mut s, k(KeyCode::Up));
    assert_eq!(form(&s).focus, FIELD_OWNER);
    update(&mut s, k(KeyCode::Enter));
    assert_eq!(
        form(&s).focus,
        FIELD_ENGINE,
        "enter moves on until the last field"
    );
    // 'q' and 'j' are text here.
    update(&mut s, k(KeyCode::BackTab));
    update(&mut s, k(KeyCode::BackTab));
    typed(&mut s, "q");
    assert!(!s.quit);
    assert_eq!(form(&s).value(FIELD_NAME), "Gala Giftsq");
    update(&mut s, k(KeyCode::Backspace));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
}

#[test]
fn form_validates_as_you_type_with_the_engine_rules() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    let check = super::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_NAME]
            .as_deref()
            .unwrap()
            .contains("the store name is empty")
    );
    typed(&mut s, "X");
    let check = super::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_NAME]
            .as_deref()
            .unwrap()
            .contains("too short"),
        "{check:?}"
    );
    typed(&mut s, "ylo");
    let check = super::form::check(&s, form(&s));
    assert!(check.ok(), "{check:?}");
    assert_eq!(
        check.preview,
        Some(("store-xylo".into(), "http://xylo.localhost".into()))
    );
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "medusa");
    let check = super::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_ENGINE]
            .as_deref()
            .unwrap()
            .contains("not available yet")
    );
    // Submitting refuses and says why.
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(
        form(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("not sent: engine `medusa` is not available yet")
    );
    // Editing clears the refusal.
    update(&mut s, k(KeyCode::Backspace));
    assert!(form(&s).error.is_none());
}

#[test]
fn form_knows_names_in_use_and_limits_before_submitting() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "acme shoes");
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "ANN@example.com");
    let check = super::form::check(&s, form(&s));
    assert_eq!(
        check.fields[FIELD_NAME].as_deref(),
        Some(
            "a store named \"acme shoes\" already exists for ann@example.com; choose another name"
        )
    );
    // Per-user limit: ann has 2; with a limit of 2 the next one is refused.
    s.info.max_stores_per_user = 2;
    update(&mut s, k(KeyCode::BackTab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "Third Shop");
    let check = super::form::check(&s, form(&s));
    assert_eq!(
        check.limit.as_deref(),
        Some(
            "limit reached: MAX_STORES_PER_USER is 2; ann@example.com already has 2 stores; delete one first"
        )
    );
    assert!(update(&mut s, ctrl('s')).is_empty());
    assert!(
        form(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("MAX_STORES_PER_USER")
    );
    // Global limit.
    s.info.max_stores = 5;
    let check = super::form::check(&s, form(&s));
    assert!(
        check
            .limit
            .as_deref()
            .unwrap()
            .starts_with("limit reached: MAX_STORES is 5")
    );
    // Concurrency is a note, not a refusal.
    s.info.max_stores = 100;
    s.info.max_stores_per_user = 5;
    s.info.max_concurrent = 1;
    let check = super::form::check(&s, form(&s));
    assert!(check.ok());
    assert!(
        check
            .note
            .as_deref()
            .unwrap()
            .contains("MAX_CONCURRENT_PROVISIONS is 1")
    );
    // A store past helm, waiting for Ready, holds no slot: no note.
    for st in s.stores.iter_mut() {
        if st.phase == Phase::Installing {
            st.phase = Phase::WaitingForReady;
        }
    }
    let check = super::form::check(&s, form(&s));
    assert!(check.ok());
    let note = check.note.unwrap_or_default();
    assert!(!note.contains("MAX_CONCURRENT"), "{note}");
}

#[test]
fn form_submits_once_and_handles_the_answer() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, k(KeyCode::Tab));
    let cmds = update(&mut s, k(KeyCode::Enter));
    let [Command::Create(req)] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (req.name.as_str(), req.owner.as_str(), req.engine.as_str()),
        ("Gala Gifts", "operator", "woocommerce")
    );
    let key = req.idempotency_key.clone().expect("an idempotency key");
    assert!(form(&s).submitting);
    // Keys are ignored while the request is on its way.
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(update(&mut s, ctrl('s')).is_empty());
    typed(&mut s, "zz");
    assert_eq!(form(&s).value(FIELD_ENGINE), "woocommerce");
    // A refusal keeps the form open with the engine's message.
    update(
        &mut s,
        Msg::Created(Err("limit reached: MAX_STORES is 5; 5 stores exist".into())),
    );
    assert!(!form(&s).submitting);
    assert!(form(&s).error.as_deref().unwrap().contains("MAX_STORES"));
    // Resubmitting reuses the key: the engine creates one store at most.
    let cmds = update(&mut s, ctrl('s'));
    let [Command::Create(req2)] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(req2.idempotency_key.as_deref(), Some(key.as_str()));
    let created = store(7, "Gala Gifts", "operator", Status::Provisioning, 0);
    update(&mut s, Msg::Created(Ok(created)));
    assert!(s.overlay.is_none());
    assert_eq!(selected_name(&s), "Gala Gifts");
    assert!(s.started_here.contains(&Uuid::from_u128(7)));
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("provisioning queued")
    );
}

#[test]
fn esc_while_submitting_closes_and_the_answer_becomes_a_flash() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    update(&mut s, ctrl('s'));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
    update(
        &mut s,
        Msg::Created(Err("database error: pool timed out".into())),
    );
    assert!(is_flash_error(&s, "create failed: database error"));
}

// ---------------------------------------------------------------- confirmations

#[test]
fn retry_confirmation_keys() {
    let open = || {
        let mut s = loaded(sample_stores());
        update(&mut s, c('/'));
        typed(&mut s, "cora");
        update(&mut s, k(KeyCode::Enter));
        update(&mut s, c('r'));
        s
    };
    for yes in [c('y'), k(KeyCode::Enter)] {
        let mut s = open();
        let cmds = update(&mut s, yes);
        assert!(
            matches!(&cmds[..], [Command::Retry { id, name }] if *id == Uuid::from_u128(3) && name == "Cora Cafe")
        );
        assert!(s.overlay.is_none());
    }
    for no in [c('n'), k(KeyCode::Esc)] {
        let mut s = open();
        assert!(update(&mut s, no).is_empty());
        assert!(s.overlay.is_none());
    }
    let mut s = open();
    assert!(update(&mut s, c('x')).is_empty());
    assert!(matches!(s.overlay, Some(Overlay::ConfirmRetry { .. })));
}

#[test]
fn delete_needs_the_exact_name() {
    let mut s = loaded(sample_stores());
    update(&mut s, ctrl('d'));
    // y, enter and a wrong name do nothing destructive.
    for key in [c('y'), k(KeyCode::Enter)] {
        assert!(update(&mut s, key).is_empty());
    }
    assert!(matches!(
        s.overlay,
        Some(Overlay::ConfirmDelete { mismatch: true, .. })
    ));
    update(&mut s, k(KeyCode::Backspace));
    assert!(
        matches!(
            s.overlay,
            Some(Overlay::ConfirmDelete {
                mismatch: false,
                ..
            })
        ),
        "editing clears the mark"
    );
    typed(&mut s, "bolt bikes");
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty(), "case matters");
    for _ in 0.."bolt bikes".len() {
        update(&mut s, k(KeyCode::Backspace));
    }
    typed(&mut s, "Bolt Bikes");
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(matches!(&cmds[..], [Command::Delete { name, .. }] if name == "Bolt Bikes"));
    assert!(s.overlay.is_none());
    // esc cancels.
    update(&mut s, ctrl('d'));
    typed(&mut s, "Bolt");
    assert!(update(&mut s, k(KeyCode::Esc)).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn action_results_flash_and_remember_what_started_here() {
    let mut s = loaded(sample_stores());
    let mut deleting = store(2, "Bolt Bikes", "bob@example.com", Status::Deleting, 42);
    deleting.phase = Phase::Queued;
    update(
        &mut s,
        Msg::Acted {
            action: Action::Delete,
            id: deleting.id,
            name: "Bolt Bikes".into(),
            result: Ok(deleting),
        },
    );
    assert_eq!(
        s.store(Uuid::from_u128(2)).unwrap().status,
        Status::Deleting
    );
    assert!(s.started_here.contains(&Uuid::from_u128(2)));
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("delete of \"Bolt Bikes\" accepted")
    );
    update(&mut s, Msg::Acted {
        action: Action::Retry,
        id: Uuid::from_u128(3),
        name: "Cora Cafe".into(),
        result: Err("cannot retry store \"Cora Cafe\" while it is Ready; only Failed stores can be retried".into()),
    });
    assert!(is_flash_error(
        &s,
        "retry of \"Cora Cafe\" failed: cannot retry"
    ));
    assert!(!s.started_here.contains(&Uuid::from_u128(3)));
}

/// A retried delete is a delete: the console says so, and its refusals use
/// the lifecycle's words, which name failed deletes too.
#[test]
fn a_retried_delete_is_called_a_delete_and_refusals_give_the_rule() {
    let mut stores = sample_stores();
    stores.push(store(
        6,
        "Fig Foods",
        "fay@example.com",
        Status::DeleteFailed,
        900,
    ));
    stores.push(store(
        7,
        "Gus Games",
        "gus@example.com",
        Status::DeleteFailed,
        950,
    ));
    let mut s = loaded(stores);
    let mut deleting = store(6, "Fig Foods", "fay@example.com", Status::Deleting, 900);
    deleting.phase = Phase::Queued;
    update(
        &mut s,
        Msg::Acted {
            action: Action::Retry,
            id: deleting.id,
            name: "Fig Foods".into(),
            result: Ok(deleting),
        },
    );
    let text = s.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default();
    assert!(!text.contains("provision"), "{text}");
    assert_eq!(
        text,
        "retry of \"Fig Foods\" accepted: the delete runs again: uninstalling and removing its namespace"
    );
    // r again while that delete runs: refused with the rule, as the engine would.
    let pos = names(&s).iter().position(|n| n == "Fig Foods").unwrap();
    s.list.cursor = pos;
    s.list.selected = s.selected_store().map(|x| x.id);
    update(&mut s, c('r'));
    assert!(s.overlay.is_none());
    assert!(
        is_flash_error(
            &s,
            "\"Fig Foods\" is Deleting; only Failed stores can be retried (a failed delete is retried as a delete)"
        ),
        "{:?}",
        s.flash
    );
    // Bulk retry of a Ready store and the failed delete: the Ready one is
    // skipped with the rule's reason.
    s.list.marked.insert(Uuid::from_u128(1));
    s.list.marked.insert(Uuid::from_u128(7));
    update(&mut s, c('r'));
    match &s.overlay {
        Some(Overlay::ConfirmBulk {
            targets, skipped, ..
        }) => {
            assert_eq!(targets.len(), 1);
            assert_eq!(targets[0].1, "Gus Games");
            assert_eq!(
                skipped,
                &[(
                    "Acme Shoes".to_string(),
                    "is Ready; only Failed stores can be retried (a failed delete is retried as a delete)"
                        .to_string()
                )]
            );
        }
        other => panic!("expected the bulk confirmation, got {other:?}"),
    }
}

// ---------------------------------------------------------------- detail view

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

pub(crate) fn sample_resources() -> Vec<Resource> {
    let at = Some(t0() - Duration::seconds(7000));
    let r = |kind, name: &str, ready: &str, ok, status: &str| Resource {
        kind,
        name: name.into(),
        ready: ready.into(),
        ok,
        status: status.into(),
        created: at,
    };
    vec![
        r("Deployment", "wordpress", "0/1", false, "Progressing"),
        r("StatefulSet", "mariadb", "1/1", true, "Ready"),
        r(
            "Pod",
            "wordpress-7d9c-x2x",
            "0/1",
            false,
            "ImagePullBackOff",
        ),
        r("Pod", "mariadb-0", "1/1", true, "Running"),
        r("Service", "wordpress", "", true, "ClusterIP 80"),
        r(
            "PersistentVolumeClaim",
            "data-mariadb-0",
            "Bound",
            true,
            "1Gi",
        ),
        r("Ingress", "wordpress", "", true, "cora-cafe.localhost"),
    ]
}

pub(crate) fn sample_events() -> Vec<EventLine> {
    let e = |ago: i64, warning, reason: &str, object: &str, message: &str, count| EventLine {
        at: Some(t0() - Duration::seconds(ago)),
        warning,
        reason: reason.into(),
        object: object.into(),
        message: message.into(),
        count,
    };
    vec![
        e(
            30,
            true,
            "BackOff",
            "pod/wordpress-7d9c-x2x",
            "Back-off pulling image \"wordpress:6.5\"",
            14,
        ),
        e(
            95,
            true,
            "Failed",
            "pod/wordpress-7d9c-x2x",
            "Failed to pull image \"wordpress:6.5\": rpc error: code = NotFound desc = failed to resolve reference",
            3,
        ),
        e(
            130,
            false,
            "Scheduled",
            "pod/wordpress-7d9c-x2x",
            "Successfully assigned store-cora-cafe/wordpress-7d9c-x2x to sandbox-node-1",
            1,
        ),
        e(
            131,
            false,
            "SuccessfulCreate",
            "replicaset/wordpress-7d9c",
            "Created pod: wordpress-7d9c-x2x",
            1,
        ),
        e(
            132,
            false,
            "ScalingReplicaSet",
            "deployment/wordpress",
            "Scaled up replica set wordpress-7d9c from 0 to 1",
            1,
        ),
    ]
}

pub(crate) fn sample_audit(id: Uuid) -> Vec<Entry> {
    let a =
        |n: i64, ago: i64, actor: &str, via: &str, action: &str, outcome: &str, detail: &str| {
            Entry {
                id: n,
                at: t0() - Duration::seconds(ago),
                actor: actor.into(),
                via: via.into(),
                action: action.into(),
                store_id: Some(id),
                store_name: Some("Cora Cafe".into()),
                outcome: outcome.into(),
                detail: Some(detail.into()),
            }
        };
    vec![
        a(
            3,
            3000,
            "operator",
            "worker",
            "store.provision",
            "failed",
            "helm install failed: timed out waiting for the condition",
        ),
        a(
            2,
            7100,
            "operator",
            "worker",
            "store.provision",
            "started",
            "worker local-1-0",
        ),
        a(
            1,
            7200,
            "ann@example.com",
            "api",
            "store.create",
            "accepted",
            "namespace store-cora-cafe, owner ann@example.com, engine woocommerce",
        ),
    ]
}

#[test]
fn detail_panes_and_scrolling() {
    let mut s = detail_state();
    let focus = |s: &State| s.detail().unwrap().focus;
    let scroll = |s: &State| s.detail().unwrap().scroll;
    assert_eq!(focus(&s), Pane::Resources);
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(focus(&s), Pane::Events);
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(focus(&s), Pane::Timeline);
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(focus(&s), Pane::Resources);
    update(&mut s, k(KeyCode::BackTab));
    assert_eq!(focus(&s), Pane::Timeline);
    update(&mut s, c('1'));
    assert_eq!(focus(&s), Pane::Resources);
    update(&mut s, c('2'));
    assert_eq!(focus(&s), Pane::Events);
    update(&mut s, c('3'));
    assert_eq!(focus(&s), Pane::Timeline);
    update(&mut s, c('t'));
    assert_eq!(focus(&s), Pane::Timeline);
    update(&mut s, c('e'));
    assert_eq!(focus(&s), Pane::Events);
    update(&mut s, c('j'));
    update(&mut s, k(KeyCode::Down));
    assert_eq!(scroll(&s), [0, 2, 0]);
    update(&mut s, c('k'));
    assert_eq!(scroll(&s), [0, 1, 0]);
    update(&mut s, k(KeyCode::Up));
    update(&mut s, k(KeyCode::Up));
    assert_eq!(scroll(&s), [0, 0, 0], "stops at the top");
    update(&mut s, c('G'));
    assert_eq!(scroll(&s), [0, 4, 0], "5 events: the last one at the top");
    update(&mut s, c('j'));
    assert_eq!(scroll(&s), [0, 4, 0], "stops at the end");
    update(&mut s, c('g'));
    assert_eq!(scroll(&s), [0, 0, 0]);
    update(&mut s, k(KeyCode::End));
    update(&mut s, k(KeyCode::Home));
    update(&mut s, k(KeyCode::PageDown));
    assert_eq!(scroll(&s), [0, 4, 0]);
    update(&mut s, k(KeyCode::PageUp));
    assert_eq!(scroll(&s), [0, 0, 0]);
    update(&mut s, c('1'));
    update(&mut s, c('j'));
    assert_eq!(scroll(&s), [1, 0, 0], "each pane scrolls on its own");
}

#[test]
fn detail_keys_back_error_retry_delete_refresh() {
    let mut s = detail_state();
    update(&mut s, c('x'));
    assert!(matches!(s.overlay, Some(Overlay::Error { scroll: 0 })));
    update(&mut s, c('j'));
    assert!(
        matches!(s.overlay, Some(Overlay::Error { scroll: 0 })),
        "a message that fits does not scroll away"
    );
    let long = "helm upgrade --install failed: ".repeat(200);
    for st in s.stores.iter_mut() {
        st.error_message = Some(long.clone());
    }
    update(&mut s, c('j'));
    assert!(matches!(s.overlay, Some(Overlay::Error { scroll: 1 })));
    for _ in 0..500 {
        update(&mut s, c('j'));
    }
    let Some(Overlay::Error { scroll: end }) = s.overlay else {
        panic!()
    };
    assert!(end > 1 && end < 200, "stops at the last line: {end}");
    for _ in 1..end {
        update(&mut s, c('k'));
    }
    update(&mut s, c('k'));
    update(&mut s, k(KeyCode::Up));
    assert!(matches!(s.overlay, Some(Overlay::Error { scroll: 0 })));
    update(&mut s, c('a'));
    assert!(matches!(s.overlay, Some(Overlay::Error { .. })));
    update(&mut s, c('x'));
    assert!(s.overlay.is_none());
    for close in [k(KeyCode::Esc), c('q')] {
        update(&mut s, c('x'));
        update(&mut s, close);
        assert!(s.overlay.is_none() && !s.quit);
    }
    update(&mut s, c('r'));
    assert!(matches!(&s.overlay, Some(Overlay::ConfirmRetry { name, .. }) if name == "Cora Cafe"));
    update(&mut s, k(KeyCode::Esc));
    update(&mut s, ctrl('d'));
    assert!(matches!(&s.overlay, Some(Overlay::ConfirmDelete { name, .. }) if name == "Cora Cafe"));
    update(&mut s, k(KeyCode::Esc));
    let cmds = update(&mut s, ctrl('r'));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadStore { .. })));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadAudit(_))));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::LoadResources { .. }))
    );
    update(&mut s, c('?'));
    assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
    update(&mut s, c('?'));
    update(&mut s, c(':'));
    assert!(matches!(s.overlay, Some(Overlay::Command { .. })));
    update(&mut s, k(KeyCode::Esc));
    let cmds = update(&mut s, k(KeyCode::Esc));
    assert!(matches!(cmds[..], [Command::WatchEvents(None)]));
    assert!(matches!(s.screen, Screen::Stores));
    // Backspace goes back too; q quits.
    let mut s = detail_state();
    update(&mut s, k(KeyCode::Backspace));
    assert!(matches!(s.screen, Screen::Stores));
    let mut s = detail_state();
    update(&mut s, c('q'));
    assert!(s.quit);
}

#[test]
fn x_without_an_error_says_so() {
    let mut s = loaded(sample_stores());
    open_detail_of(&mut s, "Acme Shoes");
    update(&mut s, c('x'));
    assert!(s.overlay.is_none());
    assert!(s.flash.as_ref().unwrap().text.contains("no error message"));
}

#[test]
fn cluster_changes_reload_resources_without_piling_up() {
    let mut s = detail_state();
    let id = Uuid::from_u128(3);
    let health = Health {
        state: HealthState::Progressing,
        summary: String::new(),
        ready_workloads: 1,
        workloads: 2,
    };
    let cmds = update(
        &mut s,
        Msg::Health {
            id,
            health: health.clone(),
            origin: Instant::now(),
        },
    );
    assert!(matches!(cmds[..], [Command::LoadResources { .. }]));
    // A burst while loading: no new request, one more afterwards.
    for _ in 0..10 {
        assert!(
            update(
                &mut s,
                Msg::Health {
                    id,
                    health: health.clone(),
                    origin: Instant::now()
                }
            )
            .is_empty()
        );
    }
    let cmds = update(
        &mut s,
        Msg::Resources {
            id,
            result: Ok(sample_resources()),
        },
    );
    assert!(matches!(cmds[..], [Command::LoadResources { .. }]));
    let cmds = update(
        &mut s,
        Msg::Resources {
            id,
            result: Ok(sample_resources()),
        },
    );
    assert!(cmds.is_empty());
    // Other stores' changes do not reload this one.
    let other = Uuid::from_u128(1);
    assert!(
        update(
            &mut s,
            Msg::Health {
                id: other,
                health: health.clone(),
                origin: Instant::now()
            }
        )
        .is_empty()
    );
    assert_eq!(s.health.get(&other), Some(&health));
    // A failed refresh keeps the last good list and shows the error.
    update(&mut s, Msg::HealthAll(Default::default()));
    update(
        &mut s,
        Msg::Resources {
            id,
            result: Err("cluster: no answer after 15s".into()),
        },
    );
    let d = s.detail().unwrap();
    assert_eq!(d.resources.data.as_ref().map(Vec::len), Some(7));
    assert!(d.resources.error.is_some());
}

#[test]
fn results_for_another_store_are_ignored() {
    let mut s = detail_state();
    let other = Uuid::from_u128(1);
    update(
        &mut s,
        Msg::Events {
            id: other,
            result: Ok(Vec::new()),
        },
    );
    update(
        &mut s,
        Msg::Resources {
            id: other,
            result: Ok(Vec::new()),
        },
    );
    update(
        &mut s,
        Msg::Audit {
            id: other,
            result: Ok((Vec::new(), None)),
        },
    );
    let d = s.detail().unwrap();
    assert_eq!(d.events.data.as_ref().map(Vec::len), Some(5));
    assert_eq!(d.resources.data.as_ref().map(Vec::len), Some(7));
    assert_eq!(d.audit.data.as_ref().map(Vec::len), Some(3));
}

#[test]
fn store_changes_update_the_detail_and_its_timeline() {
    let mut s = detail_state();
    let id = Uuid::from_u128(3);
    let mut retried = store(
        3,
        "Cora Cafe",
        "ann@example.com",
        Status::Provisioning,
        7200,
    );
    retried.error_message = None;
    let cmds = update(
        &mut s,
        Msg::StoreLoaded {
            id,
            result: Ok(Some(retried)),
            origin: Some(Instant::now()),
        },
    );
    assert!(matches!(cmds[..], [Command::LoadAudit(x)] if x == id));
    assert_eq!(s.current_store().unwrap().status, Status::Provisioning);
    // Deleted: gone from the list, the detail keeps its last copy.
    let mut gone = store(3, "Cora Cafe", "ann@example.com", Status::Deleted, 7200);
    gone.error_message = None;
    update(
        &mut s,
        Msg::StoreLoaded {
            id,
            result: Ok(Some(gone)),
            origin: None,
        },
    );
    assert!(s.store(id).is_none());
    assert_eq!(s.detail().unwrap().store.status, Status::Deleted);
}

// ---------------------------------------------------------------- overlays

#[test]
fn help_overlay_keys() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('?'));
    update(&mut s, c('j'));
    update(&mut s, k(KeyCode::Down));
    assert!(matches!(s.overlay, Some(Overlay::Help { scroll: 2 })));
    update(&mut s, c('k'));
    update(&mut s, k(KeyCode::Up));
    update(&mut s, k(KeyCode::Up));
    assert!(matches!(s.overlay, Some(Overlay::Help { scroll: 0 })));
    update(&mut s, c('c'));
    assert!(
        matches!(s.overlay, Some(Overlay::Help { .. })),
        "other keys do nothing"
    );
    // Scrolling stops at the end: one `k` after many `j` moves up at once.
    for _ in 0..200 {
        update(&mut s, c('j'));
    }
    let Some(Overlay::Help { scroll: end }) = s.overlay else {
        panic!()
    };
    assert!(end > 0 && end < 60, "{end}");
    update(&mut s, c('k'));
    assert!(matches!(s.overlay, Some(Overlay::Help { scroll }) if scroll == end - 1));
    for close in [k(KeyCode::Esc), c('?'), c('q')] {
        update(&mut s, c('?'));
        update(&mut s, close);
        assert!(s.overlay.is_none() && !s.quit);
    }
}

fn command(s: &mut State, line: &str) -> Vec<Command> {
    update(s, c(':'));
    typed(s, line);
    update(s, k(KeyCode::Enter))
}

#[test]
fn command_line() {
    let mut s = loaded(sample_stores());
    command(&mut s, "sort name");
    assert_eq!(s.list.sort, SortKey::Name);
    command(&mut s, "sort bogus");
    assert!(is_flash_error(&s, "sort by one of"));
    command(&mut s, "filter ann");
    assert_eq!(names(&s).len(), 2);
    let cmds = command(&mut s, "reload");
    assert!(matches!(cmds[..], [Command::LoadStores]));
    command(&mut s, "help");
    assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
    update(&mut s, k(KeyCode::Esc));
    command(&mut s, "create");
    assert!(matches!(s.overlay, Some(Overlay::Create(_))));
    update(&mut s, k(KeyCode::Esc));
    command(&mut s, "frobnicate");
    assert!(is_flash_error(&s, "unknown command \":frobnicate\""));
    command(&mut s, "");
    assert!(s.overlay.is_none());
    update(&mut s, c(':'));
    typed(&mut s, "qq");
    update(&mut s, k(KeyCode::Backspace));
    assert!(matches!(&s.overlay, Some(Overlay::Command { input, .. }) if input.value() == "q"));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none() && !s.quit);
    // :stores leaves the detail.
    let mut d = detail_state();
    let cmds = command(&mut d, "stores");
    assert!(matches!(cmds[..], [Command::WatchEvents(None)]));
    assert!(matches!(d.screen, Screen::Stores));
    command(&mut s, "q");
    assert!(s.quit);
    let mut s = loaded(sample_stores());
    update(
        &mut s,
        Msg::Created(Ok(store(9, "Busy", "operator", Status::Provisioning, 0))),
    );
    command(&mut s, "q");
    assert!(matches!(s.overlay, Some(Overlay::ConfirmQuit { .. })));
    update(&mut s, k(KeyCode::Esc));
    command(&mut s, "q!");
    assert!(s.quit);
}

// ---------------------------------------------------------------- messages

#[test]
fn database_down_and_back() {
    let mut s = new_state(Info::example(), (80, 24));
    assert_eq!(s.db.state, LinkState::Connecting);
    let down_at = t0() + Duration::seconds(1);
    update(
        &mut s,
        Msg::DbDown {
            at: down_at,
            error: "connection refused".into(),
        },
    );
    update(
        &mut s,
        Msg::DbDown {
            at: down_at + Duration::seconds(9),
            error: "connection refused".into(),
        },
    );
    assert_eq!(s.db.state, LinkState::Down);
    assert_eq!(s.db.since, down_at, "since the first failure");
    assert_eq!(
        s.banners()[0],
        "database unreachable since 12:00:01: connection refused"
    );
    let cmds = update(&mut s, Msg::DbUp(t0() + Duration::seconds(20)));
    assert!(
        matches!(cmds[..], [Command::LoadStores]),
        "missed notifications: reload"
    );
    assert!(s.db.is_up());
    // A failed load marks the database down but keeps the stores shown.
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Err("pool timed out".into()),
        },
    );
    assert_eq!(s.db.state, LinkState::Down);
    assert_eq!(s.stores.len(), 5);
    update(
        &mut s,
        Msg::StoreLoaded {
            id: Uuid::from_u128(1),
            result: Err("pool timed out".into()),
            origin: None,
        },
    );
    assert_eq!(s.stores.len(), 5);
    assert_eq!(s.db.state, LinkState::Down);
    // Any answer from the database shows it is back.
    let acme = s.store(Uuid::from_u128(1)).cloned();
    update(
        &mut s,
        Msg::StoreLoaded {
            id: Uuid::from_u128(1),
            result: Ok(acme),
            origin: None,
        },
    );
    assert!(s.db.is_up());
}

#[test]
fn notifications_load_one_store_and_upsert_it() {
    let mut s = loaded(sample_stores());
    let id = Uuid::from_u128(2);
    let cmds = update(
        &mut s,
        Msg::StoreNotified {
            id,
            origin: Instant::now(),
        },
    );
    assert!(matches!(cmds[..], [Command::LoadStore { id: x, origin: Some(_) }] if x == id));
    let mut ready = store(2, "Bolt Bikes", "bob@example.com", Status::Ready, 42);
    ready.phase = Phase::Done;
    update(
        &mut s,
        Msg::StoreLoaded {
            id,
            result: Ok(Some(ready)),
            origin: None,
        },
    );
    assert_eq!(s.store(id).unwrap().status, Status::Ready);
    assert_eq!(s.stores.len(), 5);
    let new = store(8, "Hazel Hats", "hal", Status::Provisioning, 0);
    update(
        &mut s,
        Msg::StoreLoaded {
            id: new.id,
            result: Ok(Some(new)),
            origin: None,
        },
    );
    assert_eq!(s.stores.len(), 6);
    update(
        &mut s,
        Msg::StoreLoaded {
            id: Uuid::from_u128(8),
            result: Ok(None),
            origin: None,
        },
    );
    assert_eq!(s.stores.len(), 5);
}

#[test]
fn cluster_connection_states() {
    let mut s = loaded(sample_stores());
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: false,
            since: t0(),
            error: Some("namespaces: connecting".into()),
        }),
    );
    assert_eq!(s.cluster.state, LinkState::Connecting);
    assert!(s.banners().is_empty(), "no alarm during the first seconds");
    s.now = t0() + Duration::seconds(6);
    assert!(s.banners()[0].starts_with("cluster watch: still connecting since 12:00:00"));
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: true,
            since: t0(),
            error: None,
        }),
    );
    assert!(s.cluster.is_up());
    let lost = t0() + Duration::seconds(30);
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: false,
            since: lost,
            error: Some("pods: connection refused".into()),
        }),
    );
    assert_eq!(s.cluster.state, LinkState::Down);
    assert_eq!(
        s.banners()[0],
        "cluster watch disconnected since 12:00:30: pods: connection refused; statuses may be stale"
    );
    // A real error before the first listing is "down" too.
    let mut s = loaded(sample_stores());
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: false,
            since: t0(),
            error: Some("pods: 403 Forbidden".into()),
        }),
    );
    assert_eq!(s.cluster.state, LinkState::Down);
    update(&mut s, Msg::ClusterUnavailable("no kubeconfig".into()));
    assert_eq!(s.cluster.state, LinkState::Unavailable);
    assert_eq!(s.banners()[0], "no cluster connection: no kubeconfig");
}

#[test]
fn cluster_reconnect_refreshes_the_open_detail() {
    let mut s = detail_state();
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: false,
            since: t0(),
            error: Some("pods: refused".into()),
        }),
    );
    let cmds = update(
        &mut s,
        Msg::Cluster(Connection {
            connected: true,
            since: t0(),
            error: None,
        }),
    );
    assert!(matches!(cmds[..], [Command::LoadResources { .. }]));
}

#[test]
fn ticks_redraw_only_when_something_shown_changes() {
    let mut s = loaded(vec![store(1, "Old", "ann", Status::Ready, 3 * 86_400)]);
    s.dirty = false;
    update(&mut s, Msg::Tick(t0() + Duration::seconds(1)));
    assert!(!s.dirty, "\"3d\" did not change");
    let mut s = loaded(vec![store(1, "Young", "ann", Status::Ready, 5)]);
    s.dirty = false;
    let sig = clock_signature(&s);
    update(&mut s, Msg::Tick(t0() + Duration::seconds(1)));
    assert!(s.dirty, "\"5s\" became \"6s\"");
    assert_ne!(sig, clock_signature(&s));
    // Flash messages expire with the clock.
    s.dirty = false;
    update(&mut s, ctrl('r'));
    assert!(s.flash.is_some());
    s.dirty = false;
    update(&mut s, Msg::Tick(t0() + Duration::seconds(60)));
    assert!(s.flash.is_none() && s.dirty);
}

#[test]
fn silent_messages_do_not_redraw() {
    let mut s = loaded(sample_stores());
    s.dirty = false;
    update(
        &mut s,
        Msg::StoreNotified {
            id: Uuid::from_u128(1),
            origin: Instant::now(),
        },
    );
    update(&mut s, Msg::WorkersBusy(0));
    assert!(!s.dirty);
    update(&mut s, Msg::WorkersBusy(1));
    assert!(s.dirty);
    assert_eq!(s.busy_workers, 1);
}

#[test]
fn resize_keeps_the_selection_visible() {
    let stores: Vec<Store> = (0..50)
        .map(|i| store(i, &format!("Shop {i:02}"), "ann", Status::Ready, i as i64))
        .collect();
    let mut s = loaded(stores);
    update(&mut s, c('G'));
    update(&mut s, Msg::Resize(80, 10));
    assert_eq!(s.size, (80, 10));
    let page = s.list_page();
    assert!(s.list.cursor >= s.list.offset && s.list.cursor < s.list.offset + page);
}

#[test]
fn signals_quit_at_once() {
    for sig in ["SIGTERM", "SIGHUP", "terminal closed"] {
        let mut s = loaded(sample_stores());
        update(
            &mut s,
            Msg::Created(Ok(store(9, "Busy", "operator", Status::Provisioning, 0))),
        );
        update(&mut s, Msg::Signal(sig));
        assert!(s.quit, "{sig}: operations are durable, no question asked");
    }
}

#[test]
fn upgrade_rollback_history_and_fleet_from_the_detail_and_the_command_line() {
    let mut s = loaded(sample_stores());
    // The fleet pop-up loads the runs from the list.
    let cmds = update(&mut s, c('F'));
    assert!(matches!(cmds[..], [Command::LoadFleet]));
    assert!(matches!(
        s.overlay,
        Some(Overlay::Changes {
            which: super::msg::Report::Fleet,
            ..
        })
    ));
    update(
        &mut s,
        Msg::Report {
            which: super::msg::Report::Fleet,
            result: Ok(vec!["run 1 — done".into()]),
        },
    );
    assert!(
        matches!(&s.overlay, Some(Overlay::Changes { lines, .. }) if lines.data.as_deref() == Some(&["run 1 — done".to_string()][..]))
    );
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());

    open_detail_of(&mut s, "Echo Audio");
    let id = s.current_store().unwrap().id;
    // H: the release history of this store.
    let cmds = update(&mut s, c('H'));
    assert!(matches!(cmds[..], [Command::LoadHistory { id: x }] if x == id));
    update(&mut s, k(KeyCode::Esc));
    // U opens the command line ready for settings; :upgrade queues them.
    update(&mut s, c('U'));
    assert!(
        matches!(&s.overlay, Some(Overlay::Command { input, .. }) if input.value() == "upgrade ")
    );
    typed(&mut s, "replicas=0");
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(
        matches!(&cmds[..], [Command::Change { id: x, change: super::msg::StoreChange::Upgrade(set), .. }] if *x == id && set == &["replicas=0".to_string()]),
        "{cmds:?}"
    );
    let cmds = command(&mut s, "rollback 2");
    assert!(matches!(
        &cmds[..],
        [Command::Change {
            change: super::msg::StoreChange::Rollback(Some(2)),
            ..
        }]
    ));
    assert!(command(&mut s, "rollback two").is_empty());
    assert!(is_flash_error(&s, ":rollback takes a revision number"));
    update(
        &mut s,
        Msg::ChangeQueued {
            name: "Echo Audio".into(),
            result: Err("nothing to change".into()),
        },
    );
    assert!(is_flash_error(&s, "nothing to change"));
}

#[test]
fn changes_are_refused_in_read_only_mode_and_for_stores_that_are_not_ready() {
    let mut info = Info::example();
    info.read_only = true;
    let mut s = new_state(info, (120, 40));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    open_detail_of(&mut s, "Echo Audio");
    update(&mut s, c('U'));
    assert!(s.overlay.is_none());
    assert!(is_flash_error(&s, "read-only"));
    assert!(command(&mut s, "upgrade replicas=0").is_empty());
    assert!(is_flash_error(&s, "read-only"));

    let mut s = loaded(sample_stores());
    let failed = sample_stores()
        .into_iter()
        .find(|st| st.status == Status::Failed)
        .unwrap();
    open_detail_of(&mut s, &failed.name);
    assert!(command(&mut s, "upgrade replicas=0").is_empty());
    assert!(is_flash_error(&s, "only Ready stores can be changed"));
}
