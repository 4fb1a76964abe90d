//! The console end to end: the real binary in a real terminal (tmux), against
//! the local sandbox (PostgreSQL + the kwok cluster). Needs `DATABASE_URL`
//! and `KUBECONFIG` in the environment (`source
//! ~/.local/state/store-weaver/sandbox/env`), and `tmux`. Each test gets a
//! database of its own and a tmux server of its own.

mod common;

use common::{TestDb, repo, require_env};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_store-weaver");

/// The small test chart, or the real one while the fixture is missing.
fn charts_dir() -> PathBuf {
    let fixture = repo("tests/fixtures/charts");
    if fixture.join("woocommerce/Chart.yaml").exists() {
        fixture
    } else {
        repo("charts")
    }
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A tmux server of our own (its own socket), with one session.
struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Runs `command` in a new `w`x`h` session; after it ends, the shell
    /// prints its exit code and the terminal modes, and waits.
    fn start(w: u16, h: u16, command: &str) -> Tmux {
        let t = Tmux {
            socket: format!("sw-e2e-{}", short_id()),
            session: "console".into(),
        };
        let script = format!(
            "{command}; echo \"EXIT=$?\"; echo \"MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' ')\"; exec sleep 600"
        );
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is installed (apt-get install -y tmux)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", &self.session, k]);
            std::thread::sleep(Duration::from_millis(120));
        }
    }

    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.session, "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["display-message", "-p", "-t", &self.session, format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// The console's own pid: the child of the pane's shell.
    fn console_pid(&self) -> Option<u32> {
        let shell = self.display("#{pane_pid}");
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
    }

    /// Polls the screen until `pred` holds; panics with the screen otherwise.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for {what}; the screen was:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn assert_restored(&self) {
        let s = self.wait_for("the console to exit", Duration::from_secs(30), |s| {
            s.contains("MODES:")
        });
        assert!(s.contains("EXIT=0"), "the console exits with 0:\n{s}");
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "the alternate screen is left:\n{s}"
        );
        let modes = s
            .lines()
            .find(|l| l.starts_with("MODES:"))
            .unwrap_or_default();
        assert!(
            modes.contains(" icanon")
                && modes.contains(" echo")
                && !modes.contains("-icanon")
                && !modes.contains("-echo"),
            "raw mode is off again (line editing and echo back): {modes}\n{s}"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn console_command(db_url: &str, log_dir: &std::path::Path, extra: &str) -> String {
    let charts = charts_dir();
    let values = charts.join("woocommerce/values.yaml");
    console_command_with(db_url, log_dir, &charts, &values, extra)
}

fn console_command_with(
    db_url: &str,
    log_dir: &std::path::Path,
    charts: &std::path::Path,
    values: &std::path::Path,
    extra: &str,
) -> String {
    let env = [
        ("DATABASE_URL", db_url.to_string()),
        ("KUBECONFIG", require_env("KUBECONFIG")),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("STORE_WEAVER_LOG_DIR", log_dir.display().to_string()),
        ("STORE_WEAVER_LOG", "debug".to_string()),
        ("TERM", "xterm-256color".to_string()),
    ];
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", sh_quote(v)))
        .collect();
    format!(
        "env {} {} --charts-dir {} --values-file {} --workers 2 --lease 5 {extra}",
        env.join(" "),
        sh_quote(BIN),
        sh_quote(&charts.display().to_string()),
        sh_quote(&values.display().to_string()),
    )
}

/// The row of the stores table that shows `name`.
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.contains(name) && l.starts_with('│'))
}

#[tokio::test(flavor = "multi_thread")]
async fn create_watch_ready_open_events_delete_and_quit() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let t = Tmux::start(120, 40, &console_command(&db.url, logs.path(), ""));
    t.wait_for("the first frame", Duration::from_secs(20), |s| {
        s.contains("Store Weaver")
    });
    eprintln!(
        "first frame seen after {:?} (process start to tmux capture)",
        started.elapsed()
    );
    t.wait_for(
        "the empty list from the fresh database",
        Duration::from_secs(30),
        |s| {
            s.contains("No stores yet.") && s.contains("db ● up") && s.contains("watch ● connected")
        },
    );

    // Create a store with the keyboard.
    let name = format!("E2E {}", short_id());
    t.keys(&["c"]);
    t.wait_for("the create form", Duration::from_secs(5), |s| {
        s.contains("Create store")
    });
    t.text(&name);
    t.keys(&["Tab", "C-u"]);
    t.text("e2e@example.com");
    let form = t.wait_for("the form to validate", Duration::from_secs(5), |s| {
        s.contains("address http://e2e-")
    });
    assert_eq!(
        form.matches("✓ ok").count(),
        2,
        "a valid form marks the name and owner ok:\n{form}"
    );
    assert!(
        form.contains("✓ WooCommerce: WordPress + WooCommerce"),
        "and says what the default engine runs:\n{form}"
    );
    t.keys(&["Tab", "Enter"]);
    // The form shows the name too (inside the table's border): wait for it to close.
    let s = t.wait_for("the new store in the list", Duration::from_secs(15), |s| {
        row(s, &name).is_some() && !s.contains("Create store")
    });
    assert!(
        s.contains("created: provisioning queued")
            || row(&s, &name).is_some_and(|r| r.contains("Provisioning") || r.contains("Ready")),
        "{s}"
    );

    // It becomes Ready without a key press (notifications + watches).
    let s = t.wait_for("the store to become Ready", Duration::from_secs(90), |s| {
        row(s, &name).is_some_and(|r| r.contains("● Ready"))
    });
    eprintln!("store Ready on screen after {:?}", started.elapsed());
    assert!(s.contains("● Ready 1"), "the header counts it:\n{s}");

    // Its detail and its events.
    t.keys(&["Enter"]);
    t.wait_for("the detail view", Duration::from_secs(10), |s| {
        s.contains("namespace store-e2e-") && s.contains("Resources")
    });
    t.keys(&["e"]);
    let s = t.wait_for("the namespace events", Duration::from_secs(30), |s| {
        s.contains("live, newest first")
            && (s.contains("Scheduled")
                || s.contains("SuccessfulCreate")
                || s.contains("ScalingReplicaSet"))
    });
    assert!(s.contains("REASON") && s.contains("MESSAGE"), "{s}");
    t.keys(&["3"]);
    t.wait_for(
        "the audit timeline entry of the create",
        Duration::from_secs(10),
        |s| s.contains("accepted") && s.contains("e2e@example.com"),
    );

    // Delete it: the confirmation needs the exact name.
    t.keys(&["C-d"]);
    t.wait_for("the delete confirmation", Duration::from_secs(5), |s| {
        s.contains("Type the store's name to confirm")
    });
    t.text("wrong name");
    t.keys(&["Enter"]);
    t.wait_for("the refusal of a wrong name", Duration::from_secs(5), |s| {
        s.contains("that is not the store's name")
    });
    t.keys(&["C-u"]);
    t.text(&name);
    t.keys(&["Enter"]);
    t.wait_for("the delete to be accepted", Duration::from_secs(15), |s| {
        s.contains("Deleting") || s.contains("deleted")
    });
    t.keys(&["Escape"]);
    t.wait_for(
        "the store to be gone from the list",
        Duration::from_secs(120),
        |s| s.contains("No stores yet."),
    );

    // Quit: nothing started here is running any more, so no question.
    t.keys(&["q"]);
    t.assert_restored();

    // The database agrees, and the audit log says it was the console.
    let pool = db.pool.clone();
    let (status,): (String,) = sqlx::query_as("SELECT status FROM stores WHERE name = $1")
        .bind(&name)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "Deleted");
    let via: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, via FROM audit_log WHERE store_name = $1 AND via = 'console' ORDER BY id",
    )
    .bind(&name)
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = via.iter().map(|(a, _)| a.as_str()).collect();
    assert!(
        actions.contains(&"store.create") && actions.contains(&"store.delete"),
        "{actions:?}"
    );
    pool.close().await;
    report_latency(logs.path());
    drop(t);
    db.drop_db().await;
}

/// Prints the first-frame time and the notification-to-screen latencies the
/// console logged (for the figures in docs/console.md).
fn report_latency(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut first = Vec::new();
    let mut lat: Vec<f64> = Vec::new();
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text.lines() {
            let ms = l
                .split("ms=")
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok());
            match ms {
                Some(v) if l.contains("first frame drawn") => first.push(v),
                Some(v) if l.contains("change on screen") => lat.push(v),
                _ => {}
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    if !lat.is_empty() {
        eprintln!(
            "first frame {first:?} ms; change-to-screen latency over {} redraws: median {:.1} ms, max {:.1} ms",
            lat.len(),
            lat[lat.len() / 2],
            lat[lat.len() - 1]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn starts_and_explains_when_the_database_is_down() {
    let logs = tempfile::tempdir().unwrap();
    // Nothing listens on port 9: connection refused at once.
    let url = "postgres://nobody:secret@127.0.0.1:9/nothing";
    let t = Tmux::start(80, 24, &console_command(url, logs.path(), ""));
    let s = t.wait_for("the database banner", Duration::from_secs(20), |s| {
        s.contains("database unreachable since")
    });
    assert!(s.contains("db ✗ down"), "{s}");
    assert!(
        s.contains("Cannot load the stores: the database is unreachable."),
        "{s}"
    );
    assert!(!s.contains("secret"), "the password is never shown:\n{s}");
    // Still responsive: help opens and closes, then q quits.
    t.keys(&["?"]);
    t.wait_for("the help", Duration::from_secs(5), |s| s.contains("Help"));
    t.keys(&["Escape"]);
    t.wait_for("the help to close", Duration::from_secs(5), |s| {
        !s.contains("┌ Help")
    });
    t.keys(&["q"]);
    t.assert_restored();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_restores_the_terminal() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        80,
        24,
        &console_command(&db.url, logs.path(), "--read-only"),
    );
    t.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("READ-ONLY") && s.contains("No stores yet.")
    });
    let pid = t.console_pid().expect("the console's pid");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    t.assert_restored();
    drop(t);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_when_the_terminal_goes_away_ends_the_process() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let t = Tmux::start(80, 24, &console_command(&db.url, logs.path(), ""));
    t.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("No stores yet.")
    });
    let pid = t.console_pid().expect("the console's pid");
    // Closing the pane hangs up its terminal, as a dropped SSH session does.
    t.tmux(&["kill-pane", "-t", &t.session]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let zombie =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "));
        if zombie {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the console is still running 20s after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(t);
    db.drop_db().await;
}

/// Runs a CLI subcommand of the binary against the test database.
fn cli(db_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn mark_two_stores_and_delete_both_with_one_confirmation() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let tag = short_id();
    let names = [format!("Bulk {tag} one"), format!("Bulk {tag} two")];
    for n in &names {
        let out = cli(
            &db.url,
            &["store", "create", n, "--owner", "bulk@example.com"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let t = Tmux::start(120, 40, &console_command(&db.url, logs.path(), ""));
    t.wait_for("both stores in the list", Duration::from_secs(30), |s| {
        names.iter().all(|n| row(s, n).is_some())
    });
    // Only these two on screen, then mark both.
    t.keys(&["/"]);
    t.text(&format!("Bulk {tag}"));
    t.keys(&["Enter", "g", "Space", "Space"]);
    let s = t.wait_for("two marks", Duration::from_secs(5), |s| {
        s.contains("2 marked")
    });
    for n in &names {
        assert!(
            row(&s, n).is_some_and(|r| r.starts_with("│*")),
            "{n} is marked:\n{s}"
        );
    }
    // One confirmation for both: the count, typed.
    t.keys(&["C-d"]);
    t.wait_for("the bulk confirmation", Duration::from_secs(5), |s| {
        s.contains("Delete 2 stores?") && s.contains("Type 2 to confirm")
    });
    t.text("3");
    t.keys(&["Enter"]);
    t.wait_for(
        "the refusal of a wrong count",
        Duration::from_secs(5),
        |s| s.contains("type the number 2 exactly"),
    );
    t.keys(&["BSpace"]);
    t.text("2");
    t.keys(&["Enter"]);
    let s = t.wait_for("the summary", Duration::from_secs(20), |s| {
        s.contains("Bulk result") && s.contains("2 accepted, 0 refused")
    });
    assert!(names.iter().all(|n| s.contains(n.as_str())), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("both stores gone", Duration::from_secs(180), |s| {
        names.iter().all(|n| row(s, n).is_none())
            && (s.contains("No store matches") || s.contains("No stores yet"))
    });
    t.keys(&["q"]);
    t.assert_restored();

    let pool = db.pool.clone();
    let deleted: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT s.name, s.status, a.via FROM stores s \
         JOIN audit_log a ON a.store_name = s.name \
         WHERE s.name LIKE $1 AND a.action = 'store.delete' ORDER BY s.name",
    )
    .bind(format!("Bulk {tag}%"))
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<(String, String, String)> = names
        .iter()
        .map(|n| (n.clone(), "Deleted".to_string(), "console".to_string()))
        .collect();
    assert_eq!(
        deleted, expected,
        "each delete is its own audited request from the console"
    );
    pool.close().await;
    drop(t);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_a_stores_logs_and_run_a_wp_command() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let name = format!("Logs {}", short_id());
    let out = cli(
        &db.url,
        &["store", "create", &name, "--owner", "oncall@example.com"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = Tmux::start(120, 40, &console_command(&db.url, logs.path(), ""));
    t.wait_for("the store to become Ready", Duration::from_secs(120), |s| {
        row(s, &name).is_some_and(|r| r.contains("● Ready"))
    });
    // The test chart's pods are a web and a db container; add a pod shaped
    // like the real chart's WordPress pod (its setup steps as init
    // containers) so that the init containers and wp can be tried. kwok runs
    // it; its log is kwok's stand-in line, wp is the sandbox's stand-in.
    wordpress_pod(&db.url, &name).await;
    t.keys(&["Enter"]);
    t.wait_for("the detail view", Duration::from_secs(10), |s| {
        s.contains("Resources") && s.contains("<l> logs")
    });

    // The logs pane: the WordPress container's log through pods/log.
    t.keys(&["l"]);
    let s = t.wait_for(
        "log lines of the store's pod",
        Duration::from_secs(30),
        |s| s.contains(&format!("Logs of {name}")) && s.contains("[sandbox]"),
    );
    assert!(
        s.contains("/wordpress [following]"),
        "the WordPress container by default:\n{s}"
    );
    // The picker lists the init containers too.
    t.keys(&["c"]);
    let s = t.wait_for("the container picker", Duration::from_secs(5), |s| {
        s.contains(" Container ")
    });
    assert!(s.contains("(init)"), "init containers are offered:\n{s}");
    t.keys(&["Escape", "t"]);
    t.wait_for("timestamps shown", Duration::from_secs(5), |s| {
        s.contains("timestamps]") || s.contains("timestamps,")
    });
    t.keys(&["Escape"]);

    // The wp prompt: an offered command, its output back through pods/exec.
    t.keys(&["w"]);
    t.wait_for("the wp prompt", Duration::from_secs(5), |s| {
        s.contains(&format!("wp in {name}")) && s.contains("tab:")
    });
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for(
        "the output of wp plugin list",
        Duration::from_secs(30),
        |s| s.contains("$ wp plugin list") && s.contains("woocommerce"),
    );
    assert!(
        !s.lines().any(|l| l.starts_with("│✗")) && s.contains("woocommerce  active"),
        "no error, columns aligned:\n{s}"
    );
    t.keys(&["Escape", "Escape"]);
    t.keys(&["q"]);
    t.assert_restored();

    // Both acts are in the audit log, as the console and as its user.
    let pool = db.pool.clone();
    let acts: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, via, outcome FROM audit_log WHERE store_name = $1 \
         AND action IN ('store.logs', 'store.wp') ORDER BY id",
    )
    .bind(&name)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        acts.iter()
            .any(|(a, v, o)| a == "store.logs" && v == "console" && o == "ok"),
        "{acts:?}"
    );
    assert!(
        acts.iter()
            .any(|(a, v, o)| a == "store.wp" && v == "console" && o == "ok"),
        "{acts:?}"
    );
    pool.close().await;
    drop(t);
    db.drop_db().await;
}

/// On the sandbox's real node (scripts/sandbox-node.sh) the logs pane
/// follows a real container's own log: Apache's lines from the store's
/// WordPress container, not kwok's stand-in.
#[tokio::test(flavor = "multi_thread")]
async fn the_logs_pane_shows_a_real_containers_lines_on_the_real_node() {
    let db = TestDb::unmigrated().await;
    let logs = tempfile::tempdir().unwrap();
    let name = format!("Real Logs {}", short_id());
    let out = cli(
        &db.url,
        &["store", "create", &name, "--owner", "oncall@example.com"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let charts = repo("charts");
    let extra = format!(
        "--extra-values-files {}",
        sh_quote(&require_env("SANDBOX_REAL_NODE_VALUES"))
    );
    let t = Tmux::start(
        120,
        40,
        &console_command_with(
            &db.url,
            logs.path(),
            &charts,
            &charts.join("woocommerce/values-local.yaml"),
            &extra,
        ),
    );
    t.wait_for(
        "the store on the real node to become Ready",
        Duration::from_secs(300),
        |s| row(s, &name).is_some_and(|r| r.contains("● Ready")),
    );
    t.keys(&["Enter"]);
    t.wait_for("the detail view", Duration::from_secs(10), |s| {
        s.contains("Resources") && s.contains("<l> logs")
    });
    t.keys(&["l"]);
    let s = t.wait_for(
        "Apache's own lines in the logs pane",
        Duration::from_secs(60),
        |s| s.contains(&format!("Logs of {name}")) && s.contains("AH00"),
    );
    assert!(
        s.contains("/wordpress [following]") && !s.contains("[sandbox]"),
        "the real WordPress container, not kwok's stand-in:\n{s}"
    );
    t.keys(&["Escape", "Escape", "q"]);
    t.assert_restored();
    drop(t);
    db.drop_db().await;
}

/// Creates a Running WordPress-shaped pod in the store's namespace.
async fn wordpress_pod(db_url: &str, name: &str) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, PostParams};
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(db_url)
        .await
        .unwrap();
    let (id, ns): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, namespace FROM stores WHERE name = $1")
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let client = kube::Client::try_default().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "wordpress-e2e", "labels": {
            store_weaver::cluster::STORE_ID_LABEL: id.to_string(),
            "app.kubernetes.io/component": "wordpress"}},
        "spec": {
            "initContainers": [
                {"name": "copy-wordpress", "image": "wordpress:6.8.3-php8.3-apache"},
                {"name": "setup-store", "image": "wordpress:cli-2.12.0-php8.3"}],
            "containers": [{"name": "wordpress", "image": "wordpress:6.8.3-php8.3-apache"}]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let phase = pods
            .get("wordpress-e2e")
            .await
            .ok()
            .and_then(|p| p.status?.phase);
        if phase.as_deref() == Some("Running") {
            return;
        }
        assert!(Instant::now() < deadline, "the pod never ran: {phase:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The console with backups configured (the sandbox's S3 server, a fresh
/// key; no schedule) and no workers: what it asks of the engine stays
/// queued, so the test sees exactly what the console did.
fn console_command_backups(db_url: &str, log_dir: &std::path::Path) -> String {
    console_command_backups_with(db_url, log_dir, &fresh_backup_key(), "")
}

/// A backup key, base64, as `backup_key` takes it.
fn fresh_backup_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

fn console_command_backups_with(
    db_url: &str,
    log_dir: &std::path::Path,
    key: &str,
    extra: &str,
) -> String {
    let key = key.to_string();
    let env = [
        ("DATABASE_URL", db_url.to_string()),
        ("KUBECONFIG", require_env("KUBECONFIG")),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("STORE_WEAVER_LOG_DIR", log_dir.display().to_string()),
        ("STORE_WEAVER_LOG", "debug".to_string()),
        ("TERM", "xterm-256color".to_string()),
        (
            "STORE_WEAVER_BACKUP_BUCKET",
            require_env("SANDBOX_S3_BUCKET"),
        ),
        (
            "STORE_WEAVER_BACKUP_ENDPOINT",
            require_env("SANDBOX_S3_ENDPOINT"),
        ),
        (
            "STORE_WEAVER_BACKUP_REGION",
            require_env("SANDBOX_S3_REGION"),
        ),
        ("AWS_ACCESS_KEY_ID", require_env("SANDBOX_S3_ACCESS_KEY_ID")),
        (
            "AWS_SECRET_ACCESS_KEY",
            require_env("SANDBOX_S3_SECRET_ACCESS_KEY"),
        ),
        ("STORE_WEAVER_BACKUP_KEY", key),
        ("STORE_WEAVER_BACKUP_EVERY_HOURS", "0".to_string()),
        (
            "XDG_CONFIG_HOME",
            std::env::temp_dir()
                .join("sw-no-config")
                .display()
                .to_string(),
        ),
    ];
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", sh_quote(v)))
        .collect();
    let charts = charts_dir();
    format!(
        "env {} {} --charts-dir {} --values-file {} --workers 0 {extra}",
        env.join(" "),
        sh_quote(BIN),
        sh_quote(&charts.display().to_string()),
        sh_quote(&charts.join("woocommerce/values.yaml").display().to_string()),
    )
}

/// Backup rows as the ledger writes them (the real backups need the real
/// node; the console's display and requests are what is proven here).
async fn insert_backup(
    pool: &sqlx::PgPool,
    store: uuid::Uuid,
    reason: &str,
    state: &str,
    hours_ago: i64,
    expires_in_days: Option<i64>,
    error: Option<&str>,
) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO backups (id, store_id, operation_id, reason, state, engine, bytes, error, \
         requested_by, started_at, finished_at, expires_at) \
         SELECT $1, $2, (SELECT max(id) FROM operations WHERE store_id = $2), $3, $4, \
         'woocommerce', CASE WHEN $4 = 'complete' THEN 4404019 ELSE 0 END, $5, 'e2e', \
         now() - make_interval(hours => $6::int), \
         now() - make_interval(hours => $6::int) + interval '1.9 seconds', \
         now() + make_interval(days => $7::int)",
    )
    .bind(id)
    .bind(store)
    .bind(reason)
    .bind(state)
    .bind(error)
    .bind(hours_ago as i32)
    .bind(expires_in_days.map(|d| d as i32))
    .execute(pool)
    .await
    .expect("insert a backup row");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_in_the_detail_restore_and_undelete() {
    let db = TestDb::new().await;
    let logs = tempfile::tempdir().unwrap();
    let tag = short_id();
    let (keep, gone) = (format!("Keep {tag}"), format!("Gone {tag}"));
    let charts = charts_dir();
    let values = charts.join("woocommerce/values.yaml");
    // Two stores really provisioned on the kwok nodes; one really deleted
    // (without a final backup: the dump needs the real node).
    for n in [&keep, &gone] {
        let out = cli(
            &db.url,
            &[
                "--charts-dir",
                &charts.display().to_string(),
                "--values-file",
                &values.display().to_string(),
                "store",
                "create",
                n,
                "--owner",
                "restore@example.com",
                "--wait",
            ],
        );
        assert!(
            out.status.success(),
            "create {n}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = cli(&db.url, &["store", "delete", &gone, "--wait"]);
    assert!(
        out.status.success(),
        "delete {gone}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_of = |name: String| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM stores WHERE name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (keep_id, gone_id) = (id_of(keep.clone()).await, id_of(gone.clone()).await);
    // Keep: a failed backup an hour ago, a complete one 30 h ago (so it
    // has no good backup in 24 h); Gone: its final backup, kept 7 days.
    insert_backup(
        &db.pool,
        keep_id,
        "manual",
        "failed",
        1,
        None,
        Some("uploading part database: the bucket answered 503"),
    )
    .await;
    let good = insert_backup(&db.pool, keep_id, "scheduled", "complete", 30, None, None).await;
    insert_backup(&db.pool, gone_id, "final", "complete", 0, Some(7), None).await;

    let t = Tmux::start(120, 40, &console_command_backups(&db.url, logs.path()));
    // The fleet: Keep is marked, with the age of its newest good backup.
    let s = t.wait_for("Keep marked in the list", Duration::from_secs(30), |s| {
        // 30 h less the 1.9 s it took: 29h, or 30h on a slow start.
        row(s, &keep).is_some_and(|r| r.contains("⚠ 29h") || r.contains("⚠ 30h"))
    });
    assert!(
        s.contains("⚠ 1 Ready without a good backup in 24 h"),
        "the legend counts it:\n{s}"
    );
    assert!(
        row(&s, &gone).is_none(),
        "a deleted store is not listed:\n{s}"
    );

    // Its detail lists both backups from the database.
    t.keys(&["/"]);
    t.text(&keep);
    t.keys(&["Enter", "Enter"]);
    let s = t.wait_for("the backups pane", Duration::from_secs(15), |s| {
        s.contains("Backups") && s.contains("✓ complete") && s.contains("✗ failed")
    });
    assert!(s.contains("4.2 MiB") && s.contains("scheduled"), "{s}");
    // Its schedule, from the engine's view (no schedule in this test).
    t.wait_for("the schedule line", Duration::from_secs(10), |s| {
        s.contains("backups none (the fleet's default)")
    });
    assert!(s.contains("the bucket answered 503"), "the error:\n{s}");
    assert!(s.contains(&good.to_string()[..8]), "the backup's id:\n{s}");

    // R: the newest complete backup, named; only y confirms.
    t.keys(&["R"]);
    let s = t.wait_for("the restore confirmation", Duration::from_secs(5), |s| {
        s.contains(" Restore ") && s.contains("paused")
    });
    assert!(
        s.contains(&format!("from backup {}", &good.to_string()[..8])),
        "it names the backup:\n{s}"
    );
    t.keys(&["y"]);
    t.wait_for("the restore accepted", Duration::from_secs(15), |s| {
        s.contains(&format!("restore of \"{keep}\" accepted")) && s.contains("Restoring")
    });
    let (status, kind, params): (String, String, serde_json::Value) = sqlx::query_as(
        "SELECT s.status, o.kind, o.params FROM stores s JOIN operations o ON o.store_id = s.id \
         WHERE s.id = $1 AND o.state = 'queued'",
    )
    .bind(keep_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), kind.as_str()), ("Restoring", "restore"));
    assert!(
        params.to_string().contains(&good.to_string()),
        "the restore is of the backup named: {params}"
    );

    // D: the deleted stores that can come back; undelete Gone.
    t.keys(&["Escape", "Escape", "Escape", "D"]);
    t.wait_for("the deleted stores", Duration::from_secs(15), |s| {
        s.contains("Deleted stores that can come back") && s.contains(&gone)
    });
    t.keys(&["u"]);
    t.wait_for("the undelete confirmation", Duration::from_secs(5), |s| {
        s.contains(" Undelete ") && s.contains("under its old name and address")
    });
    t.keys(&["y"]);
    t.wait_for("Gone back in the list", Duration::from_secs(15), |s| {
        row(s, &gone).is_some_and(|r| r.contains("Provisioning"))
    });
    let (status, kind): (String, String) = sqlx::query_as(
        "SELECT s.status, o.kind FROM stores s JOIN operations o ON o.store_id = s.id \
         WHERE s.id = $1 AND o.state = 'queued'",
    )
    .bind(gone_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), kind.as_str()),
        ("Provisioning", "provision")
    );
    let via: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, via FROM audit_log WHERE action IN ('store.restore', 'store.undelete') \
         ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        via,
        [
            ("store.restore".to_string(), "console".to_string()),
            ("store.undelete".to_string(), "console".to_string())
        ],
        "both requests audited as the console's"
    );

    // Quit: two operations started here are queued, so it asks.
    t.keys(&["q"]);
    t.wait_for("the quit question", Duration::from_secs(5), |s| {
        s.contains("Quit anyway?")
    });
    t.keys(&["y"]);
    t.assert_restored();
    drop(t);
    // Keep's namespace is in the cluster: delete it (the restore never ran).
    let out = cli(&db.url, &["store", "delete", &keep, "--wait"]);
    assert!(
        out.status.success(),
        "clean up {keep}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.drop_db().await;
}

/// A drill row as the engine leaves a finished one (a real drill needs
/// the real node: tests/drills.rs).
async fn insert_drill(
    pool: &sqlx::PgPool,
    store: uuid::Uuid,
    backup: uuid::Uuid,
    outcome: &str,
    hours_ago: i64,
    detail: &str,
) {
    sqlx::query(
        "INSERT INTO drills (id, store_id, reason, phase, outcome, backup_id, detail, requested_by, \
         created_at, started_at, checked_at, finished_at) \
         SELECT $1, $2, 'scheduled', 'done', $3, $4, $5, 'e2e', t - interval '97 seconds', \
         t - interval '96 seconds', t, t + interval '5 seconds' \
         FROM (SELECT now() - make_interval(hours => $6::int) AS t) x",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(store)
    .bind(outcome)
    .bind(backup)
    .bind(detail)
    .bind(hours_ago as i32)
    .execute(pool)
    .await
    .expect("insert a drill row");
}

/// Gives a backup row the manifest a backup of `store` sealed with `key`
/// has (no parts: nothing here reads them).
async fn set_manifest(
    pool: &sqlx::PgPool,
    backup: uuid::Uuid,
    store: uuid::Uuid,
    name: &str,
    key: &str,
) {
    use store_weaver::backup::{manifest, seal::BackupKey};
    let now = chrono::Utc::now();
    let m = manifest::Manifest {
        format: manifest::FORMAT,
        backup_id: backup,
        store_id: store,
        store_name: name.into(),
        namespace: store_weaver::store::namespace_for(name),
        host: "e2e.localhost".into(),
        engine: "woocommerce".into(),
        chart_version: None,
        helm_revision: None,
        settings: Default::default(),
        key_id: BackupKey::from_base64(key).expect("the test's key").id(),
        reason: "manual".into(),
        requested_by: "e2e".into(),
        started_at: now,
        finished_at: now,
        parts: Vec::new(),
        counts: Default::default(),
    };
    sqlx::query("UPDATE backups SET manifest = $2 WHERE id = $1")
        .bind(backup)
        .bind(sqlx::types::Json(&m))
        .execute(pool)
        .await
        .expect("set the manifest");
}

/// The detail shows the last good restore and the drills; `T` `y` queues
/// a drill through the engine (a second one is refused with the engine's
/// reason), `S` changes the backup schedule (an invalid interval is said
/// in place), `C` asks the engine for a clone (refused in the form while
/// the backup row has no manifest, made once it has one). With no workers
/// the requests stay queued, so the test sees exactly what the console
/// asked.
#[tokio::test(flavor = "multi_thread")]
async fn drills_schedule_and_clone_from_the_detail() {
    let db = TestDb::new().await;
    let logs = tempfile::tempdir().unwrap();
    let tag = short_id();
    let (name, copy) = (format!("Drilled {tag}"), format!("Copy {tag}"));
    // Recorded, not provisioned: the drill, the schedule and the clone are
    // requests to the engine, which needs no cluster to take them.
    let out = cli(
        &db.url,
        &["store", "create", &name, "--owner", "drill@example.com"],
    );
    assert!(
        out.status.success(),
        "create {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM stores WHERE name = $1")
        .bind(&name)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let good = insert_backup(&db.pool, id, "manual", "complete", 3, None, None).await;
    insert_drill(
        &db.pool,
        id,
        good,
        "passed",
        49,
        "backup restored in 96s; the store became ready, and holds what the backup holds (1 orders)",
    )
    .await;
    insert_drill(
        &db.pool,
        id,
        good,
        "failed",
        1,
        "the restore could not start: part database: checksum mismatch",
    )
    .await;

    let key = fresh_backup_key();
    let t = Tmux::start(
        120,
        40,
        &console_command_backups_with(&db.url, logs.path(), &key, ""),
    );
    t.wait_for("the store listed", Duration::from_secs(30), |s| {
        row(s, &name).is_some()
    });
    t.keys(&["/"]);
    t.text(&name);
    t.keys(&["Enter", "Enter"]);
    let s = t.wait_for("the last good restore", Duration::from_secs(15), |s| {
        s.contains("last good restore: 2 days ago, newest drill FAILED 1h ago; next drill ")
            && s.contains("Restore drills")
            && s.contains("✓ passed")
    });
    assert!(s.contains("Restore drills"), "the drills are listed:\n{s}");
    assert!(
        s.contains("the restore could not start: part database: checksum mismatch"),
        "the failure's reason:\n{s}"
    );
    assert!(
        s.contains("✓ passed") && s.contains("✗ failed") && s.contains("1m36s"),
        "each drill's result and how long it took:\n{s}"
    );

    // T: asks, says what a drill does; y queues it.
    t.keys(&["T"]);
    t.wait_for("the drill confirmation", Duration::from_secs(5), |s| {
        s.contains(" Restore drill ") && s.contains("the store is not touched")
    });
    t.keys(&["y"]);
    t.wait_for("the drill queued", Duration::from_secs(15), |s| {
        s.contains(&format!("restore drill of \"{name}\" queued"))
    });
    t.wait_for("the drill listed", Duration::from_secs(15), |s| {
        s.contains("◐ queued")
    });
    let (phase, by): (String, String) = sqlx::query_as(
        "SELECT phase, requested_by FROM drills WHERE store_id = $1 AND phase <> 'done'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(phase, "queued");
    assert!(!by.is_empty());
    // A second one: the engine's refusal is the message.
    t.keys(&["T"]);
    t.wait_for("the drill confirmation", Duration::from_secs(5), |s| {
        s.contains(" Restore drill ")
    });
    t.keys(&["y"]);
    t.wait_for("the engine's refusal", Duration::from_secs(15), |s| {
        s.contains("refused") && s.contains("already under way")
    });

    // S: the schedule input; an invalid interval is said in place.
    t.keys(&["S"]);
    t.wait_for("the schedule input", Duration::from_secs(5), |s| {
        s.contains(" Backup schedule ") && s.contains("> default")
    });
    t.keys(&["C-u"]);
    t.text("2x");
    t.wait_for("the interval refused", Duration::from_secs(5), |s| {
        s.contains("\"2x\" is not an interval")
    });
    t.keys(&["Enter"]);
    t.keys(&["BSpace"]);
    t.text("d");
    t.keys(&["Enter"]);
    t.wait_for("the schedule saved", Duration::from_secs(15), |s| {
        s.contains(&format!("backup schedule of \"{name}\" saved: every 48 h"))
    });
    t.wait_for("the schedule line", Duration::from_secs(15), |s| {
        s.contains("backups every 48 h (set for this store)")
    });
    let every: Option<i32> =
        sqlx::query_scalar("SELECT backup_every_hours FROM stores WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(every, Some(48));

    // C: a clone named here, owned by the source's owner.
    t.keys(&["C"]);
    t.wait_for("the clone form", Duration::from_secs(5), |s| {
        s.contains(" Clone ") && s.contains("owned by drill@example.com")
    });
    t.keys(&["C-u"]);
    t.text(&copy);
    t.keys(&["Enter"]);
    // The engine checks the backup before it creates anything: this row
    // has no manifest (a real one needs the real node: tests/backups.rs),
    // and its refusal is said in the form, which stays open.
    t.wait_for(
        "the engine's refusal in the form",
        Duration::from_secs(15),
        |s| s.contains(" Clone ") && s.contains("has no manifest; choose"),
    );
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM stores WHERE name = $1")
        .bind(&copy)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(made, 0, "nothing created");
    // With the manifest a backup sealed with this key has, the same form
    // sent again makes the clone.
    set_manifest(&db.pool, good, id, &name, &key).await;
    t.keys(&["Enter"]);
    t.wait_for("the clone created", Duration::from_secs(15), |s| {
        s.contains(&format!("clone \"{copy}\" of \"{name}\" created"))
    });
    let (owner, status): (String, String) =
        sqlx::query_as("SELECT owner, status FROM stores WHERE name = $1")
            .bind(&copy)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        (owner.as_str(), status.as_str()),
        ("drill@example.com", "Provisioning"),
        "the clone is the source owner's, queued"
    );
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, via FROM audit_log WHERE action IN ('store.drill', 'store.backup-schedule') \
         AND outcome IN ('accepted', 'ok') ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for action in ["store.drill", "store.backup-schedule"] {
        assert!(
            audited.iter().any(|(a, v)| a == action && v == "console"),
            "{action} audited as the console's: {audited:?}"
        );
    }

    // The clone started here is queued: quitting asks.
    t.keys(&["Escape", "q"]);
    t.wait_for("the quit question", Duration::from_secs(5), |s| {
        s.contains("Quit anyway?")
    });
    t.keys(&["y"]);
    t.assert_restored();
    drop(t);

    // --read-only: T, S and C are refused with the one message, and
    // nothing reaches the engine.
    let t = Tmux::start(
        120,
        40,
        &console_command_backups_with(&db.url, logs.path(), &key, "--read-only"),
    );
    t.wait_for("the store listed", Duration::from_secs(30), |s| {
        row(s, &name).is_some()
    });
    t.keys(&["/"]);
    t.text(&name);
    t.keys(&["Enter", "Enter"]);
    t.wait_for("the detail", Duration::from_secs(15), |s| {
        s.contains("last good restore: 2 days ago")
    });
    for (key, what) in [
        ("T", "restore drill now"),
        ("S", "change the backup schedule"),
        ("C", "clone into a new store"),
    ] {
        t.keys(&[key]);
        t.wait_for(what, Duration::from_secs(5), |s| {
            s.contains(&format!("read-only mode: {what} is disabled"))
        });
    }
    let drills: i64 = sqlx::query_scalar("SELECT count(*) FROM drills WHERE store_id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        drills, 3,
        "the two rows written here and the one drill queued"
    );
    t.keys(&["Escape", "q"]);
    t.assert_restored();
    drop(t);
    db.drop_db().await;
}
