//! The detail view: panes, scrolling, its keys and the help pop-up.

use super::*;
use crate::tui::state::DetailMode;

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
    assert_eq!(focus(&s), Pane::Backups);
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(focus(&s), Pane::Resources);
    update(&mut s, k(KeyCode::BackTab));
    assert_eq!(focus(&s), Pane::Backups);
    update(&mut s, c('b'));
    assert_eq!(focus(&s), Pane::Backups);
    update(&mut s, c('4'));
    assert_eq!(focus(&s), Pane::Backups);
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
    assert_eq!(scroll(&s), [0, 2, 0, 0]);
    update(&mut s, c('k'));
    assert_eq!(scroll(&s), [0, 1, 0, 0]);
    update(&mut s, k(KeyCode::Up));
    update(&mut s, k(KeyCode::Up));
    assert_eq!(scroll(&s), [0, 0, 0, 0], "stops at the top");
    update(&mut s, c('G'));
    assert_eq!(
        scroll(&s),
        [0, 4, 0, 0],
        "5 events: the last one at the top"
    );
    update(&mut s, c('j'));
    assert_eq!(scroll(&s), [0, 4, 0, 0], "stops at the end");
    update(&mut s, c('g'));
    assert_eq!(scroll(&s), [0, 0, 0, 0]);
    update(&mut s, k(KeyCode::End));
    update(&mut s, k(KeyCode::Home));
    update(&mut s, k(KeyCode::PageDown));
    assert_eq!(scroll(&s), [0, 4, 0, 0]);
    update(&mut s, k(KeyCode::PageUp));
    assert_eq!(scroll(&s), [0, 0, 0, 0]);
    update(&mut s, c('1'));
    update(&mut s, c('j'));
    assert_eq!(scroll(&s), [1, 0, 0, 0], "each pane scrolls on its own");
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
    assert!(
        matches!(cmds[..], [Command::LoadAudit(x), Command::LoadBackups(y)] if x == id && y == id),
        "{cmds:?}"
    );
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
    assert!(end > 0 && end < 70, "{end}");
    update(&mut s, c('k'));
    assert!(matches!(s.overlay, Some(Overlay::Help { scroll }) if scroll == end - 1));
    for close in [k(KeyCode::Esc), c('?'), c('q')] {
        update(&mut s, c('?'));
        update(&mut s, close);
        assert!(s.overlay.is_none() && !s.quit);
    }
}

#[test]
fn w_opens_the_engines_shell_and_says_when_the_engine_has_none() {
    let mut s = detail_state();
    update(&mut s, c('w'));
    assert!(
        matches!(s.detail().unwrap().mode, DetailMode::Wp),
        "a WooCommerce store opens the wp prompt"
    );
    if let Screen::Detail(d) = &mut s.screen {
        d.mode = DetailMode::Panes;
        d.store.engine = crate::store::EngineKind::Medusa;
    }
    update(&mut s, c('w'));
    assert!(
        !matches!(s.detail().unwrap().mode, DetailMode::Wp),
        "no prompt for an engine without a shell"
    );
    assert!(is_flash_error(
        &s,
        "a Medusa store has no incident shell; its admin is at"
    ));
}

#[test]
fn b_backs_a_ready_store_up_and_says_why_not_otherwise() {
    // Cora Cafe is Failed: the lifecycle's refusal, nothing sent.
    let mut s = detail_state();
    let cmds = update(&mut s, c('B'));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(is_flash_error(&s, "only Ready stores can be backed up"));
    // Ready: asked at once, no confirmation (a backup changes nothing).
    for st in s.stores.iter_mut() {
        st.status = Status::Ready;
    }
    let cmds = update(&mut s, c('B'));
    assert!(
        matches!(cmds.as_slice(), [Command::Backup { name, .. }] if name == "Cora Cafe"),
        "{cmds:?}"
    );
    assert!(s.overlay.is_none());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("back up \"Cora Cafe\"")
    );
}
