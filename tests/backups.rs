//! Backups on real data (issue 30): a Medusa store on the sandbox's real
//! node, with an order placed through its Store API, backed up into the
//! sandbox's real S3 server (versitygw) through the command line; its
//! order table damaged and restored in place; a corrupted backup refused
//! with the store untouched; the object store cut off in the middle of a
//! backup (the backup fails honestly, nothing partial is listed as good,
//! a retry succeeds); deleted with a final backup and undeleted from it,
//! the order there and the admin signing in with the password it had.

mod common;

use common::real::{
    create_store, medusa_orders, medusa_script, medusa_served, medusa_settings, record,
};
use common::s3::{backup_cli, backup_keys_unscheduled, damage_database_part, new_key, raw_bucket};
use common::tools::{exec_script, kubectl, text};
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use object_store::ObjectStore;
use serde_json::Value;
use std::time::{Duration, Instant};
use store_weaver::config::Settings;
use store_weaver::db::backups::{self, State as BackupState};
use store_weaver::db::operations::State;
use store_weaver::engine;
use store_weaver::store::{Actor, Status, Via};

const READY_SECS: u64 = 900;

fn tester() -> Actor {
    Actor::new("tester", Via::Cli)
}

/// The backup settings for this test: the sandbox's bucket under a prefix
/// of its own, `endpoint` (the server, or a proxy in front of it).
fn backup_settings(db: &TestDb, endpoint: &str, prefix: &str, key: &str) -> Settings {
    medusa_settings(
        db,
        &backup_keys_unscheduled(endpoint, prefix, key)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
}

/// The command line with the same settings; secrets in the environment.
fn cli(db: &TestDb, prefix: &str, key: &str, args: &[&str]) -> std::process::Output {
    let values = format!(
        "medusa={}",
        repo("charts/medusa/values-local.yaml").display()
    );
    let real = format!("medusa={}", require_env("SANDBOX_REAL_NODE_VALUES_MEDUSA"));
    backup_cli(db, &values, &real, prefix, key, args)
}

/// Runs SQL in the store's postgres container (its own credentials, from
/// its environment).
fn psql(ns: &str, sql: &str) -> String {
    let script = format!(
        "PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -v ON_ERROR_STOP=1 -tAc '{sql}'"
    );
    exec_script(ns, "postgres", "postgres", &script)
}

async fn admin_password(ns: &str) -> String {
    let secrets: Api<Secret> = Api::namespaced(kube().await, ns);
    let secret = secrets
        .get(store_weaver::cluster::CREDENTIALS_SECRET)
        .await
        .unwrap();
    secret
        .data
        .unwrap_or_default()
        .get("admin-password")
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .expect("the admin password in the Secret")
}

/// The order as the store's Admin API shows it, signed in as its admin.
async fn admin_sees(host: &str, ns: &str, order: &str) -> Value {
    let password = admin_password(ns).await;
    let env = [
        ("MEDUSA_ADMIN_EMAIL", "ops@example.com"),
        ("MEDUSA_ADMIN_PASSWORD", password.as_str()),
    ];
    let out = medusa_script("confirm-order-via-admin-api.mjs", host, &[order], &env);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

// Several threads: the test's own workers go on while it waits for the
// command line (blocking) or kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_medusa_store_is_backed_up_restored_undeleted_and_a_bad_backup_refused() {
    let db = TestDb::new().await;
    let prefix = format!("{}/", unique("backups-test"));
    let key = new_key();
    let direct = require_env("SANDBOX_S3_ENDPOINT");
    let s = backup_settings(&db, &direct, &prefix, &key);
    let workers = common::workers(&s, &db, 3).await;

    let name = unique("Backed Shop");
    let t = Instant::now();
    let store = create_store(&db, &s, &name, "medusa").await;
    let store = settle(&db, store.id, READY_SECS).await;
    assert_eq!(store.status, Status::Ready, "{:?}", store.error_message);
    eprintln!("medusa store Ready in {:.1}s", t.elapsed().as_secs_f64());
    let ns = store.namespace.clone();
    let host = store.url.trim_start_matches("http://").to_string();

    medusa_served(&host).await;
    let order = medusa_script("order-via-store-api.mjs", &host, &[], &[]);
    assert!(order.starts_with("order_"), "{order}");
    assert_eq!(medusa_orders(&ns), 1);

    // A backup through the command line, waited for.
    let t = Instant::now();
    let out = cli(
        &db,
        &prefix,
        &key,
        &["store", "backup", &name, "--wait", "--json"],
    );
    assert!(
        out.status.success(),
        "store backup: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!("backup in {:.1}s", t.elapsed().as_secs_f64());
    let list = backups::for_store(&db.pool, store.id, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    let first = &list[0];
    assert_eq!(first.state, BackupState::Complete);
    let m = first
        .manifest
        .as_ref()
        .expect("a complete backup has its manifest");
    assert_eq!(m.counts.get("orders"), Some(&1), "{:?}", m.counts);
    let names: Vec<&str> = m.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["secret", "database", "files"]);
    assert_eq!(m.key_id.len(), 16);
    let out = cli(&db, &prefix, &key, &["store", "backups", &name]);
    assert!(
        text(&out.stdout).contains(&first.id.to_string()),
        "{}",
        text(&out.stdout)
    );
    // The sealed parts hold no plain text: the admin password is not there.
    let raw = raw_bucket();
    let password = admin_password(&ns).await;
    let secret_obj = raw
        .get(&object_store::path::Path::from(format!(
            "{prefix}{}/{}/secret",
            store.id, first.id
        )))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&secret_obj).contains(&password),
        "the credentials are sealed in the bucket"
    );

    // The order table damaged; restored in place from the backup.
    psql(&ns, "TRUNCATE \"order\" CASCADE");
    assert_eq!(medusa_orders(&ns), 0);
    let t = Instant::now();
    let restoring = engine::restore(&db.pool, &tester(), store.id, None, None)
        .await
        .unwrap();
    assert_eq!(restoring.status, Status::Restoring);
    let op = operation_end(&db, store.id, READY_SECS).await;
    assert_eq!(op.state, State::Succeeded, "{:?}", op.error);
    eprintln!("restore in place in {:.1}s", t.elapsed().as_secs_f64());
    assert_eq!(record(&db, store.id).await.status, Status::Ready);
    assert_eq!(medusa_orders(&ns), 1);
    // The backup's and the restore's commands left nothing behind that
    // PostgreSQL (the container's PID 1) took for a crashed backend.
    let log = text(
        &kubectl(
            &[
                "logs",
                "-n",
                &ns,
                &format!("{ns}-postgres-0"),
                "-c",
                "postgres",
            ],
            None,
        )
        .stdout,
    );
    assert!(
        !log.contains("terminating any other active server processes"),
        "the store's database restarted during the backup or the restore:\n{log}"
    );
    medusa_served(&host).await;
    let seen = admin_sees(&host, &ns, &order).await;
    assert_eq!(seen["id"], order.as_str(), "{seen}");

    // A corrupted backup: one byte of its database part changed in the
    // bucket. The restore checks it first, refuses, and touches nothing.
    damage_database_part(&prefix, store.id, first.id).await;
    engine::restore(
        &db.pool,
        &tester(),
        store.id,
        None,
        Some(&first.id.to_string()[..8]),
    )
    .await
    .unwrap();
    let op = operation_end(&db, store.id, READY_SECS).await;
    assert_eq!(op.state, State::Failed);
    let why = op.error.unwrap_or_default();
    assert!(why.contains("untouched"), "{why}");
    assert!(
        why.contains("damaged") || why.contains("does not match"),
        "the checksum or the seal caught it: {why}"
    );
    assert_eq!(record(&db, store.id).await.status, Status::Ready);
    assert_eq!(medusa_orders(&ns), 1, "nothing was written");

    // The object store cut off in the middle of a backup. 48 MB of uploads
    // make the files part long enough to cut it while it streams.
    exec_script(
        &ns,
        "server",
        "medusa",
        "head -c 48000000 /dev/urandom > /app/server/static/big.bin",
    );
    workers.shutdown().await;
    let s3_addr: std::net::SocketAddr = direct
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("SANDBOX_S3_ENDPOINT is http://address:port");
    let proxy = CuttableProxy::start(s3_addr).await;
    let through = format!("http://{}", proxy.addr);
    let cut_settings = backup_settings(&db, &through, &prefix, &key);
    let cut_workers = common::workers(&cut_settings, &db, 2).await;
    engine::backup(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    // Cut once the database part is in the bucket: the files are streaming.
    let attempt = eventually(
        Duration::from_secs(300),
        "the database part written",
        || async {
            let b = backups::for_store(&db.pool, store.id, 1)
                .await
                .ok()?
                .into_iter()
                .next()?;
            if b.state != BackupState::Running {
                return None;
            }
            let p =
                object_store::path::Path::from(format!("{prefix}{}/{}/database", store.id, b.id));
            raw.head(&p).await.ok().map(|_| b.id)
        },
    )
    .await;
    proxy.cut();
    let op = operation_end(&db, store.id, 300).await;
    assert_eq!(op.state, State::Failed, "the backup fails honestly");
    let failed = backups::get(&db.pool, attempt).await.unwrap().unwrap();
    assert_eq!(failed.state, BackupState::Failed, "{failed:?}");
    assert!(failed.error.is_some());
    let good: Vec<_> = backups::for_store(&db.pool, store.id, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.state == BackupState::Complete)
        .map(|b| b.id)
        .collect();
    assert_eq!(good, [first.id], "no partial backup is listed as good");
    assert_eq!(record(&db, store.id).await.status, Status::Ready);
    cut_workers.shutdown().await;

    // Retried with the object store back: complete, files and all.
    let workers = common::workers(&s, &db, 3).await;
    let t = Instant::now();
    engine::backup(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    let op = operation_end(&db, store.id, 600).await;
    assert_eq!(op.state, State::Succeeded, "{:?}", op.error);
    let retried = backups::for_store(&db.pool, store.id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(retried.state, BackupState::Complete);
    let files = retried.manifest.as_ref().unwrap().part("files").unwrap();
    assert!(files.plain_bytes > 48_000_000, "{files:?}");
    eprintln!(
        "backup of {} MB in {:.1}s",
        retried.bytes / 1_000_000,
        t.elapsed().as_secs_f64()
    );

    // Deleted: a final backup first, kept for an undelete.
    engine::delete(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    let gone = settle(&db, store.id, 600).await;
    assert_eq!(gone.status, Status::Deleted, "{:?}", gone.error_message);
    let last = backups::for_store(&db.pool, store.id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(last.reason.as_str(), "final");
    assert_eq!(last.state, BackupState::Complete);
    let kept = last.expires_at.expect("a final backup expires") - chrono::Utc::now();
    assert!(kept > chrono::Duration::days(6), "{kept}");
    namespace_gone(&ns, 300).await;

    // Undeleted through the command line: the same name and address, the
    // order there, the admin's password the one it had.
    let t = Instant::now();
    let out = cli(
        &db,
        &prefix,
        &key,
        &["store", "undelete", &name, "--wait", "--json"],
    );
    assert!(
        out.status.success(),
        "store undelete: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!("undelete in {:.1}s", t.elapsed().as_secs_f64());
    let back = record(&db, store.id).await;
    assert_eq!(
        (back.status, back.namespace.as_str()),
        (Status::Ready, ns.as_str())
    );
    assert_eq!(medusa_orders(&ns), 1);
    assert_eq!(admin_password(&ns).await, password);
    let seen = admin_sees(&host, &ns, &order).await;
    assert_eq!(seen["id"], order.as_str(), "{seen}");

    engine::delete_with(&db.pool, &tester(), store.id, None, true)
        .await
        .unwrap();
    let gone = settle(&db, store.id, 600).await;
    assert_eq!(gone.status, Status::Deleted);
    let finals = backups::for_store(&db.pool, store.id, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.reason.as_str() == "final")
        .count();
    assert_eq!(finals, 1, "--no-backup took none");
    workers.shutdown().await;
    db.drop_db().await;
}

/// SQL in a WooCommerce store's MariaDB container, as its root (the
/// password from the container's environment).
fn mariadb(ns: &str, sql: &str) -> String {
    let script = format!(
        "MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\" mariadb -uroot -N \"$MARIADB_DATABASE\" -e \"{sql}\""
    );
    exec_script(ns, "database", "mariadb", &script)
        .trim()
        .to_string()
}

/// A WooCommerce store on the real node: backed up, a row changed and a
/// table added, restored in place: as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_woocommerce_store_is_backed_up_and_restored_in_place() {
    let db = TestDb::new().await;
    let prefix = format!("{}/", unique("backups-woo"));
    let key = new_key();
    let mut all: Vec<(&'static str, String)> = vec![
        (
            "values_file",
            repo("charts/woocommerce/values-local.yaml")
                .display()
                .to_string(),
        ),
        (
            "extra_values_files",
            require_env("SANDBOX_REAL_NODE_VALUES"),
        ),
        ("provision_timeout_secs", "600".into()),
    ];
    all.extend(backup_keys_unscheduled(
        &require_env("SANDBOX_S3_ENDPOINT"),
        &prefix,
        &key,
    ));
    let pairs: Vec<(&'static str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = settings(&db.url, "charts", &pairs);
    let workers = common::workers(&s, &db, 2).await;
    let store = create_store(&db, &s, &unique("Woo Backed"), "woocommerce").await;
    let store = settle(&db, store.id, 600).await;
    assert_eq!(store.status, Status::Ready, "{:?}", store.error_message);
    let ns = store.namespace.clone();
    // The sandbox's real node runs WordPress without its setup step (no
    // registry has WooCommerce here): the shop's database, tables made here.
    mariadb(
        &ns,
        "CREATE TABLE shop_marker (v varchar(40)); INSERT INTO shop_marker VALUES ('before')",
    );

    engine::backup(&db.pool, &tester(), store.id, None)
        .await
        .unwrap();
    let op = operation_end(&db, store.id, 600).await;
    assert_eq!(op.state, State::Succeeded, "{:?}", op.error);
    let b = backups::for_store(&db.pool, store.id, 1)
        .await
        .unwrap()
        .remove(0);
    let names: Vec<String> = b
        .manifest
        .as_ref()
        .unwrap()
        .parts
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, ["secret", "database", "files"]);

    mariadb(
        &ns,
        "UPDATE shop_marker SET v = 'after'; CREATE TABLE made_later (id int)",
    );
    engine::restore(&db.pool, &tester(), store.id, None, None)
        .await
        .unwrap();
    let op = operation_end(&db, store.id, 600).await;
    assert_eq!(op.state, State::Succeeded, "{:?}", op.error);
    assert_eq!(record(&db, store.id).await.status, Status::Ready);
    assert_eq!(mariadb(&ns, "SELECT v FROM shop_marker"), "before");
    assert_eq!(
        mariadb(
            &ns,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=DATABASE() AND table_name='made_later'"
        ),
        "0",
        "a table made after the backup is gone"
    );
    engine::delete_with(&db.pool, &tester(), store.id, None, true)
        .await
        .unwrap();
    assert_eq!(settle(&db, store.id, 600).await.status, Status::Deleted);
    workers.shutdown().await;
    db.drop_db().await;
}
