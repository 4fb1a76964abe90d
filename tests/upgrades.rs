//! Changing running stores against real PostgreSQL, the real API server
//! (kwok nodes), the real helm CLI and the test chart: upgrades, automatic
//! rollback, rollback to a named revision, a worker killed mid-upgrade,
//! pause/resume, volumes that only grow, drift, and fleet runs in waves.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{LimitRange, PersistentVolumeClaim, Pod, ResourceQuota};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use store_weaver::config::Settings;
use store_weaver::db::fleet::{ItemState, RunState};
use store_weaver::db::{audit, operations, stores};
use store_weaver::engine::changes::{self, UpgradeRequest};
use store_weaver::engine::fleet::{self, FleetRequest};
use store_weaver::engine::{self, CreateRequest, EngineConfig, EngineError};
use store_weaver::runtime;
use store_weaver::store::{Actor, Phase, Status, Store, Via};
use uuid::Uuid;

const TAG: &str = "6.9.0-php8.3-apache";

fn base(db: &TestDb, charts: &str, extra: &[(&'static str, &str)]) -> Settings {
    let mut o: Vec<(&'static str, &str)> = vec![
        ("max_stores", "100"),
        ("max_stores_per_user", "100"),
        ("max_concurrent_provisions", "10"),
        ("upgrade_timeout_secs", "60"),
    ];
    o.extend_from_slice(extra);
    settings(&db.url, charts, &o)
}
fn operator() -> Actor {
    Actor::new("ops@example.com", Via::Cli)
}

async fn ready_store(db: &TestDb, s: &Settings, name: &str) -> Store {
    let (store, _) = engine::create(
        &db.pool,
        runtime::limits(s),
        &runtime::naming(s),
        &operator(),
        &CreateRequest {
            name: name.into(),
            owner: "ops@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .expect("create");
    let store = runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(180), |s| {
        !s.status.is_busy()
    })
    .await
    .expect("provisioned");
    assert_eq!(store.status, Status::Ready, "{:?}", store.error_message);
    store
}

/// Waits until the store's change has ended; returns the store and the
/// operation that made it.
async fn changed(db: &TestDb, id: Uuid, secs: u64) -> (Store, operations::Operation) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = stores::get(&db.pool, id).await.unwrap().unwrap();
        let active = operations::active_for(&db.pool, id).await.unwrap();
        if active.is_none() && s.phase == Phase::Done {
            let op = operations::for_store(&db.pool, id)
                .await
                .unwrap()
                .pop()
                .unwrap();
            return (s, op);
        }
        assert!(
            Instant::now() < deadline,
            "the change of {id} did not end in {secs}s: {} {}",
            s.status,
            s.phase
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn upgrade(db: &TestDb, s: &Settings, id: Uuid, set: &[&str]) -> Result<Store, EngineError> {
    changes::upgrade(
        &db.pool,
        &EngineConfig::from_settings(s),
        Some(&kube().await),
        &operator(),
        id,
        &UpgradeRequest {
            set: set.iter().map(|x| x.to_string()).collect(),
            to: None,
        },
    )
    .await
}

fn helm(args: &[&str]) -> String {
    let out = Command::new("helm")
        .args(args)
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn history(ns: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&helm(&["history", ns, "-n", ns, "-o", "json"])).unwrap()
}

async fn web_image(ns: &str) -> String {
    let d: Deployment = Api::namespaced(kube().await, ns).get("web").await.unwrap();
    d.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone()
        .unwrap()
}

/// A copy of the test chart as a later release of it: `version`, and pods
/// that never become Ready when `unready` (no node has their label).
fn chart_copy(dir: &Path, version: &str, unready: bool) -> PathBuf {
    let src = repo("tests/fixtures/charts/woocommerce");
    let dst = dir.join("woocommerce");
    std::fs::create_dir_all(dst.join("templates")).unwrap();
    for f in ["values.yaml", "values.schema.json", "templates/store.yaml"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let chart = std::fs::read_to_string(src.join("Chart.yaml"))
        .unwrap()
        .replace("version: 0.1.0", &format!("version: {version}"));
    std::fs::write(dst.join("Chart.yaml"), chart).unwrap();
    if unready {
        let values = std::fs::read_to_string(dst.join("values.yaml"))
            .unwrap()
            .replace(
                "web:\n  nodeSelector: {}",
                "web:\n  nodeSelector: {store-weaver.io/no-such-node: \"true\"}",
            );
        std::fs::write(dst.join("values.yaml"), values).unwrap();
    }
    dir.to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_changes_the_tag_keeps_the_store_ready_and_a_rollback_goes_to_a_named_revision()
{
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &db, 2).await;
    let store = ready_store(&db, &s, &unique("Upgrade")).await;
    assert_eq!(store.helm_revision, Some(1));
    assert_eq!(store.chart_version.as_deref(), Some("0.1.0"));

    let queued = upgrade(&db, &s, store.id, &[&format!("wordpress.image={TAG}")])
        .await
        .expect("upgrade accepted");
    assert_eq!(
        queued.status,
        Status::Ready,
        "a store stays Ready while it changes"
    );
    // Watch the store while the upgrade runs: Ready throughout, phase upgrading.
    let mut phases = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = stores::get(&db.pool, store.id).await.unwrap().unwrap();
        assert_eq!(now.status, Status::Ready, "status during the upgrade");
        if phases.last() != Some(&now.phase) {
            phases.push(now.phase);
        }
        if now.phase == Phase::Done
            && operations::active_for(&db.pool, store.id)
                .await
                .unwrap()
                .is_none()
        {
            break;
        }
        assert!(Instant::now() < deadline, "upgrade did not end: {phases:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        phases.contains(&Phase::Upgrading),
        "phases seen: {phases:?}"
    );
    let (after, op) = changed(&db, store.id, 5).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    assert_eq!(after.helm_revision, Some(2));
    assert_eq!(after.settings.get("wordpress.image"), Some(TAG));
    assert_eq!(
        web_image(&after.namespace).await,
        format!("registry.invalid/web:{TAG}")
    );
    let entries = audit::list(&db.pool, Some(store.id), 50).await.unwrap();
    let up = entries
        .iter()
        .find(|e| e.action == "store.upgraded")
        .expect("an audit entry for the upgrade");
    let detail = up.detail.clone().unwrap_or_default();
    assert!(detail.contains("revision 1 → 2"), "{detail}");
    assert!(
        detail.contains(&format!("wordpress.image default → {TAG}")),
        "{detail}"
    );
    assert_eq!(up.actor, "ops@example.com");

    // Nothing to change is refused before anything is queued.
    let e = upgrade(&db, &s, store.id, &[]).await.unwrap_err();
    assert!(e.to_string().contains("nothing to change"), "{e}");
    // The chart's schema checks what the settings' own rules let through.
    let e = upgrade(&db, &s, store.id, &["wordpress.volume=1500M"])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("chart refuses"), "{e}");

    // Roll back to revision 1 by name: a new revision with its content.
    changes::rollback(&db.pool, &operator(), store.id, Some(1))
        .await
        .expect("rollback accepted");
    let (back, op) = changed(&db, store.id, 90).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    assert_eq!(back.status, Status::Ready);
    assert_eq!(back.helm_revision, Some(3));
    assert_eq!(
        back.settings.get("wordpress.image"),
        None,
        "revision 1's settings are back"
    );
    assert_eq!(
        web_image(&back.namespace).await,
        "registry.invalid/web:6.8.3-php8.3-apache"
    );
    let h = history(&back.namespace);
    assert_eq!(h.last().unwrap()["description"], "Rollback to 1");
    // A revision the release never had is refused with what it has.
    let e = changes::rollback(&db.pool, &operator(), store.id, Some(9))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("not in the release's history"),
        "{e}"
    );

    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_whose_pods_never_become_ready_is_rolled_back_with_the_pod_named() {
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let first = workers(&s, &db, 2).await;
    let store = ready_store(&db, &s, &unique("Rollback")).await;
    first.shutdown().await;

    // A later Store Weaver ships chart 0.2.0, whose web pod cannot be scheduled.
    let dir = tempdir();
    let charts = chart_copy(&dir, "0.2.0", true);
    let s2 = base(
        &db,
        charts.to_str().unwrap(),
        &[("upgrade_timeout_secs", "8")],
    );
    let second = workers(&s2, &db, 2).await;
    changes::upgrade(
        &db.pool,
        &EngineConfig::from_settings(&s2),
        Some(&kube().await),
        &operator(),
        store.id,
        &UpgradeRequest {
            set: vec![],
            to: Some("0.2.0".into()),
        },
    )
    .await
    .expect("upgrade accepted");
    let (after, op) = changed(&db, store.id, 120).await;
    assert_eq!(op.state, operations::State::Failed);
    let why = op.error.unwrap_or_default();
    assert!(
        why.starts_with("rolled back automatically to revision 1"),
        "{why}"
    );
    assert!(why.contains("pod web-"), "the reason names the pod: {why}");
    assert!(
        why.contains("unschedulable"),
        "and what Kubernetes said: {why}"
    );
    assert_eq!(after.status, Status::Ready, "{:?}", after.error_message);
    assert_eq!(after.chart_version.as_deref(), Some("0.1.0"));
    assert_eq!(after.helm_revision, Some(3), "the rollback's own revision");
    let h = history(&after.namespace);
    let last = h.last().unwrap();
    assert_eq!(last["description"], "Rollback to 1");
    assert_eq!(last["status"], "deployed");
    assert_eq!(last["chart"], "woocommerce-0.1.0");
    let failed = audit::list(&db.pool, Some(store.id), 50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "store.upgrade-failed")
        .expect("audited");
    assert!(failed.detail.unwrap_or_default().contains("pod web-"));
    // The web Deployment is back on its old template and ready.
    let d: Deployment = Api::namespaced(kube().await, &after.namespace)
        .get("web")
        .await
        .unwrap();
    assert!(
        d.spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .node_selector
            .is_none()
    );

    second.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}

/// The one pod of `ns` whose web container runs `image`, once it exists.
async fn pod_with_image(ns: &str, image: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(kube().await, ns);
    let what = format!("a pod running {image} in {ns}");
    eventually(Duration::from_secs(60), &what, || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.ok()?;
            list.items.into_iter().find_map(|p| {
                let spec = p.spec.as_ref()?;
                spec.containers
                    .iter()
                    .any(|c| c.image.as_deref() == Some(image))
                    .then(|| p.metadata.name.clone())
                    .flatten()
            })
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_whose_new_pod_cannot_pull_its_image_is_rolled_back_without_waiting_out_the_timeout()
 {
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let first = workers(&s, &db, 1).await;
    let store = ready_store(&db, &s, &unique("Stuck")).await;
    first.shutdown().await;
    let ns = store.namespace.clone();

    // The new revision's web pod is never scheduled (kwok, which plays the
    // kubelets, never touches it): the test says for the kubelet what a
    // real one says of an image that does not exist.
    let dir = tempdir();
    let charts = chart_copy(&dir, "0.1.0", true);
    let timeout = 300;
    let s2 = base(
        &db,
        charts.to_str().unwrap(),
        &[
            ("upgrade_timeout_secs", &timeout.to_string()),
            ("upgrade_stuck_secs", "3"),
        ],
    );
    let second = workers(&s2, &db, 1).await;
    let bad = "no-such-tag";
    upgrade(&db, &s2, store.id, &[&format!("wordpress.image={bad}")])
        .await
        .expect("upgrade accepted");
    let image = format!("registry.invalid/web:{bad}");
    let pod = pod_with_image(&ns, &image).await;
    let pods: Api<Pod> = Api::namespaced(kube().await, &ns);
    let status = serde_json::json!({"status": {"containerStatuses": [{
        "name": "web", "image": image, "imageID": "", "ready": false,
        "restartCount": 0, "started": false,
        "state": {"waiting": {
            "reason": "ImagePullBackOff",
            "message": format!("Back-off pulling image \"{image}\": not found")
        }}
    }]}});
    pods.patch_status(&pod, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch the pod's status as its kubelet would");
    let stuck_at = Instant::now();

    // The rollback starts within seconds (3 s to confirm), not at the timeout.
    let within = Duration::from_secs(60);
    let started = eventually(within, "the automatic rollback starts", || {
        let pool = db.pool.clone();
        async move {
            let st = stores::get(&pool, store.id).await.unwrap()?;
            (st.phase == Phase::RollingBack || st.phase == Phase::Done).then(|| stuck_at.elapsed())
        }
    })
    .await;
    assert!(
        started < within,
        "the rollback started {started:?} after the pod was stuck"
    );
    let (after, op) = changed(&db, store.id, 120).await;
    assert_eq!(op.state, operations::State::Failed);
    let why = op.error.unwrap_or_default();
    assert!(
        why.starts_with("rolled back automatically to revision 1"),
        "{why}"
    );
    assert!(
        why.contains(&format!("pod {pod}: container web: ImagePullBackOff")),
        "the reason names the pod and what its kubelet said: {why}"
    );
    assert!(
        why.contains(&format!("{timeout}s upgrade timeout was not waited out")),
        "{why}"
    );
    assert!(
        stuck_at.elapsed() < Duration::from_secs(timeout / 2),
        "ended {:?} after the pod was stuck",
        stuck_at.elapsed()
    );
    assert_eq!(after.status, Status::Ready, "{:?}", after.error_message);
    assert_eq!(
        after.settings.get("wordpress.image"),
        None,
        "the old settings"
    );
    assert_eq!(after.helm_revision, Some(3), "the rollback's own revision");
    assert_eq!(
        web_image(&ns).await,
        "registry.invalid/web:6.8.3-php8.3-apache"
    );
    eprintln!(
        "fail-fast figures: rollback started {:.1}s after the pod was stuck (confirmation window 3s), change ended after {:.1}s; upgrade timeout {timeout}s",
        started.as_secs_f64(),
        stuck_at.elapsed().as_secs_f64()
    );

    second.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}

fn claim_size(p: PersistentVolumeClaim) -> String {
    p.spec.unwrap().resources.unwrap().requests.unwrap()["storage"]
        .0
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_volume_over_the_namespace_limit_range_is_refused_at_the_request_and_by_a_fleet_run() {
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let first = workers(&s, &db, 1).await;
    let store = ready_store(&db, &s, &unique("Limited")).await;
    // No worker from here: what is refused is refused by the request itself.
    first.shutdown().await;
    let ns = store.namespace.clone();
    let limit: LimitRange = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "volume-cap"},
        "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}}]}
    }))
    .unwrap();
    Api::<LimitRange>::namespaced(kube().await, &ns)
        .create(&PostParams::default(), &limit)
        .await
        .unwrap();

    let e = upgrade(&db, &s, store.id, &["database.volume=1Ti"])
        .await
        .expect_err("a claim over the LimitRange's max is refused at once");
    let msg = e.to_string();
    assert!(msg.contains("database.volume=1Ti"), "{msg}");
    assert!(msg.contains("LimitRange volume-cap"), "{msg}");
    assert!(msg.contains("2Gi"), "{msg}");
    assert!(
        operations::active_for(&db.pool, store.id)
            .await
            .unwrap()
            .is_none(),
        "nothing queued"
    );
    // A fleet run checks its first store before its first wave.
    let e = fleet::start(
        &db.pool,
        &EngineConfig::from_settings(&s),
        Some(&kube().await),
        &operator(),
        &FleetRequest {
            set: vec!["database.volume=1Ti".into()],
            to: None,
            owner: None,
            status: Some(Status::Ready),
            wave: 1,
            max_failures: 1,
            engine: Default::default(),
        },
    )
    .await
    .expect_err("the fleet run is refused before its first wave");
    assert!(e.to_string().contains("LimitRange volume-cap"), "{e}");
    assert!(
        operations::active_for(&db.pool, store.id)
            .await
            .unwrap()
            .is_none()
    );
    // Within the limit it is accepted.
    upgrade(&db, &s, store.id, &["database.volume=2Gi"])
        .await
        .expect("2Gi is within the LimitRange");
    let now = stores::get(&db.pool, store.id).await.unwrap().unwrap();
    assert_eq!(now.status, Status::Ready);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_volume_refused_by_a_quota_after_the_request_leaves_the_store_ready_on_its_old_settings()
{
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let first = workers(&s, &db, 1).await;
    let store = ready_store(&db, &s, &unique("Quota")).await;
    first.shutdown().await;
    let ns = store.namespace.clone();
    upgrade(&db, &s, store.id, &["database.volume=2Gi"])
        .await
        .expect("accepted: nothing limits it yet");
    // Then, before a worker takes it, a quota the two 1Gi claims fill.
    let client = kube().await;
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), &ns);
    let quota: ResourceQuota = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "storage-cap"},
        "spec": {"hard": {"requests.storage": "2Gi"}}
    }))
    .unwrap();
    quotas.create(&PostParams::default(), &quota).await.unwrap();
    eventually(Duration::from_secs(60), "the quota's usage counted", || {
        let quotas = quotas.clone();
        async move {
            let q = quotas.get("storage-cap").await.ok()?;
            q.status?
                .used?
                .contains_key("requests.storage")
                .then_some(())
        }
    })
    .await;

    let second = workers(&s, &db, 1).await;
    let (after, op) = changed(&db, store.id, 90).await;
    assert_eq!(op.state, operations::State::Failed);
    let why = op.error.unwrap_or_default();
    assert!(why.contains("ResourceQuota storage-cap"), "{why}");
    assert!(why.contains("nothing was changed"), "{why}");
    assert_eq!(after.status, Status::Ready, "{:?}", after.error_message);
    assert_eq!(
        after.settings.get("database.volume"),
        None,
        "its old settings"
    );
    assert_eq!(after.helm_revision, Some(1), "no new revision");
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    assert_eq!(claim_size(pvcs.get("data-db-0").await.unwrap()), "1Gi");
    let entry = audit::list(&db.pool, Some(store.id), 50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "store.upgrade-failed")
        .expect("the refusal is audited");
    assert!(entry.detail.unwrap_or_default().contains("storage-cap"));

    second.shutdown().await;
    db.drop_db().await;
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sw-upgrade-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A helm that waits for the pods in `upgrade` (so the release sits in
/// pending-upgrade), for the worker that is killed mid-upgrade.
fn waiting_helm(dir: &Path) -> PathBuf {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v helm"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let path = dir.join("helm");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nif [ \"$1\" = upgrade ]; then exec {} \"$@\" --wait; fi\nexec {} \"$@\"\n",
            real.trim(),
            real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_upgrade_is_resumed_and_no_release_is_left_pending() {
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let first = workers(&s, &db, 1).await;
    let store = ready_store(&db, &s, &unique("Killed")).await;
    first.shutdown().await;

    // The doomed worker: its chart's new pods never get ready and its helm
    // waits for them, so it is killed with the release pending-upgrade.
    let dir = tempdir();
    let charts = chart_copy(&dir, "0.1.0", true);
    let helm_bin = waiting_helm(&dir);
    let log = std::fs::File::create(dir.join("worker.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .arg("worker")
        .args(["--database-url", &db.url])
        .args(["--kubeconfig", &require_env("KUBECONFIG")])
        .args(["--charts-dir", charts.to_str().unwrap()])
        .args([
            "--values-file",
            charts.join("woocommerce/values.yaml").to_str().unwrap(),
        ])
        .args(["--helm", helm_bin.to_str().unwrap()])
        .args(["--lease", "4", "--workers", "1", "--upgrade-timeout", "120"])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start a worker process");
    upgrade(&db, &s, store.id, &[&format!("wordpress.image={TAG}")])
        .await
        .expect("upgrade accepted");
    let ns = store.namespace.clone();
    eventually(
        Duration::from_secs(60),
        "the release pending-upgrade",
        || {
            let ns = ns.clone();
            async move {
                history(&ns)
                    .iter()
                    .any(|r| r["status"] == "pending-upgrade")
                    .then_some(())
            }
        },
    )
    .await;
    // SIGKILL the worker's helm and the worker: no chance to hand anything
    // back, nor to see its helm die. The worker is frozen first: a worker
    // that outlives its helm even by a moment takes the dead helm for a
    // failed upgrade and starts rolling back (then the kill interrupts a
    // rollback, not the upgrade, which is another test's case).
    let pid = child.id().to_string();
    let stopped = Command::new("kill").args(["-STOP", &pid]).status();
    assert!(
        stopped.as_ref().is_ok_and(|s| s.success()),
        "SIGSTOP the worker: {stopped:?}"
    );
    let helm_killed = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
    assert!(
        helm_killed.as_ref().is_ok_and(|s| s.success()),
        "SIGKILL the worker's helm: {helm_killed:?}"
    );
    child.kill().expect("SIGKILL the worker");
    let _ = child.wait();
    let op = operations::active_for(&db.pool, store.id)
        .await
        .unwrap()
        .expect("the upgrade is still active");
    assert_eq!(
        op.step,
        Some(Phase::Upgrading),
        "killed mid-upgrade, before anything else happened"
    );

    // A healthy worker takes over once the lease runs out.
    let s2 = base(&db, "tests/fixtures/charts", &[("lease_secs", "4")]);
    let second = workers(&s2, &db, 1).await;
    let (after, op) = changed(&db, store.id, 120).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    assert!(
        op.claims >= 2,
        "claimed again after the kill: {}",
        op.claims
    );
    assert_eq!(after.status, Status::Ready);
    assert_eq!(after.settings.get("wordpress.image"), Some(TAG));
    // The interrupted revision stays in the history as what it was (helm
    // keeps it); the release is past it: put back, then upgraded.
    let h = history(&ns);
    let pending = h
        .iter()
        .position(|r| r["status"] == "pending-upgrade")
        .expect("the interrupted revision is in the history");
    assert_eq!(h[pending + 1]["description"], "Rollback to 1", "{h:?}");
    let last = h.last().unwrap();
    assert_eq!(last["status"], "deployed", "{h:?}");
    assert_eq!(last["description"], "Upgrade complete");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&helm(&["status", &ns, "-n", &ns, "-o", "json"]))
            .unwrap()["info"]["status"],
        "deployed"
    );
    assert_eq!(web_image(&ns).await, format!("registry.invalid/web:{TAG}"));

    second.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_resume_grow_volumes_refuse_shrinking_and_report_drift() {
    let db = TestDb::new().await;
    let s = base(&db, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &db, 2).await;
    let store = ready_store(&db, &s, &unique("Knobs")).await;
    let ns = store.namespace.clone();
    let client = kube().await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), &ns);

    // Pause: no storefront pod, the store Ready and its data kept.
    upgrade(&db, &s, store.id, &["replicas=0"])
        .await
        .expect("pause");
    let (paused, op) = changed(&db, store.id, 90).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    assert_eq!(paused.status, Status::Ready);
    assert_eq!(
        deps.get("web").await.unwrap().spec.unwrap().replicas,
        Some(0)
    );
    upgrade(&db, &s, store.id, &["replicas=1"])
        .await
        .expect("resume");
    let (_, op) = changed(&db, store.id, 90).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    assert_eq!(
        deps.get("web").await.unwrap().spec.unwrap().replicas,
        Some(1)
    );

    // Grow both volumes: the claims grow, the database's template follows.
    upgrade(
        &db,
        &s,
        store.id,
        &["wordpress.volume=2Gi", "database.volume=3Gi"],
    )
    .await
    .expect("grow");
    let (grown, op) = changed(&db, store.id, 120).await;
    assert_eq!(op.state, operations::State::Succeeded, "{:?}", op.error);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let size = |p: PersistentVolumeClaim| {
        p.spec.unwrap().resources.unwrap().requests.unwrap()["storage"]
            .0
            .clone()
    };
    assert_eq!(size(pvcs.get("web-content").await.unwrap()), "2Gi");
    assert_eq!(size(pvcs.get("data-db-0").await.unwrap()), "3Gi");
    let sts: StatefulSet = Api::namespaced(client.clone(), &ns)
        .get("db")
        .await
        .unwrap();
    let tmpl = &sts.spec.unwrap().volume_claim_templates.unwrap()[0];
    assert_eq!(
        tmpl.spec
            .as_ref()
            .unwrap()
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["storage"]
            .0,
        "3Gi"
    );
    assert_eq!(grown.settings.get("database.volume"), Some("3Gi"));

    // Shrinking is refused before anything is queued, with the fix.
    let e = upgrade(&db, &s, store.id, &["database.volume=1Gi"])
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("cannot shrink a volume from 3Gi to 1Gi"),
        "{msg}"
    );
    assert!(msg.contains("set 3Gi or more"), "{msg}");
    assert!(
        operations::active_for(&db.pool, store.id)
            .await
            .unwrap()
            .is_none()
    );
    // The command line says the same and exits 2.
    let out = Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args(["store", "set", &ns, "database.volume=1Gi"])
        .args([
            "--database-url",
            &db.url,
            "--kubeconfig",
            &require_env("KUBECONFIG"),
        ])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot shrink"));

    // No drift so far; a release changed with helm by hand is drift.
    let cfg = EngineConfig::from_settings(&s);
    let now = stores::get(&db.pool, store.id).await.unwrap().unwrap();
    let h = changes::history(&db.pool, &cfg, &client, &now)
        .await
        .unwrap();
    assert_eq!(h.drift, None, "{:?}", h.drift);
    assert!(h.revisions.iter().all(|r| r.settings.is_some()));
    helm(&[
        "upgrade",
        &ns,
        repo("tests/fixtures/charts/woocommerce").to_str().unwrap(),
        "-n",
        &ns,
        "--reuse-values",
        "--set",
        "wordpress.image.tag=by-hand",
    ]);
    let h = changes::history(&db.pool, &cfg, &client, &now)
        .await
        .unwrap();
    let drift = h.drift.expect("drift reported");
    assert!(drift.contains("not made by Store Weaver"), "{drift}");
    assert_eq!(
        h.revisions[0].settings, None,
        "the hand-made revision is marked"
    );
    // The command line reports it too.
    let out = Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args(["store", "history", &ns, "--json"])
        .args([
            "--database-url",
            &db.url,
            "--kubeconfig",
            &require_env("KUBECONFIG"),
        ])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        j["drift"]
            .as_str()
            .unwrap_or("")
            .contains("not made by Store Weaver")
    );

    pool.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_upgrade_runs_in_waves_stops_at_the_budget_and_resumes_after_the_fix() {
    let db = TestDb::new().await;
    let s = base(
        &db,
        "tests/fixtures/charts",
        &[("upgrade_timeout_secs", "10")],
    );
    let pool = workers(&s, &db, 10).await;
    let prefix = unique("Fleet");
    let mut made = Vec::new();
    for i in 0..20 {
        let (st, _) = engine::create(
            &db.pool,
            runtime::limits(&s),
            &runtime::naming(&s),
            &operator(),
            &CreateRequest {
                name: format!("{prefix} {i:02}"),
                owner: "ops@example.com".into(),
                engine: "woocommerce".into(),
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
        made.push(st);
    }
    for st in &made {
        let st = runtime::wait_for_store(&db.pool, st.id, Duration::from_secs(300), |s| {
            !s.status.is_busy()
        })
        .await
        .unwrap();
        assert_eq!(st.status, Status::Ready, "{:?}", st.error_message);
    }
    // Store 7 (wave 2) cannot start a new pod: a quota of two pods, both used.
    let bad = &made[7];
    let client = kube().await;
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), &bad.namespace);
    let quota: ResourceQuota = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "two-pods"},
        "spec": {"hard": {"pods": "2"}}
    }))
    .unwrap();
    quotas.create(&PostParams::default(), &quota).await.unwrap();

    let cfg = EngineConfig::from_settings(&s);
    let started = Instant::now();
    let run = fleet::start(
        &db.pool,
        &cfg,
        Some(&client),
        &operator(),
        &FleetRequest {
            set: vec![format!("wordpress.image={TAG}")],
            to: None,
            owner: None,
            status: Some(Status::Ready),
            wave: 5,
            max_failures: 1,
            engine: Default::default(),
        },
    )
    .await
    .expect("fleet run started");
    assert_eq!(run.waves, 4);
    assert_eq!(run.items.len(), 20);
    let id = run.run.id;
    let stopped = eventually(Duration::from_secs(240), "the run stops", || {
        let pool = db.pool.clone();
        async move {
            let d = fleet::detail_of(&pool, id).await.unwrap();
            (d.run.state != RunState::Running && d.counts.queued == 0).then_some(d)
        }
    })
    .await;
    assert_eq!(
        stopped.run.state,
        RunState::Stopped,
        "{:?}",
        stopped.run.stop_reason
    );
    assert_eq!(stopped.run.current_wave, 2, "exactly waves 1 and 2 ran");
    assert_eq!(stopped.counts.upgraded, 9);
    assert_eq!(stopped.counts.failed, 1);
    assert_eq!(stopped.counts.pending, 10, "waves 3 and 4 untouched");
    let failed_item = stopped
        .items
        .iter()
        .find(|i| i.state == ItemState::Failed)
        .unwrap();
    assert_eq!(failed_item.store_id, bad.id);
    assert!(
        failed_item
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("rolled back automatically"),
        "{:?}",
        failed_item.detail
    );
    // The failed store is Ready on its old settings; the untouched ones were never changed.
    let b = stores::get(&db.pool, bad.id).await.unwrap().unwrap();
    assert_eq!(b.status, Status::Ready);
    assert_eq!(b.settings.get("wordpress.image"), None);
    for st in &made[10..] {
        let now = stores::get(&db.pool, st.id).await.unwrap().unwrap();
        assert_eq!(now.helm_revision, Some(1), "{} untouched", now.name);
        let ops = operations::for_store(&db.pool, st.id).await.unwrap();
        assert!(
            ops.iter().all(|o| o.kind == operations::Kind::Provision),
            "{} has no upgrade",
            now.name
        );
    }
    // A second run cannot be resumed while running, and cancel/resume need a run that exists.
    assert!(
        fleet::resume(&db.pool, &cfg, &operator(), id + 1000)
            .await
            .is_err()
    );

    // Fix the cause, resume: the failed store and the rest are upgraded.
    quotas
        .delete("two-pods", &DeleteParams::default())
        .await
        .unwrap();
    fleet::resume(&db.pool, &cfg, &operator(), id)
        .await
        .expect("resumed");
    let done = eventually(Duration::from_secs(240), "the run completes", || {
        let pool = db.pool.clone();
        async move {
            let d = fleet::detail_of(&pool, id).await.unwrap();
            (d.run.state != RunState::Running).then_some(d)
        }
    })
    .await;
    assert_eq!(done.run.state, RunState::Done, "{:?}", done.run.stop_reason);
    assert_eq!(done.counts.upgraded, 20);
    for st in &made {
        let now = stores::get(&db.pool, st.id).await.unwrap().unwrap();
        assert_eq!(
            now.settings.get("wordpress.image"),
            Some(TAG),
            "{}",
            now.name
        );
        assert_eq!(now.status, Status::Ready);
    }
    // Figures for docs/operations (printed, not asserted): the platform's
    // own time per upgrade is the operation's length minus helm and waiting.
    let mut own: Vec<i64> = Vec::new();
    for st in &made {
        for o in operations::for_store(&db.pool, st.id).await.unwrap() {
            if let (operations::Kind::Upgrade, Some(a), Some(b)) =
                (o.kind, o.started_at, o.finished_at)
            {
                own.push((b - a).num_milliseconds() - o.helm_ms - o.wait_ms);
            }
        }
    }
    own.sort_unstable();
    eprintln!(
        "fleet figures: 20 stores, wave 5, one failure (upgrade timeout 10s), resumed: {:.1}s in all; platform's own time per upgrade: median {} ms, max {} ms over {} upgrades",
        started.elapsed().as_secs_f64(),
        own.get(own.len() / 2).copied().unwrap_or_default(),
        own.last().copied().unwrap_or_default(),
        own.len()
    );

    pool.shutdown().await;
    db.drop_db().await;
}
