//! The objects Store Weaver itself creates for a store: its namespace and its
//! credentials Secret. Each call is idempotent.
//!
//! Ownership is a fact in the cluster: a namespace is a store's only when it
//! carries the managed-by label, the store's id label and (once recorded) the
//! uid the engine saw when it created it. Every act inside a namespace takes
//! an [`OwnedNamespace`], which only [`verify`] and [`ensure_namespace`] make,
//! so nothing is bound, read, uninstalled or deleted on a name alone.

use super::{
    CREDENTIALS_SECRET, MANAGED_BY, MANAGED_BY_LABEL, OWNER_ANNOTATION, OWNER_LABEL,
    STORE_ID_LABEL, label_value,
};
use crate::engines::Engine;
use crate::store::NamespaceRef;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use rand::Rng;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error(
        "namespace {ns} is not this store's ({why}); Store Weaver touches nothing in it. If the store's record is stale (a restored database, a second installation), delete the record's namespace by hand after checking whose it is"
    )]
    Foreign { ns: String, why: String },
    #[error("namespace {ns} is still terminating from an earlier attempt")]
    Terminating { ns: String },
    #[error("Kubernetes API: {action} {what}: {source}")]
    Api {
        action: &'static str,
        what: String,
        #[source]
        source: kube::Error,
    },
}

impl NamespaceError {
    /// The API server gave no answer (see [`super::is_transport`]).
    pub fn is_transport(&self) -> bool {
        matches!(self, NamespaceError::Api { source, .. } if super::is_transport(source))
    }
}

fn api_err(
    action: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(kube::Error) -> NamespaceError {
    let what = what.into();
    move |source| NamespaceError::Api {
        action,
        what,
        source,
    }
}

pub fn namespace_labels(store_id: Uuid, owner: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (STORE_ID_LABEL.to_string(), store_id.to_string()),
        (OWNER_LABEL.to_string(), label_value(owner)),
        // An engine's web server may bind port 80 as root before dropping
        // privileges (Apache does), which "restricted" refuses; enforce
        // baseline, warn on restricted.
        (
            "pod-security.kubernetes.io/enforce".to_string(),
            "baseline".to_string(),
        ),
        (
            "pod-security.kubernetes.io/warn".to_string(),
            "restricted".to_string(),
        ),
        (
            "pod-security.kubernetes.io/audit".to_string(),
            "restricted".to_string(),
        ),
    ])
}

/// A namespace checked to be the store's, with the uid it had when checked.
/// Only this module makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedNamespace {
    name: String,
    uid: String,
    terminating: bool,
    /// Made by the very call that returned it: nothing can be in it yet.
    created: bool,
}

impl OwnedNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn uid(&self) -> &str {
        &self.uid
    }
    pub fn is_terminating(&self) -> bool {
        self.terminating
    }
    /// Whether `ensure_namespace` created it just now (so it is empty: no
    /// Helm release, no Secret), rather than finding it.
    pub fn was_created(&self) -> bool {
        self.created
    }
}

/// Why `ns` is not the store's, or None when it is. Pure: the rule itself.
pub fn not_ours(ns: &Namespace, want: &NamespaceRef) -> Option<String> {
    let labels = ns.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    if label(MANAGED_BY_LABEL) != Some(MANAGED_BY) {
        return Some(format!(
            "it has no {MANAGED_BY_LABEL}={MANAGED_BY} label: Store Weaver did not create it"
        ));
    }
    let id = want.store_id.to_string();
    match label(STORE_ID_LABEL) {
        Some(found) if found == id => {}
        // Said without the other store's id: this text reaches the store's
        // owner (the API, the store's error), who has no business with it.
        Some(_) => return Some("it belongs to another store".to_string()),
        None => return Some(format!("it has no {STORE_ID_LABEL} label")),
    }
    if let (Some(known), Some(uid)) = (want.uid.as_deref(), ns.metadata.uid.as_deref())
        && known != uid
    {
        return Some(format!(
            "its uid is {uid}, not {known} that the engine created: it was re-created by someone else"
        ));
    }
    None
}

fn owned(ns: &Namespace, want: &NamespaceRef) -> Result<OwnedNamespace, NamespaceError> {
    if let Some(why) = not_ours(ns, want) {
        return Err(NamespaceError::Foreign {
            ns: want.name.clone(),
            why,
        });
    }
    Ok(OwnedNamespace {
        name: want.name.clone(),
        uid: ns.metadata.uid.clone().unwrap_or_default(),
        terminating: ns.metadata.deletion_timestamp.is_some(),
        created: false,
    })
}

/// The store's namespace as the API server has it now: None when there is
/// none, an error when one of that name exists but is not the store's.
pub async fn verify(
    client: &Client,
    want: &NamespaceRef,
) -> Result<Option<OwnedNamespace>, NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api
        .get_opt(&want.name)
        .await
        .map_err(api_err("get", format!("namespace {}", want.name)))?
    {
        None => Ok(None),
        Some(ns) => owned(&ns, want).map(Some),
    }
}

/// Creates the namespace, or accepts it if it is already this store's (an
/// earlier delivery of the same operation). A namespace of that name that is
/// not the store's is `Foreign`; one still being deleted is `Terminating`.
pub async fn ensure_namespace(
    client: &Client,
    want: &NamespaceRef,
    owner: &str,
) -> Result<OwnedNamespace, NamespaceError> {
    let ns = want.name.as_str();
    let api: Api<Namespace> = Api::all(client.clone());
    // A store that recorded a namespace uid has had one: look first, so that
    // one re-created by someone else is told apart by its uid. A store that
    // never had one (every first provision) creates at once, one request
    // instead of two; a 409 then means it exists, judged by its labels below.
    if want.uid.is_some()
        && let Some(existing) = verify(client, want).await?
    {
        if existing.terminating {
            return Err(NamespaceError::Terminating { ns: ns.to_string() });
        }
        return Ok(existing);
    }
    let obj = Namespace {
        metadata: ObjectMeta {
            name: Some(ns.to_string()),
            labels: Some(namespace_labels(want.store_id, owner)),
            annotations: Some(BTreeMap::from([(
                OWNER_ANNOTATION.to_string(),
                owner.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    // A namespace made just now, by this create or a concurrent delivery of
    // the same operation, is the store's by its labels: a uid recorded for
    // an earlier namespace (removed by a failed attempt's cleanup) is stale.
    let fresh = NamespaceRef {
        uid: None,
        ..want.clone()
    };
    match api.create(&PostParams::default(), &obj).await {
        Ok(created) => owned(&created, &fresh).map(|o| OwnedNamespace { created: true, ..o }),
        Err(kube::Error::Api(s)) if s.code == 409 => match verify(client, &fresh).await? {
            Some(o) if !o.terminating => Ok(o),
            Some(_) => Err(NamespaceError::Terminating { ns: ns.to_string() }),
            None => Err(NamespaceError::Terminating { ns: ns.to_string() }),
        },
        Err(e) => Err(api_err("create", format!("namespace {ns}"))(e)),
    }
}

/// Whether any namespace of this name exists (ours or not): a new store
/// treats every existing namespace as taken.
pub async fn exists(client: &Client, ns: &str) -> Result<bool, NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    api.get_opt(ns)
        .await
        .map(|n| n.is_some())
        .map_err(api_err("get", format!("namespace {ns}")))
}

fn generate_secret_value(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Creates the store's credentials once, with fresh random values; an
/// existing Secret is kept (a retry must not change the database password
/// under a database that already has it).
pub async fn ensure_credentials(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
    engine: &Engine,
    restored: Option<&BTreeMap<String, String>>,
) -> Result<bool, NamespaceError> {
    let ns = owned.name();
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    // Create, and keep the existing one on 409: one request, not a read first.
    // A store brought back from a backup gets the credentials it had (its
    // database's users and its admin's password hash came back with it);
    // a key the backup lacks (a newer chart's) is generated.
    let data: BTreeMap<String, String> = engine
        .secret_keys
        .iter()
        .map(|k| {
            let value = restored
                .and_then(|r| r.get(k.name))
                .cloned()
                .unwrap_or_else(|| generate_secret_value(k.len));
            (k.name.to_string(), value)
        })
        .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(CREDENTIALS_SECRET.to_string()),
            labels: Some(BTreeMap::from([
                (STORE_ID_LABEL.to_string(), store_id.to_string()),
                (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            ])),
            ..Default::default()
        },
        string_data: Some(data),
        type_: Some("Opaque".to_string()),
        ..Default::default()
    };
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(api_err(
            "create",
            format!("secret {ns}/{CREDENTIALS_SECRET}"),
        )(e)),
    }
}

/// Reads the store's admin password (the Secret's key `key`), after
/// checking that the namespace is the store's: a name collision must never
/// hand out another store's password.
pub async fn admin_password(
    client: &Client,
    want: &NamespaceRef,
    key: &str,
) -> Result<Option<String>, NamespaceError> {
    let Some(owned) = verify(client, want).await? else {
        return Ok(None);
    };
    let ns = owned.name();
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = api
        .get_opt(CREDENTIALS_SECRET)
        .await
        .map_err(api_err("get", format!("secret {ns}/{CREDENTIALS_SECRET}")))?;
    Ok(secret.and_then(|s| s.data).and_then(|d| {
        d.get(key)
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
    }))
}

/// Starts deleting the store's namespace, with a uid precondition so that a
/// namespace re-created under the same name since it was checked is left
/// alone (the API server answers 409). One already gone is fine.
pub async fn delete_namespace(
    client: &Client,
    owned: &OwnedNamespace,
) -> Result<(), NamespaceError> {
    let ns = owned.name();
    let api: Api<Namespace> = Api::all(client.clone());
    let mut dp = DeleteParams::background();
    dp.preconditions = Some(Preconditions {
        uid: Some(owned.uid().to_string()),
        resource_version: None,
    });
    match api.delete(ns, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(NamespaceError::Foreign {
            ns: ns.to_string(),
            why: format!(
                "it was re-created since it was checked (uid is no longer {})",
                owned.uid()
            ),
        }),
        Err(e) => Err(api_err("delete", format!("namespace {ns}"))(e)),
    }
}

/// The namespace as the API server has it now (None: gone).
pub async fn get_namespace(client: &Client, ns: &str) -> Result<Option<Namespace>, NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    api.get_opt(ns)
        .await
        .map_err(api_err("get", format!("namespace {ns}")))
}

/// Why a namespace is still terminating, from its conditions.
pub fn terminating_reason(ns: &Namespace) -> String {
    let conditions: Vec<String> = ns
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .filter(|c| c.status == "True")
                .map(|c| format!("{}: {}", c.type_, c.message.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if conditions.is_empty() {
        "no condition reported".to_string()
    } else {
        conditions.join("; ")
    }
}

/// Binds `cluster_role` to the platform's service account inside the store
/// namespace, so the platform's write rights stay within store namespaces
/// (least privilege; see config/rbac.yaml). Waits until the API server's
/// authorizer has seen the binding, so the next step is not refused.
pub async fn ensure_role_binding(
    client: &Client,
    owned: &OwnedNamespace,
    store_id: Uuid,
    cluster_role: &str,
    subject: &(String, String),
) -> Result<(), NamespaceError> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
    let ns = owned.name();
    let api: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("store-weaver".to_string()),
            labels: Some(BTreeMap::from([
                (STORE_ID_LABEL.to_string(), store_id.to_string()),
                (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            ])),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_string(),
            kind: "ClusterRole".to_string(),
            name: cluster_role.to_string(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name: subject.1.clone(),
            namespace: Some(subject.0.clone()),
            ..Default::default()
        }]),
    };
    match api.create(&PostParams::default(), &binding).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(()),
        Err(e) => {
            return Err(api_err("create", format!("rolebinding {ns}/store-weaver"))(
                e,
            ));
        }
    }
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.to_string()),
                verb: Some("create".to_string()),
                resource: Some("secrets".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    for _ in 0..50 {
        let answer = reviews
            .create(&PostParams::default(), &review)
            .await
            .map_err(api_err("create", "selfsubjectaccessreview"))?;
        if answer.status.is_some_and(|s| s.allowed) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_long_and_distinct() {
        let a = generate_secret_value(32);
        let b = generate_secret_value(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    fn ns_with(labels: &[(&str, &str)], uid: &str) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some("store-acme".into()),
                uid: Some(uid.into()),
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

    #[test]
    fn ownership_needs_both_labels_and_the_recorded_uid() {
        let id = Uuid::now_v7();
        let other = Uuid::now_v7().to_string();
        let idstr = id.to_string();
        let want = |uid: Option<&str>| NamespaceRef {
            name: "store-acme".into(),
            store_id: id,
            uid: uid.map(String::from),
        };
        let ours = [
            (MANAGED_BY_LABEL, MANAGED_BY),
            (STORE_ID_LABEL, idstr.as_str()),
        ];
        assert_eq!(not_ours(&ns_with(&ours, "u1"), &want(None)), None);
        assert_eq!(not_ours(&ns_with(&ours, "u1"), &want(Some("u1"))), None);
        let why = not_ours(&ns_with(&ours, "u2"), &want(Some("u1"))).unwrap();
        assert!(why.contains("re-created"), "{why}");
        let why = not_ours(&ns_with(&[], "u1"), &want(None)).unwrap();
        assert!(why.contains("did not create it"), "{why}");
        let why = not_ours(
            &ns_with(&[(MANAGED_BY_LABEL, MANAGED_BY)], "u1"),
            &want(None),
        )
        .unwrap();
        assert!(why.contains("no store-weaver.io/store-id"), "{why}");
        let theirs = [
            (MANAGED_BY_LABEL, MANAGED_BY),
            (STORE_ID_LABEL, other.as_str()),
        ];
        let why = not_ours(&ns_with(&theirs, "u1"), &want(None)).unwrap();
        // Said, without the other store's id (it reaches this store's owner).
        assert!(
            why.contains("another store") && !why.contains(&other),
            "{why}"
        );
        // The store id alone is not enough: a namespace someone else labelled.
        let why = not_ours(
            &ns_with(&[(STORE_ID_LABEL, idstr.as_str())], "u1"),
            &want(None),
        );
        assert!(why.is_some());
    }

    #[test]
    fn namespace_labels_mark_the_store() {
        let id = Uuid::nil();
        let l = namespace_labels(id, "ann@example.com");
        assert_eq!(
            l.get(STORE_ID_LABEL).map(String::as_str),
            Some("00000000-0000-0000-0000-000000000000")
        );
        assert_eq!(
            l.get("pod-security.kubernetes.io/enforce")
                .map(String::as_str),
            Some("baseline")
        );
        assert_eq!(
            l.get(OWNER_LABEL).map(String::as_str),
            Some("ann_example.com")
        );
    }
}
