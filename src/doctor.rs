//! `store-weaver doctor`: checks everything Store Weaver depends on and, for
//! each thing that is wrong, says what and how to fix it. For operators at an
//! incident and for monitors (`--json`, non-zero exit when something fails).
//!
//! The checks themselves are pure functions from what was observed to a
//! [`Check`]; [`run`] does the observing (database, API server, helm), each
//! step under a deadline so a dead dependency is reported, never waited for.

use crate::config::Settings;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// How long any one observation may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// A store namespace that cannot exist (names are slugs of store names with a
/// `store-` prefix, never this one): access reviews for "a store namespace".
const PROBE_NAMESPACE: &str = "store-weaver-doctor-probe";
/// The store chart declares `kubeVersion: >=1.27.0-0`.
const MIN_MINOR: u32 = 27;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Not what production wants, but nothing is broken.
    Warn,
    /// Could not be checked because something it depends on failed.
    Skip,
    Fail,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Skip => "skip",
            Level::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
    /// What to do about it (for warn and fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            level: Level::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            level: Level::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            level: Level::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn skip(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            level: Level::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(checks: Vec<Check>) -> Report {
        let ok = checks
            .iter()
            .all(|c| c.level != Level::Fail && c.level != Level::Skip);
        Report { ok, checks }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.level == Level::Fail)
    }

    /// The report for a terminal: one line per check, the fix under it.
    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(8);
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!(
                "{:<4}  {:<width$}  {}\n",
                c.level.label(),
                c.name,
                c.detail
            ));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("      {:<width$}  fix: {fix}\n", ""));
            }
        }
        let (fails, warns, skips) =
            self.checks
                .iter()
                .fold((0, 0, 0), |(f, w, s), c| match c.level {
                    Level::Fail => (f + 1, w, s),
                    Level::Warn => (f, w + 1, s),
                    Level::Skip => (f, w, s + 1),
                    Level::Ok => (f, w, s),
                });
        if fails == 0 && skips == 0 {
            out.push_str(&format!(
                "\nall {} checks passed{}\n",
                self.checks.len(),
                if warns > 0 {
                    format!(" ({warns} warning(s))")
                } else {
                    String::new()
                }
            ));
        } else {
            out.push_str(&format!(
                "\n{fails} check(s) failed, {skips} could not run, {warns} warning(s)\n"
            ));
        }
        out
    }
}

// ------------------------------------------------------------- pure checks

/// Applied migrations (version, success) against the ones this binary has.
pub fn check_migrations(applied: &[(i64, bool)], embedded: &[i64]) -> Check {
    let name = "migrations";
    if let Some((v, _)) = applied.iter().find(|(_, ok)| !ok) {
        return Check::fail(
            name,
            format!("migration {v} failed halfway"),
            "look at the _sqlx_migrations table and the database log, repair, then `store-weaver migrate`",
        );
    }
    let missing: Vec<String> = embedded
        .iter()
        .filter(|v| !applied.iter().any(|(a, _)| a == *v))
        .map(i64::to_string)
        .collect();
    let unknown: Vec<String> = applied
        .iter()
        .filter(|(a, _)| !embedded.contains(a))
        .map(|(a, _)| a.to_string())
        .collect();
    if !unknown.is_empty() {
        return Check::fail(
            name,
            format!(
                "the database has migration(s) {} that this binary does not know: it is older than the schema",
                unknown.join(", ")
            ),
            "run the newer store-weaver that applied them (never an older binary against a newer schema)",
        );
    }
    if !missing.is_empty() {
        return Check::fail(
            name,
            format!(
                "{} of {} applied; missing: {}",
                applied.len(),
                embedded.len(),
                missing.join(", ")
            ),
            "`store-weaver migrate` (every start also applies them)",
        );
    }
    Check::ok(name, format!("all {} applied", embedded.len()))
}

/// `v1.35.2` (with any suffix) -> (1, 35).
pub fn parse_version(git: &str) -> Option<(u32, u32)> {
    let v = git.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches('+').parse().ok()?;
    Some((major, minor))
}

pub fn check_server_version(server: &str, git_version: &str) -> Check {
    let name = "cluster";
    match parse_version(git_version) {
        Some((1, minor)) if minor >= MIN_MINOR => {
            Check::ok(name, format!("{server} answers, Kubernetes {git_version}"))
        }
        Some(_) => Check::fail(
            name,
            format!(
                "{server} runs Kubernetes {git_version}; the store chart needs 1.{MIN_MINOR} or later"
            ),
            "upgrade the cluster (k3s: install a newer INSTALL_K3S_VERSION)",
        ),
        None => Check::warn(
            name,
            format!("{server} answers but reports an unreadable version {git_version:?}"),
            "a control plane built without its version stamped makes helm refuse charts with a kubeVersion: stamp it (-ldflags -X k8s.io/component-base/version.gitVersion=...)",
        ),
    }
}

/// One access the platform's identity is asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Why it matters, for the report.
    pub why: &'static str,
}

impl Access {
    fn new(
        verb: &'static str,
        group: &'static str,
        resource: &'static str,
        why: &'static str,
    ) -> Access {
        Access {
            verb,
            group,
            resource,
            namespace: None,
            name: None,
            why,
        }
    }
    fn ns(mut self, ns: impl Into<String>) -> Access {
        self.namespace = Some(ns.into());
        self
    }
    fn named(mut self, name: impl Into<String>) -> Access {
        self.name = Some(name.into());
        self
    }
    pub fn describe(&self) -> String {
        let res = if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        let mut s = format!("{} {res}", self.verb);
        if let Some(n) = &self.name {
            s.push_str(&format!(" {n}"));
        }
        match self.namespace.as_deref() {
            // A namespace named in its own namespace: said once.
            Some(ns) if self.name.as_deref() == Some(ns) => {}
            Some(PROBE_NAMESPACE) => s.push_str(" in a store namespace"),
            Some(ns) => s.push_str(&format!(" in {ns}")),
            None => {}
        }
        s
    }
}

/// What the platform needs inside an existing store's namespace (with least
/// privilege: through the store role the engine bound there), so a store
/// role that lacks a rule shows before an operator needs it.
pub fn store_namespace_access(ns: &str) -> Vec<Access> {
    vec![
        Access::new("create", "", "secrets", "the store's credentials").ns(ns),
        Access::new("create", "apps", "deployments", "helm upgrades the store").ns(ns),
        Access::new("delete", "", "namespaces", "deleting the store")
            .ns(ns)
            .named(ns.to_string()),
        Access::new("get", "", "pods/log", "store logs").ns(ns),
        Access::new("create", "", "pods/exec", "store wp").ns(ns),
        Access::new("list", "", "events", "the store's events").ns(ns),
    ]
}

/// What the engine needs. With `store_cluster_role` (least privilege,
/// config/rbac.yaml) it needs little cluster-wide and binds that role in each
/// store namespace it creates; without it, it writes in store namespaces with
/// its own rights.
pub fn needed_access(store_cluster_role: Option<&str>) -> Vec<Access> {
    let mut v = vec![
        Access::new("create", "", "namespaces", "a namespace per store"),
        Access::new("get", "", "namespaces", "ownership checks"),
        Access::new("watch", "", "namespaces", "live status"),
        Access::new("watch", "", "pods", "live status"),
        Access::new("watch", "apps", "deployments", "live status"),
        Access::new("watch", "apps", "statefulsets", "live status"),
        Access::new("watch", "batch", "jobs", "live status"),
    ];
    match store_cluster_role {
        Some(role) => v.extend([
            Access::new(
                "create",
                "rbac.authorization.k8s.io",
                "rolebindings",
                "binding the store role in a new store namespace",
            )
            .ns(PROBE_NAMESPACE),
            Access::new(
                "bind",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "binding the store role",
            )
            .named(role.to_string()),
        ]),
        None => v.extend([
            Access::new("create", "", "secrets", "the store's credentials").ns(PROBE_NAMESPACE),
            Access::new("create", "apps", "deployments", "helm installs the store")
                .ns(PROBE_NAMESPACE),
            Access::new("delete", "", "namespaces", "deleting a store").ns(PROBE_NAMESPACE),
            Access::new("get", "", "pods/log", "store logs").ns(PROBE_NAMESPACE),
            Access::new("create", "", "pods/exec", "store wp").ns(PROBE_NAMESPACE),
        ]),
    }
    v
}

/// What the platform must never be able to do (tests/rbac.rs proves the
/// shipped RBAC cannot).
pub fn forbidden_access() -> Vec<Access> {
    vec![
        Access::new("list", "", "secrets", "every store's passwords"),
        Access::new("get", "", "secrets", "the cluster's own secrets").ns("kube-system"),
        Access::new(
            "delete",
            "",
            "namespaces",
            "a namespace that is not a store's",
        )
        .ns("default")
        .named("default"),
        Access::new(
            "create",
            "",
            "pods",
            "running anything in the control plane's namespace",
        )
        .ns("kube-system"),
        Access::new(
            "create",
            "",
            "pods/exec",
            "a shell in the control plane's pods",
        )
        .ns("kube-system"),
        Access::new(
            "create",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "inventing rights",
        ),
        Access::new(
            "create",
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "granting rights cluster-wide",
        ),
        Access::new(
            "bind",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "granting itself cluster-admin",
        )
        .named("cluster-admin"),
        Access::new("impersonate", "", "users", "acting as someone else"),
        Access::new("delete", "", "nodes", "taking the machines away"),
    ]
}

/// The answers of the access reviews, as checks. Extra rights fail under
/// least privilege; without `store_cluster_role` the engine is configured to
/// run with broad rights, so they are a warning (fine for a sandbox).
pub fn check_access(
    needed: &[(Access, bool)],
    forbidden: &[(Access, bool)],
    least_privilege: bool,
) -> Vec<Check> {
    let missing: Vec<String> = needed
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(a, _)| format!("{} ({})", a.describe(), a.why))
        .collect();
    let need = if missing.is_empty() {
        Check::ok(
            "permissions needed",
            format!("all {} granted to this identity", needed.len()),
        )
    } else {
        Check::fail(
            "permissions needed",
            format!("missing: {}", missing.join("; ")),
            if least_privilege {
                "apply config/rbac.yaml (or the platform chart) and run as its service account; the store role must exist under the name in store_cluster_role"
            } else {
                "give this identity rights to create and manage store namespaces, or set store_cluster_role and service_account and apply config/rbac.yaml"
            },
        )
    };
    let extra: Vec<String> = forbidden
        .iter()
        .filter(|(_, allowed)| *allowed)
        .map(|(a, _)| format!("{} ({})", a.describe(), a.why))
        .collect();
    let not_needed = if extra.is_empty() {
        Check::ok(
            "permissions not needed",
            format!(
                "none of the {} rights the platform must not have",
                forbidden.len()
            ),
        )
    } else if least_privilege {
        Check::fail(
            "permissions not needed",
            format!("this identity can also: {}", extra.join("; ")),
            "bind only the roles in config/rbac.yaml to the platform's service account (look for other (Cluster)RoleBindings naming it)",
        )
    } else {
        Check::warn(
            "permissions not needed",
            format!(
                "broad rights (no store_cluster_role set): this identity can also {}",
                extra.join("; ")
            ),
            "fine for a sandbox; in production set store_cluster_role and service_account and run as the account config/rbac.yaml creates",
        )
    };
    vec![need, not_needed]
}

/// A step toward root on a node, tried as a server-side dry run with this
/// identity: what the API server must refuse the platform's account (the
/// admission policies of config/rbac.yaml and the platform chart).
#[derive(Debug, Clone, PartialEq)]
pub struct Escape {
    pub what: String,
    pub answer: EscapeAnswer,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EscapeAnswer {
    /// Refused (403 or 422), with the API server's words.
    Refused(String),
    /// The dry run would have been admitted.
    Admitted,
    /// No answer either way.
    Unknown(String),
}

/// The node-escape dry runs, as one check. Under least privilege an
/// admitted step fails (the policies are missing or too weak); with broad
/// rights the policies do not bind this identity, so it is a warning.
pub fn check_escapes(escapes: &[Escape], least_privilege: bool) -> Check {
    let name = "admission policy";
    if let Some(e) = escapes.iter().find_map(|e| match &e.answer {
        EscapeAnswer::Unknown(why) => Some(format!("{}: {why}", e.what)),
        _ => None,
    }) {
        return Check::fail(
            name,
            format!("cannot ask the API server (a server-side dry run): {e}"),
            "is the API server reachable, and does it serve dry runs (Kubernetes 1.18+)?",
        );
    }
    let admitted: Vec<&str> = escapes
        .iter()
        .filter(|e| e.answer == EscapeAnswer::Admitted)
        .map(|e| e.what.as_str())
        .collect();
    if admitted.is_empty() {
        return Check::ok(
            name,
            format!(
                "the API server refuses this identity {} (server-side dry runs)",
                escapes
                    .iter()
                    .map(|e| e.what.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let detail = format!(
        "the API server would admit, from this identity: {}; together they are root on a node",
        admitted.join("; ")
    );
    if least_privilege {
        Check::fail(
            name,
            detail,
            "apply config/rbac.yaml (or the platform chart with rbac.admissionPolicy=true) on Kubernetes 1.30+: its ValidatingAdmissionPolicies refuse these for the platform's service account; run as that account",
        )
    } else {
        Check::warn(
            name,
            format!("broad rights (no store_cluster_role set): {detail}"),
            "fine for a sandbox; in production run as the service account config/rbac.yaml creates, which its admission policies confine",
        )
    }
}

/// A namespace that no store has (store namespaces are slugs of names, and
/// this one is taken by no cluster): dry runs only.
const ESCAPE_NAMESPACE: &str = "store-weaver-doctor-privileged";
/// The same outside the store prefix.
const ESCAPE_OUTSIDE: &str = "sw-doctor-not-a-store";

/// The dry runs doctor tries: (what, namespace to create it in or None for
/// cluster-scoped, the object). `store_ns`: a live store's namespace, where
/// the platform may create Deployments, to try a privileged one.
pub fn escape_attempts(
    store_ns: Option<&str>,
    store_role: &str,
    service_account: (&str, &str),
) -> Vec<(String, Option<String>, serde_json::Value)> {
    use crate::cluster::{MANAGED_BY, MANAGED_BY_LABEL, STORE_ID_LABEL};
    let labels = |enforce: &str| {
        let mut m = serde_json::Map::new();
        m.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        m.insert(
            STORE_ID_LABEL.into(),
            "00000000-0000-4000-8000-000000000000".into(),
        );
        m.insert("pod-security.kubernetes.io/enforce".into(), enforce.into());
        serde_json::Value::Object(m)
    };
    let mut v = vec![
        (
            "a store namespace with Pod Security privileged".to_string(),
            None,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ESCAPE_NAMESPACE, "labels": labels("privileged")}}),
        ),
        (
            "a namespace labelled as a store's outside the store- prefix".to_string(),
            None,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ESCAPE_OUTSIDE, "labels": labels("baseline")}}),
        ),
        (
            "the store role bound in default".to_string(),
            Some("default".to_string()),
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "store-weaver-doctor-probe"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": store_role},
                "subjects": [{"kind": "ServiceAccount", "name": service_account.1, "namespace": service_account.0}]}),
        ),
    ];
    if let Some(ns) = store_ns {
        v.push((
            format!("a privileged Deployment with the host's namespaces and / mounted in {ns}"),
            Some(ns.to_string()),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "store-weaver-doctor-probe"},
                "spec": {"selector": {"matchLabels": {"app": "doctor-probe"}},
                    "template": {"metadata": {"labels": {"app": "doctor-probe"}},
                        "spec": {"hostPID": true, "hostNetwork": true,
                            "containers": [{"name": "probe", "image": "busybox",
                                "securityContext": {"privileged": true},
                                "volumeMounts": [{"name": "host", "mountPath": "/host"}]}],
                            "volumes": [{"name": "host", "hostPath": {"path": "/"}}]}}}}),
        ));
    }
    v
}

/// StorageClasses: (name, is-default).
pub fn check_storage_classes(classes: &[(String, bool)]) -> Check {
    let name = "storage class";
    let defaults: Vec<&str> = classes
        .iter()
        .filter(|(_, d)| *d)
        .map(|(n, _)| n.as_str())
        .collect();
    match defaults.as_slice() {
        [one] => Check::ok(name, format!("default {one}")),
        [] if classes.is_empty() => Check::fail(
            name,
            "no StorageClass at all: the store's volume claims would stay Pending",
            "install a provisioner (k3s ships local-path) and mark its class default",
        ),
        [] => Check::fail(
            name,
            format!(
                "no default StorageClass (there are: {}): the store chart's claims ask for the default",
                classes
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "kubectl annotate storageclass <name> storageclass.kubernetes.io/is-default-class=true",
        ),
        many => Check::warn(
            name,
            format!("several default StorageClasses: {}", many.join(", ")),
            "leave exactly one marked storageclass.kubernetes.io/is-default-class=true",
        ),
    }
}

/// The IngressClass the store chart asks for (`wanted`; None = the
/// cluster's default), against the classes there are: (name, is-default).
pub fn check_ingress_class(wanted: Option<&str>, classes: &[(String, bool)]) -> Check {
    let name = "ingress class";
    let list = || {
        classes
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) if classes.iter().any(|(n, _)| n == w) => Check::ok(name, format!("{w} exists")),
        Some(w) => Check::fail(
            name,
            format!(
                "the store chart's values ask for IngressClass {w}, which does not exist (there are: {})",
                if classes.is_empty() {
                    "none".to_string()
                } else {
                    list()
                }
            ),
            missing_class_fix(w, classes.first().map(|(n, _)| n.as_str())),
        ),
        None => match classes.iter().find(|(_, d)| *d) {
            Some((d, _)) => Check::ok(name, format!("the cluster's default, {d}")),
            None => Check::fail(
                name,
                "the store chart leaves the class to the cluster's default, and there is none",
                "set ingress.className in the values file, or mark a class default (ingressclass.kubernetes.io/is-default-class=true)",
            ),
        },
    }
}

/// What to do when IngressClass `wanted` is missing: k3s and k3d ship
/// traefik unless it was turned off, so there the fix is to turn it back
/// on; elsewhere, install the controller or use a class the cluster has.
fn missing_class_fix(wanted: &str, existing: Option<&str>) -> String {
    let use_other = format!(
        "or use a class the cluster has: set `ingress.className: {}` in a values file (values_file or extra_values_files)",
        existing.unwrap_or("<class>")
    );
    if wanted == "traefik" {
        format!(
            "on k3s, traefik comes with the server unless it was started with --disable=traefik: remove that flag (k3s service or /etc/rancher/k3s/config.yaml) and restart k3s; \
             on k3d, recreate the cluster without --k3s-arg \"--disable=traefik@server:*\"; \
             on other clusters (kind, minikube, EKS, GKE, AKS...), install it (`helm repo add traefik https://traefik.github.io/charts && helm install traefik traefik/traefik -n traefik --create-namespace`), \
             {use_other}"
        )
    } else {
        format!(
            "k3s and k3d ship traefik, not {wanted}: set `ingress.className: traefik` in a values file there; \
             on other clusters, install the {wanted} ingress controller, {use_other}"
        )
    }
}

/// cert-manager's ClusterIssuer when stores get TLS.
pub fn check_issuer(tls: bool, issuer: Option<&str>, exists: Option<bool>) -> Check {
    let name = "tls issuer";
    match (tls, issuer, exists) {
        (false, _, _) => Check::ok(name, "TLS off (tls = false): no issuer needed"),
        (true, None, _) => Check::warn(
            name,
            "TLS on, but the store chart's Ingress names no cert-manager issuer",
            "set ingress.annotations.cert-manager.io/cluster-issuer in values-prod.yaml",
        ),
        (true, Some(i), Some(true)) => Check::ok(name, format!("ClusterIssuer {i} exists")),
        (true, Some(i), Some(false)) => Check::fail(
            name,
            format!("ClusterIssuer {i} does not exist: store certificates would never be issued"),
            format!(
                "install cert-manager and create the ClusterIssuer {i} (see README, Production)"
            ),
        ),
        (true, Some(i), None) => Check::fail(
            name,
            format!(
                "cert-manager is not installed (no ClusterIssuer kind), the chart asks for {i}"
            ),
            "install cert-manager (its CRDs) and the ClusterIssuer",
        ),
    }
}

/// The facts doctor needs from the rendered store chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub ingress_class: Option<String>,
    pub issuer: Option<String>,
}

/// Reads `ingressClassName:` and the cert-manager annotation out of
/// `helm template` output (plain lines; no YAML parser needed for two keys).
pub fn rendered_facts(yaml: &str) -> Rendered {
    let value = |line: &str, key: &str| -> Option<String> {
        let rest = line.trim().strip_prefix(key)?.trim();
        let v = rest.trim_matches(['"', '\'']).trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    let mut r = Rendered::default();
    for line in yaml.lines() {
        if r.ingress_class.is_none() {
            r.ingress_class = value(line, "ingressClassName:");
        }
        if r.issuer.is_none() {
            r.issuer = value(line, "cert-manager.io/cluster-issuer:");
        }
    }
    r
}

/// The limits as configured, against the live stores there are.
pub fn check_limits(s: &Settings, live_stores: Option<usize>) -> Check {
    let name = "limits";
    let summary = format!(
        "max_stores {}, per user {}, concurrent provisions {} (across every process), workers {} here",
        s.max_stores, s.max_stores_per_user, s.max_concurrent_provisions, s.workers
    );
    if s.max_stores_per_user > s.max_stores {
        return Check::warn(
            name,
            format!("{summary}: the per-user limit is above the global one"),
            "lower max_stores_per_user or raise max_stores",
        );
    }
    if s.workers == 0 {
        return Check::warn(
            name,
            format!("{summary}: this process runs no workers"),
            "fine when other processes run workers (`store-weaver worker`); otherwise nothing is provisioned",
        );
    }
    match live_stores {
        Some(n) if n as u64 >= u64::from(s.max_stores) => Check::warn(
            name,
            format!("{summary}; {n} stores exist: new stores are refused"),
            "raise max_stores, or delete stores nobody uses",
        ),
        Some(n) => Check::ok(name, format!("{summary}; {n} stores exist")),
        None => Check::ok(name, summary),
    }
}

/// The `--serve` replicas the connection check assumes unless told: the
/// platform chart's `replicaCount`.
pub const DEFAULT_REPLICAS: u32 = 2;

/// What PostgreSQL allows and what others use, for [`check_connections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgConnections {
    /// `max_connections`.
    pub max: u32,
    /// Kept for superusers (and, from PostgreSQL 16, `reserved_connections`).
    pub reserved: u32,
    /// Held right now by clients that are not Store Weaver (shown only: it
    /// changes from minute to minute).
    pub others: u32,
}

/// Whether `replicas` `--serve` processes and one console, each opening up
/// to `budget` (`db_connections`), fit what PostgreSQL allows: a warning
/// beyond 80 % of the connections a normal role may open, since the rest of
/// the database's clients need theirs too.
pub fn check_connections(budget: u32, replicas: u32, pg: PgConnections) -> Check {
    let name = "connections";
    let usable = pg.max.saturating_sub(pg.reserved);
    let processes = replicas.saturating_add(1);
    let need = u64::from(budget) * u64::from(processes);
    let detail = format!(
        "{replicas} replica(s) and a console × db_connections {budget} = {need} of PostgreSQL's {usable} (max_connections {}, {} reserved); other clients hold {} now",
        pg.max, pg.reserved, pg.others
    );
    let fix = format!(
        "lower db_connections (each process opens at most that many; about {} for {processes} processes) or raise PostgreSQL's max_connections to at least {} (docs/api.md, \"Sizing PostgreSQL\")",
        u64::from(usable) * 8 / 10 / u64::from(processes),
        need * 10 / 8 + u64::from(pg.reserved)
    );
    if need > u64::from(usable) {
        Check::warn(
            name,
            format!(
                "{detail}: under load they exhaust it and every client of the server is refused"
            ),
            fix,
        )
    } else if need * 10 > u64::from(usable) * 8 {
        Check::warn(
            name,
            format!("{detail}: little room is left for other clients"),
            fix,
        )
    } else {
        Check::ok(name, detail)
    }
}

/// Clock difference between this host and the API server (its Date header,
/// whole seconds). Leases, tokens and certificates all assume close clocks.
/// Backups: configured, the bucket writable, every Ready store with a good
/// backup from the last 24 h. `bucket`: None when backups are off, else
/// what a test write answered.
pub fn check_backups(bucket: Option<Result<(), String>>, ready: i64, without_recent: i64) -> Check {
    match bucket {
        None => Check::warn(
            "backups",
            "off: nothing is backed up, and a deleted store cannot be brought back",
            "set backup_bucket and backup_key (docs/backups.md)",
        ),
        Some(Err(e)) => Check::fail(
            "backups",
            format!("the bucket: {e}"),
            "check backup_endpoint, backup_bucket and the credentials (docs/backups.md)",
        ),
        Some(Ok(())) if without_recent > 0 => Check::warn(
            "backups",
            format!(
                "bucket writable; {without_recent} of {ready} Ready stores have no good backup from the last 24 h"
            ),
            "`store backups NAME` shows their errors; a new store waits for its first slot (docs/backups.md)",
        ),
        Some(Ok(())) => Check::ok(
            "backups",
            format!(
                "bucket writable; each of the {ready} Ready stores has a good backup from the last 24 h"
            ),
        ),
    }
}

/// Restore drills: a backup is only as good as its last restore. Fails
/// when a store's newest drill failed; warns when drills are not scheduled
/// or stores with a backup have no passed drill within `overdue_days`.
pub fn check_drills(scheduled: bool, f: &crate::db::drills::Figures, overdue_days: i64) -> Check {
    let name = "restore drills";
    if !f.failing.is_empty() {
        let shown: Vec<&str> = f.failing.iter().take(5).map(String::as_str).collect();
        return Check::fail(
            name,
            format!(
                "the newest drill of {} store(s) failed: {}{}",
                f.failing.len(),
                shown.join(", "),
                if f.failing.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ),
            "`store drills NAME` says why; a backup that does not restore is no backup: fix it, then `store drill NAME`",
        );
    }
    if !scheduled {
        return Check::warn(
            name,
            format!(
                "none scheduled (drill_every_days is 0); {} store(s) with a backup have no passed drill in {overdue_days} days",
                f.undrilled
            ),
            "set drill_every_days (default 7), or run `store drill NAME` (docs/backups.md)",
        );
    }
    if f.undrilled > 0 {
        return Check::warn(
            name,
            format!(
                "{} store(s) with a backup have no passed drill in {overdue_days} days",
                f.undrilled
            ),
            "`store drills NAME` shows their drills; `store drill NAME` runs one now",
        );
    }
    Check::ok(
        name,
        format!(
            "every store with a backup passed a drill in the last {overdue_days} days ({} passed, {} failed in all)",
            f.passed, f.failed
        ),
    )
}

pub fn check_clock(local: DateTime<Utc>, server: DateTime<Utc>) -> Check {
    let name = "clock";
    let skew = (local - server).num_milliseconds().abs() as f64 / 1000.0;
    // The header has whole seconds: up to 1 s is rounding.
    if skew <= 2.0 {
        Check::ok(name, format!("within {skew:.0} s of the API server"))
    } else if skew <= 30.0 {
        Check::warn(
            name,
            format!("{skew:.0} s apart from the API server"),
            "run NTP on both machines (timedatectl set-ntp true)",
        )
    } else {
        Check::fail(
            name,
            format!(
                "{skew:.0} s apart from the API server: tokens, certificates and leases misbehave"
            ),
            "run NTP on both machines (timedatectl set-ntp true)",
        )
    }
}

// ----------------------------------------------------------------------- I/O

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .map_err(|_| format!("{what} did not answer within {} s", STEP_TIMEOUT.as_secs()))
}

/// Every check, in a fixed order. `replicas`: the `--serve` replicas the
/// connection budget must fit (one console is counted with them).
pub async fn run(settings: &Settings, replicas: u32) -> Report {
    let (mut checks, live) = database_checks(settings, replicas).await;
    checks.extend(cluster_checks(settings, live).await);
    Report::new(checks)
}

/// What the database says about the stores, for the checks that need it.
#[derive(Debug, Clone, Default)]
struct Live {
    count: usize,
    /// A Ready store's namespace (the oldest), to check the rights there.
    ready_namespace: Option<String>,
}

async fn database_checks(settings: &Settings, replicas: u32) -> (Vec<Check>, Option<Live>) {
    let url = match settings.database_url() {
        Ok(u) => u.to_string(),
        Err(e) => {
            return (
                vec![
                    Check::fail(
                        "database",
                        e.to_string(),
                        "set DATABASE_URL (or database_url in the config file)",
                    ),
                    Check::skip("migrations", "no database"),
                    Check::skip("connections", "no database"),
                ],
                None,
            );
        }
    };
    let shown = crate::text::mask_url_password(&url);
    let pool = match within("PostgreSQL", crate::db::connect(&url, 2)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return (
                vec![
                    Check::fail(
                        "database",
                        error_chain(&e),
                        "start PostgreSQL (locally: scripts/sandbox up) or correct DATABASE_URL",
                    ),
                    Check::skip("migrations", "no database"),
                    Check::skip("connections", "no database"),
                ],
                None,
            );
        }
        Err(why) => {
            return (
                vec![
                    Check::fail(
                        "database",
                        format!("{shown}: {why}"),
                        "is the database host reachable from here (firewall, DNS)?",
                    ),
                    Check::skip("migrations", "no database"),
                    Check::skip("connections", "no database"),
                ],
                None,
            );
        }
    };
    let mut checks = Vec::new();
    let version: Result<String, sqlx::Error> = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await;
    checks.push(match version {
        Ok(v) => Check::ok("database", format!("{shown} answers, PostgreSQL {v}")),
        Err(e) => Check::fail(
            "database",
            format!("{shown}: {e}"),
            "check the database user's rights",
        ),
    });
    let embedded: Vec<i64> = crate::db::MIGRATOR.iter().map(|m| m.version).collect();
    let applied: Result<Vec<(i64, bool)>, sqlx::Error> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await;
    checks.push(match applied {
        Ok(a) => check_migrations(&a, &embedded),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => {
            check_migrations(&[], &embedded)
        }
        Err(e) => Check::fail(
            "migrations",
            format!("cannot read them: {e}"),
            "check the database user's rights",
        ),
    });
    checks.push(match pg_connections(&pool).await {
        Ok(pg) => check_connections(settings.db_connections, replicas, pg),
        Err(e) => Check::fail(
            "connections",
            format!("cannot read max_connections or pg_stat_activity: {e}"),
            "check the database user's rights",
        ),
    });
    checks.push(backup_check(settings, &pool).await);
    if let Some(c) = drill_check(settings, &pool).await {
        checks.push(c);
    }
    let live = crate::db::stores::list(&pool, None)
        .await
        .ok()
        .map(|l| Live {
            count: l.len(),
            ready_namespace: l
                .iter()
                .filter(|s| s.status == crate::store::Status::Ready)
                .min_by_key(|s| s.created_at)
                .map(|s| s.namespace.clone()),
        });
    pool.close().await;
    (checks, live)
}

async fn backup_check(settings: &Settings, pool: &sqlx::PgPool) -> Check {
    let cfg = crate::engine::EngineConfig::from_settings(settings);
    let Some(bc) = &cfg.backup else {
        return check_backups(None, 0, 0);
    };
    let bucket = match crate::backup::Bucket::new(&bc.bucket) {
        Ok(b) => within("the backup bucket", b.check())
            .await
            .and_then(|r| r.map_err(|e| e.to_string())),
        Err(e) => Err(e.to_string()),
    };
    let counts: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS ( \
           SELECT 1 FROM backups b WHERE b.store_id = s.id AND b.state = 'complete' \
           AND b.finished_at > now() - interval '24 hours')) \
         FROM stores s WHERE s.status = 'Ready' \
         AND NOT EXISTS (SELECT 1 FROM drills t WHERE t.clone_id = s.id)",
    )
    .fetch_one(pool)
    .await;
    match counts {
        Ok((ready, without)) => check_backups(Some(bucket), ready, without),
        Err(e) => Check::fail(
            "backups",
            format!("cannot read the backups: {e}"),
            "check the database user's rights",
        ),
    }
}

/// The drills check, when backups are configured.
async fn drill_check(settings: &Settings, pool: &sqlx::PgPool) -> Option<Check> {
    let cfg = crate::engine::EngineConfig::from_settings(settings);
    let bc = cfg.backup.as_ref()?;
    let overdue = crate::engine::drill::overdue_after(bc);
    Some(
        match crate::db::drills::figures(pool, overdue.num_seconds() as f64).await {
            Ok(f) => check_drills(bc.drill_every.is_some(), &f, overdue.num_days()),
            Err(e) => Check::fail(
                "restore drills",
                format!("cannot read the drills: {e}"),
                "check the database user's rights",
            ),
        },
    )
}

/// PostgreSQL's connection limits, and what clients other than Store
/// Weaver (by application name) hold across the whole server.
async fn pg_connections(pool: &sqlx::PgPool) -> Result<PgConnections, sqlx::Error> {
    let (max, reserved, others): (i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'),
           (SELECT coalesce(sum(setting::bigint), 0)::bigint FROM pg_settings
             WHERE name IN ('superuser_reserved_connections', 'reserved_connections')),
           (SELECT count(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend'
               AND application_name NOT LIKE 'store-weaver%')",
    )
    .fetch_one(pool)
    .await?;
    let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    Ok(PgConnections {
        max: n(max),
        reserved: n(reserved),
        others: n(others),
    })
}

fn error_chain(e: &color_eyre::eyre::Report) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

async fn cluster_checks(settings: &Settings, live: Option<Live>) -> Vec<Check> {
    let live = live.as_ref();
    let count = live.map(|l| l.count);
    let mut checks = Vec::new();
    let helm = helm_check(settings).await;
    let client = match within("the kubeconfig", crate::cluster::client(settings)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(why) => Err(why),
    };
    let client = match client {
        Ok(c) => c,
        Err(why) => {
            checks.push(Check::fail(
                "cluster",
                format!("no usable Kubernetes configuration: {why}"),
                "point KUBECONFIG (or kubeconfig in the config file) at a valid kubeconfig; locally: source \"$(scripts/sandbox env-file)\"",
            ));
            checks.push(helm.clone());
            for name in [
                "permissions needed",
                "permissions not needed",
                "admission policy",
                "store chart",
                "storage class",
                "ingress class",
                "tls issuer",
                "clock",
            ] {
                checks.push(Check::skip(name, "no cluster connection"));
            }
            checks.push(check_limits(settings, count));
            return checks;
        }
    };
    let server = settings
        .kubeconfig
        .as_ref()
        .map(|p| format!("the API server of {}", p.display()))
        .unwrap_or_else(|| "the API server".to_string());
    let version = within("the API server", client.apiserver_version()).await;
    let git = match version {
        Ok(Ok(info)) => {
            checks.push(check_server_version(&server, &info.git_version));
            Some(info.git_version)
        }
        Ok(Err(e)) => {
            checks.push(Check::fail(
                "cluster",
                format!("{server} does not answer: {e}"),
                "is the API server up (locally: scripts/sandbox status) and the kubeconfig's address right?",
            ));
            None
        }
        Err(why) => {
            checks.push(Check::fail(
                "cluster",
                format!("{server}: {why}"),
                "is the API server reachable from here?",
            ));
            None
        }
    };
    let Some(git) = git else {
        checks.push(helm);
        for name in [
            "permissions needed",
            "permissions not needed",
            "store chart",
            "storage class",
            "ingress class",
            "tls issuer",
            "clock",
        ] {
            checks.push(Check::skip(name, "the API server does not answer"));
        }
        checks.push(check_limits(settings, count));
        return checks;
    };

    checks.extend(
        access_checks(
            &client,
            settings,
            live.and_then(|l| l.ready_namespace.as_deref()),
        )
        .await,
    );
    checks.push(
        escape_check(
            &client,
            settings,
            live.and_then(|l| l.ready_namespace.as_deref()),
        )
        .await,
    );
    let helm_ok = helm.level == Level::Ok;
    checks.push(helm);
    let rendered = if helm_ok {
        // Every engine's chart; the first failing one is the check's
        // answer, the default engine's rendering gives the facts below.
        let mut merged: Option<Check> = None;
        let mut facts = None;
        for engine in crate::engines::EngineKind::ALL {
            let (check, f) = chart_check(settings, &git, engine).await;
            facts = facts.or(f);
            merged = Some(match merged {
                None => check,
                Some(m) if m.level != Level::Ok => m,
                Some(_) if check.level != Level::Ok => check,
                Some(mut m) => {
                    m.detail = format!("{}; {}", m.detail, check.detail);
                    m
                }
            });
        }
        if let Some(check) = merged {
            checks.push(check);
        }
        facts
    } else {
        checks.push(Check::skip("store chart", "no helm"));
        None
    };
    checks.push(storage_check(&client).await);
    checks.push(match &rendered {
        Some(r) => ingress_check(&client, r.ingress_class.as_deref()).await,
        None => Check::skip("ingress class", "the store chart did not render"),
    });
    checks.push(match &rendered {
        Some(r) => issuer_check(&client, settings.tls, r.issuer.as_deref()).await,
        None if !settings.tls => check_issuer(false, None, None),
        None => Check::skip("tls issuer", "the store chart did not render"),
    });
    checks.push(check_limits(settings, count));
    checks.push(clock_check(&client).await);
    checks
}

/// `store_ns`: a live store's namespace, when there is one, to check the
/// rights there too.
async fn access_checks(
    client: &kube::Client,
    settings: &Settings,
    store_ns: Option<&str>,
) -> Vec<Check> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    use kube::api::{Api, PostParams};
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let ask = |a: Access| {
        let api = api.clone();
        async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(a.verb.to_string()),
                        group: Some(a.group.to_string()),
                        resource: Some(
                            a.resource
                                .split('/')
                                .next()
                                .unwrap_or(a.resource)
                                .to_string(),
                        ),
                        subresource: a.resource.split_once('/').map(|(_, s)| s.to_string()),
                        namespace: a.namespace.clone(),
                        name: a.name.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answer = within(
                "an access review",
                api.create(&PostParams::default(), &review),
            )
            .await;
            let res = match answer {
                Ok(Ok(r)) => Ok(r.status.is_some_and(|s| s.allowed)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(why) => Err(why),
            };
            (a, res)
        }
    };
    let role = settings.store_cluster_role.as_deref();
    let mut wanted = needed_access(role);
    if let Some(ns) = store_ns {
        wanted.extend(store_namespace_access(ns));
    }
    let needed = futures::future::join_all(wanted.into_iter().map(ask)).await;
    let forbidden = futures::future::join_all(forbidden_access().into_iter().map(ask)).await;
    if let Some((a, Err(e))) = needed
        .iter()
        .chain(forbidden.iter())
        .find(|(_, r)| r.is_err())
    {
        return vec![
            Check::fail(
                "permissions needed",
                format!("cannot ask the API server ({}): {e}", a.describe()),
                "SelfSubjectAccessReview is open to every authenticated user; is this identity authenticated?",
            ),
            Check::skip("permissions not needed", "access reviews failed"),
        ];
    }
    let flat = |v: Vec<(Access, Result<bool, String>)>| -> Vec<(Access, bool)> {
        v.into_iter()
            .map(|(a, r)| (a, r.unwrap_or(false)))
            .collect()
    };
    check_access(&flat(needed), &flat(forbidden), role.is_some())
}

/// Tries each step toward a node's root as a server-side dry run (nothing
/// is created) and reports what the API server would admit.
async fn escape_check(client: &kube::Client, settings: &Settings, store_ns: Option<&str>) -> Check {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
    let role = settings
        .store_cluster_role
        .as_deref()
        .unwrap_or("store-weaver-store");
    let (sa_ns, sa_name) = settings
        .service_account
        .as_ref()
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .unwrap_or(("store-weaver-system", "store-weaver"));
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let attempts = escape_attempts(store_ns, role, (sa_ns, sa_name));
    let tries = attempts.into_iter().map(|(what, ns, obj)| {
        let dry = dry.clone();
        async move {
            let api_version = obj["apiVersion"].as_str().unwrap_or("v1").to_string();
            let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &kind));
            let api: Api<DynamicObject> = match &ns {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            let answer = match serde_json::from_value::<DynamicObject>(obj) {
                Err(e) => EscapeAnswer::Unknown(format!("cannot build the object: {e}")),
                Ok(o) => match within("a dry run", api.create(&dry, &o)).await {
                    Ok(Ok(_)) => EscapeAnswer::Admitted,
                    Ok(Err(kube::Error::Api(s))) if s.code == 403 || s.code == 422 => {
                        EscapeAnswer::Refused(s.message)
                    }
                    // Already there: the dry run cannot tell; a namespace
                    // by these names is itself a finding.
                    Ok(Err(kube::Error::Api(s))) if s.code == 409 => {
                        EscapeAnswer::Unknown(format!("{} already exists: {}", kind, s.message))
                    }
                    Ok(Err(e)) => EscapeAnswer::Unknown(e.to_string()),
                    Err(why) => EscapeAnswer::Unknown(why),
                },
            };
            Escape { what, answer }
        }
    });
    let escapes = futures::future::join_all(tries).await;
    check_escapes(&escapes, settings.store_cluster_role.is_some())
}

async fn helm_check(settings: &Settings) -> Check {
    let helm = crate::helm::Helm::new(
        settings.helm_bin.clone(),
        settings.kubeconfig.clone(),
        settings.kube_context.clone(),
    );
    match helm.version().await {
        Ok(v) => Check::ok("helm", format!("{} {v}", settings.helm_bin.display())),
        Err(e) => Check::fail(
            "helm",
            format!("{}: {e}", settings.helm_bin.display()),
            "install helm 3 on the PATH or set helm_bin (locally: scripts/build-tools.sh helm)",
        ),
    }
}

/// Renders an engine's store chart the way the engine installs it (its
/// values file for this environment, a made-up store), offline.
async fn chart_check(
    settings: &Settings,
    git_version: &str,
    engine: crate::engines::EngineKind,
) -> (Check, Option<Rendered>) {
    let name = "store chart";
    let chart = settings.chart_dir_for(engine);
    let values_files = settings.values_files_for(engine);
    let values = values_files
        .iter()
        .map(|v| v.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let host = format!("doctor-check{}", settings.ingress_suffix);
    let kube_version = git_version
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or("1.35.0")
        .to_string();
    let mut cmd = tokio::process::Command::new(&settings.helm_bin);
    cmd.arg("template")
        .arg("doctor-check")
        .arg(&chart)
        .args(
            values_files
                .iter()
                .flat_map(|v| [std::ffi::OsStr::new("-f"), v.as_os_str()]),
        )
        .args(["--kube-version", &kube_version])
        .args([
            "--set-string",
            "store.id=00000000-0000-4000-8000-000000000000",
        ])
        .args(["--set-string", &format!("store.host={host}")])
        .args(["--set-string", "existingSecret=store-credentials"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = match within("helm template", cmd.output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            return (
                Check::fail(
                    name,
                    format!("cannot run {}: {e}", settings.helm_bin.display()),
                    "install helm or set helm_bin",
                ),
                None,
            );
        }
        Err(why) => {
            return (
                Check::fail(name, why, "is the chart directory on a slow or hung mount?"),
                None,
            );
        }
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return (
            Check::fail(
                name,
                format!(
                    "{} with {} does not render: {}",
                    chart.display(),
                    values,
                    crate::text::bound_message(stderr.trim(), 600)
                ),
                "fix the values file (the error names the key), or point charts_dir / values_file / extra_values_files at the right files",
            ),
            None,
        );
    }
    let yaml = String::from_utf8_lossy(&out.stdout);
    let objects = yaml.matches("\nkind: ").count() + usize::from(yaml.starts_with("kind: "));
    (
        Check::ok(
            name,
            format!(
                "{} renders {objects} objects with {} ({})",
                chart.display(),
                values,
                settings.environment
            ),
        ),
        Some(rendered_facts(&yaml)),
    )
}

fn forbidden_hint(e: &kube::Error, what: &str) -> Option<Check> {
    match e {
        kube::Error::Api(s) if s.code == 403 => Some(Check::fail(
            if what == "storageclasses" {
                "storage class"
            } else {
                "ingress class"
            },
            format!("this identity may not list {what}"),
            "grant read on it (config/rbac.yaml has the rule for the platform's account)",
        )),
        _ => None,
    }
}

async fn storage_check(client: &kube::Client) -> Check {
    use k8s_openapi::api::storage::v1::StorageClass;
    let api: kube::Api<StorageClass> = kube::Api::all(client.clone());
    match within("the API server", api.list(&Default::default())).await {
        Ok(Ok(list)) => {
            let classes: Vec<(String, bool)> = list
                .items
                .iter()
                .map(|c| {
                    let default = c
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("storageclass.kubernetes.io/is-default-class"))
                        .is_some_and(|v| v == "true");
                    (c.metadata.name.clone().unwrap_or_default(), default)
                })
                .collect();
            check_storage_classes(&classes)
        }
        Ok(Err(e)) => forbidden_hint(&e, "storageclasses").unwrap_or_else(|| {
            Check::fail(
                "storage class",
                format!("cannot list StorageClasses: {e}"),
                "is the API server healthy?",
            )
        }),
        Err(why) => Check::fail("storage class", why, "is the API server healthy?"),
    }
}

async fn ingress_check(client: &kube::Client, wanted: Option<&str>) -> Check {
    use k8s_openapi::api::networking::v1::IngressClass;
    let api: kube::Api<IngressClass> = kube::Api::all(client.clone());
    match within("the API server", api.list(&Default::default())).await {
        Ok(Ok(list)) => {
            let classes: Vec<(String, bool)> = list
                .items
                .iter()
                .map(|c| {
                    let default = c
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class"))
                        .is_some_and(|v| v == "true");
                    (c.metadata.name.clone().unwrap_or_default(), default)
                })
                .collect();
            check_ingress_class(wanted, &classes)
        }
        Ok(Err(e)) => forbidden_hint(&e, "ingressclasses").unwrap_or_else(|| {
            Check::fail(
                "ingress class",
                format!("cannot list IngressClasses: {e}"),
                "is the API server healthy?",
            )
        }),
        Err(why) => Check::fail("ingress class", why, "is the API server healthy?"),
    }
}

async fn issuer_check(client: &kube::Client, tls: bool, issuer: Option<&str>) -> Check {
    let (true, Some(name)) = (tls, issuer) else {
        return check_issuer(tls, issuer, None);
    };
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
    let gvk = GroupVersionKind::gvk("cert-manager.io", "v1", "ClusterIssuer");
    let ar = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    match within("the API server", api.get_opt(name)).await {
        Ok(Ok(found)) => check_issuer(true, Some(name), Some(found.is_some())),
        Ok(Err(kube::Error::Api(s))) if s.code == 404 => check_issuer(true, Some(name), None),
        Ok(Err(e)) => Check::fail(
            "tls issuer",
            format!("cannot read ClusterIssuer {name}: {e}"),
            "grant get on clusterissuers.cert-manager.io, or check cert-manager",
        ),
        Err(why) => Check::fail("tls issuer", why, "is the API server healthy?"),
    }
}

async fn clock_check(client: &kube::Client) -> Check {
    let req = match http::Request::get("/version").body(Vec::new()) {
        Ok(r) => r,
        Err(e) => return Check::skip("clock", format!("cannot build the request: {e}")),
    };
    let local = Utc::now();
    match within(
        "the API server",
        client.send(req.map(kube::client::Body::from)),
    )
    .await
    {
        Ok(Ok(resp)) => {
            let header = resp
                .headers()
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match header.and_then(|h| DateTime::parse_from_rfc2822(&h).ok()) {
                // Compare with the middle of the request, not its start.
                Some(server) => {
                    check_clock(local + (Utc::now() - local) / 2, server.with_timezone(&Utc))
                }
                None => Check::skip("clock", "the API server sent no Date header"),
            }
        }
        Ok(Err(e)) => Check::skip("clock", format!("the API server does not answer: {e}")),
        Err(why) => Check::skip("clock", why),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn drills_fail_on_a_failed_restore_and_warn_when_off_or_overdue() {
        use crate::db::drills::Figures;
        let good = Figures {
            passed: 4,
            ..Figures::default()
        };
        let c = check_drills(true, &good, 14);
        assert_eq!(c.level, Level::Ok, "{c:?}");
        let failing = Figures {
            failing: vec!["Shop A".into()],
            ..good.clone()
        };
        let c = check_drills(true, &failing, 14);
        assert_eq!(c.level, Level::Fail, "{c:?}");
        assert!(c.detail.contains("Shop A"), "{c:?}");
        let c = check_drills(false, &good, 14);
        assert_eq!(c.level, Level::Warn, "{c:?}");
        assert!(c.detail.contains("drill_every_days"), "{c:?}");
        let overdue = Figures {
            undrilled: 2,
            ..good
        };
        let c = check_drills(true, &overdue, 14);
        assert_eq!(c.level, Level::Warn, "{c:?}");
        assert!(c.detail.contains("2 store(s)"), "{c:?}");
    }

    use super::*;

    const PG_DEFAULT: PgConnections = PgConnections {
        max: 100,
        reserved: 3,
        others: 5,
    };

    #[test]
    fn the_default_budget_fits_four_replicas_and_a_console() {
        let c = check_connections(12, 4, PG_DEFAULT);
        assert_eq!(c.level, Level::Ok, "{c:?}");
        assert!(c.detail.contains("= 60 of PostgreSQL's 97"), "{}", c.detail);
    }

    #[test]
    fn a_budget_near_max_connections_is_a_warning_with_the_numbers_to_change() {
        // 6 processes x 14 = 84 of 97: more than 80 %.
        let c = check_connections(14, 5, PG_DEFAULT);
        assert_eq!(c.level, Level::Warn, "{c:?}");
        assert!(c.detail.contains("little room"), "{}", c.detail);
        let fix = c.fix.unwrap_or_default();
        assert!(fix.contains("about 12 for 6 processes"), "{fix}");
        assert!(fix.contains("at least 108"), "{fix}");
        // Beyond it: said plainly.
        let c = check_connections(24, 4, PG_DEFAULT);
        assert_eq!(c.level, Level::Warn);
        assert!(c.detail.contains("exhaust"), "{}", c.detail);
    }

    #[test]
    fn migrations_name_what_is_missing_or_unknown() {
        assert_eq!(
            check_migrations(&[(1, true), (2, true)], &[1, 2]).level,
            Level::Ok
        );
        let c = check_migrations(&[(1, true)], &[1, 2, 3]);
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("missing: 2, 3"), "{}", c.detail);
        assert!(c.fix.unwrap().contains("store-weaver migrate"));
        let c = check_migrations(&[(1, true), (9, true)], &[1]);
        assert!(c.detail.contains("does not know"), "{}", c.detail);
        let c = check_migrations(&[(1, false)], &[1]);
        assert!(c.detail.contains("failed halfway"));
        assert_eq!(check_migrations(&[], &[1]).level, Level::Fail);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("v1.37.2"), Some((1, 37)));
        assert_eq!(parse_version("v1.31.4+k3s1"), Some((1, 31)));
        assert_eq!(parse_version("v0.0.0-master+$Format"), Some((0, 0)));
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(check_server_version("s", "v1.37.2").level, Level::Ok);
        assert_eq!(check_server_version("s", "v1.25.0").level, Level::Fail);
        assert_eq!(check_server_version("s", "v0.0.0").level, Level::Fail);
        assert_eq!(check_server_version("s", "weird").level, Level::Warn);
    }

    #[test]
    fn access_missing_fails_and_extra_depends_on_the_mode() {
        let need: Vec<(Access, bool)> = needed_access(Some("store-weaver-store"))
            .into_iter()
            .map(|a| (a, true))
            .collect();
        let none: Vec<(Access, bool)> =
            forbidden_access().into_iter().map(|a| (a, false)).collect();
        let all_ok = check_access(&need, &none, true);
        assert!(all_ok.iter().all(|c| c.level == Level::Ok), "{all_ok:?}");

        let mut missing = need.clone();
        missing[0].1 = false;
        let c = &check_access(&missing, &none, true)[0];
        assert_eq!(c.level, Level::Fail);
        assert!(
            c.detail
                .contains("create namespaces (a namespace per store)"),
            "{}",
            c.detail
        );

        let mut extra = none.clone();
        extra[0].1 = true;
        let strict = &check_access(&need, &extra, true)[1];
        assert_eq!(strict.level, Level::Fail);
        assert!(strict.detail.contains("list secrets"), "{}", strict.detail);
        let broad = &check_access(&need, &extra, false)[1];
        assert_eq!(
            broad.level,
            Level::Warn,
            "broad rights are the configured mode"
        );
    }

    #[test]
    fn an_admitted_step_to_the_node_fails_under_least_privilege() {
        let attempts = escape_attempts(Some("store-acme"), "store-weaver-store", ("sw", "sa"));
        assert_eq!(attempts.len(), 4);
        assert!(
            attempts
                .iter()
                .any(|(w, ns, _)| w.contains("privileged Deployment")
                    && ns.as_deref() == Some("store-acme"))
        );
        assert_eq!(escape_attempts(None, "r", ("sw", "sa")).len(), 3);
        let refused = |w: &str| Escape {
            what: w.into(),
            answer: EscapeAnswer::Refused("denied".into()),
        };
        let all_refused = vec![refused("a"), refused("b")];
        assert_eq!(check_escapes(&all_refused, true).level, Level::Ok);
        let mut one_in = all_refused.clone();
        one_in[1].answer = EscapeAnswer::Admitted;
        let c = check_escapes(&one_in, true);
        assert_eq!(c.level, Level::Fail);
        assert!(
            c.detail.contains("would admit") && c.detail.contains('b'),
            "{c:?}"
        );
        assert!(c.fix.unwrap().contains("config/rbac.yaml"));
        assert_eq!(check_escapes(&one_in, false).level, Level::Warn);
        let mut unknown = all_refused;
        unknown[0].answer = EscapeAnswer::Unknown("timeout".into());
        assert_eq!(check_escapes(&unknown, false).level, Level::Fail);
    }

    #[test]
    fn least_privilege_needs_the_bind_on_the_store_role() {
        let v = needed_access(Some("my-store-role"));
        assert!(
            v.iter()
                .any(|a| a.verb == "bind" && a.name.as_deref() == Some("my-store-role"))
        );
        let d = v
            .iter()
            .find(|a| a.resource == "rolebindings")
            .unwrap()
            .describe();
        assert_eq!(
            d,
            "create rolebindings.rbac.authorization.k8s.io in a store namespace"
        );
        assert!(
            needed_access(None)
                .iter()
                .any(|a| a.resource == "pods/exec")
        );
    }

    /// A missing class still fails, and the fix says what to do on k3s,
    /// on k3d and on any other cluster.
    #[test]
    fn a_missing_ingress_class_says_what_to_do_per_cluster_kind() {
        let classes = vec![("nginx".to_string(), true)];
        let c = check_ingress_class(Some("traefik"), &classes);
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("traefik") && c.detail.contains("does not exist"));
        let fix = c.fix.unwrap_or_default();
        for want in [
            "on k3s",
            "--disable=traefik",
            "on k3d",
            "other clusters",
            "helm install traefik",
            "ingress.className: nginx",
        ] {
            assert!(fix.contains(want), "{want} missing from: {fix}");
        }
        // Another class: k3s/k3d have traefik, not it.
        let fix = check_ingress_class(Some("nginx"), &[])
            .fix
            .unwrap_or_default();
        assert!(
            fix.contains("k3s and k3d ship traefik") && fix.contains("install the nginx"),
            "{fix}"
        );
    }

    #[test]
    fn storage_and_ingress_classes() {
        assert_eq!(
            check_storage_classes(&[("local-path".into(), true)]).level,
            Level::Ok
        );
        let c = check_storage_classes(&[("slow".into(), false)]);
        assert!(c.level == Level::Fail && c.detail.contains("slow"));
        assert_eq!(check_storage_classes(&[]).level, Level::Fail);
        assert_eq!(
            check_storage_classes(&[("a".into(), true), ("b".into(), true)]).level,
            Level::Warn
        );

        let classes = vec![("traefik".to_string(), false)];
        assert_eq!(
            check_ingress_class(Some("traefik"), &classes).level,
            Level::Ok
        );
        let c = check_ingress_class(Some("nginx"), &classes);
        assert!(
            c.level == Level::Fail && c.detail.contains("nginx") && c.detail.contains("traefik")
        );
        assert_eq!(check_ingress_class(None, &classes).level, Level::Fail);
        assert_eq!(
            check_ingress_class(None, &[("t".into(), true)]).level,
            Level::Ok
        );
    }

    #[test]
    fn issuer_only_matters_with_tls() {
        assert_eq!(check_issuer(false, None, None).level, Level::Ok);
        assert_eq!(check_issuer(true, Some("le"), Some(true)).level, Level::Ok);
        assert_eq!(
            check_issuer(true, Some("le"), Some(false)).level,
            Level::Fail
        );
        let c = check_issuer(true, Some("le"), None);
        assert!(c.detail.contains("cert-manager is not installed"));
        assert_eq!(check_issuer(true, None, None).level, Level::Warn);
    }

    #[test]
    fn facts_from_the_rendered_chart() {
        let yaml = "kind: Ingress\nmetadata:\n  annotations:\n    cert-manager.io/cluster-issuer: \"letsencrypt-prod\"\nspec:\n  ingressClassName: traefik\n";
        assert_eq!(
            rendered_facts(yaml),
            Rendered {
                ingress_class: Some("traefik".into()),
                issuer: Some("letsencrypt-prod".into())
            }
        );
        assert_eq!(rendered_facts("kind: Service\n"), Rendered::default());
    }

    #[test]
    fn clock_skew_levels() {
        let now = Utc::now();
        assert_eq!(
            check_clock(now, now - chrono::Duration::seconds(1)).level,
            Level::Ok
        );
        assert_eq!(
            check_clock(now, now + chrono::Duration::seconds(10)).level,
            Level::Warn
        );
        let c = check_clock(now, now - chrono::Duration::seconds(120));
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("120 s apart"));
    }

    #[test]
    fn the_report_says_what_failed_and_how_to_fix_it() {
        let r = Report::new(vec![
            Check::ok("database", "answers"),
            Check::fail(
                "cluster",
                "no usable Kubernetes configuration: bad",
                "point KUBECONFIG at one",
            ),
        ]);
        assert!(!r.ok);
        let text = r.render();
        assert!(
            text.contains("FAIL  cluster   no usable Kubernetes configuration: bad"),
            "{text}"
        );
        assert!(text.contains("fix: point KUBECONFIG at one"), "{text}");
        assert!(text.contains("1 check(s) failed"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][1]["level"], "fail");
        assert!(json["checks"][0].get("fix").is_none());
        let good = Report::new(vec![Check::ok("a", "x"), Check::warn("b", "y", "z")]);
        assert!(good.ok, "a warning is not a failure");
        assert!(good.render().contains("all 2 checks passed (1 warning(s))"));
        assert!(
            !Report::new(vec![Check::skip("c", "no db")]).ok,
            "a check that could not run is not a pass"
        );
    }
}
