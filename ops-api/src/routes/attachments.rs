//! `/api/v1/tickets/{id}/attachments`: files attached to a ticket, streamed up and down.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use tenet_events::{Actor, Role, TraceContext};
use utoipa::IntoParams;

use super::OpsState;
use super::query::known_params;
use super::tickets::{trace, visible};
use crate::attachments::{self, Attachment, AttachmentError, NewAttachment};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ChildPath, PathId};
use crate::rbac::Action;

impl From<AttachmentError> for ApiError {
    fn from(error: AttachmentError) -> Self {
        match error {
            AttachmentError::TooLarge { .. } => ApiError::Invalid {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: error.to_string(),
                field: Some("body".into()),
            },
            AttachmentError::Empty => ApiError::invalid_field("body", error.to_string()),
            AttachmentError::Body(_) => ApiError::Invalid {
                status: StatusCode::BAD_REQUEST,
                message: error.to_string(),
                field: Some("body".into()),
            },
            AttachmentError::Store(source) => {
                tracing::error!(error = %source, "attachments store failed");
                ApiError::Unavailable("the attachments store is unavailable; retry later".into())
            }
            AttachmentError::Database(error) => ApiError::from(error),
        }
    }
}

/// The query parameters of `POST /api/v1/tickets/{id}/attachments`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UploadParams {
    /// The file's name: 1 to 255 characters, no path separators.
    #[param(min_length = 1, max_length = 255)]
    filename: String,
    /// Whether the customer sees it: internal by default, always public from a customer.
    public: Option<bool>,
}

/// Attach a file to a ticket
///
/// The request body is the file itself, sent as is with its media type in `Content-Type`
/// (`audio/wav`, `application/pdf`...); it streams to the object store and is refused with
/// 413 as soon as it passes the size limit (`[attachments] max_bytes`, 100 MiB by default).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/attachments",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id."), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file."),
    responses(
        (status = 201, description = "The file is stored and attached.", body = Attachment),
        (status = 400, description = "The query string is malformed or the upload broke off.", body = ErrorBody),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
        (status = 413, description = "The file is larger than the limit.", body = ErrorBody),
        (status = 422, description = "A missing or invalid file name, media type or `public`, or an empty file; `details.field` names it.", body = ErrorBody),
        (status = 503, description = "The object store is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn upload(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    let params = known_params(query, &["filename", "public"])?;
    let filename = params
        .get("filename")
        .ok_or_else(|| ApiError::invalid_field("filename", "name the file: ?filename=…"))?;
    let filename = attachments::check_filename(filename)
        .map_err(|message| ApiError::invalid_field("filename", message))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            ApiError::invalid_field("content-type", "send the file's media type in Content-Type")
        })?;
    let content_type = attachments::check_content_type(content_type)
        .map_err(|message| ApiError::invalid_field("content-type", message))?;
    let public = match params.get("public").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "public",
                "public must be true or false",
            ));
        }
    };
    let public = match (actor.role, public) {
        (Role::Customer, Some(false)) => {
            return Err(ApiError::invalid_field(
                "public",
                "customers attach public files only",
            ));
        }
        (Role::Customer, _) => true,
        (_, public) => public.unwrap_or(false),
    };
    let max = state.attachments.max_bytes();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(AttachmentError::TooLarge { max }.into());
    }
    let ticket = visible(&state, &actor, Action::TicketComment, id).await?;
    let attachment = attachments::upload(
        &state.db,
        &state.attachments,
        &actor,
        trace(&context),
        &ticket,
        NewAttachment {
            filename,
            content_type,
            public,
        },
        body.into_data_stream().map(move |chunk| {
            chunk.map_err(|error| {
                let cut = std::error::Error::source(&error)
                    .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
                if cut {
                    AttachmentError::TooLarge { max }
                } else {
                    AttachmentError::Body(error.to_string())
                }
            })
        }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// List a ticket's attachments
///
/// Oldest first; a customer sees only the public ones.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/attachments",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The attachments.", body = Vec<Attachment>),
        (status = 404, description = "No such ticket, or not one the caller may see.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Attachment>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let internal = actor.role != Role::Customer;
    Ok(Json(
        attachments::list(&state.db, &actor, ticket.id, internal).await?,
    ))
}

/// Download an attachment
///
/// Streams the file with its media type, length and name; its `ETag` is its SHA-256.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/attachments/{attachment_id}",
    tag = "tickets",
    params(
        ("id" = uuid::Uuid, Path, description = "The ticket's id."),
        ("attachment_id" = uuid::Uuid, Path, description = "The attachment's id."),
    ),
    responses(
        (status = 200, description = "The file.", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such ticket or attachment, or not one the caller may see.", body = ErrorBody),
        (status = 503, description = "The object store is unavailable.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn download(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    ChildPath {
        parent: id,
        child: attachment_id,
    }: ChildPath,
) -> Result<Response, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let internal = actor.role != Role::Customer;
    let attachment = attachments::get(&state.db, &actor, ticket.id, attachment_id, internal)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such attachment".into()))?;
    let stream = attachments::content(&state.attachments, &actor, &attachment)
        .await
        .map_err(AttachmentError::Store)?;
    let disposition = content_disposition(&attachment.filename);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&attachment.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(attachment.size_bytes),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", attachment.sha256)) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 8187 encoding.
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_download_as_given_with_an_ascii_fallback() {
        assert_eq!(
            content_disposition("Акт сверки.pdf"),
            "attachment; filename=\"___ ______.pdf\"; filename*=UTF-8''%D0%90%D0%BA%D1%82%20%D1%81%D0%B2%D0%B5%D1%80%D0%BA%D0%B8.pdf"
        );
        assert_eq!(
            content_disposition("a\"b.txt"),
            "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
        );
    }
}
