//! A store's pods for an operator at an incident: which containers it has
//! (init containers included: a failed setup step is where a store breaks),
//! their logs (follow, previous instance, tail, timestamps) with the store's
//! secrets masked, and its engine's incident shell (`wp ...`) run in the
//! container for it through the exec API, the way `kubectl exec` does.
//!
//! Every call checks first that the namespace is the store's (its store-id
//! label, and its uid when one was recorded): a name is not proof of
//! ownership. Pure parts (choosing a container, masking) are separate from
//! the I/O and unit-tested; what a shell may run is the engine's policy
//! (`Shell::check`, in its folder under src/engines).

use super::{CREDENTIALS_SECRET, STORE_ID_LABEL};
pub use crate::engines::ShellMode;
use crate::engines::{self, EngineKind, Shell};
use futures::{AsyncBufRead, AsyncBufReadExt, Stream, StreamExt};
use k8s_openapi::api::core::v1::{ContainerStatus, Namespace, Pod, Secret};
use kube::api::{Api, AttachParams, ListParams, LogParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// The text a secret is replaced with.
pub const MASK: &str = "********";
/// A log line longer than this is cut (and the rest comes as the next line):
/// one runaway line must not take the memory of whoever reads the log.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// wp's output kept, per stream; more is cut with a note.
pub const MAX_EXEC_OUTPUT: usize = 1024 * 1024;
/// A wp command that has not finished by then is stopped.
pub const WP_TIMEOUT: Duration = Duration::from_secs(120);

/// The store whose pods are asked for, as the database knows it.
#[derive(Debug, Clone)]
pub struct StoreRef {
    pub id: Uuid,
    pub namespace: String,
    /// The namespace uid the engine recorded when it created it, if any.
    pub namespace_uid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PodsError {
    #[error("namespace {ns} does not exist (the store has nothing in the cluster)")]
    NoNamespace { ns: String },
    #[error("namespace {ns} is not this store's ({why}); refusing to read or run anything in it")]
    NotOwned { ns: String, why: String },
    #[error("{0}")]
    NoTarget(String),
    /// A pod or container the caller named that the store does not have.
    #[error("{detail}")]
    NoSuch { field: &'static str, detail: String },
    #[error("{0}")]
    Refused(String),
    #[error("wp did not finish within {}s and was stopped", .0.as_secs())]
    Timeout(Duration),
    #[error("Kubernetes API: {action} {what}: {source}")]
    Api {
        action: &'static str,
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("reading {what}: {source}")]
    Stream {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn api_err(action: &'static str, what: impl Into<String>) -> impl FnOnce(kube::Error) -> PodsError {
    let what = what.into();
    move |source| PodsError::Api {
        action,
        what,
        source,
    }
}

// ------------------------------------------------------------------ ownership

/// Whether `ns` (as the API server has it) is the store's: its store-id label
/// is the store's id and, when the engine recorded one, its uid matches.
pub fn check_owned(store: &StoreRef, ns: &Namespace) -> Result<(), PodsError> {
    // One rule for every act: the one the engine uses (cluster::namespace).
    let want = crate::store::NamespaceRef {
        name: store.namespace.clone(),
        store_id: store.id,
        uid: store.namespace_uid.clone(),
    };
    match super::namespace::not_ours(ns, &want) {
        None => Ok(()),
        Some(why) => Err(PodsError::NotOwned {
            ns: store.namespace.clone(),
            why,
        }),
    }
}

async fn ensure_owned(client: &Client, store: &StoreRef) -> Result<(), PodsError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api
        .get_opt(&store.namespace)
        .await
        .map_err(api_err("get", format!("namespace {}", store.namespace)))?
        .ok_or_else(|| PodsError::NoNamespace {
            ns: store.namespace.clone(),
        })?;
    check_owned(store, &ns)
}

// ----------------------------------------------------------------- containers

/// One container of one of the store's pods.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerInfo {
    pub pod: String,
    /// The pod's app.kubernetes.io/component, as the engine's chart names it.
    pub component: String,
    pub container: String,
    pub init: bool,
    pub ready: bool,
    pub restarts: i32,
    /// running, waiting: <reason>, terminated: <reason> (exit N), or unknown.
    pub state: String,
    /// The pod's phase (Running, Pending, ...).
    pub pod_phase: String,
    #[serde(skip)]
    created: Option<chrono::DateTime<chrono::Utc>>,
}

fn state_of(status: Option<&ContainerStatus>) -> (bool, i32, String) {
    let Some(s) = status else {
        return (false, 0, "unknown".into());
    };
    let state = match &s.state {
        Some(st) if st.running.is_some() => "running".to_string(),
        Some(st) if st.waiting.is_some() => format!(
            "waiting: {}",
            st.waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .unwrap_or_default()
        ),
        Some(st) if st.terminated.is_some() => {
            let t = st.terminated.as_ref();
            format!(
                "terminated: {} (exit {})",
                t.and_then(|t| t.reason.clone()).unwrap_or_default(),
                t.map(|t| t.exit_code).unwrap_or_default()
            )
        }
        _ => "unknown".into(),
    };
    (s.ready, s.restart_count, state)
}

/// The containers of a pod, init containers first, in the order they run.
pub fn containers_of(pod: &Pod) -> Vec<ContainerInfo> {
    let name = pod.name_any();
    let component = pod
        .labels()
        .get(COMPONENT_LABEL)
        .cloned()
        .unwrap_or_default();
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let created = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(super::to_chrono);
    let status = pod.status.as_ref();
    let find = |list: Option<&Vec<ContainerStatus>>, c: &str| {
        list.and_then(|l| l.iter().find(|s| s.name == c)).cloned()
    };
    let mut out = Vec::new();
    let spec = pod.spec.as_ref();
    let inits = spec.and_then(|s| s.init_containers.as_ref());
    for (init, list) in [(true, inits), (false, spec.map(|s| &s.containers))] {
        for c in list.into_iter().flatten() {
            let st = if init {
                find(
                    status.and_then(|s| s.init_container_statuses.as_ref()),
                    &c.name,
                )
            } else {
                find(status.and_then(|s| s.container_statuses.as_ref()), &c.name)
            };
            let (ready, restarts, state) = state_of(st.as_ref());
            out.push(ContainerInfo {
                pod: name.clone(),
                component: component.clone(),
                container: c.name.clone(),
                init,
                ready,
                restarts,
                state,
                pod_phase: phase.clone(),
                created,
            });
        }
    }
    out
}

/// The store's pods' containers, newest pod first, init containers first
/// within a pod.
pub async fn containers(
    client: &Client,
    store: &StoreRef,
) -> Result<Vec<ContainerInfo>, PodsError> {
    ensure_owned(client, store).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &store.namespace);
    let lp = ListParams::default().labels(&format!("{STORE_ID_LABEL}={}", store.id));
    let pods = api
        .list(&lp)
        .await
        .map_err(api_err("list", format!("pods in {}", store.namespace)))?;
    let mut pods = pods.items;
    pods.sort_by(|a, b| {
        b.metadata
            .creation_timestamp
            .cmp(&a.metadata.creation_timestamp)
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    Ok(pods.iter().flat_map(containers_of).collect())
}

fn known(list: &[ContainerInfo]) -> String {
    if list.is_empty() {
        return "the store has no pods".into();
    }
    let names: Vec<String> = list
        .iter()
        .map(|c| {
            format!(
                "{}/{}{}",
                c.pod,
                c.container,
                if c.init { " (init)" } else { "" }
            )
        })
        .collect();
    format!("its containers: {}", names.join(", "))
}

/// Which container a logs request means. `container`: by name (the newest
/// pod that has it; `pod` narrows it); none: the engine's main container of
/// the newest pod that has it (the one an operator wants first: the
/// engine's web or API server), else the first main container there is.
pub fn pick_container<'a>(
    list: &'a [ContainerInfo],
    pod: Option<&str>,
    container: Option<&str>,
) -> Result<&'a ContainerInfo, PodsError> {
    let in_pod = |c: &&ContainerInfo| pod.is_none_or(|p| c.pod == p);
    let found = match container {
        Some(name) => list.iter().filter(in_pod).find(|c| c.container == name),
        None => list
            .iter()
            .filter(in_pod)
            .find(|c| {
                // The components of the engines' charts differ, so the
                // first engine whose main container is here is the store's.
                EngineKind::ALL.iter().any(|e| {
                    c.component == e.spec().main_component && c.container == e.spec().main_container
                })
            })
            .or_else(|| list.iter().filter(in_pod).find(|c| !c.init)),
    };
    found.ok_or_else(|| {
        // The field named is the one that matched nothing: a pod that is not
        // the store's, else a container not in it.
        let pod_known = pod.is_none_or(|p| list.iter().any(|c| c.pod == p));
        let (field, what) = match (pod, container) {
            (Some(p), _) if !pod_known => ("pod", format!("no pod {p}")),
            (Some(p), Some(c)) => ("container", format!("no container {c} in pod {p}")),
            (None, Some(c)) => ("container", format!("no container {c}")),
            (Some(p), None) => ("pod", format!("no container to read in pod {p}")),
            (None, None) => return PodsError::NoTarget(format!("no container: {}", known(list))),
        };
        PodsError::NoSuch {
            field,
            detail: format!("{what}: {}", known(list)),
        }
    })
}

// -------------------------------------------------------------------- masking

/// Replaces the store's known secrets in text. Values shorter than
/// `MIN_SECRET` are not secrets worth the name (and would mask ordinary words).
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

const MIN_SECRET: usize = 6;

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Masker {
        let mut secrets: Vec<String> = values
            .into_iter()
            .map(|v| v.trim_end_matches(['\r', '\n']).to_string())
            .filter(|v| v.len() >= MIN_SECRET)
            .collect();
        // Longest first: a secret that contains another is masked whole.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Masker { secrets }
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

/// The store's known secrets: every value of its credentials Secret.
pub async fn masker(client: &Client, store: &StoreRef) -> Result<Masker, PodsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &store.namespace);
    let secret = api.get_opt(CREDENTIALS_SECRET).await.map_err(api_err(
        "get",
        format!("secret {}/{CREDENTIALS_SECRET}", store.namespace),
    ))?;
    // A Secret in the store's namespace that is not the store's (no or
    // another store-id label) is not trusted for anything, not even masking.
    let values = secret
        .filter(|s| s.labels().get(STORE_ID_LABEL) == Some(&store.id.to_string()))
        .and_then(|s| s.data)
        .map(|d| {
            d.into_values()
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(Masker::new(values))
}

// ----------------------------------------------------------------------- logs

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub pod: Option<String>,
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    /// The last N lines only.
    pub tail: Option<i64>,
    pub timestamps: bool,
}

/// Lines of one container's log, secrets masked, each at most
/// [`MAX_LINE_BYTES`]. Ends when the log ends (or, following, when the
/// container's log stream is closed by the API server).
pub type LogLines = Pin<Box<dyn Stream<Item = Result<String, PodsError>> + Send>>;

/// Opens a container's log. `client` should have no read timeout when
/// following (see [`super::streaming_client`]): a quiet log is not a dead one.
pub async fn log_lines(
    client: &Client,
    store: &StoreRef,
    req: &LogRequest,
) -> Result<(ContainerInfo, LogLines), PodsError> {
    let list = containers(client, store).await?;
    let target = pick_container(&list, req.pod.as_deref(), req.container.as_deref())?.clone();
    let mask = masker(client, store).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &store.namespace);
    let lp = LogParams {
        container: Some(target.container.clone()),
        follow: req.follow,
        previous: req.previous,
        tail_lines: req.tail,
        timestamps: req.timestamps,
        ..Default::default()
    };
    let what = format!("the log of {}/{}", target.pod, target.container);
    let reader = api.log_stream(&target.pod, &lp).await.map_err(|e| {
        // The API server's words say it best ("previous terminated container
        // not found", "container is waiting to start", ...).
        api_err("read", what.clone())(e)
    })?;
    let lines = bounded_lines(Box::pin(reader))
        .map(move |line| {
            line.map(|l| mask.mask(&l))
                .map_err(|source| PodsError::Stream {
                    what: what.clone(),
                    source,
                })
        })
        .boxed();
    Ok((target, lines))
}

/// Lines of a reader, without their line end, each cut at
/// [`MAX_LINE_BYTES`] (a longer one continues as the next item).
pub fn bounded_lines<R>(reader: R) -> impl Stream<Item = std::io::Result<String>> + Send
where
    R: AsyncBufRead + Unpin + Send,
{
    futures::stream::unfold((reader, false), |(mut r, done)| async move {
        if done {
            return None;
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = match r.fill_buf().await {
                Ok(c) => c,
                Err(e) => return Some((Err(e), (r, true))),
            };
            if chunk.is_empty() {
                // End of the log: a last line without its newline, or nothing.
                if buf.is_empty() {
                    return None;
                }
                return Some((Ok(text_line(buf)), (r, true)));
            }
            let room = MAX_LINE_BYTES - buf.len();
            let take = chunk.len().min(room);
            if let Some(nl) = chunk[..take].iter().position(|b| *b == b'\n') {
                buf.extend_from_slice(&chunk[..nl]);
                r.consume_unpin(nl + 1);
                return Some((Ok(text_line(buf)), (r, false)));
            }
            buf.extend_from_slice(&chunk[..take]);
            r.consume_unpin(take);
            if buf.len() >= MAX_LINE_BYTES {
                return Some((Ok(text_line(buf)), (r, false)));
            }
        }
    })
}

fn text_line(mut buf: Vec<u8>) -> String {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8_lossy(&buf).into_owned()
}

// ------------------------------------------------------------------------- wp

/// What `wp` printed and how it ended, secrets masked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WpOutput {
    pub pod: String,
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
    /// wp's exit code when the API server reported one.
    pub exit_code: Option<i32>,
    /// The API server's words when it did not succeed.
    pub message: Option<String>,
}

/// The shell `store wp` runs: the engine's incident shell named `wp`.
fn wp_shell() -> Result<&'static Shell, PodsError> {
    engines::shell("wp")
        .map(|(_, shell)| shell)
        .ok_or_else(|| PodsError::NoTarget("no engine has a `wp` shell".into()))
}

/// Checks a `wp` command line before it runs, by the policy of the engine
/// whose shell it is (never a global option that runs code or targets
/// another site; with [`ShellMode::ReadOnly`], only the read allow-list ...).
/// The error says what is allowed.
pub fn check_wp_command(args: &[String], mode: impl Into<ShellMode>) -> Result<(), String> {
    let shell = wp_shell().map_err(|e| e.to_string())?;
    (shell.check)(args, mode.into())
}

/// A shell command line as it may be written down (the audit log): the
/// values of options the engine says carry a password, key or token are
/// replaced by [`MASK`], and known secrets anywhere else too.
pub fn command_for_audit(shell: &Shell, args: &[String], mask: &Masker) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|a| match a.split_once('=') {
            Some((name, _)) if name.starts_with("--") && (shell.secret_option)(name) => {
                format!("{name}={MASK}")
            }
            _ => mask.mask(a),
        })
        .collect();
    format!("{} {}", shell.name, shown.join(" "))
}

/// [`command_for_audit`] for `wp`.
pub fn wp_command_for_audit(args: &[String], mask: &Masker) -> String {
    match wp_shell() {
        Ok(shell) => command_for_audit(shell, args, mask),
        Err(_) => format!("wp {}", mask.mask(&args.join(" "))),
    }
}

/// The newest running pod of the store with the shell's container.
pub fn shell_pod<'a>(
    list: &'a [ContainerInfo],
    shell: &Shell,
) -> Result<&'a ContainerInfo, PodsError> {
    list.iter()
        .find(|c| {
            c.component == shell.component
                && c.container == shell.container
                && c.pod_phase == "Running"
        })
        .ok_or_else(|| {
            PodsError::NoTarget(format!(
                "no running {} pod to run {} in ({})",
                shell.component,
                shell.name,
                known(list)
            ))
        })
}

/// Runs `wp <args>` in the store's container for it and returns what it
/// printed. Refused (before anything runs) by [`check_wp_command`]. Stopped
/// after [`WP_TIMEOUT`]. `client` should have no read timeout (a quiet wp
/// command is not a dead one): see [`super::streaming_client`].
pub async fn run_wp(
    client: &Client,
    store: &StoreRef,
    args: &[String],
    mode: impl Into<ShellMode>,
) -> Result<WpOutput, PodsError> {
    let shell = wp_shell()?;
    (shell.check)(args, mode.into()).map_err(PodsError::Refused)?;
    let list = containers(client, store).await?;
    let pod = shell_pod(&list, shell)?.pod.clone();
    let mask = masker(client, store).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &store.namespace);
    let ap = AttachParams::default()
        .container(shell.container)
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let run = async {
        let mut proc = api
            .exec(&pod, shell.argv_for(args), &ap)
            .await
            .map_err(api_err("exec in", format!("pod {}/{pod}", store.namespace)))?;
        let status = proc.take_status();
        let (out, err) = tokio::join!(read_capped(proc.stdout()), read_capped(proc.stderr()));
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = proc.join().await;
        Ok::<_, PodsError>((out, err, status))
    };
    let (out, err, status) = tokio::time::timeout(WP_TIMEOUT, run)
        .await
        .map_err(|_| PodsError::Timeout(WP_TIMEOUT))??;
    let (success, exit_code, message) = exit_of(status.as_ref());
    Ok(WpOutput {
        pod,
        stdout: mask.mask(&out),
        stderr: mask.mask(&err),
        success,
        exit_code,
        message: message.map(|m| mask.mask(&m)),
    })
}

async fn read_capped<R: tokio::io::AsyncRead + Unpin>(reader: Option<R>) -> String {
    let Some(r) = reader else {
        return String::new();
    };
    let mut buf = Vec::new();
    let mut limited = r.take(MAX_EXEC_OUTPUT as u64 + 1);
    let _ = limited.read_to_end(&mut buf).await;
    let cut = buf.len() > MAX_EXEC_OUTPUT;
    buf.truncate(MAX_EXEC_OUTPUT);
    // Drain the rest so the remote side is not blocked on a full pipe.
    let mut rest = limited.into_inner();
    let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if cut {
        text.push_str(&format!(
            "\n[output cut at {} KiB]\n",
            MAX_EXEC_OUTPUT / 1024
        ));
    }
    text
}

/// Success, exit code and message from the exec's final status. No status
/// at all means the stream ended without one: not a success we can vouch for.
pub fn exit_of(
    status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
) -> (bool, Option<i32>, Option<String>) {
    let Some(s) = status else {
        return (
            false,
            None,
            Some("the API server closed the exec stream without a status".into()),
        );
    };
    if s.status.as_deref() == Some("Success") {
        return (true, Some(0), None);
    }
    let code = s
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.trim().parse().ok())
        });
    // Some kubelets (kwok among them) report the exit only in the message:
    // "... error executing command in container: ...: exit status 1".
    let code = code.or_else(|| {
        let m = s.message.as_deref()?;
        let at = m.rfind("exit status ")? + "exit status ".len();
        let digits: String = m[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    });
    (false, code, s.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, PodSpec, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        ObjectMeta, Status, StatusCause, StatusDetails,
    };
    use std::collections::BTreeMap;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn ns_with(label: Option<&str>, uid: &str) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some("store-acme".into()),
                uid: Some(uid.into()),
                labels: label.map(|l| {
                    BTreeMap::from([
                        (STORE_ID_LABEL.to_string(), l.to_string()),
                        (
                            super::super::MANAGED_BY_LABEL.to_string(),
                            super::super::MANAGED_BY.to_string(),
                        ),
                    ])
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn ownership_needs_the_label_and_the_recorded_uid() {
        let id = Uuid::new_v4();
        let mut store = StoreRef {
            id,
            namespace: "store-acme".into(),
            namespace_uid: None,
        };
        assert!(check_owned(&store, &ns_with(Some(&id.to_string()), "u1")).is_ok());
        let err = check_owned(&store, &ns_with(Some("someone-else"), "u1")).unwrap_err();
        assert!(
            err.to_string().contains("belongs to another store")
                && !err.to_string().contains("someone-else"),
            "{err}"
        );
        let err = check_owned(&store, &ns_with(None, "u1")).unwrap_err();
        assert!(
            err.to_string().contains("app.kubernetes.io/managed-by"),
            "{err}"
        );
        store.namespace_uid = Some("u1".into());
        assert!(check_owned(&store, &ns_with(Some(&id.to_string()), "u1")).is_ok());
        // Same name and label, but a namespace made again since: not ours.
        let err = check_owned(&store, &ns_with(Some(&id.to_string()), "u2")).unwrap_err();
        assert!(err.to_string().contains("uid is u2"), "{err}");
    }

    fn pod(
        name: &str,
        component: &str,
        inits: &[&str],
        mains: &[&str],
        phase: &str,
        age_s: i64,
    ) -> Pod {
        let created = chrono::Utc::now() - chrono::Duration::seconds(age_s);
        let ts = k8s_openapi::jiff::Timestamp::from_second(created.timestamp()).expect("timestamp");
        let cs = |n: &&str| Container {
            name: n.to_string(),
            ..Default::default()
        };
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(
                    COMPONENT_LABEL.to_string(),
                    component.to_string(),
                )])),
                creation_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts)),
                ..Default::default()
            },
            spec: Some(PodSpec {
                init_containers: Some(inits.iter().map(cs).collect()),
                containers: mains.iter().map(cs).collect(),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                container_statuses: Some(
                    mains
                        .iter()
                        .map(|n| ContainerStatus {
                            name: n.to_string(),
                            ready: true,
                            restart_count: 2,
                            state: Some(ContainerState {
                                running: Some(ContainerStateRunning::default()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    /// A store of the default engine: its main pod twice (a new one not
    /// running yet, an old one running) and a database pod.
    fn store_containers() -> Vec<ContainerInfo> {
        let e = EngineKind::default().spec();
        let main = |name, phase, age| {
            pod(
                name,
                e.main_component,
                &["copy-files", "setup-store"],
                &[e.main_container],
                phase,
                age,
            )
        };
        let web_new = main("store-web-new", "Pending", 5);
        let web_old = main("store-web-old", "Running", 500);
        let db = pod("store-db-0", "database", &[], &["db"], "Running", 900);
        [web_new, web_old, db]
            .iter()
            .flat_map(containers_of)
            .collect()
    }

    #[test]
    fn containers_list_init_first_with_their_state() {
        let list = store_containers();
        let first: Vec<(&str, bool)> = list
            .iter()
            .take(3)
            .map(|c| (c.container.as_str(), c.init))
            .collect();
        assert_eq!(
            first,
            vec![
                ("copy-files", true),
                ("setup-store", true),
                (EngineKind::default().spec().main_container, false)
            ]
        );
        assert_eq!(list[2].state, "running");
        assert_eq!(list[2].restarts, 2);
        assert_eq!(list[0].state, "unknown", "no status yet");
    }

    #[test]
    fn picking_a_container() {
        let list = store_containers();
        let c = pick_container(&list, None, None).unwrap();
        assert_eq!(
            (c.pod.as_str(), c.container.as_str()),
            ("store-web-new", EngineKind::default().spec().main_container)
        );
        let c = pick_container(&list, None, Some("setup-store")).unwrap();
        assert!(
            c.init && c.pod == "store-web-new",
            "the newest pod that has it"
        );
        let c = pick_container(&list, Some("store-web-old"), Some("setup-store")).unwrap();
        assert_eq!(c.pod, "store-web-old");
        let c = pick_container(&list, None, Some("db")).unwrap();
        assert_eq!(c.component, "database");
        let err = pick_container(&list, None, Some("nginx"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no container nginx") && err.contains("store-db-0/db"),
            "{err}"
        );
        assert!(err.contains("setup-store (init)"), "{err}");
        let err = pick_container(&[], None, None).unwrap_err().to_string();
        assert!(err.contains("no pods"), "{err}");
    }

    fn test_shell() -> Shell {
        let e = EngineKind::default().spec();
        Shell {
            name: "sh",
            component: e.main_component,
            container: e.main_container,
            argv: &["/bin/sh", "-c"],
            check: |_, _| Ok(()),
            secret_option: |name| name.contains("pass"),
        }
    }

    #[test]
    fn a_shell_runs_in_the_newest_running_pod_of_its_container() {
        let list = store_containers();
        let shell = test_shell();
        assert_eq!(shell_pod(&list, &shell).unwrap().pod, "store-web-old");
        let only_db: Vec<ContainerInfo> = list
            .into_iter()
            .filter(|c| c.component == "database")
            .collect();
        let err = shell_pod(&only_db, &shell).unwrap_err().to_string();
        assert!(
            err.contains(&format!("no running {} pod to run sh", shell.component)),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_masked_longest_first() {
        let m = Masker::new(s(&[
            "hunter2-long-secret",
            "hunter2-long",
            "abc",
            "sal7-y-value\n",
        ]));
        assert_eq!(m.len(), 3, "too short to be a secret: abc");
        assert_eq!(
            m.mask("pw=hunter2-long-secret and hunter2-long, sal7-y-value; abc"),
            format!("pw={MASK} and {MASK}, {MASK}; abc")
        );
        assert_eq!(m.mask("nothing here"), "nothing here");
        assert!(Masker::default().is_empty());
    }

    #[test]
    fn audit_lines_hide_passwords_given_on_the_command_line() {
        let m = Masker::new(s(&["known-secret-value"]));
        let shell = test_shell();
        assert_eq!(
            command_for_audit(
                &shell,
                &s(&["user", "update", "--new_pass=n3w-pw", "--display_name=Ann"]),
                &m
            ),
            format!("sh user update --new_pass={MASK} --display_name=Ann")
        );
        assert_eq!(
            command_for_audit(&shell, &s(&["set", "x", "known-secret-value"]), &m),
            format!("sh set x {MASK}")
        );
        // `wp` goes by its engine's word for a secret option.
        assert_eq!(
            wp_command_for_audit(&s(&["user", "update", "--user_pass=n3w-pw"]), &m),
            format!("wp user update --user_pass={MASK}")
        );
    }

    #[test]
    fn exec_status_gives_the_exit_code() {
        let ok = Status {
            status: Some("Success".into()),
            ..Default::default()
        };
        assert_eq!(exit_of(Some(&ok)), (true, Some(0), None));
        let failed = Status {
            status: Some("Failure".into()),
            message: Some("command terminated with non-zero exit code: exit status 3".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some("3".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (success, code, msg) = exit_of(Some(&failed));
        assert!(!success);
        assert_eq!(code, Some(3));
        assert!(msg.unwrap_or_default().contains("non-zero exit code"));
        let kwok = Status {
            status: Some("Failure".into()),
            message: Some("Internal error occurred: error executing command in container: cmd wait: /bin/sh -c x: exit status 7".into()),
            ..Default::default()
        };
        assert_eq!(exit_of(Some(&kwok)).1, Some(7));
        assert!(!exit_of(None).0, "no status is not a success");
    }

    #[tokio::test]
    async fn lines_are_bounded_and_split() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let input = format!("first\r\nsecond\n{long}\nlast without newline");
        let reader = futures::io::BufReader::new(futures::io::Cursor::new(input.into_bytes()));
        let lines: Vec<String> = bounded_lines(reader).map(|l| l.unwrap()).collect().await;
        assert_eq!(lines[0], "first");
        assert_eq!(lines[1], "second");
        assert_eq!(lines[2].len(), MAX_LINE_BYTES);
        assert_eq!(lines[3], "x".repeat(10));
        assert_eq!(lines[4], "last without newline");
        assert_eq!(lines.len(), 5);
    }
}
