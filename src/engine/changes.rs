//! Asking for a change of a running store (upgrade, new settings,
//! rollback) and reading what it has run (history, drift). A change is
//! checked completely before anything is queued: the settings by their own
//! rules and then by the chart's schema (`helm template`), the store's
//! state under its row lock. Workers do the change (`upgrade`).

use super::EngineError;
use super::config::EngineConfig;
use super::provision::chart_values;
use super::requests::{load_for_update, refused};
use crate::cluster::namespace::{self as ns_ops, NamespaceError};
use crate::cluster::{rollout, room};
use crate::db::audit::Action;
use crate::db::operations::{self, Kind, Params};
use crate::db::{ledger, revisions};
use crate::helm::{self, Revision};
use crate::store::{Actor, EngineKind, Request, Status, Store, StoreSettings};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// An upgrade: `key=value` settings on top of the store's, and optionally
/// the chart version it must end on (a check: this binary ships one chart).
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    pub set: Vec<String>,
    pub to: Option<String>,
}

/// What an upgrade of `store` to `shipped` with `req` would do (pure):
/// the new settings, or why it is refused.
pub fn plan_upgrade(
    store: &Store,
    req: &UpgradeRequest,
    shipped: &str,
) -> Result<StoreSettings, EngineError> {
    let invalid = |message: String| EngineError::Invalid {
        field: "settings",
        message,
    };
    if let Some(to) = &req.to
        && to != shipped
    {
        return Err(EngineError::Invalid {
            field: "to",
            message: format!(
                "this Store Weaver ships store chart {shipped}, not {to}; run the Store Weaver release that ships {to}, or leave --to out"
            ),
        });
    }
    let target = store
        .settings
        .with_assignments(store.engine.spec(), &req.set)
        .map_err(|e| invalid(e.to_string()))?;
    store
        .settings
        .check_change(store.engine.spec(), &target)
        .map_err(|e| invalid(e.to_string()))?;
    if target == store.settings && store.chart_version.as_deref() == Some(shipped) {
        return Err(invalid(format!(
            "nothing to change: the store already runs chart {shipped} with {}; give settings with --set key=value",
            store.settings
        )));
    }
    Ok(target)
}

fn check_changeable(store: &Store, request: Request) -> Result<(), EngineError> {
    store
        .may(request)
        .map(|_| ())
        .map_err(|refusal| EngineError::refused(store, refusal))
}

async fn check_idle(conn: &mut sqlx::PgConnection, store: &Store) -> Result<(), EngineError> {
    if let Some(op) = operations::active_for(&mut *conn, store.id).await? {
        return Err(EngineError::Busy {
            name: store.name.clone(),
            detail: format!(
                "its {} (operation {}) is {}; wait until it ends",
                op.kind, op.id, op.state
            ),
        });
    }
    Ok(())
}

/// Checks settings against the chart's schema by rendering it.
pub async fn check_with_chart(
    cfg: &EngineConfig,
    store: &Store,
    settings: &StoreSettings,
) -> Result<(), EngineError> {
    let values = chart_values(&cfg.naming, store, settings);
    match cfg
        .helm()
        .template(
            &cfg.chart(store.engine).dir,
            &cfg.chart(store.engine).values_files,
            &values,
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(helm::HelmError::Failed { stderr, .. }) => Err(EngineError::Invalid {
            field: "settings",
            message: format!("the store chart refuses these settings: {stderr}"),
        }),
        Err(e) => Err(EngineError::Unavailable(format!(
            "cannot check the settings against the chart: {e}"
        ))),
    }
}

/// Checks the volume sizes a change grows against the store's claims (they
/// never shrink) and its namespace's LimitRanges and ResourceQuotas, so a
/// change the cluster would refuse is refused before it is queued. Reads
/// the cluster only when a size changes, and only inside a namespace that
/// is the store's. Without a cluster connection (`None`) the worker checks
/// the same before it touches anything.
pub async fn check_volume_room(
    client: Option<&kube::Client>,
    store: &Store,
    target: &StoreSettings,
) -> Result<(), EngineError> {
    let grows: Vec<(bool, &str, String)> = target
        .volumes(store.engine.spec())
        .into_iter()
        .filter(|(key, _, new)| store.settings.get(key) != Some(new.as_str()))
        .map(|(key, statefulset, new)| (statefulset, key, new))
        .collect();
    let Some(client) = client.filter(|_| !grows.is_empty()) else {
        return Ok(());
    };
    let unavailable = |e: String| {
        EngineError::Unavailable(format!(
            "cannot check the volume sizes against the store's namespace: {e}"
        ))
    };
    let owned = match ns_ops::verify(client, &store.namespace_ref()).await {
        Ok(Some(o)) => o,
        // Nothing to measure against: the worker says what is wrong.
        Ok(None) => return Ok(()),
        Err(e @ NamespaceError::Foreign { .. }) => {
            return Err(EngineError::NotOwned {
                detail: e.to_string(),
            });
        }
        Err(e) => return Err(unavailable(e.to_string())),
    };
    let (claims, room) = tokio::try_join!(
        rollout::claims(client, &owned, store.id),
        room::read(client, &owned)
    )
    .map_err(|e| unavailable(e.to_string()))?;
    let invalid = |message: String| EngineError::Invalid {
        field: "settings",
        message,
    };
    for (db, _, size) in &grows {
        rollout::check_growth(&claims, *db, size).map_err(invalid)?;
    }
    let grows: Vec<(bool, &str, &str)> = grows
        .iter()
        .map(|(db, key, size)| (*db, *key, size.as_str()))
        .collect();
    room::check(&claims, &room, &grows).map_err(invalid)
}

fn shipped(cfg: &EngineConfig, engine: EngineKind) -> Result<String, EngineError> {
    helm::chart_version(&cfg.chart(engine).dir).map_err(EngineError::Unavailable)
}

/// Queues an upgrade of a Ready store. Admins and operators only: the faces
/// check who may ask.
pub async fn upgrade(
    pool: &PgPool,
    cfg: &EngineConfig,
    cluster: Option<&kube::Client>,
    actor: &Actor,
    id: Uuid,
    req: &UpgradeRequest,
) -> Result<Store, EngineError> {
    let store = match crate::db::stores::get(pool, id).await? {
        Some(s) if s.status != Status::Deleted => s,
        _ => {
            return Err(EngineError::NotFound {
                key: id.to_string(),
            });
        }
    };
    let shipped = shipped(cfg, store.engine)?;
    let checked = async {
        check_changeable(&store, Request::Upgrade)?;
        let target = plan_upgrade(&store, req, &shipped)?;
        check_with_chart(cfg, &store, &target).await?;
        check_volume_room(cluster, &store, &target).await?;
        Ok::<_, EngineError>(target)
    }
    .await;
    let target = match checked {
        Ok(t) => t,
        Err(e) => {
            refused(pool, actor, Action::Upgrade, Some(&store), None, &e).await;
            return Err(e);
        }
    };
    let result = queue_upgrade(pool, actor, id, &target, &shipped, None).await;
    if let Err(e) = &result
        && !matches!(e, EngineError::Database(_))
    {
        refused(pool, actor, Action::Upgrade, Some(&store), None, e).await;
    }
    result
}

/// The queuing half of an upgrade, under the store's row lock (its state
/// may have changed since it was checked).
pub(super) async fn queue_upgrade(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    target: &StoreSettings,
    shipped: &str,
    fleet_run: Option<i64>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, None).await?;
    check_changeable(&store, Request::Upgrade)?;
    check_idle(&mut tx, &store).await?;
    let params = Params {
        settings: target.clone(),
        chart_version: Some(shipped.to_string()),
        revision: None,
        fleet_run,
        ..Params::default()
    };
    let detail = upgrade_detail(&store, target, shipped);
    Ok(ledger::change(tx, &store, actor, Kind::Upgrade, &params, &detail).await?)
}

/// "from revision 3, chart 0.1.0 → 0.2.0; replicas default → 0".
pub fn upgrade_detail(store: &Store, target: &StoreSettings, shipped: &str) -> String {
    let mut parts = vec![format!(
        "from revision {}",
        store
            .helm_revision
            .map_or("unknown".to_string(), |r| r.to_string())
    )];
    parts.push(format!(
        "chart {} → {shipped}",
        store.chart_version.as_deref().unwrap_or("unknown")
    ));
    parts.extend(store.settings.diff(target));
    parts.join("; ")
}

/// Queues a rollback of a Ready store to `revision`, or to the revision the
/// platform made before the current one.
pub async fn rollback(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    revision: Option<u32>,
) -> Result<Store, EngineError> {
    let store = match crate::db::stores::get(pool, id).await? {
        Some(s) if s.status != Status::Deleted => s,
        _ => {
            return Err(EngineError::NotFound {
                key: id.to_string(),
            });
        }
    };
    let checked = plan_rollback(pool, &store, revision).await;
    let (target, settings) = match checked {
        Ok(t) => t,
        Err(e) => {
            refused(pool, actor, Action::Rollback, Some(&store), None, &e).await;
            return Err(e);
        }
    };
    let queued = async {
        let mut tx = pool.begin().await?;
        let store = load_for_update(&mut tx, id, None).await?;
        check_changeable(&store, Request::Rollback)?;
        check_idle(&mut tx, &store).await?;
        let params = Params {
            settings: settings.clone(),
            chart_version: None,
            revision: Some(target),
            fleet_run: None,
            ..Params::default()
        };
        let detail = format!(
            "from revision {} to the content of revision {target}",
            store
                .helm_revision
                .map_or("unknown".to_string(), |r| r.to_string())
        );
        Ok::<_, EngineError>(
            ledger::change(tx, &store, actor, Kind::Rollback, &params, &detail).await?,
        )
    }
    .await;
    if let Err(e) = &queued
        && !matches!(e, EngineError::Database(_))
    {
        refused(pool, actor, Action::Rollback, Some(&store), None, e).await;
    }
    queued
}

/// The revision a rollback goes to and the settings it brings back.
async fn plan_rollback(
    pool: &PgPool,
    store: &Store,
    revision: Option<u32>,
) -> Result<(u32, StoreSettings), EngineError> {
    check_changeable(store, Request::Rollback)?;
    let invalid = |message: String| EngineError::Invalid {
        field: "revision",
        message,
    };
    let current = store.helm_revision.unwrap_or(0);
    let made = revisions::for_store(pool, store.id).await?;
    let target = match revision {
        Some(r) => r,
        None => made
            .iter()
            .filter(|r| r.revision < current)
            .max_by_key(|r| r.revision)
            .and_then(|r| u32::try_from(r.revision).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "the store has no earlier revision made by Store Weaver than {current}; name one with --revision (see `store history`)"
                ))
            })?,
    };
    if i64::from(target) == i64::from(current) {
        return Err(invalid(format!("the store already runs revision {target}")));
    }
    // Only revisions the platform made: their settings are known, and the
    // cluster is not read before the worker has checked the namespace is
    // the store's.
    let Some(rev) = made
        .iter()
        .find(|r| i64::from(r.revision) == i64::from(target))
    else {
        let known: Vec<String> = made.iter().map(|r| r.revision.to_string()).collect();
        return Err(invalid(format!(
            "revision {target} is not in the release's history as Store Weaver made it (it has: {}); see `store history`",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    };
    let settings = rev.settings.clone();
    store
        .settings
        .check_change(store.engine.spec(), &settings)
        .map_err(|e| {
            invalid(format!(
                "revision {target} would shrink a volume ({e}); volumes only grow"
            ))
        })?;
    Ok((target, settings))
}

/// One revision of a store's release, as Helm has it and as the platform
/// recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub revision: u32,
    pub status: String,
    pub chart_version: String,
    pub description: String,
    pub updated: String,
    /// What the platform recorded for it; None: made by someone else.
    #[schema(required)]
    pub settings: Option<StoreSettings>,
    /// The revision the store's record says it runs.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct History {
    #[schema(required)]
    pub chart_version: Option<String>,
    #[schema(required)]
    pub helm_revision: Option<i32>,
    pub settings: StoreSettings,
    /// The chart this Store Weaver would upgrade to.
    #[schema(required)]
    pub shipped_chart: Option<String>,
    /// Newest first.
    pub revisions: Vec<HistoryEntry>,
    /// Why the release is not what the record says (someone ran helm by
    /// hand), or None.
    #[schema(required)]
    pub drift: Option<String>,
}

/// Whether the release drifted from the record (pure). A change under way
/// is not drift: its revisions are the platform's own.
pub fn drift(
    recorded: Option<i32>,
    history: &[Revision],
    made_by_platform: &[i32],
    busy: bool,
) -> Option<String> {
    let latest = history.iter().max_by_key(|r| r.revision)?;
    if busy {
        return None;
    }
    let rev = i64::from(latest.revision);
    if !made_by_platform.iter().any(|r| i64::from(*r) == rev) {
        return Some(format!(
            "revision {} ({}, {}) was not made by Store Weaver: someone changed the release with helm directly; upgrade or roll back the store to put it back under the platform",
            latest.revision,
            latest.status,
            if latest.description.is_empty() {
                "no description"
            } else {
                &latest.description
            }
        ));
    }
    if let Some(r) = recorded
        && i64::from(r) != rev
    {
        return Some(format!(
            "the release is at revision {}, the record says {r}",
            latest.revision
        ));
    }
    if latest.status != "deployed" {
        return Some(format!(
            "the release's latest revision {} is {}",
            latest.revision, latest.status
        ));
    }
    None
}

/// The store's release history and whether it drifted. Looks at the
/// cluster only inside the store's own namespace.
pub async fn history(
    pool: &PgPool,
    cfg: &EngineConfig,
    client: &kube::Client,
    store: &Store,
) -> Result<History, EngineError> {
    let owned = match ns_ops::verify(client, &store.namespace_ref()).await {
        Ok(o) => o,
        Err(e @ NamespaceError::Foreign { .. }) => {
            return Err(EngineError::NotOwned {
                detail: e.to_string(),
            });
        }
        Err(e) => return Err(EngineError::Unavailable(e.to_string())),
    };
    let made = revisions::for_store(pool, store.id).await?;
    let busy = operations::active_for(pool, store.id).await?.is_some();
    let helm_history = match &owned {
        Some(o) => cfg
            .helm()
            .history(&store.namespace, o.name())
            .await
            .map_err(|e| {
                EngineError::Unavailable(format!("cannot read the release history: {e}"))
            })?,
        None => Vec::new(),
    };
    let made_revs: Vec<i32> = made.iter().map(|r| r.revision).collect();
    let drift = drift(store.helm_revision, &helm_history, &made_revs, busy);
    let mut entries: Vec<HistoryEntry> = helm_history
        .iter()
        .map(|r| HistoryEntry {
            revision: r.revision,
            status: r.status.clone(),
            chart_version: r.chart_version().to_string(),
            description: r.description.clone(),
            updated: r.updated.clone(),
            settings: made
                .iter()
                .find(|m| i64::from(m.revision) == i64::from(r.revision))
                .map(|m| m.settings.clone()),
            current: store
                .helm_revision
                .is_some_and(|c| i64::from(c) == i64::from(r.revision)),
        })
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.revision));
    Ok(History {
        chart_version: store.chart_version.clone(),
        helm_revision: store.helm_revision,
        settings: store.settings.clone(),
        shipped_chart: helm::chart_version(&cfg.chart(store.engine).dir).ok(),
        revisions: entries,
        drift,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(revision: u32, status: &str, description: &str) -> Revision {
        Revision {
            revision,
            status: status.into(),
            chart: "shop-0.1.0".into(),
            description: description.into(),
            updated: String::new(),
        }
    }

    #[test]
    fn a_revision_nobody_recorded_is_drift() {
        let h = [
            rev(1, "superseded", "Install complete"),
            rev(2, "deployed", "Upgrade complete"),
        ];
        let d = drift(Some(1), &h, &[1], false).expect("drift");
        assert!(d.contains("revision 2"), "{d}");
        assert!(d.contains("not made by Store Weaver"), "{d}");
        assert_eq!(drift(Some(2), &h, &[1, 2], false), None);
        // While a change of ours runs, its fresh revision is not drift.
        assert_eq!(drift(Some(1), &h, &[1], true), None);
        let failed = [rev(1, "superseded", ""), rev(2, "failed", "")];
        assert!(drift(Some(2), &failed, &[1, 2], false).is_some());
        assert_eq!(drift(None, &[], &[], false), None);
    }

    fn store(settings: StoreSettings, chart: Option<&str>) -> Store {
        Store {
            chart_version: chart.map(String::from),
            helm_revision: Some(1),
            settings,
            ..Store::sample()
        }
    }

    #[test]
    fn an_upgrade_plan_checks_the_chart_the_settings_and_that_something_changes() {
        let s = store(StoreSettings::default(), Some("0.1.0"));
        let req = |set: &[&str], to: Option<&str>| UpgradeRequest {
            set: set.iter().map(|x| x.to_string()).collect(),
            to: to.map(String::from),
        };
        let key = s.engine.spec().keys[0].name;
        let t = plan_upgrade(&s, &req(&[&format!("{key}=t2")], None), "0.1.0").unwrap();
        assert_eq!(t.get(key), Some("t2"));
        let e = plan_upgrade(&s, &req(&[], Some("9.9.9")), "0.1.0").unwrap_err();
        assert!(
            e.to_string().contains("ships store chart 0.1.0, not 9.9.9"),
            "{e}"
        );
        let e = plan_upgrade(&s, &req(&[], None), "0.1.0").unwrap_err();
        assert!(e.to_string().contains("nothing to change"), "{e}");
        // A new chart alone is an upgrade.
        assert!(plan_upgrade(&s, &req(&[], None), "0.2.0").is_ok());
        let grown = store(
            StoreSettings::default()
                .with_assignments(s.engine.spec(), &["database.volume=5Gi".into()])
                .unwrap(),
            Some("0.1.0"),
        );
        let e = plan_upgrade(&grown, &req(&["database.volume=1Gi"], None), "0.1.0").unwrap_err();
        assert!(e.to_string().contains("cannot shrink"), "{e}");
    }
}
