//! Carrying out one operation: the idempotent steps of provisioning and
//! deletion, and cleanup on failure. Runs inside a worker that holds the
//! operation's lease. Every state change goes through the ledger, which
//! writes only while the lease is held; before each destructive step the
//! worker asks again, and it acts only inside a namespace it has just
//! checked is the store's.

use super::config::EngineConfig;
use crate::cluster::evidence;
use crate::cluster::health::HealthState;
use crate::cluster::namespace::{self as ns_ops, NamespaceError, OwnedNamespace};
use crate::cluster::pods::StoreRef;
use crate::cluster::view::ClusterView;
use crate::cluster::{self, STORE_ID_LABEL};
use crate::db::ledger::{self, Lease, Outcome, Timing};
use crate::db::operations::Operation;
use crate::db::stores;
use crate::helm::Helm;
use crate::store::settings::{self, StoreSettings};
use crate::store::{self, Actor, Phase, Store, Via};
use crate::text::bound_message;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use rand::Rng;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A worker that stopped mid-way this many times makes the operation fail
/// instead of being retried forever.
pub const MAX_CLAIMS: i32 = 3;
pub(super) const MAX_ERROR_CHARS: usize = 1000;
/// A failed provision's message with the evidence kept before its cleanup.
const MAX_FAILURE_CHARS: usize = 4096;
/// How long the evidence may take to read before the cleanup goes on.
const EVIDENCE_TIME: Duration = Duration::from_secs(15);

/// What a failure cleanup did: a problem it met, and what the namespace
/// said before it was removed.
#[derive(Default)]
struct Cleaned {
    problem: Option<String>,
    evidence: String,
}
/// How long an operation handed back for an unreachable cluster waits
/// before a worker takes it again (by then a worker cut off from the
/// cluster has usually noticed, and stopped claiming).
pub const HAND_BACK_AFTER: Duration = Duration::from_secs(10);
/// How long the API server may take to answer whether it is there.
const PROBE_TIME: Duration = Duration::from_secs(5);
/// How many other namespaces to try when the store's is taken in the cluster.
const MAX_REASSIGN: usize = 5;

pub struct Context {
    pub pool: PgPool,
    pub cfg: Arc<EngineConfig>,
    pub helm: Helm,
    pub client: Client,
    pub view: ClusterView,
    pub worker_id: String,
}

/// Where a provision's time went, step by step, logged when it ends: the
/// overhead figures (total minus helm minus waiting) are the sum of the
/// steps that are neither.
struct Laps {
    last: Instant,
    parts: Vec<(&'static str, Duration)>,
    /// The namespace step's own Kubernetes API calls (its POST; a read after
    /// a 409): the lap that holds them also holds the ledger write beside.
    kube_write: Duration,
}

impl Laps {
    /// Starting with the time since the operation was claimed (its
    /// `started_at`, on the database's clock).
    fn new(claimed: Option<chrono::DateTime<chrono::Utc>>) -> Laps {
        let since = claimed
            .and_then(|c| (chrono::Utc::now() - c).to_std().ok())
            .filter(|d| *d < Duration::from_secs(5))
            .unwrap_or_default();
        Laps {
            last: Instant::now(),
            parts: vec![("claim", since)],
            kube_write: Duration::ZERO,
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.parts.push((name, now - self.last));
        self.last = now;
    }

    fn summary(&self) -> String {
        self.parts
            .iter()
            .map(|(n, d)| format!("{n}={:.1}ms", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why a step stopped.
pub(super) enum StepError {
    /// It failed: which step and what the cluster said.
    Failed(String),
    /// The API server could not be reached (no connection, no answer in
    /// time): nothing is known to be wrong with the store, so the operation
    /// is handed back to be tried again after [`HAND_BACK_AFTER`].
    Unreachable(String),
    /// The lease is no longer this worker's: stop, write nothing, touch nothing.
    Lost,
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Failed(s)
    }
}

pub(super) fn step(name: &'static str) -> impl Fn(NamespaceError) -> StepError {
    move |e| {
        let msg = format!("step {name}: {e}");
        if e.is_transport() {
            StepError::Unreachable(msg)
        } else {
            StepError::Failed(msg)
        }
    }
}

/// A Kubernetes API error of a step: only an answer fails it.
pub(super) fn kube_step(name: &'static str) -> impl Fn(kube::Error) -> StepError {
    move |e| {
        let msg = format!("step {name}: Kubernetes API: {e}");
        if cluster::is_transport(&e) {
            StepError::Unreachable(msg)
        } else {
            StepError::Failed(msg)
        }
    }
}

impl Context {
    pub(super) fn release_name(store: &Store) -> String {
        // One release per namespace; the namespace name is unique and says which store.
        store.namespace.clone()
    }

    /// Records the phase. A lost lease stops the work; a database that does
    /// not answer does not (the renewer stops the work if that lasts).
    pub(super) async fn phase(&self, lease: &Lease, phase: Phase) -> Result<(), StepError> {
        match ledger::set_phase(&self.pool, lease, phase).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StepError::Lost),
            Err(e) => {
                tracing::warn!(op = lease.op_id, error = %e, "could not record the phase");
                Ok(())
            }
        }
    }

    /// Proves the lease is still ours with a margin, right before a step that
    /// changes or removes things in the cluster. No answer counts as no.
    pub(super) async fn guard(&self, lease: &Lease) -> Result<(), StepError> {
        let margin = self.cfg.lease / 3;
        match tokio::time::timeout(margin, ledger::holds(&self.pool, lease, margin)).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(StepError::Lost),
            Ok(Err(e)) => {
                tracing::warn!(op = lease.op_id, error = %e, "cannot confirm the lease; not acting");
                Err(StepError::Lost)
            }
            Err(_) => {
                tracing::warn!(
                    op = lease.op_id,
                    "the database did not confirm the lease in time; not acting"
                );
                Err(StepError::Lost)
            }
        }
    }

    /// A step (see `ledger::advance`) written only if the lease is still ours
    /// with a margin: the step's write and `guard` in one. No answer counts
    /// as no.
    async fn guarded(&self, lease: &Lease, a: ledger::Advance<'_>) -> Result<(), StepError> {
        let margin = self.cfg.lease / 3;
        let a = ledger::Advance { margin, ..a };
        match tokio::time::timeout(margin, ledger::advance(&self.pool, lease, &a)).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(StepError::Lost),
            Ok(Err(e)) => {
                tracing::warn!(op = lease.op_id, error = %e, "cannot confirm the lease; not acting");
                Err(StepError::Lost)
            }
            Err(_) => {
                tracing::warn!(
                    op = lease.op_id,
                    "the database did not confirm the lease in time; not acting"
                );
                Err(StepError::Lost)
            }
        }
    }

    /// Why the API server cannot be reached now, if it cannot: a failed
    /// helm run says nothing about the store unless the cluster answers.
    async fn unreachable(&self) -> Option<String> {
        match tokio::time::timeout(PROBE_TIME, self.client.apiserver_version()).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) if !cluster::is_transport(&e) => None,
            Ok(Err(e)) => Some(bound_message(&e.to_string(), 300)),
            Err(_) => Some(format!("no answer within {}s", PROBE_TIME.as_secs())),
        }
    }

    /// A step that failed outside the Kubernetes client (helm): unreachable
    /// if the API server does not answer now, failed if it does.
    pub(super) async fn failed_unless_unreachable(&self, msg: String) -> StepError {
        match self.unreachable().await {
            Some(why) => {
                StepError::Unreachable(format!("{msg} (the API server cannot be reached: {why})"))
            }
            None => StepError::Failed(msg),
        }
    }

    /// Hands the operation back: it is tried again after [`HAND_BACK_AFTER`],
    /// by whichever worker can reach the cluster then.
    pub(super) async fn hand_back(&self, lease: &Lease, why: &str) -> Result<(), sqlx::Error> {
        tracing::warn!(
            op = lease.op_id,
            error = %why,
            secs = HAND_BACK_AFTER.as_secs(),
            "the Kubernetes API server could not be reached; handing the operation back"
        );
        if !ledger::hand_back(&self.pool, lease, HAND_BACK_AFTER).await? {
            tracing::warn!(op = lease.op_id, "lease lost before the hand-back");
        }
        Ok(())
    }

    pub(super) async fn finish(
        &self,
        lease: &Lease,
        outcome: Outcome,
        timing: Timing,
    ) -> Result<(), sqlx::Error> {
        if !ledger::finish(&self.pool, lease, &outcome, timing).await? {
            tracing::warn!(
                op = lease.op_id,
                "lease lost before the outcome was recorded; left to the worker that holds it"
            );
        }
        Ok(())
    }

    /// Runs a provision operation to its end (Ready or Failed).
    pub async fn provision(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), sqlx::Error> {
        let mut timing = Timing::default();
        let mut laps = Laps::new(op.started_at);
        if op.claims > MAX_CLAIMS {
            let msg = format!(
                "provisioning was interrupted {} times (the workers running it stopped); giving up",
                op.claims - 1
            );
            return self.fail_provision(lease, msg, &mut timing).await;
        }
        // The deadline counts from the operation's first start, so a resumed
        // operation does not get a fresh timeout.
        let started = op.started_at.unwrap_or_else(chrono::Utc::now);
        let elapsed = (chrono::Utc::now() - started).to_std().unwrap_or_default();
        let remaining = self.cfg.provision_timeout.saturating_sub(elapsed);
        let deadline = Instant::now() + remaining;

        // A store brought back from a backup (an undelete, a clone): the
        // backup is checked whole before anything is created, and an
        // undelete's credentials go into the new Secret (a clone keeps its
        // own).
        let restored = match op.params.restore {
            Some(backup) => match self.backup_for_new_store(store, backup).await {
                Ok(r) => Some(r),
                Err(super::backup::Restore::Step(StepError::Unreachable(why))) => {
                    return self.hand_back(lease, &why).await;
                }
                Err(super::backup::Restore::Step(StepError::Lost)) => return Ok(()),
                Err(
                    super::backup::Restore::Refused(why)
                    | super::backup::Restore::Broke(why)
                    | super::backup::Restore::Step(StepError::Failed(why)),
                ) => {
                    return self
                        .fail_provision(
                            lease,
                            format!("cannot restore the backup: {why}"),
                            &mut timing,
                        )
                        .await;
                }
            },
            None => None,
        };
        let steps = async {
            self.provision_steps(
                lease,
                store.clone(),
                restored.as_ref(),
                deadline,
                &mut timing,
                &mut laps,
            )
            .await?;
            match &restored {
                // An undelete: the store's own backup, as it was.
                Some((m, Some(_))) => {
                    self.restore_into_new(lease, store, m, deadline, None)
                        .await?
                }
                // A clone: another store's, made the clone's own.
                Some((m, None)) => self.restore_clone(lease, store.id, m, deadline).await?,
                None => {}
            }
            Ok::<_, StepError>(())
        };
        match steps.await {
            Ok(()) => {
                let r = self.finish(lease, Outcome::Ready, timing).await;
                laps.lap("finish");
                tracing::info!(
                    op = op.id,
                    store = %store.id,
                    steps = %laps.summary(),
                    helm_ms = timing.helm.as_millis(),
                    wait_ms = timing.wait.as_millis(),
                    namespace_api_ms = laps.kube_write.as_millis(),
                    "provisioned"
                );
                crate::metrics::provision_finished(true, op);
                r
            }
            Err(StepError::Failed(msg)) => {
                let r = self.fail_provision(lease, msg, &mut timing).await;
                crate::metrics::provision_finished(false, op);
                r
            }
            Err(StepError::Unreachable(why)) => self.hand_back(lease, &why).await,
            Err(StepError::Lost) => {
                tracing::warn!(
                    op = lease.op_id,
                    "lease lost: provisioning stopped, nothing more done"
                );
                Ok(())
            }
        }
    }

    /// The store's namespace, created if need be. A fresh store (it never
    /// created a namespace) whose name is taken in the cluster by a namespace
    /// that is not its own moves to another name; a store that did create one
    /// and finds it no longer its own stops with the reason.
    async fn claim_namespace(
        &self,
        lease: &Lease,
        mut store: Store,
        deadline: Instant,
        timing: &mut Timing,
    ) -> Result<(Store, OwnedNamespace), StepError> {
        let mut waited = false;
        for _ in 0..=MAX_REASSIGN {
            match ns_ops::ensure_namespace(&self.client, &store.namespace_ref(), &store.owner).await
            {
                Ok(owned) => return Ok((store, owned)),
                Err(NamespaceError::Foreign { ns, why }) if store.namespace_uid.is_none() => {
                    store = self
                        .reassign(
                            lease,
                            &store,
                            &format!(
                                "namespace {ns} already exists and is not this store's ({why})"
                            ),
                        )
                        .await?;
                }
                // A cleanup from an earlier attempt is still running: wait for it, once.
                Err(NamespaceError::Terminating { ns }) if !waited => {
                    waited = true;
                    let t = Instant::now();
                    if !self.view.wait_namespace_gone(store.id, &ns, deadline).await {
                        return Err(StepError::Failed(format!(
                            "step namespace: namespace {ns} is still terminating from an earlier attempt"
                        )));
                    }
                    timing.wait += t.elapsed();
                }
                Err(e) => return Err(step("namespace")(e)),
            }
        }
        Err(StepError::Failed(format!(
            "step namespace: no free namespace found for \"{}\" after {MAX_REASSIGN} tries; choose another name",
            store.name
        )))
    }

    async fn reassign(&self, lease: &Lease, store: &Store, why: &str) -> Result<Store, StepError> {
        let base = store::namespace_for(&store.name);
        for _ in 0..20 {
            let candidate = store::with_suffix(&base, rand::rng().random());
            let taken_db = stores::namespace_taken(&self.pool, &candidate)
                .await
                .map_err(|e| StepError::Failed(format!("step namespace: {e}")))?;
            if taken_db
                || ns_ops::exists(&self.client, &candidate)
                    .await
                    .map_err(step("namespace"))?
            {
                continue;
            }
            let url = store::store_url(&candidate, &self.cfg.naming.suffix, self.cfg.naming.tls);
            let actor = Actor::new(format!("worker {}", self.worker_id), Via::Worker);
            return match ledger::reassign_namespace(
                &self.pool, lease, &actor, &candidate, &url, why,
            )
            .await
            {
                Ok(Some(s)) => {
                    tracing::info!(store = %s.id, from = %store.namespace, to = %s.namespace, "namespace taken in the cluster; reassigned");
                    Ok(s)
                }
                Ok(None) => Err(StepError::Lost),
                // Another live store took the name meanwhile: try another.
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => continue,
                Err(e) => Err(StepError::Failed(format!("step namespace: {e}"))),
            };
        }
        Err(StepError::Failed(format!(
            "step namespace: no free namespace for \"{}\"; choose another name",
            store.name
        )))
    }

    #[allow(clippy::too_many_arguments)]
    async fn provision_steps(
        &self,
        lease: &Lease,
        store: Store,
        restored: Option<&(
            crate::backup::Manifest,
            Option<std::collections::BTreeMap<String, String>>,
        )>,
        deadline: Instant,
        timing: &mut Timing,
        laps: &mut Laps,
    ) -> Result<(), StepError> {
        // Each step's ledger write is one statement that also carries what
        // the step learnt (started, the namespace uid, the revision) or must
        // check (the lease, before helm changes the cluster), and runs beside
        // the API calls or helm rather than before them: none of them waits
        // alone. Creating the namespace or the Secret while the lease is
        // being lost is harmless: the worker that holds it finds them (409)
        // and checks them like any other.
        //
        // The start is written with the lease check that helm needs, beside
        // the namespace POST: the lease was ours with `margin` to spare when
        // it was sent, so helm may start until half of that has passed; a
        // namespace that took longer (it waited for an earlier attempt's to
        // go) asks again.
        let margin = self.cfg.lease / 3;
        let start = ledger::Advance {
            started: true,
            ..ledger::Advance::to(Phase::Namespace)
        };
        let checked = Instant::now();
        let namespace = async {
            let r = self.claim_namespace(lease, store, deadline, timing).await;
            laps.kube_write = checked.elapsed();
            r
        };
        let ((store, owned), ()) =
            futures::future::try_join(namespace, self.guarded(lease, start)).await?;
        laps.lap("namespace");
        if !check_still_covers(checked.elapsed(), margin) {
            self.guard(lease).await?;
            laps.lap("guard");
        }
        let ns = owned.name();
        let release = Self::release_name(&store);
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(StepError::Failed(format!(
                "timed out after {}s before the chart was installed",
                self.cfg.provision_timeout.as_secs()
            )));
        }
        // The namespace's uid and the phase, recorded while helm runs.
        let installing = ledger::Advance {
            namespace_uid: (store.namespace_uid.as_deref() != Some(owned.uid()))
                .then_some(owned.uid()),
            ..ledger::Advance::to(Phase::Installing)
        };
        let record = async {
            match ledger::advance(&self.pool, lease, &installing).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(StepError::Lost),
                Err(e) => Err(StepError::Failed(format!(
                    "step namespace: recording its uid: {e}"
                ))),
            }
        };
        // The Secret is written while helm runs: the chart only names it
        // (`existingSecret`, no `lookup`), so helm does not need it, and
        // helm takes far longer to start, render and reach its first create
        // than one POST. Written first, it cost a POST and, into a namespace
        // made a moment ago, up to 50 ms more: the API server's namespace
        // admission waits that long for its cache to see a new namespace.
        // Both are awaited to the end (helm is never cut off because the
        // Secret failed), and the step fails if either did: a failed attempt
        // is cleaned up and a retry creates what is missing.
        let install = async {
            let t = Instant::now();
            // A namespace this attempt created is empty: no release to
            // recover, so no `helm history` process (100-300 ms) to ask.
            if !owned.was_created() {
                let recovery = self
                    .helm
                    .recover_pending(&release, ns, remaining)
                    .await
                    .map_err(|e| format!("step installing (recovering a pending release): {e}"))?;
                if recovery != crate::helm::Recovery::Nothing {
                    tracing::info!(store = %store.id, ?recovery, "recovered a release left pending by an interrupted run");
                }
            }
            // A store provisioned again (a retry) keeps what its operator set.
            let values = self.chart_values(&store, &store.settings);
            let installed = self
                .helm
                .upgrade_install(
                    &release,
                    ns,
                    &self.cfg.chart(store.engine).dir,
                    &self.cfg.chart(store.engine).values_files,
                    &values,
                    remaining,
                )
                .await
                .map_err(|e| format!("step installing: {e}"))?;
            Ok::<_, String>((installed.0, t.elapsed()))
        };
        let credentials = async {
            ns_ops::ensure_credentials(
                &self.client,
                &owned,
                store.id,
                store.engine.spec(),
                restored.and_then(|r| r.1.as_ref()),
            )
            .await
            .map_err(step("secrets"))
        };
        let work = async {
            // The binding gives the platform its rights in the namespace
            // (the Secret and helm's objects need them): before both.
            self.ensure_binding(&owned, &store)
                .await
                .map_err(step("namespace"))?;
            Ok::<_, StepError>(futures::future::join(install, credentials).await)
        };
        let (recorded_uid, work) = futures::future::join(record, work).await;
        recorded_uid?;
        let (installed, credentials) = work?;
        let (installed, helm_took) = match installed {
            Ok(done) => done,
            Err(msg) => return Err(self.failed_unless_unreachable(msg).await),
        };
        // Only helm's own time is helm's: a Secret or a ledger write slower
        // than helm counts as overhead.
        timing.helm += helm_took;
        credentials?;
        laps.lap("helm+secret");

        // The revision and the phase are written, and the chart's workloads
        // listed, while Kubernetes starts them: neither the write nor the
        // list (a consistent read, ~100 ms per kind on a busy API server)
        // adds to the wait. Ready is decided only by the wait that follows,
        // with every listed workload.
        let recorded = ledger::Recorded {
            revision: i32::try_from(installed.revision).unwrap_or(i32::MAX),
            chart_version: installed.chart_version,
            settings: store.settings.clone(),
        };
        let record = async {
            match ledger::installed(&self.pool, lease, &recorded, Phase::WaitingForReady).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(StepError::Lost),
                Err(e) => Err(StepError::Failed(format!(
                    "step installing: recording the revision: {e}"
                ))),
            }
        };
        let t = Instant::now();
        let kubernetes = async {
            let early = async {
                let _ = self.view.wait_ready(store.id, &[], deadline).await;
                Ok(())
            };
            let (expected, ()) =
                futures::future::try_join(self.expected_workloads(ns), early).await?;
            Ok((expected, t.elapsed()))
        };
        let ((expected, k8s_took), ()) = futures::future::try_join(kubernetes, record).await?;
        // As with helm: waiting is only the time Kubernetes took; a ledger
        // write slower than that counts as overhead.
        timing.wait += k8s_took;
        let t = Instant::now();
        let result = self.view.wait_ready(store.id, &expected, deadline).await;
        timing.wait += t.elapsed();
        laps.lap("wait-ready");
        match result {
            Ok(_) => Ok(()),
            Err(h) => {
                let mut msg = format!(
                    "timed out after {}s waiting for the store to become ready: {}",
                    self.cfg.provision_timeout.as_secs(),
                    h.summary
                );
                if h.state == HealthState::Degraded {
                    msg = format!("{msg} (degraded)");
                }
                let conn = self.view.connection().borrow().clone();
                if !conn.connected {
                    msg.push_str(&format!(
                        "; the cluster watch was disconnected: {}",
                        conn.error.unwrap_or_default()
                    ));
                }
                Err(StepError::Failed(msg))
            }
        }
    }

    async fn ensure_binding(
        &self,
        owned: &OwnedNamespace,
        store: &Store,
    ) -> Result<(), NamespaceError> {
        match &self.cfg.binding {
            Some(b) => {
                ns_ops::ensure_role_binding(
                    &self.client,
                    owned,
                    store.id,
                    &b.cluster_role,
                    &b.service_account,
                )
                .await
            }
            None => Ok(()),
        }
    }

    pub(super) fn chart_values(
        &self,
        store: &Store,
        settings: &StoreSettings,
    ) -> serde_json::Value {
        chart_values(&self.cfg.naming, store, settings)
    }

    /// The workloads the chart created, listed once after the install, so
    /// "ready" cannot be declared before the watch has seen all of them.
    pub(super) async fn expected_workloads(&self, ns: &str) -> Result<Vec<String>, StepError> {
        let lp = ListParams::default().labels(STORE_ID_LABEL);
        let kube_err = kube_step("waiting-for-ready");
        let deployments = Api::<Deployment>::namespaced(self.client.clone(), ns);
        let statefulsets = Api::<StatefulSet>::namespaced(self.client.clone(), ns);
        let (deps, stss) = futures::future::try_join(deployments.list(&lp), statefulsets.list(&lp))
            .await
            .map_err(kube_err)?;
        let mut out: Vec<String> = deps
            .items
            .iter()
            .map(|d| format!("deployment/{}", d.name_any()))
            .collect();
        out.extend(
            stss.items
                .iter()
                .map(|s| format!("statefulset/{}", s.name_any())),
        );
        if out.is_empty() {
            return Err(StepError::Failed(format!(
                "step installing: the chart created no Deployment or StatefulSet labelled {STORE_ID_LABEL} in {ns}"
            )));
        }
        Ok(out)
    }

    /// Removes what a failed provision left, only inside the store's own
    /// namespace and only while the lease is ours. Err(Lost) when it is not.
    /// First it keeps what the namespace says about the failure (see
    /// [`evidence::gather`]): deleting the namespace deletes that too.
    async fn cleanup(&self, lease: &Lease, timing: &mut Timing) -> Result<Cleaned, StepError> {
        let mut done = Cleaned::default();
        // The record may have moved to another namespace during the steps.
        let store = match stores::get(&self.pool, lease.store_id).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(done),
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the store for cleanup; not acting");
                return Err(StepError::Lost);
            }
        };
        let owned = match ns_ops::verify(&self.client, &store.namespace_ref()).await {
            Ok(Some(o)) => o,
            Ok(None) => return Ok(done),
            Err(NamespaceError::Foreign { ns, why }) => {
                done.problem = Some(format!(
                    "namespace {ns} left alone: it is not this store's ({why})"
                ));
                return Ok(done);
            }
            Err(e) => {
                done.problem = Some(e.to_string());
                return Ok(done);
            }
        };
        // Already being removed (an earlier attempt's cleanup): nothing left
        // to read or do, and its RoleBinding may already be gone.
        if owned.is_terminating() {
            return Ok(done);
        }
        let store_ref = StoreRef {
            id: store.id,
            namespace: store.namespace.clone(),
            namespace_uid: store.namespace_uid.clone(),
        };
        let gather = evidence::gather(&self.client, &owned, &store_ref);
        done.evidence = match tokio::time::timeout(EVIDENCE_TIME, gather).await {
            Ok(text) => text,
            Err(_) => format!(
                "(what the namespace said was not read within {}s)",
                EVIDENCE_TIME.as_secs()
            ),
        };
        let mut problems = Vec::new();
        self.guard(lease).await?;
        let t = Instant::now();
        if let Err(e) = self
            .helm
            .uninstall(
                &Self::release_name(&store),
                owned.name(),
                Duration::from_secs(120),
            )
            .await
        {
            problems.push(format!("helm uninstall: {e}"));
        }
        timing.helm += t.elapsed();
        self.guard(lease).await?;
        if let Err(e) = ns_ops::delete_namespace(&self.client, &owned).await {
            problems.push(e.to_string());
        }
        done.problem = (!problems.is_empty()).then(|| problems.join("; "));
        Ok(done)
    }

    async fn fail_provision(
        &self,
        lease: &Lease,
        reason: String,
        timing: &mut Timing,
    ) -> Result<(), sqlx::Error> {
        tracing::warn!(store = %lease.store_id, %reason, "provisioning failed; cleaning up");
        if self.phase(lease, Phase::CleaningUp).await.is_err() {
            return Ok(());
        }
        let mut message = reason;
        let evidence = match self.cleanup(lease, timing).await {
            Ok(done) => {
                if let Some(problem) = done.problem {
                    message.push_str(&format!(" (cleanup incomplete: {problem})"));
                }
                done.evidence
            }
            Err(_) => {
                tracing::warn!(op = lease.op_id, "lease lost during cleanup: stopped");
                return Ok(());
            }
        };
        let mut message = bound_message(&message, MAX_ERROR_CHARS);
        if !evidence.is_empty() {
            message.push_str(" — before cleanup: ");
            message.push_str(&evidence);
        }
        let message = bound_message(&message, MAX_FAILURE_CHARS);
        self.finish(lease, Outcome::ProvisionFailed(message), *timing)
            .await
    }

    /// Runs a delete operation: uninstall, remove the namespace, wait until
    /// it is really gone, then finalise the record. A namespace of the
    /// store's name that is not the store's is never touched.
    pub async fn delete(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), sqlx::Error> {
        let mut timing = Timing::default();
        let steps = async {
            self.final_backup(op, lease, store).await?;
            self.delete_steps(lease, store, &mut timing).await
        };
        let outcome = match steps.await {
            Ok(()) => Outcome::Deleted,
            Err(StepError::Failed(m)) => Outcome::DeleteFailed(bound_message(
                &format!("delete failed: {m}"),
                MAX_ERROR_CHARS,
            )),
            Err(StepError::Unreachable(why)) => return self.hand_back(lease, &why).await,
            Err(StepError::Lost) => {
                tracing::warn!(
                    op = lease.op_id,
                    "lease lost: delete stopped, nothing more done"
                );
                return Ok(());
            }
        };
        self.finish(lease, outcome, timing).await
    }

    async fn delete_steps(
        &self,
        lease: &Lease,
        store: &Store,
        timing: &mut Timing,
    ) -> Result<(), StepError> {
        self.phase(lease, Phase::Uninstalling).await?;
        let owned = match ns_ops::verify(&self.client, &store.namespace_ref()).await {
            Ok(Some(o)) => o,
            // Nothing of the store's is in the cluster (never created, or gone).
            Ok(None) => return Ok(()),
            // The store never created a namespace: the one of that name is
            // someone else's, and there is nothing of ours to remove.
            Err(NamespaceError::Foreign { ns, why }) if store.namespace_uid.is_none() => {
                tracing::info!(store = %store.id, %ns, %why, "the namespace of this name is not the store's; left alone");
                return Ok(());
            }
            Err(e) => return Err(step("uninstalling")(e)),
        };
        let ns = owned.name();
        if !owned.is_terminating() {
            // A namespace left without its binding (an interrupted first step)
            // would refuse the uninstall.
            self.ensure_binding(&owned, store)
                .await
                .map_err(step("uninstalling"))?;
            self.guard(lease).await?;
            let t = Instant::now();
            if let Err(e) = self
                .helm
                .uninstall(&Self::release_name(store), ns, Duration::from_secs(180))
                .await
            {
                return Err(self
                    .failed_unless_unreachable(format!("step uninstalling: {e}"))
                    .await);
            }
            timing.helm += t.elapsed();
        }

        self.phase(lease, Phase::RemovingNamespace).await?;
        // A terminating namespace is already on its way (an earlier attempt
        // deleted it): wait for it. Deleting it again can be refused, as the
        // namespace controller may already have removed the RoleBinding
        // that granted the platform the delete.
        if !owned.is_terminating() {
            self.guard(lease).await?;
            ns_ops::delete_namespace(&self.client, &owned)
                .await
                .map_err(step("removing namespace"))?;
        }
        let deadline = Instant::now() + self.cfg.delete_timeout;
        let t = Instant::now();
        self.view.wait_namespace_gone(store.id, ns, deadline).await;
        timing.wait += t.elapsed();
        // The watch cache said so (or time ran out): ask the API server.
        match ns_ops::get_namespace(&self.client, ns).await {
            Ok(None) => Ok(()),
            Ok(Some(still)) if still.metadata.uid.as_deref() != Some(owned.uid()) => Ok(()),
            Ok(Some(still)) => Err(StepError::Failed(format!(
                "namespace {ns} still terminating after {}s: {}",
                self.cfg.delete_timeout.as_secs(),
                ns_ops::terminating_reason(&still)
            ))),
            Err(e) => Err(step("removing namespace")(e)),
        }
    }
}

/// Whether a lease check sent `since` ago that asked for `margin` to spare
/// still covers a step that changes the cluster now: the lease had at least
/// `margin` left when the database answered, which was after the check was
/// sent, so with half the margin used there is still half of it to spare.
fn check_still_covers(since: Duration, margin: Duration) -> bool {
    since < margin / 2
}

/// The chart values of a store with these settings: non-secret, passwords
/// stay in the Secret. Requests render them to check settings before queuing.
pub fn chart_values(
    naming: &super::config::Naming,
    store: &Store,
    settings: &StoreSettings,
) -> serde_json::Value {
    let host = store::store_host(&store.namespace, &naming.suffix);
    let admin_email = store::admin_email(&store.owner, &host);
    let mut values = serde_json::json!({
        "store": {
            "id": store.id.to_string(),
            "name": store.name,
            "host": host,
            "adminEmail": admin_email,
        },
        "existingSecret": cluster::CREDENTIALS_SECRET,
    });
    settings::merge_values(&mut values, &settings.chart_values(store.engine.spec()));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_check_covers_helm_only_while_half_its_margin_is_left() {
        let margin = Duration::from_secs(10);
        assert!(check_still_covers(Duration::from_millis(40), margin));
        assert!(check_still_covers(Duration::from_millis(4999), margin));
        // A namespace step that waited (an earlier attempt's namespace
        // going away) must be followed by a fresh check before helm.
        assert!(!check_still_covers(Duration::from_secs(5), margin));
        assert!(!check_still_covers(Duration::from_secs(30), margin));
        assert!(!check_still_covers(Duration::ZERO, Duration::ZERO));
    }
}
