//! The cluster view survives an API server restart: it reports the loss,
//! reconnects with backoff, and catches up with what changed. Its own test
//! binary, because it stops the sandbox's API server for a few seconds.

mod common;

use common::*;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use store_weaver::cluster::view::ClusterView;

async fn until_connection(
    view: &ClusterView,
    connected: bool,
    secs: u64,
) -> store_weaver::cluster::view::Connection {
    let mut rx = view.connection();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let c = rx.borrow_and_update().clone();
        if c.connected == connected {
            return c;
        }
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep_until(deadline) => panic!("connection never became {connected}: {c:?}"),
        }
    }
}

#[tokio::test]
async fn the_watch_reports_an_api_server_restart_and_catches_up() {
    let client = kube().await;
    let view = ClusterView::start(client.clone());
    until_connection(&view, true, 30).await;

    let state = require_env("STORE_WEAVER_SANDBOX");
    let pid = std::fs::read_to_string(format!("{state}/run/kube-apiserver.pid")).unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap()
            .success()
    );

    let lost = until_connection(&view, false, 60).await;
    assert!(lost.error.is_some(), "says what is wrong: {lost:?}");

    // While it is down, nothing can change; bring it back with the sandbox.
    let up = Command::new(repo("scripts/sandbox"))
        .arg("up")
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let back = until_connection(&view, true, 90).await;
    assert!(back.since >= lost.since);

    // A change made after the restart reaches the view.
    let id = uuid::Uuid::new_v4();
    let name = format!("sw-watch-{}", &id.simple().to_string()[..8]);
    let mut changes = view.subscribe();
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([(
                "store-weaver.io/store-id".to_string(),
                id.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<Namespace> = Api::all(kube().await);
    api.create(&PostParams::default(), &ns).await.unwrap();
    // Either its own change, or a resync that holds it: a watch that
    // resumed from a version the restarted server forgot lists its kind
    // again, and what the list brought is announced as one Resync (what
    // every consumer re-checks on), not object by object.
    use store_weaver::cluster::view::Change;
    let seen = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match changes.recv().await {
                Ok(Change::Store(x)) if x == id => return,
                Ok(Change::Resync) if view.namespace_cached(&name).is_some() => return,
                Ok(_) => continue,
                Err(e) => panic!("change stream ended: {e}"),
            }
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "the view saw the new namespace after the restart"
    );
    assert!(view.namespace_cached(&name).is_some());
    api.delete(&name, &DeleteParams::default()).await.unwrap();
}
