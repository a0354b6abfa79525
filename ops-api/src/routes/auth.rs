//! `POST /api/v1/auth/login` and `POST /api/v1/auth/logout`.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tenet_events::TenantId;

use super::OpsState;
use crate::auth::SessionId;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::users::{Email, User};
use crate::{passwords, sessions, users};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    tenant_id: TenantId,
    email: String,
    password: SecretString,
}

#[derive(Serialize)]
struct LoggedIn {
    user: User,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

const REFUSED: &str = "unknown e-mail or wrong password";

pub async fn login(
    State(state): State<OpsState>,
    ApiJson(login): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&login.email)
        .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
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
        let lockout =
            chrono::Duration::from_std(state.auth.lockout).unwrap_or(chrono::Duration::minutes(15));
        let max = i32::try_from(state.auth.max_failed_logins).unwrap_or(i32::MAX);
        users::record_failed_login(&state.db, credentials.user.id, max, now + lockout).await?;
        return Err(ApiError::Unauthenticated(REFUSED.into()));
    }
    if !credentials.user.active {
        return Err(ApiError::Unauthenticated(
            "this account is deactivated".into(),
        ));
    }
    users::record_successful_login(&state.db, credentials.user.id).await?;
    let lifetime = chrono::Duration::from_std(state.auth.session_lifetime)
        .unwrap_or(chrono::Duration::hours(12));
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
