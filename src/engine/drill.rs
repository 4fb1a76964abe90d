//! Restore drills: proof that a store's backups restore.
//!
//! A drill clones the store's newest complete backup into a throwaway
//! store (owned by [`DRILL_OWNER`], with its own namespace and host) through
//! the same provision every clone takes: the backup checked whole, the
//! chart installed, the data written in, the store ready again and holding
//! what the manifest counts (orders, products…). The drill passed when that
//! store became Ready, failed when it did not; either way the throwaway
//! store is then deleted without a final backup.
//!
//! Drills are asked for (`store drill`, the API) or scheduled (every
//! `drill_every_days`, each store at its own slot), and run at most
//! `drill_concurrency` at once. Any process with workers drives them, each
//! step under the drill's row lock; every step can be repeated (the clone
//! is made with an idempotency key), so a process that dies mid-step
//! leaves nothing another cannot finish.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::clone::{CloneRequest, clone};
use super::requests::{delete_with, refused};
use super::{EngineConfig, EngineError};
use crate::backup::schedule;
use crate::db::audit::Action;
use crate::db::backups;
use crate::db::drills::{self, Drill, Outcome, Phase, Reason};
use crate::db::stores;
use crate::store::{self, Actor, Status, Store, Via};

/// Who a drill's throwaway stores belong to: no person, so they never
/// show in a merchant's list or count against their limit.
pub const DRILL_OWNER: &str = "restore-drills";

/// Who the audit log says drove a drill's steps.
fn driver() -> Actor {
    Actor::new("drills", Via::Worker)
}

fn not_configured() -> EngineError {
    EngineError::Invalid {
        field: "backup",
        message: "backups are not configured: a drill restores a backup; set backup_bucket and backup_key (docs/backups.md)".into(),
    }
}

/// Queues a drill of the store: refused when backups are off, the store is
/// deleted or is itself a drill's, has no complete backup, or a drill of
/// it is already under way (every refusal audited).
pub async fn request(
    pool: &PgPool,
    cfg: &EngineConfig,
    actor: &Actor,
    id: Uuid,
    scope: Option<&str>,
    reason: Reason,
) -> Result<Drill, EngineError> {
    let store = match stores::get(pool, id).await? {
        Some(s) if store::visible_to(scope, &s.owner) => s,
        _ => {
            return Err(EngineError::NotFound {
                key: id.to_string(),
            });
        }
    };
    let refuse = |e: EngineError| async {
        refused(pool, actor, Action::Drill, Some(&store), None, &e).await;
        e
    };
    if cfg.backup.is_none() {
        return Err(refuse(not_configured()).await);
    }
    if matches!(store.status, Status::Deleted | Status::Deleting) {
        return Err(refuse(EngineError::Invalid {
            field: "store",
            message: format!(
                "store \"{}\" is {}; a drill restores a live store's backup (a deleted one's is tried by `store undelete`)",
                store.name,
                store.status.as_str()
            ),
        })
        .await);
    }
    if drills::is_throwaway(pool, store.id).await? {
        return Err(refuse(EngineError::Invalid {
            field: "store",
            message: format!(
                "store \"{}\" is a restore drill's throwaway store; drill the store it was restored from",
                store.name
            ),
        })
        .await);
    }
    if backups::newest_complete(pool, store.id).await?.is_none() {
        return Err(refuse(EngineError::Invalid {
            field: "backup",
            message: format!(
                "store \"{}\" has no complete backup to drill; take one first (`store backup {}`)",
                store.name, store.name
            ),
        })
        .await);
    }
    let mut conn = pool.acquire().await?;
    match drills::insert(&mut conn, actor, &store, reason).await {
        Ok(d) => Ok(d),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            drop(conn);
            Err(refuse(EngineError::Busy {
                name: store.name.clone(),
                detail: "a restore drill of it is already under way; see `store drills`".into(),
            })
            .await)
        }
        Err(e) => Err(e.into()),
    }
}

/// Moves every open drill one step where it can; the number moved.
pub async fn advance_all(pool: &PgPool, cfg: &EngineConfig) -> Result<usize, String> {
    let Some(bc) = &cfg.backup else {
        return Ok(0);
    };
    let open = drills::open(pool)
        .await
        .map_err(|e| format!("reading the drills: {e}"))?;
    let mut moved = 0;
    for id in open {
        match advance(pool, cfg, bc.drill_concurrency, id).await {
            Ok(true) => moved += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(drill = %id, error = %e, "cannot advance the restore drill"),
        }
    }
    Ok(moved)
}

/// One step of one drill, under its row lock (skipped while another
/// process holds it). True when it moved.
async fn advance(pool: &PgPool, cfg: &EngineConfig, cap: u32, id: Uuid) -> Result<bool, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    let mut tx = pool.begin().await.map_err(db)?;
    let Some(d) = drills::lock(&mut tx, id).await.map_err(db)? else {
        return Ok(false);
    };
    if d.phase == Phase::Removing {
        let moved = remove(pool, &mut tx, &d).await?;
        tx.commit().await.map_err(db)?;
        return Ok(moved);
    }
    // The store drilled: what a start clones, and its name for the audit.
    let source = stores::get(pool, d.store_id).await.map_err(db)?;
    let source_name = source.as_ref().map_or("?", |s| s.name.as_str()).to_string();
    let moved = match d.phase {
        Phase::Queued => {
            // The count and the start as one step for every process.
            drills::lock_starts(&mut tx).await.map_err(db)?;
            if drills::restoring(&mut *tx).await.map_err(db)? >= i64::from(cap) {
                return Ok(false);
            }
            start(pool, cfg, &mut tx, &d, source.as_ref(), &source_name).await?
        }
        Phase::Restoring => check(pool, &mut tx, &d, &source_name).await?,
        Phase::Removing | Phase::Done => false,
    };
    tx.commit().await.map_err(db)?;
    Ok(moved)
}

/// queued → restoring: the throwaway store made from the newest complete
/// backup; a drill that cannot start fails with the reason.
async fn start(
    pool: &PgPool,
    cfg: &EngineConfig,
    tx: &mut sqlx::PgConnection,
    d: &Drill,
    source: Option<&Store>,
    source_name: &str,
) -> Result<bool, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    match make_throwaway(pool, cfg, d, source).await? {
        Ok((backup, clone)) => drills::started(tx, d.id, backup, clone).await.map_err(db),
        Err(why) => drills::checked(tx, &driver(), d, source_name, Outcome::Failed, &why, false)
            .await
            .map_err(db),
    }
}

/// The drill's throwaway store, cloned from the source's newest complete
/// backup: Ok((backup, store)), or Err(why it cannot start); the outer Err
/// is the database's.
async fn make_throwaway(
    pool: &PgPool,
    cfg: &EngineConfig,
    d: &Drill,
    source: Option<&Store>,
) -> Result<Result<(Uuid, Uuid), String>, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    let Some(source) = source.filter(|s| s.status != Status::Deleted) else {
        return Ok(Err("the store was deleted before its drill started".into()));
    };
    let Some(backup) = backups::newest_complete(pool, source.id)
        .await
        .map_err(db)?
    else {
        return Ok(Err(
            "the store has no complete backup left to restore".into()
        ));
    };
    let req = CloneRequest {
        source: source.id,
        name: throwaway_name(d.id),
        backup: Some(backup.id.to_string()),
        owner: DRILL_OWNER.into(),
        scope: None,
        idempotency_key: Some(format!("drill-{}", d.id)),
    };
    match clone(pool, cfg, cfg.limits, &driver(), &req).await {
        Ok(store) => {
            tracing::info!(drill = %d.id, store = %source.id, throwaway = %store.namespace, backup = %backup.id, "restore drill started");
            Ok(Ok((backup.id, store.id)))
        }
        Err(EngineError::Database(e)) => Err(db(e)),
        Err(e) => Ok(Err(format!("the restore could not start: {e}"))),
    }
}

/// The throwaway store's name: the drill's, so a repeated step finds it.
fn throwaway_name(drill: Uuid) -> String {
    format!("drill {}", &drill.simple().to_string()[..12])
}

/// restoring → removing once the throwaway store is Ready (passed) or
/// Failed (failed, with its reason).
async fn check(
    pool: &PgPool,
    tx: &mut sqlx::PgConnection,
    d: &Drill,
    source_name: &str,
) -> Result<bool, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    let clone = match d.clone_id {
        Some(c) => stores::get(pool, c).await.map_err(db)?,
        None => None,
    };
    let (outcome, detail, left) = match clone {
        None => (
            Outcome::Failed,
            "its throwaway store was removed before the restore was checked".to_string(),
            false,
        ),
        Some(c) => match c.status {
            Status::Ready => (Outcome::Passed, passed(pool, d, &c).await?, true),
            Status::Failed => (
                Outcome::Failed,
                format!(
                    "the restore failed: {}",
                    c.error_message.as_deref().unwrap_or("no reason recorded")
                ),
                true,
            ),
            Status::Deleting | Status::DeleteFailed | Status::Deleted => (
                Outcome::Failed,
                "its throwaway store was deleted before the restore was checked".to_string(),
                c.status != Status::Deleted,
            ),
            // Still being provisioned (its own timeout bounds it).
            _ => return Ok(false),
        },
    };
    tracing::info!(drill = %d.id, store = %d.store_id, outcome = outcome.as_str(), %detail, "restore drill checked");
    drills::checked(tx, &driver(), d, source_name, outcome, &detail, left)
        .await
        .map_err(db)
}

/// What a passed drill proved, in words.
async fn passed(pool: &PgPool, d: &Drill, clone: &Store) -> Result<String, String> {
    let backup = match d.backup_id {
        Some(b) => backups::get(pool, b)
            .await
            .map_err(|e| format!("database: {e}"))?,
        None => None,
    };
    let took = d
        .started_at
        .map(|s| {
            let secs = (clone.ready_at.unwrap_or_else(Utc::now) - s).num_seconds();
            format!(" in {secs}s")
        })
        .unwrap_or_default();
    let Some(b) = backup else {
        return Ok(format!("restored{took}; the store became ready"));
    };
    let counts = b
        .manifest
        .as_ref()
        .map(|m| {
            m.counts
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|c| !c.is_empty())
        .map(|c| format!(", and holds what the backup holds ({c})"))
        .unwrap_or_default();
    Ok(format!(
        "backup {} of {} restored{took}; the store became ready{counts}",
        &b.id.to_string()[..8],
        b.finished_at
            .unwrap_or(b.started_at)
            .format("%Y-%m-%d %H:%M UTC"),
    ))
}

/// removing → done once the throwaway store is deleted (its delete asked
/// for, without a final backup, until it is under way).
async fn remove(pool: &PgPool, tx: &mut sqlx::PgConnection, d: &Drill) -> Result<bool, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    let clone = match d.clone_id {
        Some(c) => stores::get(pool, c).await.map_err(db)?,
        None => None,
    };
    let Some(c) = clone else {
        return drills::finished(tx, d.id, None).await.map_err(db);
    };
    match c.status {
        Status::Deleted => drills::finished(tx, d.id, None).await.map_err(db),
        Status::Deleting => Ok(false),
        Status::DeleteFailed => {
            let note = format!(
                "its throwaway store \"{}\" could not be deleted ({}); delete it with `store delete \"{}\" --no-backup`",
                c.name,
                c.error_message.as_deref().unwrap_or("no reason recorded"),
                c.name
            );
            drills::finished(tx, d.id, Some(&note)).await.map_err(db)
        }
        _ => match delete_with(pool, &driver(), c.id, None, true).await {
            Ok(_) => Ok(true),
            Err(EngineError::Database(e)) => Err(db(e)),
            // Busy with its provision still (a step lost a race): next time.
            Err(e) => {
                tracing::debug!(drill = %d.id, error = %e, "throwaway store not deleted yet");
                Ok(false)
            }
        },
    }
}

/// Queues a scheduled drill of every store whose drill slot has come; the
/// number queued.
pub async fn queue_due(
    pool: &PgPool,
    cfg: &EngineConfig,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let Some(every) = cfg.backup.as_ref().and_then(|b| b.drill_every) else {
        return Ok(0);
    };
    let mut lock = pool.begin().await.map_err(|e| e.to_string())?;
    if !drills::try_scheduler_lock(&mut lock)
        .await
        .map_err(|e| format!("taking the drill scheduler's lock: {e}"))?
    {
        return Ok(0);
    }
    let candidates = drills::candidates(pool)
        .await
        .map_err(|e| format!("reading the stores to drill: {e}"))?;
    let scheduler = Actor::new("scheduler", Via::Worker);
    let mut queued = 0;
    for c in candidates {
        if !schedule::due(now, c.id, every, c.newest_drill) {
            continue;
        }
        match request(pool, cfg, &scheduler, c.id, None, Reason::Scheduled).await {
            Ok(_) => queued += 1,
            Err(e) => tracing::debug!(store = %c.id, error = %e, "scheduled drill not queued"),
        }
    }
    lock.commit().await.map_err(|e| e.to_string())?;
    Ok(queued)
}

/// A store whose last good restore is older than this is overdue: two
/// intervals (one missed slot is a busy week, two is a habit lost), or 14
/// days when drills run only on demand.
pub fn overdue_after(bc: &crate::backup::BackupConfig) -> chrono::Duration {
    bc.drill_every.map_or(chrono::Duration::days(14), |e| e * 2)
}

/// A store's drills as the faces show them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DrillsView {
    /// Newest first (at most 50).
    pub drills: Vec<Drill>,
    /// When its newest passed drill was checked: "last good restore".
    #[schema(required)]
    pub last_good_at: Option<DateTime<Utc>>,
    /// Days between scheduled drills (null: none scheduled).
    #[schema(required)]
    pub every_days: Option<i64>,
    /// When its next scheduled drill is due (null: none scheduled).
    #[schema(required)]
    pub next_at: Option<DateTime<Utc>>,
}

pub async fn view(
    pool: &PgPool,
    cfg: &EngineConfig,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<DrillsView, EngineError> {
    let drills = drills::for_store(pool, store.id, 50).await?;
    let last_good_at = drills::last_passed(pool, store.id).await?;
    let every = cfg
        .backup
        .as_ref()
        .and_then(|b| b.drill_every)
        .filter(|_| store.status != Status::Deleted);
    Ok(DrillsView {
        drills,
        last_good_at,
        every_days: every.map(|e| e.num_days()),
        next_at: every.map(|e| schedule::next_slot(now, store.id, e)),
    })
}

/// "last good restore: 2 days ago" (or never), for the faces.
pub fn last_good_words(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".into(),
        Some(t) => match crate::text::age_in_words(now - t) {
            w if w == "just now" => w,
            w => format!("{w} ago"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_store_is_named_after_its_drill_and_is_a_valid_store_name() {
        let id = Uuid::parse_str("0123456789abcdef0123456789abcdef").unwrap();
        let name = throwaway_name(id);
        assert_eq!(name, "drill 0123456789ab");
        assert!(store::validate_name(&name).is_ok());
    }

    #[test]
    fn the_last_good_restore_reads_as_an_age() {
        let now = Utc::now();
        assert_eq!(last_good_words(None, now), "never");
        let words = last_good_words(Some(now - chrono::Duration::days(2)), now);
        assert_eq!(words, "2 days ago");
        let words = last_good_words(Some(now - chrono::Duration::minutes(61)), now);
        assert_eq!(words, "1 hour ago");
    }
}
