//! The access log of the real `store-weaver --serve` (issue 29, item 5):
//! one JSON line per request with the route, never a secret; none with
//! `--access-log 0`; one in N with `--access-log N`.

mod common;
mod serve_common;

use common::*;
use serde_json::Value;
use serve_common::*;
use std::time::{Duration, Instant};
use store_weaver::db::users::Role;

/// The access lines logged so far, parsed.
fn access_lines(server: &Process) -> Vec<Value> {
    server
        .lines_with("\"target\":\"store_weaver::access\"")
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Waits (with a deadline) until a logged line contains `needle`.
async fn until_logged(server: &Process, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.lines_with(needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no line with {needle} was logged within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the server and waits until its last line ("stopped") has been read:
/// the writer keeps lines in order, so every line before it is there too.
async fn stop(mut server: Process) -> Process {
    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "the server exits cleanly: {status}");
    until_logged(&server, "\"message\":\"stopped\"").await;
    server
}

#[tokio::test]
async fn access_lines_name_the_route_and_never_a_secret() {
    let db = TestDb::new().await;
    add_user(&db.pool, "access@example.com", Role::User).await;
    let server = Process::spawn(&db.url, &["--workers", "0"]);
    let mut api = Api::new(&server.base);
    api.sign_in("access@example.com", PASSWORD).await;
    let token = api.token.clone().expect("a token");
    let id = uuid::Uuid::new_v4();
    api.clone()
        .with_header("x-request-id", "access-test-one-store")
        .with_header("cookie", "sw_session=cookie-secret-4711")
        .get(&format!("/api/stores/{id}?token=query-secret-0815"))
        .await
        .expect(404);
    api.clone()
        .with_header("x-request-id", "access-test-list")
        .get("/api/stores?limit=5&q=query-secret-0816")
        .await
        .expect(200);
    until_logged(&server, "access-test-list").await;
    let server = stop(server).await;

    let lines = access_lines(&server);
    let by_id = |rid: &str| -> Value {
        lines
            .iter()
            .find(|l| l["fields"]["request_id"] == rid)
            .unwrap_or_else(|| panic!("no access line for {rid}: {lines:?}"))
            .clone()
    };
    let one = by_id("access-test-one-store");
    assert_eq!(one["fields"]["method"], "GET");
    assert_eq!(one["fields"]["route"], "/api/stores/{id}");
    assert_eq!(one["fields"]["status"], 404);
    assert!(one["fields"]["ms"].as_f64().is_some(), "{one}");
    assert!(one["timestamp"].is_string(), "{one}");
    assert_eq!(by_id("access-test-list")["fields"]["route"], "/api/stores");
    // The sign-in is there too, under its route and status.
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["route"] == "/api/session" && l["fields"]["status"] == 201),
        "{lines:?}"
    );
    // Nothing the client sent as a secret reached the log, in any line.
    let all = server.lines_with("");
    for secret in [
        token.as_str(),
        PASSWORD,
        "cookie-secret-4711",
        "query-secret-0815",
        "query-secret-0816",
        &id.to_string(),
    ] {
        let leaked: Vec<_> = all.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "{secret:?} was logged: {leaked:?}");
    }
    drop(server);
    db.drop_db().await;
}

#[tokio::test]
async fn no_access_lines_when_off_and_one_in_n_when_sampled() {
    for (setting, expected) in [("0", 0), ("3", 10)] {
        let db = TestDb::new().await;
        let server = Process::spawn(&db.url, &["--workers", "0", "--access-log", setting]);
        let api = Api::new(&server.base);
        for _ in 0..30 {
            api.get("/healthz").await.expect(200);
        }
        let server = stop(server).await;
        let lines = access_lines(&server);
        assert_eq!(
            lines.len(),
            expected,
            "--access-log {setting}: 30 requests gave {} access lines: {lines:?}",
            lines.len()
        );
        assert!(lines.iter().all(|l| l["fields"]["route"] == "/healthz"));
        // The server's other lines are still written.
        assert!(!server.lines_with("listening on").is_empty());
        drop(server);
        db.drop_db().await;
    }
}
