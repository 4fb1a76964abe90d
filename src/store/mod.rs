//! The domain: what a store is, its lifecycle states and its naming rules.
//! Pure: no I/O, so every rule here is unit-tested without a cluster.

pub mod lifecycle;
mod naming;
pub mod settings;

pub use crate::engines::EngineKind;
pub use lifecycle::{Kind, Refusal, Request, Transition};
pub use naming::{
    NAMESPACE_PREFIX, NameError, Reserved, namespace_for, slugify, validate_name, validate_owner,
    with_suffix,
};
pub use settings::StoreSettings;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use uuid::Uuid;

/// The four states of the original design, plus `Deleted` (the record is
/// kept after deletion so the history of what happened is not lost) and
/// `DeleteFailed`: a delete that failed is not a failed provision, and
/// retrying it retries the delete.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, ToSchema,
)]
pub enum Status {
    Provisioning,
    Ready,
    Failed,
    Deleting,
    DeleteFailed,
    Deleted,
    /// A running store's data being replaced by a backup's: its shop is
    /// paused meanwhile.
    Restoring,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Provisioning,
        Status::Ready,
        Status::Failed,
        Status::Deleting,
        Status::DeleteFailed,
        Status::Deleted,
        Status::Restoring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Provisioning => "Provisioning",
            Status::Ready => "Ready",
            Status::Failed => "Failed",
            Status::Deleting => "Deleting",
            Status::DeleteFailed => "DeleteFailed",
            Status::Deleted => "Deleted",
            Status::Restoring => "Restoring",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether work is still under way for a store in this state.
    pub fn is_busy(self) -> bool {
        matches!(
            self,
            Status::Provisioning | Status::Deleting | Status::Restoring
        )
    }

    /// Whether the last operation failed (provision or delete).
    pub fn is_failed(self) -> bool {
        matches!(self, Status::Failed | Status::DeleteFailed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The finer step shown next to the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Queued,
    Namespace,
    Secrets,
    Installing,
    WaitingForReady,
    CleaningUp,
    Uninstalling,
    RemovingNamespace,
    /// A running store being changed: it stays Ready meanwhile.
    Upgrading,
    /// An upgrade that did not become healthy, being undone (or a rollback).
    RollingBack,
    /// Its database and files being written to the backup bucket; the store
    /// stays Ready.
    BackingUp,
    /// A backup's data being written into the store.
    Restoring,
    Done,
}

impl Phase {
    pub const ALL: [Phase; 13] = [
        Phase::Queued,
        Phase::Namespace,
        Phase::Secrets,
        Phase::Installing,
        Phase::WaitingForReady,
        Phase::CleaningUp,
        Phase::Uninstalling,
        Phase::RemovingNamespace,
        Phase::Upgrading,
        Phase::RollingBack,
        Phase::BackingUp,
        Phase::Restoring,
        Phase::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Namespace => "namespace",
            Phase::Secrets => "secrets",
            Phase::Installing => "installing",
            Phase::WaitingForReady => "waiting-for-ready",
            Phase::CleaningUp => "cleaning-up",
            Phase::Uninstalling => "uninstalling",
            Phase::RemovingNamespace => "removing-namespace",
            Phase::Upgrading => "upgrading",
            Phase::RollingBack => "rolling-back",
            Phase::BackingUp => "backing-up",
            Phase::Restoring => "restoring",
            Phase::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether a store at this step is using one of the
    /// `max_concurrent_provisions` slots, as far as its phase shows: the
    /// ledger's claim decides exactly (a provision gives its slot back once
    /// installed, when only the wait for Ready is left).
    pub fn uses_a_slot(self) -> bool {
        matches!(
            self,
            Phase::Namespace
                | Phase::Secrets
                | Phase::Installing
                | Phase::Upgrading
                | Phase::RollingBack
        )
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of store software is installed. Each engine is a chart under
/// `charts/` plus a small adapter in the engine module.
/// Who asked for a change, and through which face of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Console,
    Api,
    Cli,
    Worker,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Console => "console",
            Via::Api => "api",
            Via::Cli => "cli",
            Via::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<Via> {
        [Via::Console, Via::Api, Via::Cli, Via::Worker]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub via: Via,
}

impl Actor {
    pub fn new(user: impl Into<String>, via: Via) -> Actor {
        Actor {
            user: user.into(),
            via,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Store {
    pub id: Uuid,
    pub name: String,
    pub namespace: String,
    pub owner: String,
    pub engine: EngineKind,
    pub status: Status,
    pub phase: Phase,
    pub url: String,
    /// The uid of the namespace the engine created; None until it has.
    #[schema(required)]
    pub namespace_uid: Option<String>,
    #[schema(required)]
    pub error_message: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(required)]
    pub provision_started_at: Option<DateTime<Utc>>,
    #[schema(required)]
    pub ready_at: Option<DateTime<Utc>>,
    #[schema(required)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The store chart's version the platform last installed.
    #[schema(required)]
    pub chart_version: Option<String>,
    /// The Helm revision the platform last wrote; a release at another
    /// revision was changed by someone else (drift).
    #[schema(required)]
    pub helm_revision: Option<i32>,
    /// What the operator set for this store (image tags, sizes, replicas).
    pub settings: StoreSettings,
}

/// Who may see and act on a store: everyone when unscoped (admins, the
/// console, the CLI), otherwise its owner only. The one rule for the API's
/// reads and streams and the engine's actions; `scope` is the owner a
/// request is limited to. (The SQL lists apply it as `owner = $scope`.)
pub fn visible_to(scope: Option<&str>, owner: &str) -> bool {
    scope.is_none_or(|me| me == owner)
}

#[cfg(test)]
impl Store {
    /// A Ready store named Shop, for unit tests to change what they need.
    pub fn sample() -> Store {
        let now = chrono::Utc::now();
        Store {
            id: Uuid::nil(),
            name: "Shop".into(),
            namespace: "store-shop".into(),
            owner: "a@b.c".into(),
            engine: EngineKind::default(),
            status: Status::Ready,
            phase: Phase::Done,
            url: "http://shop.localhost".into(),
            namespace_uid: None,
            error_message: None,
            attempts: 1,
            created_at: now,
            updated_at: now,
            provision_started_at: None,
            ready_at: None,
            deleted_at: None,
            chart_version: None,
            helm_revision: None,
            settings: Default::default(),
        }
    }
}

impl Store {
    /// How long the last provisioning took, once the store became ready.
    pub fn provision_duration(&self) -> Option<chrono::Duration> {
        match (self.provision_started_at, self.ready_at) {
            (Some(start), Some(end)) if end >= start => Some(end - start),
            _ => None,
        }
    }

    /// What `request` would do to this store, or why it is refused: the
    /// lifecycle's one rule ([`lifecycle::decide`]).
    pub fn may(&self, request: Request) -> Result<Transition, Refusal> {
        lifecycle::decide(Some(self.status), request)
    }

    /// A failed provision is retried by provisioning again; a failed delete
    /// by deleting again, never by re-provisioning a store its owner wanted gone.
    pub fn can_retry(&self) -> bool {
        self.may(Request::Retry).is_ok()
    }

    /// What "retry" does for this store, in words for the faces.
    pub fn retry_label(&self) -> &'static str {
        match self.may(Request::Retry) {
            Ok(t) if t.operation == Some(Kind::Delete) => "retry delete",
            _ => "retry",
        }
    }

    /// A running store can be upgraded, rolled back or have its settings changed.
    pub fn can_change(&self) -> bool {
        self.may(Request::Upgrade).is_ok()
    }

    pub fn can_delete(&self) -> bool {
        self.may(Request::Delete).is_ok()
    }
}

/// Which store the cluster's objects must belong to before the engine acts on
/// them: the namespace's name, the store id its label must carry, and the uid
/// recorded when the engine created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRef {
    pub name: String,
    pub store_id: Uuid,
    pub uid: Option<String>,
}

impl Store {
    pub fn namespace_ref(&self) -> NamespaceRef {
        NamespaceRef {
            name: self.namespace.clone(),
            store_id: self.id,
            uid: self.namespace_uid.clone(),
        }
    }
}

/// The store's public URL for a namespace slug and an ingress suffix such as
/// `.localhost` or `.shops.example.com`.
pub fn store_url(namespace: &str, suffix: &str, tls: bool) -> String {
    let host = store_host(namespace, suffix);
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

pub fn store_host(namespace: &str, suffix: &str) -> String {
    let slug = namespace
        .strip_prefix(naming::NAMESPACE_PREFIX)
        .unwrap_or(namespace);
    let suffix = suffix.trim_start_matches('.');
    format!("{slug}.{suffix}")
}

/// The store's admin e-mail address (the chart's `store.adminEmail`): the
/// owner's when it is one, else admin@<host>.
pub fn admin_email(owner: &str, host: &str) -> String {
    if owner.contains('@') {
        owner.to_string()
    } else {
        format!("admin@{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_parses_case_insensitively() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("ready"), Some(Status::Ready));
        assert_eq!(Status::parse("nope"), None);
    }

    #[test]
    fn url_uses_the_slug_not_the_namespace_prefix() {
        assert_eq!(
            store_url("store-acme", ".localhost", false),
            "http://acme.localhost"
        );
        assert_eq!(
            store_url("store-acme-1f2e", "shops.example.com", true),
            "https://acme-1f2e.shops.example.com"
        );
    }

    #[test]
    fn phases_round_trip() {
        for p in [
            Phase::Queued,
            Phase::WaitingForReady,
            Phase::RemovingNamespace,
        ] {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
    }
}
