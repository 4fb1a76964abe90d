//! Command-line arguments. Flags that are settings feed the top layer of
//! `config`; everything else picks what to run.

use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "store-weaver",
    version,
    about = "Provision WordPress + WooCommerce stores on Kubernetes.\n\nWithout a command: the interactive console. With --serve: the HTTP API and dashboard."
)]
pub struct Cli {
    /// Run the headless HTTP API (and the dashboard) instead of the console.
    #[arg(long)]
    pub serve: bool,
    /// Console: hide every destructive action.
    #[arg(long)]
    pub read_only: bool,
    /// Settings file (TOML); default: the XDG config dir's store-weaver/config.toml.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Every flag here is also a config key and an environment variable.
#[derive(Debug, Args, Default)]
pub struct SettingFlags {
    #[arg(long, value_name = "URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<String>,
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    #[arg(long, value_name = "local|production", global = true)]
    pub environment: Option<String>,
    #[arg(long, value_name = "SUFFIX", global = true)]
    pub ingress_suffix: Option<String>,
    #[arg(long, value_name = "BOOL", global = true)]
    pub tls: Option<String>,
    #[arg(long, value_name = "DIR", global = true)]
    pub charts_dir: Option<String>,
    #[arg(long, value_name = "FILE", global = true)]
    pub values_file: Option<String>,
    #[arg(long, value_name = "FILE", global = true)]
    pub helm: Option<String>,
    #[arg(long, value_name = "CLUSTERROLE", global = true)]
    pub store_cluster_role: Option<String>,
    #[arg(long, value_name = "NAMESPACE/NAME", global = true)]
    pub service_account: Option<String>,
    #[arg(long, value_name = "N", global = true)]
    pub max_stores: Option<String>,
    #[arg(long, value_name = "N", global = true)]
    pub max_stores_per_user: Option<String>,
    #[arg(long, value_name = "N", global = true)]
    pub max_concurrent_provisions: Option<String>,
    #[arg(long, value_name = "SECS", global = true)]
    pub provision_timeout: Option<String>,
    #[arg(long, value_name = "SECS", global = true)]
    pub delete_timeout: Option<String>,
    #[arg(long, value_name = "SECS", global = true)]
    pub lease: Option<String>,
    #[arg(long, value_name = "N", global = true)]
    pub workers: Option<String>,
    #[arg(long, value_name = "ADDR", global = true)]
    pub listen: Option<String>,
    #[arg(long, value_name = "password|proxy|demo", global = true)]
    pub auth: Option<String>,
    #[arg(long, value_name = "HEADER", global = true)]
    pub proxy_user_header: Option<String>,
    #[arg(long, value_name = "ORIGINS", global = true)]
    pub cors_origins: Option<String>,
    #[arg(long, value_name = "N", global = true)]
    pub create_rate: Option<String>,
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
    #[arg(long, value_name = "text|json", global = true)]
    pub log_format: Option<String>,
    #[arg(long, value_name = "DIR", global = true)]
    pub log_dir: Option<String>,
}

impl SettingFlags {
    /// The flag layer, keyed by config key.
    pub fn layer(&self) -> BTreeMap<&'static str, String> {
        let pairs: [(&'static str, &Option<String>); 26] = [
            ("database_url", &self.database_url),
            ("kubeconfig", &self.kubeconfig),
            ("kube_context", &self.context),
            ("environment", &self.environment),
            ("ingress_suffix", &self.ingress_suffix),
            ("tls", &self.tls),
            ("charts_dir", &self.charts_dir),
            ("values_file", &self.values_file),
            ("helm_bin", &self.helm),
            ("store_cluster_role", &self.store_cluster_role),
            ("service_account", &self.service_account),
            ("max_stores", &self.max_stores),
            ("max_stores_per_user", &self.max_stores_per_user),
            ("max_concurrent_provisions", &self.max_concurrent_provisions),
            ("provision_timeout_secs", &self.provision_timeout),
            ("delete_timeout_secs", &self.delete_timeout),
            ("lease_secs", &self.lease),
            ("workers", &self.workers),
            ("listen", &self.listen),
            ("auth_mode", &self.auth),
            ("proxy_user_header", &self.proxy_user_header),
            ("cors_origins", &self.cors_origins),
            ("create_rate_per_minute", &self.create_rate),
            ("log_level", &self.log_level),
            ("log_format", &self.log_format),
            ("log_dir", &self.log_dir),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the effective settings and where each came from (secrets masked).
    Config,
    /// Apply the database migrations (they also run at every start).
    Migrate,
    /// Run operation workers only, until interrupted (SIGINT/SIGTERM).
    Worker,
    /// Manage stores from scripts.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Manage the users who sign in to the HTTP API with a password.
    #[command(subcommand)]
    User(crate::serve::users_cmd::UserCommand),
    /// Show the audit log (newest first).
    Audit {
        /// Only this store (id, id prefix, namespace or name).
        store: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// List live stores.
    List {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one store (id, id prefix, namespace or name).
    Show {
        store: String,
        #[arg(long)]
        json: bool,
    },
    /// Create a store and queue its provisioning.
    Create {
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "woocommerce")]
        engine: String,
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Run workers here and wait until the store is Ready or Failed.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        /// Who is asking, for the audit log (default: $USER).
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Retry a Failed store.
    Retry {
        store: String,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Delete a store and everything it has in the cluster.
    Delete {
        store: String,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
}
