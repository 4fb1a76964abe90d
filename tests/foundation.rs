//! The foundation against the real sandbox: migrations, the API server over
//! TLS, the controller manager (namespace deletion), helm + kwok, and the
//! configuration layers of the real binary.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_a_second_run_is_a_no_op() {
    let db = TestDb::new().await; // runs the migrations once
    let count = |pool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let first = count(&db.pool).await;
    assert_eq!(first as usize, store_weaver::db::MIGRATOR.iter().count());
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for t in ["audit_log", "operations", "stores"] {
        assert!(
            tables.iter().any(|x| x == t),
            "table {t} missing: {tables:?}"
        );
    }
    store_weaver::db::migrate(&db.pool)
        .await
        .expect("second run succeeds");
    assert_eq!(
        count(&db.pool).await,
        first,
        "second run applied nothing new"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn the_client_reaches_the_api_server_over_tls_and_lists_ready_nodes() {
    let kubeconfig = std::fs::read_to_string(require_env("KUBECONFIG")).unwrap();
    assert!(
        kubeconfig.contains("server: https://127.0.0.1:"),
        "the sandbox API is served over TLS on loopback"
    );
    let client = kube().await;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(!nodes.items.is_empty(), "kwok registered nodes");
    let ready = nodes.items.iter().filter(|n| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    assert!(ready.count() >= 1, "at least one node is Ready");
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
    assert!(
        version.git_version.starts_with("v1.37"),
        "{}",
        version.git_version
    );
}

#[tokio::test]
async fn a_deleted_namespace_really_disappears() {
    let client = kube().await;
    let api: Api<Namespace> = Api::all(client);
    let name = format!(
        "sw-foundation-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns).await.unwrap();
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    // Finalisation is the controller manager's work: this proves it runs.
    eventually(Duration::from_secs(60), "namespace to be gone", || {
        let api = api.clone();
        let name = name.clone();
        async move { api.get_opt(&name).await.unwrap().is_none().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_deployment_installed_with_helm_becomes_ready_under_kwok() {
    let client = kube().await;
    let ns = format!(
        "sw-helm-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let chart = repo("tests/fixtures/charts/woocommerce");
    let out = Command::new("helm")
        .args([
            "install",
            "tiny",
            chart.to_str().unwrap(),
            "-n",
            &ns,
            "--create-namespace",
        ])
        .args([
            "--set",
            "store.id=foundation-test",
            "--set",
            "existingSecret=none",
        ])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm (scripts/sandbox builds it; PATH comes from scripts/sandbox env)");
    assert!(
        out.status.success(),
        "helm install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let ready = eventually(Duration::from_secs(60), "deployment/web ready", || {
        let d = deployments.clone();
        async move {
            let dep = d.get("web").await.ok()?;
            let ready = dep.status?.ready_replicas.unwrap_or(0);
            (ready >= 1).then_some(ready)
        }
    })
    .await;
    assert_eq!(ready, 1);
    let _ = Command::new("helm")
        .args(["uninstall", "tiny", "-n", &ns])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output();
    let _ = Api::<Namespace>::all(client)
        .delete(&ns, &DeleteParams::default())
        .await;
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_store-weaver"));
    // Only what each test sets: nothing from the developer's environment.
    for var in [
        "DATABASE_URL",
        "KUBECONFIG",
        "MAX_STORES",
        "MAX_STORES_PER_USER",
        "MAX_CONCURRENT_PROVISIONS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"));
    cmd
}

#[test]
fn config_precedence_is_file_then_env_then_flag_and_says_where_each_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "max_stores = 10\nmax_stores_per_user = 2\ndatabase_url = \"postgres://sw:hunter2@db:5432/sw\"\n").unwrap();

    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("10") && line("max_stores").contains("file "),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "the password is masked: {text}");
    assert!(
        line("database_url").contains("postgres://sw:****@db:5432/sw"),
        "{text}"
    );

    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .env("MAX_STORES", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("20")
            && line("max_stores").contains("environment variable MAX_STORES"),
        "{text}"
    );
    assert!(
        line("max_stores_per_user").contains("2"),
        "file value still used for other keys: {text}"
    );

    let out = binary()
        .arg("--config")
        .arg(&file)
        .args(["config", "--max-stores", "30"])
        .env("MAX_STORES", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("30") && line("max_stores").contains("flag --max-stores"),
        "{text}"
    );
}

#[test]
fn a_malformed_value_fails_naming_the_key_the_source_and_what_is_expected() {
    let out = binary()
        .arg("config")
        .env("MAX_STORES", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`max_stores`") && err.contains("environment variable MAX_STORES"),
        "{err}"
    );
    assert!(err.contains("whole number"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "max_stores = \"many\"\n").unwrap();
    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`max_stores`") && err.contains(&file.display().to_string()),
        "{err}"
    );

    std::fs::write(&file, "max_stores = [\n").unwrap();
    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid TOML"));
}
