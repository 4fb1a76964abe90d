//! Fleet upgrades: many stores in waves, each wave queued only once the one
//! before ended healthy, stopping when the failure budget is spent. A run
//! lives in Postgres: any process with workers advances it (one short
//! transaction per step, under the run's row lock), so it survives the
//! process that started it; it can be cancelled and resumed.

use super::EngineError;
use super::changes::{
    UpgradeRequest, check_volume_room, check_with_chart, plan_upgrade, upgrade_detail,
};
use super::config::EngineConfig;
use super::requests::load_for_update;
use crate::db::audit::{self, Action, Outcome as AuditOutcome};
use crate::db::fleet::{
    self, FleetItem, FleetParams, FleetRun, ItemState, RunAudit, RunChange, RunState,
};
use crate::db::operations::{self, Kind, Params};
use crate::db::{ledger, stores};
use crate::helm;
use crate::store::EngineKind;
use crate::store::{Actor, Request, Status, Via, lifecycle};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub const MAX_WAVE: u32 = 1_000;

#[derive(Debug, Clone)]
pub struct FleetRequest {
    pub set: Vec<String>,
    pub to: Option<String>,
    pub owner: Option<String>,
    /// Which stores: only Ready ones can be changed, so Ready or nothing.
    pub status: Option<Status>,
    pub wave: u32,
    pub max_failures: u32,
    /// Only this engine's stores: settings and charts are per engine.
    pub engine: EngineKind,
}

/// A run with its stores and counts, for every face.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FleetDetail {
    pub run: FleetRun,
    pub items: Vec<FleetItem>,
    pub counts: Counts,
    /// Number of waves planned.
    pub waves: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pending: usize,
    pub queued: usize,
    pub upgraded: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn of(items: &[FleetItem]) -> Counts {
        let mut c = Counts::default();
        for i in items {
            match i.state {
                ItemState::Pending => c.pending += 1,
                ItemState::Queued => c.queued += 1,
                ItemState::Upgraded => c.upgraded += 1,
                ItemState::Failed => c.failed += 1,
                ItemState::Skipped => c.skipped += 1,
            }
        }
        c
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::Invalid {
        field,
        message: message.into(),
    }
}

/// Checks the request's own shape (pure).
pub fn check_request(req: &FleetRequest) -> Result<(), EngineError> {
    if req.wave == 0 || req.wave > MAX_WAVE {
        return Err(invalid(
            "wave",
            format!("--wave must be 1 to {MAX_WAVE} stores per wave"),
        ));
    }
    if req.max_failures == 0 {
        return Err(invalid(
            "max_failures",
            "--max-failures must be at least 1: the run stops when that many stores failed",
        ));
    }
    if let Some(st) = req.status
        && let Err(refusal) = lifecycle::decide(Some(st), Request::Upgrade)
    {
        return Err(invalid(
            "status",
            format!("{st} stores cannot be upgraded: {}", refusal.reason),
        ));
    }
    Ok(())
}

/// Plans and starts a fleet run: every matching Ready store, in creation
/// order, in waves of `wave`; a store that needs nothing is skipped. The
/// first wave is queued at once.
pub async fn start(
    pool: &PgPool,
    cfg: &EngineConfig,
    cluster: Option<&kube::Client>,
    actor: &Actor,
    req: &FleetRequest,
) -> Result<FleetDetail, EngineError> {
    check_request(req)?;
    let shipped =
        helm::chart_version(&cfg.chart(req.engine).dir).map_err(EngineError::Unavailable)?;
    let filter = stores::Filter {
        owner: req.owner.clone(),
        status: Some(Status::Ready),
        q: None,
    };
    let sort = stores::Sort {
        key: stores::SortKey::Created,
        desc: false,
    };
    let mut candidates = Vec::new();
    let mut after = None;
    loop {
        let page = stores::page(pool, &filter, sort, after.as_ref(), 500).await?;
        let more = page.len() == 500;
        after = page.last().map(|s| stores::After::of(sort, s));
        candidates.extend(page.into_iter().filter(|s| s.engine == req.engine));
        if !more {
            break;
        }
    }
    let up = UpgradeRequest {
        set: req.set.clone(),
        to: req.to.clone(),
    };
    let mut plan: Vec<(Uuid, Option<String>)> = Vec::new();
    let mut checked_chart = false;
    for s in &candidates {
        match plan_upgrade(s, &up, &shipped) {
            Ok(target) => {
                // The values differ between stores only by their identity:
                // one render checks the settings for all.
                // So is the first store's namespace: it has the same
                // limits as the others unless someone changed them.
                if !checked_chart {
                    check_with_chart(cfg, s, &target).await?;
                    check_volume_room(cluster, s, &target).await?;
                    checked_chart = true;
                }
                plan.push((s.id, None));
            }
            // The same request can be wrong for the whole fleet.
            Err(e @ EngineError::Invalid { field: "to", .. }) => return Err(e),
            Err(e) => plan.push((s.id, Some(e.to_string()))),
        }
    }
    if !plan.iter().any(|(_, skip)| skip.is_none()) {
        return Err(invalid(
            "settings",
            format!(
                "no store needs this upgrade ({} Ready stores matched{})",
                candidates.len(),
                req.owner
                    .as_deref()
                    .map(|o| format!(" for owner {o}"))
                    .unwrap_or_default()
            ),
        ));
    }
    let params = FleetParams {
        set: req.set.clone(),
        to: req.to.clone(),
        owner: req.owner.clone(),
        engine: req.engine,
    };
    let wave = i32::try_from(req.wave).unwrap_or(1);
    let budget = i32::try_from(req.max_failures).unwrap_or(i32::MAX);
    let mut tx = pool.begin().await?;
    let id = fleet::insert_run(
        &mut tx,
        &actor.user,
        actor.via.as_str(),
        &params,
        wave,
        budget,
    )
    .await?;
    let mut n = 0i32;
    for (store, skip) in &plan {
        match skip {
            None => {
                fleet::insert_item(&mut tx, id, *store, n / wave + 1, ItemState::Pending, None)
                    .await?;
                n += 1;
            }
            Some(why) => {
                fleet::insert_item(&mut tx, id, *store, 0, ItemState::Skipped, Some(why)).await?;
            }
        }
    }
    let waves = (n + wave - 1) / wave;
    let detail = format!(
        "fleet run {id} started: {n} stores in {waves} waves of {wave}, failure budget {budget}, {}; {} skipped",
        if req.set.is_empty() {
            format!("chart {shipped}")
        } else {
            format!("chart {shipped}, {}", req.set.join(" "))
        },
        plan.len() as i32 - n
    );
    audit::record(
        &mut *tx,
        &audit::Record {
            actor,
            action: Action::Fleet,
            store_id: None,
            store_name: None,
            outcome: AuditOutcome::Accepted,
            detail: Some(&detail),
        },
    )
    .await?;
    fleet::notify(&mut tx, id).await?;
    tx.commit().await?;
    advance(pool, cfg, id).await?;
    detail_of(pool, id).await
}

pub async fn detail_of(pool: &PgPool, id: i64) -> Result<FleetDetail, EngineError> {
    let Some(run) = fleet::get(pool, id).await? else {
        return Err(EngineError::NotFound {
            key: format!("fleet run {id}"),
        });
    };
    let items = fleet::items(pool, id).await?;
    let waves = items.iter().map(|i| i.wave).max().unwrap_or(0);
    Ok(FleetDetail {
        counts: Counts::of(&items),
        run,
        items,
        waves,
    })
}

/// One step of a run, if no other process is taking it: record the
/// stores whose upgrade ended, stop at the failure budget, and queue the
/// next wave once the current one has ended. Returns whether it changed.
pub async fn advance(pool: &PgPool, cfg: &EngineConfig, id: i64) -> Result<bool, EngineError> {
    let mut tx = pool.begin().await?;
    let Some(run) = fleet::lock(&mut tx, id).await? else {
        return Ok(false);
    };
    if run.state != RunState::Running {
        return Ok(false);
    }
    let actor = Actor::new(
        run.created_by.clone(),
        Via::parse(&run.via).unwrap_or(Via::Cli),
    );
    let newly_failed = fleet::settle_queued(&mut tx, id).await?;
    let failures = run.failures + i32::try_from(newly_failed.len()).unwrap_or(i32::MAX);
    let mut changed = !newly_failed.is_empty();
    if failures >= run.max_failures {
        let names: Vec<String> = newly_failed
            .iter()
            .map(|(n, why)| format!("{n}: {why}"))
            .collect();
        let reason = format!(
            "stopped: {failures} store(s) failed, the failure budget is {}{}; the stores not yet upgraded were left untouched; fix the cause and resume the run",
            run.max_failures,
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join("; "))
            }
        );
        // The wave's other upgrades still end; the run takes no new one.
        let stop = RunChange::Stop {
            failures,
            reason: &reason,
        };
        let detail = format!("fleet run {id} {reason}");
        let entry = audit_entry(&actor, AuditOutcome::Failed, &detail);
        fleet::change_run(&mut tx, id, stop, Some(entry)).await?;
        tx.commit().await?;
        return Ok(true);
    }
    if fleet::count_in_state(&mut tx, id, ItemState::Queued).await? > 0 {
        if changed {
            let progress = RunChange::Progress {
                wave: run.current_wave,
                failures,
            };
            fleet::change_run(&mut tx, id, progress, None).await?;
        }
        tx.commit().await?;
        return Ok(changed);
    }
    // The wave ended healthy (within budget): the next one.
    match fleet::next_pending(&mut tx, id).await? {
        None => {
            let upgraded = fleet::count_in_state(&mut tx, id, ItemState::Upgraded).await?;
            let detail =
                format!("fleet run {id} done: {upgraded} stores upgraded, {failures} failed");
            let entry = audit_entry(&actor, AuditOutcome::Ok, &detail);
            fleet::change_run(&mut tx, id, RunChange::Finish { failures }, Some(entry)).await?;
            changed = true;
        }
        Some((wave, ids)) => {
            let chart = &cfg.chart(run.params.engine).dir;
            let shipped = helm::chart_version(chart).map_err(EngineError::Unavailable)?;
            for store_id in ids {
                let (state, op, detail) =
                    match queue_one(&mut tx, &actor, &run, store_id, &shipped).await? {
                        Ok(op) => (ItemState::Queued, Some(op), None),
                        Err(why) => (ItemState::Skipped, None, Some(why)),
                    };
                fleet::set_item(&mut tx, id, store_id, state, op, detail.as_deref()).await?;
            }
            let progress = RunChange::Progress { wave, failures };
            fleet::change_run(&mut tx, id, progress, None).await?;
            changed = true;
        }
    }
    tx.commit().await?;
    if changed {
        // Queued upgrades finish at once when there is nothing to wait for
        // (all skipped): look again.
        Box::pin(advance(pool, cfg, id)).await?;
    }
    Ok(changed)
}

/// Queues one store's upgrade inside the run's transaction. Err(reason)
/// when the store cannot be upgraded now (it is skipped, not failed).
async fn queue_one(
    conn: &mut PgConnection,
    actor: &Actor,
    run: &FleetRun,
    store_id: Uuid,
    shipped: &str,
) -> Result<Result<i64, String>, EngineError> {
    let store = match load_for_update(&mut *conn, store_id, None).await {
        Ok(s) => s,
        Err(EngineError::NotFound { .. }) => return Ok(Err("the store was deleted".into())),
        Err(e) => return Err(e),
    };
    if store.may(Request::Upgrade).is_err() {
        return Ok(Err(format!(
            "the store was {} when its wave came",
            store.status
        )));
    }
    if let Some(op) = operations::active_for(&mut *conn, store.id).await? {
        return Ok(Err(format!(
            "the store had its {} (operation {}) under way when its wave came",
            op.kind, op.id
        )));
    }
    let up = UpgradeRequest {
        set: run.params.set.clone(),
        to: run.params.to.clone(),
    };
    let target = match plan_upgrade(&store, &up, shipped) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let params = Params {
        settings: target.clone(),
        chart_version: Some(shipped.to_string()),
        revision: None,
        fleet_run: Some(run.id),
        ..Params::default()
    };
    let detail = format!(
        "fleet run {}, wave; {}",
        run.id,
        upgrade_detail(&store, &target, shipped)
    );
    ledger::queue_change(&mut *conn, &store, actor, Kind::Upgrade, &params, &detail).await?;
    let op = operations::active_for(&mut *conn, store.id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Ok(op.id))
}

fn audit_entry<'a>(actor: &'a Actor, outcome: AuditOutcome, detail: &'a str) -> RunAudit<'a> {
    RunAudit {
        actor,
        outcome,
        detail,
    }
}

/// Stops a run: stores not yet queued are skipped; upgrades already under
/// way end on their own (each is safe alone, with its own rollback).
pub async fn cancel(pool: &PgPool, actor: &Actor, id: i64) -> Result<FleetDetail, EngineError> {
    let mut tx = pool.begin().await?;
    let Some(run) = fleet::lock_wait(&mut tx, id).await? else {
        return Err(EngineError::NotFound {
            key: format!("fleet run {id}"),
        });
    };
    if !RunChange::Cancel.allowed(run.state) {
        return Err(invalid(
            "state",
            format!("fleet run {id} is already {}", run.state),
        ));
    }
    // Under the run's lock: the change skips exactly these.
    let skipped = fleet::count_in_state(&mut tx, id, ItemState::Pending).await?;
    let detail = format!("fleet run {id} cancelled; {skipped} stores not upgraded");
    let entry = audit_entry(actor, AuditOutcome::Ok, &detail);
    fleet::change_run(&mut tx, id, RunChange::Cancel, Some(entry)).await?;
    tx.commit().await?;
    detail_of(pool, id).await
}

/// Starts a stopped or cancelled run again: its failed stores (after the
/// fix) and the ones not reached are upgraded, the budget counts afresh.
pub async fn resume(
    pool: &PgPool,
    cfg: &EngineConfig,
    actor: &Actor,
    id: i64,
) -> Result<FleetDetail, EngineError> {
    let mut tx = pool.begin().await?;
    let Some(run) = fleet::lock_wait(&mut tx, id).await? else {
        return Err(EngineError::NotFound {
            key: format!("fleet run {id}"),
        });
    };
    if !RunChange::Resume.allowed(run.state) {
        return Err(invalid(
            "state",
            format!(
                "fleet run {id} is {}; only a stopped or cancelled run can be resumed",
                run.state
            ),
        ));
    }
    let reopened = fleet::count_reopenable(&mut tx, id).await?;
    let detail = format!("fleet run {id} resumed; {reopened} stores to try again");
    let entry = audit_entry(actor, AuditOutcome::Accepted, &detail);
    fleet::change_run(&mut tx, id, RunChange::Resume, Some(entry)).await?;
    tx.commit().await?;
    advance(pool, cfg, id).await?;
    detail_of(pool, id).await
}

/// Advances every running run once; the workers call it on each operation
/// notification and every few seconds.
pub async fn advance_all(pool: &PgPool, cfg: &EngineConfig) -> Result<(), EngineError> {
    for id in fleet::running_ids(pool).await? {
        advance(pool, cfg, id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(wave: u32, max_failures: u32, status: Option<Status>) -> FleetRequest {
        FleetRequest {
            set: vec![],
            to: None,
            owner: None,
            status,
            wave,
            max_failures,
            engine: EngineKind::default(),
        }
    }

    #[test]
    fn requests_are_checked_with_the_fix_in_the_message() {
        assert!(check_request(&req(5, 1, Some(Status::Ready))).is_ok());
        let e = check_request(&req(0, 1, None)).unwrap_err();
        assert!(e.to_string().contains("--wave must be 1 to"), "{e}");
        let e = check_request(&req(5, 0, None)).unwrap_err();
        assert!(
            e.to_string().contains("--max-failures must be at least 1"),
            "{e}"
        );
        let e = check_request(&req(5, 1, Some(Status::Failed))).unwrap_err();
        assert!(e.to_string().contains("only Ready stores"), "{e}");
    }
}
