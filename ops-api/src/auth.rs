//! Authentication of `/api/v1` requests.
//!
//! [`require_actor`] is the middleware the binary puts in front of every `/api/v1` route: it
//! resolves the bearer credential to an [`Actor`] and stores it in the request's extensions,
//! where handlers of every crate read it with `Extension<Actor>`. The tenant a handler works
//! in therefore always comes from the credential, never from a request parameter.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use secrecy::SecretString;

use crate::db::Database;
use crate::error::ApiError;
use crate::tokens::{self, TokenError};

/// Refuses the request with 401 unless it carries a valid `Authorization: Bearer` token;
/// otherwise inserts the token's [`Actor`] into the request's extensions.
pub async fn require_actor(
    State(db): State<Database>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let credential = bearer_credential(request.headers())?;
    let actor = tokens::authenticate(&db, &credential, Utc::now())
        .await
        .map_err(|error| match error {
            TokenError::Database(error) => ApiError::from(error),
            refused => ApiError::Unauthenticated(refused.to_string()),
        })?;
    tracing::Span::current().record("tenant_id", tracing::field::display(actor.tenant_id));
    request.extensions_mut().insert(actor);
    Ok(next.run(request).await)
}

fn bearer_credential(headers: &HeaderMap) -> Result<SecretString, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("missing Authorization: Bearer token".into()))?;
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
    Ok(SecretString::from(credential.trim().to_owned()))
}
