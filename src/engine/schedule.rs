//! Backups the platform takes and removes on its own: scheduled backups
//! (each store at its slot, `backup::schedule`), retention of scheduled
//! backups (`backup::retention`), and the end of deleted stores' keep
//! window. Any process with workers runs these; the database decides who
//! acts (one scheduler at a time, purges marked once).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::requests::queue_backup;
use super::{EngineConfig, EngineError};
use crate::backup::{BackupConfig, Bucket, Reason, manifest, retention, schedule};
use crate::db::{backups, ledger, schedules};
use crate::store::{Actor, Via};

/// Who the audit log says asked for a scheduled backup.
fn scheduler() -> Actor {
    Actor::new("scheduler", Via::Worker)
}

/// A store's interval: its own, else the fleet's; None: no schedule.
pub fn interval(store_hours: Option<i32>, bc: &BackupConfig) -> Option<chrono::Duration> {
    match store_hours {
        Some(h) if h > 0 => Some(chrono::Duration::hours(i64::from(h))),
        Some(_) => None,
        None => bc.every,
    }
}

/// Queues a scheduled backup of every store whose slot has come; the
/// number queued. Stores busy with something else wait for their next slot.
pub async fn queue_due(
    pool: &PgPool,
    cfg: &EngineConfig,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let Some(bc) = &cfg.backup else {
        return Ok(0);
    };
    let mut lock = pool.begin().await.map_err(|e| e.to_string())?;
    let mine = schedules::try_scheduler_lock(&mut lock)
        .await
        .map_err(|e| format!("taking the scheduler's lock: {e}"))?;
    if !mine {
        return Ok(0);
    }
    let fleet_hours = bc.every.map_or(0, |d| d.num_hours() as i32);
    let candidates = schedules::candidates(pool, fleet_hours)
        .await
        .map_err(|e| format!("reading the stores to back up: {e}"))?;
    let mut queued = 0;
    for c in candidates {
        let Some(every) = interval(c.every_hours, bc) else {
            continue;
        };
        if !schedule::due(now, c.id, every, c.newest_started) {
            continue;
        }
        match queue_backup(pool, &scheduler(), c.id, None, Reason::Scheduled).await {
            Ok(_) => queued += 1,
            // Changed since it was read (being upgraded, deleted…): its
            // next slot comes.
            Err(e) => tracing::debug!(store = %c.id, error = %e, "scheduled backup not queued"),
        }
    }
    lock.commit().await.map_err(|e| e.to_string())?;
    Ok(queued)
}

/// A store's backup schedule as the faces show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// The store's own interval in hours (null: the fleet's; 0: none).
    #[schema(required)]
    pub own_hours: Option<i32>,
    /// The interval that applies, in hours (null: no scheduled backups).
    #[schema(required)]
    pub every_hours: Option<i64>,
    /// The same in words: "every 24 h (the fleet's default)".
    pub described: String,
    /// When its next scheduled backup is due (null: none scheduled).
    #[schema(required)]
    pub next_at: Option<DateTime<Utc>>,
    /// When its newest complete backup finished.
    #[schema(required)]
    pub newest_good_at: Option<DateTime<Utc>>,
}

/// The store's schedule: its own interval, the one that applies, the
/// next slot and its newest good backup.
pub async fn view(
    pool: &PgPool,
    cfg: &EngineConfig,
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<ScheduleView, EngineError> {
    let own = schedules::every_hours(pool, store.id).await?;
    let fleet_hours = cfg
        .backup
        .as_ref()
        .and_then(|b| b.every)
        .map_or(0, |d| d.num_hours() as u32);
    let every = cfg.backup.as_ref().and_then(|bc| interval(own, bc));
    let newest_good_at = backups::for_store(pool, store.id, 200)
        .await?
        .into_iter()
        .filter(|b| b.state == backups::State::Complete)
        .filter_map(|b| b.finished_at)
        .max();
    let live = store.status != crate::store::Status::Deleted;
    Ok(ScheduleView {
        own_hours: own,
        every_hours: every.filter(|_| live).map(|d| d.num_hours()),
        described: if cfg.backup.is_none() {
            format!(
                "{}; backups are not configured, so none run",
                schedule::describe(own, 0)
            )
        } else {
            schedule::describe(own, fleet_hours)
        },
        next_at: every
            .filter(|_| live)
            .map(|e| schedule::next_slot(now, store.id, e)),
        newest_good_at,
    })
}

/// Sets a store's own interval (None: the fleet's again; Some(0): none),
/// audited. `owner`: the caller's scope, as for every request.
pub async fn set(
    pool: &PgPool,
    actor: &Actor,
    id: uuid::Uuid,
    owner: Option<&str>,
    every_hours: Option<i32>,
) -> Result<crate::store::Store, EngineError> {
    let store = match crate::db::stores::get(pool, id).await? {
        Some(s)
            if s.status != crate::store::Status::Deleted
                && crate::store::visible_to(owner, &s.owner) =>
        {
            s
        }
        _ => {
            return Err(EngineError::NotFound {
                key: id.to_string(),
            });
        }
    };
    if let Some(h) = every_hours
        && !(0..=8760).contains(&h)
    {
        return Err(EngineError::Invalid {
            field: "every_hours",
            message: format!(
                "{h} is not an interval: give 1 to 8760 hours, 0 for none, or null for the fleet's"
            ),
        });
    }
    ledger::set_backup_schedule(pool, actor, &store, every_hours).await?;
    Ok(store)
}

/// Why a backup is purged, for the audit log.
enum Purge {
    /// A final backup whose undelete window is over.
    Expired,
    /// A scheduled backup beyond what retention keeps.
    Retention(retention::Retention),
    /// A manual or scheduled backup of a store deleted longer ago than
    /// the undelete window.
    StoreGone,
}

/// Removes from the bucket, then marks purged (audited): final backups
/// whose keep time is over, scheduled backups beyond retention, and every
/// backup of a store deleted longer ago than the keep window. The number
/// purged; a backup another process purged first is skipped.
pub async fn purge(pool: &PgPool, cfg: &EngineConfig, now: DateTime<Utc>) -> Result<usize, String> {
    let Some(bc) = &cfg.backup else {
        return Ok(0);
    };
    let mut victims: Vec<(backups::Backup, String, Purge)> = Vec::new();
    for b in backups::expired(pool, 100)
        .await
        .map_err(|e| format!("reading expired backups: {e}"))?
    {
        let name = store_name(pool, b.store_id).await;
        victims.push((b, name, Purge::Expired));
    }
    let kept = schedules::kept(pool)
        .await
        .map_err(|e| format!("reading the backups retention keeps: {e}"))?;
    let mut by_store: BTreeMap<uuid::Uuid, Vec<schedules::Kept>> = BTreeMap::new();
    for k in kept {
        by_store.entry(k.store_id).or_default().push(k);
    }
    let keep_window =
        chrono::Duration::from_std(bc.keep_deleted).unwrap_or(chrono::Duration::days(7));
    for (_, rows) in by_store {
        let gone = rows[0]
            .store_deleted_at
            .is_some_and(|t| t + keep_window <= now)
            && rows[0].store_status == crate::store::Status::Deleted.as_str();
        let ids: Vec<(uuid::Uuid, Purge)> = if gone {
            rows.iter().map(|r| (r.id, Purge::StoreGone)).collect()
        } else {
            let scheduled: Vec<_> = rows
                .iter()
                .filter(|r| r.reason == Reason::Scheduled.as_str())
                .map(|r| (r.id, r.finished_at))
                .collect();
            retention::to_purge(&scheduled, bc.retention)
                .into_iter()
                .map(|id| (id, Purge::Retention(bc.retention)))
                .collect()
        };
        for (id, why) in ids {
            if let Some(b) = backups::get(pool, id).await.map_err(|e| e.to_string())? {
                victims.push((b, rows[0].store_name.clone(), why));
            }
        }
    }
    if victims.is_empty() {
        return Ok(0);
    }
    let bucket = Bucket::new(&bc.bucket).map_err(|e| e.to_string())?;
    let mut purged = 0;
    for (b, name, why) in victims {
        let n = bucket
            .delete_below(&manifest::directory(b.store_id, b.id))
            .await
            .map_err(|e| e.to_string())?;
        let when = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        };
        let detail = match why {
            Purge::Expired => format!(
                "{} backup {} kept until {}: {n} objects removed",
                b.reason.as_str(),
                b.id,
                when(b.expires_at)
            ),
            Purge::Retention(r) => format!(
                "scheduled backup {} of {} beyond retention ({} daily, {} weekly): {n} objects removed",
                b.id,
                when(b.finished_at),
                r.daily,
                r.weekly
            ),
            Purge::StoreGone => format!(
                "{} backup {}: the store was deleted more than {} days ago: {n} objects removed",
                b.reason.as_str(),
                b.id,
                keep_window.num_days()
            ),
        };
        if ledger::backup_purged(pool, b.id, &name, &detail)
            .await
            .map_err(|e| format!("recording a purge: {e}"))?
        {
            purged += 1;
        }
    }
    Ok(purged)
}

async fn store_name(pool: &PgPool, id: uuid::Uuid) -> String {
    crate::db::stores::get(pool, id)
        .await
        .ok()
        .flatten()
        .map(|s| s.name)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stores_own_interval_wins_and_zero_turns_it_off() {
        let mut bc = crate::backup::BackupConfig {
            bucket: crate::backup::BucketConfig {
                endpoint: None,
                bucket: "b".into(),
                region: "r".into(),
                path_style: true,
                prefix: String::new(),
                access_key_id: None,
                secret_access_key: None,
            },
            key: crate::backup::BackupKey::from_base64(
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )
            .unwrap(),
            keep_deleted: std::time::Duration::from_secs(86_400),
            every: Some(chrono::Duration::hours(24)),
            retention: retention::Retention {
                daily: 7,
                weekly: 4,
            },
            drill_every: None,
            drill_concurrency: 1,
        };
        assert_eq!(interval(None, &bc), Some(chrono::Duration::hours(24)));
        assert_eq!(interval(Some(6), &bc), Some(chrono::Duration::hours(6)));
        assert_eq!(interval(Some(0), &bc), None);
        bc.every = None;
        assert_eq!(interval(None, &bc), None);
        assert_eq!(interval(Some(12), &bc), Some(chrono::Duration::hours(12)));
    }
}
