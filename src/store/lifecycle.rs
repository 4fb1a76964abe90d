//! The lifecycle rules in one place: for a store's status and a request,
//! either the transition the request makes (the operation it queues, the
//! status the store has at once, the status it settles at when the
//! operation succeeds) or why it is refused. Pure. The engine queues what
//! [`decide`] says, the CLI's `--wait` waits for [`Transition::settles`],
//! the API's 409s and the console's messages give [`Refusal::reason`].

use super::Status;
use serde::Serialize;
use std::fmt;

/// The kind of operation a request queues; a worker that claims it runs the
/// matching steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Provision,
    Delete,
    Upgrade,
    Rollback,
    Backup,
    Restore,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Provision,
        Kind::Delete,
        Kind::Upgrade,
        Kind::Rollback,
        Kind::Backup,
        Kind::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provision => "provision",
            Kind::Delete => "delete",
            Kind::Upgrade => "upgrade",
            Kind::Rollback => "rollback",
            Kind::Backup => "backup",
            Kind::Restore => "restore",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can be asked of a store, through any face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    Create,
    /// A failed provision is provisioned again, a failed delete deleted again.
    Retry,
    Delete,
    /// An upgrade or a change of settings of a running store.
    Upgrade,
    Rollback,
    /// Reading the store's admin credentials (its engine's admin): changes
    /// nothing, but only while they exist.
    Credentials,
    /// A backup of a running store's database and files.
    Backup,
    /// A backup's data written back into the store, in place.
    Restore,
    /// A deleted store brought back from its final backup.
    Undelete,
}

impl Request {
    pub const ALL: [Request; 9] = [
        Request::Create,
        Request::Retry,
        Request::Delete,
        Request::Upgrade,
        Request::Rollback,
        Request::Credentials,
        Request::Backup,
        Request::Restore,
        Request::Undelete,
    ];

    /// The verb of messages: "cannot {verb} store …".
    pub fn verb(self) -> &'static str {
        match self {
            Request::Create => "create",
            Request::Retry => "retry",
            Request::Delete => "delete",
            Request::Upgrade => "upgrade",
            Request::Rollback => "roll back",
            Request::Credentials => "reveal the credentials of",
            Request::Backup => "back up",
            Request::Restore => "restore",
            Request::Undelete => "undelete",
        }
    }
}

/// What an accepted request does to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub request: Request,
    /// The operation queued; None for a request that only reads.
    pub operation: Option<Kind>,
    /// The store's status as soon as the request is accepted.
    pub now: Status,
    /// The status it settles at once the operation succeeded (a failed one
    /// ends elsewhere: Failed, DeleteFailed, or Ready on its old settings).
    pub settles: Status,
}

impl Transition {
    /// What happens next, in words for the faces ("retry of X accepted: …").
    pub fn next(&self) -> &'static str {
        match (self.request, self.operation) {
            (Request::Retry, Some(Kind::Provision)) => "provisioning queued again",
            (Request::Retry, Some(Kind::Delete)) => {
                "the delete runs again: uninstalling and removing its namespace"
            }
            (_, Some(Kind::Provision)) => "provisioning queued",
            (_, Some(Kind::Delete)) => "uninstalling and removing its namespace",
            (_, Some(Kind::Upgrade)) => "upgrade queued",
            (_, Some(Kind::Rollback)) => "rollback queued",
            (Request::Undelete, _) => "provisioning it again from its final backup",
            (_, Some(Kind::Backup)) => "backup queued",
            (_, Some(Kind::Restore)) => {
                "restore queued: the shop pauses while its data is replaced"
            }
            (_, None) => "nothing changes",
        }
    }
}

/// Why a request is refused for a store in `status` (None: no such store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub request: Request,
    pub status: Option<Status>,
    /// Why, and what to do instead.
    pub reason: &'static str,
}

impl Refusal {
    /// The refusal as one sentence, the same on every face:
    /// `cannot retry store "Shop" while it is Ready; only Failed …`.
    pub fn message(&self, name: &str) -> String {
        match self.status {
            Some(status) => format!(
                "cannot {} store \"{name}\" while it is {status}; {}",
                self.request.verb(),
                self.reason
            ),
            None => format!(
                "cannot {} store \"{name}\": {}",
                self.request.verb(),
                self.reason
            ),
        }
    }

    /// Short, after the store's name in a list: `is Ready; only Failed …`.
    pub fn why(&self) -> String {
        match self.status {
            Some(status) => format!("is {status}; {}", self.reason),
            None => self.reason.to_string(),
        }
    }
}

/// The one rule: may a store in `status` (None: there is no store yet) take
/// `request`, and where does it go.
pub fn decide(status: Option<Status>, request: Request) -> Result<Transition, Refusal> {
    use Status::*;
    let go = |operation, now, settles| {
        Ok(Transition {
            request,
            operation,
            now,
            settles,
        })
    };
    let refuse = |reason| {
        Err(Refusal {
            request,
            status,
            reason,
        })
    };
    let Some(status) = status else {
        return match request {
            Request::Create => go(Some(Kind::Provision), Provisioning, Ready),
            _ => refuse("there is no such store"),
        };
    };
    match (request, status) {
        (Request::Create, _) => refuse("it exists already; choose another name"),
        (Request::Credentials, Deleting | DeleteFailed | Deleted) => {
            refuse("its credentials are gone")
        }
        (Request::Undelete, Deleted) => go(Some(Kind::Provision), Provisioning, Ready),
        (Request::Undelete, _) => refuse("only deleted stores can be undeleted"),
        (Request::Restore, Deleted) => {
            refuse("it is deleted; undelete it from its final backup instead")
        }
        // The record is kept for its history; nothing more happens to it.
        (_, Deleted) => refuse(
            "it is deleted; undelete it while its final backup is kept, or create a new store",
        ),
        (Request::Retry, Failed) => go(Some(Kind::Provision), Provisioning, Ready),
        // Never a re-provision of a store its owner wanted gone.
        (Request::Retry, DeleteFailed) => go(Some(Kind::Delete), Deleting, Deleted),
        (Request::Retry, _) => {
            refuse("only Failed stores can be retried (a failed delete is retried as a delete)")
        }
        (Request::Delete, Deleting) => refuse("it is already being deleted"),
        (Request::Delete, _) => go(Some(Kind::Delete), Deleting, Deleted),
        (Request::Upgrade, Ready) => go(Some(Kind::Upgrade), Ready, Ready),
        (Request::Rollback, Ready) => go(Some(Kind::Rollback), Ready, Ready),
        (Request::Backup, Ready) => go(Some(Kind::Backup), Ready, Ready),
        (Request::Backup, _) => refuse("only Ready stores can be backed up"),
        (Request::Restore, Ready | Failed) => go(Some(Kind::Restore), Restoring, Ready),
        (Request::Restore, _) => {
            refuse("only Ready or Failed stores can be restored; wait for its operation to end")
        }
        (Request::Upgrade | Request::Rollback, _) => {
            refuse("only Ready stores can be changed; retry a Failed one first")
        }
        (Request::Credentials, _) => go(None, status, status),
    }
}

/// The transition an accepted `request` made, known from the status the
/// store has right after it (`now`): the answer the engine gives back is the
/// store, and what the CLI waits for and the console says follows from it.
/// [`decide`] keeps `now` unique per request (a unit test checks), so this
/// is exact.
pub fn accepted(request: Request, now: Status) -> Option<Transition> {
    std::iter::once(None)
        .chain(Status::ALL.map(Some))
        .filter_map(|from| decide(from, request).ok())
        .find(|t| t.now == now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// Every (status, request) pair: the operation queued, the status now
    /// and the one it settles at, or the refusal's reason.
    #[test]
    fn every_status_and_request_has_one_answer() {
        type Row = (
            Option<Status>,
            Request,
            Result<(Option<Kind>, Status, Status), &'static str>,
        );
        const RETRY_ONLY_FAILED: &str =
            "only Failed stores can be retried (a failed delete is retried as a delete)";
        const CHANGE_ONLY_READY: &str =
            "only Ready stores can be changed; retry a Failed one first";
        const DELETED: &str =
            "it is deleted; undelete it while its final backup is kept, or create a new store";
        const ONLY_READY_BACKUP: &str = "only Ready stores can be backed up";
        const RESTORE_WAIT: &str =
            "only Ready or Failed stores can be restored; wait for its operation to end";
        const ONLY_DELETED: &str = "only deleted stores can be undeleted";
        const EXISTS: &str = "it exists already; choose another name";
        const NO_STORE: &str = "there is no such store";
        const GONE: &str = "its credentials are gone";
        use Request::*;
        let p = Some(Kind::Provision);
        let d = Some(Kind::Delete);
        let u = Some(Kind::Upgrade);
        let r = Some(Kind::Rollback);
        let b = Some(Kind::Backup);
        let rs = Some(Kind::Restore);
        let table: Vec<Row> = vec![
            (None, Create, Ok((p, Provisioning, Ready))),
            (None, Retry, Err(NO_STORE)),
            (None, Delete, Err(NO_STORE)),
            (None, Upgrade, Err(NO_STORE)),
            (None, Rollback, Err(NO_STORE)),
            (None, Credentials, Err(NO_STORE)),
            (Some(Provisioning), Create, Err(EXISTS)),
            (Some(Provisioning), Retry, Err(RETRY_ONLY_FAILED)),
            (Some(Provisioning), Delete, Ok((d, Deleting, Deleted))),
            (Some(Provisioning), Upgrade, Err(CHANGE_ONLY_READY)),
            (Some(Provisioning), Rollback, Err(CHANGE_ONLY_READY)),
            (
                Some(Provisioning),
                Credentials,
                Ok((None, Provisioning, Provisioning)),
            ),
            (Some(Ready), Create, Err(EXISTS)),
            (Some(Ready), Retry, Err(RETRY_ONLY_FAILED)),
            (Some(Ready), Delete, Ok((d, Deleting, Deleted))),
            (Some(Ready), Upgrade, Ok((u, Ready, Ready))),
            (Some(Ready), Rollback, Ok((r, Ready, Ready))),
            (Some(Ready), Credentials, Ok((None, Ready, Ready))),
            (Some(Failed), Create, Err(EXISTS)),
            (Some(Failed), Retry, Ok((p, Provisioning, Ready))),
            (Some(Failed), Delete, Ok((d, Deleting, Deleted))),
            (Some(Failed), Upgrade, Err(CHANGE_ONLY_READY)),
            (Some(Failed), Rollback, Err(CHANGE_ONLY_READY)),
            (Some(Failed), Credentials, Ok((None, Failed, Failed))),
            (Some(Deleting), Create, Err(EXISTS)),
            (Some(Deleting), Retry, Err(RETRY_ONLY_FAILED)),
            (Some(Deleting), Delete, Err("it is already being deleted")),
            (Some(Deleting), Upgrade, Err(CHANGE_ONLY_READY)),
            (Some(Deleting), Rollback, Err(CHANGE_ONLY_READY)),
            (Some(Deleting), Credentials, Err(GONE)),
            (Some(DeleteFailed), Create, Err(EXISTS)),
            (Some(DeleteFailed), Retry, Ok((d, Deleting, Deleted))),
            (Some(DeleteFailed), Delete, Ok((d, Deleting, Deleted))),
            (Some(DeleteFailed), Upgrade, Err(CHANGE_ONLY_READY)),
            (Some(DeleteFailed), Rollback, Err(CHANGE_ONLY_READY)),
            (Some(DeleteFailed), Credentials, Err(GONE)),
            (Some(Deleted), Create, Err(EXISTS)),
            (Some(Deleted), Retry, Err(DELETED)),
            (Some(Deleted), Delete, Err(DELETED)),
            (Some(Deleted), Upgrade, Err(DELETED)),
            (Some(Deleted), Rollback, Err(DELETED)),
            (Some(Deleted), Credentials, Err(GONE)),
            (None, Backup, Err(NO_STORE)),
            (None, Restore, Err(NO_STORE)),
            (None, Undelete, Err(NO_STORE)),
            (Some(Provisioning), Backup, Err(ONLY_READY_BACKUP)),
            (Some(Provisioning), Restore, Err(RESTORE_WAIT)),
            (Some(Provisioning), Undelete, Err(ONLY_DELETED)),
            (Some(Ready), Backup, Ok((b, Ready, Ready))),
            (Some(Ready), Restore, Ok((rs, Restoring, Ready))),
            (Some(Ready), Undelete, Err(ONLY_DELETED)),
            (Some(Failed), Backup, Err(ONLY_READY_BACKUP)),
            (Some(Failed), Restore, Ok((rs, Restoring, Ready))),
            (Some(Failed), Undelete, Err(ONLY_DELETED)),
            (Some(Deleting), Backup, Err(ONLY_READY_BACKUP)),
            (Some(Deleting), Restore, Err(RESTORE_WAIT)),
            (Some(Deleting), Undelete, Err(ONLY_DELETED)),
            (Some(DeleteFailed), Backup, Err(ONLY_READY_BACKUP)),
            (Some(DeleteFailed), Restore, Err(RESTORE_WAIT)),
            (Some(DeleteFailed), Undelete, Err(ONLY_DELETED)),
            (Some(Deleted), Backup, Err(DELETED)),
            (
                Some(Deleted),
                Restore,
                Err("it is deleted; undelete it from its final backup instead"),
            ),
            (Some(Deleted), Undelete, Ok((p, Provisioning, Ready))),
            (Some(Restoring), Create, Err(EXISTS)),
            (Some(Restoring), Retry, Err(RETRY_ONLY_FAILED)),
            (Some(Restoring), Delete, Ok((d, Deleting, Deleted))),
            (Some(Restoring), Upgrade, Err(CHANGE_ONLY_READY)),
            (Some(Restoring), Rollback, Err(CHANGE_ONLY_READY)),
            (
                Some(Restoring),
                Credentials,
                Ok((None, Restoring, Restoring)),
            ),
            (Some(Restoring), Backup, Err(ONLY_READY_BACKUP)),
            (Some(Restoring), Restore, Err(RESTORE_WAIT)),
            (Some(Restoring), Undelete, Err(ONLY_DELETED)),
        ];
        // The table covers every pair exactly once.
        let statuses: Vec<Option<Status>> =
            std::iter::once(None).chain(Status::ALL.map(Some)).collect();
        assert_eq!(table.len(), statuses.len() * Request::ALL.len());
        for status in &statuses {
            for request in Request::ALL {
                let rows = table
                    .iter()
                    .filter(|(s, q, _)| s == status && *q == request)
                    .count();
                assert_eq!(rows, 1, "{status:?} {request:?}");
            }
        }
        for (status, request, want) in table {
            let got = decide(status, request)
                .map(|t| (t.operation, t.now, t.settles))
                .map_err(|r| r.reason);
            assert_eq!(got, want, "{status:?} {request:?}");
            if let Err(r) = decide(status, request) {
                assert_eq!((r.request, r.status), (request, status));
            }
        }
    }

    #[test]
    fn the_status_right_after_a_request_says_which_transition_it_made() {
        for request in Request::ALL {
            for from in std::iter::once(None).chain(Status::ALL.map(Some)) {
                if let Ok(t) = decide(from, request) {
                    let found = accepted(request, t.now).expect("found");
                    // Same operation and end, whichever status it came from.
                    assert_eq!(
                        (found.operation, found.settles),
                        (t.operation, t.settles),
                        "{from:?} {request:?}"
                    );
                }
            }
        }
        // The defect `store retry --wait` had: a retried delete settles at
        // Deleted, not Ready.
        let t = accepted(Request::Retry, Deleting).expect("a retried delete");
        assert_eq!((t.operation, t.settles), (Some(Kind::Delete), Deleted));
        assert_eq!(accepted(Request::Retry, Ready), None);
    }

    #[test]
    fn refusals_read_the_same_on_every_face() {
        let r = decide(Some(Ready), Request::Retry).unwrap_err();
        assert_eq!(
            r.message("Shop"),
            "cannot retry store \"Shop\" while it is Ready; only Failed stores can be retried (a failed delete is retried as a delete)"
        );
        assert_eq!(
            decide(Some(Deleting), Request::Delete).unwrap_err().why(),
            "is Deleting; it is already being deleted"
        );
        assert_eq!(
            decide(None, Request::Delete).unwrap_err().message("Shop"),
            "cannot delete store \"Shop\": there is no such store"
        );
    }

    #[test]
    fn a_retried_delete_is_not_called_a_provision() {
        let t = decide(Some(DeleteFailed), Request::Retry).unwrap();
        assert!(!t.next().contains("provision"), "{}", t.next());
        let t = decide(Some(Failed), Request::Retry).unwrap();
        assert_eq!(t.next(), "provisioning queued again");
    }
}
