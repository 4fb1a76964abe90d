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
