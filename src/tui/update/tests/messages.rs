//! Messages that are not keys: the database, notifications, the cluster, the clock.

use super::*;

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
