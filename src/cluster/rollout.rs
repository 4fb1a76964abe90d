//! Changing a running store in the cluster: its health measured straight
//! from the API server (an upgrade must not be declared healthy from a
//! watch cache that has not seen the new generation yet), and its volume
//! claims, which only grow. Everything here acts inside an
//! [`OwnedNamespace`] only, on objects carrying the store's label.

use super::STORE_ID_LABEL;
use super::health::{self, Health};
use super::namespace::OwnedNamespace;
use super::view::{Change, ClusterView};
use crate::store::settings;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;

fn selector(store_id: Uuid) -> ListParams {
    ListParams::default().labels(&format!("{STORE_ID_LABEL}={store_id}"))
}

/// The store's health from a fresh read of its workloads and pods.
pub async fn measure(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
    expected: &[String],
) -> Result<Health, kube::Error> {
    let ns = owned.name();
    let lp = selector(store_id);
    let (da, sa, ja, pa) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Job>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
    );
    let (deps, stss, jobs, pods) =
        tokio::try_join!(da.list(&lp), sa.list(&lp), ja.list(&lp), pa.list(&lp))?;
    let d: Vec<&Deployment> = deps.items.iter().collect();
    let s: Vec<&StatefulSet> = stss.items.iter().collect();
    let j: Vec<&Job> = jobs.items.iter().collect();
    let p: Vec<&Pod> = pods.items.iter().collect();
    Ok(health::derive(
        &health::Objects {
            deployments: &d,
            statefulsets: &s,
            jobs: &j,
            pods: &p,
        },
        expected,
    ))
}

/// Waits until the store is healthy on a fresh read, or the deadline. The
/// watches say when something of the store changed; without news it looks
/// again every few seconds. Err carries the last health measured.
pub async fn wait_healthy(
    client: &Client,
    view: &ClusterView,
    owned: &OwnedNamespace,
    store_id: Uuid,
    expected: &[String],
    deadline: Instant,
) -> Result<Health, Health> {
    let mut rx = view.subscribe();
    let mut last = Health {
        state: health::HealthState::Missing,
        summary: "not measured yet".into(),
        ready_workloads: 0,
        workloads: 0,
    };
    loop {
        match measure(client, owned, store_id, expected).await {
            Ok(h) if h.state == health::HealthState::Ready => return Ok(h),
            Ok(h) => last = h,
            Err(e) => last.summary = format!("cannot read the store's workloads: {e}"),
        }
        let wake = tokio::time::sleep(Duration::from_secs(3));
        tokio::pin!(wake);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(Change::Store(id)) if id != store_id => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(deadline.min(Instant::now() + Duration::from_secs(3))).await;
                        break;
                    }
                    _ => break,
                },
                _ = &mut wake => break,
                _ = tokio::time::sleep_until(deadline) => return Err(last),
            }
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
    }
}

/// One of the store's volume claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    /// The StatefulSet whose template made it, if any (the database's).
    pub statefulset: Option<String>,
    pub requested: String,
}

impl Claim {
    pub fn bytes(&self) -> Option<u64> {
        settings::bytes(&self.requested)
    }
}

/// The store's claims, each said to be the database's (made from a
/// StatefulSet's template: `<template>-<statefulset>-<ordinal>`) or not.
pub async fn claims(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
) -> Result<Vec<Claim>, kube::Error> {
    let ns = owned.name();
    let lp = selector(store_id);
    let (ca, sa) = (
        Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
    );
    let (pvcs, stss) = tokio::try_join!(ca.list(&lp), sa.list(&lp))?;
    let templates: Vec<(String, String)> = stss
        .items
        .iter()
        .flat_map(|s| {
            let sts = s.name_any();
            s.spec
                .iter()
                .flat_map(|sp| sp.volume_claim_templates.iter().flatten())
                .map(move |t| (format!("{}-{}-", t.name_any(), sts), sts.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(pvcs
        .items
        .iter()
        .map(|p| {
            let name = p.name_any();
            let statefulset = templates
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix.as_str()))
                .map(|(_, sts)| sts.clone());
            let requested = p
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            Claim {
                name,
                statefulset,
                requested,
            }
        })
        .collect())
}

/// Checks a size change against the claims that exist: a claim never
/// shrinks. `database` picks the StatefulSet's claims, else the others.
pub fn check_growth(claims: &[Claim], database: bool, size: &str) -> Result<bool, String> {
    let want = settings::bytes(size).ok_or_else(|| format!("\"{size}\" is not a size"))?;
    let mut grows = false;
    for c in claims
        .iter()
        .filter(|c| c.statefulset.is_some() == database)
    {
        match c.bytes() {
            Some(have) if want < have => {
                return Err(format!(
                    "cannot shrink volume claim {} from {} to {size}: claims only grow; set {} or more",
                    c.name, c.requested, c.requested
                ));
            }
            Some(have) if want > have => grows = true,
            _ => {}
        }
    }
    Ok(grows)
}

/// Grows the claims (the storage driver expands the volume) and, for the
/// database's, removes its StatefulSet while leaving its pods running, so
/// that the upgrade recreates it with the new claim template (a template is
/// immutable) and adopts the pods. Returns what it did, for the audit log.
pub async fn grow(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
    database: bool,
    size: &str,
) -> Result<Vec<String>, kube::Error> {
    let ns = owned.name();
    let mut done = Vec::new();
    let want = settings::bytes(size);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let mut statefulsets: Vec<String> = Vec::new();
    for c in claims(client, owned, store_id).await? {
        if c.statefulset.is_some() != database || c.bytes() >= want {
            continue;
        }
        let patch = serde_json::json!({"spec": {"resources": {"requests": {"storage": size}}}});
        pvcs.patch(&c.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        done.push(format!("claim {} {} → {size}", c.name, c.requested));
        if let Some(sts) = c.statefulset
            && !statefulsets.contains(&sts)
        {
            statefulsets.push(sts);
        }
    }
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    for sts in statefulsets {
        // Only the store's own StatefulSet (the label), and only it.
        let Some(obj) = api.get_opt(&sts).await? else {
            continue;
        };
        if obj.labels().get(STORE_ID_LABEL) != Some(&store_id.to_string()) {
            continue;
        }
        let dp = DeleteParams {
            propagation_policy: Some(kube::api::PropagationPolicy::Orphan),
            preconditions: obj.uid().map(|uid| kube::api::Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..Default::default()
        };
        api.delete(&sts, &dp).await?;
        wait_gone(&api, &sts).await?;
        done.push(format!(
            "statefulset {sts} recreated with the new claim size (its pods kept running)"
        ));
    }
    Ok(done)
}

/// The orphaning delete finishes once the garbage collector released the
/// pods; helm must not recreate the StatefulSet before.
async fn wait_gone(api: &Api<StatefulSet>, name: &str) -> Result<(), kube::Error> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if api.get_opt(name).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(name: &str, sts: Option<&str>, size: &str) -> Claim {
        Claim {
            name: name.into(),
            statefulset: sts.map(String::from),
            requested: size.into(),
        }
    }

    #[test]
    fn growth_is_checked_per_volume_and_shrinking_is_refused() {
        let claims = [
            claim("web-content", None, "1Gi"),
            claim("data-db-0", Some("db"), "2Gi"),
        ];
        assert_eq!(check_growth(&claims, false, "3Gi"), Ok(true));
        assert_eq!(check_growth(&claims, true, "2Gi"), Ok(false));
        let e = check_growth(&claims, true, "1Gi").unwrap_err();
        assert!(
            e.contains("cannot shrink volume claim data-db-0 from 2Gi to 1Gi"),
            "{e}"
        );
        assert!(check_growth(&claims, false, "512Mi").is_err());
    }
}
