//! Create, retry and delete: each one short transaction that checks the
//! limits and the store's state, records the store, queues an operation and
//! writes the audit log. Workers do the slow part.

use super::EngineError;
use crate::db::{self, audit, operations, stores};
use crate::store::{self, Actor, EngineKind, Status, Store};
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

/// Serialises creates so the store counts are exact across every process.
const CREATE_LOCK: i64 = 0x5354_4f52_4557_0001;
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

/// Where store URLs point.
#[derive(Debug, Clone)]
pub struct UrlScheme {
    pub suffix: String,
    pub tls: bool,
}

/// Checks a create request without touching the database: the console form
/// uses the same checks as you type.
pub fn validate(req: &CreateRequest) -> Result<(String, String, EngineKind), EngineError> {
    let name = store::validate_name(&req.name).map_err(|e| EngineError::Invalid {
        field: "name",
        message: e.to_string(),
    })?;
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

/// Creates a store and queues its provisioning. With an idempotency key that
/// was seen before (same owner), returns that store and `false`.
pub async fn create(
    pool: &PgPool,
    limits: Limits,
    urls: &UrlScheme,
    actor: &Actor,
    req: &CreateRequest,
) -> Result<(Store, bool), EngineError> {
    let (name, owner, engine) = match validate(req) {
        Ok(v) => v,
        Err(e) => {
            refused(pool, actor, "store.create", None, Some(req.name.trim()), &e).await;
            return Err(e);
        }
    };
    match create_tx(pool, limits, urls, actor, req, &name, &owner, engine).await {
        Ok(v) => Ok(v),
        Err(e) => {
            if !matches!(e, EngineError::Database(_)) {
                refused(pool, actor, "store.create", None, Some(&name), &e).await;
            }
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn create_tx(
    pool: &PgPool,
    limits: Limits,
    urls: &UrlScheme,
    actor: &Actor,
    req: &CreateRequest,
    name: &str,
    owner: &str,
    engine: EngineKind,
) -> Result<(Store, bool), EngineError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CREATE_LOCK)
        .execute(&mut *tx)
        .await?;

    if let Some(key) = &req.idempotency_key
        && let Some(existing) = stores::by_idempotency_key(&mut *tx, owner, key).await?
    {
        tx.commit().await?;
        return Ok((existing, false));
    }
    if stores::name_taken(&mut *tx, owner, name).await? {
        return Err(EngineError::NameTaken {
            name: name.to_string(),
            owner: owner.to_string(),
        });
    }
    let (total, mine) = stores::counts(&mut *tx, owner).await?;
    if total >= i64::from(limits.max_stores) {
        return Err(EngineError::Limit {
            limit: "MAX_STORES",
            max: limits.max_stores,
            detail: format!("{total} stores exist in total; delete one or raise the limit"),
        });
    }
    if mine >= i64::from(limits.max_stores_per_user) {
        return Err(EngineError::Limit {
            limit: "MAX_STORES_PER_USER",
            max: limits.max_stores_per_user,
            detail: format!("{owner} already has {mine} stores; delete one first"),
        });
    }

    let base = store::namespace_for(name);
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
    let url = store::store_url(&namespace, &urls.suffix, urls.tls);
    stores::insert(
        &mut *tx,
        &stores::NewStore {
            id,
            name,
            namespace: &namespace,
            owner,
            engine: engine.as_str(),
            url: &url,
            idempotency_key: req.idempotency_key.as_deref(),
        },
    )
    .await?;
    let detail = format!("namespace {namespace}, owner {owner}, engine {engine}");
    let store = queue_and_commit(
        tx,
        actor,
        id,
        operations::Kind::Provision,
        "store.create",
        name,
        &detail,
    )
    .await?;
    Ok((store, true))
}

async fn refused(
    pool: &PgPool,
    actor: &Actor,
    action: &str,
    id: Option<Uuid>,
    name: Option<&str>,
    e: &EngineError,
) {
    let detail = e.to_string();
    let r = audit::Record {
        actor,
        action,
        store_id: id,
        store_name: name,
        outcome: "refused",
        detail: Some(&detail),
    };
    if let Err(err) = audit::record(pool, &r).await {
        tracing::warn!(error = %err, "could not write the audit entry for a refused request");
    }
}

/// The common end of every accepted request: queue the operation, audit,
/// announce the change, wake the workers, commit, and return the store.
async fn queue_and_commit(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    actor: &Actor,
    id: Uuid,
    kind: operations::Kind,
    action: &str,
    name: &str,
    detail: &str,
) -> Result<Store, EngineError> {
    operations::enqueue(&mut *tx, id, kind, &actor.user, actor.via.as_str()).await?;
    audit::record(
        &mut *tx,
        &audit::Record {
            actor,
            action,
            store_id: Some(id),
            store_name: Some(name),
            outcome: "accepted",
            detail: Some(detail),
        },
    )
    .await?;
    db::notify_store(&mut *tx, id).await?;
    operations::wake_workers(&mut *tx).await?;
    let store = stores::get(&mut *tx, id)
        .await?
        .ok_or_else(|| EngineError::NotFound {
            key: id.to_string(),
        })?;
    tx.commit().await?;
    Ok(store)
}

/// Loads a store for an action, locked, and scoped to `owner` when given
/// (someone else's store is "not found", not "forbidden").
async fn load_for_update(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    sqlx::query("SELECT 1 FROM stores WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    match stores::get(&mut *tx, id).await? {
        Some(s) if s.status != Status::Deleted && owner.is_none_or(|o| o == s.owner) => Ok(s),
        _ => Err(EngineError::NotFound {
            key: id.to_string(),
        }),
    }
}

/// Retries a failed store: same record, back to Provisioning.
pub async fn retry(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    if store.status != Status::Failed {
        let e = EngineError::NotAllowed {
            action: "retry",
            name: store.name.clone(),
            status: store.status,
            hint: "only Failed stores can be retried",
        };
        drop(tx);
        refused(pool, actor, "store.retry", Some(id), Some(&store.name), &e).await;
        return Err(e);
    }
    sqlx::query(
        "UPDATE stores SET status = 'Provisioning', phase = 'queued', error_message = NULL, \
         attempts = attempts + 1, ready_at = NULL, provision_started_at = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = format!("attempt {}", store.attempts + 1);
    let store = queue_and_commit(
        tx,
        actor,
        id,
        operations::Kind::Provision,
        "store.retry",
        &store.name,
        &detail,
    )
    .await?;
    Ok(store)
}

/// Deletes a store: status Deleting, any provision in flight superseded, a
/// delete operation queued.
pub async fn delete(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    owner: Option<&str>,
) -> Result<Store, EngineError> {
    let mut tx = pool.begin().await?;
    let store = load_for_update(&mut tx, id, owner).await?;
    if store.status == Status::Deleting {
        let e = EngineError::NotAllowed {
            action: "delete",
            name: store.name.clone(),
            status: store.status,
            hint: "it is already being deleted",
        };
        drop(tx);
        refused(pool, actor, "store.delete", Some(id), Some(&store.name), &e).await;
        return Err(e);
    }
    let superseded = operations::supersede_active(&mut *tx, id).await?;
    sqlx::query(
        "UPDATE stores SET status = 'Deleting', phase = 'queued', updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = if superseded > 0 {
        format!("was {}; its provisioning was stopped", store.status)
    } else {
        format!("was {}", store.status)
    };
    let store = queue_and_commit(
        tx,
        actor,
        id,
        operations::Kind::Delete,
        "store.delete",
        &store.name,
        &detail,
    )
    .await?;
    Ok(store)
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
    fn validation_names_the_field() {
        let field = |r: &CreateRequest| match validate(r) {
            Err(EngineError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(field(&req("", "a@b.c", "woocommerce")), "name");
        assert_eq!(field(&req("Shop", "", "woocommerce")), "owner");
        assert_eq!(field(&req("Shop", "a@b.c", "medusa")), "engine");
        let mut r = req("Shop", "a@b.c", "woocommerce");
        r.idempotency_key = Some("x".repeat(201));
        assert_eq!(field(&r), "idempotency_key");
        assert!(validate(&req(" Shop ", "A@B.C", "")).is_ok());
    }
}
