//! Stores, resources, events and audit entries the console's tests share:
//! a fixed clock and sample data for `update`, the key checks and the
//! snapshots.

use super::msg::Msg;
use super::state::{Info, State};
use super::update::update;
use crate::cluster::detail::{EventLine, Resource};
use crate::db::audit::Entry;
use crate::store::{Phase, Status, Store};
use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use uuid::Uuid;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap()
}

pub(crate) fn store(n: u128, name: &str, owner: &str, status: Status, age_secs: i64) -> Store {
    let created = t0() - Duration::seconds(age_secs);
    let slug = crate::store::slugify(name);
    let ready = status == Status::Ready;
    Store {
        id: Uuid::from_u128(n),
        name: name.into(),
        namespace: format!("store-{slug}"),
        owner: owner.into(),
        engine: crate::store::EngineKind::default(),
        status,
        phase: match status {
            Status::Provisioning => Phase::Installing,
            Status::Deleting => Phase::Uninstalling,
            _ => Phase::Done,
        },
        namespace_uid: None,
        url: format!("http://{slug}.localhost"),
        error_message: (status == Status::Failed)
            .then(|| "helm install failed: timed out waiting for the condition; pod web: ImagePullBackOff".to_string()),
        attempts: 1,
        created_at: created,
        updated_at: created,
        provision_started_at: Some(created + Duration::seconds(1)),
        ready_at: ready.then(|| created + Duration::seconds(95)),
        deleted_at: None,
        chart_version: None,
        helm_revision: None,
        settings: Default::default(),
    }
}

pub(crate) fn sample_stores() -> Vec<Store> {
    vec![
        store(
            1,
            "Acme Shoes",
            "ann@example.com",
            Status::Ready,
            3 * 86_400,
        ),
        store(2, "Bolt Bikes", "bob@example.com", Status::Provisioning, 42),
        store(3, "Cora Cafe", "ann@example.com", Status::Failed, 2 * 3600),
        store(4, "Dune Books", "dan@example.com", Status::Deleting, 600),
        store(5, "Echo Audio", "eve@example.com", Status::Ready, 45 * 60),
    ]
}

pub(crate) fn new_state(info: Info, size: (u16, u16)) -> State {
    State::new(info, t0(), FixedOffset::east_opt(0).unwrap(), size)
}

pub(crate) fn loaded(stores: Vec<Store>) -> State {
    let mut s = new_state(Info::example(), (120, 40));
    update(&mut s, Msg::DbUp(t0()));
    update(
        &mut s,
        Msg::StoresLoaded {
            at: t0(),
            result: Ok(stores),
        },
    );
    s
}

pub(crate) fn sample_resources() -> Vec<Resource> {
    let at = Some(t0() - Duration::seconds(7000));
    let r = |kind, name: &str, ready: &str, ok, status: &str| Resource {
        kind,
        name: name.into(),
        ready: ready.into(),
        ok,
        status: status.into(),
        created: at,
    };
    vec![
        r("Deployment", "web", "0/1", false, "Progressing"),
        r("StatefulSet", "mariadb", "1/1", true, "Ready"),
        r("Pod", "web-7d9c-x2x", "0/1", false, "ImagePullBackOff"),
        r("Pod", "mariadb-0", "1/1", true, "Running"),
        r("Service", "web", "", true, "ClusterIP 80"),
        r(
            "PersistentVolumeClaim",
            "data-mariadb-0",
            "Bound",
            true,
            "1Gi",
        ),
        r("Ingress", "web", "", true, "cora-cafe.localhost"),
    ]
}

pub(crate) fn sample_events() -> Vec<EventLine> {
    let e = |ago: i64, warning, reason: &str, object: &str, message: &str, count| EventLine {
        at: Some(t0() - Duration::seconds(ago)),
        warning,
        reason: reason.into(),
        object: object.into(),
        message: message.into(),
        count,
    };
    vec![
        e(
            30,
            true,
            "BackOff",
            "pod/web-7d9c-x2x",
            "Back-off pulling image \"web:6.5\"",
            14,
        ),
        e(
            95,
            true,
            "Failed",
            "pod/web-7d9c-x2x",
            "Failed to pull image \"web:6.5\": rpc error: code = NotFound desc = failed to resolve reference",
            3,
        ),
        e(
            130,
            false,
            "Scheduled",
            "pod/web-7d9c-x2x",
            "Successfully assigned store-cora-cafe/web-7d9c-x2x to sandbox-node-1",
            1,
        ),
        e(
            131,
            false,
            "SuccessfulCreate",
            "replicaset/web-7d9c",
            "Created pod: web-7d9c-x2x",
            1,
        ),
        e(
            132,
            false,
            "ScalingReplicaSet",
            "deployment/web",
            "Scaled up replica set web-7d9c from 0 to 1",
            1,
        ),
    ]
}

pub(crate) fn sample_audit(id: Uuid) -> Vec<Entry> {
    let a =
        |n: i64, ago: i64, actor: &str, via: &str, action: &str, outcome: &str, detail: &str| {
            Entry {
                id: n,
                at: t0() - Duration::seconds(ago),
                actor: actor.into(),
                via: via.into(),
                action: action.into(),
                store_id: Some(id),
                store_name: Some("Cora Cafe".into()),
                outcome: outcome.into(),
                detail: Some(detail.into()),
            }
        };
    vec![
        a(
            3,
            3000,
            "operator",
            "worker",
            "store.provision",
            "failed",
            "helm install failed: timed out waiting for the condition",
        ),
        a(
            2,
            7100,
            "operator",
            "worker",
            "store.provision",
            "started",
            "worker local-1-0",
        ),
        a(
            1,
            7200,
            "ann@example.com",
            "api",
            "store.create",
            "accepted",
            &format!(
                "namespace store-cora-cafe, owner ann@example.com, engine {}",
                crate::store::EngineKind::default()
            ),
        ),
    ]
}

/// A backup of Cora Cafe (store 3) taken `secs_ago`, which took 1.9 s.
pub(crate) fn backup(
    n: u128,
    state: crate::db::backups::State,
    secs_ago: i64,
) -> crate::db::backups::Backup {
    use crate::db::backups::State as B;
    let started = t0() - Duration::seconds(secs_ago);
    crate::db::backups::Backup {
        id: Uuid::from_u128((n << 96) | 0x1a24c52),
        store_id: Uuid::from_u128(3),
        operation_id: 1,
        reason: crate::backup::Reason::Manual,
        state,
        engine: "woocommerce".into(),
        bytes: 4_404_019,
        manifest: None,
        error: None,
        requested_by: "ann".into(),
        started_at: started,
        finished_at: (state != B::Running).then(|| started + Duration::milliseconds(1_900)),
        expires_at: None,
    }
}

/// Cora Cafe's backups, newest first: one running, one failed, a manual
/// and a scheduled complete one, and a final one kept until next week.
pub(crate) fn sample_backups() -> Vec<crate::db::backups::Backup> {
    use crate::db::backups::State as B;
    let mut failed = backup(2, B::Failed, 3_600);
    failed.error = Some("uploading part database: the bucket answered 503 Slow Down".into());
    failed.bytes = 0;
    let mut scheduled = backup(4, B::Complete, 3 * 86_400);
    scheduled.reason = crate::backup::Reason::Scheduled;
    scheduled.bytes = 52_428_800;
    let mut kept = backup(5, B::Complete, 4 * 86_400);
    kept.reason = crate::backup::Reason::Final;
    kept.expires_at = Some(t0() + Duration::days(3));
    vec![
        backup(1, B::Running, 12),
        failed,
        backup(3, B::Complete, 7_200),
        scheduled,
        kept,
    ]
}

/// A drill of Cora Cafe: with an outcome, checked `secs_ago` after a 96 s
/// restore (done); without, asked `secs_ago` and restoring.
pub(crate) fn drill(
    n: u128,
    outcome: Option<crate::db::drills::Outcome>,
    secs_ago: i64,
) -> crate::db::drills::Drill {
    use crate::db::drills::{Drill, Phase, Reason};
    let done = outcome.is_some();
    let created = if done {
        t0() - Duration::seconds(secs_ago + 97)
    } else {
        t0() - Duration::seconds(secs_ago)
    };
    let checked = done.then(|| created + Duration::seconds(97));
    Drill {
        id: Uuid::from_u128((n << 96) | 0xd411),
        store_id: Uuid::from_u128(3),
        reason: if n.is_multiple_of(2) {
            Reason::Scheduled
        } else {
            Reason::Manual
        },
        phase: if done { Phase::Done } else { Phase::Restoring },
        outcome,
        backup_id: Some(Uuid::from_u128((n << 96) | 0x1a24c52)),
        clone_id: None,
        detail: done.then(|| {
            "backup 1a24c52 restored in 96s; the store became ready, and holds what the backup holds (3 orders)".to_string()
        }),
        requested_by: "ann".into(),
        created_at: created,
        started_at: Some(created + Duration::seconds(1)),
        checked_at: checked,
        finished_at: checked.map(|c| c + Duration::seconds(5)),
    }
}
