//! The console's side of pod logs, `wp` and the doctor: what `effects`
//! calls, answering in the console's message types. The work itself is
//! `incident` (ownership checks, secrets masked, every act audited, the
//! same for the CLI and the API), `cluster::pods` and `doctor`.

use super::msg::{CheckState, ContainerRef, DoctorCheck, LogRequest, Msg, WpOutput};
use crate::cluster::pods::{self, ContainerInfo};
use crate::config::Settings;
use crate::doctor;
use crate::incident::{self, Target};
use crate::store::Actor;
use futures::StreamExt;
use kube::Client;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

/// Lines are sent in batches: at most this many, or what arrived within
/// `BATCH_WAIT`, so a chatty pod costs one message per frame, not per line.
const BATCH_LINES: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(30);

fn target(id: Uuid, namespace: &str, name: &str) -> Target {
    Target::new(id, namespace, Some(name.to_string()))
}

fn container_ref(c: &ContainerInfo) -> ContainerRef {
    let restarts = if c.restarts > 0 {
        format!(", {} restarts", c.restarts)
    } else {
        String::new()
    };
    ContainerRef {
        pod: c.pod.clone(),
        container: c.container.clone(),
        init: c.init,
        state: format!("{}{restarts}", c.state),
    }
}

/// The store's containers (init containers included), after checking that
/// the namespace is the store's.
pub async fn containers(client: &Client, id: Uuid, ns: &str) -> Result<Vec<ContainerRef>, String> {
    let t = target(id, ns, "");
    pods::containers(client, &t.store)
        .await
        .map(|list| list.iter().map(container_ref).collect())
        .map_err(|e| e.to_string())
}

/// Streams one container's log as `Msg::LogLines` batches until it ends or
/// the task is aborted; then `Msg::LogEnded`. Opening it is audited.
pub async fn stream_logs(
    client: Client,
    pool: PgPool,
    actor: Actor,
    req: LogRequest,
    stream: u64,
    tx: UnboundedSender<Msg>,
) {
    let t = target(req.id, &req.namespace, &req.name);
    let lr = pods::LogRequest {
        pod: Some(req.pod.clone()),
        container: Some(req.container.clone()),
        follow: req.follow,
        previous: req.previous,
        tail: Some(i64::from(req.tail)),
        // Always asked for; the pane shows or hides them without a new request.
        timestamps: true,
    };
    let mut lines = match incident::logs(&pool, &client, &actor, &t, &lr).await {
        Ok((_, lines)) => lines,
        Err(e) => {
            let _ = tx.send(Msg::LogEnded {
                stream,
                error: Some(e.to_string()),
            });
            return;
        }
    };
    let mut error = None;
    'outer: loop {
        let first = match lines.next().await {
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                error = Some(e.to_string());
                break;
            }
            None => break,
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        let mut end = false;
        while batch.len() < BATCH_LINES {
            match tokio::time::timeout_at(deadline, lines.next()).await {
                Ok(Some(Ok(l))) => batch.push(l),
                Ok(Some(Err(e))) => {
                    error = Some(e.to_string());
                    end = true;
                    break;
                }
                Ok(None) => {
                    end = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let sent = tx.send(Msg::LogLines {
            stream,
            lines: batch,
        });
        if sent.is_err() {
            return;
        }
        if end {
            break 'outer;
        }
    }
    let _ = tx.send(Msg::LogEnded { stream, error });
}

/// Runs `wp ARGS` in the store's pod for it, audited with who ran it.
#[allow(clippy::too_many_arguments)]
pub async fn wp(
    client: &Client,
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    ns: &str,
    name: &str,
    args: Vec<String>,
    read_only: bool,
) -> Result<WpOutput, String> {
    let t = target(id, ns, name);
    match incident::wp(pool, client, actor, &t, &args, read_only).await {
        Ok(o) => Ok(WpOutput {
            stdout: o.stdout,
            stderr: match o.message {
                Some(m) if !o.success && o.stderr.is_empty() => m,
                _ => o.stderr,
            },
            exit_code: o.exit_code.or(if o.success { Some(0) } else { None }),
        }),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn doctor(settings: &Settings) -> Vec<DoctorCheck> {
    doctor::run(settings, doctor::DEFAULT_REPLICAS)
        .await
        .checks
        .into_iter()
        .map(|c| DoctorCheck {
            name: c.name.to_string(),
            state: match c.level {
                doctor::Level::Ok => CheckState::Ok,
                doctor::Level::Warn | doctor::Level::Skip => CheckState::Warn,
                doctor::Level::Fail => CheckState::Fail,
            },
            detail: c.detail,
            fix: c.fix,
        })
        .collect()
}
