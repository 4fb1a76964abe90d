//! Shared test harness: the real sandbox services (PostgreSQL, the API
//! server, helm) from the environment that `scripts/test` exports, a fresh
//! database per test, and settings built without reading this process's
//! environment.
#![allow(dead_code)]

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

/// A database of its own, dropped when the test is done with it.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    admin_url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
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
            .expect("create the test database");
        admin.close().await;
        let url = replace_db(&admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .connect(&url)
            .await
            .expect("connect to the test database");
        store_weaver::db::migrate(&pool)
            .await
            .expect("migrations apply");
        TestDb {
            name,
            url,
            pool,
            admin_url,
        }
    }

    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(admin) = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.admin_url)
            .await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&admin)
            .await;
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
        repo(charts_dir)
            .join("woocommerce/values.yaml")
            .display()
            .to_string(),
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

fn kubectl_out(args: &[&str]) -> String {
    let out = std::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("kubectl (PATH from scripts/sandbox env)");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A kubeconfig in `dir` that authenticates with the platform service
/// account's own token (config/rbac.yaml applied first), for least-privilege
/// tests.
pub fn service_account_kubeconfig(dir: &std::path::Path) -> PathBuf {
    kubectl_out(&["apply", "-f", repo("config/rbac.yaml").to_str().unwrap()]);
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
