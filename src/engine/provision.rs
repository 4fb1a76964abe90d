//! Carrying out one operation: the idempotent steps of provisioning and
//! deletion, and cleanup on failure. Runs inside a worker that holds the
//! operation's lease; every database write is conditional on still holding it.

use super::bound_message;
use crate::cluster::health::HealthState;
use crate::cluster::namespace::{self as ns_ops, NamespaceError};
use crate::cluster::view::ClusterView;
use crate::cluster::{self, STORE_ID_LABEL};
use crate::config::Settings;
use crate::db::{
    self, audit,
    operations::{self, Operation},
    stores,
};
use crate::helm::Helm;
use crate::store::{self, Actor, Phase, Store, Via};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A worker that stopped mid-way this many times makes the operation fail
/// instead of being retried forever.
pub const MAX_CLAIMS: i32 = 3;
const MAX_ERROR_CHARS: usize = 1000;

pub struct Context {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub helm: Helm,
    pub client: Client,
    pub view: ClusterView,
    pub worker_id: String,
}

/// Time spent outside Store Weaver, for the overhead figure.
#[derive(Default)]
struct Timing {
    helm: Duration,
    wait: Duration,
}

/// Why a step failed: which step and what the cluster said.
struct StepError(String);

impl From<NamespaceError> for StepError {
    fn from(e: NamespaceError) -> Self {
        StepError(e.to_string())
    }
}

impl From<crate::helm::HelmError> for StepError {
    fn from(e: crate::helm::HelmError) -> Self {
        StepError(e.to_string())
    }
}

impl From<kube::Error> for StepError {
    fn from(e: kube::Error) -> Self {
        StepError(format!("Kubernetes API: {e}"))
    }
}

impl Context {
    fn release_name(store: &Store) -> String {
        // One release per namespace; the namespace name is unique and says which store.
        store.namespace.clone()
    }

    async fn phase(&self, op: &Operation, store: &Store, phase: Phase) {
        let res = async {
            if operations::set_step(&self.pool, op.id, &self.worker_id, phase.as_str()).await? {
                stores::set_phase(&self.pool, store.id, phase.as_str()).await?;
                db::notify_store(&self.pool, store.id).await?;
            }
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(store = %store.id, error = %e, "could not record the phase");
        }
    }

    /// Runs a provision operation to its end (Ready or Failed).
    pub async fn provision(&self, op: &Operation, store: &Store) -> Result<(), sqlx::Error> {
        let mut timing = Timing::default();
        if op.claims > MAX_CLAIMS {
            let msg = format!(
                "provisioning was interrupted {} times (the workers running it stopped); giving up",
                op.claims - 1
            );
            return self.fail_provision(op, store, msg, &mut timing).await;
        }
        if store.provision_started_at.is_none() {
            sqlx::query("UPDATE stores SET provision_started_at = coalesce(provision_started_at, now()) WHERE id = $1")
                .bind(store.id)
                .execute(&self.pool)
                .await?;
        }
        // The deadline counts from the operation's first start, so a resumed
        // operation does not get a fresh timeout.
        let started = op.started_at.unwrap_or_else(chrono::Utc::now);
        let elapsed = (chrono::Utc::now() - started).to_std().unwrap_or_default();
        let remaining = self.settings.provision_timeout.saturating_sub(elapsed);
        let deadline = Instant::now() + remaining;

        match self.provision_steps(op, store, deadline, &mut timing).await {
            Ok(()) => self.succeed_provision(op, store, &timing).await,
            Err(StepError(msg)) => self.fail_provision(op, store, msg, &mut timing).await,
        }
    }

    async fn provision_steps(
        &self,
        op: &Operation,
        store: &Store,
        deadline: Instant,
        timing: &mut Timing,
    ) -> Result<(), StepError> {
        let ns = store.namespace.as_str();
        let release = Self::release_name(store);

        self.phase(op, store, Phase::Namespace).await;
        match ns_ops::ensure_namespace(&self.client, ns, store.id, &store.owner).await {
            Err(NamespaceError::Terminating { .. }) => {
                // A cleanup from an earlier attempt is still running: wait for it.
                let t = Instant::now();
                if !self.view.wait_namespace_gone(store.id, ns, deadline).await {
                    return Err(StepError(format!(
                        "step namespace: namespace {ns} is still terminating from an earlier attempt"
                    )));
                }
                timing.wait += t.elapsed();
                ns_ops::ensure_namespace(&self.client, ns, store.id, &store.owner)
                    .await
                    .map_err(|e| StepError(format!("step namespace: {e}")))?;
            }
            Err(e) => return Err(StepError(format!("step namespace: {e}"))),
            Ok(()) => {}
        }

        self.ensure_binding(store)
            .await
            .map_err(|e| StepError(format!("step namespace: {e}")))?;

        self.phase(op, store, Phase::Secrets).await;
        ns_ops::ensure_credentials(&self.client, ns, store.id)
            .await
            .map_err(|e| StepError(format!("step secrets: {e}")))?;

        self.phase(op, store, Phase::Installing).await;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(StepError(format!(
                "timed out after {}s before the chart was installed",
                self.settings.provision_timeout.as_secs()
            )));
        }
        let t = Instant::now();
        let recovery = self
            .helm
            .recover_pending(&release, ns, remaining)
            .await
            .map_err(|e| {
                StepError(format!(
                    "step installing (recovering a pending release): {e}"
                ))
            })?;
        if recovery != crate::helm::Recovery::Nothing {
            tracing::info!(store = %store.id, ?recovery, "recovered a release left pending by an interrupted run");
        }
        let values = self.chart_values(store);
        let chart = self.settings.chart_dir_for(&store.engine);
        let values_files = vec![self.settings.values_file_for(&store.engine)];
        self.helm
            .upgrade_install(&release, ns, &chart, &values_files, &values, remaining)
            .await
            .map_err(|e| StepError(format!("step installing: {e}")))?;
        timing.helm += t.elapsed();

        self.phase(op, store, Phase::WaitingForReady).await;
        let expected = self.expected_workloads(ns).await?;
        let t = Instant::now();
        let result = self.view.wait_ready(store.id, &expected, deadline).await;
        timing.wait += t.elapsed();
        match result {
            Ok(_) => Ok(()),
            Err(h) => {
                let mut msg = format!(
                    "timed out after {}s waiting for the store to become ready: {}",
                    self.settings.provision_timeout.as_secs(),
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
                Err(StepError(msg))
            }
        }
    }

    /// With a store ClusterRole configured, the platform's rights inside the
    /// namespace come from a binding it makes there (see config/rbac.yaml).
    async fn ensure_binding(&self, store: &Store) -> Result<(), NamespaceError> {
        match (
            &self.settings.store_cluster_role,
            &self.settings.service_account,
        ) {
            (Some(role), Some(sa)) => {
                ns_ops::ensure_role_binding(&self.client, &store.namespace, store.id, role, sa)
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Non-secret values for the chart; passwords stay in the Secret.
    fn chart_values(&self, store: &Store) -> serde_json::Value {
        let host = store::store_host(&store.namespace, &self.settings.ingress_suffix);
        let admin_email = if store.owner.contains('@') {
            store.owner.clone()
        } else {
            format!("admin@{host}")
        };
        serde_json::json!({
            "store": {
                "id": store.id.to_string(),
                "name": store.name,
                "host": host,
                "adminEmail": admin_email,
            },
            "existingSecret": cluster::CREDENTIALS_SECRET,
        })
    }

    /// The workloads the chart created, listed once after the install, so
    /// "ready" cannot be declared before the watch has seen all of them.
    async fn expected_workloads(&self, ns: &str) -> Result<Vec<String>, StepError> {
        let lp = ListParams::default().labels(STORE_ID_LABEL);
        let deps = Api::<Deployment>::namespaced(self.client.clone(), ns)
            .list(&lp)
            .await?;
        let stss = Api::<StatefulSet>::namespaced(self.client.clone(), ns)
            .list(&lp)
            .await?;
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
            return Err(StepError(format!(
                "step installing: the chart created no Deployment or StatefulSet labelled {STORE_ID_LABEL} in {ns}"
            )));
        }
        Ok(out)
    }

    async fn succeed_provision(
        &self,
        op: &Operation,
        store: &Store,
        timing: &Timing,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !operations::finish(
            &mut *tx,
            op.id,
            &self.worker_id,
            true,
            None,
            timing.helm,
            timing.wait,
        )
        .await?
        {
            return Ok(()); // lease lost or superseded: not ours to finish
        }
        sqlx::query(
            "UPDATE stores SET status = 'Ready', phase = 'done', error_message = NULL, ready_at = now(), \
             updated_at = now() WHERE id = $1",
        )
        .bind(store.id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            &audit::Record {
                actor: &Actor::new(op.requested_by.clone(), Via::Worker),
                action: "store.ready",
                store_id: Some(store.id),
                store_name: Some(&store.name),
                outcome: "ok",
                detail: Some(&format!("worker {}", self.worker_id)),
            },
        )
        .await?;
        db::notify_store(&mut *tx, store.id).await?;
        tx.commit().await?;
        crate::metrics::provision_finished(true, op);
        Ok(())
    }

    async fn cleanup(&self, store: &Store, timing: &mut Timing) -> Option<String> {
        let ns = store.namespace.as_str();
        let t = Instant::now();
        let mut problems = Vec::new();
        if let Err(e) = self
            .helm
            .uninstall(&Self::release_name(store), ns, Duration::from_secs(120))
            .await
        {
            problems.push(format!("helm uninstall: {e}"));
        }
        timing.helm += t.elapsed();
        if let Err(e) = ns_ops::delete_namespace(&self.client, ns).await {
            problems.push(e.to_string());
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    async fn fail_provision(
        &self,
        op: &Operation,
        store: &Store,
        reason: String,
        timing: &mut Timing,
    ) -> Result<(), sqlx::Error> {
        tracing::warn!(store = %store.id, %reason, "provisioning failed; cleaning up");
        self.phase(op, store, Phase::CleaningUp).await;
        let mut message = reason;
        if let Some(problem) = self.cleanup(store, timing).await {
            message.push_str(&format!(" (cleanup incomplete: {problem})"));
        }
        let message = bound_message(&message, MAX_ERROR_CHARS);
        let mut tx = self.pool.begin().await?;
        if !operations::finish(
            &mut *tx,
            op.id,
            &self.worker_id,
            false,
            Some(&message),
            timing.helm,
            timing.wait,
        )
        .await?
        {
            return Ok(());
        }
        sqlx::query(
            "UPDATE stores SET status = 'Failed', phase = 'done', error_message = $2, updated_at = now() WHERE id = $1",
        )
        .bind(store.id)
        .bind(&message)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            &audit::Record {
                actor: &Actor::new(op.requested_by.clone(), Via::Worker),
                action: "store.failed",
                store_id: Some(store.id),
                store_name: Some(&store.name),
                outcome: "failed",
                detail: Some(&message),
            },
        )
        .await?;
        db::notify_store(&mut *tx, store.id).await?;
        tx.commit().await?;
        crate::metrics::provision_finished(false, op);
        Ok(())
    }

    /// Runs a delete operation: uninstall, remove the namespace, wait until
    /// it is really gone, then finalise the record.
    pub async fn delete(&self, op: &Operation, store: &Store) -> Result<(), sqlx::Error> {
        let mut timing = Timing::default();
        let ns = store.namespace.as_str();
        let result: Result<(), String> = async {
            self.phase(op, store, Phase::Uninstalling).await;
            // A namespace left without its binding (an interrupted first
            // step) would refuse the uninstall.
            if matches!(ns_ops::get_namespace(&self.client, ns).await, Ok(Some(_))) {
                self.ensure_binding(store)
                    .await
                    .map_err(|e| format!("step uninstalling: {e}"))?;
            }
            let t = Instant::now();
            self.helm
                .uninstall(&Self::release_name(store), ns, Duration::from_secs(180))
                .await
                .map_err(|e| format!("step uninstalling: {e}"))?;
            timing.helm += t.elapsed();

            self.phase(op, store, Phase::RemovingNamespace).await;
            ns_ops::delete_namespace(&self.client, ns)
                .await
                .map_err(|e| format!("step removing namespace: {e}"))?;
            let deadline = Instant::now() + self.settings.delete_timeout;
            let t = Instant::now();
            self.view.wait_namespace_gone(store.id, ns, deadline).await;
            timing.wait += t.elapsed();
            // The watch cache said so (or time ran out): ask the API server.
            match ns_ops::get_namespace(&self.client, ns).await {
                Ok(None) => Ok(()),
                Ok(Some(still)) => Err(format!(
                    "namespace {ns} still terminating after {}s: {}",
                    self.settings.delete_timeout.as_secs(),
                    ns_ops::terminating_reason(&still)
                )),
                Err(e) => Err(format!("step removing namespace: {e}")),
            }
        }
        .await;

        let mut tx = self.pool.begin().await?;
        let (ok, message) = match &result {
            Ok(()) => (true, None),
            Err(m) => (
                false,
                Some(bound_message(
                    &format!("delete failed: {m}"),
                    MAX_ERROR_CHARS,
                )),
            ),
        };
        if !operations::finish(
            &mut *tx,
            op.id,
            &self.worker_id,
            ok,
            message.as_deref(),
            timing.helm,
            timing.wait,
        )
        .await?
        {
            return Ok(());
        }
        if ok {
            sqlx::query(
                "UPDATE stores SET status = 'Deleted', phase = 'done', deleted_at = now(), updated_at = now() WHERE id = $1",
            )
            .bind(store.id)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("UPDATE stores SET status = 'Failed', phase = 'done', error_message = $2, updated_at = now() WHERE id = $1")
                .bind(store.id)
                .bind(&message)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut *tx,
            &audit::Record {
                actor: &Actor::new(op.requested_by.clone(), Via::Worker),
                action: if ok {
                    "store.deleted"
                } else {
                    "store.delete-failed"
                },
                store_id: Some(store.id),
                store_name: Some(&store.name),
                outcome: if ok { "ok" } else { "failed" },
                detail: message.as_deref(),
            },
        )
        .await?;
        db::notify_store(&mut *tx, store.id).await?;
        tx.commit().await?;
        Ok(())
    }
}
