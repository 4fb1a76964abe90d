//! Restore drills, the backup schedule and clones from the store detail.

use super::*;
use crate::db::drills::Outcome;
use crate::engine::drill::DrillsView;

/// Cora Cafe's detail with backups configured, its schedule read (its
/// own interval: 6 h).
fn backups_detail() -> State {
    let mut s = detail_state();
    s.info.keep_deleted_days = Some(7);
    update(
        &mut s,
        Msg::Schedule {
            id: Uuid::from_u128(3),
            result: Ok(crate::engine::schedule::ScheduleView {
                own_hours: Some(6),
                every_hours: Some(6),
                described: "every 6 h (set for this store)".into(),
                next_at: Some(t0() + Duration::hours(3)),
                newest_good_at: Some(t0() - Duration::hours(2)),
            }),
        },
    );
    s
}

fn drills_view(drills: Vec<crate::db::drills::Drill>) -> DrillsView {
    DrillsView {
        drills,
        last_good_at: Some(t0() - Duration::days(2)),
        every_days: Some(7),
        next_at: Some(t0() + Duration::hours(30)),
    }
}

#[test]
fn t_asks_before_a_drill_and_y_sends_it() {
    let mut s = backups_detail();
    assert!(update(&mut s, c('T')).is_empty());
    assert!(
        matches!(&s.overlay, Some(Overlay::ConfirmDrill { name, .. }) if name == "Cora Cafe"),
        "{:?}",
        s.overlay
    );
    // n cancels, nothing sent.
    assert!(update(&mut s, c('n')).is_empty());
    assert!(s.overlay.is_none());
    update(&mut s, c('T'));
    let cmds = update(&mut s, c('y'));
    assert!(
        matches!(cmds.as_slice(), [Command::Drill { id, name }] if *id == Uuid::from_u128(3) && name == "Cora Cafe"),
        "{cmds:?}"
    );
    assert!(s.overlay.is_none());
}

#[test]
fn the_engines_refusal_of_a_drill_is_the_message_and_an_accepted_one_is_read_back() {
    let mut s = backups_detail();
    let id = Uuid::from_u128(3);
    let why = "store \"Cora Cafe\" has no complete backup to drill; take one first (`store backup Cora Cafe`)";
    let cmds = update(
        &mut s,
        Msg::DrillQueued {
            id,
            name: "Cora Cafe".into(),
            result: Err(why.into()),
        },
    );
    assert!(cmds.is_empty());
    assert!(is_flash_error(&s, why), "{:?}", s.flash);
    let cmds = update(
        &mut s,
        Msg::DrillQueued {
            id,
            name: "Cora Cafe".into(),
            result: Ok(()),
        },
    );
    assert!(
        matches!(cmds.as_slice(), [Command::LoadDrills(x)] if *x == id),
        "{cmds:?}"
    );
    let f = s.flash.as_ref().unwrap();
    assert!(
        !f.error && f.text.contains("the store is not touched"),
        "{f:?}"
    );
}

#[test]
fn without_backups_configured_t_says_so() {
    let mut s = detail_state();
    assert!(update(&mut s, c('T')).is_empty());
    assert!(s.overlay.is_none());
    assert!(is_flash_error(&s, "backups are not configured"));
}

#[test]
fn read_only_refuses_the_drill_the_schedule_and_the_clone() {
    for key in ['T', 'S', 'C'] {
        let mut s = backups_detail();
        s.info.read_only = true;
        assert!(update(&mut s, c(key)).is_empty(), "{key}");
        assert!(s.overlay.is_none(), "{key}: {:?}", s.overlay);
        assert!(is_flash_error(&s, "read-only mode: "), "{key}");
    }
    let mut s = backups_detail();
    s.info.read_only = true;
    update(&mut s, c('T'));
    assert!(is_flash_error(
        &s,
        "read-only mode: restore drill now is disabled"
    ));
}

#[test]
fn the_drills_arrive_for_the_open_store_and_are_read_again_each_minute() {
    let mut s = backups_detail();
    let id = Uuid::from_u128(3);
    // The clock also asks for the fleet's newest backups: only the drills count.
    let drills_asked = |cmds: Vec<Command>| {
        cmds.iter()
            .filter(|c| matches!(c, Command::LoadDrills(x) if *x == Uuid::from_u128(3)))
            .count()
    };
    // Not asked by the clock before the first answer (the detail's open asks).
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(t0() + Duration::minutes(5)))),
        0
    );
    s.now = t0();
    update(
        &mut s,
        Msg::Drills {
            id: Uuid::from_u128(1),
            result: Ok(drills_view(Vec::new())),
        },
    );
    assert!(s.detail().unwrap().drills.data.is_none(), "another store's");
    update(
        &mut s,
        Msg::Drills {
            id,
            result: Ok(drills_view(vec![drill(1, Some(Outcome::Passed), 600)])),
        },
    );
    assert_eq!(
        s.detail()
            .unwrap()
            .drills
            .data
            .as_ref()
            .unwrap()
            .drills
            .len(),
        1
    );
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(t0() + Duration::seconds(59)))),
        0
    );
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(t0() + Duration::seconds(61)))),
        1
    );
    // Not again while it loads.
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(t0() + Duration::seconds(90)))),
        0
    );
    // A drill under way: every ten seconds.
    update(
        &mut s,
        Msg::Drills {
            id,
            result: Ok(drills_view(vec![drill(2, None, 5)])),
        },
    );
    let at = s.now;
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(at + Duration::seconds(5)))),
        0
    );
    assert_eq!(
        drills_asked(update(&mut s, Msg::Tick(at + Duration::seconds(11)))),
        1
    );
}

fn schedule_input(s: &State) -> (String, Option<String>) {
    match &s.overlay {
        Some(Overlay::Schedule { input, error, .. }) => (input.value().to_string(), error.clone()),
        other => panic!("not the schedule input: {other:?}"),
    }
}

#[test]
fn the_schedule_input_is_checked_as_you_type_and_saves_what_parses() {
    let mut s = backups_detail();
    assert!(update(&mut s, c('S')).is_empty());
    assert_eq!(schedule_input(&s), ("6h".to_string(), None));
    update(&mut s, k(KeyCode::Backspace));
    update(&mut s, k(KeyCode::Backspace));
    typed(&mut s, "2x");
    let (text, error) = schedule_input(&s);
    assert_eq!(text, "2x");
    let error = error.expect("2x is refused as you type");
    assert!(error.contains("is not an interval"), "{error}");
    // enter does not send an invalid interval.
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(schedule_input(&s).1.is_some());
    update(&mut s, k(KeyCode::Backspace));
    typed(&mut s, "d");
    assert_eq!(schedule_input(&s), ("2d".to_string(), None));
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(
        matches!(
            cmds.as_slice(),
            [Command::SetSchedule {
                every_hours: Some(48),
                ..
            }]
        ),
        "{cmds:?}"
    );
    // Sent once: enter again waits for the answer.
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    let id = Uuid::from_u128(3);
    // The engine refuses: said in the input, which stays open.
    update(
        &mut s,
        Msg::ScheduleSet {
            id,
            name: "Cora Cafe".into(),
            result: Err("database: no answer after 10s".into()),
        },
    );
    assert_eq!(
        schedule_input(&s).1.as_deref(),
        Some("not saved: database: no answer after 10s")
    );
    for (text, want) in [("off", Some(0)), ("default", None)] {
        for _ in 0..4 {
            update(&mut s, k(KeyCode::Backspace));
        }
        typed(&mut s, text);
        let cmds = update(&mut s, k(KeyCode::Enter));
        assert!(
            matches!(cmds.as_slice(), [Command::SetSchedule { every_hours, .. }] if *every_hours == want),
            "{text}: {cmds:?}"
        );
        update(
            &mut s,
            Msg::ScheduleSet {
                id,
                name: "Cora Cafe".into(),
                result: Err("again".into()),
            },
        );
    }
    // Saved: closed, said, and the schedule read again.
    let cmds = update(
        &mut s,
        Msg::ScheduleSet {
            id,
            name: "Cora Cafe".into(),
            result: Ok(Some(48)),
        },
    );
    assert!(s.overlay.is_none());
    assert!(
        matches!(cmds.as_slice(), [Command::LoadBackups(x)] if *x == id),
        "{cmds:?}"
    );
    assert!(s.flash.as_ref().unwrap().text.contains("saved: every 48 h"));
    // esc cancels without sending.
    update(&mut s, c('S'));
    assert!(update(&mut s, k(KeyCode::Esc)).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn the_clone_form_checks_the_name_and_sends_it_for_the_sources_owner() {
    let mut s = backups_detail();
    assert!(update(&mut s, c('C')).is_empty());
    let value = |s: &State| match &s.overlay {
        Some(Overlay::CloneForm(f)) => (f.input.value().to_string(), f.error.clone()),
        other => panic!("not the clone form: {other:?}"),
    };
    assert_eq!(value(&s), ("Cora Cafe copy".to_string(), None));
    update(&mut s, ctrl('u'));
    // A name in use: said as you type, not sent.
    typed(&mut s, "Acme Shoes");
    let (_, error) = value(&s);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("already uses namespace")),
        "{error:?}"
    );
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    for _ in 0.."Acme Shoes".len() {
        update(&mut s, k(KeyCode::Backspace));
    }
    typed(&mut s, "Cora Staging");
    assert_eq!(value(&s).1, None);
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Command::Clone { source, name, owner, .. }]
            if *source == Uuid::from_u128(3) && name == "Cora Staging" && owner == "ann@example.com"),
        "{cmds:?}"
    );
    // The engine's refusal stays in the form.
    update(
        &mut s,
        Msg::Cloned {
            source: "Cora Cafe".into(),
            result: Err("store \"Cora Cafe\" has no complete backup".into()),
        },
    );
    assert_eq!(
        value(&s).1.as_deref(),
        Some("store \"Cora Cafe\" has no complete backup")
    );
    update(&mut s, k(KeyCode::Enter));
    let clone = store(
        40,
        "Cora Staging",
        "ann@example.com",
        Status::Provisioning,
        0,
    );
    update(
        &mut s,
        Msg::Cloned {
            source: "Cora Cafe".into(),
            result: Ok(clone),
        },
    );
    assert!(s.overlay.is_none());
    assert!(
        s.store(Uuid::from_u128(40)).is_some(),
        "the clone is listed"
    );
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("clone \"Cora Staging\" of \"Cora Cafe\" created")
    );
}

#[test]
fn a_change_of_a_drills_throwaway_store_reads_the_drills_again() {
    let mut s = backups_detail();
    let id = Uuid::from_u128(3);
    let throwaway = Uuid::from_u128(77);
    let mut running = drill(2, None, 30);
    running.clone_id = Some(throwaway);
    update(
        &mut s,
        Msg::Drills {
            id,
            result: Ok(drills_view(vec![running])),
        },
    );
    let loaded = |s: &mut State, of: Uuid| {
        update(
            s,
            Msg::StoreLoaded {
                id: of,
                result: Ok(Some(store(
                    of.as_u128(),
                    "drill 0123456789ab",
                    "restore-drills",
                    Status::Provisioning,
                    5,
                ))),
                origin: None,
            },
        )
    };
    let cmds = loaded(&mut s, throwaway);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::LoadDrills(x) if *x == id)),
        "{cmds:?}"
    );
    // Another store's change does not.
    update(
        &mut s,
        Msg::Drills {
            id,
            result: Ok(drills_view(Vec::new())),
        },
    );
    let cmds = loaded(&mut s, Uuid::from_u128(78));
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::LoadDrills(_))),
        "{cmds:?}"
    );
}
