//! `store-weaver doctor` against the real sandbox: all green with the admin
//! kubeconfig and with the platform service account's own token (least
//! privilege, config/rbac.yaml); a broken kubeconfig and an unreachable
//! database are each named, with the fix, and the exit code is non-zero.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Output};

fn doctor(db_url: &str, kubeconfig: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .arg("doctor")
        .args(extra)
        .args(["--database-url", db_url, "--kubeconfig", kubeconfig])
        .args(["--charts-dir", repo("charts").to_str().unwrap()])
        .args(["--environment", "local"])
        .env_remove("DATABASE_URL")
        .env_remove("STORE_WEAVER_STORE_CLUSTER_ROLE")
        .env_remove("STORE_WEAVER_SERVICE_ACCOUNT")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .expect("run store-weaver doctor")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn check<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {r:#}"))
}

fn not_green(r: &Value) -> Vec<String> {
    r["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["level"] != "ok")
        .map(|c| {
            format!(
                "{} {}: {} (fix: {})",
                c["level"], c["name"], c["detail"], c["fix"]
            )
        })
        .collect()
}

const ALL: [&str; 15] = [
    "database",
    "migrations",
    "connections",
    "backups",
    "cluster",
    "permissions needed",
    "permissions not needed",
    "admission policy",
    "helm",
    "store chart",
    "storage class",
    "ingress class",
    "tls issuer",
    "limits",
    "clock",
];

#[tokio::test]
async fn doctor_is_green_against_the_sandbox() {
    let db = TestDb::new().await;
    let out = doctor(&db.url, &require_env("KUBECONFIG"), &["--json"]);
    let r = report(&out);
    for name in ALL {
        check(&r, name);
    }
    // The admin kubeconfig has more rights than the platform needs, and the
    // admission policies do not bind it: said, as warnings (no
    // store_cluster_role is configured), not failures.
    let problems: Vec<String> = not_green(&r)
        .into_iter()
        .filter(|p| {
            !p.starts_with("\"warn\" \"permissions not needed\"")
                && !p.starts_with("\"warn\" \"admission policy\"")
                && !p.starts_with("\"warn\" \"backups\"")
        })
        .collect();
    assert!(problems.is_empty(), "not green: {problems:#?}");
    assert_eq!(check(&r, "permissions not needed")["level"], "warn");
    assert_eq!(check(&r, "admission policy")["level"], "warn");
    // No bucket configured here: said, with what to set.
    let backups = check(&r, "backups");
    assert_eq!(backups["level"], "warn", "{r:#}");
    assert!(backups["fix"].as_str().unwrap().contains("backup_bucket"));
    assert_eq!(r["ok"], true);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        check(&r, "cluster")["detail"]
            .as_str()
            .unwrap()
            .contains("v1.37"),
        "{r:#}"
    );
    assert!(
        check(&r, "ingress class")["detail"]
            .as_str()
            .unwrap()
            .contains("traefik")
    );

    // The text report: one line per check, a summary.
    let out = doctor(&db.url, &require_env("KUBECONFIG"), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok    database"), "{text}");
    assert!(text.contains("all 15 checks passed"), "{text}");
    db.drop_db().await;
}

fn kubectl(args: &[&str]) -> String {
    common::tools::kubectl_out(args)
}

#[tokio::test]
async fn doctor_checks_the_rights_in_a_ready_stores_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let kc = service_account_kubeconfig(dir.path());
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let (store, _) = store_weaver::engine::create(
        &db.pool,
        store_weaver::runtime::limits(&s),
        &store_weaver::runtime::naming(&s),
        &store_weaver::store::Actor::new("tester", store_weaver::store::Via::Cli),
        &store_weaver::engine::CreateRequest {
            name: unique("Doctor Store"),
            owner: "doctor@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    // Test set-up only: the row as a provision that finished would leave it.
    sqlx::query("UPDATE stores SET status = 'Ready' WHERE id = $1")
        .bind(store.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let ns = store.namespace.as_str();
    kubectl(&["create", "namespace", ns]);
    let args = [
        "--json",
        "--store-cluster-role",
        "store-weaver-store",
        "--service-account",
        "store-weaver-system/store-weaver",
    ];
    // No binding in the store's namespace yet: each missing right is named.
    let r = report(&doctor(&db.url, kc.to_str().unwrap(), &args));
    let need = check(&r, "permissions needed");
    assert_eq!(need["level"], "fail", "{r:#}");
    let detail = need["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("create pods/exec in {ns} (store wp)")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("get pods/log in {ns}")),
        "{detail}"
    );
    // With the store role bound there, as the engine binds it: green.
    kubectl(&[
        "create",
        "rolebinding",
        "store-weaver",
        "-n",
        ns,
        "--clusterrole",
        "store-weaver-store",
        "--serviceaccount",
        "store-weaver-system:store-weaver",
    ]);
    let mut green = None;
    for _ in 0..50 {
        let r = report(&doctor(&db.url, kc.to_str().unwrap(), &args));
        if check(&r, "permissions needed")["level"] == "ok" {
            green = Some(r);
            break;
        }
        // The authorizer sees a new binding a moment after it is made.
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = green.expect("the store namespace's rights became green");
    assert!(
        check(&r, "permissions needed")["detail"]
            .as_str()
            .unwrap()
            .contains("all 15 granted"),
        "{r:#}"
    );
    kubectl(&["delete", "namespace", ns, "--wait=false"]);
    db.drop_db().await;
}

#[tokio::test]
async fn doctor_is_green_with_the_platform_service_account() {
    let dir = tempfile::tempdir().unwrap();
    let kc = service_account_kubeconfig(dir.path());
    let db = TestDb::new().await;
    let out = doctor(
        &db.url,
        kc.to_str().unwrap(),
        &[
            "--json",
            "--store-cluster-role",
            "store-weaver-store",
            "--service-account",
            "store-weaver-system/store-weaver",
        ],
    );
    let r = report(&out);
    // Backups are off in these settings: a warning, checked above.
    let problems: Vec<String> = not_green(&r)
        .into_iter()
        .filter(|p| !p.starts_with("\"warn\" \"backups\""))
        .collect();
    assert!(
        problems.is_empty(),
        "not green with the service account: {:#?}",
        problems
    );
    assert_eq!(out.status.code(), Some(0));
    // The API server refuses the account every step toward a node's root
    // (server-side dry runs).
    let policy = check(&r, "admission policy");
    assert_eq!(policy["level"], "ok", "{policy}");
    assert!(
        policy["detail"]
            .as_str()
            .unwrap()
            .contains("Pod Security privileged"),
        "{policy}"
    );
    // Least privilege: the strict check ran and found none of the forbidden rights.
    assert!(
        check(&r, "permissions not needed")["detail"]
            .as_str()
            .unwrap()
            .starts_with("none of the")
    );

    // The same account with cluster-admin bound on top: named, and a failure.
    let binding = format!(
        "doctor-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    kubectl(&[
        "create",
        "clusterrolebinding",
        &binding,
        "--clusterrole",
        "cluster-admin",
        "--serviceaccount",
        "store-weaver-system:store-weaver",
    ]);
    let out = doctor(
        &db.url,
        kc.to_str().unwrap(),
        &[
            "--json",
            "--store-cluster-role",
            "store-weaver-store",
            "--service-account",
            "store-weaver-system/store-weaver",
        ],
    );
    kubectl(&["delete", "clusterrolebinding", &binding]);
    let r = report(&out);
    let extra = check(&r, "permissions not needed");
    assert_eq!(extra["level"], "fail", "{r:#}");
    assert!(
        extra["detail"].as_str().unwrap().contains("list secrets"),
        "{extra}"
    );
    assert_eq!(out.status.code(), Some(1));
    db.drop_db().await;
}

#[tokio::test]
async fn a_broken_kubeconfig_is_named_with_its_fix() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("broken-kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters: [this is not: a kubeconfig\n",
    )
    .unwrap();
    let out = doctor(&db.url, kc.to_str().unwrap(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r = report(&out);
    let c = check(&r, "cluster");
    assert_eq!(c["level"], "fail");
    assert!(
        c["detail"].as_str().unwrap().contains(kc.to_str().unwrap()),
        "names the file: {c}"
    );
    assert!(c["fix"].as_str().unwrap().contains("KUBECONFIG"), "{c}");
    assert_eq!(check(&r, "database")["level"], "ok", "the database is fine");
    assert_eq!(check(&r, "storage class")["level"], "skip");

    // A kubeconfig that parses but points at nothing.
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: x\n  user: {token: nope}\ncontexts:\n- name: x\n  context: {cluster: x, user: x}\ncurrent-context: x\n",
    )
    .unwrap();
    let out = doctor(&db.url, kc.to_str().unwrap(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let c = check(&report(&out), "cluster").clone();
    assert_eq!(c["level"], "fail");
    assert!(
        c["detail"].as_str().unwrap().contains("does not answer"),
        "{c}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn an_unreachable_database_is_named_with_its_fix() {
    // A PostgreSQL that is not running: nothing listens on this port.
    let url = "postgres://store_weaver:x@127.0.0.1:1/store_weaver";
    let started = std::time::Instant::now();
    let out = doctor(url, &require_env("KUBECONFIG"), &["--json"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "doctor must not hang"
    );
    assert_eq!(out.status.code(), Some(1));
    let r = report(&out);
    let c = check(&r, "database");
    assert_eq!(c["level"], "fail");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("cannot connect") && detail.contains("127.0.0.1:1"),
        "{c}"
    );
    assert!(!detail.contains(":x@"), "the password is masked: {detail}");
    assert!(
        c["fix"].as_str().unwrap().contains("start PostgreSQL"),
        "{c}"
    );
    assert_eq!(check(&r, "migrations")["level"], "skip");
    assert_eq!(check(&r, "cluster")["level"], "ok", "the cluster is fine");
}

/// A kubeconfig that authenticates as `ns/name`'s own token.
fn token_kubeconfig(dir: &std::path::Path, ns: &str, name: &str) -> std::path::PathBuf {
    let token = kubectl(&["create", "token", name, "-n", ns, "--duration", "1h"]);
    let admin = kube::config::Kubeconfig::read_from(require_env("KUBECONFIG")).unwrap();
    let cluster = admin.clusters[0].cluster.clone().unwrap();
    let kc = dir.join(format!("{name}-kubeconfig"));
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    token: {}\ncontexts:\n- name: c\n  context: {{cluster: sandbox, user: u}}\ncurrent-context: c\n",
            cluster.server.unwrap(),
            cluster.certificate_authority_data.unwrap(),
            token.trim()
        ),
    )
    .unwrap();
    kc
}

/// Issue 27 (1): doctor goes red when the API server would let the
/// platform's account toward a node's root. Here: an account with the
/// platform's roles that the admission policies do not name (as when they
/// were never applied, or name another account).
#[tokio::test]
async fn doctor_fails_when_the_admission_policy_would_let_the_account_through() {
    // The roles (config/rbac.yaml) exist.
    let dir = tempfile::tempdir().unwrap();
    service_account_kubeconfig(dir.path());
    let name = format!(
        "doctor-unpoliced-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    kubectl(&[
        "create",
        "serviceaccount",
        &name,
        "-n",
        "store-weaver-system",
    ]);
    kubectl(&[
        "create",
        "clusterrolebinding",
        &name,
        "--clusterrole",
        "store-weaver",
        "--serviceaccount",
        &format!("store-weaver-system:{name}"),
    ]);
    let kc = token_kubeconfig(dir.path(), "store-weaver-system", &name);
    let db = TestDb::new().await;
    let sa = format!("store-weaver-system/{name}");
    let args = [
        "--json",
        "--store-cluster-role",
        "store-weaver-store",
        "--service-account",
        sa.as_str(),
    ];
    // The authorizer sees the new binding a moment after it is made.
    let mut found = None;
    for _ in 0..50 {
        let out = doctor(&db.url, kc.to_str().unwrap(), &args);
        let r = report(&out);
        if check(&r, "permissions needed")["level"] == "ok" {
            found = Some((out, r));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    kubectl(&["delete", "clusterrolebinding", &name]);
    kubectl(&[
        "delete",
        "serviceaccount",
        &name,
        "-n",
        "store-weaver-system",
    ]);
    let (out, r) = found.expect("the roles' rights became visible");
    let policy = check(&r, "admission policy");
    assert_eq!(policy["level"], "fail", "{r:#}");
    let detail = policy["detail"].as_str().unwrap();
    assert!(
        detail.contains("would admit") && detail.contains("Pod Security privileged"),
        "{detail}"
    );
    assert!(
        policy["fix"].as_str().unwrap().contains("config/rbac.yaml"),
        "{policy}"
    );
    assert_eq!(out.status.code(), Some(1));
    db.drop_db().await;
}

#[tokio::test]
async fn too_many_replicas_for_max_connections_is_a_warning() {
    let db = TestDb::new().await;
    let max: i64 = sqlx::query_scalar(
        "SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("read max_connections");
    // Enough replicas at the default budget (12) to pass 80 % of the server.
    let replicas = (max * 8 / 10 / 12 + 1).to_string();
    let out = doctor(
        &db.url,
        &require_env("KUBECONFIG"),
        &["--json", "--replicas", &replicas],
    );
    let r = report(&out);
    let c = check(&r, "connections");
    assert_eq!(c["level"], "warn", "{c:#}");
    let detail = c["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("{replicas} replica(s)"))
            && detail.contains(&format!("max_connections {max}")),
        "{detail}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("lower db_connections"),
        "{c:#}"
    );
    // The default (the chart's 2 replicas) is fine.
    let r = report(&doctor(&db.url, &require_env("KUBECONFIG"), &["--json"]));
    assert_eq!(check(&r, "connections")["level"], "ok", "{r:#}");
    db.drop_db().await;
}

#[tokio::test]
async fn doctor_checks_the_backup_bucket_and_names_a_wrong_one() {
    use base64::Engine as _;
    let db = TestDb::new().await;
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let run = |bucket: &str| {
        Command::new(env!("CARGO_BIN_EXE_store-weaver"))
            .arg("doctor")
            .arg("--json")
            .args([
                "--database-url",
                &db.url,
                "--kubeconfig",
                &require_env("KUBECONFIG"),
            ])
            .args(["--charts-dir", repo("charts").to_str().unwrap()])
            .args(["--environment", "local"])
            .env_remove("DATABASE_URL")
            .env("STORE_WEAVER_BACKUP_BUCKET", bucket)
            .env(
                "STORE_WEAVER_BACKUP_ENDPOINT",
                require_env("SANDBOX_S3_ENDPOINT"),
            )
            .env(
                "STORE_WEAVER_BACKUP_REGION",
                require_env("SANDBOX_S3_REGION"),
            )
            .env("AWS_ACCESS_KEY_ID", require_env("SANDBOX_S3_ACCESS_KEY_ID"))
            .env(
                "AWS_SECRET_ACCESS_KEY",
                require_env("SANDBOX_S3_SECRET_ACCESS_KEY"),
            )
            .env("STORE_WEAVER_BACKUP_KEY", &key)
            .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
            .output()
            .expect("run store-weaver doctor")
    };
    let r = report(&run(&require_env("SANDBOX_S3_BUCKET")));
    let c = check(&r, "backups");
    assert_eq!(c["level"], "ok", "{r:#}");
    assert!(
        c["detail"].as_str().unwrap().contains("bucket writable"),
        "{c}"
    );
    // With backups on, the restore drills are reported too (no store has
    // a backup here: none is overdue).
    let c = check(&r, "restore drills");
    assert_eq!(c["level"], "ok", "{r:#}");
    assert!(
        c["detail"].as_str().unwrap().contains("passed a drill"),
        "{c}"
    );
    let out = run("no-such-bucket-here");
    let r = report(&out);
    let c = check(&r, "backups");
    assert_eq!(c["level"], "fail", "{r:#}");
    assert!(c["fix"].as_str().unwrap().contains("backup_bucket"), "{c}");
    assert_ne!(out.status.code(), Some(0));
    db.drop_db().await;
}
