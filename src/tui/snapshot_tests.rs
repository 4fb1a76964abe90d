//! Every view drawn on a `TestBackend` at 80x24 and 120x40, compared with
//! the accepted snapshots in `src/tui/snapshots/` (review changes with
//! `cargo insta review`, or `INSTA_UPDATE=always` and read the diff).

use super::fixtures::{
    loaded, new_state, sample_audit, sample_events, sample_resources, sample_stores, store, t0,
};
use super::msg::Msg;
use super::state::{Info, Overlay, State};
use super::update::update;
use super::view::draw;
use crate::cluster::health::{Health, HealthState};
use crate::cluster::view::Connection;
use crate::store::Status;
use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use uuid::Uuid;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn render(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(state, f)).unwrap();
    t
}

/// Snapshots `build(size)` at both sizes.
fn snap(name: &str, build: impl Fn((u16, u16)) -> State) {
    for (w, h) in SIZES {
        let state = build((w, h));
        let t = render(&state, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn key(s: &mut State, code: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn ctrl(s: &mut State, c: char) {
    update(
        s,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    );
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

fn connected(s: &mut State) {
    update(
        s,
        Msg::Cluster(Connection {
            connected: true,
            since: t0(),
            error: None,
        }),
    );
}

fn with_health(s: &mut State) {
    let h = |state, ready, total| Health {
        state,
        summary: String::new(),
        ready_workloads: ready,
        workloads: total,
    };
    let mut all = std::collections::HashMap::new();
    all.insert(Uuid::from_u128(1), h(HealthState::Ready, 2, 2));
    all.insert(Uuid::from_u128(2), h(HealthState::Progressing, 0, 2));
    all.insert(Uuid::from_u128(3), h(HealthState::Degraded, 1, 2));
    all.insert(Uuid::from_u128(5), h(HealthState::Ready, 2, 2));
    update(s, Msg::HealthAll(all));
}

fn stores_at(size: (u16, u16)) -> State {
    let mut s = loaded(sample_stores());
    s.size = size;
    connected(&mut s);
    with_health(&mut s);
    s
}

fn detail_at(size: (u16, u16)) -> State {
    let mut s = stores_at(size);
    typed(&mut s, "/cora");
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Enter);
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

#[test]
fn stores_view() {
    snap("stores", stores_at);
}

#[test]
fn stores_view_many_rows_scrolled() {
    snap("stores_many", |size| {
        let stores = (0..300)
            .map(|i| {
                store(
                    100 + i,
                    &format!("Shop {i:03}"),
                    &format!("user{}@example.com", i % 7),
                    Status::ALL[(i % 4) as usize],
                    i as i64 * 97,
                )
            })
            .collect();
        let mut s = loaded(stores);
        s.size = size;
        connected(&mut s);
        key(&mut s, KeyCode::PageDown);
        key(&mut s, KeyCode::PageDown);
        key(&mut s, KeyCode::Down);
        s
    });
}

#[test]
fn empty_state() {
    snap("empty", |size| {
        let mut s = loaded(Vec::new());
        s.size = size;
        connected(&mut s);
        s
    });
}

#[test]
fn loading_state() {
    snap("loading", |size| new_state(Info::example(), size));
}

#[test]
fn database_unreachable_at_start() {
    snap("db_unreachable", |size| {
        let mut s = new_state(Info::example(), size);
        connected(&mut s);
        update(
            &mut s,
            Msg::DbDown {
                at: t0() - Duration::seconds(75),
                error: "error communicating with database: Connection refused (os error 111)"
                    .into(),
            },
        );
        s
    });
}

#[test]
fn database_lost_keeps_the_last_list() {
    snap("db_lost_with_stores", |size| {
        let mut s = stores_at(size);
        update(
            &mut s,
            Msg::DbDown {
                at: t0() - Duration::seconds(12),
                error: "the connection to the database was lost".into(),
            },
        );
        s
    });
}

#[test]
fn watch_disconnected() {
    snap("watch_disconnected", |size| {
        let mut s = stores_at(size);
        update(&mut s, Msg::Cluster(Connection {
            connected: false,
            since: t0() - Duration::seconds(40),
            error: Some("pods: failed to perform initial object list: ServiceError: client error (Connect)".into()),
        }));
        s
    });
}

#[test]
fn no_cluster_at_all() {
    snap("no_cluster", |size| {
        let mut s = loaded(sample_stores());
        s.size = size;
        update(
            &mut s,
            Msg::ClusterUnavailable(
                "cannot read kubeconfig /nope: No such file or directory (os error 2)".into(),
            ),
        );
        s
    });
}

#[test]
fn filter_active() {
    snap("filter", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "/ann");
        s
    });
    snap("filter_no_match", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "/zzz");
        key(&mut s, KeyCode::Enter);
        s
    });
}

#[test]
fn read_only_mode() {
    snap("read_only", |size| {
        let mut info = Info::example();
        info.read_only = true;
        info.workers = 0;
        let mut s = new_state(info, size);
        update(
            &mut s,
            Msg::StoresLoaded {
                at: t0(),
                result: Ok(sample_stores()),
            },
        );
        update(&mut s, Msg::DbUp(t0()));
        connected(&mut s);
        s
    });
    snap("read_only_help", |size| {
        let mut info = Info::example();
        info.read_only = true;
        let mut s = new_state(info, size);
        update(
            &mut s,
            Msg::StoresLoaded {
                at: t0(),
                result: Ok(sample_stores()),
            },
        );
        typed(&mut s, "?");
        s
    });
}

#[test]
fn detail_view() {
    snap("detail", detail_at);
    snap("detail_events", |size| {
        let mut s = detail_at(size);
        typed(&mut s, "e");
        s
    });
    snap("detail_timeline", |size| {
        let mut s = detail_at(size);
        typed(&mut s, "3");
        s
    });
}

#[test]
fn detail_loading_and_errors() {
    snap("detail_loading", |size| {
        let mut s = stores_at(size);
        key(&mut s, KeyCode::Enter);
        s
    });
    snap("detail_cluster_error", |size| {
        let mut s = stores_at(size);
        key(&mut s, KeyCode::Enter);
        let id = s.detail().unwrap().id;
        update(
            &mut s,
            Msg::Resources {
                id,
                result: Err("cluster: no answer after 15s".into()),
            },
        );
        update(
            &mut s,
            Msg::Events {
                id,
                result: Ok(Vec::new()),
            },
        );
        s
    });
}

#[test]
fn full_error_overlay() {
    snap("error_overlay", |size| {
        let mut s = detail_at(size);
        if let super::state::Screen::Detail(d) = &mut s.screen {
            d.store.error_message = Some(format!(
                "{} {}",
                "helm upgrade --install failed:",
                "Error: context deadline exceeded; ".repeat(12)
            ));
        }
        let id = Uuid::from_u128(3);
        let mut failed = s.store(id).unwrap().clone();
        failed.error_message = s.detail().unwrap().store.error_message.clone();
        update(
            &mut s,
            Msg::StoreLoaded {
                id,
                result: Ok(Some(failed)),
                origin: None,
            },
        );
        typed(&mut s, "x");
        s
    });
}

#[test]
fn help_overlay() {
    snap("help", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "?");
        s
    });
    snap("help_scrolled_to_the_end", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "?");
        typed(&mut s, &"j".repeat(90));
        s
    });
    snap("help_detail", |size| {
        let mut s = detail_at(size);
        typed(&mut s, "?");
        s
    });
}

#[test]
fn create_form() {
    snap("create_empty", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "c");
        s
    });
    snap("create_invalid", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "c!");
        key(&mut s, KeyCode::Tab);
        ctrl(&mut s, 'u');
        typed(&mut s, "ann example");
        key(&mut s, KeyCode::Tab);
        ctrl(&mut s, 'u');
        typed(&mut s, "shopify");
        key(&mut s, KeyCode::Enter);
        s
    });
    snap("create_limit", |size| {
        let mut s = stores_at(size);
        s.info.max_stores_per_user = 2;
        typed(&mut s, "cFresh Shop");
        key(&mut s, KeyCode::Tab);
        ctrl(&mut s, 'u');
        typed(&mut s, "ann@example.com");
        s
    });
    snap("create_valid", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "cFresh Shop");
        s
    });
    snap("create_refused_by_engine", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "cFresh Shop");
        ctrl(&mut s, 's');
        update(&mut s, Msg::Created(Err("database error: pool timed out while waiting for an open connection; check that PostgreSQL is reachable".into())));
        s
    });
}

#[test]
fn confirmations() {
    snap("confirm_delete", |size| {
        let mut s = stores_at(size);
        ctrl(&mut s, 'd');
        typed(&mut s, "Bolt");
        s
    });
    snap("confirm_delete_with_backups", |size| {
        let mut s = stores_at(size);
        s.info.keep_deleted_days = Some(7);
        ctrl(&mut s, 'd');
        s
    });
    snap("confirm_delete_mismatch", |size| {
        let mut s = stores_at(size);
        ctrl(&mut s, 'd');
        typed(&mut s, "bolt bikes");
        key(&mut s, KeyCode::Enter);
        s
    });
    snap("confirm_retry", |size| {
        let mut s = detail_at(size);
        typed(&mut s, "r");
        s
    });
    snap("confirm_quit", |size| {
        let mut s = stores_at(size);
        update(
            &mut s,
            Msg::Created(Ok(store(
                9,
                "Fresh Shop",
                "operator",
                Status::Provisioning,
                0,
            ))),
        );
        s.flash = None;
        typed(&mut s, "q");
        s
    });
}

#[test]
fn command_line_and_flash() {
    snap("command", |size| {
        let mut s = stores_at(size);
        typed(&mut s, ":sort na");
        s
    });
    snap("flash_error", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "r");
        s
    });
}

#[test]
fn no_color_keeps_every_cell_uncoloured() {
    for color in [true, false] {
        let mut s = stores_at((120, 40));
        s.info.theme.color = color;
        update(
            &mut s,
            Msg::DbDown {
                at: t0(),
                error: "down".into(),
            },
        );
        let t = render(&s, 120, 40);
        let buf = t.backend().buffer();
        let coloured = buf
            .content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count();
        if color {
            assert!(
                coloured > 100,
                "colour is used when allowed ({coloured} cells)"
            );
        } else {
            assert_eq!(coloured, 0, "NO_COLOR: no cell has a colour");
        }
        // Either way the status is spelled out with a glyph.
        let text = t.backend().to_string();
        assert!(
            text.contains("✗ Failed")
                && text.contains("● Ready")
                && text.contains("◐ Provisioning")
        );
    }
}

#[test]
fn the_cursor_sits_in_the_field_being_typed() {
    let mut s = stores_at((80, 24));
    typed(&mut s, "cAb");
    let mut t = render(&s, 80, 24);
    let pos = t.get_cursor_position().unwrap();
    let line: String = (0..80)
        .map(|x| t.backend().buffer()[(x, pos.y)].symbol().to_string())
        .collect();
    assert!(line.contains("›Name     Ab"), "{line}");
    assert_eq!(t.backend().buffer()[(pos.x - 1, pos.y)].symbol(), "b");
    assert!(matches!(s.overlay, Some(Overlay::Create(_))));
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 5), (40, 10), (80, 3), (300, 100)] {
        for build in [stores_at as fn((u16, u16)) -> State, detail_at] {
            let mut s = build((w, h));
            render(&s, w, h);
            for keys in ["?", "c", ":x"] {
                typed(&mut s, keys);
                render(&s, w, h);
                key(&mut s, KeyCode::Esc);
            }
        }
    }
}

// ------------------------------------------------- issue 16: incident tools

fn containers() -> Vec<super::msg::ContainerRef> {
    let c = |pod: &str, container: &str, init| super::msg::ContainerRef {
        pod: pod.into(),
        container: container.into(),
        init,
        state: if init {
            "terminated: Completed (exit 0)".into()
        } else {
            "running".into()
        },
    };
    vec![
        c("web-7c9f", "copy-files", true),
        c("web-7c9f", "setup-store", true),
        c("web-7c9f", "web", false),
        c("mariadb-0", "mariadb", false),
    ]
}

fn log_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let text = match i % 4 {
                0 => format!(
                    "10.42.0.1 - - \"GET /?p={i} HTTP/1.1\" 200 5120 \"-\" \"kube-probe/1.37\""
                ),
                1 => "[php:notice] shop: cron ran action_scheduler_run_queue".to_string(),
                2 => format!("[core:error] AH00126: Invalid URI in request GET /admin/{i}"),
                _ => "cli: Success: Updated 'shop_coming_soon' option.".to_string(),
            };
            format!(
                "2026-03-14T11:{:02}:{:02}.123456789Z {text}",
                (i / 60) % 60,
                i % 60
            )
        })
        .collect()
}

/// The detail's logs pane with lines from the store's web container.
fn logs_at(size: (u16, u16)) -> State {
    let mut s = detail_at(size);
    typed(&mut s, "l");
    let id = Uuid::from_u128(3);
    update(
        &mut s,
        Msg::Containers {
            id,
            result: Ok(containers()),
        },
    );
    let stream = match &s.screen {
        super::state::Screen::Detail(d) => match &d.mode {
            super::state::DetailMode::Logs(l) => l.stream,
            _ => panic!("logs open"),
        },
        _ => panic!("detail open"),
    };
    update(
        &mut s,
        Msg::LogLines {
            stream,
            lines: log_lines(120),
        },
    );
    s
}

#[test]
fn logs_pane() {
    snap("logs_following", logs_at);
    snap("logs_wrapped_with_timestamps_searched", |size| {
        let mut s = logs_at(size);
        typed(&mut s, "wt/error");
        key(&mut s, KeyCode::Enter);
        s
    });
    snap("logs_container_picker", |size| {
        let mut s = logs_at(size);
        typed(&mut s, "ck");
        s
    });
    snap("logs_cluster_refused", |size| {
        let mut s = detail_at(size);
        typed(&mut s, "l");
        update(
            &mut s,
            Msg::Containers {
                id: Uuid::from_u128(3),
                result: Err("store \"Cora Cafe\" does not own namespace store-cora-cafe (no store-id label); refusing to show its pods".into()),
            },
        );
        s
    });
}

fn wp_at(size: (u16, u16), read_only: bool) -> State {
    let mut s = detail_at(size);
    s.info.read_only = read_only;
    typed(&mut s, "w");
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Msg::WpDone {
            seq: 1,
            result: Ok(super::msg::WpOutput {
                stdout: "+-------------+--------+-----------+---------+\n| name        | status | update    | version |\n+-------------+--------+-----------+---------+\n| storefront  | active | none      | 9.8.1   |\n| hello       | inactive | available | 1.7.2 |\n+-------------+--------+-----------+---------+".into(),
                stderr: String::new(),
                exit_code: Some(0),
            }),
        },
    );
    typed(&mut s, "user lis");
    s
}

#[test]
fn wp_prompt() {
    snap("wp_prompt_with_output", |size| wp_at(size, false));
    snap("wp_prompt_read_only_refusal", |size| {
        let mut s = wp_at(size, true);
        for _ in 0..8 {
            key(&mut s, KeyCode::Backspace);
        }
        typed(&mut s, "cache flush");
        key(&mut s, KeyCode::Enter);
        s
    });
}

#[test]
fn marks_and_bulk_actions() {
    snap("stores_marked", |size| {
        let mut s = stores_at(size);
        typed(&mut s, " j ");
        s
    });
    snap("bulk_delete_confirmation", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "*");
        ctrl(&mut s, 'd');
        typed(&mut s, "4");
        s
    });
    snap("bulk_summary", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "*");
        ctrl(&mut s, 'd');
        typed(&mut s, "4");
        let cmds = update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        for (i, c) in cmds.into_iter().enumerate() {
            if let super::msg::Command::Delete { id, name } = c {
                let result = if i == 1 {
                    Err("the store changed meanwhile: it is now Deleting".to_string())
                } else {
                    let mut st = s.store(id).cloned().unwrap();
                    st.status = Status::Deleting;
                    Ok(st)
                };
                update(
                    &mut s,
                    Msg::Acted {
                        action: super::msg::Action::Delete,
                        id,
                        name,
                        result,
                    },
                );
            }
        }
        s.flash = None;
        s
    });
}

#[test]
fn doctor_report() {
    use super::msg::{CheckState, DoctorCheck};
    snap("doctor", |size| {
        let mut s = stores_at(size);
        typed(&mut s, ":doctor");
        key(&mut s, KeyCode::Enter);
        let c = |name: &str, state, detail: &str, fix: Option<&str>| DoctorCheck {
            name: name.into(),
            state,
            detail: detail.into(),
            fix: fix.map(str::to_string),
        };
        update(
            &mut s,
            Msg::Doctor(Ok(vec![
                c(
                    "database",
                    CheckState::Ok,
                    "reachable, 3 migrations applied",
                    None,
                ),
                c(
                    "cluster",
                    CheckState::Ok,
                    "v1.37.2 at https://127.0.0.1:6443",
                    None,
                ),
                c(
                    "permissions",
                    CheckState::Fail,
                    "cannot create networkpolicies in store namespaces",
                    Some("apply config/rbac.yaml (kubectl apply -f config/rbac.yaml)"),
                ),
                c("helm", CheckState::Ok, "v3.22.0", None),
                c(
                    "storage class",
                    CheckState::Warn,
                    "no default StorageClass; volumes stay Pending",
                    Some(
                        "mark one default: kubectl annotate storageclass local-path storageclass.kubernetes.io/is-default-class=true",
                    ),
                ),
            ])),
        );
        s
    });
}

/// Cora Cafe's detail with its backups loaded.
fn backups_at(size: (u16, u16)) -> State {
    let mut s = detail_at(size);
    update(
        &mut s,
        Msg::Backups {
            id: Uuid::from_u128(3),
            result: Ok(super::fixtures::sample_backups()),
        },
    );
    s
}

#[test]
fn backups_in_the_detail() {
    // 80x24: the fourth tab; 120x40: a pane of its own; the top row marked.
    snap("detail_backups", |size| {
        let mut s = backups_at(size);
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
        typed(&mut s, "b");
        s
    });
    snap("detail_backups_empty", |size| {
        let mut s = detail_at(size);
        update(
            &mut s,
            Msg::Backups {
                id: Uuid::from_u128(3),
                result: Ok(Vec::new()),
            },
        );
        typed(&mut s, "4");
        s
    });
    // The newest complete one (the third row), named in the confirmation.
    snap("confirm_restore", |size| {
        let mut s = backups_at(size);
        typed(&mut s, "R");
        s
    });
}

fn deleted_stores() -> Vec<super::backups::Undeletable> {
    let u = |n: u128, name: &str, owner: &str, days_ago: i64| super::backups::Undeletable {
        id: Uuid::from_u128(n),
        name: name.into(),
        owner: owner.into(),
        url: format!("http://{}.localhost", crate::store::slugify(name)),
        backed_up_at: Some(t0() - Duration::days(days_ago)),
        expires_at: Some(t0() + Duration::days(7 - days_ago)),
        bytes: 13_000_000 * n as i64,
    };
    vec![
        u(20, "Fig Flowers", "fay@example.com", 1),
        u(21, "Gulf Games", "gus@example.com", 3),
        u(22, "Hill Honey", "ann@example.com", 6),
    ]
}

#[test]
fn deleted_stores_and_undelete() {
    snap("deleted", |size| {
        let mut s = stores_at(size);
        s.info.keep_deleted_days = Some(7);
        typed(&mut s, "D");
        update(&mut s, Msg::Deleted(Ok(deleted_stores())));
        typed(&mut s, "j");
        s
    });
    snap("deleted_none", |size| {
        let mut s = stores_at(size);
        typed(&mut s, ":deleted");
        key(&mut s, KeyCode::Enter);
        update(&mut s, Msg::Deleted(Ok(Vec::new())));
        s
    });
    snap("confirm_undelete", |size| {
        let mut s = stores_at(size);
        typed(&mut s, "D");
        update(&mut s, Msg::Deleted(Ok(deleted_stores())));
        typed(&mut s, "ju");
        s
    });
}

#[test]
fn stores_without_a_good_backup_are_marked() {
    // Backups configured: Acme Shoes (Ready) backed up 2 h ago, Echo Audio
    // (Ready) 2 days ago, Cora Cafe (Failed) never: Echo Audio is marked.
    snap("stores_backup_ages", |size| {
        let mut s = stores_at(size);
        s.info.keep_deleted_days = Some(7);
        let mut newest = std::collections::HashMap::new();
        newest.insert(Uuid::from_u128(1), t0() - Duration::hours(2));
        newest.insert(Uuid::from_u128(5), t0() - Duration::days(2));
        update(
            &mut s,
            Msg::NewestGood {
                at: t0(),
                result: Ok(newest),
            },
        );
        s
    });
}

/// Cora Cafe's detail with backups configured, its backups and schedule,
/// and its drills: `failed` puts a failed drill on top.
fn drills_at(size: (u16, u16), failed: bool) -> State {
    use crate::db::drills::Outcome;
    let mut s = backups_at(size);
    s.info.keep_deleted_days = Some(7);
    let id = Uuid::from_u128(3);
    update(
        &mut s,
        Msg::Schedule {
            id,
            result: Ok(crate::engine::schedule::ScheduleView {
                own_hours: Some(6),
                every_hours: Some(6),
                described: "every 6 h (set for this store)".into(),
                next_at: Some(t0() + Duration::hours(3)),
                newest_good_at: Some(t0() - Duration::hours(2)),
            }),
        },
    );
    let mut drills = vec![super::fixtures::drill(1, Some(Outcome::Passed), 2 * 86_400)];
    if failed {
        let mut f = super::fixtures::drill(2, Some(Outcome::Failed), 3_600);
        f.detail = Some(
            "the restore could not start: part database of backup 1a24c52: checksum mismatch"
                .into(),
        );
        drills.insert(0, f);
    }
    update(
        &mut s,
        Msg::Drills {
            id,
            result: Ok(crate::engine::drill::DrillsView {
                drills,
                last_good_at: Some(t0() - Duration::days(2)),
                every_days: Some(7),
                next_at: Some(t0() + Duration::hours(30)),
            }),
        },
    );
    s
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_detail_says_the_last_good_restore_and_marks_a_failed_drill() {
    for (w, h) in SIZES {
        let t = render(&drills_at((w, h), false), w, h);
        let text = screen_text(&t);
        assert!(
            text.contains("last good restore: 2 days ago; next drill 2026-03-15 18:00"),
            "{w}x{h}:\n{text}"
        );
        let t = render(&drills_at((w, h), true), w, h);
        let text = screen_text(&t);
        let row = text
            .lines()
            .position(|l| {
                l.contains("last good restore: 2 days ago, newest drill FAILED 1h ago; next drill")
            })
            .unwrap_or_else(|| panic!("{w}x{h}:\n{text}"));
        // The words after the key are drawn as an error.
        let col = text
            .lines()
            .nth(row)
            .unwrap()
            .chars()
            .position(|c| c == ':')
            .unwrap()
            + 3;
        let cell = &t.backend().buffer()[(col as u16, row as u16)];
        assert_eq!(cell.fg, Color::Red, "{w}x{h}: {:?}", cell);
    }
    // Backups off: no line.
    let mut s = drills_at((120, 40), false);
    s.info.keep_deleted_days = None;
    assert!(!screen_text(&render(&s, 120, 40)).contains("last good restore"));
}

#[test]
fn drills_in_the_detail() {
    // 80x24: the backups tab with the drills under the backups; 120x40:
    // the backups pane holds both.
    snap("detail_drills", |size| {
        let mut s = drills_at(size, true);
        typed(&mut s, "b");
        s
    });
    snap("detail_drills_none", |size| {
        let mut s = backups_at(size);
        s.info.keep_deleted_days = Some(7);
        update(
            &mut s,
            Msg::Drills {
                id: Uuid::from_u128(3),
                result: Ok(crate::engine::drill::DrillsView {
                    drills: Vec::new(),
                    last_good_at: None,
                    every_days: None,
                    next_at: None,
                }),
            },
        );
        typed(&mut s, "b");
        s
    });
    snap("confirm_drill", |size| {
        let mut s = drills_at(size, false);
        typed(&mut s, "T");
        s
    });
    snap("schedule_invalid", |size| {
        let mut s = drills_at(size, false);
        typed(&mut s, "S");
        key(&mut s, KeyCode::Backspace);
        typed(&mut s, "x");
        s
    });
    snap("clone_form", |size| {
        let mut s = drills_at(size, false);
        typed(&mut s, "C");
        s
    });
}
