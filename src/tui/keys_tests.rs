//! The help shows exactly the keys that work: every key a terminal can send
//! is pressed in every view, and a key changes something (the screen, the
//! commands, quitting) if and only if the help (or the pop-up's hint line)
//! lists it.

use super::fixtures::{loaded, sample_audit, sample_events, sample_resources, sample_stores};
use super::keys::{self, Context, HelpLine};
use super::msg::Msg;
use super::state::{Overlay, State};
use super::update::update;
use super::view::draw;
use crate::cluster::view::Connection;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::collections::BTreeSet;
use uuid::Uuid;

/// Every key a terminal sends that the console could bind.
fn universe() -> Vec<KeyEvent> {
    let mut out = Vec::new();
    for c in ' '..='~' {
        out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    for c in 'a'..='z' {
        out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }
    for code in [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Insert,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::F(1),
        KeyCode::F(5),
    ] {
        out.push(KeyEvent::new(code, KeyModifiers::NONE));
    }
    out
}

fn label(ev: &KeyEvent) -> String {
    keys::Key {
        code: ev.code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
    }
    .label()
}

fn screen(s: &State) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| draw(s, f)).unwrap();
    t.backend().buffer().clone()
}

/// Whether pressing `ev` in `s` does anything at all.
fn acts(s: &State, ev: KeyEvent) -> bool {
    let before = screen(s);
    let mut after = s.clone();
    let cmds = update(&mut after, Msg::Key(ev));
    after.quit || !cmds.is_empty() || screen(&after) != before
}

/// The key labels the help shows for one section.
fn help_section(lines: &[HelpLine], name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for l in lines {
        match l {
            HelpLine::Section(n) => inside = *n == name,
            HelpLine::Key { keys, .. } if inside => {
                out.extend(keys.split(' ').map(str::to_string));
            }
            _ => {}
        }
    }
    out
}

/// The labels inside the `<a/b>` groups of a pop-up's hint line.
fn hint_keys(ctx: Context) -> BTreeSet<String> {
    let line = keys::hint_line(ctx, false);
    let mut out = BTreeSet::new();
    for part in line.split('<').skip(1) {
        if let Some((keys, _)) = part.split_once('>') {
            out.extend(keys.split('/').map(str::to_string));
        }
    }
    out
}

/// The stores view with a filter applied and the cursor in the middle, so
/// that every movement and `esc` has something to do.
fn stores_state() -> State {
    let mut s = loaded(sample_stores());
    s.size = (80, 24);
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('o'))));
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(s.list.visible.len(), 5);
    s.list.cursor = 2;
    s.list.selected = s.selected_store().map(|x| x.id);
    s
}

/// The detail of the failed store with its panes filled, focused on
/// `focus` ('1'-'3') and scrolled one line down.
fn detail_state(focus: char) -> State {
    let mut s = loaded(sample_stores());
    update(
        &mut s,
        Msg::Cluster(Connection {
            connected: true,
            since: super::fixtures::t0(),
            error: None,
        }),
    );
    let pos = s
        .list
        .visible
        .iter()
        .position(|&i| s.stores[i].name == "Cora Cafe")
        .unwrap();
    s.list.cursor = pos;
    s.list.selected = s.selected_store().map(|x| x.id);
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let id = Uuid::from_u128(3);
    let mut resources = sample_resources();
    resources.extend(sample_resources());
    update(
        &mut s,
        Msg::Resources {
            id,
            result: Ok(resources),
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
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char(focus))));
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Down)));
    s
}

/// Presses every key in each of `states` and checks that the keys that do
/// something are exactly `listed`.
fn check(ctx: Context, states: &[State], listed: &BTreeSet<String>) {
    for s in states {
        assert_eq!(s.key_context(), ctx, "the test state is in {ctx:?}");
    }
    let mut acting = BTreeSet::new();
    for ev in universe() {
        if states.iter().any(|s| acts(s, ev)) {
            acting.insert(label(&ev));
        }
    }
    let global: BTreeSet<String> = keys::all(Context::Global)
        .iter()
        .flat_map(|b| b.keys.iter().map(keys::Key::label))
        .collect();
    let expected: BTreeSet<String> = listed.union(&global).cloned().collect();
    let silent: Vec<_> = expected.difference(&acting).collect();
    let unlisted: Vec<_> = acting.difference(&expected).collect();
    assert!(
        silent.is_empty() && unlisted.is_empty(),
        "{ctx:?}: listed but doing nothing: {silent:?}; working but not listed: {unlisted:?}"
    );
}

#[test]
fn the_stores_help_lists_exactly_the_keys_that_work() {
    let s = stores_state();
    let help = help_section(&s.help_lines(), "Stores");
    assert!(help.contains("ctrl-f") && help.contains("ctrl-b"));
    check(Context::Stores, &[s], &help);
}

#[test]
fn the_detail_help_lists_exactly_the_keys_that_work() {
    let states = [detail_state('1'), detail_state('2')];
    let help = help_section(&states[0].help_lines(), "Store detail");
    assert!(help.contains("t") && help.contains("x"));
    check(Context::Detail, &states, &help);
}

#[test]
fn pop_ups_list_exactly_the_keys_that_work() {
    let mut help = stores_state();
    update(&mut help, Msg::Key(KeyEvent::from(KeyCode::Char('?'))));
    update(&mut help, Msg::Key(KeyEvent::from(KeyCode::Char('j'))));
    check(Context::Help, &[help], &hint_keys(Context::Help));

    let mut error = detail_state('1');
    let long = "helm upgrade --install failed: ".repeat(40);
    for st in error.stores.iter_mut() {
        st.error_message = Some(long.clone());
    }
    error.size = (80, 24);
    error.overlay = Some(Overlay::Error { scroll: 1 });
    check(Context::Error, &[error], &hint_keys(Context::Error));

    let mut retry = stores_state();
    retry.overlay = Some(Overlay::ConfirmRetry {
        id: Uuid::from_u128(3),
        name: "Cora Cafe".into(),
    });
    check(
        Context::ConfirmRetry,
        &[retry],
        &hint_keys(Context::ConfirmRetry),
    );

    let mut quit = stores_state();
    quit.overlay = Some(Overlay::ConfirmQuit { running: 1 });
    check(
        Context::ConfirmQuit,
        &[quit],
        &hint_keys(Context::ConfirmQuit),
    );

    check(
        Context::Report,
        &report_states(),
        &hint_keys(Context::Report),
    );
}

/// The report pop-ups (a bulk result, the doctor, the fleet runs), each
/// long enough to scroll at 80x24, scrolled one line down.
fn report_states() -> Vec<State> {
    use super::msg::{Action, CheckState, DoctorCheck, Report};
    use super::state::{BulkRun, Feed};
    let base = stores_state();
    let mut bulk = base.clone();
    bulk.bulk = Some(BulkRun {
        action: Action::Delete,
        total: 40,
        pending: Default::default(),
        accepted: vec!["Acme Shoes".into()],
        refused: (0..39)
            .map(|i| {
                (
                    format!("Store {i}"),
                    "is Deleting; it is already being deleted".into(),
                )
            })
            .collect(),
    });
    bulk.overlay = Some(Overlay::BulkSummary { scroll: 1 });
    let mut doctor = base.clone();
    let mut checks = Feed::loading();
    checks.set(Ok((0..30)
        .map(|i| DoctorCheck {
            name: format!("check {i}"),
            state: if i % 7 == 3 {
                CheckState::Fail
            } else {
                CheckState::Ok
            },
            detail: "fine".into(),
            fix: (i % 7 == 3).then(|| "do the thing".into()),
        })
        .collect()));
    doctor.overlay = Some(Overlay::Doctor {
        report: checks,
        scroll: 1,
    });
    let mut fleet = base;
    let mut lines = Feed::loading();
    lines.set(Ok((0..60)
        .map(|i| format!("run {i}: done, 3 stores upgraded"))
        .collect()));
    fleet.overlay = Some(Overlay::Changes {
        which: Report::Fleet,
        lines,
        scroll: 1,
    });
    vec![bulk, doctor, fleet]
}

/// Every scrolling pop-up stops at its last line: after any number of
/// `j`, one `k` moves the view.
#[test]
fn scrolling_pop_ups_stop_at_their_last_line() {
    let mut help = stores_state();
    update(&mut help, Msg::Key(KeyEvent::from(KeyCode::Char('?'))));
    let mut error = detail_state('1');
    for st in error.stores.iter_mut() {
        st.error_message = Some("helm upgrade --install failed: ".repeat(100));
    }
    error.size = (80, 24);
    error.overlay = Some(Overlay::Error { scroll: 0 });
    assert!(error.overlay_max_scroll() > 0, "the error scrolls");
    let mut states = report_states();
    states.extend([help, error]);
    for mut s in states {
        let what = format!("{:?}", s.key_context());
        for _ in 0..200 {
            update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('j'))));
        }
        let bottom = screen(&s);
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('k'))));
        assert_ne!(
            screen(&s),
            bottom,
            "{what}: one k after the end moves the view up"
        );
    }
}

/// Views with a text field: every listed key works (the rest type).
#[test]
fn text_views_honour_every_listed_key() {
    let mut filter = stores_state();
    update(&mut filter, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
    let mut form = stores_state();
    update(&mut form, Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    let mut command = stores_state();
    update(&mut command, Msg::Key(KeyEvent::from(KeyCode::Char(':'))));
    let mut delete = stores_state();
    update(
        &mut delete,
        Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
    );
    // Two stores marked, then ctrl-d: the count must be typed.
    let mut bulk_delete = stores_state();
    update(
        &mut bulk_delete,
        Msg::Key(KeyEvent::from(KeyCode::Char(' '))),
    );
    update(
        &mut bulk_delete,
        Msg::Key(KeyEvent::from(KeyCode::Char(' '))),
    );
    update(
        &mut bulk_delete,
        Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
    );
    // Cora Cafe with backups configured: its schedule input and clone form.
    let mut schedule = detail_state('1');
    schedule.info.keep_deleted_days = Some(7);
    let mut clone = schedule.clone();
    update(&mut schedule, Msg::Key(KeyEvent::from(KeyCode::Char('S'))));
    update(&mut clone, Msg::Key(KeyEvent::from(KeyCode::Char('C'))));
    for (ctx, s) in [
        (Context::Schedule, schedule),
        (Context::CloneForm, clone),
        (Context::Filter, filter),
        (Context::Create, form),
        (Context::Command, command),
        (Context::ConfirmDelete, delete),
        (Context::ConfirmBulkDelete, bulk_delete),
    ] {
        assert_eq!(s.key_context(), ctx);
        for b in keys::all(ctx) {
            for k in b.keys {
                assert!(acts(&s, k.event()), "{ctx:?}: {} does nothing", k.label());
            }
        }
        assert!(keys::hint_line(ctx, false).contains("esc"));
    }
}

#[test]
fn read_only_hides_write_keys_from_help_and_footer() {
    let all: Vec<_> = keys::hints(Context::Stores, false).map(|b| b.act).collect();
    let ro: Vec<_> = keys::hints(Context::Stores, true).map(|b| b.act).collect();
    for act in [keys::Act::Create, keys::Act::Retry, keys::Act::Delete] {
        assert!(all.contains(&act) && !ro.contains(&act), "{act:?}");
    }
    for (ctx, act) in [
        (Context::Detail, keys::Act::Drill),
        (Context::Detail, keys::Act::Schedule),
        (Context::Detail, keys::Act::CloneStore),
        (Context::Detail, keys::Act::Restore),
        (Context::Detail, keys::Act::Backup),
        (Context::Deleted, keys::Act::Undelete),
    ] {
        assert!(keys::hints(ctx, false).any(|b| b.act == act), "{act:?}");
        assert!(!keys::hints(ctx, true).any(|b| b.act == act), "{act:?}");
    }
}

/// The logs pane of the failed store with 200 lines, scrolled to the middle
/// and with a search that matches elsewhere.
fn logs_state() -> State {
    use super::state::{DetailMode, Screen};
    let mut s = detail_state('1');
    s.size = (80, 24);
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('l'))));
    let c = |container: &str, init| super::msg::ContainerRef {
        pod: "web-1".into(),
        container: container.into(),
        init,
        state: if init {
            "terminated: Completed (exit 0)".into()
        } else {
            "running".into()
        },
    };
    update(
        &mut s,
        Msg::Containers {
            id: Uuid::from_u128(3),
            result: Ok(vec![c("setup", true), c("web", false)]),
        },
    );
    let Screen::Detail(d) = &mut s.screen else {
        panic!("detail")
    };
    let DetailMode::Logs(l) = &mut d.mode else {
        panic!("logs")
    };
    let lines = (0..200)
        .map(|i| {
            let word = if i % 40 == 7 { "needle" } else { "hay" };
            format!(
                "2026-03-14T11:00:00.000000000Z line {i} {word} {}",
                "x".repeat(60 + i % 30)
            )
        })
        .collect();
    l.push(lines);
    l.follow = false;
    l.top = 100;
    l.search = tui_input::Input::new("needle".into());
    s
}

#[test]
fn the_logs_help_lists_exactly_the_keys_that_work() {
    let s = logs_state();
    assert_eq!(s.key_context(), Context::Logs);
    let help = help_section(&s.help_lines(), "Logs");
    for k in ["f", "p", "w", "t", "/", "n", "N", "G", "c"] {
        assert!(help.contains(k), "{k} in the logs help");
    }
    check(Context::Logs, &[s], &help);

    let mut pick = logs_state();
    update(&mut pick, Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    update(&mut pick, Msg::Key(KeyEvent::from(KeyCode::Char('k'))));
    // One up and one down are both possible only in the middle: two states.
    let mut pick2 = logs_state();
    update(&mut pick2, Msg::Key(KeyEvent::from(KeyCode::Char('c'))));
    check(
        Context::PickContainer,
        &[pick, pick2],
        &hint_keys(Context::PickContainer),
    );
}

#[test]
fn the_wp_prompt_and_log_search_honour_every_listed_key() {
    let mut wp = detail_state('1');
    update(&mut wp, Msg::Key(KeyEvent::from(KeyCode::Char('w'))));
    let mut search = logs_state();
    update(&mut search, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
    for (ctx, s) in [(Context::Wp, wp), (Context::LogSearch, search)] {
        assert_eq!(s.key_context(), ctx);
        for b in keys::all(ctx) {
            for k in b.keys {
                let acted = acts(&s, k.event())
                    // Scrolling an empty output changes nothing to see.
                    || matches!(b.act, keys::Act::PageUp | keys::Act::PageDown);
                assert!(acted, "{ctx:?}: {} does nothing", k.label());
            }
        }
    }
}

/// The backups' pop-ups: the restore confirmation, the deleted stores
/// (the cursor in the middle, so that both moves do something) and the
/// undelete confirmation.
#[test]
fn the_backups_pop_ups_list_exactly_the_keys_that_work() {
    use super::backups::Undeletable;
    let mut restore = detail_state('1');
    update(
        &mut restore,
        Msg::Backups {
            id: Uuid::from_u128(3),
            result: Ok(super::fixtures::sample_backups()),
        },
    );
    update(&mut restore, Msg::Key(KeyEvent::from(KeyCode::Char('R'))));
    check(
        Context::ConfirmRestore,
        &[restore],
        &hint_keys(Context::ConfirmRestore),
    );

    let u = |n: u128| Undeletable {
        id: Uuid::from_u128(n),
        name: format!("Gone {n}"),
        owner: "ann@example.com".into(),
        url: format!("http://gone-{n}.localhost"),
        backed_up_at: None,
        expires_at: None,
        bytes: 0,
    };
    let mut deleted = stores_state();
    update(&mut deleted, Msg::Key(KeyEvent::from(KeyCode::Char('D'))));
    update(&mut deleted, Msg::Deleted(Ok(vec![u(20), u(21), u(22)])));
    update(&mut deleted, Msg::Key(KeyEvent::from(KeyCode::Char('j'))));
    check(
        Context::Deleted,
        &[deleted.clone()],
        &hint_keys(Context::Deleted),
    );

    let mut undelete = deleted;
    update(&mut undelete, Msg::Key(KeyEvent::from(KeyCode::Char('u'))));
    check(
        Context::ConfirmUndelete,
        &[undelete],
        &hint_keys(Context::ConfirmUndelete),
    );
}

/// The drill's confirmation: y/enter run it, n/esc cancel, nothing else.
#[test]
fn the_drill_confirmation_lists_exactly_the_keys_that_work() {
    let mut drill = detail_state('1');
    drill.info.keep_deleted_days = Some(7);
    update(&mut drill, Msg::Key(KeyEvent::from(KeyCode::Char('T'))));
    check(
        Context::ConfirmDrill,
        &[drill],
        &hint_keys(Context::ConfirmDrill),
    );
}
