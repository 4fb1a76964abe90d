//! The real `store-weaver --serve` binary, several at once against one
//! database: the global limits and the rate limits hold across replicas, a
//! session made on one replica works on another, a change made through one
//! replica reaches the live stream of another, and SIGTERM shuts a replica
//! down gracefully (streams end, leases handed back, exit 0).

mod common;
mod serve_common;

use common::*;
use futures::future::join_all;
use serde_json::json;
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;

fn charts() -> String {
    repo("tests/fixtures/charts").display().to_string()
}

fn values(file: &str) -> String {
    repo(file).display().to_string()
}

async fn signed_in(base: &str, email: &str) -> Api {
    let mut api = Api::new(base);
    api.sign_in(email, PASSWORD).await;
    api
}

#[tokio::test]
async fn two_replicas_share_sessions_changes_and_the_global_store_limit() {
    let db = TestDb::new().await;
    let users: Vec<String> = (0..4).map(|i| format!("user{i}@example.com")).collect();
    for u in &users {
        add_user(&db.pool, u, Role::User).await;
    }
    let common_args = [
        "--workers",
        "0",
        "--max-stores",
        "4",
        "--max-stores-per-user",
        "10",
        "--create-rate",
        "100",
    ];
    let a = Process::spawn(&db.url, &common_args);
    let b = Process::spawn(&db.url, &common_args);
    assert_ne!(a.base, b.base);

    // A session made on A is good on B: sessions live in the database.
    let on_a = signed_in(&a.base, &users[0]).await;
    let mut on_b = Api::new(&b.base);
    on_b.token = on_a.token.clone();
    on_b.get("/api/me").await.expect(200);

    // A create through A reaches a stream opened on B.
    let mut stream_b = EventStream::open(&on_b).await;
    assert_eq!(stream_b.next().await.unwrap().0, "snapshot");
    let first = on_a.create("Replica One").await.expect(201);
    let seen = stream_b
        .until(
            Duration::from_secs(20),
            "the store created through A",
            |e, d| e == "store" && d["id"] == first.body["id"],
        )
        .await;
    assert_eq!(seen["status"], "Provisioning");

    // Twelve creates at once from four users, spread over both replicas:
    // exactly three more fit under MAX_STORES = 4.
    let mut clients = Vec::new();
    for u in &users {
        clients.push(signed_in(&a.base, u).await);
    }
    let mut jobs = Vec::new();
    for i in 0..12usize {
        let mut api = clients[i % 4].clone();
        api.base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        jobs.push(async move {
            api.post("/api/stores", json!({ "name": format!("Flood {i}") }))
                .await
        });
    }
    let results = join_all(jobs).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let limited: Vec<&Resp> = results.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        created,
        3,
        "{:?}",
        results
            .iter()
            .map(|r| (r.status, r.text.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(limited.len(), 9);
    for r in limited {
        assert_eq!(r.body["limit"], "MAX_STORES", "{}", r.text);
    }
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM stores WHERE status <> 'Deleted'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(live, 4);
    drop(stream_b);
    drop(a);
    drop(b);
    db.drop_db().await;
}

#[tokio::test]
async fn the_create_rate_limit_holds_across_replicas() {
    let db = TestDb::new().await;
    add_user(&db.pool, "ann@example.com", Role::User).await;
    let args = [
        "--workers",
        "0",
        "--create-rate",
        "2",
        "--max-stores-per-user",
        "10",
    ];
    let a = Process::spawn(&db.url, &args);
    let b = Process::spawn(&db.url, &args);
    let on_a = signed_in(&a.base, "ann@example.com").await;
    let mut on_b = Api::new(&b.base);
    on_b.token = on_a.token.clone();
    on_a.create("Rate One").await.expect(201);
    on_b.create("Rate Two").await.expect(201);
    let r = on_a.create("Rate Three").await.expect(429);
    assert_eq!(r.body["limit"], "create_rate_per_user");
    let r = on_b.create("Rate Four").await.expect(429);
    assert_eq!(r.body["limit"], "create_rate_per_user");
    assert!(r.header("retry-after").is_some());
    drop(a);
    drop(b);
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_ends_streams_hands_leases_back_and_exits_cleanly() {
    let db = TestDb::new().await;
    add_user(&db.pool, "ann@example.com", Role::User).await;
    let charts = charts();
    let stuck = values("tests/fixtures/values-unschedulable.yaml");
    // A provision that never gets ready keeps a worker (and its lease) busy.
    let mut a = Process::spawn(
        &db.url,
        &[
            "--workers",
            "1",
            "--charts-dir",
            &charts,
            "--values-file",
            &stuck,
            "--lease",
            "30",
            "--provision-timeout",
            "600",
        ],
    );
    let ann = signed_in(&a.base, "ann@example.com").await;
    let created = ann.create(&unique("Sigterm Shop")).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let pool = db.pool.clone();
    eventually(
        Duration::from_secs(60),
        "the provision to wait for readiness",
        || {
            let pool = pool.clone();
            let id = id.clone();
            async move {
                let phase: String =
                    sqlx::query_scalar("SELECT phase FROM stores WHERE id = $1::uuid")
                        .bind(id)
                        .fetch_one(&pool)
                        .await
                        .ok()?;
                (phase == "waiting-for-ready").then_some(())
            }
        },
    )
    .await;
    let mut stream = EventStream::open(&ann).await;
    assert_eq!(stream.next().await.unwrap().0, "snapshot");

    let started = std::time::Instant::now();
    a.sigterm();
    // The stream ends instead of holding the shutdown up.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the live stream ended on SIGTERM");
    let status = tokio::task::spawn_blocking(move || {
        let st = a.wait_exit(Duration::from_secs(40));
        (st, a)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "exit status {:?}", status.0);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "shut down in {:?}",
        started.elapsed()
    );
    // The running provision was handed back: its lease is over now, not in 30 s.
    let (state, handed_back): (String, bool) = sqlx::query_as(
        "SELECT state, lease_expires_at IS NULL OR lease_expires_at <= now() FROM operations \
         WHERE store_id = $1::uuid AND kind = 'provision'",
    )
    .bind(&id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(state, "running");
    assert!(handed_back, "the lease was handed back");

    // Another replica takes over: deleting the store cleans the cluster up.
    let b = Process::spawn(
        &db.url,
        &[
            "--workers",
            "1",
            "--charts-dir",
            &charts,
            "--values-file",
            &stuck,
        ],
    );
    let ann_b = signed_in(&b.base, "ann@example.com").await;
    ann_b.delete(&format!("/api/stores/{id}")).await.expect(202);
    let pool = db.pool.clone();
    eventually(
        Duration::from_secs(150),
        "the store to be Deleted by the other replica",
        || {
            let pool = pool.clone();
            let id = id.clone();
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
    drop(b);
    db.drop_db().await;
}

/// `store-weaver user ...` with the password on stdin, as an operator runs it.
fn user_cmd(db_url: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .args(["--database-url", db_url, "user"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run store-weaver user");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn operators_manage_users_with_the_user_subcommand() {
    let db = TestDb::new().await;
    let pw = format!("{PASSWORD}\n");
    let (code, out, err) = user_cmd(&db.url, &["add", "Ops@Example.com", "--role", "admin"], &pw);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created ops@example.com (admin)"), "{out}");
    assert_eq!(user_cmd(&db.url, &["add", "ann@example.com"], &pw).0, 0);
    // Taken, bad email, short password, bad role.
    let (code, _, err) = user_cmd(&db.url, &["add", "ann@example.com"], &pw);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(user_cmd(&db.url, &["add", "not-an-email"], &pw).0, 2);
    let (code, _, err) = user_cmd(&db.url, &["add", "cy@example.com"], "short\n");
    assert_eq!(code, 2);
    assert!(err.contains("at least 10 characters"), "{err}");
    assert_ne!(
        user_cmd(&db.url, &["add", "cy@example.com", "--role", "root"], &pw).0,
        0
    );

    let (code, out, _) = user_cmd(&db.url, &["list", "--json"], "");
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let users = list.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["email"], "ann@example.com");
    assert_eq!(users[0]["role"], "user");
    assert_eq!(users[1]["role"], "admin");
    assert!(!out.contains("argon2"), "no password hashes in the listing");
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ann@example.com'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");

    // The API: Ann signs in; once disabled she cannot; enabled again she can;
    // a new password ends her sessions.
    let server = Process::spawn(&db.url, &["--workers", "0"]);
    let mut ann = Api::new(&server.base);
    ann.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(user_cmd(&db.url, &["disable", "ann@example.com"], "").0, 0);
    ann.get("/api/me").await.expect(401);
    Api::new(&server.base)
        .post(
            "/api/session",
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await
        .expect(403);
    assert_eq!(
        user_cmd(&db.url, &["disable", "nobody@example.com"], "").0,
        4
    );
    assert_eq!(user_cmd(&db.url, &["enable", "ann@example.com"], "").0, 0);
    ann.sign_in("ann@example.com", PASSWORD).await;
    let (code, _, err) = user_cmd(
        &db.url,
        &["password", "ann@example.com"],
        "a brand new password\n",
    );
    assert_eq!(code, 0, "{err}");
    ann.get("/api/me").await.expect(401);
    ann.sign_in("ann@example.com", "a brand new password").await;
    ann.get("/api/me").await.expect(200);
    drop(server);
    db.drop_db().await;
}
