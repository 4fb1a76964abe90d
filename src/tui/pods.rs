//! The console's side of pod logs, `wp` and the doctor: what `effects`
//! calls, answering in the console's message types. The cluster work itself
//! belongs to `cluster` (log streaming and exec) and the doctor's checks;
//! until those land this adapter lists containers and streams logs with the
//! plain pod API, and says plainly what is not there yet.

use super::msg::{CheckState, ContainerRef, DoctorCheck, LogRequest, Msg, WpOutput};
use crate::store::Actor;
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::{Client, ResourceExt};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

/// Lines are sent in batches: at most this many, or what arrived within
/// `BATCH_WAIT`, so a chatty pod costs one message per frame, not per line.
const BATCH_LINES: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(30);

/// Every container of every pod in the store's namespace, init containers
/// first (in their run order), pods by name.
pub async fn containers(client: &Client, ns: &str) -> Result<Vec<ContainerRef>, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut pods = api.list(&ListParams::default()).await?.items;
    pods.sort_by_key(|p| p.name_any());
    Ok(pod_containers(&pods))
}

pub fn pod_containers(pods: &[Pod]) -> Vec<ContainerRef> {
    let mut out = Vec::new();
    for p in pods {
        let Some(spec) = &p.spec else { continue };
        let pod = p.name_any();
        for c in spec.init_containers.iter().flatten() {
            out.push(ContainerRef {
                pod: pod.clone(),
                container: c.name.clone(),
                init: true,
            });
        }
        for c in &spec.containers {
            out.push(ContainerRef {
                pod: pod.clone(),
                container: c.name.clone(),
                init: false,
            });
        }
    }
    out
}

/// Streams one container's log as `Msg::LogLines` batches until it ends or
/// the task is aborted; then `Msg::LogEnded`.
pub async fn stream_logs(client: Client, req: LogRequest, stream: u64, tx: UnboundedSender<Msg>) {
    let api: Api<Pod> = Api::namespaced(client, &req.namespace);
    let lp = LogParams {
        container: Some(req.container.clone()),
        follow: req.follow,
        previous: req.previous,
        tail_lines: Some(i64::from(req.tail)),
        // Always asked for; the pane shows or hides them without a new request.
        timestamps: true,
        ..LogParams::default()
    };
    let reader = match api.log_stream(&req.pod, &lp).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Msg::LogEnded {
                stream,
                error: Some(crate::engine::bound_message(&format!("{e:#}"), 300)),
            });
            return;
        }
    };
    let mut lines = std::pin::pin!(reader.lines());
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
        while batch.len() < BATCH_LINES {
            match tokio::time::timeout_at(deadline, lines.next()).await {
                Ok(Some(Ok(l))) => batch.push(l),
                Ok(Some(Err(e))) => {
                    error = Some(e.to_string());
                    let _ = tx.send(Msg::LogLines {
                        stream,
                        lines: batch,
                    });
                    break 'outer;
                }
                Ok(None) => {
                    let _ = tx.send(Msg::LogLines {
                        stream,
                        lines: batch,
                    });
                    break 'outer;
                }
                Err(_) => break,
            }
        }
        if tx
            .send(Msg::LogLines {
                stream,
                lines: batch,
            })
            .is_err()
        {
            return;
        }
    }
    let _ = tx.send(Msg::LogEnded { stream, error });
}

/// Runs `wp ARGS` in the store's WordPress pod.
pub async fn wp(
    _client: &Client,
    _pool: &PgPool,
    _actor: &Actor,
    _id: Uuid,
    _ns: &str,
    _args: Vec<String>,
) -> Result<WpOutput, String> {
    Err("running wp needs the cluster exec API, which this build does not have yet".into())
}

pub async fn doctor() -> Result<Vec<DoctorCheck>, String> {
    Ok(vec![DoctorCheck {
        name: "doctor".into(),
        state: CheckState::Warn,
        detail: "the doctor's checks are not in this build yet".into(),
        fix: Some("run `store-weaver config` and `scripts/sandbox status` meanwhile".into()),
    }])
}
