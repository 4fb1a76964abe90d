//! A delete that finds the store's namespace already terminating (a worker
//! killed right after it deleted the namespace, another resuming the
//! operation) waits for it to go instead of deleting it again: by then the
//! namespace controller may have removed the RoleBinding that granted the
//! platform account the delete, and a second DELETE is refused (403).
//! Runs as the platform's service account, as in production.

mod common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use std::time::Duration;
use store_weaver::db::stores;
use store_weaver::engine::{self, CreateRequest};
use store_weaver::runtime;
use store_weaver::store::{Actor, Phase, Status, Via};

/// Keeps the namespace terminating until the test removes it.
const HOLD: &str = "store-weaver.io/test-hold";

#[tokio::test]
async fn a_delete_that_finds_the_namespace_terminating_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let sa_kubeconfig = service_account_kubeconfig(dir.path());
    let db = TestDb::new().await;
    let s = settings(
        &db.url,
        "tests/fixtures/charts",
        &[
            ("kubeconfig", sa_kubeconfig.to_str().unwrap()),
            ("store_cluster_role", "store-weaver-store"),
            ("service_account", "store-weaver-system/store-weaver"),
        ],
    );
    let pool = workers(&s, &db, 1).await;
    let actor = Actor::new("tester", Via::Cli);
    let (store, _) = engine::create(
        &db.pool,
        runtime::limits(&s),
        &runtime::naming(&s),
        &actor,
        &CreateRequest {
            name: unique("Terminating Delete"),
            owner: "resume@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let ready = settle(&db, store.id, 180).await;
    assert_eq!(ready.status, Status::Ready, "{:?}", ready.error_message);
    pool.shutdown().await;

    // What the killed worker left: the namespace deleted, still terminating
    // (an object with a finalizer holds it), its RoleBinding already gone.
    let admin = kube().await;
    let ns = ready.namespace.clone();
    let held: Api<ConfigMap> = Api::namespaced(admin.clone(), &ns);
    held.create(
        &PostParams::default(),
        &ConfigMap {
            metadata: ObjectMeta {
                name: Some("hold".into()),
                finalizers: Some(vec![HOLD.into()]),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .delete(&ns, &DeleteParams::background())
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), &ns);
    eventually(
        Duration::from_secs(60),
        "the namespace controller to remove the store's RoleBinding",
        || async {
            bindings
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .is_empty()
                .then_some(())
        },
    )
    .await;

    // The delete is resumed by a fresh worker.
    engine::delete(&db.pool, &actor, store.id, None)
        .await
        .unwrap();
    let pool = workers(&s, &db, 1).await;
    let seen = eventually(
        Duration::from_secs(60),
        "the delete to reach the namespace step (or end)",
        || async {
            let s = stores::get(&db.pool, store.id).await.unwrap().unwrap();
            (s.phase == Phase::RemovingNamespace || !s.status.is_busy()).then_some(s)
        },
    )
    .await;
    assert!(
        seen.status.is_busy(),
        "the delete ended while the namespace was still terminating: {:?} {:?}",
        seen.status,
        seen.error_message
    );

    // Let the namespace go: the delete completes.
    held.patch(
        "hold",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let done = settle(&db, store.id, 120).await;
    assert_eq!(done.status, Status::Deleted, "{:?}", done.error_message);
    pool.shutdown().await;
    db.drop_db().await;
}
