//! Console figures at 10,000 stores: one frame of the stores view on a
//! `TestBackend` (80x24 and 120x40), a filter keystroke's `update()`, a
//! store notification's upsert, a sort, and the first frame (empty state,
//! before the database answered). Before the benchmarks it prints the
//! process's resident memory with 10,000 stores loaded and drawn.
//!
//! `cargo bench --bench console_render`

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use store_weaver::store::{Status, Store};
use store_weaver::tui::msg::Msg;
use store_weaver::tui::state::{Info, State};
use store_weaver::tui::update::update;
use store_weaver::tui::view::draw;
use uuid::Uuid;

fn stores(n: usize) -> Vec<Store> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let created = t0 - Duration::seconds(i as i64 * 37);
            let status = Status::ALL[i % 4];
            Store {
                id: Uuid::from_u128(i as u128 + 1),
                name: format!("Store number {i:04}"),
                namespace: format!("store-store-number-{i:04}"),
                owner: format!("user{}@example.com", i % 50),
                engine: store_weaver::store::EngineKind::Woocommerce,
                status,
                phase: if status == Status::Provisioning {
                    store_weaver::store::Phase::Installing
                } else {
                    store_weaver::store::Phase::Done
                },
                namespace_uid: None,
                url: format!("http://store-number-{i:04}.localhost"),
                error_message: (status == Status::Failed)
                    .then(|| "helm install failed".to_string()),
                attempts: 1,
                created_at: created,
                updated_at: created,
                provision_started_at: Some(created),
                ready_at: (status == Status::Ready).then(|| created + Duration::seconds(80)),
                deleted_at: None,
                chart_version: None,
                helm_revision: None,
                settings: Default::default(),
            }
        })
        .collect()
}

fn state_with(n: usize, size: (u16, u16)) -> State {
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap();
    let mut s = State::new(
        Info::example(),
        now,
        FixedOffset::east_opt(0).unwrap(),
        size,
    );
    update(&mut s, Msg::DbUp(now));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: now,
            result: Ok(stores(n)),
        },
    );
    s
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

const N: usize = 10_000;

/// Resident memory (VmRSS) and its peak (VmHWM), in MiB, from /proc.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn memory() {
    let (before, _) = rss_mib();
    let mut state = state_with(N, (120, 40));
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(&state, f)).unwrap();
    for _ in 0..20 {
        update(&mut state, key(KeyCode::PageDown));
    }
    term.draw(|f| draw(&state, f)).unwrap();
    let (after, peak) = rss_mib();
    println!(
        "memory: {N} stores loaded and drawn: RSS {after:.1} MiB (peak {peak:.1} MiB; {before:.1} MiB before loading)"
    );
    black_box(&state);
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    for (w, h) in [(120u16, 40u16), (80, 24)] {
        let state = state_with(N, (w, h));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        g.bench_function(format!("stores_view_{N}_stores_{w}x{h}"), |b| {
            b.iter(|| {
                term.draw(|f| draw(black_box(&state), f)).unwrap();
            })
        });
    }
    // Scrolled to the middle, so the rows shown are not the first ones.
    let mut state = state_with(N, (120, 40));
    for _ in 0..150 {
        update(&mut state, key(KeyCode::PageDown));
    }
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    g.bench_function("stores_view_10000_stores_120x40_scrolled", |b| {
        b.iter(|| {
            term.draw(|f| draw(black_box(&state), f)).unwrap();
        })
    });
    g.bench_function("first_frame_empty_state_120x40", |b| {
        b.iter(|| {
            let now = Utc::now();
            let s = State::new(
                Info::example(),
                now,
                FixedOffset::east_opt(0).unwrap(),
                (120, 40),
            );
            let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
            term.draw(|f| draw(&s, f)).unwrap();
        })
    });
    g.finish();
}

fn filter(c: &mut Criterion) {
    let mut g = c.benchmark_group("update");
    let mut state = state_with(N, (120, 40));
    update(&mut state, key(KeyCode::Char('/')));
    // Each iteration is one keystroke: type "1", then erase it, and so on.
    let mut typed = false;
    g.bench_function("filter_keystroke_10000_stores", |b| {
        b.iter(|| {
            let k = if typed {
                key(KeyCode::Backspace)
            } else {
                key(KeyCode::Char('1'))
            };
            typed = !typed;
            black_box(update(&mut state, k));
        })
    });
    let mut state = state_with(N, (120, 40));
    g.bench_function("cursor_down_10000_stores", |b| {
        b.iter(|| black_box(update(&mut state, key(KeyCode::Down))))
    });
    let mut state = state_with(N, (120, 40));
    let mut n = 0u128;
    let all = stores(N);
    g.bench_function("store_notification_upsert_10000_stores", |b| {
        b.iter(|| {
            n = (n + 1) % N as u128;
            let s = all[n as usize].clone();
            black_box(update(
                &mut state,
                Msg::StoreLoaded {
                    id: s.id,
                    result: Ok(Some(s)),
                    origin: None,
                },
            ));
        })
    });
    let mut state = state_with(N, (120, 40));
    g.bench_function("sort_by_next_column_10000_stores", |b| {
        b.iter(|| black_box(update(&mut state, key(KeyCode::Char('s')))))
    });
    g.finish();
}

criterion_group!(benches, render, filter);

fn main() {
    memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
