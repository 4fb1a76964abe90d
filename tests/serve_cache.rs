//! What the API remembers between requests (sessions, stores by id, list
//! totals) against the real server and PostgreSQL: it is used, and every
//! change to the rows behind it — made with plain SQL, as psql or another
//! replica would, not through this server — reaches the answers.

mod common;
mod serve_common;

use common::eventually;
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;

const WITHIN: Duration = Duration::from_secs(10);

/// `part`'s figure in the `store_weaver_api_cache_{what}` metric.
async fn cache_metric(api: &Api, what: &str, part: &str) -> u64 {
    let text = api.get("/metrics").await.expect(200).text;
    let key = format!("store_weaver_api_cache_{what}{{part=\"{part}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /metrics"))
}

/// Asks `path` until an answer comes from memory (the hub may still be
/// connecting just after the start, and then nothing is remembered).
async fn until_remembered(api: &Api, path: &str, part: &str) {
    eventually(WITHIN, "an answer from memory", || async {
        let before = cache_metric(api, "hits_total", part).await;
        api.get(path).await.expect(200);
        api.get(path).await.expect(200);
        (cache_metric(api, "hits_total", part).await > before).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_store_changed_behind_the_servers_back_is_shown_changed() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let id = ann.create("Cached Shop").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/stores/{id}");
    until_remembered(&ann, &path, "stores").await;

    // Not through the ledger: only the table's trigger announces this.
    sqlx::query("UPDATE stores SET name = 'Renamed Shop' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&srv.db.pool)
        .await
        .unwrap();
    eventually(WITHIN, "the new name", || async {
        (ann.get(&path).await.expect(200).body["name"] == "Renamed Shop").then_some(())
    })
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn a_list_total_follows_stores_added_and_removed_behind_the_servers_back() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    ann.create("First Shop").await.expect(201);
    let path = "/api/stores?limit=1";
    until_remembered(&ann, path, "pages").await;
    assert_eq!(ann.get(path).await.expect(200).body["total"], 1);
    // Another page of the same list: its own page, the same total.
    let hits = cache_metric(&ann, "hits_total", "totals").await;
    ann.get("/api/stores?limit=2").await.expect(200);
    assert_eq!(cache_metric(&ann, "hits_total", "totals").await, hits + 1);

    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts) \
         VALUES (gen_random_uuid(), 'Second Shop', 'store-second-shop', 'ann@example.com', \
                 'woocommerce', 'Ready', 'done', 'http://second-shop.localhost', 1)",
    )
    .execute(&srv.db.pool)
    .await
    .unwrap();
    eventually(WITHIN, "a total of 2", || async {
        (ann.get(path).await.expect(200).body["total"] == 2).then_some(())
    })
    .await;

    until_remembered(&ann, path, "pages").await;
    sqlx::query("DELETE FROM stores WHERE name = 'Second Shop'")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    eventually(WITHIN, "a total of 1 again", || async {
        (ann.get(path).await.expect(200).body["total"] == 1).then_some(())
    })
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn a_remembered_session_ends_at_sign_out_at_once_and_at_a_disable_elsewhere() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    until_remembered(&ann, "/api/me", "sessions").await;
    // Signed out here: refused on the very next request.
    ann.delete("/api/session").await.expect(204);
    ann.get("/api/me").await.expect(401);

    // Disabled by another process (here: SQL on the pool): the trigger's
    // notification ends the remembered session.
    let mut bob = srv.client();
    srv.add_user("bob@example.com", Role::User).await;
    bob.sign_in("bob@example.com", PASSWORD).await;
    until_remembered(&bob, "/api/me", "sessions").await;
    store_weaver::db::users::set_disabled(&srv.db.pool, "bob@example.com", true)
        .await
        .unwrap();
    eventually(WITHIN, "bob's session refused", || async {
        (bob.get("/api/me").await.status == 401).then_some(())
    })
    .await;

    // A role change reaches a remembered session too.
    let mut cat = srv.client();
    srv.add_user("cat@example.com", Role::User).await;
    cat.sign_in("cat@example.com", PASSWORD).await;
    until_remembered(&cat, "/api/me", "sessions").await;
    sqlx::query("UPDATE users SET role = 'admin' WHERE email = 'cat@example.com'")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    eventually(WITHIN, "cat shown as admin", || async {
        (cat.get("/api/me").await.expect(200).body["role"] == "admin").then_some(())
    })
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn what_a_client_changes_through_this_server_it_reads_back_at_once() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let list = "/api/stores?limit=5";
    ann.create("Shop 0").await.expect(201);
    until_remembered(&ann, list, "pages").await;
    // No waiting for the notification: the very next read shows the write
    // (a few rounds, as the notification may also win the race).
    for n in 1..=4 {
        let id = ann.create(&format!("Shop {n}")).await.expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(ann.get(list).await.expect(200).body["total"], n + 1);
        let path = format!("/api/stores/{id}");
        ann.get(&path).await.expect(200);
        ann.get(&path).await.expect(200);
        ann.delete(&path).await.expect(202);
        assert_eq!(ann.get(&path).await.expect(200).body["status"], "Deleting");
        assert_eq!(ann.get(list).await.expect(200).body["total"], n + 1);
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_proxy_principals_role_is_remembered_and_follows_user_changes() {
    let srv =
        TestServer::start(&[("auth_mode", "proxy"), ("trusted_proxies", "127.0.0.1/32")]).await;
    srv.add_user("dan@example.com", Role::User).await;
    let dan = srv
        .client()
        .with_header("x-forwarded-user", "dan@example.com");
    dan.get("/api/me").await.expect(200);
    // Asked again, the role comes from memory: no database read.
    until_remembered(&dan, "/api/me", "identities").await;
    assert_eq!(dan.get("/api/me").await.expect(200).body["role"], "user");

    // Promoted by another process: the users notification reaches the
    // remembered role, without a restart.
    sqlx::query("UPDATE users SET role = 'admin' WHERE email = 'dan@example.com'")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    eventually(WITHIN, "dan shown as admin", || async {
        (dan.get("/api/me").await.expect(200).body["role"] == "admin").then_some(())
    })
    .await;

    // Someone without an account is a user; an account added for them
    // later (as admin) is seen too: inserts are announced as well.
    let eve = srv
        .client()
        .with_header("x-forwarded-user", "eve@example.com");
    until_remembered(&eve, "/api/me", "identities").await;
    assert_eq!(eve.get("/api/me").await.expect(200).body["role"], "user");
    srv.add_user("eve@example.com", Role::Admin).await;
    eventually(WITHIN, "eve shown as admin", || async {
        (eve.get("/api/me").await.expect(200).body["role"] == "admin").then_some(())
    })
    .await;

    // Disabled elsewhere: refused.
    store_weaver::db::users::set_disabled(&srv.db.pool, "dan@example.com", true)
        .await
        .unwrap();
    eventually(WITHIN, "dan refused", || async {
        (dan.get("/api/me").await.status == 403).then_some(())
    })
    .await;
    srv.stop().await;
}
