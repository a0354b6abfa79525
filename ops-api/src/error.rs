//! The one error type of the HTTP API.
//!
//! Every failure a client can cause maps to a status and the body
//! `{ "error": { "code", "message", "details" } }`; anything else is logged with its cause
//! chain and answered with an opaque 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The body of every error response: `{ "error": { "code", "message", "details" } }`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorObject,
}

/// The error object inside [`ErrorBody`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorObject {
    /// What kind of failure, for programs.
    pub code: ErrorCode,
    /// What is wrong, for a person.
    pub message: String,
    /// `{"field": "..."}` naming the field at fault when one is to blame (batch endpoints add
    /// the refused items); `null` otherwise.
    #[schema(value_type = Option<Object>, required = true)]
    pub details: Value,
}

/// The machine-readable kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no valid credential.
    Unauthenticated,
    /// 403: the credential may not do this.
    Forbidden,
    /// 404: no such resource (or route).
    NotFound,
    /// 409: conflicts with the current state.
    Conflict,
    /// 429: too many attempts; retry after the `Retry-After` seconds.
    TooManyRequests,
    /// 422 from workforce planning: a valid request whose problem has no answer (a target no
    /// staffing meets, a solver that gives up).
    Unsolvable,
    /// 400, 413, 415 or 422: the request is malformed or a field is invalid.
    InvalidRequest,
    /// 503: a dependency is down; retry.
    Unavailable,
    /// 500: the server failed; the cause is logged, not sent.
    Internal,
}

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or credentials that are unknown, expired or revoked (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the permission for this action (403).
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist in the caller's tenant (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state, e.g. a duplicate (409).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or a field is invalid (400/422).
    #[error("{message}")]
    Invalid {
        /// 400 for a malformed request, 422 for a well-formed one with invalid values.
        status: StatusCode,
        /// What is wrong, for a person.
        message: String,
        /// The offending field, when one is to blame.
        field: Option<String>,
    },
    /// Too many attempts from the client; it may retry after the delay (429).
    #[error("{message}")]
    TooManyRequests {
        /// What was refused, for a person.
        message: String,
        /// How long until the client may try again.
        retry_after: std::time::Duration,
    },
    /// A dependency (database, broker) is down; the client may retry (503).
    #[error("{0}")]
    Unavailable(String),
    /// A failure of the server itself (500). The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A 422 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// Wraps an unexpected failure.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(error.into())
    }

    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
            }
            ApiError::Invalid { status, .. } => (*status, ErrorCode::InvalidRequest),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ApiError::Conflict("a record with the same key already exists".to_owned())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                ApiError::Unavailable("the database is unavailable; retry later".to_owned())
            }
            _ => ApiError::internal(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let details = match &self {
            ApiError::Invalid {
                field: Some(field), ..
            } => json!({ "field": field }),
            _ => Value::Null,
        };
        if let ApiError::Internal(cause) = &self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(next) = source {
                chain.push_str(": ");
                chain.push_str(&next.to_string());
                source = next.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let body = ErrorBody {
            error: ErrorObject {
                code,
                message: self.to_string(),
                details,
            },
        };
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
