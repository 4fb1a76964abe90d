//! Restore drills on real pods (issue 30, item 5): a Medusa store with an
//! order on the sandbox's real node, backed up into the sandbox's real S3
//! server, is drilled from the command line — its backup restored into a
//! throwaway store that becomes Ready holding the one order the backup
//! counts, which is then deleted, its namespace gone — and the drill is the
//! store's "last good restore" in `store drills`, the figures /metrics and
//! `doctor` read. A second drill while one is under way is refused. Then
//! the backup is damaged in the bucket: the next drill fails with the
//! reason, its throwaway store is removed too, and the store is reported
//! failing; and a backup from a newer chart than the store runs is refused
//! by a restore in place. The store itself is never touched.

mod common;

use common::real::{create_store, medusa_orders, medusa_script, medusa_served, medusa_settings};
use common::s3::{backed_up, backup_cli, backup_keys_unscheduled, damage_database_part, new_key};
use common::tools::text;
use common::*;
use serde_json::Value;
use std::time::Duration;
use store_weaver::config::Settings;
use store_weaver::db::audit;
use store_weaver::db::backups;
use store_weaver::db::drills::{self, Drill, Outcome, Phase, Reason};
use store_weaver::db::operations::State;
use store_weaver::engine::{self, EngineConfig, EngineError, drill};
use store_weaver::store::{Actor, Status, Via};
use uuid::Uuid;

const READY_SECS: u64 = 900;

fn tester() -> Actor {
    Actor::new("tester", Via::Cli)
}

fn drill_settings(db: &TestDb, prefix: &str, key: &str) -> Settings {
    let keys = backup_keys_unscheduled(&require_env("SANDBOX_S3_ENDPOINT"), prefix, key);
    let mut pairs: Vec<(&'static str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("delete_timeout_secs", "300"));
    medusa_settings(db, &pairs)
}

fn cli(db: &TestDb, prefix: &str, key: &str, args: &[&str]) -> std::process::Output {
    let values = format!(
        "medusa={}",
        repo("charts/medusa/values-local.yaml").display()
    );
    let real = format!("medusa={}", require_env("SANDBOX_REAL_NODE_VALUES_MEDUSA"));
    backup_cli(db, &values, &real, prefix, key, args)
}

/// The drill once done (the test's workers drive it).
async fn done(db: &TestDb, id: Uuid) -> Drill {
    eventually(
        Duration::from_secs(READY_SECS + 300),
        "the drill is done",
        || async {
            let d = drills::get(&db.pool, id).await.ok()??;
            (d.phase == Phase::Done).then_some(d)
        },
    )
    .await
}

/// The throwaway store's record and namespace are gone.
async fn removed(db: &TestDb, d: &Drill) {
    let clone = d.clone_id.expect("the drill made a throwaway store");
    let store = eventually(
        Duration::from_secs(300),
        "the throwaway store is deleted",
        || async {
            let s = store_weaver::db::stores::get(&db.pool, clone)
                .await
                .ok()??;
            (s.status == Status::Deleted).then_some(s)
        },
    )
    .await;
    let nss: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(kube().await);
    eventually(Duration::from_secs(300), "its namespace is gone", || {
        let nss = nss.clone();
        let ns = store.namespace.clone();
        async move { nss.get_opt(&ns).await.ok()?.is_none().then_some(()) }
    })
    .await;
    // Deleted without a final backup: nothing of it is kept.
    let kept = backups::for_store(&db.pool, clone, 10).await.unwrap();
    assert!(
        kept.is_empty(),
        "the throwaway store was not backed up: {kept:?}"
    );
}

// Several threads: the test's own workers go on while it waits for the
// command line (blocking) or kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_is_proven_by_restoring_it_into_a_throwaway_store_and_a_damaged_one_fails() {
    let db = TestDb::new().await;
    let prefix = format!("{}/", unique("drills-test"));
    let key = new_key();
    let s = drill_settings(&db, &prefix, &key);
    let cfg = EngineConfig::from_settings(&s);
    let workers = common::workers(&s, &db, 3).await;

    let name = unique("Drilled Shop");
    let store = create_store(&db, &s, &name, "medusa").await;
    // Nothing to restore yet: refused before anything is queued.
    let e = drill::request(&db.pool, &cfg, &tester(), store.id, None, Reason::Manual)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::Invalid {
                field: "backup",
                ..
            }
        ) && e.to_string().contains("no complete backup"),
        "{e}"
    );
    let store = settle(&db, store.id, READY_SECS).await;
    assert_eq!(store.status, Status::Ready, "{:?}", store.error_message);
    let host = store.url.trim_start_matches("http://").to_string();
    medusa_served(&host).await;
    let order = medusa_script("order-via-store-api.mjs", &host, &[], &[]);
    assert!(order.starts_with("order_"), "{order}");
    assert_eq!(medusa_orders(&store.namespace), 1);
    let backup = backed_up(&db, &store).await;

    // Asked for on the command line; a second one while it runs is refused.
    let out = cli(&db, &prefix, &key, &["store", "drill", &name, "--json"]);
    assert!(
        out.status.success(),
        "store drill: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let queued: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let id: Uuid = queued["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(queued["phase"], "queued");
    let out = cli(&db, &prefix, &key, &["store", "drill", &name]);
    assert_eq!(out.status.code(), Some(6), "busy: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already under way"),
        "{}",
        text(&out.stderr)
    );

    let d = done(&db, id).await;
    assert_eq!(d.outcome, Some(Outcome::Passed), "{:?}", d.detail);
    assert_eq!(d.backup_id, Some(backup.id));
    let detail = d.detail.clone().unwrap_or_default();
    assert!(detail.contains("1 orders"), "the order counted: {detail}");
    assert!(d.restore_secs().is_some_and(|s| s > 0.0), "{d:?}");
    removed(&db, &d).await;
    // The store was only read.
    assert_eq!(medusa_orders(&store.namespace), 1);
    let entries = audit::list(&db.pool, Some(store.id), 100).await.unwrap();
    assert!(
        entries.iter().any(|e| e.action == "store.drill-passed"),
        "{entries:?}"
    );

    // Its last good restore, as the command line and the metrics say it.
    let out = cli(&db, &prefix, &key, &["store", "drills", &name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("last good restore:")
            && (shown.contains("just now") || shown.contains("minute"))
            && shown.contains("passed"),
        "{shown}"
    );
    let f = drills::figures(&db.pool, 86_400.0).await.unwrap();
    assert!(
        f.last_good_age.iter().any(|(ns, _)| *ns == store.namespace),
        "{f:?}"
    );
    assert!(f.failing.is_empty() && f.undrilled == 0, "{f:?}");

    // The backup damaged in the bucket: the next drill fails with the
    // reason, and its throwaway store is removed all the same.
    damage_database_part(&prefix, store.id, backup.id).await;
    let d = drill::request(&db.pool, &cfg, &tester(), store.id, None, Reason::Manual)
        .await
        .unwrap();
    let d = done(&db, d.id).await;
    assert_eq!(d.outcome, Some(Outcome::Failed), "{:?}", d.detail);
    let why = d.detail.clone().unwrap_or_default();
    assert!(
        why.contains("damaged") || why.contains("does not match"),
        "the checksum or the seal caught it: {why}"
    );
    removed(&db, &d).await;
    let f = drills::figures(&db.pool, 86_400.0).await.unwrap();
    assert_eq!(f.failing, vec![name.clone()], "{f:?}");
    let out = cli(&db, &prefix, &key, &["store", "drills", &name, "--json"]);
    let view: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(view["drills"][0]["outcome"], "failed", "{view}");
    assert!(
        !view["last_good_at"].is_null(),
        "the passed one is still the last good restore: {view}"
    );
    assert_eq!(
        medusa_orders(&store.namespace),
        1,
        "the store was not touched"
    );

    // A backup taken with a newer chart than the store runs is refused
    // before anything is touched, with what to do.
    sqlx::query(
        "UPDATE backups SET manifest = jsonb_set(manifest, '{chart_version}', '\"9.9.9\"') WHERE id = $1",
    )
    .bind(backup.id)
    .execute(&db.pool)
    .await
    .unwrap();
    engine::restore(&db.pool, &tester(), store.id, None, None)
        .await
        .unwrap();
    let op = operation_end(&db, store.id, 300).await;
    assert_eq!(op.state, State::Failed);
    let why = op.error.unwrap_or_default();
    assert!(
        why.contains("taken with chart 9.9.9") && why.contains("store upgrade"),
        "{why}"
    );
    let after = store_weaver::db::stores::get(&db.pool, store.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, Status::Ready, "{:?}", after.error_message);
    assert_eq!(
        medusa_orders(&store.namespace),
        1,
        "the store was not touched"
    );

    workers.shutdown().await;
    db.drop_db().await;
}
