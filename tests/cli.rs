//! `store-weaver store ...` and `audit`: the scripting face, with --json
//! output and exit codes that say what happened.

mod common;

use common::*;
use std::process::{Command, Output};

fn sw(db_url: &str, args: &[&str]) -> Output {
    sw_on(db_url, &require_env("KUBECONFIG"), args)
}

/// `sw` against the cluster of `kubeconfig`.
fn sw_on(db_url: &str, kubeconfig: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args(args)
        .args(["--database-url", db_url, "--kubeconfig", kubeconfig])
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
        .args(["--max-stores-per-user", "1", "--lease", "5"])
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .expect("run store-weaver")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn the_store_commands_drive_the_whole_lifecycle_with_meaningful_exit_codes() {
    let db = TestDb::new().await;
    let name = unique("Cli Shop");

    let out = sw(
        &db.url,
        &[
            "store",
            "create",
            &name,
            "--owner",
            "cli@example.com",
            "--wait",
            "--json",
            "--as",
            "runbook",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = json(&out);
    assert_eq!(created["status"], "Ready");
    let id = created["id"].as_str().unwrap().to_string();
    let ns = created["namespace"].as_str().unwrap().to_string();

    // Limit reached: exit 3, and the message names the limit.
    let out = sw(
        &db.url,
        &[
            "store",
            "create",
            "Second Shop",
            "--owner",
            "cli@example.com",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["code"], "limit");
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAX_STORES_PER_USER"));

    // Invalid name: exit 2.
    let out = sw(
        &db.url,
        &["store", "create", "  ", "--owner", "other@example.com"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    // Retry of a Ready store: not allowed, exit 6.
    let out = sw(&db.url, &["store", "retry", &ns]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Show by namespace, list as JSON.
    let out = sw(&db.url, &["store", "show", &ns, "--json"]);
    assert_eq!(json(&out)["id"], id.as_str());
    let out = sw(&db.url, &["store", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);

    // Unknown store: exit 4.
    let out = sw(&db.url, &["store", "show", "no-such-store"]);
    assert_eq!(out.status.code(), Some(4));

    let out = sw(
        &db.url,
        &[
            "store", "delete", &id, "--wait", "--json", "--as", "runbook",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["status"], "Deleted");

    // The audit log outlives the store and says who and through what.
    let out = sw(&db.url, &["audit", "--json"]);
    let entries = json(&out);
    let entries = entries.as_array().unwrap();
    let mine: Vec<_> = entries
        .iter()
        .filter(|e| e["store_id"] == id.as_str())
        .collect();
    let actions: Vec<&str> = mine
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "store.create",
            "store.ready",
            "store.retry",
            "store.delete",
            "store.deleted"
        ]
    );
    assert!(
        mine.iter()
            .any(|e| e["actor"] == "runbook" && e["via"] == "cli")
    );
    assert!(
        mine.iter()
            .any(|e| e["action"] == "store.retry" && e["outcome"] == "refused")
    );

    // The trail of the deleted store, by its full id, namespace or name
    // (README: "kept after deletion"); `store show` says where to look.
    for key in [id.as_str(), ns.as_str(), name.as_str()] {
        let out = sw(&db.url, &["audit", key, "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "audit {key}: {}",
            tools::text(&out.stderr)
        );
        let trail = json(&out);
        let trail = trail.as_array().unwrap();
        assert_eq!(trail.len(), mine.len(), "audit {key}");
        assert!(
            trail.iter().all(|e| e["store_id"] == id.as_str()),
            "audit {key}"
        );
    }
    let out = sw(&db.url, &["store", "show", &id]);
    assert_eq!(out.status.code(), Some(4));
    let err = tools::text(&out.stderr);
    assert!(err.contains("deleted") && err.contains("audit"), "{err}");
    db.drop_db().await;
}

/// `store retry --wait` waits for where the retry settles: a retried delete
/// that succeeds ends Deleted, exit 0 (it waited for Ready and exited 5).
#[tokio::test]
async fn retry_wait_of_a_failed_delete_waits_for_the_delete() {
    use common::tools::kubectl_out;
    let db = TestDb::new().await;
    let name = unique("Cli Redelete");
    let out = sw(
        &db.url,
        &[
            "store",
            "create",
            &name,
            "--owner",
            "redelete@example.com",
            "--wait",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", tools::text(&out.stderr));
    let created = json(&out);
    let id = created["id"].as_str().unwrap().to_string();
    let ns = created["namespace"].as_str().unwrap().to_string();

    // Without the store's label the namespace is not provably the store's:
    // the delete refuses to touch it and fails.
    let label = store_weaver::cluster::STORE_ID_LABEL;
    kubectl_out(&["label", "namespace", &ns, &format!("{label}-")]);
    let out = sw(&db.url, &["store", "delete", &id, "--wait", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", tools::text(&out.stderr));
    assert_eq!(json(&out)["status"], "DeleteFailed");

    // The label back: the retried delete succeeds, and that is success.
    kubectl_out(&["label", "namespace", &ns, &format!("{label}={id}")]);
    let out = sw(&db.url, &["store", "retry", &id, "--wait", "--json"]);
    let status = json(&out)["status"].clone();
    assert_eq!(
        (out.status.code(), status.as_str()),
        (Some(0), Some("Deleted")),
        "{}",
        tools::text(&out.stderr)
    );
}

/// Issue 27 (8): audit details can carry bytes a store controls (a wp
/// command line, a helm message); the table shows their controls instead of
/// sending them to the operator's terminal, one row per entry.
#[tokio::test]
async fn the_audit_table_shows_control_characters_instead_of_obeying_them() {
    use store_weaver::db::audit::{self, Action, Outcome, Record};
    let db = TestDb::new().await;
    let actor = store_weaver::store::Actor::new("ann", store_weaver::store::Via::Cli);
    let hostile = "wp option get x\x1b]0;pwned\x07\x1b]52;c;cm0gLXJm\x07\n2099-01-01 00:00:00  root  fake row\u{9b}2J";
    audit::record(
        &db.pool,
        &Record {
            actor: &actor,
            action: Action::Wp,
            store_id: None,
            store_name: Some("Shop\x1b[2Aname"),
            outcome: Outcome::Ok,
            detail: Some(hostile),
        },
    )
    .await
    .unwrap();
    let out = sw(&db.url, &["audit"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text
            .chars()
            .any(|c| matches!(u32::from(c), 0..=0x08 | 0x0b..=0x1f | 0x7f..=0x9f)),
        "raw controls reached the terminal: {text:?}"
    );
    assert_eq!(text.lines().count(), 1, "one row per entry: {text:?}");
    assert!(
        text.contains("^[]0;pwned^G") && text.contains("^J2099") && text.contains("<U+009B>2J"),
        "{text:?}"
    );
    assert!(text.contains("Shop^[[2Aname"), "{text:?}");
    // --json stays exact (JSON escapes them itself).
    let out = sw(&db.url, &["audit", "--json"]);
    let v = json(&out);
    assert_eq!(v[0]["detail"], hostile);
    db.drop_db().await;
}

/// README's keys resolve: `store show acme` for "Acme Shoes", the slug in
/// its URL (`acme-shoes`), its namespace, any case; a key that fits several
/// stores names each (name, id, status) and says how to pick one.
#[tokio::test]
async fn store_keys_accept_the_slug_and_an_unambiguous_name_prefix() {
    let db = TestDb::new().await;
    let create = |name: &str, owner: &str| {
        let out = sw(
            &db.url,
            &["store", "create", name, "--owner", owner, "--json"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", tools::text(&out.stderr));
        json(&out)["id"].as_str().unwrap().to_string()
    };
    let shoes = create("Acme Shoes", "shoes@example.com");
    for key in [
        "acme",
        "ACME",
        "acme-shoes",
        "Acme-Shoes",
        "store-acme-shoes",
        "acme shoes",
        &shoes[..8],
        &shoes,
    ] {
        let out = sw(&db.url, &["store", "show", key, "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{key}: {}",
            tools::text(&out.stderr)
        );
        assert_eq!(json(&out)["id"], shoes.as_str(), "{key}");
    }

    let hats = create("Acme Hats", "hats@example.com");
    let out = sw(&db.url, &["store", "show", "acme"]);
    assert_eq!(out.status.code(), Some(6), "{}", tools::text(&out.stdout));
    let err = tools::text(&out.stderr);
    for want in [
        "Acme Shoes",
        "Acme Hats",
        &shoes,
        &hats,
        "Provisioning",
        "id",
    ] {
        assert!(err.contains(want), "{want} missing from: {err}");
    }
    // A key that fits one store exactly wins over prefixes of others.
    for (key, want) in [("acme-hats", &hats), ("acme s", &shoes), ("ACME H", &hats)] {
        let out = sw(&db.url, &["store", "show", key, "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{key}: {}",
            tools::text(&out.stderr)
        );
        assert_eq!(json(&out)["id"], want.as_str(), "{key}");
    }
    let out = sw(&db.url, &["store", "show", "acme-boots"]);
    assert_eq!(out.status.code(), Some(4));
    db.drop_db().await;
}

/// `store show` and `store list` print what the cluster shows, like the API
/// and the console: a Ready store whose pod stops being ready is shown so,
/// not as `Ready (done)` alone. A cluster that does not answer within the
/// short deadline is said to, instead of hanging or passing the record off
/// as live (issue 28, 4).
#[tokio::test]
async fn store_show_and_list_print_the_live_health_or_say_it_is_unknown() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, Patch, PatchParams};
    let db = TestDb::new().await;
    let name = unique("Cli Health");
    let out = sw(
        &db.url,
        &[
            "store",
            "create",
            &name,
            "--owner",
            "health@example.com",
            "--wait",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", tools::text(&out.stderr));
    let created = json(&out);
    let id = created["id"].as_str().unwrap().to_string();
    let ns = created["namespace"].as_str().unwrap().to_string();

    let out = sw(&db.url, &["store", "show", &id, "--json"]);
    assert_eq!(
        json(&out)["health"]["state"],
        "ready",
        "{}",
        tools::text(&out.stdout)
    );
    let out = sw(&db.url, &["store", "show", &id]);
    let text = tools::text(&out.stdout);
    assert!(text.contains("health:    ready"), "{text}");

    // One of its pods stops: what its kubelet would report of a container
    // that keeps crashing.
    let pods: Api<Pod> = Api::namespaced(kube().await, &ns);
    let pod = pods
        .list(&ListParams::default())
        .await
        .expect("the store's pods")
        .items;
    let pod = pod.first().expect("a pod");
    let pod_name = pod.metadata.name.clone().unwrap();
    let container = pod.spec.as_ref().unwrap().containers[0].name.clone();
    let status = serde_json::json!({"status": {
    "conditions": [{"type": "Ready", "status": "False"}, {"type": "ContainersReady", "status": "False"}],
    "containerStatuses": [{
        "name": container, "image": "x", "imageID": "", "ready": false,
        "restartCount": 3, "started": false,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}
    }]}});
    pods.patch_status(&pod_name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch the pod's status as its kubelet would");

    let out = sw(&db.url, &["store", "show", &id, "--json"]);
    let shown = json(&out);
    assert_eq!(shown["status"], "Ready", "the record is unchanged");
    assert_eq!(shown["health"]["state"], "degraded", "{shown:#}");
    let summary = shown["health"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&pod_name) && summary.contains("CrashLoopBackOff"),
        "{summary}"
    );
    let out = sw(&db.url, &["store", "show", &id]);
    let text = tools::text(&out.stdout);
    assert!(
        text.contains("health:    degraded") && text.contains("CrashLoopBackOff"),
        "{text}"
    );
    let out = sw(&db.url, &["store", "list"]);
    let text = tools::text(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_default();
    assert!(line.contains("degraded"), "{text}");
    let out = sw(&db.url, &["store", "list", "--json"]);
    assert_eq!(json(&out)[0]["health"]["state"], "degraded");

    // A cluster that accepts connections and never answers: the deadline,
    // and an honest "unknown", never the record passed off as live.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let kubeconfig = std::env::temp_dir().join(format!("sw-silent-{}.yaml", uuid::Uuid::new_v4()));
    let real = std::fs::read_to_string(require_env("KUBECONFIG")).unwrap();
    let server = real
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server in the kubeconfig")
        .to_string();
    std::fs::write(
        &kubeconfig,
        real.replace(&server, &format!("https://{addr}")),
    )
    .unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let started = std::time::Instant::now();
    let out = sw_on(&db.url, kc, &["store", "show", &id, "--json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", tools::text(&out.stderr));
    let shown = json(&out);
    assert!(shown["health"].is_null(), "{shown:#}");
    let why = shown["health_error"].as_str().unwrap_or_default();
    assert!(why.contains("did not answer within"), "{why}");
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let out = sw_on(&db.url, kc, &["store", "show", &id]);
    let text = tools::text(&out.stdout);
    assert!(
        text.contains("health:    unknown") && text.contains("the record's"),
        "{text}"
    );
    let out = sw_on(&db.url, kc, &["store", "list"]);
    let text = tools::text(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_default();
    assert!(line.contains("unknown"), "{text}");
    assert!(tools::text(&out.stderr).contains("did not answer within"));
    let _ = std::fs::remove_file(&kubeconfig);
    drop(silent);
    db.drop_db().await;
}

/// `completions` and `man` come from the clap definitions: every script
/// names the subcommands and calls back for store keys.
#[test]
fn completion_scripts_and_the_man_page_cover_the_commands() {
    let bin = env!("CARGO_BIN_EXE_store-weaver");
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(bin)
            .args(["completions", shell])
            .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{shell}: {}",
            tools::text(&out.stderr)
        );
        let script = tools::text(&out.stdout);
        for want in [
            "store",
            "audit",
            "doctor",
            "fleet",
            "rollback",
            "__complete-stores",
        ] {
            assert!(script.contains(want), "{shell}: no {want}");
        }
        assert!(
            !script.contains("__complete-stores'"),
            "{shell}: the hidden command is not offered"
        );
    }
    let script = Command::new(bin)
        .args(["completions", "bash"])
        .output()
        .unwrap()
        .stdout;
    let file = std::env::temp_dir().join(format!("sw-bash-{}.bash", uuid::Uuid::new_v4()));
    std::fs::write(&file, script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        check.status.success(),
        "bash -n: {}",
        tools::text(&check.stderr)
    );
    let out = Command::new(bin).arg("man").output().unwrap();
    let page = tools::text(&out.stdout);
    assert!(out.status.success() && page.contains(".TH"), "{page}");
    for want in ["store\\-weaver", "completions", "doctor", "audit"] {
        assert!(page.contains(want), "man: no {want}");
    }
}

/// Runs the bash completion for `words` (the last one is being typed) with
/// the generated script, and returns what it offers.
fn complete_in_bash(
    database_url: &str,
    words: &[&str],
) -> (Vec<String>, String, std::time::Duration) {
    let bin = env!("CARGO_BIN_EXE_store-weaver");
    let script = Command::new(bin)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sw-completion-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("store-weaver.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let quoted: Vec<String> = std::iter::once(bin)
        .chain(words.iter().copied())
        .map(|w| format!("'{w}'"))
        .collect();
    let program = format!(
        // As `complete -F` calls it: the command, the word, the one before.
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_store_weaver_keys '{bin}' \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words.len()
    );
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .env("DATABASE_URL", database_url)
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .unwrap();
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", tools::text(&out.stderr));
    let offered = tools::text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (offered, tools::text(&out.stderr), took)
}

/// Bash completes a store key from the database (its slug), and stays
/// quick and silent when the database does not answer.
#[tokio::test]
async fn bash_completes_store_keys_from_the_database() {
    let db = TestDb::new().await;
    for (name, owner) in [
        ("Acme Shoes", "a@example.com"),
        ("Zebra Books", "z@example.com"),
    ] {
        let out = sw(&db.url, &["store", "create", name, "--owner", owner]);
        assert_eq!(out.status.code(), Some(0), "{}", tools::text(&out.stderr));
    }
    let (offered, err, _) = complete_in_bash(&db.url, &["store", "show", "ac"]);
    assert_eq!(offered, ["acme-shoes"], "{err}");
    let (offered, _, _) = complete_in_bash(&db.url, &["audit", ""]);
    assert_eq!(offered, ["acme-shoes", "zebra-books"]);
    // Not a store argument: the generated completion of subcommands.
    let (offered, _, _) = complete_in_bash(&db.url, &["store", "sh"]);
    assert_eq!(offered, ["show"]);
    // The generated part completes a subcommand's own flags.
    let (offered, _, _) = complete_in_bash(&db.url, &["store", "show", "acme-shoes", "--js"]);
    assert_eq!(offered, ["--json"]);

    // A database that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://sw@{}/sw", silent.local_addr().unwrap());
    let (offered, err, took) = complete_in_bash(&url, &["store", "show", "ac"]);
    assert!(offered.is_empty() && err.is_empty(), "{offered:?} {err}");
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    drop(silent);
    db.drop_db().await;
}
