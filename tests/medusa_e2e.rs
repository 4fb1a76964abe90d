//! A Medusa store, end to end, on real pods: `store-weaver store create
//! --engine medusa --wait` provisions it on the sandbox's real node (its own
//! chart, images built here, migrations and the seed in its init steps);
//! a shopper places an order through the storefront in headless Chromium at
//! the store's URL through the sandbox's Traefik, a second order goes
//! through the Store API, and both are confirmed through the Admin API with
//! the credentials Store Weaver generated. Then a setting change (an
//! upgrade), pods deleted (the orders survive) and a delete that leaves
//! nothing behind.
//!
//! The order checks are the scripts an operator runs on a real cluster
//! (medusa/scripts/, see medusa/README.md).

mod common;

use common::real::{create_store, pods, record};
use common::tools::{kubectl, kubectl_json, text};
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use store_weaver::config::Settings;
use store_weaver::engine::changes::{self, UpgradeRequest};
use store_weaver::store::{Actor, Status, Via};
use uuid::Uuid;

const REAL_NODE: &str = "sandbox-real-0";
/// Migrations on an empty database (~25 s), the seed and the server's first
/// healthy answer, on a loaded 2-core machine.
const READY_SECS: u64 = 900;

fn medusa_settings(db: &TestDb) -> Settings {
    common::real::medusa_settings(db, &[])
}

/// The flags that give the binary the same settings as `medusa_settings`.
fn flags(s: &Settings) -> Vec<String> {
    let mut out = vec![
        "--charts-dir".to_string(),
        s.charts_dir.display().to_string(),
    ];
    for (flag, list) in [
        ("--values-file", &s.values_file),
        ("--extra-values-files", &s.extra_values_files),
    ] {
        out.push(flag.to_string());
        out.push(list.join(","));
    }
    out.extend(
        ["--provision-timeout", "900", "--lease", "5"]
            .iter()
            .map(|x| x.to_string()),
    );
    out
}

fn script(name: &str, host: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    common::real::medusa_script(name, host, args, env)
}

/// Waits until every pod of the namespace is Ready (after a restart).
fn all_ready(ns: &str, secs: u64) {
    let out = kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            "pod",
            "--all",
            "-n",
            ns,
            &format!("--timeout={secs}s"),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "pods of {ns} ready: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_medusa_store_is_created_shopped_upgraded_restarted_and_deleted_on_real_pods() {
    let db = TestDb::new().await;
    let s = medusa_settings(&db);
    let name = unique("Medusa Shop");
    let owner = format!(
        "shopkeeper-{}@example.com",
        &Uuid::new_v4().simple().to_string()[..8]
    );

    // Created through the command line, as an operator would.
    let t = Instant::now();
    let mut args = flags(&s);
    args.extend(
        [
            "store", "create", &name, "--owner", &owner, "--engine", "medusa", "--wait", "--json",
        ]
        .iter()
        .map(|x| x.to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sw(&db.url, &args);
    let created: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "store create printed no JSON ({e}): {}{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let store = record(&db, id).await;
    assert_eq!(
        store.status,
        Status::Ready,
        "{:?}\n{}",
        store.error_message,
        text(&out.stderr)
    );
    eprintln!("medusa store Ready in {:.1}s", t.elapsed().as_secs_f64());
    assert_eq!(store.engine.as_str(), "medusa");
    let ns = store.namespace.clone();
    let host = store.url.trim_start_matches("http://").to_string();

    // Real containers on the real node, every one ready.
    let running = pods(&ns);
    assert!(
        running.len() >= 5,
        "server, worker, storefront, postgres, redis"
    );
    for p in &running {
        let pname = p["metadata"]["name"].as_str().unwrap_or("?");
        assert_eq!(p["spec"]["nodeName"], REAL_NODE, "{pname} on the real node");
        for c in p["status"]["containerStatuses"].as_array().unwrap() {
            let cid = c["containerID"].as_str().unwrap_or("");
            assert!(cid.starts_with("containerd://"), "{pname}: {cid:?}");
            assert_eq!(c["ready"], true, "{pname}/{} ready", c["name"]);
        }
    }

    // The admin login Store Weaver hands out: the owner's address and the
    // password it generated into the store's Secret.
    let secrets: Api<Secret> = Api::namespaced(kube().await, &ns);
    let secret = secrets
        .get(store_weaver::cluster::CREDENTIALS_SECRET)
        .await
        .unwrap();
    let password = secret
        .data
        .unwrap_or_default()
        .get("admin-password")
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .expect("the admin password in the Secret");
    let admin = [
        ("MEDUSA_ADMIN_EMAIL", owner.as_str()),
        ("MEDUSA_ADMIN_PASSWORD", password.as_str()),
    ];

    // A shopper in Chromium, then a client of the Store API.
    let t = Instant::now();
    let browser_order = script("order-via-storefront.mjs", &host, &[], &[]);
    eprintln!("storefront order in {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let api_order = script("order-via-store-api.mjs", &host, &[], &[]);
    eprintln!("Store API order in {:.1}s", t.elapsed().as_secs_f64());
    assert!(browser_order.starts_with("order_"), "{browser_order}");
    assert!(api_order.starts_with("order_"), "{api_order}");
    assert_ne!(browser_order, api_order);
    let confirm = |order: &str| -> Value {
        let out = script("confirm-order-via-admin-api.mjs", &host, &[order], &admin);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    for order in [&browser_order, &api_order] {
        let o = confirm(order);
        assert_eq!(o["id"], order.as_str(), "{o}");
        assert_eq!(o["status"], "pending", "{o}");
        assert_eq!(o["payment_status"], "authorized", "{o}");
    }

    // The operator's check on a real cluster, run here: scripts/e2e-order.sh
    // hands a Medusa store to its sibling, which finds the login itself.
    let port = require_env("SANDBOX_INGRESS_PORT");
    let out = Command::new(repo("scripts/e2e-order.sh"))
        .arg(&ns)
        .env("STORE_URL", format!("http://{host}:{port}"))
        .env("ORDER_RESOLVE", format!("{host}=127.0.0.1"))
        .env("KUBECTL", common::tools::kubectl_bin())
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run scripts/e2e-order.sh");
    assert!(
        out.status.success(),
        "scripts/e2e-order.sh {ns}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let confirmed = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"payment_status\":\"authorized\""))
        .count();
    assert_eq!(confirmed, 2, "two orders confirmed: {}", text(&out.stdout));

    // An upgrade: a setting change, rolled out and recorded.
    let cfg = store_weaver::engine::EngineConfig::from_settings(&s);
    let client = kube().await;
    let pool = workers(&s, &db, 2).await;
    changes::upgrade(
        &db.pool,
        &cfg,
        Some(&client),
        &Actor::new("tester", Via::Cli),
        id,
        &UpgradeRequest {
            set: vec!["server.memory=1280Mi".into()],
            to: None,
        },
    )
    .await
    .expect("the upgrade is queued");
    let upgraded = store_weaver::runtime::wait_for_store(
        &db.pool,
        id,
        Duration::from_secs(READY_SECS),
        |st| st.settings.get("server.memory") == Some("1280Mi") && !st.status.is_busy(),
    )
    .await
    .expect("the upgrade ends");
    assert_eq!(
        upgraded.status,
        Status::Ready,
        "{:?}",
        upgraded.error_message
    );
    assert_eq!(upgraded.helm_revision, Some(2));
    let server = kubectl_json(&[
        "get",
        "deployment",
        "-n",
        &ns,
        "-l",
        "app.kubernetes.io/component=server",
        "-o",
        "json",
    ]);
    let limits =
        &server["items"][0]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits["memory"], "1280Mi", "{limits}");

    // Every pod deleted, the database's included: the orders survive.
    let out = kubectl(&["delete", "pods", "--all", "-n", &ns, "--wait=true"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    all_ready(&ns, 600);
    for order in [&browser_order, &api_order] {
        assert_eq!(confirm(order)["id"], order.as_str());
    }

    // Deleted: the namespace and its volumes are gone, the record kept.
    store_weaver::engine::delete(&db.pool, &Actor::new("tester", Via::Cli), id, None)
        .await
        .expect("the delete is queued");
    let gone = settle(&db, id, 600).await;
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    namespace_gone(&ns, 300).await;
    let pvs = kubectl_json(&["get", "pv", "-o", "json"]);
    let left: Vec<&Value> = pvs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|pv| pv["spec"]["claimRef"]["namespace"] == ns.as_str())
        .collect();
    assert!(left.is_empty(), "volumes left behind: {left:?}");
    pool.shutdown().await;
    db.drop_db().await;
}

/// A Medusa store whose migrations fail goes Failed with the migration's own
/// error in its record, and a retry once the cause is fixed makes it Ready.
/// The cause here: a V8 heap far too small for Medusa's CLI (a values file
/// an operator could get wrong), so `medusa db:migrate` dies at start.
#[tokio::test]
async fn a_medusa_store_whose_migrations_fail_says_why_and_a_retry_makes_it() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let starved = dir.path().join("starved-migrations.yaml");
    std::fs::write(&starved, "setup:\n  maxOldSpaceMiB: 32\n").unwrap();
    let good = medusa_settings(&db);
    let bad_files = format!(
        "{},medusa={}",
        good.extra_values_files.join(","),
        starved.display()
    );
    let bad = settings(
        &db.url,
        "charts",
        &[
            ("values_file", &good.values_file.join(",")),
            ("extra_values_files", &bad_files),
            // The migrate step crashes within seconds; the store fails at
            // its deadline, degraded, with the step's message.
            ("provision_timeout_secs", "90"),
        ],
    );
    let pool = workers(&bad, &db, 1).await;
    let store = create_store(&db, &bad, &unique("Medusa Migrate"), "medusa").await;
    let failed = settle(&db, store.id, 600).await;
    assert_eq!(failed.status, Status::Failed);
    let why = failed.error_message.clone().unwrap_or_default();
    assert!(
        why.contains("init container migrate") && why.contains("medusa db:migrate failed"),
        "the record says the migrations failed and why: {why}"
    );
    pool.shutdown().await;

    // Fixed (the values file gone), retried: the same store becomes Ready.
    let pool = workers(&good, &db, 1).await;
    store_weaver::engine::retry(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .expect("retry accepted");
    let ready = settle(&db, store.id, READY_SECS).await;
    assert_eq!(ready.status, Status::Ready, "{:?}", ready.error_message);
    assert!(ready.attempts >= 2);
    store_weaver::engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .expect("delete");
    let gone = settle(&db, store.id, 600).await;
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    pool.shutdown().await;
    db.drop_db().await;
}
