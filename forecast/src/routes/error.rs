//! The error answer of the workforce routes and the JSON body reader that produces it.
//!
//! Every refusal is `{"error": {"code", "message", "details": {"field"}}}`: 400 for a body
//! that is not JSON, 413 for one over the size limit, 415 for another content type, 422 for
//! JSON that does not describe a valid request (the field is named in JSONPath-like form,
//! `queues[0].history[12].contacts`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A refused request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    /// A 422 naming the offending field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_request",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A 422 for a valid request whose problem has no answer (a target no staffing meets,
    /// a solver that gives up), with the field it concerns when one does.
    pub fn unsolvable(field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "unsolvable",
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }

    /// The same refusal of a field nested in `parent` (`problem` makes `templates`
    /// `problem.templates`).
    #[must_use]
    pub fn within(mut self, parent: &str) -> Self {
        self.field = Some(match self.field {
            Some(field) => format!("{parent}.{field}"),
            None => parent.to_owned(),
        });
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details = self
            .field
            .map_or(Value::Null, |field| json!({ "field": field }));
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": details }
        });
        (self.status, Json(body)).into_response()
    }
}

/// Reads a JSON request body into `T`.
///
/// # Errors
///
/// [`ApiError`] with 413 over the body limit, 415 without a JSON content type, 400 for
/// malformed JSON, 422 naming the field for JSON of the wrong shape.
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    let bytes = body.map_err(|rejection| ApiError {
        status: rejection.status(),
        code: "invalid_request",
        message: rejection.body_text(),
        field: None,
    })?;
    if !json_type {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "invalid_request",
            message: "the body must be JSON (Content-Type: application/json)".into(),
            field: None,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(field, inner.to_string())
        } else {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_request",
                message: inner.to_string(),
                field: None,
            }
        }
    })?;
    deserializer.end().map_err(|error| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message: error.to_string(),
        field: None,
    })?;
    Ok(value)
}
