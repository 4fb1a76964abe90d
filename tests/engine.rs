//! The provisioning engine against real PostgreSQL, the real API server and
//! the real helm CLI: lifecycle, cleanup, retry, limits under concurrency,
//! idempotency, and the concurrency cap on provisions.

mod common;

use common::*;
use futures::future::join_all;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, LogParams, Patch, PatchParams, PostParams,
};
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;
use store_weaver::cluster::view::ClusterView;
use store_weaver::config::Settings;
use store_weaver::db::{audit, operations, stores};
use store_weaver::engine::{self, CreateRequest, EngineError};
use store_weaver::runtime;
use store_weaver::store::{Actor, Status, Store, Via};
use uuid::Uuid;
fn req(name: &str, owner: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        owner: owner.into(),
        engine: "woocommerce".into(),
        idempotency_key: None,
    }
}

fn tester() -> Actor {
    Actor::new("tester", Via::Cli)
}

async fn create(
    db: &TestDb,
    s: &Settings,
    name: &str,
    owner: &str,
) -> Result<(Store, bool), EngineError> {
    engine::create(
        &db.pool,
        runtime::limits(s),
        &runtime::naming(s),
        &tester(),
        &req(name, owner),
    )
    .await
}
fn helm_history_len(ns: &str) -> usize {
    let out = Command::new("helm")
        .args(["history", ns, "-n", ns, "-o", "json"])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm");
    if !out.status.success() {
        return 0;
    }
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .map(|v| v.len())
        .unwrap_or(0)
}

#[tokio::test]
async fn create_becomes_ready_and_delete_removes_everything_with_an_audit_trail() {
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &db, 2).await;

    let (store, created) = create(&db, &s, &unique("Acme Shoes"), "ann@example.com")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(store.status, Status::Provisioning);
    assert!(
        store.namespace.starts_with("store-acme-shoes-"),
        "{}",
        store.namespace
    );
    assert_eq!(
        store.url,
        format!(
            "http://{}.localhost",
            store.namespace.trim_start_matches("store-")
        )
    );

    let ready = settle(&db, store.id, 120).await;
    assert_eq!(
        ready.status,
        Status::Ready,
        "error: {:?}",
        ready.error_message
    );
    assert!(ready.ready_at.is_some() && ready.provision_duration().is_some());

    let client = kube().await;
    let ns = Api::<Namespace>::all(client.clone())
        .get(&store.namespace)
        .await
        .unwrap();
    let labels = ns.metadata.labels.unwrap();
    assert_eq!(
        labels.get("store-weaver.io/store-id"),
        Some(&store.id.to_string())
    );
    assert_eq!(
        labels
            .get("pod-security.kubernetes.io/enforce")
            .map(String::as_str),
        Some("baseline")
    );
    let secret = Api::<Secret>::namespaced(client.clone(), &store.namespace)
        .get("store-credentials")
        .await
        .unwrap();
    let data = secret.data.unwrap();
    assert!(data.get("db-password").is_some_and(|v| v.0.len() >= 32));
    assert_eq!(helm_history_len(&store.namespace), 1, "one helm revision");

    let deleting = engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(deleting.status, Status::Deleting);
    let gone = settle(&db, store.id, 150).await;
    assert_eq!(
        gone.status,
        Status::Deleted,
        "error: {:?}",
        gone.error_message
    );
    assert!(
        Api::<Namespace>::all(client)
            .get_opt(&store.namespace)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(helm_history_len(&store.namespace), 0, "no release left");
    assert!(
        stores::list(&db.pool, None)
            .await
            .unwrap()
            .iter()
            .all(|s| s.id != store.id),
        "hidden from lists"
    );

    let actions: Vec<String> = audit::list(&db.pool, Some(store.id), 50)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "store.create",
            "store.ready",
            "store.delete",
            "store.deleted"
        ]
    );
    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_failing_chart_is_cleaned_up_and_a_retry_makes_the_same_store_ready() {
    let db = TestDb::new().await;
    let broken = settings(&db.url, "tests/fixtures/charts-broken", &[]);
    let pool = workers(&broken, &db, 1).await;
    let (store, _) = create(&db, &broken, &unique("Broken"), "bob@example.com")
        .await
        .unwrap();
    let failed = settle(&db, store.id, 90).await;
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.error_message.clone().unwrap();
    assert!(msg.contains("step installing"), "{msg}");
    assert!(
        msg.contains("simulated broken chart"),
        "helm's own words reach the user: {msg}"
    );
    assert!(msg.len() <= 1000);
    namespace_gone(&store.namespace, 90).await;
    assert_eq!(helm_history_len(&store.namespace), 0);
    pool.shutdown().await;

    // Retry only works on Failed stores; a Ready one is refused.
    let good = settings(&db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&good, &db, 1).await;
    let retried = engine::retry(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(
        (retried.id, retried.status, retried.attempts),
        (store.id, Status::Provisioning, 2)
    );
    let ready = settle(&db, store.id, 120).await;
    assert_eq!(
        ready.status,
        Status::Ready,
        "error: {:?}",
        ready.error_message
    );
    assert_eq!(ready.error_message, None);
    let err = engine::retry(&db.pool, &tester(), store.id, None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotAllowed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("only Failed stores can be retried")
    );

    engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, store.id, 150).await.status, Status::Deleted);
    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_provision_that_never_gets_ready_times_out_with_a_message_naming_the_object() {
    let db = TestDb::new().await;
    let values = repo("tests/fixtures/values-unschedulable.yaml");
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("provision_timeout_secs", "8"),
            ("values_file", values.to_str().unwrap()),
        ],
    );
    let pool = workers(&s, &db, 1).await;
    let (store, _) = create(&db, &s, &unique("Slow"), "cy@example.com")
        .await
        .unwrap();
    let failed = settle(&db, store.id, 90).await;
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.error_message.unwrap();
    assert!(msg.starts_with("timed out after 8s"), "{msg}");
    assert!(msg.contains("deployment/web 0/1 ready"), "{msg}");
    assert!(msg.contains("unschedulable"), "{msg}");
    namespace_gone(&store.namespace, 90).await;
    pool.shutdown().await;
    db.drop_db().await;
}

/// Lines in the CRI log format kwok serves a container's log in.
fn cri(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| format!("2026-12-06T10:00:00.000000000Z stdout F {l}\n"))
        .collect()
}

#[tokio::test]
async fn a_failed_provision_keeps_the_logs_and_warnings_that_say_why_after_its_namespace_is_gone() {
    let db = TestDb::new().await;
    // The web pod is never scheduled (a Warning event says why); the
    // database pod runs on kwok, and the test makes it a crashing one.
    let values = repo("tests/fixtures/values-unschedulable.yaml");
    let timeout = 40;
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("provision_timeout_secs", &timeout.to_string()),
            ("values_file", values.to_str().unwrap()),
        ],
    );
    let pool = workers(&s, &db, 1).await;
    let (store, _) = create(&db, &s, &unique("Evidence"), "ev@example.com")
        .await
        .unwrap();
    let ns = store.namespace.clone();
    let client = kube().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    eventually(Duration::from_secs(60), "db-0 Running (kwok)", || {
        let pods = pods.clone();
        async move {
            let p = pods.get_opt("db-0").await.ok()??;
            (p.status?.phase.as_deref() == Some("Running")).then_some(())
        }
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let db_password = eventually(Duration::from_secs(30), "the store's Secret", || {
        let secrets = secrets.clone();
        async move {
            let data = secrets.get_opt("store-credentials").await.ok()??.data?;
            Some(String::from_utf8_lossy(&data.get("db-password")?.0).into_owned())
        }
    })
    .await;

    // What the database said before it crashed, its password among it.
    let dir = tempfile::tempdir().unwrap();
    let said =
        "[ERROR] InnoDB: Cannot open datafile './ibdata1': Permission denied (the test's crash)";
    let log = cri(&[
        "[Note] Starting MariaDB 11.4",
        &format!("[Note] user wordpress, password {db_password}"),
        said,
    ]);
    for f in ["db.log", "db-previous.log"] {
        std::fs::write(dir.path().join(f), &log).unwrap();
    }
    // kwok (root) reads these files.
    let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.path(), perms).unwrap();
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Logs");
    let logs_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::from_gvk_with_plural(&gvk, "logs"),
    );
    let p = |f: &str| dir.path().join(f).display().to_string();
    let mut logs: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
        "metadata": {"name": "db-0", "namespace": ns},
        "spec": {"logs": [{"containers": ["db"], "logsFile": p("db.log"),
                           "previousLogsFile": p("db-previous.log")}]}
    }))
    .unwrap();
    logs.metadata.namespace = Some(ns.clone());
    logs_api
        .create(&PostParams::default(), &logs)
        .await
        .expect("create kwok's Logs object (scripts/sandbox up installs its CRD)");
    eventually(Duration::from_secs(30), "kwok serving db-0's log", || {
        let pods = pods.clone();
        async move {
            let lp = LogParams {
                container: Some("db".into()),
                ..Default::default()
            };
            let text = pods.logs("db-0", &lp).await.ok()?;
            text.contains("Permission denied").then_some(())
        }
    })
    .await;
    // What a kubelet reports of a database that keeps crashing.
    let status = serde_json::json!({"status": {
        "phase": "Running",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"}
        ],
        "containerStatuses": [{
            "name": "db", "image": "registry.invalid/db:11.4", "imageID": "",
            "ready": false, "started": false, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 40s restarting failed container=db pod=db-0"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": "2026-12-06T10:00:00Z", "finishedAt": "2026-12-06T10:00:02Z"}}
        }]
    }});
    pods.patch_status("db-0", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch db-0's status as its kubelet would");
    let now = stores::get(&db.pool, store.id).await.unwrap().unwrap();
    assert!(
        now.status.is_busy(),
        "the evidence was in place before the {timeout}s provision timeout: {} {:?}",
        now.status,
        now.error_message
    );

    let failed = settle(&db, store.id, 120).await;
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.error_message.clone().unwrap_or_default();
    assert!(
        msg.starts_with(&format!("timed out after {timeout}s")),
        "{msg}"
    );
    assert!(msg.contains(" — before cleanup: "), "{msg}");
    assert!(
        msg.contains("log of db-0/db (restarted 3 times, last exit 1 (Error)): "),
        "the crashing container's log: {msg}"
    );
    assert!(msg.contains(said), "its last lines: {msg}");
    assert!(
        msg.contains("FailedScheduling pod/web-"),
        "the Warning events: {msg}"
    );
    assert!(!msg.contains(&db_password), "a secret leaked: {msg}");
    assert!(msg.contains("password ********"), "{msg}");
    assert!(msg.len() <= 4096, "{} bytes", msg.len());
    // The audit entry says the same, and outlives the namespace.
    namespace_gone(&ns, 90).await;
    let entry = audit::list(&db.pool, Some(store.id), 50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "store.failed")
        .expect("the failure is audited");
    assert_eq!(entry.detail.as_deref(), Some(msg.as_str()));

    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn limits_are_exact_under_fifty_concurrent_creates() {
    let db = TestDb::new().await;
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("max_stores", "12"),
            ("max_stores_per_user", "4"),
            ("workers", "0"),
        ],
    );
    let owners = ["u1@x.io", "u2@x.io", "u3@x.io", "u4@x.io", "u5@x.io"];
    // The same names for every owner: namespaces must still never collide.
    let attempts = (0..50).map(|i| {
        let owner = owners[i % owners.len()];
        let name = format!("Shop {}", i / owners.len());
        let db = &db;
        let s = &s;
        async move { (owner, create(db, s, &name, owner).await) }
    });
    let results = join_all(attempts).await;
    let mut per_owner: HashMap<&str, usize> = HashMap::new();
    let mut namespaces = HashSet::new();
    let mut refusals = 0;
    for (owner, r) in &results {
        match r {
            Ok((store, true)) => {
                *per_owner.entry(owner).or_default() += 1;
                assert!(
                    namespaces.insert(store.namespace.clone()),
                    "duplicate namespace {}",
                    store.namespace
                );
            }
            Ok((_, false)) => panic!("no idempotency key was given"),
            Err(EngineError::Limit { limit, .. }) => {
                assert!(["MAX_STORES", "MAX_STORES_PER_USER"].contains(limit));
                let text = r.as_ref().unwrap_err().to_string();
                assert!(text.contains(limit), "the refusal names the limit: {text}");
                refusals += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    let total: usize = per_owner.values().sum();
    assert_eq!(total, 12, "exactly MAX_STORES stores: {per_owner:?}");
    assert!(per_owner.values().all(|n| *n <= 4), "{per_owner:?}");
    assert_eq!(refusals, 38);
    let live = stores::list(&db.pool, None).await.unwrap();
    assert_eq!(live.len(), 12);
    let refused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE outcome = 'refused'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(refused, 38, "every refusal is audited");
    db.drop_db().await;
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_store_and_names_are_validated() {
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[("workers", "0")]);
    let mut r = req("Keyed Shop", "dee@example.com");
    r.idempotency_key = Some("key-123".into());
    let (urls, actor) = (runtime::naming(&s), tester());
    let attempts =
        (0..10).map(|_| engine::create(&db.pool, runtime::limits(&s), &urls, &actor, &r));
    let results = join_all(attempts).await;
    let ids: HashSet<Uuid> = results.iter().map(|r| r.as_ref().unwrap().0.id).collect();
    assert_eq!(ids.len(), 1, "one store for one key");
    assert_eq!(
        results.iter().filter(|r| r.as_ref().unwrap().1).count(),
        1,
        "created once"
    );

    // Same name again without a key: a clash, said plainly.
    let err = create(&db, &s, "keyed shop", "dee@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NameTaken { .. }), "{err}");
    // Another owner may use the name: it gets a suffixed namespace.
    let (other, _) = create(&db, &s, "Keyed Shop", "eve@example.com")
        .await
        .unwrap();
    assert!(
        other.namespace.starts_with("store-keyed-shop-")
            && other.namespace.len() == "store-keyed-shop-".len() + 4
    );

    for (bad, field) in [
        ("", "name"),
        ("!!!", "name"),
        ("x".repeat(61).as_str(), "name"),
    ] {
        match create(&db, &s, bad, "dee@example.com").await {
            Err(EngineError::Invalid { field: f, message }) => {
                assert_eq!(f, field);
                assert!(!message.is_empty());
            }
            other => panic!("{bad:?} should be refused, got {other:?}"),
        }
    }
    let err = engine::create(
        &db.pool,
        runtime::limits(&s),
        &runtime::naming(&s),
        &tester(),
        &CreateRequest {
            engine: "shopify".into(),
            ..req("Shopify Shop", "dee@example.com")
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("the engines are: woocommerce, medusa"),
        "{err}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn provisions_beyond_the_concurrency_cap_wait_their_turn() {
    let db = TestDb::new().await;
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[("max_concurrent_provisions", "2")],
    );
    let pool = workers(&s, &db, 4).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(&db, &s, &unique(&format!("Cap {i}")), "fay@example.com")
                .await
                .unwrap()
                .0
                .id,
        );
    }
    // Sample the provisions before their wait for Ready (the part the cap
    // counts) until all settle: never more than 2.
    let mut max_running = 0i64;
    let mut saw_queued_while_busy = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM operations WHERE kind = 'provision' AND state = 'running' \
             AND step IS DISTINCT FROM 'waiting-for-ready'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM stores WHERE phase = 'queued'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        max_running = max_running.max(running);
        saw_queued_while_busy |= running == 2 && queued > 0;
        let busy: i64 =
            sqlx::query_scalar("SELECT count(*) FROM stores WHERE status = 'Provisioning'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if busy == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "provisions did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(max_running <= 2, "ran {max_running} provisions at once");
    assert!(
        saw_queued_while_busy,
        "extra provisions were visible as queued"
    );
    for id in &ids {
        let st = stores::get(&db.pool, *id).await.unwrap().unwrap();
        assert_eq!(st.status, Status::Ready, "{:?}", st.error_message);
        let ops = operations::for_store(&db.pool, *id).await.unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].claims, 1, "claimed once");
        engine::delete(&db.pool, &tester(), *id, None)
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(settle(&db, *id, 180).await.status, Status::Deleted);
    }
    pool.shutdown().await;
    db.drop_db().await;
}

/// The cap is on the helm step: stores that wait for Kubernetes (here for
/// ever: their pods cannot be scheduled) do not keep the next ones queued,
/// and no more than the cap are ever before that wait at once.
#[tokio::test]
async fn stores_waiting_for_ready_do_not_hold_the_provisioning_slots() {
    let db = TestDb::new().await;
    let values = repo("tests/fixtures/values-unschedulable.yaml");
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("max_concurrent_provisions", "1"),
            ("provision_timeout_secs", "300"),
            ("values_file", values.to_str().unwrap()),
        ],
    );
    let pool = workers(&s, &db, 3).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let name = unique(&format!("Slot {i}"));
        ids.push(
            create(&db, &s, &name, "fay@example.com")
                .await
                .unwrap()
                .0
                .id,
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (before_wait, waiting): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE phase IN ('namespace', 'secrets', 'installing')), \
                    count(*) FILTER (WHERE phase = 'waiting-for-ready') \
             FROM stores WHERE id = ANY($1)",
        )
        .bind(&ids)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!(before_wait <= 1, "{before_wait} stores past the cap of 1");
        if waiting == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {waiting} of 3 stores reached the wait for Ready: the waiting ones hold the slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        engine::delete(&db.pool, &tester(), *id, None)
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(settle(&db, *id, 180).await.status, Status::Deleted);
    }
    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn the_real_store_chart_becomes_ready_and_leaves_nothing_behind() {
    let db = TestDb::new().await;
    let values = repo("charts/woocommerce/values-local.yaml");
    let s = settings(
        &db.url,
        "charts",
        &[("values_file", values.to_str().unwrap())],
    );
    let pool = workers(&s, &db, 1).await;
    let (store, _) = create(&db, &s, &unique("Real Woo"), "gil@example.com")
        .await
        .unwrap();
    let ready = settle(&db, store.id, 180).await;
    assert_eq!(
        ready.status,
        Status::Ready,
        "error: {:?}",
        ready.error_message
    );

    // Every object the chart made carries the store's label.
    let client = kube().await;
    let lp =
        kube::api::ListParams::default().labels(&format!("store-weaver.io/store-id={}", store.id));
    let deployments =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), &store.namespace)
            .list(&lp)
            .await
            .unwrap();
    let statefulsets = Api::<k8s_openapi::api::apps::v1::StatefulSet>::namespaced(
        client.clone(),
        &store.namespace,
    )
    .list(&lp)
    .await
    .unwrap();
    assert_eq!((deployments.items.len(), statefulsets.items.len()), (1, 1));
    let owned = store_weaver::cluster::namespace::verify(&client, &store.namespace_ref())
        .await
        .unwrap()
        .expect("the store's namespace");
    let detail = store_weaver::cluster::detail::resources(&client, &owned)
        .await
        .unwrap();
    assert!(
        detail
            .iter()
            .any(|r| r.kind == "PersistentVolumeClaim" && r.ok),
        "{detail:?}"
    );
    assert!(
        detail
            .iter()
            .any(|r| r.kind == "Ingress" && r.status.contains(".localhost")),
        "{detail:?}"
    );

    engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, store.id, 180).await.status, Status::Deleted);
    assert!(
        Api::<Namespace>::all(client)
            .get_opt(&store.namespace)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(helm_history_len(&store.namespace), 0);
    pool.shutdown().await;
    db.drop_db().await;
}

fn helm_statuses(ns: &str) -> Vec<String> {
    let out = Command::new("helm")
        .args(["history", ns, "-n", ns, "-o", "json"])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm");
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .unwrap_or_default()
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_release_left_pending_by_an_interrupted_helm_is_recovered() {
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[("workers", "0")]);
    let (store, _) = create(&db, &s, &unique("Pending Release"), "hal@example.com")
        .await
        .unwrap();
    let client = kube().await;
    let ns = store.namespace.clone();
    let owned = store_weaver::cluster::namespace::ensure_namespace(
        &client,
        &store.namespace_ref(),
        &store.owner,
    )
    .await
    .unwrap();
    store_weaver::cluster::namespace::ensure_credentials(
        &client,
        &owned,
        store.id,
        store.engine.spec(),
        None,
    )
    .await
    .unwrap();
    // An install that waits forever, killed mid-way: the release stays
    // pending-install, which blocks every later install unless recovered.
    let mut helm = Command::new("helm")
        .args([
            "install",
            &ns,
            repo("tests/fixtures/charts/woocommerce").to_str().unwrap(),
            "-n",
            &ns,
        ])
        .args([
            "-f",
            repo("tests/fixtures/values-unschedulable.yaml")
                .to_str()
                .unwrap(),
        ])
        .args([
            "--set",
            &format!("store.id={}", store.id),
            "--set",
            "existingSecret=store-credentials",
        ])
        .args(["--wait", "--timeout", "10m"])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ns2 = ns.clone();
    eventually(Duration::from_secs(30), "release pending-install", || {
        let ns = ns2.clone();
        async move { (helm_statuses(&ns) == ["pending-install"]).then_some(()) }
    })
    .await;
    helm.kill().unwrap();
    helm.wait().unwrap();
    assert_eq!(helm_statuses(&ns), ["pending-install"]);

    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &db, 1).await;
    let ready = settle(&db, store.id, 120).await;
    assert_eq!(
        ready.status,
        Status::Ready,
        "error: {:?}",
        ready.error_message
    );
    assert_eq!(
        helm_statuses(&ns).last().map(String::as_str),
        Some("deployed")
    );
    engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, store.id, 150).await.status, Status::Deleted);
    pool.shutdown().await;
    db.drop_db().await;
}

/// Issue 17: the watches stay connected while nothing of theirs changes.
/// The server ends each watch after 20 s here (290 s by default), so two
/// idle minutes make several reconnects per kind; each must resume from the
/// last resource version (bookmarks keep it fresh), so every kind is still
/// listed exactly once, and a change made afterwards still arrives. It idles
/// next to the other engine tests rather than in a binary of its own, and its
/// name sorts first so that it starts first and the others run beside it.
#[tokio::test]
async fn a_cluster_left_idle_keeps_its_watches_without_listing_again() {
    use store_weaver::cluster::view::{Change, WatchOptions};
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[],
    );
    let client = store_weaver::cluster::streaming_client(&s).await.unwrap();
    let view = ClusterView::start_with(
        client,
        WatchOptions {
            timeout_secs: 20,
            ..WatchOptions::default()
        },
    );
    let mut connection = view.connection();
    tokio::time::timeout(
        Duration::from_secs(60),
        connection.wait_for(|c| c.connected),
    )
    .await
    .expect("the watches connect")
    .unwrap();

    // The idle period is the point of the test: nothing to poll for.
    tokio::time::sleep(Duration::from_secs(120)).await;

    let stats = view.watch_stats();
    assert_eq!(stats.len(), 5);
    for st in &stats {
        assert_eq!(
            st.lists, 1,
            "{}: listed again while idle: {stats:?}",
            st.kind
        );
        assert!(
            st.reconnects >= 3,
            "{}: the server's 20 s timeout should have ended several watches: {stats:?}",
            st.kind
        );
    }
    assert!(view.is_connected(), "{:?}", *view.connection().borrow());
    let mut text = String::new();
    store_weaver::metrics::render_watch(&mut text, &stats);
    assert!(text.contains("store_weaver_watch_lists_total{kind=\"namespaces\"} 1\n"));

    // Still live: a labelled namespace made now reaches the view.
    let id = Uuid::new_v4();
    let name = format!("sw-idle-{}", &id.simple().to_string()[..8]);
    let mut changes = view.subscribe();
    let api: Api<Namespace> = Api::all(kube().await);
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            labels: Some(std::collections::BTreeMap::from([(
                "store-weaver.io/store-id".to_string(),
                id.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&kube::api::PostParams::default(), &ns)
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match changes.recv().await {
                Ok(Change::Store(x)) if x == id => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("change stream ended: {e}"),
            }
        }
    })
    .await;
    let _ = api.delete(&name, &kube::api::DeleteParams::default()).await;
    assert!(
        seen.is_ok(),
        "the namespace made after idling reached the view"
    );
    assert!(view.watch_stats().iter().all(|s| s.lists == 1));
}

/// Whether a dry-run create of the credentials Secret in `ns` is refused by
/// the test's admission policy (which takes effect, and goes, a moment after
/// it is written).
async fn credentials_refused(client: &kube::Client, ns: &str) -> bool {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": store_weaver::cluster::CREDENTIALS_SECRET},
        "stringData": {"probe": "x"},
    }))
    .unwrap();
    let pp = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    match Api::<Secret>::namespaced(client.clone(), ns)
        .create(&pp, &secret)
        .await
    {
        Ok(_) => false,
        Err(kube::Error::Api(s)) if s.message.contains("test policy") => true,
        Err(e) => panic!("dry-run create of the credentials Secret: {e}"),
    }
}

/// The Secret is written while helm runs. When it is refused (here by a
/// ValidatingAdmissionPolicy for the namespaces of one owner), the attempt
/// fails naming the step and the API server's words, what helm installed
/// beside it is removed with the namespace, and a retry once the cluster
/// allows it makes the same store Ready with its credentials.
#[tokio::test]
async fn a_refused_secret_fails_the_attempt_cleanly_and_a_retry_makes_it() {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    use store_weaver::cluster::{OWNER_LABEL, label_value};
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let client = kube().await;
    let tag = Uuid::new_v4().simple().to_string()[..10].to_string();
    let owner = format!("nosecret-{tag}@example.com");
    let name = format!("sw-test-no-credentials-{tag}");
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(client.clone());
    let pp = kube::api::PostParams::default();
    let policy = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["secrets"]}]},
            "validations": [{
                "expression": format!("object.metadata.name != '{}'", store_weaver::cluster::CREDENTIALS_SECRET),
                "message": "test policy: no credentials in this owner's namespaces"}]
        }
    }))
    .unwrap();
    policies.create(&pp, &policy).await.unwrap();
    let binding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {OWNER_LABEL: label_value(&owner)}}}
        }
    }))
    .unwrap();
    bindings.create(&pp, &binding).await.unwrap();
    // A namespace of that owner that is no store's (no managed-by label: the
    // engine never touches it), to see when the policy is in force.
    let probe_ns = format!("probe-{tag}");
    let probe: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": probe_ns, "labels": {OWNER_LABEL: label_value(&owner)}}
    }))
    .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.create(&pp, &probe).await.unwrap();
    eventually(Duration::from_secs(30), "the policy in force", || {
        let client = client.clone();
        let ns = probe_ns.clone();
        async move { credentials_refused(&client, &ns).await.then_some(()) }
    })
    .await;

    let pool = workers(&s, &db, 1).await;
    let (store, _) = create(&db, &s, &unique("No Secret"), &owner).await.unwrap();
    let failed = settle(&db, store.id, 120).await;
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.error_message.clone().unwrap_or_default();
    assert!(msg.contains("step secrets"), "{msg}");
    assert!(
        msg.contains("test policy: no credentials"),
        "the API server's words reach the user: {msg}"
    );
    assert!(!msg.contains("cleanup incomplete"), "{msg}");
    namespace_gone(&store.namespace, 90).await;
    assert_eq!(helm_history_len(&store.namespace), 0);

    bindings.delete(&name, &Default::default()).await.unwrap();
    policies.delete(&name, &Default::default()).await.unwrap();
    eventually(Duration::from_secs(30), "the policy gone", || {
        let client = client.clone();
        let ns = probe_ns.clone();
        async move { (!credentials_refused(&client, &ns).await).then_some(()) }
    })
    .await;
    namespaces
        .delete(&probe_ns, &Default::default())
        .await
        .unwrap();

    engine::retry(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    let ready = settle(&db, store.id, 120).await;
    assert_eq!(
        ready.status,
        Status::Ready,
        "error: {:?}",
        ready.error_message
    );
    let secret = Api::<Secret>::namespaced(client.clone(), &ready.namespace)
        .get(store_weaver::cluster::CREDENTIALS_SECRET)
        .await
        .unwrap();
    let data = secret.data.unwrap_or_default();
    for key in store_weaver::engines::woocommerce::ENGINE
        .secret_keys
        .iter()
        .map(|k| k.name)
    {
        assert!(
            data.get(key).is_some_and(|v| !v.0.is_empty()),
            "{key} in the Secret"
        );
    }

    engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    assert_eq!(settle(&db, store.id, 150).await.status, Status::Deleted);
    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_slow_create_does_not_hold_up_another_owners_create() {
    let took = wait_behind_a_slow_create("quick@x.io").await;
    assert!(
        took < Duration::from_secs(2),
        "another owner's create waited {took:?} for a slow create"
    );
}

#[tokio::test]
async fn a_slow_create_does_not_hold_up_an_owner_of_the_same_create_slot() {
    // An owner whose creates try the slow one's slot first: it takes
    // another (it waited 4 s for the slow create's commit before).
    let same = (0..)
        .map(|i| format!("same{i}@x.io"))
        .find(|o| {
            store_weaver::engine::requests::slot_of(o)
                == store_weaver::engine::requests::slot_of("slow@x.io")
        })
        .expect("an owner in the same slot");
    let took = wait_behind_a_slow_create(&same).await;
    assert!(
        took < Duration::from_secs(2),
        "{same}'s create waited {took:?} for a slow create of the same slot"
    );
}

/// How long `other`'s create takes while slow@x.io's create sleeps 4 s
/// inside its transaction (a trigger sleeps before the insert), holding
/// whatever locks a create holds.
async fn wait_behind_a_slow_create(other: &str) -> Duration {
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[("workers", "0")]);
    sqlx::query(
        "CREATE FUNCTION sw_test_slow() RETURNS trigger AS $$
         BEGIN
           IF NEW.owner = 'slow@x.io' THEN PERFORM pg_sleep(4); END IF;
           RETURN NEW;
         END $$ LANGUAGE plpgsql",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER sw_test_slow BEFORE INSERT ON stores
         FOR EACH ROW EXECUTE FUNCTION sw_test_slow()",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let slow = create(&db, &s, "Slow Shop", "slow@x.io");
    let other = async {
        let pool = db.pool.clone();
        let name = db.name.clone();
        eventually(Duration::from_secs(20), "the slow create to sleep", || {
            let pool = pool.clone();
            let name = name.clone();
            async move {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'",
                )
                .bind(name)
                .fetch_one(&pool)
                .await
                .ok()?;
                (n > 0).then_some(())
            }
        })
        .await;
        let started = std::time::Instant::now();
        let r = create(&db, &s, "Quick Shop", other).await;
        (r, started.elapsed())
    };
    let (slow, (quick, took)) = tokio::join!(slow, other);
    slow.expect("the slow create succeeds");
    quick.expect("the other owner's create succeeds");
    db.drop_db().await;
    took
}

#[tokio::test]
async fn the_total_is_exact_when_creates_start_far_from_the_cap() {
    // Far from max_stores creates run side by side (one create slot each);
    // the last ones before the cap run alone. 80 creates of 20 owners at
    // once, up to 3 each: 60 would fit per owner, 40 fit in all.
    let db = TestDb::new().await;
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("max_stores", "40"),
            ("max_stores_per_user", "3"),
            ("workers", "0"),
        ],
    );
    let results = join_all((0..80).map(|i| {
        let owner = format!("far{}@x.io", i % 20);
        let name = format!("Far Shop {}", i / 20);
        let (db, s) = (&db, &s);
        async move { (owner.clone(), create(db, s, &name, &owner).await) }
    }))
    .await;
    let mut per_owner: HashMap<String, usize> = HashMap::new();
    for (owner, r) in &results {
        match r {
            Ok((_, true)) => *per_owner.entry(owner.clone()).or_default() += 1,
            Err(EngineError::Limit { .. }) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(per_owner.values().sum::<usize>(), 40, "{per_owner:?}");
    assert!(per_owner.values().all(|n| *n <= 3), "{per_owner:?}");
    assert_eq!(stores::list(&db.pool, None).await.unwrap().len(), 40);
    // Every create counted itself in its slot's row of the live count (the
    // rows no other kind of change writes).
    let (in_slots, elsewhere): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(live) FILTER (WHERE shard < 8), 0)::bigint, \
                coalesce(sum(live) FILTER (WHERE shard >= 8), 0)::bigint FROM live_store_counts",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((in_slots, elsewhere), (40, 0));
    db.drop_db().await;
}
