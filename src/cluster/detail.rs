//! A store's detail: the resources in its namespace with their readiness,
//! and its namespace events, newest first.

use super::health;
use super::namespace::OwnedNamespace;
use super::to_chrono;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

/// One object in a store's namespace, with its readiness.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Resource {
    pub kind: &'static str,
    pub name: String,
    /// "1/1" for workloads and pods, "Bound" for claims, "" where it has no meaning.
    pub ready: String,
    pub ok: bool,
    pub status: String,
    #[schema(required)]
    pub created: Option<DateTime<Utc>>,
}

/// One event of a store's namespace.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct EventLine {
    #[schema(required)]
    pub at: Option<DateTime<Utc>>,
    pub warning: bool,
    pub reason: String,
    pub object: String,
    pub message: String,
    pub count: i32,
}

fn created<K: kube::Resource>(o: &K) -> Option<DateTime<Utc>> {
    o.meta().creation_timestamp.as_ref().and_then(to_chrono)
}

/// Every resource of the store, grouped by kind in a fixed order. Takes a
/// namespace checked to be the store's: a name alone shows nothing.
pub async fn resources(
    client: &Client,
    owned: &OwnedNamespace,
) -> Result<Vec<Resource>, kube::Error> {
    let ns = owned.name();
    let lp = ListParams::default();
    let (dep_api, sts_api, pod_api, svc_api, pvc_api, ing_api, job_api) = (
        Api::<Deployment>::namespaced(client.clone(), ns),
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        Api::<Pod>::namespaced(client.clone(), ns),
        Api::<Service>::namespaced(client.clone(), ns),
        Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns),
        Api::<Ingress>::namespaced(client.clone(), ns),
        Api::<Job>::namespaced(client.clone(), ns),
    );
    let (deps, stss, pods, svcs, pvcs, ings, jobs) = tokio::try_join!(
        dep_api.list(&lp),
        sts_api.list(&lp),
        pod_api.list(&lp),
        svc_api.list(&lp),
        pvc_api.list(&lp),
        ing_api.list(&lp),
        job_api.list(&lp),
    )?;
    let mut out = Vec::new();
    out.extend(deps.items.iter().map(deployment_resource));
    out.extend(stss.items.iter().map(statefulset_resource));
    for p in &pods.items {
        out.push(pod_resource(p));
    }
    for s in &svcs.items {
        let spec = s.spec.as_ref();
        let ty = spec
            .and_then(|s| s.type_.clone())
            .unwrap_or_else(|| "ClusterIP".into());
        let ports: Vec<String> = spec
            .and_then(|s| s.ports.as_ref())
            .map(|ps| ps.iter().map(|p| p.port.to_string()).collect())
            .unwrap_or_default();
        out.push(Resource {
            kind: "Service",
            name: s.name_any(),
            ready: String::new(),
            ok: true,
            status: format!("{ty} {}", ports.join(",")),
            created: created(s),
        });
    }
    for c in &pvcs.items {
        let phase = c
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into());
        let size = c
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        out.push(Resource {
            kind: "PersistentVolumeClaim",
            name: c.name_any(),
            ready: phase.clone(),
            ok: phase == "Bound",
            status: size,
            created: created(c),
        });
    }
    for i in &ings.items {
        let hosts: Vec<String> = i
            .spec
            .as_ref()
            .and_then(|s| s.rules.as_ref())
            .map(|rs| rs.iter().filter_map(|r| r.host.clone()).collect())
            .unwrap_or_default();
        out.push(Resource {
            kind: "Ingress",
            name: i.name_any(),
            ready: String::new(),
            ok: true,
            status: hosts.join(","),
            created: created(i),
        });
    }
    for j in &jobs.items {
        let st = j.status.as_ref();
        let succeeded = st.and_then(|s| s.succeeded).unwrap_or(0);
        let failed = st.and_then(|s| s.failed).unwrap_or(0);
        out.push(Resource {
            kind: "Job",
            name: j.name_any(),
            ready: format!("{succeeded}/1"),
            ok: succeeded > 0,
            status: if failed > 0 {
                format!("{failed} failed")
            } else if succeeded > 0 {
                "Complete".into()
            } else {
                "Running".into()
            },
            created: created(j),
        });
    }
    Ok(out)
}

/// A Deployment's row, by the readiness rule the store's health uses.
pub fn deployment_resource(d: &Deployment) -> Resource {
    let r = health::deployment_rollout(d);
    Resource {
        kind: "Deployment",
        name: d.name_any(),
        ready: format!("{}/{}", r.ready, r.want),
        ok: r.ok,
        status: if r.ok { "Available" } else { "Progressing" }.into(),
        created: created(d),
    }
}

/// A StatefulSet's row, by the readiness rule the store's health uses.
pub fn statefulset_resource(s: &StatefulSet) -> Resource {
    let r = health::statefulset_rollout(s);
    Resource {
        kind: "StatefulSet",
        name: s.name_any(),
        ready: format!("{}/{}", r.ready, r.want),
        ok: r.ok,
        status: if r.ok { "Ready" } else { "Progressing" }.into(),
        created: created(s),
    }
}

pub fn pod_resource(p: &Pod) -> Resource {
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let total = p
        .spec
        .as_ref()
        .map(|s| s.containers.len())
        .unwrap_or(statuses.len());
    let ready = statuses.iter().filter(|c| c.ready).count();
    let waiting = statuses.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
    });
    let phase = p
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    Resource {
        kind: "Pod",
        name: p.name_any(),
        ready: format!("{ready}/{total}"),
        ok: total > 0 && ready == total,
        status: waiting.unwrap_or(phase),
        created: p.metadata.creation_timestamp.as_ref().and_then(to_chrono),
    }
}

pub fn event_line(e: &Event) -> EventLine {
    let at = e
        .last_timestamp
        .as_ref()
        .and_then(to_chrono)
        .or_else(|| {
            e.event_time
                .as_ref()
                .and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0))
        })
        .or_else(|| e.first_timestamp.as_ref().and_then(to_chrono))
        .or_else(|| e.metadata.creation_timestamp.as_ref().and_then(to_chrono));
    let obj = &e.involved_object;
    EventLine {
        at,
        warning: e.type_.as_deref() == Some("Warning"),
        reason: e.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            obj.kind.clone().unwrap_or_default().to_lowercase(),
            obj.name.clone().unwrap_or_default()
        ),
        message: e.message.clone().unwrap_or_default().trim().to_string(),
        count: e.count.unwrap_or(1),
    }
}

/// The namespace's events, newest first (a namespace checked to be the store's).
pub async fn events(
    client: &Client,
    owned: &OwnedNamespace,
) -> Result<Vec<EventLine>, kube::Error> {
    let list = Api::<Event>::namespaced(client.clone(), owned.name())
        .list(&ListParams::default())
        .await?;
    let mut lines: Vec<EventLine> = list.items.iter().map(event_line).collect();
    sort_newest_first(&mut lines);
    Ok(lines)
}

pub fn sort_newest_first(lines: &mut [EventLine]) {
    lines.sort_by_key(|e| std::cmp::Reverse(e.at));
}

/// Bounds a followed events tail (keyed by event name): once it holds twice
/// `keep`, only the newest `keep` stay (unknown times count as oldest), so a
/// namespace with thousands of events costs `2 × keep` lines at most and the
/// trimming is amortised over many events.
pub fn bound_tail(tail: &mut std::collections::BTreeMap<String, EventLine>, keep: usize) {
    if tail.len() <= keep.saturating_mul(2) {
        return;
    }
    let mut by_age: Vec<(Option<DateTime<Utc>>, String)> =
        tail.iter().map(|(k, e)| (e.at, k.clone())).collect();
    by_age.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, key) in by_age.into_iter().skip(keep) {
        tail.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_sort_newest_first_with_unknown_times_last() {
        let mk = |secs: Option<i64>| EventLine {
            at: secs.and_then(|s| DateTime::from_timestamp(s, 0)),
            warning: false,
            reason: String::new(),
            object: String::new(),
            message: String::new(),
            count: 1,
        };
        let mut v = vec![mk(Some(1)), mk(None), mk(Some(3)), mk(Some(2))];
        sort_newest_first(&mut v);
        let order: Vec<Option<i64>> = v.iter().map(|e| e.at.map(|t| t.timestamp())).collect();
        assert_eq!(order, vec![Some(3), Some(2), Some(1), None]);
    }

    #[test]
    fn a_followed_tail_keeps_the_newest() {
        let mut tail = std::collections::BTreeMap::new();
        for i in 0..6 {
            tail.insert(
                format!("e{i}"),
                EventLine {
                    at: DateTime::from_timestamp(i, 0),
                    warning: false,
                    reason: String::new(),
                    object: String::new(),
                    message: String::new(),
                    count: 1,
                },
            );
        }
        bound_tail(&mut tail, 3);
        assert_eq!(tail.len(), 6, "within twice the bound: untouched");
        tail.insert(
            "unknown".into(),
            EventLine {
                at: None,
                warning: false,
                reason: String::new(),
                object: String::new(),
                message: String::new(),
                count: 1,
            },
        );
        bound_tail(&mut tail, 3);
        let kept: Vec<&String> = tail.keys().collect();
        assert_eq!(kept, vec!["e3", "e4", "e5"]);
    }
    /// A rollout in progress: the old replica is still ready (1/1), but the
    /// new spec's is not. The resource pane used to say "1/1 Available"
    /// while the store's health said Progressing; both now read one rule.
    #[test]
    fn a_deployment_mid_rollout_is_progressing_in_the_detail_and_the_health() {
        use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        let rolling = |updated: i32, observed: i64| Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                ready_replicas: Some(1),
                updated_replicas: Some(updated),
                observed_generation: Some(observed),
                ..Default::default()
            }),
        };
        let health_of = |d: &Deployment| {
            health::derive(
                &health::Objects {
                    deployments: &[d],
                    statefulsets: &[],
                    jobs: &[],
                    pods: &[],
                },
                &[],
            )
        };
        for (d, why) in [
            (rolling(0, 2), "not updated yet"),
            (rolling(1, 1), "status of the previous generation"),
        ] {
            let row = deployment_resource(&d);
            assert_eq!(row.ready, "1/1", "{why}");
            assert!(!row.ok, "{why}: {row:?}");
            assert_eq!(row.status, "Progressing", "{why}");
            assert_eq!(
                health_of(&d).state,
                health::HealthState::Progressing,
                "{why}"
            );
        }
        let done = rolling(1, 2);
        let row = deployment_resource(&done);
        assert!(row.ok && row.status == "Available", "{row:?}");
        assert_eq!(health_of(&done).state, health::HealthState::Ready);
    }
}
