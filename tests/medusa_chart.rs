//! The Medusa store chart (`charts/medusa`) against real tools: `helm lint`,
//! `helm template` and its schema's refusals, the rendered objects read back
//! as JSON by kubectl (client-side, with the sandbox API server's discovery),
//! and a server-side dry run under the restricted Pod Security profile.
//!
//! What the tests hold the chart to is the Medusa contract (charts/medusa/README.md): the
//! workload, container and Service names the engine relies on, the Secret's
//! keys, the Ingress's split between the server's paths and the storefront,
//! and the WooCommerce chart's guard rails (quota, limits, default-deny
//! network policies, non-root, no secret in values).
//!
//! Needs `helm` and `kubectl` (on PATH, or built by scripts/build-tools.sh in
//! ~/.cache/store-weaver/bin) and a cluster (KUBECONFIG, or the sandbox's
//! kubeconfig). When one is missing every test FAILS saying which.
//!
//! Run: `cargo test --test medusa_chart`.

mod common;

use common::tools::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

const CHART: &str = "charts/medusa";
const RELEASE: &str = "shop";
const SECRET: &str = "store-credentials";
/// The Secret's keys (the contract): the chart reads these and no other.
const SECRET_KEYS: [&str; 4] = [
    "db-password",
    "admin-password",
    "jwt-secret",
    "cookie-secret",
];
const STORE_ID_LABEL: &str = "store-weaver.io/store-id";
const COMPONENT: &str = "app.kubernetes.io/component";
/// The paths the Medusa server answers (the contract); the rest is the storefront's.
const SERVER_PATHS: [&str; 8] = [
    "/app",
    "/admin",
    "/auth",
    "/store",
    "/hooks",
    "/static",
    "/health",
    "/storefront-config",
];
const ENVS: [Option<&str>; 3] = [None, Some("local"), Some("prod")];

// ------------------------------------------------------------------ helpers

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

fn env_name(env: Option<&str>) -> String {
    env.map(|e| format!("values-{e}.yaml"))
        .unwrap_or_else(|| "values.yaml".into())
}

/// `bytes` random bytes as hex (names and markers that never collide).
fn random_hex(bytes: usize) -> String {
    let hex =
        uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
    hex[..(bytes * 2).min(hex.len())].to_string()
}

fn random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The values the engine passes for one store.
fn store_sets(id: &str, host: &str) -> Vec<String> {
    [
        format!("store.id={id}"),
        "store.name=Medusa Chart Test".to_string(),
        format!("store.host={host}"),
        format!("store.adminEmail=owner@{host}"),
        format!("existingSecret={SECRET}"),
    ]
    .into_iter()
    .flat_map(|kv| ["--set-string".to_string(), kv])
    .collect()
}

fn template_args(env: Option<&str>, sets: &[String], extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart(),
        "-n".into(),
        "medusa-chart-test".into(),
        "--kube-version".into(),
        "1.35.0".into(),
    ];
    if let Some(env) = env {
        args.extend(["-f".into(), values_file(env)]);
    }
    args.extend(sets.iter().cloned());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn helm_template(args: &[String]) -> std::process::Output {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    helm(&argv)
}

/// The chart rendered for `env` (plus `extra` helm arguments), read back as
/// JSON objects.
fn render(env: Option<&str>, extra: &[&str]) -> (Vec<Value>, String) {
    let id = random_uuid();
    let args = template_args(env, &store_sets(&id, "shop.example.com"), extra);
    let out = must(
        helm_template(&args),
        &format!("helm template with {} {extra:?}", env_name(env)),
    );
    (yaml_to_json(&out.stdout), id)
}

fn describe(obj: &Value) -> String {
    format!(
        "{} {}",
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
    items
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let all: Vec<String> = items.iter().map(describe).collect();
            panic!("no {kind} {name} among {all:?}")
        })
}

fn workloads(items: &[Value]) -> impl Iterator<Item = &Value> {
    items.iter().filter(|o| o["spec"]["template"].is_object())
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect()
}

fn all_containers(pod_spec: &Value) -> impl Iterator<Item = &Value> {
    pod_spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod_spec["containers"].as_array().into_iter().flatten())
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    all_containers(&workload["spec"]["template"]["spec"])
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{} has no container {name}", describe(workload)))
}

fn env_of<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    c["env"]
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == name))
}

/// A Kubernetes quantity in milli-units (cpu: millicores; bytes: milli-bytes,
/// so that both fit one integer type).
fn quantity(q: &Value) -> u128 {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a quantity: {other}"),
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let factor: f64 = match suffix {
        "" => 1000.0,
        "m" => 1.0,
        "k" => 1e6,
        "M" => 1e9,
        "G" => 1e12,
        "Ki" => 1024.0 * 1000.0,
        "Mi" => 1024.0 * 1024.0 * 1000.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0 * 1000.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1000.0,
        other => panic!("quantity {s}: unknown suffix {other}"),
    };
    let n: f64 = num.parse().unwrap_or_else(|_| panic!("quantity {s}"));
    (n * factor).round() as u128
}

// ------------------------------------------------------------------ tests

#[test]
fn helm_lint_strict_passes_with_each_values_file() {
    let sets = store_sets(&random_uuid(), "lint.localhost");
    for env in ENVS {
        let mut args: Vec<String> = vec!["lint".into(), "--strict".into(), chart()];
        if let Some(env) = env {
            args.extend(["-f".into(), values_file(env)]);
        }
        args.extend(sets.iter().cloned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = must(
            helm(&argv),
            &format!("helm lint --strict with {}", env_name(env)),
        );
        let stdout = text(&out.stdout);
        assert!(stdout.contains("0 chart(s) failed"), "helm lint:\n{stdout}");
        assert!(
            !stdout.contains("[WARNING]") && !stdout.contains("[ERROR]"),
            "helm lint:\n{stdout}"
        );
    }
}

/// Every name the engine relies on (MEDUSA-CONTRACT: workloads, containers,
/// init steps in order, Services and their ports, the Ingress).
#[test]
fn renders_the_workloads_and_services_the_contract_names() {
    for env in ENVS {
        let (items, id) = render(env, &[]);
        let what = env_name(env);
        let kinds: Vec<&str> = items.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert!(
            !kinds.contains(&"Secret"),
            "{what}: the chart renders a Secret"
        );
        for kind in [
            "ResourceQuota",
            "LimitRange",
            "ServiceAccount",
            "PersistentVolumeClaim",
        ] {
            assert!(kinds.contains(&kind), "{what}: no {kind}: {kinds:?}");
        }

        let server = find(&items, "Deployment", &format!("{RELEASE}-server"));
        let spec = &server["spec"]["template"]["spec"];
        assert_eq!(
            names(&spec["containers"]),
            ["medusa"],
            "{what}: server containers"
        );
        assert_eq!(
            names(&spec["initContainers"]),
            ["await-database", "migrate", "setup"],
            "{what}: the server pod waits for the database, migrates, then sets up"
        );
        assert_eq!(container(server, "migrate")["args"], json!(["migrate"]));
        assert_eq!(container(server, "setup")["args"], json!(["setup"]));
        let medusa = container(server, "medusa");
        assert_eq!(medusa["command"], json!(["/app/bin/medusa-store"]));
        assert_eq!(
            medusa["args"],
            json!(["server"]),
            "{what}: MEDUSA_WORKER_MODE=server"
        );
        assert_eq!(medusa["ports"][0]["containerPort"], 9000);
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(
                medusa[probe]["httpGet"]["path"], "/health",
                "{what}: {probe}"
            );
        }
        assert_eq!(
            server["spec"]["strategy"]["type"], "Recreate",
            "{what}: RWO uploads"
        );

        let worker = find(&items, "Deployment", &format!("{RELEASE}-worker"));
        let spec = &worker["spec"]["template"]["spec"];
        assert_eq!(
            names(&spec["containers"]),
            ["medusa"],
            "{what}: worker containers"
        );
        assert_eq!(names(&spec["initContainers"]), ["await-schema"], "{what}");
        assert_eq!(container(worker, "medusa")["args"], json!(["worker"]));
        assert_eq!(
            container(worker, "await-schema")["args"],
            json!(["await-schema"])
        );
        let wm = container(worker, "medusa");
        assert_eq!(wm["ports"][0]["containerPort"], 9000, "{what}: worker PORT");
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(
                wm[probe]["httpGet"]["path"], "/health",
                "{what}: worker {probe}"
            );
        }

        let sf = find(&items, "Deployment", &format!("{RELEASE}-storefront"));
        assert_eq!(
            names(&sf["spec"]["template"]["spec"]["containers"]),
            ["storefront"],
            "{what}"
        );
        let storefront = container(sf, "storefront");
        assert_eq!(storefront["args"], json!(["storefront"]));
        assert_eq!(storefront["readinessProbe"]["httpGet"]["path"], "/healthz");
        assert!(
            env_of(storefront, "API_UPSTREAM").is_none(),
            "{what}: the storefront proxies the API only when asked"
        );

        let pg = find(&items, "StatefulSet", &format!("{RELEASE}-postgres"));
        assert_eq!(
            names(&pg["spec"]["template"]["spec"]["containers"]),
            ["postgres"]
        );
        let vct = &pg["spec"]["volumeClaimTemplates"][0];
        assert_eq!(
            vct["metadata"]["labels"][STORE_ID_LABEL],
            id.as_str(),
            "{what}: claim labels"
        );
        let mounts: Vec<&str> = container(pg, "postgres")["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["name"] == vct["metadata"]["name"])
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        assert_eq!(
            mounts,
            ["/var/lib/postgresql/data"],
            "{what}: the claim holds PGDATA"
        );
        let pgdata = env_of(container(pg, "postgres"), "PGDATA").expect("PGDATA");
        assert!(
            pgdata["value"]
                .as_str()
                .is_some_and(|p| p.starts_with("/var/lib/postgresql/data/")),
            "{what}: PGDATA below the claim's root: {pgdata}"
        );
        let redis = find(&items, "Deployment", &format!("{RELEASE}-redis"));
        assert_eq!(
            names(&redis["spec"]["template"]["spec"]["containers"]),
            ["redis"]
        );

        for (svc, port, component) in [
            ("server", 9000, "server"),
            ("storefront", 8000, "storefront"),
            ("postgres", 5432, "postgres"),
            ("redis", 6379, "redis"),
        ] {
            let s = find(&items, "Service", &format!("{RELEASE}-{svc}"));
            assert_eq!(s["spec"]["ports"][0]["port"], port, "{what}: Service {svc}");
            assert_eq!(
                s["spec"]["selector"][COMPONENT], component,
                "{what}: Service {svc}"
            );
            // The backends Medusa dials are headless: their names resolve to
            // ready pods only, and no Service IP has to be routable from pods.
            if matches!(svc, "postgres" | "redis") {
                assert_eq!(s["spec"]["clusterIP"], "None", "{what}: Service {svc}");
            }
        }
        find(&items, "Ingress", RELEASE);

        // Every object and pod carries the store's id; the server's env
        // reaches the database and Redis through these Services.
        for obj in &items {
            assert_eq!(
                obj["metadata"]["labels"][STORE_ID_LABEL],
                id.as_str(),
                "{what}: {} lacks {STORE_ID_LABEL}",
                describe(obj)
            );
        }
        for w in workloads(&items) {
            assert_eq!(
                w["spec"]["template"]["metadata"]["labels"][STORE_ID_LABEL],
                id.as_str(),
                "{what}: pods of {}",
                describe(w)
            );
        }
        let url = env_of(medusa, "DATABASE_URL").expect("DATABASE_URL");
        assert_eq!(
            url["value"],
            format!(
                "postgres://medusa:$(DB_PASSWORD)@{RELEASE}-postgres:5432/medusa?sslmode=disable"
            )
        );
        assert_eq!(
            env_of(medusa, "REDIS_URL").expect("REDIS_URL")["value"],
            format!("redis://{RELEASE}-redis:6379")
        );
    }
}

#[test]
fn required_values_are_refused_with_a_clear_message() {
    let good = store_sets(&random_uuid(), "req.localhost");
    must(
        helm_template(&template_args(None, &good, &[])),
        "helm template with every required value",
    );
    // The schema names the key; without the schema the templates' own
    // `required` says what to set.
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
            let extra: &[&str] = if skip_schema {
                &["--skip-schema-validation"]
            } else {
                &[]
            };
            let out = helm_template(&template_args(Some("local"), &kept, extra));
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
    // The template's message says what the Secret must hold.
    let kept: Vec<String> = good
        .chunks(2)
        .filter(|kv| !kv[1].starts_with("existingSecret="))
        .flat_map(|kv| kv.iter().cloned())
        .collect();
    let out = helm_template(&template_args(None, &kept, &["--skip-schema-validation"]));
    let stderr = text(&out.stderr);
    for key in SECRET_KEYS {
        assert!(
            stderr.contains(key),
            "the message names the key {key}: {stderr}"
        );
    }
}

#[test]
fn the_schema_refuses_unknown_keys_and_wrong_values_naming_them() {
    let good = store_sets(&random_uuid(), "bad.localhost");
    let cases: &[(&[&str], &str)] = &[
        (&["--set", "bogus=1"], "bogus"),
        (&["--set", "quota.enabeld=false"], "enabeld"),
        (&["--set", "server.replica=1"], "replica"),
        (&["--set-string", "postgres.password=hunter2"], "password"),
        (&["--set-string", "medusa.image.digest=sha256:x"], "digest"),
        (&["--set-string", "store.adminPassword=x"], "adminPassword"),
        (
            &["--set-string", "networkPolicy.dns.cidr=1.2.3.4/32"],
            "cidr",
        ),
        (&["--set", "server.replicas=2"], "/server/replicas"),
        (&["--set", "worker.replicas=-1"], "/worker/replicas"),
        (
            &["--set-string", "postgres.persistence.size=banana"],
            "/postgres/persistence/size",
        ),
        (
            &["--set", "server.resources.limits.memory=lots"],
            "/server/resources/limits/memory",
        ),
        (
            &["--set-string", "medusa.image.tag=latest"],
            "/medusa/image/tag",
        ),
        (
            &["--set-string", "redis.image.pullPolicy=Sometimes"],
            "/redis/image/pullPolicy",
        ),
        (&["--set-string", "store.host=Not_A_Host"], "/store/host"),
        (&["--set-string", "store.currency=EURO"], "/store/currency"),
        (&["--set", "storefront.port=80"], "/storefront/port"),
        (
            &["--set", "server.maxOldSpaceMiB=8"],
            "/server/maxOldSpaceMiB",
        ),
        (
            &["--set-string", "networkPolicy.dns.cidrs[0]=nowhere"],
            "/networkPolicy/dns/cidrs/0",
        ),
        (&["--set", "tolerations=x"], "tolerations"),
    ];
    for (extra, key) in cases {
        let out = helm_template(&template_args(None, &good, extra));
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "helm template accepted {extra:?}");
        assert!(
            stderr.contains(key),
            "refusing {extra:?}, helm did not name {key}:\n{stderr}"
        );
    }
}

/// Restricted Pod Security for every pod: non-root, no privilege
/// escalation, no capability, RuntimeDefault seccomp, read-only root file
/// systems; no API token; every container bounded; a failing step's log
/// reaches the pod's status.
#[test]
fn every_pod_is_non_root_unprivileged_and_bounded() {
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        let mut seen = 0;
        for w in workloads(&items) {
            seen += 1;
            let wname = format!("{what}: {}", describe(w));
            let spec = &w["spec"]["template"]["spec"];
            assert_eq!(spec["automountServiceAccountToken"], false, "{wname}");
            assert_eq!(spec["enableServiceLinks"], false, "{wname}");
            let psc = &spec["securityContext"];
            assert_eq!(psc["runAsNonRoot"], true, "{wname}: runAsNonRoot");
            assert!(
                psc["runAsUser"].as_u64().is_some_and(|u| u > 0),
                "{wname}: runAsUser {}",
                psc["runAsUser"]
            );
            assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{wname}");
            for c in all_containers(spec) {
                let cname = format!("{wname} container {}", c["name"]);
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{cname}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{cname}");
                assert!(
                    sc["capabilities"]["add"].is_null(),
                    "{cname} adds capabilities"
                );
                assert!(
                    sc["privileged"].is_null() || sc["privileged"] == false,
                    "{cname}"
                );
                assert!(
                    sc["runAsUser"].is_null() || sc["runAsUser"].as_u64().is_some_and(|u| u > 0),
                    "{cname}: runs as root"
                );
                assert_eq!(
                    sc["readOnlyRootFilesystem"], true,
                    "{cname}: read-only root"
                );
                assert_eq!(
                    c["terminationMessagePolicy"], "FallbackToLogsOnError",
                    "{cname}: terminationMessagePolicy"
                );
                for side in ["requests", "limits"] {
                    for res in ["cpu", "memory"] {
                        assert!(
                            !c["resources"][side][res].is_null(),
                            "{cname}: no {side}.{res}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            seen, 5,
            "{what}: server, worker, storefront, postgres, redis"
        );
        // Medusa writes only to volumes: /tmp everywhere, uploads on the server.
        let server = find(&items, "Deployment", &format!("{RELEASE}-server"));
        let mounts: Vec<&str> = container(server, "medusa")["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        assert!(
            mounts.contains(&"/tmp") && mounts.contains(&"/app/server/static"),
            "{mounts:?}"
        );
    }
}

/// What a pod may use at most, counted as the quota counts it: the larger
/// of its largest init container and the sum of its containers.
fn pod_effective(spec: &Value, side: &str, res: &str) -> u128 {
    let sum: u128 = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| quantity(&c["resources"][side][res]))
        .sum();
    let init = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| quantity(&c["resources"][side][res]))
        .max()
        .unwrap_or(0);
    sum.max(init)
}

#[test]
fn requests_and_limits_fit_the_quota_with_room_for_a_rollout() {
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        let quota = items
            .iter()
            .find(|o| o["kind"] == "ResourceQuota")
            .expect("a ResourceQuota");
        let hard = &quota["spec"]["hard"];
        let lr = items
            .iter()
            .find(|o| o["kind"] == "LimitRange")
            .expect("a LimitRange");
        let lr_container = lr["spec"]["limits"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["type"] == "Container"))
            .expect("container limits");
        let lr_pvc = lr["spec"]["limits"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["type"] == "PersistentVolumeClaim"))
            .expect("claim limits");

        let mut pods: u128 = 0;
        for (side, res) in [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "cpu"),
            ("limits", "memory"),
        ] {
            let mut total: u128 = 0;
            // A RollingUpdate runs one more pod of a Deployment for a while:
            // the largest such surge must fit too.
            let mut surge: u128 = 0;
            pods = 0;
            for w in workloads(&items) {
                let spec = &w["spec"]["template"]["spec"];
                let replicas = w["spec"]["replicas"].as_u64().unwrap_or(1) as u128;
                let per_pod = pod_effective(spec, side, res);
                total += per_pod * replicas;
                pods += replicas;
                let rolling =
                    w["kind"] == "Deployment" && w["spec"]["strategy"]["type"] != "Recreate";
                if rolling && replicas > 0 {
                    surge = surge.max(per_pod);
                }
                for c in all_containers(spec) {
                    assert!(
                        quantity(&c["resources"][side][res]) <= quantity(&lr_container["max"][res]),
                        "{what}: {} container {}: {side}.{res} above the LimitRange's max",
                        describe(w),
                        c["name"]
                    );
                }
            }
            let key = format!("{side}.{res}");
            let cap = quantity(&hard[key.as_str()]);
            assert!(
                total + surge <= cap,
                "{what}: the store's pods need {key} {} (+{} for a rollout), over the quota's {}",
                total,
                surge,
                cap
            );
        }
        assert!(
            pods < quantity(&hard["pods"]) / 1000,
            "{what}: {pods} pods (+1 rolling) over the quota's {}",
            hard["pods"]
        );

        // Claims: each under the LimitRange's max, all under requests.storage.
        let mut claims: Vec<(String, u128)> = items
            .iter()
            .filter(|o| o["kind"] == "PersistentVolumeClaim")
            .map(|c| {
                (
                    describe(c),
                    quantity(&c["spec"]["resources"]["requests"]["storage"]),
                )
            })
            .collect();
        for w in workloads(&items) {
            for t in w["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                claims.push((
                    describe(w),
                    quantity(&t["spec"]["resources"]["requests"]["storage"]),
                ));
            }
        }
        assert_eq!(
            claims.len(),
            2,
            "{what}: uploads and the database: {claims:?}"
        );
        let max = quantity(&lr_pvc["max"]["storage"]);
        for (name, size) in &claims {
            assert!(
                *size <= max,
                "{what}: {name} claims more than the LimitRange allows"
            );
        }
        let sum: u128 = claims.iter().map(|(_, s)| s).sum();
        assert!(
            sum <= quantity(&hard["requests.storage"]),
            "{what}: claims {sum} over requests.storage"
        );
        assert!(claims.len() as u128 <= quantity(&hard["persistentvolumeclaims"]) / 1000);
    }
}

/// Measured: the server idles at ~440 MB RSS and ~500 MB after use; its
/// memory request holds that and its heap ceiling sits below its limit.
#[test]
fn the_server_is_sized_from_measurement() {
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        for (workload, cname) in [
            ("server", "medusa"),
            ("worker", "medusa"),
            ("server", "migrate"),
            ("server", "setup"),
            ("storefront", "storefront"),
        ] {
            let w = find(&items, "Deployment", &format!("{RELEASE}-{workload}"));
            let c = container(w, cname);
            let limit = quantity(&c["resources"]["limits"]["memory"]) / 1000;
            let opts = env_of(c, "NODE_OPTIONS").expect("NODE_OPTIONS")["value"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let heap_mib: u128 = opts
                .strip_prefix("--max-old-space-size=")
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("{what}: {workload}/{cname} NODE_OPTIONS {opts:?}"));
            assert!(
                heap_mib * 1024 * 1024 < limit,
                "{what}: {workload}/{cname}: heap {heap_mib} MiB not below the limit {limit} B"
            );
        }
        let server = find(&items, "Deployment", &format!("{RELEASE}-server"));
        let request =
            quantity(&container(server, "medusa")["resources"]["requests"]["memory"]) / 1000;
        assert!(
            request >= 500 * 1000 * 1000,
            "{what}: server memory request {request} below ~500 MB"
        );
    }
}

// ------------------------------------------------------- network policies

/// Does `selector` (a LabelSelector) select a pod with `labels`?
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let ml_ok = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let me_ok = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or("");
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str() {
                Some("In") => labels
                    .get(key)
                    .is_some_and(|v| values.contains(&v.as_str())),
                Some("NotIn") => labels
                    .get(key)
                    .is_none_or(|v| !values.contains(&v.as_str())),
                Some("Exists") => labels.contains_key(key),
                Some("DoesNotExist") => !labels.contains_key(key),
                other => panic!("operator {other:?}"),
            }
        });
    ml_ok && me_ok
}

fn pod_labels(items: &[Value], component: &str) -> BTreeMap<String, String> {
    let w = workloads(items)
        .find(|w| w["spec"]["template"]["metadata"]["labels"][COMPONENT] == component)
        .unwrap_or_else(|| panic!("no workload of component {component}"));
    serde_json::from_value(w["spec"]["template"]["metadata"]["labels"].clone()).expect("labels")
}

fn port_allowed(ports: &Value, port: u64) -> bool {
    match ports.as_array() {
        None => true,
        Some(ps) => ps.iter().any(|p| p["port"].as_u64() == Some(port)),
    }
}

/// Is traffic from pod `src` to pod `dst` (both of this store) on `port`
/// allowed by the policies, both ways (src's egress, dst's ingress)?
fn allowed(
    policies: &[&Value],
    src: &BTreeMap<String, String>,
    dst: &BTreeMap<String, String>,
    port: u64,
) -> bool {
    let peer_is = |peer: &Value, pod: &BTreeMap<String, String>| {
        // Peers with a namespaceSelector or ipBlock are other namespaces or
        // addresses, never this store's pods.
        peer["namespaceSelector"].is_null()
            && peer["ipBlock"].is_null()
            && selects(&peer["podSelector"], pod)
    };
    let direction = |pod: &BTreeMap<String, String>,
                     kind: &str,
                     rules: &str,
                     peers: &str,
                     other: &BTreeMap<String, String>| {
        let applying: Vec<&&Value> = policies
            .iter()
            .filter(|p| selects(&p["spec"]["podSelector"], pod))
            .filter(|p| {
                p["spec"]["policyTypes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t == kind)
            })
            .collect();
        // Pods that no policy isolates are open (the default-deny makes that moot).
        applying.is_empty()
            || applying.iter().any(|p| {
                p["spec"][rules].as_array().into_iter().flatten().any(|r| {
                    port_allowed(&r["ports"], port)
                        && r[peers]
                            .as_array()
                            .is_none_or(|ps| ps.iter().any(|peer| peer_is(peer, other)))
                })
            })
    };
    direction(src, "Egress", "egress", "to", dst)
        && direction(dst, "Ingress", "ingress", "from", src)
}

#[test]
fn network_policies_deny_by_default_and_allow_only_what_the_store_needs() {
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        let policies: Vec<&Value> = items
            .iter()
            .filter(|o| o["kind"] == "NetworkPolicy")
            .collect();
        let deny = find(&items, "NetworkPolicy", &format!("{RELEASE}-default-deny"));
        assert_eq!(deny["spec"]["podSelector"], json!({}), "{what}: every pod");
        assert_eq!(
            deny["spec"]["policyTypes"],
            json!(["Ingress", "Egress"]),
            "{what}"
        );
        assert!(deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null());

        // Pod to pod inside the store: exactly these (from, to, port).
        let components = ["server", "worker", "storefront", "postgres", "redis"];
        let ports = [9000, 8000, 5432, 6379];
        let want: BTreeSet<(&str, &str, u64)> = [
            ("server", "postgres", 5432),
            ("worker", "postgres", 5432),
            ("server", "redis", 6379),
            ("worker", "redis", 6379),
        ]
        .into_iter()
        .collect();
        let mut got = BTreeSet::new();
        for src in components {
            for dst in components {
                for port in ports {
                    if allowed(
                        &policies,
                        &pod_labels(&items, src),
                        &pod_labels(&items, dst),
                        port,
                    ) {
                        got.insert((src, dst, port));
                    }
                }
            }
        }
        assert_eq!(got, want, "{what}: pod-to-pod traffic the policies allow");

        // From outside: the ingress controller's pods (named by labels, in
        // its namespace) reach the server's and the storefront's ports only.
        let mut reached = BTreeSet::new();
        for p in &policies {
            for rule in p["spec"]["ingress"].as_array().into_iter().flatten() {
                for peer in rule["from"].as_array().into_iter().flatten() {
                    if peer["namespaceSelector"].is_null() {
                        continue;
                    }
                    assert_eq!(
                        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                        "kube-system",
                        "{what}: {}",
                        describe(p)
                    );
                    assert!(
                        peer["podSelector"]["matchLabels"]
                            .as_object()
                            .is_some_and(|m| !m.is_empty()),
                        "{what}: every pod of the controller's namespace may reach {}",
                        describe(p)
                    );
                    for c in components {
                        if selects(&p["spec"]["podSelector"], &pod_labels(&items, c)) {
                            for port in rule["ports"].as_array().into_iter().flatten() {
                                reached.insert((c, port["port"].as_u64().unwrap_or(0)));
                            }
                        }
                    }
                }
            }
        }
        let want: BTreeSet<(&str, u64)> = [("server", 9000), ("storefront", 8000)]
            .into_iter()
            .collect();
        assert_eq!(reached, want, "{what}: what the ingress controller reaches");

        // Egress beyond the store: DNS (port 53) for every pod; HTTPS from
        // the Medusa pods only where turned on (prod), never to a private range.
        let dns = find(&items, "NetworkPolicy", &format!("{RELEASE}-allow-dns"));
        assert_eq!(dns["spec"]["podSelector"], json!({}));
        let dns_ports: BTreeSet<(String, u64)> = dns["spec"]["egress"][0]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["protocol"].as_str().unwrap_or("").to_string(),
                    p["port"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            dns_ports,
            [("TCP".to_string(), 53), ("UDP".to_string(), 53)]
                .into_iter()
                .collect()
        );
        let mut outside: Vec<(String, u64)> = Vec::new();
        for p in &policies {
            for rule in p["spec"]["egress"].as_array().into_iter().flatten() {
                for peer in rule["to"].as_array().into_iter().flatten() {
                    if let Some(cidr) = peer["ipBlock"]["cidr"].as_str() {
                        let except: Vec<&str> = peer["ipBlock"]["except"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        if cidr == "0.0.0.0/0" {
                            for range in [
                                "10.0.0.0/8",
                                "172.16.0.0/12",
                                "192.168.0.0/16",
                                "169.254.0.0/16",
                                "100.64.0.0/10",
                            ] {
                                assert!(except.contains(&range), "{what}: egress reaches {range}");
                            }
                        }
                        for port in rule["ports"].as_array().into_iter().flatten() {
                            outside.push((describe(p), port["port"].as_u64().unwrap_or(0)));
                        }
                    }
                }
            }
        }
        let https_expected = env == Some("prod");
        let medusa_egress = format!("NetworkPolicy {RELEASE}-medusa-egress");
        assert_eq!(
            outside,
            if https_expected {
                vec![(medusa_egress, 443)]
            } else {
                vec![]
            },
            "{what}: addresses outside the cluster"
        );
    }

    // A DNS server outside any pod (the sandbox's, on the node) by address.
    let (items, _) = render(
        Some("local"),
        &["--set-string", "networkPolicy.dns.cidrs[0]=10.250.0.1/32"],
    );
    let dns = find(&items, "NetworkPolicy", &format!("{RELEASE}-allow-dns"));
    assert_eq!(
        dns["spec"]["egress"][0]["to"][1]["ipBlock"]["cidr"],
        "10.250.0.1/32"
    );

    // The storefront forwarding the API: only then storefront -> server.
    let (items, _) = render(Some("local"), &["--set", "storefront.proxyApi=true"]);
    let policies: Vec<&Value> = items
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .collect();
    assert!(allowed(
        &policies,
        &pod_labels(&items, "storefront"),
        &pod_labels(&items, "server"),
        9000
    ));
    assert!(!allowed(
        &policies,
        &pod_labels(&items, "storefront"),
        &pod_labels(&items, "postgres"),
        5432
    ));
    let sf = find(&items, "Deployment", &format!("{RELEASE}-storefront"));
    assert_eq!(
        env_of(container(sf, "storefront"), "API_UPSTREAM").expect("API_UPSTREAM")["value"],
        format!("http://{RELEASE}-server:9000")
    );

    // No labels for the ingress controller: refused, naming the key.
    let args = template_args(
        Some("prod"),
        &store_sets(&random_uuid(), "np.example.com"),
        &["--set", "networkPolicy.ingressController.podLabels=null"],
    );
    let out = helm_template(&args);
    assert!(
        !out.status.success(),
        "empty ingress controller labels were accepted"
    );
    assert!(
        text(&out.stderr).contains("networkPolicy.ingressController.podLabels"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_ingress_sends_the_server_paths_to_the_server_and_the_rest_to_the_storefront() {
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        let ingresses: Vec<&Value> = items.iter().filter(|o| o["kind"] == "Ingress").collect();
        let names: BTreeSet<&str> = ingresses
            .iter()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        let want_names: BTreeSet<String> =
            [RELEASE.to_string(), format!("{RELEASE}-storefront")].into();
        assert_eq!(
            names,
            want_names.iter().map(String::as_str).collect(),
            "{what}: the Ingresses"
        );
        // (pathType, path) -> (Service, port number, Traefik priority if set).
        let mut routes: BTreeMap<(String, String), Backend> = BTreeMap::new();
        for ing in &ingresses {
            assert_eq!(ing["spec"]["ingressClassName"], "traefik", "{what}");
            let rules = ing["spec"]["rules"].as_array().expect("rules");
            assert_eq!(rules.len(), 1);
            assert_eq!(rules[0]["host"], "shop.example.com");
            let priority =
                ing["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.priority"]
                    .as_str()
                    .map(|p| p.parse::<i64>().expect("a number"));
            for p in rules[0]["http"]["paths"].as_array().into_iter().flatten() {
                let svc = p["backend"]["service"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                // The backend port, resolved through the Service to a number.
                let s = find(&items, "Service", &svc);
                let port = &p["backend"]["service"]["port"];
                let number = s["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|sp| sp["name"] == port["name"] || sp["port"] == port["number"])
                    .map(|sp| sp["port"].to_string())
                    .unwrap_or_else(|| panic!("{what}: Service {svc} has no port {port}"));
                let path = p["path"].as_str().unwrap_or("").to_string();
                let kind = p["pathType"].as_str().unwrap_or("").to_string();
                assert!(
                    routes
                        .insert((kind, path.clone()), (svc, number, priority))
                        .is_none(),
                    "{what}: {path} twice"
                );
            }
        }
        let server = (format!("{RELEASE}-server"), "9000".to_string());
        let storefront = (format!("{RELEASE}-storefront"), "8000".to_string());
        let mut want: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
        for p in SERVER_PATHS {
            want.insert(("Exact".into(), p.to_string()), server.clone());
            want.insert(("Prefix".into(), format!("{p}/")), server.clone());
        }
        want.insert(("Prefix".into(), "/".into()), storefront.clone());
        let got: BTreeMap<(String, String), (String, String)> = routes
            .iter()
            .map(|(k, (svc, port, _))| (k.clone(), (svc.clone(), port.clone())))
            .collect();
        assert_eq!(got, want, "{what}: routes");

        // Where requests land, read as the Ingress spec says (longest match,
        // Prefix by whole path segments) and as Traefik does (Prefix as a
        // string, the longest rule string first unless a priority is set):
        // the same under both.
        let server_requests = [
            "/app",
            "/app/",
            "/app/orders",
            "/admin",
            "/admin/orders",
            "/auth/user/emailpass",
            "/store/products",
            "/hooks/payment",
            "/static/a.png",
            "/health",
            "/storefront-config",
        ];
        let storefront_requests = [
            "/",
            "/app.js",
            "/shop.js",
            "/stores",
            "/storefront.css",
            "/healthz",
            "/products/mug",
            "/administrator",
            "/cart",
            "/health-check",
        ];
        for traefik in [false, true] {
            for (requests, to) in [
                (&server_requests[..], &server),
                (&storefront_requests[..], &storefront),
            ] {
                for r in requests {
                    let got = route(&routes, "shop.example.com", r, traefik);
                    assert_eq!(
                        got.as_ref(),
                        Some(to),
                        "{what}: {r} (as Traefik: {traefik})"
                    );
                }
            }
        }
        // The user's annotations (a certificate request) go on one Ingress only.
        let ing = find(&items, "Ingress", RELEASE);
        let sf_ing = find(&items, "Ingress", &format!("{RELEASE}-storefront"));
        if env == Some("prod") {
            assert_eq!(
                ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
                "letsencrypt-prod"
            );
            assert!(sf_ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"].is_null());
            assert_eq!(
                sf_ing["spec"]["tls"], ing["spec"]["tls"],
                "{what}: one certificate"
            );
        }
        let tls = &ing["spec"]["tls"];
        if env == Some("prod") {
            assert_eq!(tls[0]["hosts"], json!(["shop.example.com"]));
            assert_eq!(tls[0]["secretName"], "shop-example-com-tls");
        } else {
            assert!(tls.is_null(), "{what}: tls {tls}");
        }
        // The origin Medusa allows (CORS) follows the scheme.
        let server = find(&items, "Deployment", &format!("{RELEASE}-server"));
        let scheme = if env == Some("prod") { "https" } else { "http" };
        for var in ["STORE_CORS", "ADMIN_CORS", "AUTH_CORS"] {
            assert_eq!(
                env_of(container(server, "medusa"), var).expect(var)["value"],
                format!("{scheme}://shop.example.com"),
                "{what}: {var}"
            );
        }
    }
}

/// A route's backend: Service, port number, Traefik priority annotation.
type Backend = (String, String, Option<i64>);

/// The backend an Ingress controller picks for `path` on `host`. The spec:
/// the longest matching path, Exact before Prefix, Prefix by whole path
/// segments. Traefik (its Kubernetes Ingress provider): Exact is
/// Path(`p`), Prefix is PathPrefix(`p`) matched as a string, and the
/// router with the highest priority wins: the annotation's, else the length
/// of its rule "Host(`h`) && Path(`p`)".
fn route(
    routes: &BTreeMap<(String, String), Backend>,
    host: &str,
    path: &str,
    traefik: bool,
) -> Option<(String, String)> {
    let matches = |kind: &str, rule: &str| -> bool {
        match kind {
            "Exact" => path == rule,
            "Prefix" if traefik => path.starts_with(rule),
            "Prefix" => {
                let rule = rule.trim_end_matches('/');
                rule.is_empty() || path == rule || path.starts_with(&format!("{rule}/"))
            }
            other => panic!("pathType {other}"),
        }
    };
    routes
        .iter()
        .filter(|((kind, rule), _)| matches(kind, rule))
        .max_by_key(|((kind, rule), (_, _, priority))| {
            if traefik {
                let matcher = if kind == "Exact" {
                    "Path"
                } else {
                    "PathPrefix"
                };
                let text = format!("Host(`{host}`) && {matcher}(`{rule}`)");
                (priority.unwrap_or(text.len() as i64), 0)
            } else {
                (
                    rule.trim_end_matches('/').len() as i64,
                    i64::from(kind == "Exact"),
                )
            }
        })
        .map(|(_, (svc, port, _))| (svc.clone(), port.clone()))
}

/// Secrets reach containers only as secretKeyRefs to the store's Secret,
/// with its four keys; DATABASE_URL is composed by the kubelet; nothing
/// secret is a value, in values files, on a command line or in the manifest.
#[test]
fn no_secret_is_a_value_and_the_secret_keys_are_the_contracts() {
    // No values file has a place for a secret.
    for f in ["values.yaml", "values-local.yaml", "values-prod.yaml"] {
        let body = std::fs::read_to_string(repo().join(CHART).join(f)).expect("values file");
        for line in body.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let key = line.split(':').next().unwrap_or("").trim().to_lowercase();
            assert!(
                !(key.contains("password") || key.contains("secret") || key.contains("token"))
                    || key == "existingsecret"
                    // The name of the Ingress's TLS Secret, not a secret.
                    || key == "secretname",
                "{f}: a secret-looking key: {line}"
            );
        }
    }
    for env in ENVS {
        let (items, _) = render(env, &[]);
        let what = env_name(env);
        let mut keys_read = BTreeSet::new();
        for w in workloads(&items) {
            for c in all_containers(&w["spec"]["template"]["spec"]) {
                let cname = format!("{what}: {} container {}", describe(w), c["name"]);
                let env_list = c["env"].as_array().cloned().unwrap_or_default();
                for (i, var) in env_list.iter().enumerate() {
                    let name = var["name"].as_str().unwrap_or("");
                    if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
                        assert_eq!(r["name"], SECRET, "{cname}: {name} from another Secret");
                        keys_read.insert(r["key"].as_str().unwrap_or("").to_string());
                    }
                    let secretish = ["PASSWORD", "SECRET", "TOKEN", "_KEY"]
                        .iter()
                        .any(|s| name.contains(s));
                    if secretish {
                        assert!(
                            var["value"].is_null()
                                && var["valueFrom"]["secretKeyRef"]["key"].is_string(),
                            "{cname}: {name} must come from the Secret: {var}"
                        );
                    }
                    if name == "DATABASE_URL" {
                        let v = var["value"].as_str().unwrap_or("");
                        assert!(v.contains(":$(DB_PASSWORD)@"), "{cname}: {v}");
                        // Dependent expansion sees only variables defined before.
                        let before = env_list[..i].iter().any(|e| {
                            e["name"] == "DB_PASSWORD"
                                && e["valueFrom"]["secretKeyRef"]["key"] == "db-password"
                        });
                        assert!(
                            before,
                            "{cname}: DB_PASSWORD (db-password) is not defined before DATABASE_URL"
                        );
                    }
                }
                let cmdline = ["command", "args"]
                    .iter()
                    .flat_map(|k| c[*k].as_array().into_iter().flatten())
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase();
                for word in ["password", "secret", "$("] {
                    assert!(
                        !cmdline.contains(word),
                        "{cname}: command line mentions {word:?}: {cmdline}"
                    );
                }
                // The admin password goes to the setup step only.
                if env_of(c, "MEDUSA_ADMIN_PASSWORD").is_some() {
                    assert_eq!(c["name"], "setup", "{cname} gets the admin password");
                }
            }
        }
        let want: BTreeSet<String> = SECRET_KEYS.iter().map(|k| k.to_string()).collect();
        assert_eq!(keys_read, want, "{what}: the Secret keys the chart reads");
        assert!(
            !items
                .iter()
                .any(|o| o["kind"] == "Secret" || o["kind"] == "ConfigMap")
        );
    }
    // A secret given as a value anywhere is refused by the schema, and the
    // rendering never carries a literal that looks like the Secret's.
    let marker = format!("Sw{}", random_hex(12));
    let out = helm_template(&template_args(
        None,
        &store_sets(&random_uuid(), "sec.localhost"),
        &["--set-string", &format!("server.env.DB_PASSWORD={marker}")],
    ));
    assert!(
        !out.status.success(),
        "an env override with a password was accepted"
    );
    assert!(!text(&out.stdout).contains(&marker));
}

#[test]
fn placement_reaches_every_pod_and_is_absent_when_unset() {
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
    let (items, _) = render(Some("local"), &placed);
    let mut seen = 0;
    for w in workloads(&items) {
        seen += 1;
        let spec = &w["spec"]["template"]["spec"];
        let what = describe(w);
        assert_eq!(spec["nodeSelector"], json!({"pool": "stores"}), "{what}");
        assert_eq!(spec["tolerations"][0]["key"], "dedicated", "{what}");
        assert_eq!(
            spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                [0]["matchExpressions"][0]["key"],
            "disk",
            "{what}"
        );
    }
    assert_eq!(seen, 5);
    let (items, _) = render(Some("local"), &[]);
    for w in workloads(&items) {
        let spec = &w["spec"]["template"]["spec"];
        assert!(
            spec["nodeSelector"].is_null()
                && spec["tolerations"].is_null()
                && spec["affinity"].is_null(),
            "{}",
            describe(w)
        );
    }
}

/// The sandbox's real-node values for Medusa (scripts/sandbox-node.sh): the
/// script's heredoc, rendered by sourcing it, gives a values file the chart
/// takes, and every pod then asks for the real node and local images.
#[test]
fn the_sandbox_real_node_values_file_renders() {
    let dir = std::env::temp_dir().join(format!("medusa-chart-values-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = format!(
        "set -euo pipefail; die() {{ echo \"$*\" >&2; exit 1; }}; HERE={scripts}; STATE={state}; \
         source {scripts}/sandbox-node.sh; node_values_medusa",
        scripts = repo().join("scripts").display(),
        state = dir.display()
    );
    let out = run(
        std::process::Command::new("bash").args(["-c", &script]),
        None,
        std::time::Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "node_values_medusa: {}",
        text(&out.stderr)
    );
    let file = dir
        .join("real-node-values-medusa.yaml")
        .display()
        .to_string();
    let (items, _) = render(Some("local"), &["-f", &file]);
    let _ = std::fs::remove_dir_all(&dir);
    for w in workloads(&items) {
        let spec = &w["spec"]["template"]["spec"];
        let what = describe(w);
        assert_eq!(
            spec["nodeSelector"]["sandbox.store-weaver.dev/pool"], "real",
            "{what}"
        );
        assert_eq!(
            spec["tolerations"][0]["key"], "sandbox.store-weaver.dev/real-node",
            "{what}"
        );
        for c in all_containers(spec) {
            let image = c["image"].as_str().unwrap_or("");
            assert!(image.starts_with("localhost/sandbox/"), "{what}: {image}");
            assert_eq!(c["imagePullPolicy"], "Never", "{what}: {}", c["name"]);
        }
    }
    let server = find(&items, "Deployment", &format!("{RELEASE}-server"));
    assert_eq!(
        container(server, "medusa")["image"],
        "localhost/sandbox/medusa:2.21.2"
    );
    for claim in items
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
    {
        assert_eq!(claim["spec"]["storageClassName"], "sandbox-local");
    }
    let pg = find(&items, "StatefulSet", &format!("{RELEASE}-postgres"));
    assert_eq!(
        pg["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        "sandbox-local"
    );
    let dns = find(&items, "NetworkPolicy", &format!("{RELEASE}-allow-dns"));
    assert_eq!(
        dns["spec"]["egress"][0]["to"][1]["ipBlock"]["cidr"],
        "10.250.0.1/32"
    );
}

/// A namespace of the test's own, deleted when dropped (also on failure).
struct Namespace {
    name: String,
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

/// The API server takes every object (server-side dry run) and its Pod
/// Security admission finds nothing to warn about under "restricted".
#[test]
fn the_api_server_accepts_every_object_under_restricted_pod_security() {
    for env in ENVS {
        let ns = Namespace {
            name: format!("medusa-dry-{}", random_hex(4)),
        };
        let manifest = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns.name, "labels": {
                "app.kubernetes.io/managed-by": "medusa-chart-tests",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }}
        });
        must(
            kubectl(&["apply", "-f", "-"], Some(manifest.to_string().as_bytes())),
            "creating the test namespace",
        );
        let mut args = template_args(env, &store_sets(&random_uuid(), "dry.localhost"), &[]);
        args[4] = ns.name.clone();
        let rendered = must(helm_template(&args), "helm template").stdout;
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
            &format!(
                "kubectl apply --dry-run=server of the {} rendering",
                env_name(env)
            ),
        );
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains("PodSecurity") && !stderr.to_lowercase().contains("warning"),
            "{}: {stderr}",
            env_name(env)
        );
    }
}

// ------------------------------------------------------- on the real node

fn wait_for<T>(
    what: &str,
    timeout: std::time::Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if std::time::Instant::now() > deadline => {
                panic!("{what} not within {}s: {why}", timeout.as_secs())
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
}

/// One HTTP/1.0 GET (no client library needed): (status, body).
fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<(u16, String), String> {
    use std::io::Write;
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let t = std::time::Duration::from_secs(10);
    let mut s =
        std::net::TcpStream::connect_timeout(&sock, t).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("{addr}{path}: {e}"))?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{addr}{path}: no HTTP status in {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn pods_in(ns: &str) -> Vec<Value> {
    kubectl_json(&["get", "pods", "-n", ns])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// pod name -> uid, for the pods of the store that are not going away.
fn pod_uids(ns: &str) -> BTreeMap<String, String> {
    pods_in(ns)
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap_or("").to_string(),
                p["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn cluster_ip(ns: &str, svc: &str, port: u16) -> String {
    let s = kubectl_json(&["get", "service", "-n", ns, svc]);
    let ip = s["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
    assert!(
        !ip.is_empty() && ip != "None",
        "Service {svc} has no cluster IP: {}",
        s["spec"]
    );
    format!("{ip}:{port}")
}

/// The whole store on the sandbox's real node (real containers, the
/// Medusa image, real volumes): every pod Ready; migrate and setup ran (the
/// Store API lists the seeded products with the publishable key setup
/// made); /health through the server's Service; the storefront answers; an
/// upgrade with the same values replaces no pod (setup does not run again);
/// the database keeps its data across a PostgreSQL pod delete.
///
/// Needs the sandbox with its real node and the Medusa image imported:
/// `scripts/build-images.sh build medusa && scripts/build-images.sh import
/// /run/store-weaver-sandbox/containerd.sock medusa`.
#[test]
fn a_store_runs_on_the_real_node_and_keeps_its_data() {
    use std::time::Duration;
    // The real-node values, as scripts/sandbox writes them.
    let dir = std::env::temp_dir().join(format!("medusa-real-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = format!(
        "set -euo pipefail; die() {{ echo \"$*\" >&2; exit 1; }}; HERE={scripts}; STATE={state}; \
         source {scripts}/sandbox-node.sh; node_values_medusa",
        scripts = repo().join("scripts").display(),
        state = dir.display()
    );
    let out = run(
        std::process::Command::new("bash").args(["-c", &script]),
        None,
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "node_values_medusa: {}",
        text(&out.stderr)
    );
    let real_values = dir
        .join("real-node-values-medusa.yaml")
        .display()
        .to_string();
    // The images are never pulled (pullPolicy Never): say at once which one
    // the node lacks and how to put it there, instead of a pod waiting in
    // ErrImageNeverPull until the deadline.
    let node = kubectl_json(&["get", "node", "sandbox-real-0"]);
    let on_node: BTreeSet<&str> = node["status"]["images"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["names"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    for (name, reference) in [
        ("medusa", "localhost/sandbox/medusa:2.21.2"),
        ("postgres", "localhost/sandbox/postgres:15"),
        ("redis", "localhost/sandbox/redis:7.0"),
    ] {
        assert!(
            on_node.contains(reference),
            "the real node has no {reference}: run scripts/build-images.sh build {name} && \
             scripts/build-images.sh import /run/store-weaver-sandbox/containerd.sock {name}"
        );
    }

    let ns = Namespace {
        name: format!("medusa-real-{}", random_hex(4)),
    };
    let n = ns.name.as_str();
    let id = random_uuid();
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": n, "labels": {
            STORE_ID_LABEL: id,
            "app.kubernetes.io/managed-by": "medusa-chart-tests",
            "pod-security.kubernetes.io/enforce": "restricted",
        }}
    });
    must(
        kubectl(&["apply", "-f", "-"], Some(manifest.to_string().as_bytes())),
        "creating the test namespace",
    );
    // The engine's Secret: random alphanumeric values, through stdin (never argv).
    let data: serde_json::Map<String, Value> = SECRET_KEYS
        .iter()
        .map(|k| {
            (
                k.to_string(),
                Value::String(format!("Sw{}", random_hex(20))),
            )
        })
        .collect();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": n},
        "stringData": data,
    });
    must(
        kubectl(&["apply", "-f", "-"], Some(secret.to_string().as_bytes())),
        "creating the store's Secret",
    );

    let host = format!("{n}.localhost");
    let mut args: Vec<String> = vec![
        "upgrade".into(),
        "--install".into(),
        RELEASE.into(),
        chart(),
        "-n".into(),
        n.into(),
        "-f".into(),
        values_file("local"),
        "-f".into(),
        real_values.clone(),
    ];
    args.extend(store_sets(&id, &host));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    must(
        helm_cluster(&argv),
        "helm upgrade --install on the real node",
    );

    // Every pod Ready (the server only after await-database, migrate, setup).
    let pods = wait_for(
        "every pod of the store Ready",
        Duration::from_secs(600),
        || {
            let pods = pods_in(n);
            let states: Vec<String> = pods
                .iter()
                .map(|p| format!("{} ready={}", p["metadata"]["name"], ready(p)))
                .collect();
            let live: Vec<&Value> = pods
                .iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            if live.len() == 5 && live.iter().all(|p| ready(p)) {
                Ok(pods)
            } else {
                Err(format!("{states:?}"))
            }
        },
    );
    eprintln!(
        "medusa store Ready on the real node in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for p in &pods {
        assert_eq!(
            p["spec"]["nodeName"], "sandbox-real-0",
            "{} runs on a simulated node",
            p["metadata"]["name"]
        );
    }
    let server_pod = pods
        .iter()
        .find(|p| p["metadata"]["labels"][COMPONENT] == "server")
        .expect("a server pod");
    let steps: Vec<(&str, i64)> = server_pod["status"]["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["state"]["terminated"]["exitCode"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(steps, [("await-database", 0), ("migrate", 0), ("setup", 0)]);

    // Through the Services (their cluster IPs answer on the node).
    let server = cluster_ip(n, &format!("{RELEASE}-server"), 9000);
    let (status, _) = http_get(&server, "/health", &[]).expect("GET /health");
    assert_eq!(status, 200, "GET /health through the server's Service");
    let (status, config) =
        http_get(&server, "/storefront-config", &[]).expect("GET /storefront-config");
    assert_eq!(status, 200, "setup ran: {config}");
    let config: Value = serde_json::from_str(&config).expect("JSON");
    let key = config["publishableKey"]
        .as_str()
        .expect("publishableKey")
        .to_string();
    assert_eq!(config["storeName"], "Medusa Chart Test");
    let products = |server: &str| -> Result<BTreeSet<String>, String> {
        let (status, body) = http_get(
            server,
            "/store/products?fields=handle",
            &[("x-publishable-api-key", &key)],
        )?;
        if status != 200 {
            return Err(format!("{status}: {body}"));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        Ok(v["products"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["handle"].as_str().map(String::from))
            .collect())
    };
    let seeded = products(&server).expect("the Store API lists products");
    assert_eq!(seeded.len(), 3, "the seed's products: {seeded:?}");
    let storefront = cluster_ip(n, &format!("{RELEASE}-storefront"), 8000);
    let (status, page) = http_get(&storefront, "/", &[]).expect("GET / on the storefront");
    assert!(
        status == 200 && page.contains("<html"),
        "storefront: {status} {page}"
    );

    // The engine re-runs helm with the same values: nothing is replaced.
    let before = pod_uids(n);
    must(
        helm_cluster(&argv),
        "helm upgrade --install again with the same values",
    );
    let after = pod_uids(n);
    assert_eq!(
        before, after,
        "an upgrade with the same values replaced pods"
    );

    // PostgreSQL's data is on its claim: a new pod finds the store as it was.
    let pg = format!("{RELEASE}-postgres-0");
    let old_uid = before.get(&pg).cloned().expect("the PostgreSQL pod");
    must(
        kubectl(&["delete", "pod", "-n", n, &pg, "--wait=false"], None),
        "deleting the PostgreSQL pod",
    );
    wait_for(
        "a new PostgreSQL pod Ready",
        Duration::from_secs(180),
        || {
            // Between the old pod's end and the new one's creation: NotFound.
            let out = kubectl(&["get", "pod", "-n", n, &pg, "-o", "json"], None);
            if !out.status.success() {
                return Err(text(&out.stderr));
            }
            let p: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            if p["metadata"]["uid"] != old_uid.as_str() && ready(&p) {
                Ok(())
            } else {
                Err(format!("uid {} ready {}", p["metadata"]["uid"], ready(&p)))
            }
        },
    );
    let again = wait_for(
        "the Store API after the database's restart",
        Duration::from_secs(120),
        || products(&server),
    );
    assert_eq!(again, seeded, "the products after a PostgreSQL pod delete");
    let (_, config_again) =
        http_get(&server, "/storefront-config", &[]).expect("GET /storefront-config");
    assert!(
        config_again.contains(&key),
        "the publishable key changed: {config_again}"
    );

    must(
        helm_cluster(&["uninstall", RELEASE, "-n", n, "--wait", "--timeout", "120s"]),
        "helm uninstall",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
