//! The live view of every store's objects: one watch per kind across all
//! namespaces, selected by the store-id label, cached in reflector stores.
//! Changes are pushed on a channel; the engine waits on it instead of polling.
//! A reconnect re-lists (after a backoff), so an API server restart shows in
//! `connection()` and nothing that changed meanwhile is missed.

use super::STORE_ID_LABEL;
use super::health::{self, Health, HealthState};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use uuid::Uuid;

/// What changed: one store's objects, or everything (a watch re-listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Store(Uuid),
    Resync,
}

/// Whether every watch is connected, and since when it has (not) been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub connected: bool,
    pub since: DateTime<Utc>,
    /// The latest error while disconnected, e.g. "pods: connection refused".
    pub error: Option<String>,
}

const KINDS: [&str; 5] = ["namespaces", "pods", "deployments", "statefulsets", "jobs"];

struct Inner {
    namespaces: Store<Namespace>,
    pods: Store<Pod>,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    jobs: Store<Job>,
    changes: broadcast::Sender<Change>,
    connection: watch::Sender<Connection>,
    /// Per kind: Ok once listed, Err(message) after a failure.
    kinds: Mutex<BTreeMap<&'static str, Result<(), String>>>,
}

#[derive(Clone)]
pub struct ClusterView {
    inner: Arc<Inner>,
    tasks: Arc<Vec<tokio::task::AbortHandle>>,
}

impl Drop for ClusterView {
    fn drop(&mut self) {
        // The last handle stops the watches.
        if Arc::strong_count(&self.tasks) == 1 {
            for t in self.tasks.iter() {
                t.abort();
            }
        }
    }
}

impl ClusterView {
    /// Starts the watches. Returns at once; `connection()` says when they
    /// have listed everything.
    pub fn start(client: Client) -> ClusterView {
        let (namespaces, ns_w) = reflector::store();
        let (pods, pod_w) = reflector::store();
        let (deployments, dep_w) = reflector::store();
        let (statefulsets, sts_w) = reflector::store();
        let (jobs, job_w) = reflector::store();
        let (changes, _) = broadcast::channel(1024);
        let (connection, _) = watch::channel(Connection {
            connected: false,
            since: Utc::now(),
            error: Some("connecting".to_string()),
        });
        let inner = Arc::new(Inner {
            namespaces,
            pods,
            deployments,
            statefulsets,
            jobs,
            changes,
            connection,
            kinds: Mutex::new(
                KINDS
                    .iter()
                    .map(|k| (*k, Err("connecting".to_string())))
                    .collect(),
            ),
        });
        let tasks = vec![
            spawn_watch(
                Api::<Namespace>::all(client.clone()),
                "namespaces",
                ns_w,
                inner.clone(),
            ),
            spawn_watch(
                Api::<Pod>::all(client.clone()),
                "pods",
                pod_w,
                inner.clone(),
            ),
            spawn_watch(
                Api::<Deployment>::all(client.clone()),
                "deployments",
                dep_w,
                inner.clone(),
            ),
            spawn_watch(
                Api::<StatefulSet>::all(client.clone()),
                "statefulsets",
                sts_w,
                inner.clone(),
            ),
            spawn_watch(Api::<Job>::all(client), "jobs", job_w, inner.clone()),
        ];
        ClusterView {
            inner,
            tasks: Arc::new(tasks),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    pub fn connection(&self) -> watch::Receiver<Connection> {
        self.inner.connection.subscribe()
    }

    pub fn is_connected(&self) -> bool {
        self.inner.connection.borrow().connected
    }

    /// The store's health from the cached objects.
    pub fn health(&self, id: Uuid, expected: &[String]) -> Health {
        let key = id.to_string();
        let mine = |labels: &BTreeMap<String, String>| labels.get(STORE_ID_LABEL) == Some(&key);
        let deployments = self.inner.deployments.state_filter(|o| mine(o.labels()));
        let statefulsets = self.inner.statefulsets.state_filter(|o| mine(o.labels()));
        let jobs = self.inner.jobs.state_filter(|o| mine(o.labels()));
        let pods = self.inner.pods.state_filter(|o| mine(o.labels()));
        let d: Vec<&Deployment> = deployments.iter().map(Arc::as_ref).collect();
        let s: Vec<&StatefulSet> = statefulsets.iter().map(Arc::as_ref).collect();
        let j: Vec<&Job> = jobs.iter().map(Arc::as_ref).collect();
        let p: Vec<&Pod> = pods.iter().map(Arc::as_ref).collect();
        health::derive(
            &health::Objects {
                deployments: &d,
                statefulsets: &s,
                jobs: &j,
                pods: &p,
            },
            expected,
        )
    }

    /// Health of every store that has objects in the cluster.
    pub fn health_all(&self) -> HashMap<Uuid, Health> {
        let mut ids: Vec<Uuid> = Vec::new();
        let mut collect = |labels: &BTreeMap<String, String>| {
            if let Some(id) = labels
                .get(STORE_ID_LABEL)
                .and_then(|v| Uuid::parse_str(v).ok())
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        };
        self.inner
            .deployments
            .state()
            .iter()
            .for_each(|o| collect(o.labels()));
        self.inner
            .statefulsets
            .state()
            .iter()
            .for_each(|o| collect(o.labels()));
        self.inner
            .namespaces
            .state()
            .iter()
            .for_each(|o| collect(o.labels()));
        ids.into_iter()
            .map(|id| (id, self.health(id, &[])))
            .collect()
    }

    /// Whether the store's namespace exists, per the watch cache.
    pub fn namespace_cached(&self, ns: &str) -> Option<Arc<Namespace>> {
        self.inner.namespaces.get(&reflector::ObjectRef::new(ns))
    }

    /// Waits until the store is ready or `deadline` passes, waking on every
    /// change the watches report for it. Err carries the last health seen.
    pub async fn wait_ready(
        &self,
        id: Uuid,
        expected: &[String],
        deadline: Instant,
    ) -> Result<Health, Health> {
        let mut rx = self.subscribe();
        loop {
            let h = self.health(id, expected);
            if h.state == HealthState::Ready && self.is_connected() {
                return Ok(h);
            }
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(Change::Store(changed)) if changed != id => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Err(h),
                },
                _ = tokio::time::sleep_until(deadline) => return Err(self.health(id, expected)),
            }
        }
    }

    /// Waits until the watch cache no longer has the namespace, or the deadline.
    pub async fn wait_namespace_gone(&self, id: Uuid, ns: &str, deadline: Instant) -> bool {
        let mut rx = self.subscribe();
        loop {
            if self.is_connected() && self.namespace_cached(ns).is_none() {
                return true;
            }
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(Change::Store(changed)) if changed != id => continue,
                    Err(broadcast::error::RecvError::Closed) => return false,
                    _ => continue,
                },
                _ = tokio::time::sleep_until(deadline) => return false,
            }
        }
    }
}

fn spawn_watch<K>(
    api: Api<K>,
    kind: &'static str,
    mut writer: reflector::store::Writer<K>,
    inner: Arc<Inner>,
) -> tokio::task::AbortHandle
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let cfg = watcher::Config::default().labels(STORE_ID_LABEL);
    tokio::spawn(async move {
        let mut failures: u32 = 0;
        loop {
            // Every (re)connection starts with a full list, so a restart is
            // visible (InitDone) and whatever changed meanwhile is caught up.
            let mut stream = std::pin::pin!(watcher(api.clone(), cfg.clone()));
            while let Some(event) = stream.next().await {
                match event {
                    Ok(event) => {
                        writer.apply_watcher_event(&event);
                        match &event {
                            watcher::Event::Apply(obj) | watcher::Event::Delete(obj) => {
                                if let Some(id) = obj
                                    .labels()
                                    .get(STORE_ID_LABEL)
                                    .and_then(|v| Uuid::parse_str(v).ok())
                                {
                                    let _ = inner.changes.send(Change::Store(id));
                                }
                            }
                            watcher::Event::InitDone => {
                                failures = 0;
                                set_kind(&inner, kind, Ok(()));
                                let _ = inner.changes.send(Change::Resync);
                            }
                            _ => {}
                        }
                    }
                    Err(e) => {
                        tracing::warn!(kind, error = %e, "watch failed; reconnecting with backoff");
                        set_kind(&inner, kind, Err(short_error(&e)));
                        break;
                    }
                }
            }
            failures = failures.saturating_add(1);
            tokio::time::sleep(backoff(failures)).await;
        }
    })
    .abort_handle()
}

/// 0.5 s, 1 s, 2 s ... capped at 30 s.
fn backoff(failures: u32) -> std::time::Duration {
    let ms = 500u64.saturating_mul(1u64 << failures.saturating_sub(1).min(6));
    std::time::Duration::from_millis(ms.min(30_000))
}

fn short_error(e: &watcher::Error) -> String {
    let s = e.to_string();
    crate::text::bound_message(&s, 200)
}

fn set_kind(inner: &Inner, kind: &'static str, state: Result<(), String>) {
    let mut kinds = match inner.kinds.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    kinds.insert(kind, state);
    let first_error = kinds
        .iter()
        .find_map(|(k, v)| v.as_ref().err().map(|e| format!("{k}: {e}")));
    let connected = first_error.is_none();
    drop(kinds);
    inner.connection.send_if_modified(|c| {
        if c.connected == connected && (connected || c.error == first_error) {
            return false;
        }
        if c.connected != connected {
            c.since = Utc::now();
        }
        c.connected = connected;
        c.error = first_error;
        true
    });
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(50), Duration::from_secs(30));
    }
}
