//! Least privilege, proven against the real API server: the engine runs with
//! the platform service account's own token (not the admin kubeconfig) and
//! provisions and deletes a store; access reviews show what that account
//! cannot do.

mod common;

use common::*;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::time::Duration;
use store_weaver::cluster::view::ClusterView;
use store_weaver::engine::{self, CreateRequest, WorkerPool, WorkerPoolConfig};
use store_weaver::runtime;
use store_weaver::store::{Actor, Status, Via};

const SA: &str = "system:serviceaccount:store-weaver-system:store-weaver";

fn kubectl(args: &[&str], file: Option<&str>) -> String {
    let mut all = args.to_vec();
    if let Some(f) = file {
        all.extend(["-f", f]);
    }
    common::tools::kubectl_out(&all)
}

async fn allowed(
    client: &kube::Client,
    verb: &str,
    resource: &str,
    group: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> bool {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(SA.into()),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:store-weaver-system".into(),
                "system:authenticated".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some(resource.into()),
                group: Some(group.into()),
                namespace: ns.map(str::to_string),
                name: name.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    answer.status.is_some_and(|s| s.allowed)
}

#[tokio::test]
async fn the_engine_works_with_the_platform_account_and_that_account_can_do_little_else() {
    apply_rbac();
    let dir = tempfile::tempdir().unwrap();
    let sa_kubeconfig = service_account_kubeconfig(dir.path());
    let db = TestDb::new().await;
    let s = settings(
        &db.url,
        "charts",
        &[
            ("kubeconfig", sa_kubeconfig.to_str().unwrap()),
            (
                "values_file",
                repo("charts/woocommerce/values-local.yaml")
                    .to_str()
                    .unwrap(),
            ),
            ("store_cluster_role", "store-weaver-store"),
            ("service_account", "store-weaver-system/store-weaver"),
        ],
    );
    let sa_client = store_weaver::cluster::client(&s).await.unwrap();
    let view = ClusterView::start(sa_client.clone());
    let workers = WorkerPool::start(WorkerPoolConfig {
        workers: 1,
        engine: Arc::new(store_weaver::engine::EngineConfig::from_settings(&s)),
        pool: db.pool.clone(),
        client: sa_client.clone(),
        view,
    });
    let actor = Actor::new("tester", Via::Cli);
    let (store, _) = engine::create(
        &db.pool,
        runtime::limits(&s),
        &runtime::naming(&s),
        &actor,
        &CreateRequest {
            name: unique("Least Privilege"),
            owner: "rbac@example.com".into(),
            engine: "woocommerce".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let ready = runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(180), |s| {
        !s.status.is_busy()
    })
    .await
    .unwrap();
    assert_eq!(
        ready.status,
        Status::Ready,
        "as the service account: {:?}",
        ready.error_message
    );

    let admin = kube().await;
    let ns = store.namespace.as_str();
    // Inside its store namespace the account has what provisioning needs...
    assert!(allowed(&admin, "create", "secrets", "", Some(ns), None).await);
    assert!(allowed(&admin, "delete", "namespaces", "", Some(ns), Some(ns)).await);
    assert!(allowed(&admin, "create", "namespaces", "", None, None).await);
    assert!(allowed(&admin, "watch", "pods", "", None, None).await);
    // An upgrade's wait tells the new revision's pods by their ReplicaSet.
    assert!(allowed(&admin, "list", "replicasets", "apps", Some(ns), None).await);
    // ...and outside it, nothing that matters.
    assert!(
        !allowed(&admin, "get", "secrets", "", Some("kube-system"), None).await,
        "read secrets in kube-system"
    );
    assert!(
        !allowed(&admin, "list", "secrets", "", None, None).await,
        "list secrets cluster-wide"
    );
    assert!(
        !allowed(
            &admin,
            "delete",
            "namespaces",
            "",
            Some("default"),
            Some("default")
        )
        .await,
        "delete a namespace that is not a store's"
    );
    assert!(
        !allowed(
            &admin,
            "create",
            "clusterroles",
            "rbac.authorization.k8s.io",
            None,
            None
        )
        .await,
        "create cluster roles"
    );
    assert!(
        !allowed(
            &admin,
            "create",
            "clusterrolebindings",
            "rbac.authorization.k8s.io",
            None,
            None
        )
        .await
    );
    assert!(
        !allowed(
            &admin,
            "bind",
            "clusterroles",
            "rbac.authorization.k8s.io",
            None,
            Some("cluster-admin")
        )
        .await
    );
    assert!(!allowed(&admin, "create", "pods", "", Some("kube-system"), None).await);
    assert!(!allowed(&admin, "delete", "nodes", "", None, None).await);

    // Escalation attempt with the account's own token: binding cluster-admin
    // inside its own namespace is refused by the API server.
    let escalate = RoleBinding {
        metadata: ObjectMeta {
            name: Some("escalate".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: "cluster-admin".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "store-weaver".into(),
            namespace: Some("store-weaver-system".into()),
            ..Default::default()
        }]),
    };
    let refused = Api::<RoleBinding>::namespaced(sa_client.clone(), ns)
        .create(&PostParams::default(), &escalate)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, kube::Error::Api(ref s) if s.code == 403),
        "{refused}"
    );

    engine::delete(&db.pool, &actor, store.id, None)
        .await
        .unwrap();
    let gone = runtime::wait_for_store(&db.pool, store.id, Duration::from_secs(180), |s| {
        !s.status.is_busy()
    })
    .await
    .unwrap();
    assert_eq!(
        gone.status,
        Status::Deleted,
        "as the service account: {:?}",
        gone.error_message
    );
    workers.shutdown().await;
    db.drop_db().await;
}

fn denied(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 || s.code == 422 => s.message.clone(),
        other => panic!("expected a denial, got {other}"),
    }
}

fn binding(role: &str, sa_ns: &str, sa_name: &str) -> RoleBinding {
    RoleBinding {
        metadata: ObjectMeta {
            name: Some(format!("try-{role}-{sa_name}")),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: sa_name.into(),
            namespace: Some(sa_ns.into()),
            ..Default::default()
        }]),
    }
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> k8s_openapi::api::core::v1::Namespace {
    k8s_openapi::api::core::v1::Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The two-step escalation (bind the store role in any namespace, then act
/// there) is stopped by the admission policy, with the account's own token.
#[tokio::test]
async fn the_admission_policy_keeps_the_platform_account_to_store_namespaces() {
    use k8s_openapi::api::core::v1::Namespace;
    apply_rbac();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "charts",
        &[(
            "kubeconfig",
            service_account_kubeconfig(dir.path()).to_str().unwrap(),
        )],
    );
    let sa = store_weaver::cluster::client(&s).await.unwrap();
    let admin = kube().await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let plain = format!("sw-vap-plain-{suffix}");
    let store_ns = format!("store-vap-{suffix}");
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace(&plain, &[]))
        .await
        .unwrap();

    // Step 1 of the escalation, a RoleBinding in a namespace that is not a
    // store's: refused. (The policy is enforced once the API server has
    // loaded it; dry runs go through admission without persisting anything.)
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let bindings = Api::<RoleBinding>::namespaced(sa.clone(), &plain);
    let own = binding("store-weaver-store", "store-weaver-system", "store-weaver");
    let message = eventually(
        Duration::from_secs(30),
        "the policy to be enforced",
        || async {
            match bindings.create(&dry, &own).await {
                Err(e) => Some(denied(&e)),
                Ok(_) => None,
            }
        },
    )
    .await;
    assert!(message.contains("only in store namespaces"), "{message}");
    let e = bindings
        .create(&PostParams::default(), &own)
        .await
        .unwrap_err();
    assert!(denied(&e).contains("only in store namespaces"));
    // Step 2 then has nothing to stand on: the namespace cannot be deleted.
    let e = Api::<Namespace>::all(sa.clone())
        .delete(&plain, &Default::default())
        .await
        .unwrap_err();
    denied(&e);

    // Namespaces: created only with the store labels.
    let e = Api::<Namespace>::all(sa.clone())
        .create(
            &PostParams::default(),
            &namespace(&format!("store-vap-bare-{suffix}"), &[]),
        )
        .await
        .unwrap_err();
    assert!(denied(&e).contains("labelled as store namespaces"));
    // As the engine labels them (cluster::namespace::namespace_labels).
    let labels = store_labels_with(Some("baseline"));
    Api::<Namespace>::all(sa.clone())
        .create(&PostParams::default(), &namespace(&store_ns, &labels))
        .await
        .expect("a labelled store namespace may be created");

    // In a store namespace: only the store role, only for itself.
    let in_store = Api::<RoleBinding>::namespaced(sa.clone(), &store_ns);
    let e = in_store
        .create(
            &PostParams::default(),
            &binding("store-weaver-store", "kube-system", "default"),
        )
        .await
        .unwrap_err();
    assert!(denied(&e).contains("only to its own service account"));
    let e = in_store
        .create(
            &PostParams::default(),
            &binding("store-weaver", "store-weaver-system", "store-weaver"),
        )
        .await
        .unwrap_err();
    assert!(denied(&e).contains("may bind only"), "{}", denied(&e));
    in_store
        .create(&PostParams::default(), &own)
        .await
        .expect("the store role for itself, in a store namespace");
    // With that binding the account may delete the store namespace (RBAC and
    // the policy agree), once the authorizer has seen the binding.
    eventually(
        Duration::from_secs(30),
        "the store namespace delete to be allowed",
        || async {
            Api::<Namespace>::all(sa.clone())
                .delete(&store_ns, &Default::default())
                .await
                .ok()
        },
    )
    .await;

    let _ = Api::<Namespace>::all(admin.clone())
        .delete(&plain, &Default::default())
        .await;
}

fn workload(kind: &str, name: &str, pod: serde_json::Value) -> serde_json::Value {
    let template = serde_json::json!({
        "metadata": {"labels": {"app": name}},
        "spec": pod,
    });
    match kind {
        "Deployment" => serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
        }),
        "StatefulSet" => serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {"serviceName": name, "selector": {"matchLabels": {"app": name}}, "template": template},
        }),
        "Job" => {
            let mut pod = pod;
            pod["restartPolicy"] = "Never".into();
            serde_json::json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name},
                "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": pod}},
            })
        }
        other => panic!("no such kind {other}"),
    }
}

/// A pod spec with what the review's reproduction used: root on the node.
fn node_root_pod() -> serde_json::Value {
    serde_json::json!({
        "hostPID": true,
        "hostNetwork": true,
        "containers": [{
            "name": "c", "image": "busybox",
            "securityContext": {"privileged": true},
            "volumeMounts": [{"name": "host", "mountPath": "/host"}],
        }],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
    })
}

/// One way to the node at a time, so each rule is shown on its own.
fn one_hole(hole: &str) -> serde_json::Value {
    let mut pod = serde_json::json!({"containers": [{"name": "c", "image": "busybox"}]});
    match hole {
        "privileged" => {
            pod["containers"][0]["securityContext"] = serde_json::json!({"privileged": true})
        }
        "hostPID" | "hostIPC" | "hostNetwork" => pod[hole] = true.into(),
        "hostPath" => {
            pod["volumes"] = serde_json::json!([{"name": "h", "hostPath": {"path": "/"}}]);
        }
        "SYS_ADMIN" => {
            pod["containers"][0]["securityContext"] =
                serde_json::json!({"capabilities": {"add": ["SYS_ADMIN"]}})
        }
        "hostPort" => {
            pod["containers"][0]["ports"] =
                serde_json::json!([{"containerPort": 80, "hostPort": 80}])
        }
        "initContainer" => {
            pod["initContainers"] = serde_json::json!([{"name": "i", "image": "busybox", "securityContext": {"privileged": true}}])
        }
        other => panic!("no such hole {other}"),
    }
    pod
}

async fn create_dynamic(
    client: &kube::Client,
    ns: &str,
    obj: &serde_json::Value,
    dry_run: bool,
) -> Result<(), kube::Error> {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let (group, version) = match obj["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            obj["apiVersion"].as_str().unwrap().to_string(),
        ),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, obj["kind"].as_str().unwrap());
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk));
    let obj: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    let pp = PostParams {
        dry_run,
        ..Default::default()
    };
    api.create(&pp, &obj).await.map(|_| ())
}

const STORE_LABELS: [(&str, &str); 2] = [
    ("app.kubernetes.io/managed-by", "store-weaver"),
    (
        "store-weaver.io/store-id",
        "00000000-0000-0000-0000-000000000000",
    ),
];

fn store_labels_with(psa: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut l = STORE_LABELS.to_vec();
    if let Some(level) = psa {
        l.push(("pod-security.kubernetes.io/enforce", level));
    }
    l
}

/// Issue 27 (1): the review's chain to node root with the platform account's
/// own token (a namespace labelled as a store's with Pod Security
/// "privileged", the store role bound there, a privileged Deployment with the
/// host's namespaces and / mounted). Each step is refused by the API server
/// on its own: each later step is tried as if the earlier had passed (the
/// admin makes what the refused step would have made).
#[tokio::test]
async fn the_platform_account_cannot_reach_node_root() {
    use k8s_openapi::api::core::v1::Namespace;
    apply_rbac();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "charts",
        &[(
            "kubeconfig",
            service_account_kubeconfig(dir.path()).to_str().unwrap(),
        )],
    );
    let sa = store_weaver::cluster::client(&s).await.unwrap();
    let admin = kube().await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let sa_ns = Api::<Namespace>::all(sa.clone());
    let admin_ns = Api::<Namespace>::all(admin.clone());
    let privns = format!("x-privns-{suffix}");
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };

    // Step 1: the namespace. (A policy takes effect a moment after it is
    // applied: wait for the first refusal, with dry runs.)
    let labelled_privileged = namespace(&privns, &store_labels_with(Some("privileged")));
    let message = eventually(
        Duration::from_secs(30),
        "the namespace policy to be enforced",
        || async {
            match sa_ns.create(&dry, &labelled_privileged).await {
                Err(e) => Some(denied(&e)),
                Ok(_) => None,
            }
        },
    )
    .await;
    assert!(message.contains("named store-"), "{message}");
    let e = sa_ns
        .create(&PostParams::default(), &labelled_privileged)
        .await
        .unwrap_err();
    denied(&e);
    // The prefix alone is not enough: Pod Security must be baseline or
    // restricted, and must be there.
    for (name, psa, why) in [
        (
            format!("store-privns-{suffix}"),
            Some("privileged"),
            "privileged is refused",
        ),
        (
            format!("store-nopsa-{suffix}"),
            None,
            "must enforce Pod Security",
        ),
    ] {
        let e = sa_ns
            .create(
                &PostParams::default(),
                &namespace(&name, &store_labels_with(psa)),
            )
            .await
            .unwrap_err();
        let m = denied(&e);
        assert!(m.contains(why), "{name}: {m}");
    }
    let mut pinned_old = store_labels_with(Some("baseline"));
    pinned_old.push(("pod-security.kubernetes.io/enforce-version", "v1.0"));
    let e = sa_ns
        .create(
            &PostParams::default(),
            &namespace(&format!("store-oldpsa-{suffix}"), &pinned_old),
        )
        .await
        .unwrap_err();
    assert!(denied(&e).contains("version latest"));

    // Step 2: the store role bound in such a namespace, had it been made
    // (by anyone): refused, with or without the store prefix.
    let privileged_store = format!("store-privns-{suffix}");
    for name in [&privns, &privileged_store] {
        admin_ns
            .create(
                &PostParams::default(),
                &namespace(name, &store_labels_with(Some("privileged"))),
            )
            .await
            .unwrap();
        let own = binding("store-weaver-store", "store-weaver-system", "store-weaver");
        let e = Api::<RoleBinding>::namespaced(sa.clone(), name)
            .create(&PostParams::default(), &own)
            .await
            .unwrap_err();
        assert!(denied(&e).contains("only in store namespaces"), "{name}");
    }

    // Step 3: a workload that is root on the node, had the binding been
    // made (the admin binds it): refused, and each way to the host on its own.
    kubectl(
        &[
            "create",
            "rolebinding",
            "store-weaver",
            "-n",
            &privns,
            "--clusterrole",
            "store-weaver-store",
            "--serviceaccount",
            "store-weaver-system:store-weaver",
        ],
        None,
    );
    let root = workload("Deployment", "node-root", node_root_pod());
    let message = eventually(
        Duration::from_secs(30),
        "the binding to be seen and the workload policy to be enforced",
        || async {
            match create_dynamic(&sa, &privns, &root, false).await {
                Err(kube::Error::Api(s)) if s.message.contains("ValidatingAdmissionPolicy") => {
                    Some(s.message)
                }
                // Not yet authorized (RBAC cache) or not yet enforced.
                Err(_) => None,
                Ok(()) => panic!("a node-root Deployment was admitted in {privns}"),
            }
        },
    )
    .await;
    assert!(message.contains("host"), "{message}");
    for kind in ["Deployment", "StatefulSet", "Job"] {
        for hole in [
            "privileged",
            "hostPID",
            "hostIPC",
            "hostNetwork",
            "hostPath",
            "SYS_ADMIN",
            "hostPort",
            "initContainer",
        ] {
            let obj = workload(
                kind,
                &format!("hole-{}", hole.to_lowercase().replace('_', "-")),
                one_hole(hole),
            );
            let e = create_dynamic(&sa, &privns, &obj, true)
                .await
                .expect_err(&format!("{kind} with {hole} was admitted"));
            let m = denied(&e);
            assert!(m.contains("the platform may not"), "{kind} {hole}: {m}");
        }
    }
    // What the store chart runs is still admitted.
    let plain = workload(
        "Deployment",
        "plain",
        serde_json::json!({"containers": [{"name": "c", "image": "busybox",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}),
    );
    create_dynamic(&sa, &privns, &plain, true)
        .await
        .expect("an ordinary Deployment is admitted");

    // The Pod Security labels of a namespace cannot be changed by the
    // account (RBAC gives it no update on namespaces; the policy refuses it
    // too).
    let patch = serde_json::json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}});
    let store_ns = format!("store-psa-{suffix}");
    sa_ns
        .create(
            &PostParams::default(),
            &namespace(&store_ns, &store_labels_with(Some("baseline"))),
        )
        .await
        .expect("a store namespace with Pod Security baseline may be created");
    let e = sa_ns
        .patch(
            &store_ns,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap_err();
    denied(&e);

    // The API server's own Pod Security admission is on: even the admin
    // (whom the policies do not bind) cannot put a privileged pod into a
    // store namespace.
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "node-root"},
        "spec": node_root_pod(),
    }))
    .unwrap();
    let e = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(admin.clone(), &store_ns)
        .create(&dry, &pod)
        .await
        .unwrap_err();
    assert!(denied(&e).contains("violates PodSecurity"), "{e}");

    for name in [&privns, &privileged_store, &store_ns] {
        let _ = admin_ns.delete(name, &Default::default()).await;
    }
}

/// The real node's placement (scripts/sandbox writes it): its label and
/// taint, a local image (nothing is pulled).
fn on_the_real_node(mut pod: serde_json::Value) -> serde_json::Value {
    pod["nodeSelector"] = serde_json::json!({"sandbox.store-weaver.dev/pool": "real"});
    pod["tolerations"] = serde_json::json!([{
        "key": "sandbox.store-weaver.dev/real-node", "operator": "Exists", "effect": "NoSchedule"
    }]);
    for c in pod["containers"].as_array_mut().unwrap() {
        c["image"] = "localhost/sandbox/wordpress:6.1-php8.2-apache".into();
        c["imagePullPolicy"] = "Never".into();
        c["command"] = serde_json::json!(["sleep", "3600"]);
    }
    pod
}

fn pods_of(ns: &str, app: &str) -> Vec<serde_json::Value> {
    common::tools::kubectl_json(&["get", "pods", "-n", ns, "-l", &format!("app={app}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Issue 27 (1) on the sandbox's real node (a kubelet with containerd):
/// the node-root Deployment is refused to the platform's account by the
/// API server; and even created by someone the policies do not bind (the
/// admin, as if they were missing), its pod never starts there: Pod
/// Security (baseline, which every store namespace enforces) refuses the
/// pod, while a plain pod with the same placement runs on that node.
#[tokio::test]
async fn a_node_root_pod_never_starts_on_the_real_node() {
    use k8s_openapi::api::core::v1::Namespace;
    let _ = require_env("SANDBOX_REAL_NODE_VALUES");
    apply_rbac();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        "postgres://unused:unused@127.0.0.1/unused",
        "charts",
        &[(
            "kubeconfig",
            service_account_kubeconfig(dir.path()).to_str().unwrap(),
        )],
    );
    let sa = store_weaver::cluster::client(&s).await.unwrap();
    let admin = kube().await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let ns = format!("store-realroot-{suffix}");
    Api::<Namespace>::all(sa.clone())
        .create(
            &PostParams::default(),
            &namespace(&ns, &store_labels_with(Some("baseline"))),
        )
        .await
        .expect("a store namespace, as the engine makes it");
    let own = binding("store-weaver-store", "store-weaver-system", "store-weaver");
    eventually(Duration::from_secs(30), "the store role bound", || async {
        Api::<RoleBinding>::namespaced(sa.clone(), &ns)
            .create(&PostParams::default(), &own)
            .await
            .ok()
    })
    .await;

    let root = workload("Deployment", "node-root", on_the_real_node(node_root_pod()));
    // The platform's account: refused by the API server.
    let message = eventually(
        Duration::from_secs(30),
        "the workload policy to refuse the account",
        || async {
            match create_dynamic(&sa, &ns, &root, false).await {
                Err(kube::Error::Api(s)) if s.message.contains("ValidatingAdmissionPolicy") => {
                    Some(s.message)
                }
                Err(_) => None,
                Ok(()) => {
                    panic!("the node-root Deployment was admitted from the platform's account")
                }
            }
        },
    )
    .await;
    assert!(message.contains("the platform may not"), "{message}");

    // Someone the policies do not bind: the Deployment is stored, but its
    // ReplicaSet may not make the pod.
    create_dynamic(&admin, &ns, &root, false).await.unwrap();
    let failure = eventually(
        Duration::from_secs(60),
        "the ReplicaSet to report that Pod Security refused its pod",
        || async {
            let rs = common::tools::kubectl_json(&["get", "rs", "-n", &ns, "-l", "app=node-root"]);
            rs["items"]
                .as_array()?
                .iter()
                .flat_map(|r| {
                    r["status"]["conditions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .find(|c| c["type"] == "ReplicaFailure" && c["reason"] == "FailedCreate")
                .and_then(|c| c["message"].as_str().map(str::to_string))
        },
    )
    .await;
    assert!(failure.contains("violates PodSecurity"), "{failure}");
    for what in ["privileged", "hostPath", "host namespaces"] {
        assert!(failure.contains(what), "{what}: {failure}");
    }

    // The node runs what it may: a plain pod with the same placement starts
    // there (so the refusal above is Pod Security's, not the node's).
    let plain = workload(
        "Deployment",
        "plain",
        on_the_real_node(serde_json::json!({"containers": [{"name": "c"}]})),
    );
    create_dynamic(&admin, &ns, &plain, false).await.unwrap();
    let node = eventually(
        Duration::from_secs(180),
        "the plain pod running on the real node",
        || async {
            pods_of(&ns, "plain").into_iter().find_map(|p| {
                (p["status"]["phase"] == "Running")
                    .then(|| p["spec"]["nodeName"].as_str().unwrap_or("").to_string())
            })
        },
    )
    .await;
    assert_eq!(node, "sandbox-real-0");
    // By now the ReplicaSet has tried again and again: still no pod of it.
    assert!(
        pods_of(&ns, "node-root").is_empty(),
        "a node-root pod exists: {:?}",
        pods_of(&ns, "node-root")
    );
    let _ = Api::<Namespace>::all(admin.clone())
        .delete(&ns, &Default::default())
        .await;
}
