//! Workers and the cluster view when the API server cannot be reached, the
//! link cut or blackholed through a proxy the test controls: a worker whose
//! view is disconnected takes no work (a healthy one does it); a request
//! that gets no answer hands the operation back instead of failing the
//! store; a silent partition is noticed within the configured silence.

mod common;

use common::partition::PartitionProxy;
use common::real::create_store;
use common::*;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;
use store_weaver::cluster::view::{ClusterView, Connection, WatchOptions};
use store_weaver::config::Settings;
use store_weaver::db::operations;
use store_weaver::engine::{self, EngineConfig, WorkerPool, WorkerPoolConfig};
use store_weaver::store::{Actor, Status, Via};

/// The sandbox API server's address, for the proxy.
fn api_server() -> std::net::SocketAddr {
    let kc = kube::config::Kubeconfig::read_from(require_env("KUBECONFIG")).unwrap();
    let server = kc.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.server.clone())
        .unwrap();
    let hostport = server.trim_start_matches("https://").trim_end_matches('/');
    hostport.to_socket_addrs().unwrap().next().unwrap()
}

fn pool_of(s: &Settings, db: &TestDb, client: kube::Client, view: ClusterView) -> WorkerPool {
    WorkerPool::start(WorkerPoolConfig {
        workers: 2,
        engine: Arc::new(EngineConfig::from_settings(s)),
        pool: db.pool.clone(),
        client,
        view,
    })
}

async fn until_connection(view: &ClusterView, connected: bool, within: Duration) -> Connection {
    let mut rx = view.connection();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let c = rx.borrow_and_update().clone();
        if c.connected == connected {
            return c;
        }
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep_until(deadline) => {
                panic!("the view did not become connected={connected} within {within:?}: {c:?}")
            }
        }
    }
}

async fn delete_all(db: &TestDb, ids: &[uuid::Uuid]) {
    for id in ids {
        engine::delete(&db.pool, &Actor::new("tester", Via::Cli), *id, None)
            .await
            .unwrap();
    }
    for id in ids {
        let s = settle(db, *id, 150).await;
        assert_eq!(s.status, Status::Deleted, "{:?}", s.error_message);
    }
}

#[tokio::test]
async fn a_worker_cut_off_from_the_cluster_claims_nothing_and_a_healthy_one_does_the_work() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = PartitionProxy::start(api_server()).await;
    let cut_settings = settings(
        &db.url,
        "tests/fixtures/charts",
        &[("kubeconfig", proxy.kubeconfig(dir.path()).to_str().unwrap())],
    );
    let cut_client = store_weaver::cluster::streaming_client(&cut_settings)
        .await
        .unwrap();
    let cut_view = ClusterView::start(cut_client.clone());
    until_connection(&cut_view, true, Duration::from_secs(60)).await;
    proxy.cut();
    until_connection(&cut_view, false, Duration::from_secs(30)).await;
    let cut_off = pool_of(&cut_settings, &db, cut_client, cut_view);

    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let healthy = workers(&s, &db, 2).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            create_store(&db, &s, &unique(&format!("Partitioned {i}")), "woocommerce")
                .await
                .id,
        );
    }
    for id in &ids {
        let done = settle(&db, *id, 180).await;
        assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
        let ops = operations::for_store(&db.pool, *id).await.unwrap();
        assert_eq!(
            ops[0].claims, 1,
            "claimed once, by the healthy worker: the cut-off one took nothing"
        );
    }
    cut_off.shutdown().await;
    delete_all(&db, &ids).await;
    healthy.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_request_that_gets_no_answer_hands_the_operation_back() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = PartitionProxy::start(api_server()).await;
    // The view still sees the cluster; the worker's own requests go through
    // a link that is cut: every one of them fails to connect.
    let cut_settings = settings(
        &db.url,
        "tests/fixtures/charts",
        &[("kubeconfig", proxy.kubeconfig(dir.path()).to_str().unwrap())],
    );
    proxy.cut();
    let cut_client = store_weaver::cluster::client(&cut_settings).await.unwrap();
    let view = ClusterView::start(kube().await);
    until_connection(&view, true, Duration::from_secs(60)).await;
    let a = pool_of(&cut_settings, &db, cut_client, view);

    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let store = create_store(&db, &s, &unique("No Answer"), "woocommerce").await;
    // A claims it, gets no answer, and hands it back instead of failing it.
    let op = eventually(
        Duration::from_secs(60),
        "the operation claimed and handed back (or ended)",
        || async {
            let st = store_weaver::db::stores::get(&db.pool, store.id)
                .await
                .unwrap()
                .unwrap();
            if !st.status.is_busy() {
                return Some(Err(st));
            }
            let ops = operations::for_store(&db.pool, store.id).await.unwrap();
            // Claimed (it has an owner) and no longer worked on.
            (ops[0].lease_owner.is_some() && a.busy() == 0).then_some(Ok(ops[0].clone()))
        },
    )
    .await;
    let op = match op {
        Ok(op) => op,
        Err(st) => panic!(
            "the store ended while the cluster could not be reached: {:?} {:?}",
            st.status, st.error_message
        ),
    };
    assert_eq!(op.state, operations::State::Running, "{op:?}");
    a.shutdown().await;

    // A worker that can reach the cluster completes it.
    let b = workers(&s, &db, 1).await;
    let done = settle(&db, store.id, 180).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    let ops = operations::for_store(&db.pool, store.id).await.unwrap();
    assert_eq!(
        ops[0].claims, 1,
        "a hand-back for an unreachable cluster is not counted as an interruption"
    );
    delete_all(&db, &[store.id]).await;
    b.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_silent_partition_is_noticed_within_the_silence_limit() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = PartitionProxy::start(api_server()).await;
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[("kubeconfig", proxy.kubeconfig(dir.path()).to_str().unwrap())],
    );
    let client = store_weaver::cluster::streaming_client(&s).await.unwrap();
    let silence = Duration::from_secs(6);
    let open_timeout = Duration::from_secs(4);
    let view = ClusterView::start_with(
        client,
        WatchOptions {
            silence,
            open_timeout,
            ..WatchOptions::default()
        },
    );
    until_connection(&view, true, Duration::from_secs(60)).await;
    // Every watch open: the partition meets open streams, as it would a
    // process that has run for a while, not a first watch request.
    eventually(Duration::from_secs(60), "every watch open", || async {
        view.watching().then_some(())
    })
    .await;
    proxy.blackhole();
    let at = tokio::time::Instant::now();
    // The silence, plus slack for a loaded machine; far below the 300 s a
    // watch waited before.
    let lost = until_connection(&view, false, (silence + open_timeout) * 3).await;
    eprintln!("noticed after {:?}: {lost:?}", at.elapsed());
    let error = lost.error.unwrap_or_default();
    assert!(error.contains("no event or bookmark"), "says why: {error}");
}

#[tokio::test]
async fn connections_to_the_api_server_have_tcp_keepalive() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = PartitionProxy::start(api_server()).await;
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[("kubeconfig", proxy.kubeconfig(dir.path()).to_str().unwrap())],
    );
    for (which, client) in [
        ("request", store_weaver::cluster::client(&s).await.unwrap()),
        (
            "streaming",
            store_weaver::cluster::streaming_client(&s).await.unwrap(),
        ),
    ] {
        client.apiserver_version().await.unwrap();
        // The kernel's view of this process's connection to the proxy: a
        // socket with SO_KEEPALIVE shows a keepalive timer.
        let out = std::process::Command::new("ss")
            .args(["-tnoH", "state", "established"])
            .arg(format!("dst 127.0.0.1:{}", proxy.addr.port()))
            .output()
            .expect("run ss");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("keepalive"),
            "the {which} client's connection has no keepalive timer: {text}"
        );
    }
}

/// A provision that times out while the worker's view of the cluster is
/// cut off says so in the store's error: the store is not blamed alone.
/// (Its pods stay Pending, so it would time out anyway: the message is the
/// point.)
#[tokio::test]
async fn a_provision_that_times_out_while_disconnected_says_so() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = PartitionProxy::start(api_server()).await;
    let values = repo("tests/fixtures/values-unschedulable.yaml");
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("provision_timeout_secs", "25"),
            ("values_file", values.to_str().unwrap()),
        ],
    );
    // The worker's own requests reach the API server directly; its view
    // goes through the proxy, with short silence limits.
    let view_settings = settings(
        &db.url,
        "tests/fixtures/charts",
        &[("kubeconfig", proxy.kubeconfig(dir.path()).to_str().unwrap())],
    );
    let view = ClusterView::start_with(
        store_weaver::cluster::streaming_client(&view_settings)
            .await
            .unwrap(),
        WatchOptions {
            silence: Duration::from_secs(4),
            open_timeout: Duration::from_secs(3),
            ..WatchOptions::default()
        },
    );
    until_connection(&view, true, Duration::from_secs(60)).await;
    eventually(Duration::from_secs(60), "every watch open", || async {
        view.watching().then_some(())
    })
    .await;
    let pool = pool_of(&s, &db, kube().await, view.clone());
    let store = create_store(&db, &s, &unique("Cut While Waiting"), "woocommerce").await;
    // Once the worker has installed the chart and waits for Ready, the view
    // goes silent.
    eventually(
        Duration::from_secs(60),
        "the store waiting for Ready",
        || async {
            let st = store_weaver::db::stores::get(&db.pool, store.id)
                .await
                .unwrap()
                .unwrap();
            (st.phase == store_weaver::store::Phase::WaitingForReady).then_some(())
        },
    )
    .await;
    proxy.blackhole();
    until_connection(&view, false, Duration::from_secs(30)).await;
    let failed = settle(&db, store.id, 120).await;
    assert_eq!(failed.status, Status::Failed, "{:?}", failed.error_message);
    let msg = failed.error_message.unwrap_or_default();
    assert!(msg.starts_with("timed out after 25s"), "{msg}");
    assert!(
        msg.contains("the cluster watch was disconnected"),
        "the timeout says the platform could not see the cluster: {msg}"
    );
    pool.shutdown().await;
    db.drop_db().await;
}
