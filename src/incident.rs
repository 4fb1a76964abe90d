//! Audited incident actions on one store, shared by every face (command
//! line, console, HTTP API): read a container's log, run `wp`. The cluster
//! work is `cluster::pods`; this adds the audit entries (who did what, when,
//! how it ended) so that no face can forget them.
//!
//! Audit actions: `store.logs` (`ok` when the log was opened, `failed`) and
//! `store.wp` (`refused` before anything runs; otherwise `accepted` before it
//! runs — nothing runs that is not on record — then `ok`/`failed` with the
//! exit code).

use crate::cluster::pods::{
    self, ContainerInfo, LogLines, LogRequest, PodsError, StoreRef, WpOutput,
};
use crate::db::audit::{self, Action, Outcome};
use crate::store::{Actor, Store};
use sqlx::PgPool;
use uuid::Uuid;

/// The store acted on: what the cluster side needs, and its name for the
/// audit log.
#[derive(Debug, Clone)]
pub struct Target {
    pub store: StoreRef,
    pub name: Option<String>,
}

impl Target {
    pub fn new(id: Uuid, namespace: impl Into<String>, name: Option<String>) -> Target {
        Target {
            store: StoreRef {
                id,
                namespace: namespace.into(),
                // Unknown here: `Target::of` fills it in from the record.
                namespace_uid: None,
            },
            name,
        }
    }

    /// The store's target, with the namespace uid the engine recorded, so
    /// a namespace re-created under the same name is refused.
    pub fn of(s: &Store) -> Target {
        let mut t = Target::new(s.id, s.namespace.clone(), Some(s.name.clone()));
        t.store.namespace_uid = s.namespace_uid.clone();
        t
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Pods(#[from] PodsError),
    #[error("not done: the audit log cannot be written ({0})")]
    Audit(#[source] sqlx::Error),
}

async fn record(
    pool: &PgPool,
    actor: &Actor,
    action: Action,
    t: &Target,
    outcome: Outcome,
    detail: &str,
) -> Result<(), IncidentError> {
    let r = audit::Record {
        actor,
        action,
        store_id: Some(t.store.id),
        store_name: t.name.as_deref(),
        outcome,
        detail: Some(detail),
    };
    audit::record(pool, &r).await.map_err(IncidentError::Audit)
}

/// Opens a container's log (masked), recorded as `store.logs`. Use a client
/// without read timeout when following (`cluster::streaming_client`).
pub async fn logs(
    pool: &PgPool,
    client: &kube::Client,
    actor: &Actor,
    t: &Target,
    req: &LogRequest,
) -> Result<(ContainerInfo, LogLines), IncidentError> {
    match pods::log_lines(client, &t.store, req).await {
        Ok((target, lines)) => {
            let detail = format!(
                "{}/{}{}{}{}",
                target.pod,
                target.container,
                if req.previous { ", previous" } else { "" },
                if req.follow { ", follow" } else { "" },
                req.tail.map(|n| format!(", last {n}")).unwrap_or_default()
            );
            record(pool, actor, Action::Logs, t, Outcome::Ok, &detail).await?;
            Ok((target, lines))
        }
        Err(e) => {
            // The failure is on record too; the caller gets the cluster's reason.
            let _ = record(
                pool,
                actor,
                Action::Logs,
                t,
                Outcome::Failed,
                &e.to_string(),
            )
            .await;
            Err(e.into())
        }
    }
}

/// Runs `wp <args>` in the store's container for it, audited as
/// `store.wp` (the command line with password-like option values masked).
pub async fn wp(
    pool: &PgPool,
    client: &kube::Client,
    actor: &Actor,
    t: &Target,
    args: &[String],
    mode: impl Into<pods::ShellMode>,
) -> Result<WpOutput, IncidentError> {
    let mode = mode.into();
    let shown = pods::wp_command_for_audit(args, &pods::Masker::default());
    let shown = if mode == pods::ShellMode::Unsafe {
        format!("{shown} (--unsafe)")
    } else {
        shown
    };
    if let Err(why) = pods::check_wp_command(args, mode) {
        record(
            pool,
            actor,
            Action::Wp,
            t,
            Outcome::Refused,
            &format!("{shown}: {why}"),
        )
        .await?;
        return Err(PodsError::Refused(why).into());
    }
    record(pool, actor, Action::Wp, t, Outcome::Accepted, &shown).await?;
    match pods::run_wp(client, &t.store, args, mode).await {
        Ok(out) => {
            let outcome = if out.success {
                Outcome::Ok
            } else {
                Outcome::Failed
            };
            let code = out
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default();
            // The command ran: a lost outcome entry must not hide its output.
            if let Err(e) = record(
                pool,
                actor,
                Action::Wp,
                t,
                outcome,
                &format!("{shown}{code} in {}", out.pod),
            )
            .await
            {
                tracing::warn!(error = %e, "cannot write the outcome of a wp command to the audit log");
            }
            Ok(out)
        }
        Err(e) => {
            let _ = record(
                pool,
                actor,
                Action::Wp,
                t,
                Outcome::Failed,
                &format!("{shown}: {e}"),
            )
            .await;
            Err(e.into())
        }
    }
}
