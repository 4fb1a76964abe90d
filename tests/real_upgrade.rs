//! What a shopper sees during an upgrade, measured on the sandbox's real
//! node (a kubelet with containerd, scripts/sandbox-node.sh) through its
//! ingress controller (Traefik on 127.0.0.1:$SANDBOX_INGRESS_PORT): a
//! WooCommerce store is provisioned by the engine with the real chart, `/`
//! is asked for without pause while a settings upgrade
//! (`wordpress.memory=640Mi`) rolls out, and every answer is counted.
//!
//! With the chart's default `wordpress.updateStrategy: RollingUpdate` the new
//! pod starts on the old pod's node and serves before the old one goes: no
//! request may fail. With `Recreate` the old pod goes first: the test shows
//! the storefront down, and how long (issue 28, 2).
//!
//! Run: `cargo test --test real_upgrade -- --nocapture` (prints the figures).

mod common;

use common::real::{create_store, ingress_client, ingress_port};
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use store_weaver::config::Settings;
use store_weaver::engine::changes::{self, UpgradeRequest};
use store_weaver::engine::{self, EngineConfig};
use store_weaver::runtime;
use store_weaver::store::{Actor, Phase, Status, Store, Via};

/// A store on the real node initialises its database and copies WordPress
/// core at its first start; generous for a loaded machine.
const READY_SECS: u64 = 300;
/// Traefik applies a change of Ingresses or endpoints after its throttle.
const ROUTE_SECS: u64 = 120;
/// Between two requests: often enough to see a gap of a fraction of a second.
const EVERY: Duration = Duration::from_millis(100);

/// One answer to `GET /`: WordPress's (a 2xx or 3xx), or why not.
async fn ask(client: &reqwest::Client, url: &str) -> Result<u16, String> {
    match client.get(url).send().await {
        Ok(r) if r.status().as_u16() < 400 => Ok(r.status().as_u16()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(format!("{e}")),
    }
}

/// What the shopper saw while the load ran.
#[derive(Debug, Default)]
struct Seen {
    answered: u32,
    failed: Vec<String>,
    /// The longest stretch from the last answer before a failure to the
    /// first answer after it.
    longest_gap: Duration,
}

/// Asks for `/` until `stop`, one request after the other.
async fn load(host: String, stop: Arc<AtomicBool>) -> Seen {
    let client = ingress_client(&host, Duration::from_secs(10));
    let url = format!("http://{host}:{}/", ingress_port());
    let mut seen = Seen::default();
    let mut last_ok = Instant::now();
    let mut in_gap = false;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match ask(&client, &url).await {
            Ok(_) => {
                seen.answered += 1;
                if in_gap {
                    seen.longest_gap = seen.longest_gap.max(last_ok.elapsed());
                    in_gap = false;
                }
                last_ok = Instant::now();
            }
            Err(why) => {
                in_gap = true;
                let at = started.elapsed();
                seen.failed.push(format!("{why} (after {at:?})"));
            }
        }
        tokio::time::sleep(EVERY).await;
    }
    if in_gap {
        seen.longest_gap = seen.longest_gap.max(last_ok.elapsed());
    }
    seen
}

fn real_settings(db: &TestDb, extra: Option<&str>, upgrade_timeout: &str) -> Settings {
    let mut files = vec![require_env("SANDBOX_REAL_NODE_VALUES")];
    files.extend(extra.map(str::to_string));
    let files = files.join(",");
    let values = repo("charts/woocommerce/values-local.yaml");
    settings(
        &db.url,
        "charts",
        &[
            ("values_file", values.to_str().unwrap()),
            ("extra_values_files", &files),
            ("provision_timeout_secs", "600"),
            ("upgrade_timeout_secs", upgrade_timeout),
            ("lease_secs", "5"),
        ],
    )
}

/// Provisions a store on the real node (with `strategy` when given), runs
/// the upgrade `set` under load and returns what the shopper saw and the
/// store once the upgrade ended (applied, or rolled back).
async fn upgrade_under_load(
    name: &str,
    strategy: Option<&str>,
    set: &str,
    upgrade_timeout: &str,
) -> (Seen, Store) {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let extra = strategy.map(|st| {
        let f = dir.path().join("strategy.yaml");
        std::fs::write(&f, format!("wordpress:\n  updateStrategy: {st}\n")).unwrap();
        f.display().to_string()
    });
    let s = real_settings(&db, extra.as_deref(), upgrade_timeout);
    let pool = workers(&s, &db, 1).await;
    let actor = Actor::new("tester", Via::Cli);
    let store = create_store(&db, &s, &unique(name), "woocommerce").await;
    let done = settle(&db, store.id, READY_SECS).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);
    let host = done
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();

    // Routed and answering before the load starts.
    let client = ingress_client(&host, Duration::from_secs(10));
    let url = format!("http://{host}:{}/", ingress_port());
    eventually(
        Duration::from_secs(ROUTE_SECS),
        &format!("{url} answered by WordPress through Traefik"),
        || {
            let (client, url) = (client.clone(), url.clone());
            async move { ask(&client, &url).await.ok() }
        },
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let shopper = tokio::spawn(load(host.clone(), stop.clone()));
    // A few answers before the upgrade: the load itself works.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    changes::upgrade(
        &db.pool,
        &EngineConfig::from_settings(&s),
        Some(&kube().await),
        &actor,
        store.id,
        &UpgradeRequest {
            set: vec![set.into()],
            to: None,
        },
    )
    .await
    .expect("the upgrade is queued");
    let upgraded =
        runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(READY_SECS), |st| {
            st.phase == Phase::Done && !st.status.is_busy()
        })
        .await
        .expect("the upgrade ends");
    let took = started.elapsed();
    // The old pod's last seconds (its preStop) come after the rollout is
    // done: keep asking through them.
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = shopper.await.expect("the shopper's task");
    assert_eq!(
        upgraded.status,
        Status::Ready,
        "{:?}",
        upgraded.error_message
    );
    println!(
        "{name} ({}, {set}): upgrade took {took:?}; {} answers, {} failed, longest gap {:?}; first failures: {:?}",
        strategy.unwrap_or("chart default"),
        seen.answered,
        seen.failed.len(),
        seen.longest_gap,
        seen.failed.iter().take(3).collect::<Vec<_>>()
    );

    engine::delete(&db.pool, &actor, store.id, None)
        .await
        .expect("delete the store");
    let gone = settle(&db, store.id, READY_SECS).await;
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    pool.shutdown().await;
    db.drop_db().await;
    (seen, upgraded)
}

/// Issue 28 (2): a settings upgrade took the shop offline (~13 s).
#[tokio::test]
async fn a_settings_upgrade_keeps_the_storefront_answering() {
    let (seen, store) =
        upgrade_under_load("Rolling Upgrade", None, "wordpress.memory=640Mi", "300").await;
    assert_eq!(store.helm_revision, Some(2), "the upgrade was applied");
    assert_eq!(store.settings.get("wordpress.memory"), Some("640Mi"));
    assert!(seen.answered > 20, "the load ran: {seen:?}");
    assert!(
        seen.failed.is_empty(),
        "{} requests to / failed during the upgrade (longest gap {:?}), first: {:?}",
        seen.failed.len(),
        seen.longest_gap,
        seen.failed.iter().take(5).collect::<Vec<_>>()
    );
}

/// The other way, still offered: the old pod goes first. Shows that the
/// load above does see an outage when there is one, and measures it.
#[tokio::test]
async fn with_recreate_the_storefront_is_down_during_an_upgrade() {
    let (seen, store) = upgrade_under_load(
        "Recreate Upgrade",
        Some("Recreate"),
        "wordpress.memory=640Mi",
        "300",
    )
    .await;
    assert_eq!(store.helm_revision, Some(2), "the upgrade was applied");
    assert!(seen.answered > 20, "the load ran: {seen:?}");
    assert!(
        !seen.failed.is_empty(),
        "no request failed although the old pod went first: {seen:?}"
    );
}

/// A failed upgrade: the new pod never starts (an image this node does not
/// have; the real node pulls nothing), the engine rolls back at its
/// timeout. The old pod is never stopped meanwhile: the shop stays up.
#[tokio::test]
async fn a_failed_upgrade_is_rolled_back_with_the_storefront_answering() {
    let (seen, store) = upgrade_under_load(
        "Failed Upgrade",
        None,
        "wordpress.image=6.1-php8.2-apache-missing",
        "30",
    )
    .await;
    assert_eq!(
        store.settings.get("wordpress.image"),
        None,
        "rolled back to its old settings"
    );
    assert_eq!(store.helm_revision, Some(3), "upgrade, then its rollback");
    assert!(seen.answered > 20, "the load ran: {seen:?}");
    assert!(
        seen.failed.is_empty(),
        "{} requests to / failed during the failed upgrade (longest gap {:?}), first: {:?}",
        seen.failed.len(),
        seen.longest_gap,
        seen.failed.iter().take(5).collect::<Vec<_>>()
    );
}
