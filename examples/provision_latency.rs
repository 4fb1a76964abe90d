//! Measures, against the running sandbox, (1) the latency from the last pod
//! of a store becoming Ready in the cluster to the store being recorded
//! `Ready`, and (2) Store Weaver's own overhead per provision (total minus
//! time inside helm and waiting for Kubernetes).
//!
//!   source "$(scripts/sandbox env-file)"
//!   cargo run --release --example provision_latency -- [STORES] [AT_ONCE] [WORKERS]
//!       STORES default 20; AT_ONCE (max_concurrent_provisions: helm runs
//!       at once) default 4; WORKERS (operations at once, waits for Ready
//!       included) default 4 x AT_ONCE. The throughput run of issue 17:
//!       `100 10`.
//!   RUST_LOG=store_weaver::engine=info shows each provision's steps.
//!   ENGINE=medusa measures Medusa stores (default woocommerce): each engine's
//!   own chart, with its values-local.yaml.
//!
//! Two independent observers in this process share one clock: a raw watch
//! on pods and a LISTEN on the store channel. Where the machine's CPU went
//! until all were Ready is read from /proc (Linux): this process, its helm
//! processes, the sandbox's control plane (the pid files beside its
//! kubeconfig) and PostgreSQL.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use sqlx::postgres::{PgListener, PgPoolOptions};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store_weaver::cluster::view::ClusterView;
use store_weaver::config::{Layers, Settings};
use store_weaver::engine::{self, CreateRequest, WorkerPool, WorkerPoolConfig};
use store_weaver::store::{Actor, Status, Via};
use uuid::Uuid;

#[tokio::main]
async fn main() -> color_eyre::Result<()> {
    // RUST_LOG=store_weaver=info shows each provision's steps and their times.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let at_once: u32 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let workers: u32 = std::env::args()
        .nth(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4 * at_once);
    let admin_url = std::env::var("DATABASE_URL")?;
    let db_name = format!("sw_bench_{}", Uuid::new_v4().simple());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&admin)
        .await?;
    let url = format!(
        "{}/{db_name}",
        &admin_url[..admin_url.rfind('/').unwrap_or(admin_url.len())]
    );

    let flags: BTreeMap<&'static str, String> = BTreeMap::from([
        ("database_url", url.clone()),
        ("kubeconfig", std::env::var("KUBECONFIG")?),
        ("max_stores", "1000".into()),
        ("max_stores_per_user", "1000".into()),
        ("max_concurrent_provisions", at_once.to_string()),
        ("lease_secs", "10".into()),
    ]);
    let settings = Settings::resolve(&Layers {
        file: None,
        env: Default::default(),
        flags,
    })?;
    let pool = store_weaver::db::connect(&url, workers).await?;
    store_weaver::db::migrate(&pool).await?;
    let client = store_weaver::cluster::client(&settings).await?;

    // Observer 1: pods. Instant at which every pod of a store is Ready.
    let pods_ready: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    {
        let pods_ready = pods_ready.clone();
        let api: Api<Pod> = Api::all(client.clone());
        let cfg = watcher::Config::default().labels("store-weaver.io/store-id");
        tokio::spawn(async move {
            let mut pods: HashMap<String, (Uuid, bool)> = HashMap::new();
            let mut stream = std::pin::pin!(watcher(api, cfg));
            while let Some(Ok(ev)) = stream.next().await {
                if let watcher::Event::Apply(p) | watcher::Event::InitApply(p) = ev {
                    let Some(id) = p
                        .labels()
                        .get("store-weaver.io/store-id")
                        .and_then(|v| Uuid::parse_str(v).ok())
                    else {
                        continue;
                    };
                    let ready = p
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        });
                    pods.insert(
                        p.name_any() + &p.namespace().unwrap_or_default(),
                        (id, ready),
                    );
                    let mine: Vec<bool> = pods
                        .values()
                        .filter(|(i, _)| *i == id)
                        .map(|(_, r)| *r)
                        .collect();
                    if mine.len() >= 2 && mine.iter().all(|r| *r) {
                        pods_ready
                            .lock()
                            .unwrap()
                            .entry(id)
                            .or_insert_with(Instant::now);
                    }
                }
            }
        });
    }
    // Observer 2: the store records.
    let stores_ready: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    {
        let stores_ready = stores_ready.clone();
        let pool = pool.clone();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(store_weaver::db::STORE_CHANNEL).await?;
        tokio::spawn(async move {
            while let Ok(n) = listener.recv().await {
                let Ok(id) = Uuid::parse_str(n.payload()) else {
                    continue;
                };
                if let Ok(Some(s)) = store_weaver::db::stores::get(&pool, id).await
                    && s.status == Status::Ready
                {
                    stores_ready
                        .lock()
                        .unwrap()
                        .entry(id)
                        .or_insert_with(Instant::now);
                }
            }
        });
    }

    let view = ClusterView::start(store_weaver::cluster::streaming_client(&settings).await?);
    let pool_of_workers = WorkerPool::start(WorkerPoolConfig {
        workers,
        engine: Arc::new(store_weaver::engine::EngineConfig::from_settings(&settings)),
        pool: pool.clone(),
        client,
        view,
    });
    let actor = Actor::new("bench", Via::Cli);
    let urls = store_weaver::runtime::naming(&settings);
    let mut ids = Vec::new();
    let cpu_before = cpu::Snapshot::take();
    let started = Instant::now();
    for i in 0..n {
        let req = CreateRequest {
            name: format!("Latency {i} {}", &Uuid::new_v4().simple().to_string()[..6]),
            owner: "bench@example.com".into(),
            engine: std::env::var("ENGINE").unwrap_or_else(|_| "woocommerce".into()),
            idempotency_key: None,
        };
        ids.push(
            engine::create(
                &pool,
                store_weaver::runtime::limits(&settings),
                &urls,
                &actor,
                &req,
            )
            .await?
            .0
            .id,
        );
    }
    for id in &ids {
        store_weaver::runtime::wait_for_store(&pool, *id, Duration::from_secs(600), |s| {
            !s.status.is_busy()
        })
        .await?;
    }
    let all_ready = started.elapsed();
    let cpu_used = cpu::Snapshot::take().since(&cpu_before);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut lat: Vec<f64> = Vec::new();
    {
        let p = pods_ready.lock().unwrap();
        let s = stores_ready.lock().unwrap();
        for id in &ids {
            if let (Some(a), Some(b)) = (p.get(id), s.get(id)) {
                lat.push(b.saturating_duration_since(*a).as_secs_f64() * 1000.0);
            }
        }
    }
    let overhead: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM finished_at - started_at) * 1000 - helm_ms - wait_ms)::float8 \
         FROM operations WHERE kind = 'provision' AND state = 'succeeded'",
    )
    .fetch_all(&pool)
    .await?;
    let totals: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM finished_at - started_at) * 1000)::float8 FROM operations WHERE kind = 'provision' AND state = 'succeeded'",
    )
    .fetch_all(&pool)
    .await?;
    let helm: Vec<f64> = sqlx::query_scalar(
        "SELECT helm_ms::float8 FROM operations WHERE kind = 'provision' AND state = 'succeeded'",
    )
    .fetch_all(&pool)
    .await?;

    println!(
        "stores provisioned: {} of {n} in {:.1}s (helm {at_once} at once, {workers} workers)",
        totals.len(),
        all_ready.as_secs_f64()
    );
    let helm_median = pct(&helm, 50.0);
    println!(
        "  bound (helm median x {n} / {at_once}): {:.1}s; all Ready took {:.2}x that",
        helm_median * n as f64 / f64::from(at_once) / 1000.0,
        all_ready.as_secs_f64() * 1000.0 / (helm_median * n as f64 / f64::from(at_once))
    );
    println!(
        "pod Ready -> store Ready: median {:.1} ms, p95 {:.1} ms (n={})",
        pct(&lat, 50.0),
        pct(&lat, 95.0),
        lat.len()
    );
    println!(
        "provision total:          median {:.0} ms, p95 {:.0} ms",
        pct(&totals, 50.0),
        pct(&totals, 95.0)
    );
    println!(
        "  of which helm:          median {:.0} ms",
        pct(&helm, 50.0)
    );
    println!(
        "Store Weaver overhead:    median {:.0} ms, p95 {:.0} ms (total - helm - waiting for Kubernetes)",
        pct(&overhead, 50.0),
        pct(&overhead, 95.0)
    );

    cpu_used.print(all_ready);

    for id in &ids {
        engine::delete(&pool, &actor, *id, None).await?;
    }
    for id in &ids {
        // Settled either way (a delete can fail, e.g. with the API server
        // restarted by another test): the database is dropped below.
        store_weaver::runtime::wait_for_store(&pool, *id, Duration::from_secs(600), |s| {
            !s.status.is_busy()
        })
        .await?;
    }
    pool_of_workers.shutdown().await;
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db_name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    Ok(())
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let idx = ((p / 100.0) * (s.len() - 1) as f64).round() as usize;
    s[idx.min(s.len() - 1)]
}

/// CPU time from /proc, in seconds: what each part of the machine spent.
mod cpu {
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// Clock ticks per second on Linux (`getconf CLK_TCK`).
    const TICKS: f64 = 100.0;
    const CONTROL_PLANE: [&str; 5] = [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ];

    pub struct Snapshot {
        parts: BTreeMap<&'static str, f64>,
        machine_busy: f64,
    }

    /// utime, stime, cutime, cstime of a process (fields 14-17).
    fn times(pid: &str) -> Option<[f64; 4]> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces: fields count from its ')'.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<f64> = rest
            .split(' ')
            .skip(11)
            .take(4)
            .filter_map(|v| v.parse().ok())
            .collect();
        (f.len() == 4).then(|| [f[0], f[1], f[2], f[3]])
    }

    fn comm(pid: &str) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default()
    }

    impl Snapshot {
        pub fn take() -> Snapshot {
            let mut parts = BTreeMap::new();
            if let Some(t) = times("self") {
                parts.insert("store-weaver (this process)", (t[0] + t[1]) / TICKS);
                parts.insert("helm (its child processes)", (t[2] + t[3]) / TICKS);
            }
            let run = std::env::var("KUBECONFIG")
                .ok()
                .and_then(|k| std::path::Path::new(&k).parent().map(|d| d.join("run")));
            for name in CONTROL_PLANE {
                let pid = run
                    .as_ref()
                    .and_then(|r| std::fs::read_to_string(r.join(format!("{name}.pid"))).ok());
                if let Some(t) = pid.and_then(|p| times(p.trim())) {
                    parts.insert(name, (t[0] + t[1]) / TICKS);
                }
            }
            // Every postgres process, and what the postmaster reaped (the
            // backends that ended).
            let mut pg = 0.0;
            let mut oldest: Option<(u64, [f64; 4])> = None;
            for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Ok(pid) = name.parse::<u64>() else {
                    continue;
                };
                if comm(&name).trim() != "postgres" {
                    continue;
                }
                if let Some(t) = times(&name) {
                    pg += t[0] + t[1];
                    if oldest.is_none_or(|(p, _)| pid < p) {
                        oldest = Some((pid, t));
                    }
                }
            }
            if let Some((_, t)) = oldest {
                pg += t[2] + t[3];
            }
            parts.insert("postgresql", pg / TICKS);
            let machine_busy = std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| {
                    let line = s.lines().next()?.to_string();
                    let v: Vec<f64> = line
                        .split_whitespace()
                        .skip(1)
                        .filter_map(|x| x.parse().ok())
                        .collect();
                    // user nice system idle iowait irq softirq steal
                    (v.len() >= 8).then(|| v[0] + v[1] + v[2] + v[5] + v[6] + v[7])
                })
                .unwrap_or(0.0)
                / TICKS;
            Snapshot {
                parts,
                machine_busy,
            }
        }

        pub fn since(&self, before: &Snapshot) -> Snapshot {
            let parts = self
                .parts
                .iter()
                .map(|(k, v)| (*k, v - before.parts.get(k).copied().unwrap_or(0.0)))
                .collect();
            Snapshot {
                parts,
                machine_busy: self.machine_busy - before.machine_busy,
            }
        }

        pub fn print(&self, took: Duration) {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let available = took.as_secs_f64() * cores as f64;
            println!(
                "CPU until all Ready: {:.0} s busy of {:.0} s ({cores} cores x {:.1} s), {:.0}%",
                self.machine_busy,
                available,
                took.as_secs_f64(),
                100.0 * self.machine_busy / available.max(f64::EPSILON)
            );
            let mut parts: Vec<_> = self.parts.iter().collect();
            parts.sort_by(|a, b| b.1.total_cmp(a.1));
            let named: f64 = parts.iter().map(|(_, v)| **v).sum();
            for (name, secs) in parts {
                println!("  {name:<28} {secs:>7.1} s");
            }
            println!(
                "  {:<28} {:>7.1} s",
                "everything else",
                self.machine_busy - named
            );
        }
    }
}
