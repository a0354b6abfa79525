//! Sessions: what a browser holds after signing in.
//!
//! The session token travels in an HttpOnly cookie; only its SHA-256 is stored. Each session
//! also has a CSRF token, handed to the page at sign-in, that every state-changing request
//! made with the cookie must echo in the `x-csrf-token` header.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tenet_events::identity::Principal;
use tenet_events::{Actor, TenantId};
use uuid::Uuid;

use crate::db::Database;
use crate::on_backend;
use crate::users::User;

/// The cookie carrying the session token.
pub const COOKIE: &str = "tenet_session";
/// The header a cookie-authenticated unsafe request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A new session: the cookie value and the CSRF token, both shown once.
pub struct NewSession {
    /// The session's id.
    pub id: Uuid,
    /// The cookie value.
    pub token: SecretString,
    /// The CSRF token.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A session that is valid now.
pub struct ActiveSession {
    /// Its id.
    pub id: Uuid,
    /// Who it authenticates.
    pub actor: Actor,
    /// What unsafe requests must echo.
    pub csrf_token: String,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Opens a session for `user`, valid for `lifetime`.
///
/// # Errors
/// Database errors.
pub async fn open(
    db: &Database,
    user: &User,
    lifetime: Duration,
) -> Result<NewSession, sqlx::Error> {
    let now = Utc::now();
    let session = NewSession {
        id: Uuid::now_v7(),
        token: SecretString::from(random_token()),
        csrf_token: random_token(),
        expires_at: now + lifetime,
    };
    on_backend!(db, |pool| {
        sqlx::query(
            "insert into sessions (id, tenant_id, user_id, token_hash, csrf_token, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session.id)
        .bind(user.tenant_id.as_uuid())
        .bind(user.id)
        .bind(hash(session.token.expose_secret()))
        .bind(&session.csrf_token)
        .bind(now)
        .bind(session.expires_at)
        .execute(pool)
        .await?;
    });
    Ok(session)
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    tenant_id: Uuid,
    user_id: Uuid,
    csrf_token: String,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    role: String,
    active: bool,
}

/// The session a cookie value opens, if it is valid at `now` and its user is active.
///
/// # Errors
/// Database errors.
pub async fn find(
    db: &Database,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<ActiveSession>, sqlx::Error> {
    let row: Option<SessionRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select s.id, s.tenant_id, s.user_id, s.csrf_token, s.expires_at, s.revoked_at, u.role, u.active \
             from sessions s join users u on u.id = s.user_id and u.tenant_id = s.tenant_id \
             where s.token_hash = $1",
        )
        .bind(hash(token))
        .fetch_optional(pool)
        .await?
    });
    Ok(row.and_then(|row| {
        let valid = row.revoked_at.is_none() && row.expires_at > now && row.active;
        let role = row.role.parse().ok()?;
        valid.then(|| ActiveSession {
            id: row.id,
            actor: Actor {
                tenant_id: TenantId::from_uuid(row.tenant_id),
                role,
                principal: Principal::User(row.user_id),
            },
            csrf_token: row.csrf_token,
        })
    }))
}

/// Ends a session.
///
/// # Errors
/// Database errors.
pub async fn revoke(db: &Database, id: Uuid) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    on_backend!(db, |pool| {
        sqlx::query("update sessions set revoked_at = coalesce(revoked_at, $2) where id = $1")
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
    });
    Ok(())
}
