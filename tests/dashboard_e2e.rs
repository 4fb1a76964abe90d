//! The web dashboard end to end, in a real headless Chromium: the real
//! `store-weaver --serve` binary (password sign-in) against the local sandbox
//! (PostgreSQL + the kwok cluster), driven by `dashboard/e2e/run.mjs`
//! (playwright-core with Debian's `chromium`). Sign in, create a store (with a
//! validation error first), see it become Ready over the event stream without
//! reloading, open its detail, reveal its credentials, delete it, sign out.
//! The run writes the dashboard screenshots into `screenshots/`.
//!
//! Needs `DATABASE_URL` and `KUBECONFIG` (`scripts/test` exports them from the
//! sandbox), `node` and `chromium` (`scripts/install-deps.sh`). Builds the
//! dashboard first with `scripts/build-dashboard.sh --no-test` (a no-op when
//! nothing changed), which also installs playwright-core.

mod common;

use common::{TestDb, repo, require_env};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_store-weaver");
const EMAIL: &str = "e2e-dashboard@example.com";
const ADMIN_EMAIL: &str = "e2e-operator@example.com";
/// The browser run's own limit (it has its own, shorter, per-step timeouts).
const NODE_TIMEOUT: Duration = Duration::from_secs(600);
const SCREENSHOTS: [&str; 7] = [
    "dashboard-sign-in.png",
    "dashboard-stores.png",
    "dashboard-create-validation.png",
    "dashboard-store-detail.png",
    "dashboard-delete-confirm.png",
    "dashboard-phone.png",
    "dashboard-admin.png",
];

/// The `store-weaver --serve` process; stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port on 127.0.0.1")
        .port()
}

/// The status code of a plain `GET path` to 127.0.0.1:port, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1)?.parse().ok()
}

fn common_flags(db_url: &str) -> Vec<String> {
    let charts = repo("tests/fixtures/charts");
    vec![
        "--database-url".into(),
        db_url.into(),
        "--kubeconfig".into(),
        require_env("KUBECONFIG"),
        "--charts-dir".into(),
        charts.display().to_string(),
        "--values-file".into(),
        charts.join("woocommerce/values.yaml").display().to_string(),
    ]
}

/// `store-weaver user add EMAIL --role ROLE`, the password on stdin.
fn add_user(db_url: &str, email: &str, role: &str, password: &str) {
    let mut add = Command::new(BIN)
        .args(["user", "add", email, "--role", role])
        .args(common_flags(db_url))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run store-weaver user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let added = add.wait_with_output().expect("user add finishes");
    assert!(
        added.status.success(),
        "store-weaver user add {email} failed ({}):\n{}{}",
        added.status,
        String::from_utf8_lossy(&added.stdout),
        String::from_utf8_lossy(&added.stderr)
    );
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
        .unwrap_or(false)
}

/// Runs `cmd`, killing it after `timeout`; returns (success, combined output).
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String) {
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = cmd
        .stdout(out.reopen().expect("reopen"))
        .stderr(out.reopen().expect("reopen"))
        .stdin(Stdio::null())
        .spawn()
        .expect("start the command");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(out.path()).unwrap_or_default();
    match status {
        Some(st) => (st.success(), text),
        None => (false, format!("{text}\n(killed after {timeout:?})")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_sign_in_create_ready_detail_delete_sign_out() {
    let kubeconfig = require_env("KUBECONFIG");
    assert!(
        Path::new(&kubeconfig).exists(),
        "KUBECONFIG={kubeconfig} does not exist: is the sandbox up (scripts/sandbox up)?"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: the dashboard end-to-end test drives Debian's chromium \
         (apt-get install chromium; scripts/install-deps.sh does it)"
    );
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is missing: the dashboard end-to-end test needs Node.js >= 20.19"
    );

    // The dashboard (dist, and node_modules with playwright-core).
    let (ok, out) = run_with_timeout(
        {
            let mut c = Command::new(repo("scripts/build-dashboard.sh"));
            c.arg("--no-test");
            c
        },
        Duration::from_secs(600),
    );
    assert!(ok, "scripts/build-dashboard.sh --no-test failed:\n{out}");

    let db = TestDb::unmigrated().await;
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());

    // The users, created the way an operator does: password on stdin.
    let admin_password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    add_user(&db.url, EMAIL, "user", &password);
    add_user(&db.url, ADMIN_EMAIL, "admin", &admin_password);

    // The server.
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("serve.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let port = free_port();
    let child = Command::new(BIN)
        .arg("--serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(common_flags(&db.url))
        .args(["--workers", "2", "--auth", "password", "--lease", "5"])
        // One store per user: the run checks that a second one is refused.
        .args(["--max-stores-per-user", "1"])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("start store-weaver --serve");
    let mut server = Server { child, log };
    let started = Instant::now();
    loop {
        if http_status(port, "/readyz") == Some(200) {
            break;
        }
        if let Ok(Some(st)) = server.child.try_wait() {
            panic!(
                "store-weaver --serve exited ({st}) before it was ready:\n{}",
                server.log_tail(60)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "store-weaver --serve was not ready (GET /readyz) within 60s:\n{}",
            server.log_tail(60)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "store-weaver --serve ready on 127.0.0.1:{port} after {:?}",
        started.elapsed()
    );

    // The browser.
    let shots = repo("screenshots");
    let run_started = SystemTime::now();
    let mut node = Command::new("node");
    node.current_dir(repo("dashboard"))
        .arg("e2e/run.mjs")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(EMAIL)
        .arg(&password)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("E2E_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("E2E_ADMIN_PASSWORD", &admin_password)
        .env("E2E_MAX_STORES_PER_USER", "1");
    let (ok, out) = run_with_timeout(node, NODE_TIMEOUT);
    eprintln!("{out}");
    if !ok {
        let tail = server.log_tail(80);
        // Leave nothing behind in the cluster: delete what the run created.
        let _ = Command::new(BIN)
            .args(["store", "list", "--json"])
            .args(common_flags(&db.url))
            .output()
            .map(|o| {
                let list: serde_json::Value =
                    serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
                for s in list.as_array().into_iter().flatten() {
                    if let Some(id) = s.get("id").and_then(|v| v.as_str()) {
                        let _ = Command::new(BIN)
                            .args(["store", "delete", id, "--wait"])
                            .args(common_flags(&db.url))
                            .output();
                    }
                }
            });
        drop(server);
        db.drop_db().await;
        panic!(
            "the browser end-to-end run failed (see its output above).\nserver log (last lines):\n{tail}"
        );
    }
    drop(server);
    db.drop_db().await;

    for name in SCREENSHOTS {
        let path = shots.join(name);
        assert!(is_png(&path), "{} is missing or not a PNG", path.display());
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert!(
            written >= run_started,
            "{} was not written by this run",
            path.display()
        );
    }
}

/// The backup key of the backups test's server (a test key, given in its
/// environment, never as an argument).
const BACKUP_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Why the seeded newest drill failed, as a drill words it.
const DRILL_FAILED: &str =
    "the throwaway store did not become ready: orders counted 1, the backup holds 2";

/// Signs in through the API; the session token for a bearer header.
async fn api_token(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let r = http
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("POST /api/session");
    assert_eq!(r.status(), 201, "sign-in failed");
    let body: serde_json::Value = r.json().await.expect("session JSON");
    body["token"].as_str().expect("a token").to_string()
}

/// A backup row as a backup leaves it, on the store's newest operation:
/// `state` complete (with a manifest) or failed, finished `age_hours` ago,
/// kept `keep_days` (None: no expiry). Kwok pods run nothing, so the
/// dashboard's display is tested on the rows a real backup writes
/// (tests/backups.rs runs real ones on the real node).
async fn insert_backup(
    pool: &sqlx::PgPool,
    store: uuid::Uuid,
    reason: &str,
    state: &str,
    age_hours: i32,
    keep_days: Option<i32>,
) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    let op: i64 = sqlx::query_scalar(
        "SELECT id FROM operations WHERE store_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(store)
    .fetch_one(pool)
    .await
    .expect("the store's operation");
    let manifest = serde_json::json!({
        "format": 1, "backup_id": id, "store_id": store, "store_name": "x",
        "namespace": "store-x", "host": "x.localhost", "engine": "woocommerce",
        "chart_version": null, "helm_revision": null, "settings": {},
        // Sealed with the server's key, as a real backup is: a clone from it is accepted.
        "key_id": store_weaver::backup::BackupKey::from_base64(BACKUP_KEY).expect("the test key").id(),
        "reason": reason, "requested_by": EMAIL,
        "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:01:00Z",
        "parts": [{"name": "database", "object": "database.sealed", "bytes": 4216, "plain_bytes": 9000, "sha256": "11"}],
        "counts": {"orders": 2}
    });
    let complete = state == "complete";
    sqlx::query(
        "INSERT INTO backups (id, store_id, operation_id, reason, state, engine, bytes, \
         manifest, error, requested_by, started_at, finished_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, 'woocommerce', $6, $7, $8, $9, \
         now() - make_interval(hours => $10) - interval '1 minute', \
         now() - make_interval(hours => $10), now() + make_interval(days => $11))",
    )
    .bind(id)
    .bind(store)
    .bind(op)
    .bind(reason)
    .bind(state)
    .bind(if complete { 4216_i64 } else { 0 })
    .bind(complete.then_some(sqlx::types::Json(manifest)))
    .bind((!complete).then_some("the bucket went away mid-way"))
    .bind(EMAIL)
    .bind(age_hours)
    .bind(keep_days)
    .execute(pool)
    .await
    .expect("insert a backup row");
    id
}

/// A finished drill row as a drill leaves it: `outcome` passed or failed,
/// checked `age_hours` ago (a drill restores into a throwaway store that
/// kwok's pods cannot run; tests/drills.rs runs real ones on the real node).
async fn insert_drill(
    pool: &sqlx::PgPool,
    store: uuid::Uuid,
    backup: uuid::Uuid,
    reason: &str,
    outcome: &str,
    age_hours: i32,
    detail: &str,
) {
    sqlx::query(
        "INSERT INTO drills (id, store_id, reason, phase, outcome, backup_id, detail, requested_by, \
         created_at, started_at, checked_at, finished_at) \
         VALUES ($1, $2, $3, 'done', $4, $5, $6, 'e2e', \
         now() - make_interval(hours => $7) - interval '100 seconds', \
         now() - make_interval(hours => $7) - interval '96 seconds', \
         now() - make_interval(hours => $7), now() - make_interval(hours => $7) + interval '30 seconds')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(store)
    .bind(reason)
    .bind(outcome)
    .bind(backup)
    .bind(detail)
    .bind(age_hours)
    .execute(pool)
    .await
    .expect("insert a drill row");
}

/// Backups in the dashboard (issue 30), in a real Chromium against the real
/// server with backups configured and no workers of its own: stores are
/// taken to Ready (and one to Deleted) by workers in this process, which
/// then stop, so what the dashboard's buttons queue stays queued and is
/// checked here in the ledger: the restore of the named backup (the store
/// Restoring), a backup, and the undelete's provision; and the schedule set
/// to every 6 h in the form, stored and audited. Restore drills: seeded
/// rows (a passed one 49 h ago, a failed one since) show as "2 days ago",
/// flagged with the reason; Run a drill queues a real drill (kept queued:
/// no workers), a second is refused (409), a store without a complete
/// backup is refused (422). Clone: a taken name is refused next to the
/// field, then a clone is made (Provisioning, queued).
#[tokio::test(flavor = "multi_thread")]
async fn dashboard_backups_restore_delete_confirmation_and_undelete() {
    use store_weaver::db::operations::{self, Kind};
    use store_weaver::store::Status;
    let kubeconfig = require_env("KUBECONFIG");
    assert!(
        Path::new(&kubeconfig).exists(),
        "KUBECONFIG={kubeconfig} does not exist: is the sandbox up (scripts/sandbox up)?"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing (apt-get install chromium; scripts/install-deps.sh does it)"
    );
    let (ok, out) = run_with_timeout(
        {
            let mut c = Command::new(repo("scripts/build-dashboard.sh"));
            c.arg("--no-test");
            c
        },
        Duration::from_secs(600),
    );
    assert!(ok, "scripts/build-dashboard.sh --no-test failed:\n{out}");

    let db = TestDb::unmigrated().await;
    let email = format!(
        "e2e-backups-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    add_user(&db.url, &email, "user", &password);

    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("serve.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let port = free_port();
    let child = Command::new(BIN)
        .arg("--serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(common_flags(&db.url))
        .args(["--workers", "0", "--auth", "password", "--lease", "5"])
        .args(["--backup-bucket", &require_env("SANDBOX_S3_BUCKET")])
        .args(["--backup-endpoint", &require_env("SANDBOX_S3_ENDPOINT")])
        .args(["--backup-keep-deleted-days", "7"])
        // A secret: never an argument.
        .env("STORE_WEAVER_BACKUP_KEY", BACKUP_KEY)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("start store-weaver --serve");
    let mut server = Server { child, log };
    let started = Instant::now();
    while http_status(port, "/readyz") != Some(200) {
        if let Ok(Some(st)) = server.child.try_wait() {
            panic!(
                "store-weaver --serve exited ({st}):\n{}",
                server.log_tail(60)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "store-weaver --serve was not ready within 60s:\n{}",
            server.log_tail(60)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The stores, through the API as the user.
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let token = api_token(&http, &base, &email, &password).await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let create = |name: String| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let r = http
                .post(format!("{base}/api/stores"))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "name": name }))
                .send()
                .await
                .expect("POST /api/stores");
            assert_eq!(r.status(), 201, "create {name}");
            let body: serde_json::Value = r.json().await.expect("store JSON");
            let id: uuid::Uuid = body["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id");
            (id, name)
        }
    };
    let (kept, kept_name) = create(format!("Kept {suffix}")).await;
    let (stale, stale_name) = create(format!("Stale {suffix}")).await;
    let (gone, gone_name) = create(format!("Gone {suffix}")).await;
    // Deleted before it was ever Ready: no namespace work left behind.
    let r = http
        .delete(format!("{base}/api/stores/{gone}?no_backup=true"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 202);
    let s = common::settings(&db.url, "tests/fixtures/charts", &[]);
    let workers = common::workers(&s, &db, 2).await;
    for (id, want) in [
        (kept, Status::Ready),
        (stale, Status::Ready),
        (gone, Status::Deleted),
    ] {
        let st = common::settle(&db, id, 240).await;
        assert_eq!(st.status, want, "{st:?}");
    }
    workers.shutdown().await;

    let kept_backup = insert_backup(&db.pool, kept, "manual", "complete", 2, None).await;
    insert_backup(&db.pool, kept, "manual", "failed", 1, None).await;
    insert_backup(&db.pool, gone, "final", "complete", 0, Some(7)).await;
    insert_drill(
        &db.pool,
        kept,
        kept_backup,
        "scheduled",
        "passed",
        49,
        "restored in 96s; the store became ready, and holds what the backup holds (2 orders)",
    )
    .await;
    insert_drill(
        &db.pool,
        kept,
        kept_backup,
        "manual",
        "failed",
        1,
        DRILL_FAILED,
    )
    .await;
    let clone_name = format!("Clone {suffix}");

    let shots = repo("screenshots");
    let run_started = SystemTime::now();
    let mut node = Command::new("node");
    node.current_dir(repo("dashboard"))
        .arg("e2e/backups.mjs")
        .arg(&base)
        .arg(&email)
        .arg(&password)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("E2E_KEPT", &kept_name)
        .env("E2E_STALE", &stale_name)
        .env("E2E_GONE", &gone_name)
        .env("E2E_KEPT_BACKUP", kept_backup.to_string())
        .env("E2E_DRILL_FAILED", DRILL_FAILED)
        .env("E2E_CLONE", &clone_name);
    let (ok, out) = run_with_timeout(node, NODE_TIMEOUT);
    eprintln!("{out}");
    let tail = server.log_tail(60);
    drop(server);

    // What the buttons queued, in the ledger.
    let queued = |id| {
        let pool = db.pool.clone();
        async move {
            operations::active_for(&pool, id)
                .await
                .expect("read the ledger")
        }
    };
    let restore = queued(kept).await;
    let backup = queued(stale).await;
    let undelete = queued(gone).await;
    // What the schedule form saved, and its audit entry (the refused 9000 h
    // changed nothing and is not audited).
    let every_hours: Option<i32> =
        sqlx::query_scalar("SELECT backup_every_hours FROM stores WHERE id = $1")
            .bind(kept)
            .fetch_one(&db.pool)
            .await
            .expect("read the store's interval");
    let schedule_audit: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT actor, via, outcome, detail FROM audit_log \
         WHERE store_id = $1 AND action = 'store.backup-schedule' ORDER BY id",
    )
    .bind(kept)
    .fetch_all(&db.pool)
    .await
    .expect("read the audit log");

    // The drill Run a drill queued (the second was refused), and none of
    // the store without a complete backup.
    let open_drills: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
        "SELECT store_id, reason, requested_by FROM drills WHERE phase <> 'done' ORDER BY created_at",
    )
    .fetch_all(&db.pool)
    .await
    .expect("read the drills");
    // The clone the form made: the user's, from the store's backup.
    let clone: Option<(uuid::Uuid, String, String)> =
        sqlx::query_as("SELECT id, owner, status FROM stores WHERE name = $1")
            .bind(&clone_name)
            .fetch_optional(&db.pool)
            .await
            .expect("read the clone");
    let clone_op = match &clone {
        Some((id, ..)) => queued(*id).await,
        None => None,
    };

    // Leave nothing in the cluster: the two stores' namespaces (the
    // undeleted one never got one: no worker ran its provision).
    let client = store_weaver::cluster::client(&s)
        .await
        .expect("cluster client");
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    for id in [kept, stale] {
        if let Ok(Some(st)) = store_weaver::db::stores::get(&db.pool, id).await {
            let _ = namespaces
                .delete(&st.namespace, &kube::api::DeleteParams::default())
                .await;
        }
    }
    db.drop_db().await;
    assert!(
        ok,
        "the browser run failed (see its output above).\nserver log:\n{tail}"
    );

    let restore = restore.expect("the restore queued an operation");
    assert_eq!(restore.kind, Kind::Restore, "{restore:?}");
    assert_eq!(restore.params.restore, Some(kept_backup), "{restore:?}");
    let backup = backup.expect("Back up now queued an operation");
    assert_eq!(backup.kind, Kind::Backup, "{backup:?}");
    let undelete = undelete.expect("the undelete queued an operation");
    assert_eq!(undelete.kind, Kind::Provision, "{undelete:?}");
    assert_eq!(every_hours, Some(6), "the store's own backup interval");
    assert_eq!(
        open_drills,
        [(kept, "manual".to_string(), email.clone())],
        "the drills under way"
    );
    let (_, owner, status) = clone.expect("the clone's store row");
    assert_eq!(
        (owner.as_str(), status.as_str()),
        (email.as_str(), "Provisioning")
    );
    let clone_op = clone_op.expect("the clone queued its provision");
    assert_eq!(clone_op.kind, Kind::Provision, "{clone_op:?}");
    assert_eq!(
        schedule_audit,
        [(
            email.clone(),
            "api".to_string(),
            "ok".to_string(),
            Some("every 6 h (was the fleet's)".to_string()),
        )],
        "the schedule's audit entries"
    );

    for name in [
        "dashboard-backups.png",
        "dashboard-backup-schedule.png",
        "dashboard-delete-backup.png",
        "dashboard-recently-deleted.png",
        "dashboard-drills.png",
        "dashboard-clone.png",
    ] {
        let path = shots.join(name);
        assert!(is_png(&path), "{} is missing or not a PNG", path.display());
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert!(
            written >= run_started,
            "{} was not written by this run",
            path.display()
        );
    }
}
