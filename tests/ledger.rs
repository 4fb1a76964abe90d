//! The ledger against a real PostgreSQL: every transition of a store and its
//! operations, and the fencing rule — a worker whose lease is gone (run out,
//! taken over, superseded) changes nothing.

mod common;

use common::*;
use std::time::Duration;
use store_weaver::db::audit;
use store_weaver::db::ledger::{self, Lease, Outcome, Timing};
use store_weaver::db::operations::{self, Kind, State};
use store_weaver::db::stores::{self, NewStore};
use store_weaver::store::{Actor, EngineKind, Phase, Status, Store, Via};
use uuid::Uuid;

fn actor() -> Actor {
    Actor::new("ledger@example.com", Via::Cli)
}

async fn new_store(db: &TestDb) -> Store {
    let id = Uuid::now_v7();
    let ns = format!("store-ledger-{}", &id.simple().to_string()[24..]);
    let tx = db.pool.begin().await.unwrap();
    ledger::create(
        tx,
        &NewStore {
            id,
            name: &format!("Ledger {id}"),
            namespace: &ns,
            owner: "ledger@example.com",
            engine: EngineKind::Woocommerce,
            url: "http://ledger.localhost",
            idempotency_key: None,
        },
        &actor(),
        "test",
    )
    .await
    .unwrap()
}

async fn store(db: &TestDb, id: Uuid) -> Store {
    stores::get(&db.pool, id).await.unwrap().unwrap()
}

async fn claim(db: &TestDb, worker: &str, lease: Duration) -> (operations::Operation, Lease) {
    ledger::claim(&db.pool, worker, lease, 10, 10)
        .await
        .unwrap()
        .expect("an operation to claim")
}

async fn next(l: &mut sqlx::postgres::PgListener) -> sqlx::postgres::PgNotification {
    tokio::time::timeout(Duration::from_secs(10), l.recv())
        .await
        .expect("a notification within 10 s")
        .unwrap()
}

async fn actions(db: &TestDb, id: Uuid) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = audit::list(&db.pool, Some(id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.outcome))
        .collect();
    v.reverse();
    v
}

#[tokio::test]
async fn a_store_goes_from_queued_to_ready_through_the_ledger() {
    let db = TestDb::new().await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener
        .listen(store_weaver::db::STORE_CHANNEL)
        .await
        .unwrap();

    let s = new_store(&db).await;
    assert_eq!((s.status, s.phase), (Status::Provisioning, Phase::Queued));
    let n = next(&mut listener).await;
    assert_eq!(n.payload(), s.id.to_string(), "create announces the store");
    let op = operations::active_for(&db.pool, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (op.kind, op.state, op.via),
        (Kind::Provision, State::Queued, Via::Cli)
    );

    let (op, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    assert_eq!((op.state, op.claims, lease.claim), (State::Running, 1, 1));
    assert!(
        ledger::holds(&db.pool, &lease, Duration::from_secs(1))
            .await
            .unwrap()
    );

    // One write sets the operation's step and the store's phase, and announces it.
    assert!(
        ledger::set_phase(&db.pool, &lease, Phase::Installing)
            .await
            .unwrap()
    );
    let n = next(&mut listener).await;
    assert_eq!(
        n.payload(),
        s.id.to_string(),
        "the phase change is announced"
    );
    assert_eq!(store(&db, s.id).await.phase, Phase::Installing);
    let op = operations::get(&db.pool, op.id).await.unwrap().unwrap();
    assert_eq!(op.step, Some(Phase::Installing));

    assert!(
        ledger::record_namespace_uid(&db.pool, &lease, "uid-1")
            .await
            .unwrap()
    );
    assert!(ledger::provision_started(&db.pool, &lease).await.unwrap());
    let timing = Timing {
        helm: Duration::from_millis(1500),
        wait: Duration::from_millis(700),
    };
    assert!(
        ledger::finish(&db.pool, &lease, &Outcome::Ready, timing)
            .await
            .unwrap()
    );
    let s = store(&db, s.id).await;
    assert_eq!((s.status, s.phase), (Status::Ready, Phase::Done));
    assert_eq!(s.namespace_uid.as_deref(), Some("uid-1"));
    assert!(s.ready_at.is_some() && s.provision_started_at.is_some());
    let op = operations::get(&db.pool, op.id).await.unwrap().unwrap();
    assert_eq!(
        (op.state, op.helm_ms, op.wait_ms),
        (State::Succeeded, 1500, 700)
    );
    assert_eq!(op.lease_owner, None);
    assert_eq!(
        actions(&db, s.id).await,
        vec![
            ("store.create".into(), "accepted".into()),
            ("store.ready".into(), "ok".into())
        ]
    );
    // A finished operation is nobody's: a second finish changes nothing.
    assert!(
        !ledger::finish(&db.pool, &lease, &Outcome::Deleted, Timing::default())
            .await
            .unwrap()
    );
    assert_eq!(store(&db, s.id).await.status, Status::Ready);
    db.drop_db().await;
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_or_was_taken_over_changes_nothing() {
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (_, stale) = claim(&db, "w1", Duration::from_millis(300)).await;
    // The lease runs out on the database's clock.
    eventually(Duration::from_secs(5), "the lease to run out", || async {
        (!ledger::holds(&db.pool, &stale, Duration::ZERO)
            .await
            .unwrap())
        .then_some(())
    })
    .await;
    // Not yet taken over, but past its lease: every write is refused.
    assert!(
        !ledger::renew(&db.pool, &stale, Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(
        !ledger::set_phase(&db.pool, &stale, Phase::CleaningUp)
            .await
            .unwrap()
    );
    assert!(
        !ledger::record_namespace_uid(&db.pool, &stale, "evil")
            .await
            .unwrap()
    );
    let failed = Outcome::ProvisionFailed("stale".into());
    assert!(
        !ledger::finish(&db.pool, &stale, &failed, Timing::default())
            .await
            .unwrap()
    );

    // Another worker takes it over: a new fencing token.
    let (op, fresh) = claim(&db, "w2", Duration::from_secs(30)).await;
    assert_eq!((op.claims, fresh.claim), (2, 2));
    // The same worker id with the old token is still refused (a restarted
    // process reusing its name, or the first worker claiming again).
    let same_name_old_token = Lease {
        worker: "w2".into(),
        ..stale.clone()
    };
    assert!(
        !ledger::set_phase(&db.pool, &same_name_old_token, Phase::CleaningUp)
            .await
            .unwrap()
    );
    assert!(
        !ledger::finish(&db.pool, &stale, &failed, Timing::default())
            .await
            .unwrap()
    );
    assert!(!ledger::release(&db.pool, &stale).await.unwrap());

    let s_now = store(&db, s.id).await;
    assert_eq!(
        (s_now.status, s_now.phase),
        (Status::Provisioning, Phase::Queued)
    );
    assert_eq!(s_now.namespace_uid, None);
    // The new holder's writes go through.
    assert!(
        ledger::set_phase(&db.pool, &fresh, Phase::Namespace)
            .await
            .unwrap()
    );
    assert!(
        ledger::finish(&db.pool, &fresh, &Outcome::Ready, Timing::default())
            .await
            .unwrap()
    );
    assert_eq!(store(&db, s.id).await.status, Status::Ready);
    db.drop_db().await;
}

#[tokio::test]
async fn a_failed_delete_is_retried_as_a_delete_and_a_delete_supersedes_work_in_flight() {
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (_, provisioning) = claim(&db, "w1", Duration::from_secs(30)).await;

    // A delete while provisioning runs: the provision is superseded.
    let locked = db.pool.begin().await.unwrap();
    let s = ledger::delete(locked, &s, &actor(), false).await.unwrap();
    assert_eq!((s.status, s.phase), (Status::Deleting, Phase::Queued));
    assert!(
        !ledger::renew(&db.pool, &provisioning, Duration::from_secs(30))
            .await
            .unwrap()
    );
    let ops = operations::for_store(&db.pool, s.id).await.unwrap();
    assert_eq!(
        ops.iter().map(|o| (o.kind, o.state)).collect::<Vec<_>>(),
        vec![
            (Kind::Provision, State::Superseded),
            (Kind::Delete, State::Queued)
        ]
    );

    // The delete fails: DeleteFailed, not Failed.
    let (_, deleting) = claim(&db, "w2", Duration::from_secs(30)).await;
    let why = Outcome::DeleteFailed("delete failed: namespace is not this store's".into());
    assert!(
        ledger::finish(&db.pool, &deleting, &why, Timing::default())
            .await
            .unwrap()
    );
    let s = store(&db, s.id).await;
    assert_eq!(s.status, Status::DeleteFailed);
    assert!(s.can_retry());
    assert_eq!(s.retry_label(), "retry delete");

    // Retrying it queues a delete again, never a provision.
    let locked = db.pool.begin().await.unwrap();
    let s = ledger::retry_delete(locked, &s, &actor()).await.unwrap();
    assert_eq!(s.status, Status::Deleting);
    let op = operations::active_for(&db.pool, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(op.kind, Kind::Delete);
    let (_, again) = claim(&db, "w3", Duration::from_secs(30)).await;
    assert!(
        ledger::finish(&db.pool, &again, &Outcome::Deleted, Timing::default())
            .await
            .unwrap()
    );
    let s = store(&db, s.id).await;
    assert_eq!(s.status, Status::Deleted);
    assert!(s.deleted_at.is_some());
    let acts: Vec<String> = actions(&db, s.id).await.into_iter().map(|a| a.0).collect();
    assert_eq!(
        acts,
        [
            "store.create",
            "store.delete",
            "store.delete-failed",
            "store.retry-delete",
            "store.deleted"
        ]
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_failed_provision_is_retried_as_a_provision_and_the_engine_refuses_a_retry_of_a_ready_store()
 {
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (_, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    let why = Outcome::ProvisionFailed("chart failed".into());
    assert!(
        ledger::finish(&db.pool, &lease, &why, Timing::default())
            .await
            .unwrap()
    );
    let s = store(&db, s.id).await;
    assert_eq!(
        (s.status, s.error_message.as_deref()),
        (Status::Failed, Some("chart failed"))
    );
    assert_eq!(s.retry_label(), "retry");
    let s = store_weaver::engine::retry(&db.pool, &actor(), s.id, None)
        .await
        .unwrap();
    assert_eq!(
        (s.status, s.attempts, s.error_message),
        (Status::Provisioning, 2, None)
    );
    let op = operations::active_for(&db.pool, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(op.kind, Kind::Provision);
    let (_, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    assert!(
        ledger::finish(&db.pool, &lease, &Outcome::Ready, Timing::default())
            .await
            .unwrap()
    );
    let e = store_weaver::engine::retry(&db.pool, &actor(), s.id, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot retry"), "{e}");
    db.drop_db().await;
}

#[tokio::test]
async fn a_namespace_can_be_reassigned_only_under_the_lease() {
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (_, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    let worker = Actor::new("worker w1", Via::Worker);
    let moved = ledger::reassign_namespace(
        &db.pool,
        &lease,
        &worker,
        "store-ledger-x1",
        "http://ledger-x1.localhost",
        "namespace taken",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(moved.namespace, "store-ledger-x1");
    assert_eq!(moved.url, "http://ledger-x1.localhost");
    let last = audit::list(&db.pool, Some(s.id), 1).await.unwrap();
    assert_eq!(last[0].action, "store.namespace-reassigned");
    assert!(
        last[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("namespace taken")
    );
    let stale = Lease { claim: 7, ..lease };
    let refused = ledger::reassign_namespace(
        &db.pool,
        &stale,
        &worker,
        "store-ledger-x2",
        "http://x2",
        "no",
    )
    .await
    .unwrap();
    assert!(refused.is_none());
    assert_eq!(store(&db, s.id).await.namespace, "store-ledger-x1");
    db.drop_db().await;
}

/// Issue 17: a worker's step and what goes with it (provisioning started, the
/// namespace uid, the lease check before a step that changes the cluster) is
/// one statement; it is fenced like every other write.
#[tokio::test]
async fn advance_writes_a_step_and_its_facts_only_while_the_lease_is_held() {
    use store_weaver::db::ledger::Advance;
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (op, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    // Its own connection, not the pool's: drop_db closes the pool.
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener
        .listen(store_weaver::db::STORE_CHANNEL)
        .await
        .unwrap();

    let start = Advance {
        started: true,
        ..Advance::to(Phase::Namespace)
    };
    assert!(ledger::advance(&db.pool, &lease, &start).await.unwrap());
    assert_eq!(next(&mut listener).await.payload(), s.id.to_string());
    let first = store(&db, s.id).await;
    assert_eq!(first.phase, Phase::Namespace);
    let started = first.provision_started_at.expect("started recorded");

    let uid = Advance {
        namespace_uid: Some("uid-7"),
        ..Advance::to(Phase::Secrets)
    };
    assert!(ledger::advance(&db.pool, &lease, &uid).await.unwrap());
    // A later step keeps what earlier ones recorded.
    assert!(
        ledger::advance(&db.pool, &lease, &Advance::to(Phase::Installing))
            .await
            .unwrap()
    );
    let now = store(&db, s.id).await;
    assert_eq!(now.phase, Phase::Installing);
    assert_eq!(now.namespace_uid.as_deref(), Some("uid-7"));
    assert_eq!(now.provision_started_at, Some(started));
    let op_now = operations::get(&db.pool, op.id).await.unwrap().unwrap();
    assert_eq!(op_now.step, Some(Phase::Installing));

    // Less lease left than the margin asks for: refused, nothing written.
    let guarded = Advance {
        margin: Duration::from_secs(60),
        ..Advance::to(Phase::WaitingForReady)
    };
    assert!(!ledger::advance(&db.pool, &lease, &guarded).await.unwrap());
    assert_eq!(store(&db, s.id).await.phase, Phase::Installing);

    // Another claim's token: refused.
    let stale = Lease {
        claim: lease.claim - 1,
        ..lease.clone()
    };
    let evil = Advance {
        namespace_uid: Some("evil"),
        ..Advance::to(Phase::CleaningUp)
    };
    assert!(!ledger::advance(&db.pool, &stale, &evil).await.unwrap());
    let after = store(&db, s.id).await;
    assert_eq!(
        (after.phase, after.namespace_uid.as_deref()),
        (Phase::Installing, Some("uid-7"))
    );
    db.drop_db().await;
}

/// A fresh install's revision and the step after it are one write: the
/// revision recorded as what the store runs, the phase moved on, the change
/// announced; fenced like every other write.
#[tokio::test]
async fn installed_records_the_revision_and_the_next_step_only_while_the_lease_is_held() {
    use store_weaver::db::ledger::Recorded;
    use store_weaver::db::revisions;
    use store_weaver::store::StoreSettings;
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (op, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener
        .listen(store_weaver::db::STORE_CHANNEL)
        .await
        .unwrap();
    let rec = Recorded {
        revision: 1,
        chart_version: "0.3.0".into(),
        settings: StoreSettings::default()
            .with_assignments(
                EngineKind::Woocommerce.spec(),
                &["wordpress.cpu=250m".to_string()],
            )
            .unwrap(),
    };

    // Another claim's token: nothing written, not even the revision row.
    let stale = Lease {
        claim: lease.claim - 1,
        ..lease.clone()
    };
    assert!(
        !ledger::installed(&db.pool, &stale, &rec, Phase::WaitingForReady)
            .await
            .unwrap()
    );
    assert!(
        revisions::for_store(&db.pool, s.id)
            .await
            .unwrap()
            .is_empty()
    );
    let before = store(&db, s.id).await;
    assert_eq!((before.phase, before.helm_revision), (Phase::Queued, None));

    assert!(
        ledger::installed(&db.pool, &lease, &rec, Phase::WaitingForReady)
            .await
            .unwrap()
    );
    assert_eq!(next(&mut listener).await.payload(), s.id.to_string());
    let now = store(&db, s.id).await;
    assert_eq!(now.phase, Phase::WaitingForReady);
    assert_eq!(
        (now.helm_revision, now.chart_version.as_deref()),
        (Some(1), Some("0.3.0"))
    );
    assert_eq!(now.settings, rec.settings);
    let op_now = operations::get(&db.pool, op.id).await.unwrap().unwrap();
    assert_eq!(op_now.step, Some(Phase::WaitingForReady));
    let revs = revisions::for_store(&db.pool, s.id).await.unwrap();
    assert_eq!(revs.len(), 1);
    assert_eq!(
        (revs[0].revision, revs[0].op_id, &revs[0].settings),
        (1, Some(op.id), &rec.settings)
    );
    // Written again (a resumed worker): the same row, not a second one.
    assert!(
        ledger::installed(&db.pool, &lease, &rec, Phase::WaitingForReady)
            .await
            .unwrap()
    );
    assert_eq!(revisions::for_store(&db.pool, s.id).await.unwrap().len(), 1);
    db.drop_db().await;
}

/// The cap on provisions counts helm's part only: a provision that has
/// installed (waiting for Kubernetes to make it Ready) frees its slot, a
/// stale lease cannot free it, and a provision taken over holds one again.
#[tokio::test]
async fn a_provision_frees_its_slot_once_installed_and_a_taken_over_one_holds_it_again() {
    use store_weaver::db::ledger::Recorded;
    let db = TestDb::new().await;
    let lease_for = Duration::from_secs(30);
    let first = new_store(&db).await;
    let second = new_store(&db).await;
    // Idle workers of every process are woken whenever a slot may be free.
    let mut wake = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    wake.listen(store_weaver::db::OPERATION_CHANNEL)
        .await
        .unwrap();
    let (op1, lease1) = ledger::claim(&db.pool, "w1", lease_for, 1, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(op1.store_id, first.id);
    assert!(
        ledger::claim(&db.pool, "w2", lease_for, 1, 10)
            .await
            .unwrap()
            .is_none(),
        "the one slot is taken"
    );
    let rec = Recorded {
        revision: 1,
        chart_version: "0.1.0".into(),
        settings: Default::default(),
    };
    let stale = Lease {
        claim: lease1.claim - 1,
        ..lease1.clone()
    };
    assert!(
        !ledger::installed(&db.pool, &stale, &rec, Phase::WaitingForReady)
            .await
            .unwrap()
    );
    assert!(
        ledger::claim(&db.pool, "w2", lease_for, 1, 10)
            .await
            .unwrap()
            .is_none(),
        "a stale lease freed the slot"
    );
    assert!(
        ledger::installed(&db.pool, &lease1, &rec, Phase::WaitingForReady)
            .await
            .unwrap()
    );
    next(&mut wake).await;
    let (op2, lease2) = ledger::claim(&db.pool, "w2", lease_for, 1, 10)
        .await
        .unwrap()
        .expect("the installed provision no longer holds the slot");
    assert_eq!(op2.store_id, second.id);
    assert!(
        ledger::claim(&db.pool, "w3", lease_for, 1, 10)
            .await
            .unwrap()
            .is_none(),
        "the second provision holds the slot"
    );

    // The first worker stops while waiting: whoever takes it over starts
    // from the beginning (helm again), so it holds a slot again.
    assert!(ledger::release(&db.pool, &lease1).await.unwrap());
    next(&mut wake).await;
    let (again, _) = ledger::claim(&db.pool, "w3", lease_for, 2, 10)
        .await
        .unwrap()
        .expect("the released provision can be taken over");
    assert_eq!(again.id, op1.id);
    let third_store = new_store(&db).await;
    next(&mut wake).await; // its own: queued
    assert!(
        ledger::claim(&db.pool, "w4", lease_for, 2, 10)
            .await
            .unwrap()
            .is_none(),
        "both slots are held: the taken-over provision and the second one"
    );
    // The second one ends: its slot is free, and the workers hear of it.
    assert!(
        ledger::finish(&db.pool, &lease2, &Outcome::Ready, Timing::default())
            .await
            .unwrap()
    );
    next(&mut wake).await;
    let (third, _) = ledger::claim(&db.pool, "w4", lease_for, 2, 10)
        .await
        .unwrap()
        .expect("the ended provision's slot is free");
    assert_eq!(third.store_id, third_store.id);
    db.drop_db().await;
}

/// `finish` is one statement: the operation, the store, the audit entry (the
/// requester's, by a worker) and the notification all happen, or none does.
#[tokio::test]
async fn finish_writes_the_operation_the_store_the_audit_entry_and_the_notice_or_nothing() {
    let db = TestDb::new().await;
    let s = new_store(&db).await;
    let (op, lease) = claim(&db, "w1", Duration::from_secs(30)).await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener
        .listen(store_weaver::db::STORE_CHANNEL)
        .await
        .unwrap();
    let failed = Outcome::ProvisionFailed("step secrets: denied".into());

    let stale = Lease {
        worker: "w2".into(),
        ..lease.clone()
    };
    assert!(
        !ledger::finish(&db.pool, &stale, &failed, Timing::default())
            .await
            .unwrap()
    );
    assert_eq!(store(&db, s.id).await.status, Status::Provisioning);
    assert_eq!(
        actions(&db, s.id).await,
        vec![("store.create".into(), "accepted".into())],
        "no audit entry from a worker without the lease"
    );

    let timing = Timing {
        helm: Duration::from_millis(900),
        wait: Duration::from_millis(300),
    };
    assert!(
        ledger::finish(&db.pool, &lease, &failed, timing)
            .await
            .unwrap()
    );
    assert_eq!(next(&mut listener).await.payload(), s.id.to_string());
    let after = store(&db, s.id).await;
    assert_eq!(
        (after.status, after.phase, after.error_message.as_deref()),
        (Status::Failed, Phase::Done, Some("step secrets: denied"))
    );
    let op_after = operations::get(&db.pool, op.id).await.unwrap().unwrap();
    assert_eq!(
        (
            op_after.state,
            op_after.error.as_deref(),
            op_after.helm_ms,
            op_after.wait_ms,
            op_after.lease_owner.as_deref()
        ),
        (State::Failed, Some("step secrets: denied"), 900, 300, None)
    );
    assert!(op_after.finished_at.is_some() && op_after.lease_expires_at.is_none());
    let last = audit::list(&db.pool, Some(s.id), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            last.actor.as_str(),
            last.via.as_str(),
            last.action.as_str(),
            last.outcome.as_str(),
            last.store_name.as_deref(),
            last.detail.as_deref()
        ),
        (
            "ledger@example.com",
            "worker",
            "store.failed",
            "failed",
            Some(s.name.as_str()),
            Some("step secrets: denied")
        )
    );

    // A change records what the store runs now; a success names the worker.
    let (store2, lease2) = {
        let s2 = new_store(&db).await;
        let (_, l) = claim(&db, "w9", Duration::from_secs(30)).await;
        (s2, l)
    };
    let changed = Outcome::Changed {
        kind: Kind::Upgrade,
        release: ledger::Recorded {
            revision: 4,
            chart_version: "0.4.0".into(),
            settings: Default::default(),
        },
        detail: "0.3.0 -> 0.4.0".into(),
    };
    assert!(
        ledger::finish(&db.pool, &lease2, &changed, Timing::default())
            .await
            .unwrap()
    );
    let s2 = store(&db, store2.id).await;
    assert_eq!(
        (s2.status, s2.helm_revision, s2.chart_version.as_deref()),
        (Status::Ready, Some(4), Some("0.4.0"))
    );
    let last = audit::list(&db.pool, Some(store2.id), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (last.action.as_str(), last.detail.as_deref()),
        ("store.upgraded", Some("0.3.0 -> 0.4.0"))
    );
    assert!(
        !ledger::finish(&db.pool, &lease2, &Outcome::Ready, Timing::default())
            .await
            .unwrap(),
        "a finished operation is nobody's"
    );
    let s3 = new_store(&db).await;
    let (_, lease3) = claim(&db, "w3", Duration::from_secs(30)).await;
    assert!(
        ledger::finish(&db.pool, &lease3, &Outcome::Ready, Timing::default())
            .await
            .unwrap()
    );
    assert!(store(&db, s3.id).await.ready_at.is_some());
    let last = audit::list(&db.pool, Some(s3.id), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            last.action.as_str(),
            last.outcome.as_str(),
            last.detail.as_deref()
        ),
        ("store.ready", "ok", Some("worker w3"))
    );
    db.drop_db().await;
}

/// A fleet run's state changes follow the ledger's pattern: one statement
/// guarded by the states the change allows writes the run, its items, the
/// audit entry and the notice together, or nothing at all.
#[tokio::test]
async fn a_fleet_run_changes_state_only_from_the_states_its_rule_allows() {
    use store_weaver::db::fleet::{self, FleetParams, ItemState, RunAudit, RunChange, RunState};
    let db = TestDb::new().await;
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener.listen(fleet::FLEET_CHANNEL).await.unwrap();
    let (a, b, c) = (
        new_store(&db).await,
        new_store(&db).await,
        new_store(&db).await,
    );
    let mut tx = db.pool.begin().await.unwrap();
    let run = fleet::insert_run(
        &mut tx,
        "ops@example.com",
        "cli",
        &FleetParams::default(),
        1,
        1,
    )
    .await
    .unwrap();
    fleet::insert_item(&mut tx, run, a.id, 1, ItemState::Failed, Some("it broke"))
        .await
        .unwrap();
    fleet::insert_item(&mut tx, run, b.id, 2, ItemState::Pending, None)
        .await
        .unwrap();
    fleet::insert_item(
        &mut tx,
        run,
        c.id,
        0,
        ItemState::Skipped,
        Some("nothing to change"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let actor = actor();
    let entry = |detail| RunAudit {
        actor: &actor,
        outcome: audit::Outcome::Ok,
        detail,
    };
    let change = |change, detail: Option<&'static str>| {
        let pool = db.pool.clone();
        let entry = detail.map(entry);
        async move {
            let mut conn = pool.acquire().await.unwrap();
            fleet::change_run(&mut conn, run, change, entry)
                .await
                .unwrap()
        }
    };
    let states = || {
        let pool = db.pool.clone();
        async move {
            let run = fleet::get(&pool, run).await.unwrap().unwrap();
            let mut items: Vec<_> = fleet::items(&pool, run.id)
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.store_id, i.state, i.detail))
                .collect();
            items.sort_by_key(|i| i.0);
            (run, items)
        }
    };
    let fleet_audit = || {
        let pool = db.pool.clone();
        async move {
            audit::list(&pool, None, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "fleet")
                .map(|e| e.detail.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };

    // A running run cannot be resumed: nothing is written, nothing announced.
    assert!(!change(RunChange::Resume, Some("resumed")).await);
    assert!(fleet_audit().await.is_empty());

    // Cancel: the pending store is skipped as cancelled, the others stay.
    assert!(change(RunChange::Cancel, Some("cancelled")).await);
    assert_eq!(next(&mut listener).await.payload(), run.to_string());
    let (r, items) = states().await;
    assert_eq!(r.state, RunState::Cancelled);
    assert!(r.finished_at.is_some());
    let by_store = |id| items.iter().find(|i| i.0 == id).cloned().unwrap();
    assert_eq!(by_store(a.id).1, ItemState::Failed);
    assert_eq!(
        (by_store(b.id).1, by_store(b.id).2.as_deref()),
        (ItemState::Skipped, Some("cancelled"))
    );
    assert_eq!(by_store(c.id).1, ItemState::Skipped);
    assert_eq!(fleet_audit().await, ["cancelled"]);

    // A cancelled run is not stopped or finished by a late step.
    let stop = RunChange::Stop {
        failures: 3,
        reason: "late",
    };
    assert!(!change(stop, Some("stopped late")).await);
    assert!(!change(RunChange::Finish { failures: 0 }, Some("done late")).await);
    assert_eq!(states().await.0.state, RunState::Cancelled);
    assert_eq!(fleet_audit().await, ["cancelled"]);

    // Resume: the failed store and the cancelled one are pending again; the
    // one skipped for its own reason stays skipped; the budget counts afresh.
    let mut conn = db.pool.acquire().await.unwrap();
    assert_eq!(fleet::count_reopenable(&mut conn, run).await.unwrap(), 2);
    drop(conn);
    assert!(change(RunChange::Resume, Some("resumed")).await);
    let (r, items) = states().await;
    assert_eq!(
        (r.state, r.failures, r.finished_at),
        (RunState::Running, 0, None)
    );
    let pending: Vec<_> = items
        .iter()
        .filter(|i| i.1 == ItemState::Pending)
        .map(|i| i.0)
        .collect();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(pending, want);

    // Progress then stop: the wave and the failures move, the reason kept.
    let progress = RunChange::Progress {
        wave: 2,
        failures: 1,
    };
    assert!(change(progress, None).await);
    assert_eq!(
        fleet_audit().await.len(),
        2,
        "progress writes no audit entry"
    );
    assert!(change(stop, Some("stopped")).await);
    let (r, _) = states().await;
    assert_eq!(
        (
            r.state,
            r.current_wave,
            r.failures,
            r.stop_reason.as_deref()
        ),
        (RunState::Stopped, 2, 3, Some("late"))
    );
    db.drop_db().await;
}

/// Settings written before engines had their own keys (the WooCommerce
/// fields `wordpress_image`, a numeric `replicas`) are rewritten once by the
/// migration into setting names, everywhere they are kept, and the store
/// reads and renders as before.
#[tokio::test]
async fn settings_from_before_the_engine_seam_read_the_same_after_the_migration() {
    let db = TestDb::unmigrated().await;
    let seam = 20261206140000;
    let mut before = sqlx::migrate::Migrator::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
    )
    .await
    .unwrap();
    before.migrations = std::borrow::Cow::Owned(
        before
            .migrations
            .iter()
            .filter(|m| m.version < seam)
            .cloned()
            .collect(),
    );
    before.run(&db.pool).await.unwrap();
    let id = Uuid::new_v4();
    let old = serde_json::json!({"wordpress_image": "6.8.3-php8.3-apache", "replicas": 0, "database_volume": "5Gi"});
    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, settings, helm_revision, chart_version) \
         VALUES ($1, 'Old Shop', 'store-old-shop', 'ann@example.com', 'woocommerce', 'Ready', 'done', 'http://old-shop.localhost', $2, 2, '0.1.0')",
    )
    .bind(id)
    .bind(&old)
    .execute(&db.pool)
    .await
    .unwrap();
    let op: i64 = sqlx::query_scalar(
        "INSERT INTO operations (store_id, kind, state, requested_by, via, params) \
         VALUES ($1, 'upgrade', 'succeeded', 'ann@example.com', 'cli', $2) RETURNING id",
    )
    .bind(id)
    .bind(serde_json::json!({"settings": old, "chart_version": "0.1.0"}))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO store_revisions (store_id, revision, chart_version, settings, op_id) VALUES ($1, 2, '0.1.0', $2, $3)")
        .bind(id)
        .bind(&old)
        .bind(op)
        .execute(&db.pool)
        .await
        .unwrap();

    store_weaver::db::migrate(&db.pool).await.unwrap();

    let want = serde_json::json!({"wordpress.image": "6.8.3-php8.3-apache", "replicas": "0", "database.volume": "5Gi"});
    let store = stores::get(&db.pool, id).await.unwrap().unwrap();
    assert_eq!(serde_json::to_value(&store.settings).unwrap(), want);
    let woo = EngineKind::Woocommerce.spec();
    store
        .settings
        .validate(woo)
        .expect("the migrated settings are valid");
    assert_eq!(
        store.settings.chart_values(woo),
        serde_json::json!({"wordpress": {"image": {"tag": "6.8.3-php8.3-apache"}, "replicas": 0},
                           "database": {"persistence": {"size": "5Gi"}}}),
        "the chart gets the same values as before the seam"
    );
    let rev: serde_json::Value =
        sqlx::query_scalar("SELECT settings FROM store_revisions WHERE store_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(rev, want);
    let params: serde_json::Value =
        sqlx::query_scalar("SELECT params FROM operations WHERE id = $1")
            .bind(op)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(params["settings"], want);
    assert_eq!(
        params["chart_version"], "0.1.0",
        "the rest of the params is kept"
    );
}

/// The live total the stores' trigger keeps, and count(*) of the live stores.
async fn live_counts(db: &TestDb) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT sum(live) FROM live_store_counts)::bigint, \
                (SELECT count(*) FROM stores WHERE status <> 'Deleted')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_live_store_count_follows_every_change() {
    let db = TestDb::new().await;
    let a = new_store(&db).await;
    new_store(&db).await;
    assert_eq!(live_counts(&db).await, (2, 2));
    // Deleted, back again, by hand.
    for (status, live) in [("Deleted", 1), ("Ready", 2)] {
        sqlx::query("UPDATE stores SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(a.id)
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(live_counts(&db).await, (live, live));
    }
    // A row written and removed by hand.
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts) \
         VALUES ($1, 'By Hand', 'store-by-hand', 'hand@example.com', 'woocommerce', 'Ready', 'done', 'http://h.localhost', 0)",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(live_counts(&db).await, (3, 3));
    sqlx::query("DELETE FROM stores WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(live_counts(&db).await, (2, 2));
    sqlx::query("TRUNCATE stores CASCADE")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(live_counts(&db).await, (0, 0));
    db.drop_db().await;
}
