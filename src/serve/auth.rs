//! Who is asking. Three modes (`auth_mode`):
//! - `password`: users created by an operator sign in with a password
//!   (argon2id in Postgres) and get a session token, sent back as an
//!   HttpOnly SameSite=Strict cookie (`__Host-sw_session` over https,
//!   `sw_session` over plain http) and also accepted as
//!   `Authorization: Bearer <token>`;
//! - `proxy`: an authenticating reverse proxy sets the user in a header
//!   (`proxy_user_header`), believed only from a peer in `trusted_proxies`;
//! - `demo`: the original design's `X-User-Id`, trusted from anyone. Loudly
//!   labelled: a warning at start and a header on every response.
//!
//! In every mode a user's role comes from the `users` table (admin or user);
//! someone without a row is a plain user.

use super::AppState;
use super::cache::{Identity, Session};
use super::client;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::gate::{GateRefusal, HashPermit};
use super::throttle::{self, Failures, Held};
use crate::db::users::Role;
use crate::db::{sessions, users};
use argon2::password_hash::{PasswordHasher, phc::PasswordHash};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

/// The session cookie over plain http (a laptop): any host that shares the
/// name can overwrite it, so it is only for local use.
pub const SESSION_COOKIE: &str = "sw_session";
/// The session cookie over https: the `__Host-` prefix makes the browser
/// refuse it unless this very host set it Secure with `Path=/` and no
/// `Domain`, so a store on a sibling subdomain cannot plant one.
pub const HOST_SESSION_COOKIE: &str = "__Host-sw_session";
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEMO_HEADER: &str = "x-user-id";
/// Marks every response of a server running in demo mode.
pub const DEMO_MARK_HEADER: &str = "x-store-weaver-auth";
// The password and email rules are the account module's, shared with the
// `user` command; re-exported for the handlers and tests that name them here.
pub use crate::account::{
    MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, check_new_password, hash_password, normalise_email,
};
const TOKEN_BYTES: usize = 32;

#[derive(Debug, Clone)]
pub enum AuthMode {
    Password,
    Proxy { header: HeaderName },
    Demo,
}

impl AuthMode {
    pub fn from_settings(s: &crate::config::Settings) -> Result<AuthMode, String> {
        use crate::config::AuthMode as Mode;
        let proxy_header = &s.proxy_user_header;
        match s.auth_mode {
            Mode::Password => Ok(AuthMode::Password),
            Mode::Demo if s.environment.is_production() => Err(
                "auth = demo trusts X-User-Id from anyone and is refused when environment = production; use auth = password or proxy".into(),
            ),
            Mode::Demo => Ok(AuthMode::Demo),
            Mode::Proxy if s.trusted_proxies.is_empty() => Err(
                "auth = proxy needs trusted_proxies: the addresses of the authenticating proxy, the only peers whose user header is believed".into(),
            ),
            Mode::Proxy => HeaderName::from_bytes(proxy_header.trim().as_bytes())
                .map(|header| AuthMode::Proxy { header })
                .map_err(|_| {
                    format!("proxy_user_header {proxy_header:?} is not a valid header name")
                }),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            AuthMode::Password => "password",
            AuthMode::Proxy { .. } => "proxy",
            AuthMode::Demo => "demo",
        }
    }
}

/// How the request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    Cookie,
    Bearer,
    Proxy,
    Demo,
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The owner key of the user's stores: a lower-case email or user id.
    pub user: String,
    pub role: Role,
    pub method: AuthMethod,
    /// The session token (password mode), so a live stream can re-check it.
    pub token: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The owner to scope store queries and actions to: none for admins.
    pub fn scope(&self) -> Option<&str> {
        (!self.is_admin()).then_some(self.user.as_str())
    }

    pub fn can_see(&self, owner: &str) -> bool {
        crate::store::visible_to(self.scope(), owner)
    }

    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor::new(self.user.clone(), crate::store::Via::Api)
    }
}

/// The session cookie's name for a request: `__Host-` over https.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The session token sent with a request: the bearer token, else the cookie
/// (over https only the `__Host-` one).
fn presented_token(headers: &HeaderMap, https: bool) -> Option<(String, AuthMethod)> {
    let name = cookie_name(https);
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?.trim();
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_string(), AuthMethod::Bearer));
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k.trim() == name
                && !val.is_empty()
            {
                return Some((val.trim().to_string(), AuthMethod::Cookie));
            }
        }
    }
    None
}

fn well_formed_token(t: &str) -> bool {
    t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A browser request from another site, carrying our cookie: refused for
/// anything that changes state (on top of SameSite=Strict).
fn cross_site(parts: &Parts, state: &AppState) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = &parts.headers;
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return true;
        };
        if state.settings.cors_origins.iter().any(|o| o == origin) {
            return false;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        return host.is_empty() || origin_host != host;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => false,
    }
}

/// A proxy or demo principal's role: from memory when this replica has it
/// (kept true by the users notifications, see `cache.rs`), else from the
/// users table, then remembered.
async fn role_of(state: &AppState, user: &str) -> ApiResult<Role> {
    let identity = match state.cache.identity(user) {
        Some(i) => i,
        None => {
            let ticket = state.cache.identity_ticket();
            let i = match users::by_email(&state.pool, user).await? {
                Some(u) if u.is_disabled() => Identity::Disabled,
                Some(u) => Identity::Role(u.role),
                None => Identity::Role(Role::User),
            };
            state.cache.remember_identity(ticket, user, i);
            i
        }
    };
    match identity {
        Identity::Disabled => Err(ApiError::forbidden(format!(
            "the account {user} is disabled"
        ))),
        Identity::Role(r) => Ok(r),
    }
}

fn identity_header(headers: &HeaderMap, name: &HeaderName) -> ApiResult<String> {
    let mut all = headers.get_all(name).iter();
    let raw = all.next().ok_or_else(|| {
        ApiError::unauthorized(format!("not signed in: the {name} header is missing"))
    })?;
    // Two of them: a proxy that appends rather than replaces let the
    // client's own through; which one is the proxy's cannot be known.
    if all.next().is_some() {
        tracing::warn!(header = %name, "refused a request with more than one identity header");
        return Err(ApiError::unauthorized(format!(
            "the request has more than one {name} header; the proxy must replace the client's, not add its own"
        )));
    }
    let raw = raw
        .to_str()
        .map_err(|_| ApiError::unauthorized(format!("the {name} header is not printable text")))?;
    crate::store::validate_owner(raw).map_err(|m| {
        ApiError::unauthorized(format!("the {name} header is not a usable identity: {m}"))
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let peer = peer(&parts.extensions);
        let https = client::is_https(&state.settings.trusted_proxies, &parts.headers, peer);
        let principal = match &state.auth {
            AuthMode::Password => {
                let (token, method) = presented_token(&parts.headers, https).ok_or_else(|| {
                    ApiError::unauthorized("not signed in: sign in with POST /api/session, then send the session cookie or `Authorization: Bearer <token>`")
                })?;
                if !well_formed_token(&token) {
                    return Err(ApiError::unauthorized(
                        "the session token is not valid; sign in again",
                    ));
                }
                let user = live_session(state, &token).await?.ok_or_else(|| {
                    ApiError::unauthorized("the session has expired or was ended; sign in again")
                })?;
                if method == AuthMethod::Cookie && cross_site(parts, state) {
                    return Err(ApiError::forbidden(
                        "cross-site request refused: this origin may not change stores with the session cookie",
                    ));
                }
                Principal {
                    user: user.email,
                    role: user.role,
                    method,
                    token: Some(token),
                }
            }
            AuthMode::Proxy { header } => {
                let trusted = peer
                    .is_some_and(|p| client::is_trusted(&state.settings.trusted_proxies, p.ip()));
                if !trusted {
                    tracing::warn!(
                        peer = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                        header = %header,
                        sent = parts.headers.contains_key(header),
                        "proxy auth: request from a peer outside trusted_proxies refused"
                    );
                    return Err(ApiError::unauthorized(
                        "this server accepts requests only through its authenticating proxy",
                    ));
                }
                let user = identity_header(&parts.headers, header)?;
                let role = role_of(state, &user).await?;
                Principal {
                    user,
                    role,
                    method: AuthMethod::Proxy,
                    token: None,
                }
            }
            AuthMode::Demo => {
                let user = identity_header(&parts.headers, &HeaderName::from_static(DEMO_HEADER))?;
                let role = role_of(state, &user).await?;
                Principal {
                    user,
                    role,
                    method: AuthMethod::Demo,
                    token: None,
                }
            }
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// The live session for `token`: from memory when this replica has it (see
/// `cache.rs`), else from the database, then remembered.
async fn live_session(state: &AppState, token: &str) -> Result<Option<Session>, sqlx::Error> {
    if let Some(s) = state.cache.session(token) {
        return Ok(Some(s));
    }
    let ticket = state.cache.session_ticket();
    let Some((user, expires_at)) = sessions::live_session(&state.pool, token).await? else {
        return Ok(None);
    };
    let s = Session {
        email: user.email,
        role: user.role,
        expires_at,
    };
    state.cache.remember_session(ticket, token, s.clone());
    Ok(Some(s))
}

/// Whether the principal's session (or account) still stands: a live stream
/// asks this now and then and when the user changes, and ends when not.
pub async fn still_valid(state: &AppState, p: &Principal) -> Result<bool, sqlx::Error> {
    match (&state.auth, &p.token) {
        (AuthMode::Password, Some(token)) => Ok(sessions::user_for_token(&state.pool, token)
            .await?
            .is_some_and(|u| u.email == p.user && u.role == p.role)),
        (AuthMode::Password, None) => Ok(false),
        _ => Ok(match users::by_email(&state.pool, &p.user).await? {
            Some(u) => !u.is_disabled() && u.role == p.role,
            None => p.role == Role::User,
        }),
    }
}

/// The client's address for per-address limits (see `client.rs`).
pub fn client_addr(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    client::client_addr(&state.settings.trusted_proxies, headers, peer)
}

pub fn peer(parts_ext: &axum::http::Extensions) -> Option<SocketAddr> {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

// ---- passwords ----

fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

/// Checks a password against a stored hash (None: against a decoy, so that
/// an unknown email takes as long as a wrong password), on the gate's
/// threads. The permit moves into the check: its memory is accounted for
/// until the check ends, even if the client has gone.
pub async fn verify_password(
    gate: &super::gate::HashGate,
    permit: HashPermit,
    password: String,
    hash: Option<String>,
) -> bool {
    gate.run(permit, move || {
        let hash = hash.unwrap_or_else(decoy_hash);
        CHECK_MEMORY.with(|m| verify_in(&mut m.borrow_mut(), password.as_bytes(), &hash))
    })
    .await
    .unwrap_or(false)
}

thread_local! {
    /// Each password-check thread's argon2 memory (19 MiB), allocated once
    /// and reused: allocating it per check let freed buffers pile up in the
    /// allocator (550 MiB resident after 64 checks on 4 threads).
    static CHECK_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC string, with `memory` as argon2's work
/// area (grown to the hash's parameters if needed, then kept).
fn verify_in(memory: &mut Vec<argon2::Block>, password: &[u8], phc: &str) -> bool {
    use argon2::{Algorithm, Params, Version};
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&h.salt, &h.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(h.algorithm.as_str()) else {
        return false;
    };
    let version = match h.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&h) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::new());
    }
    let expected: &[u8] = expected.as_ref();
    let mut out = vec![0u8; expected.len()];
    let salt: &[u8] = salt.as_ref();
    if argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .is_err()
    {
        return false;
    }
    // Constant time: no early exit on the first differing byte.
    out.iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A hash to check against when the email is unknown, so that a wrong email
/// and a wrong password take the same time.
fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            argon2()
                .hash_password(new_token().as_bytes())
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

// ---- handlers ----

/// An email and a password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(format = "email")]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

/// Who the server thinks you are.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: String,
    pub role: Role,
    /// The server's auth mode (`AuthMode::name`).
    #[schema(schema_with = auth_mode_schema)]
    pub auth_mode: &'static str,
    pub method: AuthMethod,
}

fn auth_mode_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["password", "proxy", "demo"]))
        .description(Some("The server's auth mode."))
        .build()
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionOut {
    pub user: String,
    pub role: Role,
    /// The bearer token (also set as the HttpOnly cookie); shown only once.
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The session cookie: Secure and `__Host-` when the browser's request came
/// over https (a trusted proxy said so), plain otherwise.
pub fn session_cookie(https: bool, token: &str, max_age: Duration) -> HeaderValue {
    let name = cookie_name(https);
    let secure = if https { "; Secure" } else { "" };
    let v = format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("sw_session=; Max-Age=0"))
}

fn throttled(held: Held, wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let (limit, msg) = match held {
        Held::Address => (
            "sign_in_failures_address",
            format!("too many failed sign-ins from your address; try again in {secs}s"),
        ),
        Held::AccountFromAddress => (
            "sign_in_failures_account",
            format!(
                "too many failed sign-ins to this account from your address; try again in {secs}s"
            ),
        ),
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", msg)
        .limit(limit)
        .retry_after(Duration::from_secs(secs))
}

/// Sign in with an email and a password (auth mode `password`).
///
/// Sets the HttpOnly, SameSite=Strict session cookie (`__Host-sw_session`,
/// Secure, over https; `sw_session` over plain http) and returns the same
/// token for `Authorization: Bearer`. Failed attempts are throttled per
/// client address and per account from that address, with growing delays
/// (docs/api.md, "Sign-in throttling"); a correct password from an address
/// that has not failed is never held back.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignIn, security(()),
    responses(
        (status = 201, description = "Signed in.", body = SessionOut),
        (status = 401, description = "Wrong email or password.", body = ErrorBody),
        (status = 403, description = "The account is disabled.", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins (`limit`: sign_in_failures_address or sign_in_failures_account), or another sign-in from this address is being checked (sign_in_concurrency); see Retry-After.", body = ErrorBody),
        (status = 503, description = "The database is unavailable, or too many password checks are running (`code`: busy); see Retry-After.", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    super::ApiJson(body): super::ApiJson<SignIn>,
) -> ApiResult<Response> {
    if !matches!(state.auth, AuthMode::Password) {
        return Err(ApiError::bad_request(
            "not_supported",
            format!(
                "this server signs users in by {} mode; there is no password sign-in",
                state.auth.name()
            ),
        ));
    }
    let email = normalise_email(&body.email).map_err(|m| ApiError::invalid("email", m))?;
    if body.password.is_empty() || body.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid(
            "password",
            format!("the password must be 1 to {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let peer = peer(&ext);
    let addr = client_addr(&state, &headers, peer);
    let https = client::is_https(&state.settings.trusted_proxies, &headers, peer);
    let by_addr = format!("sign-in-fail:addr:{addr}");
    let by_pair = format!("sign-in-fail:pair:{email}|{addr}");
    let by_account = format!("sign-in-fail:account:{email}");
    let buckets = [by_addr.as_str(), by_pair.as_str(), by_account.as_str()];
    // Counted as a failure until the password proves right.
    let mut suspect = false;
    let reserved = sessions::reserve_attempt(&state.pool, &buckets, throttle::WINDOW, |c| {
        let f = |i: usize| Failures {
            count: c[i].count,
            since_last: c[i].since_last,
        };
        suspect = c[0].count > 0 || c[1].count > 0;
        throttle::decide(f(0), f(1), f(2))
    })
    .await?;
    let events = match reserved {
        Ok(ids) => ids,
        Err((held, wait)) => {
            tracing::info!(email = %email, addr = %addr, ?held, "sign-in held back: too many failures");
            return Err(throttled(held, wait));
        }
    };
    let suspect = suspect | state.hashes.bursting(&addr);
    let permit = match state.hashes.enter(&addr, suspect).await {
        Ok(p) => p,
        Err(refusal) => {
            // Not a failure: the password was never checked.
            sessions::forget_events(&state.pool, &events).await?;
            return Err(match refusal {
                GateRefusal::AddressBusy => ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "another sign-in from your address is being checked; try again in a second",
                )
                .limit("sign_in_concurrency")
                .retry_after(Duration::from_secs(1)),
                GateRefusal::Busy => ApiError::unavailable(
                    "busy",
                    "the server is checking many sign-ins right now; try again in a second",
                )
                .retry_after(Duration::from_secs(1)),
            });
        }
    };
    let user = users::by_email(&state.pool, &email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = verify_password(&state.hashes, permit, body.password, hash).await;
    let user = match user {
        Some(u) if ok => {
            sessions::forget_events(&state.pool, &events).await?;
            sessions::clear_bucket(&state.pool, &by_pair).await?;
            if u.is_disabled() {
                return Err(ApiError::forbidden(format!(
                    "the account {email} is disabled"
                )));
            }
            u
        }
        _ => {
            tracing::info!(email = %email, addr = %addr, "sign-in refused: wrong email or password");
            return Err(ApiError::unauthorized("wrong email or password"));
        }
    };
    let token = new_token();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| crate::text::bound_message(s, 200));
    let expires_at = sessions::create(
        &state.pool,
        &token,
        user.id,
        SESSION_TTL,
        ua.as_deref(),
        Some(&addr),
    )
    .await?;
    users::touch_login(&state.pool, user.id).await?;
    tracing::info!(user = %user.email, addr = %addr, "signed in");
    let cookie = session_cookie(https, &token, SESSION_TTL);
    let body = SessionOut {
        user: user.email,
        role: user.role,
        token,
        expires_at,
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        axum::Json(body),
    )
        .into_response())
}

/// Sign out: ends this session and clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "session",
    responses((status = 204, description = "Signed out.")))]
pub async fn sign_out(
    State(state): State<AppState>,
    principal: Principal,
    ext: axum::http::Extensions,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let https = client::is_https(&state.settings.trusted_proxies, &headers, peer(&ext));
    if let Some(token) = &principal.token
        && well_formed_token(token)
    {
        state.cache.forget_session(token);
        sessions::delete(&state.pool, token).await?;
    }
    tracing::info!(user = %principal.user, "signed out");
    let cookie = session_cookie(https, "", Duration::ZERO);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Who the server thinks you are.
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, description = "The signed-in user.", body = Me)))]
pub async fn me(State(state): State<AppState>, principal: Principal) -> axum::Json<Me> {
    axum::Json(Me {
        user: principal.user,
        role: principal.role,
        auth_mode: state.auth.name(),
        method: principal.method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert!(well_formed_token(&a), "{a}");
        assert_ne!(a, b);
        assert!(!well_formed_token("short"));
        assert!(!well_formed_token(&"a".repeat(42).replace('a', "/")));
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; sw_session=fromcookie; c=d"),
        );
        assert_eq!(
            presented_token(&h, false),
            Some(("fromcookie".into(), AuthMethod::Cookie))
        );
        // Over https only the __Host- cookie counts.
        assert_eq!(presented_token(&h, true), None);
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-sw_session=hostonly"),
        );
        assert_eq!(
            presented_token(&h, true),
            Some(("hostonly".into(), AuthMethod::Cookie))
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer fromheader"),
        );
        assert_eq!(
            presented_token(&h, false),
            Some(("fromheader".into(), AuthMethod::Bearer))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_token(&h, false), None);
    }

    #[test]
    fn the_cookie_is_host_bound_and_secure_over_https_only() {
        let c = session_cookie(true, "tok", SESSION_TTL);
        let c = c.to_str().unwrap();
        assert!(c.starts_with("__Host-sw_session=tok; Path=/;"), "{c}");
        assert!(c.contains("; Secure") && c.contains("HttpOnly") && !c.contains("Domain"));
        let c = session_cookie(false, "tok", SESSION_TTL);
        let c = c.to_str().unwrap();
        assert!(
            c.starts_with("sw_session=tok;") && !c.contains("Secure"),
            "{c}"
        );
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(
            normalise_email(" Ann@Example.COM ").as_deref(),
            Ok("ann@example.com")
        );
        assert!(normalise_email("ann").is_err());
        assert!(normalise_email("a@b@c").is_err());
        assert!(normalise_email("@b").is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough password").is_ok());
        assert!(check_new_password(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn the_reused_memory_check_agrees_with_argon2() {
        let h = argon2()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_in(&mut memory, b"correct horse", &h));
        let size = memory.len();
        assert!(size > 0);
        assert!(!verify_in(&mut memory, b"wrong horse", &h));
        assert!(
            verify_in(&mut memory, b"correct horse", &h),
            "again, same memory"
        );
        assert_eq!(memory.len(), size, "the memory is reused, not grown");
        assert!(!verify_in(&mut memory, b"x", "not a hash"));
        assert!(!verify_in(&mut memory, b"x", &decoy_hash()));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = argon2()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2().verify_password(b"wrong horse", &parsed).is_err());
    }
}
