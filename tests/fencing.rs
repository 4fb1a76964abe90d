//! Fencing, against the real services: a worker cut off from PostgreSQL (its
//! link goes through a proxy the test stops) gives its work up within one
//! lease; the worker that takes over completes; and the cut-off worker, which
//! can still reach Kubernetes, deletes nothing when its own deadline passes.

mod common;

use common::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Duration;
use store_weaver::cluster::view::ClusterView;
use store_weaver::db::stores;
use store_weaver::engine::{self, CreateRequest, EngineConfig, WorkerPool, WorkerPoolConfig};
use store_weaver::runtime;
use store_weaver::store::{Actor, Phase, Status, Via};
use tokio::time::Instant;

const LEASE_SECS: u64 = 4;
/// Worker A's own provisioning deadline: without fencing it would clean up
/// (uninstall, delete the namespace) at this point, long after losing the lease.
const A_TIMEOUT_SECS: u64 = 16;

#[tokio::test]
async fn a_worker_cut_off_from_the_database_stops_and_deletes_nothing() {
    let db = TestDb::new().await;
    let lease = LEASE_SECS.to_string();
    let a_timeout = A_TIMEOUT_SECS.to_string();
    let proxy = CuttableProxy::start(url_addr(&db.url)).await;
    let a_pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&proxy.url_through(&db.url))
        .await
        .expect("connect through the proxy");

    // Worker A: values that keep the store from ever being ready.
    let a_settings = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("lease_secs", &lease),
            ("provision_timeout_secs", &a_timeout),
            (
                "values_file",
                repo("tests/fixtures/values-unschedulable.yaml")
                    .to_str()
                    .unwrap(),
            ),
        ],
    );
    let client = kube().await;
    let view = ClusterView::start(client.clone());
    let a = WorkerPool::start(WorkerPoolConfig {
        workers: 1,
        engine: Arc::new(EngineConfig::from_settings(&a_settings)),
        pool: a_pool,
        client: client.clone(),
        view: view.clone(),
    });

    let (store, _) = engine::create(
        &db.pool,
        runtime::limits(&a_settings),
        &runtime::naming(&a_settings),
        &Actor::new("tester", Via::Cli),
        &CreateRequest {
            name: unique("Fenced"),
            owner: "fence@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    eventually(
        Duration::from_secs(60),
        "worker A waiting for readiness",
        || async {
            let s = stores::get(&db.pool, store.id).await.unwrap().unwrap();
            (s.phase == Phase::WaitingForReady).then_some(())
        },
    )
    .await;
    assert_eq!(a.busy(), 1);

    // Cut A's database link. A can still reach the API server.
    proxy.cut();
    let cut_at = Instant::now();
    eventually(
        Duration::from_secs(LEASE_SECS + 2),
        "worker A to give its work up within one lease of losing the database",
        || async { (a.busy() == 0).then_some(()) },
    )
    .await;
    eprintln!("A stopped {:?} after the cut", cut_at.elapsed());

    // Worker B, with working values, takes over once A's lease has run out.
    let b_settings = settings(&db.url, "tests/fixtures/charts", &[("lease_secs", &lease)]);
    let b = WorkerPool::start(WorkerPoolConfig {
        workers: 1,
        engine: Arc::new(EngineConfig::from_settings(&b_settings)),
        pool: db.pool.clone(),
        client: client.clone(),
        view: view.clone(),
    });
    let ready = runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(120), |s| {
        !s.status.is_busy()
    })
    .await
    .unwrap();
    assert_eq!(ready.status, Status::Ready, "{:?}", ready.error_message);

    // Past A's own deadline (when an unfenced A would clean up), the store's
    // namespace is still there, not terminating, and the store still Ready.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let until = started + Duration::from_secs(A_TIMEOUT_SECS + 6);
    while Instant::now() < until {
        let ns = namespaces
            .get_opt(&ready.namespace)
            .await
            .unwrap()
            .expect("the store's namespace exists");
        assert!(
            ns.metadata.deletion_timestamp.is_none(),
            "the cut-off worker deleted the namespace of the store another worker provisioned"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let s = stores::get(&db.pool, store.id).await.unwrap().unwrap();
    assert_eq!(s.status, Status::Ready);

    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .unwrap();
    let gone = runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(120), |s| {
        !s.status.is_busy()
    })
    .await
    .unwrap();
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    b.shutdown().await;
    a.shutdown().await;
    db.drop_db().await;
}
