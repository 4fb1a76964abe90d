//! What the tests of stores on the sandbox's real node share: creating a
//! store through the engine, reading it back, its pods, and reaching it
//! through the sandbox's ingress controller (Traefik on 127.0.0.1).

use super::TestDb;
use super::tools::{kubectl_json, text};
use super::{repo, require_env, settings};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use store_weaver::config::Settings;
use store_weaver::engine::{self, CreateRequest};
use store_weaver::store::{Actor, Store, Via};

/// A store of `engine` named `name`, created through the engine as the
/// faces do (owner ops@example.com).
pub async fn create_store(db: &TestDb, s: &Settings, name: &str, engine: &str) -> Store {
    engine::create(
        &db.pool,
        store_weaver::runtime::limits(s),
        &store_weaver::runtime::naming(s),
        &Actor::new("tester", Via::Cli),
        &CreateRequest {
            name: name.into(),
            owner: "ops@example.com".into(),
            engine: engine.into(),
            idempotency_key: None,
        },
    )
    .await
    .expect("create the store")
    .0
}

/// The store's record as it is now.
pub async fn record(db: &TestDb, id: uuid::Uuid) -> Store {
    store_weaver::db::stores::get(&db.pool, id)
        .await
        .unwrap()
        .expect("the store's record")
}

/// The pods of a namespace, as kubectl shows them.
pub fn pods(ns: &str) -> Vec<Value> {
    kubectl_json(&["get", "pods", "-n", ns, "-o", "json"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The port the sandbox's Traefik listens on (127.0.0.1).
pub fn ingress_port() -> u16 {
    let port = require_env("SANDBOX_INGRESS_PORT");
    port.parse()
        .unwrap_or_else(|_| panic!("SANDBOX_INGRESS_PORT is not a port: {port:?}"))
}

/// An HTTP client that resolves `host` to the ingress controller, as the
/// system resolves `*.localhost` for a browser, and follows no redirect (a
/// test wants to see them).
pub fn ingress_client(host: &str, timeout: Duration) -> reqwest::Client {
    let addr: SocketAddr = ([127, 0, 0, 1], ingress_port()).into();
    reqwest::Client::builder()
        .resolve(host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .expect("an HTTP client")
}

/// Settings for Medusa stores on the real node: the chart's local values,
/// the sandbox's placement on the real node, timeouts for a loaded machine;
/// `extra` overrides.
pub fn medusa_settings(db: &TestDb, extra: &[(&'static str, &str)]) -> Settings {
    let values = repo("charts/medusa/values-local.yaml");
    let values = format!("medusa={}", values.display());
    let real = format!("medusa={}", require_env("SANDBOX_REAL_NODE_VALUES_MEDUSA"));
    let mut all: Vec<(&'static str, &str)> = vec![
        ("values_file", &values),
        ("extra_values_files", &real),
        ("provision_timeout_secs", "900"),
        ("upgrade_timeout_secs", "900"),
        ("delete_timeout_secs", "300"),
    ];
    all.extend_from_slice(extra);
    settings(&db.url, "charts", &all)
}

/// A Node script of medusa/scripts against the store through the ingress:
/// its stdout (the order id, or the order as JSON), or a panic with its
/// stderr. The admin password goes in the environment, never in argv.
pub fn medusa_script(name: &str, host: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let port = require_env("SANDBOX_INGRESS_PORT");
    let base = format!("http://{host}:{port}");
    let out = std::process::Command::new("node")
        .arg(repo("medusa/scripts").join(name))
        .arg(&base)
        .args(args)
        .env("ORDER_RESOLVE", format!("{host}=127.0.0.1"))
        .env("ORDER_DEADLINE_SECS", "240")
        .envs(env.iter().copied())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{name} {base} {args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_string()
}

/// The orders in a Medusa store's database, counted in its postgres
/// container with its own credentials.
pub fn medusa_orders(ns: &str) -> i64 {
    let script = "PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U \"$POSTGRES_USER\" \
                  -d \"$POSTGRES_DB\" -tAc 'SELECT count(*) FROM \"order\"'";
    super::tools::exec_script(ns, "postgres", "postgres", script)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("count of orders in {ns}"))
}

/// Waits until Traefik routes the Medusa store's server (Ready pods are
/// not routed at once: the controller learns their endpoints a moment
/// later); its storefront configuration (the publishable key read from its
/// database).
pub async fn medusa_served(host: &str) -> Value {
    let client = ingress_client(host, Duration::from_secs(10));
    let url = format!("http://{host}:{}/storefront-config", ingress_port());
    super::eventually(
        Duration::from_secs(180),
        "the store served through Traefik",
        || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let r = client.get(&url).send().await.ok()?;
                if !r.status().is_success() {
                    return None;
                }
                r.json::<Value>().await.ok()
            }
        },
    )
    .await
}
