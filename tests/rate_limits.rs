//! The create rate limit (`db::sessions::take`) against a real PostgreSQL:
//! exact under concurrent takes from separate pools (as from replicas), a
//! full bucket counts nothing anywhere, the window slides, and a slow client
//! holds a bucket for no longer than one statement (issue 29: every create
//! from one address queued on that address's bucket).

mod common;

use common::*;
use sqlx::postgres::PgPoolOptions;
use std::time::{Duration, Instant};
use store_weaver::db::sessions::{self, Exceeded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn takes_are_exact_under_concurrency_from_two_pools() {
    let db = TestDb::new().await;
    let other = PgPoolOptions::new()
        .max_connections(10)
        .connect(&db.url)
        .await
        .expect("a second pool");
    // 120 takes by 6 users (8 each at most) from one address (30 at most):
    // exactly 30 go through, none of a user beyond 8.
    let mut tasks = Vec::new();
    for i in 0..120 {
        let pool = if i % 2 == 0 {
            db.pool.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let user = format!("create:user:u{}", i % 6);
            let r = sessions::take(&pool, &[(&user, 8), ("create:addr:10.1.1.1", 30)], MINUTE)
                .await
                .expect("take");
            (i % 6, r)
        }));
    }
    let mut per_user = [0; 6];
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task") {
            (u, Ok(())) => per_user[u] += 1,
            (_, Err(Exceeded { retry_after, .. })) => {
                assert!((1..=60).contains(&retry_after.as_secs()), "{retry_after:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(per_user.iter().sum::<i32>(), 30, "{per_user:?}");
    assert!(per_user.iter().all(|&n| n <= 8), "{per_user:?}");
    assert_eq!(refused, 90);
    other.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_full_bucket_counts_nothing_in_the_others() {
    let db = TestDb::new().await;
    let take = |buckets: &'static [(&'static str, u32)]| sessions::take(&db.pool, buckets, MINUTE);
    take(&[("a", 1), ("b", 5)]).await.unwrap().unwrap();
    // The full bucket is named by its index in the order given.
    let hit = take(&[("b", 5), ("a", 1)]).await.unwrap().unwrap_err();
    assert_eq!(hit.index, 1);
    // b counted one event, not two.
    take(&[("b", 2)]).await.unwrap().unwrap();
    assert_eq!(take(&[("b", 2)]).await.unwrap().unwrap_err().index, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn the_window_slides() {
    let db = TestDb::new().await;
    let window = Duration::from_secs(2);
    sessions::take(&db.pool, &[("slide", 1)], window)
        .await
        .unwrap()
        .unwrap();
    let started = Instant::now();
    let hit = sessions::take(&db.pool, &[("slide", 1)], window)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        (1..=2).contains(&hit.retry_after.as_secs()),
        "{:?}",
        hit.retry_after
    );
    // Free again once the event leaves its window (whole seconds: at least
    // one second after it, at most two).
    let deadline = started + Duration::from_secs(20);
    loop {
        if sessions::take(&db.pool, &[("slide", 1)], window)
            .await
            .unwrap()
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the window never slid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
    db.drop_db().await;
}

/// A TCP proxy that holds every answer from PostgreSQL for `delay`: a
/// client far from the database (or a replica short of CPU).
async fn latency_proxy(target: std::net::SocketAddr, delay: Duration) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut from_client, mut to_client) = inbound.into_split();
                let (mut from_server, mut to_server) = outbound.into_split();
                let up = async move {
                    let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                };
                let down = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match from_server.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                tokio::time::sleep(delay).await;
                                if to_client.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_slow_client_holds_a_bucket_for_one_statement_only() {
    let db = TestDb::new().await;
    let at = db.url.rfind('@').expect("URL has user@host");
    let slash = db.url[at..].find('/').expect("URL has a database path") + at;
    let proxy = latency_proxy(url_addr(&db.url), Duration::from_millis(500)).await;
    let slow_url = format!("{}@{proxy}{}", &db.url[..at], &db.url[slash..]);
    let slow = PgPoolOptions::new()
        .max_connections(1)
        .connect(&slow_url)
        .await
        .expect("connect through the proxy");
    // Connected and the statement known to the connection: what is left is
    // the take itself.
    sessions::take(&slow, &[("warm-up", 100)], MINUTE)
        .await
        .unwrap()
        .unwrap();
    let address = "create:addr:10.2.2.2";
    let slow_take = tokio::spawn(async move {
        let started = Instant::now();
        let r = sessions::take(
            &slow,
            &[("create:user:slow", 1_000_000), (address, 1_000_000)],
            MINUTE,
        )
        .await
        .expect("slow take");
        (r, started.elapsed())
    });
    // Another user's creates from the same address, one after another,
    // while the slow one is on its way.
    let (mut worst, mut fast) = (Duration::ZERO, 0);
    while !slow_take.is_finished() {
        let started = Instant::now();
        sessions::take(
            &db.pool,
            &[("create:user:fast", 1_000_000), (address, 1_000_000)],
            MINUTE,
        )
        .await
        .expect("fast take")
        .expect("room in the bucket");
        worst = worst.max(started.elapsed());
        fast += 1;
    }
    let (r, slow_took) = slow_take.await.expect("slow task");
    r.expect("room in the bucket");
    assert!(fast > 0);
    // Each answer to the slow client takes 500 ms: a bucket held from one
    // of its round trips to another holds every other take for 500 ms or
    // more (nine round trips once: 4.5 s). Held for one statement, nobody
    // waits on the slow client.
    assert!(
        worst < Duration::from_millis(450),
        "a take waited {worst:?} for a slow client's take ({slow_took:?}, {fast} fast takes)"
    );
    db.drop_db().await;
}
