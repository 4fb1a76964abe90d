//! The live view of every store's objects: one watch per kind across all
//! namespaces, selected by the store-id label, filed by store id in one
//! index (`index.rs`), so a store's health reads only its own objects.
//! Changes are pushed on a channel; the engine waits on it instead of polling.
//!
//! Each kind is listed once, then watched from the list's resource version
//! with bookmarks (which keep that version fresh while nothing of ours
//! changes). A watch the server ends (its `timeoutSeconds`) or that breaks
//! is reopened from the last version seen, without a list; only a version
//! the server no longer has (410 Gone) costs a re-list. The client must have
//! no read timeout (`cluster::streaming_client`): a quiet watch is not a dead
//! one. But the server sends a bookmark about once a minute on a quiet
//! watch, so a stream with nothing at all (no event, no bookmark) for
//! `silence` is suspect: it is reopened from its version, and if the server
//! does not answer that within `open_timeout` the view is disconnected. A
//! silent partition (packets dropped, no reset) is so noticed within
//! `silence + open_timeout` (90 s by default) rather than never. Lists and
//! reconnects are counted per kind for `/metrics`.

use super::STORE_ID_LABEL;
use super::health::{Health, HealthState};
use super::index::{Index, Indexed, Kind};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::{Api, Client, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use uuid::Uuid;

/// What changed: one store's objects, or everything (a watch re-listed or
/// came back after being down).
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

/// How the watches talk to the API server.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// The server ends each watch after this long (`timeoutSeconds`); it is
    /// then reopened from the last resource version. 290 s is kube's default.
    pub timeout_secs: u32,
    /// Objects per page of a (re-)list.
    pub page_size: u32,
    /// A watch with no event and no bookmark for this long is reopened
    /// (bookmarks come about once a minute on a quiet watch).
    pub silence: Duration,
    /// How long opening a watch, or one page of a list, may take before
    /// the API server is taken as unreachable.
    pub open_timeout: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            timeout_secs: 290,
            page_size: 500,
            silence: Duration::from_secs(75),
            open_timeout: Duration::from_secs(15),
        }
    }
}

/// Per kind, since the view started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStats {
    pub kind: &'static str,
    /// Full lists, the first one included.
    pub lists: u64,
    /// Watches reopened from a resource version (no list).
    pub reconnects: u64,
}

#[derive(Default)]
struct Counters {
    lists: AtomicU64,
    reconnects: AtomicU64,
    /// A watch stream of the kind is open now.
    open: AtomicBool,
}

struct Inner {
    index: RwLock<Index>,
    changes: broadcast::Sender<Change>,
    connection: watch::Sender<Connection>,
    /// Per kind: Ok once listed, Err(message) after a failure.
    kinds: Mutex<BTreeMap<&'static str, Result<(), String>>>,
    counters: [Counters; 5],
}

impl Inner {
    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }
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
    /// Starts the watches with the default options. Returns at once;
    /// `connection()` says when they have listed everything. `client`
    /// should have no read timeout (`cluster::streaming_client`).
    pub fn start(client: Client) -> ClusterView {
        ClusterView::start_with(client, WatchOptions::default())
    }

    pub fn start_with(client: Client, options: WatchOptions) -> ClusterView {
        let (changes, _) = broadcast::channel(1024);
        let (connection, _) = watch::channel(Connection {
            connected: false,
            since: Utc::now(),
            error: Some("connecting".to_string()),
        });
        let inner = Arc::new(Inner {
            index: RwLock::new(Index::default()),
            changes,
            connection,
            kinds: Mutex::new(
                Kind::ALL
                    .iter()
                    .map(|k| (k.as_str(), Err("connecting".to_string())))
                    .collect(),
            ),
            counters: Default::default(),
        });
        let tasks = vec![
            spawn_watch(Api::<Namespace>::all(client.clone()), &inner, options),
            spawn_watch(Api::<Pod>::all(client.clone()), &inner, options),
            spawn_watch(Api::<Deployment>::all(client.clone()), &inner, options),
            spawn_watch(Api::<StatefulSet>::all(client.clone()), &inner, options),
            spawn_watch(Api::<Job>::all(client), &inner, options),
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

    /// Whether every kind has a watch stream open right now (connected
    /// means listed; the watch that follows may still be opening).
    pub fn watching(&self) -> bool {
        self.inner
            .counters
            .iter()
            .all(|c| c.open.load(Ordering::Relaxed))
    }

    /// Lists and reconnects per kind, for `/metrics`.
    pub fn watch_stats(&self) -> Vec<WatchStats> {
        Kind::ALL
            .iter()
            .map(|k| {
                let c = &self.inner.counters[k.index()];
                WatchStats {
                    kind: k.as_str(),
                    lists: c.lists.load(Ordering::Relaxed),
                    reconnects: c.reconnects.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// The store's health from the cached objects: O(the store's objects).
    pub fn health(&self, id: Uuid, expected: &[String]) -> Health {
        self.inner.index().health(id, expected)
    }

    /// Health of every store that has a namespace or workload in the
    /// cluster: O(objects).
    pub fn health_all(&self) -> HashMap<Uuid, Health> {
        self.inner.index().health_all()
    }

    /// Whether the store's namespace exists, per the watch cache.
    pub fn namespace_cached(&self, ns: &str) -> Option<Arc<Namespace>> {
        self.inner.index().namespace(ns)
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
    inner: &Arc<Inner>,
    options: WatchOptions,
) -> tokio::task::AbortHandle
where
    K: Indexed + DeserializeOwned + Debug,
{
    tokio::spawn(run_watch(api, inner.clone(), options)).abort_handle()
}

/// How a watch stream ended.
enum Ended {
    /// The server closed it (its timeout): reopen.
    Closed,
    /// Nothing came, not even a bookmark, for `silence`: reopen, and if that
    /// gets no answer the cluster is unreachable.
    Silent,
    /// It broke (transport error, an error event): reopen after a backoff.
    Broke(String),
    /// The resource version is gone: list again.
    Gone,
}

async fn run_watch<K>(api: Api<K>, inner: Arc<Inner>, options: WatchOptions)
where
    K: Indexed + DeserializeOwned + Debug,
{
    let kind = K::KIND.as_str();
    let counters = &inner.counters[K::KIND.index()];
    let mut failures: u32 = 0;
    loop {
        // A full list: at start, and after the server forgot our version.
        counters.lists.fetch_add(1, Ordering::Relaxed);
        let page_timeout = options.open_timeout.max(Duration::from_secs(30));
        let mut version = match list_all(&api, options.page_size, page_timeout).await {
            Ok((objects, version)) => {
                inner.index_mut().replace(objects);
                version
            }
            Err(e) => {
                tracing::warn!(kind, error = %e, "listing failed; retrying with backoff");
                set_kind(&inner, kind, Err(e));
                failures = failures.saturating_add(1);
                tokio::time::sleep(backoff(failures)).await;
                continue;
            }
        };
        failures = 0;
        set_kind(&inner, kind, Ok(()));
        let _ = inner.changes.send(Change::Resync);

        let mut down = false;
        let mut first = true;
        // Set while reopening a watch that went silent: its failure says so.
        let mut silent = false;
        loop {
            let mut params = WatchParams::default()
                .labels(STORE_ID_LABEL)
                .timeout(options.timeout_secs);
            // Bookmarks are what tells a quiet watch from a dead one.
            params.bookmarks = true;
            let opened = tokio::time::timeout(options.open_timeout, api.watch(&params, &version));
            let failed = match opened.await {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(e)) if is_gone(&e) => break,
                Ok(Err(e)) => Err(short_error(&e)),
                Err(_) => Err(format!(
                    "the API server did not answer a watch request within {}s",
                    options.open_timeout.as_secs()
                )),
            };
            let stream = match failed {
                Ok(s) => s,
                Err(mut e) => {
                    if std::mem::take(&mut silent) {
                        e = format!(
                            "no event or bookmark for {}s, and {e}",
                            options.silence.as_secs()
                        );
                    }
                    tracing::warn!(kind, error = %e, "watch failed; reconnecting with backoff");
                    set_kind(&inner, kind, Err(e));
                    down = true;
                    failures = failures.saturating_add(1);
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            };
            if !first {
                counters.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            silent = false;
            // Open again: a stream that breaks later starts its backoff
            // over, rather than where a long outage left it (up to 30 s).
            failures = 0;
            if down {
                // Back: the replay from `version` catches up on what changed;
                // waiters re-check what depends on being connected.
                down = false;
                set_kind(&inner, kind, Ok(()));
                let _ = inner.changes.send(Change::Resync);
            }
            counters.open.store(true, Ordering::Relaxed);
            let ended = follow(stream, &inner, &mut version, options.silence).await;
            counters.open.store(false, Ordering::Relaxed);
            match ended {
                Ended::Closed => failures = 0,
                Ended::Silent => {
                    // Still taken as connected: a reopen that the server
                    // answers proves it is there (a quiet watch whose
                    // bookmark is late); one it does not, disconnects.
                    tracing::info!(
                        kind,
                        secs = options.silence.as_secs(),
                        "no event or bookmark; reopening the watch"
                    );
                    silent = true;
                }
                Ended::Gone => break,
                Ended::Broke(e) => {
                    // Not connected until a stream is open again: the view
                    // must not say it is while this kind waits out a backoff.
                    tracing::debug!(kind, error = %e, "watch stream broke; resuming");
                    set_kind(&inner, kind, Err(crate::text::bound_message(&e, 200)));
                    down = true;
                    failures = failures.saturating_add(1);
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
        }
        tracing::info!(kind, "resource version expired; listing again");
    }
}

/// Applies a watch stream's events to the index until it ends.
async fn follow<K, S>(stream: S, inner: &Inner, version: &mut String, silence: Duration) -> Ended
where
    K: Indexed,
    S: futures::Stream<Item = kube::Result<WatchEvent<K>>>,
{
    let mut stream = std::pin::pin!(stream);
    loop {
        let event = match tokio::time::timeout(silence, stream.next()).await {
            Err(_) => return Ended::Silent,
            Ok(None) => return Ended::Closed,
            Ok(Some(Err(e))) if is_gone(&e) => return Ended::Gone,
            Ok(Some(Err(e))) => return Ended::Broke(e.to_string()),
            Ok(Some(Ok(event))) => event,
        };
        let touched = match event {
            WatchEvent::Added(obj) | WatchEvent::Modified(obj) => {
                remember(version, obj.resource_version());
                inner.index_mut().apply(obj)
            }
            WatchEvent::Deleted(obj) => {
                remember(version, obj.resource_version());
                inner.index_mut().delete(&obj)
            }
            WatchEvent::Bookmark(b) => {
                remember(version, Some(b.metadata.resource_version));
                Vec::new()
            }
            WatchEvent::Error(status) if status.code == 410 => return Ended::Gone,
            WatchEvent::Error(status) => return Ended::Broke(status.message.clone()),
        };
        for id in touched {
            let _ = inner.changes.send(Change::Store(id));
        }
    }
}

fn remember(version: &mut String, seen: Option<String>) {
    if let Some(v) = seen.filter(|v| !v.is_empty()) {
        *version = v;
    }
}

fn is_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 410)
}

/// Every object of the kind with the store-id label, page by page, and the
/// resource version the list is consistent at (the first page's). A page
/// the server does not send within `page_timeout` fails the list.
async fn list_all<K>(
    api: &Api<K>,
    page_size: u32,
    page_timeout: Duration,
) -> Result<(Vec<K>, String), String>
where
    K: Indexed + DeserializeOwned + Debug,
{
    let mut objects = Vec::new();
    let mut version: Option<String> = None;
    let mut params = ListParams::default()
        .labels(STORE_ID_LABEL)
        .limit(page_size);
    loop {
        let page = match tokio::time::timeout(page_timeout, api.list(&params)).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => return Err(short_error(&e)),
            Err(_) => {
                return Err(format!(
                    "the API server did not send a page of the list within {}s",
                    page_timeout.as_secs()
                ));
            }
        };
        if version.is_none() {
            version = page.metadata.resource_version.clone();
        }
        objects.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok((objects, version.unwrap_or_default()))
}

/// 0.5 s, 1 s, 2 s ... capped at 30 s.
fn backoff(failures: u32) -> std::time::Duration {
    let ms = 500u64.saturating_mul(1u64 << failures.saturating_sub(1).min(6));
    std::time::Duration::from_millis(ms.min(30_000))
}

fn short_error(e: &kube::Error) -> String {
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
