//! The cluster view's cache: every watched object filed under its store's id
//! (the `store-weaver.io/store-id` label), so one store's health reads only
//! that store's objects and a re-list replaces one kind in one pass over it.
//! Pure: the watch loop feeds it events, the tests feed it by hand.

use super::STORE_ID_LABEL;
use super::health::{self, Health};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::{Resource, ResourceExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// The kinds the view watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespaces,
    Pods,
    Deployments,
    StatefulSets,
    Jobs,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Namespaces,
        Kind::Pods,
        Kind::Deployments,
        Kind::StatefulSets,
        Kind::Jobs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespaces => "namespaces",
            Kind::Pods => "pods",
            Kind::Deployments => "deployments",
            Kind::StatefulSets => "statefulsets",
            Kind::Jobs => "jobs",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One store's objects, each kind keyed by "namespace/name".
#[derive(Debug, Default)]
pub struct StoreObjects {
    pub namespaces: BTreeMap<String, Arc<Namespace>>,
    pub pods: BTreeMap<String, Arc<Pod>>,
    pub deployments: BTreeMap<String, Arc<Deployment>>,
    pub statefulsets: BTreeMap<String, Arc<StatefulSet>>,
    pub jobs: BTreeMap<String, Arc<Job>>,
}

impl StoreObjects {
    fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.pods.is_empty()
            && self.deployments.is_empty()
            && self.statefulsets.is_empty()
            && self.jobs.is_empty()
    }

    /// What makes a store count as "in the cluster" for `health_all`: its
    /// namespace (a workload lives in it; one elsewhere is not the store's).
    fn is_present(&self) -> bool {
        !self.namespaces.is_empty()
    }

    /// The objects of one kind that are in one of the store's own
    /// namespaces (those carrying its id label). Anyone who may create a
    /// Deployment somewhere can put a store's id label on it; such a decoy
    /// elsewhere must not change the store's health.
    fn own<'a, K>(&self, objects: &'a BTreeMap<String, Arc<K>>) -> Vec<&'a K> {
        objects
            .iter()
            .filter(|(key, _)| {
                key.split_once('/')
                    .is_some_and(|(ns, _)| self.namespaces.contains_key(&format!("/{ns}")))
            })
            .map(|(_, o)| o.as_ref())
            .collect()
    }

    pub fn health(&self, expected: &[String]) -> Health {
        let d: Vec<&Deployment> = self.own(&self.deployments);
        let s: Vec<&StatefulSet> = self.own(&self.statefulsets);
        let j: Vec<&Job> = self.own(&self.jobs);
        let p: Vec<&Pod> = self.own(&self.pods);
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
}

/// A kind the index can file.
pub trait Indexed: Resource<DynamicType = ()> + Clone + Send + Sync + 'static {
    const KIND: Kind;
    fn slot(objects: &mut StoreObjects) -> &mut BTreeMap<String, Arc<Self>>;
}

macro_rules! indexed {
    ($ty:ty, $kind:expr, $field:ident) => {
        impl Indexed for $ty {
            const KIND: Kind = $kind;
            fn slot(objects: &mut StoreObjects) -> &mut BTreeMap<String, Arc<Self>> {
                &mut objects.$field
            }
        }
    };
}
indexed!(Namespace, Kind::Namespaces, namespaces);
indexed!(Pod, Kind::Pods, pods);
indexed!(Deployment, Kind::Deployments, deployments);
indexed!(StatefulSet, Kind::StatefulSets, statefulsets);
indexed!(Job, Kind::Jobs, jobs);

/// The stores whose objects an event changed: at most two (an object whose
/// label moved it leaves one store and joins another).
pub type Touched = Vec<Uuid>;

#[derive(Debug, Default)]
pub struct Index {
    stores: HashMap<Uuid, StoreObjects>,
    /// Where each object is filed, so an event for an object whose label
    /// changed finds the store it has to leave.
    filed: HashMap<(Kind, String), Uuid>,
}

fn key<K: Resource>(o: &K) -> String {
    format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any())
}

fn store_id<K: Resource>(o: &K) -> Option<Uuid> {
    o.labels()
        .get(STORE_ID_LABEL)
        .and_then(|v| Uuid::parse_str(v).ok())
}

impl Index {
    /// An object was added or modified.
    pub fn apply<K: Indexed>(&mut self, obj: K) -> Touched {
        let key = key(&obj);
        let id = store_id(&obj);
        let mut touched = Touched::new();
        if let Some(old) = self.filed.get(&(K::KIND, key.clone())).copied()
            && Some(old) != id
        {
            self.unfile::<K>(old, &key);
            touched.push(old);
        }
        // An object whose label is not a store id is nobody's: not filed.
        if let Some(id) = id {
            K::slot(self.stores.entry(id).or_default()).insert(key.clone(), Arc::new(obj));
            self.filed.insert((K::KIND, key), id);
            touched.push(id);
        }
        touched
    }

    /// An object was deleted (or stopped matching the watch's selector).
    pub fn delete<K: Indexed>(&mut self, obj: &K) -> Touched {
        let key = key(obj);
        match self.filed.get(&(K::KIND, key.clone())).copied() {
            Some(old) => {
                self.unfile::<K>(old, &key);
                vec![old]
            }
            None => Touched::new(),
        }
    }

    /// A re-list: `objects` are all there now is of this kind. One pass over
    /// the kind's old objects and one over the new.
    pub fn replace<K: Indexed>(&mut self, objects: Vec<K>) {
        let old: Vec<(String, Uuid)> = self
            .filed
            .iter()
            .filter(|((kind, _), _)| *kind == K::KIND)
            .map(|((_, key), id)| (key.clone(), *id))
            .collect();
        for (key, id) in old {
            self.unfile::<K>(id, &key);
        }
        for obj in objects {
            self.apply(obj);
        }
    }

    fn unfile<K: Indexed>(&mut self, id: Uuid, key: &str) {
        self.filed.remove(&(K::KIND, key.to_string()));
        if let Some(objects) = self.stores.get_mut(&id) {
            K::slot(objects).remove(key);
            if objects.is_empty() {
                self.stores.remove(&id);
            }
        }
    }

    pub fn store(&self, id: Uuid) -> Option<&StoreObjects> {
        self.stores.get(&id)
    }

    /// The store's health: O(its objects).
    pub fn health(&self, id: Uuid, expected: &[String]) -> Health {
        match self.stores.get(&id) {
            Some(objects) => objects.health(expected),
            None => StoreObjects::default().health(expected),
        }
    }

    /// The health of every store with a namespace or a workload: O(objects).
    pub fn health_all(&self) -> HashMap<Uuid, Health> {
        self.stores
            .iter()
            .filter(|(_, o)| o.is_present())
            .map(|(id, o)| (*id, o.health(&[])))
            .collect()
    }

    /// A namespace by name, if the watch has it under some store's id.
    pub fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        let key = format!("/{name}");
        let id = self.filed.get(&(Kind::Namespaces, key.clone()))?;
        self.stores.get(id)?.namespaces.get(&key).cloned()
    }

    /// How many objects are filed (all kinds).
    pub fn len(&self) -> usize {
        self.filed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::HealthState;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(ns: Option<&str>, name: &str, id: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: ns.map(str::to_string),
            generation: Some(1),
            labels: id.map(|id| BTreeMap::from([(STORE_ID_LABEL.to_string(), id.to_string())])),
            ..Default::default()
        }
    }

    fn deploy(ns: &str, name: &str, id: &str, ready: i32) -> Deployment {
        Deployment {
            metadata: meta(Some(ns), name, Some(id)),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                ready_replicas: Some(ready),
                updated_replicas: Some(ready),
                observed_generation: Some(1),
                ..Default::default()
            }),
        }
    }

    fn namespace(name: &str, id: &str) -> Namespace {
        Namespace {
            metadata: meta(None, name, Some(id)),
            ..Default::default()
        }
    }

    fn pod(ns: &str, name: &str, id: &str) -> Pod {
        Pod {
            metadata: meta(Some(ns), name, Some(id)),
            ..Default::default()
        }
    }

    fn ids() -> (Uuid, Uuid) {
        (Uuid::new_v4(), Uuid::new_v4())
    }

    #[test]
    fn an_added_object_is_filed_under_its_store_and_modified_in_place() {
        let (a, b) = ids();
        let mut ix = Index::default();
        ix.apply(namespace("ns-a", &a.to_string()));
        ix.apply(namespace("ns-b", &b.to_string()));
        assert_eq!(ix.apply(deploy("ns-a", "web", &a.to_string(), 0)), vec![a]);
        ix.apply(deploy("ns-b", "web", &b.to_string(), 1));
        assert_eq!(ix.health(a, &[]).state, HealthState::Progressing);
        assert_eq!(ix.health(b, &[]).state, HealthState::Ready);

        // Modified: the same key replaces the object, nothing is added.
        assert_eq!(ix.apply(deploy("ns-a", "web", &a.to_string(), 1)), vec![a]);
        assert_eq!(ix.health(a, &[]).state, HealthState::Ready);
        assert_eq!(ix.store(a).map(|o| o.deployments.len()), Some(1));
        assert_eq!(ix.len(), 4);
    }

    #[test]
    fn a_deleted_object_leaves_and_an_empty_store_is_dropped() {
        let (a, _) = ids();
        let mut ix = Index::default();
        let d = deploy("ns-a", "web", &a.to_string(), 1);
        ix.apply(d.clone());
        ix.apply(pod("ns-a", "web-x", &a.to_string()));
        assert_eq!(ix.delete(&d), vec![a]);
        assert_eq!(ix.health(a, &[]).state, HealthState::Missing);
        assert_eq!(ix.store(a).map(|o| o.pods.len()), Some(1));
        assert_eq!(ix.delete(&pod("ns-a", "web-x", &a.to_string())), vec![a]);
        assert!(ix.store(a).is_none());
        assert!(ix.is_empty());
        // Deleting what is not there touches nothing.
        assert!(ix.delete(&d).is_empty());
    }

    #[test]
    fn a_relabelled_object_moves_to_its_new_store() {
        let (a, b) = ids();
        let mut ix = Index::default();
        ix.apply(deploy("ns-x", "web", &a.to_string(), 1));
        ix.apply(namespace("ns-a", &a.to_string()));
        ix.apply(namespace("ns-x", &b.to_string()));
        let touched = ix.apply(deploy("ns-x", "web", &b.to_string(), 1));
        assert_eq!(touched, vec![a, b]);
        assert_eq!(ix.store(a).map(|o| o.deployments.len()), Some(0));
        assert_eq!(ix.health(a, &[]).state, HealthState::Missing);
        assert_eq!(ix.health(b, &[]).state, HealthState::Ready);
        assert_eq!(ix.len(), 3);
        // A label that is not a store id files it nowhere.
        assert_eq!(ix.apply(deploy("ns-x", "web", "nonsense", 1)), vec![b]);
        assert_eq!(ix.store(b).map(|o| o.deployments.len()), Some(0));
        assert_eq!(ix.len(), 2);
    }

    #[test]
    fn a_relist_replaces_one_kind_and_keeps_the_others() {
        let (a, b) = ids();
        let mut ix = Index::default();
        ix.apply(deploy("ns-a", "web", &a.to_string(), 0));
        ix.apply(deploy("ns-a", "old", &a.to_string(), 0));
        ix.apply(namespace("ns-a", &a.to_string()));
        ix.apply(namespace("ns-b", &b.to_string()));
        ix.replace(vec![
            deploy("ns-a", "web", &a.to_string(), 1),
            deploy("ns-b", "web", &b.to_string(), 1),
        ]);
        let names: Vec<&String> = ix.store(a).unwrap().deployments.keys().collect();
        assert_eq!(names, vec!["ns-a/web"], "gone while disconnected: gone");
        assert_eq!(ix.store(a).unwrap().namespaces.len(), 1, "other kinds kept");
        assert_eq!(ix.health(a, &[]).state, HealthState::Ready);
        assert_eq!(ix.health(b, &[]).state, HealthState::Ready);
        ix.replace::<Deployment>(Vec::new());
        assert_eq!(ix.store(b).map(|o| o.deployments.len()), Some(0));
        assert_eq!(ix.len(), 2);
    }

    #[test]
    fn health_all_lists_stores_with_a_namespace() {
        let (a, b) = ids();
        let c = Uuid::new_v4();
        let mut ix = Index::default();
        ix.apply(namespace("ns-a", &a.to_string()));
        ix.apply(namespace("ns-b", &b.to_string()));
        ix.apply(deploy("ns-b", "web", &b.to_string(), 1));
        // Leftovers, or objects elsewhere that carry a store's label.
        ix.apply(pod("ns-c", "leftover", &c.to_string()));
        ix.apply(deploy("ns-c", "web", &c.to_string(), 1));
        let all = ix.health_all();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&a].state, HealthState::Missing);
        assert_eq!(all[&b].state, HealthState::Ready);
    }

    /// Issue 27 (12): anyone who may create a Deployment somewhere can put
    /// a store's id label on it; only the store's own namespace counts.
    #[test]
    fn a_labelled_decoy_in_another_namespace_does_not_count() {
        let (a, _) = ids();
        let id = a.to_string();
        let mut ix = Index::default();
        ix.apply(namespace("store-acme", &id));
        ix.apply(deploy("store-acme", "web", &id, 1));
        assert_eq!(ix.health(a, &[]).state, HealthState::Ready);
        ix.apply(deploy("elsewhere", "decoy", &id, 0));
        ix.apply(pod("elsewhere", "decoy-x", &id));
        let h = ix.health(a, &[]);
        assert_eq!(h.state, HealthState::Ready, "{h:?}");
        // A store whose namespace the watch has not seen (or that is gone)
        // has nothing of its own in the cluster.
        let (b, _) = ids();
        ix.apply(deploy("elsewhere", "decoy-b", &b.to_string(), 1));
        assert_eq!(ix.health(b, &[]).state, HealthState::Missing);
        assert!(!ix.health_all().contains_key(&b));
    }

    #[test]
    fn a_namespace_is_found_by_name() {
        let (a, _) = ids();
        let mut ix = Index::default();
        ix.apply(namespace("store-acme", &a.to_string()));
        assert!(ix.namespace("store-acme").is_some());
        assert!(ix.namespace("store-other").is_none());
        ix.delete(&namespace("store-acme", &a.to_string()));
        assert!(ix.namespace("store-acme").is_none());
    }
}
