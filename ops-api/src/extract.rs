//! Request body extraction that answers in the API's error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body deserialized into `T`; see [`parse_json`].
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::Invalid {
                status: rejection.status(),
                message: rejection.body_text(),
                field: None,
            })?;
        parse_json(&headers, &bytes).map(ApiJson)
    }
}

/// Parses a JSON request body: 415 without a JSON content type, 400 for malformed JSON, 422
/// for JSON of the wrong shape, each naming the field at fault.
///
/// # Errors
/// [`ApiError::Invalid`] as above.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::Invalid {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "the body must be JSON (Content-Type: application/json)".into(),
            field: None,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let status = if inner.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::Invalid {
            status,
            message: format!("invalid JSON body: {inner}"),
            field: (path != "." && !path.is_empty()).then_some(path),
        }
    })?;
    deserializer.end().map_err(|error| ApiError::Invalid {
        status: StatusCode::BAD_REQUEST,
        message: format!("invalid JSON body: {error}"),
        field: None,
    })?;
    Ok(value)
}

/// The `{id}` and `{task_id}` segments of a task's route, both UUIDs; anything else is a 400
/// naming the segment.
pub struct TaskPath {
    /// The ticket.
    pub ticket: Uuid,
    /// The task.
    pub task: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for TaskPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::Invalid {
                status: StatusCode::BAD_REQUEST,
                message: rejection.body_text(),
                field: None,
            })?;
        let uuid = |name: &str| {
            segments
                .iter()
                .find(|(key, _)| key == name)
                .and_then(|(_, value)| Uuid::parse_str(value).ok())
                .ok_or_else(|| ApiError::Invalid {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("{name} must be a UUID"),
                    field: Some(name.to_owned()),
                })
        };
        Ok(Self {
            ticket: uuid("id")?,
            task: uuid("task_id")?,
        })
    }
}

/// The `{id}` segment of a route, a UUID; anything else is a 400 naming `id` in the API's
/// error format (axum's own rejection would be plain text).
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<Uuid>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| PathId(id))
            .map_err(|_| ApiError::Invalid {
                status: StatusCode::BAD_REQUEST,
                message: "id must be a UUID".into(),
                field: Some("id".into()),
            })
    }
}
