//! Carrying out a change of a running store: an upgrade (the chart shipped
//! with this binary, with the store's new settings) or a rollback to an
//! earlier revision. The store stays Ready throughout; a change that does
//! not become healthy within the upgrade timeout is undone, and the reason
//! (which pod, what Kubernetes said) is recorded. Like provisioning, every
//! state change goes through the ledger under the lease, every destructive
//! step is guarded, and nothing is done outside the store's own namespace.

use super::provision::{Context, MAX_CLAIMS, MAX_ERROR_CHARS, StepError, step};
use crate::cluster::namespace::{self as ns_ops, OwnedNamespace};
use crate::cluster::{rollout, room};
use crate::db::ledger::{self, Lease, Outcome, Recorded, Timing};
use crate::db::operations::{Kind, Operation};
use crate::db::revisions;
use crate::helm::{self, Revision};
use crate::store::{Phase, Store, StoreSettings};
use crate::text::bound_message;
use tokio::time::Instant;

/// Where the store stood when the change began.
struct Start {
    owned: OwnedNamespace,
    release: String,
    /// The revision to come back to if the change does not work out.
    good: Recorded,
}

fn rev_i32(r: u32) -> i32 {
    i32::try_from(r).unwrap_or(i32::MAX)
}

/// "revision 1 → 2; chart a → b; key x → y", for the audit entry.
fn from_to(old: &Recorded, new: &Recorded, note: &str) -> Vec<String> {
    let mut out = vec![
        format!("revision {} → {}{note}", old.revision, new.revision),
        format!("chart {} → {}", old.chart_version, new.chart_version),
    ];
    out.extend(old.settings.diff(&new.settings));
    out
}

/// The latest revision that ran (deployed, or superseded by a failed one).
fn last_good(history: &[Revision]) -> Option<&Revision> {
    history
        .iter()
        .filter(|r| r.status == "deployed" || r.status == "superseded")
        .max_by_key(|r| r.revision)
}

impl Context {
    /// Runs an upgrade or rollback operation to its end.
    pub async fn change(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), sqlx::Error> {
        let mut timing = Timing::default();
        let outcome = match self.change_steps(op, lease, store, &mut timing).await {
            Ok(o) => o,
            Err(StepError::Failed(m)) => Outcome::ChangeFailed {
                kind: op.kind,
                message: bound_message(&m, MAX_ERROR_CHARS),
            },
            Err(StepError::Unreachable(why)) => return self.hand_back(lease, &why).await,
            Err(StepError::Lost) => {
                tracing::warn!(
                    op = lease.op_id,
                    "lease lost: the change stopped, nothing more done"
                );
                return Ok(());
            }
        };
        self.finish(lease, outcome, timing).await
    }

    async fn change_steps(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
        timing: &mut Timing,
    ) -> Result<Outcome, StepError> {
        let first = if op.kind == Kind::Rollback {
            Phase::RollingBack
        } else {
            Phase::Upgrading
        };
        // A worker that stopped while undoing a change resumes the undoing.
        let undoing = op.step == Some(Phase::RollingBack) && op.kind == Kind::Upgrade;
        if !undoing {
            self.phase(lease, first).await?;
        }
        let start = self.start(op, lease, store, timing).await?;
        if op.claims > MAX_CLAIMS {
            let why = format!(
                "the change was interrupted {} times (the workers running it stopped)",
                op.claims - 1
            );
            return self.undo(lease, store, &start, why, timing).await;
        }
        if undoing {
            let why = "an interrupted automatic rollback was resumed".to_string();
            return self.undo(lease, store, &start, why, timing).await;
        }
        match op.kind {
            Kind::Rollback => self.rollback_steps(op, lease, store, &start, timing).await,
            _ => self.upgrade_steps(op, lease, store, &start, timing).await,
        }
    }

    /// Checks the namespace is the store's, puts a release left pending by
    /// a killed worker back to its last good revision, and finds the
    /// revision to come back to.
    async fn start(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
        timing: &mut Timing,
    ) -> Result<Start, StepError> {
        let owned = match ns_ops::verify(&self.client, &store.namespace_ref()).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return Err(StepError::Failed(format!(
                    "namespace {} does not exist: the store has nothing to change; retry it to install it again",
                    store.namespace
                )));
            }
            Err(e) => return Err(step("upgrading")(e)),
        };
        let release = Self::release_name(store);
        let ns = owned.name().to_string();
        self.guard(lease).await?;
        let t = Instant::now();
        let read = |what: &'static str| {
            move |e: helm::HelmError| StepError::Failed(format!("step upgrading{what}: {e}"))
        };
        let mut history = self.helm.history(&release, &ns).await.map_err(read(""))?;
        // A release left pending by a killed worker goes back to its last
        // good revision first (helm refuses to upgrade it otherwise).
        let recovery = helm::recovery_for(&history);
        if recovery != helm::Recovery::Nothing {
            self.helm
                .recover_pending(&release, &ns, self.cfg.upgrade_timeout)
                .await
                .map_err(read(" (recovering a pending release)"))?;
            tracing::info!(store = %store.id, ?recovery, "put back a release left pending by an interrupted change");
            history = self.helm.history(&release, &ns).await.map_err(read(""))?;
        }
        timing.helm += t.elapsed();
        let Some(current) = last_good(&history) else {
            return Err(StepError::Failed(format!(
                "release {release} has no deployed revision; retry the store to install it again"
            )));
        };
        // The revision recorded when the change was asked for; else (a store
        // recorded before revisions were) the one running now, kept for a
        // resumed worker.
        let good_rev = match op.from_revision {
            Some(r) => r,
            None => {
                let r = rev_i32(current.revision);
                if !ledger::set_from_revision(&self.pool, lease, r)
                    .await
                    .map_err(|e| format!("step upgrading: {e}"))?
                {
                    return Err(StepError::Lost);
                }
                r
            }
        };
        let good = match revisions::get(&self.pool, store.id, good_rev).await {
            Ok(Some(r)) => Recorded {
                revision: r.revision,
                chart_version: r.chart_version,
                settings: r.settings,
            },
            Ok(None) => Recorded {
                revision: good_rev,
                chart_version: store
                    .chart_version
                    .clone()
                    .unwrap_or_else(|| current.chart_version().to_string()),
                settings: store.settings.clone(),
            },
            Err(e) => return Err(StepError::Failed(format!("step upgrading: {e}"))),
        };
        Ok(Start {
            owned,
            release,
            good,
        })
    }

    async fn upgrade_steps(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
        start: &Start,
        timing: &mut Timing,
    ) -> Result<Outcome, StepError> {
        let target = &op.params.settings;
        let shipped = helm::chart_version(&self.cfg.chart(store.engine).dir)
            .map_err(|e| format!("step upgrading: {e}"))?;
        if let Some(want) = &op.params.chart_version
            && want != &shipped
        {
            return Ok(Outcome::NotChanged {
                release: start.good.clone(),
                reason: format!(
                    "this Store Weaver ships store chart {shipped}, not {want}; nothing was changed (run the version of Store Weaver that ships {want})"
                ),
            });
        }
        let mut notes = Vec::new();
        match self
            .grow_volumes(lease, store, &start.owned, target)
            .await?
        {
            Ok(done) => notes.extend(done),
            Err(refusal) => {
                return Ok(Outcome::NotChanged {
                    release: start.good.clone(),
                    reason: refusal,
                });
            }
        }

        let values = self.chart_values(store, target);
        self.guard(lease).await?;
        let t = Instant::now();
        let installed = self
            .helm
            .upgrade_install(
                &start.release,
                start.owned.name(),
                &self.cfg.chart(store.engine).dir,
                &self.cfg.chart(store.engine).values_files,
                &values,
                self.cfg.upgrade_timeout,
            )
            .await;
        timing.helm += t.elapsed();
        let installed = match installed {
            Ok((r, _)) => r,
            Err(e) => {
                let why = format!("helm upgrade failed: {e}");
                return self.undo(lease, store, start, why, timing).await;
            }
        };
        let new = Recorded {
            revision: rev_i32(installed.revision),
            chart_version: installed.chart_version,
            settings: target.clone(),
        };
        self.record(lease, &new).await?;

        match self.wait_healthy(store, &start.owned, timing).await? {
            Ok(()) => {
                let mut detail = from_to(&start.good, &new, "");
                detail.extend(notes);
                Ok(Outcome::Changed {
                    kind: Kind::Upgrade,
                    release: new,
                    detail: detail.join("; "),
                })
            }
            Err(why) => self.undo(lease, store, start, why, timing).await,
        }
    }

    async fn rollback_steps(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
        start: &Start,
        timing: &mut Timing,
    ) -> Result<Outcome, StepError> {
        let target = match op.params.revision {
            Some(r) => rev_i32(r),
            None => match revisions::for_store(&self.pool, store.id).await {
                Ok(list) => match list
                    .iter()
                    .filter(|r| r.revision < start.good.revision)
                    .max_by_key(|r| r.revision)
                {
                    Some(r) => r.revision,
                    None => start.good.revision - 1,
                },
                Err(e) => return Err(StepError::Failed(format!("step rolling back: {e}"))),
            },
        };
        if target < 1 {
            return Ok(Outcome::NotChanged {
                release: start.good.clone(),
                reason: format!(
                    "revision {} is the store's first: there is nothing to roll back to",
                    start.good.revision
                ),
            });
        }
        let back = self
            .rollback_to(lease, store, start, target, timing)
            .await?;
        let new = match back {
            Ok(r) => r,
            Err(e) => {
                return Err(StepError::Failed(format!(
                    "rollback to revision {target} failed: {e}"
                )));
            }
        };
        match self.wait_healthy(store, &start.owned, timing).await? {
            Ok(()) => {
                let detail = from_to(
                    &start.good,
                    &new,
                    &format!(" (the content of revision {target})"),
                );
                Ok(Outcome::Changed {
                    kind: Kind::Rollback,
                    release: new,
                    detail: detail.join("; "),
                })
            }
            Err(why) => {
                let why =
                    format!("the rollback to revision {target} did not become healthy: {why}");
                self.undo(lease, store, start, why, timing).await
            }
        }
    }

    /// `helm rollback` to `target` (a new revision with its content) and
    /// the record of what that revision runs.
    async fn rollback_to(
        &self,
        lease: &Lease,
        store: &Store,
        start: &Start,
        target: i32,
        timing: &mut Timing,
    ) -> Result<Result<Recorded, String>, StepError> {
        self.phase(lease, Phase::RollingBack).await?;
        self.guard(lease).await?;
        let ns = start.owned.name();
        let t = Instant::now();
        let target_u = u32::try_from(target).unwrap_or(0);
        let done = self.helm.rollback(&start.release, ns, target_u).await;
        let history = self.helm.history(&start.release, ns).await;
        timing.helm += t.elapsed();
        if let Err(e) = done {
            return Ok(Err(e.to_string()));
        }
        let history = history.map_err(|e| format!("step rolling back: {e}"))?;
        let Some(now) = history.iter().max_by_key(|r| r.revision) else {
            return Ok(Err("the release has no revision after the rollback".into()));
        };
        let (chart_version, settings) = match revisions::get(&self.pool, store.id, target).await {
            Ok(Some(r)) => (r.chart_version, r.settings),
            // A revision someone made by hand: its chart is known, its
            // settings are not the platform's; keep the record's.
            Ok(None) => (
                history
                    .iter()
                    .find(|r| rev_i32(r.revision) == target)
                    .map(|r| r.chart_version().to_string())
                    .unwrap_or_default(),
                store.settings.clone(),
            ),
            Err(e) => return Err(StepError::Failed(format!("step rolling back: {e}"))),
        };
        let rec = Recorded {
            revision: rev_i32(now.revision),
            chart_version,
            settings,
        };
        self.record(lease, &rec).await?;
        Ok(Ok(rec))
    }

    /// Undoes a change that did not work out: back to the revision the
    /// change started from, then healthy again. The store stays Ready on
    /// its old settings with the reason; Failed only if even that fails.
    async fn undo(
        &self,
        lease: &Lease,
        store: &Store,
        start: &Start,
        why: String,
        timing: &mut Timing,
    ) -> Result<Outcome, StepError> {
        tracing::warn!(store = %store.id, reason = %why, revision = start.good.revision, "the change did not work out; rolling back");
        let back = self
            .rollback_to(lease, store, start, start.good.revision, timing)
            .await?;
        let release = match back {
            Ok(r) => r,
            Err(e) => {
                return Ok(Outcome::ChangeFailed {
                    kind: Kind::Upgrade,
                    message: bound_message(
                        &format!(
                            "{why}; the rollback to revision {} failed too: {e}",
                            start.good.revision
                        ),
                        MAX_ERROR_CHARS,
                    ),
                });
            }
        };
        match self.wait_healthy(store, &start.owned, timing).await? {
            Ok(()) => Ok(Outcome::NotChanged {
                release,
                reason: bound_message(
                    &format!(
                        "rolled back automatically to revision {}: {why}",
                        start.good.revision
                    ),
                    MAX_ERROR_CHARS,
                ),
            }),
            Err(still) => Ok(Outcome::ChangeFailed {
                kind: Kind::Upgrade,
                message: bound_message(
                    &format!(
                        "{why}; rolled back to revision {} but the store is still not healthy: {still}",
                        start.good.revision
                    ),
                    MAX_ERROR_CHARS,
                ),
            }),
        }
    }

    async fn record(&self, lease: &Lease, rec: &Recorded) -> Result<(), StepError> {
        match ledger::record_revision(&self.pool, lease, rec, false).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StepError::Lost),
            Err(e) => Err(StepError::Failed(format!("recording the revision: {e}"))),
        }
    }

    /// Waits for the new pods to be Ready within the upgrade timeout; a pod
    /// of the new revision that stays stuck (see `upgrade_stuck`) ends the
    /// wait at once. Ok(Err(why)) names what is not ready (which pod, what
    /// Kubernetes said).
    async fn wait_healthy(
        &self,
        store: &Store,
        owned: &OwnedNamespace,
        timing: &mut Timing,
    ) -> Result<Result<(), String>, StepError> {
        // helm created every object before it returned, so the fresh read
        // sees all of them: no list of expected workloads is needed.
        let deadline = Instant::now() + self.cfg.upgrade_timeout;
        let t = Instant::now();
        let res = rollout::wait_healthy(
            &self.client,
            &self.view,
            owned,
            store.id,
            &[],
            deadline,
            self.cfg.upgrade_stuck,
        )
        .await;
        timing.wait += t.elapsed();
        Ok(res.map(|_| ()).map_err(|n| match n {
            rollout::NotHealthy::TimedOut(h) => format!(
                "not healthy after {}s: {}",
                self.cfg.upgrade_timeout.as_secs(),
                h.summary
            ),
            rollout::NotHealthy::Stuck { why, .. } => format!(
                "{why}, on every look for {}s: it will not fix itself, so the {}s upgrade timeout was not waited out",
                self.cfg.upgrade_stuck.as_secs(),
                self.cfg.upgrade_timeout.as_secs()
            ),
        }))
    }

    /// Grows the volume claims the new settings make bigger. Ok(Err) is a
    /// refusal, saying what was changed (nothing, unless the API server
    /// refused a claim after another had grown): a claim would shrink, or
    /// the namespace's LimitRanges or quotas have no room for it (checked
    /// before any claim is touched).
    async fn grow_volumes(
        &self,
        lease: &Lease,
        store: &Store,
        owned: &OwnedNamespace,
        target: &StoreSettings,
    ) -> Result<Result<Vec<String>, String>, StepError> {
        let wanted: Vec<(bool, &'static str, String)> = target
            .volumes(store.engine.spec())
            .into_iter()
            .map(|(key, statefulset, size)| (statefulset, key, size))
            .collect();
        if wanted.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let claims = rollout::claims(&self.client, owned, store.id)
            .await
            .map_err(|e| format!("step upgrading: reading the volume claims: {e}"))?;
        let mut grow = Vec::new();
        for (db, key, size) in wanted {
            match rollout::check_growth(&claims, db, &size) {
                Ok(true) => grow.push((db, key, size)),
                Ok(false) => {}
                Err(refusal) => return Ok(Err(format!("{refusal}; nothing was changed"))),
            }
        }
        if grow.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let room = room::read(&self.client, owned).await.map_err(|e| {
            format!("step upgrading: reading the namespace's LimitRanges and ResourceQuotas: {e}")
        })?;
        let keyed: Vec<(bool, &str, &str)> = grow
            .iter()
            .map(|(db, key, size)| (*db, *key, size.as_str()))
            .collect();
        if let Err(refusal) = room::check(&claims, &room, &keyed) {
            return Ok(Err(format!("{refusal}; nothing was changed")));
        }
        let mut done: Vec<String> = Vec::new();
        for (db, key, size) in grow {
            self.guard(lease).await?;
            match rollout::grow(&self.client, owned, store.id, db, &size).await {
                Ok(did) => done.extend(did),
                // An admission rule the check above does not know: a
                // refusal like the others, not a broken store.
                Err(kube::Error::Api(e)) if e.code == 403 || e.code == 422 => {
                    let kept = if done.is_empty() {
                        "nothing was changed".to_string()
                    } else {
                        format!(
                            "already done, as claims do not shrink: {}; nothing else was changed",
                            done.join("; ")
                        )
                    };
                    return Ok(Err(format!(
                        "the API server refused {}={size}: {}; {kept}",
                        key, e.message
                    )));
                }
                Err(e) => {
                    return Err(format!("step upgrading: growing the volume to {size}: {e}").into());
                }
            }
        }
        Ok(Ok(done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(revision: u32, status: &str) -> Revision {
        Revision {
            revision,
            status: status.into(),
            chart: "shop-0.1.0".into(),
            description: String::new(),
            updated: String::new(),
        }
    }

    #[test]
    fn the_last_good_revision_skips_failed_and_pending_ones() {
        let h = [rev(1, "superseded"), rev(2, "deployed"), rev(3, "failed")];
        assert_eq!(last_good(&h).map(|r| r.revision), Some(2));
        assert_eq!(last_good(&[rev(1, "pending-install")]), None);
        assert_eq!(h[0].chart_version(), "0.1.0");
    }
}
