//! The non-interactive faces: `config`, `migrate`, `worker`, `store ...` and
//! `audit`. Output is a table or `--json`; exit codes say what happened.

pub mod pods;

pub mod args;
pub mod backups;
pub mod changes;
pub mod clones;
pub mod drills;
pub mod keys;
pub mod live;
pub mod schedule;
pub mod users;

use crate::cluster::health::Health;
use crate::config::Settings;
use crate::db::{self, audit, stores};
use crate::engine::{self, CreateRequest, EngineError};
use crate::runtime::{self, Runtime};
use crate::store::{Request, Status, Store, Via, lifecycle};
pub use args::{Command, StoreCommand};
use color_eyre::eyre::Result;
use sqlx::PgPool;
use std::process::ExitCode;
use std::time::Duration;
use uuid::Uuid;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const LIMIT: u8 = 3;
    pub const NOT_FOUND: u8 = 4;
    pub const FAILED: u8 = 5;
    pub const CONFLICT: u8 = 6;
    pub const UNAVAILABLE: u8 = 7;
}

fn engine_exit(e: &EngineError) -> u8 {
    match e {
        EngineError::Invalid { .. } => exit::INVALID,
        EngineError::Limit { .. } => exit::LIMIT,
        EngineError::NotFound { .. } => exit::NOT_FOUND,
        EngineError::NameTaken { .. }
        | EngineError::NotAllowed { .. }
        | EngineError::Busy { .. }
        | EngineError::NotOwned { .. } => exit::CONFLICT,
        EngineError::Unavailable(_) | EngineError::Database(_) => exit::UNAVAILABLE,
    }
}

pub async fn run(command: Command, settings: Settings) -> Result<ExitCode> {
    match command {
        Command::Config => {
            print!("{}", settings.describe());
            if let Some(p) = crate::config::default_config_file() {
                println!("\n(config file searched at {})", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let pool = db::connect(settings.database_url()?, settings.db_connections).await?;
            db::migrate(&pool).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            let rt = Runtime::start(settings, true).await?;
            tracing::info!(
                workers = rt.settings.workers,
                "workers running; SIGINT or SIGTERM to stop"
            );
            runtime::wait_for_signal().await;
            tracing::info!("stopping: handing running operations back");
            rt.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { json, replicas } => Ok(pods::doctor(&settings, json, replicas).await),
        Command::CompleteStores { deleted, prefix } => {
            keys::complete(&settings, &prefix, deleted).await;
            Ok(ExitCode::SUCCESS)
        }
        // They need the whole parser (`cli`, above this module): the binary
        // answers them before it reads any setting.
        Command::Completions { .. } | Command::Man => {
            eprintln!("error: completions and man are answered by the store-weaver binary itself");
            Ok(ExitCode::from(exit::ERROR))
        }
        Command::Store(cmd) => store_command(cmd, settings).await,
        Command::Fleet(cmd) => {
            let pool = db::connect(settings.database_url()?, settings.db_connections).await?;
            db::migrate(&pool).await?;
            changes::fleet_command(cmd, settings, &pool).await
        }
        Command::User(cmd) => users::run(cmd, settings).await,
        Command::Audit { store, limit, json } => {
            let pool = db::connect(settings.database_url()?, settings.db_connections).await?;
            db::migrate(&pool).await?;
            let id = match store {
                // Deleted stores too: their trail is kept.
                Some(key) => match keys::resolve_key(&pool, &key, true).await {
                    Ok(s) => Some(s.id),
                    Err(code) => return Ok(ExitCode::from(code)),
                },
                None => None,
            };
            let entries = audit::list(&pool, id, limit.clamp(1, 10_000)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                // One row per entry, whatever a detail holds: its controls
                // (newlines included; some come from stores) are shown.
                let row = |s: &str| crate::text::visible_controls(s, &[]).into_owned();
                for e in entries {
                    println!(
                        "{}  {:<22} {:<8} {:<20} {:<24} {:<9} {}",
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        row(&e.actor),
                        e.via,
                        e.action,
                        row(&e.store_name.unwrap_or_default()),
                        e.outcome,
                        row(&e.detail.unwrap_or_default())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Finds one live store by key (`keys`: id, id prefix, namespace, slug,
/// name or name prefix).
pub(crate) async fn resolve(pool: &PgPool, key: &str) -> Result<Store, u8> {
    keys::resolve_key(pool, key, false).await
}

/// `store list`: pages from the database (keyset, newest first), so that
/// `--all` streams any number of stores in constant memory.
async fn list_stores(
    settings: &Settings,
    pool: &PgPool,
    owner: Option<String>,
    status: Option<String>,
    limit: i64,
    all: bool,
    json: bool,
) -> Result<ExitCode> {
    use std::io::Write as _;
    if !(1..=500).contains(&limit) {
        eprintln!("error: --limit must be 1 to 500");
        return Ok(ExitCode::from(2));
    }
    let status = match status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match Status::parse(s) {
            Some(st) => Some(st),
            None => {
                eprintln!(
                    "error: unknown status {s:?}; use Provisioning, Ready, Failed or Deleting"
                );
                return Ok(ExitCode::from(2));
            }
        },
    };
    let filter = stores::Filter {
        owner: owner
            .map(|o| o.trim().to_lowercase())
            .filter(|o| !o.is_empty()),
        status,
        q: None,
    };
    let sort = stores::Sort::NEWEST;
    let total = stores::count_matching(pool, &filter).await?;
    // Read once, before paging: one list per kind, whatever the page count.
    let live = live::read(settings, live::Scope::All).await;
    if let Err(why) = &live {
        eprintln!("health unknown: {why}; STATUS is the record's, not what the cluster shows now");
    }
    let mut out = std::io::stdout().lock();
    if json {
        write!(out, "[")?;
    } else {
        writeln!(
            out,
            "{:<36}  {:<24} {:<13} {:<12} {:<18} {:<26} URL",
            "ID", "NAME", "STATUS", "HEALTH", "PHASE", "OWNER"
        )?;
    }
    let mut after: Option<stores::After> = None;
    let mut shown: i64 = 0;
    loop {
        let mut page = stores::page(pool, &filter, sort, after.as_ref(), limit + 1).await?;
        let more = page.len() as i64 > limit;
        page.truncate(limit as usize);
        for s in &page {
            let health = live::health(&live, s.id);
            if json {
                let sep = if shown == 0 { "\n  " } else { ",\n  " };
                write!(out, "{sep}{}", live::json(s, &health))?;
            } else {
                writeln!(
                    out,
                    "{:<36}  {:<24} {:<13} {:<12} {:<18} {:<26} {}",
                    s.id,
                    s.name,
                    s.status.as_str(),
                    health.as_ref().map_or("unknown", |h| h.state.as_str()),
                    s.phase,
                    s.owner,
                    s.url
                )?;
            }
            shown += 1;
        }
        out.flush()?;
        after = page.last().map(|s| stores::After::of(sort, s));
        if !(all && more) {
            break;
        }
    }
    if json {
        writeln!(out, "{}]", if shown == 0 { "" } else { "\n" })?;
    }
    if shown < total && !all {
        eprintln!(
            "{shown} of {total} stores shown; use --all for every page (or --limit, up to 500)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_store(s: &Store, json: bool) {
    print_store_live(s, None, json)
}

/// The store, with its live health when `health` is given (`store show`).
fn print_store_live(s: &Store, health: Option<&Result<Health, String>>, json: bool) {
    if json {
        let value = match health {
            Some(h) => serde_json::to_string_pretty(&live::json(s, h)),
            None => serde_json::to_string_pretty(s),
        };
        match value {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode the store: {e}"),
        }
        return;
    }
    println!("id:        {}", s.id);
    println!("name:      {}", s.name);
    println!("namespace: {}", s.namespace);
    println!("owner:     {}", s.owner);
    println!("engine:    {}", s.engine);
    println!("status:    {} ({})", s.status, s.phase);
    if let Some(h) = health {
        println!("health:    {}", live::line(h));
    }
    println!("url:       {}", s.url);
    println!("attempts:  {}", s.attempts);
    println!(
        "chart:     {} (revision {})",
        s.chart_version.as_deref().unwrap_or("unknown"),
        s.helm_revision
            .map_or("unknown".to_string(), |r| r.to_string())
    );
    println!("settings:  {}", s.settings);
    println!(
        "created:   {}",
        s.created_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(d) = s.provision_duration() {
        println!("took:      {:.1}s", d.num_milliseconds() as f64 / 1000.0);
    }
    if let Some(e) = &s.error_message {
        println!("error:     {e}");
    }
}

/// Runs workers in this process while waiting for the store to settle, so
/// `--wait` works even when no other Store Weaver process is running.
/// Waits until the store is no longer busy; success when it settled at
/// `want`, the status the lifecycle says the request ends in.
pub(crate) async fn settle(
    settings: Settings,
    id: Uuid,
    json: bool,
    want: Option<Status>,
) -> Result<ExitCode> {
    let timeout =
        settings.provision_timeout.max(settings.delete_timeout) + Duration::from_secs(120);
    let rt = Runtime::start(settings, true).await?;
    let res = runtime::wait_for_store(&rt.pool, id, timeout, |s| !s.status.is_busy()).await;
    rt.shutdown().await;
    let store = res?;
    print_store(&store, json);
    Ok(if Some(store.status) == want {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    })
}

async fn store_command(cmd: StoreCommand, settings: Settings) -> Result<ExitCode> {
    let pool = db::connect(settings.database_url()?, settings.db_connections).await?;
    db::migrate(&pool).await?;
    match cmd {
        StoreCommand::List {
            owner,
            status,
            limit,
            all,
            json,
        } => list_stores(&settings, &pool, owner, status, limit, all, json).await,
        StoreCommand::Show { store, json } => match resolve(&pool, &store).await {
            Ok(s) => {
                let scope = live::Scope::Store {
                    id: s.id,
                    namespace: &s.namespace,
                };
                let health = live::health(&live::read(&settings, scope).await, s.id);
                print_store_live(&s, Some(&health), json);
                Ok(ExitCode::SUCCESS)
            }
            Err(code) => Ok(ExitCode::from(code)),
        },
        StoreCommand::Create {
            name,
            owner,
            engine,
            idempotency_key,
            wait,
            json,
            actor,
        } => {
            let actor = runtime::actor(actor, Via::Cli);
            let req = CreateRequest {
                name,
                owner,
                engine,
                idempotency_key,
            };
            match engine::create(
                &pool,
                runtime::limits(&settings),
                &runtime::naming(&settings),
                &actor,
                &req,
            )
            .await
            {
                Ok((store, _)) if wait => {
                    let want = lifecycle::decide(None, Request::Create).ok();
                    settle(settings, store.id, json, want.map(|t| t.settles)).await
                }
                Ok((store, _)) => {
                    print_store(&store, json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(e, json)),
            }
        }
        StoreCommand::Retry {
            store,
            wait,
            json,
            actor,
        } => act(settings, &pool, &store, actor, wait, json, Act::Retry).await,
        StoreCommand::Delete {
            store,
            no_backup,
            wait,
            json,
            actor,
        } => {
            let request = Act::Delete { no_backup };
            act(settings, &pool, &store, actor, wait, json, request).await
        }
        StoreCommand::Backup {
            store,
            wait,
            json,
            actor,
        } => backups::backup(settings, &pool, &store, actor, wait, json).await,
        StoreCommand::Backups { store, json } => backups::list(&pool, &store, json).await,
        StoreCommand::Drill {
            store,
            wait,
            json,
            actor,
        } => drills::drill(settings, &pool, &store, actor, wait, json).await,
        StoreCommand::Drills { store, json } => drills::list(&settings, &pool, &store, json).await,
        StoreCommand::Restore {
            store,
            backup,
            wait,
            json,
            actor,
        } => backups::restore(settings, &pool, &store, backup, actor, wait, json).await,
        StoreCommand::Undelete {
            store,
            wait,
            json,
            actor,
        } => backups::undelete(settings, &pool, &store, actor, wait, json).await,
        StoreCommand::BackupSchedule {
            store,
            every,
            json,
            actor,
        } => schedule::show_or_set(&settings, &pool, &store, every, actor, json).await,
        StoreCommand::Clone {
            source,
            name,
            backup,
            wait,
            json,
            actor,
        } => {
            let ask = clones::Ask {
                source,
                name,
                backup,
                actor,
            };
            clones::clone(settings, &pool, ask, wait, json).await
        }
        StoreCommand::Upgrade {
            store,
            set,
            to,
            wait,
            json,
            actor,
        } => {
            let change = changes::Change::Upgrade(engine::changes::UpgradeRequest { set, to });
            changes::change(settings, &pool, &store, change, wait, json, actor).await
        }
        StoreCommand::Set {
            store,
            settings: set,
            wait,
            json,
            actor,
        } => {
            let change =
                changes::Change::Upgrade(engine::changes::UpgradeRequest { set, to: None });
            changes::change(settings, &pool, &store, change, wait, json, actor).await
        }
        StoreCommand::Rollback {
            store,
            revision,
            wait,
            json,
            actor,
        } => {
            let change = changes::Change::Rollback(revision);
            changes::change(settings, &pool, &store, change, wait, json, actor).await
        }
        StoreCommand::History { store, json } => {
            changes::history(&settings, &pool, &store, json).await
        }
        StoreCommand::Logs {
            store,
            container,
            pod,
            follow,
            previous,
            tail,
            timestamps,
            list,
            actor,
        } => {
            let req = crate::cluster::pods::LogRequest {
                pod,
                container,
                follow,
                previous,
                tail,
                timestamps,
            };
            pods::logs(&settings, &pool, &store, req, list, actor).await
        }
        StoreCommand::Wp {
            store,
            read_only,
            unsafe_code,
            json,
            actor,
            args,
        } => {
            let mode = match (read_only, unsafe_code) {
                (_, true) => crate::cluster::pods::ShellMode::Unsafe,
                (ro, false) => ro.into(),
            };
            pods::wp(&settings, &pool, &store, &args, mode, json, actor).await
        }
    }
}

/// What `act` asks of a store.
enum Act {
    Retry,
    Delete { no_backup: bool },
}

/// Retry or delete one store, then print it (or wait until it settles).
async fn act(
    settings: Settings,
    pool: &PgPool,
    key: &str,
    actor: Option<String>,
    wait: bool,
    json: bool,
    act: Act,
) -> Result<ExitCode> {
    let s = match resolve(pool, key).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = runtime::actor(actor, Via::Cli);
    let (request, result) = match act {
        Act::Delete { no_backup } => (
            Request::Delete,
            engine::delete_with(pool, &actor, s.id, None, no_backup).await,
        ),
        Act::Retry => (
            Request::Retry,
            engine::retry(pool, &actor, s.id, None).await,
        ),
    };
    match result {
        Ok(store) if wait => {
            // Where this request settles: a retried delete at Deleted.
            let want = lifecycle::accepted(request, store.status).map(|t| t.settles);
            settle(settings, store.id, json, want).await
        }
        Ok(store) => {
            print_store(&store, json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(e, json)),
    }
}

pub(crate) fn report(e: EngineError, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"error": e.to_string(), "code": e.code()})
        );
    }
    eprintln!("error: {e}");
    ExitCode::from(engine_exit(&e))
}
