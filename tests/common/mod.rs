//! Shared test harness: the real sandbox services (PostgreSQL, the API
//! server, helm) from the environment that `scripts/test` exports, a fresh
//! database per test, and settings built without reading this process's
//! environment.
#![allow(dead_code)]

pub mod partition;
pub mod real;
pub mod s3;
pub mod tools;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use store_weaver::config::{Layers, Settings};

pub fn require_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the local sandbox; run them with scripts/test (or `source <(scripts/sandbox env)` after `scripts/sandbox up`)")
    })
}

pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A database of its own for one test. `drop_db` ends it; if the test
/// fails (or forgets) first, `Drop` does the same: the namespaces of stores
/// still live in it are deleted from the cluster (chosen by this database's
/// store ids, never by name), then the database is dropped. So a failed test
/// leaks neither a database nor namespaces.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    admin_url: String,
    done: bool,
}

impl TestDb {
    /// A migrated database.
    pub async fn new() -> TestDb {
        TestDb::create(true).await
    }

    /// An empty database, for tests whose binary migrates it on its first
    /// start (the console, `--serve`).
    pub async fn unmigrated() -> TestDb {
        TestDb::create(false).await
    }

    async fn create(migrate: bool) -> TestDb {
        let admin_url = require_env("DATABASE_URL");
        let name = format!("sw_test_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url)
            .await
            .expect("connect to the sandbox PostgreSQL (DATABASE_URL)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create the test database (the DATABASE_URL role needs CREATEDB)");
        admin.close().await;
        let url = replace_db(&admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .connect(&url)
            .await
            .expect("connect to the test database");
        if migrate {
            store_weaver::db::migrate(&pool)
                .await
                .expect("migrations apply");
        }
        TestDb {
            name,
            url,
            pool,
            admin_url,
            done: false,
        }
    }

    pub async fn drop_db(mut self) {
        self.done = true;
        self.pool.close().await;
        clean_up(&self.admin_url, &self.name, &self.url).await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The test's runtime may be unwinding: clean up on a runtime of our own.
        let (admin, name, url) = (self.admin_url.clone(), self.name.clone(), self.url.clone());
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(clean_up(&admin, &name, &url));
            }
        });
        let _ = cleanup.join();
    }
}

/// Deletes the namespaces of the database's live stores (without waiting:
/// the controller manager removes them), then the database.
async fn clean_up(admin_url: &str, name: &str, url: &str) {
    if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(url).await {
        let live: Vec<(uuid::Uuid,)> =
            sqlx::query_as("SELECT id FROM stores WHERE status <> 'Deleted'")
                .fetch_all(&pool)
                .await
                .unwrap_or_default();
        pool.close().await;
        if !live.is_empty() && std::env::var_os("KUBECONFIG").is_some() {
            delete_store_namespaces(live.iter().map(|(id,)| id.to_string()).collect()).await;
        }
    }
    if let Ok(admin) = PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
    {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
    }
}

async fn delete_store_namespaces(ids: Vec<String>) {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, DeleteParams, ListParams};
    let api: Api<Namespace> = Api::all(kube().await);
    for chunk in ids.chunks(50) {
        let selector = format!(
            "{} in ({})",
            store_weaver::cluster::STORE_ID_LABEL,
            chunk.join(",")
        );
        let Ok(list) = api.list(&ListParams::default().labels(&selector)).await else {
            continue;
        };
        for ns in list.items {
            if let Some(n) = ns.metadata.name {
                let _ = api.delete(&n, &DeleteParams::background()).await;
            }
        }
    }
}

pub fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = base.rfind('/').expect("DATABASE_URL has a database path");
    let mut out = format!("{}/{db}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Settings for a test: the sandbox's kubeconfig, this test's database, the
/// given chart directory, plus overrides (config key -> value).
pub fn settings(db_url: &str, charts_dir: &str, overrides: &[(&'static str, &str)]) -> Settings {
    let mut flags: BTreeMap<&'static str, String> = BTreeMap::new();
    flags.insert("database_url", db_url.to_string());
    flags.insert("kubeconfig", require_env("KUBECONFIG"));
    flags.insert("charts_dir", repo(charts_dir).display().to_string());
    flags.insert(
        "values_file",
        format!(
            "woocommerce={}",
            repo(charts_dir).join("woocommerce/values.yaml").display()
        ),
    );
    flags.insert("lease_secs", "5".into());
    flags.insert("provision_timeout_secs", "120".into());
    flags.insert("delete_timeout_secs", "120".into());
    for (k, v) in overrides {
        flags.insert(k, v.to_string());
    }
    Settings::resolve(&Layers {
        file: None,
        env: BTreeMap::new(),
        flags,
    })
    .expect("test settings are valid")
}

pub async fn kube() -> kube::Client {
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "tests/fixtures/charts",
        &[],
    );
    store_weaver::cluster::client(&s)
        .await
        .expect("kube client")
}

/// Sends this process's own log (the engine's workers, the API server in
/// the test's process) to the test's captured output: shown when a test
/// fails, so a timeout says what the workers were doing.
pub fn log_to_test_output() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("store_weaver=info")
        .with_test_writer()
        .try_init();
}

/// Polls `f` until it returns Some, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The store's newest operation once it has ended (or a panic after
/// `secs`).
pub async fn operation_end(
    db: &TestDb,
    id: uuid::Uuid,
    secs: u64,
) -> store_weaver::db::operations::Operation {
    use store_weaver::db::operations::{self, State};
    eventually(Duration::from_secs(secs), "the operation ends", || async {
        let ops = operations::for_store(&db.pool, id).await.ok()?;
        let op = ops.into_iter().last()?;
        (!matches!(op.state, State::Queued | State::Running)).then_some(op)
    })
    .await
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix} {}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A TCP proxy in front of a service (PostgreSQL) that a test can cut: the
/// connections through it are dropped and new ones refused, as when a
/// worker's network link to the database fails.
pub struct CuttableProxy {
    pub addr: std::net::SocketAddr,
    cut: tokio_util::sync::CancellationToken,
}

impl CuttableProxy {
    pub async fn start(target: std::net::SocketAddr) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let cut = tokio_util::sync::CancellationToken::new();
        let stop = cut.clone();
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    _ = stop.cancelled() => return, // drops the listener: refused
                    accepted = listener.accept() => match accepted {
                        Ok(c) => c,
                        Err(_) => continue,
                    },
                };
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        CuttableProxy { addr, cut }
    }

    /// The same URL, through the proxy.
    pub fn url_through(&self, url: &str) -> String {
        let at = url.rfind('@').expect("URL has user@host");
        let rest = &url[at + 1..];
        let slash = rest.find('/').expect("URL has a database path");
        format!("{}@{}{}", &url[..at], self.addr, &rest[slash..])
    }

    pub fn cut(&self) {
        self.cut.cancel();
    }
}

/// The host:port of a PostgreSQL URL.
pub fn url_addr(url: &str) -> std::net::SocketAddr {
    use std::net::ToSocketAddrs;
    let at = url.rfind('@').map_or(0, |i| i + 1);
    let rest = &url[at..];
    let end = rest.find('/').unwrap_or(rest.len());
    rest[..end]
        .to_socket_addrs()
        .expect("resolve the database address")
        .next()
        .expect("an address")
}

use tools::kubectl_out;

/// Applies config/rbac.yaml. Tests running at once apply it at once, and
/// two clients creating the same object race ("already exists"): the loser
/// tries again, when the object is there.
pub fn apply_rbac() {
    let file = repo("config/rbac.yaml");
    let mut last = None;
    for _ in 0..5 {
        let out = tools::kubectl(&["apply", "-f", file.to_str().unwrap()], None);
        if out.status.success() {
            return;
        }
        last = Some(out);
    }
    tools::must(last.expect("tried"), "kubectl apply -f config/rbac.yaml");
}

/// A kubeconfig in `dir` that authenticates with the platform service
/// account's own token (config/rbac.yaml applied first), for least-privilege
/// tests.
pub fn service_account_kubeconfig(dir: &std::path::Path) -> PathBuf {
    apply_rbac();
    let token = kubectl_out(&[
        "create",
        "token",
        "store-weaver",
        "-n",
        "store-weaver-system",
        "--duration",
        "1h",
    ]);
    let admin = kube::config::Kubeconfig::read_from(require_env("KUBECONFIG")).unwrap();
    let cluster = admin.clusters[0].cluster.clone().unwrap();
    let kc = dir.join("sa-kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: store-weaver\n  user:\n    token: {}\ncontexts:\n- name: sa\n  context: {{cluster: sandbox, user: store-weaver}}\ncurrent-context: sa\n",
            cluster.server.unwrap(),
            cluster.certificate_authority_data.unwrap(),
            token.trim()
        ),
    )
    .unwrap();
    kc
}

/// A pool of in-process workers with a cluster view of their own, as a
/// process started with `settings` would run them.
pub async fn workers(settings: &Settings, db: &TestDb, n: u32) -> store_weaver::engine::WorkerPool {
    log_to_test_output();
    let client = store_weaver::cluster::client(settings).await.unwrap();
    // Watches are quiet for long stretches: the view gets the client without
    // a read timeout, as the runtime gives it (else it flaps every 30 s and
    // the workers, which take no work while it is disconnected, stall).
    let streaming = store_weaver::cluster::streaming_client(settings)
        .await
        .unwrap();
    let view = store_weaver::cluster::view::ClusterView::start(streaming);
    store_weaver::engine::WorkerPool::start(store_weaver::engine::WorkerPoolConfig {
        workers: n,
        engine: std::sync::Arc::new(store_weaver::engine::EngineConfig::from_settings(settings)),
        pool: db.pool.clone(),
        client,
        view,
    })
}

/// The store once no operation is busy with it (Ready, Failed, Deleted...).
pub async fn settle(db: &TestDb, id: uuid::Uuid, secs: u64) -> store_weaver::store::Store {
    store_weaver::runtime::wait_for_store(&db.pool, id, Duration::from_secs(secs), |s| {
        !s.status.is_busy()
    })
    .await
    .expect("the store settles")
}

/// The real binary with the sandbox's cluster and this database, no config
/// file. Settings come first: everything after `--` belongs to the command.
pub fn sw(db_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args([
            "--database-url",
            db_url,
            "--kubeconfig",
            &require_env("KUBECONFIG"),
        ])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .expect("run store-weaver")
}

/// Waits until the namespace is gone from the API server (its finalizers done).
pub async fn namespace_gone(ns: &str, secs: u64) {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(kube().await);
    let ns = ns.to_string();
    eventually(
        Duration::from_secs(secs),
        &format!("namespace {ns} gone"),
        || {
            let api = api.clone();
            let ns = ns.clone();
            async move { api.get_opt(&ns).await.unwrap().is_none().then_some(()) }
        },
    )
    .await;
}
