//! The engine conformance suite: every engine in `src/engines/` passes the
//! same checks against its own chart, with the real `helm` (no cluster):
//! - the values the engine gives a store render with the chart and pass
//!   its schema, in every environment's values file;
//! - every setting key reaches the chart: setting it changes what renders,
//!   and its value appears there;
//! - the store's Secret keys are exactly the ones the chart reads;
//! - the admin login, the logs container and the shell name containers and
//!   paths the chart really has.
//!
//! Adding an engine means passing this file unchanged; removing a key from
//! an engine's chart (or renaming one) fails it.

mod common;

use common::tools::{helm_bin, yaml_to_json};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use store_weaver::engine::Naming;
use store_weaver::engine::provision::chart_values;
use store_weaver::engines::{Engine, EngineKind, KeyKind};
use store_weaver::store::{Reserved, Store, StoreSettings};

const SECRET: &str = "store-credentials";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn naming() -> Naming {
    Naming {
        suffix: ".localhost".into(),
        tls: false,
        reserved: Reserved::default(),
    }
}

fn a_store(engine: EngineKind) -> Store {
    serde_json::from_value(serde_json::json!({
        "id": "0f5d2d2e-8c1e-4c39-9a53-4f4a3b6f7e10",
        "name": "Conformance Shop",
        "namespace": "store-conformance-shop",
        "owner": "owner@example.com",
        "engine": engine,
        "status": "Provisioning",
        "phase": "queued",
        "url": "http://conformance-shop.localhost",
        "namespace_uid": null,
        "error_message": null,
        "attempts": 1,
        "created_at": "2026-12-06T00:00:00Z",
        "updated_at": "2026-12-06T00:00:00Z",
        "provision_started_at": null,
        "ready_at": null,
        "deleted_at": null,
        "chart_version": null,
        "helm_revision": null,
        "settings": {},
    }))
    .expect("a store record")
}

/// The chart rendered as the engine installs it, objects as JSON.
fn render(e: &Engine, env: &str, settings: &StoreSettings) -> Result<Vec<Value>, String> {
    let store = a_store(e.kind);
    let values = chart_values(&naming(), &store, settings);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("values.json");
    std::fs::write(&file, values.to_string()).expect("write the values");
    let chart = repo().join("charts").join(e.chart);
    let out = Command::new(helm_bin())
        .arg("template")
        .arg("conformance")
        .arg(&chart)
        .args(["--namespace", "store-conformance-shop"])
        .arg("-f")
        .arg(chart.join(format!("values-{env}.yaml")))
        .arg("-f")
        .arg(&file)
        .output()
        .expect("run helm");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(yaml_to_json(&out.stdout))
}

/// A valid value of a kind, unlike any chart default.
fn sample(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::ImageTag => "conformance-7",
        KeyKind::Cpu => "1234m",
        KeyKind::Memory(_) => "4321Mi",
        KeyKind::Volume { .. } => "7777Mi",
        KeyKind::Replicas => "0",
    }
}

fn pod_specs(objs: &[Value]) -> Vec<(String, String, &Value)> {
    objs.iter()
        .filter_map(|o| {
            let spec = &o["spec"]["template"]["spec"];
            spec.is_object().then(|| {
                let component =
                    o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                let name = format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                );
                (name, component, spec)
            })
        })
        .collect()
}

fn container_names(spec: &Value) -> Vec<String> {
    ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

/// Every key of the store's Secret a pod of the chart reads.
fn secret_keys_read(objs: &[Value]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    fn walk(v: &Value, keys: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("secretKeyRef")
                    && r["name"] == SECRET
                    && let Some(k) = r["key"].as_str()
                {
                    keys.insert(k.to_string());
                }
                if let Some(s) = m.get("secret")
                    && s["secretName"] == SECRET
                {
                    for item in s["items"].as_array().into_iter().flatten() {
                        if let Some(k) = item["key"].as_str() {
                            keys.insert(k.to_string());
                        }
                    }
                }
                m.values().for_each(|x| walk(x, keys));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, keys)),
            _ => {}
        }
    }
    objs.iter().for_each(|o| walk(o, &mut keys));
    keys
}

fn each_engine(check: impl Fn(&'static Engine)) {
    for kind in EngineKind::ALL {
        check(kind.spec());
    }
}

#[test]
fn the_engines_values_render_with_its_chart_in_every_environment() {
    each_engine(|e| {
        for env in ["local", "prod"] {
            let objs = render(e, env, &StoreSettings::default())
                .unwrap_or_else(|err| panic!("{}: values-{env}: {err}", e.kind));
            assert!(
                objs.iter().any(|o| o["kind"] == "Ingress"),
                "{}: no Ingress in values-{env}",
                e.kind
            );
        }
    });
}

#[test]
fn every_setting_key_reaches_the_chart() {
    each_engine(|e| {
        let base =
            serde_json::to_string(&render(e, "local", &StoreSettings::default()).unwrap()).unwrap();
        for key in e.keys {
            let value = sample(key.kind);
            let settings = StoreSettings::default()
                .with_assignments(e, &[format!("{}={value}", key.name)])
                .unwrap_or_else(|err| panic!("{}: {err}", e.kind));
            let objs = render(e, "local", &settings).unwrap_or_else(|err| {
                panic!("{}: {}={value} does not render: {err}", e.kind, key.name)
            });
            let text = serde_json::to_string(&objs).unwrap();
            assert_ne!(
                text, base,
                "{}: setting {} changes nothing the chart renders (is {:?} a path of its values?)",
                e.kind, key.name, key.paths
            );
            if key.kind == KeyKind::Replicas {
                let workloads: Vec<&Value> = objs
                    .iter()
                    .filter(|o| o["kind"] == "Deployment" && o["spec"]["replicas"] == 0)
                    .collect();
                assert_eq!(
                    workloads.len(),
                    key.paths.len(),
                    "{}: replicas=0 pauses one Deployment per path",
                    e.kind
                );
            } else {
                assert!(
                    text.contains(value),
                    "{}: {}={value} does not appear in what renders",
                    e.kind,
                    key.name
                );
            }
        }
    });
}

#[test]
fn the_secret_keys_are_exactly_those_the_chart_reads() {
    each_engine(|e| {
        let objs = render(e, "prod", &StoreSettings::default()).unwrap();
        let read = secret_keys_read(&objs);
        let made: BTreeSet<String> = e.secret_keys.iter().map(|k| k.name.to_string()).collect();
        assert_eq!(
            read, made,
            "{}: the Secret the engine makes and the keys its chart reads differ",
            e.kind
        );
        assert!(e.secret_keys.iter().all(|k| k.len >= 32), "{}", e.kind);
    });
}

/// The backup's data parts run in containers the chart has, and the
/// components it pauses are Deployments of the chart (a name that drifted
/// would make every backup or restore of the engine fail on a real store).
#[test]
fn backups_name_the_containers_and_deployments_the_chart_has() {
    each_engine(|e| {
        let objs = render(e, "local", &StoreSettings::default()).unwrap();
        let pods = pod_specs(&objs);
        let b = &e.backup;
        for part in std::iter::once(&b.database).chain(b.files.as_ref()) {
            assert!(
                pods.iter()
                    .any(|(_, component, spec)| component == part.component
                        && container_names(spec).iter().any(|c| c == part.container)),
                "{}: the backup's container {}/{} is not in the chart",
                e.kind,
                part.component,
                part.container
            );
        }
        for component in b.pause {
            assert!(
                objs.iter().any(|o| o["kind"] == "Deployment"
                    && o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                        == *component),
                "{}: the restore pauses {component}, which is no Deployment of the chart",
                e.kind
            );
        }
        assert!(
            !b.pause.contains(&b.database.component),
            "{}: the database must keep running while it is restored",
            e.kind
        );
    });
}

#[test]
fn login_logs_and_shell_name_what_the_chart_has() {
    each_engine(|e| {
        let objs = render(e, "local", &StoreSettings::default()).unwrap();
        let pods = pod_specs(&objs);
        let main: Vec<_> = pods
            .iter()
            .filter(|(_, component, _)| component == e.main_component)
            .collect();
        assert!(
            !main.is_empty(),
            "{}: no pod of component {}",
            e.kind,
            e.main_component
        );
        assert!(
            main.iter()
                .all(|(_, _, spec)| container_names(spec).iter().any(|c| c == e.main_container)),
            "{}: the {} pods have no container {}",
            e.kind,
            e.main_component,
            e.main_container
        );
        if let Some(shell) = &e.shell {
            assert!(
                pods.iter()
                    .any(|(_, component, spec)| component == shell.component
                        && container_names(spec).iter().any(|c| c == shell.container)),
                "{}: the shell's container {}/{} is not in the chart",
                e.kind,
                shell.component,
                shell.container
            );
        }
        // The admin's login page is served at the store's host.
        let ingress = objs
            .iter()
            .find(|o| o["kind"] == "Ingress")
            .expect("an Ingress");
        let rule = &ingress["spec"]["rules"][0];
        assert_eq!(rule["host"], "conformance-shop.localhost", "{}", e.kind);
        let paths: Vec<&str> = rule["http"]["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["path"].as_str())
            .collect();
        assert!(
            paths.iter().any(|p| e.admin.path.starts_with(p)),
            "{}: no Ingress path serves the admin at {} (paths: {paths:?})",
            e.kind,
            e.admin.path
        );
        // A setting of the other engine is refused, naming this engine's keys.
        let other = EngineKind::ALL
            .into_iter()
            .find(|k| *k != e.kind)
            .unwrap()
            .spec();
        let foreign = other
            .keys
            .iter()
            .find(|k| e.key(k.name).is_none())
            .expect("engines differ in some key");
        let err = StoreSettings::default()
            .with_assignments(e, &[format!("{}=1", foreign.name)])
            .unwrap_err();
        assert!(err.to_string().contains(&e.key_names()), "{err}");
    });
}
