//! The `:` line, and changes asked from it and from the detail.

use super::*;

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

#[test]
fn upgrade_rollback_history_and_fleet_from_the_detail_and_the_command_line() {
    let mut s = loaded(sample_stores());
    // The fleet pop-up loads the runs from the list.
    let cmds = update(&mut s, c('F'));
    assert!(matches!(cmds[..], [Command::LoadFleet]));
    assert!(matches!(
        s.overlay,
        Some(Overlay::Changes {
            which: crate::tui::msg::Report::Fleet,
            ..
        })
    ));
    update(
        &mut s,
        Msg::Report {
            which: crate::tui::msg::Report::Fleet,
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
        matches!(&cmds[..], [Command::Change { id: x, change: crate::tui::msg::StoreChange::Upgrade(set), .. }] if *x == id && set == &["replicas=0".to_string()]),
        "{cmds:?}"
    );
    let cmds = command(&mut s, "rollback 2");
    assert!(matches!(
        &cmds[..],
        [Command::Change {
            change: crate::tui::msg::StoreChange::Rollback(Some(2)),
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

/// Every binding and every `:` command that writes is refused in
/// `--read-only` by the one check, with the same words; nothing opens and
/// nothing is sent.
#[test]
fn read_only_refuses_every_write_binding_and_command_alike() {
    use crate::tui::{commands, keys};
    let mut info = Info::example();
    info.read_only = true;
    let mut base = new_state(info, (120, 40));
    update(
        &mut base,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    let mut marked = base.clone();
    marked.list.marked.insert(Uuid::from_u128(3));
    let mut detail = base.clone();
    open_detail_of(&mut detail, "Cora Cafe");
    let mut tried = 0;
    for s in [&base, &marked, &detail] {
        let ctx = s.key_context();
        for b in keys::all(ctx).iter().filter(|b| b.writes) {
            let mut s = s.clone();
            let cmds = update(&mut s, Msg::Key(b.keys[0].event()));
            assert!(
                cmds.is_empty() && s.overlay.is_none(),
                "{ctx:?} {:?}",
                b.act
            );
            assert!(
                is_flash_error(&s, "read-only mode: ")
                    && is_flash_error(&s, "start the console without --read-only"),
                "{ctx:?} {:?}: {:?}",
                b.act,
                s.flash
            );
            tried += 1;
        }
    }
    assert!(
        tried >= 7,
        "c r ctrl-d, with marks r ctrl-d, U r ctrl-d: {tried}"
    );
    for spec in commands::ALL.iter().filter(|c| c.writes) {
        let mut s = detail.clone();
        let cmds = command(&mut s, &format!("{} replicas=0", spec.name()));
        assert!(cmds.is_empty() && s.overlay.is_none(), ":{}", spec.name());
        assert!(
            is_flash_error(&s, &format!("read-only mode: :{} is disabled", spec.name())),
            "{:?}",
            s.flash
        );
    }
}

/// `tab` in the `:` line completes the command's name from the table and
/// goes on to the next candidate; typing starts over.
#[test]
fn tab_completes_commands_from_the_table() {
    let mut s = loaded(sample_stores());
    let line = |s: &State| match &s.overlay {
        Some(Overlay::Command { input, .. }) => input.value().to_string(),
        other => panic!("the : line, not {other:?}"),
    };
    update(&mut s, c(':'));
    typed(&mut s, "s");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "sort");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "set");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "stores");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "sort", "round again");
    typed(&mut s, " name");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "sort name", "arguments are not completed");
    update(&mut s, k(KeyCode::Enter));
    assert_eq!(s.list.sort, SortKey::Name);

    // Read-only: the commands that write are not offered.
    let mut info = Info::example();
    info.read_only = true;
    let mut s = new_state(info, (120, 40));
    update(&mut s, c(':'));
    typed(&mut s, "s");
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "stores");
    // Unknown: nothing to complete, the line stays.
    let mut s = loaded(sample_stores());
    update(&mut s, c(':'));
    typed(&mut s, "zz");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(line(&s), "zz");
}
