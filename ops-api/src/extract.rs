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
    if let Some(field) = field_with_nul(bytes) {
        return Err(ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "text may not contain the NUL character (U+0000)".into(),
            field: Some(field),
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

/// The path of the first string (or key) of a JSON body that holds U+0000, which no text
/// column stores (PostgreSQL refuses it), e.g. `custom_fields.note`. JSON can only carry it
/// escaped, so bodies without `\u0000` are not parsed twice.
fn field_with_nul(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|window| window == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    nul_in(&value, "")
}

fn nul_in(value: &serde_json::Value, path: &str) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(here),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_in(item, &format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                return Some(child);
            }
            nul_in(item, &child)
        }),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(body: &[u8]) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        match parse_json::<serde_json::Value>(&headers, body) {
            Ok(_) => None,
            Err(ApiError::Invalid { status, field, .. }) => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
                Some(field.expect("the field is named"))
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn text_with_a_nul_character_is_refused_naming_the_field() {
        assert_eq!(
            refused_field(br#"{"key": "HOT", "name": "=\u0000"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            refused_field(br#"{"fields": [{"value": "ok"}, {"value": "a\u0000"}]}"#).as_deref(),
            Some("fields[1].value")
        );
        assert_eq!(refused_field(br#""\u0000""#).as_deref(), Some("body"));
        // An escaped backslash before `u0000` is ordinary text.
        assert_eq!(refused_field(br#"{"name": "C:\\u0000"}"#), None);
    }
}
