//! Whether a store's namespace has room for bigger volume claims: the
//! largest claim its LimitRanges allow and the storage its ResourceQuotas
//! have left. Checked before anything changes (when the change is asked
//! for, and again by the worker), so a growth the API server would refuse
//! half-way is refused whole, with the store untouched.

use super::namespace::OwnedNamespace;
use super::rollout::Claim;
use crate::store::settings;
use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;

const STORAGE: &str = "requests.storage";
const PER_CLASS: &str = ".storageclass.storage.k8s.io/requests.storage";

/// The largest claim one LimitRange allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCap {
    pub limit_range: String,
    pub max: String,
}

/// One storage line of a ResourceQuota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageQuota {
    pub quota: String,
    /// `requests.storage`, or the per-class key.
    pub key: String,
    /// The class the key is about; None: every claim.
    pub class: Option<String>,
    pub hard: String,
    /// What the quota controller counted; None before it has.
    pub used: Option<String>,
}

/// What the namespace allows volume claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Room {
    pub caps: Vec<ClaimCap>,
    pub quotas: Vec<StorageQuota>,
}

/// The storage rules of these objects (pure).
pub fn from_objects(limits: &[LimitRange], quotas: &[ResourceQuota]) -> Room {
    let mut room = Room::default();
    for lr in limits {
        let items = lr.spec.iter().flat_map(|s| s.limits.iter());
        for item in items.filter(|i| i.type_ == "PersistentVolumeClaim") {
            if let Some(max) = item.max.as_ref().and_then(|m| m.get("storage")) {
                room.caps.push(ClaimCap {
                    limit_range: lr.name_any(),
                    max: max.0.clone(),
                });
            }
        }
    }
    for q in quotas {
        let empty = BTreeMap::new();
        let hard = q
            .spec
            .as_ref()
            .and_then(|s| s.hard.as_ref())
            .unwrap_or(&empty);
        let used = q.status.as_ref().and_then(|s| s.used.as_ref());
        for (key, limit) in hard {
            let class = if key == STORAGE {
                None
            } else if let Some(c) = key.strip_suffix(PER_CLASS) {
                Some(c.to_string())
            } else {
                continue;
            };
            room.quotas.push(StorageQuota {
                quota: q.name_any(),
                key: key.clone(),
                class,
                hard: limit.0.clone(),
                used: used.and_then(|u| u.get(key)).map(|v| v.0.clone()),
            });
        }
    }
    room
}

/// The namespace's LimitRanges and ResourceQuotas: every one applies to the
/// store's claims, whoever made it (the chart, or the cluster's operator).
pub async fn read(client: &Client, owned: &OwnedNamespace) -> Result<Room, kube::Error> {
    let ns = owned.name();
    let all = ListParams::default();
    let (la, qa) = (
        Api::<LimitRange>::namespaced(client.clone(), ns),
        Api::<ResourceQuota>::namespaced(client.clone(), ns),
    );
    let (lrs, qs) = tokio::try_join!(la.list(&all), qa.list(&all))?;
    Ok(from_objects(&lrs.items, &qs.items))
}

/// "2Gi", "512Mi" or bytes: a size as people write it.
fn human(b: u64) -> String {
    for (unit, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20)] {
        if b >= size && b.is_multiple_of(size) {
            return format!("{}{unit}", b / size);
        }
    }
    b.to_string()
}

/// Whether growing the claims to these sizes fits (pure). `grow`: (the
/// database's claims?, the setting's name, the new size). Claims that
/// already have the size or more are not growing. Err says which limit
/// and what would fit.
pub fn check(claims: &[Claim], room: &Room, grow: &[(bool, &str, &str)]) -> Result<(), String> {
    // Bytes each growing claim adds, with its class.
    let mut adds: Vec<(&Claim, u64)> = Vec::new();
    for (database, key, size) in grow {
        let Some(want) = settings::bytes(size) else {
            return Err(format!("{key}={size}: \"{size}\" is not a size"));
        };
        for c in claims
            .iter()
            .filter(|c| c.statefulset.is_some() == *database)
        {
            let Some(have) = c.bytes() else { continue };
            if want <= have {
                continue;
            }
            for cap in &room.caps {
                if settings::bytes(&cap.max).is_some_and(|max| want > max) {
                    return Err(format!(
                        "{key}={size} is more than LimitRange {} in the store's namespace allows for one volume claim (max {}); set {} or less, or have the limit raised",
                        cap.limit_range, cap.max, cap.max
                    ));
                }
            }
            adds.push((c, want - have));
        }
    }
    if adds.is_empty() {
        return Ok(());
    }
    for q in &room.quotas {
        let Some(hard) = settings::bytes(&q.hard) else {
            continue;
        };
        let counted = |c: &Claim| q.class.is_none() || c.class == q.class;
        let more: u64 = adds
            .iter()
            .filter(|(c, _)| counted(c))
            .map(|(_, b)| b)
            .sum();
        if more == 0 {
            continue;
        }
        // Before the quota controller has counted, the claims are the use.
        let used = q
            .used
            .as_deref()
            .and_then(settings::bytes)
            .unwrap_or_else(|| {
                claims
                    .iter()
                    .filter(|c| counted(c))
                    .filter_map(Claim::bytes)
                    .sum()
            });
        if used.saturating_add(more) > hard {
            let names: Vec<&str> = adds
                .iter()
                .filter(|(c, _)| counted(c))
                .map(|(c, _)| c.name.as_str())
                .collect();
            let sets: Vec<String> = grow.iter().map(|(_, k, s)| format!("{k}={s}")).collect();
            return Err(format!(
                "{} needs {} more {} for {}, and ResourceQuota {} in the store's namespace has {} left of {} (used {}); choose sizes that fit, or have the quota raised",
                sets.join(" "),
                human(more),
                q.key,
                names.join(", "),
                q.quota,
                human(hard.saturating_sub(used)),
                q.hard,
                human(used)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(name: &str, db: bool, size: &str, class: Option<&str>) -> Claim {
        Claim {
            name: name.into(),
            statefulset: db.then(|| "db".to_string()),
            requested: size.into(),
            class: class.map(String::from),
        }
    }

    fn objects() -> (Vec<LimitRange>, Vec<ResourceQuota>) {
        let lr: LimitRange = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "store-limits"},
            "spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2"}},
                {"type": "PersistentVolumeClaim", "max": {"storage": "4Gi"}}
            ]}
        }))
        .unwrap();
        let q: ResourceQuota = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "store-quota"},
            "spec": {"hard": {"requests.storage": "6Gi", "pods": "10",
                              "fast.storageclass.storage.k8s.io/requests.storage": "3Gi"}},
            "status": {"used": {"requests.storage": "2Gi"}}
        }))
        .unwrap();
        (vec![lr], vec![q])
    }

    #[test]
    fn the_namespace_rules_for_claims_are_read_and_the_others_left() {
        let (lrs, qs) = objects();
        let room = from_objects(&lrs, &qs);
        assert_eq!(
            room.caps,
            [ClaimCap {
                limit_range: "store-limits".into(),
                max: "4Gi".into()
            }]
        );
        let keys: Vec<(&str, Option<&str>, Option<&str>)> = room
            .quotas
            .iter()
            .map(|q| (q.key.as_str(), q.class.as_deref(), q.used.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "fast.storageclass.storage.k8s.io/requests.storage",
                    Some("fast"),
                    None
                ),
                ("requests.storage", None, Some("2Gi")),
            ]
        );
    }

    #[test]
    fn growth_is_checked_against_the_largest_claim_and_the_storage_left() {
        let (lrs, qs) = objects();
        let room = from_objects(&lrs, &qs);
        let claims = [
            claim("web-content", false, "1Gi", None),
            claim("data-db-0", true, "1Gi", Some("fast")),
        ];
        assert_eq!(
            check(&claims, &room, &[(true, "database.volume", "2Gi")]),
            Ok(())
        );
        let e = check(&claims, &room, &[(true, "database.volume", "1Ti")]).unwrap_err();
        assert_eq!(
            e,
            "database.volume=1Ti is more than LimitRange store-limits in the store's namespace allows for one volume claim (max 4Gi); set 4Gi or less, or have the limit raised"
        );
        // 2Gi used of 6Gi: 3 + 2 more is 7Gi.
        let e = check(
            &claims,
            &room,
            &[
                (false, "web.volume", "4Gi"),
                (true, "database.volume", "3Gi"),
            ],
        )
        .unwrap_err();
        assert!(
            e.starts_with(
                "web.volume=4Gi database.volume=3Gi needs 5Gi more requests.storage for web-content, data-db-0, and ResourceQuota store-quota in the store's namespace has 4Gi left of 6Gi (used 2Gi)"
            ),
            "{e}"
        );
        // The per-class line, not yet counted: the claims are its use.
        let e = check(&claims, &room, &[(true, "database.volume", "4Gi")]).unwrap_err();
        assert!(
            e.contains(
                "needs 3Gi more fast.storageclass.storage.k8s.io/requests.storage for data-db-0"
            ),
            "{e}"
        );
        assert!(e.contains("has 2Gi left of 3Gi (used 1Gi)"), "{e}");
        // Nothing grows: nothing to check.
        assert_eq!(
            check(&claims, &room, &[(true, "database.volume", "1Gi")]),
            Ok(())
        );
        assert_eq!(
            check(
                &claims,
                &Room::default(),
                &[(true, "database.volume", "1Ti")]
            ),
            Ok(())
        );
    }
}
