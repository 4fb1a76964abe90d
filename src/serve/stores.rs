//! The store endpoints: list, create, get, status, detail, timeline, retry,
//! delete, and the audited reveal of a store's admin credentials (its engine's
//! admin).
//! A user sees and acts on their own stores only; someone else's store is
//! "not found". Admins see every store.

use super::auth::{AuthMethod, Principal, client_addr, peer};
use super::cache::TotalKey;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::cluster::{detail, health::Health, namespace};
use crate::db::{audit, sessions, stores as db_stores};
use crate::engine::{self, CreateRequest};
use crate::engines::AdminUser;
use crate::metrics::METRICS;
use crate::runtime;
use crate::store::{self, Request, Status, Store};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const CLUSTER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_EVENTS: usize = 200;
const MAX_TIMELINE: i64 = 500;

/// A store as the API shows it: the record plus what can be done with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreOut {
    #[serde(flatten)]
    pub store: Store,
    pub can_retry: bool,
    /// What retry does: "retry" (provision again) or "retry delete".
    #[schema(schema_with = retry_label_schema)]
    pub retry_label: &'static str,
    pub can_delete: bool,
}

/// The two labels `Store::retry_label` gives, as an enum in the document.
fn retry_label_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["retry", "retry delete"]))
        .description(Some(
            "What retry does: \"retry\" (provision again) or \"retry delete\".",
        ))
        .build()
}

impl From<Store> for StoreOut {
    fn from(store: Store) -> StoreOut {
        StoreOut {
            can_retry: store.can_retry(),
            retry_label: store.retry_label(),
            can_delete: store.can_delete(),
            store,
        }
    }
}

/// One page of stores.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreList {
    pub stores: Vec<StoreOut>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
    /// Live stores matching the filters, on every page (an exact count).
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only stores in this status.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Admins only: one owner's stores.
    pub owner: Option<String>,
    /// A substring of the name, namespace or URL, any case (at most 100
    /// characters).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `created`, `name` or `status`; `-` in front for descending.
    /// Default `-created` (newest first).
    #[param(schema_with = sort_schema)]
    pub sort: Option<String>,
    /// Stores per page: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn sort_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([
            "created", "-created", "name", "-name", "status", "-status",
        ]))
        .build()
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 500;
const MAX_Q_CHARS: usize = 100;

fn bad_query(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", msg).field(field)
}

pub fn parse_status(raw: Option<&str>) -> ApiResult<Option<Status>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Status::parse(s).map(Some).ok_or_else(|| {
            bad_query(
                "status",
                format!(
                    "unknown status {s:?}; use Provisioning, Ready, Failed, Deleting or DeleteFailed"
                ),
            )
        }),
    }
}

pub fn parse_sort(raw: Option<&str>) -> ApiResult<db_stores::Sort> {
    use db_stores::{Sort, SortKey};
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(Sort::NEWEST);
    }
    let (desc, name) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let key = match name {
        "created" => SortKey::Created,
        "name" => SortKey::Name,
        "status" => SortKey::Status,
        other => {
            return Err(bad_query(
                "sort",
                format!(
                    "unknown sort {other:?}; use created, name or status, with - in front for descending"
                ),
            ));
        }
    };
    Ok(Sort { key, desc })
}

pub fn parse_limit(raw: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    let limit = raw.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(bad_query("limit", format!("limit must be 1 to {max}")));
    }
    Ok(limit)
}

/// The owner filter a principal may use: their own scope, or (admins) any.
pub fn owner_filter(principal: &Principal, owner: Option<&str>) -> ApiResult<Option<String>> {
    let asked = owner
        .map(|o| o.trim().to_lowercase())
        .filter(|o| !o.is_empty());
    match (principal.scope(), asked) {
        (Some(me), Some(o)) if o != me => {
            Err(ApiError::forbidden("only admins can list other users' stores").field("owner"))
        }
        (Some(me), _) => Ok(Some(me.to_string())),
        (None, o) => Ok(o),
    }
}

/// What a stores cursor is bound to: the caller and every filter.
fn stores_context(principal: &Principal, f: &db_stores::Filter, sort: db_stores::Sort) -> String {
    format!(
        "stores\n{}\n{}\n{}\n{}\n{:?}{}",
        principal.user,
        f.owner.as_deref().unwrap_or(""),
        f.status.map(|s| s.as_str()).unwrap_or(""),
        f.q.as_deref().unwrap_or(""),
        sort.key,
        if sort.desc { "-" } else { "+" }
    )
}

fn encode_after(a: &db_stores::After) -> String {
    match a {
        db_stores::After::Created(at, id) => format!("{id}|{}", at.timestamp_micros()),
        db_stores::After::Name(k, id) | db_stores::After::Status(k, id) => format!("{id}|{k}"),
    }
}

fn decode_after(sort: db_stores::Sort, payload: &str) -> Option<db_stores::After> {
    let (id, key) = payload.split_once('|')?;
    let id = Uuid::parse_str(id).ok()?;
    Some(match sort.key {
        db_stores::SortKey::Created => db_stores::After::Created(
            chrono::DateTime::from_timestamp_micros(key.parse().ok()?)?,
            id,
        ),
        db_stores::SortKey::Name => db_stores::After::Name(key.to_string(), id),
        db_stores::SortKey::Status => db_stores::After::Status(key.to_string(), id),
    })
}

fn bad_cursor() -> ApiError {
    bad_query(
        "cursor",
        "this cursor does not belong to this list (it was changed, or comes from another user or other filters); start again without it",
    )
}

/// One page of your stores (admins: every store), newest first unless `sort`
/// says otherwise. Deleted stores are left out.
///
/// Keyset paging: pass `next_cursor` back as `cursor` for the next page;
/// pages stay exact while stores are created. A cursor belongs to the user
/// and the filters it was made for (400 otherwise). `total` is the exact
/// number of stores matching the filters.
#[utoipa::path(get, path = "/api/stores", tag = "stores", params(ListQuery),
    responses(
        (status = 200, description = "A page of stores.", body = StoreList),
        (status = 400, description = "Unknown query parameter, status or sort; a limit out of range; a cursor from another user or other filters (`field` says which).", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let status = parse_status(q.status.as_deref())?;
    let sort = parse_sort(q.sort.as_deref())?;
    let limit = parse_limit(q.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
    if let Some(t) = &text
        && (t.chars().count() > MAX_Q_CHARS || t.chars().any(char::is_control))
    {
        return Err(bad_query(
            "q",
            format!("q must be at most {MAX_Q_CHARS} characters of plain text"),
        ));
    }
    let filter = db_stores::Filter {
        owner: owner_filter(&principal, q.owner.as_deref())?,
        status,
        q: text,
    };
    let context = stores_context(&principal, &filter, sort);
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            state
                .cursor_key
                .open(&context, c)
                .and_then(|p| decode_after(sort, &p))
                .ok_or_else(bad_cursor)?,
        ),
    };
    let page_key = format!("{context}\n{}\n{limit}", q.cursor.as_deref().unwrap_or(""));
    if let Some(body) = state.cache.page(&page_key) {
        return Ok(json_bytes(body));
    }
    let ticket = state.cache.page_ticket();
    // One row more than asked says whether there is a next page.
    let (mut rows, total) = if filter.q.is_some() {
        // How many match decides how the page is best read.
        let total = total_matching(&state, &filter).await?;
        let matches = if total <= db_stores::FEW_MATCHES {
            db_stores::Matches::Few
        } else {
            db_stores::Matches::Many
        };
        let rows = db_stores::page_of(
            &state.pool,
            &filter,
            sort,
            after.as_ref(),
            limit + 1,
            matches,
        )
        .await?;
        (rows, total)
    } else {
        tokio::try_join!(
            db_stores::page(&state.pool, &filter, sort, after.as_ref(), limit + 1),
            total_matching(&state, &filter),
        )?
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(
            state
                .cursor_key
                .seal(&context, &encode_after(&db_stores::After::of(sort, last))),
        ),
        _ => None,
    };
    let list = StoreList {
        stores: rows.into_iter().map(StoreOut::from).collect(),
        next_cursor,
        total,
    };
    let body = Bytes::from(serde_json::to_vec(&list).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot write the page as JSON: {e}"),
        )
    })?);
    state.cache.remember_page(ticket, page_key, body.clone());
    Ok(json_bytes(body))
}

/// A JSON body already written (as `Json` would send it).
fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The exact count of stores matching `filter`, remembered until any store
/// changes (see `cache.rs`).
async fn total_matching(state: &AppState, filter: &db_stores::Filter) -> Result<i64, sqlx::Error> {
    let key = TotalKey {
        owner: filter.owner.clone(),
        status: filter.status.map(|s| s.as_str()),
        q: filter.q.clone(),
    };
    if let Some(n) = state.cache.total(&key) {
        return Ok(n);
    }
    let ticket = state.cache.total_ticket();
    let n = db_stores::count_matching(&state.pool, filter).await?;
    state.cache.remember_total(ticket, key, n);
    Ok(n)
}

/// What a new store is made of.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Display name; the namespace and URL are derived from it.
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    /// Default: the default engine (first in GET /api/engines).
    #[serde(default)]
    #[schema(value_type = Option<crate::store::EngineKind>)]
    pub engine: Option<String>,
    /// The same key from the same user returns the first request's store
    /// (the `Idempotency-Key` header does the same).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub idempotency_key: Option<String>,
}

fn store_response(status: StatusCode, store: Store, replayed: bool) -> Response {
    let location = HeaderValue::from_str(&format!("/api/stores/{}", store.id)).ok();
    let mut res = (status, Json(StoreOut::from(store))).into_response();
    if let Some(l) = location {
        res.headers_mut().insert(header::LOCATION, l);
    }
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Create a store; provisioning runs in the background.
///
/// The store starts as Provisioning. The same idempotency key (the
/// `Idempotency-Key` header or the `idempotency_key` field) from the same
/// user returns the same store with 200 instead of creating another. Limited
/// per user and per client address (`create_rate_per_minute`), and by
/// MAX_STORES and MAX_STORES_PER_USER.
#[utoipa::path(post, path = "/api/stores", tag = "stores", request_body = CreateBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a repeated create return the first store.")),
    responses(
        (status = 201, description = "Created; `Location` points at the store.", body = StoreOut),
        (status = 200, description = "An idempotent repeat: the store created by the first request (header `Idempotent-Replayed: true`).", body = StoreOut),
        (status = 409, description = "You already have a store with this name (`code`: name_taken).", body = ErrorBody),
        (status = 422, description = "Invalid (`field` names what), including an idempotency key already used for another name.", body = ErrorBody),
        (status = 429, description = "A limit was hit; `limit` says which: MAX_STORES, MAX_STORES_PER_USER, create_rate_per_user, create_rate_per_address.", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    request: axum::http::Extensions,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Response> {
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::invalid(
                        "idempotency_key",
                        "the Idempotency-Key header is not printable text",
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let idempotency_key = match (header_key, body.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::invalid(
                "idempotency_key",
                "the Idempotency-Key header and the idempotency_key field differ; send one",
            ));
        }
        (h, b) => h.or(b),
    };
    let req = CreateRequest {
        name: body.name,
        owner: principal.user.clone(),
        engine: body.engine.unwrap_or_default(),
        idempotency_key,
    };
    let (name, _, kind) =
        engine::requests::validate(&req, &runtime::naming(&state.settings).reserved)?;
    // A repeated request is answered before it counts against the rate.
    if let Some(key) = &req.idempotency_key
        && let Some(existing) =
            db_stores::by_idempotency_key(&state.pool, &principal.user, key).await?
    {
        engine::requests::same_request(&existing, &name, kind)?;
        return Ok(store_response(StatusCode::OK, existing, true));
    }
    let addr = client_addr(&state, &headers, peer(&request));
    let per_user = format!("create:user:{}", principal.user);
    let per_addr = format!("create:addr:{addr}");
    let rate = state.settings.create_rate_per_minute;
    if let Err(hit) = sessions::take(
        &state.pool,
        &[(per_user.as_str(), rate), (per_addr.as_str(), rate)],
        Duration::from_secs(60),
    )
    .await?
    {
        let (limit, whom) = if hit.index == 0 {
            ("create_rate_per_user", format!("user {}", principal.user))
        } else {
            ("create_rate_per_address", format!("address {addr}"))
        };
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "rate limit: at most {rate} creates per minute for {whom}; try again in {}s",
                hit.retry_after.as_secs()
            ),
        )
        .limit(limit)
        .retry_after(hit.retry_after));
    }
    let (store, created) = engine::create(
        &state.pool,
        runtime::limits(&state.settings),
        &runtime::naming(&state.settings),
        &principal.actor(),
        &req,
    )
    .await?;
    if created {
        METRICS.creates_accepted.fetch_add(1, Ordering::Relaxed);
        tracing::info!(store = %store.id, namespace = %store.namespace, owner = %store.owner, "store created");
        Ok(store_response(StatusCode::CREATED, store, false))
    } else {
        Ok(store_response(StatusCode::OK, store, true))
    }
}

/// The store if the principal may see it; 404 otherwise. Read from the
/// database: what acts on a store or reveals what it holds decides on the
/// record as it is now.
pub async fn visible(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<Store> {
    match db_stores::get(&state.pool, id).await? {
        Some(s) if principal.can_see(&s.owner) => Ok(s),
        _ => Err(ApiError::store_not_found()),
    }
}

/// [`visible`] for an answer that only shows the record: from this
/// replica's memory when it has the store (see `cache.rs`).
async fn visible_to_show(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<Store> {
    let store = match state.cache.store(id) {
        Some(s) => s,
        None => {
            let ticket = state.cache.store_ticket();
            let Some(read) = db_stores::get(&state.pool, id).await?.map(Arc::new) else {
                return Err(ApiError::store_not_found());
            };
            state.cache.remember_store(ticket, read.clone());
            read
        }
    };
    if principal.can_see(&store.owner) {
        Ok(Store::clone(&store))
    } else {
        Err(ApiError::store_not_found())
    }
}

/// One store (Deleted stores too: the record is kept).
#[utoipa::path(get, path = "/api/stores/{id}", tag = "stores", params(StoreId),
    responses((status = 200, description = "The store.", body = StoreOut)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<StoreOut>> {
    Ok(Json(visible_to_show(&state, &principal, id).await?.into()))
}

/// A store's status with its live health.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOut {
    pub id: Uuid,
    pub status: Status,
    pub phase: crate::store::Phase,
    #[schema(required)]
    pub error_message: Option<String>,
    pub attempts: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    #[schema(required)]
    pub ready_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds the last provisioning took, once Ready.
    #[schema(required)]
    pub provision_seconds: Option<i64>,
    /// What the cluster shows right now (from the watches).
    pub health: Health,
    pub watch_connected: bool,
}

/// A store's status, with its live health from the cluster watches.
#[utoipa::path(get, path = "/api/stores/{id}/status", tag = "stores", params(StoreId),
    responses((status = 200, description = "Status.", body = StatusOut)))]
pub async fn status(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<StatusOut>> {
    let s = visible(&state, &principal, id).await?;
    Ok(Json(StatusOut {
        id: s.id,
        status: s.status,
        health: state.view.health(s.id, &[]),
        watch_connected: state.view.is_connected(),
        provision_seconds: s.provision_duration().map(|d| d.num_seconds()),
        phase: s.phase,
        error_message: s.error_message,
        attempts: s.attempts,
        updated_at: s.updated_at,
        ready_at: s.ready_at,
    }))
}

/// A store with its resources and namespace events.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailOut {
    pub store: StoreOut,
    pub health: Health,
    pub resources: Vec<detail::Resource>,
    /// Namespace events, newest first (at most 200).
    pub events: Vec<detail::EventLine>,
}

pub(super) fn cluster_error(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "Kubernetes API error");
    ApiError::unavailable(
        "cluster_unavailable",
        format!(
            "the Kubernetes API did not answer: {}",
            crate::text::bound_message(&e.to_string(), 300)
        ),
    )
    .retry_after(Duration::from_secs(5))
}

/// Errors of the ownership check: a namespace that is not the store's is a
/// conflict to explain (409), not a cluster outage.
fn namespace_error(e: namespace::NamespaceError) -> ApiError {
    match e {
        namespace::NamespaceError::Foreign { .. } => {
            tracing::warn!(error = %e, "refused to act on a namespace that is not the store's");
            ApiError::new(StatusCode::CONFLICT, "not_owned", e.to_string())
        }
        other => cluster_error(other),
    }
}

/// A store's resources (with readiness) and namespace events (newest first).
#[utoipa::path(get, path = "/api/stores/{id}/detail", tag = "stores", params(StoreId),
    responses(
        (status = 200, description = "Detail.", body = DetailOut),
        (status = 409, description = "The namespace is not the store's (`code`: not_owned).", body = ErrorBody),
    ))]
pub async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DetailOut>> {
    let s = visible(&state, &principal, id).await?;
    let (resources, mut events) = if s.status == Status::Deleted {
        (Vec::new(), Vec::new())
    } else {
        let both = async {
            // Only what the store owns is shown.
            let Some(owned) = namespace::verify(&state.client, &s.namespace_ref())
                .await
                .map_err(namespace_error)?
            else {
                return Ok((Vec::new(), Vec::new()));
            };
            tokio::try_join!(
                detail::resources(&state.client, &owned),
                detail::events(&state.client, &owned)
            )
            .map_err(cluster_error)
        };
        match tokio::time::timeout(CLUSTER_TIMEOUT, both).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(cluster_error(format!(
                    "no answer within {}s",
                    CLUSTER_TIMEOUT.as_secs()
                )));
            }
        }
    };
    events.truncate(MAX_EVENTS);
    Ok(Json(DetailOut {
        health: state.view.health(s.id, &[]),
        store: s.into(),
        resources,
        events,
    }))
}

/// One page of a store's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    /// The store's audit entries, oldest first.
    pub entries: Vec<audit::Entry>,
    #[schema(required)]
    pub next_cursor: Option<String>,
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Entries per page (the timeline: 1 to 500, default 500; the audit
    /// log: 1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The `{id}` of the store paths.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // only its parameter description is used
pub struct StoreId {
    /// The store's id.
    pub id: Uuid,
}

fn audit_after(
    key: &crate::serve::cursor::CursorKey,
    context: &str,
    cursor: Option<&str>,
) -> ApiResult<Option<(chrono::DateTime<chrono::Utc>, i64)>> {
    let Some(c) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    key.open(context, c)
        .and_then(|p| {
            let (id, at) = p.split_once('|')?;
            Some((
                chrono::DateTime::from_timestamp_micros(at.parse().ok()?)?,
                id.parse().ok()?,
            ))
        })
        .map(Some)
        .ok_or_else(bad_cursor)
}

fn audit_next(
    key: &crate::serve::cursor::CursorKey,
    context: &str,
    entries: &mut Vec<audit::Entry>,
    limit: i64,
) -> Option<String> {
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let last = entries.last().filter(|_| more)?;
    Some(key.seal(
        context,
        &format!("{}|{}", last.id, last.at.timestamp_micros()),
    ))
}

/// A store's timeline from the audit log, oldest first, a page at a time.
///
/// Who did what to the store, and how it ended.
#[utoipa::path(get, path = "/api/stores/{id}/timeline", tag = "stores", params(StoreId, PageQuery),
    responses((status = 200, description = "Timeline.", body = Timeline)))]
pub async fn timeline(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Timeline>> {
    let limit = parse_limit(q.limit, MAX_TIMELINE, MAX_TIMELINE)?;
    let s = visible(&state, &principal, id).await?;
    let context = format!("timeline\n{}\n{}", principal.user, s.id);
    let after = audit_after(&state.cursor_key, &context, q.cursor.as_deref())?;
    let (mut entries, total) = tokio::try_join!(
        audit::page(&state.pool, Some(s.id), false, after, limit + 1),
        audit::count(&state.pool, Some(s.id)),
    )?;
    let next_cursor = audit_next(&state.cursor_key, &context, &mut entries, limit);
    Ok(Json(Timeline {
        entries,
        next_cursor,
        total,
    }))
}

/// Retry a failed store: a Failed store goes back to Provisioning, a
/// DeleteFailed one back to Deleting.
#[utoipa::path(post, path = "/api/stores/{id}/retry", tag = "stores", params(StoreId),
    responses(
        (status = 202, description = "Provisioning (or deleting) again.", body = StoreOut),
        (status = 409, description = "Only Failed and DeleteFailed stores can be retried (`code`: not_allowed).", body = ErrorBody),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let store = engine::retry(&state.pool, &principal.actor(), id, principal.scope()).await?;
    tracing::info!(store = %store.id, user = %principal.user, "store retry queued");
    Ok((StatusCode::ACCEPTED, Json(StoreOut::from(store))).into_response())
}

/// Delete a store: it goes to Deleting and is removed in the background.
///
/// With backups configured a final backup is taken first, kept for an
/// undelete; `no_backup=true` skips it.
#[utoipa::path(delete, path = "/api/stores/{id}", tag = "stores", params(StoreId, super::backups::DeleteQuery),
    responses(
        (status = 202, description = "Deleting.", body = StoreOut),
        (status = 400, description = "`no_backup` is not true or false (`field`: no_backup).", body = ErrorBody),
        (status = 409, description = "It is already being deleted (`code`: not_allowed).", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<super::backups::DeleteQuery>,
) -> ApiResult<Response> {
    let no_backup = super::backups::no_backup(&q)?;
    let store = engine::delete_with(
        &state.pool,
        &principal.actor(),
        id,
        principal.scope(),
        no_backup,
    )
    .await?;
    tracing::info!(store = %store.id, user = %principal.user, "store delete queued");
    Ok((StatusCode::ACCEPTED, Json(StoreOut::from(store))).into_response())
}

/// A store's admin credentials: its engine's own admin (`what` says which).
#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub login_url: String,
    /// What they sign in to, e.g. "Medusa admin".
    pub what: &'static str,
}

/// Reveal the store's admin credentials (owner only; recorded in the audit
/// log).
#[utoipa::path(post, path = "/api/stores/{id}/credentials", tag = "stores", params(StoreId),
    responses(
        (status = 200, description = "The credentials. Do not cache.", body = Credentials),
        (status = 409, description = "The credentials do not exist yet, the store is being deleted, or its namespace is not the store's.", body = ErrorBody),
    ))]
pub async fn credentials(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let s = visible(&state, &principal, id).await?;
    let actor = principal.actor();
    let record = |outcome: audit::Outcome, detail: String| {
        let pool = state.pool.clone();
        let actor = actor.clone();
        let name = s.name.clone();
        async move {
            let r = audit::Record {
                actor: &actor,
                action: audit::Action::CredentialsReveal,
                store_id: Some(id),
                store_name: Some(&name),
                outcome,
                detail: Some(&detail),
            };
            if let Err(e) = audit::record(&pool, &r).await {
                tracing::warn!(error = %e, "cannot write the audit entry for a credentials reveal");
                return Err(ApiError::database(&e));
            }
            Ok(())
        }
    };
    if s.owner != principal.user {
        record(audit::Outcome::Refused, "not the store's owner".into()).await?;
        return Err(ApiError::forbidden(
            "only the store's owner can reveal its credentials",
        ));
    }
    if let Err(refusal) = s.may(Request::Credentials) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_allowed",
            format!("the store is {}; {}", s.status, refusal.reason),
        ));
    }
    let found = tokio::time::timeout(
        CLUSTER_TIMEOUT,
        namespace::admin_password(
            &state.client,
            &s.namespace_ref(),
            s.engine.spec().admin.password_key,
        ),
    )
    .await;
    let password = match found {
        Ok(Ok(Some(p))) => p,
        Ok(Ok(None)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_available",
                format!(
                    "the store's credentials do not exist yet (it is {}, {})",
                    s.status, s.phase
                ),
            ));
        }
        Ok(Err(e @ namespace::NamespaceError::Foreign { .. })) => {
            record(audit::Outcome::Refused, e.to_string()).await?;
            return Err(namespace_error(e));
        }
        Ok(Err(e)) => return Err(cluster_error(e)),
        Err(_) => return Err(cluster_error("no answer in time")),
    };
    let via = match principal.method {
        AuthMethod::Cookie | AuthMethod::Bearer => "session",
        AuthMethod::Proxy => "proxy",
        AuthMethod::Demo => "demo",
    };
    let admin = &s.engine.spec().admin;
    record(
        audit::Outcome::Accepted,
        format!("{} credentials revealed (auth: {via})", admin.what),
    )
    .await?;
    tracing::info!(store = %s.id, user = %principal.user, "credentials revealed");
    let username = match admin.user {
        AdminUser::Name(n) => n.to_string(),
        AdminUser::Email => store::admin_email(
            &s.owner,
            &store::store_host(&s.namespace, &state.settings.ingress_suffix),
        ),
    };
    Ok(Json(Credentials {
        username,
        password,
        login_url: format!("{}{}", s.url.trim_end_matches('/'), admin.path),
        what: admin.what,
    })
    .into_response())
}

/// One page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Newest first.
    pub entries: Vec<audit::Entry>,
    #[schema(required)]
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// The whole audit log, newest first (admins only), a page at a time.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(PageQuery),
    responses(
        (status = 200, description = "Entries.", body = AuditOut),
        (status = 400, description = "Invalid query.", body = ErrorBody),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<AuditOut>> {
    if !principal.is_admin() {
        return Err(ApiError::forbidden("the audit log is for admins"));
    }
    let limit = parse_limit(q.limit, 100, 1000)?;
    let context = format!("audit\n{}", principal.user);
    let after = audit_after(&state.cursor_key, &context, q.cursor.as_deref())?;
    let (mut entries, total) = tokio::try_join!(
        audit::page(&state.pool, None, true, after, limit + 1),
        audit::count(&state.pool, None),
    )?;
    let next_cursor = audit_next(&state.cursor_key, &context, &mut entries, limit);
    Ok(Json(AuditOut {
        entries,
        next_cursor,
        total,
    }))
}
