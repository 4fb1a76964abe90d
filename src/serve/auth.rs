//! Who is asking. Three modes (`auth_mode`):
//! - `password`: users created by an operator sign in with a password
//!   (argon2id in Postgres) and get a session token, sent back as an
//!   HttpOnly SameSite=Strict cookie and also accepted as
//!   `Authorization: Bearer <token>`;
//! - `proxy`: an authenticating reverse proxy sets the user in a header
//!   (`proxy_user_header`); only safe when nothing else can reach the server;
//! - `demo`: the original design's `X-User-Id`, trusted from anyone. Loudly
//!   labelled: a warning at start and a header on every response.
//!
//! In every mode a user's role comes from the `users` table (admin or user);
//! someone without a row is a plain user.

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::db::users::Role;
use crate::db::{sessions, users};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
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

pub const SESSION_COOKIE: &str = "sw_session";
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEMO_HEADER: &str = "x-user-id";
/// Marks every response of a server running in demo mode.
pub const DEMO_MARK_HEADER: &str = "x-store-weaver-auth";
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 10;
const TOKEN_BYTES: usize = 32;
const LOGIN_PER_ADDRESS_PER_MINUTE: u32 = 20;
const LOGIN_PER_EMAIL_PER_MINUTE: u32 = 10;

#[derive(Debug, Clone)]
pub enum AuthMode {
    Password,
    Proxy { header: HeaderName },
    Demo,
}

impl AuthMode {
    pub fn from_settings(mode: &str, proxy_header: &str) -> Result<AuthMode, String> {
        match mode {
            "password" => Ok(AuthMode::Password),
            "demo" => Ok(AuthMode::Demo),
            "proxy" => HeaderName::from_bytes(proxy_header.trim().as_bytes())
                .map(|header| AuthMode::Proxy { header })
                .map_err(|_| {
                    format!("proxy_user_header {proxy_header:?} is not a valid header name")
                }),
            other => Err(format!(
                "unknown auth mode {other:?}; use password, proxy or demo"
            )),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
        self.is_admin() || self.user == owner
    }

    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor::new(self.user.clone(), crate::store::Via::Api)
    }
}

/// The session token sent with a request: the bearer token, else the cookie.
fn presented_token(headers: &HeaderMap) -> Option<(String, AuthMethod)> {
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
                && k.trim() == SESSION_COOKIE
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

async fn role_of(state: &AppState, user: &str) -> ApiResult<Role> {
    match users::by_email(&state.pool, user).await? {
        Some(u) if u.is_disabled() => Err(ApiError::forbidden(format!(
            "the account {user} is disabled"
        ))),
        Some(u) => Ok(u.role),
        None => Ok(Role::User),
    }
}

fn identity_header(headers: &HeaderMap, name: &HeaderName) -> ApiResult<String> {
    let raw = headers.get(name).ok_or_else(|| {
        ApiError::unauthorized(format!("not signed in: the {name} header is missing"))
    })?;
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
        let principal = match &state.auth {
            AuthMode::Password => {
                let (token, method) = presented_token(&parts.headers).ok_or_else(|| {
                    ApiError::unauthorized("not signed in: sign in with POST /api/session, then send the session cookie or `Authorization: Bearer <token>`")
                })?;
                if !well_formed_token(&token) {
                    return Err(ApiError::unauthorized(
                        "the session token is not valid; sign in again",
                    ));
                }
                let user = sessions::user_for_token(&state.pool, &token)
                    .await?
                    .ok_or_else(|| {
                        ApiError::unauthorized(
                            "the session has expired or was ended; sign in again",
                        )
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
                }
            }
            AuthMode::Proxy { header } => {
                let user = identity_header(&parts.headers, header)?;
                let role = role_of(state, &user).await?;
                Principal {
                    user,
                    role,
                    method: AuthMethod::Proxy,
                }
            }
            AuthMode::Demo => {
                let user = identity_header(&parts.headers, &HeaderName::from_static(DEMO_HEADER))?;
                let role = role_of(state, &user).await?;
                Principal {
                    user,
                    role,
                    method: AuthMethod::Demo,
                }
            }
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// The client's address for per-address limits: the peer, or in proxy mode
/// the address the (trusted) proxy appended last to `X-Forwarded-For`.
pub fn client_addr(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if matches!(state.auth, AuthMode::Proxy { .. })
        && let Some(xff) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(last) = xff.rsplit(',').map(str::trim).find(|s| !s.is_empty())
        && let Ok(ip) = last.parse::<std::net::IpAddr>()
    {
        return ip.to_string();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn peer(parts_ext: &axum::http::Extensions) -> Option<SocketAddr> {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

// ---- passwords ----

fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

/// Hashes a password with argon2id (random salt), off the async threads.
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("cannot hash the password: {e}"))
    })
    .await
    .map_err(|e| format!("cannot hash the password: {e}"))?
}

/// Checks a password against a stored hash, off the async threads.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
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

pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("the password contains control characters".into());
    }
    Ok(())
}

/// Emails as stored: trimmed, lower-case, one `@`, no spaces.
pub fn normalise_email(raw: &str) -> Result<String, String> {
    let email = crate::store::validate_owner(raw)?;
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(email)
        }
        _ => Err(format!("{:?} is not an email address", raw.trim())),
    }
}

// ---- handlers ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub user: String,
    pub role: Role,
    pub auth_mode: &'static str,
    pub method: AuthMethod,
}

#[derive(Debug, Serialize)]
pub struct SessionOut {
    pub user: String,
    pub role: Role,
    /// The bearer token (also set as the HttpOnly cookie); shown only once.
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn session_cookie(state: &AppState, token: &str, max_age: Duration) -> HeaderValue {
    let secure = if state.settings.environment.is_production() {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("sw_session=; Max-Age=0"))
}

/// POST /api/session: signs in with an email and a password.
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
    let addr = client_addr(&state, &headers, peer(&ext));
    let by_addr = format!("sign-in:addr:{addr}");
    let by_email = format!("sign-in:email:{email}");
    let buckets = [
        (by_addr.as_str(), LOGIN_PER_ADDRESS_PER_MINUTE),
        (by_email.as_str(), LOGIN_PER_EMAIL_PER_MINUTE),
    ];
    if let Err(hit) = sessions::take(&state.pool, &buckets, Duration::from_secs(60)).await? {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many sign-in attempts; wait a minute and try again",
        )
        .limit("sign_in_rate")
        .retry_after(hit.retry_after));
    }
    let user = users::by_email(&state.pool, &email).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(decoy_hash);
    let ok = verify_password(body.password, hash).await;
    let user = match user {
        Some(u) if ok && !u.is_disabled() => u,
        Some(u) if ok && u.is_disabled() => {
            return Err(ApiError::forbidden(format!(
                "the account {email} is disabled"
            )));
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
        .map(|s| crate::engine::bound_message(s, 200));
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
    let cookie = session_cookie(&state, &token, SESSION_TTL);
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

/// DELETE /api/session: ends the session of this request.
pub async fn sign_out(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some((token, _)) = presented_token(&headers)
        && well_formed_token(&token)
    {
        sessions::delete(&state.pool, &token).await?;
    }
    tracing::info!(user = %principal.user, "signed out");
    let cookie = session_cookie(&state, "", Duration::ZERO);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// GET /api/me: who the server thinks you are.
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
            presented_token(&h),
            Some(("fromcookie".into(), AuthMethod::Cookie))
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer fromheader"),
        );
        assert_eq!(
            presented_token(&h),
            Some(("fromheader".into(), AuthMethod::Bearer))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_token(&h), None);
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
