//! Authentication of `/api/v1` requests.
//!
//! [`require_actor`] is the middleware in front of every protected `/api/v1` route: it
//! resolves the caller's credential, an `Authorization: Bearer` API token or the session
//! cookie of a signed-in browser, to an [`Actor`] and stores it in the request's extensions,
//! where handlers of every crate read it with `Extension<Actor>`. The tenant a handler works
//! in therefore always comes from the credential, never from a request parameter. A request
//! authenticated by cookie that may change state must also carry the session's CSRF token,
//! and a tenant's IP allow-list ([`security_policy`](crate::security_policy)) refuses
//! requests from other addresses.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use secrecy::SecretString;
use uuid::Uuid;

use crate::db::Database;
use crate::error::ApiError;
use crate::tokens::{self, TokenError};
use crate::{security_policy, sessions};

/// How sign-in and sessions behave.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a session lasts after sign-in.
    pub session_lifetime: Duration,
    /// Mark the session cookie `Secure` (serve over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Failed sign-ins in a row after which the account is locked.
    pub max_failed_logins: u32,
    /// How long a locked account stays locked.
    pub lockout: Duration,
}

/// The session a request was authenticated with, when it was a browser session.
#[derive(Debug, Clone, Copy)]
pub struct SessionId(pub Uuid);

/// The client's address as the server resolved it (the peer, or the first `X-Forwarded-For`
/// address behind a trusted proxy), stored in the request's extensions by the request-context
/// middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client's address: [`ClientIp`] when the server resolved one, else the TCP peer.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        })
}

/// The client's address, if known, as an extractor.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.extensions)))
    }
}

/// Refuses the request with 401 unless it carries a valid credential; otherwise inserts the
/// caller's [`Actor`] (and, for a browser, its [`SessionId`]) into the request's extensions
/// and handles the request [`scoped`](crate::db::scoped) to the caller's tenant.
pub async fn require_actor(
    State(db): State<Database>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let credential = credential(request.headers())?;
    let actor = match credential {
        Credential::Bearer(token) => tokens::authenticate(&db, &token, Utc::now())
            .await
            .map_err(|error| match error {
                TokenError::Database(error) => ApiError::from(error),
                refused => ApiError::Unauthenticated(refused.to_string()),
            })?,
        Credential::Session(token) => {
            let session = sessions::find(&db, &token, Utc::now())
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthenticated("the session has ended; sign in again".into())
                })?;
            if unsafe_method {
                let echoed = request
                    .headers()
                    .get(sessions::CSRF_HEADER)
                    .and_then(|value| value.to_str().ok());
                if echoed != Some(session.csrf_token.as_str()) {
                    return Err(ApiError::Forbidden(format!(
                        "missing or wrong {} header for a request signed in by cookie",
                        sessions::CSRF_HEADER
                    )));
                }
            }
            request.extensions_mut().insert(SessionId(session.id));
            session.actor
        }
    };
    tracing::Span::current().record("tenant_id", tracing::field::display(actor.tenant_id));
    let address = client_ip(request.extensions());
    if !security_policy::admits(&db, actor.tenant_id, address).await? {
        return Err(ApiError::Forbidden(
            "the tenant's security policy does not allow requests from this address".into(),
        ));
    }
    let tenant = actor.tenant_id;
    request.extensions_mut().insert(actor);
    // Everything the request does from here on sees only its tenant's rows (on PostgreSQL,
    // enforced by the database as well).
    Ok(crate::db::scoped(tenant, next.run(request)).await)
}

enum Credential {
    Bearer(SecretString),
    Session(String),
}

fn credential(headers: &HeaderMap) -> Result<Credential, ApiError> {
    if let Some(header) = headers.get(header::AUTHORIZATION) {
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("Authorization header is not ASCII".into()))?;
        let (scheme, credential) = value.split_once(' ').ok_or_else(|| {
            ApiError::Unauthenticated("Authorization must be `Bearer <token>`".into())
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthenticated(
                "Authorization must use the Bearer scheme".into(),
            ));
        }
        return Ok(Credential::Bearer(SecretString::from(
            credential.trim().to_owned(),
        )));
    }
    session_cookie(headers)
        .map(Credential::Session)
        .ok_or_else(|| {
            ApiError::Unauthenticated(
                "missing Authorization: Bearer token or session cookie".into(),
            )
        })
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == sessions::COOKIE)
        .map(|(_, value)| value.to_owned())
}
