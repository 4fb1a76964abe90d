//! A store's backup schedule through the HTTP API (issue 30), against the
//! real API server and PostgreSQL: shown, set by its owner (hours, none,
//! the fleet's again), hidden from others, and bad bodies refused with
//! what to send, the schedule unchanged.

mod common;
mod serve_common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use serve_common::*;
use store_weaver::db::users::Role;

async fn put(api: &Api, path: &str, body: &str) -> Resp {
    Api::send(
        api.request(Method::PUT, path)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn an_owner_sets_a_stores_schedule_and_others_cannot_see_it() {
    let server = TestServer::start(&[]).await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let created = ann.create(&unique("Sched")).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/stores/{id}/backup-schedule");

    let r = ann.get(&path).await.expect(200);
    assert_eq!(r.body["own_hours"], Value::Null, "{}", r.text);
    // No bucket in this server's settings: it says so rather than a time.
    assert!(
        r.body["described"]
            .as_str()
            .unwrap()
            .contains("not configured"),
        "{}",
        r.text
    );

    let r = put(&ann, &path, r#"{"every_hours": 6}"#).await.expect(200);
    assert_eq!(r.body["own_hours"], 6, "{}", r.text);
    assert!(
        r.body["described"].as_str().unwrap().contains("every 6 h"),
        "{}",
        r.text
    );

    // Someone else's store does not exist for them, to read or to set.
    bob.get(&path).await.expect(404);
    put(&bob, &path, r#"{"every_hours": 1}"#).await.expect(404);

    // Bad bodies: 422 naming the field (400 for what is not JSON); the
    // schedule stays as it was.
    for (bad, status) in [
        (r#"{}"#, 422),
        (r#"{"every_hours": 99999}"#, 422),
        (r#"{"every_hours": "6h"}"#, 422),
        (r#"{"every_hours": 6, "x": 1}"#, 422),
        ("not json", 400),
    ] {
        let r = put(&ann, &path, bad).await;
        assert_eq!(r.status.as_u16(), status, "{bad}: {}", r.text);
        assert!(
            r.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{bad}: {}",
            r.text
        );
    }
    let r = put(&ann, &path, r#"{}"#).await;
    assert_eq!(r.body["field"], "every_hours", "{}", r.text);
    assert!(
        r.text.contains("null for the fleet's default"),
        "{}",
        r.text
    );
    let r = ann.get(&path).await.expect(200);
    assert_eq!(r.body["own_hours"], 6, "{}", r.text);

    // Off, then the fleet's again.
    let r = put(&ann, &path, &json!({"every_hours": 0}).to_string())
        .await
        .expect(200);
    assert_eq!(r.body["own_hours"], 0, "{}", r.text);
    assert_eq!(r.body["next_at"], Value::Null, "{}", r.text);
    let r = put(&ann, &path, r#"{"every_hours": null}"#)
        .await
        .expect(200);
    assert_eq!(r.body["own_hours"], Value::Null, "{}", r.text);
    server.stop().await;
}

#[tokio::test]
async fn metrics_report_backups_once_they_are_configured() {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let server =
        TestServer::start(&[("backup_bucket", "metrics-test"), ("backup_key", &key)]).await;
    let anon = server.client();
    let r = anon.get("/metrics").await.expect(200);
    for want in [
        "store_weaver_stores_without_recent_backup 0\n",
        "store_weaver_backup_failures_total 0\n",
        "store_weaver_backup_duration_seconds_count 0\n",
    ] {
        assert!(r.text.contains(want), "{want} in\n{}", r.text);
    }
    server.stop().await;

    let server = TestServer::start(&[]).await;
    let r = server.client().get("/metrics").await.expect(200);
    assert!(!r.text.contains("store_weaver_backup"), "{}", r.text);
    server.stop().await;
}
