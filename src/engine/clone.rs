//! Clones: a new store (its own name, namespace, host and credentials)
//! whose data comes from a complete backup of another store of the same
//! engine, the staging copy an operator makes before a risky upgrade.
//!
//! The request checks the backup (complete, the source's, sealed with the
//! configured key) and creates the store through the same transaction as
//! any create, with the backup in its provision's params. The provision,
//! once the chart runs, writes the backup's database and files into it (not
//! its credentials: the clone keeps its own) and makes them the clone's
//! own with the engine's commands (`engines::CloneRewrite`: its URL, its
//! admin's sign-in). The source is only read, from the bucket.

use super::provision::{Context, StepError, step};
use super::requests::{self, CreateRequest, Limits, Origin};
use super::{EngineConfig, EngineError};
use crate::backup::Manifest;
use crate::cluster::data::{self, DataError, Target};
use crate::cluster::namespace::{self as ns_ops, OwnedNamespace};
use crate::db::audit::Action;
use crate::db::backups::{self, State};
use crate::db::ledger::Lease;
use crate::db::stores;
use crate::engines::DataPart;
use crate::store::{self, Actor, Store};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// The longest a clone's rewrite command may take (a search-replace over
/// a large shop's tables).
const REWRITE_TIMEOUT: Duration = Duration::from_secs(1800);

/// A clone asked for.
#[derive(Debug, Clone)]
pub struct CloneRequest {
    /// The store whose backup the clone is made from (it may be deleted:
    /// its final backup makes a clone while it is kept).
    pub source: Uuid,
    /// The clone's name.
    pub name: String,
    /// The backup's id or 4+ characters of it; None: the source's newest
    /// complete backup.
    pub backup: Option<String>,
    /// Who the clone belongs to.
    pub owner: String,
    /// The asker's scope: Some(user) sees only that user's stores.
    pub scope: Option<String>,
    /// The same key again answers the clone it made (a drill's driver
    /// repeating a step it may have half done).
    pub idempotency_key: Option<String>,
}

/// Creates a clone of `req.source` and queues its provision from the
/// backup. Refused before anything is created when the backup is not a
/// complete backup of the source sealed with the configured key, or the
/// name is taken (every refusal audited as a refused create).
pub async fn clone(
    pool: &PgPool,
    cfg: &EngineConfig,
    limits: Limits,
    actor: &Actor,
    req: &CloneRequest,
) -> Result<Store, EngineError> {
    let name = req.name.trim();
    let source = match stores::get(pool, req.source).await? {
        Some(s) if store::visible_to(req.scope.as_deref(), &s.owner) => s,
        _ => {
            return Err(EngineError::NotFound {
                key: req.source.to_string(),
            });
        }
    };
    let chosen = match choose(pool, cfg, &source, req).await {
        Ok(b) => b,
        Err(e) => {
            if !matches!(e, EngineError::Database(_)) {
                requests::refused(pool, actor, Action::Create, None, Some(name), &e).await;
            }
            return Err(e);
        }
    };
    let create = CreateRequest {
        name: name.to_string(),
        owner: req.owner.clone(),
        engine: source.engine.as_str().to_string(),
        idempotency_key: req.idempotency_key.clone(),
    };
    let detail = format!(
        "clone of store \"{}\" ({}) from backup {} of {}",
        source.name,
        source.id,
        chosen.id,
        chosen
            .finished_at
            .unwrap_or(chosen.started_at)
            .format("%Y-%m-%d %H:%M UTC")
    );
    let origin = Origin {
        backup: chosen.id,
        detail: &detail,
    };
    let (store, _) =
        requests::create_with(pool, limits, &cfg.naming, actor, &create, Some(&origin)).await?;
    Ok(store)
}

/// The backup a clone is made from, checked: the one named (or the newest
/// complete one) of the source, complete, of its engine, sealed with the
/// key this Store Weaver has.
async fn choose(
    pool: &PgPool,
    cfg: &EngineConfig,
    source: &Store,
    req: &CloneRequest,
) -> Result<backups::Backup, EngineError> {
    let invalid = |message: String| EngineError::Invalid {
        field: "backup",
        message,
    };
    let key = cfg.backup.as_ref().map(|b| b.key.id()).ok_or_else(|| {
        invalid(
            "backups are not configured: a clone is made from a backup; set backup_bucket and backup_key (see docs/backups.md)".into(),
        )
    })?;
    // A whole id of another store's backup: said so, rather than "no such
    // backup" (when the asker may see that store).
    if let Some(id) = req
        .backup
        .as_deref()
        .and_then(|k| Uuid::parse_str(k.trim()).ok())
        && let Some(b) = backups::get(pool, id).await?
        && b.store_id != source.id
    {
        let other = stores::get(pool, b.store_id)
            .await?
            .filter(|s| store::visible_to(req.scope.as_deref(), &s.owner));
        return Err(invalid(match other {
            Some(o) => format!(
                "backup {id} is a backup of store \"{}\" ({} engine), not of \"{}\"; a clone is made from one of its source's backups: clone \"{}\" instead{}",
                o.name,
                b.engine,
                source.name,
                o.name,
                if b.engine == source.engine.as_str() {
                    String::new()
                } else {
                    format!(
                        " (a {} backup cannot make a {} store)",
                        b.engine, source.engine
                    )
                }
            ),
            None => format!(
                "store \"{}\" has no backup {id}; list its backups (`store backups`)",
                source.name
            ),
        }));
    }
    let mut conn = pool.acquire().await?;
    let chosen = requests::pick_backup(&mut conn, source, req.backup.as_deref()).await?;
    drop(conn);
    check_backup(&chosen, source, &key).map_err(invalid)?;
    Ok(chosen)
}

/// Whether `b` can make a clone of `source` with the key `key_id`: the
/// refusal's words when not.
fn check_backup(b: &backups::Backup, source: &Store, key_id: &str) -> Result<(), String> {
    if b.state != State::Complete {
        return Err(format!(
            "backup {} is {}, not complete; a clone is made from a complete backup",
            b.id,
            b.state.as_str()
        ));
    }
    if b.engine != source.engine.as_str() {
        return Err(format!(
            "backup {} is of a {} store and \"{}\" is a {} store; a clone has its source's engine",
            b.id, b.engine, source.name, source.engine
        ));
    }
    let m = b
        .manifest
        .as_ref()
        .ok_or_else(|| format!("backup {} has no manifest; choose another backup", b.id))?;
    if m.key_id != key_id {
        return Err(format!(
            "backup {} was sealed with backup key {} and this Store Weaver has key {key_id}; set backup_key to the key it was sealed with, or choose a backup sealed with this one",
            b.id, m.key_id
        ));
    }
    Ok(())
}

/// What a clone's rewrite commands are given: the source's and the
/// clone's URL, host and admin e-mail, as `export` lines. Refused (never
/// quoted around) when a value holds anything but the characters URLs,
/// hosts and e-mail addresses are made of here: the commands put them in
/// SQL between quotes.
fn rewrite_env(vars: &[(&str, &str)]) -> Result<String, String> {
    let safe = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._:/+-".contains(c))
    };
    let mut out = String::new();
    for (k, v) in vars {
        if !safe(v) {
            return Err(format!(
                "{k} {v:?} holds characters the clone's rewrite does not take (letters, digits and @._:/+- only); clone into a store whose owner's address has none"
            ));
        }
        out.push_str(&format!("export {k}='{v}'; "));
    }
    Ok(out)
}

impl Context {
    /// The backup a store being provisioned comes from, checked whole,
    /// with the credentials to create its Secret with: the backup's own for
    /// an undelete (the store's own backup), none for a clone (another
    /// store's: the clone keeps the credentials it is given).
    pub(super) async fn backup_for_new_store(
        &self,
        store: &Store,
        backup: Uuid,
    ) -> Result<(Manifest, Option<BTreeMap<String, String>>), super::backup::Restore> {
        use super::backup::Restore;
        let row = backups::get(&self.pool, backup)
            .await
            .map_err(|e| Restore::Refused(format!("reading backup {backup}: {e}")))?
            .ok_or_else(|| Restore::Refused(format!("backup {backup} does not exist")))?;
        if row.store_id == store.id {
            let (m, creds) = self.backed_up_credentials(store, backup).await?;
            return Ok((m, Some(creds)));
        }
        let (m, _, _) = self.checked_backup(store, Some(backup)).await?;
        Ok((m, None))
    }

    /// A clone just installed: the backup's database written in and made
    /// the clone's own before its shop resumes, then its files, then what
    /// the engine rewrites in the running shop.
    pub(super) async fn restore_clone(
        &self,
        lease: &Lease,
        store_id: Uuid,
        m: &Manifest,
        deadline: Instant,
    ) -> Result<(), StepError> {
        let failed = |e: sqlx::Error| StepError::Failed(format!("reading the stores: {e}"));
        // The record as it is now: the provision may have moved it to
        // another namespace (and URL).
        let store = stores::get(&self.pool, store_id)
            .await
            .map_err(failed)?
            .ok_or_else(|| StepError::Failed("the clone's record is gone".into()))?;
        let source = stores::get(&self.pool, m.store_id).await.map_err(failed)?;
        let naming = &self.cfg.naming;
        let old_url = source.as_ref().map(|s| s.url.clone()).unwrap_or_else(|| {
            let scheme = if naming.tls { "https" } else { "http" };
            format!("{scheme}://{}", m.host)
        });
        let old_admin = source
            .as_ref()
            .map(|s| store::admin_email(&s.owner, &m.host))
            .unwrap_or_default();
        let new_host = store::store_host(&store.namespace, &naming.suffix);
        let new_admin = store::admin_email(&store.owner, &new_host);
        let env = rewrite_env(&[
            ("OLD_URL", &old_url),
            ("NEW_URL", &store.url),
            ("OLD_HOST", &m.host),
            ("NEW_HOST", &new_host),
            ("OLD_ADMIN_EMAIL", &old_admin),
            ("NEW_ADMIN_EMAIL", &new_admin),
        ])
        .map_err(StepError::Failed)?;
        let rewrite = &store.engine.spec().backup.clone;
        let in_database = DataPart::argv(&format!("{env}{}", rewrite.database));
        self.restore_into_new(lease, &store, m, deadline, Some(&in_database))
            .await?;
        if let Some(running) = &rewrite.running {
            self.guard(lease).await?;
            let owned = ns_ops::verify(&self.client, &store.namespace_ref())
                .await
                .map_err(step("rewriting the clone's URLs"))?
                .ok_or_else(|| StepError::Failed("the clone's namespace is gone".into()))?;
            let argv = DataPart::argv(&format!("{env}{}", running.command));
            let said = self
                .run_in(&owned, &store, running.component, running.container, &argv)
                .await
                .map_err(|e| match StepError::from(e) {
                    StepError::Failed(m) => {
                        StepError::Failed(format!("rewriting the clone's URLs: {m}"))
                    }
                    other => other,
                })?;
            tracing::info!(store = %store.id, from = %old_url, to = %store.url, %said, "clone's URLs rewritten");
        }
        Ok(())
    }

    /// Runs a command in a container of the store's ready pod of
    /// `component`: what it printed.
    pub(super) async fn run_in(
        &self,
        owned: &OwnedNamespace,
        store: &Store,
        component: &str,
        container: &str,
        argv: &[String],
    ) -> Result<String, DataError> {
        let pod = data::ready_pod(&self.client, owned, store.id, component).await?;
        let at = Target {
            ns: owned,
            pod: &pod,
            container,
            what: "make the clone's data its own",
        };
        let run = data::run_text(&self.client, &at, argv.to_vec());
        tokio::time::timeout(REWRITE_TIMEOUT, run)
            .await
            .map_err(|_| {
                DataError::Stream(format!(
                    "the clone's rewrite took longer than {}s and was stopped",
                    REWRITE_TIMEOUT.as_secs()
                ))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(state: State, engine: &str, key: &str) -> backups::Backup {
        let now = chrono::Utc::now();
        let store = Store::sample();
        backups::Backup {
            id: Uuid::nil(),
            store_id: store.id,
            operation_id: 1,
            reason: crate::backup::Reason::Manual,
            state,
            engine: engine.into(),
            bytes: 1,
            manifest: Some(Manifest {
                format: crate::backup::manifest::FORMAT,
                backup_id: Uuid::nil(),
                store_id: store.id,
                store_name: store.name.clone(),
                namespace: store.namespace.clone(),
                host: "shop.localhost".into(),
                engine: engine.into(),
                chart_version: None,
                helm_revision: None,
                settings: Default::default(),
                key_id: key.into(),
                reason: "manual".into(),
                requested_by: "t".into(),
                started_at: now,
                finished_at: now,
                parts: vec![],
                counts: BTreeMap::new(),
            }),
            error: None,
            requested_by: "t".into(),
            started_at: now,
            finished_at: Some(now),
            expires_at: None,
        }
    }

    #[test]
    fn a_clone_takes_a_complete_backup_of_its_engine_sealed_with_this_key() {
        let source = Store::sample();
        let engine = source.engine.as_str();
        assert!(check_backup(&backup(State::Complete, engine, "k1"), &source, "k1").is_ok());
        let e = check_backup(&backup(State::Failed, engine, "k1"), &source, "k1").unwrap_err();
        assert!(e.contains("failed, not complete"), "{e}");
        let other = if engine == "medusa" {
            "woocommerce"
        } else {
            "medusa"
        };
        let e = check_backup(&backup(State::Complete, other, "k1"), &source, "k1").unwrap_err();
        assert!(e.contains("a clone has its source's engine"), "{e}");
        let e = check_backup(&backup(State::Complete, engine, "k0"), &source, "k1").unwrap_err();
        assert!(
            e.contains("sealed with backup key k0") && e.contains("set backup_key"),
            "{e}"
        );
    }

    #[test]
    fn the_rewrite_is_given_plain_values_only() {
        let env = rewrite_env(&[
            ("NEW_URL", "http://shop-copy.localhost"),
            ("NEW_ADMIN_EMAIL", "ops+x@example.com"),
        ])
        .unwrap();
        assert_eq!(
            env,
            "export NEW_URL='http://shop-copy.localhost'; export NEW_ADMIN_EMAIL='ops+x@example.com'; "
        );
        for bad in ["o'brien@example.com", "a b", "$(id)", "x\"y", "a;b"] {
            let e = rewrite_env(&[("NEW_ADMIN_EMAIL", bad)]).unwrap_err();
            assert!(e.contains("NEW_ADMIN_EMAIL"), "{e}");
        }
        assert_eq!(
            rewrite_env(&[("OLD_ADMIN_EMAIL", "")]).unwrap(),
            "export OLD_ADMIN_EMAIL=''; "
        );
    }
}
