//! Workers as real processes: a worker killed with SIGKILL mid-provision is
//! replaced once its lease expires, and two worker processes never run the
//! same operation at the same time. SIGTERM hands work back.

mod common;

use common::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use store_weaver::db::{audit, operations};
use store_weaver::engine::{self, CreateRequest};
use store_weaver::runtime;
use store_weaver::store::{Actor, Status, Store, Via};
use uuid::Uuid;

fn spawn_worker(db_url: &str, values: &str, lease: &str, workers: &str, log: &str) -> Child {
    let log_file = std::fs::File::create(std::env::temp_dir().join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .arg("worker")
        .args(["--database-url", db_url])
        .args(["--kubeconfig", &require_env("KUBECONFIG")])
        .args([
            "--charts-dir",
            repo("tests/fixtures/charts").to_str().unwrap(),
        ])
        .args(["--values-file", repo(values).to_str().unwrap()])
        .args([
            "--lease",
            lease,
            "--workers",
            workers,
            "--provision-timeout",
            "180",
        ])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start a worker process")
}

fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

async fn create(db: &TestDb, name: &str) -> Store {
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[("max_stores", "50"), ("max_stores_per_user", "50")],
    );
    engine::create(
        &db.pool,
        runtime::limits(&s),
        &runtime::naming(&s),
        &Actor::new("tester", Via::Cli),
        &CreateRequest {
            name: name.into(),
            owner: "ops@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap()
    .0
}

async fn store(db: &TestDb, id: Uuid) -> Store {
    store_weaver::db::stores::get(&db.pool, id)
        .await
        .unwrap()
        .unwrap()
}
#[tokio::test]
async fn a_worker_killed_mid_provision_is_replaced_after_its_lease_expires() {
    let db = TestDb::new().await;
    let s = create(&db, &unique("Killed Mid Way")).await;

    // Worker A installs with values that keep the store from ever being ready.
    let mut a = spawn_worker(
        &db.url,
        "tests/fixtures/values-unschedulable.yaml",
        "3",
        "1",
        "sw-worker-a.log",
    );
    eventually(
        Duration::from_secs(60),
        "worker A waiting for readiness",
        || async {
            (store(&db, s.id).await.phase == store_weaver::store::Phase::WaitingForReady)
                .then_some(())
        },
    )
    .await;
    let op = operations::active_for(&db.pool, s.id)
        .await
        .unwrap()
        .unwrap();
    let owner_a = op.lease_owner.clone().unwrap();
    a.kill().unwrap(); // SIGKILL: no chance to hand anything back
    a.wait().unwrap();
    assert_eq!(
        store(&db, s.id).await.status,
        Status::Provisioning,
        "stays Provisioning until someone resumes"
    );

    // Worker B (normal values) claims the operation once A's lease lapses
    // and finishes it: every step is idempotent, helm upgrades the release.
    let mut b = spawn_worker(
        &db.url,
        "tests/fixtures/charts/woocommerce/values.yaml",
        "3",
        "1",
        "sw-worker-b.log",
    );
    let done = settle(&db, s.id, 120).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    let ops = operations::for_store(&db.pool, s.id).await.unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].claims, 2, "claimed by A, then by B");
    assert_eq!(ops[0].state, operations::State::Succeeded);
    let ready = audit::list(&db.pool, Some(s.id), 10).await.unwrap();
    let ready = ready.iter().find(|e| e.action == "store.ready").unwrap();
    assert!(
        !ready.detail.as_deref().unwrap_or("").contains(&owner_a),
        "finished by another worker"
    );

    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), s.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, s.id, 150).await.status, Status::Deleted);
    sigterm(&b);
    let status = b.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM stops a worker cleanly: {status:?}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn two_worker_processes_never_run_the_same_operation_twice() {
    let db = TestDb::new().await;
    let values = "tests/fixtures/charts/woocommerce/values.yaml";
    let mut w1 = spawn_worker(&db.url, values, "5", "2", "sw-worker-1.log");
    let mut w2 = spawn_worker(&db.url, values, "5", "2", "sw-worker-2.log");
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(create(&db, &unique(&format!("Pair {i}"))).await.id);
    }
    for id in &ids {
        let s = settle(&db, *id, 180).await;
        assert_eq!(s.status, Status::Ready, "{:?}", s.error_message);
    }
    for id in &ids {
        let ops = operations::for_store(&db.pool, *id).await.unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].claims, 1, "store {id}: claimed exactly once");
        let entries = audit::list(&db.pool, Some(*id), 20).await.unwrap();
        let readies: Vec<_> = entries
            .iter()
            .filter(|e| e.action == "store.ready")
            .collect();
        assert_eq!(readies.len(), 1, "finished exactly once");
    }
    for id in &ids {
        engine::delete(&db.pool, &Actor::new("tester", Via::Cli), *id, None)
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(settle(&db, *id, 180).await.status, Status::Deleted);
    }
    sigterm(&w1);
    sigterm(&w2);
    assert!(w1.wait().unwrap().success());
    assert!(w2.wait().unwrap().success());
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_hands_a_running_operation_back_at_once() {
    let db = TestDb::new().await;
    let s = create(&db, &unique("Handed Back")).await;
    // A long lease: if the operation were not handed back, the next worker
    // would have to wait a minute for it.
    let mut a = spawn_worker(
        &db.url,
        "tests/fixtures/values-unschedulable.yaml",
        "60",
        "1",
        "sw-worker-c.log",
    );
    eventually(
        Duration::from_secs(60),
        "worker A waiting for readiness",
        || async {
            (store(&db, s.id).await.phase == store_weaver::store::Phase::WaitingForReady)
                .then_some(())
        },
    )
    .await;
    sigterm(&a);
    assert!(a.wait().unwrap().success());
    let op = operations::active_for(&db.pool, s.id)
        .await
        .unwrap()
        .unwrap();
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        op.lease_expires_at.unwrap() <= now,
        "lease handed back, not left to expire"
    );

    let mut b = spawn_worker(
        &db.url,
        "tests/fixtures/charts/woocommerce/values.yaml",
        "60",
        "1",
        "sw-worker-d.log",
    );
    let done = settle(&db, s.id, 40).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), s.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, s.id, 150).await.status, Status::Deleted);
    sigterm(&b);
    b.wait().unwrap();
    db.drop_db().await;
}
