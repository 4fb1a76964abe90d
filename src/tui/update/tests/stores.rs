//! The stores view: movement, filter, sort, marks, and asking for actions.

use super::*;
use crate::engines::EngineKind;

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
    // Only the database is asked: the timeline and the backups.
    assert!(
        cmds.iter()
            .all(|c| matches!(c, Command::LoadAudit(_) | Command::LoadBackups(_))),
        "{cmds:?}"
    );
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
    assert_eq!(f.value(FIELD_ENGINE), EngineKind::default().as_str());

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
