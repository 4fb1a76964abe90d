//! Why a store failed, kept before the failure cleanup deletes its
//! namespace and with it the only logs and events that said so: the last
//! lines of every failed or restarting container's log and the namespace's
//! Warning events, the store's secrets masked, bounded. Read only inside a
//! namespace checked to be the store's.

use super::detail::{self, EventLine};
use super::namespace::OwnedNamespace;
use super::pods::{self, Masker, StoreRef};
use crate::text::bound_message;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use std::future::Future;
use std::time::Duration;

/// The most the evidence takes (of a 4 KiB error message).
pub const MAX_EVIDENCE: usize = 3000;
/// Lines of each container's log kept.
const LOG_LINES: i64 = 12;
/// What one container's log may take in the evidence.
const LOG_CHARS: usize = 700;
/// Containers whose logs are read, at most.
const MAX_CONTAINERS: usize = 4;
/// Warning events kept, newest first.
const MAX_EVENTS: usize = 8;
const EVENT_CHARS: usize = 240;
/// One API call; the whole gathering is bounded by its caller.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A container whose log says why (pure): it failed, or restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Troubled {
    pub pod: String,
    pub container: String,
    /// Read the previous instance's log: the current one runs again.
    pub previous: bool,
    /// "exit 1 (Error)", "restarted 3 times, last exit 1 (Error)".
    pub why: String,
}

fn troubled_one(pod: &str, cs: &ContainerStatus) -> Option<Troubled> {
    let state = cs.state.as_ref();
    let now = state.and_then(|s| s.terminated.as_ref());
    if now.is_some_and(|t| t.exit_code == 0) {
        return None;
    }
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let exit = |t: &k8s_openapi::api::core::v1::ContainerStateTerminated| {
        format!(
            "exit {} ({})",
            t.exit_code,
            t.reason.as_deref().unwrap_or("Error")
        )
    };
    let (previous, why) = if let Some(t) = now {
        (false, exit(t))
    } else if cs.restart_count > 0 {
        let last = last
            .map(|t| format!(", last {}", exit(t)))
            .unwrap_or_default();
        // A container running again: its crashed instance is the previous
        // one; one waiting to restart: the last instance is the crashed one.
        (
            state.is_some_and(|s| s.running.is_some()),
            format!("restarted {} times{last}", cs.restart_count),
        )
    } else {
        return None;
    };
    Some(Troubled {
        pod: pod.to_string(),
        container: cs.name.clone(),
        previous,
        why,
    })
}

/// The containers of these pods worth reading, init containers first.
pub fn troubled(pods: &[Pod]) -> Vec<Troubled> {
    let mut out = Vec::new();
    for p in pods {
        let name = p.metadata.name.as_deref().unwrap_or("?");
        let Some(st) = &p.status else { continue };
        let all = st
            .init_container_statuses
            .iter()
            .flatten()
            .chain(st.container_statuses.iter().flatten());
        out.extend(all.filter_map(|cs| troubled_one(name, cs)));
    }
    out
}

/// What was read of one container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    pub container: Troubled,
    /// The last lines, or why they could not be read.
    pub text: Result<String, String>,
}

/// The evidence as one text (pure): events, then logs, each part cut to its
/// share, everything masked, the whole at most `max` bytes.
pub fn compose(events: &[EventLine], logs: &[LogTail], mask: &Masker, max: usize) -> String {
    let mut parts = Vec::new();
    // The same warning about the same object once, its counts added.
    let mut merged: Vec<EventLine> = Vec::new();
    for e in events.iter().filter(|e| e.warning) {
        match merged
            .iter_mut()
            .find(|m| m.reason == e.reason && m.object == e.object && m.message == e.message)
        {
            Some(m) => m.count += e.count.max(1),
            None => merged.push(e.clone()),
        }
    }
    let warnings: Vec<String> = merged
        .iter()
        .take(MAX_EVENTS)
        .map(|e| {
            let times = if e.count > 1 {
                format!(" (×{})", e.count)
            } else {
                String::new()
            };
            // Masked before it is cut: a cut must not leave half a secret.
            bound_message(
                &mask.mask(&format!("{} {}: {}{times}", e.reason, e.object, e.message)),
                EVENT_CHARS,
            )
        })
        .collect();
    if !warnings.is_empty() {
        parts.push(format!("warning events: {}", warnings.join("; ")));
    }
    for l in logs {
        let c = &l.container;
        let which = if c.previous { "previous " } else { "" };
        let text = match &l.text {
            Ok(t) if t.trim().is_empty() => "(empty)".to_string(),
            Ok(t) => super::health::message_tail(&mask.mask(t), LOG_CHARS),
            Err(e) => format!("(not readable: {})", bound_message(&mask.mask(e), 200)),
        };
        parts.push(format!(
            "{which}log of {}/{} ({}): {text}",
            c.pod, c.container, c.why
        ));
    }
    // One line: every face shows it (and a terminal gets no raw newlines).
    bound_message(&parts.join(" — "), max)
}

async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer in {}s", CALL_TIMEOUT.as_secs())),
    }
}

/// Reads what the store's namespace says about a failure. Never fails: what
/// could not be read is said so in the text. Logs are left out when the
/// store's Secret cannot be read to mask them.
pub async fn gather(client: &Client, owned: &OwnedNamespace, store: &StoreRef) -> String {
    let ns = owned.name();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let all = ListParams::default();
    let (pods, events, mask) = tokio::join!(
        bounded("listing pods", api.list(&all)),
        bounded("listing events", detail::events(client, owned)),
        bounded("reading the store's Secret", pods::masker(client, store)),
    );
    let mut notes = Vec::new();
    let events = events.unwrap_or_else(|e| {
        notes.push(e);
        Vec::new()
    });
    let mut logs = Vec::new();
    match (pods, &mask) {
        (Ok(list), Ok(_)) => {
            for c in troubled(&list.items).into_iter().take(MAX_CONTAINERS) {
                let text = read_tail(&api, &c).await;
                logs.push(LogTail { container: c, text });
            }
        }
        (Err(e), _) => notes.push(e),
        (_, Err(e)) => notes.push(format!("logs left out ({e})")),
    }
    let mask = mask.unwrap_or_default();
    let mut text = compose(&events, &logs, &mask, MAX_EVIDENCE);
    if !notes.is_empty() {
        let said = mask.mask(&notes.join("; "));
        text = bound_message(
            &[text, said]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            MAX_EVIDENCE,
        );
    }
    text
}

/// The end of one container's log; the other instance when this one has
/// none (a container that never ran again, or a previous that is gone).
async fn read_tail(api: &Api<Pod>, c: &Troubled) -> Result<String, String> {
    let params = |previous: bool| LogParams {
        container: Some(c.container.clone()),
        previous,
        tail_lines: Some(LOG_LINES),
        limit_bytes: Some(16 * 1024),
        ..Default::default()
    };
    let what = format!("the log of {}/{}", c.pod, c.container);
    match bounded(&what, api.logs(&c.pod, &params(c.previous))).await {
        Ok(t) => Ok(t),
        Err(first) => bounded(&what, api.logs(&c.pod, &params(!c.previous)))
            .await
            .map_err(|_| first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(statuses: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-0"},
            "status": statuses
        }))
        .unwrap()
    }

    #[test]
    fn failed_and_restarting_containers_are_read_the_others_not() {
        let p = pod(serde_json::json!({
            "initContainerStatuses": [
                {"name": "init-ok", "image": "", "imageID": "", "ready": true, "restartCount": 1,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}},
                {"name": "setup", "image": "", "imageID": "", "ready": false, "restartCount": 2,
                 "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
            ],
            "containerStatuses": [
                {"name": "db", "image": "", "imageID": "", "ready": true, "restartCount": 3,
                 "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}},
                {"name": "web", "image": "", "imageID": "", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "fine", "image": "", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {}}},
                {"name": "pulling", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]
        }));
        let t = troubled(&[p]);
        let seen: Vec<(&str, bool, &str)> = t
            .iter()
            .map(|c| (c.container.as_str(), c.previous, c.why.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("setup", false, "exit 1 (Error)"),
                ("db", true, "restarted 3 times, last exit 137 (OOMKilled)"),
                ("web", false, "restarted 4 times"),
            ]
        );
    }

    fn event(reason: &str, warning: bool, count: i32) -> EventLine {
        EventLine {
            at: None,
            warning,
            reason: reason.into(),
            object: "pod/web-1".into(),
            message: "0/3 nodes are available".into(),
            count,
        }
    }

    #[test]
    fn the_evidence_is_masked_and_bounded() {
        let logs = [LogTail {
            container: Troubled {
                pod: "db-0".into(),
                container: "db".into(),
                previous: true,
                why: "restarted 3 times".into(),
            },
            text: Ok("starting\nusing password hunter2-very-secret\nERROR: disk full\n".into()),
        }];
        let mask = Masker::new(["hunter2-very-secret".to_string()]);
        let text = compose(
            &[
                event("FailedScheduling", true, 3),
                event("Scheduled", false, 1),
                event("FailedScheduling", true, 1),
            ],
            &logs,
            &mask,
            MAX_EVIDENCE,
        );
        assert_eq!(
            text,
            "warning events: FailedScheduling pod/web-1: 0/3 nodes are available (×4) — \
             previous log of db-0/db (restarted 3 times): starting | using password ******** | ERROR: disk full"
        );
        let many: Vec<LogTail> = (0..20)
            .map(|i| LogTail {
                container: Troubled {
                    pod: format!("p-{i}"),
                    ..logs[0].container.clone()
                },
                text: Ok("x".repeat(5000)),
            })
            .collect();
        let text = compose(&[], &many, &mask, MAX_EVIDENCE);
        assert!(text.len() <= MAX_EVIDENCE, "{}", text.len());
        assert_eq!(compose(&[], &[], &mask, MAX_EVIDENCE), "");
    }
}
