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

/// Nested objects of request bodies. Serde also accepts a struct written as an array of its
/// fields in order (`[null, null]` for `{"language": null, "contact_hours": null}`); the API
/// takes objects only, so nested structs deserialize through these (`deserialize_with`),
/// which refuse anything but an object and name the inner field at fault.
pub(crate) mod object {
    use serde::de::{DeserializeOwned, Error};
    use serde::{Deserialize, Deserializer};
    use serde_json::{Map, Value};

    /// A struct deserialized from an object only.
    struct Object<T>(T);

    impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let map = Map::<String, Value>::deserialize(deserializer)?;
            serde_path_to_error::deserialize(Value::Object(map))
                .map(Object)
                .map_err(|error| {
                    let path = error.path().to_string();
                    D::Error::custom(format!("{path}: {}", error.into_inner()))
                })
        }
    }

    /// A nested object.
    pub(crate) fn required<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        Object::deserialize(deserializer).map(|Object(value)| value)
    }

    /// A nested object or `null`.
    pub(crate) fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        Option::<Object<T>>::deserialize(deserializer).map(|value| value.map(|Object(value)| value))
    }

    /// A nested object or `null` (which clears it: `Some(None)`); absent is `None`, with
    /// `#[serde(default)]`.
    pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        optional(deserializer).map(Some)
    }

    /// A list of objects.
    pub(crate) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        Vec::<Object<T>>::deserialize(deserializer)
            .map(|items| items.into_iter().map(|Object(item)| item).collect())
    }
}

/// The `{id}` segment of a route and the one after it (`{task_id}`, `{flag_id}`...), both
/// UUIDs: a record and one of its parts. Anything else is a 400 naming the segment.
pub struct ChildPath {
    /// The record (`{id}`).
    pub parent: Uuid,
    /// Its part.
    pub child: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for ChildPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::Invalid {
                status: StatusCode::BAD_REQUEST,
                message: rejection.body_text(),
                field: None,
            })?;
        let uuid = |(name, value): &(String, String)| {
            Uuid::parse_str(value).map_err(|_| ApiError::Invalid {
                status: StatusCode::BAD_REQUEST,
                message: format!("{name} must be a UUID"),
                field: Some(name.clone()),
            })
        };
        match segments.as_slice() {
            [parent, child] if parent.0 == "id" => Ok(Self {
                parent: uuid(parent)?,
                child: uuid(child)?,
            }),
            _ => Err(ApiError::internal(
                "ChildPath is mounted on a route without {id} and one segment after it",
            )),
        }
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
