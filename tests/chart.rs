//! The store chart (`charts/woocommerce`) against real tools and a real API
//! server: `helm lint`, the schema's refusals, a server-side dry run of the
//! rendered manifests, and a full install into a fresh namespace of the
//! sandbox cluster (kwok nodes mark pods Running/Ready; a supplier gives
//! claims volumes), then uninstall.
//!
//! Needs `helm` and `kubectl` (on PATH, or built by scripts/build-tools.sh in
//! ~/.cache/store-weaver/bin) and a cluster (KUBECONFIG, or the sandbox's
//! kubeconfig): `scripts/sandbox up && source ~/.local/state/store-weaver/sandbox/env`.
//! When one is missing every test that needs it FAILS with a message saying
//! which; none is skipped.
//!
//! Run: `cargo test --test chart`.

mod common;

use common::tools::*;
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const CHART: &str = "charts/woocommerce";
const RELEASE: &str = "store";
const SECRET: &str = "store-credentials";
const SECRET_KEYS: [&str; 11] = [
    "db-root-password",
    "db-password",
    "admin-password",
    "wp-auth-key",
    "wp-secure-auth-key",
    "wp-logged-in-key",
    "wp-nonce-key",
    "wp-auth-salt",
    "wp-secure-auth-salt",
    "wp-logged-in-salt",
    "wp-nonce-salt",
];
const STORE_ID_LABEL: &str = "store-weaver.io/store-id";
const WAIT: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------ tools
// (finding and running helm and kubectl: tests/common/tools.rs)

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> String {
    repo().join(CHART).display().to_string()
}

fn values_file(env: &str) -> String {
    repo()
        .join(CHART)
        .join(format!("values-{env}.yaml"))
        .display()
        .to_string()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_uuid() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The values the engine passes for one store.
fn store_sets(id: &str, host: &str) -> Vec<String> {
    [
        format!("store.id={id}"),
        "store.name=Chart Test Store".to_string(),
        format!("store.host={host}"),
        format!("store.adminEmail=owner@{host}"),
        format!("existingSecret={SECRET}"),
    ]
    .into_iter()
    .flat_map(|kv| ["--set-string".to_string(), kv])
    .collect()
}

fn server_version() -> String {
    let v = kubectl_json(&["version"]);
    let git = v["serverVersion"]["gitVersion"]
        .as_str()
        .expect("serverVersion.gitVersion")
        .to_string();
    git.trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or("1.35.0")
        .to_string()
}

/// A namespace made like the engine makes one, deleted when dropped (also
/// when a test fails halfway).
struct Namespace {
    name: String,
}

impl Namespace {
    fn create(prefix: &str, store_id: &str) -> Namespace {
        let name = format!("{prefix}-{}", random_hex(4));
        let manifest = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {
                    STORE_ID_LABEL: store_id,
                    "app.kubernetes.io/part-of": "store-weaver",
                    "app.kubernetes.io/managed-by": "chart-tests",
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                }
            }
        });
        must(
            kubectl(&["apply", "-f", "-"], Some(manifest.to_string().as_bytes())),
            "creating the test namespace",
        );
        Namespace { name }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl(
            &[
                "delete",
                "namespace",
                &self.name,
                "--ignore-not-found",
                "--wait=false",
            ],
            None,
        );
    }
}

fn labels_of(obj: &Value) -> &Value {
    &obj["metadata"]["labels"]
}

fn describe(obj: &Value) -> String {
    format!(
        "{} {}",
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

// ------------------------------------------------------------------ tests

#[test]
fn setup_script_shell_test_passes() {
    let script = repo().join(CHART).join("tests/setup-script-test.sh");
    let out = run(
        Command::new("bash").arg(&script),
        None,
        Duration::from_secs(300),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "bash {} failed:\n{}\n{}",
        script.display(),
        stdout,
        text(&out.stderr)
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the shell test did not report its count:\n{stdout}"
    );
}

#[test]
fn helm_lint_strict_passes_with_each_values_file() {
    let sets = store_sets(&random_uuid(), "lint.localhost");
    for env in [None, Some("local"), Some("prod")] {
        let mut args: Vec<String> = vec!["lint".into(), "--strict".into(), chart()];
        if let Some(env) = env {
            args.extend(["-f".into(), values_file(env)]);
        }
        args.extend(sets.iter().cloned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = must(
            helm(&argv),
            &format!(
                "helm lint --strict with values-{}",
                env.unwrap_or("(defaults)")
            ),
        );
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("0 chart(s) failed"),
            "helm lint output:\n{stdout}"
        );
        assert!(
            !stdout.contains("[WARNING]") && !stdout.contains("[ERROR]"),
            "helm lint output:\n{stdout}"
        );
    }
}

#[test]
fn wrong_values_are_refused_naming_the_key() {
    let id = random_uuid();
    let good = store_sets(&id, "bad.localhost");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--set".into(), "database.persistence.size=banana".into()],
            "/database/persistence/size",
        ),
        (
            vec!["--set".into(), "wordpress.persistence.size=10".into()],
            "/wordpress/persistence/size",
        ),
        (
            vec!["--set".into(), "wordpress.replicas=-1".into()],
            "/wordpress/replicas",
        ),
        (
            vec!["--set-string".into(), "store.host=Not_A_Host".into()],
            "/store/host",
        ),
        (
            vec!["--set".into(), "quota.enabeld=false".into()],
            "enabeld",
        ),
        (
            vec![
                "--set".into(),
                "wordpress.resources.limits.memory=lots".into(),
            ],
            "/wordpress/resources/limits/memory",
        ),
        // Mail: a relay needs a host and a sender; the password is never a value.
        (
            vec!["--set".into(), "smtp.enabled=true".into()],
            "/smtp/host",
        ),
        (
            vec![
                "--set".into(),
                "smtp.enabled=true".into(),
                "--set-string".into(),
                "smtp.host=smtp.example.com".into(),
            ],
            "/smtp/from",
        ),
        (
            vec!["--set-string".into(), "smtp.password=hunter2".into()],
            "'password' not allowed",
        ),
        (
            vec!["--set-string".into(), "smtp.encryption=starttls".into()],
            "/smtp/encryption",
        ),
        (vec!["--set".into(), "smtp.port=70000".into()], "/smtp/port"),
        (
            vec!["--set-string".into(), "woocommerce.googleFonts=no".into()],
            "/woocommerce/googleFonts",
        ),
    ];
    for (extra, key) in cases {
        let mut args: Vec<String> = vec![
            "template".into(),
            RELEASE.into(),
            chart(),
            "--kube-version".into(),
            "1.35.0".into(),
        ];
        args.extend(good.iter().cloned());
        args.extend(extra.iter().cloned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = helm(&argv);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "helm template accepted {extra:?}");
        assert!(
            stderr.contains(key),
            "refusing {extra:?}, helm did not name {key}:\n{stderr}"
        );
    }

    // Required values: the schema names them; without the schema the
    // templates' own `required` does.
    for (missing, schema_key, template_msg) in [
        ("store.id", "/store/id", "store.id is required"),
        ("store.host", "/store/host", "store.host is required"),
        (
            "existingSecret",
            "/existingSecret",
            "existingSecret is required",
        ),
    ] {
        let kept: Vec<String> = good
            .chunks(2)
            .filter(|kv| !kv[1].starts_with(&format!("{missing}=")))
            .flat_map(|kv| kv.iter().cloned())
            .collect();
        for skip_schema in [false, true] {
            let mut args: Vec<String> = vec![
                "template".into(),
                RELEASE.into(),
                chart(),
                "--kube-version".into(),
                "1.35.0".into(),
            ];
            if skip_schema {
                args.push("--skip-schema-validation".into());
            }
            args.extend(kept.iter().cloned());
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = helm(&argv);
            let stderr = text(&out.stderr);
            let want = if skip_schema {
                template_msg
            } else {
                schema_key
            };
            assert!(
                !out.status.success(),
                "helm template without {missing} succeeded (skip schema: {skip_schema})"
            );
            assert!(
                stderr.contains(want),
                "without {missing} (skip schema: {skip_schema}) helm did not say {want:?}:\n{stderr}"
            );
        }
    }
}

/// Renders the chart for `env` and applies it with --dry-run=server in a
/// throwaway namespace; returns the objects as the API server defaulted them.
fn server_dry_run(env: &str) -> (Vec<Value>, String) {
    server_dry_run_with(env, &[])
}

/// [`server_dry_run`] with extra `helm template` arguments (`--set ...`).
fn server_dry_run_with(env: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let id = random_uuid();
    let ns = Namespace::create("chart-dry", &id);
    let host = format!("{}.localhost", ns.name);
    let kube_version = server_version();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart(),
        "-n".into(),
        ns.name.clone(),
        "-f".into(),
        values_file(env),
        "--kube-version".into(),
        kube_version,
    ];
    args.extend(store_sets(&id, &host));
    args.extend(extra.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = must(
        helm(&argv),
        &format!("helm template with values-{env}.yaml {extra:?}"),
    )
    .stdout;
    let out = must(
        kubectl(
            &[
                "apply",
                "--dry-run=server",
                "-n",
                &ns.name,
                "-o",
                "json",
                "-f",
                "-",
            ],
            Some(&rendered),
        ),
        &format!("kubectl apply --dry-run=server of the values-{env}.yaml rendering"),
    );
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("PodSecurity"),
        "values-{env}.yaml: pods would violate the restricted Pod Security profile:\n{stderr}"
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("kubectl printed JSON");
    let items = match list["kind"].as_str() {
        Some("List") => list["items"].as_array().cloned().unwrap_or_default(),
        _ => vec![list],
    };
    (items, id)
}

fn check_rendered_objects(env: &str, items: &[Value], id: &str) {
    let kinds: Vec<&str> = items.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "StatefulSet",
        "Service",
        "Ingress",
        "ConfigMap",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "ServiceAccount",
    ] {
        assert!(
            kinds.contains(&kind),
            "values-{env}.yaml renders no {kind}: {kinds:?}"
        );
    }
    assert!(
        !kinds.contains(&"Secret"),
        "the chart must never render a Secret (values-{env}.yaml)"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "NetworkPolicy").count(),
        4,
        "network policies: {kinds:?}"
    );

    for obj in items {
        let labels = labels_of(obj);
        assert_eq!(
            labels[STORE_ID_LABEL],
            id,
            "{} lacks {STORE_ID_LABEL}={id}: {labels}",
            describe(obj)
        );
        assert_eq!(
            labels["app.kubernetes.io/part-of"],
            "store-weaver",
            "{}: {labels}",
            describe(obj)
        );
        for key in [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
        ] {
            assert!(
                labels[key].is_string(),
                "{} lacks {key}: {labels}",
                describe(obj)
            );
        }
        let Some(pod) = obj["spec"]["template"].as_object() else {
            continue;
        };
        let what = describe(obj);
        let pod_labels = &pod["metadata"]["labels"];
        assert_eq!(
            pod_labels[STORE_ID_LABEL], id,
            "{what}: pod template lacks {STORE_ID_LABEL}"
        );
        assert_eq!(
            pod_labels["app.kubernetes.io/part-of"], "store-weaver",
            "{what}: pod template"
        );
        let spec = &pod["spec"];
        assert_eq!(
            spec["automountServiceAccountToken"], false,
            "{what}: automountServiceAccountToken"
        );
        assert_eq!(
            spec["securityContext"]["runAsNonRoot"], true,
            "{what}: runAsNonRoot"
        );
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{what}: seccomp"
        );
        let containers = spec["containers"].as_array().into_iter().flatten();
        let inits = spec["initContainers"].as_array().into_iter().flatten();
        for c in containers.chain(inits) {
            let cname = format!("{what} container {}", c["name"]);
            for side in ["requests", "limits"] {
                for res in ["cpu", "memory"] {
                    assert!(
                        c["resources"][side][res].is_string(),
                        "{cname}: no {side}.{res}"
                    );
                }
            }
            assert_eq!(
                c["securityContext"]["allowPrivilegeEscalation"], false,
                "{cname}"
            );
            assert_eq!(
                c["securityContext"]["capabilities"]["drop"],
                json!(["ALL"]),
                "{cname}"
            );
            assert!(
                c["securityContext"]["capabilities"]["add"].is_null(),
                "{cname} adds capabilities"
            );
            assert_no_secret_in_the_open(&cname, c);
            // A failing step's last log lines reach the pod's status (and
            // the store's health); the default, File, says only "Error".
            assert_eq!(
                c["terminationMessagePolicy"], "FallbackToLogsOnError",
                "{cname}: terminationMessagePolicy"
            );
        }
        for vct in obj["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(
                vct["metadata"]["labels"][STORE_ID_LABEL], id,
                "{what}: volumeClaimTemplate labels"
            );
        }
    }
}

/// A secret reaches a container only as a secretKeyRef: never as a literal
/// env value, never on its command line (where `ps`, the API and the events
/// would show it).
fn assert_no_secret_in_the_open(cname: &str, c: &Value) {
    for var in c["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap_or("");
        let secretish = ["PASSWORD", "_KEY", "_SALT", "SECRET", "TOKEN"]
            .iter()
            .any(|s| name.contains(s));
        if secretish {
            assert!(
                var["value"].is_null() && var["valueFrom"]["secretKeyRef"]["key"].is_string(),
                "{cname}: {name} must come from a Secret: {var}"
            );
        }
    }
    let cmdline: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|k| c[*k].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let joined = cmdline.join(" ").to_lowercase();
    for word in ["password", "secret", "$("] {
        assert!(
            !joined.contains(word),
            "{cname}: command line mentions {word:?}: {cmdline:?}"
        );
    }
}

fn container<'a>(items: &'a [Value], workload: &str, name: &str) -> &'a Value {
    let obj = items
        .iter()
        .find(|o| o["kind"] == workload)
        .unwrap_or_else(|| panic!("no {workload}"));
    let spec = &obj["spec"]["template"]["spec"];
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{workload} has no container {name}"))
}

fn env_of<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    c["env"]
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == name))
}

fn env_value(c: &Value, name: &str) -> Option<String> {
    env_of(c, name).and_then(|v| v["value"].as_str().map(String::from))
}

fn setup_config_map(items: &[Value]) -> &Value {
    items
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("the setup ConfigMap")
}

#[test]
fn mu_plugin_php_test_passes() {
    // The platform's mu-plugin (loopback cron, SMTP, Google Fonts) under
    // php-cli with stand-ins for the WordPress functions it calls.
    let plugin = repo().join(CHART).join("files/store-weaver-mu.php");
    let lint = run(
        Command::new("php").arg("-l").arg(&plugin),
        None,
        Duration::from_secs(60),
    );
    assert!(
        lint.status.success(),
        "php -l {} (install php-cli: scripts/install-deps.sh): {}{}",
        plugin.display(),
        text(&lint.stdout),
        text(&lint.stderr)
    );
    let test = repo().join(CHART).join("tests/mu-plugin-test.php");
    let out = run(
        Command::new("php").arg(&test),
        None,
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(" passed, 0 failed"),
        "php {} failed:\n{stdout}\n{}",
        test.display(),
        text(&out.stderr)
    );
}

#[test]
fn copy_wordpress_runs_with_real_tar_as_www_data() {
    // Real tar, as uid 33, on volume roots owned by root with group 33 and
    // mode 2777 (what the kubelet leaves with fsGroup).
    let script = repo().join(CHART).join("tests/copy-wordpress-test.sh");
    let out = run(
        Command::new("bash").arg(&script),
        None,
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(" passed, 0 failed"),
        "bash {} failed:\n{stdout}\n{}",
        script.display(),
        text(&out.stderr)
    );
}

#[test]
fn the_platform_mu_plugin_is_shipped_and_wired() {
    let (items, _) = server_dry_run("local");
    let cm = setup_config_map(&items);
    let shipped = std::fs::read_to_string(repo().join(CHART).join("files/store-weaver-mu.php"))
        .expect("files/store-weaver-mu.php");
    assert_eq!(
        cm["data"]["store-weaver-mu.php"]
            .as_str()
            .map(str::trim_end),
        Some(shipped.trim_end()),
        "the ConfigMap carries the mu-plugin as it is in files/"
    );
    // copy-wordpress.sh finds it where the ConfigMap is mounted.
    let copy = container(&items, "Deployment", "copy-wordpress");
    assert!(
        copy["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["mountPath"] == "/opt/store-weaver" && m["name"] == "setup"),
        "copy-wordpress mounts the setup ConfigMap at /opt/store-weaver: {}",
        copy["volumeMounts"]
    );
    let script = cm["data"]["copy-wordpress.sh"].as_str().expect("script");
    assert!(script.contains("/opt/store-weaver}/store-weaver-mu.php"));
    assert!(script.contains("wp-content/mu-plugins/store-weaver.php"));
    // Scheduled work goes to Apache's real port.
    let wp = container(&items, "Deployment", "wordpress");
    assert_eq!(
        env_value(wp, "STORE_WEAVER_LOOPBACK_URL").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert!(
        cm["data"]["ports.conf"]
            .as_str()
            .is_some_and(|p| p.contains("Listen 8080")),
        "Apache listens where the loopback points"
    );
    assert_eq!(
        env_value(wp, "STORE_WEAVER_GOOGLE_FONTS").as_deref(),
        Some("true"),
        "Storefront's fonts by default"
    );
    // Mail off by default: no relay settings at all.
    assert!(
        wp["env"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|v| !v["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("STORE_WEAVER_SMTP_")),
        "SMTP is off by default: {}",
        wp["env"]
    );

    // Another port and fonts off: the loopback follows the port.
    let (items, _) = server_dry_run_with(
        "local",
        &[
            "--set",
            "wordpress.containerPort=9090",
            "--set",
            "woocommerce.googleFonts=false",
        ],
    );
    let wp = container(&items, "Deployment", "wordpress");
    assert_eq!(
        env_value(wp, "STORE_WEAVER_LOOPBACK_URL").as_deref(),
        Some("http://127.0.0.1:9090")
    );
    assert!(
        setup_config_map(&items)["data"]["ports.conf"]
            .as_str()
            .is_some_and(|p| p.contains("Listen 9090"))
    );
    assert_eq!(
        env_value(wp, "STORE_WEAVER_GOOGLE_FONTS").as_deref(),
        Some("false")
    );
}

#[test]
fn smtp_settings_reach_wordpress_with_the_password_only_from_a_secret() {
    let relay = [
        "--set",
        "smtp.enabled=true",
        "--set-string",
        "smtp.host=smtp.example.com",
        "--set",
        "smtp.port=465",
        "--set-string",
        "smtp.encryption=ssl",
        "--set-string",
        "smtp.user=stores@example.com",
        "--set-string",
        "smtp.from=orders@example.com",
    ];
    let (items, id) = server_dry_run_with("prod", &relay);
    check_rendered_objects("prod", &items, &id);
    let wp = container(&items, "Deployment", "wordpress");
    for (name, want) in [
        ("STORE_WEAVER_SMTP_HOST", "smtp.example.com"),
        ("STORE_WEAVER_SMTP_PORT", "465"),
        ("STORE_WEAVER_SMTP_ENCRYPTION", "ssl"),
        ("STORE_WEAVER_SMTP_USER", "stores@example.com"),
        ("STORE_WEAVER_SMTP_FROM", "orders@example.com"),
        ("STORE_WEAVER_SMTP_FROM_NAME", "Chart Test Store"),
    ] {
        assert_eq!(env_value(wp, name).as_deref(), Some(want), "{name}");
    }
    let pw = env_of(wp, "STORE_WEAVER_SMTP_PASSWORD").expect("the SMTP password variable");
    assert!(pw["value"].is_null(), "the password is never a value: {pw}");
    assert_eq!(
        pw["valueFrom"]["secretKeyRef"],
        json!({"name": SECRET, "key": "smtp-password"}),
        "by default the store's own Secret"
    );
    // The setup step sends no mail: it gets none of it.
    let setup = container(&items, "Deployment", "setup-store");
    assert!(env_of(setup, "STORE_WEAVER_SMTP_PASSWORD").is_none());

    let mut other: Vec<&str> = relay.to_vec();
    other.extend([
        "--set-string",
        "smtp.passwordSecret=platform-relay",
        "--set-string",
        "smtp.passwordKey=password",
    ]);
    let (items, _) = server_dry_run_with("prod", &other);
    let wp = container(&items, "Deployment", "wordpress");
    assert_eq!(
        env_of(wp, "STORE_WEAVER_SMTP_PASSWORD").expect("password var")["valueFrom"]["secretKeyRef"],
        json!({"name": "platform-relay", "key": "password"})
    );

    // Without a user: no authentication, so no password reference at all.
    let no_user: Vec<&str> = relay
        .chunks(2)
        .filter(|kv| !kv[1].starts_with("smtp.user="))
        .flatten()
        .copied()
        .collect();
    let (items, _) = server_dry_run_with("prod", &no_user);
    let wp = container(&items, "Deployment", "wordpress");
    assert!(env_of(wp, "STORE_WEAVER_SMTP_PASSWORD").is_none());
    assert_eq!(
        env_value(wp, "STORE_WEAVER_SMTP_HOST").as_deref(),
        Some("smtp.example.com")
    );
}

#[test]
fn local_values_pass_a_server_side_dry_run() {
    let (items, id) = server_dry_run("local");
    check_rendered_objects("local", &items, &id);
    let ingress = items
        .iter()
        .find(|o| o["kind"] == "Ingress")
        .expect("an Ingress");
    assert_eq!(ingress["spec"]["ingressClassName"], "traefik");
    assert!(
        ingress["spec"]["tls"].is_null(),
        "local stores are served over plain http"
    );
}

#[test]
fn prod_values_pass_a_server_side_dry_run() {
    let (items, id) = server_dry_run("prod");
    check_rendered_objects("prod", &items, &id);
    let ingress = items
        .iter()
        .find(|o| o["kind"] == "Ingress")
        .expect("an Ingress");
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt-prod"
    );
    let host = ingress["spec"]["rules"][0]["host"]
        .as_str()
        .expect("a host")
        .to_string();
    assert_eq!(ingress["spec"]["tls"][0]["hosts"], json!([host]));
    assert_eq!(
        ingress["spec"]["tls"][0]["secretName"],
        format!("{}-tls", host.replace('.', "-"))
    );
}

fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if Instant::now() > deadline => {
                panic!("{what} not within {}s: {why}", timeout.as_secs())
            }
            Err(_) => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[test]
fn installs_into_a_fresh_namespace_and_uninstalls_cleanly() {
    let id = random_uuid();
    let ns = Namespace::create("chart-test", &id);
    let n = ns.name.as_str();
    let host = format!("{n}.localhost");

    // What the engine does before helm: the Secret with every key, random values.
    let data: serde_json::Map<String, Value> = SECRET_KEYS
        .iter()
        .map(|k| (k.to_string(), Value::String(random_hex(24))))
        .collect();
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": n, "labels": {STORE_ID_LABEL: id}},
        "type": "Opaque",
        "stringData": data,
    });
    must(
        kubectl(&["apply", "-f", "-"], Some(secret.to_string().as_bytes())),
        "creating the store Secret",
    );

    // The engine's command: no --wait.
    let mut args: Vec<String> = vec![
        "upgrade".into(),
        "--install".into(),
        RELEASE.into(),
        chart(),
        "-n".into(),
        n.into(),
        "-f".into(),
        values_file("local"),
    ];
    args.extend(store_sets(&id, &host));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    must(helm_cluster(&argv), "helm upgrade --install");

    // Every object of the release, as it is in the cluster.
    let manifest = must(
        helm_cluster(&["get", "manifest", RELEASE, "-n", n]),
        "helm get manifest",
    )
    .stdout;
    let live = must(
        kubectl(&["get", "-n", n, "-o", "json", "-f", "-"], Some(&manifest)),
        "kubectl get -f <manifest>",
    );
    let live: Value = serde_json::from_slice(&live.stdout).expect("JSON");
    let objects = live["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![live.clone()]);
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "StatefulSet",
        "Service",
        "Ingress",
        "ConfigMap",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "PersistentVolumeClaim",
    ] {
        assert!(
            kinds.contains(&kind),
            "the installed release has no {kind}: {kinds:?}"
        );
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "Service").count(),
        2,
        "services: {kinds:?}"
    );
    for obj in &objects {
        assert_eq!(
            labels_of(obj)[STORE_ID_LABEL],
            id,
            "{} lacks {STORE_ID_LABEL}",
            describe(obj)
        );
    }
    // The platform's watches select on the label: they find the workloads.
    let selected = kubectl_json(&[
        "get",
        "deployments,statefulsets",
        "-n",
        n,
        "-l",
        &format!("{STORE_ID_LABEL}={id}"),
    ]);
    assert_eq!(
        selected["items"].as_array().map(Vec::len),
        Some(2),
        "label selector finds: {selected}"
    );

    // Pods (kwok marks them Running/Ready) and claims (the supplier binds them).
    let pods = wait_for("both store pods Running and Ready", WAIT, || {
        let pods = kubectl_json(&["get", "pods", "-n", n]);
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        let ready: Vec<&Value> = items.iter().filter(|p| pod_ready(p)).collect();
        let components: Vec<&str> = ready
            .iter()
            .filter_map(|p| p["metadata"]["labels"]["app.kubernetes.io/component"].as_str())
            .collect();
        if components.contains(&"wordpress") && components.contains(&"database") {
            Ok(items)
        } else {
            let states: Vec<String> = items
                .iter()
                .map(|p| {
                    let conds: Vec<String> = p["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            format!(
                                "{}={}",
                                c["type"].as_str().unwrap_or("?"),
                                c["status"].as_str().unwrap_or("?")
                            )
                        })
                        .collect();
                    format!(
                        "{} {} [{}]",
                        p["metadata"]["name"],
                        p["status"]["phase"],
                        conds.join(" ")
                    )
                })
                .collect();
            // A sandbox whose kwok nodes miss heartbeats shows NodeNotReady
            // here: the node controller then marks pods NotReady, not the chart.
            let events = text(
                &kubectl(
                    &["get", "events", "-n", n, "--sort-by=.lastTimestamp"],
                    None,
                )
                .stdout,
            );
            let nodes = text(&kubectl(&["get", "nodes"], None).stdout);
            Err(format!(
                "pods: {states:#?}\nevents:\n{events}\nnodes:\n{nodes}"
            ))
        }
    });
    let pvcs = wait_for("both claims Bound", WAIT, || {
        let pvcs = kubectl_json(&["get", "pvc", "-n", n]);
        let items = pvcs["items"].as_array().cloned().unwrap_or_default();
        if items.len() == 2 && items.iter().all(|c| c["status"]["phase"] == "Bound") {
            Ok(items)
        } else {
            Err(format!(
                "claims: {:?}",
                items
                    .iter()
                    .map(|c| (c["metadata"]["name"].clone(), c["status"]["phase"].clone()))
                    .collect::<Vec<_>>()
            ))
        }
    });
    // What controllers made from the chart's templates carries the label too.
    let replica_sets = kubectl_json(&["get", "replicasets", "-n", n]);
    for obj in pods
        .iter()
        .chain(pvcs.iter())
        .chain(replica_sets["items"].as_array().into_iter().flatten())
    {
        assert_eq!(
            labels_of(obj)[STORE_ID_LABEL],
            id,
            "{} lacks {STORE_ID_LABEL}",
            describe(obj)
        );
    }
    for pod in &pods {
        let inits = pod["spec"]["initContainers"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        if pod["metadata"]["labels"]["app.kubernetes.io/component"] == "wordpress" {
            assert_eq!(
                inits, 2,
                "the WordPress pod runs copy-wordpress and setup-store first"
            );
        }
    }
    let sts = kubectl_json(&["get", "statefulset", "-n", n, &format!("{RELEASE}-mariadb")]);
    let deploy = wait_for("the Deployment to report 1 ready replica", WAIT, || {
        let d = kubectl_json(&[
            "get",
            "deployment",
            "-n",
            n,
            &format!("{RELEASE}-wordpress"),
        ]);
        if d["status"]["readyReplicas"] == 1 {
            Ok(d)
        } else {
            Err(format!("status: {}", d["status"]))
        }
    });
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    let quota = kubectl_json(&["get", "resourcequota", "-n", n, &format!("{RELEASE}-quota")]);
    assert_eq!(
        quota["status"]["used"]["persistentvolumeclaims"], "2",
        "quota usage: {}",
        quota["status"]
    );

    // The engine re-runs its command (retries, renames): upgrades apply
    // cleanly, the StatefulSet's immutable claim template included.
    must(
        helm_cluster(&argv),
        "helm upgrade --install again with the same values",
    );
    let mut renamed = args.clone();
    let at = renamed
        .iter()
        .position(|a| a == "store.name=Chart Test Store")
        .expect("store.name set");
    renamed[at] = "store.name=Renamed Store".into();
    let argv: Vec<&str> = renamed.iter().map(String::as_str).collect();
    must(
        helm_cluster(&argv),
        "helm upgrade --install with a new store.name",
    );
    let deploy = kubectl_json(&[
        "get",
        "deployment",
        "-n",
        n,
        &format!("{RELEASE}-wordpress"),
    ]);
    let setup = deploy["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "setup-store"))
        .expect("a setup-store init container");
    let title = setup["env"]
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == "STORE_TITLE"))
        .expect("STORE_TITLE");
    assert_eq!(title["value"], "Renamed Store");
    let history = must(
        helm_cluster(&["history", RELEASE, "-n", n, "-o", "json"]),
        "helm history",
    );
    let history: Value = serde_json::from_slice(&history.stdout).expect("JSON");
    assert_eq!(
        history.as_array().map(Vec::len),
        Some(3),
        "revisions: {history}"
    );

    // Uninstall, then the namespace: nothing of the store remains.
    must(
        helm_cluster(&["uninstall", RELEASE, "-n", n, "--wait", "--timeout", "120s"]),
        "helm uninstall",
    );
    let status = helm_cluster(&["status", RELEASE, "-n", n]);
    assert!(
        !status.status.success(),
        "the release still exists after uninstall: {}",
        text(&status.stdout)
    );
    let listed = must(helm_cluster(&["list", "-n", n, "-a", "-q"]), "helm list");
    assert!(
        text(&listed.stdout).trim().is_empty(),
        "releases left: {}",
        text(&listed.stdout)
    );
    must(
        kubectl(&["delete", "namespace", n, "--wait=false"], None),
        "deleting the namespace",
    );
    wait_for("the namespace to disappear", WAIT, || {
        let out = kubectl(&["get", "namespace", n, "-o", "name"], None);
        if !out.status.success() && text(&out.stderr).contains("NotFound") {
            Ok(())
        } else {
            let left = text(&kubectl(&["get", "all,pvc", "-n", n], None).stdout);
            Err(format!("still there: {}\n{left}", text(&out.stdout)))
        }
    });
}

#[test]
fn e2e_order_script_passes_against_a_mock_store() {
    // scripts/e2e-order.sh needs a real cluster; this runs it against a local
    // mock of the Store API / REST API and a fake kubectl (see the script).
    let script = repo().join(CHART).join("tests/e2e-order-mock-test.sh");
    let out = run(
        Command::new("bash").arg(&script),
        None,
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "bash {} failed:\n{}\n{}",
        script.display(),
        stdout,
        text(&out.stderr)
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the mock test did not report its count:\n{stdout}"
    );
}

#[test]
fn placement_reaches_every_store_pod_and_setup_can_be_turned_off() {
    let placed = [
        "--set-string",
        "nodeSelector.pool=stores",
        "--set",
        "tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule",
        "--set-string",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=disk",
        "--set",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
    ];
    let (items, _) = server_dry_run_with("local", &placed);
    for workload in ["Deployment", "StatefulSet"] {
        let obj = items
            .iter()
            .find(|o| o["kind"] == workload)
            .unwrap_or_else(|| panic!("no {workload}"));
        let spec = &obj["spec"]["template"]["spec"];
        assert_eq!(spec["nodeSelector"]["pool"], "stores", "{workload}");
        assert_eq!(spec["tolerations"][0]["key"], "dedicated", "{workload}");
        assert_eq!(
            spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                [0]["matchExpressions"][0]["key"],
            "disk",
            "{workload}"
        );
    }
    // Unset: no placement at all (the scheduler's defaults), but for
    // WordPress's own term: an upgrade's new pod on the old pod's node.
    let (items, _) = server_dry_run("local");
    for o in items
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
    {
        let spec = &o["spec"]["template"]["spec"];
        let affinity = spec["affinity"].as_object().cloned().unwrap_or_default();
        let own = o["kind"] == "Deployment";
        assert!(
            spec["nodeSelector"].is_null()
                && spec["tolerations"].is_null()
                && affinity.keys().all(|k| own && k == "podAffinity"),
            "{}: {affinity:?}",
            describe(o)
        );
    }
    // The setup step is on by default and can be left out.
    let on = container(&items, "Deployment", "setup-store");
    assert_eq!(on["name"], "setup-store");
    let (items, _) = server_dry_run_with("local", &["--set", "setup.enabled=false"]);
    let init: Vec<&str> = items
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap()["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(init, ["copy-wordpress"]);
    // A toleration that is not a list is refused, naming the key.
    let out = helm(&[
        "template",
        RELEASE,
        &chart(),
        "-f",
        &values_file("local"),
        "--set",
        "tolerations=x",
        "--set-string",
        "store.id=00000000-0000-4000-8000-000000000000",
        "--set-string",
        "store.host=x.localhost",
        "--set-string",
        "existingSecret=s",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("tolerations"),
        "{}",
        text(&out.stderr)
    );
}

/// The setup step marks itself for the mu-plugin (STORE_WEAVER_STEP=setup),
/// so mails WooCommerce sends during setup are logged as the setup step's,
/// never with "mail is off for this store" while mail is on (issue 28, 7);
/// the WordPress container, which sends the store's mail, is not marked.
#[test]
fn the_setup_step_tells_the_mu_plugin_it_sends_no_mail() {
    let relay = [
        "--set",
        "smtp.enabled=true",
        "--set-string",
        "smtp.host=smtp.example.com",
        "--set-string",
        "smtp.from=orders@example.com",
    ];
    let (items, _) = server_dry_run_with("prod", &relay);
    let cm = setup_config_map(&items);
    let script = cm["data"]["setup-store.sh"]
        .as_str()
        .expect("setup-store.sh");
    assert!(
        script.contains("\nexport STORE_WEAVER_STEP=setup\n"),
        "setup-store.sh marks the setup step"
    );
    let plugin = cm["data"]["store-weaver-mu.php"]
        .as_str()
        .expect("mu-plugin");
    assert!(plugin.contains("'setup' === store_weaver_env( 'STORE_WEAVER_STEP' )"));
    let wp = container(&items, "Deployment", "wordpress");
    assert!(env_of(wp, "STORE_WEAVER_STEP").is_none());
    assert_eq!(
        env_value(wp, "STORE_WEAVER_SMTP_HOST").as_deref(),
        Some("smtp.example.com")
    );
}

/// Issue 27 (13): the store's WordPress is reached only by the ingress
/// controller's pods (never "any pod of kube-system"), and its outbound
/// HTTPS reaches no cluster-private range, carrier-grade NAT included.
#[test]
fn network_policies_name_the_ingress_controller_and_keep_private_ranges_out() {
    for env in ["local", "prod"] {
        let (items, _) = server_dry_run(env);
        let wp = items
            .iter()
            .find(|o| {
                o["kind"] == "NetworkPolicy"
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("-wordpress"))
            })
            .expect("the WordPress network policy");
        let from = &wp["spec"]["ingress"][0]["from"][0];
        let pods = from["podSelector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(
            !pods.is_empty(),
            "values-{env}.yaml: every pod of the ingress controller's namespace may reach WordPress: {from}"
        );
        let except: Vec<&str> = wp["spec"]["egress"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["to"][0]["ipBlock"]["except"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for range in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "100.64.0.0/10",
        ] {
            assert!(
                except.contains(&range),
                "values-{env}.yaml: egress reaches {range}: {except:?}"
            );
        }
    }
    // Removing the labels is refused, naming the key. (A `{}` in a values
    // file merges with the default and keeps it; null removes it.)
    let id = random_uuid();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart(),
        "-f".into(),
        values_file("prod"),
    ];
    args.extend(store_sets(&id, "np.example.com"));
    args.extend([
        "--set".into(),
        "networkPolicy.ingressController.podLabels=null".into(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = helm(&argv);
    assert!(
        !out.status.success(),
        "empty ingress controller labels were accepted"
    );
    assert!(
        text(&out.stderr).contains("networkPolicy.ingressController.podLabels"),
        "{}",
        text(&out.stderr)
    );
    // An overridden list of exceptions still keeps the private ranges out.
    let mut args = args.clone();
    args.truncate(args.len() - 2);
    args.extend([
        "--set-json".into(),
        "networkPolicy.egressHttps.except=[\"203.0.113.0/24\"]".into(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = text(&must(helm(&argv), "helm template with a custom except").stdout);
    assert!(
        rendered.contains("100.64.0.0/10") && rendered.contains("203.0.113.0/24"),
        "{rendered}"
    );
}

/// The WordPress network policy's egress rules as (ports, peers) pairs.
fn wordpress_egress(items: &[Value]) -> Vec<(Vec<i64>, Vec<Value>)> {
    let np = items
        .iter()
        .find(|o| {
            o["kind"] == "NetworkPolicy"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-wordpress"))
        })
        .expect("the WordPress network policy");
    np["spec"]["egress"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|rule| {
            let ports = rule["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p["port"].as_i64())
                .collect();
            let peers = rule["to"].as_array().cloned().unwrap_or_default();
            (ports, peers)
        })
        .collect()
}

/// Issue 28 (3): with mail on, the store's own policy let WordPress reach
/// only its database and HTTPS, so the relay (587/465/25) was dropped
/// wherever policies are enforced. The relay's port gets a rule: public
/// addresses by default (private ranges kept out, as for HTTPS), or the
/// addresses and in-cluster pods an operator names for a private relay.
#[test]
fn network_policy_lets_mail_reach_the_smtp_relay() {
    let relay = [
        "--set",
        "smtp.enabled=true",
        "--set-string",
        "smtp.host=smtp.example.com",
        "--set",
        "smtp.port=465",
        "--set-string",
        "smtp.encryption=ssl",
        "--set-string",
        "smtp.from=orders@example.com",
    ];
    // Mail off: no port but the database's and HTTPS.
    let (items, _) = server_dry_run("prod");
    let ports: Vec<i64> = wordpress_egress(&items)
        .into_iter()
        .flat_map(|(p, _)| p)
        .collect();
    assert_eq!(ports, vec![3306, 443], "mail off opens nothing else");

    // A public relay: its port on public addresses only.
    let (items, _) = server_dry_run_with("prod", &relay);
    let rules = wordpress_egress(&items);
    let (_, peers) = rules
        .iter()
        .find(|(p, _)| p.contains(&465))
        .unwrap_or_else(|| panic!("no egress rule for the relay's port 465: {rules:?}"));
    let block = &peers[0]["ipBlock"];
    assert_eq!(block["cidr"], "0.0.0.0/0", "{peers:?}");
    let except: Vec<&str> = block["except"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for range in [
        "10.0.0.0/8",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
    ] {
        assert!(
            except.contains(&range),
            "the relay rule reaches {range}: {except:?}"
        );
    }

    // A relay on a private address and one inside the cluster, on two ports.
    let mut private: Vec<&str> = relay.to_vec();
    private.extend([
        "--set-json",
        "networkPolicy.smtp.cidrs=[\"10.20.0.5/32\"]",
        "--set-json",
        "networkPolicy.smtp.ports=[25]",
        "--set-string",
        "networkPolicy.smtp.namespace=mail",
        "--set-json",
        "networkPolicy.smtp.podLabels={\"app\":\"relay\"}",
    ]);
    let (items, _) = server_dry_run_with("prod", &private);
    let rules = wordpress_egress(&items);
    let (ports, peers) = rules
        .iter()
        .find(|(p, _)| p.contains(&465))
        .unwrap_or_else(|| panic!("no egress rule for the relay: {rules:?}"));
    assert!(ports.contains(&25), "the extra port: {ports:?}");
    assert!(
        peers
            .iter()
            .any(|p| p["ipBlock"] == json!({"cidr": "10.20.0.5/32"})),
        "the relay's private address: {peers:?}"
    );
    assert!(
        peers.iter().any(|p| {
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "mail"
                && p["podSelector"]["matchLabels"] == json!({"app": "relay"})
        }),
        "the relay's pods: {peers:?}"
    );
    assert!(
        !peers.iter().any(|p| p["ipBlock"]["cidr"] == "0.0.0.0/0"),
        "named relay addresses replace 'any public address': {peers:?}"
    );

    // Pods of a namespace without their labels would be every pod there.
    let mut loose: Vec<&str> = relay.to_vec();
    loose.extend(["--set-string", "networkPolicy.smtp.namespace=mail"]);
    let id = random_uuid();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart(),
        "-f".into(),
        values_file("prod"),
    ];
    args.extend(store_sets(&id, "np.example.com"));
    args.extend(loose.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = helm(&argv);
    assert!(
        !out.status.success(),
        "a relay namespace without pod labels was accepted"
    );
    assert!(
        text(&out.stderr).contains("networkPolicy.smtp.podLabels"),
        "{}",
        text(&out.stderr)
    );
}

fn wordpress_deployment(items: &[Value]) -> &Value {
    items
        .iter()
        .find(|o| {
            o["kind"] == "Deployment"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-wordpress"))
        })
        .expect("the WordPress Deployment")
}

/// Issue 28 (2): every upgrade took the shop offline (Recreate). By
/// default the new pod now starts beside the old one, required on its node
/// (ReadWriteOnce is per node), and the old one goes once the new one is
/// Ready; Recreate stays a choice, and ReadWriteOncePod (one pod only)
/// refuses the rolling update. The storefront measured during a real
/// upgrade: tests/real_upgrade.rs.
#[test]
fn upgrades_roll_on_the_old_pods_node_unless_told_to_recreate() {
    let own_pods = json!({
        "labelSelector": {"matchLabels": {
            "app.kubernetes.io/name": "woocommerce",
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/component": "wordpress",
        }},
        "topologyKey": "kubernetes.io/hostname",
    });
    // An operator's own affinity is kept beside the chart's term.
    let zone = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "pool", "operator": "In", "values": ["stores"]}
        ]}]
    }}});
    let zone_arg = format!("affinity={zone}");
    let (items, _) = server_dry_run_with("prod", &["--set-json", &zone_arg]);
    let d = wordpress_deployment(&items);
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(
        pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
        json!([own_pods]),
        "the new pod is required on the node of the store's own WordPress pod"
    );
    assert_eq!(pod["affinity"]["nodeAffinity"], zone["nodeAffinity"]);
    let wp = container(&items, "Deployment", "wordpress");
    assert_eq!(
        wp["lifecycle"]["preStop"]["exec"]["command"],
        json!(["sleep", "5"]),
        "a stopping pod answers while the ingress controller catches up"
    );
    // The database's pod gets the operator's affinity only.
    let db = items
        .iter()
        .find(|o| o["kind"] == "StatefulSet")
        .expect("the database");
    assert_eq!(db["spec"]["template"]["spec"]["affinity"], zone);

    let (items, _) = server_dry_run_with(
        "prod",
        &["--set-string", "wordpress.updateStrategy=Recreate"],
    );
    let d = wordpress_deployment(&items);
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
    assert!(d["spec"]["template"]["spec"]["affinity"].is_null(), "{d}");

    let (items, _) = server_dry_run_with(
        "prod",
        &[
            "--set-json",
            "wordpress.persistence.accessModes=[\"ReadWriteMany\"]",
        ],
    );
    let d = wordpress_deployment(&items);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert!(
        d["spec"]["template"]["spec"]["affinity"].is_null(),
        "a ReadWriteMany claim ties no pod to a node: {d}"
    );

    let id = random_uuid();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart(),
        "-f".into(),
        values_file("prod"),
    ];
    args.extend(store_sets(&id, "rollout.example.com"));
    for (set, want) in [
        (
            "wordpress.persistence.accessModes=[\"ReadWriteOncePod\"]",
            "wordpress.updateStrategy",
        ),
        ("wordpress.updateStrategy=\"Rolling\"", "updateStrategy"),
    ] {
        let mut a = args.clone();
        a.extend(["--set-json".into(), set.into()]);
        let argv: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = helm(&argv);
        assert!(!out.status.success(), "{set} was accepted");
        assert!(
            text(&out.stderr).contains(want),
            "{set}: {}",
            text(&out.stderr)
        );
    }
}
