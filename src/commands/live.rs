//! The live health that `store show` and `store list` print beside the
//! record, as the API and the console show it: the store's objects (those
//! the watches select, by the store-id label) read once from the cluster and
//! judged by the same rule (`cluster::index` → `cluster::health`). A command
//! line has no watches running, so it lists; a cluster that does not answer
//! within `DEADLINE` gives an honest "unknown", never the record as if live.

use crate::cluster::STORE_ID_LABEL;
use crate::cluster::health::Health;
use crate::cluster::index::{Index, Indexed};
use crate::config::Settings;
use crate::store::Store;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::ListParams;
use serde::de::DeserializeOwned;
use std::time::Duration;
use uuid::Uuid;

/// How long a command waits for the cluster before it says "unknown";
/// shorter than the client's connect timeout (5 s), so a silent server is
/// reported as one.
pub const DEADLINE: Duration = Duration::from_secs(4);

/// Objects per page of a cluster-wide list.
const PAGE: u32 = 500;

/// Whose objects to read.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// One store, in its namespace.
    Store { id: Uuid, namespace: &'a str },
    /// Every store (for `store list`), across all namespaces.
    All,
}

/// The stores' objects as the cluster has them now, or why it is unknown.
pub type Live = Result<Index, String>;

/// Reads the objects health is judged from, within `DEADLINE`.
pub async fn read(settings: &Settings, scope: Scope<'_>) -> Live {
    match tokio::time::timeout(DEADLINE, read_now(settings, scope)).await {
        Ok(live) => live,
        Err(_) => Err(format!(
            "the cluster did not answer within {}s",
            DEADLINE.as_secs()
        )),
    }
}

async fn read_now(settings: &Settings, scope: Scope<'_>) -> Live {
    let client = crate::cluster::client(settings)
        .await
        .map_err(|e| format!("cannot reach the cluster: {e:#}"))?;
    let selector = match scope {
        Scope::Store { id, .. } => format!("{STORE_ID_LABEL}={id}"),
        Scope::All => STORE_ID_LABEL.to_string(),
    };
    // The store's namespaces too: the index counts only objects inside
    // them (a decoy elsewhere with the store's label is not the store's).
    let namespaces = Api::<Namespace>::all(client.clone());
    let (namespaces, pods, deployments, statefulsets, jobs) = tokio::try_join!(
        pages(&namespaces, &selector),
        list::<Pod>(&client, scope, &selector),
        list::<Deployment>(&client, scope, &selector),
        list::<StatefulSet>(&client, scope, &selector),
        list::<Job>(&client, scope, &selector),
    )
    .map_err(|e| format!("the cluster did not list the stores' objects: {e}"))?;
    let mut index = Index::default();
    index.replace(namespaces);
    index.replace(pods);
    index.replace(deployments);
    index.replace(statefulsets);
    index.replace(jobs);
    Ok(index)
}

/// Every object of a kind that matches, page by page.
async fn list<K>(
    client: &kube::Client,
    scope: Scope<'_>,
    selector: &str,
) -> Result<Vec<K>, kube::Error>
where
    K: Indexed
        + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = match scope {
        Scope::Store { namespace, .. } => Api::namespaced(client.clone(), namespace),
        Scope::All => Api::all(client.clone()),
    };
    pages(&api, selector).await
}

async fn pages<K>(api: &Api<K>, selector: &str) -> Result<Vec<K>, kube::Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut params = ListParams::default().labels(selector).limit(PAGE);
    loop {
        let page = api.list(&params).await?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(next) => params = params.continue_token(&next),
            None => return Ok(out),
        }
    }
}

/// One store's health from what was read, or why it is unknown.
pub fn health(live: &Live, id: Uuid) -> Result<Health, String> {
    match live {
        Ok(index) => Ok(index.health(id, &[])),
        Err(why) => Err(why.clone()),
    }
}

/// The `health:` line of `store show`.
pub fn line(health: &Result<Health, String>) -> String {
    match health {
        Ok(h) if h.summary.is_empty() => format!("{} (live)", h.state.as_str()),
        Ok(h) => format!("{}: {} (live)", h.state.as_str(), h.summary),
        Err(why) => format!(
            "unknown: {why}; the status above is the record's, not what the cluster shows now"
        ),
    }
}

/// The store as JSON with `health` (null when unknown) and `health_error`.
pub fn json(s: &Store, health: &Result<Health, String>) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        let (h, err) = match health {
            Ok(h) => (serde_json::to_value(h).unwrap_or_default(), None),
            Err(why) => (serde_json::Value::Null, Some(why.clone())),
        };
        obj.insert("health".into(), h);
        obj.insert("health_error".into(), err.into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::HealthState;

    #[test]
    fn the_line_says_live_or_why_unknown() {
        let h = Health {
            state: HealthState::Degraded,
            summary: "pod web-1: CrashLoopBackOff".into(),
            ready_workloads: 0,
            workloads: 1,
        };
        assert_eq!(line(&Ok(h)), "degraded: pod web-1: CrashLoopBackOff (live)");
        let unknown = line(&Err("the cluster did not answer within 4s".into()));
        assert!(unknown.starts_with("unknown: the cluster did not answer within 4s"));
        assert!(unknown.contains("the record's"));
        // Nothing read for a store: no workload known to the cluster.
        let empty: Live = Ok(Index::default());
        assert_eq!(
            health(&empty, Uuid::new_v4()).map(|h| h.state),
            Ok(HealthState::Missing)
        );
    }
}
