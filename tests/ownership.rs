//! Ownership, against the real API server, PostgreSQL and helm: the engine
//! acts only on namespaces the cluster says are the store's. A namespace of
//! the same name that is not the store's (another installation's, a restored
//! database's, or just someone else's) is never bound, read, uninstalled or
//! deleted, and its secrets are never handed out.

mod common;
mod serve_common;

use common::*;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api as KubeApi;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use serve_common::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store_weaver::cluster::namespace::{self, NamespaceError};
use store_weaver::cluster::view::ClusterView;
use store_weaver::db::operations::{self, Kind};
use store_weaver::db::stores;
use store_weaver::db::users::Role;
use store_weaver::engine::{self, CreateRequest, EngineConfig, WorkerPool, WorkerPoolConfig};
use store_weaver::runtime;
use store_weaver::store::{self, Actor, Status, Via};

const FOREIGN_PASSWORD: &str = "someone-elses-admin-password";

/// A namespace Store Weaver did not make, with a credentials Secret in it.
async fn foreign_namespace(client: &kube::Client, name: &str) {
    let nss: KubeApi<Namespace> = KubeApi::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    nss.create(&PostParams::default(), &ns).await.unwrap();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("store-credentials".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(
            "admin-password".to_string(),
            FOREIGN_PASSWORD.to_string(),
        )])),
        ..Default::default()
    };
    KubeApi::<Secret>::namespaced(client.clone(), name)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

/// The namespace is there, not terminating, and its Secret unchanged.
async fn untouched(client: &kube::Client, name: &str) {
    let ns = KubeApi::<Namespace>::all(client.clone())
        .get_opt(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("namespace {name} was deleted"));
    assert!(
        ns.metadata.deletion_timestamp.is_none(),
        "namespace {name} is being deleted"
    );
    let secret = KubeApi::<Secret>::namespaced(client.clone(), name)
        .get("store-credentials")
        .await
        .unwrap();
    let pw = secret.data.unwrap().remove("admin-password").unwrap();
    assert_eq!(String::from_utf8_lossy(&pw.0), FOREIGN_PASSWORD);
}

async fn remove_namespace(client: &kube::Client, name: &str) {
    let _ = KubeApi::<Namespace>::all(client.clone())
        .delete(name, &Default::default())
        .await;
}

async fn api_store(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/stores/{id}")).await.expect(200).body
}

async fn settle(api: &Api, id: &str) -> Value {
    eventually(Duration::from_secs(120), "the store to settle", || async {
        let s = api_store(api, id).await;
        let status = s["status"].as_str().unwrap_or("").to_string();
        (status != "Provisioning" && status != "Deleting").then_some(s)
    })
    .await
}

#[tokio::test]
async fn a_store_named_after_a_foreign_namespace_gets_its_own_and_never_touches_that_one() {
    let client = kube().await;
    let name = unique("Taken");
    let foreign = store::namespace_for(&name);
    foreign_namespace(&client, &foreign).await;

    let server = TestServer::start(&[("workers", "1")]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let created = ann.post("/api/stores", json!({ "name": name })).await;
    assert!(created.status.is_success(), "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();

    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "Ready", "{s}");
    let ns = s["namespace"].as_str().unwrap().to_string();
    assert_ne!(ns, foreign, "the store took a namespace that was not free");
    assert!(ns.starts_with(&format!("{foreign}-")), "{ns}");
    assert!(
        s["url"].as_str().unwrap().contains(&ns["store-".len()..]),
        "{s}"
    );
    untouched(&client, &foreign).await;

    // Its credentials are its own, never the other namespace's.
    let creds = ann
        .post_empty(&format!("/api/stores/{id}/credentials"))
        .await
        .expect(200);
    assert_ne!(creds.body["password"], FOREIGN_PASSWORD);
    // The audit log says why the namespace changed.
    let audit = ann.get(&format!("/api/stores/{id}/timeline")).await;
    assert!(
        audit.text.contains("namespace-reassigned"),
        "{}",
        audit.text
    );

    ann.delete(&format!("/api/stores/{id}")).await.expect(202);
    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "Deleted", "{s}");
    untouched(&client, &foreign).await;
    server.stop().await;

    // A provision that fails (a broken chart) cleans up only its own.
    let db = TestDb::new().await;
    let broken = settings(&db.url, "tests/fixtures/charts-broken", &[]);
    let view = ClusterView::start(client.clone());
    let workers = WorkerPool::start(WorkerPoolConfig {
        workers: 1,
        engine: Arc::new(EngineConfig::from_settings(&broken)),
        pool: db.pool.clone(),
        client: client.clone(),
        view,
    });
    let (s, _) = engine::create(
        &db.pool,
        runtime::limits(&broken),
        &runtime::naming(&broken),
        &Actor::new("tester", Via::Cli),
        &CreateRequest {
            name: name.clone(),
            owner: "bob@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.namespace, foreign,
        "the database alone does not know it is taken"
    );
    let failed = runtime::wait_for_store(&db.pool, s.id, Duration::from_secs(120), |s| {
        !s.status.is_busy()
    })
    .await
    .unwrap();
    assert_eq!(failed.status, Status::Failed, "{:?}", failed.error_message);
    assert_ne!(failed.namespace, foreign);
    untouched(&client, &foreign).await;
    workers.shutdown().await;
    db.drop_db().await;
    remove_namespace(&client, &foreign).await;
}

#[tokio::test]
async fn a_namespace_that_lost_its_store_label_is_refused_for_credentials_detail_and_delete() {
    let client = kube().await;
    let server = TestServer::start(&[("workers", "1")]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let created = ann
        .post("/api/stores", json!({ "name": unique("Restored") }))
        .await;
    assert!(created.status.is_success(), "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "Ready", "{s}");
    let ns = s["namespace"].as_str().unwrap().to_string();
    let record = stores::get(&server.db.pool, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        record.namespace_uid.is_some(),
        "the namespace uid is recorded"
    );

    // Before: the owner reads the store's log through the API (pods/log via
    // the real API server), recorded in the audit log; nobody else can.
    let log = ann
        .get(&format!("/api/stores/{id}/logs?container=web&tail=20"))
        .await
        .expect(200);
    assert_eq!(log.header("x-container").as_deref(), Some("web"));
    assert!(
        log.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        log.headers
    );
    let bad = ann
        .get(&format!("/api/stores/{id}/logs?tail=0"))
        .await
        .expect(400);
    assert_eq!(bad.body["field"], "tail");
    // Issue 27 (14): a pod or container the store does not have is the
    // client's mistake, named, not a cluster outage.
    for (query, field) in [
        ("container=nope", "container"),
        ("pod=nope", "pod"),
        ("pod=nope&container=web", "pod"),
    ] {
        let r = ann
            .get(&format!("/api/stores/{id}/logs?{query}"))
            .await
            .expect(404);
        assert_eq!(r.body["field"], field, "{query}: {}", r.text);
        assert!(r.text.contains("nope"), "{}", r.text);
    }
    let bob = server.user("bob@example.com", Role::User).await;
    bob.get(&format!("/api/stores/{id}/logs")).await.expect(404);
    let timeline = ann.get(&format!("/api/stores/{id}/timeline")).await;
    assert!(timeline.text.contains("store.logs"), "{}", timeline.text);

    // Issue 27 (16): a namespace labelled as another store's is refused
    // without naming that store (its id is nobody else's business).
    let other = uuid::Uuid::new_v4().to_string();
    let patch = json!({ "metadata": { "labels": { "store-weaver.io/store-id": other } } });
    KubeApi::<Namespace>::all(client.clone())
        .patch(&ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    for r in [
        ann.post_empty(&format!("/api/stores/{id}/credentials"))
            .await
            .expect(409),
        ann.get(&format!("/api/stores/{id}/detail"))
            .await
            .expect(409),
        ann.get(&format!("/api/stores/{id}/logs")).await.expect(409),
    ] {
        assert_eq!(r.code(), "not_owned");
        assert!(
            !r.text.contains(&other),
            "names the other store: {}",
            r.text
        );
        assert!(r.text.contains("another store"), "{}", r.text);
    }

    // Someone (a second installation, a restore) takes the label away.
    let patch = json!({ "metadata": { "labels": { "store-weaver.io/store-id": null } } });
    KubeApi::<Namespace>::all(client.clone())
        .patch(&ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();

    let r = ann
        .post_empty(&format!("/api/stores/{id}/credentials"))
        .await
        .expect(409);
    assert_eq!(r.code(), "not_owned");
    assert!(r.text.contains("not this store's"), "{}", r.text);
    assert!(!r.text.contains("password\""), "{}", r.text);
    let r = ann
        .get(&format!("/api/stores/{id}/detail"))
        .await
        .expect(409);
    assert_eq!(r.code(), "not_owned");
    match namespace::admin_password(&client, &record.namespace_ref(), "admin-password").await {
        Err(NamespaceError::Foreign { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }

    ann.delete(&format!("/api/stores/{id}")).await.expect(202);
    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "DeleteFailed", "{s}");
    assert!(
        s["error_message"]
            .as_str()
            .unwrap()
            .contains("not this store's"),
        "{s}"
    );
    assert_eq!(s["retry_label"], "retry delete");
    let still = KubeApi::<Namespace>::all(client.clone())
        .get_opt(&ns)
        .await
        .unwrap()
        .expect("nothing was deleted");
    assert!(still.metadata.deletion_timestamp.is_none());

    // Retry is a retry of the delete, never a re-provision.
    ann.post_empty(&format!("/api/stores/{id}/retry"))
        .await
        .expect(202);
    let ops = operations::for_store(&server.db.pool, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(ops.last().unwrap().kind, Kind::Delete);
    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "DeleteFailed", "{s}");
    server.stop().await;
    remove_namespace(&client, &ns).await;
}

#[tokio::test]
async fn reserved_names_are_refused_by_the_api_and_the_cli() {
    let server = TestServer::start(&[("platform_host", "admin.localhost")]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    for name in ["Weaver System", "Admin", "Store Weaver", "API", "www"] {
        let r = ann
            .post("/api/stores", json!({ "name": name }))
            .await
            .expect(422);
        assert!(r.text.contains("reserved"), "{name}: {}", r.text);
    }
    let list = ann.get("/api/stores").await.expect(200);
    assert_eq!(list.body["stores"].as_array().unwrap().len(), 0);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args([
            "store",
            "create",
            "Weaver System",
            "--owner",
            "ann@example.com",
        ])
        .args(["--database-url", &server.db.url])
        .args(["--kubeconfig", &require_env("KUBECONFIG")])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reserved") && err.contains("store-weaver-system"),
        "{err}"
    );
    server.stop().await;
}

/// Issue 27 (9): a followed log (`logs?follow=true`) is a live stream like
/// `/api/stream`: it takes one of the user's stream slots, and it ends when
/// the user's session does (here: the account is disabled).
#[tokio::test]
async fn a_followed_log_takes_a_stream_slot_and_ends_with_the_session() {
    use futures::StreamExt;
    let server = TestServer::start(&[("workers", "1"), ("max_streams_per_user", "1")]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let created = ann
        .post("/api/stores", json!({ "name": unique("Followed") }))
        .await;
    assert!(created.status.is_success(), "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    let s = settle(&ann, &id).await;
    assert_eq!(s["status"], "Ready", "{s}");

    let res = ann
        .request(
            reqwest::Method::GET,
            &format!("/api/stores/{id}/logs?container=web&follow=true&tail=5"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    // The one slot is taken: neither another follow nor the live stream.
    let r = ann
        .get(&format!("/api/stores/{id}/logs?container=web&follow=true"))
        .await
        .expect(429);
    assert_eq!(r.body["limit"], "max_streams_per_user", "{}", r.text);
    let r = ann.get("/api/stream").await.expect(429);
    assert_eq!(r.body["limit"], "max_streams_per_user", "{}", r.text);
    // A log that is not followed is a plain request: no slot needed.
    ann.get(&format!("/api/stores/{id}/logs?container=web&tail=5"))
        .await
        .expect(200);

    store_weaver::db::users::set_disabled(&server.db.pool, "ann@example.com", true)
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the followed log of a disabled user was still open after 15 s"
    );
    // Stopping the server drops the test database, and with it the store's
    // namespace.
    server.stop().await;
}
