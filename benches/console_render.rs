//! Console figures: one frame of the stores view with 1,000 stores on a
//! 120x40 `TestBackend`, a filter keystroke's `update()` over 1,000 stores,
//! and the first frame (empty state, before the database answered).
//!
//! `cargo bench --bench console_render`

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
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
                engine: "woocommerce".into(),
                status,
                phase: if status == Status::Provisioning {
                    "installing".into()
                } else {
                    "done".into()
                },
                url: format!("http://store-number-{i:04}.localhost"),
                error_message: (status == Status::Failed)
                    .then(|| "helm install failed".to_string()),
                attempts: 1,
                created_at: created,
                updated_at: created,
                provision_started_at: Some(created),
                ready_at: (status == Status::Ready).then(|| created + Duration::seconds(80)),
                deleted_at: None,
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

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    for (w, h) in [(120u16, 40u16), (80, 24)] {
        let state = state_with(1000, (w, h));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        g.bench_function(format!("stores_view_1000_stores_{w}x{h}"), |b| {
            b.iter(|| {
                term.draw(|f| draw(black_box(&state), f)).unwrap();
            })
        });
    }
    // Scrolled to the middle, so the rows shown are not the first ones.
    let mut state = state_with(1000, (120, 40));
    for _ in 0..15 {
        update(&mut state, key(KeyCode::PageDown));
    }
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    g.bench_function("stores_view_1000_stores_120x40_scrolled", |b| {
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
    let mut state = state_with(1000, (120, 40));
    update(&mut state, key(KeyCode::Char('/')));
    // Each iteration is one keystroke: type "1", then erase it, and so on.
    let mut typed = false;
    g.bench_function("filter_keystroke_1000_stores", |b| {
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
    let mut state = state_with(1000, (120, 40));
    g.bench_function("cursor_down_1000_stores", |b| {
        b.iter(|| black_box(update(&mut state, key(KeyCode::Down))))
    });
    let mut state = state_with(1000, (120, 40));
    let mut n = 0u128;
    let all = stores(1000);
    g.bench_function("store_notification_upsert_1000_stores", |b| {
        b.iter(|| {
            n = (n + 1) % 1000;
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
    g.finish();
}

criterion_group!(benches, render, filter);
criterion_main!(benches);
