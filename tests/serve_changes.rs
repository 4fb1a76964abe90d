//! Changing running stores over HTTP, against the real server, PostgreSQL,
//! the API server and helm: who may, what is refused and how, and that an
//! upgrade, a rollback and a fleet run do what they say.

mod common;
mod serve_common;

use common::*;
use serde_json::{Value, json};
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;

async fn settled(api: &Api, id: &str, want: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/stores/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        let r = api.get(&path).await;
        if r.status == 200 && want(&r.body) {
            return r.body;
        }
        // What the store last looked like says where it stuck.
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after 150s waiting for the store to settle; last seen: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_upgrade_roll_back_and_run_fleets_owners_read_history() {
    let srv = TestServer::start(&[
        ("workers", "3"),
        ("max_concurrent_provisions", "5"),
        ("upgrade_timeout_secs", "60"),
    ])
    .await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let root = srv.user("root@example.com", Role::Admin).await;
    let id = ann.create("Ann Upgrades").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = settled(&ann, &id, |b| b["status"] == "Ready").await;
    assert_eq!(s["helm_revision"], 1);
    assert_eq!(s["chart_version"], "0.1.0");
    assert_eq!(s["settings"], json!({}));

    // Owners may not change their running store; admins may.
    let body = json!({"set": {"wordpress.image": "6.9.0-php8.3-apache"}});
    let r = ann
        .post(&format!("/api/stores/{id}/upgrade"), body.clone())
        .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    // A wrong key says which and what the keys are; nothing is queued.
    let r = root
        .post(
            &format!("/api/stores/{id}/upgrade"),
            json!({"set": {"wordpress.imag": "x"}}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["field"], "settings");
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("wordpress.image"),
        "{:?}",
        r.body
    );
    let r = root
        .post(&format!("/api/stores/{id}/upgrade"), json!({"sett": {}}))
        .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {:?}", r.body);

    let r = root
        .post(&format!("/api/stores/{id}/upgrade"), body)
        .await
        .expect(202);
    assert_eq!(r.body["status"], "Ready");
    let up = settled(&ann, &id, |b| {
        b["helm_revision"] == 2 && b["phase"] == "done"
    })
    .await;
    assert_eq!(up["settings"]["wordpress.image"], "6.9.0-php8.3-apache");
    assert_eq!(up["status"], "Ready");

    // A second change while one runs is refused as busy.
    let r = root
        .post(&format!("/api/stores/{id}/rollback"), json!({}))
        .await
        .expect(202);
    assert_eq!(r.body["phase"], "queued");
    let again = root
        .post(
            &format!("/api/stores/{id}/rollback"),
            json!({"revision": 1}),
        )
        .await;
    assert!(
        again.status == 409 || again.status == 422,
        "{} {:?}",
        again.status,
        again.body
    );
    let back = settled(&ann, &id, |b| {
        b["helm_revision"] == 3 && b["phase"] == "done"
    })
    .await;
    assert_eq!(back["settings"], json!({}));

    // The owner reads the history: every revision made by the platform, no drift.
    let h = ann
        .get(&format!("/api/stores/{id}/history"))
        .await
        .expect(200);
    assert_eq!(h.body["drift"], Value::Null);
    let revs = h.body["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 3);
    assert_eq!(revs[0]["revision"], 3);
    assert_eq!(revs[0]["current"], true);
    assert_eq!(
        revs[1]["settings"]["wordpress.image"],
        "6.9.0-php8.3-apache"
    );

    // Fleet runs: admins only; a run over the one store ends done.
    assert_eq!(ann.get("/api/fleet").await.status, 403);
    let r = root
        .post(
            "/api/fleet",
            json!({"set": {"replicas": "0"}, "wave": 1, "max_failures": 1}),
        )
        .await
        .expect(202);
    let run = r.body["run"]["id"].as_i64().unwrap();
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let done = eventually(Duration::from_secs(120), "the fleet run ends", || {
        let root = &root;
        async move {
            let r = root.get(&format!("/api/fleet/{run}")).await;
            (r.body["run"]["state"] != "running").then_some(r.body)
        }
    })
    .await;
    assert_eq!(done["run"]["state"], "done", "{done:?}");
    assert_eq!(done["counts"]["upgraded"], 1);
    let list = root.get("/api/fleet").await.expect(200);
    assert_eq!(list.body[0]["id"], run);
    let r = root.post_empty(&format!("/api/fleet/{run}/resume")).await;
    assert_eq!(r.status, 422, "a finished run is not resumed: {:?}", r.body);
    let r = root.get("/api/fleet/999999").await;
    assert_eq!(r.status, 404);
    let r = root
        .post("/api/fleet", json!({"wave": 0}))
        .await
        .expect(422);
    assert_eq!(r.body["field"], "wave");

    srv.stop().await;
}
