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
    kubectl(&["apply"], Some(repo("config/rbac.yaml").to_str().unwrap()));
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
    kubectl(&["apply"], Some(repo("config/rbac.yaml").to_str().unwrap()));
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
            &namespace(&format!("sw-vap-bare-{suffix}"), &[]),
        )
        .await
        .unwrap_err();
    assert!(denied(&e).contains("labelled as store namespaces"));
    let labels = [
        ("app.kubernetes.io/managed-by", "store-weaver"),
        (
            "store-weaver.io/store-id",
            "00000000-0000-0000-0000-000000000000",
        ),
    ];
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
