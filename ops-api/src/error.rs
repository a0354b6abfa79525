//! The one error type of the HTTP API.
//!
//! Every failure a client can cause maps to a status and the body
//! `{ "error": { "code", "message", "details" } }`; anything else is logged with its cause
//! chain and answered with an opaque 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Invalid { status, .. } => (*status, "invalid_request"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
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
        let body =
            json!({ "error": { "code": code, "message": self.to_string(), "details": details } });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
