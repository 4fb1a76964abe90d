//! The backup views the faces read (issue 30, items 4 and 6) through the
//! real API server, PostgreSQL and the sandbox's kwok cluster:
//! `GET /api/backups/summary` (configured or not, the keep time, each
//! store's newest good backup) and `GET /api/stores/deleted` (the deleted
//! stores an undelete can bring back), each scoped like the stores list.
//! Backup rows are written as a backup leaves them (kwok pods run nothing,
//! so no real backup runs here; tests/backups.rs runs them on the real node).

mod common;
mod serve_common;

use common::*;
use serde_json::{Value, json};
use serve_common::*;
use store_weaver::db::users::Role;
use store_weaver::store::Status;
use uuid::Uuid;

const SETTLE_SECS: u64 = 180;

/// Backups configured against the sandbox's bucket (nothing is written to
/// it here: only whether backups are on and the keep time matter).
fn backup_overrides(keep_days: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("backup_bucket", require_env("SANDBOX_S3_BUCKET")),
        ("backup_endpoint", require_env("SANDBOX_S3_ENDPOINT")),
        (
            "backup_key",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        ),
        ("backup_keep_deleted_days", keep_days.into()),
    ]
}

fn id_of(r: &Resp) -> Uuid {
    r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no store id in {}", r.text))
}

/// A backup row as a backup leaves it, on the store's newest operation:
/// `state` complete or failed, finished `age_hours` ago, kept `keep_days`
/// from now (negative: expired).
async fn insert_backup(
    server: &TestServer,
    store: Uuid,
    reason: &str,
    state: &str,
    age_hours: i32,
    keep_days: Option<i32>,
) -> Uuid {
    let id = Uuid::new_v4();
    let op: i64 = sqlx::query_scalar(
        "SELECT id FROM operations WHERE store_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(store)
    .fetch_one(&server.db.pool)
    .await
    .unwrap();
    let manifest = json!({
        "format": 1, "backup_id": id, "store_id": store, "store_name": "x",
        "namespace": "store-x", "host": "x.example.test", "engine": "woocommerce",
        "chart_version": null, "helm_revision": null, "settings": {}, "key_id": "k1",
        "reason": reason, "requested_by": "ann@example.com",
        "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:01:00Z",
        "parts": [{"name": "database", "object": "database.sealed", "bytes": 4096, "plain_bytes": 4000, "sha256": "11"}],
        "counts": {"orders": 2}
    });
    let complete = state == "complete";
    sqlx::query(
        "INSERT INTO backups (id, store_id, operation_id, reason, state, engine, bytes, \
         manifest, error, requested_by, started_at, finished_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, 'woocommerce', 4096, $6, $7, 'ann@example.com', \
         now() - make_interval(hours => $8) - interval '1 minute', \
         now() - make_interval(hours => $8), now() + make_interval(days => $9))",
    )
    .bind(id)
    .bind(store)
    .bind(op)
    .bind(reason)
    .bind(state)
    .bind(complete.then_some(sqlx::types::Json(manifest)))
    .bind((!complete).then_some("the bucket went away"))
    .bind(age_hours)
    .bind(keep_days)
    .execute(&server.db.pool)
    .await
    .unwrap();
    id
}

/// `store_id -> finished_at` of a summary's newest good backups.
fn newest(summary: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = summary["newest_good"]
        .as_array()
        .unwrap_or_else(|| panic!("no newest_good in {summary}"))
        .iter()
        .map(|e| {
            (
                e["store_id"].as_str().unwrap().to_string(),
                e["finished_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn without_backups_the_summary_says_so() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let r = ann.get("/api/backups/summary").await.expect(200);
    assert_eq!(
        r.body,
        json!({ "configured": false, "keep_deleted_days": null, "newest_good": [] })
    );
    // Signed-out callers get nothing.
    server
        .client()
        .get("/api/backups/summary")
        .await
        .expect(401);
    server.stop().await;
}

#[tokio::test]
async fn the_summary_gives_the_keep_time_and_each_visible_stores_newest_good_backup() {
    let overrides = backup_overrides("3");
    let o: Vec<(&'static str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = TestServer::start(&o).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let admin = server.user("root@example.com", Role::Admin).await;
    let a = id_of(&ann.create(&unique("Ann")).await.expect(201));
    let a2 = id_of(&ann.create(&unique("Ann none")).await.expect(201));
    let b = id_of(&bob.create(&unique("Bob")).await.expect(201));

    // Ann's store: an older complete backup, a newer complete one, and a
    // failed one newer still (a failure is not a good backup).
    insert_backup(&server, a, "manual", "complete", 30, None).await;
    insert_backup(&server, a, "manual", "complete", 2, None).await;
    insert_backup(&server, a, "manual", "failed", 1, None).await;
    // Her other store has only a failed one: absent from the summary.
    insert_backup(&server, a2, "manual", "failed", 1, None).await;
    insert_backup(&server, b, "scheduled", "complete", 5, None).await;

    let finished = |store: Uuid, hours: i32| {
        let pool = server.db.pool.clone();
        async move {
            let t: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
                "SELECT max(finished_at) FROM backups WHERE store_id = $1 AND state = 'complete' \
                 AND finished_at < now() - make_interval(hours => $2) + interval '1 minute'",
            )
            .bind(store)
            .bind(hours)
            .fetch_one(&pool)
            .await
            .unwrap();
            t
        }
    };
    let a_newest = finished(a, 2).await;
    let b_newest = finished(b, 5).await;

    let r = ann.get("/api/backups/summary").await.expect(200);
    assert_eq!(r.body["configured"], true, "{}", r.text);
    assert_eq!(r.body["keep_deleted_days"], 3, "{}", r.text);
    let got = newest(&r.body);
    assert_eq!(got.len(), 1, "ann sees her store only: {}", r.text);
    assert_eq!(got[0].0, a.to_string());
    let at: chrono::DateTime<chrono::Utc> = got[0].1.parse().unwrap();
    assert_eq!(
        at, a_newest,
        "the newest complete backup, not the failed one"
    );

    let r = bob.get("/api/backups/summary").await.expect(200);
    let got = newest(&r.body);
    assert_eq!(got.len(), 1, "bob sees his store only: {}", r.text);
    assert_eq!(got[0].0, b.to_string());
    assert_eq!(
        got[0].1.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
        b_newest
    );

    let r = admin.get("/api/backups/summary").await.expect(200);
    let ids: Vec<String> = newest(&r.body).into_iter().map(|(id, _)| id).collect();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(ids, want, "an admin sees every store: {}", r.text);
    server.stop().await;
}

/// A store of `api`'s user, being deleted without a final backup (the test
/// settles it with workers).
async fn deleted_store(api: &Api, prefix: &str) -> (Uuid, String) {
    let name = unique(prefix);
    let id = id_of(&api.create(&name).await.expect(201));
    api.delete(&format!("/api/stores/{id}?no_backup=true"))
        .await
        .expect(202);
    (id, name)
}

#[tokio::test]
async fn deleted_stores_that_can_come_back_are_listed_to_their_owner_only() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let admin = server.user("root@example.com", Role::Admin).await;

    let (kept, kept_name) = deleted_store(&ann, "Kept").await;
    let (expired, _) = deleted_store(&ann, "Expired").await;
    let (bobs, bobs_name) = deleted_store(&bob, "Bobs").await;
    let live = id_of(&ann.create(&unique("Live")).await.expect(201));
    let s = settings(&server.db.url, "tests/fixtures/charts", &[]);
    let pool = workers(&s, &server.db, 2).await;
    for id in [kept, expired, bobs] {
        let st = settle(&server.db, id, SETTLE_SECS).await;
        assert_eq!(st.status, Status::Deleted, "{st:?}");
    }
    pool.shutdown().await;

    // Nothing to undelete yet: deleted without a final backup.
    let r = ann.get("/api/stores/deleted").await.expect(200);
    assert_eq!(r.body, json!({ "stores": [] }));

    let older = insert_backup(&server, kept, "final", "complete", 3, Some(7)).await;
    let newer = insert_backup(&server, kept, "final", "complete", 1, Some(7)).await;
    insert_backup(&server, expired, "final", "complete", 200, Some(-1)).await;
    insert_backup(&server, bobs, "final", "complete", 1, Some(7)).await;
    // A live store's final-looking backup is not an undelete.
    insert_backup(&server, live, "final", "complete", 1, Some(7)).await;

    let r = ann.get("/api/stores/deleted").await.expect(200);
    let stores = r.body["stores"].as_array().unwrap();
    assert_eq!(
        stores.len(),
        1,
        "ann: her one undeletable store: {}",
        r.text
    );
    let s = &stores[0];
    assert_eq!(s["id"], kept.to_string());
    assert_eq!(s["name"], kept_name.as_str());
    assert_eq!(s["owner"], "ann@example.com");
    assert_eq!(s["engine"], "woocommerce");
    assert!(s["deleted_at"].is_string(), "{s}");
    assert!(s["url"].as_str().unwrap().starts_with("http"), "{s}");
    let b = &s["backup"];
    assert_eq!(b["id"], newer.to_string(), "the newest final backup: {s}");
    assert_ne!(b["id"], older.to_string());
    assert_eq!(b["reason"], "final");
    assert_eq!(b["state"], "complete");
    assert!(
        b["finished_at"].is_string() && b["expires_at"].is_string(),
        "{b}"
    );
    assert_eq!(b["counts"]["orders"], 2);
    assert!(
        !r.text.contains("sha256") && !r.text.contains("key_id"),
        "{}",
        r.text
    );

    let r = bob.get("/api/stores/deleted").await.expect(200);
    let stores = r.body["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1, "bob: his store only: {}", r.text);
    assert_eq!(stores[0]["name"], bobs_name.as_str());
    assert!(!r.text.contains(&kept.to_string()), "{}", r.text);

    let r = admin.get("/api/stores/deleted").await.expect(200);
    let mut ids: Vec<&str> = r.body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![kept.to_string(), bobs.to_string()];
    want.sort();
    assert_eq!(ids, want, "an admin: every undeletable store: {}", r.text);

    // Once undeleted, it is no longer listed.
    ann.post_empty(&format!("/api/stores/{kept}/undelete"))
        .await
        .expect(202);
    let r = ann.get("/api/stores/deleted").await.expect(200);
    assert_eq!(r.body, json!({ "stores": [] }), "{}", r.text);
    // The path is not taken for a store id: a store id still is one.
    let r = ann.get("/api/stores/deleted2").await.expect(400);
    assert_eq!(r.code(), "invalid_path");
    server.stop().await;
}
