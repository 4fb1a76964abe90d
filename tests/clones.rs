//! Clones on real pods (issue 30, "cloned — the clone answers on its own
//! host with the same orders"): a Medusa store with an order and a
//! WooCommerce store, both on the sandbox's real node, backed up into the
//! sandbox's real S3 server; a clone into a taken name and a clone from a
//! backup of another store (of another engine) refused before anything is
//! created; the Medusa store cloned through the command line — the clone is
//! Ready, answers on its own host through Traefik with the same order, its
//! admin signs in with the clone's own password — and the WooCommerce store
//! cloned through the engine, its siteurl and home the clone's; the sources
//! untouched. And through the HTTP API (kwok stores, backup rows written
//! by the test: nothing runs): a user clones only their own stores, the
//! clone is the caller's, a backup sealed with another key is refused.

mod common;
mod serve_common;

use common::real::{create_store, medusa_orders, medusa_script, medusa_served, record};
use common::s3::{backed_up, backup_keys_unscheduled, new_key};
use common::tools::{exec_script, text};
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;
use std::time::Instant;
use store_weaver::config::Settings;
use store_weaver::db::backups;
use store_weaver::db::operations;
use store_weaver::engine::{self, CloneRequest, EngineConfig, EngineError};
use store_weaver::store::{Actor, Status, Store, Via};
use uuid::Uuid;

const READY_SECS: u64 = 900;
const OWNER: &str = "ops@example.com";

fn tester() -> Actor {
    Actor::new("tester", Via::Cli)
}

/// Both engines' chart values for the real node, then `rest`.
fn values() -> (String, String) {
    (
        format!(
            "woocommerce={},medusa={}",
            repo("charts/woocommerce/values-local.yaml").display(),
            repo("charts/medusa/values-local.yaml").display()
        ),
        format!(
            "woocommerce={},medusa={}",
            require_env("SANDBOX_REAL_NODE_VALUES"),
            require_env("SANDBOX_REAL_NODE_VALUES_MEDUSA")
        ),
    )
}

fn clone_settings(db: &TestDb, prefix: &str, key: &str) -> Settings {
    let (values, real) = values();
    let mut pairs: Vec<(&'static str, String)> = vec![
        ("values_file", values),
        ("extra_values_files", real),
        ("provision_timeout_secs", "900".into()),
        ("delete_timeout_secs", "300".into()),
    ];
    pairs.extend(backup_keys_unscheduled(
        &require_env("SANDBOX_S3_ENDPOINT"),
        prefix,
        key,
    ));
    let pairs: Vec<(&'static str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings(&db.url, "charts", &pairs)
}

/// The command line with the same settings; secrets in the environment.
fn cli(db: &TestDb, prefix: &str, key: &str, args: &[&str]) -> std::process::Output {
    let (values, real) = values();
    common::s3::backup_cli(db, &values, &real, prefix, key, args)
}

fn mariadb(ns: &str, sql: &str) -> String {
    let script = format!(
        "MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\" mariadb -uroot -N \"$MARIADB_DATABASE\" -e \"{sql}\""
    );
    exec_script(ns, "database", "mariadb", &script)
        .trim()
        .to_string()
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

/// The order as the store's Admin API shows it, signed in as its admin
/// with the password of the store's own Secret.
async fn admin_sees(host: &str, ns: &str, order: &str) -> Value {
    let password = admin_password(ns).await;
    let env = [
        ("MEDUSA_ADMIN_EMAIL", OWNER),
        ("MEDUSA_ADMIN_PASSWORD", password.as_str()),
    ];
    let out = medusa_script("confirm-order-via-admin-api.mjs", host, &[order], &env);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

async fn stores_named(db: &TestDb, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM stores WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn ask(source: &Store, name: &str, backup: Option<String>) -> CloneRequest {
    CloneRequest {
        source: source.id,
        name: name.into(),
        backup,
        owner: OWNER.into(),
        scope: None,
        idempotency_key: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_is_cloned_into_a_new_store_with_its_own_host_and_the_same_orders() {
    let db = TestDb::new().await;
    let prefix = format!("{}/", unique("clones-test"));
    let key = new_key();
    let s = clone_settings(&db, &prefix, &key);
    let cfg = EngineConfig::from_settings(&s);
    let limits = store_weaver::runtime::limits(&s);
    let workers = common::workers(&s, &db, 3).await;

    // The sources, provisioned side by side.
    let name = unique("Cloned Shop");
    let woo_name = unique("Cloned Woo");
    let medusa = create_store(&db, &s, &name, "medusa").await;
    let woo = create_store(&db, &s, &woo_name, "woocommerce").await;
    let medusa = settle(&db, medusa.id, READY_SECS).await;
    assert_eq!(medusa.status, Status::Ready, "{:?}", medusa.error_message);
    let woo = settle(&db, woo.id, READY_SECS).await;
    assert_eq!(woo.status, Status::Ready, "{:?}", woo.error_message);
    let host = medusa.url.trim_start_matches("http://").to_string();
    let config = medusa_served(&host).await;
    let order = medusa_script("order-via-store-api.mjs", &host, &[], &[]);
    assert!(order.starts_with("order_"), "{order}");
    assert_eq!(medusa_orders(&medusa.namespace), 1);
    // The sandbox runs WordPress without its setup step (no registry has
    // WooCommerce here): WordPress's options and users tables as setup
    // would leave them (its admin with the source's e-mail and password).
    let woo_host = woo.url.trim_start_matches("http://");
    mariadb(
        &woo.namespace,
        &format!(
            "CREATE TABLE wp_options (option_name varchar(191) PRIMARY KEY, option_value longtext); \
             INSERT INTO wp_options VALUES ('siteurl', '{0}'), ('home', '{0}'), ('blogname', 'x'); \
             CREATE TABLE wp_users (ID bigint PRIMARY KEY, user_login varchar(60), \
             user_pass varchar(255), user_email varchar(100)); \
             INSERT INTO wp_users VALUES (1, 'admin', 'source-hash', '{1}'), \
             (2, 'shopper', 'shopper-hash', 'shopper@example.com')",
            woo.url,
            store_weaver::store::admin_email(&woo.owner, woo_host)
        ),
    );
    let backup = backed_up(&db, &medusa).await;
    let woo_backup = backed_up(&db, &woo).await;

    // Refused before anything is created: a taken name, a backup of
    // another store (of another engine).
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM stores")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let e = engine::clone(
        &db.pool,
        &cfg,
        limits,
        &tester(),
        &ask(&medusa, &name, None),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, EngineError::NameTaken { .. }), "{e}");
    let clone_name = unique("Clone Of Shop");
    let other = Some(woo_backup.id.to_string());
    let e = engine::clone(
        &db.pool,
        &cfg,
        limits,
        &tester(),
        &ask(&medusa, &clone_name, other),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            EngineError::Invalid {
                field: "backup",
                ..
            }
        ) && msg.contains(&woo_name)
            && msg.contains("a woocommerce backup cannot make a medusa store"),
        "{msg}"
    );
    let out = cli(
        &db,
        &prefix,
        &key,
        &[
            "store",
            "clone",
            &name,
            &clone_name,
            "--backup",
            "zzzz-none",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("has no backup zzzz-none"),
        "{}",
        text(&out.stderr)
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM stores")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(after, before, "nothing was created");

    // The WooCommerce clone through the engine, provisioned meanwhile.
    let woo_clone_name = unique("Clone Of Woo");
    let woo_clone = engine::clone(
        &db.pool,
        &cfg,
        limits,
        &tester(),
        &ask(&woo, &woo_clone_name, None),
    )
    .await
    .unwrap();
    assert_eq!(woo_clone.status, Status::Provisioning);
    assert_eq!(woo_clone.engine, woo.engine);

    // The Medusa clone through the command line, waited for.
    let t = Instant::now();
    let out = cli(
        &db,
        &prefix,
        &key,
        &[
            "store",
            "clone",
            &name,
            &clone_name,
            "--backup",
            &backup.id.to_string()[..8],
            "--wait",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "store clone: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!("medusa clone --wait in {:.1}s", t.elapsed().as_secs_f64());
    let shown: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let clone_id: Uuid = shown["id"].as_str().unwrap().parse().unwrap();
    let clone = record(&db, clone_id).await;
    assert_eq!(clone.status, Status::Ready, "{:?}", clone.error_message);
    assert_eq!(clone.engine, medusa.engine);
    assert_eq!(clone.owner, OWNER);
    assert_ne!(clone.namespace, medusa.namespace);
    assert_eq!(stores_named(&db, &clone_name).await, 1);

    // Its own host, through Traefik, with the same order; its admin signs
    // in with the clone's own password.
    let clone_host = clone.url.trim_start_matches("http://").to_string();
    assert_ne!(clone_host, host);
    let clone_config = medusa_served(&clone_host).await;
    assert_eq!(
        clone_config["publishableKey"], config["publishableKey"],
        "the storefront's key comes with the database"
    );
    assert_eq!(medusa_orders(&clone.namespace), 1);
    let clone_password = admin_password(&clone.namespace).await;
    assert_ne!(
        clone_password,
        admin_password(&medusa.namespace).await,
        "the clone keeps its own credentials"
    );
    let seen = admin_sees(&clone_host, &clone.namespace, &order).await;
    assert_eq!(seen["id"], order.as_str(), "{seen}");

    // Audited as a create naming the source and the backup.
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE store_id = $1 AND action = 'store.create'",
    )
    .bind(clone.id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        detail.contains(&name) && detail.contains(&backup.id.to_string()),
        "{detail}"
    );

    // The source is untouched: Ready, its order, its admin's password.
    assert_eq!(record(&db, medusa.id).await.status, Status::Ready);
    assert_eq!(medusa_orders(&medusa.namespace), 1);
    let seen = admin_sees(&host, &medusa.namespace, &order).await;
    assert_eq!(seen["id"], order.as_str(), "{seen}");

    // The WooCommerce clone: Ready, its WordPress at its own address.
    let woo_clone = settle(&db, woo_clone.id, READY_SECS).await;
    assert_eq!(
        woo_clone.status,
        Status::Ready,
        "{:?}",
        woo_clone.error_message
    );
    for option in ["siteurl", "home"] {
        let sql = format!("SELECT option_value FROM wp_options WHERE option_name = '{option}'");
        assert_eq!(mariadb(&woo_clone.namespace, &sql), woo_clone.url);
        assert_eq!(mariadb(&woo.namespace, &sql), woo.url, "the source's stays");
    }
    assert_eq!(
        mariadb(
            &woo_clone.namespace,
            "SELECT option_value FROM wp_options WHERE option_name = 'blogname'"
        ),
        "x"
    );
    // Its admin has the clone's e-mail and no password (the setup step
    // gives it the clone's own at the next start); other users are as they
    // were; the source's admin is untouched.
    let clone_host = woo_clone.url.trim_start_matches("http://");
    assert_eq!(
        mariadb(
            &woo_clone.namespace,
            "SELECT concat(user_login, '|', user_pass, '|', user_email) FROM wp_users ORDER BY ID"
        ),
        format!(
            "admin||{}\nshopper|shopper-hash|shopper@example.com",
            store_weaver::store::admin_email(&woo_clone.owner, clone_host)
        )
    );
    assert_eq!(
        mariadb(
            &woo.namespace,
            "SELECT user_pass FROM wp_users WHERE ID = 1"
        ),
        "source-hash"
    );

    for id in [clone.id, woo_clone.id, medusa.id, woo.id] {
        engine::delete_with(&db.pool, &tester(), id, None, true)
            .await
            .unwrap();
    }
    for id in [clone.id, woo_clone.id, medusa.id, woo.id] {
        assert_eq!(settle(&db, id, 600).await.status, Status::Deleted);
    }
    workers.shutdown().await;
    db.drop_db().await;
}

/// A complete backup row of `store` as a backup leaves it, sealed with the
/// key `key_id`.
async fn insert_backup(db: &TestDb, store: Uuid, key_id: &str) -> Uuid {
    // Random, not time-ordered: two made in one millisecond differ in
    // their first characters.
    let backup = Uuid::new_v4();
    let op: i64 = sqlx::query_scalar(
        "SELECT id FROM operations WHERE store_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(store)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let manifest = serde_json::json!({
        "format": 1, "backup_id": backup, "store_id": store, "store_name": "x",
        "namespace": "store-x", "host": "x.localhost", "engine": "woocommerce",
        "chart_version": null, "helm_revision": null, "settings": {}, "key_id": key_id,
        "reason": "manual", "requested_by": "ann@example.com",
        "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:01:00Z",
        "parts": [], "counts": {}
    });
    sqlx::query(
        "INSERT INTO backups (id, store_id, operation_id, reason, state, engine, bytes, \
         manifest, requested_by, finished_at) \
         VALUES ($1, $2, $3, 'manual', 'complete', 'woocommerce', 1, $4, 'ann@example.com', now())",
    )
    .bind(backup)
    .bind(store)
    .bind(op)
    .bind(sqlx::types::Json(manifest))
    .execute(&db.pool)
    .await
    .unwrap();
    backup
}

#[tokio::test]
async fn the_api_clones_only_the_callers_own_stores_into_stores_of_theirs() {
    use serde_json::json;
    use store_weaver::db::users::Role;
    let key = new_key();
    let key_id = store_weaver::backup::BackupKey::from_base64(&key)
        .unwrap()
        .id();
    let bucket = require_env("SANDBOX_S3_BUCKET");
    let endpoint = require_env("SANDBOX_S3_ENDPOINT");
    let server = serve_common::TestServer::start(&[
        ("backup_bucket", &bucket),
        ("backup_endpoint", &endpoint),
        ("backup_key", &key),
    ])
    .await;
    let ann = server.user("ann@example.com", Role::User).await;
    let bob = server.user("bob@example.com", Role::User).await;
    let admin = server.user("root@example.com", Role::Admin).await;
    let created = ann.create(&unique("Source")).await.expect(201);
    let id: Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/api/stores/{id}/clone");

    // No backup yet.
    let r = ann
        .post(&path, json!({"name": unique("Copy")}))
        .await
        .expect(400);
    assert_eq!(r.body["field"], "backup", "{}", r.text);
    assert!(r.text.contains("complete backup"), "{}", r.text);

    // Sealed with another key: refused, saying which.
    insert_backup(&server.db, id, "0011223344556677").await;
    let r = ann
        .post(&path, json!({"name": unique("Copy")}))
        .await
        .expect(400);
    assert!(
        r.text.contains("sealed with backup key 0011223344556677") && r.text.contains(&key_id),
        "{}",
        r.text
    );

    let good = insert_backup(&server.db, id, &key_id).await;
    // Someone else's store is not found, whatever the backup.
    let r = bob
        .post(&path, json!({"name": unique("Copy")}))
        .await
        .expect(404);
    assert_eq!(r.code(), "not_found", "{}", r.text);

    // The owner's clone: theirs, Provisioning from the backup, audited.
    let copy = unique("Copy");
    let r = ann
        .post(
            &path,
            json!({"name": copy, "backup": &good.to_string()[..8]}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["owner"], "ann@example.com", "{}", r.text);
    assert_eq!(r.body["status"], "Provisioning", "{}", r.text);
    let clone: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&clone.to_string())
    );
    let op = operations::active_for(&server.db.pool, clone)
        .await
        .unwrap()
        .expect("a provision queued");
    assert_eq!(op.params.restore, Some(good), "{op:?}");
    // Its name is taken now.
    let r = ann.post(&path, json!({"name": copy})).await.expect(409);
    assert_eq!(r.code(), "name_taken", "{}", r.text);
    let r = ann
        .post(&path, json!({"name": "x", "bakup": "y"}))
        .await
        .expect(422);
    assert_eq!(r.body["field"], "bakup", "{}", r.text);

    // An admin clones anyone's store; the clone is the admin's.
    let r = admin
        .post(&path, json!({"name": unique("Staging")}))
        .await
        .expect(201);
    assert_eq!(r.body["owner"], "root@example.com", "{}", r.text);
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE store_id = $1 AND action = 'store.create'",
    )
    .bind(clone)
    .fetch_one(&server.db.pool)
    .await
    .unwrap();
    assert!(
        detail.contains(&good.to_string()) && detail.contains(&id.to_string()),
        "{detail}"
    );

    // Provisioned by workers (kwok, the test chart): the backup is only a
    // row, its objects are not in the bucket, so the clone fails with the
    // reason before anything is created and the source is left as it is;
    // a retry provisions it from the same backup again.
    let region = require_env("SANDBOX_S3_REGION");
    let access = require_env("SANDBOX_S3_ACCESS_KEY_ID");
    let secret = require_env("SANDBOX_S3_SECRET_ACCESS_KEY");
    let prefix = format!("{}/", unique("clones-api"));
    let s = settings(
        &server.db.url,
        "tests/fixtures/charts",
        &[
            ("backup_bucket", &bucket),
            ("backup_endpoint", &endpoint),
            ("backup_region", &region),
            ("backup_access_key_id", &access),
            ("backup_secret_access_key", &secret),
            ("backup_prefix", &prefix),
            ("backup_key", &key),
        ],
    );
    let pool = common::workers(&s, &server.db, 2).await;
    let failed = settle(&server.db, clone, 180).await;
    assert_eq!(failed.status, Status::Failed, "{failed:?}");
    let why = failed.error_message.unwrap_or_default();
    assert!(why.contains("cannot restore the backup"), "{why}");
    let source = settle(&server.db, id, 180).await;
    assert_eq!(
        source.status,
        Status::Ready,
        "the source is provisioned as ever"
    );
    assert_eq!(
        backups::for_store(&server.db.pool, id, 10)
            .await
            .unwrap()
            .len(),
        2,
        "the source's backups are as they were"
    );
    pool.shutdown().await;
    let retried = engine::retry(&server.db.pool, &tester(), clone, None)
        .await
        .unwrap();
    assert_eq!(retried.status, Status::Provisioning);
    let op = operations::active_for(&server.db.pool, clone)
        .await
        .unwrap()
        .expect("a provision queued again");
    assert_eq!(op.params.restore, Some(good), "{op:?}");
    server.stop().await;
}
