//! Moving a store's data in and out of its pods: commands run in a
//! container with their output (a dump) or input (a restore) streamed,
//! and the shop's workloads paused and resumed around a restore. Every
//! call acts only in a namespace the caller has checked is the store's
//! (`OwnedNamespace`), on pods carrying the store's id.

use super::STORE_ID_LABEL;
use super::namespace::OwnedNamespace;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::future::Future;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use uuid::Uuid;

const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Where a paused Deployment keeps the replicas it had, so that a resume
/// (even by another worker, after a crash) gives them back.
pub const PAUSED_ANNOTATION: &str = "store-weaver.io/paused-replicas";
/// The stderr kept for an error message.
const MAX_STDERR: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "no running pod of component {component} in namespace {ns}: the store is not up; retry it first"
    )]
    NoPod { ns: String, component: String },
    #[error("Kubernetes API: {what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("`{what}` in {pod}/{container} failed: {message}")]
    Command {
        what: String,
        pod: String,
        container: String,
        message: String,
    },
    #[error("{0}")]
    Stream(String),
}

impl DataError {
    /// Whether the API server could not be reached (not a fault of the store).
    pub fn is_transport(&self) -> bool {
        matches!(self, DataError::Api { source, .. } if super::is_transport(source))
    }
}

fn api_err(what: String) -> impl FnOnce(kube::Error) -> DataError {
    move |source| DataError::Api { what, source }
}

/// The newest running, ready pod of the store's `component`.
pub async fn ready_pod(
    client: &Client,
    ns: &OwnedNamespace,
    store_id: Uuid,
    component: &str,
) -> Result<String, DataError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let lp = ListParams::default().labels(&format!(
        "{STORE_ID_LABEL}={store_id},{COMPONENT_LABEL}={component}"
    ));
    let pods = api
        .list(&lp)
        .await
        .map_err(api_err(format!("listing the pods in {}", ns.name())))?;
    let ready = |p: &Pod| {
        p.metadata.deletion_timestamp.is_none()
            && p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    pods.items
        .iter()
        .filter(|p| ready(p))
        .max_by_key(|p| p.metadata.creation_timestamp.clone())
        .map(|p| p.name_any())
        .ok_or_else(|| DataError::NoPod {
            ns: ns.name().to_string(),
            component: component.to_string(),
        })
}

/// Where a command runs.
pub struct Target<'a> {
    pub ns: &'a OwnedNamespace,
    pub pod: &'a str,
    pub container: &'a str,
    /// What it does, for messages ("dump the database").
    pub what: &'a str,
}

impl Target<'_> {
    fn failed(&self, message: String) -> DataError {
        DataError::Command {
            what: self.what.to_string(),
            pod: self.pod.to_string(),
            container: self.container.to_string(),
            message,
        }
    }
}

/// Starts `argv` in the target's container, its output (and, with `stdin`,
/// its input) streamed.
async fn start(
    client: &Client,
    at: &Target<'_>,
    argv: Vec<String>,
    stdin: bool,
) -> Result<kube::api::AttachedProcess, DataError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), at.ns.name());
    let ap = AttachParams::default()
        .container(at.container)
        .stdin(stdin)
        .stdout(true)
        .stderr(true);
    api.exec(at.pod, argv, &ap).await.map_err(api_err(format!(
        "exec in {}/{}",
        at.ns.name(),
        at.pod
    )))
}

/// Runs `argv` and hands its stdout to `consume` as it comes; the result of
/// `consume` once the command exited successfully, else why it did not.
pub async fn run_reading<T, F, Fut>(
    client: &Client,
    at: &Target<'_>,
    argv: Vec<String>,
    consume: F,
) -> Result<T, DataError>
where
    F: FnOnce(Box<dyn AsyncRead + Send + Unpin>) -> Fut,
    Fut: Future<Output = Result<T, DataError>>,
{
    let mut proc = start(client, at, argv, false).await?;
    let status = proc.take_status();
    let stdout = proc
        .stdout()
        .ok_or_else(|| DataError::Stream("the exec stream has no stdout".into()))?;
    let stderr = proc.stderr();
    // A consumer that gives up (the bucket is gone) stops reading: the
    // stream is aborted at once, else the exec would wait on a full buffer
    // forever (and an aborted stream's stderr never ends).
    let consume = consume(Box::new(stdout));
    let stderr_text = read_stderr(stderr);
    tokio::pin!(consume, stderr_text);
    let mut err = None;
    let consumed = loop {
        tokio::select! {
            r = &mut consume => break r,
            e = &mut stderr_text, if err.is_none() => err = Some(e),
        }
    };
    let consumed = match consumed {
        Ok(v) => v,
        Err(e) => {
            proc.abort();
            return Err(e);
        }
    };
    let err = match err {
        Some(e) => e,
        None => stderr_text.await,
    };
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    let _ = proc.join().await;
    check_status(at, status.as_ref(), &err)?;
    Ok(consumed)
}

/// Runs `argv` with `produce` writing its stdin; Ok once the command read
/// it all and exited successfully.
pub async fn run_writing<F, Fut>(
    client: &Client,
    at: &Target<'_>,
    argv: Vec<String>,
    produce: F,
) -> Result<(), DataError>
where
    F: FnOnce(Box<dyn AsyncWrite + Send + Unpin>) -> Fut,
    Fut: Future<Output = Result<(), DataError>>,
{
    let mut proc = start(client, at, argv, true).await?;
    let status = proc.take_status();
    let stdin = proc
        .stdin()
        .ok_or_else(|| DataError::Stream("the exec stream has no stdin".into()))?;
    let stdout = proc.stdout();
    let stderr = proc.stderr();
    // Dropping the writer (when `produce` is done with it) closes stdin.
    let feed = produce(Box::new(stdin));
    let drain_out = async {
        if let Some(mut o) = stdout {
            let _ = tokio::io::copy(&mut o, &mut tokio::io::sink()).await;
        }
    };
    let side = async { tokio::join!(read_stderr(stderr), drain_out).0 };
    let ended = async {
        match status {
            Some(s) => s.await,
            None => None,
        }
    };
    tokio::pin!(feed, side, ended);
    let (mut fed, mut status, mut err) = (None, None, None);
    // Until the feed, the command and its output have all ended. A command
    // that ends first (it failed) ends the feed too: nothing reads what it
    // would write.
    while fed.is_none() || status.is_none() || err.is_none() {
        tokio::select! {
            r = &mut feed, if fed.is_none() => fed = Some(r),
            st = &mut ended, if status.is_none() => {
                status = Some(st);
                if fed.is_none() {
                    fed = Some(Err(DataError::Stream(
                        "the command ended before it had read everything".into(),
                    )));
                }
            }
            e = &mut side, if err.is_none() => err = Some(e),
        }
    }
    let _ = proc.join().await;
    // The command's own failure says more than the broken pipe it caused.
    check_status(at, status.flatten().as_ref(), &err.unwrap_or_default())?;
    fed.unwrap_or(Ok(()))
}

/// Runs `argv` and returns what it printed (small outputs: counts).
pub async fn run_text(
    client: &Client,
    at: &Target<'_>,
    argv: Vec<String>,
) -> Result<String, DataError> {
    run_reading(client, at, argv, |mut out| async move {
        let mut buf = Vec::new();
        (&mut out)
            .take(64 * 1024)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| DataError::Stream(format!("reading the output: {e}")))?;
        let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
        Ok(String::from_utf8_lossy(&buf).trim().to_string())
    })
    .await
}

async fn read_stderr<R: AsyncRead + Unpin>(r: Option<R>) -> String {
    let Some(mut r) = r else {
        return String::new();
    };
    let mut keep: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                // The heartbeat's NULs are not part of any message.
                keep.extend(buf[..n].iter().filter(|b| **b != 0));
                if keep.len() > MAX_STDERR * 2 {
                    keep.drain(..keep.len() - MAX_STDERR);
                }
            }
        }
    }
    String::from_utf8_lossy(&keep).trim().to_string()
}

fn check_status(
    at: &Target<'_>,
    status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
    stderr: &str,
) -> Result<(), DataError> {
    let (ok, code, message) = super::pods::exit_of(status);
    if ok {
        return Ok(());
    }
    let tail: String = {
        let t = stderr.trim();
        let start = t.len().saturating_sub(600);
        let start = (start..t.len())
            .find(|i| t.is_char_boundary(*i))
            .unwrap_or(0);
        t[start..].to_string()
    };
    let mut msg = match code {
        Some(c) => format!("exit {c}"),
        None => message.unwrap_or_else(|| "no exit status".into()),
    };
    if !tail.is_empty() {
        msg.push_str(": ");
        msg.push_str(&tail);
    }
    Err(at.failed(msg))
}

/// Scales the store's Deployments of these components to zero, keeping
/// their replicas in an annotation; one already paused is left as it is.
pub async fn pause(
    client: &Client,
    ns: &OwnedNamespace,
    store_id: Uuid,
    components: &[&str],
) -> Result<(), DataError> {
    for d in deployments(client, ns, store_id, components).await? {
        if d.annotations().contains_key(PAUSED_ANNOTATION) {
            continue;
        }
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let patch = serde_json::json!({
            "metadata": {"annotations": {PAUSED_ANNOTATION: replicas.to_string()}},
            "spec": {"replicas": 0},
        });
        patch_deployment(client, ns, &d.name_any(), &patch).await?;
    }
    Ok(())
}

/// Gives paused Deployments their replicas back.
pub async fn resume(
    client: &Client,
    ns: &OwnedNamespace,
    store_id: Uuid,
    components: &[&str],
) -> Result<(), DataError> {
    for d in deployments(client, ns, store_id, components).await? {
        let Some(replicas) = d
            .annotations()
            .get(PAUSED_ANNOTATION)
            .and_then(|r| r.parse::<i32>().ok())
        else {
            continue;
        };
        let patch = serde_json::json!({
            "metadata": {"annotations": {PAUSED_ANNOTATION: null}},
            "spec": {"replicas": replicas},
        });
        patch_deployment(client, ns, &d.name_any(), &patch).await?;
    }
    Ok(())
}

async fn deployments(
    client: &Client,
    ns: &OwnedNamespace,
    store_id: Uuid,
    components: &[&str],
) -> Result<Vec<Deployment>, DataError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let lp = ListParams::default().labels(&format!("{STORE_ID_LABEL}={store_id}"));
    let list = api
        .list(&lp)
        .await
        .map_err(api_err(format!("listing the Deployments in {}", ns.name())))?;
    Ok(list
        .items
        .into_iter()
        .filter(|d| {
            d.labels()
                .get(COMPONENT_LABEL)
                .is_some_and(|c| components.contains(&c.as_str()))
        })
        .collect())
}

async fn patch_deployment(
    client: &Client,
    ns: &OwnedNamespace,
    name: &str,
    patch: &serde_json::Value,
) -> Result<(), DataError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(api_err(format!("scaling Deployment {}/{name}", ns.name())))?;
    Ok(())
}
