//! A store's health derived from its workloads and pods. Pure: the watches
//! feed it, tests feed it hand-made objects.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// No workload of the store is known to the cluster.
    Missing,
    Progressing,
    Ready,
    Degraded,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Missing => "missing",
            HealthState::Progressing => "progressing",
            HealthState::Ready => "ready",
            HealthState::Degraded => "degraded",
        }
    }
}

/// What the cluster shows of a store right now (from the watches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub state: HealthState,
    /// What a person needs to know, e.g. "deployment/web 0/1 ready;
    /// pod web-x: ImagePullBackOff".
    pub summary: String,
    pub ready_workloads: usize,
    pub workloads: usize,
}

/// Waiting reasons that will not fix themselves.
const BAD_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    // pullPolicy Never and the image is not on the node: nothing will pull it.
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Waiting reasons an upgrade does not wait out (see [`stuck`]): a wrong
/// image or a missing Secret key stays wrong until the template changes.
const STUCK_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// Restarts after which a container in CrashLoopBackOff counts as stuck: one
/// crash can be a dependency that was not up yet, a couple are a pattern.
pub const STUCK_RESTARTS: i32 = 2;

/// The longest part of a container's own message quoted in a summary.
const MESSAGE_CHARS: usize = 400;

/// The end of a container's message on one line: the last lines of a log
/// say what went wrong, the first say what started.
pub fn message_tail(text: &str, max: usize) -> String {
    let one_line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if one_line.len() <= max {
        return one_line;
    }
    let mut start = one_line.len() - max.saturating_sub('…'.len_utf8());
    while !one_line.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &one_line[start..])
}

/// Why this pod will not become ready by itself, or None: a container
/// waiting for a reason that does not pass (a wrong image, a missing Secret
/// key), or crashing again and again. A pod being deleted is going anyway.
pub fn stuck(pod: &Pod) -> Option<String> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let status = pod.status.as_ref()?;
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in status.init_container_statuses.iter().flatten() {
        if cs.restart_count >= STUCK_RESTARTS
            && let Some(failure) = init_failure(pod, cs)
        {
            return Some(format!("pod {name}: {failure}"));
        }
    }
    for cs in statuses {
        let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = w.reason.as_deref().unwrap_or("");
        let msg = w
            .message
            .as_deref()
            .map(|m| format!(" ({})", message_tail(m, MESSAGE_CHARS)))
            .unwrap_or_default();
        if STUCK_WAITING.contains(&reason) {
            return Some(format!("pod {name}: container {}: {reason}{msg}", cs.name));
        }
        if reason == "CrashLoopBackOff" && cs.restart_count >= STUCK_RESTARTS {
            let last = cs
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| {
                    let said = t
                        .message
                        .as_deref()
                        .map(|m| format!(": {}", message_tail(m, MESSAGE_CHARS)))
                        .unwrap_or_default();
                    format!("; last exit {}{said}", t.exit_code)
                })
                .unwrap_or_default();
            return Some(format!(
                "pod {name}: container {}: CrashLoopBackOff after {} restarts{last}",
                cs.name, cs.restart_count
            ));
        }
    }
    None
}

/// How an init container that failed looks (pure): a real kubelet reports
/// it between retries as `terminated: Error` (then `running` again with
/// the failure in `lastState`), not as CrashLoopBackOff, so a waiting
/// reason alone misses it. None for a sidecar (an init container that runs
/// beside the others) and for one that has completed. Quotes the end of
/// its termination message (with `FallbackToLogsOnError`, its log's end).
pub fn init_failure(pod: &Pod, cs: &ContainerStatus) -> Option<String> {
    let sidecar = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|cs_spec| cs_spec.iter().find(|c| c.name == cs.name))
        .is_some_and(|c| c.restart_policy.as_deref() == Some("Always"));
    if sidecar {
        return None;
    }
    let state = cs.state.as_ref();
    let now = state.and_then(|s| s.terminated.as_ref());
    if now.is_some_and(|t| t.exit_code == 0) {
        return None;
    }
    let failed = |t: &&ContainerStateTerminated| t.exit_code != 0;
    let t = now.filter(failed).or_else(|| {
        cs.last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .filter(failed)
    })?;
    let restarts = match cs.restart_count {
        0 => String::new(),
        1 => ", restarted once".to_string(),
        n => format!(", restarted {n} times"),
    };
    let said = t
        .message
        .as_deref()
        .map(|m| message_tail(m, MESSAGE_CHARS))
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Some(format!(
        "init container {} failed ({}, exit {}{restarts}){said}",
        cs.name,
        t.reason.as_deref().unwrap_or("Error"),
        t.exit_code
    ))
}

/// A workload's readiness: the one rule both the store's health and the
/// resource pane of its detail use, so they cannot disagree ("1/1
/// Available" next to a Progressing store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollout {
    pub ready: i32,
    pub want: i32,
    /// Enough replicas ready *of the current spec*: a Deployment's ready
    /// replicas may still be the old ones while a rollout has not updated
    /// them, and a status not yet observed for the latest generation says
    /// nothing about it.
    pub ok: bool,
}

/// Whether the controller has reported on the object's latest spec.
fn observed_current(observed: Option<i64>, generation: Option<i64>) -> bool {
    observed.unwrap_or(0) >= generation.unwrap_or(0)
}

/// A Deployment: ready and updated replicas both reach the wanted count, no
/// pod of an older template is left, and its status is for the current
/// generation.
pub fn deployment_rollout(d: &Deployment) -> Rollout {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = d.status.as_ref();
    let ready = st.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = st.and_then(|s| s.updated_replicas).unwrap_or(0);
    // Pods of the old template still counted: a rollout under way.
    let all = st.and_then(|s| s.replicas).unwrap_or(0);
    let current = observed_current(
        st.and_then(|s| s.observed_generation),
        d.metadata.generation,
    );
    Rollout {
        ready,
        want,
        ok: ready >= want && updated >= want && all <= want && current,
    }
}

/// A StatefulSet: ready replicas reach the wanted count, every pod runs the
/// latest template, and its status is for the current generation.
pub fn statefulset_rollout(s: &StatefulSet) -> Rollout {
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = s.status.as_ref();
    let ready = st.and_then(|s| s.ready_replicas).unwrap_or(0);
    // Every pod on the latest template (when the controller says which).
    let rolled = st.is_none_or(|s| match (&s.current_revision, &s.update_revision) {
        (Some(cur), Some(upd)) => cur == upd,
        _ => true,
    });
    let current = observed_current(
        st.and_then(|s| s.observed_generation),
        s.metadata.generation,
    );
    Rollout {
        ready,
        want,
        ok: ready >= want && rolled && current,
    }
}

pub struct Objects<'a> {
    pub deployments: &'a [&'a Deployment],
    pub statefulsets: &'a [&'a StatefulSet],
    pub jobs: &'a [&'a Job],
    pub pods: &'a [&'a Pod],
}

/// `expected`: workload names ("deployment/x") that must exist before the
/// store can be ready; empty means "whatever exists".
pub fn derive(o: &Objects<'_>, expected: &[String]) -> Health {
    let mut lines: Vec<String> = Vec::new();
    let mut ready = 0usize;
    let mut total = 0usize;
    let mut seen: Vec<String> = Vec::new();

    for d in o.deployments {
        let name = format!("deployment/{}", d.metadata.name.as_deref().unwrap_or("?"));
        let r = deployment_rollout(d);
        total += 1;
        if r.ok {
            ready += 1;
        } else {
            lines.push(format!("{name} {}/{} ready", r.ready, r.want));
        }
        seen.push(name);
    }
    for s in o.statefulsets {
        let name = format!("statefulset/{}", s.metadata.name.as_deref().unwrap_or("?"));
        let r = statefulset_rollout(s);
        total += 1;
        if r.ok {
            ready += 1;
        } else {
            lines.push(format!("{name} {}/{} ready", r.ready, r.want));
        }
        seen.push(name);
    }

    let mut degraded: Vec<String> = Vec::new();
    for j in o.jobs {
        let name = j.metadata.name.as_deref().unwrap_or("?");
        let failed = j
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Failed" && c.status == "True"));
        if failed {
            degraded.push(format!("job/{name} failed"));
        }
    }
    for p in o.pods {
        let name = p.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &p.status else { continue };
        let mut failed_inits: Vec<&str> = Vec::new();
        for cs in status.init_container_statuses.iter().flatten() {
            if let Some(failure) = init_failure(p, cs) {
                degraded.push(format!("pod {name}: {failure}"));
                failed_inits.push(&cs.name);
            }
        }
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .filter(|cs| !failed_inits.contains(&cs.name.as_str()))
            .chain(status.container_statuses.iter().flatten());
        for cs in statuses {
            if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                let reason = w.reason.as_deref().unwrap_or("");
                if BAD_WAITING.contains(&reason) {
                    let msg = w
                        .message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default();
                    degraded.push(format!("pod {name}: {reason}{msg}"));
                }
            }
        }
        if status.phase.as_deref() == Some("Failed") {
            let reason = status.reason.as_deref().unwrap_or("Failed");
            degraded.push(format!("pod {name}: {reason}"));
        } else if status.phase.as_deref() == Some("Pending") {
            let unschedulable = status.conditions.iter().flatten().find(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            });
            if let Some(c) = unschedulable {
                lines.push(format!(
                    "pod {name}: unschedulable ({})",
                    c.message.as_deref().unwrap_or("no node fits")
                ));
            }
        }
    }

    let missing: Vec<&String> = expected.iter().filter(|e| !seen.contains(e)).collect();
    for m in &missing {
        lines.push(format!("{m} not created yet"));
    }

    let state = if !degraded.is_empty() {
        HealthState::Degraded
    } else if total == 0 {
        HealthState::Missing
    } else if ready == total && missing.is_empty() {
        HealthState::Ready
    } else {
        HealthState::Progressing
    };
    degraded.extend(lines);
    let summary = match state {
        HealthState::Ready => format!("{ready}/{total} workloads ready"),
        HealthState::Missing if degraded.is_empty() => "no workloads found".to_string(),
        _ => degraded.join("; "),
    };
    Health {
        state,
        summary,
        ready_workloads: ready,
        workloads: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        DeploymentSpec, DeploymentStatus, StatefulSetSpec, StatefulSetStatus,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            generation: Some(1),
            ..Default::default()
        }
    }

    fn deploy(name: &str, want: i32, ready: i32) -> Deployment {
        Deployment {
            metadata: meta(name),
            spec: Some(DeploymentSpec {
                replicas: Some(want),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                ready_replicas: Some(ready),
                updated_replicas: Some(ready),
                observed_generation: Some(1),
                ..Default::default()
            }),
        }
    }

    fn sts(name: &str, want: i32, ready: i32) -> StatefulSet {
        StatefulSet {
            metadata: meta(name),
            spec: Some(StatefulSetSpec {
                replicas: Some(want),
                ..Default::default()
            }),
            status: Some(StatefulSetStatus {
                ready_replicas: Some(ready),
                observed_generation: Some(1),
                ..Default::default()
            }),
        }
    }

    fn waiting_pod(name: &str, reason: &str) -> Pod {
        Pod {
            metadata: meta(name),
            spec: None,
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "web".into(),
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some(reason.into()),
                            message: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn health(d: &[Deployment], s: &[StatefulSet], p: &[Pod], expected: &[&str]) -> Health {
        let d: Vec<&Deployment> = d.iter().collect();
        let s: Vec<&StatefulSet> = s.iter().collect();
        let p: Vec<&Pod> = p.iter().collect();
        let expected: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
        derive(
            &Objects {
                deployments: &d,
                statefulsets: &s,
                jobs: &[],
                pods: &p,
            },
            &expected,
        )
    }

    #[test]
    fn all_workloads_ready_is_ready() {
        let h = health(&[deploy("web", 1, 1)], &[sts("db", 1, 1)], &[], &[]);
        assert_eq!(h.state, HealthState::Ready);
        assert_eq!(h.summary, "2/2 workloads ready");
    }

    #[test]
    fn a_rollout_under_way_is_not_ready_while_old_pods_remain() {
        // The new pod is stuck; the old one is still ready (an upgrade).
        let mut d = deploy("web", 1, 1);
        if let Some(st) = d.status.as_mut() {
            st.replicas = Some(2);
        }
        let h = health(&[d], &[], &[], &[]);
        assert_eq!(h.state, HealthState::Progressing);
        let mut s = sts("db", 1, 1);
        if let Some(st) = s.status.as_mut() {
            st.current_revision = Some("db-1".into());
            st.update_revision = Some("db-2".into());
        }
        assert_eq!(health(&[], &[s], &[], &[]).state, HealthState::Progressing);
    }

    #[test]
    fn a_workload_short_of_replicas_is_progressing_and_named() {
        let h = health(&[deploy("web", 1, 0)], &[sts("db", 1, 1)], &[], &[]);
        assert_eq!(h.state, HealthState::Progressing);
        assert_eq!(h.summary, "deployment/web 0/1 ready");
    }

    #[test]
    fn a_bad_pod_makes_the_store_degraded_with_the_reason() {
        let h = health(
            &[deploy("web", 1, 0)],
            &[],
            &[waiting_pod("web-abc", "ImagePullBackOff")],
            &[],
        );
        assert_eq!(h.state, HealthState::Degraded);
        assert!(
            h.summary.starts_with("pod web-abc: ImagePullBackOff"),
            "{}",
            h.summary
        );
        assert!(
            h.summary.contains("deployment/web 0/1 ready"),
            "{}",
            h.summary
        );
    }

    #[test]
    fn an_expected_workload_not_yet_seen_blocks_ready() {
        let h = health(
            &[],
            &[sts("db", 1, 1)],
            &[],
            &["deployment/web", "statefulset/db"],
        );
        assert_eq!(h.state, HealthState::Progressing);
        assert!(h.summary.contains("deployment/web not created yet"));
    }

    fn crash_looping(restarts: i32) -> Pod {
        let mut p = waiting_pod("web-1", "CrashLoopBackOff");
        let cs = &mut p
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0];
        cs.restart_count = restarts;
        cs.last_state = Some(ContainerState {
            terminated: Some(k8s_openapi::api::core::v1::ContainerStateTerminated {
                exit_code: 1,
                message: Some("PHP Fatal error:  Uncaught Error\nin /srv/app/settings.php".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        p
    }

    #[test]
    fn a_pod_that_will_not_start_by_itself_is_stuck_and_one_that_may_is_not() {
        for reason in [
            "ErrImagePull",
            "ImagePullBackOff",
            "ErrImageNeverPull",
            "InvalidImageName",
            "CreateContainerConfigError",
        ] {
            let why = stuck(&waiting_pod("web-1", reason)).expect(reason);
            assert_eq!(why, format!("pod web-1: container web: {reason}"));
        }
        // Starting up, or waiting for a volume: it may get there.
        assert_eq!(stuck(&waiting_pod("web-1", "ContainerCreating")), None);
        assert_eq!(stuck(&waiting_pod("web-1", "PodInitializing")), None);
        // One crash can be a database not up yet; a couple are a pattern.
        assert_eq!(stuck(&crash_looping(1)), None);
        let why = stuck(&crash_looping(STUCK_RESTARTS)).expect("crash loop");
        assert_eq!(
            why,
            "pod web-1: container web: CrashLoopBackOff after 2 restarts; last exit 1: PHP Fatal error:  Uncaught Error | in /srv/app/settings.php"
        );
        // A pod being deleted goes anyway.
        let mut going = waiting_pod("web-1", "ImagePullBackOff");
        going.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        assert_eq!(stuck(&going), None);
    }

    #[test]
    fn a_message_tail_keeps_the_end_on_one_line() {
        assert_eq!(message_tail("a\n\n  b  \nc\n", 100), "a | b | c");
        let long = format!("{}END", "é".repeat(200));
        let t = message_tail(&long, 20);
        assert!(t.len() <= 20, "{t}");
        assert!(t.starts_with('…') && t.ends_with("END"), "{t}");
    }

    /// A store's web pod whose setup step fails, as a real kubelet (v1.37,
    /// containerd) reported it between two retries; `setup` is the
    /// setup-store container's status, the rest as it was.
    fn kubelet_pod(setup: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "shop-web-6d5c9f7b8-x2k4q", "namespace": "store-shop"},
            "spec": {
                "initContainers": [
                    {"name": "copy-files", "image": "web:1.0",
                     "terminationMessagePolicy": "FallbackToLogsOnError"},
                    {"name": "setup-store", "image": "web:cli-1.0",
                     "terminationMessagePolicy": "FallbackToLogsOnError"}
                ],
                "containers": [{"name": "web", "image": "web:1.0"}]
            },
            "status": {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True"},
                    {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                     "message": "containers with incomplete status: [setup-store]"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unready status: [web]"},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unready status: [web]"},
                    {"type": "PodScheduled", "status": "True"}
                ],
                "initContainerStatuses": [
                    {"name": "copy-files", "image": "docker.io/library/web:1.0",
                     "imageID": "sha256:0b1c", "containerID": "containerd://4f2a", "ready": true,
                     "restartCount": 0, "started": false,
                     "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                        "startedAt": "2026-12-05T09:12:01Z", "finishedAt": "2026-12-05T09:12:03Z",
                        "containerID": "containerd://4f2a"}}},
                    setup
                ],
                "containerStatuses": [
                    {"name": "web", "image": "web:1.0", "imageID": "",
                     "ready": false, "restartCount": 0, "started": false,
                     "state": {"waiting": {"reason": "PodInitializing"}}}
                ]
            }
        }))
        .expect("a kubelet's pod")
    }

    const NO_PLUGINS: &str = "Downloading the shop...\nWarning: shop: An unexpected error occurred.\nError: Nothing installed.\n";

    fn setup_status(restarts: i32, state: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "name": "setup-store", "image": "docker.io/library/web:cli-1.0",
            "imageID": "sha256:9e7d", "containerID": "containerd://77c1", "ready": false,
            "restartCount": restarts, "started": false, "state": state,
            "lastState": if restarts > 0 { serde_json::json!({"terminated": {
                "exitCode": 1, "reason": "Error", "message": NO_PLUGINS,
                "startedAt": "2026-12-05T09:12:04Z", "finishedAt": "2026-12-05T09:12:19Z",
                "containerID": "containerd://5a90"}}) } else { serde_json::json!({}) }
        })
    }

    fn pod_health(p: &Pod) -> Health {
        health(
            &[deploy("shop-web", 1, 0)],
            &[],
            std::slice::from_ref(p),
            &[],
        )
    }

    #[test]
    fn a_setup_step_that_fails_and_restarts_is_degraded_with_its_message() {
        let error = serde_json::json!({"terminated": {
            "exitCode": 1, "reason": "Error", "message": NO_PLUGINS,
            "startedAt": "2026-12-05T09:12:31Z", "finishedAt": "2026-12-05T09:12:46Z",
            "containerID": "containerd://77c1"}});
        // Between retries: terminated Error (no CrashLoopBackOff).
        let between = kubelet_pod(setup_status(2, error.clone()));
        let h = pod_health(&between);
        assert_eq!(h.state, HealthState::Degraded, "{}", h.summary);
        assert!(
            h.summary.starts_with(
                "pod shop-web-6d5c9f7b8-x2k4q: init container setup-store failed (Error, exit 1, restarted 2 times): Downloading the shop... | Warning: shop: An unexpected error occurred. | Error: Nothing installed."
            ),
            "{}",
            h.summary
        );
        // Its first failure, before any restart.
        let first = pod_health(&kubelet_pod(setup_status(0, error)));
        assert_eq!(first.state, HealthState::Degraded, "{}", first.summary);
        assert!(
            first.summary.contains("failed (Error, exit 1):"),
            "{}",
            first.summary
        );
        // Running again after failing: the failure is in lastState.
        let running = serde_json::json!({"running": {"startedAt": "2026-12-05T09:13:20Z"}});
        let again = pod_health(&kubelet_pod(setup_status(3, running)));
        assert_eq!(again.state, HealthState::Degraded, "{}", again.summary);
        assert!(
            again.summary.contains("restarted 3 times): Downloading"),
            "{}",
            again.summary
        );
        // In back-off: the same failure, said once.
        let backoff = serde_json::json!({"waiting": {"reason": "CrashLoopBackOff",
            "message": "back-off 40s restarting failed container=setup-store"}});
        let waiting = pod_health(&kubelet_pod(setup_status(3, backoff)));
        assert_eq!(waiting.state, HealthState::Degraded);
        assert_eq!(
            waiting.summary.matches("setup-store").count(),
            1,
            "{}",
            waiting.summary
        );

        // Twice: stuck (an upgrade stops waiting); once: it may still pass.
        assert!(stuck(&between).is_some_and(|w| w.contains("init container setup-store failed")));
        let once = kubelet_pod(setup_status(1, serde_json::json!({"running": {}})));
        assert_eq!(stuck(&once), None);
    }

    #[test]
    fn a_setup_step_that_failed_once_then_completed_is_not_degraded() {
        let done = serde_json::json!({"terminated": {"exitCode": 0, "reason": "Completed",
            "startedAt": "2026-12-05T09:12:31Z", "finishedAt": "2026-12-05T09:13:02Z"}});
        let mut p = kubelet_pod(setup_status(1, done));
        let st = p.status.as_mut().unwrap();
        st.phase = Some("Running".into());
        st.container_statuses.as_mut().unwrap()[0].state = Some(ContainerState {
            running: Some(Default::default()),
            ..Default::default()
        });
        let h = health(&[deploy("shop-web", 1, 1)], &[], &[p], &[]);
        assert_eq!(h.state, HealthState::Ready, "{}", h.summary);
    }

    #[test]
    fn a_sidecar_is_not_a_setup_step() {
        let running = serde_json::json!({"running": {"startedAt": "2026-12-05T09:13:20Z"}});
        let mut p = kubelet_pod(setup_status(2, running));
        p.spec.as_mut().unwrap().init_containers.as_mut().unwrap()[1].restart_policy =
            Some("Always".into());
        assert_ne!(pod_health(&p).state, HealthState::Degraded);
    }

    #[test]
    fn nothing_is_missing() {
        assert_eq!(health(&[], &[], &[], &[]).state, HealthState::Missing);
    }

    #[test]
    fn a_stale_generation_is_not_ready() {
        let mut d = deploy("web", 1, 1);
        d.metadata.generation = Some(2);
        assert_eq!(health(&[d], &[], &[], &[]).state, HealthState::Progressing);
    }
}
