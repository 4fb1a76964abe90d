//! The platform's own chart (charts/store-weaver): lint, schema refusals,
//! and a server-side dry run of every rendered object against the real API
//! server, for local and production values.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn helm(args: &[&str]) -> std::process::Output {
    Command::new("helm")
        .args(args)
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .expect("run helm (PATH from scripts/sandbox env)")
}

#[test]
fn the_platform_chart_lints_renders_and_passes_a_server_side_dry_run() {
    let chart = repo("charts/store-weaver");
    let chart = chart.to_str().unwrap();
    let ns = format!(
        "sw-platform-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let created = Command::new("kubectl")
        .args(["create", "namespace", &ns])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output()
        .unwrap();
    assert!(created.status.success());
    for values in ["values-local.yaml", "values-prod.yaml"] {
        let vf = repo("charts/store-weaver").join(values);
        let out = helm(&["lint", "--strict", chart, "-f", vf.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "lint {values}: {}",
            String::from_utf8_lossy(&out.stdout)
        );

        let out = helm(&[
            "template",
            "sw",
            chart,
            "-n",
            &ns,
            "-f",
            vf.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = String::from_utf8_lossy(&out.stdout).into_owned();
        for kind in [
            "Deployment",
            "Service",
            "Ingress",
            "ConfigMap",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
        ] {
            assert!(
                manifest.contains(&format!("kind: {kind}\n")),
                "{values}: no {kind}"
            );
        }
        assert!(
            manifest.contains("readOnlyRootFilesystem: true")
                && manifest.contains("runAsNonRoot: true")
        );
        assert!(manifest.contains("path: /readyz") && manifest.contains("path: /healthz"));
        assert!(
            !manifest.contains("kind: Secret\n"),
            "the chart never renders credentials"
        );

        let mut apply = Command::new("kubectl")
            .args(["apply", "--dry-run=server", "-n", &ns, "-f", "-"])
            .env("KUBECONFIG", require_env("KUBECONFIG"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        apply
            .stdin
            .take()
            .unwrap()
            .write_all(manifest.as_bytes())
            .unwrap();
        let out = apply.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "dry run {values}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains("deployment.apps/store-weaver created (server dry run)")
        );
    }
    let out = helm(&["template", "sw", chart, "--set", "config.authMode=anyone"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("authMode"),
        "the schema names the key"
    );
    let _ = Command::new("kubectl")
        .args(["delete", "namespace", &ns, "--wait=false"])
        .env("KUBECONFIG", require_env("KUBECONFIG"))
        .output();
}

fn template(extra: &[&str]) -> std::process::Output {
    let chart = repo("charts/store-weaver");
    let mut args = vec![
        "template",
        "sw",
        chart.to_str().unwrap(),
        "-n",
        "sw-platform",
    ];
    args.extend_from_slice(extra);
    helm(&args)
}

fn rendered(extra: &[&str]) -> String {
    let out = template(extra);
    assert!(
        out.status.success(),
        "helm template {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue 27 (10): the binary learns the dashboard's host and its own
/// namespace from the chart (so no store can take either), and a dashboard
/// host under the stores' suffix is refused when rendering.
#[test]
fn the_chart_passes_its_host_and_namespace_and_keeps_the_dashboard_out_of_the_stores_suffix() {
    for values in ["values-local.yaml", "values-prod.yaml"] {
        let vf = repo("charts/store-weaver").join(values);
        let out = rendered(&["-f", vf.to_str().unwrap()]);
        assert!(
            out.contains("STORE_WEAVER_PLATFORM_NAMESPACE: \"sw-platform\""),
            "{values}: {out}"
        );
        assert!(
            out.contains("STORE_WEAVER_PLATFORM_HOST: "),
            "{values}: {out}"
        );
    }
    for (host, suffix) in [
        ("shop-console.localhost", ".localhost"),
        ("admin.shops.example.com", ".shops.example.com"),
        ("Admin.Shops.Example.com", "shops.example.com"),
    ] {
        let out = template(&[
            "--set",
            &format!("ingress.host={host}"),
            "--set",
            &format!("config.ingressSuffix={suffix}"),
        ]);
        assert!(!out.status.success(), "{host} under {suffix} was rendered");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("ingress.host") && err.contains("config.ingressSuffix"),
            "{err}"
        );
    }
    // A host beside the suffix is fine.
    rendered(&[
        "--set",
        "ingress.host=admin.example.com",
        "--set",
        "config.ingressSuffix=.shops.example.com",
    ]);
}

/// Issue 27 (15): the chart cannot turn on demo auth (it trusts anyone's
/// X-User-Id, and the chart listens on every address).
#[test]
fn demo_auth_is_not_in_the_platform_charts_schema() {
    let out = template(&["--set", "config.authMode=demo"]);
    assert!(!out.status.success(), "demo auth was rendered");
    assert!(String::from_utf8_lossy(&out.stderr).contains("authMode"));
}

/// Issue 27 (11): metrics on a port of their own, which the Service names
/// and the Ingress never routes to.
#[test]
fn metrics_have_their_own_port_that_the_ingress_does_not_route_to() {
    let out = rendered(&["--set", "networkPolicy.metrics.enabled=true"]);
    assert!(
        out.contains("STORE_WEAVER_METRICS_LISTEN: \"0.0.0.0:9090\""),
        "{out}"
    );
    assert!(
        out.contains("{name: metrics, containerPort: 9090}"),
        "{out}"
    );
    assert!(
        out.contains("{name: metrics, port: 9090, targetPort: metrics}"),
        "{out}"
    );
    let ingress = out
        .split("\n---")
        .find(|d| d.contains("kind: Ingress\n"))
        .expect("an Ingress");
    assert!(
        ingress.contains("port: {name: http}") && !ingress.contains("metrics"),
        "{ingress}"
    );
    let policy = out
        .split("\n---")
        .find(|d| d.contains("kind: NetworkPolicy\n"))
        .expect("a NetworkPolicy");
    assert!(policy.contains("{protocol: TCP, port: 9090}"), "{policy}");
}

/// Issue 27 (1): config/rbac.yaml and the chart are one fact: the file is
/// the chart's rendering (scripts/gen-rbac.sh writes it).
#[test]
fn config_rbac_yaml_is_the_platform_charts_rendering() {
    let out = Command::new(repo("scripts/gen-rbac.sh"))
        .arg("--stdout")
        .output()
        .expect("run scripts/gen-rbac.sh (helm on PATH)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(repo("config/rbac.yaml")).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "config/rbac.yaml is stale: run scripts/gen-rbac.sh and commit it"
    );
    for kind in [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] {
        assert_eq!(
            committed.matches(&format!("kind: {kind}\n")).count(),
            2,
            "the namespace/binding policy and the workload policy: {kind}"
        );
    }
}
