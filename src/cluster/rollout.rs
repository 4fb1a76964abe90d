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
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;

fn selector(store_id: Uuid) -> ListParams {
    ListParams::default().labels(&format!("{STORE_ID_LABEL}={store_id}"))
}

/// What a fresh read of the store shows: its health and, when a pod of a
/// workload's current template will not become ready by itself, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub health: Health,
    pub stuck: Option<String>,
}

/// The store's health from a fresh read of its workloads and pods.
pub async fn measure(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
    expected: &[String],
) -> Result<Reading, kube::Error> {
    let ns = owned.name();
    let lp = selector(store_id);
    let (da, ra, sa, ja, pa) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<ReplicaSet>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Job>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
    );
    let (deps, rss, stss, jobs, pods) = tokio::try_join!(
        da.list(&lp),
        ra.list(&lp),
        sa.list(&lp),
        ja.list(&lp),
        pa.list(&lp)
    )?;
    let d: Vec<&Deployment> = deps.items.iter().collect();
    let r: Vec<&ReplicaSet> = rss.items.iter().collect();
    let s: Vec<&StatefulSet> = stss.items.iter().collect();
    let j: Vec<&Job> = jobs.items.iter().collect();
    let p: Vec<&Pod> = pods.items.iter().collect();
    let health = health::derive(
        &health::Objects {
            deployments: &d,
            statefulsets: &s,
            jobs: &j,
            pods: &p,
        },
        expected,
    );
    let stuck = p
        .iter()
        .filter(|pod| of_current_template(pod, &d, &r, &s))
        .find_map(|pod| health::stuck(pod));
    Ok(Reading { health, stuck })
}

const DEPLOYMENT_REVISION: &str = "deployment.kubernetes.io/revision";
const POD_REVISION_LABEL: &str = "controller-revision-hash";

/// Whether a pod runs its workload's current template (pure): a pod of
/// the ReplicaSet that carries its Deployment's revision, or of the
/// StatefulSet's update revision, once the controller has seen the latest
/// spec. A pod whose owner is not among these is not counted as current:
/// an old pod that was already failing must not end a change that may fix
/// it. Pods of Jobs and bare pods are the release's own, so current.
pub fn of_current_template(
    pod: &Pod,
    deployments: &[&Deployment],
    replica_sets: &[&ReplicaSet],
    statefulsets: &[&StatefulSet],
) -> bool {
    fn controller(refs: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
        refs.into_iter()
            .flatten()
            .find(|o| o.controller == Some(true))
    }
    fn revision(annotations: Option<&std::collections::BTreeMap<String, String>>) -> Option<&str> {
        annotations
            .and_then(|a| a.get(DEPLOYMENT_REVISION))
            .map(String::as_str)
    }
    let Some(owner) = controller(pod.metadata.owner_references.as_ref()) else {
        return true;
    };
    let uid = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, want: &str| {
        m.uid.as_deref() == Some(want)
    };
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let Some(rs) = replica_sets.iter().find(|r| uid(&r.metadata, &owner.uid)) else {
                return false;
            };
            let Some(dref) = controller(rs.metadata.owner_references.as_ref()) else {
                return true;
            };
            let Some(dep) = deployments.iter().find(|d| uid(&d.metadata, &dref.uid)) else {
                return false;
            };
            let seen = dep
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0)
                >= dep.metadata.generation.unwrap_or(0);
            let want = revision(dep.metadata.annotations.as_ref());
            seen && want.is_some() && revision(rs.metadata.annotations.as_ref()) == want
        }
        "StatefulSet" => {
            let Some(sts) = statefulsets.iter().find(|s| uid(&s.metadata, &owner.uid)) else {
                return false;
            };
            let st = sts.status.as_ref();
            let seen = st.and_then(|s| s.observed_generation).unwrap_or(0)
                >= sts.metadata.generation.unwrap_or(0);
            let want = st.and_then(|s| s.update_revision.as_deref());
            let has = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(POD_REVISION_LABEL))
                .map(String::as_str);
            seen && want.is_some() && has == want
        }
        _ => true,
    }
}

/// Why a wait for a healthy store ended without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotHealthy {
    /// The deadline passed; the last health measured.
    TimedOut(Health),
    /// A pod of the current template was stuck (see [`health::stuck`]) on
    /// two reads `confirm` apart: waiting longer would not help.
    Stuck { health: Health, why: String },
}

impl NotHealthy {
    pub fn health(&self) -> &Health {
        match self {
            NotHealthy::TimedOut(h) | NotHealthy::Stuck { health: h, .. } => h,
        }
    }
}

/// Waits until the store is healthy on a fresh read, the deadline, or a
/// pod of the current template stuck on every read for `confirm` (a wrong
/// image, a container crashing again and again: no reason to wait for the
/// deadline). The watches say when something of the store changed;
/// without news it looks again every few seconds.
pub async fn wait_healthy(
    client: &Client,
    view: &ClusterView,
    owned: &OwnedNamespace,
    store_id: Uuid,
    expected: &[String],
    deadline: Instant,
    confirm: Duration,
) -> Result<Health, NotHealthy> {
    let mut rx = view.subscribe();
    let mut last = Health {
        state: health::HealthState::Missing,
        summary: "not measured yet".into(),
        ready_workloads: 0,
        workloads: 0,
    };
    // When a stuck pod was first seen, on every read since.
    let mut stuck_since: Option<Instant> = None;
    loop {
        match measure(client, owned, store_id, expected).await {
            Ok(r) if r.health.state == health::HealthState::Ready => return Ok(r.health),
            Ok(r) => {
                last = r.health;
                match r.stuck {
                    Some(why) => {
                        let since = *stuck_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= confirm {
                            return Err(NotHealthy::Stuck { health: last, why });
                        }
                    }
                    None => stuck_since = None,
                }
            }
            // A failed read says nothing about the pods either way.
            Err(e) => last.summary = format!("cannot read the store's workloads: {e}"),
        }
        // Without news, look again in a few seconds, and exactly when a
        // stuck pod has been seen for `confirm`.
        let mut next = Instant::now() + Duration::from_secs(3);
        if let Some(since) = stuck_since {
            next = next.min(since + confirm);
        }
        let wake = tokio::time::sleep_until(next.min(deadline));
        tokio::pin!(wake);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(Change::Store(id)) if id != store_id => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut wake).await;
                        break;
                    }
                    _ => break,
                },
                _ = &mut wake => break,
            }
        }
        if Instant::now() >= deadline {
            return Err(NotHealthy::TimedOut(last));
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
    /// Its storage class, when it names one (quotas may be per class).
    pub class: Option<String>,
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
                class: p.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
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

    use k8s_openapi::api::apps::v1::{DeploymentStatus, StatefulSetStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    fn owned_by(kind: &str, uid: &str) -> Option<Vec<OwnerReference>> {
        Some(vec![OwnerReference {
            kind: kind.into(),
            uid: uid.into(),
            controller: Some(true),
            ..Default::default()
        }])
    }

    fn revision(r: &str) -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([(
            DEPLOYMENT_REVISION.to_string(),
            r.to_string(),
        )]))
    }

    fn deployment(rev: &str, generation: i64, observed: i64) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                uid: Some("d".into()),
                generation: Some(generation),
                annotations: revision(rev),
                ..Default::default()
            },
            status: Some(DeploymentStatus {
                observed_generation: Some(observed),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn replica_set(uid: &str, rev: &str) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                annotations: revision(rev),
                owner_references: owned_by("Deployment", "d"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn pod(owner: &str, uid: &str, hash: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                owner_references: owned_by(owner, uid),
                labels: hash.map(|h| BTreeMap::from([(POD_REVISION_LABEL.to_string(), h.into())])),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_pods_of_the_current_template_count() {
        let (old, new) = (replica_set("rs-old", "1"), replica_set("rs-new", "2"));
        let rss = [&old, &new];
        let dep = deployment("2", 2, 2);
        let current = |p: &Pod, d: &Deployment| of_current_template(p, &[d], &rss, &[]);
        assert!(current(&pod("ReplicaSet", "rs-new", None), &dep));
        // An old pod that was failing before the change is not the change's.
        assert!(!current(&pod("ReplicaSet", "rs-old", None), &dep));
        // Before the controller has seen the new spec, no pod is current.
        let unseen = deployment("1", 2, 1);
        assert!(!current(&pod("ReplicaSet", "rs-old", None), &unseen));
        // An owner the read did not return: not counted.
        assert!(!current(&pod("ReplicaSet", "rs-gone", None), &dep));

        let sts = StatefulSet {
            metadata: ObjectMeta {
                uid: Some("s".into()),
                generation: Some(3),
                ..Default::default()
            },
            status: Some(StatefulSetStatus {
                observed_generation: Some(3),
                update_revision: Some("db-7c9".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let in_sts = |p: &Pod| of_current_template(p, &[], &[], &[&sts]);
        assert!(in_sts(&pod("StatefulSet", "s", Some("db-7c9"))));
        assert!(!in_sts(&pod("StatefulSet", "s", Some("db-5f1"))));
        // Pods of the release's Jobs, and bare pods, are the release's own.
        assert!(of_current_template(&pod("Job", "j", None), &[], &[], &[]));
        assert!(of_current_template(&Pod::default(), &[], &[], &[]));
    }

    fn claim(name: &str, sts: Option<&str>, size: &str) -> Claim {
        Claim {
            name: name.into(),
            statefulset: sts.map(String::from),
            requested: size.into(),
            class: None,
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
