//! The `sessions` table and the `rate_limit_events` table behind the API's
//! sign-in sessions and rate limits.
//!
//! Session tokens are 256 random bits; only their SHA-256 (computed by
//! PostgreSQL's `sha256()`) is stored. A fast hash is right here: the token
//! cannot be guessed, so there is nothing for a slow hash to protect.

use super::users::{Role, User};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor, PgPool};
use std::time::Duration;
use uuid::Uuid;

#[derive(FromRow)]
struct SessionUser {
    id: Uuid,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

/// Stores a new session for `user_id`; the token itself is not stored.
pub async fn create<'e>(
    exec: impl PgExecutor<'e>,
    token: &str,
    user_id: Uuid,
    ttl: Duration,
    user_agent: Option<&str>,
    client_addr: Option<&str>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, expires_at, user_agent, client_addr) \
         VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + make_interval(secs => $3), $4, $5) \
         RETURNING expires_at",
    )
    .bind(token)
    .bind(user_id)
    .bind(ttl.as_secs_f64())
    .bind(user_agent)
    .bind(client_addr)
    .fetch_one(exec)
    .await
}

/// The enabled user a live session token belongs to.
pub async fn user_for_token<'e>(
    exec: impl PgExecutor<'e>,
    token: &str,
) -> Result<Option<User>, sqlx::Error> {
    Ok(live_session(exec, token).await?.map(|(u, _)| u))
}

/// The enabled user a live session token belongs to, and when the session
/// expires.
pub async fn live_session<'e>(
    exec: impl PgExecutor<'e>,
    token: &str,
) -> Result<Option<(User, DateTime<Utc>)>, sqlx::Error> {
    let row: Option<SessionUser> = sqlx::query_as(
        "SELECT u.id, u.email, u.role, u.created_at, u.last_login_at, s.expires_at FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = sha256(convert_to($1, 'UTF8')) AND s.expires_at > now() AND u.disabled_at IS NULL",
    )
    .bind(token)
    .fetch_optional(exec)
    .await?;
    Ok(row.map(|r| {
        let user = User {
            id: r.id,
            email: r.email,
            password_hash: String::new(),
            role: Role::parse(&r.role).unwrap_or(Role::User),
            created_at: r.created_at,
            disabled_at: None,
            last_login_at: r.last_login_at,
        };
        (user, r.expires_at)
    }))
}

/// Ends a session; Ok(false) when there was none.
pub async fn delete<'e>(exec: impl PgExecutor<'e>, token: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))")
        .bind(token)
        .execute(exec)
        .await
        .map(|r| r.rows_affected() > 0)
}

pub async fn delete_expired<'e>(exec: impl PgExecutor<'e>) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= now()")
        .execute(exec)
        .await
        .map(|r| r.rows_affected())
}

/// A rate limit that was hit: which bucket, and when a slot frees up.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceeded {
    pub index: usize,
    pub retry_after: Duration,
}

/// Counts one event in each bucket if every bucket has fewer than its limit
/// in the last `window` (whole seconds, at least one); otherwise counts
/// nothing and says which bucket is full. One statement, `rate_take` (see
/// its migration): exact across processes, because each bucket is a row
/// locked for that statement, and short, because nothing is counted row by
/// row and the lock is not held through a WAL flush. Creates of different
/// owners from one address (a proxy, a benchmark) meet only on that
/// address's row, for that one statement. It takes a pool, not an open
/// transaction, on purpose: `rate_take` makes its transaction's commit
/// asynchronous, which must never reach a transaction that writes more.
pub async fn take(
    pool: &PgPool,
    buckets: &[(&str, u32)],
    window: Duration,
) -> Result<Result<(), Exceeded>, sqlx::Error> {
    let names: Vec<&str> = buckets.iter().map(|(b, _)| *b).collect();
    let limits: Vec<i32> = buckets
        .iter()
        .map(|(_, l)| i32::try_from(*l).unwrap_or(i32::MAX))
        .collect();
    let secs = i32::try_from(window.as_secs().max(1)).unwrap_or(i32::MAX);
    let full: Option<(i32, f64)> =
        sqlx::query_as("SELECT full_index, retry_secs FROM rate_take($1, $2, $3)")
            .bind(&names)
            .bind(&limits)
            .bind(secs)
            .fetch_optional(pool)
            .await?;
    Ok(match full {
        None => Ok(()),
        Some((index, wait)) => Err(Exceeded {
            index: usize::try_from(index).unwrap_or(0),
            retry_after: Duration::from_secs_f64(wait.clamp(1.0, f64::from(secs))),
        }),
    })
}

/// Removes rate-limit rows older than `older_than` in every bucket, and
/// the counters of buckets that counted nothing since (a take that comes
/// after makes the row again, `rate_take` locks or inserts it in a loop).
pub async fn prune_rate_events(pool: &PgPool, older_than: Duration) -> Result<u64, sqlx::Error> {
    let events =
        sqlx::query("DELETE FROM rate_limit_events WHERE at < now() - make_interval(secs => $1)")
            .bind(older_than.as_secs_f64())
            .execute(pool)
            .await?
            .rows_affected();
    let counters = sqlx::query(
        "DELETE FROM rate_counters WHERE newest < extract(epoch FROM now() - make_interval(secs => $1))",
    )
    .bind(older_than.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(events + counters)
}

/// Failures in one bucket within a window: how many, and how long ago the last.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BucketCount {
    pub count: u32,
    pub since_last: Option<Duration>,
}

/// Reads the failure counts of `buckets` and lets `refuse` decide; when it
/// does not refuse, counts one provisional failure in every bucket (removed
/// with [`forget_events`] if the attempt succeeds), so that concurrent
/// attempts cannot all slip past the limit. Exact across processes: the
/// buckets are locked for the transaction.
pub async fn reserve_attempt<T>(
    pool: &PgPool,
    buckets: &[&str],
    window: Duration,
    refuse: impl FnOnce(&[BucketCount]) -> Option<T>,
) -> Result<Result<Vec<i64>, T>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut order: Vec<&str> = buckets.to_vec();
    order.sort_unstable();
    order.dedup();
    for b in &order {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind(*b)
            .execute(&mut *tx)
            .await?;
    }
    let secs = window.as_secs_f64();
    let rows: Vec<(String, i64, Option<f64>)> = sqlx::query_as(
        "SELECT bucket, count(*), extract(epoch FROM now() - max(at))::float8 \
         FROM rate_limit_events WHERE bucket = ANY($1) AND at > now() - make_interval(secs => $2) \
         GROUP BY bucket",
    )
    .bind(buckets)
    .bind(secs)
    .fetch_all(&mut *tx)
    .await?;
    let counts: Vec<BucketCount> = buckets
        .iter()
        .map(|b| {
            rows.iter()
                .find(|(name, _, _)| name == b)
                .map(|(_, n, ago)| BucketCount {
                    count: u32::try_from(*n).unwrap_or(u32::MAX),
                    since_last: ago.map(|s| Duration::from_secs_f64(s.max(0.0))),
                })
                .unwrap_or_default()
        })
        .collect();
    if let Some(refusal) = refuse(&counts) {
        return Ok(Err(refusal));
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO rate_limit_events (bucket) SELECT unnest($1::text[]) RETURNING id",
    )
    .bind(buckets)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(ids))
}

/// Removes counted events (a provisional failure that turned out a success).
pub async fn forget_events<'e>(exec: impl PgExecutor<'e>, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limit_events WHERE id = ANY($1)")
        .bind(ids)
        .execute(exec)
        .await
        .map(|_| ())
}

/// Empties a bucket (an address that signed in to an account is forgiven
/// its earlier failures on it).
pub async fn clear_bucket<'e>(exec: impl PgExecutor<'e>, bucket: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limit_events WHERE bucket = $1")
        .bind(bucket)
        .execute(exec)
        .await
        .map(|_| ())
}

/// The channel on which a change to a user that may end their sessions
/// (disabled, deleted, new role or password, sessions removed) is announced,
/// with the user's email (a trigger does it: see the migrations).
pub const USER_CHANNEL: &str = "store_weaver_users";

/// The key that seals the API's page cursors (created by a migration).
pub async fn cursor_secret<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar("SELECT key FROM api_secrets WHERE name = 'cursor'")
        .fetch_one(exec)
        .await
}
