//! The real `store-weaver --serve` binary keeps its API pool open in full:
//! every connection is established before it accepts, and none is closed
//! while it idles, so the first burst on a quiet server never waits for
//! connections to be opened inside `api_db_wait_ms` (and answers no 503).

mod common;
mod serve_common;

use common::*;
use futures::future::join_all;
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;

/// The connections the API pool of the server on `db` has open right now.
async fn api_connections(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'store-weaver-api'",
    )
    .bind(&db.name)
    .fetch_one(&db.pool)
    .await
    .expect("read pg_stat_activity")
}

#[tokio::test]
async fn a_quiet_servers_first_burst_finds_every_api_connection_open() {
    let db = TestDb::new().await;
    add_user(&db.pool, "warm@example.com", Role::User).await;
    // The default pool size (24) and wait (500 ms), as a server runs;
    // answers from memory off, so every read takes a connection.
    let server = Process::spawn(
        &db.url,
        &[
            "--workers",
            "0",
            "--api-cache",
            "false",
            "--api-db-connections",
            "24",
            "--db-connections",
            "28",
        ],
    );
    // It logged that it listens: all 24 are open already.
    assert_eq!(
        api_connections(&db).await,
        24,
        "the API pool is open in full before the server accepts"
    );
    let mut api = Api::new(&server.base);
    api.sign_in("warm@example.com", PASSWORD).await;
    // Idle past the point where sqlx would reap or re-check connections
    // (db::CHECK_IDLE_AFTER, 5 s): the idling itself is what is tested.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        api_connections(&db).await,
        24,
        "no API connection is closed while the server idles"
    );
    // A burst of reads, each through the database: none is told "busy".
    let burst = join_all((0..100).map(|_| {
        let api = api.clone();
        async move { api.get("/api/stores").await }
    }))
    .await;
    let busy: Vec<_> = burst
        .iter()
        .filter(|r| r.status.as_u16() != 200)
        .map(|r| format!("{}: {}", r.status, r.text))
        .collect();
    assert!(
        busy.is_empty(),
        "{} of 100 reads on a quiet server were not answered: {busy:?}",
        busy.len()
    );
    assert_eq!(api_connections(&db).await, 24);
    drop(server);
    db.drop_db().await;
}
