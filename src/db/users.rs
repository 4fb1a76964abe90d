//! The `users` table: people who sign in to the HTTP API with a password.
//! Passwords are hashed (argon2id) by the caller; this module stores strings.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, FromRow)]
struct Row {
    id: Uuid,
    email: String,
    password_hash: String,
    role: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

impl From<Row> for User {
    fn from(r: Row) -> User {
        User {
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            // The CHECK constraint keeps the column to the two names; an
            // unknown one gets the lesser role.
            role: Role::parse(&r.role).unwrap_or(Role::User),
            created_at: r.created_at,
            disabled_at: r.disabled_at,
            last_login_at: r.last_login_at,
        }
    }
}

macro_rules! user_columns {
    () => {
        "id, email, password_hash, role, created_at, disabled_at, last_login_at"
    };
}

/// Inserts a user; Ok(false) when the email is already taken.
pub async fn insert<'e>(
    exec: impl PgExecutor<'e>,
    email: &str,
    password_hash: &str,
    role: Role,
) -> Result<Option<User>, sqlx::Error> {
    let sql: &str = concat!(
        "INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO NOTHING RETURNING ",
        user_columns!()
    );
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(Uuid::now_v7())
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .fetch_optional(exec)
        .await?;
    Ok(row.map(User::from))
}

pub async fn by_email<'e>(
    exec: impl PgExecutor<'e>,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    let sql: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
    let row: Option<Row> = sqlx::query_as(sql).bind(email).fetch_optional(exec).await?;
    Ok(row.map(User::from))
}

pub async fn list<'e>(exec: impl PgExecutor<'e>) -> Result<Vec<User>, sqlx::Error> {
    let sql: &str = concat!("SELECT ", user_columns!(), " FROM users ORDER BY email");
    let rows: Vec<Row> = sqlx::query_as(sql).fetch_all(exec).await?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// Disables (or re-enables) a user; a disabled user's sessions are removed.
/// Returns whether the user exists.
pub async fn set_disabled(
    pool: &sqlx::PgPool,
    email: &str,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END, \
         updated_at = now() WHERE email = $1 RETURNING id",
    )
    .bind(email)
    .bind(disabled)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(false);
    };
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Replaces a user's password hash and signs them out everywhere.
pub async fn set_password(
    pool: &sqlx::PgPool,
    email: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE email = $1 RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn touch_login<'e>(exec: impl PgExecutor<'e>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1")
        .bind(id)
        .execute(exec)
        .await
        .map(|_| ())
}
