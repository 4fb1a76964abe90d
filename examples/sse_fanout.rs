//! SSE fan-out figures (issue 17), run by `scripts/bench-serve.sh`: opens
//! `clients` live streams (`/api/stream?snapshot=false`) with one bearer
//! token, then changes one store `rounds` times (an UPDATE of its error message plus the store
//! notification, as the engine does) and measures, per change, how long each
//! stream took to deliver it. Prints delivery p50/p99/max over all
//! deliveries and the server's RSS per open stream.
//!
//!   cargo run --release --example sse_fanout -- URL PID TOKEN DATABASE_URL STORE_ID [clients] [rounds]

use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!(
            "usage: sse_fanout URL PID TOKEN DATABASE_URL STORE_ID [clients=1000] [rounds=5]"
        );
        std::process::exit(2);
    }
    let (url, token, db_url, store) = (a[1].clone(), a[3].clone(), a[4].clone(), a[5].clone());
    let pid: u32 = a[2].parse().expect("a pid");
    let clients: usize = a.get(6).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rounds: usize = a.get(7).and_then(|v| v.parse().ok()).unwrap_or(5);
    let pool = sqlx::PgPool::connect(&db_url)
        .await
        .expect("connect to the database");
    let before = rss_kib(pid);

    // Each stream reports (round marker, when it saw it).
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let mut opened = 0;
    for _ in 0..clients {
        let res = http
            .get(format!("{url}/api/stream?snapshot=false"))
            .bearer_auth(&token)
            .send()
            .await;
        let Ok(mut res) = res else { continue };
        if res.status() != 200 {
            eprintln!("a stream was refused: {}", res.status());
            break;
        }
        opened += 1;
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = res.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    const KEY: &str = "\"error_message\":\"";
                    if let Some(i) = block.find("\"error_message\":\"bench-") {
                        let rest = &block[i + KEY.len()..];
                        let marker: String = rest.chars().take_while(|c| *c != '"').collect();
                        let _ = tx.send((marker, Instant::now()));
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_stream = (rss_kib(pid).saturating_sub(before)) as f64 / opened.max(1) as f64;

    let mut delays = Vec::new();
    let mut missing = 0usize;
    for r in 0..rounds {
        let marker = format!("bench-{r}");
        let sent = Instant::now();
        // A field any text is valid in: the server must be able to read the
        // row back (a made-up phase is not a Phase, and its change is dropped).
        sqlx::query("UPDATE stores SET error_message = $2, updated_at = now() WHERE id = $1::uuid")
            .bind(&store)
            .bind(&marker)
            .execute(&pool)
            .await
            .expect("update the store");
        sqlx::query("SELECT pg_notify('store_weaver_stores', $1)")
            .bind(&store)
            .execute(&pool)
            .await
            .expect("notify");
        let mut got = 0;
        let deadline = sent + Duration::from_secs(10);
        while got < opened {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((m, at))) if m == marker => {
                    delays.push(at.duration_since(sent));
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        missing += opened - got;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    delays.sort();
    let p = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!("streams open: {opened} of {clients}; rounds: {rounds}");
    println!(
        "delivery: p50 {:?}, p99 {:?}, max {:?}; not delivered within 10 s: {missing}",
        p(0.5),
        p(0.99),
        delays.last().copied().unwrap_or_default()
    );
    println!(
        "server RSS {:.0} MiB before, {:.0} MiB with the streams open: {:.1} KiB per stream",
        before as f64 / 1024.0,
        rss_kib(pid) as f64 / 1024.0,
        per_stream
    );
}
