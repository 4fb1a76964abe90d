//! Create, retry and delete: each one short transaction that checks the
//! limits and the store's state and hands the change to the ledger, which
//! records the store, queues an operation and writes the audit log. Workers
//! do the slow part.

use super::EngineError;
use super::config::Naming;
use crate::db::audit::Action;
use crate::db::{ledger, stores};
use crate::store::{self, Actor, EngineKind, Kind, Request, Reserved, Status, Store};
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

const MAX_IDEMPOTENCY_KEY: usize = 200;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_stores: u32,
    pub max_stores_per_user: u32,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub name: String,
    pub owner: String,
    pub engine: String,
    pub idempotency_key: Option<String>,
}

/// Checks a create request without touching the database: the console form
/// uses the same checks as you type.
pub fn validate(
    req: &CreateRequest,
    reserved: &Reserved,
) -> Result<(String, String, EngineKind), EngineError> {
    let invalid_name = |e: store::NameError| EngineError::Invalid {
        field: "name",
        message: e.to_string(),
    };
    let name = store::validate_name(&req.name).map_err(invalid_name)?;
    reserved.check(&name).map_err(invalid_name)?;
    let owner = store::validate_owner(&req.owner).map_err(|message| EngineError::Invalid {
        field: "owner",
        message,
    })?;
    let engine =
        EngineKind::parse_available(&req.engine).map_err(|message| EngineError::Invalid {
            field: "engine",
            message,
        })?;
    if let Some(key) = &req.idempotency_key
        && (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || key.chars().any(char::is_control))
    {
        return Err(EngineError::Invalid {
            field: "idempotency_key",
            message: format!(
                "the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
            ),
        });
    }
    Ok((name, owner, engine))
}

/// A key seen before answers only a repeat of its request: the same key
/// for another name (or engine) is the client's mistake, not that store.
pub fn same_request(existing: &Store, name: &str, engine: EngineKind) -> Result<(), EngineError> {
    if existing.name == name && existing.engine == engine {
        return Ok(());
    }
    Err(EngineError::Invalid {
        field: "idempotency_key",
        message: format!(
            "this idempotency key was already used for another request (store \"{}\"); send a new key for a new store",
            existing.name
        ),
    })
}

/// Creates a store and queues its provisioning. With an idempotency key that
/// was seen before (same owner), returns that store and `false`.
pub async fn create(
    pool: &PgPool,
    limits: Limits,
    naming: &Naming,
    actor: &Actor,
    req: &CreateRequest,
) -> Result<(Store, bool), EngineError> {
    create_with(pool, limits, naming, actor, req, None).await
}

/// [`create`], of a store whose data comes from `origin` (a clone).
pub(super) async fn create_with(
    pool: &PgPool,
    limits: Limits,
    naming: &Naming,
    actor: &Actor,
    req: &CreateRequest,
    origin: Option<&Origin<'_>>,
) -> Result<(Store, bool), EngineError> {
    let (name, owner, engine) = match validate(req, &naming.reserved) {
        Ok(v) => v,
        Err(e) => {
            refused(pool, actor, Action::Create, None, Some(req.name.trim()), &e).await;
            return Err(e);
        }
    };
    // Far from max_stores a create holds one of the create slots; when its
    // count says it is near, it starts over holding every slot (exact).
    let mut result = create_tx(
        pool, limits, naming, actor, req, &name, &owner, engine, origin, false,
    )
    .await;
    if let Ok(None) = result {
        result = create_tx(
            pool, limits, naming, actor, req, &name, &owner, engine, origin, true,
        )
        .await;
    }
    let result = result.and_then(|r| {
        r.ok_or_else(|| {
            EngineError::Database(sqlx::Error::Protocol(
                "a create holding every slot asked for every slot again".into(),
            ))
        })
    });
    match result {
        Ok(v) => Ok(v),
        Err(e) => {
            if !matches!(e, EngineError::Database(_)) {
                refused(pool, actor, Action::Create, None, Some(&name), &e).await;
            }
            Err(e)
        }
    }
}

/// What a new store's data comes from when it is not a fresh one: a
/// backup of another store (a clone), and the audit entry's words for it.
pub(super) struct Origin<'a> {
    pub backup: Uuid,
    pub detail: &'a str,
}

#[allow(clippy::too_many_arguments)]
async fn create_tx(
    pool: &PgPool,
    limits: Limits,
    naming: &Naming,
    actor: &Actor,
    req: &CreateRequest,
    name: &str,
    owner: &str,
    engine: EngineKind,
    origin: Option<&Origin<'_>>,
    every_slot: bool,
) -> Result<Option<(Store, bool)>, EngineError> {
    let mut tx = pool.begin().await?;
    // The order every create takes its locks in (see db::stores).
    stores::lock_owner(&mut tx, owner).await?;
    let base = store::namespace_for(name);
    stores::lock_namespace(&mut tx, &base).await?;
    if every_slot {
        stores::lock_every_slot(&mut tx).await?;
    } else if stores::try_lock_free_slot(&mut tx, slot_of(owner))
        .await?
        .is_none()
    {
        // Every slot busy (more creates in flight than slots, across
        // replicas): wait for the owner's.
        stores::lock_slot(&mut tx, slot_of(owner)).await?;
    }

    if let Some(key) = &req.idempotency_key
        && let Some(existing) = stores::by_idempotency_key(&mut *tx, owner, key).await?
    {
        tx.commit().await?;
        same_request(&existing, name, engine)?;
        return Ok(Some((existing, false)));
    }
    if stores::name_taken(&mut *tx, owner, name).await? {
        return Err(EngineError::NameTaken {
            name: name.to_string(),
            owner: owner.to_string(),
        });
    }
    let (total, mine) = stores::counts(&mut *tx, owner).await?;
    // At most CREATE_SLOTS creates are in flight with one slot each, this
    // one included, and each counted after taking its slot: if even all of
    // them commit the total stays under the cap. Nearer, start over with
    // every slot, alone, and count exactly.
    if !every_slot && total + i64::from(stores::CREATE_SLOTS) >= i64::from(limits.max_stores) {
        return Ok(None);
    }
    if let Some(e) = limit_reached(limits, total, Some((owner, mine))) {
        return Err(e);
    }

    let mut namespace = base.clone();
    let mut tries = 0;
    while stores::namespace_taken(&mut *tx, &namespace).await? {
        tries += 1;
        if tries > 20 {
            return Err(EngineError::Invalid {
                field: "name",
                message: format!(
                    "could not find a free namespace for \"{name}\"; choose another name"
                ),
            });
        }
        namespace = store::with_suffix(&base, rand::rng().random());
    }

    let id = Uuid::now_v7();
    let url = store::store_url(&namespace, &naming.suffix, naming.tls);
    let detail = format!("namespace {namespace}, owner {owner}, engine {engine}");
    let new = stores::NewStore {
        id,
        name,
        namespace: &namespace,
        owner,
        engine,
        url: &url,
        idempotency_key: req.idempotency_key.as_deref(),
    };
    let store = match origin {
        Some(o) => {
            let detail = format!("{}; {detail}", o.detail);
            ledger::create_from(tx, &new, actor, &detail, o.backup).await?
        }
        None => ledger::create(tx, &new, actor, &detail).await?,
    };
    Ok(Some((store, true)))
}

/// The create slot an owner's creates try first (and wait for when every
/// slot is busy); a stable hash, so every process picks the same.
pub fn slot_of(owner: &str) -> i32 {
    let h = owner.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::try_from(h % stores::CREATE_SLOTS.unsigned_abs()).unwrap_or(0)
}

/// The store limit one more store would break, if any: the rule and the
/// words the engine refuses with, and the console's form previews as you
/// type. `total`: live stores; `owner`: the new store's owner and how many
/// they have (None when the form's owner is not valid yet: only the total
/// is checked).
pub fn limit_reached(
    limits: Limits,
    total: i64,
    owner: Option<(&str, i64)>,
) -> Option<EngineError> {
    if total >= i64::from(limits.max_stores) {
        return Some(EngineError::Limit {
            limit: "MAX_STORES",
            max: limits.max_stores,
            detail: format!("{total} stores exist in total; delete one or raise the limit"),
        });
    }
    match owner {
        Some((owner, mine)) if mine >= i64::from(limits.max_stores_per_user) => {
            Some(EngineError::Limit {
                limit: "MAX_STORES_PER_USER",
                max: limits.max_stores_per_user,
                detail: format!("{owner} already has {mine} stores; delete one first"),
            })
        }
        _ => None,
    }
}

pub(crate) async fn refused(
    pool: &PgPool,
    actor: &Actor,
    action: Action,
    store: Option<&Store>,
    name: Option<&str>,
    e: &EngineError,
) {
    let detail = e.to_string();
    let target = store.map(|s| (s.id, s.name.as_str()));
    if let Err(err) = ledger::refused(pool, actor, action, target, name, &detail).await {
        tracing::warn!(error = %err, "could not write the audit entry for a refused request");
    }
}

/// Loads a store for an action, locked, and scoped to `owner` when given
/// (someone else's store is "not found", not "forbidden").
pub(super) async fn load_for_update(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    match stores::get_for_update(tx, id).await? {
        Some(s) if s.status != Status::Deleted && store::visible_to(owner, &s.owner) => Ok(s),
        _ => Err(EngineError::NotFound {
            key: id.to_string(),
        }),
    }
}

/// Retries a store whose last operation failed: a failed provision is
/// provisioned again, a failed delete deleted again (the lifecycle decides).
pub async fn retry(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    let result = match store.may(Request::Retry) {
        Ok(t) if t.operation == Some(Kind::Delete) => ledger::retry_delete(tx, &store, actor).await,
        Ok(_) => ledger::retry_provision(tx, &store, actor).await,
        Err(refusal) => {
            drop(tx);
            return Err(refuse(pool, actor, Action::Retry, &store, refusal).await);
        }
    };
    Ok(result?)
}

/// Deletes a store: status Deleting, any operation in flight superseded, a
/// delete operation queued. With backups configured the delete takes a
/// final backup first, kept for an undelete.
pub async fn delete(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    delete_with(pool, actor, id, owner, false).await
}

/// [`delete`], with `no_backup`: the explicit choice of no final backup.
pub async fn delete_with(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
    no_backup: bool,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    if let Err(refusal) = store.may(Request::Delete) {
        drop(tx);
        return Err(refuse(pool, actor, Action::Delete, &store, refusal).await);
    }
    Ok(ledger::delete(tx, &store, actor, no_backup).await?)
}

/// Queues a backup of a Ready store.
pub async fn backup(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    queue_backup(pool, actor, id, owner, crate::backup::Reason::Manual).await
}

/// Queues a backup taken for `reason` (the schedule's, or someone's).
pub(crate) async fn queue_backup(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
    reason: crate::backup::Reason,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    if let Err(refusal) = store.may(Request::Backup) {
        drop(tx);
        return Err(refuse(pool, actor, Action::Backup, &store, refusal).await);
    }
    busy_unless_idle(&mut tx, &store).await?;
    Ok(ledger::backup(tx, &store, actor, reason).await?)
}

/// Queues a restore of one of the store's complete backups into it, in
/// place. `backup`: its id or an id prefix (4+ characters); None: the
/// newest complete one.
pub async fn restore(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
    backup: Option<&str>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    if let Err(refusal) = store.may(Request::Restore) {
        drop(tx);
        return Err(refuse(pool, actor, Action::Restore, &store, refusal).await);
    }
    busy_unless_idle(&mut tx, &store).await?;
    let chosen = match pick_backup(&mut tx, &store, backup).await {
        Ok(b) => b,
        Err(e) => {
            drop(tx);
            refused(pool, actor, Action::Restore, Some(&store), None, &e).await;
            return Err(e);
        }
    };
    Ok(ledger::restore(tx, &store, actor, chosen.id).await?)
}

/// Brings a deleted store back from its final backup, under its old name
/// and address if no live store took them meanwhile. `key`: the deleted
/// store's id, or its name (the newest deleted store of that name, the
/// owner's own when scoped).
pub async fn undelete(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = match stores::get_for_update(&mut tx, id).await? {
        Some(s) if store::visible_to(owner, &s.owner) => s,
        _ => {
            return Err(EngineError::NotFound {
                key: id.to_string(),
            });
        }
    };
    if let Err(refusal) = store.may(Request::Undelete) {
        drop(tx);
        return Err(refuse(pool, actor, Action::Undelete, &store, refusal).await);
    }
    let backup = match crate::db::backups::undeletable(&mut *tx, store.id).await? {
        Some(b) => b,
        None => {
            drop(tx);
            let e = EngineError::Invalid {
                field: "store",
                message: format!(
                    "store \"{}\" has no final backup to come back from (it was deleted without one, or the backup expired and was purged); create a new store instead",
                    store.name
                ),
            };
            refused(pool, actor, Action::Undelete, Some(&store), None, &e).await;
            return Err(e);
        }
    };
    stores::lock_owner(&mut tx, &store.owner).await?;
    stores::lock_namespace(&mut tx, &store.namespace).await?;
    if stores::name_taken(&mut *tx, &store.owner, &store.name).await? {
        drop(tx);
        let e = EngineError::NameTaken {
            name: store.name.clone(),
            owner: store.owner.clone(),
        };
        refused(pool, actor, Action::Undelete, Some(&store), None, &e).await;
        return Err(e);
    }
    if stores::namespace_taken(&mut *tx, &store.namespace).await? {
        drop(tx);
        let e = EngineError::Invalid {
            field: "store",
            message: format!(
                "the address of store \"{}\" ({}) is taken by another store now; delete that one first, or restore this backup into a new store",
                store.name, store.namespace
            ),
        };
        refused(pool, actor, Action::Undelete, Some(&store), None, &e).await;
        return Err(e);
    }
    Ok(ledger::undelete(tx, &store, actor, backup.id).await?)
}

/// One operation at a time per store: a backup or restore asked for while
/// another operation runs is refused, not queued behind it.
async fn busy_unless_idle(tx: &mut sqlx::PgConnection, store: &Store) -> Result<(), EngineError> {
    if let Some(op) = crate::db::operations::active_for(&mut *tx, store.id).await? {
        return Err(EngineError::Busy {
            name: store.name.clone(),
            detail: format!("its {} is {}; try again when it ends", op.kind, op.state),
        });
    }
    Ok(())
}

/// The backup a restore uses: the newest complete one, or the one named.
pub(super) async fn pick_backup(
    tx: &mut sqlx::PgConnection,
    store: &Store,
    key: Option<&str>,
) -> Result<crate::db::backups::Backup, EngineError> {
    use crate::db::backups::State;
    let key = key.map(str::trim).filter(|k| !k.is_empty());
    let matching: Vec<_> = match key {
        None => crate::db::backups::newest_complete(&mut *tx, store.id)
            .await?
            .into_iter()
            .collect(),
        Some(k) if k.len() < 4 => {
            return Err(EngineError::Invalid {
                field: "backup",
                message: "give at least 4 characters of the backup's id (see `store backups`)"
                    .into(),
            });
        }
        Some(k) => crate::db::backups::for_store(&mut *tx, store.id, 1000)
            .await?
            .into_iter()
            .filter(|b| b.id.to_string().starts_with(&k.to_ascii_lowercase()))
            .collect(),
    };
    let what = key
        .map(|k| format!("backup {k}"))
        .unwrap_or("complete backup".into());
    match matching.as_slice() {
        [] => Err(EngineError::Invalid {
            field: "backup",
            message: format!(
                "store \"{}\" has no {what}; list its backups (`store backups`, or GET /api/stores/{{id}}/backups)",
                store.name
            ),
        }),
        [one] if one.state != State::Complete => Err(EngineError::Invalid {
            field: "backup",
            message: format!(
                "backup {} of store \"{}\" is {}, not complete; only complete backups can be restored",
                one.id,
                store.name,
                one.state.as_str()
            ),
        }),
        [one] => Ok(one.clone()),
        _ => Err(EngineError::Invalid {
            field: "backup",
            message: format!("{what} matches several backups; give more of its id"),
        }),
    }
}

/// The lifecycle's refusal, audited; the error to answer with.
async fn refuse(
    pool: &PgPool,
    actor: &Actor,
    action: Action,
    store: &Store,
    refusal: store::Refusal,
) -> EngineError {
    let e = EngineError::refused(store, refusal);
    refused(pool, actor, action, Some(store), None, &e).await;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, owner: &str, engine: &str) -> CreateRequest {
        CreateRequest {
            name: name.into(),
            owner: owner.into(),
            engine: engine.into(),
            idempotency_key: None,
        }
    }

    #[test]
    fn the_store_limits_are_checked_total_first_with_the_owner_named() {
        let limits = Limits {
            max_stores: 3,
            max_stores_per_user: 1,
        };
        assert!(limit_reached(limits, 2, Some(("ann@example.com", 0))).is_none());
        let e = limit_reached(limits, 3, Some(("ann@example.com", 1))).unwrap();
        assert_eq!(
            e.to_string(),
            "limit reached: MAX_STORES is 3; 3 stores exist in total; delete one or raise the limit"
        );
        let e = limit_reached(limits, 2, Some(("ann@example.com", 1))).unwrap();
        assert_eq!(
            e.to_string(),
            "limit reached: MAX_STORES_PER_USER is 1; ann@example.com already has 1 stores; delete one first"
        );
        assert!(
            limit_reached(limits, 2, None).is_none(),
            "no owner yet: the total only"
        );
    }

    #[test]
    fn a_store_is_visible_unscoped_or_to_its_owner_only() {
        assert!(store::visible_to(None, "ann@example.com"));
        assert!(store::visible_to(
            Some("ann@example.com"),
            "ann@example.com"
        ));
        assert!(!store::visible_to(
            Some("bob@example.com"),
            "ann@example.com"
        ));
    }

    #[test]
    fn validation_names_the_field() {
        let field = |r: &CreateRequest| match validate(r, &Reserved::default()) {
            Err(EngineError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(field(&req("", "a@b.c", "medusa")), "name");
        assert_eq!(field(&req("Shop", "", "medusa")), "owner");
        assert_eq!(field(&req("Shop", "a@b.c", "shopify")), "engine");
        assert!(validate(&req("Shop", "a@b.c", "medusa"), &Reserved::default()).is_ok());
        let mut r = req("Shop", "a@b.c", "medusa");
        r.idempotency_key = Some("x".repeat(201));
        assert_eq!(field(&r), "idempotency_key");
        assert!(validate(&req(" Shop ", "A@B.C", ""), &Reserved::default()).is_ok());
        let reserved = Reserved::new("store-weaver-system", None, ".localhost", &["admin".into()]);
        let e = validate(&req("Admin", "a@b.c", ""), &reserved).unwrap_err();
        assert!(
            matches!(e, EngineError::Invalid { field: "name", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("reserved"), "{e}");
    }
}
