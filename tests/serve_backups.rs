//! Backups through the HTTP API (issue 30), against the real API server,
//! PostgreSQL and the sandbox's kwok cluster: back up, list, restore,
//! undelete and delete without a final backup, with the owner rules and the
//! engine's refusals. Kwok pods run nothing, so no backup here ever runs:
//! the tests assert what the routes answer and what they queue, with no
//! workers running once the store is where the test needs it.

mod common;
mod serve_common;

use common::*;
use serde_json::{Value, json};
use serve_common::*;
use store_weaver::backup::Manifest;
use store_weaver::db::operations::{self, Kind, State};
use store_weaver::db::users::Role;
use store_weaver::store::Status;
use uuid::Uuid;

const SETTLE_SECS: u64 = 180;

/// A store of `api`'s user, taken to a settled status by in-process workers
/// (stopped again, so that nothing queued afterwards runs).
async fn settled_store(server: &TestServer, api: &Api, prefix: &str) -> (Uuid, Value) {
    let created = api.create(&unique(prefix)).await.expect(201);
    let id: Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
    let s = settings(&server.db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &server.db, 1).await;
    let store = settle(&server.db, id, SETTLE_SECS).await;
    pool.shutdown().await;
    assert_eq!(store.status, Status::Ready, "{store:?}");
    (id, created.body)
}

/// The store deleted (no backups configured: no final backup) and gone.
async fn deleted_store(server: &TestServer, api: &Api, id: Uuid) {
    api.delete(&format!("/api/stores/{id}")).await.expect(202);
    let s = settings(&server.db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &server.db, 1).await;
    let store = settle(&server.db, id, SETTLE_SECS).await;
    pool.shutdown().await;
    assert_eq!(store.status, Status::Deleted, "{store:?}");
}

/// The store's timeline actions with their outcomes, oldest first.
async fn timeline(api: &Api, id: Uuid) -> Vec<(String, String)> {
    let t = api
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    t.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(entries: &[(String, String)], action: &str, outcome: &str) -> bool {
    entries.iter().any(|(a, o)| a == action && o == outcome)
}

#[tokio::test]
async fn a_ready_store_is_backed_up_and_one_being_deleted_is_refused() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let (id, _) = settled_store(&server, &ann, "Backed").await;

    let r = ann.post_empty(&format!("/api/stores/{id}/backups")).await;
    let r = r.expect(202);
    assert_eq!(r.body["id"], id.to_string(), "{}", r.text);
    assert_eq!(r.body["status"], "Ready", "{}", r.text);
    let op = operations::active_for(&server.db.pool, id)
        .await
        .unwrap()
        .expect("an operation queued");
    assert_eq!(op.kind, Kind::Backup);
    assert_eq!(op.state, State::Queued);

    // One operation at a time: a second backup while one is queued.
    let r = ann.post_empty(&format!("/api/stores/{id}/backups")).await;
    let r = r.expect(409);
    assert_eq!(r.code(), "busy", "{}", r.text);

    // Asked for through the API, audited as the command line's are.
    let t = timeline(&ann, id).await;
    assert!(has(&t, "store.backup", "accepted"), "{t:?}");
    let raw = ann
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    let entry = raw.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "store.backup")
        .unwrap();
    assert_eq!(entry["actor"], "ann@example.com", "{entry}");
    assert_eq!(entry["via"], "api", "{entry}");

    ann.delete(&format!("/api/stores/{id}?no_backup=true"))
        .await
        .expect(202);
    let r = ann.post_empty(&format!("/api/stores/{id}/backups")).await;
    let r = r.expect(409);
    assert_eq!(r.code(), "not_allowed", "{}", r.text);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("only Ready stores can be backed up"),
        "{}",
        r.text
    );
    let t = timeline(&ann, id).await;
    assert!(has(&t, "store.backup", "refused"), "{t:?}");
    server.stop().await;
}

#[tokio::test]
async fn someone_elses_store_has_no_backups_to_see_or_use() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let admin = server.user("root@example.com", Role::Admin).await;
    let created = ann.create(&unique("Private")).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();

    let r = bob
        .get(&format!("/api/stores/{id}/backups"))
        .await
        .expect(404);
    assert_eq!(r.code(), "not_found");
    for path in ["backups", "restore", "undelete"] {
        let r = bob.post_empty(&format!("/api/stores/{id}/{path}")).await;
        assert_eq!(r.status, 404, "POST {path}: {}", r.text);
    }

    let mine = ann
        .get(&format!("/api/stores/{id}/backups"))
        .await
        .expect(200);
    assert_eq!(mine.body, json!({ "backups": [] }));
    admin
        .get(&format!("/api/stores/{id}/backups"))
        .await
        .expect(200);
    // A store id that is not a UUID says so.
    let r = ann.get("/api/stores/nope/backups").await.expect(400);
    assert_eq!(r.code(), "invalid_path");
    server.stop().await;
}

#[tokio::test]
async fn a_restore_names_a_backup_the_store_has() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let (id, created) = settled_store(&server, &ann, "Restored").await;
    let name = created["name"].as_str().unwrap();

    let r = ann
        .post(
            &format!("/api/stores/{id}/restore"),
            json!({ "backup": "abcd1234" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["field"], "backup", "{}", r.text);
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!("store \"{name}\" has no backup abcd1234")),
        "{msg}"
    );
    // No body: the newest complete backup, and there is none.
    let r = ann
        .post_empty(&format!("/api/stores/{id}/restore"))
        .await
        .expect(400);
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!("store \"{name}\" has no")) && msg.contains("complete backup"),
        "{msg}"
    );
    // A JSON null is no choice too.
    let r = ann
        .post(&format!("/api/stores/{id}/restore"), Value::Null)
        .await
        .expect(400);
    assert!(r.text.contains("complete backup"), "{}", r.text);
    let r = ann
        .post(
            &format!("/api/stores/{id}/restore"),
            json!({ "backup": "ab" }),
        )
        .await
        .expect(400);
    assert!(r.text.contains("at least 4 characters"), "{}", r.text);
    let r = ann
        .post(
            &format!("/api/stores/{id}/restore"),
            json!({ "bakup": "abcd" }),
        )
        .await
        .expect(422);
    assert_eq!(r.body["field"], "bakup", "{}", r.text);

    let t = timeline(&ann, id).await;
    assert!(has(&t, "store.restore", "refused"), "{t:?}");
    assert!(
        operations::active_for(&server.db.pool, id)
            .await
            .unwrap()
            .is_none(),
        "a refused restore queued an operation"
    );

    // With a complete backup (a row as a backup leaves it), named by a
    // prefix of its id, the store goes to Restoring.
    let backup = Uuid::new_v4();
    insert_backup(&server, id, backup, "manual", None, name).await;
    let r = ann
        .post(
            &format!("/api/stores/{id}/restore"),
            json!({ "backup": &backup.to_string()[..8] }),
        )
        .await
        .expect(202);
    assert_eq!(r.body["status"], "Restoring", "{}", r.text);
    let op = operations::active_for(&server.db.pool, id)
        .await
        .unwrap()
        .expect("a restore queued");
    assert_eq!(op.kind, Kind::Restore);
    assert_eq!(op.params.restore, Some(backup), "{op:?}");
    let t = timeline(&ann, id).await;
    assert!(has(&t, "store.restore", "accepted"), "{t:?}");
    server.stop().await;
}

/// A complete backup row of the store, on its newest operation.
async fn insert_backup(
    server: &TestServer,
    store: Uuid,
    backup: Uuid,
    reason: &str,
    keep_days: Option<i32>,
    name: &str,
) {
    let op: i64 = sqlx::query_scalar(
        "SELECT id FROM operations WHERE store_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(store)
    .fetch_one(&server.db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO backups (id, store_id, operation_id, reason, state, engine, bytes, \
         manifest, requested_by, finished_at, expires_at) \
         VALUES ($1, $2, $3, $4, 'complete', 'woocommerce', 4216, $5, 'ann@example.com', \
         now(), now() + make_interval(days => $6))",
    )
    .bind(backup)
    .bind(store)
    .bind(op)
    .bind(reason)
    .bind(sqlx::types::Json(manifest(backup, store, name, reason)))
    .bind(keep_days)
    .execute(&server.db.pool)
    .await
    .unwrap();
}

/// A manifest as a backup writes it (what undelete reads is only the
/// backups row; the listing shows its parts and counts).
fn manifest(backup: Uuid, store: Uuid, name: &str, reason: &str) -> Value {
    let m = json!({
        "format": 1,
        "backup_id": backup,
        "store_id": store,
        "store_name": name,
        "namespace": "store-x",
        "host": "x.example.test",
        "engine": "woocommerce",
        "chart_version": null,
        "helm_revision": null,
        "settings": {},
        "key_id": "k1",
        "reason": reason,
        "requested_by": "ann@example.com",
        "started_at": "2026-12-06T10:00:00Z",
        "finished_at": "2026-12-06T10:01:00Z",
        "parts": [
            {"name": "secret", "object": "secret.sealed", "bytes": 120, "plain_bytes": 80, "sha256": "00"},
            {"name": "database", "object": "database.sealed", "bytes": 4096, "plain_bytes": 4000, "sha256": "11"}
        ],
        "counts": {"orders": 3}
    });
    serde_json::from_value::<Manifest>(m.clone()).expect("a valid manifest");
    m
}

#[tokio::test]
async fn a_deleted_store_is_undeleted_from_its_final_backup() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let (id, created) = settled_store(&server, &ann, "Undone").await;
    let name = created["name"].as_str().unwrap().to_string();

    let r = ann
        .post_empty(&format!("/api/stores/{id}/undelete"))
        .await
        .expect(409);
    assert_eq!(r.code(), "not_allowed", "{}", r.text);
    assert!(
        r.text.contains("only deleted stores can be undeleted"),
        "{}",
        r.text
    );

    deleted_store(&server, &ann, id).await;
    let r = ann
        .post_empty(&format!("/api/stores/{id}/undelete"))
        .await
        .expect(400);
    assert!(r.text.contains("has no final backup"), "{}", r.text);

    let backup = Uuid::new_v4();
    insert_backup(&server, id, backup, "final", Some(7), &name).await;

    // A deleted store's backups are listed to its owner, not to others.
    let list = ann
        .get(&format!("/api/stores/{id}/backups"))
        .await
        .expect(200);
    let b = &list.body["backups"][0];
    assert_eq!(b["id"], backup.to_string(), "{}", list.text);
    assert_eq!(b["reason"], "final");
    assert_eq!(b["state"], "complete");
    assert_eq!(b["bytes"], 4216);
    assert_eq!(b["parts"][1]["name"], "database");
    assert_eq!(b["parts"][1]["bytes"], 4096);
    assert_eq!(b["counts"]["orders"], 3);
    assert!(b["expires_at"].is_string(), "{b}");
    assert!(!list.text.contains("key_id") && !list.text.contains("sha256"));
    bob.get(&format!("/api/stores/{id}/backups"))
        .await
        .expect(404);
    bob.post_empty(&format!("/api/stores/{id}/undelete"))
        .await
        .expect(404);

    let r = ann
        .post_empty(&format!("/api/stores/{id}/undelete"))
        .await
        .expect(202);
    assert_eq!(r.body["status"], "Provisioning", "{}", r.text);
    assert_eq!(r.body["name"], name.as_str());
    let op = operations::active_for(&server.db.pool, id)
        .await
        .unwrap()
        .expect("a provision queued");
    assert_eq!(op.kind, Kind::Provision);
    let t = timeline(&ann, id).await;
    assert!(has(&t, "store.undelete", "accepted"), "{t:?}");
    assert!(has(&t, "store.undelete", "refused"), "{t:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_delete_says_yes_or_no_to_its_final_backup() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let created = ann.create(&unique("Choice")).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();

    for bad in ["maybe", "1", "yes"] {
        let r = ann
            .delete(&format!("/api/stores/{id}?no_backup={bad}"))
            .await
            .expect(400);
        assert_eq!(r.body["field"], "no_backup", "{}", r.text);
        assert!(
            r.text.contains("no_backup must be true or false"),
            "{}",
            r.text
        );
    }
    let r = ann.get(&format!("/api/stores/{id}")).await.expect(200);
    assert_eq!(
        r.body["status"], "Provisioning",
        "a refused delete changed the store"
    );
    let r = ann
        .delete(&format!("/api/stores/{id}?no_backup=true"))
        .await
        .expect(202);
    assert_eq!(r.body["status"], "Deleting", "{}", r.text);
    let op = operations::active_for(&server.db.pool, id.parse().unwrap())
        .await
        .unwrap()
        .expect("a delete queued");
    assert_eq!(op.kind, Kind::Delete);
    assert!(op.params.no_backup, "{op:?}");
    let entries = ann
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    assert!(
        entries.text.contains("without a final backup, as asked"),
        "{}",
        entries.text
    );

    // The default (and false) keeps the final backup.
    for query in ["", "?no_backup=false"] {
        let other = ann.create(&unique("Kept")).await.expect(201);
        let other = other.body["id"].as_str().unwrap().to_string();
        ann.delete(&format!("/api/stores/{other}{query}"))
            .await
            .expect(202);
        let op = operations::active_for(&server.db.pool, other.parse().unwrap())
            .await
            .unwrap()
            .expect("a delete queued");
        assert_eq!(op.kind, Kind::Delete);
        assert!(!op.params.no_backup, "{query}: {op:?}");
    }
    server.stop().await;
}
