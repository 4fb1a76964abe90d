//! The subcommands and their arguments (clap). They live with the commands
//! that run them; `cli` only holds the top-level parser and the setting
//! flags, so the arrows go cli → commands, never back.

use crate::engines::EngineKind;
use clap::{Subcommand, ValueEnum};

/// The shells `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
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
    User(super::users::UserCommand),
    /// Check everything Store Weaver depends on; each failure says how to fix it.
    /// Exit code 1 when something is wrong.
    Doctor {
        #[arg(long)]
        json: bool,
        /// `--serve` replicas that share the database (one console is counted
        /// with them): their connection budgets must fit max_connections.
        #[arg(long, value_name = "N", default_value_t = crate::doctor::DEFAULT_REPLICAS)]
        replicas: u32,
    },
    /// Upgrade many stores in waves, with a failure budget (admins only:
    /// this command needs the database).
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Print a shell completion script (bash, zsh or fish); store names are
    /// completed from the database. See README, "Shell completions".
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff): `store-weaver man > store-weaver.1`.
    Man,
    /// For the completion scripts: the slugs of stores whose slug starts
    /// with PREFIX, one a line; nothing (and exit 0) when the database
    /// cannot be asked quickly.
    #[command(name = "__complete-stores", hide = true)]
    CompleteStores {
        /// Deleted stores too (for `audit`).
        #[arg(long)]
        deleted: bool,
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Show the audit log (newest first).
    Audit {
        /// Only this store (id, id prefix, namespace, slug, name or name prefix),
        /// deleted ones included.
        store: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// List live stores, newest first, a page at a time.
    List {
        #[arg(long)]
        owner: Option<String>,
        /// Only stores with this status (Provisioning, Ready, Failed, Deleting).
        #[arg(long)]
        status: Option<String>,
        /// Stores per page (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Every page, streamed as it is read (not only the first).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show one store (id, id prefix, namespace, slug, name or name prefix).
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
        /// The store's engine (docs/engines.md).
        #[arg(long, default_value = EngineKind::DEFAULT.as_str())]
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
    /// A store's container log, its secrets masked (default: its engine's
    /// main container; init containers too, e.g. --container setup-store).
    Logs {
        store: String,
        #[arg(long, short = 'c')]
        container: Option<String>,
        /// Only this pod (default: the newest that has the container).
        #[arg(long)]
        pod: Option<String>,
        #[arg(long, short = 'f')]
        follow: bool,
        /// The previous instance of the container (after a restart).
        #[arg(long, short = 'p')]
        previous: bool,
        /// Only the last N lines.
        #[arg(long, value_name = "N")]
        tail: Option<i64>,
        #[arg(long)]
        timestamps: bool,
        /// List the store's pods and containers instead.
        #[arg(long)]
        list: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Run `wp` in the store, the incident shell of the engines that have
    /// it (docs/engines.md): `store wp STORE -- plugin list`.
    Wp {
        store: String,
        /// Allow only commands that read (list, get, version, status).
        #[arg(long, conflicts_with = "unsafe_code")]
        read_only: bool,
        /// Also allow the commands that run code or SQL given on the command
        /// line (eval, eval-file, shell, db query, package...): audited.
        #[arg(long = "unsafe")]
        unsafe_code: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
        /// The wp command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "WP_ARGS")]
        args: Vec<String>,
    },
    /// Upgrade a Ready store to the chart shipped with this binary, with
    /// changed settings if given (`--set replicas=0`).
    /// A store that is not healthy within upgrade_timeout_secs is rolled back.
    Upgrade {
        store: String,
        #[arg(long = "set", value_name = "KEY=VALUE", help = settings_help())]
        set: Vec<String>,
        /// The chart version to end on (must be the one this binary ships).
        #[arg(long, value_name = "CHART_VERSION")]
        to: Option<String>,
        /// Run workers here and wait until the change has ended.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Change a Ready store's settings (an upgrade with only settings):
    /// `store set shop replicas=0` pauses it.
    Set {
        store: String,
        /// key=value pairs (see `store upgrade --help`).
        #[arg(required = true, value_name = "KEY=VALUE")]
        settings: Vec<String>,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Roll a Ready store back to its previous revision, or to --revision N.
    Rollback {
        store: String,
        #[arg(long, value_name = "N")]
        revision: Option<u32>,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// The store's release history (Helm revisions and what each ran), and
    /// whether the release drifted from the record.
    History {
        store: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a store and everything it has in the cluster. With backups
    /// configured, a final backup is taken first and kept for an undelete
    /// (backup_keep_deleted_days).
    Delete {
        store: String,
        /// Without the final backup: the store cannot be undeleted.
        #[arg(long)]
        no_backup: bool,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Back a Ready store up (its credentials, database and files), sealed,
    /// into the backup bucket.
    Backup {
        store: String,
        /// Wait until the backup is complete (or failed); exit 5 if it failed.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// A store's backup schedule: shown, or set to EVERY (6h, 24h, 2d;
    /// `off` for none; `default` for the fleet's backup_every_hours).
    BackupSchedule {
        store: String,
        every: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Restore a store's newest complete backup into a throwaway store,
    /// check it is ready and holds what the backup counts, then delete it.
    Drill {
        store: String,
        /// Wait until the drill is done; exit 5 if it failed.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// A store's restore drills, newest first, and its last good restore.
    Drills {
        store: String,
        #[arg(long)]
        json: bool,
    },
    /// A store's backups, newest first (a deleted store's too).
    Backups {
        store: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace a store's data with a backup's, in place: its shop pauses,
    /// the backup is checked whole first, nothing is touched if it is not good.
    Restore {
        store: String,
        /// The backup's id or its first characters (default: the newest complete one).
        backup: Option<String>,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Bring a deleted store back from its final backup, under its old name
    /// and address.
    Undelete {
        store: String,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Make a new store from a backup of another: its own name, address and
    /// credentials, the source's data (a staging copy before a risky
    /// upgrade). The source is only read.
    Clone {
        /// The store to copy.
        source: String,
        /// The clone's name.
        name: String,
        /// The source's backup: its id or its first characters (default:
        /// the newest complete one).
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
        /// Wait until the clone is Ready (or failed); exit 5 if it failed.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Start a fleet upgrade: matching Ready stores in waves; each wave is
    /// queued once the one before ended healthy; the run stops when
    /// --max-failures stores failed (each failed store is rolled back).
    Upgrade {
        /// The chart version to end on (must be the one this binary ships).
        #[arg(long, value_name = "CHART_VERSION")]
        to: Option<String>,
        /// key=value settings applied to every store; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Only this owner's stores.
        #[arg(long)]
        owner: Option<String>,
        /// The engine whose stores to upgrade: a run changes one engine's
        /// stores, with that engine's settings.
        #[arg(long, default_value = EngineKind::DEFAULT.as_str())]
        engine: String,
        /// Only stores with this status (only Ready stores can be upgraded).
        #[arg(long)]
        status: Option<String>,
        /// Stores per wave.
        #[arg(long, default_value_t = 5)]
        wave: u32,
        /// Stop the run when this many stores failed.
        #[arg(long, default_value_t = 1)]
        max_failures: u32,
        /// Run workers here and wait until the run has ended.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// The fleet runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One run: its waves and each store's outcome.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Stop a run: stores not yet queued are left as they are.
    Cancel {
        id: i64,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
    /// Start a stopped or cancelled run again (after fixing the cause): its
    /// failed stores are tried again, then the rest.
    Resume {
        id: i64,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
        #[arg(long = "as", value_name = "USER")]
        actor: Option<String>,
    },
}

/// `--set`'s help: each engine's keys, from the engines themselves.
fn settings_help() -> String {
    let keys: Vec<String> = EngineKind::ALL
        .iter()
        .map(|e| format!("{e}: {}", e.spec().key_names()))
        .collect();
    format!(
        "key=value; repeatable. The keys of the store's engine ({}); volumes only grow, replicas=0 pauses",
        keys.join("; ")
    )
}
