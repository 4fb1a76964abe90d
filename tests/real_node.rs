//! Stores on the sandbox's real node (a kubelet with containerd: scripts/
//! sandbox-node.sh), provisioned by the engine with the real store chart and
//! images built from Debian packages: containers really start from their
//! images, probes pass, volumes are writable by the users the chart runs as,
//! WordPress reaches its database by Service name, the database keeps its
//! data across a pod restart, `store logs` and `store wp` reach real
//! containers, and a worker killed mid-provision is resumed without
//! duplicating anything. The setup step's boundary (WooCommerce and wp-cli
//! are in no registry this machine reaches) is proven too.
//!
//! Placement comes from the values file `scripts/sandbox up` writes
//! ($SANDBOX_REAL_NODE_VALUES): the real node's label and taint, its storage
//! class, the local images, and the setup step off.

mod common;

use common::real::{create_store, pods, record};
use common::tools::{kubectl, kubectl_json, must, text};
use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use store_weaver::config::Settings;
use store_weaver::db::operations;
use store_weaver::engine;
use store_weaver::store::{Actor, Phase, Status, Via};

const REAL_NODE: &str = "sandbox-real-0";
/// A store on the real node pulls nothing, but its database initialises and
/// WordPress core is copied at every start; generous for a loaded machine.
const READY_SECS: u64 = 300;

fn real_values() -> String {
    require_env("SANDBOX_REAL_NODE_VALUES")
}

fn real_settings(db: &TestDb, extra: &[&str]) -> Settings {
    let mut files = vec![real_values()];
    files.extend(extra.iter().map(|s| s.to_string()));
    let files = files.join(",");
    let values = repo("charts/woocommerce/values-local.yaml");
    settings(
        &db.url,
        "charts",
        &[
            ("values_file", values.to_str().unwrap()),
            ("extra_values_files", &files),
            ("provision_timeout_secs", "600"),
            ("lease_secs", "5"),
        ],
    )
}
fn pod_of(ns: &str, component: &str) -> Value {
    pods(ns)
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app.kubernetes.io/component"] == component)
        .unwrap_or_else(|| panic!("no {component} pod in {ns}"))
}

/// `kubectl exec` in a store pod: stdout, or a panic with stderr.
fn exec(ns: &str, pod: &str, container: &str, script: &str) -> String {
    let out = kubectl(
        &[
            "exec", "-n", ns, pod, "-c", container, "--", "sh", "-c", script,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "exec in {ns}/{pod}/{container}: {script}\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// What the store's database answers to a query, as the database's own user
/// (its password from the container's environment, never on a command line).
fn sql(ns: &str, pod: &str, query: &str) -> String {
    exec(
        ns,
        pod,
        "mariadb",
        &format!(
            "MYSQL_PWD=\"$MARIADB_PASSWORD\" mariadb -N -B -u\"$MARIADB_USER\" \"$MARIADB_DATABASE\" -e '{query}'"
        ),
    )
}

/// The claims' volumes, by claim name.
fn volumes(ns: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        kubectl_json(&["get", "pvc", "-n", ns, "-o", "json"])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                (
                    c["metadata"]["name"].as_str().unwrap_or("").to_string(),
                    c["spec"]["volumeName"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
    v.sort();
    v
}

fn assert_real_pods(ns: &str) {
    let pods = pods(ns);
    assert_eq!(pods.len(), 2, "one WordPress and one database pod");
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("?");
        assert_eq!(p["spec"]["nodeName"], REAL_NODE, "{name} on the real node");
        for c in p["status"]["containerStatuses"].as_array().unwrap() {
            let id = c["containerID"].as_str().unwrap_or("");
            assert!(
                id.starts_with("containerd://") && id.len() > 20,
                "{name}/{}: a real container id, got {id:?}",
                c["name"]
            );
            assert_eq!(c["ready"], true, "{name}/{} ready", c["name"]);
        }
    }
}

#[tokio::test]
async fn a_store_on_the_real_node_runs_real_containers_and_keeps_its_data() {
    let db = TestDb::new().await;
    let s = real_settings(&db, &[]);
    let pool = workers(&s, &db, 2).await;
    let store = create_store(&db, &s, &unique("Real Pods"), "woocommerce").await;
    let done = settle(&db, store.id, READY_SECS).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    let ns = done.namespace.clone();
    assert_real_pods(&ns);

    // The copy step ran as www-data on the real volume roots.
    let wp = pod_of(&ns, "wordpress");
    let wp_name = wp["metadata"]["name"].as_str().unwrap().to_string();
    let copy = wp["status"]["initContainerStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "copy-wordpress")
        .expect("the copy step ran")
        .clone();
    assert_eq!(copy["state"]["terminated"]["exitCode"], 0, "{copy}");
    let who = exec(
        &ns,
        &wp_name,
        "wordpress",
        "id -u; stat -c %u /var/www/html/index.php; \
         touch /var/www/html/wp-content/.probe && stat -c %u /var/www/html/wp-content/.probe",
    );
    assert_eq!(
        who.split_whitespace().collect::<Vec<_>>(),
        ["33", "33", "33"],
        "WordPress runs as uid 33, core was copied by it, and it writes wp-content"
    );

    // DNS and the Service: the database's name resolves in the pod, and
    // WordPress, asked through its Service from the node, has reached its
    // database (it redirects to its installer; without a database it answers
    // 500 "Error establishing a database connection").
    let db_pod = pod_of(&ns, "database");
    let db_name = db_pod["metadata"]["name"].as_str().unwrap().to_string();
    let services = kubectl_json(&["get", "svc", "-n", &ns, "-o", "json"]);
    let services = services["items"].as_array().unwrap();
    let svc_of = |component: &str| {
        services
            .iter()
            .find(|s| s["metadata"]["labels"]["app.kubernetes.io/component"] == component)
            .unwrap_or_else(|| panic!("a {component} Service"))
            .clone()
    };
    let db_svc = svc_of("database")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let resolved = exec(
        &ns,
        &wp_name,
        "wordpress",
        &format!("getent hosts {db_svc}"),
    );
    assert!(
        !resolved.trim().is_empty(),
        "{db_svc} resolves in the pod: {resolved}"
    );
    let web = svc_of("wordpress");
    let ip = web["spec"]["clusterIP"].as_str().unwrap().to_string();
    let port = web["spec"]["ports"][0]["port"].as_u64().unwrap();
    let host = done.url.trim_start_matches("http://").trim_end_matches('/');
    // kube-proxy programs the Service's endpoints a moment after the pods
    // are Ready (it rejects while there are none): ask until it answers.
    let url = format!("http://{ip}:{port}/wp-login.php");
    let answer = eventually(
        Duration::from_secs(60),
        "WordPress through its Service",
        || {
            let (url, host) = (url.clone(), host.to_string());
            async move {
                let http = Command::new("curl")
                    .args(["-sS", "-o", "/dev/null", "--max-time", "20"])
                    .args(["-w", "%{http_code} %{redirect_url}"])
                    .args(["-H", &format!("Host: {host}")])
                    .arg(&url)
                    .output()
                    .expect("run curl");
                let answer = text(&http.stdout);
                (!answer.starts_with("000")).then_some(answer)
            }
        },
    )
    .await;
    assert!(
        answer.starts_with("302 ") && answer.contains("install.php"),
        "WordPress through its Service: {answer}"
    );

    // The database keeps what it wrote across a pod restart (its volume is
    // real, the new pod initialises nothing).
    sql(
        &ns,
        &db_name,
        "CREATE TABLE sw_probe (v INT); INSERT INTO sw_probe VALUES (42)",
    );
    let old_uid = db_pod["metadata"]["uid"].as_str().unwrap().to_string();
    let pods_api: Api<Pod> = Api::namespaced(kube().await, &ns);
    pods_api
        .delete(&db_name, &DeleteParams::default())
        .await
        .expect("delete the database pod");
    eventually(
        Duration::from_secs(READY_SECS),
        "a new database pod, Ready",
        || {
            let pods_api = pods_api.clone();
            let (db_name, old_uid) = (db_name.clone(), old_uid.clone());
            async move {
                let p = pods_api.get_opt(&db_name).await.ok()??;
                let uid = p.metadata.uid.clone()?;
                let ready = p
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                (uid != old_uid && ready).then_some(())
            }
        },
    )
    .await;
    assert_eq!(
        sql(&ns, &db_name, "SELECT v FROM sw_probe").trim(),
        "42",
        "the row survived the restart"
    );

    // `store logs` shows the real container's own lines, and `store wp` runs
    // in the real WordPress container: its php answers (the image has no
    // wp-cli: no registry here has it), not the sandbox's kwok stand-in.
    let out = sw(
        &db.url,
        &[
            "store",
            "logs",
            &ns,
            "--pod",
            &db_name,
            "--container",
            "mariadb",
        ],
    );
    let log = text(&out.stdout);
    assert!(
        out.status.success() && log.contains("ready for connections"),
        "store logs: {log}{}",
        text(&out.stderr)
    );
    assert!(!log.contains("kwok simulates"), "{log}");
    let out = sw(&db.url, &["store", "wp", &ns, "--", "core", "version"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "no wp-cli in the sandbox: {said}");
    assert!(
        said.contains("Could not open input file: /opt/wp-cli/wp"),
        "the container's php answered: {said}"
    );

    // Delete: everything goes, the volumes' directories included.
    let claimed = volumes(&ns);
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .unwrap();
    assert_eq!(
        settle(&db, store.id, READY_SECS).await.status,
        Status::Deleted
    );
    namespace_gone(&ns, 180).await;
    for (_, pv) in claimed {
        eventually(
            Duration::from_secs(60),
            &format!("volume {pv} released and removed"),
            || {
                let pv = pv.clone();
                async move {
                    let out = kubectl(
                        &["get", "pv", &pv, "--ignore-not-found", "-o", "name"],
                        None,
                    );
                    (out.status.success() && text(&out.stdout).trim().is_empty()).then_some(())
                }
            },
        )
        .await;
    }
    pool.shutdown().await;
    db.drop_db().await;
}

fn spawn_worker(db_url: &str, extra: &str, log: &str) -> Child {
    let log_file = std::fs::File::create(std::env::temp_dir().join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .arg("worker")
        .args(["--database-url", db_url])
        .args(["--kubeconfig", &require_env("KUBECONFIG")])
        .args(["--charts-dir", repo("charts").to_str().unwrap()])
        .args([
            "--values-file",
            repo("charts/woocommerce/values-local.yaml")
                .to_str()
                .unwrap(),
        ])
        .args(["--extra-values-files", extra])
        .args([
            "--lease",
            "3",
            "--workers",
            "1",
            "--provision-timeout",
            "600",
        ])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start a worker process")
}

#[tokio::test]
async fn a_worker_killed_mid_provision_on_real_pods_is_resumed_without_duplicates() {
    let db = TestDb::new().await;
    let s = real_settings(&db, &[]);
    let store = create_store(&db, &s, &unique("Real Resume"), "woocommerce").await;

    let mut a = spawn_worker(&db.url, &real_values(), "sw-real-worker-a.log");
    eventually(
        Duration::from_secs(120),
        "worker A installed the release and waits for Ready",
        || async { (record(&db, store.id).await.phase == Phase::WaitingForReady).then_some(()) },
    )
    .await;
    let ns = record(&db, store.id).await.namespace;
    let secret_uid = kubectl_json(&[
        "get",
        "secret",
        "-n",
        &ns,
        "store-credentials",
        "-o",
        "json",
    ])["metadata"]["uid"]
        .as_str()
        .map(str::to_string);
    let ns_uid = kubectl_json(&["get", "namespace", &ns, "-o", "json"])["metadata"]["uid"]
        .as_str()
        .map(str::to_string);
    a.kill().unwrap(); // SIGKILL: nothing handed back
    a.wait().unwrap();

    let mut b = spawn_worker(&db.url, &real_values(), "sw-real-worker-b.log");
    let done = settle(&db, store.id, READY_SECS).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    assert_eq!(done.namespace, ns, "the same namespace");
    assert_real_pods(&ns);

    let ops = operations::for_store(&db.pool, store.id).await.unwrap();
    assert_eq!(ops.len(), 1, "one operation");
    assert_eq!(ops[0].claims, 2, "claimed by A, then by B");
    assert_eq!(ops[0].state, operations::State::Succeeded);
    // Nothing made twice: the namespace and the credentials are the ones A
    // made (new credentials would lock WordPress out of the database A
    // initialised), one volume per claim, one pod per workload.
    assert_eq!(
        kubectl_json(&["get", "namespace", &ns, "-o", "json"])["metadata"]["uid"]
            .as_str()
            .map(str::to_string),
        ns_uid
    );
    assert_eq!(
        kubectl_json(&[
            "get",
            "secret",
            "-n",
            &ns,
            "store-credentials",
            "-o",
            "json"
        ])["metadata"]["uid"]
            .as_str()
            .map(str::to_string),
        secret_uid
    );
    assert_eq!(volumes(&ns).len(), 2, "{:?}", volumes(&ns));
    let pvs = kubectl_json(&["get", "pv", "-o", "json"]);
    let ours = pvs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["spec"]["claimRef"]["namespace"] == ns.as_str())
        .count();
    assert_eq!(ours, 2, "one volume per claim, none orphaned");
    let history = must(
        Command::new(common::tools::helm_bin())
            .args(["history", &ns, "-n", &ns, "-o", "json"])
            .env("KUBECONFIG", require_env("KUBECONFIG"))
            .output()
            .expect("run helm"),
        "helm history",
    );
    let revisions: Vec<Value> = serde_json::from_slice(&history.stdout).unwrap();
    assert!(
        revisions.len() <= 2 && revisions.iter().all(|r| r["status"] != "pending-install"),
        "one release, no pending revision: {revisions:?}"
    );

    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .unwrap();
    assert_eq!(
        settle(&db, store.id, READY_SECS).await.status,
        Status::Deleted
    );
    let _ = b.kill();
    let _ = b.wait();
    db.drop_db().await;
}

#[tokio::test]
async fn the_setup_step_stops_at_its_stated_boundary_on_the_real_node() {
    // Setup on, as on a real cluster: it runs in the real node's setup image
    // and stops where this machine's registries end, saying so.
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join("setup-on.yaml");
    std::fs::write(&on, "setup:\n  enabled: true\n").unwrap();
    let db = TestDb::new().await;
    let s = real_settings(&db, &[on.to_str().unwrap()]);
    let pool = workers(&s, &db, 1).await;
    let store = create_store(&db, &s, &unique("Real Setup"), "woocommerce").await;
    eventually(Duration::from_secs(120), "the namespace exists", || async {
        let st = record(&db, store.id).await;
        (st.phase == Phase::WaitingForReady).then_some(())
    })
    .await;
    let ns = record(&db, store.id).await.namespace;
    let pods_api: Api<Pod> = Api::namespaced(kube().await, &ns);
    let (pod, previous) = eventually(
        Duration::from_secs(READY_SECS),
        "the setup step failed",
        || {
            let pods_api = pods_api.clone();
            async move {
                let list = pods_api.list(&ListParams::default()).await.ok()?;
                list.items.iter().find_map(|p| {
                    let st = p.status.as_ref()?.init_container_statuses.as_ref()?;
                    let setup = st.iter().find(|c| c.name == "setup-store")?;
                    let failed = |t: Option<
                        &k8s_openapi::api::core::v1::ContainerStateTerminated,
                    >| { t.is_some_and(|t| t.exit_code != 0) };
                    let name = p.metadata.name.clone()?;
                    if failed(setup.state.as_ref().and_then(|s| s.terminated.as_ref())) {
                        Some((name, false))
                    } else if failed(
                        setup
                            .last_state
                            .as_ref()
                            .and_then(|s| s.terminated.as_ref()),
                    ) {
                        Some((name, true))
                    } else {
                        None
                    }
                })
            }
        },
    )
    .await;
    // Its own words, read through Store Weaver's log path from the real
    // container (the failed instance: the kubelet may be running it again).
    let mut args = vec![
        "store",
        "logs",
        &ns,
        "--pod",
        &pod,
        "--container",
        "setup-store",
    ];
    if previous {
        args.push("--previous");
    }
    let out = sw(&db.url, &args);
    let said = text(&out.stdout);
    assert!(
        said.contains("wp-cli is not in this image") && said.contains("sandbox"),
        "the setup step names its boundary: {said}{}",
        text(&out.stderr)
    );
    // The same words in the pod's status (terminationMessagePolicy:
    // FallbackToLogsOnError), where they outlive the container's log.
    let p = pods_api.get(&pod).await.expect("the WordPress pod");
    let setup = p
        .status
        .and_then(|s| s.init_container_statuses)
        .and_then(|l| l.into_iter().find(|c| c.name == "setup-store"))
        .expect("the setup step's status");
    let message = setup
        .state
        .and_then(|s| s.terminated)
        .or_else(|| setup.last_state.and_then(|s| s.terminated))
        .and_then(|t| t.message)
        .unwrap_or_default();
    assert!(
        message.contains("wp-cli is not in this image"),
        "termination message: {message:?}"
    );
    // And the store's health calls the store degraded, quoting them.
    let p = pods_api.get(&pod).await.expect("the WordPress pod");
    let setup = p
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_ref())
        .and_then(|l| l.iter().find(|c| c.name == "setup-store"))
        .expect("the setup step's status");
    use store_weaver::cluster::health;
    let failure = health::init_failure(&p, setup).expect("the health rule sees the failed step");
    assert!(
        failure.starts_with("init container setup-store failed (Error, exit ")
            && failure.contains("wp-cli is not in this image"),
        "the health quotes the step's own words: {failure}"
    );
    let h = health::derive(
        &health::Objects {
            deployments: &[],
            statefulsets: &[],
            jobs: &[],
            pods: &[&p],
        },
        &[],
    );
    assert_eq!(h.state, health::HealthState::Degraded, "{}", h.summary);
    assert!(h.summary.contains(&failure), "{}", h.summary);
    assert_eq!(record(&db, store.id).await.status, Status::Provisioning);
    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .unwrap();
    assert_eq!(
        settle(&db, store.id, READY_SECS).await.status,
        Status::Deleted
    );
    pool.shutdown().await;
    db.drop_db().await;
}
