//! The `stores` table.

use crate::store::{EngineKind, Phase, Status, Store};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(FromRow)]
struct Row {
    id: Uuid,
    name: String,
    namespace: String,
    owner: String,
    engine: String,
    status: String,
    phase: String,
    url: String,
    error_message: Option<String>,
    attempts: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    provision_started_at: Option<DateTime<Utc>>,
    ready_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    namespace_uid: Option<String>,
    chart_version: Option<String>,
    helm_revision: Option<i32>,
    settings: sqlx::types::Json<serde_json::Value>,
}

impl From<Row> for Store {
    fn from(r: Row) -> Store {
        Store {
            id: r.id,
            name: r.name,
            namespace: r.namespace,
            owner: r.owner,
            // Only known engines are ever written.
            engine: EngineKind::parse(&r.engine).unwrap_or(EngineKind::DEFAULT),
            // The CHECK constraint keeps the column to these names.
            status: Status::parse(&r.status).unwrap_or(Status::Failed),
            phase: Phase::parse(&r.phase).unwrap_or(Phase::Done),
            namespace_uid: r.namespace_uid,
            url: r.url,
            error_message: r.error_message,
            attempts: r.attempts,
            created_at: r.created_at,
            updated_at: r.updated_at,
            provision_started_at: r.provision_started_at,
            ready_at: r.ready_at,
            deleted_at: r.deleted_at,
            chart_version: r.chart_version,
            helm_revision: r.helm_revision,
            // Written only from validated settings; an unreadable one shows as defaults.
            settings: serde_json::from_value(r.settings.0).unwrap_or_default(),
        }
    }
}

macro_rules! store_columns {
    () => {
        "id, name, namespace, owner, engine, status, phase, url, error_message, attempts, \
     created_at, updated_at, provision_started_at, ready_at, deleted_at, namespace_uid, \
     chart_version, helm_revision, settings"
    };
}

/// Live stores (not yet deleted), newest first; all owners when `owner` is None.
pub async fn list<'e>(
    exec: impl PgExecutor<'e>,
    owner: Option<&str>,
) -> Result<Vec<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE status <> 'Deleted' AND ($1::text IS NULL OR owner = $1) \
         ORDER BY created_at DESC, id"
    );
    let rows: Vec<Row> = sqlx::query_as(sql).bind(owner).fetch_all(exec).await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

pub async fn get<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> Result<Option<Store>, sqlx::Error> {
    let sql: &str = concat!("SELECT ", store_columns!(), " FROM stores WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sql).bind(id).fetch_optional(exec).await?;
    Ok(row.map(Store::from))
}

/// Finds a store by id, id prefix (at least 4 characters), namespace or name,
/// for the command line. Live stores only.
/// Stores a key may mean: its id or an id prefix (4+ characters), its
/// namespace or slug (the URL's host part), its name or a name prefix, all
/// case-insensitive; oldest first, at most `limit`. `commands::keys` ranks
/// them (an exact match wins over prefixes).
pub async fn candidates<'e>(
    exec: impl PgExecutor<'e>,
    key: &str,
    with_deleted: bool,
    limit: i64,
) -> Result<Vec<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE ($2 OR status <> 'Deleted') AND \
         (id::text = lower($1) OR (length($1) >= 4 AND starts_with(id::text, lower($1))) \
          OR namespace = lower($1) OR namespace = 'store-' || lower($1) \
          OR starts_with(lower(name), lower($1))) \
         ORDER BY created_at LIMIT $3"
    );
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(key)
        .bind(with_deleted)
        .bind(limit)
        .bind(crate::store::NAMESPACE_PREFIX)
        .fetch_all(exec)
        .await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

/// Slugs (namespaces without their prefix) that start with `prefix`, in
/// order, at most `limit`: what shell completion offers as store keys.
pub async fn slugs<'e>(
    exec: impl PgExecutor<'e>,
    prefix: &str,
    with_deleted: bool,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT substr(namespace, length($1) + 1) AS slug FROM stores \
         WHERE ($3 OR status <> 'Deleted') AND starts_with(namespace, $1 || lower($2)) \
         ORDER BY slug LIMIT $4",
    )
    .bind(crate::store::NAMESPACE_PREFIX)
    .bind(prefix)
    .bind(with_deleted)
    .bind(limit)
    .fetch_all(exec)
    .await
}

pub async fn by_idempotency_key<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
    key: &str,
) -> Result<Option<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE owner = $1 AND idempotency_key = $2"
    );
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(owner)
        .bind(key)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(Store::from))
}

pub struct NewStore<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub namespace: &'a str,
    pub owner: &'a str,
    pub engine: EngineKind,
    pub url: &'a str,
    pub idempotency_key: Option<&'a str>,
}

pub async fn insert<'e>(exec: impl PgExecutor<'e>, s: &NewStore<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, idempotency_key, attempts) \
         VALUES ($1, $2, $3, $4, $5, $8, $9, $6, $7, 1)",
    )
    .bind(s.id)
    .bind(s.name)
    .bind(s.namespace)
    .bind(s.owner)
    .bind(s.engine.as_str())
    .bind(s.url)
    .bind(s.idempotency_key)
    .bind(Status::Provisioning.as_str())
    .bind(Phase::Queued.as_str())
    .execute(exec)
    .await
    .map(|_| ())
}

pub async fn namespace_taken<'e>(exec: impl PgExecutor<'e>, ns: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE namespace = $1 AND status <> 'Deleted')",
    )
    .bind(ns)
    .fetch_one(exec)
    .await
}

pub async fn name_taken<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE owner = $1 AND lower(name) = lower($2) AND status <> 'Deleted')",
    )
    .bind(owner)
    .bind(name)
    .fetch_one(exec)
    .await
}

/// Live stores in total and for one owner. The total is the sum of the
/// counts the stores' trigger keeps (see its migration): as exact as
/// count(*) in the same snapshot, without reading every store.
pub async fn counts<'e>(exec: impl PgExecutor<'e>, owner: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT coalesce(sum(live), 0) FROM live_store_counts)::bigint, \
                (SELECT count(*) FROM stores WHERE owner = $1 AND status <> 'Deleted')",
    )
    .bind(owner)
    .fetch_one(exec)
    .await
}

/// Counts of live stores per status, for metrics and the console header.
pub async fn count_by_status<'e>(
    exec: impl PgExecutor<'e>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM stores GROUP BY status ORDER BY status")
        .fetch_all(exec)
        .await
}

// Creates take transaction-scoped advisory locks (the two-key form, apart
// from the one-key locks elsewhere), always in this order: the owner's, the
// namespace's, then one create slot or every slot in ascending order. No
// create waits for a lock that comes earlier than one it holds: no deadlock
// (a create taking a free slot without waiting waits for no slot after).
const LOCK_OWNER: i32 = 0x5357_0101;
const LOCK_NAMESPACE: i32 = 0x5357_0102;
const LOCK_SLOT: i32 = 0x5357_0103;

/// Creates that may be in flight at once (one per slot) while the store
/// count is far from `max_stores`.
pub const CREATE_SLOTS: i32 = 8;

/// Serialises the creates of one owner: their count, names and idempotency
/// keys stay exact. Other owners' creates do not wait (a hash collision
/// only makes two owners share a queue).
pub async fn lock_owner(tx: &mut sqlx::PgConnection, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_OWNER)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// Serialises creates that would take the same namespace (the same name,
/// whoever owns it), so the first free one is found without a race.
pub async fn lock_namespace(tx: &mut sqlx::PgConnection, base: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_NAMESPACE)
        .bind(base)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// One create slot (`0..CREATE_SLOTS`). The transaction counts its stores
/// in that slot's row of `live_store_counts`, which no other create
/// writes while the slot is held.
pub async fn lock_slot(tx: &mut sqlx::PgConnection, slot: i32) -> Result<(), sqlx::Error> {
    let slot = slot.rem_euclid(CREATE_SLOTS);
    sqlx::query(
        "SELECT pg_advisory_xact_lock($1, $2), set_config('store_weaver.create_slot', $3, true)",
    )
    .bind(LOCK_SLOT)
    .bind(slot)
    .bind(slot.to_string())
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

/// The first create slot free at this moment, from `first` on, taken
/// without waiting; None when every slot is held. Any free slot will do:
/// exactness needs only that each create holds one (so that at most
/// `CREATE_SLOTS` are in flight), and a free one means that owners whose
/// creates hash to the same slot do not wait for each other's commit.
pub async fn try_lock_free_slot(
    tx: &mut sqlx::PgConnection,
    first: i32,
) -> Result<Option<i32>, sqlx::Error> {
    for i in 0..CREATE_SLOTS {
        let slot = (first + i).rem_euclid(CREATE_SLOTS);
        let taken: bool = sqlx::query_scalar(
            "SELECT CASE WHEN pg_try_advisory_xact_lock($1, $2) \
             THEN set_config('store_weaver.create_slot', $3, true) IS NOT NULL ELSE false END",
        )
        .bind(LOCK_SLOT)
        .bind(slot)
        .bind(slot.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if taken {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

/// Every create slot, in ascending order: no other create is in flight
/// while they are held (near `max_stores`, where the count must be exact).
pub async fn lock_every_slot(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    for slot in 0..CREATE_SLOTS {
        lock_slot(tx, slot).await?;
    }
    Ok(())
}

/// The store, locked for the rest of the transaction.
pub async fn get_for_update(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<Store>, sqlx::Error> {
    let sql: &str = concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE id = $1 FOR UPDATE"
    );
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(row.map(Store::from))
}

/// What a page of stores is ordered by; ties are broken by id, in the same
/// direction, so that the order is total and a keyset cursor is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Created,
    Name,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub desc: bool,
}

impl Sort {
    pub const NEWEST: Sort = Sort {
        key: SortKey::Created,
        desc: true,
    };

    fn column(self) -> &'static str {
        match self.key {
            SortKey::Created => "created_at",
            SortKey::Name => "lower(name)",
            SortKey::Status => "status",
        }
    }
}

/// Which live stores a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One owner's stores (a user's scope, or an admin's `owner=`).
    pub owner: Option<String>,
    pub status: Option<Status>,
    /// A substring of the name, namespace or URL, any case.
    pub q: Option<String>,
}

/// The sort key and id of the last row of a page: the next page starts
/// strictly after it.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Created(DateTime<Utc>, Uuid),
    Name(String, Uuid),
    Status(String, Uuid),
}

impl After {
    /// The position of `s` in the order `sort`.
    pub fn of(sort: Sort, s: &Store) -> After {
        match sort.key {
            SortKey::Created => After::Created(s.created_at, s.id),
            SortKey::Name => After::Name(s.name.to_lowercase(), s.id),
            SortKey::Status => After::Status(s.status.as_str().to_string(), s.id),
        }
    }
}

fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn push_filter(qb: &mut sqlx::QueryBuilder<sqlx::Postgres>, f: &Filter) {
    qb.push(" FROM stores WHERE status <> 'Deleted'");
    if let Some(owner) = &f.owner {
        qb.push(" AND owner = ").push_bind(owner.clone());
    }
    if let Some(st) = f.status {
        qb.push(" AND status = ").push_bind(st.as_str());
    }
    if let Some(q) = &f.q {
        let pat = like_pattern(q);
        qb.push(" AND (name ILIKE ")
            .push_bind(pat.clone())
            .push(" OR namespace ILIKE ")
            .push_bind(pat.clone())
            .push(" OR url ILIKE ")
            .push_bind(pat)
            .push(")");
    }
}

/// One page of live stores: at most `limit`, in `sort` order, after `after`.
pub async fn page<'e>(
    exec: impl PgExecutor<'e>,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<Store>, sqlx::Error> {
    page_of(exec, filter, sort, after, limit, Matches::Many).await
}

/// How many stores a filter is known to match, which decides how a page is
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matches {
    /// Many, or not known: walk the sort order's index, testing each store,
    /// until the page is full (fast when matches are dense).
    Many,
    /// Few (a text search that matches little): collect every match through
    /// the search indexes first, then sort them. Walking the index instead
    /// reads the whole table when the matches are all at its far end.
    Few,
}

/// At most this many matches count as [`Matches::Few`].
pub const FEW_MATCHES: i64 = 1_000;

/// [`page`], read as `matches` says.
pub async fn page_of<'e>(
    exec: impl PgExecutor<'e>,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
    matches: Matches,
) -> Result<Vec<Store>, sqlx::Error> {
    let mut qb = match matches {
        Matches::Many => {
            let mut qb =
                sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!("SELECT ", store_columns!()));
            push_filter(&mut qb, filter);
            qb
        }
        Matches::Few => {
            let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
                "WITH m AS MATERIALIZED (SELECT ",
                store_columns!()
            ));
            push_filter(&mut qb, filter);
            qb.push(concat!(") SELECT ", store_columns!(), " FROM m WHERE true"));
            qb
        }
    };
    let col = sort.column();
    let cmp = if sort.desc { "<" } else { ">" };
    match after {
        None => {}
        Some(After::Created(at, id)) => {
            qb.push(format_args!(" AND ({col}, id) {cmp} ("))
                .push_bind(*at)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        Some(After::Name(k, id)) | Some(After::Status(k, id)) => {
            qb.push(format_args!(" AND ({col}, id) {cmp} ("))
                .push_bind(k.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
    }
    let dir = if sort.desc { "DESC" } else { "ASC" };
    // The limit is written into the statement, not bound: with it bound,
    // PostgreSQL plans every execution anew (its generic plan for an unknown
    // LIMIT looks dearer), and planning cost more than running.
    qb.push(format_args!(
        " ORDER BY {col} {dir}, id {dir} LIMIT {}",
        limit.max(0)
    ));
    let rows: Vec<Row> = qb.build_query_as().fetch_all(exec).await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

/// How many live stores match `filter` (exact).
pub async fn count_matching<'e>(
    exec: impl PgExecutor<'e>,
    filter: &Filter,
) -> Result<i64, sqlx::Error> {
    let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT count(*)");
    push_filter(&mut qb, filter);
    qb.build_query_scalar().fetch_one(exec).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_the_text_literally() {
        assert_eq!(super::like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(super::like_pattern("shop"), "%shop%");
    }
}
