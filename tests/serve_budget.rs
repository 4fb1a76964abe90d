//! The connection budget with real processes: three `store-weaver --serve`
//! replicas and a fourth process with workers (`store-weaver worker`: the
//! console's start — one pool of `db_connections`, the same workers —
//! without a terminal), all under default settings, serving reads, creates
//! and provisions at once, stay under 60 % of PostgreSQL's max_connections,
//! counted in pg_stat_activity for the test's database.

mod common;
mod serve_common;

use common::*;
use futures::future::join_all;
use serve_common::*;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use store_weaver::db::users::Role;

/// Connections the Store Weaver processes hold on `db` now (the test's own
/// pool is not theirs: it sets no application name).
async fn held(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = $1 AND application_name LIKE 'store-weaver%'",
    )
    .bind(&db.name)
    .fetch_one(&db.pool)
    .await
    .expect("read pg_stat_activity")
}

/// `store-weaver worker` with default settings, as a console starts its
/// workers; killed on drop.
struct Worker(Child);

impl Worker {
    fn spawn(db_url: &str, charts: &str) -> Worker {
        let child = Command::new(env!("CARGO_BIN_EXE_store-weaver"))
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
            .args(["worker", "--database-url", db_url])
            .args(["--kubeconfig", &require_env("KUBECONFIG")])
            .args(["--charts-dir", charts, "--values-file", &values(charts)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start store-weaver worker");
        Worker(child)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fixture chart's values, for its stores only (as tests/common's settings).
fn values(charts: &str) -> String {
    format!("woocommerce={charts}/woocommerce/values.yaml")
}

#[tokio::test]
async fn three_replicas_and_a_console_stay_under_60_percent_of_postgres() {
    let db = TestDb::new().await;
    let max: i64 = sqlx::query_scalar(
        "SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("read max_connections");
    let users: Vec<String> = (0..4).map(|i| format!("budget{i}@example.com")).collect();
    for u in &users {
        add_user(&db.pool, u, Role::User).await;
    }
    let charts = repo("tests/fixtures/charts").display().to_string();
    // Default settings but where the charts are (no pool setting given).
    let values = values(&charts);
    let replicas: Vec<Process> = (0..3)
        .map(|_| {
            Process::spawn(
                &db.url,
                &["--charts-dir", &charts, "--values-file", &values],
            )
        })
        .collect();
    let _console = Worker::spawn(&db.url, &charts);

    // Sample the connections every 20 ms until the load is over.
    let peak = Arc::new(AtomicI64::new(0));
    let sampling = Arc::new(tokio::sync::Notify::new());
    let sampler = {
        let (peak, stop) = (peak.clone(), sampling.clone());
        let db_pool = db.pool.clone();
        let name = db.name.clone();
        tokio::spawn(async move {
            loop {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = $1 AND application_name LIKE 'store-weaver%'",
                )
                .bind(&name)
                .fetch_one(&db_pool)
                .await
                .unwrap_or(0);
                peak.fetch_max(n, Ordering::Relaxed);
                tokio::select! {
                    _ = stop.notified() => return,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        })
    };

    // Each user signed in on each replica; two creates per user at once
    // (spread over the replicas) while reads hit every replica.
    let mut clients = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let mut api = Api::new(&replicas[i % 3].base);
        api.sign_in(u, PASSWORD).await;
        clients.push(api);
    }
    let creates = join_all((0..8usize).map(|i| {
        let mut api = clients[i % 4].clone();
        api.base = replicas[i % 3].base.clone();
        async move {
            // A 503 is answered before anything is written: asked again.
            let name = unique(&format!("Budget {i}"));
            let mut r = api.create(&name).await;
            for _ in 0..10 {
                if r.status != 503 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                r = api.create(&name).await;
            }
            r
        }
    }));
    // A request that finds every API connection busy for api_db_wait_ms is
    // answered 503 with Retry-After, honestly (on a loaded machine 300 at
    // once may): it is asked again as a client should. What is measured is
    // the connections held, not the answers' speed.
    let reads = join_all((0..300usize).map(|i| {
        let mut api = clients[i % 4].clone();
        api.base = replicas[i % 3].base.clone();
        async move {
            let mut r = api.get("/api/stores").await;
            for _ in 0..10 {
                if r.status != 503 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                r = api.get("/api/stores").await;
            }
            r
        }
    }));
    let (created, read) = tokio::join!(creates, reads);
    for r in &created {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    for r in &read {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // The workers of all four processes provision them.
    let pool = db.pool.clone();
    eventually(Duration::from_secs(180), "every store provisioned", || {
        let pool = pool.clone();
        async move {
            let left: i64 =
                sqlx::query_scalar("SELECT count(*) FROM stores WHERE status <> 'Ready'")
                    .fetch_one(&pool)
                    .await
                    .ok()?;
            (left == 0).then_some(())
        }
    })
    .await;
    sampling.notify_one();
    sampler.await.expect("the sampler ends");
    let now = held(&db).await;
    let peak = peak.load(Ordering::Relaxed).max(now);
    eprintln!(
        "connections held by 3 replicas and a console: peak {peak}, now {now}, of max_connections {max}"
    );
    assert!(
        peak * 100 < max * 60,
        "3 replicas and a console held {peak} of PostgreSQL's {max} connections (60 % is {})",
        max * 60 / 100
    );
    drop(replicas);
    db.drop_db().await;
}
