//! The HTTP API (`--serve`) against the real sandbox PostgreSQL and API
//! server: every endpoint and error status, users kept apart, the auth
//! modes, rate limits, hostile input, and the live stream following a real
//! provisioning with the test chart.

mod common;
mod serve_common;

use reqwest::Method;
use serde_json::{Value, json};
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;

const NIL: &str = "00000000-0000-0000-0000-000000000000";

fn id_of(r: &Resp) -> String {
    r.body["id"].as_str().expect("a store id").to_string()
}

#[tokio::test]
async fn operations_endpoints_answer_without_signing_in() {
    let srv = TestServer::start(&[]).await;
    let anon = srv.client();
    let r = anon.get("/healthz").await.expect(200);
    assert_eq!(r.body["status"], "ok");
    assert!(
        r.header("x-request-id").is_some(),
        "every response carries a request id"
    );

    // The watches list everything shortly after start.
    let r = common::eventually(Duration::from_secs(30), "/readyz to say ready", || {
        let anon = anon.clone();
        async move {
            let r = anon.get("/readyz").await;
            (r.status == 200).then_some(r)
        }
    })
    .await;
    assert_eq!(r.body["ready"], true);
    assert_eq!(r.body["database"]["ok"], true);
    assert_eq!(r.body["watch"]["connected"], true);

    let r = anon.get("/metrics").await.expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    for name in [
        "store_weaver_stores{status=\"Ready\"}",
        "store_weaver_provisions_started_total",
        "store_weaver_provisions_failed_total",
        "store_weaver_provision_duration_seconds_bucket",
        "store_weaver_operations_queued",
        "store_weaver_watch_connected 1",
        "store_weaver_watch_lists_total{kind=\"pods\"} 1\n",
        "store_weaver_watch_reconnects_total{kind=\"jobs\"} ",
    ] {
        assert!(r.text.contains(name), "metrics lack {name}:\n{}", r.text);
    }

    let r = anon.get("/api/openapi.json").await.expect(200);
    assert_eq!(r.body["openapi"], "3.1.0");
    assert!(r.body["paths"]["/api/stores"]["post"].is_object());
    // Every operation the served document names reaches a handler of the
    // running router: not the unknown-path 404 nor the wrong-method 405.
    // (Anonymous, so nothing is changed: the handlers answer 401 or 4xx.)
    let doc = r.body.clone();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if path == "/api/stream" {
                continue; // the stream stays open; /api/stream is exercised below
            }
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let url = path.replace("{id}", NIL);
            let r = Api::send(anon.request(m, &url)).await;
            let code = r.body["code"].as_str().unwrap_or("");
            assert!(
                r.status != 405
                    && code != "method_not_allowed"
                    && !(r.status == 404 && code != "not_found"),
                "{method} {url} did not reach its handler: {} {}",
                r.status,
                r.text
            );
            assert!(
                !r.text.contains("no such API endpoint"),
                "{method} {url} fell through to the fallback: {}",
                r.text
            );
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} operations checked");

    // A client-chosen request id comes back.
    let r = Api::send(
        anon.request(Method::GET, "/healthz")
            .header("x-request-id", "trace-me-42"),
    )
    .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("trace-me-42"));

    // The dashboard (or its placeholder) at / with SPA fallback; API 404s stay JSON.
    let r = anon.get("/").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = anon.get("/stores/some-client-route").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    anon.get("/missing.js").await.expect(404);
    anon.get("/api/no-such-thing").await.expect(404);
    srv.stop().await;
}

#[tokio::test]
async fn sessions_sign_in_and_out_with_the_right_statuses() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("ann@example.com", Role::User).await;
    let anon = srv.client();

    // Not signed in.
    let r = anon.get("/api/stores").await.expect(401);
    assert_eq!(r.code(), "unauthenticated");
    assert!(r.header("www-authenticate").is_some());

    // Wrong password, unknown user: the same 401.
    let r = anon
        .post(
            "/api/session",
            json!({"email": "ann@example.com", "password": "wrong password!"}),
        )
        .await
        .expect(401);
    assert_eq!(r.body["error"], "wrong email or password");
    anon.post(
        "/api/session",
        json!({"email": "nobody@example.com", "password": "whatever123"}),
    )
    .await
    .expect(401);
    // Bad input.
    let r = anon
        .post(
            "/api/session",
            json!({"email": "not-an-email", "password": "x"}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["field"], "email");
    let r = anon
        .post(
            "/api/session",
            json!({"email": "ann@example.com", "password": PASSWORD, "remember": true}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["field"], "remember");

    // Sign in: a cookie and a token; both work.
    let r = anon
        .post(
            "/api/session",
            json!({"email": " Ann@Example.COM ", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("sw_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(cookie.contains(&token));
    assert_eq!(r.body["user"], "ann@example.com");

    let by_cookie = srv
        .client()
        .with_header("cookie", &format!("sw_session={token}"));
    let r = by_cookie.get("/api/me").await.expect(200);
    assert_eq!(r.body["user"], "ann@example.com");
    assert_eq!(r.body["method"], "cookie");
    assert_eq!(r.body["role"], "user");
    let mut by_bearer = srv.client();
    by_bearer.token = Some(token.clone());
    let r = by_bearer.get("/api/me").await.expect(200);
    assert_eq!(r.body["method"], "bearer");

    // The cookie does not let another site change anything.
    let r = by_cookie
        .clone()
        .with_header("origin", "https://evil.example")
        .create("Ann Shop")
        .await
        .expect(403);
    assert!(r.body["error"].as_str().unwrap().contains("cross-site"));
    // ... but a same-origin page may.
    let host = srv.base.trim_start_matches("http://").to_string();
    by_cookie
        .clone()
        .with_header("origin", &format!("http://{host}"))
        .create("Ann Shop")
        .await
        .expect(201);

    // Only the hash of the token is stored.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&srv.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32);
    assert!(
        !stored[0]
            .windows(8)
            .any(|w| token.as_bytes().windows(8).any(|t| t == w))
    );

    // Garbage tokens.
    let mut bad = srv.client();
    bad.token = Some("x".repeat(43));
    bad.get("/api/me").await.expect(401);
    bad.token = Some("not a token at all".into());
    bad.get("/api/me").await.expect(401);
    srv.client()
        .with_header("authorization", "Basic YW5uOnB3")
        .get("/api/me")
        .await
        .expect(401);

    // Sign out ends the session.
    let r = by_bearer.delete("/api/session").await.expect(204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    by_bearer.get("/api/me").await.expect(401);
    by_cookie.get("/api/me").await.expect(401);

    // A disabled user cannot sign in, and loses live sessions.
    let mut again = srv.client();
    again.sign_in("ann@example.com", PASSWORD).await;
    store_weaver::db::users::set_disabled(&srv.db.pool, "ann@example.com", true)
        .await
        .unwrap();
    again.get("/api/me").await.expect(401);
    let r = srv
        .client()
        .post(
            "/api/session",
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await
        .expect(403);
    assert!(r.body["error"].as_str().unwrap().contains("disabled"));
    srv.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let srv = TestServer::start(&[]).await;
    srv.add_user("ann@example.com", Role::User).await;
    let anon = srv.client();
    let mut statuses = Vec::new();
    // Only failures count: five free ones per account and address (the
    // rest of the policy is in tests/serve_hostile.rs).
    for _ in 0..6 {
        let r = anon
            .post(
                "/api/session",
                json!({"email": "ann@example.com", "password": "wrong password"}),
            )
            .await;
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            let r = r.expect(429);
            assert_eq!(r.body["limit"], "sign_in_failures_account");
            assert!(r.header("retry-after").is_some());
        }
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    // Now even the right password waits.
    anon.post(
        "/api/session",
        json!({"email": "ann@example.com", "password": PASSWORD}),
    )
    .await
    .expect(429);
    srv.stop().await;
}

#[tokio::test]
async fn store_endpoints_and_their_errors() {
    let srv = TestServer::start(&[
        ("max_stores_per_user", "3"),
        ("create_rate_per_minute", "50"),
    ])
    .await;
    let ann = srv.user("ann@example.com", Role::User).await;

    // Create.
    let r = ann.create("Ann's Shoes").await.expect(201);
    let id = id_of(&r);
    assert_eq!(r.header("location"), Some(format!("/api/stores/{id}")));
    assert_eq!(r.body["status"], "Provisioning");
    assert_eq!(r.body["owner"], "ann@example.com");
    assert_eq!(r.body["namespace"], "store-ann-s-shoes");
    assert_eq!(r.body["can_retry"], false);
    assert_eq!(r.body["can_delete"], true);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));

    // Idempotency: header or field; the same key gives the same store.
    let r1 = Api::send(
        ann.request(Method::POST, "/api/stores")
            .header("idempotency-key", "order-123")
            .json(&json!({"name": "Ann Hats"})),
    )
    .await
    .expect(201);
    let r2 = ann
        .post(
            "/api/stores",
            json!({"name": "Ann Hats", "idempotency_key": "order-123"}),
        )
        .await
        .expect(200);
    assert_eq!(id_of(&r1), id_of(&r2));
    assert_eq!(r2.header("idempotent-replayed").as_deref(), Some("true"));
    let r = Api::send(
        ann.request(Method::POST, "/api/stores")
            .header("idempotency-key", "a")
            .json(&json!({"name": "Ann Gloves", "idempotency_key": "b"})),
    )
    .await
    .expect(422);
    assert_eq!(r.body["field"], "idempotency_key");

    // Name clash (case-insensitive) is 409; invalid names and engines are 422.
    let r = ann.create("ANN'S SHOES").await.expect(409);
    assert_eq!(r.code(), "name_taken");
    assert_eq!(r.body["field"], "name");
    let r = ann.create("   ").await.expect(422);
    assert_eq!(r.body["field"], "name");
    let r = ann
        .post(
            "/api/stores",
            json!({"name": "Ann Shopify", "engine": "shopify"}),
        )
        .await
        .expect(422);
    assert_eq!(r.body["field"], "engine");
    let msg = r.body["error"].as_str().unwrap_or_default();
    assert!(msg.contains("woocommerce, medusa"), "{msg}");

    // The per-user limit is a 429 that names it.
    ann.create("Ann Third").await.expect(201);
    let r = ann.create("Ann Fourth").await.expect(429);
    assert_eq!(r.code(), "limit");
    assert_eq!(r.body["limit"], "MAX_STORES_PER_USER");

    // List, get, status, detail, timeline.
    let r = ann.get("/api/stores").await.expect(200);
    assert_eq!(r.body["stores"].as_array().unwrap().len(), 3);
    let r = ann.get("/api/stores?status=provisioning").await.expect(200);
    assert_eq!(r.body["stores"].as_array().unwrap().len(), 3);
    let r = ann.get("/api/stores?status=Ready").await.expect(200);
    assert!(r.body["stores"].as_array().unwrap().is_empty());
    ann.get("/api/stores?status=Sleeping").await.expect(400);

    let r = ann.get(&format!("/api/stores/{id}")).await.expect(200);
    assert_eq!(r.body["name"], "Ann's Shoes");
    let r = ann
        .get(&format!("/api/stores/{id}/status"))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "Provisioning");
    assert_eq!(r.body["phase"], "queued");
    assert_eq!(r.body["health"]["state"], "missing");
    assert_eq!(r.body["watch_connected"], true);
    let r = ann
        .get(&format!("/api/stores/{id}/detail"))
        .await
        .expect(200);
    assert_eq!(r.body["store"]["id"], id.as_str());
    assert!(r.body["resources"].is_array() && r.body["events"].is_array());
    let r = ann
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    let entries = r.body["entries"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "store.create");
    assert_eq!(entries[0]["actor"], "ann@example.com");
    assert_eq!(entries[0]["via"], "api");

    // 404 for ids that do not exist; 400 for ids that are not ids.
    for path in ["", "/status", "/detail", "/timeline"] {
        ann.get(&format!("/api/stores/{NIL}{path}"))
            .await
            .expect(404);
    }
    ann.post_empty(&format!("/api/stores/{NIL}/retry"))
        .await
        .expect(404);
    ann.post_empty(&format!("/api/stores/{NIL}/credentials"))
        .await
        .expect(404);
    ann.delete(&format!("/api/stores/{NIL}")).await.expect(404);
    let r = ann.get("/api/stores/12345").await.expect(400);
    assert_eq!(r.body["field"], "id");

    // Retry: only Failed stores (409 otherwise).
    let r = ann
        .post_empty(&format!("/api/stores/{id}/retry"))
        .await
        .expect(409);
    assert_eq!(r.code(), "not_allowed");
    // As a worker would leave it after a failed provision.
    for sql in [
        "UPDATE operations SET state = 'failed', finished_at = now() WHERE store_id = $1::uuid",
        "UPDATE stores SET status = 'Failed', error_message = 'boom' WHERE id = $1::uuid",
    ] {
        sqlx::query(sql)
            .bind(&id)
            .execute(&srv.db.pool)
            .await
            .unwrap();
    }
    let r = ann.get(&format!("/api/stores/{id}")).await.expect(200);
    assert_eq!(r.body["can_retry"], true);
    let r = ann
        .post_empty(&format!("/api/stores/{id}/retry"))
        .await
        .expect(202);
    assert_eq!(r.body["status"], "Provisioning");
    assert_eq!(r.body["attempts"], 2);

    // Credentials before the store has any: 409 (no cluster objects without workers).
    let r = ann
        .post_empty(&format!("/api/stores/{id}/credentials"))
        .await
        .expect(409);
    assert_eq!(r.code(), "not_available");

    // Delete: 202 Deleting; again: 409; the record stays readable.
    let r = ann.delete(&format!("/api/stores/{id}")).await.expect(202);
    assert_eq!(r.body["status"], "Deleting");
    let r = ann.delete(&format!("/api/stores/{id}")).await.expect(409);
    assert_eq!(r.code(), "not_allowed");
    ann.post_empty(&format!("/api/stores/{id}/credentials"))
        .await
        .expect(409);
    let r = ann
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    let actions: Vec<&str> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.first(), Some(&"store.create"));
    assert!(
        actions.contains(&"store.retry") && actions.contains(&"store.delete"),
        "{actions:?}"
    );

    // The audit log is for admins.
    ann.get("/api/audit").await.expect(403);
    let admin = srv.user("root@example.com", Role::Admin).await;
    let r = admin.get("/api/audit?limit=5").await.expect(200);
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 5);
    admin.get("/api/audit?limit=0").await.expect(400);

    // Wrong methods.
    let r = Api::send(ann.request(Method::PUT, "/api/stores"))
        .await
        .expect(405);
    assert_eq!(r.code(), "method_not_allowed");
    Api::send(ann.request(Method::PATCH, &format!("/api/stores/{id}")))
        .await
        .expect(405);
    srv.stop().await;
}

#[tokio::test]
async fn users_neither_see_nor_touch_each_others_stores() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let bob = srv.user("bob@example.com", Role::User).await;
    let admin = srv.user("root@example.com", Role::Admin).await;

    let a = id_of(&ann.create("Ann Shop").await.expect(201));
    let b = id_of(&bob.create("Bob Shop").await.expect(201));
    // The same name is fine for a different owner (own namespace).
    let b2 = bob.create("Ann Shop").await.expect(201);
    assert_ne!(b2.body["namespace"], "store-ann-shop");

    let names = |r: &Resp| -> Vec<String> {
        r.body["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["owner"].as_str().unwrap().to_string())
            .collect()
    };
    let r = ann.get("/api/stores").await.expect(200);
    assert_eq!(names(&r), vec!["ann@example.com"]);
    let r = bob.get("/api/stores").await.expect(200);
    assert!(names(&r).iter().all(|o| o == "bob@example.com") && names(&r).len() == 2);
    ann.get("/api/stores?owner=bob@example.com")
        .await
        .expect(403);

    // Everything about Ann's store is "not found" for Bob, and nothing changes.
    for path in ["", "/status", "/detail", "/timeline"] {
        let r = bob.get(&format!("/api/stores/{a}{path}")).await.expect(404);
        assert_eq!(r.code(), "not_found");
    }
    bob.post_empty(&format!("/api/stores/{a}/retry"))
        .await
        .expect(404);
    bob.post_empty(&format!("/api/stores/{a}/credentials"))
        .await
        .expect(404);
    bob.delete(&format!("/api/stores/{a}")).await.expect(404);
    let r = ann.get(&format!("/api/stores/{a}")).await.expect(200);
    assert_eq!(r.body["status"], "Provisioning", "Bob's delete did nothing");
    // Idempotency keys are per user: Bob's key does not return Ann's store.
    let ka = Api::send(
        ann.request(Method::POST, "/api/stores")
            .header("idempotency-key", "k")
            .json(&json!({"name": "Ann Keyed"})),
    )
    .await
    .expect(201);
    let kb = Api::send(
        bob.request(Method::POST, "/api/stores")
            .header("idempotency-key", "k")
            .json(&json!({"name": "Bob Keyed"})),
    )
    .await
    .expect(201);
    assert_ne!(id_of(&ka), id_of(&kb));

    // Admins see and act on everyone's stores, but only owners see credentials.
    let r = admin.get("/api/stores").await.expect(200);
    assert_eq!(r.body["stores"].as_array().unwrap().len(), 5);
    let r = admin
        .get("/api/stores?owner=bob@example.com")
        .await
        .expect(200);
    assert_eq!(r.body["stores"].as_array().unwrap().len(), 3);
    admin
        .get(&format!("/api/stores/{a}/timeline"))
        .await
        .expect(200);
    let r = admin
        .post_empty(&format!("/api/stores/{a}/credentials"))
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");
    let r = admin.delete(&format!("/api/stores/{b}")).await.expect(202);
    assert_eq!(r.body["status"], "Deleting");
    let r = bob
        .get(&format!("/api/stores/{b}/timeline"))
        .await
        .expect(200);
    let last = r.body["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "store.delete");
    assert_eq!(last["actor"], "root@example.com");
    // The refused reveal is in the audit log.
    let r = admin.get("/api/audit").await.expect(200);
    assert!(
        r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "store.credentials.reveal" && e["outcome"] == "refused")
    );
    srv.stop().await;
}

#[tokio::test]
async fn creates_are_rate_limited_per_user_and_per_address() {
    let srv = TestServer::start(&[
        ("create_rate_per_minute", "3"),
        ("max_stores_per_user", "20"),
    ])
    .await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let bob = srv.user("bob@example.com", Role::User).await;
    for i in 0..3 {
        ann.create(&format!("Ann {i}")).await.expect(201);
    }
    let r = ann.create("Ann 3").await.expect(429);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.body["limit"], "create_rate_per_user");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Bob is a different user but the same address (127.0.0.1), which has
    // used its 3 creates.
    let r = bob.create("Bob 0").await.expect(429);
    assert_eq!(r.body["limit"], "create_rate_per_address");
    // Invalid requests and idempotent repeats do not use the rate.
    let r = ann.create("").await.expect(422);
    assert_eq!(r.body["field"], "name");
    srv.stop().await;
}

#[tokio::test]
async fn hostile_and_malformed_input_gets_4xx_never_5xx() {
    let srv = TestServer::start(&[
        ("create_rate_per_minute", "100"),
        ("max_stores_per_user", "100"),
    ])
    .await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let raw = |body: Vec<u8>, ct: &str| {
        Api::send(
            ann.request(Method::POST, "/api/stores")
                .header("content-type", ct)
                .body(body),
        )
    };

    // Bodies.
    let r = raw(vec![b'{'; 1], "application/json").await.expect(400);
    assert_eq!(r.code(), "malformed_json");
    raw(b"{\"name\": \"a\",}".to_vec(), "application/json")
        .await
        .expect(400);
    raw(b"\xff\xfe\x00garbage".to_vec(), "application/json")
        .await
        .expect(400);
    raw(b"".to_vec(), "application/json").await.expect(400);
    raw(b"{\"name\":\"x\"}".to_vec(), "text/plain")
        .await
        .expect(415);
    raw(
        b"{\"name\":\"x\"}".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await
    .expect(415);
    Api::send(
        ann.request(Method::POST, "/api/stores")
            .body("{\"name\":\"x\"}"),
    )
    .await
    .expect(415);
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(100_000));
    let r = raw(big.into_bytes(), "application/json").await.expect(413);
    assert_eq!(r.code(), "too_large");
    let r = raw(vec![b'['; 20_000], "application/json")
        .await
        .expect(413);
    assert_eq!(r.code(), "too_large");
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let r = raw(deep.into_bytes(), "application/json").await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.text);
    let deep = format!("{{\"name\": {}1{}}}", "[".repeat(1_000), "]".repeat(1_000));
    let r = raw(deep.into_bytes(), "application/json").await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.text);

    // Wrong types and shapes.
    for (body, field) in [
        (json!({"name": 42}), Some("name")),
        (json!({"name": null}), Some("name")),
        (json!({"name": ["a"]}), Some("name")),
        (json!({"name": {"$gt": ""}}), Some("name")),
        (json!({"name": "ok name", "engine": 7}), Some("engine")),
        (
            json!({"name": "ok name", "owner": "bob@example.com"}),
            Some("owner"),
        ),
        (
            json!({"name": "ok name", "idempotency_key": ""}),
            Some("idempotency_key"),
        ),
        (
            json!({"name": "ok name", "idempotency_key": "k".repeat(201)}),
            Some("idempotency_key"),
        ),
        (json!([]), None),
        (json!("name"), None),
        (json!(null), None),
        (json!({}), Some("name")),
    ] {
        let r = ann.post("/api/stores", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        let r = r.expect(422);
        if let Some(f) = field {
            assert_eq!(r.body["field"], f, "{body}: {}", r.text);
        }
    }

    // Unicode: accented names work; names with nothing to build an address
    // from, control characters or too many characters do not.
    let r = ann.create("Café Crème").await.expect(201);
    assert_eq!(r.body["namespace"], "store-cafe-creme");
    assert_eq!(r.body["name"], "Café Crème");
    for bad in [
        "🛒🛒🛒",
        "店舗",
        "a\u{0}b",
        "line\nbreak",
        "\u{202e}\u{200b}",
        &"é".repeat(61),
    ] {
        let r = ann.create(bad).await.expect(422);
        assert_eq!(r.body["field"], "name", "{bad:?}");
    }
    let r = ann.create("Ünïcødé ☃ Shop").await.expect(201);
    assert_eq!(r.body["namespace"], "store-unicode-shop");
    let r = ann.create("'; DROP TABLE stores; --").await.expect(201);
    assert_eq!(r.body["namespace"], "store-drop-table-stores");
    ann.get("/api/stores").await.expect(200);

    // Path tricks.
    let client = reqwest::Client::new();
    let token = ann.token.clone().unwrap();
    for path in [
        "/api/stores/..%2F..%2Fetc%2Fpasswd",
        "/api/stores/%00",
        "/api/stores/00000000-0000-0000-0000-00000000000G",
        "/api/stores/' OR 1=1 --",
        "/api/stores/00000000-0000-0000-0000-000000000000%00",
    ] {
        let url = format!("{}{}", srv.base, path.replace(' ', "%20"));
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    let long = format!("{}/api/stores/{}", srv.base, "a".repeat(10_000));
    let r = client.get(&long).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_client_error(), "long path: {}", r.status());
    // Dot segments sent as-is (reqwest would normalise them): a raw request.
    for raw_path in [
        "/../../etc/passwd",
        "/assets/../../Cargo.toml",
        "/api/../Cargo.toml",
        "/%2e%2e/%2e%2e/Cargo.toml",
    ] {
        let (status, body) = raw_get(&srv.base, raw_path).await;
        assert!(
            status == 404
                || status == 400
                || (status == 200 && body.contains("<title>Store Weaver")),
            "{raw_path}: {status} {body}"
        );
        assert!(!body.contains("[package]"), "{raw_path} leaked a file");
    }

    // Query strings.
    ann.get("/api/stores?status=Ready&status=Failed")
        .await
        .expect(400);
    assert!(ann.get("/api/stores?%ff=1").await.status.is_client_error());
    let r = ann.get("/api/stores?x=1").await.expect(400);
    assert_eq!(r.code(), "invalid_query");

    // Headers.
    let r = Api::send(
        ann.request(Method::GET, "/api/stores")
            .header("x-very-large", "v".repeat(600_000)),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let mut weird = srv.client();
    weird.token = Some("é".repeat(20));
    weird.get("/api/me").await.expect(401);
    srv.stop().await;
}

/// Sends one GET with the path exactly as given, over a plain TCP socket.
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn demo_mode_trusts_x_user_id_and_says_so_on_every_response() {
    let srv = TestServer::start(&[("auth_mode", "demo")]).await;
    let anon = srv.client();
    let r = anon.get("/healthz").await.expect(200);
    assert_eq!(
        r.header("x-store-weaver-auth").as_deref(),
        Some("demo-insecure")
    );
    let r = anon.get("/api/stores").await.expect(401);
    assert_eq!(
        r.header("x-store-weaver-auth").as_deref(),
        Some("demo-insecure")
    );

    let ann = srv.client().with_header("x-user-id", "Ann@Example.com");
    let r = ann.get("/api/me").await.expect(200);
    assert_eq!(r.body["user"], "ann@example.com");
    assert_eq!(r.body["auth_mode"], "demo");
    let id = id_of(&ann.create("Demo Shop").await.expect(201));
    let bob = srv.client().with_header("x-user-id", "bob");
    bob.get(&format!("/api/stores/{id}")).await.expect(404);
    srv.client()
        .with_header("x-user-id", "two words")
        .get("/api/me")
        .await
        .expect(401);
    // No password sign-in in this mode.
    let r = anon
        .post(
            "/api/session",
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await
        .expect(400);
    assert_eq!(r.code(), "not_supported");
    srv.stop().await;
}

#[tokio::test]
async fn proxy_mode_trusts_the_configured_header_and_takes_roles_from_users() {
    let srv = TestServer::start(&[
        ("auth_mode", "proxy"),
        ("proxy_user_header", "X-Auth-Request-Email"),
        ("trusted_proxies", "127.0.0.1/32"),
    ])
    .await;
    srv.add_user("root@example.com", Role::Admin).await;
    srv.add_user("gone@example.com", Role::User).await;
    store_weaver::db::users::set_disabled(&srv.db.pool, "gone@example.com", true)
        .await
        .unwrap();

    let anon = srv.client();
    assert!(
        anon.get("/healthz")
            .await
            .header("x-store-weaver-auth")
            .is_none()
    );
    anon.get("/api/stores").await.expect(401);
    // The demo header means nothing here.
    srv.client()
        .with_header("x-user-id", "ann@example.com")
        .get("/api/me")
        .await
        .expect(401);

    let ann = srv
        .client()
        .with_header("x-auth-request-email", "ann@example.com");
    let r = ann.get("/api/me").await.expect(200);
    assert_eq!(r.body["role"], "user");
    assert_eq!(r.body["method"], "proxy");
    let id = id_of(&ann.create("Proxied Shop").await.expect(201));

    let root = srv
        .client()
        .with_header("x-auth-request-email", "root@example.com");
    let r = root.get("/api/me").await.expect(200);
    assert_eq!(r.body["role"], "admin");
    root.get(&format!("/api/stores/{id}")).await.expect(200);

    let gone = srv
        .client()
        .with_header("x-auth-request-email", "gone@example.com");
    let r = gone.get("/api/stores").await.expect(403);
    assert!(r.body["error"].as_str().unwrap().contains("disabled"));
    srv.stop().await;
}

#[tokio::test]
async fn cors_only_for_configured_origins() {
    let srv = TestServer::start(&[("cors_origins", "https://dash.example.com")]).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(Method::OPTIONS, format!("{}/api/stores", srv.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let r = preflight("https://dash.example.com").await.unwrap();
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://dash.example.com")
    );
    assert_eq!(
        r.headers()
            .get("access-control-allow-credentials")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let r = preflight("https://evil.example.com").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    srv.stop().await;

    // Without configured origins, no CORS at all.
    let srv = TestServer::start(&[]).await;
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", srv.base))
        .header("origin", "https://dash.example.com")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    srv.stop().await;
}

/// A real provisioning with the test chart: the stream shows Provisioning
/// turn Ready, then the detail, credentials and delete work on real objects.
#[tokio::test]
async fn the_stream_delivers_a_real_status_change_and_credentials_are_revealed_to_the_owner() {
    let srv = TestServer::start(&[("workers", "2"), ("create_rate_per_minute", "50")]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let bob = srv.user("bob@example.com", Role::User).await;
    let mut ann_stream = EventStream::open(&ann).await;
    let mut bob_stream = EventStream::open(&bob).await;
    let (event, data) = ann_stream.next().await.expect("a snapshot");
    assert_eq!(event, "snapshot");
    assert!(data["stores"].as_array().unwrap().is_empty());
    assert_eq!(bob_stream.next().await.unwrap().0, "snapshot");

    let name = common::unique("Stream Shop");
    let r = ann.create(&name).await.expect(201);
    let id = id_of(&r);
    let ns = r.body["namespace"].as_str().unwrap().to_string();
    let same = |d: &Value| d["id"] == id.as_str();
    ann_stream
        .until(Duration::from_secs(30), "a Provisioning event", |e, d| {
            e == "store" && same(d) && d["status"] == "Provisioning"
        })
        .await;
    let ready = ann_stream
        .until(
            Duration::from_secs(150),
            "the store turning Ready",
            |e, d| e == "store" && same(d) && (d["status"] == "Ready" || d["status"] == "Failed"),
        )
        .await;
    assert_eq!(ready["status"], "Ready", "{ready}");
    assert_eq!(ready["phase"], "done");

    // Bob's stream saw none of it: the next thing he gets is his own store.
    let bob_id = id_of(&bob.create(&common::unique("Bob Side")).await.expect(201));
    let seen = bob_stream
        .until(Duration::from_secs(30), "Bob's own store", |e, _| {
            e == "store"
        })
        .await;
    assert_eq!(
        seen["id"],
        bob_id.as_str(),
        "Bob only sees his own stores: {seen}"
    );

    // Status and detail show the real objects.
    let r = ann
        .get(&format!("/api/stores/{id}/status"))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "Ready");
    assert!(r.body["provision_seconds"].is_i64());
    let r = ann
        .get(&format!("/api/stores/{id}/detail"))
        .await
        .expect(200);
    let kinds: Vec<String> = r.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}/{}",
                x["kind"].as_str().unwrap(),
                x["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(kinds.contains(&"Deployment/web".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"StatefulSet/db".to_string()), "{kinds:?}");

    // The owner gets the credentials; the audit log records it.
    let r = ann
        .post_empty(&format!("/api/stores/{id}/credentials"))
        .await
        .expect(200);
    assert_eq!(r.body["username"], "admin");
    let pw = r.body["password"].as_str().unwrap();
    assert_eq!(pw.len(), 32);
    assert!(
        r.body["login_url"]
            .as_str()
            .unwrap()
            .ends_with("/wp-admin/")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let r = ann
        .get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(200);
    let reveal = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "store.credentials.reveal")
        .expect("the reveal is audited")
        .clone();
    assert_eq!(reveal["outcome"], "accepted");
    assert_eq!(reveal["actor"], "ann@example.com");
    assert!(!r.text.contains(pw), "the password is not in the audit log");

    // Delete: the stream follows it to Deleted.
    ann.delete(&format!("/api/stores/{id}")).await.expect(202);
    ann_stream
        .until(Duration::from_secs(150), "the store Deleted", |e, d| {
            e == "store" && same(d) && d["status"] == "Deleted"
        })
        .await;
    bob.delete(&format!("/api/stores/{bob_id}"))
        .await
        .expect(202);
    let kube = common::kube().await;
    let nss: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(kube);
    common::eventually(
        Duration::from_secs(120),
        "Ann's namespace to be gone",
        || {
            let nss = nss.clone();
            let ns = ns.clone();
            async move {
                nss.get_opt(&ns)
                    .await
                    .ok()
                    .flatten()
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;
    let bob_store = bob.get(&format!("/api/stores/{bob_id}")).await.expect(200);
    let bob_ns = bob_store.body["namespace"].as_str().unwrap().to_string();
    let db_pool = srv.db.pool.clone();
    common::eventually(
        Duration::from_secs(150),
        "Bob's store to be Deleted",
        || {
            let pool = db_pool.clone();
            let id = bob_id.clone();
            async move {
                let st: String =
                    sqlx::query_scalar("SELECT status FROM stores WHERE id = $1::uuid")
                        .bind(id)
                        .fetch_one(&pool)
                        .await
                        .ok()?;
                (st == "Deleted").then_some(())
            }
        },
    )
    .await;
    assert!(
        nss.get_opt(&bob_ns)
            .await
            .unwrap()
            .is_none_or(|n| n.metadata.deletion_timestamp.is_some())
    );
    srv.stop().await;
}
