//! The sandbox's ingress controller: Traefik, built from its Go module and
//! run on the host by `scripts/sandbox` (scripts/sandbox-ingress.sh), serves
//! the Ingresses of class `traefik` on 127.0.0.1:$SANDBOX_INGRESS_PORT and
//! sends requests to the pods of the real node. A store is reached at its
//! URL, `http://<slug>.localhost:<port>/`, the way a browser on a k3d
//! machine reaches it.

mod common;

use common::real::{create_store, ingress_client, ingress_port};
use common::tools::{kubectl, must};
use common::*;
use std::time::Duration;
use store_weaver::config::Settings;
use store_weaver::engine;
use store_weaver::store::{Actor, Status, Via};

/// A store on the real node initialises its database and copies WordPress
/// core at its first start; generous for a loaded machine.
const READY_SECS: u64 = 300;
/// Traefik applies a change of Ingresses, Services or endpoints after its
/// providers' throttle (2 s); the pod's first start comes before that.
const ROUTE_SECS: u64 = 120;

/// GET `http://<host>:<port><path>`: the status, the Location header and
/// the body, or None while the connection fails.
async fn get(host: &str, path: &str) -> Option<(u16, String, String)> {
    let url = format!("http://{host}:{}{path}", ingress_port());
    let resp = ingress_client(host, Duration::from_secs(20))
        .get(&url)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.text().await.ok()?;
    Some((status, location, body))
}

/// Deletes the namespace when the test ends, passed or failed.
struct Namespace(String);
impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl(&["delete", "namespace", &self.0, "--wait=false"], None);
    }
}

/// A pod on the real node (placement as scripts/sandbox-node.sh writes it
/// for stores) that answers `token` on port 8080: PHP's built-in server in
/// the local WordPress image, run as root like that image's Apache.
fn web_workload(ns: &str, host: &str, token: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: {ns}, labels: {{app: web}}}}
spec:
  terminationGracePeriodSeconds: 1
  nodeSelector: {{sandbox.store-weaver.dev/pool: real}}
  tolerations: [{{key: sandbox.store-weaver.dev/real-node, operator: Exists, effect: NoSchedule}}]
  containers:
  - name: web
    image: localhost/sandbox/wordpress:6.1-php8.2-apache
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /tmp/www && echo {token} > /tmp/www/index.html && exec php -S 0.0.0.0:8080 -t /tmp/www']
    ports: [{{containerPort: 8080}}]
    readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: {ns}}}
spec:
  ingressClassName: traefik
  rules:
  - host: {host}
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"#
    )
}

#[tokio::test]
async fn an_ingress_of_class_traefik_reaches_its_pod_on_the_real_node() {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let ns = Namespace(format!("ingress-test-{id}"));
    let host = format!("ingress-test-{id}.localhost");
    let token = format!("served-through-traefik-{id}");
    must(
        kubectl(
            &["apply", "-f", "-"],
            Some(web_workload(&ns.0, &host, &token).as_bytes()),
        ),
        "apply the workload",
    );

    // Through Traefik, by the Ingress's host: the pod's own answer.
    let (status, _, body) = eventually(
        Duration::from_secs(ROUTE_SECS),
        &format!("http://{host}:{}/ answered by the pod", ingress_port()),
        || {
            let host = host.clone();
            async move { get(&host, "/").await.filter(|(s, _, _)| *s == 200) }
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.trim(), token, "the pod's own page, through Traefik");

    // Another host has no route: Traefik's own 404, not the pod.
    let other = format!("not-routed-{id}.localhost");
    let (status, _, body) = get(&other, "/").await.expect("Traefik answers");
    assert_eq!(status, 404, "a host no Ingress names: {body}");
    assert!(!body.contains(&token), "{body}");

    // The route comes from the Ingress: without it, the host is not served.
    must(
        kubectl(&["delete", "ingress", "web", "-n", &ns.0], None),
        "delete the Ingress",
    );
    eventually(
        Duration::from_secs(ROUTE_SECS),
        &format!("{host} no longer routed once its Ingress is gone"),
        || {
            let host = host.clone();
            async move { get(&host, "/").await.filter(|(s, _, _)| *s == 404) }
        },
    )
    .await;
}

fn real_settings(db: &TestDb) -> Settings {
    let values = repo("charts/woocommerce/values-local.yaml");
    settings(
        &db.url,
        "charts",
        &[
            ("values_file", values.to_str().unwrap()),
            (
                "extra_values_files",
                &require_env("SANDBOX_REAL_NODE_VALUES"),
            ),
            ("provision_timeout_secs", "600"),
            ("lease_secs", "5"),
        ],
    )
}

#[tokio::test]
async fn a_store_on_the_real_node_is_reached_at_its_url_through_traefik() {
    let db = TestDb::new().await;
    let s = real_settings(&db);
    let pool = workers(&s, &db, 1).await;
    let store = create_store(&db, &s, &unique("Through Traefik"), "woocommerce").await;
    let done = settle(&db, store.id, READY_SECS).await;
    assert_eq!(done.status, Status::Ready, "{:?}", done.error_message);

    // The store's URL (http://<slug>.localhost) with Traefik's port: the
    // store's own WordPress answers, with its database reached (it sends a
    // fresh site to its installer; without a database it answers 500).
    let host = done
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(host.ends_with(".localhost"), "{}", done.url);
    let (status, location, body) = eventually(
        Duration::from_secs(ROUTE_SECS),
        &format!(
            "{}:{}/wp-login.php answered by WordPress",
            done.url,
            ingress_port()
        ),
        || {
            let host = host.clone();
            async move {
                get(&host, "/wp-login.php")
                    .await
                    .filter(|(s, _, _)| *s != 404 && *s != 502 && *s != 503)
            }
        },
    )
    .await;
    assert_eq!(status, 302, "WordPress through Traefik: {body}");
    assert!(
        location.contains("install.php"),
        "WordPress sends a fresh site to its installer: {location}"
    );

    // Deleting the store takes its route away with its namespace.
    engine::delete(&db.pool, &Actor::new("tester", Via::Cli), store.id, None)
        .await
        .expect("delete the store");
    let gone = settle(&db, store.id, READY_SECS).await;
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    namespace_gone(&done.namespace, 180).await;
    eventually(
        Duration::from_secs(ROUTE_SECS),
        &format!("{host} no longer routed once the store is deleted"),
        || {
            let host = host.clone();
            async move {
                get(&host, "/wp-login.php")
                    .await
                    .filter(|(s, _, _)| *s == 404)
            }
        },
    )
    .await;
    pool.shutdown().await;
    db.drop_db().await;
}
