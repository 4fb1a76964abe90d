//! The headless HTTP API and dashboard (`--serve`). See issue 6 and
//! `docs/api.md`.
//!
//! Stateless: every replica runs the same engine and cluster view against one
//! database. Limits (stores, concurrent provisions, create and sign-in rates)
//! are kept in Postgres, and store changes reach every replica's live streams
//! through Postgres notifications.

pub mod access;
pub mod auth;
pub mod backup_metrics;
pub mod backup_views;
pub mod backups;
pub mod cache;
pub mod client;
pub mod clones;
pub mod cursor;
pub mod dashboard;
pub mod drills;
pub mod engines;
pub mod error;
pub mod gate;
pub mod http;
pub mod logs;
pub mod openapi;
pub mod ops;
pub mod schedules;
pub mod stores;
pub mod stream;
pub mod throttle;
pub mod upgrades;

use crate::cluster::view::ClusterView;
use crate::config::Settings;
use crate::runtime::Runtime;
use auth::AuthMode;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use color_eyre::eyre::{Result, WrapErr, eyre};
use error::ApiError;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::ops::Deref;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// A request that takes longer than this gets 503 (the live stream excepted).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a shutdown waits for responses in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// JSON request bodies, with every rejection in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters, with every rejection in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query strings, with every rejection in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub struct Shared {
    pub settings: Arc<Settings>,
    /// What the engine needs from the settings (charts, timeouts), built once.
    pub engine: Arc<crate::engine::EngineConfig>,
    /// The API's own pool (`api_db_connections`, a short `api_db_wait_ms`), so
    /// that requests and the workers never starve each other and an
    /// overloaded API answers 503 quickly.
    pub pool: PgPool,
    /// The runtime's pool, for background work (the change listener, its
    /// re-reads, pruning), so that it never waits behind requests.
    pub background_pool: PgPool,
    /// Seals page cursors (the key is shared by every replica).
    pub cursor_key: cursor::CursorKey,
    pub client: kube::Client,
    /// One client without a read timeout for every log read (a followed log
    /// may be quiet for long), made on first use.
    pub log_client: tokio::sync::OnceCell<kube::Client>,
    pub view: ClusterView,
    pub auth: AuthMode,
    pub hub: broadcast::Sender<stream::HubEvent>,
    /// Sessions, stores and totals remembered between requests, kept true
    /// by the hub's notifications.
    pub cache: cache::Cache,
    /// Bounds the password checks running at once (memory).
    pub hashes: gate::HashGate,
    /// Bounds the live streams, per user and in total.
    pub streams: gate::StreamSlots,
    /// Cancelled on shutdown: live streams end, new operations are refused.
    pub shutdown: CancellationToken,
    pub draining: AtomicBool,
}

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(
        rt: &Runtime,
        auth: AuthMode,
        pool: PgPool,
        cursor_key: cursor::CursorKey,
    ) -> AppState {
        let (hub, _) = broadcast::channel(1024);
        AppState(Arc::new(Shared {
            settings: rt.settings.clone(),
            engine: rt.engine.clone(),
            pool,
            background_pool: rt.pool.clone(),
            cursor_key,
            client: rt.client.clone(),
            log_client: tokio::sync::OnceCell::new(),
            view: rt.view.clone(),
            auth,
            hub,
            cache: cache::Cache::new(rt.settings.api_cache),
            hashes: gate::HashGate::new(rt.settings.max_concurrent_hashes),
            streams: gate::StreamSlots::new(
                rt.settings.max_streams_per_user,
                rt.settings.max_streams,
            ),
            shutdown: CancellationToken::new(),
            draining: AtomicBool::new(false),
        }))
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// The router and its OpenAPI paths, built together: a route is added only
/// as a handler annotated with `#[utoipa::path]` (see `routes`), so its path
/// and method are written once, in the annotation, and the document cannot
/// miss it. `list` is every (method, path) handed to axum, for the test that
/// compares it with the served document.
pub struct Routes {
    router: OpenApiRouter<AppState>,
    pub list: Vec<(Method, String)>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: OpenApiRouter::new(),
            list: Vec::new(),
        }
    }

    /// Registers the handlers of one `routes!(...)` (one path).
    fn api(mut self, r: UtoipaMethodRouter<AppState>) -> Routes {
        for (path, item) in &r.1.paths {
            let ops = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::HEAD, item.head.is_some()),
                (Method::OPTIONS, item.options.is_some()),
                (Method::TRACE, item.trace.is_some()),
            ];
            for (method, present) in ops {
                if present {
                    self.list.push((method, path.clone()));
                }
            }
        }
        self.router = self.router.routes(r);
        self
    }

    /// The paths and schemas of every route.
    pub fn openapi(self) -> utoipa::openapi::OpenApi {
        self.router.into_openapi()
    }
}

/// Every route of the server. `openapi.rs` adds the document's header;
/// docs/api.md says how a new handler gets in ("The OpenAPI document").
pub fn routes() -> Routes {
    Routes::new()
        .api(routes!(ops::healthz))
        .api(routes!(ops::readyz))
        .api(routes!(ops::metrics))
        .api(routes!(openapi::serve))
        .api(routes!(auth::sign_in, auth::sign_out))
        .api(routes!(auth::me))
        .api(routes!(engines::engines))
        .api(routes!(stores::list, stores::create))
        .api(routes!(stores::get, stores::delete))
        .api(routes!(stores::status))
        .api(routes!(stores::detail))
        .api(routes!(stores::timeline))
        .api(routes!(logs::logs))
        .api(routes!(stores::retry))
        .api(routes!(stores::credentials))
        .api(routes!(backups::list, backups::backup))
        .api(routes!(backups::restore))
        .api(routes!(backups::undelete))
        .api(routes!(schedules::get, schedules::set))
        .api(routes!(drills::list, drills::start))
        .api(routes!(backup_views::summary))
        .api(routes!(backup_views::deleted))
        .api(routes!(clones::clone))
        .api(routes!(stream::stream))
        .api(routes!(stores::audit))
        .api(routes!(upgrades::upgrade))
        .api(routes!(upgrades::rollback))
        .api(routes!(upgrades::history))
        .api(routes!(upgrades::fleet_list, upgrades::fleet_start))
        .api(routes!(upgrades::fleet_get))
        .api(routes!(upgrades::fleet_cancel))
        .api(routes!(upgrades::fleet_resume))
}

/// The whole application: routes, the dashboard fallback and the layers.
pub fn app(state: AppState) -> Router {
    let demo = matches!(state.auth, AuthMode::Demo);
    let (router, _) = routes().router.split_for_parts();
    let mut router = router
        .fallback(dashboard::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limit_time))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forget_after_writes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_when_draining,
        ))
        .layer(middleware::from_fn(api_headers))
        .layer(middleware::from_fn_with_state(state.clone(), metrics_gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    if demo {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(auth::DEMO_MARK_HEADER),
            HeaderValue::from_static("demo-insecure"),
        ));
    }
    if let Some(cors) = cors(&state.settings.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn_with_state(
            access::AccessLog::new(
                state.settings.access_log,
                state.settings.log_format,
                crate::logging::stderr_sink(),
            ),
            access::middleware,
        ))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring a CORS origin that is not a valid header value");
                None
            }
        })
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotent-replayed"),
            ])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600)),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method; see /api/openapi.json",
    )
}

/// `/metrics` on the main port: not with `metrics_listen` (it has its own
/// port then), never for a request a proxy forwarded (the public Ingress),
/// and only to this machine. It says how many stores there are and how
/// provisioning goes: not for the public.
async fn metrics_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/metrics" {
        let forwarded = req.headers().contains_key("x-forwarded-for")
            || req.headers().contains_key(header::FORWARDED);
        let local = auth::peer(req.extensions()).is_some_and(|p| p.ip().is_loopback());
        if state.settings.metrics_listen.is_some() || forwarded || !local {
            return ApiError::not_found("no such path").into_response();
        }
    }
    next.run(req).await
}

/// The router of the metrics port: `/metrics` and nothing else.
fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(ops::metrics))
        .fallback(|| async { ApiError::not_found("only /metrics is served here") })
        .with_state(state)
}

/// API responses are never cached: they are per-user and change.
async fn api_headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    if api {
        res.headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

/// The dashboard's Content-Security-Policy: everything from this origin only,
/// no inline script or style, no framing, no plugins. The built dashboard
/// needs nothing more (Vite emits external files; React sets styles through
/// the DOM, which CSP does not restrict).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'; object-src 'none'";

/// The usual browser hardening on every response; HSTS when the browser's
/// request came over https (a trusted proxy said so).
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let https = client::is_https(
        &state.settings.trusted_proxies,
        req.headers(),
        auth::peer(req.extensions()),
    );
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    res
}

/// Bounds the time of every request but the live stream.
async fn limit_time(req: Request, next: Next) -> Response {
    if req.uri().path() == "/api/stream" {
        return next.run(req).await;
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::unavailable(
            "timeout",
            format!(
                "the request took longer than {}s; try again",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// After SIGTERM: requests that would start new operations are refused
/// (another replica takes them); reads are still answered while draining.
async fn refuse_when_draining(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.is_draining() && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
    {
        return ApiError::unavailable(
            "shutting_down",
            "this server is shutting down; retry (another replica will answer)",
        )
        .retry_after(Duration::from_secs(1))
        .into_response();
    }
    next.run(req).await
}

/// After a request that may have changed stores (anything but a read), this
/// replica forgets the stores, totals and pages it remembers before the
/// answer leaves, so that the client's next request reads its own write
/// instead of racing the change notification. Writes are few next to reads;
/// forgetting everything keeps it right for any of them (a fleet run
/// touches many stores).
async fn forget_after_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let res = next.run(req).await;
    if writes {
        state.cache.stores_written();
    }
    res
}

/// A running server: its address, and what to stop on shutdown.
pub struct Server {
    pub addr: SocketAddr,
    /// Where `/metrics` is served on its own (`metrics_listen`), if set.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    serve: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    runtime: Runtime,
}

impl Server {
    /// Connects to the database and the cluster, starts the workers, the
    /// change hub and the HTTP server on `listener`.
    pub async fn start(settings: Settings, listener: TcpListener) -> Result<Server> {
        let auth = AuthMode::from_settings(&settings).map_err(|e| eyre!(e))?;
        let addr = listener
            .local_addr()
            .wrap_err("cannot read the listening address")?;
        // Demo trusts anyone's X-User-Id: only this machine may reach it,
        // whatever `environment` says (the platform chart's default is local).
        if matches!(auth, AuthMode::Demo) && !addr.ip().is_loopback() {
            return Err(eyre!(
                "auth = demo trusts X-User-Id from anyone and is allowed only on a loopback listen address (127.0.0.1 or ::1); {addr} can be reached from other machines: listen on 127.0.0.1, or use auth = password or proxy"
            ));
        }
        // One budget for the process: the API's share is kept open, the
        // rest is the workers' and the background's (docs/api.md, sizing).
        let split =
            crate::db::budget::serving(settings.db_connections, settings.api_db_connections)
                .map_err(|e| eyre!(e))?;
        let runtime = Runtime::start_with(settings, true, split.background).await?;
        match &auth {
            AuthMode::Demo => {
                for line in [
                    "!!! DEMO AUTH MODE: the X-User-Id header is trusted from ANY client. !!!",
                    "!!! Anyone who can reach this server can act as any user.           !!!",
                    "!!! Never expose it beyond a laptop; use --auth password or proxy.  !!!",
                ] {
                    tracing::warn!("{line}");
                    eprintln!("{line}");
                }
            }
            AuthMode::Proxy { header } => tracing::warn!(
                header = %header,
                "proxy auth mode: the {header} header is trusted; make sure only the authenticating proxy can reach this server and that it strips the header from client requests"
            ),
            AuthMode::Password => {}
        }
        let url = runtime.settings.database_url()?.to_string();
        let api_pool = crate::db::connect_api(
            &url,
            split.api,
            std::time::Duration::from_millis(runtime.settings.api_db_wait_ms.into()),
        )
        .await?;
        let secret = crate::db::sessions::cursor_secret(&api_pool)
            .await
            .wrap_err("cannot read the cursor key from the database (api_secrets)")?;
        let state = AppState::new(&runtime, auth, api_pool, cursor::CursorKey::new(&secret));
        let mut background = vec![
            stream::spawn_hub(state.clone()),
            spawn_pruner(state.clone()),
        ];
        let metrics_addr = match state.settings.metrics_listen {
            Some(at) => {
                let l = TcpListener::bind(at).await.wrap_err_with(|| {
                    format!(
                        "cannot listen on {at} for /metrics (metrics_listen); is the port in use?"
                    )
                })?;
                let bound = l.local_addr().wrap_err("cannot read the metrics address")?;
                let limits = http::Limits {
                    max_connections: 64,
                    max_connections_per_peer: 16,
                    header_read_timeout: state.settings.header_read_timeout,
                    idle_timeout: state.settings.idle_timeout,
                };
                let (app, token) = (metrics_app(state.clone()), state.shutdown.clone());
                background.push(tokio::spawn(async move {
                    if let Err(e) = http::serve(l, app, limits, Vec::new(), token).await {
                        tracing::warn!(error = %e, "the metrics listener stopped");
                    }
                }));
                tracing::info!("serving /metrics on http://{bound}");
                Some(bound)
            }
            None => None,
        };
        let app = app(state.clone());
        let token = state.shutdown.clone();
        let limits = http::Limits {
            max_connections: state.settings.max_connections,
            max_connections_per_peer: state.settings.max_connections_per_peer,
            header_read_timeout: state.settings.header_read_timeout,
            idle_timeout: state.settings.idle_timeout,
        };
        let trusted = state.settings.trusted_proxies.clone();
        let serve = tokio::spawn(http::serve(listener, app, limits, trusted, token));
        Ok(Server {
            addr,
            metrics_addr,
            state,
            serve,
            background,
            runtime,
        })
    }

    /// Graceful shutdown: refuse new operations, end live streams, finish the
    /// responses in flight (at most `drain`), hand running operations back.
    pub async fn shutdown(self, drain: Duration) {
        self.state.draining.store(true, Ordering::Relaxed);
        self.state.shutdown.cancel();
        let mut serve = self.serve;
        let http = async {
            match tokio::time::timeout(drain, &mut serve).await {
                Ok(Ok(Ok(()))) => tracing::info!("all responses finished"),
                Ok(Ok(Err(e))) => {
                    tracing::warn!(error = %e, "the HTTP server stopped with an error")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server task failed"),
                Err(_) => {
                    tracing::warn!(
                        secs = drain.as_secs(),
                        "responses still running after the drain time; closing them"
                    );
                    serve.abort();
                }
            }
        };
        tokio::join!(http, self.runtime.shutdown());
        for t in self.background {
            t.abort();
        }
    }
}

/// Removes expired sessions and old rate-limit rows now and then.
fn spawn_pruner(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = crate::db::sessions::delete_expired(&state.background_pool).await {
                tracing::debug!(error = %e, "cannot prune expired sessions");
            }
            if let Err(e) = crate::db::sessions::prune_rate_events(
                &state.background_pool,
                Duration::from_secs(3600),
            )
            .await
            {
                tracing::debug!(error = %e, "cannot prune rate-limit rows");
            }
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            }
        }
    })
}

pub async fn run(settings: Settings) -> Result<ExitCode> {
    let listen = settings.listen;
    let listener = TcpListener::bind(listen).await.wrap_err_with(|| {
        format!("cannot listen on {listen}; is another server using it? (set --listen)")
    })?;
    let server = Server::start(settings, listener).await?;
    tracing::info!(
        auth = server.state.auth.name(),
        workers = server.state.settings.workers,
        "listening on http://{}",
        server.addr
    );
    crate::runtime::wait_for_signal().await;
    tracing::info!(
        "shutting down: refusing new operations, finishing responses, handing leases back"
    );
    server.shutdown(DRAIN_TIMEOUT).await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
