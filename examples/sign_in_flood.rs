//! Load figures for sign-in under a flood (issue 13), run by
//! `scripts/bench-serve.sh`: `clients` concurrent wrong sign-ins, each from
//! its own loopback address (127.0.x.y, so every per-address limit sees a
//! different client, as with a botnet), for `secs` seconds; meanwhile a
//! correct sign-in every 200 ms, each from a fresh address (many real users
//! signing in once each). Prints the server's
//! peak RSS (VmHWM of `pid`), the flood's statuses, and the correct
//! sign-ins' statuses and latency (p50/p99 per attempt, and until success).
//!
//!   cargo run --release --example sign_in_flood -- URL PID EMAIL PASSWORD [clients] [secs]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

fn vm(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn client_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: sign_in_flood URL PID EMAIL PASSWORD [clients=100] [secs=20]");
        std::process::exit(2);
    }
    let url = format!("{}/api/session", args[1].trim_end_matches('/'));
    let pid: u32 = args[2].parse().expect("a pid");
    let (email, password) = (args[3].clone(), args[4].clone());
    let clients: usize = args.get(5).and_then(|v| v.parse().ok()).unwrap_or(100);
    let secs: u64 = args.get(6).and_then(|v| v.parse().ok()).unwrap_or(20);
    let until = Instant::now() + Duration::from_secs(secs);
    let rss_start = vm(pid, "VmRSS:");

    let mut flood = Vec::new();
    for i in 0..clients {
        let ip = IpAddr::V4(Ipv4Addr::new(
            127,
            1 + (i / 250) as u8,
            0,
            (i % 250 + 1) as u8,
        ));
        let http = client_from(ip);
        let url = url.clone();
        flood.push(tokio::spawn(async move {
            let mut statuses = BTreeMap::<u16, u64>::new();
            let mut n = 0u64;
            while Instant::now() < until {
                n += 1;
                let body = serde_json::json!({
                    "email": format!("guess{i}-{n}@flood.test"),
                    "password": "wrong password, wrong",
                });
                let status = match http.post(&url).json(&body).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                *statuses.entry(status).or_default() += 1;
                if status == 429 || status == 503 {
                    // A polite attacker would wait; a flood does not.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            statuses
        }));
    }

    let mut attempts = Vec::new();
    let mut to_success = Vec::new();
    let mut good_statuses = BTreeMap::<u16, u64>::new();
    let mut peak_rss_seen = 0u64;
    let mut first_try: Option<Instant> = None;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut k = 0u32;
    while Instant::now() < until {
        k += 1;
        let good = client_from(IpAddr::V4(Ipv4Addr::new(
            127,
            9,
            (k / 250) as u8,
            (k % 250 + 1) as u8,
        )));
        let start = Instant::now();
        let body = serde_json::json!({ "email": email, "password": password });
        let status = match good.post(&url).json(&body).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        attempts.push(start.elapsed());
        *good_statuses.entry(status).or_default() += 1;
        let began = *first_try.get_or_insert(start);
        if status == 201 {
            to_success.push(began.elapsed());
            first_try = None;
        }
        peak_rss_seen = peak_rss_seen.max(vm(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut flood_statuses = BTreeMap::<u16, u64>::new();
    for t in flood {
        if let Ok(s) = t.await {
            for (k, v) in s {
                *flood_statuses.entry(k).or_default() += v;
            }
        }
    }
    attempts.sort();
    to_success.sort();
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("clients {clients}, {secs} s");
    println!(
        "server RSS at start {:.0} MiB, peak (VmHWM) {:.0} MiB, highest sampled {:.0} MiB",
        mib(rss_start),
        mib(vm(pid, "VmHWM:")),
        mib(peak_rss_seen)
    );
    println!("flood statuses: {flood_statuses:?}");
    println!("correct sign-in statuses: {good_statuses:?}");
    println!(
        "correct sign-in per attempt: p50 {:?}, p99 {:?}; until success: p50 {:?}, p99 {:?} ({} successes)",
        pct(&attempts, 0.5),
        pct(&attempts, 0.99),
        pct(&to_success, 0.5),
        pct(&to_success, 0.99),
        to_success.len()
    );
}
