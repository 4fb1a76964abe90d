//! PostgreSQL access: the pool, embedded migrations, and one module per table.

pub mod audit;
pub mod backups;
pub mod budget;
pub mod drills;
pub mod fleet;
pub mod ledger;
pub mod operations;
pub mod revisions;
pub mod schedules;
pub mod sessions;
pub mod stores;
pub mod users;

use color_eyre::eyre::{Result, WrapErr};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, migrate::Migrator};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The channel on which every change to a store is announced, so consoles and
/// API replicas in other processes learn about it without polling.
pub const STORE_CHANNEL: &str = "store_weaver_stores";
/// The channel that wakes workers when an operation is queued, handed back
/// or ends, or a provision gives its slot back: when there may be work to take.
pub const OPERATION_CHANNEL: &str = "store_weaver_operations";

/// A connection idle at least this long is checked (one round trip) before
/// it is handed out; a busier one is not (sqlx's default checks every time,
/// a second round trip for each query).
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(5);

/// What every pool shares: a connection that went bad while idle is found
/// and replaced before use, without a round trip on every acquire.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Connects with short timeouts: when the database is gone, callers get an
/// error quickly instead of hanging. At most `max` connections, opened on
/// demand (the process's `db_connections`, or its share of it: see
/// [`budget`]); the workers share them, each holding one only for a query
/// or a short transaction, never while it waits for Kubernetes.
pub async fn connect(url: &str, max: u32) -> Result<PgPool> {
    let opts = PgConnectOptions::from_str(url)
        .wrap_err("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name("store-weaver");
    pool_options()
        .max_connections(max.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
        .wrap_err_with(|| {
            format!(
                "cannot connect to PostgreSQL at {}; is it running? (scripts/sandbox up starts a local one)",
                crate::text::mask_url_password(url)
            )
        })
}

/// The `--serve` API's pool: sized for serving, and a short wait for a free
/// connection, so that under overload a request gets 503 with Retry-After
/// quickly instead of after seconds in a queue.
///
/// Every connection is open when this returns and stays open, so that a
/// request only ever waits for a free connection, never for one to be
/// established: a burst after start or after idle would otherwise open
/// connections inside the short wait and answer 503 on a quiet server.
pub async fn connect_api(url: &str, size: u32, wait: Duration) -> Result<PgPool> {
    let size = size.max(1);
    let opts = PgConnectOptions::from_str(url)
        .wrap_err("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name("store-weaver-api");
    // With no idle timeout and no lifetime, sqlx opens `min_connections` in
    // the background at once and closes none while it is healthy (a broken
    // one is found by `before_acquire` and replaced); with either set, it
    // fills the minimum only after its reaper closed one, and the reaper
    // closes idle ones: a quiet server kept one or two open.
    let pool = pool_options()
        .max_connections(size)
        .min_connections(size)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(wait)
        .connect_lazy_with(opts);
    // One query first, so that a database that is down or refuses us is
    // reported as such, quickly.
    let masked = || {
        format!(
            "cannot connect to PostgreSQL at {}",
            crate::text::mask_url_password(url)
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match sqlx::query("SELECT 1").execute(&pool).await {
            Ok(_) => break,
            Err(sqlx::Error::PoolTimedOut) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e).wrap_err_with(masked),
        }
    }
    // Then wait for all of them, by polling: establishing one may take
    // longer than `wait`, which bounds an acquire (and would abort its connect).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while (pool.num_idle() as u32) < size {
        if tokio::time::Instant::now() >= deadline {
            return Err(color_eyre::eyre::eyre!(
                "only {} of the {size} API connections (api_db_connections) opened within 30 s; lower api_db_connections or raise PostgreSQL's max_connections (see its log for why they were refused)",
                pool.size()
            ))
            .wrap_err_with(masked);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(pool)
}

/// A pool that connects on first use, for the console: it must start and
/// show what is wrong even when the database is down. At most `max`.
pub fn connect_lazy(url: &str, max: u32) -> Result<PgPool> {
    let opts = PgConnectOptions::from_str(url)
        .wrap_err("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name("store-weaver");
    Ok(pool_options()
        .max_connections(max.max(1))
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy_with(opts))
}

pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .wrap_err("applying database migrations failed")
}
