//! The foundation against the real sandbox: migrations, the API server over
//! TLS, the controller manager (namespace deletion), helm + kwok, and the
//! configuration layers of the real binary.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_a_second_run_is_a_no_op() {
    let db = TestDb::new().await; // runs the migrations once
    let count = |pool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let first = count(&db.pool).await;
    assert_eq!(first as usize, store_weaver::db::MIGRATOR.iter().count());
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for t in ["audit_log", "operations", "stores"] {
        assert!(
            tables.iter().any(|x| x == t),
            "table {t} missing: {tables:?}"
        );
    }
    store_weaver::db::migrate(&db.pool)
        .await
        .expect("second run succeeds");
    assert_eq!(
        count(&db.pool).await,
        first,
        "second run applied nothing new"
    );
    db.drop_db().await;
}

/// A test that fails before `drop_db` (here: the TestDb simply dropped, as
/// unwinding does) still removes its database and the namespaces of its live
/// stores, and nothing else.
#[tokio::test]
async fn a_test_database_dropped_without_drop_db_takes_its_stores_namespaces_along() {
    let db = TestDb::new().await;
    let s = settings(&db.url, "tests/fixtures/charts", &[]);
    let (store, _) = store_weaver::engine::create(
        &db.pool,
        store_weaver::runtime::limits(&s),
        &store_weaver::runtime::naming(&s),
        &store_weaver::store::Actor::new("tester", store_weaver::store::Via::Cli),
        &store_weaver::engine::CreateRequest {
            name: unique("Left Behind"),
            owner: "cleanup@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let client = kube().await;
    let nss: Api<Namespace> = Api::all(client);
    let labelled = |name: &str, id: &str| Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                [(
                    store_weaver::cluster::STORE_ID_LABEL.to_string(),
                    id.to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    nss.create(
        &PostParams::default(),
        &labelled(&store.namespace, &store.id.to_string()),
    )
    .await
    .unwrap();
    // A namespace of another store (not in this database) is not touched.
    let other = format!(
        "sw-other-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    nss.create(
        &PostParams::default(),
        &labelled(&other, &uuid::Uuid::now_v7().to_string()),
    )
    .await
    .unwrap();
    let name = db.name.clone();
    drop(db);

    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&require_env("DATABASE_URL"))
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "the database {name} is still there");
    let gone = |ns: Option<Namespace>| ns.is_none_or(|n| n.metadata.deletion_timestamp.is_some());
    assert!(
        gone(nss.get_opt(&store.namespace).await.unwrap()),
        "the store's namespace {} was left behind",
        store.namespace
    );
    let kept = nss.get_opt(&other).await.unwrap();
    assert!(
        kept.is_some_and(|n| n.metadata.deletion_timestamp.is_none()),
        "another store's namespace was deleted"
    );
    let _ = nss.delete(&other, &DeleteParams::default()).await;
}

#[tokio::test]
async fn the_client_reaches_the_api_server_over_tls_and_lists_ready_nodes() {
    let kubeconfig = std::fs::read_to_string(require_env("KUBECONFIG")).unwrap();
    assert!(
        kubeconfig.contains("server: https://127.0.0.1:"),
        "the sandbox API is served over TLS on loopback"
    );
    let client = kube().await;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(!nodes.items.is_empty(), "kwok registered nodes");
    let ready = nodes.items.iter().filter(|n| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    assert!(ready.count() >= 1, "at least one node is Ready");
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
    assert!(
        version.git_version.starts_with("v1.37"),
        "{}",
        version.git_version
    );
}

#[tokio::test]
async fn a_deleted_namespace_really_disappears() {
    let client = kube().await;
    let api: Api<Namespace> = Api::all(client);
    let name = format!(
        "sw-foundation-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns).await.unwrap();
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    // Finalisation is the controller manager's work: this proves it runs.
    eventually(Duration::from_secs(60), "namespace to be gone", || {
        let api = api.clone();
        let name = name.clone();
        async move { api.get_opt(&name).await.unwrap().is_none().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_deployment_installed_with_helm_becomes_ready_under_kwok() {
    let client = kube().await;
    let ns = format!(
        "sw-helm-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let chart = repo("tests/fixtures/charts/woocommerce");
    let out = Command::new("helm")
        .args([
            "install",
            "tiny",
            chart.to_str().unwrap(),
            "-n",
            &ns,
            "--create-namespace",
        ])
        .args([
            "--set",
            "store.id=foundation-test",
            "--set",
            "existingSecret=none",
        ])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm (scripts/sandbox builds it; PATH comes from scripts/sandbox env)");
    assert!(
        out.status.success(),
        "helm install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let ready = eventually(Duration::from_secs(60), "deployment/web ready", || {
        let d = deployments.clone();
        async move {
            let dep = d.get("web").await.ok()?;
            let ready = dep.status?.ready_replicas.unwrap_or(0);
            (ready >= 1).then_some(ready)
        }
    })
    .await;
    assert_eq!(ready, 1);
    let _ = Command::new("helm")
        .args(["uninstall", "tiny", "-n", &ns])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output();
    let _ = Api::<Namespace>::all(client)
        .delete(&ns, &DeleteParams::default())
        .await;
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_store-weaver"));
    // Only what each test sets: nothing from the developer's environment.
    for var in [
        "DATABASE_URL",
        "KUBECONFIG",
        "MAX_STORES",
        "MAX_STORES_PER_USER",
        "MAX_CONCURRENT_PROVISIONS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"));
    cmd
}

#[test]
fn config_precedence_is_file_then_env_then_flag_and_says_where_each_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "max_stores = 10\nmax_stores_per_user = 2\ndatabase_url = \"postgres://sw:hunter2@db:5432/sw\"\n").unwrap();

    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("10") && line("max_stores").contains("file "),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "the password is masked: {text}");
    assert!(
        line("database_url").contains("postgres://sw:****@db:5432/sw"),
        "{text}"
    );

    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .env("MAX_STORES", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("20")
            && line("max_stores").contains("environment variable MAX_STORES"),
        "{text}"
    );
    assert!(
        line("max_stores_per_user").contains("2"),
        "file value still used for other keys: {text}"
    );

    let out = binary()
        .arg("--config")
        .arg(&file)
        .args(["config", "--max-stores", "30"])
        .env("MAX_STORES", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("max_stores").contains("30") && line("max_stores").contains("flag --max-stores"),
        "{text}"
    );
}

#[test]
fn a_malformed_value_fails_naming_the_key_the_source_and_what_is_expected() {
    let out = binary()
        .arg("config")
        .env("MAX_STORES", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`max_stores`") && err.contains("environment variable MAX_STORES"),
        "{err}"
    );
    assert!(err.contains("whole number"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "max_stores = \"many\"\n").unwrap();
    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`max_stores`") && err.contains(&file.display().to_string()),
        "{err}"
    );

    std::fs::write(&file, "max_stores = [\n").unwrap();
    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid TOML"));
}

#[test]
fn integers_beyond_their_range_are_refused_with_the_usual_error() {
    // Before: `as u32` made 2^32 workers mean 0 workers and 2^32+1 stores mean 1.
    for (args, key, range) in [
        (["--workers", "4294967296"], "`workers`", "from 0 to 256"),
        (
            ["--max-stores", "4294967297"],
            "`max_stores`",
            "from 1 to 1000000",
        ),
    ] {
        let out = binary().args(args).arg("config").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(key) && err.contains(&format!("flag {}", args[0])) && err.contains(range),
            "{args:?}: {err}"
        );
        assert!(err.contains(args[1]), "says what it got: {err}");
    }
    let out = binary()
        .args(["config", "--workers", "256"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("flag --workers"));
}

#[test]
fn every_setting_has_a_flag_in_help() {
    let out = binary().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for k in store_weaver::config::KEYS {
        assert!(
            help.contains(&format!("--{}", k.flag)),
            "--help lacks --{}",
            k.flag
        );
        assert!(help.contains(k.env), "--help lacks {}", k.env);
    }
}

/// The layers, lowest first: a room may import its own layer's rooms and
/// lower ones, never a higher one; the faces (layer 4) never import each
/// other.
const LAYERS: &[(&str, u8)] = &[
    ("engines", 0),
    ("store", 0),
    ("account", 0),
    ("text", 0),
    ("config", 1),
    ("logging", 1),
    ("metrics", 1),
    ("db", 1),
    ("helm", 1),
    ("leftovers", 1),
    ("cluster", 1),
    ("backup", 1),
    ("engine", 2),
    ("incident", 2),
    ("runtime", 3),
    ("doctor", 3),
    ("tui", 4),
    ("serve", 4),
    ("commands", 4),
    ("cli", 5),
    ("completions", 5),
];

/// Known violations being fixed by others (issue 12); each entry must still
/// occur, so the list can only shrink: (file, imported room).
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// The rooms a line of Rust names through `crate::`.
fn crate_rooms(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c::{d, e}}`: the first segment of each item.
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                let end = ch == '}' && depth == 0;
                match ch {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    _ => {}
                }
                if (ch == ',' && depth == 0) || end {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        out.push(name);
                    }
                    item.clear();
                    if end {
                        break;
                    }
                } else if depth == 0 {
                    item.push(ch);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn imports_point_down_the_layers_only() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |room: &str| LAYERS.iter().find(|(r, _)| *r == room).map(|(_, n)| *n);
    let mut problems = Vec::new();
    let mut seen_known = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if first == "main" || first == "lib" {
            continue;
        }
        let Some(own) = rank(first) else {
            problems.push(format!(
                "src/{rel}: room `{first}` is in no layer; add it to LAYERS in tests/foundation.rs"
            ));
            continue;
        };
        // Comment lines dropped, the rest joined, so that a `use crate::{`
        // spread over several lines reads as one.
        let code: String = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut rooms = crate_rooms(&code);
        rooms.sort();
        rooms.dedup();
        for room in rooms {
            if room == first {
                continue;
            }
            let Some(theirs) = rank(&room) else { continue };
            let upward = theirs > own;
            let sideways_face = own == 4 && theirs == 4;
            if !(upward || sideways_face) {
                continue;
            }
            if KNOWN_UPWARD.contains(&(rel.as_str(), room.as_str())) {
                seen_known.push((rel.clone(), room.clone()));
                continue;
            }
            problems.push(format!(
                "src/{rel} ({first}, layer {own}) imports {room} (layer {theirs})"
            ));
        }
    }
    for (file, room) in KNOWN_UPWARD {
        if !seen_known.iter().any(|(f, r)| f == file && r == room) {
            problems.push(format!(
                "src/{file} no longer imports {room}: remove it from KNOWN_UPWARD"
            ));
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Which rooms each room imports (through `crate::`), read from src/.
fn room_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let first = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if first == "main" || first == "lib" {
            continue;
        }
        let code: String = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join(" ");
        let entry = graph.entry(first.clone()).or_default();
        for room in crate_rooms(&code) {
            if room != first && LAYERS.iter().any(|(r, _)| *r == room) {
                entry.insert(room);
            }
        }
    }
    graph
}

/// A circle in the graph, as the rooms along it, if there is one.
fn find_circle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        room: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|r| r == room) {
            let mut circle = path[i..].to_vec();
            circle.push(room.to_string());
            return Some(circle);
        }
        if done.contains(room) {
            return None;
        }
        path.push(room.to_string());
        for next in graph.get(room).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(room.to_string());
        None
    }
    let mut done = Default::default();
    graph
        .keys()
        .find_map(|room| visit(room, graph, &mut Vec::new(), &mut done))
}

/// Rooms of one layer may import each other, but never both ways round
/// (nor around a longer loop): the import graph between rooms has no circle.
#[test]
fn rooms_import_each_other_in_no_circle() {
    let graph = room_imports();
    assert!(graph.len() >= 15, "too few rooms read: {graph:?}");
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "rooms import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
    let mut looped = graph.clone();
    looped.entry("text".into()).or_default().insert("db".into());
    assert!(
        find_circle(&looped).is_some(),
        "the circle finder sees db -> text -> db"
    );
}

#[test]
fn the_import_reader_sees_grouped_and_inline_paths() {
    assert_eq!(
        crate_rooms("use crate::engine::{self, Limits};"),
        ["engine"]
    );
    assert_eq!(
        crate_rooms("use crate::{db::stores, store::{Status, Store}};"),
        ["db", "store"]
    );
    assert_eq!(
        crate_rooms("let x = crate::engine::bound_message(&e, crate::config::X);"),
        ["engine", "config"]
    );
}
