//! The sandbox's S3 server (versitygw) for backup tests: the settings that
//! point Store Weaver at it, and a client of the test's own to look at (or
//! damage) what the product wrote.

use super::require_env;

/// The backup settings' keys and values: the sandbox's bucket at
/// `endpoint` (the server, or a proxy in front of it), under `prefix`,
/// sealed with `key` (base64).
pub fn backup_keys(endpoint: &str, prefix: &str, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("backup_bucket", require_env("SANDBOX_S3_BUCKET")),
        ("backup_endpoint", endpoint.to_string()),
        ("backup_region", require_env("SANDBOX_S3_REGION")),
        ("backup_prefix", prefix.to_string()),
        (
            "backup_access_key_id",
            require_env("SANDBOX_S3_ACCESS_KEY_ID"),
        ),
        (
            "backup_secret_access_key",
            require_env("SANDBOX_S3_SECRET_ACCESS_KEY"),
        ),
        ("backup_key", key.to_string()),
    ]
}

/// [`backup_keys`] with no scheduled backups or drills: a test that asks
/// for a backup itself must not find one the schedule queued (a store's
/// slot can fall in the minutes the test runs).
pub fn backup_keys_unscheduled(
    endpoint: &str,
    prefix: &str,
    key: &str,
) -> Vec<(&'static str, String)> {
    let mut keys = backup_keys(endpoint, prefix, key);
    keys.push(("backup_every_hours", "0".into()));
    keys.push(("drill_every_days", "0".into()));
    keys
}

/// A fresh backup key, base64.
pub fn new_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// An S3 client of the test's own on the sandbox's bucket.
pub fn raw_bucket() -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(require_env("SANDBOX_S3_ENDPOINT"))
        .with_bucket_name(require_env("SANDBOX_S3_BUCKET"))
        .with_region(require_env("SANDBOX_S3_REGION"))
        .with_access_key_id(require_env("SANDBOX_S3_ACCESS_KEY_ID"))
        .with_secret_access_key(require_env("SANDBOX_S3_SECRET_ACCESS_KEY"))
        .with_allow_http(true)
        .build()
        .expect("an S3 client for the sandbox's bucket")
}

/// The command line with backups into the sandbox's bucket under `prefix`,
/// sealed with `key`, the store charts' `values` and `extra` values files
/// (`engine=path` lists); the database URL and the secrets in the
/// environment, never the arguments.
pub fn backup_cli(
    db: &super::TestDb,
    values: &str,
    extra: &str,
    prefix: &str,
    key: &str,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_store-weaver"))
        .args([
            "--kubeconfig",
            &require_env("KUBECONFIG"),
            "--charts-dir",
            &super::repo("charts").display().to_string(),
            "--values-file",
            values,
            "--extra-values-files",
            extra,
            "--provision-timeout",
            "900",
            "--lease",
            "5",
            "--backup-bucket",
            &require_env("SANDBOX_S3_BUCKET"),
            "--backup-endpoint",
            &require_env("SANDBOX_S3_ENDPOINT"),
            "--backup-prefix",
            prefix,
            // Nothing the schedule queues gets in the test's way.
            "--backup-every-hours",
            "0",
            "--drill-every-days",
            "0",
        ])
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("AWS_ACCESS_KEY_ID", require_env("SANDBOX_S3_ACCESS_KEY_ID"))
        .env(
            "AWS_SECRET_ACCESS_KEY",
            require_env("SANDBOX_S3_SECRET_ACCESS_KEY"),
        )
        .env("STORE_WEAVER_BACKUP_KEY", key)
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
        .output()
        .expect("run store-weaver")
}

/// A store backed up through the engine (as the faces ask) and waited
/// for: its newest backup, complete.
pub async fn backed_up(
    db: &super::TestDb,
    store: &store_weaver::store::Store,
) -> store_weaver::db::backups::Backup {
    use store_weaver::db::backups::{self, State as BackupState};
    use store_weaver::db::operations::State;
    let tester = store_weaver::store::Actor::new("tester", store_weaver::store::Via::Cli);
    store_weaver::engine::backup(&db.pool, &tester, store.id, None)
        .await
        .unwrap();
    let op = super::operation_end(db, store.id, 600).await;
    assert_eq!(op.state, State::Succeeded, "{:?}", op.error);
    let b = backups::for_store(&db.pool, store.id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(b.state, BackupState::Complete);
    b
}

/// Changes one byte in the middle of a backup's database part in the
/// bucket (`prefix` is the test's backup_prefix): what a checksum or the
/// seal must catch.
pub async fn damage_database_part(prefix: &str, store: uuid::Uuid, backup: uuid::Uuid) {
    use object_store::ObjectStore;
    let raw = raw_bucket();
    let path = object_store::path::Path::from(format!("{prefix}{store}/{backup}/database"));
    let mut bytes = raw
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    raw.put(&path, bytes.into()).await.unwrap();
}
