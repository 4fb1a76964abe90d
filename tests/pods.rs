//! A store's pod logs and `wp` through the real API server: `pods/log` and
//! `pods/exec` go from the API server to kwok, which serves the kubelet API
//! for its simulated pods (scripts/sandbox: a `Logs` object per pod names a
//! CRI log file; exec runs the sandbox's stand-in for `php /opt/wp-cli/wp`).
//! Also the command line (`store logs`, `store wp`) and its audit entries.

mod common;

use common::*;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use store_weaver::cluster::STORE_ID_LABEL;
use store_weaver::cluster::pods::{self, LogRequest, MASK, PodsError, StoreRef};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(60);

/// A store's namespace, credentials Secret and WordPress pod, made the way
/// the engine and the chart make them (labels included), with kwok serving
/// the pod's container logs from files of this test. Deleted on drop.
struct FakeStore {
    client: kube::Client,
    store: StoreRef,
    pod: String,
    admin_password: String,
    dir: tempfile::TempDir,
}

fn cri(lines: &[&str]) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("2026-12-01T10:00:{:02}.000000000Z stdout F {l}\n", i % 60))
        .collect()
}

impl FakeStore {
    async fn new(namespace: Option<String>, id: Option<Uuid>) -> FakeStore {
        let client = kube().await;
        let id = id.unwrap_or_else(Uuid::new_v4);
        let ns = namespace
            .unwrap_or_else(|| format!("store-pods-{}", &Uuid::new_v4().simple().to_string()[..8]));
        let label = json!({ STORE_ID_LABEL: id.to_string(), "app.kubernetes.io/managed-by": "store-weaver" });
        let nss: Api<Namespace> = Api::all(client.clone());
        let created = nss
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns, "labels": label}}))
                    .unwrap(),
            )
            .await
            .expect("create the store namespace");
        let admin_password = format!("adm1n-{}", Uuid::new_v4().simple());
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        secrets
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": "store-credentials", "labels": {STORE_ID_LABEL: id.to_string()}},
                    "stringData": {"admin-password": admin_password, "db-password": format!("db-{}", Uuid::new_v4().simple())}
                }))
                .unwrap(),
            )
            .await
            .expect("create the credentials Secret");

        let dir = tempfile::tempdir().expect("temp dir");
        let setup_log = cri(&[
            "[setup-store] ok: database reachable",
            &format!(
                "wp core install --url=http://x.localhost --admin_password='{admin_password}'"
            ),
            "[setup-store] store ready at http://x.localhost",
        ]);
        std::fs::write(dir.path().join("setup.log"), setup_log).unwrap();
        std::fs::write(
            dir.path().join("wordpress.log"),
            cri(&["AH00558: apache2 started", "GET /wp-login.php 200"]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("wordpress-previous.log"),
            cri(&["PHP Fatal error: out of memory (the crash before the restart)"]),
        )
        .unwrap();
        // kwok (root) reads these files.
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms).unwrap();

        let pod = "store-wordpress-5d8f7c9b4-abcde".to_string();
        let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        pods_api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": pod, "labels": {
                        STORE_ID_LABEL: id.to_string(),
                        "app.kubernetes.io/component": "wordpress",
                        "app.kubernetes.io/part-of": "store-weaver"}},
                    "spec": {
                        "initContainers": [
                            {"name": "copy-wordpress", "image": "wordpress:6.8.3-php8.3-apache"},
                            {"name": "setup-store", "image": "wordpress:cli-2.12.0-php8.3"}],
                        "containers": [{"name": "wordpress", "image": "wordpress:6.8.3-php8.3-apache"}]
                    }
                }))
                .unwrap(),
            )
            .await
            .expect("create the WordPress pod");
        let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Logs");
        let logs_api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            &ns,
            &ApiResource::from_gvk_with_plural(&gvk, "logs"),
        );
        let p = |f: &str| dir.path().join(f).display().to_string();
        let mut logs: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
            "metadata": {"name": pod, "namespace": ns},
            "spec": {"logs": [
                {"containers": ["setup-store"], "logsFile": p("setup.log")},
                {"containers": ["wordpress"], "logsFile": p("wordpress.log"), "previousLogsFile": p("wordpress-previous.log")}
            ]}
        }))
        .unwrap();
        logs.metadata.namespace = Some(ns.clone());
        logs_api
            .create(&PostParams::default(), &logs)
            .await
            .expect("create kwok's Logs object (scripts/sandbox up installs its CRD)");
        eventually(WAIT, "the WordPress pod Running (kwok)", || {
            let pods_api = pods_api.clone();
            let pod = pod.clone();
            async move {
                let p = pods_api.get(&pod).await.ok()?;
                (p.status?.phase.as_deref() == Some("Running")).then_some(())
            }
        })
        .await;
        FakeStore {
            client,
            store: StoreRef {
                id,
                namespace: ns,
                namespace_uid: created.metadata.uid,
            },
            pod,
            admin_password,
            dir,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The container's whole log, once kwok has picked up the Logs object.
    async fn read(&self, req: LogRequest) -> Vec<String> {
        eventually(WAIT, "kwok serving the pod's log", || {
            let req = req.clone();
            async move {
                let (_, lines) = pods::log_lines(&self.client, &self.store, &req)
                    .await
                    .ok()?;
                let lines: Vec<String> = lines.filter_map(|l| async { l.ok() }).collect().await;
                // Before kwok sees the Logs object it serves its default note.
                (!lines.iter().any(|l| l.contains("[sandbox] kwok simulates"))).then_some(lines)
            }
        })
        .await
    }
}

impl Drop for FakeStore {
    fn drop(&mut self) {
        // kubectl, not the client: a drop cannot await, and the client's
        // worker lives on the test's runtime.
        let _ = Command::new("kubectl")
            .args([
                "delete",
                "namespace",
                &self.store.namespace,
                "--wait=false",
                "--ignore-not-found",
            ])
            .env("KUBECONFIG", require_env("KUBECONFIG"))
            .output();
    }
}

#[tokio::test]
async fn logs_of_a_store_pod_come_through_the_api_server_with_secrets_masked() {
    let s = FakeStore::new(None, None).await;

    // The containers, init containers first.
    let list = pods::containers(&s.client, &s.store)
        .await
        .expect("containers");
    let names: Vec<(&str, bool)> = list
        .iter()
        .map(|c| (c.container.as_str(), c.init))
        .collect();
    assert_eq!(
        names,
        vec![
            ("copy-wordpress", true),
            ("setup-store", true),
            ("wordpress", false)
        ]
    );

    // An init container's log: the setup step, with the admin password that
    // wp-cli echoed masked.
    let setup = s
        .read(LogRequest {
            container: Some("setup-store".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(setup.len(), 3, "{setup:?}");
    assert_eq!(setup[0], "[setup-store] ok: database reachable");
    assert!(
        setup[1].contains(&format!("--admin_password='{MASK}'")),
        "{setup:?}"
    );
    assert!(
        setup.iter().all(|l| !l.contains(&s.admin_password)),
        "the password leaked: {setup:?}"
    );

    // Default container: WordPress. Tail, timestamps, previous instance.
    let all = s.read(LogRequest::default()).await;
    assert_eq!(
        all,
        vec!["AH00558: apache2 started", "GET /wp-login.php 200"]
    );
    let last = s
        .read(LogRequest {
            tail: Some(1),
            ..Default::default()
        })
        .await;
    assert_eq!(last, vec!["GET /wp-login.php 200"]);
    let stamped = s
        .read(LogRequest {
            timestamps: true,
            ..Default::default()
        })
        .await;
    assert!(
        stamped[0].starts_with("2026-12-01T10:00:00")
            && stamped[0].ends_with("AH00558: apache2 started"),
        "{stamped:?}"
    );
    let previous = s
        .read(LogRequest {
            previous: true,
            ..Default::default()
        })
        .await;
    assert_eq!(
        previous,
        vec!["PHP Fatal error: out of memory (the crash before the restart)"]
    );

    // Follow: a line written after the stream opened arrives, masked too.
    let streaming = kube_streaming().await;
    let (target, mut lines) = pods::log_lines(
        &streaming,
        &s.store,
        &LogRequest {
            follow: true,
            ..Default::default()
        },
    )
    .await
    .expect("follow the log");
    assert_eq!(
        (target.pod.as_str(), target.container.as_str()),
        (s.pod.as_str(), "wordpress")
    );
    assert_eq!(
        next(&mut lines).await.unwrap().unwrap(),
        "AH00558: apache2 started"
    );
    assert_eq!(
        next(&mut lines).await.unwrap().unwrap(),
        "GET /wp-login.php 200"
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.file("wordpress.log"))
        .unwrap();
    f.write_all(cri(&[&format!("login failed for password {}", s.admin_password)]).as_bytes())
        .unwrap();
    f.flush().unwrap();
    let live = next(&mut lines).await.unwrap().unwrap();
    assert_eq!(live, format!("login failed for password {MASK}"));
    drop(lines);

    // A container the store does not have: named, with the ones it has.
    let err = pods::log_lines(
        &s.client,
        &s.store,
        &LogRequest {
            container: Some("nginx".into()),
            ..Default::default()
        },
    )
    .await
    .err()
    .expect("no such container");
    assert!(
        matches!(
            err,
            PodsError::NoSuch {
                field: "container",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("setup-store (init)"), "{err}");
}

async fn next(lines: &mut pods::LogLines) -> Option<Result<String, PodsError>> {
    tokio::time::timeout(WAIT, lines.next())
        .await
        .expect("a line within the deadline")
}

async fn kube_streaming() -> kube::Client {
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[],
    );
    store_weaver::cluster::streaming_client(&s)
        .await
        .expect("streaming client")
}

#[tokio::test]
async fn wp_runs_in_the_wordpress_container_through_exec_and_its_output_comes_back() {
    let s = FakeStore::new(None, None).await;
    let c = kube_streaming().await;
    let args = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();

    let out = pods::run_wp(&c, &s.store, &args(&["plugin", "list"]), true)
        .await
        .expect("wp plugin list");
    assert!(out.success, "{out:?}");
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.pod, s.pod);
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "woocommerce\tactive\tnone\t9.9.5"),
        "{out:?}"
    );

    // The arguments arrive as given (no shell), and output is masked.
    let out = pods::run_wp(
        &c,
        &s.store,
        &args(&["option", "update", "note", "a b; echo x", &s.admin_password]),
        false,
    )
    .await
    .expect("wp option update");
    assert_eq!(
        out.stdout.trim(),
        format!("sandbox wp: [option] [update] [note] [a b; echo x] [{MASK}]"),
        "{out:?}"
    );

    // A failing command: not a success, its exit code and stderr come back.
    let out = pods::run_wp(
        &c,
        &s.store,
        &args(&["option", "get", "home", "--sandbox-fail"]),
        false,
    )
    .await
    .expect("exec runs");
    assert!(!out.success);
    assert_eq!(out.exit_code, Some(1), "{out:?}");
    assert!(out.stderr.contains("Error: simulated failure"), "{out:?}");

    // Read-only refuses a write before anything runs.
    let err = pods::run_wp(&c, &s.store, &args(&["cache", "flush"]), true)
        .await
        .unwrap_err();
    assert!(matches!(err, PodsError::Refused(_)), "{err}");
}

#[tokio::test]
async fn nothing_is_read_or_run_in_a_namespace_that_is_not_the_stores() {
    let s = FakeStore::new(None, None).await;
    let c = kube_streaming().await;
    // Another store that believes it lives there (same name, other id).
    let impostor = StoreRef {
        id: Uuid::new_v4(),
        namespace: s.store.namespace.clone(),
        namespace_uid: None,
    };
    for err in [
        pods::containers(&c, &impostor).await.err(),
        pods::log_lines(&c, &impostor, &LogRequest::default())
            .await
            .err(),
        pods::run_wp(&c, &impostor, &["plugin".into(), "list".into()], true)
            .await
            .err(),
    ] {
        let err = err.expect("refused");
        assert!(matches!(err, PodsError::NotOwned { .. }), "{err}");
    }
    // The right id but a namespace made again since (another uid).
    let recreated = StoreRef {
        namespace_uid: Some(Uuid::new_v4().to_string()),
        ..s.store.clone()
    };
    let err = pods::containers(&c, &recreated).await.unwrap_err();
    assert!(err.to_string().contains("uid"), "{err}");
}

// ------------------------------------------------------------- command line
#[tokio::test]
async fn store_logs_and_store_wp_on_the_command_line_are_audited() {
    let db = TestDb::new().await;
    // A store row (no workers run here: it stays queued), then its namespace
    // and pod made by hand under the namespace the engine gave it.
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let (store, _) = store_weaver::engine::create(
        &db.pool,
        store_weaver::runtime::limits(&s),
        &store_weaver::runtime::naming(&s),
        &store_weaver::store::Actor::new("tester", store_weaver::store::Via::Cli),
        &store_weaver::engine::CreateRequest {
            name: unique("Pods Cli"),
            owner: "pods@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .expect("create the store row");
    let fake = FakeStore::new(Some(store.namespace.clone()), Some(store.id)).await;
    fake.read(LogRequest {
        container: Some("setup-store".into()),
        ..Default::default()
    })
    .await;

    let out = sw(
        &db.url,
        &[
            "store",
            "wp",
            &store.namespace,
            "--as",
            "oncall",
            "--",
            "plugin",
            "list",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("woocommerce\tactive"));

    let out = sw(
        &db.url,
        &[
            "store",
            "wp",
            &store.namespace,
            "--read-only",
            "--",
            "plugin",
            "deactivate",
            "woocommerce",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "refused by --read-only");
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only: only commands that read"));

    let out = sw(
        &db.url,
        &[
            "store",
            "logs",
            &store.namespace,
            "--container",
            "setup-store",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[setup-store] store ready") && text.contains(MASK),
        "{text}"
    );
    assert!(!text.contains(&fake.admin_password));

    let out = sw(&db.url, &["store", "logs", &store.namespace, "--list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("setup-store"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = sw(
        &db.url,
        &["store", "logs", &store.namespace, "--container", "nginx"],
    );
    assert_eq!(out.status.code(), Some(4), "no such container");

    let out = sw(&db.url, &["audit", &store.namespace, "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit JSON");
    let seen: Vec<(String, String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["outcome"].as_str().unwrap_or("").to_string(),
                e["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for want in [
        ("store.wp", "accepted", "oncall"),
        ("store.wp", "ok", "oncall"),
        ("store.wp", "refused", ""),
        ("store.logs", "ok", ""),
        ("store.logs", "failed", ""),
    ] {
        assert!(
            seen.iter()
                .any(|(a, o, u)| a == want.0 && o == want.1 && (want.2.is_empty() || u == want.2)),
            "no audit entry {want:?} in {seen:?}"
        );
    }
    drop(fake);
    db.drop_db().await;
}

fn kubectl(args: &[&str]) -> String {
    common::tools::kubectl_out(args)
}

#[tokio::test]
async fn logs_and_wp_work_with_the_platform_service_account_in_a_store_namespace() {
    // Least privilege (config/rbac.yaml): the platform reads logs and runs wp
    // through the store role the engine binds in each store namespace.
    kubectl(&["apply", "-f", repo("config/rbac.yaml").to_str().unwrap()]);
    let s = FakeStore::new(None, None).await;
    kubectl(&[
        "create",
        "rolebinding",
        "store-weaver",
        "-n",
        &s.store.namespace,
        "--clusterrole",
        "store-weaver-store",
        "--serviceaccount",
        "store-weaver-system:store-weaver",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let kc = service_account_kubeconfig(dir.path());
    let sa = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[("kubeconfig", kc.to_str().unwrap())],
    );
    let client = store_weaver::cluster::streaming_client(&sa).await.unwrap();
    // The binding reaches the authorizer a moment after it is made.
    let out = eventually(WAIT, "wp with the service account", || {
        let client = client.clone();
        let store = s.store.clone();
        async move {
            pods::run_wp(&client, &store, &["core".into(), "version".into()], true)
                .await
                .ok()
        }
    })
    .await;
    assert!(out.success && out.stdout.trim() == "6.8.3", "{out:?}");
    let lines = eventually(WAIT, "logs with the service account", || {
        let client = client.clone();
        let store = s.store.clone();
        async move {
            let req = LogRequest {
                container: Some("setup-store".into()),
                ..Default::default()
            };
            let (_, lines) = pods::log_lines(&client, &store, &req).await.ok()?;
            let lines: Vec<String> = lines.filter_map(|l| async { l.ok() }).collect().await;
            lines
                .iter()
                .any(|l| l.contains("store ready"))
                .then_some(lines)
        }
    })
    .await;
    assert!(lines.iter().all(|l| !l.contains(&s.admin_password)));
    // Without the binding (another namespace of the same shape), nothing.
    let other = FakeStore::new(None, None).await;
    let err = pods::run_wp(
        &client,
        &other.store,
        &["core".into(), "version".into()],
        true,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("Forbidden") || err.to_string().contains("forbidden"),
        "{err}"
    );
}

#[tokio::test]
async fn wp_does_not_run_when_it_cannot_be_put_on_record() {
    let s = FakeStore::new(None, None).await;
    let db = TestDb::new().await;
    let c = kube_streaming().await;
    let actor = store_weaver::store::Actor::new("oncall", store_weaver::store::Via::Cli);
    let target = store_weaver::incident::Target::new(s.store.id, s.store.namespace.clone(), None);
    let args: Vec<String> = vec!["core".into(), "version".into()];
    let out = store_weaver::incident::wp(&db.pool, &c, &actor, &target, &args, true)
        .await
        .expect("audited wp runs");
    assert_eq!(out.stdout.trim(), "6.8.3");
    // Without an audit log, nothing runs.
    sqlx::query("DROP TABLE audit_log")
        .execute(&db.pool)
        .await
        .unwrap();
    let err = store_weaver::incident::wp(&db.pool, &c, &actor, &target, &args, true)
        .await
        .unwrap_err();
    assert!(
        matches!(err, store_weaver::incident::IncidentError::Audit(_)),
        "{err}"
    );
    assert!(err.to_string().contains("audit log"), "{err}");
    db.drop_db().await;
}
