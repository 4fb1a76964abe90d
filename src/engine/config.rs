//! What the engine needs to know, and nothing more: a small config built
//! from the settings once, so the engine does not depend on every key.

use crate::config::Settings;
use crate::store::{EngineKind, Reserved};
use std::path::PathBuf;
use std::time::Duration;

/// Where stores live and which names they may not take.
#[derive(Debug, Clone)]
pub struct Naming {
    pub suffix: String,
    pub tls: bool,
    pub reserved: Reserved,
}

/// With a store ClusterRole configured, the platform's rights inside a store
/// namespace come from a binding it makes there (see config/rbac.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub cluster_role: String,
    /// (namespace, name) of the platform's service account.
    pub service_account: (String, String),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub naming: Naming,
    pub binding: Option<Binding>,
    pub provision_timeout: Duration,
    pub delete_timeout: Duration,
    pub upgrade_timeout: Duration,
    /// How long a pod of a change's new revision must stay stuck before the
    /// change stops waiting for it (see `cluster::rollout::wait_healthy`).
    pub upgrade_stuck: Duration,
    pub lease: Duration,
    pub max_concurrent_provisions: u32,
    /// Backups running at once across every process (their own cap).
    pub max_concurrent_backups: u32,
    pub helm_bin: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    pub kube_context: Option<String>,
    /// Each engine's chart directory and values files, in the order of
    /// `EngineKind::ALL`.
    pub charts: [Chart; EngineKind::ALL.len()],
    /// Where backups go and the key that seals them; None: backups are off.
    pub backup: Option<crate::backup::BackupConfig>,
    /// The store limits, for the stores the engine creates on its own (a
    /// restore drill's throwaway store).
    pub limits: super::Limits,
}

/// Where an engine's chart is, and the values files it is installed with.
#[derive(Debug, Clone)]
pub struct Chart {
    pub dir: PathBuf,
    pub values_files: Vec<PathBuf>,
}

impl EngineConfig {
    pub fn from_settings(s: &Settings) -> EngineConfig {
        EngineConfig {
            naming: naming(s),
            binding: match (&s.store_cluster_role, &s.service_account) {
                (Some(role), Some(sa)) => Some(Binding {
                    cluster_role: role.clone(),
                    service_account: sa.clone(),
                }),
                _ => None,
            },
            provision_timeout: s.provision_timeout,
            delete_timeout: s.delete_timeout,
            upgrade_timeout: s.upgrade_timeout,
            upgrade_stuck: s.upgrade_stuck,
            lease: s.lease,
            max_concurrent_provisions: s.max_concurrent_provisions,
            max_concurrent_backups: s.backup_concurrency,
            helm_bin: s.helm_bin.clone(),
            kubeconfig: s.kubeconfig.clone(),
            kube_context: s.kube_context.clone(),
            charts: EngineKind::ALL.map(|e| Chart {
                dir: s.chart_dir_for(e),
                values_files: s.values_files_for(e),
            }),
            backup: backup_config(s),
            limits: limits(s),
        }
    }

    /// The chart of an engine.
    pub fn chart(&self, engine: EngineKind) -> &Chart {
        &self.charts[engine.index()]
    }
}

impl EngineConfig {
    /// The helm command for this cluster.
    pub fn helm(&self) -> crate::helm::Helm {
        crate::helm::Helm::new(
            self.helm_bin.clone(),
            self.kubeconfig.clone(),
            self.kube_context.clone(),
        )
    }
}

/// The store limits of these settings.
pub fn limits(s: &Settings) -> super::Limits {
    super::Limits {
        max_stores: s.max_stores,
        max_stores_per_user: s.max_stores_per_user,
    }
}

/// The naming rules of these settings (used by every face to validate).
pub fn naming(s: &Settings) -> Naming {
    Naming {
        suffix: s.ingress_suffix.clone(),
        tls: s.tls,
        reserved: Reserved::new(
            &s.platform_namespace,
            s.platform_host.as_deref(),
            &s.ingress_suffix,
            &s.reserved_slugs,
        ),
    }
}

/// The backup settings, when a bucket is configured (the settings check
/// that a key comes with it).
fn backup_config(s: &Settings) -> Option<crate::backup::BackupConfig> {
    let bucket = s.backup_bucket.clone()?;
    let key = crate::backup::BackupKey::from_base64(s.backup_key.as_deref()?).ok()?;
    let mut prefix = s.backup_prefix.trim().trim_start_matches('/').to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Some(crate::backup::BackupConfig {
        bucket: crate::backup::BucketConfig {
            endpoint: s.backup_endpoint.clone(),
            bucket,
            region: s.backup_region.clone(),
            path_style: s.backup_path_style,
            prefix,
            access_key_id: s.backup_access_key_id.clone(),
            secret_access_key: s.backup_secret_access_key.clone(),
        },
        key,
        keep_deleted: std::time::Duration::from_secs(
            u64::from(s.backup_keep_deleted_days) * 86_400,
        ),
        every: (s.backup_every_hours > 0)
            .then(|| chrono::Duration::hours(i64::from(s.backup_every_hours))),
        retention: crate::backup::Retention {
            daily: s.backup_keep_daily,
            weekly: s.backup_keep_weekly,
        },
        drill_every: (s.drill_every_days > 0)
            .then(|| chrono::Duration::days(i64::from(s.drill_every_days))),
        drill_concurrency: s.drill_concurrency,
    })
}
