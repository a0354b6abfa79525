//! API tokens: bearer credentials for integrations and scripts.
//!
//! A token is 32 random bytes, shown once as `tnt_<base64url>`. Only its SHA-256 is stored:
//! the token has full entropy, so a slow password hash would add latency without adding
//! safety. A token belongs to one tenant and carries one role; it may expire and can be
//! revoked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};
use uuid::Uuid;

use crate::admin_events::{self, Change};
use crate::db::{BeginWrite, Database};
use crate::tenants;
use crate::{enqueue, on_backend};

const TOKEN_PREFIX: &str = "tnt_";

/// A stored API token (without its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    /// Its identifier, used to revoke it.
    pub id: Uuid,
    /// The tenant it acts in.
    pub tenant_id: TenantId,
    /// The role it is authorised as.
    pub role: Role,
    /// A free-text note saying what uses it.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A freshly issued token and its secret, which is never shown again.
#[derive(Debug)]
pub struct IssuedToken {
    /// The stored record.
    pub token: ApiToken,
    /// The bearer credential.
    pub secret: SecretString,
}

/// Why a token could not be issued, revoked or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The tenant does not exist.
    #[error("tenant {0} does not exist")]
    UnknownTenant(TenantId),
    /// No token with this id in the tenant.
    #[error("no API token {0}")]
    UnknownToken(Uuid),
    /// The presented credential matches no token.
    #[error("the API token is not valid")]
    Invalid,
    /// The token was revoked.
    #[error("the API token was revoked")]
    Revoked,
    /// The token's lifetime has passed.
    #[error("the API token expired at {0}")]
    Expired(DateTime<Utc>),
    /// The stored role is not one this build knows; the token is refused rather than guessed.
    #[error("the API token carries an unknown role `{0}`")]
    UnknownRole(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    tenant_id: Uuid,
    role: String,
    label: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = TokenError;

    fn try_from(row: TokenRow) -> Result<Self, Self::Error> {
        let role = row
            .role
            .parse()
            .map_err(|_| TokenError::UnknownRole(row.role.clone()))?;
        Ok(ApiToken {
            id: row.id,
            tenant_id: TenantId::from_uuid(row.tenant_id),
            role,
            label: row.label,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Issues a token for the tenant of the change with `role`, valid for `lifetime` (forever when
/// `None`), with its `admin.token_issued` event.
///
/// # Errors
/// [`TokenError::UnknownTenant`] when the tenant does not exist, [`TokenError::Database`]
/// when the insert fails.
pub async fn issue(
    db: &Database,
    change: Change<'_>,
    role: Role,
    label: &str,
    lifetime: Option<Duration>,
) -> Result<IssuedToken, TokenError> {
    let tenant_id = change.actor.tenant_id;
    if tenants::find(db, tenant_id).await?.is_none() {
        return Err(TokenError::UnknownTenant(tenant_id));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let created_at = Utc::now();
    let token = ApiToken {
        id: Uuid::now_v7(),
        tenant_id,
        role,
        label: label.to_owned(),
        created_at,
        expires_at: lifetime.map(|lifetime| created_at + lifetime),
        revoked_at: None,
    };
    let event = change.token_issued(token.id, role, token.expires_at);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into api_tokens (id, tenant_id, role, label, token_hash, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id)
        .bind(tenant_id.as_uuid())
        .bind(role.as_str())
        .bind(&token.label)
        .bind(hash(&secret))
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(IssuedToken {
        token,
        secret: SecretString::from(secret),
    })
}

/// Resolves a presented bearer credential to the actor it authorises, as of `now`.
///
/// # Errors
/// [`TokenError::Invalid`], [`TokenError::Revoked`] or [`TokenError::Expired`] when the
/// credential must be refused; [`TokenError::Database`] when the lookup fails.
pub async fn authenticate(
    db: &Database,
    presented: &SecretString,
    now: DateTime<Utc>,
) -> Result<Actor, TokenError> {
    let presented = presented.expose_secret();
    if !presented.starts_with(TOKEN_PREFIX) {
        return Err(TokenError::Invalid);
    }
    let row: Option<TokenRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, tenant_id, role, label, created_at, expires_at, revoked_at \
             from api_tokens where token_hash = $1",
        )
        .bind(hash(presented))
        .fetch_optional(pool)
        .await?
    });
    let token = ApiToken::try_from(row.ok_or(TokenError::Invalid)?)?;
    if token.revoked_at.is_some() {
        return Err(TokenError::Revoked);
    }
    if let Some(expires_at) = token.expires_at
        && expires_at <= now
    {
        return Err(TokenError::Expired(expires_at));
    }
    Ok(Actor {
        tenant_id: token.tenant_id,
        role: token.role,
        principal: Principal::ApiToken(token.id),
    })
}

/// Revokes token `id`, with its `admin.token_revoked` event in the token's tenant, made by the
/// server's own command line. Revoking a revoked token keeps its first revocation time and
/// adds no event.
///
/// # Errors
/// [`TokenError::UnknownToken`] when no such token exists, [`TokenError::Database`] when the
/// update fails.
pub async fn revoke(db: &Database, id: Uuid) -> Result<ApiToken, TokenError> {
    let now = Utc::now();
    let row: Option<TokenRow> = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let newly_revoked: Option<TokenRow> = sqlx::query_as(
            "update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null \
             returning id, tenant_id, role, label, created_at, expires_at, revoked_at",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let row = match newly_revoked {
            Some(row) => {
                let actor = admin_events::system(TenantId::from_uuid(row.tenant_id));
                let event = Change::now(&actor, None).token_revoked(id);
                enqueue!(&mut *tx, &event)?;
                Some(row)
            }
            None => {
                sqlx::query_as(
                    "select id, tenant_id, role, label, created_at, expires_at, revoked_at \
                     from api_tokens where id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        row
    });
    ApiToken::try_from(row.ok_or(TokenError::UnknownToken(id))?)
}
