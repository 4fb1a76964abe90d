//! Paged lists (issue 17) against the real server and PostgreSQL: every
//! store exactly once under concurrent creates, filters that are right,
//! cursors that cannot be carried to another user or another query, the
//! audit log and a timeline in pages, and `store list --all` in the CLI.

mod common;
mod serve_common;

use serde_json::Value;
use serve_common::*;
use std::collections::BTreeSet;
use std::time::Duration;
use store_weaver::db::users::Role;

/// `n` stores for `owner`, one second apart in age (oldest first), with
/// statuses in turn Ready, Failed, Provisioning.
async fn seed(pool: &sqlx::PgPool, owner: &str, tag: &str, n: i32) {
    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts, created_at, updated_at) \
         SELECT gen_random_uuid(), $2 || ' Shop ' || i, 'store-' || $2 || '-shop-' || i, $1, 'woocommerce', \
                (ARRAY['Ready', 'Failed', 'Provisioning'])[1 + i % 3], 'done', \
                'http://' || $2 || '-shop-' || i || '.localhost', 1, \
                now() - make_interval(secs => 10000 - i), now() - make_interval(secs => 10000 - i) \
         FROM generate_series(1, $3) AS i",
    )
    .bind(owner)
    .bind(tag)
    .bind(n)
    .execute(pool)
    .await
    .expect("seed stores");
}

fn ids(page: &Value) -> Vec<String> {
    page["stores"]
        .as_array()
        .expect("a stores array")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has a query string), following next_cursor.
async fn all_pages(api: &Api, path: &str, key: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let r = api.get(&url).await.expect(200);
        pages += 1;
        out.extend(r.body[key].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}

#[tokio::test]
async fn pages_hold_every_store_once_even_while_stores_are_created() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    seed(&srv.db.pool, "ann@example.com", "ann", 130).await;
    seed(&srv.db.pool, "bob@example.com", "bob", 70).await;
    let before: BTreeSet<String> = sqlx::query_scalar::<_, uuid::Uuid>(
        "SELECT id FROM stores WHERE owner = 'ann@example.com'",
    )
    .fetch_all(&srv.db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|u| u.to_string())
    .collect();

    // New stores keep arriving while Ann pages through hers.
    let pool = srv.db.pool.clone();
    let creator = tokio::spawn(async move {
        // Each one made new in one statement: a row inserted old and then
        // moved to now() would change its sort key between two pages and
        // rightly be seen twice (which made this test flaky).
        for i in 0..20 {
            sqlx::query(
                "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts) \
                 VALUES (gen_random_uuid(), $1 || ' Shop 1', 'store-' || $1 || '-shop-1', 'ann@example.com', \
                         'woocommerce', 'Ready', 'done', 'http://' || $1 || '-shop-1.localhost', 1)",
            )
            .bind(format!("new{i}"))
            .execute(&pool)
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    for sort in ["-created", "created", "name", "-name", "status", "-status"] {
        let (stores, pages) =
            all_pages(&ann, &format!("/api/stores?limit=25&sort={sort}"), "stores").await;
        let got: Vec<String> = stores
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        let unique: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(unique.len(), got.len(), "sort {sort}: a store came twice");
        assert!(
            before.is_subset(&unique),
            "sort {sort}: {} stores that existed from the start are missing",
            before.difference(&unique).count()
        );
        assert!(pages >= 6, "sort {sort}: {pages} pages");
        assert!(
            stores.iter().all(|s| s["owner"] == "ann@example.com"),
            "sort {sort}: someone else's store"
        );
        // In order.
        let keys: Vec<String> = stores
            .iter()
            .map(|s| match sort.trim_start_matches('-') {
                "name" => s["name"].as_str().unwrap().to_lowercase(),
                "status" => s["status"].as_str().unwrap().to_string(),
                _ => s["created_at"].as_str().unwrap().to_string(),
            })
            .collect();
        let mut sorted = keys.clone();
        if sort.trim_start_matches('-') != "created" {
            sorted.sort();
            if sort.starts_with('-') {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "sort {sort}: out of order");
        }
    }
    creator.await.unwrap();
    let r = ann.get("/api/stores?limit=5").await.expect(200);
    assert_eq!(r.body["total"], 150);
    assert_eq!(ids(&r.body).len(), 5);
    srv.stop().await;
}

#[tokio::test]
async fn filters_are_right_and_validated() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let root = srv.user("root@example.com", Role::Admin).await;
    seed(&srv.db.pool, "ann@example.com", "ann", 30).await;
    seed(&srv.db.pool, "bob@example.com", "bob", 12).await;
    sqlx::query("UPDATE stores SET name = '50% Off_Sale' WHERE name = 'ann Shop 7'")
        .execute(&srv.db.pool)
        .await
        .unwrap();

    let r = ann
        .get("/api/stores?status=Failed&limit=500")
        .await
        .expect(200);
    assert_eq!(r.body["total"], 10);
    assert!(
        r.body["stores"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "Failed")
    );
    // q: name, namespace or URL, any case, and % or _ are literal.
    let r = ann
        .get("/api/stores?q=SHOP%2012&limit=500")
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let r = ann
        .get("/api/stores?q=ann-shop-2&limit=500")
        .await
        .expect(200);
    // ann-shop-2, -20 ... -29 (namespace and URL)
    assert_eq!(r.body["total"], 11, "{}", r.text);
    let r = ann
        .get("/api/stores?q=50%25%20off_&limit=500")
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let r = ann.get("/api/stores?q=%25&limit=500").await.expect(200);
    assert_eq!(
        r.body["total"], 1,
        "a bare % matches only a literal %: {}",
        r.text
    );

    // Owners: a user sees only their own; an admin any one owner, or all.
    let r = ann.get("/api/stores?q=bob&limit=500").await.expect(200);
    assert_eq!(r.body["total"], 0);
    ann.get("/api/stores?owner=bob@example.com")
        .await
        .expect(403);
    let r = root
        .get("/api/stores?owner=bob@example.com&status=Ready")
        .await
        .expect(200);
    assert_eq!(r.body["total"], 4);
    let r = root.get("/api/stores?limit=1").await.expect(200);
    assert_eq!(r.body["total"], 42);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("sort=price", "sort"),
        ("status=Happy", "status"),
        ("cursor=abc", "cursor"),
    ] {
        let r = ann.get(&format!("/api/stores?{query}")).await.expect(400);
        assert_eq!(r.body["field"], field, "{query}: {}", r.text);
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_cursor_cannot_be_carried_to_another_user_or_another_query() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let bob = srv.user("bob@example.com", Role::User).await;
    let root = srv.user("root@example.com", Role::Admin).await;
    seed(&srv.db.pool, "ann@example.com", "ann", 10).await;
    seed(&srv.db.pool, "bob@example.com", "bob", 10).await;

    let r = ann.get("/api/stores?limit=3").await.expect(200);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    // Ann's next page works ...
    ann.get(&format!("/api/stores?limit=3&cursor={cursor}"))
        .await
        .expect(200);
    // ... Bob's request with her cursor does not, nor an admin's.
    let r = bob
        .get(&format!("/api/stores?limit=3&cursor={cursor}"))
        .await
        .expect(400);
    assert_eq!(r.body["field"], "cursor");
    root.get(&format!("/api/stores?limit=3&cursor={cursor}"))
        .await
        .expect(400);
    // Nor with other filters, nor edited.
    ann.get(&format!("/api/stores?limit=3&status=Ready&cursor={cursor}"))
        .await
        .expect(400);
    let mut edited = cursor.clone().into_bytes();
    edited[2] = if edited[2] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    ann.get(&format!("/api/stores?limit=3&cursor={edited}"))
        .await
        .expect(400);
    // Bob paging through his own never meets Ann's stores.
    let (stores, _) = all_pages(&bob, "/api/stores?limit=3", "stores").await;
    assert_eq!(stores.len(), 10);
    assert!(stores.iter().all(|s| s["owner"] == "bob@example.com"));
    srv.stop().await;
}

#[tokio::test]
async fn the_audit_log_and_a_timeline_come_in_pages() {
    let srv = TestServer::start(&[
        ("create_rate_per_minute", "100"),
        ("max_stores_per_user", "100"),
    ])
    .await;
    let root = srv.user("root@example.com", Role::Admin).await;
    let mut made = Vec::new();
    for i in 0..7 {
        let r = root.create(&format!("Audit Shop {i}")).await.expect(201);
        made.push(r.body["id"].as_str().unwrap().to_string());
    }
    for id in &made[..3] {
        root.delete(&format!("/api/stores/{id}")).await.expect(202);
    }
    let total = root.get("/api/audit?limit=1").await.expect(200).body["total"]
        .as_i64()
        .unwrap();
    assert!(total >= 10, "{total}");
    let (entries, pages) = all_pages(&root, "/api/audit?limit=3", "entries").await;
    assert_eq!(entries.len() as i64, total);
    assert_eq!(pages as i64, (total + 2) / 3);
    let ids: BTreeSet<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), entries.len(), "an entry came twice");
    // Newest first.
    let ats: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(ats.len(), sorted.len());

    // A store's timeline, oldest first, one entry a page.
    let id = &made[0];
    let (entries, _) = all_pages(
        &root,
        &format!("/api/stores/{id}/timeline?limit=1"),
        "entries",
    )
    .await;
    assert!(entries.len() >= 2, "create and delete: {entries:?}");
    assert!(entries.iter().all(|e| e["store_id"] == id.as_str()));
    assert_eq!(entries[0]["action"], "store.create");
    // Another user cannot read it at all.
    let ann = srv.user("ann@example.com", Role::User).await;
    ann.get(&format!("/api/stores/{id}/timeline"))
        .await
        .expect(404);
    ann.get("/api/audit").await.expect(403);
    srv.stop().await;
}

#[tokio::test]
async fn the_cli_lists_a_page_or_streams_every_page() {
    let db = common::TestDb::new().await;
    seed(&db.pool, "ann@example.com", "ann", 75).await;
    seed(&db.pool, "bob@example.com", "bob", 5).await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_store-weaver"))
            .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
            .env_remove("DATABASE_URL")
            .args(["--database-url", &db.url, "store", "list"])
            .args(args)
            .output()
            .expect("run store-weaver store list")
    };
    let out = run(&["--json", "--limit", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page.as_array().unwrap().len(), 20);
    assert!(String::from_utf8_lossy(&out.stderr).contains("20 of 80"));

    let out = run(&[
        "--json",
        "--limit",
        "7",
        "--all",
        "--owner",
        "ann@example.com",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 75);
    let unique: BTreeSet<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), 75);

    let out = run(&["--json", "--all", "--status", "Failed"]);
    let failed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 25 + 2);
    assert!(
        failed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "Failed")
    );

    let out = run(&["--status", "Happy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown status"));
    let out = run(&["--json", "--owner", "nobody@example.com"]);
    let none: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(none, serde_json::json!([]));
    db.drop_db().await;
}

#[tokio::test]
async fn an_overloaded_api_pool_answers_503_busy_with_retry_after() {
    // Every request reads the database (no answers from memory), through
    // one connection.
    let srv = TestServer::start(&[
        ("api_db_connections", "1"),
        ("api_db_wait_ms", "200"),
        ("api_cache", "false"),
    ])
    .await;
    let ann = srv.user("ann@example.com", Role::User).await;
    seed(&srv.db.pool, "ann@example.com", "ann", 40).await;
    // The one connection is kept busy for as long as the test says: the
    // list that gets it waits on this lock while holding it. (Counting on
    // requests being slow enough to queue up was timing, not overload.)
    let mut blocker = srv.db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE stores IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let ann = ann.clone();
            let answered = answered.clone();
            tokio::spawn(async move {
                let r = ann.get("/api/stores?limit=500&q=shop").await;
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                r
            })
        })
        .collect();
    // Every request but the one holding the connection is answered within
    // its 200 ms wait for a connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 99 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of 99 requests were answered while the pool was busy",
            answered.load(std::sync::atomic::Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    blocker.commit().await.unwrap();
    let (mut busy, mut ok) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            200 => ok += 1,
            503 => {
                assert_eq!(r.code(), "busy", "{}", r.text);
                assert_eq!(r.header("retry-after").as_deref(), Some("1"));
                busy += 1;
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert_eq!(
        (busy, ok),
        (99, 1),
        "one request held the connection, the others found it busy"
    );
    // The overload passes: the next request is answered.
    ann.get("/api/stores").await.expect(200);
    srv.stop().await;
}

/// `q` is answered from the trigram indexes (migration
/// `20261201180000_store_search_trgm.sql`), not by reading every store: the
/// plan for the list's search condition (the shape `db::stores` builds) at
/// 5,000 stores is a BitmapOr of the three GIN indexes, right after a bulk
/// insert (the indexes have no pending list to wait for VACUUM).
#[tokio::test]
async fn substring_search_uses_the_trigram_indexes() {
    let db = common::TestDb::new().await;
    seed(&db.pool, "ann@example.com", "ann", 5000).await;
    sqlx::query("ANALYZE stores")
        .execute(&db.pool)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT count(*) FROM stores WHERE status <> 'Deleted' \
         AND (name ILIKE '%shop-4242%' OR namespace ILIKE '%shop-4242%' OR url ILIKE '%shop-4242%')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    for index in [
        "stores_live_name_trgm",
        "stores_live_namespace_trgm",
        "stores_live_url_trgm",
    ] {
        assert!(plan.contains(index), "{index} not used:\n{plan}");
    }
    assert!(!plan.contains("Seq Scan"), "{plan}");
}

/// Every page in order, read as `matches` says.
async fn db_pages(
    pool: &sqlx::PgPool,
    filter: &store_weaver::db::stores::Filter,
    sort: store_weaver::db::stores::Sort,
    matches: store_weaver::db::stores::Matches,
) -> Vec<uuid::Uuid> {
    use store_weaver::db::stores;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = stores::page_of(pool, filter, sort, after.as_ref(), 7, matches)
            .await
            .expect("a page");
        out.extend(page.iter().map(|s| s.id));
        match page.last() {
            Some(last) if page.len() == 7 => after = Some(stores::After::of(sort, last)),
            _ => return out,
        }
    }
}

#[tokio::test]
async fn a_search_reads_the_same_pages_through_its_indexes_as_by_walking_the_sort_order() {
    use store_weaver::db::stores::{Filter, Matches, Sort, SortKey};
    let db = common::TestDb::new().await;
    seed(&db.pool, "ann@example.com", "ann", 60).await;
    seed(&db.pool, "bob@example.com", "bob", 40).await;
    for q in [
        "shop-1",
        "ANN SHOP 2",
        "bob",
        "localhost",
        "nothing-like-this",
    ] {
        for key in [SortKey::Created, SortKey::Name, SortKey::Status] {
            for desc in [false, true] {
                let filter = Filter {
                    q: Some(q.to_string()),
                    ..Filter::default()
                };
                let sort = Sort { key, desc };
                let walked = db_pages(&db.pool, &filter, sort, Matches::Many).await;
                let collected = db_pages(&db.pool, &filter, sort, Matches::Few).await;
                assert_eq!(walked, collected, "q={q} sort={key:?} desc={desc}");
                let n = store_weaver::db::stores::count_matching(&db.pool, &filter)
                    .await
                    .unwrap();
                assert_eq!(walked.len() as i64, n, "q={q}: every match once");
            }
        }
    }
    db.drop_db().await;
}
