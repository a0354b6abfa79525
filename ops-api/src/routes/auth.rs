//! `POST /api/v1/auth/login` and `POST /api/v1/auth/logout`.

use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tenet_events::TenantId;
use utoipa::ToSchema;

use super::OpsState;
use crate::auth::{ClientAddress, SessionId};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::users::{Email, User};
use crate::{passwords, security_policy, sessions, users};

/// Credentials to sign in with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The tenant (company) the account belongs to.
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// The account's e-mail address.
    #[schema(max_length = 254)]
    email: String,
    /// The account's password.
    #[schema(value_type = String, format = Password, max_length = 1024)]
    password: SecretString,
}

/// A signed-in session. The session token itself is in the `Set-Cookie` header.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    /// Who signed in.
    user: User,
    /// Echo it in `x-csrf-token` on every cookie-authenticated request that changes state.
    csrf_token: String,
    /// When the session ends.
    expires_at: DateTime<Utc>,
}

const REFUSED: &str = "unknown e-mail or wrong password";

/// Sign in with e-mail and password
///
/// Opens a browser session: the answer sets the HttpOnly `tenet_session` cookie and carries
/// the CSRF token. After repeated failures the account is locked for a while (the tenant's
/// security policy says how long), and one address gets at most 60 attempts a minute.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = LoggedIn,
         headers(("set-cookie" = String, description = "The session cookie, HttpOnly, SameSite=Strict."))),
        (status = 401, description = "Unknown e-mail, wrong password, a locked or a deactivated account.", body = ErrorBody),
        (status = 403, description = "The tenant's security policy does not allow sign-in from this address.", body = ErrorBody),
        (status = 429, description = "Too many sign-in attempts from this address; retry after `Retry-After` seconds.", body = ErrorBody,
         headers(("retry-after" = u64, description = "Seconds until the address may try again."))),
    )
)]
pub async fn login(
    State(state): State<OpsState>,
    ClientAddress(address): ClientAddress,
    ApiJson(login): ApiJson<Login>,
) -> Result<Response, ApiError> {
    if let Some(address) = address {
        state
            .sign_ins
            .attempt(address, Instant::now())
            .map_err(|retry_after| ApiError::TooManyRequests {
                message: "too many sign-in attempts from this address; retry later".into(),
                retry_after,
            })?;
    }
    let email = Email::parse(&login.email)
        .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
    let policy = security_policy::get(&state.db, login.tenant_id, &state.auth).await?;
    if !policy.admits(address) {
        return Err(ApiError::Forbidden(
            "the tenant's security policy does not allow sign-in from this address".into(),
        ));
    }
    let Some(credentials) = users::credentials(&state.db, login.tenant_id, &email).await? else {
        // Verify against a decoy so an unknown e-mail costs as long as a wrong password.
        passwords::verify(&login.password, passwords::decoy_hash());
        return Err(ApiError::Unauthenticated(REFUSED.into()));
    };
    let now = Utc::now();
    if let Some(until) = credentials.locked_until
        && until > now
    {
        return Err(ApiError::Unauthenticated(format!(
            "too many failed sign-ins; try again after {}",
            until.to_rfc3339()
        )));
    }
    if !passwords::verify(&login.password, &credentials.password_hash) {
        let max = i32::try_from(policy.max_failed_logins).unwrap_or(i32::MAX);
        users::record_failed_login(&state.db, credentials.user.id, max, now + policy.lockout())
            .await?;
        return Err(ApiError::Unauthenticated(REFUSED.into()));
    }
    if !credentials.user.active {
        return Err(ApiError::Unauthenticated(
            "this account is deactivated".into(),
        ));
    }
    users::record_successful_login(&state.db, credentials.user.id).await?;
    let lifetime = policy.session_lifetime();
    let session = sessions::open(&state.db, &credentials.user, lifetime).await?;
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        sessions::COOKIE,
        session.token.expose_secret(),
        lifetime.num_seconds(),
        if state.auth.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = Json(LoggedIn {
        user: credentials.user,
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// Sign out
///
/// Ends the browser session the request was authenticated with and clears its cookie. API
/// tokens are not signed out; an admin revokes them.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "The session has ended; the cookie is cleared."),
        (status = 422, description = "The request was authenticated by an API token, not a session.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn logout(
    State(state): State<OpsState>,
    session: Option<Extension<SessionId>>,
) -> Result<Response, ApiError> {
    let Some(Extension(SessionId(id))) = session else {
        return Err(ApiError::invalid_field(
            "authorization",
            "logout ends a browser session; API tokens are revoked by an admin",
        ));
    };
    sessions::revoke(&state.db, id).await?;
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
            sessions::COOKIE
        ))
        .map_err(ApiError::internal)?,
    );
    Ok(response)
}
