//! Backups in the console: the detail's backups, a restore from one, the
//! deleted stores and their undelete, the fleet's newest good backups.

use super::*;
use crate::db::backups::State as B;

fn with_backups(s: &mut State) {
    update(
        s,
        Msg::Backups {
            id: Uuid::from_u128(3),
            result: Ok(sample_backups()),
        },
    );
}

#[test]
fn opening_the_detail_and_ctrl_r_read_its_backups() {
    let mut s = loaded(sample_stores());
    let cmds = open_detail_of(&mut s, "Cora Cafe");
    let id = Uuid::from_u128(3);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::LoadBackups(x) if *x == id)),
        "{cmds:?}"
    );
    assert!(s.detail().unwrap().backups.loading);
    with_backups(&mut s);
    assert_eq!(s.detail().unwrap().backups.data.as_ref().unwrap().len(), 5);
    let cmds = update(&mut s, ctrl('r'));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadBackups(_))));
    // An answer for another store is dropped.
    update(
        &mut s,
        Msg::Backups {
            id: Uuid::from_u128(1),
            result: Ok(Vec::new()),
        },
    );
    assert_eq!(s.detail().unwrap().backups.data.as_ref().unwrap().len(), 5);
}

#[test]
fn r_asks_to_restore_the_newest_complete_backup_and_y_sends_it() {
    let mut s = detail_state();
    with_backups(&mut s);
    assert!(update(&mut s, c('R')).is_empty());
    let want = sample_backups()[2].id;
    assert!(
        matches!(&s.overlay, Some(Overlay::ConfirmRestore { backup, label, .. })
            if *backup == want && label.starts_with("00000003 (manual, 2026-03-14 10:00:00")),
        "{:?}",
        s.overlay
    );
    // A restore replaces data: enter does not confirm it, y does.
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(s.overlay.is_some());
    let cmds = update(&mut s, c('y'));
    assert!(
        matches!(cmds.as_slice(), [Command::Restore { name, backup: Some(b), .. }]
            if name == "Cora Cafe" && *b == want),
        "{cmds:?}"
    );
    assert!(s.overlay.is_none());
    // n cancels.
    update(&mut s, c('R'));
    assert!(update(&mut s, c('n')).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn r_in_the_backups_pane_takes_the_top_one_if_complete() {
    let mut s = detail_state();
    with_backups(&mut s);
    update(&mut s, c('b'));
    update(&mut s, c('j'));
    // The failed one: refused here, nothing asked.
    assert!(update(&mut s, c('R')).is_empty());
    assert!(s.overlay.is_none());
    assert!(is_flash_error(&s, "is failed: only a complete backup"));
    update(&mut s, c('G'));
    update(&mut s, c('R'));
    let want = sample_backups()[4].id;
    assert!(
        matches!(&s.overlay, Some(Overlay::ConfirmRestore { backup, .. }) if *backup == want),
        "{:?}",
        s.overlay
    );
}

#[test]
fn r_says_why_not_before_asking() {
    // Still loading.
    let mut s = detail_state();
    update(&mut s, c('R'));
    assert!(is_flash_error(&s, "still loading"));
    // No complete backup.
    with_backups(&mut s);
    update(
        &mut s,
        Msg::Backups {
            id: Uuid::from_u128(3),
            result: Ok(vec![backup(1, B::Failed, 60)]),
        },
    );
    update(&mut s, c('R'));
    assert!(is_flash_error(&s, "no complete backup to restore from"));
    // The lifecycle: a store being provisioned cannot be restored.
    let mut s = loaded(sample_stores());
    open_detail_of(&mut s, "Bolt Bikes");
    update(
        &mut s,
        Msg::Backups {
            id: Uuid::from_u128(2),
            result: Ok(sample_backups()),
        },
    );
    assert!(update(&mut s, c('R')).is_empty());
    assert!(s.overlay.is_none());
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.error && f.text.starts_with("\"Bolt Bikes\"")),
        "{:?}",
        s.flash
    );
}

#[test]
fn a_restore_accepted_or_refused_is_said() {
    let mut s = detail_state();
    let id = Uuid::from_u128(3);
    let mut restoring = store(3, "Cora Cafe", "ann@example.com", Status::Restoring, 7200);
    restoring.phase = Phase::Restoring;
    update(
        &mut s,
        Msg::Acted {
            action: Action::Restore,
            id,
            name: "Cora Cafe".into(),
            result: Ok(restoring),
        },
    );
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| !f.error && f.text.starts_with("restore of \"Cora Cafe\" accepted")),
        "{:?}",
        s.flash
    );
    assert_eq!(s.current_store().unwrap().status, Status::Restoring);
    assert!(s.started_here.contains(&id));
    update(
        &mut s,
        Msg::Acted {
            action: Action::Restore,
            id,
            name: "Cora Cafe".into(),
            result: Err("backup 0000 belongs to another store".into()),
        },
    );
    assert!(is_flash_error(
        &s,
        "restore of \"Cora Cafe\" failed: backup 0000 belongs to another store"
    ));
}

fn undeletable(n: u128, name: &str) -> crate::tui::backups::Undeletable {
    crate::tui::backups::Undeletable {
        id: Uuid::from_u128(n),
        name: name.into(),
        owner: "fay@example.com".into(),
        url: "http://x.localhost".into(),
        backed_up_at: Some(t0()),
        expires_at: Some(t0() + Duration::days(7)),
        bytes: 1000,
    }
}

#[test]
fn d_lists_the_deleted_stores_and_undeletes_one_after_y() {
    let mut s = loaded(sample_stores());
    let cmds = update(&mut s, c('D'));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadDeleted]),
        "{cmds:?}"
    );
    update(
        &mut s,
        Msg::Deleted(Ok(vec![
            undeletable(20, "Fig Flowers"),
            undeletable(21, "Gulf Games"),
        ])),
    );
    update(&mut s, c('j'));
    update(&mut s, c('j'));
    assert!(matches!(
        &s.overlay,
        Some(Overlay::Deleted { cursor: 1, .. })
    ));
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(
        matches!(&s.overlay, Some(Overlay::ConfirmUndelete(u)) if u.name == "Gulf Games"),
        "{:?}",
        s.overlay
    );
    let cmds = update(&mut s, c('y'));
    assert!(
        matches!(cmds.as_slice(), [Command::Undelete { id, name }]
            if *id == Uuid::from_u128(21) && name == "Gulf Games"),
        "{cmds:?}"
    );
    // :deleted opens it too; esc closes it; nothing to undelete: said.
    typed(&mut s, ":deleted");
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadDeleted]),
        "{cmds:?}"
    );
    update(&mut s, Msg::Deleted(Ok(Vec::new())));
    update(&mut s, c('u'));
    assert!(is_flash_error(&s, "no deleted store to bring back"));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
}

#[test]
fn read_only_lists_but_refuses_restore_and_undelete() {
    let mut s = detail_state();
    s.info.read_only = true;
    with_backups(&mut s);
    assert!(update(&mut s, c('R')).is_empty());
    assert!(s.overlay.is_none());
    assert!(is_flash_error(
        &s,
        "read-only mode: restore from a backup is disabled"
    ));
    update(&mut s, k(KeyCode::Esc));
    update(&mut s, c('D'));
    update(
        &mut s,
        Msg::Deleted(Ok(vec![undeletable(20, "Fig Flowers")])),
    );
    assert!(update(&mut s, c('u')).is_empty());
    assert!(matches!(s.overlay, Some(Overlay::Deleted { .. })));
    assert!(is_flash_error(
        &s,
        "read-only mode: undelete the store is disabled"
    ));
}

#[test]
fn the_fleets_good_backups_load_with_the_stores_each_minute_and_when_a_backup_ends() {
    // Backups off: never asked.
    let mut s = loaded(sample_stores());
    assert!(s.good_backups.data.is_none() && !s.good_backups.loading);
    assert!(update(&mut s, Msg::Tick(t0() + Duration::minutes(5))).is_empty());

    let mut info = Info::example();
    info.keep_deleted_days = Some(7);
    let mut s = new_state(info, (120, 40));
    let cmds = update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(sample_stores()),
        },
    );
    assert!(
        matches!(cmds.as_slice(), [Command::LoadNewestGood]),
        "{cmds:?}"
    );
    // Not again while it loads.
    assert!(update(&mut s, Msg::Tick(t0() + Duration::minutes(2))).is_empty());
    let mut newest = std::collections::HashMap::new();
    newest.insert(Uuid::from_u128(1), t0() - Duration::hours(25));
    update(
        &mut s,
        Msg::NewestGood {
            at: t0(),
            result: Ok(newest),
        },
    );
    let acme = s.store(Uuid::from_u128(1)).unwrap().clone();
    assert_eq!(s.needs_backup(&acme), Some(true));
    // A minute after it was asked: again.
    let cmds = update(&mut s, Msg::Tick(t0() + Duration::seconds(61)));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadNewestGood]),
        "{cmds:?}"
    );
    update(
        &mut s,
        Msg::NewestGood {
            at: t0(),
            result: Ok(Default::default()),
        },
    );
    assert!(update(&mut s, Msg::Tick(t0() + Duration::seconds(90))).is_empty());
    // A backup of Acme Shoes ends (its phase leaves backing-up): at once.
    let mut backing = acme.clone();
    backing.phase = Phase::BackingUp;
    s.upsert_store(backing);
    let cmds = update(
        &mut s,
        Msg::StoreLoaded {
            id: acme.id,
            result: Ok(Some(acme.clone())),
            origin: None,
        },
    );
    assert!(
        cmds.iter().any(|c| matches!(c, Command::LoadNewestGood)),
        "{cmds:?}"
    );
}

#[test]
fn the_schedule_arrives_with_the_backups_for_the_store_shown_only() {
    let mut s = detail_state();
    let view = |hours: i64| crate::engine::schedule::ScheduleView {
        own_hours: None,
        every_hours: Some(hours),
        described: format!("every {hours} h (the fleet's default)"),
        next_at: None,
        newest_good_at: None,
    };
    update(
        &mut s,
        Msg::Schedule {
            id: Uuid::from_u128(1),
            result: Ok(view(6)),
        },
    );
    assert!(s.detail().unwrap().schedule.is_none(), "another store's");
    update(
        &mut s,
        Msg::Schedule {
            id: Uuid::from_u128(3),
            result: Ok(view(24)),
        },
    );
    assert_eq!(
        s.detail().unwrap().schedule.as_ref().map(|v| v.every_hours),
        Some(Some(24))
    );
}
