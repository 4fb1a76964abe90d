//! Issue 27 (16): a worker SIGKILLed while helm runs used to leave its helm
//! child running (installing with what may by then be stale values, racing
//! the worker that resumes the operation) and its values file behind. helm
//! now runs in a process group of its own, recorded with its values file;
//! the next Store Weaver process to start kills what a dead one left and
//! removes its files.
//!
//! The helm here is a stand-in for a slow `helm upgrade --install` (it
//! records its pid and arguments, then sleeps); every other helm command is
//! the real helm.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn_worker(db_url: &str, fake_helm: &Path, dir: &Path, log: &str) -> Child {
    let log_file = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .arg("worker")
        .args(["--database-url", db_url])
        .args(["--kubeconfig", &require_env("KUBECONFIG")])
        .args([
            "--charts-dir",
            repo("tests/fixtures/charts").to_str().unwrap(),
        ])
        .args([
            "--values-file",
            repo("tests/fixtures/charts/woocommerce/values.yaml")
                .to_str()
                .unwrap(),
        ])
        .args(["--helm", fake_helm.to_str().unwrap()])
        .args(["--lease", "5", "--workers", "1"])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .env("SW_FAKE_HELM_DIR", dir)
        .env("SW_REAL_HELM", common::tools::helm_bin())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start a worker process")
}

fn alive(pid: u32) -> bool {
    // A zombie has been killed: only its parent (init) has yet to reap it.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// The process group of `pid` (field 5 of /proc/<pid>/stat).
fn pgid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[tokio::test]
async fn a_killed_workers_helm_and_values_file_are_cleaned_up_by_the_next_start() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("helm");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = upgrade ]; then\n  printf '%s\\n' \"$@\" > \"$SW_FAKE_HELM_DIR/args.tmp\"\n  mv \"$SW_FAKE_HELM_DIR/args.tmp\" \"$SW_FAKE_HELM_DIR/args\"\n  echo $$ > \"$SW_FAKE_HELM_DIR/pid\"\n  exec sleep 300\nfi\nexec \"$SW_REAL_HELM\" \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut first = spawn_worker(&db.url, &fake, dir.path(), "first.log");
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    store_weaver::engine::create(
        &db.pool,
        store_weaver::runtime::limits(&s),
        &store_weaver::runtime::naming(&s),
        &store_weaver::store::Actor::new("tester", store_weaver::store::Via::Cli),
        &store_weaver::engine::CreateRequest {
            name: unique("Leftovers"),
            owner: "leftovers@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let pid_file = dir.path().join("pid");
    let mut helm_pid = None;
    for _ in 0..600 {
        if let Ok(Some(status)) = first.try_wait() {
            panic!(
                "the worker ended ({status}):\n{}",
                std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default()
            );
        }
        helm_pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if helm_pid.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let helm_pid = helm_pid.unwrap_or_else(|| {
        panic!(
            "helm upgrade did not start within 120 s; the worker said:\n{}",
            std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default()
        )
    });
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    let values: PathBuf = args
        .lines()
        .find(|a| a.contains("store-weaver-values-"))
        .map(PathBuf::from)
        .expect("a values file among helm's arguments");
    assert!(values.exists(), "{}", values.display());
    // Checked at the end (after the cleanup, which is the point).
    let own_group = pgid(helm_pid) == Some(helm_pid);

    first.kill().unwrap();
    first.wait().unwrap();
    // The worker is gone; what it started is not (SIGKILL runs no cleanup).
    assert!(alive(helm_pid), "helm died with its worker");
    std::fs::remove_file(&pid_file).unwrap();

    // The next start finds and ends what the dead process left.
    let mut second = spawn_worker(&db.url, &fake, dir.path(), "second.log");
    let mut cleaned = false;
    for _ in 0..150 {
        if !alive(helm_pid) && !values.exists() {
            cleaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    second.kill().unwrap();
    second.wait().unwrap();
    // The second worker may have started helm again (after the lease): end it.
    if let Some(pid) = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let left = (alive(helm_pid), values.exists());
    if left.0 {
        let _ = Command::new("kill")
            .args(["-KILL", &helm_pid.to_string()])
            .status();
    }
    let _ = std::fs::remove_file(&values);
    db.drop_db().await;
    assert!(
        cleaned,
        "30 s after the next start, the dead worker's helm alive: {}, its values file there: {}",
        left.0, left.1
    );
    assert!(own_group, "helm runs in a process group of its own");
}
